//! Native histograms scraped over protobuf, side by side with the real Prometheus (Debian's
//! 2.42 with `--enable-feature=native-histograms`): the client_golang service in tests/nhsvc
//! scraped by promterm with `scrape_native_histograms` in the job, in `global`, and by the
//! `--enable-feature=native-histograms` flag, and by Prometheus at the same time. The series
//! names and label sets, the native histograms (count, sum, buckets as the API shows them) and
//! the classic series agree; so does `scrape_samples_scraped` (a histogram is one sample).
//! Then bad input: crafted protobuf bodies from a tiny HTTP server, each breaking one
//! validation rule, fail the scrape with the rule named, as Prometheus fails it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use prost::Message;
use serde_json::Value;

use crate::common::{data, escape, free_addr, http, nhsvc, spawn, wait_for, wait_ok, Server};
use promterm::textparse::proto::{
    BucketSpan, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};

/// `/api/v1/query` results by their label set ("k=v,..." without `__name__` order issues).
fn query(addr: SocketAddr, q: &str) -> BTreeMap<String, Value> {
    let d = data(addr, &escape(&format!("/api/v1/query?query={q}")));
    d["result"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|r| {
            let mut pairs: Vec<String> = r["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            pairs.sort();
            let value = if r.get("histogram").is_some() {
                r["histogram"][1].clone()
            } else {
                r["value"][1].clone()
            };
            (pairs.join(","), value)
        })
        .collect()
}

/// The label sets of the series `matcher` selects.
fn series(addr: SocketAddr, matcher: &str) -> BTreeSet<String> {
    let d = data(addr, &escape(&format!("/api/v1/series?match[]={matcher}")));
    d.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut pairs: Vec<String> = s
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                .collect();
            pairs.sort();
            pairs.join(",")
        })
        .collect()
}

/// Two histograms as `/api/v1/query` shows them agree: count, sum, and each bucket's
/// boundary rule and count exactly; its bounds to within 1e-15 relative (Prometheus 2.42
/// computes exponential bounds of positive schemas one way, Prometheus 3 and promterm
/// another: they may differ in the last digit, see the report).
fn same_histogram(a: &Value, b: &Value, what: &str) {
    assert_eq!(a["count"], b["count"], "{what}: count");
    assert_eq!(a["sum"], b["sum"], "{what}: sum");
    let (ab, bb) = (
        a["buckets"].as_array().unwrap(),
        b["buckets"].as_array().unwrap(),
    );
    assert_eq!(ab.len(), bb.len(), "{what}: buckets {a} vs {b}");
    for (x, y) in ab.iter().zip(bb) {
        assert_eq!(x[0], y[0], "{what}: boundary rule of {x} vs {y}");
        assert_eq!(x[3], y[3], "{what}: count of {x} vs {y}");
        for i in [1, 2] {
            let p = |v: &Value| v.as_str().unwrap().parse::<f64>().unwrap();
            let (u, v) = (p(&x[i]), p(&y[i]));
            assert!(
                u == v || (u - v).abs() <= 1e-15 * v.abs().max(u.abs()),
                "{what}: bound {u} vs {v}"
            );
        }
    }
}

fn observe(svc: SocketAddr, q: &str) {
    let (code, body) = http(svc, "GET", &format!("/observe?{q}"));
    assert_eq!(code, 200, "observe {q}: {body}");
}

