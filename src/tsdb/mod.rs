//! The embedded time-series store: an in-memory head, a write-ahead log, and sealed chunks
//! persisted in SQLite. See DESIGN.md (Storage).
//!
//! Write path: series are found or created in the head without the ingest lock; then, under it,
//! each sample is checked against its series' newest sample (out-of-order and duplicates are
//! rejected per sample and counted), the accepted ones are written to the WAL in one write, and
//! only then appended to the head. So the WAL order always matches the head order and a write
//! acknowledged to a client is in the WAL.
//!
//! Flush: under the ingest lock the WAL rotates to a new segment and the head is snapshotted
//! (sealed chunks, plus open chunks as "partial" rows); the snapshot is written to SQLite in one
//! transaction; then WAL segments up to the rotation are deleted and the persisted sealed
//! chunks leave memory. A crash anywhere in between replays a WAL that is still complete.
//!
//! Uses `model`, `storage`; rusqlite stays in `persist`.

pub mod chunkenc;
pub mod head;
mod persist;
mod varint;
pub mod wal;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::model::{FxMap, Labels, Matcher, Sample};
use crate::storage::{
    AppendStats, Appender, Querier, Series, SeriesInput, SeriesRef, StorageError,
};
use chunkenc::{decode_persisted, encode_persisted, XorEncoder, XorIter};
use head::{Head, MemSeries};
use persist::{ChunkRow, FlushBatch, Persist, PersistError};
use wal::{Encoder, Record, Wal};

impl From<PersistError> for StorageError {
    fn from(e: PersistError) -> Self {
        StorageError::Database(e.to_string())
    }
}

/// Store settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Keep samples this much older than the newest sample (0 = forever).
    pub retention_ms: i64,
    /// Keep the database under this many bytes by deleting the oldest chunks (None = no limit).
    pub retention_size: Option<u64>,
    pub fsync_interval: Duration,
    pub flush_interval: Duration,
    pub wal_segment_size: u64,
    /// Flush early once sealed chunks in memory exceed this many bytes.
    pub head_flush_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            retention_ms: 15 * 24 * 3600 * 1000,
            retention_size: None,
            fsync_interval: Duration::from_secs(1),
            flush_interval: Duration::from_secs(60),
            wal_segment_size: 64 << 20,
            head_flush_bytes: 8 << 20,
        }
    }
}

/// Counters kept by the store.
#[derive(Debug, Default)]
pub struct Stats {
    pub samples_appended: AtomicU64,
    pub out_of_order: AtomicU64,
    pub duplicate: AtomicU64,
    pub series_created: AtomicU64,
    pub flushes: AtomicU64,
    /// Background flushes (with retention) that failed; the data stayed in the WAL.
    pub flush_failures: AtomicU64,
    pub wal_replay_dropped_records: AtomicU64,
    /// Reads that met a corrupt chunk or database page (the series was served without it).
    pub corrupt_reads: AtomicU64,
}

/// The database file inside a data directory.
pub const DB_FILE: &str = "promterm.db";
/// Present in the data directory when the database must be rebuilt at the next start.
pub const REPAIR_MARKER: &str = "REPAIR";

/// What opening found, for logging and tests.
#[derive(Debug, Default, Clone)]
pub struct OpenReport {
    /// Set when the database was damaged and rebuilt from what could be read.
    pub repair: Option<persist::RepairReport>,
    pub series_loaded: usize,
    pub bad_series_rows: usize,
    pub wal: wal::ReplayStats,
    pub replayed_samples: u64,
}

struct WalState {
    wal: Wal,
    enc: Encoder,
}

