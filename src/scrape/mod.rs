//! Pull-based collection: the scrape manager (one pool per job, one loop per target),
//! service discovery (`discovery`), target labels and relabeling (`target`, `relabel`), the
//! HTTP client (`client`) and turning pages into samples (`scraper`). Uses `config`,
//! `textparse`, `storage`, `model`, reqwest and tokio.
//!
//! Each target is scraped every interval at a stable offset derived from its identity, so
//! targets spread over the interval (Prometheus's scrape/target.go `offset`); a scrape that
//! starts within a small tolerance of its slot is stored at the slot's time (`align`, as
//! Prometheus 2.43+ does, so timer jitter costs no disk space). Reloading keeps
//! pools whose job config is unchanged and targets whose identity is unchanged running;
//! removed targets write stale markers for their series.

pub mod align;
pub mod client;
pub mod discovery;
pub mod host;
pub mod native;
pub mod negotiate;
pub mod relabel;
pub mod scraper;
pub mod target;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ScrapeConfig};
use crate::storage::Appender;
use discovery::metrics::Consumer;
use discovery::TargetGroup;
use relabel::LabelMap;
use scraper::{Metadata, Scraper};
use target::{Outcome, Target};

/// The scrape manager's discovery metrics (`name="scrape"`).
const SCRAPE: Consumer = Consumer("scrape");

/// A target's health, as `/api/v1/targets` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Up,
    Down,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// The latest scrape of a target.
#[derive(Debug, Clone)]
pub struct Status {
    pub health: Health,
    pub last_error: String,
    pub last_scrape: Option<SystemTime>,
    pub last_duration: f64,
    pub metadata: BTreeMap<String, Metadata>,
    pub samples: u64,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            health: Health::Unknown,
            last_error: String::new(),
            last_scrape: None,
            last_duration: 0.0,
            metadata: BTreeMap::new(),
            samples: 0,
        }
    }
}

/// One active target as the API and the TUI see it.
#[derive(Debug, Clone)]
pub struct ActiveTarget {
    pub pool: String,
    pub target: Arc<Target>,
    pub status: Status,
}

/// One dropped target (its labels before relabeling) and the rule that dropped it.
#[derive(Debug, Clone)]
pub struct DroppedTarget {
    pub pool: String,
    pub discovered: LabelMap,
    /// The index in the job's `relabel_configs` of the rule that dropped it, and its action.
    pub rule: usize,
    pub action: &'static str,
}

/// A discoverer's failed refresh, as the API and the TUI show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryError {
    pub pool: String,
    /// The discoverer: mechanism and index in the job (`"docker/0"`, `"file/1"`).
    pub discoverer: String,
    pub error: String,
}

struct Running {
    target: Arc<Target>,
    status: Arc<Mutex<Status>>,
    stop: CancellationToken,
    /// Set before `stop` when the loop is replaced by one with new settings: like
    /// Prometheus's pool reload, it then ends without stale markers.
    quiet: Arc<AtomicBool>,
}

struct Pool {
    job: Arc<ScrapeConfig>,
    client: Option<reqwest::Client>,
    groups: BTreeMap<String, TargetGroup>,
    /// The job's discoverers other than static and file ones, and their version at the
    /// last read.
    sd: discovery::Discoverers,
    sd_version: u64,
    file_fp: Vec<Vec<(std::path::PathBuf, u64, Option<SystemTime>)>>,
    last_refresh: Instant,
    running: HashMap<u64, Running>,
    /// Targets dropped by relabeling (at most `keep_dropped_targets`) with the rule's index,
    /// and how many were dropped in all.
    dropped: Vec<(LabelMap, usize)>,
    dropped_count: usize,
    /// File SD files that could not be read or parsed at the last look, by `file/<index>`.
    file_errors: Vec<(String, String)>,
    /// A pool-wide problem (HTTP client, target_limit), shown on its targets.
    error: Option<String>,
}

