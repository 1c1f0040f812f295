//! Remote-write sender (`remote_write` in the config): forwards everything stored to Mimir,
//! Thanos Receive, VictoriaMetrics or another Prometheus, as protobuf 1.0 with snappy.
//!
//! Each `remote_write` entry tails the WAL from where promterm started (as Prometheus does,
//! older samples are not re-sent): sample records become batches of up to
//! `max_samples_per_send`, sent when full or after `batch_send_deadline`. The WAL segments a
//! sender has not finished are kept from deletion, so a receiver that is down loses nothing
//! the WAL still holds: 5xx, 429 and network errors are retried with backoff from
//! `min_backoff` to `max_backoff` (honouring `Retry-After`), in order; other 4xx answers drop
//! the batch and count it. `write_relabel_configs` apply per series. Counters (pending, sent,
//! failed, dropped) are for `/metrics`.
//!
//! One ordered sending loop per entry: `capacity` and the shard settings are accepted but the
//! parallelism is fixed at one. Uses `model`, `config`, `tsdb`, `remote` and `scrape`'s HTTP
//! client code.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::config::RemoteWriteConfig;
use crate::model::{Labels, Sample};
use crate::remote::proto::encode_write_request;
use crate::scrape::client::{build_client, error_chain, with_auth};
use crate::scrape::relabel::{self, LabelMap};
use crate::tsdb::wal::{self, Record};
use crate::tsdb::Db;

/// Counters of one sender.
#[derive(Debug, Default)]
pub struct Stats {
    /// Samples read from the WAL and not yet sent or dropped.
    pub pending: AtomicU64,
    pub sent: AtomicU64,
    /// Failed send attempts (each is retried).
    pub failed: AtomicU64,
    /// Samples dropped (4xx answers, relabeling).
    pub dropped: AtomicU64,
    pub retries: AtomicU64,
}

/// A running sender, as `/metrics` reports it.
#[derive(Debug)]
pub struct Sender {
    pub name: String,
    pub url: String,
    pub stats: Arc<Stats>,
    stop: CancellationToken,
    /// The entry as configured, to keep an unchanged sender running across reloads.
    config: String,
}

impl Sender {
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

/// The senders of the current config.
#[derive(Debug, Default)]
pub struct Senders {
    pub list: parking_lot::Mutex<Vec<Sender>>,
}

impl Senders {
    /// Runs one sender per `remote_write` entry of `cfgs`: unchanged entries keep their
    /// running sender (and its place in the WAL), others start at the WAL's end, removed ones
    /// stop.
    pub fn apply(
        &self,
        db: &Db,
        cfgs: &[RemoteWriteConfig],
        shutdown: &CancellationToken,
    ) -> Result<(), String> {
        // Settings that cannot work fail the whole apply before anything changes.
        for c in cfgs {
            build_client(&c.http_client(), c.remote_timeout.as_std(), false)
                .map_err(|e| format!("{}: {e}", c.url))?;
        }
        let mut new = Vec::new();
        let mut old: Vec<Sender> = std::mem::take(&mut *self.list.lock());
        for (i, c) in cfgs.iter().enumerate() {
            let config = serde_yaml::to_string(c).unwrap_or_default();
            if let Some(p) = old.iter().position(|s| s.config == config) {
                new.push(old.remove(p));
                continue;
            }
            if c.protobuf_message == crate::config::ProtobufMessage::V2 {
                warn!(url = %c.url, "remote write 2.0 sending is not supported yet; sending 1.0 (prometheus.WriteRequest)");
            }
            let client = build_client(&c.http_client(), c.remote_timeout.as_std(), false)?;
            let stats = Arc::new(Stats::default());
            let stop = shutdown.child_token();
            let name = c.name.clone().unwrap_or_else(|| format!("{i}:{}", c.url));
            static NEXT_ID: AtomicU64 = AtomicU64::new(1000);
            let task = Task {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed) as usize,
                db: db.clone(),
                cfg: c.clone(),
                client,
                stats: stats.clone(),
                stop: stop.clone(),
            };
            tokio::spawn(task.run());
            new.push(Sender {
                name,
                url: c.url.clone(),
                stats,
                stop,
                config,
            });
        }
        for s in old {
            s.stop();
        }
        *self.list.lock() = new;
        Ok(())
    }
}

struct Task {
    id: usize,
    db: Db,
    cfg: RemoteWriteConfig,
    client: reqwest::Client,
    stats: Arc<Stats>,
    stop: CancellationToken,
}

/// What a send ended with.
enum Outcome {
    Sent,
    Dropped(String),
    Stopped,
}

