//! `crawler report`: a local site with known defects, crawled for real;
//! the JSON report lists exactly those defects, and the text and CSV
//! formats carry the same counts.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use crate::support::{Daemon, Reply, TestServer, Workspace, crawler, run_once, wait_with_deadline};

/// A port nothing listens on (bound, then released).
pub fn dead_port(ip: &str) -> u16 {
    let listener = TcpListener::bind((ip, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

fn page(title: Option<&str>, links: &[(&str, &str)]) -> Reply {
    let title = title.map_or_else(String::new, |title| format!("<title>{title}</title>"));
    let links: String = links
        .iter()
        .map(|(href, text)| format!("<a href=\"{href}\">{text}</a>\n"))
        .collect();
    Reply::html(&format!(
        "<!DOCTYPE html><html><head>{title}</head><body>{links}</body></html>"
    ))
}

/// The site: every defect the report knows, once.
pub struct DefectSite {
    pub site: TestServer,
    pub external: TestServer,
    pub dead: String,
    pub external_dead: String,
}

impl DefectSite {
    pub fn start() -> Self {
        let site = TestServer::start(vec![]);
        let external = TestServer::start_on(
            "127.0.0.2",
            vec![(
                "/ok",
                page(Some("External page title"), &[("/deeper", "Deeper")]),
            )],
        );
        let dead = format!("http://127.0.0.1:{}/nothing", dead_port("127.0.0.1"));
        let external_dead = format!("http://127.0.0.2:{}/gone", dead_port("127.0.0.2"));
        let external_ok = external.url("/ok");
        let robots = format!(
            "User-agent: *\nDisallow: /private/\nSitemap: {}\n",
            site.url("/sitemap.xml")
        );
        site.set(
            "/robots.txt",
            Reply::with_type("text/plain", robots.as_bytes()),
        );
        let sitemap = format!(
            "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
             <url><loc>{}</loc></url><url><loc>{}</loc></url></urlset>",
            site.url("/"),
            site.url("/orphan")
        );
        site.set(
            "/sitemap.xml",
            Reply::with_type("application/xml", sitemap.as_bytes()),
        );
        let home_links = [
            ("/missing", "No title"),
            ("/empty", "Empty title"),
            ("/dup1", "Duplicate one"),
            ("/dup2", "Duplicate two"),
            ("/long", "Long title"),
            ("/short", "Short title"),
            ("/two-titles", "Two titles"),
            ("/gone", "Gone A"),
            ("/error500", "Server error"),
            (dead.as_str(), "Dead port"),
            ("/r1", "Redirect chain"),
            ("/loop-a", "Redirect loop"),
            ("/private/secret", "Secret"),
            ("/doc.pdf", "The PDF"),
            ("/changing", "Changing"),
            (external_dead.as_str(), "External dead"),
            (external_ok.as_str(), "External ok"),
        ];
        site.set("/", page(Some("Home of the defect site"), &home_links));
        site.set("/missing", page(None, &[]));
        site.set("/empty", page(Some(""), &[]));
        site.set(
            "/dup1",
            page(
                Some("Same title on two pages"),
                &[("/gone", "Gone B"), ("/", "Home")],
            ),
        );
        site.set(
            "/dup2",
            page(
                Some("Same title on two pages"),
                &[("/gone", "Gone <b>C</b>")],
            ),
        );
        let long = "A title far too long for a search result: it goes on and on and on";
        site.set("/long", page(Some(long), &[]));
        site.set("/short", page(Some("Tiny"), &[]));
        site.set(
            "/two-titles",
            Reply::html("<html><head><title>The first of two titles</title><title>Second</title></head></html>"),
        );
        site.set("/error500", Reply::status(500));
        site.set("/r1", Reply::redirect(301, "/r2"));
        site.set("/r2", Reply::redirect(302, "/r3"));
        site.set("/r3", Reply::redirect(301, "/final"));
        site.set("/final", page(Some("The end of the chain"), &[]));
        site.set("/loop-a", Reply::redirect(302, "/loop-b"));
        site.set("/loop-b", Reply::redirect(302, "/loop-a"));
        site.set("/private/secret", page(Some("Secret page title"), &[]));
        site.set("/doc.pdf", Reply::with_type("application/pdf", b"%PDF-1.4"));
        site.set("/changing", page(Some("Before the change"), &[]));
        site.set("/orphan", page(Some("Only in the sitemap"), &[]));
        Self {
            site,
            external,
            dead,
            external_dead,
        }
    }

    /// The config of a crawl of the site, with `extra` lines.
    pub fn config(&self, workspace: &Workspace, extra: &str) -> std::path::PathBuf {
        self.named_config(workspace, "crawler", &[self.site.url("/")], extra, "")
    }

    /// `<name>.toml`, writing `<name>.jsonl`, crawling `seeds`, with
    /// `extra` top-level lines and `tables` after the others.
    pub fn named_config(
        &self,
        workspace: &Workspace,
        name: &str,
        seeds: &[String],
        extra: &str,
        tables: &str,
    ) -> std::path::PathBuf {
        let seeds: Vec<String> = seeds.iter().map(|seed| format!("{seed:?}")).collect();
        workspace.write(
            &format!("{name}.toml"),
            &format!(
                "seeds = [{}]\nmax_redirects = 4\nstate_file = \"state.db\"\n{extra}\n\
                 [output]\njsonl = \"{name}.jsonl\"\n\
                 [retry]\nmax_retries = 0\n\
                 [crawl]\nmax_depth = 2\nsitemaps = true\ncheck_external = true\n\
                 [politeness]\nper_host_concurrency = 0\nper_host_delay = \"0s\"\n{tables}",
                seeds.join(", ")
            ),
        )
    }
}

/// Runs `crawler report` with `args` on `config`.
pub fn run_report(config: &Path, args: &[&str]) -> Output {
    let child = crawler()
        .arg("report")
        .arg("--config")
        .arg(config)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_with_deadline(child)
}

pub fn report_json(config: &Path, args: &[&str]) -> Value {
    let output = run_report(config, &[&["--format", "json"], args].concat());
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The URLs of a list of objects with a `url`.
fn urls(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item["url"].as_str().unwrap().to_owned())
        .collect()
}

/// Crawls the defect site twice (the title of `/changing` changes between
/// the rounds); returns the workspace and its config.
pub fn crawl_defect_site(site: &DefectSite, extra: &str) -> (Workspace, std::path::PathBuf) {
    let workspace = Workspace::new();
    let config = site.config(&workspace, extra);
    let output = run_once(&config);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    site.site
        .set("/changing", page(Some("After the change"), &[]));
    let output = run_once(&config);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (workspace, config)
}

/// Checks a JSON report of the defect site: exactly its defects.
pub fn assert_defects(site: &DefectSite, report: &Value) {
    let url = |path: &str| site.site.url(path);
    let titles = &report["titles"];
    assert_eq!(urls(&titles["missing"]), [url("/missing")]);
    assert_eq!(urls(&titles["empty"]), [url("/empty")]);
    assert_eq!(
        titles["duplicate"],
        json!([{"title": "Same title on two pages", "urls": [url("/dup1"), url("/dup2")]}])
    );
    assert_eq!(urls(&titles["too_long"]), [url("/long")]);
    assert_eq!(titles["too_long"][0]["length"], 66);
    assert_eq!(urls(&titles["too_short"]), [url("/short")]);
    assert_eq!(urls(&titles["multiple"]), [url("/two-titles")]);
    assert_eq!(titles["multiple"][0]["count"], 2);
    assert_eq!(titles["multiple"][0]["title"], "The first of two titles");
    assert_eq!(titles["changed_by_script"], json!([]));
    let changes = titles["changed_recently"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["url"], url("/changing"));
    assert_eq!(changes[0]["from"], "Before the change");
    assert_eq!(changes[0]["to"], "After the change");
    assert_eq!(changes[0]["changes"], 1);

    let links = &report["links"];
    let broken: BTreeSet<String> = urls(&links["broken"]).into_iter().collect();
    let expected: BTreeSet<String> = [
        url("/gone"),
        url("/error500"),
        site.dead.clone(),
        url("/loop-a"),
        site.external_dead.clone(),
    ]
    .into_iter()
    .collect();
    assert_eq!(broken, expected);
    // Most linked first: the 404, with its three pages and anchor texts.
    let gone = &links["broken"][0];
    assert_eq!(gone["url"], url("/gone"));
    assert_eq!(gone["status"], 404);
    assert_eq!(gone["kind"], "http_status");
    assert_eq!(gone["inlink_count"], 3);
    assert_eq!(
        gone["inlinks"],
        json!([
            {"page": url("/"), "anchor": "Gone A"},
            {"page": url("/dup1"), "anchor": "Gone B"},
            {"page": url("/dup2"), "anchor": "Gone C"},
        ])
    );
    let kind_of = |target: &str| {
        let found = links["broken"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["url"] == target)
            .unwrap();
        (
            found["kind"].as_str().unwrap().to_owned(),
            found["external"].as_bool().unwrap(),
        )
    };
    assert_eq!(
        kind_of(&url("/error500")),
        ("http_status".to_owned(), false)
    );
    assert_eq!(kind_of(&site.dead), ("connect".to_owned(), false));
    assert_eq!(kind_of(&url("/loop-a")), ("redirects".to_owned(), false));
    assert_eq!(kind_of(&site.external_dead), ("connect".to_owned(), true));

    assert_eq!(urls(&links["not_html"]), [url("/doc.pdf")]);
    assert_eq!(links["not_html"][0]["content_type"], "application/pdf");
    assert_eq!(
        links["not_html"][0]["inlinks"],
        json!([{"page": url("/"), "anchor": "The PDF"}])
    );

    let redirects = links["redirects"].as_array().unwrap();
    assert_eq!(redirects.len(), 2, "{redirects:?}");
    let chain = redirects.iter().find(|r| r["url"] == url("/r1")).unwrap();
    assert_eq!(
        chain["chain"],
        json!([
            {"url": url("/r1"), "status": 301},
            {"url": url("/r2"), "status": 302},
            {"url": url("/r3"), "status": 301},
        ])
    );
    assert_eq!(chain["final_url"], url("/final"));
    assert_eq!(
        (
            chain["hops"].as_u64(),
            chain["is_long"].as_bool(),
            chain["is_loop"].as_bool()
        ),
        (Some(3), Some(true), Some(false))
    );
    let looped = redirects
        .iter()
        .find(|r| r["url"] == url("/loop-a"))
        .unwrap();
    assert_eq!(looped["is_loop"], true);
    assert!(looped["final_url"].is_null());
    assert_eq!(
        looped["inlinks"],
        json!([{"page": url("/"), "anchor": "Redirect loop"}])
    );

    assert_eq!(urls(&links["robots"]), [url("/private/secret")]);
    assert_eq!(
        links["robots"][0]["inlinks"],
        json!([{"page": url("/"), "anchor": "Secret"}])
    );
    assert_eq!(
        links["orphans"],
        json!([{"url": url("/orphan"), "source": "sitemap"}])
    );

    let summary = &report["summary"];
    assert_eq!(summary["checked_external"], 2);
    assert_eq!(summary["seeds"], 1);
    assert_eq!(summary["waiting"], 0);
    assert_eq!(summary["outcomes"]["robots"], 1);
    assert_eq!(summary["outcomes"]["content_type"], 1);
    assert_eq!(report["covers"], "now");
}

#[test]
fn the_json_report_lists_exactly_the_defects_of_a_site() {
    let site = DefectSite::start();
    let (_workspace, config) = crawl_defect_site(&site, "");
    let report = report_json(&config, &[]);
    assert_defects(&site, &report);
    // The external page was checked with HEAD, never crawled for links.
    let heads = site.external.heads("/ok");
    assert_eq!(heads.len(), 2, "once per round: {heads:?}");
    assert!(
        heads.iter().all(|head| head.starts_with(":method: head")),
        "{heads:?}"
    );
    assert_eq!(site.external.hits("/deeper"), 0);
    // The performance section covers the site's host.
    let hosts = report["performance"]["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    assert!(hosts[0]["pages"].as_u64().unwrap() >= 10);
}

#[test]
fn text_and_csv_carry_the_counts_of_the_json() {
    let site = DefectSite::start();
    let (_workspace, config) = crawl_defect_site(&site, "");
    let report = report_json(&config, &[]);
    let text = report_text(&config, &[]);
    let count = |list: &Value| list.as_array().unwrap().len();
    for (heading, expected) in [
        ("missing", count(&report["titles"]["missing"])),
        ("duplicate", count(&report["titles"]["duplicate"])),
        ("over 60 characters", count(&report["titles"]["too_long"])),
        (
            "more than one <title>",
            count(&report["titles"]["multiple"]),
        ),
        ("broken", count(&report["links"]["broken"])),
        ("redirects", count(&report["links"]["redirects"])),
        (
            "disallowed by robots.txt",
            count(&report["links"]["robots"]),
        ),
        (
            "not HTML (answer 200, not broken)",
            count(&report["links"]["not_html"]),
        ),
        (
            "orphans (no crawled page links to them)",
            count(&report["links"]["orphans"]),
        ),
    ] {
        assert!(
            text.lines()
                .any(|line| line == format!("{heading}: {expected}")),
            "`{heading}: {expected}` in:\n{text}"
        );
    }
    assert!(
        text.contains(&format!("{} [404] linked from", site.site.url("/gone"))),
        "{text}"
    );
    // CSV: the links table has one row per broken link and page linking to it.
    let output = run_report(&config, &["--format", "csv", "--section", "links"]);
    assert_eq!(output.status.code(), Some(0));
    let csv = String::from_utf8(output.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let broken_rows = rows.iter().filter(|row| &row[1] == "broken").count();
    let expected_rows: u64 = report["links"]["broken"]
        .as_array()
        .unwrap()
        .iter()
        .map(|target| target["inlink_count"].as_u64().unwrap().max(1))
        .sum();
    assert_eq!(broken_rows as u64, expected_rows);
    let gone_anchors: BTreeSet<&str> = rows
        .iter()
        .filter(|row| &row[2] == site.site.url("/gone").as_str())
        .map(|row| row.get(9).unwrap())
        .collect();
    assert_eq!(gone_anchors, BTreeSet::from(["Gone A", "Gone B", "Gone C"]));
    let orphans = rows.iter().filter(|row| &row[1] == "orphan").count();
    assert_eq!(orphans, 1);
    // Titles: one CSV row per page and defect, duplicates once per page.
    let output = run_report(&config, &["--format", "csv", "--section", "titles"]);
    let csv = String::from_utf8(output.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let issues: Vec<String> = reader
        .records()
        .map(|row| row.unwrap()[1].to_owned())
        .collect();
    let of = |issue: &str| issues.iter().filter(|seen| *seen == issue).count();
    assert_eq!(of("duplicate"), 2);
    assert_eq!(of("missing"), 1);
    assert_eq!(of("changed_recently"), 1);
}

fn report_text(config: &Path, args: &[&str]) -> String {
    let output = run_report(config, args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn sections_output_files_and_errors() {
    let site = DefectSite::start();
    let (workspace, config) = crawl_defect_site(&site, "");
    let only_links = report_json(&config, &["--section", "links"]);
    assert!(only_links["titles"].is_null() && only_links["summary"].is_null());
    assert!(only_links["links"]["broken"].is_array());
    let file = workspace.path("report.html");
    let output = run_report(
        &config,
        &["--format", "html", "--output", file.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(0));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // A bad section name is a usage error, as is a config that does not load.
    let output = run_report(&config, &["--section", "nonsense"]);
    assert_eq!(output.status.code(), Some(2));
    let broken = workspace.write(
        "broken.toml",
        "seeds = [\"http://127.0.0.1:1/\"]\n[report]\ntitle_min = 90\n",
    );
    let output = run_report(&broken, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("report.title_min"));
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
    // A FIFO (like /dev/null or /dev/stdout) is written to, never replaced;
    // a symlink keeps pointing where it did, at the new report.
    let fifo = workspace.path("report.fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo touches no memory of ours.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let output = run_report(
        &config,
        &["--format", "json", "--output", fifo.to_str().unwrap()],
    );
    // A reader still waiting for a writer (the report replaced the FIFO
    // instead) gets an end of file, not a hang.
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo);
    assert_eq!(output.status.code(), Some(0));
    let through_fifo: Value = serde_json::from_str(&reader.join().unwrap()).unwrap();
    assert!(through_fifo["links"]["broken"].is_array());
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let target = workspace.path("real.txt");
    std::fs::write(&target, "old").unwrap();
    let link = workspace.path("link.txt");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let output = run_report(&config, &["--output", link.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .starts_with("crawl report of ")
    );
    // An output file that cannot be written is a runtime error; nothing half-written.
    let output = run_report(&config, &["--output", "/nonexistent-dir/report.txt"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot write the report"));
}

/// Drives a report page in a frame: records what each table holds, every
/// resource the page loaded, then sorts and filters the broken links.
const HARNESS: &str = r##"<!DOCTYPE html><html><body>
<iframe id="f" src="report.html" style="width:1200px;height:900px"></iframe>
<pre id="out"></pre>
<script>
function rows(d, id) {
  var table = d.getElementById(id);
  return table ? Array.from(table.tBodies[0].rows).map(function (r) {
    return Array.from(r.cells).map(function (c) { return c.textContent; });
  }) : null;
}
document.getElementById("f").addEventListener("load", function () {
  var d = this.contentDocument, w = this.contentWindow, out = {tables: {}};
  out.resources = w.performance.getEntriesByType("resource").map(function (e) { return e.name; });
  out.tablesDrawn = d.documentElement.getAttribute("data-tables");
  d.querySelectorAll("table").forEach(function (t) { out.tables[t.id] = rows(d, t.id); });
  out.svgs = d.querySelectorAll("svg[role=img]").length;
  out.labels = Array.from(d.querySelectorAll("input")).every(function (i) {
    return d.querySelector('label[for="' + i.id + '"]') !== null;
  });
  var button = d.querySelector("#t-broken thead th:first-child button");
  button.click();
  out.ascending = rows(d, "t-broken").map(function (r) { return r[0]; });
  out.ariaAscending = button.parentNode.getAttribute("aria-sort");
  button.click();
  out.descending = rows(d, "t-broken").map(function (r) { return r[0]; });
  out.ariaDescending = button.parentNode.getAttribute("aria-sort");
  var input = d.getElementById("t-broken-filter");
  input.value = "Gone B";
  input.dispatchEvent(new w.Event("input"));
  out.filtered = rows(d, "t-broken").map(function (r) { return r[0]; });
  out.status = d.getElementById("t-broken-status").textContent;
  document.getElementById("out").textContent = JSON.stringify(out);
});
</script></body></html>"##;

/// Opens `page` (beside the harness) in headless Chromium; returns what the harness saw.
fn drive_in_chromium(dir: &Path) -> Value {
    std::fs::write(dir.join("harness.html"), HARNESS).unwrap();
    let mut command = std::process::Command::new("chromium");
    command.args([
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--allow-file-access-from-files",
        "--virtual-time-budget=10000",
        "--dump-dom",
    ]);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        command.arg("--no-sandbox");
    }
    let profile = tempfile::tempdir().unwrap();
    command.arg(format!("--user-data-dir={}", profile.path().display()));
    command.arg(format!("file://{}", dir.join("harness.html").display()));
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("Debian's chromium must be installed (.ci/run installs it)");
    let output = wait_with_deadline(child);
    let dom = String::from_utf8_lossy(&output.stdout);
    let start = dom.find("<pre id=\"out\">").expect("the harness ran") + "<pre id=\"out\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let text = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"))
}

#[test]
fn the_html_report_opens_from_disk_and_its_tables_match_the_json() {
    let site = DefectSite::start();
    let (workspace, config) = crawl_defect_site(&site, "");
    let report = report_json(&config, &[]);
    let file = workspace.path("report.html");
    let output = run_report(&config, &["--format", "html", "-o", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let seen = drive_in_chromium(workspace.dir.path());
    assert_eq!(seen["resources"], json!([]), "no request leaves the file");
    assert_eq!(seen["svgs"], 3);
    assert_eq!(seen["labels"], true);
    let tables = &seen["tables"];
    // Each table holds the rows of its JSON list, in the JSON's order.
    let first_cells = |id: &str| -> Vec<String> {
        tables[id]
            .as_array()
            .unwrap_or_else(|| panic!("table {id}: {tables}"))
            .iter()
            .map(|row| row[0].as_str().unwrap().to_owned())
            .collect()
    };
    for (id, list) in [
        ("t-missing", &report["titles"]["missing"]),
        ("t-empty", &report["titles"]["empty"]),
        ("t-too_long", &report["titles"]["too_long"]),
        ("t-too_short", &report["titles"]["too_short"]),
        ("t-multiple", &report["titles"]["multiple"]),
        ("t-changed_recently", &report["titles"]["changed_recently"]),
        ("t-broken", &report["links"]["broken"]),
        ("t-not_html", &report["links"]["not_html"]),
        ("t-redirects", &report["links"]["redirects"]),
        ("t-robots", &report["links"]["robots"]),
        ("t-orphans", &report["links"]["orphans"]),
        ("t-slowest", &report["performance"]["slowest"]),
    ] {
        let column = if id == "t-changed_recently" { 1 } else { 0 };
        let cells: Vec<String> = tables[id]
            .as_array()
            .unwrap_or_else(|| panic!("table {id}: {tables}"))
            .iter()
            .map(|row| row[column].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(cells, urls(list), "table {id}");
    }
    let duplicate = &tables["t-duplicate"][0];
    assert_eq!(duplicate[0], "Same title on two pages");
    assert_eq!(duplicate[1], "2");
    // The broken link's cell lists the pages linking to it, with anchors.
    let gone = &tables["t-broken"][0];
    assert_eq!(gone[0], site.site.url("/gone").as_str());
    let linked_from = gone[4].as_str().unwrap();
    for anchor in ["Gone A", "Gone B", "Gone C"] {
        assert!(linked_from.contains(anchor), "{linked_from}");
    }
    assert_eq!(first_cells("t-hosts").len(), 1);
    // Sorting by URL, both ways; filtering by anchor text.
    let mut sorted = urls(&report["links"]["broken"]);
    sorted.sort();
    assert_eq!(seen["ascending"], json!(sorted));
    assert_eq!(seen["ariaAscending"], "ascending");
    sorted.reverse();
    assert_eq!(seen["descending"], json!(sorted));
    assert_eq!(seen["ariaDescending"], "descending");
    assert_eq!(seen["filtered"], json!([site.site.url("/gone")]));
    assert!(
        seen["status"].as_str().unwrap().contains("filtered from 5"),
        "{}",
        seen["status"]
    );
}

/// The report without the fields that differ between two reads.
fn comparable(mut report: Value) -> Value {
    let object = report.as_object_mut().unwrap();
    object.remove("generated_at");
    object.remove("store");
    object["settings"]
        .as_object_mut()
        .unwrap()
        .remove("changed_since");
    object.remove("performance");
    report
}

#[test]
fn two_nodes_sharing_redis_give_the_same_report_of_the_whole_crawl() {
    let _serial = crate::cluster::serial();
    let site = DefectSite::start();
    let redis = crate::support::RedisServer::start();
    let workspace = Workspace::new();
    let cluster = format!("[cluster]\nredis = \"{}\"\n", redis.url());
    let configs: Vec<std::path::PathBuf> = ["a", "b"]
        .iter()
        .map(|node| {
            let tables = format!("{cluster}node = \"{node}\"\n");
            site.named_config(&workspace, node, &[site.site.url("/")], "", &tables)
        })
        .collect();
    let run_both = || {
        let mut nodes: Vec<Daemon> = configs
            .iter()
            .map(|config| {
                let mut command = crawler();
                command.arg("--once").arg("--config").arg(config);
                Daemon::start(command)
            })
            .collect();
        for node in &mut nodes {
            assert_eq!(node.wait_exit(), Some(0));
        }
    };
    run_both();
    site.site
        .set("/changing", page(Some("After the change"), &[]));
    run_both();
    let records = workspace.records("a.jsonl").len() + workspace.records("b.jsonl").len();
    assert!(records > 0);
    let from_a = report_json(&configs[0], &[]);
    let from_b = report_json(&configs[1], &[]);
    assert_defects(&site, &from_a);
    assert_eq!(comparable(from_a), comparable(from_b));
}

#[test]
fn the_live_report_is_served_while_the_service_crawls() {
    let site = DefectSite::start();
    // A bigger site beside it keeps the store busy while reports read it.
    let busy = TestServer::start_on("127.0.0.3", vec![]);
    let pages = 1500;
    let links: String = (0..pages)
        .map(|i| format!("<a href=\"/p/{i}\">page {i}</a>"))
        .collect();
    for i in 0..pages {
        let html = format!("<title>Busy page number {i}</title>{links}");
        busy.set(&format!("/p/{i}"), Reply::html(&html));
    }
    let workspace = Workspace::new();
    let address = crate::observability::free_address();
    let config = site.named_config(
        &workspace,
        "crawler",
        &[site.site.url("/"), busy.url("/p/0")],
        "recrawl_interval = \"1h\"",
        &format!("[metrics]\nlisten = \"{address}\"\n"),
    );
    let mut command = crawler();
    command.arg("--config").arg(&config);
    let mut daemon = Daemon::start(command);
    daemon.wait_for("report on http://");
    // The store is open (and the state file created) once the start is logged.
    daemon.wait_for("started: ");
    // Reports read the store while it is written: never a lock error.
    let mut reads = 0;
    while busy.all_hits().len() < pages && reads < 200 {
        let output = run_report(&config, &["--format", "json", "--section", "summary"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        let (status, body) = live(address, "/report.json");
        assert_eq!(status, 200, "{body}");
        let (status, _) = crate::observability::get(address, "/metrics");
        assert_eq!(status, 200);
        reads += 1;
    }
    assert!(reads > 1, "the reports ran while the crawl did");
    // Once the defect site is crawled, the live JSON lists its defects.
    let deadline = std::time::Instant::now() + crate::support::DEADLINE;
    let report = loop {
        let (_, body) = live(address, "/report.json");
        let report: Value = serde_json::from_str(&body).unwrap();
        let done = report["summary"]["waiting"] == 0
            && report["summary"]["urls"].as_u64() > Some(pages as u64);
        if done || std::time::Instant::now() > deadline {
            break report;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert_eq!(report["summary"]["waiting"], 0, "{}", report["summary"]);
    let broken: BTreeSet<String> = urls(&report["links"]["broken"]).into_iter().collect();
    assert!(broken.contains(&site.site.url("/gone")), "{broken:?}");
    let (status, html) = live(address, "/");
    assert_eq!(status, 200);
    // (A large answer comes in chunks: the page is inside them.)
    assert!(
        html.contains("<!DOCTYPE html>"),
        "{}",
        &html[..html.len().min(200)]
    );
    assert!(html.contains("href=\"/report.json\"") && html.contains("href=\"/metrics\""));
    // Read-only: nothing but GET and HEAD.
    let (status, _) = post(address, "/");
    assert_eq!(status, 405);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
}

/// `GET path` of the live report: a report reads the whole store (slowly
/// in a debug build on a busy machine), so the wait is the tests' deadline.
fn live(address: std::net::SocketAddr, path: &str) -> (u16, String) {
    crate::observability::get_within(address, path, crate::support::DEADLINE)
}

/// `POST path` on `address`: the status code.
fn post(address: std::net::SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, response)
}
