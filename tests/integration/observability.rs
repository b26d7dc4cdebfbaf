//! Observability: /metrics matches the JSON records, /healthz reports reloads,
//! a taken port is a clear startup error, and the progress bar stays off pipes.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{
    Daemon, POLITENESS_OFF, Reply, TestServer, Workspace, crawler, error_of, run_once,
};

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// `GET path` on `address`: status code and body.
pub fn get(address: SocketAddr, path: &str) -> (u16, String) {
    get_within(address, path, Duration::from_secs(10))
}

/// `GET path` on `address`, waiting at most `wait` for the answer: status
/// code and body.
pub fn get_within(address: SocketAddr, path: &str, wait: Duration) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect to the metrics endpoint");
    stream.set_read_timeout(Some(wait)).expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    (status, body.to_owned())
}

/// Checks the Prometheus text format strictly: every sample belongs to a
/// family with `# HELP` and `# TYPE`, names and labels are well formed, and
/// every value is a number. Returns the samples as `name{labels}` → value.
pub fn parse_exposition(text: &str) -> HashMap<String, f64> {
    let mut typed: HashMap<String, String> = HashMap::new();
    let mut samples = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            typed.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment: {line}");
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let number: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let name = series.split('{').next().unwrap_or_default();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad name in {line}"
        );
        if let Some(labels) = series.strip_prefix(name)
            && !labels.is_empty()
        {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| typed.get(*base).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name);
        assert!(typed.contains_key(family), "no # TYPE for {line}");
        samples.insert(series.to_owned(), number);
    }
    // The parser crate must read it too.
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("prometheus-parse reads it");
    assert!(!scrape.samples.is_empty());
    samples
}

fn sample(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

#[test]
fn metrics_match_the_records() {
    let server = TestServer::start(vec![
        (
            "/robots.txt",
            Reply::with_type("text/plain", b"User-agent: *\nDisallow: /private\n"),
        ),
        ("/ok1", Reply::html("<title>one</title>")),
        ("/ok2", Reply::html("<title>two</title>")),
        ("/missing", Reply::status(404)),
        ("/private", Reply::html("<title>secret</title>")),
        (
            "/flaky",
            Reply::Sequence(vec![Reply::status(503), Reply::html("<title>back</title>")]),
        ),
    ]);
    let paths = ["/ok1", "/ok2", "/missing", "/private", "/flaky"];
    let mut seeds: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    // And a host that is down: its page's record names the cause, `connect`.
    let down = free_address();
    seeds.push(format!("http://{down}/page"));
    let address = free_address();
    let workspace = Workspace::new();
    let quoted: Vec<String> = seeds.iter().map(|s| format!("{s:?}")).collect();
    let config = workspace.write(
        "crawler.toml",
        &format!(
            "seeds = [{}]\n[retry]\ninitial_backoff = \"10ms\"\n[output]\njsonl = \"out.jsonl\"\n\
             [metrics]\nlisten = \"{address}\"\n\
             [politeness]\nper_host_delay = \"0s\"\nper_host_concurrency = 0\n",
            quoted.join(", ")
        ),
    );
    let mut command = crawler();
    command.arg("--config").arg(&config);
    let mut daemon = Daemon::start(command);
    daemon.wait_for("metrics on http://");
    daemon.wait_for_n("crawler::output]", seeds.len());
    let (status, text) = get(address, "/metrics");
    assert_eq!(status, 200);
    let samples = parse_exposition(&text);
    let records: Vec<Value> = workspace.records("out.jsonl");
    assert_eq!(records.len(), seeds.len());

    let failed = records.iter().filter(|r| !r["error"].is_null()).count();
    let ok = records.len() - failed;
    assert_eq!(
        sample(&samples, "crawler_pages_total{outcome=\"ok\"}"),
        ok as f64
    );
    assert_eq!(
        sample(&samples, "crawler_pages_total{outcome=\"failed\"}"),
        failed as f64
    );
    let mut kinds: HashMap<String, f64> = HashMap::new();
    for record in &records {
        if let Some((kind, _)) = error_of(record).split_once(':') {
            *kinds.entry(kind.to_owned()).or_default() += 1.0;
        }
    }
    assert_eq!(kinds.get("robots"), Some(&1.0), "only the disallowed page");
    assert_eq!(kinds.get("http_status"), Some(&1.0));
    assert_eq!(kinds.get("connect"), Some(&1.0), "the down host's page");
    for (kind, count) in &kinds {
        let series = format!("crawler_fetch_errors_total{{kind=\"{kind}\"}}");
        assert_eq!(sample(&samples, &series), *count, "{series}");
    }
    assert_eq!(sample(&samples, "crawler_robots_denied_total"), 1.0);
    let attempts: u64 = records
        .iter()
        .map(|r| r["attempts"].as_u64().unwrap())
        .sum();
    let retries: u64 = records
        .iter()
        .map(|r| r["attempts"].as_u64().unwrap().saturating_sub(1))
        .sum();
    assert_eq!(retries, 1, "the 503 was retried once");
    assert_eq!(sample(&samples, "crawler_retries_total"), retries as f64);
    assert_eq!(
        sample(&samples, "crawler_fetch_duration_seconds_count"),
        attempts as f64
    );
    let bytes: u64 = records.iter().map(|r| r["bytes"].as_u64().unwrap()).sum();
    assert_eq!(
        sample(&samples, "crawler_fetched_bytes_total"),
        bytes as f64
    );
    assert_eq!(sample(&samples, "crawler_seeds"), 6.0);
    assert_eq!(sample(&samples, "crawler_workers"), 32.0);
    assert_eq!(sample(&samples, "crawler_hosts"), 2.0);
    assert!(sample(&samples, "crawler_start_time_seconds") > 1.0e9);

    if let Ok(mut promtool) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        promtool
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write to promtool");
        let checked = promtool.wait_with_output().expect("promtool");
        assert!(
            checked.status.success(),
            "promtool: {}",
            String::from_utf8_lossy(&checked.stdout)
        );
    }
}

