//! What a notification looks like on the wire, per target format: the
//! body, its content type and headers, and the signature of `json` bodies.
//!
//! A signed body carries `X-Crawler-Timestamp` (Unix seconds) and
//! `X-Crawler-Signature-256: sha256=<hex>`, the HMAC-SHA256 of
//! `"<timestamp>.<body>"` under the target's secret: a receiver recomputes
//! it, compares in constant time, and refuses a timestamp too old (replay).

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{KeyInit as _, Mac as _};

use crate::config::notify::{NotifyEvent, NotifyFormat, Target};
use crate::watch::Notice;

/// Discord refuses a message longer than this.
const DISCORD_MAX: usize = 2000;

/// A request ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The body's media type.
    pub content_type: &'static str,
    /// Headers besides it.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// The request that tells `target` about `notice`, signed at `now`.
pub fn outgoing(target: &Target, notice: &Notice, now: SystemTime) -> Outgoing {
    let mut headers = vec![
        ("idempotency-key", notice.id.clone()),
        ("x-crawler-event", notice.event.as_str().to_owned()),
    ];
    let (content_type, body) = match target.format {
        NotifyFormat::Json => (
            "application/json",
            serde_json::to_vec(notice).unwrap_or_default(),
        ),
        NotifyFormat::Slack => (
            "application/json",
            serde_json::json!({ "text": notice.summary() })
                .to_string()
                .into_bytes(),
        ),
        NotifyFormat::Discord => (
            "application/json",
            serde_json::json!({ "content": cut(&notice.summary(), DISCORD_MAX) })
                .to_string()
                .into_bytes(),
        ),
        NotifyFormat::Ntfy => {
            headers.push(("title", ntfy_title(notice.event).to_owned()));
            headers.push(("click", notice.url.clone()));
            ("text/plain; charset=utf-8", notice.summary().into_bytes())
        }
    };
    if let Some(secret) = &target.secret {
        let timestamp = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs())
            .to_string();
        let signature = sign(secret.expose().as_bytes(), &timestamp, &body);
        headers.push(("x-crawler-timestamp", timestamp));
        headers.push(("x-crawler-signature-256", format!("sha256={signature}")));
    }
    Outgoing {
        content_type,
        headers,
        body,
    }
}

/// The hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return String::new(); // HMAC takes a key of any length: not reached
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// An ASCII title for ntfy (its headers are not UTF-8).
fn ntfy_title(event: NotifyEvent) -> &'static str {
    match event {
        NotifyEvent::TitleChanged => "Title changed",
        NotifyEvent::Failed => "Page fails",
        NotifyEvent::Recovered => "Page works again",
    }
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            sign(b"key", "1700000000", b"{}"),
            "9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }

    #[test]
    fn discord_messages_are_cut_to_its_limit() {
        let long = "x".repeat(DISCORD_MAX + 10);
        assert_eq!(cut(&long, DISCORD_MAX).chars().count(), DISCORD_MAX);
        assert_eq!(cut("short", DISCORD_MAX), "short");
    }
}
