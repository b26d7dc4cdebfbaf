//! Page titles, as a browser's `document.title` returns them.
//!
//! The title is the first `title` element in the HTML (XHTML) namespace in tree
//! order; its value is the concatenation of its child text nodes with ASCII
//! whitespace stripped and collapsed. HTML goes through the HTML5 tree builder
//! (`select`, on html5ever), XHTML through an XML parser (`quick-xml`), because
//! that is how a browser parses each.

use quick_xml::NsReader;
use quick_xml::events::{BytesRef, Event};
use quick_xml::name::{Namespace, ResolveResult};
use select::document::Document;
use select::node::Data;

pub mod charset;
pub mod links;
pub mod sitemap;
pub mod tree;

/// The XHTML (and HTML) namespace.
const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// How a response body is parsed, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `text/html`, or no Content-Type at all.
    Html,
    /// `application/xhtml+xml`: parsed as XML.
    Xhtml,
    /// Anything else: not parsed.
    Other,
}

impl MediaType {
    /// Classifies a `Content-Type` header value (`None` when the header is absent).
    pub fn of(content_type: Option<&str>) -> Self {
        let Some(value) = content_type else {
            return Self::Html;
        };
        let essence = value.split(';').next().unwrap_or_default().trim();
        if essence.eq_ignore_ascii_case("text/html") {
            Self::Html
        } else if essence.eq_ignore_ascii_case("application/xhtml+xml") {
            Self::Xhtml
        } else {
            Self::Other
        }
    }
}

/// The title of an HTML document, or `None` when it has no `title` element.
///
/// The tree builder runs only until the title is known (see [`tree`]); the
/// answer is the one a whole-document parse gives.
pub fn html_title(html: &str) -> Option<String> {
    if !tree::may_have_title(html) {
        return None;
    }
    first_title(&tree::parse_until_title(html))
}

/// The title of an HTML document from a parse of the whole document.
///
/// Slower than [`html_title`] and always the same answer: the reference that
/// tests, benchmarks and the fuzz target hold it to.
pub fn html_title_whole_document(html: &str) -> Option<String> {
    first_title(&Document::from(html))
}

/// The text of the first HTML `title` element of `document`, in tree order.
fn first_title(document: &Document) -> Option<String> {
    let title = document.nodes.iter().position(|node| match &node.data {
        Data::Element(name, _) => &*name.ns == XHTML_NS && &*name.local == "title",
        _ => false,
    })?;
    let mut text = String::new();
    let mut child = document.nodes[title].first_child;
    while let Some(index) = child {
        if let Data::Text(chunk) = &document.nodes[index].data {
            text.push_str(chunk);
        }
        child = document.nodes[index].next;
    }
    Some(collapse_whitespace(&text))
}

/// The title of an XHTML document parsed as XML, or `None` when it has no
/// XHTML `title` element before the end or the first well-formedness error.
pub fn xhtml_title(xml: &str) -> Option<String> {
    let mut reader = NsReader::from_str(xml);
    loop {
        match reader.read_resolved_event().ok()? {
            (ns, Event::Start(start)) if is_xhtml_title(&ns, start.local_name().as_ref()) => {
                return xml_child_text(&mut reader);
            }
            (ns, Event::Empty(empty)) if is_xhtml_title(&ns, empty.local_name().as_ref()) => {
                return Some(String::new());
            }
            (_, Event::Eof) => return None,
            _ => {}
        }
    }
}

fn is_xhtml_title(ns: &ResolveResult<'_>, local: &str) -> bool {
    matches!(ns, ResolveResult::Bound(Namespace(uri)) if *uri == XHTML_NS) && local == "title"
}

