//! Series-major evaluation of range functions over plain matrix selectors in range queries.
//!
//! Stepping a range query evaluates `rate(x[5m])` one step at a time: every step visits every
//! series, finds its window and computes one value. Before the steps start, this module
//! computes such calls for all steps of the evaluator's part at once, one series at a time
//! (windows advance with two cursors and the series' samples stay in cache); the step loop
//! then reads one column. Only calls outside subqueries, over a selector without `@`, with
//! literal scalar arguments, are done here; the values come from the same functions the step
//! path uses, so results are identical. Series of floats only take a fast path (counter
//! resets found once per series); a series with native-histogram samples has each step's
//! window of both kinds evaluated by `functions::range::windows`, as on the step path, and
//! its row holds histogram values where the function gives them.
//!
//! An aggregation without a parameter (sum, avg, count, group, min, max) directly over such a
//! call is folded in as well (`fold`): each series' row goes into its group as it is made, so
//! the call's rows are never all held. When the call gives histogram values, the aggregation
//! is not folded: the call's rows are kept and the aggregation is evaluated step by step over
//! them.
//!
//! Selectors read only by such calls are not preloaded (`streamable` finds them): they are
//! streamed from storage one series at a time, so memory holds one series' samples.
//!
//! Uses `state`, `precomputed`, `selection` (`advance`, the histogram-stats view),
//! `call_range` (`note_once`), `fold`, and `functions`, `parse`, `stats` (points per step
//! for the query statistics, when counting), `value`, `model`, `storage` from below.

use std::collections::HashSet;

use promql_parser::parser::{AggregateExpr, Call, Expr, MatrixSelector, VectorSelector};

use super::call_range::note_once;
use super::fold::{Fold, FoldOp};
use super::precomputed::{Precomputed, Row};
use super::selection::{advance, histogram_points, stats_selectors, stats_view};
use super::state::{key, unwrap_parens, Eval};
use crate::model::{is_stale_nan, FloatHistogram, Sample, METRIC_NAME};
use crate::promql::functions::range::windows::{self, Note, Out, RangeFn, Window};
use crate::promql::functions::{quantile, range};
use crate::promql::memo::FxBuild;
use crate::promql::parse::to_matchers;
use crate::promql::stats::{window_counts, StatsLevel};
use crate::promql::value::{exec, too_many_samples, QueryError};
use crate::storage::Series;

/// The steps of a part: `from, from+step, ... <= to`.
#[derive(Clone, Copy)]
struct Steps {
    from: i64,
    to: i64,
    step: i64,
}

impl Steps {
    /// How many steps.
    fn n(&self) -> usize {
        ((self.to - self.from) / self.step + 1).max(0) as usize
    }
}

/// The range function and matrix selector of a call `precompute` handles: one of the
/// functions `kind_of` knows over a plain matrix selector without `@`.
fn eligible(c: &Call) -> Option<(RangeFn, &MatrixSelector)> {
    let (kind, i) = kind_of(c)?;
    match unwrap_parens(&c.args.args[i]) {
        Expr::MatrixSelector(ms) if ms.vs.at.is_none() => Some((kind, ms)),
        _ => None,
    }
}

fn literal(e: &Expr) -> Option<f64> {
    match unwrap_parens(e) {
        Expr::NumberLiteral(n) => Some(n.val),
        _ => None,
    }
}

fn kind_of(c: &Call) -> Option<(RangeFn, usize)> {
    let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
    let k = match (c.func.name, args.len()) {
        ("rate", 1) => RangeFn::Rate {
            counter: true,
            rate: true,
        },
        ("increase", 1) => RangeFn::Rate {
            counter: true,
            rate: false,
        },
        ("delta", 1) => RangeFn::Rate {
            counter: false,
            rate: false,
        },
        ("irate", 1) => RangeFn::Instant { rate: true },
        ("idelta", 1) => RangeFn::Instant { rate: false },
        ("deriv", 1) => RangeFn::Deriv,
        ("resets", 1) => RangeFn::Resets,
        ("changes", 1) => RangeFn::Changes,
        ("predict_linear", 2) => RangeFn::PredictLinear(literal(args[1])?),
        ("quantile_over_time", 2) => return Some((RangeFn::Quantile(literal(args[0])?), 1)),
        (n, 1) if range::is_over_time(n) => RangeFn::OverTime(range::over_time_name(n)?),
        _ => return None,
    };
    Some((k, 0))
}

