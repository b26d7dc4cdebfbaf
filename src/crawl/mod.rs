//! Moving the work: feeding jobs (from the seed list or the store), the
//! dispatcher (the politeness gate), the workers, retry decisions,
//! per-host politeness with robots.txt, and which links are followed.

mod analyze;
pub mod dispatch;
pub mod feed;
pub mod follow;
mod job;
pub mod listing;
pub mod politeness;
pub mod retry;
pub mod sitemaps;
pub mod store_feed;
pub mod worker;

pub use job::{Job, queue};

/// What the workers send the output task: each record with what the store
/// keeps of its page.
pub type Message = crate::output::Message<crate::frontier::PageFacts>;
/// The output task's sink, as the crawl uses it.
pub type Output = crate::output::Output<crate::frontier::PageFacts>;
