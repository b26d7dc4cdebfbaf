//! The live report: `GET /` (the HTML report) and `GET /report.json` on the
//! metrics endpoint, read from the store while the crawl runs. Read-only:
//! nothing can be changed from it. One report is made at a time, and one
//! made in the last [`FRESH_FOR`] is served again, so a busy dashboard
//! costs the store one read every few seconds at most.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use crate::config::{Config, ReportSettings};
use crate::frontier::{self, Access};
use crate::observe::metrics::server::{Page, Pages};
use crate::report::{self, Report, Sections};

/// How long a report is served again before the store is read anew.
const FRESH_FOR: Duration = Duration::from_secs(5);

/// The live report's pages.
pub struct LiveReport {
    config: Config,
    settings: RwLock<ReportSettings>,
    last: Mutex<Option<(Instant, Arc<Report>)>>,
}

impl LiveReport {
    /// The pages of the crawl `config` describes.
    pub fn new(config: &Config) -> Self {
        Self {
            settings: RwLock::new(config.settings.report.clone()),
            config: config.clone(),
            last: Mutex::new(None),
        }
    }

    /// Takes a reloaded `[report]` table; the next report uses it.
    pub fn set_settings(&self, settings: ReportSettings) {
        let mut current = self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if *current != settings {
            *current = settings;
            *self.last.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
    }

    /// A report at most [`FRESH_FOR`] old, made now when there is none.
    fn report(&self) -> Result<Arc<Report>, String> {
        // Holding the lock while making one: a second request waits for it
        // rather than reading the store again.
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((made, report)) = last.as_ref()
            && made.elapsed() < FRESH_FOR
        {
            return Ok(Arc::clone(report));
        }
        let settings = self
            .settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut store = frontier::open(&self.config, Access::Inspect).map_err(|err| {
            format!("the report reads the stored crawl, which cannot be opened: {err}")
        })?;
        let sections = Sections::of(&[]);
        let report = report::collect(&mut *store, &settings, &sections, SystemTime::now())
            .map_err(|err| format!("the store cannot be read: {err}"))?;
        let report = Arc::new(report);
        *last = Some((Instant::now(), Arc::clone(&report)));
        Ok(report)
    }
}

impl Pages for LiveReport {
    fn serves(&self, path: &str) -> bool {
        matches!(path, "/" | "/index.html" | "/report.json")
    }

    fn answer(&self, path: &str) -> Page {
        // This thread answers one request, then ends.
        report::yield_to_crawl();
        let report = match self.report() {
            Ok(report) => report,
            Err(why) => {
                log::warn!("live report: {why}");
                return Page {
                    status: 503,
                    content_type: "text/plain; charset=utf-8",
                    body: format!("no report: {why}\n"),
                };
            }
        };
        if path == "/report.json" {
            Page {
                status: 200,
                content_type: "application/json",
                body: report::json(&report),
            }
        } else {
            Page {
                status: 200,
                content_type: "text/html; charset=utf-8",
                body: report::live_html(&report),
            }
        }
    }
}
