//! Compaction of closed 2-hour ranges: every flush writes one row per series per 2h range it
//! has sealed chunks in, so a range ends up with a row per flush (each costing some 60-85 B of
//! table, index and header space beside its samples). Once a series' range is closed — its
//! newest sample lies past the range (appends must be newer than the newest sample, so
//! nothing can land in the range again) and its head holds no unflushed chunk of the range —
//! `Persist::merge_range` turns its rows there into one, in one transaction per batch.
//!
//! The background upkeep runs [`Db::compact_closed_ranges`] after each flush. At shutdown
//! ([`Db::compact_at_close`], under the ingest lock) every pending range is merged whether
//! closed or not, and a series' open-chunk snapshot joins the sealed rows of its range when it
//! has some: the snapshot's samples then live in a sealed row, the open chunk leaves the head,
//! and the next start has nothing of it to reopen. A series with only a snapshot in its range
//! keeps it (a snapshot row is cheaper than a sealed row with its two index entries); the
//! snapshot table is rewritten densely when flushes left it sparse.
//!
//! Queries stay exact throughout: readers read the head first and then one database snapshot,
//! a merge replaces rows by rows holding the same samples in one transaction, and a folded
//! open chunk leaves the head only after its row is committed (a query between the two sees
//! those samples twice, which the read path deduplicates, never a hole).
//!
//! Uses the store core (`super`), `head` (via the series' data), `persist`, `chunkenc`.

use std::sync::atomic::Ordering;

use tracing::debug;

use super::chunkenc::CHUNK_RANGE_MS;
use super::persist::{MergeReport, RangeSeries};
use super::Db;
use crate::storage::StorageError;

/// Series merged per transaction: bounds how long the flush lock (and, at shutdown, the
/// ingest lock) is held at a time and the size of one write transaction.
const BATCH: usize = 512;

/// What a compaction pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CompactStats {
    pub ranges: usize,
    pub rows_removed: usize,
    pub rows_written: usize,
    pub samples: usize,
    /// Open-chunk snapshots folded into sealed rows (shutdown only).
    pub folded: usize,
}

impl CompactStats {
    fn add(&mut self, r: &MergeReport) {
        self.rows_removed += r.rows_removed;
        self.rows_written += r.rows_written;
        self.samples += r.samples;
        self.folded += r.folded.len();
    }
}

impl Db {
    /// Merges the rows of each series in ranges that are closed for it. Ranges the store's
    /// newest sample has not passed yet wait for a later pass.
    pub fn compact_closed_ranges(&self) -> Result<CompactStats, StorageError> {
        self.compact_ranges(false)
    }

    /// At shutdown, after the final flush: merges every pending range, closed or not, folding
    /// open-chunk snapshots into the sealed rows of their range.
    pub fn compact_at_close(&self) -> Result<CompactStats, StorageError> {
        let stats = self.compact_ranges(true)?;
        let _flush = self.inner.flush_lock.lock();
        if self.inner.persist.tidy_open_chunks()? {
            debug!("open-chunk snapshots rewritten densely");
        }
        Ok(stats)
    }

    fn compact_ranges(&self, closing: bool) -> Result<CompactStats, StorageError> {
        let inner = &*self.inner;
        let persist = &inner.persist;
        persist.seed_pending()?;
        let newest = inner.max_t.load(Ordering::Relaxed);
        let mut stats = CompactStats::default();
        let pending = persist.take_pending();
        let mut later = Vec::new();
        let mut ranges = pending.into_iter();
        while let Some(lo) = ranges.next() {
            let hi = lo.saturating_add(CHUNK_RANGE_MS);
            if !closing && hi > newest {
                later.push(lo);
                continue;
            }
            let found = match persist.range_series(lo, closing) {
                Ok(f) => f,
                Err(e) => {
                    // Try again next time, with the ranges not reached.
                    later.push(lo);
                    later.extend(ranges);
                    persist.keep_pending(later);
                    return Err(e.into());
                }
            };
            stats.ranges += 1;
            for batch in found.chunks(BATCH) {
                let r = self.merge_batch(lo, hi, batch, closing);
                match r {
                    Ok(r) => stats.add(&r),
                    Err(e) => {
                        later.push(lo);
                        later.extend(ranges);
                        persist.keep_pending(later);
                        return Err(e);
                    }
                }
            }
        }
        persist.keep_pending(later);
        if stats.rows_removed > 0 {
            debug!(
                ranges = stats.ranges,
                rows_removed = stats.rows_removed,
                rows_written = stats.rows_written,
                samples = stats.samples,
                folded = stats.folded,
                closing,
                "compacted"
            );
        }
        Ok(stats)
    }

    /// Decides which series of `batch` to merge (under the flush lock, and at shutdown the
    /// ingest lock, so the decision holds until the transaction commits) and merges them.
    fn merge_batch(
        &self,
        lo: i64,
        hi: i64,
        batch: &[RangeSeries],
        closing: bool,
    ) -> Result<MergeReport, StorageError> {
        let inner = &*self.inner;
        let _flush = inner.flush_lock.lock();
        let _ingest = closing.then(|| inner.wal.lock());
        let mut plan: Vec<(u64, bool)> = Vec::with_capacity(batch.len());
        for rs in batch {
            let Some(s) = inner.head.get(rs.series_id) else {
                // Gone from the head: nothing can write into its rows any more.
                if rs.rows > 1 {
                    plan.push((rs.series_id, false));
                }
                continue;
            };
            let d = s.data.lock();
            let unflushed_here = d.sealed.iter().any(|c| c.min_t < hi)
                || d.hist
                    .as_ref()
                    .is_some_and(|h| h.sealed.iter().any(|c| c.min_t < hi));
            if closing {
                // The snapshot joins only when it is exactly the head's clean open chunk,
                // which then leaves the head.
                // An open chunk still as stored since a restart (`stored_open`) stays so.
                let fold = rs.open.is_some_and(|(min_t, max_t)| {
                    !unflushed_here
                        && !d.open_dirty
                        && d.stored_open.is_none()
                        && d.open_min_t == min_t
                        && d.open
                            .as_ref()
                            .is_some_and(|c| c.num_samples() > 0 && c.last_t() == max_t)
                });
                if fold || rs.rows > 1 {
                    plan.push((rs.series_id, fold));
                }
            } else if rs.rows > 1 && d.last_t >= hi && !unflushed_here {
                plan.push((rs.series_id, false));
            }
        }
        if plan.is_empty() {
            return Ok(MergeReport::default());
        }
        let report = inner.persist.merge_range(lo, &plan).inspect_err(|e| {
            if e.is_corrupt() {
                self.mark_for_repair(&e.to_string());
            }
        })?;
        // The folded snapshots' samples are in sealed rows now: their open chunks leave the
        // head (still clean: the ingest lock is held).
        for &id in &report.folded {
            if let Some(s) = inner.head.get(id) {
                let mut d = s.data.lock();
                d.open = None;
                d.stored_open = None;
                d.open_dirty = false;
            }
        }
        Ok(report)
    }
}
