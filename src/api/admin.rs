//! The admin API (`--web.enable-admin-api`): `/api/v1/admin/tsdb/snapshot`, `delete_series`
//! and `clean_tombstones`, over the storage operations the server hands in as an `Admin`
//! (web/api/v1/api.go `snapshot`, `deleteSeries`, `cleanTombstones` in our own words).
//! Uses axum and `model`; the `Admin` trait is in `state`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::{blocking, success, ApiError};
use super::params::Params;
use super::state::{Admin, AdminError, ApiState};

fn enabled(state: &ApiState) -> Result<std::sync::Arc<dyn Admin>, ApiError> {
    state
        .admin
        .clone()
        .ok_or_else(|| ApiError::unavailable("admin APIs disabled"))
}

fn internal(e: AdminError) -> ApiError {
    ApiError::internal(e.to_string())
}

/// `snapshot`: `skip_head` leaves the in-memory head out; answers the directory name.
pub async fn snapshot(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let admin = enabled(&state)?;
    let p = Params::parse(raw.as_deref(), None);
    let skip_head = match p.get("skip_head").filter(|s| !s.is_empty()) {
        None => false,
        Some("true" | "1") => true,
        Some("false" | "0") => false,
        Some(other) => {
            return Err(ApiError::bad_data(format!(
                "unable to parse boolean 'skip_head' argument: {other:?}"
            )))
        }
    };
    let name = blocking("snapshot", move || admin.snapshot(!skip_head))
        .await?
        .map_err(|e| ApiError::internal(format!("create snapshot: {e}")))?;
    Ok(success(json!({ "name": name }), vec![]))
}

/// `delete_series`: match[] (required), start and end (default: all time); 204 when done.
pub async fn delete_series(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let admin = enabled(&state)?;
    let p = Params::with_form(raw.as_deref(), &body);
    if p.all("match[]").is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let start = p.time("start", crate::model::MIN_TIME)?;
    let end = p.time("end", crate::model::MAX_TIME)?;
    let sets = p.matchers()?;
    blocking("delete", move || {
        sets.iter()
            .try_for_each(|ms| admin.delete_series(ms, start, end))
    })
    .await?
    .map_err(internal)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `clean_tombstones`: 204 when done.
pub async fn clean_tombstones(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let admin = enabled(&state)?;
    blocking("clean tombstones", move || admin.clean_tombstones())
        .await?
        .map_err(internal)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
