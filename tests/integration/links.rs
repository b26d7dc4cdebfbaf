//! Following links: a whole site within a scope, each page once, against
//! servers on 127.0.0.1, 127.0.0.2 and 127.0.0.3 that count every request.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    DEADLINE, Daemon, Reply, TestServer, Workspace, by_url, crawler, error_of, run_once,
    wait_with_deadline,
};

/// Paths that each got exactly `count` requests, as the server counted them
/// (robots.txt left out).
fn page_hits(server: &TestServer) -> BTreeMap<String, usize> {
    server
        .all_hits()
        .into_iter()
        .filter(|(path, _)| path != "/robots.txt")
        .collect()
}

fn expect_once(paths: &[&str]) -> BTreeMap<String, usize> {
    paths.iter().map(|path| ((*path).to_owned(), 1)).collect()
}

fn once_ok(workspace: &Workspace, config: &std::path::Path) -> Vec<Value> {
    let output = run_once(config);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    workspace.records("out.jsonl")
}

#[test]
fn a_site_is_crawled_within_its_scope_each_page_once() {
    let site = TestServer::start(vec![]);
    let other = TestServer::start_on(
        "127.0.0.2",
        vec![
            (
                "/robots.txt",
                Reply::with_type("text/plain", b"User-agent: *\nDisallow: /private"),
            ),
            (
                "/public.html",
                Reply::html("<title>Other</title><a href=\"/elsewhere.html\">x</a>"),
            ),
            ("/private.html", Reply::html("<title>Private</title>")),
        ],
    );
    let root = format!(
        "<title>Home</title>
         <a href=\"a.html\">relative</a> <a href=\"/dir/b.html\">absolute path</a>
         <a href=\"mailto:someone@example.com\">mail</a> <a href=\"tel:+100\">tel</a>
         <a href=\"#top\">top</a> <a href=\"javascript:void(0)\">js</a>
         <a rel=\"external NoFollow\" href=\"/nofollow.html\">nofollow</a>
         <a href=\"{}\">other host</a>
         <a href=\"/excluded/page.html\">excluded</a>
         <a href=\"/meta-nofollow.html\">meta</a> <a href=\"/header-nofollow.html\">header</a>
         <a href=\"/loop/\">loop</a>
         <a href=\"/redirect-in\">redirect within</a> <a href=\"/redirect-out\">redirect out</a>
         <a href=\"/redirect-robots\">redirect to a disallowed page</a>
         <a href=\"/dup1\">one</a> <a href=\"/dup2\">two</a>
         <!-- <a href=\"/commented.html\">no</a> -->
         <script>document.write('<a href=\"/scripted.html\">no</a>')</script>",
        other.url("/public.html")
    );
    site.set("/", Reply::html(&root));
    site.set(
        "/a.html",
        Reply::html("<title>A</title><a href=\"dir/../dir/b.html\">b again</a><a href=\"c.html?x=1&copy=3#frag\">c</a><a href=\"/\">home</a>"),
    );
    site.set(
        "/dir/b.html",
        Reply::html("<title>B</title><base href=\"/base/\"><a href=\"d.html\">d</a><a href=\"../a.html\">a</a>"),
    );
    site.set("/c.html?x=1&copy=3", Reply::html("<title>C</title>"));
    site.set("/base/d.html", Reply::html("<title>D</title>"));
    site.set(
        "/meta-nofollow.html",
        Reply::html("<meta name=\"ROBOTS\" content=\"noindex, NOFOLLOW\"><title>M</title><a href=\"/never1.html\">x</a>"),
    );
    site.set(
        "/header-nofollow.html",
        Reply::html_with_header(
            "X-Robots-Tag: crawler: nofollow",
            "<title>H</title><a href=\"/never2.html\">x</a>",
        ),
    );
    site.set(
        "/loop/",
        Reply::html("<title>L</title><a href=\"a/b/\">deeper</a>"),
    );
    for path in ["/loop/a/b/", "/loop/a/b/a/b/", "/loop/a/b/a/b/a/b/"] {
        site.set(
            path,
            Reply::html("<title>L</title><a href=\"a/b/\">deeper</a>"),
        );
    }
    site.set("/redirect-in", Reply::redirect(301, "/target.html"));
    site.set(
        "/target.html",
        Reply::html("<title>T</title><a href=\"/from-target.html\">x</a>"),
    );
    site.set("/from-target.html", Reply::html("<title>FT</title>"));
    site.set(
        "/redirect-out",
        Reply::redirect(302, &other.url("/public.html")),
    );
    site.set(
        "/redirect-robots",
        Reply::redirect(302, &other.url("/private.html")),
    );
    site.set("/dup1", Reply::redirect(302, "/same.html"));
    site.set("/dup2", Reply::redirect(302, "/same.html"));
    site.set(
        "/same.html",
        Reply::html("<title>S</title><a href=\"/from-same.html\">x</a>"),
    );
    site.set("/from-same.html", Reply::html("<title>FS</title>"));

    let workspace = Workspace::new();
    let config = workspace.config(
        &[site.url("/")],
        "[crawl]\nmax_depth = 10\nexclude = [\"/excluded/\"]\n\
         [politeness]\nrespect_robots_txt = true\nper_host_delay = \"0s\"\nper_host_concurrency = 0",
    );
    let records = once_ok(&workspace, &config);

    let mut expected = expect_once(&[
        "/",
        "/a.html",
        "/dir/b.html",
        "/c.html?x=1&copy=3",
        "/base/d.html",
        "/meta-nofollow.html",
        "/header-nofollow.html",
        "/loop/",
        "/loop/a/b/",
        "/loop/a/b/a/b/",
        "/loop/a/b/a/b/a/b/",
        "/redirect-in",
        "/target.html",
        "/from-target.html",
        "/redirect-out",
        "/redirect-robots",
        "/dup1",
        "/dup2",
        "/from-same.html",
    ]);
    // Each of the two redirects fetches it; its links are followed once.
    expected.insert("/same.html".to_owned(), 2);
    let hits = page_hits(&site);
    assert_eq!(hits, expected, "requests to the site");
    assert_eq!(
        page_hits(&other),
        expect_once(&["/public.html"]),
        "the other host: a redirect leads there, its links are out of scope, robots.txt keeps /private out"
    );

    let by_url = by_url(&records);
    assert_eq!(records.len(), by_url.len(), "one record per URL");
    let home = &by_url[&site.url("/")];
    assert_eq!(
        (home["depth"].as_u64(), home["found_on"].as_str()),
        (Some(0), None)
    );
    let links: Vec<&str> = home["links"]
        .as_array()
        .expect("links extracted")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(links[0], site.url("/a.html"));
    assert!(
        links.contains(&site.url("/").as_str()),
        "#top is the page itself"
    );
    assert!(
        !links
            .iter()
            .any(|link| link.contains("commented") || link.contains("scripted"))
    );
    assert!(
        !links
            .iter()
            .any(|link| link.starts_with("mailto:") || link.starts_with("javascript:"))
    );
    let d = &by_url[&site.url("/base/d.html")];
    assert_eq!(d["depth"].as_u64(), Some(2));
    assert_eq!(
        d["found_on"].as_str(),
        Some(site.url("/dir/b.html").as_str())
    );
    assert_eq!(d["title"].as_str(), Some("D"));
    let robots = &by_url[&site.url("/redirect-robots")];
    assert!(error_of(robots).starts_with("robots: "), "{robots}");
    let out = &by_url[&site.url("/redirect-out")];
    assert_eq!(
        out["final_url"].as_str(),
        Some(other.url("/public.html").as_str())
    );
    assert_eq!(out["title"].as_str(), Some("Other"));
}

