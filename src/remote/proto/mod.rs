//! Remote write protobuf: the 1.0 `prometheus.WriteRequest` (`v1`) and 2.0
//! `io.prometheus.write.v2.Request` (`v2`) messages, declared for `prost`, and what the receiver,
//! the sender, tests and benches do with them: decoding a request (from a `Bytes` buffer, label
//! bytes are sliced, not copied) and viewing its series as label pairs, samples and native
//! histogram samples (2.0 labels resolved through the symbols table, with bad references
//! named) with their exemplars; encoding requests from label pairs, samples, histograms and
//! exemplars. `histogram` converts between the `Histogram` message and `model`'s histogram
//! samples. Uses `model`, `storage` (the exemplar type) and `prost`.

pub mod histogram;
pub mod v1;
pub mod v2;

use std::collections::HashMap;

use prost::bytes::{Buf, Bytes};
use prost::Message;

use crate::model::{HistogramSample, Labels, Sample};
use crate::storage::Exemplar;

/// Why a body is not a valid WriteRequest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid protobuf WriteRequest: {0}")]
pub struct ProtoError(pub String);

impl From<prost::DecodeError> for ProtoError {
    fn from(e: prost::DecodeError) -> Self {
        let text = e.to_string();
        let text = text
            .strip_prefix("failed to decode Protobuf message: ")
            .unwrap_or(&text);
        ProtoError(text.to_string())
    }
}

/// One series as the receiver validates and stores it: label pairs borrowed from the decoded
/// message, float samples, its exemplars, and its native histogram samples (not validated
/// yet).
#[derive(Debug, Default, Clone)]
pub struct DecodedSeries<'a> {
    pub labels: Vec<(&'a [u8], &'a [u8])>,
    pub samples: Vec<Sample>,
    pub exemplars: Vec<DecodedExemplar<'a>>,
    pub histograms: Vec<HistogramSample>,
}

fn histogram_samples(h: &[v1::Histogram]) -> Vec<HistogramSample> {
    h.iter().map(v1::Histogram::to_sample).collect()
}

fn proto_histograms(h: &[HistogramSample]) -> Vec<v1::Histogram> {
    h.iter().map(v1::Histogram::from_sample).collect()
}

/// Label pairs borrowed from a decoded message.
pub type BytePairs<'a> = Vec<(&'a [u8], &'a [u8])>;

/// One exemplar as received: label pairs borrowed from the message (UTF-8 not checked yet).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DecodedExemplar<'a> {
    pub labels: Vec<(&'a [u8], &'a [u8])>,
    pub value: f64,
    pub t: i64,
}

fn samples(s: &[v1::Sample]) -> Vec<Sample> {
    s.iter()
        .map(|s| Sample {
            t: s.timestamp,
            v: s.value,
        })
        .collect()
}

/// Decodes an uncompressed 1.0 WriteRequest. Pass a `Bytes` to have label bytes sliced from
/// it; any other buffer (`&[u8]`) is copied from.
pub fn decode_write_request(buf: impl Buf) -> Result<v1::WriteRequest, ProtoError> {
    Ok(v1::WriteRequest::decode(buf)?)
}

impl v1::TimeSeries {
    /// The series' label pairs and samples.
    pub fn decoded(&self) -> DecodedSeries<'_> {
        DecodedSeries {
            labels: self
                .labels
                .iter()
                .map(|l| (&l.name[..], &l.value[..]))
                .collect(),
            samples: samples(&self.samples),
            exemplars: self
                .exemplars
                .iter()
                .map(|e| DecodedExemplar {
                    labels: e
                        .labels
                        .iter()
                        .map(|l| (&l.name[..], &l.value[..]))
                        .collect(),
                    value: e.value,
                    t: e.timestamp,
                })
                .collect(),
            histograms: histogram_samples(&self.histograms),
        }
    }
}

/// A remote write 2.0 series: labels, help and unit resolved through the symbols table.
#[derive(Debug, Default, Clone)]
pub struct DecodedSeriesV2<'a> {
    pub series: DecodedSeries<'a>,
    /// `created_timestamp` (ms), 0 if unset.
    pub created: i64,
    /// Metadata type (0 unknown, 1 counter, 2 gauge, ...).
    pub metric_type: u64,
    /// Metadata help and unit (empty if unset).
    pub help: &'a [u8],
    pub unit: &'a [u8],
}

/// Decodes an uncompressed 2.0 `io.prometheus.write.v2.Request` and checks its symbols table
/// starts with the empty string; a 1.0 body is refused, naming the Content-Type it needs.
pub fn decode_write_request_v2(buf: impl Buf) -> Result<v2::Request, ProtoError> {
    let req = v2::Request::decode(buf)?;
    if !req.reserved_v1_timeseries.is_empty() || !req.reserved_v1_metadata.is_empty() {
        return Err(ProtoError(
            "fields 1 and 3 are reserved in 2.0 (they are 1.0's): this looks like a prometheus.WriteRequest; send it with Content-Type application/x-protobuf;proto=prometheus.WriteRequest".into(),
        ));
    }
    if req.symbols.first().is_some_and(|s| !s.is_empty()) {
        return Err(ProtoError(
            "the symbols table must start with the empty string".into(),
        ));
    }
    Ok(req)
}

