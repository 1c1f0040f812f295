//! The HTTP surface, built as an axum `Router` so tests can call it without sockets.
//!
//! Now: `/-/healthy`, `/-/ready`, remote write at `/api/v1/write`, and the metadata APIs
//! `/api/v1/series`, `/api/v1/labels`, `/api/v1/label/{name}/values` with Prometheus's JSON
//! envelope and error types. Uses axum, `model`, `storage`, `remote` and `promql`.

mod federate;
pub mod metrics;
mod params;
mod query;
mod rules;
pub mod status;
mod targets;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::model::{is_valid_label_name, Labels, Matcher, NameValidation};
use crate::promql::engine::Engine;
use crate::remote::{self, Limits};
use crate::storage::{Appender, Querier, StorageError};
pub use params::{parse_time, Params, MAX_TIME, MIN_TIME};

/// Queries evaluating at once by default (Prometheus's `--query.max-concurrency`).
pub const DEFAULT_QUERY_CONCURRENCY: usize = 20;

/// State shared by all handlers.
#[derive(Clone)]
pub struct ApiState {
    ready: Arc<AtomicBool>,
    appender: Arc<dyn Appender>,
    querier: Arc<dyn Querier>,
    limits: Limits,
    engine: Engine,
    /// Longest a query may run (`--query.timeout`); the `timeout` parameter may lower it.
    query_timeout: std::time::Duration,
    /// Slots for queries evaluating at once (`--query.max-concurrency`); others wait.
    pub(crate) query_gate: Arc<tokio::sync::Semaphore>,
    /// The scrape manager, for the targets and metadata APIs.
    scrape: Option<Arc<crate::scrape::Manager>>,
    /// The rule manager, for the rules, alerts and alertmanagers APIs.
    rules: Option<crate::rules::manager::Manager>,
    /// The built-in Pushgateway (`/metrics/job/...`).
    push: Option<Arc<crate::push::Store>>,
    /// Remote-write senders, for `/api/v1/status/remote_write`.
    senders: Option<Arc<crate::send::Senders>>,
    /// Metadata that came with remote write and OTLP, for `/api/v1/metadata`.
    pub(crate) received_metadata: Arc<remote::metadata::Store>,
    /// Re-reads and applies the config file (`POST /-/reload`).
    reload: Option<ReloadFn>,
    /// Self-instrumentation served at `/metrics`.
    telemetry: Arc<metrics::Telemetry>,
    /// What `/api/v1/status/*` reports.
    info: Arc<status::ServerInfo>,
    /// With `--web.enable-lifecycle`: cancelling it shuts the server down (`/-/quit`).
    lifecycle: Option<tokio_util::sync::CancellationToken>,
    /// With `--web.enable-admin-api`: the storage operations of the admin API.
    admin: Option<Arc<dyn Admin>>,
}

/// The storage operations behind `/api/v1/admin/tsdb/*` (`--web.enable-admin-api`). Errors
/// are messages for the client.
pub trait Admin: Send + Sync {
    /// Writes a snapshot (including the head if asked) and returns its directory name.
    fn snapshot(&self, with_head: bool) -> Result<String, String>;
    /// Deletes the samples in [mint, maxt] of the series matching `matchers`.
    fn delete_series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<(), String>;
    /// Prometheus rewrites blocks without deleted data here; promterm deletes eagerly, so this
    /// only returns freed space to the file system.
    fn clean_tombstones(&self) -> Result<(), String>;
}

/// Reloads the configuration; the error is the message Prometheus would give.
pub type ReloadFn = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

impl ApiState {
    pub fn new(appender: Arc<dyn Appender>, querier: Arc<dyn Querier>, limits: Limits) -> Self {
        ApiState {
            ready: Arc::new(AtomicBool::new(false)),
            appender,
            querier,
            limits,
            engine: Engine::default(),
            query_timeout: std::time::Duration::from_secs(120),
            query_gate: Arc::new(tokio::sync::Semaphore::new(DEFAULT_QUERY_CONCURRENCY)),
            scrape: None,
            rules: None,
            push: None,
            senders: None,
            received_metadata: Arc::default(),
            reload: None,
            telemetry: Arc::new(metrics::Telemetry::new(None, None, None, None)),
            info: Arc::new(status::ServerInfo::default()),
            lifecycle: None,
            admin: None,
        }
    }

