//! Template values (Go's types as templates see them: `fmt.Sprint` printing, truth, fields)
//! and the conversions and comparisons functions apply to them; the environment templates run
//! in (the `query` function's runner, the external URL).
//!
//! Uses `model` (Go's float formatting).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::histogram::{self, Field};
use crate::model::{format_go_g, FloatHistogram};

/// A template value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A `map[string]string` (label sets): missing keys read as "".
    Map(Arc<BTreeMap<String, String>>),
    /// A struct with named fields (the template data); unknown fields are errors.
    Struct(&'static str, Arc<Vec<(&'static str, Val)>>),
    /// One query result sample (`.Labels`, `.Value`).
    Sample(Arc<QuerySample>),
    /// A query result.
    Samples(Arc<Vec<Arc<QuerySample>>>),
    /// `args` results and other `map[string]interface{}`.
    AnyMap(Arc<BTreeMap<String, Val>>),
    /// A native histogram (`*histogram.FloatHistogram`): a histogram sample's `$value`.
    Histogram(Arc<FloatHistogram>),
}

/// A sample as templates see query results: `.Value` is the histogram of a histogram sample,
/// the float otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    pub histogram: Option<Arc<FloatHistogram>>,
}

impl QuerySample {
    /// `.Value`: the histogram when there is one, else the float.
    pub fn value_val(&self) -> Val {
        Val::sample_value(self.value, self.histogram.as_ref())
    }
}

impl Val {
    /// A sample's value as Prometheus hands it to templates: the histogram of a histogram
    /// sample, the float otherwise.
    pub fn sample_value(v: f64, h: Option<&Arc<FloatHistogram>>) -> Val {
        match h {
            Some(h) => Val::Histogram(h.clone()),
            None => Val::Float(v),
        }
    }

    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Val::Nil => "nil",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float64",
            Val::Str(_) => "string",
            Val::Map(_) => "map[string]string",
            Val::Struct(n, _) => n,
            Val::Sample(_) => "*template.sample",
            Val::Samples(_) => "template.queryResult",
            Val::AnyMap(_) => "map[string]interface {}",
            Val::Histogram(_) => histogram::TYPE_NAME,
        }
    }

    pub(super) fn truth(&self) -> bool {
        match self {
            Val::Nil => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Map(m) => !m.is_empty(),
            Val::Samples(s) => !s.is_empty(),
            Val::AnyMap(m) => !m.is_empty(),
            Val::Struct(..) | Val::Sample(_) | Val::Histogram(_) => true,
        }
    }

    /// `fmt.Sprint` of the value.
    pub(super) fn print(&self, out: &mut String) {
        match self {
            Val::Nil => out.push_str("<nil>"),
            Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Val::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Val::Float(f) => out.push_str(&format_go_g(*f)),
            Val::Str(s) => out.push_str(s),
            Val::Map(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    let _ = write!(out, "{k}:{v}");
                }
                out.push(']');
            }
            Val::AnyMap(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.print(out);
                }
                out.push(']');
            }
            Val::Struct(_, fields) => {
                out.push('{');
                for (i, (_, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.print(out);
                }
                out.push('}');
            }
            Val::Sample(s) => {
                out.push_str("&{");
                Val::Map(Arc::new(s.labels.clone())).print(out);
                out.push(' ');
                s.value_val().print(out);
                out.push('}');
            }
            Val::Histogram(h) => out.push_str(&histogram::go_string(h)),
            Val::Samples(list) => {
                out.push('[');
                for (i, s) in list.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    Val::Sample(s.clone()).print(out);
                }
                out.push(']');
            }
        }
    }

    pub(super) fn to_display(&self) -> String {
        let mut s = String::new();
        self.print(&mut s);
        s
    }
}

/// Runs an instant query for the `query` function: (labels, value) per sample.
pub type QueryFn<'a> = &'a dyn Fn(&str) -> Result<Vec<QuerySample>, String>;

/// What template functions may need from the outside.
pub struct Env<'a> {
    pub query: Option<QueryFn<'a>>,
    pub external_url: &'a str,
}

pub(super) fn field(v: &Val, name: &str) -> Result<Val, String> {
    match v {
        Val::Map(m) => Ok(Val::Str(m.get(name).cloned().unwrap_or_default())),
        Val::AnyMap(m) => Ok(m.get(name).cloned().unwrap_or(Val::Nil)),
        Val::Struct(t, fields) => fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("can't evaluate field {name} in type {t}")),
        Val::Sample(s) => match name {
            "Labels" => Ok(Val::Map(Arc::new(s.labels.clone()))),
            "Value" => Ok(s.value_val()),
            _ => Err(format!(
                "can't evaluate field {name} in type *template.sample"
            )),
        },
        Val::Histogram(h) => match histogram::field(h, name) {
            Some(Field::Int(i)) => Ok(Val::Int(i)),
            Some(Field::Float(f)) => Ok(Val::Float(f)),
            Some(Field::Text(t)) => Ok(Val::Str(t)),
            None => Err(format!(
                "can't evaluate field {name} in type {}",
                histogram::TYPE_NAME
            )),
        },
        Val::Nil => Err(format!("nil pointer evaluating interface {{}}.{name}")),
        other => Err(format!(
            "can't evaluate field {name} in type {}",
            other.type_name()
        )),
    }
}

pub(super) fn as_str(v: &Val) -> Result<String, String> {
    match v {
        Val::Str(s) => Ok(s.clone()),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
    }
}

/// Prometheus's `convertToFloat`.
pub(super) fn to_float(v: &Val) -> Result<f64, String> {
    match v {
        Val::Float(f) => Ok(*f),
        Val::Int(i) => Ok(*i as f64),
        Val::Str(s) => parse_go_float(s)
            .ok_or_else(|| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax")),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.trim_start_matches('+');
    match t.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => {
            return Some(if s.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    s.replace('_', "").parse().ok()
}

pub(super) fn as_sample(v: &Val) -> Result<Option<Arc<QuerySample>>, String> {
    match v {
        Val::Sample(s) => Ok(Some(s.clone())),
        Val::Nil => Ok(None),
        other => Err(format!(
            "wrong type for value; expected *template.sample; got {}",
            other.type_name()
        )),
    }
}

pub(super) fn as_samples(v: &Val) -> Result<Arc<Vec<Arc<QuerySample>>>, String> {
    match v {
        Val::Samples(s) => Ok(s.clone()),
        Val::Nil => Ok(Arc::new(Vec::new())),
        other => Err(format!(
            "wrong type for value; expected template.queryResult; got {}",
            other.type_name()
        )),
    }
}

/// Go's `eq`/`lt` comparison of basic values.
pub(super) fn compare(a: &Val, b: &Val) -> Result<std::cmp::Ordering, String> {
    use std::cmp::Ordering;
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Ok(x.cmp(y)),
        (Val::Float(x), Val::Float(y)) => Ok(x.partial_cmp(y).unwrap_or(Ordering::Less)),
        (Val::Str(x), Val::Str(y)) => Ok(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Ok(if x == y {
            Ordering::Equal
        } else {
            Ordering::Less
        }),
        (Val::Nil, Val::Nil) => Ok(Ordering::Equal),
        _ => Err("incompatible types for comparison".into()),
    }
}
