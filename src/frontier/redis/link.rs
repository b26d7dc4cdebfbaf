//! The connection to Redis: opened on first use, dropped on a network
//! error and opened again with backoff, and errors that say what to do.

use std::time::{Duration, Instant};

use redis::{Client, Connection};

use crate::frontier::{RedisError, StoreError};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one command may take (a big batch script included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// The first wait before connecting again; it doubles up to [`MAX_RECONNECT`].
const FIRST_RECONNECT: Duration = Duration::from_millis(250);
/// The longest wait between connection attempts.
pub const MAX_RECONNECT: Duration = Duration::from_secs(5);

/// A connection to one Redis server, reopened as needed.
pub struct Link {
    client: Client,
    connection: Option<Connection>,
    /// The address without its password, for messages.
    shown: String,
    next_attempt: Instant,
    backoff: Duration,
    /// Whether a connection was lost (and its last reply with it) since
    /// [`Link::take_reconnected`] was last asked.
    was_lost: bool,
}

impl Link {
    /// A link to `address` (not yet connected).
    ///
    /// # Errors
    /// The address is not a Redis URL.
    pub fn new(address: &str) -> Result<Self, StoreError> {
        let shown = shown_address(address);
        let client = Client::open(address).map_err(|err| {
            StoreError::Redis(RedisError::Unreachable {
                address: shown.clone(),
                detail: err.to_string(),
            })
        })?;
        Ok(Self {
            client,
            connection: None,
            shown,
            next_attempt: Instant::now(),
            backoff: FIRST_RECONNECT,
            was_lost: false,
        })
    }

    /// The address as shown in messages (no password).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Whether the connection broke since the last time this was asked
    /// and is open again: a command sent then may have run without its
    /// reply arriving.
    pub fn take_reconnected(&mut self) -> bool {
        let reconnected = self.was_lost && self.connection.is_some();
        if reconnected {
            self.was_lost = false;
        }
        reconnected
    }

    /// Runs `work` on the connection, connecting first if needed.
    ///
    /// # Errors
    /// Redis cannot be reached (the connection is dropped and opened again
    /// later, with backoff), or it refused the command.
    pub fn run<T>(
        &mut self,
        work: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        let connection = self.connect()?;
        match work(connection) {
            Ok(value) => Ok(value),
            Err(err) => Err(self.failed(&err)),
        }
    }

    fn connect(&mut self) -> Result<&mut Connection, StoreError> {
        if self.connection.is_none() {
            if Instant::now() < self.next_attempt {
                return Err(StoreError::Redis(RedisError::Unreachable {
                    address: self.shown.clone(),
                    detail: "not connected; trying again shortly".to_owned(),
                }));
            }
            let opened = self
                .client
                .get_connection_with_timeout(CONNECT_TIMEOUT)
                .and_then(|connection| {
                    connection.set_read_timeout(Some(COMMAND_TIMEOUT))?;
                    connection.set_write_timeout(Some(COMMAND_TIMEOUT))?;
                    Ok(connection)
                });
            match opened {
                Ok(connection) => {
                    self.backoff = FIRST_RECONNECT;
                    self.connection = Some(connection);
                }
                Err(err) => return Err(self.failed(&err)),
            }
        }
        self.connection.as_mut().ok_or_else(|| {
            StoreError::Redis(RedisError::Unreachable {
                address: self.shown.clone(),
                detail: "not connected".to_owned(),
            })
        })
    }

    /// Classifies `err`; a network failure drops the connection.
    fn failed(&mut self, err: &redis::RedisError) -> StoreError {
        if let Some(advice) = refusal_advice(err) {
            return StoreError::Redis(RedisError::Refused {
                address: self.shown.clone(),
                detail: format!("{err}; {advice}"),
            });
        }
        if is_network(err) {
            self.was_lost |= self.connection.is_some();
            self.connection = None;
            self.next_attempt = Instant::now() + self.backoff;
            self.backoff = (self.backoff * 2).min(MAX_RECONNECT);
            return StoreError::Redis(RedisError::Unreachable {
                address: self.shown.clone(),
                detail: err.to_string(),
            });
        }
        StoreError::Redis(RedisError::Refused {
            address: self.shown.clone(),
            detail: err.to_string(),
        })
    }
}

/// Whether `err` means the server could not be reached or the connection broke.
fn is_network(err: &redis::RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
        || err.code() == Some("LOADING")
}

/// What to do about a server that refuses to take writes.
fn refusal_advice(err: &redis::RedisError) -> Option<&'static str> {
    match err.code()? {
        "OOM" => Some(
            "Redis is at its `maxmemory`: raise it, or give the crawl a server of its own (an eviction policy would lose crawl state; use `maxmemory-policy noeviction`)",
        ),
        "READONLY" => {
            Some("this server is a read-only replica: point `cluster.redis` at the primary")
        }
        "MISCONF" => Some(
            "Redis cannot save its snapshot (see its log: disk full or permissions); fix that, or turn `stop-writes-on-bgsave-error` off",
        ),
        "NOAUTH" | "WRONGPASS" => {
            Some("put the right password in `cluster.redis` (redis://:password@host:port/db)")
        }
        _ => None,
    }
}

/// `address` with its password replaced by `***`.
pub fn shown_address(address: &str) -> String {
    match url::Url::parse(address) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => address.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            shown_address("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            shown_address("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
    }

    #[test]
    fn an_unreachable_server_is_reported_and_retried_later() {
        // Port 9 on loopback: nothing listens there in the test environment.
        let mut link = Link::new("redis://127.0.0.1:9/0").unwrap();
        let first = link.run(|connection| redis::cmd("PING").query::<String>(connection));
        assert!(
            matches!(
                first,
                Err(StoreError::Redis(RedisError::Unreachable { .. }))
            ),
            "{first:?}"
        );
        let second = link.run(|connection| redis::cmd("PING").query::<String>(connection));
        let Err(StoreError::Redis(RedisError::Unreachable { detail, .. })) = second else {
            panic!("{second:?}");
        };
        assert!(detail.contains("trying again"), "{detail}");
    }
}
