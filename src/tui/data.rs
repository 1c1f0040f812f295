//! What the panes show, read out of the Prometheus API's JSON (`data` of each answer), so the
//! TUI works the same against promterm in process and any Prometheus-compatible server.
//! A native-histogram sample (`histogram` / `histograms` in the JSON) is kept whole in
//! `SeriesData::histograms` and appears in `points` as its observation count, so the graph and
//! the sparklines plot the count (`heatmap` reads the buckets).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::client::histogram::HistogramJson;

pub type LabelSet = BTreeMap<String, String>;

/// One series of a result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SeriesData {
    pub labels: LabelSet,
    /// (unix seconds, value), oldest first; one point for instant results. A histogram
    /// sample's value here is its count.
    pub points: Vec<(f64, f64)>,
    /// The native-histogram samples among `points` (unix seconds, histogram), oldest first.
    pub histograms: Vec<(f64, HistogramJson)>,
}

impl SeriesData {
    /// The histogram sample at `t`, if the point there is one.
    pub fn histogram_at(&self, t: f64) -> Option<&HistogramJson> {
        self.histograms
            .iter()
            .find(|(ht, _)| *ht == t)
            .map(|(_, h)| h)
    }

    /// The histogram sample of the newest point, if it is one.
    pub fn last_histogram(&self) -> Option<&HistogramJson> {
        self.points.last().and_then(|p| self.histogram_at(p.0))
    }
}

/// One series of a vector or matrix result: floats from `value`/`values`, histograms from
/// `histogram`/`histograms`, merged by time.
fn series_data(s: &Value) -> SeriesData {
    let mut points: Vec<(f64, f64)> = Vec::new();
    if let Some(p) = s.get("value") {
        points.push((num(&p[0]), num(&p[1])));
    }
    points.extend(
        s["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (num(&p[0]), num(&p[1]))),
    );
    let histograms: Vec<(f64, HistogramJson)> = s
        .get("histogram")
        .into_iter()
        .chain(s["histograms"].as_array().into_iter().flatten())
        .filter_map(|p| Some((num(&p[0]), HistogramJson::parse(&p[1])?)))
        .collect();
    points.extend(histograms.iter().map(|(t, h)| (*t, h.count)));
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    SeriesData {
        labels: labels(&s["metric"]),
        points,
        histograms,
    }
}

/// A query result.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum QueryData {
    #[default]
    Empty,
    Scalar(f64, f64),
    Str(f64, String),
    Vector(Vec<SeriesData>),
    Matrix(Vec<SeriesData>),
}

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => match s.as_str() {
            "+Inf" | "Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            s => s.parse().unwrap_or(f64::NAN),
        },
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

fn labels(v: &Value) -> LabelSet {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads `data` of a query or query_range answer.
pub fn query_data(d: &Value) -> QueryData {
    let r = &d["result"];
    match d["resultType"].as_str() {
        Some("scalar") => QueryData::Scalar(num(&r[0]), num(&r[1])),
        Some("string") => QueryData::Str(num(&r[0]), r[1].as_str().unwrap_or("").to_string()),
        Some("vector") => QueryData::Vector(
            r.as_array()
                .map(|a| a.iter().map(series_data).collect())
                .unwrap_or_default(),
        ),
        Some("matrix") => QueryData::Matrix(
            r.as_array()
                .map(|a| a.iter().map(series_data).collect())
                .unwrap_or_default(),
        ),
        _ => QueryData::Empty,
    }
}

/// `{__name__="x", a="b"}` as Prometheus prints series: `x{a="b"}`.
pub fn series_name(l: &LabelSet) -> String {
    let name = l.get("__name__").cloned().unwrap_or_default();
    let rest: Vec<String> = l
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    if rest.is_empty() && !name.is_empty() {
        name
    } else {
        format!("{name}{{{}}}", rest.join(", "))
    }
}

/// One exemplar: its own labels (`trace_id`, `span_id`, ...), value and time (unix seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct ExemplarData {
    pub labels: LabelSet,
    pub value: f64,
    pub time: f64,
}

