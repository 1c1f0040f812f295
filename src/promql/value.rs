//! The values PromQL evaluation passes around and returns: one sample of an instant vector
//! (`InstantSample`), a query result (`Value`, `Output`), why a query failed (`QueryError`), an
//! annotation before it is given its position (`Annotation`), the one float formatter for
//! sample values, label values and messages (`format_float`), and a histogram written as
//! Prometheus's `FloatHistogram.String()` writes it (`format_histogram`, for `count_values`).
//!
//! A point's value is a float (`v`) or a native histogram in its float form (`h`, boxed so a
//! float sample stays small and allocates nothing). Element-wise float functions rewrite
//! values through `map_value`/`map_values` here (histogram samples are left out, as
//! Prometheus's functions that ignore histograms do; `floats_only` does the same for a whole
//! vector); binary operators combine values in engine/binary.rs, unary minus in engine/eval.rs,
//! aggregations in `aggregate`, range functions in `functions::range` and
//! `engine/precompute.rs`. Selectors, `timestamp`, the label functions, `sort_by_label`,
//! `absent`, `info`, `limitk`, `limit_ratio` and the set operators pass histogram samples
//! through.
//!
//! Uses `stats` (a result's statistics), and `model` and `storage` (the `Series` of a matrix,
//! `StorageError`) only.

use super::stats::QueryStats;
use crate::model::histogram::Bucket;
use crate::model::{format_go_g, FloatHistogram, Labels, METRIC_NAME};
use crate::storage::{Series, StorageError};

/// One sample of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    pub labels: Labels,
    pub t: i64,
    /// The float value (0 for a histogram sample).
    pub v: f64,
    /// A histogram sample's value; `None` for a float sample.
    pub h: Option<Box<FloatHistogram>>,
    /// The metric name is to be removed when evaluation finishes.
    pub drop_name: bool,
}

impl InstantSample {
    pub fn new(labels: Labels, t: i64, v: f64, drop_name: bool) -> Self {
        InstantSample {
            labels,
            t,
            v,
            h: None,
            drop_name,
        }
    }

    /// A histogram sample.
    pub fn histogram(labels: Labels, t: i64, h: FloatHistogram, drop_name: bool) -> Self {
        InstantSample {
            labels,
            t,
            v: 0.0,
            h: Some(Box::new(h)),
            drop_name,
        }
    }

    /// This sample (float or histogram) with other labels, time and name removal.
    pub fn relabeled(self, labels: Labels, t: i64, drop_name: bool) -> Self {
        InstantSample {
            labels,
            t,
            drop_name,
            ..self
        }
    }

    /// The labels as they will be reported.
    pub fn final_labels(&self) -> Labels {
        if self.drop_name {
            self.labels.without(METRIC_NAME)
        } else {
            self.labels.clone()
        }
    }

    /// This float sample at `t` with its value replaced by `f(value)`; the metric name is to
    /// be dropped (the result is no longer the named metric). `None` for a histogram sample.
    pub fn map_value(self, t: i64, f: impl FnOnce(f64) -> f64) -> Option<Self> {
        if self.h.is_some() {
            return None;
        }
        Some(InstantSample::new(self.labels, t, f(self.v), true))
    }
}

/// `map_value` over a vector: every float sample at `t`, with `f` applied to its value
/// (histogram samples are left out).
pub fn map_values(
    v: Vec<InstantSample>,
    t: i64,
    mut f: impl FnMut(f64) -> f64,
) -> Vec<InstantSample> {
    v.into_iter()
        .filter_map(|s| s.map_value(t, &mut f))
        .collect()
}

/// The float samples of `v`: histogram samples are left out (for the functions, operators and
/// aggregations that do not compute with histograms yet). No allocation.
pub fn floats_only(mut v: Vec<InstantSample>) -> Vec<InstantSample> {
    v.retain(|s| s.h.is_none());
    v
}

/// An annotation as an operator or function raises it: the message without the
/// `PromQL warning: `/`PromQL info: ` prefix and without the position, which the evaluator
/// adds (it knows where in the query the responsible expression starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Annotation {
    Warning(String),
    Info(String),
}

/// A histogram as Prometheus's `FloatHistogram.String()` writes it, which is what
/// `count_values` puts in its label for a histogram sample:
/// `{count:20, sum:10, [-2,-1):2, [-0.001,0.001]:2, (0.5,1]:1}` — count and sum, then every
/// non-empty bucket from the lowest to the highest (the zero bucket when it holds
/// something), numbers in Go's `%g`.
pub fn format_histogram(h: &FloatHistogram) -> String {
    fn bucket(out: &mut String, b: &Bucket) {
        out.push_str(", ");
        out.push(if b.lower_inclusive { '[' } else { '(' });
        out.push_str(&format_go_g(b.lower));
        out.push(',');
        out.push_str(&format_go_g(b.upper));
        out.push(if b.upper_inclusive { ']' } else { ')' });
        out.push(':');
        out.push_str(&format_go_g(b.count));
    }
    let mut out = format!(
        "{{count:{}, sum:{}",
        format_go_g(h.count),
        format_go_g(h.sum)
    );
    for b in h.negative_bucket_list().iter().rev() {
        if b.count != 0.0 {
            bucket(&mut out, b);
        }
    }
    if h.zero_count != 0.0 {
        bucket(&mut out, &h.zero_bucket());
    }
    for b in h.positive_bucket_list().iter() {
        if b.count != 0.0 {
            bucket(&mut out, b);
        }
    }
    out.push('}');
    out
}

