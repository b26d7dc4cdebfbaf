//! Notifications: the real binary, a page on 127.0.0.1 whose title the
//! test changes, and a receiver on 127.0.0.1 that records every POST and
//! can fail, refuse or hang.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::observability::{free_address, get};
use crate::support::{
    DEADLINE, Daemon, POLITENESS_OFF, RedisServer, Reply, TestServer, Workspace, crawler, run_once,
};

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Delivery {
    path: String,
    /// Header names lowercased.
    headers: HashMap<String, String>,
    body: Vec<u8>,
    /// The status it was answered with (0: it hung).
    answered: u16,
}

impl Delivery {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("not JSON ({err}): {}", String::from_utf8_lossy(&self.body))
        })
    }

    fn key(&self) -> String {
        self.headers
            .get("idempotency-key")
            .cloned()
            .unwrap_or_default()
    }
}

/// What the receiver answers on a path: statuses in turn (the last
/// repeats); 0 hangs the connection for a minute.
type Plan = Arc<Mutex<HashMap<String, Vec<u16>>>>;

/// A webhook receiver on 127.0.0.1.
struct Receiver {
    port: u16,
    plan: Plan,
    got: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    fn start() -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let plan: Plan = Arc::default();
        let got: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let (server_plan, server_got) = (Arc::clone(&plan), Arc::clone(&got));
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (plan, got) = (Arc::clone(&server_plan), Arc::clone(&server_got));
                thread::spawn(move || answer(stream, &plan, &got));
            }
        });
        Self { port, plan, got }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answers `path` with `statuses` in turn from now on.
    fn plan(&self, path: &str, statuses: &[u16]) {
        self.plan
            .lock()
            .unwrap()
            .insert(path.to_owned(), statuses.to_vec());
    }

    fn got(&self, path: &str) -> Vec<Delivery> {
        let got = self.got.lock().unwrap();
        got.iter().filter(|d| d.path == path).cloned().collect()
    }

    /// Waits until `path` got `count` POSTs; returns them.
    fn wait_for(&self, path: &str, count: usize) -> Vec<Delivery> {
        let started = Instant::now();
        while started.elapsed() < DEADLINE {
            let got = self.got(path);
            if got.len() >= count {
                return got;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("{path} got {:?}, not {count} POSTs", self.got(path));
    }
}

fn answer(stream: TcpStream, plan: &Plan, got: &Mutex<Vec<Delivery>>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.trim_end().split_once(':') {
            headers.insert(name.trim().to_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let status = {
        let mut plan = plan.lock().unwrap();
        match plan.get_mut(&path) {
            Some(statuses) if statuses.len() > 1 => statuses.remove(0),
            Some(statuses) => statuses.first().copied().unwrap_or(200),
            None => 200,
        }
    };
    got.lock().unwrap().push(Delivery {
        path,
        headers,
        body,
        answered: status,
    });
    let mut stream = reader.into_inner();
    if status == 0 {
        thread::sleep(Duration::from_secs(60));
        return;
    }
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    );
}

fn hmac_hex(secret: &str, timestamp: &str, body: &[u8]) -> String {
    use hmac::{KeyInit as _, Mac as _};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A config crawling `page` with a state file, `targets` appended.
fn watching(workspace: &Workspace, page: &str, targets: &str) -> std::path::PathBuf {
    workspace.config(
        &[page.to_owned()],
        &format!(
            "state_file = \"state.db\"\nrequest_timeout = \"2s\"\nrecrawl_interval = \"0s\"\n\
             {POLITENESS_OFF}{targets}"
        ),
    )
}

/// Runs `crawler ARGS --config CONFIG` to its end.
fn command(args: &[&str], config: &Path) -> std::process::Output {
    crawler()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

/// The daemon as a service on `config`.
fn service(config: &Path) -> Daemon {
    let mut command = crawler();
    command.arg("--config").arg(config);
    Daemon::start(command)
}

fn once_ok(config: &Path) -> String {
    let output = run_once(config);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    stderr
}

#[test]
fn a_title_change_is_notified_once_in_each_format_and_signed() {
    let site = TestServer::start(vec![(
        "/p",
        Reply::Sequence(vec![
            Reply::html("<title>Old</title>"),
            Reply::html("<title>New</title>"),
        ]),
    )]);
    let receiver = Receiver::start();
    let workspace = Workspace::new();
    let targets = format!(
        "[[notify]]\nname = \"json\"\nurl = \"{}\"\nsecret_env = \"CRAWLER_HOOK_SECRET\"\n\
         [[notify]]\nname = \"slack\"\nurl = \"{}\"\nformat = \"slack\"\n\
         [[notify]]\nname = \"discord\"\nurl = \"{}\"\nformat = \"discord\"\n\
         [[notify]]\nname = \"ntfy\"\nurl = \"{}\"\nformat = \"ntfy\"\n",
        receiver.url("/json"),
        receiver.url("/slack/T0/token"),
        receiver.url("/discord"),
        receiver.url("/ntfy"),
    );
    let config = watching(&workspace, &site.url("/p"), &targets);
    // The secret comes from a CRAWLER_* variable (not taken for a setting).
    let once = || {
        let output = crawler()
            .env("CRAWLER_HOOK_SECRET", "s3cret")
            .arg("--once")
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        stderr
    };
    once();
    assert!(
        receiver.got.lock().unwrap().is_empty(),
        "a first fetch is no change"
    );
    let stderr = once();
    assert!(
        !stderr.contains("s3cret") && !stderr.contains("T0/token"),
        "{stderr}"
    );
    let json = receiver.wait_for("/json", 1);
    let body = json[0].json();
    assert_eq!(body["event"], "title_changed");
    assert_eq!(body["previous_title"], "Old");
    assert_eq!(body["title"], "New");
    assert_eq!(body["url"], site.url("/p"));
    assert_eq!(body["target"], "json");
    assert_eq!(json[0].key(), body["id"].as_str().unwrap());
    let timestamp = &json[0].headers["x-crawler-timestamp"];
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        now.abs_diff(timestamp.parse().unwrap()) < 120,
        "a current timestamp"
    );
    assert_eq!(
        json[0].headers["x-crawler-signature-256"],
        format!("sha256={}", hmac_hex("s3cret", timestamp, &json[0].body))
    );
    let slack = receiver.wait_for("/slack/T0/token", 1)[0].json();
    let text = slack["text"].as_str().unwrap();
    assert!(
        text.contains("“Old” → “New”") && text.contains("/p"),
        "{text}"
    );
    let discord = receiver.wait_for("/discord", 1)[0].json();
    assert!(discord["content"].as_str().unwrap().contains("“New”"));
    let ntfy = &receiver.wait_for("/ntfy", 1)[0];
    assert_eq!(ntfy.headers["title"], "Title changed");
    assert!(String::from_utf8_lossy(&ntfy.body).contains("“New”"));
    // A third run with the same title tells nobody anything.
    once();
    thread::sleep(Duration::from_millis(300));
    assert_eq!(receiver.got.lock().unwrap().len(), 4);
}

#[test]
fn with_confirm_2_a_flipping_title_is_quiet_and_a_real_change_is_told_once() {
    let titles = ["A", "A", "B", "A", "B", "A", "C", "C", "C"];
    let site = TestServer::start(vec![(
        "/p",
        Reply::Sequence(
            titles
                .iter()
                .map(|title| Reply::html(&format!("<title>{title}</title>")))
                .collect(),
        ),
    )]);
    let receiver = Receiver::start();
    let workspace = Workspace::new();
    let targets = format!(
        "[[notify]]\nurl = \"{}\"\nconfirm = 2\n",
        receiver.url("/hook")
    );
    let config = watching(&workspace, &site.url("/p"), &targets);
    for (run, _) in titles.iter().enumerate() {
        once_ok(&config);
        let expected = usize::from(run >= 7);
        assert_eq!(
            receiver.got("/hook").len(),
            expected,
            "after run {}",
            run + 1
        );
    }
    let told = receiver.got("/hook")[0].json();
    assert_eq!(
        (told["previous_title"].as_str(), told["title"].as_str()),
        (Some("A"), Some("C"))
    );
}

#[test]
fn failing_receivers_are_retried_refusals_dropped_and_a_hung_one_never_stalls_the_crawl() {
    let site = TestServer::start(vec![
        (
            "/p",
            Reply::Sequence(vec![
                Reply::html("<title>Old</title>"),
                Reply::html("<title>New</title>"),
            ]),
        ),
        ("/q", Reply::html("<title>Q</title>")),
    ]);
    let receiver = Receiver::start();
    let metrics = free_address();
    receiver.plan("/flaky", &[503, 503, 503, 200]);
    receiver.plan("/bad", &[400]);
    receiver.plan("/hung", &[0]);
    let workspace = Workspace::new();
    let targets = format!(
        "[[notify]]\nname = \"flaky\"\nurl = \"{}\"\n\
         [[notify]]\nname = \"bad\"\nurl = \"{}\"\n\
         [[notify]]\nname = \"hung\"\nurl = \"{}\"\ndegraded_after = \"1s\"\n\
         [metrics]\nlisten = \"{metrics}\"\n",
        receiver.url("/flaky"),
        receiver.url("/bad"),
        receiver.url("/hung"),
    );
    let config = watching(&workspace, &site.url("/p"), &targets);
    once_ok(&config);
    // The service fetches the page again (New) and the second seed.
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "seeds = [",
        &format!("seeds = [{:?}, ", site.url("/q")),
        1,
    );
    std::fs::write(&config, text).unwrap();
    let mut daemon = service(&config);
    let flaky = receiver.wait_for("/flaky", 4);
    let statuses: Vec<u16> = flaky.iter().map(|d| d.answered).collect();
    assert_eq!(statuses, [503, 503, 503, 200]);
    assert!(
        flaky.iter().all(|d| d.key() == flaky[0].key()),
        "one key for every attempt"
    );
    daemon.wait_for("`bad`");
    let dropped = daemon
        .seen
        .iter()
        .find(|line| line.contains("`bad`"))
        .cloned()
        .unwrap();
    assert!(
        dropped.contains("ERROR") && dropped.contains("dropped") && dropped.contains("HTTP 400"),
        "{dropped}"
    );
    assert_eq!(receiver.got("/bad").len(), 1, "a 400 is not retried");
    daemon.wait_for("notify target `hung`");
    // The crawl went on beside the hung receiver: both pages are recorded.
    let records = workspace.records("out.jsonl");
    assert!(
        records.iter().any(|r| r["url"] == site.url("/q")),
        "{records:?}"
    );
    thread::sleep(Duration::from_secs(1));
    assert_eq!(receiver.got("/flaky").len(), 4, "delivered once, not again");
    let (_, text) = get(metrics, "/metrics");
    for line in [
        "crawler_notifications_total{target=\"flaky\",result=\"sent\"} 1",
        "crawler_notifications_total{target=\"flaky\",result=\"retried\"} 3",
        "crawler_notifications_total{target=\"bad\",result=\"dropped\"} 1",
        "crawler_notification_failures_total{target=\"flaky\",kind=\"http_5xx\"} 3",
    ] {
        assert!(text.contains(line), "no {line} in:\n{text}");
    }
    let (_, health) = get(metrics, "/healthz");
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    let failing = health["notify"]["failing"].to_string();
    assert!(
        failing.contains("\"hung\"") && !failing.contains("\"flaky\""),
        "{health}"
    );
}

#[test]
fn a_notification_survives_sigkill_before_delivery_and_arrives_after_the_restart() {
    let site = TestServer::start(vec![(
        "/p",
        Reply::Sequence(vec![
            Reply::html("<title>Old</title>"),
            Reply::html("<title>New</title>"),
        ]),
    )]);
    let receiver = Receiver::start();
    receiver.plan("/hook", &[0]);
    let workspace = Workspace::new();
    let targets = format!("[[notify]]\nurl = \"{}\"\n", receiver.url("/hook"));
    let config = watching(&workspace, &site.url("/p"), &targets);
    once_ok(&config);
    let mut daemon = service(&config);
    // Recorded, taken for delivery, and hanging there: killed.
    let first = receiver.wait_for("/hook", 1);
    daemon.signal(libc::SIGKILL);
    daemon.wait_exit();
    let status = command(&["status", "--json"], &config);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["outbox"]["waiting"], 1, "{status}");
    receiver.plan("/hook", &[200]);
    let _daemon = service(&config);
    let got = receiver.wait_for("/hook", 2);
    assert_eq!(got[1].answered, 200);
    assert_eq!(
        got[1].key(),
        first[0].key(),
        "the same notification, the same key"
    );
    assert_eq!(got[1].json()["title"], "New");
    thread::sleep(Duration::from_secs(2));
    assert_eq!(
        receiver.got("/hook").len(),
        2,
        "delivered once after the restart"
    );
}

#[test]
fn a_reload_adds_and_removes_targets_and_a_bad_one_is_refused() {
    let site = TestServer::start(vec![("/p", Reply::html("<title>Old</title>"))]);
    let receiver = Receiver::start();
    let workspace = Workspace::new();
    let text = |targets: &str| {
        format!(
            "seeds = [{:?}]\nstate_file = \"state.db\"\nrecrawl_interval = \"1s\"\n\
             [output]\njsonl = \"out.jsonl\"\n{POLITENESS_OFF}{targets}",
            site.url("/p")
        )
    };
    let a = format!(
        "[[notify]]\nname = \"a\"\nurl = \"{}\"\n",
        receiver.url("/a")
    );
    let b = format!(
        "[[notify]]\nname = \"b\"\nurl = \"{}\"\n",
        receiver.url("/b")
    );
    let config = workspace.write("crawler.toml", &text(&a));
    let mut daemon = service(&config);
    daemon.wait_for_n("title=", 2);
    let bad = format!("{a}[[notify]]\nname = \"c\"\nurl = \"ftp://nowhere/\"\n");
    std::fs::write(&config, text(&bad)).unwrap();
    let refused = daemon.wait_for("reload rejected");
    assert!(refused.contains("notify[1].url"), "{refused}");
    // b replaces a: the change goes to b only.
    std::fs::write(&config, text(&b)).unwrap();
    let reloaded = daemon.wait_for("reloaded");
    assert!(
        reloaded.contains("+`b`") && reloaded.contains("-`a`"),
        "{reloaded}"
    );
    site.set("/p", Reply::html("<title>New</title>"));
    let told = receiver.wait_for("/b", 1);
    assert_eq!(told[0].json()["title"], "New");
    assert_eq!(told[0].json()["previous_title"], "Old");
    assert!(receiver.got("/a").is_empty());
    // b changes its URL: the next change goes to the new one.
    let moved = format!(
        "[[notify]]\nname = \"b\"\nurl = \"{}\"\n",
        receiver.url("/b2")
    );
    std::fs::write(&config, text(&moved)).unwrap();
    let reloaded = daemon.wait_for("reloaded");
    assert!(reloaded.contains("~`b`"), "{reloaded}");
    site.set("/p", Reply::html("<title>Newer</title>"));
    let told = receiver.wait_for("/b2", 1);
    assert_eq!(told[0].json()["title"], "Newer");
    assert_eq!(receiver.got("/b").len(), 1);
}

#[test]
fn notify_test_sends_a_sample_to_each_target_and_check_hides_secrets() {
    let receiver = Receiver::start();
    receiver.plan("/down", &[500]);
    let workspace = Workspace::new();
    let targets = format!(
        "[[notify]]\nname = \"up\"\nurl = \"{}\"\nsecret = \"hush-hush\"\n\
         [[notify]]\nname = \"down\"\nurl = \"{}\"\n",
        receiver.url("/up/hidden-token"),
        receiver.url("/down"),
    );
    let config = watching(&workspace, "http://127.0.0.1:9/", &targets);
    let output = command(&["notify", "test"], &config);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("`up`") && stdout.contains("ok, HTTP 200"),
        "{stdout}"
    );
    assert!(
        stdout.contains("`down`") && stdout.contains("FAILED: answered HTTP 500"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("hidden-token") && !stdout.contains("hush-hush"),
        "{stdout}"
    );
    let sample = receiver.wait_for("/up/hidden-token", 1)[0].json();
    assert_eq!(sample["event"], "title_changed");
    let check = command(&["check"], &config);
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(check.status.code(), Some(0), "{shown}");
    assert!(shown.contains("notify `up` (http://127.0.0.1:"), "{shown}");
    assert!(
        !shown.contains("hush-hush") && !shown.contains("hidden-token"),
        "{shown}"
    );
    // A wrong target is named by its key, never by its secret.
    std::fs::write(
        &config,
        std::fs::read_to_string(&config).unwrap() + "[[notify]]\nurl = \"not a url/secret-path\"\nformat = \"slack\"\nsecret = \"hush-hush\"\n",
    )
    .unwrap();
    let check = command(&["check"], &config);
    let shown = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("notify[2].url") && shown.contains("notify[2].secret"),
        "{shown}"
    );
    assert!(
        !shown.contains("hush-hush") && !shown.contains("secret-path"),
        "{shown}"
    );
    let empty = watching(&Workspace::new(), "http://127.0.0.1:9/", "");
    let none = command(&["notify", "test"], &empty);
    assert_eq!(none.status.code(), Some(2));
}

