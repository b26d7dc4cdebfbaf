//! Seed lists: a `seeds_file` streamed line by line, and every seed of a
//! config (inline ones, then the file) as one stream.
//!
//! A seeds file may hold millions of lines, so it is never loaded whole: callers
//! walk it with [`SeedFile::entries`] and keep only what they need.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use url::Url;

use super::normalize::parse_seed;

/// One meaningful line of a seeds file: its 1-based line number and the parsed URL or why not.
#[derive(Debug)]
pub struct SeedLine {
    /// 1-based line number in the file.
    pub line: usize,
    /// The normalized URL, or a message naming the bad text.
    pub url: Result<Url, String>,
}

/// A `seeds_file`: one URL per line, `#` starts a comment, blank lines are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedFile {
    path: PathBuf,
}

impl SeedFile {
    /// Names a seeds file (it is opened by [`SeedFile::entries`]).
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// The file's path, as resolved against the config file's folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Streams the file's seed lines, skipping blanks and comments.
    ///
    /// # Errors
    /// The file cannot be opened; a read error later ends the iteration with an `Err` item.
    pub fn entries(&self) -> io::Result<impl Iterator<Item = io::Result<SeedLine>> + use<>> {
        let reader = BufReader::new(File::open(&self.path)?);
        Ok(reader
            .lines()
            .enumerate()
            .filter_map(|(index, line)| match line {
                // A byte-order mark some editors write is not part of the first URL.
                Ok(text) => parse_line(text.strip_prefix('\u{feff}').unwrap_or(&text)).map(|url| {
                    Ok(SeedLine {
                        line: index + 1,
                        url,
                    })
                }),
                Err(err) => Some(Err(err)),
            }))
    }
}

/// Parses one line of a seeds file; `None` for a blank or comment line.
fn parse_line(text: &str) -> Option<Result<Url, String>> {
    let mut words = text.split_whitespace();
    let first = words.next()?;
    if first.starts_with('#') {
        return None;
    }
    match words.next() {
        Some(rest) if !rest.starts_with('#') => Some(Err(format!(
            "unexpected text `{rest}` after the URL `{first}`; write one URL per line"
        ))),
        _ => Some(parse_seed(first)),
    }
}

/// Every seed in order, inline ones first, then the seeds file streamed
/// line by line; duplicates are left to the store. Remembers whether the
/// file was read to its end.
pub struct SeedStream<'a> {
    inline: std::slice::Iter<'a, Url>,
    file: Option<(PathBuf, SeedLines)>,
    is_complete: bool,
}

/// The lines of an open seeds file.
type SeedLines = Box<dyn Iterator<Item = io::Result<SeedLine>> + Send>;

impl<'a> SeedStream<'a> {
    /// Starts reading `inline`, then `file`; a seeds file that cannot be opened is logged.
    pub fn new(inline: &'a [Url], file: Option<&SeedFile>) -> Self {
        let mut is_complete = true;
        let file = file.and_then(|file| match file.entries() {
            Ok(entries) => Some((
                file.path().to_owned(),
                Box::new(entries) as Box<dyn Iterator<Item = _> + Send>,
            )),
            Err(err) => {
                log::error!("cannot read seeds file `{}`: {err}", file.path().display());
                is_complete = false;
                None
            }
        });
        Self {
            inline: inline.iter(),
            file,
            is_complete,
        }
    }

    /// Up to `count` more seeds; fewer only at the end.
    pub fn next_batch(&mut self, count: usize) -> Vec<Url> {
        let mut batch = Vec::with_capacity(count.min(10_000));
        while batch.len() < count {
            match self.next() {
                Some(url) => batch.push(url),
                None => break,
            }
        }
        batch
    }

    /// Whether every seed was read (no read error in the seeds file).
    pub fn is_complete(&self) -> bool {
        self.is_complete
    }
}

impl Iterator for SeedStream<'_> {
    type Item = Url;

    fn next(&mut self) -> Option<Url> {
        if let Some(url) = self.inline.next() {
            return Some(url.clone());
        }
        let (path, entries) = self.file.as_mut()?;
        loop {
            match entries.next() {
                Some(Ok(SeedLine { url: Ok(url), .. })) => return Some(url),
                Some(Ok(SeedLine {
                    line,
                    url: Err(message),
                })) => log::warn!("{} line {line}: {message}; skipped", path.display()),
                Some(Err(err)) => {
                    log::error!("reading seeds file `{}` failed: {err}", path.display());
                    self.is_complete = false;
                    self.file = None;
                    return None;
                }
                None => {
                    self.file = None;
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_before_the_first_url_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seeds.txt");
        std::fs::write(&path, "\u{feff}http://127.0.0.1/a\nhttp://127.0.0.1/b\n").unwrap();
        let urls: Vec<String> = SeedFile::new(path)
            .entries()
            .unwrap()
            .map(|entry| entry.unwrap().url.unwrap().to_string())
            .collect();
        assert_eq!(urls, ["http://127.0.0.1/a", "http://127.0.0.1/b"]);
    }

    #[test]
    fn lines_skip_comments_and_blanks() {
        assert!(parse_line("").is_none());
        assert!(parse_line("   # a comment").is_none());
        assert!(
            parse_line("http://127.0.0.1/ # trailing comment")
                .unwrap()
                .is_ok()
        );
        assert!(parse_line("http://127.0.0.1/ extra").unwrap().is_err());
    }
}
