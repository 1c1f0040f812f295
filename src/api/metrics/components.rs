//! What the components report at `/metrics`: the TSDB, scraping and discovery, rules and the
//! notifier, remote-write senders, and the process (from /proc). Read from each component's
//! own counters at scrape time, under Prometheus's names where it has the metric. Uses
//! `encode`, `tsdb`, `scrape`, `rules` and `send`.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

use super::encode::{Labels, Out};
use crate::scrape::discovery::metrics::{sd_metrics, Kind};
use crate::scrape::{Health, Manager};
use crate::tsdb::Db;

/// The components `/metrics` reports on (each optional: tests run the API without them).
#[derive(Clone, Default)]
pub(super) struct Sources {
    pub(super) db: Option<Db>,
    pub(super) scrape: Option<Arc<Manager>>,
    pub(super) rules: Option<crate::rules::manager::Manager>,
    pub(super) senders: Option<Arc<crate::send::Senders>>,
}

pub(super) struct SelfCollector {
    pub(super) sources: Sources,
}

impl std::fmt::Debug for SelfCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SelfCollector")
    }
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

fn load(a: &std::sync::atomic::AtomicU64) -> f64 {
    a.load(Ordering::Relaxed) as f64
}

impl Collector for SelfCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let mut o = Out(&mut e);
        let s = &self.sources;
        if let Some(db) = &s.db {
            tsdb(&mut o, db)?;
        }
        // Discovered targets come from scrape pools and Alertmanager configs: one family.
        let mut discovered: Vec<(Labels, f64)> = Vec::new();
        if let Some(m) = &s.scrape {
            scrape(&mut o, m, &mut discovered)?;
        }
        if let Some(r) = &s.rules {
            rules(&mut o, r, &mut discovered)?;
        }
        o.family(
            "prometheus_sd_discovered_targets",
            "Current number of discovered targets.",
            MetricType::Gauge,
            discovered,
        )?;
        discovery_families(&mut o)?;
        if let Some(snd) = &s.senders {
            remote_write(&mut o, snd)?;
        }
        process(&mut o)
    }
}

/// The counters and gauges discoverers keep (`prometheus_sd_*`; summaries are written apart).
fn discovery_families(o: &mut Out) -> std::fmt::Result {
    for (name, f) in sd_metrics().families() {
        let kind = match f.kind {
            Kind::Counter => MetricType::Counter,
            Kind::Gauge => MetricType::Gauge,
            Kind::Summary => continue,
        };
        let name = name.strip_suffix("_total").unwrap_or(name);
        match f.values.get(&Vec::new()) {
            // A family without labels is written as one bare sample, not `name{}`.
            Some(&v) if f.values.len() == 1 => o.one(name, f.help, kind, v)?,
            _ => o.family(name, f.help, kind, f.values)?,
        }
    }
    Ok(())
}

fn tsdb(o: &mut Out, db: &Db) -> std::fmt::Result {
    let s = db.stats();
    let float = || vec![("type", "float".to_string())];
    let appended = load(&s.samples_appended);
    o.family(
        "prometheus_tsdb_head_samples_appended",
        "Total number of appended samples.",
        MetricType::Counter,
        [(float(), appended)],
    )?;
    o.family(
        "prometheus_tsdb_out_of_order_samples",
        "Total number of out of order samples ingestion failed attempts due to out of order being disabled.",
        MetricType::Counter,
        [(float(), load(&s.out_of_order))],
    )?;
    let counters = [
        (
            "prometheus_tsdb_head_series_created",
            "Total number of series created in the head",
            load(&s.series_created),
        ),
        (
            "prometheus_tsdb_compactions_failed",
            "Total number of compactions that failed for the partition (promterm: background flushes of the head to the database that failed; the data stayed in the WAL).",
            load(&s.flush_failures),
        ),
        (
            "prometheus_remote_storage_samples_in",
            "Samples in to remote storage, compare to samples out for queue managers.",
            appended,
        ),
        (
            "promterm_tsdb_duplicate_samples",
            "Samples rejected as duplicates with another value",
            load(&s.duplicate),
        ),
        (
            "promterm_tsdb_flushes",
            "Flushes of sealed chunks to SQLite",
            load(&s.flushes),
        ),
        (
            "promterm_tsdb_wal_replay_dropped_records",
            "WAL records dropped at startup because of corruption",
            load(&s.wal_replay_dropped_records),
        ),
        (
            "promterm_tsdb_corrupt_reads",
            "Reads that met a damaged stored chunk or database page (those series were served without it)",
            load(&s.corrupt_reads),
        ),
    ];
    for (name, help, v) in counters {
        o.counter(name, help, v)?;
    }
    let (chunks, _) = db.head_stats();
    let gauges = [
        (
            "prometheus_tsdb_head_series",
            "Total number of series in the head block.",
            db.num_series() as f64,
        ),
        (
            "prometheus_tsdb_head_chunks",
            "Total number of chunks in the head block.",
            chunks as f64,
        ),
        (
            "prometheus_tsdb_wal_segment_current",
            "Write log segment index that TSDB is currently writing to.",
            db.wal_segment() as f64,
        ),
        (
            "prometheus_remote_storage_highest_timestamp_in_seconds",
            "Highest timestamp that has come into the remote storage via the Appender interface, in seconds since epoch.",
            db.max_time().map_or(0.0, |t| t as f64 / 1000.0),
        ),
        (
            "promterm_tsdb_head_chunk_bytes",
            "Bytes of chunk data held in memory",
            db.head_bytes() as f64,
        ),
    ];
    for (name, help, v) in gauges {
        o.gauge(name, help, v)?;
    }
    exemplars(o, db)
}

