//! The write path: finds or creates series, rejects out-of-order and duplicate samples per
//! sample (counted), writes the accepted ones to the WAL in one write, then appends them to the
//! head, all under the ingest (WAL) lock so the WAL order matches the head order.
//!
//! Native histograms take the same path (`append_histograms`, `append_histogram_refs`): a
//! histogram failing validation is refused (`invalid`), the others are ordered on the series'
//! one timeline with its floats (repeat = same time and bit-identical histogram). A float stale
//! NaN for a series whose newest sample is a histogram is stored as a histogram stale marker of
//! the same form, as Prometheus's head does; its WAL record precedes the write's float samples.
//!
//! Uses the store core (`super`), `head`, `histogram_head`, `wal`, `model`, `storage`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::head::{MemSeries, SeriesData};
use super::histogram_head::HistForm;
use super::{Db, WalState};
use crate::model::FloatHistogram;
use crate::model::{is_stale_nan, FxMap, Histogram, HistogramSample, HistogramValue, Sample};
use crate::storage::{
    AppendStats, Appender, ExemplarInput, ExemplarStats, HistogramInput, SeriesInput, SeriesRef,
    StorageError,
};

/// Accepts samples newer than the series' newest; returns the accepted slice bounds in `out`.
/// `last_bits` is `None` when the newest sample is a histogram (a float at its time is a
/// duplicate, never a repeat).
pub(super) fn check_samples(
    last_t: i64,
    last_bits: Option<u64>,
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
            lb = Some(bits);
            st.accepted += 1;
        } else if s.t == lt {
            if Some(bits) == lb {
                st.repeated += 1;
            } else {
                st.duplicate += 1;
            }
        } else {
            st.out_of_order += 1;
        }
    }
}

/// What a series' newest sample is, for checking the next ones.
#[derive(Debug, Clone, Copy)]
pub(super) struct Newest {
    pub t: i64,
    /// Its value bits when it is a float.
    pub bits: Option<u64>,
    /// Its form when it is a histogram.
    pub hist: Option<HistForm>,
}

impl Newest {
    /// (Reopens a stored open chunk first: its newest value is not known before.)
    pub fn of(d: &mut SeriesData) -> Newest {
        d.reopen();
        match d.newest_histogram() {
            Some(h) => Newest {
                t: d.last_t,
                bits: None,
                hist: Some(HistForm::of(h)),
            },
            None => Newest {
                t: d.last_t,
                bits: Some(d.last_v_bits),
                hist: None,
            },
        }
    }
}

/// A histogram stale marker of `form` (Prometheus's: an empty histogram whose sum is the stale
/// NaN).
pub(super) fn stale_histogram(form: HistForm, sum: f64) -> HistogramValue {
    match form {
        HistForm::Int => HistogramValue::Int(Histogram {
            sum,
            ..Histogram::default()
        }),
        HistForm::Float => HistogramValue::Float(FloatHistogram {
            sum,
            ..FloatHistogram::default()
        }),
    }
}

/// For a series whose newest sample is a histogram (of `form`, at `last_t`): the leading
/// float stale markers newer than it become histogram stale markers in `out`; leading samples
/// at or before it are counted (a float at a histogram's time is a duplicate). Returns the
/// samples left, starting at the first live float (which ends the histogram run).
pub(super) fn convert_stale<'a>(
    last_t: i64,
    form: HistForm,
    samples: &'a [Sample],
    id: u64,
    out: &mut Vec<(u64, HistogramSample)>,
    st: &mut AppendStats,
) -> &'a [Sample] {
    let mut lt = last_t;
    for (i, s) in samples.iter().enumerate() {
        if s.t > lt {
            if !is_stale_nan(s.v) {
                return &samples[i..];
            }
            out.push((
                id,
                HistogramSample {
                    t: s.t,
                    h: stale_histogram(form, s.v),
                },
            ));
            lt = s.t;
            st.accepted += 1;
        } else if s.t == lt {
            st.duplicate += 1;
        } else {
            st.out_of_order += 1;
        }
    }
    &[]
}

