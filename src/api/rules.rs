//! `/api/v1/rules`, `/api/v1/alerts` and `/api/v1/alertmanagers` in Prometheus's JSON. Without
//! a rule manager (tests, a bare router) the lists are empty. Uses axum, `promql` (selectors)
//! and `rules`.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{json, Value};

use super::error::{success, ApiError};
use super::params::Params;
use super::state::ApiState;
use crate::rules::manager::RuleFilter;

/// Filters: `type=alert|record`, `rule_name[]`, `rule_group[]`, `file[]`, `exclude_alerts`,
/// `match[]` (label selectors over each rule's configured labels).
pub async fn rules(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let p = Params::parse(raw.as_deref(), None);
    let kind = match p.get("type").filter(|t| !t.is_empty()) {
        None => None,
        Some("alert") => Some("alerting".to_string()),
        Some("record") => Some("recording".to_string()),
        Some(other) => {
            return Err(ApiError::bad_data(format!(
                "invalid parameter \"type\": not supported value {other:?}"
            )))
        }
    };
    let exclude_alerts = match p.get("exclude_alerts").filter(|t| !t.is_empty()) {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(ApiError::bad_data(format!(
                "invalid parameter \"exclude_alerts\": parsing {other:?}: invalid syntax"
            )))
        }
    };
    let mut matchers = Vec::new();
    for m in p.all("match[]") {
        let sets = crate::promql::parse_selector(m)
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"match[]\": {e}")))?;
        matchers.extend(sets);
    }
    let f = RuleFilter {
        matchers,
        kind,
        names: p.all("rule_name[]").iter().map(|s| s.to_string()).collect(),
        groups: p
            .all("rule_group[]")
            .iter()
            .map(|s| s.to_string())
            .collect(),
        files: p.all("file[]").iter().map(|s| s.to_string()).collect(),
        exclude_alerts,
    };
    let data = match &state.rules {
        Some(m) => m.rules_json(&f),
        None => json!({ "groups": [] }),
    };
    Ok(success(data, vec![]))
}

pub async fn alerts(State(state): State<ApiState>) -> Response {
    let data = match &state.rules {
        Some(m) => m.alerts_json(),
        None => json!({ "alerts": [] }),
    };
    success(data, vec![])
}

pub async fn alertmanagers(State(state): State<ApiState>) -> Response {
    let (active, dropped) = state
        .rules
        .as_ref()
        .and_then(|m| m.notifier())
        .map(|n| n.alertmanagers())
        .unwrap_or_default();
    let url = |u: &String| json!({ "url": u });
    let dropped: Vec<Value> = dropped
        .iter()
        .map(|l| {
            let scheme = l.get("__scheme__").map_or("http", String::as_str);
            let addr = l.get("__address__").map_or("", String::as_str);
            let path = l.get("__alerts_path__").map_or("", String::as_str);
            json!({ "url": format!("{scheme}://{addr}{path}") })
        })
        .collect();
    success(
        json!({
            "activeAlertmanagers": active.iter().map(url).collect::<Vec<_>>(),
            "droppedAlertmanagers": dropped,
        }),
        vec![],
    )
}
