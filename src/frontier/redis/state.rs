//! What the shared frontier keeps per URL, and the batches sent to its scripts.

use serde::{Deserialize, Serialize};
use url::Url;
use xxhash_rust::xxh3::xxh3_64;

use super::PARTITIONS;
use crate::frontier::{Known, Lineage, PageRow, TitleChange};
use crate::watch::Watch;

/// A URL's state in the `url` hash, as the scripts read and write it (JSON,
/// short names: a million URLs keep it small).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlState {
    /// Origin: `s` a seed, `d` discovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub o: Option<String>,
    /// 1 while a seed is listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<u8>,
    /// Depth (discovered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<u32>,
    /// The seed it descends from (discovered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<String>,
    /// The page it was found on (discovered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f: Option<String>,
    /// Whether that page came from a public address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<bool>,
    /// 1 once a fetch succeeded: `t`, `e` and `m` are then its title and validators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<u8>,
    /// The last title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t: Option<String>,
    /// The last `ETag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// The last `Last-Modified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<String>,
    /// The last `--once` run it was recorded in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r: Option<u64>,
    /// When its last record was written (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    /// How its last fetch ended (`ok`, `not_modified`, an error kind), as
    /// counted in `outcomes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Its watch state for the `[[notify]]` targets (JSON, kept as a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub w: Option<String>,
    /// 1 when its last record was rendered in Chromium.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub j: Option<u8>,
}

impl UrlState {
    /// Reads a stored state; an empty or damaged one reads as unknown.
    pub fn parse(text: &str) -> Self {
        if text.is_empty() {
            return Self::default();
        }
        serde_json::from_str(text).unwrap_or_else(|err| {
            log::warn!("cluster: a stored URL state does not parse ({err}); treated as new");
            Self::default()
        })
    }

    /// Its watch state; a damaged one reads as none (watched afresh).
    pub fn watch(&self) -> Option<Watch> {
        serde_json::from_str(self.w.as_deref()?).ok()
    }

    /// The row a report lists for `url`; `None` for a retired seed.
    pub fn page_row(self, url: String) -> Option<PageRow> {
        let is_seed = self.o.as_deref() == Some("s");
        if is_seed && self.a != Some(1) {
            return None;
        }
        Some(PageRow {
            url,
            is_seed,
            depth: if is_seed {
                0
            } else {
                self.d.unwrap_or_default()
            },
            found_on: if is_seed { None } else { self.f },
            outcome: self.x,
            title: self.t.filter(|_| self.k == Some(1)),
            fetched_at: self.at.map(crate::frontier::from_unix_ms),
            details: None,
        })
    }

    /// The state as stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A URL this node claimed.
#[derive(Debug, Clone, PartialEq)]
pub struct Flight {
    /// Its partition.
    pub partition: u16,
    /// Its score in the queue, restored if it is given back.
    pub score: f64,
    /// Its depth and seed, when discovered.
    pub lineage: Option<(u32, String)>,
    /// Its partition's fencing token when it was claimed (`epoch`).
    pub epoch: u64,
}

/// A finished URL in a commit batch: `[partition, url, next score, page]`.
#[derive(Debug, Serialize)]
pub struct Done<'a> {
    pub partition: u16,
    pub url: &'a str,
    /// Its next due time (ms), or -1.
    pub score: i64,
    /// The title and validators of a page; `None` for an error.
    pub page: Option<Page<'a>>,
    /// How the fetch ended: `ok`, `not_modified` or the error kind.
    pub outcome: &'a str,
    /// The title change it saw, as the history keeps it.
    pub change: Option<Change<'a>>,
    /// Its watch state now, as JSON (`None`: unchanged).
    pub watch: Option<String>,
    /// Notifications for the outbox: `[id, target, notice as JSON]`.
    pub notices: Vec<(&'a str, &'a str, String)>,
    /// Whether the record was rendered in Chromium.
    pub rendered: bool,
    /// What reports read of the fetch (JSON, see [`crate::frontier::Details`]).
    pub details: Option<String>,
    /// The page's outgoing links for the link graph.
    pub outlinks: Outlinks,
    /// The fencing token of its claim; `None` for a URL this node did not claim.
    pub epoch: Option<u64>,
}

