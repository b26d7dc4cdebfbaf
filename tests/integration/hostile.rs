//! A hostile server: every misbehaviour ends as one clear record, within
//! `request_timeout` plus retries, and the other seeds still complete.
//! Retries: counted and timed on the server side.

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Reply, TestServer, by_url, crawl_once, error_of};

/// Settings for hostile tests: short timeouts, no retries unless a test asks.
const QUICK: &str = "request_timeout = \"2s\"\nconnect_timeout = \"2s\"\nmax_body_size = \"1MiB\"\n\
                     [retry]\nmax_retries = 0";

/// Writes `bytes`, ignoring a client that went away.
fn send(stream: &mut TcpStream, bytes: &[u8]) -> bool {
    stream
        .write_all(bytes)
        .and_then(|()| stream.flush())
        .is_ok()
}

/// Crawls the hostile path next to a good one; returns the hostile record.
fn crawl_beside_a_good_page(reply: Reply) -> Value {
    crawl_beside_a_good_page_with(reply, QUICK)
}

fn crawl_beside_a_good_page_with(reply: Reply, settings: &str) -> Value {
    let server = TestServer::start(vec![
        ("/hostile", reply),
        ("/good", Reply::html("<title>Good</title>")),
    ]);
    let records = crawl_once(&[server.url("/hostile"), server.url("/good")], settings);
    assert_eq!(records.len(), 2, "one record per seed: {records:#?}");
    let records = by_url(&records);
    assert_eq!(
        records[&server.url("/good")]["title"],
        "Good",
        "the good seed completed"
    );
    records[&server.url("/hostile")].clone()
}

fn assert_failed(record: &Value, kind: &str) {
    let error = error_of(record);
    assert!(
        error.starts_with(&format!("{kind}: ")),
        "expected {kind}, got {record:#}"
    );
    assert_eq!(record["title"], Value::Null, "{record:#}");
    assert_eq!(record["attempts"], 1, "{record:#}");
}

#[test]
fn a_status_line_that_never_ends_times_out() {
    let record = crawl_beside_a_good_page(Reply::custom(|stream| {
        send(stream, b"HTTP/1.1 20");
        thread::sleep(Duration::from_secs(6));
    }));
    assert_failed(&record, "timeout");
}

#[test]
fn endless_headers_end_in_an_error() {
    let record = crawl_beside_a_good_page(Reply::custom(|stream| {
        send(stream, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n");
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < Duration::from_secs(6) {
            n += 1;
            if !send(
                stream,
                format!("X-Endless-{n}: {}\r\n", "v".repeat(100)).as_bytes(),
            ) {
                break;
            }
        }
    }));
    let error = error_of(&record);
    assert!(
        error.starts_with("timeout: ") || error.starts_with("protocol: "),
        "{record:#}"
    );
    assert_eq!(record["title"], Value::Null);
}

#[test]
fn a_header_over_64_kib_is_refused_or_survived() {
    let record = crawl_beside_a_good_page(Reply::custom(|stream| {
        let big = "b".repeat(200 * 1024);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Big: {big}\r\nContent-Length: 20\r\n\r\n"
        );
        send(stream, head.as_bytes());
        send(stream, b"<title>Big</title>  ");
    }));
    // curl refuses a header line over 100 KB; either way it is one clear record.
    assert_failed(&record, "protocol");
}

#[test]
fn a_body_dripping_one_byte_a_second_times_out() {
    let record = crawl_beside_a_good_page(Reply::custom(|stream| {
        send(
            stream,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n",
        );
        for _ in 0..8 {
            if !send(stream, b"<") {
                break;
            }
            thread::sleep(Duration::from_secs(1));
        }
    }));
    assert_failed(&record, "timeout");
    assert!(record["status"] == 200, "the head arrived: {record:#}");
}

