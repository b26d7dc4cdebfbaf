//! Why the shared store could not be used: Redis away, or refusing.

/// A problem with the cluster's Redis.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The shared store (Redis) cannot be reached now; it is tried again.
    #[error("Redis at `{address}` is unreachable: {detail}")]
    Unreachable {
        /// The server, without its password.
        address: String,
        /// Why.
        detail: String,
    },
    /// The shared store refused a command (out of memory, a read-only replica, …).
    #[error("Redis at `{address}` refused the crawl's writes: {detail}")]
    Refused {
        /// The server, without its password.
        address: String,
        /// What it said, and what to do.
        detail: String,
    },
}
