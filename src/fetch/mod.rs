//! Fetching one URL with surf on its curl backend, safely.
//!
//! All client-specific code lives here (see STYLE.md §0 for the traps it avoids):
//! an isahc client built with timeouts and no redirect policy, our own redirect
//! loop (http/https only, a host on every hop), the whole fetch under
//! `request_timeout`, a body read as a stream and cut at `max_body_size`, and any
//! panic inside the client turned into an error for that URL.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, SystemTime};

use futures_lite::FutureExt;
use http_client::isahc::IsahcClient;
use isahc::config::{CaCertificate, Configurable, RedirectPolicy};
use url::Url;

use crate::config::Config;
use crate::extract::MediaType;
use crate::urls::check_crawlable;

mod body;
mod error;
mod guard;
mod page;
mod post;
mod redirects;
mod retry_after;

use body::{content_type, header_text, read_limited, read_prefix};
pub use error::FetchError;
use error::panic_message;
pub use page::{BROWSER_HEADERS, FetchOptions, HopGate, Page, RobotsResponse, Validators};
pub use post::{Answer, PostError, Poster};

use guard::Guard;
pub use guard::{PUBLIC_OVERRIDE_VAR, is_public, private_kind};
pub use retry_after::parse_retry_after;

/// At most this much of a robots.txt is read (RFC 9309 §2.5: at least 500 KiB).
pub const MAX_ROBOTS_SIZE: usize = 500 * 1024;
/// Redirects followed for robots.txt (RFC 9309 §2.3.1.2: at least five).
pub const MAX_ROBOTS_REDIRECTS: u32 = 5;

/// What we accept, as a browser would ask for a page.
const ACCEPT: &str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";
/// Extra time curl gets beyond `request_timeout`, so that our own timer fires first.
const CURL_TIMEOUT_SLACK: Duration = Duration::from_secs(1);
/// First allocation for a body; it grows up to `max_body_size`.
const INITIAL_BODY_CAPACITY: usize = 64 * 1024;

/// How a fetch run under a timeout and `catch_unwind` ended.
type Guarded = Result<
    Result<Result<(), FetchError>, Box<dyn std::any::Any + Send>>,
    async_std::future::TimeoutError,
>;

/// A shared HTTP client with the crawl's limits; cheap to clone.
#[derive(Clone, Debug)]
pub struct Fetcher {
    client: surf::Client,
    request_timeout: Duration,
    connect_timeout: Duration,
    max_body_size: usize,
    max_redirects: u32,
}

/// The client settings every request of the crawl shares (pages, robots.txt,
/// webhooks): the timeouts, no redirect followed by curl (we follow them
/// ourselves), `TCP_NODELAY`, the `User-Agent` and the CA file.
fn client_builder(config: &Config) -> isahc::HttpClientBuilder {
    let settings = &config.settings;
    let builder = isahc::HttpClient::builder()
        .timeout(settings.request_timeout + CURL_TIMEOUT_SLACK)
        .connect_timeout(settings.connect_timeout)
        .redirect_policy(RedirectPolicy::None)
        .tcp_nodelay()
        .default_header("user-agent", settings.user_agent.as_str());
    match &config.ca_file {
        Some(ca_file) => builder.ssl_ca_certificate(CaCertificate::file(ca_file)),
        None => builder,
    }
}

impl Fetcher {
    /// Builds the client from the configuration.
    ///
    /// # Errors
    /// curl could not be initialized or rejected an option.
    pub fn new(config: &Config) -> Result<Self, isahc::Error> {
        let settings = &config.settings;
        let http = client_builder(config)
            .automatic_decompression(true)
            .default_header("accept", ACCEPT)
            .interceptor(Guard {
                deny_private: settings.network.deny_private,
            })
            .build()?;
        Ok(Self {
            client: surf::Client::with_http_client(IsahcClient::from_client(http)),
            request_timeout: settings.request_timeout,
            connect_timeout: settings.connect_timeout,
            max_body_size: usize::try_from(settings.max_body_size.as_u64()).unwrap_or(usize::MAX),
            max_redirects: settings.max_redirects,
        })
    }

    /// Redirects followed at most (`max_redirects`).
    pub fn max_redirects(&self) -> u32 {
        self.max_redirects
    }

    /// Fetches `url`, following redirects, within `request_timeout`.
    ///
    /// Never panics and never fails outright: problems end up in [`Page::error`].
    pub async fn fetch(&self, url: &Url) -> Page {
        self.fetch_conditional(url, Validators::default()).await
    }

