//! A notification owed to one target: the documented JSON payload, with
//! the key that makes its delivery idempotent.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Change;
use crate::config::notify::NotifyEvent;
use crate::record::Record;

/// One notification for one target; serialized, it is the `json` format's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Unique per target, event and fetch: the same notice always has the
    /// same id (sent as the `Idempotency-Key` header).
    pub id: String,
    /// `title_changed`, `failed` or `recovered`.
    pub event: NotifyEvent,
    /// The target's name.
    pub target: String,
    /// The URL watched.
    pub url: String,
    /// Where its redirects ended on the fetch that confirmed the change.
    pub final_url: String,
    /// The title now (for `failed`: the title before the failures).
    pub title: Option<String>,
    /// The title confirmed before (`title_changed`; `null` otherwise).
    pub previous_title: Option<String>,
    /// For `failed`: the record's error, `"kind: message"`.
    pub error: Option<String>,
    /// The HTTP status of the fetch, when a response came.
    pub status: Option<u16>,
    /// When that fetch started (RFC 3339, UTC).
    pub fetched_at: String,
    /// The node that fetched it, in a cluster.
    pub node: Option<Arc<str>>,
}

impl Notice {
    /// The notice of `event` for `target`, from `change` confirmed by `record`.
    pub fn new(target: &str, event: NotifyEvent, change: &Change, record: &Record) -> Self {
        let key = format!(
            "{target}\n{}\n{}\n{}",
            event.as_str(),
            record.url,
            record.fetched_at
        );
        let id = format!("{:032x}", xxhash_rust::xxh3::xxh3_128(key.as_bytes()));
        let (previous_title, error) = match event {
            NotifyEvent::TitleChanged => (change.from.title().map(str::to_owned), None),
            NotifyEvent::Failed => (None, record.error.clone()),
            NotifyEvent::Recovered => (None, None),
        };
        Self {
            id,
            event,
            target: target.to_owned(),
            url: record.url.clone(),
            final_url: record.final_url.clone(),
            title: change.to.title().map(str::to_owned),
            previous_title,
            error,
            status: record.status,
            fetched_at: record.fetched_at.clone(),
            node: record.node.clone(),
        }
    }

    /// One line for people (Slack, Discord, ntfy, logs).
    pub fn summary(&self) -> String {
        let quoted = |title: &Option<String>| match title {
            Some(title) => format!("“{title}”"),
            None => "no title".to_owned(),
        };
        match self.event {
            NotifyEvent::TitleChanged => format!(
                "Title changed on {}: {} → {}",
                self.url,
                quoted(&self.previous_title),
                quoted(&self.title)
            ),
            NotifyEvent::Failed => format!(
                "{} fails: {}",
                self.url,
                self.error.as_deref().unwrap_or("error")
            ),
            NotifyEvent::Recovered => {
                format!("{} works again: {}", self.url, quoted(&self.title))
            }
        }
    }
}
