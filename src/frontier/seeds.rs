//! Seed URLs: parsing, normalization and streaming a `seeds_file` line by line.
//!
//! A seeds file may hold millions of lines, so it is never loaded whole: callers
//! walk it with [`SeedFile::entries`] and keep only what they need.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use url::Url;

use crate::config::Config;

/// The longest URL we send: the HTTP client cannot carry more (http's `Uri` stops at 64 KiB).
pub const MAX_URL_LEN: usize = 65_534;

/// How much of a long URL goes into a message.
const SHOWN_URL_CHARS: usize = 120;

/// A URL for messages: long ones are cut, with their length said.
pub fn shorten(url: &str) -> std::borrow::Cow<'_, str> {
    match url.char_indices().nth(SHOWN_URL_CHARS) {
        Some((cut, _)) => format!("{}… ({} bytes)", &url[..cut], url.len()).into(),
        None => url.into(),
    }
}

/// Parses one seed and normalizes it for de-duplication.
///
/// The `url` crate already lowercases the scheme and host, punycodes IDN hosts and
/// drops default ports; the fragment is dropped here because it is never sent.
///
/// # Errors
/// A message saying why the text is not a crawlable `http`/`https` URL.
pub fn parse_seed(text: &str) -> Result<Url, String> {
    let shown = shorten(text);
    let mut url = Url::parse(text).map_err(|err| format!("`{shown}` is not a valid URL: {err}"))?;
    check_crawlable(&url).map_err(|why| format!("`{shown}` {why}"))?;
    url.set_fragment(None);
    Ok(url)
}

/// Checks that a URL can be fetched: `http`/`https`, a host, and a length the client accepts.
///
/// # Errors
/// A lowercase reason, to be prefixed with the URL by the caller.
pub fn check_crawlable(url: &Url) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "has scheme `{}`; only http and https are crawled",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".to_owned());
    }
    if url.as_str().len() > MAX_URL_LEN {
        return Err(format!(
            "is {} bytes long; the limit is {MAX_URL_LEN}",
            url.as_str().len()
        ));
    }
    Ok(())
}

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
                Ok(text) => parse_line(&text).map(|url| {
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

/// Every seed of `config` in order, inline ones first, then the seeds file
/// streamed line by line; duplicates are left to the store. Remembers
/// whether the file was read to its end.
pub struct SeedStream<'a> {
    inline: std::slice::Iter<'a, Url>,
    file: Option<(PathBuf, SeedLines)>,
    is_complete: bool,
}

/// The lines of an open seeds file.
type SeedLines = Box<dyn Iterator<Item = io::Result<SeedLine>> + Send>;

impl<'a> SeedStream<'a> {
    /// Starts reading `config`'s seeds; a seeds file that cannot be opened is logged.
    pub fn new(config: &'a Config) -> Self {
        let mut is_complete = true;
        let file = config
            .seeds_file
            .as_ref()
            .and_then(|file| match file.entries() {
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
            inline: config.seeds.iter(),
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
    fn normalizes_scheme_host_port_and_fragment() {
        let url = parse_seed("HTTP://Example.COM:80/a/b?q=1#frag").unwrap();
        assert_eq!(url.as_str(), "http://example.com/a/b?q=1");
    }

    #[test]
    fn idn_host_becomes_punycode() {
        let url = parse_seed("https://bücher.example/").unwrap();
        assert_eq!(url.host_str(), Some("xn--bcher-kva.example"));
    }

    #[test]
    fn rejects_other_schemes_and_garbage() {
        assert!(
            parse_seed("ftp://example.com/")
                .unwrap_err()
                .contains("scheme `ftp`")
        );
        assert!(parse_seed("file:///etc/passwd").is_err());
        assert!(
            parse_seed("not a url")
                .unwrap_err()
                .contains("not a valid URL")
        );
        assert!(parse_seed("http://").is_err());
    }

    #[test]
    fn rejects_urls_longer_than_the_client_accepts() {
        let long = format!("http://127.0.0.1/{}", "a".repeat(MAX_URL_LEN));
        assert!(parse_seed(&long).unwrap_err().contains("bytes long"));
    }

    #[test]
    fn long_urls_are_shortened_in_messages() {
        let long = format!("http://127.0.0.1/{}", "a".repeat(500));
        let shown = shorten(&long);
        assert!(
            shown.len() < 200 && shown.ends_with("(517 bytes)"),
            "{shown}"
        );
        assert_eq!(shorten("http://a/"), "http://a/");
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
