//! Tests of `/federate`'s format negotiation and rendering; the protobuf output is read back
//! with our protobuf exposition parser.

use super::*;
use crate::model::histogram::CUSTOM_BUCKETS_SCHEMA;
use crate::model::{stale_nan, Histogram, HistogramSample, HistogramValue, Sample, Span};
use crate::textparse::protobuf::{parse, NativeHistogram, ProtoEntry};
use crate::textparse::MetricType;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn fh(count: f64, hint: CounterResetHint) -> FloatHistogram {
    FloatHistogram {
        counter_reset_hint: hint,
        schema: 1,
        count,
        sum: 12.5,
        zero_threshold: 0.001,
        zero_count: 1.0,
        positive_spans: vec![Span {
            offset: -2,
            length: 2,
        }],
        positive_buckets: vec![count - 2.5, 0.5],
        negative_spans: vec![Span {
            offset: 3,
            length: 1,
        }],
        negative_buckets: vec![1.0],
        ..FloatHistogram::default()
    }
}

#[test]
fn accept_negotiates_as_prometheus() {
    // What Prometheus 2.42 sends with native histograms enabled, and without.
    assert!(wants_protobuf(
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    ));
    assert!(!wants_protobuf(
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    ));
    assert!(!wants_protobuf(""));
    assert!(!wants_protobuf("*/*"));
    // Quality decides, not order.
    assert!(!wants_protobuf(
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.3,text/plain;q=0.5"
    ));
    assert!(wants_protobuf(
        "text/plain;version=0.0.4;q=0.2, application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    ));
    // Another proto message or the text encodings of protobuf: text.
    assert!(!wants_protobuf(
        "application/vnd.google.protobuf;proto=other.Thing;encoding=delimited"
    ));
    assert!(!wants_protobuf(
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text"
    ));
}

#[test]
fn the_newest_sample_of_either_kind_unless_stale() {
    let l = labels(&[("__name__", "x")]);
    let h = |t| HistogramSample {
        t,
        h: HistogramValue::Float(fh(4.0, CounterResetHint::Unknown)),
    };
    let s = Series {
        labels: l.clone(),
        samples: vec![Sample { t: 1, v: 1.0 }, Sample { t: 5, v: 2.0 }],
        histograms: vec![h(3)],
    };
    assert_eq!(newest(&s), Some((5, Newest::Float(2.0))));
    let s = Series {
        histograms: vec![h(3), h(7)],
        ..s
    };
    assert_eq!(
        newest(&s),
        Some((7, Newest::Histogram(fh(4.0, CounterResetHint::Unknown))))
    );
    let stale = Series {
        histograms: vec![HistogramSample {
            t: 9,
            h: HistogramValue::Int(Histogram {
                sum: stale_nan(),
                ..Histogram::default()
            }),
        }],
        ..s.clone()
    };
    assert_eq!(newest(&stale), None);
    let stale = Series {
        samples: vec![Sample {
            t: 10,
            v: stale_nan(),
        }],
        ..s
    };
    assert_eq!(newest(&stale), None);
    assert_eq!(newest(&Series::default()), None);
}

fn samples() -> Vec<(Labels, i64, Newest)> {
    vec![
        (
            labels(&[("__name__", "a"), ("job", "x\"y")]),
            1_000,
            Newest::Float(1.5e6),
        ),
        (
            labels(&[("__name__", "h"), ("job", "1")]),
            2_000,
            Newest::Histogram(fh(4.0, CounterResetHint::Unknown)),
        ),
        (
            labels(&[("__name__", "h"), ("job", "2")]),
            2_500,
            Newest::Histogram(fh(6.0, CounterResetHint::NotCounterReset)),
        ),
        (
            labels(&[("__name__", "h"), ("job", "3")]),
            3_000,
            Newest::Float(7.0),
        ),
        (
            labels(&[("__name__", "h"), ("job", "4")]),
            3_500,
            Newest::Histogram(fh(5.0, CounterResetHint::Gauge)),
        ),
        (
            labels(&[("__name__", "nhcb")]),
            4_000,
            Newest::Histogram(FloatHistogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                count: 1.0,
                positive_spans: vec![Span {
                    offset: 0,
                    length: 1,
                }],
                positive_buckets: vec![1.0],
                custom_values: vec![1.0],
                ..FloatHistogram::default()
            }),
        ),
    ]
}

#[test]
fn text_leaves_histograms_out() {
    assert_eq!(
        render_text(&samples()),
        "# TYPE a untyped\na{job=\"x\\\"y\"} 1.5e+06 1000\n# TYPE h untyped\nh{job=\"3\"} 7 3000\n"
    );
}

#[test]
fn protobuf_carries_histograms_and_reads_back() {
    let body = render_proto(&samples());
    let entries = parse(&body, false).unwrap();
    let mut shown = Vec::new();
    let mut hists = Vec::new();
    for e in entries {
        match e {
            ProtoEntry::Metadata { metric, meta } => {
                shown.push(format!("family {metric} {:?}", meta.kind))
            }
            ProtoEntry::Float(f) => shown.push(format!(
                "{}{:?} {} {:?}",
                f.labels.name, f.labels.labels, f.value, f.timestamp
            )),
            ProtoEntry::Histogram(h) => {
                shown.push(format!(
                    "{}{:?} histogram {:?}",
                    h.labels.name, h.labels.labels, h.timestamp
                ));
                let NativeHistogram::Float(f) = h.histogram else {
                    panic!("float counts read back as integer: {:?}", h.histogram);
                };
                hists.push(f);
            }
        }
    }
    let kind = |k: MetricType| format!("{k:?}");
    assert_eq!(
        shown,
        [
            format!("family a {}", kind(MetricType::Unknown)),
            r#"a[("job", "x\"y")] 1500000 Some(1000)"#.to_string(),
            format!("family h {}", kind(MetricType::Histogram)),
            r#"h[("job", "1")] histogram Some(2000)"#.to_string(),
            r#"h[("job", "2")] histogram Some(2500)"#.to_string(),
            format!("family h {}", kind(MetricType::Unknown)),
            r#"h[("job", "3")] 7 Some(3000)"#.to_string(),
            format!("family h {}", kind(MetricType::GaugeHistogram)),
            r#"h[("job", "4")] histogram Some(3500)"#.to_string(),
        ]
    );
    let want = [
        fh(4.0, CounterResetHint::Unknown),
        fh(6.0, CounterResetHint::Unknown),
        fh(5.0, CounterResetHint::Gauge),
    ];
    assert_eq!(hists.len(), want.len());
    for (got, want) in hists.iter().zip(&want) {
        assert!(got.test_equals(want), "{got:?} vs {want:?}");
    }
    assert_eq!(hists[2].counter_reset_hint, CounterResetHint::Gauge);
    assert!(render_proto(&[]).is_empty());
}
