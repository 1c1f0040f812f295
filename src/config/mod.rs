//! prometheus.yml-compatible configuration: typed sections with Prometheus's defaults, loading
//! with errors that name the file, line, field and bad value, and validation.
//!
//! Uses `model` for name rules. Key names and defaults follow Prometheus's config/config.go;
//! unknown keys are errors (as in Prometheus). Sections promterm does not act on yet (`storage.tsdb`,
//! `tracing`, `runtime`, `remote_read`, `query_log_file`) are accepted and reported by
//! [`Config::warnings`] so a Prometheus config loads unchanged.

mod duration;
pub(crate) mod http;
mod load;
pub mod otlp;
mod relabel;
pub mod rules;
pub mod sd;
mod size;
pub mod storage;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use duration::{Duration, DurationError};
pub use http::{Authorization, BasicAuth, HttpClientRef, Secret, TlsConfig, TlsVersion};
pub use load::{ConfigError, Summary};
pub use otlp::{OtlpConfig, TranslationStrategy};
pub use relabel::{Action, Regex, RelabelConfig};
pub use rules::{RuleFile, RuleGroup, RuleNode};
pub use sd::consul::ConsulSdConfig;
pub use sd::dns::{DnsRecordType, DnsSdConfig};
pub use sd::docker::{DockerFilter, DockerHost, DockerSdConfig};
pub use sd::http::HttpSdConfig;
pub use sd::kubernetes::KubernetesSdConfig;
pub use size::{ByteSize, SizeError};
pub use storage::StorageConfig;

use http::with_http_client_config;

/// Default scrape interval (Prometheus: 1m).
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(60);
/// Default scrape timeout (Prometheus: 10s).
pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest scraped page when the config sets no `body_size_limit` (Prometheus: none).
pub const DEFAULT_BODY_SIZE_LIMIT: u64 = 256 << 20;
/// Default rule evaluation interval (Prometheus: 1m).
pub const DEFAULT_EVALUATION_INTERVAL: Duration = Duration::from_secs(60);

/// A whole prometheus.yml, after defaults are applied and validation has passed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub global: GlobalConfig,
    #[serde(default)]
    pub rule_files: Vec<String>,
    #[serde(default)]
    pub scrape_config_files: Vec<String>,
    #[serde(default)]
    pub scrape_configs: Vec<Option<ScrapeConfig>>,
    #[serde(default)]
    pub alerting: AlertingConfig,
    #[serde(default)]
    pub remote_write: Vec<Option<RemoteWriteConfig>>,
    /// Accepted for compatibility; not acted on yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_read: Option<serde_yaml::Value>,
    /// The exemplar buffer's size; the `tsdb` settings are accepted, not acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageConfig>,
    /// Accepted for compatibility; not acted on yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<serde_yaml::Value>,
    /// Accepted for compatibility; not acted on yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<serde_yaml::Value>,
    /// How OTLP metrics are translated (and where the OTLP receivers listen).
    #[serde(default)]
    pub otlp: OtlpConfig,
}

/// The `global` section: defaults for every job and rule group.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    #[serde(default)]
    pub scrape_interval: Duration,
    #[serde(default)]
    pub scrape_timeout: Duration,
    #[serde(default)]
    pub evaluation_interval: Duration,
    #[serde(default)]
    pub rule_query_offset: Duration,
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub query_log_file: Option<String>,
    #[serde(default)]
    pub scrape_failure_log_file: Option<String>,
    #[serde(default)]
    pub sample_limit: u64,
    /// Largest scraped page (uncompressed); unset: 256MB, 0: no limit.
    #[serde(default)]
    pub body_size_limit: Option<ByteSize>,
    #[serde(default)]
    pub label_limit: u64,
    #[serde(default)]
    pub label_name_length_limit: u64,
    #[serde(default)]
    pub label_value_length_limit: u64,
    #[serde(default)]
    pub target_limit: u64,
    #[serde(default)]
    pub keep_dropped_targets: u64,
    #[serde(default)]
    pub metric_name_validation_scheme: Option<ValidationScheme>,
    /// The exposition formats to ask targets for, most wanted first; a job without its own
    /// list takes this one (unset: each job's default follows its `scrape_native_histograms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
    /// Whether jobs scrape native histograms (unset: no, or yes with
    /// `--enable-feature=native-histograms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_native_histograms: Option<bool>,
    /// Whether jobs turn classic histograms into native histograms with custom buckets.
    #[serde(default)]
    pub convert_classic_histograms_to_nhcb: bool,
    /// Whether jobs keep the classic series of a histogram also exposed as native.
    #[serde(default)]
    pub always_scrape_classic_histograms: bool,
}

/// `metric_name_validation_scheme`: `legacy` (the default here) or `utf8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidationScheme {
    Legacy,
    Utf8,
}

