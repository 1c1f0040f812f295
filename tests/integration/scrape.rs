//! Scraping real peers side by side with the real Prometheus (Debian's 2.42): the node
//! exporter, a Pushgateway (honor_labels), a dead target and a target dropped by relabeling,
//! with the same config file. Both must report the same targets (labels, health, discovered
//! labels), the same series after relabeling and the same synthetic series.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{data, free_addr, http_post, spawn, wait_for, wait_ok, Server};

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
    // The same metric metadata (HELP/TYPE/UNIT), all of it and per target.
    assert_eq!(
        data(ours.addr, "/api/v1/metadata"),
        data(prom, "/api/v1/metadata"),
        "metadata differs"
    );
    let tm = |a: SocketAddr| {
        data(
            a,
            "/api/v1/targets/metadata?match_target={job=\"node\"}&metric=node_load1",
        )
    };
    assert_eq!(tm(ours.addr), tm(prom));
    assert_eq!(tm(ours.addr)[0]["type"], "gauge");
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
    // The first self-scrape may precede any append; a later one counts them.
    wait_for("self-instrumentation counting appended samples", 40, || {
        query_value(
            ours.addr,
            "sum(prometheus_tsdb_head_samples_appended_total)",
        )
        .and_then(|v| v.parse::<f64>().ok())
        .is_some_and(|v| v > 0.0)
    });
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
        "--web.enable-lifecycle",
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
    // As Prometheus: state=active answers an empty dropped list (both keys are always there).
    assert_eq!(
        d["droppedTargets"],
        serde_json::json!([]),
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
    // A changed job restarts with its new settings but its series go on: no stale markers
    // (Prometheus's pool reload does the same).
    std::fs::write(
        &cfg,
        base.replace(
            "- job_name: fsd\n",
            "- job_name: fsd\n  scrape_timeout: 900ms\n",
        ),
    )
    .unwrap();
    let (code, body) = http_post(ours.addr, "/-/reload", &[], b"");
    assert_eq!(code, 200, "{body}");
    wait_for("a scrape with the new timeout", 20, || {
        let d = data(ours.addr, "/api/v1/targets?scrapePool=fsd");
        let t = &d["activeTargets"][0];
        t["scrapeTimeout"] == "900ms" && t["health"] == "up"
    });
    assert!(ours.terminate().success());
    let (db, _) =
        promterm::tsdb::Db::open(&dir.path().join("d"), promterm::tsdb::Options::default())
            .unwrap();
    // Stale markers in `up` series with this label.
    let stale_ups = |name: &str, value: &str| -> usize {
        use promterm::storage::Querier;
        let m = [
            promterm::model::Matcher::equal("__name__", "up"),
            promterm::model::Matcher::equal(name, value),
        ];
        db.select(&m, i64::MIN, i64::MAX)
            .unwrap()
            .iter()
            .flat_map(|s| &s.samples)
            .filter(|x| promterm::model::is_stale_nan(x.v))
            .count()
    };
    assert_eq!(
        stale_ups("job", "static"),
        1,
        "a removed job's series end with a stale marker"
    );
    assert_eq!(stale_ups("team", "red"), 1, "so do a removed target's");
    assert_eq!(
        stale_ups("team", "blue"),
        0,
        "a restarted target's series go on"
    );
}

/// HTTPS with a CA, a client certificate and basic auth against the node exporter's TLS
/// server; wrong credentials and an unknown CA fail with clear errors; insecure_skip_verify
/// skips verification.
#[test]
fn tls_client_certs_and_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let tls = crate::common::testdata("tls");
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: {0}/server.crt\n  key_file: {0}/server.key\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: {0}/ca.crt\nbasic_auth_users:\n  alice: $2b$04$hdy8GCr6Amoc.W0s8yIdg.PPlyCqWnxzIDUOcYCOXjUIEtaYCzXVK\n",
            tls.display()
        ),
    )
    .unwrap();
    let ne = free_addr();
    let _ne = spawn(
        "prometheus-node-exporter",
        &[
            format!("--web.listen-address={ne}"),
            format!("--web.config.file={}", web.display()),
            "--collector.disable-defaults".into(),
            "--collector.loadavg".into(),
        ],
    );
    wait_for("the TLS node exporter", 20, || {
        std::net::TcpStream::connect(ne).is_ok()
    });
    std::fs::write(dir.path().join("wrong"), "not-secret\n").unwrap();
    let cfg = dir.path().join("p.yml");
    let t = tls.display();
    std::fs::write(
        &cfg,
        format!(
            r#"global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
- job_name: tls_ok
  scheme: https
  basic_auth: {{username: alice, password: secret}}
  tls_config: {{ca_file: {t}/ca.crt, cert_file: {t}/client.crt, key_file: {t}/client.key}}
  static_configs: [{{targets: ['{ne}']}}]
- job_name: wrong_password
  scheme: https
  basic_auth: {{username: alice, password_file: wrong}}
  tls_config: {{ca_file: {t}/ca.crt}}
  static_configs: [{{targets: ['{ne}']}}]
- job_name: unknown_ca
  scheme: https
  basic_auth: {{username: alice, password: secret}}
  static_configs: [{{targets: ['{ne}']}}]
- job_name: insecure
  scheme: https
  basic_auth: {{username: alice, password: secret}}
  tls_config: {{insecure_skip_verify: true}}
  static_configs: [{{targets: ['{ne}']}}]
"#
        ),
    )
    .unwrap();
    let ours = Server::start(&[
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().join("d").to_str().unwrap(),
    ]);
    let health = |job: &str| -> (String, String) {
        let d = data(ours.addr, &format!("/api/v1/targets?scrapePool={job}"));
        let t = &d["activeTargets"][0];
        (
            t["health"].as_str().unwrap_or("").to_string(),
            t["lastError"].as_str().unwrap_or("").to_string(),
        )
    };
    wait_for("all four TLS targets scraped", 20, || {
        ["tls_ok", "wrong_password", "unknown_ca", "insecure"]
            .iter()
            .all(|j| health(j).0 != "unknown")
    });
    assert_eq!(health("tls_ok"), ("up".into(), String::new()));
    assert_eq!(health("insecure").0, "up");
    let (h, e) = health("wrong_password");
    assert_eq!(h, "down");
    assert!(e.contains("401"), "{e}");
    let (h, e) = health("unknown_ca");
    assert_eq!(h, "down");
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    assert_eq!(
        query_value(ours.addr, "count(node_load1{job=\"tls_ok\"})").as_deref(),
        Some("1")
    );
}

