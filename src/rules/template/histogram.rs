//! A native histogram as alert templates see it: Prometheus 3 hands a histogram sample's
//! `$value` (and a `query` result's `.Value`) to templates as a `*histogram.FloatHistogram`,
//! which prints through its `String` method — `{count:4, sum:5, [-2,-1):1, [-0.001,0.001]:1,
//! (0.5,1]:2}`: count and sum, then the non-empty buckets from the lowest to the highest
//! (negative buckets, the zero bucket, positive or custom buckets), bounds and counts in Go's
//! `%g` — and whose exported fields (`Count`, `Sum`, `Schema`, ...) templates may read.
//!
//! Uses `model` only (no other template file).

use crate::model::histogram::Bucket;
use crate::model::{format_go_g, CounterResetHint, FloatHistogram, Span};

/// The Go type name templates report for a histogram value.
pub const TYPE_NAME: &str = "*histogram.FloatHistogram";

/// One field of the Go struct, as a plain value.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Int(i64),
    Float(f64),
    /// A slice, printed as Go prints it (`[1 2 1]`, `[{0 3}]`).
    Text(String),
}

/// Go's `Bucket.String`: `(lower,upper]:count` with the brackets telling which bounds belong.
fn bucket_string(b: &Bucket) -> String {
    format!(
        "{}{},{}{}:{}",
        if b.lower_inclusive { '[' } else { '(' },
        format_go_g(b.lower),
        format_go_g(b.upper),
        if b.upper_inclusive { ']' } else { ')' },
        format_go_g(b.count)
    )
}

/// `FloatHistogram.String()` as Prometheus writes it.
pub fn go_string(h: &FloatHistogram) -> String {
    let mut s = format!(
        "{{count:{}, sum:{}",
        format_go_g(h.count),
        format_go_g(h.sum)
    );
    let mut push = |b: &Bucket| {
        if b.count != 0.0 {
            s.push_str(", ");
            s.push_str(&bucket_string(b));
        }
    };
    for b in h.negative_bucket_list().iter().rev() {
        push(b);
    }
    push(&h.zero_bucket());
    for b in &h.positive_bucket_list() {
        push(b);
    }
    s.push('}');
    s
}

fn floats(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format_go_g(*x)).collect();
    format!("[{}]", parts.join(" "))
}

fn spans(v: &[Span]) -> String {
    let parts: Vec<String> = v
        .iter()
        .map(|s| format!("{{{} {}}}", s.offset, s.length))
        .collect();
    format!("[{}]", parts.join(" "))
}

/// An exported field (or the niladic `String` method) of Go's `FloatHistogram`; `None` for a
/// name the type does not have.
pub fn field(h: &FloatHistogram, name: &str) -> Option<Field> {
    Some(match name {
        "CounterResetHint" => Field::Int(match h.counter_reset_hint {
            CounterResetHint::Unknown => 0,
            CounterResetHint::CounterReset => 1,
            CounterResetHint::NotCounterReset => 2,
            CounterResetHint::Gauge => 3,
        }),
        "Schema" => Field::Int(i64::from(h.schema)),
        "ZeroThreshold" => Field::Float(h.zero_threshold),
        "ZeroCount" => Field::Float(h.zero_count),
        "Count" => Field::Float(h.count),
        "Sum" => Field::Float(h.sum),
        "PositiveSpans" => Field::Text(spans(&h.positive_spans)),
        "NegativeSpans" => Field::Text(spans(&h.negative_spans)),
        "PositiveBuckets" => Field::Text(floats(&h.positive_buckets)),
        "NegativeBuckets" => Field::Text(floats(&h.negative_buckets)),
        "CustomValues" => Field::Text(floats(&h.custom_values)),
        "String" => Field::Text(go_string(h)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(offset: i32, length: u32) -> Span {
        Span { offset, length }
    }

    #[test]
    fn prints_as_prometheus_does() {
        // Schema 0: bucket 0 is (0.5,1], 1 is (1,2], 2 is (2,4]; negative bucket 1 is [-2,-1).
        let h = FloatHistogram {
            schema: 0,
            count: 7.0,
            sum: 5.5,
            zero_threshold: 0.001,
            zero_count: 1.0,
            positive_spans: vec![span(0, 3)],
            positive_buckets: vec![2.0, 0.0, 1.5],
            negative_spans: vec![span(1, 2)],
            negative_buckets: vec![1.0, 1.5],
            ..FloatHistogram::default()
        };
        assert_eq!(
            go_string(&h),
            "{count:7, sum:5.5, [-4,-2):1.5, [-2,-1):1, [-0.001,0.001]:1, (0.5,1]:2, (2,4]:1.5}"
        );
        let empty = FloatHistogram::default();
        assert_eq!(go_string(&empty), "{count:0, sum:0}");
        let big = FloatHistogram {
            count: 1e6,
            sum: 1234567.0,
            ..FloatHistogram::default()
        };
        assert_eq!(go_string(&big), "{count:1e+06, sum:1.234567e+06}");
    }

    #[test]
    fn custom_buckets_start_at_minus_infinity() {
        let h = FloatHistogram {
            schema: crate::model::histogram::CUSTOM_BUCKETS_SCHEMA,
            count: 4.0,
            sum: 3.0,
            custom_values: vec![0.1, 1.0],
            positive_spans: vec![span(0, 3)],
            positive_buckets: vec![1.0, 2.0, 1.0],
            ..FloatHistogram::default()
        };
        assert_eq!(
            go_string(&h),
            "{count:4, sum:3, [-Inf,0.1]:1, (0.1,1]:2, (1,+Inf]:1}"
        );
    }

    #[test]
    fn fields_read_like_the_go_struct() {
        let h = FloatHistogram {
            schema: 3,
            count: 2.0,
            sum: -1.0,
            counter_reset_hint: CounterResetHint::Gauge,
            positive_spans: vec![span(-2, 2)],
            positive_buckets: vec![1.0, 1.0],
            ..FloatHistogram::default()
        };
        assert_eq!(field(&h, "Count"), Some(Field::Float(2.0)));
        assert_eq!(field(&h, "Sum"), Some(Field::Float(-1.0)));
        assert_eq!(field(&h, "Schema"), Some(Field::Int(3)));
        assert_eq!(field(&h, "CounterResetHint"), Some(Field::Int(3)));
        assert_eq!(
            field(&h, "PositiveSpans"),
            Some(Field::Text("[{-2 2}]".into()))
        );
        assert_eq!(
            field(&h, "PositiveBuckets"),
            Some(Field::Text("[1 1]".into()))
        );
        assert_eq!(field(&h, "count"), None, "fields are exported names");
    }
}
