//! `auto`: whether scripts may change a page's title or links, decided
//! from its HTML alone, cheaply (one pass over the body's markup, and the
//! inline scripts' text). A page is rendered when any rule holds:
//!
//! - `title_script`: an inline script sets `document.title` or touches the
//!   `<title>` element;
//! - `app_shell`: it has scripts and an empty app root (`<div id="root">`,
//!   `id="app"`, `__next`, `__nuxt`, `<app-root>`, …), or a body with no
//!   link and almost no text (a shell the scripts fill in);
//! - `script_links`: an inline script makes links (`createElement('a')`,
//!   or markup with an `href` written into the page);
//! - `script_navigation`: an inline script navigates (`location.href = …`,
//!   `location.replace(…)`), or `<meta http-equiv="refresh">` leaves at once.
//!
//! Scripts that do none of this (analytics, widgets, JSON data) do not make
//! a page rendered; nor does a missing `<title>` alone (many static pages
//! lack one, and their scripts leave it so).

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::RegexSet;

use crate::config::render::UrlVerdict;

/// Visible body text below which a page with scripts and no links is a shell.
const SHELL_TEXT: usize = 200;

/// Why a page was or was not rendered; the metric's `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// `mode = "always"`.
    Always,
    /// `render.include` matched.
    Include,
    /// `render.exclude` matched.
    Exclude,
    /// An inline script sets the title.
    TitleScript,
    /// An empty app root, or an empty body, with scripts.
    AppShell,
    /// An inline script makes links.
    ScriptLinks,
    /// An inline script or an immediate refresh navigates.
    ScriptNavigation,
    /// Nothing says scripts change the answer.
    Static,
}

impl Reason {
    /// The label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Include => "include",
            Self::Exclude => "exclude",
            Self::TitleScript => "title_script",
            Self::AppShell => "app_shell",
            Self::ScriptLinks => "script_links",
            Self::ScriptNavigation => "script_navigation",
            Self::Static => "static",
        }
    }
}

/// Whether a page is rendered, and why; `None` when rendering is off.
pub fn decide(verdict: UrlVerdict, html: &str) -> Option<(bool, Reason)> {
    match verdict {
        UrlVerdict::Never => None,
        UrlVerdict::Excluded => Some((false, Reason::Exclude)),
        UrlVerdict::Included => Some((true, Reason::Include)),
        UrlVerdict::Always => Some((true, Reason::Always)),
        UrlVerdict::Auto => {
            let reason = auto_reason(html);
            Some((reason != Reason::Static, reason))
        }
    }
}

/// The first `auto` rule `html` meets, or [`Reason::Static`]. Cheap on
/// the pages it leaves alone: one multi-pattern pass over the page (SIMD),
/// the inline scripts' text, and the start of the body.
pub fn auto_reason(html: &str) -> Reason {
    let marks = Landmarks::find(html);
    let scripts = Scripts::read(html, &marks.scripts);
    let Some(inline) = scripts.inline_javascript() else {
        return if refreshes_now(html, &marks.refreshes) {
            Reason::ScriptNavigation
        } else {
            Reason::Static
        };
    };
    // 0 sets the title, 1 makes links, 2 navigates.
    let mut rules = [false; 3];
    for script in inline {
        let text = &html[script.clone()];
        let matched = SCRIPT_RULES.matches(text);
        for (index, rule) in rules.iter_mut().enumerate() {
            *rule |= matched.matched(index);
        }
        rules[1] = rules[1] || writes_links(text);
    }
    if rules[0] {
        return Reason::TitleScript;
    }
    let is_shell =
        || scripts.may_be_shell(html, marks.body) && Body::read(html, marks.body).is_shell();
    if has_empty_app_root(html, &marks.roots) || is_shell() {
        return Reason::AppShell;
    }
    if rules[1] {
        return Reason::ScriptLinks;
    }
    if rules[2] || refreshes_now(html, &marks.refreshes) {
        return Reason::ScriptNavigation;
    }
    Reason::Static
}

