//! When each seed is due: the recrawl schedule of the service mode.
//!
//! A seed is due again `recrawl_interval` after its last fetch finished, plus a
//! little jitter so that seeds crawled together drift apart. After a restart,
//! each seed keeps the time left on its interval (from the state file), and
//! overdue seeds are spread over a short window instead of firing at once.
//! This module is pure bookkeeping; the daemon drives it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant, SystemTime};

use url::Url;

/// The most jitter added to a due time.
const MAX_JITTER: Duration = Duration::from_secs(300);

/// What a new seed list changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedChanges {
    /// Seeds that were not scheduled before.
    pub added: usize,
    /// Seeds no longer listed (an in-flight fetch still finishes).
    pub removed: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// When the seed is next due; `None` while in flight or when not recrawled.
    due: Option<Instant>,
    is_in_flight: bool,
}

/// Due times of every seed.
#[derive(Debug)]
pub struct Schedule {
    interval: Duration,
    entries: HashMap<Url, Entry>,
    /// Min-heap of (due, url); entries whose due no longer matches are stale and skipped.
    heap: BinaryHeap<Reverse<(Instant, Url)>>,
}

impl Schedule {
    /// An empty schedule with the given recrawl interval (`0s`: no recrawl).
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            entries: HashMap::new(),
            heap: BinaryHeap::new(),
        }
    }

    /// How many seeds are scheduled.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no seed is scheduled.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Replaces the seed list: new seeds are due at once (or, when the state file
    /// knows them, when their interval since `last_fetched` ends), removed ones
    /// are dropped.
    pub fn set_seeds(
        &mut self,
        seeds: &[Url],
        now: Instant,
        last_fetched: impl Fn(&Url) -> Option<SystemTime>,
    ) -> SeedChanges {
        let mut changes = SeedChanges::default();
        let listed: std::collections::HashSet<&Url> = seeds.iter().collect();
        let before = self.entries.len();
        self.entries.retain(|url, _| listed.contains(url));
        changes.removed = before - self.entries.len();
        for url in seeds {
            if self.entries.contains_key(url) {
                continue;
            }
            changes.added += 1;
            let due = self.first_due(now, last_fetched(url));
            self.set_due(url.clone(), due);
        }
        changes
    }

    /// Makes every idle seed due now: `recrawl_interval = "0s"` crawls once per reload.
    pub fn make_all_due(&mut self, now: Instant) {
        let idle: Vec<Url> = self
            .entries
            .iter()
            .filter(|(_, entry)| !entry.is_in_flight)
            .map(|(url, _)| url.clone())
            .collect();
        for url in idle {
            self.set_due(url, now);
        }
    }

    /// Changes the interval; seeds due later than one new interval from now are pulled in.
    pub fn set_interval(&mut self, interval: Duration, now: Instant) {
        self.interval = interval;
        if interval.is_zero() {
            return;
        }
        let latest = now + interval;
        let late: Vec<Url> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.due.is_some_and(|due| due > latest))
            .map(|(url, _)| url.clone())
            .collect();
        for url in late {
            let due = now + jitter(interval);
            self.set_due(url, due);
        }
    }

    /// The earliest due time, if any seed is waiting.
    pub fn next_due(&mut self) -> Option<Instant> {
        self.drop_stale();
        self.heap.peek().map(|Reverse((due, _))| *due)
    }

    /// Takes the next seed due at or before `now` and marks it in flight.
    pub fn pop_due(&mut self, now: Instant) -> Option<Url> {
        self.drop_stale();
        let Reverse((due, _)) = self.heap.peek()?;
        if *due > now {
            return None;
        }
        let Reverse((_, url)) = self.heap.pop()?;
        if let Some(entry) = self.entries.get_mut(&url) {
            entry.due = None;
            entry.is_in_flight = true;
        }
        Some(url)
    }

    /// Puts back a seed that was popped but could not be queued.
    pub fn put_back(&mut self, url: Url, now: Instant) {
        if self.entries.contains_key(&url) {
            self.set_due(url, now);
        }
    }

    /// Records that a fetch of `url` finished; schedules its next one.
    pub fn finished(&mut self, url: &Url, now: Instant) {
        let Some(entry) = self.entries.get_mut(url) else {
            return; // removed while in flight
        };
        entry.is_in_flight = false;
        if !self.interval.is_zero() {
            let due = now + self.interval + jitter(self.interval);
            self.set_due(url.clone(), due);
        }
    }

    fn first_due(&self, now: Instant, last_fetched: Option<SystemTime>) -> Instant {
        if self.interval.is_zero() {
            return now;
        }
        let Some(last_fetched) = last_fetched else {
            return now; // never crawled: at once
        };
        match SystemTime::now().duration_since(last_fetched) {
            Ok(elapsed) if elapsed < self.interval => now + (self.interval - elapsed),
            // Overdue after a restart: soon, spread over the jitter window.
            _ => now + jitter(self.interval),
        }
    }

    fn set_due(&mut self, url: Url, due: Instant) {
        self.entries.insert(
            url.clone(),
            Entry {
                due: Some(due),
                is_in_flight: false,
            },
        );
        self.heap.push(Reverse((due, url)));
    }

    fn drop_stale(&mut self) {
        while let Some(Reverse((due, url))) = self.heap.peek() {
            let is_current = self
                .entries
                .get(url)
                .is_some_and(|entry| entry.due == Some(*due));
            if is_current {
                return;
            }
            self.heap.pop();
        }
    }
}

