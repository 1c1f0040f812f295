//! The queue of one sender: tails the WAL from where promterm started, relabels each series
//! once, hands samples (and exemplars and histogram samples, when configured) to shards by
//! series so each series stays in order,
//! keeps the WAL segments holding unsent samples from deletion, and every `SHARD_UPDATE`
//! reconsiders the number of shards as Prometheus does. Uses `model`, `config`, `tsdb`,
//! `scrape`'s relabeling and the siblings `shard`, `metadata` and `encode`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::encode::{Counts, Item, Value};
use super::metadata::run_metadata;
use super::shard::{run_shard, Shared};
use super::MetadataFn;
use crate::config::{ProtobufMessage, RemoteWriteConfig};
use crate::model::Labels;
use crate::scrape::relabel::{self, LabelMap};
use crate::tsdb::wal::{self, Record};
use crate::tsdb::Db;

/// How often the shard count is reconsidered (Prometheus's `shardUpdateDuration`).
const SHARD_UPDATE: Duration = Duration::from_secs(10);
/// Most WAL bytes read at once.
const READ_BYTES: usize = 1 << 20;
/// Least WAL bytes read at a time.
const MIN_READ_BYTES: usize = 4 << 10;

struct Shard {
    tx: mpsc::UnboundedSender<Vec<Item>>,
    permits: Arc<Semaphore>,
    join: tokio::task::JoinHandle<()>,
}

pub(super) struct Task {
    id: usize,
    db: Db,
    pub(super) sh: Arc<Shared>,
    pub(super) shard_update: Duration,
}

