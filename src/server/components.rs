//! The long-lived parts of a server and their tasks: the store (opened, its WAL replayed), the
//! scrape manager, the built-in Pushgateway, remote-write senders, the notifier and the rule
//! manager, each started with the shared shutdown token. Uses `config`, `tsdb`, `scrape`,
//! `push`, `remote`, `send`, `rules` and `promql`; anyhow.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::ServeOptions;
use crate::config::{Config, Duration};
use crate::tsdb::{self, Db, OpenReport};

/// Opens the store in the data directory, replaying its WAL (into an exemplar buffer of
/// `max_exemplars`).
pub(super) async fn open_storage(
    opts: &ServeOptions,
    retention: Duration,
    max_exemplars: usize,
) -> anyhow::Result<(Db, OpenReport)> {
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
        max_exemplars,
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
    Ok((db, report))
}

/// The running parts; `tasks` end when the shutdown token fires.
pub(super) struct Components {
    pub(super) db: Db,
    pub(super) scrape: Arc<crate::scrape::Manager>,
    pub(super) push: Arc<crate::push::Store>,
    pub(super) received_metadata: Arc<crate::remote::metadata::Store>,
    /// The OTLP receiver every OTLP endpoint shares (its config follows reloads).
    pub(super) otlp: Arc<crate::otlp::Receiver>,
    pub(super) senders: Arc<crate::send::Senders>,
    pub(super) notifier: crate::rules::notifier::Notifier,
    pub(super) rules: crate::rules::manager::Manager,
    /// The store's background task (WAL fsync, flushes, retention): awaited last.
    pub(super) db_task: JoinHandle<()>,
    /// Scraping, pushes and notifications.
    pub(super) tasks: Vec<JoinHandle<()>>,
}

/// Starts every part over `db` with `config`.
pub(super) fn start(
    opts: &ServeOptions,
    config: &Config,
    db: Db,
    engine: crate::promql::engine::Engine,
    external_url: String,
    shutdown: &CancellationToken,
) -> anyhow::Result<Components> {
    db.set_max_exemplars(config.max_exemplars());
    let db_task = tokio::spawn(db.clone().run(shutdown.clone()));
    let shared = Arc::new(db.clone());
    let scrape = crate::scrape::Manager::new(shared.clone(), shutdown.clone());
    scrape.set_timestamp_tolerance(
        opts.scrape_adjust_timestamps
            .then(|| opts.scrape_timestamp_tolerance.as_std()),
    );
    scrape.apply(config);
    let scrape_task = tokio::spawn(scrape.clone().run(shutdown.clone()));
    // The built-in Pushgateway: groups kept in the data directory, ingested every scrape
    // interval.
    let push = Arc::new(
        crate::push::Store::open(Some(&opts.data_dir)).with_label_limits(opts.label_limits),
    );
    // Metadata that arrives with remote write and OTLP; senders send it with the scraped.
    let received_metadata = Arc::new(crate::remote::metadata::Store::default());
    let metadata_fn: crate::send::MetadataFn = {
        let (m, r) = (scrape.clone(), received_metadata.clone());
        Arc::new(move || {
            let mut all: BTreeMap<String, crate::textparse::Metadata> =
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
            shutdown,
        )
        .map_err(|e| anyhow::anyhow!("remote_write: {e}"))?;
    let push_task = tokio::spawn(crate::push::run(
        push.clone(),
        shared.clone(),
        config.global.scrape_interval.as_std(),
        shutdown.clone(),
    ));
    let notifier = crate::rules::notifier::Notifier::new(opts.notification_queue_capacity);
    notifier
        .apply_config(config)
        .map_err(|e| anyhow::anyhow!("alerting config: {e}"))?;
    let notifier_task = tokio::spawn(notifier.clone().run(shutdown.clone()));
    let rules = crate::rules::manager::Manager::new(
        shared.clone(),
        shared,
        engine,
        Some(notifier.clone()),
        crate::rules::manager::Options {
            outage_tolerance: opts.for_outage_tolerance.as_std(),
            for_grace_period: opts.for_grace_period.as_std(),
            resend_delay: opts.resend_delay.as_std(),
            external_url,
            query_timeout: opts.query_timeout.as_std(),
        },
        shutdown.clone(),
    );
    rules
        .apply_config(config)
        .map_err(|e| anyhow::anyhow!("error loading rule files: {e}"))?;
    let otlp = Arc::new(crate::otlp::Receiver::new(config.otlp.clone()));
    Ok(Components {
        db,
        scrape,
        push,
        received_metadata,
        otlp,
        senders,
        notifier,
        rules,
        db_task,
        tasks: vec![scrape_task, notifier_task, push_task],
    })
}
