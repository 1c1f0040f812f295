//! `promterm check service-discovery CONFIG JOB [--timeout DUR] [--json]`, as promtool has
//! it: runs the job's discovery once (static and file SD read now, every other mechanism
//! started through `Discoverers` on a runtime of its own), waits until each discoverer has
//! reported or the timeout passed, and shows every discovered target with its labels before
//! and after relabeling, or the rule that dropped it, or why it cannot be scraped. Text by
//! default (a column per label set), promtool's JSON with `--json` (plus `source` and, for a
//! dropped target, `droppedBy`). Uses `config` and `scrape` (discovery, target, relabel).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, RelabelConfig, ScrapeConfig};
use crate::scrape::discovery::{self, Discoverers, TargetGroup};
use crate::scrape::relabel::LabelMap;
use crate::scrape::target::{populate_traced, Outcome, Traced};

/// What one run of a job's discovery found.
struct Found {
    /// Each target's group key (`static/0`, `file/0/targets.json:0`, `docker/0/...`) and trace.
    targets: Vec<(String, Traced)>,
    /// Discoverers that failed (name, error).
    errors: Vec<(String, String)>,
    /// Discoverers that had not reported when the time ran out.
    silent: Vec<String>,
    /// The discoverers' names.
    discoverers: Vec<String>,
}

/// Runs `job`'s discovery until every discoverer has reported once or `timeout` passed.
async fn discover(job: &ScrapeConfig, timeout: Duration) -> Found {
    let d = Discoverers::start(job.sd_configs(), CancellationToken::new());
    let deadline = Instant::now() + timeout;
    while !d.waiting().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (groups, mut errors) = discovery::gather(job.sd_configs(), &d);
    errors.extend(d.errors());
    let silent = d.waiting();
    let mut names: BTreeSet<String> = BTreeSet::new();
    names.extend((0..job.static_configs.len()).map(|i| format!("static/{i}")));
    names.extend((0..job.file_sd_configs.len()).map(|i| format!("file/{i}")));
    names.extend(d.names());
    drop(d);
    Found {
        targets: trace_groups(job, &groups),
        errors,
        silent,
        discoverers: names.into_iter().collect(),
    }
}

fn trace_groups(
    job: &ScrapeConfig,
    groups: &std::collections::BTreeMap<String, TargetGroup>,
) -> Vec<(String, Traced)> {
    let mut out = Vec::new();
    for (key, g) in groups {
        for t in &g.targets {
            out.push((key.clone(), populate_traced(job, &g.labels, t)));
        }
    }
    out
}

/// A relabel rule in one line, its keys as written in the config (defaults left out).
pub fn describe_rule(c: &RelabelConfig) -> String {
    let d = RelabelConfig::default();
    let mut parts = vec![c.action.as_str().to_string()];
    if !c.source_labels.is_empty() {
        parts.push(format!("source_labels=[{}]", c.source_labels.join(", ")));
    }
    if c.separator != d.separator {
        parts.push(format!("separator={:?}", c.separator));
    }
    if c.regex != d.regex {
        parts.push(format!("regex={:?}", c.regex.as_str()));
    }
    if c.modulus != 0 {
        parts.push(format!("modulus={}", c.modulus));
    }
    if !c.target_label.is_empty() {
        parts.push(format!("target_label={}", c.target_label));
    }
    if c.replacement != d.replacement {
        parts.push(format!("replacement={:?}", c.replacement));
    }
    parts.join(" ")
}

