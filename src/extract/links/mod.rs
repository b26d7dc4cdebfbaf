//! A page's links as Chromium's `document.links` has them: every HTML `a`
//! and `area` with an `href`, in document order, resolved against the
//! document's base URL (the first `base` with an `href`; a `javascript:` or
//! `data:` base is ignored) with the query encoded in the page's encoding,
//! then normalized like seeds (fragment dropped; the `url` crate lowercases
//! the scheme and host and drops the default port). Only `http` and `https`
//! links are kept, each once, at most [`MAX_LINKS`].
//!
//! One scan (`scan.rs`) of the decoded text, with no tree built: the title
//! parse stays as fast as it is when links are not needed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;

use encoding_rs::Encoding;
use url::Url;

mod anchor;
mod entities;
mod scan;

pub use anchor::{MAX_ANCHOR, cut as cut_anchor};

/// Links kept from one page at most, so a hostile page cannot flood the frontier.
pub const MAX_LINKS: usize = 10_000;
/// `href`s read from one page at most, duplicates and other schemes included.
const MAX_HREFS: usize = 5 * MAX_LINKS;

/// One link of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The resolved, normalized URL.
    pub url: Url,
    /// Whether every `a`/`area` with this URL has `rel="nofollow"`.
    pub is_nofollow: bool,
    /// The text of its first `a` with text (tags left out, cut at [`MAX_ANCHOR`]), for reports.
    pub anchor: String,
}

/// What a page says about following its links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageLinks {
    /// The distinct `http`/`https` links, in document order.
    pub links: Vec<Link>,
    /// `(name, content)` of the page's `meta` elements with both, names
    /// trimmed and lowercased.
    pub meta: Vec<(String, String)>,
    /// The page's HTML `title` elements: more than one is a defect reports list.
    pub titles: u32,
}

impl PageLinks {
    /// Whether a `<meta name="robots">` (or one named `product_token`, any
    /// case) says `nofollow` or `none`.
    pub fn is_meta_nofollow(&self, product_token: &str) -> bool {
        self.meta.iter().any(|(name, content)| {
            (name == "robots" || name.eq_ignore_ascii_case(product_token))
                && content.split(',').any(|directive| {
                    let directive = directive.trim();
                    directive.eq_ignore_ascii_case("nofollow")
                        || directive.eq_ignore_ascii_case("none")
                })
        })
    }
}

/// The distinct `http`/`https` links of `html` (decoded from `encoding`),
/// fetched from `page`, in document order.
pub fn links(html: &str, page: &Url, encoding: &'static Encoding) -> Vec<Url> {
    page_links(html, page, encoding)
        .links
        .into_iter()
        .map(|link| link.url)
        .collect()
}

/// The links of `html` with their `nofollow` marks, and its `meta` names.
pub fn page_links(html: &str, page: &Url, encoding: &'static Encoding) -> PageLinks {
    let found = scan::scan(html, MAX_HREFS);
    let encoding = encoding.output_encoding();
    let encode = query_encoder(encoding);
    let resolver = |base: &Url, href: &str| {
        let options = Url::options().base_url(Some(base));
        let options = if encoding == encoding_rs::UTF_8 {
            options
        } else {
            options.encoding_override(Some(&encode))
        };
        options.parse(&collapse_leading_slashes(href)).ok()
    };
    let base = found
        .base
        .as_deref()
        .and_then(|href| resolver(page, href))
        .filter(|base| !matches!(base.scheme(), "javascript" | "data"))
        .unwrap_or_else(|| page.clone());
    // The same text resolves the same way: parse it once, remember where it went.
    let count = found.hrefs.len();
    let mut hrefs_seen: HashMap<&str, Option<usize>, RandomState> =
        HashMap::with_capacity_and_hasher(count, RandomState::default());
    let mut seen = LinkSet::with_capacity(count);
    let mut links: Vec<Link> = Vec::with_capacity(count.min(MAX_LINKS));
    for ((href, is_nofollow), &text_at) in found.hrefs.iter().zip(&found.text_at) {
        let index = match hrefs_seen.get(href.as_ref()) {
            Some(index) => *index,
            None => {
                let index = resolve_one(href, &base, &resolver).and_then(|url| {
                    seen.index_of(&url, &links).or_else(|| {
                        (links.len() < MAX_LINKS).then(|| {
                            links.push(Link {
                                url,
                                is_nofollow: true,
                                anchor: String::new(),
                            });
                            links.len() - 1
                        })
                    })
                });
                hrefs_seen.insert(href.as_ref(), index);
                index
            }
        };
        if let Some(index) = index {
            let link = &mut links[index];
            // Followable when any of its anchors is.
            link.is_nofollow &= *is_nofollow;
            if link.anchor.is_empty() {
                link.anchor = anchor::anchor_text(html, text_at);
            }
        }
    }
    // Only the names a crawler reads are kept (product tokens are single words).
    let meta = found
        .meta
        .into_iter()
        .map(|(name, content)| (name.trim().to_ascii_lowercase(), content))
        .filter(|(name, _)| !name.is_empty() && !name.contains([' ', ':', '.']))
        .map(|(name, content)| (name, content.into_owned()))
        .collect();
    PageLinks {
        links,
        meta,
        titles: found.titles,
    }
}

/// What a browser read of a rendered page's links: `document.links`,
/// each resolved `href` with its `nofollow` mark and its text.
pub type BrowserHref = (String, bool, String);

