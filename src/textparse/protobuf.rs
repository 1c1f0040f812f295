//! The protobuf exposition format (`application/vnd.google.protobuf;
//! proto=io.prometheus.client.MetricFamily; encoding=delimited`): a stream of varint-length
//! -delimited `MetricFamily` messages, read one family at a time into what the scrape loop
//! appends, in the text parser's shapes (`SeriesLabels`, `Exemplar`, `Metadata`).
//!
//! As Prometheus's protobuf parser reads it: a family's metadata (help, type, unit) before its
//! series, families without metrics skipped; counters, gauges and untyped values as one float
//! series named as the family (a counter keeps the name it was sent with, `_total` and all);
//! summaries as `_count`, `_sum` and one `{quantile}` series each; classic histograms as
//! `_count`, `_sum` and `_bucket{le}` series up to `+Inf` (added with the count when not sent);
//! native histograms (any span, a zero threshold or a zero count) as one integer `Histogram`, or
//! a `FloatHistogram` when a `_float` count is used, compacted (no empty buckets or spans), with
//! their classic series after them too when `keep_classic` is set and classic buckets were sent.
//! Labels come sorted; a metric's `timestamp_ms` of 0 means none; created timestamps (ms) go
//! with every series of a counter, summary or histogram. Exemplars: a counter's and each classic
//! bucket's (one per series), and for a native histogram its own exemplars with timestamps, or
//! else its buckets' exemplars with timestamps. Every error names the message (index and byte
//! offset) and what is wrong; no input panics. Uses `model`, `prost` and the text parser's types.

mod compact;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

use prost::Message;

use super::proto::{self, MetricFamily};
use super::{Exemplar, Metadata, MetricType, Pairs, SeriesLabels};
use crate::model::{format_go_g, CounterResetHint, FloatHistogram, Histogram, Span};

/// The Content-Type of the format (and what a scraper puts first in `Accept` to ask for it).
pub const CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// Whether a response's Content-Type is the protobuf format: its media type (parameters aside,
/// case-insensitive) is `application/vnd.google.protobuf`, as Prometheus picks its parser.
pub fn is_protobuf_content_type(ct: &str) -> bool {
    let media = ct.split(';').next().unwrap_or("").trim();
    media.eq_ignore_ascii_case("application/vnd.google.protobuf")
}

/// Why a body is not a valid protobuf exposition: which message (0-based) at which byte
/// offset, of which family when its name is known, and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProtoParseError {
    pub index: usize,
    pub offset: usize,
    /// The metric family's name, empty when the message could not be decoded.
    pub family: String,
    pub msg: String,
}

impl fmt::Display for ProtoParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "protobuf message {} at byte {}", self.index, self.offset)?;
        if !self.family.is_empty() {
            write!(f, " (metric family {:?})", self.family)?;
        }
        write!(f, ": {}", self.msg)
    }
}

/// One entry of a page, in page order.
#[derive(Debug, Clone, PartialEq)]
pub enum ProtoEntry {
    /// A family's help, type and unit; comes before the family's series.
    Metadata { metric: String, meta: Metadata },
    /// A float series.
    Float(FloatSeries),
    /// A native histogram series.
    Histogram(HistogramSeries),
}

/// A float sample of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatSeries {
    /// A key unique per series of a page (the name, then `0xff name 0xff value` per label in
    /// label order), for caching as the text parser's `series` text is used.
    pub series: Vec<u8>,
    /// The name (with `_count`, `_sum`, `_bucket` where due) and the labels, sorted by name
    /// (`quantile` and `le` included).
    pub labels: SeriesLabels<'static>,
    pub value: f64,
    /// Milliseconds, when the metric carries a timestamp.
    pub timestamp: Option<i64>,
    /// The metric's created timestamp (ms), for counters, summaries and histograms.
    pub created: Option<i64>,
    pub exemplar: Option<Exemplar<'static>>,
}

