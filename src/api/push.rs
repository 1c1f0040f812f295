//! The built-in Pushgateway at `/metrics/{job/...}`: PUT replaces a group, POST merges into it,
//! DELETE removes it; answers are plain text as the Pushgateway gives them. Uses axum and `push`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::TextError;
use super::state::ApiState;
use crate::push::{Mode, Store};

fn store(state: &ApiState) -> Result<Arc<Store>, TextError> {
    state
        .push
        .clone()
        .ok_or_else(|| TextError::new(StatusCode::NOT_FOUND, "pushes are not enabled"))
}

/// The grouping key from the path, and the body as exposition text.
fn read_push(
    rest: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Vec<(String, String)>, String), TextError> {
    let key = crate::push::grouping_key(rest).map_err(|e| TextError::bad_request(e.to_string()))?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.contains("protobuf") {
        return Err(TextError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "unsupported Content-Type {ct:?}: push the text format (text/plain; version=0.0.4)"
            ),
        ));
    }
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| TextError::bad_request("the pushed body is not UTF-8 text"))?;
    Ok((key, text))
}

/// PUT replaces the group, POST merges into it.
pub async fn push(
    State(state): State<ApiState>,
    method: Method,
    Path(rest): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TextError> {
    let mode = if method == Method::PUT {
        Mode::Replace
    } else {
        Mode::Merge
    };
    let store = store(&state)?;
    let (key, text) = read_push(&rest, &headers, &body)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    store
        .push(key, &text, mode, now)
        .map_err(|e| TextError::bad_request(e.to_string()))?;
    Ok(StatusCode::OK.into_response())
}

pub async fn delete(
    State(state): State<ApiState>,
    Path(rest): Path<String>,
) -> Result<Response, TextError> {
    let store = store(&state)?;
    crate::push::grouping_key(&rest)
        .and_then(|k| store.delete(&k))
        .map_err(|e| TextError::bad_request(e.to_string()))?;
    Ok(StatusCode::ACCEPTED.into_response())
}