/// Up to a tenth of the interval (at most [`MAX_JITTER`]), at random.
fn jitter(interval: Duration) -> Duration {
    (interval / 10).min(MAX_JITTER).mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(path: &str) -> Url {
        Url::parse(&format!("http://127.0.0.1{path}")).unwrap()
    }

    fn never(_: &Url) -> Option<SystemTime> {
        None
    }

    #[test]
    fn new_seeds_are_due_soon_and_recrawled_after_the_interval() {
        let interval = Duration::from_secs(100);
        let mut schedule = Schedule::new(interval);
        let start = Instant::now();
        schedule.set_seeds(&[url("/a")], start, never);
        let later = start + interval;
        assert_eq!(schedule.pop_due(later), Some(url("/a")));
        assert_eq!(schedule.pop_due(later), None, "in flight: not due twice");
        schedule.finished(&url("/a"), later);
        let next = schedule.next_due().unwrap();
        assert!(next >= later + interval && next <= later + interval + interval / 10);
    }

    #[test]
    fn removed_seeds_are_never_due_again() {
        let mut schedule = Schedule::new(Duration::from_secs(1));
        let now = Instant::now();
        schedule.set_seeds(&[url("/a"), url("/b")], now, never);
        let changes = schedule.set_seeds(&[url("/b"), url("/c")], now, never);
        assert_eq!(
            changes,
            SeedChanges {
                added: 1,
                removed: 1
            }
        );
        let far = now + Duration::from_secs(10);
        let mut due = Vec::new();
        while let Some(url) = schedule.pop_due(far) {
            due.push(url);
        }
        due.sort();
        assert_eq!(due, vec![url("/b"), url("/c")]);
        schedule.finished(&url("/a"), far);
        assert_eq!(schedule.len(), 2, "a finished removed seed stays removed");
    }

    #[test]
    fn zero_interval_crawls_once_until_made_due() {
        let mut schedule = Schedule::new(Duration::ZERO);
        let now = Instant::now();
        schedule.set_seeds(&[url("/a")], now, never);
        assert_eq!(schedule.pop_due(now), Some(url("/a")));
        schedule.finished(&url("/a"), now);
        assert_eq!(schedule.next_due(), None);
        schedule.make_all_due(now);
        assert_eq!(schedule.pop_due(now), Some(url("/a")));
    }

    #[test]
    fn a_restart_keeps_the_time_left_on_the_interval() {
        let interval = Duration::from_secs(3600);
        let mut schedule = Schedule::new(interval);
        let now = Instant::now();
        let ten_minutes_ago = SystemTime::now() - Duration::from_secs(600);
        schedule.set_seeds(&[url("/a")], now, |_| Some(ten_minutes_ago));
        let due = schedule.next_due().unwrap();
        assert!(due > now + Duration::from_secs(2900) && due <= now + Duration::from_secs(3000));
    }

    #[test]
    fn a_shorter_interval_pulls_far_seeds_in() {
        let mut schedule = Schedule::new(Duration::from_secs(3600));
        let now = Instant::now();
        schedule.set_seeds(&[url("/a")], now, |_| Some(SystemTime::now()));
        schedule.set_interval(Duration::from_secs(10), now);
        assert!(schedule.next_due().unwrap() <= now + Duration::from_secs(1));
    }
}