/// The links a browser read from a rendered page, its `meta` names and
/// its number of `title` elements, kept and normalized by the same rules
/// as [`page_links`].
pub fn browser_links(
    hrefs: Vec<BrowserHref>,
    meta: Vec<(String, String)>,
    titles: u32,
) -> PageLinks {
    let mut seen = LinkSet::with_capacity(hrefs.len());
    let mut links: Vec<Link> = Vec::with_capacity(hrefs.len().min(MAX_LINKS));
    for (href, is_nofollow, text) in hrefs.into_iter().take(MAX_HREFS) {
        let Ok(mut url) = Url::parse(&href) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            continue;
        }
        url.set_fragment(None);
        match seen.index_of(&url, &links) {
            Some(index) => {
                let link = &mut links[index];
                link.is_nofollow &= is_nofollow;
                if link.anchor.is_empty() {
                    link.anchor = cut_anchor(crate::extract::collapse_whitespace(&text));
                }
            }
            None if links.len() < MAX_LINKS => links.push(Link {
                url,
                is_nofollow,
                anchor: cut_anchor(crate::extract::collapse_whitespace(&text)),
            }),
            None => {}
        }
    }
    let meta = meta
        .into_iter()
        .map(|(name, content)| (name.trim().to_ascii_lowercase(), content))
        .filter(|(name, _)| !name.is_empty() && !name.contains([' ', ':', '.']))
        .collect();
    PageLinks {
        links,
        meta,
        titles,
    }
}

/// `href` resolved against `base` and normalized, when it is an http(s) URL.
fn resolve_one(
    href: &str,
    base: &Url,
    resolver: &impl Fn(&Url, &str) -> Option<Url>,
) -> Option<Url> {
    if has_other_scheme(href) {
        return None;
    }
    let mut url = resolver(base, href)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    url.set_fragment(None);
    if url.path().contains(['^', '|']) {
        // Chromium percent-encodes these two in a path; the URL standard's
        // path set (which the `url` crate follows) does not.
        let path = url.path().replace('^', "%5E").replace('|', "%7C");
        url.set_path(&path);
    }
    Some(url)
}

/// `href` with a run of three or more leading slashes (or backslashes) as
/// two. The URL standard's "special authority ignore slashes" state skips
/// every slash after the first two (tabs and newlines are gone before it),
/// so Chromium resolves `///host/x` against an http(s) page to
/// `http://host/x`; the `url` crate finds an empty host there.
fn collapse_leading_slashes(href: &str) -> Cow<'_, str> {
    let is_slash = |c: char| matches!(c, '/' | '\\');
    let is_dropped = |c: char| matches!(c, '\t' | '\n' | '\r');
    let trimmed = href.trim_start_matches(|c: char| c <= ' ');
    let slashes = trimmed
        .chars()
        .filter(|c| !is_dropped(*c))
        .take_while(|c| is_slash(*c))
        .count();
    if slashes < 3 {
        return Cow::Borrowed(href);
    }
    let rest = trimmed.trim_start_matches(|c: char| is_slash(c) || is_dropped(c));
    Cow::Owned(format!("//{rest}"))
}

/// Whether `href` names a scheme other than http(s) (`mailto:`, `tel:`,
/// `javascript:`…), so that it need not be parsed.
fn has_other_scheme(href: &str) -> bool {
    let href = href.trim_start_matches(|c: char| c <= ' ');
    let Some(colon) = href.find(':') else {
        return false;
    };
    let scheme = &href[..colon];
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme && !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https")
}

/// The links kept so far, by a hash of their text. A hit is checked
/// against the link itself; two different links with one hash (not seen in
/// practice with 64 bits) are both kept, never one dropped.
#[derive(Default)]
struct LinkSet {
    first: HashMap<u64, usize, RandomState>,
    hasher: RandomState,
}

impl LinkSet {
    fn with_capacity(capacity: usize) -> Self {
        let hasher = RandomState::default();
        Self {
            first: HashMap::with_capacity_and_hasher(capacity, hasher.clone()),
            hasher,
        }
    }

    /// Where `url` is in `links`; `None` when it is new (then it is recorded
    /// as `links[links.len()]`, where the caller puts it).
    fn index_of(&mut self, url: &Url, links: &[Link]) -> Option<usize> {
        let hash = self.hasher.hash_one(url.as_str());
        match self.first.get(&hash) {
            Some(&index) if links.get(index).is_some_and(|link| link.url == *url) => Some(index),
            Some(_) => None,
            None => {
                if links.len() < MAX_LINKS {
                    self.first.insert(hash, links.len());
                }
                None
            }
        }
    }
}

/// Encodes a query in `encoding`, as browsers do: a character the encoding
/// lacks becomes its numeric character reference, already percent-encoded
/// (`%26%23NNNN%3B`, the URL standard's "percent-encode after encoding"; the
/// `url` crate leaves a `%` as it is).
fn query_encoder(encoding: &'static Encoding) -> impl Fn(&str) -> Cow<'_, [u8]> {
    move |text| {
        let (bytes, _, had_unmappable) = encoding.encode(text);
        if !had_unmappable {
            return bytes;
        }
        Cow::Owned(encode_with_references(encoding, text))
    }
}

/// `text` in `encoding`, each unmappable character as `%26%23NNNN%3B`.
fn encode_with_references(encoding: &'static Encoding, text: &str) -> Vec<u8> {
    let mut encoder = encoding.new_encoder();
    let mut out = Vec::with_capacity(text.len() * 2);
    let mut rest = text;
    let mut buffer = [0u8; 1024];
    loop {
        let (result, read, written) =
            encoder.encode_from_utf8_without_replacement(rest, &mut buffer, true);
        out.extend_from_slice(&buffer[..written]);
        rest = &rest[read..];
        match result {
            encoding_rs::EncoderResult::InputEmpty => return out,
            encoding_rs::EncoderResult::OutputFull => {}
            encoding_rs::EncoderResult::Unmappable(character) => {
                out.extend_from_slice(format!("%26%23{}%3B", u32::from(character)).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests;
