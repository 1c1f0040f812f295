//! Tests for histogram arithmetic: adding and subtracting across schemas, zero widths and
//! custom bounds, scaling, resolution reduction, compaction, reset detection and equality.

use super::super::*;

fn sp(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

/// An exponential histogram with positive buckets from index `offset` on, in one span.
fn exp(schema: i32, offset: i32, buckets: &[f64]) -> FloatHistogram {
    let total: f64 = buckets.iter().sum();
    FloatHistogram {
        schema,
        zero_threshold: 0.001,
        count: total,
        sum: total * 1.5,
        positive_spans: vec![sp(offset, buckets.len() as u32)],
        positive_buckets: buckets.to_vec(),
        ..FloatHistogram::default()
    }
}

fn custom(bounds: &[f64], buckets: &[f64]) -> FloatHistogram {
    let total: f64 = buckets.iter().sum();
    FloatHistogram {
        schema: CUSTOM_BUCKETS_SCHEMA,
        count: total,
        sum: total,
        positive_spans: vec![sp(0, buckets.len() as u32)],
        positive_buckets: buckets.to_vec(),
        custom_values: bounds.to_vec(),
        ..FloatHistogram::default()
    }
}

/// Non-empty positive buckets as (index, count).
fn positive(h: &FloatHistogram) -> Vec<(i32, f64)> {
    h.positive_bucket_list()
        .iter()
        .filter(|b| b.count != 0.0)
        .map(|b| (b.index, b.count))
        .collect()
}

#[test]
fn add_same_layout_adds_position_by_position() {
    let mut a = exp(0, -1, &[1.0, 2.0, 3.0]);
    let b = exp(0, -1, &[10.0, 20.0, 30.0]);
    let out = a.add(&b).unwrap();
    assert_eq!(out, CombineOutcome::default());
    assert_eq!(a.positive_buckets, vec![11.0, 22.0, 33.0]);
    assert_eq!(a.positive_spans, vec![sp(-1, 3)]);
    assert_eq!(a.count, 66.0);
    assert_eq!(a.sum, 99.0);
}

#[test]
fn add_inserts_buckets_the_receiver_lacks() {
    let mut a = exp(0, 0, &[1.0]);
    a.positive_spans = vec![sp(0, 1), sp(3, 1)];
    a.positive_buckets = vec![1.0, 2.0];
    let mut b = exp(0, -2, &[5.0]);
    b.positive_spans = vec![sp(-2, 1), sp(3, 2)];
    b.positive_buckets = vec![5.0, 7.0, 9.0];
    a.add(&b).unwrap();
    assert_eq!(
        positive(&a),
        vec![(-2, 5.0), (0, 1.0), (2, 7.0), (3, 9.0), (4, 2.0)]
    );
    assert!(a.test_equals(&a.clone()));
}

#[test]
fn add_at_different_schemas_uses_the_lower_one() {
    // Schema 1 buckets 1..=4 end at 2^0.5, 2, 2^1.5, 4: at schema 0 they are buckets 1 and 2.
    let mut fine = exp(1, 1, &[1.0, 2.0, 3.0, 4.0]);
    let coarse = exp(0, 1, &[10.0, 20.0]);
    fine.add(&coarse).unwrap();
    assert_eq!(fine.schema, 0);
    assert_eq!(positive(&fine), vec![(1, 13.0), (2, 27.0)]);
    assert_eq!(fine.count, 40.0);

    // The other way round gives the same histogram.
    let mut coarse = exp(0, 1, &[10.0, 20.0]);
    coarse.add(&exp(1, 1, &[1.0, 2.0, 3.0, 4.0])).unwrap();
    assert_eq!(coarse.schema, 0);
    assert!(coarse.test_equals(&fine));
}

#[test]
fn add_with_a_wider_zero_bucket_folds_buckets_into_it() {
    // Schema 0: bucket -1 is (0.25, 0.5], bucket 0 (0.5, 1], bucket 1 (1, 2].
    let mut narrow = exp(0, -1, &[1.0, 2.0, 4.0]);
    narrow.zero_count = 0.5;
    narrow.count += 0.5;
    let mut wide = exp(0, 1, &[8.0]);
    wide.zero_threshold = 1.0;
    wide.zero_count = 3.0;
    wide.count += 3.0;

    let mut a = narrow.clone();
    a.add(&wide).unwrap();
    assert_eq!(a.zero_threshold, 1.0);
    assert_eq!(a.zero_count, 0.5 + 1.0 + 2.0 + 3.0);
    assert_eq!(positive(&a), vec![(1, 12.0)]);
    assert_eq!(a.count, narrow.count + wide.count);

    // Receiver with the wide zero bucket: the other's small buckets go into the zero count.
    let mut b = wide.clone();
    b.add(&narrow).unwrap();
    assert!(b.test_equals(&a), "{b:?} vs {a:?}");
}

#[test]
fn a_zero_threshold_inside_a_populated_bucket_widens_to_its_upper_bound() {
    let mut a = exp(0, 0, &[2.0, 4.0]); // (0.5, 1], (1, 2]
    let mut b = exp(0, 1, &[1.0]);
    b.zero_threshold = 0.7;
    b.zero_count = 1.0;
    b.count += 1.0;
    a.add(&b).unwrap();
    assert_eq!(a.zero_threshold, 1.0);
    assert_eq!(a.zero_count, 3.0);
    assert_eq!(positive(&a), vec![(1, 5.0)]);
}

#[test]
fn negative_buckets_are_added_too() {
    let mut a = exp(0, 0, &[1.0]);
    a.negative_spans = vec![sp(0, 2)];
    a.negative_buckets = vec![1.0, 2.0];
    let mut b = exp(1, 1, &[1.0]);
    b.negative_spans = vec![sp(1, 2)];
    b.negative_buckets = vec![3.0, 4.0];
    a.add(&b).unwrap();
    assert_eq!(a.schema, 0);
    let neg: Vec<(i32, f64)> = a
        .negative_bucket_list()
        .iter()
        .filter(|b| b.count != 0.0)
        .map(|b| (b.index, b.count))
        .collect();
    assert_eq!(neg, vec![(0, 1.0), (1, 9.0)]);
}

#[test]
fn sub_to_zero_and_compact_leaves_no_buckets() {
    let mut a = exp(2, -3, &[1.0, 0.0, 5.0, 2.5]);
    a.negative_spans = vec![sp(1, 1)];
    a.negative_buckets = vec![7.0];
    a.zero_count = 1.0;
    let b = a.clone();
    a.sub(&b).unwrap();
    assert_eq!(a.count, 0.0);
    assert_eq!(a.sum, 0.0);
    assert_eq!(a.zero_count, 0.0);
    assert!(a.positive_buckets.iter().all(|c| *c == 0.0));
    a.compact(0);
    assert!(a.positive_spans.is_empty() && a.positive_buckets.is_empty());
    assert!(a.negative_spans.is_empty() && a.negative_buckets.is_empty());
}

#[test]
fn sub_keeps_buckets_only_the_subtrahend_has_negated() {
    let mut a = exp(0, 0, &[5.0]);
    let b = exp(0, 2, &[3.0]);
    a.sub(&b).unwrap();
    assert_eq!(positive(&a), vec![(0, 5.0), (2, -3.0)]);
    assert_eq!(a.count, 2.0);
}

#[test]
fn custom_buckets_with_equal_bounds_add_bucket_wise() {
    let mut a = custom(&[1.0, 5.0], &[1.0, 2.0, 3.0]);
    let b = custom(&[1.0, 5.0], &[10.0, 20.0, 30.0]);
    let out = a.add(&b).unwrap();
    assert!(!out.custom_bounds_reconciled);
    assert_eq!(a.positive_buckets, vec![11.0, 22.0, 33.0]);
    assert_eq!(a.custom_values, vec![1.0, 5.0]);
}

#[test]
fn custom_buckets_with_different_bounds_meet_on_the_common_ones() {
    let mut newer = custom(
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        &[10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0],
    );
    let older = custom(&[2.0, 4.0, 6.0], &[1.0, 2.0, 5.0, 7.0]);
    let out = newer.sub(&older).unwrap();
    assert!(out.custom_bounds_reconciled);
    assert_eq!(newer.custom_values, vec![2.0, 4.0, 6.0]);
    assert_eq!(
        positive(&newer),
        vec![(0, 29.0), (1, 68.0), (2, 105.0), (3, 233.0)]
    );
    assert_eq!(newer.count, 450.0 - 15.0);

    // No common bound: everything meets in the +Inf bucket.
    let mut a = custom(&[5.0, 10.0], &[1.0]);
    let b = custom(&[2.0, 10.0], &[1.0]);
    let mut c = a.clone();
    c.custom_values = vec![3.0];
    let out = c.add(&custom(&[2.0], &[1.0, 1.0])).unwrap();
    assert!(out.custom_bounds_reconciled);
    assert!(c.custom_values.is_empty());
    assert_eq!(positive(&c), vec![(0, 3.0)]);
    a.add(&b).unwrap();
    assert_eq!(a.custom_values, vec![10.0]);
    assert_eq!(positive(&a), vec![(0, 2.0)]);
}

#[test]
fn exponential_and_custom_do_not_mix() {
    let mut a = exp(0, 0, &[1.0]);
    let b = custom(&[1.0], &[1.0]);
    assert_eq!(a.add(&b), Err(HistogramMathError::MixedSchemas));
    let mut b = custom(&[1.0], &[1.0]);
    assert_eq!(
        b.sub(&exp(0, 0, &[1.0])),
        Err(HistogramMathError::MixedSchemas)
    );
}

#[test]
fn counter_reset_hints_combine_as_prometheus() {
    use CounterResetHint::*;
    let cases = [
        (CounterReset, NotCounterReset, Unknown, true),
        (NotCounterReset, CounterReset, Unknown, true),
        (CounterReset, CounterReset, CounterReset, false),
        (Gauge, CounterReset, Gauge, false),
        (NotCounterReset, Gauge, Gauge, false),
        (Unknown, NotCounterReset, Unknown, false),
        (NotCounterReset, Unknown, Unknown, false),
    ];
    for (mine, theirs, want, collision) in cases {
        for subtract in [false, true] {
            let mut a = exp(0, 0, &[1.0]);
            a.counter_reset_hint = mine;
            let mut b = exp(0, 0, &[1.0]);
            b.counter_reset_hint = theirs;
            let out = if subtract { a.sub(&b) } else { a.add(&b) }.unwrap();
            assert_eq!(a.counter_reset_hint, want, "{mine:?} {theirs:?}");
            assert_eq!(
                out.counter_reset_collision, collision,
                "{mine:?} {theirs:?}"
            );
        }
    }
}

#[test]
fn mul_and_div_scale_everything() {
    let mut h = exp(0, 0, &[3.0, 3.0, 3.0]);
    h.zero_count = 3.0;
    h.negative_spans = vec![sp(0, 1)];
    h.negative_buckets = vec![6.0];
    h.count = 18.0;
    h.sum = 33.0;
    let mut m = h.clone();
    m.mul(-1.0);
    assert_eq!(m.count, -18.0);
    assert_eq!(m.sum, -33.0);
    assert_eq!(m.zero_count, -3.0);
    assert_eq!(m.positive_buckets, vec![-3.0; 3]);
    assert_eq!(m.negative_buckets, vec![-6.0]);
    assert_eq!(m.positive_spans, h.positive_spans);

    let mut d = h.clone();
    d.div(3.0);
    assert_eq!(d.positive_buckets, vec![1.0; 3]);
    assert_eq!(d.sum, 11.0);

    let mut z = h.clone();
    z.div(0.0);
    assert_eq!(z.count, f64::INFINITY);
    assert_eq!(z.zero_count, f64::INFINITY);
    assert!(z.positive_buckets.is_empty() && z.positive_spans.is_empty());
    assert!(z.negative_buckets.is_empty() && z.negative_spans.is_empty());
    let mut nz = h.clone();
    nz.div(-0.0);
    assert_eq!(nz.count, f64::NEG_INFINITY);
    assert!(nz.positive_buckets.is_empty());
    let mut nan = h.clone();
    nan.mul(0.0);
    nan.div(0.0);
    assert!(nan.count.is_nan() && nan.sum.is_nan() && nan.zero_count.is_nan());

    let mut c = custom(&[1.0, 2.0], &[2.0, 4.0]);
    c.mul(0.5);
    assert_eq!(c.custom_values, vec![1.0, 2.0]);
    assert_eq!(c.positive_buckets, vec![1.0, 2.0]);
}

#[test]
fn reduce_resolution_merges_buckets_and_keeps_count_and_sum() {
    let mut h = exp(2, -5, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    h.positive_spans = vec![sp(-5, 4), sp(3, 5)];
    h.negative_spans = vec![sp(-1, 3)];
    h.negative_buckets = vec![1.0, 1.0, 1.0];
    h.count += 3.0;
    let before = h.clone();
    h.reduce_resolution(0);
    assert_eq!(h.schema, 0);
    assert_eq!(h.count, before.count);
    assert_eq!(h.sum, before.sum);
    let total = |h: &FloatHistogram| -> f64 {
        h.positive_buckets.iter().sum::<f64>() + h.negative_buckets.iter().sum::<f64>()
    };
    assert_eq!(total(&h), total(&before));
    // Schema 2 indices -5..=-2 and 2..=6: ((i-1) >> 2) + 1.
    assert_eq!(
        positive(&h),
        vec![(-1, 3.0), (0, 7.0), (1, 18.0), (2, 17.0)]
    );
    // Every bucket's new range contains its old one.
    for b in before.positive_bucket_list() {
        let t = h
            .positive_bucket_list()
            .into_iter()
            .find(|n| n.lower <= b.lower && b.upper <= n.upper)
            .expect("a containing bucket");
        assert!(t.count >= b.count);
    }
    let neg: Vec<i32> = h.negative_bucket_list().iter().map(|b| b.index).collect();
    assert_eq!(neg, vec![0, 1]);

    // No-ops: custom buckets, a target that is not lower.
    let mut c = custom(&[1.0], &[1.0, 2.0]);
    let c0 = c.clone();
    c.reduce_resolution(0);
    assert_eq!(c, c0);
    let mut same = before.clone();
    same.reduce_resolution(3);
    assert_eq!(same, before);
}

#[test]
fn compact_drops_empty_buckets_and_keeps_the_value() {
    let mut h = exp(0, -3, &[0.0, 1.0, 0.0, 0.0, 2.0, 0.0]);
    h.positive_spans = vec![sp(-3, 6), sp(0, 0), sp(2, 3)];
    h.positive_buckets.extend([0.0, 3.0, 0.0]);
    h.negative_spans = vec![sp(0, 2)];
    h.negative_buckets = vec![0.0, 0.0];
    let before = h.clone();

    let mut c0 = h.clone();
    c0.compact(0);
    assert!(c0.test_equals(&before));
    assert!(c0.positive_buckets.iter().all(|c| *c != 0.0));
    assert_eq!(c0.positive_spans, vec![sp(-2, 1), sp(2, 1), sp(4, 1)]);
    assert!(c0.negative_spans.is_empty());

    let mut c2 = h.clone();
    c2.compact(2);
    assert!(c2.test_equals(&before));
    assert_eq!(c2.positive_spans, vec![sp(-2, 4), sp(4, 1)]);
    assert_eq!(c2.positive_buckets, vec![1.0, 0.0, 0.0, 2.0, 3.0]);

    // Compacting again changes nothing.
    let mut again = c2.clone();
    again.compact(2);
    assert!(again.equals(&c2));
}

#[test]
fn detect_reset_honours_hints_then_compares() {
    let prev = exp(0, 0, &[2.0, 3.0]);
    let mut grown = exp(0, 0, &[2.0, 4.0]);
    assert!(!grown.detect_reset(&prev));
    grown.counter_reset_hint = CounterResetHint::CounterReset;
    assert!(grown.detect_reset(&prev));
    let mut shrunk = exp(0, 0, &[1.0, 1.0]);
    assert!(shrunk.detect_reset(&prev));
    shrunk.counter_reset_hint = CounterResetHint::NotCounterReset;
    assert!(!shrunk.detect_reset(&prev));
    shrunk.counter_reset_hint = CounterResetHint::Gauge;
    assert!(shrunk.detect_reset(&prev));

    // Same count, but a bucket lost observations (moved elsewhere).
    let mut moved = exp(0, 0, &[1.0, 3.0, 1.0]);
    moved.count = prev.count;
    assert!(moved.detect_reset(&prev));
    // A populated bucket missing.
    let mut missing = exp(0, 1, &[5.0, 1.0]);
    missing.count = 6.0;
    assert!(missing.detect_reset(&prev));
    // Zero count decreased.
    let mut zp = prev.clone();
    zp.zero_count = 2.0;
    assert!(prev.detect_reset(&zp));
}

#[test]
fn detect_reset_across_schemas_and_zero_widths() {
    let prev = exp(1, 1, &[1.0, 2.0, 3.0, 4.0]);
    // Lower schema now: compared after merging the previous buckets.
    let ok = exp(0, 1, &[3.0, 7.0]);
    assert!(!ok.detect_reset(&prev));
    let bad = exp(0, 1, &[2.0, 8.0]);
    assert!(bad.detect_reset(&prev));
    // Higher schema now: always a reset.
    let finer = exp(2, 1, &[100.0]);
    assert!(finer.detect_reset(&exp(1, 1, &[1.0])));

    // Narrower zero bucket: a reset; wider one swallowing populated buckets: compared.
    let mut narrower = prev.clone();
    narrower.zero_threshold = 0.0001;
    assert!(narrower.detect_reset(&prev));
    let mut wider = exp(1, 3, &[3.0, 4.0]);
    wider.zero_threshold = 2.0; // swallows schema-1 buckets 1 and 2
    wider.zero_count = 3.0;
    wider.count = 10.0;
    assert!(!wider.detect_reset(&prev));
    wider.zero_count = 2.0;
    assert!(wider.detect_reset(&prev));
    // A new threshold ending inside a populated bucket is a reset.
    let mut inside = exp(1, 3, &[3.0, 4.0]);
    inside.zero_threshold = 1.2;
    inside.zero_count = 3.0;
    inside.count = 10.0;
    assert!(inside.detect_reset(&prev));
}

#[test]
fn detect_reset_with_custom_buckets() {
    let prev = custom(&[2.0, 4.0, 6.0], &[1.0, 2.0, 5.0, 7.0]);
    // More bounds, every common range grew: no reset.
    let grown = custom(
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        &[10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0],
    );
    assert!(!grown.detect_reset(&prev));
    // The range (2, 4] went from 2 to 1: a reset although the count stayed.
    let split = custom(&[2.0, 3.0, 4.0, 6.0], &[1.0, 0.0, 1.0, 5.0, 8.0]);
    assert!(split.detect_reset(&prev));
    // Custom after exponential (and back) is a reset.
    let e = exp(0, 0, &[1.0]);
    assert!(grown.detect_reset(&e));
    let mut big = exp(0, 0, &[100.0]);
    big.count = 1000.0;
    assert!(big.detect_reset(&prev));
}

#[test]
fn equals_compares_layout_and_bits() {
    let a = exp(0, 0, &[1.0, 0.0, 2.0]);
    let mut b = a.clone();
    b.positive_spans = vec![sp(0, 1), sp(0, 0), sp(0, 2)];
    assert!(a.equals(&b));
    b.counter_reset_hint = CounterResetHint::Gauge;
    assert!(a.equals(&b));
    let mut c = a.clone();
    c.compact(0); // the empty bucket is gone: a different layout
    assert!(!a.equals(&c));
    let mut d = a.clone();
    d.sum = f64::NAN;
    let mut e = a.clone();
    e.sum = f64::NAN;
    assert!(d.equals(&e));
    assert!(!d.equals(&a));
    let mut f = a.clone();
    f.zero_threshold = 0.5;
    assert!(!a.equals(&f));
    let c1 = custom(&[1.0], &[1.0]);
    let c2 = custom(&[2.0], &[1.0]);
    assert!(!c1.equals(&c2));
    assert!(c1.equals(&c1.clone()));
}

#[test]
fn odd_input_never_panics() {
    // Spans promising more buckets than there are, and the other way round.
    let mut short = exp(0, 0, &[1.0, 2.0]);
    short.positive_spans = vec![sp(0, 5), sp(3, 4)];
    let mut long = exp(0, 0, &[1.0, 2.0, 3.0, 4.0]);
    long.positive_spans = vec![sp(0, 1)];
    let mut nan = exp(3, i32::MAX - 2, &[f64::NAN, f64::INFINITY]);
    nan.zero_threshold = f64::NAN;
    nan.sum = f64::NAN;
    let mut extreme = exp(-4, i32::MIN, &[1.0]);
    extreme.negative_spans = vec![sp(i32::MAX, 3)];
    extreme.negative_buckets = vec![1.0, -1.0];
    let empty = FloatHistogram {
        positive_spans: vec![sp(0, 0)],
        ..FloatHistogram::default()
    };
    let all = [short, long, nan, extreme, empty, exp(8, -100, &[1.0; 10])];
    for a in &all {
        for b in &all {
            let mut x = a.clone();
            let _ = x.add(b);
            let mut x = a.clone();
            let _ = x.sub(b);
            let _ = a.detect_reset(b);
            let _ = a.equals(b);
            let mut x = a.clone();
            x.compact(1);
            x.reduce_resolution(-4);
            x.mul(f64::NAN);
            x.div(0.0);
        }
    }
    let mut c = custom(&[1.0], &[1.0, 2.0, 3.0, 4.0]);
    c.positive_spans = vec![sp(-3, 2), sp(10, 2)];
    let _ = c.clone().add(&custom(&[], &[1.0]));
    let _ = c.detect_reset(&custom(&[5.0], &[]));
}
