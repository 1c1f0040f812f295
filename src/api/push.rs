//! The built-in Pushgateway at `/metrics/{job/...}`: PUT replaces a group, POST merges into it,
//! DELETE removes it; bodies in the text or the protobuf format (by Content-Type); answers are
//! plain text as the Pushgateway gives them. Uses axum, `push` and `textparse`.

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

/// The grouping key from the path, and whether the body is in the protobuf format.
fn read_push(rest: &str, headers: &HeaderMap) -> Result<(Vec<(String, String)>, bool), TextError> {
    let key = crate::push::grouping_key(rest).map_err(|e| TextError::bad_request(e.to_string()))?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok((
        key,
        crate::textparse::protobuf::is_protobuf_content_type(ct),
    ))
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
    let (key, protobuf) = read_push(&rest, &headers)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let pushed = if protobuf {
        store.push_protobuf(key, &body, mode, now)
    } else {
        let text = String::from_utf8(body.to_vec())
            .map_err(|_| TextError::bad_request("the pushed body is not UTF-8 text"))?;
        store.push(key, &text, mode, now)
    };
    pushed.map_err(|e| TextError::bad_request(e.to_string()))?;
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
