//! The in-memory head: every known series (with its labels and postings) and the recent chunks
//! not yet persisted. Series are found by label hash (sharded maps) or by id; postings map each
//! label pair to the sorted ids that carry it, for matcher selection. The hash is the head's
//! own (`by_hash::pairs_hash`, combined from each string's hash), so that a load hashes each
//! distinct string once.
//!
//! Each series owns an open XOR chunk, cut at 120 samples or at a 2h boundary, plus sealed
//! chunks waiting for the next flush. A series that ever had a native-histogram sample also
//! holds `histogram_head`'s histogram chunks; float and histogram samples share one timeline
//! and a switch between them seals the other kind's open chunk. Strings are interned so
//! repeated names and values share one allocation.
//!
//! After a restart a series' open chunk may stay as the database stored it until an append,
//! seal or deletion reopens it (`SeriesData::reopen`).
//!
//! Loading many series at once is in the child `head_load`. Uses `by_hash` (the maps by label
//! hash), `chunk_rows` (stored rows), `chunkenc`, `histogram_head`, `postings` (matcher
//! selection), `model`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::by_hash::{pairs_hash, str_hash, ByHash};
use super::chunk_rows::{decode_row, RowSamples};
use super::chunkenc::{XorEncoder, SAMPLES_PER_CHUNK};
use super::histogram_head::HistData;
use super::postings;

#[path = "head_load.rs"]
mod load;
use crate::model::{FxMap, HistogramValue, Label, Labels, Matcher, Sym};
pub use load::SymbolSeries;
use load::{align, build_series, file_series, gather_postings, label_series};

pub use super::chunkenc::{range_end, CHUNK_RANGE_MS};
const SHARDS: usize = 64;
/// Selections smaller than this are sorted by comparing labels (see `Head::sort_by_labels`).
const RANKED_SORT_MIN: usize = 4096;

/// A finished chunk waiting to be persisted.
#[derive(Debug, Clone)]
pub struct SealedChunk {
    pub min_t: i64,
    pub max_t: i64,
    pub data: Arc<[u8]>,
}

/// Mutable per-series data.
#[derive(Debug)]
pub struct SeriesData {
    pub open: Option<XorEncoder>,
    /// The open chunk as the database holds it (a float row), left undecoded at a restart
    /// until an append, a seal or a deletion needs it as an encoder (`reopen`): re-encoding
    /// every series' open chunk was most of a restart's work. While it is set, `open` is
    /// `None`, `open_dirty` is false, `open_min_t` is its first time and `last_t` its last, and
    /// `last_v_bits` is not yet known. Queries decode it in place.
    pub stored_open: Option<Box<[u8]>>,
    pub open_min_t: i64,
    /// Whether the open chunk changed since it was last persisted.
    pub open_dirty: bool,
    pub sealed: Vec<SealedChunk>,
    /// Newest sample time and value bits (including persisted data), `i64::MIN` if none.
    pub last_t: i64,
    pub last_v_bits: u64,
    /// Oldest sample time anywhere (head or persisted), `i64::MAX` if none.
    pub min_t: i64,
    /// Time range of persisted chunks, for skipping the database on queries.
    pub persisted_min_t: i64,
    pub persisted_max_t: i64,
    /// Native-histogram samples, for series that ever had one (boxed: float-only series stay
    /// small). At most one of `open` and `hist.open` holds samples: a switch between float and
    /// histogram samples seals the other kind's open chunk, as Prometheus cuts a chunk when
    /// the encoding changes.
    pub hist: Option<Box<HistData>>,
}

impl Default for SeriesData {
    fn default() -> Self {
        SeriesData {
            open: None,
            stored_open: None,
            open_min_t: 0,
            open_dirty: false,
            sealed: Vec::new(),
            last_t: i64::MIN,
            last_v_bits: 0,
            min_t: i64::MAX,
            persisted_min_t: i64::MAX,
            persisted_max_t: i64::MIN,
            hist: None,
        }
    }
}

