//! Reading series: the storage window each selector needs for the whole query (`collect`),
//! preloading those series once (`preload`, merging `or` alternatives), and per step the
//! instant selector's lookback (`instant_selector`) and a range selector's left-open window
//! (`matrix_window`), both found by cursors that advance as steps move forward (`windows_at`).
//! A range vector is handed on as windows into the shared series (`RangeArg`), not copied.
//! Native-histogram samples (`Series.histograms`) take part in the lookback (the newest float
//! or histogram sample wins; a histogram stale marker ends the series like a float one) and
//! in range windows (`hist_windows`), found by binary search; range functions read both
//! (`for_each_full`, histograms as `HPoint`s), as does a matrix result (`into_series`).
//! `info()` calls get their info series preloaded the same way, for the times `info_time`
//! says they are read at. Selectors read only for `histogram_count`/`histogram_sum`/
//! `histogram_avg` see histograms as Prometheus's histogram-stats iterator gives them
//! (`stats_selectors`, `stats_view`): schema, count and sum only, with counter-reset hints found by
//! comparing each histogram with the one before.
//!
//! Each selection adds the points it selects to the query statistics' counter when it counts.
//!
//! Uses `state`, `info`, and `parse` (`to_matchers`), `stats`, `value`, `model`, `storage` from
//! below.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use promql_parser::parser::{self, Call, Expr, MatrixSelector};

use super::info::{InfoSeries, Plan};
use super::state::{key, unwrap_parens, Eval};
use crate::model::{
    is_stale_nan, CounterResetHint, FloatHistogram, HistogramSample, HistogramValue, Labels, Sample,
};
use crate::promql::functions::range::windows::HPoint;
use crate::promql::memo::FxBuild;
use crate::promql::parse::to_matchers;
use crate::promql::stats::{histogram_weight, histograms_weight};
use crate::promql::value::{exec, too_many_samples, InstantSample, QueryError};
use crate::storage::Series;

/// Where a range vector's samples are: windows into preloaded series (no copying), or series
/// built for this step (subqueries).
pub(super) enum Windows {
    /// (series index, from, to, holds a stale marker) into the shared series' float samples,
    /// and (series index, from, to) into their histogram samples (stale markers included).
    Shared(
        Arc<Vec<Series>>,
        Vec<(usize, usize, usize, bool)>,
        Vec<(usize, usize, usize)>,
    ),
    Owned(Vec<Series>),
}

/// A range vector with the window it was read for.
pub(super) struct RangeArg {
    pub(super) series: Windows,
    /// Window bounds in ms: (start, end], and its length in seconds.
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) range_s: f64,
    /// Equality matchers of the selector (for absent_over_time).
    pub(super) selector: Option<parser::VectorSelector>,
}

impl RangeArg {
    pub(super) fn is_empty(&self) -> bool {
        match &self.series {
            Windows::Shared(_, w, hw) => w.is_empty() && hw.is_empty(),
            Windows::Owned(v) => v.is_empty(),
        }
    }

    /// Each series' labels, float samples and histogram samples (stale markers removed,
    /// integer histograms in their float form), for every series with samples of either kind.
    pub(super) fn for_each_full(&self, mut f: impl FnMut(&Labels, &[Sample], &[HPoint])) {
        let mut scratch = Vec::new();
        let mut owned = Vec::new();
        match &self.series {
            Windows::Shared(data, windows, hist) => {
                let (mut wi, mut hi) = (0, 0);
                while wi < windows.len() || hi < hist.len() {
                    let wi_series = windows.get(wi).map_or(usize::MAX, |w| w.0);
                    let hi_series = hist.get(hi).map_or(usize::MAX, |h| h.0);
                    let i = wi_series.min(hi_series);
                    let s = &data[i];
                    let mut floats: &[Sample] = &[];
                    if wi_series == i {
                        let (_, from, to, stale) = windows[wi];
                        floats = &s.samples[from..to];
                        if stale {
                            scratch.clear();
                            scratch.extend(floats.iter().filter(|x| !is_stale_nan(x.v)).copied());
                            floats = &scratch;
                        }
                        wi += 1;
                    }
                    let mut hs: &[HistogramSample] = &[];
                    if hi_series == i {
                        let (_, from, to) = hist[hi];
                        hs = &s.histograms[from..to];
                        hi += 1;
                    }
                    let points = histogram_points(hs, &mut owned);
                    f(&s.labels, floats, &points);
                }
            }
            Windows::Owned(v) => {
                for s in v {
                    if s.samples.is_empty() && s.histograms.is_empty() {
                        continue;
                    }
                    let points = histogram_points(&s.histograms, &mut owned);
                    f(&s.labels, &s.samples, &points);
                }
            }
        }
    }

