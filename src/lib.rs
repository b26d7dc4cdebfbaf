//! `crawler`: a long-running web crawler daemon.
//!
//! Seeds from `crawler.toml` go into a bounded `async-channel` queue drained by a
//! pool of async workers, which fetch each page (surf on curl), extract its title
//! the way a browser would, log it, and hand it to one output task that writes
//! JSON lines. `main.rs` only wires the command line to [`cli::Cli::run`].
//!
//! Imports point down the flow, never up (a test in
//! `tests/integration/architecture.rs` holds them to it):
//!
//! ```text
//! cli → daemon → crawl → fetch → extract
//!         │        │       └──→ config → urls
//!         │        ├──→ frontier → config, observe, record, urls, watch
//!         │        ├──→ watch → config, record
//!         │        └──→ output → observe, record
//!         ├──→ notify → fetch, frontier, watch
//!         └──→ report → frontier, config
//! ```
//!
//! [`cli`] parses the command line; [`daemon`] runs the lifecycle (`--once`,
//! the service, signals, reloads); [`crawl`] moves the work (feeding,
//! politeness, workers, retries, links); [`fetch`] gets one URL over HTTP;
//! [`extract`] turns bytes into titles and links, with no I/O. Beside them,
//! used from above: [`frontier`] (the store behind one door), [`output`]
//! (log lines and JSON Lines), [`observe`] (metrics, progress),
//! [`config`] (data only), [`watch`] (what a record means for the
//! `[[notify]]` targets, pure), [`notify`] (delivering from the store's
//! outbox) and [`report`] (a crawl's problems, read from the store). At the bottom, the shared vocabulary every
//! stage may use: [`urls`] (normalization, seeds, scope, fingerprints) and
//! [`record`] (what each URL ends as).

#![warn(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod cli;
pub mod config;
pub mod crawl;
pub mod daemon;
pub mod extract;
pub mod fetch;
pub mod frontier;
pub mod notify;
pub mod observe;
pub mod output;
pub mod record;
pub mod render;
pub mod report;
pub mod urls;
pub mod watch;
