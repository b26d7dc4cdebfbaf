//! The `--once` progress bar on stderr (indicatif), only when stderr is a
//! terminal: pages done of total, rate, errors, ETA.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use indicatif_log_bridge::LogWrapper;

/// Redraws per second at most; a fast crawl does not flood the terminal.
const REFRESH_RATE: u8 = 10;

/// Bars drawn on stderr, when stderr is a terminal; `None` otherwise, so logs
/// and CI output stay free of control characters.
pub fn on_terminal() -> Option<MultiProgress> {
    std::io::stderr()
        .is_terminal()
        .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(REFRESH_RATE)))
}

/// Installs `logger` so that its lines are printed above `bars`.
pub fn init_logging(bars: &MultiProgress, logger: env_logger::Logger) {
    let level = logger.filter();
    if LogWrapper::new(bars.clone(), logger).try_init().is_ok() {
        log::set_max_level(level);
    }
}

/// A bar for `total` pages (a `--once` run that follows links grows it).
pub fn bar(bars: &MultiProgress, total: usize) -> ProgressBar {
    let bar = bars.add(ProgressBar::new(total as u64));
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} pages, {rate} pages/s, {msg}, ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key("rate", |state: &ProgressState, out: &mut dyn std::fmt::Write| {
        let _ = write!(out, "{:.0}", state.per_sec());
    });
    bar.set_style(style);
    bar.set_message("0 errors");
    bar
}

/// Counts one finished page on `bar`; `errors` is the total so far.
pub fn advance(bar: &ProgressBar, errors: u64) {
    bar.inc(1);
    if errors > 0 {
        bar.set_message(format!("{errors} errors"));
    }
}
