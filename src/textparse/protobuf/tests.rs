//! Tests of the protobuf exposition parser: bodies encoded with `prost` from `MetricFamily`
//! messages, the entries read back, bad bodies refused with their offset, and random bytes.

use std::borrow::Cow;

use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::textparse::proto::{
    Bucket, BucketSpan, Counter, Gauge, LabelPair, Metric, MetricFamily, MetricType as T, Quantile,
    Summary, Timestamp, Untyped,
};

fn lp(name: &str, value: &str) -> LabelPair {
    LabelPair {
        name: name.into(),
        value: value.into(),
    }
}

fn family(name: &str, t: T, metric: Vec<Metric>) -> MetricFamily {
    MetricFamily {
        name: name.into(),
        help: format!("help of {name}"),
        r#type: t as i32,
        metric,
        unit: String::new(),
    }
}

fn body(families: &[MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in families {
        f.encode_length_delimited(&mut out).expect("a Vec grows");
    }
    out
}

fn ex(labels: &[(&str, &str)], value: f64, timestamp: Option<Timestamp>) -> proto::Exemplar {
    proto::Exemplar {
        label: labels.iter().map(|(n, v)| lp(n, v)).collect(),
        value,
        timestamp,
    }
}

fn ts(seconds: i64, nanos: i32) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos })
}

/// A float series as `name{a="x",...} value`, for compact assertions.
fn show(s: &FloatSeries) -> String {
    let labels: Vec<String> = s
        .labels
        .labels
        .iter()
        .map(|(n, v)| format!("{n}={v:?}"))
        .collect();
    format!("{}{{{}}} {}", s.labels.name, labels.join(","), s.value)
}

fn floats(entries: &[ProtoEntry]) -> Vec<&FloatSeries> {
    entries
        .iter()
        .filter_map(|e| match e {
            ProtoEntry::Float(f) => Some(f),
            _ => None,
        })
        .collect()
}

fn histograms(entries: &[ProtoEntry]) -> Vec<&HistogramSeries> {
    entries
        .iter()
        .filter_map(|e| match e {
            ProtoEntry::Histogram(h) => Some(h),
            _ => None,
        })
        .collect()
}

fn owned(pairs: &[(&str, &str)]) -> Pairs<'static> {
    pairs
        .iter()
        .map(|(n, v)| (Cow::Owned(n.to_string()), Cow::Owned(v.to_string())))
        .collect()
}

