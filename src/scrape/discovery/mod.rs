//! Service discovery: where a scrape pool's targets come from. `static_configs` and
//! `file_sd_configs` are read by the pool itself (`file`); every other mechanism runs as its
//! own task and reports what it found to a [`Sink`]: a whole list at each refresh
//! (`refresh::run`, for the mechanisms that poll) or changed groups one by one (for those that
//! watch). A pool's [`Discoverers`] hold its sinks; the scrape manager looks at their version
//! every second and, when it moved, re-reads the groups and syncs its targets. A failed
//! refresh keeps the last good groups and records the error, as Prometheus does.
//!
//! Counters and summaries of discovery (`prometheus_sd_*`) go to the process-wide [`metrics`]
//! registry, which `/metrics` renders. Uses `config`, the scrape HTTP client, tokio.

pub mod consul;
pub mod dns;
pub mod docker;
pub mod docker_api;
pub mod file;
pub mod http;
pub mod kubernetes;
pub mod labels;
pub mod metrics;
pub mod refresh;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

pub use super::relabel::LabelMap;
use crate::config::{SdConfigs, StaticConfig};
pub use file::{fingerprint, parse_sd_file, read_file_sd, sd_files, FileSdError};

/// A group of targets sharing labels, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    /// Unique within one discoverer: a later group with the same source replaces it.
    pub source: String,
    /// Each target's own labels (at least `__address__`).
    pub targets: Vec<LabelMap>,
    pub labels: LabelMap,
}

/// A target's labels holding only its address.
pub(crate) fn address(a: &str) -> LabelMap {
    let mut l = LabelMap::new();
    l.insert("__address__".into(), a.to_string());
    l
}

/// The groups of a job's `static_configs`.
pub fn static_groups(cfgs: &[StaticConfig]) -> Vec<TargetGroup> {
    cfgs.iter()
        .enumerate()
        .map(|(i, c)| TargetGroup {
            source: i.to_string(),
            targets: c.targets.iter().map(|t| address(t)).collect(),
            labels: c.labels.clone(),
        })
        .collect()
}

/// Everything the discovery of a job or an Alertmanager set (`cfgs`) found now: its static
/// groups (`static/<i>`), its file SD files read now (`file/<i>/<source>`), and what its
/// running discoverers reported (`<name>/<source>`); with the file SD errors
/// (`("file/<i>", error)`).
pub fn gather(
    cfgs: SdConfigs<'_>,
    sd: &Discoverers,
) -> (BTreeMap<String, TargetGroup>, Vec<(String, String)>) {
    let mut groups = BTreeMap::new();
    let mut errors = Vec::new();
    for g in static_groups(cfgs.static_configs) {
        groups.insert(format!("static/{}", g.source), g);
    }
    for (i, c) in cfgs.file_sd_configs.iter().enumerate() {
        let (gs, errs) = read_file_sd(c);
        errors.extend(
            errs.into_iter()
                .map(|e| (format!("file/{i}"), e.to_string())),
        );
        for g in gs {
            groups.insert(format!("file/{i}/{}", g.source), g);
        }
    }
    groups.extend(sd.groups());
    (groups, errors)
}

/// What one discoverer found last.
#[derive(Debug, Default)]
struct Found {
    groups: BTreeMap<String, TargetGroup>,
    /// The last refresh's error; cleared by the next good one.
    error: Option<String>,
    /// Whether the discoverer reported at all (groups or an error).
    reported: bool,
}

/// Where one discoverer reports. Cloning shares it; every change moves the version of the
/// [`Discoverers`] it belongs to, so the pool notices.
#[derive(Debug, Clone)]
pub struct Sink {
    found: Arc<Mutex<Found>>,
    version: Arc<AtomicU64>,
}

impl Sink {
    /// A sink of its own (tests, `promterm check service-discovery`).
    pub fn new() -> Sink {
        Sink {
            found: Arc::default(),
            version: Arc::default(),
        }
    }

    fn bump(&self) {
        self.version.fetch_add(1, Ordering::Release);
    }

    /// A full refresh: these groups replace everything found before, and the error is cleared.
    pub fn replace(&self, groups: Vec<TargetGroup>) {
        let mut f = self.found.lock();
        f.groups = groups.into_iter().map(|g| (g.source.clone(), g)).collect();
        f.error = None;
        f.reported = true;
        drop(f);
        self.bump();
    }