#[test]
fn max_depth_and_max_pages_per_host_hold() {
    let site = TestServer::start(vec![]);
    for index in 0..10 {
        let next = format!("<title>{index}</title><a href=\"/p{}\">next</a>", index + 1);
        site.set(&format!("/p{index}"), Reply::html(&next));
    }
    let wide: String = (0..40)
        .map(|index| format!("<a href=\"/w{index}\">w</a>"))
        .collect();
    site.set("/wide", Reply::html(&wide));
    for index in 0..40 {
        site.set(&format!("/w{index}"), Reply::html("<title>w</title>"));
    }
    let workspace = Workspace::new();
    let config = workspace.config(&[site.url("/p0")], "[crawl]\nmax_depth = 3");
    let records = once_ok(&workspace, &config);
    assert_eq!(page_hits(&site), expect_once(&["/p0", "/p1", "/p2", "/p3"]));
    let deepest = by_url(&records)[&site.url("/p3")].clone();
    assert!(
        deepest["links"].is_null(),
        "links beyond max_depth are not extracted"
    );

    let workspace = Workspace::new();
    let config = workspace.config(
        &[site.url("/wide")],
        "[crawl]\nmax_depth = 1\nmax_pages_per_host = 10",
    );
    let records = once_ok(&workspace, &config);
    let wide_hits: usize = page_hits(&site)
        .iter()
        .filter(|(path, _)| path.starts_with("/w"))
        .map(|(_, count)| count)
        .sum();
    assert_eq!(wide_hits, 10, "the seed and 9 of its 40 links");
    assert_eq!(records.len(), 10);
}

