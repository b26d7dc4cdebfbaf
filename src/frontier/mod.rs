//! The crawl's state behind one door: [`open`] reads the config and opens
//! its backend, the embedded one ([`sqlite`]) or the shared one
//! ([`redis`]); the contract they keep is a few small traits
//! ([`contract`]), held to one test suite; the store thread ([`store`])
//! owns the opened backend so the async executor never waits on it.

pub mod contract;
mod error;
mod model;
mod open;
mod outlinks;
pub mod redis;
pub mod sqlite;
mod status;
pub mod store;
pub mod time;

#[cfg(test)]
mod conformance;

pub use contract::{Frontier, Membership, Outbox, Rounds, Schedule, Seeds, SharedHosts, Summary};
pub use error::{RedisError, SqliteError, StoreError};
pub use model::{
    Backoff, Claim, Details, Known, Lineage, MAX_HISTORY, MAX_OUTBOX, OutboxStatus, Outcome,
    PageFacts, PageRow, PublishedConfig, Queued, Reschedule, RobotsAnswer, Round, SeedChanges,
    Settlement, TitleChange,
};
pub use open::{Access, Backend, open, published_sections, shared_hosts, validate};
pub use outlinks::{
    OutLink, OutlinkReader, decode_outlinks, encode_outlinks, link_print, may_link_to, short_print,
};
pub use status::{ClusterStatus, NodeStatus, OutboxSummary, Status};
pub use time::{from_unix_ms, jitter, next_due_after, unix_ms};
