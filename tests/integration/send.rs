//! Remote-write sending into a real Prometheus (Debian's, with its remote-write receiver):
//! samples written to promterm arrive, and a receiver that goes down and comes back misses
//! nothing (the sender retries from the WAL, in order).

use std::net::SocketAddr;
use std::time::Duration;

use promterm::model::Sample;
use promterm::remote::proto::encode_write_request;

use crate::common::{data, free_addr, spawn, wait_for, wait_ok};
use crate::common::{escape, http, http_post, Server};

fn write(addr: SocketAddr, t: i64, v: f64) {
    let body = snap::raw::Encoder::new()
        .compress_vec(&encode_write_request(&[(
            vec![("__name__", "forwarded"), ("job", "it")],
            vec![Sample { t, v }],
        )]))
        .unwrap();
    let (code, msg) = http_post(
        addr,
        "/api/v1/write",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
        ],
        &body,
    );
    assert_eq!(code, 204, "{msg}");
}

/// Samples of `forwarded` Prometheus holds.
fn received(prom: SocketAddr) -> usize {
    let d = data(
        prom,
        &escape("/api/v1/query?query=count_over_time(forwarded{job=\"it\"}[1h])"),
    );
    d["result"][0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn remote_write_reaches_prometheus_across_a_receiver_restart() {
    let dir = tempfile::tempdir().unwrap();
    let prom = free_addr();
    let start_prom = || {
        spawn(
            "prometheus",
            &[
                format!("--config.file={}", dir.path().join("prom.yml").display()),
                format!("--storage.tsdb.path={}", dir.path().join("prom").display()),
                format!("--web.listen-address={prom}"),
                "--web.enable-remote-write-receiver".into(),
            ],
        )
    };
    std::fs::write(
        dir.path().join("prom.yml"),
        "global: {scrape_interval: 1h}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("ours.yml"),
        format!(
            "scrape_configs: []\nremote_write:\n- url: http://{prom}/api/v1/write\n  name: to-prom\n  queue_config: {{batch_send_deadline: 200ms, min_backoff: 50ms, max_backoff: 500ms}}\n  write_relabel_configs:\n  - {{source_labels: [__name__], regex: 'forwarded', action: keep}}\n"
        ),
    )
    .unwrap();
    let mut p = start_prom();
    wait_ok(prom, "/-/ready");
    let ours = Server::start(&[
        "--headless",
        "--config",
        dir.path().join("ours.yml").to_str().unwrap(),
        "--data",
        dir.path().join("ours").to_str().unwrap(),
        "--storage.flush-interval",
        "1s",
    ]);
    let now = promterm::model::now_ms();
    for i in 0..10 {
        write(ours.addr, now - 60_000 + i * 1000, i as f64);
    }
    wait_for("the first 10 samples in Prometheus", 20, || {
        received(prom) == 10
    });
    // The receiver goes away; writes go on (and flushes would delete WAL segments).
    drop(p);
    for i in 10..30 {
        write(ours.addr, now - 60_000 + i * 1000, i as f64);
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let (_, metrics) = http(ours.addr, "GET", "/metrics");
    assert!(
        metrics.contains("promterm_remote_write_requests_failed_total{remote_name=\"to-prom\""),
        "{metrics}"
    );
    p = start_prom();
    wait_ok(prom, "/-/ready");
    wait_for("all 30 samples in Prometheus, no gap", 30, || {
        received(prom) == 30
    });
    let d = data(prom, &escape("/api/v1/query?query=forwarded"));
    assert_eq!(d["result"][0]["value"][1], "29");
    let (_, metrics) = http(ours.addr, "GET", "/metrics");
    let sent = metrics
        .lines()
        .find(|l| l.starts_with("prometheus_remote_storage_samples_total{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok());
    assert_eq!(sent, Some(30.0), "{metrics}");
    // The same counters for the TUI.
    let (code, body) = http(ours.addr, "GET", "/api/v1/status/remote_write");
    assert_eq!(code, 200);
    assert!(
        body.contains("\"name\":\"to-prom\"") && body.contains("\"sent\":30"),
        "{body}"
    );
    drop(p);
}
