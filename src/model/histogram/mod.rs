//! Native histograms as Prometheus defines them: the integer form (bucket counts as deltas, as
//! clients and remote write send them) and the float form (absolute counts, what queries
//! compute with). Exponential schemas −4…8 (bucket boundaries at powers of 2^(2^−schema)) and
//! the custom-bucket schema −53 (NHCB) with its `custom_values` upper bounds; a zero bucket of
//! `zero_threshold` width; positive and negative buckets laid out by spans; a counter-reset
//! hint. A histogram sample whose `sum` is the stale NaN is a stale marker. `validate` checks
//! Prometheus's validation rules; `buckets` walks buckets with their boundaries and holds the
//! comparison used by tests; `arith` (with `layout` and `reset`) holds the arithmetic PromQL
//! needs. Uses std and `thiserror`.

mod arith;
mod buckets;
mod layout;
mod reset;
mod sample;
mod validate;

pub use arith::{CombineOutcome, HistogramMathError};
pub(crate) use buckets::indexed;
pub use buckets::{exponential_bound, Bucket, BucketKind};
pub use sample::{HistogramSample, HistogramValue};
pub use validate::{is_valid_schema, Side, ValidationError};

/// The custom-buckets schema (NHCB): bucket bounds are `custom_values`.
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;
/// The smallest and largest exponential schemas.
pub const MIN_EXPONENTIAL_SCHEMA: i32 = -4;
pub const MAX_EXPONENTIAL_SCHEMA: i32 = 8;

/// What a histogram says about a counter reset before it (Prometheus's `CounterResetHint`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum CounterResetHint {
    /// Unknown: found out by comparing with the previous histogram.
    #[default]
    Unknown,
    /// A counter reset happened right before this histogram.
    CounterReset,
    /// No counter reset happened.
    NotCounterReset,
    /// A gauge histogram: counter resets do not apply.
    Gauge,
}

/// A run of `length` consecutive buckets starting `offset` buckets after the previous span's
/// end (the first span's offset is the index of its first bucket).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub offset: i32,
    pub length: u32,
}

/// An integer histogram: counts are whole numbers; bucket counts are deltas, each bucket's
/// count being the previous bucket's plus its delta (across spans).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    pub counter_reset_hint: CounterResetHint,
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: u64,
    pub count: u64,
    pub sum: f64,
    pub positive_spans: Vec<Span>,
    pub negative_spans: Vec<Span>,
    pub positive_buckets: Vec<i64>,
    pub negative_buckets: Vec<i64>,
    /// Upper bounds of the custom buckets (schema −53 only), ascending.
    pub custom_values: Vec<f64>,
}

/// A float histogram: counts may be fractional (rates, averages); bucket counts are absolute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FloatHistogram {
    pub counter_reset_hint: CounterResetHint,
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: f64,
    pub count: f64,
    pub sum: f64,
    pub positive_spans: Vec<Span>,
    pub negative_spans: Vec<Span>,
    pub positive_buckets: Vec<f64>,
    pub negative_buckets: Vec<f64>,
    /// Upper bounds of the custom buckets (schema −53 only), ascending.
    pub custom_values: Vec<f64>,
}

impl Histogram {
    /// The float form: deltas summed into absolute counts.
    pub fn to_float(&self) -> FloatHistogram {
        fn absolute(deltas: &[i64]) -> Vec<f64> {
            let mut cur = 0i64;
            deltas
                .iter()
                .map(|d| {
                    cur = cur.wrapping_add(*d);
                    cur as f64
                })
                .collect()
        }
        FloatHistogram {
            counter_reset_hint: self.counter_reset_hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count as f64,
            count: self.count as f64,
            sum: self.sum,
            positive_spans: self.positive_spans.clone(),
            negative_spans: self.negative_spans.clone(),
            positive_buckets: absolute(&self.positive_buckets),
            negative_buckets: absolute(&self.negative_buckets),
            custom_values: self.custom_values.clone(),
        }
    }

    /// Whether this is a stale marker (its sum is the stale NaN).
    pub fn is_stale(&self) -> bool {
        crate::model::is_stale_nan(self.sum)
    }
}

impl FloatHistogram {
    /// Whether this is a stale marker (its sum is the stale NaN).
    pub fn is_stale(&self) -> bool {
        crate::model::is_stale_nan(self.sum)
    }

    /// Whether the schema is the custom-buckets one.
    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_become_absolute_counts_across_spans() {
        let h = Histogram {
            schema: 0,
            count: 9,
            sum: 18.4,
            zero_count: 1,
            positive_spans: vec![
                Span {
                    offset: 0,
                    length: 2,
                },
                Span {
                    offset: 1,
                    length: 2,
                },
            ],
            positive_buckets: vec![1, 1, -1, 0],
            ..Histogram::default()
        };
        let f = h.to_float();
        assert_eq!(f.positive_buckets, vec![1.0, 2.0, 1.0, 1.0]);
        assert_eq!((f.count, f.zero_count, f.sum), (9.0, 1.0, 18.4));
        assert!(!f.is_stale());
        let stale = Histogram {
            sum: crate::model::stale_nan(),
            ..h
        };
        assert!(stale.is_stale() && stale.to_float().is_stale());
    }
}
