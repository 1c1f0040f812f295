//! `/api/v1/status/*`, `/api/v1/format_query`, `/api/v1/parse_query`: what the server is running with (config with secrets as
//! `<secret>`, flags, runtime and build info), TSDB cardinality statistics and promterm's
//! remote-write senders, in Prometheus's JSON (web/api/v1/api.go in our own words).
//! Uses axum, `model`, `storage` and `promql` (to parse queries).

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{json, Value};

use super::error::{blocking, success, ApiError};
use super::params::Params;
use super::state::ApiState;
pub use super::state::{dump_config, ConfigDumpError, ConfigYaml, HeadStatsFn, ServerInfo};
use crate::model::{rfc3339_system as rfc3339, MatchOp, Matcher, MAX_TIME, MIN_TIME};

/// The running configuration; a configuration that could not be written as YAML is an
/// internal error rather than an empty document.
pub async fn config(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let yaml = match &*state.info.config_yaml.read() {
        Ok(y) => y.clone(),
        Err(e) => return Err(ApiError::internal(e.to_string())),
    };
    Ok(success(json!({ "yaml": yaml }), vec![]))
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
pub async fn tsdb(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let p = Params::parse(raw.as_deref(), None);
    let limit = match p
        .get("limit")
        .filter(|s| !s.is_empty())
        .map(str::parse::<usize>)
    {
        None => 10,
        Some(Ok(n)) if n > 0 => n,
        _ => return Err(ApiError::bad_data("limit must be a positive number")),
    };
    let q = state.querier.clone();
    let series = blocking("statistics", move || {
        let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").expect("valid regex")];
        q.series(&all, MIN_TIME, MAX_TIME)
    })
    .await??;
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
    Ok(success(
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
    ))
}

/// A `query` parameter that does not parse.
fn bad_query(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_data(format!("invalid parameter \"query\": {e}"))
}

pub async fn format_query(RawQuery(raw): RawQuery, body: Bytes) -> Result<Response, ApiError> {
    let p = Params::with_form(raw.as_deref(), &body);
    let e = crate::promql::engine::parse(p.get("query").unwrap_or("")).map_err(bad_query)?;
    Ok(success(
        Value::String(crate::promql::parse_trim::pretty_string(&e)),
        vec![],
    ))
}

/// `/api/v1/parse_query`: the query's syntax tree as JSON.
pub async fn parse_query(RawQuery(raw): RawQuery, body: Bytes) -> Result<Response, ApiError> {
    let p = Params::with_form(raw.as_deref(), &body);
    let e = crate::promql::engine::parse(p.get("query").unwrap_or("")).map_err(bad_query)?;
    Ok(success(crate::promql::ast_json::translate(&e), vec![]))
}

/// promterm's own status endpoint: each remote-write sender's counters.
pub async fn remote_write(State(state): State<ApiState>) -> Response {
    let list: Vec<Value> = state
        .senders
        .as_ref()
        .map(|s| {
            s.list
                .lock()
                .iter()
                .map(|x| {
                    let l = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
                    json!({
                        "name": x.name,
                        "url": x.url,
                        "pending": l(&x.stats.pending),
                        "sent": l(&x.stats.sent),
                        "failed": l(&x.stats.failed),
                        "dropped": l(&x.stats.dropped),
                        "protocol": x.protocol(),
                        "shards": l(&x.stats.shards),
                        "desiredShards": l(&x.stats.desired_shards),
                        "minShards": x.min_shards,
                        "maxShards": x.max_shards,
                        "metadataSent": l(&x.stats.metadata_sent),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    success(json!({ "senders": list }), vec![])
}
