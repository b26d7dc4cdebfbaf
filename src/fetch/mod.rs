//! Fetching one URL with surf on its curl backend, safely.
//!
//! All client-specific code lives here (see STYLE.md §0 for the traps it avoids):
//! an isahc client built with timeouts and no redirect policy, our own redirect
//! loop (http/https only, a host on every hop), the whole fetch under
//! `request_timeout`, a body read as a stream and cut at `max_body_size`, and any
//! panic inside the client turned into an error for that URL.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, SystemTime};

use futures_lite::{AsyncBufReadExt, FutureExt};
use http_client::isahc::IsahcClient;
use isahc::config::{CaCertificate, Configurable, RedirectPolicy};
use surf::http::Method;
use url::Url;

use crate::config::Config;
use crate::extract::MediaType;
use crate::urls::{check_crawlable, shorten};

mod guard;
mod retry_after;

use guard::{
    DENIED_FROM_PUBLIC_MARKER, DENIED_MARKER, FROM_PUBLIC, Guard, NO_CONTENT_TYPE, PUBLIC_ONLY,
};
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

/// Why a fetch failed. [`FetchError::kind`] is the stable word written in records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL cannot be requested.
    #[error("`{url}` {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The fetch took longer than `request_timeout`, or connecting than `connect_timeout`.
    #[error("`{url}` {detail}")]
    Timeout {
        /// The URL.
        url: Url,
        /// Which limit ran out.
        detail: String,
    },
    /// The host name could not be resolved.
    #[error("cannot resolve the host of `{0}`")]
    Dns(Url),
    /// No connection could be made.
    #[error("cannot connect to `{url}`: {detail}")]
    Connect {
        /// The URL.
        url: Url,
        /// What the client said.
        detail: String,
    },
    /// TLS failed: handshake, certificate or engine.
    #[error("TLS with `{url}` failed: {detail}")]
    Tls {
        /// The URL.
        url: Url,
        /// What the client said.
        detail: String,
    },
    /// The server answered something that is not valid HTTP, or the client failed on it.
    #[error("`{url}` sent a response the client could not handle: {detail}")]
    Protocol {
        /// The URL.
        url: Url,
        /// What the client said.
        detail: String,
    },
    /// Redirects could not be followed: too many, or to somewhere we do not go.
    #[error("{0}")]
    Redirects(String),
    /// A redirect leads to another host whose robots.txt disallows the target.
    #[error("{0}")]
    RobotsRedirect(String),
    /// The decompressed body is larger than `max_body_size`.
    #[error("the body of `{url}` is larger than {limit} bytes (max_body_size)")]
    TooLarge {
        /// The URL.
        url: Url,
        /// The limit in bytes.
        limit: usize,
    },
    /// The host resolves to a private address that `network.deny_private`
    /// forbids, or that a public page led to.
    #[error("`{url}` {detail}")]
    Denied {
        /// The URL.
        url: Url,
        /// Which address, why it is private, and why that is refused.
        detail: String,
    },
    /// Reading the body failed part way (reset, bad encoding, short body).
    #[error("reading the body of `{url}` failed: {detail}")]
    Body {
        /// The URL.
        url: Url,
        /// What the client said.
        detail: String,
    },
}

impl FetchError {
    /// The stable error kind written in records: `timeout`, `connect`, `dns`, …
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidUrl { .. } => "invalid_url",
            Self::Timeout { .. } => "timeout",
            Self::Dns(_) => "dns",
            Self::Connect { .. } => "connect",
            Self::Tls { .. } => "tls",
            Self::Protocol { .. } => "protocol",
            Self::Redirects(_) => "redirects",
            Self::RobotsRedirect(_) => "robots",
            Self::TooLarge { .. } => "too_large",
            Self::Body { .. } => "body",
            Self::Denied { .. } => "denied",
        }
    }
}

