//! Wiring for `promterm serve`: load the config, lock the data directory, open the store
//! (replaying its WAL), start the parts (scraping, rules, notifier, remote write, the
//! Pushgateway), mark ready, serve the HTTP API and the OTLP receivers (gRPC, HTTP); on
//! shutdown stop taking requests, stop the parts, then flush and close the store.
//!
//! `Server::start` returns a `Running` server whose `ApiState` the caller may use in-process
//! (the CLI runs the TUI over it); the server itself knows nothing of the TUI. Every long-lived
//! task takes the shared `CancellationToken`; `shutdown_on_signals` cancels it on Ctrl-C or
//! SIGTERM, SIGHUP reloads the config. Files: `components` (the parts and their tasks),
//! `reload` (config reload, SIGHUP), `otlp` (the OTLP/gRPC and OTLP/HTTP listeners' addresses),
//! `listen` (binding and serving a listener with the web config), `admin` (the admin API),
//! `flags` (`/api/v1/status/flags`), `datadir` (the directory lock).
//!
//! Uses everything below `client` in the layer picture (`api`, `web`, `rules`, `promql`,
//! `scrape`, `remote`, `send`, `push`, `tsdb`, `config`, `model`); anyhow for errors.

mod admin;
mod components;
mod datadir;
mod flags;
mod listen;
mod otlp;
mod reload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use datadir::DataDir;

use crate::api::{self, ApiState};
use crate::config::{ByteSize, Config, Duration};
use crate::remote::Limits;

/// Default listen address, as in Prometheus but on loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9090";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./promterm-data";
/// Default retention (Prometheus: 15d).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(15 * 24 * 3600);

/// Everything `promterm serve` was asked to do.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub config_file: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub listen: String,
    /// `--otlp.grpc-listen-address` when given (it wins over the config file; "" is off).
    pub otlp_grpc_listen: Option<String>,
    /// `--otlp.http-listen-address` when given (it wins over the config file; "" is off).
    pub otlp_http_listen: Option<String>,
    pub headless: bool,
    pub retention: Duration,
    /// Delete the oldest data beyond this size.
    pub retention_size: Option<ByteSize>,
    pub wal_fsync_interval: Duration,
    pub flush_interval: Duration,
    pub remote_write_max_bytes: ByteSize,
    /// Limits on pushed-in series' labels (remote write, OTLP, Pushgateway).
    pub label_limits: crate::model::LabelLimits,
    pub query_timeout: Duration,
    pub query_lookback_delta: Duration,
    pub query_max_samples: usize,
    /// Queries evaluated at once (`--query.max-concurrency`).
    pub query_max_concurrency: usize,
    /// HTTP connections open at once (`--web.max-connections`).
    pub web_max_connections: usize,
    /// `POST /-/reload` and `/-/quit` are allowed (`--web.enable-lifecycle`).
    pub enable_lifecycle: bool,
    /// The admin API is on (`--web.enable-admin-api`).
    pub enable_admin_api: bool,
    /// TLS and basic auth (`--web.config.file`).
    pub web_config_file: Option<PathBuf>,
    pub external_url: Option<String>,
    pub for_outage_tolerance: Duration,
    pub for_grace_period: Duration,
    pub resend_delay: Duration,
    pub notification_queue_capacity: usize,
    /// `--enable-feature` values (`native-histograms`; others are warned about).
    pub enable_features: Vec<String>,
    /// `--scrape.adjust-timestamps`: store scrapes at their interval slot when within
    /// `scrape_timestamp_tolerance` of it.
    pub scrape_adjust_timestamps: bool,
    pub scrape_timestamp_tolerance: Duration,
}

impl ServeOptions {
    /// Whether `--enable-feature=native-histograms` was given.
    pub fn native_histograms(&self) -> bool {
        self.enable_features
            .iter()
            .any(|f| f.trim() == "native-histograms")
    }
}

/// The features `--enable-feature` knows.
const FEATURES: [&str; 2] = ["native-histograms", "created-timestamp-zero-ingestion"];

/// Warns about each `--enable-feature` value promterm does not know, as Prometheus does.
fn warn_unknown_features(features: &[String]) {
    for f in features.iter().map(|f| f.trim()).filter(|f| !f.is_empty()) {
        if FEATURES.contains(&f) {
            info!(option = f, "experimental feature enabled");
        } else {
            warn!(option = f, "Unknown option for --enable-feature");
        }
    }
}

/// A server to start.
pub struct Server {
    opts: ServeOptions,
}

