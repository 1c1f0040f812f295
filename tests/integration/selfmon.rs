//! Self-monitoring the ecosystem can read: every metric the prometheus-mixin alerts and
//! dashboards use is at promterm's `/metrics` with Prometheus's type and labels
//! (testdata/selfmon/prometheus-mixin-metrics.txt), and mixin alert expressions evaluated over
//! promterm's own scraped metrics fire when they should and stay empty otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use serde_json::Value;

use crate::common::{data, free_addr, spawn, wait_for, wait_ok};
use crate::common::{escape, http, http_post, testdata, Server};

/// One line of the pinned list.
struct Expected {
    name: String,
    kind: String,
    labels: BTreeSet<String>,
    absent: bool,
}

fn expected() -> Vec<Expected> {
    let text = std::fs::read_to_string(testdata("selfmon/prometheus-mixin-metrics.txt")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Expected {
                name: f[0].to_string(),
                kind: f[1].to_string(),
                labels: match f[2] {
                    "-" => BTreeSet::new(),
                    ls => ls.split(',').map(str::to_string).collect(),
                },
                absent: l.contains("absent:"),
            }
        })
        .collect()
}

/// Types by family name (OpenMetrics: counters without `_total`), and the label names seen
/// on each sample name.
fn parse(page: &str) -> (BTreeMap<String, String>, BTreeMap<String, BTreeSet<String>>) {
    let mut types = BTreeMap::new();
    let mut labels: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for l in page.lines() {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let (n, t) = rest.split_once(' ').unwrap();
            types.insert(n.to_string(), t.to_string());
        } else if !l.starts_with('#') && !l.is_empty() {
            let end = l.find(['{', ' ']).unwrap();
            let set = labels.entry(l[..end].to_string()).or_default();
            if let Some(inner) = l[end..].strip_prefix('{').and_then(|r| r.split_once("} ")) {
                for pair in inner.0.split("\",") {
                    if let Some((k, _)) = pair.split_once('=') {
                        set.insert(k.to_string());
                    }
                }
            }
        }
    }
    (types, labels)
}

/// A running promterm that scrapes itself every second, evaluates a good and a failing rule
/// group, has an Alertmanager and a remote-write endpoint configured (nobody listens there).
struct Setup {
    ours: Server,
    dir: tempfile::TempDir,
}

fn config(addr: SocketAddr, dead: SocketAddr) -> String {
    format!(
        "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
         rule_files: [rules.yml]\n\
         alerting:\n  alertmanagers:\n  - static_configs: [{{targets: ['{dead}']}}]\n\
         remote_write:\n- url: http://{dead}/api/v1/write\n  name: nowhere\n\
         scrape_configs:\n- job_name: self\n  static_configs: [{{targets: ['{addr}']}}]\n"
    )
}

fn start() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    // `failing` has two series against a limit of one: every evaluation fails.
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n- name: good\n  rules:\n  - record: one\n    expr: vector(1)\n\
         - name: failing\n  limit: 1\n  rules:\n  - record: two\n    \
         expr: vector(1) or label_replace(vector(2), \"x\", \"y\", \"\", \"\")\n",
    )
    .unwrap();
    let addr = free_addr();
    let dead = free_addr();
    let cfg = dir.path().join("p.yml");
    std::fs::write(&cfg, config(addr, dead)).unwrap();
    let ours = Server::start_exact(&[
        "--listen",
        &addr.to_string(),
        "--headless",
        "--web.enable-lifecycle",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().join("d").to_str().unwrap(),
    ]);
    Setup { ours, dir }
}

