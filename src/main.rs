//! The `crawler` binary: parse the command line, set up logging, run, exit.

use clap::Parser;
use crawler::cli::Cli;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    cli.run().into()
}

/// Our crate at info, dependencies at warn; `RUST_LOG` overrides both.
fn init_logging() {
    let env = env_logger::Env::default().default_filter_or("warn,isahc=error,crawler=info");
    env_logger::Builder::from_env(env).init();
}
