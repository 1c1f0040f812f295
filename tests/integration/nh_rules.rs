//! Rules over native histograms with a real peer (Debian's Prometheus 2.42, native histograms
//! enabled): a recording rule copies histogram series (`h:copy`), another sums them
//! (`sum without (instance)`, `job:h:sum`), `/federate` serves the
//! recorded histograms in the protobuf format (read by promterm's parser and scraped by
//! Prometheus), remote write delivers them to Prometheus, which then holds what promterm holds;
//! when an input series turns into a float and another goes stale, the recorded series follow
//! (a float sample, a stale marker). An alert over a histogram expression fires with the
//! histogram as `$value` and value `0e+00` in `/api/v1/alerts`. `promterm test rules` runs a
//! unit test file with histograms that Debian's promtool 2.42 refuses (its format predates them).

use std::net::SocketAddr;
use std::path::Path;

use promterm::model::{FloatHistogram, HistogramSample, HistogramValue, Sample, Span};
use promterm::remote::proto::{encode_v1, SeriesV1};
use promterm::textparse::protobuf::{parse, NativeHistogram, ProtoEntry};

use crate::common::{data, free_addr, spawn, wait_for, wait_ok, Peer, Server};

const RULES: &str = r#"groups:
- name: nh
  interval: 1s
  rules:
  - record: h:copy
    expr: nh_rules_h
    labels: {recorded: "yes"}
  - record: job:h:sum
    expr: sum without (instance) (nh_rules_h)
  - alert: NhAlert
    expr: nh_rules_h{instance="a"}
    annotations:
      value: '{{ $value }}'
      count: '{{ $value.Count }} observations'
"#;

/// Debian's Prometheus: native histograms, remote-write receiver, scraping promterm's
/// `/federate` for `h:copy` every second (its series get `via="federate"`).
fn prometheus(dir: &Path, addr: SocketAddr, ours: SocketAddr) -> Peer {
    let file = dir.join("prom.yml");
    std::fs::write(
        &file,
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1h}}\nscrape_configs:\n- job_name: federate\n  honor_labels: true\n  metrics_path: /federate\n  params:\n    'match[]': ['{{__name__=\"h:copy\"}}']\n  static_configs: [{{targets: ['{ours}']}}]\n  metric_relabel_configs:\n  - {{target_label: via, replacement: federate}}\n"
        ),
    )
    .unwrap();
    let p = spawn(
        "prometheus",
        &[
            format!("--config.file={}", file.display()),
            format!("--storage.tsdb.path={}", dir.join("prom").display()),
            format!("--web.listen-address={addr}"),
            "--enable-feature=native-histograms".to_string(),
            "--web.enable-remote-write-receiver".to_string(),
        ],
    );
    wait_ok(addr, "/-/ready");
    p
}

