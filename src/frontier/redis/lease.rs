//! This node's leases: the heartbeat that renews them and shares the
//! partitions out, taking back what a lost reply left leased.

use std::collections::BTreeSet;
use std::time::{Instant, SystemTime};

use super::{HEARTBEAT, PARTITIONS, RedisFrontier, millis, scripts};
use crate::frontier::{StoreError, unix_ms};

impl RedisFrontier {
    /// Renews this node's leases and adjusts its partitions, at most once
    /// per [`HEARTBEAT`] unless `force`.
    pub(super) fn beat(&mut self, now: SystemTime, force: bool) -> Result<(), StoreError> {
        if !force && self.last_beat.is_some_and(|at| at.elapsed() < HEARTBEAT) {
            return Ok(());
        }
        let releasable: Vec<u16> = self
            .releasing
            .iter()
            .copied()
            .filter(|p| !self.in_flight.values().any(|flight| flight.partition == *p))
            .collect();
        let first = self.last_beat.is_none();
        let mut invocation = scripts::HEARTBEAT.prepare_invoke();
        invocation
            .arg(&self.prefix)
            .arg(&self.settings.node)
            .arg(unix_ms(now))
            .arg(millis(self.settings.lease))
            .arg(millis(self.settings.handover))
            .arg(u8::from(first))
            .arg(PARTITIONS);
        for p in &releasable {
            invocation.arg(*p);
        }
        let answer: Vec<i64> = self.link.run(|connection| invocation.invoke(connection))?;
        self.last_beat = Some(Instant::now());
        if self.link.take_reconnected() {
            self.reclaim_orphans()?;
        }
        let Some((counts, lists)) = answer.split_at_checked(2) else {
            return Ok(());
        };
        let (owned, active) =
            lists.split_at(lists.iter().position(|p| *p < 0).unwrap_or(lists.len()));
        let partitions = |list: &[i64]| -> BTreeSet<u16> {
            list.iter().filter_map(|p| u16::try_from(*p).ok()).collect()
        };
        let (owned, active) = (partitions(owned), partitions(active));
        if owned != self.owned {
            log::debug!(
                "cluster: node {} crawls {} of {PARTITIONS} partitions ({} with URLs waiting)",
                self.settings.node,
                owned.len(),
                active.len()
            );
        }
        self.owned = owned;
        self.releasing.retain(|p| self.owned.contains(p));
        let extra = |count: i64| usize::try_from(count).unwrap_or(0);
        self.choose_releases(extra(counts[0]), extra(counts[1]), &active);
        Ok(())
    }

    /// After a lost connection: URLs leased in this node's partitions that
    /// it does not hold (a claim ran but its reply was lost) are queued again.
    fn reclaim_orphans(&mut self) -> Result<(), StoreError> {
        let owned: Vec<u16> = self.owned.iter().copied().collect();
        if owned.is_empty() {
            return Ok(());
        }
        let prefix = self.prefix.clone();
        let leased: Vec<Vec<(String, f64)>> = self.link.run(|connection| {
            let mut pipe = redis::pipe();
            for p in &owned {
                pipe.zrange_withscores(format!("{prefix}lease:{p}"), 0, -1);
            }
            pipe.query(connection)
        })?;
        let orphans: Vec<(u16, Vec<(f64, String)>)> = owned
            .iter()
            .zip(leased)
            .map(|(p, items)| {
                let lost = items
                    .into_iter()
                    .filter(|(url, _)| !self.in_flight.contains_key(url))
                    .map(|(url, score)| (score, url))
                    .collect::<Vec<_>>();
                (*p, lost)
            })
            .filter(|(_, lost)| !lost.is_empty())
            .collect();
        let count: usize = orphans.iter().map(|(_, lost)| lost.len()).sum();
        if count == 0 {
            return Ok(());
        }
        self.link.run(|connection| {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for (p, lost) in &orphans {
                let urls: Vec<&str> = lost.iter().map(|(_, url)| url.as_str()).collect();
                pipe.zrem(format!("{prefix}lease:{p}"), urls).ignore();
                pipe.zadd_multiple(format!("{prefix}due:{p}"), lost)
                    .ignore();
                let lowest = lost
                    .iter()
                    .map(|(score, _)| *score)
                    .fold(f64::INFINITY, f64::min);
                pipe.cmd("ZADD")
                    .arg(format!("{prefix}ready"))
                    .arg("LT")
                    .arg(lowest)
                    .arg(*p)
                    .ignore();
            }
            pipe.query::<()>(connection)
        })?;
        log::info!(
            "cluster: {count} URLs claimed just as the connection to Redis broke are queued again"
        );
        Ok(())
    }

    /// Marks partitions to give up: `extra_active` of those with URLs
    /// waiting, and idle ones up to `extra` in all; the ones with the
    /// fewest URLs in flight first (they are released when none is left).
    fn choose_releases(&mut self, extra: usize, extra_active: usize, active: &BTreeSet<u16>) {
        let releasing_active = self.releasing.intersection(active).count();
        let pick = |wanted: usize, from_active: bool, this: &mut Self| {
            let mut load: Vec<(usize, u16)> = this
                .owned
                .iter()
                .filter(|p| !this.releasing.contains(p) && active.contains(p) == from_active)
                .map(|p| {
                    let busy = this
                        .in_flight
                        .values()
                        .filter(|flight| flight.partition == *p)
                        .count();
                    (busy, *p)
                })
                .collect();
            load.sort_unstable();
            this.releasing
                .extend(load.into_iter().take(wanted).map(|(_, p)| p));
        };
        pick(extra_active.saturating_sub(releasing_active), true, self);
        pick(extra.saturating_sub(self.releasing.len()), false, self);
    }
}