/// The exemplars of one series (`/api/v1/query_exemplars`), oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ExemplarSeries {
    pub series: LabelSet,
    pub exemplars: Vec<ExemplarData>,
}

/// Reads `data` of a query_exemplars answer: `[{seriesLabels, exemplars: [{labels, value,
/// timestamp}]}]` (value a string, timestamp seconds as a number, as Prometheus writes them).
/// Anything else reads as no exemplars.
pub fn exemplars(d: &Value) -> Vec<ExemplarSeries> {
    d.as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let mut exemplars: Vec<ExemplarData> = s["exemplars"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| ExemplarData {
                    labels: labels(&e["labels"]),
                    value: num(&e["value"]),
                    time: num(&e["timestamp"]),
                })
                .filter(|e| e.time.is_finite())
                .collect();
            exemplars.sort_by(|a, b| a.time.total_cmp(&b.time));
            ExemplarSeries {
                series: labels(&s["seriesLabels"]),
                exemplars,
            }
        })
        .filter(|s| !s.exemplars.is_empty())
        .collect()
}

/// An exemplar's labels as `trace_id=… span_id=… other=…`: the trace and span first, then the
/// rest by name.
pub fn exemplar_labels(l: &LabelSet) -> String {
    const FIRST: [&str; 2] = ["trace_id", "span_id"];
    FIRST
        .iter()
        .filter_map(|k| l.get(*k).map(|v| (*k, v)))
        .chain(
            l.iter()
                .filter(|(k, _)| !FIRST.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v)),
        )
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A scrape target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub pool: String,
    pub instance: String,
    pub labels: LabelSet,
    /// Its labels before relabeling.
    pub discovered: LabelSet,
    pub health: String,
    pub last_error: String,
    pub last_scrape: String,
    pub duration: f64,
}

pub fn targets(d: &Value) -> Vec<Target> {
    let mut out: Vec<Target> = d["activeTargets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    let l = labels(&t["labels"]);
                    Target {
                        pool: t["scrapePool"].as_str().unwrap_or("").to_string(),
                        instance: l.get("instance").cloned().unwrap_or_default(),
                        labels: l,
                        discovered: labels(&t["discoveredLabels"]),
                        health: t["health"].as_str().unwrap_or("unknown").to_string(),
                        last_error: t["lastError"].as_str().unwrap_or("").to_string(),
                        last_scrape: t["lastScrape"].as_str().unwrap_or("").to_string(),
                        duration: t["lastScrapeDuration"].as_f64().unwrap_or(0.0),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| (&a.pool, &a.instance).cmp(&(&b.pool, &b.instance)));
    out
}

/// A target dropped by relabeling.
#[derive(Debug, Clone, PartialEq)]
pub struct DroppedTarget {
    /// Its pool (Prometheus 3.x and promterm say; empty from older servers).
    pub pool: String,
    pub discovered: LabelSet,
    /// The index in `relabel_configs` of the rule that dropped it and its action (promterm's
    /// `droppedBy`; others do not say).
    pub dropped_by: Option<(usize, String)>,
}

impl DroppedTarget {
    pub fn address(&self) -> &str {
        self.discovered
            .get("__address__")
            .map_or("", String::as_str)
    }
}

/// A pool's discoverer whose last refresh failed (promterm's `discoveryErrors`).
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryError {
    pub pool: String,
    pub discoverer: String,
    pub error: String,
}

/// Everything `/api/v1/targets` tells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetsData {
    pub active: Vec<Target>,
    pub dropped: Vec<DroppedTarget>,
    pub errors: Vec<DiscoveryError>,
}

impl From<Vec<Target>> for TargetsData {
    fn from(active: Vec<Target>) -> Self {
        TargetsData {
            active,
            ..Default::default()
        }
    }
}

