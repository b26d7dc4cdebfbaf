//! `auto`: whether scripts may change a page's title or links, decided
//! from its HTML alone, cheaply (one pass over the body's markup, and the
//! inline scripts' text). A page is rendered when any rule holds:
//!
//! - `no_title`: it has no `<title>` but has scripts;
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
//! a page rendered.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

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
    /// No `<title>`, and scripts.
    NoTitle,
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
            Self::NoTitle => "no_title",
            Self::TitleScript => "title_script",
            Self::AppShell => "app_shell",
            Self::ScriptLinks => "script_links",
            Self::ScriptNavigation => "script_navigation",
            Self::Static => "static",
        }
    }
}

/// Whether a page is rendered, and why; `None` when rendering is off.
pub fn decide(verdict: UrlVerdict, html: &str, has_title: bool) -> Option<(bool, Reason)> {
    match verdict {
        UrlVerdict::Never => None,
        UrlVerdict::Excluded => Some((false, Reason::Exclude)),
        UrlVerdict::Included => Some((true, Reason::Include)),
        UrlVerdict::Always => Some((true, Reason::Always)),
        UrlVerdict::Auto => {
            let reason = auto_reason(html, has_title);
            Some((reason != Reason::Static, reason))
        }
    }
}

/// The first `auto` rule `html` meets, or [`Reason::Static`].
pub fn auto_reason(html: &str, has_title: bool) -> Reason {
    let page = Markup::read(html);
    if !page.has_script {
        return if page.refreshes_now {
            Reason::ScriptNavigation
        } else {
            Reason::Static
        };
    }
    if !has_title {
        return Reason::NoTitle;
    }
    let matched = SCRIPT_RULES.matches(&page.inline);
    if matched.matched(0) {
        return Reason::TitleScript;
    }
    if page.has_app_root || (!page.has_link && page.text < SHELL_TEXT) {
        return Reason::AppShell;
    }
    if matched.matched(1) || matched.matched(2) {
        return Reason::ScriptLinks;
    }
    if matched.matched(3) || page.refreshes_now {
        return Reason::ScriptNavigation;
    }
    Reason::Static
}

/// Patterns on the inline scripts' text: 0 sets the title, 1–2 make
/// links, 3 navigates.
static SCRIPT_RULES: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        r#"document\s*\.\s*title\s*=[^=]|document\s*\[\s*['"]title['"]\s*\]\s*=[^=]|(?:querySelector|getElementsByTagName)\s*\(\s*['"]title['"]"#,
        r#"createElement\s*\(\s*['"]a['"]\s*\)"#,
        r#"(?s)(?:innerHTML|outerHTML|insertAdjacentHTML|\.html\(|document\.write).{0,400}?<a\s[^>]*href"#,
        r"location\s*(?:\.\s*href\s*)?=[^=]|location\s*\.\s*(?:replace|assign)\s*\(",
    ])
    .unwrap_or_else(|_| RegexSet::empty())
});

/// An empty app root: an element with a framework's root id, closed at once.
static APP_ROOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)<(?:div|main|section|body)\b[^>]*\bid\s*=\s*["']?(?:root|app|__next|__nuxt|___gatsby|svelte|q-app|main-app)["']?[^>]*>\s*(?:<noscript\b[^<]*</noscript>\s*)?</|<app-root\b[^>]*>\s*</app-root"#,
    )
    .unwrap_or_else(|_| Regex::new("$^").unwrap_or_else(|_| unreachable!()))
});

/// What one pass over the markup found.
#[derive(Debug, Default)]
struct Markup {
    has_script: bool,
    /// The inline scripts' text, joined.
    inline: String,
    /// Visible text characters (not whitespace) in the body.
    text: usize,
    has_link: bool,
    has_app_root: bool,
    refreshes_now: bool,
}