fn symbol<'a>(symbols: &'a [Bytes], i: u32, what: &str) -> Result<&'a [u8], ProtoError> {
    symbols.get(i as usize).map(|s| &s[..]).ok_or_else(|| {
        ProtoError(format!(
            "{what} refers to symbol {i}, but the symbols table has {} entries",
            symbols.len()
        ))
    })
}

impl v2::Request {
    /// Label pairs from symbol references (name, value, name, value, ...).
    fn pairs(&self, refs: &[u32], whose: &str) -> Result<BytePairs<'_>, ProtoError> {
        if !refs.len().is_multiple_of(2) {
            return Err(ProtoError(format!(
                "{whose}labels_refs has an odd number of entries ({})",
                refs.len()
            )));
        }
        let (name, value) = (format!("{whose}label name"), format!("{whose}label value"));
        let an = if whose.is_empty() { "a " } else { "" };
        refs.chunks_exact(2)
            .map(|pair| {
                Ok((
                    symbol(&self.symbols, pair[0], &format!("{an}{name}"))?,
                    symbol(&self.symbols, pair[1], &format!("{an}{value}"))?,
                ))
            })
            .collect()
    }

    /// Every series with its labels and metadata resolved; the first bad symbol reference
    /// (or odd `labels_refs`) is an error naming it.
    pub fn decoded_series(&self) -> Result<Vec<DecodedSeriesV2<'_>>, ProtoError> {
        self.timeseries
            .iter()
            .map(|ts| {
                let refs = &ts.labels_refs;
                let labels = self.pairs(refs, "")?;
                let exemplars = ts
                    .exemplars
                    .iter()
                    .map(|e| {
                        Ok(DecodedExemplar {
                            labels: self.pairs(&e.labels_refs, "an exemplar's ")?,
                            value: e.value,
                            t: e.timestamp,
                        })
                    })
                    .collect::<Result<_, ProtoError>>()?;
                let md = ts.metadata.unwrap_or_default();
                Ok(DecodedSeriesV2 {
                    series: DecodedSeries {
                        labels,
                        samples: samples(&ts.samples),
                        exemplars,
                        histograms: histogram_samples(&ts.histograms),
                    },
                    created: ts.created_timestamp,
                    metric_type: u64::try_from(md.r#type).unwrap_or(0),
                    help: symbol(&self.symbols, md.help_ref, "the metadata's help")?,
                    unit: symbol(&self.symbols, md.unit_ref, "the metadata's unit")?,
                })
            })
            .collect()
    }
}

