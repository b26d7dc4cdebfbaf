//! The nodes of the cluster: membership (ping, heartbeat, idleness, the
//! configs they published) and the summary `crawler status` prints.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::SystemTime;

use redis::Commands as _;

use url::Url;

use super::state::{Change, UrlState};
use super::{PARTITIONS, RedisFrontier, scripts};
use crate::frontier::{
    ClusterStatus, Details, Membership, NodeStatus, PageRow, PublishedConfig, Status, StoreError,
    Summary, TitleChange, unix_ms,
};

/// URL states read per `HSCAN` call when listing pages.
const PAGE_SCAN: usize = 1000;

impl Membership for RedisFrontier {
    fn is_shared(&self) -> bool {
        true
    }

    /// Checks that Redis answers (`PING`).
    ///
    /// # Errors
    /// It cannot be reached or refuses.
    fn ping(&mut self) -> Result<(), StoreError> {
        self.link
            .run(|connection| redis::cmd("PING").query::<String>(connection))
            .map(drop)
    }

    fn tick(&mut self, now: SystemTime, fetching: u64) -> Result<(), StoreError> {
        if self.last_beat.is_none() && self.in_flight.is_empty() {
            // Not crawling yet (or any more): nothing to renew.
            return Ok(());
        }
        self.beat(now, false)?;
        if self.fetching != Some(fetching) {
            let (key, node) = (self.key("fetching"), self.settings.node.clone());
            self.link
                .run(|connection| connection.hset::<_, _, _, ()>(key, node, fetching))?;
            self.fetching = Some(fetching);
        }
        Ok(())
    }

    fn is_idle(&mut self, now: SystemTime) -> Result<bool, StoreError> {
        if !self.in_flight.is_empty() {
            return Ok(false);
        }
        let mut invocation = scripts::IDLE.prepare_invoke();
        invocation.arg(&self.prefix).arg(unix_ms(now));
        let idle: i64 = self.link.run(|connection| invocation.invoke(connection))?;
        Ok(idle == 1)
    }

    fn publish_config(&mut self, sections: &str) -> Result<(), StoreError> {
        let (key, node) = (self.key("configs"), self.settings.node.clone());
        let value = sections.to_owned();
        self.link
            .run(|connection| connection.hset::<_, _, _, ()>(key, node, value))
    }

    /// The node names and crawl settings published to the cluster.
    ///
    /// # Errors
    /// Redis cannot be read.
    fn published_configs(&mut self) -> Result<Vec<PublishedConfig>, StoreError> {
        let (configs_key, nodes_key) = (self.key("configs"), self.key("nodes"));
        let now = unix_ms(SystemTime::now());
        let (configs, nodes): (HashMap<String, String>, HashMap<String, i64>) =
            self.link.run(|connection| {
                Ok((
                    connection.hgetall(&configs_key)?,
                    connection.hgetall(&nodes_key)?,
                ))
            })?;
        let mut list: Vec<PublishedConfig> = configs
            .into_iter()
            .map(|(node, sections)| PublishedConfig {
                is_alive: nodes.get(&node).is_some_and(|until| *until > now),
                node,
                sections,
            })
            .collect();
        list.sort();
        Ok(list)
    }
}

impl Summary for RedisFrontier {
    fn location(&self) -> PathBuf {
        self.path()
    }

