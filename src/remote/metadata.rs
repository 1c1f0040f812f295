//! Metric metadata that arrived with pushed data rather than from a scraped page: remote write
//! 1.0 `metadata`, remote write 2.0 per-series metadata, and OTLP descriptions and units.
//! Kept in memory (as Prometheus keeps scraped metadata) for `/api/v1/metadata`, the TUI's
//! metrics explorer and the remote-write senders. Bounded: at most `MAX_NAMES` metric names and
//! `MAX_PER_NAME` variants of each (the newest replaces the oldest).

use std::collections::BTreeMap;

use parking_lot::Mutex;

use crate::textparse::{Metadata, MetricType};

/// Most metric names kept; later new names are not recorded.
pub const MAX_NAMES: usize = 100_000;
/// Most distinct metadata kept per name.
pub const MAX_PER_NAME: usize = 4;

/// Received metadata by metric family name.
#[derive(Debug, Default)]
pub struct Store {
    map: Mutex<BTreeMap<String, Vec<Metadata>>>,
}

impl Store {
    /// Records metadata for `name` (entries already known are kept once).
    pub fn record(&self, name: &str, md: Metadata) {
        if name.is_empty() {
            return;
        }
        let mut map = self.map.lock();
        let full = map.len() >= MAX_NAMES;
        match map.get_mut(name) {
            Some(list) => {
                if let Some(i) = list.iter().position(|m| *m == md) {
                    // Most recent last.
                    let m = list.remove(i);
                    list.push(m);
                } else {
                    if list.len() >= MAX_PER_NAME {
                        list.remove(0);
                    }
                    list.push(md);
                }
            }
            None if !full => {
                map.insert(name.to_string(), vec![md]);
            }
            None => {}
        }
    }

    /// Records a batch.
    pub fn record_all(&self, entries: Vec<(String, Metadata)>) {
        for (n, m) in entries {
            self.record(&n, m);
        }
    }

    /// Everything kept, by name, oldest variant first.
    pub fn snapshot(&self) -> Vec<(String, Metadata)> {
        self.map
            .lock()
            .iter()
            .flat_map(|(n, l)| l.iter().map(move |m| (n.clone(), m.clone())))
            .collect()
    }

    /// The newest metadata recorded for `name`.
    pub fn get(&self, name: &str) -> Option<Metadata> {
        self.map.lock().get(name).and_then(|l| l.last().cloned())
    }

    pub fn len(&self) -> usize {
        self.map.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.lock().is_empty()
    }
}

/// The family a series belongs to, given its metric name and type: histogram and summary
/// series carry `_bucket`, `_sum` and `_count` suffixes their family does not.
pub fn family_name(metric: &str, kind: MetricType) -> &str {
    let suffixes: &[&str] = match kind {
        MetricType::Histogram | MetricType::GaugeHistogram => {
            &["_bucket", "_sum", "_count", "_gsum", "_gcount"]
        }
        MetricType::Summary => &["_sum", "_count"],
        _ => &[],
    };
    for s in suffixes {
        if let Some(f) = metric.strip_suffix(s) {
            if !f.is_empty() {
                return f;
            }
        }
    }
    metric
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(kind: MetricType, help: &str) -> Metadata {
        Metadata {
            kind,
            help: help.into(),
            unit: String::new(),
        }
    }

    #[test]
    fn keeps_distinct_variants_newest_last_and_bounded() {
        let s = Store::default();
        s.record("a", md(MetricType::Counter, "one"));
        s.record("a", md(MetricType::Counter, "two"));
        s.record("a", md(MetricType::Counter, "one"));
        assert_eq!(s.get("a").unwrap().help, "one");
        assert_eq!(s.snapshot().len(), 2);
        for i in 0..10 {
            s.record("a", md(MetricType::Gauge, &i.to_string()));
        }
        let all = s.snapshot();
        assert_eq!(all.len(), MAX_PER_NAME);
        assert_eq!(all.last().unwrap().1.help, "9");
        s.record("", md(MetricType::Gauge, "x"));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn family_names_drop_series_suffixes_by_type() {
        assert_eq!(
            family_name("rpc_seconds_bucket", MetricType::Histogram),
            "rpc_seconds"
        );
        assert_eq!(
            family_name("rpc_seconds_count", MetricType::Summary),
            "rpc_seconds"
        );
        assert_eq!(family_name("jobs_count", MetricType::Gauge), "jobs_count");
        assert_eq!(family_name("_sum", MetricType::Summary), "_sum");
        assert_eq!(family_name("x_total", MetricType::Counter), "x_total");
    }
}