/// Accepts histograms newer than the series' newest sample (`last_t`; `prev` is the newest
/// histogram when the newest sample is one) into `out`; counts the others: a histogram failing
/// validation is `invalid`, one at the newest time a repeat when bit-identical to the newest
/// histogram, else a duplicate; older ones are out of order.
pub(super) fn check_histograms(
    last_t: i64,
    prev: Option<&HistogramValue>,
    samples: &[HistogramSample],
    id: u64,
    out: &mut Vec<(u64, HistogramSample)>,
    st: &mut AppendStats,
) {
    let mut lt = last_t;
    let mut prev_at: Option<usize> = None;
    for s in samples {
        if s.h.validate().is_err() {
            st.invalid += 1;
        } else if s.t > lt {
            prev_at = Some(out.len());
            out.push((id, s.clone()));
            lt = s.t;
            st.accepted += 1;
        } else if s.t == lt {
            let p = match prev_at {
                Some(i) => Some(&out[i].1.h),
                None => prev,
            };
            if p.is_some_and(|p| p.same_bits(&s.h)) {
                st.repeated += 1;
            } else {
                st.duplicate += 1;
            }
        } else {
            st.out_of_order += 1;
        }
    }
}

/// One series of a write by labels: its sorted label pairs and its samples of one kind.
type ByLabels<'a, T> = (&'a [(&'a str, &'a str)], &'a [T]);

/// Appends already-resolved items (series, their samples of one kind); returns the indices of
/// items whose series was removed meanwhile.
type AppendResolved<T> =
    fn(&Db, &[(&MemSeries, &[T])], &mut AppendStats) -> Result<Vec<usize>, StorageError>;

impl Db {
    /// Appends per-series lists by label set, for floats and histograms alike: series are
    /// found or created; one removed between lookup and append is looked up (re-created)
    /// again.
    fn append_by_labels<T>(
        &self,
        batch: &[ByLabels<'_, T>],
        append: AppendResolved<T>,
    ) -> Result<AppendStats, StorageError> {
        let mut st = AppendStats::default();
        let mut todo: Vec<&ByLabels<'_, T>> = batch.iter().collect();
        while !todo.is_empty() {
            let series: Vec<Arc<MemSeries>> = todo
                .iter()
                .map(|s| {
                    let (m, created) = self.inner.head.get_or_create(s.0);
                    st.new_series += u64::from(created);
                    m
                })
                .collect();
            let items: Vec<(&MemSeries, &[T])> =
                series.iter().zip(&todo).map(|(m, b)| (&**m, b.1)).collect();
            let skipped = append(self, &items, &mut st)?;
            todo = skipped.into_iter().map(|i| todo[i]).collect();
        }
        Ok(st)
    }

    /// Appends one sample per referenced series, for floats and histograms alike; returns
    /// the positions of stale handles.
    fn append_by_refs<T>(
        &self,
        batch: &[(&SeriesRef, T)],
        append: AppendResolved<T>,
    ) -> Result<(AppendStats, Vec<usize>), StorageError> {
        let mut st = AppendStats::default();
        let mut gone = Vec::new();
        let mut items: Vec<(&MemSeries, &[T])> = Vec::with_capacity(batch.len());
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
        for k in append(self, &items, &mut st)? {
            gone.push(at[k]);
        }
        gone.sort_unstable();
        Ok((st, gone))
    }
}

impl Appender for Db {
    fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
        let batch: Vec<ByLabels<'_, Sample>> = batch
            .iter()
            .map(|s| (&s.labels[..], &s.samples[..]))
            .collect();
        self.append_by_labels(&batch, Db::append_resolved)
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
        self.append_by_refs(batch, Db::append_resolved)
    }

