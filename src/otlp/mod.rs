//! OTLP/HTTP metrics receiver (`POST /api/v1/otlp/v1/metrics`): an `ExportMetricsServiceRequest`
//! (`opentelemetry-proto`'s types, which the gRPC receiver will share) decoded from protobuf with
//! `prost` or from JSON by `json`, turned into samples as Prometheus's OTLP endpoint does with
//! its default translation (names from `names`):
//!
//! - gauges as they are; monotonic cumulative sums as counters named `..._total`; other
//!   cumulative sums as gauges; histograms as `_bucket{le}`, `_sum`, `_count`; summaries as
//!   `{quantile}`, `_sum`, `_count`; exponential histograms are skipped. Delta temporality is
//!   refused with an error naming the metric. Points flagged "no recorded value" become stale
//!   markers.
//! - resource attributes: `service.namespace/service.name` → `job`, `service.instance.id` →
//!   `instance`; the rest go on a `target_info` series per resource.
//!
//! Uses `model`, `storage`, `textparse` (metadata types), `opentelemetry-proto` and `prost`.

pub mod export;
pub mod grpc;
pub mod json;
pub mod names;

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};
use prost::Message;

pub use names::{label_name, metric_name};

use crate::model::{stale_nan, Sample};
use crate::storage::{AppendStats, Appender, SeriesInput, StorageError};

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// 400
    #[error("{0}")]
    Bad(String),
    /// 500
    #[error("{0}")]
    Storage(#[from] StorageError),
}

impl From<json::JsonError> for OtlpError {
    fn from(e: json::JsonError) -> Self {
        OtlpError::Bad(e.to_string())
    }
}

/// Decodes a request: OTLP/JSON when `json`, else protobuf.
pub fn decode(body: &[u8], json: bool) -> Result<ExportMetricsServiceRequest, OtlpError> {
    if json {
        Ok(json::decode(body)?)
    } else {
        ExportMetricsServiceRequest::decode(body)
            .map_err(|e| OtlpError::Bad(format!("invalid OTLP protobuf: {e}")))
    }
}

/// An attribute value as label text (Prometheus stringifies non-string values; arrays, lists
/// and bytes become empty, so no label).
fn attr_text(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => crate::model::format_go_g(*d),
        _ => String::new(),
    }
}

fn le(b: f64) -> String {
    crate::model::format_go_g(b)
}

/// `AggregationTemporality::Delta`.
const DELTA: i32 = 1;
/// `DataPointFlags::NoRecordedValueMask`.
const NO_RECORDED_VALUE: u32 = 1;

/// Metadata of the metrics stored: (family name, type, description, unit).
pub type MetadataList = Vec<(String, crate::textparse::Metadata)>;

/// What became of one export request: what was stored, the metrics' metadata, and the data
/// points refused (OTLP's `partial_success`: their number and a message naming why).
#[derive(Debug, Default)]
pub struct Outcome {
    pub stats: AppendStats,
    pub exemplars: crate::storage::ExemplarStats,
    pub metadata: MetadataList,
    /// Data points not stored (OTLP `rejected_data_points`).
    pub rejected_points: u64,
    /// Why they were refused (OTLP `error_message`); empty when none were.
    pub error_message: String,
}

/// The OTLP receiver shared by the gRPC and HTTP endpoints: the `otlp:` config in force and
/// the state kept between requests.
#[derive(Debug, Default)]
pub struct Receiver {
    config: parking_lot::RwLock<crate::config::OtlpConfig>,
}

impl Receiver {
    pub fn new(config: crate::config::OtlpConfig) -> Self {
        Receiver {
            config: parking_lot::RwLock::new(config),
        }
    }

    /// Applies a reloaded `otlp:` section to the following requests.
    pub fn set_config(&self, config: crate::config::OtlpConfig) {
        *self.config.write() = config;
    }

    /// Decodes (`json` picks the JSON encoding), translates and stores one request; label
    /// limits apply to every series.
    pub fn receive(
        &self,
        appender: &dyn Appender,
        body: &[u8],
        json: bool,
        limits: &crate::model::LabelLimits,
    ) -> Result<Outcome, OtlpError> {
        let req = decode(body, json)?;
        self.store(appender, &req, limits)
    }

