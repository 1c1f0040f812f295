//! Exponential and explicit-bucket OTLP histograms stored as native histogram samples: the
//! layouts at scales −4, 0, 8 and 10 (merged down to 8) with zero and negative buckets,
//! created-timestamp zeros, stale markers, exemplars, delta streams summed up (across a
//! scale change), NHCB under `convert_histograms_to_nhcb`, and refusals naming the series
//! and the rule while the rest of the request is stored.

use prost::Message;

use super::{attrs, histogram, histogram_point, receiver, request, send, Store};
use crate::config::OtlpConfig;
use crate::model::{CounterResetHint, Histogram, HistogramValue, Span};
use crate::otlp::native::DEFAULT_ZERO_THRESHOLD;
use crate::otlp::Receiver;

/// An exponential point in OTLP/JSON: start and time in seconds, scale, zero count,
/// positive and negative (offset, counts), sum; the count is the buckets' total.
fn exp_point(
    start_s: u64,
    t_s: u64,
    scale: i32,
    zero: u64,
    pos: (i32, &[u64]),
    neg: (i32, &[u64]),
    sum: f64,
) -> String {
    let count = zero + pos.1.iter().sum::<u64>() + neg.1.iter().sum::<u64>();
    format!(
        r#"{{"startTimeUnixNano":"{}","timeUnixNano":"{}","count":"{count}","sum":{sum},"scale":{scale},"zeroCount":"{zero}","zeroThreshold":0.001,"positive":{{"offset":{},"bucketCounts":{:?}}},"negative":{{"offset":{},"bucketCounts":{:?}}}}}"#,
        start_s * 1_000_000_000,
        t_s * 1_000_000_000,
        pos.0,
        pos.1,
        neg.0,
        neg.1
    )
}

fn exp_metric(name: &str, temporality: u8, points: &[String]) -> String {
    format!(
        r#"{{"name":"{name}","exponentialHistogram":{{"aggregationTemporality":{temporality},"dataPoints":[{}]}}}}"#,
        points.join(",")
    )
}

fn spans(s: &[(i32, u32)]) -> Vec<Span> {
    s.iter()
        .map(|&(offset, length)| Span { offset, length })
        .collect()
}

/// An integer native histogram as Prometheus's translator makes it of an OTLP one.
fn native(
    schema: i32,
    zero: u64,
    count: u64,
    sum: f64,
    pos: (&[(i32, u32)], &[i64]),
    neg: (&[(i32, u32)], &[i64]),
) -> HistogramValue {
    HistogramValue::Int(Histogram {
        schema,
        zero_threshold: DEFAULT_ZERO_THRESHOLD,
        zero_count: zero,
        count,
        sum,
        positive_spans: spans(pos.0),
        positive_buckets: pos.1.to_vec(),
        negative_spans: spans(neg.0),
        negative_buckets: neg.1.to_vec(),
        ..Histogram::default()
    })
}

/// The created-timestamp zero in front of a histogram of `schema`.
fn zero_of(schema: i32, zero_threshold: f64, custom: &[f64]) -> HistogramValue {
    HistogramValue::Int(Histogram {
        counter_reset_hint: CounterResetHint::CounterReset,
        schema,
        zero_threshold,
        custom_values: custom.to_vec(),
        ..Histogram::default()
    })
}

impl Store {
    /// The histogram samples of series `k` as (t, value).
    fn hists(&self, k: &str) -> Vec<(i64, HistogramValue)> {
        self.histograms
            .lock()
            .get(k)
            .map(|v| v.iter().map(|s| (s.t, s.h.clone())).collect())
            .unwrap_or_default()
    }
}