/// What one fetch produced. Fields are filled as far as the fetch got.
#[derive(Debug)]
pub struct Page {
    /// The URL of the last response (after redirects).
    pub final_url: Url,
    /// The final HTTP status, once a response head arrived.
    pub status: Option<u16>,
    /// The `Content-Type` header, `None` when absent.
    pub content_type: Option<String>,
    /// The body (empty when not read: non-2xx, or a type we do not parse).
    pub body: Vec<u8>,
    /// Body bytes read, including any beyond the limit.
    pub bytes: u64,
    /// The server's `Retry-After` on a 429 or 503.
    pub retry_after: Option<Duration>,
    /// The final response's `ETag`, if any.
    pub etag: Option<String>,
    /// The final response's `Last-Modified`, if any.
    pub last_modified: Option<String>,
    /// The final response's `X-Robots-Tag` values, one per header line.
    pub robots_tags: Vec<String>,
    /// Whether the final response came from a public address.
    pub is_from_public: bool,
    /// Why the fetch failed, if it did.
    pub error: Option<FetchError>,
}

/// Validators from an earlier fetch, for a conditional request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Validators<'a> {
    /// Sent as `If-None-Match`.
    pub etag: Option<&'a str>,
    /// Sent as `If-Modified-Since`.
    pub last_modified: Option<&'a str>,
}

/// Decides whether a redirect may go to another host (its robots.txt).
pub trait HopGate: Send + Sync {
    /// `Err(why)` when `fetcher` may not request `target`.
    fn check<'a>(
        &'a self,
        fetcher: &'a Fetcher,
        target: &'a Url,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// How one page is requested, besides its URL.
#[derive(Clone, Copy, Default)]
pub struct FetchOptions<'a> {
    /// Validators for a conditional request.
    pub validators: Validators<'a>,
    /// Refuse private addresses: a public page led here.
    pub is_public_only: bool,
    /// Decides redirects to other hosts; `None` follows them all.
    pub hops: Option<&'a dyn HopGate>,
}

impl Page {
    /// A page of `url` with nothing fetched yet.
    pub fn new(url: &Url) -> Self {
        Self {
            final_url: url.clone(),
            status: None,
            content_type: None,
            body: Vec::new(),
            bytes: 0,
            retry_after: None,
            etag: None,
            last_modified: None,
            robots_tags: Vec::new(),
            is_from_public: false,
            error: None,
        }
    }

    /// Whether the final response was 2xx.
    pub fn is_success(&self) -> bool {
        self.status
            .is_some_and(|status| (200..300).contains(&status))
    }
}

/// The answer to a robots.txt request.
#[derive(Debug, Default)]
pub struct RobotsResponse {
    /// The final HTTP status, once a response head arrived.
    pub status: Option<u16>,
    /// The first [`MAX_ROBOTS_SIZE`] bytes of a 2xx body.
    pub body: Vec<u8>,
    /// Whether the answer came from a public address.
    pub is_from_public: bool,
    /// Why no usable answer came.
    pub error: Option<FetchError>,
}

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

