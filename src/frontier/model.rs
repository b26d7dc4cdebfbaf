//! What the store and its callers exchange: what is known about a URL, how
//! it was found, a claim handed out, an outcome brought back, and the
//! answers of seed listings and `--once` runs.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::record::Record;
use crate::watch::{Notice, Watch};

/// What is known about a URL from its last successful fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// The title seen then (`None`: the page had none).
    pub title: Option<String>,
    /// Its `ETag`, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// Its `Last-Modified`, sent back as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

impl Known {
    /// Whether a conditional request can be made.
    pub fn has_validators(&self) -> bool {
        self.etag.is_some() || self.last_modified.is_some()
    }
}

/// How a discovered URL entered the crawl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lineage {
    /// Links followed from its seed to reach it (1 for a page a seed links to).
    pub depth: u32,
    /// The seed it descends from: its links are judged against this seed's scope.
    pub seed: Url,
    /// The page it was found on (or the sitemap that lists it).
    pub found_on: String,
    /// Whether that page came from a public address: this URL may then
    /// not lead to a private one.
    pub is_from_public: bool,
}

/// A URL handed out to be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The normalized URL.
    pub url: Url,
    /// What the last successful fetch saw, if there was one.
    pub known: Option<Known>,
    /// How it was discovered; `None` for a seed.
    pub lineage: Option<Lineage>,
    /// What the last fetches saw, for the `[[notify]]` targets.
    pub watch: Option<Watch>,
}

/// The result of fetching a claimed URL, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The URL as claimed.
    pub url: String,
    /// When the fetch started.
    pub fetched_at: SystemTime,
    /// When its record was written.
    pub finished_at: SystemTime,
    /// The final HTTP status, if a response came.
    pub status: Option<u16>,
    /// The error kind (`timeout`, `robots`, …), `None` for a page.
    pub error_kind: Option<String>,
    /// The title and validators, for a page (`None` for an error: the last ones are kept).
    pub page: Option<Known>,
    /// The URL after redirects, when it differs from `url`.
    pub final_url: Option<String>,
    /// The links to follow from this page; `None` when its links were not
    /// extracted (beyond `max_depth`, an error, `nofollow`).
    pub links: Option<Vec<String>>,
    /// Whether the page came from a public address.
    pub is_from_public: bool,
    /// The title change this fetch saw, if it saw one.
    pub title_change: Option<TitleChange>,
    /// The URL's watch state now (`None`: unchanged, no targets).
    pub watch: Option<Watch>,
    /// Notifications to queue in the outbox with this result.
    pub notices: Vec<Notice>,
    /// Whether the title and links came from rendering the page.
    pub rendered: bool,
    /// What reports read of this fetch; `None` keeps the stored one.
    pub details: Option<Details>,
    /// The anchor text of each of `links`, when the link graph is kept
    /// (`report.links`): the page's outgoing links are then stored.
    pub anchors: Option<Vec<String>>,
}

/// What reports read of a URL's last fetch besides its outcome, stored as
/// compact JSON (short names; fields at their default are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    /// The final HTTP status, if a response came.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Body bytes read.
    #[serde(rename = "b", default, skip_serializing_if = "is_zero")]
    pub bytes: u64,
    /// Time from the first request to the record, in milliseconds.
    #[serde(rename = "ms", default, skip_serializing_if = "is_zero")]
    pub elapsed_ms: u64,
    /// The `Content-Type` header.
    #[serde(rename = "ct", default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The page's HTML `title` elements, when its links were read.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub titles: Option<u32>,
    /// The title from the HTML alone, when a render changed it.
    #[serde(rename = "st", default, skip_serializing_if = "Option::is_none")]
    pub static_title: Option<Option<String>>,
    /// The redirects followed: each URL that answered with a redirect, and
    /// its status; the last one led to the final URL.
    #[serde(rename = "rd", default, skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<(String, u16)>,
    /// The URL after redirects, when it differs.
    #[serde(rename = "fu", default, skip_serializing_if = "Option::is_none")]
    pub final_url: Option<String>,
    /// The error, `"kind: message"` (cut), for a failure.
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// An outgoing link checked (`crawl.check_external`), not crawled.
    #[serde(rename = "x", default, skip_serializing_if = "std::ops::Not::not")]
    pub is_check: bool,
}

