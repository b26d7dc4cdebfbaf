//! POSTing to a webhook: the crawl's client settings (timeouts, CA file,
//! `User-Agent`), no redirect followed by the client and no private-address
//! guard (the target is the operator's own). Errors never quote the URL,
//! whose path may be a token.

use std::time::{Duration, SystemTime};

use futures_lite::{AsyncReadExt as _, FutureExt as _};
use http_client::isahc::IsahcClient;
use url::Url;

use super::client_builder;
use super::error::describe;
use super::retry_after::parse_retry_after;
use crate::config::Config;

/// Bytes of an answer's body kept (for the log and `crawler notify test`).
const MAX_ANSWER: u64 = 1024;

/// A client for webhooks, built from the crawl's client settings.
#[derive(Clone, Debug)]
pub struct Poster {
    client: surf::Client,
    request_timeout: Duration,
}

/// What a webhook answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// Its `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
    /// Its `Location`, for a redirect.
    pub location: Option<String>,
    /// The start of its body.
    pub body: String,
}

/// Why a POST got no answer: a kind (`timeout`, `connect`, `dns`, `tls`,
/// `protocol`) and a message without the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct PostError {
    /// The error kind.
    pub kind: &'static str,
    /// What happened.
    pub detail: String,
}

impl Poster {
    /// A client with `config`'s timeouts, CA file and `User-Agent`.
    ///
    /// # Errors
    /// The HTTP client cannot be built (curl failed to initialize).
    pub fn new(config: &Config) -> Result<Self, isahc::Error> {
        let http = client_builder(config).build()?;
        Ok(Self {
            client: surf::Client::with_http_client(IsahcClient::from_client(http)),
            request_timeout: config.settings.request_timeout,
        })
    }

    /// POSTs `body` (of `content_type`) with `headers` to `url`, within `request_timeout`.
    ///
    /// # Errors
    /// No answer came: the error says why, without the URL.
    pub async fn post(
        &self,
        url: &Url,
        content_type: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Answer, PostError> {
        let mut request = surf::post(url.as_str()).body(surf::Body::from_bytes(body));
        request = request.header("content-type", content_type);
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let work = async {
            let mut response = self.client.send(request).await.map_err(classify)?;
            let header = |name: &str| {
                response
                    .header(name)
                    .map(|values| values.last().as_str().trim().to_owned())
            };
            let retry_after = header("retry-after")
                .and_then(|value| parse_retry_after(&value, SystemTime::now()));
            let location = header("location");
            let mut body = Vec::new();
            // The answer's body is informative only: a failure to read it is no failure.
            let _ = response
                .take_body()
                .into_reader()
                .take(MAX_ANSWER)
                .read_to_end(&mut body)
                .await;
            Ok(Answer {
                status: u16::from(response.status()),
                retry_after,
                location,
                body: String::from_utf8_lossy(&body).trim().to_owned(),
            })
        };
        let guarded = std::panic::AssertUnwindSafe(work).catch_unwind();
        match async_std::future::timeout(self.request_timeout, guarded).await {
            Ok(Ok(answered)) => answered,
            Ok(Err(_)) => Err(PostError {
                kind: "protocol",
                detail: "the HTTP client panicked".to_owned(),
            }),
            Err(_) => Err(PostError {
                kind: "timeout",
                detail: format!(
                    "no answer within {} (request_timeout)",
                    humantime::format_duration(self.request_timeout)
                ),
            }),
        }
    }
}

fn classify(err: surf::Error) -> PostError {
    let Some(inner) = err.downcast_ref::<isahc::Error>() else {
        return PostError {
            kind: "protocol",
            detail: err.to_string(),
        };
    };
    let kind = match inner {
        isahc::Error::Timeout => "timeout",
        isahc::Error::CouldntResolveHost | isahc::Error::CouldntResolveProxy => "dns",
        isahc::Error::ConnectFailed | isahc::Error::Io(_) => "connect",
        isahc::Error::BadServerCertificate(_)
        | isahc::Error::BadClientCertificate(_)
        | isahc::Error::SSLConnectFailed(_)
        | isahc::Error::SSLEngineError(_) => "tls",
        _ => "protocol",
    };
    PostError {
        kind,
        detail: describe(inner),
    }
}
