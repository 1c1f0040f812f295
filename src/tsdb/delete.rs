//! Deleting samples through the admin API: the ranges are logged in the WAL (synced), removed
//! from head chunks and from the database; series left without samples go away. Replay of a
//! delete record re-applies it to the database through the same helpers.
//!
//! Uses the store core (`super`), `model`, `storage`.

use std::collections::HashSet;

use tracing::info;

use super::{Db, WalState};
use crate::model::Matcher;
use crate::storage::StorageError;

impl Db {
    /// Deletes the samples in [mint, maxt] of every series matching `matchers` (the admin
    /// API's `delete_series`): logged in the WAL and synced, removed from head chunks and from
    /// the database, effective for queries at once. Series left without samples go away.
    /// Returns the number of series that had samples in the range.
    pub fn delete(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<usize, StorageError> {
        let inner = &*self.inner;
        let _guard = inner.flush_lock.lock();
        let mut w = inner.wal.lock();
        let mut ranges: Vec<(u64, i64, i64)> = Vec::new();
        let mut freed = 0usize;
        for id in inner.head.postings(matchers) {
            let Some(s) = inner.head.get(id) else {
                continue;
            };
            let mut d = s.data.lock();
            if d.last_t == i64::MIN || d.last_t < mint || d.min_t > maxt {
                continue;
            }
            // Ending at the newest sample keeps a replayed record from touching later ones.
            let end = maxt.min(d.last_t);
            ranges.push((id, mint, end));
            freed += d.delete_range(mint, end).1;
        }
        if ranges.is_empty() {
            return Ok(0);
        }
        let WalState { wal, enc } = &mut *w;
        enc.clear();
        enc.deletes(&ranges);
        let written = wal.write(&enc.buf);
        enc.clear();
        written?;
        wal.sync()?;
        self.forget_sealed(freed as u64);
        self.delete_persisted(&ranges)?;
        self.drop_empty(ranges.iter().map(|r| r.0))?;
        drop(w);
        info!(series = ranges.len(), mint, maxt, "deleted samples");
        Ok(ranges.len())
    }

    /// Removes `ranges` from the database and updates the series' persisted time ranges.
    /// Callers hold the flush lock.
    pub(super) fn delete_persisted(&self, ranges: &[(u64, i64, i64)]) -> Result<(), StorageError> {
        let inner = &*self.inner;
        let touched: Vec<(u64, i64, i64)> = ranges
            .iter()
            .copied()
            .filter(|&(id, mint, maxt)| {
                inner.head.get(id).is_some_and(|s| {
                    let d = s.data.lock();
                    d.persisted_min_t <= maxt && d.persisted_max_t >= mint
                })
            })
            .collect();
        if touched.is_empty() {
            return Ok(());
        }
        for (id, left) in inner.persist.delete_ranges(&touched)? {
            if let Some(s) = inner.head.get(id) {
                let mut d = s.data.lock();
                (d.persisted_min_t, d.persisted_max_t) = left.unwrap_or((i64::MAX, i64::MIN));
            }
        }
        Ok(())
    }

    /// Drops the series among `ids` that have no samples left anywhere, from the head and the
    /// database, and recomputes the oldest time of the others. Callers hold the flush lock and
    /// the WAL lock (so no append can pick up a series as it goes).
    pub(super) fn drop_empty(&self, ids: impl Iterator<Item = u64>) -> Result<(), StorageError> {
        let inner = &*self.inner;
        let mut gone = HashSet::new();
        for id in ids {
            let Some(s) = inner.head.get(id) else {
                continue;
            };
            let mut d = s.data.lock();
            let persisted = (d.persisted_min_t <= d.persisted_max_t).then_some(d.persisted_min_t);
            match (d.head_min_t(), persisted) {
                (None, None) => {
                    gone.insert(id);
                }
                (a, b) => d.min_t = a.unwrap_or(i64::MAX).min(b.unwrap_or(i64::MAX)),
            }
        }
        if !gone.is_empty() {
            let list: Vec<u64> = gone.iter().copied().collect();
            inner.persist.delete_series(&list)?;
            inner.head.remove(&gone);
        }
        Ok(())
    }
}