/// The store. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    opts: Options,
    head: Head,
    wal: Mutex<WalState>,
    persist: Persist,
    flush_lock: Mutex<()>,
    max_t: AtomicI64,
    stats: Stats,
    /// Bytes of sealed chunks waiting in memory for a flush.
    sealed_bytes: AtomicU64,
    flush_soon: tokio::sync::Notify,
    /// Append batches so far (see `MemSeries::batch_mark`).
    batches: AtomicU64,
    /// WAL segments that readers (remote-write senders) still need: reader id → oldest
    /// segment needed. Flushes keep those and later ones.
    wal_holds: Mutex<HashMap<usize, u64>>,
    /// Series whose stored data was found damaged (at most `MAX_CORRUPT_REPORTED`).
    corrupt_series: Mutex<std::collections::BTreeSet<String>>,
}

/// Most damaged series remembered for the report.
const MAX_CORRUPT_REPORTED: usize = 1000;

/// Accepts samples newer than the series' newest; returns the accepted slice bounds in `out`.
fn check_samples(
    last_t: i64,
    last_bits: u64,
    samples: &[Sample],
    id: u64,
    out: &mut Vec<(u64, i64, f64)>,
    st: &mut AppendStats,
) {
    let (mut lt, mut lb) = (last_t, last_bits);
    for s in samples {
        let bits = s.v.to_bits();
        if s.t > lt {
            out.push((id, s.t, s.v));
            lt = s.t;
            lb = bits;
            st.accepted += 1;
        } else if s.t == lt {
            if bits == lb {
                st.repeated += 1;
            } else {
                st.duplicate += 1;
            }
        } else {
            st.out_of_order += 1;
        }
    }
}