/// A native histogram's value: integer counts (bucket deltas) or float counts (absolute).
#[derive(Debug, Clone, PartialEq)]
pub enum NativeHistogram {
    Int(Histogram),
    Float(FloatHistogram),
}

/// A native histogram sample of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSeries {
    /// As `FloatSeries::series`.
    pub series: Vec<u8>,
    /// The family's name and the metric's labels, sorted by name.
    pub labels: SeriesLabels<'static>,
    pub histogram: NativeHistogram,
    pub timestamp: Option<i64>,
    pub created: Option<i64>,
    /// Exemplars with timestamps (the histogram's own, or else its classic buckets').
    pub exemplars: Vec<Exemplar<'static>>,
}

/// The pull parser: iterating yields entries until the body ends or an error (after which it
/// stops). Each family is decoded when the previous one's entries are used up.
pub struct ProtoParser<'a> {
    body: &'a [u8],
    pos: usize,
    index: usize,
    keep_classic: bool,
    ignore_native: bool,
    pending: std::vec::IntoIter<ProtoEntry>,
    failed: bool,
}

impl<'a> ProtoParser<'a> {
    /// A parser over `body`; `keep_classic` (Prometheus's `always_scrape_classic_histograms`)
    /// also yields the classic series of a histogram read as native.
    pub fn new(body: &'a [u8], keep_classic: bool) -> Self {
        Self::with_options(body, keep_classic, false)
    }

    /// As `new`; with `ignore_native` (a scrape without `scrape_native_histograms`) every
    /// histogram is read as classic, a native-only one as its `_count`, `_sum` and `+Inf`
    /// bucket.
    pub fn with_options(body: &'a [u8], keep_classic: bool, ignore_native: bool) -> Self {
        ProtoParser {
            body,
            pos: 0,
            index: 0,
            keep_classic,
            ignore_native,
            pending: Vec::new().into_iter(),
            failed: false,
        }
    }

    /// The next length-delimited message, decoded and turned into entries.
    fn next_family(&mut self) -> Result<Vec<ProtoEntry>, ProtoParseError> {
        let (index, offset) = (self.index, self.pos);
        self.index += 1;
        let err = |family: &str, msg: String| ProtoParseError {
            index,
            offset,
            family: family.to_string(),
            msg,
        };
        let mut rest = &self.body[self.pos..];
        let before = rest.len();
        let len = prost::encoding::decode_varint(&mut rest).map_err(|_| {
            err(
                "",
                "the length prefix (a varint) is truncated or invalid".into(),
            )
        })?;
        let header = before - rest.len();
        if len > rest.len() as u64 {
            return Err(err(
                "",
                format!(
                    "the message is {len} bytes long but only {} bytes remain (truncated body?)",
                    rest.len()
                ),
            ));
        }
        let len = len as usize;
        let family = MetricFamily::decode(&rest[..len]).map_err(|e| {
            let text = e.to_string();
            let text = text
                .strip_prefix("failed to decode Protobuf message: ")
                .unwrap_or(&text)
                .to_string();
            err("", format!("not a MetricFamily: {text}"))
        })?;
        self.pos += header + len;
        family_entries(&family, self.keep_classic, self.ignore_native)
            .map_err(|msg| err(&family.name, msg))
    }
}

