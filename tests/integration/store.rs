//! The durable frontier: SIGKILL at random moments loses nothing and repeats
//! little, `--once` resumes, the JSON state is imported, bad state files are
//! refused untouched, conditional recrawls, `crawler status`, a full disk.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::support::{DEADLINE, Daemon, POLITENESS_OFF, Reply, TestServer, Workspace, crawler};

fn page(title: &str) -> Reply {
    Reply::html(&format!("<title>{title}</title>"))
}

/// A server with `count` pages `/p0`, `/p1`, …, each answering after `delay`.
fn site(count: usize, delay: Duration) -> (TestServer, Vec<String>) {
    let routes: Vec<(String, Reply)> = (0..count)
        .map(|index| {
            let reply = Reply::Slow(delay, Box::new(page(&format!("P{index}"))));
            (format!("/p{index}"), reply)
        })
        .collect();
    let server = TestServer::start(
        routes
            .iter()
            .map(|(path, reply)| (path.as_str(), reply.clone()))
            .collect(),
    );
    let urls = (0..count)
        .map(|index| server.url(&format!("/p{index}")))
        .collect();
    (server, urls)
}

/// A config with a seeds file of `urls` and the given extra lines.
fn config_with_seeds_file(
    workspace: &Workspace,
    urls: &[String],
    extra: &str,
) -> std::path::PathBuf {
    workspace.write("seeds.txt", &(urls.join("\n") + "\n"));
    workspace.write(
        "crawler.toml",
        &format!(
            "seeds_file = \"seeds.txt\"\n{extra}\n[output]\njsonl = \"out.jsonl\"\n{POLITENESS_OFF}"
        ),
    )
}

fn start(config: &Path, once: bool) -> Daemon {
    let mut command = crawler();
    if once {
        command.arg("--once");
    }
    command.arg("--config").arg(config);
    let mut daemon = Daemon::start(command);
    daemon.wait_for("started:");
    daemon
}

