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

use crate::observe::metrics::Metrics;
use crate::observe::progress;
use crate::record::Record;

/// What the output task is asked to do. `T` travels with each record and
/// is handed, with it, to the [`Written`] hook once the record is written
/// (the store's own data about the page).
#[derive(Debug)]
pub enum Message<T> {
    /// Log and write one record.
    Record(Box<Record>, T),
    /// Reopen the JSON Lines file at the same path (log rotation).
    Reopen,
    /// Write to another file from now on, or to none (a reload changed `output.jsonl`).
    SetPath(Option<PathBuf>),
}

/// Logs `record`: INFO `title …` for a page, WARN `failed …` for an error.
fn log_record(record: &Record) {
    let status = record
        .status
        .map_or_else(|| "-".to_owned(), |code| code.to_string());
    match &record.error {
        None => log::info!(
            "title url={} status={status} title={}",
            record.url,
            quoted(record.title.as_deref())
        ),
        Some(error) => log::warn!("failed url={} status={status} error={error:?}", record.url),
    }
}

/// `"text"` with quotes and control characters escaped, or `null`.
fn quoted(text: Option<&str>) -> String {
    text.map_or_else(|| "null".to_owned(), |text| format!("{text:?}"))
}

/// Given each record, and what travelled with it, once it is written (the
/// store commits it).
pub type Written<T> = Box<dyn FnMut(Record, T) + Send>;

/// The JSON Lines sink; without a path, records are only logged.
pub struct Output<T> {
    file: Option<(PathBuf, File)>,
    line: Vec<u8>,
    written: Option<Written<T>>,
    progress: Option<(ProgressBar, u64)>,
    /// The node name every record carries, in a cluster.
    node: Option<Arc<str>>,
    /// Records that could not be written.
    pub failed_writes: u64,
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl<T> Output<T> {
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
    pub fn with_written(mut self, written: Written<T>) -> Self {
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

    /// Appends one JSON line, logs the record (and a changed title), then
    /// hands the record on to `written`. The line is in the file before
    /// the log says so, so a reader that follows the log finds it there.
    pub fn write(&mut self, mut record: Record, receipt: T) {
        if record.node.is_none() {
            record.node.clone_from(&self.node);
        }
        let is_appended = self.append(&record);
        if record.changed {
            log::info!(
                "title changed url={} from={} to={}",
                record.url,
                quoted(record.previous_title.as_ref().and_then(Option::as_deref)),
                quoted(record.title.as_deref())
            );
        }
        log_record(&record);
        self.advance_progress(&record);
        if is_appended && let Some(written) = &mut self.written {
            written(record, receipt);
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
pub async fn run<T>(
    messages: Receiver<Message<T>>,
    mut output: Output<T>,
    metrics: Arc<Metrics>,
) -> Output<T> {
    while let Ok(message) = messages.recv().await {
        match message {
            Message::Record(record, receipt) => {
                metrics.record(record.error_kind(), record.bytes);
                output.write(*record, receipt);
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
        let url = url::Url::parse("http://127.0.0.1/").unwrap();
        let mut record = Record::new(&url, std::time::SystemTime::now());
        record.status = Some(200);
        record.title = Some("say \"hi\"\n".to_owned());
        record
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
        let mut output = Output::<()>::open(Some(&path)).unwrap();
        output.write(record(), ());
        output.write(record(), ());
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let value: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(value["title"], "say \"hi\"\n");
        assert!(value["error"].is_null());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
