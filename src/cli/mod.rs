//! The command line: `crawler [run] [--config PATH] [--once]`, `crawler check`,
//! `crawler status`, `crawler title URL`, `crawler links URL`, and the exit
//! codes they end with.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use indicatif::MultiProgress;

use crate::config::render::{RenderMode, RenderRules, find_browser};
use crate::config::{Config, ConfigError, Need};
use crate::crawl::Job;
use crate::crawl::worker;
use crate::daemon::{self, Mode};
use crate::fetch::Fetcher;
use crate::frontier::{self, Access};
use crate::render::Renderer;
use crate::report;
use crate::urls;

mod history;
mod links;
mod notify;
mod status;

/// The config file used when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "crawler.toml";

/// A crawler daemon: fetches seed URLs and logs each page's title.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon (the default).
    Run(RunArgs),
    /// Validate the configuration, like `nginx -t`.
    Check(ConfigArg),
    /// Summarize the crawl's state file: URLs known, due, in flight, outcomes.
    Status {
        #[command(flatten)]
        config: ConfigArg,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Fetch one page and print its links, one per line as `URL<TAB>reason`:
    /// whether the configured crawl would follow each (`follow`, `nofollow`,
    /// `out_of_scope`, `excluded`, `robots`, `too_deep`, `too_long`, `trap`).
    Links {
        /// The page to fetch, as a seed would be.
        url: String,
        #[command(flatten)]
        config: ConfigArg,
        /// Render the page in headless Chromium first, whatever `render.mode` says.
        #[arg(long)]
        render: bool,
    },
    /// Print a URL's title changes recorded in the crawl's state, newest first.
    History {
        /// The URL, as a seed would be written.
        url: String,
        #[command(flatten)]
        config: ConfigArg,
        /// Print a JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Report the crawl's problems from its store: broken links with the
    /// pages linking to them, redirects, title defects, slow pages. Safe
    /// while the daemon runs.
    Report {
        #[command(flatten)]
        config: ConfigArg,
        /// How to write it.
        #[arg(long, value_enum, default_value_t = report::Format::Text)]
        format: report::Format,
        /// Write to this file (replaced whole) instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Only these sections (repeat, or separate with commas); all by default.
        #[arg(long, value_enum, value_delimiter = ',', value_name = "NAME")]
        section: Vec<report::Section>,
    },
    /// Notifications: `crawler notify test` sends a sample to each `[[notify]]` target.
    Notify {
        #[command(subcommand)]
        action: NotifyAction,
    },
    /// Fetch one URL with the configured client and print its title.
    Title {
        /// The URL to fetch.
        url: String,
        #[command(flatten)]
        config: ConfigArg,
        /// Render the page in headless Chromium, whatever `render.mode` says;
        /// the title from the HTML alone is printed too when it differs.
        #[arg(long)]
        render: bool,
    },
}

#[derive(Debug, Subcommand)]
enum NotifyAction {
    /// Send one sample title change to each target and print what each answered.
    Test(ConfigArg),
}

#[derive(Debug, Args)]
struct ConfigArg {
    /// The configuration file.
    #[arg(long, short, value_name = "PATH", default_value = DEFAULT_CONFIG)]
    config: PathBuf,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Crawl every seed once, write every record, and exit.
    #[arg(long)]
    once: bool,
}

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything worked.
    Ok = 0,
    /// A runtime failure (output not writable, a fetch failed for `title`, …).
    Runtime = 1,
    /// The configuration or the command line is wrong.
    Usage = 2,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        Self::from(code as u8)
    }
}

impl Cli {
    /// Whether this is a one-shot crawl (`--once`), which may show a progress bar.
    pub fn is_once(&self) -> bool {
        match &self.command {
            None => self.run.once,
            Some(Command::Run(args)) => args.once,
            Some(_) => false,
        }
    }

