//! The text `crawler status` prints.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::frontier::backend::Status;

/// The status as a few lines of text for a terminal.
pub fn describe(status: &Status, now: SystemTime) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "state `{}`: {}",
        status.path.display(),
        bytesize::ByteSize::b(status.file_bytes).display().iec()
    );
    let sitemaps = match status.sitemaps {
        0 => String::new(),
        count => format!(" ({count} sitemap files read)"),
    };
    let _ = writeln!(
        text,
        "urls: {} known: {} seeds, {} discovered, {} retired{sitemaps}",
        status.known, status.seeds, status.discovered, status.retired
    );
    let _ = writeln!(
        text,
        "due now: {}, in flight: {}, never fetched: {}",
        status.due_now, status.in_flight, status.never_fetched
    );
    let next = status.next_due.as_deref().map_or_else(
        || "none".to_owned(),
        |due| match humantime::parse_rfc3339(due) {
            Ok(at) => {
                let left = at.duration_since(now).unwrap_or_default();
                let left = Duration::from_secs(left.as_secs());
                format!("{due} (in {})", humantime::format_duration(left))
            }
            Err(_) => due.to_owned(),
        },
    );
    let _ = writeln!(text, "next due: {next}");
    let outcomes: Vec<String> = status
        .outcomes
        .iter()
        .map(|(kind, count)| format!("{kind} {count}"))
        .collect();
    let outcomes = if outcomes.is_empty() {
        "none yet".to_owned()
    } else {
        outcomes.join(", ")
    };
    let _ = writeln!(text, "last outcomes: {outcomes}");
    let _ = writeln!(text, "hosts: {}", status.hosts);
    text
}