    fn append_histograms(&self, batch: &[HistogramInput<'_>]) -> Result<AppendStats, StorageError> {
        let batch: Vec<ByLabels<'_, HistogramSample>> = batch
            .iter()
            .map(|s| (&s.labels[..], &s.histograms[..]))
            .collect();
        self.append_by_labels(&batch, Db::append_resolved_histograms)
    }

    fn append_histogram_refs(
        &self,
        batch: &[(&SeriesRef, HistogramSample)],
    ) -> Result<(AppendStats, Vec<usize>), StorageError> {
        self.append_by_refs(batch, Db::append_resolved_histograms)
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
        let mut pending: FxMap<u64, Newest> = FxMap::default();
        // Float stale markers for series whose newest sample is a histogram become histogram
        // stale markers (as Prometheus's head does); they precede the series' floats.
        let mut stale_hists: Vec<(u64, HistogramSample)> = Vec::new();
        let mut hist_bounds = Vec::with_capacity(items.len());
        for (s, samples) in items {
            let known = if repeats {
                pending.get(&s.id).copied()
            } else {
                None
            };
            let mut n = match known {
                Some(p) => p,
                None => Newest::of(&mut s.data.lock()),
            };
            let hs = stale_hists.len();
            let mut samples = *samples;
            if let Some(form) = n.hist {
                samples = convert_stale(n.t, form, samples, s.id, &mut stale_hists, st);
                if let Some(last) = stale_hists[hs..].last() {
                    n.t = last.1.t;
                }
            }
            hist_bounds.push((hs, stale_hists.len()));
            let start = accepted.len();
            check_samples(n.t, n.bits, samples, s.id, &mut accepted, st);
            if repeats {
                if let Some(&(_, t, v)) = accepted[start..].last() {
                    n = Newest {
                        t,
                        bits: Some(v.to_bits()),
                        hist: None,
                    };
                }
                pending.insert(s.id, n);
            }
            bounds.push((start, accepted.len()));
        }
        if !stale_hists.is_empty() {
            enc.histograms(stale_hists.iter().map(|(id, h)| (*id, h)));
        }
        enc.samples(&accepted);
        let written = wal.write(&enc.buf);
        enc.clear();
        written?;
        let mut max_t = i64::MIN;
        let mut sealed = 0u64;
        for (((s, _), (a, b)), (ha, hb)) in items.iter().zip(bounds).zip(hist_bounds) {
            s.logged.store(true, Ordering::Relaxed);
            if a == b && ha == hb {
                continue;
            }
            let mut d = s.data.lock();
            for (_, h) in &stale_hists[ha..hb] {
                sealed += d.append_histogram(h.t, h.h.clone()) as u64;
            }
            for &(_, t, v) in &accepted[a..b] {
                sealed += d.append(t, v) as u64;
            }
            max_t = max_t.max(d.last_t);
        }
        drop(w);
        self.after_append(max_t, sealed, st);
        Ok(skipped)
    }

    /// `append_resolved` for histogram samples: WAL first (series records, then one
    /// histograms record), then the head, under the ingest lock.
    fn append_resolved_histograms(
        &self,
        items: &[(&MemSeries, &[HistogramSample])],
        st: &mut AppendStats,
    ) -> Result<Vec<usize>, StorageError> {
        let inner = &*self.inner;
        let mut w = inner.wal.lock();
        let mut skipped = Vec::new();
        let mut live: Vec<(&MemSeries, &[HistogramSample])> = Vec::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            if it.0.removed.load(Ordering::Relaxed) {
                skipped.push(i);
            } else {
                live.push(*it);
            }
        }
        let WalState { wal, enc } = &mut *w;
        enc.clear();
        enc.series(
            live.iter()
                .filter(|s| !s.0.logged.load(Ordering::Relaxed))
                .map(|s| (s.0.id, &s.0.labels)),
        );
        let mut accepted: Vec<(u64, HistogramSample)> = Vec::new();
        let mut bounds = Vec::with_capacity(live.len());
        // A series appearing earlier in the batch: the index of its last accepted histogram.
        let mut pending: FxMap<u64, usize> = FxMap::default();
        for (s, samples) in &live {
            let start = accepted.len();
            match pending.get(&s.id).copied() {
                Some(at) => {
                    let prev = accepted[at].1.clone();
                    check_histograms(prev.t, Some(&prev.h), samples, s.id, &mut accepted, st);
                }
                None => {
                    let d = s.data.lock();
                    let prev = d.newest_histogram();
                    check_histograms(d.last_t, prev, samples, s.id, &mut accepted, st);
                }
            }
            if accepted.len() > start {
                pending.insert(s.id, accepted.len() - 1);
            }
            bounds.push((start, accepted.len()));
        }
        enc.histograms(accepted.iter().map(|(id, h)| (*id, h)));
        let written = wal.write(&enc.buf);
        enc.clear();
        written?;
        let mut max_t = i64::MIN;
        let mut sealed = 0u64;
        // The accepted histograms move into the head (in order: the bounds are consecutive).
        let mut taken = accepted.into_iter();
        for ((s, _), (a, b)) in live.iter().zip(bounds) {
            s.logged.store(true, Ordering::Relaxed);
            if a == b {
                continue;
            }
            let mut d = s.data.lock();
            for (_, h) in taken.by_ref().take(b - a) {
                sealed += d.append_histogram(h.t, h.h) as u64;
            }
            max_t = max_t.max(d.last_t);
        }
        drop(w);
        self.after_append(max_t, sealed, st);
        Ok(skipped)
    }

    /// Bookkeeping after an append: the newest time, bytes sealed (a flush is due past the
    /// limit), and the store's counters.
    fn after_append(&self, max_t: i64, sealed: u64, st: &AppendStats) {
        let inner = &*self.inner;
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
    }
}
