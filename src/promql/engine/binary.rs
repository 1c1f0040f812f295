//! Binary operators: arithmetic, comparisons (filtering or with `bool`) and `atan2` between
//! scalars and vectors, vector matching (`on`, `ignoring`, `group_left`, `group_right`, with
//! Prometheus's errors for duplicate and many-to-many matches) and the set operators `and`,
//! `or`, `unless`. Operands arrive evaluated; every pair of point values goes through
//! `Operation::apply`, which follows Prometheus 3's `vectorElemBinop` for histograms:
//! histogram `+`/`-` histogram (the difference is a gauge histogram), histogram `*` float,
//! float `*` histogram, histogram `/` float, and `==`/`!=` between histograms (keeping the
//! left histogram, or 1/0 with `bool`); every other pairing with a histogram gives no sample
//! and the info "incompatible sample types encountered for binary operator". Adding or
//! subtracting an exponential and a custom-bucket histogram gives no sample and the warning
//! "incompatible bucket layout encountered for binary operator"; reconciled custom bounds
//! give an info; a counter-reset collision gives its warning and, as in Prometheus, no sample.
//! The trim operators `</` and `>/` (parsed as a marked `atan2`, see `parse_trim`) cut a
//! histogram at a float bound (`functions::histogram_trim`), keeping the metric name as a
//! filter does; any other pairing with them gives no sample and the incompatible-types info.
//! As in Prometheus, each evaluation reports only the last of its annotations. Follows
//! promql/engine.go (`VectorBinop`, `VectorscalarBinop`, `VectorAnd`, `VectorOr`,
//! `VectorUnless`) in our own words.
//!
//! Uses `value`, `memo`, `parse_trim`, `functions` and `model` only.

use std::collections::{HashMap, HashSet};

use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use crate::model::{
    CounterResetHint, FloatHistogram, HistogramMathError, Label, Labels, METRIC_NAME,
};
use crate::promql::functions::histogram_trim;
use crate::promql::memo::{FxBuild, Memo, DROP_NAME};
use crate::promql::parse_trim::{trim_of, Trim};
use crate::promql::value::{exec, Annotation, InstantSample, QueryError, Value};

/// One operand of a pair: a float or a histogram.
#[derive(Clone, Copy)]
enum Operand<'a> {
    F(f64),
    H(&'a FloatHistogram),
}

impl<'a> Operand<'a> {
    fn of(s: &'a InstantSample) -> Self {
        match &s.h {
            Some(h) => Operand::H(h),
            None => Operand::F(s.v),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Operand::F(_) => "float",
            Operand::H(_) => "histogram",
        }
    }
}

/// What a pair of values gives.
enum Pair {
    /// A sample with this value (float or histogram), with an annotation to report.
    Keep(f64, Option<Box<FloatHistogram>>, Option<Annotation>),
    /// A comparison that is false (with `bool`: 0).
    False,
    /// No sample at all, with the annotation saying why (if Prometheus gives one).
    Drop(Option<Annotation>),
}

/// What a binary expression asks for: the operator, whether it is a comparison and returns
/// `bool`, and how vectors match; `node` keys its memoised signatures.
struct Operation<'b> {
    op: String,
    comparison: bool,
    /// A trim operator (`op` is then its symbol).
    trim: Option<Trim>,
    return_bool: bool,
    matching: Option<&'b LabelModifier>,
    card: &'b VectorMatchCardinality,
    node: usize,
}

impl<'b> Operation<'b> {
    fn of(b: &'b BinaryExpr, node: usize) -> Self {
        let m = b.modifier.as_ref();
        let trim = trim_of(b);
        Operation {
            op: trim.map_or_else(|| b.op.to_string(), |t| t.symbol().to_string()),
            comparison: b.op.is_comparison_operator(),
            trim,
            return_bool: m.is_some_and(|m| m.return_bool),
            matching: m.and_then(|m| m.matching.as_ref()),
            card: m
                .map(|m| &m.card)
                .unwrap_or(&VectorMatchCardinality::OneToOne),
            node,
        }
    }

