//! OTLP translation tests: JSON and protobuf requests, the default translation, and
//! refusals of whole requests. The other behaviours have their own files under `tests/`:
//! `names` (names per strategy), `translate` (promotion, scope, target_info, partial success,
//! exemplars, metadata), `delta` (delta conversion, created timestamps, duplicates),
//! `native` (exponential and NHCB histograms as native histogram samples).

use super::*;
use crate::model::{HistogramSample, Sample};
use crate::storage::SeriesInput;
use parking_lot::Mutex;

/// The default receiver's answer, as stats and metadata.
fn receive(
    a: &dyn Appender,
    body: &[u8],
    json: bool,
) -> Result<(AppendStats, MetadataList), OtlpError> {
    let o = Receiver::default().receive(a, body, json, &crate::model::LabelLimits::default())?;
    Ok((o.stats, o.metadata))
}

#[derive(Default)]
pub(super) struct Rec(pub(super) Mutex<Vec<(String, Vec<Sample>)>>);

impl Appender for Rec {
    fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
        let mut st = AppendStats::default();
        for s in batch {
            st.accepted += s.samples.len() as u64;
            let l: Vec<String> = s.labels.iter().map(|(a, b)| format!("{a}={b}")).collect();
            self.0.lock().push((l.join(","), s.samples.clone()));
        }
        Ok(st)
    }
}

pub(super) const JSON: &str = r#"{"resourceMetrics":[{"resource":{"attributes":[
  {"key":"service.name","value":{"stringValue":"checkout"}},
  {"key":"service.namespace","value":{"stringValue":"shop"}},
  {"key":"service.instance.id","value":{"stringValue":"pod-1"}},
  {"key":"host.name","value":{"stringValue":"node-7"}}]},
 "scopeMetrics":[{"metrics":[
  {"name":"orders","description":"Orders placed","unit":"{order}","sum":{"aggregationTemporality":2,"isMonotonic":true,
    "dataPoints":[{"attributes":[{"key":"region","value":{"stringValue":"eu"}}],"timeUnixNano":"1700000000000000000","asInt":"42"}]}},
  {"name":"queue.depth","gauge":{"dataPoints":[{"timeUnixNano":"1700000000000000000","asDouble":3.5}]}},
  {"name":"latency","unit":"s","histogram":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE",
    "dataPoints":[{"timeUnixNano":"1700000000000000000","count":"6","sum":2.5,"bucketCounts":["1","2","3"],"explicitBounds":[0.1,1]}]}},
  {"name":"rpc","unit":"ms","summary":{"dataPoints":[{"timeUnixNano":"1700000000000000000","count":"4","sum":10,
    "quantileValues":[{"quantile":0.5,"value":2},{"quantile":0.99,"value":9}]}]}}
 ]}]}]}"#;

#[test]
fn json_requests_become_prometheus_series() {
    let r = Rec::default();
    let (_, md) = receive(&r, JSON.as_bytes(), true).unwrap();
    let md: Vec<String> = md
        .iter()
        .map(|(n, m)| format!("{n} {} {:?} {}", m.kind.as_str(), m.help, m.unit))
        .collect();
    assert_eq!(
        md,
        [
            "orders_total counter \"Orders placed\" {order}",
            "queue_depth gauge \"\" ",
            "latency_seconds histogram \"\" s",
            "rpc_milliseconds summary \"\" ms",
        ]
    );
    let mut got: Vec<String> =
        r.0.lock()
            .iter()
            .map(|(l, s)| format!("{l} {}@{}", s[0].v, s[0].t))
            .collect();
    // The order of series within one append is not part of the contract.
    got.sort();
    let want = [
        "__name__=latency_seconds_bucket,instance=pod-1,job=shop/checkout,le=+Inf 6@1700000000000",
        "__name__=latency_seconds_bucket,instance=pod-1,job=shop/checkout,le=0.1 1@1700000000000",
        "__name__=latency_seconds_bucket,instance=pod-1,job=shop/checkout,le=1 3@1700000000000",
        "__name__=latency_seconds_count,instance=pod-1,job=shop/checkout 6@1700000000000",
        "__name__=latency_seconds_sum,instance=pod-1,job=shop/checkout 2.5@1700000000000",
        "__name__=orders_total,instance=pod-1,job=shop/checkout,region=eu 42@1700000000000",
        "__name__=queue_depth,instance=pod-1,job=shop/checkout 3.5@1700000000000",
        "__name__=rpc_milliseconds,instance=pod-1,job=shop/checkout,quantile=0.5 2@1700000000000",
        "__name__=rpc_milliseconds,instance=pod-1,job=shop/checkout,quantile=0.99 9@1700000000000",
        "__name__=rpc_milliseconds_count,instance=pod-1,job=shop/checkout 4@1700000000000",
        "__name__=rpc_milliseconds_sum,instance=pod-1,job=shop/checkout 10@1700000000000",
        "__name__=target_info,host_name=node-7,instance=pod-1,job=shop/checkout 1@1700000000000",
    ];
    assert_eq!(got, want);
}

