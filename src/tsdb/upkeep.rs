//! Background upkeep of an open store: WAL fsync, periodic (or early, when sealed chunks pile
//! up) flush followed by retention (and, after the periodic ones, the compaction of closed 2h
//! ranges), and returning freed memory to the OS: every 5 s, and once as soon as appends pause
//! (a burst of remote writes frees its request buffers when it ends; without this, resident
//! memory stayed up to 25 MB above what is live for up to 5 s).
//!
//! Uses the store core (`super`) and its `flush`, `retention` and `compact` steps.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::flush::release_free_memory;
use super::Db;

/// Appends paused when no sample came for this long.
const APPEND_PAUSE: Duration = Duration::from_millis(250);

impl Db {
    fn appended(&self) -> u64 {
        self.inner.stats.samples_appended.load(Ordering::Relaxed)
    }

    /// Background upkeep until `shutdown`: WAL fsync every `fsync_interval`, flush every
    /// `flush_interval`, retention after each flush. The caller closes the store afterwards.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut fsync = tokio::time::interval(self.inner.opts.fsync_interval);
        let mut flush = tokio::time::interval(self.inner.opts.flush_interval);
        fsync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut trim = tokio::time::interval(Duration::from_secs(5));
        trim.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pause = tokio::time::interval(APPEND_PAUSE);
        pause.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Samples appended as of the last look, and whether appends happened since the last
        // release of memory.
        let (mut appended, mut freed_since) = (self.appended(), true);
        flush.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = fsync.tick() => {
                    let db = self.clone();
                    match tokio::task::spawn_blocking(move || db.sync_wal()).await {
                        Ok(Err(e)) => warn!("WAL fsync failed: {e}"),
                        Err(e) => warn!("WAL fsync task failed: {e}"),
                        Ok(Ok(())) => {}
                    }
                }
                _ = pause.tick() => {
                    let now = self.appended();
                    if now != appended {
                        (appended, freed_since) = (now, false);
                    } else if !freed_since {
                        freed_since = true;
                        if let Err(e) = tokio::task::spawn_blocking(release_free_memory).await {
                            warn!("memory release task failed: {e}");
                        }
                    }
                }
                _ = trim.tick() => {
                    // Memory freed by finished requests goes back to the OS between flushes.
                    if let Err(e) = tokio::task::spawn_blocking(release_free_memory).await {
                        warn!("memory release task failed: {e}");
                    }
                }
                periodic = async {
                    tokio::select! {
                        _ = flush.tick() => true,
                        _ = self.inner.flush_soon.notified() => false,
                    }
                } => {
                    let db = self.clone();
                    let r = tokio::task::spawn_blocking(move || db.flush().and_then(|_| db.apply_retention())).await;
                    if !matches!(r, Ok(Ok(_))) {
                        self.inner.stats.flush_failures.fetch_add(1, Ordering::Relaxed);
                    }
                    match r {
                        Ok(Err(e)) => warn!("flush failed (data stays in the WAL): {e}"),
                        Err(e) => warn!("flush task failed: {e}"),
                        // Rows of 2h ranges closed meanwhile become one per series: after the
                        // periodic flushes only, not the early ones made under ingest pressure
                        // (compaction can wait; queries then running should not).
                        Ok(Ok(_)) if periodic => {
                            let db = self.clone();
                            match tokio::task::spawn_blocking(move || db.compact_closed_ranges()).await {
                                Ok(Err(e)) => warn!("compaction failed (the rows stay as they are): {e}"),
                                Err(e) => warn!("compaction task failed: {e}"),
                                Ok(Ok(_)) => {}
                            }
                        }
                        Ok(Ok(_)) => {}
                    }
                }
            }
        }
    }
}