impl Db {
    /// Opens (creating if needed) the store in `dir`: loads persisted series, reopens partial
    /// chunks, replays the WAL (truncating a corrupt tail), and starts a new WAL segment.
    pub fn open(dir: &Path, opts: Options) -> Result<(Db, OpenReport), StorageError> {
        std::fs::create_dir_all(dir)?;
        let head = Head::new();
        let mut report = OpenReport::default();
        let mut max_t = i64::MIN;

        // A damaged database (found now, or by a query or flush before, which leaves the
        // REPAIR marker) is rebuilt from what can be read; the damaged file is kept aside.
        let db_path = dir.join(DB_FILE);
        let marker = dir.join(REPAIR_MARKER);
        let load = |p: &Persist| -> Result<_, persist::PersistError> {
            Ok((p.load_series()?, p.load_summaries()?))
        };
        let mut damage = marker
            .exists()
            .then(|| "a query or flush found damaged pages".to_string());
        let mut loaded = None;
        if damage.is_none() {
            match Persist::open(&db_path).and_then(|p| load(&p).map(|l| (p, l))) {
                Ok(x) => loaded = Some(x),
                Err(e) if e.is_corrupt() => damage = Some(e.to_string()),
                Err(e) => return Err(e.into()),
            }
        }
        let (persist, ((series, bad), summaries)) = match loaded {
            Some(x) => x,
            None => {
                let why = damage.unwrap_or_default();
                tracing::error!(
                    "the database is damaged ({why}); rebuilding it from what can be read"
                );
                let r = persist::repair(&db_path)?;
                tracing::error!(
                    series = r.series_copied,
                    chunks = r.chunks_copied,
                    lost = %r.lost.join(", "),
                    damaged_series = r.damaged_series.len(),
                    kept_at = %r.kept_at,
                    "database rebuilt"
                );
                let _ = std::fs::remove_file(&marker);
                report.repair = Some(r);
                let p = Persist::open(&db_path)?;
                let l = load(&p)?;
                (p, l)
            }
        };
        report.series_loaded = series.len();
        report.bad_series_rows = bad;
        for (id, labels) in series {
            let s = head.insert_with_id(id, labels);
            s.persisted.store(true, Ordering::Relaxed);
        }
        let damaged: Vec<u64> = report
            .repair
            .as_ref()
            .map(|r| r.damaged_series.clone())
            .unwrap_or_default();
        for sum in summaries {
            let Some(s) = head.get(sum.series_id) else {
                continue;
            };
            let mut d = s.data.lock();
            d.min_t = sum.min_t;
            d.persisted_min_t = sum.min_t;
            let mut newest: Option<(i64, f64)> = None;
            for (c, open) in [(&sum.last_sealed, false), (&sum.open, true)] {
                let Some(c) = c else { continue };
                d.persisted_max_t = d.persisted_max_t.max(c.max_t);
                let Some(samples) = decode_persisted(&c.data) else {
                    warn!(series = %s.labels, min_t = c.min_t, "persisted chunk is corrupt; skipped");
                    continue;
                };
                if let Some(&last) = samples.last() {
                    if newest.is_none_or(|n| last.0 > n.0) {
                        newest = Some(last);
                    }
                }
                if open && !samples.is_empty() {
                    d.open = Some(XorEncoder::from_samples(&samples));
                    d.open_min_t = c.min_t;
                    d.open_dirty = false;
                }
            }
            if let Some((t, v)) = newest {
                d.last_t = t;
                d.last_v_bits = v.to_bits();
                max_t = max_t.max(t);
            }
        }

        let wal_dir = dir.join("wal");
        let mut remap: HashMap<u64, Arc<MemSeries>> = HashMap::new();
        let mut replay_stats = AppendStats::default();
        let mut replay_sealed = 0u64;
        let mut out = Vec::new();
        let mut replayed_deletes: Vec<(u64, i64, i64)> = Vec::new();
        report.wal = wal::replay(&wal_dir, |rec| match rec {
            Record::Series(list) => {
                for (id, labels) in list {
                    let s = head.insert_with_id(id, labels);
                    remap.insert(id, s);
                }
            }
            Record::Samples(samples) => {
                let mut i = 0;
                while i < samples.len() {
                    let id = samples[i].0;
                    let mut j = i;
                    while j < samples.len() && samples[j].0 == id {
                        j += 1;
                    }
                    let s = remap.get(&id).cloned().or_else(|| head.get(id));
                    match s {
                        Some(s) => {
                            let mut d = s.data.lock();
                            let run: Vec<Sample> = samples[i..j]
                                .iter()
                                .map(|&(_, t, v)| Sample { t, v })
                                .collect();
                            out.clear();
                            check_samples(
                                d.last_t,
                                d.last_v_bits,
                                &run,
                                s.id,
                                &mut out,
                                &mut replay_stats,
                            );
                            for &(_, t, v) in &out {
                                replay_sealed += d.append(t, v) as u64;
                                max_t = max_t.max(t);
                            }
                        }
                        None => replay_stats.out_of_order += (j - i) as u64,
                    }
                    i = j;
                }
            }
            Record::Delete(ranges) => {
                for &(id, mint, maxt) in &ranges {
                    if let Some(s) = remap.get(&id).cloned().or_else(|| head.get(id)) {
                        s.data.lock().delete_range(mint, maxt);
                    }
                }
                replayed_deletes.extend(ranges);
            }
        })?;
        report.replayed_samples = replay_stats.accepted;
        if let Some(c) = &report.wal.corruption {
            warn!(
                dropped_records = report.wal.dropped_records,
                dropped_bytes = report.wal.dropped_bytes,
                "WAL corruption at {c}; truncated there"
            );
        }
        let wal = Wal::open(&wal_dir, opts.wal_segment_size)?;
        let stats = Stats::default();
        stats
            .wal_replay_dropped_records
            .store(report.wal.dropped_records as u64, Ordering::Relaxed);
        let db = Db {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                opts,
                head,
                wal: Mutex::new(WalState {
                    wal,
                    enc: Encoder::default(),
                }),
                persist,
                flush_lock: Mutex::new(()),
                max_t: AtomicI64::new(max_t),
                stats,
                sealed_bytes: AtomicU64::new(replay_sealed),
                flush_soon: tokio::sync::Notify::new(),
                batches: AtomicU64::new(0),
                wal_holds: Mutex::new(HashMap::new()),
                corrupt_series: Mutex::default(),
            }),
        };
        if !replayed_deletes.is_empty() {
            // A crash may have come between the WAL record and the database transaction; the
            // ranges end at each series' newest sample when deleted, so re-applying them never
            // touches later samples.
            let _guard = db.inner.flush_lock.lock();
            let _w = db.inner.wal.lock();
            db.delete_persisted(&replayed_deletes)?;
            db.drop_empty(replayed_deletes.iter().map(|r| r.0))?;
        }
        for id in damaged {
            if let Some(s) = db.inner.head.get(id) {
                db.note_corrupt(
                    &s.labels,
                    "stored chunks were lost when the database was rebuilt",
                );
            }
        }
        debug!(
            series = db.inner.head.num_series(),
            wal_records = report.wal.records,
            replayed_samples = report.replayed_samples,
            "storage open"
        );
        Ok((db, report))
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// Leaves the marker that makes the next start rebuild the database (SQLite reported a
    /// damaged page).
    fn mark_for_repair(&self, what: &str) {
        let marker = self.inner.dir.join(REPAIR_MARKER);
        if !marker.exists() {
            tracing::error!(
                "the database has damaged pages ({what}); it will be rebuilt at the next start"
            );
            if let Err(e) = std::fs::write(&marker, format!("{what}\n")) {
                tracing::error!("cannot write {}: {e}", marker.display());
            }
        }
    }

    /// Counts and reports damaged stored data of a series (logged once per series).
    fn note_corrupt(&self, labels: &Labels, what: &str) {
        self.inner
            .stats
            .corrupt_reads
            .fetch_add(1, Ordering::Relaxed);
        let mut set = self.inner.corrupt_series.lock();
        let key = labels.to_string();
        if set.len() < MAX_CORRUPT_REPORTED && set.insert(key) {
            tracing::error!(series = %labels, "stored data is damaged ({what}); serving the series without it");
        }
    }

    /// Series found with damaged stored data so far (sorted; at most 1000).
    pub fn corrupt_series(&self) -> Vec<String> {
        self.inner.corrupt_series.lock().iter().cloned().collect()
    }

    pub fn num_series(&self) -> usize {
        self.inner.head.num_series()
    }

    /// Approximate heap bytes held by the head.
    pub fn head_bytes(&self) -> usize {
        self.inner.head.heap_bytes()
    }

    /// Chunks held in memory (sealed and open), and the oldest and newest sample times of
    /// the stored data (`None` when empty), for `/api/v1/status/tsdb`.
    pub fn head_stats(&self) -> (usize, Option<(i64, i64)>) {
        let mut chunks = 0usize;
        let mut min_t = i64::MAX;
        for s in self.inner.head.all() {
            let d = s.data.lock();
            chunks += d.sealed.len() + usize::from(d.open.is_some());
            min_t = min_t.min(d.min_t);
        }
        let range = self
            .max_time()
            .filter(|_| min_t != i64::MAX)
            .map(|max| (min_t, max));
        (chunks, range)
    }

    /// Newest sample time seen, if any.
    pub fn max_time(&self) -> Option<i64> {
        let t = self.inner.max_t.load(Ordering::Relaxed);
        (t != i64::MIN).then_some(t)
    }

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
        let _ = inner
            .sealed_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_sub(freed))
            });
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
        let _ = inner
            .sealed_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_sub(freed as u64))
            });
        self.delete_persisted(&ranges)?;
        self.drop_empty(ranges.iter().map(|r| r.0))?;
        drop(w);
        info!(series = ranges.len(), mint, maxt, "deleted samples");
        Ok(ranges.len())
    }

    /// Removes `ranges` from the database and updates the series' persisted time ranges.
    /// Callers hold the flush lock.
    fn delete_persisted(&self, ranges: &[(u64, i64, i64)]) -> Result<(), StorageError> {
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
    fn drop_empty(&self, ids: impl Iterator<Item = u64>) -> Result<(), StorageError> {
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

    /// Applies time and size retention; returns the number of series removed.
    pub fn apply_retention(&self) -> Result<usize, StorageError> {
        let inner = &*self.inner;
        let _guard = inner.flush_lock.lock();
        let mut deleted_any = false;
        if inner.opts.retention_ms > 0 {
            if let Some(max_t) = self.max_time() {
                let cutoff = max_t.saturating_sub(inner.opts.retention_ms);
                let n = inner.persist.delete_before(cutoff)?;
                deleted_any |= n > 0;
                for s in inner.head.all() {
                    let mut d = s.data.lock();
                    let before = d.sealed.len();
                    d.sealed.retain(|c| c.max_t >= cutoff);
                    deleted_any |= d.sealed.len() != before;
                    if d.open.is_some() && d.last_t < cutoff {
                        d.open = None;
                        d.open_dirty = false;
                        deleted_any = true;
                    }
                    if d.min_t < cutoff {
                        d.min_t = cutoff;
                        d.persisted_min_t = d.persisted_min_t.max(cutoff);
                    }
                }
                if n > 0 {
                    info!(
                        chunks = n,
                        cutoff, "retention: deleted chunks older than the retention time"
                    );
                }
            }
        }
        if let Some(limit) = inner.opts.retention_size {
            let mut rounds = 0;
            while inner.persist.size_bytes()? + self.wal_bytes() > limit && rounds < 100 {
                let count = inner.persist.chunk_count()?;
                if count == 0 {
                    break;
                }
                if let Some(cut) = inner.persist.delete_oldest((count / 10).max(1))? {
                    info!(
                        up_to = cut,
                        "retention: deleted the oldest chunks to stay under the size limit"
                    );
                    for s in inner.head.all() {
                        let mut d = s.data.lock();
                        if d.persisted_min_t <= cut {
                            d.persisted_min_t = cut + 1;
                            d.min_t = d.min_t.max(cut + 1);
                        }
                    }
                }
                inner.persist.compact()?;
                deleted_any = true;
                rounds += 1;
            }
        }
        if !deleted_any {
            return Ok(0);
        }
        // Series with no data left anywhere go away.
        let empty: HashSet<u64> = inner.persist.series_without_chunks()?.into_iter().collect();
        let mut gone = Vec::new();
        // Under the WAL lock, so no append lands in a series as it goes.
        let w = inner.wal.lock();
        for s in inner.head.all() {
            let d = s.data.lock();
            let no_head_data = d.open.is_none() && d.sealed.is_empty();
            if no_head_data && (empty.contains(&s.id) || !s.persisted.load(Ordering::Relaxed)) {
                gone.push(s.id);
            }
        }
        inner.persist.delete_series(&gone)?;
        inner.head.remove(&gone.iter().copied().collect());
        drop(w);
        inner.persist.compact()?;
        Ok(gone.len())
    }

    fn wal_bytes(&self) -> u64 {
        std::fs::read_dir(self.inner.dir.join("wal"))
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// The WAL directory (for readers tailing it).
    pub fn wal_dir(&self) -> PathBuf {
        self.inner.dir.join("wal")
    }

    /// The segment being written now.
    pub fn wal_segment(&self) -> u64 {
        self.inner.wal.lock().wal.current_segment()
    }

    /// Keeps WAL segments from `from` on for reader `id` (None: the reader needs none).
    pub fn hold_wal(&self, id: usize, from: Option<u64>) {
        let mut h = self.inner.wal_holds.lock();
        match from {
            Some(s) => {
                h.insert(id, s);
            }
            None => {
                h.remove(&id);
            }
        }
    }

    /// The labels of the series with this id (WAL records name series by id).
    pub fn series_labels(&self, id: u64) -> Option<Labels> {
        self.inner.head.get(id).map(|s| s.labels.clone())
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

    /// Background upkeep until `shutdown`: WAL fsync every `fsync_interval`, flush every
    /// `flush_interval`, retention after each flush. The caller closes the store afterwards.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut fsync = tokio::time::interval(self.inner.opts.fsync_interval);
        let mut flush = tokio::time::interval(self.inner.opts.flush_interval);
        fsync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut trim = tokio::time::interval(Duration::from_secs(5));
        trim.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        flush.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = fsync.tick() => {
                    let db = self.clone();
                    match tokio::task::spawn_blocking(move || db.sync_wal()).await {
                        Ok(Err(e)) => warn!("WAL fsync failed: {e}"),
                        Err(e) => warn!("WAL fsync task failed: {e}"),
                        Ok(Ok(())) => {}
                    }
                }
                _ = trim.tick() => {
                    // Memory freed by finished requests goes back to the OS between flushes.
                    let _ = tokio::task::spawn_blocking(release_free_memory).await;
                }
                _ = async {
                    tokio::select! {
                        _ = flush.tick() => {}
                        _ = self.inner.flush_soon.notified() => {}
                    }
                } => {
                    let db = self.clone();
                    let r = tokio::task::spawn_blocking(move || db.flush().and_then(|_| db.apply_retention())).await;
                    if !matches!(r, Ok(Ok(_))) {
                        self.inner.stats.flush_failures.fetch_add(1, Ordering::Relaxed);
                    }
                    match r {
                        Ok(Err(e)) => warn!("flush failed (data stays in the WAL): {e}"),
                        Err(e) => warn!("flush task failed: {e}"),
                        Ok(Ok(_)) => {}
                    }
                }
            }
        }
    }

    fn series_overlapping(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Vec<Arc<MemSeries>> {
        self.inner
            .head
            .postings(matchers)
            .into_iter()
            .filter_map(|id| self.inner.head.get(id))
            .filter(|s| {
                let d = s.data.lock();
                d.last_t != i64::MIN && d.min_t <= maxt && d.last_t >= mint
            })
            .collect()
    }
}

/// Returns freed heap memory to the OS after a flush has dropped chunks (glibc keeps it
/// otherwise, and resident memory would only ever grow).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only releases free memory held by the allocator; it takes no
        // pointers and is safe to call at any time from any thread.
        unsafe {
            malloc_trim(0);
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

impl Appender for Db {
    fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
        let mut st = AppendStats::default();
        let mut todo: Vec<&SeriesInput<'_>> = batch.iter().collect();
        // A series removed between lookup and append is looked up (re-created) again.
        while !todo.is_empty() {
            let series: Vec<Arc<MemSeries>> = todo
                .iter()
                .map(|s| {
                    let (m, created) = self.inner.head.get_or_create(&s.labels);
                    st.new_series += u64::from(created);
                    m
                })
                .collect();
            let items: Vec<(&MemSeries, &[Sample])> = series
                .iter()
                .zip(&todo)
                .map(|(m, b)| (&**m, &b.samples[..]))
                .collect();
            let skipped = self.append_resolved(&items, &mut st)?;
            todo = skipped.into_iter().map(|i| todo[i]).collect();
        }
        Ok(st)
    }

    fn resolve(&self, labels: &[(&str, &str)]) -> Option<SeriesRef> {
        let (m, created) = self.inner.head.get_or_create(labels);
        if created {
            self.inner
                .stats
                .series_created
                .fetch_add(1, Ordering::Relaxed);
        }
        Some(SeriesRef(m))
    }

    fn append_refs(
        &self,
        batch: &[(&SeriesRef, Sample)],
    ) -> Result<(AppendStats, Vec<usize>), StorageError> {
        let mut st = AppendStats::default();
        let mut gone = Vec::new();
        let mut items: Vec<(&MemSeries, &[Sample])> = Vec::with_capacity(batch.len());
        let mut at: Vec<usize> = Vec::with_capacity(batch.len());
        for (i, (r, s)) in batch.iter().enumerate() {
            match r.0.downcast_ref::<MemSeries>() {
                Some(m) if !m.removed.load(Ordering::Relaxed) => {
                    items.push((m, std::slice::from_ref(s)));
                    at.push(i);
                }
                _ => gone.push(i),
            }
        }
        for k in self.append_resolved(&items, &mut st)? {
            gone.push(at[k]);
        }
        gone.sort_unstable();
        Ok((st, gone))
    }
}

impl Db {
    /// Appends samples to series already found in the head: WAL first (series records for
    /// new series, then the accepted samples), then the head, under the ingest lock. Returns
    /// the indices of items whose series was removed meanwhile (nothing of theirs is written).
    fn append_resolved(
        &self,
        items: &[(&MemSeries, &[Sample])],
        st: &mut AppendStats,
    ) -> Result<Vec<usize>, StorageError> {
        let inner = &*self.inner;
        let mut accepted: Vec<(u64, i64, f64)> =
            Vec::with_capacity(items.iter().map(|s| s.1.len()).sum());
        let mut w = inner.wal.lock();
        // Series are removed (retention, deletion) under the WAL lock: one removed since the
        // caller found it must be looked up again.
        let skipped: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, s)| s.0.removed.load(Ordering::Relaxed))
            .map(|(i, _)| i)
            .collect();
        let kept_items: Vec<(&MemSeries, &[Sample])>;
        let items = if skipped.is_empty() {
            items
        } else {
            kept_items = items
                .iter()
                .filter(|s| !s.0.removed.load(Ordering::Relaxed))
                .copied()
                .collect();
            &kept_items[..]
        };
        let WalState { wal, enc } = &mut *w;
        enc.clear();
        enc.series(
            items
                .iter()
                .filter(|s| !s.0.logged.load(Ordering::Relaxed))
                .map(|s| (s.0.id, &s.0.labels)),
        );
        let mut bounds = Vec::with_capacity(items.len());
        // A series may appear more than once in a batch: later items are checked against what
        // the earlier ones will have appended, not only against the head.
        let batch_no = inner.batches.fetch_add(1, Ordering::Relaxed) + 1;
        let mut repeats = false;
        for (s, _) in items {
            repeats |= s.batch_mark.swap(batch_no, Ordering::Relaxed) == batch_no;
        }
        let mut pending: FxMap<u64, (i64, u64)> = FxMap::default();
        for (s, samples) in items {
            let start = accepted.len();
            let known = if repeats { pending.get(&s.id) } else { None };
            let (lt, lb) = match known {
                Some(&p) => p,
                None => {
                    let d = s.data.lock();
                    (d.last_t, d.last_v_bits)
                }
            };
            check_samples(lt, lb, samples, s.id, &mut accepted, st);
            if repeats {
                if let Some(&(_, t, v)) = accepted[start..].last() {
                    pending.insert(s.id, (t, v.to_bits()));
                } else {
                    pending.entry(s.id).or_insert((lt, lb));
                }
            }
            bounds.push((start, accepted.len()));
        }
        enc.samples(&accepted);
        let written = wal.write(&enc.buf);
        enc.clear();
        written?;
        let mut max_t = i64::MIN;
        let mut sealed = 0u64;
        for ((s, _), (a, b)) in items.iter().zip(bounds) {
            s.logged.store(true, Ordering::Relaxed);
            if a == b {
                continue;
            }
            let mut d = s.data.lock();
            for &(_, t, v) in &accepted[a..b] {
                sealed += d.append(t, v) as u64;
            }
            max_t = max_t.max(d.last_t);
        }
        drop(w);
        inner.max_t.fetch_max(max_t, Ordering::Relaxed);
        if sealed > 0 {
            let total = inner.sealed_bytes.fetch_add(sealed, Ordering::Relaxed) + sealed;
            if total > inner.opts.head_flush_bytes {
                inner.flush_soon.notify_one();
            }
        }
        let stats = &inner.stats;
        stats
            .samples_appended
            .fetch_add(st.accepted, Ordering::Relaxed);
        stats
            .out_of_order
            .fetch_add(st.out_of_order, Ordering::Relaxed);
        stats.duplicate.fetch_add(st.duplicate, Ordering::Relaxed);
        stats
            .series_created
            .fetch_add(st.new_series, Ordering::Relaxed);
        Ok(skipped)
    }
}

