//! The loop of the discovery mechanisms that poll (HTTP, Docker, DNS): refresh now and every
//! `refresh_interval`; a good refresh replaces the sink's groups, a failed one keeps them and
//! records the error. Counts `prometheus_sd_refresh_failures_total` and observes
//! `prometheus_sd_refresh_duration_seconds` by mechanism, as Prometheus's discovery/refresh.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::metrics::sd_metrics;
use super::{Sink, TargetGroup};

const FAILURES: &str = "prometheus_sd_refresh_failures_total";
const FAILURES_HELP: &str = "Number of refresh failures for the given SD mechanism.";
const DURATION: &str = "prometheus_sd_refresh_duration_seconds";
const DURATION_HELP: &str = "The duration of a refresh in seconds for the given SD mechanism.";

/// One refresh: its result goes to the sink, and into the metrics of `mechanism`.
pub async fn once<F>(mechanism: &'static str, sink: &Sink, refresh: F)
where
    F: Future<Output = Result<Vec<TargetGroup>, String>>,
{
    let m = sd_metrics();
    let labels = vec![("mechanism", mechanism.to_string())];
    m.declare(FAILURES, FAILURES_HELP, labels.clone());
    let t0 = Instant::now();
    let r = refresh.await;
    m.observe(
        DURATION,
        DURATION_HELP,
        labels.clone(),
        t0.elapsed().as_secs_f64(),
    );
    match r {
        Ok(groups) => sink.replace(groups),
        Err(e) => {
            tracing::warn!(mechanism, "discovery refresh failed: {e}");
            m.inc(FAILURES, FAILURES_HELP, labels, 1.0);
            sink.fail(e);
        }
    }
}

/// Refreshes now and every `interval` until `stop`.
pub async fn run<F, Fut>(
    mechanism: &'static str,
    interval: Duration,
    sink: Sink,
    stop: CancellationToken,
    mut refresh: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Vec<TargetGroup>, String>>,
{
    every(interval, stop, || once(mechanism, &sink, refresh())).await
}

/// Runs `step` now and every `interval` (at least 10ms) until `stop`, also cancelling a
/// step under way; a step that overruns delays the next tick (the mechanisms that poll, and
/// DNS with its own per-name refresh).
pub async fn every<F, Fut>(interval: Duration, stop: CancellationToken, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = step() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrape::discovery::address;

    #[tokio::test]
    async fn failures_keep_the_last_good_groups() {
        let sink = Sink::new();
        let before = sd_metrics()
            .value(FAILURES, &[("mechanism", "refresh-test")])
            .unwrap_or(0.0);
        let good = TargetGroup {
            source: "s".into(),
            targets: vec![address("a:1")],
            labels: Default::default(),
        };
        once("refresh-test", &sink, async { Ok(vec![good.clone()]) }).await;
        once("refresh-test", &sink, async {
            Err("HTTP 500 from x".to_string())
        })
        .await;
        assert_eq!(sink.groups(), vec![good]);
        assert_eq!(sink.error().as_deref(), Some("HTTP 500 from x"));
        let after = sd_metrics()
            .value(FAILURES, &[("mechanism", "refresh-test")])
            .unwrap_or(0.0);
        assert_eq!(after - before, 1.0);
    }

    #[tokio::test]
    async fn run_refreshes_until_stopped() {
        let sink = Sink::new();
        let stop = CancellationToken::new();
        let n = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (n2, stop2) = (n.clone(), stop.clone());
        let task = tokio::spawn(run(
            "refresh-test-run",
            Duration::from_millis(20),
            sink.clone(),
            stop.clone(),
            move || {
                let k = n2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if k == 2 {
                    stop2.cancel();
                }
                async move { Ok(vec![]) }
            },
        ));
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
        assert!(n.load(std::sync::atomic::Ordering::Relaxed) >= 3);
    }
}