    /// The windows as series of their own (a matrix result): float and histogram samples,
    /// stale markers removed, in series order.
    pub(super) fn into_series(self) -> Vec<Series> {
        let (data, windows, hist) = match self.series {
            Windows::Owned(v) => return v,
            Windows::Shared(data, windows, hist) => (data, windows, hist),
        };
        let mut out: Vec<Series> = Vec::with_capacity(windows.len().max(hist.len()));
        let (mut wi, mut hi) = (0, 0);
        while wi < windows.len() || hi < hist.len() {
            let wi_series = windows.get(wi).map_or(usize::MAX, |w| w.0);
            let hi_series = hist.get(hi).map_or(usize::MAX, |h| h.0);
            let i = wi_series.min(hi_series);
            let s = &data[i];
            let mut samples = Vec::new();
            if wi_series == i {
                let (_, from, to, stale) = windows[wi];
                let slice = &s.samples[from..to];
                if stale {
                    samples.extend(slice.iter().filter(|x| !is_stale_nan(x.v)).copied());
                } else {
                    samples.extend_from_slice(slice);
                }
                wi += 1;
            }
            let mut histograms: Vec<HistogramSample> = Vec::new();
            if hi_series == i {
                let (_, from, to) = hist[hi];
                histograms.extend(
                    s.histograms[from..to]
                        .iter()
                        .filter(|x| !x.h.is_stale())
                        .cloned(),
                );
                hi += 1;
            }
            if !samples.is_empty() || !histograms.is_empty() {
                out.push(Series {
                    labels: s.labels.clone(),
                    samples,
                    histograms,
                });
            }
        }
        out
    }
}

/// The histogram samples of `hs` as window points, stale markers left out: float
/// histograms are borrowed, integer ones converted into `owned`.
pub(super) fn histogram_points<'a>(
    hs: &'a [HistogramSample],
    owned: &'a mut Vec<FloatHistogram>,
) -> Vec<HPoint<'a>> {
    owned.clear();
    owned.extend(hs.iter().filter_map(|x| match &x.h {
        HistogramValue::Int(h) if !h.is_stale() => Some(h.to_float()),
        _ => None,
    }));
    let mut converted = owned.iter();
    let mut out = Vec::with_capacity(hs.len());
    for x in hs {
        let h = match &x.h {
            HistogramValue::Float(h) if !h.is_stale() => h,
            HistogramValue::Int(h) if !h.is_stale() => match converted.next() {
                Some(h) => h,
                None => continue,
            },
            _ => continue,
        };
        out.push(HPoint { t: x.t, h });
    }
    out
}

/// A series' sample window (from, to) moved forward to the samples in (lo, hi]: both ends
/// only advance, so stepping through time visits each sample once.
pub(super) fn advance(
    x: &[Sample],
    (from, to): (usize, usize),
    lo: i64,
    hi: i64,
) -> (usize, usize) {
    let mut from = from;
    while from < x.len() && x[from].t <= lo {
        from += 1;
    }
    let mut to = to.max(from);
    while to < x.len() && x[to].t <= hi {
        to += 1;
    }
    (from, to)
}

/// The index range of the histogram samples in (lo, hi].
fn histogram_window(h: &[HistogramSample], lo: i64, hi: i64) -> (usize, usize) {
    let from = h.partition_point(|x| x.t <= lo);
    (from, from + h[from..].partition_point(|x| x.t <= hi))
}

