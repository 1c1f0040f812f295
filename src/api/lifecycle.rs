//! The management endpoints: `/-/healthy`, `/-/ready`, and with `--web.enable-lifecycle`
//! `/-/reload` and `/-/quit`; answers are plain text as Prometheus gives them (web/web.go in
//! our own words). Uses axum and tokio-util.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::{blocking, TextError};
use super::state::ApiState;

fn lifecycle_disabled() -> TextError {
    TextError::new(StatusCode::FORBIDDEN, "Lifecycle API is not enabled.")
}

pub async fn healthy() -> &'static str {
    "promterm Server is Healthy.\n"
}

pub async fn ready(State(state): State<ApiState>) -> (StatusCode, &'static str) {
    if state.is_ready() {
        (StatusCode::OK, "promterm Server is Ready.\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n")
    }
}

pub async fn quit(State(state): State<ApiState>) -> Result<Response, TextError> {
    let t = state.lifecycle.as_ref().ok_or_else(lifecycle_disabled)?;
    tracing::info!("shutdown requested over HTTP");
    t.cancel();
    Ok((StatusCode::OK, "Requesting termination... Goodbye!\n").into_response())
}

pub async fn reload(State(state): State<ApiState>, _body: Bytes) -> Result<Response, TextError> {
    if state.lifecycle.is_none() {
        return Err(lifecycle_disabled());
    }
    let f = state
        .reload
        .clone()
        .ok_or_else(|| TextError::internal("no config file to reload"))?;
    blocking("reload", move || f())
        .await?
        .map_err(|e| TextError::internal(format!("failed to reload config: {e}")))?;
    Ok(StatusCode::OK.into_response())
}