#[test]
fn exponential_points_become_native_histograms_at_every_scale() {
    let body = request(
        &[("service.name", "api")],
        &[
            // Scale −4: OTLP bucket i is Prometheus bucket i+1; zero and negative buckets.
            exp_metric(
                "s_m4",
                2,
                &[exp_point(5, 10, -4, 4, (-1, &[2, 0, 3]), (0, &[1]), 7.5)],
            ),
            // Scale 0: a run of 3 empty buckets starts a new span.
            exp_metric(
                "s_0",
                2,
                &[exp_point(
                    5,
                    10,
                    0,
                    0,
                    (3, &[1, 0, 0, 0, 5]),
                    (0, &[]),
                    40.0,
                )],
            ),
            // Scale 8: 2 empty buckets are written as zeros.
            exp_metric(
                "s_8",
                2,
                &[exp_point(
                    5,
                    10,
                    8,
                    0,
                    (10, &[1, 2, 0, 0, 1]),
                    (0, &[]),
                    4.1,
                )],
            ),
            // Scale 10: merged down to 8, four OTLP buckets to one.
            exp_metric(
                "s_10",
                2,
                &[exp_point(
                    5,
                    10,
                    10,
                    0,
                    (5, &[1, 1, 1, 1, 1, 1, 1, 1]),
                    (-3, &[2, 2]),
                    9.0,
                )],
            ),
        ],
    );
    let s = Store::default();
    let o = send(&receiver(OtlpConfig::default()), &s, &body);
    assert_eq!(o.rejected_points, 0, "{}", o.error_message);
    assert_eq!(o.stats.accepted, 4);
    let want = [
        (
            "s_m4",
            native(-4, 4, 10, 7.5, (&[(0, 3)], &[2, -2, 3]), (&[(1, 1)], &[1])),
        ),
        (
            "s_0",
            native(0, 0, 6, 40.0, (&[(4, 1), (3, 1)], &[1, 4]), (&[], &[])),
        ),
        (
            "s_8",
            native(8, 0, 4, 4.1, (&[(11, 5)], &[1, 1, -2, 0, 1]), (&[], &[])),
        ),
        (
            "s_10",
            native(8, 0, 12, 9.0, (&[(2, 3)], &[3, 1, -3]), (&[(0, 1)], &[4])),
        ),
    ];
    for (name, h) in want {
        let got = s.hists(&format!("__name__={name},job=api"));
        let schema = h.schema();
        // The start time is a created-timestamp zero of the same schema before the sample.
        assert_eq!(
            got,
            [
                (5000, zero_of(schema, DEFAULT_ZERO_THRESHOLD, &[])),
                (10000, h)
            ],
            "{name}"
        );
    }
    // No classic series were made of them.
    assert!(s.names().is_empty(), "{:?}", s.names());
    // Metadata: histograms.
    assert!(o
        .metadata
        .iter()
        .any(|(n, m)| n == "s_10" && m.kind.as_str() == "histogram"));
}

#[test]
fn protobuf_and_json_store_the_same_histograms() {
    let body = request(
        &[],
        &[exp_metric(
            "lat",
            2,
            &[exp_point(0, 10, 3, 2, (-2, &[1, 4, 0, 2]), (1, &[3]), 1.25)],
        )],
    );
    let from_json = Store::default();
    send(&Receiver::default(), &from_json, &body);
    let proto = crate::otlp::json::decode(body.as_bytes())
        .unwrap()
        .encode_to_vec();
    let from_proto = Store::default();
    let o = Receiver::default()
        .receive(
            &from_proto,
            &proto,
            false,
            &crate::model::LabelLimits::default(),
        )
        .unwrap();
    assert_eq!(o.stats.accepted, 1);
    let got = from_proto.hists("__name__=lat");
    assert_eq!(got, from_json.hists("__name__=lat"));
    assert_eq!(
        got,
        [(
            10000,
            native(
                3,
                2,
                12,
                1.25,
                (&[(-1, 4)], &[1, 3, -4, 2]),
                (&[(2, 1)], &[3])
            )
        )]
    );
}

