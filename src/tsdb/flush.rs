//! Flushing: under the ingest lock the WAL rotates and the head is snapshotted (sealed chunks,
//! plus changed open chunks as "partial" rows); the snapshot is written to SQLite in one
//! transaction; then the WAL segments it covers are deleted (those a reader still holds stay)
//! and the persisted sealed chunks leave memory. Also the WAL fsync, snapshots (backups),
//! compaction and close.
//!
//! Uses the store core (`super`), `head`, `chunkenc`, `persist`, `wal`, `storage`; `libc` for
//! `malloc_trim`.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tracing::debug;

use super::chunkenc::{self, encode_persisted, XorIter};
use super::head::{self, MemSeries};
use super::persist::{ChunkRow, FlushBatch};
use super::{Db, DB_FILE};
use crate::storage::StorageError;

impl Db {
    /// Flushes the WAL to stable storage.
    pub fn sync_wal(&self) -> Result<(), StorageError> {
        let f = self.inner.wal.lock().wal.sync_handle()?;
        f.sync_data()?;
        Ok(())
    }

    /// Writes a copy of the store into `dir` (created), openable as a data directory of its
    /// own. With `with_head`, the head is flushed first so the copy holds everything appended
    /// so far; otherwise only what earlier flushes persisted.
    pub fn snapshot(&self, dir: &Path, with_head: bool) -> Result<(), StorageError> {
        if with_head {
            self.flush()?;
        }
        std::fs::create_dir_all(dir)?;
        let _guard = self.inner.flush_lock.lock();
        self.inner
            .persist
            .backup_to(&dir.join(DB_FILE))
            .map_err(|e| StorageError::Database(e.to_string()))
    }