#[test]
fn sitemaps_index_gzip_limits_and_no_external_entities() {
    let site = TestServer::start(vec![]);
    let robots = "User-agent: *\nAllow: /\nSitemap: /sitemaps/index.xml\n";
    site.set(
        "/robots.txt",
        Reply::with_type("text/plain", robots.as_bytes()),
    );
    let index = format!(
        "<?xml version=\"1.0\"?><sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
         <sitemap><loc>{}</loc></sitemap><sitemap><loc>/sitemaps/big.xml</loc></sitemap>\
         <sitemap><loc>/sitemaps/entity.xml</loc></sitemap></sitemapindex>",
        site.url("/sitemaps/pages.xml.gz")
    );
    site.set(
        "/sitemaps/index.xml",
        Reply::with_type("application/xml", index.as_bytes()),
    );
    let pages = format!(
        "<?xml version=\"1.0\"?><urlset><url><loc>{}</loc></url><url><loc>{}</loc></url>\
         <url><loc>http://127.0.0.3:1/elsewhere.html</loc></url></urlset>",
        site.url("/in/one.html"),
        site.url("/in/two.html")
    );
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(pages.as_bytes()).unwrap();
    site.set(
        "/sitemaps/pages.xml.gz",
        Reply::with_type("application/gzip", &gzip.finish().unwrap()),
    );
    let mut big = String::from("<?xml version=\"1.0\"?><urlset>");
    for index in 0..50_000 {
        big.push_str(&format!(
            "<url><loc>{}</loc></url>",
            site.url(&format!("/x/{index}"))
        ));
    }
    big.push_str(&format!(
        "<url><loc>{}</loc></url></urlset>",
        site.url("/in/over.html")
    ));
    site.set(
        "/sitemaps/big.xml",
        Reply::with_type("application/xml", big.as_bytes()),
    );
    let entity = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE urlset [<!ENTITY xxe SYSTEM \"{}\">]>\
         <urlset><url><loc>&xxe;</loc></url><url><loc>{}</loc></url></urlset>",
        site.url("/xxe"),
        site.url("/in/after-entity.html")
    );
    site.set(
        "/sitemaps/entity.xml",
        Reply::with_type("application/xml", entity.as_bytes()),
    );
    for path in [
        "/",
        "/in/one.html",
        "/in/two.html",
        "/in/over.html",
        "/in/after-entity.html",
    ] {
        site.set(path, Reply::html("<title>page</title>"));
    }

    let workspace = Workspace::new();
    let config = workspace.config(
        &[site.url("/")],
        "[crawl]\nmax_depth = 1\nsitemaps = true\nexclude = [\"/x/\"]\n\
         [politeness]\nrespect_robots_txt = true\nper_host_delay = \"0s\"",
    );
    let output = run_once(&config);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("were left out"), "{stderr}");
    assert!(
        stderr.contains("external entities are never read"),
        "{stderr}"
    );
    let hits = page_hits(&site);
    let fetched: Vec<&str> = hits
        .keys()
        .map(String::as_str)
        .filter(|path| !path.starts_with("/sitemaps/"))
        .collect();
    assert_eq!(
        fetched,
        ["/", "/in/after-entity.html", "/in/one.html", "/in/two.html"]
    );
    assert_eq!(site.hits("/xxe"), 0, "no external entity is fetched");
    let records = by_url(&workspace.records("out.jsonl"));
    let one = &records[&site.url("/in/one.html")];
    assert_eq!(one["depth"].as_u64(), Some(1));
    assert_eq!(
        one["found_on"].as_str(),
        Some(site.url("/sitemaps/pages.xml.gz").as_str())
    );
}

