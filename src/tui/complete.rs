//! Completion candidates for the prompt: metric names (with their type and help), functions
//! and aggregations (with a signature and a one-line doc), label names of the metric at hand,
//! label values, durations. The names come from the same `Source` the results do; this module
//! only ranks what is known.

use std::collections::BTreeMap;

use super::highlight::Context;

/// PromQL functions: name, signature, one-line doc.
pub const FUNCTIONS: &[(&str, &str, &str)] = &[
    (
        "abs",
        "abs(v instant-vector)",
        "absolute value of every sample",
    ),
    (
        "absent",
        "absent(v instant-vector)",
        "1-element vector if v has no elements",
    ),
    (
        "absent_over_time",
        "absent_over_time(v range-vector)",
        "1-element vector if the range has no samples",
    ),
    ("acos", "acos(v instant-vector)", "arccosine"),
    (
        "acosh",
        "acosh(v instant-vector)",
        "inverse hyperbolic cosine",
    ),
    ("asin", "asin(v instant-vector)", "arcsine"),
    (
        "asinh",
        "asinh(v instant-vector)",
        "inverse hyperbolic sine",
    ),
    ("atan", "atan(v instant-vector)", "arctangent"),
    (
        "atanh",
        "atanh(v instant-vector)",
        "inverse hyperbolic tangent",
    ),
    (
        "avg_over_time",
        "avg_over_time(v range-vector)",
        "average of each series over the range",
    ),
    ("ceil", "ceil(v instant-vector)", "round up to an integer"),
    (
        "changes",
        "changes(v range-vector)",
        "how often the value changed in the range",
    ),
    (
        "clamp",
        "clamp(v instant-vector, min scalar, max scalar)",
        "limit values to [min, max]",
    ),
    (
        "clamp_max",
        "clamp_max(v instant-vector, max scalar)",
        "limit values to at most max",
    ),
    (
        "clamp_min",
        "clamp_min(v instant-vector, min scalar)",
        "limit values to at least min",
    ),
    ("cos", "cos(v instant-vector)", "cosine"),
    ("cosh", "cosh(v instant-vector)", "hyperbolic cosine"),
    (
        "count_over_time",
        "count_over_time(v range-vector)",
        "number of samples in the range",
    ),
    (
        "day_of_month",
        "day_of_month(v=vector(time()) instant-vector)",
        "day of the month (UTC)",
    ),
    (
        "day_of_week",
        "day_of_week(v=vector(time()) instant-vector)",
        "day of the week, 0 = Sunday (UTC)",
    ),
    (
        "day_of_year",
        "day_of_year(v=vector(time()) instant-vector)",
        "day of the year (UTC)",
    ),
    (
        "days_in_month",
        "days_in_month(v=vector(time()) instant-vector)",
        "days in the month (UTC)",
    ),
    ("deg", "deg(v instant-vector)", "radians to degrees"),
    (
        "delta",
        "delta(v range-vector)",
        "difference between first and last value (gauges)",
    ),
    (
        "deriv",
        "deriv(v range-vector)",
        "per-second derivative by linear regression",
    ),
    (
        "exp",
        "exp(v instant-vector)",
        "e to the power of each value",
    ),
    (
        "floor",
        "floor(v instant-vector)",
        "round down to an integer",
    ),
    (
        "histogram_avg",
        "histogram_avg(v instant-vector)",
        "average of native histograms",
    ),
    (
        "histogram_count",
        "histogram_count(v instant-vector)",
        "observation count of native histograms",
    ),
    (
        "histogram_fraction",
        "histogram_fraction(lower scalar, upper scalar, v instant-vector)",
        "fraction of observations in [lower, upper]",
    ),
    (
        "histogram_quantile",
        "histogram_quantile(φ scalar, b instant-vector)",
        "φ-quantile from histogram buckets (le)",
    ),
    (
        "histogram_stddev",
        "histogram_stddev(v instant-vector)",
        "standard deviation of native histograms",
    ),
    (
        "histogram_stdvar",
        "histogram_stdvar(v instant-vector)",
        "variance of native histograms",
    ),
    (
        "histogram_sum",
        "histogram_sum(v instant-vector)",
        "sum of observations of native histograms",
    ),
    (
        "holt_winters",
        "holt_winters(v range-vector, sf scalar, tf scalar)",
        "smoothed value (renamed double_exponential_smoothing)",
    ),
    (
        "double_exponential_smoothing",
        "double_exponential_smoothing(v range-vector, sf scalar, tf scalar)",
        "smoothed value (Holt-Winters)",
    ),
    (
        "hour",
        "hour(v=vector(time()) instant-vector)",
        "hour of the day (UTC)",
    ),
    (
        "idelta",
        "idelta(v range-vector)",
        "difference of the last two samples",
    ),
    (
        "increase",
        "increase(v range-vector)",
        "increase of a counter over the range",
    ),
    (
        "irate",
        "irate(v range-vector)",
        "per-second rate from the last two samples",
    ),
    (
        "label_join",
        "label_join(v instant-vector, dst string, sep string, src...string)",
        "join label values into a new label",
    ),
    (
        "label_replace",
        "label_replace(v instant-vector, dst string, repl string, src string, regex string)",
        "set a label from a regex match",
    ),
    (
        "last_over_time",
        "last_over_time(v range-vector)",
        "most recent value in the range",
    ),
    (
        "limitk",
        "limitk(k, v instant-vector)",
        "k series of v (aggregation)",
    ),
    (
        "limit_ratio",
        "limit_ratio(r, v instant-vector)",
        "a ratio r of the series of v (aggregation)",
    ),
    ("ln", "ln(v instant-vector)", "natural logarithm"),
    ("log10", "log10(v instant-vector)", "decimal logarithm"),
    ("log2", "log2(v instant-vector)", "binary logarithm"),
    (
        "mad_over_time",
        "mad_over_time(v range-vector)",
        "median absolute deviation over the range",
    ),
    (
        "max_over_time",
        "max_over_time(v range-vector)",
        "maximum over the range",
    ),
    (
        "min_over_time",
        "min_over_time(v range-vector)",
        "minimum over the range",
    ),
    (
        "minute",
        "minute(v=vector(time()) instant-vector)",
        "minute of the hour (UTC)",
    ),
    (
        "month",
        "month(v=vector(time()) instant-vector)",
        "month of the year (UTC)",
    ),
    ("pi", "pi()", "π"),
    (
        "predict_linear",
        "predict_linear(v range-vector, t scalar)",
        "value t seconds from now by linear regression",
    ),
    (
        "present_over_time",
        "present_over_time(v range-vector)",
        "1 for series with samples in the range",
    ),
    (
        "quantile_over_time",
        "quantile_over_time(φ scalar, v range-vector)",
        "φ-quantile over the range",
    ),
    ("rad", "rad(v instant-vector)", "degrees to radians"),
    (
        "rate",
        "rate(v range-vector)",
        "per-second average increase of a counter",
    ),
    (
        "resets",
        "resets(v range-vector)",
        "counter resets in the range",
    ),
    (
        "round",
        "round(v instant-vector, to_nearest=1 scalar)",
        "round to the nearest multiple",
    ),
    (
        "scalar",
        "scalar(v instant-vector)",
        "the value of a 1-element vector, else NaN",
    ),
    ("sgn", "sgn(v instant-vector)", "sign: -1, 0 or 1"),
    ("sin", "sin(v instant-vector)", "sine"),
    ("sinh", "sinh(v instant-vector)", "hyperbolic sine"),
    ("sort", "sort(v instant-vector)", "ascending by value"),
    (
        "sort_by_label",
        "sort_by_label(v instant-vector, label string, ...)",
        "ascending by label values",
    ),
    (
        "sort_by_label_desc",
        "sort_by_label_desc(v instant-vector, label string, ...)",
        "descending by label values",
    ),
    (
        "sort_desc",
        "sort_desc(v instant-vector)",
        "descending by value",
    ),
    ("sqrt", "sqrt(v instant-vector)", "square root"),
    (
        "stddev_over_time",
        "stddev_over_time(v range-vector)",
        "standard deviation over the range",
    ),
    (
        "stdvar_over_time",
        "stdvar_over_time(v range-vector)",
        "variance over the range",
    ),
    (
        "sum_over_time",
        "sum_over_time(v range-vector)",
        "sum over the range",
    ),
    ("tan", "tan(v instant-vector)", "tangent"),
    ("tanh", "tanh(v instant-vector)", "hyperbolic tangent"),
    ("time", "time()", "evaluation time, seconds since the epoch"),
    (
        "timestamp",
        "timestamp(v instant-vector)",
        "timestamp of each sample",
    ),
    (
        "vector",
        "vector(s scalar)",
        "the scalar as a vector without labels",
    ),
    (
        "year",
        "year(v=vector(time()) instant-vector)",
        "year (UTC)",
    ),
];

