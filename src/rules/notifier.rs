//! Notifications to Alertmanager over its API v2 (`POST <path_prefix>/api/v2/alerts`), as
//! Prometheus's notifier sends them.
//!
//! Alerts from rule evaluations get the external labels (where they lack the label) and the
//! global `alert_relabel_configs`, then wait in a bounded queue (the oldest are dropped and
//! counted when it is full). A sender task posts them in batches of up to 256 to every
//! Alertmanager of every `alerting.alertmanagers` entry (after that entry's own
//! `alert_relabel_configs`), retrying a failed post with backoff within the entry's timeout.
//! Alertmanagers come from every discovery config of the entry (static, file, Kubernetes,
//! HTTP, Docker, DNS, Consul: each entry runs its own `discovery::Discoverers`, whose groups
//! are re-read when a discoverer reports or a file changes) through `relabel_configs`, with
//! `__scheme__` and `__alerts_path__` as in Prometheus. Discovery metrics carry
//! `name="notify"` and `config="config-<i>"`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::group::{labels_map, Alert};
use crate::config::{AlertmanagerConfig, Config, RelabelConfig};
use crate::scrape::client::{build_client, error_chain, with_auth, HttpClientError};
use crate::scrape::discovery::metrics::Consumer;
use crate::scrape::discovery::{self, Discoverers, TargetGroup};
use crate::scrape::relabel::{self, LabelMap};

/// The notifier's discovery metrics (`name="notify"`).
const NOTIFY: Consumer = Consumer("notify");

/// Alerts sent in one request at most.
pub const MAX_BATCH: usize = 256;

/// An alert as Alertmanager receives it. Times are Unix nanoseconds (0: unset).
#[derive(Debug, Clone, PartialEq)]
pub struct AmAlert {
    pub labels: LabelMap,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub generator_url: String,
}

/// Go's `url.QueryEscape` of an expression, as Prometheus builds generator URLs.
fn table_link(expr: &str) -> String {
    format!(
        "/graph?g0.expr={}&g0.tab=1",
        super::template::query_escape(expr)
    )
}

/// Turns evaluated alerts into what Alertmanager is sent (Prometheus's `sendAlerts`): starts
/// when it fired, ends when resolved or, while firing, at the validity deadline.
pub fn to_am(expr: &str, alerts: &[Alert], external_url: &str) -> Vec<AmAlert> {
    alerts
        .iter()
        .map(|a| AmAlert {
            labels: labels_map(&a.labels),
            annotations: a.annotations.clone(),
            starts_at: a.fired_at,
            ends_at: if a.resolved_at != 0 {
                a.resolved_at
            } else {
                a.valid_until
            },
            generator_url: format!("{external_url}{}", table_link(expr)),
        })
        .collect()
}

/// strfmt's `DateTime` JSON: RFC 3339 with milliseconds.
fn rfc3339_millis(ns: i64) -> String {
    let (date, time, _) = crate::model::time::utc_parts(ns);
    format!(
        "{date}T{time}.{:03}Z",
        ns.rem_euclid(1_000_000_000) / 1_000_000
    )
}

/// The JSON body of one post.
pub fn body(alerts: &[AmAlert]) -> Value {
    Value::Array(
        alerts
            .iter()
            .map(|a| {
                let mut v = json!({
                    "labels": a.labels,
                    "annotations": a.annotations,
                    "generatorURL": a.generator_url,
                });
                if a.starts_at != 0 {
                    v["startsAt"] = json!(rfc3339_millis(a.starts_at));
                }
                if a.ends_at != 0 {
                    v["endsAt"] = json!(rfc3339_millis(a.ends_at));
                }
                v
            })
            .collect(),
    )
}

/// What a file SD config's files looked like when last read.
type Fingerprint = Vec<(std::path::PathBuf, u64, Option<std::time::SystemTime>)>;

