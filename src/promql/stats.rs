//! Query statistics as Prometheus reports them with `stats=...` (util/stats in Prometheus):
//! the time spent in each phase (`Timings`, seconds), and the samples a query read
//! (`Samples`): `totalQueryableSamples`, the points each step selected from storage, summed
//! over the steps (an instant selector's point per series, every point of a range
//! selector's window, a subquery's inner evaluations as if run afresh at each step; a
//! native-histogram point weighs its size over a float point's, as Prometheus's
//! `HPoint.size`), per step with `stats=all`, and `peakSamples`, the most samples the query
//! held at once as the engine counts them for `--query.max-samples` (preloaded selections,
//! plus the larger of a streamed series or subquery's points and the result's points).
//!
//! `Counter` is what the evaluator carries: plain integer adds while a query runs, nothing at
//! all when statistics are off. `window_counts` counts a series' points per step of a
//! series-major range computation (`engine/precompute.rs`).
//!
//! Uses `model` and `storage` (`Series`) only.

use std::collections::HashMap;

use crate::model::{is_stale_nan, FloatHistogram, HistogramSample, HistogramValue};
use crate::storage::Series;

/// What statistics a query records: none, totals, or totals and per-step counts
/// (the API's `stats` parameter: empty, any other value, `all`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatsLevel {
    #[default]
    Off,
    Totals,
    PerStep,
}

impl StatsLevel {
    /// The level the API's `stats` parameter asks for, as Prometheus reads it: statistics for
    /// any non-empty value, per-step counts for `all`.
    pub fn from_param(p: Option<&str>) -> Self {
        match p {
            None | Some("") => StatsLevel::Off,
            Some("all") => StatsLevel::PerStep,
            Some(_) => StatsLevel::Totals,
        }
    }
}

/// Time spent per phase, in seconds (Prometheus's names and meanings).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Preparation, inner evaluation and sorting together.
    pub eval_total: f64,
    /// Sorting the result.
    pub result_sort: f64,
    /// Reading the selections from storage before evaluation.
    pub query_preparation: f64,
    /// Evaluating the expression.
    pub inner_eval: f64,
    /// Waiting for a query slot (`--query.max-concurrency`).
    pub exec_queue: f64,
    /// Everything from the request's arrival at the engine to its result: queue, parse, eval.
    pub exec_total: f64,
}

/// Samples read and held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    pub total_queryable: u64,
    pub peak: u64,
    /// (step time in ms, samples read at that step), with `StatsLevel::PerStep` only.
    pub per_step: Vec<(i64, u64)>,
}

/// A query's statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryStats {
    pub timings: Timings,
    pub samples: Samples,
}

/// A native-histogram point's weight in samples: Prometheus's `HPoint.size`, the bytes of its
/// `FloatHistogram` (168 for the struct, 8 per span, bucket and custom bound) plus 8 for the
/// timestamp, over the 16 bytes of a float point.
pub fn histogram_weight(h: &FloatHistogram) -> u64 {
    let items = h.positive_spans.len()
        + h.negative_spans.len()
        + h.positive_buckets.len()
        + h.negative_buckets.len()
        + h.custom_values.len();
    ((168 + 8 * items + 8) / 16) as u64
}

/// `histogram_weight` of a stored histogram sample (integer ones weigh as their float form).
pub fn stored_weight(h: &HistogramValue) -> u64 {
    match h {
        HistogramValue::Float(f) => histogram_weight(f),
        HistogramValue::Int(i) => {
            let items = i.positive_spans.len()
                + i.negative_spans.len()
                + i.positive_buckets.len()
                + i.negative_buckets.len()
                + i.custom_values.len();
            ((168 + 8 * items + 8) / 16) as u64
        }
    }
}

/// The weight of histogram samples, stale markers left out.
pub fn histograms_weight(hs: &[HistogramSample]) -> u64 {
    hs.iter()
        .filter(|x| !x.h.is_stale())
        .map(|x| stored_weight(&x.h))
        .sum()
}

/// Adds to `out[k]` the points of `s` in each step's window (rt - range, rt], where
/// rt = from + k·step + offset: float points without stale markers, histogram points by
/// weight. For a range function computed series by series over all steps.
pub fn window_counts(
    s: &Series,
    from: i64,
    step: i64,
    range_ms: i64,
    offset: i64,
    out: &mut [u64],
) {
    let x = &s.samples;
    // Running counts of stale markers and histogram weights, so a window costs two searches.
    let stale: Vec<u32> = if x.iter().any(|p| is_stale_nan(p.v)) {
        prefix(x.iter().map(|p| u64::from(is_stale_nan(p.v))))
            .map(|n| n as u32)
            .collect()
    } else {
        Vec::new()
    };
    let hw: Vec<u64> = prefix(s.histograms.iter().map(|h| {
        if h.h.is_stale() {
            0
        } else {
            stored_weight(&h.h)
        }
    }))
    .collect();
    let (mut lo_i, mut hi_i) = (0usize, 0usize);
    let (mut hlo, mut hhi) = (0usize, 0usize);
    for (k, slot) in out.iter_mut().enumerate() {
        let rt = from + k as i64 * step + offset;
        let lo = rt - range_ms;
        while lo_i < x.len() && x[lo_i].t <= lo {
            lo_i += 1;
        }
        hi_i = hi_i.max(lo_i);
        while hi_i < x.len() && x[hi_i].t <= rt {
            hi_i += 1;
        }
        let mut n = (hi_i - lo_i) as u64;
        if !stale.is_empty() {
            n -= u64::from(stale[hi_i] - stale[lo_i]);
        }
        let h = &s.histograms;
        while hlo < h.len() && h[hlo].t <= lo {
            hlo += 1;
        }
        hhi = hhi.max(hlo);
        while hhi < h.len() && h[hhi].t <= rt {
            hhi += 1;
        }
        if !h.is_empty() {
            n += hw[hhi] - hw[hlo];
        }
        *slot += n;
    }
}

