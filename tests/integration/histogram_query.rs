//! Native histograms on the way out, against Debian's Prometheus 2.42 with
//! `--enable-feature=native-histograms` and the client_golang service in tests/nhsvc:
//! Prometheus scrapes the service and remote-writes into promterm (`send_native_histograms`);
//! `/api/v1/query` and `/api/v1/query_range` then answer the same `histogram` / `histograms`
//! JSON from both for the same series and times. The same Prometheus also federates the
//! histograms back from promterm's `/federate` (it asks for the protobuf format first) and
//! stores the same values.

use std::net::SocketAddr;

use serde_json::Value;

use crate::common::{data, free_addr, nhsvc, spawn, wait_for, wait_ok, Server};

/// Percent-encodes a query parameter value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn query(addr: SocketAddr, q: &str, time: f64) -> Value {
    data(addr, &format!("/api/v1/query?query={}&time={time}", enc(q)))
}

/// The result sorted by its labels' JSON.
fn sorted(v: &Value) -> Vec<Value> {
    let mut r: Vec<Value> = v["result"].as_array().cloned().unwrap_or_default();
    r.sort_by_key(|s| s["metric"].to_string());
    r
}

/// Whether two API number strings are the same number, allowing the last bits of bucket
/// bounds to differ: Prometheus takes the bounds of schemas above 0 from a constant table
/// that is off from the exact powers by an ulp or two. Counts and sums must match exactly.
fn same_number(a: &Value, b: &Value, bound: bool) -> bool {
    if a == b {
        return true;
    }
    let (Some(x), Some(y)) = (a.as_str(), b.as_str()) else {
        return false;
    };
    let (Ok(x), Ok(y)) = (x.parse::<f64>(), y.parse::<f64>()) else {
        return false;
    };
    bound && (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
}

/// Compares two histogram objects of the API; counts the bounds that differed in the last
/// bits.
fn same_histogram(ours: &Value, theirs: &Value, inexact_bounds: &mut usize) -> Result<(), String> {
    let why = || format!("ours {ours}\ntheirs {theirs}");
    for k in ["count", "sum"] {
        if ours[k] != theirs[k] {
            return Err(format!("{k} differs: {}", why()));
        }
    }
    let (a, b) = (
        ours["buckets"].as_array().cloned().unwrap_or_default(),
        theirs["buckets"].as_array().cloned().unwrap_or_default(),
    );
    if a.len() != b.len() {
        return Err(format!("bucket counts differ: {}", why()));
    }
    for (x, y) in a.iter().zip(&b) {
        if x[0] != y[0] || x[3] != y[3] {
            return Err(format!("bucket {x} vs {y}: {}", why()));
        }
        for i in [1, 2] {
            if x[i] != y[i] {
                if !same_number(&x[i], &y[i], true) {
                    return Err(format!("bound {} vs {}: {}", x[i], y[i], why()));
                }
                *inexact_bounds += 1;
            }
        }
    }
    Ok(())
}

#[test]
fn histograms_remote_written_by_prometheus_answer_as_in_prometheus_and_federate_back() {
    let Some(svc) = nhsvc() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let svc_addr = free_addr();
    let _svc = spawn(svc.to_str().unwrap(), &[svc_addr.to_string()]);
    wait_ok(svc_addr, "/metrics");
    let observe = |q: &str| {
        let (code, body) = crate::common::http(svc_addr, "GET", &format!("/observe?{q}"));
        assert_eq!(code, 200, "{q}: {body}");
    };
    // Negative, zero-bucket, positive and huge observations; a vector with two routes.
    observe("name=rpc_latency_seconds&v=-3&v=-0.5&v=0&v=0.0005&v=0.2&v=0.2&v=1.5&v=7&v=12&v=1e25");
    observe("name=native_only_seconds&v=0.1&v=3&v=300&v=-2");
    observe("name=x&route=/a&v=5&v=100&v=0");
    observe("name=x&route=/b&v=0.25");

    std::fs::write(dir.path().join("ours.yml"), "scrape_configs: []\n").unwrap();
    let ours = Server::start(&[
        "--headless",
        "--config",
        dir.path().join("ours.yml").to_str().unwrap(),
        "--data",
        dir.path().join("ours").to_str().unwrap(),
    ]);
    // The binary under test answers /federate in the protobuf format when asked first (the
    // shared target directory may hold another build: fail plainly then).
    let accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    let ct = reqwest::blocking::Client::new()
        .get(format!("http://{}/federate?match[]=up", ours.addr))
        .header("Accept", accept)
        .send()
        .expect("federate")
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        ct.starts_with("application/vnd.google.protobuf"),
        "{} answers /federate with {ct:?}: not this change's build",
        crate::common::bin()
    );
    let prom = free_addr();
    std::fs::write(
        dir.path().join("prom.yml"),
        format!(
            r#"global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: nh
    static_configs: [{{targets: ['{svc_addr}']}}]
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params: {{'match[]': ['{fed_raw}']}}
    static_configs: [{{targets: ['{ours_addr}']}}]
    metric_relabel_configs:
      - {{target_label: via, replacement: promterm}}
remote_write:
  - url: http://{ours_addr}/api/v1/write
    send_native_histograms: true
    queue_config: {{batch_send_deadline: 200ms, min_backoff: 50ms, max_backoff: 500ms}}
    write_relabel_configs:
      - {{source_labels: [via], regex: promterm, action: drop}}
"#,
            ours_addr = ours.addr,
            fed_raw = "{__name__=~\"rpc_latency_seconds|native_only_seconds|request_size_bytes|nhsvc_requests_total\",via=\"\"}",
        ),
    )
    .unwrap();
    let _prom = spawn(
        "prometheus",
        &[
            format!("--config.file={}", dir.path().join("prom.yml").display()),
            format!("--storage.tsdb.path={}", dir.path().join("prom").display()),
            format!("--web.listen-address={prom}"),
            "--enable-feature=native-histograms".into(),
        ],
    );
    wait_ok(prom, "/-/ready");

    // Wait until promterm holds a few seconds of each histogram.
    let names = [
        "rpc_latency_seconds",
        "native_only_seconds",
        "request_size_bytes",
    ];
    wait_for("histograms remote-written into promterm", 60, || {
        let now = promterm::model::now_ms() as f64 / 1000.0;
        names.iter().all(|n| {
            let got = query(ours.addr, &format!("{n}[10s]"), now);
            got["result"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(|s| s["histograms"].as_array())
                .is_some_and(|h| h.len() >= 8)
        })
    });

    // A time both have data at: a second ago.
    let t = (promterm::model::now_ms() - 1_000) as f64 / 1000.0;
    let mut inexact = 0usize;
    let mut compared = 0usize;
    for n in names {
        // Instant vectors.
        // Prometheus's own series (not those federated back from promterm).
        let own = format!("{n}{{via=\"\"}}");
        let (a, b) = (query(ours.addr, n, t), query(prom, &own, t));
        let (a, b) = (sorted(&a), sorted(&b));
        assert_eq!(a.len(), b.len(), "{n}: {a:?} vs {b:?}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x["metric"], y["metric"]);
            assert_eq!(x["histogram"][0], y["histogram"][0], "{n}: sample times");
            assert!(x.get("value").is_none(), "{x}");
            same_histogram(&x["histogram"][1], &y["histogram"][1], &mut inexact)
                .unwrap_or_else(|e| panic!("{n} at {t}: {e}"));
            compared += 1;
        }
        // Range vectors: the raw histograms of the last 3s, timestamps and all.
        let (a, b) = (
            query(ours.addr, &format!("{n}[3s]"), t),
            query(prom, &format!("{own}[3s]"), t),
        );
        let (a, b) = (sorted(&a), sorted(&b));
        assert_eq!(a.len(), b.len(), "{n}[3s]");
        for (x, y) in a.iter().zip(&b) {
            let (hx, hy) = (
                x["histograms"].as_array().cloned().unwrap_or_default(),
                y["histograms"].as_array().cloned().unwrap_or_default(),
            );
            assert!(!hx.is_empty() && x.get("values").is_none(), "{x}");
            assert_eq!(hx.len(), hy.len(), "{n}[3s]: {x}\nvs\n{y}");
            for (p, q) in hx.iter().zip(&hy) {
                assert_eq!(p[0], q[0], "{n}[3s] timestamps");
                same_histogram(&p[1], &q[1], &mut inexact)
                    .unwrap_or_else(|e| panic!("{n}[3s]: {e}"));
                compared += 1;
            }
        }
        // query_range: one histogram per step.
        let path = |addr: SocketAddr, q: &str| {
            data(
                addr,
                &format!(
                    "/api/v1/query_range?query={}&start={}&end={t}&step=1",
                    enc(q),
                    t - 3.0
                ),
            )
        };
        let (a, b) = (sorted(&path(ours.addr, n)), sorted(&path(prom, &own)));
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            let (hx, hy) = (
                x["histograms"].as_array().cloned().unwrap_or_default(),
                y["histograms"].as_array().cloned().unwrap_or_default(),
            );
            assert_eq!(hx.len(), 4, "{x}");
            assert_eq!(hx.len(), hy.len());
            for (p, q) in hx.iter().zip(&hy) {
                assert_eq!(p[0], q[0]);
                same_histogram(&p[1], &q[1], &mut inexact).unwrap();
                compared += 1;
            }
        }
    }
    println!("compared {compared} histograms; {inexact} bucket bounds differed in the last bits");
    assert!(compared >= 20, "{compared}");

    // Federation: Prometheus scrapes /federate (protobuf first, as native histograms need)
    // and stores promterm's newest histograms under via="promterm" at their own timestamps.
    let fed_q = "native_only_seconds{via=\"promterm\"}";
    wait_for("histograms federated back into Prometheus", 30, || {
        let now = promterm::model::now_ms() as f64 / 1000.0;
        query(prom, fed_q, now)["result"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
    let now = promterm::model::now_ms() as f64 / 1000.0;
    for n in names {
        let fed = query(prom, &format!("{n}{{via=\"promterm\"}}[10s]"), now);
        let own = query(prom, &format!("{n}{{via=\"\"}}[10s]"), now);
        let (fed, own) = (sorted(&fed), sorted(&own));
        assert_eq!(fed.len(), own.len(), "{n}: {fed:?}\nvs\n{own:?}");
        for (x, y) in fed.iter().zip(&own) {
            let own_points = y["histograms"].as_array().cloned().unwrap_or_default();
            let fed_points = x["histograms"].as_array().cloned().unwrap_or_default();
            assert!(!fed_points.is_empty(), "{x}");
            // Every federated histogram equals Prometheus's own at that timestamp, exactly.
            for p in &fed_points {
                let q = own_points
                    .iter()
                    .find(|q| q[0] == p[0])
                    .unwrap_or_else(|| panic!("{n}: no own sample at {}", p[0]));
                assert_eq!(p[1], q[1], "{n} at {}", p[0]);
            }
        }
    }
    // The float counter came through the protobuf format as well.
    let r = query(prom, "nhsvc_requests_total{via=\"promterm\"}", now);
    assert_eq!(r["result"][0]["value"][1], "3", "{r}");
}
