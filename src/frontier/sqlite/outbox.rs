//! The outbox in SQLite: the `outbox` table, rows taken under a lease
//! (their due time moved on) and deleted once settled.

use std::time::{Duration, SystemTime};

use rusqlite::params;

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
                 ORDER BY due_at, created_at LIMIT ?2",
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

    fn settle_notice(&mut self, id: &str, settlement: Settlement) -> Result<(), StoreError> {
        let written = match settlement {
            Settlement::Done => self
                .connection
                .prepare_cached("DELETE FROM outbox WHERE id = ?1")
                .and_then(|mut delete| delete.execute([id])),
            Settlement::RetryAt(at) => self
                .connection
                .prepare_cached(
                    "UPDATE outbox SET due_at = ?2, attempts = attempts + 1, leased = 0 WHERE id = ?1",
                )
                .and_then(|mut update| update.execute(params![id, unix_ms(at)])),
        };
        written.map(drop).map_err(self.fail())
    }

    fn outbox_status(&mut self) -> Result<OutboxStatus, StoreError> {
        status(self)
    }

    fn outbox_refused(&self) -> u64 {
        self.outbox_refused
    }
}

/// How many notifications wait, and since when.
pub(super) fn status(store: &SqliteFrontier) -> Result<OutboxStatus, StoreError> {
    let (depth, oldest): (i64, Option<i64>) = store
        .connection
        .query_row("SELECT COUNT(*), MIN(created_at) FROM outbox", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .map_err(store.fail())?;
    Ok(OutboxStatus {
        depth: u64::try_from(depth).unwrap_or_default(),
        oldest: oldest.map(from_unix_ms),
    })
}
