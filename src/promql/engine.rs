//! The PromQL evaluator (Prometheus 3.x semantics), over the `promql-parser` AST.
//!
//! Evaluation happens step by step: before the first step, every selector in the expression is
//! read from storage once, for the whole time window the query needs (all steps, offsets, `@`,
//! ranges, subqueries and lookback); each step then slices those series with binary searches.
//! An instant query is a range query with one step.
//!
//! Selectors that feed only range functions computed series by series (`precompute`) are not
//! preloaded: they are streamed from storage one series at a time (by each part of a range
//! query, or for an instant query's one step), so memory holds one series' samples rather
//! than the whole window of every series.
//!
//! Supported: number and string literals, parentheses, unary minus, instant vector selectors
//! (5m left-open lookback, stale markers end a series), range vector selectors (left-open
//! windows, stale markers skipped), `offset` (also negative), `@` with timestamps, `start()`
//! and `end()`, subqueries (left-open, on step-aligned timestamps), every binary operator with
//! `bool`, `on`, `ignoring`, `group_left` and `group_right`, the aggregations (`aggregate`), and
//! the float functions dispatched in `call*`. The metric name is removed when evaluation ends
//! (delayed name removal), as the upstream test scripts expect. Native-histogram samples
//! come out of selectors, range selectors, subqueries and range queries (a series may change
//! between floats and histograms); binary operators, unary minus and the aggregations compute
//! with them as Prometheus 3 does (`binary`, `eval`, `aggregate`), raising its annotations,
//! which the evaluator places in the query text and a range query split over threads merges
//! (each message once). Follows Prometheus's promql/engine.go and functions.go in our own
//! words.
//!
//! Files (each uses only the ones listed before it, and `promql`'s lower layers: `value`,
//! `parse`, `memo`, `functions`, `aggregate`):
//! - `settings`: `Engine` (limits, lookback) and `Stop` (deadline, cancellation);
//! - `precomputed`: a call's values for every step of a part, read back step by step;
//! - `fold`: a parameterless aggregation folded into a range function row by row;
//! - `info`: the `info()` function's plan, info series and join (pure, no `Eval`);
//! - `state`: the evaluator (`Eval`), its checks, annotations and tree helpers;
//! - `selection`: preloading selectors and `info()`'s info series, lookback and range
//!   windows (`RangeArg`);
//! - `precompute`: series-major range functions and streamed selectors;
//! - `binary`: binary operators and vector matching, over evaluated operands;
//! - `subquery`: subqueries and their cache;
//! - `args`: arguments evaluated to the type a function needs;
//! - `call_range`, `call_histogram`, `call`: function dispatch by family;
//! - `eval`: one expression at one time;
//! - this file: the entry points, the step loop, splitting long range queries over cores, and
//!   the statistics a query asked for (`with_stats`, from `promql::stats`).
//!
//! Evaluation recurses (`eval` → arguments → `eval`) through methods of `Eval`; the `use`
//! imports between these files only go down the list.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use promql_parser::parser::Expr;

mod args;
mod binary;
mod call;
mod call_histogram;
mod call_range;
mod eval;
mod fold;
mod info;
mod precompute;
mod precomputed;
mod selection;
mod settings;
mod state;
mod subquery;

use self::state::Eval;
use super::memo::FxBuild;
use super::stats::{Counter, QueryStats, Timings};
use crate::model::{HistogramSample, HistogramValue, Labels, Sample};
use crate::storage::{Querier, Series};

pub use self::settings::{Engine, Stop, DEFAULT_LOOKBACK_MS};
pub use super::parse::{
    depth_bound, for_each_selector, parse, to_matchers, MAX_QUERY_DEPTH, QUERY_STACK_BYTES,
};
use super::value::exec;
pub use super::value::{InstantSample, Output, QueryError, Value};

/// Below this many steps per core a range query runs on one thread.
const MIN_STEPS_PER_THREAD: usize = 64;

/// Collects range-query points per series, finding the series by label-set identity first
/// and by content only for label sets not seen before.
#[derive(Default)]
struct Accumulator {
    by_id: HashMap<usize, usize, FxBuild>,
    by_content: HashMap<Labels, usize>,
    series: Vec<Series>,
    /// Keeps every label set whose id is in `by_id` alive, so ids are not reused.
    keep: Vec<Labels>,
}

impl Accumulator {
    /// Adds a step's sample (float or histogram) to its series.
    fn push(&mut self, s: InstantSample, t: i64) {
        let idx = self.index(s.labels);
        let series = &mut self.series[idx];
        match s.h {
            None => series.samples.push(Sample { t, v: s.v }),
            Some(h) => series.histograms.push(HistogramSample {
                t,
                h: HistogramValue::Float(*h),
            }),
        }
    }

