//! Subqueries (`expr[range:step]`): the inner expression evaluated at the step-aligned times
//! of the left-open window, as a range vector. Inner results are cached by (node, time) so the
//! steps of a range query reuse them; the cache drops what later steps no longer need. Long
//! subqueries check the deadline as they step and count their points against the limit.
//! The query statistics count a cached inner result's samples again at each step that uses it
//! (Prometheus evaluates it afresh).
//! Histogram points lose their counter-reset hints (not gauge ones): the points are a step
//! apart, so a hint about the sample before does not hold for the point before, and range
//! functions find resets by comparing the histograms.
//!
//! Uses `state`, `selection` (`RangeArg`), and `value`, `model`, `storage` from below; the
//! inner expression is evaluated through `Eval::eval` (the recursion of evaluation).

use std::collections::HashMap;

use promql_parser::parser::SubqueryExpr;

use super::selection::{RangeArg, Windows};
use super::state::{key, Eval};
use crate::model::{
    is_stale_nan, CounterResetHint, HistogramSample, HistogramValue, Labels, Sample,
};
use crate::promql::value::{exec, too_many_samples, InstantSample, QueryError, Value};
use crate::storage::Series;

/// Above this many cached inner results, results older than the current window are dropped.
const CACHE_TRIM: usize = 1024;

impl Eval<'_> {
    /// The subquery's range vector at `ts`.
    pub(super) fn subquery(&mut self, sq: &SubqueryExpr, ts: i64) -> Result<RangeArg, QueryError> {
        let rt = self.ref_time(ts, &sq.at, &sq.offset);
        let range = sq.range.as_millis() as i64;
        let step = sq
            .step
            .map(|d| d.as_millis() as i64)
            .filter(|s| *s > 0)
            .unwrap_or(self.engine.subquery_step_ms);
        let lo = rt - range;
        // The first step-aligned time after the (left-open) window start.
        let mut t = step * (lo / step);
        while t <= lo {
            t += step;
        }
        let mut by_labels: HashMap<Labels, Series> = HashMap::new();
        let k = key(sq);
        let mut points = 0usize;
        let mut n = 0usize;
        while t <= rt {
            // A long subquery (`x[1y:1m]`) must still stop at the deadline.
            if n.is_multiple_of(64) {
                self.check_deadline()?;
            }
            n += 1;
            let vec = self.inner_at(sq, k, t)?;
            points += vec.len();
            if points > self.engine.max_samples {
                return Err(too_many_samples());
            }
            for s in vec {
                let series = by_labels.entry(s.labels).or_default();
                match s.h {
                    Some(mut h) => {
                        // Points a step apart are not consecutive samples: a hint about the
                        // sample before no longer holds (gauge histograms stay gauges).
                        if matches!(
                            h.counter_reset_hint,
                            CounterResetHint::CounterReset | CounterResetHint::NotCounterReset
                        ) {
                            h.counter_reset_hint = CounterResetHint::Unknown;
                        }
                        series.histograms.push(HistogramSample {
                            t,
                            h: HistogramValue::Float(*h),
                        })
                    }
                    None if !is_stale_nan(s.v) => series.samples.push(Sample { t, v: s.v }),
                    None => {}
                }
            }
            t += step;
        }
        // Later steps of a range query only need inner results after this window's
        // start: drop the older ones, so the cache holds about one window.
        if self.sub_cache.len() > CACHE_TRIM {
            self.sub_cache
                .retain(|(node, at), _| *node != k || *at > lo);
            self.counter
                .sub_counts
                .retain(|(node, at), _| *node != k || *at > lo);
        }
        self.counter.hold(points as u64);
        let mut series: Vec<Series> = by_labels
            .into_iter()
            .map(|(labels, s)| Series { labels, ..s })
            .collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(RangeArg {
            series: Windows::Owned(series),
            start: lo,
            end: rt,
            range_s: range as f64 / 1000.0,
            selector: None,
        })
    }

    /// The inner expression's result at `t` (node `k`), from the cache or evaluated.
    fn inner_at(
        &mut self,
        sq: &SubqueryExpr,
        k: usize,
        t: i64,
    ) -> Result<Vec<InstantSample>, QueryError> {
        if let Some(v) = self.sub_cache.get(&(k, t)) {
            // Prometheus counts the inner samples at every step, as if evaluated afresh.
            if self.counter.on() {
                let n = self.counter.sub_counts.get(&(k, t)).copied().unwrap_or(0);
                self.counter.add(n);
            }
            return Ok(v.clone());
        }
        let before = self.counter.step;
        let v = match self.eval(&sq.expr, t)? {
            Value::Vector(v) => self.finish(v)?,
            Value::Scalar { v, .. } => {
                vec![InstantSample::new(Labels::default(), t, v, false)]
            }
            other => {
                return Err(exec(format!(
                    "subquery needs an instant vector or scalar, got {}",
                    other.type_name()
                )))
            }
        };
        if self.counter.on() {
            let n = self.counter.step - before;
            self.counter.sub_counts.insert((k, t), n);
        }
        self.sub_cache.insert((k, t), v.clone());
        Ok(v)
    }
}
