//! One export request turned into samples, created timestamps, exemplars, metadata and
//! refusals, as Prometheus 3's OTLP translator does it:
//!
//! - gauges as they are; sums as counters (monotonic) or gauges; histograms as
//!   `_bucket{le}` (cumulative counts, always with `le="+Inf"` = count), `_sum` (when sent),
//!   `_count`, or with `convert_histograms_to_nhcb` as one native histogram with custom
//!   buckets (`native`); exponential histograms as native histograms (`native`: integer
//!   form, scale → schema capped at 8); summaries as `{quantile}`, `_sum`, `_count`. Points
//!   flagged "no recorded value" become stale markers (a histogram stale marker for native
//!   histograms). NaN and ±Inf values are stored as they are.
//! - a point's `start_time_unix_nano` before its time is kept as the created timestamp of
//!   cumulative sums, every histogram series (native ones too) and summaries'
//!   `_sum`/`_count`.
//! - exemplars of sum and histogram points (a classic histogram's on the `_bucket` series
//!   whose `le` covers the value, a native histogram's on its one series) with
//!   `trace_id`/`span_id` in lowercase hex and the filtered attributes (dropped when all
//!   labels would exceed 128 characters).
//! - delta sums and histograms (exponential ones too) summed up per series (`delta`) and
//!   stored as the cumulative series they add up to, or refused; this is Prometheus 3's
//!   `otlp-deltatocumulative` (the OpenTelemetry processor in front of the translator), so
//!   the histograms made of them carry the hint "unknown", as cumulative ones do.
//! - refused, as partial success: metrics without data, other temporalities, names that
//!   translate to nothing, native histograms that break a validation rule (the message
//!   names the series and the rule).
//! - `target_info` per resource from its earliest to its latest point, one sample every half
//!   lookback delta (2.5 minutes) and one at the latest.
//!
//! Uses `config`, `model`, `storage` (exemplars), `textparse` (metadata) and the sibling
//! `names`, `resource`, `delta`, `native`.

use std::collections::BTreeMap;
use std::time::Instant;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    Exemplar as OtlpExemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric,
    ResourceMetrics,
};

use super::delta::{DeltaState, ExpBuckets, Exponential, Total};
use super::names::{MetricKind, Namer};
use super::native::{self, NativeError, NativePoint};
use super::resource::{point_labels, scope_labels, ResourceLabels};
use super::MetadataList;
use crate::config::OtlpConfig;
use crate::model::{stale_nan, Histogram, Labels};
use crate::storage::Exemplar;
use crate::textparse::{Metadata, MetricType};

/// `AggregationTemporality::Delta`.
const DELTA: i32 = 1;
/// `AggregationTemporality::Cumulative`.
const CUMULATIVE: i32 = 2;
/// `DataPointFlags::NoRecordedValueMask`.
const NO_RECORDED_VALUE: u32 = 1;
/// Half of the default lookback delta: the spacing of `target_info` samples.
const TARGET_INFO_STEP_MS: i64 = 150_000;
/// At most this many `target_info` samples per resource and request before the latest one
/// (a request spanning years would otherwise make millions).
const TARGET_INFO_MAX: usize = 1_000;
/// The most characters of exemplar labels (OpenMetrics); filtered attributes go beyond it.
const MAX_EXEMPLAR_RUNES: usize = 128;
/// The most distinct refusal messages kept per request.
const MAX_MESSAGES: usize = 10;

/// Labels of a series, by name.
pub type LabelMap = BTreeMap<String, String>;

/// One translated sample.
#[derive(Debug, Clone)]
pub struct Out {
    /// Without empty values, with `__name__`.
    pub labels: LabelMap,
    pub t: i64,
    pub v: f64,
    /// Created timestamp (ms): the point's start, when before its time.
    pub ct: Option<i64>,
    /// The data point it came from; `None` for synthetic series (`target_info`).
    pub point: Option<usize>,
}

/// One translated native-histogram sample.
#[derive(Debug, Clone)]
pub struct OutHistogram {
    /// Without empty values, with `__name__`.
    pub labels: LabelMap,
    pub t: i64,
    pub h: Histogram,
    /// Created timestamp (ms): the point's start, when before its time.
    pub ct: Option<i64>,
    /// The data point it came from.
    pub point: usize,
}

