//! `/api/v1/targets` side by side with Debian's Prometheus 2.42 on the same config (static and
//! file SD, one job relabeled with drop, keep, replace and labelmap rules, one not): the same
//! active targets (labels, URL, interval, timeout; discovered labels where 2.42 does not
//! garble them, i.e. without relabeling), the same dropped targets, the same answers to the
//! `state=` and `scrapePool=` filters. Then what only promterm has: `droppedBy`,
//! `discoveryErrors`, and `/api/v1/targets/relabel_steps` agreeing with them.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use crate::common::{data, free_addr, http, spawn, wait_for, wait_ok, Server};

/// What both servers must agree on for one query: the data's keys Prometheus has, the active
/// targets (and the discovered labels of those not relabeled), the dropped targets.
fn view(addr: SocketAddr, query: &str) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let d = data(addr, &format!("/api/v1/targets{query}"));
    let keys = ["activeTargets", "droppedTargets"]
        .iter()
        .filter(|k| d.get(**k).is_some())
        .map(|k| k.to_string())
        .collect();
    let active = d["activeTargets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    let disc = if t["scrapePool"] == "plain" {
                        t["discoveredLabels"].to_string()
                    } else {
                        String::new()
                    };
                    format!(
                        "{} {} {} {} {} {disc}",
                        t["scrapePool"],
                        t["labels"],
                        t["scrapeUrl"],
                        t["scrapeInterval"],
                        t["scrapeTimeout"]
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let dropped = d["droppedTargets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| t["discoveredLabels"].to_string())
                .collect()
        })
        .unwrap_or_default();
    (keys, active, dropped)
}

#[test]
fn targets_api_matches_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let dead: Vec<SocketAddr> = (0..4).map(|_| free_addr()).collect();
    std::fs::write(
        dir.path().join("t.json"),
        format!(
            r#"[{{"targets": ["{}"], "labels": {{"env": "prod", "__meta_zone": "eu", "__meta_kv_rack": "r7"}}}},
                {{"targets": ["{}"], "labels": {{"env": "dev"}}}}]"#,
            dead[2], dead[3]
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.json"), "[{\"targets\": [").unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            r#"global: {{scrape_interval: 1h}}
scrape_configs:
- job_name: plain
  static_configs: [{{targets: ['{}'], labels: {{env: prod}}}}]
  file_sd_configs: [{{files: [t.json]}}, {{files: [bad.json]}}]
- job_name: relabeled
  scrape_interval: 30m
  scrape_timeout: 20s
  metrics_path: /m
  params: {{x: ['1']}}
  static_configs: [{{targets: ['{}', 'gone:1'], labels: {{env: test}}}}]
  file_sd_configs: [{{files: [t.json]}}]
  relabel_configs:
  - {{source_labels: [__address__], regex: 'gone:.*', action: drop}}
  - {{source_labels: [env], regex: 'prod|test', action: keep}}
  - {{source_labels: [__meta_zone], target_label: zone}}
  - {{action: labelmap, regex: '__meta_kv_(.+)', replacement: 'kv_$1'}}
  - {{target_label: __param_x, replacement: '2'}}
"#,
            dead[0], dead[1]
        ),
    )
    .unwrap();
    let ours = Server::start(&[
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().join("ours").to_str().unwrap(),
    ]);
    let prom = free_addr();
    let _p = spawn(
        "prometheus",
        &[
            format!("--config.file={}", cfg.display()),
            format!("--storage.tsdb.path={}", dir.path().join("prom").display()),
            format!("--web.listen-address={prom}"),
        ],
    );
    wait_ok(prom, "/-/ready");
    let count = |a: SocketAddr| {
        data(a, "/api/v1/targets")["activeTargets"]
            .as_array()
            .map_or(0, Vec::len)
    };
    wait_for("both servers' 5 active targets", 30, || {
        count(ours.addr) == 5 && count(prom) == 5
    });

    for q in [
        "",
        "?state=any",
        "?state=active",
        "?state=dropped",
        "?state=DROPPED",
        "?state=bogus",
        "?scrapePool=plain",
        "?scrapePool=relabeled",
        "?scrapePool=relabeled&state=dropped",
        "?scrapePool=nope",
    ] {
        let (theirs, mine) = (view(prom, q), view(ours.addr, q));
        assert_eq!(mine.0, theirs.0, "keys for {q:?}");
        assert_eq!(mine.1, theirs.1, "active targets for {q:?}");
        assert_eq!(mine.2, theirs.2, "dropped targets for {q:?}");
    }
    let all = view(ours.addr, "");
    assert_eq!((all.1.len(), all.2.len()), (5, 2), "{all:?}");

    // promterm only: the rule that dropped each target, the discoverer that failed, and the
    // relabel steps, which agree with both.
    let d = data(ours.addr, "/api/v1/targets");
    assert_eq!(
        d["droppedTargetCounts"],
        serde_json::json!({"plain": 0, "relabeled": 2})
    );
    let errs = d["discoveryErrors"].as_array().unwrap();
    assert_eq!(errs.len(), 1, "{d}");
    assert_eq!(
        (
            errs[0]["scrapePool"].as_str(),
            errs[0]["discoverer"].as_str()
        ),
        (Some("plain"), Some("file/1"))
    );
    for t in d["droppedTargets"].as_array().unwrap() {
        let at = t["droppedBy"]["index"].as_u64().unwrap() as usize;
        let want = if t["discoveredLabels"]["__address__"] == "gone:1" {
            (0, "drop")
        } else {
            (1, "keep")
        };
        assert_eq!(
            (at, t["droppedBy"]["action"].as_str().unwrap()),
            want,
            "{t}"
        );
        let steps = data(
            ours.addr,
            &format!(
                "/api/v1/targets/relabel_steps?scrapePool=relabeled&labels={}",
                urlenc(&t["discoveredLabels"].to_string())
            ),
        );
        let steps = steps["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 5);
        let keeps: Vec<bool> = steps.iter().map(|s| s["keep"].as_bool().unwrap()).collect();
        assert_eq!(keeps.iter().position(|k| !k), Some(at), "{keeps:?}");
    }
    let kept = d["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["labels"]["zone"] == "eu")
        .expect("the relabeled file SD target");
    let steps = data(
        ours.addr,
        &format!(
            "/api/v1/targets/relabel_steps?scrapePool=relabeled&labels={}",
            urlenc(&kept["discoveredLabels"].to_string())
        ),
    );
    let last = &steps["steps"][4]["output"];
    for (k, v) in kept["labels"].as_object().unwrap() {
        if k != "instance" {
            assert_eq!(&last[k], v, "{k} after the last step: {last}");
        }
    }
    assert_eq!(last["__param_x"], "2");
    assert_eq!(steps["steps"][2]["rule"]["targetLabel"], "zone");
    // Prometheus 2.42 has no relabel_steps (3.x added it).
    let (code, _) = http(
        prom,
        "GET",
        "/api/v1/targets/relabel_steps?scrapePool=relabeled&labels={}",
    );
    assert_ne!(code, 200);
}

fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
