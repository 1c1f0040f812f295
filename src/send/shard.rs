//! One shard of a sender: batches what the WAL reader hands it (up to
//! `max_samples_per_send`, or after `batch_send_deadline`) and sends the batches in order,
//! retrying 5xx, 429 and network errors with backoff, dropping samples past
//! `sample_age_limit`, falling back from 2.0 to 1.0 on a 415, and counting what became of
//! each item. `Shared` is what the reader and the shards of one sender share. Uses `model`,
//! `config`, `textparse`, `scrape`'s HTTP client code and the sibling `encode`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::encode::{Counts, Grouped, Item};
use super::{MetadataFn, Stats};
use crate::config::RemoteWriteConfig;
use crate::model::now_ms;
use crate::scrape::client::{error_chain, with_auth};
use crate::textparse::Metadata;

/// What the reader and the shards of one sender share.
pub(super) struct Shared {
    pub(super) cfg: RemoteWriteConfig,
    pub(super) client: reqwest::Client,
    pub(super) stats: Arc<Stats>,
    pub(super) stop: CancellationToken,
    /// Sending 2.0 (false after a 415, or when configured for 1.0).
    pub(super) v2: Arc<AtomicBool>,
    /// Samples handed to shards and not yet sent or dropped, by WAL segment.
    pub(super) outstanding: Mutex<BTreeMap<u64, u64>>,
    /// Time spent in successful sends and samples they carried, since the last shard update.
    pub(super) timing: Mutex<(Duration, u64)>,
    /// When a send last succeeded.
    pub(super) last_ok: Mutex<Option<Instant>>,
    /// Metadata by family name, for 2.0 series.
    pub(super) metadata: RwLock<HashMap<String, Metadata>>,
    pub(super) metadata_fn: Option<MetadataFn>,
}

/// What one POST ended with.
pub(super) enum Outcome {
    Sent,
    Dropped(String),
    /// The endpoint does not take 2.0 (415).
    Unsupported,
    /// Retrying stopped because samples of the batch passed `sample_age_limit`.
    Expired,
    Stopped,
}

/// One shard: batches what the reader hands it and sends the batches in order.
pub(super) async fn run_shard(
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

impl Shared {
    /// Sends one batch (retrying until it is accepted, refused for good, or the sender
    /// stops) and accounts for it. False once the sender stops.
    pub(super) async fn send_batch(&self, batch: &[Item]) -> bool {
        let age_limit = self.cfg.queue_config.sample_age_limit.as_std();
        let mut too_old = Counts::default();
        let mut kept: Vec<&Item> = batch.iter().collect();
        let started = Instant::now();
        let mut outcome;
        loop {
            // With `sample_age_limit`, samples older than it are dropped before each attempt.
            let mut give_up_at = None;
            if !age_limit.is_zero() {
                let limit_ms = age_limit.as_millis() as i64;
                let cutoff = now_ms() - limit_ms;
                let (young, old): (Vec<&Item>, Vec<&Item>) =
                    kept.into_iter().partition(|it| it.t >= cutoff);
                kept = young;
                too_old.add(&Counts::of(old));
                give_up_at = kept.iter().map(|it| it.t + limit_ms).min();
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
        let st = &self.stats;
        let add = |c: &AtomicU64, n: u64| {
            c.fetch_add(n, Ordering::Relaxed);
        };
        if too_old != Counts::default() {
            warn!(url = %self.cfg.url, samples = too_old.samples_and_exemplars(), histograms = too_old.histograms, "remote write dropped samples older than sample_age_limit");
            add(&st.dropped, too_old.samples_and_exemplars());
            add(&st.histograms_dropped, too_old.histograms);
        }
        let n = Counts::of(kept.iter().copied());
        let all = kept.len() as u64;
        match outcome {
            Outcome::Sent => {
                add(&st.sent, n.samples);
                add(&st.exemplars_sent, n.exemplars);
                add(&st.histograms_sent, n.histograms);
                if let Some(t) = kept.iter().map(|it| it.t).max() {
                    st.highest_sent_ms.fetch_max(t, Ordering::Relaxed);
                }
                let mut t = self.timing.lock();
                t.0 += started.elapsed();
                t.1 += all;
                *self.last_ok.lock() = Some(Instant::now());
            }
            Outcome::Dropped(_) | Outcome::Unsupported => {
                let why = match &outcome {
                    Outcome::Dropped(why) => why.as_str(),
                    _ => "the endpoint answered 415 Unsupported Media Type",
                };
                warn!(url = %self.cfg.url, samples = n.samples_and_exemplars(), histograms = n.histograms, "remote write dropped a batch: {why}");
                add(&st.dropped, n.samples_and_exemplars());
                add(&st.samples_failed, n.samples_and_exemplars());
                add(&st.histograms_failed, n.histograms);
            }
            Outcome::Expired => {
                warn!(url = %self.cfg.url, samples = n.samples_and_exemplars(), histograms = n.histograms, "remote write dropped samples older than sample_age_limit");
                add(&st.dropped, n.samples_and_exemplars());
                add(&st.histograms_dropped, n.histograms);
            }
            Outcome::Stopped => return false,
        }
        let read = Counts::of(batch);
        for (gauge, k) in [
            (&st.pending, read.samples_and_exemplars()),
            (&st.histograms_pending, read.histograms),
        ] {
            let _ = gauge.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
                Some(p.saturating_sub(k))
            });
        }
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
        let grouped = Grouped::new(batch);
        let mut outcome = Outcome::Unsupported;
        let mut v2 = self.v2.load(Ordering::Relaxed);
        // A 2.0 refusal (415) is retried once as 1.0.
        for _ in 0..2 {
            let raw = if v2 {
                grouped.v2(|name| self.lookup(name))
            } else {
                grouped.v1()
            };
            outcome = self
                .post(raw, Counts::of(batch.iter().copied()), v2, give_up_at)
                .await;
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
    /// `give_up_at` (ms since the epoch), if set. `carries` is what the request holds.
    pub(super) async fn post(
        &self,
        raw: Vec<u8>,
        carries: Counts,
        v2: bool,
        give_up_at: Option<i64>,
    ) -> Outcome {
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
                .fetch_add(carries.samples_and_exemplars(), Ordering::Relaxed);
            self.stats
                .histograms_retried
                .fetch_add(carries.histograms, Ordering::Relaxed);
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
