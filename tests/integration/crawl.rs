//! `crawler --once` end to end against a local server: records, log lines, errors.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::Value;

use crate::support::{
    POLITENESS_OFF, Reply, TestServer, Workspace, by_url, crawl_once, error_of, run_once,
};

fn shift_jis_page() -> Vec<u8> {
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("<title>日本語のタイトル</title>");
    bytes.into_owned()
}

fn windows_1251_page() -> Vec<u8> {
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(
        "<html><head><meta charset=\"windows-1251\"><title>Привет, мир</title></head></html>",
    );
    bytes.into_owned()
}

fn fixture_server() -> TestServer {
    TestServer::start(vec![
        ("/plain", Reply::html("<html><head><title> Hello &amp;\n  World </title></head></html>")),
        ("/none", Reply::html("<html><body>no title here</body></html>")),
        ("/empty", Reply::html("<title></title>")),
        ("/svg", Reply::html("<body><svg><title>Icon</title></svg><title>Real</title></body>")),
        ("/sjis", Reply::with_type("text/html; charset=Shift_JIS", &shift_jis_page())),
        ("/cp1251", Reply::with_type("text/html", &windows_1251_page())),
        ("/bom", Reply::with_type("text/html; charset=windows-1252", b"\xEF\xBB\xBF<title>caf\xC3\xA9</title>")),
        (
            "/xhtml",
            Reply::with_type(
                "application/xhtml+xml",
                b"<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title><![CDATA[A & B]]></title></head></html>",
            ),
        ),
        ("/untyped", Reply::untyped("<title>No header</title>")),
        ("/text", Reply::with_type("text/plain", b"<title>not html</title>")),
        ("/missing", Reply::status(404)),
        ("/broken", Reply::status(500)),
        ("/hop", Reply::redirect(302, "/plain#frag")),
        ("/loop", Reply::redirect(301, "/loop")),
        ("/gopher", Reply::redirect(302, "gopher://127.0.0.1/x")),
        (
            "/latin1-header",
            Reply::Page {
                status: 200,
                headers: vec![b"Content-Type: text/html".to_vec(), b"X-Note: caf\xe9".to_vec()],
                body: b"<title>Odd header</title>".to_vec(),
            },
        ),
    ])
}

