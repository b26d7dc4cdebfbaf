//! Moving the work: the dispatcher (the politeness gate), the workers, retries,
//! per-host politeness with robots.txt, and which links are followed.

pub mod dispatch;
pub mod follow;
pub mod politeness;
pub mod retry;
pub mod sitemaps;
pub mod worker;
