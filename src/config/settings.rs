//! The settings of `crawler.toml`: every key, its type and its default.
//!
//! Each default is a `DEFAULT_*` constant, a `default_*()` function used by
//! serde, and the hand-written `Default` calling the same functions, so a
//! missing key always equals `Settings::default()`.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use serde::{Deserialize, Serialize};

use super::notify::NotifyTarget;
use super::render::RenderSettings;

/// Default size of the worker pool.
pub const DEFAULT_WORKERS: usize = 32;
/// Default bound of the work queue.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;
/// Default limit for a whole fetch: connect, TLS, headers and body.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default limit for establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default limit on decompressed body bytes (4 MiB).
pub const DEFAULT_MAX_BODY_SIZE: ByteSize = ByteSize::mib(4);
/// Default number of redirects followed.
pub const DEFAULT_MAX_REDIRECTS: u32 = 10;
/// Default time between the end of one fetch of a seed and the next.
pub const DEFAULT_RECRAWL_INTERVAL: Duration = Duration::from_secs(3600);
/// Default grace period for in-flight fetches at shutdown.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// Default first backoff (it doubles each retry, with full jitter).
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// Default cap on one backoff, and on an honoured `Retry-After`.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Default time between two stats lines.
pub const DEFAULT_STATS_INTERVAL: Duration = Duration::from_secs(60);
/// Default concurrent requests to one host (scheme + host + port).
pub const DEFAULT_PER_HOST_CONCURRENCY: usize = 2;
/// Default minimum gap between the starts of two requests to one host.
pub const DEFAULT_PER_HOST_DELAY: Duration = Duration::from_secs(1);
/// Default cap on a robots.txt `Crawl-delay` and on a host's adaptive backoff.
pub const DEFAULT_MAX_CRAWL_DELAY: Duration = Duration::from_secs(30);
/// Default number of URLs one host may have in the crawl.
pub const DEFAULT_MAX_PAGES_PER_HOST: u64 = 100_000;
/// Default longest URL followed, in bytes.
pub const DEFAULT_MAX_URL_LENGTH: usize = 2048;

const fn default_workers() -> usize {
    DEFAULT_WORKERS
}
const fn default_queue_capacity() -> usize {
    DEFAULT_QUEUE_CAPACITY
}
const fn default_request_timeout() -> Duration {
    DEFAULT_REQUEST_TIMEOUT
}
const fn default_connect_timeout() -> Duration {
    DEFAULT_CONNECT_TIMEOUT
}
const fn default_max_body_size() -> ByteSize {
    DEFAULT_MAX_BODY_SIZE
}
const fn default_max_redirects() -> u32 {
    DEFAULT_MAX_REDIRECTS
}
const fn default_recrawl_interval() -> Duration {
    DEFAULT_RECRAWL_INTERVAL
}
const fn default_shutdown_timeout() -> Duration {
    DEFAULT_SHUTDOWN_TIMEOUT
}
const fn default_max_retries() -> u32 {
    DEFAULT_MAX_RETRIES
}
const fn default_initial_backoff() -> Duration {
    DEFAULT_INITIAL_BACKOFF
}
const fn default_max_backoff() -> Duration {
    DEFAULT_MAX_BACKOFF
}
const fn default_stats_interval() -> Duration {
    DEFAULT_STATS_INTERVAL
}
const fn default_respect_robots_txt() -> bool {
    true
}
const fn default_per_host_concurrency() -> usize {
    DEFAULT_PER_HOST_CONCURRENCY
}
const fn default_per_host_delay() -> Duration {
    DEFAULT_PER_HOST_DELAY
}
const fn default_max_crawl_delay() -> Duration {
    DEFAULT_MAX_CRAWL_DELAY
}
const fn default_max_pages_per_host() -> u64 {
    DEFAULT_MAX_PAGES_PER_HOST
}
const fn default_max_url_length() -> usize {
    DEFAULT_MAX_URL_LENGTH
}
fn default_user_agent() -> String {
    format!(
        "crawler/{} (+https://example.invalid/crawler)",
        env!("CARGO_PKG_VERSION")
    )
}

