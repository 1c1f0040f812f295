//! Opening a store, in named steps: open the database (or rebuild it from what can be read when
//! it is damaged), load the persisted series and their partial chunks, replay the WAL (a
//! corrupt tail is truncated; exemplar records refill the exemplar buffer), start a new WAL
//! segment, then re-apply replayed deletions. Histogram records replay like float ones; an open
//! histogram chunk row reopens byte for byte.
//!
//! Loading reads the series rows and the chunk summaries at once on two connections. Labels
//! are decoded straight into a table of distinct strings (each stored label pair looked up once
//! by its id) and `Head::insert_many` makes the labels, hashes and postings while the other
//! thread still streams the summaries into small per-series records; the series objects are
//! then built with their data on every core. A float open chunk is kept as stored until an
//! append needs it.
//!
//! Uses the store core (`super`) and its `append` (sample checks), `delete` and `exemplars`
//! steps, `flush`'s memory release, `exemplar_ring`, `head`, `histogram_head`, `chunk_rows`,
//! `chunkenc`, `persist`, `wal`, `model`, `storage`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tracing::{debug, warn};

use super::append::{check_histograms, check_samples, Newest};
use super::chunk_rows::{decode_row, histogram_chunk_of, is_float_row, RowSamples};
use super::chunkenc::XorEncoder;
use super::exemplar_ring::ExemplarRing;
use super::exemplars::replay_exemplars;
use super::flush::release_free_memory;
use super::head::{Head, MemSeries, SeriesData, SymbolSeries};
use super::histogram_head::OpenHistChunk;
use super::persist::{self, Persist, PersistError, SeriesSummary};
use super::series_labels::{spelled_pairs, Stored};
use super::wal::{self, Encoder, Record, Wal};
use super::{Db, Inner, OpenReport, Options, Stats, WalState, DB_FILE, REPAIR_MARKER};
use crate::model::{FxMap, HistogramSample, Labels, Sample};
use crate::storage::{AppendStats, StorageError};

/// The series rows of the database.
struct SeriesRows {
    /// The distinct label strings of the series.
    symbols: Vec<Arc<str>>,
    /// Each series' id and label pairs (indexes into `symbols`), ascending by id.
    series: SymbolSeries,
    /// The highest series row id, loaded or not.
    max_id: u64,
    /// Series rows that could not be decoded.
    bad_series_rows: usize,
}

/// What the database held at open, in a head.
struct Loaded {
    head: Head,
    /// The newest sample time stored.
    max_t: i64,
    /// Series rows loaded, and those that could not be decoded.
    series_loaded: usize,
    bad_series_rows: usize,
}

/// Distinct strings, numbered in order of first sight.
#[derive(Default)]
struct Symbols {
    ids: FxMap<Arc<str>, u32>,
    list: Vec<Arc<str>>,
}

impl Symbols {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let a: Arc<str> = Arc::from(s);
        let i = self.list.len() as u32;
        self.list.push(a.clone());
        self.ids.insert(a, i);
        i
    }
}

/// What replaying the WAL added to the head.
#[derive(Default)]
struct Replayed {
    stats: AppendStats,
    /// Bytes of chunks sealed during replay (they wait for a flush).
    sealed_bytes: u64,
    max_t: Option<i64>,
    /// Deletions found in the WAL, to re-apply to the database.
    deletes: Vec<(u64, i64, i64)>,
    /// Exemplars put back into the buffer.
    exemplars: u64,
}

