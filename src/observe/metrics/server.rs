//! The `[metrics] listen` endpoint: `GET /metrics` and `GET /healthz`.
//!
//! tiny_http serves from one plain thread beside the async-std runtime; a
//! scrape only reads atomics and formats text, so it never touches the crawl.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use tiny_http::{Header, Method, Request, Response, Server};

use super::Metrics;

/// The Content-Type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The running endpoint; stops when dropped.
pub struct MetricsServer {
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
    address: SocketAddr,
}

impl MetricsServer {
    /// Listens on `address` and serves `metrics` until dropped.
    ///
    /// # Errors
    /// The address cannot be bound (in use, not local, no permission).
    pub fn start(address: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<Self> {
        let server = Server::http(address).map_err(std::io::Error::other)?;
        let server = Arc::new(server);
        let address = server.server_addr().to_ip().unwrap_or(address);
        let serving = Arc::clone(&server);
        let thread = thread::Builder::new()
            .name("metrics".to_owned())
            .spawn(move || {
                for request in serving.incoming_requests() {
                    answer(request, &metrics);
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

fn answer(request: Request, metrics: &Metrics) {
    let path = request.url().split('?').next().unwrap_or_default();
    let (status, content_type, body) = match (request.method(), path) {
        (Method::Get | Method::Head, "/metrics") => (200, PROMETHEUS_TEXT, metrics.encode()),
        (Method::Get | Method::Head, "/healthz") => {
            (200, "application/json", metrics.health() + "\n")
        }
        (Method::Get | Method::Head, _) => (
            404,
            "text/plain; charset=utf-8",
            "not found: try /metrics or /healthz\n".to_owned(),
        ),
        _ => (
            405,
            "text/plain; charset=utf-8",
            "method not allowed: use GET\n".to_owned(),
        ),
    };
    let mut response = Response::from_string(body).with_status_code(status);
    if let Ok(header) = Header::from_bytes("Content-Type", content_type) {
        response = response.with_header(header);
    }
    if let Err(err) = request.respond(response) {
        log::debug!("metrics: answering a request failed: {err}");
    }
}