/// 0, a, a+b, a+b+c, ...
fn prefix(it: impl Iterator<Item = u64>) -> impl Iterator<Item = u64> {
    std::iter::once(0).chain(it.scan(0u64, |acc, v| {
        *acc += v;
        Some(*acc)
    }))
}

/// The evaluator's sample counter. Off, every method returns at once.
#[derive(Debug, Clone, Default)]
pub struct Counter {
    pub level: StatsLevel,
    /// Samples read at the current step so far.
    pub step: u64,
    /// Samples read at the steps before.
    pub total: u64,
    /// Samples read per step (the steps done so far), with `StatsLevel::PerStep`.
    pub steps: Vec<u64>,
    /// Samples counted ahead for step k of this part (series-major range computations).
    pub ahead: Vec<u64>,
    /// Samples preloaded for the whole query.
    pub preloaded: u64,
    /// The most samples held for a while besides the preloaded ones (a streamed series, a
    /// subquery's points).
    pub transient: u64,
    /// Time spent sorting results.
    pub sort: std::time::Duration,
    /// Samples read by each cached inner result of a subquery, by (node, time).
    pub sub_counts: HashMap<(usize, i64), u64>,
}

impl Counter {
    pub fn new(level: StatsLevel) -> Self {
        Counter {
            level,
            ..Counter::default()
        }
    }

    #[inline]
    pub fn on(&self) -> bool {
        self.level != StatsLevel::Off
    }

    /// Adds `n` samples read at the current step.
    #[inline]
    pub fn add(&mut self, n: u64) {
        self.step += n;
    }

    /// Notes `n` samples held on top of the preloaded ones.
    #[inline]
    pub fn hold(&mut self, n: u64) {
        self.transient = self.transient.max(n);
    }

    /// The per-step slots for `n` steps counted ahead (cleared), when counting.
    pub fn ahead_for(&mut self, n: usize) -> Option<&mut [u64]> {
        if !self.on() {
            return None;
        }
        if self.ahead.len() < n {
            self.ahead.resize(n, 0);
        }
        Some(&mut self.ahead[..n])
    }

    /// Closes step `k` of this part: its count goes to the total (and the per-step list).
    pub fn end_step(&mut self, k: usize) {
        if !self.on() {
            return;
        }
        let n = self.step + self.ahead.get(k).copied().unwrap_or(0);
        self.step = 0;
        self.total += n;
        if self.level == StatsLevel::PerStep {
            self.steps.push(n);
        }
    }

    /// Adds a later part's counts (its steps follow this one's).
    pub fn absorb(&mut self, later: Counter) {
        self.total += later.total;
        self.steps.extend(later.steps);
        self.transient = self.transient.max(later.transient);
        self.sort += later.sort;
    }

    /// The statistics's samples, for steps `start, start+step, ...`, with `result` points
    /// held at the end.
    pub fn samples(&self, start: i64, step: i64, result: u64) -> Samples {
        Samples {
            total_queryable: self.total,
            peak: self.preloaded + self.transient.max(result),
            per_step: self
                .steps
                .iter()
                .enumerate()
                .map(|(i, n)| (start + i as i64 * step, *n))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Labels, Sample, Span};

    #[test]
    fn levels_follow_prometheus() {
        assert_eq!(StatsLevel::from_param(None), StatsLevel::Off);
        assert_eq!(StatsLevel::from_param(Some("")), StatsLevel::Off);
        assert_eq!(StatsLevel::from_param(Some("all")), StatsLevel::PerStep);
        assert_eq!(StatsLevel::from_param(Some("1")), StatsLevel::Totals);
    }

    #[test]
    fn histogram_weight_is_hpoint_size() {
        // Prometheus's test data: schema 1, one span of 4 buckets weighs 13.
        let h = FloatHistogram {
            schema: 1,
            positive_spans: vec![Span {
                offset: 0,
                length: 4,
            }],
            positive_buckets: vec![1.0, 2.0, 1.0, 1.0],
            ..FloatHistogram::default()
        };
        assert_eq!(histogram_weight(&h), 13);
        assert_eq!(histogram_weight(&FloatHistogram::default()), 11);
    }

    #[test]
    fn windows_count_points_per_step() {
        let stale = f64::from_bits(crate::model::STALE_NAN_BITS);
        let s = Series {
            labels: Labels::default(),
            samples: (0..10)
                .map(|i| Sample {
                    t: i * 10,
                    v: if i == 5 { stale } else { i as f64 },
                })
                .collect(),
            histograms: Vec::new(),
        };
        let mut out = vec![0; 4];
        window_counts(&s, 20, 20, 30, 0, &mut out);
        // By hand from the same data: (rt-30, rt] at rt = 20, 40, 60, 80.
        let expect: Vec<u64> = (0..4)
            .map(|k| {
                let rt = 20 + 20 * k;
                s.samples
                    .iter()
                    .filter(|p| p.t > rt - 30 && p.t <= rt && !is_stale_nan(p.v))
                    .count() as u64
            })
            .collect();
        assert_eq!(out, expect);
        assert_eq!(out, vec![3, 3, 2, 3]);
    }
}
