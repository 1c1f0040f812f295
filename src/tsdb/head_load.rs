//! Loading many series into the head at once (`Head::insert_many`, at a store's open): the
//! series as label-pair indexes end to end, their labels and hashes, their postings, the series
//! objects built with their data on every core, and their filing into the head's two maps.
//!
//! A child of `head` (it fills the head's maps); uses `by_hash` and `model`.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::sync::Arc;

use parking_lot::Mutex;

use super::super::by_hash::{ByHash, PairsHash};
use super::{insert_sorted, MemSeries, SeriesData, SHARDS};
use crate::model::{FxMap, Label, Labels, Sym};

/// Series for [`Head::insert_many`], end to end (one allocation for all their pairs, not one
/// each): their ids, their label pairs as (name, value) indexes into a table of strings, sorted
/// by name as `Labels` are.
#[derive(Default)]
pub struct SymbolSeries {
    pub(super) ids: Vec<u64>,
    /// Where each series' pairs end in `pairs`.
    ends: Vec<u32>,
    pairs: Vec<(u32, u32)>,
}

impl SymbolSeries {
    /// Adds a series.
    pub fn push(&mut self, id: u64, pairs: impl IntoIterator<Item = (u32, u32)>) {
        self.pairs.extend(pairs);
        self.ids.push(id);
        self.ends.push(self.pairs.len() as u32);
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The pairs of the `i`th series.
    pub(super) fn pairs_of(&self, i: usize) -> &[(u32, u32)] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.pairs[start..self.ends[i] as usize]
    }
}

/// A series built for [`Head::insert_many`]: its label hash, the series, and its place in
/// the `SymbolSeries`.
pub(super) type Built = (u64, Arc<MemSeries>, usize);

/// The items of `data` in the order of `ids`: the one with each id, if any.
pub(super) fn align<D>(ids: &[u64], data: Vec<(u64, D)>) -> Vec<Option<D>> {
    let mut out: Vec<Option<D>> = Vec::with_capacity(ids.len());
    if ids.is_sorted_by(|a, b| a < b) && data.is_sorted_by(|a, b| a.0 < b.0) {
        // Both ascending (as loading reads them): one pass side by side.
        let mut data = data.into_iter().peekable();
        for &id in ids {
            while data.next_if(|d| d.0 < id).is_some() {}
            out.push(data.next_if(|d| d.0 == id).map(|d| d.1));
        }
    } else {
        let mut by_id: FxMap<u64, D> = data.into_iter().collect();
        out.extend(ids.iter().map(|id| by_id.remove(id)));
    }
    out
}

/// Each series' labels (from `symbols`) and hash (combined from the symbols' `hashes`),
/// aligned with `series`; `None` for a series naming a symbol out of range.
pub(super) fn label_series(
    symbols: &[Sym],
    hashes: &[u64],
    series: &SymbolSeries,
) -> Vec<Option<(u64, Labels)>> {
    (0..series.len())
        .map(|i| {
            let pairs = series.pairs_of(i);
            let mut list = Vec::with_capacity(pairs.len());
            let mut hash = PairsHash::default();
            for &(n, v) in pairs {
                let (n, v) = (n as usize, v as usize);
                list.push(Label {
                    name: symbols.get(n)?.clone(),
                    value: symbols.get(v)?.clone(),
                });
                hash.pair(hashes[n], hashes[v]);
            }
            Some((hash.finish(), Labels::from_sorted(list)))
        })
        .collect()
}

/// Builds the series objects from their labels and data (both aligned with `series`), spread
/// over the cores. Returns them and the newest `last_t` among them.
pub(super) fn build_series<D: Send>(
    series: &SymbolSeries,
    mut labeled: Vec<Option<(u64, Labels)>>,
    mut data: Vec<Option<D>>,
    to_data: &(impl Fn(D) -> SeriesData + Sync),
    persisted: bool,
) -> (Vec<Built>, i64) {
    let build_range =
        |start: usize, labeled: &mut [Option<(u64, Labels)>], data: &mut [Option<D>]| {
            let mut max_t = i64::MIN;
            let built: Vec<Built> = (start..)
                .zip(labeled.iter_mut().zip(data.iter_mut()))
                .filter_map(|(i, (l, d))| {
                    let (hash, labels) = l.take()?;
                    let data = d.take().map_or_else(SeriesData::default, to_data);
                    max_t = max_t.max(data.last_t);
                    let s = Arc::new(MemSeries {
                        id: series.ids[i],
                        labels,
                        data: Mutex::new(data),
                        logged: AtomicBool::new(true),
                        persisted: AtomicBool::new(persisted),
                        removed: AtomicBool::new(false),
                        batch_mark: AtomicU64::new(0),
                        rank: AtomicU32::new(u32::MAX),
                    });
                    Some((hash, s, i))
                })
                .collect();
            (built, max_t)
        };
    let n = series.len();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads < 2 || n < 10_000 {
        return build_range(0, &mut labeled, &mut data);
    }
    let per = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = labeled
            .chunks_mut(per)
            .zip(data.chunks_mut(per))
            .enumerate()
            .map(|(k, (l, d))| scope.spawn(move || build_range(k * per, l, d)))
            .collect();
        let mut out = (Vec::with_capacity(n), i64::MIN);
        for h in handles {
            let (built, max_t) = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            out.0.extend(built);
            out.1 = out.1.max(max_t);
        }
        out
    })
}

