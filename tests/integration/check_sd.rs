//! `promterm check service-discovery`: static and file SD with relabel rules that keep, drop
//! and change labels, as text and JSON; the same answers as Debian's promtool (2.42) where it
//! can run the job (its file SD panics on shutdown, so it gets the static part only).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::run;

const RULES: &str = r#"  relabel_configs:
  - {source_labels: [__address__], regex: 'gone:.*', action: drop}
  - {source_labels: [env], regex: 'prod|test', action: keep}
  - {source_labels: [__meta_zone], target_label: zone}
  - {source_labels: [__address__], regex: '([^:]+):.*', target_label: host, replacement: '$1'}
  - {action: labelmap, regex: '__meta_kv_(.+)', replacement: 'kv_$1'}
  - {source_labels: [__address__], regex: 'slow:.*', target_label: __scrape_timeout__, replacement: 45s}
"#;

fn write_config(dir: &Path, with_files: bool) -> std::path::PathBuf {
    std::fs::write(
        dir.join("targets.json"),
        r#"[{"targets": ["f1:9100", "gone:1"], "labels": {"env": "prod", "__meta_zone": "eu", "__meta_kv_rack": "r7"}},
            {"targets": ["f2:9100"], "labels": {"env": "dev"}}]"#,
    )
    .unwrap();
    let files = if with_files {
        "  file_sd_configs: [{files: [targets.json]}]\n"
    } else {
        ""
    };
    let cfg = format!(
        "scrape_configs:\n- job_name: other\n  static_configs: [{{targets: ['x:1']}}]\n- job_name: mix\n  scrape_interval: 30s\n  static_configs:\n  - targets: ['a:9100', 'gone:9100', 'slow:1']\n    labels: {{env: test}}\n  - targets: ['b:9100']\n    labels: {{env: dev}}\n{files}{RULES}"
    );
    let path = dir.join(if with_files {
        "files.yml"
    } else {
        "static.yml"
    });
    std::fs::write(&path, cfg).unwrap();
    path
}

/// (discoveredLabels, labels, failed) per target, as sorted JSON strings.
fn results(v: &Value, error_empties_discovered: bool) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let failed = t.get("error").is_some();
            let disc = if failed && error_empties_discovered {
                Value::Object(Default::default())
            } else {
                t["discoveredLabels"].clone()
            };
            format!("{disc} {} {failed}", t["labels"])
        })
        .collect()
}

