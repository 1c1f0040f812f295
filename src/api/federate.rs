//! `/federate`: the newest sample (within the lookback delta) of every series matching the
//! `match[]` selectors, grouped by metric name, with sample timestamps in milliseconds, so
//! another Prometheus can scrape it with `honor_labels: true` (web/federate.go in our own
//! words). The format follows the client's `Accept` as Prometheus negotiates it: the protobuf
//! format (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
//! encoding=delimited`) when asked for first, with native histograms as `HISTOGRAM` (or
//! `GAUGE_HISTOGRAM`) families in their float form and floats as `UNTYPED`; otherwise the text
//! format (0.0.4) with a `# TYPE ... untyped` line per family, which cannot hold native
//! histograms and leaves them out, as Prometheus does. A name whose series mix floats and
//! histograms gets a family per run of one kind. Custom-bucket (NHCB) histograms are left out
//! of the protobuf format too: it has no field for their bounds. Errors are plain text.
//! Uses axum, prost, `model`, `promql` (selectors), `storage` and `textparse::proto`.

use std::fmt::Write;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use prost::Message;

use super::error::{blocking, TextError};
use super::params::Params;
use super::state::ApiState;
use crate::model::{format_go_g, is_stale_nan, now_ms, CounterResetHint, FloatHistogram, Labels};
use crate::storage::Series;
use crate::textparse::proto;

/// The protobuf exposition format's Content-Type.
const PROTO_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Whether `Accept` asks for the delimited protobuf format before the text format, as
/// Prometheus's `expfmt.Negotiate` decides: entries by falling quality (in order among equals);
/// the first that is the protobuf `MetricFamily` type with `encoding=delimited`, or
/// `text/plain` (version 0.0.4 or none), wins; anything else falls back to text.
pub fn wants_protobuf(accept: &str) -> bool {
    let mut entries: Vec<(f64, usize, &str)> = accept
        .split(',')
        .enumerate()
        .map(|(i, e)| {
            let q = e
                .split(';')
                .skip(1)
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .and_then(|(_, v)| v.trim().parse::<f64>().ok())
                .unwrap_or(1.0);
            (q, i, e)
        })
        .filter(|(q, _, _)| *q > 0.0)
        .collect();
    entries.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, e) in entries {
        let mut parts = e.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let params: Vec<(String, String)> = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| {
                (
                    k.trim().to_ascii_lowercase(),
                    v.trim().trim_matches('"').to_string(),
                )
            })
            .collect();
        let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if media == "application/vnd.google.protobuf"
            && param("proto") == Some("io.prometheus.client.MetricFamily")
        {
            match param("encoding") {
                Some("delimited") => return true,
                // The protobuf text encodings are not offered: text instead.
                Some("text") | Some("compact-text") => return false,
                _ => {}
            }
        }
        if media == "text/plain" && matches!(param("version"), None | Some("0.0.4")) {
            return false;
        }
    }
    false
}

/// A series' newest sample for federation.
#[derive(Debug, Clone, PartialEq)]
pub enum Newest {
    Float(f64),
    Histogram(FloatHistogram),
}

/// The newest sample of `s` (float or histogram), unless it is a stale marker.
pub fn newest(s: &Series) -> Option<(i64, Newest)> {
    let f = s.samples.last();
    let h = s.histograms.last();
    match (f, h) {
        (_, Some(h)) if f.is_none_or(|f| h.t > f.t) => {
            (!h.h.is_stale()).then(|| (h.t, Newest::Histogram(h.h.to_float())))
        }
        (Some(f), _) => (!is_stale_nan(f.v)).then_some((f.t, Newest::Float(f.v))),
        _ => None,
    }
}

/// The text format: float samples only.
pub fn render_text(samples: &[(Labels, i64, Newest)]) -> String {
    let mut body = String::new();
    let mut family: Option<&str> = None;
    for (labels, t, v) in samples {
        let Newest::Float(v) = v else {
            continue;
        };
        let name = labels.metric_name().unwrap_or("");
        if family != Some(name) {
            let _ = writeln!(body, "# TYPE {name} untyped");
            family = Some(name);
        }
        let pairs: Vec<String> = labels
            .iter()
            .filter(|l| l.name.as_ref() != "__name__")
            .map(|l| format!("{}=\"{}\"", l.name, escape(&l.value)))
            .collect();
        if pairs.is_empty() {
            let _ = writeln!(body, "{name} {} {t}", format_go_g(*v));
        } else {
            let _ = writeln!(
                body,
                "{name}{{{}}} {} {t}",
                pairs.join(","),
                format_go_g(*v)
            );
        }
    }
    body
}

