//! `crawler.toml`: the settings, their defaults, and loading + validation.
//!
//! Loading goes file → `CRAWLER_*` environment overrides (`__` nests) → unknown-key
//! check → typed deserialization → validation. Every problem names where it came
//! from (the file or the environment variable) and the key.

use std::path::{Path, PathBuf};

use config::{Environment, File, FileFormat, Map, Source};
use url::Url;

use crate::urls::SeedStream;
use crate::urls::scope::{PatternError, Reach, Scope};

mod error;
pub mod notify;
mod reading;
pub mod render;
mod settings;
mod validation;

pub use error::{ConfigError, Problem};
use reading::{
    environment, settings_of, type_errors, unknown_keys, without_secret_variables, without_unknown,
};
use validation::{Validation, default_node_name};

use crate::urls::SeedFile;
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
    /// Only client settings are used: inline seeds are still validated, the
    /// seeds file is not read (`seed_count` leaves it out), and a
    /// `[[notify]]` secret that cannot be read is no error (`status`,
    /// `history`, `report`, `title`, `links` deliver nothing).
    ClientOnly,
    /// Client settings and the `[[notify]]` secrets (`notify test`).
    Notify,
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
    /// The `[[notify]]` targets, resolved (secrets read, patterns compiled).
    pub notify: Vec<notify::Target>,
    /// The `[render]` rules, resolved (patterns compiled).
    pub render: render::RenderRules,
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
        let tree = without_secret_variables(tree);
        let unknown = unknown_keys(&tree, &origin);
        if unknown.is_empty() {
            let settings: Settings = match settings_of(&tree) {
                Ok(settings) => settings,
                Err(err) => return Err(type_errors(&tree, &origin, &err)),
            };
            return Validation::new(path, text, &tree).run(settings, need);
        }
        // Unknown keys are listed with every other problem, as `nginx -t` does.
        let known = without_unknown(&tree, &unknown);
        let rest = match settings_of(&known) {
            Ok(settings) => Validation::new(path, text, &known).run(settings, need),
            Err(err) => Err(type_errors(&known, &origin, &err)),
        };
        let mut problems = unknown;
        if let Err(ConfigError::Invalid(others)) = rest {
            problems.extend(others);
        }
        Err(ConfigError::Invalid(problems))
    }
}

#[cfg(test)]
mod tests;