#[test]
fn in_a_cluster_a_notification_held_by_a_killed_node_is_delivered_by_another() {
    let redis = RedisServer::start();
    let site = TestServer::start(vec![(
        "/p",
        Reply::Sequence(vec![
            Reply::html("<title>Old</title>"),
            Reply::html("<title>New</title>"),
        ]),
    )]);
    let receiver = Receiver::start();
    receiver.plan("/hook", &[0]);
    let node = |name: &str| {
        let workspace = Workspace::new();
        let config = workspace.config(
            &[site.url("/p")],
            &format!(
                "request_timeout = \"2s\"\nrecrawl_interval = \"0s\"\n{POLITENESS_OFF}\
                 [[notify]]\nurl = \"{}\"\n[cluster]\nredis = \"{}\"\nnode = \"{name}\"\n",
                receiver.url("/hook"),
                redis.url()
            ),
        );
        (workspace, config)
    };
    let (_first_space, first) = node("n1");
    once_ok(&first);
    let mut n1 = service(&first);
    let held = receiver.wait_for("/hook", 1);
    n1.signal(libc::SIGKILL);
    n1.wait_exit();
    receiver.plan("/hook", &[200]);
    let (_second_space, second) = node("n2");
    let _n2 = service(&second);
    let got = receiver.wait_for("/hook", 2);
    assert_eq!((got[1].answered, got[1].key()), (200, held[0].key()));
    thread::sleep(Duration::from_secs(2));
    assert_eq!(receiver.got("/hook").len(), 2, "once for the cluster");
}