#[test]
fn a_content_length_longer_than_the_body_is_a_body_error() {
    let record = crawl_beside_a_good_page(Reply::custom(|stream| {
        send(stream, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<title>Short</title>");
    }));
    assert_failed(&record, "body");
}

#[test]
fn a_content_length_shorter_than_the_body_keeps_the_honest_part() {
    let record = crawl_beside_a_good_page(Reply::custom(|stream| {
        send(stream, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 18\r\n\r\n<title>Cut</title> and much more that was not announced");
    }));
    assert_eq!(record["error"], Value::Null, "{record:#}");
    assert_eq!(record["title"], "Cut");
    assert_eq!(record["bytes"], 18);
}

#[test]
fn a_reset_mid_body_is_a_body_error() {
    let record = crawl_beside_a_good_page(Reply::custom(|stream| {
        send(stream, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<title>Reset</title>");
        thread::sleep(Duration::from_millis(200));
        // SO_LINGER 0: close sends RST instead of FIN.
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        use std::os::fd::AsRawFd;
        // SAFETY: setting a socket option on a socket we own, with a valid struct.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const linger).cast(),
                libc::socklen_t::try_from(size_of::<libc::linger>()).unwrap(),
            );
        }
    }));
    assert_failed(&record, "body");
}

#[test]
fn a_gzip_bomb_stops_at_max_body_size() {
    use flate2::{Compression, write::GzEncoder};
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap(); // 64 MiB of zeros, ~64 KiB compressed
    }
    let bomb = encoder.finish().unwrap();
    let record = crawl_beside_a_good_page(Reply::Page {
        status: 200,
        headers: vec![
            b"Content-Type: text/html".to_vec(),
            b"Content-Encoding: gzip".to_vec(),
        ],
        body: bomb,
    });
    assert_failed(&record, "too_large");
    assert!(
        record["bytes"].as_u64().unwrap() < 4 * 1024 * 1024,
        "{record:#}"
    );
}

#[test]
fn a_one_gib_body_stops_at_max_body_size() {
    let record = crawl_beside_a_good_page(Reply::Endless { chunks: 16 * 1024 });
    assert_failed(&record, "too_large");
    assert_eq!(record["status"], 200);
}

#[test]
fn redirects_to_other_schemes_or_huge_urls_are_refused() {
    let long = format!("http://127.0.0.1/{}", "a".repeat(70 * 1024));
    for target in [
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "gopher://127.0.0.1/",
        long.as_str(),
    ] {
        let record = crawl_beside_a_good_page(Reply::redirect(302, target));
        assert_failed(&record, "redirects");
        assert_eq!(
            record["status"],
            Value::Null,
            "no final response: {record:#}"
        );
    }
}

#[test]
fn a_redirect_loop_ends_at_max_redirects() {
    let record = crawl_beside_a_good_page(Reply::redirect(307, "/hostile"));
    assert_failed(&record, "redirects");
}

#[test]
fn an_unknown_or_invalid_charset_still_decodes() {
    let record = crawl_beside_a_good_page(Reply::with_type(
        "text/html; charset=no-such-charset",
        "<title>caf\u{e9}</title>".as_bytes(),
    ));
    assert_eq!(record["error"], Value::Null, "{record:#}");
    assert!(record["title"].as_str().unwrap().starts_with("caf"));
    let record = crawl_beside_a_good_page(Reply::with_type(
        "text/html",
        b"<meta charset=\"utf-999\"><title>Still here \xff</title>",
    ));
    assert_eq!(record["error"], Value::Null, "{record:#}");
    assert!(record["title"].as_str().unwrap().starts_with("Still here"));
}

#[test]
fn http_1_0_without_a_length_reads_to_the_close() {
    let record = crawl_beside_a_good_page(Reply::custom(|stream| {
        send(
            stream,
            b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html><title>Old school</title>",
        );
    }));
    assert_eq!(record["error"], Value::Null, "{record:#}");
    assert_eq!(record["title"], "Old school");
}

