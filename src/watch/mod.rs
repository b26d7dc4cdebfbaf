//! Watching pages for people: from each final record and what the last
//! fetches of its URL saw, the notifications the `[[notify]]` targets are
//! owed. Pure decisions, no I/O: the worker calls [`observe`], the store
//! keeps the [`Watch`] state and queues the [`Notice`]s in its outbox in
//! the same transaction as the record.
//!
//! A change is only told once `confirm` fetches in a row agree: per
//! `confirm` value in use, the watch keeps the state last confirmed, and
//! a run of observations that agree (the same title; or failures, of any
//! kind) replaces it once the run is `confirm` long. A page that flips
//! between two titles never makes such a run, so it never alerts.

mod notice;
mod state;

pub use notice::Notice;
pub use state::{Seen, Watch};

use crate::config::notify::{NotifyEvent, Target};
use crate::record::Record;

/// The watch state after `record`, and the notices it makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The URL's watch state now.
    pub watch: Watch,
    /// What the targets are told.
    pub notices: Vec<Notice>,
}

/// What `record` means for `targets`, given the URL's last watch state
/// (`previous`) and, for a URL watched for the first time, the title of
/// its last successful fetch (`known_title`: that is the baseline).
/// `None` when there are no targets.
pub fn observe(
    previous: Option<&Watch>,
    known_title: Option<&Option<String>>,
    record: &Record,
    targets: &[Target],
) -> Option<Observed> {
    if targets.is_empty() {
        return None;
    }
    let mut confirms: Vec<u32> = targets.iter().map(|target| target.confirm).collect();
    confirms.sort_unstable();
    confirms.dedup();
    let mut watch = match (previous, known_title) {
        (Some(watch), _) => watch.clone(),
        (None, Some(title)) => Watch::established(Seen::Page(title.clone()), &confirms),
        (None, None) => Watch::default(),
    };
    let changes = watch.see(Seen::of(record), &confirms);
    let mut notices = Vec::new();
    for (confirm, change) in changes {
        for target in targets.iter().filter(|target| target.confirm == confirm) {
            for event in change.events() {
                if target.wants(event, &record.url) {
                    notices.push(Notice::new(&target.name, event, &change, record));
                }
            }
        }
    }
    Some(Observed { watch, notices })
}

/// A confirmed change of state: from what was confirmed before to what is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The state confirmed before.
    pub from: Seen,
    /// The state confirmed now.
    pub to: Seen,
}

impl Change {
    /// The events this change is: a title change, a failure, a recovery
    /// (with a title change when the page came back with another title).
    pub fn events(&self) -> Vec<NotifyEvent> {
        let title_changed = self.from.title() != self.to.title();
        match (&self.from, &self.to) {
            (Seen::Page(_), Seen::Page(_)) if title_changed => vec![NotifyEvent::TitleChanged],
            (Seen::Page(_), Seen::Failed { .. }) => vec![NotifyEvent::Failed],
            (Seen::Failed { .. }, Seen::Page(_)) if title_changed => {
                vec![NotifyEvent::Recovered, NotifyEvent::TitleChanged]
            }
            (Seen::Failed { .. }, Seen::Page(_)) => vec![NotifyEvent::Recovered],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
