//! Remote-write sender (`remote_write` in the config): forwards everything stored to Mimir,
//! Thanos Receive, VictoriaMetrics or another Prometheus, as remote write 1.0
//! (`prometheus.WriteRequest`) or 2.0 (`io.prometheus.write.v2.Request`, with per-series
//! metadata) over snappy-compressed protobuf.
//!
//! Each `remote_write` entry tails the WAL from where promterm started (as Prometheus does,
//! older samples are not re-sent). A reader hands samples to shards by series, so each series
//! stays in order; each shard queues up to `capacity` samples and sends batches of up to
//! `max_samples_per_send`, when full or after `batch_send_deadline`. The WAL segments holding
//! samples not yet sent are kept from deletion, so a receiver that is down loses nothing the
//! WAL still holds: 5xx, 429 and network errors are retried with backoff from `min_backoff` to
//! `max_backoff` (honouring `Retry-After`); other 4xx answers drop the batch and count it. When
//! the shards are full the reader waits (the WAL keeps the rest).
//!
//! The number of shards moves between `min_shards` and `max_shards` as Prometheus's does:
//! every 10 s the time one sample takes to send is multiplied by the incoming rate plus a
//! share of the backlog; a change of more than 30% (and only while sends succeed) drains the
//! shards and starts the new number. A 2.0 endpoint that answers 415 gets 1.0 from then on.
//! With `metadata_config.send` (1.0), the metadata of every scraped or received metric is
//! sent every `send_interval`. With `send_exemplars`, exemplar records of the WAL go out with
//! their series (1.0 `TimeSeries.exemplars`, 2.0 `exemplars`) through the same shards.
//! Counters are for `/metrics` and the status API.
//!
//! Uses `model`, `config`, `storage`, `tsdb`, `remote`, `textparse` and `scrape`'s HTTP client
//! code.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::{ProtobufMessage, RemoteWriteConfig};
use crate::model::{now_ms, Labels, Sample};
use crate::remote::proto::{
    encode_metadata, encode_v2, encode_write_request_with_exemplars, SeriesV2,
};
use crate::scrape::client::{build_client, error_chain, with_auth, HttpClientError};
use crate::scrape::relabel::{self, LabelMap};
use crate::storage::Exemplar;
use crate::textparse::Metadata;
use crate::tsdb::wal::{self, Record};
use crate::tsdb::Db;

/// Where the metadata to send comes from: every known (family name, metadata).
pub type MetadataFn = Arc<dyn Fn() -> Vec<(String, Metadata)> + Send + Sync>;

/// How often the shard count is reconsidered (Prometheus's `shardUpdateDuration`).
const SHARD_UPDATE: Duration = Duration::from_secs(10);
/// Most WAL bytes read at once.
const READ_BYTES: usize = 1 << 20;
/// Least WAL bytes read at a time.
const MIN_READ_BYTES: usize = 4 << 10;

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
    /// Shards running now, and the number the last calculation wanted.
    pub shards: AtomicU64,
    pub desired_shards: AtomicU64,
    /// Metadata entries sent.
    pub metadata_sent: AtomicU64,
    /// Exemplars sent (with `send_exemplars`; not in `sent`).
    pub exemplars_sent: AtomicU64,
    /// Samples of batches the endpoint refused for good (also counted in `dropped`), and
    /// samples of attempts that will be retried.
    pub samples_failed: AtomicU64,
    pub samples_retried: AtomicU64,
    /// The newest sample time sent successfully (ms), and the WAL segment being read.
    pub highest_sent_ms: AtomicI64,
    pub wal_segment: AtomicU64,
}

/// A running sender, as `/metrics` reports it.
#[derive(Debug)]
pub struct Sender {
    pub name: String,
    pub url: String,
    pub stats: Arc<Stats>,
    /// The protocol in use ("1.0" or "2.0").
    pub protocol: Arc<AtomicBool>,
    pub min_shards: u64,
    pub max_shards: u64,
    /// Samples each shard may queue (`queue_config.capacity`).
    pub capacity: u64,
    stop: CancellationToken,
    /// The entry as configured, to keep an unchanged sender running across reloads.
    config: String,
}