impl SeriesData {
    /// Turns a stored open chunk (see `stored_open`) into the open encoder, and learns the
    /// newest value from it. A row that does not decode is dropped with a warning (queries
    /// report it as corrupt); the series then keeps `last_t`, so older samples stay refused.
    pub fn reopen(&mut self) {
        let Some(data) = self.stored_open.take() else {
            return;
        };
        match decode_row(&data) {
            Some(RowSamples::Floats(samples)) if !samples.is_empty() => {
                if let Some(&(t, v)) = samples.last() {
                    if t >= self.last_t {
                        self.last_t = t;
                        self.last_v_bits = v.to_bits();
                    }
                }
                self.open = Some(XorEncoder::from_samples(&samples));
            }
            _ => tracing::warn!(
                min_t = self.open_min_t,
                "a stored open chunk does not decode; its samples are left out of the head"
            ),
        }
    }

    /// The stored open chunk (its first time and bytes) if it overlaps [mint, maxt].
    pub fn stored_open_in(&self, mint: i64, maxt: i64) -> Option<(i64, Arc<[u8]>)> {
        self.stored_open
            .as_ref()
            .filter(|_| self.open_min_t <= maxt && self.last_t >= mint)
            .map(|d| (self.open_min_t, Arc::from(&d[..])))
    }

    /// Appends a sample that the caller has already checked is newer than `last_t`. Returns the
    /// bytes of a chunk sealed to make room (0 if none).
    pub fn append(&mut self, t: i64, v: f64) -> usize {
        self.reopen();
        let cut = match &self.open {
            None => true,
            Some(c) => c.num_samples() >= SAMPLES_PER_CHUNK || t >= range_end(self.open_min_t),
        };
        let mut sealed = 0;
        if let Some(h) = &mut self.hist {
            if h.open.is_some() {
                sealed += h.seal();
            }
        }
        if cut {
            sealed += self.seal();
            self.open = Some(XorEncoder::new());
            self.open_min_t = t;
        }
        if let Some(c) = &mut self.open {
            c.append(t, v);
        }
        self.open_dirty = true;
        self.last_t = t;
        self.last_v_bits = v.to_bits();
        self.min_t = self.min_t.min(t);
        sealed
    }

    /// Appends a histogram sample that the caller has already checked is newer than `last_t`.
    /// Returns the bytes of chunks sealed to make room.
    pub fn append_histogram(&mut self, t: i64, h: HistogramValue) -> usize {
        let mut sealed = 0;
        if self.open.is_some() || self.stored_open.is_some() {
            sealed += self.seal();
        }
        let continues = self.newest_is_histogram();
        let hd = self.hist.get_or_insert_with(Box::default);
        self.last_v_bits = h.count_and_sum().1.to_bits();
        sealed += hd.append(t, h, continues);
        self.last_t = t;
        self.min_t = self.min_t.min(t);
        sealed
    }

    /// Whether the series' newest sample is a histogram.
    pub fn newest_is_histogram(&self) -> bool {
        self.last_t != i64::MIN && self.hist.as_ref().is_some_and(|h| h.last_t == self.last_t)
    }

    /// The newest sample's histogram, if the newest sample is one.
    pub fn newest_histogram(&self) -> Option<&HistogramValue> {
        if self.newest_is_histogram() {
            self.hist.as_ref().and_then(|h| h.last.as_ref())
        } else {
            None
        }
    }

    /// Moves the open float chunk (if any) to the sealed list; returns its size in bytes.
    pub fn seal(&mut self) -> usize {
        self.reopen();
        let mut n = 0;
        if let Some(c) = self.open.take() {
            if c.num_samples() > 0 {
                let max_t = c.last_t();
                let data: Arc<[u8]> = c.into_bytes().into();
                n = data.len();
                self.sealed.push(SealedChunk {
                    min_t: self.open_min_t,
                    max_t,
                    data,
                });
            }
        }
        self.open_dirty = false;
        n
    }

