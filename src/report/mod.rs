//! Reports: a crawl's problems read from its store (`crawler report`, and
//! the live page of the metrics server), as text, JSON, CSV or one HTML
//! page. Reading never writes: the daemon may be crawling meanwhile.

use std::time::SystemTime;

use crate::config::ReportSettings;
use crate::frontier::{Frontier, StoreError};

mod collect;
mod csv;
mod html;
pub mod model;
mod text;

pub use collect::collect;
pub use model::Report;

/// A part of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    /// Pages by outcome, status, host and depth; crawl times.
    Summary,
    /// Missing, empty, duplicate, too long or short, multiple, changed titles.
    Titles,
    /// Broken links with the pages linking to them, redirects, robots.txt, orphans.
    Links,
    /// Response times per host, slowest and largest pages.
    Performance,
}

impl Section {
    /// Every section, in report order.
    pub const ALL: [Self; 4] = [Self::Summary, Self::Titles, Self::Links, Self::Performance];
}

/// The sections a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sections(Vec<Section>);

impl Sections {
    /// `chosen`, or every section when none is.
    pub fn of(chosen: &[Section]) -> Self {
        if chosen.is_empty() {
            Self(Section::ALL.to_vec())
        } else {
            Self(chosen.to_vec())
        }
    }

    /// Whether `section` is covered.
    pub fn has(&self, section: Section) -> bool {
        self.0.contains(&section)
    }
}

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// For a terminal: the first rows of each list, with counts of the rest.
    #[default]
    Text,
    /// The whole data, one JSON object.
    Json,
    /// One table per section, for spreadsheets.
    Csv,
    /// One self-contained page: charts, tables to sort, filter and page through.
    Html,
}

/// The niceness reports run at where the idle scheduling class is not
/// available: the crawl comes first.
pub const REPORT_NICENESS: i32 = 10;

/// Moves the calling thread (and the threads it starts after) to the idle
/// scheduling class (`SCHED_IDLE`): a report is background work, and it
/// runs on what the crawl leaves of the CPUs, giving way at once when a
/// crawl thread wakes up. Where that class cannot be had, lowers its
/// priority to [`REPORT_NICENESS`] instead, unless it is lower already.
pub fn yield_to_crawl() {
    let idle = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler, getpriority and setpriority only read and
    // change the scheduling of the calling thread (on Linux, 0 names the
    // calling thread); `idle` outlives the call; no other memory is touched.
    unsafe {
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) == 0 {
            return;
        }
        *libc::__errno_location() = 0;
        let current = libc::getpriority(libc::PRIO_PROCESS, 0);
        if *libc::__errno_location() == 0 && current < REPORT_NICENESS {
            let _ = libc::setpriority(libc::PRIO_PROCESS, 0, REPORT_NICENESS);
        }
    }
}

/// Reads the report of `store` and writes it as `format`.
///
/// # Errors
/// The store cannot be read.
pub fn make(
    store: &mut dyn Frontier,
    settings: &ReportSettings,
    sections: &Sections,
    format: Format,
) -> Result<String, StoreError> {
    let report = collect(store, settings, sections, SystemTime::now())?;
    Ok(write(&report, settings, format))
}

/// `report` written as `format`.
pub fn write(report: &Report, settings: &ReportSettings, format: Format) -> String {
    match format {
        Format::Text => text::write(report, settings.top),
        Format::Json => json(report),
        Format::Csv => csv::write(report),
        Format::Html => html::write(report),
    }
}

/// The HTML page of `report` as the metrics endpoint serves it live, with
/// links to `/report.json` and `/metrics`.
pub fn live_html(report: &Report) -> String {
    html::write_with(report, true)
}

/// The report as pretty JSON, with a final newline.
pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|err| {
        log::error!("report: cannot write JSON: {err}");
        "{}".to_owned()
    });
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_thread_runs_in_the_idle_class() {
        let policy = std::thread::spawn(|| {
            yield_to_crawl();
            // SAFETY: reads the calling thread's scheduling policy.
            unsafe { libc::sched_getscheduler(0) }
        })
        .join()
        .unwrap();
        assert_eq!(policy, libc::SCHED_IDLE);
        // SAFETY: as above; the test's own thread is left as it was.
        assert_ne!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_IDLE);
    }
}