/// An exemplar and the series it belongs to.
#[derive(Debug, Clone)]
pub struct OutExemplar {
    pub series: LabelMap,
    pub exemplar: Exemplar,
}

/// Data points refused and why.
#[derive(Debug, Default)]
pub struct Rejects {
    pub points: u64,
    messages: Vec<String>,
    more: usize,
}

impl Rejects {
    pub fn add(&mut self, points: u64, message: String) {
        self.points += points;
        if self.messages.contains(&message) {
            return;
        }
        if self.messages.len() < MAX_MESSAGES {
            self.messages.push(message);
        } else {
            self.more += 1;
        }
    }

    /// The OTLP `error_message`: the reasons, `; `-separated.
    pub fn message(&self) -> String {
        let mut m = self.messages.join("; ");
        if self.more > 0 {
            m.push_str(&format!("; and {} more problems", self.more));
        }
        m
    }
}

/// What a request became.
#[derive(Debug, Default)]
pub struct Translated {
    pub samples: Vec<Out>,
    pub histograms: Vec<OutHistogram>,
    pub exemplars: Vec<OutExemplar>,
    pub metadata: MetadataList,
    pub rejects: Rejects,
}

/// Translates requests with one config and the delta state.
pub struct Translator<'a> {
    cfg: &'a OtlpConfig,
    namer: Namer,
    delta: &'a mut DeltaState,
    now: Instant,
    out: Translated,
    next_point: usize,
}

fn ms(ns: u64) -> i64 {
    (ns / 1_000_000) as i64
}

/// The created timestamp (ms) of a point, when its start is set and before its time.
fn created(start_ns: u64, t: i64) -> Option<i64> {
    let ct = ms(start_ns);
    (start_ns != 0 && ct < t).then_some(ct)
}

/// A bucket bound or quantile as Prometheus prints it (shortest, never exponent form).
fn fmt_f(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{f}")
    }
}

fn number(v: Option<number_data_point::Value>) -> f64 {
    match v {
        Some(number_data_point::Value::AsDouble(d)) => d,
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        None => 0.0,
    }
}

fn hex_id(id: &[u8]) -> Option<String> {
    if id.is_empty() || id.iter().all(|b| *b == 0) {
        return None;
    }
    Some(id.iter().map(|b| format!("{b:02x}")).collect())
}

/// Prometheus exemplars of OTLP exemplars (those without a value are skipped).
pub fn exemplars(list: &[OtlpExemplar]) -> Vec<Exemplar> {
    let mut out = Vec::with_capacity(list.len());
    for e in list {
        let value = match e.value {
            Some(exemplar::Value::AsDouble(d)) => d,
            Some(exemplar::Value::AsInt(i)) => i as f64,
            None => continue,
        };
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut runes = 0;
        for (k, id) in [("trace_id", &e.trace_id), ("span_id", &e.span_id)] {
            if let Some(h) = hex_id(id) {
                runes += k.len() + h.len();
                pairs.push((k.into(), h));
            }
        }
        let attrs: Vec<(String, String)> = e
            .filtered_attributes
            .iter()
            .map(|kv| (kv.key.clone(), super::resource::attr_text(kv)))
            .collect();
        runes += attrs
            .iter()
            .map(|(k, v)| k.chars().count() + v.chars().count())
            .sum::<usize>();
        if runes <= MAX_EXEMPLAR_RUNES {
            pairs.extend(attrs);
        }
        out.push(Exemplar {
            labels: Labels::from_pairs(pairs),
            value,
            t: ms(e.time_unix_nano),
        });
    }
    out
}

/// The per-point facts every sample of the point shares.
struct Point {
    base: LabelMap,
    t: i64,
    ct: Option<i64>,
    stale: bool,
    id: usize,
}

impl<'a> Translator<'a> {
    pub fn new(cfg: &'a OtlpConfig, delta: &'a mut DeltaState, now: Instant) -> Self {
        Translator {
            cfg,
            namer: Namer::new(cfg),
            delta,
            now,
            out: Translated::default(),
            next_point: 0,
        }
    }

    pub fn finish(self) -> Translated {
        self.out
    }

    fn reject(&mut self, points: usize, message: String) {
        self.out.rejects.add(points as u64, message);
    }

    pub fn request(&mut self, req: &ExportMetricsServiceRequest) {
        for rm in &req.resource_metrics {
            self.resource(rm);
        }
    }