fn bytes(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn proto_samples(s: &[Sample]) -> Vec<v1::Sample> {
    s.iter()
        .map(|s| v1::Sample {
            value: s.v,
            timestamp: s.t,
        })
        .collect()
}

fn metric_type(t: u64) -> i32 {
    i32::try_from(t).unwrap_or(0)
}

/// Encodes a 1.0 WriteRequest holding only metadata (what senders send every
/// `metadata_config.send_interval`): (type, family name, help, unit).
pub fn encode_metadata(entries: &[(u64, &str, &str, &str)]) -> Vec<u8> {
    v1::WriteRequest {
        timeseries: Vec::new(),
        metadata: entries
            .iter()
            .map(|(t, family, help, unit)| v1::MetricMetadata {
                r#type: metric_type(*t),
                metric_family_name: bytes(family),
                help: bytes(help),
                unit: bytes(unit),
            })
            .collect(),
    }
    .encode_to_vec()
}

/// A series to encode: label pairs and samples.
pub type SeriesToEncode<'a> = (Vec<(&'a str, &'a str)>, Vec<Sample>);

/// Encodes a 1.0 WriteRequest (the sender's, tests' and benches').
pub fn encode_write_request(series: &[SeriesToEncode<'_>]) -> Vec<u8> {
    encode_write_request_with_exemplars(series, &[])
}

fn v1_labels(l: &Labels) -> Vec<v1::Label> {
    l.iter()
        .map(|x| v1::Label {
            name: bytes(&x.name),
            value: bytes(&x.value),
        })
        .collect()
}

/// Encodes a 1.0 WriteRequest where `exemplars[i]` (if present) are series `i`'s exemplars.
pub fn encode_write_request_with_exemplars(
    series: &[SeriesToEncode<'_>],
    exemplars: &[Vec<Exemplar>],
) -> Vec<u8> {
    let full: Vec<SeriesV1<'_>> = series
        .iter()
        .enumerate()
        .map(|(i, (labels, samples))| SeriesV1 {
            labels: labels.clone(),
            samples: samples.clone(),
            exemplars: exemplars.get(i).cloned().unwrap_or_default(),
            histograms: Vec::new(),
        })
        .collect();
    encode_v1(&full)
}

/// A 1.0 series to encode: labels, float samples, exemplars and native histogram samples.
#[derive(Debug, Clone, Default)]
pub struct SeriesV1<'a> {
    pub labels: Vec<(&'a str, &'a str)>,
    pub samples: Vec<Sample>,
    pub exemplars: Vec<Exemplar>,
    pub histograms: Vec<HistogramSample>,
}

/// Encodes a 1.0 `prometheus.WriteRequest` (the sender's and tests').
pub fn encode_v1(series: &[SeriesV1<'_>]) -> Vec<u8> {
    v1::WriteRequest {
        timeseries: series
            .iter()
            .map(|s| v1::TimeSeries {
                labels: s
                    .labels
                    .iter()
                    .map(|(n, v)| v1::Label {
                        name: bytes(n),
                        value: bytes(v),
                    })
                    .collect(),
                samples: proto_samples(&s.samples),
                exemplars: s
                    .exemplars
                    .iter()
                    .map(|e| v1::Exemplar {
                        labels: v1_labels(&e.labels),
                        value: e.value,
                        timestamp: e.t,
                    })
                    .collect(),
                histograms: proto_histograms(&s.histograms),
            })
            .collect(),
        metadata: Vec::new(),
    }
    .encode_to_vec()
}

/// A 2.0 series to encode: labels, samples, created timestamp (0: none), metric type.
pub type SeriesToEncodeV2<'a> = (Vec<(&'a str, &'a str)>, Vec<Sample>, i64, u64);

/// Encodes a remote write 2.0 Request without help or unit (for tests).
pub fn encode_write_request_v2(series: &[SeriesToEncodeV2<'_>]) -> Vec<u8> {
    let full: Vec<SeriesV2<'_>> = series
        .iter()
        .map(|(labels, samples, created, mtype)| SeriesV2 {
            labels: labels.clone(),
            samples: samples.clone(),
            created: *created,
            metric_type: *mtype,
            help: "",
            unit: "",
            exemplars: Vec::new(),
            histograms: Vec::new(),
        })
        .collect();
    encode_v2(&full)
}

/// A 2.0 series to encode, with its metadata.
#[derive(Debug, Clone, Default)]
pub struct SeriesV2<'a> {
    pub labels: Vec<(&'a str, &'a str)>,
    pub samples: Vec<Sample>,
    /// Created timestamp (ms), 0 if none.
    pub created: i64,
    /// 0 unknown, 1 counter, 2 gauge, ...
    pub metric_type: u64,
    pub help: &'a str,
    pub unit: &'a str,
    pub exemplars: Vec<Exemplar>,
    pub histograms: Vec<HistogramSample>,
}

/// Interns strings into a 2.0 symbols table (entry 0 is the empty string).
struct Symbols<'a> {
    table: Vec<Bytes>,
    index: HashMap<&'a str, u32>,
}

impl<'a> Symbols<'a> {
    fn new() -> Self {
        Symbols {
            table: vec![Bytes::new()],
            index: [("", 0)].into_iter().collect(),
        }
    }

    fn get(&mut self, s: &'a str) -> u32 {
        let table = &mut self.table;
        *self.index.entry(s).or_insert_with(|| {
            table.push(bytes(s));
            u32::try_from(table.len() - 1).expect("fewer than 2^32 symbols in one request")
        })
    }
}

/// Encodes a remote write 2.0 `io.prometheus.write.v2.Request` (the sender's and tests').
pub fn encode_v2<'s>(series: &'s [SeriesV2<'_>]) -> Vec<u8> {
    let mut symbols: Symbols<'s> = Symbols::new();
    let mut timeseries = Vec::with_capacity(series.len());
    for ser in series {
        let mut labels_refs = Vec::with_capacity(ser.labels.len() * 2);
        for (n, v) in &ser.labels {
            labels_refs.push(symbols.get(n));
            labels_refs.push(symbols.get(v));
        }
        let metadata =
            (ser.metric_type != 0 || !ser.help.is_empty() || !ser.unit.is_empty()).then(|| {
                v2::Metadata {
                    r#type: metric_type(ser.metric_type),
                    help_ref: symbols.get(ser.help),
                    unit_ref: symbols.get(ser.unit),
                }
            });
        let exemplars = ser
            .exemplars
            .iter()
            .map(|e| v2::Exemplar {
                labels_refs: e
                    .labels
                    .iter()
                    .flat_map(|l| [symbols.get(&l.name), symbols.get(&l.value)])
                    .collect(),
                value: e.value,
                timestamp: e.t,
            })
            .collect();
        timeseries.push(v2::TimeSeries {
            labels_refs,
            samples: proto_samples(&ser.samples),
            histograms: proto_histograms(&ser.histograms),
            exemplars,
            metadata,
            created_timestamp: ser.created,
        });
    }
    v2::Request {
        reserved_v1_timeseries: Vec::new(),
        reserved_v1_metadata: Vec::new(),
        symbols: symbols.table,
        timeseries,
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests;