impl From<Option<ValidationScheme>> for crate::model::NameValidation {
    fn from(s: Option<ValidationScheme>) -> Self {
        match s {
            Some(ValidationScheme::Utf8) => crate::model::NameValidation::Utf8,
            _ => crate::model::NameValidation::Legacy,
        }
    }
}

/// `scheme:` for scrapes and Alertmanager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    #[default]
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The exposition formats a scrape may ask for (`scrape_protocols`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScrapeProtocol {
    PrometheusProto,
    #[serde(rename = "OpenMetricsText0.0.1")]
    OpenMetricsText001,
    #[serde(rename = "OpenMetricsText1.0.0")]
    OpenMetricsText100,
    #[serde(rename = "PrometheusText0.0.4")]
    PrometheusText004,
    #[serde(rename = "PrometheusText1.0.0")]
    PrometheusText100,
}

impl ScrapeProtocol {
    /// Prometheus's default list: the text formats, OpenMetrics first.
    pub const DEFAULTS: [ScrapeProtocol; 4] = [
        ScrapeProtocol::OpenMetricsText100,
        ScrapeProtocol::OpenMetricsText001,
        ScrapeProtocol::PrometheusText100,
        ScrapeProtocol::PrometheusText004,
    ];
    /// The default when native histograms are scraped: the protobuf format first.
    pub const PROTO_FIRST: [ScrapeProtocol; 5] = [
        ScrapeProtocol::PrometheusProto,
        ScrapeProtocol::OpenMetricsText100,
        ScrapeProtocol::OpenMetricsText001,
        ScrapeProtocol::PrometheusText100,
        ScrapeProtocol::PrometheusText004,
    ];
}

with_http_client_config! {
    /// One `scrape_configs` entry.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ScrapeConfig {
        pub job_name: String,
        #[serde(default)]
        pub scrape_interval: Duration,
        #[serde(default)]
        pub scrape_timeout: Duration,
        #[serde(default)]
        pub scrape_protocols: Vec<ScrapeProtocol>,
        #[serde(default)]
        pub fallback_scrape_protocol: Option<ScrapeProtocol>,
        /// Whether native histograms are scraped (unset after loading: the
        /// `--enable-feature=native-histograms` default decides).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub scrape_native_histograms: Option<bool>,
        /// Keep the classic series of a histogram that is also native (the global value
        /// when unset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub always_scrape_classic_histograms: Option<bool>,
        /// Turn classic histograms into native histograms with custom buckets (the global
        /// value when unset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub convert_classic_histograms_to_nhcb: Option<bool>,
        /// More buckets than this in a native histogram: its resolution is reduced until
        /// it fits (0: no limit).
        #[serde(default)]
        pub native_histogram_bucket_limit: u64,
        /// A native histogram whose bucket growth factor is below this gets its resolution
        /// reduced until it is not (0 or 1: no reduction).
        #[serde(default)]
        pub native_histogram_min_bucket_factor: f64,
        /// `--enable-feature=created-timestamp-zero-ingestion` (not a config key, as in
        /// Prometheus): a scraped sample's created timestamp becomes a zero sample there.
        #[serde(skip)]
        pub created_timestamp_zero_ingestion: bool,
        #[serde(default = "default_metrics_path")]
        pub metrics_path: String,
        #[serde(default)]
        pub scheme: Scheme,
        #[serde(default)]
        pub params: BTreeMap<String, Vec<String>>,
        #[serde(default)]
        pub honor_labels: bool,
        #[serde(default = "http::default_true")]
        pub honor_timestamps: bool,
        #[serde(default)]
        pub track_timestamps_staleness: bool,
        #[serde(default = "http::default_true")]
        pub enable_compression: bool,
        #[serde(default)]
        pub static_configs: Vec<StaticConfig>,
        #[serde(default)]
        pub file_sd_configs: Vec<FileSdConfig>,
        #[serde(default)]
        pub kubernetes_sd_configs: Vec<KubernetesSdConfig>,
        #[serde(default)]
        pub http_sd_configs: Vec<HttpSdConfig>,
        #[serde(default)]
        pub docker_sd_configs: Vec<DockerSdConfig>,
        #[serde(default)]
        pub dns_sd_configs: Vec<DnsSdConfig>,
        #[serde(default)]
        pub consul_sd_configs: Vec<ConsulSdConfig>,
        #[serde(default)]
        pub relabel_configs: Vec<RelabelConfig>,
        #[serde(default)]
        pub metric_relabel_configs: Vec<RelabelConfig>,
        #[serde(default)]
        pub sample_limit: Option<u64>,
        #[serde(default)]
        pub body_size_limit: Option<ByteSize>,
        #[serde(default)]
        pub label_limit: Option<u64>,
        #[serde(default)]
        pub label_name_length_limit: Option<u64>,
        #[serde(default)]
        pub label_value_length_limit: Option<u64>,
        #[serde(default)]
        pub target_limit: Option<u64>,
        #[serde(default)]
        pub keep_dropped_targets: Option<u64>,
        #[serde(default)]
        pub metric_name_validation_scheme: Option<ValidationScheme>,
    }
}

