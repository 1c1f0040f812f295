//! Tests of result comparison with native-histogram expectations.

use super::*;
use crate::model::{CounterResetHint, HistogramSample, HistogramValue, Labels, Sample, Span};
use crate::testrun::script::{parse, Command};

fn eval(text: &str) -> Eval {
    match parse(text).unwrap().into_iter().next() {
        Some(Command::Eval(ev)) => *ev,
        other => panic!("{other:?}"),
    }
}

fn x() -> Labels {
    Labels::from_pairs([("__name__", "x")])
}

/// `{{schema:0 sum:5 count:4 buckets:[1 2 1]}}` with another layout: an empty bucket in
/// front, two spans.
fn same_as_literal(hint: CounterResetHint) -> FloatHistogram {
    FloatHistogram {
        counter_reset_hint: hint,
        schema: 0,
        count: 4.0,
        sum: 5.0,
        positive_spans: vec![
            Span {
                offset: -1,
                length: 2,
            },
            Span {
                offset: 0,
                length: 2,
            },
        ],
        positive_buckets: vec![0.0, 1.0, 2.0, 1.0],
        ..FloatHistogram::default()
    }
}

#[test]
fn vector_histograms_compare_as_upstream() {
    let ev = eval("eval instant at 0m x\n  x {{schema:0 sum:5 count:4 buckets:[1 2 1]}}\n");
    let got = |h: FloatHistogram| Value::Vector(vec![InstantSample::histogram(x(), 0, h, false)]);
    assert_eq!(
        compare(&ev, &got(same_as_literal(CounterResetHint::Unknown))),
        Ok(())
    );
    // The hint is not compared when the expectation names none.
    assert_eq!(
        compare(&ev, &got(same_as_literal(CounterResetHint::Gauge))),
        Ok(())
    );
    let mut other = same_as_literal(CounterResetHint::Unknown);
    other.positive_buckets[2] = 2.5;
    let err = compare(&ev, &got(other)).unwrap_err();
    assert!(err.contains("expected {{schema:0 count:4 sum:5"), "{err}");
    // A float is not a histogram.
    let float = Value::Vector(vec![InstantSample::new(x(), 0, 4.0, false)]);
    assert!(compare(&ev, &float).is_err());
    let ev = eval("eval instant at 0m x\n  x 4\n");
    assert!(compare(&ev, &got(same_as_literal(CounterResetHint::Unknown))).is_err());
    // A named hint is compared.
    let ev = eval(
        "eval instant at 0m x\n  x {{schema:0 sum:5 count:4 buckets:[1 2 1] counter_reset_hint:gauge}}\n",
    );
    assert!(compare(&ev, &got(same_as_literal(CounterResetHint::Unknown))).is_err());
    assert_eq!(
        compare(&ev, &got(same_as_literal(CounterResetHint::Gauge))),
        Ok(())
    );
}

#[test]
fn matrices_with_floats_and_histograms() {
    let ev = eval(
        "eval range from 0 to 3m step 1m x\n  x 1 _ {{schema:0 sum:5 count:4 buckets:[1 2 1]}} {{schema:0 sum:5 count:4 buckets:[1 2 1]}}\n",
    );
    let h = |t| HistogramSample {
        t,
        h: HistogramValue::Float(same_as_literal(CounterResetHint::Unknown)),
    };
    let series = |histograms: Vec<HistogramSample>| {
        Value::Matrix(vec![Series {
            labels: x(),
            samples: vec![Sample { t: 0, v: 1.0 }],
            histograms,
        }])
    };
    assert_eq!(compare(&ev, &series(vec![h(120_000), h(180_000)])), Ok(()));
    let err = compare(&ev, &series(vec![h(120_000)])).unwrap_err();
    assert!(err.contains("expected 3 points, got 2"), "{err}");
    let err = compare(&ev, &series(vec![h(60_000), h(180_000)])).unwrap_err();
    assert!(err.contains("at 120000, got {{schema:0"), "{err}");
    // An integer histogram in the store compares in its float form.
    let int = crate::model::Histogram {
        count: 4,
        sum: 5.0,
        positive_spans: vec![Span {
            offset: 0,
            length: 3,
        }],
        positive_buckets: vec![1, 1, -1],
        ..crate::model::Histogram::default()
    };
    let ints = vec![
        HistogramSample {
            t: 120_000,
            h: HistogramValue::Int(int.clone()),
        },
        HistogramSample {
            t: 180_000,
            h: HistogramValue::Int(int),
        },
    ];
    assert_eq!(compare(&ev, &series(ints)), Ok(()));
}
