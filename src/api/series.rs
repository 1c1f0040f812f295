//! The metadata APIs `/api/v1/series`, `/api/v1/labels` and `/api/v1/label/{name}/values`:
//! `match[]` alternatives, an optional time range and `limit`, looked up in storage off the
//! async runtime, merged, sorted and deduplicated (web/api/v1/api.go `series`, `labelNames`,
//! `labelValues` in our own words). Uses axum, `model` and `storage`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{json, Value};

use super::error::{blocking, success, ApiError};
use super::params::Params;
use super::state::ApiState;
use crate::model::{is_valid_label_name, Labels, Matcher, NameValidation};
use crate::storage::{Querier, StorageError};

fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|x| (x.name.to_string(), Value::String(x.value.to_string())))
            .collect(),
    )
}

/// What the three lookups take: match[] alternatives, a time range and a limit.
struct Query {
    matchers: Vec<Vec<Matcher>>,
    start: i64,
    end: i64,
    limit: usize,
}

fn read_query(raw: Option<&str>, body: &[u8]) -> Result<Query, ApiError> {
    let p = Params::with_form(raw, body);
    let (start, end) = p.range()?;
    Ok(Query {
        matchers: p.matchers()?,
        start,
        end,
        limit: p.limit()?,
    })
}

/// Runs `f` over each match[] alternative (or once with none when `all_when_empty`), off the
/// runtime; sorts, deduplicates and truncates to the limit with Prometheus's warning.
async fn lookup<T: Ord + Send + 'static>(
    state: &ApiState,
    q: Query,
    f: impl Fn(&dyn Querier, &[Matcher], i64, i64) -> Result<Vec<T>, StorageError> + Send + 'static,
) -> Result<(Vec<T>, Vec<String>), ApiError> {
    let querier = state.querier.clone();
    let sets = if q.matchers.is_empty() {
        vec![Vec::new()]
    } else {
        q.matchers
    };
    let (start, end) = (q.start, q.end);
    let mut all = blocking("query", move || {
        let mut all = Vec::new();
        for ms in &sets {
            all.extend(f(querier.as_ref(), ms, start, end)?);
        }
        all.sort();
        all.dedup();
        Ok::<_, StorageError>(all)
    })
    .await??;
    let mut warnings = Vec::new();
    if q.limit > 0 && all.len() > q.limit {
        all.truncate(q.limit);
        warnings.push("results truncated due to limit".to_string());
    }
    Ok((all, warnings))
}

pub async fn series(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = read_query(raw.as_deref(), &body)?;
    if q.matchers.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let (all, warnings) = lookup(&state, q, |qr, ms, s, e| qr.series(ms, s, e)).await?;
    Ok(success(
        Value::Array(all.iter().map(labels_json).collect()),
        warnings,
    ))
}

pub async fn labels(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = read_query(raw.as_deref(), &body)?;
    let (all, warnings) = lookup(&state, q, |qr, ms, s, e| qr.label_names(ms, s, e)).await?;
    Ok(success(json!(all), warnings))
}

pub async fn label_values(
    State(state): State<ApiState>,
    name: Result<Path<String>, axum::extract::rejection::PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let Path(name) =
        name.map_err(|e| ApiError::bad_data(format!("invalid label name: {}", e.body_text())))?;
    if !is_valid_label_name(&name, NameValidation::Legacy) {
        return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
    }
    let q = read_query(raw.as_deref(), &[])?;
    let (all, warnings) = lookup(&state, q, move |qr, ms, s, e| {
        qr.label_values(&name, ms, s, e)
    })
    .await?;
    Ok(success(json!(all), warnings))
}
