//! The notifications' metrics and their part of `/healthz`: deliveries by
//! target and result, the outbox's depth and age, and the targets failing
//! for longer than their `degraded_after`.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

/// The labels of `crawler_notifications_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    target: String,
    result: &'static str,
}

/// The labels of `crawler_notification_failures_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    target: String,
    kind: &'static str,
}

/// How a delivery attempt ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryResult {
    /// The target took it (2xx).
    Sent,
    /// The attempt failed; it is tried again later.
    Retried,
    /// Given up (a 4xx, a redirect elsewhere, too old, the outbox full, the target removed).
    Dropped,
}

impl DeliveryResult {
    fn label(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Retried => "retried",
            Self::Dropped => "dropped",
        }
    }
}

/// A target whose deliveries fail: since when, why, and when that degrades health.
#[derive(Debug, Clone)]
struct Failing {
    since: SystemTime,
    error: String,
    degraded_after: Duration,
}

/// The notifications' metrics.
#[derive(Debug, Default)]
pub struct NotifyMetrics {
    deliveries: Family<DeliveryLabels, Counter>,
    failed: Family<FailureLabels, Counter>,
    outbox_depth: Gauge,
    outbox_refused: Counter,
    outbox_oldest: Gauge,
    failing: Mutex<BTreeMap<String, Failing>>,
}

impl NotifyMetrics {
    /// Registers them in `registry`.
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "notifications",
            "Notifications by target and result (sent, retried, dropped)",
            self.deliveries.clone(),
        );
        registry.register(
            "notification_failures",
            "Failed delivery attempts by target and error (timeout, connect, http_5xx, ...)",
            self.failed.clone(),
        );
        registry.register(
            "outbox_depth",
            "Notifications waiting in the outbox",
            self.outbox_depth.clone(),
        );
        registry.register(
            "outbox_refused",
            "Notifications not queued because the outbox was full",
            self.outbox_refused.clone(),
        );
        registry.register_with_unit(
            "outbox_oldest_age",
            "Age of the oldest notification waiting in the outbox",
            Unit::Seconds,
            self.outbox_oldest.clone(),
        );
    }

    /// A delivery to `target` ended as `result`; `failure` names the error
    /// kind of a failed attempt, `degraded_after` comes from the target.
    pub fn delivered(
        &self,
        target: &str,
        result: DeliveryResult,
        failure: Option<(&'static str, String)>,
        degraded_after: Duration,
    ) {
        let labels = DeliveryLabels {
            target: target.to_owned(),
            result: result.label(),
        };
        self.deliveries.get_or_create(&labels).inc();
        let mut failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        match failure {
            Some((kind, error)) => {
                let labels = FailureLabels {
                    target: target.to_owned(),
                    kind,
                };
                self.failed.get_or_create(&labels).inc();
                let since = failing
                    .get(target)
                    .map_or_else(SystemTime::now, |failing| failing.since);
                failing.insert(
                    target.to_owned(),
                    Failing {
                        since,
                        error,
                        degraded_after,
                    },
                );
            }
            None if result == DeliveryResult::Sent => {
                failing.remove(target);
            }
            None => {}
        }
    }

    /// `count` notifications were not queued: the outbox was full.
    pub fn refused(&self, count: u64) {
        self.outbox_refused.inc_by(count);
    }

    /// Forgets the targets no longer configured.
    pub fn keep_targets(&self, names: &[&str]) {
        self.failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|name, _| names.contains(&name.as_str()));
    }

    /// The outbox holds `depth` notifications, the oldest queued at `oldest`.
    pub fn set_outbox(&self, depth: u64, oldest: Option<SystemTime>) {
        self.outbox_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
        let age = oldest
            .and_then(|at| SystemTime::now().duration_since(at).ok())
            .map_or(0, |age| age.as_secs());
        self.outbox_oldest
            .set(i64::try_from(age).unwrap_or(i64::MAX));
    }

    /// The `notify` part of `/healthz`, and whether it degrades the status:
    /// a target failing for longer than its `degraded_after`.
    pub(super) fn health(&self, now: SystemTime) -> (serde_json::Value, bool) {
        let failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        let mut is_degraded = false;
        let targets: Vec<serde_json::Value> = failing
            .iter()
            .map(|(name, failing)| {
                let long = now
                    .duration_since(failing.since)
                    .is_ok_and(|age| age >= failing.degraded_after);
                is_degraded |= long;
                serde_json::json!({
                    "target": name,
                    "failing_since": humantime::format_rfc3339_seconds(failing.since).to_string(),
                    "error": failing.error,
                })
            })
            .collect();
        let value = serde_json::json!({
            "ok": !is_degraded,
            "failing": targets,
            "outbox": self.outbox_depth.get(),
        });
        (value, is_degraded)
    }
}
