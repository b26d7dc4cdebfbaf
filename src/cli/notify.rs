//! `crawler notify test`: one sample notification to each `[[notify]]`
//! target, and what each answered (as people test an alert route before
//! trusting it).

use std::path::Path;
use std::time::SystemTime;

use super::{ExitCode, report_config_error};
use crate::config::notify::NotifyEvent;
use crate::config::{Config, Need};
use crate::fetch::Poster;
use crate::notify::delivery::{self, Verdict};
use crate::watch::Notice;

/// Sends the sample to each target of the config at `path`; exit 0 when
/// every target took it, 1 when one did not, 2 for a config without targets.
pub fn test(path: &Path) -> ExitCode {
    let config = match Config::load(path, Need::Notify) {
        Ok(config) => config,
        Err(err) => return report_config_error(&err),
    };
    if config.notify.is_empty() {
        eprintln!(
            "crawler: `{}` has no [[notify]] target; add one, e.g.\n\n[[notify]]\nurl = \"https://hooks.example.com/crawler\"\nformat = \"json\"",
            path.display()
        );
        return ExitCode::Usage;
    }
    let poster = match Poster::new(&config) {
        Ok(poster) => poster,
        Err(err) => {
            eprintln!("crawler: cannot set up the HTTP client: {err}");
            return ExitCode::Runtime;
        }
    };
    let mut code = ExitCode::Ok;
    for target in &config.notify {
        let notice = sample(&target.name);
        let verdict = async_std::task::block_on(delivery::deliver(&poster, target, &notice));
        let answer = match verdict {
            Verdict::Delivered(status) => format!("ok, HTTP {status}"),
            Verdict::Retry { why, .. } | Verdict::Drop { why } => {
                code = ExitCode::Runtime;
                format!("FAILED: {why}")
            }
        };
        println!(
            "`{}` ({}, {}): {answer}",
            target.name,
            target.shown_url(),
            format!("{:?}", target.format).to_lowercase()
        );
    }
    code
}

/// A sample title change, marked as a test in its URL and titles.
fn sample(target: &str) -> Notice {
    let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    Notice {
        id: format!("test-{:016x}", fastrand::u64(..)),
        event: NotifyEvent::TitleChanged,
        target: target.to_owned(),
        url: "https://example.invalid/crawler-notify-test".to_owned(),
        final_url: "https://example.invalid/crawler-notify-test".to_owned(),
        title: Some("New title (crawler notify test)".to_owned()),
        previous_title: Some("Old title (crawler notify test)".to_owned()),
        error: None,
        status: Some(200),
        fetched_at: now,
        node: None,
    }
}
