//! `promterm test rules FILE...`: rule unit tests in promtool's format.
//!
//! A test file names `rule_files` (relative to itself), an `evaluation_interval` (1m) and an
//! optional `group_eval_order`, and holds `tests`: each loads `input_series` (series notation
//! and expanding values such as `1+2x10`, `_`, `stale`) at its `interval`, evaluates the rule
//! groups from time 0 every evaluation interval, and checks `alert_rule_test` cases (the firing
//! alerts of `alertname` at `eval_time`: labels with `alertname` added, and annotations) and
//! `promql_expr_test` cases (an instant query at `eval_time` against `exp_samples`).
//! Failures print what was expected and what came, one alert or sample per line.
//!
//! Native histograms as in Prometheus 3's promtool (`rules_histogram`): `input_series` values
//! may be `{{...}}` histograms (with the `x`/`+`/`-` expansions), `exp_samples` may give
//! `histogram: '{{...}}'` instead of `value`, compared exactly in the test notation (hint
//! included); alerts over histogram expressions fire and template as the server's do.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::promql::almost_equal;
use super::rules_histogram::{self, parse_expected, result_expression, test_expression};
use super::scratch_dir;
use super::script::parse_series;
use crate::config::{Duration, RuleFile};
use crate::model::Labels;
use crate::promql::engine::{self, Engine, Stop};
use crate::rules::group::{labels_map, AlertState, EvalCtx, Group};
use crate::tsdb::{Db, Options};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    rule_files: Vec<String>,
    #[serde(default)]
    evaluation_interval: Option<Duration>,
    #[serde(default)]
    group_eval_order: Vec<String>,
    #[serde(default)]
    tests: Vec<TestGroup>,
    #[serde(default)]
    fuzzy_compare: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestGroup {
    #[serde(default)]
    interval: Option<Duration>,
    #[serde(default)]
    input_series: Vec<InputSeries>,
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    promql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    external_url: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSeries {
    series: String,
    #[serde(default)]
    values: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertTest {
    eval_time: Duration,
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExprTest {
    expr: String,
    eval_time: Duration,
    #[serde(default)]
    exp_samples: Vec<ExpSample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpSample {
    labels: String,
    #[serde(default)]
    value: f64,
    /// A native histogram in the series notation (`{{schema:0 count:4 ...}}`).
    #[serde(default)]
    histogram: String,
}

/// Outcome of one file.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
}

fn ms(d: &Duration) -> i64 {
    d.as_std().as_millis() as i64
}

fn show_map(m: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// Runs a test file; the report goes to `out`.
pub fn run_file(path: &Path, out: &mut String) -> Totals {
    let _ = writeln!(out, "Unit Testing:  {}", path.display());
    let mut t = Totals::default();
    let text = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(out, "  FAILED:\n    cannot read the file: {e}");
            t.failed += 1;
            return t;
        }
    };
    let tf: TestFile = match serde_yaml::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(out, "  FAILED:\n    {}: {e}", path.display());
            t.failed += 1;
            return t;
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut files: Vec<PathBuf> = Vec::new();
    for pat in &tf.rule_files {
        let full = dir.join(pat);
        let found: Vec<PathBuf> = glob::glob(&full.to_string_lossy())
            .map(|g| g.filter_map(Result::ok).collect())
            .unwrap_or_default();
        if found.is_empty() {
            let _ = writeln!(out, "  FAILED:\n    no rule file matches {pat:?}");
            t.failed += 1;
            return t;
        }
        files.extend(found);
    }
    let eval_interval = tf.evaluation_interval.unwrap_or(Duration::from_secs(60));
    let mut failures = Vec::new();
    for (i, tg) in tf.tests.iter().enumerate() {
        match run_group(
            tg,
            &files,
            &eval_interval,
            &tf.group_eval_order,
            tf.fuzzy_compare,
        ) {
            Ok(fails) => {
                let cases = tg.alert_rule_test.len() + tg.promql_expr_test.len();
                t.failed += fails.len();
                t.passed += cases.saturating_sub(fails.len());
                let name = if tg.name.is_empty() {
                    format!("test {}", i + 1)
                } else {
                    tg.name.clone()
                };
                failures.extend(fails.into_iter().map(|f| format!("    {name}: {f}")));
            }
            Err(e) => {
                t.failed += 1;
                failures.push(format!("    {e}"));
            }
        }
    }
    if failures.is_empty() {
        let _ = writeln!(out, "  SUCCESS");
    } else {
        let _ = writeln!(out, "  FAILED:");
        for f in failures {
            let _ = writeln!(out, "{f}");
        }
    }
    t
}

/// Runs one entry of `tests`; returns a message per failed case.
fn run_group(
    tg: &TestGroup,
    files: &[PathBuf],
    eval_interval: &Duration,
    order: &[String],
    fuzzy: bool,
) -> Result<Vec<String>, String> {
    let scratch = scratch_dir().map_err(|e| e.to_string())?;
    let (db, _) = Db::open(
        scratch.path(),
        Options {
            retention_ms: 0,
            ..Options::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let step = ms(tg.interval.as_ref().unwrap_or(eval_interval)).max(1);
    for s in &tg.input_series {
        let line = parse_series(&format!("{} {}", s.series, s.values))
            .map_err(|e| format!("input series {:?}: {e}", s.series))?;
        rules_histogram::load(&db, &line, step)
            .map_err(|e| format!("input series {:?}: {e}", s.series))?;
    }
    let iv = eval_interval.as_std();
    let mut groups: Vec<Group> = Vec::new();
    for f in files {
        let rf = RuleFile::load(f).map_err(|es| {
            es.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        for g in &rf.groups {
            let mut g = Group::new(&f.display().to_string(), g, iv, std::time::Duration::ZERO)
                .map_err(|es| es.join("; "))?;
            for r in &mut g.rules {
                if let Some(a) = &mut r.alerting {
                    a.restored = true;
                }
            }
            groups.push(g);
        }
    }
    if !order.is_empty() {
        groups.sort_by_key(|g| {
            order
                .iter()
                .position(|n| *n == g.name)
                .unwrap_or(usize::MAX)
        });
    }
    let engine = Engine {
        subquery_step_ms: ms(eval_interval).max(1),
        ..Engine::default()
    };
    let ctx = EvalCtx {
        querier: &db,
        appender: &db,
        engine: &engine,
        external_labels: &tg.external_labels,
        external_url: &tg.external_url,
        resend_delay_ns: 60_000_000_000,
        query_timeout: std::time::Duration::from_secs(120),
    };
    let interval_ms = ms(eval_interval).max(1);
    let max_t = tg
        .alert_rule_test
        .iter()
        .map(|a| ms(&a.eval_time))
        .chain(tg.promql_expr_test.iter().map(|e| ms(&e.eval_time)))
        .max()
        .unwrap_or(0);
    let mut alert_tests: Vec<&AlertTest> = tg.alert_rule_test.iter().collect();
    alert_tests.sort_by_key(|a| ms(&a.eval_time));
    let mut next_alert = 0;
    let mut fails = Vec::new();
    let mut ts = 0i64;
    while ts <= max_t {
        for g in &mut groups {
            g.eval(ts * 1_000_000, &ctx);
            for r in &g.rules {
                if let Some(e) = &r.last_error {
                    tracing::debug!(rule = %r.name, t = ts, "rule failed: {e}");
                }
            }
        }
        while next_alert < alert_tests.len() {
            let at = alert_tests[next_alert];
            let t = ms(&at.eval_time);
            if !(ts <= t && t < ts + interval_ms) {
                break;
            }
            if let Some(f) = check_alerts(&groups, at) {
                fails.push(f);
            }
            next_alert += 1;
        }
        ts += interval_ms;
    }
    for et in &tg.promql_expr_test {
        if let Some(f) = check_expr(&engine, &db, et, fuzzy) {
            fails.push(f);
        }
    }
    Ok(fails)
}

/// An alert as compared: labels and annotations.
type Shown = (BTreeMap<String, String>, BTreeMap<String, String>);

/// A sample as compared: labels, float value (0 for a histogram), histogram as its test
/// expression ("" for a float).
type Compared = (Labels, f64, String);

fn check_alerts(groups: &[Group], at: &AlertTest) -> Option<String> {
    let mut got: Vec<Shown> = Vec::new();
    for g in groups {
        for r in &g.rules {
            if r.name != at.alertname {
                continue;
            }
            if let Some(a) = &r.alerting {
                for al in a.active.values() {
                    if al.state == AlertState::Firing {
                        got.push((labels_map(&al.labels), al.annotations.clone()));
                    }
                }
            }
        }
    }
    let mut want: Vec<Shown> = at
        .exp_alerts
        .iter()
        .map(|e| {
            let mut l = e.exp_labels.clone();
            l.insert("alertname".into(), at.alertname.clone());
            (l, e.exp_annotations.clone())
        })
        .collect();
    got.sort();
    want.sort();
    if got == want {
        return None;
    }
    let show = |v: &[Shown]| {
        if v.is_empty() {
            return " (none)".to_string();
        }
        v.iter()
            .map(|(l, a)| {
                format!(
                    "\n            labels: {}\n            annotations: {}",
                    show_map(l),
                    show_map(a)
                )
            })
            .collect()
    };
    Some(format!(
        "alertname: {}, time: {},\n        expected:{}\n        got:{}",
        at.alertname,
        at.eval_time,
        show(&want),
        show(&got)
    ))
}

fn check_expr(engine: &Engine, db: &Db, et: &ExprTest, fuzzy: bool) -> Option<String> {
    let t = ms(&et.eval_time);
    let got = match engine.run_instant(db, &et.expr, t, &Stop::default()) {
        Ok(o) => o.value,
        Err(e) => {
            return Some(format!(
                "expr: {:?}, time: {}: query failed: {e}",
                et.expr, et.eval_time
            ))
        }
    };
    // (labels, float value, histogram in the test notation or "") as promtool compares them.
    let mut got: Vec<Compared> = match got {
        engine::Value::Vector(v) => v
            .into_iter()
            .map(|s| {
                let h = s.h.as_deref().map_or(String::new(), result_expression);
                (s.final_labels(), s.v, h)
            })
            .collect(),
        engine::Value::Scalar { v, .. } => vec![(Labels::default(), v, String::new())],
        other => {
            return Some(format!(
                "expr: {:?}, time: {}: the result is a {}, not a vector or scalar",
                et.expr,
                et.eval_time,
                other.type_name()
            ))
        }
    };
    let mut want: Vec<Compared> = Vec::new();
    for s in &et.exp_samples {
        let parsed = parse_series(&s.labels).and_then(|l| {
            if s.histogram.is_empty() {
                return Ok((l.labels, s.value, String::new()));
            }
            let h = parse_expected(&s.histogram)?;
            Ok((l.labels, s.value, test_expression(&h)))
        });
        match parsed {
            Ok(w) => want.push(w),
            Err(e) => {
                return Some(format!(
                    "expr: {:?}, time: {}: labels {:?}: {e}",
                    et.expr, et.eval_time, s.labels
                ))
            }
        }
    }
    got.sort_by(|a, b| a.0.cmp(&b.0));
    want.sort_by(|a, b| a.0.cmp(&b.0));
    let same = got.len() == want.len()
        && got.iter().zip(&want).all(|(g, w)| {
            g.0 == w.0
                && g.2 == w.2
                && (g.1.to_bits() == w.1.to_bits()
                    || (g.1.is_nan() && w.1.is_nan())
                    || g.1 == w.1
                    || (fuzzy && almost_equal(g.1, w.1)))
        });
    if same {
        return None;
    }
    let show = |v: &[Compared]| {
        if v.is_empty() {
            return " (none)".to_string();
        }
        v.iter()
            .map(|(l, x, h)| {
                if h.is_empty() {
                    format!("\n            {l} {}", crate::model::format_go_g(*x))
                } else {
                    format!("\n            {l} {h}")
                }
            })
            .collect::<String>()
    };
    Some(format!(
        "expr: {:?}, time: {},\n        expected:{}\n        got:{}",
        et.expr,
        et.eval_time,
        show(&want),
        show(&got)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const RULES: &str = "groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n  - alert: InstanceDown\n    expr: up == 0\n    for: 5m\n    labels: {severity: page}\n    annotations:\n      summary: '{{ $labels.instance }} of {{ $labels.job }} down'\n";

    #[test]
    fn passing_and_failing_cases_are_counted_and_explained() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "r.yml", RULES);
        let test = write(
            dir.path(),
            "t.yml",
            "rule_files: [r.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:\n  - series: 'up{job=\"api\", instance=\"a\"}'\n    values: '1 1 1 0 0 0 0 0 0 0 0'\n  - series: 'up{job=\"api\", instance=\"b\"}'\n    values: '1+0x10'\n  alert_rule_test:\n  - eval_time: 5m\n    alertname: InstanceDown\n  - eval_time: 8m\n    alertname: InstanceDown\n    exp_alerts:\n    - exp_labels: {severity: page, instance: a, job: api}\n      exp_annotations: {summary: 'a of api down'}\n  - eval_time: 10m\n    alertname: InstanceDown\n  promql_expr_test:\n  - expr: job:up:sum\n    eval_time: 4m\n    exp_samples:\n    - labels: 'job:up:sum{job=\"api\"}'\n      value: 1\n  - expr: job:up:sum\n    eval_time: 1m\n    exp_samples:\n    - labels: 'job:up:sum{job=\"api\"}'\n      value: 3\n",
        );
        let mut out = String::new();
        let t = run_file(&test, &mut out);
        assert_eq!((t.passed, t.failed), (3, 2), "{out}");
        assert!(out.contains("FAILED"), "{out}");
        // The 10m case expected nothing but the alert still fires.
        assert!(out.contains("alertname: InstanceDown, time: 10m"), "{out}");
        assert!(out.contains("labels: {alertname=\"InstanceDown\", instance=\"a\", job=\"api\", severity=\"page\"}"), "{out}");
        // The 1m expression case shows both sides.
        assert!(
            out.contains("expected:\n            {__name__=\"job:up:sum\", job=\"api\"} 3"),
            "{out}"
        );
        assert!(
            out.contains("got:\n            {__name__=\"job:up:sum\", job=\"api\"} 2"),
            "{out}"
        );
    }

    const HRULES: &str = "groups:\n- name: h\n  rules:\n  - record: job:lat:copy\n    expr: lat\n    labels: {copied: yes}\n  - alert: Slow\n    expr: lat\n    for: 2m\n    annotations:\n      value: '{{ $value }}'\n      count: '{{ $value.Count }}'\n";

    #[test]
    fn histogram_series_expectations_and_alerts() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "h.yml", HRULES);
        let test = write(
            dir.path(),
            "t.yml",
            "rule_files: [h.yml]\ntests:\n- interval: 1m\n  input_series:\n  - series: 'lat{job=\"a\"}'\n    values: '{{schema:0 sum:5 count:4 buckets:[1 2 1]}}+{{sum:1 count:2 buckets:[0 2]}}x3 7'\n  alert_rule_test:\n  - eval_time: 1m\n    alertname: Slow\n  - eval_time: 3m\n    alertname: Slow\n    exp_alerts:\n    - exp_labels: {job: a}\n      exp_annotations:\n        value: '{count:10, sum:8, (0.5,1]:1, (1,2]:8, (2,4]:1}'\n        count: '10'\n  promql_expr_test:\n  - expr: job:lat:copy\n    eval_time: 2m\n    exp_samples:\n    - labels: 'job:lat:copy{job=\"a\", copied=\"yes\"}'\n      histogram: '{{count:8 sum:7 buckets:[1 6 1]}}'\n  - expr: job:lat:copy\n    eval_time: 4m\n    exp_samples:\n    - labels: 'job:lat:copy{job=\"a\", copied=\"yes\"}'\n      value: 7\n  - expr: lat\n    eval_time: 1m\n    exp_samples:\n    - labels: 'lat{job=\"a\"}'\n      histogram: '{{count:7 sum:6 buckets:[1 4 1]}}'\n  - expr: lat\n    eval_time: 1m\n    exp_samples:\n    - labels: 'lat{job=\"a\"}'\n      value: 6\n  - expr: lat\n    eval_time: 1m\n    exp_samples:\n    - labels: 'lat{job=\"a\"}'\n      histogram: '5'\n",
        );
        let mut out = String::new();
        let t = run_file(&test, &mut out);
        // The last three expression cases fail: a wrong histogram, a float expected for a
        // histogram, and an expectation that is not a histogram.
        assert_eq!((t.passed, t.failed), (4, 3), "{out}");
        assert!(
            out.contains("expected:\n            {__name__=\"lat\", job=\"a\"} {{count:7 sum:6 buckets:[1 4 1]}}\n        got:\n            {__name__=\"lat\", job=\"a\"} {{count:6 sum:6 buckets:[1 4 1]}}"),
            "{out}"
        );
        assert!(
            out.contains("expected:\n            {__name__=\"lat\", job=\"a\"} 6\n"),
            "{out}"
        );
        assert!(
            out.contains("labels \"lat{job=\\\"a\\\"}\": expected histogram, got 5"),
            "{out}"
        );
    }

    #[test]
    fn a_missing_rule_file_fails_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let test = write(dir.path(), "t.yml", "rule_files: [nope.yml]\ntests: []\n");
        let mut out = String::new();
        let t = run_file(&test, &mut out);
        assert_eq!(t.failed, 1);
        assert!(out.contains("no rule file matches \"nope.yml\""), "{out}");
    }
}