    /// One pair of float values: the result's value, or `None` when a filtering comparison
    /// drops it (a kept one keeps `filtered`, the vector's own value). With `bool`, a
    /// comparison gives 1 or 0; arithmetic gives NaN where it has no answer.
    fn apply_floats(&self, l: f64, r: f64, filtered: f64) -> Result<Option<f64>, QueryError> {
        let res = scalar_op(&self.op, l, r).ok_or_else(|| unsupported(&self.op))?;
        Ok(match (self.comparison, self.return_bool, res) {
            (true, true, r) => Some(if r.is_some() { 1.0 } else { 0.0 }),
            (true, false, r) => r.map(|_| filtered),
            (false, _, r) => Some(r.unwrap_or(f64::NAN)),
        })
    }

    /// One pair of values, floats or histograms (before `bool` is applied): Prometheus's
    /// `vectorElemBinop`. A comparison that holds keeps the left value.
    fn pair(&self, l: Operand, r: Operand) -> Result<Pair, QueryError> {
        let op = self.op.as_str();
        let incompatible = || {
            Pair::Drop(Some(Annotation::Info(format!(
                "incompatible sample types encountered for binary operator {op:?}: {} {op} {}",
                l.type_name(),
                r.type_name()
            ))))
        };
        if let Some(t) = self.trim {
            return Ok(match (l, r) {
                (Operand::H(h), Operand::F(x)) => {
                    let trimmed = histogram_trim::trim(h, x, t == Trim::Upper);
                    Pair::Keep(0.0, Some(Box::new(trimmed)), None)
                }
                _ => incompatible(),
            });
        }
        Ok(match (l, r) {
            (Operand::F(a), Operand::F(b)) => {
                match scalar_op(op, a, b).ok_or_else(|| unsupported(op))? {
                    Some(v) => Pair::Keep(v, None, None),
                    None => Pair::False,
                }
            }
            (Operand::F(k), Operand::H(h)) if op == "*" => {
                Pair::Keep(0.0, Some(Box::new(scaled(h, |x| x.mul(k)))), None)
            }
            (Operand::H(h), Operand::F(k)) if op == "*" => {
                Pair::Keep(0.0, Some(Box::new(scaled(h, |x| x.mul(k)))), None)
            }
            (Operand::H(h), Operand::F(k)) if op == "/" => {
                Pair::Keep(0.0, Some(Box::new(scaled(h, |x| x.div(k)))), None)
            }
            (Operand::H(a), Operand::H(b)) if op == "+" || op == "-" => combine(op, a, b),
            (Operand::H(a), Operand::H(b)) if op == "==" || op == "!=" => {
                if a.equals(b) == (op == "==") {
                    Pair::Keep(0.0, Some(Box::new(a.clone())), None)
                } else {
                    Pair::False
                }
            }
            _ => incompatible(),
        })
    }

    /// Whether a result sample is to drop the metric name: arithmetic and `bool` results are
    /// no longer the metric; a filtering comparison keeps the sample as it was, and so does
    /// a trim (what is left is still a histogram of that metric).
    fn drops_name(&self, sample_drops: bool) -> bool {
        sample_drops || !(self.comparison || self.trim.is_some()) || self.return_bool
    }

    fn signature(&self, memo: &mut Memo, l: &Labels) -> u64 {
        signature(memo, self.node, l, self.matching)
    }
}

/// `b` applied to its evaluated operands at `ts`; `node` keys its memoised signatures.
/// Returns the value and the annotation to report, if any (the last one raised, as
/// Prometheus keeps only that one per evaluation).
pub(super) fn binary(
    memo: &mut Memo,
    node: usize,
    b: &BinaryExpr,
    lhs: Value,
    rhs: Value,
    ts: i64,
) -> Result<(Value, Option<Annotation>), QueryError> {
    let o = Operation::of(b, node);
    let mut note = None;
    let value = match (lhs, rhs) {
        (Value::Scalar { v: l, .. }, Value::Scalar { v: r, .. }) => {
            // Comparisons between scalars always give 0 or 1 (the parser demands `bool`).
            let scalars = Operation {
                return_bool: o.comparison,
                ..o
            };
            let v = scalars.apply_floats(l, r, l)?.unwrap_or(0.0);
            Value::Scalar { t: ts, v }
        }
        (Value::Vector(vec), Value::Scalar { v: r, .. }) => {
            Value::Vector(vector_scalar(&o, vec, r, false, &mut note)?)
        }
        (Value::Scalar { v: l, .. }, Value::Vector(vec)) => {
            Value::Vector(vector_scalar(&o, vec, l, true, &mut note)?)
        }
        (Value::Vector(l), Value::Vector(r)) => match o.op.as_str() {
            "and" | "or" | "unless" => Value::Vector(set_op(memo, &o, l, r)),
            _ => Value::Vector(vector_vector(memo, &o, l, r, &mut note)?),
        },
        (l, r) => {
            return Err(exec(format!(
                "binary operator {} is not defined between {} and {}",
                o.op,
                l.type_name(),
                r.type_name()
            )))
        }
    };
    Ok((value, note))
}

