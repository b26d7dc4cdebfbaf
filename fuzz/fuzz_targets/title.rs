//! Title extraction and charset decoding on arbitrary bytes: never panics, and
//! the early-stopping title parse agrees with a whole-document parse.
#![no_main]

use crawler::extract::{self, charset};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks how the page is declared, as a server might.
    let (declared, body) = data.split_first().map_or((0, data), |(b, rest)| (*b, rest));
    let http_charset = match declared % 4 {
        0 => None,
        1 => charset::from_content_type("text/html; charset=utf-8"),
        2 => charset::from_content_type("text/html; charset=shift_jis"),
        _ => charset::from_content_type("text/html; charset=windows-1251"),
    };
    let decoded = charset::decode_html(body, http_charset, Some(b"ru"));
    let title = extract::html_title(&decoded.text);
    assert_eq!(title, extract::html_title_whole_document(&decoded.text));
    if let Some(title) = title {
        assert!(!title.starts_with([' ', '\t', '\n', '\r', '\x0C']));
        assert!(!title.contains("  "));
    }
    let xml = charset::decode_xml(body, http_charset);
    let _ = extract::xhtml_title(&xml.text);
});
