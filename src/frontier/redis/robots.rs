//! What the nodes of a cluster share about a host: the first node to fetch
//! a host's robots.txt stores the answer in Redis with its expiry, and the
//! node that crawls the host next (after a handover) reads it from there,
//! with the 429/503 backoff the host was under.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::frontier::{Backoff, RobotsAnswer, SharedHosts, unix_ms};
use std::time::SystemTime;

use super::link::Link;

/// The robots.txt answers of one cluster, in Redis under `robots:<url>`.
pub struct RedisHosts {
    link: Mutex<Link>,
    prefix: String,
}

impl RedisHosts {
    /// Shares robots.txt through the Redis at `address`, for the crawl `name`.
    ///
    /// # Errors
    /// The address is not a Redis URL.
    pub fn new(address: &str, name: &str) -> Result<Self, crate::frontier::StoreError> {
        Ok(Self {
            link: Mutex::new(Link::new(address)?),
            prefix: format!("crawler:{name}:"),
        })
    }
}

impl RedisHosts {
    /// The value at `name` (under the crawl's prefix); `None` when absent
    /// or Redis cannot answer (the caller then does without).
    fn get(&self, name: &str) -> Option<Vec<u8>> {
        let key = format!("{}{name}", self.prefix);
        let mut link = self.link.lock().unwrap_or_else(PoisonError::into_inner);
        link.run(|connection| redis::cmd("GET").arg(&key).query(connection))
            .map_err(|err| log::debug!("shared host state: {err}"))
            .ok()?
    }

    /// Stores `value` at `name` for `ttl`; a failure only costs sharing.
    fn set(&self, name: &str, value: Vec<u8>, ttl: Duration) {
        let key = format!("{}{name}", self.prefix);
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut link = self.link.lock().unwrap_or_else(PoisonError::into_inner);
        let stored = link.run(|connection| {
            redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("PX")
                .arg(ttl)
                .query::<()>(connection)
        });
        if let Err(err) = stored {
            log::debug!("shared host state: {err}");
        }
    }
}

/// A stored answer: status, whether it came from a public address, then the body.
fn encode(answer: &RobotsAnswer) -> Vec<u8> {
    let mut value = format!("{}|{}|", answer.status, u8::from(answer.is_from_public)).into_bytes();
    value.extend_from_slice(&answer.body);
    value
}

fn decode(value: &[u8]) -> Option<RobotsAnswer> {
    let mut parts = value.splitn(3, |byte| *byte == b'|');
    let status = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let is_from_public = parts.next()? == b"1";
    Some(RobotsAnswer {
        status,
        body: parts.next()?.to_vec(),
        is_from_public,
    })
}

impl SharedHosts for RedisHosts {
    fn robots(&self, url: &str) -> Option<RobotsAnswer> {
        decode(&self.get(&format!("robots:{url}"))?)
    }

    fn put_robots(&self, url: &str, answer: &RobotsAnswer, ttl: Duration) {
        self.set(&format!("robots:{url}"), encode(answer), ttl);
    }

    fn backoff(&self, origin: &str) -> Option<Backoff> {
        let value = String::from_utf8(self.get(&format!("backoff:{origin}"))?).ok()?;
        let (backoff, until) = value
            .split_once('|')
            .map(|(a, b)| (a.parse().ok(), b.parse().ok()))?;
        let until: i64 = until?;
        let wait = until.saturating_sub(unix_ms(SystemTime::now())).max(0);
        Some(Backoff {
            delay: Duration::from_millis(backoff?),
            wait: Duration::from_millis(u64::try_from(wait).unwrap_or(0)),
        })
    }

    fn put_backoff(
        &self,
        origin: &str,
        Backoff {
            delay: backoff,
            wait,
        }: Backoff,
    ) {
        let until = unix_ms(SystemTime::now() + wait);
        let value = format!("{}|{until}", backoff.as_millis());
        // Kept while it matters: the wait, and a while at the backoff's pace.
        let ttl = (wait + backoff * 8).max(Duration::from_secs(10));
        self.set(&format!("backoff:{origin}"), value.into_bytes(), ttl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip() {
        let answer = RobotsAnswer {
            status: 200,
            body: b"User-agent: *\nDisallow: /a|b\n".to_vec(),
            is_from_public: true,
        };
        assert_eq!(decode(&encode(&answer)), Some(answer));
        assert_eq!(decode(b"garbage"), None);
    }
}
