//! Link extraction cost per page over the real pages in `../shared/corpus/real`
//! (or `$CRAWLER_CORPUS_DIR`), each page taken as served from
//! `http://127.0.0.1:9/real/<file name>`. With `$CRAWLER_LINKS_REFERENCE`
//! naming a JSON file of `{file name: [links]}` (Chromium's `document.links`,
//! http/https only, fragments dropped, first occurrence kept; see
//! `benches/links_reference.mjs`), also checks every page's links against it
//! and exits 1 on a difference. Skips when the corpus is absent.
//!
//! Run: `cargo bench --bench link_cost`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crawler::extract::{charset, links};
use url::Url;

#[path = "support/real.rs"]
mod real;

/// Mean time of one `links` call, over at least 20 ms.
fn cost_per_call(text: &str, page: &Url, encoding: &'static encoding_rs::Encoding) -> Duration {
    let mut calls = 0u32;
    let started = Instant::now();
    while calls < 5 || started.elapsed() < Duration::from_millis(20) {
        std::hint::black_box(links::links(std::hint::black_box(text), page, encoding));
        calls += 1;
    }
    started.elapsed() / calls
}

fn reference() -> Option<HashMap<String, Vec<String>>> {
    let path = std::env::var_os("CRAWLER_LINKS_REFERENCE")?;
    let text = std::fs::read_to_string(&path).ok()?;
    serde_json::from_str(&text).ok()
}

fn main() {
    let pages = real::real_pages();
    if pages.is_empty() {
        return;
    }
    let reference = reference();
    let (mut costs, mut differing, mut total) = (Vec::new(), 0, 0);
    for (path, body) in &pages {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(page) = Url::parse(&format!("http://127.0.0.1:9/real/{name}")) else {
            continue;
        };
        let decoded = charset::decode_html(body, None, None);
        let found: Vec<String> = links::links(&decoded.text, &page, decoded.encoding)
            .into_iter()
            .map(String::from)
            .collect();
        total += found.len();
        if let Some(expected) = reference
            .as_ref()
            .and_then(|reference| reference.get(&name))
            && *expected != found
        {
            differing += 1;
            let missing: Vec<_> = expected
                .iter()
                .filter(|url| !found.contains(url))
                .take(3)
                .collect();
            let extra: Vec<_> = found
                .iter()
                .filter(|url| !expected.contains(url))
                .take(3)
                .collect();
            println!(
                "DIFFERS {name}: chromium {} ours {}; missing {missing:?}; extra {extra:?}",
                expected.len(),
                found.len()
            );
        }
        costs.push((cost_per_call(&decoded.text, &page, decoded.encoding), name));
    }
    costs.sort();
    let at = |q: f64| costs[((costs.len() - 1) as f64 * q).round() as usize].0;
    println!(
        "link_cost: {} pages, {total} links: median {:.1} µs/page, p90 {:.1} µs, max {:.1} µs ({}){}",
        costs.len(),
        at(0.5).as_secs_f64() * 1e6,
        at(0.9).as_secs_f64() * 1e6,
        at(1.0).as_secs_f64() * 1e6,
        costs[costs.len() - 1].1,
        reference.as_ref().map_or_else(String::new, |_| format!(
            "; {differing} pages differ from Chromium"
        ))
    );
    if differing > 0 {
        std::process::exit(1);
    }
}
