//! The PromQL evaluator (Prometheus 3.x semantics), over the `promql-parser` AST.
//!
//! Evaluation happens step by step: before the first step, every selector in the expression is
//! read from storage once, for the whole time window the query needs (all steps, offsets, `@`,
//! ranges and lookback); each step then slices those series with binary searches. An instant
//! query is a range query with one step.
//!
//! Implemented so far: number and string literals, parentheses, unary minus, instant vector
//! selectors (5m left-open lookback, stale markers end a series), range vector selectors
//! (left-open windows, stale markers skipped), `offset` (also negative), `@` with timestamps,
//! `start()` and `end()`, and every binary operator with `bool`, `on`, `ignoring`,
//! `group_left` and `group_right`. Functions, aggregations and subqueries come next and give
//! a clear "not supported yet" error until then. Follows Prometheus's promql/engine.go
//! (`VectorBinop`, `VectorAnd/Or/Unless`, `vectorSelectorSingle`) in our own words.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use promql_parser::parser::{
    self, AtModifier, BinaryExpr, Expr, LabelModifier, Offset, VectorMatchCardinality,
};

use crate::model::{is_stale_nan, Label, Labels, MatchOp, Matcher, Sample, METRIC_NAME};
use crate::storage::{Querier, Series, StorageError};

/// Default lookback delta (Prometheus: 5m).
pub const DEFAULT_LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// One sample of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

/// A query result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar { t: i64, v: f64 },
    String { t: i64, v: String },
    Vector(Vec<InstantSample>),
    Matrix(Vec<Series>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// Why a query failed, with the HTTP mapping Prometheus uses.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// 400 bad_data
    #[error("{0}")]
    BadData(String),
    /// 422 execution
    #[error("{0}")]
    Execution(String),
    /// 500 internal
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct Engine {
    pub lookback_ms: i64,
}

impl Default for Engine {
    fn default() -> Self {
        Engine {
            lookback_ms: DEFAULT_LOOKBACK_MS,
        }
    }
}

/// Parses PromQL, turning the crate's error into bad_data.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    parser::parse(query).map_err(QueryError::BadData)
}

fn system_time_ms(t: &SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
    }
}

/// The node's identity for the preload cache.
fn key<T>(node: &T) -> usize {
    node as *const T as usize
}

struct Eval<'a> {
    engine: &'a Engine,
    start: i64,
    end: i64,
    data: HashMap<usize, Vec<Series>>,
}

impl Eval<'_> {
    /// The time a selector reads at, for evaluation time `ts`.
    fn ref_time(&self, ts: i64, at: &Option<AtModifier>, offset: &Option<Offset>) -> i64 {
        let base = match at {
            None => ts,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(t)) => system_time_ms(t),
        };
        base - offset_ms(offset)
    }
}

fn to_matchers(vs: &parser::VectorSelector) -> Result<Vec<Vec<Matcher>>, QueryError> {
    let convert = |ms: &[promql_parser::label::Matcher]| -> Result<Vec<Matcher>, QueryError> {
        let mut out = Vec::with_capacity(ms.len() + 1);
        if let Some(name) = &vs.name {
            out.push(Matcher::equal(METRIC_NAME, name.clone()));
        }
        for m in ms {
            use promql_parser::label::MatchOp as P;
            let op = match m.op {
                P::Equal => MatchOp::Equal,
                P::NotEqual => MatchOp::NotEqual,
                P::Re(_) => MatchOp::Regex,
                P::NotRe(_) => MatchOp::NotRegex,
            };
            out.push(
                Matcher::new(op, m.name.clone(), m.value.clone())
                    .map_err(|e| QueryError::BadData(e.to_string()))?,
            );
        }
        Ok(out)
    };
    if vs.matchers.or_matchers.is_empty() {
        Ok(vec![convert(&vs.matchers.matchers)?])
    } else {
        vs.matchers
            .or_matchers
            .iter()
            .map(|ms| convert(ms))
            .collect()
    }
}

impl Engine {
    /// Evaluates `query` at `t` (ms).
    pub fn instant(&self, q: &dyn Querier, query: &str, t: i64) -> Result<Value, QueryError> {
        let expr = parse(query)?;
        let mut ev = self.prepare(q, &expr, t, t, 1)?;
        ev.eval(&expr, t)
    }

