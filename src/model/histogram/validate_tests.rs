//! Table tests for histogram validation: each rule broken once, valid histograms accepted.

use super::super::*;
use super::*;

fn sp(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

/// A valid integer histogram: zero bucket 2, positive buckets 1,2,1 at 0..2 and 4, one
/// negative bucket of 3: count 2+(1+2+1)+3 = 9.
fn int_ok() -> Histogram {
    Histogram {
        schema: 1,
        zero_threshold: 0.001,
        zero_count: 2,
        count: 9,
        sum: 12.5,
        positive_spans: vec![sp(-1, 2), sp(2, 1)],
        positive_buckets: vec![1, 1, -1],
        negative_spans: vec![sp(3, 1)],
        negative_buckets: vec![3],
        ..Histogram::default()
    }
}

fn nhcb_ok() -> Histogram {
    Histogram {
        schema: CUSTOM_BUCKETS_SCHEMA,
        count: 7,
        sum: 9.0,
        positive_spans: vec![sp(0, 2), sp(1, 1)],
        positive_buckets: vec![1, 2, 0],
        custom_values: vec![1.0, 2.5, 10.0],
        ..Histogram::default()
    }
}

#[test]
fn valid_integer_histograms_pass() {
    for (name, h) in [
        ("exponential", int_ok()),
        ("custom buckets", nhcb_ok()),
        ("empty", Histogram::default()),
        (
            "NaN sum allows more observations than buckets",
            Histogram {
                sum: f64::NAN,
                count: 12,
                ..int_ok()
            },
        ),
        (
            "stale marker",
            Histogram {
                sum: crate::model::stale_nan(),
                ..int_ok()
            },
        ),
        (
            "lowest schema",
            Histogram {
                schema: MIN_EXPONENTIAL_SCHEMA,
                ..int_ok()
            },
        ),
        (
            "highest schema",
            Histogram {
                schema: MAX_EXPONENTIAL_SCHEMA,
                ..int_ok()
            },
        ),
        (
            "custom bounds may start at -Inf",
            Histogram {
                custom_values: vec![f64::NEG_INFINITY, 2.5, 10.0],
                ..nhcb_ok()
            },
        ),
    ] {
        assert_eq!(h.validate(), Ok(()), "{name}");
        assert_eq!(h.to_float().validate(), Ok(()), "{name} as float");
    }
}

#[test]
fn each_integer_rule_broken_once() {
    use ValidationError as E;
    let cases: Vec<(&str, Histogram, E)> = vec![
        (
            "schema too high",
            Histogram {
                schema: 9,
                ..int_ok()
            },
            E::InvalidSchema(9),
        ),
        (
            "schema too low",
            Histogram {
                schema: -5,
                ..int_ok()
            },
            E::InvalidSchema(-5),
        ),
        (
            "later span with negative offset",
            Histogram {
                positive_spans: vec![sp(-1, 2), sp(-2, 1)],
                ..int_ok()
            },
            E::SpanNegativeOffset {
                side: Side::Positive,
                span: 2,
                offset: -2,
            },
        ),
        (
            "positive spans need more buckets",
            Histogram {
                positive_spans: vec![sp(-1, 2), sp(2, 2)],
                ..int_ok()
            },
            E::SpansBucketsMismatch {
                side: Side::Positive,
                spans: 4,
                buckets: 3,
            },
        ),
        (
            "negative buckets without spans",
            Histogram {
                negative_spans: vec![],
                ..int_ok()
            },
            E::SpansBucketsMismatch {
                side: Side::Negative,
                spans: 0,
                buckets: 1,
            },
        ),
        (
            "a delta makes a bucket negative",
            Histogram {
                positive_buckets: vec![1, 1, -3],
                ..int_ok()
            },
            E::NegativeBucketCount {
                side: Side::Positive,
                bucket: 3,
                count: -1.0,
            },
        ),
        (
            "negative bucket count on the negative side",
            Histogram {
                negative_buckets: vec![-3],
                ..int_ok()
            },
            E::NegativeBucketCount {
                side: Side::Negative,
                bucket: 1,
                count: -3.0,
            },
        ),
        (
            "count differs from buckets",
            Histogram {
                count: 11,
                ..int_ok()
            },
            E::CountMismatch {
                in_buckets: 9,
                count: 11,
            },
        ),
        (
            "count below buckets with a NaN sum",
            Histogram {
                count: 8,
                sum: f64::NAN,
                ..int_ok()
            },
            E::CountNotBigEnough {
                in_buckets: 9,
                count: 8,
            },
        ),
        (
            "custom bounds with an exponential schema",
            Histogram {
                custom_values: vec![1.0],
                ..int_ok()
            },
            E::ExponentialWithCustomBounds {
                schema: 1,
                bounds: 1,
            },
        ),
        (
            "custom bound NaN",
            Histogram {
                custom_values: vec![1.0, f64::NAN, 10.0],
                ..nhcb_ok()
            },
            E::CustomBoundNaN,
        ),
        (
            "custom bounds not increasing",
            Histogram {
                custom_values: vec![1.0, 2.5, 2.5],
                ..nhcb_ok()
            },
            E::CustomBoundsNotIncreasing {
                prev: 2.5,
                cur: 2.5,
            },
        ),
        (
            "custom bounds with +Inf",
            Histogram {
                custom_values: vec![1.0, 2.5, f64::INFINITY],
                ..nhcb_ok()
            },
            E::CustomBoundInfinite,
        ),
        (
            "too few custom bounds",
            Histogram {
                custom_values: vec![1.0],
                ..nhcb_ok()
            },
            E::CustomBoundsTooFew {
                bounds: 1,
                span_length: 4,
            },
        ),
        (
            "custom first span with negative offset",
            Histogram {
                positive_spans: vec![sp(-1, 3)],
                ..nhcb_ok()
            },
            E::SpanNegativeOffset {
                side: Side::Custom,
                span: 1,
                offset: -1,
            },
        ),
        (
            "custom spans need fewer buckets",
            Histogram {
                positive_spans: vec![sp(0, 2)],
                ..nhcb_ok()
            },
            E::SpansBucketsMismatch {
                side: Side::Custom,
                spans: 2,
                buckets: 3,
            },
        ),
        (
            "custom with a zero count",
            Histogram {
                zero_count: 1,
                count: 8,
                ..nhcb_ok()
            },
            E::CustomZeroCount(1.0),
        ),
        (
            "custom with a zero threshold",
            Histogram {
                zero_threshold: 0.5,
                ..nhcb_ok()
            },
            E::CustomZeroThreshold(0.5),
        ),
        (
            "custom with negative spans",
            Histogram {
                negative_spans: vec![sp(0, 1)],
                negative_buckets: vec![1],
                ..nhcb_ok()
            },
            E::CustomNegativeSpans(1),
        ),
        (
            "custom with negative buckets",
            Histogram {
                negative_buckets: vec![1],
                ..nhcb_ok()
            },
            E::CustomNegativeBuckets(1),
        ),
        (
            "custom bucket negative",
            Histogram {
                positive_buckets: vec![1, -2, 0],
                ..nhcb_ok()
            },
            E::NegativeBucketCount {
                side: Side::Custom,
                bucket: 2,
                count: -1.0,
            },
        ),
        (
            "custom count mismatch",
            Histogram {
                count: 5,
                ..nhcb_ok()
            },
            E::CountMismatch {
                in_buckets: 7,
                count: 5,
            },
        ),
    ];
    for (name, h, want) in cases {
        assert_eq!(h.validate(), Err(want), "{name}");
    }
}

#[test]
fn float_rules() {
    use ValidationError as E;
    let ok = int_ok().to_float();
    // The float form does not compare count with buckets (rounding), but NaN counts pass.
    for (name, h) in [
        (
            "count off",
            FloatHistogram {
                count: 3.0,
                ..ok.clone()
            },
        ),
        (
            "NaN bucket",
            FloatHistogram {
                positive_buckets: vec![1.0, f64::NAN, 1.0],
                ..ok.clone()
            },
        ),
        (
            "fractional counts",
            FloatHistogram {
                positive_buckets: vec![0.5, 2.25, 1.0],
                count: 0.1,
                ..ok.clone()
            },
        ),
    ] {
        assert_eq!(h.validate(), Ok(()), "{name}");
    }
    let cases: Vec<(&str, FloatHistogram, E)> = vec![
        (
            "schema",
            FloatHistogram {
                schema: -6,
                ..ok.clone()
            },
            E::InvalidSchema(-6),
        ),
        (
            "negative float bucket",
            FloatHistogram {
                positive_buckets: vec![1.0, -0.5, 1.0],
                ..ok.clone()
            },
            E::NegativeBucketCount {
                side: Side::Positive,
                bucket: 2,
                count: -0.5,
            },
        ),
        (
            "-Inf negative bucket",
            FloatHistogram {
                negative_buckets: vec![f64::NEG_INFINITY],
                ..ok.clone()
            },
            E::NegativeBucketCount {
                side: Side::Negative,
                bucket: 1,
                count: f64::NEG_INFINITY,
            },
        ),
        (
            "negative zero count",
            FloatHistogram {
                zero_count: -1.0,
                ..ok.clone()
            },
            E::NegativeZeroCount(-1.0),
        ),
        (
            "negative count",
            FloatHistogram {
                count: -2.0,
                ..ok.clone()
            },
            E::NegativeCount(-2.0),
        ),
        (
            "spans",
            FloatHistogram {
                positive_buckets: vec![1.0],
                ..ok.clone()
            },
            E::SpansBucketsMismatch {
                side: Side::Positive,
                spans: 3,
                buckets: 1,
            },
        ),
        (
            "custom +Inf",
            FloatHistogram {
                custom_values: vec![1.0, 2.5, f64::INFINITY],
                ..nhcb_ok().to_float()
            },
            E::CustomBoundInfinite,
        ),
    ];
    for (name, h, want) in cases {
        assert_eq!(h.validate(), Err(want), "{name}");
    }
}

#[test]
fn messages_name_the_rule_and_numbers() {
    let e = Histogram {
        count: 11,
        ..int_ok()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(e.contains("9 observations found in buckets, but the Count field is 11"));
    assert!(e.contains("should equal the number of observations"));
    let e = Histogram {
        positive_buckets: vec![1, 1, -3],
        ..int_ok()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert_eq!(e, "positive side: bucket number 3 has observation count of -1: histogram has a bucket whose observation count is negative");
    let e = ValidationError::InvalidSchema(12).to_string();
    assert!(e.contains("between -4 and 8") && e.contains("-53") && e.ends_with("got schema 12"));
}
