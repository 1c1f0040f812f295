//! Config reload: the function behind `POST /-/reload` and SIGHUP, which re-reads the config
//! file and applies it to the notifier, the rules, the remote-write senders and the scrape
//! manager in that order (a bad file or a failing part keeps the running config), and the SIGHUP
//! listener. Uses `config`, `api`, `rules`, `send`, `scrape` and `tsdb`.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::components::Components;
use crate::api::{self, status::ServerInfo};
use crate::config::Config;

/// The reload function for `config_file` (`features`: the `--enable-feature` values, applied to
/// the reloaded config too); with no file there is nothing to reload.
pub(super) fn reload_fn(
    config_file: Option<&PathBuf>,
    features: Vec<String>,
    parts: &Components,
    info: Arc<ServerInfo>,
    shutdown: &CancellationToken,
) -> api::ReloadFn {
    let Some(path) = config_file else {
        return Arc::new(|| Ok(()));
    };
    let (path, m, si) = (path.clone(), parts.scrape.clone(), info);
    let (rm, nt, otlp) = (
        parts.rules.clone(),
        parts.notifier.clone(),
        parts.otlp.clone(),
    );
    let (sn, sdb, ssd) = (parts.senders.clone(), parts.db.clone(), shutdown.clone());
    let rt = tokio::runtime::Handle::current();
    Arc::new(move || {
        let _enter = rt.enter();
        let failed = |e: String| {
            si.reload.write().0 = false;
            Err(api::ReloadError(e))
        };
        let mut cfg = match Config::load(&path) {
            Ok(c) => c,
            Err(e) => return failed(e.to_string()),
        };
        cfg.apply_features(&features);
        for w in cfg.warnings() {
            warn!("{w}");
        }
        if let Err(e) = nt.apply_config(&cfg) {
            return failed(e.to_string());
        }
        if let Err(e) = rm.apply_config(&cfg) {
            return failed(format!("error loading rules: {e}"));
        }
        let rw: Vec<_> = cfg.remote_writes().cloned().collect();
        if let Err(e) = sn.apply(&sdb, &rw, &ssd) {
            return failed(e.to_string());
        }
        m.apply(&cfg);
        sdb.set_max_exemplars(cfg.max_exemplars());
        otlp.set_config(cfg.otlp.clone());
        *si.config_yaml.write() = api::status::dump_config(&cfg);
        *si.reload.write() = (true, std::time::SystemTime::now());
        info!(file = %path.display(), "reloaded config");
        Ok(())
    })
}

/// Reloads the config on SIGHUP, logging the outcome (a bad config keeps the running one).
pub(super) fn spawn_sighup(reload: api::ReloadFn, shutdown: CancellationToken) {
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