impl Fetcher {
    /// Builds the client from the configuration.
    ///
    /// # Errors
    /// curl could not be initialized or rejected an option.
    pub fn new(config: &Config) -> Result<Self, isahc::Error> {
        let settings = &config.settings;
        let mut builder = isahc::HttpClient::builder()
            .timeout(settings.request_timeout + CURL_TIMEOUT_SLACK)
            .connect_timeout(settings.connect_timeout)
            .redirect_policy(RedirectPolicy::None)
            .automatic_decompression(true)
            .tcp_nodelay()
            .default_header("user-agent", settings.user_agent.as_str())
            .default_header("accept", ACCEPT)
            .interceptor(Guard {
                deny_private: settings.network.deny_private,
            });
        if let Some(ca_file) = &config.ca_file {
            builder = builder.ssl_ca_certificate(CaCertificate::file(ca_file));
        }
        let http = builder.build()?;
        Ok(Self {
            client: surf::Client::with_http_client(IsahcClient::from_client(http)),
            request_timeout: settings.request_timeout,
            connect_timeout: settings.connect_timeout,
            max_body_size: usize::try_from(settings.max_body_size.as_u64()).unwrap_or(usize::MAX),
            max_redirects: settings.max_redirects,
        })
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
        let media = MediaType::of(page.content_type.as_deref());
        if !page.is_success() || media == MediaType::Other {
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

    /// Sends requests from `page.final_url` on, following up to `max_redirects`.
    /// Once a response comes from a public address, later hops must stay public.
    async fn follow_redirects(
        &self,
        page: &mut Page,
        max_redirects: u32,
        options: FetchOptions<'_>,
    ) -> Result<surf::Response, FetchError> {
        let validators = options.validators;
        let mut is_public_only = options.is_public_only;
        let mut hops = 0;
        loop {
            let mut request = surf::Request::new(Method::Get, page.final_url.clone());
            if is_public_only {
                request.insert_header(PUBLIC_ONLY, "1");
            }
            // http-types panics on a header value that is not visible ASCII.
            if let Some(etag) = validators.etag.filter(|value| is_header_safe(value)) {
                request.insert_header("if-none-match", etag);
            }
            if let Some(date) = validators
                .last_modified
                .filter(|value| is_header_safe(value))
            {
                request.insert_header("if-modified-since", date);
            }
            let response = self
                .client
                .send(request)
                .await
                .map_err(|err| self.classify(&page.final_url, &err))?;
            page.is_from_public = response
                .header(FROM_PUBLIC)
                .is_some_and(|values| values.last().as_str() == "1");
            is_public_only |= page.is_from_public;
            let Some(target) = redirect_target(&page.final_url, &response)? else {
                return Ok(response);
            };
            if hops == max_redirects {
                return Err(FetchError::Redirects(format!(
                    "`{}` redirected more than {} times (max_redirects); last target `{}`",
                    page.final_url,
                    max_redirects,
                    shorten(target.as_str())
                )));
            }
            if let Some(gate) = options.hops
                && !is_same_host(&page.final_url, &target)
            {
                gate.check(self, &target).await.map_err(|why| {
                    FetchError::RobotsRedirect(format!(
                        "`{}` redirects to `{}`, {why}",
                        page.final_url,
                        shorten(target.as_str())
                    ))
                })?;
            }
            hops += 1;
            page.final_url = target;
        }
    }
}

impl Fetcher {
    /// Maps a client error to our kinds by the isahc error inside it.
    fn classify(&self, url: &Url, err: &surf::Error) -> FetchError {
        let url = url.clone();
        let Some(inner) = err.downcast_ref::<isahc::Error>() else {
            return FetchError::Protocol {
                url,
                detail: err.to_string(),
            };
        };
        let detail = describe(inner);
        match inner {
            // Our own timer covers the whole fetch and fires before curl's, so a
            // timeout from curl is the connect timeout.
            isahc::Error::Timeout => FetchError::Timeout {
                url,
                detail: format!(
                    "did not connect within {} (connect_timeout)",
                    humantime::format_duration(self.connect_timeout)
                ),
            },
            isahc::Error::CouldntResolveHost | isahc::Error::CouldntResolveProxy => {
                FetchError::Dns(url)
            }
            isahc::Error::ConnectFailed | isahc::Error::Io(_) => {
                FetchError::Connect { url, detail }
            }
            isahc::Error::BadServerCertificate(_)
            | isahc::Error::BadClientCertificate(_)
            | isahc::Error::SSLConnectFailed(_)
            | isahc::Error::SSLEngineError(_) => FetchError::Tls { url, detail },
            isahc::Error::InvalidContentEncoding(_) | isahc::Error::ResponseBodyError(_) => {
                FetchError::Body { url, detail }
            }
            isahc::Error::Curl(message) if message.starts_with(DENIED_MARKER) => {
                FetchError::Denied {
                    url,
                    detail: format!(
                        "{}; refused because network.deny_private is on",
                        &message[DENIED_MARKER.len()..]
                    ),
                }
            }
            isahc::Error::Curl(message) if message.starts_with(DENIED_FROM_PUBLIC_MARKER) => {
                FetchError::Denied {
                    url,
                    detail: format!(
                        "{}; refused because a page on a public address led here (a public page cannot steer the crawl into a private network)",
                        &message[DENIED_FROM_PUBLIC_MARKER.len()..]
                    ),
                }
            }
            _ => FetchError::Protocol { url, detail },
        }
    }
}

/// The next URL of a 3xx answer with a `Location`, checked; `None` when it is not a redirect.
fn redirect_target(from: &Url, response: &surf::Response) -> Result<Option<Url>, FetchError> {
    if !matches!(u16::from(response.status()), 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let Some(location) = response
        .header("location")
        .map(|values| values.last().as_str())
    else {
        return Ok(None);
    };
    let target = from.join(location.trim()).map_err(|err| {
        FetchError::Redirects(format!(
            "`{from}` redirects to `{}`, which is not a valid URL: {err}",
            shorten(location)
        ))
    })?;
    check_crawlable(&target).map_err(|why| {
        let shown = shorten(target.as_str());
        FetchError::Redirects(format!("`{from}` redirects to `{shown}`, which {why}"))
    })?;
    let mut target = target;
    target.set_fragment(None);
    Ok(Some(target))
}

/// Whether two URLs share scheme, host and port (one robots.txt).
fn is_same_host(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Whether `value` can be sent as a header value: visible ASCII and spaces.
fn is_header_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|byte| byte == b' ' || byte.is_ascii_graphic())
}

/// A header's last value, when present and not empty.
fn header_text(response: &surf::Response, name: &str) -> Option<String> {
    let value = response.header(name)?.last().as_str().trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn content_type(response: &surf::Response) -> Option<String> {
    if response.header(NO_CONTENT_TYPE).is_some() {
        return None;
    }
    response
        .header("content-type")
        .map(|values| values.last().as_str().to_owned())
}

/// Reads at most `limit` bytes into `page.body`; more is [`FetchError::TooLarge`].
async fn read_limited(
    mut reader: impl futures_lite::AsyncBufRead + Unpin,
    limit: usize,
    page: &mut Page,
) -> Result<(), FetchError> {
    page.body = Vec::with_capacity(INITIAL_BODY_CAPACITY.min(limit));
    loop {
        let chunk = reader
            .fill_buf()
            .await
            .map_err(|err| body_error(page, &err))?;
        if chunk.is_empty() {
            return Ok(());
        }
        let len = chunk.len();
        page.bytes += len as u64;
        if page.body.len() + len > limit {
            page.body = Vec::new();
            return Err(FetchError::TooLarge {
                url: page.final_url.clone(),
                limit,
            });
        }
        reserve_within(&mut page.body, len, limit);
        page.body.extend_from_slice(chunk);
        reader.consume(len);
    }
}

/// Reads the first `limit` bytes into `page.body` and drops the rest.
async fn read_prefix(
    mut reader: impl futures_lite::AsyncBufRead + Unpin,
    limit: usize,
    page: &mut Page,
) -> Result<(), FetchError> {
    while page.body.len() < limit {
        let chunk = reader
            .fill_buf()
            .await
            .map_err(|err| body_error(page, &err))?;
        if chunk.is_empty() {
            break;
        }
        let len = chunk.len().min(limit - page.body.len());
        page.body.extend_from_slice(&chunk[..len]);
        reader.consume(len);
    }
    Ok(())
}

/// Grows `body` for `extra` more bytes without ever reserving past `limit`.
fn reserve_within(body: &mut Vec<u8>, extra: usize, limit: usize) {
    let needed = body.len() + extra;
    if needed > body.capacity() {
        let target = (body.capacity() * 2).max(needed).min(limit);
        body.reserve_exact(target - body.len());
    }
}

fn body_error(page: &Page, err: &std::io::Error) -> FetchError {
    if err.kind() == std::io::ErrorKind::TimedOut {
        return FetchError::Body {
            url: page.final_url.clone(),
            detail: "the transfer timed out".to_owned(),
        };
    }
    FetchError::Body {
        url: page.final_url.clone(),
        detail: err.to_string(),
    }
}

/// isahc's `Display` prefixes the variant name; keep only the human part.
fn describe(err: &isahc::Error) -> String {
    let text = err.to_string();
    match text.split_once(": ") {
        Some((_, human)) if !human.is_empty() => human.to_owned(),
        _ => text,
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_capacity_never_exceeds_the_limit() {
        let mut body = Vec::with_capacity(4);
        body.extend_from_slice(b"abcd");
        reserve_within(&mut body, 5, 10);
        assert!(body.capacity() >= 9 && body.capacity() <= 10);
    }

    #[test]
    fn error_kinds_are_stable() {
        let url = Url::parse("http://127.0.0.1/").unwrap();
        let detail = String::new();
        assert_eq!(
            FetchError::Timeout {
                url: url.clone(),
                detail
            }
            .kind(),
            "timeout"
        );
        assert_eq!(FetchError::TooLarge { url, limit: 1 }.kind(), "too_large");
        assert_eq!(FetchError::Redirects(String::new()).kind(), "redirects");
    }
}