/// The settings as written in `crawler.toml`; see the example file for each key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Seed URLs listed inline.
    #[serde(default)]
    pub seeds: Vec<String>,
    /// A file with one seed URL per line, relative to the config file.
    #[serde(default)]
    pub seeds_file: Option<PathBuf>,
    /// Number of concurrent fetches.
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// Bound of the work queue between the feeder and the workers.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
    /// The `User-Agent` header sent with every request.
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
    /// Limit for a whole fetch, redirects included.
    #[serde(default = "default_request_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Limit for establishing one connection.
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Limit on decompressed body bytes; a larger page is recorded as `too_large`.
    #[serde(default = "default_max_body_size")]
    pub max_body_size: ByteSize,
    /// Number of redirects followed before giving up.
    #[serde(default = "default_max_redirects")]
    pub max_redirects: u32,
    /// Time from the end of a seed's fetch to its next one; `0s` crawls once per start or reload.
    #[serde(default = "default_recrawl_interval", with = "humantime_serde")]
    pub recrawl_interval: Duration,
    /// Where last-seen titles are kept across restarts (restart to change).
    #[serde(default)]
    pub state_file: Option<PathBuf>,
    /// How long in-flight fetches may finish after SIGTERM/SIGINT.
    #[serde(default = "default_shutdown_timeout", with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// Time between two INFO stats lines; `0s` turns them off.
    #[serde(default = "default_stats_interval", with = "humantime_serde")]
    pub stats_interval: Duration,
    /// Where records go besides the log.
    #[serde(default)]
    pub output: OutputSettings,
    /// Retries of transient failures.
    #[serde(default)]
    pub retry: RetrySettings,
    /// Which addresses may be contacted.
    #[serde(default)]
    pub network: NetworkSettings,
    /// TLS trust.
    #[serde(default)]
    pub tls: TlsSettings,
    /// robots.txt and per-host limits.
    #[serde(default)]
    pub politeness: PolitenessSettings,
    /// The Prometheus endpoint.
    #[serde(default)]
    pub metrics: MetricsSettings,
    /// Link following: depth, scope, patterns and limits.
    #[serde(default)]
    pub crawl: CrawlSettings,
    /// Sharing one crawl among several daemons through Redis.
    #[serde(default)]
    pub cluster: ClusterSettings,
    /// Where title changes, failures and recoveries are sent (`[[notify]]`).
    #[serde(default)]
    pub notify: Vec<NotifyTarget>,
    /// Rendering pages in headless Chromium.
    #[serde(default)]
    pub render: RenderSettings,
    /// The `[report]` table: what `crawler report` and the live page show.
    #[serde(default)]
    pub report: ReportSettings,
}

/// The `[report]` table: what the store keeps for reports, and what
/// `crawler report` and the live page count as a defect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    /// Keep the link graph: each page's followed links with their anchor
    /// texts (broken links are then reported with the pages linking to them).
    #[serde(default = "default_true")]
    pub links: bool,
    /// Titles longer than this (in characters) are reported as too long.
    #[serde(default = "default_title_max")]
    pub title_max: usize,
    /// Titles shorter than this (in characters, not empty) are reported as too short.
    #[serde(default = "default_title_min")]
    pub title_min: usize,
    /// Title changes this recent are listed as changed recently.
    #[serde(default = "default_recent", with = "humantime_serde")]
    pub recent: Duration,
    /// Rows the text format prints per section (the rest are counted).
    #[serde(default = "default_report_top")]
    pub top: usize,
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            links: true,
            title_max: default_title_max(),
            title_min: default_title_min(),
            recent: default_recent(),
            top: default_report_top(),
        }
    }
}

const fn default_true() -> bool {
    true
}
const fn default_title_max() -> usize {
    60
}
const fn default_title_min() -> usize {
    10
}
const fn default_recent() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}
const fn default_report_top() -> usize {
    20
}

/// The `[cluster]` table: several daemons share one crawl through Redis
/// (restart to change any of its keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// The Redis server holding the crawl (`redis://host:port/db`,
    /// `rediss://` for TLS, a password as `redis://:secret@host`); unset:
    /// the embedded store (`state_file`).
    #[serde(default)]
    pub redis: Option<String>,
    /// The crawl's name: every key lives under `crawler:<name>:`.
    #[serde(default = "default_cluster_name")]
    pub name: String,
    /// This daemon's name in the cluster; default: host name and pid.
    #[serde(default)]
    pub node: Option<String>,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        Self {
            redis: None,
            name: default_cluster_name(),
            node: None,
        }
    }
}

fn default_cluster_name() -> String {
    "default".to_owned()
}

/// How far a link may lead from the seed it descends from (`crawl.scope`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeSetting {
    /// The seed's host, over http or https.
    #[default]
    Host,
    /// The seed's registrable domain (Public Suffix List).
    Domain,
    /// Anywhere.
    Any,
}

/// The `[crawl]` table: which links are followed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrawlSettings {
    /// Links followed from a seed: 0 fetches the seeds only, 1 also the pages they link to, …
    #[serde(default)]
    pub max_depth: u32,
    /// Where links may lead: `host`, `domain` or `any`.
    #[serde(default)]
    pub scope: ScopeSetting,
    /// With any, a link must match one of these regexes (on the absolute URL).
    #[serde(default)]
    pub include: Vec<String>,
    /// A link matching one of these regexes is never followed.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// URLs one host may have in the crawl at most.
    #[serde(default = "default_max_pages_per_host")]
    pub max_pages_per_host: u64,
    /// Longer links (in bytes) are not followed.
    #[serde(default = "default_max_url_length")]
    pub max_url_length: usize,
    /// Follow links marked `nofollow` (by `rel`, `<meta name="robots">` or `X-Robots-Tag`).
    #[serde(default)]
    pub follow_nofollow: bool,
    /// Read each seed host's sitemaps (robots.txt `Sitemap:` lines, else `/sitemap.xml`).
    #[serde(default)]
    pub sitemaps: bool,
    /// Check links that leave the scope once each (`HEAD`, else `GET`),
    /// with robots.txt, and record them; they are never followed further.
    #[serde(default)]
    pub check_external: bool,
}

