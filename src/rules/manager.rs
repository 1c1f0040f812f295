//! The rule manager: loads the groups of the config's `rule_files`, runs each group on its own
//! schedule in its own task (a slow group delays only itself; missed slots are skipped and
//! counted, without drift), restores alerts' `for` state after the second evaluation at
//! startup, hands alerts to the notifier, and applies config reloads the way Prometheus does:
//! unchanged groups keep running, changed ones take over the old state, removed ones get stale
//! markers.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::group::{alert_json, AlertState, EvalCtx, Group};
use super::notifier::{to_am, Notifier};
use crate::config::{Config, RuleFile};
use crate::promql::engine::Engine;
use crate::storage::{Appender, Querier};

/// Settings from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--rules.alert.for-outage-tolerance` (1h).
    pub outage_tolerance: Duration,
    /// `--rules.alert.for-grace-period` (10m).
    pub for_grace_period: Duration,
    /// `--rules.alert.resend-delay` (1m).
    pub resend_delay: Duration,
    /// `--web.external-url`, without a trailing slash.
    pub external_url: String,
    pub query_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            outage_tolerance: Duration::from_secs(3600),
            for_grace_period: Duration::from_secs(600),
            resend_delay: Duration::from_secs(60),
            external_url: "http://localhost:9090".into(),
            query_timeout: Duration::from_secs(120),
        }
    }
}