    /// Writes sealed and open chunks to the database and drops the WAL segments they cover.
    /// Returns the number of rows written.
    pub fn flush(&self) -> Result<usize, StorageError> {
        let inner = &*self.inner;
        let _guard = inner.flush_lock.lock();
        /// An open chunk's start, sample count, samples and XOR size.
        type OpenSnapshot = (i64, u16, Vec<(i64, f64)>, usize);
        struct Taken {
            series: Arc<MemSeries>,
            sealed: Vec<head::SealedChunk>,
            /// The open chunk, if it changed since the last flush.
            open: Option<OpenSnapshot>,
        }
        let mut taken: Vec<Taken> = Vec::new();
        let mut new_series: Vec<Arc<MemSeries>> = Vec::new();
        // Under the ingest lock: cut the WAL and copy what the database lacks, so everything in
        // the WAL up to the cut is in this snapshot.
        let closed = {
            let mut w = inner.wal.lock();
            let closed = w.wal.rotate()?;
            for s in inner.head.all() {
                let d = s.data.lock();
                if !s.persisted.load(Ordering::Relaxed) && s.logged.load(Ordering::Relaxed) {
                    new_series.push(s.clone());
                }
                let open = d
                    .open
                    .as_ref()
                    .filter(|c| d.open_dirty && c.num_samples() > 0)
                    .map(|c| {
                        (
                            d.open_min_t,
                            c.num_samples(),
                            c.iter().collect(),
                            c.bytes().len(),
                        )
                    });
                if !d.sealed.is_empty() || open.is_some() {
                    taken.push(Taken {
                        series: s.clone(),
                        sealed: d.sealed.clone(),
                        open,
                    });
                }
            }
            closed
        };
        // Encode outside the lock: sealed chunks of one series in the same 2h range become one
        // row in the compact persisted format.
        let mut sealed_rows: Vec<ChunkRow> = Vec::new();
        let mut open_rows: Vec<ChunkRow> = Vec::new();
        for t in &taken {
            let id = t.series.id;
            let mut run: Vec<(i64, f64)> = Vec::new();
            let (mut run_start, mut run_xor) = (0, 0);
            for c in &t.sealed {
                let n = usize::from(XorIter::new(&c.data).num_samples());
                let same_range = head::range_end(run_start) == head::range_end(c.min_t);
                if !run.is_empty()
                    && (!same_range || run.len() + n > chunkenc::MAX_PERSISTED_SAMPLES)
                {
                    sealed_rows.push(row(id, run_start, &run, Some(run_xor)));
                    run.clear();
                }
                if run.is_empty() {
                    (run_start, run_xor) = (c.min_t, 0);
                }
                run.extend(XorIter::new(&c.data));
                run_xor += c.data.len();
            }
            if !run.is_empty() {
                sealed_rows.push(row(id, run_start, &run, Some(run_xor)));
            }
            if let Some((min_t, _, samples, xor_len)) = &t.open {
                open_rows.push(row(id, *min_t, samples, Some(*xor_len)));
            }
        }
        sealed_rows.sort_by_key(|r| (r.series_id, r.min_t));
        open_rows.sort_by_key(|r| r.series_id);
        let batch = FlushBatch {
            series: new_series.iter().map(|s| (s.id, &s.labels)).collect(),
            sealed: sealed_rows,
            open: open_rows,
            drop_open: Vec::new(),
        };
        if let Err(e) = inner.persist.write(&batch) {
            if e.is_corrupt() {
                self.mark_for_repair(&e.to_string());
            }
            return Err(e.into());
        }
        for s in &new_series {
            s.persisted.store(true, Ordering::Relaxed);
        }
        let mut freed = 0u64;
        for t in &taken {
            let mut guard = t.series.data.lock();
            let d = &mut *guard;
            for c in d.sealed.drain(..t.sealed.len()) {
                d.persisted_min_t = d.persisted_min_t.min(c.min_t);
                d.persisted_max_t = d.persisted_max_t.max(c.max_t);
                freed += c.data.len() as u64;
            }
            if let Some((min_t, n, samples, _)) = &t.open {
                d.persisted_min_t = d.persisted_min_t.min(*min_t);
                d.persisted_max_t = d
                    .persisted_max_t
                    .max(samples.last().map_or(i64::MIN, |s| s.0));
                let unchanged = d.open_min_t == *min_t
                    && d.open.as_ref().is_some_and(|c| c.num_samples() == *n);
                if unchanged {
                    d.open_dirty = false;
                }
            }
        }
        self.forget_sealed(freed);
        // Segments a WAL reader still needs stay.
        let keep_from = inner.wal_holds.lock().values().copied().min();
        let upto = match keep_from {
            Some(k) => closed.min(k.saturating_sub(1)),
            None => closed,
        };
        let removed = if keep_from == Some(0) {
            0
        } else {
            inner.wal.lock().wal.remove_up_to(upto)?
        };
        release_free_memory();
        inner.stats.flushes.fetch_add(1, Ordering::Relaxed);
        let rows = batch.sealed.len() + batch.open.len();
        debug!(
            rows,
            series = new_series.len(),
            wal_segments_removed = removed,
            "flushed"
        );
        Ok(rows)
    }

    /// Returns the database's free pages to the file system and checkpoints its journal.
    pub fn compact(&self) -> Result<(), StorageError> {
        let _guard = self.inner.flush_lock.lock();
        self.inner.persist.compact()?;
        Ok(())
    }

    /// Final flush, WAL sync and database checkpoint. Safe to call more than once.
    pub fn close(&self) -> Result<(), StorageError> {
        self.flush()?;
        self.sync_wal()?;
        self.inner.persist.compact()?;
        Ok(())
    }
}

/// Returns freed heap memory to the OS after a flush has dropped chunks (glibc keeps it
/// otherwise, and resident memory would only ever grow).
pub(super) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only releases free memory held by the allocator; it takes no
        // pointers and is safe to call at any time from any thread.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

fn row(series_id: u64, min_t: i64, samples: &[(i64, f64)], xor_len: Option<usize>) -> ChunkRow {
    ChunkRow {
        series_id,
        min_t,
        max_t: samples.last().map_or(min_t, |s| s.0),
        data: encode_persisted(samples, xor_len),
    }
}
