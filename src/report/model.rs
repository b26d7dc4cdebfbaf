//! The report's data: what `--format json` writes (field names are a
//! stable contract, documented in the README) and what the other formats
//! lay out.

use std::collections::BTreeMap;

use serde::Serialize;

/// A crawl's problems, read from its store.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// What it covers: always `"now"`, the crawl as the store holds it
    /// (each URL's last fetch), whether or not a round is over.
    pub covers: &'static str,
    /// The store it was read from (a file, or a Redis crawl).
    pub store: String,
    /// The thresholds it used.
    pub settings: Thresholds,
    /// Sections left out (`--section` named others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Title defects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub titles: Option<Titles>,
    /// Link defects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Response times and sizes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance: Option<Performance>,
}

/// The thresholds of `[report]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Thresholds {
    /// Titles longer than this are `too_long`.
    pub title_max: usize,
    /// Titles shorter than this are `too_short`.
    pub title_min: usize,
    /// `titles.changed_recently` covers changes since this time (RFC 3339).
    pub changed_since: String,
    /// Whether the link graph is kept (`report.links`): without it, a
    /// broken link lists only the page it was first found on, and orphans
    /// are not known.
    pub link_graph: bool,
}

/// Counts over the whole crawl.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// URLs in the crawl (seeds, pages found, links checked).
    pub urls: u64,
    /// Seeds listed now.
    pub seeds: u64,
    /// URLs fetched at least once.
    pub fetched: u64,
    /// URLs not fetched yet.
    pub waiting: u64,
    /// Links out of scope checked (`crawl.check_external`).
    pub checked_external: u64,
    /// URLs by how their last fetch ended: `ok`, `not_modified`, or the error kind.
    pub outcomes: BTreeMap<String, u64>,
    /// URLs by the HTTP status of their last fetch.
    pub statuses: BTreeMap<u16, u64>,
    /// Distinct hosts.
    pub hosts: u64,
    /// URLs by depth (links followed from their seed).
    pub depths: BTreeMap<u32, u64>,
    /// URLs whose last record was rendered in Chromium.
    pub rendered: u64,
    /// The first and last fetch the store records (RFC 3339).
    pub first_fetch: Option<String>,
    /// The last fetch the store records.
    pub last_fetch: Option<String>,
    /// Response times of the pages fetched, in milliseconds, by bucket
    /// upper bound (`"100"`: up to 100 ms; `"inf"`: slower).
    pub response_times: Vec<Bucket>,
}

/// One bar of a histogram.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Bucket {
    /// The bucket's upper bound.
    pub le: String,
    /// How many.
    pub count: u64,
}

/// Title defects, over HTML pages whose last fetch succeeded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Titles {
    /// HTML pages the title checks covered.
    pub pages: u64,
    /// No `<title>` element.
    pub missing: Vec<PageTitle>,
    /// A `<title>` with no text.
    pub empty: Vec<PageTitle>,
    /// Titles shared by more than one page, most shared first.
    pub duplicate: Vec<Duplicate>,
    /// Titles over `settings.title_max` characters, longest first.
    pub too_long: Vec<PageTitle>,
    /// Titles under `settings.title_min` characters, shortest first.
    pub too_short: Vec<PageTitle>,
    /// More than one `<title>` element (the first one counts).
    pub multiple: Vec<PageTitle>,
    /// Rendering changed the title (`static_title` is the HTML's).
    pub changed_by_script: Vec<PageTitle>,
    /// The URLs whose title changed since `settings.changed_since`, one
    /// entry each, the most recently changed first.
    pub changed_recently: Vec<Change>,
}

/// A page and its title.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct PageTitle {
    /// The URL.
    pub url: String,
    /// Its title (`null`: none).
    pub title: Option<String>,
    /// Its length in characters.
    pub length: usize,
    /// `<title>` elements (for `multiple`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// The HTML's title (for `changed_by_script`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub static_title: Option<Option<String>>,
}