/// A started server: answering on `addr` (and the OTLP listeners that could bind), its parts
/// running until the shutdown token fires.
pub struct Running {
    addr: SocketAddr,
    otlp_grpc: Option<SocketAddr>,
    otlp_http: Option<SocketAddr>,
    state: ApiState,
    parts: components::Components,
    http: JoinHandle<anyhow::Result<()>>,
    /// The OTLP listeners' servers.
    otlp: Vec<JoinHandle<anyhow::Result<()>>>,
    _lock: DataDir,
}

impl Server {
    pub fn new(opts: ServeOptions) -> Self {
        Server { opts }
    }

    /// Starts the server and waits until `shutdown` is cancelled, then stops it.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.start(shutdown).await?.wait().await
    }

    /// Opens the store, starts every part and the HTTP listener, and marks the server ready.
    pub async fn start(self, shutdown: CancellationToken) -> anyhow::Result<Running> {
        let opts = self.opts;
        // A bad web config stops the start before anything else happens.
        let web = match &opts.web_config_file {
            Some(f) => Some(crate::web::load(f).map_err(|e| anyhow::anyhow!("{e}"))?),
            None => None,
        };
        warn_unknown_features(&opts.enable_features);
        // Read the config before taking the port, so a bad file fails fast.
        let file_config = match &opts.config_file {
            Some(path) => {
                let mut cfg = Config::load(path)?;
                cfg.apply_features(&opts.enable_features);
                info!(file = %path.display(), "loaded config");
                Some(cfg)
            }
            None => None,
        };
        let lock = DataDir::open(&opts.data_dir)?;
        let retention = if opts.retention.is_zero() {
            DEFAULT_RETENTION
        } else {
            opts.retention
        };
        let max_exemplars = file_config
            .as_ref()
            .map_or(crate::tsdb::DEFAULT_MAX_EXEMPLARS, Config::max_exemplars);
        let (db, report) = components::open_storage(&opts, retention, max_exemplars).await?;
        let (listener, addr) = listen::bind(&opts.listen).await?;
        let config = file_config.unwrap_or_else(|| {
            info!("no --config given: scraping promterm itself (/metrics) and this host (/host/metrics)");
            let mut cfg = Config::embedded_default(&addr.to_string());
            cfg.apply_features(&opts.enable_features);
            cfg
        });
        for w in config.warnings() {
            warn!("{w}");
        }
        let grpc_listen = otlp::address(
            otlp::Kind::Grpc,
            opts.otlp_grpc_listen.as_deref(),
            &config.otlp,
        );
        let http_listen = otlp::address(
            otlp::Kind::Http,
            opts.otlp_http_listen.as_deref(),
            &config.otlp,
        );
        let grpc_listener = otlp::bind(otlp::Kind::Grpc, &grpc_listen).await;
        let http_listener = otlp::bind(otlp::Kind::Http, &http_listen).await;
        let s = config.summary();
        info!(
            jobs = s.jobs,
            static_targets = s.static_targets,
            rule_files = s.rule_files,
            "config ready"
        );
        let engine = crate::promql::engine::Engine {
            max_samples: opts.query_max_samples,
            lookback_ms: (opts.query_lookback_delta.as_millis() as i64).max(1),
            subquery_step_ms: (config.global.evaluation_interval.as_millis() as i64).max(1),
            ..crate::promql::engine::Engine::default()
        };
        let external_url = listen::external_url(opts.external_url.as_deref(), &addr);
        let parts = components::start(&opts, &config, db, engine.clone(), external_url, &shutdown)?;
        let mut flags = flags::flags(&opts, &retention);
        flags.insert("otlp.grpc-listen-address".into(), grpc_listen);
        flags.insert("otlp.http-listen-address".into(), http_listen);
        let server_info = Arc::new(api::status::ServerInfo {
            flags,
            retention: retention.to_string(),
            config_yaml: parking_lot::RwLock::new(api::status::dump_config(&config)),
            head_stats: Some({
                let db = parts.db.clone();
                Arc::new(move || db.head_stats())
            }),
            corruptions: u64::from(report.wal.corruption.is_some()),
            ..Default::default()
        });
        let reload = reload::reload_fn(
            opts.config_file.as_ref(),
            opts.enable_features.clone(),
            &parts,
            server_info.clone(),
            &shutdown,
        );
        reload::spawn_sighup(reload.clone(), shutdown.clone());
        let state = api_state(&opts, &parts, engine, server_info, reload, &shutdown);
        // Ready before the first connection is served: whoever sees "listening on" may write.
        state.set_ready(true);
        let http = listen::serve(
            "",
            listener,
            addr,
            web.clone(),
            api::router(state.clone()),
            opts.web_max_connections,
            shutdown.clone(),
        )?;
        // After the API's, so its "listening on" line comes first.
        let mut otlp = Vec::new();
        let (mut otlp_grpc, mut otlp_http) = (None, None);
        for (kind, bound, router) in [
            (
                otlp::Kind::Grpc,
                grpc_listener,
                api::otlp::grpc_router(state.clone()),
            ),
            (
                otlp::Kind::Http,
                http_listener,
                api::otlp::http_router(state.clone()),
            ),
        ] {
            let Some((l, a)) = bound else { continue };
            otlp.push(listen::serve(
                kind.name(),
                l,
                a,
                web.clone(),
                router,
                opts.web_max_connections,
                shutdown.clone(),
            )?);
            match kind {
                otlp::Kind::Grpc => otlp_grpc = Some(a),
                otlp::Kind::Http => otlp_http = Some(a),
            }
        }
        Ok(Running {
            addr,
            otlp_grpc,
            otlp_http,
            state,
            parts,
            http,
            otlp,
            _lock: lock,
        })
    }
}

