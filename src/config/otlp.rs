//! The `otlp:` section: how OTLP metrics become Prometheus series (Prometheus 3's keys and
//! defaults), plus promterm's own listener addresses for the OTLP receivers. Uses nothing.

use serde::{Deserialize, Serialize};

/// How OTLP metric and label names are translated (Prometheus 3's `translation_strategy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TranslationStrategy {
    /// Characters outside the legacy set become `_`; unit and type suffixes are added.
    #[default]
    UnderscoreEscapingWithSuffixes,
    /// As above without the unit and type suffixes.
    UnderscoreEscapingWithoutSuffixes,
    /// Names kept as they are (UTF-8), with suffixes.
    NoUTF8EscapingWithSuffixes,
    /// Names kept exactly as they are.
    NoTranslation,
}

/// The `otlp:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// Resource attributes copied onto every series of their resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promote_resource_attributes: Vec<String>,
    /// Copy every resource attribute (but those in `ignore_resource_attributes`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promote_all_resource_attributes: bool,
    /// With `promote_all_resource_attributes`: the attributes not promoted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_resource_attributes: Vec<String>,
    #[serde(default)]
    pub translation_strategy: TranslationStrategy,
    /// Keep `service.name`, `service.namespace`, `service.instance.id` on `target_info`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_identifying_resource_attributes: bool,
    /// Explicit-bucket histograms as native histograms with custom buckets.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub convert_histograms_to_nhcb: bool,
    /// `otel_scope_name`, `otel_scope_version` and scope attributes on every series.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promote_scope_metadata: bool,
    /// promterm: where the OTLP/gRPC receiver listens (the `--otlp.grpc-listen-address` flag
    /// wins; empty turns it off). Read at start only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_listen_address: Option<String>,
    /// promterm: where the OTLP/HTTP receiver listens (`/v1/metrics`; the
    /// `--otlp.http-listen-address` flag wins; empty turns it off). Read at start only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_listen_address: Option<String>,
}