impl Sender {
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// "2.0" while sending remote write 2.0, else "1.0".
    pub fn protocol(&self) -> &'static str {
        if self.protocol.load(Ordering::Relaxed) {
            "2.0"
        } else {
            "1.0"
        }
    }
}

/// Why `remote_write` settings could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum SendConfigError {
    /// An entry's HTTP client settings cannot work (checked before anything changes).
    #[error("{url}: {source}")]
    Settings {
        url: String,
        #[source]
        source: HttpClientError,
    },
    /// A client that passed the check failed to build when its sender started.
    #[error(transparent)]
    HttpClient(#[from] HttpClientError),
}

/// The senders of the current config.
#[derive(Default)]
pub struct Senders {
    pub list: Mutex<Vec<Sender>>,
    metadata: Option<MetadataFn>,
}

impl std::fmt::Debug for Senders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Senders").field("list", &self.list).finish()
    }
}

impl Senders {
    /// Senders that send the metadata `f` gives (for 2.0 per series, for 1.0 periodically).
    pub fn with_metadata(f: MetadataFn) -> Self {
        Senders {
            list: Mutex::default(),
            metadata: Some(f),
        }
    }

    /// Runs one sender per `remote_write` entry of `cfgs`: unchanged entries keep their
    /// running sender (and its place in the WAL), others start at the WAL's end, removed ones
    /// stop.
    pub fn apply(
        &self,
        db: &Db,
        cfgs: &[RemoteWriteConfig],
        shutdown: &CancellationToken,
    ) -> Result<(), SendConfigError> {
        // Settings that cannot work fail the whole apply before anything changes.
        for c in cfgs {
            build_client(&c.http_client(), c.remote_timeout.as_std(), false).map_err(|source| {
                SendConfigError::Settings {
                    url: c.url.clone(),
                    source,
                }
            })?;
        }
        let mut new = Vec::new();
        let mut old: Vec<Sender> = std::mem::take(&mut *self.list.lock());
        for (i, c) in cfgs.iter().enumerate() {
            let config = serde_yaml::to_string(c).unwrap_or_default();
            if let Some(p) = old.iter().position(|s| s.config == config) {
                new.push(old.remove(p));
                continue;
            }
            let client = build_client(&c.http_client(), c.remote_timeout.as_std(), false)?;
            let stop = shutdown.child_token();
            let name = c.name.clone().unwrap_or_else(|| format!("{i}:{}", c.url));
            let task = Task::new(
                db.clone(),
                c.clone(),
                client,
                stop.clone(),
                self.metadata.clone(),
            );
            new.push(Sender {
                name,
                url: c.url.clone(),
                stats: task.sh.stats.clone(),
                protocol: task.sh.v2.clone(),
                min_shards: c.queue_config.min_shards.max(1),
                max_shards: c.queue_config.max_shards.max(1),
                capacity: c.queue_config.capacity,
                stop,
                config,
            });
            tokio::spawn(task.run());
        }
        for s in old {
            s.stop();
        }
        *self.list.lock() = new;
        Ok(())
    }
}

/// One sample (or, with `exemplar`, an exemplar: its labels, and its value and time in
/// `sample`) on its way, with the WAL segment it came from.
struct Item {
    labels: Labels,
    sample: Sample,
    exemplar: Option<Labels>,
    seg: u64,
}

