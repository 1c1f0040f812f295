//! Self-instrumentation at `/metrics` (OpenMetrics text, via the `prometheus-client` crate).
//!
//! Wherever Prometheus has a metric for the same thing, promterm exposes it under Prometheus's
//! name, type, labels and meaning (prometheus/prometheus: tsdb/head.go, scrape/metrics.go,
//! rules/group.go, notifier/notifier.go, storage/remote/queue_manager.go, promql/engine.go,
//! web/web.go, cmd/prometheus/main.go), so the prometheus-mixin alerts and the usual
//! Prometheus dashboards work against promterm unchanged; what only promterm has keeps the
//! `promterm_` prefix. The list the mixin needs is pinned in
//! testdata/selfmon/prometheus-mixin-metrics.txt.
//!
//! This file holds [`Telemetry`] (what the API updates: queries, HTTP requests), the
//! running server's state (readiness, config reload, build) and the HTTP middleware;
//! `components` reads the components' counters when `/metrics` is scraped, and `encode`
//! writes families and the summaries prometheus-client lacks.
//!
//! Uses `scrape`, `rules`, `send`, `tsdb` and the API state; nothing above `api`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{text, DescriptorEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

mod components;
mod encode;

use super::ApiState;
use crate::scrape::discovery::metrics::{sd_metrics, Kind};
use crate::scrape::Manager;
pub use crate::scrape::Observations;
use crate::tsdb::Db;
use components::{SelfCollector, Sources};
use encode::{write_summary, Labels, Out};

/// Quantiles of Prometheus's scrape summaries (scrape/metrics.go).
const SCRAPE_QUANTILES: [f64; 5] = [0.01, 0.05, 0.5, 0.9, 0.99];
/// Quantiles of Prometheus's query duration summary (promql/engine.go).
const QUERY_QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];
/// Buckets of `prometheus_http_request_duration_seconds` (web/web.go).
const HTTP_BUCKETS: [f64; 9] = [0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0];

/// Metrics the API itself updates, and the registry `/metrics` encodes.
pub struct Telemetry {
    registry: Registry,
    /// Queries evaluating now, waiting for a slot, and the slots there are.
    pub queries_running: Gauge,
    pub queries_waiting: Gauge,
    pub queries_concurrent_max: Gauge,
    /// Query time by Prometheus's `slice` ("queue_time", "inner_eval").
    query_slices: Mutex<BTreeMap<&'static str, Observations>>,
    http_requests: Family<Vec<(String, String)>, Counter>,
    http_duration: Family<Vec<(String, String)>, Histogram>,
    sources: Sources,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Telemetry")
    }
}

fn http_histogram() -> Histogram {
    Histogram::new(HTTP_BUCKETS)
}

impl Telemetry {
    pub fn new(
        db: Option<Db>,
        scrape: Option<Arc<Manager>>,
        rules: Option<crate::rules::manager::Manager>,
        senders: Option<Arc<crate::send::Senders>>,
    ) -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<Vec<(String, String)>, Counter>::default();
        let http_duration = Family::<Vec<(String, String)>, Histogram>::new_with_constructor(
            http_histogram as fn() -> Histogram,
        );
        registry.register(
            "prometheus_http_requests",
            "Counter of HTTP requests",
            http_requests.clone(),
        );
        registry.register(
            "prometheus_http_request_duration_seconds",
            "Histogram of latencies for HTTP requests",
            http_duration.clone(),
        );
        let sources = Sources {
            db,
            scrape,
            rules,
            senders,
        };
        let t = Telemetry {
            registry,
            queries_running: Gauge::default(),
            queries_waiting: Gauge::default(),
            queries_concurrent_max: Gauge::default(),
            query_slices: Mutex::default(),
            http_requests,
            http_duration,
            sources: sources.clone(),
        };
        let engine = EngineGauges {
            running: t.queries_running.clone(),
            waiting: t.queries_waiting.clone(),
            max: t.queries_concurrent_max.clone(),
        };
        let mut t = t;
        t.registry.register_collector(Box::new(engine));
        t.registry
            .register_collector(Box::new(SelfCollector { sources }));
        t
    }

    /// Records one query: seconds waiting for a slot, and seconds evaluating.
    pub fn observe_query(&self, queue_seconds: f64, eval_seconds: f64) {
        let mut s = self.query_slices.lock();
        s.entry("queue_time").or_default().observe(queue_seconds);
        s.entry("inner_eval").or_default().observe(eval_seconds);
    }

    /// Counts one HTTP request to `handler` (the route pattern) answered with `code`.
    pub fn observe_http(&self, handler: &str, code: u16, seconds: f64) {
        let h = ("handler".to_string(), handler.to_string());
        self.http_requests
            .get_or_create(&vec![("code".to_string(), code.to_string()), h.clone()])
            .inc();
        self.http_duration.get_or_create(&vec![h]).observe(seconds);
    }

    /// The OpenMetrics text of every metric but those of the running server (see [`render`]).
    pub fn encode(&self) -> String {
        self.encode_with(None)
    }

    fn encode_with(&self, server: Option<&Registry>) -> String {
        let mut out = String::new();
        let ok = text::encode_registry(&mut out, &self.registry).is_ok()
            && server.is_none_or(|r| text::encode_registry(&mut out, r).is_ok())
            && self.write_summaries(&mut out).is_ok()
            && text::encode_eof(&mut out).is_ok();
        if !ok {
            out.clear();
        }
        out
    }

    fn write_summaries(&self, out: &mut String) -> std::fmt::Result {
        let slices: Vec<(Labels, Observations)> = self
            .query_slices
            .lock()
            .iter()
            .map(|(k, o)| (vec![("slice", k.to_string())], o.clone()))
            .collect();
        write_summary(
            out,
            "prometheus_engine_query_duration_seconds",
            "Query timings",
            &QUERY_QUANTILES,
            &slices,
        )?;
        for (name, f) in sd_metrics().families() {
            if f.kind == Kind::Summary {
                let series: Vec<(Labels, Observations)> = f.observations.into_iter().collect();
                write_summary(out, name, f.help, &SCRAPE_QUANTILES, &series)?;
            }
        }
        if let Some(m) = &self.sources.scrape {
            let st = m.stats();
            let by = |name: &'static str, map: &BTreeMap<String, Observations>| -> Vec<_> {
                map.iter()
                    .map(|(k, o)| (vec![(name, k.clone())], o.clone()))
                    .collect()
            };
            let intervals = by("interval", &st.interval_length.lock());
            let syncs = by("scrape_job", &st.sync_length.lock());
            write_summary(
                out,
                "prometheus_target_interval_length_seconds",
                "Actual intervals between scrapes.",
                &SCRAPE_QUANTILES,
                &intervals,
            )?;
            write_summary(
                out,
                "prometheus_target_sync_length_seconds",
                "Actual interval to sync the scrape pool.",
                &SCRAPE_QUANTILES,
                &syncs,
            )?;
        }
        Ok(())
    }
}

