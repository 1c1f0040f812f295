//! The built-in Pushgateway with a real client: the Python `prometheus_client` library's
//! `push_to_gateway`, `pushadd_to_gateway` and `delete_from_gateway`. Pushed groups are stored
//! as Prometheus scraping a Pushgateway with honor_labels would store them, survive a restart,
//! and go stale when deleted.

use std::net::SocketAddr;
use std::process::Command;

use serde_json::Value;

use crate::common::{data, wait_for};
use crate::common::{escape, Server};

fn python(script: &str) {
    let out = Command::new("python3")
        .args(["-c", script])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed (is prometheus_client installed? .ci/run installs it): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn result(addr: SocketAddr, q: &str) -> Value {
    data(addr, &escape(&format!("/api/v1/query?query={q}")))["result"].clone()
}

fn count(addr: SocketAddr, q: &str) -> usize {
    result(addr, q).as_array().map_or(0, Vec::len)
}

#[test]
fn python_prometheus_client_pushes_are_stored_kept_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("p.yml");
    std::fs::write(&cfg, "global: {scrape_interval: 1s}\nscrape_configs: []\n").unwrap();
    let data_dir = dir.path().join("d");
    let args = [
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        data_dir.to_str().unwrap(),
    ];
    let mut srv = Server::start(&args);
    let gw = srv.addr.to_string();
    python(&format!(
        r#"
from prometheus_client import CollectorRegistry, Gauge, Counter, Histogram, push_to_gateway, pushadd_to_gateway
r = CollectorRegistry()
Gauge('job_last_success_unixtime', 'Last success', registry=r).set(1700000000)
Counter('job_records', 'Records processed', registry=r).inc(42)
h = Histogram('job_duration_seconds', 'Duration', buckets=[1, 5], registry=r)
h.observe(0.5); h.observe(3)
push_to_gateway('{gw}', job='batch', registry=r, grouping_key={{'instance': 'box1'}})
r2 = CollectorRegistry()
Gauge('job_extra', 'Pushed with POST', registry=r2).set(7)
pushadd_to_gateway('{gw}', job='batch', registry=r2, grouping_key={{'instance': 'box1'}})
r3 = CollectorRegistry()
Gauge('other_job_value', 'Another group', registry=r3).set(3)
push_to_gateway('{gw}', job='other/with slash', registry=r3)
"#
    ));
    wait_for("pushed samples to be ingested", 10, || {
        count(srv.addr, "job_records_total") == 1 && count(srv.addr, "job_extra") == 1
    });
    let r = result(srv.addr, "job_records_total");
    assert_eq!(
        r[0]["metric"],
        serde_json::json!({"__name__": "job_records_total", "instance": "box1", "job": "batch"})
    );
    assert_eq!(r[0]["value"][1], "42");
    assert_eq!(
        count(srv.addr, "job_duration_seconds_bucket{job=\"batch\"}"),
        3
    );
    assert_eq!(
        count(srv.addr, "job_last_success_unixtime"),
        1,
        "POST kept the PUT's families"
    );
    // A job name with a slash arrives base64-encoded and is decoded.
    assert_eq!(
        count(srv.addr, "other_job_value{job=\"other/with slash\"}"),
        1
    );
    assert_eq!(count(srv.addr, "push_time_seconds"), 2);
    let (code, body) = crate::common::http_post(srv.addr, "/metrics/job/batch", &[], b"bad{ 1\n");
    assert_eq!(code, 400, "{body}");
    // Groups survive a restart.
    assert!(srv.terminate().success());
    let srv = Server::start(&args);
    let gw = srv.addr.to_string();
    wait_for("pushed groups after a restart", 10, || {
        count(srv.addr, "job_extra") == 1
    });
    python(&format!(
        "from prometheus_client import delete_from_gateway\ndelete_from_gateway('{gw}', job='batch', grouping_key={{'instance': 'box1'}})\n"
    ));
    wait_for("the deleted group to go stale", 10, || {
        count(srv.addr, "job_extra") == 0 && count(srv.addr, "job_records_total") == 0
    });
    assert_eq!(
        count(srv.addr, "other_job_value"),
        1,
        "the other group stays"
    );
}

/// A push in the protobuf format (as client_golang's `push` package sends it) with a native
/// histogram: stored as a histogram sample each round, served by the query API, and stale
/// once the group is deleted; an invalid histogram refuses the push, naming series and rule.
#[test]
fn protobuf_pushes_keep_native_histograms() {
    use promterm::textparse::proto::{
        BucketSpan, Histogram, LabelPair, Metric, MetricFamily, MetricType,
    };
    use prost::Message;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("p.yml");
    std::fs::write(&cfg, "global: {scrape_interval: 1s}\nscrape_configs: []\n").unwrap();
    let srv = Server::start(&[
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().join("d").to_str().unwrap(),
    ]);
    let body = |count: u64| {
        let f = MetricFamily {
            name: "batch_seconds".into(),
            r#type: MetricType::Histogram as i32,
            metric: vec![Metric {
                label: vec![LabelPair {
                    name: "step".into(),
                    value: "load".into(),
                }],
                histogram: Some(Histogram {
                    sample_count: count,
                    sample_sum: 3.5,
                    schema: 1,
                    zero_threshold: 0.001,
                    zero_count: 1,
                    positive_span: vec![BucketSpan {
                        offset: 0,
                        length: 2,
                    }],
                    positive_delta: vec![1, 1],
                    ..Histogram::default()
                }),
                ..Metric::default()
            }],
            ..MetricFamily::default()
        };
        let mut out = Vec::new();
        f.encode_length_delimited(&mut out).unwrap();
        out
    };
    let ct = (
        "Content-Type",
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
    );
    let (code, text) = crate::common::http_post(srv.addr, "/metrics/job/nightly", &[ct], &body(4));
    assert_eq!(code, 200, "{text}");
    wait_for("the pushed histogram", 20, || {
        count(srv.addr, "batch_seconds") == 1
    });
    let r = result(srv.addr, "batch_seconds");
    let h = &r[0]["histogram"][1];
    assert_eq!(h["count"], "4", "{r}");
    assert_eq!(h["sum"], "3.5", "{r}");
    assert_eq!(
        h["buckets"].as_array().map(Vec::len),
        Some(3),
        "zero and two: {r}"
    );
    assert_eq!(r[0]["metric"]["job"], "nightly");
    assert_eq!(r[0]["metric"]["step"], "load");
    // Counts that disagree: refused whole, with the series and the rule.
    let (code, text) = crate::common::http_post(srv.addr, "/metrics/job/nightly", &[ct], &body(9));
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("batch_seconds{"), "{text}");
    assert!(text.contains("observation count"), "{text}");
    // Deleted: the histogram series goes stale.
    let (code, _) = crate::common::http(srv.addr, "DELETE", "/metrics/job/nightly");
    assert_eq!(code, 202);
    wait_for("the histogram to go stale", 20, || {
        count(srv.addr, "batch_seconds") == 0
    });
}