/// The active targets (see [`targets`]), the dropped ones by pool and address, and the
/// discovery errors.
pub fn targets_data(d: &Value) -> TargetsData {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let mut dropped: Vec<DroppedTarget> = d["droppedTargets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| DroppedTarget {
                    pool: s(&t["scrapePool"]),
                    discovered: labels(&t["discoveredLabels"]),
                    dropped_by: t["droppedBy"]["index"]
                        .as_u64()
                        .map(|i| (i as usize, s(&t["droppedBy"]["action"]))),
                })
                .collect()
        })
        .unwrap_or_default();
    // Prometheus 2.x does not name a dropped target's pool: take its discovered `job` label,
    // the job's name unless discovery set another.
    for t in &mut dropped {
        if t.pool.is_empty() {
            t.pool = t.discovered.get("job").cloned().unwrap_or_default();
        }
    }
    dropped.sort_by(|a, b| (&a.pool, a.address()).cmp(&(&b.pool, b.address())));
    let errors = d["discoveryErrors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| DiscoveryError {
                    pool: s(&e["scrapePool"]),
                    discoverer: s(&e["discoverer"]),
                    error: s(&e["error"]),
                })
                .collect()
        })
        .unwrap_or_default();
    TargetsData {
        active: targets(d),
        dropped,
        errors,
    }
}

/// One step of `/api/v1/targets/relabel_steps`: the rule in one line, the labels after it,
/// whether the target is still kept.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    pub rule: String,
    pub output: LabelSet,
    pub keep: bool,
}

/// A relabel rule of the API's JSON (Prometheus's relabel.Config) in one line, the way it is
/// written in a config: the action, then the keys that differ from the defaults.
pub fn describe_rule(r: &Value) -> String {
    let s = |k: &str| r[k].as_str().unwrap_or("");
    let mut parts = vec![if s("action").is_empty() {
        "replace".to_string()
    } else {
        s("action").to_string()
    }];
    if let Some(src) = r["sourceLabels"].as_array().filter(|a| !a.is_empty()) {
        let names: Vec<&str> = src.iter().filter_map(Value::as_str).collect();
        parts.push(format!("source_labels=[{}]", names.join(", ")));
    }
    if !matches!(s("separator"), "" | ";") {
        parts.push(format!("separator={:?}", s("separator")));
    }
    if !matches!(s("regex"), "" | "(.*)") {
        parts.push(format!("regex={:?}", s("regex")));
    }
    if let Some(m) = r["modulus"].as_u64().filter(|m| *m != 0) {
        parts.push(format!("modulus={m}"));
    }
    if !s("targetLabel").is_empty() {
        parts.push(format!("target_label={}", s("targetLabel")));
    }
    if !matches!(s("replacement"), "" | "$1") {
        parts.push(format!("replacement={:?}", s("replacement")));
    }
    parts.join(" ")
}