    /// A partial update (watching mechanisms): each group replaces the one with its source; a
    /// group without targets removes it.
    pub fn update(&self, groups: Vec<TargetGroup>) {
        let mut f = self.found.lock();
        for g in groups {
            if g.targets.is_empty() {
                f.groups.remove(&g.source);
            } else {
                f.groups.insert(g.source.clone(), g);
            }
        }
        f.error = None;
        f.reported = true;
        drop(f);
        self.bump();
    }

    /// A failed refresh: the groups found before stay, the error is shown on the pool.
    pub fn fail(&self, error: impl Into<String>) {
        let mut f = self.found.lock();
        f.error = Some(error.into());
        f.reported = true;
        drop(f);
        self.bump();
    }

    /// The groups found, by source.
    pub fn groups(&self) -> Vec<TargetGroup> {
        self.found.lock().groups.values().cloned().collect()
    }

    /// The last refresh's error, if it failed.
    pub fn error(&self) -> Option<String> {
        self.found.lock().error.clone()
    }

    /// Whether the discoverer reported anything yet (a list, an update or an error).
    pub fn reported(&self) -> bool {
        self.found.lock().reported
    }

    /// How many changes were reported so far (shared by the sinks of one [`Discoverers`]).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }
}

impl Default for Sink {
    fn default() -> Self {
        Sink::new()
    }
}

/// The running discoverers of one scrape pool or Alertmanager set: stopped when dropped.
#[derive(Debug)]
pub struct Discoverers {
    /// Each discoverer's name (`"docker/0"`: mechanism and index in the job) and sink.
    list: Vec<(String, Sink)>,
    /// Discoverers that could not start (`prometheus_sd_failed_configs`), with the reason.
    failed: Vec<(String, String)>,
    version: Arc<AtomicU64>,
    stop: CancellationToken,
}

impl Discoverers {
    /// Starts a task for each discovery config in `cfgs` (a job's or an Alertmanager set's)
    /// other than static and file ones (those [`gather`] reads). Without a tokio runtime the
    /// sinks show why nothing is discovered.
    pub fn start(cfgs: SdConfigs<'_>, stop: CancellationToken) -> Discoverers {
        let version: Arc<AtomicU64> = Arc::default();
        let list = Vec::new();
        let mut d = Discoverers {
            list,
            failed: Vec::new(),
            version,
            stop,
        };
        // Each mechanism adds its configs here: a named sink and a task reporting to it.
        let rt = tokio::runtime::Handle::try_current().ok();
        for (i, c) in cfgs.kubernetes_sd_configs.iter().enumerate() {
            d.spawn(&rt, format!("kubernetes/{i}"), |s, t| {
                kubernetes::run(c.clone(), s, t)
            });
        }
        for (i, c) in cfgs.http_sd_configs.iter().enumerate() {
            d.spawn(&rt, format!("http/{i}"), |s, t| http::run(c.clone(), s, t));
        }
        for (i, c) in cfgs.docker_sd_configs.iter().enumerate() {
            d.spawn(&rt, format!("docker/{i}"), |s, t| {
                docker::run(c.clone(), s, t)
            });
        }
        for (i, c) in cfgs.dns_sd_configs.iter().enumerate() {
            d.spawn(&rt, format!("dns/{i}"), |s, t| dns::run(c.clone(), s, t));
        }
        for (i, c) in cfgs.consul_sd_configs.iter().enumerate() {
            d.spawn(&rt, format!("consul/{i}"), |s, t| {
                consul::run(c.clone(), s, t)
            });
        }
        d
    }