/// What a landmark marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Script,
    Refresh,
    Body,
    /// An app root candidate; `true` when the `id=` must be checked before it.
    Root {
        needs_id: bool,
    },
}

/// What the rules look for in the markup, in the cases markup is written
/// in: script tags, refresh candidates, the body, and the elements
/// frameworks mount an app on (`id="root"`, `"app"`, `"__next"`,
/// `"__nuxt"`, `"___gatsby"`, `<app-root>`; minified markup drops the
/// quotes). Each starts with bytes rare in markup, so one SIMD pass
/// (Teddy) finds them all at about the speed of `memchr`.
const LANDMARKS: [(&str, Mark); 19] = [
    ("<script", Mark::Script),
    ("<SCRIPT", Mark::Script),
    ("<Script", Mark::Script),
    ("-equiv", Mark::Refresh),
    ("-EQUIV", Mark::Refresh),
    ("-Equiv", Mark::Refresh),
    ("<body", Mark::Body),
    ("<BODY", Mark::Body),
    ("<app-root", Mark::Root { needs_id: false }),
    ("\"root\"", Mark::Root { needs_id: true }),
    ("'root'", Mark::Root { needs_id: true }),
    ("\"app\"", Mark::Root { needs_id: true }),
    ("'app'", Mark::Root { needs_id: true }),
    ("=root>", Mark::Root { needs_id: true }),
    ("=app>", Mark::Root { needs_id: true }),
    ("=root ", Mark::Root { needs_id: true }),
    ("=app ", Mark::Root { needs_id: true }),
    ("\"__next\"", Mark::Root { needs_id: true }),
    ("\"__nuxt\"", Mark::Root { needs_id: true }),
];

/// The landmarks' searcher: Teddy where the CPU has it, else Aho-Corasick.
enum Finder {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
    None,
}

static LANDMARK_FINDER: LazyLock<Finder> = LazyLock::new(|| {
    let patterns = LANDMARKS.iter().map(|(pattern, _)| pattern);
    let mut builder = aho_corasick::packed::Config::new().builder();
    builder.extend(patterns.clone());
    if let Some(searcher) = builder.build() {
        return Finder::Packed(searcher);
    }
    AhoCorasick::new(patterns).map_or(Finder::None, Finder::Automaton)
});

/// Where each landmark is, found in one pass.
#[derive(Debug, Default)]
struct Landmarks {
    scripts: Vec<usize>,
    refreshes: Vec<usize>,
    body: Option<usize>,
    /// Where an app root candidate starts, and its pattern.
    roots: Vec<(usize, usize)>,
}

impl Landmarks {
    fn find(html: &str) -> Self {
        let mut marks = Self::default();
        let mut note = |start: usize, pattern: usize| match LANDMARKS[pattern].1 {
            Mark::Script => marks.scripts.push(start),
            Mark::Refresh => marks.refreshes.push(start),
            Mark::Body => {
                marks.body.get_or_insert(start);
            }
            Mark::Root { .. } => marks.roots.push((start, pattern)),
        };
        match &*LANDMARK_FINDER {
            Finder::Packed(searcher) => {
                for found in searcher.find_iter(html) {
                    note(found.start(), found.pattern().as_usize());
                }
            }
            Finder::Automaton(automaton) => {
                for found in automaton.find_iter(html) {
                    note(found.start(), found.pattern().as_usize());
                }
            }
            Finder::None => {}
        }
        marks
    }
}

/// Body markup (scripts left out) past which a page is not a shell: an
/// app's shell is an empty root, maybe a `<noscript>` note.
const SHELL_MARKUP: usize = 4096;

/// The page's script elements.
#[derive(Debug, Default)]
struct Scripts {
    /// Whether one is JavaScript (inline or not).
    has_javascript: bool,
    /// The text of each inline JavaScript.
    inline: Vec<std::ops::Range<usize>>,
    /// Each script element, start tag to end tag, whatever its type.
    elements: Vec<std::ops::Range<usize>>,
}