#[test]
fn once_writes_one_record_per_seed_with_browser_titles() {
    let server = fixture_server();
    let workspace = Workspace::new();
    let paths = [
        "/plain",
        "/none",
        "/empty",
        "/svg",
        "/sjis",
        "/cp1251",
        "/bom",
        "/xhtml",
        "/untyped",
        "/text",
        "/missing",
        "/broken",
        "/hop",
        "/loop",
        "/gopher",
        "/latin1-header",
    ];
    // Half inline, half from the seeds file, with duplicates across both.
    let (inline, from_file) = paths.split_at(8);
    let inline: Vec<String> = inline
        .iter()
        .map(|p| format!("\"{}\"", server.url(p)))
        .collect();
    let mut lines: Vec<String> = from_file.iter().map(|p| server.url(p)).collect();
    lines.push("# a comment".to_owned());
    lines.push(String::new());
    lines.push(server.url("/plain"));
    lines.push(format!("{}#fragment", server.url("/none")));
    workspace.write("seeds.txt", &lines.join("\n"));
    let config = workspace.write(
        "crawler.toml",
        &format!(
            "seeds = [{}]\nseeds_file = \"seeds.txt\"\nworkers = 4\nrequest_timeout = \"10s\"\n\
             max_redirects = 3\n[output]\njsonl = \"out.jsonl\"\n{POLITENESS_OFF}",
            inline.join(", ")
        ),
    );

    let output = run_once(&config);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    let records = workspace.records("out.jsonl");
    assert_eq!(
        records.len(),
        paths.len(),
        "one record per distinct seed: {records:#?}"
    );
    let records = by_url(&records);
    let record = |path: &str| -> &Value { &records[&server.url(path)] };

    assert_eq!(record("/plain")["title"], "Hello & World");
    assert_eq!(record("/plain")["status"], 200);
    assert_eq!(record("/plain")["error"], Value::Null);
    assert_eq!(record("/plain")["content_type"], "text/html");
    assert!(record("/plain")["bytes"].as_u64().unwrap() > 0);
    assert!(
        record("/plain")["fetched_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(record("/plain")["elapsed_ms"].is_u64());
    assert_eq!(record("/none")["title"], Value::Null);
    assert_eq!(record("/none")["error"], Value::Null);
    assert_eq!(record("/empty")["title"], "");
    assert_eq!(record("/svg")["title"], "Real");
    assert_eq!(record("/sjis")["title"], "日本語のタイトル");
    assert_eq!(record("/sjis")["encoding"], "Shift_JIS");
    assert_eq!(record("/cp1251")["title"], "Привет, мир");
    assert_eq!(record("/cp1251")["encoding"], "windows-1251");
    assert_eq!(record("/bom")["title"], "café");
    assert_eq!(record("/bom")["encoding"], "UTF-8");
    assert_eq!(record("/xhtml")["title"], "A & B");
    assert_eq!(record("/untyped")["title"], "No header");
    assert_eq!(record("/untyped")["content_type"], Value::Null);
    assert_eq!(record("/latin1-header")["title"], "Odd header");

    assert_eq!(record("/text")["title"], Value::Null);
    assert!(
        record("/text")["error"]
            .as_str()
            .unwrap()
            .starts_with("content_type: ")
    );
    assert!(
        record("/missing")["error"]
            .as_str()
            .unwrap()
            .starts_with("http_status: ")
    );
    assert_eq!(record("/missing")["status"], 404);
    assert!(
        record("/broken")["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 500")
    );

    assert_eq!(record("/hop")["final_url"], server.url("/plain"));
    assert_eq!(record("/hop")["title"], "Hello & World");
    assert!(
        record("/loop")["error"]
            .as_str()
            .unwrap()
            .starts_with("redirects: ")
    );
    assert_eq!(
        server.hits("/loop"),
        4,
        "first request plus max_redirects = 3 hops"
    );
    let gopher = record("/gopher")["error"].as_str().unwrap();
    assert!(
        gopher.starts_with("redirects: ") && gopher.contains("gopher"),
        "{gopher}"
    );

    // The redirect target was fetched once for the hop, once as its own seed; duplicates never.
    assert_eq!(server.hits("/plain"), 2);
    assert_eq!(server.hits("/none"), 1);

    assert!(stderr.contains(&format!(
        "title url={} status=200 title=\"Hello & World\"",
        server.url("/plain")
    )));
    assert!(stderr.contains(&format!("failed url={} status=404", server.url("/missing"))));
}

#[test]
fn a_slow_server_times_out_and_the_other_seeds_complete() {
    let server = TestServer::start(vec![
        ("/slow", Reply::Stall(Duration::from_secs(20))),
        ("/fast", Reply::html("<title>Fast</title>")),
    ]);
    let seeds = [server.url("/slow"), server.url("/fast")];
    let records = by_url(&crawl_once(&seeds, "request_timeout = \"1s\""));
    let slow = &records[&server.url("/slow")];
    assert!(error_of(slow).starts_with("timeout: ") && error_of(slow).contains("request_timeout"));
    assert_eq!(slow["title"], Value::Null);
    assert_eq!(records[&server.url("/fast")]["title"], "Fast");
}

#[test]
fn a_body_over_max_body_size_is_too_large() {
    let server = TestServer::start(vec![("/huge", Reply::Endless { chunks: 64 })]);
    let records = crawl_once(&[server.url("/huge")], "max_body_size = \"256KiB\"");
    assert_eq!(records.len(), 1);
    assert!(error_of(&records[0]).starts_with("too_large: "));
    assert_eq!(records[0]["title"], Value::Null);
    assert_eq!(records[0]["status"], 200);
    let bytes = records[0]["bytes"].as_u64().unwrap();
    assert!(
        bytes > 256 * 1024 && bytes < 64 * 64 * 1024,
        "stopped early, read {bytes}"
    );
}

#[test]
fn a_refused_connection_is_a_connect_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let records = crawl_once(&[format!("http://127.0.0.1:{port}/")], "");
    assert!(error_of(&records[0]).starts_with("connect: "));
    assert_eq!(records[0]["status"], Value::Null);
}

#[test]
fn a_gzip_body_is_decompressed() {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(b"<title>Zipped</title>").unwrap();
    let headers = vec![
        b"Content-Type: text/html".to_vec(),
        b"Content-Encoding: gzip".to_vec(),
    ];
    let body = encoder.finish().unwrap();
    let server = TestServer::start(vec![(
        "/gz",
        Reply::Page {
            status: 200,
            headers,
            body,
        },
    )]);
    let records = crawl_once(&[server.url("/gz")], "");
    assert_eq!(records[0]["title"], "Zipped");
}

#[test]
fn title_command_prints_the_title() {
    let server = TestServer::start(vec![("/t", Reply::html("<title>  Debug  me </title>"))]);
    let workspace = Workspace::new();
    let output = crate::support::crawler()
        .current_dir(workspace.dir.path())
        .args(["title", &server.url("/t")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "Debug me\n");

    let bad = crate::support::crawler()
        .current_dir(workspace.dir.path())
        .args(["title", "ftp://127.0.0.1/"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid_url"));
}
