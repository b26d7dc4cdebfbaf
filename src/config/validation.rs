//! Validation: every problem of a deserialized config at once, and the
//! config with its paths resolved and its seeds parsed.

use std::path::{Path, PathBuf};

use config::{Map, Value};
use url::Url;

use super::notify::resolve_targets;
use super::reading::origin_of;
use super::render::RenderRules;
use super::{
    ClusterSettings, Config, ConfigError, CrawlSettings, DEFAULT_STATE_FILE_NAME,
    MAX_LISTED_SEED_PROBLEMS, MAX_WORKERS, MIN_URL_LENGTH, Need, Problem, ReportSettings, Settings,
};
use crate::urls::{self, DistinctCount, SeedFile, SeedLine};

/// Checks the typed settings and resolves paths, collecting every problem.
pub(super) struct Validation<'a> {
    path: &'a Path,
    text: &'a str,
    tree: &'a Map<String, Value>,
    problems: Vec<Problem>,
}

impl<'a> Validation<'a> {
    pub(super) fn new(path: &'a Path, text: &'a str, tree: &'a Map<String, Value>) -> Self {
        Self {
            path,
            text,
            tree,
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, key: &str, message: String) {
        let file = self.path.display().to_string();
        let top = key.split(['.', '[']).next().unwrap_or(key);
        let origin = match self.tree.get(top) {
            Some(value) => origin_of(value, top, &file),
            None => file,
        };
        self.problems.push(Problem {
            origin,
            key: Some(key.to_owned()),
            message,
        });
    }

    pub(super) fn run(mut self, settings: Settings, need: Need) -> Result<Config, ConfigError> {
        self.check_limits(&settings);
        let seeds = self.parse_inline_seeds(&settings.seeds);
        let base = base_dir(self.path);
        let seeds_file = settings
            .seeds_file
            .as_ref()
            .map(|file| SeedFile::new(base.join(file)));
        // Commands that only read the store do not read the seeds file (at
        // ten million seeds, seconds).
        let counted_file = seeds_file.as_ref().filter(|_| need != Need::ClientOnly);
        let seed_count = self.count_seeds(&seeds, counted_file);
        if need == Need::Seeds && seed_count == 0 && self.problems.is_empty() {
            self.problem(
                "seeds",
                "no seeds: list URLs in `seeds` or name a `seeds_file`".to_owned(),
            );
        }
        let jsonl = settings.output.jsonl.as_ref().map(|file| base.join(file));
        if let Some(jsonl) = &jsonl {
            self.check_output_path("output.jsonl", jsonl);
        }
        let state_file = match &settings.state_file {
            Some(file) => base.join(file),
            None => jsonl
                .as_deref()
                .map_or_else(PathBuf::new, base_dir)
                .join(DEFAULT_STATE_FILE_NAME),
        };
        if settings.state_file.is_some() {
            self.check_output_path("state_file", &state_file);
        }
        let ca_file = settings.tls.ca_file.as_ref().map(|file| base.join(file));
        if let Some(ca_file) = &ca_file
            && let Err(err) = std::fs::File::open(ca_file)
        {
            let message = format!("cannot read `{}`: {err}", ca_file.display());
            self.problem("tls.ca_file", message);
        }
        let needs_secrets = need != Need::ClientOnly;
        let (notify, problems) = resolve_targets(&settings.notify, &base, needs_secrets);
        for (key, message) in problems {
            self.problem(&key, message);
        }
        let (render, problems) = RenderRules::new(&settings.render);
        for (key, message) in problems {
            self.problem(&key, message);
        }
        let scope = match settings.crawl.scope() {
            Ok(scope) if self.problems.is_empty() => scope,
            _ => return Err(ConfigError::Invalid(self.problems)),
        };
        Ok(Config {
            scope,
            notify,
            render,
            path: self.path.to_owned(),
            is_state_file_explicit: settings.state_file.is_some(),
            ca_file,
            settings,
            seeds,
            seeds_file,
            jsonl,
            seed_count,
            state_file,
        })
    }

    fn check_limits(&mut self, settings: &Settings) {
        if settings.workers == 0 || settings.workers > MAX_WORKERS {
            let message = format!(
                "must be between 1 and {MAX_WORKERS}, got {}",
                settings.workers
            );
            self.problem("workers", message);
        }
        if settings.queue_capacity == 0 {
            self.problem("queue_capacity", "must be at least 1".to_owned());
        }
        for (key, value) in [
            ("request_timeout", settings.request_timeout),
            ("connect_timeout", settings.connect_timeout),
            ("shutdown_timeout", settings.shutdown_timeout),
        ] {
            if value.is_zero() {
                self.problem(key, "must be longer than 0s, e.g. \"30s\"".to_owned());
            }
        }
        if settings.max_body_size.as_u64() == 0 {
            self.problem(
                "max_body_size",
                "must be at least 1 byte, e.g. \"4MiB\"".to_owned(),
            );
        }
        if usize::try_from(settings.max_body_size.as_u64()).is_err() {
            self.problem(
                "max_body_size",
                "is larger than this machine can address".to_owned(),
            );
        }
        if let Err(message) = check_user_agent(&settings.user_agent) {
            self.problem("user_agent", message);
        }
        self.check_crawl(&settings.crawl);
        self.check_cluster(&settings.cluster);
        self.check_report(&settings.report);
        let retry = &settings.retry;
        if retry.initial_backoff > retry.max_backoff {
            let message = format!(
                "{} is longer than retry.max_backoff ({})",
                humantime::format_duration(retry.initial_backoff),
                humantime::format_duration(retry.max_backoff)
            );
            self.problem("retry.initial_backoff", message);
        }
    }

    fn check_crawl(&mut self, crawl: &CrawlSettings) {
        if let Err(err) = crawl.scope() {
            self.problem(&err.key, format!("is not a valid regex: {}", err.message));
        }
        if crawl.max_pages_per_host == 0 {
            self.problem("crawl.max_pages_per_host", "must be at least 1".to_owned());
        }
        if crawl.max_url_length < MIN_URL_LENGTH {
            self.problem(
                "crawl.max_url_length",
                format!("must be at least {MIN_URL_LENGTH} bytes"),
            );
        }
    }

    fn check_report(&mut self, report: &ReportSettings) {
        if report.title_min > report.title_max {
            let message = format!(
                "{} is more than report.title_max ({})",
                report.title_min, report.title_max
            );
            self.problem("report.title_min", message);
        }
        if report.top == 0 {
            self.problem("report.top", "must be at least 1".to_owned());
        }
    }

    fn check_cluster(&mut self, cluster: &ClusterSettings) {
        if let Some(address) = &cluster.redis
            && let Err(message) = check_redis_url(address)
        {
            self.problem("cluster.redis", message);
        }
        if let Err(message) = check_cluster_name(&cluster.name) {
            self.problem("cluster.name", message);
        }
        if let Some(node) = &cluster.node
            && let Err(message) = check_cluster_name(node)
        {
            self.problem("cluster.node", message);
        }
    }

    fn parse_inline_seeds(&mut self, texts: &[String]) -> Vec<Url> {
        let mut urls = Vec::with_capacity(texts.len());
        for (index, text) in texts.iter().enumerate() {
            match urls::parse_seed(text) {
                Ok(url) => urls.push(url),
                Err(message) => {
                    let message = match line_of(self.text, text) {
                        Some(line) => format!("{message} (line {line})"),
                        None => message,
                    };
                    self.problem(&format!("seeds[{index}]"), message);
                }
            }
        }
        urls
    }

    /// Counts distinct seeds, streaming the seeds file and reporting its bad lines.
    fn count_seeds(&mut self, inline: &[Url], file: Option<&SeedFile>) -> usize {
        let mut seen = DistinctCount::default();
        for url in inline {
            seen.insert(url);
        }
        let Some(file) = file else {
            return seen.len();
        };
        if std::fs::metadata(file.path()).is_ok_and(|meta| !meta.is_file()) {
            let message = format!("`{}` is not a regular file", file.path().display());
            self.problem("seeds_file", message);
            return seen.len();
        }
        let entries = match file.entries() {
            Ok(entries) => entries,
            Err(err) => {
                let message = format!("cannot read `{}`: {err}", file.path().display());
                self.problem("seeds_file", message);
                return seen.len();
            }
        };
        let mut bad_lines = 0;
        for entry in entries {
            match entry {
                Ok(SeedLine { url: Ok(url), .. }) => {
                    seen.insert(&url);
                }
                Ok(SeedLine {
                    line,
                    url: Err(message),
                }) => {
                    bad_lines += 1;
                    if bad_lines <= MAX_LISTED_SEED_PROBLEMS {
                        let at = format!("{} line {line}", file.path().display());
                        self.problem("seeds_file", format!("{at}: {message}"));
                    }
                }
                Err(err) => {
                    let message = format!("reading `{}` failed: {err}", file.path().display());
                    self.problem("seeds_file", message);
                    break;
                }
            }
        }
        if bad_lines > MAX_LISTED_SEED_PROBLEMS {
            let more = bad_lines - MAX_LISTED_SEED_PROBLEMS;
            self.problem("seeds_file", format!("… and {more} more invalid lines"));
        }
        seen.len()
    }

    fn check_output_path(&mut self, key: &str, path: &Path) {
        if path.is_dir() {
            let message = format!("`{}` is a folder; name a file", path.display());
            self.problem(key, message);
            return;
        }
        let parent = base_dir(path);
        if !parent.as_os_str().is_empty() && !parent.is_dir() {
            let message = format!(
                "folder `{}` does not exist; create it first",
                parent.display()
            );
            self.problem(key, message);
        }
    }
}

/// The folder that relative paths in the file are resolved against.
fn base_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) => parent.to_owned(),
        None => PathBuf::new(),
    }
}

