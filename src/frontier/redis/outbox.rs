//! The outbox in Redis, shared by the cluster: the commit script queues a
//! notification once per id; any node takes it under a lease, so one that
//! dies holding it lets another deliver it.

use std::time::{Duration, SystemTime};

use super::{RedisFrontier, scripts};
use crate::frontier::{
    Outbox, OutboxStatus, Queued, Settlement, StoreError, from_unix_ms, unix_ms,
};

impl Outbox for RedisFrontier {
    fn take_notices(
        &mut self,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<Queued>, StoreError> {
        let mut invocation = scripts::TAKE_NOTICES.prepare_invoke();
        invocation
            .arg(&self.prefix)
            .arg(unix_ms(now))
            .arg(unix_ms(now + lease))
            .arg(limit)
            .arg(&self.taker)
            .arg(&self.settings.node);
        let flat: Vec<String> = self.link.run(|connection| invocation.invoke(connection))?;
        let mut taken = Vec::with_capacity(flat.len() / 4);
        for item in flat.chunks_exact(4) {
            match serde_json::from_str(&item[1]) {
                Ok(notice) => taken.push(Queued {
                    notice,
                    created_at: from_unix_ms(item[2].parse::<f64>().unwrap_or_default() as i64),
                    attempts: item[3].parse().unwrap_or_default(),
                }),
                Err(err) => {
                    log::error!(
                        "cluster: notification {} in the outbox does not parse ({err}); dropped",
                        item[0]
                    );
                    self.settle_notices(&[(item[0].clone(), Settlement::Done)])?;
                }
            }
        }
        Ok(taken)
    }

    fn settle_notices(&mut self, settled: &[(String, Settlement)]) -> Result<(), StoreError> {
        if settled.is_empty() {
            return Ok(());
        }
        let mut invocation = scripts::SETTLE_NOTICES.prepare_invoke();
        invocation.arg(&self.prefix);
        for (id, settlement) in settled {
            let at = match settlement {
                Settlement::Done => String::new(),
                Settlement::RetryAt(at) => unix_ms(*at).to_string(),
            };
            invocation.arg(id).arg(at);
        }
        self.link
            .run(|connection| invocation.invoke::<i64>(connection))
            .map(drop)
    }

    fn outbox_status(&mut self) -> Result<OutboxStatus, StoreError> {
        let key = format!("{}outbox:age", self.prefix);
        let (depth, oldest): (u64, Vec<(String, f64)>) = self.link.run(|connection| {
            redis::pipe()
                .zcard(&key)
                .zrange_withscores(&key, 0, 0)
                .query(connection)
        })?;
        Ok(OutboxStatus {
            depth,
            oldest: oldest.first().map(|(_, at)| from_unix_ms(*at as i64)),
        })
    }

    fn outbox_refused(&self) -> u64 {
        self.outbox_refused
    }
}