    /// Evaluates `query` at `start, start+step, ... <= end`; the result is a matrix.
    pub fn range(
        &self,
        q: &dyn Querier,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Value, QueryError> {
        if step <= 0 {
            return Err(QueryError::BadData("zero or negative query resolution step widths are not accepted. Try a positive integer".into()));
        }
        let expr = parse(query)?;
        let mut ev = self.prepare(q, &expr, start, end, step)?;
        let mut out: HashMap<Labels, Vec<Sample>> = HashMap::new();
        let mut ts = start;
        while ts <= end {
            match ev.eval(&expr, ts)? {
                Value::Scalar { v, .. } => out.entry(Labels::default()).or_default().push(Sample { t: ts, v }),
                Value::Vector(vec) => {
                    let mut seen = HashSet::new();
                    for s in vec {
                        if !seen.insert(s.labels.clone()) {
                            return Err(QueryError::Execution("vector cannot contain metrics with the same labelset".into()));
                        }
                        out.entry(s.labels).or_default().push(Sample { t: ts, v: s.v });
                    }
                }
                other => {
                    return Err(QueryError::BadData(format!(
                        "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                        if matches!(other, Value::Matrix(_)) { "range vector" } else { other.type_name() }
                    )))
                }
            }
            ts += step;
        }
        let mut series: Vec<Series> = out
            .into_iter()
            .map(|(labels, samples)| Series { labels, samples })
            .collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Value::Matrix(series))
    }

    fn prepare<'a>(
        &'a self,
        q: &dyn Querier,
        expr: &Expr,
        start: i64,
        end: i64,
        _step: i64,
    ) -> Result<Eval<'a>, QueryError> {
        let mut ev = Eval {
            engine: self,
            start,
            end,
            data: HashMap::new(),
        };
        let mut windows: Vec<(usize, &parser::VectorSelector, i64, i64)> = Vec::new();
        ev.collect(expr, start, end, &mut windows)?;
        for (k, vs, mint, maxt) in windows {
            let mut all: Vec<Series> = Vec::new();
            for ms in to_matchers(vs)? {
                for s in q.select(&ms, mint, maxt)? {
                    if !all.iter().any(|x| x.labels == s.labels) {
                        all.push(s);
                    }
                }
            }
            all.sort_by(|a, b| a.labels.cmp(&b.labels));
            ev.data.insert(k, all);
        }
        Ok(ev)
    }
}

