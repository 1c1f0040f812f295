//! `kubernetes_sd_configs`: targets from the Kubernetes API, as Prometheus's
//! discovery/kubernetes finds them. Each config runs one informer (list then watch) per kind
//! and namespace it needs (`informer`), which feed one loop here that keeps the objects
//! (`store`), works out which groups a change touches and reports them to the sink with
//! [`Sink::update`], one group per object (`pod/<ns>/<name>`, `svc/…`, `endpoints/…`,
//! `endpointslice/…`, `ingress/…`, `node/<name>`; a deleted object's group has no targets).
//! Nothing is reported before every informer has listed once. A failing informer shows its
//! error on the pool and keeps the last good targets.
//!
//! Counts `prometheus_sd_kubernetes_events_total{role,event}`,
//! `prometheus_sd_kubernetes_failures_total` and
//! `prometheus_sd_kubernetes_http_request_total{status_code}`. Uses the config, the scrape
//! HTTP client, the discovery sink and metrics, tokio.

mod client;
mod endpoints;
mod informer;
mod objects;
mod store;
mod targets;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use client::SERVICE_ACCOUNT_DIR;
pub use informer::Timing;

use super::metrics::sd_metrics;
use super::Sink;
use crate::config::KubernetesSdConfig;
use client::Api;
use informer::{Change, Informer, Msg};
use objects::Kind;
use store::Store;

const EVENTS: &str = "prometheus_sd_kubernetes_events_total";
const EVENTS_HELP: &str = "The number of Kubernetes events handled.";
const FAILURES: &str = "prometheus_sd_kubernetes_failures_total";
const FAILURES_HELP: &str = "The number of failed WATCH/LIST requests.";

/// Settings tests change: where in-cluster credentials are, and the informers' timings.
#[derive(Debug, Clone)]
pub struct Options {
    pub service_account_dir: PathBuf,
    pub timing: Timing,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            service_account_dir: PathBuf::from(SERVICE_ACCOUNT_DIR),
            timing: Timing::default(),
        }
    }
}

/// Declares the event counters at zero, as Prometheus does at start.
fn declare_metrics() {
    let m = sd_metrics();
    for role in [
        "endpointslice",
        "endpoints",
        "node",
        "pod",
        "service",
        "ingress",
    ] {
        for event in ["add", "delete", "update"] {
            m.declare(
                EVENTS,
                EVENTS_HELP,
                vec![("role", role.to_string()), ("event", event.to_string())],
            );
        }
    }
    m.declare(FAILURES, FAILURES_HELP, vec![]);
}

fn count_events(kind: Kind, event: &str, n: usize) {
    if let (Some(role), true) = (kind.event_role(), n > 0) {
        sd_metrics().inc(
            EVENTS,
            EVENTS_HELP,
            vec![("role", role.to_string()), ("event", event.to_string())],
            n as f64,
        );
    }
}

/// Runs one `kubernetes_sd_configs` entry until `stop`.
pub async fn run(cfg: KubernetesSdConfig, sink: Sink, stop: CancellationToken) {
    run_with(cfg, sink, stop, Options::default()).await
}

/// [`run`] with settings of its own.
pub async fn run_with(cfg: KubernetesSdConfig, sink: Sink, stop: CancellationToken, opts: Options) {
    declare_metrics();
    let mut backoff = opts.timing.backoff_min;
    let api = loop {
        match Api::new(&cfg, &opts.service_account_dir) {
            Ok(api) => break api,
            Err(e) => {
                tracing::warn!("Kubernetes discovery: {e}");
                sink.fail(e);
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(opts.timing.backoff_max);
            }
        }
    };
    let mut namespaces = cfg.namespaces.names.clone();
    if cfg.namespaces.own_namespace {
        if let Some(own) = &api.own_namespace {
            namespaces.push(own.clone());
        }
    }
    if namespaces.is_empty() {
        namespaces.push(String::new());
    }
    let mut store = Store::new(
        cfg.role(),
        cfg.attach_metadata.node,
        cfg.attach_metadata.namespace,
    );
    let (tx, mut rx) = mpsc::channel::<Msg>(4096);
    let mut waiting: HashSet<usize> = HashSet::new();
    let mut id = 0;
    for kind in store.kinds() {
        let scopes: Vec<String> = if kind.namespaced() {
            namespaces.clone()
        } else {
            vec![String::new()]
        };
        let sel = Store::selector_role(kind).and_then(|r| cfg.selector(r));
        for ns in scopes {
            let inf = Informer {
                api: api.clone(),
                id,
                kind,
                ns,
                label_selector: sel.map(|s| s.label.clone()).unwrap_or_default(),
                field_selector: sel.map(|s| s.field.clone()).unwrap_or_default(),
                tx: tx.clone(),
                timing: opts.timing.clone(),
            };
            waiting.insert(id);
            tokio::spawn(inf.run(stop.child_token()));
            id += 1;
        }
    }
    drop(tx);
    let mut errors: BTreeMap<usize, String> = BTreeMap::new();
    let mut dirty: HashSet<String> = HashSet::new();
    loop {
        let first = tokio::select! {
            _ = stop.cancelled() => return,
            m = rx.recv() => match m {
                Some(m) => m,
                None => return,
            },
        };
        let errors_before = errors.clone();
        let mut msg = Some(first);
        let mut handled = 0;
        while let Some(m) = msg.take() {
            handle(m, &mut store, &mut dirty, &mut waiting, &mut errors);
            handled += 1;
            if handled < 2000 {
                msg = rx.try_recv().ok();
            }
        }
        let synced = waiting.is_empty();
        if synced && !dirty.is_empty() {
            let groups = dirty.drain().map(|k| store.build(&k)).collect();
            sink.update(groups);
            if !errors.is_empty() {
                sink.fail(error_text(&errors));
            }
        } else if errors != errors_before {
            if errors.is_empty() {
                // Healthy again: an empty update clears the pool's error.
                sink.update(Vec::new());
            } else {
                sink.fail(error_text(&errors));
            }
        }
    }
}

fn error_text(errors: &BTreeMap<usize, String>) -> String {
    errors.values().cloned().collect::<Vec<_>>().join("; ")
}

fn handle(
    m: Msg,
    store: &mut Store,
    dirty: &mut HashSet<String>,
    waiting: &mut HashSet<usize>,
    errors: &mut BTreeMap<usize, String>,
) {
    match m {
        Msg::Listed { kind, ns, objs, id } => {
            let c = store.replace(kind, &ns, objs, dirty);
            count_events(kind, "add", c.added);
            count_events(kind, "update", c.updated);
            count_events(kind, "delete", c.deleted);
            if waiting.remove(&id) && waiting.is_empty() {
                // Everything listed: report every group once.
                dirty.extend(store.keys());
            }
        }
        Msg::Changed { kind, change, obj } => {
            let event = match change {
                Change::Added => "add",
                Change::Modified => "update",
                Change::Deleted => "delete",
            };
            count_events(kind, event, 1);
            store.apply(change == Change::Deleted, *obj, dirty);
        }
        Msg::Failed { id, error } => {
            sd_metrics().inc(FAILURES, FAILURES_HELP, vec![], 1.0);
            errors.insert(id, error);
        }
        Msg::Healthy { id } => {
            errors.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests;
