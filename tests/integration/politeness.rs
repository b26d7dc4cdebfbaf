//! Politeness: robots.txt, per-host gaps and concurrency, backoff on 429,
//! and fairness between hosts. Gaps are measured on the server and only ever
//! checked from below (a crawler may always be slower than its limits).

use std::time::{Duration, Instant};

use crate::support::{Daemon, Reply, TestServer, Workspace, by_url, crawl_once, crawler, error_of};

fn page(title: &str) -> Reply {
    Reply::html(&format!("<title>{title}</title>"))
}

fn text(body: &str) -> Reply {
    Reply::with_type("text/plain", body.as_bytes())
}

/// Politeness on, with its own limits; robots.txt as the test says.
fn limits(concurrency: usize, delay: &str) -> String {
    format!(
        "[politeness]\nrespect_robots_txt = true\nper_host_concurrency = {concurrency}\n\
         per_host_delay = \"{delay}\"\n"
    )
}

/// The smallest gap between two consecutive arrivals.
fn smallest_gap(arrivals: &[Instant]) -> Duration {
    arrivals
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .min()
        .expect("at least two arrivals")
}

const ROBOTS: &str = "User-agent: otherbot\nDisallow: /\n\n\
User-agent: crawler\n\
Disallow: /private\n\
Allow: /private/open\n\
Disallow: /*.pdf$\n\
Disallow: /*/secret\n\
Disallow: /tie\n\
Allow: /tie\n";

#[test]
fn robots_txt_is_obeyed_by_default() {
    let paths = [
        "/public",
        "/private/x",
        "/private/open/y",
        "/doc.pdf",
        "/doc.pdf.html",
        "/a/secret",
        "/tie",
    ];
    let mut routes: Vec<(&str, Reply)> = paths.iter().map(|p| (*p, page(p))).collect();
    routes.push(("/robots.txt", text(ROBOTS)));
    let server = TestServer::start(routes);
    let seeds: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    // No [politeness] table: the defaults apply (robots.txt on, 1s gap).
    let workspace = Workspace::new();
    let quoted: Vec<String> = seeds.iter().map(|s| format!("{s:?}")).collect();
    let config = workspace.write(
        "crawler.toml",
        &format!(
            "seeds = [{}]\n[output]\njsonl = \"out.jsonl\"\n",
            quoted.join(", ")
        ),
    );
    let output = crate::support::run_once(&config);
    assert_eq!(output.status.code(), Some(0));
    let records = by_url(&workspace.records("out.jsonl"));
    assert_eq!(records.len(), paths.len());
    for (path, allowed) in [
        ("/public", true),
        ("/private/x", false),
        ("/private/open/y", true),
        ("/doc.pdf", false),
        ("/doc.pdf.html", true),
        ("/a/secret", false),
        ("/tie", true),
    ] {
        let record = &records[&server.url(path)];
        if allowed {
            assert_eq!(record["title"], *path, "{path}: {record}");
            assert_eq!(server.hits(path), 1, "{path}");
        } else {
            assert!(error_of(record).starts_with("robots: "), "{path}: {record}");
            assert!(error_of(record).contains("disallowed by"), "{record}");
            assert!(record["status"].is_null(), "{record}");
            assert_eq!(record["attempts"], 0, "{record}");
            assert_eq!(server.hits(path), 0, "{path} must not be requested");
        }
    }
    assert_eq!(server.hits("/robots.txt"), 1);
}

#[test]
fn a_missing_robots_txt_allows_everything() {
    let server = TestServer::start(vec![("/a", page("A")), ("/b", page("B"))]);
    let seeds = vec![server.url("/a"), server.url("/b")];
    let records = crawl_once(&seeds, &limits(0, "0s"));
    assert!(records.iter().all(|r| r["error"].is_null()), "{records:?}");
    assert_eq!(server.hits("/robots.txt"), 1);
}