/// The records written so far, skipping a torn last line.
fn records(workspace: &Workspace) -> Vec<Value> {
    let text = std::fs::read_to_string(workspace.path("out.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

fn kill(daemon: &mut Daemon) {
    daemon.signal(libc::SIGKILL);
    daemon.wait_exit();
}

/// When a record was written: its fetch start plus its elapsed time.
fn written_at(record: &Value) -> SystemTime {
    let started = humantime::parse_rfc3339(record["fetched_at"].as_str().unwrap()).unwrap();
    started + Duration::from_millis(record["elapsed_ms"].as_u64().unwrap())
}

/// Checks that every URL of `later` that already had a record in `before`
/// had it written within the commit window before the kill (5 s allows for
/// a loaded machine, Chromium rendering beside it; the window is 100 ms).
/// Returns how many repeated.
fn assert_repeats_were_recent(before: &[Value], later: &[Value], killed_at: SystemTime) -> usize {
    let last_written: HashMap<&str, SystemTime> = before
        .iter()
        .map(|record| (record["url"].as_str().unwrap(), written_at(record)))
        .collect();
    let mut repeats = 0;
    for record in later {
        let url = record["url"].as_str().unwrap();
        if let Some(written) = last_written.get(url) {
            let age = killed_at.duration_since(*written).unwrap_or_default();
            assert!(
                age <= Duration::from_secs(5),
                "{url} was recorded {age:?} before the kill and fetched again"
            );
            repeats += 1;
        }
    }
    repeats
}

/// Starts the service on `config` and waits (with the deadline) for it to
/// exit on its own, as it must when it cannot start.
fn run_service_to_exit(config: &Path) -> std::process::Output {
    let child = crawler()
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    crate::support::wait_with_deadline(child)
}

fn check_passes(config: &Path) {
    let output = crawler()
        .arg("check")
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "the database must open clean: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn sigkill_at_any_moment_loses_no_url_and_repeats_only_the_last_window() {
    let (server, urls) = site(2000, Duration::from_millis(2));
    let workspace = Workspace::new();
    let config =
        config_with_seeds_file(&workspace, &urls, "workers = 16\nrecrawl_interval = \"1h\"");
    let mut repeats_bound_checked = 0;
    for kill_after in [150, 700, 1300] {
        let mut daemon = start(&config, false);
        wait_until("records", || records(&workspace).len() >= kill_after);
        let killed_at = SystemTime::now();
        kill(&mut daemon);
        let before = records(&workspace);
        check_passes(&config);
        // Restart, let it run a little past what was recorded, and see what repeats.
        let mut daemon = start(&config, false);
        wait_until("more records", || {
            records(&workspace).len() >= before.len() + 100
        });
        kill(&mut daemon);
        check_passes(&config);
        let after = records(&workspace);
        repeats_bound_checked +=
            assert_repeats_were_recent(&before, &after[before.len()..], killed_at);
    }
    eprintln!("pages fetched again that had a record: {repeats_bound_checked}");
    let mut daemon = start(&config, false);
    wait_until("every seed recorded", || {
        let seen: HashSet<String> = records(&workspace)
            .iter()
            .map(|record| record["url"].as_str().unwrap().to_owned())
            .collect();
        seen.len() == urls.len()
    });
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    for url in &urls {
        let path = &url[url.find("/p").unwrap()..];
        assert!(server.hits(path) >= 1, "{url} never fetched");
    }
    let total: usize = urls
        .iter()
        .map(|url| server.hits(&url[url.find("/p").unwrap()..]))
        .sum();
    eprintln!("{total} requests for {} pages over 7 starts", urls.len());
}

#[test]
fn once_resumes_after_a_kill_and_a_completed_run_starts_afresh() {
    let (server, urls) = site(300, Duration::from_millis(20));
    let workspace = Workspace::new();
    let config =
        config_with_seeds_file(&workspace, &urls, "workers = 4\nstate_file = \"state.db\"");
    let mut daemon = start(&config, true);
    wait_until("some records", || records(&workspace).len() >= 60);
    let killed_at = SystemTime::now();
    kill(&mut daemon);
    let before = records(&workspace);
    assert!(
        before.len() < urls.len(),
        "the kill came too late to test a resume"
    );

    let status = crawler()
        .args(["status", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("in flight: 0,") || text.contains("(when the crawl stopped"),
        "a killed crawl's claims are shown as such:\n{text}"
    );
    let json = crawler()
        .args(["status", "--json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["running"], false, "{json}");

    let mut resumed = start(&config, true);
    let line = resumed.wait_for("resuming run 1");
    // The store may lag the JSON lines by its commit window: those are fetched again too.
    let again: usize = line
        .split("resuming run 1: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    let left = urls.len() - seen_in(&before);
    assert!(again >= left && again < urls.len(), "{line}");
    assert!(
        line.contains(&format!(
            "{again} URLs are fetched again: {again} of {} seeds and 0 discovered pages",
            urls.len()
        )),
        "{line}"
    );
    assert_eq!(resumed.wait_exit(), Some(0));
    let all = records(&workspace);
    let seen: HashSet<&str> = all
        .iter()
        .map(|record| record["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        seen.len(),
        urls.len(),
        "every seed has a record after the resume"
    );
    let repeats = assert_repeats_were_recent(&before, &all[before.len()..], killed_at);
    assert_eq!(
        all.len() - before.len(),
        urls.len() - seen_in(&before) + repeats
    );

    let hits_before: usize = (0..300)
        .map(|index| server.hits(&format!("/p{index}")))
        .sum();
    let mut fresh = start(&config, true);
    fresh.wait_for("run 2:");
    assert_eq!(fresh.wait_exit(), Some(0));
    let hits_after: usize = (0..300)
        .map(|index| server.hits(&format!("/p{index}")))
        .sum();
    assert_eq!(
        hits_after - hits_before,
        urls.len(),
        "a completed run is followed by a whole new one"
    );
}

/// How many distinct URLs `records` has.
fn seen_in(records: &[Value]) -> usize {
    records
        .iter()
        .map(|record| record["url"].as_str().unwrap())
        .collect::<HashSet<_>>()
        .len()
}

#[test]
fn the_json_state_of_earlier_versions_is_imported_once() {
    let server = TestServer::start(vec![
        ("/a", page("A")),
        ("/b", page("New")),
        ("/c", page("C")),
    ]);
    let (a, b, c) = (server.url("/a"), server.url("/b"), server.url("/c"));
    let workspace = Workspace::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let json = serde_json::json!({
        "version": 1,
        "seeds": {
            a.clone(): {"title": "A", "fetched_at": now - 7200},
            b.clone(): {"title": "Old", "fetched_at": now - 7200},
            c.clone(): {"title": "C", "fetched_at": now - 60},
        }
    });
    workspace.write("crawler-state.json", &json.to_string());
    let quoted = format!("{a:?}, {b:?}, {c:?}");
    let config = workspace.write(
        "crawler.toml",
        &format!("seeds = [{quoted}]\nrecrawl_interval = \"1h\"\n[output]\njsonl = \"out.jsonl\"\n{POLITENESS_OFF}"),
    );
    let mut daemon = start(&config, false);
    let imported: Vec<&String> = daemon
        .seen
        .iter()
        .filter(|line| line.contains("imported 3 URLs"))
        .collect();
    assert_eq!(imported.len(), 1, "one INFO line: {:?}", daemon.seen);
    assert!(
        imported[0].contains("crawler-state.json.imported"),
        "{}",
        imported[0]
    );
    daemon.wait_for_n("title url=", 2);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    assert!(!workspace.path("crawler-state.json").exists());
    assert!(workspace.path("crawler-state.json.imported").exists());
    assert!(workspace.path("crawler-state.db").exists());
    let by_url: HashMap<String, Value> = records(&workspace)
        .into_iter()
        .map(|record| (record["url"].as_str().unwrap().to_owned(), record))
        .collect();
    assert_eq!(
        by_url[&a]["changed"], false,
        "same title as imported: no false change"
    );
    assert_eq!(by_url[&b]["changed"], true);
    assert_eq!(by_url[&b]["previous_title"], "Old");
    assert_eq!(
        server.hits("/c"),
        0,
        "fetched a minute ago: its due time was kept"
    );
    // A second start imports nothing again.
    let mut again = start(&config, false);
    again.signal(libc::SIGTERM);
    assert_eq!(again.wait_exit(), Some(0));
    assert!(!again.seen.iter().any(|line| line.contains("imported")));
}

/// Builds a real state database of 200 seeds with a `--once` run.
fn real_database(workspace: &Workspace) -> Vec<u8> {
    let server = TestServer::start(vec![("/", page("x"))]);
    let urls: Vec<String> = (0..200)
        .map(|index| server.url(&format!("/?n={index}")))
        .collect();
    let config = config_with_seeds_file(workspace, &urls, "state_file = \"state.db\"");
    let output = crate::support::run_once(&config);
    assert_eq!(output.status.code(), Some(0));
    std::fs::read(workspace.path("state.db")).unwrap()
}

#[test]
fn bad_state_files_are_refused_with_a_clear_message_and_left_untouched() {
    let workspace = Workspace::new();
    let good = real_database(&workspace);
    assert!(good.len() > 8192, "the database has several pages");
    let newer = {
        let path = workspace.path("newer.db");
        std::fs::write(&path, &good).unwrap();
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection.pragma_update(None, "user_version", 99).unwrap();
        drop(connection);
        std::fs::read(&path).unwrap()
    };
    let mut random = vec![0u8; 10_000];
    for (index, byte) in random.iter_mut().enumerate() {
        *byte = u8::try_from((index * 7919 + 13) % 251).unwrap();
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", good[..good.len() / 2].to_vec(), "truncated"),
        ("random bytes", random, "is not a SQLite database"),
        (
            "json",
            b"{\"version\": 1, \"seeds\": {}}".to_vec(),
            "holds JSON",
        ),
        ("newer", newer, "schema version 99"),
        ("empty", Vec::new(), "is empty"),
    ];
    let server = TestServer::start(vec![("/", page("x"))]);
    for (name, bytes, message) in cases {
        let case = Workspace::new();
        let path = case.path("state.db");
        std::fs::write(&path, &bytes).unwrap();
        let config = case.config(&[server.url("/")], "state_file = \"state.db\"");
        let check = crawler()
            .arg("check")
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&check.stderr);
        assert_eq!(check.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(message) && stderr.contains("state.db"),
            "{name}: {stderr}"
        );
        let run = run_service_to_exit(&config);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{name}: the file was changed"
        );
        assert_eq!(
            server.hits("/"),
            0,
            "{name}: nothing is crawled on a bad state file"
        );
    }
}

#[test]
fn recrawls_are_conditional_and_a_304_keeps_the_title() {
    let validated = Reply::Page {
        status: 200,
        headers: vec![
            b"Content-Type: text/html".to_vec(),
            b"ETag: \"v1\"".to_vec(),
            b"Last-Modified: Tue, 01 Dec 2026 10:00:00 GMT".to_vec(),
        ],
        body: b"<title>Kept</title>".to_vec(),
    };
    let not_modified = Reply::Page {
        status: 304,
        headers: vec![b"ETag: \"v1\"".to_vec()],
        body: Vec::new(),
    };
    let ignoring = |title: &str| Reply::Page {
        status: 200,
        headers: vec![b"Content-Type: text/html".to_vec(), b"ETag: \"x\"".to_vec()],
        body: format!("<title>{title}</title>").into_bytes(),
    };
    let server = TestServer::start(vec![
        ("/a", Reply::Sequence(vec![validated, not_modified])),
        (
            "/b",
            Reply::Sequence(vec![ignoring("One"), ignoring("Two")]),
        ),
    ]);
    let (a, b) = (server.url("/a"), server.url("/b"));
    let workspace = Workspace::new();
    let config = workspace.config(&[a.clone(), b.clone()], "recrawl_interval = \"1s\"");
    let mut daemon = start(&config, false);
    daemon.wait_for_n(&format!("title url={a} "), 2);
    daemon.wait_for_n(&format!("title url={b} "), 2);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    // curl writes `name:value`; compare without the optional space.
    let heads: Vec<String> = server
        .heads("/a")
        .iter()
        .map(|head| head.replace(": ", ":"))
        .collect();
    assert!(
        !heads[0].contains("if-none-match"),
        "the first fetch is plain"
    );
    assert!(heads[1].contains("if-none-match:\"v1\""), "{}", heads[1]);
    assert!(
        heads[1].contains("if-modified-since:tue, 01 dec 2026 10:00:00 gmt"),
        "{}",
        heads[1]
    );
    let all = records(&workspace);
    let of =
        |url: &str| -> Vec<&Value> { all.iter().filter(|record| record["url"] == url).collect() };
    let second = of(&a)[1];
    assert_eq!(second["status"], 304);
    assert_eq!(second["not_modified"], true);
    assert_eq!(second["title"], "Kept");
    assert_eq!(second["bytes"], 0);
    assert_eq!(second["changed"], false);
    assert!(second["error"].is_null());
    assert_eq!(of(&a)[0]["not_modified"], false);
    let b_second = of(&b)[1];
    assert!(
        server.heads("/b")[1]
            .replace(": ", ":")
            .contains("if-none-match:\"x\"")
    );
    assert_eq!(
        b_second["status"], 200,
        "a server that ignores the validators"
    );
    assert_eq!(b_second["changed"], true);
    assert_eq!(b_second["previous_title"], "One");
}

#[test]
fn status_reads_the_store_while_the_daemon_crawls() {
    let (_server, urls) = site(400, Duration::from_millis(50));
    let workspace = Workspace::new();
    let config = config_with_seeds_file(&workspace, &urls, "workers = 4");
    let mut daemon = start(&config, false);
    wait_until("some records", || records(&workspace).len() >= 20);
    let output = crawler()
        .arg("status")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("urls: 400 known: 400 seeds"), "{text}");
    assert!(text.contains("hosts: 1"), "{text}");
    assert!(text.contains("last outcomes: ok "), "{text}");
    let json = crawler()
        .arg("status")
        .arg("--json")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(status["known"], 400);
    assert!(status["outcomes"]["ok"].as_u64().unwrap() >= 1, "{status}");
    assert!(status["file_bytes"].as_u64().unwrap() > 0);
    assert!(status["due_now"].as_u64().unwrap() + status["in_flight"].as_u64().unwrap() > 0);
    assert_eq!(status["running"], true, "{status}");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    let missing = Workspace::new();
    let config = missing.config(&urls[..1], "");
    let output = crawler()
        .arg("status")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no crawl state at"), "{stderr}");
    assert!(
        stderr.contains("a `--once` run keeps state only when `state_file` is set"),
        "{stderr}"
    );
}

/// Unmounts a test's tmpfs when dropped.
struct Mount(std::path::PathBuf);

impl Mount {
    /// A small tmpfs at `path`, or `None` where this process may not mount (not root).
    fn tmpfs(path: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(path).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .stderr(Stdio::null())
            .status();
        status
            .is_ok_and(|status| status.success())
            .then(|| Self(path.to_owned()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Writes `path` until the disk is full.
fn fill(path: &Path) {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
}

#[test]
fn a_full_disk_is_an_error_and_the_state_is_written_again_once_space_is_back() {
    let workspace = Workspace::new();
    let Some(_mount) = Mount::tmpfs(&workspace.path("disk"), "16m") else {
        eprintln!(
            "skipped: cannot mount a tmpfs here (needs root); see the README for the manual check"
        );
        return;
    };
    let (_server, urls) = site(400, Duration::from_millis(10));
    let address = crate::observability::free_address();
    let config = config_with_seeds_file(
        &workspace,
        &urls,
        &format!("workers = 2\nstate_file = \"disk/state.db\"\n[metrics]\nlisten = \"{address}\""),
    );
    let health = || -> Value {
        let (_, body) = crate::observability::get(address, "/healthz");
        serde_json::from_str(body.trim()).unwrap()
    };
    let mut daemon = start(&config, false);
    wait_until("some records", || records(&workspace).len() >= 30);
    fill(&workspace.path("disk/filler"));
    let error = daemon.wait_for("cannot write the crawl state");
    assert!(
        error.contains("ERROR") && error.contains("disk/state.db"),
        "{error}"
    );
    let degraded = health();
    assert_eq!(degraded["status"], "degraded", "{degraded}");
    assert_eq!(degraded["state"]["ok"], false, "{degraded}");
    assert!(
        degraded["state"]["error"]
            .as_str()
            .unwrap()
            .contains("state.db"),
        "{degraded}"
    );
    let at_error = records(&workspace).len();
    wait_until("crawling on", || records(&workspace).len() >= at_error + 50);
    std::fs::remove_file(workspace.path("disk/filler")).unwrap();
    let back = daemon.wait_for("is written again");
    assert!(back.contains("INFO"), "{back}");
    wait_until("every seed recorded", || {
        seen_in(&records(&workspace)) == urls.len()
    });
    let recovered = health();
    assert_eq!(recovered["status"], "ok", "{recovered}");
    assert_eq!(recovered["state"]["ok"], true, "{recovered}");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    let connection = rusqlite::Connection::open(workspace.path("disk/state.db")).unwrap();
    let verdict: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
    let fetched: i64 = connection
        .query_row(
            "SELECT COUNT(*) FROM urls WHERE ok_at IS NOT NULL",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(
        fetched, 400,
        "every result, from before, during and after the outage, is kept"
    );
}

#[test]
fn a_second_daemon_on_the_same_state_file_is_refused() {
    let server = TestServer::start(vec![("/", page("x"))]);
    let workspace = Workspace::new();
    let config = workspace.config(&[server.url("/")], "");
    let mut first = start(&config, false);
    first.wait_for("title url=");
    let second = run_service_to_exit(&config);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("in use by another running crawler"),
        "{stderr}"
    );
    assert!(stderr.contains("crawler-state.db"), "{stderr}");
    first.signal(libc::SIGTERM);
    assert_eq!(first.wait_exit(), Some(0));
    // Once the first one is gone, the file is free again.
    let output = crate::support::run_once(
        &workspace.config(&[server.url("/")], "state_file = \"crawler-state.db\""),
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_state_file_set_to_an_old_json_file_becomes_the_database_in_place() {
    let server = TestServer::start(vec![("/a", page("Same"))]);
    let a = server.url("/a");
    let workspace = Workspace::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let json = serde_json::json!({"version": 1, "seeds": {a.clone(): {"title": "Same", "fetched_at": now - 7200}}});
    workspace.write("state.json", &json.to_string());
    let config = workspace.config(std::slice::from_ref(&a), "state_file = \"state.json\"");
    check_passes(&config);
    let mut daemon = start(&config, false);
    assert!(
        daemon
            .seen
            .iter()
            .any(|line| line.contains("imported 1 URLs") && line.contains("state.json.imported")),
        "{:?}",
        daemon.seen
    );
    daemon.wait_for(&format!("title url={a} "));
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    assert_eq!(
        records(&workspace)[0]["changed"],
        false,
        "the imported title was kept"
    );
    let head = std::fs::read(workspace.path("state.json")).unwrap();
    assert!(
        head.starts_with(b"SQLite format 3\0"),
        "the state file is a database now"
    );
    let kept = std::fs::read_to_string(workspace.path("state.json.imported")).unwrap();
    assert!(kept.contains("Same"), "the JSON is kept beside it");
    check_passes(&config);
}

#[test]
fn history_lists_a_urls_title_changes_newest_first() {
    let server = TestServer::start(vec![(
        "/p",
        Reply::Sequence(vec![
            Reply::html("<title>One</title>"),
            Reply::html("<title>Two</title>"),
            Reply::html("<title>Three</title>"),
        ]),
    )]);
    let url = server.url("/p");
    let workspace = Workspace::new();
    let config = workspace.config(
        std::slice::from_ref(&url),
        &format!("state_file = \"state.db\"\n{POLITENESS_OFF}"),
    );
    for _ in 0..3 {
        let output = crate::support::run_once(&config);
        assert_eq!(output.status.code(), Some(0));
    }
    let history = |args: &[&str]| {
        crawler()
            .arg("history")
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap()
    };
    let text = history(&[&url]);
    assert_eq!(text.status.code(), Some(0));
    let lines: Vec<String> = String::from_utf8_lossy(&text.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].ends_with("\"Two\" -> \"Three\""), "{lines:?}");
    assert!(lines[1].ends_with("\"One\" -> \"Two\""), "{lines:?}");
    let json = history(&["--json", &url]);
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json[0]["to"], "Three", "{json}");
    assert_eq!(json.as_array().unwrap().len(), 2);
    let other = history(&[&server.url("/never")]);
    assert_eq!(other.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&other.stdout).contains("no title change recorded"));
    assert_eq!(history(&["ftp://127.0.0.1/"]).status.code(), Some(2));
}

#[test]
fn the_state_file_is_checked_whole_at_a_start_only_after_an_unclean_stop() {
    let (_server, urls) = site(200, Duration::from_millis(2));
    let workspace = Workspace::new();
    let config = config_with_seeds_file(&workspace, &urls, "state_file = \"state.db\"");
    let unclean = "was not closed cleanly";
    let has_unclean = |lines: &[String]| lines.iter().any(|line| line.contains(unclean));

    let mut daemon = start(&config, false);
    wait_until("records", || records(&workspace).len() >= 20);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    assert!(
        !has_unclean(&daemon.all_lines()),
        "a new file needs no check"
    );

    // Stopped normally: the next start does not read the file whole.
    let mut daemon = start(&config, false);
    kill(&mut daemon);
    assert!(!has_unclean(&daemon.all_lines()));

    // Killed: the next start checks it, then crawls on.
    let before = records(&workspace).len();
    let mut daemon = start(&config, false);
    assert!(has_unclean(&daemon.all_lines()));
    wait_until("more records", || records(&workspace).len() > before);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
}

#[test]
fn an_unchanged_seed_list_is_not_listed_again_and_a_changed_one_is() {
    let (server, urls) = site(5, Duration::ZERO);
    let workspace = Workspace::new();
    let extra = "state_file = \"state.db\"\nrecrawl_interval = \"1h\"";
    let config = config_with_seeds_file(&workspace, &urls[..2], extra);
    let start_debug = || {
        let mut command = crawler();
        command.env("RUST_LOG", "crawler=debug");
        command.arg("--config").arg(&config);
        let mut daemon = Daemon::start(command);
        daemon.wait_for("started:");
        daemon
    };
    let stop = |mut daemon: Daemon| {
        daemon.signal(libc::SIGTERM);
        assert_eq!(daemon.wait_exit(), Some(0));
        daemon.all_lines()
    };
    let skipped = |lines: &[String]| lines.iter().any(|line| line.contains("not listed again"));

    let daemon = start_debug();
    wait_until("both seeds recorded", || records(&workspace).len() >= 2);
    let lines = stop(daemon);
    assert!(!skipped(&lines), "{lines:?}");

    // The same list: the start does not list it again, nothing is due.
    let lines = stop(start_debug());
    assert!(skipped(&lines), "{lines:?}");
    assert_eq!((server.hits("/p0"), server.hits("/p1")), (1, 1));

    // A `--once` run of another list on the same file lists its own seeds.
    config_with_seeds_file(&workspace, &urls[2..3], extra);
    assert_eq!(crate::support::run_once(&config).status.code(), Some(0));
    assert_eq!(server.hits("/p2"), 1);

    // Back to the first list, and one more: listed again, the new seed crawled.
    let mut list = urls[..2].to_vec();
    list.push(urls[4].clone());
    config_with_seeds_file(&workspace, &list, extra);
    let daemon = start_debug();
    wait_until("the new seed", || server.hits("/p4") == 1);
    let lines = stop(daemon);
    assert!(!skipped(&lines), "{lines:?}");
}