impl Scripts {
    /// Reads the script elements starting at `starts`.
    fn read(html: &str, starts: &[usize]) -> Self {
        let mut found = Self::default();
        for &start in starts {
            let rest = &html.as_bytes()[start + 1..];
            let Some(bracket) = memchr::memchr(b'>', rest) else {
                continue;
            };
            let tag = &html[start + 1..start + 1 + bracket];
            let after_name = tag.as_bytes().get(6).copied();
            if !after_name.is_none_or(|byte| byte.is_ascii_whitespace() || byte == b'/') {
                continue;
            }
            let end = start + 1 + bracket + 1;
            let close = find_close(html, end, "script");
            found.elements.push(start..close);
            if is_javascript(tag) {
                found.has_javascript = true;
                if close > end {
                    found.inline.push(end..close);
                }
            }
        }
        found
    }

    /// The text ranges of the inline JavaScript; `None` when the page has
    /// no JavaScript at all.
    fn inline_javascript(&self) -> Option<&[std::ops::Range<usize>]> {
        self.has_javascript.then_some(&self.inline)
    }

    /// Whether the body (from `body`) is small enough, scripts left out,
    /// to be a shell: bigger ones are not read further.
    fn may_be_shell(&self, html: &str, body: Option<usize>) -> bool {
        let start = body.unwrap_or(0);
        let end = memchr::memmem::rfind(html.as_bytes(), b"</body")
            .filter(|end| *end > start)
            .unwrap_or(html.len());
        let scripts: usize = self
            .elements
            .iter()
            .filter(|element| element.start >= start && element.end <= end)
            .map(|element| element.end - element.start)
            .sum();
        (end - start).saturating_sub(scripts) <= SHELL_MARKUP
    }
}

/// Whether a `<meta http-equiv="refresh" content="0; …">` (its
/// `http-equiv` at one of `candidates`) leaves at once.
fn refreshes_now(html: &str, candidates: &[usize]) -> bool {
    candidates.iter().any(|&at| {
        let Some(open) = memchr::memrchr(b'<', &html.as_bytes()[..at]) else {
            return false;
        };
        let end = memchr::memchr(b'>', &html.as_bytes()[at..]).map_or(html.len(), |end| at + end);
        is_immediate_refresh(&html[open + 1..end])
    })
}

/// Whether one of the app root `candidates` (start, landmark) is the id
/// of an element that is empty.
fn has_empty_app_root(html: &str, candidates: &[(usize, usize)]) -> bool {
    let bytes = html.as_bytes();
    candidates.iter().any(|&(at, pattern)| {
        let (needle, mark) = LANDMARKS[pattern];
        if mark == (Mark::Root { needs_id: true }) {
            let id_end = if needle.starts_with('=') { at + 1 } else { at };
            let before = html[..id_end].trim_end();
            let before = before.strip_suffix('=').unwrap_or(before).trim_end();
            let is_id = before.len() >= 3
                && before.as_bytes()[before.len() - 2..].eq_ignore_ascii_case(b"id")
                && before.as_bytes()[before.len() - 3].is_ascii_whitespace();
            if !is_id {
                return false;
            }
        }
        let tag_end = if needle.ends_with('>') {
            Some(at + needle.len())
        } else {
            memchr::memchr(b'>', &bytes[at..]).map(|end| at + end + 1)
        };
        tag_end.is_some_and(|end| is_empty_after(html, end))
    })
}

/// Patterns on an inline script's text: 0 sets the title, 1 makes links
/// (with [`writes_links`]), 2 navigates.
static SCRIPT_RULES: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        r#"document\s*\.\s*title\s*=[^=]|document\s*\[\s*['"]title['"]\s*\]\s*=[^=]|(?:querySelector|getElementsByTagName)\s*\(\s*['"]title['"]"#,
        r#"createElement\s*\(\s*['"]a['"]\s*\)"#,
        r"location\s*(?:\.\s*href\s*)?=[^=]|location\s*\.\s*(?:replace|assign)\s*\(",
    ])
    .unwrap_or_else(|_| RegexSet::empty())
});

