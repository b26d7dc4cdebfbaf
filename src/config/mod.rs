//! `crawler.toml`: the settings, their defaults, and loading + validation.
//!
//! Loading goes file → `CRAWLER_*` environment overrides (`__` nests) → unknown-key
//! check → typed deserialization → validation. Every problem names where it came
//! from (the file or the environment variable) and the key.

use std::fmt;
use std::path::{Path, PathBuf};

use config::{Environment, File, FileFormat, Map, Source, Value, ValueKind};
use url::Url;

use crate::urls::scope::{PatternError, Reach, Scope};
use crate::urls::{DistinctCount, SeedStream};

mod settings;

use crate::urls::{self, SeedFile, SeedLine};
pub use settings::*;

/// The largest worker pool accepted; beyond it a typo is likelier than intent.
pub const MAX_WORKERS: usize = 10_000;
/// Prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "CRAWLER";
/// The shortest `crawl.max_url_length` accepted: room for `https://` and a host.
const MIN_URL_LENGTH: usize = 16;
/// How many invalid `seeds_file` lines are listed before the rest are counted.
const MAX_LISTED_SEED_PROBLEMS: usize = 20;

/// Whether a command needs seeds (`run`, `check`) or only the client settings (`title`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// At least one seed is required.
    Seeds,
    /// Only client settings are used; seeds are still validated when present.
    ClientOnly,
}

/// A loaded, validated configuration with its paths resolved.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file this came from.
    pub path: PathBuf,
    /// The settings after environment overrides.
    pub settings: Settings,
    /// Inline seeds, parsed and normalized (not yet de-duplicated against the file).
    pub seeds: Vec<Url>,
    /// The seeds file, resolved against the config file's folder.
    pub seeds_file: Option<SeedFile>,
    /// The JSON Lines output path, resolved against the config file's folder.
    pub jsonl: Option<PathBuf>,
    /// Distinct seeds across `seeds` and `seeds_file` when validated.
    pub seed_count: usize,
    /// The state file: `state_file` resolved, or the default beside the output.
    pub state_file: PathBuf,
    /// Whether `state_file` was set explicitly (rather than defaulted).
    pub is_state_file_explicit: bool,
    /// `tls.ca_file`, resolved against the config file's folder.
    pub ca_file: Option<PathBuf>,
    /// The `[crawl]` rules links are judged by.
    pub scope: Scope,
}

/// File name of the default state file, beside the JSONL output or in the working directory.
pub const DEFAULT_STATE_FILE_NAME: &str = "crawler-state.db";

impl CrawlSettings {
    /// The rules links are judged by.
    ///
    /// # Errors
    /// A pattern is not a valid regex: the error names its key and index.
    pub fn scope(&self) -> Result<Scope, PatternError> {
        let reach = match self.scope {
            ScopeSetting::Host => Reach::Host,
            ScopeSetting::Domain => Reach::Domain,
            ScopeSetting::Any => Reach::Any,
        };
        Scope::new(reach, &self.include, &self.exclude, self.max_url_length)
    }
}

impl Config {
    /// Every seed, inline ones first, then the seeds file streamed.
    pub fn seed_stream(&self) -> SeedStream<'_> {
        SeedStream::new(&self.seeds, self.seeds_file.as_ref())
    }

    /// This daemon's name in the cluster: `cluster.node`, or host name and pid.
    pub fn node_name(&self) -> String {
        self.settings
            .cluster
            .node
            .clone()
            .unwrap_or_else(default_node_name)
    }

    /// The JSON state file an earlier version kept where the database now goes
    /// (`crawler-state.json` beside `crawler-state.db`), imported on first start.
    pub fn legacy_state_file(&self) -> Option<PathBuf> {
        let legacy = self.state_file.with_extension("json");
        (legacy != self.state_file).then_some(legacy)
    }
}

/// One thing wrong with a configuration: where, which key, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file path, or the environment variable that set the key.
    pub origin: String,
    /// The dotted key, when the problem belongs to one.
    pub key: Option<String>,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}: `{key}`: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read config file `{path}`: {source} (create it, or pass --config PATH)")]
    Read {
        /// The path that was tried.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was read but has problems; all of them are listed.
    #[error("{}", list_problems(.0))]
    Invalid(Vec<Problem>),
}

fn list_problems(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(Problem::to_string).collect();
    lines.join("\n")
}

