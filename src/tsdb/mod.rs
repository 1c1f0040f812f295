//! The embedded time-series store: an in-memory head, a write-ahead log, and sealed chunks
//! persisted in SQLite (docs/storage.md has the durability promise).
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
//! Files, from the bottom: `varint` (byte varints), `chunkenc` (XOR chunks and the persisted
//! chunk format), `by_hash` (maps by hash, used by `head`), `head` (series and chunks in
//! memory), `wal` (the log), `persist` (SQLite); this file holds the store's state and small
//! accessors; the store's steps build on it: `append`, `query`, `delete`, `flush`,
//! `retention`, then `open` (uses append and delete) and `upkeep` (the background task; uses
//! flush and retention). Exemplars: `exemplar_ring` (the bounded buffer) and `exemplars`
//! (their appends, WAL records, queries and checkpoints), used by `append`, `query`, `flush`
//! and `open`.
//!
//! Native histograms: `histogram_layout`, `histogram_chunk` and `float_histogram_chunk` (the
//! chunk encodings), `histogram_head` (a series' histogram chunks in the head, used by `head`),
//! `chunk_rows` (the persisted row format of every sample kind, used by `persist`, `query`,
//! `open`), `wal_histogram` (the WAL record payload). A series keeps float and histogram samples
//! on one timeline, each kind in its own chunks, with at most one open chunk.
//!
//! Uses `model`, `storage`; rusqlite stays in `persist` and its read pool `readers`.

mod append;
mod by_hash;
mod chunk_rows;
pub mod chunkenc;
mod compact;
mod delete;
mod exemplar_ring;
mod exemplars;
pub mod float_histogram_chunk;
mod flush;
pub mod head;
pub mod histogram_chunk;
pub mod histogram_head;
mod histogram_layout;
mod open;
mod packed;
mod persist;
mod postings;
mod query;
mod readers;
mod retention;
mod series_labels;
mod upkeep;
mod varint;
pub mod wal;
mod wal_histogram;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::model::Labels;
use crate::storage::StorageError;
use head::Head;
use persist::{Persist, PersistError};
use wal::{Encoder, Wal};

pub use exemplar_ring::{DEFAULT_MAX_EXEMPLARS, MAX_LABELS_CHARS as MAX_EXEMPLAR_LABELS_CHARS};
pub use exemplars::ExemplarFigures;

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
    /// Exemplars kept in the buffer shared by all series (0 = no exemplar storage).
    pub max_exemplars: usize,
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
            max_exemplars: exemplar_ring::DEFAULT_MAX_EXEMPLARS,
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
    pub replayed_exemplars: u64,
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
    /// The exemplar buffer (locked after the WAL lock when both are held).
    exemplars: Mutex<exemplar_ring::ExemplarRing>,
}

/// Most damaged series remembered for the report.
const MAX_CORRUPT_REPORTED: usize = 1000;

impl Db {
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

    /// Takes `bytes` (sealed chunks persisted or deleted) off the bytes waiting for a flush,
    /// never below zero.
    fn forget_sealed(&self, bytes: u64) {
        let sealed = &self.inner.sealed_bytes;
        let mut cur = sealed.load(Ordering::Relaxed);
        while let Err(now) = sealed.compare_exchange_weak(
            cur,
            cur.saturating_sub(bytes),
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            cur = now;
        }
    }

    /// Series found with damaged stored data so far (sorted; at most 1000).
    pub fn corrupt_series(&self) -> Vec<String> {
        self.inner.corrupt_series.lock().iter().cloned().collect()
    }

    pub fn num_series(&self) -> usize {
        self.inner.head.num_series()
    }

    /// Approximate heap bytes held by the head (with the exemplar buffer).
    pub fn head_bytes(&self) -> usize {
        self.inner.head.heap_bytes() + self.exemplar_bytes()
    }

    /// Chunks held in memory (sealed and open), and the oldest and newest sample times of
    /// the stored data (`None` when empty), for `/api/v1/status/tsdb`.
    pub fn head_stats(&self) -> (usize, Option<(i64, i64)>) {
        let mut chunks = 0usize;
        let mut min_t = i64::MAX;
        for s in self.inner.head.all() {
            let d = s.data.lock();
            chunks += d.num_chunks();
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
}

#[cfg(test)]
mod chunks_many_tests;
#[cfg(test)]
mod compact_tests;
#[cfg(test)]
mod histogram_chunk_figures_tests;
#[cfg(test)]
mod histogram_chunk_prometheus_tests;
#[cfg(test)]
mod histogram_chunk_recode_tests;
#[cfg(test)]
mod histogram_chunk_tests;
#[cfg(test)]
mod open_tests;
#[cfg(test)]
mod packed_tests;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod exemplar_tests;
#[cfg(test)]
mod histogram_store_tests;