pub fn relabel_steps(d: &Value) -> Vec<StepRow> {
    d["steps"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|st| StepRow {
                    rule: describe_rule(&st["rule"]),
                    output: labels(&st["output"]),
                    keep: st["keep"].as_bool().unwrap_or(true),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An alert with the rule it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub name: String,
    pub labels: LabelSet,
    pub annotations: LabelSet,
    pub state: String,
    pub active_at: String,
    pub value: String,
    /// The rule's expression and `for` (seconds), when the rules API gave them.
    pub query: String,
    pub for_secs: f64,
}

/// A rule as the rules view lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRow {
    pub group: String,
    pub file: String,
    pub name: String,
    pub kind: String,
    pub query: String,
    pub health: String,
    pub state: String,
    pub last_error: String,
    pub eval_secs: f64,
    pub for_secs: f64,
}

/// Rules and, from the same answer, every alert with its rule's expression.
pub fn rules(d: &Value) -> (Vec<RuleRow>, Vec<AlertRow>) {
    let mut rules = Vec::new();
    let mut alerts = Vec::new();
    for g in d["groups"].as_array().into_iter().flatten() {
        for r in g["rules"].as_array().into_iter().flatten() {
            let row = RuleRow {
                group: g["name"].as_str().unwrap_or("").to_string(),
                file: g["file"].as_str().unwrap_or("").to_string(),
                name: r["name"].as_str().unwrap_or("").to_string(),
                kind: r["type"].as_str().unwrap_or("").to_string(),
                query: r["query"].as_str().unwrap_or("").to_string(),
                health: r["health"].as_str().unwrap_or("unknown").to_string(),
                state: r["state"].as_str().unwrap_or("").to_string(),
                last_error: r["lastError"].as_str().unwrap_or("").to_string(),
                eval_secs: r["evaluationTime"].as_f64().unwrap_or(0.0),
                for_secs: r["duration"].as_f64().unwrap_or(0.0),
            };
            for a in r["alerts"].as_array().into_iter().flatten() {
                alerts.push(AlertRow {
                    name: row.name.clone(),
                    labels: labels(&a["labels"]),
                    annotations: labels(&a["annotations"]),
                    state: a["state"].as_str().unwrap_or("").to_string(),
                    active_at: a["activeAt"].as_str().unwrap_or("").to_string(),
                    value: a["value"].as_str().unwrap_or("").to_string(),
                    query: row.query.clone(),
                    for_secs: row.for_secs,
                });
            }
            rules.push(row);
        }
    }
    // Firing first, then pending; by name and labels within.
    let rank = |s: &str| match s {
        "firing" => 0,
        "pending" => 1,
        _ => 2,
    };
    alerts.sort_by(|a, b| {
        (rank(&a.state), &a.name, &a.labels).cmp(&(rank(&b.state), &b.name, &b.labels))
    });
    (rules, alerts)
}

/// One remote-write sender of promterm (`/api/v1/status/remote_write`).
#[derive(Debug, Clone, PartialEq)]
pub struct SenderRow {
    pub name: String,
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub dropped: u64,
    /// Shards sending now, and the protocol ("1.0"/"2.0"); 0 and "" from older servers.
    pub shards: u64,
    pub protocol: String,
}

pub fn senders(d: &Value) -> Vec<SenderRow> {
    d["senders"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| SenderRow {
            name: s["name"].as_str().unwrap_or("").to_string(),
            pending: s["pending"].as_u64().unwrap_or(0),
            sent: s["sent"].as_u64().unwrap_or(0),
            failed: s["failed"].as_u64().unwrap_or(0),
            dropped: s["dropped"].as_u64().unwrap_or(0),
            shards: s["shards"].as_u64().unwrap_or(0),
            protocol: s["protocol"].as_str().unwrap_or("").to_string(),
        })
        .collect()
}

/// Metric name → (type, help) from `/api/v1/metadata`.
pub fn metadata(d: &Value) -> BTreeMap<String, (String, String)> {
    d.as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| {
                    let m = v.as_array()?.first()?;
                    Some((
                        k.clone(),
                        (
                            m["type"].as_str().unwrap_or("").to_string(),
                            m["help"].as_str().unwrap_or("").to_string(),
                        ),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A list of strings (`/api/v1/labels`, `/api/v1/label/x/values`).
pub fn strings(d: &Value) -> Vec<String> {
    d.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// RFC 3339 (as the API writes times) to unix seconds (the API's own time parser).
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    crate::model::parse_time(s)
        .ok()
        .map(|ms| ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_results_of_every_type() {
        let v = query_data(&json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "job": "a"}, "value": [10.5, "1"]},
            {"metric": {}, "value": [10.5, "+Inf"]}]}));
        let QueryData::Vector(s) = v else {
            panic!("{v:?}")
        };
        assert_eq!(s[0].points, vec![(10.5, 1.0)]);
        assert_eq!(series_name(&s[0].labels), "up{job=\"a\"}");
        assert_eq!(series_name(&s[1].labels), "{}");
        assert!(s[1].points[0].1.is_infinite());
        let m = query_data(&json!({"resultType": "matrix", "result": [
            {"metric": {"a": "b"}, "values": [[1, "2"], [2, "NaN"]]}]}));
        let QueryData::Matrix(s) = m else { panic!() };
        assert_eq!(s[0].points.len(), 2);
        assert!(s[0].points[1].1.is_nan());
        assert_eq!(
            query_data(&json!({"resultType": "scalar", "result": [3, "4.5"]})),
            QueryData::Scalar(3.0, 4.5)
        );
    }

    #[test]
    fn histogram_samples_are_read_and_plotted_as_their_count() {
        let h = json!({"count":"4","sum":"301.1","buckets":[[1,"-2","-1.414213562373095","1"],
            [0,"0.08838834764831843","0.125","3"]]});
        let v = query_data(&json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "h"}, "histogram": [10.5, h]}]}));
        let QueryData::Vector(s) = v else {
            panic!("{v:?}")
        };
        assert_eq!(s[0].points, vec![(10.5, 4.0)]);
        let last = s[0].last_histogram().unwrap();
        assert_eq!((last.sum, last.buckets.len()), (301.1, 2));
        // A matrix series with floats, then histograms: one timeline.
        let small = json!({"count":"9","sum":"1","buckets":[[0,"1","2","9"]]});
        let m = query_data(&json!({"resultType": "matrix", "result": [
            {"metric": {"a": "b"}, "values": [[1, "2"], [2, "3"]],
             "histograms": [[3, small], [4, h]]}]}));
        let QueryData::Matrix(s) = m else { panic!() };
        assert_eq!(
            s[0].points,
            vec![(1.0, 2.0), (2.0, 3.0), (3.0, 9.0), (4.0, 4.0)]
        );
        assert_eq!(s[0].histograms.len(), 2);
        assert!(s[0].histogram_at(2.0).is_none());
        assert_eq!(s[0].histogram_at(3.0).map(|h| h.count), Some(9.0));
        assert_eq!(s[0].last_histogram().map(|h| h.count), Some(4.0));
    }

    #[test]
    fn exemplars_as_prometheus_writes_them() {
        let d = json!([
            {"seriesLabels": {"__name__": "x", "job": "a"}, "exemplars": [
                {"labels": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"},
                 "value": "6", "timestamp": 1600096945.479},
                {"labels": {"trace_id": "aa", "zone": "z1"}, "value": "+Inf", "timestamp": 1600096900}]},
            {"seriesLabels": {"__name__": "x", "job": "b"}, "exemplars": []},
            {"seriesLabels": {"__name__": "x"}, "exemplars": [
                {"labels": {}, "value": "oops", "timestamp": "1600096000.5"},
                {"labels": {}, "value": "1", "timestamp": null}]}
        ]);
        let e = exemplars(&d);
        assert_eq!(e.len(), 2, "a series without exemplars is left out: {e:?}");
        assert_eq!(series_name(&e[0].series), "x{job=\"a\"}");
        // Oldest first.
        assert_eq!(e[0].exemplars[0].time, 1600096900.0);
        assert!(e[0].exemplars[0].value.is_infinite());
        let last = &e[0].exemplars[1];
        assert_eq!((last.value, last.time), (6.0, 1600096945.479));
        assert_eq!(
            exemplar_labels(&last.labels),
            "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7"
        );
        assert_eq!(
            exemplar_labels(&e[0].exemplars[0].labels),
            "trace_id=aa zone=z1"
        );
        // A string timestamp is read; an exemplar without a time is dropped; a bad value is NaN.
        assert_eq!(e[1].exemplars.len(), 1);
        assert_eq!(e[1].exemplars[0].time, 1600096000.5);
        assert!(e[1].exemplars[0].value.is_nan());
        for bad in [
            json!(null),
            json!({"resultType": "vector"}),
            json!([1, "x"]),
        ] {
            assert!(exemplars(&bad).is_empty(), "{bad}");
        }
    }

    #[test]
    fn targets_rules_alerts_metadata() {
        let t = targets(&json!({"activeTargets": [
            {"scrapePool": "node", "labels": {"instance": "b:1", "job": "node"}, "health": "down", "lastError": "refused", "lastScrape": "2026-01-01T00:00:00Z", "lastScrapeDuration": 0.5},
            {"scrapePool": "node", "labels": {"instance": "a:1", "job": "node"}, "health": "up", "lastError": "", "lastScrape": "", "lastScrapeDuration": 0.01}]}));
        assert_eq!(t[0].instance, "a:1");
        let all = targets_data(&json!({
            "activeTargets": [{"scrapePool": "node", "labels": {"instance": "a:1"}, "discoveredLabels": {"__address__": "a:1", "__meta_x": "y"}}],
            "droppedTargets": [
                {"discoveredLabels": {"__address__": "z:1", "job": "web"}},
                {"discoveredLabels": {"__address__": "b:1", "job": "node"}, "scrapePool": "node", "droppedBy": {"index": 2, "action": "keep"}}],
            "discoveryErrors": [{"scrapePool": "node", "discoverer": "docker/0", "error": "no socket"}]}));
        assert_eq!(all.active[0].discovered["__meta_x"], "y");
        assert_eq!(all.dropped.len(), 2);
        assert_eq!(all.dropped[0].dropped_by, Some((2, "keep".to_string())));
        assert_eq!(
            (
                all.dropped[1].pool.as_str(),
                all.dropped[1].dropped_by.clone()
            ),
            ("web", None),
            "Prometheus 2.x: the job names the pool"
        );
        assert_eq!(all.errors[0].discoverer, "docker/0");
        let steps = relabel_steps(&json!({"steps": [
            {"rule": {"sourceLabels": ["__address__"], "separator": ";", "regex": "gone:.*", "replacement": "$1", "action": "drop"}, "output": {}, "keep": false},
            {"rule": {"separator": ";", "regex": "(.*)", "targetLabel": "team", "replacement": "x", "action": "replace"}, "output": {"team": "x"}, "keep": true}]}));
        assert_eq!(
            steps[0].rule,
            "drop source_labels=[__address__] regex=\"gone:.*\""
        );
        assert!(!steps[0].keep);
        assert_eq!(steps[1].rule, "replace target_label=team replacement=\"x\"");
        assert_eq!(steps[1].output["team"], "x");
        assert_eq!(
            (t[1].health.as_str(), t[1].last_error.as_str()),
            ("down", "refused")
        );
        let (r, a) = rules(&json!({"groups": [{"name": "g", "file": "f", "rules": [
            {"name": "Hot", "type": "alerting", "query": "x > 1", "duration": 300, "health": "ok", "state": "firing",
             "alerts": [{"labels": {"alertname": "Hot", "i": "2"}, "annotations": {}, "state": "pending", "activeAt": "2026-01-01T00:00:00Z", "value": "1e+00"},
                        {"labels": {"alertname": "Hot", "i": "1"}, "annotations": {"s": "x"}, "state": "firing", "activeAt": "2026-01-01T00:00:00Z", "value": "2e+00"}]},
            {"name": "r", "type": "recording", "query": "sum(x)", "health": "err", "lastError": "boom"}]}]}));
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].last_error, "boom");
        assert_eq!(a[0].state, "firing", "firing sorts first");
        assert_eq!((a[0].query.as_str(), a[0].for_secs), ("x > 1", 300.0));
        let m = metadata(&json!({"up": [{"type": "gauge", "help": "h", "unit": ""}]}));
        assert_eq!(m["up"], ("gauge".to_string(), "h".to_string()));
        assert_eq!(parse_rfc3339("1970-01-02T00:00:01.5Z"), Some(86401.5));
        assert_eq!(
            parse_rfc3339("2026-11-22T10:00:00+01:00"),
            parse_rfc3339("2026-11-22T09:00:00Z")
        );
    }
}