impl Task {
    async fn run(self) {
        let dir = self.db.wal_dir();
        // Start at the end of the WAL: what was written before promterm started is not re-sent.
        let mut seg = self.db.wal_segment();
        let mut off = wal::segment_len(&dir, seg);
        self.db.hold_wal(self.id, Some(seg));
        let mut labels_cache: HashMap<u64, Option<Labels>> = HashMap::new();
        let mut batch: Vec<(Labels, Sample)> = Vec::new();
        let mut first_at: Option<Instant> = None;
        let max = (self.cfg.queue_config.max_samples_per_send as usize).max(1);
        let deadline = self.cfg.queue_config.batch_send_deadline.as_std();
        loop {
            if self.stop.is_cancelled() {
                break;
            }
            let (d2, s2) = (dir.clone(), seg);
            let read = tokio::task::spawn_blocking(move || wal::read_from(&d2, s2, off)).await;
            let (records, new_off, stuck) = match read {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    warn!(url = %self.cfg.url, "reading the WAL failed: {e}");
                    (Vec::new(), off, false)
                }
                Err(_) => (Vec::new(), off, false),
            };
            let got = !records.is_empty();
            off = new_off;
            for r in records {
                let Record::Samples(samples) = r else {
                    continue;
                };
                for (id, t, v) in samples {
                    let l = labels_cache.entry(id).or_insert_with(|| {
                        let l = self.db.series_labels(id)?;
                        if self.cfg.write_relabel_configs.is_empty() {
                            return Some(l);
                        }
                        let mut m: LabelMap = l
                            .iter()
                            .map(|x| (x.name.to_string(), x.value.to_string()))
                            .collect();
                        relabel::process(&self.cfg.write_relabel_configs, &mut m)
                            .then(|| Labels::from_pairs(m))
                    });
                    match l {
                        Some(l) => {
                            batch.push((l.clone(), Sample { t, v }));
                            self.stats.pending.fetch_add(1, Ordering::Relaxed);
                            first_at.get_or_insert_with(Instant::now);
                        }
                        None => {
                            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            let full = batch.len() >= max;
            let due = first_at.is_some_and(|t| t.elapsed() >= deadline);
            if !batch.is_empty() && (full || due) {
                let n = batch.len().min(max);
                let part: Vec<(Labels, Sample)> = batch.drain(..n).collect();
                match self.send(&part).await {
                    Outcome::Sent => {
                        self.stats.sent.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    Outcome::Dropped(why) => {
                        warn!(url = %self.cfg.url, samples = n, "remote write dropped a batch: {why}");
                        self.stats.dropped.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    Outcome::Stopped => break,
                }
                let _ =
                    self.stats
                        .pending
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
                            Some(p.saturating_sub(n as u64))
                        });
                first_at = if batch.is_empty() {
                    None
                } else {
                    Some(Instant::now())
                };
                if batch.is_empty() {
                    // Everything read so far is sent: older segments may go.
                    self.db.hold_wal(self.id, Some(seg));
                }
                continue;
            }
            // At the end of this segment: move on if a newer one exists.
            if !got && !stuck {
                let newest = self.db.wal_segment();
                if newest > seg && off >= wal::segment_len(&dir, seg) {
                    seg += 1;
                    off = 0;
                    if batch.is_empty() {
                        self.db.hold_wal(self.id, Some(seg));
                    }
                    continue;
                }
            }
            if !got {
                tokio::select! {
                    _ = self.stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
        }
        self.db.hold_wal(self.id, None);
    }

    /// Sends one batch, retrying until it is accepted, refused for good, or the sender stops.
    async fn send(&self, batch: &[(Labels, Sample)]) -> Outcome {
        // Group samples by series, in order.
        let mut order: Vec<&Labels> = Vec::new();
        let mut by: HashMap<&Labels, Vec<Sample>> = HashMap::new();
        for (l, s) in batch {
            by.entry(l)
                .or_insert_with(|| {
                    order.push(l);
                    Vec::new()
                })
                .push(*s);
        }
        let series: Vec<crate::remote::proto::SeriesToEncode<'_>> = order
            .iter()
            .map(|l| {
                (
                    l.iter().map(|x| (&*x.name, &*x.value)).collect(),
                    by.remove(*l).unwrap_or_default(),
                )
            })
            .collect();
        let raw = encode_write_request(&series);
        let body = match snap::raw::Encoder::new().compress_vec(&raw) {
            Ok(b) => b,
            Err(e) => return Outcome::Dropped(format!("snappy: {e}")),
        };
        let q = &self.cfg.queue_config;
        let mut backoff = q.min_backoff.as_std().max(Duration::from_millis(10));
        let max_backoff = q.max_backoff.as_std().max(backoff);
        loop {
            let mut req = self
                .client
                .post(&self.cfg.url)
                .header("Content-Type", "application/x-protobuf")
                .header("Content-Encoding", "snappy")
                .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                .header(
                    "User-Agent",
                    concat!("promterm/", env!("CARGO_PKG_VERSION")),
                )
                .body(body.clone());
            for (k, v) in &self.cfg.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let wait = match with_auth(req, &self.cfg.http_client()) {
                Err(e) => return Outcome::Dropped(e),
                Ok(req) => match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        debug!(url = %self.cfg.url, samples = batch.len(), "sent");
                        return Outcome::Sent;
                    }
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let retry_after = r
                            .headers()
                            .get("Retry-After")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok())
                            .map(Duration::from_secs);
                        let text = r.text().await.unwrap_or_default();
                        let retry = status >= 500 || (status == 429 && q.retry_on_http_429);
                        if !retry {
                            return Outcome::Dropped(format!(
                                "HTTP {status}: {}",
                                text.trim().chars().take(200).collect::<String>()
                            ));
                        }
                        warn!(url = %self.cfg.url, status, "remote write failed, will retry");
                        retry_after
                    }
                    Err(e) => {
                        warn!(url = %self.cfg.url, "remote write failed, will retry: {}", error_chain(&e));
                        None
                    }
                },
            };
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            let sleep = wait.unwrap_or(backoff);
            tokio::select! {
                _ = self.stop.cancelled() => return Outcome::Stopped,
                _ = tokio::time::sleep(sleep) => {}
            }
            backoff = (backoff * 2).min(max_backoff);
        }
    }
}
