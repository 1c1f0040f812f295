//! Completion candidates for the prompt: metric names (with their type and help), functions
//! and aggregations (with a signature and a one-line doc), label names of the metric at hand,
//! label values, durations. The names come from the same `Source` the results do; this module
//! only ranks what is known. Uses `highlight` (the completion context at the cursor) and
//! `vocabulary` (function and aggregation names).

use std::collections::BTreeMap;

use super::highlight::Context;
use super::vocabulary::{AGGREGATIONS, FUNCTIONS};

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
    fn histogram_functions_are_offered_with_their_signatures() {
        let c = candidates(
            &Context::Metric {
                prefix: "histogram_".into(),
                start: 0,
            },
            &known(),
            20,
        );
        let labels: Vec<&str> = c.iter().map(|x| x.label.as_str()).collect();
        // histogram_quantile is common, so first; the rest alphabetically.
        assert_eq!(
            labels,
            [
                "histogram_quantile",
                "histogram_avg",
                "histogram_count",
                "histogram_fraction",
                "histogram_stddev",
                "histogram_stdvar",
                "histogram_sum",
            ]
        );
        let frac = c.iter().find(|x| x.label == "histogram_fraction").unwrap();
        assert_eq!(frac.insert, "histogram_fraction(");
        assert!(
            frac.detail
                .starts_with("histogram_fraction(lower scalar, upper scalar, b instant-vector) — "),
            "{}",
            frac.detail
        );
        assert!(c[0].detail.contains("classic buckets"), "{}", c[0].detail);
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
