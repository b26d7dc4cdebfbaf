//! The one place that formats results: the per-page log line and the JSON line.
//!
//! A single output task owns the JSON Lines file, so lines never interleave; each
//! record is serialized whole and written with one `write_all` on an unbuffered
//! append-mode file, so a reader never sees half a line.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_channel::Receiver;
use indicatif::ProgressBar;
use serde::Serialize;

use crate::observe::metrics::Metrics;
use crate::observe::progress;

/// What the output task is asked to do.
#[derive(Debug)]
pub enum Message {
    /// Log and write one record.
    Record(Box<Record>),
    /// Reopen the JSON Lines file at the same path (log rotation).
    Reopen,
    /// Write to another file from now on, or to none (a reload changed `output.jsonl`).
    SetPath(Option<PathBuf>),
}

/// One URL's outcome; the JSON Lines schema (field names are a stable contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The URL as queued (normalized).
    pub url: String,
    /// The URL after redirects.
    pub final_url: String,
    /// The final HTTP status, or null when no response arrived.
    pub status: Option<u16>,
    /// `document.title`, or null when there is none or the page was not parsed.
    pub title: Option<String>,
    /// Null, or `"<kind>: <message>"`.
    pub error: Option<String>,
    /// The `Content-Type` header, or null when absent.
    pub content_type: Option<String>,
    /// The encoding the body was decoded with, when it was decoded.
    pub encoding: Option<&'static str>,
    /// Body bytes read.
    pub bytes: u64,
    /// Time from the first request to the record, in milliseconds.
    pub elapsed_ms: u64,
    /// When the fetch started, RFC 3339 in UTC.
    pub fetched_at: String,
    /// Requests made for this record: 1, plus one per retry (0 when robots.txt forbade it).
    pub attempts: u32,
    /// Whether the title differs from the one seen last time for this URL.
    pub changed: bool,
    /// The title seen last time, present only when `changed` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_title: Option<Option<String>>,
    /// The server answered `304 Not Modified` to a conditional request: the
    /// title is the one stored from the last fetch.
    pub not_modified: bool,
    /// The page's `ETag` (kept in the store, not written).
    #[serde(skip)]
    pub etag: Option<String>,
    /// The page's `Last-Modified` (kept in the store, not written).
    #[serde(skip)]
    pub last_modified: Option<String>,
    /// Links followed from the seed to reach this page: 0 for a seed.
    pub depth: u32,
    /// The page the link was found on (the sitemap, for a sitemap entry); null for a seed.
    pub found_on: Option<String>,
    /// The page's distinct `http`/`https` links in document order; null when
    /// they were not extracted (beyond `crawl.max_depth`, or not a page).
    pub links: Option<Vec<String>>,
    /// Of those, the ones the crawl follows, by index (they go to the store, not written).
    #[serde(skip)]
    pub follow: Option<Vec<usize>>,
    /// Whether the page came from a public address (kept in the store, not written).
    #[serde(skip)]
    pub is_from_public: bool,
    /// The node that fetched it (`cluster.node`); null without a cluster.
    pub node: Option<Arc<str>>,
}

impl Record {
    /// The error kind (`timeout`, `robots`, …), when the record is a failure.
    pub fn error_kind(&self) -> Option<&str> {
        let error = self.error.as_deref()?;
        Some(error.split_once(':').map_or(error, |(kind, _)| kind))
    }

    /// Logs the record: INFO `title …` for a page, WARN `failed …` for an error.
    pub fn log(&self) {
        let status = self
            .status
            .map_or_else(|| "-".to_owned(), |code| code.to_string());
        match &self.error {
            None => log::info!(
                "title url={} status={status} title={}",
                self.url,
                quoted(self.title.as_deref())
            ),
            Some(error) => log::warn!("failed url={} status={status} error={error:?}", self.url),
        }
    }
}

/// `"text"` with quotes and control characters escaped, or `null`.
fn quoted(text: Option<&str>) -> String {
    text.map_or_else(|| "null".to_owned(), |text| format!("{text:?}"))
}

/// Given each record once it is written (the store commits it).
pub type Written = Box<dyn FnMut(Record) + Send>;

