//! Rules side by side with the real Prometheus (Debian's 2.42): the same rule file and
//! targets (a Pushgateway), each sending to its own real Alertmanager (Debian's
//! `prometheus-alertmanager`). The Alertmanagers must receive the same alerts, labels and
//! annotations (templates included); `/api/v1/rules` and `/api/v1/alerts` must agree on names,
//! types, states and health; recorded series must be identical; resolution must reach
//! Alertmanager. Also: `promterm test rules` and `promterm check rules` agree with promtool.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use serde_json::Value;

use crate::common::{data, free_addr, spawn, wait_for, wait_ok};
use crate::common::{http, http_post, run, testdata, Server};

const RULES: &str = r#"groups:
- name: it
  interval: 1s
  rules:
  - record: job:temperature:max
    expr: max by (job) (temperature_celsius)
  - alert: HotRoom
    expr: temperature_celsius > 25
    labels:
      severity: '{{ if gt $value 30.0 }}page{{ else }}ticket{{ end }}'
      room_upper: '{{ $labels.room | toUpper }}'
    annotations:
      summary: '{{ $labels.room }} is {{ printf "%.1f" $value }} C ({{ humanize $value }})'
      free: '{{ with query "disk_free_bytes" }}{{ . | first | value | humanize1024 }}B{{ end }}'
      cluster: '{{ $externalLabels.cluster }}'
      text: '{{ title "hot room" }} {{ reReplaceAll "(o+)" "[$1]" $labels.room }} {{ humanizeDuration 3725 }} {{ humanizePercentage 0.256 }}'
  - alert: Always
    expr: vector(1)
    labels: {severity: info}
  - alert: NeverYet
    expr: vector(1)
    for: 1h
  - alert: KeepFiring
    expr: temperature_celsius{room="lab"} > 25
    keep_firing_for: 10m
"#;

/// Alertmanager's active alerts as sorted "labels | annotations | generator path" lines.
fn am_alerts(am: SocketAddr) -> BTreeSet<String> {
    let (code, body) = http(am, "GET", "/api/v2/alerts");
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let gen = a["generatorURL"].as_str().unwrap_or("");
            let path = gen.find("/graph").map_or("", |i| &gen[i..]);
            format!("{} | {} | {path}", a["labels"], a["annotations"])
        })
        .collect()
}

/// Per rule: group, name, type, health, state, query, and its alerts' labels and states.
fn rules_summary(addr: SocketAddr) -> Vec<String> {
    let d = data(addr, "/api/v1/rules");
    let mut out = Vec::new();
    for g in d["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            let mut alerts: Vec<String> = r["alerts"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| format!("{} {} {}", x["labels"], x["state"], x["annotations"]))
                        .collect()
                })
                .unwrap_or_default();
            alerts.sort();
            out.push(format!(
                "{} {} {} {} {} {} {:?}",
                g["name"], r["name"], r["type"], r["health"], r["state"], r["query"], alerts
            ));
        }
    }
    out
}

fn api_alerts(addr: SocketAddr) -> BTreeSet<String> {
    data(addr, "/api/v1/alerts")["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} {} {}", a["labels"], a["state"], a["annotations"]))
        .collect()
}

fn names(set: &BTreeSet<String>) -> BTreeSet<String> {
    set.iter()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l.split(" | ").next()?).ok()?;
            v["alertname"].as_str().map(str::to_string)
        })
        .collect()
}

