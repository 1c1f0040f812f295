//! OTLP translation tests: names, units, types, resources, JSON, and refusals.

use super::*;
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
struct Rec(Mutex<Vec<(String, Vec<Sample>)>>);

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

#[test]
fn names_follow_prometheus_translation() {
    assert_eq!(
        metric_name("http.server.duration", "ms", false, false),
        "http_server_duration_milliseconds"
    );
    assert_eq!(
        metric_name("requests", "{request}", true, false),
        "requests_total"
    );
    assert_eq!(
        metric_name("requests.total", "1", true, false),
        "requests_total"
    );
    assert_eq!(
        metric_name("cpu.utilization", "1", false, true),
        "cpu_utilization_ratio"
    );
    assert_eq!(
        metric_name("net.io", "By/s", false, true),
        "net_io_bytes_per_second"
    );
    assert_eq!(metric_name("mem_bytes", "By", false, true), "mem_bytes");
    assert_eq!(metric_name("2xx", "", false, true), "_2xx");
    assert_eq!(label_name("http.method"), "http_method");
    assert_eq!(label_name("0day"), "key_0day");
    assert_eq!(label_name("_private"), "key_private");
    assert_eq!(label_name("__keep"), "__keep");
}

const JSON: &str = r#"{"resourceMetrics":[{"resource":{"attributes":[
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
    let got: Vec<String> =
        r.0.lock()
            .iter()
            .map(|(l, s)| format!("{l} {}@{}", s[0].v, s[0].t))
            .collect();
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
fn delta_and_garbage_are_refused_with_the_reason() {
    let r = Rec::default();
    let delta = JSON.replace(
        "\"aggregationTemporality\":2",
        "\"aggregationTemporality\":1",
    );
    let e = receive(&r, delta.as_bytes(), true).unwrap_err();
    assert!(
        e.to_string().contains("\"orders\"") && e.to_string().contains("delta"),
        "{e}"
    );
    assert!(r.0.lock().is_empty(), "nothing stored");
    assert!(receive(&r, b"{not json", true)
        .unwrap_err()
        .to_string()
        .contains("invalid OTLP JSON"));
    assert!(receive(&r, b"\x0a\xff\xff", false)
        .unwrap_err()
        .to_string()
        .contains("invalid OTLP protobuf"));
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