    /// Runs the chosen command to completion; `progress` draws the `--once` bar.
    pub fn run(self, progress: Option<MultiProgress>) -> ExitCode {
        if matches!(
            self.command,
            Some(
                Command::Check(_)
                    | Command::Title { .. }
                    | Command::Links { .. }
                    | Command::Status { .. }
                    | Command::History { .. }
                    | Command::Notify { .. }
                    | Command::Report { .. }
            )
        ) {
            quit_quietly_on_closed_pipe();
        }
        match self.command {
            None => run(&self.run, progress),
            Some(Command::Run(args)) => run(&args, progress),
            Some(Command::Check(args)) => check(&args.config),
            Some(Command::Title {
                url,
                config,
                render,
            }) => title(&url, &config.config, render),
            Some(Command::Links {
                url,
                config,
                render,
            }) => links::print(&url, &config.config, render),
            Some(Command::Status { config, json }) => status(&config.config, json),
            Some(Command::History { url, config, json }) => {
                history::print(&url, &config.config, json)
            }
            Some(Command::Notify {
                action: NotifyAction::Test(config),
            }) => notify::test(&config.config),
            Some(Command::Report {
                config,
                format,
                output,
                section,
            }) => report_command(&config.config, format, output.as_deref(), &section),
        }
    }
}

/// The one-shot commands end quietly, as `cat` does, when the reader of
/// their output goes away (`crawler status | head`), rather than panicking
/// on a write to a closed pipe. The daemon keeps ignoring SIGPIPE.
fn quit_quietly_on_closed_pipe() {
    // SAFETY: restoring the default disposition of SIGPIPE before any
    // thread is started; no handler runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn run(args: &RunArgs, progress: Option<MultiProgress>) -> ExitCode {
    let config = match Config::load(&args.config.config, Need::Seeds) {
        Ok(config) => config,
        Err(err) => return report_config_error(&err),
    };
    let mode = if args.once { Mode::Once } else { Mode::Service };
    match async_std::task::block_on(daemon::run(config, mode, progress)) {
        Ok(()) => ExitCode::Ok,
        Err(err) => {
            log::error!("{err:#}");
            ExitCode::Runtime
        }
    }
}

fn check(path: &Path) -> ExitCode {
    let config = match Config::load(path, Need::Seeds) {
        Ok(config) => config,
        Err(err) => return report_config_error(&err),
    };
    if frontier::Backend::of(&config).is_shared() {
        println!("{}", summary(&config));
        let cluster = check_cluster(&config);
        return if preflight(&config) {
            cluster
        } else {
            ExitCode::Runtime
        };
    }
    if let Err(err) = frontier::validate(&config) {
        eprintln!("crawler: state error: {err}");
        return ExitCode::Usage;
    }
    if !preflight(&config) {
        return ExitCode::Runtime;
    }
    println!("{}", summary(&config));
    ExitCode::Ok
}

/// Says what the start would fail on (and what `check` cannot know);
/// `false` when the start would fail.
fn preflight(config: &Config) -> bool {
    let found = daemon::preflight::check(config);
    for note in &found.notes {
        eprintln!("crawler: note: {}: {note}", config.path.display());
    }
    for problem in &found.problems {
        eprintln!(
            "crawler: cannot start: {}: {problem}",
            config.path.display()
        );
    }
    found.problems.is_empty()
}

/// `crawler check` with `cluster.redis`: Redis answers, and how the
/// configs the nodes published compare with this one.
fn check_cluster(config: &Config) -> ExitCode {
    let opened = frontier::open(config, Access::Inspect);
    let published = opened.and_then(|mut frontier| {
        frontier.ping()?;
        Ok((frontier.location(), frontier.published_configs()?))
    });
    let (path, published) = match published {
        Ok(answer) => answer,
        Err(err) => {
            eprintln!("crawler: cluster: {err}");
            return ExitCode::Runtime;
        }
    };
    println!("cluster: Redis at {} answers", path.display());
    let mine = frontier::published_sections(config);
    for line in status::compare_configs(&mine, &published) {
        println!("{line}");
    }
    ExitCode::Ok
}

/// Loads `path`, or the defaults when the default config file does not exist.
fn load_optional(path: &Path) -> Result<Config, ConfigError> {
    if path == Path::new(DEFAULT_CONFIG) && !path.exists() {
        Config::from_environment(Need::ClientOnly)
    } else {
        Config::load(path, Need::ClientOnly)
    }
}