    fn push_float(&mut self, labels: Labels, t: i64, v: f64) {
        let idx = self.index(labels);
        self.series[idx].samples.push(Sample { t, v });
    }

    /// The position of `labels`' series, added if new.
    fn index(&mut self, labels: Labels) -> usize {
        match self.by_id.get(&labels.id()) {
            Some(&i) => i,
            None => {
                let series = &mut self.series;
                let i = *self.by_content.entry(labels.clone()).or_insert_with(|| {
                    series.push(Series {
                        labels: labels.clone(),
                        samples: Vec::new(),
                        histograms: Vec::new(),
                    });
                    series.len() - 1
                });
                self.by_id.insert(labels.id(), i);
                self.keep.push(labels);
                i
            }
        }
    }
}

impl Engine {
    /// Evaluates `query` at `t` (ms).
    pub fn instant(&self, q: &dyn Querier, query: &str, t: i64) -> Result<Value, QueryError> {
        self.run_instant(q, query, t, &Stop::default())
            .map(|o| o.value)
    }

    /// Evaluates `query` over a range; the result is a matrix.
    pub fn range(
        &self,
        q: &dyn Querier,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Value, QueryError> {
        self.run_range(q, query, start, end, step, &Stop::default())
            .map(|o| o.value)
    }

    /// Evaluates `query` at `t` (ms), with annotations, stopping as `stop` says.
    pub fn run_instant(
        &self,
        q: &dyn Querier,
        query: &str,
        t: i64,
        stop: &Stop,
    ) -> Result<Output, QueryError> {
        self.run_instant_expr(q, &parse(query)?, query, t, stop)
    }

    /// Evaluates an already parsed expression at `t`; `query` is its text (for positions).
    pub fn run_instant_expr(
        &self,
        q: &dyn Querier,
        expr: &Expr,
        query: &str,
        t: i64,
        stop: &Stop,
    ) -> Result<Output, QueryError> {
        let began = Instant::now();
        let expr = expr.clone();
        let mut ev = self.prepare(q, &expr, query, t, t, 0, stop)?;
        let prepared = began.elapsed();
        if !ev.streamed.is_empty() {
            // Streamed selectors are computed series by series, for this one step.
            ev.precompute(&expr, t, t, 1)?;
        }
        let value = match ev.eval(&expr, t)? {
            Value::Vector(v) => Value::Vector(ev.finish(v)?),
            other => other,
        };
        ev.counter.end_step(0);
        let counter = std::mem::take(&mut ev.counter);
        Ok(with_stats(
            ev.output(value),
            &counter,
            began,
            prepared,
            t,
            0,
        ))
    }

    /// Evaluates `query` at `start, start+step, ... <= end`; the result is a matrix.
    pub fn run_range(
        &self,
        q: &dyn Querier,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        stop: &Stop,
    ) -> Result<Output, QueryError> {
        self.run_range_expr(q, &parse(query)?, query, start, end, step, stop)
    }

    /// Evaluates an already parsed expression over a range; `query` is its text.
    #[allow(clippy::too_many_arguments)]
    pub fn run_range_expr(
        &self,
        q: &dyn Querier,
        expr: &Expr,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        stop: &Stop,
    ) -> Result<Output, QueryError> {
        if step <= 0 {
            return Err(QueryError::BadData("zero or negative query resolution step widths are not accepted. Try a positive integer".into()));
        }
        let began = Instant::now();
        let expr = expr.clone();
        let ev = self.prepare(q, &expr, query, start, end, step, stop)?;
        let prepared = began.elapsed();
        let n_steps = ((end - start) / step + 1) as usize;
        // Long queries split their steps over the cores: each part has its own evaluator over
        // the same preloaded series, and the parts are joined in time order.
        let parts = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(n_steps / MIN_STEPS_PER_THREAD)
            .max(1);
        if parts == 1 {
            let mut ev = ev;
            let series = ev.steps(&expr, start, end, step)?;
            let counter = std::mem::take(&mut ev.counter);
            let out = ev.output(Value::Matrix(series));
            return Ok(with_stats(out, &counter, began, prepared, start, step));
        }
        let per = n_steps.div_ceil(parts);
        type Part = (Vec<Series>, Output, Counter);
        let results: Vec<Result<Part, QueryError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..parts)
                .map(|p| {
                    let mut part = ev.fork();
                    let expr = &expr;
                    let a = start + (p * per) as i64 * step;
                    let b = (start + ((p + 1) * per) as i64 * step - step).min(end);
                    std::thread::Builder::new()
                        .name("promql-part".into())
                        .stack_size(QUERY_STACK_BYTES)
                        .spawn_scoped(scope, move || {
                            let series = part.steps(expr, a, b, step)?;
                            let counter = std::mem::take(&mut part.counter);
                            Ok((series, part.output(Value::Matrix(Vec::new())), counter))
                        })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| match h {
                    Ok(h) => h
                        .join()
                        .unwrap_or_else(|_| Err(exec("query evaluation thread failed"))),
                    Err(e) => Err(exec(format!("cannot start a query thread: {e}"))),
                })
                .collect()
        });
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut merged: Vec<Series> = Vec::new();
        let mut ev = ev;
        let mut counter = std::mem::take(&mut ev.counter);
        let mut out = ev.output(Value::Matrix(Vec::new()));
        for r in results {
            let (series, o, c) = r?;
            counter.absorb(c);
            for w in o.warnings {
                if !out.warnings.contains(&w) {
                    out.warnings.push(w);
                }
            }
            for i in o.infos {
                if !out.infos.contains(&i) {
                    out.infos.push(i);
                }
            }
            for s in series {
                match index.get(&s.labels) {
                    Some(&i) => {
                        merged[i].samples.extend(s.samples);
                        merged[i].histograms.extend(s.histograms);
                    }
                    None => {
                        index.insert(s.labels.clone(), merged.len());
                        merged.push(s);
                    }
                }
            }
        }
        let sorting = Instant::now();
        merged.sort_by(|a, b| a.labels.cmp(&b.labels));
        counter.sort += sorting.elapsed();
        out.value = Value::Matrix(merged);
        Ok(with_stats(out, &counter, began, prepared, start, step))
    }

    /// An evaluator for [start, end] with every selector of `expr` that is not streamed
    /// read from storage.
    #[allow(clippy::too_many_arguments)]
    fn prepare<'a>(
        &'a self,
        q: &'a dyn Querier,
        expr: &Expr,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        stop: &Stop,
    ) -> Result<Eval<'a>, QueryError> {
        let mut streamed = HashSet::default();
        if self.fast_paths {
            precompute::streamable(expr, &mut streamed);
        }
        let mut ev = Eval::new(self, q, streamed, query, start, end, step, stop);
        ev.preload(expr)?;
        Ok(ev)
    }
}