impl Eval<'_> {
    /// Records the storage window each selector needs when `e` is evaluated at [start, end].
    fn collect<'e>(
        &self,
        e: &'e Expr,
        start: i64,
        end: i64,
        out: &mut Vec<(usize, &'e parser::VectorSelector, i64, i64)>,
    ) -> Result<(), QueryError> {
        match e {
            Expr::VectorSelector(vs) => {
                let (a, b) = (
                    self.ref_time(start, &vs.at, &vs.offset),
                    self.ref_time(end, &vs.at, &vs.offset),
                );
                out.push((key(vs), vs, a.min(b) - self.engine.lookback_ms, a.max(b)));
            }
            Expr::MatrixSelector(ms) => {
                let vs = &ms.vs;
                let (a, b) = (
                    self.ref_time(start, &vs.at, &vs.offset),
                    self.ref_time(end, &vs.at, &vs.offset),
                );
                out.push((
                    key(vs),
                    vs,
                    a.min(b) - ms.range.as_millis() as i64,
                    a.max(b),
                ));
            }
            Expr::Paren(p) => self.collect(&p.expr, start, end, out)?,
            Expr::Unary(u) => self.collect(&u.expr, start, end, out)?,
            Expr::Binary(b) => {
                self.collect(&b.lhs, start, end, out)?;
                self.collect(&b.rhs, start, end, out)?;
            }
            Expr::Aggregate(a) => {
                self.collect(&a.expr, start, end, out)?;
                if let Some(p) = &a.param {
                    self.collect(p, start, end, out)?;
                }
            }
            Expr::Call(c) => {
                for arg in &c.args.args {
                    self.collect(arg, start, end, out)?;
                }
            }
            Expr::Subquery(_) => {
                return Err(QueryError::Execution(
                    "subqueries are not supported yet".into(),
                ))
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
            Expr::Extension(_) => {
                return Err(QueryError::Execution("unsupported expression".into()))
            }
        }
        Ok(())
    }

    fn eval(&mut self, e: &Expr, ts: i64) -> Result<Value, QueryError> {
        match e {
            Expr::NumberLiteral(n) => Ok(Value::Scalar { t: ts, v: n.val }),
            Expr::StringLiteral(s) => Ok(Value::String {
                t: ts,
                v: s.val.clone(),
            }),
            Expr::Paren(p) => self.eval(&p.expr, ts),
            Expr::Unary(u) => match self.eval(&u.expr, ts)? {
                Value::Scalar { t, v } => Ok(Value::Scalar { t, v: -v }),
                Value::Vector(vec) => Ok(Value::Vector(
                    vec.into_iter()
                        .map(|s| InstantSample {
                            labels: s.labels.without(METRIC_NAME),
                            t: s.t,
                            v: -s.v,
                        })
                        .collect(),
                )),
                other => Err(QueryError::Execution(format!(
                    "unary minus is not defined on {}",
                    other.type_name()
                ))),
            },
            Expr::VectorSelector(vs) => Ok(Value::Vector(self.instant_selector(vs, ts))),
            Expr::MatrixSelector(ms) => {
                let vs = &ms.vs;
                let rt = self.ref_time(ts, &vs.at, &vs.offset);
                let lo = rt - ms.range.as_millis() as i64;
                let series = self.data.get(&key(vs)).map(Vec::as_slice).unwrap_or(&[]);
                let out = series
                    .iter()
                    .filter_map(|s| {
                        let from = s.samples.partition_point(|x| x.t <= lo);
                        let to = s.samples.partition_point(|x| x.t <= rt);
                        let samples: Vec<Sample> = s.samples[from..to]
                            .iter()
                            .filter(|x| !is_stale_nan(x.v))
                            .copied()
                            .collect();
                        (!samples.is_empty()).then(|| Series {
                            labels: s.labels.clone(),
                            samples,
                        })
                    })
                    .collect();
                Ok(Value::Matrix(out))
            }
            Expr::Binary(b) => self.binary(b, ts),
            Expr::Call(c) => Err(QueryError::Execution(format!(
                "function {:?} is not supported yet",
                c.func.name
            ))),
            Expr::Aggregate(a) => Err(QueryError::Execution(format!(
                "aggregation {} is not supported yet",
                a.op
            ))),
            Expr::Subquery(_) => Err(QueryError::Execution(
                "subqueries are not supported yet".into(),
            )),
            Expr::Extension(_) => Err(QueryError::Execution("unsupported expression".into())),
        }
    }

    fn instant_selector(&self, vs: &parser::VectorSelector, ts: i64) -> Vec<InstantSample> {
        let rt = self.ref_time(ts, &vs.at, &vs.offset);
        let series = self.data.get(&key(vs)).map(Vec::as_slice).unwrap_or(&[]);
        series
            .iter()
            .filter_map(|s| {
                let i = s.samples.partition_point(|x| x.t <= rt);
                let last = s.samples[..i].last()?;
                (last.t > rt - self.engine.lookback_ms && !is_stale_nan(last.v)).then(|| {
                    InstantSample {
                        labels: s.labels.clone(),
                        t: ts,
                        v: last.v,
                    }
                })
            })
            .collect()
    }

    fn binary(&mut self, b: &BinaryExpr, ts: i64) -> Result<Value, QueryError> {
        let op = b.op.to_string();
        let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
        let lhs = self.eval(&b.lhs, ts)?;
        let rhs = self.eval(&b.rhs, ts)?;
        let comparison = b.op.is_comparison_operator();
        match (lhs, rhs) {
            (Value::Scalar { v: l, .. }, Value::Scalar { v: r, .. }) => {
                let v = scalar_op(&op, l, r).ok_or_else(|| unsupported(&op))?;
                let v = if comparison {
                    if v.is_some() {
                        1.0
                    } else {
                        0.0
                    }
                } else {
                    v.unwrap_or(f64::NAN)
                };
                Ok(Value::Scalar { t: ts, v })
            }
            (Value::Vector(vec), Value::Scalar { v: r, .. }) => Ok(Value::Vector(vector_scalar(
                &op,
                vec,
                r,
                false,
                comparison,
                return_bool,
            )?)),
            (Value::Scalar { v: l, .. }, Value::Vector(vec)) => Ok(Value::Vector(vector_scalar(
                &op,
                vec,
                l,
                true,
                comparison,
                return_bool,
            )?)),
            (Value::Vector(l), Value::Vector(r)) => {
                let m = b.modifier.as_ref();
                let matching = m.and_then(|m| m.matching.as_ref());
                let card = m
                    .map(|m| &m.card)
                    .unwrap_or(&VectorMatchCardinality::OneToOne);
                match op.as_str() {
                    "and" | "or" | "unless" => Ok(Value::Vector(set_op(&op, l, r, matching))),
                    _ => Ok(Value::Vector(vector_vector(
                        &op,
                        l,
                        r,
                        matching,
                        card,
                        comparison,
                        return_bool,
                    )?)),
                }
            }
            (l, r) => Err(QueryError::Execution(format!(
                "binary operator {op} is not defined between {} and {}",
                l.type_name(),
                r.type_name()
            ))),
        }
    }
}