/// What a commit does to a page's outgoing links in the link graph.
#[derive(Debug)]
pub enum Outlinks {
    /// Leave them (a 304, or the graph is not kept).
    Unchanged,
    /// Store the batch's blob `n` (1-based; see [`Batch::blobs`]).
    Keep(usize),
    /// Take them away: the fetch failed.
    Drop,
}

impl Serialize for Outlinks {
    /// `false` (leave), the blob's number, or `true` (take away): what the script reads.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Unchanged => serializer.serialize_bool(false),
            Self::Keep(index) => serializer.serialize_u64(*index as u64),
            Self::Drop => serializer.serialize_bool(true),
        }
    }
}

/// A title change as `history:<url>` keeps it: when (ms), from, to (absent: no title).
#[derive(Debug, Serialize, Deserialize)]
pub struct Change<'a> {
    /// When the fetch that saw it started (ms).
    pub a: i64,
    /// The title before.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub f: Option<std::borrow::Cow<'a, str>>,
    /// The title after.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub t: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> Change<'a> {
    /// The stored form of `change`.
    pub fn of(change: &'a TitleChange) -> Self {
        Self {
            a: crate::frontier::unix_ms(change.at),
            f: change.from.as_deref().map(Into::into),
            t: change.to.as_deref().map(Into::into),
        }
    }

    /// The change this stored form holds.
    pub fn to_change(&self) -> TitleChange {
        TitleChange {
            at: crate::frontier::from_unix_ms(self.a),
            from: self.f.as_deref().map(str::to_owned),
            to: self.t.as_deref().map(str::to_owned),
        }
    }
}

/// A page's title and validators, as the commit script stores them.
#[derive(Debug, Serialize)]
pub struct Page<'a> {
    pub t: Option<&'a str>,
    pub e: Option<&'a str>,
    pub m: Option<&'a str>,
}

impl<'a> Page<'a> {
    /// The parts of `known` the store keeps.
    pub fn of(known: &'a Known) -> Self {
        Self {
            t: known.title.as_deref(),
            e: known.etag.as_deref(),
            m: known.last_modified.as_deref(),
        }
    }
}

/// The links found on one page (or listed by one sitemap).
#[derive(Debug, Serialize)]
pub struct Group<'a> {
    /// Their depth.
    pub d: u32,
    /// The seed they descend from.
    pub s: &'a str,
    /// The page they were found on.
    pub f: &'a str,
    /// Whether that page came from a public address.
    pub p: bool,
    /// The links.
    pub links: Vec<Link<'a>>,
}

/// A link as the scripts take it: `[fingerprint, partition, url, host]`.
pub type Link<'a> = (String, u16, &'a str, String);

/// One commit: what the script `COMMIT` reads.
#[derive(Debug, Serialize)]
pub struct Batch<'a> {
    pub now: i64,
    pub round: u64,
    /// `crawl.max_pages_per_host`.
    pub max: u64,
    /// Title changes kept per URL.
    pub history: u32,
    /// Notifications the outbox holds at most.
    pub outbox_max: u64,
    /// The seen-set key (under the prefix).
    pub seen: &'a str,
    #[serde(serialize_with = "done_as_arrays")]
    pub done: Vec<Done<'a>>,
    /// Fingerprints to mark as seen (the final URLs of redirects).
    pub mark: Vec<String>,
    pub groups: Vec<Group<'a>>,
    /// Binary values sent beside the JSON, as the script's arguments from
    /// `ARGV[5]` on (the stored link graph: deflated, not JSON-safe).
    #[serde(skip)]
    pub blobs: Vec<Vec<u8>>,
}

