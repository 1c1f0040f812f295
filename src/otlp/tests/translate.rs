//! Translation under the `otlp:` keys: resource attribute promotion, `target_info` (labels and
//! timestamps), scope labels, attribute values as text, partial success for what cannot be
//! stored, exemplars, metadata per strategy, `convert_histograms_to_nhcb`.

use super::{counter, gauge, histogram, number_point, receiver, request, send, Store};
use crate::config::{OtlpConfig, TranslationStrategy};

const RESOURCE: &[(&str, &str)] = &[
    ("service.name", "api"),
    ("service.namespace", "shop"),
    ("service.instance.id", "i1"),
    ("k8s.pod.name", "p1"),
    ("cloud.region", "eu"),
    ("host.name", "h"),
];

fn one_gauge(cfg: OtlpConfig, point_attrs: &[(&str, &str)]) -> Store {
    let s = Store::default();
    let body = request(
        RESOURCE,
        &[gauge("g", &[number_point(0, 1000, 1.0, point_attrs)])],
    );
    let o = send(&receiver(cfg), &s, &body);
    assert_eq!(o.rejected_points, 0, "{}", o.error_message);
    s
}

#[test]
fn promoted_resource_attributes_join_every_series_without_overriding_point_attributes() {
    let s = one_gauge(
        OtlpConfig {
            promote_resource_attributes: vec!["k8s.pod.name".into(), "cloud.region".into()],
            ..OtlpConfig::default()
        },
        &[("cloud.region", "pt"), ("a.b", "1"), ("a_b", "2")],
    );
    assert_eq!(
        s.names(),
        [
            // Keys that become one label name: values joined with `;` in key order.
            "__name__=g,a_b=1;2,cloud_region=pt,instance=i1,job=shop/api,k8s_pod_name=p1",
            // target_info keeps every non-identifying attribute, promoted or not.
            "__name__=target_info,cloud_region=eu,host_name=h,instance=i1,job=shop/api,k8s_pod_name=p1",
        ]
    );
}

#[test]
fn promote_all_skips_the_ignored_and_keep_identifying_keeps_service_attributes() {
    let s = one_gauge(
        OtlpConfig {
            promote_all_resource_attributes: true,
            ignore_resource_attributes: vec!["host.name".into(), "service.namespace".into()],
            keep_identifying_resource_attributes: true,
            ..OtlpConfig::default()
        },
        &[],
    );
    assert_eq!(
        s.names(),
        [
            "__name__=g,cloud_region=eu,instance=i1,job=shop/api,k8s_pod_name=p1,service_instance_id=i1,service_name=api",
            "__name__=target_info,cloud_region=eu,host_name=h,instance=i1,job=shop/api,k8s_pod_name=p1,service_instance_id=i1,service_name=api,service_namespace=shop",
        ]
    );
}

#[test]
fn target_info_needs_other_attributes_and_an_identity_and_spans_the_points() {
    // Only identifying attributes: no target_info.
    let s = Store::default();
    let only_ids = [("service.name", "api")];
    send(
        &receiver(OtlpConfig::default()),
        &s,
        &request(&only_ids, &[gauge("g", &[number_point(0, 10, 1.0, &[])])]),
    );
    assert_eq!(s.names(), ["__name__=g,job=api"]);
    // No job or instance: no target_info either.
    let s = Store::default();
    send(
        &receiver(OtlpConfig::default()),
        &s,
        &request(
            &[("host.name", "h")],
            &[gauge("g", &[number_point(0, 10, 1.0, &[])])],
        ),
    );
    assert_eq!(s.names(), ["__name__=g"]);
    // Points 400 s apart: target_info every 150 s from the earliest, and at the latest.
    let s = Store::default();
    let body = request(
        RESOURCE,
        &[
            gauge("a", &[number_point(0, 1000, 1.0, &[])]),
            gauge("b", &[number_point(0, 1400, 1.0, &[])]),
        ],
    );
    send(&receiver(OtlpConfig::default()), &s, &body);
    assert_eq!(
        s.get("__name__=target_info,cloud_region=eu,host_name=h,instance=i1,job=shop/api,k8s_pod_name=p1"),
        ["1@1000000", "1@1150000", "1@1300000", "1@1400000"]
    );
}

#[test]
fn scope_metadata_becomes_labels_when_promoted() {
    let body = r#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
      "scopeMetrics":[
        {"scope":{"name":"lib","version":"1.2","attributes":[{"key":"x.y","value":{"stringValue":"z"}},{"key":"name","value":{"stringValue":"not-lib"}}]},"schemaUrl":"https://s",
         "metrics":[{"name":"a","gauge":{"dataPoints":[{"timeUnixNano":"1000000000","asInt":"1","attributes":[{"key":"otel_scope_name","value":{"stringValue":"mine"}}]}]}}]},
        {"scope":{"version":"9"},"metrics":[{"name":"b","gauge":{"dataPoints":[{"timeUnixNano":"1000000000","asInt":"2"}]}}]}]}]}"#;
    let s = Store::default();
    let cfg = OtlpConfig {
        promote_scope_metadata: true,
        ..OtlpConfig::default()
    };
    send(&receiver(cfg), &s, body);
    assert_eq!(
        s.names(),
        [
            "__name__=a,job=api,otel_scope_name=lib,otel_scope_schema_url=https://s,otel_scope_version=1.2,otel_scope_x_y=z",
            // A scope without a name adds nothing.
            "__name__=b,job=api",
        ]
    );
    // Off by default.
    let s = Store::default();
    send(&receiver(OtlpConfig::default()), &s, body);
    assert_eq!(
        s.names(),
        [
            "__name__=a,job=api,otel_scope_name=mine",
            "__name__=b,job=api"
        ]
    );
}