impl Db {
    /// Opens (creating if needed) the store in `dir`: loads persisted series, reopens partial
    /// chunks, replays the WAL (truncating a corrupt tail), and starts a new WAL segment.
    pub fn open(dir: &Path, opts: Options) -> Result<(Db, OpenReport), StorageError> {
        std::fs::create_dir_all(dir)?;
        let started = Instant::now();
        let mut report = OpenReport::default();
        let (persist, loaded) = open_database(dir, &mut report)?;
        report.series_loaded = loaded.series_loaded;
        report.bad_series_rows = loaded.bad_series_rows;
        let (head, persisted_max_t) = (loaded.head, loaded.max_t);
        let load_done = Instant::now();
        let wal_dir = dir.join("wal");
        let mut ring = ExemplarRing::new(opts.max_exemplars);
        let (wal_stats, replayed) = replay_wal(&head, &mut ring, &wal_dir)?;
        let replay_done = Instant::now();
        report.replayed_exemplars = replayed.exemplars;
        report.wal = wal_stats;
        report.replayed_samples = replayed.stats.accepted;
        if let Some(c) = &report.wal.corruption {
            warn!(
                dropped_records = report.wal.dropped_records,
                dropped_bytes = report.wal.dropped_bytes,
                "WAL corruption at {c}; truncated there"
            );
        }
        let wal = Wal::open(&wal_dir, opts.wal_segment_size)?;
        let max_t = persisted_max_t.max(replayed.max_t.unwrap_or(i64::MIN));
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
                sealed_bytes: AtomicU64::new(replayed.sealed_bytes),
                flush_soon: tokio::sync::Notify::new(),
                batches: AtomicU64::new(0),
                wal_holds: Mutex::new(HashMap::new()),
                corrupt_series: Mutex::default(),
                exemplars: Mutex::new(ring),
            }),
        };
        db.reapply_deletes(&replayed.deletes)?;
        db.note_lost_in_repair(&report);
        // Loading leaves freed buffers (rows, decoded samples) behind: hand them back.
        release_free_memory();
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        debug!(
            series = db.inner.head.num_series(),
            wal_records = report.wal.records,
            replayed_samples = report.replayed_samples,
            load_ms = ms(started, load_done),
            replay_ms = ms(load_done, replay_done),
            total_ms = ms(started, Instant::now()),
            "storage open"
        );
        Ok((db, report))
    }

    /// Re-applies deletions replayed from the WAL to the database: a crash may have come
    /// between the WAL record and the database transaction. The ranges end at each series'
    /// newest sample when deleted, so re-applying them never touches later samples.
    fn reapply_deletes(&self, deletes: &[(u64, i64, i64)]) -> Result<(), StorageError> {
        if deletes.is_empty() {
            return Ok(());
        }
        let _guard = self.inner.flush_lock.lock();
        let _w = self.inner.wal.lock();
        self.delete_persisted(deletes)?;
        self.drop_empty(deletes.iter().map(|r| r.0))
    }

    /// Reports the series whose stored chunks a repair could not copy.
    fn note_lost_in_repair(&self, report: &OpenReport) {
        let Some(repair) = &report.repair else {
            return;
        };
        for &id in &repair.damaged_series {
            if let Some(s) = self.inner.head.get(id) {
                self.note_corrupt(
                    &s.labels,
                    "stored chunks were lost when the database was rebuilt",
                );
            }
        }
    }
}

/// Opens the database and loads its series and chunk summaries. A damaged database (found now,
/// or by a query or flush before, which leaves the REPAIR marker) is rebuilt from what can be
/// read; the damaged file is kept aside and the rebuild is recorded in `report`.
fn open_database(dir: &Path, report: &mut OpenReport) -> Result<(Persist, Loaded), StorageError> {
    let db_path = dir.join(DB_FILE);
    let marker = dir.join(REPAIR_MARKER);
    let damage = if marker.exists() {
        "a query or flush found damaged pages".to_string()
    } else {
        match Persist::open(&db_path).and_then(|p| load(&p).map(|l| (p, l))) {
            Ok(x) => return Ok(x),
            Err(e) if e.is_corrupt() => e.to_string(),
            Err(e) => return Err(e.into()),
        }
    };
    tracing::error!("the database is damaged ({damage}); rebuilding it from what can be read");
    let r = persist::repair(&db_path)?;
    tracing::error!(
        series = r.series_copied,
        chunks = r.chunks_copied,
        lost = %r.lost.join(", "),
        damaged_series = r.damaged_series.len(),
        kept_at = %r.kept_at,
        "database rebuilt"
    );
    match std::fs::remove_file(&marker) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        // The database is whole now; a marker left behind only costs a second rebuild.
        Err(e) => warn!(
            "cannot remove {}: {e}; the next start rebuilds the database again",
            marker.display()
        ),
    }
    report.repair = Some(r);
    let p = Persist::open(&db_path)?;
    let l = load(&p)?;
    Ok((p, l))
}