#[test]
fn a_robots_txt_server_error_disallows_the_whole_host() {
    let server = TestServer::start(vec![
        ("/robots.txt", Reply::status(500)),
        ("/a", page("A")),
        ("/b", page("B")),
    ]);
    let seeds = vec![server.url("/a"), server.url("/b")];
    let records = crawl_once(&seeds, &limits(0, "0s"));
    assert_eq!(records.len(), 2);
    for record in &records {
        let error = error_of(record);
        assert!(error.starts_with("http_status: "), "{record}");
        assert!(error.contains("robots.txt is unreachable"), "{record}");
        assert!(error.contains("HTTP 500"), "{record}");
        assert_eq!(record["attempts"], 0, "{record}");
    }
    assert_eq!(server.hits("/a") + server.hits("/b"), 0);
}

#[test]
fn a_host_that_is_down_gives_records_of_its_cause_not_robots() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let seeds = vec![
        format!("http://127.0.0.1:{port}/a"),
        format!("http://127.0.0.1:{port}/b"),
    ];
    let records = crawl_once(&seeds, &limits(0, "0s"));
    assert_eq!(records.len(), 2);
    for record in &records {
        let error = error_of(record);
        assert!(error.starts_with("connect: "), "{record}");
        assert!(error.contains("robots.txt is unreachable"), "{record}");
        assert_eq!(record["attempts"], 0, "no page request: {record}");
        assert_eq!(record["status"], serde_json::Value::Null, "{record}");
    }
}

#[test]
fn a_robots_txt_redirect_is_followed() {
    let server = TestServer::start(vec![
        ("/robots.txt", Reply::redirect(301, "/moved/robots.txt")),
        (
            "/moved/robots.txt",
            text("User-agent: *\nDisallow: /blocked\n"),
        ),
        ("/blocked", page("no")),
        ("/open", page("yes")),
    ]);
    let seeds = vec![server.url("/blocked"), server.url("/open")];
    let records = by_url(&crawl_once(&seeds, &limits(0, "0s")));
    assert!(error_of(&records[&seeds[0]]).starts_with("robots: "));
    assert_eq!(records[&seeds[1]]["title"], "yes");
    assert_eq!(server.hits("/moved/robots.txt"), 1);
    assert_eq!(server.hits("/blocked"), 0);
}

#[test]
fn robots_txt_is_fetched_once_for_many_urls_at_once() {
    let slow_robots = Reply::Slow(
        Duration::from_millis(300),
        Box::new(text("User-agent: *\nAllow: /\n")),
    );
    let paths: Vec<String> = (0..24).map(|i| format!("/p{i}")).collect();
    let mut routes: Vec<(&str, Reply)> = paths.iter().map(|p| (p.as_str(), page(p))).collect();
    routes.push(("/robots.txt", slow_robots));
    let server = TestServer::start(routes);
    let seeds: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    let records = crawl_once(&seeds, &format!("workers = 8\n{}", limits(0, "0s")));
    assert_eq!(records.len(), 24);
    assert!(records.iter().all(|r| r["error"].is_null()), "{records:?}");
    assert_eq!(server.hits("/robots.txt"), 1);
}

#[test]
fn per_host_delay_spaces_request_starts() {
    let paths: Vec<String> = (0..5).map(|i| format!("/p{i}")).collect();
    let routes: Vec<(&str, Reply)> = paths.iter().map(|p| (p.as_str(), page(p))).collect();
    let server = TestServer::start(routes);
    let seeds: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    let records = crawl_once(&seeds, &format!("workers = 8\n{}", limits(4, "400ms")));
    assert_eq!(records.len(), 5);
    let gap = smallest_gap(&server.page_arrivals());
    // 50 ms of tolerance for when the server thread notes the arrival.
    assert!(gap >= Duration::from_millis(350), "smallest gap {gap:?}");
}

