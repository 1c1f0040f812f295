//! Function calls: `call` sends each function to its family, and the small families live
//! here — scalars (`time`, `pi`, `start`, `end`, `range`, `step`, `min_of`, `max_of`,
//! `scalar`), conversions and labels (`vector`, `absent`, `timestamp`, `label_replace`,
//! `label_join`), dates, math, sorting and `info` (the join itself is in `info`, its info
//! series are preloaded by `selection`). Range functions are in `call_range`, histogram
//! functions in `call_histogram`; the computations themselves are in `promql::functions`.
//! Follows Prometheus's promql/functions.go in our own words.
//!
//! Uses `state`, `args`, `selection`, and `functions`, `value`, `model` from below.

use promql_parser::parser::{Call, Expr};

use super::args::Args;
use super::call_histogram::is_histogram_function;
use super::call_range::is_range_function;
use super::state::{key, unwrap_parens, Eval};
use crate::model::{Labels, METRIC_NAME};
use crate::promql::functions::{labels as lf, math, sort, time as tf};
use crate::promql::value::{exec, floats_only, map_values, InstantSample, QueryError, Value};

impl Eval<'_> {
    pub(super) fn call(&mut self, c: &Call, ts: i64) -> Result<Value, QueryError> {
        if let Some(v) = self.pre.get(&key(c)).and_then(|p| p.at(ts)) {
            return Ok(Value::Vector(v));
        }
        let args = Args::of(c);
        let out = match args.name {
            "time" | "pi" | "start" | "end" | "range" | "step" | "min_of" | "max_of" | "scalar" => {
                let v = self.call_scalar(&args, ts)?;
                return Ok(Value::Scalar { t: ts, v });
            }
            n if is_range_function(n) => self.call_range(&args, ts)?,
            n if is_histogram_function(n) => self.call_histogram(&args, ts)?,
            "vector" | "absent" | "timestamp" | "label_replace" | "label_join" => {
                self.call_labels(&args, ts)?
            }
            "year" | "month" | "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month"
            | "hour" | "minute" => self.call_date(&args, ts)?,
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => {
                self.call_sort(&args, ts)?
            }
            "info" => self.call_info(c, &args, ts)?,
            _ => self.call_math(&args, ts)?,
        };
        Ok(Value::Vector(out))
    }

    /// The functions whose result is a scalar.
    fn call_scalar(&mut self, args: &Args, ts: i64) -> Result<f64, QueryError> {
        Ok(match args.name {
            "time" => ts as f64 / 1000.0,
            "pi" => std::f64::consts::PI,
            "start" => self.start as f64 / 1000.0,
            "end" => self.end as f64 / 1000.0,
            "range" => (self.end - self.start) as f64 / 1000.0,
            "step" => self.step as f64 / 1000.0,
            "min_of" | "max_of" => {
                let a = self.scalar_arg(args.get(0)?, ts)?;
                let b = self.scalar_arg(args.get(1)?, ts)?;
                if args.name == "min_of" {
                    math::go_min(a, b)
                } else {
                    math::go_max(a, b)
                }
            }
            _ => {
                let v = floats_only(self.vector_arg(args.get(0)?, ts)?);
                if v.len() == 1 {
                    v[0].v
                } else {
                    f64::NAN
                }
            }
        })
    }

    /// vector, absent, timestamp, label_replace and label_join.
    fn call_labels(&mut self, args: &Args, ts: i64) -> Result<Vec<InstantSample>, QueryError> {
        let name = args.name;
        Ok(match name {
            "vector" => {
                let v = self.scalar_arg(args.get(0)?, ts)?;
                vec![InstantSample::new(Labels::default(), ts, v, false)]
            }
            "absent" => {
                let a = args.get(0)?;
                if !self.vector_arg(a, ts)?.is_empty() {
                    return Ok(Vec::new());
                }
                let vs = match unwrap_parens(a) {
                    Expr::VectorSelector(vs) => Some(vs),
                    _ => None,
                };
                vec![InstantSample::new(lf::absent_labels(vs), ts, 1.0, false)]
            }
            "timestamp" => {
                let a = args.get(0)?;
                let v = match unwrap_parens(a) {
                    Expr::VectorSelector(vs) => self.instant_selector(vs, ts, true),
                    _ => self.vector_arg(a, ts)?,
                };
                v.into_iter()
                    .map(|s| InstantSample::new(s.labels, ts, s.t as f64 / 1000.0, true))
                    .collect()
            }
            "label_replace" => {
                let v = self.vector_arg(args.get(0)?, ts)?;
                let dst = self.string_arg(args.get(1)?, ts)?;
                let repl = self.string_arg(args.get(2)?, ts)?;
                let src = self.string_arg(args.get(3)?, ts)?;
                let re_s = self.string_arg(args.get(4)?, ts)?;
                let re = regex::Regex::new(&format!("^(?s:{re_s})$")).map_err(|e| {
                    exec(format!(
                        "invalid regular expression in label_replace(): {re_s}: {}",
                        e.to_string()
                            .lines()
                            .last()
                            .unwrap_or("")
                            .trim_start_matches("error: ")
                    ))
                })?;
                lf::check_label_name(&dst, "label_replace").map_err(|e| exec(e.to_string()))?;
                v.into_iter()
                    .map(|s| {
                        let labels = lf::label_replace(&s.labels, &dst, &repl, &src, &re);
                        let drop = s.drop_name && dst != METRIC_NAME;
                        s.relabeled(labels, ts, drop)
                    })
                    .collect()
            }
            _ => {
                let v = self.vector_arg(args.get(0)?, ts)?;
                let dst = self.string_arg(args.get(1)?, ts)?;
                let sep = self.string_arg(args.get(2)?, ts)?;
                let mut srcs = Vec::new();
                for a in args.rest(3) {
                    srcs.push(self.string_arg(a, ts)?);
                }
                lf::check_label_name(&dst, "label_join").map_err(|e| exec(e.to_string()))?;
                v.into_iter()
                    .map(|s| {
                        let joined: Vec<&str> =
                            srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
                        let labels = lf::set_label(&s.labels, &dst, &joined.join(&sep));
                        let drop = s.drop_name && dst != METRIC_NAME;
                        s.relabeled(labels, ts, drop)
                    })
                    .collect()
            }
        })
    }

    /// The date functions; without an argument they read the evaluation time.
    fn call_date(&mut self, args: &Args, ts: i64) -> Result<Vec<InstantSample>, QueryError> {
        let v = match args.opt(0) {
            Some(a) => self.vector_arg(a, ts)?,
            None => vec![InstantSample::new(
                Labels::default(),
                ts,
                ts as f64 / 1000.0,
                false,
            )],
        };
        Ok(map_values(v, ts, |x| {
            tf::apply(args.name, x).unwrap_or(f64::NAN)
        }))
    }

    /// round, clamp, clamp_min, clamp_max and the one-argument math functions.
    fn call_math(&mut self, args: &Args, ts: i64) -> Result<Vec<InstantSample>, QueryError> {
        let name = args.name;
        match name {
            "round" => {
                let v = self.vector_arg(args.get(0)?, ts)?;
                let to = match args.opt(1) {
                    Some(a) => self.scalar_arg(a, ts)?,
                    None => 1.0,
                };
                Ok(map_values(v, ts, |x| math::round(x, to)))
            }
            "clamp" | "clamp_min" | "clamp_max" => {
                let v = self.vector_arg(args.get(0)?, ts)?;
                let (lo, hi) = match name {
                    "clamp" => (
                        self.scalar_arg(args.get(1)?, ts)?,
                        self.scalar_arg(args.get(2)?, ts)?,
                    ),
                    "clamp_min" => (self.scalar_arg(args.get(1)?, ts)?, f64::INFINITY),
                    _ => (f64::NEG_INFINITY, self.scalar_arg(args.get(1)?, ts)?),
                };
                if hi < lo {
                    return Ok(Vec::new());
                }
                Ok(map_values(v, ts, |x| match name {
                    "clamp" => math::go_max(lo, math::go_min(hi, x)),
                    "clamp_min" => math::go_max(lo, x),
                    _ => math::go_min(hi, x),
                }))
            }
            n => match math::unary(n) {
                Some(f) => {
                    let v = self.vector_arg(args.get(0)?, ts)?;
                    Ok(map_values(v, ts, f))
                }
                None => Err(exec(format!("function {n:?} is not supported yet"))),
            },
        }
    }

    /// info: `v`'s series joined with the info series preloaded for this call, as of the time
    /// `v`'s first selector reads at (see `info`).
    fn call_info(
        &mut self,
        c: &Call,
        args: &Args,
        ts: i64,
    ) -> Result<Vec<InstantSample>, QueryError> {
        let v = args.get(0)?;
        let base = self.vector_arg(v, ts)?;
        let Some(info) = self.info.get(&key(c)).cloned() else {
            return Err(exec(
                "internal error: info() evaluated without its info series",
            ));
        };
        info.join(base, self.info_time(v, ts), self.engine.lookback_ms)
    }

    /// sort, sort_desc, sort_by_label, sort_by_label_desc (ineffective in range queries).
    fn call_sort(&mut self, args: &Args, ts: i64) -> Result<Vec<InstantSample>, QueryError> {
        let name = args.name;
        if self.step > 0 {
            self.warn(
                "sort is ineffective for range queries since results are always ordered by labels"
                    .into(),
                name,
            );
            return self.vector_arg(args.get(0)?, ts);
        }
        let mut v = self.vector_arg(args.get(0)?, ts)?;
        match name {
            "sort" | "sort_desc" => {
                // Sorting by value leaves histogram samples out, as Prometheus does.
                v = floats_only(v);
                sort::by_value(&mut v, name == "sort_desc")
            }
            _ => {
                let mut names = Vec::new();
                for a in args.rest(1) {
                    names.push(self.string_arg(a, ts)?);
                }
                sort::by_labels(&mut v, &names, name == "sort_by_label_desc");
            }
        }
        Ok(v)
    }
}
