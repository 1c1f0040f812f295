//! The histogram functions, on native and classic histograms as Prometheus 3 evaluates them:
//!
//! - `histogram_count`, `histogram_sum`, `histogram_avg`, `histogram_stddev`,
//!   `histogram_stdvar` read native histogram samples (float samples are ignored, without an
//!   annotation, as upstream does);
//! - `histogram_quantile`, `histogram_quantiles` and `histogram_fraction` take native
//!   histograms (`functions::native_histogram`) and classic bucket series alike: bucket series
//!   are grouped by their labels without `le` (with a warning for a missing or malformed
//!   `le`) and each group goes to `functions::histogram`; two metrics with the same other
//!   labels give two results that differ only by name, which is an error once the name is
//!   dropped. A native histogram whose
//!   labels equal a bucket group's labels without `le` is a conflict: both are left out, with
//!   the "mix of classic and native histograms" warning. The infos about counts forced
//!   monotonic and about NaN observations are Prometheus's.
//!
//! Every result drops the metric name (delayed, as all functions do here).
//!
//! Uses `state`, `args`, and `functions`, `memo`, `value`, `model` from below.

use std::collections::HashMap;

use promql_parser::parser::Expr;

use super::args::Args;
use super::state::{unwrap_parens, Eval};
use crate::model::{FloatHistogram, Labels};
use crate::promql::functions::histogram::{
    bucket_fraction, bucket_quantile_checked, label_float, parse_le, Bucket,
};
use crate::promql::functions::labels as lf;
use crate::promql::functions::native_histogram::{self as nh, NanEffect};
use crate::promql::memo::WITHOUT_LE;
use crate::promql::value::{exec, InstantSample, QueryError};

/// A group of bucket series: its labels, its metric name, its buckets.
type Group = (Labels, String, Vec<Bucket>);

/// A histogram function's input split into native histogram samples and classic groups.
struct Split {
    native: Vec<InstantSample>,
    classic: Vec<Group>,
}

/// The names this file evaluates.
pub(super) fn is_histogram_function(name: &str) -> bool {
    matches!(
        name,
        "histogram_count"
            | "histogram_sum"
            | "histogram_avg"
            | "histogram_stddev"
            | "histogram_stdvar"
            | "histogram_quantile"
            | "histogram_quantiles"
            | "histogram_fraction"
    )
}

/// The text to locate an argument by in the query: a selector's metric name (its `{` without
/// one), a call's `name(`, an aggregation's operator.
fn arg_needle(e: &Expr) -> String {
    match unwrap_parens(e) {
        Expr::Call(c) => format!("{}(", c.func.name),
        Expr::Aggregate(a) => a.op.to_string(),
        Expr::Subquery(sq) => arg_needle(&sq.expr),
        Expr::VectorSelector(vs) if vs.name.is_none() => "{".to_string(),
        other => Eval::needle(other),
    }
}

