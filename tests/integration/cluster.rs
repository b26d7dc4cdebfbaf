//! Several daemons sharing one crawl through a `redis-server` each test
//! starts on a free port: every page once, a killed node's work taken
//! over, politeness across nodes, Redis restarted under the crawl.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One cluster test at a time: each runs several daemons, and the other
/// tests' timing windows must not starve beside them.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

use crate::observability::{free_address, get};
use crate::support::{DEADLINE, Daemon, RedisServer, Reply, TestServer, Workspace, crawler};

/// A site of `pages` pages on `ip`, each answered after `delay`: page i
/// links to 2i+1 and 2i+2 (a binary tree), back to the root and to its parent.
fn tree_site(ip: &str, pages: usize, delay: Duration) -> TestServer {
    let server = TestServer::start_on(ip, vec![]);
    for i in 0..pages {
        let mut body = format!("<title>Page {i}</title><a href=\"/p/0\">home</a>");
        for child in [2 * i + 1, 2 * i + 2] {
            if child < pages {
                body.push_str(&format!("<a href=\"/p/{child}\">child</a>"));
            }
        }
        if i > 0 {
            body.push_str(&format!("<a href=\"/p/{}\">parent</a>", (i - 1) / 2));
        }
        let reply = Reply::Slow(delay, Box::new(Reply::html(&body)));
        server.set(&format!("/p/{i}"), reply);
    }
    server
}

/// `count` tree sites of `pages` pages on 127.0.0.1, 127.0.0.2, …, each page
/// answered after 20 ms (the queue is shared out by host); their roots.
fn tree_sites(count: u8, pages: usize) -> (Vec<TestServer>, Vec<String>) {
    let sites: Vec<TestServer> = (1..=count)
        .map(|last| tree_site(&format!("127.0.0.{last}"), pages, Duration::from_millis(20)))
        .collect();
    let seeds = sites.iter().map(|site| site.url("/p/0")).collect();
    (sites, seeds)
}

/// Starts `--once` nodes named `nodes` on `seeds` with `extra` settings.
fn start_nodes(
    workspace: &Workspace,
    nodes: &[&str],
    seeds: &[String],
    redis: &RedisServer,
    extra: &str,
) -> Vec<Daemon> {
    nodes
        .iter()
        .map(|node| start_node(&node_config(workspace, node, seeds, redis, extra), true))
        .collect()
}

/// One host whose `pages` pages all link to each other (and hold `extra`
/// HTML), with `robots` as its robots.txt; `reply` makes page i's reply
/// from its HTML.
fn linked_site(
    robots: &[u8],
    pages: usize,
    extra: &str,
    reply: impl Fn(usize, Reply) -> Reply,
) -> TestServer {
    let site = TestServer::start(vec![(
        "/robots.txt",
        Reply::with_type("text/plain", robots),
    )]);
    let links: String = (0..pages)
        .map(|j| format!("<a href=\"/p/{j}\">{j}</a>"))
        .collect();
    for i in 0..pages {
        let html = Reply::html(&format!("<title>{i}</title>{links}{extra}"));
        site.set(&format!("/p/{i}"), reply(i, html));
    }
    site
}

/// The distinct URLs of `records`.
fn recorded_urls(records: &[(String, Value)]) -> std::collections::HashSet<&str> {
    records
        .iter()
        .map(|(_, record)| record["url"].as_str().unwrap())
        .collect()
}

/// Writes `<node>.toml` for a node of the cluster at `redis`.
fn node_config(
    workspace: &Workspace,
    node: &str,
    seeds: &[String],
    redis: &RedisServer,
    extra: &str,
) -> PathBuf {
    let quoted: Vec<String> = seeds.iter().map(|seed| format!("{seed:?}")).collect();
    let politeness = if extra.contains("[politeness]") {
        ""
    } else {
        "[politeness]\nrespect_robots_txt = false\nper_host_concurrency = 0\nper_host_delay = \"0s\"\n"
    };
    let text = format!(
        "seeds = [{}]\nworkers = 8\nrequest_timeout = \"2s\"\nshutdown_timeout = \"2s\"\n{extra}\n\
         [output]\njsonl = \"{node}.jsonl\"\n\
         [crawl]\nmax_depth = 40\n\
         [cluster]\nredis = \"{}\"\nnode = \"{node}\"\n{politeness}",
        quoted.join(", "),
        redis.url()
    );
    workspace.write(&format!("{node}.toml"), &text)
}

