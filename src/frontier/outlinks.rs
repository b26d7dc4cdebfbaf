//! The link graph as the store keeps it: each page's outgoing links with
//! their anchor texts, one value per page.
//!
//! A value opens with a fingerprint of each link, so a report can tell
//! which pages link to the few URLs it lists without inflating the rest:
//! `0x06`, the link count (`u32`, little-endian), one `u32` per link (the
//! low half of [`link_print`]), then the links' text, raw DEFLATE. A value
//! stored before the fingerprints (the DEFLATE alone) still reads: no
//! DEFLATE stream opens with `0x06`, whose block type (`11`) is reserved.

use xxhash_rust::xxh3::xxh3_64;

/// The first byte of a value that opens with its links' fingerprints.
const WITH_PRINTS: u8 = 0x06;

/// Bytes before the fingerprints: the mark and the link count.
const HEAD: usize = 5;

/// One outgoing link of a page, as the link graph keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutLink {
    /// The link (normalized).
    pub url: String,
    /// Its anchor text (empty: none).
    pub anchor: String,
}

/// A URL's fingerprint (XXH3-64 of its text); stored values keep its low
/// half ([`short_print`]).
pub fn link_print(url: &str) -> u64 {
    xxh3_64(url.as_bytes())
}

/// The part of a [`link_print`] a stored value keeps.
pub fn short_print(print: u64) -> u32 {
    // The low half, on purpose.
    print as u32
}

