//! Why the store could not be used: each backend's errors, wrapped in the
//! one type callers match.

use std::path::PathBuf;

pub use super::redis::RedisError;
pub use super::sqlite::SqliteError;

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The state file (SQLite).
    #[error(transparent)]
    Sqlite(#[from] SqliteError),
    /// The cluster's Redis.
    #[error(transparent)]
    Redis(#[from] RedisError),
    /// The store's thread is gone (the daemon is stopping).
    #[error("crawl state `{0}`: the store thread stopped")]
    Stopped(PathBuf),
}

impl StoreError {
    /// Whether the store may work again without a restart (Redis away, or
    /// refusing writes until its operator acts): callers wait and retry
    /// rather than stop.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Redis(_))
    }

    /// Whether the store cannot be reached now (a WARN: it comes back by itself).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Redis(RedisError::Unreachable { .. }))
    }

    /// Whether the problem is the state file itself (not ours, damaged,
    /// newer, an import): a usage error for the commands that read it,
    /// rather than a runtime failure.
    pub fn is_unusable_file(&self) -> bool {
        matches!(
            self,
            Self::Sqlite(
                SqliteError::NotOurs { .. }
                    | SqliteError::Corrupt { .. }
                    | SqliteError::Newer { .. }
                    | SqliteError::Import { .. }
            )
        )
    }
}
