//! The daemon's lifecycle through real signals.

use std::time::Duration;

use crate::support::{Daemon, Reply, TestServer, Workspace, crawler};

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
