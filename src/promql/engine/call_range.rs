//! The functions over range vectors, evaluated step by step: rate, increase, delta, irate,
//! idelta, deriv, resets, changes, predict_linear, quantile_over_time, the `*_over_time`
//! family, absent_over_time and double_exponential_smoothing. Each series' window (floats
//! and native histograms) goes to `promql::functions::range::windows::evaluate`, whose notes
//! become warnings and infos here; rate and increase also give Prometheus's "might not be a
//! counter" info for series whose result is a float. (Range queries compute most of these
//! series by series in `precompute`, with the same functions.)
//!
//! Uses `state`, `args`, `selection` (`RangeArg::for_each_full`), and `functions`, `value`
//! from below.

use super::args::Args;
use super::state::Eval;
use crate::promql::functions::labels as lf;
use crate::promql::functions::range::{
    self,
    windows::{self, Note, Out, RangeFn, Window},
};
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

impl Eval<'_> {
    pub(super) fn call_range(
        &mut self,
        args: &Args,
        ts: i64,
    ) -> Result<Vec<InstantSample>, QueryError> {
        let name = args.name;
        let (f, at) = match name {
            "rate" => (
                RangeFn::Rate {
                    counter: true,
                    rate: true,
                },
                0,
            ),
            "increase" => (
                RangeFn::Rate {
                    counter: true,
                    rate: false,
                },
                0,
            ),
            "delta" => (
                RangeFn::Rate {
                    counter: false,
                    rate: false,
                },
                0,
            ),
            "irate" => (RangeFn::Instant { rate: true }, 0),
            "idelta" => (RangeFn::Instant { rate: false }, 0),
            "deriv" => (RangeFn::Deriv, 0),
            "resets" => (RangeFn::Resets, 0),
            "changes" => (RangeFn::Changes, 0),
            "predict_linear" => {
                let secs = self.scalar_arg(args.get(1)?, ts)?;
                (RangeFn::PredictLinear(secs), 0)
            }
            "quantile_over_time" => {
                let q = self.scalar_arg(args.get(0)?, ts)?;
                self.check_quantile(q, "quantile_over_time");
                (RangeFn::Quantile(q), 1)
            }
            "absent_over_time" => {
                let m = self.range_arg(args.get(0)?, ts)?;
                return Ok(if m.is_empty() {
                    vec![InstantSample::new(
                        lf::absent_labels(m.selector.as_ref()),
                        ts,
                        1.0,
                        false,
                    )]
                } else {
                    Vec::new()
                });
            }
            "double_exponential_smoothing" => {
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
                (RangeFn::Smoothing(sf, tf), 0)
            }
            n => match range::over_time_name(n) {
                Some(n) => (RangeFn::OverTime(n), 0),
                None => return Err(exec(format!("unknown range function {n}"))),
            },
        };
        let arg = args.get(at)?;
        let m = self.range_arg(arg, ts)?;
        let needle = Self::needle(arg);
        let counter_info = matches!(name, "rate" | "increase");
        let mut out = Vec::new();
        let mut notes: Vec<(Note, String)> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let checked = &mut self.counter_checked;
        m.for_each_full(|labels, floats, hists| {
            let w = Window {
                floats,
                hists,
                start: m.start,
                end: m.end,
                range_s: m.range_s,
                ts,
            };
            let mut found = Vec::new();
            let v = windows::evaluate(f, &w, &mut found);
            let metric = labels.metric_name().unwrap_or("");
            note_once(&mut notes, found, metric);
            let drop = !f.keeps_name();
            match v {
                Some(Out::Float(v)) => {
                    // Prometheus's "might not be a counter" check looks at series whose rate
                    // is a float.
                    if counter_info
                        && checked.insert(labels.id())
                        && !names.iter().any(|n| n == metric)
                    {
                        names.push(metric.to_string());
                    }
                    out.push(InstantSample::new(labels.clone(), ts, v, drop));
                }
                Some(Out::Histogram(h)) => {
                    out.push(InstantSample::histogram(labels.clone(), ts, h, drop))
                }
                None => {}
            }
        });
        self.emit_notes(notes, &needle);
        for n in &names {
            self.counter_info(n, &needle);
        }
        Ok(out)
    }

    /// Reports the range functions' notes (each with its metric name) at `needle`.
    pub(super) fn emit_notes(&mut self, notes: Vec<(Note, String)>, needle: &str) {
        for (note, metric) in notes {
            if note.is_warning() {
                self.warn(note.message(&metric), needle);
            } else {
                self.info(note.message(&metric), needle);
            }
        }
    }
}

/// Adds the notes `found` for a series of `metric` to `notes`, each (note, metric) once.
pub(super) fn note_once(notes: &mut Vec<(Note, String)>, found: Vec<Note>, metric: &str) {
    for n in found {
        if !notes.iter().any(|(x, m)| *x == n && m == metric) {
            notes.push((n, metric.to_string()));
        }
    }
}
