//! The `[metrics] listen` endpoint: `GET /metrics`, `GET /healthz`, and
//! the pages a [`Pages`] adds (the live report).
//!
//! tiny_http serves from one plain thread beside the async-std runtime; a
//! scrape only reads atomics and formats text, so it never touches the
//! crawl. Added pages may be slow (a report reads the whole store): each
//! is answered on a thread of its own, at most [`MAX_PAGE_THREADS`] at
//! once, so `/metrics` and `/healthz` never wait for them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};

use tiny_http::{Header, Method, Request, Response, Server};

use super::Metrics;

/// The Content-Type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Added pages being answered at once at most; more get a 503.
pub const MAX_PAGE_THREADS: usize = 4;

/// One answer: status, Content-Type, body.
pub struct Page {
    /// The HTTP status.
    pub status: u16,
    /// The Content-Type.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

/// Read-only pages served beside `/metrics` (the live report).
pub trait Pages: Send + Sync {
    /// Whether `path` is one of these pages.
    fn serves(&self, path: &str) -> bool;

    /// The answer for `path` (may take a while).
    fn answer(&self, path: &str) -> Page;
}

/// The running endpoint; stops when dropped.
pub struct MetricsServer {
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
    address: SocketAddr,
}

impl MetricsServer {
    /// Listens on `address` and serves `metrics` (and `pages`) until dropped.
    ///
    /// # Errors
    /// The address cannot be bound (in use, not local, no permission).
    pub fn start(
        address: SocketAddr,
        metrics: Arc<Metrics>,
        pages: Option<Arc<dyn Pages>>,
    ) -> std::io::Result<Self> {
        let server = Server::http(address).map_err(std::io::Error::other)?;
        let server = Arc::new(server);
        let address = server.server_addr().to_ip().unwrap_or(address);
        let serving = Arc::clone(&server);
        let busy = Arc::new(AtomicUsize::new(0));
        let thread = thread::Builder::new()
            .name("metrics".to_owned())
            .spawn(move || {
                for request in serving.incoming_requests() {
                    let path = request
                        .url()
                        .split('?')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    match &pages {
                        Some(pages) if pages.serves(&path) && is_read(&request) => {
                            answer_page(request, &path, pages, &busy);
                        }
                        _ => answer(request, &path, &metrics, pages.is_some()),
                    }
                }
            })?;
        Ok(Self {
            server,
            thread: Some(thread),
            address,
        })
    }

    /// The address actually bound.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn is_read(request: &Request) -> bool {
    matches!(request.method(), Method::Get | Method::Head)
}

/// Answers an added page on a thread of its own, or 503 when too many are running.
fn answer_page(request: Request, path: &str, pages: &Arc<dyn Pages>, busy: &Arc<AtomicUsize>) {
    if busy.fetch_add(1, Ordering::SeqCst) >= MAX_PAGE_THREADS {
        busy.fetch_sub(1, Ordering::SeqCst);
        let page = Page {
            status: 503,
            content_type: "text/plain; charset=utf-8",
            body: "busy: reports are being made; try again in a moment\n".to_owned(),
        };
        respond(request, page);
        return;
    }
    let (pages, running, owned) = (Arc::clone(pages), Arc::clone(busy), path.to_owned());
    let spawned = thread::Builder::new()
        .name("report".to_owned())
        .spawn(move || {
            respond(request, pages.answer(&owned));
            running.fetch_sub(1, Ordering::SeqCst);
        });
    if let Err(err) = spawned {
        busy.fetch_sub(1, Ordering::SeqCst);
        log::warn!("metrics: cannot start a thread for `{path}`: {err}");
    }
}

fn answer(request: Request, path: &str, metrics: &Metrics, has_pages: bool) {
    let text = "text/plain; charset=utf-8";
    let page = match (request.method(), path) {
        (Method::Get | Method::Head, "/metrics") => Page {
            status: 200,
            content_type: PROMETHEUS_TEXT,
            body: metrics.encode(),
        },
        (Method::Get | Method::Head, "/healthz") => Page {
            status: 200,
            content_type: "application/json",
            body: metrics.health() + "\n",
        },
        (Method::Get | Method::Head, _) => Page {
            status: 404,
            content_type: text,
            body: if has_pages {
                "not found: try /, /report.json, /metrics or /healthz\n".to_owned()
            } else {
                "not found: try /metrics or /healthz\n".to_owned()
            },
        },
        _ => Page {
            status: 405,
            content_type: text,
            body: "method not allowed: use GET\n".to_owned(),
        },
    };
    respond(request, page);
}

fn respond(request: Request, page: Page) {
    let mut response = Response::from_string(page.body).with_status_code(page.status);
    if let Ok(header) = Header::from_bytes("Content-Type", page.content_type) {
        response = response.with_header(header);
    }
    if let Err(err) = request.respond(response) {
        log::debug!("metrics: answering a request failed: {err}");
    }
}