impl Eval<'_> {
    /// Evaluates `expr` at `from, from+step, ... <= to`, collecting series sorted by labels.
    fn steps(
        &mut self,
        expr: &Expr,
        from: i64,
        to: i64,
        step: i64,
    ) -> Result<Vec<Series>, QueryError> {
        // Series by label-set identity (kept alive in `keep`), with a content fallback.
        let mut acc = Accumulator::default();
        // Streamed selectors have no preloaded data: their calls must be computed here.
        if self.engine.fast_paths && (to > from || !self.streamed.is_empty()) {
            self.precompute(expr, from, to, step)?;
        }
        let mut ts = from;
        let mut k = 0;
        while ts <= to {
            self.check_deadline()?;
            match self.eval(expr, ts)? {
                Value::Scalar { v, .. } => acc.push_float(Labels::default(), ts, v),
                Value::Vector(vec) => {
                    for s in self.finish(vec)? {
                        acc.push(s, ts);
                    }
                }
                other => {
                    return Err(QueryError::BadData(format!(
                        "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                        if matches!(other, Value::Matrix(_)) { "range vector" } else { other.type_name() }
                    )))
                }
            }
            self.counter.end_step(k);
            k += 1;
            ts += step;
        }
        let mut series = acc.series;
        let sorting = Instant::now();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        self.counter.sort += sorting.elapsed();
        Ok(series)
    }
}

/// `out` with its statistics attached, if the query counts: the counter's samples, and the
/// times of the phases since `began` (preparation took `prepared`). The API adds the queue
/// and total times.
fn with_stats(
    mut out: Output,
    counter: &Counter,
    began: Instant,
    prepared: Duration,
    start: i64,
    step: i64,
) -> Output {
    if !counter.on() {
        return out;
    }
    // Durations, not float differences, so the seconds print as cleanly as Prometheus's.
    let eval_total = began.elapsed();
    let inner_eval = eval_total.saturating_sub(prepared + counter.sort);
    let result: u64 = match &out.value {
        Value::Vector(v) => v.len() as u64,
        Value::Matrix(m) => m
            .iter()
            .map(|s| (s.samples.len() + s.histograms.len()) as u64)
            .sum(),
        _ => 1,
    };
    out.stats = Some(Box::new(QueryStats {
        timings: Timings {
            eval_total: eval_total.as_secs_f64(),
            result_sort: counter.sort.as_secs_f64(),
            query_preparation: prepared.as_secs_f64(),
            inner_eval: inner_eval.as_secs_f64(),
            exec_queue: 0.0,
            exec_total: eval_total.as_secs_f64(),
        },
        samples: counter.samples(start, step, result),
    }));
    out
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod histogram_tests;

#[cfg(test)]
mod stats_tests;
