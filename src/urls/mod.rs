//! The shared vocabulary of URLs, at the bottom of the crate: what a
//! crawlable URL is and its one normalized spelling, seed lists, the scope
//! a link is judged by, and fingerprints for seen-sets. It uses nothing of
//! the stages above it, so every stage may use it.

pub mod fingerprint;
pub mod normalize;
pub mod scope;
pub mod seeds;

pub use fingerprint::{DistinctCount, IdentityHasher, SeenSet, fingerprint};
pub use normalize::{MAX_URL_LEN, check_crawlable, parse_seed, shorten};
pub use seeds::{SeedFile, SeedLine, SeedStream};