fn default_metrics_path() -> String {
    "/metrics".to_string()
}

/// A `static_configs` entry: a target group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A `file_sd_configs` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default = "default_file_sd_refresh")]
    pub refresh_interval: Duration,
}

fn default_file_sd_refresh() -> Duration {
    Duration::from_secs(300)
}

/// The `alerting` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    #[serde(default)]
    pub alert_relabel_configs: Vec<RelabelConfig>,
    #[serde(default)]
    pub alertmanagers: Vec<AlertmanagerConfig>,
}

/// Alertmanager API version; only v2 exists in Prometheus 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertmanagerApiVersion {
    #[default]
    V2,
}

with_http_client_config! {
    /// One `alerting.alertmanagers` entry.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct AlertmanagerConfig {
        #[serde(default)]
        pub scheme: Scheme,
        #[serde(default = "default_path_prefix")]
        pub path_prefix: String,
        #[serde(default = "default_alertmanager_timeout")]
        pub timeout: Duration,
        #[serde(default)]
        pub api_version: AlertmanagerApiVersion,
        #[serde(default)]
        pub static_configs: Vec<StaticConfig>,
        #[serde(default)]
        pub file_sd_configs: Vec<FileSdConfig>,
        #[serde(default)]
        pub kubernetes_sd_configs: Vec<KubernetesSdConfig>,
        #[serde(default)]
        pub http_sd_configs: Vec<HttpSdConfig>,
        #[serde(default)]
        pub docker_sd_configs: Vec<DockerSdConfig>,
        #[serde(default)]
        pub dns_sd_configs: Vec<DnsSdConfig>,
        #[serde(default)]
        pub consul_sd_configs: Vec<ConsulSdConfig>,
        #[serde(default)]
        pub relabel_configs: Vec<RelabelConfig>,
        #[serde(default)]
        pub alert_relabel_configs: Vec<RelabelConfig>,
    }
}

/// The discovery configs of a scrape job or an `alertmanagers` entry, every mechanism's list:
/// what discovery needs to start (`Discoverers::start`) and to gather what was found.
#[derive(Debug, Clone, Copy)]
pub struct SdConfigs<'a> {
    pub static_configs: &'a [StaticConfig],
    pub file_sd_configs: &'a [FileSdConfig],
    pub kubernetes_sd_configs: &'a [KubernetesSdConfig],
    pub http_sd_configs: &'a [HttpSdConfig],
    pub docker_sd_configs: &'a [DockerSdConfig],
    pub dns_sd_configs: &'a [DnsSdConfig],
    pub consul_sd_configs: &'a [ConsulSdConfig],
}

/// The lists that loading validates and completes (one check for jobs and Alertmanagers;
/// static configs are checked apart, with the job's name validation scheme).
pub(crate) struct SdConfigsMut<'a> {
    pub file_sd_configs: &'a mut [FileSdConfig],
    pub kubernetes_sd_configs: &'a mut [KubernetesSdConfig],
    pub http_sd_configs: &'a mut [HttpSdConfig],
    pub docker_sd_configs: &'a mut [DockerSdConfig],
    pub dns_sd_configs: &'a [DnsSdConfig],
    pub consul_sd_configs: &'a mut [ConsulSdConfig],
}

/// `sd_configs()` and `sd_configs_mut()` for a struct with every `*_sd_configs` field.
macro_rules! sd_config_views {
    ($($t:ty),*) => {$(
        impl $t {
            /// Its discovery configs, every mechanism's list.
            pub fn sd_configs(&self) -> SdConfigs<'_> {
                SdConfigs {
                    static_configs: &self.static_configs,
                    file_sd_configs: &self.file_sd_configs,
                    kubernetes_sd_configs: &self.kubernetes_sd_configs,
                    http_sd_configs: &self.http_sd_configs,
                    docker_sd_configs: &self.docker_sd_configs,
                    dns_sd_configs: &self.dns_sd_configs,
                    consul_sd_configs: &self.consul_sd_configs,
                }
            }

            pub(crate) fn sd_configs_mut(&mut self) -> SdConfigsMut<'_> {
                SdConfigsMut {
                    file_sd_configs: &mut self.file_sd_configs,
                    kubernetes_sd_configs: &mut self.kubernetes_sd_configs,
                    http_sd_configs: &mut self.http_sd_configs,
                    docker_sd_configs: &mut self.docker_sd_configs,
                    dns_sd_configs: &self.dns_sd_configs,
                    consul_sd_configs: &mut self.consul_sd_configs,
                }
            }
        }
    )*};
}

