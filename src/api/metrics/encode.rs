//! Text encoding for `/metrics`: the [`Out`] writer every counter and gauge family goes
//! through (label values escaped), and summaries, which prometheus-client lacks, written by
//! hand from recent observations. Uses prometheus-client only.

use std::fmt::Write as _;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use crate::scrape::Observations;

/// Labels of one sample: (name, value) pairs.
pub(super) type Labels = Vec<(&'static str, String)>;

/// Escapes a label value for the text format (prometheus-client writes values as given).
pub(super) fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// The `q` quantile of sorted values (nearest rank), NaN when there are none.
pub(super) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Writes one summary family: quantiles over the recent window, sum and count over all.
pub(super) fn write_summary(
    out: &mut String,
    name: &str,
    help: &str,
    quantiles: &[f64],
    series: &[(Labels, Observations)],
) -> std::fmt::Result {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} summary")?;
    for (labels, obs) in series {
        let base: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let mut sorted: Vec<f64> = obs.recent.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        for q in quantiles {
            let mut l = base.clone();
            l.push(format!("quantile=\"{q}\""));
            let v = quantile(&sorted, *q);
            writeln!(out, "{name}{{{}}} {}", l.join(","), number(v))?;
        }
        let braces = if base.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", base.join(","))
        };
        writeln!(out, "{name}_sum{braces} {}", number(obs.sum))?;
        writeln!(out, "{name}_count{braces} {}", obs.count)?;
    }
    Ok(())
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// Writes metric families into a collector's encoder: the one place values are encoded.
pub(super) struct Out<'a, 'b>(pub(super) &'a mut DescriptorEncoder<'b>);

impl Out<'_, '_> {
    /// One family with a sample per label set. Counter names leave out `_total` (added
    /// when encoded).
    pub(super) fn family(
        &mut self,
        name: &str,
        help: &str,
        kind: MetricType,
        samples: impl IntoIterator<Item = (Labels, f64)>,
    ) -> std::fmt::Result {
        let mut fam = self.0.encode_descriptor(name, help, None, kind)?;
        for (labels, v) in samples {
            let labels: Vec<(&str, String)> =
                labels.into_iter().map(|(k, v)| (k, escape(&v))).collect();
            let m = fam.encode_family(&labels)?;
            match kind {
                MetricType::Counter => ConstCounter::new(v).encode(m)?,
                _ => ConstGauge::new(v).encode(m)?,
            }
        }
        Ok(())
    }

    /// One family with a single unlabeled sample.
    pub(super) fn one(
        &mut self,
        name: &str,
        help: &str,
        kind: MetricType,
        v: f64,
    ) -> std::fmt::Result {
        let m = self.0.encode_descriptor(name, help, None, kind)?;
        match kind {
            MetricType::Counter => ConstCounter::new(v).encode(m),
            _ => ConstGauge::new(v).encode(m),
        }
    }

    pub(super) fn counter(&mut self, name: &str, help: &str, v: f64) -> std::fmt::Result {
        self.one(name, help, MetricType::Counter, v)
    }

    pub(super) fn gauge(&mut self, name: &str, help: &str, v: f64) -> std::fmt::Result {
        self.one(name, help, MetricType::Gauge, v)
    }
}
