//! A link's anchor text, for reports: the text between an `a` start tag
//! and its end tag, tags left out, character references decoded,
//! whitespace collapsed, cut at [`MAX_ANCHOR`] characters. A link whose
//! text is empty (an image link) reads as its first `alt`.

use memchr::memmem;

use super::entities::decode_attribute;
use crate::extract::collapse_whitespace;

/// Characters kept of an anchor text at most.
pub const MAX_ANCHOR: usize = 100;
/// Bytes read after the start tag at most: an `a` left open ends here.
const MAX_READ: usize = 2048;

/// The anchor text of the link whose start tag ends at byte `from` of `html`.
pub fn anchor_text(html: &str, from: usize) -> String {
    let Some(rest) = html.get(from..) else {
        return String::new();
    };
    let mut end = rest.len().min(MAX_READ);
    while !rest.is_char_boundary(end) {
        end -= 1;
    }
    let span = &rest[..end];
    let span = &span[..end_of_anchor(span)];
    let mut text = String::with_capacity(span.len().min(256));
    let mut alt = None;
    let mut rest = span;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        text.push(' ');
        let tag_end = rest[open..]
            .find('>')
            .map_or(rest.len(), |at| open + at + 1);
        if alt.is_none() {
            alt = alt_of(&rest[open..tag_end]);
        }
        rest = &rest[tag_end..];
    }
    text.push_str(rest);
    let mut anchor = collapse_whitespace(&decode_attribute(&text));
    if anchor.is_empty()
        && let Some(alt) = alt
    {
        anchor = collapse_whitespace(&decode_attribute(alt));
    }
    cut(anchor)
}

/// Where the anchor ends in `span`: its `</a`, or the next `<a` (an
/// unclosed one), or the end.
fn end_of_anchor(span: &str) -> usize {
    let bytes = span.as_bytes();
    let mut from = 0;
    while let Some(at) = memchr::memchr(b'<', &bytes[from..]) {
        let at = from + at;
        let next = bytes.get(at + 1..at + 3).unwrap_or_default();
        let is_end = next.len() == 2 && next[0] == b'/' && next[1].eq_ignore_ascii_case(&b'a');
        let is_start = next.first().is_some_and(|b| b.eq_ignore_ascii_case(&b'a'))
            && bytes
                .get(at + 2)
                .is_none_or(|b| b.is_ascii_whitespace() || *b == b'>');
        if is_end || is_start {
            return at;
        }
        from = at + 1;
    }
    span.len()
}

/// The `alt` value of an `img` tag, if `tag` is one.
fn alt_of(tag: &str) -> Option<&str> {
    let lower = tag.get(..4)?.to_ascii_lowercase();
    if lower != "<img" {
        return None;
    }
    let at = memmem::find(tag.to_ascii_lowercase().as_bytes(), b"alt=")?;
    let value = &tag[at + 4..];
    let quote = value.chars().next()?;
    if quote == '"' || quote == '\'' {
        let inner = &value[1..];
        Some(&inner[..inner.find(quote).unwrap_or(inner.len())])
    } else {
        let end = value
            .find(|c: char| c.is_ascii_whitespace() || c == '>')
            .unwrap_or(value.len());
        Some(&value[..end])
    }
}

/// `text` cut at [`MAX_ANCHOR`] characters, with `…` when cut.
pub fn cut(text: String) -> String {
    match text.char_indices().nth(MAX_ANCHOR) {
        Some((at, _)) => {
            let mut cut = text[..at].trim_end().to_owned();
            cut.push('…');
            cut
        }
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(html: &str) -> String {
        anchor_text(html, html.find('>').unwrap() + 1)
    }

    #[test]
    fn the_text_of_the_element_is_read_without_tags() {
        assert_eq!(
            anchor("<a href=x>Read <b>the</b>\n  docs</a> after"),
            "Read the docs"
        );
        assert_eq!(anchor("<a href=x>Fish &amp; chips</A>"), "Fish & chips");
    }

    #[test]
    fn an_image_link_reads_as_its_alt() {
        assert_eq!(
            anchor(r#"<a href=x><img src=l.png alt="Home page"></a>"#),
            "Home page"
        );
        assert_eq!(anchor("<a href=x><img src=l.png></a>"), "");
    }

    #[test]
    fn an_unclosed_link_ends_at_the_next_one_and_long_text_is_cut() {
        assert_eq!(anchor("<a href=x>one <a href=y>two</a>"), "one");
        assert_eq!(anchor("<a href=x>one <abbr>two</abbr></a>"), "one two");
        let long = format!("<a href=x>{}</a>", "word ".repeat(60));
        let text = anchor(&long);
        assert_eq!(text.chars().count(), 100);
        assert!(text.ends_with('…'));
        assert_eq!(anchor_text("<a href=x>", 99), "");
    }
}