/// What the reader and the shards of one sender share.
struct Shared {
    cfg: RemoteWriteConfig,
    client: reqwest::Client,
    stats: Arc<Stats>,
    stop: CancellationToken,
    /// Sending 2.0 (false after a 415, or when configured for 1.0).
    v2: Arc<AtomicBool>,
    /// Samples handed to shards and not yet sent or dropped, by WAL segment.
    outstanding: Mutex<BTreeMap<u64, u64>>,
    /// Time spent in successful sends and samples they carried, since the last shard update.
    timing: Mutex<(Duration, u64)>,
    /// When a send last succeeded.
    last_ok: Mutex<Option<Instant>>,
    /// Metadata by family name, for 2.0 series.
    metadata: RwLock<HashMap<String, Metadata>>,
    metadata_fn: Option<MetadataFn>,
}

/// What one POST ended with.
enum Outcome {
    Sent,
    Dropped(String),
    /// The endpoint does not take 2.0 (415).
    Unsupported,
    /// Retrying stopped because samples of the batch passed `sample_age_limit`.
    Expired,
    Stopped,
}

struct Shard {
    tx: mpsc::UnboundedSender<Vec<Item>>,
    permits: Arc<Semaphore>,
    join: tokio::task::JoinHandle<()>,
}

struct Task {
    id: usize,
    db: Db,
    sh: Arc<Shared>,
    shard_update: Duration,
}

