//! Tests of `windows`: range functions over windows holding native histograms, pinning
//! Prometheus 3's semantics where Debian's Prometheus 2.42 answers differently (2.42 has no
//! "not a counter"/"not a gauge"/"mix of histograms and floats" annotations, and its
//! max_over_time & co. answer for histogram-only windows).

use super::*;
use crate::model::Span;

/// A schema-0 histogram with `buckets` from bucket index 0 and the given hint.
fn fh(count: f64, sum: f64, buckets: &[f64], hint: CounterResetHint) -> FloatHistogram {
    FloatHistogram {
        counter_reset_hint: hint,
        count,
        sum,
        positive_spans: if buckets.is_empty() {
            Vec::new()
        } else {
            vec![Span {
                offset: 0,
                length: buckets.len() as u32,
            }]
        },
        positive_buckets: buckets.to_vec(),
        ..FloatHistogram::default()
    }
}

fn counter(count: f64) -> FloatHistogram {
    fh(count, count * 2.0, &[count], CounterResetHint::Unknown)
}

fn points(hs: &[(i64, FloatHistogram)]) -> Vec<HPoint<'_>> {
    hs.iter().map(|(t, h)| HPoint { t: *t, h }).collect()
}

fn window<'a>(
    floats: &'a [Sample],
    hists: &'a [HPoint<'a>],
    end: i64,
    range_ms: i64,
) -> Window<'a> {
    Window {
        floats,
        hists,
        start: end - range_ms,
        end,
        range_s: range_ms as f64 / 1000.0,
        ts: end,
    }
}

fn hist(out: Option<Out>) -> FloatHistogram {
    match out {
        Some(Out::Histogram(h)) => h,
        other => panic!("expected a histogram, got {other:?}"),
    }
}

fn float(out: Option<Out>) -> f64 {
    match out {
        Some(Out::Float(v)) => v,
        other => panic!("expected a float, got {other:?}"),
    }
}

const RATE: RangeFn = RangeFn::Rate {
    counter: true,
    rate: true,
};
const INCREASE: RangeFn = RangeFn::Rate {
    counter: true,
    rate: false,
};
const DELTA: RangeFn = RangeFn::Rate {
    counter: false,
    rate: false,
};

#[test]
fn increase_of_counter_histograms_is_an_extrapolated_gauge_histogram() {
    // 10, 20, 30 at 10s, 20s, 30s in (0, 30]: the first sample is within 1.1 intervals of
    // the start, so extrapolated all the way (the zero point, 10s before, is not nearer):
    // 20 * 30/20 = 30.
    let hs = [
        (10_000, counter(10.0)),
        (20_000, counter(20.0)),
        (30_000, counter(30.0)),
    ];
    let p = points(&hs);
    let mut notes = Vec::new();
    let h = hist(evaluate(
        INCREASE,
        &window(&[], &p, 30_000, 30_000),
        &mut notes,
    ));
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
    assert!((h.count - 30.0).abs() < 1e-9, "{}", h.count);
    assert!((h.sum - 60.0).abs() < 1e-9, "{}", h.sum);
    assert!((h.positive_buckets[0] - 30.0).abs() < 1e-9);
    // rate is the same per second of the range.
    let r = hist(evaluate(RATE, &window(&[], &p, 30_000, 30_000), &mut notes));
    assert!((r.count - 1.0).abs() < 1e-9, "{}", r.count);
    // Sampled from the start: extrapolation stops where the count would reach zero.
    let hs = [(0, counter(10.0)), (30_000, counter(40.0))];
    let p = points(&hs);
    let h = hist(evaluate(
        INCREASE,
        &window(&[], &p, 30_000, 40_000),
        &mut notes,
    ));
    // 10s to the start, but zero is 10s away: 30 * 40/30.
    assert!((h.count - 40.0).abs() < 1e-9, "{}", h.count);
}

#[test]
fn a_counter_reset_adds_the_histogram_before_it() {
    // 10, 20, then 5 (a reset): increase = 5 - 10 + 20 = 15 over the sampled 20s.
    let hs = [
        (0, counter(10.0)),
        (10_000, counter(20.0)),
        (20_000, counter(5.0)),
    ];
    let p = points(&hs);
    let mut notes = Vec::new();
    let h = hist(evaluate(
        INCREASE,
        &window(&[], &p, 20_000, 20_000),
        &mut notes,
    ));
    assert!((h.count - 15.0).abs() < 1e-9, "{}", h.count);
    assert!(h.positive_buckets.iter().all(|b| *b >= 0.0), "{h:?}");
    // A hint saying "no reset" is believed: then it is a plain (negative) difference.
    let mut not_reset = counter(5.0);
    not_reset.counter_reset_hint = CounterResetHint::NotCounterReset;
    let hs = [
        (0, counter(10.0)),
        (10_000, counter(20.0)),
        (20_000, not_reset),
    ];
    let p = points(&hs);
    let h = hist(evaluate(
        INCREASE,
        &window(&[], &p, 20_000, 20_000),
        &mut notes,
    ));
    assert!((h.count + 5.0).abs() < 1e-9, "{}", h.count);
}