/// A copy of `h` changed by `f` (a scaling), compacted as Prometheus compacts products.
fn scaled(h: &FloatHistogram, f: impl FnOnce(&mut FloatHistogram)) -> FloatHistogram {
    let mut x = h.clone();
    f(&mut x);
    x.compact(0);
    x
}

/// `a + b` or `a - b` between histograms, with Prometheus's annotations: the difference is
/// a gauge histogram; a schema mix or a counter-reset collision gives no sample.
fn combine(op: &str, a: &FloatHistogram, b: &FloatHistogram) -> Pair {
    let mut x = a.clone();
    let (res, what) = if op == "+" {
        (x.add(b), "addition")
    } else {
        (x.sub(b), "subtraction")
    };
    match res {
        Err(HistogramMathError::MixedSchemas) => Pair::Drop(Some(Annotation::Warning(format!(
            "incompatible bucket layout encountered for binary operator {op}"
        )))),
        Err(_) => Pair::Drop(None),
        Ok(outcome) if outcome.counter_reset_collision => Pair::Drop(Some(Annotation::Warning(
            format!("conflicting counter resets during histogram {what}"),
        ))),
        Ok(outcome) => {
            if op == "-" {
                x.counter_reset_hint = CounterResetHint::Gauge;
            }
            x.compact(0);
            let info = outcome.custom_bounds_reconciled.then(|| {
                Annotation::Info(format!(
                    "mismatched custom buckets were reconciled during {what}"
                ))
            });
            Pair::Keep(0.0, Some(Box::new(x)), info)
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
    o: &Operation,
    vec: Vec<InstantSample>,
    scalar: f64,
    scalar_left: bool,
    note: &mut Option<Annotation>,
) -> Result<Vec<InstantSample>, QueryError> {
    let mut out = Vec::with_capacity(vec.len());
    for s in vec {
        let own = Operand::of(&s);
        let (l, r) = if scalar_left {
            (Operand::F(scalar), own)
        } else {
            (own, Operand::F(scalar))
        };
        let (v, h) = match o.pair(l, r)? {
            Pair::Drop(n) => {
                if n.is_some() {
                    *note = n;
                }
                continue;
            }
            Pair::False if o.return_bool => (0.0, None),
            Pair::False => continue,
            Pair::Keep(..) if o.return_bool => (1.0, None),
            // A comparison keeps the vector's own value, on either side.
            Pair::Keep(..) if o.comparison => (s.v, s.h),
            Pair::Keep(v, h, n) => {
                if n.is_some() {
                    *note = n;
                }
                (v, h)
            }
        };
        let drop = o.drops_name(s.drop_name);
        out.push(InstantSample {
            labels: s.labels,
            t: s.t,
            v,
            h,
            drop_name: drop,
        });
    }
    Ok(out)
}

/// The labels a sample is matched on: `on(...)` keeps only those, `ignoring(...)` (or no
/// modifier) keeps all but those and the metric name.
fn signature_pairs(l: &Labels, matching: Option<&LabelModifier>) -> Vec<(String, String)> {
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

/// The matching signature as a hash (as Prometheus matches on hashes too).
fn signature(memo: &mut Memo, node: usize, l: &Labels, matching: Option<&LabelModifier>) -> u64 {
    memo.sig(node, l, |l| {
        let pairs = signature_pairs(l, matching);
        crate::model::hash_pairs(pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())))
    })
}

fn set_op(
    memo: &mut Memo,
    o: &Operation,
    l: Vec<InstantSample>,
    r: Vec<InstantSample>,
) -> Vec<InstantSample> {
    let rsigs: HashSet<u64, FxBuild> = r.iter().map(|s| o.signature(memo, &s.labels)).collect();
    match o.op.as_str() {
        "and" => l
            .into_iter()
            .filter(|s| rsigs.contains(&o.signature(memo, &s.labels)))
            .collect(),
        "unless" => l
            .into_iter()
            .filter(|s| !rsigs.contains(&o.signature(memo, &s.labels)))
            .collect(),
        _ => {
            let lsigs: HashSet<u64, FxBuild> =
                l.iter().map(|s| o.signature(memo, &s.labels)).collect();
            let mut out = l;
            out.extend(
                r.into_iter()
                    .filter(|s| !lsigs.contains(&o.signature(memo, &s.labels))),
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
    memo: &mut Memo,
    o: &Operation,
    l: Vec<InstantSample>,
    r: Vec<InstantSample>,
    note: &mut Option<Annotation>,
) -> Result<Vec<InstantSample>, QueryError> {
    let (node, matching, card) = (o.node, o.matching, o.card);
    // group_right swaps the roles: the "one" side is the left.
    let (many, one, swapped) = match card {
        VectorMatchCardinality::OneToMany(_) => (r, l, true),
        _ => (l, r, false),
    };
    let mut one_by_sig: HashMap<u64, usize, FxBuild> =
        HashMap::with_capacity_and_hasher(one.len(), FxBuild::default());
    for (i, s) in one.iter().enumerate() {
        let sig = o.signature(memo, &s.labels);
        if let Some(prev) = one_by_sig.insert(sig, i) {
            let side = if swapped { "left" } else { "right" };
            return Err(exec(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                fmt_sig(&signature_pairs(&s.labels, matching)),
                one[prev].labels,
                s.labels
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
    let mut seen_many: HashSet<u64, FxBuild> = HashSet::default();
    let mut out = Vec::with_capacity(many.len());
    let mut out_labels: HashSet<Labels> = HashSet::with_capacity(many.len());
    for s in many {
        let sig = o.signature(memo, &s.labels);
        let Some(&oi) = one_by_sig.get(&sig) else {
            continue;
        };
        let one_s = &one[oi];
        if one_to_one && !seen_many.insert(sig) {
            let side = if swapped { "right" } else { "left" };
            return Err(exec(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation;many-to-many matching not allowed: matching labels must be unique on one side",
                fmt_sig(&signature_pairs(&s.labels, matching))
            )));
        }
        let (ls, rs) = if swapped { (one_s, &s) } else { (&s, one_s) };
        // A filtering comparison keeps the left side's value (`pair` gives it).
        let (v, h) = match o.pair(Operand::of(ls), Operand::of(rs))? {
            Pair::Drop(n) => {
                if n.is_some() {
                    *note = n;
                }
                continue;
            }
            Pair::False if o.return_bool => (0.0, None),
            Pair::False => continue,
            Pair::Keep(..) if o.return_bool => (1.0, None),
            Pair::Keep(v, h, n) => {
                if n.is_some() {
                    *note = n;
                }
                (v, h)
            }
        };
        // Result labels come from the "many" side (the left one for one-to-one).
        let drop = o.drops_name(s.drop_name);
        let labels = memo.derive2(node, &s.labels, &one_s.labels, |many_l, one_l| {
            let mut labels: Vec<Label> = many_l.iter().cloned().collect();
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
                if let Some(v) = one_l.get(name) {
                    labels.push(Label {
                        name: name.as_str().into(),
                        value: v.into(),
                    });
                }
            }
            Labels::from_pairs(labels.iter().map(|x| (x.name.as_ref(), x.value.as_ref())))
        });
        let reported = if drop {
            memo.derive_interned(DROP_NAME, &labels, |l| l.without(METRIC_NAME))
        } else {
            labels.clone()
        };
        if !out_labels.insert(reported) {
            return Err(exec("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"));
        }
        out.push(InstantSample {
            labels,
            t: s.t,
            v,
            h,
            drop_name: drop,
        });
    }
    Ok(out)
}