fn unsupported(op: &str) -> QueryError {
    QueryError::Execution(format!("operator {op:?} is not supported"))
}

/// Applies an operator to two floats. Arithmetic gives `Some(Some(v))`; a comparison gives
/// `Some(Some(l))` when true and `Some(None)` when false; `None` for an unknown operator.
fn scalar_op(op: &str, l: f64, r: f64) -> Option<Option<f64>> {
    let cmp = |c: bool| Some(if c { Some(l) } else { None });
    match op {
        "+" => Some(Some(l + r)),
        "-" => Some(Some(l - r)),
        "*" => Some(Some(l * r)),
        "/" => Some(Some(l / r)),
        "%" => Some(Some(l % r)),
        "^" => Some(Some(l.powf(r))),
        "atan2" => Some(Some(l.atan2(r))),
        "==" => cmp(l == r),
        "!=" => cmp(l != r),
        ">" => cmp(l > r),
        "<" => cmp(l < r),
        ">=" => cmp(l >= r),
        "<=" => cmp(l <= r),
        _ => None,
    }
}

fn vector_scalar(
    op: &str,
    vec: Vec<InstantSample>,
    scalar: f64,
    scalar_left: bool,
    comparison: bool,
    return_bool: bool,
) -> Result<Vec<InstantSample>, QueryError> {
    let mut out = Vec::with_capacity(vec.len());
    for s in vec {
        let (l, r) = if scalar_left {
            (scalar, s.v)
        } else {
            (s.v, scalar)
        };
        let res = scalar_op(op, l, r).ok_or_else(|| unsupported(op))?;
        let (keep, v) = match (comparison, return_bool, res) {
            (true, true, r) => (true, if r.is_some() { 1.0 } else { 0.0 }),
            // A filtering comparison keeps the vector's own value.
            (true, false, r) => (r.is_some(), s.v),
            (false, _, r) => (true, r.unwrap_or(f64::NAN)),
        };
        if keep {
            let labels = if !comparison || return_bool {
                s.labels.without(METRIC_NAME)
            } else {
                s.labels
            };
            out.push(InstantSample { labels, t: s.t, v });
        }
    }
    Ok(out)
}

/// The labels a sample is matched on: `on(...)` keeps only those, `ignoring(...)` (or no
/// modifier) keeps all but those and the metric name.
fn signature(l: &Labels, matching: Option<&LabelModifier>) -> Vec<(String, String)> {
    match matching {
        Some(LabelModifier::Include(names)) => {
            let mut v: Vec<(String, String)> = names
                .labels
                .iter()
                .filter_map(|n| l.get(n).map(|v| (n.clone(), v.to_string())))
                .collect();
            v.sort();
            v
        }
        Some(LabelModifier::Exclude(names)) => l
            .iter()
            .filter(|x| {
                x.name.as_ref() != METRIC_NAME && !names.labels.iter().any(|n| n == x.name.as_ref())
            })
            .map(|x| (x.name.to_string(), x.value.to_string()))
            .collect(),
        None => l
            .iter()
            .filter(|x| x.name.as_ref() != METRIC_NAME)
            .map(|x| (x.name.to_string(), x.value.to_string()))
            .collect(),
    }
}

