//! Seeds and rounds in SQLite: listings, sitemaps, `--once` runs, and the
//! rounds of seeds whose descendants are all fetched.

use std::time::SystemTime;

use rusqlite::params;
use url::Url;

use super::batch::CLAIM_COLUMNS;
use super::schedule::jitter_bound;
use super::{
    META_GENERATION, META_ROUND, META_ROUND_DONE, META_SEEDS_DIGEST, SqliteFrontier, links, open,
};
use crate::frontier::{Claim, Round, Rounds, SeedChanges, Seeds, StoreError, unix_ms};

impl Seeds for SqliteFrontier {
    fn begin_seeds(&mut self) -> Result<u64, StoreError> {
        self.forget_meta(META_SEEDS_DIGEST)?;
        self.listed_before = self.active_seeds()?;
        let generation = self.meta(META_GENERATION)?.unwrap_or(0) + 1;
        self.set_meta(META_GENERATION, generation)?;
        Ok(u64::try_from(generation).unwrap_or(0))
    }

    fn listed_digest(&mut self) -> Result<Option<u64>, StoreError> {
        // Kept as the INTEGER with the same bits.
        Ok(self.meta(META_SEEDS_DIGEST)?.map(|digest| digest as u64))
    }

    fn set_listed_digest(&mut self, digest: u64) -> Result<(), StoreError> {
        self.set_meta(META_SEEDS_DIGEST, digest as i64)
    }

    fn add_seeds(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.list(urls, generation, now)
    }

    fn end_seeds(&mut self, generation: u64) -> Result<SeedChanges, StoreError> {
        let generation = i64::try_from(generation).unwrap_or(i64::MAX);
        let listed_after = self.active_seeds()?;
        let removed = self
            .connection
            .execute(
                "UPDATE urls SET is_active = 0, due_at = NULL
                 WHERE origin = 'seed' AND is_active = 1 AND seed_generation < ?1",
                [generation],
            )
            .map_err(self.fail())?;
        if removed > 0 {
            // What a removed seed's round still had to fetch is dropped with it.
            let dropped = self
                .connection
                .execute(
                    "UPDATE urls SET due_at = NULL
                     WHERE origin = 'discovered' AND claimed_at IS NULL AND due_at IS NOT NULL
                       AND root IN (SELECT id FROM urls WHERE origin = 'seed' AND is_active = 0)",
                    [],
                )
                .map_err(self.fail())?;
            if dropped > 0 {
                log::info!("{dropped} discovered URLs of removed seeds are no longer due");
            }
        }
        Ok(SeedChanges {
            added: listed_after.saturating_sub(self.listed_before),
            removed,
        })
    }

    fn add_sitemap(
        &mut self,
        seed: &Url,
        sitemap: &str,
        urls: &[String],
        is_from_public: bool,
    ) -> Result<u64, StoreError> {
        self.add_sitemap_entries(seed, sitemap, urls, is_from_public)
            .map_err(|err| open::classify(&self.path, &err))
    }
}

impl Rounds for SqliteFrontier {
    fn begin_round(&mut self) -> Result<Round, StoreError> {
        let last = self.meta(META_ROUND)?.unwrap_or(0);
        let is_done = self.meta(META_ROUND_DONE)?.unwrap_or(1) != 0;
        let (number, is_resumed) = if last == 0 || is_done {
            (last + 1, false)
        } else {
            (last, true)
        };
        self.set_meta(META_ROUND, number)?;
        self.set_meta(META_ROUND_DONE, 0)?;
        let recorded = self.count(
            "SELECT COUNT(*) FROM urls WHERE origin = 'seed' AND is_active = 1 AND once_round >= ?1",
            &[&number],
        )?;
        let discovered_due = if is_resumed {
            self.count(
                "SELECT COUNT(*) FROM urls WHERE origin = 'discovered' AND is_active = 1 AND due_at IS NOT NULL",
                &[],
            )?
        } else {
            0
        };
        self.round = Some(u64::try_from(number).unwrap_or(0));
        Ok(Round {
            number: u64::try_from(number).unwrap_or(0),
            is_resumed,
            recorded,
            discovered_due,
        })
    }

    fn list_and_claim(
        &mut self,
        urls: &[Url],
        generation: u64,
        now: SystemTime,
    ) -> Result<Vec<Claim>, StoreError> {
        self.list_claiming(urls, generation, now)
    }

    fn claim_discovered(
        &mut self,
        now: SystemTime,
        limit: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        let asked = i64::try_from(limit + self.unwritten.len()).unwrap_or(i64::MAX);
        let rows = self.claim_rows(
            &format!(
                "SELECT {CLAIM_COLUMNS} WHERE u.due_at <= ?1 AND u.origin = 'discovered'
                 ORDER BY u.due_at LIMIT ?2"
            ),
            params![links::DISCOVERED_DUE_MAX, asked],
        )?;
        Ok(self.take_claims(rows, now, limit))
    }

    fn end_round(&mut self) -> Result<(), StoreError> {
        self.set_meta(META_ROUND_DONE, 1)?;
        self.round = None;
        Ok(())
    }

    fn close_rounds(&mut self, now: SystemTime) -> Result<usize, StoreError> {
        if self.interval.is_zero() || self.round.is_some() || !self.has_open_rounds {
            return Ok(0);
        }
        let interval = i64::try_from(self.interval.as_millis()).unwrap_or(i64::MAX);
        let spread = i64::try_from(jitter_bound(self.interval).as_millis())
            .unwrap_or(1)
            .max(1);
        self.connection
            .execute(links::CLOSE_ROUNDS, params![unix_ms(now), interval, spread])
            .map_err(self.fail())
    }
}