/// Aggregation operators: name, signature, doc.
pub const AGGREGATIONS: &[(&str, &str, &str)] = &[
    (
        "sum",
        "sum [by|without (labels)] (v)",
        "sum over dimensions",
    ),
    (
        "avg",
        "avg [by|without (labels)] (v)",
        "average over dimensions",
    ),
    (
        "min",
        "min [by|without (labels)] (v)",
        "minimum over dimensions",
    ),
    (
        "max",
        "max [by|without (labels)] (v)",
        "maximum over dimensions",
    ),
    (
        "count",
        "count [by|without (labels)] (v)",
        "number of series",
    ),
    ("group", "group [by|without (labels)] (v)", "1 per group"),
    (
        "stddev",
        "stddev [by|without (labels)] (v)",
        "population standard deviation",
    ),
    (
        "stdvar",
        "stdvar [by|without (labels)] (v)",
        "population variance",
    ),
    ("topk", "topk(k, v)", "largest k by value"),
    ("bottomk", "bottomk(k, v)", "smallest k by value"),
    ("quantile", "quantile(φ, v)", "φ-quantile over dimensions"),
    (
        "count_values",
        "count_values(\"label\", v)",
        "series per distinct value",
    ),
];

pub fn is_function(w: &str) -> bool {
    FUNCTIONS.iter().any(|f| f.0 == w)
}