#[test]
fn native_histograms_scraped_as_prometheus_scrapes_them() {
    let Some(bin) = nhsvc() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (svc, prom) = (free_addr(), free_addr());
    let _svc = spawn(bin.to_str().unwrap(), &[svc.to_string()]);
    wait_ok(svc, "/metrics");
    // Observations before anyone scrapes, and none after: every scrape sees the same page.
    observe(
        svc,
        "name=rpc_latency_seconds&v=0.0005&v=0.05&v=0.3&v=2&v=2&v=40&v=-3",
    );
    observe(svc, "name=native_only_seconds&v=0.001&v=1&v=1000&v=1e6");
    observe(svc, "name=classic_only_seconds&v=0.3&v=0.7&v=3");
    observe(svc, "route=/a&v=100&v=300");
    observe(svc, "route=/b&v=0&v=5");
    let job = |extra: &str| {
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n{extra}scrape_configs:\n- job_name: nh\n"
        )
    };
    let target = format!("  static_configs: [{{targets: ['{svc}']}}]\n");
    let cases = [
        (
            "job",
            format!("{}  scrape_native_histograms: true\n{target}", job("")),
            false,
        ),
        (
            "global",
            format!("{}{target}", job("  scrape_native_histograms: true\n")),
            false,
        ),
        ("flag", format!("{}{target}", job("")), true),
    ];
    let prom_cfg = dir.path().join("prometheus.yml");
    std::fs::write(&prom_cfg, format!("{}{target}", job(""))).unwrap();
    let _prom = spawn(
        "prometheus",
        &[
            format!("--config.file={}", prom_cfg.display()),
            format!("--storage.tsdb.path={}", dir.path().join("prom").display()),
            format!("--web.listen-address={prom}"),
            "--enable-feature=native-histograms".into(),
        ],
    );
    let mut ours = Vec::new();
    for (name, cfg, flag) in &cases {
        let path = dir.path().join(format!("{name}.yml"));
        std::fs::write(&path, cfg).unwrap();
        let data_dir = dir.path().join(name);
        let mut args = vec![
            "--headless",
            "--config",
            path.to_str().unwrap(),
            "--data",
            data_dir.to_str().unwrap(),
        ];
        if *flag {
            args.push("--enable-feature=native-histograms,no-such-feature");
        }
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ours.push((*name, Server::start(&args)));
    }
    wait_ok(prom, "/-/ready");
    let all = "{job=\"nh\"}";
    let scraped = |addr: SocketAddr| {
        query(addr, "rpc_latency_seconds").len() == 1
            && query(addr, "request_size_bytes").len() == 2
            && query(addr, "scrape_samples_scraped").len() == 1
    };
    wait_for("Prometheus to scrape the service", 60, || scraped(prom));
    let want_series = series(prom, all);
    let names: BTreeSet<String> = want_series
        .iter()
        .filter_map(|s| s.split(',').find_map(|p| p.strip_prefix("__name__=")))
        .map(str::to_string)
        .collect();
    // Prometheus 2.42 keeps mixed histograms native only; classic-only ones stay classic.
    for n in [
        "rpc_latency_seconds",
        "native_only_seconds",
        "request_size_bytes",
    ] {
        assert!(names.contains(n), "Prometheus has {n}: {names:?}");
    }
    assert!(!names.contains("rpc_latency_seconds_bucket"), "{names:?}");
    assert!(names.contains("classic_only_seconds_bucket"), "{names:?}");
    let histograms = [
        "rpc_latency_seconds",
        "native_only_seconds",
        "request_size_bytes",
    ];
    let floats = [
        "classic_only_seconds_bucket",
        "classic_only_seconds_count",
        "classic_only_seconds_sum",
        "nhsvc_requests_total",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "up",
    ];
    for (name, srv) in &ours {
        wait_for(
            &format!("promterm ({name}) to scrape the service"),
            60,
            || scraped(srv.addr),
        );
        let got = series(srv.addr, all);
        assert_eq!(
            got, want_series,
            "series of promterm ({name}) and Prometheus"
        );
        for q in histograms {
            let (a, b) = (query(srv.addr, q), query(prom, q));
            assert!(!b.is_empty(), "Prometheus has {q}");
            assert_eq!(
                a.keys().collect::<Vec<_>>(),
                b.keys().collect::<Vec<_>>(),
                "{q}: label sets of promterm ({name}) and Prometheus"
            );
            for (k, h) in &a {
                same_histogram(
                    h,
                    &b[k],
                    &format!("{q} {k}: promterm ({name}) and Prometheus"),
                );
            }
        }
        for q in floats {
            let (a, b) = (query(srv.addr, q), query(prom, q));
            assert!(!b.is_empty(), "Prometheus has {q}");
            assert_eq!(a, b, "{q}: promterm ({name}) and Prometheus");
        }
        let h = query(srv.addr, "rpc_latency_seconds");
        let v = h.values().next().unwrap();
        assert_eq!(v["count"], "7", "{v}");
        assert!(v["buckets"].as_array().is_some_and(|b| b.len() > 3), "{v}");
    }
    let mut flagged = ours.pop().unwrap().1;
    let log = flagged.drain_log().join("\n");
    assert!(
        log.contains("Unknown option for --enable-feature") && log.contains("no-such-feature"),
        "{log}"
    );
}

/// A one-page HTTP server: every GET answers the current body as the protobuf format.
struct Page {
    body: Arc<Mutex<Vec<u8>>>,
    addr: SocketAddr,
}

impl Page {
    fn start() -> Page {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let body: Arc<Mutex<Vec<u8>>> = Arc::default();
        let served = body.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut c) = conn else { return };
                let mut buf = [0u8; 4096];
                let mut req = Vec::new();
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let b = served.lock().unwrap().clone();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    b.len()
                );
                let _ = c.write_all(head.as_bytes());
                let _ = c.write_all(&b);
            }
        });
        Page { body, addr }
    }

    fn serve(&self, families: &[MetricFamily]) {
        let mut out = Vec::new();
        for f in families {
            f.encode_length_delimited(&mut out).unwrap();
        }
        *self.body.lock().unwrap() = out;
    }
}

fn span(offset: i32, length: u32) -> BucketSpan {
    BucketSpan { offset, length }
}