    /// Marks the server ready (writes are accepted) or not (starting up, shutting down).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Connects the scrape manager (targets and metadata APIs).
    pub fn with_scrape(mut self, m: Arc<crate::scrape::Manager>) -> Self {
        self.scrape = Some(m);
        self
    }

    /// Serves Pushgateway-style pushes into this store.
    pub fn with_push(mut self, p: Arc<crate::push::Store>) -> Self {
        self.push = Some(p);
        self
    }

    /// Keeps metadata received with remote write and OTLP in this store.
    pub fn with_received_metadata(mut self, m: Arc<remote::metadata::Store>) -> Self {
        self.received_metadata = m;
        self
    }

    /// Reports these remote-write senders at `/api/v1/status/remote_write`.
    pub fn with_senders(mut self, s: Arc<crate::send::Senders>) -> Self {
        self.senders = Some(s);
        self
    }

    /// Connects the rule manager (rules, alerts and alertmanagers APIs).
    pub fn with_rules(mut self, m: crate::rules::manager::Manager) -> Self {
        self.rules = Some(m);
        self
    }

    /// Sets the self-instrumentation `/metrics` serves.
    pub fn with_telemetry(mut self, t: Arc<metrics::Telemetry>) -> Self {
        self.telemetry = t;
        self
    }

    /// Enables `/-/reload` and `/-/quit` (`--web.enable-lifecycle`); `/-/quit` cancels `t`.
    pub fn with_lifecycle(mut self, t: Option<tokio_util::sync::CancellationToken>) -> Self {
        self.lifecycle = t;
        self
    }

    /// Enables the admin API (`--web.enable-admin-api`).
    pub fn with_admin(mut self, a: Option<Arc<dyn Admin>>) -> Self {
        self.admin = a;
        self
    }

    /// Sets what the status endpoints report.
    pub fn with_info(mut self, info: Arc<status::ServerInfo>) -> Self {
        self.info = info;
        self
    }

    /// Sets what `POST /-/reload` does.
    pub fn with_reload(mut self, f: ReloadFn) -> Self {
        self.reload = Some(f);
        self
    }

    /// Sets the PromQL engine settings and the query timeout.
    /// At most `n` queries evaluate at once; the rest wait in line within their timeout.
    pub fn with_query_concurrency(mut self, n: usize) -> Self {
        let n = n.max(1);
        self.query_gate = Arc::new(tokio::sync::Semaphore::new(n));
        self.telemetry.queries_concurrent_max.set(n as i64);
        self
    }

    pub fn with_engine(mut self, engine: Engine, query_timeout: std::time::Duration) -> Self {
        self.engine = engine;
        self.query_timeout = query_timeout;
        self
    }
}