/// A page's outgoing links as stored: their fingerprints, then one line
/// per link, `link<TAB>anchor`, a link on the page's own origin written
/// from its path on, the lines deflated (raw DEFLATE, fastest level). The
/// graph is most of what reports keep: the text is about a fifth of the
/// links' on a real site, and the fingerprints add 4 bytes per link.
pub fn encode_outlinks(page: &str, links: &[String], anchors: &[String]) -> Vec<u8> {
    use std::io::Write as _;
    let origin = origin_prefix(page);
    let mut text = String::with_capacity(links.len() * 48);
    let no_anchor = String::new();
    for (index, link) in links.iter().enumerate() {
        let anchor = anchors.get(index).unwrap_or(&no_anchor);
        let short = origin
            .and_then(|origin| link.strip_prefix(origin))
            .filter(|rest| rest.starts_with('/'))
            .unwrap_or(link);
        text.push_str(short);
        text.push('\t');
        // Anchors are whitespace-collapsed: no tab or newline is left in them.
        text.extend(
            anchor
                .chars()
                .map(|c| if c == '\t' || c == '\n' { ' ' } else { c }),
        );
        text.push('\n');
    }
    // A page's links are bounded far below `u32::MAX`.
    let count = u32::try_from(links.len()).unwrap_or(u32::MAX);
    let mut stored = Vec::with_capacity(HEAD + links.len() * 4 + text.len() / 3);
    stored.push(WITH_PRINTS);
    stored.extend_from_slice(&count.to_le_bytes());
    for link in links.iter().take(count as usize) {
        stored.extend_from_slice(&short_print(link_print(link)).to_le_bytes());
    }
    let mut encoder = flate2::write::DeflateEncoder::new(stored, flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(text.as_bytes());
    encoder.finish().unwrap_or_default()
}

/// Splits a stored value into its fingerprints (`None`: a value stored
/// before them) and its DEFLATE part; `None` for a value cut short.
fn split(stored: &[u8]) -> Option<(Option<&[u8]>, &[u8])> {
    if stored.first() != Some(&WITH_PRINTS) {
        return Some((None, stored));
    }
    let count: [u8; 4] = stored.get(1..HEAD)?.try_into().ok()?;
    let end = HEAD.checked_add(
        usize::try_from(u32::from_le_bytes(count))
            .ok()?
            .checked_mul(4)?,
    )?;
    Some((Some(stored.get(HEAD..end)?), stored.get(end..)?))
}

/// Whether a stored value may hold a link whose [`short_print`] `wants`:
/// `true` when one of its fingerprints is wanted, and for a value that
/// keeps none or is damaged (reading it tells).
pub fn may_link_to(stored: &[u8], mut wants: impl FnMut(u32) -> bool) -> bool {
    match split(stored) {
        Some((Some(prints), _)) => prints.chunks_exact(4).any(|print| {
            let print: [u8; 4] = print.try_into().unwrap_or_default();
            wants(u32::from_le_bytes(print))
        }),
        _ => true,
    }
}

/// Reads stored outgoing links ([`encode_outlinks`]), reusing its buffers
/// from one page to the next (a report reads millions of links).
pub struct OutlinkReader {
    inflate: flate2::Decompress,
    text: Vec<u8>,
    url: String,
}

impl Default for OutlinkReader {
    fn default() -> Self {
        Self {
            inflate: flate2::Decompress::new(false),
            text: Vec::new(),
            url: String::new(),
        }
    }
}

impl OutlinkReader {
    /// Hands `visit` each link stored for `page`, with its anchor text;
    /// `false` for a damaged value (cut short, not DEFLATE, not UTF-8),
    /// which yields none.
    pub fn each(&mut self, page: &str, stored: &[u8], mut visit: impl FnMut(&str, &str)) -> bool {
        let Some((_, deflated)) = split(stored) else {
            return false;
        };
        if !self.inflate(deflated) {
            return false;
        }
        let Ok(text) = std::str::from_utf8(&self.text) else {
            return false;
        };
        let origin = origin_prefix(page).unwrap_or_default();
        for line in text.lines().filter(|line| !line.is_empty()) {
            let (link, anchor) = line.split_once('\t').unwrap_or((line, ""));
            if link.starts_with('/') {
                self.url.clear();
                self.url.push_str(origin);
                self.url.push_str(link);
                visit(&self.url, anchor);
            } else {
                visit(link, anchor);
            }
        }
        true
    }

    /// Inflates `deflated` into the text buffer; `false` when it is not
    /// a whole DEFLATE stream.
    fn inflate(&mut self, deflated: &[u8]) -> bool {
        self.inflate.reset(false);
        self.text.clear();
        self.text.reserve(deflated.len() * 4);
        loop {
            let before = (self.inflate.total_in(), self.inflate.total_out());
            let consumed = usize::try_from(before.0).unwrap_or(usize::MAX);
            let Some(input) = deflated.get(consumed..) else {
                return false;
            };
            // Not `Finish`: with it, a first call whose output does not
            // fit fails for good (miniz's one-shot mode).
            match (self.inflate).decompress_vec(
                input,
                &mut self.text,
                flate2::FlushDecompress::None,
            ) {
                Ok(flate2::Status::StreamEnd) => return true,
                Ok(_) if self.text.len() == self.text.capacity() => {
                    self.text.reserve(self.text.len())
                }
                // Neither read nor written: the stream is cut short.
                Ok(_) if (self.inflate.total_in(), self.inflate.total_out()) == before => {
                    return false;
                }
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    }
}

/// The links [`encode_outlinks`] stored for `page`.
pub fn decode_outlinks(page: &str, stored: &[u8]) -> Vec<OutLink> {
    let mut links = Vec::new();
    OutlinkReader::default().each(page, stored, |url, anchor| {
        links.push(OutLink {
            url: url.to_owned(),
            anchor: anchor.to_owned(),
        });
    });
    links
}

/// `scheme://authority` of an absolute URL's text.
fn origin_prefix(url: &str) -> Option<&str> {
    let rest = url.find("://")? + 3;
    let end = url[rest..].find('/').map_or(url.len(), |at| rest + at);
    Some(&url[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlinks_come_back_as_stored_same_origin_ones_written_short() {
        let page = "http://127.0.0.1:8080/docs/a.html";
        let links = [
            "http://127.0.0.1:8080/docs/b.html".to_owned(),
            "http://127.0.0.1:80/other".to_owned(),
            "https://example.com/x?y=1".to_owned(),
        ];
        let anchors = ["B\tpage".to_owned(), "ünïcode".to_owned()];
        let stored = encode_outlinks(page, &links, &anchors);
        let back = decode_outlinks(page, &stored);
        let pairs: Vec<(&str, &str)> = back
            .iter()
            .map(|link| (link.url.as_str(), link.anchor.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("http://127.0.0.1:8080/docs/b.html", "B page"),
                ("http://127.0.0.1:80/other", "ünïcode"),
                ("https://example.com/x?y=1", ""),
            ]
        );
        assert!(decode_outlinks(page, b"not deflate at all").is_empty());
    }

    #[test]
    fn fingerprints_tell_which_pages_may_link_to_a_url() {
        let page = "http://127.0.0.1:8080/";
        let links = ["http://127.0.0.1:8080/a".to_owned()];
        let stored = encode_outlinks(page, &links, &[]);
        let print = short_print(link_print("http://127.0.0.1:8080/a"));
        let other = short_print(link_print("http://127.0.0.1:8080/b"));
        assert!(may_link_to(&stored, |wanted| wanted == print));
        assert!(!may_link_to(&stored, |wanted| wanted == other));
        assert!(!may_link_to(&encode_outlinks(page, &[], &[]), |_| true));
        assert!(may_link_to(b"\x06\xff", |_| false), "damaged: read it");
        assert!(decode_outlinks(page, b"\x06\xff\xff\xff\xff").is_empty());
    }

    #[test]
    fn a_value_stored_before_fingerprints_still_reads() {
        use std::io::Write as _;
        let page = "http://127.0.0.1:8080/docs/";
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder
            .write_all(b"/docs/b.html\tB\nhttp://127.0.0.2/\t\n")
            .unwrap();
        let older = encoder.finish().unwrap();
        assert!(may_link_to(&older, |_| false), "no prints: read it");
        let back = decode_outlinks(page, &older);
        let urls: Vec<&str> = back.iter().map(|link| link.url.as_str()).collect();
        assert_eq!(
            urls,
            ["http://127.0.0.1:8080/docs/b.html", "http://127.0.0.2/"]
        );
    }

    #[test]
    fn outlinks_that_deflate_far_below_a_quarter_all_come_back() {
        // Alike links deflate to much less than a quarter of their text,
        // so the reader's first buffer fills before the input is used up.
        let page = "http://127.0.0.1:8080/";
        let links: Vec<String> = (0..2000)
            .map(|at| format!("http://127.0.0.1:8080/same/path/{}", at % 3))
            .collect();
        let anchors = vec!["the same anchor text".to_owned(); links.len()];
        let stored = encode_outlinks(page, &links, &anchors);
        let deflated = stored.len() - HEAD - links.len() * 4;
        assert!(deflated * 10 < links.len() * 40, "{deflated}");
        let back = decode_outlinks(page, &stored);
        assert_eq!(back.len(), links.len());
        assert!(back.iter().zip(&links).all(|(got, want)| &got.url == want));
        let cut = &stored[..stored.len() - deflated / 2];
        let mut reader = OutlinkReader::default();
        assert!(
            !reader.each(page, cut, |_, _| {}),
            "a cut stream is damaged"
        );
    }
}
