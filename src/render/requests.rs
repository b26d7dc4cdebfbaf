//! The requests a rendered page makes, answered by us: blocked kinds
//! without a request, other methods and schemes refused, robots.txt
//! obeyed, the address guard applied, bodies capped (our fetch), and each
//! URL fetched once per round (the cache), so a bundle every page of an
//! app loads is requested once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use url::Url;

use super::cdp::Connection;
use crate::config::render::ResourceKind;
use crate::fetch::{FetchError, FetchOptions, Fetcher, HopGate, Page};
use crate::observe::metrics::Metrics;

/// Bytes the cache holds at most; past it, it starts over.
const MAX_CACHED_BYTES: usize = 64 * 1024 * 1024;

/// A response as handed to the browser.
#[derive(Debug)]
pub struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Where it came from, when redirects led elsewhere.
    final_url: Url,
}

/// Why a request was not fetched, as counted and as told to the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Blocked,
    Denied,
    Failed,
}

impl Refusal {
    fn outcome(self) -> &'static str {
        match self {
            Self::Blocked => "blocked",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Self::Blocked => "BlockedByClient",
            Self::Denied => "AccessDenied",
            Self::Failed => "Failed",
        }
    }
}

/// One cached URL: filled by the first request, waited for by the others.
type Slot = Arc<async_std::sync::Mutex<Option<Arc<Result<Answer, Refusal>>>>>;

/// The answers of this round, shared by every tab.
#[derive(Default)]
pub struct Cache {
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    slots: HashMap<String, Slot>,
    bytes: usize,
    started: Option<Instant>,
}

impl Cache {
    /// The slot of `url`, starting over when `round` has passed or the cache is full.
    fn slot(&self, url: &str, round: Duration) -> Slot {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let is_stale = state
            .started
            .is_none_or(|started| started.elapsed() >= round);
        if is_stale || state.bytes > MAX_CACHED_BYTES {
            state.slots.clear();
            state.bytes = 0;
            state.started = Some(Instant::now());
        }
        Arc::clone(state.slots.entry(url.to_owned()).or_default())
    }

    fn add_bytes(&self, bytes: usize) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.bytes += bytes;
    }
}

/// What answering a page's requests needs; one per render, shared by its tasks.
pub struct Policy {
    /// Our client.
    pub fetcher: Fetcher,
    /// robots.txt of the hosts requested.
    pub robots: Option<Arc<dyn HopGate>>,
    /// The page came from a public address: its requests may not reach private ones.
    pub is_public_only: bool,
    /// Kinds answered without a request.
    pub block: Vec<ResourceKind>,
    /// How long an answer is kept (a round).
    pub round: Duration,
    /// The cache shared by every tab.
    pub cache: Arc<Cache>,
    /// Where outcomes are counted.
    pub metrics: Arc<Metrics>,
}

impl Policy {
    /// Answers the paused request `params` of `session`.
    pub async fn answer(&self, connection: &Connection, session: &str, params: &Value) {
        let id = params["requestId"].as_str().unwrap_or_default();
        let kind = ResourceKind::of_chromium(params["resourceType"].as_str().unwrap_or_default());
        let url = params["request"]["url"].as_str().unwrap_or_default();
        let method = params["request"]["method"].as_str().unwrap_or("GET");
        let answer = self.fetch(kind, url, method).await;
        let outcome = match &*answer {
            Ok(_) => None,
            Err(refusal) => Some(*refusal),
        };
        match outcome {
            None => {}
            Some(refusal) => {
                self.metrics.render.request(refusal.outcome());
                fail(connection, session, id, refusal.reason()).await;
                return;
            }
        }
        if let Ok(answer) = &*answer {
            fulfill(connection, session, id, url, answer).await;
        }
    }

