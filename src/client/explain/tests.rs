//! Explanations against a real store in a temporary directory behind `client::Local`.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::client::Local;
use crate::model::Sample;
use crate::storage::{Appender, SeriesInput};

/// Evaluation time of the tests (unix seconds).
const T: f64 = 1_700_000_000.0;

struct Store {
    _dir: tempfile::TempDir,
    db: Arc<crate::tsdb::Db>,
    source: Local,
}

fn store() -> Store {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = crate::tsdb::Db::open(dir.path(), crate::tsdb::Options::default()).unwrap();
    let db = Arc::new(db);
    let state = crate::api::ApiState::new(db.clone(), db.clone(), crate::remote::Limits::default());
    state.set_ready(true);
    Store {
        _dir: dir,
        db,
        source: Local::new(state),
    }
}

impl Store {
    /// Samples `ages` seconds before `T` for a series.
    fn add(&self, labels: &[(&str, &str)], ages: &[f64]) {
        let mut samples: Vec<Sample> = ages
            .iter()
            .map(|a| Sample {
                t: ((T - a) * 1000.0) as i64,
                v: 1000.0 - a,
            })
            .collect();
        samples.sort_by_key(|s| s.t);
        self.db
            .append(&[SeriesInput {
                labels: labels.to_vec(),
                samples,
            }])
            .unwrap();
    }

    /// node_cpu_seconds_total for one cpu in three modes, scraped every 15s for 5 minutes.
    fn node_cpu(&self) {
        let ages: Vec<f64> = (0..20).map(|i| 5.0 + 15.0 * i as f64).collect();
        for mode in ["idle", "system", "user"] {
            self.add(
                &[
                    ("__name__", "node_cpu_seconds_total"),
                    ("cpu", "0"),
                    ("job", "node"),
                    ("mode", mode),
                ],
                &ages,
            );
        }
    }

    async fn explain(&self, expr: &str) -> Vec<String> {
        let a = self.source.query(expr, Some(T)).await.unwrap();
        assert!(is_empty_result(&a.data), "{expr} answered {}", a.raw);
        explain_empty(&self.source, expr, Some(T)).await
    }
}

#[tokio::test]
async fn an_unknown_metric_gets_the_closest_names() {
    let s = store();
    s.node_cpu();
    s.add(&[("__name__", "up"), ("job", "node")], &[5.0]);
    assert_eq!(
        s.explain("rate(node_cpu_second_total[1m])").await,
        ["node_cpu_second_total is not a known metric; did you mean node_cpu_seconds_total?"]
    );
    assert_eq!(
        s.explain("sum(nothing_like_it) + up").await,
        ["nothing_like_it is not a known metric"]
    );
    assert_eq!(
        s.explain("node_cpu").await,
        ["node_cpu is not a known metric; did you mean node_cpu_seconds_total?"]
    );
    let empty = store();
    assert_eq!(
        empty.explain("up").await,
        ["up is not a known metric (the server has no metrics yet)"]
    );
}

#[tokio::test]
async fn a_matcher_that_matches_nothing_gets_the_values_that_exist() {
    let s = store();
    s.node_cpu();
    assert_eq!(
        s.explain("sum by (cpu) (rate(node_cpu_seconds_total{mode=\"usr\"}[5m]))")
            .await,
        ["no series of node_cpu_seconds_total has mode=\"usr\" (mode has: idle, system, user)"]
    );
    assert_eq!(
        s.explain("node_cpu_seconds_total{mode=~\"us.x\", cpu=\"0\"}")
            .await,
        ["no series of node_cpu_seconds_total has mode=~\"us.x\" (mode has: idle, system, user)"]
    );
    assert_eq!(
        s.explain("node_cpu_seconds_total{mde=\"user\"}").await,
        ["no series of node_cpu_seconds_total has a label \"mde\" (its labels: cpu, job, mode)"]
    );
    assert_eq!(
        s.explain("{job=\"nod\"}").await,
        ["no series has job=\"nod\" (job has: node)"]
    );
    assert_eq!(
        s.explain("{__name__=~\"node_mem.*\"}").await,
        ["no metric name matches __name__=~\"node_mem.*\""]
    );
    // Many values are cut short.
    for i in 0..12 {
        s.add(&[("__name__", "many"), ("v", &format!("{i:02}"))], &[5.0]);
    }
    assert_eq!(
        s.explain("many{v=\"x\"}").await,
        ["no series of many has v=\"x\" (v has: 00, 01, 02, 03, 04, 05, 06, 07, … 4 more)"]
    );
}

