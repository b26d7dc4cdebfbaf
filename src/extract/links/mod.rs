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
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use foldhash::fast::RandomState;

use encoding_rs::Encoding;
use url::Url;

mod entities;
mod scan;

/// Links kept from one page at most, so a hostile page cannot flood the frontier.
pub const MAX_LINKS: usize = 10_000;
/// `href`s read from one page at most, duplicates and other schemes included.
const MAX_HREFS: usize = 5 * MAX_LINKS;

/// The distinct `http`/`https` links of `html` (decoded from `encoding`),
/// fetched from `page`, in document order.
pub fn links(html: &str, page: &Url, encoding: &'static Encoding) -> Vec<Url> {
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
        options.parse(href).ok()
    };
    let base = found
        .base
        .as_deref()
        .and_then(|href| resolver(page, href))
        .filter(|base| !matches!(base.scheme(), "javascript" | "data"))
        .unwrap_or_else(|| page.clone());
    let mut hrefs_seen: HashSet<&str, RandomState> = HashSet::default();
    let mut seen = LinkSet::default();
    let mut links = Vec::new();
    for href in &found.hrefs {
        // The same text resolves the same way: parse it once.
        if !hrefs_seen.insert(href.as_ref()) || has_other_scheme(href) {
            continue;
        }
        let Some(mut url) = resolver(&base, href) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            continue;
        }
        url.set_fragment(None);
        if seen.insert(&url, &links) {
            links.push(url);
            if links.len() == MAX_LINKS {
                break;
            }
        }
    }
    links
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
    /// Records `url` as `links[links.len()]`; `false` when it is already there.
    fn insert(&mut self, url: &Url, links: &[Url]) -> bool {
        let hash = self.hasher.hash_one(url.as_str());
        match self.first.get(&hash) {
            Some(&index) if links[index] == *url => false,
            Some(_) => true,
            None => {
                self.first.insert(hash, links.len());
                true
            }
        }
    }
}

/// Encodes a query in `encoding`, as browsers do (unmappable characters
/// become numeric character references).
fn query_encoder(encoding: &'static Encoding) -> impl Fn(&str) -> Cow<'_, [u8]> {
    move |text| encoding.encode(text).0
}

#[cfg(test)]
mod tests;
