//! `/api/v1/targets`, `/api/v1/targets/metadata` and `/api/v1/metadata`, from the scrape
//! manager's state and the metadata received with remote write and OTLP, in Prometheus's JSON
//! (web/api/v1/api.go targets, targetMetadata, metricMetadata in our own words). Uses axum,
//! `model` and `scrape`.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::error::{success, ApiError};
use super::params::Params;
use super::state::ApiState;
use crate::model::{rfc3339_system as rfc3339, Labels};
use crate::scrape::relabel::LabelMap;
use crate::scrape::ActiveTarget;

fn map_json(l: &LabelMap) -> Value {
    Value::Object(
        l.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// The scrape URL with a loopback host replaced by this machine's name (Prometheus's
/// `globalUrl`).
fn global_url(u: &str) -> String {
    let Ok(mut url) = url::Url::parse(u) else {
        return u.to_string();
    };
    let loopback = matches!(
        url.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    );
    if loopback {
        if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            let h = h.trim();
            if !h.is_empty() && url.set_host(Some(h)).is_ok() {
                return url.to_string();
            }
        }
    }
    url.to_string()
}

fn active_json(a: &ActiveTarget) -> Value {
    let t = &a.target;
    json!({
        "discoveredLabels": map_json(&t.discovered),
        "labels": map_json(&t.labels),
        "scrapePool": a.pool,
        "scrapeUrl": t.url,
        "globalUrl": global_url(&t.url),
        "lastError": a.status.last_error,
        "lastScrape": rfc3339(a.status.last_scrape),
        "lastScrapeDuration": a.status.last_duration,
        "health": a.status.health.as_str(),
        "scrapeInterval": t.interval.to_string(),
        "scrapeTimeout": t.timeout.to_string(),
    })
}

pub async fn targets(State(state): State<ApiState>, RawQuery(raw): RawQuery) -> Response {
    let p = Params::parse(raw.as_deref(), None);
    let want = p.get("state").unwrap_or("any").to_ascii_lowercase();
    let pool = p.get("scrapePool").filter(|s| !s.is_empty());
    let (show_active, show_dropped) = match want.as_str() {
        "active" => (true, false),
        "dropped" => (false, true),
        _ => (true, true),
    };
    let Some(m) = &state.scrape else {
        return success(
            json!({"activeTargets": [], "droppedTargets": [], "droppedTargetCounts": {}}),
            vec![],
        );
    };
    let mut data = Map::new();
    if show_active {
        let active: Vec<Value> = m
            .active()
            .iter()
            .filter(|a| pool.is_none_or(|p| a.pool == p))
            .map(active_json)
            .collect();
        data.insert("activeTargets".into(), Value::Array(active));
    }
    if show_dropped {
        let dropped = m.dropped();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let list: Vec<Value> = dropped
            .iter()
            .filter(|d| pool.is_none_or(|p| d.pool == p))
            .map(|d| {
                *counts.entry(d.pool.clone()).or_default() += 1;
                json!({"discoveredLabels": map_json(&d.discovered)})
            })
            .collect();
        data.insert("droppedTargets".into(), Value::Array(list));
        data.insert("droppedTargetCounts".into(), json!(counts));
    }
    success(Value::Object(data), vec![])
}

pub async fn targets_metadata(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let p = Params::parse(raw.as_deref(), None);
    let limit = match p.get("limit").map(str::parse::<i64>) {
        None => -1,
        Some(Ok(n)) => n,
        Some(Err(_)) => return Err(ApiError::bad_data("limit must be a number")),
    };
    let metric = p.get("metric").filter(|s| !s.is_empty());
    let matchers = match p.get("match_target").filter(|s| !s.is_empty()) {
        Some(s) => crate::promql::parse_selector(s)
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"match_target\": {e}")))?,
        None => Vec::new(),
    };
    let mut out = Vec::new();
    if let Some(m) = &state.scrape {
        'targets: for a in m.active() {
            let labels = Labels::from_pairs(a.target.labels.iter());
            if !matchers.is_empty()
                && !matchers.iter().any(|alt| {
                    alt.iter()
                        .all(|mt| mt.matches(labels.get(&mt.name).unwrap_or("")))
                })
            {
                continue;
            }
            for (name, md) in &a.status.metadata {
                if metric.is_some_and(|m| m != name) {
                    continue;
                }
                if limit >= 0 && out.len() as i64 >= limit {
                    break 'targets;
                }
                let mut v = json!({
                    "target": map_json(&a.target.labels),
                    "type": md.kind.as_str(),
                    "help": md.help,
                    "unit": md.unit,
                });
                // Prometheus names the metric only when the request did not.
                if metric.is_none() {
                    v["metric"] = json!(name);
                }
                out.push(v);
            }
        }
    }
    Ok(success(Value::Array(out), vec![]))
}

pub async fn metadata(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let p = Params::parse(raw.as_deref(), None);
    let num = |k: &str| -> Result<i64, ApiError> {
        match p.get(k).filter(|s| !s.is_empty()).map(str::parse::<i64>) {
            None => Ok(-1),
            Some(Ok(n)) => Ok(n),
            Some(Err(_)) => Err(ApiError::bad_data(format!("{k} must be a number"))),
        }
    };
    let (limit, per_metric) = (num("limit")?, num("limit_per_metric")?);
    let metric = p.get("metric").filter(|s| !s.is_empty());
    let mut by_name: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut add = |name: &str, md: &crate::textparse::Metadata| {
        if metric.is_some_and(|m| m != name) {
            return;
        }
        let v = json!({"type": md.kind.as_str(), "help": md.help, "unit": md.unit});
        let list = by_name.entry(name.to_string()).or_default();
        if !list.contains(&v) && (per_metric < 0 || (list.len() as i64) < per_metric) {
            list.push(v);
        }
    };
    if let Some(m) = &state.scrape {
        for a in m.active() {
            for (name, md) in &a.status.metadata {
                add(name, md);
            }
        }
    }
    // Metadata that came with remote write and OTLP.
    for (name, md) in state.received_metadata.snapshot() {
        add(&name, &md);
    }
    let mut data = Map::new();
    for (k, v) in by_name {
        if limit >= 0 && data.len() as i64 >= limit {
            break;
        }
        data.insert(k, Value::Array(v));
    }
    Ok(success(Value::Object(data), vec![]))
}
