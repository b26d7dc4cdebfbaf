//! Moving the work: the dispatcher (the politeness gate), the workers, retries,
//! and per-host politeness with robots.txt.

pub mod dispatch;
pub mod politeness;
pub mod retry;
pub mod worker;