#[test]
fn attribute_values_print_as_pdata_prints_them() {
    let body = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"1000000000","asInt":"1","attributes":[
      {"key":"i","value":{"intValue":"-7"}},{"key":"d","value":{"doubleValue":0.5}},{"key":"big","value":{"doubleValue":1e21}},
      {"key":"tiny","value":{"doubleValue":1e-7}},{"key":"b","value":{"boolValue":true}},
      {"key":"arr","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"1"}]}}},
      {"key":"map","value":{"kvlistValue":{"values":[{"key":"z","value":{"boolValue":false}},{"key":"a","value":{"stringValue":"x"}}]}}},
      {"key":"raw","value":{"bytesValue":"AQI="}},{"key":"none","value":{}}]}]}}]}]}]}"#;
    let s = Store::default();
    send(&receiver(OtlpConfig::default()), &s, body);
    assert_eq!(
        s.names(),
        [
            r#"__name__=g,arr=["a",1],b=true,big=1e+21,d=0.5,i=-7,map={"a":"x","z":false},raw=AQI=,tiny=1e-7"#
        ]
    );
}

#[test]
fn what_cannot_be_stored_is_refused_point_by_point_and_the_rest_is_stored() {
    let body = r#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeMetrics":[{"metrics":[
      {"name":"eh","exponentialHistogram":{"aggregationTemporality":2,"dataPoints":[{"timeUnixNano":"1000000000","count":"1"},{"timeUnixNano":"2000000000","count":"2"}]}},
      {"name":"nothing"},
      {"name":"no_points","gauge":{"dataPoints":[]}},
      {"name":"@@@","gauge":{"dataPoints":[{"timeUnixNano":"1000000000","asDouble":1}]}},
      {"name":"bad_key","gauge":{"dataPoints":[{"timeUnixNano":"1000000000","asDouble":1,"attributes":[{"key":"","value":{"stringValue":"x"}}]}]}},
      {"name":"weird","sum":{"aggregationTemporality":0,"isMonotonic":true,"dataPoints":[{"timeUnixNano":"1000000000","asDouble":1}]}},
      {"name":"ok","gauge":{"dataPoints":[{"timeUnixNano":"1000000000","asDouble":"NaN"},{"timeUnixNano":"2000000000","asDouble":"Infinity"},
        {"timeUnixNano":"3000000000","asDouble":"-Infinity"}]}}]}]}]}"#;
    let s = Store::default();
    let o = send(&receiver(OtlpConfig::default()), &s, body);
    assert_eq!(o.rejected_points, 2 + 1 + 1 + 1, "{}", o.error_message);
    for want in [
        "metric \"eh\" series eh{job=\"api\"}: 0 observations found in buckets, but the Count field is 1: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN); data point refused",
        "metric \"nothing\" has no data",
        "metric \"no_points\" has no data points",
        "metric name \"@@@\" translates to an empty name",
        "metric \"bad_key\": an attribute with an empty key has no label name",
        "invalid temporality and type combination for metric \"weird\"",
    ] {
        assert!(o.error_message.contains(want), "{:?} lacks {want:?}", o.error_message);
    }
    // NaN and infinities are values like any other.
    let v: Vec<f64> = s.series.lock()["__name__=ok,job=api"]
        .iter()
        .map(|x| x.v)
        .collect();
    assert!(
        v[0].is_nan() && v[1] == f64::INFINITY && v[2] == f64::NEG_INFINITY,
        "{v:?}"
    );
    assert_eq!(o.stats.accepted, 3);
    assert!(s
        .names()
        .iter()
        .all(|n| !n.contains("eh") && !n.contains("weird")));
}