impl Markup {
    fn read(html: &str) -> Self {
        let mut found = Self {
            has_app_root: APP_ROOT.is_match(html),
            ..Self::default()
        };
        let bytes = html.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let Some(offset) = memchr::memchr(b'<', &bytes[at..]) else {
                found.text += count_text(&html[at..]);
                break;
            };
            found.text += count_text(&html[at..at + offset]);
            at += offset;
            at = found.tag(html, at);
        }
        found
    }

    /// Reads the tag at `at` (a `<`); returns where the scan goes on.
    fn tag(&mut self, html: &str, at: usize) -> usize {
        let rest = &html[at + 1..];
        if rest.starts_with("!--") {
            return rest.find("-->").map_or(html.len(), |end| at + 1 + end + 3);
        }
        let bracket = rest.find('>');
        let tag = bracket.map_or(rest, |bracket| &rest[..bracket]);
        let end = bracket.map_or(html.len(), |bracket| at + 1 + bracket + 1);
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        match name.as_str() {
            "script" => {
                let close = find_close(html, end, "script");
                if is_javascript(tag) {
                    self.has_script = true;
                    self.inline.push_str(&html[end.min(close)..close]);
                    self.inline.push('\n');
                }
                skip_close(html, close)
            }
            "style" | "template" | "noscript" | "textarea" | "title" => {
                let close = find_close(html, end, &name);
                skip_close(html, close)
            }
            "a" | "area" => {
                if attribute_named(tag, "href") {
                    self.has_link = true;
                }
                end
            }
            "meta" => {
                if is_immediate_refresh(tag) {
                    self.refreshes_now = true;
                }
                end
            }
            _ => end,
        }
    }
}

fn count_text(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Where `</name` starts at or after `from`, or the end.
fn find_close(html: &str, from: usize, name: &str) -> usize {
    let from = from.min(html.len());
    let needle = format!("</{name}");
    let haystack = &html[from..];
    let found = memchr::memmem::find(haystack.as_bytes(), needle.as_bytes()).or_else(|| {
        let upper = needle.to_ascii_uppercase();
        memchr::memmem::find(haystack.as_bytes(), upper.as_bytes())
    });
    found.map_or(html.len(), |offset| from + offset)
}

/// Past the `>` of the closing tag at `close`.
fn skip_close(html: &str, close: usize) -> usize {
    html[close.min(html.len())..]
        .find('>')
        .map_or(html.len(), |end| close + end + 1)
}

/// Whether a `<script …>` tag's `type` is JavaScript (none, a JS MIME type, or `module`).
fn is_javascript(tag: &str) -> bool {
    let Some(kind) = attribute_value(tag, "type") else {
        return true;
    };
    let kind = kind.trim().to_ascii_lowercase();
    kind.is_empty()
        || kind == "module"
        || kind.ends_with("/javascript")
        || kind.ends_with("/ecmascript")
        || kind == "text/jscript"
}

/// Whether a `<meta http-equiv="refresh" content="0; url=…">` leaves at once.
fn is_immediate_refresh(tag: &str) -> bool {
    let is_refresh = attribute_value(tag, "http-equiv")
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("refresh"));
    let delay = attribute_value(tag, "content").and_then(|content| {
        let digits: String = content
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<u64>().ok()
    });
    is_refresh && delay == Some(0)
}

fn attribute_named(tag: &str, name: &str) -> bool {
    attribute_value(tag, name).is_some()
}

/// The value of attribute `name` in a tag's text (a rough read: enough for
/// these rules, never for the record).
fn attribute_value<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let start = from + found;
        let before = lower[..start].chars().last();
        let after = &lower[start + name.len()..];
        from = start + name.len();
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let after_trimmed = after.trim_start();
        if !after_trimmed.starts_with('=') {
            if after.is_empty() || after.starts_with(|c: char| c.is_whitespace() || c == '/') {
                return Some("");
            }
            continue;
        }
        let value_start = tag.len() - after_trimmed.len() + 1;
        let value = tag[value_start..].trim_start();
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
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(html: &str) -> Reason {
        let has_title = html.contains("<title>");
        auto_reason(html, has_title)
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
            ("<script src=/app.js></script><p>hi</p>", Reason::NoTitle),
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
        assert_eq!(decide(UrlVerdict::Never, "", false), None);
        assert_eq!(
            decide(
                UrlVerdict::Excluded,
                "<script>document.title='x'</script>",
                true
            ),
            Some((false, Reason::Exclude))
        );
        assert_eq!(
            decide(UrlVerdict::Included, "<title>x</title>", true),
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