impl Eval<'_> {
    pub(super) fn call_histogram(
        &mut self,
        args: &Args,
        ts: i64,
    ) -> Result<Vec<InstantSample>, QueryError> {
        match args.name {
            "histogram_quantiles" => self.histogram_quantiles(args, ts),
            "histogram_quantile" => self.histogram_quantile(args, ts),
            "histogram_fraction" => self.histogram_fraction(args, ts),
            name => {
                let f: fn(&FloatHistogram) -> f64 = match name {
                    "histogram_count" => |h| h.count,
                    "histogram_sum" => |h| h.sum,
                    "histogram_avg" => |h| h.sum / h.count,
                    "histogram_stddev" => |h| nh::variance(h).sqrt(),
                    "histogram_stdvar" => nh::variance,
                    n => return Err(exec(format!("function {n:?} is not supported yet"))),
                };
                let v = self.vector_arg(args.get(0)?, ts)?;
                Ok(v.into_iter()
                    .filter_map(|s| {
                        let x = f(s.h.as_deref()?);
                        Some(InstantSample::new(s.labels, ts, x, true))
                    })
                    .collect())
            }
        }
    }

    fn histogram_quantile(
        &mut self,
        args: &Args,
        ts: i64,
    ) -> Result<Vec<InstantSample>, QueryError> {
        let q = self.scalar_arg(args.get(0)?, ts)?;
        let vec_arg = args.get(1)?;
        let v = self.vector_arg(vec_arg, ts)?;
        self.check_quantile(q, "histogram_quantile");
        let needle = arg_needle(vec_arg);
        let split = self.split_histograms(v, &needle);
        let mut out = Vec::with_capacity(split.native.len() + split.classic.len());
        for s in split.native {
            let val = self.native_quantile(q, &s, &needle);
            out.push(InstantSample::new(s.labels, ts, val, true));
        }
        for (g, metric, mut b) in split.classic {
            let val = self.bucket_quantile(q, &mut b, &metric, &needle);
            out.push(InstantSample::new(g, ts, val, true));
        }
        Ok(out)
    }

    fn histogram_fraction(
        &mut self,
        args: &Args,
        ts: i64,
    ) -> Result<Vec<InstantSample>, QueryError> {
        let lower = self.scalar_arg(args.get(0)?, ts)?;
        let upper = self.scalar_arg(args.get(1)?, ts)?;
        let vec_arg = args.get(2)?;
        let v = self.vector_arg(vec_arg, ts)?;
        let needle = arg_needle(vec_arg);
        let split = self.split_histograms(v, &needle);
        let mut out = Vec::with_capacity(split.native.len() + split.classic.len());
        for s in split.native {
            let Some(h) = s.h.as_deref() else { continue };
            let (val, nans_left_out) = nh::fraction(lower, upper, h);
            if nans_left_out {
                let metric = s.labels.metric_name().unwrap_or("").to_string();
                self.info(
                    with_metric(
                        "input to histogram_fraction has NaN observations, which are excluded from all fractions",
                        &metric,
                    ),
                    &needle,
                );
            }
            out.push(InstantSample::new(s.labels, ts, val, true));
        }
        for (g, _, mut b) in split.classic {
            out.push(InstantSample::new(
                g,
                ts,
                bucket_fraction(lower, upper, &mut b),
                true,
            ));
        }
        Ok(out)
    }

    /// histogram_quantiles(v, label, q...): one series per histogram and quantile, the
    /// quantile in `label`.
    fn histogram_quantiles(
        &mut self,
        args: &Args,
        ts: i64,
    ) -> Result<Vec<InstantSample>, QueryError> {
        let vec_arg = args.get(0)?;
        let v = self.vector_arg(vec_arg, ts)?;
        let label = self.string_arg(args.get(1)?, ts)?;
        lf::check_label_name(&label, "histogram_quantiles").map_err(|e| exec(e.to_string()))?;
        let mut qs = Vec::new();
        for a in args.rest(2) {
            qs.push(self.scalar_arg(a, ts)?);
        }
        for &q in &qs {
            self.check_quantile(q, "histogram_quantiles");
        }
        let needle = arg_needle(vec_arg);
        let mut split = self.split_histograms(v, &needle);
        let mut out = Vec::new();
        for &q in &qs {
            let q_label = label_float(q);
            for s in &split.native {
                let val = self.native_quantile(q, s, &needle);
                out.push(InstantSample::new(
                    lf::set_label(&s.labels, &label, &q_label),
                    ts,
                    val,
                    true,
                ));
            }
            for (g, metric, b) in &mut split.classic {
                let val = self.bucket_quantile(q, b, metric, &needle);
                out.push(InstantSample::new(
                    lf::set_label(g, &label, &q_label),
                    ts,
                    val,
                    true,
                ));
            }
        }
        Ok(out)
    }

    /// The q-quantile of a native histogram sample, with the infos about NaN observations.
    fn native_quantile(&mut self, q: f64, s: &InstantSample, needle: &str) -> f64 {
        let Some(h) = s.h.as_deref() else {
            return f64::NAN;
        };
        let (v, effect) = nh::quantile(q, h);
        let text = match effect {
            NanEffect::None => return v,
            NanEffect::ResultNaN => {
                "input to histogram_quantile has NaN observations, result is NaN"
            }
            NanEffect::SkewedHigher => {
                "input to histogram_quantile has NaN observations, result is skewed higher"
            }
        };
        let metric = s.labels.metric_name().unwrap_or("").to_string();
        self.info(with_metric(text, &metric), needle);
        v
    }

    /// The q-quantile of one group's buckets, with the info when counts had to be fixed.
    fn bucket_quantile(&mut self, q: f64, b: &mut [Bucket], metric: &str, needle: &str) -> f64 {
        let (v, fixed) = bucket_quantile_checked(q, b);
        if fixed {
            self.info(format!("input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {metric:?}"), needle);
        }
        v
    }

    /// Splits a histogram function's input: native histogram samples, and classic bucket
    /// samples grouped by their labels without `le` (a warning for each missing or malformed
    /// `le`). A native histogram with the labels of a bucket group conflicts with it: both
    /// are dropped, with a warning.
    fn split_histograms(&mut self, v: Vec<InstantSample>, needle: &str) -> Split {
        let mut order: Vec<(Labels, String)> = Vec::new();
        let mut groups: HashMap<Labels, Vec<Bucket>> = HashMap::new();
        let mut native = Vec::new();
        for s in v {
            if s.h.is_some() {
                native.push(s);
                continue;
            }
            let metric = s.labels.metric_name().unwrap_or("").to_string();
            let le = s.labels.get("le").unwrap_or("");
            let Some(upper) = parse_le(le) else {
                self.warn(format!("bucket label \"le\" is missing or has a malformed value of {le:?} for metric name {metric:?}"), needle);
                continue;
            };
            let g = self
                .memo
                .derive_interned(WITHOUT_LE, &s.labels, |l| l.without("le"));
            if !groups.contains_key(&g) {
                order.push((g.clone(), metric));
            }
            groups
                .entry(g)
                .or_default()
                .push(Bucket { upper, count: s.v });
        }
        if !groups.is_empty() {
            native.retain(|s| {
                if groups.remove(&s.labels).is_none() {
                    return true;
                }
                let metric = s.labels.metric_name().unwrap_or("").to_string();
                self.warn(
                    with_metric(
                        "vector contains a mix of classic and native histograms",
                        &metric,
                    ),
                    needle,
                );
                false
            });
        }
        let classic = order
            .into_iter()
            .filter_map(|(g, m)| {
                let b = groups.remove(&g)?;
                Some((g, m, b))
            })
            .collect();
        Split { native, classic }
    }
}

/// An annotation text with ` for metric name "m"` when there is a name (upstream's
/// `maybeAddMetricName`).
fn with_metric(text: &str, metric: &str) -> String {
    if metric.is_empty() {
        text.to_string()
    } else {
        format!("{text} for metric name {metric:?}")
    }
}
