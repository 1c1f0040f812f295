//! The write path: finds or creates series, rejects out-of-order and duplicate samples per
//! sample (counted), writes the accepted ones to the WAL in one write, then appends them to the
//! head, all under the ingest (WAL) lock so the WAL order matches the head order.
//!
//! Uses the store core (`super`), `head`, `wal`, `model`, `storage`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::head::MemSeries;
use super::{Db, WalState};
use crate::model::{FxMap, Sample};
use crate::storage::{
    AppendStats, Appender, ExemplarInput, ExemplarStats, SeriesInput, SeriesRef, StorageError,
};

/// Accepts samples newer than the series' newest; returns the accepted slice bounds in `out`.
pub(super) fn check_samples(
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

    fn append_exemplars(&self, batch: &[ExemplarInput<'_>]) -> Result<ExemplarStats, StorageError> {
        self.store_exemplars(batch)
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