/// The scrape manager.
pub struct Manager {
    appender: Arc<dyn Appender>,
    pools: Mutex<BTreeMap<String, Pool>>,
    shutdown: CancellationToken,
    stats: Arc<Stats>,
    /// Scrape timestamp tolerance in ms (`--scrape.timestamp-tolerance`); 0: no alignment
    /// (`--scrape.adjust-timestamps=false`). Read by loops when they start.
    timestamp_tolerance_ms: AtomicI64,
}

/// Recent observations of one quantity, for a summary at `/metrics`: the last
/// [`Observations::WINDOW`] values, and the sum and count of all of them.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    pub recent: std::collections::VecDeque<f64>,
    pub sum: f64,
    pub count: u64,
}

impl Observations {
    pub const WINDOW: usize = 1024;

    pub fn observe(&mut self, v: f64) {
        if self.recent.len() == Self::WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(v);
        self.sum += v;
        self.count += 1;
    }
}

/// What the scrape manager counts for `/metrics` (Prometheus's scrape manager metrics).
#[derive(Debug, Default)]
pub struct Stats {
    /// Scrapes failed by a limit: `sample_limit`, `body_size_limit`, the label limits.
    pub exceeded_sample_limit: AtomicU64,
    pub exceeded_body_size_limit: AtomicU64,
    pub exceeded_label_limits: AtomicU64,
    /// Syncs of a pool that found more targets than `target_limit`.
    pub exceeded_target_limit: AtomicU64,
    /// Scraped samples the store refused: older than the series' newest, or another value
    /// at its newest timestamp.
    pub sample_out_of_order: AtomicU64,
    pub sample_duplicate_timestamp: AtomicU64,
    /// Scraped exemplars the store refused as out of order (or repeats of the newest).
    pub exemplar_out_of_order: AtomicU64,
    /// Scrapes failed by `native_histogram_bucket_limit`.
    pub exceeded_native_histogram_bucket_limit: AtomicU64,
    /// Targets whose labels could not be built, by job.
    pub sync_failed: Mutex<BTreeMap<String, u64>>,
    /// Seconds a sync of a job's targets took, by job.
    pub sync_length: Mutex<BTreeMap<String, Observations>>,
    /// Seconds between consecutive scrapes of a target, by its configured interval ("15s").
    pub interval_length: Mutex<BTreeMap<String, Observations>>,
}