    /// The answer for `url`: refused, cached, or fetched now.
    async fn fetch(
        &self,
        kind: ResourceKind,
        url: &str,
        method: &str,
    ) -> Arc<Result<Answer, Refusal>> {
        if self.block.contains(&kind) {
            return Arc::new(Err(Refusal::Blocked));
        }
        let parsed = Url::parse(url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some());
        let (Some(parsed), true) = (parsed, method.eq_ignore_ascii_case("GET")) else {
            log::debug!("render: refused {method} {url} (only GET over http(s))");
            return Arc::new(Err(Refusal::Denied));
        };
        let slot = self.cache.slot(url, self.round);
        let mut filled = slot.lock().await;
        if let Some(answer) = filled.as_ref() {
            if answer.is_ok() {
                self.metrics.render.request("cached");
            }
            return Arc::clone(answer);
        }
        let answer = Arc::new(self.fetch_now(&parsed).await);
        if let Ok(fetched) = &*answer {
            self.metrics.render.request("fetched");
            self.cache.add_bytes(fetched.body.len());
            if fetched.final_url.as_str() != url {
                // The browser asks for where the redirect points next.
                let final_slot = self.cache.slot(fetched.final_url.as_str(), self.round);
                if let Some(mut final_filled) = final_slot.try_lock()
                    && final_filled.is_none()
                {
                    *final_filled = Some(Arc::clone(&answer));
                }
            }
        }
        *filled = Some(Arc::clone(&answer));
        answer
    }

    async fn fetch_now(&self, url: &Url) -> Result<Answer, Refusal> {
        if let Some(robots) = &self.robots
            && let Err(why) = robots.check(&self.fetcher, url).await
        {
            log::debug!("render: not requesting `{url}`, {why}");
            return Err(Refusal::Denied);
        }
        let options = FetchOptions {
            is_public_only: self.is_public_only,
            hops: self.robots.as_deref(),
            is_for_browser: true,
            ..FetchOptions::default()
        };
        let page = self.fetcher.fetch_with(url, options).await;
        answer_of(page)
    }
}

/// What the browser is handed for a fetched `page`.
fn answer_of(page: Page) -> Result<Answer, Refusal> {
    match (&page.error, page.status) {
        (Some(error), _) => {
            log::debug!("render: a page's request failed: {error}");
            Err(match error {
                FetchError::Denied { .. } | FetchError::RobotsRedirect(_) => Refusal::Denied,
                _ => Refusal::Failed,
            })
        }
        (None, Some(status)) => Ok(Answer {
            status,
            headers: page.browser_headers,
            body: page.body,
            final_url: page.final_url,
        }),
        (None, None) => Err(Refusal::Failed),
    }
}

/// Answers request `id` with `answer`; one that came from elsewhere after
/// redirects is a redirect there, so the browser sees the right URL (the
/// next request is answered from the cache).
async fn fulfill(connection: &Connection, session: &str, id: &str, url: &str, answer: &Answer) {
    let params = if answer.final_url.as_str() != url {
        json!({
            "requestId": id,
            "responseCode": 302,
            "responseHeaders": [{"name": "location", "value": answer.final_url.as_str()}],
        })
    } else {
        fulfillment(id, answer.status, &answer.headers, &answer.body)
    };
    let _ = connection
        .call(Some(session), "Fetch.fulfillRequest", params)
        .await;
}

/// The `Fetch.fulfillRequest` parameters for a response.
pub fn fulfillment(id: &str, status: u16, headers: &[(String, String)], body: &[u8]) -> Value {
    let headers: Vec<Value> = headers
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    json!({
        "requestId": id,
        "responseCode": status,
        "responseHeaders": headers,
        "body": base64::engine::general_purpose::STANDARD.encode(body),
    })
}

/// Fails request `id` with the network error `reason`.
pub async fn fail(connection: &Connection, session: &str, id: &str, reason: &str) {
    let params = json!({"requestId": id, "errorReason": reason});
    let _ = connection
        .call(Some(session), "Fetch.failRequest", params)
        .await;
}