sd_config_views!(ScrapeConfig, AlertmanagerConfig);

fn default_path_prefix() -> String {
    "/".to_string()
}

fn default_alertmanager_timeout() -> Duration {
    Duration::from_secs(10)
}

/// Which remote-write protocol message to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ProtobufMessage {
    #[default]
    #[serde(rename = "prometheus.WriteRequest")]
    V1,
    #[serde(rename = "io.prometheus.write.v2.Request")]
    V2,
}

with_http_client_config! {
    /// One `remote_write` entry.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RemoteWriteConfig {
        #[serde(default)]
        pub url: String,
        #[serde(default)]
        pub name: Option<String>,
        #[serde(default = "default_remote_timeout")]
        pub remote_timeout: Duration,
        #[serde(default)]
        pub headers: BTreeMap<String, String>,
        #[serde(default)]
        pub write_relabel_configs: Vec<RelabelConfig>,
        #[serde(default)]
        pub send_exemplars: bool,
        #[serde(default)]
        pub send_native_histograms: bool,
        #[serde(default)]
        pub round_robin_dns: bool,
        #[serde(default)]
        pub protobuf_message: ProtobufMessage,
        #[serde(default)]
        pub queue_config: QueueConfig,
        #[serde(default)]
        pub metadata_config: MetadataConfig,
    }
}

fn default_remote_timeout() -> Duration {
    Duration::from_secs(30)
}

/// `remote_write[].queue_config`, with Prometheus's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    pub capacity: u64,
    pub max_shards: u64,
    pub min_shards: u64,
    pub max_samples_per_send: u64,
    pub batch_send_deadline: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub retry_on_http_429: bool,
    pub sample_age_limit: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 10_000,
            max_shards: 50,
            min_shards: 1,
            max_samples_per_send: 2_000,
            batch_send_deadline: Duration::from_secs(5),
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            retry_on_http_429: true,
            sample_age_limit: Duration::ZERO,
        }
    }
}

/// `remote_write[].metadata_config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetadataConfig {
    pub send: bool,
    pub send_interval: Duration,
    pub max_samples_per_send: u64,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig {
            send: true,
            send_interval: Duration::from_secs(60),
            max_samples_per_send: 500,
        }
    }
}

impl ScrapeConfig {
    /// Whether this job scrapes native histograms.
    pub fn native_histograms(&self) -> bool {
        self.scrape_native_histograms == Some(true)
    }

    /// The formats this job asks for, most wanted first: its own list (or the global one it
    /// took at loading), else the default that fits `scrape_native_histograms`.
    pub fn protocols(&self) -> Vec<ScrapeProtocol> {
        if !self.scrape_protocols.is_empty() {
            self.scrape_protocols.clone()
        } else if self.native_histograms() {
            ScrapeProtocol::PROTO_FIRST.to_vec()
        } else {
            ScrapeProtocol::DEFAULTS.to_vec()
        }
    }
}

impl Config {
    /// `--enable-feature=native-histograms`: scraping native histograms becomes the default
    /// of `global` and of every job that does not say otherwise (as Prometheus 2 users
    /// expect); a config that says `scrape_native_histograms: false` keeps it.
    pub fn default_native_histograms(&mut self) {
        let global = *self.global.scrape_native_histograms.get_or_insert(true);
        for job in self.scrape_configs.iter_mut().flatten() {
            job.scrape_native_histograms.get_or_insert(global);
        }
    }

    /// Applies `--enable-feature` values: `native-histograms` (see `default_native_histograms`)
    /// and `created-timestamp-zero-ingestion` (every job stores created timestamps from the
    /// protobuf format as zero samples). Others change nothing.
    pub fn apply_features(&mut self, features: &[String]) {
        let on = |name: &str| features.iter().any(|f| f.trim() == name);
        if on("native-histograms") {
            self.default_native_histograms();
        }
        if on("created-timestamp-zero-ingestion") {
            for job in self.scrape_configs.iter_mut().flatten() {
                job.created_timestamp_zero_ingestion = true;
            }
        }
    }

    /// The scrape jobs (null entries are rejected by validation, so none are skipped here).
    pub fn jobs(&self) -> impl Iterator<Item = &ScrapeConfig> {
        self.scrape_configs.iter().flatten()
    }

    /// The remote-write destinations.
    pub fn remote_writes(&self) -> impl Iterator<Item = &RemoteWriteConfig> {
        self.remote_write.iter().flatten()
    }
}

#[cfg(test)]
mod tests;