/// Collects the direct text and CDATA children of the element just opened.
fn xml_child_text(reader: &mut NsReader<&[u8]>) -> Option<String> {
    let mut text = String::new();
    let mut depth = 0usize;
    loop {
        match reader.read_event().ok()? {
            Event::Start(_) => depth += 1,
            Event::End(_) if depth == 0 => return Some(collapse_whitespace(&text)),
            Event::End(_) => depth -= 1,
            Event::Text(chunk) if depth == 0 => text.push_str(&chunk.xml10_content()),
            Event::CData(chunk) if depth == 0 => text.push_str(&chunk.xml10_content()),
            Event::GeneralRef(reference) if depth == 0 => text.push_str(&resolve_ref(&reference)?),
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// One of the five entities XML defines itself (`amp`, `lt`, `gt`, `apos`, `quot`).
pub fn xml_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}

/// Resolves `&#…;`, the five XML entities, and the XHTML DTD's named entities.
fn resolve_ref(reference: &BytesRef<'_>) -> Option<String> {
    if reference.is_char_ref() {
        return reference.resolve_char_ref().ok()?.map(String::from);
    }
    let name = reference.xml10_content();
    if let Some(c) = xml_entity(&name) {
        return Some(c.to_string());
    }
    let &(first, second) = html5ever::data::NAMED_ENTITIES.get(format!("{name};").as_str())?;
    let mut resolved: String = char::from_u32(first).into_iter().collect();
    resolved.extend(char::from_u32(second).filter(|_| second != 0));
    Some(resolved)
}

/// Strips leading and trailing ASCII whitespace and collapses inner runs to one space.
///
/// ASCII only, as in the DOM: a no-break space (U+00A0) is kept.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn title(html: &str) -> Option<String> {
        html_title(html)
    }

    #[test]
    fn html_title_cases() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("plain", "<title>Hello</title>", Some("Hello")),
            ("missing", "<html><head></head><body>x</body></html>", None),
            ("empty", "<title></title>", Some("")),
            ("whitespace only", "<title> \n\t </title>", Some("")),
            ("collapse", "<title>\n  A \t\r\n B  </title>", Some("A B")),
            (
                "entities",
                "<title>Tom &amp; Jerry &lt;3 &eacute;&#233;&#x41;</title>",
                Some("Tom & Jerry <3 ééA"),
            ),
            (
                "entity without semicolon",
                "<title>a &amp b &copy 2024</title>",
                Some("a & b © 2024"),
            ),
            ("nbsp kept", "<title>a&nbsp;b</title>", Some("a\u{a0}b")),
            (
                "uppercase tag",
                "<HTML><HEAD><TITLE>Up</TITLE></HEAD></HTML>",
                Some("Up"),
            ),
            (
                "in body",
                "<html><body><p>x</p><title>Late</title></body></html>",
                Some("Late"),
            ),
            (
                "svg title first",
                "<body><svg><title>Icon</title></svg><title>Real</title></body>",
                Some("Real"),
            ),
            (
                "svg only",
                "<body><svg><title>Icon</title></svg></body>",
                None,
            ),
            (
                "script first",
                "<head><script>var s = '<title>No</title>';</script><title>Yes</title></head>",
                Some("Yes"),
            ),
            (
                "comment first",
                "<!-- <title>No</title> --><title>Yes</title>",
                Some("Yes"),
            ),
            (
                "markup is text",
                "<title>a <b>bold</b> move</title>",
                Some("a <b>bold</b> move"),
            ),
            (
                "unclosed",
                "<title>Runs to the end",
                Some("Runs to the end"),
            ),
            (
                "second ignored",
                "<title>One</title><title>Two</title>",
                Some("One"),
            ),
            (
                "template content is not in the document",
                "<template><title>No</title></template><title>Yes</title>",
                Some("Yes"),
            ),
            (
                "textarea holds text",
                "<body><textarea><title>No</title></textarea></body>",
                None,
            ),
            (
                "noscript with scripting on",
                "<head><noscript><title>No</title></noscript></head>",
                None,
            ),
        ];
        for (name, html, expected) in cases {
            assert_eq!(title(html).as_deref(), *expected, "case {name}: {html}");
        }
    }

    #[test]
    fn early_stop_agrees_with_whole_document() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            (
                "frameset removes a body title",
                "<html><head></head><p><title>Gone</title><frameset></frameset>",
                None,
            ),
            (
                "explicit body keeps it",
                "<html><head></head><body><title>Kept</title><frameset></frameset>",
                Some("Kept"),
            ),
            (
                "foster parenting puts a later title first",
                "<table><caption><title>A</title></caption><title>B</title></table>",
                Some("B"),
            ),
            (
                "head title then a table",
                "<head><title>Head</title></head><table><title>Foster</title></table>",
                Some("Head"),
            ),
            (
                "title after head is closed goes back into head",
                "<head></head><title>Back</title><body></body>",
                Some("Back"),
            ),
            (
                "template title first, in head",
                "<head><template><title>No</title></template><title>Yes</title></head>",
                Some("Yes"),
            ),
            (
                "nested template",
                "<template><template><title>No</title></template></template><p><title>Body</title>",
                Some("Body"),
            ),
            (
                "math title",
                "<math><title>M</title></math><title>H</title>",
                Some("H"),
            ),
            (
                "not a title tag",
                "<titles>x</titles><titlex>y</titlex>",
                None,
            ),
            ("no markup", "just text", None),
            ("empty", "", None),
            (
                "after a long head",
                "<meta charset=utf-8><script>var a = 1;</script><style>p{}</style><TiTlE>\r\n Late  &amp; fine\r\n</tItLe>",
                Some("Late & fine"),
            ),
            ("unclosed head title", "<head><title>Open", Some("Open")),
            (
                "body title, a frameset comes later",
                "<p><title>Body</title></p><div><frameset></frameset>",
                None,
            ),
            (
                "body title, a frameset tag in any case",
                "<p><title>Body</title><FrameSet>",
                None,
            ),
            (
                "body title, then a table with a title",
                "<p><title>First</title></p><table><title>Foster</title></table>",
                Some("First"),
            ),
            (
                "body title in a table cell, then one fostered before the table",
                "<table><tr><td><title>Cell</title></td></tr><title>Fostered</title></table>",
                Some("Fostered"),
            ),
            (
                "body title moved by the adoption agency",
                "<b><div><title>Moved</title></b><title>Later</title>",
                Some("Moved"),
            ),
            (
                "body title under formatting elements, misnested",
                "<a><p><i><title>A</title></a>x</i><title>B</title>",
                Some("A"),
            ),
            (
                "body title in foreignObject",
                "<svg><foreignObject><title>Inside</title></foreignObject></svg><title>Out</title>",
                Some("Inside"),
            ),
            (
                "body title after a template title",
                "<body><template><title>T</title></template><title>Body</title>",
                Some("Body"),
            ),
            (
                "a frameset tag that is only text",
                "<p><title>Kept</title><noframes><frameset></noframes>",
                Some("Kept"),
            ),
            (
                "a script end tag suspends, the title comes later",
                "<script></script><script></script><title>After scripts</title>",
                Some("After scripts"),
            ),
        ];
        for (name, html, expected) in cases {
            assert_eq!(title(html).as_deref(), *expected, "case {name}: {html}");
            assert_eq!(
                title(html),
                html_title_whole_document(html),
                "case {name}: {html}"
            );
        }
    }

    #[test]
    fn title_split_across_input_pieces() {
        // The first piece is 4 KiB: move a title with multi-byte characters and
        // a CR LF across that boundary one byte at a time.
        for pad in 4060..4110 {
            let html = format!(
                "<!doctype html><head><!--{}--><title>Caf\u{e9} \u{1f600}\r\n&eacute;t\u{e9}</title></head>",
                "x".repeat(pad)
            );
            assert_eq!(
                title(&html).as_deref(),
                Some("Caf\u{e9} \u{1f600} \u{e9}t\u{e9}"),
                "pad {pad}"
            );
        }
        let late = format!("<p>{}</p><title>Far</title>", "y".repeat(300_000));
        assert_eq!(title(&late).as_deref(), Some("Far"));
    }

    /// Every page of `../shared/corpus/real` (when present) gets the title a
    /// whole-document parse gives.
    #[test]
    fn real_pages_agree_with_whole_document() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let mut checked = 0;
        for entry in entries.flatten() {
            let body = std::fs::read(entry.path()).unwrap();
            let text = crate::extract::charset::decode_html(&body, None, None).text;
            assert_eq!(
                title(&text),
                html_title_whole_document(&text),
                "{}",
                entry.path().display()
            );
            checked += 1;
        }
        assert!(checked > 0, "no pages in {}", dir.display());
    }

    #[test]
    fn xhtml_title_cases() {
        let ns = "xmlns=\"http://www.w3.org/1999/xhtml\"";
        let cases: Vec<(&str, String, Option<&str>)> = vec![
            (
                "plain",
                format!("<html {ns}><head><title> A  B </title></head></html>"),
                Some("A B"),
            ),
            (
                "cdata",
                format!("<html {ns}><title><![CDATA[x < y]]> &amp; z</title></html>"),
                Some("x < y & z"),
            ),
            (
                "no namespace",
                "<html><title>No</title></html>".to_owned(),
                None,
            ),
            (
                "svg title first",
                format!(
                    "<html {ns}><svg xmlns=\"http://www.w3.org/2000/svg\"><title>Icon</title></svg><title>Real</title></html>"
                ),
                Some("Real"),
            ),
            (
                "prefixed",
                "<h:html xmlns:h=\"http://www.w3.org/1999/xhtml\"><h:title>P</h:title></h:html>"
                    .to_owned(),
                Some("P"),
            ),
            (
                "child elements skipped",
                format!("<html {ns}><title>a<b>b</b>c</title></html>"),
                Some("ac"),
            ),
            (
                "empty element",
                format!("<html {ns}><title/></html>"),
                Some(""),
            ),
            (
                "xhtml entity",
                format!("<html {ns}><title>a&nbsp;b&#233;</title></html>"),
                Some("a\u{a0}bé"),
            ),
        ];
        for (name, xml, expected) in cases {
            assert_eq!(xhtml_title(&xml).as_deref(), expected, "case {name}: {xml}");
        }
    }

    #[test]
    fn media_types() {
        assert_eq!(MediaType::of(None), MediaType::Html);
        assert_eq!(
            MediaType::of(Some("Text/HTML; charset=utf-8")),
            MediaType::Html
        );
        assert_eq!(
            MediaType::of(Some("application/xhtml+xml")),
            MediaType::Xhtml
        );
        assert_eq!(MediaType::of(Some("application/pdf")), MediaType::Other);
        assert_eq!(MediaType::of(Some("text/plain")), MediaType::Other);
    }
}