#[test]
fn a_public_page_cannot_lead_into_a_private_network() {
    let private = TestServer::start(vec![("/secret.html", Reply::html("<title>Secret</title>"))]);
    let public = TestServer::start_on("127.0.0.2", vec![]);
    let page = format!(
        "<title>Public</title><a href=\"{}\">secret</a><a href=\"/redirect\">r</a><a href=\"/more.html\">m</a>",
        private.url("/secret.html")
    );
    public.set("/", Reply::html(&page));
    public.set(
        "/redirect",
        Reply::redirect(302, &private.url("/secret.html?via=redirect")),
    );
    public.set("/more.html", Reply::html("<title>More</title>"));
    let workspace = Workspace::new();
    let config = workspace.config(
        &[public.url("/")],
        "[crawl]\nmax_depth = 1\nscope = \"any\"",
    );
    let child = crawler()
        .env("TEST_CRAWLER_PUBLIC_ADDRESSES", "127.0.0.2")
        .arg("--once")
        .arg("--config")
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn crawler");
    let output = wait_with_deadline(child);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        private.all_hits(),
        HashMap::new(),
        "nothing reached the private host"
    );
    let records = by_url(&workspace.records("out.jsonl"));
    let secret = &records[&private.url("/secret.html")];
    assert!(error_of(secret).starts_with("denied: "), "{secret}");
    assert!(error_of(secret).contains("public"), "{secret}");
    assert!(error_of(&records[&public.url("/redirect")]).starts_with("denied: "));
    assert_eq!(
        records[&public.url("/more.html")]["title"].as_str(),
        Some("More")
    );

    // A private seed's links to private hosts are followed as usual.
    let workspace = Workspace::new();
    let config = workspace.config(
        &[public.url("/")],
        "[crawl]\nmax_depth = 1\nscope = \"any\"",
    );
    once_ok(&workspace, &config);
    assert_eq!(private.hits("/secret.html"), 1);
}

