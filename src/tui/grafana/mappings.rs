//! Grafana value mappings (`fieldConfig.defaults.mappings`, and the legacy `valueMaps` /
//! `rangeMaps` / `mappingType` of singlestat and old tables): `value` (the value's text equals
//! the key; numbers compare as numbers), `range` (from ≤ v ≤ to, either end open), `regex`
//! (the text's first match replaced by the result text, `$1` for groups), `special` (null,
//! NaN, null+NaN, true, false, empty). The first mapping that matches, in the order Grafana
//! gives them (`index`, else as listed), decides the text and colour; a mapped text is shown
//! as it is, without the unit. Also the value of a table cell (`Cell`). Uses `regex` only.

use serde_json::Value;

/// A value as a table cell or a reduced series holds it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell {
    Num(f64),
    Text(String),
    /// No value (a missing label, a row without this query's value).
    #[default]
    Null,
}

impl Cell {
    /// The cell's text as Grafana compares it (numbers as JavaScript writes them).
    pub fn text(&self) -> String {
        match self {
            Cell::Num(v) => js_number(*v),
            Cell::Text(s) => s.clone(),
            Cell::Null => String::new(),
        }
    }

    /// The number in it: a number, or a text that reads as one.
    pub fn num(&self) -> Option<f64> {
        match self {
            Cell::Num(v) => Some(*v),
            Cell::Text(s) => s.trim().parse().ok(),
            Cell::Null => None,
        }
    }
}

/// `v` as JavaScript's `String(v)` writes it for usual values (`1`, `0.5`, `NaN`).
pub fn js_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if v == v.trunc() && v.abs() < 1e21 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// The special values a mapping can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    Null,
    NaN,
    NullNaN,
    True,
    False,
    Empty,
}

/// What a mapping matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    Value(String),
    /// Inclusive bounds; `None` is open.
    Range(Option<f64>, Option<f64>),
    Regex(String),
    Special(Special),
}

/// One mapping: what it matches, and the text and colour it gives (either may be unset).
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub matches: Match,
    pub text: Option<String>,
    pub color: Option<String>,
    /// Grafana's order among the mappings.
    pub index: i64,
}

/// What a mapping made of a value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapped {
    pub text: Option<String>,
    pub color: Option<String>,
}

