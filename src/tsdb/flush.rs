//! Flushing: under the ingest lock the WAL rotates and the head is snapshotted (sealed chunks,
//! plus changed open chunks as "partial" rows); the snapshot is written to SQLite in one
//! transaction; then the WAL segments it covers are deleted (those a reader still holds stay)
//! and the persisted sealed chunks leave memory. Also the WAL fsync, snapshots (backups),
//! compaction and close. Histogram chunks of one 2h range share a row (`chunk_rows` formats
//! 2/3 for one chunk, 4 for several, up to 16 KB); float chunks merge into rows per 2h range;
//! neither kind's row spans a chunk of the other kind, so a series' rows never overlap in time.
//!
//! Uses the store core (`super`), `head`, `histogram_head`, `chunk_rows`, `chunkenc`, `persist`,
//! `wal`, `storage`; `libc` for
//! `malloc_trim`.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tracing::debug;

use super::chunk_rows::{encode_histogram_chunks_row, encode_histogram_row};
use super::chunkenc::{self, encode_persisted, XorIter};
use super::head::{self, MemSeries};
use super::histogram_head::{HistForm, SealedHistChunk};
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
        self.inner.persist.backup_to(&dir.join(DB_FILE))?;
        Ok(())
    }

    /// Writes sealed and open chunks to the database and drops the WAL segments they cover.
    /// Returns the number of rows written.
    pub fn flush(&self) -> Result<usize, StorageError> {
        let inner = &*self.inner;
        let _guard = inner.flush_lock.lock();
        let (closed, mut taken) = self.take_snapshot()?;
        let sealed = taken.sealed_rows();
        let open = taken.open_rows();
        let batch = FlushBatch {
            series: taken.new_series.iter().map(|s| (s.id, &s.labels)).collect(),
            sealed,
            open,
            drop_open: Vec::new(),
        };
        if let Err(e) = inner.persist.write(&batch) {
            if e.is_corrupt() {
                self.mark_for_repair(&e.to_string());
            }
            return Err(e.into());
        }
        for s in &taken.new_series {
            s.persisted.store(true, Ordering::Relaxed);
        }
        self.forget_sealed(taken.release_persisted());
        let removed = self.remove_flushed_wal(closed)?;
        release_free_memory();
        inner.stats.flushes.fetch_add(1, Ordering::Relaxed);
        let rows = batch.sealed.len() + batch.open.len();
        debug!(
            rows,
            series = taken.new_series.len(),
            wal_segments_removed = removed,
            "flushed"
        );
        Ok(rows)
    }

    /// Under the ingest lock: cuts the WAL and copies what the database lacks, so everything
    /// in the WAL up to the cut is in the snapshot. Returns the last closed segment too.
    fn take_snapshot(&self) -> Result<(u64, Snapshot), StorageError> {
        let inner = &*self.inner;
        let mut snap = Snapshot::default();
        let mut w = inner.wal.lock();
        let closed = w.wal.rotate()?;
        // The segments up to `closed` go once flushed: the exemplars held move along.
        self.checkpoint_exemplars(&mut w)?;
        for s in inner.head.all() {
            let d = s.data.lock();
            if !s.persisted.load(Ordering::Relaxed) && s.logged.load(Ordering::Relaxed) {
                snap.new_series.push(s.clone());
            }
            let open = d
                .open
                .as_ref()
                .filter(|c| d.open_dirty && c.num_samples() > 0)
                .map(|c| OpenChunk {
                    min_t: d.open_min_t,
                    max_t: c.last_t(),
                    num_samples: c.num_samples(),
                    xor: c.bytes().into(),
                });
            let (hsealed, hopen) = match &d.hist {
                None => (Vec::new(), None),
                Some(h) => (
                    h.sealed.clone(),
                    h.open
                        .as_ref()
                        .filter(|c| h.open_dirty && c.num_samples() > 0)
                        .map(|c| OpenHist {
                            min_t: h.open_min_t,
                            max_t: c.last_t(),
                            num_samples: c.num_samples(),
                            row: encode_histogram_row(c.form(), c.bytes()),
                        }),
                ),
            };
            if !d.sealed.is_empty() || open.is_some() || !hsealed.is_empty() || hopen.is_some() {
                snap.taken.push(Taken {
                    series: s.clone(),
                    sealed: d.sealed.clone(),
                    open,
                    hsealed,
                    hopen,
                });
            }
        }
        drop(w);
        Ok((closed, snap))
    }

    /// Deletes the WAL segments up to `closed`, except those a WAL reader still needs.
    fn remove_flushed_wal(&self, closed: u64) -> Result<usize, StorageError> {
        let inner = &*self.inner;
        let keep_from = inner.wal_holds.lock().values().copied().min();
        let upto = match keep_from {
            Some(0) => return Ok(0),
            Some(k) => closed.min(k - 1),
            None => closed,
        };
        Ok(inner.wal.lock().wal.remove_up_to(upto)?)
    }

    /// Returns the database's free pages to the file system and checkpoints its journal.
    pub fn compact(&self) -> Result<(), StorageError> {
        let _guard = self.inner.flush_lock.lock();
        self.inner.persist.compact()?;
        Ok(())
    }

    /// Final flush, compaction (`compact`: open-chunk snapshots fold into the sealed rows of
    /// their range), WAL sync and database checkpoint. Safe to call more than once.
    pub fn close(&self) -> Result<(), StorageError> {
        self.flush()?;
        if let Err(e) = self.compact_at_close() {
            tracing::warn!("compaction at shutdown failed (the rows stay as they are): {e}");
        }
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

/// What a flush copies out of the head.
#[derive(Default)]
struct Snapshot {
    /// Series appended to (so in the WAL) but not yet in the database.
    new_series: Vec<Arc<MemSeries>>,
    taken: Vec<Taken>,
}

/// One series' chunks in a flush snapshot.
struct Taken {
    series: Arc<MemSeries>,
    sealed: Vec<head::SealedChunk>,
    /// The open chunk, if it changed since the last flush.
    open: Option<OpenChunk>,
    /// Sealed histogram chunks.
    hsealed: Vec<SealedHistChunk>,
    /// The open histogram chunk, if it changed since the last flush (at most one of `open`
    /// and `hopen` is set: a series has one open chunk).
    hopen: Option<OpenHist>,
}

/// A copy of an open histogram chunk, as its row bytes.
struct OpenHist {
    min_t: i64,
    max_t: i64,
    num_samples: u16,
    /// Emptied when `Snapshot::open_rows` makes its row.
    row: Vec<u8>,
}

/// A copy of an open chunk, as its XOR bytes: a quarter of the samples' size (16 bytes a
/// sample decoded), and the snapshot holds every changed open chunk of the head at once.
struct OpenChunk {
    min_t: i64,
    max_t: i64,
    num_samples: u16,
    /// Emptied when `Snapshot::open_rows` makes its row.
    xor: Box<[u8]>,
}

impl Snapshot {
    /// The sealed chunks as database rows: chunks of one series in the same 2h range become
    /// one row in the compact persisted format. Sorted by (2h range, series, min time).
    fn sealed_rows(&self) -> Vec<ChunkRow> {
        let mut rows = Vec::new();
        for t in &self.taken {
            let id = t.series.id;
            let mut run: Vec<(i64, f64)> = Vec::new();
            let (mut run_start, mut run_xor) = (0, 0);
            // Consecutive histogram chunks of one 2h range share a row, up to a size, unless
            // a float chunk lies between them (rows of a series never overlap).
            let mut group: Vec<&SealedHistChunk> = Vec::new();
            for c in &t.hsealed {
                if let Some(first) = group.first() {
                    let last = group[group.len() - 1];
                    let float_between = t
                        .sealed
                        .iter()
                        .any(|f| f.min_t > last.max_t && f.min_t < c.min_t);
                    let bytes: usize = group.iter().map(|g| g.data.len()).sum();
                    if head::range_end(first.min_t) != head::range_end(c.min_t)
                        || float_between
                        || bytes + c.data.len() > HIST_ROW_BYTES
                    {
                        rows.push(hist_row(id, &group));
                        group.clear();
                    }
                }
                group.push(c);
            }
            if !group.is_empty() {
                rows.push(hist_row(id, &group));
            }
            for c in &t.sealed {
                let n = usize::from(XorIter::new(&c.data).num_samples());
                let same_range = head::range_end(run_start) == head::range_end(c.min_t);
                // Rows of a series never overlap: a run of float chunks stops at a histogram
                // chunk between them.
                let hist_between = t
                    .hsealed
                    .iter()
                    .any(|h| h.min_t > run_start && h.min_t < c.min_t);
                if !run.is_empty()
                    && (!same_range
                        || hist_between
                        || run.len() + n > chunkenc::MAX_PERSISTED_SAMPLES)
                {
                    rows.push(row(id, run_start, &run, Some(run_xor)));
                    run.clear();
                }
                if run.is_empty() {
                    (run_start, run_xor) = (c.min_t, 0);
                }
                run.extend(XorIter::new(&c.data));
                run_xor += c.data.len();
            }
            if !run.is_empty() {
                rows.push(row(id, run_start, &run, Some(run_xor)));
            }
        }
        // Range by range, so a range's rows lie together in the table and its compaction
        // frees whole pages.
        rows.sort_by_key(|r| (head::range_end(r.min_t), r.series_id, r.min_t));
        rows
    }

    /// The changed open chunks as "partial" rows, sorted by series. Each chunk is decoded
    /// into one reused buffer just before its row is encoded, and its copy is dropped then
    /// (the rows take the place the copies leave).
    fn open_rows(&mut self) -> Vec<ChunkRow> {
        let mut samples: Vec<(i64, f64)> = Vec::new();
        let mut rows: Vec<ChunkRow> = self
            .taken
            .iter_mut()
            .filter_map(|t| {
                if let Some(o) = &mut t.hopen {
                    return Some(ChunkRow {
                        series_id: t.series.id,
                        min_t: o.min_t,
                        max_t: o.max_t,
                        data: std::mem::take(&mut o.row),
                    });
                }
                let o = t.open.as_mut()?;
                let xor = std::mem::take(&mut o.xor);
                samples.clear();
                samples.extend(XorIter::new(&xor));
                Some(row(t.series.id, o.min_t, &samples, Some(xor.len())))
            })
            .collect();
        rows.sort_by_key(|r| r.series_id);
        rows
    }

    /// After the database has them: drops the persisted sealed chunks from memory, widens the
    /// series' persisted ranges, and marks open chunks clean unless they changed meanwhile.
    /// Returns the bytes of sealed chunks freed.
    fn release_persisted(&self) -> u64 {
        let mut freed = 0u64;
        for t in &self.taken {
            let mut guard = t.series.data.lock();
            let d = &mut *guard;
            for c in d.sealed.drain(..t.sealed.len()) {
                d.persisted_min_t = d.persisted_min_t.min(c.min_t);
                d.persisted_max_t = d.persisted_max_t.max(c.max_t);
                freed += c.data.len() as u64;
            }
            if let Some(o) = &t.open {
                d.persisted_min_t = d.persisted_min_t.min(o.min_t);
                d.persisted_max_t = d.persisted_max_t.max(o.max_t);
                let unchanged = d.open_min_t == o.min_t
                    && d.open
                        .as_ref()
                        .is_some_and(|c| c.num_samples() == o.num_samples);
                if unchanged {
                    d.open_dirty = false;
                }
            }
            if t.hsealed.is_empty() && t.hopen.is_none() {
                continue;
            }
            let (mut pmin, mut pmax) = (d.persisted_min_t, d.persisted_max_t);
            if let Some(h) = &mut d.hist {
                for c in h.sealed.drain(..t.hsealed.len()) {
                    pmin = pmin.min(c.min_t);
                    pmax = pmax.max(c.max_t);
                    freed += c.data.len() as u64;
                }
                if let Some(o) = &t.hopen {
                    pmin = pmin.min(o.min_t);
                    pmax = pmax.max(o.max_t);
                    let unchanged = h.open_min_t == o.min_t
                        && h.open
                            .as_ref()
                            .is_some_and(|c| c.num_samples() == o.num_samples);
                    if unchanged {
                        h.open_dirty = false;
                    }
                }
            }
            (d.persisted_min_t, d.persisted_max_t) = (pmin, pmax);
        }
        freed
    }
}

/// At most this many chunk bytes go into one row of histogram chunks.
const HIST_ROW_BYTES: usize = 16 << 10;

/// One row of consecutive sealed histogram chunks of a series.
fn hist_row(series_id: u64, group: &[&SealedHistChunk]) -> ChunkRow {
    let chunks: Vec<(HistForm, &[u8])> = group.iter().map(|c| (c.form, &c.data[..])).collect();
    ChunkRow {
        series_id,
        min_t: group.first().map_or(0, |c| c.min_t),
        max_t: group.last().map_or(0, |c| c.max_t),
        data: encode_histogram_chunks_row(&chunks),
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
