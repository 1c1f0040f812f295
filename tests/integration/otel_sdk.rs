//! The OpenTelemetry SDKs as real OTLP clients, on the listeners a default SDK finds: the Python
//! SDK's gRPC exporter (gzip) and HTTP exporter (tests/otel/python/export.py) and the Node.js
//! SDK's gRPC exporter (tests/otel/node/export.mjs). Counters, up-down counters, gauges and
//! explicit-bucket histograms with resource attributes, and an exemplar recorded inside a real
//! span: the series, `target_info`, `info()`, the metadata and `/api/v1/query_exemplars` answer
//! what Prometheus 3's OTLP endpoint would store (names from its translator's documented rules).
//! With the base-2 exponential aggregation, cumulative and delta, the stored native histograms
//! are the SDK's own points as Prometheus 3's translator makes them.
//! `.ci/run` installs the SDKs (pip packages; `npm ci` in tests/otel/node).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::common::{data, escape, free_addr, wait_for, Server};

fn otel_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otel")
}

/// A server with both OTLP listeners on free ports; (server, gRPC address, HTTP address).
fn serve(dir: &Path, config: &str) -> (Server, SocketAddr, SocketAddr) {
    std::fs::write(dir.join("p.yml"), config).unwrap();
    let (grpc, http) = (free_addr(), free_addr());
    let srv = Server::start(&[
        "--headless",
        "--config",
        dir.join("p.yml").to_str().unwrap(),
        "--data",
        dir.join("d").to_str().unwrap(),
        &format!("--otlp.grpc-listen-address={grpc}"),
        &format!("--otlp.http-listen-address={http}"),
    ]);
    (srv, grpc, http)
}

fn query(addr: SocketAddr, q: &str) -> Value {
    // `+` in a query string is a space.
    let q = q.replace('+', "%2B");
    data(addr, &escape(&format!("/api/v1/query?query={q}")))["result"].clone()
}

/// The one series `q` returns: its labels and value.
fn one(addr: SocketAddr, q: &str) -> (Value, String) {
    let r = query(addr, q);
    let a = r.as_array().expect("a vector");
    assert_eq!(a.len(), 1, "{q}: expected one series, got {r}");
    (
        a[0]["metric"].clone(),
        a[0]["value"][1].as_str().unwrap_or_default().to_string(),
    )
}

fn value(addr: SocketAddr, q: &str) -> String {
    one(addr, q).1
}

/// Runs the Python exporter; its JSON line (trace and span id of the exemplar's span).
fn python(args: &[&str]) -> Value {
    let script = otel_dir().join("python/export.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the OpenTelemetry Python SDK failed (.ci/run installs opentelemetry-sdk and the OTLP exporters): {stderr}"
    );
    let v: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("export.py printed {stdout:?} ({e}); stderr: {stderr}"));
    assert_eq!(v["ok"], true, "an export failed: {stderr}");
    // The SDK logs refused exports and partial successes on stderr; a clean run logs none.
    assert!(
        !stderr.contains("Failed to export") && !stderr.contains("partial"),
        "{stderr}"
    );
    v
}

fn node(args: &[&str]) {
    let dir = otel_dir().join("node");
    assert!(
        dir.join("node_modules/@opentelemetry/sdk-metrics").exists(),
        "the Node.js OpenTelemetry SDK is not installed: run `npm ci --prefix tests/otel/node` (.ci/run does)"
    );
    let out = Command::new("node")
        .current_dir(&dir)
        .arg("export.mjs")
        .args(args)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("\"ok\":true"),
        "the Node.js SDK export failed: {stdout}{stderr}"
    );
}

/// What both Python runs store: names, labels and values after two cumulative exports.
fn check_python_series(addr: SocketAddr, job: &str) {
    let (labels, v) = one(addr, &format!("orders_total{{job=\"{job}\"}}"));
    assert_eq!(
        labels,
        json!({"__name__": "orders_total", "job": job, "instance": "pod-1", "region": "eu"})
    );
    assert_eq!(v, "7");
    assert_eq!(value(addr, &format!("queue_size{{job=\"{job}\"}}")), "3");
    assert_eq!(
        value(
            addr,
            &format!("cpu_utilization_ratio{{job=\"{job}\",cpu=\"0\"}}")
        ),
        "0.25"
    );
    let h = format!("request_duration_seconds{{job=\"{job}\",route=\"/pay\"}}");
    let sel = |suffix: &str, extra: &str| {
        h.replacen(
            "request_duration_seconds{",
            &format!("request_duration_seconds{suffix}{{{extra}"),
            1,
        )
    };
    assert_eq!(value(addr, &sel("_count", "")), "3");
    assert_eq!(value(addr, &sel("_sum", "")), "7.304");
    // The SDK's default boundaries are 0, 5, 10, 25, ...
    assert_eq!(value(addr, &sel("_bucket", "le=\"5\",")), "2");
    assert_eq!(value(addr, &sel("_bucket", "le=\"10\",")), "3");
    assert_eq!(value(addr, &sel("_bucket", "le=\"+Inf\",")), "3");
}

