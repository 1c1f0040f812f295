use super::*;
use crate::model::CounterResetHint;

/// A schema-3 integer histogram with one observation in each of buckets 1..=n.
fn wide(n: u32) -> HistogramValue {
    let mut deltas = vec![0i64; n as usize];
    deltas[0] = 1;
    HistogramValue::Int(Histogram {
        schema: 3,
        count: u64::from(n),
        sum: 10.0,
        positive_spans: vec![Span {
            offset: 1,
            length: n,
        }],
        positive_buckets: deltas,
        ..Histogram::default()
    })
}

fn settings(bucket_limit: usize, factor: f64) -> NativeSettings {
    NativeSettings {
        scrape: true,
        keep_classic: false,
        nhcb: false,
        bucket_limit,
        max_schema: pick_schema(factor),
        ct_zero: false,
    }
}

#[test]
fn forty_buckets_over_a_limit_of_ten_go_to_schema_one() {
    let mut h = wide(40);
    settings(10, 0.0).limit(&mut h).unwrap();
    let HistogramValue::Int(h) = &h else {
        panic!("stays integer")
    };
    // Schema 2 halves them to 20 (still over 10), schema 1 to 10.
    assert_eq!(h.schema, 1);
    assert_eq!(
        h.positive_spans,
        vec![Span {
            offset: 1,
            length: 10
        }]
    );
    let f = HistogramValue::Int(h.clone()).to_float();
    assert_eq!(f.positive_buckets, vec![4.0; 10]);
    assert_eq!(h.count, 40);
    assert!(HistogramValue::Int(h.clone()).validate().is_ok());
    // Within the limit nothing changes.
    let mut same = wide(40);
    settings(40, 0.0).limit(&mut same).unwrap();
    assert_eq!(same, wide(40));
}

#[test]
fn float_histograms_and_negative_indices_reduce_too() {
    // Buckets -1, 0 and 1 at schema 1: -1 and 0 share bucket 0 at schema 0.
    let mut h = HistogramValue::Float(FloatHistogram {
        schema: 1,
        count: 6.0,
        positive_spans: vec![Span {
            offset: -1,
            length: 3,
        }],
        positive_buckets: vec![1.0, 2.0, 3.0],
        negative_spans: vec![Span {
            offset: 2,
            length: 1,
        }],
        negative_buckets: vec![0.5],
        ..FloatHistogram::default()
    });
    reduce_resolution(&mut h, 0);
    let HistogramValue::Float(f) = &h else {
        panic!()
    };
    assert_eq!(f.schema, 0);
    assert_eq!(
        f.positive_spans,
        vec![Span {
            offset: 0,
            length: 2
        }]
    );
    assert_eq!(f.positive_buckets, vec![3.0, 3.0]);
    assert_eq!(
        f.negative_spans,
        vec![Span {
            offset: 1,
            length: 1
        }]
    );
}

#[test]
fn the_min_bucket_factor_caps_the_schema() {
    assert_eq!(pick_schema(0.0), 8);
    assert_eq!(pick_schema(1.1), 2);
    assert_eq!(pick_schema(2.0), 0);
    assert_eq!(pick_schema(4.0), -1);
    assert_eq!(pick_schema(1e300), -4);
    let mut h = wide(8);
    settings(0, 1.1).limit(&mut h).unwrap();
    assert_eq!(h.schema(), 2);
    let mut h = wide(8);
    settings(0, 0.0).limit(&mut h).unwrap();
    assert_eq!(h.schema(), 3, "no factor: untouched");
}

#[test]
fn over_the_limit_even_at_schema_minus_four_fails() {
    let mut h = HistogramValue::Int(Histogram {
        schema: 3,
        count: 2,
        positive_spans: vec![
            Span {
                offset: 1,
                length: 1,
            },
            Span {
                offset: 1 << 20,
                length: 1,
            },
        ],
        positive_buckets: vec![1, 0],
        ..Histogram::default()
    });
    assert_eq!(settings(1, 0.0).limit(&mut h), Err(BUCKET_LIMIT_ERROR));
    // Custom buckets cannot be merged.
    let mut nhcb = classic_to_nhcb(
        &Classic {
            buckets: vec![(1.0, 1.0), (2.0, 2.0), (f64::INFINITY, 3.0)],
            count: Some(3.0),
            sum: Some(1.0),
        },
        false,
    )
    .unwrap();
    assert_eq!(settings(2, 0.0).limit(&mut nhcb), Err(BUCKET_LIMIT_ERROR));
}

#[test]
fn classic_histograms_become_custom_bucket_histograms() {
    let c = Classic {
        buckets: vec![(0.5, 3.0), (0.1, 1.0), (1.0, 3.0), (f64::INFINITY, 5.0)],
        count: Some(5.0),
        sum: Some(2.5),
    };
    let h = classic_to_nhcb(&c, false).unwrap();
    let HistogramValue::Int(i) = &h else {
        panic!("whole counts: integer")
    };
    assert_eq!(i.schema, CUSTOM_BUCKETS_SCHEMA);
    assert_eq!(i.custom_values, vec![0.1, 0.5, 1.0]);
    // Buckets 0.1: 1, 0.5: 2, 1: 0 (left out), +Inf: 2.
    assert_eq!(
        i.positive_spans,
        vec![
            Span {
                offset: 0,
                length: 2
            },
            Span {
                offset: 1,
                length: 1
            }
        ]
    );
    assert_eq!(h.to_float().positive_buckets, vec![1.0, 2.0, 2.0]);
    assert_eq!((i.count, i.sum), (5, 2.5));
    assert!(h.validate().is_ok(), "{:?}", h.validate());
    // Fractional counts: a float histogram; a gauge histogram keeps its hint; no +Inf
    // bucket: the count fills it.
    let f = classic_to_nhcb(
        &Classic {
            buckets: vec![(1.0, 0.5)],
            count: Some(1.5),
            sum: None,
        },
        true,
    )
    .unwrap();
    let HistogramValue::Float(f) = &f else {
        panic!("fractional: float")
    };
    assert_eq!(f.positive_buckets, vec![0.5, 1.0]);
    assert_eq!(f.counter_reset_hint, CounterResetHint::Gauge);
    // Not cumulative: refused, naming the bucket.
    let bad = Classic {
        buckets: vec![(1.0, 3.0), (2.0, 1.0)],
        count: Some(3.0),
        sum: None,
    };
    let e = classic_to_nhcb(&bad, false).unwrap_err();
    assert!(e.contains("le=2"), "{e}");
}
