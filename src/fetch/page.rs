//! What a fetch is asked and what it brings back.

use std::time::Duration;

use url::Url;

use super::{FetchError, Fetcher};

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
    /// The redirects followed: each URL that answered with one, and its status.
    pub redirects: Vec<(String, u16)>,
    /// Whether the final response came from a public address.
    pub is_from_public: bool,
    /// Why the fetch failed, if it did.
    pub error: Option<FetchError>,
    /// The final response's headers a browser needs to treat the body as
    /// the server meant ([`BROWSER_HEADERS`]).
    pub browser_headers: Vec<(String, String)>,
}

/// The response headers handed to a browser with a body fetched for it:
/// the type, the security policy, CORS, and `Refresh`.
pub const BROWSER_HEADERS: [&str; 7] = [
    "content-type",
    "content-security-policy",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "refresh",
];

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
    /// Fetched for a browser (a script, a style sheet): the body is read
    /// whatever its type.
    pub is_for_browser: bool,
    /// Sent as `HEAD` (a link checked, not crawled): no body is read.
    pub is_head: bool,
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
            redirects: Vec::new(),
            is_from_public: false,
            error: None,
            browser_headers: Vec::new(),
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
    /// The first [`MAX_ROBOTS_SIZE`](super::MAX_ROBOTS_SIZE) bytes of a 2xx body.
    pub body: Vec<u8>,
    /// Whether the answer came from a public address.
    pub is_from_public: bool,
    /// Why no usable answer came.
    pub error: Option<FetchError>,
}