/// Reads the series rows and the chunk summaries at once, on two connections, into a new head:
/// the series go into the head (built on every core) while another thread still turns the
/// summaries into each series' head state, which is filled in after.
fn load(p: &Persist) -> Result<Loaded, PersistError> {
    std::thread::scope(|scope| {
        let data = scope.spawn(|| -> Result<Vec<(u64, Restored)>, PersistError> {
            let t = Instant::now();
            let mut data = Vec::new();
            p.visit_summaries(|sum| data.push(restored(sum)))?;
            debug!(
                ms = t.elapsed().as_secs_f64() * 1e3,
                "chunk summaries loaded"
            );
            Ok(data)
        });
        let t = Instant::now();
        let rows = load_series(p)?;
        debug!(ms = t.elapsed().as_secs_f64() * 1e3, "series rows read");
        let head = Head::new();
        head.reserve_ids(rows.max_id);
        let series_loaded = rows.series.len();
        // The head's labels and postings are made while the summaries are still read.
        let data = || data.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        // Summaries of ids without a series in the head (none are written) are passed over.
        let max_t =
            head.insert_many(&rows.symbols, rows.series, data, Restored::into_data, true)?;
        debug!(ms = t.elapsed().as_secs_f64() * 1e3, "series rows loaded");
        Ok(Loaded {
            head,
            max_t,
            series_loaded,
            bad_series_rows: rows.bad_series_rows,
        })
    })
}

/// A stored label pair as indexes into the table of distinct strings, with what the check
/// for normal labels needs: the name's rank in name order, and whether the value is empty.
#[derive(Clone, Copy)]
struct PairRef {
    name: u32,
    value: u32,
    rank: u32,
    empty: bool,
}

/// Stored label pairs by id: a table indexed by id when the ids are dense (they are row ids,
/// so they are unless many pairs were deleted), else a map.
enum PairTable {
    Dense(Vec<Option<PairRef>>),
    Sparse(FxMap<u64, PairRef>),
}

impl PairTable {
    fn new(pairs: &[(u64, u32, u32)]) -> Self {
        let max = pairs.iter().map(|p| p.0).max().unwrap_or(0);
        if max <= 4 * pairs.len() as u64 + 1024 {
            PairTable::Dense(vec![None; max as usize + 1])
        } else {
            PairTable::Sparse(FxMap::default())
        }
    }

    fn insert(&mut self, id: u64, r: PairRef) {
        match self {
            PairTable::Dense(v) => {
                if let Some(slot) = v.get_mut(id as usize) {
                    *slot = Some(r);
                }
            }
            PairTable::Sparse(m) => {
                m.insert(id, r);
            }
        }
    }

    fn get(&self, id: u64) -> Option<PairRef> {
        match self {
            PairTable::Dense(v) => v.get(usize::try_from(id).ok()?).copied().flatten(),
            PairTable::Sparse(m) => m.get(&id).copied(),
        }
    }
}

/// The series rows, their labels as pairs of indexes into a table of distinct strings. Each
/// stored label pair is looked up by its strings once, not once per series that uses it.
fn load_series(p: &Persist) -> Result<SeriesRows, PersistError> {
    let mut symbols = Symbols::default();
    let mut pair_list: Vec<(u64, u32, u32)> = Vec::new();
    p.visit_label_pairs(|id, n, v| pair_list.push((id, symbols.id(n), symbols.id(v))))?;
    // Rank the names in string order, so that a series' names are checked in order by number.
    let mut names: Vec<u32> = pair_list.iter().map(|p| p.1).collect();
    names.sort_unstable();
    names.dedup();
    names.sort_unstable_by(|a, b| symbols.list[*a as usize].cmp(&symbols.list[*b as usize]));
    let mut rank = vec![0u32; symbols.list.len()];
    for (r, &n) in names.iter().enumerate() {
        rank[n as usize] = r as u32;
    }
    let mut pairs = PairTable::new(&pair_list);
    for &(id, n, v) in &pair_list {
        let r = PairRef {
            name: n,
            value: v,
            rank: rank[n as usize],
            empty: symbols.list[v as usize].is_empty(),
        };
        pairs.insert(id, r);
    }
    drop(pair_list);
    let mut series = SymbolSeries::default();
    let (mut bad, mut max_id) = (0, 0);
    let mut found: Vec<PairRef> = Vec::with_capacity(16);
    p.visit_series(|id, stored| {
        // Even a row that cannot be loaded keeps its id from new series.
        max_id = max_id.max(id);
        let refs = match stored {
            Stored::Ids(ids) => {
                found.clear();
                for id in ids {
                    match pairs.get(*id) {
                        Some(r) => found.push(r),
                        None => {
                            bad += 1;
                            return;
                        }
                    }
                }
                // Stored labels are sorted with unique names and no empty values; a row that
                // is not is normalised as `Labels::from_pairs` would.
                let normal = found.windows(2).all(|w| w[0].rank < w[1].rank)
                    && found.iter().all(|r| !r.empty);
                if normal {
                    if found.is_empty() {
                        bad += 1;
                    } else {
                        series.push(id, found.iter().map(|r| (r.name, r.value)));
                    }
                    return;
                } else {
                    let list = &symbols.list;
                    let strs = found
                        .iter()
                        .map(|r| (&*list[r.name as usize], &*list[r.value as usize]));
                    let labels = Labels::from_pairs(strs);
                    labels
                        .iter()
                        .map(|l| (symbols.id(&l.name), symbols.id(&l.value)))
                        .collect()
                }
            }
            Stored::Spelled(blob) => match spelled_pairs(blob) {
                Some(spelled) => Labels::from_pairs(spelled)
                    .iter()
                    .map(|l| (symbols.id(&l.name), symbols.id(&l.value)))
                    .collect(),
                None => {
                    bad += 1;
                    return;
                }
            },
            Stored::Damaged => {
                bad += 1;
                return;
            }
        };
        let refs: Vec<(u32, u32)> = refs;
        if refs.is_empty() {
            bad += 1;
        } else {
            series.push(id, refs);
        }
    })?;
    Ok(SeriesRows {
        symbols: symbols.list,
        series,
        max_id,
        bad_series_rows: bad,
    })
}