fn set_op(
    op: &str,
    l: Vec<InstantSample>,
    r: Vec<InstantSample>,
    matching: Option<&LabelModifier>,
) -> Vec<InstantSample> {
    let rsigs: HashSet<Vec<(String, String)>> =
        r.iter().map(|s| signature(&s.labels, matching)).collect();
    match op {
        "and" => l
            .into_iter()
            .filter(|s| rsigs.contains(&signature(&s.labels, matching)))
            .collect(),
        "unless" => l
            .into_iter()
            .filter(|s| !rsigs.contains(&signature(&s.labels, matching)))
            .collect(),
        _ => {
            let lsigs: HashSet<Vec<(String, String)>> =
                l.iter().map(|s| signature(&s.labels, matching)).collect();
            let mut out = l;
            out.extend(
                r.into_iter()
                    .filter(|s| !lsigs.contains(&signature(&s.labels, matching))),
            );
            out
        }
    }
}

fn fmt_sig(sig: &[(String, String)]) -> String {
    let parts: Vec<String> = sig.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", parts.join(", "))
}

fn vector_vector(
    op: &str,
    l: Vec<InstantSample>,
    r: Vec<InstantSample>,
    matching: Option<&LabelModifier>,
    card: &VectorMatchCardinality,
    comparison: bool,
    return_bool: bool,
) -> Result<Vec<InstantSample>, QueryError> {
    // group_right swaps the roles: the "one" side is the left.
    let (many, one, swapped) = match card {
        VectorMatchCardinality::OneToMany(_) => (r, l, true),
        _ => (l, r, false),
    };
    let mut one_by_sig: HashMap<Vec<(String, String)>, &InstantSample> = HashMap::new();
    for s in &one {
        let sig = signature(&s.labels, matching);
        if let Some(prev) = one_by_sig.insert(sig.clone(), s) {
            let side = if swapped { "left" } else { "right" };
            return Err(QueryError::Execution(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                fmt_sig(&sig), prev.labels, s.labels
            )));
        }
    }
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    let include: Vec<String> = match card {
        VectorMatchCardinality::ManyToOne(ls) | VectorMatchCardinality::OneToMany(ls) => {
            ls.labels.clone()
        }
        _ => Vec::new(),
    };
    let mut seen_many: HashSet<Vec<(String, String)>> = HashSet::new();
    let mut out = Vec::new();
    let mut out_labels: HashSet<Labels> = HashSet::new();
    for s in many {
        let sig = signature(&s.labels, matching);
        let Some(o) = one_by_sig.get(&sig) else {
            continue;
        };
        if one_to_one && !seen_many.insert(sig.clone()) {
            let side = if swapped { "right" } else { "left" };
            return Err(QueryError::Execution(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation;many-to-many matching not allowed: matching labels must be unique on one side",
                fmt_sig(&sig)
            )));
        }
        let (lv, rv) = if swapped { (o.v, s.v) } else { (s.v, o.v) };
        let res = scalar_op(op, lv, rv).ok_or_else(|| unsupported(op))?;
        let (keep, v) = match (comparison, return_bool, res) {
            (true, true, r) => (true, if r.is_some() { 1.0 } else { 0.0 }),
            (true, false, r) => (r.is_some(), lv),
            (false, _, r) => (true, r.unwrap_or(f64::NAN)),
        };
        if !keep {
            continue;
        }
        // Result labels come from the "many" side (the left one for one-to-one).
        let mut labels: Vec<Label> = s.labels.iter().cloned().collect();
        if !comparison || return_bool {
            labels.retain(|x| x.name.as_ref() != METRIC_NAME);
        }
        if one_to_one {
            match matching {
                Some(LabelModifier::Include(names)) => {
                    labels.retain(|x| names.labels.iter().any(|n| n == x.name.as_ref()))
                }
                Some(LabelModifier::Exclude(names)) => {
                    labels.retain(|x| !names.labels.iter().any(|n| n == x.name.as_ref()))
                }
                None => {}
            }
        }
        for name in &include {
            labels.retain(|x| x.name.as_ref() != name.as_str());
            if let Some(v) = o.labels.get(name) {
                labels.push(Label {
                    name: name.as_str().into(),
                    value: v.into(),
                });
            }
        }
        let labels = Labels::from_pairs(labels.iter().map(|x| (x.name.as_ref(), x.value.as_ref())));
        if !out_labels.insert(labels.clone()) {
            return Err(QueryError::Execution("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".to_string()));
        }
        out.push(InstantSample { labels, t: s.t, v });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