#[test]
fn exemplars_go_to_their_sum_series_and_histogram_bucket() {
    let trace = "5b8efff798038103d269b633813fc60c";
    let span = "eee19b7ec3c1b174";
    let ex = |v: f64, attrs: &str| {
        format!(
            r#"{{"timeUnixNano":"999000000","asDouble":{v},"traceId":"{trace}","spanId":"{span}","filteredAttributes":[{attrs}]}}"#
        )
    };
    let long = "x".repeat(100);
    let user = r#"{"key":"user","value":{"stringValue":"u1"}}"#.to_string();
    let long_attr = format!(r#"{{"key":"long","value":{{"stringValue":"{long}"}}}}"#);
    let body = format!(
        r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[
      {{"name":"c","sum":{{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{{"timeUnixNano":"1000000000","asInt":"3","exemplars":[{},{}]}}]}}}},
      {{"name":"g","gauge":{{"dataPoints":[{{"timeUnixNano":"1000000000","asInt":"3","exemplars":[{}]}}]}}}},
      {{"name":"h","unit":"s","histogram":{{"aggregationTemporality":2,"dataPoints":[{{"timeUnixNano":"1000000000","count":"3","sum":103.5,
        "bucketCounts":["1","1","1"],"explicitBounds":[1,5],"exemplars":[{},{},{},{}]}}]}}}}]}}]}}]}}"#,
        ex(1.0, &user),
        ex(2.0, &long_attr),
        ex(3.0, ""),
        ex(100.0, ""),
        ex(0.5, ""),
        ex(3.0, ""),
        ex(0.0, "").replace("\"asDouble\":0", "\"asDouble\":\"NaN\""),
    );
    let s = Store::default();
    let o = send(&receiver(OtlpConfig::default()), &s, &body);
    assert_eq!(
        o.exemplars.accepted, 6,
        "gauge exemplars are dropped, as Prometheus does"
    );
    let got: Vec<String> = s
        .exemplars
        .lock()
        .iter()
        .map(|(series, e)| {
            let l: Vec<String> = e
                .labels
                .iter()
                .map(|l| format!("{}={}", l.name, l.value))
                .collect();
            format!("{series} {} {}@{}", l.join(","), e.value, e.t)
        })
        .collect();
    let ids = format!("span_id={span},trace_id={trace}");
    assert_eq!(
        got,
        [
            format!("__name__=c_total {ids},user=u1 1@999"),
            // Over 128 characters with the attribute: only the ids are kept.
            format!("__name__=c_total {ids} 2@999"),
            format!("__name__=h_seconds_bucket,le=+Inf {ids} 100@999"),
            // No bucket covers NaN: `+Inf` takes it, as Prometheus does.
            format!("__name__=h_seconds_bucket,le=+Inf {ids} NaN@999"),
            format!("__name__=h_seconds_bucket,le=1 {ids} 0.5@999"),
            format!("__name__=h_seconds_bucket,le=5 {ids} 3@999"),
        ]
    );
}

#[test]
fn metadata_and_names_follow_the_strategy() {
    let body = request(
        &[("service.name", "api")],
        &[
            histogram(
                "http.server.duration",
                2,
                &[super::histogram_point(0, 1, &[1.0], &[1, 1], 2.0)],
            )
            .replacen(
                "\"histogram\"",
                "\"unit\":\"s\",\"description\":\"Duration\",\"histogram\"",
                1,
            ),
            counter(
                "jobs.done",
                2,
                &[number_point(0, 1, 4.0, &[("http.method", "GET")])],
            ),
        ],
    );
    let cases = [
        (
            TranslationStrategy::UnderscoreEscapingWithSuffixes,
            [
                "http_server_duration_seconds histogram Duration s",
                "jobs_done_total counter  ",
            ],
            "__name__=jobs_done_total,http_method=GET,job=api",
        ),
        (
            TranslationStrategy::UnderscoreEscapingWithoutSuffixes,
            [
                "http_server_duration histogram Duration s",
                "jobs_done counter  ",
            ],
            "__name__=jobs_done,http_method=GET,job=api",
        ),
        (
            TranslationStrategy::NoUTF8EscapingWithSuffixes,
            [
                "http.server.duration_seconds histogram Duration s",
                "jobs.done_total counter  ",
            ],
            "__name__=jobs.done_total,http.method=GET,job=api",
        ),
        (
            TranslationStrategy::NoTranslation,
            [
                "http.server.duration histogram Duration s",
                "jobs.done counter  ",
            ],
            "__name__=jobs.done,http.method=GET,job=api",
        ),
    ];
    for (strategy, metadata, counter_series) in cases {
        let s = Store::default();
        let cfg = OtlpConfig {
            translation_strategy: strategy,
            ..OtlpConfig::default()
        };
        let o = send(&receiver(cfg), &s, &body);
        let md: Vec<String> = o
            .metadata
            .iter()
            .map(|(n, m)| format!("{n} {} {} {}", m.kind.as_str(), m.help, m.unit))
            .collect();
        assert_eq!(md, metadata, "{strategy:?}");
        assert!(
            s.names().contains(&counter_series.to_string()),
            "{strategy:?}: {:?}",
            s.names()
        );
    }
}

#[test]
fn nhcb_replaces_the_classic_series_without_a_warning() {
    let cfg = OtlpConfig {
        convert_histograms_to_nhcb: true,
        ..OtlpConfig::default()
    };
    let s = Store::default();
    let body = request(
        &[],
        &[histogram(
            "h",
            2,
            &[super::histogram_point(0, 1, &[1.0], &[1, 1], 2.0)],
        )],
    );
    let o = send(&receiver(cfg), &s, &body);
    assert_eq!(o.rejected_points, 0);
    assert_eq!(o.error_message, "");
    assert!(s.get("__name__=h_bucket,le=+Inf").is_empty());
    let h = s.histograms.lock();
    assert_eq!(h["__name__=h"].len(), 1);
    assert_eq!(h["__name__=h"][0].h.schema(), -53);
}