#[test]
fn no_recorded_value_is_a_histogram_stale_marker_without_a_zero() {
    let stale = exp_point(5, 20, 0, 0, (0, &[1]), (0, &[]), 1.0).replacen('{', r#"{"flags":1,"#, 1);
    let body = request(
        &[],
        &[exp_metric(
            "x",
            2,
            &[exp_point(5, 10, 0, 0, (0, &[1]), (0, &[]), 1.0), stale],
        )],
    );
    let s = Store::default();
    let o = send(&Receiver::default(), &s, &body);
    assert_eq!(o.rejected_points, 0, "{}", o.error_message);
    let got = s.hists("__name__=x");
    assert_eq!(got.len(), 3, "zero, sample, stale marker: {got:?}");
    assert!(!got[1].1.is_stale());
    assert_eq!(got[2].0, 20000);
    assert!(got[2].1.is_stale(), "{:?}", got[2].1);
}

#[test]
fn exemplars_go_to_the_histogram_series() {
    let trace = "5b8efff798038103d269b633813fc60c";
    let ex = format!(
        r#""exemplars":[{{"timeUnixNano":"9000000000","asDouble":0.7,"traceId":"{trace}","filteredAttributes":[{}]}}],"#,
        attrs(&[("user", "u1")])
    );
    let p = exp_point(0, 10, 0, 0, (0, &[1]), (0, &[]), 0.7).replacen('{', &format!("{{{ex}"), 1);
    let s = Store::default();
    send(
        &Receiver::default(),
        &s,
        &request(&[], &[exp_metric("e", 2, &[p])]),
    );
    let ex = s.exemplars.lock();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].0, "__name__=e");
    assert_eq!(ex[0].1.value, 0.7);
    assert_eq!(ex[0].1.labels.get("trace_id"), Some(trace));
    assert_eq!(ex[0].1.labels.get("user"), Some("u1"));
}

