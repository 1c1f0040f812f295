//! Self-instrumentation at `/metrics` (OpenMetrics, via the `prometheus-client` crate):
//! storage (samples appended and rejected, series, head and WAL activity), queries (count and
//! duration), scraping (targets by health, samples per scrape) and the process (CPU, memory,
//! file descriptors, start time, from /proc/self).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::scrape::{Health, Manager};
use crate::tsdb::Db;

/// Metrics the API itself updates, and the registry `/metrics` encodes.
pub struct Telemetry {
    registry: Registry,
    pub queries: Counter,
    pub query_duration: Histogram,
    /// Queries evaluating now, waiting for a slot, and the slots there are.
    pub queries_running: prometheus_client::metrics::gauge::Gauge,
    pub queries_waiting: prometheus_client::metrics::gauge::Gauge,
    pub queries_concurrent_max: prometheus_client::metrics::gauge::Gauge,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Telemetry")
    }
}

impl Telemetry {
    pub fn new(
        db: Option<Db>,
        scrape: Option<Arc<Manager>>,
        rules: Option<crate::rules::manager::Manager>,
        senders: Option<Arc<crate::send::Senders>>,
    ) -> Self {
        let mut registry = Registry::default();
        let queries = Counter::default();
        let query_duration = Histogram::new(exponential_buckets(0.001, 4.0, 9));
        registry.register(
            "promterm_queries",
            "PromQL queries evaluated (instant and range)",
            queries.clone(),
        );
        registry.register(
            "promterm_query_duration_seconds",
            "Time to evaluate a PromQL query",
            query_duration.clone(),
        );
        let queries_running = prometheus_client::metrics::gauge::Gauge::default();
        let queries_waiting = prometheus_client::metrics::gauge::Gauge::default();
        let queries_concurrent_max = prometheus_client::metrics::gauge::Gauge::default();
        registry.register(
            "promterm_engine_queries",
            "PromQL queries evaluating now",
            queries_running.clone(),
        );
        registry.register(
            "promterm_engine_queries_waiting",
            "PromQL queries waiting for a slot (--query.max-concurrency)",
            queries_waiting.clone(),
        );
        registry.register(
            "promterm_engine_queries_concurrent_max",
            "Most PromQL queries evaluated at once (--query.max-concurrency)",
            queries_concurrent_max.clone(),
        );
        registry.register_collector(Box::new(SelfCollector {
            db,
            scrape,
            rules,
            senders,
        }));
        Telemetry {
            registry,
            queries,
            query_duration,
            queries_running,
            queries_waiting,
            queries_concurrent_max,
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

struct SelfCollector {
    db: Option<Db>,
    scrape: Option<Arc<Manager>>,
    rules: Option<crate::rules::manager::Manager>,
    senders: Option<Arc<crate::send::Senders>>,
}

impl std::fmt::Debug for SelfCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SelfCollector")
    }
}

fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, v: f64) -> std::fmt::Result {
    ConstCounter::new(v).encode(e.encode_descriptor(name, help, None, MetricType::Counter)?)
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, v: f64) -> std::fmt::Result {
    ConstGauge::new(v).encode(e.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

/// (CPU seconds, resident bytes, virtual bytes, start time) of this process, from /proc.
fn process_stats() -> Option<(f64, f64, f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the command: state is index 0, so utime is 11, stime 12, starttime 19,
    // vsize 20, rss 21 (pages).
    let tick = 100.0;
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    let start_ticks: f64 = f.get(19)?.parse().ok()?;
    let vsize: f64 = f.get(20)?.parse().ok()?;
    let rss_pages: f64 = f.get(21)?.parse().ok()?;
    let boot = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| {
            l.strip_prefix("btime ")
                .and_then(|v| v.trim().parse::<f64>().ok())
        })?;
    Some((
        (utime + stime) / tick,
        rss_pages * 4096.0,
        vsize,
        boot + start_ticks / tick,
    ))
}

impl Collector for SelfCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if let Some(db) = &self.db {
            let s = db.stats();
            let l = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as f64;
            counter(
                &mut e,
                "promterm_tsdb_samples_appended",
                "Samples stored",
                l(&s.samples_appended),
            )?;
            counter(
                &mut e,
                "promterm_tsdb_out_of_order_samples",
                "Samples rejected as out of order",
                l(&s.out_of_order),
            )?;
            counter(
                &mut e,
                "promterm_tsdb_duplicate_samples",
                "Samples rejected as duplicates with another value",
                l(&s.duplicate),
            )?;
            counter(
                &mut e,
                "promterm_tsdb_series_created",
                "Series created in the head",
                l(&s.series_created),
            )?;
            counter(
                &mut e,
                "promterm_tsdb_flushes",
                "Flushes of sealed chunks to SQLite",
                l(&s.flushes),
            )?;
            counter(
                &mut e,
                "promterm_tsdb_wal_replay_dropped_records",
                "WAL records dropped at startup because of corruption",
                l(&s.wal_replay_dropped_records),
            )?;
            counter(
                &mut e,
                "promterm_tsdb_corrupt_reads",
                "Reads that met a damaged stored chunk or database page (those series were served without it)",
                l(&s.corrupt_reads),
            )?;
            gauge(
                &mut e,
                "promterm_tsdb_head_series",
                "Series in the head",
                db.num_series() as f64,
            )?;
            gauge(
                &mut e,
                "promterm_tsdb_head_chunk_bytes",
                "Bytes of chunk data held in memory",
                db.head_bytes() as f64,
            )?;
        }
        if let Some(m) = &self.scrape {
            let active = m.active();
            let mut fam = e.encode_descriptor(
                "promterm_scrape_targets",
                "Active scrape targets by health",
                None,
                MetricType::Gauge,
            )?;
            for h in [Health::Up, Health::Down, Health::Unknown] {
                let n = active.iter().filter(|a| a.status.health == h).count();
                let labels = [("health", h.as_str())];
                ConstGauge::new(n as f64).encode(fam.encode_family(&labels)?)?;
            }
            let samples: u64 = active.iter().map(|a| a.status.samples).sum();
            gauge(
                &mut e,
                "promterm_scrape_samples_last",
                "Samples the last scrape of every target yielded, summed",
                samples as f64,
            )?;
            gauge(
                &mut e,
                "promterm_scrape_dropped_targets",
                "Targets dropped by relabeling",
                m.dropped().len() as f64,
            )?;
        }
        if let Some(s) = &self.senders {
            let list = s.list.lock();
            for (name, help, pick, counter_kind) in [
                (
                    "promterm_remote_write_samples_pending",
                    "Samples read from the WAL, not yet sent",
                    0,
                    false,
                ),
                (
                    "promterm_remote_write_samples_sent",
                    "Samples sent to the remote endpoint",
                    1,
                    true,
                ),
                (
                    "promterm_remote_write_requests_failed",
                    "Failed send attempts (retried)",
                    2,
                    true,
                ),
                (
                    "promterm_remote_write_samples_dropped",
                    "Samples dropped (refused with 4xx, or relabeled away)",
                    3,
                    true,
                ),
                (
                    "promterm_remote_write_shards",
                    "Shards sending in parallel",
                    4,
                    false,
                ),
                (
                    "promterm_remote_write_shards_desired",
                    "Shards the last calculation wanted",
                    5,
                    false,
                ),
                (
                    "promterm_remote_write_metadata_sent",
                    "Metadata entries sent",
                    6,
                    true,
                ),
            ] {
                let kind = if counter_kind {
                    MetricType::Counter
                } else {
                    MetricType::Gauge
                };
                let mut fam = e.encode_descriptor(name, help, None, kind)?;
                for snd in list.iter() {
                    let st = &snd.stats;
                    let v = [
                        &st.pending,
                        &st.sent,
                        &st.failed,
                        &st.dropped,
                        &st.shards,
                        &st.desired_shards,
                        &st.metadata_sent,
                    ][pick]
                        .load(Ordering::Relaxed) as f64;
                    let labels = [
                        ("remote_name", snd.name.as_str()),
                        ("url", snd.url.as_str()),
                    ];
                    if counter_kind {
                        ConstCounter::new(v).encode(fam.encode_family(&labels)?)?;
                    } else {
                        ConstGauge::new(v).encode(fam.encode_family(&labels)?)?;
                    }
                }
            }
        }
        if let Some(r) = &self.rules {
            let s = r.stats();
            let l = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as f64;
            let (groups, rules) = r.counts();
            gauge(
                &mut e,
                "promterm_rule_groups",
                "Rule groups loaded",
                groups as f64,
            )?;
            gauge(&mut e, "promterm_rules", "Rules loaded", rules as f64)?;
            counter(
                &mut e,
                "promterm_rule_evaluations",
                "Rule evaluations",
                l(&s.evaluations),
            )?;
            counter(
                &mut e,
                "promterm_rule_evaluation_failures",
                "Rule evaluations that failed",
                l(&s.failures),
            )?;
            counter(
                &mut e,
                "promterm_rule_group_iterations_missed",
                "Group evaluations skipped because the previous one ran too long",
                l(&s.missed_iterations),
            )?;
            counter(
                &mut e,
                "promterm_rule_group_evaluation_seconds",
                "Time spent evaluating rule groups",
                l(&s.eval_micros) / 1e6,
            )?;
            if let Some(n) = r.notifier() {
                gauge(
                    &mut e,
                    "promterm_notifications_queue_length",
                    "Alerts waiting to be sent to Alertmanager",
                    n.queue_len() as f64,
                )?;
                gauge(
                    &mut e,
                    "promterm_notifications_queue_capacity",
                    "Most alerts that may wait to be sent",
                    n.queue_capacity() as f64,
                )?;
                counter(
                    &mut e,
                    "promterm_notifications_dropped",
                    "Alerts dropped because the notification queue was full",
                    n.dropped() as f64,
                )?;
                gauge(
                    &mut e,
                    "promterm_notifications_alertmanagers_discovered",
                    "Alertmanagers alerts are sent to",
                    n.alertmanagers().0.len() as f64,
                )?;
                let stats = n.stats();
                for (name, help, pick) in [
                    (
                        "promterm_notifications_sent",
                        "Alerts sent, by Alertmanager",
                        0,
                    ),
                    (
                        "promterm_notifications_errors",
                        "Alerts that could not be sent, by Alertmanager",
                        1,
                    ),
                ] {
                    let mut fam = e.encode_descriptor(name, help, None, MetricType::Counter)?;
                    for (url, st) in &stats {
                        let v = if pick == 0 { st.sent } else { st.errors };
                        let labels = [("alertmanager", url.as_str())];
                        ConstCounter::new(v as f64).encode(fam.encode_family(&labels)?)?;
                    }
                }
            }
        }
        if let Some((cpu, rss, vsize, start)) = process_stats() {
            counter(
                &mut e,
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                cpu,
            )?;
            gauge(
                &mut e,
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                rss,
            )?;
            gauge(
                &mut e,
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                vsize,
            )?;
            gauge(
                &mut e,
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                start,
            )?;
        }
        if let Ok(d) = std::fs::read_dir("/proc/self/fd") {
            gauge(
                &mut e,
                "process_open_fds",
                "Number of open file descriptors.",
                d.count() as f64,
            )?;
        }
        Ok(())
    }
}