/// `/metrics`: everything [`Telemetry`] has, and the state of the running server (readiness,
/// the last config reload, build information).
pub(super) fn render(state: &ApiState) -> String {
    let mut server = Registry::default();
    let (reload_ok, loaded_at) = *state.info.reload.read();
    server.register_collector(Box::new(ServerCollector {
        ready: state.is_ready(),
        reload_ok,
        loaded_at: unix_seconds(loaded_at),
        wal_corruptions: state.info.corruptions,
    }));
    state.telemetry.encode_with(Some(&server))
}

/// Counts requests by route pattern and status code (Prometheus's `handler` label spells
/// path parameters `:name`, as its router does). Requests no route matched are not counted.
pub(super) async fn track_http(
    axum::extract::State(state): axum::extract::State<ApiState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let handler = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| handler_label(p.as_str()));
    let started = Instant::now();
    let resp = next.run(req).await;
    if let Some(h) = handler {
        let secs = started.elapsed().as_secs_f64();
        state
            .telemetry
            .observe_http(&h, resp.status().as_u16(), secs);
    }
    resp
}

/// `/api/v1/label/{name}/values` → `/api/v1/label/:name/values`, `{*rest}` → `*rest`.
fn handler_label(route: &str) -> String {
    route
        .split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(p) if p.starts_with('*') => p.to_string(),
                Some(p) => format!(":{p}"),
                None => seg.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// The architecture as Go names it (`prometheus_build_info{goarch}`).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64",
        other => other,
    }
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `prometheus_engine_queries` counts queries evaluating and those waiting for a slot, as
/// Prometheus's does.
#[derive(Debug)]
struct EngineGauges {
    running: Gauge,
    waiting: Gauge,
    max: Gauge,
}

impl Collector for EngineGauges {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let mut o = Out(&mut e);
        let (running, waiting) = (self.running.get() as f64, self.waiting.get() as f64);
        o.gauge(
            "prometheus_engine_queries",
            "The current number of queries being executed or waiting.",
            running + waiting,
        )?;
        o.gauge(
            "promterm_engine_queries_waiting",
            "PromQL queries waiting for a slot (--query.max-concurrency).",
            waiting,
        )?;
        o.gauge(
            "prometheus_engine_queries_concurrent_max",
            "The max number of concurrent queries.",
            self.max.get() as f64,
        )
    }
}

/// The running server's state, read per scrape.
#[derive(Debug)]
struct ServerCollector {
    ready: bool,
    reload_ok: bool,
    loaded_at: f64,
    wal_corruptions: u64,
}

impl Collector for ServerCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let mut o = Out(&mut e);
        o.gauge(
            "prometheus_ready",
            "Whether Prometheus startup was fully completed and the server is ready for normal operation.",
            f64::from(u8::from(self.ready)),
        )?;
        o.gauge(
            "prometheus_config_last_reload_successful",
            "Whether the last configuration reload attempt was successful.",
            f64::from(u8::from(self.reload_ok)),
        )?;
        o.gauge(
            "prometheus_config_last_reload_success_timestamp_seconds",
            "Timestamp of the last successful configuration reload.",
            self.loaded_at,
        )?;
        o.counter(
            "prometheus_tsdb_wal_corruptions",
            "Total number of WAL corruptions.",
            self.wal_corruptions as f64,
        )?;
        let build: Labels = vec![
            ("branch", String::new()),
            ("goarch", go_arch().to_string()),
            ("goos", std::env::consts::OS.to_string()),
            ("goversion", "rust".to_string()),
            ("revision", String::new()),
            ("version", env!("CARGO_PKG_VERSION").to_string()),
        ];
        o.family(
            "prometheus_build_info",
            "A metric with a constant '1' value labeled by version, revision, branch, goversion from which prometheus was built, and the goos and goarch for the build.",
            MetricType::Gauge,
            [(build, 1.0)],
        )
    }
}

#[cfg(test)]
mod tests;