impl Config {
    /// Loads `path` with `CRAWLER_*` environment overrides and validates it.
    ///
    /// # Errors
    /// [`ConfigError::Read`] when the file cannot be read, [`ConfigError::Invalid`]
    /// listing every problem found otherwise.
    pub fn load(path: &Path, need: Need) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_sources(path, &text, environment(), need)
    }

    /// Loads config text as if read from `path`, without environment overrides
    /// (for tests and fuzzing; relative paths resolve against `path`'s folder).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] listing every problem.
    pub fn from_toml(path: &Path, text: &str, need: Need) -> Result<Self, ConfigError> {
        let no_environment = environment().source(Some(Map::new()));
        Self::from_sources(path, text, no_environment, need)
    }

    /// Validates the defaults plus environment overrides, for commands run without a file.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when an environment override is wrong.
    pub fn from_environment(need: Need) -> Result<Self, ConfigError> {
        Self::from_sources(Path::new("crawler.toml"), "", environment(), need)
    }

    fn from_sources(
        path: &Path,
        text: &str,
        env: Environment,
        need: Need,
    ) -> Result<Self, ConfigError> {
        let origin = path.display().to_string();
        let invalid = |message: String, key: Option<String>| {
            ConfigError::Invalid(vec![Problem {
                origin: origin.clone(),
                key,
                message,
            }])
        };
        let merged = config::Config::builder()
            .add_source(File::from_str(text, FileFormat::Toml))
            .add_source(env)
            .build()
            .map_err(|err| invalid(err.to_string(), None))?;
        let tree = merged
            .collect()
            .map_err(|err| invalid(err.to_string(), None))?;
        let unknown = unknown_keys(&tree, &origin);
        if !unknown.is_empty() {
            return Err(ConfigError::Invalid(unknown));
        }
        let settings: Settings = match merged.try_deserialize() {
            Ok(settings) => settings,
            Err(err) => return Err(type_errors(&tree, &origin, &err)),
        };
        Validation::new(path, text, &tree).run(settings, need)
    }
}

/// The environment source: `CRAWLER_WORKERS=64`, `CRAWLER_OUTPUT__JSONL=…`,
/// `CRAWLER_SEEDS="url1 url2"`.
fn environment() -> Environment {
    Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("_")
        .separator("__")
        .try_parsing(true)
        .list_separator(" ")
        .with_list_parse_key("seeds")
}

/// Names the environment variable behind a dotted key.
fn env_var_for(key: &str) -> String {
    format!("{ENV_PREFIX}_{}", key.replace('.', "__").to_uppercase())
}

/// The origin to report for a value: the file, or the environment variable that set it.
fn origin_of(value: &Value, key: &str, file: &str) -> String {
    match value.origin() {
        Some(_) => format!("environment variable `{}`", env_var_for(key)),
        None => file.to_owned(),
    }
}

/// Finds every key whose value has the wrong type, by deserializing each
/// top-level key alone (the others take their defaults). serde stops at the
/// first error; this reports them all, each with its key and origin.
fn type_errors(tree: &Map<String, Value>, file: &str, first: &config::ConfigError) -> ConfigError {
    let mut keys: Vec<&String> = tree.keys().collect();
    keys.sort();
    let mut problems = Vec::new();
    for key in keys {
        let alone = config::Config::builder()
            .set_override(key.as_str(), tree[key].clone())
            .and_then(|builder| builder.build())
            .and_then(config::Config::try_deserialize::<Settings>);
        if let Err(err) = alone {
            let message = err.to_string();
            problems.push(Problem {
                origin: origin_of(&tree[key], key, file),
                key: Some(nested_key(&message, key).unwrap_or_else(|| key.clone())),
                message: explain_type_error(&message),
            });
        }
    }
    if problems.is_empty() {
        problems.push(Problem {
            origin: file.to_owned(),
            key: None,
            message: explain_type_error(&first.to_string()),
        });
    }
    ConfigError::Invalid(problems)
}

/// The dotted key the config crate names in `message` ("… for key
/// `crawl.scope`"), when it lies under `top`.
fn nested_key(message: &str, top: &str) -> Option<String> {
    let named = message.split(" for key `").nth(1)?.split('`').next()?;
    named
        .strip_prefix(top)
        .is_some_and(|rest| rest.starts_with('.'))
        .then(|| named.to_owned())
}

/// The values an enum-valued key takes, by the enum's name in serde's message.
const ENUM_VALUES: [(&str, &str); 1] = [("ScopeSetting", "\"host\", \"domain\" or \"any\"")];

