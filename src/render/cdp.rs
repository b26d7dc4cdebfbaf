//! The DevTools protocol over the pipe Chromium opens with
//! `--remote-debugging-pipe`: JSON messages ended by a NUL byte, written
//! to its fd 3 and read from its fd 4. One thread reads, one writes;
//! commands are answered by id, events go to the session that subscribed
//! (the browser's own events are dropped).
//! Only the fields we use are read, so events a newer Chromium adds are
//! ignored rather than failing the connection.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_channel::{Receiver, Sender};
use serde::Deserialize;
use serde_json::{Value, json};

/// One event: its method and parameters, and the session it came from.
#[derive(Debug)]
pub struct Event {
    /// The session (`None` for the browser's own).
    pub session: Option<String>,
    /// `Domain.event`.
    pub method: String,
    /// The event's parameters.
    pub params: Value,
}

/// What went wrong with a command.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CdpError {
    /// The browser closed the pipe (it exited or crashed).
    #[error("the browser closed its DevTools pipe (it exited or crashed)")]
    Closed,
    /// The browser answered with an error.
    #[error("{method}: {message}")]
    Protocol {
        /// The command.
        method: String,
        /// The browser's message.
        message: String,
    },
}

type Reply = Result<Value, CdpError>;

/// An incoming message: a reply (`id`) or an event (`method`).
#[derive(Deserialize)]
struct Incoming {
    id: Option<u64>,
    result: Option<Value>,
    error: Option<ProtocolError>,
    method: Option<String>,
    params: Option<Value>,
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
}

#[derive(Deserialize)]
struct ProtocolError {
    message: String,
}

#[derive(Default)]
struct Routes {
    replies: HashMap<u64, (String, Sender<Reply>)>,
    sessions: HashMap<String, Sender<Event>>,
}

/// A connection to one browser; cheap to share.
pub struct Connection {
    next_id: AtomicU64,
    routes: Mutex<Routes>,
    outgoing: Sender<Vec<u8>>,
    is_closed: AtomicBool,
}

impl Connection {
    /// Starts the reader and writer threads on `to_browser` (its fd 3) and
    /// `from_browser` (its fd 4).
    pub fn start(to_browser: File, from_browser: File) -> std::io::Result<Arc<Self>> {
        let (outgoing, queued) = async_channel::unbounded::<Vec<u8>>();
        let connection = Arc::new(Self {
            next_id: AtomicU64::new(1),
            routes: Mutex::new(Routes::default()),
            outgoing,
            is_closed: AtomicBool::new(false),
        });
        std::thread::Builder::new()
            .name("cdp-writer".to_owned())
            .spawn(move || write_all(to_browser, &queued))?;
        let reader = Arc::clone(&connection);
        std::thread::Builder::new()
            .name("cdp-reader".to_owned())
            .spawn(move || reader.read_all(from_browser))?;
        Ok(connection)
    }

    /// Whether the pipe is gone.
    pub fn is_closed(&self) -> bool {
        self.is_closed.load(Ordering::SeqCst)
    }

    /// Sends `method` to `session` (`None`: the browser) and waits for its answer.
    ///
    /// # Errors
    /// The browser answered with an error, or the pipe closed.
    pub async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Reply {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = Value::from(session);
        }
        let (sender, reply) = async_channel::bounded(1);
        {
            let mut routes = self.routes();
            if self.is_closed() {
                return Err(CdpError::Closed);
            }
            routes.replies.insert(id, (method.to_owned(), sender));
        }
        let mut bytes = serde_json::to_vec(&message).unwrap_or_default();
        bytes.push(0);
        if self.outgoing.send(bytes).await.is_err() {
            self.routes().replies.remove(&id);
            return Err(CdpError::Closed);
        }
        reply.recv().await.unwrap_or(Err(CdpError::Closed))
    }

    /// Sends `method` and does not wait for the answer.
    pub fn send(self: &Arc<Self>, session: Option<&str>, method: &'static str, params: Value) {
        let connection = Arc::clone(self);
        let session = session.map(str::to_owned);
        async_std::task::spawn(async move {
            let _ = connection.call(session.as_deref(), method, params).await;
        });
    }

    /// Routes the events of `session` to `events` until [`Connection::forget`].
    pub fn subscribe(&self, session: &str, events: Sender<Event>) {
        self.routes().sessions.insert(session.to_owned(), events);
    }

    /// Stops routing the events of `session`.
    pub fn forget(&self, session: &str) {
        self.routes().sessions.remove(session);
    }

    fn routes(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_all(&self, from_browser: File) {
        let mut reader = BufReader::with_capacity(256 * 1024, from_browser);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(0, &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if buffer.last() == Some(&0) {
                buffer.pop();
            }
            let Ok(incoming) = serde_json::from_slice::<Incoming>(&buffer) else {
                log::debug!("render: a DevTools message that is not JSON was ignored");
                continue;
            };
            self.route(incoming);
        }
        self.is_closed.store(true, Ordering::SeqCst);
        let mut routes = self.routes();
        routes.replies.clear();
        routes.sessions.clear();
        self.outgoing.close();
    }

    fn route(&self, incoming: Incoming) {
        if let Some(id) = incoming.id {
            let Some((method, sender)) = self.routes().replies.remove(&id) else {
                return;
            };
            let reply = match incoming.error {
                Some(error) => Err(CdpError::Protocol {
                    method,
                    message: error.message,
                }),
                None => Ok(incoming.result.unwrap_or(Value::Null)),
            };
            let _ = sender.try_send(reply);
            return;
        }
        let Some(method) = incoming.method else {
            return;
        };
        let event = Event {
            session: incoming.session_id,
            method,
            params: incoming.params.unwrap_or(Value::Null),
        };
        // The browser's own events (targets detached) are not needed.
        if let Some(session) = &event.session {
            let sender = self.routes().sessions.get(session).cloned();
            if let Some(sender) = sender {
                let _ = sender.try_send(event);
            }
        }
    }
}

fn write_all(mut to_browser: File, queued: &Receiver<Vec<u8>>) {
    while let Ok(bytes) = queued.recv_blocking() {
        if to_browser.write_all(&bytes).is_err() {
            break;
        }
    }
    queued.close();
}
