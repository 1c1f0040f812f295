//! Native histograms between the remote-write `Histogram` message (shared by 1.0 and 2.0) and
//! `model::HistogramSample`. A message whose count is the float variant is a float histogram
//! (absolute `*_counts`, float zero count); any other is an integer histogram (`*_deltas`,
//! integer zero count), as Prometheus reads them; fields of the other form are ignored. The
//! reset hint maps one to one (an unknown number is "unknown"); `custom_values` come along
//! whatever the schema (validation judges them). Encoding writes the form the sample has.
//! Uses `model` and the sibling `v1` messages.

use super::v1::{self, histogram as ph};
use crate::model::{
    CounterResetHint, FloatHistogram, Histogram, HistogramSample, HistogramValue, Span,
};

fn hint_of(h: i32) -> CounterResetHint {
    match ph::ResetHint::try_from(h) {
        Ok(ph::ResetHint::Yes) => CounterResetHint::CounterReset,
        Ok(ph::ResetHint::No) => CounterResetHint::NotCounterReset,
        Ok(ph::ResetHint::Gauge) => CounterResetHint::Gauge,
        Ok(ph::ResetHint::Unknown) | Err(_) => CounterResetHint::Unknown,
    }
}

fn hint_to(h: CounterResetHint) -> i32 {
    (match h {
        CounterResetHint::Unknown => ph::ResetHint::Unknown,
        CounterResetHint::CounterReset => ph::ResetHint::Yes,
        CounterResetHint::NotCounterReset => ph::ResetHint::No,
        CounterResetHint::Gauge => ph::ResetHint::Gauge,
    }) as i32
}

fn spans_of(s: &[v1::BucketSpan]) -> Vec<Span> {
    s.iter()
        .map(|s| Span {
            offset: s.offset,
            length: s.length,
        })
        .collect()
}

fn spans_to(s: &[Span]) -> Vec<v1::BucketSpan> {
    s.iter()
        .map(|s| v1::BucketSpan {
            offset: s.offset,
            length: s.length,
        })
        .collect()
}

impl v1::Histogram {
    /// Whether the message holds a float histogram (its count is the float variant).
    pub fn is_float(&self) -> bool {
        matches!(self.count, Some(ph::Count::CountFloat(_)))
    }

    /// The sample this message holds (not validated).
    pub fn to_sample(&self) -> HistogramSample {
        let h = if self.is_float() {
            let count = match self.count {
                Some(ph::Count::CountFloat(c)) => c,
                _ => 0.0,
            };
            let zero_count = match self.zero_count {
                Some(ph::ZeroCount::ZeroCountFloat(c)) => c,
                _ => 0.0,
            };
            HistogramValue::Float(FloatHistogram {
                counter_reset_hint: hint_of(self.reset_hint),
                schema: self.schema,
                zero_threshold: self.zero_threshold,
                zero_count,
                count,
                sum: self.sum,
                positive_spans: spans_of(&self.positive_spans),
                negative_spans: spans_of(&self.negative_spans),
                positive_buckets: self.positive_counts.clone(),
                negative_buckets: self.negative_counts.clone(),
                custom_values: self.custom_values.clone(),
            })
        } else {
            let count = match self.count {
                Some(ph::Count::CountInt(c)) => c,
                _ => 0,
            };
            let zero_count = match self.zero_count {
                Some(ph::ZeroCount::ZeroCountInt(c)) => c,
                _ => 0,
            };
            HistogramValue::Int(Histogram {
                counter_reset_hint: hint_of(self.reset_hint),
                schema: self.schema,
                zero_threshold: self.zero_threshold,
                zero_count,
                count,
                sum: self.sum,
                positive_spans: spans_of(&self.positive_spans),
                negative_spans: spans_of(&self.negative_spans),
                positive_buckets: self.positive_deltas.clone(),
                negative_buckets: self.negative_deltas.clone(),
                custom_values: self.custom_values.clone(),
            })
        };
        HistogramSample {
            t: self.timestamp,
            h,
        }
    }

    /// The message for a sample, in the sample's form.
    pub fn from_sample(s: &HistogramSample) -> v1::Histogram {
        match &s.h {
            HistogramValue::Int(h) => v1::Histogram {
                count: Some(ph::Count::CountInt(h.count)),
                sum: h.sum,
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                zero_count: Some(ph::ZeroCount::ZeroCountInt(h.zero_count)),
                negative_spans: spans_to(&h.negative_spans),
                negative_deltas: h.negative_buckets.clone(),
                negative_counts: Vec::new(),
                positive_spans: spans_to(&h.positive_spans),
                positive_deltas: h.positive_buckets.clone(),
                positive_counts: Vec::new(),
                reset_hint: hint_to(h.counter_reset_hint),
                timestamp: s.t,
                custom_values: h.custom_values.clone(),
            },
            HistogramValue::Float(h) => v1::Histogram {
                count: Some(ph::Count::CountFloat(h.count)),
                sum: h.sum,
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                zero_count: Some(ph::ZeroCount::ZeroCountFloat(h.zero_count)),
                negative_spans: spans_to(&h.negative_spans),
                negative_deltas: Vec::new(),
                negative_counts: h.negative_buckets.clone(),
                positive_spans: spans_to(&h.positive_spans),
                positive_deltas: Vec::new(),
                positive_counts: h.positive_buckets.clone(),
                reset_hint: hint_to(h.counter_reset_hint),
                timestamp: s.t,
                custom_values: h.custom_values.clone(),
            },
        }
    }
}