    fn history(&mut self, url: &Url) -> Result<Vec<TitleChange>, StoreError> {
        let key = self.key(&format!("history:{url}"));
        let stored: Vec<String> = self.link.run(|connection| connection.lrange(key, 0, -1))?;
        Ok(stored
            .iter()
            .filter_map(|text| serde_json::from_str::<Change<'_>>(text).ok())
            .map(|change| change.to_change())
            .collect())
    }

    fn each_page(&mut self, visit: &mut dyn FnMut(PageRow)) -> Result<(), StoreError> {
        let report_key = self.key("report");
        self.each_field(&self.key("url"), |this, items: Vec<(String, String)>| {
            let urls: Vec<&str> = items.iter().map(|(url, _)| url.as_str()).collect();
            let details: Vec<Option<String>> = if urls.is_empty() {
                Vec::new()
            } else {
                this.link.run(|connection| {
                    redis::cmd("HMGET")
                        .arg(&report_key)
                        .arg(&urls)
                        .query(connection)
                })?
            };
            let details = details.into_iter().chain(std::iter::repeat(None));
            for ((url, state), details) in items.into_iter().zip(details) {
                if let Some(mut row) = UrlState::parse(&state).page_row(url) {
                    row.details = details.as_deref().and_then(Details::parse);
                    visit(row);
                }
            }
            Ok(())
        })
    }

    fn each_outlinks(&mut self, visit: &mut dyn FnMut(&str, &[u8])) -> Result<(), StoreError> {
        self.each_field(&self.key("links"), |_, items: Vec<(String, Vec<u8>)>| {
            for (url, stored) in items {
                visit(&url, &stored);
            }
            Ok(())
        })
    }

    fn each_title_change(
        &mut self,
        since: SystemTime,
        visit: &mut dyn FnMut(&str, TitleChange),
    ) -> Result<(), StoreError> {
        let prefix = self.key("history:");
        let pattern = format!("{}*", redis_glob_escape(&prefix));
        let since = unix_ms(since);
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = self.link.run(|connection| {
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(PAGE_SCAN)
                    .query(connection)
            })?;
            for key in keys {
                let stored: Vec<String> =
                    self.link.run(|connection| connection.lrange(&key, 0, -1))?;
                let url = key.strip_prefix(&prefix).unwrap_or(&key);
                for change in stored
                    .iter()
                    .filter_map(|text| serde_json::from_str::<Change<'_>>(text).ok())
                    .filter(|change| change.a >= since)
                {
                    visit(url, change.to_change());
                }
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    fn status(&mut self, now: SystemTime) -> Result<Status, StoreError> {
        let (url_key, seeds_key) = (self.key("url"), self.key("seeds"));
        let (known, seeds): (u64, u64) = self
            .link
            .run(|connection| Ok((connection.hlen(&url_key)?, connection.hlen(&seeds_key)?)))?;
        let cluster = cluster_status(self, now)?;
        let alive = || cluster.nodes.iter().filter(|node| node.alive);
        let in_flight = alive().map(|node| node.claimed).sum();
        let requests = Some(alive().map(|node| node.in_flight).sum());
        Ok(Status {
            path: self.path(),
            known,
            seeds,
            discovered: known.saturating_sub(seeds),
            due_now: cluster.due_now,
            in_flight,
            requests,
            outcomes: cluster.outcomes.clone(),
            rendered: cluster.rendered,
            hosts: cluster.hosts,
            file_bytes: cluster.dataset_bytes,
            outbox: crate::frontier::Outbox::outbox_status(self)?.into(),
            cluster: Some(cluster),
            ..Status::default()
        })
    }
}

/// What `crawler status` reads from Redis in one go.
struct Snapshot {
    nodes: HashMap<String, i64>,
    busy: HashMap<String, u64>,
    fetching: HashMap<String, u64>,
    outcomes: HashMap<String, i64>,
    rendered: Option<i64>,
    hosts: u64,
    owners: HashMap<String, String>,
    queued: u64,
    due_now: u64,
    seen: u64,
    memory: String,
}

/// Reads the cluster's summary for `crawler status`.
fn cluster_status(
    frontier: &mut RedisFrontier,
    now: SystemTime,
) -> Result<ClusterStatus, StoreError> {
    let prefix = frontier.prefix.clone();
    let round_key = frontier.key("meta");
    let now_ms = unix_ms(now);
    let snapshot = frontier.link.run(|connection| {
        // The service's seen-set and the last `--once` run's.
        let round: Option<u64> = connection.hget(&round_key, "round")?;
        let last_run: u64 = match round {
            Some(round) if round > 0 => connection.scard(format!("{prefix}seen:{round}"))?,
            _ => 0,
        };
        let mut pipe = redis::pipe();
        for p in 0..PARTITIONS {
            pipe.zcard(format!("{prefix}due:{p}"));
            pipe.zcount(format!("{prefix}due:{p}"), "-inf", now_ms);
        }
        let counts: Vec<u64> = pipe.query(connection)?;
        Ok(Snapshot {
            nodes: connection.hgetall(format!("{prefix}nodes"))?,
            busy: connection.hgetall(format!("{prefix}busy"))?,
            fetching: connection.hgetall(format!("{prefix}fetching"))?,
            outcomes: connection.hgetall(format!("{prefix}outcomes"))?,
            rendered: connection.get(format!("{prefix}rendered"))?,
            hosts: connection.hlen(format!("{prefix}hosts"))?,
            owners: connection.hgetall(format!("{prefix}owners"))?,
            queued: counts.iter().step_by(2).sum(),
            due_now: counts.iter().skip(1).step_by(2).sum(),
            seen: connection.scard::<_, u64>(format!("{prefix}seen:0"))? + last_run,
            memory: redis::cmd("INFO").arg("memory").query(connection)?,
        })
    })?;
    let mut list: Vec<NodeStatus> = snapshot
        .nodes
        .iter()
        .map(|(name, until)| NodeStatus {
            name: name.clone(),
            alive: *until > now_ms,
            in_flight: snapshot.fetching.get(name).copied().unwrap_or(0),
            claimed: snapshot.busy.get(name).copied().unwrap_or(0),
            partitions: snapshot
                .owners
                .values()
                .filter(|owner| owner.split('|').next() == Some(name.as_str()))
                .count() as u64,
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let memory = |field: &str| -> u64 {
        snapshot
            .memory
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0)
    };
    let outcomes = snapshot
        .outcomes
        .iter()
        .filter_map(|(kind, count)| Some((kind.clone(), u64::try_from(*count).ok()?)))
        .filter(|(_, count)| *count > 0)
        .collect();
    Ok(ClusterStatus {
        name: frontier.settings.name.clone(),
        nodes: list,
        queued: snapshot.queued,
        due_now: snapshot.due_now,
        seen: snapshot.seen,
        redis_bytes: memory("used_memory:"),
        dataset_bytes: memory("used_memory_dataset:"),
        outcomes,
        rendered: snapshot
            .rendered
            .and_then(|count| u64::try_from(count).ok())
            .unwrap_or(0),
        hosts: snapshot.hosts,
    })
}

impl RedisFrontier {
    /// Scans the hash `key` ([`PAGE_SCAN`] fields at a time), handing each
    /// batch of fields and values to `batch`.
    fn each_field<V: redis::FromRedisValue>(
        &mut self,
        key: &str,
        mut batch: impl FnMut(&mut Self, Vec<(String, V)>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut cursor = 0u64;
        loop {
            let (next, items): (u64, Vec<(String, V)>) = self.link.run(|connection| {
                redis::cmd("HSCAN")
                    .arg(key)
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(PAGE_SCAN)
                    .query(connection)
            })?;
            batch(self, items)?;
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }
}

/// `text` with the glob characters of Redis's `MATCH` escaped.
fn redis_glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