#[test]
fn garbage_is_refused_with_the_reason() {
    let r = Rec::default();
    assert!(receive(&r, b"{not json", true)
        .unwrap_err()
        .to_string()
        .contains("invalid OTLP JSON"));
    assert!(receive(&r, b"\x0a\xff\xff", false)
        .unwrap_err()
        .to_string()
        .contains("invalid OTLP protobuf"));
    assert!(r.0.lock().is_empty(), "nothing stored");
}

#[test]
fn series_over_the_label_limits_refuse_the_request() {
    let r = Rec::default();
    let limits = crate::model::LabelLimits {
        max_labels: 3,
        max_name_len: 1024,
        max_value_len: 4096,
    };
    let e = Receiver::default()
        .receive(&r, JSON.as_bytes(), true, &limits)
        .unwrap_err();
    assert!(e.to_string().contains("has 4 labels"), "{e}");
    assert!(r.0.lock().is_empty(), "nothing stored");
}

#[test]
fn json_fields_of_the_wrong_type_are_refused_with_their_path() {
    let cases = [
        (
            r#""asDouble":3.5"#,
            r#""asDouble":"lots""#,
            "resourceMetrics[0].scopeMetrics[0].metrics[1].gauge.dataPoints[0].asDouble must be a number, got \"lots\"",
        ),
        (
            r#""asInt":"42""#,
            r#""asInt":"4.2e1x""#,
            "metrics[0].sum.dataPoints[0].asInt must be an integer",
        ),
        (
            r#""timeUnixNano":"1700000000000000000","asDouble":3.5"#,
            r#""timeUnixNano":-5,"asDouble":3.5"#,
            "metrics[1].gauge.dataPoints[0].timeUnixNano must be an unsigned integer, got -5",
        ),
        (
            r#""bucketCounts":["1","2","3"]"#,
            r#""bucketCounts":"1,2,3""#,
            "histogram.dataPoints[0].bucketCounts must be an array",
        ),
        (
            r#""aggregationTemporality":2"#,
            r#""aggregationTemporality":"SOMETIMES""#,
            "sum.aggregationTemporality must be an aggregation temporality",
        ),
        (
            r#"{"stringValue":"eu"}"#,
            r#"{"stringValue":7}"#,
            "dataPoints[0].attributes[0].value.stringValue must be a string, got 7",
        ),
    ];
    for (from, to, want) in cases {
        assert!(JSON.contains(from), "{from}");
        let bad = JSON.replacen(from, to, 1);
        let r = Rec::default();
        let e = receive(&r, bad.as_bytes(), true).unwrap_err().to_string();
        assert!(e.contains(want), "{e:?} lacks {want:?}");
        assert!(r.0.lock().is_empty(), "nothing stored for {to}");
    }
    // The wrong shape at the top.
    let r = Rec::default();
    for (body, want) in [
        (
            r#"{"resourceMetrics":"nope"}"#,
            "resourceMetrics must be an array",
        ),
        ("[1]", "the request must be an object"),
        (
            r#"{"resourceMetrics":[{"resource":5}]}"#,
            "resourceMetrics[0].resource must be an object",
        ),
    ] {
        let e = receive(&r, body.as_bytes(), true).unwrap_err().to_string();
        assert!(e.contains(want), "{e:?} lacks {want:?}");
    }
    // Proto3 JSON spellings of special doubles are accepted; unknown fields are ignored.
    let special = JSON.replacen(
        r#""asDouble":3.5"#,
        r#""asDouble":"NaN","futureField":{"x":1}"#,
        1,
    );
    receive(&r, special.as_bytes(), true).unwrap();
    assert!(r
        .0
        .lock()
        .iter()
        .any(|(l, s)| l.contains("queue_depth") && s.iter().any(|x| x.v.is_nan())));
}