/// The JSON Lines sink; without a path, records are only logged.
pub struct Output {
    file: Option<(PathBuf, File)>,
    line: Vec<u8>,
    written: Option<Written>,
    progress: Option<(ProgressBar, u64)>,
    /// The node name every record carries, in a cluster.
    node: Option<Arc<str>>,
    /// Records that could not be written.
    pub failed_writes: u64,
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl Output {
    /// Opens `path` for appending (creating it), or logs only when `None`.
    ///
    /// # Errors
    /// The file cannot be opened for appending.
    pub fn open(path: Option<&Path>) -> io::Result<Self> {
        let file = match path {
            Some(path) => Some((path.to_owned(), open_append(path)?)),
            None => None,
        };
        Ok(Self {
            file,
            line: Vec::with_capacity(1024),
            written: None,
            progress: None,
            failed_writes: 0,
            node: None,
        })
    }

    /// Stamps every record with this node's name (a cluster).
    pub fn with_node(mut self, node: &str) -> Self {
        self.node = Some(node.into());
        self
    }

    /// Calls `written` with each record after it is written.
    pub fn with_written(mut self, written: Written) -> Self {
        self.written = Some(written);
        self
    }

    /// Advances `bar` for each record (and counts errors on it).
    pub fn with_progress(mut self, bar: ProgressBar) -> Self {
        self.progress = Some((bar, 0));
        self
    }

    /// Counts a record on the progress bar, if there is one.
    fn advance_progress(&mut self, record: &Record) {
        if let Some((bar, errors)) = &mut self.progress {
            *errors += u64::from(record.error.is_some());
            progress::advance(bar, *errors);
        }
    }

    /// Reopens the current file (after logrotate moved it); on failure keeps the old handle.
    pub fn reopen(&mut self) {
        if let Some(path) = self.file.as_ref().map(|(path, _)| path.clone()) {
            self.open_at(path);
        }
    }

    /// Writes to `path` from now on (or only logs, with `None`).
    pub fn set_path(&mut self, path: Option<PathBuf>) {
        match path {
            Some(path) => self.open_at(path),
            None => {
                log::info!("output: records are only logged now");
                self.file = None;
            }
        }
    }

    fn open_at(&mut self, path: PathBuf) {
        match open_append(&path) {
            Ok(file) => {
                log::info!("output: writing to `{}`", path.display());
                self.file = Some((path, file));
            }
            Err(err) => log::error!(
                "cannot open output file `{}`: {err}; still writing to the previous file",
                path.display()
            ),
        }
    }

    /// Logs the record (and a changed title), appends one JSON line, then
    /// hands the record on to `written`.
    pub fn write(&mut self, mut record: Record) {
        if record.node.is_none() {
            record.node.clone_from(&self.node);
        }
        if record.changed {
            log::info!(
                "title changed url={} from={} to={}",
                record.url,
                quoted(record.previous_title.as_ref().and_then(Option::as_deref)),
                quoted(record.title.as_deref())
            );
        }
        record.log();
        self.advance_progress(&record);
        if self.append(&record)
            && let Some(written) = &mut self.written
        {
            written(record);
        }
    }

    /// Appends the JSON line; `false` when it could not be written.
    fn append(&mut self, record: &Record) -> bool {
        let Some((path, file)) = &mut self.file else {
            return true;
        };
        self.line.clear();
        let written = serde_json::to_writer(&mut self.line, record)
            .map_err(io::Error::from)
            .and_then(|()| {
                self.line.push(b'\n');
                file.write_all(&self.line)
            });
        if let Err(err) = written {
            self.failed_writes += 1;
            log::error!(
                "cannot write a record for {} to `{}`: {err}",
                record.url,
                path.display()
            );
            return false;
        }
        true
    }
}

/// Handles messages until the channel closes; returns the sink.
pub async fn run(messages: Receiver<Message>, mut output: Output, metrics: Arc<Metrics>) -> Output {
    while let Ok(message) = messages.recv().await {
        match message {
            Message::Record(record) => {
                metrics.record(&record);
                output.write(*record);
            }
            Message::Reopen => output.reopen(),
            Message::SetPath(path) => output.set_path(path),
        }
    }
    if let Some((bar, _)) = &output.progress {
        bar.finish();
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            url: "http://127.0.0.1/".to_owned(),
            final_url: "http://127.0.0.1/".to_owned(),
            status: Some(200),
            title: Some("say \"hi\"\n".to_owned()),
            error: None,
            content_type: Some("text/html".to_owned()),
            encoding: Some("UTF-8"),
            bytes: 10,
            elapsed_ms: 1,
            fetched_at: "2026-01-01T00:00:00Z".to_owned(),
            attempts: 1,
            changed: false,
            previous_title: None,
            not_modified: false,
            etag: None,
            last_modified: None,
            depth: 0,
            found_on: None,
            links: None,
            follow: None,
            is_from_public: false,
            node: None,
        }
    }

    #[test]
    fn title_is_quoted_and_escaped() {
        assert_eq!(quoted(Some("say \"hi\"\n")), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(quoted(None), "null");
    }

    #[test]
    fn each_record_is_one_json_line() {
        let dir = std::env::temp_dir().join(format!("crawler-output-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.jsonl");
        let mut output = Output::open(Some(&path)).unwrap();
        output.write(record());
        output.write(record());
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let value: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(value["title"], "say \"hi\"\n");
        assert!(value["error"].is_null());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
