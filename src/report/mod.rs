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

/// The niceness reports run at: the crawl comes first.
pub const REPORT_NICENESS: i32 = 10;

/// Lowers the CPU priority of the calling thread (and of the threads it
/// starts after) to [`REPORT_NICENESS`], unless it is lower already: a
/// report is background work, and on a busy machine the crawl comes first.
pub fn yield_to_crawl() {
    // SAFETY: getpriority and setpriority only read and change the
    // scheduling priority of the calling thread (on Linux, `PRIO_PROCESS`
    // with 0 names the calling thread); no memory is touched.
    unsafe {
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