pub fn is_aggregation(w: &str) -> bool {
    AGGREGATIONS.iter().any(|f| f.0 == w)
}

const DURATIONS: &[&str] = &[
    "1m", "5m", "10m", "15m", "30m", "1h", "2h", "6h", "12h", "1d", "7d",
];

/// What a candidate is (shown in the popup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandKind {
    Metric,
    Function,
    Aggregation,
    Label,
    Value,
    Duration,
}

/// One completion candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Text inserted (replacing the prefix).
    pub insert: String,
    /// Shown on the left.
    pub label: String,
    /// Type, signature or help, shown on the right.
    pub detail: String,
    pub kind: CandKind,
}

/// What the completer knows (filled from the Source as the user types).
#[derive(Debug, Default, Clone)]
pub struct Known {
    pub metrics: Vec<String>,
    /// Metric → (type, help).
    pub metadata: BTreeMap<String, (String, String)>,
    /// Metric (or "" for all) → label names.
    pub labels: BTreeMap<String, Vec<String>>,
    /// (metric or "", label) → values.
    pub values: BTreeMap<(String, String), Vec<String>>,
}

/// Functions most queries use: offered before the rest of the same prefix.
const COMMON: &[&str] = &[
    "rate",
    "sum",
    "increase",
    "avg",
    "max",
    "min",
    "count",
    "histogram_quantile",
    "irate",
    "topk",
    "label_replace",
    "delta",
    "deriv",
    "absent",
];

/// Ranks `names` for `prefix`: prefix matches first (case-insensitive), then substring matches;
/// within each, common functions first, then alphabetical.
fn rank<'a>(names: impl Iterator<Item = &'a str>, prefix: &str) -> Vec<&'a str> {
    let p = prefix.to_lowercase();
    let mut starts = Vec::new();
    let mut contains = Vec::new();
    for n in names {
        let l = n.to_lowercase();
        if l.starts_with(&p) {
            starts.push(n);
        } else if !p.is_empty() && l.contains(&p) {
            contains.push(n);
        }
    }
    let key = |n: &&str| {
        (
            COMMON.iter().position(|c| c == n).unwrap_or(usize::MAX),
            n.to_string(),
        )
    };
    starts.sort_by_key(key);
    contains.sort_by_key(key);
    starts.extend(contains);
    starts
}

