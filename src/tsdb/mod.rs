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
pub mod wal;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::model::{Labels, Matcher, Sample};
use crate::storage::{AppendStats, Appender, Querier, Series, SeriesInput, StorageError};
use chunkenc::{XorEncoder, XorIter};
use head::{Head, MemSeries};
use persist::{FlushBatch, Persist, PersistError};
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            retention_ms: 15 * 24 * 3600 * 1000,
            retention_size: None,
            fsync_interval: Duration::from_secs(1),
            flush_interval: Duration::from_secs(60),
            wal_segment_size: 64 << 20,
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
    pub wal_replay_dropped_records: AtomicU64,
}

/// What opening found, for logging and tests.
#[derive(Debug, Default, Clone)]
pub struct OpenReport {
    pub series_loaded: usize,
    pub bad_series_rows: usize,
    pub wal: wal::ReplayStats,
    pub replayed_samples: u64,
}

/// A chunk on its way to the database: series id, min t, max t, partial, bytes.
type PendingChunk = (u64, i64, i64, bool, Arc<[u8]>);

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
}

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
        let persist = Persist::open(&dir.join("promterm.db"))?;
        let head = Head::new();
        let mut report = OpenReport::default();
        let mut max_t = i64::MIN;

        let (series, bad) = persist.load_series()?;
        report.series_loaded = series.len();
        report.bad_series_rows = bad;
        for (id, labels) in series {
            let s = head.insert_with_id(id, labels);
            s.persisted.store(true, Ordering::Relaxed);
        }
        for sum in persist.load_summaries()? {
            let Some(s) = head.get(sum.series_id) else {
                continue;
            };
            let mut d = s.data.lock();
            d.min_t = sum.min_t;
            d.persisted_min_t = sum.min_t;
            d.persisted_max_t = sum.last.max_t;
            let mut it = XorIter::new(&sum.last.data);
            if let Some((t, v)) = it.by_ref().last() {
                d.last_t = t;
                d.last_v_bits = v.to_bits();
                max_t = max_t.max(t);
            }
            if sum.last.partial {
                match XorEncoder::resume(&sum.last.data) {
                    Some(enc) => {
                        d.open = Some(enc);
                        d.open_min_t = sum.last.min_t;
                        d.open_dirty = false;
                    }
                    None => {
                        warn!(series = %s.labels, "persisted open chunk is corrupt; starting a new chunk")
                    }
                }
            }
        }

        let wal_dir = dir.join("wal");
        let mut remap: HashMap<u64, Arc<MemSeries>> = HashMap::new();
        let mut replay_stats = AppendStats::default();
        let mut out = Vec::new();
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
                                d.append(t, v);
                                max_t = max_t.max(t);
                            }
                        }
                        None => replay_stats.out_of_order += (j - i) as u64,
                    }
                    i = j;
                }
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
            }),
        };
        info!(
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

    pub fn num_series(&self) -> usize {
        self.inner.head.num_series()
    }

    /// Approximate heap bytes held by the head.
    pub fn head_bytes(&self) -> usize {
        self.inner.head.heap_bytes()
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

    /// Writes sealed and open chunks to the database and drops the WAL segments they cover.
    pub fn flush(&self) -> Result<usize, StorageError> {
        let inner = &*self.inner;
        let _guard = inner.flush_lock.lock();
        struct Taken {
            series: Arc<MemSeries>,
            sealed: usize,
            open: Option<(i64, u16)>,
        }
        let mut taken: Vec<Taken> = Vec::new();
        let mut chunks: Vec<PendingChunk> = Vec::new();
        let mut new_series: Vec<Arc<MemSeries>> = Vec::new();
        let closed = {
            let mut w = inner.wal.lock();
            let closed = w.wal.rotate()?;
            for s in inner.head.all() {
                let d = s.data.lock();
                if !s.persisted.load(Ordering::Relaxed) && s.logged.load(Ordering::Relaxed) {
                    new_series.push(s.clone());
                }
                for c in &d.sealed {
                    chunks.push((s.id, c.min_t, c.max_t, false, c.data.clone()));
                }
                let mut open = None;
                if let Some(c) = d
                    .open
                    .as_ref()
                    .filter(|c| d.open_dirty && c.num_samples() > 0)
                {
                    chunks.push((s.id, d.open_min_t, c.last_t(), true, Arc::from(c.bytes())));
                    open = Some((d.open_min_t, c.num_samples()));
                }
                if !d.sealed.is_empty() || open.is_some() {
                    taken.push(Taken {
                        series: s.clone(),
                        sealed: d.sealed.len(),
                        open,
                    });
                }
            }
            closed
        };
        let batch = FlushBatch {
            series: new_series.iter().map(|s| (s.id, &s.labels)).collect(),
            chunks: chunks
                .iter()
                .map(|(id, a, b, p, d)| (*id, *a, *b, *p, &d[..]))
                .collect(),
        };
        inner.persist.write(&batch)?;
        for s in &new_series {
            s.persisted.store(true, Ordering::Relaxed);
        }
        for t in &taken {
            let mut guard = t.series.data.lock();
            let d = &mut *guard;
            for c in d.sealed.drain(..t.sealed) {
                d.persisted_min_t = d.persisted_min_t.min(c.min_t);
                d.persisted_max_t = d.persisted_max_t.max(c.max_t);
            }
            if let Some((min_t, n)) = t.open {
                let (pmin, pmax) = (
                    d.persisted_min_t.min(min_t),
                    d.persisted_max_t.max(d.last_t),
                );
                d.persisted_min_t = pmin;
                d.persisted_max_t = pmax;
                let unchanged =
                    d.open_min_t == min_t && d.open.as_ref().is_some_and(|c| c.num_samples() == n);
                if unchanged {
                    d.open_dirty = false;
                }
            }
        }
        let removed = inner.wal.lock().wal.remove_up_to(closed)?;
        inner.stats.flushes.fetch_add(1, Ordering::Relaxed);
        debug!(
            chunks = chunks.len(),
            series = new_series.len(),
            wal_segments_removed = removed,
            "flushed"
        );
        Ok(chunks.len())
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
        for s in inner.head.all() {
            let d = s.data.lock();
            let no_head_data = d.open.is_none() && d.sealed.is_empty();
            if no_head_data && (empty.contains(&s.id) || !s.persisted.load(Ordering::Relaxed)) {
                gone.push(s.id);
            }
        }
        inner.persist.delete_series(&gone)?;
        inner.head.remove(&gone.iter().copied().collect());
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
                _ = flush.tick() => {
                    let db = self.clone();
                    let r = tokio::task::spawn_blocking(move || db.flush().and_then(|_| db.apply_retention())).await;
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

impl Appender for Db {
    fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
        let inner = &*self.inner;
        let mut st = AppendStats::default();
        let series: Vec<Arc<MemSeries>> = batch
            .iter()
            .map(|s| {
                let (m, created) = inner.head.get_or_create(&s.labels);
                st.new_series += u64::from(created);
                m
            })
            .collect();
        let mut accepted: Vec<(u64, i64, f64)> =
            Vec::with_capacity(batch.iter().map(|s| s.samples.len()).sum());
        let mut w = inner.wal.lock();
        let WalState { wal, enc } = &mut *w;
        enc.clear();
        enc.series(
            series
                .iter()
                .filter(|s| !s.logged.load(Ordering::Relaxed))
                .map(|s| (s.id, &s.labels)),
        );
        let mut bounds = Vec::with_capacity(series.len());
        for (s, input) in series.iter().zip(batch) {
            let start = accepted.len();
            let d = s.data.lock();
            check_samples(
                d.last_t,
                d.last_v_bits,
                &input.samples,
                s.id,
                &mut accepted,
                &mut st,
            );
            bounds.push((start, accepted.len()));
        }
        enc.samples(&accepted);
        wal.write(&enc.buf)?;
        let mut max_t = i64::MIN;
        for (s, (a, b)) in series.iter().zip(bounds) {
            s.logged.store(true, Ordering::Relaxed);
            if a == b {
                continue;
            }
            let mut d = s.data.lock();
            for &(_, t, v) in &accepted[a..b] {
                d.append(t, v);
            }
            max_t = max_t.max(d.last_t);
        }
        drop(w);
        inner.max_t.fetch_max(max_t, Ordering::Relaxed);
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
        Ok(st)
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
            // Head first, then the database: a flush between the two reads can only make a
            // chunk appear twice (deduplicated below), never vanish.
            let (mut chunks, pmin, pmax) = {
                let d = s.data.lock();
                (
                    d.chunks_in(mint, maxt),
                    d.persisted_min_t,
                    d.persisted_max_t,
                )
            };
            if pmin <= maxt && pmax >= mint {
                let head_starts: HashSet<i64> = chunks.iter().map(|c| c.0).collect();
                for row in self.inner.persist.chunks(s.id, mint, maxt)? {
                    if !head_starts.contains(&row.min_t) {
                        chunks.push((row.min_t, row.max_t, Arc::from(row.data)));
                    }
                }
                chunks.sort_by_key(|c| c.0);
            }
            let mut samples = Vec::new();
            let mut last = i64::MIN;
            for (_, _, data) in &chunks {
                for (t, v) in XorIter::new(data) {
                    if t > last && t >= mint && t <= maxt {
                        samples.push(Sample { t, v });
                        last = t;
                    }
                }
            }
            if !samples.is_empty() {
                out.push(Series {
                    labels: s.labels.clone(),
                    samples,
                });
            }
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
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