/// Drops the config crate's trailing "for key …" (we name the key) and adds a hint.
fn explain_type_error(message: &str) -> String {
    let message = message.split(" for key `").next().unwrap_or(message);
    for (name, values) in ENUM_VALUES {
        if let Some(got) =
            message.strip_prefix(&format!("enum {name} does not have variant constructor "))
        {
            return format!("must be {values}, got \"{got}\"");
        }
    }
    let hint = if message.contains("expected a duration") {
        "; write a quoted duration such as \"30s\" or \"500ms\""
    } else if message.contains("expected parsable string") {
        "; write a quoted size such as \"4MiB\" or \"512KiB\""
    } else {
        ""
    };
    format!("{message}{hint}")
}

/// Lists every key in `tree` that `Settings` does not know, with its origin.
fn unknown_keys(tree: &Map<String, Value>, file: &str) -> Vec<Problem> {
    let known = match serde_json::to_value(Settings::default()) {
        Ok(value) => value,
        Err(err) => {
            return vec![Problem {
                origin: file.to_owned(),
                key: None,
                message: format!("internal error listing known keys: {err}"),
            }];
        }
    };
    let mut problems = Vec::new();
    collect_unknown(tree, &known, "", file, &mut problems);
    problems
}

fn collect_unknown(
    tree: &Map<String, Value>,
    known: &serde_json::Value,
    prefix: &str,
    file: &str,
    problems: &mut Vec<Problem>,
) {
    let mut keys: Vec<&String> = tree.keys().collect();
    keys.sort();
    for key in keys {
        let value = &tree[key];
        let dotted = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (known.get(key), &value.kind) {
            (None, _) => problems.push(Problem {
                origin: origin_of(value, &dotted, file),
                key: Some(dotted),
                message: unknown_key_message(key, known),
            }),
            (Some(serde_json::Value::Object(_)), ValueKind::Table(table)) => {
                collect_unknown(table, &known[key.as_str()], &dotted, file, problems);
            }
            _ => {}
        }
    }
}

fn unknown_key_message(key: &str, known: &serde_json::Value) -> String {
    let names: Vec<&str> = known
        .as_object()
        .map(|map| map.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let closest = names
        .iter()
        .map(|name| (strsim::levenshtein(key, name), *name))
        .filter(|(distance, _)| *distance <= 3)
        .min();
    match closest {
        Some((_, name)) => format!("unknown key; did you mean `{name}`?"),
        None => format!("unknown key; known keys here: {}", names.join(", ")),
    }
}

/// Checks the typed settings and resolves paths, collecting every problem.
struct Validation<'a> {
    path: &'a Path,
    text: &'a str,
    tree: &'a Map<String, Value>,
    problems: Vec<Problem>,
}