/// A title several pages share.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Duplicate {
    /// Its title (`null`: none).
    pub title: String,
    /// The pages that have it.
    pub urls: Vec<String>,
}

/// A title change.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Change {
    /// The URL.
    pub url: String,
    /// When the fetch that saw its last change started (RFC 3339).
    pub at: String,
    /// The title before its first change in the window (`null`: none).
    pub from: Option<String>,
    /// The title after its last change (`null`: none).
    pub to: Option<String>,
    /// How many times it changed in the window.
    pub changes: u64,
}

/// Link defects.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Links {
    /// Links that do not answer with a page: 4xx, 5xx, DNS, connect,
    /// timeout, TLS, too many redirects, …; worst first (most linked).
    pub broken: Vec<Target>,
    /// Links to files that answer 200 but are not HTML (a PDF, a `.py`):
    /// not broken, counted apart.
    pub not_html: Vec<Target>,
    /// URLs that redirect, with their chains.
    pub redirects: Vec<Redirect>,
    /// Links robots.txt keeps the crawler from.
    pub robots: Vec<Target>,
    /// Pages no crawled page links to (seeds and sitemap entries);
    /// `null` without the link graph.
    pub orphans: Option<Vec<Orphan>>,
}

/// A linked URL and the pages that link to it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Target {
    /// The URL.
    pub url: String,
    /// The HTTP status, if a response came.
    pub status: Option<u16>,
    /// How the fetch ended: `http_status`, `dns`, `connect`, `timeout`, …
    pub kind: String,
    /// The error, as the record has it.
    pub error: Option<String>,
    /// The `Content-Type` (for `not_html`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Whether it is a link out of scope, checked (`crawl.check_external`).
    pub external: bool,
    /// The pages linking to it, with each link's anchor text.
    pub inlinks: Vec<Inlink>,
    /// How many pages link to it (`inlinks` lists at most [`MAX_INLINKS`]).
    pub inlink_count: u64,
}

/// Inlinks listed per target at most.
pub const MAX_INLINKS: usize = 1000;

/// A page linking to a target.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Inlink {
    /// The page with the link.
    pub page: String,
    /// The link's anchor text (empty: none).
    pub anchor: String,
}

/// A URL that redirects.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Redirect {
    /// The URL.
    pub url: String,
    /// Each URL that redirected and its status, in order (the first is `url`).
    pub chain: Vec<Hop>,
    /// Where it ended (`null` when it never did: too many redirects).
    pub final_url: Option<String>,
    /// Redirects followed.
    pub hops: usize,
    /// A URL comes back in the chain.
    pub is_loop: bool,
    /// More than two hops.
    pub is_long: bool,
    /// The pages linking to it (at most `MAX_INLINKS`), with each link's anchor text.
    pub inlinks: Vec<Inlink>,
    /// How many pages link to it.
    pub inlink_count: u64,
}

/// One redirect.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Hop {
    /// The URL.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
}

/// A page nothing links to.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Orphan {
    /// The URL.
    pub url: String,
    /// `seed` or `sitemap`.
    pub source: &'static str,
}

/// Response times and sizes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Performance {
    /// Per host: pages fetched and their response times, slowest p95 first.
    pub hosts: Vec<HostTimes>,
    /// The slowest pages, slowest first (at most [`MAX_LISTED`]).
    pub slowest: Vec<Sized>,
    /// The largest pages, largest first (at most [`MAX_LISTED`]).
    pub largest: Vec<Sized>,
}

/// Pages listed in `performance.slowest` and `largest` at most.
pub const MAX_LISTED: usize = 100;

/// One host's response times, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostTimes {
    /// The host.
    pub host: String,
    /// Pages fetched.
    pub pages: u64,
    /// Median response time.
    pub p50_ms: u64,
    /// 95th percentile response time.
    pub p95_ms: u64,
    /// Slowest response time.
    pub max_ms: u64,
}

/// A page with its response time and size.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Sized {
    /// The URL.
    pub url: String,
    /// Response time in milliseconds.
    pub ms: u64,
    /// Body bytes.
    pub bytes: u64,
}
