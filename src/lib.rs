//! `crawler`: a long-running web crawler daemon.
//!
//! Seeds from `crawler.toml` go into a bounded `async-channel` queue drained by a
//! pool of async workers, which fetch each page (surf on curl), extract its title
//! the way a browser would, log it, and hand it to one output task that writes
//! JSON lines. `main.rs` only wires the command line to [`cli::Cli::run`].
//!
//! The modules follow the data: [`config`] → [`frontier`] → [`crawl`] →
//! [`fetch`] → [`extract`] → [`output`], with [`daemon`] driving them and
//! [`observe`] watching.

#![warn(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod cli;
pub mod config;
pub mod crawl;
pub mod daemon;
pub mod extract;
pub mod fetch;
pub mod frontier;
pub mod observe;
pub mod output;