/// One `alerting.alertmanagers` entry: its client, discovery, relabeling and the URLs found.
struct AmSet {
    cfg: AlertmanagerConfig,
    client: reqwest::Client,
    /// The entry's running discoverers (stopped when the set is dropped).
    sd: Discoverers,
    urls: RwLock<Vec<String>>,
    dropped: RwLock<Vec<LabelMap>>,
    /// Targets discovered (before relabeling): `prometheus_sd_discovered_targets`.
    discovered: AtomicU64,
    /// When its discovery started.
    started: std::time::Instant,
    /// What was seen at the last read: file SD fingerprints and the discoverers' version.
    seen: Mutex<(Vec<Fingerprint>, Option<u64>)>,
}

/// How long queued alerts wait for an entry's discoverers to report first.
pub const FIRST_DISCOVERY_WAIT: Duration = Duration::from_secs(30);

impl AmSet {
    /// Whether every discoverer of the entry reported (targets or an error), or it waited
    /// long enough for them.
    fn discovered_once(&self) -> bool {
        self.started.elapsed() >= FIRST_DISCOVERY_WAIT || self.sd.waiting().is_empty()
    }
}

/// Per-Alertmanager counters (by URL).
#[derive(Debug, Default, Clone, Copy)]
pub struct AmStats {
    pub sent: u64,
    pub errors: u64,
}

#[derive(Default)]
struct Inner {
    queue: Mutex<VecDeque<AmAlert>>,
    capacity: usize,
    wake: tokio::sync::Notify,
    sets: RwLock<Vec<Arc<AmSet>>>,
    external_labels: RwLock<BTreeMap<String, String>>,
    relabel: RwLock<Vec<RelabelConfig>>,
    dropped: AtomicU64,
    stats: Mutex<HashMap<String, AmStats>>,
}

/// The notifier. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier")
    }
}

/// The URLs an entry's target groups give, and the label sets relabeling dropped.
fn resolve(cfg: &AlertmanagerConfig, groups: &[TargetGroup]) -> (Vec<String>, Vec<LabelMap>) {
    let scheme = match cfg.scheme {
        crate::config::Scheme::Http => "http",
        crate::config::Scheme::Https => "https",
    };
    let prefix = cfg.path_prefix.trim_matches('/');
    let path = if prefix.is_empty() {
        "/api/v2/alerts".to_string()
    } else {
        format!("/{prefix}/api/v2/alerts")
    };
    let mut urls = Vec::new();
    let mut dropped = Vec::new();
    for g in groups {
        for t in &g.targets {
            let mut l = t.clone();
            l.insert("__scheme__".into(), scheme.into());
            l.insert("__alerts_path__".into(), path.clone());
            for (k, v) in &g.labels {
                l.entry(k.clone()).or_insert_with(|| v.clone());
            }
            let before = l.clone();
            if !relabel::process(&cfg.relabel_configs, &mut l) {
                dropped.push(before);
                continue;
            }
            let get = |k: &str| l.get(k).cloned().unwrap_or_default();
            let addr = get("__address__");
            if addr.is_empty() || addr.contains('/') {
                warn!(address = %addr, "skipping an Alertmanager with an invalid address");
                continue;
            }
            urls.push(format!(
                "{}://{addr}{}",
                get("__scheme__"),
                get("__alerts_path__")
            ));
        }
    }
    urls.sort();
    urls.dedup();
    (urls, dropped)
}

/// Why an alerting config could not be applied (nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum NotifierConfigError {
    /// An `alertmanagers` entry's HTTP client could not be built.
    #[error(transparent)]
    HttpClient(#[from] HttpClientError),
}

impl Notifier {
    /// A notifier with a queue of `capacity` alerts (`--alertmanager.notification-queue-capacity`).
    pub fn new(capacity: usize) -> Notifier {
        Notifier {
            inner: Arc::new(Inner {
                capacity: capacity.max(1),
                ..Inner::default()
            }),
        }
    }