/// Finished URLs go as arrays, the shape the script indexes.
fn done_as_arrays<S: serde::Serializer>(
    done: &[Done<'_>],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq as _;
    let mut seq = serializer.serialize_seq(Some(done.len()))?;
    for item in done {
        seq.serialize_element(&(
            item.partition,
            item.url,
            item.score,
            &item.page,
            item.outcome,
            &item.change,
            &item.watch,
            &item.notices,
            item.rendered,
            &item.details,
            &item.outlinks,
            item.epoch,
        ))?;
    }
    seq.end()
}

/// The links of `urls` as a group lists them, leaving out those `skip`
/// says this node knows to be seen already (it records the others);
/// unparsable ones are dropped (the worker only hands over links it resolved).
pub fn links_of(urls: &[String], mut skip: impl FnMut(u64) -> bool) -> Vec<Link<'_>> {
    urls.iter()
        .filter_map(|text| {
            let value = fingerprint_value(text);
            if skip(value) {
                return None;
            }
            let url = Url::parse(text).ok()?;
            Some((
                encode(value),
                partition_of(&url),
                text.as_str(),
                host_of(&url),
            ))
        })
        .collect()
}

/// The host a URL counts against for `max_pages_per_host`.
pub fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_owned()
}

/// A URL's fingerprint in the seen-set: XXH3-64 (a fixed algorithm, the
/// same on every node and version) in 11 characters of base 64.
pub fn fingerprint(url: &str) -> String {
    encode(fingerprint_value(url))
}

/// A URL's 64-bit fingerprint.
pub fn fingerprint_value(url: &str) -> u64 {
    xxh3_64(url.as_bytes())
}

/// A fingerprint as the seen-set stores it: 11 characters of base 64.
fn encode(mut value: u64) -> String {
    const DIGITS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut text = String::with_capacity(11);
    for _ in 0..11 {
        text.push(char::from(DIGITS[(value & 63) as usize]));
        value >>= 6;
    }
    text
}

/// The partition of `url`'s host (scheme, host and port, as politeness
/// tells hosts apart): all its URLs are crawled by one node at a time.
pub fn partition_of(url: &Url) -> u16 {
    let origin = format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    );
    (xxh3_64(origin.as_bytes()) % u64::from(PARTITIONS)) as u16
}

impl Known {
    fn from_state(state: &UrlState) -> Option<Self> {
        state.k.map(|_| Self {
            title: state.t.clone(),
            etag: state.e.clone(),
            last_modified: state.m.clone(),
        })
    }
}

impl UrlState {
    pub(super) fn known(&self) -> Option<Known> {
        Known::from_state(self)
    }

    pub(super) fn lineage(&self) -> Option<Lineage> {
        if self.o.as_deref() != Some("d") {
            return None;
        }
        Some(Lineage {
            depth: self.d.unwrap_or(1),
            seed: Url::parse(self.s.as_deref()?).ok()?,
            found_on: self.f.clone().unwrap_or_default(),
            is_from_public: self.p.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_and_partitions_are_fixed_functions_of_the_url() {
        // XXH3-64 is specified: these values hold on every node and version.
        assert_eq!(
            fingerprint("http://127.0.0.1/"),
            fingerprint("http://127.0.0.1/")
        );
        assert_eq!(fingerprint("http://127.0.0.1/").len(), 11);
        assert_ne!(
            fingerprint("http://127.0.0.1/a"),
            fingerprint("http://127.0.0.1/b")
        );
        assert_eq!(xxh3_64(b""), 0x2d06_8005_38d3_94c2);
        let url = |text: &str| Url::parse(text).unwrap();
        assert_eq!(
            partition_of(&url("http://127.0.0.1:8080/a")),
            partition_of(&url("http://127.0.0.1:8080/b?x"))
        );
        assert!(partition_of(&url("https://example.com/")) < PARTITIONS);
    }

    #[test]
    fn a_damaged_state_reads_as_new() {
        assert_eq!(UrlState::parse("{not json"), UrlState::default());
        let state = UrlState::parse(r#"{"o":"d","d":2,"s":"http://a/","k":1,"t":null}"#);
        assert_eq!(state.d, Some(2));
        assert_eq!(state.k, Some(1));
        assert_eq!(state.t, None);
    }
}