/// Markup written into the page (`innerHTML`, `insertAdjacentHTML`,
/// `document.write`, jQuery's `.html(`) with an `<a … href` soon after.
fn writes_links(script: &str) -> bool {
    const WRITERS: [&str; 5] = [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        ".html(",
    ];
    if ANCHOR.find(script.as_bytes()).is_none() {
        return false;
    }
    WRITERS.iter().any(|writer| {
        memchr::memmem::find_iter(script.as_bytes(), writer).any(|found| {
            let start = found + writer.len();
            let window = &script.as_bytes()[start..script.len().min(start + 400)];
            memchr::memmem::find(window, b"<a ")
                .is_some_and(|anchor| memchr::memmem::find(&window[anchor..], b"href").is_some())
        })
    })
}

/// The start of the body: whether it has a link, and how much text, read
/// only as far as it takes to tell it is not a shell.
#[derive(Debug, Default)]
struct Body {
    /// Visible text bytes (not whitespace), counted up to [`SHELL_TEXT`].
    text: usize,
    has_link: bool,
}

impl Body {
    fn read(html: &str, body: Option<usize>) -> Self {
        let bytes = html.as_bytes();
        let mut found = Self::default();
        let mut at = body.unwrap_or(0);
        while at < bytes.len() && !(found.has_link && found.text >= SHELL_TEXT) {
            let Some(offset) = memchr::memchr(b'<', &bytes[at..]) else {
                found.count_text(&bytes[at..]);
                break;
            };
            found.count_text(&bytes[at..at + offset]);
            at = found.tag(html, at + offset);
        }
        found
    }

    fn is_shell(&self) -> bool {
        !self.has_link && self.text < SHELL_TEXT
    }

    fn count_text(&mut self, text: &[u8]) {
        if self.text < SHELL_TEXT {
            self.text += text
                .iter()
                .filter(|byte| !byte.is_ascii_whitespace())
                .count();
        }
    }

    /// Reads the tag at `at` (a `<`); returns where the scan goes on.
    fn tag(&mut self, html: &str, at: usize) -> usize {
        let bytes = html.as_bytes();
        let rest = &bytes[at + 1..];
        if rest.starts_with(b"!--") {
            return memchr::memmem::find(rest, b"-->").map_or(html.len(), |end| at + 1 + end + 3);
        }
        let bracket = memchr::memchr(b'>', rest);
        let end = bracket.map_or(html.len(), |bracket| at + 1 + bracket + 1);
        let tag = &html[at + 1..bracket.map_or(html.len(), |bracket| at + 1 + bracket)];
        let name_length = tag
            .bytes()
            .take_while(|byte| byte.is_ascii_alphanumeric() || *byte == b'-')
            .count();
        let name = &tag[..name_length];
        let is = |wanted: &str| name.eq_ignore_ascii_case(wanted);
        if [
            "script", "style", "template", "noscript", "textarea", "title",
        ]
        .iter()
        .any(|raw| is(raw))
        {
            let close = find_close(html, end, &name.to_ascii_lowercase());
            return skip_close(html, close);
        }
        if !self.has_link && (is("a") || is("area")) {
            self.has_link = attribute_value(tag, "href").is_some();
        }
        end
    }
}

/// Whether the element whose start tag ends at `end` closes at once
/// (whitespace, or a `<noscript>` note, before its end tag).
fn is_empty_after(html: &str, end: usize) -> bool {
    let mut rest = html[end.min(html.len())..].trim_start();
    if rest.len() > 9 && rest[..9].eq_ignore_ascii_case("<noscript") {
        let close = find_close(rest, 0, "noscript");
        rest = rest[skip_close(rest, close)..].trim_start();
    }
    rest.starts_with("</")
}