impl<'a> Validation<'a> {
    fn new(path: &'a Path, text: &'a str, tree: &'a Map<String, Value>) -> Self {
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

    fn run(mut self, settings: Settings, need: Need) -> Result<Config, ConfigError> {
        self.check_limits(&settings);
        let seeds = self.parse_inline_seeds(&settings.seeds);
        let base = base_dir(self.path);
        let seeds_file = settings
            .seeds_file
            .as_ref()
            .map(|file| SeedFile::new(base.join(file)));
        let seed_count = self.count_seeds(&seeds, seeds_file.as_ref());
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
        let scope = match settings.crawl.scope() {
            Ok(scope) if self.problems.is_empty() => scope,
            _ => return Err(ConfigError::Invalid(self.problems)),
        };
        Ok(Config {
            scope,
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
fn default_node_name() -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytesize::ByteSize;
    use std::time::Duration;

    fn load_text(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env_map: Map<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let env = environment().source(Some(env_map));
        Config::from_sources(Path::new("test.toml"), text, env, Need::Seeds)
    }

    fn problems(text: &str, vars: &[(&str, &str)]) -> String {
        match load_text(text, vars) {
            Ok(_) => panic!("expected an error"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn missing_keys_match_the_defaults() {
        let config = load_text("seeds = [\"http://127.0.0.1/\"]", &[]).unwrap();
        let expected = Settings {
            seeds: vec!["http://127.0.0.1/".to_owned()],
            ..Settings::default()
        };
        assert_eq!(config.settings, expected);
        assert_eq!(config.seed_count, 1);
    }

    #[test]
    fn environment_overrides_the_file_with_nesting() {
        let vars = [
            ("CRAWLER_WORKERS", "64"),
            ("CRAWLER_OUTPUT__JSONL", "/tmp/titles.jsonl"),
            ("CRAWLER_REQUEST_TIMEOUT", "5s"),
        ];
        let config = load_text("seeds = [\"http://127.0.0.1/\"]\nworkers = 2", &vars).unwrap();
        assert_eq!(config.settings.workers, 64);
        assert_eq!(config.settings.request_timeout, Duration::from_secs(5));
        assert_eq!(config.jsonl, Some(PathBuf::from("/tmp/titles.jsonl")));
    }

    #[test]
    fn seeds_from_the_environment_are_a_list() {
        let vars = [("CRAWLER_SEEDS", "http://127.0.0.1/a http://127.0.0.1/b")];
        let config = load_text("", &vars).unwrap();
        assert_eq!(config.seeds.len(), 2);
    }

    #[test]
    fn unknown_keys_are_all_reported_with_origin() {
        let message = problems(
            "seeds = [\"http://127.0.0.1/\"]\nwrokers = 3\n[output]\njsnol = \"x\"",
            &[("CRAWLER_BOGUS", "1")],
        );
        assert!(
            message.contains("test.toml: `wrokers`: unknown key"),
            "{message}"
        );
        assert!(
            message.contains("test.toml: `output.jsnol`: unknown key"),
            "{message}"
        );
        assert!(
            message.contains("environment variable `CRAWLER_BOGUS`: `bogus`"),
            "{message}"
        );
    }

    #[test]
    fn every_semantic_problem_is_reported_at_once() {
        let text = "seeds = [\"http://127.0.0.1/\", \"gopher://x/\"]\nworkers = 0\n\
                    queue_capacity = 0\nrequest_timeout = \"0s\"\nmax_body_size = \"0B\"";
        let message = problems(text, &[]);
        for key in [
            "`workers`",
            "`queue_capacity`",
            "`request_timeout`",
            "`max_body_size`",
            "`seeds[1]`",
        ] {
            assert!(message.contains(key), "{key} missing from {message}");
        }
        assert!(message.contains("(line 1)"), "{message}");
    }

    #[test]
    fn durations_and_sizes_are_human_strings() {
        let text = "seeds = [\"http://127.0.0.1/\"]\nconnect_timeout = \"1m 30s\"\n\
                    max_body_size = \"512KiB\"";
        let config = load_text(text, &[]).unwrap();
        assert_eq!(config.settings.connect_timeout, Duration::from_secs(90));
        assert_eq!(config.settings.max_body_size, ByteSize::kib(512));
    }

    #[test]
    fn every_wrong_type_is_reported_with_its_key() {
        let text = "seeds = [\"http://127.0.0.1/\"]\nworkers = \"many\"\n\
                    request_timeout = 5\nmax_body_size = \"lots\"\n[output]\njsonl = 3";
        let message = problems(text, &[]);
        assert!(message.contains("test.toml: `workers`: "), "{message}");
        assert!(
            message.contains("`request_timeout`: ") && message.contains("\"30s\""),
            "{message}"
        );
        assert!(
            message.contains("`max_body_size`: ") && message.contains("\"4MiB\""),
            "{message}"
        );
        assert!(!message.contains("for key"), "{message}");
    }

    #[test]
    fn crawl_problems_name_the_nested_key() {
        let message = problems(
            "seeds = [\"http://127.0.0.1/\"]\n[crawl]\nscope = \"planet\"",
            &[],
        );
        assert!(
            message
                .contains("`crawl.scope`: must be \"host\", \"domain\" or \"any\", got \"planet\""),
            "{message}"
        );
        let message = problems(
            "seeds = [\"http://127.0.0.1/\"]\n[crawl]\nexclude = [\"(\"]\nmax_pages_per_host = 0",
            &[],
        );
        assert!(
            message.contains("`crawl.exclude[0]`: is not a valid regex"),
            "{message}"
        );
        assert!(
            message.contains("`crawl.max_pages_per_host`: must be at least 1"),
            "{message}"
        );
    }

    #[test]
    fn no_seeds_is_an_error() {
        assert!(problems("", &[]).contains("no seeds"));
    }

    #[test]
    fn user_agent_must_be_header_safe() {
        let message = problems("seeds = [\"http://127.0.0.1/\"]\nuser_agent = \"bé\"", &[]);
        assert!(message.contains("`user_agent`"), "{message}");
    }
}
