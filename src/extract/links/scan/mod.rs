//! One pass over the decoded page that finds what `document.links` holds:
//! HTML `a` and `area` start tags with an `href`, in document order, and the
//! first `base` with an `href`.
//!
//! It follows the HTML tokenizer only as far as it decides which text is
//! markup: comments and bogus comments, raw text (`script` with its escaped
//! states, `style`, `xmp`, `iframe`, `noembed`, `noframes`, `noscript` with
//! scripting on), RCDATA (`title`, `textarea`), `plaintext`, and quoted
//! attribute values. The tree builder's part is reduced to what decides
//! whether an `a` is an HTML element in the document: `template` contents
//! are not in it, and in SVG or MathML an `a` is foreign, except inside an
//! HTML integration point (`foreignObject`, `desc`, `title`, an
//! `annotation-xml` for HTML, MathML text elements) or after a tag that
//! breaks out of foreign content.

use std::borrow::Cow;

use memchr::memchr;

use super::entities::decode_attribute;

mod foreign;
mod name;
mod raw_text;

use foreign::{breaks_out_of_foreign, is_mathml_html_point};
use name::{
    CLASS, ENDS_ATTRIBUTE_NAME, ENDS_TAG_NAME, ENDS_UNQUOTED_VALUE, Name, WHITESPACE, until,
};

/// What the scan found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found<'a> {
    /// Raw `href` values of `a` and `area`, entities decoded, in document
    /// order, each with whether its `rel` has the `nofollow` token.
    pub hrefs: Vec<(Cow<'a, str>, bool)>,
    /// For each of `hrefs`, where its start tag ends: its anchor text follows.
    pub text_at: Vec<usize>,
    /// HTML `title` start tags in the document (not in SVG, not in a `template`).
    pub titles: u32,
    /// `(name, content)` of every `meta` with both, as written: the
    /// caller picks `robots` and its product token.
    pub meta: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The first `base` element's `href`, if any.
    pub base: Option<Cow<'a, str>>,
}

/// Where the scan is, as far as the tree builder matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Space {
    Svg,
    MathMl,
    /// HTML content inside an integration point of foreign content.
    Html,
}

/// An open foreign element (or integration point), by name.
#[derive(Debug)]
struct Open {
    name: String,
    space: Space,
}

/// Scans `html` and stops after `limit` hrefs.
pub fn scan(html: &str, limit: usize) -> Found<'_> {
    let mut scanner = Scanner {
        bytes: html.as_bytes(),
        html,
        at: 0,
        found: Found::default(),
        limit,
        template_depth: 0,
        foreign: Vec::new(),
        has_body: false,
    };
    scanner.run();
    scanner.found
}

struct Scanner<'a> {
    bytes: &'a [u8],
    html: &'a str,
    at: usize,
    found: Found<'a>,
    limit: usize,
    /// Open `template` elements in HTML content: their contents are not in the document.
    template_depth: usize,
    /// Open foreign elements and integration points, innermost last.
    foreign: Vec<Open>,
    /// A `body` start tag was seen: a later `frameset` no longer replaces the body.
    has_body: bool,
}

/// A start or end tag as the tokenizer reads it.
struct Tag<'a> {
    /// The name, ASCII-lowercased when it is short enough to matter (names
    /// longer than [`NAME_CAPACITY`] only ever open or close foreign elements).
    name: Name<'a>,
    is_self_closing: bool,
    /// The raw values of the attributes this tag's name needs
    /// ([`wanted_attributes`]), by position; the first of a repeated one.
    attributes: [Option<&'a str>; 3],
}