#[test]
fn alerts_reach_alertmanager_as_from_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, prom, am_prom, am_ours) = (free_addr(), free_addr(), free_addr(), free_addr());
    let _pg = spawn(
        "prometheus-pushgateway",
        &[format!("--web.listen-address={pg}")],
    );
    let am_cfg = dir.path().join("am.yml");
    std::fs::write(
        &am_cfg,
        "route:\n  receiver: devnull\nreceivers:\n- name: devnull\n",
    )
    .unwrap();
    let am = |addr: SocketAddr, name: &str| {
        spawn(
            "prometheus-alertmanager",
            &[
                format!("--config.file={}", am_cfg.display()),
                format!("--storage.path={}", dir.path().join(name).display()),
                format!("--web.listen-address={addr}"),
                "--cluster.listen-address=".into(),
            ],
        )
    };
    let _am1 = am(am_prom, "am-prom");
    let _am2 = am(am_ours, "am-ours");
    wait_ok(pg, "/-/ready");
    let (code, body) = http_post(
        pg,
        "/metrics/job/sensors",
        &[],
        b"temperature_celsius{room=\"lab\"} 31.5\ntemperature_celsius{room=\"office\"} 26\ntemperature_celsius{room=\"hall\"} 19\ndisk_free_bytes{dev=\"sda\"} 1.5e9\n",
    );
    assert!(code == 200 || code == 202, "push: {code} {body}");
    std::fs::write(dir.path().join("rules.yml"), RULES).unwrap();
    let cfg = |am: SocketAddr| {
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s, external_labels: {{cluster: it}}}}\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n  - static_configs: [{{targets: ['{am}']}}]\nscrape_configs:\n- job_name: sensors\n  honor_labels: true\n  static_configs: [{{targets: ['{pg}']}}]\n"
        )
    };
    std::fs::write(dir.path().join("prom.yml"), cfg(am_prom)).unwrap();
    std::fs::write(dir.path().join("ours.yml"), cfg(am_ours)).unwrap();
    let _prom = spawn(
        "prometheus",
        &[
            format!("--config.file={}", dir.path().join("prom.yml").display()),
            format!("--storage.tsdb.path={}", dir.path().join("prom").display()),
            format!("--web.listen-address={prom}"),
            "--rules.alert.resend-delay=2s".into(),
        ],
    );
    let mut ours = Server::start(&[
        "--headless",
        "--rules.alert.resend-delay=2s",
        "--config",
        dir.path().join("ours.yml").to_str().unwrap(),
        "--data",
        dir.path().join("ours").to_str().unwrap(),
    ]);
    wait_ok(prom, "/-/ready");
    wait_ok(am_prom, "/-/ready");
    wait_ok(am_ours, "/-/ready");

    let want: BTreeSet<String> = ["Always", "HotRoom", "KeepFiring"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    wait_for("both Alertmanagers to hold the firing alerts", 60, || {
        let (a, b) = (am_alerts(am_prom), am_alerts(am_ours));
        names(&a) == want && names(&b) == want && a.len() == 4 && b.len() == 4
    });
    let (a, b) = (am_alerts(am_prom), am_alerts(am_ours));
    assert_eq!(b, a, "Alertmanager got different alerts from promterm");
    assert!(
        b.iter().any(|l| l.contains("\"free\":\"1.397GiB\"")
            && l.contains("\"summary\":\"lab is 31.5 C (31.5)\"")
            && l.contains("\"severity\":\"page\"")),
        "{b:#?}"
    );

    // The rules and alerts APIs agree (pending NeverYet included).
    wait_for("NeverYet pending in both", 20, || {
        api_alerts(prom).len() == 5 && api_alerts(ours.addr).len() == 5
    });
    assert_eq!(rules_summary(ours.addr), rules_summary(prom));
    assert_eq!(api_alerts(ours.addr), api_alerts(prom));
    // Recorded series are identical.
    let rec = |a: SocketAddr| data(a, "/api/v1/query?query=job:temperature:max")["result"].clone();
    wait_for("the recording rule in both", 20, || {
        rec(prom).as_array().is_some_and(|r| !r.is_empty())
            && rec(ours.addr).as_array().is_some_and(|r| !r.is_empty())
    });
    assert_eq!(rec(ours.addr)[0]["metric"], rec(prom)[0]["metric"]);
    assert_eq!(rec(ours.addr)[0]["value"][1], rec(prom)[0]["value"][1]);
    // ALERTS series are written too.
    let alerts_series = data(ours.addr, "/api/v1/query?query=ALERTS")["result"].clone();
    assert!(
        alerts_series.as_array().is_some_and(|r| r.len() == 5),
        "{alerts_series}"
    );

    // The temperatures go away: HotRoom resolves (Alertmanager drops it), KeepFiring keeps
    // firing for its 10 minutes, in both.
    let (code, _) = http(pg, "DELETE", "/metrics/job/sensors");
    assert!(code == 202 || code == 200);
    wait_for("HotRoom to resolve in both Alertmanagers", 60, || {
        let (a, b) = (am_alerts(am_prom), am_alerts(am_ours));
        !names(&a).contains("HotRoom") && !names(&b).contains("HotRoom")
    });
    let keep: BTreeSet<String> = ["Always", "KeepFiring"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names(&am_alerts(am_ours)), keep);
    assert_eq!(names(&am_alerts(am_prom)), keep);
    let (_, metrics) = http(ours.addr, "GET", "/metrics");
    let sent = metrics
        .lines()
        .find(|l| l.starts_with("prometheus_notifications_sent_total{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok());
    assert!(sent.is_some_and(|n| n >= 4.0), "{metrics}");
    assert!(
        metrics.contains("prometheus_rule_evaluations_total{rule_group="),
        "{metrics}"
    );
    let (code, body) = http(ours.addr, "GET", "/api/v1/alertmanagers");
    assert_eq!(code, 200);
    assert!(
        body.contains(&format!("http://{am_ours}/api/v2/alerts")),
        "{body}"
    );
    assert!(ours.terminate().success());
}

#[test]
fn rule_unit_tests_and_checks_agree_with_promtool() {
    let good = testdata("rules/alerts.test.yml");
    let bad = testdata("rules/failing.test.yml");
    let (code, out, _) = run(&["test", "rules", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.trim_end().ends_with("passed, 0 failed"), "{out}");
    let promtool = std::process::Command::new("promtool")
        .args(["test", "rules", good.to_str().unwrap()])
        .output()
        .expect("promtool");
    assert!(
        promtool.status.success(),
        "promtool disagrees: {promtool:?}"
    );
    let (code, out, _) = run(&["test", "rules", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED"), "{out}");
    let promtool = std::process::Command::new("promtool")
        .args(["test", "rules", bad.to_str().unwrap()])
        .output()
        .expect("promtool");
    assert!(
        !promtool.status.success(),
        "promtool passes the failing test"
    );

    for (file, ok) in [
        ("rules/alerts.rules.yml", true),
        ("rules/bad-expr.rules.yml", false),
        ("rules/bad-template.rules.yml", false),
        ("rules/recording-annotations.rules.yml", false),
    ] {
        let path = testdata(file);
        let (code, out, err) = run(&["check", "rules", path.to_str().unwrap()]);
        let theirs = std::process::Command::new("promtool")
            .args(["check", "rules", path.to_str().unwrap()])
            .output()
            .expect("promtool");
        assert_eq!(code == 0, ok, "{file}: {out}{err}");
        assert_eq!(
            theirs.status.success(),
            ok,
            "promtool on {file}: {theirs:?}"
        );
        if !ok {
            assert!(err.contains("FAILED"), "{file}: {err}");
        }
    }
}

fn query_result(addr: SocketAddr, q: &str) -> Value {
    data(
        addr,
        &crate::common::escape(&format!("/api/v1/query?query={q}")),
    )["result"]
        .clone()
}

/// A reload keeps the state of a changed group's rules, gives removed rules' series a stale
/// marker, and a broken rule file fails the reload without touching the running rules.
#[test]
fn reload_keeps_alert_state_and_stales_removed_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    let v1 = "groups:\n- name: a\n  interval: 1s\n  rules:\n  - record: r1\n    expr: vector(1)\n  - alert: Slow\n    expr: vector(1)\n    for: 1h\n- name: b\n  interval: 1s\n  rules:\n  - record: r2\n    expr: vector(2)\n";
    std::fs::write(&rules, v1).unwrap();
    let cfg = dir.path().join("p.yml");
    std::fs::write(
        &cfg,
        "global: {evaluation_interval: 1s}\nrule_files: [rules.yml]\nscrape_configs: []\n",
    )
    .unwrap();
    let mut ours = Server::start(&[
        "--headless",
        "--web.enable-lifecycle",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().join("d").to_str().unwrap(),
    ]);
    let active_at = |addr| {
        data(addr, "/api/v1/alerts")["alerts"][0]["activeAt"]
            .as_str()
            .map(str::to_string)
    };
    wait_for("r1, r2 and the pending alert", 20, || {
        query_result(ours.addr, "r2")
            .as_array()
            .is_some_and(|r| r.len() == 1)
            && active_at(ours.addr).is_some()
    });
    let since = active_at(ours.addr).unwrap();
    // A broken file: the reload fails, nothing changes.
    std::fs::write(
        &rules,
        "groups:\n- name: a\n  rules:\n  - record: r1\n    expr: sum(\n",
    )
    .unwrap();
    let (code, body) = http_post(ours.addr, "/-/reload", &[], b"");
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("could not parse expression"), "{body}");
    assert!(query_result(ours.addr, "r2")
        .as_array()
        .is_some_and(|r| r.len() == 1));
    // Group a changes (r1 gets a label), group b goes away.
    let v2 = "groups:\n- name: a\n  interval: 1s\n  rules:\n  - record: r1\n    expr: vector(1)\n    labels: {v: two}\n  - alert: Slow\n    expr: vector(1)\n    for: 1h\n";
    std::fs::write(&rules, v2).unwrap();
    let (code, body) = http_post(ours.addr, "/-/reload", &[], b"");
    assert_eq!(code, 200, "{body}");
    wait_for("r2 to go stale and r1 to carry its label", 20, || {
        query_result(ours.addr, "r2")
            .as_array()
            .is_some_and(|r| r.is_empty())
            && query_result(ours.addr, "r1{v=\"two\"}")
                .as_array()
                .is_some_and(|r| r.len() == 1)
    });
    assert_eq!(
        active_at(ours.addr).unwrap(),
        since,
        "the alert kept its state"
    );
    let groups = data(ours.addr, "/api/v1/rules")["groups"].clone();
    assert_eq!(groups.as_array().unwrap().len(), 1);
    let (_, metrics) = http(ours.addr, "GET", "/metrics");
    assert!(metrics.contains("promterm_rules 2"), "{metrics}");
    assert!(ours.terminate().success());
}
