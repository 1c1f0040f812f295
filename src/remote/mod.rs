//! Remote write 1.0 and 2.0, receiving side: protocol negotiation by Content-Type, snappy block
//! decompression (`snap::raw`), protobuf decoding (`proto`), label validation, created
//! timestamps (a zero sample before a counter's first sample), and hand-off to a
//! `storage::Appender`.
//!
//! A request is decoded completely before anything is stored, so undecodable bodies store
//! nothing. Series with invalid labels are rejected one by one and the rest are stored; samples
//! that are out of order or duplicate are rejected one by one and the rest are stored. Either
//! way the client gets a 400 naming the problem (the Prometheus sender does not retry a 400).
//! Exemplars (1.0 `TimeSeries.exemplars`, 2.0 `exemplars` with symbol references) are stored
//! after the samples of their series; as in Prometheus, exemplars the store refuses (out of
//! order, duplicates, labels too long, invalid UTF-8) are counted, not an error of the write.
//! Native histograms (1.0 `TimeSeries.histograms`, 2.0 `histograms`; integer or float form,
//! schemas −4…8 and −53 with custom bounds, reset hints) are checked one by one with
//! Prometheus's validation rules: an invalid one is refused with a message naming its series,
//! its timestamp and the rule, and the rest of the request is stored. Valid ones are stored
//! after the float samples, with the same out-of-order and duplicate rules.
//! Uses `model` and `storage`; prost (in `proto`) and snap stay here.

pub mod metadata;
pub mod proto;

use crate::model::{
    is_valid_label_name, is_valid_metric_name, HistogramSample, NameValidation, METRIC_NAME,
};
use crate::storage::{
    AppendStats, Appender, Exemplar, ExemplarInput, ExemplarStats, HistogramInput, SeriesInput,
    StorageError,
};

/// Limits on one request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest compressed body accepted (413 above).
    pub max_body: usize,
    /// Largest decompressed body accepted (400 above; guards against snappy bombs).
    pub max_decoded: usize,
    /// Limits on each series' labels (remote write and OTLP).
    pub labels: crate::model::LabelLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 32 << 20,
            max_decoded: 256 << 20,
            labels: crate::model::LabelLimits::default(),
        }
    }
}

/// Why a write was not (wholly) accepted; each maps to an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// 415
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 413
    #[error("request body of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// 400: nothing was stored.
    #[error("{0}")]
    BadRequest(String),
    /// 400: the valid part was stored.
    #[error("{message}")]
    Partial {
        message: String,
        /// What became of the float samples.
        stats: AppendStats,
        /// Exemplars stored.
        exemplars_written: u64,
        /// Native histogram samples stored.
        histograms_written: u64,
    },
    /// 500
    #[error("{0}")]
    Storage(#[from] StorageError),
}

impl WriteError {
    pub fn status(&self) -> u16 {
        match self {
            WriteError::UnsupportedMediaType(_) => 415,
            WriteError::TooLarge { .. } => 413,
            WriteError::BadRequest(_) | WriteError::Partial { .. } => 400,
            WriteError::Storage(_) => 500,
        }
    }
}

/// Which remote-write protocol a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `prometheus.WriteRequest`
    V1,
    /// `io.prometheus.write.v2.Request`
    V2,
}

/// What a stored write held (for the 2.0 `X-Prometheus-Remote-Write-*-Written` headers).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Received {
    /// What became of the float samples.
    pub stats: AppendStats,
    /// Samples stored (created-timestamp zeros not counted).
    pub samples_written: u64,
    /// What became of the native histogram samples (created-timestamp zeros not counted).
    pub histograms: AppendStats,
    /// What became of the request's exemplars (stored ones are `accepted`).
    pub exemplars: ExemplarStats,
    /// Metadata the request carried: (family name, metadata).
    pub metadata: Vec<(String, crate::textparse::Metadata)>,
}

