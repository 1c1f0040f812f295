//! The `storage:` section (Prometheus's `StorageConfig`): `exemplars.max_exemplars` sizes the
//! exemplar buffer (applied at start and on reload); `tsdb.out_of_order_time_window` (and
//! `tsdb.retention`) are accepted so a Prometheus 3 config loads, and reported by
//! `Config::warnings` since promterm does not act on them. Uses `duration`.

use serde::{Deserialize, Serialize};

use super::Duration;

/// promterm's default exemplar buffer size: Prometheus's default size, but on without a
/// feature flag (the OTLP receiver, remote write and OpenMetrics scrapes fill it).
pub const DEFAULT_MAX_EXEMPLARS: i64 = 100_000;

/// The `storage:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsdb: Option<TsdbConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemplars: Option<ExemplarsConfig>,
}

/// `storage.tsdb`: accepted, not acted on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsdbConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_order_time_window: Option<Duration>,
    /// Prometheus 3's retention settings in the file (`time`, `size`); the flags rule here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<serde_yaml::Value>,
}

/// `storage.exemplars`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemplarsConfig {
    /// Exemplars kept for all series together; 0 (or less) turns exemplar storage off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_exemplars: Option<i64>,
}

impl StorageConfig {
    /// The exemplar buffer size to run with (negative values mean 0, as in Prometheus).
    pub fn max_exemplars(&self) -> usize {
        let n = self
            .exemplars
            .as_ref()
            .and_then(|e| e.max_exemplars)
            .unwrap_or(DEFAULT_MAX_EXEMPLARS);
        usize::try_from(n.max(0)).unwrap_or(usize::MAX)
    }

    /// Settings present in the file that promterm does not act on.
    pub fn ignored(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if let Some(t) = &self.tsdb {
            if t.out_of_order_time_window.is_some_and(|d| !d.is_zero()) {
                out.push("storage.tsdb.out_of_order_time_window");
            }
            if t.retention.is_some() {
                out.push("storage.tsdb.retention");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(y: &str) -> StorageConfig {
        serde_yaml::from_str(y).expect("valid storage section")
    }

    #[test]
    fn max_exemplars_defaults_and_clamps() {
        assert_eq!(StorageConfig::default().max_exemplars(), 100_000);
        assert_eq!(parse("exemplars: {}").max_exemplars(), 100_000);
        assert_eq!(parse("exemplars: {max_exemplars: 5}").max_exemplars(), 5);
        assert_eq!(parse("exemplars: {max_exemplars: 0}").max_exemplars(), 0);
        assert_eq!(parse("exemplars: {max_exemplars: -3}").max_exemplars(), 0);
    }

    #[test]
    fn tsdb_settings_are_accepted_and_reported() {
        let c = parse("tsdb:\n  out_of_order_time_window: 30m\nexemplars:\n  max_exemplars: 7\n");
        assert_eq!(c.ignored(), vec!["storage.tsdb.out_of_order_time_window"]);
        assert!(parse("tsdb: {out_of_order_time_window: 0s}")
            .ignored()
            .is_empty());
        assert!(serde_yaml::from_str::<StorageConfig>("exemplar: {}").is_err());
        assert!(serde_yaml::from_str::<StorageConfig>("tsdb: {nope: 1}").is_err());
    }
}
