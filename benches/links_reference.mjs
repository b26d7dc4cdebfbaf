// Chromium's `document.links` for every page of the real corpus, as the
// reference `cargo bench --bench link_cost` checks against
// (CRAWLER_LINKS_REFERENCE=<output>). Each page is served from
// http://127.0.0.1:9/real/<file> by request interception (nothing goes on
// the network), with `script-src 'none'` so that no page script changes
// the document while scripting stays on for the parser (noscript is raw
// text). Kept: http/https links, fragments dropped, first occurrence.
//
// Run: npm install playwright-core (any folder), then
//   NODE_PATH=<that folder>/node_modules node benches/links_reference.mjs \
//       ../shared/corpus/real target/links-reference.json
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");
const [corpus, output] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ javaScriptEnabled: true });
const result = {};
for (const name of readdirSync(corpus).filter((f) => /\.html?$/.test(f)).sort()) {
  const page = await context.newPage();
  const body = readFileSync(join(corpus, name));
  await page.route("**/*", (route) => {
    if (route.request().url() === `http://127.0.0.1:9/real/${name}`) {
      return route.fulfill({
        status: 200, body,
        headers: { "content-type": "text/html", "content-security-policy": "script-src 'none'" },
      });
    }
    return route.abort();
  });
  try {
    await page.goto(`http://127.0.0.1:9/real/${name}`, { waitUntil: "domcontentloaded", timeout: 20000 });
    const links = await page.evaluate(() => {
      const seen = new Set();
      const out = [];
      for (const a of document.links) {
        let url;
        try { url = new URL(a.href); } catch { continue; }
        if (url.protocol !== "http:" && url.protocol !== "https:") continue;
        url.hash = "";
        const text = url.href;
        if (!seen.has(text)) { seen.add(text); out.push(text); }
      }
      return out;
    });
    result[name] = links;
  } catch (error) {
    console.error(`${name}: ${error.message}`);
  }
  await page.close();
}
await browser.close();
writeFileSync(output, JSON.stringify(result));
console.log(`${Object.keys(result).length} pages written to ${output}`);
