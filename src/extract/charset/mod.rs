//! Turning body bytes into text the way a browser does.
//!
//! HTML follows the WHATWG encoding sniffing order: BOM, the HTTP `charset`, a
//! `<meta>` prescan of the first 1024 bytes, then detection with `chardetng`.
//! XML (XHTML) uses BOM, HTTP `charset`, the XML declaration, then UTF-8.
//! Decoding never fails: malformed bytes become U+FFFD.

use std::borrow::Cow;

mod prescan;

pub use prescan::prescan;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// Text decoded from a body and the encoding that was used.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// The text, without a BOM.
    pub text: Cow<'a, str>,
    /// The encoding used.
    pub encoding: &'static Encoding,
}

/// The encoding named by a `Content-Type` header's `charset` parameter, if known.
pub fn from_content_type(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(value.trim().trim_matches(['"', '\'']).as_bytes())
    })
}

/// Decodes an HTML body: BOM, then `http_charset`, then `<meta>` prescan, then detection.
///
/// `tld` (for example `b"ru"`) helps detection the way it helps Firefox.
pub fn decode_html<'a>(
    body: &'a [u8],
    http_charset: Option<&'static Encoding>,
    tld: Option<&[u8]>,
) -> Decoded<'a> {
    if let Some((encoding, bom_len)) = Encoding::for_bom(body) {
        return decode_with(&body[bom_len..], encoding);
    }
    let encoding = http_charset
        .or_else(|| prescan(body))
        .unwrap_or_else(|| detect(body, tld));
    decode_with(body, encoding)
}

/// Decodes an XML body: BOM, then `http_charset`, then the XML declaration, then UTF-8.
pub fn decode_xml<'a>(body: &'a [u8], http_charset: Option<&'static Encoding>) -> Decoded<'a> {
    if let Some((encoding, bom_len)) = Encoding::for_bom(body) {
        return decode_with(&body[bom_len..], encoding);
    }
    let encoding = http_charset
        .or_else(|| xml_declaration(body))
        .unwrap_or(UTF_8);
    decode_with(body, encoding)
}

fn decode_with<'a>(bytes: &'a [u8], encoding: &'static Encoding) -> Decoded<'a> {
    Decoded {
        text: encoding.decode_without_bom_handling(bytes).0,
        encoding,
    }
}

/// Guesses the legacy encoding of a page that declares none, with Firefox's `chardetng`.
///
/// UTF-8 is never guessed: browsers refuse to (Chromium shows an unlabeled UTF-8
/// page as windows-1252), so that pages do not come to depend on detection.
fn detect(body: &[u8], tld: Option<&[u8]>) -> &'static Encoding {
    if body.is_ascii() {
        return WINDOWS_1252;
    }
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(body, true);
    detector.guess(tld, Utf8Detection::Deny)
}

/// The encoding named in an `<?xml … encoding="…"?>` declaration at the very start.
fn xml_declaration(body: &[u8]) -> Option<&'static Encoding> {
    let rest = body.strip_prefix(b"<?xml")?;
    let end = rest.iter().position(|&b| b == b'>')?;
    let decl = &rest[..end];
    let at = find_ascii_ci(decl, b"encoding", 0)?;
    let after = skip_space(decl, at + b"encoding".len());
    let after = skip_space(decl, expect(decl, after, b'=')?);
    let quote = *decl.get(after).filter(|&&q| q == b'"' || q == b'\'')?;
    let value_end = decl[after + 1..].iter().position(|&b| b == quote)?;
    let encoding = Encoding::for_label(&decl[after + 1..after + 1 + value_end])?;
    // A UTF-16 declaration in bytes that decoded as ASCII is a lie; browsers use UTF-8.
    Some(if is_utf16(encoding) { UTF_8 } else { encoding })
}

fn is_utf16(encoding: &'static Encoding) -> bool {
    encoding == UTF_16BE || encoding == UTF_16LE
}

fn expect(bytes: &[u8], at: usize, wanted: u8) -> Option<usize> {
    (bytes.get(at) == Some(&wanted)).then_some(at + 1)
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b'\t' | b'\n' | 0x0C | b'\r' | b' ')
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|&b| is_space(b)) {
        at += 1;
    }
    at
}

fn find_ascii_ci(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let window = haystack.get(from..)?;
    window
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::{SHIFT_JIS, WINDOWS_1251};

    #[test]
    fn bom_beats_everything() {
        let body = b"\xEF\xBB\xBF<meta charset=windows-1251><title>\xC3\xA9</title>";
        let decoded = decode_html(body, Some(WINDOWS_1251), None);
        assert_eq!(decoded.encoding, UTF_8);
        assert!(decoded.text.starts_with("<meta"));
    }

    #[test]
    fn http_charset_beats_meta() {
        let body = b"<meta charset=windows-1251>\x82\xa0";
        let decoded = decode_html(
            body,
            from_content_type("text/html; charset=Shift_JIS"),
            None,
        );
        assert_eq!(decoded.encoding, SHIFT_JIS);
    }

    #[test]
    fn unknown_http_charset_falls_through_to_meta() {
        let ct = from_content_type("text/html; charset=\"bogus\"");
        assert_eq!(ct, None);
        let decoded = decode_html(b"<meta charset=windows-1251>", ct, None);
        assert_eq!(decoded.encoding, WINDOWS_1251);
    }

    #[test]
    fn undeclared_legacy_text_is_detected() {
        let (bytes, _, _) =
            WINDOWS_1251.encode("<title>Привет, как дела? Это проверка кодировки</title>");
        assert_eq!(
            decode_html(&bytes, None, Some(b"ru")).encoding,
            WINDOWS_1251
        );
    }

    #[test]
    fn undeclared_utf8_is_not_guessed_as_browsers_do() {
        let body = "<title>Ünïcödé ťëxť</title>".as_bytes();
        assert_eq!(decode_html(body, None, None).encoding, WINDOWS_1252);
    }

    #[test]
    fn xml_declaration_names_the_encoding() {
        let body = b"<?xml version='1.0' encoding='ISO-8859-1'?><html/>";
        assert_eq!(decode_xml(body, None).encoding, WINDOWS_1252);
        assert_eq!(decode_xml(b"<html/>", None).encoding, UTF_8);
    }
}