#[test]
fn crawl_delay_is_honoured_and_capped() {
    let paths: Vec<String> = (0..4).map(|i| format!("/p{i}")).collect();
    let mut routes: Vec<(&str, Reply)> = paths.iter().map(|p| (p.as_str(), page(p))).collect();
    routes.push((
        "/robots.txt",
        text("User-agent: *\nCrawl-delay: 3600\nDisallow: /nothing\n"),
    ));
    let server = TestServer::start(routes);
    let seeds: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    let settings = format!("{}max_crawl_delay = \"500ms\"\n", limits(0, "0s"));
    let records = crawl_once(&seeds, &settings);
    assert_eq!(records.len(), 4, "the capped delay lets the crawl finish");
    let gap = smallest_gap(&server.page_arrivals());
    assert!(gap >= Duration::from_millis(450), "smallest gap {gap:?}");
}

#[test]
fn per_host_concurrency_is_never_exceeded() {
    let paths: Vec<String> = (0..12).map(|i| format!("/p{i}")).collect();
    let routes: Vec<(&str, Reply)> = paths
        .iter()
        .map(|p| {
            let slow = Reply::Slow(Duration::from_millis(150), Box::new(page(p)));
            (p.as_str(), slow)
        })
        .collect();
    let server = TestServer::start(routes);
    let seeds: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    let records = crawl_once(&seeds, &format!("workers = 10\n{}", limits(2, "0s")));
    assert_eq!(records.len(), 12);
    assert_eq!(server.max_concurrent(), 2, "two at once, never more");
}

#[test]
fn a_429_doubles_the_gap_to_that_host() {
    let server = TestServer::start(vec![
        ("/limited", Reply::status(429)),
        ("/a", page("A")),
        ("/b", page("B")),
    ]);
    let seeds = vec![server.url("/limited"), server.url("/a"), server.url("/b")];
    let settings = format!("[retry]\nmax_retries = 0\n{}", limits(1, "300ms"));
    let records = crawl_once(&seeds, &settings);
    assert_eq!(records.len(), 3);
    let limited = server.arrivals("/limited")[0];
    let next = server
        .page_arrivals()
        .into_iter()
        .find(|at| *at > limited)
        .expect("a request after the 429");
    let gap = next - limited;
    assert!(gap >= Duration::from_millis(550), "gap after 429: {gap:?}");
}

#[test]
fn a_slow_host_never_holds_back_another() {
    let slow = TestServer::start_on(
        "127.0.0.2",
        vec![(
            "/slow",
            Reply::Slow(Duration::from_secs(2), Box::new(page("slow"))),
        )],
    );
    let fast_paths: Vec<String> = (0..10).map(|i| format!("/f{i}")).collect();
    let fast = TestServer::start_on(
        "127.0.0.3",
        fast_paths.iter().map(|p| (p.as_str(), page(p))).collect(),
    );
    let workspace = Workspace::new();
    // 10,000 URLs of the slow host first, then the 10 of the other one.
    let mut lines: Vec<String> = (0..10_000)
        .map(|i| format!("{}?n={i}", slow.url("/slow")))
        .collect();
    lines.extend(fast_paths.iter().map(|p| fast.url(p)));
    workspace.write("seeds.txt", &lines.join("\n"));
    let config = workspace.write(
        "crawler.toml",
        &format!(
            "seeds_file = \"seeds.txt\"\nworkers = 8\n[output]\njsonl = \"out.jsonl\"\n{}",
            limits(2, "100ms")
        ),
    );
    let mut command = crawler();
    command.arg("--once").arg("--config").arg(&config);
    let mut daemon = Daemon::start(command);
    daemon.wait_for_n(&format!("title url={}/f", fast.url("")), fast_paths.len());
    let slow_requests = slow.page_arrivals().len();
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    assert!(
        (1..=20).contains(&slow_requests),
        "the 10 fast pages waited for {slow_requests} slow requests"
    );
    assert_eq!(slow.max_concurrent(), 2);
}
