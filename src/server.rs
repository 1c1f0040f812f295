//! Wiring for `promterm serve`: load the config, open (and lock) the data directory, open the
//! store (replaying its WAL), start the HTTP server, mark ready, and on shutdown stop taking
//! requests, then flush and close the store.
//!
//! Every long-lived task takes the shared `CancellationToken`; `shutdown_on_signals` cancels it
//! on Ctrl-C or SIGTERM. Uses `config`, `tsdb`, `remote` and `api`; anyhow for errors.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::api::{self, ApiState};
use crate::config::{ByteSize, Config, Duration};
use crate::remote::Limits;
use crate::tsdb::{self, Db};

/// Default listen address, as in Prometheus but on loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9090";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./promterm-data";
/// Default retention (Prometheus: 15d).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(15 * 24 * 3600);

/// Everything `promterm serve` was asked to do.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Run the terminal UI in the foreground (the server keeps running underneath).
    pub tui: Option<crate::tui::Options>,
    pub config_file: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub listen: String,
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
}

/// The running server's parts.
pub struct Server {
    opts: ServeOptions,
}

impl Server {
    pub fn new(opts: ServeOptions) -> Self {
        Server { opts }
    }

    /// Runs until `shutdown` is cancelled, then stops accepting requests and returns.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let opts = self.opts;
        // A bad web config stops the start before anything else happens.
        let web = match &opts.web_config_file {
            Some(f) => Some(crate::web::load(f).map_err(|e| anyhow::anyhow!("{e}"))?),
            None => None,
        };
        // Read the config before taking the port, so a bad file fails fast.
        let file_config = match &opts.config_file {
            Some(path) => {
                let cfg = Config::load(path)?;
                info!(file = %path.display(), "loaded config");
                Some(cfg)
            }
            None => None,
        };
        let _lock = DataDir::open(&opts.data_dir)?;
        let retention = if opts.retention.is_zero() {
            DEFAULT_RETENTION
        } else {
            opts.retention
        };
        let db_opts = tsdb::Options {
            retention_ms: retention.as_millis() as i64,
            retention_size: opts.retention_size.map(|b| b.0).filter(|b| *b > 0),
            fsync_interval: opts
                .wal_fsync_interval
                .as_std()
                .max(std::time::Duration::from_millis(10)),
            flush_interval: opts
                .flush_interval
                .as_std()
                .max(std::time::Duration::from_secs(1)),
            ..tsdb::Options::default()
        };
        let data_dir = opts.data_dir.clone();
        let (db, report) = tokio::task::spawn_blocking(move || Db::open(&data_dir, db_opts))
            .await
            .context("opening storage")?
            .with_context(|| format!("cannot open storage in {:?}", opts.data_dir.display()))?;
        if report.wal.corruption.is_some() {
            warn!(
                dropped_records = report.wal.dropped_records,
                "the WAL had a corrupt tail; kept everything before it"
            );
        }
        info!(data = %opts.data_dir.display(), %retention, series = db.num_series(), "storage ready");

        let listen = normalize_listen(&opts.listen);
        let listener = TcpListener::bind(&listen)
            .await
            .with_context(|| format!("cannot listen on {:?}", opts.listen))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let config = file_config.unwrap_or_else(|| {
            info!("no --config given: scraping promterm itself (/metrics) and this host (/host/metrics)");
            Config::embedded_default(&addr.to_string())
        });
        for w in config.warnings() {
            warn!("{w}");
        }
        let s = config.summary();
        info!(
            jobs = s.jobs,
            static_targets = s.static_targets,
            rule_files = s.rule_files,
            "config ready"
        );

