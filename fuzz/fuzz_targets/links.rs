//! Link extraction and sitemap reading on arbitrary bytes: never panics,
//! and the links are what the crawl may queue (http/https, no fragment,
//! each once, at most `MAX_LINKS`).
#![no_main]

use std::collections::HashSet;

use crawler::extract::{charset, links, sitemap};
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the page's encoding, as a server might declare it.
    let (declared, body) = data.split_first().map_or((0, data), |(b, rest)| (*b, rest));
    let http_charset = match declared % 3 {
        0 => None,
        1 => charset::from_content_type("text/html; charset=windows-1251"),
        _ => charset::from_content_type("text/html; charset=shift_jis"),
    };
    let decoded = charset::decode_html(body, http_charset, None);
    let Ok(page) = Url::parse("http://127.0.0.1/dir/page.html") else {
        return;
    };
    let found = links::page_links(&decoded.text, &page, decoded.encoding);
    assert!(found.links.len() <= links::MAX_LINKS);
    let mut seen = HashSet::new();
    for link in &found.links {
        assert!(matches!(link.url.scheme(), "http" | "https"));
        assert!(link.url.fragment().is_none());
        assert!(seen.insert(link.url.as_str()));
    }
    let _ = found.is_meta_nofollow("crawler");
    let _ = sitemap::read(body);
});
