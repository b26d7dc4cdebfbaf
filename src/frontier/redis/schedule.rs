//! The schedule on Redis: claims from this node's partitions, batched
//! commits, and due times moved for the whole crawl.

use std::time::{Duration, SystemTime};

use redis::Commands as _;
use url::Url;

use super::scripts;
use super::state::{self, Flight, Outlinks};
use super::{HEARTBEAT, MAX_SEEN_HERE, RedisFrontier, SeenHere, fingerprint, partition_of};
use crate::frontier::{
    Claim, Details, Outcome, Reschedule, Schedule, StoreError, encode_outlinks, unix_ms,
};

impl Schedule for RedisFrontier {
    fn set_interval(&mut self, interval: Duration) {
        self.settings.interval = interval;
    }

    fn set_max_pages_per_host(&mut self, limit: u64) {
        if limit != self.max_pages_per_host {
            // Links skipped at the old limit may be taken now.
            self.seen_here.clear();
        }
        self.max_pages_per_host = limit;
    }

    fn claim_due(&mut self, now: SystemTime, limit: usize) -> Result<Vec<Claim>, StoreError> {
        self.claim(now, limit)
    }

    fn next_due(&mut self) -> Result<Option<SystemTime>, StoreError> {
        let key = self.key("ready");
        let ready: Vec<(u16, f64)> = self
            .link
            .run(|connection| connection.zrange_withscores(key, 0, -1))?;
        let earliest = ready
            .into_iter()
            .filter(|(p, _)| self.owned.contains(p) && !self.releasing.contains(p))
            .map(|(_, score)| score)
            .fold(None, |low: Option<f64>, score| {
                Some(low.map_or(score, |low| low.min(score)))
            });
        // Partitions may change hands: look again within a heartbeat or so.
        let soon = SystemTime::now() + HEARTBEAT;
        Ok(Some(earliest.map_or(soon, |score| {
            crate::frontier::from_unix_ms(score as i64).min(soon)
        })))
    }

    fn commit(&mut self, outcomes: &[Outcome]) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let seen = self.seen_key();
        // Fingerprints in this batch: each link once.
        let mut sent = SeenHere::default();
        let mut blobs = Vec::new();
        let (done, mark, linked) = self.commit_parts(outcomes, &mut sent, &mut blobs);
        let lineages: Vec<(u32, String)> = linked
            .iter()
            .map(|(outcome, _)| self.lineage_of(&outcome.url))
            .collect();
        let batch = state::Batch {
            done,
            mark,
            groups: groups(linked, &lineages),
            blobs,
            ..self.new_batch(&seen)
        };
        // Finished URLs leave the in-flight count the script records.
        let finished: Vec<(String, Flight)> = outcomes
            .iter()
            .filter_map(|outcome| self.in_flight.remove_entry(&outcome.url))
            .collect();
        match self.run_commit(&batch) {
            Ok((queued, over, refused, stale)) => {
                self.discovered += queued;
                self.over_limit += over;
                self.outbox_refused += refused;
                self.remember_seen(sent);
                if stale > 0 {
                    log::warn!(
                        "cluster: {stale} results not committed: their hosts were taken over by \
                         another node while this one did not renew its lease (paused, or cut off \
                         from Redis for over {}); that node fetches them again",
                        humantime::format_duration(self.settings.lease)
                    );
                }
                Ok(())
            }
            Err(err) => {
                self.in_flight.extend(finished);
                Err(err)
            }
        }
    }

    fn has_unwritten_claims(&self) -> bool {
        false
    }

    fn reschedule(&mut self, how: Reschedule, now: SystemTime) -> Result<(), StoreError> {
        let now_ms = unix_ms(now) as f64;
        let interval = self.settings.interval.as_millis() as f64;
        let moves = match how {
            Reschedule::Start => return Ok(()),
            Reschedule::AllDue => self.due_in(now_ms, f64::INFINITY)?,
            Reschedule::Interval if interval > 0.0 => {
                self.due_in(now_ms + interval, f64::INFINITY)?
            }
            Reschedule::Interval => return Ok(()),
        };
        let spread = (interval / 10.0).clamp(1.0, 300_000.0);
        let prefix = self.prefix.clone();
        self.link.run(|connection| {
            let mut pipe = redis::pipe();
            for (p, items) in &moves {
                if items.is_empty() {
                    continue;
                }
                let scored: Vec<(f64, &str)> = items
                    .iter()
                    .map(|(url, _)| {
                        let jitter = if how == Reschedule::AllDue {
                            0.0
                        } else {
                            fastrand::f64() * spread
                        };
                        (now_ms + jitter, url.as_str())
                    })
                    .collect();
                pipe.zadd_multiple(format!("{prefix}due:{p}"), &scored)
                    .ignore();
                pipe.cmd("ZADD")
                    .arg(format!("{prefix}ready"))
                    .arg("LT")
                    .arg(now_ms)
                    .arg(*p)
                    .ignore();
            }
            if pipe.is_empty() {
                return Ok(());
            }
            pipe.query::<()>(connection)
        })
    }

    fn release_claims(&mut self, now: SystemTime) -> Result<usize, StoreError> {
        if self.last_beat.is_none() && self.in_flight.is_empty() {
            return Ok(0);
        }
        let items: Vec<(u16, &str, f64, u64)> = self
            .in_flight
            .iter()
            .map(|(url, flight)| (flight.partition, url.as_str(), flight.score, flight.epoch))
            .collect();
        let json = serde_json::to_string(&items).unwrap_or_else(|_| "[]".to_owned());
        let mut invocation = scripts::RELEASE.prepare_invoke();
        invocation
            .arg(&self.prefix)
            .arg(&self.settings.node)
            .arg(json)
            .arg(unix_ms(now));
        let released: usize = self.link.run(|connection| invocation.invoke(connection))?;
        self.in_flight.clear();
        self.owned.clear();
        self.releasing.clear();
        self.last_beat = None;
        Ok(released)
    }

    fn drop_deeper(&mut self, max_depth: u32) -> Result<usize, StoreError> {
        // A waiting discovered URL's score is its depth.
        let deeper = self.due_in(f64::from(max_depth) + 1.0, f64::from(u32::MAX))?;
        let prefix = self.prefix.clone();
        let mut dropped = 0;
        self.link.run(|connection| {
            let mut pipe = redis::pipe();
            for (p, items) in &deeper {
                if !items.is_empty() {
                    dropped += items.len();
                    let urls: Vec<&str> = items.iter().map(|(url, _)| url.as_str()).collect();
                    pipe.zrem(format!("{prefix}due:{p}"), urls).ignore();
                }
            }
            if pipe.is_empty() {
                return Ok(());
            }
            pipe.query::<()>(connection)
        })?;
        Ok(dropped)
    }

    fn discovered(&self) -> u64 {
        self.discovered
    }

    fn over_limit(&self) -> u64 {
        self.over_limit
    }
}