        let db_task = tokio::spawn(db.clone().run(shutdown.clone()));
        let limits = Limits {
            max_body: opts.remote_write_max_bytes.0 as usize,
            labels: opts.label_limits,
            ..Limits::default()
        };
        let shared = Arc::new(db.clone());
        let engine = crate::promql::engine::Engine {
            max_samples: opts.query_max_samples,
            lookback_ms: (opts.query_lookback_delta.as_millis() as i64).max(1),
            subquery_step_ms: (config.global.evaluation_interval.as_millis() as i64).max(1),
        };
        let manager = crate::scrape::Manager::new(shared.clone(), shutdown.clone());
        manager.apply(&config);
        let scrape_task = tokio::spawn(manager.clone().run(shutdown.clone()));
        let external_url = external_url(opts.external_url.as_deref(), &addr);
        // The built-in Pushgateway: groups kept in the data directory, ingested every scrape
        // interval.
        let push_store = Arc::new(
            crate::push::Store::open(Some(&opts.data_dir)).with_label_limits(opts.label_limits),
        );
        // Metadata that arrives with remote write and OTLP; senders send it with the scraped.
        let received_metadata = Arc::new(crate::remote::metadata::Store::default());
        let metadata_fn: crate::send::MetadataFn = {
            let (m, r) = (manager.clone(), received_metadata.clone());
            Arc::new(move || {
                let mut all: std::collections::BTreeMap<String, crate::textparse::Metadata> =
                    r.snapshot().into_iter().collect();
                for a in m.active() {
                    all.extend(a.status.metadata);
                }
                all.into_iter().collect()
            })
        };
        // Remote-write senders tail the WAL.
        let senders = Arc::new(crate::send::Senders::with_metadata(metadata_fn));
        senders
            .apply(
                &db,
                &config.remote_writes().cloned().collect::<Vec<_>>(),
                &shutdown,
            )
            .map_err(|e| anyhow::anyhow!("remote_write: {e}"))?;
        let push_task = tokio::spawn(crate::push::run(
            push_store.clone(),
            shared.clone(),
            config.global.scrape_interval.as_std(),
            shutdown.clone(),
        ));
        let notifier = crate::rules::notifier::Notifier::new(opts.notification_queue_capacity);
        notifier
            .apply_config(&config)
            .map_err(|e| anyhow::anyhow!("alerting config: {e}"))?;
        let notifier_task = tokio::spawn(notifier.clone().run(shutdown.clone()));
        let rules = crate::rules::manager::Manager::new(
            shared.clone(),
            shared.clone(),
            engine.clone(),
            Some(notifier.clone()),
            crate::rules::manager::Options {
                outage_tolerance: opts.for_outage_tolerance.as_std(),
                for_grace_period: opts.for_grace_period.as_std(),
                resend_delay: opts.resend_delay.as_std(),
                external_url: external_url.clone(),
                query_timeout: opts.query_timeout.as_std(),
            },
            shutdown.clone(),
        );
        rules
            .apply_config(&config)
            .map_err(|e| anyhow::anyhow!("error loading rule files: {e}"))?;
        let server_info = Arc::new(api::status::ServerInfo {
            flags: flags(&opts, &retention),
            retention: retention.to_string(),
            config_yaml: parking_lot::RwLock::new(api::status::dump_config(&config)),
            head_stats: Some({
                let db = db.clone();
                Arc::new(move || db.head_stats())
            }),
            corruptions: u64::from(report.wal.corruption.is_some()),
            ..Default::default()
        });
        let reload: api::ReloadFn = match &opts.config_file {
            Some(path) => {
                let (path, m, si) = (path.clone(), manager.clone(), server_info.clone());
                let (rm, nt) = (rules.clone(), notifier.clone());
                let (sn, sdb, ssd) = (senders.clone(), db.clone(), shutdown.clone());
                let rt = tokio::runtime::Handle::current();
                Arc::new(move || {
                    let _enter = rt.enter();
                    let cfg = match Config::load(&path) {
                        Ok(c) => c,
                        Err(e) => {
                            si.reload.write().0 = false;
                            return Err(e.to_string().into());
                        }
                    };
                    for w in cfg.warnings() {
                        warn!("{w}");
                    }
                    if let Err(e) = nt.apply_config(&cfg).and_then(|_| {
                        rm.apply_config(&cfg)
                            .map_err(|e| format!("error loading rules: {e}"))
                    }) {
                        si.reload.write().0 = false;
                        return Err(e.into());
                    }
                    let rw: Vec<_> = cfg.remote_writes().cloned().collect();
                    if let Err(e) = sn.apply(&sdb, &rw, &ssd) {
                        si.reload.write().0 = false;
                        return Err(e.into());
                    }
                    m.apply(&cfg);
                    *si.config_yaml.write() = api::status::dump_config(&cfg);
                    *si.reload.write() = (true, std::time::SystemTime::now());
                    info!(file = %path.display(), "reloaded config");
                    Ok(())
                })
            }
            None => Arc::new(|| Ok(())),
        };
        spawn_sighup(reload.clone(), shutdown.clone());
        let telemetry = Arc::new(api::metrics::Telemetry::new(
            Some(db.clone()),
            Some(manager.clone()),
            Some(rules.clone()),
            Some(senders.clone()),
        ));
        let state = ApiState::new(shared.clone(), shared, limits)
            .with_scrape(manager.clone())
            .with_rules(rules.clone())
            .with_push(push_store.clone())
            .with_senders(senders.clone())
            .with_received_metadata(received_metadata.clone())
            .with_telemetry(telemetry)
            .with_info(server_info)
            .with_lifecycle(opts.enable_lifecycle.then(|| shutdown.clone()))
            .with_admin(opts.enable_admin_api.then(|| {
                let a: Arc<dyn api::Admin> = Arc::new(Admin {
                    db: db.clone(),
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
            );
        let mut app = api::router(state.clone());
        let scheme = if web.as_ref().is_some_and(|w| w.tls.is_some()) {
            "https"
        } else {
            "http"
        };
        if let Some(w) = &web {
            if w.auth.is_some() || !w.headers.is_empty() {
                app = app.layer(axum::middleware::from_fn_with_state(
                    Arc::new(w.clone()),
                    crate::web::middleware,
                ));
            }
        }
        info!(
            tls = scheme == "https",
            basic_auth = web.as_ref().is_some_and(|w| w.auth.is_some()),
            "listening on {scheme}://{addr}"
        );
        state.set_ready(true);
        let token = shutdown.clone();
        let tui_task = opts.tui.clone().map(|mut o| {
            o.source_name = format!("promterm (local, {addr})");
            let source: Arc<dyn crate::client::Source> =
                Arc::new(crate::client::Local::new(state.clone()));
            let sd = shutdown.clone();
            tokio::spawn(async move {
                let r = crate::tui::run(source, o, sd.clone()).await;
                // Leaving the TUI stops the server.
                sd.cancel();
                r
            })
        });
        match web.and_then(|w| w.tls) {
            Some(tls) => {
                let l = crate::web::TlsListener::new(listener, tls)
                    .context("starting the TLS listener")?;
                axum::serve(crate::web::Limited::new(l, opts.web_max_connections), app)
                    .with_graceful_shutdown(async move { token.cancelled().await })
                    .await
                    .context("HTTP server failed")?
            }
            None => axum::serve(
                crate::web::Limited::new(listener, opts.web_max_connections),
                app,
            )
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await
            .context("HTTP server failed")?,
        }
        if let Some(t) = tui_task {
            match t.await {
                Ok(Err(e)) => warn!("the terminal UI failed: {e:#}"),
                Err(e) => warn!("the terminal UI task failed: {e}"),
                Ok(Ok(())) => {}
            }
        }
        state.set_ready(false);
        manager.stop();
        let _ = scrape_task.await;
        let _ = notifier_task.await;
        let _ = push_task.await;
        // Let loops finish an append in progress before storage closes.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let _ = db_task.await;
        let closing = db.clone();
        tokio::task::spawn_blocking(move || closing.close())
            .await
            .context("closing storage")?
            .context("final flush failed; the WAL still holds the data")?;
        info!("shut down cleanly");
        Ok(())
    }
}

/// `--web.external-url` without a trailing slash, or `http://<hostname>:<port>`.
fn external_url(flag: Option<&str>, addr: &std::net::SocketAddr) -> String {
    if let Some(u) = flag.filter(|u| !u.is_empty()) {
        return u.trim_end_matches('/').to_string();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("http://{host}:{}", addr.port())
}

/// The admin API over the store.
struct Admin {
    db: Db,
    dir: std::path::PathBuf,
}

impl api::Admin for Admin {
    fn snapshot(&self, with_head: bool) -> Result<String, api::AdminError> {
        let name = snapshot_name();
        self.db
            .snapshot(&self.dir.join("snapshots").join(&name), with_head)
            .map_err(api::AdminError::new)?;
        info!(%name, "wrote a snapshot");
        Ok(name)
    }

    fn delete_series(
        &self,
        matchers: &[crate::model::Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<(), api::AdminError> {
        self.db
            .delete(matchers, mint, maxt)
            .map(|_| ())
            .map_err(api::AdminError::new)
    }

    fn clean_tombstones(&self) -> Result<(), api::AdminError> {
        self.db.compact().map_err(api::AdminError::new)
    }
}

/// A snapshot directory name as Prometheus makes them: UTC time, then 16 hex digits.
fn snapshot_name() -> String {
    let now = std::time::SystemTime::now();
    let t = api::status::rfc3339_compact(now);
    let nanos = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let r = crate::model::xxh64(&nanos.to_le_bytes()) & 0x7fff_ffff_ffff_ffff;
    format!("{t}-{r:016x}")
}

/// The flags as `/api/v1/status/flags` reports them, under Prometheus's names.
fn flags(o: &ServeOptions, retention: &Duration) -> std::collections::BTreeMap<String, String> {
    let mut m = std::collections::BTreeMap::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_string(), v);
    };
    put(
        "config.file",
        o.config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    put("storage.tsdb.path", o.data_dir.display().to_string());
    put("web.listen-address", o.listen.clone());
    put("storage.tsdb.retention.time", retention.to_string());
    put(
        "storage.tsdb.retention.size",
        o.retention_size
            .map(|b| b.to_string())
            .unwrap_or_else(|| "0B".into()),
    );
    put("query.timeout", o.query_timeout.to_string());
    put("query.lookback-delta", o.query_lookback_delta.to_string());
    put("query.max-samples", o.query_max_samples.to_string());
    put("query.max-concurrency", o.query_max_concurrency.to_string());
    put("web.max-connections", o.web_max_connections.to_string());
    put(
        "storage.max-labels-per-series",
        o.label_limits.max_labels.to_string(),
    );
    put(
        "storage.max-label-name-length",
        o.label_limits.max_name_len.to_string(),
    );
    put(
        "storage.max-label-value-length",
        o.label_limits.max_value_len.to_string(),
    );
    put("wal.fsync-interval", o.wal_fsync_interval.to_string());
    put("storage.flush-interval", o.flush_interval.to_string());
    put(
        "remote-write.max-bytes",
        o.remote_write_max_bytes.to_string(),
    );
    put("headless", o.headless.to_string());
    put("web.enable-lifecycle", o.enable_lifecycle.to_string());
    put("web.enable-admin-api", o.enable_admin_api.to_string());
    put(
        "web.config.file",
        o.web_config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    m
}

/// Reloads the config on SIGHUP, logging the outcome (a bad config keeps the running one).
fn spawn_sighup(reload: api::ReloadFn, shutdown: CancellationToken) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            warn!("cannot listen for SIGHUP; reload with POST /-/reload");
            return;
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                r = hup.recv() => if r.is_none() { return },
            }
            let f = reload.clone();
            match tokio::task::spawn_blocking(move || f()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!("reloading the config failed, keeping the running one: {e}")
                }
                Err(e) => tracing::error!("reload task failed: {e}"),
            }
        }
    });
}

fn normalize_listen(listen: &str) -> String {
    if listen.starts_with(':') {
        format!("0.0.0.0{listen}")
    } else {
        listen.to_string()
    }
}

/// The data directory, held with an exclusive lock on `<data>/lock` for the life of the server.
pub struct DataDir {
    _lock: File,
}

impl DataDir {
    pub fn open(dir: &Path) -> anyhow::Result<DataDir> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create data directory {:?}", dir.display()))?;
        let lock_path = dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open lock file {:?}", lock_path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(DataDir { _lock: file }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "data directory {:?} is in use by another promterm process (lock held on {:?})",
                dir.display(),
                lock_path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {:?}", lock_path.display()))
            }
        }
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
    fn listen_shorthand_means_all_interfaces() {
        assert_eq!(normalize_listen(":9090"), "0.0.0.0:9090");
        assert_eq!(normalize_listen("127.0.0.1:9090"), "127.0.0.1:9090");
    }

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
