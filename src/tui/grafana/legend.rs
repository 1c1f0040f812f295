//! Series names and legend values as Grafana's Prometheus datasource makes them: a
//! `legendFormat` with `{{label}}` placeholders (a label the series lacks gives nothing;
//! `{{__name__}}` is the metric name), `__auto` and the empty format giving the series as
//! Prometheus prints it, and a name of `{}` falling back to the query (promlib's `getName`).
//! Also the reductions Grafana offers for legends and stat panels (`min`, `max`, `mean`,
//! `last`, `lastNotNull`, …) over a series' points. Uses nothing of the crate.

use std::collections::BTreeMap;

/// The `__auto` legend format.
pub const AUTO: &str = "__auto";

/// `name{a="b", c="d"}`, labels in name order without `__name__` (promlib's
/// `metricNameFromLabels`).
pub fn series_name(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").map_or("", String::as_str);
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{name}{{{}}}", rest.join(", "))
}

/// The legend entry of a series of query `expr` under `legend_format`.
pub fn legend(legend_format: &str, labels: &BTreeMap<String, String>, expr: &str) -> String {
    let name = if legend_format == AUTO || legend_format.is_empty() {
        series_name(labels)
    } else {
        render(legend_format, labels)
    };
    if name == "{}" {
        expr.to_string()
    } else {
        name
    }
}

/// `{{ label }}` placeholders replaced by the label's value (empty when missing).
pub fn render(format: &str, labels: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            break;
        };
        let name = after[..close].trim();
        if name.is_empty() {
            // `{{}}` is not a placeholder (the pattern needs one character).
            out.push_str(&rest[..open + 2]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..open]);
        out.push_str(labels.get(name).map_or("", String::as_str));
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// One of Grafana's reducers over `points` (time, value); `None` when it has no answer (no
/// finite value). Legacy names (`avg`, `current`, `total`) are understood.
pub fn reduce(calc: &str, points: &[(f64, f64)]) -> Option<f64> {
    let finite = || points.iter().map(|p| p.1).filter(|v| !v.is_nan());
    match calc {
        "last" => points.last().map(|p| p.1),
        "lastNotNull" | "current" => finite().next_back(),
        "first" => points.first().map(|p| p.1),
        "firstNotNull" => finite().next(),
        "min" => finite().reduce(f64::min),
        "max" => finite().reduce(f64::max),
        "mean" | "avg" => {
            let (n, s) = finite().fold((0usize, 0.0), |(n, s), v| (n + 1, s + v));
            (n > 0).then(|| s / n as f64)
        }
        "sum" | "total" => finite().reduce(|a, b| a + b),
        "count" => Some(points.len() as f64),
        "range" => Some(finite().reduce(f64::max)? - finite().reduce(f64::min)?),
        "delta" => {
            // Sum of increases, counter resets counted from zero.
            let v: Vec<f64> = finite().collect();
            let mut d = 0.0;
            for w in v.windows(2) {
                d += if w[1] >= w[0] { w[1] - w[0] } else { w[1] };
            }
            (!v.is_empty()).then_some(d)
        }
        "diff" => Some(finite().next_back()? - finite().next()?),
        _ => None,
    }
}

/// The short name a legend shows for a reducer.
pub fn calc_label(calc: &str) -> &str {
    match calc {
        "lastNotNull" | "current" => "Last*",
        "last" => "Last",
        "mean" | "avg" => "Mean",
        "min" => "Min",
        "max" => "Max",
        "sum" | "total" => "Total",
        "first" | "firstNotNull" => "First",
        "count" => "Count",
        "range" => "Range",
        "delta" => "Delta",
        "diff" => "Difference",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn legend_formats_follow_grafana() {
        let l = labels(&[
            ("__name__", "node_load1"),
            ("instance", "a:9100"),
            ("job", "node"),
        ]);
        assert_eq!(legend("{{instance}}", &l, "x"), "a:9100");
        assert_eq!(legend("{{ instance }} / {{job}}", &l, "x"), "a:9100 / node");
        assert_eq!(
            legend("{{device}} read", &l, "x"),
            " read",
            "missing → empty"
        );
        assert_eq!(legend("{{__name__}}", &l, "x"), "node_load1");
        assert_eq!(
            legend("", &l, "x"),
            "node_load1{instance=\"a:9100\", job=\"node\"}"
        );
        assert_eq!(
            legend(AUTO, &l, "x"),
            "node_load1{instance=\"a:9100\", job=\"node\"}"
        );
        assert_eq!(
            legend("", &labels(&[]), "sum(up)"),
            "sum(up)",
            "empty name → query"
        );
        assert_eq!(legend("{{x}}{}", &labels(&[]), "q"), "q");
        assert_eq!(render("{{}} {{a}", &l), "{{}} {{a}", "not placeholders");
    }

    #[test]
    fn reducers_skip_nan_and_know_legacy_names() {
        let p = [
            (1.0, 3.0),
            (2.0, f64::NAN),
            (3.0, 1.0),
            (4.0, 5.0),
            (5.0, f64::NAN),
        ];
        assert_eq!(reduce("min", &p), Some(1.0));
        assert_eq!(reduce("max", &p), Some(5.0));
        assert_eq!(reduce("mean", &p), Some(3.0));
        assert_eq!(reduce("avg", &p), Some(3.0));
        assert_eq!(reduce("lastNotNull", &p), Some(5.0));
        assert_eq!(reduce("current", &p), Some(5.0));
        assert!(reduce("last", &p).is_some_and(f64::is_nan));
        assert_eq!(reduce("sum", &p), Some(9.0));
        assert_eq!(reduce("range", &p), Some(4.0));
        assert_eq!(reduce("diff", &p), Some(2.0));
        assert_eq!(reduce("delta", &p), Some(1.0 + 4.0), "reset counted from 0");
        assert_eq!(reduce("max", &[]), None);
        assert_eq!(reduce("mean", &[(1.0, f64::NAN)]), None);
        assert_eq!(reduce("nonsense", &p), None);
    }
}