impl Iterator for ProtoParser<'_> {
    type Item = Result<ProtoEntry, ProtoParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.pending.next() {
                return Some(Ok(e));
            }
            if self.failed || self.pos >= self.body.len() {
                return None;
            }
            match self.next_family() {
                Ok(entries) => self.pending = entries.into_iter(),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Every entry of a body, or its first error.
pub fn parse(body: &[u8], keep_classic: bool) -> Result<Vec<ProtoEntry>, ProtoParseError> {
    ProtoParser::new(body, keep_classic).collect()
}

/// Whether a histogram message is meant as native (Prometheus's rule): it has a span (a no-op
/// one marks an empty native histogram), a zero threshold or a zero count.
pub fn is_native(h: &proto::Histogram) -> bool {
    !h.positive_span.is_empty()
        || !h.negative_span.is_empty()
        || h.zero_threshold > 0.0
        || h.zero_count > 0
}

/// A float as OpenMetrics writes label values of `le` and `quantile`: Go's shortest `%g`, with
/// `.0` added to whole numbers (`1.0`, `0.0`, `+Inf`).
pub fn om_float(v: f64) -> String {
    if v == 0.0 {
        return "0.0".into();
    }
    let s = format_go_g(v);
    if v.is_finite() && !s.contains(['.', 'e']) {
        format!("{s}.0")
    } else {
        s
    }
}

fn metric_type(t: proto::MetricType) -> MetricType {
    match t {
        proto::MetricType::Counter => MetricType::Counter,
        proto::MetricType::Gauge => MetricType::Gauge,
        proto::MetricType::Summary => MetricType::Summary,
        proto::MetricType::Untyped => MetricType::Unknown,
        proto::MetricType::Histogram => MetricType::Histogram,
        proto::MetricType::GaugeHistogram => MetricType::GaugeHistogram,
    }
}

/// Checks a family's name, type and unit, then lays out its entries.
fn family_entries(
    mf: &MetricFamily,
    keep_classic: bool,
    ignore_native: bool,
) -> Result<Vec<ProtoEntry>, String> {
    if mf.metric.is_empty() {
        return Ok(Vec::new());
    }
    if mf.name.is_empty() {
        return Err("the metric family has no name".into());
    }
    let t = proto::MetricType::try_from(mf.r#type)
        .map_err(|_| format!("unknown metric type {}", mf.r#type))?;
    if !mf.unit.is_empty() {
        let (base, what) = match (t, mf.name.strip_suffix("_total")) {
            (proto::MetricType::Counter, Some(b)) => (b, "counter"),
            _ => (mf.name.as_str(), "metric"),
        };
        if !base.ends_with(&format!("_{}", mf.unit)) {
            return Err(format!(
                "unit {:?} not a suffix of {what} {:?}",
                mf.unit, mf.name
            ));
        }
    }
    let mut out = vec![ProtoEntry::Metadata {
        metric: mf.name.clone(),
        meta: Metadata {
            kind: metric_type(t),
            help: mf.help.clone(),
            unit: mf.unit.clone(),
        },
    }];
    for (i, m) in mf.metric.iter().enumerate() {
        let b = SeriesBuilder::new(&mf.name, m).map_err(|e| format!("metric {i}: {e}"))?;
        b.entries(t, m, keep_classic, ignore_native, &mut out)
            .map_err(|e| format!("metric {i}: {e}"))?;
    }
    Ok(out)
}

/// A metric's sorted labels and timestamp, from which its series are made.
struct SeriesBuilder<'m> {
    family: &'m str,
    labels: Vec<(&'m str, &'m str)>,
    timestamp: Option<i64>,
}

impl<'m> SeriesBuilder<'m> {
    fn new(family: &'m str, m: &'m proto::Metric) -> Result<Self, String> {
        let mut labels: Vec<(&str, &str)> = m
            .label
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        labels.sort_by(|a, b| a.0.cmp(b.0));
        if let Some(w) = labels.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(format!("label name {:?} is not unique", w[0].0));
        }
        if labels.iter().any(|l| l.0 == "__name__") {
            return Err(
                "label name \"__name__\" is not unique (the family names the metric)".into(),
            );
        }
        Ok(SeriesBuilder {
            family,
            labels,
            timestamp: (m.timestamp_ms != 0).then_some(m.timestamp_ms),
        })
    }

    /// The labels and key of the series named family + `suffix`, with an extra label.
    fn series(
        &self,
        suffix: &str,
        extra: Option<(&str, String)>,
    ) -> (Vec<u8>, SeriesLabels<'static>) {
        let name = format!("{}{suffix}", self.family);
        let mut labels: Pairs<'static> = self
            .labels
            .iter()
            .map(|(n, v)| (Cow::Owned(n.to_string()), Cow::Owned(v.to_string())))
            .collect();
        if let Some((n, v)) = extra {
            let at = labels.partition_point(|l| l.0.as_ref() < n);
            labels.insert(at, (Cow::Owned(n.to_string()), Cow::Owned(v)));
        }
        let mut key = name.clone().into_bytes();
        for (n, v) in &labels {
            key.push(0xff);
            key.extend_from_slice(n.as_bytes());
            key.push(0xff);
            key.extend_from_slice(v.as_bytes());
        }
        (
            key,
            SeriesLabels {
                name: Cow::Owned(name),
                labels,
            },
        )
    }

    fn float(
        &self,
        suffix: &str,
        extra: Option<(&str, String)>,
        value: f64,
        created: Option<i64>,
        exemplar: Option<&proto::Exemplar>,
    ) -> ProtoEntry {
        let (series, labels) = self.series(suffix, extra);
        ProtoEntry::Float(FloatSeries {
            series,
            labels,
            value,
            timestamp: self.timestamp,
            created,
            exemplar: exemplar.map(exemplar_of),
        })
    }

    fn entries(
        &self,
        t: proto::MetricType,
        m: &proto::Metric,
        keep_classic: bool,
        ignore_native: bool,
        out: &mut Vec<ProtoEntry>,
    ) -> Result<(), String> {
        use proto::MetricType as T;
        match t {
            T::Counter => {
                let none;
                let c = match &m.counter {
                    Some(x) => x,
                    None => {
                        none = proto::Counter::default();
                        &none
                    }
                };
                let created = millis(c.created_timestamp);
                out.push(self.float("", None, c.value, created, c.exemplar.as_ref()));
            }
            T::Gauge => {
                let v = m.gauge.map_or(0.0, |g| g.value);
                out.push(self.float("", None, v, None, None));
            }
            T::Untyped => {
                let v = m.untyped.map_or(0.0, |u| u.value);
                out.push(self.float("", None, v, None, None));
            }
            T::Summary => {
                let none;
                let s = match &m.summary {
                    Some(x) => x,
                    None => {
                        none = proto::Summary::default();
                        &none
                    }
                };
                let created = millis(s.created_timestamp);
                if !s.quantile.is_empty() {
                    self.reserved("quantile")?;
                }
                out.push(self.float("_count", None, s.sample_count as f64, created, None));
                out.push(self.float("_sum", None, s.sample_sum, created, None));
                for q in &s.quantile {
                    let label = Some(("quantile", om_float(q.quantile)));
                    out.push(self.float("", label, q.value, created, None));
                }
            }
            T::Histogram | T::GaugeHistogram => {
                let none;
                let h = match &m.histogram {
                    Some(x) => x,
                    None => {
                        none = proto::Histogram::default();
                        &none
                    }
                };
                let created = millis(h.created_timestamp);
                let native = is_native(h) && !ignore_native;
                if native {
                    out.push(self.native(h, t == T::GaugeHistogram, created));
                }
                if !native || (keep_classic && !h.bucket.is_empty()) {
                    self.reserved("le")?;
                    self.classic(h, created, out);
                }
            }
        }
        Ok(())
    }

    /// Refuses a metric label named as the label its series get (`le`, `quantile`), which
    /// would make the label name repeat (Prometheus fails the scrape then too).
    fn reserved(&self, name: &str) -> Result<(), String> {
        if self.labels.iter().any(|l| l.0 == name) {
            return Err(format!(
                "label name {name:?} is not unique (its series get one)"
            ));
        }
        Ok(())
    }

    /// `_count`, `_sum`, and the buckets up to `+Inf` (added when not sent).
    fn classic(&self, h: &proto::Histogram, created: Option<i64>, out: &mut Vec<ProtoEntry>) {
        let count = if h.sample_count_float != 0.0 {
            h.sample_count_float
        } else {
            h.sample_count as f64
        };
        out.push(self.float("_count", None, count, created, None));
        out.push(self.float("_sum", None, h.sample_sum, created, None));
        for b in &h.bucket {
            let v = if b.cumulative_count_float != 0.0 {
                b.cumulative_count_float
            } else {
                b.cumulative_count as f64
            };
            let le = Some(("le", om_float(b.upper_bound)));
            out.push(self.float("_bucket", le, v, created, b.exemplar.as_ref()));
            if b.upper_bound == f64::INFINITY {
                return;
            }
        }
        let le = Some(("le", "+Inf".to_string()));
        out.push(self.float("_bucket", le, count, created, None));
    }

    fn native(&self, h: &proto::Histogram, gauge: bool, created: Option<i64>) -> ProtoEntry {
        let hint = if gauge {
            CounterResetHint::Gauge
        } else {
            CounterResetHint::Unknown
        };
        let spans = |s: &[proto::BucketSpan]| -> Vec<Span> {
            s.iter()
                .map(|s| Span {
                    offset: s.offset,
                    length: s.length,
                })
                .collect()
        };
        let histogram = if h.sample_count_float > 0.0 || h.zero_count_float > 0.0 {
            let mut f = FloatHistogram {
                counter_reset_hint: hint,
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                zero_count: h.zero_count_float,
                count: h.sample_count_float,
                sum: h.sample_sum,
                positive_spans: spans(&h.positive_span),
                negative_spans: spans(&h.negative_span),
                positive_buckets: h.positive_count.clone(),
                negative_buckets: h.negative_count.clone(),
                custom_values: Vec::new(),
            };
            compact::compact_counts(&mut f.positive_spans, &mut f.positive_buckets);
            compact::compact_counts(&mut f.negative_spans, &mut f.negative_buckets);
            NativeHistogram::Float(f)
        } else {
            let mut i = Histogram {
                counter_reset_hint: hint,
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                zero_count: h.zero_count,
                count: h.sample_count,
                sum: h.sample_sum,
                positive_spans: spans(&h.positive_span),
                negative_spans: spans(&h.negative_span),
                positive_buckets: h.positive_delta.clone(),
                negative_buckets: h.negative_delta.clone(),
                custom_values: Vec::new(),
            };
            compact::compact_deltas(&mut i.positive_spans, &mut i.positive_buckets);
            compact::compact_deltas(&mut i.negative_spans, &mut i.negative_buckets);
            NativeHistogram::Int(i)
        };
        // The histogram's own exemplars if it has any, else its buckets'; timestamped only.
        let exemplars: Vec<Exemplar<'static>> = if h.exemplars.is_empty() {
            h.bucket
                .iter()
                .filter_map(|b| b.exemplar.as_ref())
                .filter(|e| e.timestamp.is_some())
                .map(exemplar_of)
                .collect()
        } else {
            h.exemplars
                .iter()
                .filter(|e| e.timestamp.is_some())
                .map(exemplar_of)
                .collect()
        };
        let (series, labels) = self.series("", None);
        ProtoEntry::Histogram(HistogramSeries {
            series,
            labels,
            histogram,
            timestamp: self.timestamp,
            created,
            exemplars,
        })
    }
}

/// A created timestamp in ms; none when absent or 0 (as Prometheus reads it).
fn millis(t: Option<proto::Timestamp>) -> Option<i64> {
    t.map(|t| t.millis()).filter(|ms| *ms != 0)
}

/// An exemplar with its labels sorted and its timestamp in ms.
fn exemplar_of(e: &proto::Exemplar) -> Exemplar<'static> {
    let mut labels: Pairs<'static> = e
        .label
        .iter()
        .map(|l| (Cow::Owned(l.name.clone()), Cow::Owned(l.value.clone())))
        .collect();
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    Exemplar {
        labels,
        value: e.value,
        timestamp: e.timestamp.map(|t| t.millis()),
    }
}