#[test]
fn python_sdk_over_grpc_with_gzip_and_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, grpc, http) = serve(dir.path(), "scrape_configs: []\n");

    let ids = python(&[
        "--protocol",
        "grpc",
        "--endpoint",
        &format!("http://{grpc}"),
        "--gzip",
    ]);
    wait_for("the gRPC export", 10, || {
        !query(srv.addr, "orders_total")
            .as_array()
            .unwrap()
            .is_empty()
    });
    check_python_series(srv.addr, "shop/checkout");

    // target_info: the resource's other attributes, under the same job and instance.
    let (ti, v) = one(srv.addr, "target_info{job=\"shop/checkout\"}");
    assert_eq!(v, "1");
    assert_eq!(ti["instance"], "pod-1");
    assert_eq!(ti["deployment_environment"], "test");
    assert_eq!(ti["k8s_cluster_name"], "eu-1");
    assert_eq!(ti["telemetry_sdk_language"], "python");
    assert!(ti.get("service_name").is_none(), "{ti}");

    // info() joins them onto the series.
    let (l, v) = one(srv.addr, "info(orders_total{job=\"shop/checkout\"})");
    assert_eq!(v, "7");
    assert_eq!(l["deployment_environment"], "test");
    assert_eq!(l["k8s_cluster_name"], "eu-1");
    assert_eq!(l["region"], "eu");
    let (l, _) = one(
        srv.addr,
        "info(orders_total{job=\"shop/checkout\"}, {k8s_cluster_name=~\".+\"})",
    );
    assert_eq!(l["k8s_cluster_name"], "eu-1");
    assert!(l.get("deployment_environment").is_none(), "{l}");

    // Metadata from the SDK's instruments.
    let md = data(srv.addr, "/api/v1/metadata?metric=request_duration_seconds");
    assert_eq!(md["request_duration_seconds"][0]["type"], "histogram");
    assert_eq!(
        md["request_duration_seconds"][0]["help"],
        "Time to answer a request."
    );
    let md = data(srv.addr, "/api/v1/metadata?metric=orders_total");
    assert_eq!(md["orders_total"][0]["type"], "counter");

    // The exemplar recorded inside the span, on the bucket its value falls in.
    let ex = data(
        srv.addr,
        &escape("/api/v1/query_exemplars?query=request_duration_seconds_bucket{job=\"shop/checkout\"}&start=0&end=9999999999"),
    );
    let ex = ex.as_array().expect("a list of series");
    assert_eq!(ex.len(), 1, "{ex:?}");
    assert_eq!(ex[0]["seriesLabels"]["le"], "10");
    let e = &ex[0]["exemplars"][0];
    assert_eq!(e["labels"]["trace_id"], ids["trace_id"]);
    assert_eq!(e["labels"]["span_id"], ids["span_id"]);
    assert_eq!(e["value"], "7");

    // The same client over OTLP/HTTP on :4318's listener, as another service.
    python(&[
        "--protocol",
        "http",
        "--endpoint",
        &format!("http://{http}/v1/metrics"),
        "--service",
        "billing",
    ]);
    wait_for("the HTTP export", 10, || {
        !query(srv.addr, "orders_total{job=\"shop/billing\"}")
            .as_array()
            .unwrap()
            .is_empty()
    });
    check_python_series(srv.addr, "shop/billing");
}

#[test]
fn python_sdk_delta_temporality_is_stored_cumulative() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, grpc, _) = serve(dir.path(), "scrape_configs: []\n");
    python(&[
        "--protocol",
        "grpc",
        "--endpoint",
        &format!("http://{grpc}"),
        "--delta",
    ]);
    wait_for("the delta export", 10, || {
        !query(srv.addr, "orders_total")
            .as_array()
            .unwrap()
            .is_empty()
    });
    // Two deltas (3, then 4) add up as a cumulative counter would.
    check_python_series(srv.addr, "shop/checkout");
}