/// The API's view of the running parts.
fn api_state(
    opts: &ServeOptions,
    parts: &components::Components,
    engine: crate::promql::engine::Engine,
    info: Arc<api::status::ServerInfo>,
    reload: api::ReloadFn,
    shutdown: &CancellationToken,
) -> ApiState {
    let limits = Limits {
        max_body: opts.remote_write_max_bytes.0 as usize,
        labels: opts.label_limits,
        ..Limits::default()
    };
    let shared = Arc::new(parts.db.clone());
    let telemetry = Arc::new(api::metrics::Telemetry::new(
        Some(parts.db.clone()),
        Some(parts.scrape.clone()),
        Some(parts.rules.clone()),
        Some(parts.senders.clone()),
    ));
    ApiState::new(shared.clone(), shared, limits)
        .with_scrape(parts.scrape.clone())
        .with_rules(parts.rules.clone())
        .with_push(parts.push.clone())
        .with_senders(parts.senders.clone())
        .with_received_metadata(parts.received_metadata.clone())
        .with_otlp(parts.otlp.clone())
        .with_telemetry(telemetry)
        .with_info(info)
        .with_lifecycle(opts.enable_lifecycle.then(|| shutdown.clone()))
        .with_admin(opts.enable_admin_api.then(|| {
            let a: Arc<dyn api::Admin> = Arc::new(admin::Admin {
                db: parts.db.clone(),
                dir: opts.data_dir.clone(),
            });
            a
        }))
        .with_reload(reload)
        .with_query_concurrency(opts.query_max_concurrency)
        .with_engine(
            engine,
            opts.query_timeout
                .as_std()
                .max(std::time::Duration::from_millis(1)),
        )
}

impl Running {
    /// The address the HTTP API answers on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The addresses the OTLP/gRPC and OTLP/HTTP receivers answer on (`None`: off).
    pub fn otlp_addrs(&self) -> (Option<SocketAddr>, Option<SocketAddr>) {
        (self.otlp_grpc, self.otlp_http)
    }

    /// The API state, for in-process clients (the TUI's `client::Local`).
    pub fn state(&self) -> &ApiState {
        &self.state
    }

    /// Waits until the shutdown token fires and the HTTP server has stopped taking requests,
    /// then stops the parts and closes the store (a final flush and WAL fsync).
    pub async fn wait(self) -> anyhow::Result<()> {
        let Running {
            state,
            parts,
            http,
            otlp,
            ..
        } = self;
        let served = http.await.context("HTTP server task failed")?;
        for o in otlp {
            match o.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => warn!("an OTLP listener failed: {e:#}"),
                Err(e) => warn!("an OTLP listener task failed: {e}"),
            }
        }
        state.set_ready(false);
        parts.scrape.stop();
        for t in parts.tasks {
            if let Err(e) = t.await {
                warn!("a server task failed: {e}");
            }
        }
        // Let loops finish an append in progress before storage closes.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if let Err(e) = parts.db_task.await {
            warn!("the storage task failed: {e}");
        }
        let closing = parts.db.clone();
        tokio::task::spawn_blocking(move || closing.close())
            .await
            .context("closing storage")?
            .context("final flush failed; the WAL still holds the data")?;
        served?;
        info!("shut down cleanly");
        Ok(())
    }
}

/// Cancels `token` on Ctrl-C or SIGTERM.
pub async fn shutdown_on_signals(token: CancellationToken) {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => info!("received Ctrl-C, shutting down"),
        _ = term => info!("received SIGTERM, shutting down"),
        _ = token.cancelled() => {}
    }
    token.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::open(dir.path()).unwrap();
        let err = DataDir::open(dir.path())
            .err()
            .expect("second open must fail")
            .to_string();
        assert!(err.contains("in use by another promterm process"), "{err}");
        drop(first);
        DataDir::open(dir.path()).expect("lock is released on drop");
    }
}