fn query(addr: SocketAddr, q: &str) -> Vec<Value> {
    let path = escape(&format!(
        "/api/v1/query?query={}",
        q.replace('+', "%2B").replace(' ', "%20")
    ));
    data(addr, &path)["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Every metric of the pinned list is exposed (or, where promterm has no counterpart,
/// honestly absent) with Prometheus's type and labels.
#[test]
fn mixin_metrics_have_prometheus_names_types_and_labels() {
    let s = start();
    let addr = s.ours.addr;
    // Two self-scrapes give an interval; the rule groups and the sender have run.
    wait_for("two self-scrapes and rule evaluations", 60, || {
        let (_, page) = http(addr, "GET", "/metrics");
        page.contains("prometheus_target_interval_length_seconds_count{interval=\"1s\"}")
            && page.contains("prometheus_rule_evaluations_total{rule_group=")
            && !page.contains("prometheus_target_interval_length_seconds_count{interval=\"1s\"} 0")
    });
    let _ = query(addr, "up");
    let (code, page) = http(addr, "GET", "/metrics");
    assert_eq!(code, 200);
    let (types, labels) = parse(&page);
    let mut problems = Vec::new();
    for e in expected() {
        let family = match e.kind.as_str() {
            "counter" => e.name.trim_end_matches("_total").to_string(),
            _ => e.name.clone(),
        };
        let sample = match e.kind.as_str() {
            "summary" => format!("{}_count", e.name),
            "histogram" => format!("{}_count", e.name),
            _ => e.name.clone(),
        };
        let got = types.get(&family);
        if e.absent {
            if got.is_some() {
                problems.push(format!("{}: listed as absent but exposed", e.name));
            }
            continue;
        }
        if got != Some(&e.kind) {
            problems.push(format!("{}: type {got:?}, want {}", e.name, e.kind));
            continue;
        }
        let mut want = e.labels.clone();
        want.remove("quantile");
        match labels.get(&sample) {
            None => problems.push(format!("{}: no sample {sample}", e.name)),
            Some(l) if *l != want => {
                problems.push(format!("{}: labels {l:?}, want {want:?}", e.name))
            }
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}\n\n{page}", problems.join("\n"));
    // The promterm-only ones keep their prefix.
    for name in [
        "promterm_tsdb_flushes_total",
        "promterm_engine_queries_waiting",
    ] {
        assert!(page.contains(name), "{name}\n{page}");
    }
    // Labels carry Prometheus's values.
    for want in [
        "prometheus_rule_group_rules{rule_group=\"",
        "rules.yml;good\"} 1",
        "prometheus_sd_discovered_targets{config=\"self\",name=\"scrape\"} 1",
        "prometheus_sd_discovered_targets{config=\"config-0\",name=\"notify\"} 1",
        "prometheus_http_requests_total{code=\"200\",handler=\"/metrics\"}",
        "prometheus_http_requests_total{code=\"200\",handler=\"/api/v1/query\"}",
        "prometheus_remote_storage_shards_max{remote_name=\"nowhere\",url=\"http://",
        "prometheus_config_last_reload_successful 1",
        "prometheus_ready 1",
    ] {
        assert!(page.contains(want), "{want}\n{page}");
    }
    drop(s);
}

/// Mixin alert expressions over promterm's own scraped metrics (ranges shortened from the
/// mixin's 5m so the test runs in seconds).
#[test]
fn mixin_alerts_fire_on_promterm_data() {
    let mut s = start();
    let addr = s.ours.addr;
    // PrometheusRuleFailures: the failing group, and only it.
    let failures = "increase(prometheus_rule_evaluation_failures_total[1m]) > 0";
    wait_for("the rule failures alert", 60, || {
        !query(addr, failures).is_empty()
    });
    let firing = query(addr, failures);
    assert_eq!(firing.len(), 1, "{firing:?}");
    let group = firing[0]["metric"]["rule_group"].as_str().unwrap();
    assert!(group.ends_with("rules.yml;failing"), "{group}");
    // PrometheusNotIngestingSamples stays quiet: samples are appended, rules are loaded.
    let not_ingesting = "(rate(prometheus_tsdb_head_samples_appended_total[10s]) <= 0 \
        and (sum without(scrape_job) (prometheus_target_metadata_cache_entries) > 0 \
        or sum without(rule_group) (prometheus_rule_group_rules) > 0))";
    assert!(query(addr, not_ingesting).is_empty());
    // PrometheusNotConnectedToAlertmanagers stays quiet: one is configured.
    assert!(query(
        addr,
        "max_over_time(prometheus_notifications_alertmanagers_discovered[1m]) < 1"
    )
    .is_empty());
    // PrometheusHighQueryLoad stays quiet on an idle server.
    assert!(query(
        addr,
        "avg_over_time(prometheus_engine_queries[1m]) / max_over_time(prometheus_engine_queries_concurrent_max[1m]) > 0.8"
    )
    .is_empty());
    // PrometheusBadConfig: empty after a good load, fires after a bad reload.
    let bad_config = "max_over_time(prometheus_config_last_reload_successful[3s]) == 0";
    assert!(query(addr, bad_config).is_empty());
    std::fs::write(s.dir.path().join("p.yml"), "scrape_configs: [nonsense\n").unwrap();
    let (code, body) = http_post(addr, "/-/reload", &[], b"");
    assert_eq!(code, 500, "{body}");
    wait_for("the bad config alert", 60, || {
        !query(addr, bad_config).is_empty()
    });
    assert!(s.ours.terminate().success());
}

/// The pinned list itself matches the real thing: Debian's `prometheus` exposes each listed
/// metric (including those promterm leaves absent) with the listed type and labels.
#[test]
fn pinned_list_matches_debian_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    // promterm receives Prometheus's remote write, so the sent-timestamp gauge appears.
    let ours = Server::start(&[
        "--headless",
        "--data",
        dir.path().join("ours").to_str().unwrap(),
    ]);
    let prom = free_addr();
    let dead = free_addr();
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n- name: g\n  rules:\n  - record: one\n    expr: vector(1)\n  - alert: Always\n    expr: vector(1)\n",
    )
    .unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             rule_files: [rules.yml]\n\
             alerting:\n  alertmanagers:\n  - static_configs: [{{targets: ['{dead}']}}]\n\
             remote_write:\n- url: http://{}/api/v1/write\n  name: rw\n\
             scrape_configs:\n- job_name: self\n  static_configs: [{{targets: ['{prom}']}}]\n",
            ours.addr
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
    wait_ok(prom, "/-/ready");
    let mut page = String::new();
    wait_for(
        "Prometheus to send, notify and scrape itself twice",
        60,
        || {
            page = http(prom, "GET", "/metrics").1;
            [
                "prometheus_remote_storage_queue_highest_sent_timestamp_seconds{",
                "prometheus_notifications_sent_total{",
                "prometheus_target_interval_length_seconds_count{",
            ]
            .iter()
            .all(|m| page.contains(m))
        },
    );
    let (types, labels) = parse(&page);
    let mut problems = Vec::new();
    for e in expected() {
        let sample = match e.kind.as_str() {
            "summary" | "histogram" => format!("{}_count", e.name),
            _ => e.name.clone(),
        };
        let got = types.get(&e.name);
        if got != Some(&e.kind) {
            problems.push(format!(
                "{}: Prometheus says {got:?}, listed {}",
                e.name, e.kind
            ));
            continue;
        }
        let mut want = e.labels.clone();
        want.remove("quantile");
        let got = labels.get(&sample).cloned().unwrap_or_default();
        if got != want {
            problems.push(format!(
                "{}: Prometheus has {got:?}, listed {want:?}",
                e.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}\n\n{page}", problems.join("\n"));
}