impl Eval<'_> {
    /// Finds the eligible calls in `e` (not inside subqueries) and computes them for the steps
    /// `from, from+step, ... <= to`.
    pub(super) fn precompute(
        &mut self,
        e: &Expr,
        from: i64,
        to: i64,
        step: i64,
    ) -> Result<(), QueryError> {
        let mut stats = HashSet::default();
        stats_selectors(e, &mut stats);
        self.precompute_in(e, &Steps { from, to, step }, &stats)
    }

    /// `precompute` below `e`; `stats` holds the selectors read for histogram statistics only.
    fn precompute_in(
        &mut self,
        e: &Expr,
        at: &Steps,
        stats: &HashSet<usize, FxBuild>,
    ) -> Result<(), QueryError> {
        match e {
            Expr::Paren(p) => self.precompute_in(&p.expr, at, stats),
            Expr::Unary(u) => self.precompute_in(&u.expr, at, stats),
            Expr::Binary(b) => {
                self.precompute_in(&b.lhs, at, stats)?;
                self.precompute_in(&b.rhs, at, stats)
            }
            Expr::Aggregate(a) => {
                if let Some(pre) = self.fuse_aggregate(a, at, stats)? {
                    self.pre.insert(key(a), pre);
                    return Ok(());
                }
                if let Some(p) = &a.param {
                    self.precompute_in(p, at, stats)?;
                }
                self.precompute_in(&a.expr, at, stats)
            }
            // Already computed for an aggregation that could not fold it in.
            Expr::Call(c) if self.pre.contains_key(&key(c)) => Ok(()),
            Expr::Call(c) => {
                if let Some(pre) = self.call_pre(c, at, stats)? {
                    self.pre.insert(key(c), pre);
                    return Ok(());
                }
                for a in &c.args.args {
                    self.precompute_in(a, at, stats)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The call's values for all steps, if it is one this module handles.
    fn call_pre(
        &mut self,
        c: &Call,
        at: &Steps,
        stats: &HashSet<usize, FxBuild>,
    ) -> Result<Option<Precomputed>, QueryError> {
        let Some((kind, ms)) = eligible(c) else {
            return Ok(None);
        };
        let stats = stats.contains(&key(&ms.vs));
        let (pre, _) = self.compute_rows(c, kind, ms, at, stats, None)?;
        Ok(Some(pre))
    }

    /// A parameterless sum/avg/count/group/min/max directly over a call `call_pre` handles:
    /// the call's rows are folded into the groups as they are made (`fold`). When the call
    /// gives histogram values, the aggregation is not folded: the call is computed again
    /// without folding and the aggregation is evaluated step by step over its rows.
    fn fuse_aggregate(
        &mut self,
        a: &AggregateExpr,
        at: &Steps,
        stats: &HashSet<usize, FxBuild>,
    ) -> Result<Option<Precomputed>, QueryError> {
        let op = a.op.to_string();
        let Some(op) = FoldOp::of(&op).filter(|_| a.param.is_none()) else {
            return Ok(None);
        };
        let c = match unwrap_parens(&a.expr) {
            Expr::Call(c) => c,
            Expr::VectorSelector(vs) if vs.at.is_none() => {
                return Ok(self.fuse_selector(a, op, vs, at));
            }
            _ => return Ok(None),
        };
        let Some((kind, ms)) = eligible(c) else {
            return Ok(None);
        };
        let n = at.n();
        let names_vary = self.engine.refuse_hidden_duplicates
            && !ms.vs.matchers.matchers.iter().any(|m| {
                m.name == METRIC_NAME && matches!(m.op, promql_parser::label::MatchOp::Equal)
            })
            && ms.vs.name.is_none();
        let fold = Fold::new(op, a.modifier.clone(), n, names_vary);
        let stat = stats.contains(&key(&ms.vs));
        let (inner, fold) = self.compute_rows(c, kind, ms, at, stat, Some(fold))?;
        let fold = fold.expect("compute_rows hands back the fold it was given");
        if fold.duplicate {
            return Err(QueryError::Execution(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
        if !inner.rows.is_empty() {
            // Rows were kept only for histogram values: aggregate those step by step. The
            // samples were counted by the first pass (query statistics): not again.
            let level = self.counter.level;
            self.counter.level = StatsLevel::Off;
            let again = self.compute_rows(c, kind, ms, at, stat, None);
            self.counter.level = level;
            let (inner, _) = again?;
            self.pre.insert(key(c), inner);
            return Ok(None);
        }
        Ok(Some(fold.finish(at.from, at.step)))
    }

    /// The call's rows for every step; `stats`: the selector is read for histogram statistics
    /// only (streamed series get the histogram-stats view; preloaded ones have it already).
    /// A parameterless aggregation directly over an instant selector (`count by (job) (up)`),
    /// folded series by series: each series' value at each step is its newest sample in the
    /// lookback window unless that is a stale marker, as `instant_selector` finds it step by
    /// step. Not done (None) when a series holds histogram samples.
    fn fuse_selector(
        &mut self,
        a: &AggregateExpr,
        op: FoldOp,
        vs: &VectorSelector,
        at: &Steps,
    ) -> Option<Precomputed> {
        let data = self.data.get(&key(vs)).cloned().unwrap_or_default();
        if data.iter().any(|s| !s.histograms.is_empty()) {
            return None;
        }
        let n = at.n();
        let offset = self.ref_time(0, &None, &vs.offset);
        let lookback = self.engine.lookback_ms;
        // Selectors keep their names: label sets stay distinct.
        let mut fold = Fold::new(op, a.modifier.clone(), n, false);
        let mut counts: Option<Vec<u64>> = self.counter.on().then(|| vec![0; n]);
        let (mut vals, mut present) = (vec![0.0; n], vec![false; n]);
        for s in data.iter() {
            let x = &s.samples;
            let (mut lo_i, mut hi_i) = (0usize, 0usize);
            let mut any = false;
            for k in 0..n {
                let rt = at.from + k as i64 * at.step + offset;
                (lo_i, hi_i) = advance(x, (lo_i, hi_i), rt - lookback, rt);
                present[k] = hi_i > lo_i && !is_stale_nan(x[hi_i - 1].v);
                if present[k] {
                    vals[k] = x[hi_i - 1].v;
                    any = true;
                    if let Some(c) = counts.as_mut() {
                        c[k] += 1;
                    }
                }
            }
            if any {
                fold.add(&s.labels, false, &vals, &present);
            }
        }
        if let Some(c) = counts {
            if let Some(slots) = self.counter.ahead_for(n) {
                slots.iter_mut().zip(c).for_each(|(a, b)| *a += b);
            }
        }
        Some(fold.finish(at.from, at.step))
    }

    /// With `fold`, rows of float values are folded into it as they are made (and it is
    /// handed back); only rows with histogram values are kept.
    fn compute_rows(
        &mut self,
        c: &Call,
        kind: RangeFn,
        ms: &MatrixSelector,
        at: &Steps,
        stats: bool,
        fold: Option<Fold>,
    ) -> Result<(Precomputed, Option<Fold>), QueryError> {
        let Steps { from, to, step } = *at;
        let vs = &ms.vs;
        let n = at.n();
        let range_ms = ms.range.as_millis() as i64;
        let offset = self.ref_time(0, &None, &vs.offset);
        let needle = Self::needle(&c.args.args[0]);
        if let RangeFn::Quantile(q) = kind {
            self.check_quantile(q, "quantile_over_time");
        }
        let mut rows = Rows {
            kind,
            from,
            step,
            n,
            range_ms,
            offset,
            drop_name: !kind.keeps_name(),
            rows: Vec::new(),
            names: Vec::new(),
            notes: Vec::new(),
            scratch: Vec::new(),
            qbuf: Vec::new(),
            resets: Vec::new(),
            fold,
            spare: None,
        };
        // The query statistics' points per step, when counting.
        let mut counts: Option<Vec<u64>> = self.counter.on().then(|| vec![0; n]);
        let mut held = 0u64;
        if self.streamed.contains(&key(vs)) {
            // One series at a time from storage, over the window these steps need.
            let matchers = to_matchers(vs)?;
            let [matchers] = matchers.as_slice() else {
                return Err(exec(format!(
                    "internal error: streamed selector {vs} has alternatives"
                )));
            };
            let (mint, maxt) = (from + offset - range_ms, to + offset);
            let mut failed: Option<QueryError> = None;
            let mut seen = 0usize;
            let this = &*self;
            this.querier.select_each(matchers, mint, maxt, &mut |s| {
                if seen.is_multiple_of(256) {
                    if let Err(e) = this.check_deadline() {
                        failed = Some(e);
                        return false;
                    }
                }
                seen += 1;
                // Only this series' samples are held; the limit applies to them.
                if s.samples.len() > this.engine.max_samples {
                    failed = Some(too_many_samples());
                    return false;
                }
                if stats {
                    stats_view(s);
                }
                if let Some(c) = counts.as_mut() {
                    window_counts(s, from, step, range_ms, offset, c);
                    held = held.max((s.samples.len() + s.histograms.len()) as u64);
                }
                rows.add(s);
                true
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
        } else {
            let data = self.data.get(&key(vs)).cloned().unwrap_or_default();
            for (si, s) in data.iter().enumerate() {
                if si % 256 == 0 {
                    self.check_deadline()?;
                }
                if let Some(c) = counts.as_mut() {
                    window_counts(s, from, step, range_ms, offset, c);
                }
                rows.add(s);
            }
        }
        if let Some(c) = counts {
            self.counter.hold(held);
            if let Some(slots) = self.counter.ahead_for(n) {
                slots.iter_mut().zip(c).for_each(|(a, b)| *a += b);
            }
        }
        self.emit_notes(std::mem::take(&mut rows.notes), &needle);
        if matches!(c.func.name, "rate" | "increase") {
            for name in std::mem::take(&mut rows.names) {
                self.counter_info(&name, &needle);
            }
        }
        Ok((
            Precomputed {
                from,
                step,
                n,
                rows: rows.rows,
                first: None,
            },
            rows.fold,
        ))
    }
}

/// Builds the rows of one call, a series at a time.
struct Rows {
    kind: RangeFn,
    from: i64,
    step: i64,
    n: usize,
    range_ms: i64,
    offset: i64,
    drop_name: bool,
    rows: Vec<Row>,
    /// Metric names of series with a float result (for the "might not be a counter" info).
    names: Vec<String>,
    /// The notes of series with histogram samples, with their metric names.
    notes: Vec<(Note, String)>,
    scratch: Vec<Sample>,
    qbuf: Vec<f64>,
    resets: Vec<usize>,
    /// Folds float rows into an aggregation instead of keeping them.
    fold: Option<Fold>,
    /// A folded row's buffers, reused for the next series.
    spare: Option<(Vec<f64>, Vec<bool>)>,
}

impl Rows {
    /// Computes the call on every step's window of one series and keeps the row if any step
    /// has a value.
    fn add(&mut self, s: &Series) {
        if s.histograms.is_empty() {
            self.add_floats(s);
        } else {
            self.add_mixed(s);
        }
    }

    /// Keeps a row with values at `present` steps; a series with a float result is named
    /// for the "might not be a counter" info.
    fn push(
        &mut self,
        s: &Series,
        vals: Vec<f64>,
        hists: Vec<Option<Box<FloatHistogram>>>,
        present: Vec<bool>,
    ) {
        let floats = if hists.is_empty() {
            present.iter().any(|p| *p)
        } else {
            present.iter().zip(&hists).any(|(p, h)| *p && h.is_none())
        };
        if floats {
            let name = s.labels.metric_name().unwrap_or("");
            if !self.names.iter().any(|n| n == name) {
                self.names.push(name.to_string());
            }
        }
        if !present.iter().any(|p| *p) {
            self.spare = Some((vals, present));
            return;
        }
        if let (Some(fold), true) = (&mut self.fold, hists.is_empty()) {
            fold.add(&s.labels, self.drop_name, &vals, &present);
            self.spare = Some((vals, present));
        } else {
            self.rows.push(Row {
                labels: s.labels.clone(),
                drop_name: self.drop_name,
                vals,
                hists,
                present,
            });
        }
    }

    /// A row's value and presence buffers, zeroed: the last folded row's, or new ones.
    fn buffers(&mut self) -> (Vec<f64>, Vec<bool>) {
        match self.spare.take() {
            Some((mut v, mut p)) => {
                v.clear();
                v.resize(self.n, 0.0);
                p.clear();
                p.resize(self.n, false);
                (v, p)
            }
            None => (vec![0.0; self.n], vec![false; self.n]),
        }
    }

    /// `add` for a series with histogram samples: each step's window of both kinds goes to
    /// `windows::evaluate`, as on the step path.
    fn add_mixed(&mut self, s: &Series) {
        let mut owned = Vec::new();
        let points = histogram_points(&s.histograms, &mut owned);
        let x = &s.samples;
        let range_s = self.range_ms as f64 / 1000.0;
        let metric = s.labels.metric_name().unwrap_or("");
        let mut vals = vec![0.0; self.n];
        let mut hists: Vec<Option<Box<FloatHistogram>>> = vec![None; self.n];
        let mut present = vec![false; self.n];
        let (mut lo_i, mut hi_i) = (0usize, 0usize);
        let mut found = Vec::new();
        for k in 0..self.n {
            let ts = self.from + k as i64 * self.step;
            let rt = ts + self.offset;
            let lo = rt - self.range_ms;
            (lo_i, hi_i) = advance(x, (lo_i, hi_i), lo, rt);
            let mut floats = &x[lo_i..hi_i];
            if floats.iter().any(|p| is_stale_nan(p.v)) {
                self.scratch.clear();
                self.scratch
                    .extend(floats.iter().filter(|p| !is_stale_nan(p.v)).copied());
                floats = &self.scratch;
            }
            let from = points.partition_point(|p| p.t <= lo);
            let to = from + points[from..].partition_point(|p| p.t <= rt);
            if floats.is_empty() && from == to {
                continue;
            }
            let w = Window {
                floats,
                hists: &points[from..to],
                start: lo,
                end: rt,
                range_s,
                ts,
            };
            match windows::evaluate(self.kind, &w, &mut found) {
                Some(Out::Float(v)) => {
                    vals[k] = v;
                    present[k] = true;
                }
                Some(Out::Histogram(h)) => {
                    hists[k] = Some(Box::new(h));
                    present[k] = true;
                }
                None => {}
            }
            note_once(&mut self.notes, std::mem::take(&mut found), metric);
        }
        self.push(s, vals, hists, present);
    }

    /// `add` for a series of float samples only.
    fn add_floats(&mut self, s: &Series) {
        let kind = self.kind;
        let range_s = self.range_ms as f64 / 1000.0;
        let x = &s.samples;
        let has_stale = x.iter().any(|p| is_stale_nan(p.v));
        // Counter resets (index of the lower sample), so a window's increase needs no scan.
        self.resets.clear();
        if let RangeFn::Rate { counter: true, .. } = kind {
            self.resets
                .extend((1..x.len()).filter(|&j| x[j].v < x[j - 1].v));
        }
        let mut r_i = 0usize;
        let (mut vals, mut present) = self.buffers();
        let (mut lo_i, mut hi_i) = (0usize, 0usize);
        for k in 0..self.n {
            let ts = self.from + k as i64 * self.step;
            let rt = ts + self.offset;
            let lo = rt - self.range_ms;
            (lo_i, hi_i) = advance(x, (lo_i, hi_i), lo, rt);
            let mut w = &x[lo_i..hi_i];
            if w.is_empty() {
                continue;
            }
            let mut filtered = false;
            if has_stale && w.iter().any(|p| is_stale_nan(p.v)) {
                filtered = true;
                self.scratch.clear();
                self.scratch
                    .extend(w.iter().filter(|p| !is_stale_nan(p.v)).copied());
                if self.scratch.is_empty() {
                    continue;
                }
                w = &self.scratch;
            }
            let v = match kind {
                RangeFn::Rate { counter, rate } if counter && !filtered => {
                    while r_i < self.resets.len() && self.resets[r_i] <= lo_i {
                        r_i += 1;
                    }
                    if w.len() < 2 {
                        None
                    } else {
                        // The same additions, in the same order, as extrapolated_rate.
                        let mut result = w[w.len() - 1].v - w[0].v;
                        for &j in self.resets[r_i..].iter().take_while(|&&j| j < hi_i) {
                            result += x[j - 1].v;
                        }
                        Some(range::extrapolate(
                            w, result, lo, rt, range_s, counter, rate,
                        ))
                    }
                }
                RangeFn::Rate { counter, rate } => {
                    range::extrapolated_rate(w, lo, rt, range_s, counter, rate)
                }
                RangeFn::Instant { rate } => range::instant_value(w, rate),
                RangeFn::Deriv => range::deriv(w),
                RangeFn::Resets => range::resets(w),
                RangeFn::Changes => range::changes(w),
                RangeFn::PredictLinear(secs) => range::predict_linear(w, ts, secs),
                RangeFn::Quantile(q) => {
                    self.qbuf.clear();
                    self.qbuf.extend(w.iter().map(|p| p.v));
                    Some(quantile(q, &mut self.qbuf))
                }
                RangeFn::OverTime(f) => range::over_time(f, w),
                // Not precomputed (its factors are checked step by step).
                RangeFn::Smoothing(sf, tf) => range::double_exponential_smoothing(w, sf, tf),
            };
            if let Some(v) = v {
                vals[k] = v;
                present[k] = true;
            }
        }
        self.push(s, vals, Vec::new(), present);
    }
}

/// The calls `precompute` will compute, as it walks `e`: the selector nodes they read are
/// added to `out` (so they need not be preloaded). Selectors with `or` alternatives are left
/// to the preload, which merges them.
pub(super) fn streamable(e: &Expr, out: &mut HashSet<usize, FxBuild>) {
    match e {
        Expr::Paren(p) => streamable(&p.expr, out),
        Expr::Unary(u) => streamable(&u.expr, out),
        Expr::Binary(b) => {
            streamable(&b.lhs, out);
            streamable(&b.rhs, out);
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                streamable(p, out);
            }
            streamable(&a.expr, out);
        }
        Expr::Call(c) => {
            if let Some((_, at)) = kind_of(c) {
                if let Expr::MatrixSelector(ms) = unwrap_parens(&c.args.args[at]) {
                    if ms.vs.at.is_none() && to_matchers(&ms.vs).is_ok_and(|m| m.len() == 1) {
                        out.insert(key(&ms.vs));
                    }
                    return;
                }
            }
            for a in &c.args.args {
                streamable(a, out);
            }
        }
        _ => {}
    }
}