#[test]
fn counter_keeps_its_name_with_exemplar_created_and_timestamp() {
    let m = Metric {
        label: vec![lp("path", "/"), lp("code", "200")],
        counter: Some(Counter {
            value: 42.0,
            exemplar: Some(ex(
                &[("trace_id", "abc"), ("span_id", "1")],
                0.5,
                ts(10, 2_500_000),
            )),
            created_timestamp: ts(1_700_000_000, 123_456_789),
        }),
        timestamp_ms: 1_700_000_100_000,
        ..Metric::default()
    };
    let mut f = family("http_requests_total", T::Counter, vec![m]);
    f.unit = String::new();
    let e = parse(&body(&[f]), false).expect("valid body");
    assert_eq!(
        e[0],
        ProtoEntry::Metadata {
            metric: "http_requests_total".into(),
            meta: Metadata {
                kind: MetricType::Counter,
                help: "help of http_requests_total".into(),
                unit: String::new(),
            }
        }
    );
    let s = floats(&e);
    assert_eq!(s.len(), 1);
    assert_eq!(show(s[0]), r#"http_requests_total{code="200",path="/"} 42"#);
    assert_eq!(s[0].timestamp, Some(1_700_000_100_000));
    assert_eq!(s[0].created, Some(1_700_000_000_123));
    let x = s[0].exemplar.as_ref().expect("the counter's exemplar");
    assert_eq!(x.labels, owned(&[("span_id", "1"), ("trace_id", "abc")]));
    assert_eq!((x.value, x.timestamp), (0.5, Some(10_002)));
    assert_eq!(
        s[0].series,
        b"http_requests_total\xffcode\xff200\xffpath\xff/".to_vec()
    );
}

#[test]
fn gauge_and_untyped_without_timestamp_and_units() {
    let g = Metric {
        gauge: Some(Gauge { value: -3.5 }),
        ..Metric::default()
    };
    let u = Metric {
        untyped: Some(Untyped { value: 7.0 }),
        label: vec![lp("x", "y")],
        ..Metric::default()
    };
    let mut gf = family("temp_celsius", T::Gauge, vec![g]);
    gf.unit = "celsius".into();
    let mut cf = family("spent_seconds_total", T::Counter, vec![Metric::default()]);
    cf.unit = "seconds".into();
    let e = parse(
        &body(&[gf, family("thing", T::Untyped, vec![u]), cf]),
        false,
    )
    .expect("valid body");
    let s = floats(&e);
    let shown: Vec<String> = s.iter().map(|s| show(s)).collect();
    assert_eq!(
        shown,
        [
            "temp_celsius{} -3.5",
            r#"thing{x="y"} 7"#,
            "spent_seconds_total{} 0"
        ]
    );
    assert!(s
        .iter()
        .all(|s| s.timestamp.is_none() && s.created.is_none()));
    let meta: Vec<(String, MetricType, String)> = e
        .iter()
        .filter_map(|e| match e {
            ProtoEntry::Metadata { metric, meta } => {
                Some((metric.clone(), meta.kind, meta.unit.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        meta,
        [
            ("temp_celsius".into(), MetricType::Gauge, "celsius".into()),
            ("thing".into(), MetricType::Unknown, String::new()),
            (
                "spent_seconds_total".into(),
                MetricType::Counter,
                "seconds".into()
            ),
        ]
    );
}

#[test]
fn summary_yields_count_sum_then_quantiles() {
    let m = Metric {
        label: vec![lp("z", "1"), lp("a", "2")],
        summary: Some(Summary {
            sample_count: 10,
            sample_sum: 3.25,
            quantile: vec![
                Quantile {
                    quantile: 0.5,
                    value: 0.2,
                },
                Quantile {
                    quantile: 1.0,
                    value: 0.9,
                },
            ],
            created_timestamp: ts(5, 0),
        }),
        ..Metric::default()
    };
    let e = parse(&body(&[family("rpc_seconds", T::Summary, vec![m])]), false).expect("valid body");
    let s = floats(&e);
    let shown: Vec<String> = s.iter().map(|s| show(s)).collect();
    assert_eq!(
        shown,
        [
            r#"rpc_seconds_count{a="2",z="1"} 10"#,
            r#"rpc_seconds_sum{a="2",z="1"} 3.25"#,
            r#"rpc_seconds{a="2",quantile="0.5",z="1"} 0.2"#,
            r#"rpc_seconds{a="2",quantile="1.0",z="1"} 0.9"#,
        ]
    );
    assert!(s.iter().all(|s| s.created == Some(5000)));
}

fn bucket(le: f64, count: u64, exemplar: Option<proto::Exemplar>) -> Bucket {
    Bucket {
        cumulative_count: count,
        upper_bound: le,
        exemplar,
        ..Bucket::default()
    }
}

#[test]
fn classic_histogram_adds_the_inf_bucket_and_keeps_bucket_exemplars() {
    let h = proto::Histogram {
        sample_count: 5,
        sample_sum: 12.0,
        bucket: vec![
            bucket(0.1, 1, Some(ex(&[("id", "a")], 0.05, None))),
            bucket(1.0, 3, None),
            bucket(1e6, 4, Some(ex(&[("id", "b")], 9e5, ts(1, 0)))),
        ],
        created_timestamp: ts(2, 0),
        ..proto::Histogram::default()
    };
    let m = Metric {
        histogram: Some(h),
        timestamp_ms: 99,
        ..Metric::default()
    };
    let e = parse(&body(&[family("lat", T::Histogram, vec![m])]), true).expect("valid body");
    assert!(histograms(&e).is_empty(), "no native parts: classic only");
    let s = floats(&e);
    let shown: Vec<String> = s.iter().map(|s| show(s)).collect();
    assert_eq!(
        shown,
        [
            "lat_count{} 5",
            "lat_sum{} 12",
            r#"lat_bucket{le="0.1"} 1"#,
            r#"lat_bucket{le="1.0"} 3"#,
            r#"lat_bucket{le="1e+06"} 4"#,
            r#"lat_bucket{le="+Inf"} 5"#,
        ]
    );
    assert!(s
        .iter()
        .all(|s| s.created == Some(2000) && s.timestamp == Some(99)));
    let exemplars: Vec<Option<f64>> = s
        .iter()
        .map(|s| s.exemplar.as_ref().map(|x| x.value))
        .collect();
    assert_eq!(
        exemplars,
        [None, None, Some(0.05), None, Some(9e5), None],
        "classic buckets keep exemplars with or without a timestamp"
    );
    assert_eq!(s[2].exemplar.as_ref().and_then(|x| x.timestamp), None);
}

#[test]
fn classic_histogram_with_inf_float_counts_and_no_buckets() {
    let h = proto::Histogram {
        sample_count: 1,
        sample_count_float: 2.5,
        sample_sum: 1.0,
        bucket: vec![
            Bucket {
                cumulative_count: 1,
                cumulative_count_float: 1.5,
                upper_bound: 1.0,
                exemplar: None,
            },
            bucket(f64::INFINITY, 9, None),
            bucket(f64::INFINITY, 10, None),
        ],
        ..proto::Histogram::default()
    };
    let gauge_h = Metric {
        histogram: Some(proto::Histogram {
            sample_count: 3,
            sample_sum: 4.0,
            ..proto::Histogram::default()
        }),
        ..Metric::default()
    };
    let e = parse(
        &body(&[
            family(
                "f",
                T::Histogram,
                vec![Metric {
                    histogram: Some(h),
                    ..Metric::default()
                }],
            ),
            family("g", T::GaugeHistogram, vec![gauge_h]),
        ]),
        false,
    )
    .expect("valid body");
    let shown: Vec<String> = floats(&e).iter().map(|s| show(s)).collect();
    assert_eq!(
        shown,
        [
            "f_count{} 2.5",
            "f_sum{} 1",
            r#"f_bucket{le="1.0"} 1.5"#,
            r#"f_bucket{le="+Inf"} 9"#,
            "g_count{} 3",
            "g_sum{} 4",
            r#"g_bucket{le="+Inf"} 3"#,
        ]
    );
}

fn span(offset: i32, length: u32) -> BucketSpan {
    BucketSpan { offset, length }
}

fn spans(v: &[(i32, u32)]) -> Vec<Span> {
    v.iter()
        .map(|&(offset, length)| Span { offset, length })
        .collect()
}

/// A client_golang-like native histogram: schema 0, zero bucket, negative and positive buckets.
fn native_int() -> proto::Histogram {
    proto::Histogram {
        sample_count: 12,
        sample_sum: 4.5,
        schema: 0,
        zero_threshold: 2.938735877055719e-39,
        zero_count: 2,
        negative_span: vec![span(0, 2)],
        negative_delta: vec![1, 0],
        // Buckets 0, 1 (counts 1, 2), then an empty one at 2 and a no-op span, then 5.
        positive_span: vec![span(0, 3), span(0, 0), span(2, 1)],
        positive_delta: vec![1, 1, -2, 5],
        bucket: vec![bucket(1.0, 4, None), bucket(10.0, 11, None)],
        created_timestamp: ts(100, 0),
        ..proto::Histogram::default()
    }
}

#[test]
fn native_histogram_with_negative_zero_and_positive_buckets() {
    let mut h = native_int();
    h.exemplars = vec![
        ex(&[("trace_id", "t1")], 1.5, ts(3, 0)),
        ex(&[("trace_id", "no-ts")], 2.0, None),
    ];
    let m = Metric {
        label: vec![lp("job", "x")],
        histogram: Some(h),
        ..Metric::default()
    };
    let e = parse(
        &body(&[family("req_seconds", T::Histogram, vec![m])]),
        false,
    )
    .expect("valid body");
    assert!(
        floats(&e).is_empty(),
        "classic parts dropped without keep_classic"
    );
    let hs = histograms(&e);
    assert_eq!(hs.len(), 1);
    let s = hs[0];
    assert_eq!(s.labels.name, "req_seconds");
    assert_eq!(s.labels.labels, owned(&[("job", "x")]));
    assert_eq!(s.created, Some(100_000));
    assert_eq!(s.timestamp, None);
    let NativeHistogram::Int(h) = &s.histogram else {
        panic!("an integer histogram, got {:?}", s.histogram);
    };
    assert_eq!((h.schema, h.count, h.sum, h.zero_count), (0, 12, 4.5, 2));
    assert_eq!(h.zero_threshold, 2.938735877055719e-39);
    assert_eq!(h.counter_reset_hint, CounterResetHint::Unknown);
    assert_eq!(h.negative_spans, spans(&[(0, 2)]));
    assert_eq!(h.negative_buckets, vec![1, 0]);
    // Compacted: the empty bucket at index 2 and the no-op span are gone.
    assert_eq!(h.positive_spans, spans(&[(0, 2), (3, 1)]));
    assert_eq!(h.positive_buckets, vec![1, 1, 3]);
    assert_eq!(h.to_float().positive_buckets, vec![1.0, 2.0, 5.0]);
    assert_eq!(s.exemplars.len(), 1, "only exemplars with a timestamp");
    assert_eq!(s.exemplars[0].labels, owned(&[("trace_id", "t1")]));
    assert_eq!(
        (s.exemplars[0].value, s.exemplars[0].timestamp),
        (1.5, Some(3000))
    );
}

#[test]
fn mixed_histogram_yields_native_then_classic_with_keep_classic() {
    let m = Metric {
        histogram: Some(native_int()),
        ..Metric::default()
    };
    let b = body(&[family("mixed", T::Histogram, vec![m])]);
    let native_only = parse(&b, false).expect("valid body");
    assert_eq!(histograms(&native_only).len(), 1);
    assert!(floats(&native_only).is_empty());

    let both = parse(&b, true).expect("valid body");
    assert!(matches!(both[0], ProtoEntry::Metadata { .. }));
    assert!(matches!(both[1], ProtoEntry::Histogram(_)), "native first");
    let shown: Vec<String> = floats(&both).iter().map(|s| show(s)).collect();
    assert_eq!(
        shown,
        [
            "mixed_count{} 12",
            "mixed_sum{} 4.5",
            r#"mixed_bucket{le="1.0"} 4"#,
            r#"mixed_bucket{le="10.0"} 11"#,
            r#"mixed_bucket{le="+Inf"} 12"#,
        ]
    );
    assert!(floats(&both).iter().all(|s| s.created == Some(100_000)));

    // A native histogram without classic buckets has no classic series even so.
    let mut h = native_int();
    h.bucket.clear();
    let m = Metric {
        histogram: Some(h),
        ..Metric::default()
    };
    let e = parse(&body(&[family("n", T::Histogram, vec![m])]), true).expect("valid body");
    assert!(floats(&e).is_empty());
}

#[test]
fn float_native_gauge_histogram_and_empty_native_histogram() {
    let fh = proto::Histogram {
        sample_count_float: 7.5,
        sample_sum: -1.0,
        schema: 3,
        zero_threshold: 0.001,
        zero_count_float: 0.5,
        negative_span: vec![span(-1, 1)],
        negative_count: vec![2.0],
        positive_span: vec![span(4, 3)],
        positive_count: vec![1.0, 0.0, 4.0],
        positive_delta: vec![9, 9, 9], // ignored by a float histogram
        bucket: vec![bucket(
            1.0,
            1,
            Some(ex(&[("id", "b1")], 0.9, ts(0, 7_000_000))),
        )],
        ..proto::Histogram::default()
    };
    let empty = proto::Histogram {
        positive_span: vec![span(0, 0)],
        ..proto::Histogram::default()
    };
    let e = parse(
        &body(&[family(
            "queue",
            T::GaugeHistogram,
            vec![
                Metric {
                    histogram: Some(fh),
                    label: vec![lp("q", "1")],
                    ..Metric::default()
                },
                Metric {
                    histogram: Some(empty),
                    label: vec![lp("q", "2")],
                    ..Metric::default()
                },
            ],
        )]),
        false,
    )
    .expect("valid body");
    let hs = histograms(&e);
    assert_eq!(hs.len(), 2);
    let NativeHistogram::Float(f) = &hs[0].histogram else {
        panic!("a float histogram, got {:?}", hs[0].histogram);
    };
    assert_eq!(
        (f.schema, f.count, f.sum, f.zero_count),
        (3, 7.5, -1.0, 0.5)
    );
    assert_eq!(f.zero_threshold, 0.001);
    assert_eq!(f.counter_reset_hint, CounterResetHint::Gauge);
    assert_eq!(f.negative_spans, spans(&[(-1, 1)]));
    assert_eq!(f.negative_buckets, vec![2.0]);
    assert_eq!(f.positive_spans, spans(&[(4, 1), (1, 1)]));
    assert_eq!(f.positive_buckets, vec![1.0, 4.0]);
    // No exemplars of its own: its buckets' timestamped ones.
    assert_eq!(hs[0].exemplars.len(), 1);
    assert_eq!(hs[0].exemplars[0].timestamp, Some(7));
    let NativeHistogram::Int(h) = &hs[1].histogram else {
        panic!("an integer histogram, got {:?}", hs[1].histogram);
    };
    assert!(h.positive_spans.is_empty() && h.positive_buckets.is_empty());
    assert_eq!(
        (h.count, h.counter_reset_hint),
        (0, CounterResetHint::Gauge)
    );
}

#[test]
fn empty_families_are_skipped_and_entries_stream_before_an_error() {
    let good = family(
        "up",
        T::Gauge,
        vec![Metric {
            gauge: Some(Gauge { value: 1.0 }),
            ..Metric::default()
        }],
    );
    let mut b = body(&[family("nothing", T::Counter, vec![]), good]);
    let first_len = b.len();
    b.extend_from_slice(&[0x05, 0xff, 0xff]); // 5 bytes announced, 2 there
    let mut p = ProtoParser::new(&b, false);
    assert!(
        matches!(p.next(), Some(Ok(ProtoEntry::Metadata { ref metric, .. })) if metric == "up")
    );
    assert!(matches!(p.next(), Some(Ok(ProtoEntry::Float(_)))));
    let err = match p.next() {
        Some(Err(e)) => e,
        other => panic!("an error, got {other:?}"),
    };
    assert_eq!((err.index, err.offset), (2, first_len));
    assert!(err.msg.contains("5 bytes long but only 2"), "{err}");
    assert!(p.next().is_none(), "the parser stops after an error");
    assert!(parse(&b, false).is_err());
    assert_eq!(parse(&[], false), Ok(vec![]));
}

fn error_of(families: &[MetricFamily]) -> String {
    match parse(&body(families), false) {
        Err(e) => e.to_string(),
        Ok(v) => panic!("an error, got {v:?}"),
    }
}

#[test]
fn invalid_families_are_refused_naming_them() {
    let one = |labels: Vec<LabelPair>| {
        vec![Metric {
            label: labels,
            ..Metric::default()
        }]
    };
    let mut unknown = family("x", T::Gauge, one(vec![]));
    unknown.r#type = 9;
    assert_eq!(
        error_of(&[unknown]),
        r#"protobuf message 0 at byte 0 (metric family "x"): unknown metric type 9"#
    );
    let e = error_of(&[family("", T::Gauge, one(vec![]))]);
    assert!(e.contains("has no name"), "{e}");
    let mut unit = family("size_bytes_total", T::Counter, one(vec![]));
    unit.unit = "seconds".into();
    let e = error_of(&[unit]);
    assert!(
        e.contains(r#"unit "seconds" not a suffix of counter "size_bytes_total""#),
        "{e}"
    );
    let mut unit = family("latency_milliseconds", T::Gauge, one(vec![]));
    unit.unit = "seconds".into();
    assert!(error_of(&[unit]).contains("not a suffix of metric"));
    let e = error_of(&[family("d", T::Gauge, one(vec![lp("a", "1"), lp("a", "2")]))]);
    assert!(
        e.contains(r#"metric 0: label name "a" is not unique"#),
        "{e}"
    );
    let e = error_of(&[family("d", T::Gauge, one(vec![lp("__name__", "other")]))]);
    assert!(e.contains("__name__"), "{e}");
    let e = error_of(&[family("h", T::Histogram, one(vec![lp("le", "1")]))]);
    assert!(e.contains(r#"label name "le" is not unique"#), "{e}");
    let s = vec![Metric {
        label: vec![lp("quantile", "x")],
        summary: Some(Summary {
            quantile: vec![Quantile::default()],
            ..Summary::default()
        }),
        ..Metric::default()
    }];
    assert!(error_of(&[family("s", T::Summary, s)]).contains("quantile"));
}

#[test]
fn garbage_and_truncated_bodies_are_errors() {
    let e = parse(&[0xff; 11], false).expect_err("an endless varint");
    assert!(e.msg.contains("length prefix"), "{e}");
    let e = parse(&[0x03, 0xff, 0xff, 0xff], false).expect_err("not a message");
    assert!(e.msg.starts_with("not a MetricFamily"), "{e}");
    assert_eq!((e.index, e.offset), (0, 0));
    // Every strict prefix of a valid body either ends at a message boundary or is an error.
    let m = Metric {
        histogram: Some(native_int()),
        ..Metric::default()
    };
    let full = body(&[
        family("a", T::Histogram, vec![m.clone()]),
        family("b", T::Histogram, vec![m]),
    ]);
    let first = full.len() / 2;
    for cut in 1..full.len() {
        let r = parse(&full[..cut], true);
        if cut == first {
            assert!(r.is_ok(), "cut at the message boundary");
        } else {
            assert!(r.is_err(), "prefix of {cut} bytes parsed");
        }
    }
}

#[test]
fn content_types() {
    assert!(is_protobuf_content_type(CONTENT_TYPE));
    assert!(is_protobuf_content_type(
        " Application/Vnd.Google.Protobuf;proto=io.prometheus.client.MetricFamily"
    ));
    assert!(!is_protobuf_content_type("text/plain; version=0.0.4"));
    assert!(!is_protobuf_content_type(
        "application/vnd.google.protobuffer"
    ));
    assert!(!is_protobuf_content_type(""));
}

#[test]
fn openmetrics_floats_for_le_and_quantile() {
    for (v, want) in [
        (0.0, "0.0"),
        (1.0, "1.0"),
        (-1.0, "-1.0"),
        (0.25, "0.25"),
        (100.0, "100.0"),
        (1e6, "1e+06"),
        (2.5e-7, "2.5e-07"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
        (f64::NAN, "NaN"),
    ] {
        assert_eq!(om_float(v), want, "{v}");
    }
}

/// A body client_golang 1.14 (Debian's) wrote with `expfmt.FmtProtoDelim`: `mixed_seconds{path="/a"}`
/// (schema 0, classic buckets 0.5, 1, 5 and +Inf, an exemplar on each; observed 0.3, 0.7, 3, 9),
/// `nh_seconds` (factor 1.1 → schema 3, zero threshold 0.001; observed -3, -0.5, 0, 0.0005, 0.7,
/// 1.2, 1.3, 40) and `reqs_total` (5, with an exemplar).
const CLIENT_GOLANG_BODY: &str = concat!(
    "b1020a0d6d697865645f7365636f6e647312126e617469766520616e6420636c617373696318042289020a0a0a047061",
    "746812022f613afa010804110000000000002a401a32080111000000000000e03f1a250a0d0a0874726163655f696412",
    "017411333333333333d33f1a0b08dd86d0d8061085eff42d1a32080211000000000000f03f1a250a0d0a087472616365",
    "5f696412017411666666666666e63f1a0b08dd86d0d80610db84f52d1a3208031100000000000014401a250a0d0a0874",
    "726163655f69641201741100000000000008401a0b08dd86d0d80610c48cf52d1a32080411000000000000f07f1a250a",
    "0d0a0874726163655f69641201741100000000000022401a0b08dd86d0d806108d93f52d280031000000000000f03738",
    "00620408011006680268006801680268016802610a0a6e685f7365636f6e6473120b6e6174697665206f6e6c79180422",
    "443a420808118b6ce7fba9d94340280631fca9f1d24d62503f38024a04080f10014a0408281001500250006204080710",
    "016204080c10026204084c100168026800680068004e0a0a726571735f746f74616c12096120636f756e746572180022",
    "331a3109000000000000144012260a0e0a0874726163655f6964120263311100000000000014401a0b08dd86d0d80610",
    "959bf52d",
);

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn client_golang_body_reads_as_prometheus_stores_it() {
    let b = unhex(CLIENT_GOLANG_BODY);
    let e = parse(&b, false).expect("a real client's body");
    let hs = histograms(&e);
    assert_eq!(hs.len(), 2);
    // mixed_seconds: deltas 1,0,-1,1,-1,1 from index -1 hold two empty buckets, compacted away.
    let NativeHistogram::Int(m) = &hs[0].histogram else {
        panic!("integer, got {:?}", hs[0].histogram);
    };
    assert_eq!(hs[0].labels.name, "mixed_seconds");
    assert_eq!((m.schema, m.count, m.sum, m.zero_count), (0, 4, 13.0, 0));
    assert_eq!(m.positive_spans, spans(&[(-1, 2), (1, 1), (1, 1)]));
    assert_eq!(m.positive_buckets, vec![1, 0, 0, 0]);
    let ex: Vec<f64> = hs[0].exemplars.iter().map(|x| x.value).collect();
    assert_eq!(
        ex,
        [0.3, 0.7, 3.0, 9.0],
        "bucket exemplars, all timestamped"
    );
    assert!(hs[0]
        .exemplars
        .iter()
        .all(|x| x.timestamp == Some(1_796_473_693_096)));
    // nh_seconds at schema 3: bucket index ceil(8·log2 v): 0.7 → -4, 1.2 → 3, 1.3 → 4, 40 → 43;
    // negative 0.5 → -8, 3 → 13; 0 and 0.0005 fall in the zero bucket.
    let NativeHistogram::Int(n) = &hs[1].histogram else {
        panic!("integer, got {:?}", hs[1].histogram);
    };
    assert_eq!((n.schema, n.count, n.zero_count), (3, 8, 2));
    assert_eq!((n.zero_threshold, n.sum), (0.001, 39.7005));
    assert_eq!(n.positive_spans, spans(&[(-4, 1), (6, 2), (38, 1)]));
    assert_eq!(n.positive_buckets, vec![1, 0, 0, 0]);
    assert_eq!(n.negative_spans, spans(&[(-8, 1), (20, 1)]));
    assert_eq!(n.negative_buckets, vec![1, 0]);
    let shown: Vec<String> = floats(&e).iter().map(|s| show(s)).collect();
    assert_eq!(shown, ["reqs_total{} 5"]);
    let with_classic = parse(&b, true).expect("a real client's body");
    let shown: Vec<String> = floats(&with_classic).iter().map(|s| show(s)).collect();
    assert_eq!(
        shown,
        [
            r#"mixed_seconds_count{path="/a"} 4"#,
            r#"mixed_seconds_sum{path="/a"} 13"#,
            r#"mixed_seconds_bucket{le="0.5",path="/a"} 1"#,
            r#"mixed_seconds_bucket{le="1.0",path="/a"} 2"#,
            r#"mixed_seconds_bucket{le="5.0",path="/a"} 3"#,
            r#"mixed_seconds_bucket{le="+Inf",path="/a"} 4"#,
            "reqs_total{} 5",
        ]
    );
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes, true);
    }

    #[test]
    fn corrupted_valid_bodies_never_panic(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        keep in any::<bool>(),
    ) {
        let mut h = native_int();
        h.exemplars = vec![ex(&[("a", "b")], 1.0, ts(1, 0))];
        let m = Metric { label: vec![lp("l", "v")], histogram: Some(h), ..Metric::default() };
        let mut b = body(&[family("h", T::Histogram, vec![m])]);
        for (at, byte) in flips {
            let i = at % b.len();
            b[i] = byte;
        }
        let _ = parse(&b, keep);
    }
}

#[test]
fn ignoring_native_histograms_reads_every_histogram_as_classic() {
    let mixed = Metric {
        histogram: Some(native_int()),
        ..Metric::default()
    };
    let mut only = native_int();
    only.bucket.clear();
    let native_only = Metric {
        histogram: Some(only),
        ..Metric::default()
    };
    let b = body(&[
        family("mixed", T::Histogram, vec![mixed]),
        family("n", T::Histogram, vec![native_only]),
    ]);
    let e: Vec<ProtoEntry> = ProtoParser::with_options(&b, false, true)
        .collect::<Result<_, _>>()
        .expect("valid body");
    assert!(histograms(&e).is_empty(), "no native histogram");
    let shown: Vec<String> = floats(&e).iter().map(|s| show(s)).collect();
    assert_eq!(
        shown,
        [
            "mixed_count{} 12",
            "mixed_sum{} 4.5",
            r#"mixed_bucket{le="1.0"} 4"#,
            r#"mixed_bucket{le="10.0"} 11"#,
            r#"mixed_bucket{le="+Inf"} 12"#,
            "n_count{} 12",
            "n_sum{} 4.5",
            r#"n_bucket{le="+Inf"} 12"#,
        ]
    );
}