/// A valid integer histogram: buckets 0 and 1 at schema 0 with counts 1 and 2.
fn good() -> Histogram {
    Histogram {
        sample_count: 3,
        sample_sum: 4.0,
        schema: 0,
        zero_threshold: 0.001,
        positive_span: vec![span(0, 2)],
        positive_delta: vec![1, 1],
        ..Histogram::default()
    }
}

fn families(h: Histogram) -> Vec<MetricFamily> {
    vec![
        MetricFamily {
            name: "ok_total".into(),
            r#type: MetricType::Counter as i32,
            metric: vec![Metric {
                counter: Some(promterm::textparse::proto::Counter {
                    value: 1.0,
                    ..Default::default()
                }),
                ..Metric::default()
            }],
            ..MetricFamily::default()
        },
        MetricFamily {
            name: "bad_seconds".into(),
            r#type: MetricType::Histogram as i32,
            metric: vec![Metric {
                label: vec![LabelPair {
                    name: "case".into(),
                    value: "x".into(),
                }],
                histogram: Some(h),
                ..Metric::default()
            }],
            ..MetricFamily::default()
        },
    ]
}

/// Each validation rule the protobuf format can break, once: (what, histogram, words of the
/// rule in the scrape error).
fn bad_cases() -> Vec<(&'static str, Histogram, &'static str)> {
    vec![
        (
            "schema out of range",
            Histogram {
                schema: 9,
                ..good()
            },
            "invalid schema",
        ),
        (
            "a later span with a negative offset",
            Histogram {
                positive_span: vec![span(0, 1), span(-2, 1)],
                ..good()
            },
            "span whose offset is negative",
        ),
        (
            "spans and buckets disagree",
            Histogram {
                positive_span: vec![span(0, 3)],
                ..good()
            },
            "spans specify different number of buckets",
        ),
        (
            "a negative bucket count",
            Histogram {
                positive_delta: vec![1, -3],
                sample_count: 0,
                ..good()
            },
            "bucket whose observation count is negative",
        ),
        (
            "a negative zero bucket",
            Histogram {
                sample_count: 0,
                sample_count_float: 3.0,
                zero_count_float: -1.0,
                positive_span: vec![span(0, 2)],
                positive_delta: vec![],
                positive_count: vec![1.0, 2.0],
                ..good()
            },
            "zero bucket has observation count of -1",
        ),
        (
            "a negative count",
            Histogram {
                sample_count: 0,
                sample_count_float: -3.0,
                zero_count_float: 1.0,
                positive_span: vec![span(0, 2)],
                positive_delta: vec![],
                positive_count: vec![1.0, 2.0],
                ..good()
            },
            "observation count is negative",
        ),
        (
            "count differs from the buckets",
            Histogram {
                sample_count: 9,
                ..good()
            },
            "should equal the number of observations found in the buckets",
        ),
        (
            "count below the buckets with a NaN sum",
            Histogram {
                sample_count: 1,
                sample_sum: f64::NAN,
                ..good()
            },
            "should be at least the number of observations found in the buckets",
        ),
        (
            "custom buckets without bounds",
            Histogram {
                schema: -53,
                zero_threshold: 0.0,
                ..good()
            },
            "custom bounds are too few",
        ),
    ]
}

#[test]
fn bad_protobuf_histograms_fail_the_scrape_naming_series_and_rule() {
    let page = Page::start();
    page.serve(&families(good()));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("p.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n- job_name: bad\n  scrape_native_histograms: true\n  static_configs: [{{targets: ['{}']}}]\n",
            page.addr
        ),
    )
    .unwrap();
    let srv = Server::start(&[
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().join("d").to_str().unwrap(),
    ]);
    let target = || data(srv.addr, "/api/v1/targets")["activeTargets"][0].clone();
    wait_for("a good scrape", 30, || {
        target()["health"] == "up" && query(srv.addr, "bad_seconds").len() == 1
    });
    let mut seen = BTreeSet::new();
    for (what, h, rule) in bad_cases() {
        page.serve(&families(h));
        let mut last = Value::Null;
        wait_for(&format!("the scrape to fail: {what}"), 30, || {
            last = target();
            last["health"] == "down" && last["lastError"].as_str().is_some_and(|e| e.contains(rule))
        });
        let e = last["lastError"].as_str().unwrap().to_string();
        assert!(
            e.contains("bad_seconds{case=\"x\"}"),
            "{what}: the series named: {e}"
        );
        seen.insert(e);
        // As in Prometheus the whole scrape fails: `up` is 0.
        let up = query(srv.addr, "up");
        assert_eq!(
            up.values().next().and_then(Value::as_str),
            Some("0"),
            "{what}"
        );
        // A good page brings the target back before the next case.
        page.serve(&families(good()));
        wait_for(&format!("recovery after {what}"), 30, || {
            target()["health"] == "up"
        });
    }
    assert_eq!(seen.len(), bad_cases().len(), "one distinct error per rule");
}
