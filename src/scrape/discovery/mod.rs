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
pub mod file;
pub mod metrics;
pub mod refresh;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

pub use super::relabel::LabelMap;
use crate::config::{ScrapeConfig, StaticConfig};
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

/// What one discoverer found last.
#[derive(Debug, Default)]
struct Found {
    groups: BTreeMap<String, TargetGroup>,
    /// The last refresh's error; cleared by the next good one.
    error: Option<String>,
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
        drop(f);
        self.bump();
    }

    /// A failed refresh: the groups found before stay, the error is shown on the pool.
    pub fn fail(&self, error: impl Into<String>) {
        self.found.lock().error = Some(error.into());
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

/// The running discoverers of one scrape pool: stopped when dropped.
#[derive(Debug)]
pub struct Discoverers {
    /// Each discoverer's name (`"docker/0"`: mechanism and index in the job) and sink.
    list: Vec<(String, Sink)>,
    version: Arc<AtomicU64>,
    stop: CancellationToken,
}

impl Discoverers {
    /// Starts a task for each discovery config of `job` other than static and file ones
    /// (those the pool reads itself). Must run inside a tokio runtime when there is any.
    pub fn start(job: &ScrapeConfig, stop: CancellationToken) -> Discoverers {
        let version: Arc<AtomicU64> = Arc::default();
        let list = Vec::new();
        let mut d = Discoverers {
            list,
            version,
            stop,
        };
        // Each mechanism adds its configs here: a sink from `d.sink(name)` and a task.
        for (i, c) in job.dns_sd_configs.iter().enumerate() {
            let sink = d.sink(format!("dns/{i}"));
            tokio::spawn(dns::run(c.clone(), sink, d.stop.child_token()));
        }
        for (i, c) in job.consul_sd_configs.iter().enumerate() {
            let sink = d.sink(format!("consul/{i}"));
            tokio::spawn(consul::run(c.clone(), sink, d.stop.child_token()));
        }
        d
    }

    /// A new sink for the discoverer `name`, counted in this set's version.
    #[allow(dead_code)]
    fn sink(&mut self, name: String) -> Sink {
        let s = Sink {
            found: Arc::default(),
            version: self.version.clone(),
        };
        self.list.push((name, s.clone()));
        s
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
        self.list
            .iter()
            .filter_map(|(n, s)| s.error().map(|e| (n.clone(), e)))
            .collect()
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
        s.replace(vec![group("a", &["x:1"]), group("b", &["y:1"])]);
        assert_eq!(s.groups().len(), 2);
        assert!(s.version() > v0);
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
}