    /// Removes the samples in [mint, maxt] from the head chunks (re-encoding what is left of a
    /// chunk, dropping a chunk left empty). `last_t` is kept so older samples stay out of
    /// order. Returns (samples removed, sealed bytes freed).
    pub fn delete_range(&mut self, mint: i64, maxt: i64) -> (usize, usize) {
        self.reopen();
        let (mut removed, mut freed) = (0usize, 0usize);
        let keep = |t: i64| t < mint || t > maxt;
        let mut sealed = Vec::with_capacity(self.sealed.len());
        for c in self.sealed.drain(..) {
            if c.max_t < mint || c.min_t > maxt {
                sealed.push(c);
                continue;
            }
            let all: Vec<(i64, f64)> = super::chunkenc::XorIter::new(&c.data).collect();
            let kept: Vec<(i64, f64)> = all.iter().copied().filter(|s| keep(s.0)).collect();
            removed += all.len() - kept.len();
            freed += c.data.len();
            if let (Some(first), Some(last)) = (kept.first(), kept.last()) {
                let data: Arc<[u8]> = XorEncoder::from_samples(&kept).into_bytes().into();
                freed = freed.saturating_sub(data.len());
                sealed.push(SealedChunk {
                    min_t: first.0,
                    max_t: last.0,
                    data,
                });
            }
        }
        self.sealed = sealed;
        let open_hit = self
            .open
            .as_ref()
            .is_some_and(|c| c.num_samples() > 0 && c.last_t() >= mint && self.open_min_t <= maxt);
        if open_hit {
            let all: Vec<(i64, f64)> = self
                .open
                .as_ref()
                .map_or(Vec::new(), |c| c.iter().collect());
            let kept: Vec<(i64, f64)> = all.iter().copied().filter(|s| keep(s.0)).collect();
            removed += all.len() - kept.len();
            match kept.first() {
                Some(first) => {
                    self.open_min_t = first.0;
                    self.open = Some(XorEncoder::from_samples(&kept));
                }
                None => self.open = None,
            }
            self.open_dirty = true;
        }
        if let Some(h) = &mut self.hist {
            let (r, f) = h.delete_range(mint, maxt);
            removed += r;
            freed += f;
        }
        (removed, freed)
    }

    /// Oldest sample time in head chunks, if any.
    pub fn head_min_t(&self) -> Option<i64> {
        let sealed = self.sealed.iter().map(|c| c.min_t).min();
        let open = (self.open.as_ref().is_some_and(|c| c.num_samples() > 0)
            || self.stored_open.is_some())
        .then_some(self.open_min_t);
        let hist = self.hist.as_ref().and_then(|h| h.head_min_t());
        [sealed, open, hist].into_iter().flatten().min()
    }

    /// Whether any head chunk holds samples.
    pub fn has_head_data(&self) -> bool {
        !self.sealed.is_empty()
            || self.open.as_ref().is_some_and(|c| c.num_samples() > 0)
            || self.stored_open.is_some()
            || self.hist.as_ref().is_some_and(|h| h.has_head_data())
    }

    /// Head chunks in memory (sealed and open, both kinds).
    pub fn num_chunks(&self) -> usize {
        self.sealed.len()
            + usize::from(self.open.is_some() || self.stored_open.is_some())
            + self
                .hist
                .as_ref()
                .map_or(0, |h| h.sealed.len() + usize::from(h.open.is_some()))
    }

    /// Head chunks overlapping [mint, maxt], oldest first, as (min_t, max_t, bytes).
    pub fn chunks_in(&self, mint: i64, maxt: i64) -> Vec<(i64, i64, Arc<[u8]>)> {
        let mut out: Vec<(i64, i64, Arc<[u8]>)> = self
            .sealed
            .iter()
            .filter(|c| c.max_t >= mint && c.min_t <= maxt)
            .map(|c| (c.min_t, c.max_t, c.data.clone()))
            .collect();
        if let Some(c) = &self.open {
            if c.num_samples() > 0 && c.last_t() >= mint && self.open_min_t <= maxt {
                out.push((self.open_min_t, c.last_t(), Arc::from(c.bytes())));
            }
        }
        out
    }

