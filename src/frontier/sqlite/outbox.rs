//! The outbox in SQLite: the `outbox` table, rows taken under a lease
//! (their due time moved on) and deleted once settled.

use std::time::{Duration, SystemTime};

use rusqlite::{OptionalExtension as _, params};

use super::SqliteFrontier;
use crate::frontier::{
    Outbox, OutboxStatus, Queued, Settlement, StoreError, from_unix_ms, unix_ms,
};

impl Outbox for SqliteFrontier {
    fn take_notices(
        &mut self,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Queued>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let hidden_until = unix_ms(now + lease);
        let path = self.path.clone();
        let taken = self.in_transaction(|_, transaction| {
            let mut select = transaction.prepare_cached(
                "SELECT id, notice, created_at, attempts FROM outbox WHERE due_at <= ?1
                 ORDER BY due_at, seq LIMIT ?2",
            )?;
            let rows = select.query_map(params![unix_ms(now), limit], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, u32>(3)?,
                ))
            })?;
            let rows: Vec<_> = rows.collect::<rusqlite::Result<_>>()?;
            let mut hide =
                transaction.prepare_cached("UPDATE outbox SET due_at = ?2, leased = 1 WHERE id = ?1")?;
            let mut taken = Vec::with_capacity(rows.len());
            for (id, json, created_at, attempts) in rows {
                hide.execute(params![id, hidden_until])?;
                match serde_json::from_str(&json) {
                    Ok(notice) => taken.push(Queued {
                        notice,
                        created_at: from_unix_ms(created_at),
                        attempts,
                    }),
                    Err(err) => {
                        log::error!(
                            "state file `{}`: notification {id} in the outbox does not parse ({err}); dropped",
                            path.display()
                        );
                        transaction
                            .prepare_cached("DELETE FROM outbox WHERE id = ?1")?
                            .execute([&id])?;
                    }
                }
            }
            Ok(taken)
        });
        taken.map_err(self.fail())
    }

    fn settle_notices(&mut self, settled: &[(String, Settlement)]) -> Result<(), StoreError> {
        if settled.is_empty() {
            return Ok(());
        }
        let written = self.in_transaction(|_, transaction| {
            let mut delete = transaction.prepare_cached("DELETE FROM outbox WHERE id = ?1")?;
            let mut retry = transaction.prepare_cached(
                "UPDATE outbox SET due_at = ?2, attempts = attempts + 1, leased = 0 WHERE id = ?1",
            )?;
            let mut deleted = 0;
            for (id, settlement) in settled {
                match settlement {
                    Settlement::Done => deleted += delete.execute([id])? as u64,
                    Settlement::RetryAt(at) => _ = retry.execute(params![id, unix_ms(*at)])?,
                }
            }
            Ok(deleted)
        });
        let deleted = written.map_err(self.fail())?;
        if let Some(depth) = &mut self.outbox_depth {
            *depth = depth.saturating_sub(deleted);
        }
        Ok(())
    }

    fn outbox_status(&mut self) -> Result<OutboxStatus, StoreError> {
        status(self)
    }

    fn outbox_refused(&self) -> u64 {
        self.outbox_refused
    }
}

/// How many notifications wait (counted, unless this process keeps the
/// count), and since when (the first queued is the oldest).
pub(super) fn status(store: &SqliteFrontier) -> Result<OutboxStatus, StoreError> {
    let oldest: Option<i64> = store
        .connection
        .query_row(
            "SELECT created_at FROM outbox ORDER BY seq LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()
        .map_err(store.fail())?;
    let depth = match store.outbox_depth {
        Some(depth) => depth,
        None => store
            .connection
            .query_row("SELECT COUNT(*) FROM outbox", [], |row| {
                row.get::<_, i64>(0)
            })
            .map_err(store.fail())?
            .try_into()
            .unwrap_or_default(),
    };
    Ok(OutboxStatus {
        depth,
        oldest: oldest.map(from_unix_ms),
    })
}