fn status(path: &Path, json: bool) -> ExitCode {
    let config = match load_optional(path) {
        Ok(config) => config,
        Err(err) => return report_config_error(&err),
    };
    let summary = frontier::open(&config, Access::Inspect)
        .and_then(|mut store| store.status(std::time::SystemTime::now()));
    match summary {
        Ok(summary) if json => match serde_json::to_string_pretty(&summary) {
            Ok(text) => {
                println!("{text}");
                ExitCode::Ok
            }
            Err(err) => {
                eprintln!("crawler: cannot print the status: {err}");
                ExitCode::Runtime
            }
        },
        Ok(summary) => {
            print!(
                "{}",
                status::describe(&summary, std::time::SystemTime::now())
            );
            ExitCode::Ok
        }
        Err(err) if !err.is_unusable_file() => {
            eprintln!("crawler: {err}");
            ExitCode::Runtime
        }
        Err(err) => {
            eprintln!("crawler: state error: {err}");
            ExitCode::Usage
        }
    }
}

/// `crawler report`: reads the store and writes the report.
fn report_command(
    path: &Path,
    format: report::Format,
    output: Option<&Path>,
    sections: &[report::Section],
) -> ExitCode {
    let config = match load_optional(path) {
        Ok(config) => config,
        Err(err) => return report_config_error(&err),
    };
    report::yield_to_crawl();
    let sections = report::Sections::of(sections);
    let settings = &config.settings.report;
    let made = frontier::open(&config, Access::Inspect)
        .and_then(|mut store| report::make(&mut *store, settings, &sections, format));
    let text = match made {
        Ok(text) => text,
        Err(err) if !err.is_unusable_file() => {
            eprintln!("crawler: report: {err}");
            return ExitCode::Runtime;
        }
        Err(err) => {
            eprintln!("crawler: state error: {err}");
            return ExitCode::Usage;
        }
    };
    let Some(output) = output else {
        print!("{text}");
        return ExitCode::Ok;
    };
    match write_whole(output, text.as_bytes()) {
        Ok(()) => {
            eprintln!("crawler: report written to `{}`", output.display());
            ExitCode::Ok
        }
        Err(err) => {
            eprintln!(
                "crawler: cannot write the report to `{}`: {err}",
                output.display()
            );
            ExitCode::Runtime
        }
    }
}

