//! A dashboard's template variables (`templating.list`) and how their options come to be:
//! `query` (`label_values(label)`, `label_values(selector, label)`, `label_names()`,
//! `metrics(regex)`, `query_result(expr)`, or a bare selector as series), then the variable's
//! `regex` filter (capture groups, `text`/`value` named groups, `/…/g`) and `sort`, as
//! Grafana's query variable does; `custom` (comma list, `key : value`), `interval` (with
//! `auto`), `datasource` (the one source), `constant`, `textbox`; `adhoc` is kept with a note
//! (its filters are not applied) and an unknown kind is kept with a note, never an error.
//!
//! What a query variable needs from the server is a `VarRequest` the view runs through
//! `client`; `Variable::options_from` turns the answer's `data` into options, purely. The
//! current value (multi, All) is kept and checked against new options as Grafana does.
//! Uses `model` (JSON field helpers) and the `regex` crate.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;

use super::model::{bool_of, str_of};

/// Grafana's value for "All".
pub const ALL: &str = "$__all";
/// The prefix of an interval variable's automatic option.
pub const AUTO_PREFIX: &str = "$__auto_interval_";

/// What kind of variable, with what defines its options.
#[derive(Debug, Clone, PartialEq)]
pub enum VarKind {
    Query {
        query: String,
    },
    Custom {
        query: String,
    },
    Interval {
        query: String,
        auto: bool,
        auto_count: u32,
        auto_min: String,
    },
    /// The plugin type it lists (`prometheus`).
    Datasource {
        plugin: String,
    },
    Constant {
        value: String,
    },
    Textbox {
        value: String,
    },
    Adhoc,
    Unknown {
        kind: String,
    },
}

/// One option: what is shown and what is interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarOption {
    pub text: String,
    pub value: String,
}

impl VarOption {
    pub fn new(text: &str, value: &str) -> VarOption {
        VarOption {
            text: text.to_string(),
            value: value.to_string(),
        }
    }
}

/// One variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub label: String,
    pub kind: VarKind,
    pub multi: bool,
    pub include_all: bool,
    pub all_value: Option<String>,
    /// The options (without the All entry).
    pub options: Vec<VarOption>,
    /// The selected values (`[ALL]` for All).
    pub current: Vec<String>,
    pub regex: String,
    pub sort: u32,
    /// 0 hidden never, 1 label hidden, 2 variable hidden.
    pub hide: u32,
    /// Why the variable does not work as in Grafana (adhoc, unknown kind, not Prometheus).
    pub note: Option<String>,
}

/// A call to the Prometheus API a query variable needs; its answer's `data` goes to
/// `Variable::options_from`.
#[derive(Debug, Clone, PartialEq)]
pub enum VarRequest {
    /// `/api/v1/label/<label>/values`, with `match[]` when given.
    LabelValues {
        label: String,
        matches: Vec<String>,
        start: f64,
        end: f64,
    },
    /// `/api/v1/labels`, with `match[]` when given.
    LabelNames {
        matches: Vec<String>,
        start: f64,
        end: f64,
    },
    /// `/api/v1/series`.
    Series {
        matches: Vec<String>,
        start: f64,
        end: f64,
    },
    /// `/api/v1/query` at `time`.
    Query { expr: String, time: f64 },
}