    /// Fetches `url` like [`Fetcher::fetch`], sending `validators` as
    /// `If-None-Match` / `If-Modified-Since`: an unchanged page is a `304`
    /// with no body.
    pub async fn fetch_conditional(&self, url: &Url, validators: Validators<'_>) -> Page {
        let options = FetchOptions {
            validators,
            ..FetchOptions::default()
        };
        self.fetch_with(url, options).await
    }

    /// Fetches `url` like [`Fetcher::fetch`], as `options` say.
    pub async fn fetch_with(&self, url: &Url, options: FetchOptions<'_>) -> Page {
        let mut page = Page::new(url);
        let work = AssertUnwindSafe(self.fetch_into(url, options, &mut page)).catch_unwind();
        let outcome = async_std::future::timeout(self.request_timeout, work).await;
        page.error = self.settle(outcome, url, &page.final_url);
        page
    }

    /// The error of a fetch run under `request_timeout` and `catch_unwind`:
    /// its own, a panic inside the client, or the timeout.
    fn settle(&self, outcome: Guarded, url: &Url, final_url: &Url) -> Option<FetchError> {
        match outcome {
            Ok(Ok(Ok(()))) => None,
            Ok(Ok(Err(err))) => Some(err),
            Ok(Err(panic)) => Some(FetchError::Protocol {
                url: final_url.clone(),
                detail: format!("the HTTP client panicked: {}", panic_message(&panic)),
            }),
            Err(_) => Some(FetchError::Timeout {
                url: url.clone(),
                detail: format!(
                    "did not finish within {} (request_timeout)",
                    humantime::format_duration(self.request_timeout)
                ),
            }),
        }
    }

    async fn fetch_into(
        &self,
        url: &Url,
        options: FetchOptions<'_>,
        page: &mut Page,
    ) -> Result<(), FetchError> {
        check_crawlable(url).map_err(|reason| FetchError::InvalidUrl {
            url: url.to_string(),
            reason,
        })?;
        let mut response = self
            .follow_redirects(page, self.max_redirects, options)
            .await?;
        let status = u16::from(response.status());
        page.status = Some(status);
        page.content_type = content_type(&response);
        page.etag = header_text(&response, "etag");
        page.last_modified = header_text(&response, "last-modified");
        if let Some(values) = response.header("x-robots-tag") {
            page.robots_tags = values
                .iter()
                .map(|value| value.as_str().to_owned())
                .collect();
        }
        if matches!(status, 429 | 503) {
            page.retry_after = response
                .header("retry-after")
                .and_then(|values| parse_retry_after(values.last().as_str(), SystemTime::now()));
        }
        page.browser_headers = browser_headers(&response);
        let media = MediaType::of(page.content_type.as_deref());
        if !page.is_success()
            || options.is_head
            || (media == MediaType::Other && !options.is_for_browser)
        {
            return Ok(());
        }
        let reader = response.take_body().into_reader();
        read_limited(reader, self.max_body_size, page).await
    }

    /// Fetches a robots.txt within `request_timeout`: up to five redirects,
    /// and a 2xx body cut (not failed) at [`MAX_ROBOTS_SIZE`]. Never panics.
    pub async fn fetch_robots(&self, url: &Url) -> RobotsResponse {
        self.fetch_prefix(url, MAX_ROBOTS_SIZE).await
    }

    /// Fetches any file within `request_timeout` (up to five redirects),
    /// whatever its type: the first `limit` bytes of a 2xx body (a
    /// sitemap). Never panics.
    pub async fn fetch_prefix(&self, url: &Url, limit: usize) -> RobotsResponse {
        let mut page = Page::new(url);
        let work = async {
            let mut response = self
                .follow_redirects(&mut page, MAX_ROBOTS_REDIRECTS, FetchOptions::default())
                .await?;
            let status = u16::from(response.status());
            page.status = Some(status);
            if (200..300).contains(&status) {
                let reader = response.take_body().into_reader();
                read_prefix(reader, limit, &mut page).await?;
            }
            Ok(())
        };
        let outcome =
            async_std::future::timeout(self.request_timeout, AssertUnwindSafe(work).catch_unwind())
                .await;
        let error = self.settle(outcome, url, &page.final_url);
        RobotsResponse {
            status: page.status,
            body: page.body,
            is_from_public: page.is_from_public,
            error,
        }
    }
}

/// The [`BROWSER_HEADERS`] of `response`, each value as sent.
fn browser_headers(response: &surf::Response) -> Vec<(String, String)> {
    let mut kept = Vec::new();
    for name in BROWSER_HEADERS {
        if let Some(values) = response.header(name) {
            for value in values {
                kept.push((name.to_owned(), value.as_str().to_owned()));
            }
        }
    }
    kept
}
