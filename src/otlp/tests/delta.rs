//! Delta temporality summed up across requests (or refused), start timestamps kept as
//! created-timestamp zeros, and a series twice at one timestamp in one request.

use std::time::{Duration, Instant};

use super::{
    counter, gauge, histogram, histogram_point, number_point, receiver, request, send, Store,
};
use crate::config::OtlpConfig;
use crate::model::LabelLimits;
use crate::otlp::Receiver;

const C: &str = "__name__=c_total";

fn delta_counter(start_s: u64, t_s: u64, v: f64) -> String {
    request(
        &[],
        &[counter("c", 1, &[number_point(start_s, t_s, v, &[])])],
    )
}

#[test]
fn delta_sums_become_cumulative_across_requests() {
    let r = receiver(OtlpConfig::default());
    let s = Store::default();
    for (start, t, v) in [(100, 110, 5.0), (110, 120, 3.0), (120, 130, 2.0)] {
        let o = send(&r, &s, &delta_counter(start, t, v));
        assert_eq!(o.rejected_points, 0, "{}", o.error_message);
        assert_eq!(o.stats.rejected(), 0);
    }
    // The stream's start is the created timestamp: a zero before the first total.
    assert_eq!(s.get(C), ["0@100000", "5@110000", "8@120000", "10@130000"]);
    assert_eq!(r.delta_streams(), 1);
    // A point not newer than the last one added, and one starting before the stream: refused.
    let o = send(&r, &s, &delta_counter(120, 125, 1.0));
    assert_eq!(o.rejected_points, 1);
    assert!(
        o.error_message.contains("out-of-order delta point"),
        "{}",
        o.error_message
    );
    assert!(
        o.error_message.contains("c_total{}"),
        "names the series: {}",
        o.error_message
    );
    let o = send(&r, &s, &delta_counter(50, 140, 1.0));
    assert_eq!(o.rejected_points, 1);
    assert!(
        o.error_message.contains("older than its stream's start"),
        "{}",
        o.error_message
    );
    // Neither changed the total.
    send(&r, &s, &delta_counter(130, 150, 1.0));
    assert_eq!(s.get(C).last().unwrap(), "11@150000");
}

#[test]
fn delta_streams_are_per_series_and_forgotten_when_stale() {
    let r = receiver(OtlpConfig::default());
    let s = Store::default();
    let two = |t: u64, a: f64, b: f64| {
        request(
            &[],
            &[counter(
                "c",
                1,
                &[
                    number_point(t - 10, t, a, &[("k", "a")]),
                    number_point(t - 10, t, b, &[("k", "b")]),
                ],
            )],
        )
    };
    let now = Instant::now();
    let at = |body: &str, when: Instant| {
        let req = crate::otlp::decode(body.as_bytes(), true).unwrap();
        r.store_at(&s, &req, &LabelLimits::default(), when).unwrap()
    };
    at(&two(100, 1.0, 10.0), now);
    at(&two(110, 1.0, 10.0), now + Duration::from_secs(60));
    assert_eq!(
        s.get("__name__=c_total,k=a"),
        ["0@90000", "1@100000", "2@110000"]
    );
    assert_eq!(
        s.get("__name__=c_total,k=b"),
        ["0@90000", "10@100000", "20@110000"]
    );
    assert_eq!(r.delta_streams(), 2);
    // Six minutes later both streams have gone stale: the total starts over (a reset).
    at(&two(500, 1.0, 10.0), now + Duration::from_secs(60 + 360));
    assert_eq!(r.delta_streams(), 2);
    assert_eq!(
        s.get("__name__=c_total,k=a"),
        ["0@90000", "1@100000", "2@110000", "0@490000", "1@500000"]
    );
}

#[test]
fn delta_histograms_add_up_bucket_by_bucket() {
    let r = receiver(OtlpConfig::default());
    let s = Store::default();
    let send_h = |start, t, bounds: &[f64], counts: &[u64], sum| {
        send(
            &r,
            &s,
            &request(
                &[],
                &[histogram(
                    "h",
                    1,
                    &[histogram_point(start, t, bounds, counts, sum)],
                )],
            ),
        )
    };
    send_h(100, 110, &[1.0], &[1, 2], 3.0);
    let o = send_h(110, 120, &[1.0], &[0, 1], 4.0);
    assert_eq!(o.rejected_points, 0, "{}", o.error_message);
    assert_eq!(
        s.get("__name__=h_bucket,le=1"),
        ["0@100000", "1@110000", "1@120000"]
    );
    assert_eq!(
        s.get("__name__=h_bucket,le=+Inf"),
        ["0@100000", "3@110000", "4@120000"]
    );
    assert_eq!(
        s.get("__name__=h_sum"),
        ["0@100000", "3@110000", "7@120000"]
    );
    assert_eq!(
        s.get("__name__=h_count"),
        ["0@100000", "3@110000", "4@120000"]
    );
    // New bucket bounds: the stream starts over from that point.
    send_h(120, 130, &[2.0], &[1, 0], 1.0);
    assert_eq!(s.get("__name__=h_count").last().unwrap(), "1@130000");
    assert_eq!(s.get("__name__=h_bucket,le=2"), ["0@120000", "1@130000"]);
}