/// Escapes a label value for a double-quoted PromQL string.
fn quote_value(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Candidates for `ctx` from what is known, at most `max`.
pub fn candidates(ctx: &Context, known: &Known, max: usize) -> Vec<Candidate> {
    let mut out = Vec::new();
    match ctx {
        Context::Metric { prefix, .. } => {
            for name in rank(known.metrics.iter().map(String::as_str), prefix) {
                let detail = known
                    .metadata
                    .get(name)
                    .map(|(t, h)| format!("{t}  {h}"))
                    .unwrap_or_default();
                out.push(Candidate {
                    insert: name.to_string(),
                    label: name.to_string(),
                    detail,
                    kind: CandKind::Metric,
                });
            }
            let mut funcs: Vec<Candidate> = Vec::new();
            for name in rank(
                FUNCTIONS
                    .iter()
                    .map(|f| f.0)
                    .chain(AGGREGATIONS.iter().map(|a| a.0)),
                prefix,
            ) {
                let (sig, doc, kind) = FUNCTIONS
                    .iter()
                    .find(|f| f.0 == name)
                    .map(|f| (f.1, f.2, CandKind::Function))
                    .or_else(|| {
                        AGGREGATIONS
                            .iter()
                            .find(|a| a.0 == name)
                            .map(|a| (a.1, a.2, CandKind::Aggregation))
                    })
                    .unwrap_or(("", "", CandKind::Function));
                funcs.push(Candidate {
                    insert: format!("{name}("),
                    label: name.to_string(),
                    detail: format!("{sig} — {doc}"),
                    kind,
                });
            }
            // Functions first when the prefix matches one exactly or is short.
            if funcs
                .first()
                .is_some_and(|f| f.label.starts_with(prefix.as_str()))
                && prefix.len() >= 2
            {
                funcs.extend(out);
                out = funcs;
            } else {
                out.extend(funcs);
            }
        }
        Context::LabelName { metric, prefix, .. } => {
            let key = metric.clone().unwrap_or_default();
            let names = known
                .labels
                .get(&key)
                .or_else(|| known.labels.get(""))
                .cloned()
                .unwrap_or_default();
            for n in rank(
                names
                    .iter()
                    .map(String::as_str)
                    .filter(|n| *n != "__name__"),
                prefix,
            ) {
                out.push(Candidate {
                    insert: n.to_string(),
                    label: n.to_string(),
                    detail: String::new(),
                    kind: CandKind::Label,
                });
            }
        }
        Context::LabelValue {
            metric,
            label,
            prefix,
            ..
        } => {
            let key = (metric.clone().unwrap_or_default(), label.clone());
            let values = known
                .values
                .get(&key)
                .or_else(|| known.values.get(&(String::new(), label.clone())))
                .cloned()
                .unwrap_or_default();
            for v in rank(values.iter().map(String::as_str), prefix) {
                out.push(Candidate {
                    insert: format!("{}\"", quote_value(v)),
                    label: v.to_string(),
                    detail: String::new(),
                    kind: CandKind::Value,
                });
            }
        }
        Context::Duration { prefix, .. } => {
            for d in DURATIONS.iter().filter(|d| d.starts_with(prefix.as_str())) {
                out.push(Candidate {
                    insert: format!("{d}]"),
                    label: d.to_string(),
                    detail: String::new(),
                    kind: CandKind::Duration,
                });
            }
        }
        Context::None => {}
    }
    out.truncate(max);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        let mut k = Known {
            metrics: vec![
                "node_cpu_seconds_total".into(),
                "node_memory_MemFree_bytes".into(),
                "up".into(),
                "process_cpu_seconds_total".into(),
            ],
            ..Known::default()
        };
        k.metadata.insert(
            "up".into(),
            ("gauge".into(), "Whether the target is up".into()),
        );
        k.labels.insert(
            "up".into(),
            vec!["__name__".into(), "instance".into(), "job".into()],
        );
        k.values.insert(
            ("up".into(), "job".into()),
            vec!["node".into(), "promterm".into(), "we\"ird".into()],
        );
        k
    }

    #[test]
    fn metric_and_function_candidates() {
        let c = candidates(
            &Context::Metric {
                prefix: "cpu".into(),
                start: 0,
            },
            &known(),
            10,
        );
        let labels: Vec<&str> = c.iter().map(|x| x.label.as_str()).collect();
        assert_eq!(
            labels,
            ["node_cpu_seconds_total", "process_cpu_seconds_total"]
        );
        let c = candidates(
            &Context::Metric {
                prefix: "ra".into(),
                start: 0,
            },
            &known(),
            10,
        );
        assert_eq!(c[0].label, "rate");
        assert_eq!(c[0].insert, "rate(");
        assert!(c[0].detail.contains("rate(v range-vector)"));
        let c = candidates(
            &Context::Metric {
                prefix: "u".into(),
                start: 0,
            },
            &known(),
            10,
        );
        let up = c.iter().find(|x| x.label == "up").unwrap();
        assert_eq!(up.detail, "gauge  Whether the target is up");
    }

    #[test]
    fn label_value_and_duration_candidates() {
        let k = known();
        let c = candidates(
            &Context::LabelName {
                metric: Some("up".into()),
                prefix: "".into(),
                start: 0,
            },
            &k,
            10,
        );
        let labels: Vec<&str> = c.iter().map(|x| x.label.as_str()).collect();
        assert_eq!(labels, ["instance", "job"]);
        let c = candidates(
            &Context::LabelValue {
                metric: Some("up".into()),
                label: "job".into(),
                prefix: "".into(),
                start: 0,
            },
            &k,
            10,
        );
        assert_eq!(c.len(), 3);
        assert_eq!(c[2].insert, "we\\\"ird\"");
        let c = candidates(
            &Context::Duration {
                prefix: "1".into(),
                start: 0,
            },
            &k,
            10,
        );
        let labels: Vec<&str> = c.iter().map(|x| x.label.as_str()).collect();
        assert_eq!(labels, ["1m", "10m", "15m", "1h", "12h", "1d"]);
    }
}