impl Db {
    /// One series' samples in [mint, maxt] from the head and the database, or `None` if it
    /// has none there.
    fn read_series(
        &self,
        s: &MemSeries,
        mint: i64,
        maxt: i64,
    ) -> Result<Option<Series>, StorageError> {
        // Head first, then the database: a flush between the two reads can only make a
        // sample appear twice (deduplicated below), never vanish.
        let (chunks, pmin, pmax) = {
            let d = s.data.lock();
            (
                d.chunks_in(mint, maxt),
                d.persisted_min_t,
                d.persisted_max_t,
            )
        };
        let in_range = |&(t, _): &(i64, f64)| t >= mint && t <= maxt;
        let mut samples: Vec<(i64, f64)> = Vec::new();
        if pmin <= maxt && pmax >= mint {
            // Damaged stored data costs that series its stored samples, not the query.
            let rows = match self.inner.persist.chunks(s.id, mint, maxt) {
                Ok(rows) => rows,
                Err(e) if e.is_corrupt() => {
                    self.note_corrupt(&s.labels, &format!("database page: {e}"));
                    self.mark_for_repair(&e.to_string());
                    Vec::new()
                }
                Err(e) => return Err(e.into()),
            };
            for row in rows {
                match decode_persisted(&row.data) {
                    Some(v) => samples.extend(v.into_iter().filter(in_range)),
                    None => self.note_corrupt(
                        &s.labels,
                        &format!("chunk starting at {} does not decode", row.min_t),
                    ),
                }
            }
        }
        for (_, _, data) in &chunks {
            samples.extend(XorIter::new(data).filter(in_range));
        }
        samples.sort_by_key(|s| s.0);
        samples.dedup_by_key(|s| s.0);
        if samples.is_empty() {
            return Ok(None);
        }
        Ok(Some(Series {
            labels: s.labels.clone(),
            samples: samples.into_iter().map(|(t, v)| Sample { t, v }).collect(),
        }))
    }
}