#[test]
fn crawler_links_prints_each_link_with_its_reason() {
    let site = TestServer::start(vec![
        (
            "/robots.txt",
            Reply::with_type("text/plain", b"User-agent: *\nDisallow: /private/"),
        ),
        (
            "/",
            Reply::html(
                "<a href=\"/a\">a</a><a href=\"/private/p\">p</a><a rel=nofollow href=\"/n\">n</a>\
                 <a href=\"/a\">again</a><a href=\"http://127.0.0.3:9/x\">x</a><a href=\"/skip/me\">s</a>",
            ),
        ),
    ]);
    let workspace = Workspace::new();
    let config = workspace.config(
        &[site.url("/")],
        "[crawl]\nmax_depth = 1\nexclude = [\"/skip/\"]\n[politeness]\nrespect_robots_txt = true",
    );
    let output = crawler()
        .arg("links")
        .arg(site.url("/"))
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run crawler links");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = format!(
        "{}\tfollow\n{}\trobots\n{}\tnofollow\nhttp://127.0.0.3:9/x\tout_of_scope\n{}\texcluded\n",
        site.url("/a"),
        site.url("/private/p"),
        site.url("/n"),
        site.url("/skip/me")
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);

    let config = workspace.config(&[site.url("/")], "");
    let output = crawler()
        .args(["links", &site.url("/"), "--config"])
        .arg(&config)
        .output()
        .expect("run crawler links");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with(&format!("{}\ttoo_deep\n", site.url("/a"))),
        "{stdout}"
    );
    let output = crawler()
        .args(["links", "not a url"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
}

/// A site of `count` pages that all link to each other in a ring, each
/// answered after `delay`.
fn ring(site: &TestServer, count: usize, delay: Duration) {
    for index in 0..count {
        let links: String = (1..=3)
            .map(|step| format!("<a href=\"/r{}\">n</a>", (index + step) % count))
            .collect();
        let page = Reply::html(&format!("<title>r{index}</title>{links}"));
        site.set(&format!("/r{index}"), Reply::Slow(delay, Box::new(page)));
    }
}

#[test]
fn a_sigkilled_once_run_resumes_its_round_and_loses_nothing() {
    let site = TestServer::start(vec![]);
    ring(&site, 150, Duration::from_millis(10));
    let workspace = Workspace::new();
    let config = workspace.config(
        &[site.url("/r0")],
        "workers = 2\nstate_file = \"state.db\"\n[crawl]\nmax_depth = 200",
    );
    let mut first = Daemon::start({
        let mut command = crawler();
        command.args(["--once", "--config"]).arg(&config);
        command
    });
    let started = Instant::now();
    while workspace.records("out.jsonl").len() < 40 {
        assert!(started.elapsed() < DEADLINE, "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.signal(libc::SIGKILL);
    first.wait_exit();
    let before = workspace.records("out.jsonl").len();
    assert!(before < 150, "killed mid-round");
    let records = once_ok(&workspace, &config);
    let urls: std::collections::HashSet<&str> = records
        .iter()
        .filter_map(|record| record["url"].as_str())
        .collect();
    assert_eq!(urls.len(), 150, "every page has its record");
    let hits = page_hits(&site);
    assert_eq!(hits.len(), 150);
    let repeated = hits.values().filter(|count| **count > 1).count();
    assert!(hits.values().all(|count| *count <= 2), "{hits:?}");
    assert!(
        repeated <= before.max(1),
        "only unsaved pages are fetched again: {repeated}"
    );
    let logged = String::from_utf8_lossy(&run_once(&config).stderr).to_string();
    assert!(
        logged.contains("run 2"),
        "the completed run is not resumed: {logged}"
    );
}

fn wait_for_hits(server: &TestServer, path: &str, count: usize) {
    let started = Instant::now();
    while server.hits(path) < count {
        assert!(
            started.elapsed() < DEADLINE,
            "{path} never reached {count} hits"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn service_rounds_refetch_linked_pages_and_rest_unlinked_ones() {
    let site = TestServer::start(vec![
        (
            "/",
            Reply::html("<title>home</title><a href=\"/a\">a</a><a href=\"/b\">b</a>"),
        ),
        ("/a", Reply::html("<title>a one</title>")),
        ("/b", Reply::html("<title>b</title>")),
        (
            "/other-seed",
            Reply::html("<title>o</title><a href=\"/a\">a</a>"),
        ),
    ]);
    let workspace = Workspace::new();
    let metrics = crate::observability::free_address();
    let write = |crawl: &str| {
        workspace.config(
            &[site.url("/"), site.url("/other-seed")],
            &format!(
                "recrawl_interval = \"1s\"\nstate_file = \"state.db\"\n\
                 [metrics]\nlisten = \"{metrics}\"\n[crawl]\nmax_depth = 1\n{crawl}"
            ),
        )
    };
    let config = write("exclude = [\"/b$\"]");
    let mut daemon = Daemon::start({
        let mut command = crawler();
        command.arg("--config").arg(&config);
        command
    });
    wait_for_hits(&site, "/a", 1);
    wait_for_hits(&site, "/other-seed", 1);
    let (_, text) = crate::observability::get(metrics, "/metrics");
    assert!(
        text.contains("crawler_links_skipped_total{reason=\"excluded\"} 1"),
        "{text}"
    );
    assert!(text.contains("crawler_discovered_total 1"), "{text}");
    assert_eq!(site.hits("/b"), 0, "excluded");
    assert_eq!(
        site.hits("/a"),
        1,
        "two seeds link to /a: one fetch in their rounds"
    );

    // From the next round on /b is followed too.
    write("");
    daemon.wait_for("crawl.exclude");
    wait_for_hits(&site, "/b", 1);
    site.set("/", Reply::html("<title>home</title><a href=\"/a\">a</a>"));
    site.set("/a", Reply::html("<title>a two</title>"));
    let (home, a) = (site.hits("/"), site.hits("/a"));
    wait_for_hits(&site, "/", home + 2);
    wait_for_hits(&site, "/a", a + 1);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    assert_eq!(site.hits("/b"), 1, "no longer linked: not fetched again");
    let records = workspace.records("out.jsonl");
    let changed = records
        .iter()
        .find(|record| record["url"] == site.url("/a") && record["changed"] == true)
        .expect("the title change of /a is detected");
    assert_eq!(changed["previous_title"].as_str(), Some("a one"));
}

#[test]
fn a_reload_changes_max_depth_and_scope_mid_crawl() {
    let other = TestServer::start_on("127.0.0.3", vec![("/x", Reply::html("<title>x</title>"))]);
    let page = format!(
        "<title>s</title><a href=\"/child\">c</a><a href=\"{}\">x</a>",
        other.url("/x")
    );
    let site = TestServer::start(vec![
        ("/", Reply::html(&page)),
        ("/child", Reply::html("<title>child</title>")),
    ]);
    let workspace = Workspace::new();
    let write = |crawl: &str| {
        workspace.config(
            &[site.url("/")],
            &format!("recrawl_interval = \"0s\"\nstate_file = \"state.db\"\n[crawl]\n{crawl}"),
        )
    };
    let config = write("max_depth = 0");
    let mut daemon = Daemon::start({
        let mut command = crawler();
        command.arg("--config").arg(&config);
        command
    });
    daemon.wait_for("title url=");
    assert_eq!(site.hits("/child"), 0);
    write("max_depth = 1");
    daemon.wait_for("crawl.max_depth 0 → 1");
    wait_for_hits(&site, "/child", 1);
    assert_eq!(other.hits("/x"), 0, "out of scope");
    write("max_depth = 1\nscope = \"any\"");
    daemon.wait_for("crawl.scope");
    wait_for_hits(&other, "/x", 1);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
}

#[test]
fn pages_whose_links_are_followed_are_fetched_whole_in_later_rounds() {
    let site = TestServer::start(vec![
        (
            "/",
            Reply::html_with_header(
                "ETag: \"home\"",
                "<title>home</title><a href=\"/leaf\">l</a>",
            ),
        ),
        (
            "/leaf",
            Reply::html_with_header("ETag: \"leaf\"", "<title>leaf</title>"),
        ),
    ]);
    let workspace = Workspace::new();
    let config = workspace.config(
        &[site.url("/")],
        "recrawl_interval = \"1s\"\nstate_file = \"state.db\"\n[crawl]\nmax_depth = 1",
    );
    let mut daemon = Daemon::start({
        let mut command = crawler();
        command.arg("--config").arg(&config);
        command
    });
    wait_for_hits(&site, "/leaf", 2);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    let conditional = |path: &str| {
        site.heads(path)
            .iter()
            .filter(|head| head.contains("if-none-match"))
            .count()
    };
    assert_eq!(
        conditional("/"),
        0,
        "its links are needed: no 304 could carry them"
    );
    assert!(
        conditional("/leaf") >= 1,
        "a page at max_depth is asked conditionally"
    );
}
