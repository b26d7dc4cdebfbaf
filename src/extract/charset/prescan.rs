//! The `<meta charset>` scan of an HTML byte stream, as Chromium does it.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252, X_USER_DEFINED};

use super::{find_ascii_ci, is_space, is_utf16, skip_space};

/// How many leading bytes are scanned unconditionally; past them, only while in `<head>`.
const PRESCAN_LIMIT: usize = 1024;

/// Finds the encoding a `<meta>` declares, as Chromium's meta charset scan does.
///
/// This is the WHATWG prescan (<https://html.spec.whatwg.org/#prescan-a-byte-stream-to-determine-its-encoding>)
/// with the two relaxations every Chromium-based browser applies, checked
/// against Chromium on real pages: the scan does not stop at 1024 bytes while
/// still inside `<head>` (only `<script>`, `<style>`, `<meta>`, `<link>`,
/// `<title>`, `<base>`, `<object>`, `<noscript>` seen so far), and the contents
/// of raw-text elements such as `<script>` are skipped rather than scanned.
pub fn prescan(bytes: &[u8]) -> Option<&'static Encoding> {
    let mut at = 0;
    let mut in_head = true;
    while at < bytes.len() {
        if !in_head && at >= PRESCAN_LIMIT {
            return None;
        }
        let rest = &bytes[at..];
        if rest.starts_with(b"<!--") {
            // The dashes of `<!--` may close it too: `<!-->` is a whole comment.
            at = find_subslice(bytes, b"-->", at + 2)? + 3;
        } else if rest[0] == b'<' && is_tag_start(rest) {
            let tag = read_tag(bytes, at)?;
            if !tag.is_end
                && tag.name == b"meta"
                && let Some(encoding) = meta_charset(&tag.attributes)
            {
                return Some(meta_override(encoding));
            }
            in_head &= keeps_head_open(&tag);
            at = tag.next;
            if !tag.is_end && is_raw_text(&tag.name) {
                at = raw_text_end(bytes, at, &tag.name)?;
            }
        } else if rest.starts_with(b"<!") || rest.starts_with(b"</") || rest.starts_with(b"<?") {
            at = bytes[at..].iter().position(|&b| b == b'>')? + at + 1;
        } else {
            at += 1 + rest[1..]
                .iter()
                .position(|&b| b == b'<')
                .unwrap_or(rest.len() - 1);
        }
    }
    None
}

/// A start or end tag read by the prescan.
struct Tag {
    is_end: bool,
    /// Lowercased.
    name: Vec<u8>,
    /// Lowercased names and values, first occurrence of each name only.
    attributes: Vec<(Vec<u8>, Vec<u8>)>,
    /// Index just past the tag's `>`.
    next: usize,
}

/// Reads the tag at `at` (`<x…>` or `</x…>`); `None` if the input ends inside it.
fn read_tag(bytes: &[u8], at: usize) -> Option<Tag> {
    let is_end = bytes.get(at + 1) == Some(&b'/');
    let mut end = at + if is_end { 2 } else { 1 };
    let name_start = end;
    while end < bytes.len() && !is_space(bytes[end]) && bytes[end] != b'>' && bytes[end] != b'/' {
        end += 1;
    }
    let name = bytes[name_start..end].to_ascii_lowercase();
    let mut attributes: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut at = end;
    loop {
        match attribute(bytes, at) {
            Attribute::Found { name, value, next } => {
                if !attributes.iter().any(|(seen, _)| *seen == name) {
                    attributes.push((name, value));
                }
                at = next;
            }
            Attribute::None { next } => {
                return Some(Tag {
                    is_end,
                    name,
                    attributes,
                    next: next + 1,
                });
            }
            Attribute::End => return None,
        }
    }
}

/// Whether the scan is still in `<head>` after this tag (Chromium's list).
fn keeps_head_open(tag: &Tag) -> bool {
    const HEAD_TAGS: [&[u8]; 8] = [
        b"script",
        b"noscript",
        b"style",
        b"link",
        b"meta",
        b"object",
        b"title",
        b"base",
    ];
    HEAD_TAGS.contains(&tag.name.as_slice())
        || (!tag.is_end && (tag.name == b"html" || tag.name == b"head"))
}