#[test]
fn nodejs_sdk_over_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, grpc, _) = serve(dir.path(), "scrape_configs: []\n");
    for (mode, job) in [("cumulative", "cart"), ("delta", "cart-delta")] {
        node(&[&format!("http://{grpc}"), mode, job]);
        let sel = |m: &str, extra: &str| format!("{m}{{job=\"{job}\"{extra}}}");
        wait_for("the Node.js export", 10, || {
            !query(srv.addr, &sel("cart_items_total", ""))
                .as_array()
                .unwrap()
                .is_empty()
        });
        let (l, v) = one(srv.addr, &sel("cart_items_total", ""));
        assert_eq!(
            l,
            json!({"__name__": "cart_items_total", "job": job, "instance": "node-1", "kind": "book"}),
            "{mode}"
        );
        // 2 then 5 more: as deltas, added up.
        assert_eq!(v, "7", "{mode}");
        assert_eq!(value(srv.addr, &sel("cart_open", "")), "2", "{mode}");
        assert_eq!(value(srv.addr, &sel("cart_size_bytes_count", "")), "3");
        assert_eq!(
            value(srv.addr, &sel("cart_size_bytes_bucket", ",le=\"1000\"")),
            "2"
        );
        assert_eq!(
            value(srv.addr, &sel("cart_size_bytes_bucket", ",le=\"+Inf\"")),
            "3"
        );
        assert_eq!(
            value(srv.addr, &sel("room_temperature_celsius", ",room=\"a\"")),
            "22.5"
        );
        let (ti, _) = one(srv.addr, &sel("target_info", ""));
        assert_eq!(ti["host_name"], "box-7");
        assert_eq!(ti["telemetry_sdk_language"], "nodejs");
    }
}

/// A histogram bucket as (lower, upper, count).
type Bucket = (f64, f64, f64);

