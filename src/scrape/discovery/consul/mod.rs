//! `consul_sd_configs`: Consul's catalog and health APIs, watched with blocking queries as
//! Prometheus's discovery/consul does. Without `services` (or with `tags` or a catalog `filter`) the catalog's
//! service list is watched and a watch started for each matching service (stopped, and its
//! group removed, when the service leaves the catalog); with `services` alone, those are
//! watched directly. Each service watch asks `/v1/health/service/<name>` with the last
//! `X-Consul-Index` and reports one target group (source: the service name) per change. A
//! failed call keeps the last good targets, shows the error on the pool, counts
//! `prometheus_sd_consul_rpc_failures_total` and is retried after 15 s.
//! Uses `config`, the discovery sink, the scrape HTTP client (`api`), tokio.

pub mod api;
mod labels;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use super::metrics::sd_metrics;
use super::{Sink, TargetGroup};
use crate::config::ConsulSdConfig;
use api::Client;
pub use labels::group_of;

pub const RPC_FAILURES: &str = "prometheus_sd_consul_rpc_failures_total";
const RPC_FAILURES_HELP: &str = "The number of Consul RPC call failures.";

/// How long the watches wait: Prometheus's values, shorter in tests.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The `wait` of a blocking query.
    pub watch_timeout: Duration,
    /// The pause after a failed call.
    pub retry_interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            watch_timeout: Duration::from_secs(120),
            retry_interval: Duration::from_secs(15),
        }
    }
}