/// A persisted series' head state, small while it waits for the head to be built: most series
/// only have a float open chunk kept as stored.
enum Restored {
    /// The series' oldest time, and its open chunk's first and last times and bytes.
    Stored {
        min_t: i64,
        open_min_t: i64,
        last_t: i64,
        bytes: Box<[u8]>,
    },
    Built(Box<SeriesData>),
}

impl Restored {
    fn into_data(self) -> SeriesData {
        match self {
            Restored::Stored {
                min_t,
                open_min_t,
                last_t,
                bytes,
            } => SeriesData {
                min_t,
                persisted_min_t: min_t,
                persisted_max_t: last_t,
                last_t,
                open_min_t,
                stored_open: Some(bytes),
                ..SeriesData::default()
            },
            Restored::Built(d) => *d,
        }
    }
}

/// A persisted series' head state from its chunk summary, kept small: a float open chunk newer
/// than every sealed row stays as stored until it is needed (`SeriesData::reopen`), so nothing
/// needs decoding now; anything else goes through [`series_data`].
fn restored(mut sum: SeriesSummary) -> (u64, Restored) {
    let sealed_max_t = sum.last_sealed.as_ref().map_or(i64::MIN, |c| c.max_t);
    let stored = |o: &persist::ChunkRow| {
        is_float_row(&o.data) && o.max_t > sealed_max_t && o.min_t <= o.max_t
    };
    if let Some(o) = sum.open.take_if(|o| stored(o)) {
        let r = Restored::Stored {
            min_t: sum.min_t,
            open_min_t: o.min_t,
            last_t: o.max_t,
            bytes: o.data.into_boxed_slice(),
        };
        return (sum.series_id, r);
    }
    let (id, d) = series_data(sum);
    (id, Restored::Built(Box::new(d)))
}