/// The buckets Prometheus 3's translator makes of the SDK's exponential point (as
/// export.py prints it): schema min(scale, 8), OTLP bucket j at scale s is Prometheus bucket
/// (j >> (s − schema)) + 1, whose range is (2^((i−1)/2^schema), 2^(i/2^schema)] (negated
/// on the negative side); the zero bucket [−1e-128, 1e-128]. Empty buckets are left out, as
/// the API leaves them out.
fn expected_buckets(p: &Value) -> (i64, Vec<Bucket>) {
    let scale = p["scale"].as_i64().unwrap();
    let schema = scale.min(8);
    let down = (scale - schema) as u32;
    let bound = |i: i64| 2f64.powf(i as f64 * 2f64.powi(-(schema as i32)));
    let mut out = Vec::new();
    for (side, sign) in [("positive", 1.0), ("negative", -1.0)] {
        let offset = p[side]["offset"].as_i64().unwrap();
        let mut merged = std::collections::BTreeMap::<i64, f64>::new();
        for (k, c) in p[side]["bucket_counts"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let idx = ((offset + k as i64) >> down) + 1;
            *merged.entry(idx).or_default() += c.as_f64().unwrap();
        }
        for (idx, c) in merged {
            if c > 0.0 {
                let (lo, hi) = (bound(idx - 1), bound(idx));
                out.push(if sign > 0.0 {
                    (lo, hi, c)
                } else {
                    (-hi, -lo, c)
                });
            }
        }
    }
    let zero = p["zero_count"].as_f64().unwrap();
    if zero > 0.0 {
        out.push((-1e-128, 1e-128, zero));
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    (schema, out)
}

/// The raw histogram samples of the one series `sel` selects over the last hour, from
/// `/api/v1/query` with a range selector: (count, sum, buckets) per sample.
fn raw_histograms(addr: SocketAddr, sel: &str) -> Vec<(f64, f64, Vec<Bucket>)> {
    let q = format!("{sel}[1h]").replace('[', "%5B").replace(']', "%5D");
    let r = query(addr, &q);
    let a = r.as_array().expect("a matrix");
    assert_eq!(a.len(), 1, "{sel}: expected one series, got {r}");
    let num = |v: &Value| -> f64 { v.as_str().expect("a string number").parse().unwrap() };
    a[0]["histograms"]
        .as_array()
        .unwrap_or_else(|| panic!("{sel}: no histograms in {r}"))
        .iter()
        .map(|s| {
            let h = &s[1];
            let mut b: Vec<Bucket> = h["buckets"]
                .as_array()
                .map(|bs| {
                    bs.iter()
                        .map(|x| (num(&x[1]), num(&x[2]), num(&x[3])))
                        .collect()
                })
                .unwrap_or_default();
            b.sort_by(|a, b| a.0.total_cmp(&b.0));
            (num(&h["count"]), num(&h["sum"]), b)
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    a == b || ((a - b) / b).abs() < 1e-9
}

/// The stored latest histogram of `sel` is the SDK's point as Prometheus 3 translates it.
/// `exports` is how many exports carried the histogram. A created-timestamp zero (empty, at
/// the point's start) comes first when the start is at least a millisecond before the first
/// export: the SDK starts the clock at its first measurement, often in the same millisecond.
fn check_native(addr: SocketAddr, sel: &str, point: &Value, exports: usize) {
    let got = raw_histograms(addr, sel);
    let zero = usize::from(got.first().is_some_and(|h| h.0 == 0.0));
    assert_eq!(got.len(), exports + zero, "{sel}: {got:?}");
    if zero == 1 {
        assert!(got[0].2.is_empty(), "{sel}: {got:?}");
    }
    assert!(got[zero..].iter().all(|h| h.0 > 0.0), "{sel}: {got:?}");
    let (count, sum, buckets) = got.last().unwrap();
    let (schema, want) = expected_buckets(point);
    assert_eq!(*count, point["count"].as_f64().unwrap(), "{sel}");
    assert!(
        close(*sum, point["sum"].as_f64().unwrap()),
        "{sel}: sum {sum}"
    );
    assert_eq!(
        buckets.len(),
        want.len(),
        "{sel} (schema {schema}): {buckets:?} vs {want:?}"
    );
    for (g, w) in buckets.iter().zip(&want) {
        assert!(
            close(g.0, w.0) && close(g.1, w.1) && g.2 == w.2,
            "{sel} (schema {schema}): bucket {g:?}, want {w:?}"
        );
    }
}

#[test]
fn python_sdk_exponential_histograms_become_native_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, grpc, http) = serve(dir.path(), "scrape_configs: []\n");
    // Cumulative over OTLP/HTTP protobuf, delta over gRPC (summed up by promterm).
    for (args, job) in [
        (
            vec![
                "--protocol".to_string(),
                "http".into(),
                "--endpoint".into(),
                format!("http://{http}/v1/metrics"),
            ],
            "shop/checkout",
        ),
        (
            vec![
                "--protocol".to_string(),
                "grpc".into(),
                "--endpoint".into(),
                format!("http://{grpc}"),
                "--delta".into(),
                "--service".into(),
                "delta".into(),
            ],
            "shop/delta",
        ),
    ] {
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.push("--exponential");
        let out = python(&args);
        let lat = format!("request_duration_seconds{{job=\"{job}\",route=\"/pay\"}}");
        wait_for("the exponential export", 10, || {
            !query(srv.addr, &lat).as_array().unwrap().is_empty()
        });
        let points = &out["points"];
        // The SDK settles at scale 3 for 0.004…7 within 160 buckets: stored at schema 3.
        assert_eq!(points["request.duration"]["scale"], 3, "{points}");
        // The two flushes and, cumulative only, the export at shutdown (delta has nothing
        // new to send then).
        let cumulative = job == "shop/checkout";
        let n = if cumulative { 3 } else { 2 };
        check_native(srv.addr, &lat, &points["request.duration"], n);
        // Close values keep the SDK at a scale above 8: merged down to schema 8.
        let tight = &points["tight.values"];
        assert!(tight["scale"].as_i64().unwrap() > 8, "{tight}");
        check_native(
            srv.addr,
            &format!("tight_values_seconds{{job=\"{job}\"}}"),
            tight,
            // Recorded once: cumulative repeats it at every export, delta sends it once.
            if cumulative { 3 } else { 1 },
        );
        // No classic series were made of them.
        assert!(query(
            srv.addr,
            &format!("request_duration_seconds_count{{job=\"{job}\"}}")
        )
        .as_array()
        .unwrap()
        .is_empty());
    }
}
