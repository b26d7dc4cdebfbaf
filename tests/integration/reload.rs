//! The service follows its config file: edits, bad edits, SIGHUP, and the
//! recrawl schedule with title-change detection across restarts.

use std::path::Path;

use crate::support::{Daemon, POLITENESS_OFF, Reply, TestServer, Workspace, crawler};

fn page(title: &str) -> Reply {
    Reply::html(&format!("<title>{title}</title>"))
}

/// A config text with `seeds`, the given extra lines, and the JSONL output.
fn config_text(seeds: &[&String], extra: &str) -> String {
    let quoted: Vec<String> = seeds.iter().map(|seed| format!("{seed:?}")).collect();
    format!(
        "seeds = [{}]\n{extra}\n[output]\njsonl = \"out.jsonl\"\n{POLITENESS_OFF}",
        quoted.join(", ")
    )
}

fn start_service(config: &Path) -> Daemon {
    let mut command = crawler();
    command.arg("--config").arg(config);
    let mut daemon = Daemon::start(command);
    daemon.wait_for("started:");
    daemon
}

/// Saves `text` the way many editors do: write a temp file, rename it over.
fn save_by_rename(path: &Path, text: &str) {
    let temp = path.with_extension("toml.tmp");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

#[test]
fn edits_add_and_remove_seeds_live() {
    let server = TestServer::start(vec![
        ("/a", page("A")),
        ("/b", page("B")),
        ("/c", page("C")),
    ]);
    let (a, b, c) = (server.url("/a"), server.url("/b"), server.url("/c"));
    let workspace = Workspace::new();
    let extra = "recrawl_interval = \"1s\"\nworkers = 2";
    let config = workspace.write("crawler.toml", &config_text(&[&a, &b], extra));
    let mut daemon = start_service(&config);
    daemon.wait_for(&format!("title url={b} "));

    // Add a seed by rewriting the file in place.
    std::fs::write(&config, config_text(&[&a, &b, &c], extra)).unwrap();
    let line = daemon.wait_for("reloaded");
    assert!(line.contains("seeds +1 -0"), "{line}");
    daemon.wait_for(&format!("title url={c} "));

    // Remove one by saving through a rename, as editors do.
    save_by_rename(&config, &config_text(&[&a, &c], extra));
    let line = daemon.wait_for("reloaded");
    assert!(line.contains("seeds +0 -1"), "{line}");
    // A fetch of /b claimed before the reload still finishes: count after
    // the next round of the remaining seeds.
    daemon.wait_for(&format!("title url={a} "));
    let hits_of_b = server.hits("/b");
    // Two more rounds of the remaining seeds: /b is no longer fetched.
    daemon.wait_for_n(&format!("title url={a} "), 2);
    assert_eq!(
        server.hits("/b"),
        hits_of_b,
        "a removed seed was fetched again"
    );
}

#[test]
fn bad_edits_are_refused_and_the_old_config_keeps_running() {
    let server = TestServer::start(vec![("/a", page("A"))]);
    let a = server.url("/a");
    let workspace = Workspace::new();
    let extra = "recrawl_interval = \"1s\"";
    let config = workspace.write("crawler.toml", &config_text(&[&a], extra));
    let mut daemon = start_service(&config);
    daemon.wait_for(&format!("title url={a} "));

    let bad_edits = [
        (
            "seeds = [\"http://127.0.0.1/\"\nworkers = \n",
            "TOML parse error",
        ),
        (
            &*config_text(&[&a], "wrokers = 3"),
            "`wrokers`: unknown key",
        ),
        (
            &*config_text(&[&a, &"htp:/x".to_owned()], extra),
            "`seeds[1]`",
        ),
    ];
    for (text, expected) in bad_edits {
        std::fs::write(&config, text).unwrap();
        let line = daemon.wait_for("reload rejected");
        assert!(line.contains("ERROR"), "{line}");
        assert!(line.contains(expected), "expected {expected:?} in {line}");
        assert!(line.contains("crawler.toml"), "file not named: {line}");
        // Still crawling on the last good config.
        daemon.wait_for(&format!("title url={a} "));
    }
    // A good edit after bad ones applies.
    std::fs::write(&config, config_text(&[&a], "recrawl_interval = \"2s\"")).unwrap();
    let line = daemon.wait_for("reloaded");
    assert!(line.contains("recrawl_interval 1s → 2s"), "{line}");
}

#[test]
fn workers_and_client_settings_change_live_and_sighup_reloads() {
    let server = TestServer::start(vec![("/a", page("A"))]);
    let a = server.url("/a");
    let workspace = Workspace::new();
    let config = workspace.write("crawler.toml", &config_text(&[&a], "workers = 2"));
    let mut daemon = start_service(&config);
    daemon.wait_for(&format!("title url={a} "));

    std::fs::write(
        &config,
        config_text(
            &[&a],
            "workers = 5\nrequest_timeout = \"5s\"\nqueue_capacity = 8",
        ),
    )
    .unwrap();
    let warn = daemon.wait_for("queue_capacity");
    assert!(warn.contains("WARN") && warn.contains("restart"), "{warn}");
    let line = daemon.wait_for("reloaded");
    assert!(line.contains("workers 2 → 5"), "{line}");
    assert!(line.contains("request_timeout 30s → 5s"), "{line}");
    assert!(
        !line.contains("queue_capacity"),
        "restart-only key reported as applied: {line}"
    );

    daemon.signal(libc::SIGHUP);
    let line = daemon.wait_for("reloaded");
    assert!(line.contains("no settings changed"), "{line}");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
}

#[test]
fn title_changes_are_reported_and_a_restart_reports_none_falsely() {
    let server = TestServer::start(vec![("/a", page("First")), ("/b", page("Stable"))]);
    let (a, b) = (server.url("/a"), server.url("/b"));
    let workspace = Workspace::new();
    let config = workspace.write(
        "crawler.toml",
        &config_text(&[&a, &b], "recrawl_interval = \"1s\""),
    );
    let mut daemon = start_service(&config);
    daemon.wait_for(&format!("title url={a} status=200 title=\"First\""));
    server.set("/a", page("Second"));
    let line = daemon.wait_for("title changed");
    assert!(
        line.contains(&format!("url={a} from=\"First\" to=\"Second\"")),
        "{line}"
    );
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    let records = workspace.records("out.jsonl");
    let changed: Vec<_> = records.iter().filter(|r| r["changed"] == true).collect();
    assert!(!changed.is_empty());
    assert_eq!(changed[0]["previous_title"], "First");
    assert_eq!(changed[0]["title"], "Second");

    // Restart with the state file: both seeds are fetched again, nothing "changed".
    let before = workspace.records("out.jsonl").len();
    std::fs::write(&config, config_text(&[&a, &b], "recrawl_interval = \"0s\"")).unwrap();
    let mut daemon = start_service(&config);
    daemon.wait_for_n("title url=", 2);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    let after = workspace.records("out.jsonl");
    assert!(after.len() >= before + 2);
    assert!(
        after[before..].iter().all(|r| r["changed"] == false),
        "false change after restart: {:#?}",
        &after[before..]
    );
    assert!(
        !daemon
            .seen
            .iter()
            .any(|line| line.contains("title changed"))
    );
}

#[test]
fn sigusr1_reopens_the_output_for_log_rotation() {
    let server = TestServer::start(vec![("/a", page("A"))]);
    let a = server.url("/a");
    let workspace = Workspace::new();
    let config = workspace.write(
        "crawler.toml",
        &config_text(&[&a], "recrawl_interval = \"1s\""),
    );
    let mut daemon = start_service(&config);
    daemon.wait_for(&format!("title url={a} "));
    std::fs::rename(workspace.path("out.jsonl"), workspace.path("out.jsonl.1")).unwrap();
    daemon.signal(libc::SIGUSR1);
    daemon.wait_for("output: writing to");
    daemon.wait_for(&format!("title url={a} "));
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Some(0));
    assert!(
        !workspace.records("out.jsonl").is_empty(),
        "new file written after reopen"
    );
    assert!(
        !workspace.records("out.jsonl.1").is_empty(),
        "rotated file kept its lines"
    );
}

#[test]
fn editing_the_seeds_file_reloads_too() {
    let server = TestServer::start(vec![("/a", page("A")), ("/b", page("B"))]);
    let (a, b) = (server.url("/a"), server.url("/b"));
    let workspace = Workspace::new();
    let seeds = workspace.write("seeds.txt", &format!("{a}\n"));
    let config = workspace.write(
        "crawler.toml",
        "seeds_file = \"seeds.txt\"\nrecrawl_interval = \"1h\"\n[output]\njsonl = \"out.jsonl\"\n",
    );
    let mut daemon = start_service(&config);
    daemon.wait_for(&format!("title url={a} "));
    std::fs::write(&seeds, format!("{a}\n# added:\n{b}\n")).unwrap();
    let line = daemon.wait_for("reloaded");
    assert!(line.contains("seeds +1 -0, 2 in all"), "{line}");
    daemon.wait_for(&format!("title url={b} "));
    assert_eq!(
        server.hits("/a"),
        1,
        "an unchanged seed is not refetched before its interval"
    );
}