    /// Heap bytes held by chunks.
    pub fn heap_bytes(&self) -> usize {
        self.open.as_ref().map_or(0, XorEncoder::heap_bytes)
            + self.stored_open.as_ref().map_or(0, |d| d.len())
            + self.sealed.iter().map(|c| c.data.len()).sum::<usize>()
            + self.sealed.capacity() * std::mem::size_of::<SealedChunk>()
            + self.hist.as_ref().map_or(0, |h| h.heap_bytes())
    }
}

/// One series in the head.
#[derive(Debug)]
pub struct MemSeries {
    pub id: u64,
    pub labels: Labels,
    pub data: Mutex<SeriesData>,
    /// Its series record is in the WAL (or it was loaded from the database or WAL).
    pub logged: AtomicBool,
    /// Its row is in the database.
    pub persisted: AtomicBool,
    /// Removed from the head (retention); holders of a reference must look it up again.
    pub removed: AtomicBool,
    /// The last append batch that held it (appends are serialised by the WAL lock), to notice
    /// a series appearing twice in one batch.
    pub batch_mark: AtomicU64,
    /// Its place in the label order of all series when the head last ranked them
    /// (`Head::sort_by_labels`); `u32::MAX` until then.
    pub rank: AtomicU32,
}

#[derive(Default)]
struct Index {
    postings: postings::LabelIndex,
    all: Vec<u64>,
    symbols: HashSet<Sym>,
}

fn insert_sorted(v: &mut Vec<u64>, id: u64) {
    match v.last() {
        Some(&last) if last >= id => {
            if let Err(pos) = v.binary_search(&id) {
                v.insert(pos, id);
            }
        }
        _ => v.push(id),
    }
}

impl Index {
    fn intern(&mut self, s: &str) -> Sym {
        if let Some(a) = self.symbols.get(s) {
            return a.clone();
        }
        let a = Sym::new(s);
        self.symbols.insert(a.clone());
        a
    }

    fn add(&mut self, id: u64, labels: &Labels) {
        insert_sorted(&mut self.all, id);
        for l in labels.iter() {
            let values = self.postings.entry(l.name.clone()).or_default();
            insert_sorted(values.entry(l.value.clone()).or_default(), id);
        }
    }

    fn remove(&mut self, ids: &HashSet<u64>, labels: &[Labels]) {
        self.all.retain(|i| !ids.contains(i));
        for ls in labels {
            for l in ls.iter() {
                let mut drop_name = false;
                if let Some(values) = self.postings.get_mut(&l.name) {
                    if let Some(p) = values.get_mut(&l.value) {
                        p.retain(|i| !ids.contains(i));
                        if p.is_empty() {
                            values.remove(&l.value);
                        }
                    }
                    drop_name = values.is_empty();
                }
                if drop_name {
                    self.postings.remove(&l.name);
                }
            }
        }
    }
}

/// All series and their recent data.
pub struct Head {
    shards: Vec<RwLock<ByHash<Arc<MemSeries>>>>,
    by_id: RwLock<FxMap<u64, Arc<MemSeries>>>,
    index: RwLock<Index>,
    next_id: AtomicU64,
    /// Bumped whenever a series is added or removed; `ranked` is its value when the series'
    /// `rank`s were last set (`u64::MAX`: never) and how many series were ranked.
    generation: AtomicU64,
    ranked: Mutex<(u64, usize)>,
}

impl Default for Head {
    fn default() -> Self {
        Self::new()
    }
}

impl Head {
    pub fn new() -> Self {
        Head {
            shards: (0..SHARDS)
                .map(|_| RwLock::new(ByHash::default()))
                .collect(),
            by_id: RwLock::new(FxMap::default()),
            index: RwLock::new(Index::default()),
            next_id: AtomicU64::new(1),
            generation: AtomicU64::new(0),
            ranked: Mutex::new((u64::MAX, 0)),
        }
    }

    pub fn num_series(&self) -> usize {
        self.by_id.read().len()
    }