#[test]
fn non_ascii_header_bytes_keep_the_page() {
    let record = crawl_beside_a_good_page(Reply::custom(|stream| {
        send(stream, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Name: J\xfcrgen \xe2\x82\xac\r\nContent-Length: 17\r\n\r\n<title>Ok</title>");
    }));
    assert_eq!(record["error"], Value::Null, "{record:#}");
    assert_eq!(record["title"], "Ok");
}

#[test]
fn an_empty_reply_is_one_clear_record() {
    let record = crawl_beside_a_good_page(Reply::custom(|_stream| {}));
    assert!(!error_of(&record).is_empty(), "{record:#}");
    assert_eq!(record["title"], Value::Null);
}

const RETRIES: &str = "request_timeout = \"5s\"\n[retry]\nmax_retries = 3\n\
                       initial_backoff = \"50ms\"\nmax_backoff = \"5s\"";

#[test]
fn a_503_twice_then_200_takes_three_attempts() {
    let server = TestServer::start(vec![
        (
            "/flaky",
            Reply::Sequence(vec![
                Reply::status(503),
                Reply::status(503),
                Reply::html("<title>Third time</title>"),
            ]),
        ),
        ("/good", Reply::html("<title>Good</title>")),
    ]);
    let records = by_url(&crawl_once(
        &[server.url("/flaky"), server.url("/good")],
        RETRIES,
    ));
    let flaky = &records[&server.url("/flaky")];
    assert_eq!(flaky["attempts"], 3, "{flaky:#}");
    assert_eq!(flaky["title"], "Third time");
    assert_eq!(flaky["error"], Value::Null);
    assert_eq!(server.hits("/flaky"), 3);
    assert_eq!(records[&server.url("/good")]["attempts"], 1);
}

#[test]
fn retry_after_is_waited_for() {
    let busy = Reply::Page {
        status: 503,
        headers: vec![
            b"Content-Type: text/html".to_vec(),
            b"Retry-After: 2".to_vec(),
        ],
        body: Vec::new(),
    };
    let server = TestServer::start(vec![(
        "/busy",
        Reply::Sequence(vec![busy, Reply::html("<title>Ready</title>")]),
    )]);
    let records = crawl_once(&[server.url("/busy")], RETRIES);
    assert_eq!(records[0]["title"], "Ready");
    assert_eq!(records[0]["attempts"], 2);
    let arrivals = server.arrivals("/busy");
    assert_eq!(arrivals.len(), 2);
    let gap = arrivals[1] - arrivals[0];
    // Measured on the server; the tolerance covers scheduling and connecting.
    assert!(
        gap >= Duration::from_millis(1900),
        "retried after only {gap:?}"
    );
}

#[test]
fn a_retry_after_beyond_max_backoff_gives_up_and_says_so() {
    let busy = Reply::Page {
        status: 429,
        headers: vec![
            b"Content-Type: text/html".to_vec(),
            b"Retry-After: 3600".to_vec(),
        ],
        body: Vec::new(),
    };
    let server = TestServer::start(vec![("/busy", busy)]);
    let records = crawl_once(&[server.url("/busy")], RETRIES);
    let error = error_of(&records[0]);
    assert!(
        error.starts_with("http_status: ") && error.contains("max_backoff"),
        "{error}"
    );
    assert_eq!(records[0]["attempts"], 1);
    assert_eq!(server.hits("/busy"), 1);
}

#[test]
fn a_404_is_never_retried() {
    let server = TestServer::start(vec![("/gone", Reply::status(404))]);
    let records = crawl_once(&[server.url("/gone")], RETRIES);
    assert_eq!(records[0]["attempts"], 1);
    assert_eq!(server.hits("/gone"), 1);
}

#[test]
fn a_refused_connection_is_retried_then_recorded() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let records = crawl_once(&[format!("http://127.0.0.1:{port}/")], RETRIES);
    assert!(error_of(&records[0]).starts_with("connect: "));
    assert_eq!(records[0]["attempts"], 4, "first try plus max_retries");
}

#[test]
fn deny_private_refuses_loopback() {
    let server = TestServer::start(vec![("/secret", Reply::html("<title>Internal</title>"))]);
    let settings = "[network]\ndeny_private = true\n[retry]\nmax_retries = 0";
    let records = crawl_once(
        &[server.url("/secret"), "http://[::1]:9/".to_owned()],
        settings,
    );
    for record in &records {
        let error = error_of(record);
        assert!(
            error.starts_with("denied: ") && error.contains("loopback"),
            "{record:#}"
        );
    }
    assert_eq!(server.hits("/secret"), 0, "no request reached the server");
}