/// The whole HTTP router.
pub fn router(state: ApiState) -> Router {
    // Allow a little more than the limit through axum so `remote` can answer 413 with a
    // message naming both sizes; axum's own 413 covers anything far larger.
    let body_limit = state.limits.max_body.saturating_add(1);
    Router::new()
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .route(
            "/api/v1/write",
            post(write).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route(
            "/api/v1/otlp/v1/metrics",
            post(otlp_metrics).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route("/api/v1/series", get(series).post(series))
        .route("/api/v1/labels", get(labels).post(labels))
        .route("/api/v1/label/{name}/values", get(label_values))
        .route("/api/v1/targets", get(targets::targets))
        .route("/api/v1/targets/metadata", get(targets::targets_metadata))
        .route("/api/v1/metadata", get(targets::metadata))
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/v1/alertmanagers", get(rules::alertmanagers))
        .route("/-/reload", post(targets::reload).put(targets::reload))
        .route("/-/quit", post(quit).put(quit))
        .route(
            "/api/v1/admin/tsdb/snapshot",
            post(admin_snapshot).put(admin_snapshot),
        )
        .route(
            "/api/v1/admin/tsdb/delete_series",
            post(admin_delete_series).put(admin_delete_series),
        )
        .route(
            "/api/v1/admin/tsdb/clean_tombstones",
            post(admin_clean_tombstones).put(admin_clean_tombstones),
        )
        .route("/api/v1/status/config", get(status::config))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/runtimeinfo", get(status::runtimeinfo))
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/tsdb", get(status::tsdb))
        .route("/api/v1/status/remote_write", get(remote_write_status))
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
            get(status::query_exemplars).post(status::query_exemplars),
        )
        .route("/federate", get(federate::federate))
        .route("/metrics", get(self_metrics))
        .route(
            "/metrics/{*rest}",
            axum::routing::put(push_replace)
                .post(push_merge)
                .delete(push_delete),
        )
        .route("/host/metrics", get(host_metrics))
        .layer(axum::middleware::from_fn(cors_and_gzip))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track_http,
        ))
        .with_state(state)
}

/// Prometheus's CORS headers for requests with an `Origin`, and gzip for clients that accept
/// it (API answers are buffered and compressed; remote-write bodies are not touched).
async fn cors_and_gzip(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let gzip = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let api = req.uri().path().starts_with("/api/v1/") || req.uri().path() == "/federate";
    let mut resp = next.run(req).await;
    if let (Some(o), true) = (origin, api) {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            axum::http::HeaderValue::from_static("Accept, Authorization, Content-Type, Origin"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            axum::http::HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            axum::http::HeaderValue::from_static("Date"),
        );
    }
    if !gzip
        || !api
        || resp.status() == StatusCode::NO_CONTENT
        || resp.headers().contains_key(header::CONTENT_ENCODING)
    {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "reading the response failed",
        );
    };
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    if enc.write_all(&bytes).is_err() {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    let Ok(gz) = enc.finish() else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    parts.headers.insert(
        header::CONTENT_ENCODING,
        axum::http::HeaderValue::from_static("gzip"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.append(
        header::VARY,
        axum::http::HeaderValue::from_static("Accept-Encoding"),
    );
    Response::from_parts(parts, axum::body::Body::from(gz))
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

async fn host_metrics() -> Response {
    let body = tokio::task::spawn_blocking(crate::scrape::host::page)
        .await
        .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

fn admin_disabled() -> Response {
    api_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "admin APIs disabled",
    )
}

async fn admin_snapshot(State(state): State<ApiState>, RawQuery(raw): RawQuery) -> Response {
    let Some(admin) = state.admin.clone() else {
        return admin_disabled();
    };
    let p = Params::parse(raw.as_deref(), None);
    let skip_head = match p.get("skip_head").filter(|s| !s.is_empty()) {
        None => false,
        Some("true" | "1") => true,
        Some("false" | "0") => false,
        Some(other) => {
            return bad_data(format!(
                "unable to parse boolean 'skip_head' argument: {other:?}"
            ))
        }
    };
    match tokio::task::spawn_blocking(move || admin.snapshot(!skip_head)).await {
        Ok(Ok(name)) => success(json!({ "name": name }), vec![]),
        Ok(Err(e)) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("create snapshot: {e}"),
        ),
        Err(e) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("create snapshot: {e}"),
        ),
    }
}

/// `delete_series`: match[] (required), start and end (default: all time); 204 when done.
async fn admin_delete_series(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let Some(admin) = state.admin.clone() else {
        return admin_disabled();
    };
    let p = Params::parse(raw.as_deref(), (!body.is_empty()).then_some(&body[..]));
    if p.all("match[]").is_empty() {
        return bad_data("no match[] parameter provided");
    }
    let (start, end) = match (p.time("start", MIN_TIME), p.time("end", MAX_TIME)) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return bad_data(e),
    };
    let sets = match p.matchers() {
        Ok(m) => m,
        Err(e) => return bad_data(e),
    };
    let done = tokio::task::spawn_blocking(move || {
        sets.iter()
            .try_for_each(|ms| admin.delete_series(ms, start, end))
    })
    .await;
    match done {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => api_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e),
        Err(e) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("delete task failed: {e}"),
        ),
    }
}