    /// Starts the discoverer `name` on the runtime `rt` with a new sink; without a runtime
    /// (a caller outside the server) the sink shows why nothing is discovered.
    fn spawn<F>(
        &mut self,
        rt: &Option<tokio::runtime::Handle>,
        name: String,
        task: impl FnOnce(Sink, CancellationToken) -> F,
    ) where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let sink = self.sink(name);
        match rt {
            Some(rt) => {
                rt.spawn(task(sink, self.stop.child_token()));
            }
            None => sink.fail("service discovery needs a running server (no async runtime)"),
        }
    }

    /// A new sink for the discoverer `name`, counted in this set's version.
    fn sink(&mut self, name: String) -> Sink {
        let s = Sink {
            found: Arc::default(),
            version: self.version.clone(),
        };
        self.list.push((name, s.clone()));
        s
    }

    /// Records a discoverer that could not start (its config cannot work here: a missing
    /// in-cluster token, say); it counts in `prometheus_sd_failed_configs` and shows as an
    /// error of the pool.
    #[allow(dead_code)]
    fn failed_config(&mut self, name: String, error: String) {
        tracing::error!(discoverer = %name, "cannot start service discovery: {error}");
        self.failed.push((name, error));
    }

    /// How many discoverers could not start.
    pub fn failed_configs(&self) -> usize {
        self.failed.len()
    }

    /// Moves whenever any discoverer reports.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Every group found, keyed `name/source`.
    pub fn groups(&self) -> Vec<(String, TargetGroup)> {
        let mut out = Vec::new();
        for (name, s) in &self.list {
            for g in s.groups() {
                out.push((format!("{name}/{}", g.source), g));
            }
        }
        out
    }

    /// The discoverers whose last refresh failed, with the error.
    pub fn errors(&self) -> Vec<(String, String)> {
        let mut out = self.failed.clone();
        out.extend(
            self.list
                .iter()
                .filter_map(|(n, s)| s.error().map(|e| (n.clone(), e))),
        );
        out
    }

    /// The discoverers that have not reported yet (`promterm check service-discovery` waits
    /// for them).
    pub fn waiting(&self) -> Vec<String> {
        self.list
            .iter()
            .filter(|(_, s)| !s.reported())
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The discoverers' names (`"docker/0"`).
    pub fn names(&self) -> Vec<String> {
        self.list.iter().map(|(n, _)| n.clone()).collect()
    }

    /// How many discoverers run.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl Drop for Discoverers {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(source: &str, addrs: &[&str]) -> TargetGroup {
        TargetGroup {
            source: source.into(),
            targets: addrs.iter().map(|a| address(a)).collect(),
            labels: LabelMap::new(),
        }
    }

    #[test]
    fn sink_replace_update_and_fail() {
        let s = Sink::new();
        let v0 = s.version();
        assert!(!s.reported());
        s.replace(vec![group("a", &["x:1"]), group("b", &["y:1"])]);
        assert_eq!(s.groups().len(), 2);
        assert!(s.version() > v0);
        assert!(s.reported());
        s.update(vec![group("a", &[]), group("c", &["z:1"])]);
        let names: Vec<String> = s.groups().into_iter().map(|g| g.source).collect();
        assert_eq!(names, ["b", "c"]);
        s.fail("connection refused");
        assert_eq!(s.error().as_deref(), Some("connection refused"));
        assert_eq!(s.groups().len(), 2, "a failure keeps the last good groups");
        s.replace(vec![]);
        assert_eq!(s.error(), None);
        assert!(s.groups().is_empty());
    }

    #[test]
    fn waiting_names_and_gather() {
        let cfg = crate::config::Config::parse(
            "scrape_configs:\n- job_name: j\n  static_configs: [{targets: ['a:1']}]\n",
            std::path::Path::new("t.yml"),
        )
        .unwrap();
        let job = cfg.jobs().next().unwrap();
        let mut d = Discoverers::start(job.sd_configs(), CancellationToken::new());
        let a = d.sink("a/0".into());
        let b = d.sink("b/0".into());
        assert_eq!(d.names(), ["a/0", "b/0"]);
        assert_eq!(d.waiting(), ["a/0", "b/0"]);
        a.replace(vec![group("s", &["x:1"])]);
        assert_eq!(d.waiting(), ["b/0"]);
        b.fail("boom");
        assert!(d.waiting().is_empty(), "a failure is a report too");
        let (groups, errors) = gather(job.sd_configs(), &d);
        let keys: Vec<&String> = groups.keys().collect();
        assert_eq!(keys, ["a/0/s", "static/0"]);
        assert!(errors.is_empty());
        assert_eq!(d.errors(), [("b/0".to_string(), "boom".to_string())]);
    }
}
