//! Rendering in headless Chromium (Debian's `chromium`): what scripts build
//! is what the records say, every page is requested once, the page's own
//! requests go through our fetch, and no browser outlives the daemon.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::support::*;

/// Held by each test here: one Chromium at a time, so the other tests
/// (some watch commit windows) do not share two cores with several.
static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_browser() -> std::sync::MutexGuard<'static, ()> {
    ONE_BROWSER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Settings that render every page that needs it, quickly.
const RENDER_AUTO: &str = "[render]\nmode = \"auto\"\nsettle = \"300ms\"\ntabs = 2\n";

/// A marker set on the daemon; Chromium's processes inherit it.
fn marked(marker: &str) -> std::process::Command {
    let mut command = crawler();
    command.env("TEST_RENDER_MARK", marker);
    command
}

/// The processes alive now whose environment holds `marker`.
fn processes_marked(marker: &str) -> Vec<u32> {
    let needle = format!("TEST_RENDER_MARK={marker}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let is_zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        });
        if !is_zombie
            && environ
                .split(|byte| *byte == 0)
                .any(|var| var == needle.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

/// Waits until no process holds `marker`, failing after a few seconds.
fn assert_no_browser_left(marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_marked(marker);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "browser processes outlived the daemon: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn utf8(html: &str) -> Reply {
    Reply::with_type("text/html; charset=utf-8", html.as_bytes())
}

fn js(body: &str) -> Reply {
    Reply::with_type("application/javascript", body.as_bytes())
}

fn run_marked(config: &std::path::Path, marker: &str) -> std::process::Output {
    run_once_with(marked(marker), config)
}

#[test]
fn titles_and_links_are_what_scripts_build() {
    let _browser = one_browser();
    let shell = "<title>Loading…</title><div id=\"root\"></div><script src=\"/app.js\"></script>";
    let site = TestServer::start(vec![
        (
            "/",
            Reply::html(
                "<title>Home</title><p>An index of the cases, long enough to be a page of text and not a shell.</p>\
                 <a href=/inline.html>1</a><a href=/after-load.html>2</a><a href=/timer.html>3</a>\
                 <a href=/fetch.html>4</a><a href=/app/one>5</a><a href=/app/two>6</a><a href=/throws.html>7</a>\
                 <a href=/dialog.html>8</a><a href=/moves.html>9</a><a href=/static.html>10</a><a href=/images.html>11</a>",
            ),
        ),
        (
            "/inline.html",
            Reply::html("<title>Static</title><script>document.title = 'Inline'</script><p>x</p>"),
        ),
        (
            "/after-load.html",
            Reply::html(
                "<title>Static</title><script>addEventListener('load', () => { document.title = 'After load' })</script>",
            ),
        ),
        (
            "/timer.html",
            Reply::html(
                "<title>Static</title><script>setTimeout(() => { document.title = 'After a timer' }, 100)</script>",
            ),
        ),
        (
            "/fetch.html",
            Reply::html(
                "<title>Static</title><script>fetch('/data.json').then(r => r.json()).then(d => { document.title = d.title })</script>",
            ),
        ),
        (
            "/data.json",
            Reply::with_type("application/json", br#"{"title": "From a fetch"}"#),
        ),
        ("/app/one", utf8(shell)),
        ("/app/two", utf8(shell)),
        (
            "/app.js",
            js("const name = location.pathname.split('/').pop();\
                document.title = 'App ' + name;\
                document.getElementById('root').innerHTML = '<nav><a href=\"/made-by-script.html\">made</a> <a href=\"/nofollow.html\" rel=\"nofollow\">n</a></nav>';"),
        ),
        (
            "/made-by-script.html",
            Reply::html("<title>Made by script</title>"),
        ),
        ("/nofollow.html", Reply::html("<title>Nofollow</title>")),
        (
            "/throws.html",
            Reply::html(
                "<title>Static</title><script>document.title = 'Before the throw'; throw new Error('boom')</script>",
            ),
        ),
        (
            "/dialog.html",
            Reply::html(
                "<title>Static</title><script>alert('hello'); confirm('sure?'); document.title = 'After dialogs'</script>",
            ),
        ),
        (
            "/moves.html",
            Reply::html(
                "<title>Moving</title><p>text</p><a href=/>home</a><script>location.href = '/target.html'</script>",
            ),
        ),
        (
            "/target.html",
            Reply::html("<title>Target</title><p>arrived</p>"),
        ),
        (
            "/static.html",
            Reply::html(
                "<title>Plain</title><script>window.dataLayer = []</script><p>Some text of a static page, with a link.</p><a href=/>home</a>",
            ),
        ),
        (
            "/images.html",
            Reply::html(
                "<title>Images</title><script>document.title = 'Images rendered'</script><img src=/photo.png><link rel=stylesheet href=/style.css>",
            ),
        ),
        (
            "/style.css",
            Reply::with_type("text/css", b"body { color: black }"),
        ),
        ("/photo.png", Reply::with_type("image/png", b"\x89PNG")),
    ]);
    let workspace = Workspace::new();
    let config = workspace.config(
        &[site.url("/")],
        &format!("[crawl]\nmax_depth = 2\n{RENDER_AUTO}"),
    );
    let marker = "titles";
    let output = run_marked(&config, marker);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records = by_url(&workspace.records("out.jsonl"));
    let title = |path: &str| {
        records[&site.url(path)]["title"]
            .as_str()
            .map(str::to_owned)
    };
    let expected = [
        ("/inline.html", "Inline"),
        ("/after-load.html", "After load"),
        ("/timer.html", "After a timer"),
        ("/fetch.html", "From a fetch"),
        ("/app/one", "App one"),
        ("/app/two", "App two"),
        ("/throws.html", "Before the throw"),
        ("/dialog.html", "After dialogs"),
        ("/moves.html", "Target"),
        ("/images.html", "Images rendered"),
        ("/made-by-script.html", "Made by script"),
    ];
    for (path, want) in expected {
        assert_eq!(
            title(path).as_deref(),
            Some(want),
            "{path}: {}",
            records[&site.url(path)]
        );
        let record = &records[&site.url(path)];
        if path != "/made-by-script.html" {
            assert_eq!(record["rendered"], true, "{record}");
            assert_eq!(record["render_error"], serde_json::Value::Null, "{record}");
            assert!(record.get("static_title").is_some(), "{record}");
        }
    }
    assert_eq!(records[&site.url("/app/one")]["static_title"], "Loading…");
    // A navigation by script is followed like a redirect.
    assert_eq!(
        records[&site.url("/moves.html")]["final_url"].as_str(),
        Some(site.url("/target.html").as_str())
    );
    // Static pages are not rendered, with or without harmless scripts.
    for path in ["/", "/static.html", "/made-by-script.html"] {
        let record = &records[&site.url(path)];
        assert_eq!(record["rendered"], false, "{record}");
        assert!(record.get("static_title").is_none(), "{record}");
    }
    // Links made by script are the record's links, and followed (not the nofollow one).
    let links: Vec<&str> = records[&site.url("/app/one")]["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|link| link.as_str())
        .collect();
    assert_eq!(
        links,
        [site.url("/made-by-script.html"), site.url("/nofollow.html")]
    );
    assert!(!records.contains_key(&site.url("/nofollow.html")));
    // Each page requested once; the shared bundle and the data once;
    // images never (blocked), a style sheet once.
    let hits = site.all_hits();
    for path in [
        "/",
        "/inline.html",
        "/app/one",
        "/app/two",
        "/moves.html",
        "/target.html",
        "/fetch.html",
    ] {
        assert_eq!(hits.get(path).copied(), Some(1), "{path}: {hits:?}");
    }
    assert_eq!(hits.get("/app.js").copied(), Some(1), "{hits:?}");
    assert_eq!(hits.get("/data.json").copied(), Some(1), "{hits:?}");
    assert_eq!(hits.get("/style.css").copied(), Some(1), "{hits:?}");
    assert_eq!(hits.get("/photo.png"), None, "{hits:?}");
    assert_no_browser_left(marker);
}

#[test]
fn a_page_that_never_settles_keeps_its_static_result() {
    let _browser = one_browser();
    let site = TestServer::start(vec![
        (
            "/busy.html",
            Reply::html(
                "<title>Static busy</title><a href=/x>x</a><script>document.title = 'Never read'; setInterval(() => fetch('/poll?' + Math.random()), 50)</script>",
            ),
        ),
        ("/poll", Reply::with_type("application/json", b"{}")),
        (
            "/waiting.html",
            Reply::html(
                "<title>Static waiting</title><script>fetch('/stalled.json').then(() => { document.title = 'Never read' })</script>",
            ),
        ),
        ("/stalled.json", Reply::Stall(Duration::from_secs(8))),
        (
            "/fine.html",
            Reply::html("<title>Static</title><script>document.title = 'Fine'</script>"),
        ),
    ]);
    let workspace = Workspace::new();
    let config = workspace.config(
        &[
            site.url("/busy.html"),
            site.url("/waiting.html"),
            site.url("/fine.html"),
        ],
        "[render]\nmode = \"auto\"\ntimeout = \"3s\"\nsettle = \"300ms\"\n[retry]\nmax_retries = 0\n",
    );
    let output = run_marked(&config, "busy");
    assert_eq!(output.status.code(), Some(0));
    let records = by_url(&workspace.records("out.jsonl"));
    let busy = &records[&site.url("/busy.html")];
    assert_eq!(busy["rendered"], false, "{busy}");
    assert_eq!(busy["title"], "Static busy", "{busy}");
    assert_eq!(busy["static_title"], "Static busy", "{busy}");
    assert_eq!(busy["error"], serde_json::Value::Null, "{busy}");
    assert!(
        busy["render_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("timeout: ")),
        "{busy}"
    );
    assert_eq!(busy["links"], serde_json::Value::Null);
    // The timeout says what the page was still waited for.
    let waiting = &records[&site.url("/waiting.html")];
    assert_eq!(waiting["title"], "Static waiting", "{waiting}");
    let why = waiting["render_error"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("timeout: the page did not settle within 3s (render.timeout): ")
            && why.contains(&format!(
                "1 request unanswered: `{}`",
                site.url("/stalled.json")
            )),
        "{waiting}"
    );
    let fine = &records[&site.url("/fine.html")];
    assert_eq!(
        (fine["title"].as_str(), fine["rendered"].as_bool()),
        (Some("Fine"), Some(true))
    );
    assert_no_browser_left("busy");
}

#[test]
fn a_public_pages_scripts_cannot_reach_private_addresses() {
    let _browser = one_browser();
    let private = TestServer::start(vec![(
        "/secret.json",
        Reply::with_type("application/json", b"{\"title\":\"Secret\"}"),
    )]);
    let public = TestServer::start_on("127.0.0.2", vec![]);
    let page = format!(
        "<title>Public</title><script>document.title = 'Rendered'; fetch('{}').then(r => r.json()).then(d => {{ document.title = d.title }}); const i = document.createElement('iframe'); i.src = '{}'; document.body.append(i)</script>",
        private.url("/secret.json"),
        private.url("/secret.json?frame")
    );
    public.set("/", Reply::html(&page));
    let workspace = Workspace::new();
    let config = workspace.config(
        &[public.url("/")],
        "[render]\nmode = \"always\"\nsettle = \"300ms\"\n",
    );
    let mut command = marked("guard");
    command.env("TEST_CRAWLER_PUBLIC_ADDRESSES", "127.0.0.2");
    let output = run_once_with(command, &config);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        private.all_hits(),
        HashMap::new(),
        "nothing reached the private host"
    );
    let records = workspace.records("out.jsonl");
    assert_eq!(records[0]["title"], "Rendered", "{}", records[0]);
    assert_eq!(records[0]["rendered"], true);
    assert_eq!(public.hits("/"), 1);
}

#[test]
fn the_browser_killed_mid_crawl_costs_only_the_pages_it_held() {
    let _browser = one_browser();
    let mut routes = Vec::new();
    let slow = "<title>Static</title><script>fetch('/slow?' + location.pathname).then(() => { document.title = 'Rendered' })</script>";
    let paths: Vec<String> = (0..16).map(|n| format!("/page{n}.html")).collect();
    for path in &paths {
        routes.push((path.as_str(), Reply::html(slow)));
    }
    let answer = Reply::with_type("application/json", b"{}");
    routes.push((
        "/slow",
        Reply::Slow(Duration::from_millis(300), Box::new(answer)),
    ));
    let site = TestServer::start(routes);
    let seeds: Vec<String> = paths.iter().map(|path| site.url(path)).collect();
    let workspace = Workspace::new();
    let config = workspace.config(
        &seeds,
        "[render]\nmode = \"auto\"\ntabs = 1\nsettle = \"200ms\"\n",
    );
    let marker = "killed";
    let mut daemon = Daemon::start({
        let mut command = marked(marker);
        command.arg("--once").arg("--config").arg(&config);
        command
    });
    daemon.wait_for("render: started");
    daemon.wait_for("title=\"Rendered\"");
    for pid in processes_marked(marker) {
        // The daemon carries the marker too: kill only Chromium's processes.
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() != "crawler" {
            // SAFETY: signalling a process we found by its environment.
            unsafe { libc::kill(i32::try_from(pid).expect("pid"), libc::SIGKILL) };
        }
    }
    assert_eq!(daemon.wait_exit(), Some(0));
    let records = by_url(&workspace.records("out.jsonl"));
    assert_eq!(records.len(), 16, "every page has its record");
    let crashed: Vec<&serde_json::Value> = records
        .values()
        .filter(|record| record["rendered"] == false)
        .collect();
    for record in &crashed {
        assert!(
            record["render_error"]
                .as_str()
                .is_some_and(|e| e.starts_with("crash: ") || e.starts_with("browser: ")),
            "{record}"
        );
        assert_eq!(record["title"], "Static");
    }
    assert!(!crashed.is_empty(), "the kill cost a render");
    assert!(
        crashed.len() <= 2,
        "only the page being rendered: {crashed:?}"
    );
    assert!(
        records
            .values()
            .filter(|record| record["rendered"] == true)
            .count()
            >= 14,
        "later pages render again in a new browser"
    );
    assert_no_browser_left(marker);
}

#[test]
fn no_browser_outlives_the_daemon_on_sigterm_or_sigkill() {
    let _browser = one_browser();
    let site = TestServer::start(vec![(
        "/",
        Reply::html("<title>Static</title><script>document.title = 'Rendered'</script>"),
    )]);
    for (signal, marker) in [(libc::SIGTERM, "sigterm"), (libc::SIGKILL, "sigkill")] {
        let workspace = Workspace::new();
        let config = workspace.config(
            &[site.url("/")],
            "recrawl_interval = \"1h\"\n[render]\nmode = \"auto\"\n",
        );
        let mut daemon = Daemon::start({
            let mut command = marked(marker);
            command.arg("--config").arg(&config);
            command
        });
        daemon.wait_for("title=\"Rendered\"");
        assert!(processes_marked(marker).len() > 1, "the browser runs");
        daemon.signal(signal);
        daemon.wait_exit();
        assert_no_browser_left(marker);
    }
}

#[test]
fn without_a_browser_check_and_start_say_how_to_install_one() {
    let _browser = one_browser();
    let workspace = Workspace::new();
    let config = workspace.config(
        &["http://127.0.0.1:9/".to_owned()],
        "[render]\nmode = \"auto\"\nbrowser = \"/nonexistent/chromium\"\n",
    );
    for args in [vec!["check"], vec!["--once"]] {
        let output = crawler()
            .args(&args)
            .arg("--config")
            .arg(&config)
            .output()
            .expect("run crawler");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stdout}{stderr}");
        assert!(
            format!("{stdout}{stderr}").contains("apt-get install chromium"),
            "{args:?}: {stdout}{stderr}"
        );
    }
    // With rendering off no browser is needed.
    let config = workspace.config(
        &["http://127.0.0.1:9/".to_owned()],
        "[render]\nbrowser = \"/nonexistent/chromium\"\n",
    );
    let output = crawler()
        .arg("check")
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn title_and_links_render_on_request() {
    let _browser = one_browser();
    let site = TestServer::start(vec![
        (
            "/",
            utf8("<title>Loading…</title><div id=root></div><script src=/app.js></script>"),
        ),
        (
            "/app.js",
            js(
                "document.title = 'Built'; document.getElementById('root').innerHTML = '<a href=\"/made\">m</a>'",
            ),
        ),
    ]);
    let output = crawler()
        .args(["title", "--render", &site.url("/")])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["Built", "static title: Loading…"]
    );
    let output = crawler()
        .args(["title", &site.url("/")])
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "Loading…");
    let output = crawler()
        .args(["links", "--render", &site.url("/")])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with(&format!("{}\t", site.url("/made"))),
        "{stdout}"
    );
}

/// Cases whose title changes late in the settle window, through each thing
/// the page can still have to do; a page read too early shows `Static`.
fn late_cases() -> Vec<(&'static str, Reply, &'static str)> {
    let page = |script: &str| {
        Reply::html(&format!(
            "<title>Static</title><p>x</p><script>{script}</script>"
        ))
    };
    vec![
        ("/simple", page("document.title = 'Simple'"), "Simple"),
        (
            "/long-timer",
            page(
                "document.title = 'Soon'; setTimeout(() => { fetch('/stale'); document.title = 'Too late' }, 2500)",
            ),
            "Soon",
        ),
        (
            "/timer",
            page("setTimeout(() => { document.title = 'Timer' }, 600)"),
            "Timer",
        ),
        (
            "/string-timer",
            page("setTimeout(\"document.title = 'String timer'\", 600)"),
            "String timer",
        ),
        (
            "/chain",
            page(
                "fetch('/data.json').then(r => r.json()).then(d => setTimeout(() => { document.title = d.title }, 400))",
            ),
            "Chain",
        ),
        (
            "/awaited",
            page(
                "(async () => { for (const ms of [300, 300]) await new Promise(r => setTimeout(r, ms)); document.title = 'Awaited' })()",
            ),
            "Awaited",
        ),
        (
            "/xhr",
            page(
                "const x = new XMLHttpRequest(); x.open('GET', '/data.json'); x.onload = () => setTimeout(() => { document.title = 'XHR' }, 300); x.send()",
            ),
            "XHR",
        ),
        (
            "/idle-callback",
            page(
                "requestIdleCallback(() => setTimeout(() => { document.title = 'Idle callback' }, 300))",
            ),
            "Idle callback",
        ),
        (
            "/channel",
            page(
                "const c = new MessageChannel(); c.port1.onmessage = () => setTimeout(() => { document.title = 'Channel' }, 300); c.port2.postMessage(1)",
            ),
            "Channel",
        ),
        (
            "/worker",
            page("new Worker('/worker.js').onmessage = (e) => { document.title = e.data }"),
            "Worker",
        ),
        (
            "/frame",
            page(
                "const f = document.createElement('iframe'); f.src = '/child.html'; document.body.append(f)",
            ),
            "From a frame",
        ),
        (
            "/injected",
            page(
                "addEventListener('load', () => { const s = document.createElement('script'); s.src = '/late.js'; document.body.append(s) })",
            ),
            "Injected",
        ),
        (
            "/module",
            Reply::html(
                "<title>Static</title><p>x</p><script type=module>addEventListener('load', () => import('/chunk.js').then((m) => { document.title = m.title }))</script>",
            ),
            "Module",
        ),
        (
            "/refresh",
            Reply::html(
                "<title>Static</title><meta http-equiv=refresh content=\"0.6; url=/refreshed.html\"><p>x</p>",
            ),
            "Refreshed",
        ),
    ]
}

#[test]
fn a_page_is_read_early_only_when_nothing_can_change_it() {
    let _browser = one_browser();
    let cases = late_cases();
    let mut routes: Vec<(&str, Reply)> = cases
        .iter()
        .map(|(path, reply, _)| (*path, reply.clone()))
        .collect();
    routes.extend([
        (
            "/data.json",
            Reply::with_type("application/json", br#"{"title": "Chain"}"#),
        ),
        ("/late.js", js("document.title = 'Injected'")),
        ("/chunk.js", js("export const title = 'Module'")),
        (
            "/worker.js",
            js("setTimeout(() => postMessage('Worker'), 600)"),
        ),
        (
            "/child.html",
            Reply::html("<script>setTimeout(() => { parent.document.title = 'From a frame' }, 600)</script>"),
        ),
        (
            "/refreshed.html",
            Reply::html("<title>Refreshed</title><p>arrived</p>"),
        ),
    ]);
    let site = TestServer::start(routes);
    let seeds: Vec<String> = cases.iter().map(|(path, _, _)| site.url(path)).collect();
    let metrics = crate::observability::free_address();
    let workspace = Workspace::new();
    // A wide window: a page read before its last change would show it.
    let config = workspace.config(
        &seeds,
        &format!(
            "[render]\nmode = \"always\"\nsettle = \"2s\"\ntabs = 4\n[metrics]\nlisten = \"{metrics}\"\n"
        ),
    );
    let mut command = marked("early");
    command.arg("--config").arg(&config);
    let mut daemon = Daemon::start(command);
    daemon.wait_for_n("crawler::output]", seeds.len());
    let records = by_url(&workspace.records("out.jsonl"));
    for (path, _, want) in &cases {
        let record = records.get(&site.url(path)).unwrap_or_else(|| {
            panic!(
                "{path}: no record; records {records:#?}; log:\n{}",
                daemon.all_lines().join("\n")
            )
        });
        assert_eq!(record["title"].as_str(), Some(*want), "{path}: {record}");
        assert_eq!(record["rendered"], true, "{path}: {record}");
    }
    let (_, text) = crate::observability::get(metrics, "/metrics");
    let samples = crate::observability::parse_exposition(&text);
    let count = |series: &str| samples.get(series).copied().unwrap_or(0.0);
    let idle = count("crawler_render_settled_total{how=\"idle\"}");
    let quiet = count("crawler_render_settled_total{how=\"quiet\"}");
    // The worker's and the frame's pages wait the whole window; every
    // other one is read as soon as it is done (the refresh's target too).
    assert_eq!(quiet, 2.0, "{text}");
    assert_eq!(idle, seeds.len() as f64 - 2.0, "{text}");
    let renders = count("crawler_renders_total{result=\"ok\"}");
    assert_eq!(idle + quiet, renders, "{text}");
    assert_eq!(renders, seeds.len() as f64, "{text}");
    assert_eq!(
        count("crawler_render_decisions_total{decision=\"render\",reason=\"always\"}"),
        seeds.len() as f64,
        "{text}"
    );
    // The long timer fires, if ever, after the page was read: its tab is
    // parked or rendering another page, and the request reaches no server.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(site.hits("/stale"), 0);
    drop(daemon);
    assert_no_browser_left("early");
}

/// Waits (at most 20 s) for a record of `url` that `matches`, among the
/// records after the first `skip`.
fn wait_for_record(
    workspace: &Workspace,
    url: &str,
    skip: usize,
    matches: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let records = workspace.records("out.jsonl");
        let found = records
            .iter()
            .skip(skip)
            .find(|r| r["url"] == url && matches(r));
        if let Some(found) = found {
            return found.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no such record of {url}: {records:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn render_settings_reload_live_and_a_bad_edit_keeps_the_last_good() {
    let _browser = one_browser();
    let site = TestServer::start(vec![(
        "/page",
        Reply::html("<title>Static</title><p>x</p><script>document.title = 'Rendered'</script>"),
    )]);
    let page = site.url("/page");
    let workspace = Workspace::new();
    let write = |render: &str| {
        workspace.config(
            std::slice::from_ref(&page),
            &format!("recrawl_interval = \"1s\"\n[render]\n{render}"),
        )
    };
    let config = write("mode = \"never\"\n");
    let mut command = marked("reload");
    command.arg("--config").arg(&config);
    let mut daemon = Daemon::start(command);
    let first = wait_for_record(&workspace, &page, 0, |_| true);
    assert_eq!(
        (first["title"].as_str(), first["rendered"].as_bool()),
        (Some("Static"), Some(false))
    );
    assert!(
        processes_marked("reload").len() == 1,
        "a browser started with mode = \"never\""
    );

    write("mode = \"auto\"\ntabs = 0\n");
    let line = daemon.wait_for("reload rejected");
    assert!(line.contains("render.tabs"), "{line}");
    daemon.wait_for(&format!("title url={page} "));
    let records = workspace.records("out.jsonl");
    assert!(
        records.iter().all(|r| r["rendered"] == false),
        "{records:?}"
    );

    write("mode = \"auto\"\nsettle = \"200ms\"\n");
    daemon.wait_for("reloaded");
    let rendered = wait_for_record(&workspace, &page, 0, |r| r["rendered"] == true);
    assert_eq!(rendered["title"], "Rendered", "{rendered}");
    assert_eq!(rendered["static_title"], "Static", "{rendered}");

    // Back to "never": the page's title is the HTML's again.
    let seen = workspace.records("out.jsonl").len();
    write("mode = \"never\"\n");
    daemon.wait_for("reloaded");
    wait_for_record(&workspace, &page, seen, |r| {
        r["rendered"] == false && r["title"] == "Static"
    });
    drop(daemon);
    assert_no_browser_left("reload");

    // A reload that turns rendering on without a browser is refused.
    let config = write("mode = \"never\"\nbrowser = \"/nonexistent/chromium\"\n");
    let mut command = marked("reload-none");
    command.arg("--config").arg(&config);
    let mut daemon = Daemon::start(command);
    daemon.wait_for(&format!("title url={page} "));
    write("mode = \"auto\"\nbrowser = \"/nonexistent/chromium\"\n");
    let line = daemon.wait_for("reload rejected");
    assert!(line.contains("render.mode"), "{line}");
    assert!(line.contains("/nonexistent/chromium"), "{line}");
    daemon.wait_for(&format!("title url={page} "));
}