    /// Takes the external labels, alert relabeling and Alertmanagers from `cfg`. An entry
    /// whose config did not change keeps its discoverers and Alertmanagers; the others start
    /// their discovery anew (inside a tokio runtime; without one, only static and file SD).
    pub fn apply_config(&self, cfg: &Config) -> Result<(), NotifierConfigError> {
        let old = self.inner.sets.read().clone();
        let mut sets = Vec::new();
        for am in &cfg.alerting.alertmanagers {
            let same = format!("{am:?}");
            if let Some(s) = old.iter().find(|s| format!("{:?}", s.cfg) == same) {
                if !sets.iter().any(|k| Arc::ptr_eq(k, s)) {
                    sets.push(s.clone());
                    continue;
                }
            }
            let client = build_client(&am.http_client(), am.timeout.as_std(), true)?;
            let set = Arc::new(AmSet {
                cfg: am.clone(),
                client,
                sd: Discoverers::start(am.sd_configs(), CancellationToken::new()),
                urls: RwLock::new(Vec::new()),
                dropped: RwLock::new(Vec::new()),
                discovered: AtomicU64::new(0),
                started: std::time::Instant::now(),
                seen: Mutex::new((Vec::new(), None)),
            });
            refresh(&set, true);
            sets.push(set);
        }
        let failed: usize = sets.iter().map(|s| s.sd.failed_configs()).sum();
        NOTIFY.failed_configs(failed);
        *self.inner.sets.write() = sets;
        *self.inner.external_labels.write() = cfg.global.external_labels.clone();
        *self.inner.relabel.write() = cfg.alerting.alert_relabel_configs.clone();
        Ok(())
    }

    /// Queues alerts (external labels and alert relabeling applied); the oldest queued alerts
    /// make room when the queue is full.
    pub fn send(&self, alerts: Vec<AmAlert>) {
        if alerts.is_empty() {
            return;
        }
        let ext = self.inner.external_labels.read().clone();
        let rc = self.inner.relabel.read().clone();
        let mut q = self.inner.queue.lock();
        for mut a in alerts {
            for (k, v) in &ext {
                a.labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
            if !relabel::process(&rc, &mut a.labels) || a.labels.is_empty() {
                continue;
            }
            q.push_back(a);
        }
        let over = q.len().saturating_sub(self.inner.capacity);
        if over > 0 {
            q.drain(..over);
            self.inner.dropped.fetch_add(over as u64, Ordering::Relaxed);
            warn!(
                dropped = over,
                "Alert notification queue full, dropping alerts"
            );
        }
        drop(q);
        self.inner.wake.notify_one();
    }

    pub fn queue_len(&self) -> usize {
        self.inner.queue.lock().len()
    }

    pub fn queue_capacity(&self) -> usize {
        self.inner.capacity
    }

    /// Alerts dropped: pushed out of a full queue, or taken by no Alertmanager.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Sent and failed alerts by Alertmanager URL.
    pub fn stats(&self) -> Vec<(String, AmStats)> {
        let mut v: Vec<(String, AmStats)> = self
            .inner
            .stats
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// `/api/v1/alertmanagers`: active URLs and the dropped ones (as label sets).
    pub fn alertmanagers(&self) -> (Vec<String>, Vec<LabelMap>) {
        let mut active = Vec::new();
        let mut dropped = Vec::new();
        for s in self.inner.sets.read().iter() {
            active.extend(s.urls.read().iter().cloned());
            dropped.extend(s.dropped.read().iter().cloned());
        }
        (active, dropped)
    }

    /// Targets each `alertmanagers` entry discovered (before relabeling), in config order.
    pub fn discovered_per_config(&self) -> Vec<usize> {
        let sets = self.inner.sets.read();
        sets.iter()
            .map(|s| s.discovered.load(Ordering::Relaxed) as usize)
            .collect()
    }

    /// Sends queued alerts until `shutdown`, then once more to drain the queue. While an
    /// entry's discoverers have not reported yet (for at most [`FIRST_DISCOVERY_WAIT`]) alerts
    /// stay queued, so the first notifications are not lost to an empty Alertmanager list.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut sd = tokio::time::interval(Duration::from_secs(1));
        sd.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.inner.wake.notified() => {}
                _ = sd.tick() => {
                    for s in self.inner.sets.read().iter() {
                        refresh(s, false);
                    }
                }
            }
            let ready = self.inner.sets.read().iter().all(|s| s.discovered_once());
            if ready {
                self.drain().await;
            }
        }
        self.drain().await;
    }

    /// Posts everything queued, batch by batch.
    pub async fn drain(&self) {
        loop {
            let batch: Vec<AmAlert> = {
                let mut q = self.inner.queue.lock();
                let n = q.len().min(MAX_BATCH);
                q.drain(..n).collect()
            };
            if batch.is_empty() {
                return;
            }
            let sets = self.inner.sets.read().clone();
            if sets.is_empty() {
                continue;
            }
            let mut posts = Vec::new();
            for s in &sets {
                let alerts: Vec<AmAlert> = batch
                    .iter()
                    .filter_map(|a| {
                        let mut a = a.clone();
                        relabel::process(&s.cfg.alert_relabel_configs, &mut a.labels).then_some(a)
                    })
                    .collect();
                if alerts.is_empty() {
                    continue;
                }
                let payload = body(&alerts).to_string();
                for url in s.urls.read().iter() {
                    posts.push(post(s.clone(), url.clone(), payload.clone(), alerts.len()));
                }
            }
            let results = futures_join(posts).await;
            // As in Prometheus, alerts no Alertmanager took count as dropped.
            if !results.is_empty() && !results.iter().any(|r| r.2) {
                let n = batch.len() as u64;
                self.inner.dropped.fetch_add(n, Ordering::Relaxed);
            }
            for (url, n, ok) in results {
                let mut st = self.inner.stats.lock();
                let e = st.entry(url).or_default();
                if ok {
                    e.sent += n as u64;
                } else {
                    e.errors += n as u64;
                }
            }
        }
    }
}