fn strings_of(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Value::Number(n) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

/// The variables of `templating.list`.
pub fn parse_all(list: &[Value]) -> Vec<Variable> {
    list.iter().map(Variable::parse).collect()
}

impl Variable {
    pub fn parse(v: &Value) -> Variable {
        let kind_name = str_of(v, "type").unwrap_or_default();
        // A query is a string, or an object holding it (`{query, refId}`).
        let query = match &v["query"] {
            Value::String(s) => s.clone(),
            Value::Object(o) => o
                .get("query")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            _ => String::new(),
        };
        let mut note = None;
        let kind = match kind_name.as_str() {
            "query" => VarKind::Query { query },
            "custom" => VarKind::Custom { query },
            "interval" => VarKind::Interval {
                query,
                auto: bool_of(v, "auto"),
                auto_count: v["auto_count"].as_u64().map_or(30, |c| c.max(1) as u32),
                auto_min: str_of(v, "auto_min").unwrap_or_else(|| "10s".into()),
            },
            "datasource" => {
                if !super::model::is_prometheus(&query) {
                    note = Some(format!(
                        "datasource variable of type {query:?}: only Prometheus is supported"
                    ));
                }
                VarKind::Datasource { plugin: query }
            }
            "constant" => VarKind::Constant { value: query },
            "textbox" => VarKind::Textbox { value: query },
            "adhoc" => {
                note = Some("ad hoc filters are not applied".into());
                VarKind::Adhoc
            }
            other => {
                note = Some(format!("unknown variable type {other:?}: left as written"));
                VarKind::Unknown {
                    kind: other.to_string(),
                }
            }
        };
        let current = strings_of(&v["current"]["value"]);
        let texts = strings_of(&v["current"]["text"]);
        let options = v["options"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|o| {
                        let value = strings_of(&o["value"]).into_iter().next()?;
                        let text = strings_of(&o["text"])
                            .into_iter()
                            .next()
                            .unwrap_or(value.clone());
                        (value != ALL).then_some(VarOption { text, value })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut var = Variable {
            name: str_of(v, "name").unwrap_or_default(),
            label: str_of(v, "label").unwrap_or_default(),
            kind,
            multi: bool_of(v, "multi"),
            include_all: bool_of(v, "includeAll"),
            all_value: str_of(v, "allValue").filter(|a| !a.is_empty()),
            options,
            current,
            regex: str_of(v, "regex").unwrap_or_default(),
            sort: v["sort"].as_u64().unwrap_or(0) as u32,
            hide: v["hide"].as_u64().unwrap_or(0) as u32,
            note,
        };
        // Kinds whose options are in the definition get them now.
        match &var.kind {
            VarKind::Custom { query } => var.options = custom_options(query),
            VarKind::Interval { query, auto, .. } => {
                // With auto, Grafana offers `auto` first.
                let auto =
                    auto.then(|| VarOption::new("auto", &format!("{AUTO_PREFIX}{}", var.name)));
                var.options = auto
                    .into_iter()
                    .chain(
                        query
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(|s| VarOption::new(s, s)),
                    )
                    .collect()
            }
            VarKind::Constant { value } => {
                var.options = vec![VarOption::new(value, value)];
                var.current = vec![value.clone()];
            }
            VarKind::Textbox { value } if var.current.is_empty() => {
                var.current = vec![value.clone()];
            }
            VarKind::Datasource { .. } => {
                var.options = vec![VarOption::new("default", "default")];
            }
            _ => {}
        }
        if var.current.is_empty() && texts.iter().any(|t| t == "All") && var.include_all {
            var.current = vec![ALL.to_string()];
        }
        if !matches!(var.kind, VarKind::Query { .. } | VarKind::Textbox { .. }) {
            var.validate();
        }
        var
    }

    pub fn is_all(&self) -> bool {
        self.current.first().is_some_and(|c| c == ALL)
    }

    /// The kind's name as Grafana writes it.
    pub fn kind_name(&self) -> &str {
        match &self.kind {
            VarKind::Query { .. } => "query",
            VarKind::Custom { .. } => "custom",
            VarKind::Interval { .. } => "interval",
            VarKind::Datasource { .. } => "datasource",
            VarKind::Constant { .. } => "constant",
            VarKind::Textbox { .. } => "textbox",
            VarKind::Adhoc => "adhoc",
            VarKind::Unknown { kind } => kind,
        }
    }

    /// Keeps the current values that are options; none left: All when offered, else the
    /// first option (Grafana's `validateVariableSelectionState`).
    pub fn validate(&mut self) {
        if self.is_all() && self.include_all {
            return;
        }
        let kept: Vec<String> = self
            .current
            .iter()
            .filter(|c| self.options.iter().any(|o| &o.value == *c))
            .cloned()
            .collect();
        self.current = if !kept.is_empty() {
            if self.multi {
                kept
            } else {
                kept.into_iter().take(1).collect()
            }
        } else if self.include_all {
            vec![ALL.to_string()]
        } else {
            self.options
                .first()
                .map(|o| vec![o.value.clone()])
                .unwrap_or_default()
        };
    }

    /// Selects `values` (All when it is `[ALL]`).
    pub fn select(&mut self, values: &[&str]) {
        self.current = values.iter().map(|v| v.to_string()).collect();
    }

    /// The API call that lists this query variable's options, for its query already
    /// interpolated (`query`), over `[start, end]` (unix seconds). `None` for other kinds
    /// and for an empty query.
    pub fn request(&self, query: &str, start: f64, end: f64) -> Option<VarRequest> {
        if !matches!(self.kind, VarKind::Query { .. }) {
            return None;
        }
        let q = query.trim();
        let (start, end) = (start.floor(), end.ceil());
        if q.is_empty() || ["label_values()", "metrics()", "query_result()"].contains(&q) {
            return None;
        }
        if let Some(inner) = call(q, "label_names") {
            let matches = if inner.trim().is_empty() {
                Vec::new()
            } else {
                vec![format!("{{__name__=~\".*{}.*\"}}", inner.trim())]
            };
            return Some(VarRequest::LabelNames {
                matches,
                start,
                end,
            });
        }
        if let Some(inner) = call(q, "label_values") {
            let (filter, label) = split_label_values(inner)?;
            let matches = filter
                .filter(|f| f.split_whitespace().collect::<String>() != "{}")
                .map(|f| vec![f.to_string()])
                .unwrap_or_default();
            return Some(VarRequest::LabelValues {
                label: label.to_string(),
                matches,
                start,
                end,
            });
        }
        if call(q, "metrics").is_some() {
            return Some(VarRequest::LabelValues {
                label: "__name__".into(),
                matches: Vec::new(),
                start,
                end,
            });
        }
        if let Some(inner) = call(q, "query_result") {
            return Some(VarRequest::Query {
                expr: inner.to_string(),
                time: end,
            });
        }
        Some(VarRequest::Series {
            matches: vec![q.to_string()],
            start,
            end,
        })
    }

    /// The options from the answer (`data`) to `request(query, …)`, filtered by `regex` and
    /// sorted by `sort`; the current values are then checked against them.
    pub fn options_from(&mut self, query: &str, data: &Value) -> Result<(), String> {
        let q = query.trim();
        let found: Vec<VarOption> = if let Some(inner) = call(q, "metrics") {
            let re = regex::Regex::new(inner.trim())
                .map_err(|e| format!("metrics({inner}): bad regex: {e}"))?;
            strings(data)
                .into_iter()
                .filter(|n| re.is_match(n))
                .map(|n| VarOption::new(&n, &n))
                .collect()
        } else if call(q, "query_result").is_some() {
            query_result_options(data)?
        } else if call(q, "label_values").is_some() || call(q, "label_names").is_some() {
            strings(data)
                .into_iter()
                .map(|n| VarOption::new(&n, &n))
                .collect()
        } else {
            // Series: each as name{labels}.
            data.as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let name = original_metric_name(s);
                    VarOption::new(&name, &name)
                })
                .collect()
        };
        self.options = filter_and_sort(found, &self.regex, self.sort)?;
        self.validate();
        Ok(())
    }
}

/// The argument of `name(...)` when `q` is that call (trailing spaces allowed).
fn call<'a>(q: &'a str, name: &str) -> Option<&'a str> {
    q.strip_prefix(name)?
        .trim_start()
        .strip_prefix('(')?
        .trim_end()
        .strip_suffix(')')
}

