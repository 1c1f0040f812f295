//! The values PromQL evaluation passes around and returns: one sample of an instant vector
//! (`InstantSample`), a query result (`Value`, `Output`), why a query failed (`QueryError`),
//! and the one float formatter for sample values, label values and messages (`format_float`).
//!
//! A point's value is a float today. Native histograms will add a second kind of sample value
//! (this struct's `v` becoming a float-or-histogram type). Element-wise functions and unary
//! minus rewrite values only through `map_value`/`map_values` here, binary operators only
//! through `Operation::apply` (engine/binary.rs); aggregations read them in `aggregate`, range
//! functions in `functions::range` and `engine/precompute.rs`.
//!
//! Uses `model` and `storage` (the `Series` of a matrix, `StorageError`) only.

use crate::model::{Labels, METRIC_NAME};
use crate::storage::{Series, StorageError};

/// One sample of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
    /// The metric name is to be removed when evaluation finishes.
    pub drop_name: bool,
}

impl InstantSample {
    pub fn new(labels: Labels, t: i64, v: f64, drop_name: bool) -> Self {
        InstantSample {
            labels,
            t,
            v,
            drop_name,
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

    /// This sample at `t` with its value replaced by `f(value)`; the metric name is to be
    /// dropped (the result is no longer the named metric).
    pub fn map_value(self, t: i64, f: impl FnOnce(f64) -> f64) -> Self {
        InstantSample::new(self.labels, t, f(self.v), true)
    }
}

/// `map_value` over a vector: every sample at `t`, with `f` applied to its value.
pub fn map_values(
    v: Vec<InstantSample>,
    t: i64,
    mut f: impl FnMut(f64) -> f64,
) -> Vec<InstantSample> {
    v.into_iter().map(|s| s.map_value(t, &mut f)).collect()
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
        let m = s.map_value(5, |v| v * 3.0);
        assert_eq!((m.t, m.v, m.drop_name), (5, 6.0, true));
        assert!(m.final_labels().is_empty());
    }
}
