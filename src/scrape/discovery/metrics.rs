//! The process-wide registry of discovery's own metrics (`prometheus_sd_*`): counters, gauges
//! and summaries keyed by family name and labels, written by the discoverers and the scrape
//! manager, rendered by `/metrics`. One registry per process, as Prometheus's are global.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use parking_lot::Mutex;

use crate::scrape::Observations;

/// Labels of one series: (name, value) pairs in a fixed order.
pub type SdLabels = Vec<(&'static str, String)>;

/// A metric family's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Summary,
}

/// One family: its help text, kind and series.
#[derive(Debug, Clone)]
pub struct Family {
    pub help: &'static str,
    pub kind: Kind,
    /// Counter and gauge values by labels.
    pub values: BTreeMap<SdLabels, f64>,
    /// Summary observations by labels.
    pub observations: BTreeMap<SdLabels, Observations>,
}

/// Discovery's metrics, by family name.
#[derive(Debug, Default)]
pub struct SdMetrics {
    families: Mutex<BTreeMap<&'static str, Family>>,
}

impl SdMetrics {
    fn with(
        &self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        f: impl FnOnce(&mut Family),
    ) {
        let mut fams = self.families.lock();
        let fam = fams.entry(name).or_insert_with(|| Family {
            help,
            kind,
            values: BTreeMap::new(),
            observations: BTreeMap::new(),
        });
        f(fam);
    }

    /// Adds `by` to a counter.
    pub fn inc(&self, name: &'static str, help: &'static str, labels: SdLabels, by: f64) {
        self.with(name, help, Kind::Counter, |f| {
            *f.values.entry(labels).or_default() += by
        });
    }

    /// Sets a gauge.
    pub fn set(&self, name: &'static str, help: &'static str, labels: SdLabels, v: f64) {
        self.with(name, help, Kind::Gauge, |f| {
            f.values.insert(labels, v);
        });
    }

    /// Records one observation of a summary.
    pub fn observe(&self, name: &'static str, help: &'static str, labels: SdLabels, v: f64) {
        self.with(name, help, Kind::Summary, |f| {
            f.observations.entry(labels).or_default().observe(v)
        });
    }

    /// Declares a counter at zero (Prometheus shows its counters before the first event).
    pub fn declare(&self, name: &'static str, help: &'static str, labels: SdLabels) {
        self.inc(name, help, labels, 0.0);
    }

    /// A copy of every family, by name.
    pub fn families(&self) -> BTreeMap<&'static str, Family> {
        self.families.lock().clone()
    }

    /// One counter's or gauge's value (tests, `check service-discovery`).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let fams = self.families.lock();
        let f = fams.get(name)?;
        f.values
            .iter()
            .find(|(l, _)| {
                l.len() == labels.len()
                    && l.iter().zip(labels).all(|(a, b)| a.0 == b.0 && a.1 == b.1)
            })
            .map(|(_, v)| *v)
    }
}

/// The process's discovery metrics.
pub fn sd_metrics() -> &'static SdMetrics {
    static M: OnceLock<SdMetrics> = OnceLock::new();
    M.get_or_init(SdMetrics::default)
}

/// What a consumer of discovery (`"scrape"`, `"notify"`) reports, as Prometheus's discovery
/// managers do: `prometheus_sd_failed_configs`, `prometheus_sd_received_updates_total`
/// and `prometheus_sd_updates_total`, labelled `name`.
pub struct Consumer(pub &'static str);

impl Consumer {
    fn labels(&self) -> SdLabels {
        vec![("name", self.0.to_string())]
    }

    /// How many of its discovery configs could not start.
    pub fn failed_configs(&self, n: usize) {
        sd_metrics().set(
            "prometheus_sd_failed_configs",
            "Current number of service discovery configurations that failed to load.",
            self.labels(),
            n as f64,
        );
    }

    /// `n` reports from its discoverers were received.
    pub fn received_updates(&self, n: u64) {
        sd_metrics().inc(
            "prometheus_sd_received_updates_total",
            "Total number of update events received from the SD providers.",
            self.labels(),
            n as f64,
        );
    }

    /// Its targets changed after a report.
    pub fn updated(&self) {
        sd_metrics().inc(
            "prometheus_sd_updates_total",
            "Total number of update events sent to the SD consumers.",
            self.labels(),
            1.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_gauges_summaries() {
        let m = SdMetrics::default();
        m.inc("c_total", "h", vec![("mechanism", "http".into())], 1.0);
        m.inc("c_total", "h", vec![("mechanism", "http".into())], 2.0);
        m.set("g", "h", vec![], 5.0);
        m.observe("s", "h", vec![("mechanism", "dns".into())], 0.5);
        assert_eq!(m.value("c_total", &[("mechanism", "http")]), Some(3.0));
        assert_eq!(m.value("c_total", &[("mechanism", "dns")]), None);
        assert_eq!(m.value("g", &[]), Some(5.0));
        let f = m.families();
        assert_eq!(f["s"].kind, Kind::Summary);
        assert_eq!(
            f["s"].observations.values().next().map(|o| o.count),
            Some(1)
        );
    }
}
