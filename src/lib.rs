//! `crawler`: a long-running web crawler daemon.
//!
//! Seeds from `crawler.toml` go into a bounded `async-channel` queue drained by a
//! pool of async workers, which fetch each page (surf on curl), extract its title
//! the way a browser would, log it, and hand it to one output task that writes
//! JSON lines. `main.rs` only wires the command line to [`cli::Cli::run`].

#![warn(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod charset;
pub mod cli;
pub mod config;
pub mod control;
pub mod daemon;
pub mod dispatch;
pub mod extract;
pub mod fetch;
pub mod frontier;
pub mod metrics;
pub mod output;
pub mod politeness;
pub mod progress;
pub mod retry;
pub mod scheduler;
pub mod seeds;
pub mod service;
pub mod state;
pub mod worker;
