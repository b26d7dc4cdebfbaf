//! Several daemons sharing one crawl through a `redis-server` each test
//! starts on a free port: every page once, a killed node's work taken
//! over, politeness across nodes, Redis restarted under the crawl.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

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
    assert_eq!(code, Some(0), "{name} exited with {code:?}:\n{}", daemon.seen.join("\n"));
}

#[test]
fn three_nodes_crawl_a_site_each_page_once() {
    let redis = RedisServer::start();
    // Eight hosts (the queue is shared out by host), pages answered slowly
    // enough that all three nodes take part.
    let sites: Vec<TestServer> = (1..=8)
        .map(|last| tree_site(&format!("127.0.0.{last}"), 250, Duration::from_millis(20)))
        .collect();
    let seeds: Vec<String> = sites.iter().map(|site| site.url("/p/0")).collect();
    let workspace = Workspace::new();
    let nodes = ["n1", "n2", "n3"];
    let mut daemons: Vec<Daemon> = nodes
        .iter()
        .map(|node| start_node(&node_config(&workspace, node, &seeds, &redis, ""), true))
        .collect();
    for (daemon, node) in daemons.iter_mut().zip(nodes) {
        wait_exit_ok(daemon, node);
        if std::env::var("SHOW").is_ok() {
            let _ = daemon.wait_for("stopped");
            eprintln!("=== {node}\n{}", daemon.seen.iter().filter(|l| !l.contains("title url")).cloned().collect::<Vec<_>>().join("\n"));
        }
    }
    for site in &sites {
        let hits = page_hits(site);
        assert_eq!(hits.len(), 250, "every page fetched");
        assert!(
            hits.values().all(|count| *count == 1),
            "a page was fetched twice: {:?}",
            hits.iter().filter(|(_, count)| **count > 1).collect::<Vec<_>>()
        );
    }
    let records = records_of(&workspace, &nodes);
    let mut urls: HashMap<String, usize> = HashMap::new();
    for (node, record) in &records {
        assert_eq!(record["node"], Value::from(node.as_str()), "{record}");
        assert_eq!(record["error"], Value::Null, "{record}");
        *urls.entry(record["url"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for (node, _) in &records {
        *per_node.entry(node.as_str()).or_default() += 1;
    }
    eprintln!("records per node: {per_node:?}");
    assert_eq!(urls.len(), 2000, "one record per page");
    assert!(urls.values().all(|count| *count == 1), "one record per page, on one node");
}