/// Elements whose content the HTML tokenizer reads as text, not markup.
fn is_raw_text(name: &[u8]) -> bool {
    const RAW: [&[u8]; 9] = [
        b"script",
        b"style",
        b"title",
        b"textarea",
        b"xmp",
        b"iframe",
        b"noembed",
        b"noframes",
        b"plaintext",
    ];
    RAW.contains(&name)
}

/// The index of the `</name` that ends a raw-text element opened just before `at`.
fn raw_text_end(bytes: &[u8], mut at: usize, name: &[u8]) -> Option<usize> {
    if name == b"plaintext" {
        return None;
    }
    loop {
        let close = find_subslice(bytes, b"</", at)?;
        let after = close + 2 + name.len();
        let matches_name = bytes
            .get(close + 2..after)
            .is_some_and(|candidate| candidate.eq_ignore_ascii_case(name));
        let terminated = bytes
            .get(after)
            .is_some_and(|&b| is_space(b) || b == b'/' || b == b'>');
        if matches_name && terminated {
            return Some(close);
        }
        at = close + 2;
    }
}

/// The encoding a `<meta>` tag's attributes declare (Chromium's
/// `EncodingFromMetaAttributes`): `charset`, or `http-equiv=content-type` with a
/// `content` naming one. The first of `charset`/`content` wins.
fn meta_charset(attributes: &[(Vec<u8>, Vec<u8>)]) -> Option<&'static Encoding> {
    let mut got_pragma = false;
    let mut label: Option<(&[u8], bool)> = None;
    for (name, value) in attributes {
        match name.as_slice() {
            b"http-equiv" => got_pragma |= value == b"content-type",
            b"charset" if label.is_none() => label = Some((value, false)),
            b"content" if label.is_none() => {
                label = charset_from_meta_content(value).map(|found| (found, true));
            }
            _ => {}
        }
    }
    match label? {
        (_, true) if !got_pragma => None,
        (label, _) => Encoding::for_label(label),
    }
}

