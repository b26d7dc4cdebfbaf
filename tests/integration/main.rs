//! Integration tests: one crate, one link step. They run the real `crawler`
//! binary against HTTP servers on 127.0.0.1 started by the tests.

mod architecture;
mod cluster;
mod config;
mod crawl;
mod hostile;
mod lifecycle;
mod links;
mod notify;
mod observability;
mod politeness;
mod reload;
mod render;
mod report;
mod store;
mod support;
mod tls;