fn start_node(config: &PathBuf, once: bool) -> Daemon {
    let mut command = crawler();
    if once {
        command.arg("--once");
    }
    command.arg("--config").arg(config);
    Daemon::start(command)
}

/// The records every node wrote, with the node's name.
fn records_of(workspace: &Workspace, nodes: &[&str]) -> Vec<(String, Value)> {
    nodes
        .iter()
        .flat_map(|node| {
            workspace
                .records(&format!("{node}.jsonl"))
                .into_iter()
                .map(|record| ((*node).to_owned(), record))
        })
        .collect()
}

/// Requests per path, robots.txt left out.
fn page_hits(server: &TestServer) -> BTreeMap<String, usize> {
    server
        .all_hits()
        .into_iter()
        .filter(|(path, _)| path != "/robots.txt")
        .collect()
}

fn wait_exit_ok(daemon: &mut Daemon, name: &str) {
    let code = daemon.wait_exit();
    assert_eq!(
        code,
        Some(0),
        "{name} exited with {code:?}:\n{}",
        daemon.seen.join("\n")
    );
}

#[test]
fn three_nodes_crawl_a_site_each_page_once() {
    let _serial = serial();
    let redis = RedisServer::start();
    // Eight hosts (the queue is shared out by host), pages answered slowly
    // enough that all three nodes take part.
    let (sites, seeds) = tree_sites(8, 250);
    let workspace = Workspace::new();
    let nodes = ["n1", "n2", "n3"];
    let mut daemons = start_nodes(&workspace, &nodes, &seeds, &redis, "");
    for (daemon, node) in daemons.iter_mut().zip(nodes) {
        wait_exit_ok(daemon, node);
    }
    for site in &sites {
        let hits = page_hits(site);
        assert_eq!(hits.len(), 250, "every page fetched");
        assert!(
            hits.values().all(|count| *count == 1),
            "a page was fetched twice: {:?}",
            hits.iter()
                .filter(|(_, count)| **count > 1)
                .collect::<Vec<_>>()
        );
    }
    let records = records_of(&workspace, &nodes);
    let mut urls: HashMap<String, usize> = HashMap::new();
    for (node, record) in &records {
        assert_eq!(record["node"], Value::from(node.as_str()), "{record}");
        assert_eq!(record["error"], Value::Null, "{record}");
        *urls
            .entry(record["url"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for (node, _) in &records {
        *per_node.entry(node.as_str()).or_default() += 1;
    }
    eprintln!("records per node: {per_node:?}");
    assert_eq!(urls.len(), 2000, "one record per page");
    assert!(
        urls.values().all(|count| *count == 1),
        "one record per page, on one node"
    );
}

/// Waits until one of `nodes` has at least `count` records in its output;
/// returns its index.
fn first_with_records(workspace: &Workspace, nodes: &[&str], count: usize) -> usize {
    let started = Instant::now();
    loop {
        let written = nodes
            .iter()
            .position(|node| workspace.records(&format!("{node}.jsonl")).len() >= count);
        if let Some(index) = written {
            return index;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no node wrote {count} records"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_node_killed_mid_crawl_leaves_its_work_to_the_others() {
    let _serial = serial();
    let redis = RedisServer::start();
    let (sites, seeds) = tree_sites(6, 200);
    let workspace = Workspace::new();
    let nodes = ["n1", "n2", "n3"];
    let mut daemons = start_nodes(&workspace, &nodes, &seeds, &redis, "");
    // The first node to show work is the victim: note what it holds and kill it.
    let victim = first_with_records(&workspace, &nodes, 50);
    let victim_name = nodes[victim];
    let held: usize = redis
        .query(&["HGET", "crawler:default:busy", victim_name])
        .and_then(|count| count.parse().ok())
        .unwrap_or(0);
    daemons[victim].signal(libc::SIGKILL);
    assert_eq!(daemons[victim].wait_exit(), None, "killed by a signal");
    for (index, (daemon, node)) in daemons.iter_mut().zip(nodes).enumerate() {
        if index != victim {
            wait_exit_ok(daemon, node);
        }
    }
    let mut twice = 0;
    for site in &sites {
        let hits = page_hits(site);
        assert_eq!(hits.len(), 200, "every page fetched");
        assert!(hits.values().all(|count| *count <= 2), "{hits:?}");
        twice += hits.values().filter(|count| **count == 2).count();
    }
    assert!(
        twice <= held,
        "{twice} pages fetched twice, but the killed node held only {held}"
    );
    let records = records_of(&workspace, &nodes);
    let urls = recorded_urls(&records);
    assert_eq!(urls.len(), 1200, "every page has a record");
    let survivors = records
        .iter()
        .filter(|(node, _)| node != victim_name)
        .count();
    assert!(survivors > 0, "the other nodes took part");
}

#[test]
fn politeness_holds_across_three_nodes() {
    let _serial = serial();
    let redis = RedisServer::start();
    let pages = 24;
    let site = linked_site(b"User-agent: *\nAllow: /\n", pages, "", |_, html| {
        Reply::Slow(Duration::from_millis(50), Box::new(html))
    });
    let seeds = vec![site.url("/p/0")];
    let workspace = Workspace::new();
    let politeness = "[politeness]\nrespect_robots_txt = true\nper_host_concurrency = 2\nper_host_delay = \"200ms\"\n";
    let nodes = ["n1", "n2", "n3"];
    let mut daemons = start_nodes(&workspace, &nodes, &seeds, &redis, politeness);
    for (daemon, node) in daemons.iter_mut().zip(nodes) {
        wait_exit_ok(daemon, node);
    }
    let hits = page_hits(&site);
    assert_eq!(hits.len(), pages, "every page fetched");
    assert!(hits.values().all(|count| *count == 1), "{hits:?}");
    if site.hits("/robots.txt") != 1 {
        let logs: Vec<String> = daemons
            .iter_mut()
            .flat_map(Daemon::all_lines)
            .filter(|line| !line.contains("title url="))
            .collect();
        panic!(
            "robots.txt fetched {} times:\n{}",
            site.hits("/robots.txt"),
            logs.join("\n")
        );
    }
    assert!(
        site.max_concurrent() <= 2,
        "{} at once",
        site.max_concurrent()
    );
    let arrivals = site.page_arrivals();
    let smallest = arrivals
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .min()
        .unwrap();
    assert!(
        smallest >= Duration::from_millis(190),
        "two requests {smallest:?} apart"
    );
}

#[test]
fn redis_restarted_mid_crawl_loses_nothing() {
    let _serial = serial();
    let mut redis = RedisServer::start_with(true);
    let (sites, seeds) = tree_sites(4, 150);
    let workspace = Workspace::new();
    let nodes = ["n1", "n2"];
    let health_at = free_address();
    let mut daemons: Vec<Daemon> = nodes
        .iter()
        .map(|node| {
            let extra = if *node == "n1" {
                format!("[metrics]\nlisten = \"{health_at}\"\n")
            } else {
                String::new()
            };
            start_node(&node_config(&workspace, node, &seeds, &redis, &extra), true)
        })
        .collect();
    let health = || -> Value {
        let (_, body) = get(health_at, "/healthz");
        serde_json::from_str(body.trim()).expect("one JSON line")
    };
    let started = Instant::now();
    while records_of(&workspace, &nodes).len() < 40 {
        assert!(started.elapsed() < DEADLINE, "no records");
        std::thread::sleep(Duration::from_millis(20));
    }
    redis.stop();
    for daemon in &mut daemons {
        daemon.wait_for("is unreachable");
    }
    let degraded = health();
    assert_eq!(degraded["status"], "degraded", "{degraded}");
    let error = degraded["state"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("unreachable"), "{degraded}");
    std::thread::sleep(Duration::from_millis(500));
    redis.restart();
    for daemon in &mut daemons {
        daemon.wait_for("written again");
    }
    assert_eq!(health()["status"], "ok");
    for (daemon, node) in daemons.iter_mut().zip(nodes) {
        wait_exit_ok(daemon, node);
        let _ = daemon.wait_for("stopped");
        let warnings = daemon
            .seen
            .iter()
            .filter(|line| line.contains("WARN") && line.contains("unreachable"))
            .count();
        assert!(
            warnings <= 1,
            "one WARN at most per outage:\n{}",
            daemon.seen.join("\n")
        );
    }
    let records = records_of(&workspace, &nodes);
    let urls = recorded_urls(&records);
    assert_eq!(urls.len(), 600, "every page has a record");
    for site in &sites {
        assert_eq!(page_hits(site).len(), 150, "every page fetched");
    }
}

#[test]
fn a_seed_added_to_one_nodes_config_is_crawled_once() {
    let _serial = serial();
    let redis = RedisServer::start();
    let site = TestServer::start(vec![
        ("/a", Reply::html("<title>A</title>")),
        ("/b", Reply::html("<title>B</title>")),
    ]);
    let workspace = Workspace::new();
    let first = vec![site.url("/a")];
    let configs: Vec<PathBuf> = ["n1", "n2"]
        .iter()
        .map(|node| node_config(&workspace, node, &first, &redis, ""))
        .collect();
    let mut daemons: Vec<Daemon> = configs
        .iter()
        .map(|config| start_node(config, false))
        .collect();
    let started = Instant::now();
    while site.hits("/a") == 0 {
        assert!(started.elapsed() < DEADLINE, "seed a not fetched");
        std::thread::sleep(Duration::from_millis(20));
    }
    let both = [site.url("/a"), site.url("/b")];
    let text = std::fs::read_to_string(&configs[0]).unwrap();
    let edited = text.replace(
        &format!("seeds = [{:?}]", first[0]),
        &format!("seeds = [{:?}, {:?}]", both[0], both[1]),
    );
    assert_ne!(text, edited);
    std::fs::write(&configs[0], edited).unwrap();
    daemons[0].wait_for("reloaded");
    let started = Instant::now();
    while records_of(&workspace, &["n1", "n2"]).len() < 2 {
        assert!(started.elapsed() < DEADLINE, "seed b not recorded");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Give a second fetch every chance to happen before counting.
    std::thread::sleep(Duration::from_secs(2));
    for daemon in &daemons {
        daemon.signal(libc::SIGTERM);
    }
    for daemon in &mut daemons {
        assert_eq!(daemon.wait_exit(), Some(0));
    }
    assert_eq!(site.hits("/a"), 1);
    assert_eq!(site.hits("/b"), 1);
    let records = records_of(&workspace, &["n1", "n2"]);
    assert_eq!(records.len(), 2, "{records:?}");
}

#[test]
fn robots_txt_is_fetched_once_when_a_host_changes_hands() {
    let _serial = serial();
    let redis = RedisServer::start();
    let pages = 30;
    let site = linked_site(
        b"User-agent: *\nDisallow: /private\n",
        pages,
        "<a href=\"/private\">no</a>",
        |_, html| html,
    );
    let seeds = vec![site.url("/p/0")];
    let workspace = Workspace::new();
    let politeness = "[politeness]\nrespect_robots_txt = true\nper_host_concurrency = 1\nper_host_delay = \"150ms\"\n";
    let nodes = ["n1", "n2"];
    let mut daemons = start_nodes(&workspace, &nodes, &seeds, &redis, politeness);
    // Kill whichever node crawls the host once it has shown some pages.
    let started = Instant::now();
    let victim = loop {
        if let Some(index) = nodes
            .iter()
            .position(|node| workspace.records(&format!("{node}.jsonl")).len() >= 5)
        {
            break index;
        }
        assert!(started.elapsed() < DEADLINE, "no records");
        std::thread::sleep(Duration::from_millis(20));
    };
    daemons[victim].signal(libc::SIGKILL);
    let _ = daemons[victim].wait_exit();
    let survivor = 1 - victim;
    wait_exit_ok(&mut daemons[survivor], nodes[survivor]);
    let survivor_records = workspace.records(&format!("{}.jsonl", nodes[survivor]));
    assert!(
        !survivor_records.is_empty(),
        "the survivor took the host over"
    );
    if site.hits("/robots.txt") != 1 {
        let logs: Vec<String> = daemons
            .iter_mut()
            .flat_map(Daemon::all_lines)
            .filter(|line| !line.contains("title url="))
            .collect();
        panic!(
            "robots.txt fetched {} times:\n{}",
            site.hits("/robots.txt"),
            logs.join("\n")
        );
    }
    assert_eq!(site.hits("/private"), 0, "the shared robots.txt was obeyed");
    assert_eq!(page_hits(&site).len(), pages, "every page fetched");
}

#[test]
fn check_and_status_speak_for_the_cluster() {
    let _serial = serial();
    let redis = RedisServer::start();
    let site = TestServer::start(vec![
        ("/a", Reply::html("<title>A</title><a href=\"/b\">b</a>")),
        ("/b", Reply::html("<title>B</title>")),
    ]);
    let workspace = Workspace::new();
    let seeds = vec![site.url("/a")];
    let n1 = node_config(&workspace, "n1", &seeds, &redis, "");
    let n2 = node_config(&workspace, "n2", &seeds, &redis, "");
    let mut node = start_node(&n1, true);
    wait_exit_ok(&mut node, "n1");
    // A second node whose config differs in one key, which it published.
    let text = std::fs::read_to_string(&n2)
        .unwrap()
        .replace("workers = 8", "workers = 9");
    std::fs::write(&n2, text).unwrap();
    let mut other = start_node(&n2, true);
    wait_exit_ok(&mut other, "n2");

    let check = crawler()
        .arg("check")
        .arg("--config")
        .arg(&n1)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("answers"), "{stdout}");
    assert!(
        stdout.contains("node n1 (not running): same config"),
        "{stdout}"
    );
    assert!(
        stdout.contains("node n2 (not running): config differs in workers"),
        "{stdout}"
    );

    let status = crawler()
        .args(["status", "--json", "--config"])
        .arg(&n1)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0));
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["known"], 2, "{status}");
    assert_eq!(status["cluster"]["name"], "default", "{status}");
    assert_eq!(status["cluster"]["seen"], 2, "{status}");
    // After the crawl as during it: each URL's last outcome once, its hosts, the state's size.
    assert_eq!(status["outcomes"]["ok"], 2, "{status}");
    assert_eq!(status["hosts"], 1, "{status}");
    assert!(status["file_bytes"].as_u64().unwrap() > 0, "{status}");
    assert_eq!(status["in_flight"], 0, "{status}");
    let text = crawler()
        .args(["status", "--config"])
        .arg(&n1)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("last outcomes: ok 2"), "{text}");
    assert!(text.contains("hosts: 1"), "{text}");

    // Redis away: both say so and exit 1.
    let gone = workspace.write(
        "gone.toml",
        &std::fs::read_to_string(&n1)
            .unwrap()
            .replace(&redis.url(), "redis://127.0.0.1:9/0"),
    );
    for command in ["check", "status"] {
        let output = crawler()
            .arg(command)
            .arg("--config")
            .arg(&gone)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{command}: {stderr}");
        assert!(stderr.contains("unreachable"), "{command}: {stderr}");
    }
}

#[test]
fn a_node_started_before_redis_waits_for_it() {
    let _serial = serial();
    let mut redis = RedisServer::start();
    let site = TestServer::start(vec![("/a", Reply::html("<title>A</title>"))]);
    let workspace = Workspace::new();
    let config = node_config(&workspace, "n1", &[site.url("/a")], &redis, "");
    redis.stop();
    let mut node = start_node(&config, true);
    let line = node.wait_for("waiting for it");
    assert!(
        line.contains("WARN") && line.contains("unreachable"),
        "{line}"
    );
    redis.restart();
    node.wait_for("answers again");
    wait_exit_ok(&mut node, "n1");
    assert_eq!(site.hits("/a"), 1);
    assert_eq!(workspace.records("n1.jsonl").len(), 1);
}

#[test]
fn redis_refusing_writes_is_an_error_that_says_what_to_do() {
    let _serial = serial();
    let redis = RedisServer::start();
    let sites: Vec<TestServer> = (1..=2)
        .map(|last| tree_site(&format!("127.0.0.{last}"), 300, Duration::from_millis(5)))
        .collect();
    let seeds: Vec<String> = sites.iter().map(|site| site.url("/p/0")).collect();
    let workspace = Workspace::new();
    let config = node_config(&workspace, "n1", &seeds, &redis, "");
    // Room for a few hundred URLs' state, not for the crawl.
    let info = redis.query(&["INFO", "memory"]).expect("INFO memory");
    let used: u64 = info
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|value| value.trim().parse().ok())
        .expect("used_memory");
    let limit = (used + 150_000).to_string();
    let set = |value: &str| redis.query(&["CONFIG", "SET", "maxmemory", value]);
    assert!(set(&limit).is_some_and(|reply| reply.eq_ignore_ascii_case("ok")));
    let mut node = start_node(&config, true);
    let line = node.wait_for("maxmemory");
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("raise it"), "{line}");
    // The operator raises the limit: the crawl goes on and completes.
    assert!(set("0").is_some_and(|reply| reply.eq_ignore_ascii_case("ok")));
    wait_exit_ok(&mut node, "n1");
    let records = workspace.records("n1.jsonl");
    let urls: std::collections::HashSet<&str> = records
        .iter()
        .map(|record| record["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), 600, "every page has a record");
}

#[test]
fn a_hosts_backoff_holds_when_it_changes_hands() {
    let _serial = serial();
    let redis = RedisServer::start();
    let pages = 12;
    let site = linked_site(b"User-agent: *\nAllow: /\n", pages, "", |i, page| {
        if i != 3 {
            return page;
        }
        // The host asks for a pause, once.
        let busy = Reply::Page {
            status: 503,
            headers: vec![b"Retry-After: 8".to_vec()],
            body: Vec::new(),
        };
        Reply::Sequence(vec![busy, page])
    });
    let seeds = vec![site.url("/p/0")];
    let workspace = Workspace::new();
    let politeness = "[politeness]\nrespect_robots_txt = true\nper_host_concurrency = 1\nper_host_delay = \"50ms\"\n";
    let nodes = ["n1", "n2"];
    let mut daemons = start_nodes(&workspace, &nodes, &seeds, &redis, politeness);
    let started = Instant::now();
    while site.hits("/p/3") == 0 {
        assert!(started.elapsed() < DEADLINE, "/p/3 not fetched");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Once the node that got the 503 has shared it, it dies; the other
    // takes the host over.
    let origin = site.url("");
    let key = format!("crawler:default:backoff:{}", origin.trim_end_matches('/'));
    while redis.query(&["EXISTS", &key]).as_deref() != Some("1") {
        assert!(started.elapsed() < DEADLINE, "the backoff was not shared");
        std::thread::sleep(Duration::from_millis(5));
    }
    let victim = nodes
        .iter()
        .position(|node| !workspace.records(&format!("{node}.jsonl")).is_empty())
        .unwrap_or(0);
    daemons[victim].signal(libc::SIGKILL);
    let _ = daemons[victim].wait_exit();
    let survivor = 1 - victim;
    wait_exit_ok(&mut daemons[survivor], nodes[survivor]);
    let busy_at = site.arrivals("/p/3")[0];
    let next = site
        .page_arrivals()
        .into_iter()
        .filter(|at| *at > busy_at)
        .min()
        .expect("pages after the 503");
    assert!(
        next - busy_at >= Duration::from_millis(7500),
        "the next request came {:?} after the 503 with Retry-After: 8",
        next - busy_at
    );
    assert_eq!(page_hits(&site).len(), pages, "every page fetched");
}

#[test]
fn a_node_paused_past_its_lease_cannot_overwrite_the_new_owners_results() {
    let _serial = serial();
    let redis = RedisServer::start();
    // One host (so one partition with work, which the new owner keeps) of
    // 40 pages linking to each other, one request at a time, each answered
    // after 300 ms and titled with the count of its requests so far.
    let sites: Vec<TestServer> = ["127.0.0.1"]
        .iter()
        .map(|ip| {
            let site = TestServer::start_on(ip, vec![]);
            let links: String = (0..40)
                .map(|j| format!("<a href=\"/p/{j}\">{j}</a>"))
                .collect();
            for i in 0..40 {
                let titled = |nth: usize| {
                    let html = Reply::html(&format!("<title>Page {i}, fetch {nth}</title>{links}"));
                    Reply::Slow(Duration::from_millis(300), Box::new(html))
                };
                site.set(
                    &format!("/p/{i}"),
                    Reply::Sequence((1..=5).map(titled).collect()),
                );
            }
            site
        })
        .collect();
    let seeds: Vec<String> = sites.iter().map(|site| site.url("/p/0")).collect();
    let workspace = Workspace::new();
    let nodes = ["n1", "n2"];
    let politeness = "[politeness]\nrespect_robots_txt = false\nper_host_concurrency = 1\nper_host_delay = \"0s\"\n";
    let mut daemons = start_nodes(&workspace, &nodes, &seeds, &redis, politeness);
    let victim = first_with_records(&workspace, &nodes, 3);
    let (victim_name, survivor_name) = (nodes[victim], nodes[1 - victim]);
    let held_now = || -> usize {
        redis
            .query(&["HGET", "crawler:default:busy", victim_name])
            .and_then(|count| count.parse().ok())
            .unwrap_or(0)
    };
    let started = Instant::now();
    while held_now() == 0 {
        assert!(
            started.elapsed() < DEADLINE,
            "{victim_name} never held a URL"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The fencing tokens of all partitions, summed: each take bumps one.
    let takes = || -> u64 {
        let epochs = redis
            .query(&["HVALS", "crawler:default:epoch"])
            .unwrap_or_default();
        epochs
            .split('"')
            .filter_map(|piece| piece.parse::<u64>().ok())
            .sum()
    };
    daemons[victim].signal(libc::SIGSTOP);
    let held = held_now();
    let takes_before = takes();
    // Wait until the other node has taken the paused one's partitions.
    let started = Instant::now();
    while takes() == takes_before {
        assert!(started.elapsed() < DEADLINE, "no partition was taken over");
        std::thread::sleep(Duration::from_millis(50));
    }
    daemons[victim].signal(libc::SIGCONT);
    for (daemon, node) in daemons.iter_mut().zip(nodes) {
        wait_exit_ok(daemon, node);
    }
    let records = records_of(&workspace, &nodes);
    assert_eq!(recorded_urls(&records).len(), 40, "every page has a record");
    // A page the paused node held may be fetched by both (and retried by
    // it once its request timed out while it was stopped).
    let mut twice = Vec::new();
    for site in &sites {
        for (path, count) in page_hits(site) {
            if count > 1 {
                twice.push(site.url(&path));
            }
        }
    }
    assert!(
        twice.len() <= held,
        "{} pages fetched more than once, but the paused node held only {held}",
        twice.len()
    );
    // What the paused node still had to commit was refused, and what
    // Redis keeps for each page fetched twice is the new owner's result.
    let log = daemons[victim].all_lines().join("\n");
    assert!(log.contains("results not committed"), "{log}");
    for url in &twice {
        let survivors: Vec<&Value> = records
            .iter()
            .filter(|(node, record)| node == survivor_name && record["url"] == url.as_str())
            .map(|(_, record)| record)
            .collect();
        assert_eq!(survivors.len(), 1, "{url}: {records:?}");
        let stored = redis
            .query(&["HGET", "crawler:default:url", url])
            .unwrap_or_default();
        let state: Value = serde_json::from_str(&stored).unwrap_or(Value::Null);
        assert_eq!(state["t"], survivors[0]["title"], "{url}: {stored}");
    }
}

#[test]
fn two_busy_hosts_are_shared_by_two_nodes() {
    let _serial = serial();
    let redis = RedisServer::start();
    // Two hosts in two partitions (a host is one node's at a time), each a
    // front page linking to its 150 pages, fetched one at a time with
    // 30 ms each: all of a host's pages can be claimed at once.
    let star = |ip: &str| {
        let site = TestServer::start_on(ip, vec![]);
        let links: String = (1..=150)
            .map(|i| format!("<a href=\"/p/{i}\">{i}</a>"))
            .collect();
        site.set("/p/0", Reply::html(&format!("<title>Front</title>{links}")));
        for i in 1..=150 {
            let page = Reply::html(&format!("<title>Page {i}</title>"));
            site.set(
                &format!("/p/{i}"),
                Reply::Slow(Duration::from_millis(30), Box::new(page)),
            );
        }
        site
    };
    let partition = |site: &TestServer| {
        let url = url::Url::parse(&site.url("/")).expect("url");
        crawler::frontier::redis::partition_of(&url)
    };
    let first = star("127.0.0.1");
    let second = (2..=40)
        .map(|last| star(&format!("127.0.0.{last}")))
        .find(|site| partition(site) != partition(&first))
        .expect("a host in another partition");
    let seeds = vec![first.url("/p/0"), second.url("/p/0")];
    let workspace = Workspace::new();
    let nodes = ["n1", "n2"];
    let politeness = "[politeness]\nrespect_robots_txt = false\nper_host_concurrency = 1\nper_host_delay = \"0s\"\n";
    let mut daemons = start_nodes(&workspace, &nodes, &seeds, &redis, politeness);
    for (daemon, node) in daemons.iter_mut().zip(nodes) {
        wait_exit_ok(daemon, node);
    }
    let records = records_of(&workspace, &nodes);
    assert_eq!(
        recorded_urls(&records).len(),
        302,
        "every page has a record"
    );
    for node in nodes {
        let count = records.iter().filter(|(name, _)| name == node).count();
        // The hosts take the same time: each node crawls about one of them.
        assert!(
            count >= 100,
            "{node} recorded {count} of 302 pages: the work was not shared"
        );
    }
}
