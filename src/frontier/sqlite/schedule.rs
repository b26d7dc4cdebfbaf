//! The schedule in SQLite: claims when due, commits, and due times moved
//! for every idle URL.

use std::time::{Duration, SystemTime};

use rusqlite::{OptionalExtension, params};

use super::batch::CLAIM_COLUMNS;
use super::{SqliteFrontier, links, open};
use crate::frontier::{Claim, Outcome, Reschedule, Schedule, StoreError, from_unix_ms, unix_ms};

impl Schedule for SqliteFrontier {
    fn set_interval(&mut self, interval: Duration) {
        self.interval = interval;
    }

    fn set_max_pages_per_host(&mut self, limit: u64) {
        if limit != self.max_pages_per_host {
            self.host_counts.clear();
            self.seen.clear();
        }
        self.max_pages_per_host = limit;
    }

    fn claim_due(&mut self, now: SystemTime, limit: usize) -> Result<Vec<Claim>, StoreError> {
        // Rows claimed but not yet written still look due: ask for that many more.
        let asked = i64::try_from(limit + self.unwritten.len()).unwrap_or(i64::MAX);
        let rows = self.claim_rows(
            &format!("SELECT {CLAIM_COLUMNS} WHERE u.due_at <= ?1 ORDER BY u.due_at LIMIT ?2"),
            params![unix_ms(now), asked],
        )?;
        Ok(self.take_claims(rows, now, limit))
    }

    fn next_due(&mut self) -> Result<Option<SystemTime>, StoreError> {
        let skip = i64::try_from(self.unwritten.len()).unwrap_or(i64::MAX);
        let due: Option<i64> = self
            .connection
            .query_row(
                "SELECT due_at FROM urls WHERE due_at IS NOT NULL ORDER BY due_at LIMIT 1 OFFSET ?1",
                [skip],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.fail())?;
        Ok(due.map(from_unix_ms))
    }

    fn commit(&mut self, outcomes: &[Outcome]) -> Result<(), StoreError> {
        let mut effects = links::Effects::default();
        match self.write_batch(outcomes, &mut effects) {
            Ok(()) => {
                self.keep_effects(&effects);
                self.has_open_rounds |= outcomes.iter().any(|outcome| outcome.links.is_some());
                Ok(())
            }
            Err(err) => {
                self.drop_effects(&effects);
                Err(open::classify(&self.path, &err))
            }
        }
    }

    fn has_unwritten_claims(&self) -> bool {
        !self.unwritten.is_empty()
    }

    fn reschedule(&mut self, how: Reschedule, now: SystemTime) -> Result<(), StoreError> {
        let now = unix_ms(now);
        let interval = i64::try_from(self.interval.as_millis()).unwrap_or(i64::MAX);
        let spread = i64::try_from(jitter_bound(self.interval).as_millis())
            .unwrap_or(1)
            .max(1);
        let (sql, params): (&str, Vec<i64>) = match how {
            Reschedule::Start if interval == 0 => (ALL_DUE, vec![now]),
            Reschedule::AllDue => (ALL_DUE, vec![now]),
            Reschedule::Start => (FILL_DUE, vec![now, interval]),
            Reschedule::Interval => (PULL_IN, vec![now, interval, spread]),
        };
        self.connection
            .execute(sql, rusqlite::params_from_iter(params))
            .map_err(self.fail())?;
        if how == Reschedule::Interval && interval > 0 {
            self.connection
                .execute(FILL_DUE, params![now, interval])
                .map_err(self.fail())?;
        }
        Ok(())
    }

    fn release_claims(&mut self, now: SystemTime) -> Result<usize, StoreError> {
        self.unwritten.clear();
        // Deliveries under way when the daemon stopped are due again at once.
        self.connection
            .execute(
                "UPDATE outbox SET due_at = ?1, leased = 0 WHERE leased = 1",
                [unix_ms(now)],
            )
            .map_err(self.fail())?;
        self.connection
            .execute(
                // A discovered URL is due at its depth, as when it was found.
                "UPDATE urls SET claimed_at = NULL,
                     due_at = CASE WHEN NOT is_active THEN NULL
                                   WHEN origin = 'discovered' THEN COALESCE(due_at, depth)
                                   ELSE COALESCE(due_at, ?1) END
                 WHERE claimed_at IS NOT NULL",
                [unix_ms(now)],
            )
            .map_err(self.fail())
    }

    fn drop_deeper(&mut self, max_depth: u32) -> Result<usize, StoreError> {
        self.connection
            .execute(
                "UPDATE urls SET due_at = NULL
                 WHERE due_at <= ?1 AND origin = 'discovered' AND depth > ?2
                   AND claimed_at IS NULL",
                params![links::DISCOVERED_DUE_MAX, max_depth],
            )
            .map_err(self.fail())
    }

    fn discovered(&self) -> u64 {
        self.discovered
    }

    fn over_limit(&self) -> u64 {
        self.over_limit
    }
}

/// Every idle listed seed due now (discovered URLs follow from their seeds' rounds).
const ALL_DUE: &str =
    "UPDATE urls SET due_at = ?1 WHERE is_active = 1 AND origin = 'seed' AND claimed_at IS NULL";
/// Idle listed seeds without a due time: one interval after their last fetch, or now.
const FILL_DUE: &str = "UPDATE urls SET due_at = MAX(?1, COALESCE(finished_at + ?2, ?1))
     WHERE is_active = 1 AND origin = 'seed' AND claimed_at IS NULL AND due_at IS NULL";
/// URLs due later than one new interval: soon, spread over the jitter window.
const PULL_IN: &str = "UPDATE urls SET due_at = ?1 + abs(random() % ?3)
     WHERE due_at > ?1 + ?2 AND ?2 > 0";

/// The largest jitter for `interval`, as [`crate::frontier::jitter`] draws it.
pub(super) fn jitter_bound(interval: Duration) -> Duration {
    (interval / 10).min(Duration::from_secs(300))
}