impl Task {
    pub(super) fn new(
        db: Db,
        cfg: RemoteWriteConfig,
        client: reqwest::Client,
        stop: CancellationToken,
        metadata_fn: Option<MetadataFn>,
    ) -> Task {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1000);
        let v2 = cfg.protobuf_message == ProtobufMessage::V2;
        Task {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed) as usize,
            db,
            sh: Arc::new(Shared {
                cfg,
                client,
                stats: Arc::default(),
                stop,
                v2: Arc::new(AtomicBool::new(v2)),
                outstanding: Mutex::default(),
                timing: Mutex::default(),
                last_ok: Mutex::default(),
                metadata: RwLock::default(),
                metadata_fn,
            }),
            shard_update: SHARD_UPDATE,
        }
    }

    fn start_shards(&self, n: usize) -> Vec<Shard> {
        let cap = (self.sh.cfg.queue_config.capacity as usize).max(1);
        self.sh.stats.shards.store(n as u64, Ordering::Relaxed);
        (0..n)
            .map(|_| {
                let (tx, rx) = mpsc::unbounded_channel();
                let permits = Arc::new(Semaphore::new(cap));
                let join = tokio::spawn(run_shard(self.sh.clone(), rx, permits.clone()));
                Shard { tx, permits, join }
            })
            .collect()
    }

    /// Hands `items` to shard `shard`, as much as its queue has room for at a time, waiting
    /// while it is full (so a shard holding a partial batch always gets more). False if
    /// stopped.
    async fn dispatch(&self, shard: &Shard, mut items: Vec<Item>) -> bool {
        while !items.is_empty() {
            tokio::select! {
                p = shard.permits.acquire() => match p {
                    Ok(p) => p.forget(),
                    Err(_) => return false,
                },
                _ = self.sh.stop.cancelled() => return false,
            }
            // One permit held; take what else is free now.
            let more = shard
                .permits
                .available_permits()
                .min(items.len().saturating_sub(1));
            let more = match shard.permits.try_acquire_many(more as u32) {
                Ok(p) if more > 0 => {
                    p.forget();
                    more
                }
                _ => 0,
            };
            let rest = items.split_off(1 + more);
            if shard.tx.send(items).is_err() {
                return false;
            }
            items = rest;
        }
        true
    }

    /// Lets the shards send what they hold and end (for a new shard count).
    async fn drain(&self, shards: Vec<Shard>) {
        for s in shards {
            drop(s.tx);
            tokio::select! {
                _ = s.join => {}
                _ = self.sh.stop.cancelled() => {}
            }
        }
    }

    /// The WAL segment everything older than which has been sent.
    fn hold_from(&self, reading: u64) -> u64 {
        let out = self.sh.outstanding.lock();
        out.iter()
            .find(|(_, n)| **n > 0)
            .map_or(reading, |(s, _)| (*s).min(reading))
    }

    pub(super) async fn run(self) {
        let dir = self.db.wal_dir();
        // Start at the end of the WAL: what was written before promterm started is not re-sent.
        let mut seg = self.db.wal_segment();
        let mut off = wal::segment_len(&dir, seg);
        self.db.hold_wal(self.id, Some(seg));
        let q = self.sh.cfg.queue_config.clone();
        let (min_shards, max_shards) = (
            q.min_shards.max(1) as usize,
            q.max_shards.max(q.min_shards).max(1) as usize,
        );
        let mut shards = self.start_shards(min_shards);
        self.sh
            .stats
            .desired_shards
            .store(min_shards as u64, Ordering::Relaxed);
        let metadata_task = tokio::spawn(run_metadata(self.sh.clone()));
        let mut labels_cache: HashMap<u64, Option<Labels>> = HashMap::new();
        let mut last_update = Instant::now();
        let mut samples_in = 0u64;
        let mut in_rate: Option<f64> = None;
        // WAL bytes read and samples they held, to estimate the unread backlog in samples.
        let (mut bytes_read, mut samples_read) = (0u64, 0u64);
        loop {
            if self.sh.stop.is_cancelled() {
                break;
            }
            // Read about what the shards can take now, so the loop (and with it the shard
            // update) comes round often even while the shards are the bottleneck.
            let room = (q.capacity as usize).max(1) * shards.len();
            let per_sample = if samples_read > 0 {
                bytes_read as f64 / samples_read as f64
            } else {
                16.0
            };
            let max_bytes = ((room as f64 * per_sample) as usize).clamp(MIN_READ_BYTES, READ_BYTES);
            self.sh.stats.wal_segment.store(seg, Ordering::Relaxed);
            let (d2, s2) = (dir.clone(), seg);
            let read =
                tokio::task::spawn_blocking(move || wal::read_from(&d2, s2, off, max_bytes)).await;
            let (records, new_off, stuck) = match read {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    warn!(url = %self.sh.cfg.url, "reading the WAL failed: {e}");
                    (Vec::new(), off, false)
                }
                Err(_) => (Vec::new(), off, false),
            };
            let got = !records.is_empty();
            bytes_read += new_off.saturating_sub(off);
            off = new_off;
            let n = shards.len();
            let mut per: Vec<Vec<Item>> = (0..n).map(|_| Vec::new()).collect();
            let mut read = Counts::default();
            for r in records {
                let Some(list) = to_send(r, &self.sh.cfg) else {
                    continue;
                };
                for (id, t, value) in list {
                    let l = labels_cache.entry(id).or_insert_with(|| self.relabeled(id));
                    match l {
                        Some(l) => {
                            per[shard_of(id, n)].push(Item {
                                labels: l.clone(),
                                t,
                                value,
                                seg,
                            });
                        }
                        None if matches!(value, Value::Histogram(_)) => {
                            self.sh
                                .stats
                                .histograms_dropped
                                .fetch_add(1, Ordering::Relaxed);
                        }
                        None => {
                            self.sh.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            for items in &per {
                read.add(&Counts::of(items));
            }
            let count = read.samples_and_exemplars() + read.histograms;
            samples_read += count;
            if count > 0 {
                samples_in += count;
                *self.sh.outstanding.lock().entry(seg).or_default() += count;
                self.sh
                    .stats
                    .pending
                    .fetch_add(read.samples_and_exemplars(), Ordering::Relaxed);
                self.sh
                    .stats
                    .histograms_pending
                    .fetch_add(read.histograms, Ordering::Relaxed);
                for (i, items) in per.into_iter().enumerate() {
                    if !items.is_empty() && !self.dispatch(&shards[i], items).await {
                        break;
                    }
                }
            }
            self.db.hold_wal(self.id, Some(self.hold_from(seg)));
            // At the end of this segment: move on if a newer one exists.
            if !got && !stuck {
                let newest = self.db.wal_segment();
                if newest > seg && off >= wal::segment_len(&dir, seg) {
                    seg += 1;
                    off = 0;
                    continue;
                }
            }
            if last_update.elapsed() >= self.shard_update {
                let secs = last_update.elapsed().as_secs_f64();
                last_update = Instant::now();
                let rate = samples_in as f64 / secs;
                samples_in = 0;
                // Prometheus's EWMA weight for a 10 s tick.
                let r = match in_rate {
                    Some(old) => old + 0.2 * (rate - old),
                    None => rate,
                };
                in_rate = Some(r);
                let (busy, sent) = std::mem::take(&mut *self.sh.timing.lock());
                // The backlog: samples queued in shards plus those still unread in the WAL.
                let unread: u64 = (seg..=self.db.wal_segment())
                    .map(|s| wal::segment_len(&dir, s))
                    .sum::<u64>()
                    .saturating_sub(off);
                let per_byte = if bytes_read > 0 {
                    samples_read as f64 / bytes_read as f64
                } else {
                    0.0
                };
                let backlog = self.sh.stats.pending.load(Ordering::Relaxed)
                    + self.sh.stats.histograms_pending.load(Ordering::Relaxed)
                    + (unread as f64 * per_byte) as u64;
                let want =
                    desired_shards(busy, sent, r, backlog, shards.len(), min_shards, max_shards);
                self.sh
                    .stats
                    .desired_shards
                    .store(want as u64, Ordering::Relaxed);
                let healthy = self
                    .sh
                    .last_ok
                    .lock()
                    .is_some_and(|t| t.elapsed() < 2 * q.batch_send_deadline.as_std());
                if want != shards.len() && healthy {
                    info!(url = %self.sh.cfg.url, from = shards.len(), to = want, "remote write resharding");
                    self.drain(std::mem::take(&mut shards)).await;
                    if self.sh.stop.is_cancelled() {
                        break;
                    }
                    shards = self.start_shards(want);
                }
            }
            if !got {
                tokio::select! {
                    _ = self.sh.stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
        }
        drop(shards);
        metadata_task.abort();
        self.db.hold_wal(self.id, None);
    }

    /// The labels series `id` is sent with (None: relabeled away or unknown).
    fn relabeled(&self, id: u64) -> Option<Labels> {
        let l = self.db.series_labels(id)?;
        if self.sh.cfg.write_relabel_configs.is_empty() {
            return Some(l);
        }
        let mut m: LabelMap = l
            .iter()
            .map(|x| (x.name.to_string(), x.value.to_string()))
            .collect();
        relabel::process(&self.sh.cfg.write_relabel_configs, &mut m).then(|| Labels::from_pairs(m))
    }
}

/// What of a WAL record goes out, as (series id, time, value): samples always, exemplars with
/// `send_exemplars`, native histograms with `send_native_histograms`; `None` for the rest (a
/// flush's checkpoint of the exemplar buffer holds ones already read, so it is not sent again).
pub(super) fn to_send(r: Record, cfg: &RemoteWriteConfig) -> Option<Vec<(u64, i64, Value)>> {
    Some(match r {
        Record::Samples(samples) => samples
            .into_iter()
            .map(|(id, t, v)| (id, t, Value::Sample(v)))
            .collect(),
        Record::Exemplars(list) if cfg.send_exemplars => list
            .into_iter()
            .map(|(id, e)| (id, e.t, Value::Exemplar(e.labels, e.value)))
            .collect(),
        Record::Histograms(list) if cfg.send_native_histograms => list
            .into_iter()
            .map(|(id, s)| (id, s.t, Value::Histogram(Box::new(s.h))))
            .collect(),
        _ => return None,
    })
}

/// The shard a series goes to (the same one while the count stays).
pub(super) fn shard_of(id: u64, n: usize) -> usize {
    ((id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % n.max(1) as u64) as usize
}

/// Prometheus's shard calculation: the time one shard needs per sample times the samples to
/// send per second (incoming, plus 5% of the backlog), kept within `[min, max]`; changes of
/// less than 30% are ignored. Without sends to measure, the count stays.
pub(super) fn desired_shards(
    busy: Duration,
    sent: u64,
    in_rate: f64,
    pending: u64,
    current: usize,
    min: usize,
    max: usize,
) -> usize {
    if sent == 0 {
        return current.clamp(min, max);
    }
    let per_sample = busy.as_secs_f64() / sent as f64;
    let want = per_sample * (in_rate + 0.05 * pending as f64);
    let (lo, hi) = (current as f64 * 0.7, current as f64 * 1.3);
    let n = if want >= lo && want <= hi {
        current
    } else {
        want.ceil().max(1.0) as usize
    };
    n.clamp(min, max)
}
