//! Seeds and runs on Redis: listings, sitemaps, and the `--once` runs the
//! nodes start or join.

use std::collections::HashMap;
use std::time::SystemTime;

use redis::Commands as _;
use url::Url;

use super::{RedisFrontier, scripts, state};
use crate::frontier::{Claim, Membership, Round, Rounds, SeedChanges, Seeds, StoreError};

/// The `meta` field that keeps the digest of the last whole listing.
const SEEDS_DIGEST: &str = "seeds_digest";

impl Seeds for RedisFrontier {
    fn begin_seeds(&mut self) -> Result<u64, StoreError> {
        self.listed_added = 0;
        let key = self.key("meta");
        // Forgotten first: a listing cut short after this leaves none.
        self.link
            .run(|connection| connection.hdel::<_, _, ()>(&key, SEEDS_DIGEST))?;
        self.link
            .run(|connection| connection.hincr::<_, _, _, u64>(key, "generation", 1))
    }

    fn listed_digest(&mut self) -> Result<Option<u64>, StoreError> {
        let key = self.key("meta");
        self.link
            .run(|connection| connection.hget(key, SEEDS_DIGEST))
    }

    fn set_listed_digest(&mut self, digest: u64) -> Result<(), StoreError> {
        let key = self.key("meta");
        self.link
            .run(|connection| connection.hset::<_, _, _, ()>(key, SEEDS_DIGEST, digest))
    }

    fn add_seeds(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.list(urls, generation, now).map(drop)
    }

    fn end_seeds(&mut self, generation: u64) -> Result<SeedChanges, StoreError> {
        let added = std::mem::take(&mut self.listed_added);
        if generation == 0 {
            return Ok(SeedChanges { added, removed: 0 });
        }
        let key = self.key("seeds");
        let listed: HashMap<String, u64> = self.link.run(|connection| connection.hgetall(key))?;
        let removed: Vec<String> = listed
            .into_iter()
            .filter(|(_, listing)| *listing < generation)
            .map(|(url, _)| url)
            .collect();
        if !removed.is_empty() {
            self.retire(&removed)?;
        }
        Ok(SeedChanges {
            added,
            removed: removed.len(),
        })
    }

    fn add_sitemap(
        &mut self,
        seed: &Url,
        sitemap: &str,
        urls: &[String],
        is_from_public: bool,
    ) -> Result<u64, StoreError> {
        let seen = self.seen_key();
        let links = state::links_of(urls, |_| false);
        let batch = state::Batch {
            groups: vec![state::Group {
                d: 1,
                s: seed.as_str(),
                f: sitemap,
                p: is_from_public,
                links,
            }],
            ..self.new_batch(&seen)
        };
        let (queued, over, _, _) = self.run_commit(&batch)?;
        self.discovered += queued;
        self.over_limit += over;
        Ok(queued)
    }
}

impl Rounds for RedisFrontier {
    fn begin_round(&mut self) -> Result<Round, StoreError> {
        let mut invocation = scripts::BEGIN_ROUND.prepare_invoke();
        invocation.arg(&self.prefix);
        let (number, joined): (u64, u8) =
            self.link.run(|connection| invocation.invoke(connection))?;
        self.round = number;
        self.seen_here.clear();
        Ok(Round {
            number,
            is_resumed: joined == 1,
            recorded: 0,
            discovered_due: 0,
        })
    }

    fn list_and_claim(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<Vec<Claim>, StoreError> {
        // Seeds go to the shared queue; this node claims from its own
        // partitions only (its hosts), whoever listed them.
        self.list(urls, generation, now)?;
        self.claim(now, urls.len().max(1))
    }

    fn claim_discovered(
        &mut self,
        now: SystemTime,
        limit: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        // A `--once` run takes whatever waits in its partitions: seeds
        // listed by other nodes too.
        self.claim(now, limit)
    }

    fn end_round(&mut self) -> Result<(), StoreError> {
        if self.is_idle(SystemTime::now())? {
            self.set_meta("round_done", 1)?;
        }
        self.round = 0;
        self.seen_here.clear();
        Ok(())
    }

    fn close_rounds(&mut self, _now: SystemTime) -> Result<usize, StoreError> {
        // Every URL is due again on its own schedule (see `commit`).
        Ok(0)
    }
}