/// Checks `Content-Type` and `Content-Encoding` and picks the protocol: `proto=` in the
/// Content-Type chooses 1.0 or 2.0; a missing Content-Type or `proto` is 1.0 (older senders
/// omit them); a missing Content-Encoding is snappy.
pub fn check_headers(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<Version, WriteError> {
    let mut version = Version::V1;
    if let Some(ct) = content_type {
        let mut parts = ct.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        if !media.eq_ignore_ascii_case("application/x-protobuf") {
            return Err(WriteError::UnsupportedMediaType(format!(
                "unsupported Content-Type {ct:?}: remote write needs \"application/x-protobuf\""
            )));
        }
        for p in parts {
            if let Some(proto) = p.strip_prefix("proto=") {
                version = match proto.trim_matches('"') {
                    "prometheus.WriteRequest" => Version::V1,
                    "io.prometheus.write.v2.Request" => Version::V2,
                    _ => {
                        return Err(WriteError::UnsupportedMediaType(format!(
                            "unsupported remote write protobuf message {proto:?}: \"prometheus.WriteRequest\" (1.0) and \"io.prometheus.write.v2.Request\" (2.0) are accepted"
                        )))
                    }
                };
            }
        }
    }
    if let Some(ce) = content_encoding {
        if !ce.trim().eq_ignore_ascii_case("snappy") {
            return Err(WriteError::UnsupportedMediaType(format!(
                "unsupported Content-Encoding {ce:?}: remote write needs \"snappy\""
            )));
        }
    }
    Ok(version)
}

/// Decompresses a snappy block-format body.
pub fn decompress(body: &[u8], limits: Limits) -> Result<Vec<u8>, WriteError> {
    let n = snap::raw::decompress_len(body)
        .map_err(|e| WriteError::BadRequest(format!("invalid snappy-compressed body: {e}")))?;
    if n > limits.max_decoded {
        return Err(WriteError::BadRequest(format!(
            "decompressed body would be {n} bytes, above the limit of {} bytes",
            limits.max_decoded
        )));
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| WriteError::BadRequest(format!("invalid snappy-compressed body: {e}")))
}

fn printable(pairs: &[(&[u8], &[u8])]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(n, v)| {
            format!(
                "{}={:?}",
                String::from_utf8_lossy(n),
                String::from_utf8_lossy(v)
            )
        })
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// Validates one series' labels: UTF-8, non-empty and valid names, unique names, a metric
/// name. Returns sorted pairs with empty values dropped.
pub fn validate_labels<'a>(
    raw: &[(&'a [u8], &'a [u8])],
    scheme: NameValidation,
) -> Result<Vec<(&'a str, &'a str)>, String> {
    let mut pairs = Vec::with_capacity(raw.len());
    for (n, v) in raw {
        let name = std::str::from_utf8(n).map_err(|_| {
            format!(
                "invalid UTF-8 in label name {:?} of series {}",
                String::from_utf8_lossy(n),
                printable(raw)
            )
        })?;
        let value = std::str::from_utf8(v).map_err(|_| {
            format!(
                "invalid UTF-8 in the value of label {name:?} of series {}",
                printable(raw)
            )
        })?;
        if name.is_empty() {
            return Err(format!("empty label name in series {}", printable(raw)));
        }
        if !value.is_empty() {
            pairs.push((name, value));
        }
    }
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for w in pairs.windows(2) {
        if w[0].0 == w[1].0 {
            return Err(format!(
                "duplicate label name {:?} in series {}",
                w[0].0,
                printable(raw)
            ));
        }
    }
    match pairs.iter().find(|(n, _)| *n == METRIC_NAME) {
        None => {
            return Err(format!(
                "series {} has no metric name (__name__ label)",
                printable(raw)
            ))
        }
        Some((_, m)) if !is_valid_metric_name(m, scheme) => {
            return Err(format!(
                "invalid metric name {m:?} in series {}",
                printable(raw)
            ))
        }
        _ => {}
    }
    if let Some((n, _)) = pairs.iter().find(|(n, _)| !is_valid_label_name(n, scheme)) {
        return Err(format!(
            "invalid label name {n:?} in series {}",
            printable(raw)
        ));
    }
    Ok(pairs)
}