/// The exemplar buffer, with Prometheus's names.
fn exemplars(o: &mut Out, db: &Db) -> std::fmt::Result {
    let f = db.exemplar_figures();
    o.counter(
        "prometheus_tsdb_exemplar_exemplars_appended",
        "Total number of appended exemplars.",
        f.appended_total as f64,
    )?;
    o.counter(
        "prometheus_tsdb_exemplar_out_of_order_exemplars",
        "Total number of out of order exemplar ingestion failed attempts.",
        f.out_of_order_total as f64,
    )?;
    let gauges = [
        (
            "prometheus_tsdb_exemplar_exemplars_in_storage",
            "Number of exemplars currently in circular storage.",
            f.in_storage as f64,
        ),
        (
            "prometheus_tsdb_exemplar_series_with_exemplars_in_storage",
            "Number of series with exemplars currently in circular storage.",
            f.series_in_storage as f64,
        ),
        (
            "prometheus_tsdb_exemplar_max_exemplars",
            "Total number of exemplars the exemplar storage can store, resizeable.",
            f.max_exemplars as f64,
        ),
        (
            "prometheus_tsdb_exemplar_last_exemplars_timestamp_seconds",
            "The timestamp of the oldest exemplar stored in circular storage, in seconds since epoch (the time range the buffer still covers starts there).",
            f.oldest_t.map_or(0.0, |t| t as f64 / 1000.0),
        ),
    ];
    for (name, help, v) in gauges {
        o.gauge(name, help, v)?;
    }
    Ok(())
}