#[test]
fn counter_and_gauge_functions_warn_about_the_other_kind() {
    let gauge = |c: f64| fh(c, c, &[c], CounterResetHint::Gauge);
    let hs = [(0, gauge(1.0)), (10_000, gauge(3.0))];
    let p = points(&hs);
    let w = window(&[], &p, 10_000, 10_000);
    let mut notes = Vec::new();
    assert!(evaluate(RATE, &w, &mut notes).is_some());
    assert_eq!(notes, [Note::NotCounter]);
    notes.clear();
    assert!(evaluate(DELTA, &w, &mut notes).is_some());
    assert!(notes.is_empty(), "{notes:?}");
    // delta and idelta over counter histograms: "not a gauge".
    let hs = [(0, counter(1.0)), (10_000, counter(3.0))];
    let p = points(&hs);
    let w = window(&[], &p, 10_000, 10_000);
    for f in [DELTA, RangeFn::Instant { rate: false }] {
        notes.clear();
        assert!(evaluate(f, &w, &mut notes).is_some());
        assert_eq!(notes, [Note::NotGauge], "{f:?}");
    }
    notes.clear();
    let ir = hist(evaluate(RangeFn::Instant { rate: true }, &w, &mut notes));
    assert!(notes.is_empty(), "{notes:?}");
    assert!((ir.count - 0.2).abs() < 1e-12, "{}", ir.count);
    assert_eq!(
        Note::NotCounter.message("m"),
        "this native histogram metric is not a counter: \"m\""
    );
}

#[test]
fn floats_and_histograms_in_one_window() {
    let floats = [Sample { t: 0, v: 1.0 }, Sample { t: 5_000, v: 2.0 }];
    let hs = [(10_000, counter(1.0)), (20_000, counter(2.0))];
    let p = points(&hs);
    let w = window(&floats, &p, 20_000, 30_000);
    let mut notes = Vec::new();
    // rate: no result, a warning.
    assert_eq!(evaluate(RATE, &w, &mut notes), None);
    assert_eq!(notes, [Note::MixedFloatsHistograms]);
    // sum and avg over time: the same.
    for f in ["sum_over_time", "avg_over_time"] {
        notes.clear();
        assert_eq!(evaluate(RangeFn::OverTime(f), &w, &mut notes), None);
        assert_eq!(notes, [Note::MixedFloatsHistograms]);
    }
    // max_over_time: the floats, with an info that histograms were ignored.
    notes.clear();
    assert_eq!(
        float(evaluate(RangeFn::OverTime("max_over_time"), &w, &mut notes)),
        2.0
    );
    assert_eq!(notes, [Note::HistogramsIgnored]);
    // count, last and first take both kinds.
    notes.clear();
    assert_eq!(
        float(evaluate(
            RangeFn::OverTime("count_over_time"),
            &w,
            &mut notes
        )),
        4.0
    );
    let last = hist(evaluate(
        RangeFn::OverTime("last_over_time"),
        &w,
        &mut notes,
    ));
    assert_eq!(last.count, 2.0);
    assert_eq!(
        float(evaluate(
            RangeFn::OverTime("first_over_time"),
            &w,
            &mut notes
        )),
        1.0
    );
    assert_eq!(
        float(evaluate(
            RangeFn::OverTime("ts_of_last_over_time"),
            &w,
            &mut notes
        )),
        20.0
    );
    assert!(notes.is_empty(), "{notes:?}");
    // irate: the last two are histograms, so it has a value; with a float last, a warning.
    assert!(evaluate(RangeFn::Instant { rate: true }, &w, &mut notes).is_some());
    let floats = [Sample { t: 30_000, v: 1.0 }];
    let w = window(&floats, &p, 30_000, 30_000);
    assert_eq!(
        evaluate(RangeFn::Instant { rate: true }, &w, &mut notes),
        None
    );
    assert_eq!(notes, [Note::MixedFloatsHistograms]);
}