/// A query result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar { t: i64, v: f64 },
    String { t: i64, v: String },
    Vector(Vec<InstantSample>),
    Matrix(Vec<Series>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// A result with its annotations (already prefixed "PromQL warning: " / "PromQL info: " and
/// suffixed with the position, as Prometheus reports them).
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub value: Value,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
    /// The query's statistics, when they were asked for (`Stop::stats`).
    pub stats: Option<Box<QueryStats>>,
}

/// Why a query failed, with the HTTP mapping Prometheus uses.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// 400 bad_data: the query does not parse (`line:col: parse error: ...` where known).
    #[error("{0}")]
    Parse(String),
    /// 400 bad_data
    #[error("{0}")]
    BadData(String),
    /// 422 execution
    #[error("{0}")]
    Execution(String),
    /// 503 timeout
    #[error("{0}")]
    Timeout(String),
    /// 503 canceled (the client went away)
    #[error("{0}")]
    Canceled(String),
    /// 500 internal
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// An execution error (422) with `msg`.
pub(crate) fn exec(msg: impl Into<String>) -> QueryError {
    QueryError::Execution(msg.into())
}

/// Prometheus's error for a query over `--query.max-samples`.
pub(crate) fn too_many_samples() -> QueryError {
    exec("query processing would load too many samples into memory in query execution")
}

/// A float as Prometheus writes sample values, label values (`count_values`) and the numbers
/// in annotations: Go's `strconv.FormatFloat(v, 'f', -1, 64)` — shortest round-trip digits,
/// never an exponent — with `NaN`, `+Inf` and `-Inf`.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_format_as_prometheus_writes_values() {
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.25), "0.25");
        assert_eq!(format_float(1e21), "1000000000000000000000");
    }

    #[test]
    fn map_value_drops_the_name() {
        let s = InstantSample::new(Labels::from_pairs([(METRIC_NAME, "x")]), 1, 2.0, false);
        let m = s.map_value(5, |v| v * 3.0).unwrap();
        assert_eq!((m.t, m.v, m.drop_name), (5, 6.0, true));
        assert!(m.final_labels().is_empty());
    }

    #[test]
    fn histograms_are_written_as_prometheus_writes_them() {
        use crate::model::Span;
        let span = |offset, length| Span { offset, length };
        let h = FloatHistogram {
            count: 9.0,
            sum: -1.5,
            zero_threshold: 0.001,
            zero_count: 2.0,
            positive_spans: vec![span(0, 2)],
            positive_buckets: vec![1.0, 0.0],
            negative_spans: vec![span(0, 2)],
            negative_buckets: vec![1.0, 5.0],
            ..FloatHistogram::default()
        };
        assert_eq!(
            format_histogram(&h),
            "{count:9, sum:-1.5, [-2,-1):5, [-1,-0.5):1, [-0.001,0.001]:2, (0.5,1]:1}"
        );
        let custom = FloatHistogram {
            schema: crate::model::histogram::CUSTOM_BUCKETS_SCHEMA,
            count: 3e6,
            sum: 4.0,
            custom_values: vec![5.0],
            positive_spans: vec![span(0, 2)],
            positive_buckets: vec![1.0, 2e6],
            ..FloatHistogram::default()
        };
        assert_eq!(
            format_histogram(&custom),
            "{count:3e+06, sum:4, [-Inf,5]:1, (5,+Inf]:2e+06}"
        );
    }

    #[test]
    fn histogram_samples_are_left_out_of_float_maps() {
        let l = Labels::from_pairs([(METRIC_NAME, "x")]);
        let h = FloatHistogram {
            count: 2.0,
            sum: 1.0,
            ..FloatHistogram::default()
        };
        let v = vec![
            InstantSample::histogram(l.clone(), 1, h.clone(), false),
            InstantSample::new(l.clone(), 1, 2.0, false),
        ];
        let m = map_values(v.clone(), 7, |x| x + 1.0);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].v, m[0].t, m[0].h.is_none()), (3.0, 7, true));
        let f = floats_only(v.clone());
        assert_eq!(f.len(), 1);
        assert!(f[0].h.is_none());
        let r = v[0].clone().relabeled(Labels::default(), 9, true);
        assert_eq!(r.h.as_deref(), Some(&h));
        assert_eq!((r.t, r.drop_name), (9, true));
        assert!(std::mem::size_of::<Option<Box<FloatHistogram>>>() == 8);
    }
}