#[test]
fn delta_is_refused_by_name_when_conversion_is_off_and_the_rest_is_stored() {
    let cfg = OtlpConfig {
        convert_delta_to_cumulative: false,
        ..OtlpConfig::default()
    };
    let r = receiver(cfg);
    let s = Store::default();
    let body = request(
        &[],
        &[
            counter(
                "orders",
                1,
                &[number_point(0, 10, 1.0, &[]), number_point(0, 20, 1.0, &[])],
            ),
            gauge("g", &[number_point(0, 10, 1.0, &[])]),
        ],
    );
    let o = send(&r, &s, &body);
    assert_eq!(o.rejected_points, 2);
    assert!(
        o.error_message
            .contains("metric \"orders\" has delta temporality")
            && o.error_message.contains("convert_delta_to_cumulative"),
        "{}",
        o.error_message
    );
    assert_eq!(s.names(), ["__name__=g"]);
    assert_eq!(r.delta_streams(), 0);
}

#[test]
fn start_times_become_created_timestamp_zeros_that_never_count_as_rejections() {
    let r = receiver(OtlpConfig::default());
    let s = Store::default();
    let cum = |start, t, v| request(&[], &[counter("c", 2, &[number_point(start, t, v, &[])])]);
    send(&r, &s, &cum(100, 110, 5.0));
    // The same start again: its zero lands behind stored data and is dropped silently.
    let o = send(&r, &s, &cum(100, 120, 7.0));
    assert_eq!(o.stats.rejected(), 0);
    assert_eq!(o.stats.accepted, 1);
    // A reset: a new start after the last sample.
    let o = send(&r, &s, &cum(125, 130, 1.0));
    assert_eq!(o.stats.rejected(), 0);
    assert_eq!(
        s.get(C),
        ["0@100000", "5@110000", "7@120000", "0@125000", "1@130000"]
    );
    // Two points of one series in one request with a reset between them.
    let s = Store::default();
    let body = request(
        &[],
        &[counter(
            "c",
            2,
            &[
                number_point(100, 110, 5.0, &[]),
                number_point(115, 120, 1.0, &[]),
            ],
        )],
    );
    send(&r, &s, &body);
    assert_eq!(s.get(C), ["0@100000", "5@110000", "0@115000", "1@120000"]);
    // A start equal to the time, or unset, adds nothing; gauges never get zeros.
    let s = Store::default();
    send(&r, &s, &cum(110, 110, 5.0));
    send(&r, &s, &cum(0, 120, 6.0));
    send(
        &r,
        &s,
        &request(&[], &[gauge("g", &[number_point(100, 110, 5.0, &[])])]),
    );
    assert_eq!(s.get(C), ["5@110000", "6@120000"]);
    assert_eq!(s.get("__name__=g"), ["5@110000"]);
}

#[test]
fn histograms_and_summaries_get_zeros_on_their_counting_series() {
    let r = receiver(OtlpConfig::default());
    let s = Store::default();
    let summary = r#"{"name":"rpc","summary":{"dataPoints":[{"startTimeUnixNano":"100000000000","timeUnixNano":"110000000000","count":"4","sum":10,
      "quantileValues":[{"quantile":0.5,"value":2}]}]}}"#;
    let body = request(
        &[],
        &[
            histogram("h", 2, &[histogram_point(100, 110, &[1.0], &[1, 2], 3.0)]),
            summary.to_string(),
        ],
    );
    let o = send(&r, &s, &body);
    assert_eq!(o.stats.accepted, 4 + 3);
    for series in [
        "__name__=h_bucket,le=1",
        "__name__=h_bucket,le=+Inf",
        "__name__=h_sum",
        "__name__=h_count",
        "__name__=rpc_sum",
        "__name__=rpc_count",
    ] {
        assert_eq!(s.get(series)[0], "0@100000", "{series}");
    }
    assert_eq!(s.get("__name__=rpc,quantile=0.5"), ["2@110000"]);
}

