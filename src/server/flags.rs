//! The flags as `/api/v1/status/flags` reports them, under Prometheus's names.

use super::ServeOptions;
use crate::config::Duration;

/// The flags as `/api/v1/status/flags` reports them, under Prometheus's names.
pub(super) fn flags(
    o: &ServeOptions,
    retention: &Duration,
) -> std::collections::BTreeMap<String, String> {
    let mut m = std::collections::BTreeMap::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_string(), v);
    };
    put(
        "config.file",
        o.config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    put("storage.tsdb.path", o.data_dir.display().to_string());
    put("web.listen-address", o.listen.clone());
    put("storage.tsdb.retention.time", retention.to_string());
    put(
        "storage.tsdb.retention.size",
        o.retention_size
            .map(|b| b.to_string())
            .unwrap_or_else(|| "0B".into()),
    );
    put("query.timeout", o.query_timeout.to_string());
    put("query.lookback-delta", o.query_lookback_delta.to_string());
    put("query.max-samples", o.query_max_samples.to_string());
    put("query.max-concurrency", o.query_max_concurrency.to_string());
    put("web.max-connections", o.web_max_connections.to_string());
    put(
        "storage.max-labels-per-series",
        o.label_limits.max_labels.to_string(),
    );
    put(
        "storage.max-label-name-length",
        o.label_limits.max_name_len.to_string(),
    );
    put(
        "storage.max-label-value-length",
        o.label_limits.max_value_len.to_string(),
    );
    put("wal.fsync-interval", o.wal_fsync_interval.to_string());
    put("storage.flush-interval", o.flush_interval.to_string());
    put(
        "remote-write.max-bytes",
        o.remote_write_max_bytes.to_string(),
    );
    put("headless", o.headless.to_string());
    put("enable-feature", o.enable_features.join(","));
    put(
        "scrape.adjust-timestamps",
        o.scrape_adjust_timestamps.to_string(),
    );
    put(
        "scrape.timestamp-tolerance",
        o.scrape_timestamp_tolerance.to_string(),
    );
    put("web.enable-lifecycle", o.enable_lifecycle.to_string());
    put("web.enable-admin-api", o.enable_admin_api.to_string());
    put(
        "web.config.file",
        o.web_config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    m
}