    /// Translates and stores a decoded request.
    pub fn store(
        &self,
        appender: &dyn Appender,
        req: &ExportMetricsServiceRequest,
        limits: &crate::model::LabelLimits,
    ) -> Result<Outcome, OtlpError> {
        let (stats, metadata) = store(appender, req, limits)?;
        Ok(Outcome {
            stats,
            metadata,
            ..Outcome::default()
        })
    }
}

/// Translates and stores a decoded request.
fn store(
    appender: &dyn Appender,
    req: &ExportMetricsServiceRequest,
    limits: &crate::model::LabelLimits,
) -> Result<(AppendStats, MetadataList), OtlpError> {
    use crate::textparse::{Metadata, MetricType};
    let mut metadata: MetadataList = Vec::new();
    let mut series: Vec<(BTreeMap<String, String>, Sample)> = Vec::new();
    for res in &req.resource_metrics {
        let attrs: Vec<(&str, String)> = res
            .resource
            .as_ref()
            .map(|r| &r.attributes[..])
            .unwrap_or(&[])
            .iter()
            .map(|kv| (kv.key.as_str(), attr_text(kv)))
            .collect();
        let get = |k: &str| {
            attrs
                .iter()
                .find(|(a, _)| *a == k)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let job = match (get("service.namespace"), get("service.name")) {
            (Some(ns), Some(n)) => Some(format!("{ns}/{n}")),
            (None, Some(n)) => Some(n),
            _ => None,
        };
        let instance = get("service.instance.id");
        let mut base: BTreeMap<String, String> = BTreeMap::new();
        if let Some(j) = &job {
            base.insert("job".into(), j.clone());
        }
        if let Some(i) = &instance {
            base.insert("instance".into(), i.clone());
        }
        let mut newest = 0u64;
        for m in res.scope_metrics.iter().flat_map(|s| &s.metrics) {
            let (counter, gauge, kind) = match &m.data {
                Some(Data::Sum(s)) if s.aggregation_temporality == DELTA => {
                    return Err(delta(&m.name))
                }
                Some(Data::Histogram(h)) if h.aggregation_temporality == DELTA => {
                    return Err(delta(&m.name))
                }
                Some(Data::Sum(s)) if s.is_monotonic => (true, false, MetricType::Counter),
                Some(Data::Sum(_) | Data::Gauge(_)) => (false, true, MetricType::Gauge),
                Some(Data::Histogram(_)) => (false, false, MetricType::Histogram),
                Some(Data::Summary(_)) => (false, false, MetricType::Summary),
                Some(Data::ExponentialHistogram(_)) | None => continue,
            };
            let name = metric_name(&m.name, &m.unit, counter, gauge);
            metadata.push((
                name.clone(),
                Metadata {
                    kind,
                    help: m.description.clone(),
                    unit: m.unit.clone(),
                },
            ));
            // Each point's labels, and a sink for its samples.
            let mut point = |p_attrs: &[KeyValue], t_ns: u64, flags: u32| {
                newest = newest.max(t_ns);
                let mut labels = base.clone();
                for kv in p_attrs {
                    let v = attr_text(kv);
                    if !v.is_empty() {
                        labels.insert(label_name(&kv.key), v);
                    }
                }
                Emit {
                    labels,
                    name: &name,
                    t: (t_ns / 1_000_000) as i64,
                    no_value: flags & NO_RECORDED_VALUE != 0,
                }
            };
            match &m.data {
                Some(Data::Gauge(g)) => {
                    for p in &g.data_points {
                        point(&p.attributes, p.time_unix_nano, p.flags).push(
                            &mut series,
                            "",
                            None,
                            number(p.value),
                        );
                    }
                }
                Some(Data::Sum(s)) => {
                    for p in &s.data_points {
                        point(&p.attributes, p.time_unix_nano, p.flags).push(
                            &mut series,
                            "",
                            None,
                            number(p.value),
                        );
                    }
                }
                Some(Data::Histogram(h)) => {
                    for p in &h.data_points {
                        let e = point(&p.attributes, p.time_unix_nano, p.flags);
                        let mut cum = 0.0;
                        for (i, c) in p.bucket_counts.iter().enumerate() {
                            cum += *c as f64;
                            let bound = p.explicit_bounds.get(i).copied().unwrap_or(f64::INFINITY);
                            e.push(&mut series, "_bucket", Some(("le", le(bound))), cum);
                        }
                        let count = p.count as f64;
                        if p.bucket_counts.len() <= p.explicit_bounds.len() {
                            e.push(&mut series, "_bucket", Some(("le", "+Inf".into())), count);
                        }
                        if let Some(s) = p.sum {
                            e.push(&mut series, "_sum", None, s);
                        }
                        e.push(&mut series, "_count", None, count);
                    }
                }
                Some(Data::Summary(s)) => {
                    for p in &s.data_points {
                        let e = point(&p.attributes, p.time_unix_nano, p.flags);
                        for q in &p.quantile_values {
                            e.push(&mut series, "", Some(("quantile", le(q.quantile))), q.value);
                        }
                        e.push(&mut series, "_sum", None, p.sum);
                        e.push(&mut series, "_count", None, p.count as f64);
                    }
                }
                Some(Data::ExponentialHistogram(_)) | None => {}
            }
        }
        // target_info: the resource's other attributes, when it has any and a job or instance.
        let others: Vec<&(&str, String)> = attrs
            .iter()
            .filter(|(k, v)| {
                !v.is_empty()
                    && !matches!(
                        *k,
                        "service.name" | "service.namespace" | "service.instance.id"
                    )
            })
            .collect();
        if !others.is_empty() && (job.is_some() || instance.is_some()) && newest > 0 {
            let mut l = base.clone();
            for (k, v) in others {
                l.insert(label_name(k), v.clone());
            }
            l.insert("__name__".into(), "target_info".into());
            series.push((
                l,
                Sample {
                    t: (newest / 1_000_000) as i64,
                    v: 1.0,
                },
            ));
        }
    }
    // One append, series grouped.
    let mut grouped: BTreeMap<Vec<(String, String)>, Vec<Sample>> = BTreeMap::new();
    for (l, s) in series {
        grouped.entry(l.into_iter().collect()).or_default().push(s);
    }
    for l in grouped.keys() {
        limits.check(l).map_err(|e| OtlpError::Bad(e.to_string()))?;
    }
    let batch: Vec<SeriesInput> = grouped
        .iter()
        .map(|(l, s)| {
            let mut samples = s.clone();
            samples.sort_by_key(|x| x.t);
            SeriesInput {
                labels: l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect(),
                samples,
            }
        })
        .collect();
    metadata.dedup();
    Ok((appender.append(&batch)?, metadata))
}

fn delta(metric: &str) -> OtlpError {
    OtlpError::Bad(format!(
        "invalid temporality and type combination for metric {metric:?}: delta temporality is not supported; export cumulative (e.g. OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative)"
    ))
}

/// A number point's value (0 when it has none).
fn number(v: Option<number_data_point::Value>) -> f64 {
    match v {
        Some(number_data_point::Value::AsDouble(d)) => d,
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        None => 0.0,
    }
}

/// The samples of one data point: its labels, family name and timestamp.
struct Emit<'a> {
    labels: BTreeMap<String, String>,
    name: &'a str,
    t: i64,
    no_value: bool,
}

impl Emit<'_> {
    /// Adds the sample of series `name+suffix` (with an extra label), a stale marker when the
    /// point has no recorded value.
    fn push(
        &self,
        series: &mut Vec<(BTreeMap<String, String>, Sample)>,
        suffix: &str,
        extra: Option<(&str, String)>,
        v: f64,
    ) {
        let mut l = self.labels.clone();
        l.insert("__name__".into(), format!("{}{suffix}", self.name));
        if let Some((k, x)) = extra {
            l.insert(k.into(), x);
        }
        let v = if self.no_value { stale_nan() } else { v };
        series.push((l, Sample { t: self.t, v }));
    }
}

#[cfg(test)]
mod tests;
