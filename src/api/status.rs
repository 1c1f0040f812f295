//! `/api/v1/status/*`, `/api/v1/format_query`, `/api/v1/parse_query`, `/api/v1/query_exemplars`: what the server is
//! running with (config with secrets as `<secret>`, flags, runtime and build info) and TSDB
//! cardinality statistics, in Prometheus's JSON (web/api/v1/api.go in our own words).

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use parking_lot::RwLock;
use serde_json::{json, Value};

use super::targets::rfc3339;
use super::{bad_data, internal, success, ApiState, Params, MAX_TIME, MIN_TIME};
use crate::model::{MatchOp, Matcher};

/// `20060102T150405Z`: a UTC time as snapshot names carry it.
pub fn rfc3339_compact(t: SystemTime) -> String {
    let full = rfc3339(Some(t));
    // "2006-01-02T15:04:05[.frac]Z"
    let (date, rest) = full.split_once('T').unwrap_or((&full, ""));
    let time: String = rest.chars().take(8).filter(|c| *c != ':').collect();
    format!("{}T{time}Z", date.replace('-', ""))
}

/// What `/api/v1/status/*` reports about the running server.
pub struct ServerInfo {
    pub start: SystemTime,
    pub flags: BTreeMap<String, String>,
    pub retention: String,
    /// The running config as YAML (secrets already `<secret>`).
    pub config_yaml: RwLock<String>,
    /// Whether the last reload succeeded, and when the running config was loaded.
    pub reload: RwLock<(bool, SystemTime)>,
    /// Chunks in memory and the stored time range (`None` when empty).
    pub head_stats: Option<HeadStatsFn>,
    /// WAL corruptions found (and truncated) when the store was opened.
    pub corruptions: u64,
}

/// Reports (chunks in memory, stored time range).
pub type HeadStatsFn = std::sync::Arc<dyn Fn() -> (usize, Option<(i64, i64)>) + Send + Sync>;

impl std::fmt::Debug for ServerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerInfo")
            .field("flags", &self.flags)
            .finish()
    }
}

impl Default for ServerInfo {
    fn default() -> Self {
        ServerInfo {
            start: SystemTime::now(),
            flags: BTreeMap::new(),
            retention: String::new(),
            config_yaml: RwLock::new(String::new()),
            reload: RwLock::new((true, SystemTime::now())),
            head_stats: None,
            corruptions: 0,
        }
    }
}

pub async fn config(State(state): State<ApiState>) -> Response {
    success(
        json!({"yaml": state.info.config_yaml.read().clone()}),
        vec![],
    )
}

pub async fn flags(State(state): State<ApiState>) -> Response {
    success(json!(state.info.flags), vec![])
}

pub async fn runtimeinfo(State(state): State<ApiState>) -> Response {
    let (ok, at) = *state.info.reload.read();
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    // Go's figures have Rust counterparts: goroutines are live tokio tasks, GOMAXPROCS the
    // runtime's worker threads; there is no GC, so GOGC/GODEBUG are empty and no memory limit.
    let (tasks, workers) = match tokio::runtime::Handle::try_current() {
        Ok(h) => {
            let m = h.metrics();
            (m.num_alive_tasks(), m.num_workers())
        }
        Err(_) => (0, 1),
    };
    success(
        json!({
            "startTime": rfc3339(Some(state.info.start)),
            "CWD": cwd,
            "reloadConfigSuccess": ok,
            "lastConfigTime": rfc3339(Some(at)),
            "corruptionCount": state.info.corruptions,
            "goroutineCount": tasks,
            "GOMAXPROCS": workers,
            "GOMEMLIMIT": i64::MAX,
            "GOGC": "",
            "GODEBUG": "",
            "storageRetention": state.info.retention,
        }),
        vec![],
    )
}

pub async fn buildinfo() -> Response {
    success(
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "revision": "",
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "rust",
        }),
        vec![],
    )
}