fn result_of(r: &Value) -> (Option<String>, Option<String>, Option<i64>) {
    let s = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
    (
        s("text"),
        s("color"),
        r.get("index").and_then(Value::as_i64),
    )
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// One legacy mapping (`{type: 1, value, text}` or `{type: 2, from, to, text}`); its value
/// `null` is the special null, as Grafana migrates it.
fn legacy(m: &Value, kind: i64, index: i64) -> Option<Mapping> {
    let text = m.get("text").and_then(Value::as_str).map(str::to_string);
    let matches = match kind {
        1 => {
            let v = match &m["value"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            if v == "null" {
                Match::Special(Special::Null)
            } else {
                Match::Value(v)
            }
        }
        2 => {
            let (from, to) = (&m["from"], &m["to"]);
            if from.as_str() == Some("null") && to.as_str() == Some("null") {
                Match::Special(Special::Null)
            } else {
                Match::Range(num(from), num(to))
            }
        }
        _ => return None,
    };
    Some(Mapping {
        matches,
        text,
        color: None,
        index,
    })
}

/// The mappings of a mappings array (new and legacy forms), in Grafana's order.
pub fn parse_list(v: &Value) -> Vec<Mapping> {
    let mut out = Vec::new();
    for (i, m) in v.as_array().into_iter().flatten().enumerate() {
        let i = i as i64;
        match &m["type"] {
            Value::Number(n) => out.extend(n.as_i64().and_then(|k| legacy(m, k, i))),
            Value::String(kind) => {
                let o = &m["options"];
                match kind.as_str() {
                    "value" => {
                        for (key, r) in o.as_object().into_iter().flatten() {
                            let (text, color, index) = result_of(r);
                            out.push(Mapping {
                                matches: Match::Value(key.clone()),
                                text,
                                color,
                                index: index.unwrap_or(i),
                            });
                        }
                    }
                    "range" => {
                        let (text, color, index) = result_of(&o["result"]);
                        out.push(Mapping {
                            matches: Match::Range(num(&o["from"]), num(&o["to"])),
                            text,
                            color,
                            index: index.unwrap_or(i),
                        });
                    }
                    "regex" => {
                        let (text, color, index) = result_of(&o["result"]);
                        out.push(Mapping {
                            matches: Match::Regex(
                                o["pattern"].as_str().unwrap_or_default().to_string(),
                            ),
                            text,
                            color,
                            index: index.unwrap_or(i),
                        });
                    }
                    "special" => {
                        let special = match o["match"].as_str() {
                            Some("null") => Special::Null,
                            Some("nan") => Special::NaN,
                            Some("null+nan") => Special::NullNaN,
                            Some("true") => Special::True,
                            Some("false") => Special::False,
                            Some("empty") => Special::Empty,
                            _ => continue,
                        };
                        let (text, color, index) = result_of(&o["result"]);
                        out.push(Mapping {
                            matches: Match::Special(special),
                            text,
                            color,
                            index: index.unwrap_or(i),
                        });
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    out.sort_by_key(|m| m.index);
    out
}

/// A panel's mappings: `fieldConfig.defaults.mappings`, else the legacy singlestat
/// `valueMaps` / `rangeMaps` (`mappingType` 1 or 2).
pub fn parse_panel(v: &Value) -> Vec<Mapping> {
    let new = parse_list(&v["fieldConfig"]["defaults"]["mappings"]);
    if !new.is_empty() {
        return new;
    }
    let kind = v["mappingType"].as_i64().unwrap_or(1);
    let (list, kind) = if kind == 2 {
        (&v["rangeMaps"], 2)
    } else {
        (&v["valueMaps"], 1)
    };
    list.as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, m)| legacy(m, kind, i as i64))
        .collect()
}

/// A pattern as Grafana writes it (`/re/flags` or a bare expression) compiled; `i` is the only
/// flag that changes a match here.
pub fn js_regex(pattern: &str) -> Option<regex::Regex> {
    let (body, flags) = match pattern.strip_prefix('/').and_then(|p| p.rsplit_once('/')) {
        Some((body, flags)) => (body, flags),
        None => (pattern, ""),
    };
    let body = if flags.contains('i') {
        format!("(?i){body}")
    } else {
        body.to_string()
    };
    regex::Regex::new(&body).ok()
}

impl Mapping {
    /// What this mapping makes of `cell`, when it matches.
    pub fn apply(&self, cell: &Cell) -> Option<Mapped> {
        let plain = || Mapped {
            text: self.text.clone(),
            color: self.color.clone(),
        };
        match &self.matches {
            Match::Value(key) => {
                let hit = match (cell, key.trim().parse::<f64>()) {
                    (Cell::Num(v), Ok(k)) => *v == k,
                    (Cell::Null, _) => false,
                    _ => cell.text() == *key,
                };
                hit.then(plain)
            }
            Match::Range(from, to) => {
                let v = cell.num().filter(|v| !v.is_nan())?;
                let hit = from.is_none_or(|f| v >= f) && to.is_none_or(|t| v <= t);
                (hit && (from.is_some() || to.is_some())).then(plain)
            }
            Match::Regex(p) => {
                if matches!(cell, Cell::Null) {
                    return None;
                }
                let re = js_regex(p)?;
                let text = cell.text();
                if !re.is_match(&text) {
                    return None;
                }
                let replaced = self
                    .text
                    .as_ref()
                    .map(|t| re.replace(&text, t.as_str()).into_owned());
                Some(Mapped {
                    text: replaced,
                    color: self.color.clone(),
                })
            }
            Match::Special(s) => {
                let nan = matches!(cell, Cell::Num(v) if v.is_nan());
                let null = matches!(cell, Cell::Null);
                let hit = match s {
                    Special::Null => null,
                    Special::NaN => nan,
                    Special::NullNaN => null || nan,
                    Special::True => matches!(cell, Cell::Text(t) if t == "true"),
                    Special::False => matches!(cell, Cell::Text(t) if t == "false"),
                    Special::Empty => matches!(cell, Cell::Text(t) if t.is_empty()),
                };
                hit.then(plain)
            }
        }
    }
}

/// The first mapping of `mappings` matching `cell`.
pub fn map(mappings: &[Mapping], cell: &Cell) -> Option<Mapped> {
    mappings.iter().find_map(|m| m.apply(cell))
}
