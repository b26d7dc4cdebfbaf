//! The `crawler` binary: parse the command line, set up logging, run, exit.

use clap::Parser;
use crawler::cli::Cli;
use crawler::observe::progress;
use indicatif::MultiProgress;

fn main() -> std::process::ExitCode {
    steady_allocator();
    runtime_threads();
    let cli = Cli::parse();
    let progress = cli.is_once().then(progress::on_terminal).flatten();
    init_logging(progress.as_ref());
    cli.run(progress).into()
}

/// Executor threads per core when `ASYNC_STD_THREAD_COUNT` is not set.
const THREADS_PER_CORE: usize = 2;

/// Sizes async-std's executor at two threads per core (its default is one).
///
/// A worker parses its page on an executor thread (the title, the links);
/// with one thread per core, the short tasks that keep the pipeline moving
/// (the dispatcher, the output task, fetches whose response arrived) wait
/// behind those parses, and the cores idle while curl waits for them. With
/// two per core a following-links crawl ran 10-15% faster on 2 cores at the
/// same or lower CPU time (see README "Performance").
fn runtime_threads() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let thread_name =
        std::env::var("ASYNC_STD_THREAD_NAME").unwrap_or_else(|_| "async-std/runtime".to_owned());
    // The first configuration wins: async-std's own comes later, with the same variable.
    async_global_executor::init_with_config(
        async_global_executor::GlobalExecutorConfig::default()
            .with_env_var("ASYNC_STD_THREAD_COUNT")
            .with_min_threads(cores * THREADS_PER_CORE)
            .with_thread_name_fn(move || thread_name.clone()),
    );
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

/// Fixes glibc malloc's mmap and trim thresholds (256 KiB, 1 MiB).
///
/// By default glibc raises both after the first large block is freed: once
/// the seed count's multi-megabyte set is dropped at startup, every arena
/// may keep twice that in freed memory for the rest of the run, so peak RSS
/// grew with the seed list (34 MB at 200,000 seeds against 26 MB at 20,000).
/// Fixed thresholds keep it flat, at no measured CPU cost.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn steady_allocator() {
    // SAFETY: mallopt only sets allocator parameters; it is called before any
    // other thread exists. A refusal (return 0) leaves the defaults, harmlessly.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1024 * 1024);
    }
}

/// Other allocators need no tuning.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn steady_allocator() {}
