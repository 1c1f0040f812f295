//! A native-histogram sample as it moves between ingest, the store and queries: a timestamp
//! and either an integer or a float histogram (`HistogramValue`). Stores keep the form they
//! were given (remote-write sending returns it as received); queries read the float form.
//! Uses the sibling histogram types only.

use super::{CounterResetHint, FloatHistogram, Histogram, ValidationError};

/// An integer or a float histogram.
#[derive(Debug, Clone, PartialEq)]
pub enum HistogramValue {
    Int(Histogram),
    Float(FloatHistogram),
}

impl HistogramValue {
    /// The float form (an integer histogram's deltas summed into absolute counts).
    pub fn to_float(&self) -> FloatHistogram {
        match self {
            HistogramValue::Int(h) => h.to_float(),
            HistogramValue::Float(h) => h.clone(),
        }
    }

    /// Whether this is a stale marker (its sum is the stale NaN).
    pub fn is_stale(&self) -> bool {
        match self {
            HistogramValue::Int(h) => h.is_stale(),
            HistogramValue::Float(h) => h.is_stale(),
        }
    }

    /// Prometheus's validation rules for the form at hand.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            HistogramValue::Int(h) => h.validate(),
            HistogramValue::Float(h) => h.validate(),
        }
    }

    pub fn counter_reset_hint(&self) -> CounterResetHint {
        match self {
            HistogramValue::Int(h) => h.counter_reset_hint,
            HistogramValue::Float(h) => h.counter_reset_hint,
        }
    }

    pub fn schema(&self) -> i32 {
        match self {
            HistogramValue::Int(h) => h.schema,
            HistogramValue::Float(h) => h.schema,
        }
    }

    /// The observation count and sum, as floats.
    pub fn count_and_sum(&self) -> (f64, f64) {
        match self {
            HistogramValue::Int(h) => (h.count as f64, h.sum),
            HistogramValue::Float(h) => (h.count, h.sum),
        }
    }

    /// The zero histogram a created timestamp stands for: no observations, the same schema,
    /// zero threshold and custom bounds, and a counter reset before it.
    pub fn zero_like(&self) -> HistogramValue {
        match self {
            HistogramValue::Int(h) => HistogramValue::Int(h.zero_like()),
            HistogramValue::Float(h) => HistogramValue::Float(FloatHistogram {
                counter_reset_hint: CounterResetHint::CounterReset,
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                custom_values: h.custom_values.clone(),
                ..FloatHistogram::default()
            }),
        }
    }

    /// Whether `self` and `other` are the same value bit for bit (floats compared by bits, so
    /// NaN sums and stale markers compare as stored); the counter-reset hint is compared too.
    pub fn same_bits(&self, other: &HistogramValue) -> bool {
        fn fb(a: &[f64], b: &[f64]) -> bool {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
        }
        match (self, other) {
            (HistogramValue::Int(a), HistogramValue::Int(b)) => {
                a.sum.to_bits() == b.sum.to_bits()
                    && a.zero_threshold.to_bits() == b.zero_threshold.to_bits()
                    && fb(&a.custom_values, &b.custom_values)
                    && Histogram {
                        sum: 0.0,
                        zero_threshold: 0.0,
                        custom_values: Vec::new(),
                        ..a.clone()
                    } == Histogram {
                        sum: 0.0,
                        zero_threshold: 0.0,
                        custom_values: Vec::new(),
                        ..b.clone()
                    }
            }
            (HistogramValue::Float(a), HistogramValue::Float(b)) => {
                a.counter_reset_hint == b.counter_reset_hint
                    && a.schema == b.schema
                    && a.zero_threshold.to_bits() == b.zero_threshold.to_bits()
                    && a.zero_count.to_bits() == b.zero_count.to_bits()
                    && a.count.to_bits() == b.count.to_bits()
                    && a.sum.to_bits() == b.sum.to_bits()
                    && a.positive_spans == b.positive_spans
                    && a.negative_spans == b.negative_spans
                    && fb(&a.positive_buckets, &b.positive_buckets)
                    && fb(&a.negative_buckets, &b.negative_buckets)
                    && fb(&a.custom_values, &b.custom_values)
            }
            _ => false,
        }
    }
}

impl Histogram {
    /// `HistogramValue::zero_like` for an integer histogram.
    pub fn zero_like(&self) -> Histogram {
        Histogram {
            counter_reset_hint: CounterResetHint::CounterReset,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            custom_values: self.custom_values.clone(),
            ..Histogram::default()
        }
    }
}

/// One histogram sample: a millisecond timestamp and the histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSample {
    pub t: i64,
    pub h: HistogramValue,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{stale_nan, Span};

    fn int() -> Histogram {
        Histogram {
            schema: 1,
            count: 3,
            sum: 2.5,
            positive_spans: vec![Span {
                offset: 0,
                length: 2,
            }],
            positive_buckets: vec![1, 1],
            ..Default::default()
        }
    }

    #[test]
    fn same_bits_tells_stale_from_nan_and_int_from_float() {
        let a = HistogramValue::Int(int());
        assert!(a.same_bits(&a.clone()));
        assert!(!a.same_bits(&HistogramValue::Float(int().to_float())));
        let nan = HistogramValue::Int(Histogram {
            sum: f64::NAN,
            ..int()
        });
        let stale = HistogramValue::Int(Histogram {
            sum: stale_nan(),
            ..int()
        });
        assert!(nan.same_bits(&nan.clone()));
        assert!(!nan.same_bits(&stale));
        assert!(stale.is_stale() && !nan.is_stale());
        let mut other = int();
        other.positive_buckets[1] = 2;
        assert!(!a.same_bits(&HistogramValue::Int(other)));
    }

    #[test]
    fn float_form_and_figures() {
        let a = HistogramValue::Int(int());
        assert_eq!(a.to_float().positive_buckets, vec![1.0, 2.0]);
        assert_eq!(a.count_and_sum(), (3.0, 2.5));
        assert_eq!(a.schema(), 1);
        assert!(a.validate().is_ok(), "count 3 = buckets 1 + 2");
        let bad = HistogramValue::Int(Histogram { count: 4, ..int() });
        assert!(bad.validate().is_err(), "count 4 but buckets hold 3");
    }
}
