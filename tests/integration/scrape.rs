//! Scraping real peers side by side with the real Prometheus (Debian's 2.42): the node
//! exporter, a Pushgateway (honor_labels), a dead target and a target dropped by relabeling,
//! with the same config file. Both must report the same targets (labels, health, discovered
//! labels), the same series after relabeling and the same synthetic series.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{http, http_post, Server};

/// A peer process, killed on drop.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn spawn(cmd: &str, args: &[String]) -> Peer {
    Peer(
        Command::new(cmd)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {cmd} (is its Debian package installed?): {e}")),
    )
}

fn wait_ok(addr: SocketAddr, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() && http(addr, "GET", path).0 == 200 {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{addr}{path} never answered 200");
}

fn data(addr: SocketAddr, path: &str) -> Value {
    let (code, body) = http(addr, "GET", path);
    assert_eq!(code, 200, "{path}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    v["data"].clone()
}

/// Series label sets as sorted "k=v,..." strings.
fn series(addr: SocketAddr, matcher: &str) -> BTreeSet<String> {
    let d = data(addr, &format!("/api/v1/series?match[]={matcher}"));
    d.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let o = s.as_object().unwrap();
            let mut pairs: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                .collect();
            pairs.sort();
            pairs.join(",")
        })
        .collect()
}

/// (pool, labels, health, discovered labels) per active target, and dropped targets.
fn targets(addr: SocketAddr) -> (BTreeSet<String>, BTreeSet<String>) {
    let d = data(addr, "/api/v1/targets");
    let active = d["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{} {} {} {}",
                t["scrapePool"], t["labels"], t["health"], t["discoveredLabels"]
            )
        })
        .collect();
    let dropped = d["droppedTargets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["discoveredLabels"].to_string())
        .collect();
    (active, dropped)
}

#[test]
fn scraping_matches_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let (ne, pg, prom, dead) = (free_addr(), free_addr(), free_addr(), free_addr());
    let _ne = spawn(
        "prometheus-node-exporter",
        &[
            format!("--web.listen-address={ne}"),
            // A fixed, small set of collectors keeps both scrapes comparable.
            "--collector.disable-defaults".into(),
            "--collector.loadavg".into(),
            "--collector.meminfo".into(),
            "--collector.stat".into(),
        ],
    );
    let _pg = spawn(
        "prometheus-pushgateway",
        &[
            format!("--web.listen-address={pg}"),
            format!("--persistence.file={}", dir.path().join("pg").display()),
        ],
    );
    wait_ok(ne, "/metrics");
    wait_ok(pg, "/metrics");
    let (code, body) = http_post(
        pg,
        "/metrics/job/nightly/instance/batch1",
        &[],
        b"# TYPE last_success_seconds gauge\nlast_success_seconds 1700000000\nrows_total{table=\"users\"} 42\n",
    );
    assert!(code == 200 || code == 202, "push: {code} {body}");
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['{ne}']
        labels: {{env: test}}
    metric_relabel_configs:
      - {{source_labels: [__name__], regex: 'go_.*|process_.*|promhttp_.*', action: drop}}
      - {{source_labels: [__name__], regex: 'node_memory_(.*)_bytes', target_label: kind, replacement: '$1'}}
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ['{pg}']
    metric_relabel_configs:
      - {{source_labels: [job], regex: 'nightly', action: keep}}
  - job_name: dead
    static_configs:
      - targets: ['{dead}']
  - job_name: dropper
    relabel_configs:
      - {{source_labels: [__address__], regex: '.*:9', action: drop}}
    static_configs:
      - targets: ['127.0.0.1:9', '{dead}']
"#
        ),
    )
    .unwrap();
    let _prom = spawn(
        "prometheus",
        &[
            format!("--config.file={}", cfg.display()),
            format!("--storage.tsdb.path={}", dir.path().join("prom").display()),
            format!("--web.listen-address={prom}"),
        ],
    );
    let ours = Server::start(&[
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().join("ours").to_str().unwrap(),
    ]);
    wait_ok(prom, "/-/ready");
    // Wait until both have scraped every target at least twice.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (a, _) = targets(ours.addr);
        let (b, _) = targets(prom);
        let settled =
            |s: &BTreeSet<String>| s.len() == 4 && !s.iter().any(|t| t.contains("\"unknown\""));
        if settled(&a) && settled(&b) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "targets never settled:\nours {a:#?}\nprometheus {b:#?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(3));

    let (ours_active, ours_dropped) = targets(ours.addr);
    let (prom_active, prom_dropped) = targets(prom);
    assert_eq!(ours_active, prom_active, "active targets differ");
    assert_eq!(ours_dropped, prom_dropped, "dropped targets differ");
    assert_eq!(ours_dropped.len(), 1);

    for m in [
        "{job=\"node\"}",
        "{job=\"nightly\"}",
        "{__name__=~\"up|scrape_.+\"}",
    ] {
        let a = series(ours.addr, m);
        let b = series(prom, m);
        assert!(!a.is_empty(), "{m}: no series");
        assert_eq!(
            a.symmetric_difference(&b).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "{m}: series differ (ours {} vs prometheus {})",
            a.len(),
            b.len()
        );
    }
    // The relabeling took effect (go_* dropped, a kind label added).
    let node = series(ours.addr, "{job=\"node\"}");
    assert!(node.iter().all(|s| !s.contains("__name__=go_")));
    assert!(node.iter().any(|s| s.contains("kind=MemTotal")));
    // Same values for something stable.
    let q =
        |a: SocketAddr| data(a, "/api/v1/query?query=rows_total")["result"][0]["value"][1].clone();
    assert_eq!(q(ours.addr), Value::String("42".into()));
    assert_eq!(q(ours.addr), q(prom));
}

