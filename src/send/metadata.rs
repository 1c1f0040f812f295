//! Metadata for a sender: the lookup 2.0 series take their type, help and unit from
//! (refreshed from the scrape and receive side), and, with `metadata_config.send` over 1.0,
//! all known metadata sent every `send_interval`. Uses `textparse`, `remote::proto` and the
//! siblings `shard` and `encode`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::warn;

use super::encode::Counts;
use super::shard::{Outcome, Shared};
use crate::remote::proto::encode_metadata;
use crate::textparse::Metadata;

/// Sends the known metadata every `send_interval` (1.0 only: 2.0 carries it per series, and
/// keeps the lookup for that fresh).
pub(super) async fn run_metadata(sh: Arc<Shared>) {
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
                match sh
                    .post(encode_metadata(&entries), Counts::default(), false, None)
                    .await
                {
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
    pub(super) fn lookup(&self, metric: &str) -> Option<Metadata> {
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
}