/// `label_values([filter, ]label)`: the label is the last argument, a label name.
fn split_label_values(inner: &str) -> Option<(Option<&str>, &str)> {
    let (filter, label) = match inner.rfind(',') {
        Some(i) => (Some(inner[..i].trim()), inner[i + 1..].trim()),
        None => (None, inner.trim()),
    };
    let ok = label
        .chars()
        .enumerate()
        .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    (ok && !label.is_empty()).then_some((filter.filter(|f| !f.is_empty()), label))
}

fn strings(data: &Value) -> Vec<String> {
    data.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// `name{a="b",c="d"}` from a series' labels (Grafana's `getOriginalMetricName`).
fn original_metric_name(labels: &Value) -> String {
    let name = labels["__name__"].as_str().unwrap_or("");
    let rest: Vec<String> = labels
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap_or("")))
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

/// `query_result(expr)` options: a scalar or string as its value; each vector sample as
/// `name{a="b"} value timestamp_ms`.
fn query_result_options(data: &Value) -> Result<Vec<VarOption>, String> {
    let r = &data["result"];
    match data["resultType"].as_str() {
        Some("scalar" | "string") => {
            let t = match &r[1] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            Ok(vec![VarOption::new(&t, &t)])
        }
        Some("vector") => Ok(r
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let value = s["value"][1].as_str().unwrap_or("");
                let ms = s["value"][0].as_f64().unwrap_or(0.0) * 1000.0;
                let t = format!(
                    "{} {value} {}",
                    original_metric_name(&s["metric"]),
                    ms.round()
                );
                VarOption::new(&t, &t)
            })
            .collect()),
        other => Err(format!(
            "query_result: unknown result type {}",
            other.unwrap_or("(none)")
        )),
    }
}