/// A page's outcome with the links of it to queue.
type Linked<'a> = (&'a Outcome, Vec<state::Link<'a>>);

impl RedisFrontier {
    /// What the commit script takes of `outcomes`: each finished URL, the
    /// fingerprints of redirect targets (fetched in the round), and the
    /// links to queue, each once (`sent` collects their fingerprints) and
    /// none this node knows is seen.
    fn commit_parts<'a>(
        &self,
        outcomes: &'a [Outcome],
        sent: &mut SeenHere,
        blobs: &mut Vec<Vec<u8>>,
    ) -> (Vec<state::Done<'a>>, Vec<String>, Vec<Linked<'a>>) {
        let mut done = Vec::with_capacity(outcomes.len());
        let (mut mark, mut linked) = (Vec::new(), Vec::new());
        for outcome in outcomes {
            let flight = self.in_flight.get(&outcome.url);
            let partition = flight.map_or_else(
                || Url::parse(&outcome.url).map_or(0, |url| partition_of(&url)),
                |flight| flight.partition,
            );
            done.push(state::Done {
                partition,
                url: &outcome.url,
                score: self.next_score(outcome.finished_at),
                page: outcome.page.as_ref().map(state::Page::of),
                outcome: outcome.kind(),
                change: outcome.title_change.as_ref().map(state::Change::of),
                watch: outcome
                    .watch
                    .as_ref()
                    .and_then(|watch| serde_json::to_string(watch).ok()),
                notices: outcome
                    .notices
                    .iter()
                    .filter_map(|notice| {
                        let json = serde_json::to_string(notice).ok()?;
                        Some((notice.id.as_str(), notice.target.as_str(), json))
                    })
                    .collect(),
                rendered: outcome.rendered,
                details: outcome.details.as_ref().map(Details::to_json),
                outlinks: match (&outcome.links, &outcome.anchors) {
                    (Some(links), Some(anchors)) => {
                        blobs.push(encode_outlinks(&outcome.url, links, anchors));
                        Outlinks::Keep(blobs.len())
                    }
                    _ if outcome.error_kind.is_some() => Outlinks::Drop,
                    _ => Outlinks::Unchanged,
                },
                epoch: flight.map(|flight| flight.epoch),
            });
            if let Some(final_url) = &outcome.final_url {
                mark.push(fingerprint(final_url));
                sent.insert(state::fingerprint_value(final_url));
            }
            if let Some(links) = &outcome.links {
                let seen_here = &self.seen_here;
                let links = state::links_of(links, |value| {
                    seen_here.contains(&value) || !sent.insert(value)
                });
                linked.push((outcome, links));
            }
        }
        (done, mark, linked)
    }

    /// Remembers the fingerprints a commit sent as seen (starting afresh
    /// past [`MAX_SEEN_HERE`]).
    fn remember_seen(&mut self, sent: SeenHere) {
        if self.seen_here.len() + sent.len() > MAX_SEEN_HERE {
            self.seen_here.clear();
        }
        self.seen_here.extend(sent);
    }
}

/// The links of each page as the script groups them: one group per page,
/// one level deeper than the page, under the page's seed.
fn groups<'a>(linked: Vec<Linked<'a>>, lineages: &'a [(u32, String)]) -> Vec<state::Group<'a>> {
    linked
        .into_iter()
        .zip(lineages)
        .map(|((outcome, links), (depth, seed))| state::Group {
            d: depth + 1,
            s: seed,
            f: &outcome.url,
            p: outcome.is_from_public,
            links,
        })
        .collect()
}