/// A `<meta>` cannot switch to UTF-16 (the bytes were read as ASCII) or x-user-defined.
fn meta_override(encoding: &'static Encoding) -> &'static Encoding {
    if is_utf16(encoding) {
        UTF_8
    } else if encoding == X_USER_DEFINED {
        WINDOWS_1252
    } else {
        encoding
    }
}

/// The label in a `content="text/html; charset=…"` value.
fn charset_from_meta_content(content: &[u8]) -> Option<&[u8]> {
    let mut at = 0;
    loop {
        at = find_ascii_ci(content, b"charset", at)? + b"charset".len();
        let after = skip_space(content, at);
        if content.get(after) != Some(&b'=') {
            at = after;
            continue;
        }
        let start = skip_space(content, after + 1);
        let first = *content.get(start)?;
        if first == b'"' || first == b'\'' {
            let len = content[start + 1..].iter().position(|&b| b == first)?;
            return Some(&content[start + 1..start + 1 + len]);
        }
        let len = content[start..]
            .iter()
            .position(|&b| is_space(b) || matches!(b, b';' | b'"' | b'\''))
            .unwrap_or(content.len() - start);
        return Some(&content[start..start + len]);
    }
}

fn find_subslice(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// `<` + letter, or `</` + letter.
fn is_tag_start(rest: &[u8]) -> bool {
    match rest.get(1) {
        Some(b) if b.is_ascii_alphabetic() => true,
        Some(b'/') => rest.get(2).is_some_and(u8::is_ascii_alphabetic),
        _ => false,
    }
}

enum Attribute {
    /// An attribute (name lowercased) and the index after it.
    Found {
        name: Vec<u8>,
        value: Vec<u8>,
        next: usize,
    },
    /// No more attributes: `next` points at the `>`.
    None { next: usize },
    /// The input ended inside the tag.
    End,
}

/// The WHATWG "get an attribute" algorithm of the prescan.
fn attribute(bytes: &[u8], mut at: usize) -> Attribute {
    while bytes.get(at).is_some_and(|&b| is_space(b) || b == b'/') {
        at += 1;
    }
    match bytes.get(at) {
        None => return Attribute::End,
        Some(b'>') => return Attribute::None { next: at },
        Some(_) => {}
    }
    let mut name = Vec::new();
    loop {
        let Some(&byte) = bytes.get(at) else {
            return Attribute::End;
        };
        if byte == b'=' && !name.is_empty() {
            at += 1;
            break;
        }
        if is_space(byte) {
            at = skip_space(bytes, at);
            if bytes.get(at) != Some(&b'=') {
                return Attribute::Found {
                    name,
                    value: Vec::new(),
                    next: at,
                };
            }
            at += 1;
            break;
        }
        if byte == b'/' || byte == b'>' {
            return Attribute::Found {
                name,
                value: Vec::new(),
                next: at,
            };
        }
        name.push(byte.to_ascii_lowercase());
        at += 1;
    }
    attribute_value(bytes, skip_space(bytes, at), name)
}

fn attribute_value(bytes: &[u8], mut at: usize, name: Vec<u8>) -> Attribute {
    let mut value = Vec::new();
    match bytes.get(at) {
        None => Attribute::End,
        Some(&quote @ (b'"' | b'\'')) => {
            at += 1;
            loop {
                match bytes.get(at) {
                    None => return Attribute::End,
                    Some(&b) if b == quote => {
                        return Attribute::Found {
                            name,
                            value,
                            next: at + 1,
                        };
                    }
                    Some(&b) => value.push(b.to_ascii_lowercase()),
                }
                at += 1;
            }
        }
        Some(b'>') => Attribute::Found {
            name,
            value,
            next: at,
        },
        Some(_) => {
            while let Some(&b) = bytes.get(at) {
                if is_space(b) || b == b'>' {
                    return Attribute::Found {
                        name,
                        value,
                        next: at,
                    };
                }
                value.push(b.to_ascii_lowercase());
                at += 1;
            }
            Attribute::End
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(found: Option<&'static Encoding>) -> Option<&'static str> {
        found.map(Encoding::name)
    }

    #[test]
    fn prescan_finds_meta_charset_and_pragma() {
        assert_eq!(
            name(prescan(b"<meta charset=\"windows-1251\">")),
            Some("windows-1251")
        );
        assert_eq!(name(prescan(b"<META CHARSET=koi8-r>")), Some("KOI8-R"));
        let pragma = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=shift_jis\">";
        assert_eq!(name(prescan(pragma)), Some("Shift_JIS"));
    }

    #[test]
    fn prescan_needs_the_pragma_for_content() {
        assert_eq!(
            prescan(b"<meta content=\"text/html; charset=koi8-r\">"),
            None
        );
    }

    #[test]
    fn prescan_skips_comments_and_other_tags_attributes() {
        assert_eq!(prescan(b"<!-- <meta charset=koi8-r> --><p>"), None);
        assert_eq!(prescan(b"<div title='<meta charset=koi8-r>'>"), None);
        assert_eq!(name(prescan(b"<!--><meta charset=koi8-r>")), Some("KOI8-R"));
    }

    #[test]
    fn prescan_goes_past_1024_bytes_while_in_head() {
        let filler = "x".repeat(2000);
        let in_head = format!("<head><script>{filler}</script><meta charset=koi8-r>");
        assert_eq!(name(prescan(in_head.as_bytes())), Some("KOI8-R"));
        let in_body = format!("<body><p>{filler}</p><meta charset=koi8-r>");
        assert_eq!(prescan(in_body.as_bytes()), None);
        let early_body = "<body><meta charset=koi8-r>";
        assert_eq!(name(prescan(early_body.as_bytes())), Some("KOI8-R"));
    }

    #[test]
    fn prescan_skips_script_contents() {
        let html = "<script>document.write('<meta charset=koi8-r>')</script>";
        assert_eq!(prescan(html.as_bytes()), None);
    }

    #[test]
    fn prescan_maps_utf16_to_utf8() {
        assert_eq!(prescan(b"<meta charset=utf-16le>"), Some(UTF_8));
        assert_eq!(
            prescan(b"<meta charset=x-user-defined>"),
            Some(WINDOWS_1252)
        );
    }

    #[test]
    fn prescan_ignores_unknown_labels() {
        assert_eq!(prescan(b"<meta charset=\"no-such-thing\">"), None);
    }
}
