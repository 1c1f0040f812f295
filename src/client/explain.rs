//! Why a query answered nothing, when the reason is knowable: for each selector of the query,
//! a metric name the server does not know (with the closest names it does know), a label
//! matcher no series of the metric satisfies (with the values that exist), or a function that
//! needs two samples (`rate`, `increase`, ...) over a window holding fewer (with the scrape
//! interval and the age of the samples). Every line states a fact checked against the server
//! with a few cheap calls (metric names, label values, `count_over_time` of the window, the
//! raw samples of one series, the targets); when nothing is found, there is no line: never a
//! guess. The TUI and `promterm query` show the lines under an empty answer.
//!
//! Uses `client::Source`, `promql` (the parser, to find the selectors) and `model` (matchers).

use std::collections::HashMap;
use std::time::Duration;

use promql_parser::parser::{Expr, MatrixSelector, Offset, VectorSelector};
use promql_parser::util::display_duration;
use serde_json::Value;

use super::Source;
use crate::model::{MatchOp, Matcher, METRIC_NAME};

/// Functions over a range that answer nothing for a series with fewer than two samples.
const TWO_SAMPLES: [&str; 9] = [
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "predict_linear",
    "holt_winters",
    "double_exponential_smoothing",
];

/// Selectors looked at, and lines given, at most.
const MAX_SELECTORS: usize = 8;
const MAX_LINES: usize = 4;
/// Label values and names listed after a matcher that matches nothing.
const MAX_VALUES: usize = 8;
/// Names offered for an unknown metric.
const MAX_SUGGESTIONS: usize = 3;
/// The raw samples read to tell the spacing and age of samples cover at least this long.
const RAW_WINDOW: Duration = Duration::from_secs(600);

/// Whether `data` of a query answer is a vector or a matrix without series.
pub fn is_empty_result(data: &Value) -> bool {
    matches!(data["resultType"].as_str(), Some("vector" | "matrix"))
        && data["result"].as_array().is_some_and(Vec::is_empty)
}

/// Lines saying why `expr` answered no series, evaluated at `time` (unix seconds; the end of a
/// range query; `None` for the server's now). Empty when no reason is known for sure (the
/// query does not parse, the server cannot tell, or the data is there and the emptiness comes
/// from the expression itself, as in `up > 5`).
pub async fn explain_empty(source: &dyn Source, expr: &str, time: Option<f64>) -> Vec<String> {
    let Ok(tree) = crate::promql::parse::parse(expr) else {
        return Vec::new();
    };
    let mut sels = Vec::new();
    collect(&tree, false, &mut sels);
    let mut cx = Ctx {
        source,
        time,
        names: None,
        values: HashMap::new(),
    };
    let mut lines: Vec<String> = Vec::new();
    for sel in sels.iter().take(MAX_SELECTORS) {
        for line in cx.selector(sel).await {
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
        if lines.len() >= MAX_LINES {
            break;
        }
    }
    lines.truncate(MAX_LINES);
    lines
}

/// A selector of the query, and the call around it that needs two samples in its window.
struct Sel {
    vs: VectorSelector,
    window: Option<(String, Duration)>,
}

/// The selectors of `e`, in the order written. Windows inside a subquery are evaluated at
/// other times than the query's, so they are not checked.
fn collect(e: &Expr, in_subquery: bool, out: &mut Vec<Sel>) {
    match e {
        Expr::VectorSelector(vs) => out.push(Sel {
            vs: vs.clone(),
            window: None,
        }),
        Expr::MatrixSelector(ms) => out.push(Sel {
            vs: ms.vs.clone(),
            window: None,
        }),
        Expr::Call(c) => {
            let two = !in_subquery && TWO_SAMPLES.contains(&c.func.name);
            for a in &c.args.args {
                match a.as_ref() {
                    Expr::MatrixSelector(ms) if two => out.push(Sel {
                        vs: ms.vs.clone(),
                        window: Some((c.to_string(), ms.range)),
                    }),
                    a => collect(a, in_subquery, out),
                }
            }
        }
        Expr::Subquery(sq) => collect(&sq.expr, true, out),
        Expr::Paren(p) => collect(&p.expr, in_subquery, out),
        Expr::Unary(u) => collect(&u.expr, in_subquery, out),
        Expr::Binary(b) => {
            collect(&b.lhs, in_subquery, out);
            collect(&b.rhs, in_subquery, out);
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                collect(p, in_subquery, out);
            }
            collect(&a.expr, in_subquery, out);
        }
        _ => {}
    }
}

