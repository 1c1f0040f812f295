//! `ApiState`, what every handler shares (storage, engine, managers, server facts), and the
//! seams the server plugs in: the admin storage operations, the config reload, and what the
//! status endpoints report. Uses `storage`, `promql`, `remote`, `scrape`, `rules`, `push`,
//! `send`, `config` (for the config dump), and the sibling `metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::RwLock;

use super::metrics;
use crate::model::Matcher;
use crate::promql::engine::Engine;
use crate::remote::{self, Limits};
use crate::storage::{Appender, Querier};

/// Why an admin storage operation failed; its text is the message for the client.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AdminError(Box<dyn std::error::Error + Send + Sync>);

impl AdminError {
    pub fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        AdminError(e.into())
    }
}

impl From<String> for AdminError {
    fn from(s: String) -> Self {
        AdminError(s.into())
    }
}

impl From<&str> for AdminError {
    fn from(s: &str) -> Self {
        AdminError(s.into())
    }
}

/// The storage operations behind `/api/v1/admin/tsdb/*` (`--web.enable-admin-api`).
pub trait Admin: Send + Sync {
    /// Writes a snapshot (including the head if asked) and returns its directory name.
    fn snapshot(&self, with_head: bool) -> Result<String, AdminError>;
    /// Deletes the samples in [mint, maxt] of the series matching `matchers`.
    fn delete_series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<(), AdminError>;
    /// Prometheus rewrites blocks without deleted data here; promterm deletes eagerly, so this
    /// only returns freed space to the file system.
    fn clean_tombstones(&self) -> Result<(), AdminError>;
}

/// Why re-reading the configuration failed; the text is the message Prometheus would give.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReloadError(pub String);

impl From<String> for ReloadError {
    fn from(s: String) -> Self {
        ReloadError(s)
    }
}

/// Re-reads and applies the configuration (`POST /-/reload`, SIGHUP).
pub type ReloadFn = Arc<dyn Fn() -> Result<(), ReloadError> + Send + Sync>;

/// The running configuration could not be written as YAML for `/api/v1/status/config`.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the configuration as YAML: {0}")]
pub struct ConfigDumpError(#[from] serde_yaml::Error);

/// The running configuration as `/api/v1/status/config` serves it.
pub type ConfigYaml = Result<String, ConfigDumpError>;

/// Writes a configuration as YAML for `/api/v1/status/config` (secrets already `<secret>`).
pub fn dump_config<T: serde::Serialize>(cfg: &T) -> ConfigYaml {
    Ok(serde_yaml::to_string(cfg)?)
}

/// What `/api/v1/status/*` reports about the running server.
pub struct ServerInfo {
    pub start: SystemTime,
    pub flags: BTreeMap<String, String>,
    pub retention: String,
    /// The running config as YAML (secrets already `<secret>`), or why it could not be written.
    pub config_yaml: RwLock<ConfigYaml>,
    /// Whether the last reload succeeded, and when the running config was loaded.
    pub reload: RwLock<(bool, SystemTime)>,
    /// Chunks in memory and the stored time range (`None` when empty).
    pub head_stats: Option<HeadStatsFn>,
    /// WAL corruptions found (and truncated) when the store was opened.
    pub corruptions: u64,
}

/// Reports (chunks in memory, stored time range).
pub type HeadStatsFn = Arc<dyn Fn() -> (usize, Option<(i64, i64)>) + Send + Sync>;

impl std::fmt::Debug for ServerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerInfo")
            .field("flags", &self.flags)
            .finish()
    }
}

impl Default for ServerInfo {
    fn default() -> Self {
        ServerInfo {
            start: SystemTime::now(),
            flags: BTreeMap::new(),
            retention: String::new(),
            config_yaml: RwLock::new(Ok(String::new())),
            reload: RwLock::new((true, SystemTime::now())),
            head_stats: None,
            corruptions: 0,
        }
    }
}

/// Queries evaluating at once by default (Prometheus's `--query.max-concurrency`).
pub const DEFAULT_QUERY_CONCURRENCY: usize = 20;

/// State shared by all handlers.
#[derive(Clone)]
pub struct ApiState {
    pub(super) ready: Arc<AtomicBool>,
    pub(super) appender: Arc<dyn Appender>,
    pub(super) querier: Arc<dyn Querier>,
    pub(super) limits: Limits,
    pub(super) engine: Engine,
    /// Longest a query may run (`--query.timeout`); the `timeout` parameter may lower it.
    pub(super) query_timeout: std::time::Duration,
    /// Slots for queries evaluating at once (`--query.max-concurrency`); others wait.
    pub(crate) query_gate: Arc<tokio::sync::Semaphore>,
    /// The scrape manager, for the targets and metadata APIs.
    pub(super) scrape: Option<Arc<crate::scrape::Manager>>,
    /// The rule manager, for the rules, alerts and alertmanagers APIs.
    pub(super) rules: Option<crate::rules::manager::Manager>,
    /// The built-in Pushgateway (`/metrics/job/...`).
    pub(super) push: Option<Arc<crate::push::Store>>,
    /// Remote-write senders, for `/api/v1/status/remote_write`.
    pub(super) senders: Option<Arc<crate::send::Senders>>,
    /// Metadata that came with remote write and OTLP, for `/api/v1/metadata`.
    pub(crate) received_metadata: Arc<remote::metadata::Store>,
    /// The OTLP receiver (translation config, state between requests), shared by the OTLP
    /// endpoints on every listener.
    pub(crate) otlp: Arc<crate::otlp::Receiver>,
    /// Slots for OTLP exports in flight, shared by the OTLP endpoints of every listener.
    pub(crate) otlp_in_flight: (Arc<tokio::sync::Semaphore>, usize),
    /// Re-reads and applies the config file (`POST /-/reload`).
    pub(super) reload: Option<ReloadFn>,
    /// Self-instrumentation served at `/metrics`.
    pub(super) telemetry: Arc<metrics::Telemetry>,
    /// What `/api/v1/status/*` reports.
    pub(super) info: Arc<ServerInfo>,
    /// With `--web.enable-lifecycle`: cancelling it shuts the server down (`/-/quit`).
    pub(super) lifecycle: Option<tokio_util::sync::CancellationToken>,
    /// With `--web.enable-admin-api`: the storage operations of the admin API.
    pub(super) admin: Option<Arc<dyn Admin>>,
}

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
            otlp: Arc::default(),
            otlp_in_flight: {
                let n = crate::otlp::export::default_in_flight();
                (Arc::new(tokio::sync::Semaphore::new(n)), n)
            },
            reload: None,
            telemetry: Arc::new(metrics::Telemetry::new(None, None, None, None)),
            info: Arc::new(ServerInfo::default()),
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

    /// Uses this OTLP receiver (the server's, which reloads apply to).
    pub fn with_otlp(mut self, r: Arc<crate::otlp::Receiver>) -> Self {
        self.otlp = r;
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
    pub fn with_info(mut self, info: Arc<ServerInfo>) -> Self {
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