/// Where `</name` starts at or after `from` (`name` lowercase; its
/// uppercase form is tried too), or the end.
fn find_close(html: &str, from: usize, name: &str) -> usize {
    let from = from.min(html.len());
    let haystack = &html.as_bytes()[from..];
    if name == "script" {
        // The common case, with its searchers built once.
        let found = SCRIPT_END
            .find(haystack)
            .or_else(|| SCRIPT_END_UPPER.find(haystack));
        return found.map_or(html.len(), |offset| from + offset);
    }
    let needle = format!("</{name}");
    let found = memchr::memmem::find(haystack, needle.as_bytes()).or_else(|| {
        let upper = needle.to_ascii_uppercase();
        memchr::memmem::find(haystack, upper.as_bytes())
    });
    found.map_or(html.len(), |offset| from + offset)
}

static SCRIPT_END: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new("</script"));
static SCRIPT_END_UPPER: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new("</SCRIPT"));
static ANCHOR: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new("<a "));

/// Past the `>` of the closing tag at `close`.
fn skip_close(html: &str, close: usize) -> usize {
    let close = close.min(html.len());
    memchr::memchr(b'>', &html.as_bytes()[close..]).map_or(html.len(), |end| close + end + 1)
}

/// Whether a `<script …>` tag's `type` is JavaScript (none, a JS MIME type, or `module`).
fn is_javascript(tag: &str) -> bool {
    let Some(kind) = attribute_value(tag, "type") else {
        return true;
    };
    let kind = kind.trim();
    kind.is_empty()
        || kind.eq_ignore_ascii_case("module")
        || ["/javascript", "/ecmascript", "/jscript"]
            .iter()
            .any(|end| {
                kind.len() >= end.len() && kind[kind.len() - end.len()..].eq_ignore_ascii_case(end)
            })
}

/// Whether a `<meta http-equiv="refresh" content="0; url=…">` leaves at once.
fn is_immediate_refresh(tag: &str) -> bool {
    let is_refresh = attribute_value(tag, "http-equiv")
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("refresh"));
    let delay = attribute_value(tag, "content").and_then(|content| {
        let content = content.trim_start();
        let digits = content.bytes().take_while(u8::is_ascii_digit).count();
        content[..digits].parse::<u64>().ok()
    });
    is_refresh && delay == Some(0)
}

/// The value of attribute `name` (lowercase) in a tag's text (a rough
/// read: enough for these rules, never for the record).
fn attribute_value<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let bytes = tag.as_bytes();
    let mut from = 0;
    while from + name.len() <= bytes.len() {
        let found = find_ignoring_case(&bytes[from..], name.as_bytes())?;
        let start = from + found;
        from = start + name.len();
        let is_word_start = start > 0 && bytes[start - 1].is_ascii_whitespace();
        if !is_word_start {
            continue;
        }
        let after = &tag[from..];
        let trimmed = after.trim_start();
        if let Some(value) = trimmed.strip_prefix('=') {
            let value = value.trim_start();
            return Some(match value.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let inner = &value[1..];
                    inner.find(quote).map_or(inner, |end| &inner[..end])
                }
                _ => value
                    .split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or_default(),
            });
        }
        if after.is_empty() || after.starts_with(|c: char| c.is_whitespace() || c == '/') {
            return Some("");
        }
    }
    None
}

