//! OTLP in: the OTLP/HTTP handler (`POST /api/v1/otlp/v1/metrics` on the API port and
//! `POST /v1/metrics` on the OTLP/HTTP listener) and the routers of the two OTLP listeners
//! (`http_router`, and `grpc_router` around `otlp::grpc`).
//!
//! OTLP/HTTP as its spec says: protobuf (`application/x-protobuf`) or JSON
//! (`application/json`) bodies, gzip `Content-Encoding`; 200 with an
//! `ExportMetricsServiceResponse` in the request's encoding (`partial_success` naming what was
//! refused); errors carry a `google.rpc.Status` in the request's encoding: 400 for bad data,
//! 413 over the size limits, 429 with `Retry-After` when too many exports are in flight, 503
//! with `Retry-After` when not ready or the store failed; 415 (plain text) for another
//! content type or encoding. Uses `otlp` (the export sink), `web` (draining a refused body),
//! the sibling `state` and `metrics`.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use prost::Message;

use super::state::ApiState;
use crate::otlp::export::{self, Refusal, Sink};

/// Content type of the protobuf encoding.
const PROTOBUF: &str = "application/x-protobuf";
/// Content type of the JSON encoding.
const JSON: &str = "application/json";

/// The OTLP/HTTP listener's routes: `POST /v1/metrics`.
pub fn http_router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/metrics", post(metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::metrics::track_http,
        ))
        .with_state(state)
}

/// The OTLP/gRPC listener's routes: the metrics service's `Export` method.
pub fn grpc_router(state: ApiState) -> Router {
    crate::otlp::grpc::router(sink(&state), state.limits.max_body).route_layer(
        axum::middleware::from_fn_with_state(state.clone(), super::metrics::track_http),
    )
}

/// Where this server's exports go.
fn sink(state: &ApiState) -> Sink {
    let ready = state.clone();
    let metadata = state.received_metadata.clone();
    Sink {
        appender: state.appender.clone(),
        receiver: state.otlp.clone(),
        labels: state.limits.labels,
        ready: std::sync::Arc::new(move || ready.is_ready()),
        on_stored: std::sync::Arc::new(move |o| metadata.record_all(o.metadata.clone())),
        in_flight: state.otlp_in_flight.0.clone(),
        max_in_flight: state.otlp_in_flight.1,
    }
}

/// The two encodings of OTLP/HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => PROTOBUF,
            Encoding::Json => JSON,
        }
    }
}

/// OTLP/HTTP metrics: protobuf or JSON, optionally gzipped.
pub(super) async fn metrics(State(state): State<ApiState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let h = |n| {
        headers
            .get(n)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    let ct = h(header::CONTENT_TYPE);
    let enc = if ct.starts_with(JSON) {
        Encoding::Json
    } else if ct.starts_with(PROTOBUF) {
        Encoding::Protobuf
    } else {
        return unsupported(
            body,
            format!("unsupported Content-Type {ct:?}: OTLP/HTTP needs {PROTOBUF} or {JSON}"),
        )
        .await;
    };
    let gzip = match h(header::CONTENT_ENCODING).as_str() {
        "" | "identity" => false,
        "gzip" => true,
        other => {
            return unsupported(
                body,
                format!("unsupported Content-Encoding {other:?} (gzip is)"),
            )
            .await
        }
    };
    let sink = sink(&state);
    // The slot is taken before the body is read: a burst holds no more bodies than slots.
    let _slot = match sink.enter().await {
        Ok(s) => s,
        Err(r) => {
            crate::web::drain(body).await;
            return refusal(enc, &r);
        }
    };
    let (max_body, max_decoded) = (state.limits.max_body, state.limits.max_decoded);
    let body = match read_body(body, max_body).await {
        Ok(b) => b,
        Err(r) => return refusal(enc, &r),
    };
    let body = if gzip {
        // Up to `max_decoded` bytes of inflating: off the async workers.
        let inflated = tokio::task::spawn_blocking(move || gunzip(&body, max_decoded)).await;
        match inflated {
            Ok(Ok(b)) => b,
            Ok(Err(r)) => return refusal(enc, &r),
            Err(e) => return refusal(enc, &Refusal::Unavailable(format!("gzip task failed: {e}"))),
        }
    } else {
        body.to_vec()
    };
    match sink.receive(body, enc == Encoding::Json).await {
        Ok(outcome) => answer(enc, &export::response(&outcome)),
        Err(r) => refusal(enc, &r),
    }
}

/// Reads the body, refusing one over `limit` bytes (413 naming the limit).
async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes, Refusal> {
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if over {
                Err(Refusal::TooLarge(format!(
                    "request body over the limit of {limit} bytes (--remote-write.max-bytes)"
                )))
            } else {
                Err(Refusal::Invalid(format!(
                    "cannot read the request body: {e}"
                )))
            }
        }
    }
}

/// Decompresses a gzip body of at most `limit` bytes decompressed.
fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Refusal::Invalid(format!("invalid gzip body: {e}")))?;
    if out.len() > limit {
        return Err(Refusal::TooLarge(format!(
            "decompressed request body over the limit of {limit} bytes"
        )));
    }
    Ok(out)
}

/// 200 with the response message in the request's encoding.
fn answer(enc: Encoding, r: &ExportMetricsServiceResponse) -> Response {
    let body = match enc {
        Encoding::Protobuf => r.encode_to_vec(),
        Encoding::Json => export::response_json(r).to_string().into_bytes(),
    };
    ([(header::CONTENT_TYPE, enc.content_type())], body).into_response()
}

/// An error answer: its status, `Retry-After` when a retry can help, and a `google.rpc.Status`
/// in the request's encoding.
fn refusal(enc: Encoding, r: &Refusal) -> Response {
    let st = r.rpc_status();
    let body = match enc {
        Encoding::Protobuf => st.encode_to_vec(),
        Encoding::Json => st.to_json().to_string().into_bytes(),
    };
    let code = StatusCode::from_u16(r.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(enc.content_type()),
    );
    if let Some(d) = r.retry_after() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(d.as_secs().max(1)));
    }
    (code, headers, body).into_response()
}

/// 415 for a body promterm cannot read: plain text, as there is no encoding to answer in.
async fn unsupported(body: axum::body::Body, message: String) -> Response {
    crate::web::drain(body).await;
    (StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("{message}\n")).into_response()
}

#[cfg(test)]
mod tests;