impl Querier for Db {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, StorageError> {
        let mut out = Vec::new();
        for s in self.series_overlapping(matchers, mint, maxt) {
            if let Some(series) = self.read_series(&s, mint, maxt)? {
                out.push(series);
            }
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }

    fn select_each(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        f: &mut dyn FnMut(Series) -> bool,
    ) -> Result<(), StorageError> {
        let mut all = self.series_overlapping(matchers, mint, maxt);
        all.sort_by(|a, b| a.labels.cmp(&b.labels));
        for s in all {
            if let Some(series) = self.read_series(&s, mint, maxt)? {
                if !f(series) {
                    break;
                }
            }
        }
        Ok(())
    }

    fn series(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, StorageError> {
        let mut v: Vec<Labels> = self
            .series_overlapping(matchers, mint, maxt)
            .into_iter()
            .map(|s| s.labels.clone())
            .collect();
        v.sort();
        Ok(v)
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut names: Vec<String> = self
            .series_overlapping(matchers, mint, maxt)
            .iter()
            .flat_map(|s| {
                s.labels
                    .iter()
                    .map(|l| l.name.to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut values: Vec<String> = self
            .series_overlapping(matchers, mint, maxt)
            .iter()
            .filter_map(|s| s.labels.get(name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}

#[cfg(test)]
mod tests;