async fn admin_clean_tombstones(State(state): State<ApiState>) -> Response {
    let Some(admin) = state.admin.clone() else {
        return admin_disabled();
    };
    match tokio::task::spawn_blocking(move || admin.clean_tombstones()).await {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => api_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e),
        Err(e) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("clean tombstones task failed: {e}"),
        ),
    }
}

async fn quit(State(state): State<ApiState>) -> Response {
    match &state.lifecycle {
        Some(t) => {
            tracing::info!("shutdown requested over HTTP");
            t.cancel();
            (StatusCode::OK, "Requesting termination... Goodbye!\n").into_response()
        }
        None => (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.\n").into_response(),
    }
}

async fn push_body(
    state: &ApiState,
    rest: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Arc<crate::push::Store>, Vec<(String, String)>, String), Response> {
    let Some(store) = state.push.clone() else {
        return Err((StatusCode::NOT_FOUND, "pushes are not enabled\n").into_response());
    };
    let key = crate::push::grouping_key(rest)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response())?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.contains("protobuf") {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported Content-Type {ct:?}: push the text format (text/plain; version=0.0.4)\n"),
        )
            .into_response());
    }
    let text = String::from_utf8(body.to_vec()).map_err(|_| {
        (
            StatusCode::BAD_REQUEST,
            "the pushed body is not UTF-8 text\n",
        )
            .into_response()
    })?;
    Ok((store, key, text))
}

async fn do_push(
    state: ApiState,
    rest: String,
    headers: HeaderMap,
    body: Bytes,
    mode: crate::push::Mode,
) -> Response {
    let (store, key, text) = match push_body(&state, &rest, &headers, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    match store.push(key, &text, mode, now) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    }
}

async fn push_replace(
    State(state): State<ApiState>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    do_push(state, rest, headers, body, crate::push::Mode::Replace).await
}

async fn push_merge(
    State(state): State<ApiState>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    do_push(state, rest, headers, body, crate::push::Mode::Merge).await
}

async fn push_delete(State(state): State<ApiState>, Path(rest): Path<String>) -> Response {
    let Some(store) = state.push.clone() else {
        return (StatusCode::NOT_FOUND, "pushes are not enabled\n").into_response();
    };
    match crate::push::grouping_key(&rest).and_then(|k| store.delete(&k)) {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    }
}