#[test]
fn a_series_twice_at_one_timestamp_is_refused_by_name_and_the_rest_stored() {
    let r = Receiver::default();
    let s = Store::default();
    let body = request(
        &[("service.name", "api")],
        &[
            gauge(
                "g",
                &[
                    number_point(0, 10, 1.0, &[("k", "v")]),
                    number_point(0, 10, 2.0, &[("k", "v")]),
                ],
            ),
            gauge("other", &[number_point(0, 10, 3.0, &[])]),
        ],
    );
    let o = send(&r, &s, &body);
    assert_eq!(o.rejected_points, 1);
    assert!(
        o.error_message
            .contains(r#"duplicate sample for series g{job="api", k="v"} at timestamp 10000"#),
        "{}",
        o.error_message
    );
    assert_eq!(s.get("__name__=g,job=api,k=v"), ["1@10000"]);
    assert_eq!(s.get("__name__=other,job=api"), ["3@10000"]);
    // Two resources of one identity: their identical target_info is no duplicate.
    let one = request(
        &[("service.name", "api"), ("host.name", "h")],
        &[gauge("a", &[number_point(0, 10, 1.0, &[])])],
    );
    let two = one.replacen(r#"{"resourceMetrics":["#, "", 1);
    let body = format!(r#"{{"resourceMetrics":[{}, {}"#, &two[..two.len() - 2], two);
    let o = send(
        &r,
        &Store::default(),
        &body.replacen("\"name\":\"a\"", "\"name\":\"b\"", 1),
    );
    assert_eq!(o.rejected_points, 0, "{}", o.error_message);
}

#[test]
fn a_refused_delta_request_leaves_the_totals_so_its_retry_counts_once() {
    let r = receiver(OtlpConfig::default());
    let s = Store::default();
    send(&r, &s, &delta_counter(100, 110, 5.0));
    // Refused whole: `__name__` is longer than the limit.
    let strict = LabelLimits {
        max_labels: 0,
        max_name_len: 5,
        max_value_len: 0,
    };
    let body = delta_counter(110, 120, 3.0);
    let req = crate::otlp::decode(body.as_bytes(), true).unwrap();
    assert!(r.store(&s, &req, &strict).is_err(), "over the label limit");
    // The client sends it again: the refused attempt did not move the total.
    send(&r, &s, &body);
    assert_eq!(s.get(C), ["0@100000", "5@110000", "8@120000"]);
}

#[test]
fn exponential_totals_merge_down_to_the_coarser_scale_with_negative_indexes() {
    use crate::otlp::delta::{DeltaState, ExpBuckets, Exponential, Total};
    let exp = |scale, offset, counts: &[u64]| {
        Total::Exponential(Exponential {
            scale,
            zero_count: 1,
            positive: ExpBuckets {
                offset,
                counts: counts.to_vec(),
            },
            negative: ExpBuckets::default(),
            count: 1 + counts.iter().sum::<u64>(),
            sum: Some(1.0),
        })
    };
    let mut st = DeltaState::default();
    let key = vec![("__name__".to_string(), "e".to_string())];
    let now = Instant::now();
    st.add(&key, 0, 10, exp(2, -3, &[1, 2, 3]), now).unwrap();
    // Scale 2 → 1: index i goes to floor(i / 2): −3 → −2, −2 and −1 → −1.
    let (start, total) = st.add(&key, 10, 20, exp(1, -1, &[5]), now).unwrap();
    assert_eq!(start, 0);
    assert_eq!(
        total,
        Total::Exponential(Exponential {
            scale: 1,
            zero_count: 2,
            positive: ExpBuckets {
                offset: -2,
                counts: vec![1, 10],
            },
            negative: ExpBuckets::default(),
            count: 13,
            sum: Some(2.0),
        })
    );
    // A finer point later is merged down to the total's scale.
    let (_, total) = st.add(&key, 20, 30, exp(3, 4, &[1, 1]), now).unwrap();
    let Total::Exponential(x) = total else {
        panic!("an exponential total")
    };
    // Scale 3 index 4 and 5 → scale 1 index 1.
    assert_eq!((x.scale, x.positive.offset), (1, -2));
    assert_eq!(x.positive.counts, vec![1, 10, 0, 2]);
}
