//! The `crawler` binary: parse the command line, set up logging, run, exit.

use clap::Parser;
use crawler::cli::Cli;
use crawler::progress;
use indicatif::MultiProgress;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let progress = cli.is_once().then(progress::on_terminal).flatten();
    init_logging(progress.as_ref());
    cli.run(progress).into()
}

/// Our crate at info, dependencies at warn; `RUST_LOG` overrides both. With
/// a progress bar, log lines are printed above it instead of through it.
fn init_logging(progress: Option<&MultiProgress>) {
    let env = env_logger::Env::default().default_filter_or("warn,isahc=error,crawler=info");
    let logger = env_logger::Builder::from_env(env).build();
    match progress {
        Some(bars) => progress::init_logging(bars, logger),
        None => {
            log::set_max_level(logger.filter());
            let _ = log::set_boxed_logger(Box::new(logger));
        }
    }
}