/// The newest histogram sample in (lo, hi], stale or not.
fn newest_histogram(h: &[HistogramSample], lo: i64, hi: i64) -> Option<&HistogramSample> {
    if h.is_empty() {
        return None;
    }
    let end = h.partition_point(|x| x.t <= hi);
    end.checked_sub(1).map(|j| &h[j]).filter(|x| x.t > lo)
}

/// The selector nodes of `e` whose histograms only `histogram_count`, `histogram_sum` or
/// `histogram_avg` look at: a selector with one of those functions above it and no subquery,
/// trim operator or `histogram_quantile(s)`/`histogram_fraction` anywhere above it. Prometheus reads such
/// selectors through its histogram-stats iterator (see `stats_view`).
pub(super) fn stats_selectors(e: &Expr, out: &mut HashSet<usize, FxBuild>) {
    fn walk(e: &Expr, stats: bool, out: &mut HashSet<usize, FxBuild>) {
        match e {
            Expr::VectorSelector(vs) if stats => {
                out.insert(key(vs));
            }
            Expr::MatrixSelector(ms) if stats => {
                out.insert(key(&ms.vs));
            }
            Expr::Paren(p) => walk(&p.expr, stats, out),
            Expr::Unary(u) => walk(&u.expr, stats, out),
            Expr::Binary(b) => {
                // A trim operator reads every bucket.
                let stats = stats && crate::promql::parse_trim::trim_of(b).is_none();
                walk(&b.lhs, stats, out);
                walk(&b.rhs, stats, out);
            }
            Expr::Aggregate(a) => {
                walk(&a.expr, stats, out);
                if let Some(p) = &a.param {
                    walk(p, stats, out);
                }
            }
            Expr::Call(c) => {
                let stats = match c.func.name {
                    "histogram_count" | "histogram_sum" | "histogram_avg" => true,
                    "histogram_quantile" | "histogram_quantiles" | "histogram_fraction" => return,
                    _ => stats,
                };
                for a in &c.args.args {
                    walk(a, stats, out);
                }
            }
            // Subqueries need whole histograms to find counter resets.
            _ => {}
        }
    }
    walk(e, false, out);
}

/// A series as Prometheus's histogram-stats iterator reads it: each histogram keeps only its
/// schema, count and sum, and a histogram without a counter-reset hint gets one by comparison with
/// the histogram read before it (none for the first one read).
pub(super) fn stats_view(s: &mut Series) {
    let mut prev: Option<FloatHistogram> = None;
    for x in &mut s.histograms {
        if x.h.is_stale() {
            continue;
        }
        let full = x.h.to_float();
        let mut hint = full.counter_reset_hint;
        if hint == CounterResetHint::Unknown {
            if let Some(p) = &prev {
                hint = if full.detect_reset(p) {
                    CounterResetHint::CounterReset
                } else {
                    CounterResetHint::NotCounterReset
                };
            }
        }
        x.h = HistogramValue::Float(FloatHistogram {
            counter_reset_hint: hint,
            schema: full.schema,
            count: full.count,
            sum: full.sum,
            ..FloatHistogram::default()
        });
        prev = Some(full);
    }
}

/// What a query reads from storage: a selector's series, or an `info()` call's info series.
pub(super) enum Source<'e> {
    Selector(&'e parser::VectorSelector),
    Info(&'e Call),
}

/// A node (selector or `info()` call), what it reads, and the storage window [mint, maxt].
pub(super) type Need<'e> = (usize, Source<'e>, i64, i64);

/// Whether evaluating `e` reads any selector.
fn has_selector(e: &Expr) -> bool {
    match e {
        Expr::VectorSelector(_) | Expr::MatrixSelector(_) => true,
        Expr::Subquery(sq) => has_selector(&sq.expr),
        Expr::Paren(p) => has_selector(&p.expr),
        Expr::Unary(u) => has_selector(&u.expr),
        Expr::Binary(b) => has_selector(&b.lhs) || has_selector(&b.rhs),
        Expr::Aggregate(a) => has_selector(&a.expr) || a.param.as_deref().is_some_and(has_selector),
        Expr::Call(c) => c.args.args.iter().any(|a| has_selector(a)),
        _ => false,
    }
}