fn labels_json(l: &LabelMap) -> Value {
    Value::Object(l.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

/// promtool's result for one target: labels after relabeling (`__` ones included, `__meta_`
/// ones gone) or `{}` when dropped or failed; ours also says where it came from, which rule
/// dropped it, and the error as text.
fn target_json(job: &ScrapeConfig, source: &str, t: &Traced) -> Value {
    let mut v = json!({
        "discoveredLabels": labels_json(&t.discovered),
        "labels": {},
        "source": source,
    });
    match &t.outcome {
        Ok(Outcome::Active(a)) => v["labels"] = labels_json(&a.all),
        Ok(Outcome::Dropped { rule, .. }) => {
            let action = job
                .relabel_configs
                .get(*rule)
                .map_or("", |c| c.action.as_str());
            v["droppedBy"] = json!({"index": rule, "action": action});
        }
        Err(e) => v["error"] = json!(e),
    }
    v
}

/// Two columns of labels side by side: every name in either set, with its value in each
/// (blank where absent).
fn columns(heads: (&str, &str), left: &LabelMap, right: Option<&LabelMap>) -> String {
    let names: BTreeSet<&String> = left
        .keys()
        .chain(right.into_iter().flat_map(|r| r.keys()))
        .collect();
    let nw = names.iter().map(|n| n.len()).max().unwrap_or(0).max(5);
    let lw = left
        .values()
        .map(|v| v.len())
        .max()
        .unwrap_or(0)
        .max(heads.0.len());
    let mut out = String::new();
    let head = match right {
        Some(_) => format!("  {:<nw$}  {:<lw$}  {}", "LABEL", heads.0, heads.1),
        None => format!("  {:<nw$}  {}", "LABEL", heads.0),
    };
    out.push_str(head.trim_end());
    out.push('\n');
    for n in names {
        let l = left.get(n).map_or("", String::as_str);
        let line = match right {
            Some(r) => {
                let rv = r.get(n).map_or("", String::as_str);
                let mark = if l == rv { ' ' } else { '*' };
                format!("{mark} {n:<nw$}  {l:<lw$}  {rv}")
            }
            None => format!("  {n:<nw$}  {l}"),
        };
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The text report: one block per target.
fn text(job: &ScrapeConfig, found: &Found) -> String {
    let (mut kept, mut dropped, mut failed) = (0, 0, 0);
    let mut blocks = Vec::new();
    for (source, t) in &found.targets {
        let addr = t.discovered.get("__address__").map_or("", String::as_str);
        let block = match &t.outcome {
            Ok(Outcome::Active(a)) => {
                kept += 1;
                format!(
                    "{addr} ({source}): kept\n{}",
                    columns(
                        ("DISCOVERED", "AFTER RELABELING"),
                        &t.discovered,
                        Some(&a.all)
                    )
                )
            }
            Ok(Outcome::Dropped { rule, .. }) => {
                dropped += 1;
                let how = job
                    .relabel_configs
                    .get(*rule)
                    .map_or(String::new(), |c| format!(" ({})", describe_rule(c)));
                // What the rule saw: the labels after the rule before it.
                let seen = match rule.checked_sub(1) {
                    Some(prev) => &t.steps[prev].output,
                    None => &t.discovered,
                };
                format!(
                    "{addr} ({source}): dropped by relabel_configs[{rule}]{how}\n{}",
                    columns(("DISCOVERED", "WHEN DROPPED"), &t.discovered, Some(seen))
                )
            }
            Err(e) => {
                failed += 1;
                format!(
                    "{addr} ({source}): error: {e}\n{}",
                    columns(("DISCOVERED", ""), &t.discovered, None)
                )
            }
        };
        blocks.push(block);
    }
    let mut out = format!(
        "job {:?}: {} discovered by {}: {kept} kept, {dropped} dropped, {failed} with errors\n",
        job.job_name,
        plural(found.targets.len(), "target"),
        if found.discoverers.is_empty() {
            "nothing".to_string()
        } else {
            found.discoverers.join(", ")
        },
    );
    for b in blocks {
        out.push('\n');
        out.push_str(&b);
    }
    out
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Runs the command; exit 1 when the config or the job is bad, or a discoverer failed or did
/// not report in time (targets that cannot be scraped are shown, as promtool does, and do not
/// fail the run).
pub fn service_discovery(
    config: &Path,
    job: &str,
    timeout: crate::config::Duration,
    as_json: bool,
) -> ExitCode {
    let cfg = match Config::load(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Cannot load config: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(j) = cfg.jobs().find(|j| j.job_name == job) else {
        eprintln!("Job {job:?} not found. Select one of:");
        for j in cfg.jobs() {
            eprintln!("\t{}", j.job_name);
        }
        return ExitCode::FAILURE;
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the discovery runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let found = rt.block_on(discover(j, timeout.as_std()));
    if as_json {
        let list: Vec<Value> = found
            .targets
            .iter()
            .map(|(s, t)| target_json(j, s, t))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&Value::Array(list)).unwrap_or_default()
        );
    } else {
        print!("{}", text(j, &found));
    }
    for (name, e) in &found.errors {
        eprintln!("discoverer {name} failed: {e}");
    }
    for name in &found.silent {
        eprintln!("discoverer {name} did not report within {timeout}");
    }
    if found.errors.is_empty() && found.silent.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(yaml: &str, dir: &Path) -> ScrapeConfig {
        let cfg = Config::parse(yaml, &dir.join("p.yml")).unwrap();
        let j = cfg.jobs().next().unwrap().clone();
        j
    }

    #[test]
    fn static_and_file_targets_kept_dropped_and_failed() {
        let dir = std::env::temp_dir().join(format!("promterm-checksd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("t.json"),
            r#"[{"targets": ["f1:1", "skip:1"], "labels": {"__meta_zone": "eu"}}]"#,
        )
        .unwrap();
        std::fs::write(dir.join("bad.json"), "[{").unwrap();
        let j = job(
            r#"
scrape_configs:
- job_name: mix
  scrape_interval: 30s
  static_configs: [{targets: ['a:1', 'slow:1'], labels: {env: prod}}]
  file_sd_configs: [{files: [t.json]}, {files: [bad.json]}]
  relabel_configs:
  - {source_labels: [__meta_zone], target_label: zone}
  - {source_labels: [__address__], regex: 'skip:.*', action: drop}
  - {source_labels: [__address__], regex: 'slow:.*', target_label: __scrape_timeout__, replacement: 45s}
"#,
            &dir,
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let found = rt.block_on(discover(&j, Duration::from_secs(1)));
        assert_eq!(found.targets.len(), 4);
        assert_eq!(found.discoverers, ["file/0", "file/1", "static/0"]);
        assert_eq!(found.errors.len(), 1, "{:?}", found.errors);
        assert_eq!(found.errors[0].0, "file/1");
        let out = text(&j, &found);
        assert!(out.contains("4 targets discovered by file/0, file/1, static/0: 2 kept, 1 dropped, 1 with errors"), "{out}");
        assert!(out.contains("skip:1 (file/0/"), "{out}");
        assert!(out.contains("dropped by relabel_configs[1] (drop source_labels=[__address__] regex=\"skip:.*\")"), "{out}");
        assert!(
            out.contains("slow:1 (static/0): error: scrape timeout cannot be greater"),
            "{out}"
        );
        // The relabeled column: the zone label came from the __meta_ one, which is gone.
        let f1 = out.split("\n\n").find(|b| b.starts_with("f1:1")).unwrap();
        assert!(
            f1.lines()
                .any(|l| l.starts_with("* zone") && l.trim_end().ends_with("eu")),
            "{f1}"
        );
        assert!(f1.lines().any(|l| l.starts_with("* __meta_zone")), "{f1}");
        assert!(f1.lines().any(|l| l.starts_with("  job ")), "{f1}");
        let v: Vec<Value> = found
            .targets
            .iter()
            .map(|(s, t)| target_json(&j, s, t))
            .collect();
        let skip = v
            .iter()
            .find(|x| x["discoveredLabels"]["__address__"] == "skip:1")
            .unwrap();
        assert_eq!(skip["labels"], json!({}));
        assert_eq!(skip["droppedBy"], json!({"index": 1, "action": "drop"}));
        let a = v
            .iter()
            .find(|x| x["discoveredLabels"]["__address__"] == "a:1")
            .unwrap();
        assert_eq!(a["labels"]["instance"], "a:1");
        assert_eq!(a["labels"]["__scrape_interval__"], "30s");
        assert!(a.get("error").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
