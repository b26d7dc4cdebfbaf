//! Why a fetch failed, in the stable kinds records carry, and how client
//! errors map to them.

use url::Url;

use super::guard::{DENIED_FROM_PUBLIC_MARKER, DENIED_MARKER};
use super::{Fetcher, Page};

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

impl Fetcher {
    /// Maps a client error to our kinds by the isahc error inside it.
    pub(super) fn classify(&self, url: &Url, err: &surf::Error) -> FetchError {
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

pub(super) fn body_error(page: &Page, err: &std::io::Error) -> FetchError {
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
pub(super) fn describe(err: &isahc::Error) -> String {
    let text = err.to_string();
    match text.split_once(": ") {
        Some((_, human)) if !human.is_empty() => human.to_owned(),
        _ => text,
    }
}

pub(super) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
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