/// Characters of an error message kept in [`Details`].
const MAX_DETAILS_ERROR: usize = 300;

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl Details {
    /// What reports keep of `record` (its redirects, title elements and
    /// whether it was a check come from the fetch).
    pub fn of(
        record: &Record,
        redirects: Vec<(String, u16)>,
        titles: Option<u32>,
        is_check: bool,
    ) -> Self {
        let static_title = record
            .static_title
            .clone()
            .filter(|static_title| record.rendered && *static_title != record.title);
        Self {
            status: record.status,
            bytes: record.bytes,
            elapsed_ms: record.elapsed_ms,
            content_type: record.content_type.clone(),
            titles,
            static_title,
            redirects,
            final_url: (record.final_url != record.url).then(|| record.final_url.clone()),
            error: record
                .error
                .as_deref()
                .map(|error| error.chars().take(MAX_DETAILS_ERROR).collect()),
            is_check,
        }
    }

    /// The stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored form; a damaged one reads as nothing known.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// Title changes kept per URL at most (the newest).
pub const MAX_HISTORY: u32 = 100;

/// A URL's title changed: when the fetch that saw it started, from what, to what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleChange {
    /// When the fetch that saw the new title started.
    pub at: SystemTime,
    /// The title before (`None`: the page had none).
    pub from: Option<String>,
    /// The title after (`None`: the page has none now).
    pub to: Option<String>,
}

/// What the store keeps of a page beyond its [`Record`]: the validators
/// to send next time, which of its links the crawl follows, and where it
/// was served from. The worker hands it on with the record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageFacts {
    /// The page's `ETag`.
    pub etag: Option<String>,
    /// The page's `Last-Modified`.
    pub last_modified: Option<String>,
    /// Of the record's links, the ones the crawl follows, by index; `None`
    /// when its links were not judged.
    pub follow: Option<Vec<usize>>,
    /// Whether the page came from a public address.
    pub is_from_public: bool,
    /// The URL's watch state now, when targets watch it.
    pub watch: Option<Watch>,
    /// What the targets are told.
    pub notices: Vec<Notice>,
    /// The title the store keeps instead of the record's: a failed render
    /// keeps the last one seen.
    pub kept_title: Option<Option<String>>,
    /// The anchor text of each of the record's links, when the link graph
    /// is kept (`report.links`).
    pub anchors: Option<Vec<String>>,
    /// The redirects the fetch followed: each URL that redirected, and its status.
    pub redirects: Vec<(String, u16)>,
    /// The page's HTML `title` elements, when its links were read.
    pub titles: Option<u32>,
    /// The URL was checked (`crawl.check_external`), not crawled.
    pub is_check: bool,
}

impl Outcome {
    /// How the fetch ended, as `crawler status` counts it: `ok`,
    /// `not_modified` (a 304), or the error kind.
    pub fn kind(&self) -> &str {
        match (&self.error_kind, self.status) {
            (Some(kind), _) => kind,
            (None, Some(304)) => "not_modified",
            (None, _) => "ok",
        }
    }

    /// What the store keeps of a written `record` and its `facts`, finished now.
    pub fn of(mut record: Record, facts: PageFacts) -> Self {
        let now = SystemTime::now();
        let details = Details::of(&record, facts.redirects, facts.titles, facts.is_check);
        let anchors = match (&facts.follow, facts.anchors) {
            (Some(follow), Some(mut all)) => Some(
                follow
                    .iter()
                    .map(|&index| all.get_mut(index).map(std::mem::take).unwrap_or_default())
                    .collect(),
            ),
            _ => None,
        };
        // The followed links move out of the written record: no copy.
        let links = match (facts.follow, record.links.as_mut()) {
            (Some(follow), Some(all)) => Some(
                follow
                    .into_iter()
                    .filter_map(|index| all.get_mut(index).map(std::mem::take))
                    .collect(),
            ),
            (Some(_), None) => Some(Vec::new()),
            (None, _) => None,
        };
        let fetched_at = humantime::parse_rfc3339(&record.fetched_at).unwrap_or(now);
        let error_kind = record.error_kind().map(str::to_owned);
        let title_change = record
            .previous_title
            .take()
            .filter(|_| record.changed)
            .map(|from| TitleChange {
                at: fetched_at,
                from,
                to: record.title.clone(),
            });
        let page = record.error.is_none().then_some(Known {
            title: facts.kept_title.unwrap_or(record.title),
            etag: facts.etag,
            last_modified: facts.last_modified,
        });
        Self {
            final_url: (record.final_url != record.url).then_some(record.final_url),
            url: record.url,
            fetched_at,
            finished_at: now,
            status: record.status,
            error_kind,
            page,
            links,
            is_from_public: facts.is_from_public,
            title_change,
            watch: facts.watch,
            notices: facts.notices,
            rendered: record.rendered,
            details: Some(details),
            anchors,
        }
    }
}

