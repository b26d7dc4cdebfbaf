//! The text `crawler status` prints.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::frontier::{ClusterStatus, PublishedConfig, Status};

/// The status as a few lines of text for a terminal.
pub fn describe(status: &Status, now: SystemTime) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "state `{}`: {}",
        status.path.display(),
        bytesize::ByteSize::b(status.file_bytes).display().iec()
    );
    let sitemaps = match status.sitemaps {
        0 => String::new(),
        count => format!(" ({count} sitemap files read)"),
    };
    let _ = writeln!(
        text,
        "urls: {} known: {} seeds, {} discovered, {} retired{sitemaps}",
        status.known, status.seeds, status.discovered, status.retired
    );
    let in_flight = in_flight_text(status);
    let _ = writeln!(
        text,
        "due now: {}, in flight: {in_flight}, never fetched: {}",
        status.due_now, status.never_fetched
    );
    let next = status.next_due.as_deref().map_or_else(
        || "none".to_owned(),
        |due| match humantime::parse_rfc3339(due) {
            Ok(at) => {
                let left = at.duration_since(now).unwrap_or_default();
                let left = Duration::from_secs(left.as_secs());
                format!("{due} (in {})", humantime::format_duration(left))
            }
            Err(_) => due.to_owned(),
        },
    );
    let _ = writeln!(text, "next due: {next}");
    let outcomes: Vec<String> = status
        .outcomes
        .iter()
        .map(|(kind, count)| format!("{kind} {count}"))
        .collect();
    let outcomes = if outcomes.is_empty() {
        "none yet".to_owned()
    } else {
        outcomes.join(", ")
    };
    let _ = writeln!(text, "last outcomes: {outcomes}");
    if status.rendered > 0 {
        let _ = writeln!(
            text,
            "rendered: {} (last record rendered in Chromium)",
            status.rendered
        );
    }
    let _ = writeln!(text, "hosts: {}", status.hosts);
    let _ = match (&status.outbox.waiting, &status.outbox.oldest) {
        (0, _) | (_, None) => writeln!(text, "outbox: empty"),
        (waiting, Some(oldest)) => writeln!(
            text,
            "outbox: {waiting} notifications waiting, the oldest queued {oldest}"
        ),
    };
    if let Some(cluster) = &status.cluster {
        describe_cluster(&mut text, cluster);
    }
    text
}

/// "in flight" as it is: claims a stopped crawl left, or requests running
/// and, in a cluster, what the nodes claimed and still queue.
fn in_flight_text(status: &Status) -> String {
    if status.running == Some(false) && status.in_flight > 0 {
        return format!(
            "{} (when the crawl stopped: no crawler runs on this state now; they are due again at its next start)",
            status.in_flight
        );
    }
    let Some(requests) = status.requests else {
        return status.in_flight.to_string();
    };
    match status.in_flight.saturating_sub(requests) {
        0 => format!("{requests} requests"),
        waiting => {
            format!(
                "{requests} requests ({waiting} more URLs claimed, waiting in the nodes' queues)"
            )
        }
    }
}

/// The cluster's lines: its nodes, the shared queue, the seen-set.
fn describe_cluster(text: &mut String, cluster: &ClusterStatus) {
    let alive = cluster.nodes.iter().filter(|node| node.alive).count();
    let _ = writeln!(
        text,
        "cluster `{}`: {alive} nodes alive, {} URLs queued, {} in the seen-set, Redis uses {}",
        cluster.name,
        cluster.queued,
        cluster.seen,
        bytesize::ByteSize::b(cluster.redis_bytes).display().iec()
    );
    for node in &cluster.nodes {
        let _ = writeln!(
            text,
            "  node {}: {}, {} requests in flight, {} URLs claimed, {} partitions",
            node.name,
            if node.alive { "alive" } else { "lease ran out" },
            node.in_flight,
            node.claimed,
            node.partitions
        );
    }
}

/// How the configs other nodes published (node, JSON sections, alive)
/// compare with `mine`: one line per node, naming the keys that differ.
pub fn compare_configs(mine: &str, published: &[PublishedConfig]) -> Vec<String> {
    let mine: serde_json::Value = serde_json::from_str(mine).unwrap_or_default();
    if published.is_empty() {
        return vec!["cluster: no node has published its config yet".to_owned()];
    }
    published
        .iter()
        .map(|published| {
            let theirs: serde_json::Value =
                serde_json::from_str(&published.sections).unwrap_or_default();
            let state = if published.is_alive {
                "alive"
            } else {
                "not running"
            };
            let node = &published.node;
            let differing = differing_keys(&mine, &theirs);
            if differing.is_empty() {
                format!("node {node} ({state}): same config")
            } else {
                format!(
                    "node {node} ({state}): config differs in {}",
                    differing.join(", ")
                )
            }
        })
        .collect()
}

/// The dotted keys whose values differ between two JSON objects.
fn differing_keys(mine: &serde_json::Value, theirs: &serde_json::Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (a, b) = (
        mine.as_object().unwrap_or(&empty),
        theirs.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut differing = Vec::new();
    for key in keys {
        match (a.get(key), b.get(key)) {
            (Some(x), Some(y)) if x.is_object() && y.is_object() => {
                differing.extend(
                    differing_keys(x, y)
                        .into_iter()
                        .map(|inner| format!("{key}.{inner}")),
                );
            }
            (x, y) if x != y => differing.push(key.clone()),
            _ => {}
        }
    }
    differing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differing_configs_name_their_keys() {
        let mine = r#"{"workers":8,"crawl":{"max_depth":2,"scope":"host"},"seeds":{"count":2,"digest":"a"}}"#;
        let published = vec![
            PublishedConfig {
                node: "n1".to_owned(),
                sections: mine.to_owned(),
                is_alive: true,
            },
            PublishedConfig {
                node: "n2".to_owned(),
                sections: r#"{"workers":8,"crawl":{"max_depth":3,"scope":"host"},"seeds":{"count":3,"digest":"b"}}"#.to_owned(),
                is_alive: false,
            },
        ];
        let lines = compare_configs(mine, &published);
        assert_eq!(lines[0], "node n1 (alive): same config");
        assert_eq!(
            lines[1],
            "node n2 (not running): config differs in crawl.max_depth, seeds.count, seeds.digest"
        );
    }
}
