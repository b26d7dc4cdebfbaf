//! A worker: job → fetch → decode → extract → record.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Instant, SystemTime};

use async_channel::{Receiver, Sender};
use futures_lite::future;
use url::Url;

use crate::charset;
use crate::extract::{self, MediaType};
use crate::fetch::{Fetcher, Page};
use crate::frontier::Job;
use crate::output::{Message, Record};

/// What the extraction step found in a fetched page.
struct Analysis {
    title: Option<String>,
    encoding: Option<&'static str>,
    error: Option<String>,
}

/// What a worker needs; cloned for each worker of the pool.
#[derive(Clone)]
pub struct Context {
    /// The work queue.
    pub jobs: Receiver<Job>,
    /// Closed when every worker must stop taking jobs (shutdown).
    pub stop: Receiver<()>,
    /// One token retires one worker (the pool shrinks on reload).
    pub retire: Receiver<()>,
    /// The current client; replaced when a reload changes client settings.
    pub fetcher: Arc<RwLock<Fetcher>>,
    /// Where records go.
    pub output: Sender<Message>,
    /// Told each URL whose fetch finished (the recrawl schedule), when there is one.
    pub finished: Option<Sender<Url>>,
    /// How many fetches are running.
    pub in_flight: Arc<AtomicUsize>,
}

/// Takes jobs until the queue is empty and closed, `stop` is closed, or a retire token comes.
///
/// A job already taken is always finished and its record sent.
pub async fn run(context: Context) {
    loop {
        let stopped = async {
            // Resolves only when the stop channel is closed.
            let _ = context.stop.recv().await;
            None
        };
        let retired = async {
            match context.retire.recv().await {
                Ok(()) => None,
                Err(_) => future::pending().await,
            }
        };
        let next_job = async { context.jobs.recv().await.ok() };
        let Some(job) = future::or(stopped, future::or(retired, next_job)).await else {
            return;
        };
        let fetcher = context
            .fetcher
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        context.in_flight.fetch_add(1, Ordering::SeqCst);
        let record = process(&fetcher, &job).await;
        context.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some(finished) = &context.finished {
            let _ = finished.send(job.url).await;
        }
        if context
            .output
            .send(Message::Record(Box::new(record)))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Fetches one job and builds its record. Never panics.
pub async fn process(fetcher: &Fetcher, job: &Job) -> Record {
    let fetched_at = SystemTime::now();
    let started = Instant::now();
    let mut page = fetcher.fetch(&job.url).await;
    let analysis =
        panic::catch_unwind(AssertUnwindSafe(|| analyze(&page))).unwrap_or_else(|_| Analysis {
            title: None,
            encoding: None,
            error: Some(format!(
                "extract: title extraction failed on `{}` (internal error)",
                page.final_url
            )),
        });
    page.body = Vec::new();
    Record {
        url: job.url.to_string(),
        final_url: page.final_url.to_string(),
        status: page.status,
        title: analysis.title,
        error: analysis.error,
        content_type: page.content_type,
        encoding: analysis.encoding,
        bytes: page.bytes,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        fetched_at: humantime::format_rfc3339_millis(fetched_at).to_string(),
        changed: false,
        previous_title: None,
    }
}

/// Decides the outcome of a fetched page and extracts its title.
fn analyze(page: &Page) -> Analysis {
    let failed = |error: String| Analysis {
        title: None,
        encoding: None,
        error: Some(error),
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
    let (decoded, title) = match MediaType::of(content_type) {
        MediaType::Html => {
            let tld = page.final_url.domain().and_then(|d| d.rsplit('.').next());
            let decoded = charset::decode_html(&page.body, http_charset, tld.map(str::as_bytes));
            let title = extract::html_title(&decoded.text);
            (decoded, title)
        }
        MediaType::Xhtml => {
            let decoded = charset::decode_xml(&page.body, http_charset);
            let title = extract::xhtml_title(&decoded.text);
            (decoded, title)
        }
        MediaType::Other => {
            return failed(format!(
                "content_type: `{}` is `{}`; only text/html and application/xhtml+xml are parsed",
                page.final_url,
                content_type.unwrap_or_default()
            ));
        }
    };
    Analysis {
        title,
        encoding: Some(decoded.encoding.name()),
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(content_type: Option<&str>, body: &[u8]) -> Page {
        Page {
            final_url: Url::parse("http://127.0.0.1/").unwrap(),
            status: Some(200),
            content_type: content_type.map(str::to_owned),
            body: body.to_vec(),
            bytes: body.len() as u64,
            error: None,
        }
    }

    fn analyzed(content_type: Option<&str>, body: &[u8]) -> (Option<String>, Option<&'static str>) {
        let analysis = analyze(&page(content_type, body));
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
        let analysis = analyze(&page(Some("image/png"), b"\x89PNG"));
        assert_eq!(analysis.title, None);
        assert!(analysis.error.unwrap().starts_with("content_type: "));
    }

    #[test]
    fn non_2xx_is_an_http_status_error() {
        let mut not_found = page(Some("text/html"), b"<title>Not Found</title>");
        not_found.status = Some(404);
        let analysis = analyze(&not_found);
        assert_eq!(analysis.title, None);
        assert!(analysis.error.unwrap().starts_with("http_status: "));
    }
}
