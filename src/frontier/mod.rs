//! What the crawl knows per URL and what is due: the [`backend::Frontier`]
//! interface, its embedded backend ([`sqlite`]) and its shared one
//! ([`redis`]), and the store thread ([`store`]) that owns the backend.

pub mod backend;
pub mod redis;
pub mod sqlite;
pub mod store;

pub use backend::{Claim, Known, Lineage};
