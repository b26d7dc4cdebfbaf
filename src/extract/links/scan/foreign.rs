//! The tree builder's foreign-content rules, as far as they decide whether
//! an `a` is an HTML element: the start tags that break out of SVG and
//! MathML, and MathML's HTML integration points.

use super::{Tag, attribute};

/// Start tags that end foreign content and are handled as HTML (the
/// "any other start tag" exceptions of the tree builder's foreign rules).
pub(super) fn breaks_out_of_foreign(tag: &Tag) -> bool {
    const BREAKOUT: [&str; 44] = [
        "b",
        "big",
        "blockquote",
        "body",
        "br",
        "center",
        "code",
        "dd",
        "div",
        "dl",
        "dt",
        "em",
        "embed",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "hr",
        "i",
        "img",
        "li",
        "listing",
        "menu",
        "meta",
        "nobr",
        "ol",
        "p",
        "pre",
        "ruby",
        "s",
        "small",
        "span",
        "strong",
        "strike",
        "sub",
        "sup",
        "table",
        "tt",
        "u",
        "ul",
        "var",
    ];
    BREAKOUT.iter().any(|name| tag.name == *name)
        || (tag.name == "font"
            && ["color", "face", "size"]
                .iter()
                .any(|name| attribute(tag, name).is_some()))
}

/// MathML elements whose content is HTML: the text integration points, and
/// an `annotation-xml` whose encoding says HTML.
pub(super) fn is_mathml_html_point(tag: &Tag) -> bool {
    match tag.name.bytes() {
        b"mi" | b"mo" | b"mn" | b"ms" | b"mtext" => true,
        b"annotation-xml" => attribute(tag, "encoding").is_some_and(|encoding| {
            encoding.eq_ignore_ascii_case("text/html")
                || encoding.eq_ignore_ascii_case("application/xhtml+xml")
        }),
        _ => false,
    }
}