/// Where a `--once` run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// The run's number (1 for the first).
    pub number: u64,
    /// Whether this continues a run that was interrupted.
    pub is_resumed: bool,
    /// Seeds listed now that already have their record in this run.
    pub recorded: u64,
    /// Discovered URLs of this run without their record yet (a resumed run
    /// fetches them).
    pub discovered_due: u64,
}

/// What a new seed list changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedChanges {
    /// Seeds that were not listed before (or were listed, removed and listed again).
    pub added: usize,
    /// Seeds no longer listed: they leave the schedule, their last record stays.
    pub removed: usize,
}

/// A change of schedule for every idle URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reschedule {
    /// The service starts: idle URLs without a due time get one
    /// (`recrawl_interval` after their last fetch, or now).
    Start,
    /// Every idle URL is due now (`recrawl_interval = "0s"`: once per start or reload).
    AllDue,
    /// The interval changed: URLs due later than one new interval are pulled in.
    Interval,
}

/// The 429/503 backoff a host is under, as the nodes of a cluster share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay kept between its requests.
    pub delay: Duration,
    /// How long its `Retry-After` still asks to wait.
    pub wait: Duration,
}

/// A host's answer to its robots.txt request, as the cluster shares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobotsAnswer {
    /// The final HTTP status.
    pub status: u16,
    /// The body (cut at robots.txt's size limit).
    pub body: Vec<u8>,
    /// Whether it came from a public address.
    pub is_from_public: bool,
}

/// The config one node of a cluster published, for `crawler check`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PublishedConfig {
    /// The node's name.
    pub node: String,
    /// Its config's shared sections, as JSON.
    pub sections: String,
    /// Whether the node is running (its lease is current).
    pub is_alive: bool,
}

/// Notifications the outbox holds at most; beyond, new ones are refused
/// (counted and logged at ERROR), the oldest are kept.
pub const MAX_OUTBOX: u64 = 100_000;

/// A notification waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The notification.
    pub notice: Notice,
    /// When it was queued.
    pub created_at: SystemTime,
    /// Deliveries tried so far.
    pub attempts: u32,
}

/// How a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Delivered, or given up: it leaves the outbox.
    Done,
    /// To be tried again at this time.
    RetryAt(SystemTime),
}

/// What the outbox holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStatus {
    /// Notifications waiting.
    pub depth: u64,
    /// When the oldest of them was queued.
    pub oldest: Option<SystemTime>,
}

/// One URL of the crawl as the store knows it now, for reports: how it
/// entered, and how its last fetch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRow {
    /// The URL (normalized).
    pub url: String,
    /// `true` for a seed, `false` for a page found by links or sitemaps.
    pub is_seed: bool,
    /// Links followed from its seed to reach it (0 for a seed).
    pub depth: u32,
    /// The page it was first found on (a discovered URL).
    pub found_on: Option<String>,
    /// How its last fetch ended (`ok`, `not_modified`, an error kind);
    /// `None` while it was never fetched.
    pub outcome: Option<String>,
    /// The title of its last successful fetch (`None`: the page had none,
    /// or never answered).
    pub title: Option<String>,
    /// When its last fetch started.
    pub fetched_at: Option<SystemTime>,
    /// What reports read of its last fetch (`None`: not fetched since the
    /// store kept them).
    pub details: Option<Details>,
}