    fn resource(&mut self, rm: &ResourceMetrics) {
        let attrs: &[KeyValue] = rm.resource.as_ref().map_or(&[], |r| &r.attributes[..]);
        let res = ResourceLabels::new(self.cfg, &self.namer, attrs);
        let mut span: Option<(u64, u64)> = None;
        for sm in &rm.scope_metrics {
            let scope = scope_labels(self.cfg, &self.namer, sm);
            for m in &sm.metrics {
                for t in point_times(m) {
                    span = Some(span.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
                }
                self.metric(&res, &scope, m);
            }
        }
        let Some((earliest, latest)) = span else {
            return;
        };
        let Some(mut l) = res.target_info(self.cfg, &self.namer) else {
            return;
        };
        l.insert("__name__".into(), "target_info".into());
        l.retain(|_, v| !v.is_empty());
        let (earliest, latest) = (ms(earliest), ms(latest));
        let mut times: Vec<i64> = (0..TARGET_INFO_MAX)
            .map(|k| earliest.saturating_add(k as i64 * TARGET_INFO_STEP_MS))
            .take_while(|t| *t < latest)
            .collect();
        if times.last().is_none_or(|t| *t < latest) {
            times.push(latest);
        }
        for t in times {
            self.out.samples.push(Out {
                labels: l.clone(),
                t,
                v: 1.0,
                ct: None,
                point: None,
            });
        }
    }

    fn metric(&mut self, res: &ResourceLabels, scope: &[(String, String)], m: &Metric) {
        let Some(data) = &m.data else {
            self.reject(0, format!("metric {:?} has no data; dropped", m.name));
            return;
        };
        let (kind, temporality, n) = match data {
            Data::Gauge(g) => (MetricKind::Gauge, None, g.data_points.len()),
            Data::Sum(s) => (
                if s.is_monotonic {
                    MetricKind::MonotonicCounter
                } else {
                    MetricKind::NonMonotonicCounter
                },
                Some(s.aggregation_temporality),
                s.data_points.len(),
            ),
            Data::Histogram(h) => (
                MetricKind::Histogram,
                Some(h.aggregation_temporality),
                h.data_points.len(),
            ),
            Data::ExponentialHistogram(h) => (
                MetricKind::ExponentialHistogram,
                Some(h.aggregation_temporality),
                h.data_points.len(),
            ),
            Data::Summary(s) => (MetricKind::Summary, None, s.data_points.len()),
        };
        if n == 0 {
            self.reject(
                0,
                format!("metric {:?} has no data points; dropped", m.name),
            );
            return;
        }
        let delta = match temporality {
            None | Some(CUMULATIVE) => false,
            Some(DELTA) if self.cfg.convert_delta_to_cumulative => true,
            Some(DELTA) => {
                self.reject(n, format!(
                    "metric {:?} has delta temporality: {n} data points refused (otlp.convert_delta_to_cumulative is false; export cumulative, e.g. OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative)",
                    m.name
                ));
                return;
            }
            Some(_) => {
                self.reject(
                    n,
                    format!(
                        "invalid temporality and type combination for metric {:?}: {n} data points refused",
                        m.name
                    ),
                );
                return;
            }
        };
        let name = match self.namer.metric(&m.name, &m.unit, kind) {
            Ok(x) => x,
            Err(e) => {
                self.reject(n, format!("{e}: {n} data points refused"));
                return;
            }
        };
        let mtype = match kind {
            MetricKind::Gauge | MetricKind::NonMonotonicCounter => MetricType::Gauge,
            MetricKind::MonotonicCounter => MetricType::Counter,
            MetricKind::Histogram | MetricKind::ExponentialHistogram => MetricType::Histogram,
            MetricKind::Summary => MetricType::Summary,
        };
        let md = (
            name.clone(),
            Metadata {
                kind: mtype,
                help: m.description.clone(),
                unit: m.unit.clone(),
            },
        );
        if !self.out.metadata.contains(&md) {
            self.out.metadata.push(md);
        }
        let ctx = MetricCtx {
            res,
            scope,
            otlp_name: &m.name,
            name: &name,
            delta,
        };
        match data {
            Data::Gauge(g) => {
                for p in &g.data_points {
                    self.number_point(&ctx, p, false);
                }
            }
            Data::Sum(s) => {
                for p in &s.data_points {
                    self.number_point(&ctx, p, true);
                }
            }
            Data::Histogram(h) => {
                for p in &h.data_points {
                    self.histogram_point(&ctx, p, h.aggregation_temporality);
                }
            }
            Data::Summary(s) => {
                for p in &s.data_points {
                    self.summary_point(&ctx, p);
                }
            }
            Data::ExponentialHistogram(h) => {
                for p in &h.data_points {
                    self.exponential_point(&ctx, p, h.aggregation_temporality);
                }
            }
        }
    }

    /// The shared facts of a point, or `None` when its labels cannot be made (refused).
    fn point(
        &mut self,
        ctx: &MetricCtx,
        attrs: &[KeyValue],
        start: u64,
        time: u64,
        flags: u32,
    ) -> Option<Point> {
        let id = self.next_point;
        self.next_point += 1;
        match point_labels(&self.namer, ctx.res, ctx.scope, attrs) {
            Ok(base) => {
                let t = ms(time);
                Some(Point {
                    base,
                    t,
                    ct: created(start, t),
                    stale: flags & NO_RECORDED_VALUE != 0,
                    id,
                })
            }
            Err(e) => {
                self.reject(
                    1,
                    format!("metric {:?}: {e}; data point refused", ctx.otlp_name),
                );
                None
            }
        }
    }

    /// Adds a delta point to its stream; the cumulative total and its start, or `None` when
    /// refused.
    fn accumulate(
        &mut self,
        ctx: &MetricCtx,
        p: &Point,
        start: u64,
        time: u64,
        d: Total,
    ) -> Option<(u64, Total)> {
        let mut key = p.base.clone();
        key.insert("__name__".into(), ctx.name.to_string());
        key.retain(|_, v| !v.is_empty());
        let key: Vec<(String, String)> = key.into_iter().collect();
        match self.delta.add(&key, start, time, d, self.now) {
            Ok(x) => Some(x),
            Err(e) => {
                let series = series_text(&key);
                self.reject(
                    1,
                    format!("metric {:?} series {series}: {e}", ctx.otlp_name),
                );
                None
            }
        }
    }

    /// Adds the sample of series `name+suffix` (with an extra label) and returns its index in
    /// `out.samples` (where its labels are, for exemplars).
    fn emit(
        &mut self,
        p: &Point,
        name: &str,
        suffix: &str,
        extra: Option<(&str, String)>,
        v: f64,
        with_ct: bool,
    ) -> usize {
        let mut l = p.base.clone();
        l.insert("__name__".into(), format!("{name}{suffix}"));
        if let Some((k, x)) = extra {
            l.insert(k.into(), x);
        }
        l.retain(|_, v| !v.is_empty());
        self.out.samples.push(Out {
            labels: l,
            t: p.t,
            v: if p.stale { stale_nan() } else { v },
            ct: if with_ct && !p.stale { p.ct } else { None },
            point: Some(p.id),
        });
        self.out.samples.len() - 1
    }

    fn number_point(
        &mut self,
        ctx: &MetricCtx,
        dp: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint,
        sum: bool,
    ) {
        let (start, time) = (dp.start_time_unix_nano, dp.time_unix_nano);
        let Some(mut p) = self.point(ctx, &dp.attributes, start, time, dp.flags) else {
            return;
        };
        let mut v = number(dp.value);
        if ctx.delta && !p.stale {
            match self.accumulate(ctx, &p, start, time, Total::Sum(v)) {
                Some((s, Total::Sum(total))) => {
                    v = total;
                    p.ct = created(s, p.t);
                }
                _ => return,
            }
        }
        let series = self.emit(&p, ctx.name, "", None, v, sum);
        // Prometheus keeps the exemplars of sums (not of gauges).
        if sum && !p.stale {
            for e in exemplars(&dp.exemplars) {
                self.out.exemplars.push(OutExemplar {
                    series: self.out.samples[series].labels.clone(),
                    exemplar: e,
                });
            }
        }
    }

    fn histogram_point(&mut self, ctx: &MetricCtx, dp: &HistogramDataPoint, temporality: i32) {
        let (start, time) = (dp.start_time_unix_nano, dp.time_unix_nano);
        let Some(mut p) = self.point(ctx, &dp.attributes, start, time, dp.flags) else {
            return;
        };
        let (mut buckets, mut count, mut sum) = (dp.bucket_counts.clone(), dp.count, dp.sum);
        if ctx.delta && !p.stale {
            let d = Total::Histogram {
                bounds: dp.explicit_bounds.clone(),
                buckets,
                count,
                sum,
            };
            match self.accumulate(ctx, &p, start, time, d) {
                Some((
                    s,
                    Total::Histogram {
                        buckets: b,
                        count: c,
                        sum: x,
                        ..
                    },
                )) => {
                    (buckets, count, sum) = (b, c, x);
                    p.ct = created(s, p.t);
                }
                _ => return,
            }
        }
        if self.cfg.convert_histograms_to_nhcb {
            let total = HistogramDataPoint {
                bucket_counts: buckets,
                count,
                sum,
                ..dp.clone()
            };
            let r = native::explicit_to_nhcb(
                &total,
                stored_temporality(ctx, temporality),
                false,
                exemplars,
            );
            self.native_sample(ctx, &p, r);
            return;
        }
        let mut bucket_series: Vec<(f64, usize)> = Vec::new();
        let mut cum = 0u64;
        for (bound, c) in dp.explicit_bounds.iter().zip(&buckets) {
            cum = cum.saturating_add(*c);
            let l = self.emit(
                &p,
                ctx.name,
                "_bucket",
                Some(("le", fmt_f(*bound))),
                cum as f64,
                true,
            );
            bucket_series.push((*bound, l));
        }
        let l = self.emit(
            &p,
            ctx.name,
            "_bucket",
            Some(("le", "+Inf".into())),
            count as f64,
            true,
        );
        bucket_series.push((f64::INFINITY, l));
        if let Some(s) = sum {
            self.emit(&p, ctx.name, "_sum", None, s, true);
        }
        self.emit(&p, ctx.name, "_count", None, count as f64, true);
        if p.stale {
            return;
        }
        bucket_series.sort_by(|a, b| a.0.total_cmp(&b.0));
        for e in exemplars(&dp.exemplars) {
            // The first bucket covering the value; `+Inf` takes what none covers (NaN).
            let bucket = bucket_series
                .iter()
                .find(|(b, _)| e.value <= *b)
                .or_else(|| bucket_series.iter().rfind(|(b, _)| *b == f64::INFINITY));
            if let Some(&(_, i)) = bucket {
                self.out.exemplars.push(OutExemplar {
                    series: self.out.samples[i].labels.clone(),
                    exemplar: e,
                });
            }
        }
    }

    fn exponential_point(
        &mut self,
        ctx: &MetricCtx,
        dp: &ExponentialHistogramDataPoint,
        temporality: i32,
    ) {
        let (start, time) = (dp.start_time_unix_nano, dp.time_unix_nano);
        let Some(mut p) = self.point(ctx, &dp.attributes, start, time, dp.flags) else {
            return;
        };
        let mut total = None;
        if ctx.delta && !p.stale {
            match self.accumulate(ctx, &p, start, time, Total::Exponential(exponential_of(dp))) {
                Some((s, Total::Exponential(x))) => {
                    total = Some(with_exponential(dp, &x));
                    p.ct = created(s, p.t);
                }
                _ => return,
            }
        }
        let dp = total.as_ref().unwrap_or(dp);
        let r = native::exponential_to_native(
            dp,
            stored_temporality(ctx, temporality),
            false,
            exemplars,
        );
        self.native_sample(ctx, &p, r);
    }

    /// Adds a native-histogram sample with its exemplars and warnings, or refuses the point
    /// naming the series and the rule.
    fn native_sample(&mut self, ctx: &MetricCtx, p: &Point, r: Result<NativePoint, NativeError>) {
        let mut l = p.base.clone();
        l.insert("__name__".into(), ctx.name.to_string());
        l.retain(|_, v| !v.is_empty());
        let series = || {
            series_text(
                &l.iter()
                    .map(|(a, b)| (a.clone(), b.clone()))
                    .collect::<Vec<_>>(),
            )
        };
        let np = match r {
            Ok(np) => np,
            Err(e) => {
                let m = format!(
                    "metric {:?} series {}: {e}; data point refused",
                    ctx.otlp_name,
                    series()
                );
                self.reject(1, m);
                return;
            }
        };
        for w in &np.warnings {
            let m = format!("metric {:?} series {}: {w}", ctx.otlp_name, series());
            self.reject(0, m);
        }
        if !p.stale {
            for e in np.exemplars {
                self.out.exemplars.push(OutExemplar {
                    series: l.clone(),
                    exemplar: e,
                });
            }
        }
        self.out.histograms.push(OutHistogram {
            labels: l,
            t: p.t,
            h: np.histogram,
            ct: if p.stale { None } else { p.ct },
            point: p.id,
        });
    }

    fn summary_point(
        &mut self,
        ctx: &MetricCtx,
        dp: &opentelemetry_proto::tonic::metrics::v1::SummaryDataPoint,
    ) {
        let (start, time) = (dp.start_time_unix_nano, dp.time_unix_nano);
        let Some(p) = self.point(ctx, &dp.attributes, start, time, dp.flags) else {
            return;
        };
        self.emit(&p, ctx.name, "_sum", None, dp.sum, true);
        self.emit(&p, ctx.name, "_count", None, dp.count as f64, true);
        for q in &dp.quantile_values {
            let l = Some(("quantile", fmt_f(q.quantile)));
            self.emit(&p, ctx.name, "", l, q.value, false);
        }
    }
}

/// The metric being translated.
struct MetricCtx<'a> {
    res: &'a ResourceLabels,
    scope: &'a [(String, String)],
    otlp_name: &'a str,
    name: &'a str,
    delta: bool,
}

