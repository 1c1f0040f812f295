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
//! their series (1.0 `TimeSeries.exemplars`, 2.0 `exemplars`) through the same shards. With
//! `send_native_histograms` (off by default, as in Prometheus), native histogram records of
//! the WAL go out too (1.0 `TimeSeries.histograms`, 2.0 `histograms`), integer or float as
//! stored; without it they are skipped. Counters are for `/metrics` and the status API.
//!
//! Files: `queue` reads the WAL and hands items to the shards (and reshards), `shard` batches
//! and POSTs them with retries and accounting, `encode` turns a batch into a 1.0 or 2.0 body,
//! `metadata` keeps and sends metadata. This file holds the counters and the senders of the
//! config.
//!
//! Uses `model`, `config`, `storage`, `tsdb`, `remote`, `textparse` and `scrape`'s HTTP client
//! code.

mod encode;
mod metadata;
mod queue;
mod shard;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::config::RemoteWriteConfig;
use crate::scrape::client::{build_client, HttpClientError};
use crate::textparse::Metadata;
use crate::tsdb::Db;
use queue::Task;

/// Where the metadata to send comes from: every known (family name, metadata).
pub type MetadataFn = Arc<dyn Fn() -> Vec<(String, Metadata)> + Send + Sync>;

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
    /// Native histogram samples (with `send_native_histograms`; none of these are in the
    /// sample counters): read and not yet sent or dropped, sent, refused for good by the
    /// endpoint, in attempts that will be retried, and dropped before sending (relabeling,
    /// `sample_age_limit`).
    pub histograms_pending: AtomicU64,
    pub histograms_sent: AtomicU64,
    pub histograms_failed: AtomicU64,
    pub histograms_retried: AtomicU64,
    pub histograms_dropped: AtomicU64,
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

#[cfg(test)]
mod tests;

#[cfg(test)]
mod histogram_tests;