impl<'a> Scanner<'a> {
    fn run(&mut self) {
        while self.found.hrefs.len() < self.limit {
            let Some(offset) = memchr(b'<', &self.bytes[self.at..]) else {
                return;
            };
            self.at += offset + 1;
            match self.bytes.get(self.at) {
                Some(b'!') => self.markup_declaration(),
                Some(b'?') => self.bogus_comment(),
                Some(b'/') => match self.bytes.get(self.at + 1) {
                    Some(byte) if byte.is_ascii_alphabetic() => {
                        self.at += 1;
                        let Some(tag) = self.tag(true) else {
                            return;
                        };
                        self.end_tag(&tag);
                    }
                    Some(b'>') => self.at += 2,
                    Some(_) => self.bogus_comment(),
                    None => return,
                },
                Some(byte) if byte.is_ascii_alphabetic() => {
                    // A tag cut by the end of the page is dropped, as the tokenizer does.
                    let Some(tag) = self.tag(false) else {
                        return;
                    };
                    if !self.start_tag(&tag) {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether the current insertion point is in foreign (SVG, MathML) content.
    fn is_foreign(&self) -> bool {
        self.foreign
            .last()
            .is_some_and(|open| open.space != Space::Html)
    }

    /// `<!`: a comment, CDATA in foreign content, or a bogus comment (DOCTYPE too).
    fn markup_declaration(&mut self) {
        let rest = &self.bytes[self.at + 1..];
        if rest.starts_with(b"--") {
            self.at += 3;
            self.comment();
        } else if rest.starts_with(b"[CDATA[") && self.is_foreign() {
            self.at += 8;
            self.skip_past(b"]]>");
        } else {
            self.bogus_comment();
        }
    }

    /// After `<!--`: up to `-->` or `--!>`; `<!-->` and `<!--->` end at once.
    fn comment(&mut self) {
        let rest = &self.bytes[self.at..];
        if rest.starts_with(b">") {
            self.at += 1;
            return;
        }
        if rest.starts_with(b"->") {
            self.at += 2;
            return;
        }
        let mut from = self.at;
        while let Some(offset) = memchr(b'-', &self.bytes[from..]) {
            let dash = from + offset;
            let tail = &self.bytes[dash..];
            if tail.starts_with(b"-->") {
                self.at = dash + 3;
                return;
            }
            if tail.starts_with(b"--!>") {
                self.at = dash + 4;
                return;
            }
            from = dash + 1;
        }
        self.at = self.bytes.len();
    }

    /// `<?`, `</` + non-letter, `<!` + other: text up to the next `>`.
    fn bogus_comment(&mut self) {
        self.skip_past(b">");
    }

    fn skip_past(&mut self, end: &[u8]) {
        self.at = match memchr::memmem::find(&self.bytes[self.at..], end) {
            Some(offset) => self.at + offset + end.len(),
            None => self.bytes.len(),
        };
    }

    /// Reads a tag from its name on; keeps the attributes that matter.
    /// `None` when the page ends inside the tag.
    fn tag(&mut self, is_end: bool) -> Option<Tag<'a>> {
        let start = self.at;
        self.at = until(self.bytes, start, ENDS_TAG_NAME);
        let name = Name::new(&self.html[start..self.at]);
        let wanted = if is_end {
            &[]
        } else {
            wanted_attributes(name.bytes())
        };
        let mut tag = Tag {
            name,
            is_self_closing: false,
            attributes: [None; 3],
        };
        self.attributes(&mut tag, wanted).then_some(tag)
    }

    /// Reads attributes up to the tag's `>` (quoted values may hold `>`);
    /// `false` when the page ends first.
    fn attributes(&mut self, tag: &mut Tag<'a>, wanted: &[&str]) -> bool {
        loop {
            self.skip_whitespace();
            match self.bytes.get(self.at) {
                None => return false,
                Some(b'>') => {
                    self.at += 1;
                    return true;
                }
                Some(b'/') => {
                    self.at += 1;
                    if self.bytes.get(self.at) == Some(&b'>') {
                        tag.is_self_closing = true;
                        self.at += 1;
                        return true;
                    }
                    continue;
                }
                Some(_) => {}
            }
            let name_start = self.at;
            // A `=` first is part of the name.
            self.at = until(self.bytes, self.at + 1, ENDS_ATTRIBUTE_NAME);
            let name_end = self.at;
            self.skip_whitespace();
            let value = if self.bytes.get(self.at) == Some(&b'=') {
                self.at += 1;
                self.skip_whitespace();
                self.value()
            } else {
                None
            };
            let name = &self.bytes[name_start..name_end];
            let slot = wanted
                .iter()
                .position(|known| name.eq_ignore_ascii_case(known.as_bytes()));
            // A repeated attribute is dropped: the first one counts.
            if let Some(slot) = slot
                && tag.attributes[slot].is_none()
            {
                let html = self.html;
                tag.attributes[slot] = Some(value.map_or("", |(start, end)| &html[start..end]));
            }
        }
    }

    /// An attribute value: quoted, or up to whitespace or `>`. Returns its span.
    fn value(&mut self) -> Option<(usize, usize)> {
        match self.bytes.get(self.at) {
            Some(&quote @ (b'"' | b'\'')) => {
                let start = self.at + 1;
                let end = match memchr(quote, &self.bytes[start..]) {
                    Some(offset) => start + offset,
                    None => self.bytes.len(),
                };
                self.at = (end + 1).min(self.bytes.len());
                Some((start, end))
            }
            Some(b'>') | None => Some((self.at, self.at)),
            Some(_) => {
                let start = self.at;
                self.at = until(self.bytes, start, ENDS_UNQUOTED_VALUE);
                Some((start, self.at))
            }
        }
    }

    fn skip_whitespace(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|&byte| CLASS[usize::from(byte)] & WHITESPACE != 0)
        {
            self.at += 1;
        }
    }

    /// Handles a start tag; `false` when nothing after it can be a link
    /// (`plaintext`, or a `frameset` in place of the body).
    fn start_tag(&mut self, tag: &Tag<'a>) -> bool {
        if self.is_foreign() {
            if breaks_out_of_foreign(tag) {
                self.foreign.clear();
            } else {
                self.foreign_start_tag(tag);
                return true;
            }
        }
        match tag.name.bytes() {
            b"a" | b"area" => self.link(tag),
            b"base" if self.template_depth == 0 && self.found.base.is_none() => {
                if let Some(href) = attribute(tag, "href") {
                    self.found.base = Some(decode_attribute(href));
                }
            }
            b"template" => self.template_depth += 1,
            b"meta" if self.template_depth == 0 => {
                if let (Some(name), Some(content)) =
                    (attribute(tag, "name"), attribute(tag, "content"))
                {
                    self.found
                        .meta
                        .push((decode_attribute(name), decode_attribute(content)));
                }
            }
            b"body" if self.template_depth == 0 => self.has_body = true,
            // Before any body content, a frameset replaces the body: no
            // `a` after it is in the document.
            b"frameset"
                if self.template_depth == 0 && !self.has_body && self.found.hrefs.is_empty() =>
            {
                return false;
            }
            b"svg" | b"math" if !tag.is_self_closing => {
                let space = if tag.name == "svg" {
                    Space::Svg
                } else {
                    Space::MathMl
                };
                self.foreign.push(Open {
                    name: tag.name.to_text(),
                    space,
                });
            }
            b"script" => self.script_data(),
            b"title" => {
                if self.template_depth == 0 {
                    self.found.titles += 1;
                }
                self.raw_text("title");
            }
            b"style" | b"xmp" | b"iframe" | b"noembed" | b"noframes" | b"noscript"
            | b"textarea" => self.raw_text(&tag.name.to_text()),
            b"plaintext" => return false,
            _ => {}
        }
        true
    }

    fn link(&mut self, tag: &Tag<'a>) {
        if self.template_depth > 0 {
            return;
        }
        if let Some(href) = attribute(tag, "href") {
            let is_nofollow = attribute(tag, "rel").is_some_and(|rel| {
                decode_attribute(rel)
                    .split_ascii_whitespace()
                    .any(|token| token.eq_ignore_ascii_case("nofollow"))
            });
            self.found.hrefs.push((decode_attribute(href), is_nofollow));
            self.found.text_at.push(self.at);
        }
    }

    /// A start tag in SVG or MathML: opens an element, or an integration point.
    fn foreign_start_tag(&mut self, tag: &Tag) {
        if tag.is_self_closing {
            return;
        }
        let space = match self.foreign.last().map(|open| open.space) {
            Some(Space::Svg)
                if matches!(tag.name.bytes(), b"foreignobject" | b"desc" | b"title") =>
            {
                Space::Html
            }
            Some(Space::MathMl) if is_mathml_html_point(tag) => Space::Html,
            Some(space) => space,
            None => return,
        };
        self.foreign.push(Open {
            name: tag.name.to_text(),
            space,
        });
    }

    fn end_tag(&mut self, tag: &Tag) {
        if self.is_foreign() {
            if matches!(tag.name.bytes(), b"br" | b"p") {
                self.foreign.clear();
                return;
            }
            self.close_foreign(&tag.name.to_text());
            return;
        }
        // HTML content, possibly inside an integration point.
        if tag.name == "template" {
            self.template_depth = self.template_depth.saturating_sub(1);
            return;
        }
        if !self.foreign.is_empty() {
            self.close_foreign(&tag.name.to_text());
        }
    }

    /// Pops foreign elements up to the innermost one named `name`, if open.
    fn close_foreign(&mut self, name: &str) {
        if let Some(index) = self.foreign.iter().rposition(|open| open.name == name) {
            self.foreign.truncate(index);
        }
    }
}

/// The attributes the scan reads of a start tag named `name`.
fn wanted_attributes(name: &[u8]) -> &'static [&'static str] {
    match name {
        b"a" | b"area" => &["href", "rel"],
        b"base" => &["href"],
        b"meta" => &["name", "content"],
        b"font" => &["color", "face", "size"],
        b"annotation-xml" => &["encoding"],
        _ => &[],
    }
}

/// The value of attribute `name` of `tag` (one of its [`wanted_attributes`]).
fn attribute<'t>(tag: &Tag<'t>, name: &str) -> Option<&'t str> {
    let slot = wanted_attributes(tag.name.bytes())
        .iter()
        .position(|known| *known == name)?;
    tag.attributes[slot]
}