impl Task {
    fn new(
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

    async fn run(self) {
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
            let mut count = 0u64;
            for r in records {
                // Exemplars go with `send_exemplars`; a flush's checkpoint of the exemplar
                // buffer holds ones already read, so it is not sent again.
                let list: Vec<(u64, Sample, Option<Labels>)> = match r {
                    Record::Samples(samples) => samples
                        .into_iter()
                        .map(|(id, t, v)| (id, Sample { t, v }, None))
                        .collect(),
                    Record::Exemplars(list) if self.sh.cfg.send_exemplars => list
                        .into_iter()
                        .map(|(id, e)| (id, Sample { t: e.t, v: e.value }, Some(e.labels)))
                        .collect(),
                    _ => continue,
                };
                for (id, sample, exemplar) in list {
                    let l = labels_cache.entry(id).or_insert_with(|| self.relabeled(id));
                    match l {
                        Some(l) => {
                            per[shard_of(id, n)].push(Item {
                                labels: l.clone(),
                                sample,
                                exemplar,
                                seg,
                            });
                            count += 1;
                        }
                        None => {
                            self.sh.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            samples_read += count;
            if count > 0 {
                samples_in += count;
                *self.sh.outstanding.lock().entry(seg).or_default() += count;
                self.sh.stats.pending.fetch_add(count, Ordering::Relaxed);
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

/// The shard a series goes to (the same one while the count stays).
fn shard_of(id: u64, n: usize) -> usize {
    ((id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % n.max(1) as u64) as usize
}

/// Prometheus's shard calculation: the time one shard needs per sample times the samples to
/// send per second (incoming, plus 5% of the backlog), kept within `[min, max]`; changes of
/// less than 30% are ignored. Without sends to measure, the count stays.
fn desired_shards(
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

/// One shard: batches what the reader hands it and sends the batches in order.
async fn run_shard(
    sh: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<Vec<Item>>,
    permits: Arc<Semaphore>,
) {
    let max = (sh.cfg.queue_config.max_samples_per_send as usize).max(1);
    let deadline = sh.cfg.queue_config.batch_send_deadline.as_std();
    let mut batch: Vec<Item> = Vec::new();
    let mut first: Option<tokio::time::Instant> = None;
    let mut closed = false;
    loop {
        while !batch.is_empty()
            && (batch.len() >= max || closed || first.is_some_and(|f| f.elapsed() >= deadline))
        {
            let n = batch.len().min(max);
            let part: Vec<Item> = batch.drain(..n).collect();
            if !sh.send_batch(&part).await {
                return;
            }
            permits.add_permits(n);
            first = (!batch.is_empty()).then(tokio::time::Instant::now);
        }
        if closed {
            return;
        }
        let wake = first.map(|f| f + deadline);
        tokio::select! {
            m = rx.recv() => match m {
                Some(items) => {
                    if first.is_none() && !items.is_empty() {
                        first = Some(tokio::time::Instant::now());
                    }
                    batch.extend(items);
                }
                None => closed = true,
            },
            _ = async {
                match wake {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            } => {}
            _ = sh.stop.cancelled() => return,
        }
    }
}

/// Sends the known metadata every `send_interval` (1.0 only: 2.0 carries it per series, and
/// keeps the lookup for that fresh).
async fn run_metadata(sh: Arc<Shared>) {
    let Some(f) = sh.metadata_fn.clone() else {
        return;
    };
    let mc = sh.cfg.metadata_config.clone();
    let interval = mc.send_interval.as_std().max(Duration::from_secs(1));
    // 2.0 series look their metadata up; refresh it more often than 1.0 sends it.
    let refresh = interval.min(Duration::from_secs(15));
    let mut last_send: Option<Instant> = None;
    loop {
        let all = f();
        {
            let mut m = sh.metadata.write();
            m.clear();
            for (n, md) in &all {
                m.insert(n.clone(), md.clone());
            }
        }
        let due = last_send.is_none_or(|t| t.elapsed() >= interval);
        if mc.send && !sh.v2.load(Ordering::Relaxed) && due && !all.is_empty() {
            last_send = Some(Instant::now());
            let per = (mc.max_samples_per_send as usize).max(1);
            for chunk in all.chunks(per) {
                let entries: Vec<(u64, &str, &str, &str)> = chunk
                    .iter()
                    .map(|(n, m)| (m.kind.proto(), n.as_str(), m.help.as_str(), m.unit.as_str()))
                    .collect();
                match sh.post(encode_metadata(&entries), 0, false, None).await {
                    Outcome::Sent => {
                        sh.stats
                            .metadata_sent
                            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    }
                    Outcome::Dropped(why) => {
                        warn!(url = %sh.cfg.url, "remote write dropped metadata: {why}");
                    }
                    Outcome::Unsupported | Outcome::Expired | Outcome::Stopped => {}
                }
            }
        }
        tokio::select! {
            _ = sh.stop.cancelled() => return,
            _ = tokio::time::sleep(refresh) => {}
        }
    }
}

impl Shared {
    /// The metadata of a series' family for 2.0 (counters may be named with or without
    /// `_total`, histograms and summaries by family).
    fn lookup(&self, metric: &str) -> Option<Metadata> {
        let m = self.metadata.read();
        if let Some(x) = m.get(metric) {
            return Some(x.clone());
        }
        for suffix in ["_total", "_bucket", "_sum", "_count", "_created", "_info"] {
            if let Some(x) = metric.strip_suffix(suffix).and_then(|f| m.get(f)) {
                return Some(x.clone());
            }
        }
        None
    }

    /// Sends one batch (retrying until it is accepted, refused for good, or the sender
    /// stops) and accounts for it. False once the sender stops.
    async fn send_batch(&self, batch: &[Item]) -> bool {
        let age_limit = self.cfg.queue_config.sample_age_limit.as_std();
        let mut too_old = 0u64;
        let mut kept: Vec<&Item> = batch.iter().collect();
        let started = Instant::now();
        let mut outcome;
        loop {
            // With `sample_age_limit`, samples older than it are dropped before each attempt.
            let mut give_up_at = None;
            if !age_limit.is_zero() {
                let limit_ms = age_limit.as_millis() as i64;
                let cutoff = now_ms() - limit_ms;
                let before = kept.len();
                kept.retain(|it| it.sample.t >= cutoff);
                too_old += (before - kept.len()) as u64;
                give_up_at = kept.iter().map(|it| it.sample.t + limit_ms).min();
            }
            if kept.is_empty() {
                outcome = Outcome::Sent;
                break;
            }
            outcome = self.send_items(&kept, give_up_at).await;
            if !matches!(outcome, Outcome::Expired) {
                break;
            }
        }
        if too_old > 0 {
            warn!(url = %self.cfg.url, samples = too_old, "remote write dropped samples older than sample_age_limit");
            self.stats.dropped.fetch_add(too_old, Ordering::Relaxed);
        }
        let n = kept.len() as u64;
        match outcome {
            Outcome::Sent => {
                let exemplars = kept.iter().filter(|it| it.exemplar.is_some()).count() as u64;
                self.stats.sent.fetch_add(n - exemplars, Ordering::Relaxed);
                self.stats
                    .exemplars_sent
                    .fetch_add(exemplars, Ordering::Relaxed);
                if let Some(t) = kept.iter().map(|it| it.sample.t).max() {
                    self.stats.highest_sent_ms.fetch_max(t, Ordering::Relaxed);
                }
                let mut t = self.timing.lock();
                t.0 += started.elapsed();
                t.1 += n;
                *self.last_ok.lock() = Some(Instant::now());
            }
            Outcome::Dropped(why) => {
                warn!(url = %self.cfg.url, samples = n, "remote write dropped a batch: {why}");
                self.stats.dropped.fetch_add(n, Ordering::Relaxed);
                self.stats.samples_failed.fetch_add(n, Ordering::Relaxed);
            }
            Outcome::Unsupported => {
                warn!(url = %self.cfg.url, samples = n, "remote write dropped a batch: the endpoint answered 415 Unsupported Media Type");
                self.stats.dropped.fetch_add(n, Ordering::Relaxed);
                self.stats.samples_failed.fetch_add(n, Ordering::Relaxed);
            }
            Outcome::Expired => {
                warn!(url = %self.cfg.url, samples = n, "remote write dropped samples older than sample_age_limit");
                self.stats.dropped.fetch_add(n, Ordering::Relaxed);
            }
            Outcome::Stopped => return false,
        }
        let all = batch.len() as u64;
        let _ = self
            .stats
            .pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
                Some(p.saturating_sub(all))
            });
        let mut out = self.outstanding.lock();
        for it in batch {
            if let Some(c) = out.get_mut(&it.seg) {
                *c = c.saturating_sub(1);
            }
        }
        out.retain(|_, c| *c > 0);
        true
    }

    /// Encodes and sends items (falling back to 1.0 on a 415 to 2.0); retries stop at
    /// `give_up_at` (ms since the epoch), if set.
    async fn send_items(&self, batch: &[&Item], give_up_at: Option<i64>) -> Outcome {
        // Group samples and exemplars by series, in order.
        let mut order: Vec<&Labels> = Vec::new();
        let mut by: HashMap<&Labels, (Vec<Sample>, Vec<Exemplar>)> = HashMap::new();
        for it in batch {
            let (samples, exemplars) = by.entry(&it.labels).or_insert_with(|| {
                order.push(&it.labels);
                (Vec::new(), Vec::new())
            });
            match &it.exemplar {
                None => samples.push(it.sample),
                Some(l) => exemplars.push(Exemplar {
                    labels: l.clone(),
                    value: it.sample.v,
                    t: it.sample.t,
                }),
            }
        }
        let samples_of = |l: &Labels| by.get(l).map(|x| x.0.clone()).unwrap_or_default();
        let exemplars_of = |l: &Labels| by.get(l).map(|x| x.1.clone()).unwrap_or_default();
        let mut outcome = Outcome::Unsupported;
        let mut v2 = self.v2.load(Ordering::Relaxed);
        // A 2.0 refusal (415) is retried once as 1.0.
        for _ in 0..2 {
            let raw = if v2 {
                let metas: Vec<Option<Metadata>> = order
                    .iter()
                    .map(|l| l.get("__name__").and_then(|n| self.lookup(n)))
                    .collect();
                let series: Vec<SeriesV2<'_>> = order
                    .iter()
                    .zip(&metas)
                    .map(|(l, md)| SeriesV2 {
                        labels: l.iter().map(|x| (&*x.name, &*x.value)).collect(),
                        samples: samples_of(l),
                        created: 0,
                        metric_type: md.as_ref().map_or(0, |m| m.kind.proto()),
                        help: md.as_ref().map_or("", |m| m.help.as_str()),
                        unit: md.as_ref().map_or("", |m| m.unit.as_str()),
                        exemplars: exemplars_of(l),
                        histograms: Vec::new(),
                    })
                    .collect();
                encode_v2(&series)
            } else {
                let series: Vec<crate::remote::proto::SeriesToEncode<'_>> = order
                    .iter()
                    .map(|l| {
                        (
                            l.iter().map(|x| (&*x.name, &*x.value)).collect(),
                            samples_of(l),
                        )
                    })
                    .collect();
                let exemplars: Vec<Vec<Exemplar>> = order.iter().map(|l| exemplars_of(l)).collect();
                encode_write_request_with_exemplars(&series, &exemplars)
            };
            outcome = self.post(raw, batch.len() as u64, v2, give_up_at).await;
            if matches!(outcome, Outcome::Unsupported) && v2 {
                warn!(url = %self.cfg.url, "the endpoint refused remote write 2.0 (415); sending 1.0 (prometheus.WriteRequest) from now on");
                self.v2.store(false, Ordering::Relaxed);
                v2 = false;
                continue;
            }
            break;
        }
        outcome
    }

    /// POSTs one encoded request, retrying 5xx, 429 and network errors with backoff until
    /// `give_up_at` (ms since the epoch), if set. `samples` is what the request carries.
    async fn post(&self, raw: Vec<u8>, samples: u64, v2: bool, give_up_at: Option<i64>) -> Outcome {
        let body = match snap::raw::Encoder::new().compress_vec(&raw) {
            Ok(b) => b,
            Err(e) => return Outcome::Dropped(format!("snappy: {e}")),
        };
        let q = &self.cfg.queue_config;
        let mut backoff = q.min_backoff.as_std().max(Duration::from_millis(10));
        let max_backoff = q.max_backoff.as_std().max(backoff);
        let (ct, version) = if v2 {
            (
                "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                "2.0.0",
            )
        } else {
            ("application/x-protobuf", "0.1.0")
        };
        loop {
            let mut req = self
                .client
                .post(&self.cfg.url)
                .header("Content-Type", ct)
                .header("Content-Encoding", "snappy")
                .header("X-Prometheus-Remote-Write-Version", version)
                .header(
                    "User-Agent",
                    concat!("promterm/", env!("CARGO_PKG_VERSION")),
                )
                .body(body.clone());
            for (k, v) in &self.cfg.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let wait = match with_auth(req, &self.cfg.http_client()) {
                Err(e) => return Outcome::Dropped(e.to_string()),
                Ok(req) => match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        debug!(url = %self.cfg.url, "sent");
                        return Outcome::Sent;
                    }
                    Ok(r) if r.status().as_u16() == 415 && v2 => return Outcome::Unsupported,
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
            if give_up_at.is_some_and(|t| now_ms() >= t) {
                return Outcome::Expired;
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            self.stats
                .samples_retried
                .fetch_add(samples, Ordering::Relaxed);
            let mut sleep = wait.unwrap_or(backoff);
            if let Some(t) = give_up_at {
                // Wake when the oldest sample expires, to drop it, if that comes first.
                let left = Duration::from_millis((t - now_ms()).max(1) as u64);
                sleep = sleep.min(left);
            }
            tokio::select! {
                _ = self.stop.cancelled() => return Outcome::Stopped,
                _ = tokio::time::sleep(sleep) => {}
            }
            backoff = (backoff * 2).min(max_backoff);
        }
    }
}

#[cfg(test)]
mod tests;