fn scrape(o: &mut Out, m: &Manager, discovered: &mut Vec<(Labels, f64)>) -> std::fmt::Result {
    let active = m.active();
    let dropped = m.dropped();
    let health = [Health::Up, Health::Down, Health::Unknown].map(|h| {
        let n = active.iter().filter(|a| a.status.health == h).count();
        (vec![("health", h.as_str().to_string())], n as f64)
    });
    o.family(
        "promterm_scrape_targets",
        "Active scrape targets by health",
        MetricType::Gauge,
        health,
    )?;
    // By job: (active targets, discovered targets, metadata entries).
    let mut jobs: BTreeMap<String, (f64, f64, f64)> = BTreeMap::new();
    for a in &active {
        let j = jobs.entry(a.pool.clone()).or_default();
        j.0 += 1.0;
        j.2 += a.status.metadata.len() as f64;
    }
    // Discovered: every target the pool's discovery found, before relabeling (as Prometheus
    // counts them), whatever became of it.
    for (pool, n) in m.discovered_counts() {
        jobs.entry(pool).or_default().1 = n as f64;
    }
    let by_job = |pick: fn(&(f64, f64, f64)) -> f64| -> Vec<(Labels, f64)> {
        jobs.iter()
            .map(|(j, v)| (vec![("scrape_job", j.to_string())], pick(v)))
            .collect()
    };
    o.family(
        "prometheus_target_scrape_pool_targets",
        "Current number of targets in this scrape pool.",
        MetricType::Gauge,
        by_job(|v| v.0),
    )?;
    o.family(
        "prometheus_target_metadata_cache_entries",
        "Total number of metric metadata entries in the cache",
        MetricType::Gauge,
        by_job(|v| v.2),
    )?;
    discovered.extend(jobs.iter().map(|(j, v)| {
        (
            vec![("config", j.to_string()), ("name", "scrape".to_string())],
            v.1,
        )
    }));
    let samples: u64 = active.iter().map(|a| a.status.samples).sum();
    o.gauge(
        "promterm_scrape_samples_last",
        "Samples the last scrape of every target yielded, summed",
        samples as f64,
    )?;
    o.gauge(
        "promterm_scrape_dropped_targets",
        "Targets dropped by relabeling",
        dropped.len() as f64,
    )?;
    let st = m.stats();
    let counters = [
        (
            "prometheus_target_scrapes_exceeded_sample_limit",
            "Total number of scrapes that hit the sample limit and were rejected.",
            load(&st.exceeded_sample_limit),
        ),
        (
            "prometheus_target_scrapes_exceeded_native_histogram_bucket_limit",
            "Total number of scrapes that hit the native histogram bucket limit and were rejected.",
            load(&st.exceeded_native_histogram_bucket_limit),
        ),
        (
            "prometheus_target_scrapes_exceeded_body_size_limit",
            "Total number of scrapes that hit the body size limit",
            load(&st.exceeded_body_size_limit),
        ),
        (
            "prometheus_target_scrape_pool_exceeded_label_limits",
            "Total number of times scrape pools hit the label limits, during sync or config reload.",
            load(&st.exceeded_label_limits),
        ),
        (
            "prometheus_target_scrape_pool_exceeded_target_limit",
            "Total number of times scrape pools hit the target limit, during sync or config reload.",
            load(&st.exceeded_target_limit),
        ),
        (
            "prometheus_target_scrapes_sample_out_of_order",
            "Total number of samples rejected due to not being out of the expected order.",
            load(&st.sample_out_of_order),
        ),
        (
            "prometheus_target_scrapes_sample_duplicate_timestamp",
            "Total number of samples rejected due to duplicate timestamps but different values.",
            load(&st.sample_duplicate_timestamp),
        ),
        (
            "prometheus_target_scrapes_exemplar_out_of_order",
            "Total number of exemplar rejected due to not being out of the expected order.",
            load(&st.exemplar_out_of_order),
        ),
        (
            // promterm's head takes any sample newer than its series' last: none is out of
            // bounds.
            "prometheus_target_scrapes_sample_out_of_bounds",
            "Total number of samples rejected due to timestamp falling outside of the time bounds.",
            0.0,
        ),
    ];
    for (name, help, v) in counters {
        o.counter(name, help, v)?;
    }
    let failed: Vec<(Labels, f64)> = st
        .sync_failed
        .lock()
        .iter()
        .map(|(j, n)| (vec![("scrape_job", j.clone())], *n as f64))
        .collect();
    o.family(
        "prometheus_target_sync_failed",
        "Total number of target sync failures.",
        MetricType::Counter,
        failed,
    )
}

