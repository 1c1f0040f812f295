//! `GET/POST /api/v1/query_exemplars?query=&start=&end=`: the exemplars of the series that the
//! vector selectors of `query` pick (a series matching any of them), within [start, end]
//! (default: all time), as Prometheus answers it (web/api/v1/api.go `queryExemplars`, in our
//! own words): times are read first, then the expression; an expression without selectors
//! answers 204 with no body. Uses axum, `model`, `storage` and `promql` (to parse queries).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::error::{blocking, success, ApiError};
use super::params::Params;
use super::state::ApiState;
use crate::model::{Labels, Matcher, MAX_TIME, MIN_TIME};
use crate::storage::SeriesExemplars;

fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|x| (x.name.to_string(), Value::String(x.value.to_string())))
            .collect(),
    )
}

/// One series and its exemplars in Prometheus's JSON (value as a string, time in seconds).
pub fn series_json(s: &SeriesExemplars) -> Value {
    let exemplars: Vec<Value> = s
        .exemplars
        .iter()
        .map(|e| {
            json!({
                "labels": labels_json(&e.labels),
                "value": crate::promql::value::format_float(e.value),
                "timestamp": e.t as f64 / 1000.0,
            })
        })
        .collect();
    json!({ "seriesLabels": labels_json(&s.labels), "exemplars": exemplars })
}

/// The matcher sets of every vector selector in `query` (each `or` alternative its own set).
fn selectors(query: &str) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let expr =
        crate::promql::engine::parse(query).map_err(|e| ApiError::bad_data(e.to_string()))?;
    let mut sets = Vec::new();
    crate::promql::parse::for_each_selector(&expr, &mut |ms| sets.push(ms.to_vec()));
    Ok(sets)
}

pub async fn query_exemplars(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = Params::with_form(raw.as_deref(), &body);
    let start = p.time("start", MIN_TIME)?;
    let end = p.time("end", MAX_TIME)?;
    if end < start {
        return Err(ApiError::bad_data(
            "end timestamp must not be before start timestamp",
        ));
    }
    let sets = selectors(p.get("query").unwrap_or(""))?;
    if sets.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let querier = state.querier.clone();
    let found = blocking("query_exemplars", move || {
        querier.exemplars(&sets, start, end)
    })
    .await??;
    Ok(success(
        Value::Array(found.iter().map(series_json).collect()),
        vec![],
    ))
}

#[cfg(test)]
#[path = "exemplars_tests.rs"]
mod tests;
