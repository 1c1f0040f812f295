//! The functions over range vectors, evaluated step by step: rate, increase, delta, irate,
//! idelta, deriv, resets, changes, predict_linear, quantile_over_time, the `*_over_time`
//! family, absent_over_time and double_exponential_smoothing. Each series' window goes to
//! `promql::functions::range`; rate and increase also give Prometheus's "might not be a
//! counter" info. (Range queries compute most of these series by series in `precompute`,
//! with the same functions.)
//!
//! Uses `state`, `args`, `selection` (`RangeArg`), and `functions`, `value`, `model` from below.

use super::args::Args;
use super::selection::RangeArg;
use super::state::Eval;
use crate::model::Sample;
use crate::promql::functions::{labels as lf, quantile, range};
use crate::promql::value::{exec, InstantSample, QueryError};

/// Whether `name` is one of the functions `call_range` computes.
pub(super) fn is_range_function(name: &str) -> bool {
    matches!(
        name,
        "rate"
            | "increase"
            | "delta"
            | "irate"
            | "idelta"
            | "deriv"
            | "resets"
            | "changes"
            | "predict_linear"
            | "quantile_over_time"
            | "absent_over_time"
            | "double_exponential_smoothing"
    ) || range::is_over_time(name)
}

/// `f` of each series' window at `ts` (no output where it gives `None`); the metric name is
/// dropped unless `keep_name`.
fn per_series(
    m: RangeArg,
    ts: i64,
    keep_name: bool,
    mut f: impl FnMut(&[Sample], &RangeArg) -> Option<f64>,
) -> Vec<InstantSample> {
    let mut out = Vec::new();
    m.for_each(|labels, samples| {
        if let Some(v) = f(samples, &m) {
            out.push(InstantSample::new(labels.clone(), ts, v, !keep_name));
        }
    });
    out
}

impl Eval<'_> {
    pub(super) fn call_range(
        &mut self,
        args: &Args,
        ts: i64,
    ) -> Result<Vec<InstantSample>, QueryError> {
        let name = args.name;
        Ok(match name {
            "rate" | "increase" | "delta" => {
                let m = self.range_arg(args.get(0)?, ts)?;
                if name != "delta" {
                    self.check_counters(&m, &Self::needle(args.get(0)?));
                }
                per_series(m, ts, false, |s, m| {
                    range::extrapolated_rate(
                        s,
                        m.start,
                        m.end,
                        m.range_s,
                        name != "delta",
                        name == "rate",
                    )
                })
            }
            "irate" | "idelta" => {
                per_series(self.range_arg(args.get(0)?, ts)?, ts, false, |s, _| {
                    range::instant_value(s, name == "irate")
                })
            }
            "deriv" => per_series(self.range_arg(args.get(0)?, ts)?, ts, false, |s, _| {
                range::deriv(s)
            }),
            "resets" => per_series(self.range_arg(args.get(0)?, ts)?, ts, false, |s, _| {
                range::resets(s)
            }),
            "changes" => per_series(self.range_arg(args.get(0)?, ts)?, ts, false, |s, _| {
                range::changes(s)
            }),
            "predict_linear" => {
                let m = self.range_arg(args.get(0)?, ts)?;
                let secs = self.scalar_arg(args.get(1)?, ts)?;
                // The prediction is anchored at the evaluation time, even with @.
                per_series(m, ts, false, |s, _| range::predict_linear(s, ts, secs))
            }
            "quantile_over_time" => {
                let q = self.scalar_arg(args.get(0)?, ts)?;
                self.check_quantile(q, "quantile_over_time");
                let m = self.range_arg(args.get(1)?, ts)?;
                per_series(m, ts, false, |s, _| {
                    let mut v: Vec<f64> = s.iter().map(|x| x.v).collect();
                    Some(quantile(q, &mut v))
                })
            }
            "absent_over_time" => {
                let m = self.range_arg(args.get(0)?, ts)?;
                if m.is_empty() {
                    vec![InstantSample::new(
                        lf::absent_labels(m.selector.as_ref()),
                        ts,
                        1.0,
                        false,
                    )]
                } else {
                    Vec::new()
                }
            }
            "double_exponential_smoothing" => {
                let m = self.range_arg(args.get(0)?, ts)?;
                let sf = self.scalar_arg(args.get(1)?, ts)?;
                let tf = self.scalar_arg(args.get(2)?, ts)?;
                if !(sf > 0.0 && sf < 1.0) {
                    return Err(exec(format!(
                        "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
                    )));
                }
                if !(tf > 0.0 && tf < 1.0) {
                    return Err(exec(format!(
                        "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
                    )));
                }
                per_series(m, ts, false, |s, _| {
                    range::double_exponential_smoothing(s, sf, tf)
                })
            }
            n => {
                let keep = matches!(n, "last_over_time" | "first_over_time");
                per_series(self.range_arg(args.get(0)?, ts)?, ts, keep, |s, _| {
                    range::over_time(n, s)
                })
            }
        })
    }

    /// The "might not be a counter" info for each metric name among the series of `m` not
    /// checked before in this query.
    fn check_counters(&mut self, m: &RangeArg, needle: &str) {
        let mut names: Vec<String> = Vec::new();
        let checked = &mut self.counter_checked;
        m.for_each(|l, _| {
            if !checked.insert(l.id()) {
                return;
            }
            let n = l.metric_name().unwrap_or("");
            if !names.iter().any(|x| x == n) {
                names.push(n.to_string());
            }
        });
        for n in &names {
            self.counter_info(n, needle);
        }
    }
}