/// A persisted series' head state from its chunk summary when its open chunk cannot stay as
/// stored (see [`restored`]): stored time range, newest sample, and its open chunk decoded.
fn series_data(sum: SeriesSummary) -> (u64, SeriesData) {
    let mut d = SeriesData {
        min_t: sum.min_t,
        persisted_min_t: sum.min_t,
        ..SeriesData::default()
    };
    let mut newest: Option<(i64, f64)> = None;
    let mut newest_hist: Option<HistogramSample> = None;
    for (c, open) in [(&sum.last_sealed, false), (&sum.open, true)] {
        let Some(c) = c else { continue };
        d.persisted_max_t = d.persisted_max_t.max(c.max_t);
        let Some(samples) = decode_row(&c.data) else {
            warn!(
                series_id = sum.series_id,
                min_t = c.min_t,
                "persisted chunk is corrupt; skipped"
            );
            continue;
        };
        match samples {
            RowSamples::Floats(samples) => {
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
            RowSamples::Histograms(mut samples) => {
                if open && !samples.is_empty() {
                    let chunk = histogram_chunk_of(&c.data)
                        .and_then(|(form, b)| OpenHistChunk::from_bytes(form, b));
                    let h = d.hist.get_or_insert_with(Box::default);
                    h.open = chunk;
                    h.open_min_t = c.min_t;
                    h.open_dirty = false;
                }
                if let Some(last) = samples.pop() {
                    if newest_hist.as_ref().is_none_or(|n| last.t > n.t) {
                        newest_hist = Some(last);
                    }
                }
            }
        }
    }
    let float_t = newest.map_or(i64::MIN, |n| n.0);
    match newest_hist {
        Some(h) if h.t > float_t => {
            d.last_t = h.t;
            d.last_v_bits = h.h.count_and_sum().1.to_bits();
            let hd = d.hist.get_or_insert_with(Box::default);
            hd.last_t = h.t;
            hd.last = Some(h.h);
        }
        _ => {
            if let Some((t, v)) = newest {
                d.last_t = t;
                d.last_v_bits = v.to_bits();
            }
        }
    }
    (sum.series_id, d)
}

/// Replays the WAL in `wal_dir` into the head: series records create series, sample records
/// are checked and appended like live appends, deletions apply to the head and are collected
/// for the database.
fn replay_wal(
    head: &Head,
    ring: &mut ExemplarRing,
    wal_dir: &Path,
) -> Result<(wal::ReplayStats, Replayed), StorageError> {
    let mut remap: HashMap<u64, Arc<MemSeries>> = HashMap::new();
    let mut r = Replayed::default();
    let mut max_t = i64::MIN;
    let mut out = Vec::new();
    let mut hout = Vec::new();
    let stats = wal::replay(wal_dir, |rec| match rec {
        Record::Series(list) => {
            for (id, labels) in list {
                let s = head.insert_with_id(id, labels);
                remap.insert(id, s);
            }
        }
        Record::Samples(samples) => {
            // Runs of samples of one series.
            for run in samples.chunk_by(|a, b| a.0 == b.0) {
                let id = run[0].0;
                let Some(s) = remap.get(&id).cloned().or_else(|| head.get(id)) else {
                    r.stats.out_of_order += run.len() as u64;
                    continue;
                };
                let mut d = s.data.lock();
                let run: Vec<Sample> = run.iter().map(|&(_, t, v)| Sample { t, v }).collect();
                out.clear();
                let n = Newest::of(&mut d);
                check_samples(n.t, n.bits, &run, s.id, &mut out, &mut r.stats);
                for &(_, t, v) in &out {
                    r.sealed_bytes += d.append(t, v) as u64;
                    max_t = max_t.max(t);
                }
            }
        }
        Record::Delete(ranges) => {
            for &(id, mint, maxt) in &ranges {
                if let Some(s) = remap.get(&id).cloned().or_else(|| head.get(id)) {
                    s.data.lock().delete_range(mint, maxt);
                }
            }
            r.deletes.extend(ranges);
        }
        Record::Exemplars(list) | Record::ExemplarCheckpoint(list) => {
            let labels = |id| {
                remap
                    .get(&id)
                    .cloned()
                    .or_else(|| head.get(id))
                    .map(|s| s.labels.clone())
            };
            r.exemplars += replay_exemplars(ring, list, labels);
        }
        Record::Histograms(list) => {
            for run in list.chunk_by(|a, b| a.0 == b.0) {
                let id = run[0].0;
                let Some(s) = remap.get(&id).cloned().or_else(|| head.get(id)) else {
                    r.stats.out_of_order += run.len() as u64;
                    continue;
                };
                let mut d = s.data.lock();
                let run: Vec<HistogramSample> = run.iter().map(|(_, h)| h.clone()).collect();
                hout.clear();
                check_histograms(
                    d.last_t,
                    d.newest_histogram(),
                    &run,
                    id,
                    &mut hout,
                    &mut r.stats,
                );
                for (_, h) in hout.drain(..) {
                    max_t = max_t.max(h.t);
                    r.sealed_bytes += d.append_histogram(h.t, h.h) as u64;
                }
            }
        }
    })?;
    r.max_t = (max_t != i64::MIN).then_some(max_t);
    Ok((stats, r))
}