    fn shard(&self, hash: u64) -> &RwLock<ByHash<Arc<MemSeries>>> {
        &self.shards[(hash as usize) % SHARDS]
    }

    /// Finds the series with these sorted pairs, creating it if new; the bool says "created".
    pub fn get_or_create(&self, pairs: &[(&str, &str)]) -> (Arc<MemSeries>, bool) {
        let hash = pairs_hash(pairs.iter().copied());
        if let Some(s) = self.find(hash, pairs) {
            return (s, false);
        }
        let labels = {
            let mut idx = self.index.write();
            let v: Vec<Label> = pairs
                .iter()
                .map(|(n, v)| Label {
                    name: idx.intern(n),
                    value: idx.intern(v),
                })
                .collect();
            Labels::from_sorted(v)
        };
        let mut shard = self.shard(hash).write();
        // Another writer may have created it meanwhile.
        if let Some(s) = shard.find(hash, |s| s.labels.eq_pairs(pairs.iter().copied())) {
            return (s.clone(), false);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let s = Arc::new(MemSeries {
            id,
            labels,
            data: Mutex::new(SeriesData::default()),
            logged: AtomicBool::new(false),
            persisted: AtomicBool::new(false),
            removed: AtomicBool::new(false),
            batch_mark: AtomicU64::new(0),
            rank: AtomicU32::new(u32::MAX),
        });
        shard.insert(hash, s.clone());
        drop(shard);
        self.by_id.write().insert(id, s.clone());
        self.index.write().add(id, &s.labels);
        self.generation.fetch_add(1, Ordering::Release);
        (s, true)
    }

    /// The series with these sorted pairs, if the head holds it (never creates one).
    pub fn lookup(&self, pairs: &[(&str, &str)]) -> Option<Arc<MemSeries>> {
        self.find(pairs_hash(pairs.iter().copied()), pairs)
    }

    fn find(&self, hash: u64, pairs: &[(&str, &str)]) -> Option<Arc<MemSeries>> {
        self.shard(hash)
            .read()
            .find(hash, |s| s.labels.eq_pairs(pairs.iter().copied()))
            .cloned()
    }

    /// Adds a series with a known id (loading from the database or WAL). Returns the series
    /// already holding those labels if there is one.
    pub fn insert_with_id(&self, id: u64, labels: Labels) -> Arc<MemSeries> {
        let hash = head_hash(&labels);
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|l| (l.name.as_ref(), l.value.as_ref()))
            .collect();
        if let Some(s) = self.find(hash, &pairs) {
            return s;
        }
        if let Some(s) = self.by_id.read().get(&id) {
            return s.clone();
        }
        let labels = {
            let mut idx = self.index.write();
            Labels::from_sorted(
                labels
                    .iter()
                    .map(|l| Label {
                        name: idx.intern(&l.name),
                        value: idx.intern(&l.value),
                    })
                    .collect(),
            )
        };
        let s = Arc::new(MemSeries {
            id,
            labels,
            data: Mutex::new(SeriesData::default()),
            logged: AtomicBool::new(true),
            persisted: AtomicBool::new(false),
            removed: AtomicBool::new(false),
            batch_mark: AtomicU64::new(0),
            rank: AtomicU32::new(u32::MAX),
        });
        self.shard(hash).write().insert(hash, s.clone());
        self.by_id.write().insert(id, s.clone());
        self.index.write().add(id, &s.labels);
        self.generation.fetch_add(1, Ordering::Release);
        self.next_id.fetch_max(id + 1, Ordering::Relaxed);
        s
    }

