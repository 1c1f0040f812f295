//! OTLP points as native histograms: a table of exponential points (scales, offsets, gaps,
//! zero counts, empty and stale points) with layouts worked out by hand, explicit-bucket
//! points as NHCB, refusals, and a property check that every OTLP count lands in the bucket
//! covering it.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{exemplar, Exemplar as OtlpExemplar};
use proptest::prelude::*;

use super::*;
use crate::otlp::translate::exemplars;

const CUMULATIVE: i32 = 2;
const DELTA: i32 = 1;

fn span(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

fn buckets(offset: i32, counts: &[u64]) -> Option<Buckets> {
    Some(Buckets {
        offset,
        bucket_counts: counts.to_vec(),
    })
}

/// An exponential point whose count is its buckets' total (plus the zero count).
fn exp_point(
    scale: i32,
    zero: u64,
    pos: (i32, &[u64]),
    neg: (i32, &[u64]),
) -> ExponentialHistogramDataPoint {
    let count = zero + pos.1.iter().sum::<u64>() + neg.1.iter().sum::<u64>();
    ExponentialHistogramDataPoint {
        scale,
        zero_count: zero,
        count,
        sum: Some(12.5),
        positive: buckets(pos.0, pos.1),
        negative: buckets(neg.0, neg.1),
        time_unix_nano: 1_000_000_000,
        ..Default::default()
    }
}

fn exp(dp: &ExponentialHistogramDataPoint) -> Result<NativePoint, NativeError> {
    exponential_to_native(dp, CUMULATIVE, false, exemplars)
}

/// (absolute bucket index, count) of one side, from spans and deltas.
fn expand(spans: &[Span], deltas: &[i64]) -> Vec<(i64, i64)> {
    let (mut idx, mut cur, mut d) = (0i64, 0i64, deltas.iter());
    let mut out = Vec::new();
    for (n, s) in spans.iter().enumerate() {
        idx = if n == 0 {
            i64::from(s.offset)
        } else {
            idx + i64::from(s.offset)
        };
        for _ in 0..s.length {
            cur += d.next().expect("a delta per bucket");
            out.push((idx, cur));
            idx += 1;
        }
    }
    out
}

/// Where Prometheus's schema puts each OTLP count, worked out bucket by bucket.
fn reference(offset: i32, counts: &[u64], scale_down: u32) -> BTreeMap<i64, i64> {
    let mut m = BTreeMap::new();
    for (i, c) in counts.iter().enumerate() {
        let idx = ((i64::from(offset) + i as i64) >> scale_down) + 1;
        *m.entry(idx).or_insert(0) += *c as i64;
    }
    m.retain(|_, c| *c != 0);
    m
}

fn non_zero(buckets: &[(i64, i64)]) -> BTreeMap<i64, i64> {
    buckets.iter().filter(|(_, c)| *c != 0).copied().collect()
}

struct Case {
    name: &'static str,
    scale: i32,
    pos: (i32, &'static [u64]),
    neg: (i32, &'static [u64]),
    schema: i32,
    pos_spans: Vec<Span>,
    pos_deltas: Vec<i64>,
    neg_spans: Vec<Span>,
    neg_deltas: Vec<i64>,
}

#[test]
fn exponential_points_become_the_layouts_worked_out_by_hand() {
    let cases = [
        // Scale 0, offset 0: OTLP buckets 0..3 are Prometheus buckets 1..4 (the +1 shift);
        // counts 4 3 2 1 → deltas 4 −1 −1 −1.
        Case {
            name: "scale 0",
            scale: 0,
            pos: (0, &[4, 3, 2, 1]),
            neg: (0, &[]),
            schema: 0,
            pos_spans: vec![span(1, 4)],
            pos_deltas: vec![4, -1, -1, -1],
            neg_spans: vec![],
            neg_deltas: vec![],
        },
        // Scale 3, negative offset −2: OTLP −2..3 → −1..4 holding 3 1 0 0 0 1. Three empty
        // buckets (1, 2, 3) between 0 and 4 are more than 2: a new span of offset 3.
        // Negative side, offset 1: OTLP 1..3 → 2..4 holding 2 0 2; one empty bucket is
        // written as a zero.
        Case {
            name: "scale 3, offsets, gaps",
            scale: 3,
            pos: (-2, &[3, 1, 0, 0, 0, 1]),
            neg: (1, &[2, 0, 2]),
            schema: 3,
            pos_spans: vec![span(-1, 2), span(3, 1)],
            pos_deltas: vec![3, -2, 0],
            neg_spans: vec![span(2, 3)],
            neg_deltas: vec![2, -2, 2],
        },
        // Gaps of exactly 2 stay in the span: −2..4 → −1..5 holding 3 0 0 1 0 0 1.
        Case {
            name: "gaps of two",
            scale: 2,
            pos: (-2, &[3, 0, 0, 1, 0, 0, 1]),
            neg: (0, &[]),
            schema: 2,
            pos_spans: vec![span(-1, 7)],
            pos_deltas: vec![3, -3, 0, 1, -1, 0, 1],
            neg_spans: vec![],
            neg_deltas: vec![],
        },
        // Scale 8 is kept: OTLP 1..3 → 2..4 holding 1 1 1; negative 2..4 → 3..5.
        Case {
            name: "scale 8",
            scale: 8,
            pos: (1, &[1, 1, 1]),
            neg: (2, &[1, 1, 1]),
            schema: 8,
            pos_spans: vec![span(2, 3)],
            pos_deltas: vec![1, 0, 0],
            neg_spans: vec![span(3, 3)],
            neg_deltas: vec![1, 0, 0],
        },
        // Scale 10 → schema 8, 4 OTLP buckets per bucket: OTLP i → (i >> 2) + 1.
        // Positive 4..16: 4-7 → 2 (4+2+0+2 = 8), 8-11 → 3 (0), 12-15 → 4 (0), 16 → 5 (1):
        // 8 0 0 1, a gap of 2 written as zeros → deltas 8 −8 0 1.
        // Negative −3..−1: each >> 2 is −1 → bucket 0 holding 1+2+3 = 6.
        Case {
            name: "scale 10 downscaled",
            scale: 10,
            pos: (4, &[4, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            neg: (-3, &[1, 2, 3]),
            schema: 8,
            pos_spans: vec![span(2, 4)],
            pos_deltas: vec![8, -8, 0, 1],
            neg_spans: vec![span(0, 1)],
            neg_deltas: vec![6],
        },
        // Scale 9 → schema 8, pairs merged: OTLP 0,1 → 1 (1); 2,3 → 2 (0); 4,5 → 3 (2+3 = 5):
        // 1 0 5 → deltas 1 −1 5. (Prometheus 3's convertBucketsLayout writes 1 2 3 here: after
        // the empty merged bucket it places the 2 one bucket early; see the module doc.)
        Case {
            name: "scale 9, empty merged bucket",
            scale: 9,
            pos: (0, &[1, 0, 0, 0, 2, 3]),
            neg: (0, &[]),
            schema: 8,
            pos_spans: vec![span(1, 3)],
            pos_deltas: vec![1, -1, 5],
            neg_spans: vec![],
            neg_deltas: vec![],
        },
        // Scale −4, offset −1: OTLP −1..3 → 0..4 holding 0 0 0 0 7. The first written bucket
        // (4) lies 4 empty buckets after the span's start: the first span stays empty and a
        // second one of offset 4 holds it, as Prometheus lays it out.
        Case {
            name: "scale -4, leading empty buckets",
            scale: -4,
            pos: (-1, &[0, 0, 0, 0, 7]),
            neg: (0, &[]),
            schema: -4,
            pos_spans: vec![span(0, 0), span(4, 1)],
            pos_deltas: vec![7],
            neg_spans: vec![],
            neg_deltas: vec![],
        },
        // Trailing empty buckets: the last bucket is always written. 5 0 0 0 at 1..4: the
        // 2 empty ones before the last are zeros → 5 −5 0 0.
        Case {
            name: "trailing gap of two",
            scale: 1,
            pos: (0, &[5, 0, 0, 0]),
            neg: (0, &[]),
            schema: 1,
            pos_spans: vec![span(1, 4)],
            pos_deltas: vec![5, -5, 0, 0],
            neg_spans: vec![],
            neg_deltas: vec![],
        },
        // 5 0 0 0 0 at 1..5: 3 empty ones before the last → a span of offset 3 for bucket 5.
        Case {
            name: "trailing gap of three",
            scale: 1,
            pos: (0, &[5, 0, 0, 0, 0]),
            neg: (0, &[]),
            schema: 1,
            pos_spans: vec![span(1, 1), span(3, 1)],
            pos_deltas: vec![5, -5],
            neg_spans: vec![],
            neg_deltas: vec![],
        },
    ];
    for c in cases {
        let dp = exp_point(c.scale, 3, c.pos, c.neg);
        let p = exp(&dp).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let h = &p.histogram;
        assert_eq!(h.schema, c.schema, "{}", c.name);
        assert_eq!(
            (&h.positive_spans, &h.positive_buckets),
            (&c.pos_spans, &c.pos_deltas),
            "{} positive",
            c.name
        );
        assert_eq!(
            (&h.negative_spans, &h.negative_buckets),
            (&c.neg_spans, &c.neg_deltas),
            "{} negative",
            c.name
        );
        assert_eq!(
            (h.zero_count, h.count, h.sum),
            (3, dp.count, 12.5),
            "{}",
            c.name
        );
        assert_eq!(h.zero_threshold, DEFAULT_ZERO_THRESHOLD);
        assert_eq!(h.counter_reset_hint, CounterResetHint::Unknown);
        assert!(p.warnings.is_empty() && check(h).is_ok(), "{}", c.name);
        // Every OTLP count is in the bucket covering it.
        let down = (c.scale - c.schema) as u32;
        assert_eq!(
            non_zero(&expand(&h.positive_spans, &h.positive_buckets)),
            reference(c.pos.0, c.pos.1, down),
            "{}",
            c.name
        );
        assert_eq!(
            non_zero(&expand(&h.negative_spans, &h.negative_buckets)),
            reference(c.neg.0, c.neg.1, down),
            "{}",
            c.name
        );
    }
}

#[test]
fn scales_below_minus_four_are_refused_with_prometheus_message() {
    let dp = exp_point(-5, 0, (0, &[1]), (0, &[]));
    let e = exp(&dp).unwrap_err();
    assert_eq!(e, NativeError::Scale(-5));
    assert_eq!(
        e.to_string(),
        "cannot convert exponential to native histogram. Scale must be >= -4, was -5"
    );
    assert!(exp(&exp_point(-4, 0, (0, &[1]), (0, &[]))).is_ok());
}

#[test]
fn empty_zero_only_and_sumless_points() {
    // No buckets at all, no sum: nothing but zeros.
    let dp = ExponentialHistogramDataPoint {
        scale: 2,
        ..Default::default()
    };
    let h = exp(&dp).expect("empty").histogram;
    assert!(h.positive_spans.is_empty() && h.negative_spans.is_empty());
    assert!(h.positive_buckets.is_empty() && h.negative_buckets.is_empty());
    assert_eq!((h.count, h.zero_count, h.sum, h.schema), (0, 0, 0.0, 2));
    // Empty bucket lists (present but without counts) are the same.
    let dp = ExponentialHistogramDataPoint {
        positive: buckets(7, &[]),
        ..dp
    };
    assert!(exp(&dp)
        .expect("empty lists")
        .histogram
        .positive_spans
        .is_empty());
    // Only the zero bucket.
    let mut dp = exp_point(0, 4, (0, &[]), (0, &[]));
    dp.sum = None;
    let h = exp(&dp).expect("zero only").histogram;
    assert_eq!((h.count, h.zero_count, h.sum), (4, 4, 0.0));
    assert!(h.positive_spans.is_empty());
    // All buckets empty: as Prometheus, they are written (the last one always is).
    let h = exp(&exp_point(0, 0, (2, &[0, 0]), (0, &[])))
        .expect("zeros")
        .histogram;
    assert_eq!(
        (h.positive_spans, h.positive_buckets),
        (vec![span(3, 2)], vec![0, 0])
    );
}

#[test]
fn a_zero_count_with_a_sum_is_kept_with_a_warning() {
    let mut dp = exp_point(0, 0, (0, &[]), (0, &[]));
    dp.sum = Some(2.5);
    let p = exp(&dp).expect("kept");
    assert_eq!(p.histogram.sum, 2.5);
    assert_eq!(
        p.warnings,
        vec!["exponential histogram data point has zero count, but non-zero sum: 2.500000"]
    );
}

#[test]
fn no_recorded_value_is_a_stale_marker() {
    let mut dp = exp_point(1, 1, (0, &[2, 1]), (0, &[]));
    dp.flags = 1;
    let h = exp(&dp).expect("stale").histogram;
    assert!(h.is_stale());
    assert_eq!(h.count, crate::model::STALE_NAN_BITS);
    // The buckets are converted all the same, as Prometheus does.
    assert_eq!(
        (h.positive_spans, h.positive_buckets),
        (vec![span(1, 2)], vec![2, -1])
    );
}

#[test]
fn temporality_sets_the_hint_or_refuses() {
    let dp = exp_point(0, 0, (0, &[1]), (0, &[]));
    let hint = |t, allow| {
        exponential_to_native(&dp, t, allow, exemplars).map(|p| p.histogram.counter_reset_hint)
    };
    assert_eq!(hint(CUMULATIVE, false), Ok(CounterResetHint::Unknown));
    assert_eq!(hint(CUMULATIVE, true), Ok(CounterResetHint::Unknown));
    assert_eq!(hint(DELTA, true), Ok(CounterResetHint::Gauge));
    assert_eq!(hint(DELTA, false), Err(NativeError::Temporality(DELTA)));
    assert_eq!(hint(0, true), Err(NativeError::Temporality(0)));
    assert_eq!(
        NativeError::Temporality(DELTA).to_string(),
        "invalid temporality and type combination"
    );
}

#[test]
fn every_exemplar_goes_to_the_series_min_and_max_are_ignored() {
    let ex = |v: f64, trace: u8| OtlpExemplar {
        value: Some(exemplar::Value::AsDouble(v)),
        time_unix_nano: 2_000_000_000,
        trace_id: vec![trace; 16],
        filtered_attributes: vec![KeyValue {
            key: "k".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue("v".into())),
            }),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut dp = exp_point(0, 0, (0, &[1, 1]), (0, &[]));
    dp.exemplars = vec![ex(0.5, 1), ex(1e9, 2)];
    let plain = exp(&dp).expect("plain").histogram;
    dp.min = Some(0.1);
    dp.max = Some(3.0);
    let p = exp(&dp).expect("with exemplars");
    assert_eq!(p.histogram, plain);
    assert_eq!(p.exemplars.len(), 2);
    assert_eq!((p.exemplars[0].value, p.exemplars[0].t), (0.5, 2000));
    assert_eq!(p.exemplars[1].value, 1e9);
    assert_eq!(
        p.exemplars[1].labels.get("trace_id"),
        Some("02".repeat(16).as_str())
    );
    assert_eq!(p.exemplars[0].labels.get("k"), Some("v"));
}

#[test]
fn a_count_that_disagrees_with_the_buckets_is_refused() {
    let mut dp = exp_point(0, 1, (0, &[2, 1]), (0, &[]));
    dp.count = 9;
    let e = exp(&dp).unwrap_err();
    assert_eq!(e, NativeError::Invalid("4 observations found in buckets, but the Count field is 9: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)".into()));
    // A NaN sum (NaN observed) allows a larger count.
    dp.sum = Some(f64::NAN);
    assert!(exp(&dp).is_ok());
    dp.count = 3;
    assert!(exp(&dp).is_err());
}

#[test]
fn absurd_offsets_and_scales_are_refused_or_handled_without_panics() {
    let dp = exp_point(0, 0, (i32::MAX, &[1, 1]), (0, &[]));
    assert!(matches!(exp(&dp), Err(NativeError::Offset(_))));
    // A huge scale merges everything into one bucket on each side of 1.
    let h = exp(&exp_point(
        i32::MAX,
        0,
        (-5, &[1, 2, 3, 4, 5, 6, 7]),
        (3, &[1]),
    ))
    .expect("huge scale")
    .histogram;
    assert_eq!(h.schema, 8);
    // OTLP −5..−1 → bucket 0, 0..1 → bucket 1.
    assert_eq!(
        (h.positive_spans, h.positive_buckets),
        (vec![span(0, 2)], vec![15, -2])
    );
    assert_eq!(
        (h.negative_spans, h.negative_buckets),
        (vec![span(1, 1)], vec![1])
    );
    let h = exp(&exp_point(0, 0, (i32::MIN, &[1]), (0, &[])))
        .expect("lowest")
        .histogram;
    assert_eq!(h.positive_spans, vec![span(i32::MIN + 1, 1)]);
}

fn nhcb_point(bounds: &[f64], counts: &[u64]) -> HistogramDataPoint {
    HistogramDataPoint {
        count: counts.iter().sum(),
        sum: Some(7.0),
        bucket_counts: counts.to_vec(),
        explicit_bounds: bounds.to_vec(),
        time_unix_nano: 1_000_000_000,
        ..Default::default()
    }
}

fn nhcb(dp: &HistogramDataPoint) -> Result<NativePoint, NativeError> {
    explicit_to_nhcb(dp, CUMULATIVE, false, exemplars)
}

/// Bounds, counts, and the spans and deltas expected.
type NhcbCase = (&'static [f64], &'static [u64], Vec<Span>, Vec<i64>);

#[test]
fn explicit_histograms_become_custom_bucket_histograms() {
    // (bounds, counts, spans, deltas)
    let cases: [NhcbCase; 5] = [
        // Prometheus's own example: 2 2 in buckets 0, 1 → deltas 2 0.
        (&[0.0, 1.0], &[2, 2], vec![span(0, 2)], vec![2, 0]),
        // Leading empty buckets skipped: 3 at bucket 2, then 0 0 0 up to the +Inf bucket 5;
        // the last bucket is always written and a gap of 2 is zeros → 3 −3 0 0.
        (
            &[1.0, 2.0, 5.0, 10.0, 20.0],
            &[0, 0, 3, 0, 0, 0],
            vec![span(2, 4)],
            vec![3, -3, 0, 0],
        ),
        // 1 at bucket 0, 4 in the +Inf bucket 6: 5 empty buckets between → a new span.
        (
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            &[1, 0, 0, 0, 0, 0, 4],
            vec![span(0, 1), span(5, 1)],
            vec![1, 3],
        ),
        // All empty: no buckets at all.
        (&[1.0, 2.0], &[0, 0, 0], vec![], vec![]),
        // No bounds: the one +Inf bucket.
        (&[], &[6], vec![span(0, 1)], vec![6]),
    ];
    for (bounds, counts, spans, deltas) in cases {
        let dp = nhcb_point(bounds, counts);
        let h = nhcb(&dp)
            .unwrap_or_else(|e| panic!("{bounds:?}: {e}"))
            .histogram;
        assert_eq!(h.schema, CUSTOM_BUCKETS_SCHEMA);
        assert_eq!(h.custom_values, bounds);
        assert_eq!(
            (&h.positive_spans, &h.positive_buckets),
            (&spans, &deltas),
            "{bounds:?}"
        );
        assert!(h.negative_spans.is_empty() && h.negative_buckets.is_empty());
        assert_eq!((h.zero_threshold, h.zero_count), (0.0, 0));
        assert_eq!((h.count, h.sum), (dp.count, 7.0));
        // Bucket k holds OTLP bucket k's count.
        let want: BTreeMap<i64, i64> = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != 0)
            .map(|(k, c)| (k as i64, *c as i64))
            .collect();
        assert_eq!(
            non_zero(&expand(&h.positive_spans, &h.positive_buckets)),
            want
        );
        assert!(check(&h).is_ok());
    }
}

#[test]
fn nhcb_stale_hints_warnings_and_refusals() {
    let mut dp = nhcb_point(&[1.0], &[1, 2]);
    dp.flags = 1;
    assert!(nhcb(&dp).expect("stale").histogram.is_stale());
    dp.flags = 0;
    let p = explicit_to_nhcb(&dp, DELTA, true, exemplars).expect("delta");
    assert_eq!(p.histogram.counter_reset_hint, CounterResetHint::Gauge);
    assert_eq!(
        explicit_to_nhcb(&dp, DELTA, false, exemplars),
        Err(NativeError::Temporality(DELTA))
    );
    let mut zero = nhcb_point(&[1.0], &[0, 0]);
    zero.sum = Some(1.0);
    assert_eq!(
        nhcb(&zero).expect("warned").warnings,
        vec!["histogram data point has zero count, but non-zero sum: 1.000000"]
    );
    // More buckets than bounds allow.
    let e = nhcb(&nhcb_point(&[1.0], &[1, 1, 1]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("histogram custom bounds are too few"), "{e}");
    let e = nhcb(&nhcb_point(&[2.0, 1.0], &[1, 1, 1]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("strictly increasing"), "{e}");
    let e = nhcb(&nhcb_point(&[1.0, f64::INFINITY], &[1, 1, 1]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("must be finite"), "{e}");
}

#[test]
fn check_names_the_rule_broken() {
    let good = Histogram {
        schema: 0,
        count: 3,
        positive_spans: vec![span(0, 2)],
        positive_buckets: vec![1, 1],
        ..Histogram::default()
    };
    assert_eq!(check(&good), Ok(()));
    let bad = |h: Histogram| check(&h).unwrap_err();
    assert!(bad(Histogram {
        schema: 9,
        ..good.clone()
    })
    .contains("invalid schema"));
    assert!(bad(Histogram {
        positive_buckets: vec![1],
        ..good.clone()
    })
    .starts_with("positive side: spans need 2 buckets, have 1 buckets"));
    assert!(bad(Histogram {
        positive_buckets: vec![2, -3],
        ..good.clone()
    })
    .contains("bucket number 2 has observation count of -1"));
    assert!(bad(Histogram {
        positive_spans: vec![span(0, 1), span(-2, 1)],
        ..good.clone()
    })
    .contains("span number 2 with offset -2"));
    assert!(bad(Histogram {
        custom_values: vec![1.0],
        ..good.clone()
    })
    .contains("must not have custom bounds"));
    let custom = Histogram {
        schema: CUSTOM_BUCKETS_SCHEMA,
        custom_values: vec![1.0, 2.0],
        ..good.clone()
    };
    assert_eq!(check(&custom), Ok(()));
    assert!(bad(Histogram {
        zero_count: 1,
        count: 4,
        ..custom.clone()
    })
    .contains("zero count of 0"));
    assert!(bad(Histogram {
        negative_spans: vec![span(0, 1)],
        negative_buckets: vec![1],
        ..custom
    })
    .contains("must not have negative spans"));
}

proptest! {
    /// Any exponential point converts; the result keeps the model's rules, and each OTLP
    /// count is in the bucket covering it at the schema used; spans after the first start
    /// after more than 2 empty buckets, smaller gaps being written out.
    #[test]
    fn every_count_lands_in_its_bucket(
        scale in -4i32..14,
        offset in -60i32..60,
        counts in proptest::collection::vec(prop_oneof![3 => Just(0u64), 1 => 1u64..5], 0..40),
        neg_offset in -60i32..60,
        neg_counts in proptest::collection::vec(prop_oneof![3 => Just(0u64), 1 => 1u64..5], 0..20),
    ) {
        let dp = exp_point(scale, 1, (offset, &counts), (neg_offset, &neg_counts));
        let h = exp(&dp).expect("converts").histogram;
        prop_assert_eq!(check(&h), Ok(()));
        let down = (scale - h.schema) as u32;
        prop_assert_eq!(h.schema, scale.min(8));
        for (spans, deltas, off, c) in [
            (&h.positive_spans, &h.positive_buckets, offset, &counts),
            (&h.negative_spans, &h.negative_buckets, neg_offset, &neg_counts),
        ] {
            let got = expand(spans, deltas);
            prop_assert_eq!(non_zero(&got), reference(off, c, down));
            prop_assert!(spans.iter().skip(1).all(|s| s.offset > 2));
            // Written zeros come in runs of at most 2, but a trailing last bucket.
            let mut run = 0;
            for (k, (_, n)) in got.iter().enumerate() {
                run = if *n == 0 { run + 1 } else { 0 };
                prop_assert!(run <= 2 || k + 1 == got.len() || got.is_empty());
            }
        }
    }
}

#[test]
fn layouts_agree_with_prometheus_test_vectors() {
    // The expected layouts of Prometheus's TestConvertBucketsLayout (OTLP offset, counts;
    // then per scale-down 0, 1, 2: spans and deltas).
    type Layout = (Vec<Span>, Vec<i64>);
    let zeros = |n: usize| vec![0u64; n];
    let long: Vec<u64> = [vec![4, 2, 0, 2], zeros(12), vec![1]].concat();
    let short: Vec<u64> = [vec![4, 2, 0, 2], zeros(8), vec![1]].concat();
    let table: Vec<(i32, Vec<u64>, [Layout; 3])> = vec![
        (
            0,
            vec![4, 3, 2, 1],
            [
                (vec![span(1, 4)], vec![4, -1, -1, -1]),
                (vec![span(1, 2)], vec![7, -4]),
                (vec![span(1, 1)], vec![10]),
            ],
        ),
        (
            1,
            vec![4, 3, 2, 1],
            [
                (vec![span(2, 4)], vec![4, -1, -1, -1]),
                (vec![span(1, 3)], vec![4, 1, -4]),
                (vec![span(1, 2)], vec![9, -8]),
            ],
        ),
        (
            4,
            long,
            [
                (vec![span(5, 4), span(12, 1)], vec![4, -2, -2, 2, -1]),
                (vec![span(3, 2), span(6, 1)], vec![6, -4, -1]),
                (vec![span(2, 1), span(3, 1)], vec![8, -7]),
            ],
        ),
        (
            4,
            short,
            [
                (vec![span(5, 4), span(8, 1)], vec![4, -2, -2, 2, -1]),
                (vec![span(3, 2), span(4, 1)], vec![6, -4, -1]),
                (vec![span(2, 4)], vec![8, -8, 0, 1]),
            ],
        ),
        (
            -2,
            vec![3, 1, 0, 0, 0, 1],
            [
                (vec![span(-1, 2), span(3, 1)], vec![3, -2, 0]),
                (vec![span(0, 3)], vec![4, -4, 1]),
                (vec![span(0, 2)], vec![4, -3]),
            ],
        ),
        (
            -2,
            vec![3, 1, 0, 1, 0, 1],
            [
                (vec![span(-1, 6)], vec![3, -2, -1, 1, -1, 1]),
                (vec![span(0, 3)], vec![4, -3, 0]),
                (vec![span(0, 2)], vec![4, -2]),
            ],
        ),
        (
            -2,
            vec![3, 0, 0, 1, 0, 0, 1],
            [
                (vec![span(-1, 7)], vec![3, -3, 0, 1, -1, 0, 1]),
                (vec![span(0, 4)], vec![3, -2, -1, 1]),
                (vec![span(0, 3)], vec![3, -2, 0]),
            ],
        ),
        (
            0,
            vec![],
            [(vec![], vec![]), (vec![], vec![]), (vec![], vec![])],
        ),
    ];
    for (offset, counts, want) in table {
        for (down, w) in want.into_iter().enumerate() {
            let got = exponential_layout(&counts, offset, down as u32).expect("layout");
            assert_eq!(
                got, w,
                "offset {offset} counts {counts:?} scale-down {down}"
            );
        }
    }
}