#[test]
fn invalid_points_are_refused_naming_series_and_rule_and_the_rest_is_stored() {
    let mut bad_count = exp_point(0, 20, 0, 0, (0, &[1, 1]), (0, &[]), 1.0);
    bad_count = bad_count.replacen(r#""count":"2""#, r#""count":"5""#, 1);
    let body = request(
        &[("service.name", "api")],
        &[
            exp_metric(
                "h",
                2,
                &[
                    exp_point(0, 10, 0, 0, (0, &[1]), (0, &[]), 1.0),
                    bad_count,
                    exp_point(0, 30, -5, 0, (0, &[1]), (0, &[]), 1.0),
                ],
            ),
            // A zero count with a sum is stored, with Prometheus's warning.
            exp_metric("w", 2, &[exp_point(0, 10, 0, 0, (0, &[]), (0, &[]), 3.0)]),
        ],
    );
    let s = Store::default();
    let o = send(&Receiver::default(), &s, &body);
    assert_eq!(o.rejected_points, 2, "{}", o.error_message);
    for want in [
        r#"metric "h" series h{job="api"}: 2 observations found in buckets, but the Count field is 5: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN); data point refused"#,
        r#"metric "h" series h{job="api"}: cannot convert exponential to native histogram. Scale must be >= -4, was -5; data point refused"#,
        r#"metric "w" series w{job="api"}: exponential histogram data point has zero count, but non-zero sum: 3.000000"#,
    ] {
        assert!(
            o.error_message.contains(want),
            "{:?} lacks {want:?}",
            o.error_message
        );
    }
    assert_eq!(s.hists("__name__=h,job=api").len(), 1);
    assert_eq!(s.hists("__name__=w,job=api").len(), 1);
}

#[test]
fn delta_exponential_histograms_are_summed_into_cumulative_ones() {
    let r = receiver(OtlpConfig::default());
    let s = Store::default();
    for p in [
        exp_point(100, 110, 1, 1, (0, &[1, 1]), (0, &[]), 3.0),
        // A coarser scale: the total so far is merged down to scale 0.
        exp_point(110, 120, 0, 0, (0, &[2]), (0, &[]), 2.0),
        exp_point(120, 130, 0, 0, (0, &[]), (-2, &[1]), -0.5),
    ] {
        let o = send(&r, &s, &request(&[], &[exp_metric("d", 1, &[p])]));
        assert_eq!(o.rejected_points, 0, "{}", o.error_message);
        assert_eq!(o.stats.rejected(), 0);
    }
    assert_eq!(
        s.hists("__name__=d"),
        [
            (100_000, zero_of(1, DEFAULT_ZERO_THRESHOLD, &[])),
            (
                110_000,
                native(1, 1, 3, 3.0, (&[(1, 2)], &[1, 0]), (&[], &[]))
            ),
            (120_000, native(0, 1, 5, 5.0, (&[(1, 1)], &[4]), (&[], &[]))),
            (
                130_000,
                native(0, 1, 6, 4.5, (&[(1, 1)], &[4]), (&[(-1, 1)], &[1]))
            ),
        ]
    );
    assert_eq!(r.delta_streams(), 1);
    // An out-of-order delta point is refused, as for sums.
    let o = send(
        &r,
        &s,
        &request(
            &[],
            &[exp_metric(
                "d",
                1,
                &[exp_point(120, 125, 0, 0, (0, &[1]), (0, &[]), 1.0)],
            )],
        ),
    );
    assert_eq!(o.rejected_points, 1);
    assert!(o.error_message.contains("out-of-order delta point"));
    // Without the conversion, delta exponential histograms are refused naming the metric.
    let off = receiver(OtlpConfig {
        convert_delta_to_cumulative: false,
        ..OtlpConfig::default()
    });
    let o = send(
        &off,
        &Store::default(),
        &request(
            &[],
            &[exp_metric(
                "d",
                1,
                &[exp_point(0, 5, 0, 0, (0, &[1]), (0, &[]), 1.0)],
            )],
        ),
    );
    assert_eq!(o.rejected_points, 1);
    assert!(
        o.error_message
            .contains("metric \"d\" has delta temporality"),
        "{}",
        o.error_message
    );
}

#[test]
fn wide_delta_sums_are_merged_down_to_160_buckets() {
    let r = receiver(OtlpConfig::default());
    let s = Store::default();
    // Two points at scale 4, 300 buckets apart: the sum would span 301 buckets at scale 4,
    // 151 at scale 3.
    for (start, t, offset) in [(0, 10, 0), (10, 20, 300)] {
        let p = exp_point(start, t, 4, 0, (offset, &[1]), (0, &[]), 1.0);
        let o = send(&r, &s, &request(&[], &[exp_metric("wide", 1, &[p])]));
        assert_eq!(o.rejected_points, 0, "{}", o.error_message);
    }
    let got = s.hists("__name__=wide");
    let last = &got.last().unwrap().1;
    // OTLP 0 and 300 at scale 3: 0 and 150, Prometheus buckets 1 and 151.
    assert_eq!(
        *last,
        native(3, 0, 2, 2.0, (&[(1, 1), (149, 1)], &[1, 0]), (&[], &[]))
    );
}

#[test]
fn explicit_histograms_become_nhcb_with_convert_histograms_to_nhcb() {
    let cfg = OtlpConfig {
        convert_histograms_to_nhcb: true,
        ..OtlpConfig::default()
    };
    let r = receiver(cfg.clone());
    let s = Store::default();
    let bounds = [0.1, 1.0, 10.0];
    let o = send(
        &r,
        &s,
        &request(
            &[],
            &[histogram(
                "lat",
                2,
                &[histogram_point(5, 10, &bounds, &[0, 2, 0, 3], 7.0)],
            )],
        ),
    );
    assert_eq!(o.rejected_points, 0, "{}", o.error_message);
    let nhcb = |count: u64, sum: f64, deltas: &[i64]| {
        HistogramValue::Int(Histogram {
            schema: -53,
            count,
            sum,
            positive_spans: spans(&[(1, 3)]),
            positive_buckets: deltas.to_vec(),
            custom_values: bounds.to_vec(),
            ..Histogram::default()
        })
    };
    assert_eq!(
        s.hists("__name__=lat"),
        [
            (5000, zero_of(-53, 0.0, &bounds)),
            (10000, nhcb(5, 7.0, &[2, -2, 3]))
        ]
    );
    assert!(
        s.names().iter().all(|n| !n.contains("lat")),
        "no classic series: {:?}",
        s.names()
    );
    // Delta explicit histograms are summed up before they become NHCB.
    let s = Store::default();
    for (start, t, counts) in [(100, 110, [0, 1, 0, 1]), (110, 120, [0, 1, 0, 2])] {
        let p = histogram_point(start, t, &bounds, &counts, 1.0);
        let o = send(&r, &s, &request(&[], &[histogram("dl", 1, &[p])]));
        assert_eq!(o.rejected_points, 0, "{}", o.error_message);
    }
    let got = s.hists("__name__=dl");
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[2], (120_000, nhcb(5, 2.0, &[2, -2, 3])));
    // Without the setting, classic series as before.
    let s = Store::default();
    send(
        &receiver(OtlpConfig::default()),
        &s,
        &request(
            &[],
            &[histogram(
                "lat",
                2,
                &[histogram_point(5, 10, &bounds, &[0, 2, 0, 3], 7.0)],
            )],
        ),
    );
    assert!(s.hists("__name__=lat").is_empty());
    assert!(s
        .names()
        .iter()
        .any(|n| n.starts_with("__name__=lat_bucket")));
}