    /// Adds many series with known ids at once (loading the database): `symbols` are distinct
    /// label strings and each series names its label pairs by index into them, sorted by name
    /// as `Labels` are. Like [`Head::insert_with_id`] for each, but with every lock taken once
    /// and postings built per distinct pair: a series whose labels or id the head already
    /// holds is skipped, as is one naming a symbol out of range. The series count as logged;
    /// `persisted` sets their persisted flag.
    ///
    /// The series' data comes last: `data` is called once labels, hashes and postings are
    /// ready (a caller reads the data meanwhile), and each series' data is `to_data` of the
    /// item with its id (empty without one; items naming no series are passed over). Returns
    /// the newest `last_t` among those added (`i64::MIN` if none), or `data`'s error.
    pub fn insert_many<D: Send, E>(
        &self,
        symbols: &[Arc<str>],
        series: SymbolSeries,
        data: impl FnOnce() -> Result<Vec<(u64, D)>, E>,
        to_data: impl Fn(D) -> SeriesData + Sync,
        persisted: bool,
    ) -> Result<i64, E> {
        let mut idx = self.index.write();
        let symbols: Vec<Sym> = symbols.iter().map(|s| idx.intern(s)).collect();
        // Each distinct string is hashed once; a series' hash combines those of its pairs.
        let hashes: Vec<u64> = symbols.iter().map(|s| str_hash(s)).collect();
        let labeled = label_series(&symbols, &hashes, &series);
        let (mut postings, mut all) = gather_postings(&series, &labeled, None);
        let data = align(&series.ids, data()?);
        let (built, mut max_t) = build_series(&series, labeled, data, &to_data, persisted);
        let mut by_id = self.by_id.write();
        let mut shards: Vec<_> = self.shards.iter().map(|s| s.write()).collect();
        let kept = file_series(&built, &mut by_id, &mut shards);
        drop(shards);
        drop(by_id);
        if kept.iter().any(|k| !k) {
            // Some were already known (damaged rows only): gather again without them.
            let only: FxMap<usize, i64> = built
                .iter()
                .zip(&kept)
                .filter(|(_, k)| **k)
                .map(|(b, _)| (b.2, b.1.data.lock().last_t))
                .collect();
            max_t = only.values().copied().max().unwrap_or(i64::MIN);
            (postings, all) = gather_postings(&series, &[], Some(&only));
        }
        let max_id = all.iter().copied().max().unwrap_or(0);
        for id in all {
            insert_sorted(&mut idx.all, id);
        }
        for ((n, v), ids) in postings {
            if ids.is_empty() {
                continue;
            }
            let (name, value) = (symbols[n as usize].clone(), symbols[v as usize].clone());
            let list = idx
                .postings
                .entry(name)
                .or_default()
                .entry(value)
                .or_default();
            if list.is_empty() {
                *list = ids;
            } else {
                for id in ids {
                    insert_sorted(list, id);
                }
            }
        }
        self.next_id.fetch_max(max_id + 1, Ordering::Relaxed);
        // Series were added: label ranks are stale.
        self.generation.fetch_add(1, Ordering::Release);
        Ok(max_t)
    }

    /// Keeps ids up to `id` from new series (ids of stored rows that could not be loaded).
    pub fn reserve_ids(&self, id: u64) {
        self.next_id
            .fetch_max(id.saturating_add(1), Ordering::Relaxed);
    }

    pub fn get(&self, id: u64) -> Option<Arc<MemSeries>> {
        self.by_id.read().get(&id).cloned()
    }

    /// Every series (unordered).
    pub fn all(&self) -> Vec<Arc<MemSeries>> {
        self.by_id.read().values().cloned().collect()
    }