impl Default for CrawlSettings {
    fn default() -> Self {
        Self {
            max_depth: 0,
            scope: ScopeSetting::default(),
            include: Vec::new(),
            exclude: Vec::new(),
            max_pages_per_host: default_max_pages_per_host(),
            max_url_length: default_max_url_length(),
            follow_nofollow: false,
            sitemaps: false,
            check_external: false,
        }
    }
}

/// The `[metrics]` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Serve `/metrics` and `/healthz` on this address (restart to change); off when unset.
    #[serde(default)]
    pub listen: Option<ListenAddress>,
}

/// An address to listen on: an IP address with its port (`127.0.0.1:9898`,
/// `[::1]:9898`), or `localhost:PORT`, resolved once, when the config is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenAddress(SocketAddr);

impl ListenAddress {
    /// The socket address.
    pub fn socket(self) -> SocketAddr {
        self.0
    }

    /// Reads `text`.
    ///
    /// # Errors
    /// `text` is neither an IP address with a port nor `localhost:PORT`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let expected = "expected an address such as 127.0.0.1:9898 or localhost:9898";
        if let Ok(address) = text.parse() {
            return Ok(Self(address));
        }
        let Some(port) = text.strip_prefix("localhost:") else {
            return Err(format!("`{text}` is not an address: {expected}"));
        };
        let port: u16 = port
            .parse()
            .map_err(|_| format!("`{text}` has no valid port: {expected}"))?;
        (("localhost", port).to_socket_addrs())
            .ok()
            .and_then(|mut addresses| addresses.next())
            .map(Self)
            .ok_or_else(|| format!("`localhost` does not resolve on this machine: {expected}"))
    }
}

impl std::fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for ListenAddress {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ListenAddress {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(text.trim()).map_err(serde::de::Error::custom)
    }
}

/// The `[politeness]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolitenessSettings {
    /// Fetch each host's robots.txt (RFC 9309) and skip the pages it disallows.
    #[serde(default = "default_respect_robots_txt")]
    pub respect_robots_txt: bool,
    /// Requests in flight to one host at most; 0 means no limit.
    #[serde(default = "default_per_host_concurrency")]
    pub per_host_concurrency: usize,
    /// Minimum gap between the starts of two requests to one host.
    #[serde(default = "default_per_host_delay", with = "humantime_serde")]
    pub per_host_delay: Duration,
    /// Cap on a robots.txt `Crawl-delay`, and on the backoff after 429/503 answers.
    #[serde(default = "default_max_crawl_delay", with = "humantime_serde")]
    pub max_crawl_delay: Duration,
}

impl Default for PolitenessSettings {
    fn default() -> Self {
        Self {
            respect_robots_txt: default_respect_robots_txt(),
            per_host_concurrency: default_per_host_concurrency(),
            per_host_delay: default_per_host_delay(),
            max_crawl_delay: default_max_crawl_delay(),
        }
    }
}

/// The `[retry]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    /// Retries after the first attempt (0 disables retrying).
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Backoff before the first retry; it doubles each time, with full jitter.
    #[serde(default = "default_initial_backoff", with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Cap on one backoff, and on an honoured `Retry-After` (beyond it: give up).
    #[serde(default = "default_max_backoff", with = "humantime_serde")]
    pub max_backoff: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_retries: default_max_retries(),
            initial_backoff: default_initial_backoff(),
            max_backoff: default_max_backoff(),
        }
    }
}

/// The `[network]` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSettings {
    /// Refuse loopback, private, link-local and unique-local addresses after DNS resolution.
    #[serde(default)]
    pub deny_private: bool,
}

/// The `[tls]` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// A CA bundle (PEM) that replaces the system store for verifying servers.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            seeds: Vec::new(),
            seeds_file: None,
            workers: default_workers(),
            queue_capacity: default_queue_capacity(),
            user_agent: default_user_agent(),
            request_timeout: default_request_timeout(),
            connect_timeout: default_connect_timeout(),
            max_body_size: default_max_body_size(),
            max_redirects: default_max_redirects(),
            recrawl_interval: default_recrawl_interval(),
            state_file: None,
            shutdown_timeout: default_shutdown_timeout(),
            stats_interval: default_stats_interval(),
            output: OutputSettings::default(),
            retry: RetrySettings::default(),
            network: NetworkSettings::default(),
            tls: TlsSettings::default(),
            politeness: PolitenessSettings::default(),
            metrics: MetricsSettings::default(),
            crawl: CrawlSettings::default(),
            cluster: ClusterSettings::default(),
            notify: Vec::new(),
            render: RenderSettings::default(),
            report: ReportSettings::default(),
        }
    }
}

/// The `[output]` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSettings {
    /// Append one JSON object per seed to this file (relative to the config file).
    #[serde(default)]
    pub jsonl: Option<PathBuf>,
}