/// Where `needle` (lowercase ASCII) first occurs in `haystack`, any case.
fn find_ignoring_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(html: &str) -> Reason {
        auto_reason(html)
    }

    #[test]
    fn static_pages_with_harmless_scripts_are_not_rendered() {
        let article = format!(
            "<title>News</title><script src=/analytics.js></script><script>window.dataLayer=[];ga('send', document.title)</script><script type=application/ld+json>{{\"name\":\"x\"}}</script><p>{}</p><a href=/next>next</a>",
            "words ".repeat(80)
        );
        assert_eq!(reason(&article), Reason::Static);
        assert_eq!(
            reason("<title>Plain</title><p>No scripts, no links.</p>"),
            Reason::Static
        );
    }

    #[test]
    fn each_rule_finds_its_page() {
        let cases = [
            (
                "<script src=/app.js></script><p>A page without a title, but text and a link.</p><a href=/a>a</a>",
                Reason::Static,
            ),
            (
                "<script>document.title = 'Set'</script><p>No title element yet.</p><a href=/a>a</a>",
                Reason::TitleScript,
            ),
            (
                "<title>x</title><script>document.title = 'y'</script><p>text</p><a href=/a>a</a>",
                Reason::TitleScript,
            ),
            (
                "<title>React App</title><noscript>You need to enable JavaScript</noscript><div id=\"root\"></div><script src=/static/js/main.js></script>",
                Reason::AppShell,
            ),
            (
                "<title>Loading…</title><nav><a href=/>home</a></nav><div id=app></div><script type=module src=/app.js></script>",
                Reason::AppShell,
            ),
            (
                "<title>Shell</title><body><div class=spinner></div><script src=/bundle.js></script>",
                Reason::AppShell,
            ),
            (
                "<title>x</title><p>text</p><a href=/a>a</a><script>const a = document.createElement('a'); a.href='/b'; document.body.append(a)</script>",
                Reason::ScriptLinks,
            ),
            (
                "<title>x</title><p>text</p><a href=/a>a</a><script>nav.innerHTML = '<a class=x href=\"/b\">b</a>'</script>",
                Reason::ScriptLinks,
            ),
            (
                "<title>Moved</title><p>text</p><a href=/a>a</a><script>window.location.href = '/new'</script>",
                Reason::ScriptNavigation,
            ),
            (
                "<title>Moved</title><meta http-equiv=\"refresh\" content=\"0; url=/new\"><a href=/new>new</a>",
                Reason::ScriptNavigation,
            ),
        ];
        for (html, expected) in cases {
            assert_eq!(reason(html), expected, "{html}");
        }
    }

    #[test]
    fn a_late_refresh_or_a_comparison_is_not_a_navigation() {
        let late =
            "<title>x</title><meta http-equiv=refresh content=\"300\"><p>text</p><a href=/a>a</a>";
        assert_eq!(reason(late), Reason::Static);
        let compare = "<title>x</title><p>text</p><a href=/a>a</a><script>if (location.href == '/') {} if (document.title === 'x') {}</script>";
        assert_eq!(reason(compare), Reason::Static);
    }

    #[test]
    fn url_verdicts_come_first() {
        assert_eq!(decide(UrlVerdict::Never, ""), None);
        assert_eq!(
            decide(UrlVerdict::Excluded, "<script>document.title='x'</script>"),
            Some((false, Reason::Exclude))
        );
        assert_eq!(
            decide(UrlVerdict::Included, "<title>x</title>"),
            Some((true, Reason::Include))
        );
    }

    #[test]
    fn attribute_values_are_read_quoted_or_not() {
        assert_eq!(
            attribute_value("script type=\"module\" src=x", "type"),
            Some("module")
        );
        assert_eq!(
            attribute_value("script src=x type=module", "type"),
            Some("module")
        );
        assert_eq!(attribute_value("a data-href=x", "href"), None);
        assert_eq!(attribute_value("a href", "href"), Some(""));
    }
}

#[cfg(test)]
mod cost {
    #[test]
    #[ignore = "a measurement: cargo test --release --lib decide_cost -- --ignored --nocapture"]
    fn decide_cost() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e/site/p");
        let pages: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .take(
                std::env::var("DECIDE_PAGES")
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(3000),
            )
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default())
            .collect();
        let bytes: usize = pages.iter().map(String::len).sum();
        for round in 0..3 {
            let started = std::time::Instant::now();
            let mut rendered = 0;
            for page in &pages {
                rendered += usize::from(super::auto_reason(page) != super::Reason::Static);
            }
            let per_page = started.elapsed() / u32::try_from(pages.len()).unwrap();
            let started = std::time::Instant::now();
            for page in &pages {
                std::hint::black_box(crate::extract::html_title(page));
            }
            let title = started.elapsed() / u32::try_from(pages.len()).unwrap();
            println!(
                "round {round}: auto_reason {per_page:?}/page, html_title {title:?}/page, {} bytes/page, {rendered} rendered",
                bytes / pages.len()
            );
        }
    }
}
