//! Tests for bucket boundaries, bucket listing and the promqltest histogram comparison.

use super::super::*;
use super::*;

fn sp(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

#[test]
fn exponential_bounds() {
    // Schema 0: bucket i ends at 2^i.
    assert_eq!(exponential_bound(0, 0), 1.0);
    assert_eq!(exponential_bound(3, 0), 8.0);
    assert_eq!(exponential_bound(-2, 0), 0.25);
    // Negative schemas: 2^(i·2^-s) with larger steps.
    assert_eq!(exponential_bound(1, -2), 16.0);
    assert_eq!(exponential_bound(-1, -4), 2f64.powi(-16));
    // Positive schemas: 2^(i/2^s).
    assert_eq!(exponential_bound(2, 1), 2.0);
    assert!((exponential_bound(1, 1) - 2f64.sqrt()).abs() < 1e-15);
    assert!((exponential_bound(-1, 3) - 2f64.powf(-1.0 / 8.0)).abs() < 1e-15);
    assert!((exponential_bound(5, 2) - 2f64.powf(1.25)).abs() < 1e-15);
    // Every schema: the bound rises by 2^(2^-s) per bucket.
    for s in -4..=8 {
        for i in -20..20 {
            let ratio = exponential_bound(i + 1, s) / exponential_bound(i, s);
            let want = 2f64.powf(2f64.powi(-s));
            assert!((ratio - want).abs() < 1e-12, "schema {s} index {i}");
        }
    }
    // The last finite bucket ends at f64::MAX; the next one (±Inf observations) at +Inf.
    assert_eq!(exponential_bound(1024, 0), f64::MAX);
    assert_eq!(exponential_bound(1025, 0), f64::INFINITY);
    assert_eq!(exponential_bound(256, -2), f64::MAX);
    assert_eq!(exponential_bound(1024 << 3, 3), f64::MAX);
    assert_eq!(exponential_bound((1024 << 3) + 1, 3), f64::INFINITY);
    // Tiny ones stay exact down to subnormals.
    assert_eq!(exponential_bound(-1074, 0), f64::from_bits(1));
}

#[test]
fn positive_negative_zero_and_all() {
    let h = FloatHistogram {
        schema: 0,
        zero_threshold: 0.3,
        zero_count: 2.0,
        count: 10.0,
        sum: 3.0,
        positive_spans: vec![sp(-1, 2), sp(1, 1)],
        positive_buckets: vec![1.0, 2.0, 3.0],
        negative_spans: vec![sp(0, 1)],
        negative_buckets: vec![4.0],
        ..FloatHistogram::default()
    };
    let p = h.positive_bucket_list();
    let got: Vec<(f64, f64, f64, i32)> = p
        .iter()
        .map(|b| (b.lower, b.upper, b.count, b.index))
        .collect();
    assert_eq!(
        got,
        [(0.25, 0.5, 1.0, -1), (0.5, 1.0, 2.0, 0), (2.0, 4.0, 3.0, 2)]
    );
    assert!(p.iter().all(|b| !b.lower_inclusive && b.upper_inclusive));
    let n = h.negative_bucket_list();
    assert_eq!((n[0].lower, n[0].upper), (-1.0, -0.5));
    assert!(n[0].lower_inclusive && !n[0].upper_inclusive);
    assert_eq!(n[0].kind, BucketKind::Negative);
    let z = h.zero_bucket();
    assert_eq!((z.lower, z.upper, z.count), (-0.3, 0.3, 2.0));
    let all = h.all_buckets();
    let kinds: Vec<BucketKind> = all.iter().map(|b| b.kind).collect();
    assert_eq!(
        kinds,
        [
            BucketKind::Negative,
            BucketKind::Zero,
            BucketKind::Positive,
            BucketKind::Positive,
            BucketKind::Positive
        ]
    );
    // The first positive bucket (0.25, 0.5] reaches into the zero bucket: cut at 0.3.
    assert_eq!((all[2].lower, all[2].upper), (0.3, 0.5));
    // No zero bucket when it is empty.
    let h2 = FloatHistogram {
        zero_count: 0.0,
        ..h
    };
    assert!(h2.all_buckets().iter().all(|b| b.kind != BucketKind::Zero));
}

#[test]
fn custom_buckets() {
    let h = FloatHistogram {
        schema: CUSTOM_BUCKETS_SCHEMA,
        count: 6.0,
        positive_spans: vec![sp(0, 2), sp(1, 1)],
        positive_buckets: vec![1.0, 2.0, 3.0],
        custom_values: vec![1.0, 5.0, 10.0],
        ..FloatHistogram::default()
    };
    let b = h.positive_bucket_list();
    let got: Vec<(f64, f64, bool)> = b
        .iter()
        .map(|b| (b.lower, b.upper, b.lower_inclusive))
        .collect();
    assert_eq!(
        got,
        [
            (f64::NEG_INFINITY, 1.0, true),
            (1.0, 5.0, false),
            (10.0, f64::INFINITY, false)
        ]
    );
    assert!(b
        .iter()
        .all(|b| b.upper_inclusive && b.kind == BucketKind::Custom));
    assert_eq!(h.all_buckets().len(), 3);
}

#[test]
fn malformed_spans_do_not_panic() {
    let h = FloatHistogram {
        positive_spans: vec![sp(0, 5), sp(i32::MAX, u32::MAX)],
        positive_buckets: vec![1.0, 2.0],
        schema: CUSTOM_BUCKETS_SCHEMA,
        ..FloatHistogram::default()
    };
    assert_eq!(h.positive_bucket_list().len(), 2);
    let h = FloatHistogram {
        positive_spans: vec![sp(i32::MAX - 1, 3)],
        positive_buckets: vec![1.0, 2.0, 3.0],
        schema: 8,
        ..FloatHistogram::default()
    };
    assert_eq!(h.all_buckets().len(), 3);
}

#[test]
fn test_equality_ignores_empty_buckets_and_layout() {
    let a = FloatHistogram {
        schema: 1,
        count: 4.0,
        sum: 10.0,
        positive_spans: vec![sp(0, 4)],
        positive_buckets: vec![1.0, 0.0, 0.0, 3.0],
        ..FloatHistogram::default()
    };
    let b = FloatHistogram {
        positive_spans: vec![sp(0, 1), sp(2, 1)],
        positive_buckets: vec![1.0, 3.0000001],
        count: 4.000_000_1,
        ..a.clone()
    };
    assert!(a.test_equals(&b) && b.test_equals(&a));
    let moved = FloatHistogram {
        positive_spans: vec![sp(0, 1), sp(3, 1)],
        ..b.clone()
    };
    assert!(!a.test_equals(&moved));
    assert!(!a.test_equals(&FloatHistogram {
        schema: 2,
        ..a.clone()
    }));
    assert!(!a.test_equals(&FloatHistogram {
        sum: 10.1,
        ..a.clone()
    }));
    assert!(!a.test_equals(&FloatHistogram {
        zero_threshold: 1e-9,
        ..a.clone()
    }));
    let nan = FloatHistogram {
        sum: f64::NAN,
        ..a.clone()
    };
    assert!(nan.test_equals(&nan.clone()));
    assert!(!nan.test_equals(&a));
    let stale = FloatHistogram {
        sum: crate::model::stale_nan(),
        ..a.clone()
    };
    assert!(stale.test_equals(&stale.clone()) && !stale.test_equals(&nan));
    // Custom bounds must match exactly for schema -53.
    let c = FloatHistogram {
        schema: CUSTOM_BUCKETS_SCHEMA,
        custom_values: vec![1.0, 2.0],
        ..a.clone()
    };
    assert!(c.test_equals(&c.clone()));
    assert!(!c.test_equals(&FloatHistogram {
        custom_values: vec![1.0, 2.000_000_1],
        ..c.clone()
    }));
    // A zero on one side needs an exact zero on the other.
    assert!(!FloatHistogram::default().test_equals(&FloatHistogram {
        count: 1e-17,
        ..FloatHistogram::default()
    }));
}
