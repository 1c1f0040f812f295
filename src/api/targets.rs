//! `/api/v1/targets`, `/api/v1/targets/relabel_steps`, `/api/v1/targets/metadata` and
//! `/api/v1/metadata`, from the scrape manager's state and the metadata received with remote
//! write and OTLP, in Prometheus's JSON (web/api/v1/api.go targets, targetRelabelSteps,
//! targetMetadata, metricMetadata in our own words). Uses axum, `model` and `scrape`.
//!
//! Beyond Prometheus, `/api/v1/targets` names on each dropped target the rule that dropped it
//! (`droppedBy`) and lists the pools' failing discoverers (`discoveryErrors`); clients that
//! do not know these keys ignore them.

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

/// `/api/v1/targets`: as Prometheus, `state` is `active`, `dropped` or `any` (the default;
/// another value shows neither list) and `scrapePool` picks one pool; both lists are always
/// there, `droppedTargetCounts` (every pool's) with the dropped ones.
pub async fn targets(State(state): State<ApiState>, RawQuery(raw): RawQuery) -> Response {
    let p = Params::parse(raw.as_deref(), None);
    let want = p.get("state").unwrap_or("").to_ascii_lowercase();
    let pool = p.get("scrapePool").filter(|s| !s.is_empty());
    let show_active = matches!(want.as_str(), "" | "any" | "active");
    let show_dropped = matches!(want.as_str(), "" | "any" | "dropped");
    let mut data = Map::new();
    let m = state.scrape.as_ref();
    let active: Vec<Value> = match m {
        Some(m) if show_active => m
            .active()
            .iter()
            .filter(|a| pool.is_none_or(|p| a.pool == p))
            .map(active_json)
            .collect(),
        _ => Vec::new(),
    };
    data.insert("activeTargets".into(), Value::Array(active));
    let dropped: Vec<Value> = match m {
        Some(m) if show_dropped => m
            .dropped()
            .iter()
            .filter(|d| pool.is_none_or(|p| d.pool == p))
            .map(|d| {
                json!({
                    "discoveredLabels": map_json(&d.discovered),
                    "scrapePool": d.pool,
                    "droppedBy": {"index": d.rule, "action": d.action},
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    data.insert("droppedTargets".into(), Value::Array(dropped));
    if show_dropped {
        let counts = m.map(|m| m.dropped_counts()).unwrap_or_default();
        data.insert("droppedTargetCounts".into(), json!(counts));
    }
    let errors: Vec<Value> = m
        .map(|m| m.discovery_errors())
        .unwrap_or_default()
        .into_iter()
        .filter(|e| pool.is_none_or(|p| e.pool == p))
        .map(|e| json!({"scrapePool": e.pool, "discoverer": e.discoverer, "error": e.error}))
        .collect();
    data.insert("discoveryErrors".into(), Value::Array(errors));
    success(Value::Object(data), vec![])
}

/// A relabel rule in Prometheus's JSON (relabel.Config: camelCase keys, empty ones left out
/// except the regex).
fn rule_json(c: &crate::config::RelabelConfig) -> Value {
    let mut r = Map::new();
    if !c.source_labels.is_empty() {
        r.insert("sourceLabels".into(), json!(c.source_labels));
    }
    if !c.separator.is_empty() {
        r.insert("separator".into(), json!(c.separator));
    }
    r.insert("regex".into(), json!(c.regex.as_str()));
    if c.modulus != 0 {
        r.insert("modulus".into(), json!(c.modulus));
    }
    if !c.target_label.is_empty() {
        r.insert("targetLabel".into(), json!(c.target_label));
    }
    if !c.replacement.is_empty() {
        r.insert("replacement".into(), json!(c.replacement));
    }
    r.insert("action".into(), json!(c.action.as_str()));
    Value::Object(r)
}

/// `/api/v1/targets/relabel_steps?scrapePool=P&labels={...}` (Prometheus 3.x): the pool's
/// `relabel_configs` applied to the given labels (a target's discovered labels), one step per
/// rule with the labels after it and whether the target is still kept.
pub async fn relabel_steps(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let p = Params::parse(raw.as_deref(), None);
    let pool = p
        .get("scrapePool")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_data("no scrapePool parameter provided"))?;
    let text = p
        .get("labels")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_data("no labels parameter provided"))?;
    let given: BTreeMap<String, String> = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_data(format!("error parsing labels: {e}")))?;
    let job = state
        .scrape
        .as_ref()
        .and_then(|m| m.pool_config(pool))
        .ok_or_else(|| {
            ApiError::bad_data(format!(
                "error retrieving scrape config: scrape pool {pool:?} not found"
            ))
        })?;
    let mut l: LabelMap = given.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    let steps = crate::scrape::relabel::process_traced(&job.relabel_configs, &mut l);
    let steps: Vec<Value> = job
        .relabel_configs
        .iter()
        .zip(&steps)
        .map(|(c, s)| json!({"rule": rule_json(c), "output": map_json(&s.output), "keep": s.keep}))
        .collect();
    Ok(success(json!({ "steps": steps }), vec![]))
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

#[cfg(test)]
#[path = "targets_tests.rs"]
mod tests;
