//! The extraction step of a worker: a fetched page's outcome decided
//! (status, media type), its body decoded as a browser would, its title
//! and, when wanted, its links extracted; a panic is an error for that page.

use std::panic::{self, AssertUnwindSafe};

use crate::config::render::RenderRules;
use crate::extract::charset;
use crate::extract::links::{self, PageLinks};
use crate::extract::{self, MediaType};
use crate::fetch::Page;
use crate::render::decide::{self, Reason};

/// What the extraction step found in a fetched page.
pub(super) struct Analysis {
    pub(super) title: Option<String>,
    pub(super) encoding: Option<&'static str>,
    pub(super) error: Option<String>,
    /// A `304` to a conditional request: the title is the stored one.
    pub(super) is_not_modified: bool,
    /// The page's links, when they were wanted and it is a page.
    pub(super) links: Option<PageLinks>,
    /// Whether the page is rendered, and why; `None` when rendering is off
    /// or the page is not HTML.
    pub(super) render: Option<(bool, Reason)>,
}

/// [`analyze`], with a panic turned into an error for that page.
pub(super) fn analyze_guarded(
    page: &Page,
    wants_links: bool,
    render: Option<&RenderRules>,
) -> Analysis {
    panic::catch_unwind(AssertUnwindSafe(|| analyze(page, wants_links, render))).unwrap_or_else(
        |_| Analysis {
            title: None,
            encoding: None,
            error: Some(format!(
                "extract: title extraction failed on `{}` (internal error)",
                page.final_url
            )),
            is_not_modified: false,
            links: None,
            render: None,
        },
    )
}

/// Decides the outcome of a fetched page and extracts its title (and its
/// links, when `wants_links`); with `render` rules, decides whether an HTML
/// page is rendered.
fn analyze(page: &Page, wants_links: bool, render: Option<&RenderRules>) -> Analysis {
    let failed = |error: String| Analysis {
        title: None,
        encoding: None,
        error: Some(error),
        is_not_modified: false,
        links: None,
        render: None,
    };
    if let Some(err) = &page.error {
        return failed(format!("{}: {err}", err.kind()));
    }
    let status = page.status.unwrap_or_default();
    if !page.is_success() {
        return failed(format!(
            "http_status: `{}` answered HTTP {status}",
            page.final_url
        ));
    }
    let content_type = page.content_type.as_deref();
    let http_charset = content_type.and_then(charset::from_content_type);
    let (decoded, title, render) = match MediaType::of(content_type) {
        MediaType::Html => {
            let tld = page.final_url.domain().and_then(|d| d.rsplit('.').next());
            let decoded = charset::decode_html(&page.body, http_charset, tld.map(str::as_bytes));
            let title = extract::html_title(&decoded.text);
            let render = render.and_then(|rules| {
                let verdict = rules.verdict(&page.final_url);
                decide::decide(verdict, &decoded.text)
            });
            (decoded, title, render)
        }
        MediaType::Xhtml => {
            let decoded = charset::decode_xml(&page.body, http_charset);
            let title = extract::xhtml_title(&decoded.text);
            (decoded, title, None)
        }
        MediaType::Other => {
            return failed(format!(
                "content_type: `{}` is `{}`; only text/html and application/xhtml+xml are parsed",
                page.final_url,
                content_type.unwrap_or_default()
            ));
        }
    };
    let links =
        wants_links.then(|| links::page_links(&decoded.text, &page.final_url, decoded.encoding));
    Analysis {
        title,
        encoding: Some(decoded.encoding.name()),
        error: None,
        is_not_modified: false,
        links,
        render,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn page(content_type: Option<&str>, body: &[u8]) -> Page {
        Page {
            status: Some(200),
            content_type: content_type.map(str::to_owned),
            body: body.to_vec(),
            bytes: body.len() as u64,
            ..Page::new(&Url::parse("http://127.0.0.1/").unwrap())
        }
    }

    fn analyzed(content_type: Option<&str>, body: &[u8]) -> (Option<String>, Option<&'static str>) {
        let analysis = analyze(&page(content_type, body), false, None);
        assert_eq!(analysis.error, None);
        (analysis.title, analysis.encoding)
    }

    #[test]
    fn a_bom_decides_the_encoding() {
        let body = b"\xEF\xBB\xBF<title>caf\xC3\xA9</title>";
        let expected = (Some("café".to_owned()), Some("UTF-8"));
        assert_eq!(
            analyzed(Some("text/html; charset=iso-8859-1"), body),
            expected
        );
    }

    #[test]
    fn a_windows_1251_page_declared_in_meta() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251
            .encode("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"><title>Новости</title>");
        assert_eq!(
            analyzed(None, &bytes),
            (Some("Новости".to_owned()), Some("windows-1251"))
        );
    }

    #[test]
    fn a_shift_jis_page_declared_in_the_header() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("<title>東京の天気</title>");
        let expected = (Some("東京の天気".to_owned()), Some("Shift_JIS"));
        assert_eq!(
            analyzed(Some("text/html; charset=Shift_JIS"), &bytes),
            expected
        );
    }

    #[test]
    fn one_bad_byte_never_fails_the_page() {
        let (title, encoding) = analyzed(
            Some("text/html; charset=utf-8"),
            b"<title>ok \xFF ok</title>",
        );
        assert_eq!(title.as_deref(), Some("ok \u{FFFD} ok"));
        assert_eq!(encoding, Some("UTF-8"));
    }

    #[test]
    fn non_html_is_not_parsed_and_says_why() {
        let analysis = analyze(&page(Some("image/png"), b"\x89PNG"), false, None);
        assert_eq!(analysis.title, None);
        assert!(analysis.error.unwrap().starts_with("content_type: "));
    }

    #[test]
    fn non_2xx_is_an_http_status_error() {
        let mut not_found = page(Some("text/html"), b"<title>Not Found</title>");
        not_found.status = Some(404);
        let analysis = analyze(&not_found, false, None);
        assert_eq!(analysis.title, None);
        assert!(analysis.error.unwrap().starts_with("http_status: "));
    }
}