fn query_value(addr: SocketAddr, q: &str) -> Option<String> {
    let d = data(
        addr,
        &format!("/api/v1/query?query={}", q.replace('+', "%2B")),
    );
    d["result"][0]["value"][1].as_str().map(str::to_string)
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Without a config promterm scrapes its own /metrics and its host collector.
#[test]
fn embedded_default_scrapes_itself_and_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Server::start(&["--headless", "--data", dir.path().to_str().unwrap()]);
    wait_for("both embedded targets up", 40, || {
        query_value(ours.addr, "sum(up)").as_deref() == Some("2")
    });
    let load = query_value(ours.addr, "count(node_load1{job=\"node\"})");
    assert_eq!(load.as_deref(), Some("1"));
    let cpu = query_value(ours.addr, "count(node_cpu_seconds_total{mode=\"idle\"})").unwrap();
    assert!(cpu.parse::<u32>().unwrap() >= 1);
    let appended = query_value(ours.addr, "promterm_tsdb_samples_appended_total").unwrap();
    assert!(appended.parse::<f64>().unwrap() > 0.0);
}

/// File SD changes apply within seconds; /-/reload applies a new config, refuses a bad one
/// (the running config stays), keeps unchanged targets running and makes removed targets'
/// series stale.
#[test]
fn file_sd_reload_and_staleness() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (free_addr(), free_addr());
    let _na = spawn(
        "prometheus-node-exporter",
        &[
            format!("--web.listen-address={a}"),
            "--collector.disable-defaults".into(),
            "--collector.loadavg".into(),
        ],
    );
    let _nb = spawn(
        "prometheus-node-exporter",
        &[
            format!("--web.listen-address={b}"),
            "--collector.disable-defaults".into(),
            "--collector.loadavg".into(),
        ],
    );
    wait_ok(a, "/metrics");
    wait_ok(b, "/metrics");
    let sd = dir.path().join("targets.json");
    std::fs::write(
        &sd,
        format!(r#"[{{"targets": ["{a}"], "labels": {{"team": "red"}}}}]"#),
    )
    .unwrap();
    let cfg = dir.path().join("p.yml");
    let base = format!(
        "global: {{scrape_interval: 1s, scrape_timeout: 1s}}\nscrape_configs:\n- job_name: fsd\n  file_sd_configs: [{{files: ['{}']}}]\n",
        sd.display()
    );
    std::fs::write(&cfg, &base).unwrap();
    let mut ours = Server::start(&[
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().join("d").to_str().unwrap(),
    ]);
    wait_for("the file SD target", 20, || {
        query_value(ours.addr, "up{team=\"red\"}").as_deref() == Some("1")
    });
    let d = data(ours.addr, "/api/v1/targets?state=active");
    assert!(d["activeTargets"][0]["discoveredLabels"]["__meta_filepath"]
        .as_str()
        .unwrap()
        .ends_with("targets.json"));
    assert!(
        d.get("droppedTargets").is_none(),
        "state=active leaves dropped out"
    );
    // Change the file: the target moves to b and a's series go stale.
    std::fs::write(
        &sd,
        format!(r#"[{{"targets": ["{b}"], "labels": {{"team": "blue"}}}}]"#),
    )
    .unwrap();
    wait_for("the changed file SD target", 20, || {
        query_value(ours.addr, "up{team=\"blue\"}").as_deref() == Some("1")
    });
    wait_for("stale markers for the removed target", 10, || {
        query_value(ours.addr, &format!("count(node_load1{{instance=\"{a}\"}})")).is_none()
    });

    // A bad config is refused with its error; the running one stays.
    std::fs::write(
        &cfg,
        "scrape_configs:\n- job_name: x\n  scrape_interval: often\n",
    )
    .unwrap();
    let (code, body) = http_post(ours.addr, "/-/reload", &[], b"");
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("often"), "{body}");
    assert_eq!(
        query_value(ours.addr, "up{team=\"blue\"}").as_deref(),
        Some("1")
    );

    // A good config adds a job; the unchanged job keeps its target (no restart: it has been
    // scraped already, so its health is not "unknown" right after the reload).
    std::fs::write(
        &cfg,
        format!("{base}- job_name: static\n  static_configs: [{{targets: ['{a}']}}]\n"),
    )
    .unwrap();
    let (code, body) = http_post(ours.addr, "/-/reload", &[], b"");
    assert_eq!(code, 200, "{body}");
    let d = data(ours.addr, "/api/v1/targets?scrapePool=fsd");
    assert_eq!(d["activeTargets"].as_array().unwrap().len(), 1);
    assert_eq!(d["activeTargets"][0]["health"], "up");
    wait_for("the new static job", 20, || {
        query_value(ours.addr, "up{job=\"static\"}").as_deref() == Some("1")
    });
    // SIGHUP reloads too: back to the file SD job alone, static's series go stale.
    std::fs::write(&cfg, &base).unwrap();
    let status = Command::new("kill")
        .args(["-HUP", &ours.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for("the static job to go away", 20, || {
        query_value(ours.addr, "up{job=\"static\"}").is_none()
    });
    assert!(ours.terminate().success());
}