/// The calls of one explanation, and what they answered so far.
struct Ctx<'a> {
    source: &'a dyn Source,
    time: Option<f64>,
    /// All metric names (`None`: not fetched yet).
    names: Option<Vec<String>>,
    /// Values of (label, metric) (the metric empty when the selector has no name).
    values: HashMap<(String, String), Vec<String>>,
}

impl Ctx<'_> {
    async fn names(&mut self) -> Option<&[String]> {
        if self.names.is_none() {
            let a = self.source.labels(Some(METRIC_NAME), &[]).await.ok()?;
            self.names = Some(strings(&a.data));
        }
        self.names.as_deref()
    }

    async fn values(&mut self, label: &str, metric: &str) -> Option<Vec<String>> {
        let key = (label.to_string(), metric.to_string());
        if let Some(v) = self.values.get(&key) {
            return Some(v.clone());
        }
        let a = self
            .source
            .labels(Some(label), &metric_match(metric))
            .await
            .ok()?;
        let v = strings(&a.data);
        self.values.insert(key, v.clone());
        Some(v)
    }

    /// The evaluation time: the one asked for, else the server's now (asked once).
    async fn time(&mut self) -> Option<f64> {
        if self.time.is_none() {
            let a = self.source.query("time()", None).await.ok()?;
            self.time = a.data["result"][0].as_f64();
        }
        self.time
    }

    /// What is wrong with one selector, if anything is known.
    async fn selector(&mut self, sel: &Sel) -> Vec<String> {
        let Ok(alternatives) = crate::promql::parse::to_matchers(&sel.vs) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for ms in &alternatives {
            if let Some(line) = self.matchers(ms).await {
                out.push(line);
            }
        }
        if out.is_empty() && alternatives.len() == 1 {
            if let Some((call, range)) = &sel.window {
                if let Some(line) = self.window(&sel.vs, &alternatives[0], call, *range).await {
                    out.push(line);
                }
            }
        }
        out
    }

    /// An unknown metric name, or the first matcher that no series of the metric satisfies.
    async fn matchers(&mut self, ms: &[Matcher]) -> Option<String> {
        let name = ms
            .iter()
            .find(|m| m.name == METRIC_NAME && m.op == MatchOp::Equal)
            .map(|m| m.value.clone());
        if let Some(name) = &name {
            let names = self.names().await?;
            if !names.contains(name) {
                return Some(unknown_metric(name, names));
            }
        }
        let metric = name.clone().unwrap_or_default();
        for m in ms {
            if m.matches_empty() || (m.name == METRIC_NAME && m.op == MatchOp::Equal) {
                continue;
            }
            if m.name == METRIC_NAME {
                let names = self.names().await?;
                if !names.iter().any(|n| m.matches(n)) {
                    return Some(format!("no metric name matches {m}"));
                }
                continue;
            }
            let values = self.values(&m.name, &metric).await?;
            if values.iter().any(|v| m.matches(v)) {
                continue;
            }
            let of = match &name {
                Some(n) => format!("no series of {n}"),
                None => "no series".to_string(),
            };
            if !values.is_empty() {
                return Some(format!("{of} has {m} ({} has: {})", m.name, few(&values)));
            }
            let a = self
                .source
                .labels(None, &metric_match(&metric))
                .await
                .ok()?;
            let labels: Vec<String> = strings(&a.data)
                .into_iter()
                .filter(|l| l != METRIC_NAME)
                .collect();
            return Some(if labels.is_empty() {
                format!("{of} has a label {:?}", m.name)
            } else {
                format!(
                    "{of} has a label {:?} (its labels: {})",
                    m.name,
                    few(&labels)
                )
            });
        }
        None
    }

    /// `call` needs two samples in `range`: whether every series of the selector has fewer
    /// there, and what is known of their spacing and age.
    async fn window(
        &mut self,
        vs: &VectorSelector,
        ms: &[Matcher],
        call: &str,
        range: Duration,
    ) -> Option<String> {
        let t = self.time().await?;
        let in_window = MatrixSelector {
            vs: vs.clone(),
            range,
        };
        let counts = self
            .source
            .query(&format!("count_over_time({in_window})"), Some(t))
            .await
            .ok()?;
        let counts = counts.data["result"].as_array()?.clone();
        let most = counts
            .iter()
            .filter_map(|s| s["value"][1].as_str()?.parse::<f64>().ok())
            .fold(0.0, f64::max);
        if most >= 2.0 {
            return None;
        }
        let w = display_duration(&range);
        let head = format!("{call} needs two samples in {w}");
        // Modifiers move the window away from the evaluation time: say no more.
        if vs.at.is_some() {
            return (!counts.is_empty()).then_some(head);
        }
        let offset = match &vs.offset {
            Some(Offset::Pos(d)) => d.as_secs_f64(),
            Some(Offset::Neg(d)) => -d.as_secs_f64(),
            None => 0.0,
        };
        let t_eff = t - offset;
        let modifiers = vs
            .offset
            .as_ref()
            .map(|o| format!(" offset {o}"))
            .unwrap_or_default();
        // One series to read samples of: the one with the most samples in a longer window
        // (the longest-lived, when the series share an interval).
        let raw_range = RAW_WINDOW.max(range * 2);
        let longer = MatrixSelector {
            vs: vs.clone(),
            range: raw_range,
        };
        let history = self
            .source
            .query(&format!("count_over_time({longer})"), Some(t))
            .await
            .ok()?;
        let mut longest: Option<(&Value, f64)> = None;
        for s in history.data["result"].as_array().into_iter().flatten() {
            let n = s["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0);
            if longest.is_none_or(|(_, most)| n > most) {
                longest = Some((s, n));
            }
        }
        let Some((longest, _)) = longest else {
            // No sample at all in a longer window: the series are gone or never were.
            return (!counts.is_empty()).then_some(head);
        };
        let mut one: Vec<Matcher> = ms.to_vec();
        for (k, v) in longest["metric"].as_object().into_iter().flatten() {
            if let Some(v) = v.as_str() {
                one.push(Matcher::equal(k.clone(), v));
            }
        }
        let raw = self
            .source
            .query(
                &format!(
                    "{}[{}]{modifiers}",
                    selector_text(&one),
                    display_duration(&raw_range)
                ),
                Some(t),
            )
            .await
            .ok()?;
        let series = raw.data["result"].as_array().and_then(|a| a.first());
        let Some(series) = series else {
            // No sample at all in a longer window: the series are gone or never were.
            return (!counts.is_empty()).then_some(head);
        };
        let times: Vec<f64> = series["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p[0].as_f64())
            .collect();
        let (Some(&oldest), Some(&newest)) = (times.first(), times.last()) else {
            return (!counts.is_empty()).then_some(head);
        };
        let labels = series["metric"].as_object();
        let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        let mut facts = Vec::new();
        let gap = spacing(&times);
        if let Some(i) = self.scrape_interval(label("job"), label("instance")).await {
            facts.push(format!("the series are scraped every {i}"));
        } else if let Some(g) = gap {
            facts.push(format!("samples arrive every {}", readable(g)));
        }
        let window_secs = range.as_secs_f64();
        let (oldest_age, newest_age) = (t_eff - oldest, t_eff - newest);
        let young = oldest_age < window_secs
            && self
                .nothing_before(&one, t_eff - raw_range.as_secs_f64())
                .await;
        let tail = if young {
            facts.push(format!("the oldest sample is {} old", age(oldest_age)));
            " — wait, or widen the range"
        } else if newest_age > window_secs && gap.is_none_or(|g| newest_age > 2.0 * g) {
            // Later than the spacing of the samples: the series stopped (or paused).
            facts.push(format!("the newest sample is {} old", age(newest_age)));
            ""
        } else {
            " — widen the range"
        };
        Some(if facts.is_empty() {
            format!("{head}{tail}")
        } else {
            format!("{head}; {}{tail}", facts.join(" and "))
        })
    }

    /// The scrape interval of the target with this job (and instance), from the targets API.
    async fn scrape_interval(&self, job: Option<&str>, instance: Option<&str>) -> Option<String> {
        let job = job?;
        let a = self.source.targets().await.ok()?;
        target_interval(&a.data, job, instance)
    }

    /// Whether the server holds no sample of the series before `t` (the series API tells
    /// which series have data up to a time; it may over-report, never under-report).
    async fn nothing_before(&self, ms: &[Matcher], t: f64) -> bool {
        let m = [selector_text(ms)];
        match self.source.series(&m, None, Some(t)).await {
            Ok(a) => a.data.as_array().is_some_and(Vec::is_empty),
            Err(_) => false,
        }
    }
}

/// The scrape interval of the active target with `job` and `instance` labels, else the one
/// interval shared by all the targets of `job`.
pub fn target_interval(targets: &Value, job: &str, instance: Option<&str>) -> Option<String> {
    let of_job: Vec<&Value> = targets["activeTargets"]
        .as_array()?
        .iter()
        .filter(|t| t["labels"]["job"].as_str() == Some(job))
        .collect();
    let interval = |t: &Value| t["scrapeInterval"].as_str().map(str::to_string);
    if let Some(i) = instance {
        if let Some(t) = of_job
            .iter()
            .find(|t| t["labels"]["instance"].as_str() == Some(i))
        {
            return interval(t);
        }
    }
    let mut all: Vec<String> = of_job.iter().filter_map(|t| interval(t)).collect();
    all.dedup();
    match all.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// `name is not a known metric; did you mean ...?` with the closest known names.
fn unknown_metric(name: &str, names: &[String]) -> String {
    if names.is_empty() {
        return format!("{name} is not a known metric (the server has no metrics yet)");
    }
    let close = closest(name, names);
    match close.as_slice() {
        [] => format!("{name} is not a known metric"),
        [one] => format!("{name} is not a known metric; did you mean {one}?"),
        [rest @ .., last] => format!(
            "{name} is not a known metric; did you mean {} or {last}?",
            rest.join(", ")
        ),
    }
}

/// Known names near `name`: a small edit distance, or starting with it; nearest first (on a
/// tie, the longer common prefix first).
fn closest(name: &str, names: &[String]) -> Vec<String> {
    let limit = (name.chars().count() / 4).max(2);
    let prefix = |n: &str| {
        name.chars()
            .zip(n.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let mut scored: Vec<(usize, std::cmp::Reverse<usize>, &String)> = names
        .iter()
        .filter_map(|n| {
            let d = strsim::levenshtein(name, n);
            let starts = name.chars().count() >= 3 && n.starts_with(name);
            (d <= limit || starts).then_some((d, std::cmp::Reverse(prefix(n)), n))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, _, n)| n.clone())
        .collect()
}

/// The first few of `items`, and how many more there are.
fn few(items: &[String]) -> String {
    let mut s = items
        .iter()
        .take(MAX_VALUES)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > MAX_VALUES {
        s.push_str(&format!(", … {} more", items.len() - MAX_VALUES));
    }
    s
}

/// The median distance between the last samples (seconds).
fn spacing(times: &[f64]) -> Option<f64> {
    let last = &times[times.len().saturating_sub(11)..];
    let mut gaps: Vec<f64> = last.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_by(f64::total_cmp);
    Some(gaps[gaps.len() / 2]).filter(|g| *g > 0.0)
}

/// Seconds as a duration: whole seconds from one second on, else milliseconds.
fn readable(secs: f64) -> String {
    let ms = if secs >= 1.0 {
        (secs.round() * 1000.0) as u64
    } else {
        (secs * 1000.0).round().max(1.0) as u64
    };
    display_duration(&Duration::from_millis(ms))
}

/// An age in whole seconds (at least 0s).
fn age(secs: f64) -> String {
    display_duration(&Duration::from_secs(secs.max(0.0).round() as u64))
}

/// `match[]` for the series of `metric` (none when empty).
fn metric_match(metric: &str) -> Vec<String> {
    if metric.is_empty() {
        Vec::new()
    } else {
        vec![selector_text(&[Matcher::equal(METRIC_NAME, metric)])]
    }
}

/// `{a="b", ...}`: a selector that parses whatever the names and values hold.
fn selector_text(ms: &[Matcher]) -> String {
    let parts: Vec<String> = ms
        .iter()
        .map(|m| {
            let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
            let name = if is_plain_name(&m.name) {
                m.name.clone()
            } else {
                quote(&m.name)
            };
            format!("{name}{}{}", m.op.as_str(), quote(&m.value))
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

fn is_plain_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// An API answer's `data` as strings (label names or values).
fn strings(data: &Value) -> Vec<String> {
    data.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests;