/// Files built series by id and by label hash, in order; one whose id or labels are already
/// there (before or earlier in `built`) is not kept. Returns which were kept.
///
/// The two maps are filled on two threads, each keeping what is new to it; when both kept
/// every series (a load without repeats), that is the answer. Otherwise what they added is
/// taken out again and the series are filed one by one, so that a repeat seen by one map
/// alone cannot keep out a series the other would have kept.
pub(super) fn file_series(
    built: &[Built],
    by_id: &mut FxMap<u64, Arc<MemSeries>>,
    shards: &mut [parking_lot::RwLockWriteGuard<'_, ByHash<Arc<MemSeries>>>],
) -> Vec<bool> {
    by_id.reserve(built.len());
    for s in shards.iter_mut() {
        s.reserve(built.len() / SHARDS + 1);
    }
    let by_hash = |shards: &mut [parking_lot::RwLockWriteGuard<'_, ByHash<Arc<MemSeries>>>]| {
        built
            .iter()
            .map(|(hash, s, _)| {
                let shard = &mut shards[(*hash as usize) % SHARDS];
                if shard.find(*hash, |x| x.labels == s.labels).is_some() {
                    return false;
                }
                shard.insert(*hash, s.clone());
                true
            })
            .collect::<Vec<bool>>()
    };
    let by_id_kept = |by_id: &mut FxMap<u64, Arc<MemSeries>>| {
        built
            .iter()
            .map(|(_, s, _)| match by_id.entry(s.id) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(s.clone());
                    true
                }
            })
            .collect::<Vec<bool>>()
    };
    let (kept_hash, kept_id) = if built.len() < 10_000 {
        (by_hash(shards), by_id_kept(by_id))
    } else {
        std::thread::scope(|scope| {
            let ids = scope.spawn(|| by_id_kept(by_id));
            let hashes = by_hash(shards);
            let ids = ids.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            (hashes, ids)
        })
    };
    if kept_hash.iter().all(|k| *k) && kept_id.iter().all(|k| *k) {
        return kept_hash;
    }
    for (((hash, s, _), h), i) in built.iter().zip(&kept_hash).zip(&kept_id) {
        if *h {
            shards[(*hash as usize) % SHARDS].remove(*hash, |x| Arc::ptr_eq(x, s));
        }
        if *i {
            by_id.remove(&s.id);
        }
    }
    built
        .iter()
        .map(|(hash, s, _)| {
            let shard = &mut shards[(*hash as usize) % SHARDS];
            let known = shard.find(*hash, |x| x.labels == s.labels).is_some();
            if known || by_id.contains_key(&s.id) {
                return false;
            }
            shard.insert(*hash, s.clone());
            by_id.insert(s.id, s.clone());
            true
        })
        .collect()
}

/// Postings by label pair (as indexes into the symbols of a load) and the ids of all series.
pub(super) type Gathered = (FxMap<(u32, u32), Vec<u64>>, Vec<u64>);

/// The postings of the series (ids ascending when the series' are) and their ids: those with
/// labels in `labeled`, or, given `only`, those whose place is in it.
pub(super) fn gather_postings(
    series: &SymbolSeries,
    labeled: &[Option<(u64, Labels)>],
    only: Option<&FxMap<usize, i64>>,
) -> Gathered {
    let mut postings: FxMap<(u32, u32), Vec<u64>> = FxMap::default();
    let mut all = Vec::with_capacity(series.len());
    for (i, &id) in series.ids.iter().enumerate() {
        let keep = match only {
            Some(only) => only.contains_key(&i),
            None => labeled.get(i).is_some_and(Option::is_some),
        };
        if !keep {
            continue;
        }
        for &p in series.pairs_of(i) {
            insert_sorted(postings.entry(p).or_default(), id);
        }
        all.push(id);
    }
    (postings, all)
}