#[test]
fn a_page_that_fails_and_recovers_is_told_to_targets_that_want_it() {
    let site = TestServer::start(vec![(
        "/p",
        Reply::Sequence(vec![
            Reply::html("<title>Up</title>"),
            Reply::status(404),
            Reply::html("<title>Up</title>"),
        ]),
    )]);
    let receiver = Receiver::start();
    let workspace = Workspace::new();
    let targets = format!(
        "[[notify]]\nname = \"ops\"\nurl = \"{}\"\nevents = [\"failed\", \"recovered\"]\n\
         [[notify]]\nname = \"titles\"\nurl = \"{}\"\n",
        receiver.url("/ops"),
        receiver.url("/titles"),
    );
    let config = watching(&workspace, &site.url("/p"), &targets);
    for _ in 0..3 {
        once_ok(&config);
    }
    let ops = receiver.wait_for("/ops", 2);
    let (failed, recovered) = (ops[0].json(), ops[1].json());
    assert_eq!(failed["event"], "failed");
    assert!(
        failed["error"].as_str().unwrap().starts_with("http_status"),
        "{failed}"
    );
    assert_eq!(
        (failed["status"].as_u64(), failed["title"].as_str()),
        (Some(404), Some("Up"))
    );
    assert_eq!(recovered["event"], "recovered");
    assert_eq!(recovered["title"], "Up");
    assert!(
        receiver.got("/titles").is_empty(),
        "the title never changed"
    );
}

#[test]
fn deliveries_trust_the_configured_ca_file() {
    let workspace = Workspace::new();
    let dir = workspace.dir.path();
    if !crate::tls::make_certificates(dir) {
        eprintln!("openssl is not installed: skipping the TLS test");
        return;
    }
    let (_server, port) = crate::tls::serve(dir);
    let target = format!("[[notify]]\nurl = \"https://127.0.0.1:{port}/hook\"\n");
    let test = |extra: &str| {
        let config = workspace.write(
            "crawler.toml",
            &format!(
                "seeds = [\"http://127.0.0.1:9/\"]\nrequest_timeout = \"2s\"\n{extra}{target}"
            ),
        );
        let output = command(&["notify", "test"], &config);
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let untrusted = test("");
    assert!(untrusted.contains("FAILED: tls:"), "{untrusted}");
    // With the CA the handshake succeeds (openssl's test server then does not
    // answer a POST: a timeout, not a TLS error).
    let trusted = test(&format!(
        "[tls]\nca_file = {:?}\n",
        dir.join("ca.pem").display().to_string()
    ));
    assert!(!trusted.contains("tls:"), "{trusted}");
}