fn spans(s: &[crate::model::Span]) -> Vec<proto::BucketSpan> {
    s.iter()
        .map(|s| proto::BucketSpan {
            offset: s.offset,
            length: s.length,
        })
        .collect()
}

/// The delimited protobuf format: a `MetricFamily` per run of one metric name and one sample
/// kind (untyped floats, counter histograms, gauge histograms), each length-prefixed.
pub fn render_proto(samples: &[(Labels, i64, Newest)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut fam: Option<proto::MetricFamily> = None;
    for (labels, t, v) in samples {
        let name = labels.metric_name().unwrap_or("");
        if name.is_empty() {
            continue;
        }
        let (kind, metric) = match v {
            Newest::Float(v) => (
                proto::MetricType::Untyped,
                proto::Metric {
                    untyped: Some(proto::Untyped { value: *v }),
                    ..Default::default()
                },
            ),
            Newest::Histogram(h) if h.uses_custom_buckets() => continue,
            Newest::Histogram(h) => (
                if h.counter_reset_hint == CounterResetHint::Gauge {
                    proto::MetricType::GaugeHistogram
                } else {
                    proto::MetricType::Histogram
                },
                proto::Metric {
                    histogram: Some(proto::Histogram {
                        sample_count_float: h.count,
                        sample_sum: h.sum,
                        schema: h.schema,
                        zero_threshold: h.zero_threshold,
                        zero_count_float: h.zero_count,
                        negative_span: spans(&h.negative_spans),
                        negative_count: h.negative_buckets.clone(),
                        positive_span: spans(&h.positive_spans),
                        positive_count: h.positive_buckets.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ),
        };
        let metric = proto::Metric {
            label: labels
                .iter()
                .filter(|l| l.name.as_ref() != "__name__" && !l.value.is_empty())
                .map(|l| proto::LabelPair {
                    name: l.name.to_string(),
                    value: l.value.to_string(),
                })
                .collect(),
            timestamp_ms: *t,
            ..metric
        };
        let same = fam
            .as_ref()
            .is_some_and(|f| f.name == name && f.r#type == kind as i32);
        if !same {
            if let Some(f) = fam.take() {
                out.extend(f.encode_length_delimited_to_vec());
            }
            fam = Some(proto::MetricFamily {
                name: name.to_string(),
                r#type: kind as i32,
                ..Default::default()
            });
        }
        if let Some(f) = fam.as_mut() {
            f.metric.push(metric);
        }
    }
    if let Some(f) = fam {
        out.extend(f.encode_length_delimited_to_vec());
    }
    out
}

pub async fn federate(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, TextError> {
    let p = Params::parse(raw.as_deref(), None);
    let mut matchers = Vec::new();
    for m in p.all("match[]") {
        let alts = crate::promql::parse_selector(m)
            .map_err(|e| TextError::bad_request(format!("error parsing match[] {m:?}: {e}")))?;
        matchers.extend(alts);
    }
    if matchers.is_empty() {
        return Err(TextError::bad_request("at least one match[] is required"));
    }
    let protobuf = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(wants_protobuf);
    let now = now_ms();
    let lookback = state.engine.lookback_ms;
    let q = state.querier.clone();
    let mut series = blocking("federate", move || {
        let mut out = Vec::new();
        for m in &matchers {
            out.extend(q.select(m, now - lookback + 1, now)?);
        }
        Ok::<_, crate::storage::StorageError>(out)
    })
    .await??;
    series.sort_by(|a, b| {
        (a.labels.metric_name(), &a.labels).cmp(&(b.labels.metric_name(), &b.labels))
    });
    series.dedup_by(|a, b| a.labels == b.labels);
    let samples: Vec<(Labels, i64, Newest)> = series
        .into_iter()
        .filter_map(|s| newest(&s).map(|(t, v)| (s.labels, t, v)))
        .collect();
    if protobuf {
        return Ok((
            [(header::CONTENT_TYPE, PROTO_CONTENT_TYPE)],
            render_proto(&samples),
        )
            .into_response());
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render_text(&samples),
    )
        .into_response())
}

#[cfg(test)]
#[path = "federate_tests.rs"]
mod tests;