/// The temporality a native histogram is made with: a delta stream summed up (`ctx.delta`)
/// is cumulative.
fn stored_temporality(ctx: &MetricCtx, temporality: i32) -> i32 {
    if ctx.delta {
        CUMULATIVE
    } else {
        temporality
    }
}

fn exp_side(b: &Option<Buckets>) -> ExpBuckets {
    b.as_ref()
        .map(|b| ExpBuckets {
            offset: b.offset,
            counts: b.bucket_counts.clone(),
        })
        .unwrap_or_default()
}

/// An exponential point's value, for the delta state.
fn exponential_of(dp: &ExponentialHistogramDataPoint) -> Exponential {
    Exponential {
        scale: dp.scale,
        zero_count: dp.zero_count,
        positive: exp_side(&dp.positive),
        negative: exp_side(&dp.negative),
        count: dp.count,
        sum: dp.sum,
    }
}

/// `dp` with the running total `x` in place of its own value.
fn with_exponential(
    dp: &ExponentialHistogramDataPoint,
    x: &Exponential,
) -> ExponentialHistogramDataPoint {
    let side = |b: &ExpBuckets| {
        Some(Buckets {
            offset: b.offset,
            bucket_counts: b.counts.clone(),
        })
    };
    ExponentialHistogramDataPoint {
        scale: x.scale,
        zero_count: x.zero_count,
        positive: side(&x.positive),
        negative: side(&x.negative),
        count: x.count,
        sum: x.sum,
        ..dp.clone()
    }
}