#[test]
fn protobuf_requests_become_the_same_series_as_json() {
    use prost::Message;
    let from_json = Rec::default();
    receive(&from_json, JSON.as_bytes(), true).unwrap();
    // The same request as protobuf (the crate's types encode it).
    let body = json::decode(JSON.as_bytes()).unwrap().encode_to_vec();
    let from_proto = Rec::default();
    let (stats, md) = receive(&from_proto, &body, false).unwrap();
    assert_eq!(stats.accepted, 12);
    assert_eq!(md.len(), 4);
    assert_eq!(*from_proto.0.lock(), *from_json.0.lock());
    // Invalid UTF-8 in a string is refused, naming protobuf.
    let mut bad = body.clone();
    let i = body.windows(4).position(|w| w == b"shop").unwrap();
    bad[i] = 0xff;
    let e = receive(&Rec::default(), &bad, false).unwrap_err();
    assert!(e.to_string().contains("invalid OTLP protobuf"), "{e}");
}

mod delta;
mod names;
mod native;
mod translate;

/// A store that behaves as the TSDB does for one writer: per series, a sample older than
/// the newest is out of order, one at the newest time with another value a duplicate, with
/// the same value a repeat; exemplars are recorded.
#[derive(Default)]
pub(super) struct Store {
    pub(super) series: Mutex<std::collections::BTreeMap<String, Vec<Sample>>>,
    pub(super) histograms: Mutex<std::collections::BTreeMap<String, Vec<HistogramSample>>>,
    pub(super) exemplars: Mutex<Vec<(String, crate::storage::Exemplar)>>,
}

/// Series labels as `a=x,b=y`.
pub(super) fn key(l: &[(&str, &str)]) -> String {
    l.iter()
        .map(|(a, b)| format!("{a}={b}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl Appender for Store {
    fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
        let mut st = AppendStats::default();
        let mut series = self.series.lock();
        for s in batch {
            let k = key(&s.labels);
            if !series.contains_key(&k) {
                st.new_series += 1;
            }
            let v = series.entry(k).or_default();
            for x in &s.samples {
                match v.last() {
                    Some(l) if x.t < l.t => st.out_of_order += 1,
                    Some(l) if x.t == l.t && x.v.to_bits() == l.v.to_bits() => st.repeated += 1,
                    Some(l) if x.t == l.t => st.duplicate += 1,
                    _ => {
                        v.push(*x);
                        st.accepted += 1;
                    }
                }
            }
        }
        Ok(st)
    }

    fn append_histograms(
        &self,
        batch: &[crate::storage::HistogramInput<'_>],
    ) -> Result<AppendStats, StorageError> {
        let mut st = AppendStats::default();
        let mut series = self.histograms.lock();
        for s in batch {
            let k = key(&s.labels);
            if !series.contains_key(&k) {
                st.new_series += 1;
            }
            let v = series.entry(k).or_default();
            for x in &s.histograms {
                if x.h.validate().is_err() {
                    st.invalid += 1;
                    continue;
                }
                match v.last() {
                    Some(l) if x.t < l.t => st.out_of_order += 1,
                    Some(l) if x.t == l.t && x.h.same_bits(&l.h) => st.repeated += 1,
                    Some(l) if x.t == l.t => st.duplicate += 1,
                    _ => {
                        v.push(x.clone());
                        st.accepted += 1;
                    }
                }
            }
        }
        Ok(st)
    }

    fn append_exemplars(
        &self,
        batch: &[crate::storage::ExemplarInput<'_>],
    ) -> Result<crate::storage::ExemplarStats, StorageError> {
        let mut st = crate::storage::ExemplarStats::default();
        for s in batch {
            for e in &s.exemplars {
                self.exemplars.lock().push((key(&s.series), e.clone()));
                st.accepted += 1;
            }
        }
        Ok(st)
    }
}

impl Store {
    /// The samples of the series whose `a=x,...` text is `k`, as `v@t`.
    pub(super) fn get(&self, k: &str) -> Vec<String> {
        self.series
            .lock()
            .get(k)
            .map(|v| v.iter().map(|s| format!("{}@{}", s.v, s.t)).collect())
            .unwrap_or_default()
    }

    pub(super) fn names(&self) -> Vec<String> {
        self.series.lock().keys().cloned().collect()
    }
}

/// A receiver with `cfg`.
pub(super) fn receiver(cfg: crate::config::OtlpConfig) -> Receiver {
    Receiver::new(cfg)
}

/// Sends an OTLP/JSON request.
pub(super) fn send(r: &Receiver, a: &dyn Appender, body: &str) -> Outcome {
    r.receive(
        a,
        body.as_bytes(),
        true,
        &crate::model::LabelLimits::default(),
    )
    .unwrap()
}

/// A request of one resource (attributes as `k=v` pairs) and one scope of metrics.
pub(super) fn request(resource: &[(&str, &str)], metrics: &[String]) -> String {
    format!(
        r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{}]}},"scopeMetrics":[{{"metrics":[{}]}}]}}]}}"#,
        attrs(resource),
        metrics.join(",")
    )
}

