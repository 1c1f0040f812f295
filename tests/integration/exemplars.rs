//! Exemplars end to end: an OpenMetrics page with exemplars scraped by promterm and by the real
//! Prometheus (Debian's 2.42 with `--enable-feature=exemplar-storage`) from the same config;
//! `/api/v1/query_exemplars` must say the same (series, exemplar labels, values, the explicit
//! timestamps), and promterm keeps its exemplars across a restart (WAL replay).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};

use serde_json::Value;

use crate::common::{data, free_addr, spawn, wait_for, Server};

const PAGE: &str = "# TYPE foo counter\n\
# HELP foo A counter.\n\
foo_total{a=\"1\"} 17.0 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n\
foo_total{a=\"2\"} 18.0 # {trace_id=\"abc\",span_id=\"x\"} 1.5 1600000000.123\n\
# TYPE hist histogram\n\
hist_bucket{le=\"0.5\"} 1 # {trace_id=\"h1\"} 0.25\n\
hist_bucket{le=\"+Inf\"} 2 # {} 3\n\
hist_count 2\n\
hist_sum 3.25\n\
# EOF\n";

/// Serves `PAGE` as OpenMetrics to every request, on a thread, until the process ends.
fn serve_page() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut s in l.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                PAGE.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(PAGE.as_bytes());
        }
    });
    addr
}

/// (series, exemplar labels, value, explicit timestamp or "scrape time") per exemplar, sorted
/// as the server sorted them.
fn exemplars(addr: SocketAddr, query: &str) -> Vec<String> {
    let d = data(addr, &format!("/api/v1/query_exemplars?query={query}"));
    let mut out = Vec::new();
    for s in d.as_array().cloned().unwrap_or_default() {
        for e in s["exemplars"].as_array().unwrap() {
            let ts = e["timestamp"].as_f64().unwrap();
            let when = if ts == 1_600_000_000.123 {
                ts.to_string()
            } else {
                // Without its own timestamp an exemplar gets its scrape's: a recent time.
                assert!(ts > 1_700_000_000.0, "{e}");
                "scrape time".to_string()
            };
            out.push(format!(
                "{} {} {} {when}",
                s["seriesLabels"], e["labels"], e["value"]
            ));
        }
    }
    out
}

fn query_all() -> &'static str {
    "foo_total or hist_bucket"
}

#[test]
fn scraped_exemplars_match_prometheus_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let page = serve_page();
    let prom = free_addr();
    let cfg = dir.path().join("prom.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: om\n    static_configs:\n      - targets: ['{page}']\n"
        ),
    )
    .unwrap();
    let _prom = spawn(
        "prometheus",
        &[
            format!("--config.file={}", cfg.display()),
            format!("--storage.tsdb.path={}", dir.path().join("prom").display()),
            format!("--web.listen-address={prom}"),
            "--enable-feature=exemplar-storage".into(),
        ],
    );
    let data_dir = dir.path().join("ours");
    let args = [
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        data_dir.to_str().unwrap(),
    ];
    let mut ours = Server::start(&args);
    wait_for("promterm's exemplars", 40, || {
        exemplars(ours.addr, query_all()).len() == 4
    });
    crate::common::wait_ok(prom, "/-/ready");
    wait_for("Prometheus's exemplars", 40, || {
        exemplars(prom, query_all()).len() == 4
    });
    // A few more scrapes: exemplars without a timestamp are not stored again.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let got = exemplars(ours.addr, query_all());
    assert_eq!(got, exemplars(prom, query_all()));
    assert_eq!(got.len(), 4, "{got:#?}");
    // The same JSON shape, field for field, for the exemplar with its own timestamp.
    let q = "/api/v1/query_exemplars?query=foo_total{a=\"2\"}";
    let (a, b): (Value, Value) = (data(ours.addr, q), data(prom, q));
    assert_eq!(a, b);
    // Selectors inside functions and binary operations count; offsets do not move the range.
    let q = "sum(rate(foo_total[5m] offset 1h)) / hist_count";
    assert_eq!(exemplars(ours.addr, q), exemplars(prom, q));
    ours.terminate();
    let ours = Server::start(&args);
    let after = exemplars(ours.addr, query_all());
    // Replayed from the WAL (the page may add nothing new: its exemplars repeat).
    assert!(after.len() >= 4, "{after:#?}");
    for e in &got {
        assert!(after.contains(e), "{e} lost in the restart: {after:#?}");
    }
}
