//! `promtool query instant|range|series|labels` (Debian's Prometheus 2.42) prints exactly the
//! same against promterm as against a real Prometheus holding the same data, sent to both by
//! remote write. Values are multiples of 0.5 so that every result is exact: promterm follows
//! Prometheus 3.x arithmetic (compensated sums, its rate extrapolation order), which can differ
//! from 2.42's in the last digit.

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use promterm::model::Sample;
use promterm::remote::proto::{encode_write_request, SeriesToEncode};

use crate::common::{http, http_post, Server};

fn write(addr: SocketAddr, series: &[SeriesToEncode<'_>]) {
    let body = snap::raw::Encoder::new()
        .compress_vec(&encode_write_request(series))
        .unwrap();
    let (code, msg) = http_post(
        addr,
        "/api/v1/write",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
        &body,
    );
    assert!(code == 204 || code == 200, "{addr}: {code} {msg}");
}

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run promtool (Debian package prometheus)");
    format!(
        "exit {}\n{}{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn promtool_query_prints_the_same_for_both() {
    let dir = tempfile::tempdir().unwrap();
    let prom = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    std::fs::write(dir.path().join("p.yml"), "global: {scrape_interval: 1h}\n").unwrap();
    let mut p = Command::new("prometheus")
        .args([
            format!("--config.file={}", dir.path().join("p.yml").display()),
            format!("--storage.tsdb.path={}", dir.path().join("pd").display()),
            format!("--web.listen-address={prom}"),
            "--web.enable-remote-write-receiver".into(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    // Same config as Prometheus: no scrape jobs (the embedded default would scrape promterm
    // itself and add its own `instance` to the label values, depending on timing).
    let ours = Server::start(&[
        "--headless",
        "--config",
        dir.path().join("p.yml").to_str().unwrap(),
        "--data",
        dir.path().join("od").to_str().unwrap(),
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(prom).is_err() || http(prom, "GET", "/-/ready").0 != 200 {
        assert!(Instant::now() < deadline, "prometheus not ready");
        std::thread::sleep(Duration::from_millis(200));
    }

    // 20 minutes of data at 15s, ending a minute ago (inside both heads' windows).
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let end = now_ms / 60_000 * 60_000 - 60_000;
    let start = end - 20 * 60_000;
    let steps: Vec<i64> = (0..=80).map(|i| start + i * 15_000).collect();
    let insts = ["a:1", "b:1", "c:1"];
    let codes = ["200", "500"];
    for chunk in steps.chunks(20) {
        let mut batch: Vec<SeriesToEncode<'_>> = Vec::new();
        for (i, inst) in insts.iter().enumerate() {
            for (j, code) in codes.iter().enumerate() {
                let samples = chunk
                    .iter()
                    .map(|&t| {
                        let k = (t - start) / 15_000;
                        Sample {
                            t,
                            v: (k * (i as i64 + 1) * (j as i64 * 3 + 1)) as f64 * 1.5,
                        }
                    })
                    .collect();
                batch.push((
                    vec![
                        ("__name__", "http_requests_total"),
                        ("code", code),
                        ("instance", inst),
                        ("job", "api"),
                    ],
                    samples,
                ));
            }
            let g = chunk
                .iter()
                .map(|&t| Sample {
                    t,
                    v: ((t - start) / 15_000 % 7) as f64 / 4.0 + i as f64,
                })
                .collect();
            batch.push((
                vec![
                    ("__name__", "queue_depth"),
                    ("instance", inst),
                    ("job", "worker"),
                ],
                g,
            ));
        }
        write(prom, &batch);
        write(ours.addr, &batch);
    }

    let t = format!("{}", (end - 2 * 60_000) / 1000);
    let (s, e) = (
        format!("{}", (start + 5 * 60_000) / 1000),
        format!("{}", end / 1000),
    );
    let cases: Vec<Vec<String>> = vec![
        vec![
            "instant".into(),
            format!("--time={t}"),
            "SERVER".into(),
            "http_requests_total".into(),
        ],
        vec![
            "instant".into(),
            format!("--time={t}"),
            "SERVER".into(),
            "sum by (code) (http_requests_total)".into(),
        ],
        vec![
            "instant".into(),
            format!("--time={t}"),
            "SERVER".into(),
            "max_over_time(queue_depth[10m]) > 1".into(),
        ],
        vec![
            "instant".into(),
            format!("--time={t}"),
            "SERVER".into(),
            "scalar(sum(queue_depth))".into(),
        ],
        vec![
            "instant".into(),
            format!("--time={t}"),
            "SERVER".into(),
            "sum(".into(),
        ],
        vec![
            "range".into(),
            format!("--start={s}"),
            format!("--end={e}"),
            "--step=1m".into(),
            "SERVER".into(),
            "avg by (job) (queue_depth)".into(),
        ],
        vec![
            "range".into(),
            format!("--start={s}"),
            format!("--end={e}"),
            "--step=5m".into(),
            "SERVER".into(),
            "http_requests_total{code=\"500\"} - http_requests_total{code=\"500\"} offset 5m"
                .into(),
        ],
        vec![
            "series".into(),
            "--match=queue_depth".into(),
            "--match={code=\"200\"}".into(),
            "SERVER".into(),
        ],
        vec!["labels".into(), "SERVER".into(), "instance".into()],
        vec!["labels".into(), "SERVER".into(), "__name__".into()],
    ];
    for c in cases {
        let run = |addr: SocketAddr| {
            let url = format!("http://{addr}");
            let mut args: Vec<&str> = vec!["query"];
            args.extend(c.iter().map(|a| {
                if a == "SERVER" {
                    url.as_str()
                } else {
                    a.as_str()
                }
            }));
            promtool(&args).replace(&addr.to_string(), "SERVER")
        };
        let (a, b) = (run(ours.addr), run(prom));
        assert!(a.len() > "exit 0\n".len(), "{c:?}: empty output");
        assert_eq!(
            a, b,
            "promtool query {c:?} differs (left promterm, right Prometheus)"
        );
    }
    let _ = p.kill();
    let _ = p.wait();
}