/// String attributes in OTLP/JSON.
pub(super) fn attrs(kv: &[(&str, &str)]) -> String {
    kv.iter()
        .map(|(k, v)| format!(r#"{{"key":"{k}","value":{{"stringValue":"{v}"}}}}"#))
        .collect::<Vec<_>>()
        .join(",")
}

/// A number point: start and time in seconds, the value, string attributes.
pub(super) fn number_point(start_s: u64, t_s: u64, v: f64, a: &[(&str, &str)]) -> String {
    format!(
        r#"{{"attributes":[{}],"startTimeUnixNano":"{}","timeUnixNano":"{}","asDouble":{v}}}"#,
        attrs(a),
        start_s * 1_000_000_000,
        t_s * 1_000_000_000
    )
}

pub(super) fn gauge(name: &str, points: &[String]) -> String {
    format!(
        r#"{{"name":"{name}","gauge":{{"dataPoints":[{}]}}}}"#,
        points.join(",")
    )
}

/// A monotonic sum of the given temporality (1 delta, 2 cumulative).
pub(super) fn counter(name: &str, temporality: u8, points: &[String]) -> String {
    format!(
        r#"{{"name":"{name}","sum":{{"aggregationTemporality":{temporality},"isMonotonic":true,"dataPoints":[{}]}}}}"#,
        points.join(",")
    )
}

/// A histogram point: start and time in seconds, bounds, bucket counts, sum.
pub(super) fn histogram_point(
    start_s: u64,
    t_s: u64,
    bounds: &[f64],
    counts: &[u64],
    sum: f64,
) -> String {
    let count: u64 = counts.iter().sum();
    format!(
        r#"{{"startTimeUnixNano":"{}","timeUnixNano":"{}","count":"{count}","sum":{sum},"bucketCounts":{counts:?},"explicitBounds":{bounds:?}}}"#,
        start_s * 1_000_000_000,
        t_s * 1_000_000_000
    )
}

pub(super) fn histogram(name: &str, temporality: u8, points: &[String]) -> String {
    format!(
        r#"{{"name":"{name}","histogram":{{"aggregationTemporality":{temporality},"dataPoints":[{}]}}}}"#,
        points.join(",")
    )
}

/// Not a timed test, a measurement: decoding, translating and handing to a store that keeps
/// nothing, per sample. Run with
/// `cargo test --release --lib otlp::tests::translation_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn translation_throughput() {
    use prost::Message;
    struct Null;
    impl Appender for Null {
        fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
            Ok(AppendStats {
                accepted: batch.iter().map(|s| s.samples.len() as u64).sum(),
                ..AppendStats::default()
            })
        }
    }
    let resource = [
        ("service.name", "api"),
        ("service.instance.id", "pod-1"),
        ("host.name", "h"),
        ("k8s.pod.name", "p"),
    ];
    let counters: Vec<String> = (0..2000)
        .map(|i| {
            number_point(
                100,
                110,
                i as f64,
                &[("route", &format!("/r{i}")), ("method", "GET")],
            )
        })
        .collect();
    let bounds: Vec<f64> = (1..=10).map(|b| b as f64 / 10.0).collect();
    let histograms: Vec<String> = (0..200)
        .map(|i| {
            histogram_point(100, 110, &bounds, &[1; 11], 5.0).replacen(
                '{',
                &format!(
                    r#"{{"attributes":[{}],"#,
                    attrs(&[("route", &format!("/r{i}"))])
                ),
                1,
            )
        })
        .collect();
    let body = request(
        &resource,
        &[
            counter("http.requests", 2, &counters),
            histogram("http.duration", 2, &histograms),
        ],
    );
    let proto = json::decode(body.as_bytes()).unwrap().encode_to_vec();
    let r = Receiver::default();
    let limits = crate::model::LabelLimits::default();
    let start = std::time::Instant::now();
    let mut samples = 0;
    let rounds = 50;
    for _ in 0..rounds {
        samples += r
            .receive(&Null, &proto, false, &limits)
            .unwrap()
            .stats
            .accepted;
    }
    let took = start.elapsed();
    println!(
        "{rounds} requests of {} bytes, {samples} samples in {took:?}: {:.0} samples/s, {:.2} s of CPU per million samples",
        proto.len(),
        samples as f64 / took.as_secs_f64(),
        took.as_secs_f64() / samples as f64 * 1e6
    );
    assert!(samples > 0);
}