/// The errors of the calls failing now, by call; shown on the pool until each recovers.
#[derive(Clone)]
struct Errors {
    sink: Sink,
    failing: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Errors {
    fn set(&self, key: &str, e: String) {
        tracing::error!("Consul SD: {e}");
        sd_metrics().inc(RPC_FAILURES, RPC_FAILURES_HELP, vec![], 1.0);
        self.failing.lock().insert(key.to_string(), e);
        self.show();
    }

    fn clear(&self, key: &str) {
        self.failing.lock().remove(key);
    }

    /// Reports the groups (which clears the sink's error) and then the calls still failing.
    fn update(&self, groups: Vec<TargetGroup>) {
        self.sink.update(groups);
        self.show();
    }

    /// Shows the calls failing now on the pool, or clears the error when none is.
    fn show(&self) {
        let msg: Vec<String> = self.failing.lock().values().cloned().collect();
        if !msg.is_empty() {
            self.sink.fail(msg.join("; "));
        } else if self.sink.error().is_some() {
            self.sink.update(vec![]);
        }
    }
}

/// Everything the watches share.
struct Shared {
    client: Client,
    cfg: ConsulSdConfig,
    datacenter: String,
    timing: Timing,
    errors: Errors,
}

/// Discovers until `stop`.
pub async fn run(cfg: ConsulSdConfig, sink: Sink, stop: CancellationToken) {
    run_with(cfg, Timing::default(), sink, stop).await
}

/// Sleeps, or returns false when stopped first.
async fn pause(stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// Discovers until `stop`, waiting as `timing` says.
pub async fn run_with(cfg: ConsulSdConfig, timing: Timing, sink: Sink, stop: CancellationToken) {
    sd_metrics().declare(RPC_FAILURES, RPC_FAILURES_HELP, vec![]);
    let errors = Errors {
        sink: sink.clone(),
        failing: Arc::default(),
    };
    let client = match Client::new(&cfg, timing.watch_timeout) {
        Ok(c) => c,
        Err(e) => {
            sink.fail(format!("Consul SD: {e}"));
            return;
        }
    };
    // The datacenter label: the configured one, else the agent's, asked until it answers.
    let mut datacenter = cfg.datacenter.clone();
    while datacenter.is_empty() {
        let r = tokio::select! {
            _ = stop.cancelled() => return,
            r = client.agent_datacenter() => r,
        };
        match r {
            Ok(dc) => {
                errors.clear("agent");
                datacenter = dc;
            }
            Err(e) => {
                errors.set("agent", format!("Error retrieving datacenter name: {e}"));
                if !pause(&stop, timing.retry_interval).await {
                    return;
                }
            }
        }
    }
    let shared = Arc::new(Shared {
        client,
        cfg,
        datacenter,
        timing,
        errors,
    });
    let c = &shared.cfg;
    if c.services.is_empty() || !c.tags.is_empty() || !c.filter.is_empty() {
        watch_catalog(shared, stop).await;
    } else {
        for name in shared.cfg.services.clone() {
            tokio::spawn(watch_service(shared.clone(), name, stop.child_token()));
        }
        stop.cancelled().await;
    }
}

/// Whether a service of the catalog is to be watched: named in `services` (or any when
/// that is empty) and carrying every tag of `tags`.
fn should_watch(cfg: &ConsulSdConfig, name: &str, tags: &[String]) -> bool {
    (cfg.services.is_empty() || cfg.services.iter().any(|s| s == name))
        && cfg.tags.iter().all(|t| tags.contains(t))
}

/// The next index to ask with: the answer's, unless it went backwards (then from scratch,
/// as Consul's documentation says); 0 is taken as 1.
fn next_index(last: u64, got: u64) -> u64 {
    if got < last {
        0
    } else {
        got.max(1)
    }
}

/// Watches the catalog's service list and starts and stops the service watches.
async fn watch_catalog(shared: Arc<Shared>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(shared.cfg.refresh_interval.as_std());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut watched: HashMap<String, CancellationToken> = HashMap::new();
    let mut last_index = 0u64;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let r = tokio::select! {
            _ = stop.cancelled() => return,
            r = shared.client.services(last_index) => r,
        };
        let a = match r {
            Ok(a) => a,
            Err(e) => {
                shared
                    .errors
                    .set("catalog", format!("Error refreshing service list: {e}"));
                if !pause(&stop, shared.timing.retry_interval).await {
                    return;
                }
                continue;
            }
        };
        shared.errors.clear("catalog");
        if a.index == last_index {
            // The wait ended without a change.
            shared.errors.show();
            continue;
        }
        last_index = next_index(last_index, a.index);
        for (name, tags) in &a.body {
            if !should_watch(&shared.cfg, name, tags) || watched.contains_key(name) {
                continue;
            }
            let token = stop.child_token();
            watched.insert(name.clone(), token.clone());
            tokio::spawn(watch_service(shared.clone(), name.clone(), token));
        }
        let gone: Vec<String> = watched
            .keys()
            .filter(|n| !a.body.contains_key(*n))
            .cloned()
            .collect();
        let mut removed = Vec::new();
        for name in gone {
            if let Some(t) = watched.remove(&name) {
                t.cancel();
            }
            shared.errors.clear(&format!("service {name}"));
            removed.push(TargetGroup {
                source: name,
                targets: vec![],
                labels: Default::default(),
            });
        }
        // Removed services' groups go; with nothing watched, this still marks success.
        shared.errors.update(removed);
    }
}

/// Watches one service's instances until `stop`.
async fn watch_service(shared: Arc<Shared>, name: String, stop: CancellationToken) {
    let key = format!("service {name}");
    let mut tick = tokio::time::interval(shared.cfg.refresh_interval.as_std());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_index = 0u64;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let r = tokio::select! {
            _ = stop.cancelled() => return,
            r = shared.client.health_service(&name, &shared.cfg.tags, last_index) => r,
        };
        let a = match r {
            Ok(a) => a,
            Err(e) => {
                shared
                    .errors
                    .set(&key, format!("Error refreshing service {name:?}: {e}"));
                if !pause(&stop, shared.timing.retry_interval).await {
                    return;
                }
                continue;
            }
        };
        shared.errors.clear(&key);
        if a.index == last_index {
            shared.errors.show();
            continue;
        }
        last_index = next_index(last_index, a.index);
        if stop.is_cancelled() {
            return;
        }
        let g = group_of(
            &name,
            &shared.datacenter,
            &shared.cfg.tag_separator,
            &a.body,
        );
        shared.errors.update(vec![g]);
    }
}

#[cfg(test)]
mod tests;