/// A running group.
struct Handle {
    group: Arc<Mutex<Group>>,
    /// The group's JSON as of its last evaluation (so the API never waits for one).
    json: Arc<RwLock<Value>>,
    stop: CancellationToken,
    /// The config the group was built with (interval and offset defaults included).
    key: (Group, Duration, Duration),
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Stats {
    pub evaluations: AtomicU64,
    pub failures: AtomicU64,
    pub missed_iterations: AtomicU64,
    /// Sum of group evaluation time, microseconds.
    pub eval_micros: AtomicU64,
    /// The same by group ("file;name"), with the last evaluation's time and duration.
    pub groups: Mutex<HashMap<String, GroupStats>>,
}

/// One rule group's counters (Prometheus's `prometheus_rule_group_*` by `rule_group`).
#[derive(Debug, Default, Clone)]
pub struct GroupStats {
    pub evaluations: u64,
    pub failures: u64,
    pub iterations: u64,
    pub missed_iterations: u64,
    /// Seconds the last evaluation took, and when it ran (Unix seconds).
    pub last_duration: f64,
    pub last_evaluation: f64,
}

/// A loaded group as `/metrics` reports it.
#[derive(Debug, Clone)]
pub struct GroupReport {
    /// "file;name", Prometheus's `rule_group` label.
    pub key: String,
    pub rules: usize,
    pub interval_seconds: f64,
    pub stats: GroupStats,
}

/// Prometheus's `rule_group` label value.
fn group_key(g: &Group) -> String {
    format!("{};{}", g.file, g.name)
}

struct Inner {
    querier: Arc<dyn Querier>,
    appender: Arc<dyn Appender>,
    engine: Engine,
    notifier: Option<Notifier>,
    opts: Options,
    external_labels: RwLock<BTreeMap<String, String>>,
    groups: Mutex<Vec<Handle>>,
    /// Set after the first load: groups loaded later start restored (Prometheus's
    /// `m.restored`).
    loaded_once: AtomicBool,
    stats: Stats,
    shutdown: CancellationToken,
}

/// The rule manager. Cheap to clone.
#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("rules::Manager")
    }
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Display form of a rule file path (`./x.yml` as `x.yml`, as Go's `filepath.Join` cleans it).
fn clean_path(p: &std::path::Path) -> String {
    let s = p.display().to_string();
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// The rule files of a config that failed to load or check: every error, each naming its file
/// (and line); shown joined by `; `.
#[derive(Debug, thiserror::Error)]
#[error("{}", .errors.join("; "))]
pub struct RuleLoadError {
    pub errors: Vec<String>,
}

/// Loads and checks every group of the config's rule files. Errors name the file (and line).
pub fn load_groups(cfg: &Config) -> Result<Vec<Group>, Vec<String>> {
    let interval = cfg.global.evaluation_interval.as_std();
    let offset = cfg.global.rule_query_offset.as_std();
    let mut groups = Vec::new();
    let mut errs = Vec::new();
    for path in cfg.rule_file_paths() {
        let file = clean_path(&path);
        match RuleFile::load(&path) {
            Err(es) => errs.extend(es.iter().map(|e| e.to_string())),
            Ok(rf) => {
                for g in &rf.groups {
                    match Group::new(&file, g, interval, offset) {
                        Ok(g) => groups.push(g),
                        Err(es) => errs.extend(es.into_iter().map(|e| format!("{file}: {e}"))),
                    }
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(groups)
    } else {
        Err(errs)
    }
}

impl Manager {
    pub fn new(
        querier: Arc<dyn Querier>,
        appender: Arc<dyn Appender>,
        engine: Engine,
        notifier: Option<Notifier>,
        opts: Options,
        shutdown: CancellationToken,
    ) -> Manager {
        Manager {
            inner: Arc::new(Inner {
                querier,
                appender,
                engine,
                notifier,
                opts,
                external_labels: RwLock::new(BTreeMap::new()),
                groups: Mutex::new(Vec::new()),
                loaded_once: AtomicBool::new(false),
                stats: Stats::default(),
                shutdown,
            }),
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// Applies a config: loads its rule files and starts, keeps, replaces or stops groups.
    /// On any error nothing changes. Must run inside a tokio runtime.
    pub fn apply_config(&self, cfg: &Config) -> Result<(), RuleLoadError> {
        let loaded = load_groups(cfg).map_err(|errors| RuleLoadError { errors })?;
        *self.inner.external_labels.write() = cfg.global.external_labels.clone();
        let interval = cfg.global.evaluation_interval.as_std();
        let offset = cfg.global.rule_query_offset.as_std();
        let first = !self.inner.loaded_once.swap(true, Ordering::SeqCst);
        let mut groups = self.inner.groups.lock();
        let mut old: HashMap<(String, String), Handle> = groups
            .drain(..)
            .map(|h| {
                let k = {
                    let g = &h.key.0;
                    (g.file.clone(), g.name.clone())
                };
                (k, h)
            })
            .collect();
        let mut next = Vec::with_capacity(loaded.len());
        for mut g in loaded {
            let key = (g.file.clone(), g.name.clone());
            if let Some(h) = old.remove(&key) {
                let same = h.key.0.source == g.source && h.key.1 == interval && h.key.2 == offset;
                if same {
                    next.push(h);
                    continue;
                }
                g.copy_state(&h.group.lock());
                h.stop.cancel();
            }
            if !first {
                for r in &mut g.rules {
                    if let Some(a) = &mut r.alerting {
                        a.restored = true;
                    }
                }
            }
            next.push(self.start(g, interval, offset, first));
        }
        // Groups that went away: stop, and mark what they wrote stale.
        for (_, h) in old {
            h.stop.cancel();
            let g = h.group.lock().clone();
            let appender = self.inner.appender.clone();
            tokio::task::spawn_blocking(move || {
                g.mark_stale(now_ns().div_euclid(1_000_000), appender.as_ref())
            });
        }
        next.sort_by(|a, b| {
            let (x, y) = (&a.key.0, &b.key.0);
            (&x.file, &x.name).cmp(&(&y.file, &y.name))
        });
        let n = next.len();
        *groups = next;
        info!(groups = n, "rules loaded");
        Ok(())
    }

    fn start(&self, g: Group, interval: Duration, offset: Duration, restore: bool) -> Handle {
        let json = Arc::new(RwLock::new(g.to_json()));
        let stop = self.inner.shutdown.child_token();
        let key = (g.clone(), interval, offset);
        let group = Arc::new(Mutex::new(g));
        let m = self.clone();
        let (gr, js, st) = (group.clone(), json.clone(), stop.clone());
        tokio::spawn(async move { m.run_group(gr, js, st, restore).await });
        Handle {
            group,
            json,
            stop,
            key,
        }
    }

    async fn run_group(
        self,
        group: Arc<Mutex<Group>>,
        json: Arc<RwLock<Value>>,
        stop: CancellationToken,
        mut restore: bool,
    ) {
        let (interval, first_ts) = {
            let g = group.lock();
            (
                g.interval_ns.max(1),
                g.eval_timestamp(now_ns()) + g.interval_ns.max(1),
            )
        };
        let mut ts = first_ts;
        let mut evals = 0u32;
        loop {
            let wait = (ts - now_ns()).max(0) as u64;
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_nanos(wait)) => {}
            }
            let m = self.clone();
            let (g2, j2) = (group.clone(), json.clone());
            let do_restore = restore && evals == 1;
            let done =
                tokio::task::spawn_blocking(move || m.eval_once(&g2, &j2, ts, do_restore)).await;
            if let Err(e) = done {
                warn!("rule group evaluation task failed: {e}");
            }
            evals += 1;
            if evals >= 2 {
                restore = false;
            }
            // The next slot; slots already past are skipped (and counted), never crowded in.
            let now = now_ns();
            let mut next = ts + interval;
            if now > next + interval {
                let missed = (now - next) / interval;
                self.inner
                    .stats
                    .missed_iterations
                    .fetch_add(missed as u64, Ordering::Relaxed);
                let key = group_key(&group.lock());
                let mut per = self.inner.stats.groups.lock();
                per.entry(key).or_default().missed_iterations += missed as u64;
                next += missed * interval;
            }
            ts = next;
        }
    }

    /// One evaluation of a group at `ts` (ns), then notifications and the API snapshot.
    fn eval_once(&self, group: &Mutex<Group>, json: &RwLock<Value>, ts: i64, restore: bool) {
        let inner = &*self.inner;
        let ext = inner.external_labels.read().clone();
        let ctx = EvalCtx {
            querier: inner.querier.as_ref(),
            appender: inner.appender.as_ref(),
            engine: &inner.engine,
            external_labels: &ext,
            external_url: &inner.opts.external_url,
            resend_delay_ns: inner.opts.resend_delay.as_nanos() as i64,
            query_timeout: inner.opts.query_timeout,
        };
        let mut g = group.lock();
        let notes = g.eval(ts, &ctx);
        if restore {
            g.restore_for_state(
                now_ns(),
                inner.querier.as_ref(),
                inner.opts.for_grace_period.as_nanos() as i64,
                inner.opts.outage_tolerance.as_nanos() as i64,
            );
        }
        let failures = g
            .rules
            .iter()
            .filter(|r| r.health == super::group::Health::Bad)
            .count();
        inner
            .stats
            .evaluations
            .fetch_add(g.rules.len() as u64, Ordering::Relaxed);
        inner
            .stats
            .failures
            .fetch_add(failures as u64, Ordering::Relaxed);
        inner
            .stats
            .eval_micros
            .fetch_add((g.eval_seconds * 1e6) as u64, Ordering::Relaxed);
        {
            let mut per = inner.stats.groups.lock();
            let e = per.entry(group_key(&g)).or_default();
            e.evaluations += g.rules.len() as u64;
            e.failures += failures as u64;
            e.iterations += 1;
            e.last_duration = g.eval_seconds;
            e.last_evaluation = ts as f64 / 1e9;
        }
        *json.write() = g.to_json();
        drop(g);
        if let Some(n) = &inner.notifier {
            for (expr, alerts) in notes {
                n.send(to_am(&expr, &alerts, &inner.opts.external_url));
            }
        }
    }

    /// `/api/v1/rules` data: groups in file and name order, filtered as the API asks.
    pub fn rules_json(&self, f: &RuleFilter) -> Value {
        let groups = self.inner.groups.lock();
        let mut out = Vec::new();
        for h in groups.iter() {
            let mut g = h.json.read().clone();
            let name = g["name"].as_str().unwrap_or("").to_string();
            let file = g["file"].as_str().unwrap_or("").to_string();
            if !f.groups.is_empty() && !f.groups.contains(&name) {
                continue;
            }
            if !f.files.is_empty() && !f.files.contains(&file) {
                continue;
            }
            let rules: Vec<Value> = g["rules"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|r| {
                    let t = r["type"].as_str().unwrap_or("");
                    let n = r["name"].as_str().unwrap_or("");
                    let label = |name: &str| r["labels"][name].as_str().unwrap_or("").to_string();
                    (f.kind.is_none() || f.kind.as_deref() == Some(t))
                        && (f.names.is_empty() || f.names.iter().any(|x| x == n))
                        && (f.matchers.is_empty()
                            || f.matchers
                                .iter()
                                .any(|set| set.iter().all(|m| m.matches(&label(&m.name)))))
                })
                .map(|mut r| {
                    if f.exclude_alerts {
                        if let Some(o) = r.as_object_mut() {
                            o.remove("alerts");
                        }
                    }
                    r
                })
                .collect();
            if (f.kind.is_some() || !f.names.is_empty() || !f.matchers.is_empty())
                && rules.is_empty()
            {
                continue;
            }
            g["rules"] = Value::Array(rules);
            out.push(g);
        }
        json!({ "groups": out })
    }

    /// `/api/v1/alerts` data: every pending and firing alert.
    pub fn alerts_json(&self) -> Value {
        let groups: Vec<Arc<Mutex<Group>>> = self
            .inner
            .groups
            .lock()
            .iter()
            .map(|h| h.group.clone())
            .collect();
        let mut alerts = Vec::new();
        for g in groups {
            let g = g.lock();
            for r in &g.rules {
                let Some(a) = &r.alerting else { continue };
                let mut list: Vec<_> = a
                    .active
                    .values()
                    .filter(|x| x.state != AlertState::Inactive)
                    .collect();
                list.sort_by(|x, y| x.labels.cmp(&y.labels));
                alerts.extend(list.into_iter().map(alert_json));
            }
        }
        json!({ "alerts": alerts })
    }

    /// Number of groups and rules loaded.
    pub fn counts(&self) -> (usize, usize) {
        let groups = self.inner.groups.lock();
        let rules = groups.iter().map(|h| h.key.0.rules.len()).sum();
        (groups.len(), rules)
    }

    /// Every loaded group with its counters, in file and name order.
    pub fn group_reports(&self) -> Vec<GroupReport> {
        let groups = self.inner.groups.lock();
        let per = self.inner.stats.groups.lock();
        groups
            .iter()
            .map(|h| {
                let g = &h.key.0;
                let key = group_key(g);
                GroupReport {
                    stats: per.get(&key).cloned().unwrap_or_default(),
                    key,
                    rules: g.rules.len(),
                    interval_seconds: g.interval_ns as f64 / 1e9,
                }
            })
            .collect()
    }

    pub fn notifier(&self) -> Option<&Notifier> {
        self.inner.notifier.as_ref()
    }
}

/// Filters of `/api/v1/rules`.
#[derive(Debug, Default, Clone)]
pub struct RuleFilter {
    /// `type=alert|record` as the rule JSON's `alerting`/`recording`.
    pub kind: Option<String>,
    pub names: Vec<String>,
    pub groups: Vec<String>,
    pub files: Vec<String>,
    pub exclude_alerts: bool,
    /// `match[]`: keep rules whose configured labels satisfy any of these matcher sets.
    pub matchers: Vec<Vec<crate::model::Matcher>>,
}