#[tokio::test]
async fn a_window_with_fewer_than_two_samples_says_so() {
    let s = store();
    // A series that started 20 seconds ago: one sample.
    s.add(&[("__name__", "fresh_total"), ("job", "node")], &[20.0]);
    assert_eq!(
        s.explain("rate(fresh_total[1m])").await,
        ["rate(fresh_total[1m]) needs two samples in 1m; the oldest sample is 20s old — wait, or widen the range"]
    );
    // Scraped every 15s for minutes: a 10s window holds one sample.
    s.node_cpu();
    assert_eq!(
        s.explain("sum(irate(node_cpu_seconds_total{mode!=\"idle\"}[10s]))")
            .await,
        ["irate(node_cpu_seconds_total{mode!=\"idle\"}[10s]) needs two samples in 10s; samples arrive every 15s — widen the range"]
    );
    // A window shorter than the spacing may hold no sample at all.
    assert_eq!(
        s.explain("rate(node_cpu_seconds_total{mode=\"idle\"}[3s])").await,
        ["rate(node_cpu_seconds_total{mode=\"idle\"}[3s]) needs two samples in 3s; samples arrive every 15s — widen the range"]
    );
    // A series that stopped two minutes ago.
    s.add(
        &[("__name__", "gone_total"), ("job", "x")],
        &[150.0, 135.0, 120.0],
    );
    assert_eq!(
        s.explain("increase(gone_total[1m])").await,
        ["increase(gone_total[1m]) needs two samples in 1m; samples arrive every 15s and the newest sample is 2m old"]
    );
    // The longest-lived series tells the age: a series that appeared just now does not.
    s.add(&[("__name__", "mixed_total"), ("k", "a")], &[2.0]);
    s.add(&[("__name__", "mixed_total"), ("k", "b")], &[100.0, 40.0]);
    assert_eq!(
        s.explain("rate(mixed_total[1m])").await,
        ["rate(mixed_total[1m]) needs two samples in 1m; samples arrive every 1m — widen the range"]
    );
    // A gap: the sample 20s old is not the oldest, so no waiting is suggested.
    s.add(&[("__name__", "gap_total"), ("job", "x")], &[900.0, 20.0]);
    assert_eq!(
        s.explain("rate(gap_total[1m])").await,
        ["rate(gap_total[1m]) needs two samples in 1m — widen the range"]
    );
    // With an offset, the ages are counted from the window's end.
    assert_eq!(
        s.explain("rate(gone_total[10s] offset 2m)").await,
        ["rate(gone_total[10s] offset 2m) needs two samples in 10s; samples arrive every 15s — widen the range"]
    );
}

#[tokio::test]
async fn no_explanation_when_the_data_is_there() {
    let s = store();
    s.node_cpu();
    s.add(
        &[("__name__", "up"), ("instance", "a"), ("job", "node")],
        &[5.0],
    );
    s.add(
        &[("__name__", "up"), ("instance", "b"), ("job", "api")],
        &[5.0],
    );
    for q in [
        // The values filter everything out.
        "node_cpu_seconds_total > 1000",
        // Each matcher matches, their combination does not.
        "up{job=\"node\", instance=\"b\"}",
        // Enough samples; the comparison empties the answer.
        "rate(node_cpu_seconds_total[1m]) > 5",
        // Two samples in the window; a subquery is not looked into.
        "max_over_time(rate(node_cpu_seconds_total[10s])[1m:15s]) > 100",
        "absent(up)",
        "sum(up) by (job) unless on() vector(1)",
    ] {
        assert_eq!(s.explain(q).await, Vec::<String>::new(), "{q}");
    }
    // Not a query, or not empty.
    assert!(explain_empty(&s.source, "sum(", Some(T)).await.is_empty());
    assert!(!is_empty_result(
        &json!({"resultType": "scalar", "result": [1, "1"]})
    ));
    assert!(!is_empty_result(
        &json!({"resultType": "vector", "result": [{"metric": {}, "value": [1, "1"]}]})
    ));
    assert!(is_empty_result(
        &json!({"resultType": "matrix", "result": []})
    ));
}

#[test]
fn the_scrape_interval_comes_from_the_target_of_the_series() {
    let targets = json!({"activeTargets": [
        {"labels": {"job": "node", "instance": "a:9100"}, "scrapeInterval": "15s"},
        {"labels": {"job": "node", "instance": "b:9100"}, "scrapeInterval": "30s"},
        {"labels": {"job": "api", "instance": "c:80"}, "scrapeInterval": "1m"},
    ]});
    assert_eq!(
        target_interval(&targets, "node", Some("b:9100")).as_deref(),
        Some("30s")
    );
    assert_eq!(
        target_interval(&targets, "api", None).as_deref(),
        Some("1m")
    );
    assert_eq!(
        target_interval(&targets, "node", None),
        None,
        "two intervals"
    );
    assert_eq!(target_interval(&targets, "other", None), None);
}

#[test]
fn closest_names_prefer_small_edits_then_long_prefixes() {
    let names: Vec<String> = [
        "node_cpu_seconds_total",
        "node_cpu_guest_seconds_total",
        "node_memory_MemFree_bytes",
        "up",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(
        closest("node_cpu_second_total", &names),
        ["node_cpu_seconds_total"]
    );
    assert_eq!(
        closest("node_cpu", &names),
        ["node_cpu_seconds_total", "node_cpu_guest_seconds_total"]
    );
    assert_eq!(closest("upp", &names), ["up"]);
    assert!(closest("zzz", &names).is_empty());
    assert_eq!(spacing(&[0.0, 15.0, 30.0, 46.0]), Some(15.0));
    assert_eq!(spacing(&[1.0]), None);
    assert_eq!(readable(15.2), "15s");
    assert_eq!(readable(0.25), "250ms");
    assert_eq!(readable(90.0), "1m30s");
}