impl Stats {
    /// Counts a failed scrape's limit, if a limit failed it.
    fn count_error(&self, e: &str) {
        let c = if e.contains("sample_limit exceeded") {
            &self.exceeded_sample_limit
        } else if e == native::BUCKET_LIMIT_ERROR {
            &self.exceeded_native_histogram_bucket_limit
        } else if e.contains("body size limit exceeded") {
            &self.exceeded_body_size_limit
        } else if [
            "label_limit",
            "label_name_length_limit",
            "label_value_length_limit",
        ]
        .iter()
        .any(|l| e.contains(&format!("{l} exceeded")))
        {
            &self.exceeded_label_limits
        } else {
            return;
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Manager {
    pub fn new(appender: Arc<dyn Appender>, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Manager {
            appender,
            pools: Mutex::new(BTreeMap::new()),
            shutdown,
            stats: Arc::default(),
            timestamp_tolerance_ms: AtomicI64::new(align::DEFAULT_TOLERANCE_MS),
        })
    }

    /// Sets the scrape timestamp tolerance for loops started from now on (`None`: store
    /// the clock's times, no alignment). See `align`.
    pub fn set_timestamp_tolerance(&self, tolerance: Option<StdDuration>) {
        let ms = tolerance.map_or(0, |d| d.as_millis().min(i64::MAX as u128) as i64);
        self.timestamp_tolerance_ms.store(ms, Ordering::Relaxed);
    }

    /// Applies a (new) config: unchanged jobs keep running, changed ones restart, removed ones
    /// stop (their series go stale).
    pub fn apply(self: &Arc<Self>, cfg: &Config) {
        let mut pools = self.pools.lock();
        let wanted: HashSet<&str> = cfg.jobs().map(|j| j.job_name.as_str()).collect();
        let gone: Vec<String> = pools
            .keys()
            .filter(|k| !wanted.contains(k.as_str()))
            .cloned()
            .collect();
        for k in gone {
            if let Some(p) = pools.remove(&k) {
                for r in p.running.values() {
                    r.stop.cancel();
                }
            }
        }
        for job in cfg.jobs() {
            if let Some(p) = pools.get(&job.job_name) {
                if format!("{:?}", p.job) == format!("{:?}", job) {
                    continue;
                }
            }
            let old = pools.remove(&job.job_name);
            let (client, error) = match client::build(job) {
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(e.to_string())),
            };
            let mut pool = Pool {
                job: Arc::new(job.clone()),
                client,
                groups: BTreeMap::new(),
                sd: discovery::Discoverers::start(job.sd_configs(), self.shutdown.child_token()),
                sd_version: 0,
                file_fp: Vec::new(),
                last_refresh: Instant::now(),
                running: HashMap::new(),
                dropped: Vec::new(),
                dropped_count: 0,
                file_errors: Vec::new(),
                error,
            };
            // A changed job restarts its targets with the new settings; their series continue,
            // so the old loops write no stale markers.
            if let Some(old) = old {
                for r in old.running.values() {
                    r.quiet.store(true, Ordering::Relaxed);
                    r.stop.cancel();
                }
            }
            self.discover(&mut pool, true, true);
            self.sync(&mut pool);
            pools.insert(job.job_name.clone(), pool);
        }
        let failed: usize = pools.values().map(|p| p.sd.failed_configs()).sum();
        SCRAPE.failed_configs(failed);
    }

    /// Re-reads discovery for a pool: when a discoverer reported, and file SD when its files
    /// changed (`files`: look at them now), or always when `force`. Returns whether the groups
    /// changed.
    fn discover(&self, pool: &mut Pool, force: bool, files: bool) -> bool {
        let job = pool.job.clone();
        let sd_version = pool.sd.version();
        let mut due = force || sd_version != pool.sd_version;
        if force || files {
            let fps: Vec<_> = job
                .file_sd_configs
                .iter()
                .map(discovery::fingerprint)
                .collect();
            let refresh_due = job
                .file_sd_configs
                .iter()
                .any(|c| pool.last_refresh.elapsed() >= c.refresh_interval.as_std());
            if fps != pool.file_fp || refresh_due {
                due = true;
                pool.file_fp = fps;
                pool.last_refresh = Instant::now();
            }
        }
        if !due {
            return false;
        }
        SCRAPE.received_updates(sd_version.wrapping_sub(pool.sd_version));
        pool.sd_version = sd_version;
        let (groups, file_errors) = discovery::gather(job.sd_configs(), &pool.sd);
        for (_, e) in &file_errors {
            tracing::warn!(job = %job.job_name, "{e}");
        }
        pool.file_errors = file_errors;
        let changed = groups != pool.groups;
        pool.groups = groups;
        if changed {
            SCRAPE.updated();
        }
        changed
    }

    /// Starts loops for new targets and stops those no longer discovered.
    fn sync(self: &Arc<Self>, pool: &mut Pool) {
        let started = Instant::now();
        self.sync_targets(pool);
        let job = &pool.job.job_name;
        let mut lengths = self.stats.sync_length.lock();
        lengths
            .entry(job.clone())
            .or_default()
            .observe(started.elapsed().as_secs_f64());
        self.stats
            .sync_failed
            .lock()
            .entry(job.clone())
            .or_default();
    }

    /// The counters `/metrics` reports.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    fn sync_targets(self: &Arc<Self>, pool: &mut Pool) {
        let job = pool.job.clone();
        let mut active: Vec<Target> = Vec::new();
        let mut dropped = Vec::new();
        let mut seen = HashSet::new();
        for g in pool.groups.values() {
            for t in &g.targets {
                match target::populate(&job, &g.labels, t) {
                    Ok(Outcome::Active(t)) => {
                        if seen.insert(t.hash()) {
                            active.push(*t);
                        }
                    }
                    Ok(Outcome::Dropped { discovered, rule }) => dropped.push((discovered, rule)),
                    Err(e) => {
                        tracing::warn!(job = %job.job_name, "skipping a target: {e}");
                        *self
                            .stats
                            .sync_failed
                            .lock()
                            .entry(job.job_name.clone())
                            .or_default() += 1;
                    }
                }
            }
        }
        pool.dropped_count = dropped.len();
        if let Some(limit) = job.keep_dropped_targets.filter(|l| *l > 0) {
            dropped.truncate(limit as usize);
        }
        pool.dropped = dropped;
        if let Some(limit) = job.target_limit.filter(|l| *l > 0) {
            if active.len() as u64 > limit {
                let msg = format!(
                    "target_limit exceeded (number of targets: {}, limit: {limit})",
                    active.len()
                );
                tracing::warn!(job = %job.job_name, "{msg}");
                self.stats
                    .exceeded_target_limit
                    .fetch_add(1, Ordering::Relaxed);
                for r in pool.running.values() {
                    r.stop.cancel();
                }
                pool.running.clear();
                pool.error = Some(msg);
                // Keep the targets visible, not scraped.
                for t in active {
                    let status = Status {
                        health: Health::Down,
                        last_error: pool.error.clone().unwrap_or_default(),
                        ..Status::default()
                    };
                    pool.running.insert(
                        t.hash(),
                        Running {
                            target: Arc::new(t),
                            status: Arc::new(Mutex::new(status)),
                            stop: CancellationToken::new(),
                            quiet: Arc::default(),
                        },
                    );
                }
                return;
            }
        }
        if pool
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("target_limit"))
        {
            pool.error = None;
            for r in pool.running.values() {
                r.stop.cancel();
            }
            pool.running.clear();
        }
        let keep: HashSet<u64> = active.iter().map(Target::hash).collect();
        pool.running.retain(|h, r| {
            if keep.contains(h) {
                true
            } else {
                r.stop.cancel();
                false
            }
        });
        for t in active {
            let h = t.hash();
            if let Some(r) = pool.running.get_mut(&h) {
                // The same target (its labels and URL are unchanged) keeps its loop; what
                // discovery said of it may have changed (a `__meta_*` label), as Prometheus
                // shows the newest.
                if r.target.discovered != t.discovered {
                    r.target = Arc::new(t);
                }
                continue;
            }
            let target = Arc::new(t);
            let status = Arc::new(Mutex::new(Status::default()));
            let stop = self.shutdown.child_token();
            let quiet: Arc<AtomicBool> = Arc::default();
            if let (Some(client), None) = (&pool.client, &pool.error) {
                let l = Loop {
                    scraper: Scraper::new(job.clone(), target.clone(), self.appender.clone()),
                    job: job.clone(),
                    target: target.clone(),
                    client: client.clone(),
                    status: status.clone(),
                    buf: Vec::new(),
                    stats: self.stats.clone(),
                    last_start: None,
                    aligner: None,
                    tolerance_ms: self.timestamp_tolerance_ms.load(Ordering::Relaxed),
                    accept: reqwest::header::HeaderValue::from_str(&negotiate::job_accept_header(
                        &job,
                    ))
                    .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("*/*")),
                };
                tokio::spawn(l.run(stop.clone(), self.shutdown.clone(), quiet.clone(), h));
            } else {
                let mut s = status.lock();
                s.health = Health::Down;
                s.last_error = pool.error.clone().unwrap_or_default();
            }
            pool.running.insert(
                h,
                Running {
                    target,
                    status,
                    stop,
                    quiet,
                },
            );
        }
    }

    /// Applies what discoverers report (looked at every second) and watches file SD files
    /// (every three seconds) until shutdown.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(StdDuration::from_secs(1));
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            n += 1;
            let files = n.is_multiple_of(3);
            let this = self.clone();
            let _ = tokio::task::spawn_blocking(move || {
                let mut pools = this.pools.lock();
                for pool in pools.values_mut() {
                    let look_at_files = files && !pool.job.file_sd_configs.is_empty();
                    if pool.sd.is_empty() && !look_at_files {
                        continue;
                    }
                    if this.discover(pool, false, look_at_files) {
                        this.sync(pool);
                    }
                }
            })
            .await;
        }
    }

    /// Active targets, by pool and target labels.
    pub fn active(&self) -> Vec<ActiveTarget> {
        let pools = self.pools.lock();
        let mut out: Vec<ActiveTarget> = pools
            .iter()
            .flat_map(|(name, p)| {
                p.running.values().map(move |r| ActiveTarget {
                    pool: name.clone(),
                    target: r.target.clone(),
                    status: r.status.lock().clone(),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.pool, &a.target.labels).cmp(&(&b.pool, &b.target.labels)));
        out
    }

    /// Targets dropped by relabeling (up to each job's `keep_dropped_targets`).
    pub fn dropped(&self) -> Vec<DroppedTarget> {
        let pools = self.pools.lock();
        pools
            .iter()
            .flat_map(|(name, p)| {
                p.dropped.iter().map(move |(d, rule)| DroppedTarget {
                    pool: name.clone(),
                    discovered: d.clone(),
                    rule: *rule,
                    action: p
                        .job
                        .relabel_configs
                        .get(*rule)
                        .map_or("", |c| c.action.as_str()),
                })
            })
            .collect()
    }

    /// How many targets relabeling dropped, by pool (every pool, all dropped targets,
    /// `keep_dropped_targets` or not), as Prometheus's `droppedTargetCounts`.
    pub fn dropped_counts(&self) -> BTreeMap<String, usize> {
        let pools = self.pools.lock();
        pools
            .iter()
            .map(|(n, p)| (n.clone(), p.dropped_count))
            .collect()
    }

    /// Targets each pool's discovery found, before relabeling
    /// (`prometheus_sd_discovered_targets`).
    pub fn discovered_counts(&self) -> BTreeMap<String, usize> {
        let pools = self.pools.lock();
        pools
            .iter()
            .map(|(n, p)| (n.clone(), p.groups.values().map(|g| g.targets.len()).sum()))
            .collect()
    }

    /// The discoverers whose last refresh failed, by pool: file SD files that could not be
    /// read or parsed, and every other mechanism's last error (their last good targets are
    /// kept meanwhile).
    pub fn discovery_errors(&self) -> Vec<DiscoveryError> {
        let pools = self.pools.lock();
        let mut out = Vec::new();
        for (name, p) in pools.iter() {
            for (d, e) in p.file_errors.iter().cloned().chain(p.sd.errors()) {
                out.push(DiscoveryError {
                    pool: name.clone(),
                    discoverer: d,
                    error: e,
                });
            }
        }
        out
    }

    /// The config of scrape pool `name`, if there is one.
    pub fn pool_config(&self, name: &str) -> Option<Arc<ScrapeConfig>> {
        self.pools.lock().get(name).map(|p| p.job.clone())
    }

    /// Stops every loop (at shutdown no stale markers are written, as in Prometheus).
    pub fn stop(&self) {
        for p in self.pools.lock().values() {
            for r in p.running.values() {
                r.stop.cancel();
            }
        }
    }
}

/// One target's scrape loop.
struct Loop {
    scraper: Scraper,
    job: Arc<ScrapeConfig>,
    target: Arc<Target>,
    client: reqwest::Client,
    status: Arc<Mutex<Status>>,
    /// The page buffer, reused across scrapes.
    buf: Vec<u8>,
    stats: Arc<Stats>,
    /// When the previous scrape started, for the interval length.
    last_start: Option<Instant>,
    /// The interval grid scrape timestamps are aligned to (set when the loop starts).
    aligner: Option<align::Aligner>,
    /// Alignment tolerance in ms (0: off).
    tolerance_ms: i64,
    /// The `Accept` header negotiated from the job's `scrape_protocols`.
    accept: reqwest::header::HeaderValue,
}

impl Loop {
    async fn run(
        mut self,
        stop: CancellationToken,
        shutdown: CancellationToken,
        quiet: Arc<AtomicBool>,
        hash: u64,
    ) {
        let interval = self
            .target
            .interval
            .as_std()
            .max(StdDuration::from_millis(10));
        let iv = interval.as_nanos() as u64;
        // The first scrape happens at this target's offset within the interval.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let offset = hash % iv;
        let wait = (offset + iv - now % iv) % iv;
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(StdDuration::from_nanos(wait)) => {}
        }
        // The first slot is the time the offset wait aimed at; later ones follow the interval.
        self.aligner = Some(align::Aligner::new(
            ((now + wait) / 1_000_000) as i64,
            (iv / 1_000_000) as i64,
            self.tolerance_ms,
        ));
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            self.scrape_once().await;
        }
        if !shutdown.is_cancelled() && !quiet.load(Ordering::Relaxed) {
            let t = now_ms();
            tokio::task::block_in_place(|| self.scraper.stale_all(t));
        }
    }

    /// Fetches the page into `self.buf`; returns its format.
    async fn fetch(&mut self) -> Result<negotiate::PageFormat, String> {
        let timeout = self.target.timeout.as_std();
        let req = client::request(
            &self.client,
            &self.job,
            &self.target.url,
            &self.accept,
            timeout.as_secs_f64(),
        )
        .map_err(|e| e.to_string())?
        .timeout(timeout);
        let mut resp = req.send().await.map_err(|e| describe(&e))?;
        let status = resp.status();
        if status != reqwest::StatusCode::OK {
            return Err(format!("server returned HTTP status {status}"));
        }
        let ct = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        self.buf.clear();
        let limit = self
            .job
            .body_size_limit
            .map_or(0, |b| b.0)
            .try_into()
            .unwrap_or(usize::MAX);
        while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
            self.buf.extend_from_slice(&chunk);
            if limit > 0 && self.buf.len() > limit {
                // Prometheus's wording; the page is dropped like any failed scrape.
                self.buf.clear();
                return Err("body size limit exceeded".into());
            }
        }
        Ok(negotiate::page_format(
            &ct,
            self.job.fallback_scrape_protocol,
        ))
    }

    async fn scrape_once(&mut self) {
        let started = SystemTime::now();
        let t = match &mut self.aligner {
            Some(a) => a.time(now_ms()),
            None => now_ms(),
        };
        let t0 = Instant::now();
        if let Some(prev) = self.last_start.replace(t0) {
            self.stats
                .interval_length
                .lock()
                .entry(self.target.interval.to_string())
                .or_default()
                .observe(t0.duration_since(prev).as_secs_f64());
        }
        let fetched = self.fetch().await;
        let scraper = &mut self.scraper;
        let buf = &self.buf;
        let (rep, err) = tokio::task::block_in_place(|| match &fetched {
            Ok(format) => {
                let rep = scraper.append_body(buf, *format, t);
                let err = rep.error.clone();
                (rep, err)
            }
            Err(e) => {
                // A failed scrape is an empty page: the last page's series go stale.
                let rep = scraper.append_page("", crate::textparse::Format::Text, t);
                (rep, Some(e.clone()))
            }
        });
        let duration = t0.elapsed().as_secs_f64();
        let up = err.is_none();
        let report = if up {
            rep.clone()
        } else {
            scraper::PageReport {
                scraped: rep.scraped,
                ..Default::default()
            }
        };
        tokio::task::block_in_place(|| self.scraper.report(t, up, duration, &report));
        if let Some(e) = &err {
            self.stats.count_error(e);
        }
        let st = &self.stats;
        st.sample_out_of_order
            .fetch_add(rep.out_of_order, Ordering::Relaxed);
        st.sample_duplicate_timestamp
            .fetch_add(rep.duplicate, Ordering::Relaxed);
        st.exemplar_out_of_order
            .fetch_add(rep.exemplars_out_of_order, Ordering::Relaxed);
        let mut s = self.status.lock();
        s.health = if up { Health::Up } else { Health::Down };
        s.last_error = err.unwrap_or_default();
        s.last_scrape = Some(started);
        s.last_duration = duration;
        s.samples = rep.post_relabel;
        if up {
            s.metadata = self.scraper.metadata.clone();
        }
    }
}

/// A reqwest error with its causes, the way Go prints them.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "context deadline exceeded".into();
    }
    client::error_chain(e)
}

#[cfg(test)]
mod manager_tests;