#[test]
fn float_only_functions_ignore_histograms() {
    let hs = [(10_000, counter(1.0)), (20_000, counter(2.0))];
    let p = points(&hs);
    let mut notes = Vec::new();
    // Histograms only: no result and no annotation (2.42 answered max_over_time here).
    let w = window(&[], &p, 20_000, 30_000);
    for f in [
        RangeFn::OverTime("max_over_time"),
        RangeFn::OverTime("stddev_over_time"),
        RangeFn::Quantile(0.5),
        RangeFn::Deriv,
        RangeFn::PredictLinear(60.0),
    ] {
        assert_eq!(evaluate(f, &w, &mut notes), None, "{f:?}");
    }
    assert!(notes.is_empty(), "{notes:?}");
    // One float beside histograms: deriv has no result but says why.
    let floats = [Sample { t: 0, v: 1.0 }];
    let w = window(&floats, &p, 20_000, 30_000);
    assert_eq!(evaluate(RangeFn::Deriv, &w, &mut notes), None);
    assert_eq!(notes, [Note::HistogramsIgnored]);
    assert!(!Note::HistogramsIgnored.is_warning());
}

#[test]
fn resets_and_changes_count_switches_between_floats_and_histograms() {
    let floats = [Sample { t: 0, v: 5.0 }, Sample { t: 10_000, v: 4.0 }];
    let hs = [
        (20_000, counter(3.0)),
        (30_000, counter(3.0)),
        (40_000, counter(1.0)),
    ];
    let p = points(&hs);
    let w = window(&floats, &p, 40_000, 60_000);
    let mut notes = Vec::new();
    // 5 -> 4 (reset), 4 -> h (switch), h3 -> h3, h3 -> h1 (reset).
    assert_eq!(float(evaluate(RangeFn::Resets, &w, &mut notes)), 3.0);
    // changes: 5 -> 4, 4 -> h, h3 -> h1.
    assert_eq!(float(evaluate(RangeFn::Changes, &w, &mut notes)), 3.0);
    assert!(notes.is_empty());
}

#[test]
fn rate_reduces_to_the_lowest_schema_and_refuses_mixed_bucket_kinds() {
    let mut fine = counter(2.0);
    fine.schema = 1;
    let hs = [(0, counter(1.0)), (10_000, fine)];
    let p = points(&hs);
    let mut notes = Vec::new();
    let h = hist(evaluate(
        DELTA,
        &window(&[], &p, 10_000, 10_000),
        &mut notes,
    ));
    assert_eq!(h.schema, 0);
    let custom = FloatHistogram {
        schema: crate::model::histogram::CUSTOM_BUCKETS_SCHEMA,
        custom_values: vec![1.0],
        ..counter(3.0)
    };
    // Exponential, custom, exponential: no result.
    let hs = [
        (0, counter(1.0)),
        (10_000, custom.clone()),
        (20_000, counter(5.0)),
    ];
    let p = points(&hs);
    notes.clear();
    assert_eq!(
        evaluate(INCREASE, &window(&[], &p, 20_000, 20_000), &mut notes),
        None
    );
    assert_eq!(notes, [Note::MixedExponentialCustom]);
    // Exponential then custom: the change of layout is a counter reset, so the first
    // histogram is not needed and the custom one is the increase.
    let hs = [(0, counter(1.0)), (10_000, custom)];
    let p = points(&hs);
    notes.clear();
    let h = hist(evaluate(
        INCREASE,
        &window(&[], &p, 10_000, 10_000),
        &mut notes,
    ));
    assert_eq!((h.schema, h.count), (-53, 3.0));
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn sum_over_time_warns_about_conflicting_reset_hints() {
    let mut a = counter(1.0);
    a.counter_reset_hint = CounterResetHint::CounterReset;
    let mut b = counter(2.0);
    b.counter_reset_hint = CounterResetHint::NotCounterReset;
    let hs = [(0, a), (10_000, b)];
    let p = points(&hs);
    let mut notes = Vec::new();
    let s = hist(evaluate(
        RangeFn::OverTime("sum_over_time"),
        &window(&[], &p, 10_000, 20_000),
        &mut notes,
    ));
    assert_eq!((s.count, s.sum), (3.0, 6.0));
    assert_eq!(notes, [Note::CounterResetCollision(HistOp::Aggregation)]);
    assert_eq!(
        notes[0].message(""),
        "conflicting counter resets during histogram aggregation"
    );
    notes.clear();
    let m = hist(evaluate(
        RangeFn::OverTime("avg_over_time"),
        &window(&[], &p, 10_000, 20_000),
        &mut notes,
    ));
    assert_eq!((m.count, m.sum), (1.5, 3.0));
}