/// Head statistics and the top-10 cardinality lists.
pub async fn tsdb(State(state): State<ApiState>, RawQuery(raw): RawQuery) -> Response {
    let p = Params::parse(raw.as_deref(), None);
    let limit = match p
        .get("limit")
        .filter(|s| !s.is_empty())
        .map(str::parse::<usize>)
    {
        None => 10,
        Some(Ok(n)) if n > 0 => n,
        _ => return bad_data("limit must be a positive number"),
    };
    let q = state.querier.clone();
    let res = tokio::task::spawn_blocking(move || {
        let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").expect("valid regex")];
        q.series(&all, MIN_TIME, MAX_TIME)
    })
    .await;
    let series = match res {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return internal(e),
        Err(e) => return bad_data(format!("statistics task failed: {e}")),
    };
    let mut by_name: HashMap<String, u64> = HashMap::new();
    let mut values: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    let mut memory: HashMap<String, u64> = HashMap::new();
    let mut pairs: HashMap<String, u64> = HashMap::new();
    for l in &series {
        if let Some(n) = l.metric_name() {
            *by_name.entry(n.to_string()).or_default() += 1;
        }
        for x in l.iter() {
            let set = values.entry(x.name.to_string()).or_default();
            if set.insert(x.value.to_string()) {
                *memory.entry(x.name.to_string()).or_default() += x.value.len() as u64;
            }
            *pairs.entry(format!("{}={}", x.name, x.value)).or_default() += 1;
        }
    }
    let top = |m: HashMap<String, u64>| -> Value {
        let mut v: Vec<(String, u64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(limit);
        Value::Array(
            v.into_iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect(),
        )
    };
    let num_pairs = pairs.len();
    let (chunks, range) = state.info.head_stats.as_ref().map_or((0, None), |f| f());
    // Prometheus reports an empty head as minTime = max int64, maxTime = min int64.
    let (min_t, max_t) = range.unwrap_or((i64::MAX, i64::MIN));
    let value_counts: HashMap<String, u64> = values
        .iter()
        .map(|(k, v)| (k.clone(), v.len() as u64))
        .collect();
    success(
        json!({
            "headStats": {
                "numSeries": series.len(),
                "numLabelPairs": num_pairs,
                "chunkCount": chunks,
                "minTime": min_t,
                "maxTime": max_t,
            },
            "seriesCountByMetricName": top(by_name),
            "labelValueCountByLabelName": top(value_counts),
            "memoryInBytesByLabelName": top(memory),
            "seriesCountByLabelValuePair": top(pairs),
        }),
        vec![],
    )
}

pub async fn format_query(RawQuery(raw): RawQuery, body: Bytes) -> Response {
    let p = Params::parse(raw.as_deref(), (!body.is_empty()).then_some(&body[..]));
    let q = p.get("query").unwrap_or("");
    match crate::promql::engine::parse(q) {
        Ok(e) => success(Value::String(e.prettify()), vec![]),
        Err(e) => bad_data(format!("invalid parameter \"query\": {e}")),
    }
}

/// `/api/v1/parse_query`: the query's syntax tree as JSON.
pub async fn parse_query(RawQuery(raw): RawQuery, body: Bytes) -> Response {
    let p = Params::parse(raw.as_deref(), (!body.is_empty()).then_some(&body[..]));
    match crate::promql::engine::parse(p.get("query").unwrap_or("")) {
        Ok(e) => success(crate::promql::ast_json::translate(&e), vec![]),
        Err(e) => bad_data(format!("invalid parameter \"query\": {e}")),
    }
}

pub async fn query_exemplars(RawQuery(raw): RawQuery, body: Bytes) -> Response {
    let p = Params::parse(raw.as_deref(), (!body.is_empty()).then_some(&body[..]));
    if let Err(e) = crate::promql::engine::parse(p.get("query").unwrap_or("")) {
        return bad_data(format!("invalid parameter \"query\": {e}"));
    }
    let (start, end) = match (p.time("start", MIN_TIME), p.time("end", MAX_TIME)) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return bad_data(e),
    };
    if end < start {
        return bad_data("invalid parameter \"end\": end timestamp must not be before start time");
    }
    // Exemplars are parsed at scrape time but not stored.
    success(Value::Array(vec![]), vec![])
}
