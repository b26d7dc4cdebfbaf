//! Why the state file could not be used. Each message names the file and
//! what to do.

use std::path::PathBuf;

/// A problem with the SQLite state file.
#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    /// The file does not exist (for commands that only read it).
    #[error(
        "no crawl state at `{0}`: the service creates it when it first starts; a `--once` run keeps state only when `state_file` is set (set it to keep one, and to resume an interrupted run)"
    )]
    Missing(PathBuf),
    /// The file is not a database of ours.
    #[error("state file `{path}` {why} (the file was left untouched)")]
    NotOurs {
        /// The file.
        path: PathBuf,
        /// What it is instead, and what to do.
        why: String,
    },
    /// The file is a database of ours but damaged.
    #[error(
        "state file `{path}` is damaged ({detail}); it was left untouched: restore it from a backup, or move it away to start a new crawl state"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite found.
        detail: String,
    },
    /// Written by a newer `crawler`.
    #[error(
        "state file `{path}` has schema version {found}, newer than this crawler understands ({supported}); it was left untouched: run the newer crawler, or set `state_file` to another path"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: i64,
        /// The newest this build reads.
        supported: i64,
    },
    /// The old JSON state could not be imported.
    #[error(
        "cannot import the old state file `{path}`: {detail}; move it away to start without it"
    )]
    Import {
        /// The JSON file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A read or write failed (disk full, permissions, I/O).
    #[error("crawl state `{path}`: {detail}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
}