/// The 1-based line of the config text that holds `needle` as a quoted string.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    let quoted = [format!("\"{needle}\""), format!("'{needle}'")];
    text.lines()
        .position(|line| quoted.iter().any(|q| line.contains(q.as_str())))
        .map(|index| index + 1)
}

fn check_user_agent(agent: &str) -> Result<(), String> {
    if agent.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    if let Some(bad) = agent.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
        return Err(format!(
            "contains {bad:?}; a header value may hold printable ASCII only"
        ));
    }
    Ok(())
}

/// Checks a `cluster.redis` address; the message says what is wrong.
fn check_redis_url(address: &str) -> Result<(), String> {
    let url = Url::parse(address).map_err(|err| {
        format!("`{address}` is not a URL ({err}): write it as redis://host:port/db")
    })?;
    if !matches!(url.scheme(), "redis" | "rediss") {
        return Err(format!(
            "scheme `{}` is not supported: use redis:// (or rediss:// for TLS)",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("names no host: write it as redis://host:port/db".to_owned());
    }
    redis::Client::open(address)
        .map(drop)
        .map_err(|err| format!("is not a Redis address: {err}"))
}

/// Checks a cluster or node name: it becomes part of Redis keys and log lines.
fn check_cluster_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err("must be 1 to 64 characters".to_owned());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "may hold letters, digits, `-`, `_` and `.` only, not `{bad}`"
        ));
    }
    Ok(())
}

/// The host name and pid: a node name unique on this machine.
pub(super) fn default_node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{host}-{}", std::process::id())
}
