//! The `otlp:` section: how OTLP metrics become Prometheus series (Prometheus 3's keys,
//! defaults and validation messages), promterm's delta-to-cumulative switch, and promterm's
//! listener addresses for the OTLP receivers. Uses nothing.

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

impl TranslationStrategy {
    /// Whether names keep characters outside the legacy set (needs UTF-8 name validation).
    pub fn keeps_utf8(self) -> bool {
        matches!(
            self,
            TranslationStrategy::NoUTF8EscapingWithSuffixes | TranslationStrategy::NoTranslation
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TranslationStrategy::UnderscoreEscapingWithSuffixes => "UnderscoreEscapingWithSuffixes",
            TranslationStrategy::UnderscoreEscapingWithoutSuffixes => {
                "UnderscoreEscapingWithoutSuffixes"
            }
            TranslationStrategy::NoUTF8EscapingWithSuffixes => "NoUTF8EscapingWithSuffixes",
            TranslationStrategy::NoTranslation => "NoTranslation",
        }
    }
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// The `otlp:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Explicit-bucket histograms as native histograms with custom buckets (schema −53)
    /// instead of classic `_bucket`/`_sum`/`_count` series.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub convert_histograms_to_nhcb: bool,
    /// `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url` and
    /// `otel_scope_<attribute>` labels on every series.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promote_scope_metadata: bool,
    /// Prefix `key` to label names starting with a single `_` (Prometheus 3's default, true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub label_name_underscore_sanitization: bool,
    /// Keep runs of `_` in escaped label names (Prometheus 3's default, true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub label_name_preserve_multiple_underscores: bool,
    /// promterm: delta sums and delta histograms (explicit-bucket and exponential) are added
    /// up into cumulative series, per series, as Prometheus's `otlp-deltatocumulative` feature and Alloy's
    /// `otelcol.processor.deltatocumulative` do. On by default: promterm replaces the collector
    /// that would run that processor in front of Prometheus, and SDKs that prefer delta
    /// (.NET, some exporters' defaults) would otherwise lose data. State is kept per series in
    /// memory (streams not seen for 5 minutes are forgotten) and is lost on restart, which
    /// shows as a counter reset. With `false`, delta points are refused with a partial-success
    /// message naming the metric.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub convert_delta_to_cumulative: bool,
    /// promterm: where the OTLP/gRPC receiver listens (the `--otlp.grpc-listen-address` flag
    /// wins; empty turns it off). Read at start only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_listen_address: Option<String>,
    /// promterm: where the OTLP/HTTP receiver listens (`/v1/metrics`; the
    /// `--otlp.http-listen-address` flag wins; empty turns it off). Read at start only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_listen_address: Option<String>,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            promote_resource_attributes: Vec::new(),
            promote_all_resource_attributes: false,
            ignore_resource_attributes: Vec::new(),
            translation_strategy: TranslationStrategy::default(),
            keep_identifying_resource_attributes: false,
            convert_histograms_to_nhcb: false,
            promote_scope_metadata: false,
            label_name_underscore_sanitization: true,
            label_name_preserve_multiple_underscores: true,
            convert_delta_to_cumulative: true,
            grpc_listen_address: None,
            http_listen_address: None,
        }
    }
}

impl OtlpConfig {
    /// Checks the section as Prometheus 3 does, trimming the attribute names; `utf8` says
    /// whether `metric_name_validation_scheme` is `utf8`. Returns Prometheus's messages.
    pub fn validate(&mut self, utf8: bool) -> Result<(), String> {
        if self.promote_all_resource_attributes {
            if !self.promote_resource_attributes.is_empty() {
                return Err("'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously".into());
            }
            sanitize_attributes(&mut self.ignore_resource_attributes, "ignored")
                .map_err(|e| format!("invalid 'ignore_resource_attributes': {e}"))?;
        } else {
            if !self.ignore_resource_attributes.is_empty() {
                return Err("'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true".into());
            }
            sanitize_attributes(&mut self.promote_resource_attributes, "promoted")
                .map_err(|e| format!("invalid 'promote_resource_attributes': {e}"))?;
        }
        if self.translation_strategy.keeps_utf8() && !utf8 {
            return Err(format!(
                "OTLP translation strategy {:?} is not allowed when UTF8 is disabled (set global.metric_name_validation_scheme: utf8)",
                self.translation_strategy.as_str()
            ));
        }
        Ok(())
    }
}

/// Trims the names; every empty or repeated one is an error (all of them reported).
fn sanitize_attributes(attrs: &mut [String], adjective: &str) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    let mut errs = Vec::new();
    for a in attrs.iter_mut() {
        let t = a.trim().to_string();
        if t.is_empty() {
            errs.push(format!("empty {adjective} OTel resource attribute"));
            continue;
        }
        if !seen.insert(t.clone()) {
            errs.push(format!(
                "duplicated {adjective} OTel resource attribute {t:?}"
            ));
            continue;
        }
        *a = t;
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("\n"))
    }
}