/// A custom variable's comma list: `\,` keeps a comma, `key : value` names a value.
pub fn custom_options(query: &str) -> Vec<VarOption> {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                cur.push(',');
                chars.next();
            }
            ',' => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once(" : ") {
            Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                VarOption::new(k.trim(), v.trim())
            }
            _ => VarOption::new(p.trim(), p.trim()),
        })
        .collect()
}

/// A variable's `regex` as Grafana reads it: `/pattern/flags`, else the whole value must match.
fn variable_regex(re: &str) -> Result<(Regex, bool), String> {
    let (pattern, flags) = match re.strip_prefix('/').and_then(|r| r.rsplit_once('/')) {
        Some((p, f)) if f.chars().all(|c| "gimys".contains(c)) => (p.to_string(), f),
        _ if re.starts_with('/') => {
            return Err(format!("{re:?} is not a valid regular expression"))
        }
        _ => (format!("^{re}$"), ""),
    };
    let mut b = regex::RegexBuilder::new(&pattern);
    b.case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'));
    let r = b
        .build()
        .map_err(|e| format!("variable regex {re:?}: {e}"))?;
    Ok((r, flags.contains('g')))
}

/// Grafana's `metricNamesToVariableValues`: the regex filter (first capture group, or the
/// `text`/`value` named groups; with `g`, every match), duplicates dropped, then `sort`.
pub fn filter_and_sort(
    found: Vec<VarOption>,
    regex: &str,
    sort: u32,
) -> Result<Vec<VarOption>, String> {
    let re = if regex.is_empty() {
        None
    } else {
        Some(variable_regex(regex)?)
    };
    let mut out: Vec<VarOption> = Vec::new();
    for o in found {
        let Some((re, global)) = &re else {
            out.push(o);
            continue;
        };
        let caps: Vec<regex::Captures> = if *global {
            re.captures_iter(&o.value).collect()
        } else {
            re.captures(&o.value).into_iter().collect()
        };
        if caps.is_empty() {
            continue;
        }
        let named = |n: &str| {
            caps.iter()
                .find_map(|c| c.name(n))
                .map(|m| m.as_str().to_string())
        };
        let (vg, tg) = (named("value"), named("text"));
        let first = |c: &regex::Captures| c.get(1).map(|m| m.as_str().to_string());
        if vg.is_some() || tg.is_some() {
            let value = vg.clone().or(tg.clone()).unwrap_or_default();
            let text = tg.or(vg).unwrap_or_default();
            out.push(VarOption { text, value });
        } else if caps.len() > 1 && caps.iter().any(|c| c.len() > 1) {
            for c in &caps {
                if let Some(m) = first(c) {
                    out.push(VarOption::new(&m, &m));
                }
            }
        } else if let Some(m) = caps.iter().find_map(first) {
            out.push(VarOption::new(&m, &m));
        } else {
            out.push(o);
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|o| seen.insert(o.value.clone()));
    sort_options(&mut out, sort);
    Ok(out)
}

/// Grafana's variable sort orders: 1/2 alphabetical, 3/4 numerical (the first number in the
/// text), 5/6 alphabetical ignoring case, 7/8 natural; even numbers descending.
pub fn sort_options(o: &mut [VarOption], sort: u32) {
    let numeric = |t: &str| -> i64 {
        let digits: String = t
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap_or(-1)
    };
    match sort {
        1 | 2 => o.sort_by(|a, b| a.text.cmp(&b.text)),
        3 | 4 => o.sort_by_key(|x| numeric(&x.text)),
        5 | 6 => o.sort_by_key(|x| x.text.to_lowercase()),
        7 | 8 => o.sort_by(|a, b| natural_cmp(&a.text, &b.text)),
        _ => return,
    }
    if sort.is_multiple_of(2) {
        o.reverse();
    }
}

/// Text order where runs of digits compare as numbers (`a2` < `a10`).
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let chunks = |s: &str| -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let d = c.is_ascii_digit();
            match out.last_mut() {
                Some((kd, t)) if *kd == d => t.push(c),
                _ => out.push((d, c.to_string())),
            }
        }
        out
    };
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(cb.iter()) {
        let o = match (x.0 && y.0, x.1.parse::<u128>(), y.1.parse::<u128>()) {
            (true, Ok(p), Ok(q)) => p.cmp(&q),
            _ => x.1.to_lowercase().cmp(&y.1.to_lowercase()),
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    ca.len().cmp(&cb.len())
}

/// The variables by name, for interpolation.
pub fn by_name(vars: &[Variable]) -> BTreeMap<&str, &Variable> {
    vars.iter().map(|v| (v.name.as_str(), v)).collect()
}