fn rules(
    o: &mut Out,
    r: &crate::rules::manager::Manager,
    discovered: &mut Vec<(Labels, f64)>,
) -> std::fmt::Result {
    let (groups, rules) = r.counts();
    o.gauge("promterm_rule_groups", "Rule groups loaded", groups as f64)?;
    o.gauge("promterm_rules", "Rules loaded", rules as f64)?;
    o.counter(
        "promterm_rule_group_evaluation_seconds",
        "Time spent evaluating rule groups",
        load(&r.stats().eval_micros) / 1e6,
    )?;
    let reports = r.group_reports();
    type Pick = fn(&crate::rules::manager::GroupReport) -> f64;
    let per_group: [(&str, &str, MetricType, Pick); 8] = [
        (
            "prometheus_rule_evaluations",
            "The total number of rule evaluations.",
            MetricType::Counter,
            |g| g.stats.evaluations as f64,
        ),
        (
            "prometheus_rule_evaluation_failures",
            "The total number of rule evaluation failures.",
            MetricType::Counter,
            |g| g.stats.failures as f64,
        ),
        (
            "prometheus_rule_group_iterations",
            "The total number of scheduled rule group evaluations, whether executed or missed.",
            MetricType::Counter,
            |g| (g.stats.iterations + g.stats.missed_iterations) as f64,
        ),
        (
            "prometheus_rule_group_iterations_missed",
            "The total number of rule group evaluations missed due to slow rule group evaluation.",
            MetricType::Counter,
            |g| g.stats.missed_iterations as f64,
        ),
        (
            "prometheus_rule_group_rules",
            "The number of rules.",
            MetricType::Gauge,
            |g| g.rules as f64,
        ),
        (
            "prometheus_rule_group_interval_seconds",
            "The interval of a rule group.",
            MetricType::Gauge,
            |g| g.interval_seconds,
        ),
        (
            "prometheus_rule_group_last_duration_seconds",
            "The duration of the last rule group evaluation.",
            MetricType::Gauge,
            |g| g.stats.last_duration,
        ),
        (
            "prometheus_rule_group_last_evaluation_timestamp_seconds",
            "The timestamp of the last rule group evaluation in seconds.",
            MetricType::Gauge,
            |g| g.stats.last_evaluation,
        ),
    ];
    for (name, help, kind, pick) in per_group {
        let samples = reports
            .iter()
            .map(|g| (vec![("rule_group", g.key.clone())], pick(g)));
        o.family(name, help, kind, samples)?;
    }
    let Some(n) = r.notifier() else {
        return Ok(());
    };
    o.gauge(
        "prometheus_notifications_queue_length",
        "The number of alert notifications in the queue.",
        n.queue_len() as f64,
    )?;
    o.gauge(
        "prometheus_notifications_queue_capacity",
        "The capacity of the alert notifications queue.",
        n.queue_capacity() as f64,
    )?;
    o.counter(
        "prometheus_notifications_dropped",
        "Total number of alerts dropped due to errors when sending to Alertmanager.",
        n.dropped() as f64,
    )?;
    o.gauge(
        "prometheus_notifications_alertmanagers_discovered",
        "The number of alertmanagers discovered and active.",
        n.alertmanagers().0.len() as f64,
    )?;
    discovered.extend(
        n.discovered_per_config()
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    vec![
                        ("config", format!("config-{i}")),
                        ("name", "notify".to_string()),
                    ],
                    c as f64,
                )
            }),
    );
    // Every active Alertmanager has its series from the start, as in Prometheus.
    let mut stats: BTreeMap<String, crate::rules::notifier::AmStats> =
        n.stats().into_iter().collect();
    for url in n.alertmanagers().0 {
        stats.entry(url).or_default();
    }
    // As in Prometheus, "sent" counts every alert posted, errors included.
    type AmPick = fn(&crate::rules::notifier::AmStats) -> u64;
    let am: [(&str, &str, AmPick); 2] = [
        (
            "prometheus_notifications_sent",
            "Total number of alerts sent.",
            |s| s.sent + s.errors,
        ),
        (
            "prometheus_notifications_errors",
            "Total number of sent alerts affected by errors.",
            |s| s.errors,
        ),
    ];
    for (name, help, pick) in am {
        let samples = stats
            .iter()
            .map(|(url, st)| (vec![("alertmanager", url.clone())], pick(st) as f64));
        o.family(name, help, MetricType::Counter, samples)?;
    }
    Ok(())
}