#[test]
fn healthz_reports_a_failed_reload() {
    let server = TestServer::start(vec![("/a", Reply::html("<title>A</title>"))]);
    let address = free_address();
    let workspace = Workspace::new();
    let good = format!(
        "seeds = [{:?}]\n[metrics]\nlisten = \"{address}\"\n{POLITENESS_OFF}",
        server.url("/a")
    );
    let config = workspace.write("crawler.toml", &good);
    let mut command = crawler();
    command.arg("--config").arg(&config);
    let mut daemon = Daemon::start(command);
    daemon.wait_for("title url=");
    let (status, body) = get(address, "/healthz");
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(body.trim()).expect("one JSON line");
    assert_eq!(health["status"], "ok");
    assert!(
        health["up_since"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
    assert!(health["last_reload"].is_null());

    std::fs::write(&config, format!("workers = \"many\"\n{good}")).unwrap();
    daemon.wait_for("reload rejected");
    let (status, body) = get(address, "/healthz");
    assert_eq!(status, 200, "the daemon still runs on its last good config");
    let health: Value = serde_json::from_str(body.trim()).expect("one JSON line");
    assert_eq!(health["last_reload"]["ok"], false, "{health}");
    let error = health["last_reload"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("`workers`"), "{health}");
    let (_, metrics) = get(address, "/metrics");
    assert!(
        metrics.contains("crawler_config_reloads_total{result=\"error\"} 1"),
        "{metrics}"
    );

    std::fs::write(&config, &good).unwrap();
    daemon.wait_for("reloaded");
    let (_, body) = get(address, "/healthz");
    let health: Value = serde_json::from_str(body.trim()).expect("one JSON line");
    assert_eq!(health["last_reload"]["ok"], true, "{health}");
}

#[test]
fn a_port_in_use_is_a_clear_startup_error() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address");
    let workspace = Workspace::new();
    let config = workspace.config(
        &["http://127.0.0.1:9/".to_owned()],
        &format!("[metrics]\nlisten = \"{address}\""),
    );
    let output = run_once(&config);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot serve metrics on `{address}` ([metrics] listen)"
        )),
        "{stderr}"
    );
    assert!(stderr.to_lowercase().contains("in use"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn no_progress_bar_when_stderr_is_a_pipe() {
    let server = TestServer::start(vec![("/a", Reply::html("<title>A</title>"))]);
    let workspace = Workspace::new();
    let config = workspace.config(&[server.url("/a")], "");
    let output = run_once(&config);
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("title url="), "{stderr}");
    assert!(!stderr.contains('\r'), "{stderr:?}");
    assert!(!stderr.contains('\u{1b}'), "escape sequences: {stderr:?}");
    assert!(!stderr.contains("1/1 seeds"), "{stderr}");
}

#[test]
fn a_progress_bar_when_stderr_is_a_terminal() {
    let server = TestServer::start(vec![("/a", Reply::html("<title>A</title>"))]);
    let workspace = Workspace::new();
    let config = workspace.config(&[server.url("/a"), server.url("/b")], "");
    let (mut master, slave) = pty();
    let mut child = crawler()
        .env("TERM", "xterm")
        .arg("--once")
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(slave)
        .spawn()
        .expect("spawn crawler");
    // Read while the child runs, so it never blocks on a full terminal buffer.
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buffer = [0u8; 4096];
        // Ends with an error (EIO) once the child has exited and closed its side.
        while let Ok(read) = master.read(&mut buffer) {
            if read == 0 {
                break;
            }
            seen.extend_from_slice(&buffer[..read]);
        }
        seen
    });
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    let seen = reader.join().expect("reader");
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("2/2 pages"), "{text:?}");
    assert!(text.contains("1 errors"), "{text:?}");
    assert!(
        text.contains("title url="),
        "log lines still print: {text:?}"
    );
}

/// A pseudo-terminal: the master side to read, the slave side for the child.
fn pty() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new file descriptors into the out-pointers.
    let result = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(result, 0, "openpty failed");
    // SAFETY: both descriptors are fresh and owned by nobody else.
    unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    }
}

#[test]
fn metrics_listen_takes_localhost() {
    let port = free_address().port();
    let workspace = Workspace::new();
    let server = TestServer::start(vec![("/a", Reply::html("<title>A</title>"))]);
    let config = workspace.write(
        "crawler.toml",
        &format!(
            "seeds = [{:?}]\n[metrics]\nlisten = \"localhost:{port}\"\n{POLITENESS_OFF}",
            server.url("/a")
        ),
    );
    let mut command = crawler();
    command.arg("--config").arg(&config);
    let mut daemon = Daemon::start(command);
    let line = daemon.wait_for("metrics on http://");
    let (status, _) = get(([127, 0, 0, 1], port).into(), "/healthz");
    assert_eq!(status, 200, "{line}");
}