/// Runs the posts concurrently.
async fn futures_join<F: std::future::Future<Output = (String, usize, bool)> + Send + 'static>(
    posts: Vec<F>,
) -> Vec<(String, usize, bool)> {
    let handles: Vec<_> = posts.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(r) = h.await {
            out.push(r);
        }
    }
    out
}

/// One post with retries (backoff 100ms, 200ms, ...) while the entry's timeout allows.
async fn post(set: Arc<AmSet>, url: String, payload: String, n: usize) -> (String, usize, bool) {
    let deadline = tokio::time::Instant::now() + set.cfg.timeout.as_std();
    let mut backoff = Duration::from_millis(100);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let req = set
            .client
            .post(&url)
            .header("Content-Type", "application/json")
            .header(
                "User-Agent",
                concat!("promterm/", env!("CARGO_PKG_VERSION")),
            )
            .body(payload.clone());
        let err = match with_auth(req, &set.cfg.http_client()) {
            Err(e) => e.to_string(),
            Ok(req) => match req.send().await {
                Ok(r) if r.status().is_success() => {
                    debug!(%url, alerts = n, "sent alerts");
                    return (url, n, true);
                }
                Ok(r) => format!("bad response status {}", r.status()),
                Err(e) => error_chain(&e),
            },
        };
        if tokio::time::Instant::now() + backoff >= deadline {
            warn!(alertmanager = %url, attempts = attempt, "Error sending alerts: {err}");
            return (url, n, false);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Re-reads an entry's targets when a discoverer reported or a file SD file changed (or
/// always when `force`), and resolves its Alertmanager URLs anew.
fn refresh(set: &AmSet, force: bool) {
    let cfgs = set.cfg.sd_configs();
    let fps: Vec<_> = cfgs
        .file_sd_configs
        .iter()
        .map(discovery::fingerprint)
        .collect();
    let version = set.sd.version();
    let previous = {
        let mut seen = set.seen.lock();
        if !force && seen.0 == fps && seen.1 == Some(version) {
            return;
        }
        let previous = seen.1;
        *seen = (fps, Some(version));
        previous
    };
    if let Some(p) = previous {
        NOTIFY.received_updates(version.wrapping_sub(p));
    }
    let (groups, errors) = discovery::gather(cfgs, &set.sd);
    for (_, e) in errors {
        warn!("Alertmanager discovery: {e}");
    }
    let groups: Vec<TargetGroup> = groups.into_values().collect();
    let discovered: usize = groups.iter().map(|g| g.targets.len()).sum();
    set.discovered.store(discovered as u64, Ordering::Relaxed);
    let (urls, dropped) = resolve(&set.cfg, &groups);
    if *set.urls.read() != urls || *set.dropped.read() != dropped {
        NOTIFY.updated();
    }
    *set.urls.write() = urls;
    *set.dropped.write() = dropped;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn cfg(text: &str) -> Config {
        Config::parse(text, std::path::Path::new("p.yml")).unwrap()
    }

    #[test]
    fn alertmanager_urls_follow_scheme_prefix_and_relabeling() {
        let c = cfg("alerting:\n  alertmanagers:\n  - path_prefix: /am/\n    scheme: https\n    static_configs:\n    - targets: ['a:9093', 'b:9093', 'drop:1']\n    relabel_configs:\n    - source_labels: [__address__]\n      regex: drop.*\n      action: drop\n");
        let am = &c.alerting.alertmanagers[0];
        let (urls, dropped) = resolve(am, &discovery::static_groups(&am.static_configs));
        assert_eq!(
            urls,
            [
                "https://a:9093/am/api/v2/alerts",
                "https://b:9093/am/api/v2/alerts"
            ]
        );
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0]["__address__"], "drop:1");
    }

    #[test]
    fn queue_adds_external_labels_relabels_and_drops_the_oldest() {
        let n = Notifier::new(3);
        n.apply_config(&cfg("global:\n  external_labels: {cluster: eu, severity: none}\nalerting:\n  alert_relabel_configs:\n  - source_labels: [alertname]\n    regex: Ignored\n    action: drop\n")).unwrap();
        let alert = |name: &str, sev: &str| AmAlert {
            labels: [
                ("alertname".to_string(), name.to_string()),
                ("severity".to_string(), sev.to_string()),
            ]
            .into(),
            annotations: BTreeMap::new(),
            starts_at: 1,
            ends_at: 2,
            generator_url: String::new(),
        };
        n.send(vec![
            alert("A", "page"),
            alert("Ignored", "x"),
            alert("B", "page"),
        ]);
        assert_eq!(n.queue_len(), 2);
        let q: Vec<LabelMap> = n
            .inner
            .queue
            .lock()
            .iter()
            .map(|a| a.labels.clone())
            .collect();
        assert_eq!(q[0]["cluster"], "eu");
        assert_eq!(q[0]["severity"], "page", "an alert's own label wins");
        n.send(vec![alert("C", "p"), alert("D", "p")]);
        assert_eq!((n.queue_len(), n.dropped()), (3, 1));
        assert_eq!(n.inner.queue.lock()[0].labels["alertname"], "B");
    }

    #[test]
    fn body_is_alertmanager_v2_json() {
        let a = AmAlert {
            labels: [("alertname".to_string(), "X".to_string())].into(),
            annotations: [("summary".to_string(), "s".to_string())].into(),
            starts_at: 1_700_000_000_151_810_036,
            ends_at: 1_700_000_060_000_000_000,
            generator_url: "http://h:9090/graph?g0.expr=up&g0.tab=1".into(),
        };
        assert_eq!(
            body(&[a]),
            json!([{
                "labels": {"alertname": "X"},
                "annotations": {"summary": "s"},
                "startsAt": "2023-11-14T22:13:20.151Z",
                "endsAt": "2023-11-14T22:14:20.000Z",
                "generatorURL": "http://h:9090/graph?g0.expr=up&g0.tab=1",
            }])
        );
        assert_eq!(table_link("up == 0"), "/graph?g0.expr=up+%3D%3D+0&g0.tab=1");
    }
}