/// The request a scrape sends: path and params, the Accept header that prefers
/// OpenMetrics (as Prometheus 3 negotiates it), the timeout header, and bearer credentials from a file.
#[test]
fn scrape_request_headers_and_params() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut buf = [0u8; 4096];
            let n = c.read(&mut buf).unwrap_or(0);
            let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
            let body = "# TYPE probe_ok gauge\nprobe_ok 1\n";
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    std::fs::write(dir.path().join("token"), "s3cr3t\n").unwrap();
    let cfg = dir.path().join("p.yml");
    std::fs::write(
        &cfg,
        format!(
            "global: {{scrape_interval: 1s, scrape_timeout: 800ms}}\nscrape_configs:\n- job_name: probe\n  metrics_path: /probe\n  params: {{module: [http_2xx], target: [a, b]}}\n  authorization: {{credentials_file: token}}\n  static_configs: [{{targets: ['{addr}']}}]\n- job_name: limited\n  target_limit: 1\n  static_configs: [{{targets: ['{addr}', '127.0.0.1:1']}}]\n"
        ),
    )
    .unwrap();
    let ours = Server::start(&[
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().join("d").to_str().unwrap(),
    ]);
    let req = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a scrape request");
    let lower = req.to_ascii_lowercase();
    assert!(
        req.starts_with("GET /probe?module=http_2xx&target=a&target=b HTTP/1.1\r\n"),
        "{req}"
    );
    assert!(lower.contains("authorization: bearer s3cr3t\r\n"), "{req}");
    // Prometheus 3's negotiation: the default protocols with falling q-weights, `*/*` last.
    assert!(
        lower.contains(
            "accept: application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
             application/openmetrics-text;version=0.0.1;q=0.5,\
             text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
             text/plain;version=0.0.4;q=0.3,*/*;q=0.2\r\n"
        ),
        "{req}"
    );
    assert!(
        lower.contains("x-prometheus-scrape-timeout-seconds: 0.8\r\n"),
        "{req}"
    );
    assert!(lower.contains("user-agent: promterm/"), "{req}");
    wait_for("probe_ok stored", 20, || {
        query_value(ours.addr, "probe_ok{job=\"probe\"}").as_deref() == Some("1")
    });
    // Over its target_limit, a pool scrapes nothing and says why on every target.
    let d = data(ours.addr, "/api/v1/targets?scrapePool=limited");
    let ts = d["activeTargets"].as_array().unwrap();
    assert_eq!(ts.len(), 2);
    for t in ts {
        assert_eq!(t["health"], "down");
        assert!(
            t["lastError"]
                .as_str()
                .unwrap()
                .contains("target_limit exceeded (number of targets: 2, limit: 1)"),
            "{t}"
        );
    }
    assert_eq!(query_value(ours.addr, "count(up{job=\"limited\"})"), None);
}

/// `body_size_limit`: a page larger than the limit fails the scrape with Prometheus's
/// "body size limit exceeded"; the same page under the default limit is scraped.
#[test]
fn body_size_limit_fails_large_pages() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let cfg = dir.path().join("promterm.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: small\n  body_size_limit: 1KB\n  static_configs: [{{targets: ['{addr}']}}]\n- job_name: default\n  static_configs: [{{targets: ['{addr}']}}]\n"
        ),
    )
    .unwrap();
    let data_dir = dir.path().join("data");
    let addr_s = addr.to_string();
    let srv = Server::start_exact(&[
        "--headless",
        "--listen",
        &addr_s,
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        data_dir.to_str().unwrap(),
    ]);
    wait_for("one target down for its size, one up", 30, || {
        let t = |job: &str| target_health(srv.addr, job);
        matches!(t("small"), Some((h, e)) if h == "down" && e == "body size limit exceeded")
            && matches!(t("default"), Some((h, _)) if h == "up")
    });
}

/// (health, lastError) of the first active target of `job` at a server's targets API.
pub(crate) fn target_health(addr: SocketAddr, job: &str) -> Option<(String, String)> {
    data(addr, "/api/v1/targets")["activeTargets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["labels"]["job"] == job)
        .map(|t| {
            (
                t["health"].as_str().unwrap_or("").to_string(),
                t["lastError"].as_str().unwrap_or("").to_string(),
            )
        })
}
