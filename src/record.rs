//! The record: what one URL's fetch ended as, the type every stage hands
//! on (worker → output → store) and the JSON Lines schema. It sits at the
//! bottom with the URL vocabulary: a new field is this file and its
//! constructor.

use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use url::Url;

/// One URL's outcome; the JSON Lines schema (field names are a stable contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The URL as queued (normalized).
    pub url: String,
    /// The URL after redirects.
    pub final_url: String,
    /// The final HTTP status, or null when no response arrived.
    pub status: Option<u16>,
    /// `document.title`, or null when there is none or the page was not parsed.
    pub title: Option<String>,
    /// Null, or `"<kind>: <message>"`.
    pub error: Option<String>,
    /// The `Content-Type` header, or null when absent.
    pub content_type: Option<String>,
    /// The encoding the body was decoded with, when it was decoded.
    pub encoding: Option<&'static str>,
    /// Body bytes read.
    pub bytes: u64,
    /// Time from the first request to the record, in milliseconds.
    pub elapsed_ms: u64,
    /// When the fetch started, RFC 3339 in UTC.
    pub fetched_at: String,
    /// Requests made for this record: 1, plus one per retry (0 when robots.txt forbade it).
    pub attempts: u32,
    /// Whether the title differs from the one seen last time for this URL.
    pub changed: bool,
    /// The title seen last time, present only when `changed` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_title: Option<Option<String>>,
    /// The server answered `304 Not Modified` to a conditional request: the
    /// title is the one stored from the last fetch.
    pub not_modified: bool,
    /// Links followed from the seed to reach this page: 0 for a seed.
    pub depth: u32,
    /// The page the link was found on (the sitemap, for a sitemap entry); null for a seed.
    pub found_on: Option<String>,
    /// The page's distinct `http`/`https` links in document order; null when
    /// they were not extracted (beyond `crawl.max_depth`, or not a page).
    pub links: Option<Vec<String>>,
    /// The node that fetched it (`cluster.node`); null without a cluster.
    pub node: Option<Arc<str>>,
    /// Whether `title` and `links` are the page's once rendered in Chromium.
    pub rendered: bool,
    /// The title from the HTML alone; present only when a render was tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub static_title: Option<Option<String>>,
    /// Null, or why the render failed (`"kind: message"`); the title and
    /// links are then the HTML's.
    pub render_error: Option<String>,
}

impl Record {
    /// The record of `url`, fetched (or refused) at `fetched_at`, before
    /// anything is known: no response, no title, no error, one attempt, a
    /// seed's lineage. Callers set what they learned.
    pub fn new(url: &Url, fetched_at: SystemTime) -> Self {
        Self {
            url: url.to_string(),
            final_url: url.to_string(),
            status: None,
            title: None,
            error: None,
            content_type: None,
            encoding: None,
            bytes: 0,
            elapsed_ms: 0,
            fetched_at: humantime::format_rfc3339_millis(fetched_at).to_string(),
            attempts: 1,
            changed: false,
            previous_title: None,
            not_modified: false,
            depth: 0,
            found_on: None,
            links: None,
            node: None,
            rendered: false,
            static_title: None,
            render_error: None,
        }
    }

    /// The error kind (`timeout`, `robots`, …), when the record is a failure.
    pub fn error_kind(&self) -> Option<&str> {
        let error = self.error.as_deref()?;
        Some(error.split_once(':').map_or(error, |(kind, _)| kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_record_is_one_attempt_with_nothing_known() {
        let url = Url::parse("http://127.0.0.1/a").unwrap();
        let record = Record::new(&url, SystemTime::UNIX_EPOCH);
        assert_eq!(record.final_url, "http://127.0.0.1/a");
        assert_eq!(record.fetched_at, "1970-01-01T00:00:00.000Z");
        assert_eq!(
            (record.attempts, record.depth, record.error_kind()),
            (1, 0, None)
        );
    }

    #[test]
    fn the_error_kind_is_the_word_before_the_colon() {
        let mut record = Record::new(&Url::parse("http://127.0.0.1/").unwrap(), SystemTime::now());
        record.error = Some("robots: disallowed: by /robots.txt".to_owned());
        assert_eq!(record.error_kind(), Some("robots"));
    }

    #[test]
    fn store_only_data_is_not_part_of_the_schema() {
        let record = Record::new(&Url::parse("http://127.0.0.1/").unwrap(), SystemTime::now());
        let value = serde_json::to_value(&record).unwrap();
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "attempts",
                "bytes",
                "changed",
                "content_type",
                "depth",
                "elapsed_ms",
                "encoding",
                "error",
                "fetched_at",
                "final_url",
                "found_on",
                "links",
                "node",
                "not_modified",
                "render_error",
                "rendered",
                "status",
                "title",
                "url"
            ]
        );
    }
}