#[test]
fn check_service_discovery_text_json_and_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), true);
    let cfg_s = cfg.to_str().unwrap();
    let (code, out, err) = run(&[
        "check",
        "service-discovery",
        cfg_s,
        "mix",
        "--timeout",
        "5s",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.starts_with("job \"mix\": 7 targets discovered by file/0, static/0, static/1: 2 kept, 4 dropped, 1 with errors"),
        "{out}"
    );
    let block = |addr: &str| -> String {
        out.split("\n\n")
            .find(|b| b.starts_with(&format!("{addr} (")))
            .unwrap_or_else(|| panic!("no {addr} in\n{out}"))
            .to_string()
    };
    assert!(block("gone:1").contains(
        "dropped by relabel_configs[0] (drop source_labels=[__address__] regex=\"gone:.*\")"
    ));
    assert!(block("f2:9100")
        .contains("dropped by relabel_configs[1] (keep source_labels=[env] regex=\"prod|test\")"));
    assert!(block("b:9100").contains("(static/1): dropped by relabel_configs[1]"));
    assert!(block("slow:1")
        .contains("error: scrape timeout cannot be greater than scrape interval (45s > 30s)"));
    let f1 = block("f1:9100");
    assert!(f1.starts_with("f1:9100 (file/0/"), "{f1}");
    for (name, disc, after) in [
        ("zone", "", "eu"),
        ("kv_rack", "", "r7"),
        ("host", "", "f1"),
        ("instance", "", "f1:9100"),
        ("__meta_zone", "eu", ""),
    ] {
        let line = f1
            .lines()
            .find(|l| {
                l.get(2..)
                    .is_some_and(|r| r.split_whitespace().next() == Some(name))
            })
            .unwrap_or_else(|| panic!("no {name} in\n{f1}"));
        assert!(line.starts_with('*'), "{name} changed: {line}");
        let vals: Vec<&str> = line[2..].split_whitespace().skip(1).collect();
        let want: Vec<&str> = [disc, after]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(vals, want, "{line}");
    }

    let (code, out, err) = run(&["check", "service-discovery", "--json", cfg_s, "mix"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 7);
    let by = |addr: &str| {
        list.iter()
            .find(|t| t["discoveredLabels"]["__address__"] == addr)
            .unwrap()
    };
    assert_eq!(by("f1:9100")["labels"]["zone"], "eu");
    assert_eq!(by("f1:9100")["labels"]["__address__"], "f1:9100");
    assert!(by("f1:9100")["labels"].get("__meta_zone").is_none());
    assert_eq!(by("f2:9100")["labels"], serde_json::json!({}));
    assert_eq!(by("f2:9100")["droppedBy"]["index"], 1);
    assert_eq!(by("f2:9100")["droppedBy"]["action"], "keep");
    assert!(by("slow:1")["error"]
        .as_str()
        .unwrap()
        .contains("45s > 30s"));

    // Unknown job: the jobs are listed, exit 1.
    let (code, _, err) = run(&["check", "service-discovery", cfg_s, "nope"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Job \"nope\" not found. Select one of:\n\tother\n\tmix"),
        "{err}"
    );
    // A discoverer that fails (a file SD file that does not parse): its error, exit 1; the
    // other targets are still shown.
    std::fs::write(dir.path().join("bad.json"), "[{").unwrap();
    let with_bad = std::fs::read_to_string(&cfg).unwrap().replace(
        "files: [targets.json]",
        "files: [targets.json]}, {files: [bad.json]",
    );
    let bad_cfg = dir.path().join("bad.yml");
    std::fs::write(&bad_cfg, with_bad).unwrap();
    let (code, out, err) = run(&[
        "check",
        "service-discovery",
        bad_cfg.to_str().unwrap(),
        "mix",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("discoverer file/1 failed: file SD"), "{err}");
    assert!(
        out.contains("7 targets discovered by file/0, file/1, static/0, static/1"),
        "{out}"
    );
    // A config that does not load: exit 1.
    let (code, _, err) = run(&["check", "service-discovery", "/nonexistent.yml", "mix"]);
    assert_eq!(code, 1);
    assert!(err.contains("Cannot load config"), "{err}");

    // promtool on the static part: the same targets, labels and drops.
    let ok = Command::new("promtool").arg("--version").output().is_ok();
    if !ok {
        println!("skipped: the promtool comparison: promtool is not installed (apt-get install prometheus)");
        return;
    }
    let help = Command::new("promtool")
        .args(["check", "service-discovery", "--help"])
        .output()
        .unwrap();
    if !help.status.success() {
        println!(
            "skipped: the promtool comparison: this promtool has no `check service-discovery`"
        );
        return;
    }
    let st = write_config(dir.path(), false);
    let st = st.to_str().unwrap();
    let theirs = Command::new("promtool")
        .args(["check", "service-discovery", "--timeout=1s", st, "mix"])
        .output()
        .unwrap();
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let theirs: Value = serde_json::from_slice(&theirs.stdout).unwrap();
    let (code, ours, _) = run(&["check", "service-discovery", "--json", st, "mix"]);
    assert_eq!(code, 0);
    let ours: Value = serde_json::from_str(&ours).unwrap();
    assert_eq!(ours.as_array().unwrap().len(), 4);
    // promtool 2.42 prints an error's target with empty labels (and the error as `{}`).
    assert_eq!(results(&ours, true), results(&theirs, false));
}