/// Whether a request holds a delta sum or histogram.
pub fn has_delta(req: &ExportMetricsServiceRequest) -> bool {
    req.resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .any(|m| match &m.data {
            Some(Data::Sum(s)) => s.aggregation_temporality == DELTA,
            Some(Data::Histogram(h)) => h.aggregation_temporality == DELTA,
            Some(Data::ExponentialHistogram(h)) => h.aggregation_temporality == DELTA,
            _ => false,
        })
}

/// The times (ns) of a metric's points.
fn point_times(m: &Metric) -> Vec<u64> {
    match &m.data {
        Some(Data::Gauge(g)) => g.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(Data::Sum(s)) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(Data::Histogram(h)) => h.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(Data::ExponentialHistogram(h)) => {
            h.data_points.iter().map(|p| p.time_unix_nano).collect()
        }
        Some(Data::Summary(s)) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
        None => Vec::new(),
    }
}

/// A series as `{a="x", b="y"}` text, `__name__` in front.
pub fn series_text<'a>(labels: impl IntoIterator<Item = &'a (String, String)>) -> String {
    let mut name = "";
    let mut rest = Vec::new();
    for (k, v) in labels {
        if k == "__name__" {
            name = v;
        } else {
            rest.push(format!("{k}={v:?}"));
        }
    }
    format!("{name}{{{}}}", rest.join(", "))
}
