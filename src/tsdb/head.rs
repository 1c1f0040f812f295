//! The in-memory head: every known series (with its labels and postings) and the recent chunks
//! not yet persisted. Series are found by label hash (sharded maps) or by id; postings map each
//! label pair to the sorted ids that carry it, for matcher selection.
//!
//! Each series owns an open XOR chunk, cut at 120 samples or at a 2h boundary, plus sealed
//! chunks waiting for the next flush. A series that ever had a native-histogram sample also
//! holds `histogram_head`'s histogram chunks; float and histogram samples share one timeline
//! and a switch between them seals the other kind's open chunk. Strings are interned so
//! repeated names and values share one allocation.
//!
//! Uses `by_hash` (the maps by label hash), `chunkenc`, `histogram_head`, `postings` (matcher
//! selection), `model`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::by_hash::ByHash;
use super::chunkenc::{XorEncoder, SAMPLES_PER_CHUNK};
use super::histogram_head::HistData;
use super::postings;
use crate::model::{hash_pairs, FxMap, HistogramValue, Label, Labels, Matcher, Sym};

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
    /// Appends a sample that the caller has already checked is newer than `last_t`. Returns the
    /// bytes of a chunk sealed to make room (0 if none).
    pub fn append(&mut self, t: i64, v: f64) -> usize {
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
        if self.open.is_some() {
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
        let open = self
            .open
            .as_ref()
            .filter(|c| c.num_samples() > 0)
            .map(|_| self.open_min_t);
        let hist = self.hist.as_ref().and_then(|h| h.head_min_t());
        [sealed, open, hist].into_iter().flatten().min()
    }

    /// Whether any head chunk holds samples.
    pub fn has_head_data(&self) -> bool {
        !self.sealed.is_empty()
            || self.open.as_ref().is_some_and(|c| c.num_samples() > 0)
            || self.hist.as_ref().is_some_and(|h| h.has_head_data())
    }

    /// Head chunks in memory (sealed and open, both kinds).
    pub fn num_chunks(&self) -> usize {
        self.sealed.len()
            + usize::from(self.open.is_some())
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

/// A series for [`Head::insert_many`]: its id, its label pairs as (name, value) indexes into
/// a table of strings, and its data.
pub type SymbolSeries = (u64, Vec<(u32, u32)>, SeriesData);

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
        let hash = hash_pairs(pairs.iter().copied());
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
        self.find(hash_pairs(pairs.iter().copied()), pairs)
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
        let hash = labels.stable_hash();
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
    /// `persisted` sets their persisted flag. Returns the newest `last_t` among those added
    /// (`i64::MIN` if none).
    pub fn insert_many(
        &self,
        symbols: &[Arc<str>],
        series: Vec<SymbolSeries>,
        persisted: bool,
    ) -> i64 {
        let mut idx = self.index.write();
        let symbols: Vec<Sym> = symbols.iter().map(|s| idx.intern(s)).collect();
        let mut by_id = self.by_id.write();
        by_id.reserve(series.len());
        let mut shards: Vec<_> = self.shards.iter().map(|s| s.write()).collect();
        for s in &mut shards {
            s.reserve(series.len() / SHARDS + 1);
        }
        let mut postings: FxMap<(u32, u32), Vec<u64>> = FxMap::default();
        let (mut max_id, mut max_t) = (0, i64::MIN);
        for (id, pairs, data) in series {
            let Some(list) = pairs
                .iter()
                .map(|&(n, v)| {
                    Some(Label {
                        name: symbols.get(n as usize)?.clone(),
                        value: symbols.get(v as usize)?.clone(),
                    })
                })
                .collect::<Option<Vec<Label>>>()
            else {
                continue;
            };
            let labels = Labels::from_sorted(list);
            let hash = labels.stable_hash();
            let shard = &mut shards[(hash as usize) % SHARDS];
            let known = shard.find(hash, |s| s.labels == labels).is_some();
            if known || by_id.contains_key(&id) {
                continue;
            }
            for &p in &pairs {
                insert_sorted(postings.entry(p).or_default(), id);
            }
            insert_sorted(&mut idx.all, id);
            max_t = max_t.max(data.last_t);
            let s = Arc::new(MemSeries {
                id,
                labels,
                data: Mutex::new(data),
                logged: AtomicBool::new(true),
                persisted: AtomicBool::new(persisted),
                removed: AtomicBool::new(false),
                batch_mark: AtomicU64::new(0),
                rank: AtomicU32::new(u32::MAX),
            });
            shard.insert(hash, s.clone());
            by_id.insert(id, s);
            max_id = max_id.max(id);
        }
        for ((n, v), ids) in postings {
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
        max_t
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
            let hash = s.labels.stable_hash();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MatchOp;

    fn head_with(series: &[&[(&str, &str)]]) -> Head {
        let h = Head::new();
        for s in series {
            let mut p = s.to_vec();
            p.sort();
            h.get_or_create(&p);
        }
        h
    }

    fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
        Matcher::new(op, n, v).unwrap()
    }

    #[test]
    fn get_or_create_is_idempotent() {
        let h = Head::new();
        let (a, new_a) = h.get_or_create(&[("__name__", "up"), ("job", "x")]);
        let (b, new_b) = h.get_or_create(&[("__name__", "up"), ("job", "x")]);
        assert!(new_a && !new_b);
        assert_eq!(a.id, b.id);
        assert_eq!(h.num_series(), 1);
    }

    #[test]
    fn postings_follow_prometheus_semantics() {
        let h = head_with(&[
            &[("__name__", "up"), ("job", "api"), ("env", "prod")],
            &[("__name__", "up"), ("job", "node")],
            &[("__name__", "cpu"), ("job", "node"), ("env", "dev")],
        ]);
        let ids = |ms: &[Matcher]| h.postings(ms).len();
        assert_eq!(ids(&[m(MatchOp::Equal, "__name__", "up")]), 2);
        assert_eq!(
            ids(&[
                m(MatchOp::Equal, "__name__", "up"),
                m(MatchOp::Equal, "job", "node")
            ]),
            1
        );
        assert_eq!(ids(&[m(MatchOp::Regex, "job", "api|node")]), 3);
        assert_eq!(
            ids(&[m(MatchOp::Regex, "job", "no")]),
            0,
            "regex is anchored"
        );
        // != and !~ keep series without the label.
        assert_eq!(
            ids(&[
                m(MatchOp::Equal, "__name__", "up"),
                m(MatchOp::NotEqual, "env", "prod")
            ]),
            1
        );
        assert_eq!(ids(&[m(MatchOp::NotRegex, "env", "prod|dev")]), 1);
        // env="" selects series without env.
        assert_eq!(ids(&[m(MatchOp::Equal, "env", "")]), 1);
        assert_eq!(ids(&[m(MatchOp::Regex, "env", ".+")]), 2);
        assert_eq!(ids(&[m(MatchOp::Equal, "nope", "x")]), 0);
        assert_eq!(h.label_names(), ["__name__", "env", "job"]);
        assert_eq!(h.label_values("job"), ["api", "node"]);
    }

    #[test]
    fn chunks_cut_at_120_samples_and_2h_boundaries() {
        let mut d = SeriesData::default();
        for i in 0..250 {
            d.append(i * 1000, i as f64);
        }
        assert_eq!(d.sealed.len(), 2);
        assert_eq!(d.open.as_ref().unwrap().num_samples(), 10);
        let mut d = SeriesData::default();
        d.append(CHUNK_RANGE_MS - 1000, 1.0);
        d.append(CHUNK_RANGE_MS, 2.0);
        assert_eq!(
            d.sealed.len(),
            1,
            "a sample at the boundary starts a new chunk"
        );
        assert_eq!(d.open_min_t, CHUNK_RANGE_MS);
        assert_eq!(range_end(-1), 0);
    }

    #[test]
    fn insert_many_matches_one_by_one_inserts_and_skips_known_series() {
        let syms: Vec<Arc<str>> = ["__name__", "up", "job", "a", "b", "cpu"]
            .into_iter()
            .map(Arc::from)
            .collect();
        let h = Head::new();
        h.insert_with_id(9, Labels::from_pairs([("__name__", "cpu")]));
        let data = |t| SeriesData {
            last_t: t,
            ..SeriesData::default()
        };
        let max_t = h.insert_many(
            &syms,
            vec![
                (3, vec![(0, 1), (2, 3)], data(30)),
                (5, vec![(0, 1), (2, 4)], data(50)),
                // the labels of series 3, the id of series 9, a symbol out of range
                (6, vec![(0, 1), (2, 3)], data(60)),
                (9, vec![(0, 1)], data(90)),
                (7, vec![(0, 1), (2, 40)], data(70)),
                // the labels series 9 has
                (8, vec![(0, 5)], data(80)),
            ],
            true,
        );
        assert_eq!(max_t, 50, "only added series count");
        assert_eq!(h.num_series(), 3);
        let ids = |ms: &[Matcher]| h.postings(ms);
        assert_eq!(ids(&[m(MatchOp::Equal, "__name__", "up")]), [3, 5]);
        assert_eq!(ids(&[m(MatchOp::Equal, "job", "b")]), [5]);
        assert_eq!(ids(&[m(MatchOp::Regex, "__name__", ".+")]), [3, 5, 9]);
        assert_eq!(h.label_values("__name__"), ["cpu", "up"]);
        let s = h.lookup(&[("__name__", "up"), ("job", "a")]).unwrap();
        assert_eq!((s.id, s.data.lock().last_t), (3, 30));
        assert!(s.persisted.load(Ordering::Relaxed) && s.logged.load(Ordering::Relaxed));
        // Shared strings: the head's symbol table holds the restored ones.
        let (n, _) = h.get_or_create(&[("__name__", "up"), ("job", "c")]);
        assert_eq!(n.id, 10);
        assert!(Sym::ptr_eq(
            &n.labels.iter().next().unwrap().value,
            &s.labels.iter().next().unwrap().value
        ));
    }

    #[test]
    fn remove_clears_indexes() {
        let h = head_with(&[&[("__name__", "a")], &[("__name__", "b")]]);
        let id = h.postings(&[m(MatchOp::Equal, "__name__", "a")])[0];
        h.remove(&HashSet::from([id]));
        assert_eq!(h.num_series(), 1);
        assert_eq!(h.label_values("__name__"), ["b"]);
        let (_, created) = h.get_or_create(&[("__name__", "a")]);
        assert!(created);
    }
}

#[cfg(test)]
mod sort_tests {
    use super::*;

    fn label_sorted(v: &[Arc<MemSeries>]) -> Vec<u64> {
        let mut w = v.to_vec();
        w.sort_by(|a, b| a.labels.cmp(&b.labels));
        w.iter().map(|s| s.id).collect()
    }

    /// The ranked sort answers as comparing labels does: first ranking, steady series,
    /// series added after the ranking (stale ranks), removed series, a half selection.
    #[test]
    fn ranked_sort_agrees_with_comparing_labels() {
        let h = Head::new();
        let add = |i: u64| {
            let (name, id) = (
                format!("m{}", (i * 7919) % 13),
                format!("{}", (i * 104_729) % 100_003),
            );
            h.get_or_create(&[("__name__", name.as_str()), ("id", id.as_str())]);
        };
        (0..6000).for_each(add);
        for round in 0..4 {
            let mut all = h.all();
            let want = label_sorted(&all);
            h.sort_by_labels(&mut all);
            assert_eq!(
                all.iter().map(|s| s.id).collect::<Vec<_>>(),
                want,
                "round {round}"
            );
            match round {
                0 => {}
                1 => {
                    // New series get no rank until the next sort: must still come out right.
                    (6000..6100).for_each(add);
                    h.ranked.lock().0 = h.generation.load(Ordering::Acquire);
                }
                _ => {
                    let gone: HashSet<u64> = h.all().iter().take(50).map(|s| s.id).collect();
                    h.remove(&gone);
                }
            }
        }
        let mut half: Vec<Arc<MemSeries>> = h.all().into_iter().step_by(2).collect();
        let want = label_sorted(&half);
        h.sort_by_labels(&mut half);
        assert_eq!(half.iter().map(|s| s.id).collect::<Vec<_>>(), want);
    }
}
