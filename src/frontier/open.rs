//! The one door to the store: which backend a config names (the only place
//! that reads `[cluster] redis`) and opening it for what the caller does.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use super::contract::{Frontier, Schedule, SharedHosts};
use super::error::StoreError;
use super::redis::{LEASE, NodeSettings, RedisFrontier, RedisHosts, shown_address};
use super::sqlite::SqliteFrontier;
use crate::config::Config;

/// Seeds read at once while their digest is computed.
const DIGEST_BATCH: usize = 10_000;

/// The store a config names.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The embedded store: an SQLite file of this process.
    Embedded {
        /// `state_file`, resolved.
        path: PathBuf,
    },
    /// A crawl shared with other nodes through Redis.
    Shared(NodeSettings),
}

/// What the store is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Crawling: created when missing, claims a crash left behind released.
    Crawl,
    /// A `--once` run that follows links without a `state_file`: a private
    /// file, deleted when closed (a shared store is used as for `Crawl`).
    Temporary,
    /// Reading it (`crawler status`, `crawler check`): it must exist.
    Inspect,
}

impl Backend {
    /// The backend `config` names.
    pub fn of(config: &Config) -> Self {
        match &config.settings.cluster.redis {
            Some(_) => Self::Shared(node_settings(config)),
            None => Self::Embedded {
                path: config.state_file.clone(),
            },
        }
    }

    /// Whether other processes share the store.
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Shared(_))
    }

    /// The files a crawl on this backend writes in place: the state file
    /// and its lock (none for a shared store).
    pub fn files(&self) -> Vec<PathBuf> {
        match self {
            Self::Embedded { path } => vec![path.clone(), super::sqlite::lock_path(path)],
            Self::Shared(_) => Vec::new(),
        }
    }

    /// Where the crawl's state lives, for `crawler check`'s summary.
    pub fn describe(&self) -> String {
        match self {
            Self::Shared(node) => format!(
                "cluster `{}` on {} as node `{}`",
                node.name,
                shown_address(&node.address),
                node.node
            ),
            Self::Embedded { path } => format!(
                "state `{}`{}",
                path.display(),
                if path.exists() {
                    ""
                } else {
                    " (not created yet)"
                }
            ),
        }
    }
}

/// Opens the store `config` names, for `access`.
///
/// # Errors
/// The state file is unusable or cannot be created; the Redis address is
/// not a Redis URL. An unreachable Redis is not an error here: it is
/// connected on first use.
pub fn open(config: &Config, access: Access) -> Result<Box<dyn Frontier>, StoreError> {
    let limit = config.settings.crawl.max_pages_per_host;
    let mut frontier: Box<dyn Frontier> = match (Backend::of(config), access) {
        (Backend::Shared(node), _) => Box::new(RedisFrontier::new(node)?),
        (Backend::Embedded { path }, Access::Inspect) => {
            Box::new(SqliteFrontier::open_existing(&path)?)
        }
        (Backend::Embedded { .. }, Access::Temporary) => {
            Box::new(SqliteFrontier::temporary(config.settings.recrawl_interval)?)
        }
        (Backend::Embedded { path }, Access::Crawl) => Box::new(open_embedded(config, &path)?),
    };
    frontier.set_max_pages_per_host(limit);
    Ok(frontier)
}

/// Checks the store without changing it (`crawler check`): an existing
/// state file must be ours and sound; a missing one is created at start.
///
/// # Errors
/// The state file is unusable.
pub fn validate(config: &Config) -> Result<(), StoreError> {
    match Backend::of(config) {
        Backend::Embedded { path } if path.exists() => SqliteFrontier::validate(&path),
        _ => Ok(()),
    }
}

/// Opens the state database (importing an earlier version's JSON state)
/// and releases the claims a crash left behind.
fn open_embedded(config: &Config, path: &std::path::Path) -> Result<SqliteFrontier, StoreError> {
    let legacy = config.legacy_state_file();
    let interval = config.settings.recrawl_interval;
    let (mut frontier, imported) = SqliteFrontier::open(path, legacy.as_deref(), interval)?;
    if let Some(import) = imported {
        log::info!(
            "imported {} URLs (last titles and fetch times) from `{}` into `{}`; the old file is now `{}`",
            import.count,
            import.from.display(),
            path.display(),
            import.kept_as.display()
        );
    }
    let released = frontier.release_claims(SystemTime::now())?;
    if released > 0 {
        log::info!(
            "{released} URLs were in flight when the crawl last stopped; they are due again"
        );
    }
    Ok(frontier)
}

/// What the cluster shares about hosts (robots.txt, backoff), when the
/// store is shared; `None` otherwise, or when it cannot be set up (said).
pub fn shared_hosts(config: &Config) -> Option<Arc<dyn SharedHosts>> {
    let Backend::Shared(node) = Backend::of(config) else {
        return None;
    };
    match RedisHosts::new(&node.address, &node.name) {
        Ok(hosts) => Some(Arc::new(hosts)),
        Err(err) => {
            log::warn!("robots.txt and backoff are not shared with the cluster: {err}");
            None
        }
    }
}

/// What a node is told about the cluster by its config.
fn node_settings(config: &Config) -> NodeSettings {
    let settings = &config.settings;
    NodeSettings {
        address: settings.cluster.redis.clone().unwrap_or_default(),
        name: settings.cluster.name.clone(),
        node: config.node_name(),
        lease: LEASE,
        handover: settings.politeness.per_host_delay,
        interval: settings.recrawl_interval,
    }
}

/// The config sections every node of a cluster should share, as JSON
/// (`crawler check` compares them between nodes): the settings without
/// what is node-local (output, metrics, state file, `[cluster]`), and the
/// seed list's size and digest.
pub fn published_sections(config: &Config) -> String {
    let mut settings = serde_json::to_value(&config.settings).unwrap_or_default();
    if let Some(table) = settings.as_object_mut() {
        for local in [
            "output",
            "metrics",
            "state_file",
            "cluster",
            "seeds",
            "seeds_file",
        ] {
            table.remove(local);
        }
        // A target's URL may hold a token: nodes compare a digest of it.
        if let Some(serde_json::Value::Array(targets)) = table.get_mut("notify") {
            for (target, written) in targets.iter_mut().zip(&config.settings.notify) {
                let digest = xxhash_rust::xxh3::xxh3_64(written.url.as_bytes());
                target["url_digest"] = format!("{digest:016x}").into();
            }
        }
        let (count, digest) = seeds_digest(config);
        table.insert(
            "seeds".to_owned(),
            serde_json::json!({ "count": count, "digest": format!("{digest:016x}") }),
        );
    }
    settings.to_string()
}

/// How many seeds `config` lists, and a digest of them that ignores order.
fn seeds_digest(config: &Config) -> (u64, u64) {
    let (mut count, mut digest) = (0u64, 0u64);
    let mut seeds = config.seed_stream();
    loop {
        let batch = seeds.next_batch(DIGEST_BATCH);
        if batch.is_empty() {
            return (count, digest);
        }
        for url in &batch {
            digest ^= xxhash_rust::xxh3::xxh3_64(url.as_str().as_bytes());
            count += 1;
        }
    }
}
