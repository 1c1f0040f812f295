//! histogram_quantile, histogram_quantiles and histogram_fraction over classic histograms:
//! bucket series are grouped by their labels without `le` and the name (with a warning for a
//! missing or malformed `le`), and each group goes to `promql::functions::histogram`. The info
//! about counts forced monotonic is Prometheus's.
//!
//! Uses `state`, `args`, and `functions`, `memo`, `value`, `model` from below.

use std::collections::HashMap;

use super::args::Args;
use super::state::Eval;
use crate::model::{Labels, METRIC_NAME};
use crate::promql::functions::histogram::{
    bucket_fraction, bucket_quantile_checked, label_float, parse_le, Bucket,
};
use crate::promql::functions::labels as lf;
use crate::promql::memo::WITHOUT_LE;
use crate::promql::value::{exec, floats_only, InstantSample, QueryError};

/// A group of bucket series: its labels, its metric name, its buckets.
type Group = (Labels, String, Vec<Bucket>);

impl Eval<'_> {
    pub(super) fn call_histogram(
        &mut self,
        args: &Args,
        ts: i64,
    ) -> Result<Vec<InstantSample>, QueryError> {
        if args.name == "histogram_quantiles" {
            return self.histogram_quantiles(args, ts);
        }
        let fraction = args.name == "histogram_fraction";
        let q = self.scalar_arg(args.get(0)?, ts)?;
        let upper_q = if fraction {
            self.scalar_arg(args.get(1)?, ts)?
        } else {
            0.0
        };
        let vec_arg = args.get(if fraction { 2 } else { 1 })?;
        let v = floats_only(self.vector_arg(vec_arg, ts)?);
        if !fraction {
            self.check_quantile(q, "histogram_quantile");
        }
        let needle = Self::needle(vec_arg);
        let mut out = Vec::new();
        for (g, metric, mut b) in self.classic_groups(v, &needle) {
            let v = if fraction {
                bucket_fraction(q, upper_q, &mut b)
            } else {
                self.bucket_quantile(q, &mut b, &metric, &needle)
            };
            out.push(InstantSample::new(g, ts, v, false));
        }
        Ok(out)
    }

    /// histogram_quantiles(v, label, q...): one series per group and quantile, the quantile
    /// in `label`.
    fn histogram_quantiles(
        &mut self,
        args: &Args,
        ts: i64,
    ) -> Result<Vec<InstantSample>, QueryError> {
        let v = floats_only(self.vector_arg(args.get(0)?, ts)?);
        let label = self.string_arg(args.get(1)?, ts)?;
        lf::check_label_name(&label, "histogram_quantiles").map_err(|e| exec(e.to_string()))?;
        let mut qs = Vec::new();
        for a in args.rest(2) {
            qs.push(self.scalar_arg(a, ts)?);
        }
        for &q in &qs {
            self.check_quantile(q, "histogram_quantiles");
        }
        let needle = Self::needle(args.get(0)?);
        let mut out = Vec::new();
        for (g, metric, mut b) in self.classic_groups(v, &needle) {
            for &q in &qs {
                let val = self.bucket_quantile(q, &mut b, &metric, &needle);
                out.push(InstantSample::new(
                    lf::set_label(&g, &label, &label_float(q)),
                    ts,
                    val,
                    false,
                ));
            }
        }
        Ok(out)
    }

    /// The q-quantile of one group's buckets, with the info when counts had to be fixed.
    fn bucket_quantile(&mut self, q: f64, b: &mut [Bucket], metric: &str, needle: &str) -> f64 {
        let (v, fixed) = bucket_quantile_checked(q, b);
        if fixed {
            self.info(format!("input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {metric:?}"), needle);
        }
        v
    }

    /// Groups classic-histogram bucket samples by their labels without `le` and the name,
    /// warning about series whose `le` is missing or malformed.
    fn classic_groups(&mut self, v: Vec<InstantSample>, needle: &str) -> Vec<Group> {
        let mut order: Vec<(Labels, String)> = Vec::new();
        let mut groups: HashMap<Labels, Vec<Bucket>> = HashMap::new();
        for s in v {
            let metric = s.labels.metric_name().unwrap_or("").to_string();
            let le = s.labels.get("le").unwrap_or("");
            let Some(upper) = parse_le(le) else {
                self.warn(format!("bucket label \"le\" is missing or has a malformed value of {le:?} for metric name {metric:?}"), needle);
                continue;
            };
            let g = self.memo.derive_interned(WITHOUT_LE, &s.labels, |l| {
                l.without("le").without(METRIC_NAME)
            });
            if !groups.contains_key(&g) {
                order.push((g.clone(), metric));
            }
            groups
                .entry(g)
                .or_default()
                .push(Bucket { upper, count: s.v });
        }
        order
            .into_iter()
            .map(|(g, m)| {
                let b = groups.remove(&g).unwrap_or_default();
                (g, m, b)
            })
            .collect()
    }
}
