//! The daemon's lifecycle through real signals.

use std::time::Duration;

use crate::support::{Daemon, Reply, TestServer, Workspace, crawler, run_once};

#[test]
fn sigterm_stops_the_service_with_exit_0() {
    let server = TestServer::start(vec![("/a", Reply::html("<title>A</title>"))]);
    let workspace = Workspace::new();
    let config = workspace.config(&[server.url("/a")], "");
    let mut command = crawler();
    command.arg("--config").arg(&config);
    let mut daemon = Daemon::start(command);
    daemon.wait_for("title url=");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    assert_eq!(workspace.records("out.jsonl").len(), 1);
}

#[test]
fn sigterm_during_a_slow_fetch_writes_its_record_whole() {
    let server = TestServer::start(vec![
        ("/slow", Reply::Stall(Duration::from_secs(3))),
        ("/fast", Reply::html("<title>Fast</title>")),
    ]);
    let workspace = Workspace::new();
    let config = workspace.config(
        &[server.url("/slow"), server.url("/fast")],
        "request_timeout = \"2s\"",
    );
    let mut command = crawler();
    command.arg("--once").arg("--config").arg(&config);
    let mut daemon = Daemon::start(command);
    daemon.wait_for("title url=");
    daemon.signal(libc::SIGTERM);
    daemon.wait_for("SIGTERM received");
    assert_eq!(daemon.wait_exit(), Some(0));
    let text = std::fs::read_to_string(workspace.path("out.jsonl")).unwrap();
    assert!(text.ends_with('\n'), "no partial line: {text:?}");
    let records = workspace.records("out.jsonl");
    assert_eq!(
        records.len(),
        2,
        "the in-flight fetch finished and was written"
    );
}

#[test]
fn a_second_sigterm_exits_at_once() {
    let server = TestServer::start(vec![("/slow", Reply::Stall(Duration::from_secs(30)))]);
    let workspace = Workspace::new();
    let config = workspace.config(&[server.url("/slow")], "request_timeout = \"60s\"");
    let mut command = crawler();
    command.arg("--config").arg(&config);
    let mut daemon = Daemon::start(command);
    daemon.wait_for("started");
    // Give the worker a moment to take the job; the server counts the request.
    let deadline = std::time::Instant::now() + crate::support::DEADLINE;
    while server.hits("/slow") == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    daemon.signal(libc::SIGTERM);
    daemon.wait_for("SIGTERM received");
    daemon.signal(libc::SIGTERM);
    daemon.wait_for("exiting at once");
    assert_eq!(daemon.wait_exit(), Some(0));
}

#[test]
fn a_once_run_ends_with_one_summary_line() {
    let server = TestServer::start(vec![
        ("/a", Reply::html("<title>A</title>")),
        ("/b", Reply::html("<title>B</title>")),
        ("/gone", Reply::status(404)),
    ]);
    let workspace = Workspace::new();
    let seeds = [server.url("/a"), server.url("/b"), server.url("/gone")];
    let config = workspace.config(&seeds, "[politeness]\nper_host_delay = \"0s\"");
    let output = run_once(&config);
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summaries: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("] done: "))
        .collect();
    assert_eq!(summaries.len(), 1, "{stderr}");
    let summary = summaries[0];
    assert!(summary.contains("INFO"), "{summary}");
    assert!(
        summary.contains("done: 3 pages in ") && summary.contains("pages/s"),
        "{summary}"
    );
    assert!(
        summary.contains("2 ok, 1 failed (http_status 1)"),
        "{summary}"
    );
}