    /// Removes series from every map.
    pub fn remove(&self, ids: &HashSet<u64>) {
        let removed: Vec<Arc<MemSeries>> = {
            let mut by_id = self.by_id.write();
            ids.iter().filter_map(|i| by_id.remove(i)).collect()
        };
        for s in &removed {
            s.removed.store(true, Ordering::Relaxed);
            let hash = head_hash(&s.labels);
            self.shard(hash).write().remove(hash, |x| x.id == s.id);
        }
        let labels: Vec<Labels> = removed.iter().map(|s| s.labels.clone()).collect();
        self.index.write().remove(ids, &labels);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Sorts series by their labels. A selection of at least half the head (a query over
    /// `{__name__=~".+"}`, say) is placed by the series' ranks in the label order of all
    /// series (ranked again when series were added or removed since): no comparisons, one
    /// pass. Two series with one rank (a series added meanwhile has none) fall back to
    /// comparing labels, as smaller selections do.
    pub fn sort_by_labels(&self, v: &mut Vec<Arc<MemSeries>>) {
        let by_labels = |a: &Arc<MemSeries>, b: &Arc<MemSeries>| a.labels.cmp(&b.labels);
        let total = self.num_series();
        if v.len() < RANKED_SORT_MIN || v.len() * 2 < total || total >= u32::MAX as usize {
            v.sort_unstable_by(by_labels);
            return;
        }
        let ranked = {
            let mut ranked = self.ranked.lock();
            let generation = self.generation.load(Ordering::Acquire);
            if ranked.0 != generation {
                let mut all = self.all();
                all.sort_unstable_by(by_labels);
                for (i, s) in all.iter().enumerate() {
                    s.rank.store(i as u32, Ordering::Relaxed);
                }
                *ranked = (generation, all.len());
            }
            ranked.1
        };
        let mut slots: Vec<Option<Arc<MemSeries>>> = vec![None; ranked];
        let mut clash = Vec::new();
        for s in v.drain(..) {
            let r = s.rank.load(Ordering::Relaxed) as usize;
            match slots.get_mut(r) {
                Some(slot @ None) => *slot = Some(s),
                _ => clash.push(s),
            }
        }
        v.extend(slots.into_iter().flatten());
        if !clash.is_empty() {
            v.append(&mut clash);
            v.sort_unstable_by(by_labels);
        }
    }

    /// Sorted ids of series matching every matcher (Prometheus's `PostingsForMatchers`;
    /// see `postings`): selected from the index, then the matchers left to check are
    /// checked on the few candidates' own labels.
    pub fn postings(&self, matchers: &[Matcher]) -> Vec<u64> {
        let sel = {
            let idx = self.index.read();
            postings::select(&idx.postings, &idx.all, matchers)
        };
        if sel.check.is_empty() {
            return sel.ids;
        }
        let by_id = self.by_id.read();
        sel.ids
            .into_iter()
            .filter(|id| {
                by_id.get(id).is_some_and(|s| {
                    sel.check
                        .iter()
                        .all(|m| m.matches(s.labels.get(&m.name).unwrap_or("")))
                })
            })
            .collect()
    }

    /// The series with these ids that the head holds, in the order given (one lock for
    /// all of them).
    pub fn get_many(&self, ids: &[u64]) -> Vec<Arc<MemSeries>> {
        let by_id = self.by_id.read();
        ids.iter().filter_map(|id| by_id.get(id).cloned()).collect()
    }

    /// Label names present, sorted.
    pub fn label_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .index
            .read()
            .postings
            .keys()
            .map(|k| k.to_string())
            .collect();
        v.sort();
        v
    }

    /// Values of `name`, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .index
            .read()
            .postings
            .get(name)
            .map(|vals| vals.keys().map(|k| k.to_string()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Approximate heap bytes held by the head (index, labels, chunks), for reporting.
    pub fn heap_bytes(&self) -> usize {
        let idx = self.index.read();
        let postings: usize = idx
            .postings
            .values()
            .map(|vals| vals.values().map(|p| p.capacity() * 8 + 48).sum::<usize>() + 64)
            .sum();
        let symbols: usize = idx.symbols.iter().map(|s| s.len() + 16 + 16).sum();
        let series: usize = self
            .by_id
            .read()
            .values()
            .map(|s| {
                // The series and its Arc counts, its labels and theirs, its chunks, and its
                // entries in the maps by hash and by id (16 bytes each, at their load).
                std::mem::size_of::<MemSeries>()
                    + 16
                    + s.labels.len() * std::mem::size_of::<Label>()
                    + 16
                    + s.data.lock().heap_bytes()
                    + 40
            })
            .sum();
        postings + symbols + series + idx.all.capacity() * 8
    }
}

/// The head's hash of a label set (see `by_hash`).
fn head_hash(labels: &Labels) -> u64 {
    pairs_hash(labels.iter().map(|l| (l.name.as_ref(), l.value.as_ref())))
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
