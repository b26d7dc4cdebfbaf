//! What the last fetches of a URL saw, as the store keeps it (a short JSON
//! value per URL): the current run of agreeing observations and, per
//! `confirm` value in use, the state last confirmed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Change;
use crate::record::Record;

/// What one fetch saw, as far as watching goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seen {
    /// A page (a `304` included) with this title.
    #[serde(rename = "t")]
    Page(Option<String>),
    /// A failure; `title` is the title the page had before.
    #[serde(rename = "e")]
    Failed {
        /// The record's error, `"kind: message"`.
        #[serde(rename = "e")]
        error: String,
        /// The last title seen before the failures.
        #[serde(rename = "t")]
        title: Option<String>,
    },
}

impl Seen {
    /// What `record` saw (a failure's title is filled in by [`Watch::see`]).
    pub fn of(record: &Record) -> Self {
        match &record.error {
            Some(error) => Self::Failed {
                error: error.clone(),
                title: None,
            },
            None => Self::Page(record.title.clone()),
        }
    }

    /// The page's title (before the failure, for a failure).
    pub fn title(&self) -> Option<&str> {
        match self {
            Self::Page(title) | Self::Failed { title, .. } => title.as_deref(),
        }
    }

    /// Whether two observations belong to one run: the same title, or two failures.
    fn agrees(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Page(a), Self::Page(b)) => a == b,
            (Self::Failed { .. }, Self::Failed { .. }) => true,
            _ => false,
        }
    }
}

/// A URL's watch state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    /// The last observation.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    seen: Option<Seen>,
    /// How many fetches in a row agreed with it.
    #[serde(rename = "n", default)]
    streak: u32,
    /// Per `confirm` value: the state last confirmed.
    #[serde(rename = "c", default)]
    confirmed: BTreeMap<u32, Seen>,
}

impl Watch {
    /// A URL whose state `seen` is long established (watched from now on).
    pub fn established(seen: Seen, confirms: &[u32]) -> Self {
        Self {
            confirmed: confirms.iter().map(|&n| (n, seen.clone())).collect(),
            seen: Some(seen),
            streak: u32::MAX,
        }
    }

    /// Adds one observation; returns the confirmed changes it completes,
    /// per `confirm` value (`confirms`: the values in use, others are forgotten).
    pub fn see(&mut self, mut seen: Seen, confirms: &[u32]) -> Vec<(u32, Change)> {
        if let Seen::Failed { title, .. } = &mut seen {
            *title = self.seen.as_ref().and_then(Seen::title).map(str::to_owned);
        }
        if self.seen.as_ref().is_some_and(|last| last.agrees(&seen)) {
            self.streak = self.streak.saturating_add(1);
        } else {
            self.streak = 1;
        }
        self.confirmed.retain(|n, _| confirms.contains(n));
        let mut changes = Vec::new();
        for &n in confirms.iter().filter(|&&n| self.streak >= n) {
            let before = self.confirmed.insert(n, seen.clone());
            if let Some(from) = before {
                let change = Change {
                    from,
                    to: seen.clone(),
                };
                if !change.events().is_empty() {
                    changes.push((n, change));
                }
            }
        }
        self.seen = Some(seen);
        changes
    }
}