fn span(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

/// Input histogram `k`: schema 0 (bounds print alike in Go and here), zero and negative
/// buckets.
fn input(k: f64) -> FloatHistogram {
    FloatHistogram {
        schema: 0,
        zero_threshold: 0.001,
        zero_count: 1.0,
        count: 4.0 + 3.0 * k,
        sum: 10.5 * k,
        positive_spans: vec![span(0, 2), span(1, 1)],
        positive_buckets: vec![1.0, k, 2.0 * k],
        negative_spans: vec![span(1, 1)],
        negative_buckets: vec![2.0],
        ..FloatHistogram::default()
    }
}

fn post(addr: SocketAddr, series: &[SeriesV1<'_>]) {
    let body = snap::raw::Encoder::new()
        .compress_vec(&encode_v1(series))
        .unwrap();
    let r = reqwest::blocking::Client::new()
        .post(format!("http://{addr}/api/v1/write"))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .body(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    assert_eq!(status, 204, "{}", r.text().unwrap_or_default());
}

/// An instant query's result, series sorted by their labels.
fn query(addr: SocketAddr, q: &str) -> Vec<serde_json::Value> {
    let d = data(addr, &format!("/api/v1/query?query={q}"));
    let mut r = d["result"].as_array().cloned().unwrap_or_default();
    r.sort_by_key(|s| s["metric"].to_string());
    r
}

/// `(instance, histogram JSON or float value)` of each series of a result.
fn values(result: &[serde_json::Value]) -> Vec<(String, serde_json::Value)> {
    result
        .iter()
        .map(|s| {
            let v = if s["histogram"].is_array() {
                s["histogram"][1].clone()
            } else {
                s["value"][1].clone()
            };
            (
                s["metric"]["instance"].as_str().unwrap_or("").to_string(),
                v,
            )
        })
        .collect()
}

#[test]
fn recorded_histograms_federate_remote_write_and_alert() {
    let dir = tempfile::tempdir().unwrap();
    let prom = free_addr();
    let ours_addr = free_addr();
    let _p = prometheus(dir.path(), prom, ours_addr);
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, RULES).unwrap();
    let cfg = dir.path().join("ours.yml");
    std::fs::write(
        &cfg,
        format!(
            "global: {{evaluation_interval: 1s}}\nscrape_configs: []\nrule_files: ['{}']\nremote_write:\n- url: http://{prom}/api/v1/write\n  send_native_histograms: true\n  queue_config: {{batch_send_deadline: 200ms, min_backoff: 50ms, max_backoff: 500ms}}\n  write_relabel_configs:\n  - {{source_labels: [__name__], regex: 'h:copy|job:h:sum', action: keep}}\n",
            rules.display()
        ),
    )
    .unwrap();
    let ours = Server::start_exact(&[
        "--listen",
        &ours_addr.to_string(),
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().join("ours").to_str().unwrap(),
    ]);
    assert_eq!(ours.addr, ours_addr);

    // Two histogram series.
    let t1 = promterm::model::now_ms();
    let a = [("__name__", "nh_rules_h"), ("instance", "a"), ("job", "it")];
    let b = [("__name__", "nh_rules_h"), ("instance", "b"), ("job", "it")];
    let hs = |h: FloatHistogram, t: i64| {
        vec![HistogramSample {
            t,
            h: HistogramValue::Float(h),
        }]
    };
    post(
        ours.addr,
        &[
            SeriesV1 {
                labels: a.to_vec(),
                histograms: hs(input(1.0), t1),
                ..SeriesV1::default()
            },
            SeriesV1 {
                labels: b.to_vec(),
                histograms: hs(input(2.0), t1),
                ..SeriesV1::default()
            },
        ],
    );

    // promterm records them as histograms, labels relabelled.
    wait_for("h:copy recorded in promterm", 30, || {
        values(&query(ours.addr, "h:copy"))
            .iter()
            .filter(|(_, v)| v.is_object())
            .count()
            == 2
    });
    let ours_now = query(ours.addr, "h:copy");
    assert_eq!(ours_now[0]["metric"]["recorded"], "yes", "{ours_now:?}");
    assert_eq!(ours_now[0]["metric"]["__name__"], "h:copy");
    let input_now = query(ours.addr, "nh_rules_h");
    assert_eq!(
        values(&ours_now),
        values(&input_now),
        "the copy holds the input histograms"
    );
    assert_eq!(ours_now[1]["histogram"][1]["count"], "10");
    // The sum of both, by the aggregation over histograms.
    wait_for("job:h:sum recorded in promterm", 30, || {
        values(&query(ours.addr, "job:h:sum"))
            .iter()
            .any(|(_, v)| v.is_object())
    });
    let sum_now = query(ours.addr, "job:h:sum");
    let sum = &sum_now[0]["histogram"][1];
    assert_eq!(
        (&sum["count"], &sum["sum"]),
        (&"17".into(), &"31.5".into()),
        "{sum}"
    );
    assert_eq!(
        sum["buckets"],
        serde_json::json!([
            [1, "-2", "-1", "4"],
            [3, "-0.001", "0.001", "2"],
            [0, "0.5", "1", "2"],
            [0, "1", "2", "3"],
            [0, "4", "8", "6"]
        ]),
        "{sum}"
    );

    // /federate: the recorded histograms in the protobuf format, as HISTOGRAM families.
    let resp = reqwest::blocking::Client::new()
        .get(format!(
            "http://{}/federate?match[]=%7B__name__%3D%22h%3Acopy%22%7D",
            ours.addr
        ))
        .header(
            "Accept",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3",
        )
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ct.contains("encoding=delimited"), "{ct}");
    let body = resp.bytes().unwrap();
    let entries = parse(&body, false).expect("a valid protobuf exposition");
    let mut counts: Vec<(String, f64)> = entries
        .iter()
        .filter_map(|e| match e {
            ProtoEntry::Histogram(h) => {
                let inst = h
                    .labels
                    .labels
                    .iter()
                    .find(|(k, _)| k == "instance")
                    .map(|(_, v)| v.to_string())?;
                let count = match &h.histogram {
                    NativeHistogram::Int(x) => x.count as f64,
                    NativeHistogram::Float(x) => x.count,
                };
                assert_eq!(h.labels.name, "h:copy");
                Some((inst, count))
            }
            _ => None,
        })
        .collect();
    counts.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        counts,
        vec![("a".to_string(), 7.0), ("b".to_string(), 10.0)],
        "{entries:?}"
    );

    // Prometheus gets them by remote write, and by scraping /federate.
    let want = values(&ours_now);
    wait_for("Prometheus holding the remote-written h:copy", 30, || {
        values(&query(prom, "h:copy{via=\"\"}")) == want
    });
    wait_for("Prometheus holding the federated h:copy", 30, || {
        values(&query(prom, "h:copy{via=\"federate\"}")) == want
    });
    let want_sum = values(&sum_now);
    wait_for(
        "Prometheus holding the remote-written job:h:sum",
        30,
        || values(&query(prom, "job:h:sum")) == want_sum,
    );

    // The alert over a histogram expression.
    wait_for("NhAlert firing", 30, || {
        data(ours.addr, "/api/v1/alerts")["alerts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
    let alerts = data(ours.addr, "/api/v1/alerts");
    let al = &alerts["alerts"][0];
    assert_eq!(al["labels"]["alertname"], "NhAlert");
    assert_eq!(al["state"], "firing", "{alerts}");
    assert_eq!(al["value"], "0e+00");
    assert_eq!(
        al["annotations"]["value"],
        "{count:7, sum:10.5, [-2,-1):2, [-0.001,0.001]:1, (0.5,1]:1, (1,2]:1, (4,8]:2}"
    );
    assert_eq!(al["annotations"]["count"], "7 observations");

    // Instance a goes stale and b turns into a float: the copy follows (no a; b a float).
    let t2 = promterm::model::now_ms();
    let stale = f64::from_bits(promterm::model::STALE_NAN_BITS);
    post(
        ours.addr,
        &[
            SeriesV1 {
                labels: a.to_vec(),
                samples: vec![Sample { t: t2, v: stale }],
                ..SeriesV1::default()
            },
            SeriesV1 {
                labels: b.to_vec(),
                samples: vec![Sample { t: t2, v: 42.0 }],
                ..SeriesV1::default()
            },
        ],
    );
    let after = vec![("b".to_string(), serde_json::json!("42"))];
    wait_for("promterm's copy following", 30, || {
        values(&query(ours.addr, "h:copy")) == after
    });
    wait_for("Prometheus's copy following", 30, || {
        values(&query(prom, "h:copy{via=\"\"}")) == after
    });
    // The sum is now over b's float alone: a float.
    let after_sum = vec![(String::new(), serde_json::json!("42"))];
    wait_for("the sum following, in promterm and Prometheus", 30, || {
        values(&query(ours.addr, "job:h:sum")) == after_sum
            && values(&query(prom, "job:h:sum")) == after_sum
    });
    // Prometheus holds a's histograms up to the stale marker, then nothing.
    let d = data(
        prom,
        &format!(
            "/api/v1/query?query=h:copy{{instance=\"a\",via=\"\"}}[1h]&time={}",
            promterm::model::now_ms() as f64 / 1000.0
        ),
    );
    let hs = d["result"][0]["histograms"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!hs.is_empty(), "{d}");
    assert!(hs.iter().all(|h| h[1]["count"] == "7"), "{d}");
}

/// `promterm test rules` runs a rule unit test file with native histograms (Prometheus 3's
/// format: `{{...}}` input series, `histogram:` expectations, an alert over histograms); Debian's
/// promtool 2.42 predates that format and refuses the file.
#[test]
fn histogram_rule_unit_tests_pass_and_promtool_2_42_refuses_the_format() {
    let file = crate::common::testdata("rules/histograms.test.yml");
    let (code, out, err) = crate::common::run(&["test", "rules", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.trim_end().ends_with("11 passed, 0 failed"), "{out}");
    let theirs = std::process::Command::new("promtool")
        .args(["test", "rules", file.to_str().unwrap()])
        .output()
        .expect("promtool");
    assert!(!theirs.status.success(), "{theirs:?}");
    let said = String::from_utf8_lossy(&theirs.stderr);
    assert!(
        said.contains("field histogram not found"),
        "promtool 2.42: {said}"
    );
}