/// promterm's own status endpoint: each remote-write sender's counters.
async fn remote_write_status(State(state): State<ApiState>) -> Response {
    let list: Vec<Value> = state
        .senders
        .as_ref()
        .map(|s| {
            s.list
                .lock()
                .iter()
                .map(|x| {
                    let l = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
                    json!({
                        "name": x.name,
                        "url": x.url,
                        "pending": l(&x.stats.pending),
                        "sent": l(&x.stats.sent),
                        "failed": l(&x.stats.failed),
                        "dropped": l(&x.stats.dropped),
                        "protocol": x.protocol(),
                        "shards": l(&x.stats.shards),
                        "desiredShards": l(&x.stats.desired_shards),
                        "minShards": x.min_shards,
                        "maxShards": x.max_shards,
                        "metadataSent": l(&x.stats.metadata_sent),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    success(json!({ "senders": list }), vec![])
}

/// OTLP/HTTP metrics: protobuf or JSON, optionally gzipped.
async fn otlp_metrics(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    if !state.is_ready() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready to accept writes\n",
        )
            .into_response();
    }
    let h = |n| {
        headers
            .get(n)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
            .unwrap_or("")
    };
    let ct = h(header::CONTENT_TYPE).to_ascii_lowercase();
    let json = ct.starts_with("application/json");
    if !json && !ct.starts_with("application/x-protobuf") {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported Content-Type {ct:?}: OTLP/HTTP needs application/x-protobuf or application/json\n"),
        )
            .into_response();
    }
    let body = match h(header::CONTENT_ENCODING).trim() {
        "" | "identity" => body.to_vec(),
        "gzip" => {
            use std::io::Read;
            let mut out = Vec::new();
            let limit = state.limits.max_decoded as u64;
            let r = flate2::read::GzDecoder::new(&body[..])
                .take(limit + 1)
                .read_to_end(&mut out);
            if r.is_err() || out.len() as u64 > limit {
                return (StatusCode::BAD_REQUEST, "invalid or oversized gzip body\n")
                    .into_response();
            }
            out
        }
        other => {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported Content-Encoding {other:?}\n"),
            )
                .into_response()
        }
    };
    let appender = state.appender.clone();
    let labels = state.limits.labels;
    let r = tokio::task::spawn_blocking(move || {
        crate::otlp::receive_limited(appender.as_ref(), &body, json, &labels)
    })
    .await;
    let r = r.map(|x| {
        x.map(|(st, md)| {
            state.received_metadata.record_all(md);
            st
        })
    });
    match r {
        Ok(Ok(st)) if st.rejected() == 0 => {
            if json {
                ([(header::CONTENT_TYPE, "application/json")], "{}").into_response()
            } else {
                ([(header::CONTENT_TYPE, "application/x-protobuf")], "").into_response()
            }
        }
        Ok(Ok(st)) => (
            StatusCode::BAD_REQUEST,
            format!(
                "{} out-of-order or duplicate samples rejected; {} stored\n",
                st.rejected(),
                st.accepted
            ),
        )
            .into_response(),
        Ok(Err(crate::otlp::OtlpError::Bad(e))) => {
            (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response()
        }
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn healthy() -> &'static str {
    "promterm Server is Healthy.\n"
}

async fn ready(State(state): State<ApiState>) -> (StatusCode, &'static str) {
    if state.is_ready() {
        (StatusCode::OK, "promterm Server is Ready.\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n")
    }
}

async fn write(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    if !state.is_ready() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready to accept writes\n",
        )
            .into_response();
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
    let written = move |mut r: Response, samples: u64| {
        if v2 {
            let h = r.headers_mut();
            for (k, v) in [
                ("x-prometheus-remote-write-samples-written", samples),
                ("x-prometheus-remote-write-histograms-written", 0),
                ("x-prometheus-remote-write-exemplars-written", 0),
            ] {
                h.insert(k, v.into());
            }
        }
        r
    };
    let appender = state.appender.clone();
    let limits = state.limits;
    let result = tokio::task::spawn_blocking(move || {
        remote::receive(
            appender.as_ref(),
            ct.as_deref(),
            ce.as_deref(),
            &body,
            limits,
        )
    })
    .await;
    match result {
        Ok(Ok(r)) => {
            state.received_metadata.record_all(r.metadata);
            written(StatusCode::NO_CONTENT.into_response(), r.samples_written)
        }
        Ok(Err(remote::WriteError::Partial { message, stats })) => written(
            (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response(),
            stats.accepted,
        ),
        Ok(Err(e)) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if status.is_server_error() {
                tracing::error!("remote write failed: {e}");
            } else {
                tracing::debug!("remote write rejected: {e}");
            }
            (status, format!("{e}\n")).into_response()
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("write task failed: {e}\n"),
        )
            .into_response(),
    }
}

/// `{"status":"success","data":...}` with optional warnings.
fn success(data: Value, warnings: Vec<String>) -> Response {
    let mut body = json!({"status": "success", "data": data});
    if !warnings.is_empty() {
        body["warnings"] = json!(warnings);
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Prometheus's error envelope.
pub fn api_error(status: StatusCode, error_type: &str, message: impl Into<String>) -> Response {
    let body = json!({"status": "error", "errorType": error_type, "error": message.into()});
    (status, axum::Json(body)).into_response()
}

fn bad_data(message: impl Into<String>) -> Response {
    api_error(StatusCode::BAD_REQUEST, "bad_data", message)
}

fn internal(e: StorageError) -> Response {
    api_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|x| (x.name.to_string(), Value::String(x.value.to_string())))
            .collect(),
    )
}

/// Truncates to `limit` (0 = none), adding Prometheus's warning when it cut.
fn apply_limit<T>(mut v: Vec<T>, limit: usize, warnings: &mut Vec<String>) -> Vec<T> {
    if limit > 0 && v.len() > limit {
        v.truncate(limit);
        warnings.push("results truncated due to limit".to_string());
    }
    v
}

struct Query {
    matchers: Vec<Vec<Matcher>>,
    start: i64,
    end: i64,
    limit: usize,
}

fn read_query(raw: Option<String>, body: &[u8]) -> Result<Query, String> {
    let p = Params::parse(raw.as_deref(), (!body.is_empty()).then_some(body));
    let start = p.time("start", MIN_TIME)?;
    let end = p.time("end", MAX_TIME)?;
    if end < start {
        return Err(
            "invalid parameter \"end\": end timestamp must not be before start time".into(),
        );
    }
    Ok(Query {
        matchers: p.matchers()?,
        start,
        end,
        limit: p.limit()?,
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(internal(e)),
        Err(e) => Err(api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("query task failed: {e}"),
        )),
    }
}

async fn series(State(state): State<ApiState>, RawQuery(raw): RawQuery, body: Bytes) -> Response {
    let q = match read_query(raw, &body) {
        Ok(q) => q,
        Err(e) => return bad_data(e),
    };
    if q.matchers.is_empty() {
        return bad_data("no match[] parameter provided");
    }
    let querier = state.querier.clone();
    let found = blocking(move || {
        let mut all: Vec<Labels> = Vec::new();
        for ms in &q.matchers {
            all.extend(querier.series(ms, q.start, q.end)?);
        }
        all.sort();
        all.dedup();
        Ok(all)
    })
    .await;
    match found {
        Ok(all) => {
            let mut warnings = Vec::new();
            let all = apply_limit(all, q.limit, &mut warnings);
            success(
                Value::Array(all.iter().map(labels_json).collect()),
                warnings,
            )
        }
        Err(r) => r,
    }
}

/// Runs a label lookup over each match[] alternative (or all series) and merges the results.
async fn merged(
    state: &ApiState,
    q: Query,
    f: impl Fn(&dyn Querier, &[Matcher], i64, i64) -> Result<Vec<String>, StorageError> + Send + 'static,
) -> Response {
    let querier = state.querier.clone();
    let limit = q.limit;
    let found = blocking(move || {
        let sets = if q.matchers.is_empty() {
            vec![Vec::new()]
        } else {
            q.matchers
        };
        let mut all = Vec::new();
        for ms in &sets {
            all.extend(f(querier.as_ref(), ms, q.start, q.end)?);
        }
        all.sort();
        all.dedup();
        Ok(all)
    })
    .await;
    match found {
        Ok(all) => {
            let mut warnings = Vec::new();
            let all = apply_limit(all, limit, &mut warnings);
            success(json!(all), warnings)
        }
        Err(r) => r,
    }
}

async fn labels(State(state): State<ApiState>, RawQuery(raw): RawQuery, body: Bytes) -> Response {
    match read_query(raw, &body) {
        Ok(q) => merged(&state, q, |qr, ms, s, e| qr.label_names(ms, s, e)).await,
        Err(e) => bad_data(e),
    }
}

async fn label_values(
    State(state): State<ApiState>,
    name: Result<Path<String>, axum::extract::rejection::PathRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    let name = match name {
        Ok(Path(name)) => name,
        Err(e) => return bad_data(format!("invalid label name: {}", e.body_text())),
    };
    if !is_valid_label_name(&name, NameValidation::Legacy) {
        return bad_data(format!("invalid label name: {name:?}"));
    }
    match read_query(raw, &[]) {
        Ok(q) => {
            merged(&state, q, move |qr, ms, s, e| {
                qr.label_values(&name, ms, s, e)
            })
            .await
        }
        Err(e) => bad_data(e),
    }
}

#[cfg(test)]
mod tests;