impl Eval<'_> {
    /// Records the storage window each selector needs when `e` is evaluated at [start, end].
    pub(super) fn collect<'e>(
        &self,
        e: &'e Expr,
        start: i64,
        end: i64,
        out: &mut Vec<Need<'e>>,
    ) -> Result<(), QueryError> {
        match e {
            Expr::VectorSelector(vs) => {
                let (a, b) = (
                    self.ref_time(start, &vs.at, &vs.offset),
                    self.ref_time(end, &vs.at, &vs.offset),
                );
                out.push((
                    key(vs),
                    Source::Selector(vs),
                    a.min(b) - self.engine.lookback_ms,
                    a.max(b),
                ));
            }
            Expr::MatrixSelector(ms) => {
                let vs = &ms.vs;
                let (a, b) = (
                    self.ref_time(start, &vs.at, &vs.offset),
                    self.ref_time(end, &vs.at, &vs.offset),
                );
                out.push((
                    key(vs),
                    Source::Selector(vs),
                    a.min(b) - ms.range.as_millis() as i64,
                    a.max(b),
                ));
            }
            Expr::Subquery(sq) => {
                let (a, b) = (
                    self.ref_time(start, &sq.at, &sq.offset),
                    self.ref_time(end, &sq.at, &sq.offset),
                );
                self.collect(
                    &sq.expr,
                    a.min(b) - sq.range.as_millis() as i64,
                    a.max(b),
                    out,
                )?;
            }
            Expr::Paren(p) => self.collect(&p.expr, start, end, out)?,
            Expr::Unary(u) => self.collect(&u.expr, start, end, out)?,
            Expr::Binary(b) => {
                self.collect(&b.lhs, start, end, out)?;
                self.collect(&b.rhs, start, end, out)?;
            }
            Expr::Aggregate(a) => {
                self.collect(&a.expr, start, end, out)?;
                if let Some(p) = &a.param {
                    self.collect(p, start, end, out)?;
                }
            }
            Expr::Call(c) if c.func.name == "info" => {
                // The second argument only holds matchers: it is not read as a selector.
                if let Some(v) = c.args.args.first() {
                    self.collect(v, start, end, out)?;
                    let (a, b) = (self.info_time(v, start), self.info_time(v, end));
                    out.push((
                        key(c),
                        Source::Info(c),
                        a.min(b) - self.engine.lookback_ms,
                        a.max(b),
                    ));
                }
            }
            Expr::Call(c) => {
                for arg in &c.args.args {
                    self.collect(arg, start, end, out)?;
                }
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
            Expr::Extension(_) => return Err(exec("unsupported expression")),
        }
        Ok(())
    }

    /// The time an `info()` call over `e` reads its info series at, for evaluation time `ts`:
    /// the time `e`'s first selector reads at, after the `@` and `offset` of the subqueries
    /// on the way to it (the evaluation time when `e` reads no selector).
    pub(super) fn info_time(&self, e: &Expr, ts: i64) -> i64 {
        match e {
            Expr::VectorSelector(vs) => self.ref_time(ts, &vs.at, &vs.offset),
            Expr::MatrixSelector(ms) => self.ref_time(ts, &ms.vs.at, &ms.vs.offset),
            Expr::Subquery(sq) => self.info_time(&sq.expr, self.ref_time(ts, &sq.at, &sq.offset)),
            Expr::Paren(p) => self.info_time(&p.expr, ts),
            Expr::Unary(u) => self.info_time(&u.expr, ts),
            Expr::Binary(b) if has_selector(&b.lhs) => self.info_time(&b.lhs, ts),
            Expr::Binary(b) => self.info_time(&b.rhs, ts),
            Expr::Aggregate(a) => match &a.param {
                Some(p) if !has_selector(&a.expr) => self.info_time(p, ts),
                _ => self.info_time(&a.expr, ts),
            },
            Expr::Call(c) => match c.args.args.iter().find(|a| has_selector(a)) {
                Some(a) => self.info_time(a, ts),
                None => ts,
            },
            _ => ts,
        }
    }

    /// Reads every selector of `expr` that is not streamed from storage, once, for the whole
    /// window the query needs, counting the samples against the limit.
    pub(super) fn preload(&mut self, expr: &Expr) -> Result<(), QueryError> {
        let mut needs: Vec<Need> = Vec::new();
        self.collect(expr, self.start, self.end, &mut needs)?;
        let q = self.querier;
        let mut loaded = 0usize;
        let mut stats = HashSet::default();
        stats_selectors(expr, &mut stats);
        for (k, source, mint, maxt) in needs {
            let vs = match source {
                Source::Selector(vs) => vs,
                Source::Info(c) => {
                    let selector = match c.args.args.get(1).map(|a| unwrap_parens(a)) {
                        None => None,
                        Some(Expr::VectorSelector(vs)) => Some(vs),
                        Some(_) => {
                            return Err(exec(
                                "info(): the second argument must be a label selector such as {data=~\".+\"}",
                            ))
                        }
                    };
                    let plan = Plan::new(selector)?;
                    let series = q.select(&plan.selection(), mint, maxt)?;
                    let info = InfoSeries::new(plan, series);
                    loaded += info.samples();
                    if loaded > self.engine.max_samples {
                        return Err(too_many_samples());
                    }
                    self.check_deadline()?;
                    self.info.insert(k, Arc::new(info));
                    continue;
                }
            };
            if self.streamed.contains(&k) {
                continue;
            }
            let alternatives = to_matchers(vs)?;
            let existing = self.data.remove(&k);
            let mut all: Vec<Series> = if alternatives.len() == 1 && existing.is_none() {
                // The common case: one selection, already sorted by labels.
                q.select(&alternatives[0], mint, maxt)?
            } else {
                // Merge alternatives (`{a="1" or b="2"}`) by label set.
                let mut all: Vec<Series> = existing.map(|a| a.as_ref().clone()).unwrap_or_default();
                let mut index: HashMap<Labels, usize> = all
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.labels.clone(), i))
                    .collect();
                for ms in &alternatives {
                    for s in q.select(ms, mint, maxt)? {
                        match index.get(&s.labels) {
                            Some(&i) => {
                                let existing = &mut all[i];
                                existing.samples.extend(s.samples);
                                existing.samples.sort_by_key(|x| x.t);
                                existing.samples.dedup_by_key(|x| x.t);
                                if !s.histograms.is_empty() {
                                    existing.histograms.extend(s.histograms);
                                    existing.histograms.sort_by_key(|x| x.t);
                                    existing.histograms.dedup_by_key(|x| x.t);
                                }
                            }
                            None => {
                                index.insert(s.labels.clone(), all.len());
                                all.push(s);
                            }
                        }
                    }
                }
                all
            };
            all.sort_by(|a, b| a.labels.cmp(&b.labels));
            if stats.contains(&k) {
                all.iter_mut().for_each(stats_view);
            }
            loaded += all
                .iter()
                .map(|x| x.samples.len() + x.histograms.len())
                .sum::<usize>();
            if loaded > self.engine.max_samples {
                return Err(too_many_samples());
            }
            self.check_deadline()?;
            self.data.insert(k, Arc::new(all));
        }
        self.counter.preloaded = loaded as u64;
        Ok(())
    }

    /// An instant selector at `ts`; with `sample_time`, samples carry their own timestamps
    /// (for `timestamp()`), otherwise the evaluation time.
    pub(super) fn instant_selector(
        &mut self,
        vs: &parser::VectorSelector,
        ts: i64,
        sample_time: bool,
    ) -> Vec<InstantSample> {
        let rt = self.ref_time(ts, &vs.at, &vs.offset);
        let data = self.data.get(&key(vs)).cloned().unwrap_or_default();
        // The newest sample in (rt - lookback, rt], unless it is a stale marker.
        let bounds = self.windows_at(key(vs), &data, rt - self.engine.lookback_ms, rt);
        let lo = rt - self.engine.lookback_ms;
        let mut out = Vec::new();
        for (s, &(from, to)) in data.iter().zip(&bounds) {
            let float = if to > from {
                Some(s.samples[to - 1])
            } else {
                None
            };
            // The newest histogram sample in (lo, rt], if newer than the newest float one.
            let hist =
                newest_histogram(&s.histograms, lo, rt).filter(|h| float.is_none_or(|f| h.t > f.t));
            if let Some(h) = hist {
                if !h.h.is_stale() {
                    out.push(InstantSample::histogram(
                        s.labels.clone(),
                        if sample_time { h.t } else { ts },
                        h.h.to_float(),
                        false,
                    ));
                }
            } else if let Some(last) = float {
                if !is_stale_nan(last.v) {
                    out.push(InstantSample::new(
                        s.labels.clone(),
                        if sample_time { last.t } else { ts },
                        last.v,
                        false,
                    ));
                }
            }
        }
        if self.counter.on() {
            // `timestamp()` reads one float per series, as Prometheus counts it.
            let n = if sample_time {
                out.len() as u64
            } else {
                out.iter()
                    .map(|x| x.h.as_deref().map_or(1, histogram_weight))
                    .sum()
            };
            self.counter.add(n);
        }
        out
    }

    /// Each series' sample index window (from, to) for (lo, hi], advancing the node's cursors
    /// when time moves forward and searching afresh when it does not.
    fn windows_at(
        &mut self,
        node: usize,
        data: &[Series],
        lo: i64,
        hi: i64,
    ) -> Vec<(usize, usize)> {
        let entry = self
            .cursors
            .entry(node)
            .or_insert_with(|| (i64::MIN, vec![(0, 0); data.len()]));
        let forward = hi >= entry.0 && entry.1.len() == data.len();
        if !forward {
            entry.1 = vec![(0, 0); data.len()];
        }
        for (i, s) in data.iter().enumerate() {
            let x = &s.samples;
            entry.1[i] = if forward {
                advance(x, entry.1[i], lo, hi)
            } else {
                let from = x.partition_point(|p| p.t <= lo);
                (from, from + x[from..].partition_point(|p| p.t <= hi))
            };
        }
        entry.0 = hi;
        entry.1.clone()
    }

    /// A range selector's left-open window at `ts`, as windows into the preloaded series.
    pub(super) fn matrix_window(
        &mut self,
        ms: &MatrixSelector,
        ts: i64,
    ) -> Result<RangeArg, QueryError> {
        let vs = &ms.vs;
        if self.streamed.contains(&key(vs)) {
            // `precompute` computed every step of this call; reaching here is a bug, and an
            // error is better than an empty answer.
            return Err(exec(format!(
                "internal error: streamed selector {vs} evaluated step by step"
            )));
        }
        let rt = self.ref_time(ts, &vs.at, &vs.offset);
        let range = ms.range.as_millis() as i64;
        let lo = rt - range;
        let data = self.data.get(&key(vs)).cloned().unwrap_or_default();
        let bounds = self.windows_at(key(vs), &data, lo, rt);
        let mut windows = Vec::with_capacity(data.len());
        let mut hist = Vec::new();
        for (i, s) in data.iter().enumerate() {
            if !s.histograms.is_empty() {
                let (from, to) = histogram_window(&s.histograms, lo, rt);
                if s.histograms[from..to].iter().any(|x| !x.h.is_stale()) {
                    hist.push((i, from, to));
                }
            }
            let (from, to) = bounds[i];
            let slice = &s.samples[from..to];
            let stale = slice.iter().any(|x| is_stale_nan(x.v));
            if stale && slice.iter().all(|x| is_stale_nan(x.v)) {
                continue;
            }
            if !slice.is_empty() {
                windows.push((i, from, to, stale));
            }
        }
        if self.counter.on() {
            let mut n = 0;
            for &(i, from, to, stale) in &windows {
                let w = &data[i].samples[from..to];
                n += if stale {
                    w.iter().filter(|x| !is_stale_nan(x.v)).count()
                } else {
                    w.len()
                } as u64;
            }
            for &(i, from, to) in &hist {
                n += histograms_weight(&data[i].histograms[from..to]);
            }
            self.counter.add(n);
        }
        Ok(RangeArg {
            series: Windows::Shared(data, windows, hist),
            start: lo,
            end: rt,
            range_s: range as f64 / 1000.0,
            selector: Some(vs.clone()),
        })
    }
}
