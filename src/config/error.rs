//! What is wrong with a configuration: every problem, with where it came
//! from and the key.

use std::fmt;
use std::path::PathBuf;

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
