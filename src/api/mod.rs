//! The HTTP surface, built as an axum `Router` so tests (and `client::Local`) call it without
//! sockets: the Prometheus JSON API under `/api/v1/` (queries, metadata, targets, rules, status,
//! admin), remote write and OTLP in, `/federate`, the built-in Pushgateway, self-metrics at
//! `/metrics`, and the `/-/` management endpoints.
//!
//! Files, lowest first (a file uses only those above it): `error` (ApiError, TextError, the
//! blocking helper), `params` (request parameters), `layers` (CORS and gzip), `metrics`
//! (self-instrumentation), `state` (ApiState and the seams the server plugs in), then one file
//! per group of handlers; this file wires the router. Uses axum, tower-http, `model`,
//! `storage`, `remote`, `otlp`, `promql`, `scrape`, `rules`, `push` and `send`.

mod admin;
mod error;
pub mod exemplars;
mod federate;
mod layers;
mod lifecycle;
pub mod metrics;
pub mod otlp;
mod params;
mod push;
mod query;
mod rules;
mod series;
mod state;
pub mod status;
mod targets;
mod write;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use error::{blocking, TextError};

pub use error::{ApiError, ErrorType};
pub use state::{Admin, AdminError, ApiState, ReloadError, ReloadFn, DEFAULT_QUERY_CONCURRENCY};

/// The whole HTTP router.
pub fn router(state: ApiState) -> Router {
    // Allow a little more than the limit through axum so `remote` can answer 413 with a
    // message naming both sizes; axum's own 413 covers anything far larger.
    let body_limit = state.limits.max_body.saturating_add(1);
    let api = Router::new()
        .route(
            "/api/v1/write",
            post(write::write).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route("/api/v1/otlp/v1/metrics", post(otlp::metrics))
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route("/api/v1/series", get(series::series).post(series::series))
        .route("/api/v1/labels", get(series::labels).post(series::labels))
        .route("/api/v1/label/{name}/values", get(series::label_values))
        .route("/api/v1/targets", get(targets::targets))
        .route("/api/v1/targets/metadata", get(targets::targets_metadata))
        .route("/api/v1/targets/relabel_steps", get(targets::relabel_steps))
        .route("/api/v1/metadata", get(targets::metadata))
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/v1/alertmanagers", get(rules::alertmanagers))
        .route(
            "/api/v1/admin/tsdb/snapshot",
            post(admin::snapshot).put(admin::snapshot),
        )
        .route(
            "/api/v1/admin/tsdb/delete_series",
            post(admin::delete_series).put(admin::delete_series),
        )
        .route(
            "/api/v1/admin/tsdb/clean_tombstones",
            post(admin::clean_tombstones).put(admin::clean_tombstones),
        )
        .route("/api/v1/status/config", get(status::config))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/runtimeinfo", get(status::runtimeinfo))
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/tsdb", get(status::tsdb))
        .route("/api/v1/status/remote_write", get(status::remote_write))
        .route(
            "/api/v1/format_query",
            get(status::format_query).post(status::format_query),
        )
        .route(
            "/api/v1/parse_query",
            get(status::parse_query).post(status::parse_query),
        )
        .route(
            "/api/v1/query_exemplars",
            get(exemplars::query_exemplars).post(exemplars::query_exemplars),
        )
        .route("/federate", get(federate::federate));
    let rest = Router::new()
        .route("/-/healthy", get(lifecycle::healthy))
        .route("/-/ready", get(lifecycle::ready))
        .route("/-/reload", post(lifecycle::reload).put(lifecycle::reload))
        .route("/-/quit", post(lifecycle::quit).put(lifecycle::quit))
        .route("/metrics", get(self_metrics))
        .route(
            "/metrics/{*rest}",
            axum::routing::put(push::push)
                .post(push::push)
                .delete(push::delete),
        )
        .route("/host/metrics", get(host_metrics));
    layers::cors_and_gzip(api)
        .merge(rest)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track_http,
        ))
        .with_state(state)
}

async fn self_metrics(State(state): State<ApiState>) -> Response {
    let body = metrics::render(&state);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn host_metrics() -> Result<Response, TextError> {
    let body = blocking("host metrics", crate::scrape::host::page).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

#[cfg(test)]
use axum::http::StatusCode;
#[cfg(test)]
mod tests;