/// Writes `bytes` to `path`. A regular file (or one to be created) is
/// written through a temporary file beside it, renamed over it: a reader
/// sees the old file or the new one, never half of one. A symlink's
/// target is replaced, the link kept. Anything else (`/dev/null`,
/// `/dev/stdout`, a FIFO) is written to as it is, never replaced.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|meta| !meta.is_file()) {
        return std::fs::write(path, bytes);
    }
    let path = &std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(name);
    let written =
        std::fs::write(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// The one-paragraph summary `crawler check` prints.
fn summary(config: &Config) -> String {
    let settings = &config.settings;
    let file = config
        .seeds_file
        .as_ref()
        .map(|file| format!(" (seeds_file `{}`)", file.path().display()))
        .unwrap_or_default();
    let output = config
        .jsonl
        .as_ref()
        .map_or_else(|| "log only".to_owned(), |p| format!("`{}`", p.display()));
    let crawl = &settings.crawl;
    let links = if crawl.max_depth == 0 {
        "links not followed".to_owned()
    } else {
        let scope = match crawl.scope {
            crate::config::ScopeSetting::Host => "host",
            crate::config::ScopeSetting::Domain => "domain",
            crate::config::ScopeSetting::Any => "any",
        };
        format!(
            "links followed to depth {} within scope {scope}{}",
            crawl.max_depth,
            if crawl.sitemaps {
                ", sitemaps read"
            } else {
                ""
            }
        )
    };
    let state = frontier::Backend::of(config).describe();
    // Targets by name and host only: their paths may be tokens.
    let targets: Vec<String> = config
        .notify
        .iter()
        .map(|target| format!("`{}` ({})", target.name, target.shown_url()))
        .collect();
    let notify = if targets.is_empty() {
        String::new()
    } else {
        format!(", notify {}", targets.join(", "))
    };
    let render = &settings.render;
    let render = if config.render.is_on() {
        let browser = find_browser(render.browser.as_deref()).map_or_else(
            |_| "no browser".to_owned(),
            |path| format!("`{}`", path.display()),
        );
        format!(
            ", render {} ({} tabs, {browser})",
            render.mode.as_str(),
            render.tabs
        )
    } else {
        String::new()
    };
    format!(
        "{}: ok: {} seeds{file}, {links}, {} workers, queue {}, request_timeout {}, output {output}, {state}{notify}{render}",
        config.path.display(),
        config.seed_count,
        settings.workers,
        settings.queue_capacity,
        humantime::format_duration(settings.request_timeout),
    )
}

/// What a command that fetches one URL needs: the config at `path` (or the
/// defaults), the URL parsed as a seed, and the client. The error is the
/// exit code, its message printed.
fn one_url(url: &str, path: &Path) -> Result<(Config, url::Url, Fetcher), ExitCode> {
    let config = load_optional(path).map_err(|err| report_config_error(&err))?;
    let url = urls::parse_seed(url).map_err(|message| {
        eprintln!("crawler: invalid_url: {message}");
        ExitCode::Usage
    })?;
    let fetcher = Fetcher::new(&config).map_err(|err| {
        eprintln!("crawler: cannot set up the HTTP client: {err}");
        ExitCode::Runtime
    })?;
    Ok((config, url, fetcher))
}

/// The helpers of a one-URL command: a renderer that renders any HTML
/// page when `render` is asked for. The error is the exit code, its
/// message printed.
fn one_url_helpers(config: &Config, render: bool) -> Result<worker::Helpers, ExitCode> {
    if !render {
        return Ok(worker::Helpers::default());
    }
    let binary = find_browser(config.settings.render.browser.as_deref()).map_err(|why| {
        eprintln!("crawler: {why}");
        ExitCode::Runtime
    })?;
    let mut settings = config.settings.render.clone();
    settings.mode = RenderMode::Always;
    settings.include.clear();
    settings.exclude.clear();
    let (rules, _) = RenderRules::new(&settings);
    let metrics = std::sync::Arc::new(crate::observe::metrics::Metrics::new());
    let renderer = Renderer::new(&rules, Some(binary), std::time::Duration::ZERO, metrics);
    Ok(worker::Helpers {
        hops: None,
        renderer: Some(std::sync::Arc::new(renderer)),
    })
}

/// Stops the browser a one-URL command started.
fn close_helpers(helpers: &worker::Helpers) {
    if let Some(renderer) = &helpers.renderer {
        async_std::task::block_on(renderer.close());
    }
}

fn title(url: &str, path: &Path, render: bool) -> ExitCode {
    let (config, url, fetcher) = match one_url(url, path) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let helpers = match one_url_helpers(&config, render) {
        Ok(helpers) => helpers,
        Err(code) => return code,
    };
    let rules = crate::crawl::follow::Rules::new(&config);
    let job = Job::new(url);
    let record =
        async_std::task::block_on(worker::attempt(&fetcher, &rules, &helpers, &job)).record;
    close_helpers(&helpers);
    if let Some(error) = &record.render_error {
        eprintln!("crawler: render_error: {error}");
    }
    let static_note = match &record.static_title {
        Some(static_title) if record.rendered && *static_title != record.title => Some(format!(
            "static title: {}",
            static_title.as_deref().unwrap_or("(none)")
        )),
        _ => None,
    };
    match (&record.error, &record.title) {
        (Some(error), _) => {
            eprintln!("crawler: {error}");
            ExitCode::Runtime
        }
        (None, Some(title)) => {
            println!("{title}");
            if let Some(note) = static_note {
                println!("{note}");
            }
            ExitCode::Ok
        }
        (None, None) => {
            eprintln!("crawler: `{}` has no title element", record.final_url);
            ExitCode::Ok
        }
    }
}

fn report_config_error(err: &ConfigError) -> ExitCode {
    for line in err.to_string().lines() {
        eprintln!("crawler: config error: {line}");
    }
    ExitCode::Usage
}