/// A series' received exemplars with valid UTF-8 labels, and how many had invalid ones.
fn exemplars_of(list: &[proto::DecodedExemplar<'_>]) -> (Vec<Exemplar>, u64) {
    let mut out = Vec::with_capacity(list.len());
    let mut bad = 0;
    for e in list {
        let pairs: Option<Vec<(&str, &str)>> = e
            .labels
            .iter()
            .map(|(n, v)| Some((std::str::from_utf8(n).ok()?, std::str::from_utf8(v).ok()?)))
            .collect();
        match pairs {
            Some(p) => out.push(Exemplar {
                labels: crate::model::Labels::from_pairs(p),
                value: e.value,
                t: e.t,
            }),
            None => bad += 1,
        }
    }
    (out, bad)
}

/// Validated labels as `{name="value", ...}`, for messages.
fn series_text(labels: &[(&str, &str)]) -> String {
    let inner: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// A series' histograms that pass validation; each invalid one is counted and the first
/// described (series, timestamp, rule) in `first_problem`.
fn valid_histograms(
    labels: &[(&str, &str)],
    list: Vec<HistogramSample>,
    invalid: &mut u64,
    first_problem: &mut Option<String>,
) -> Vec<HistogramSample> {
    let mut out = Vec::with_capacity(list.len());
    for s in list {
        match s.h.validate() {
            Ok(()) => out.push(s),
            Err(e) => {
                *invalid += 1;
                if first_problem.is_none() {
                    *first_problem = Some(format!(
                        "invalid native histogram at timestamp {} in series {}: {e}",
                        s.t,
                        series_text(labels)
                    ));
                }
            }
        }
    }
    out
}

/// A decoded request of either version.
enum Request {
    V1(proto::v1::WriteRequest),
    V2(proto::v2::Request),
}

/// Decodes, validates and stores one remote-write request body.
pub fn receive(
    appender: &dyn Appender,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: &[u8],
    limits: Limits,
) -> Result<Received, WriteError> {
    let version = check_headers(content_type, content_encoding)?;
    if body.len() > limits.max_body {
        return Err(WriteError::TooLarge {
            size: body.len(),
            limit: limits.max_body,
        });
    }
    let raw = prost::bytes::Bytes::from(decompress(body, limits)?);
    let bad = |e: proto::ProtoError| WriteError::BadRequest(e.to_string());
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut metadata = Vec::new();
    // The decoded request owns the label bytes the series below borrow.
    let req = match version {
        Version::V1 => Request::V1(proto::decode_write_request(raw).map_err(bad)?),
        Version::V2 => Request::V2(proto::decode_write_request_v2(raw).map_err(bad)?),
    };
    let (decoded, created) = match &req {
        Request::V1(req) => {
            for m in &req.metadata {
                metadata.push((
                    text(&m.metric_family_name),
                    crate::textparse::Metadata {
                        kind: crate::textparse::MetricType::from_proto(
                            u64::try_from(m.r#type).unwrap_or(0),
                        ),
                        help: text(&m.help),
                        unit: text(&m.unit),
                    },
                ));
            }
            let decoded: Vec<proto::DecodedSeries<'_>> =
                req.timeseries.iter().map(|ts| ts.decoded()).collect();
            (decoded, Vec::new())
        }
        Request::V2(req) => {
            let v2 = req.decoded_series().map_err(bad)?;
            let created: Vec<i64> = v2.iter().map(|s| s.created).collect();
            for s in &v2 {
                if s.metric_type == 0 && s.help.is_empty() && s.unit.is_empty() {
                    continue;
                }
                let Some((_, name)) = s.series.labels.iter().find(|(n, _)| *n == b"__name__")
                else {
                    continue;
                };
                let kind = crate::textparse::MetricType::from_proto(s.metric_type);
                let name = text(name);
                metadata.push((
                    metadata::family_name(&name, kind).to_string(),
                    crate::textparse::Metadata {
                        kind,
                        help: text(s.help),
                        unit: text(s.unit),
                    },
                ));
            }
            (v2.into_iter().map(|s| s.series).collect(), created)
        }
    };
    metadata.dedup();
    let mut ct_zeros: Vec<SeriesInput<'_>> = Vec::new();
    let mut ct_zero_histograms: Vec<HistogramInput<'_>> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let mut bad_series = 0usize;
    let mut histograms_in = 0usize;
    let (mut bad_histograms, mut histogram_problem) = (0u64, None);
    let mut batch: Vec<SeriesInput<'_>> = Vec::with_capacity(decoded.len());
    let mut hbatch: Vec<HistogramInput<'_>> = Vec::new();
    let mut exemplars: Vec<ExemplarInput<'_>> = Vec::new();
    let mut bad_exemplars = 0u64;
    for (i, ts) in decoded.into_iter().enumerate() {
        histograms_in += ts.histograms.len();
        match validate_labels(&ts.labels, NameValidation::Legacy).and_then(|l| {
            limits
                .labels
                .check(&l)
                .map(|()| l)
                .map_err(|e| e.to_string())
        }) {
            Ok(labels) => {
                // A created timestamp before the first sample: a zero there, as Prometheus
                // ingests it (ignored when the series already has later samples).
                let ct = created.get(i).copied().unwrap_or(0);
                if ct != 0 && ts.samples.first().is_some_and(|s| ct < s.t) {
                    ct_zeros.push(SeriesInput {
                        labels: labels.clone(),
                        samples: vec![crate::model::Sample { t: ct, v: 0.0 }],
                    });
                }
                if !ts.exemplars.is_empty() {
                    let (list, bad) = exemplars_of(&ts.exemplars);
                    bad_exemplars += bad;
                    exemplars.push(ExemplarInput {
                        series: labels.clone(),
                        exemplars: list,
                    });
                }
                let hs = valid_histograms(
                    &labels,
                    ts.histograms,
                    &mut bad_histograms,
                    &mut histogram_problem,
                );
                if let Some(first) = hs.first().filter(|h| ct != 0 && ct < h.t) {
                    ct_zero_histograms.push(HistogramInput {
                        labels: labels.clone(),
                        histograms: vec![HistogramSample {
                            t: ct,
                            h: first.h.zero_like(),
                        }],
                    });
                }
                if !hs.is_empty() {
                    hbatch.push(HistogramInput {
                        labels: labels.clone(),
                        histograms: hs,
                    });
                }
                if !ts.samples.is_empty() {
                    batch.push(SeriesInput {
                        labels,
                        samples: ts.samples,
                    });
                }
            }
            Err(e) => {
                bad_series += 1;
                if problems.is_empty() {
                    problems.push(e);
                }
            }
        }
    }
    if !ct_zeros.is_empty() {
        appender.append(&ct_zeros)?;
    }
    let stats = appender.append(&batch)?;
    if !ct_zero_histograms.is_empty() {
        appender.append_histograms(&ct_zero_histograms)?;
    }
    let hstats = if hbatch.is_empty() {
        AppendStats::default()
    } else {
        appender.append_histograms(&hbatch)?
    };
    let mut ex_stats = if exemplars.is_empty() {
        ExemplarStats::default()
    } else {
        appender.append_exemplars(&exemplars)?
    };
    ex_stats.invalid += bad_exemplars;
    if bad_series > 1 {
        problems[0] = format!(
            "{} (and {} more invalid series)",
            problems[0],
            bad_series - 1
        );
    }
    if let Some(p) = histogram_problem {
        problems.push(if bad_histograms > 1 {
            format!("{p} (and {} more invalid histograms)", bad_histograms - 1)
        } else {
            p
        });
    }
    if stats.out_of_order > 0 {
        problems.push(format!(
            "{} out-of-order samples rejected",
            stats.out_of_order
        ));
    }
    if stats.duplicate > 0 {
        problems.push(format!(
            "{} duplicate samples for an existing timestamp with a different value rejected",
            stats.duplicate
        ));
    }
    if hstats.out_of_order > 0 {
        problems.push(format!(
            "{} out-of-order histogram samples rejected",
            hstats.out_of_order
        ));
    }
    if hstats.duplicate > 0 {
        problems.push(format!(
            "{} duplicate histogram samples for an existing timestamp with a different value rejected",
            hstats.duplicate
        ));
    }
    if hstats.invalid > 0 {
        problems.push(format!(
            "{} histogram samples refused by the store",
            hstats.invalid
        ));
    }
    if problems.is_empty() {
        return Ok(Received {
            stats,
            samples_written: stats.accepted,
            histograms: hstats,
            exemplars: ex_stats,
            metadata,
        });
    }
    let mut message = format!(
        "{}; {} samples were stored",
        problems.join("; "),
        stats.accepted
    );
    if histograms_in > 0 {
        message.push_str(&format!(
            ", {} histogram samples were stored",
            hstats.accepted
        ));
    }
    Err(WriteError::Partial {
        message,
        stats,
        exemplars_written: ex_stats.accepted,
        histograms_written: hstats.accepted,
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod histogram_tests;
