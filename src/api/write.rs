//! Remote write in (`/api/v1/write`): checks readiness and headers, decodes and stores off the
//! async runtime, and answers as Prometheus does: 204, or the status and a text line from
//! `remote`; remote write 2.0 answers say how much was stored (samples and exemplars). Uses axum and `remote`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::{blocking, TextError};
use super::state::ApiState;
use crate::remote;

/// The answer to a writer while the server starts up or shuts down.
pub fn not_ready() -> TextError {
    TextError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready to accept writes",
    )
}

pub async fn write(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TextError> {
    if !state.is_ready() {
        return Err(not_ready());
    }
    let h = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (ct, ce) = (h(header::CONTENT_TYPE), h(header::CONTENT_ENCODING));
    let v2 = matches!(
        remote::check_headers(ct.as_deref(), ce.as_deref()),
        Ok(remote::Version::V2)
    );
    // Remote write 2.0 answers say how much was stored.
    let written = move |mut r: Response, samples: u64, histograms: u64, exemplars: u64| {
        if v2 {
            let h = r.headers_mut();
            for (k, v) in [
                ("x-prometheus-remote-write-samples-written", samples),
                ("x-prometheus-remote-write-histograms-written", histograms),
                ("x-prometheus-remote-write-exemplars-written", exemplars),
            ] {
                h.insert(k, v.into());
            }
        }
        r
    };
    let appender = state.appender.clone();
    let limits = state.limits;
    let result = blocking("write", move || {
        remote::receive(
            appender.as_ref(),
            ct.as_deref(),
            ce.as_deref(),
            &body,
            limits,
        )
    })
    .await?;
    Ok(match result {
        Ok(r) => {
            state.received_metadata.record_all(r.metadata);
            written(
                StatusCode::NO_CONTENT.into_response(),
                r.samples_written,
                r.histograms.accepted,
                r.exemplars.accepted,
            )
        }
        Err(remote::WriteError::Partial {
            message,
            stats,
            exemplars_written,
            histograms_written,
        }) => written(
            TextError::bad_request(message).into_response(),
            stats.accepted,
            histograms_written,
            exemplars_written,
        ),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if status.is_server_error() {
                tracing::error!("remote write failed: {e}");
            } else {
                tracing::debug!("remote write rejected: {e}");
            }
            TextError::new(status, e.to_string()).into_response()
        }
    })
}