fn remote_write(o: &mut Out, senders: &crate::send::Senders) -> std::fmt::Result {
    use crate::send::Sender;
    let list = senders.list.lock();
    type Pick = fn(&Sender) -> f64;
    let families: [(&str, &str, MetricType, Pick); 20] = [
        (
            "prometheus_remote_storage_samples_pending",
            "The number of samples pending in the queues shards to be sent to the remote storage.",
            MetricType::Gauge,
            |s| load(&s.stats.pending),
        ),
        (
            "prometheus_remote_storage_samples",
            "Total number of samples sent to remote storage (promterm: accepted or refused for good).",
            MetricType::Counter,
            |s| load(&s.stats.sent) + load(&s.stats.samples_failed),
        ),
        (
            "prometheus_remote_storage_samples_failed",
            "Total number of samples which failed on send to remote storage, non-recoverable errors.",
            MetricType::Counter,
            |s| load(&s.stats.samples_failed),
        ),
        (
            "prometheus_remote_storage_samples_retried",
            "Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.",
            MetricType::Counter,
            |s| load(&s.stats.samples_retried),
        ),
        (
            "prometheus_remote_storage_samples_dropped",
            "Total number of samples which were dropped after being read from the WAL before being sent via remote write, either via relabelling or unintentionally because of an unknown reference ID.",
            MetricType::Counter,
            |s| (load(&s.stats.dropped) - load(&s.stats.samples_failed)).max(0.0),
        ),
        (
            "prometheus_remote_storage_histograms_pending",
            "The number of histograms pending in the queues shards to be sent to the remote storage.",
            MetricType::Gauge,
            |s| load(&s.stats.histograms_pending),
        ),
        (
            "prometheus_remote_storage_histograms",
            "Total number of histograms sent to remote storage (promterm: accepted or refused for good).",
            MetricType::Counter,
            |s| load(&s.stats.histograms_sent) + load(&s.stats.histograms_failed),
        ),
        (
            "prometheus_remote_storage_histograms_failed",
            "Total number of histograms which failed on send to remote storage, non-recoverable errors.",
            MetricType::Counter,
            |s| load(&s.stats.histograms_failed),
        ),
        (
            "prometheus_remote_storage_histograms_retried",
            "Total number of histograms which failed on send to remote storage but were retried because the send error was recoverable.",
            MetricType::Counter,
            |s| load(&s.stats.histograms_retried),
        ),
        (
            "prometheus_remote_storage_histograms_dropped",
            "Total number of histograms which were dropped after being read from the WAL before being sent via remote write, either via relabelling, due to being too old or unintentionally because of an unknown reference ID.",
            MetricType::Counter,
            |s| load(&s.stats.histograms_dropped),
        ),
        (
            // promterm's WAL reader waits for room in a shard; it never retries an enqueue.
            "prometheus_remote_storage_enqueue_retries",
            "Total number of times enqueue has failed because a shards queue was full.",
            MetricType::Counter,
            |_| 0.0,
        ),
        (
            "prometheus_remote_storage_metadata",
            "Total number of metadata entries sent to remote storage.",
            MetricType::Counter,
            |s| load(&s.stats.metadata_sent),
        ),
        (
            "prometheus_remote_storage_exemplars",
            "Total number of exemplars sent to remote storage.",
            MetricType::Counter,
            |s| load(&s.stats.exemplars_sent),
        ),
        (
            "prometheus_remote_storage_shards",
            "The number of shards used for parallel sending to the remote storage.",
            MetricType::Gauge,
            |s| load(&s.stats.shards),
        ),
        (
            "prometheus_remote_storage_shards_desired",
            "The number of shards that the queues shard calculation wants to run based on the rate of samples in vs. samples out.",
            MetricType::Gauge,
            |s| load(&s.stats.desired_shards),
        ),
        (
            "prometheus_remote_storage_shards_min",
            "The minimum number of shards that the queue is allowed to run.",
            MetricType::Gauge,
            |s| s.min_shards as f64,
        ),
        (
            "prometheus_remote_storage_shards_max",
            "The maximum number of shards that the queue is allowed to run.",
            MetricType::Gauge,
            |s| s.max_shards as f64,
        ),
        (
            "prometheus_remote_storage_shard_capacity",
            "The capacity of each shard of the queue used for parallel sending to the remote storage.",
            MetricType::Gauge,
            |s| s.capacity as f64,
        ),
        (
            "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
            "Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, in seconds since epoch.",
            MetricType::Gauge,
            |s| s.stats.highest_sent_ms.load(Ordering::Relaxed) as f64 / 1000.0,
        ),
        (
            "promterm_remote_write_requests_failed",
            "Failed send attempts (retried)",
            MetricType::Counter,
            |s| load(&s.stats.failed),
        ),
    ];
    for (name, help, kind, pick) in families {
        let samples = list.iter().map(|s| {
            let labels = vec![("remote_name", s.name.clone()), ("url", s.url.clone())];
            (labels, pick(s))
        });
        o.family(name, help, kind, samples)?;
    }
    let segments = list.iter().map(|s| {
        (
            vec![("consumer", s.name.clone())],
            load(&s.stats.wal_segment),
        )
    });
    o.family(
        "prometheus_wal_watcher_current_segment",
        "Current segment the WAL watcher is reading records from.",
        MetricType::Gauge,
        segments,
    )
}

fn process(o: &mut Out) -> std::fmt::Result {
    if let Some((cpu, rss, vsize, start)) = process_stats() {
        o.counter(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            cpu,
        )?;
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                rss,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                vsize,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                start,
            ),
        ];
        for (name, help, v) in gauges {
            o.gauge(name, help, v)?;
        }
    }
    if let Ok(d) = std::fs::read_dir("/proc/self/fd") {
        o.gauge(
            "process_open_fds",
            "Number of open file descriptors.",
            d.count() as f64,
        )?;
    }
    Ok(())
}
