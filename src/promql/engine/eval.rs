//! Evaluating an expression at one time (`Eval::eval`): literals, parentheses, unary minus
//! (histograms too: every count and the sum negated, as Prometheus 3 does), selectors, and
//! handing binary operators, aggregations and function calls to their files with the checks
//! Prometheus makes on aggregation parameters (`limit_ratio`, `quantile`). The annotations
//! operators and aggregations raise are given their position here: a binary operator's at
//! the start of the whole expression, an aggregation's at its operand (`topk`/`bottomk`: at
//! the aggregation).
//!
//! Uses every other file of `engine/` except the root, and `aggregate`, `value` from below.

use promql_parser::parser::{AggregateExpr, Expr};

use super::binary::binary;
use super::state::{key, start_needle, Eval};
use crate::model::{is_valid_label_name, CounterResetHint, NameValidation};
use crate::promql::aggregate::{self, NoteAt};
use crate::promql::value::{exec, format_float, InstantSample, QueryError, Value};

impl Eval<'_> {
    pub(super) fn eval(&mut self, e: &Expr, ts: i64) -> Result<Value, QueryError> {
        match e {
            Expr::NumberLiteral(n) => Ok(Value::Scalar { t: ts, v: n.val }),
            Expr::StringLiteral(s) => Ok(Value::String {
                t: ts,
                v: s.val.clone(),
            }),
            Expr::Paren(p) => self.eval(&p.expr, ts),
            Expr::Unary(u) => match self.eval(&u.expr, ts)? {
                Value::Scalar { t, v } => Ok(Value::Scalar { t, v: -v }),
                // Each sample keeps its own time; the result is no longer the metric.
                Value::Vector(vec) => Ok(Value::Vector(
                    vec.into_iter()
                        .map(|s| {
                            // A negated histogram is a gauge histogram.
                            let h = s.h.map(|mut h| {
                                h.mul(-1.0);
                                h.counter_reset_hint = CounterResetHint::Gauge;
                                h
                            });
                            InstantSample {
                                v: -s.v,
                                h,
                                drop_name: true,
                                ..s
                            }
                        })
                        .collect(),
                )),
                other => Err(exec(format!(
                    "unary minus is not defined on {}",
                    other.type_name()
                ))),
            },
            Expr::VectorSelector(vs) => Ok(Value::Vector(self.instant_selector(vs, ts, false))),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => {
                Ok(Value::Matrix(self.range_arg(e, ts)?.into_series()))
            }
            Expr::Binary(b) => {
                let lhs = self.eval(&b.lhs, ts)?;
                let rhs = self.eval(&b.rhs, ts)?;
                let (value, note) = binary(&mut self.memo, key(b), b, lhs, rhs, ts)?;
                if let Some(note) = note {
                    self.annotate(note, &start_needle(e));
                }
                Ok(value)
            }
            Expr::Call(c) => self.call(c, ts),
            Expr::Aggregate(a) => self.aggregation(a, ts),
            Expr::Extension(_) => Err(exec("unsupported expression")),
        }
    }

    fn aggregation(&mut self, a: &AggregateExpr, ts: i64) -> Result<Value, QueryError> {
        if let Some(v) = self.pre.get(&key(a)).and_then(|p| p.at(ts)) {
            return Ok(Value::Vector(v));
        }
        let op = a.op.to_string();
        let mut param = match &a.param {
            Some(p) => Some(self.eval(p, ts)?),
            None => None,
        };
        if let (true, Some(Value::Scalar { v, .. }), Some(p)) =
            (op == "limit_ratio", &mut param, &a.param)
        {
            if v.is_nan() {
                return Err(exec("Ratio value is NaN"));
            }
            if !(-1.0..=1.0).contains(v) {
                let capped = v.clamp(-1.0, 1.0);
                self.warn(
                    format!(
                        "ratio value should be between -1 and 1, got {}, capping to {}",
                        format_float(*v),
                        format_float(capped)
                    ),
                    &p.to_string(),
                );
                *v = capped;
            }
        }
        if let (true, Some(Value::String { v, .. })) = (op == "count_values", &param) {
            if !is_valid_label_name(v, NameValidation::Legacy) {
                let from_bytes = self.query_text().contains("\\x");
                return Err(exec(aggregate::invalid_label_name(v, from_bytes)));
            }
        }
        if let (true, Some(Value::Scalar { v, .. })) = (op == "quantile", &param) {
            self.check_quantile(*v, "quantile");
        }
        let Value::Vector(input) = self.eval(&a.expr, ts)? else {
            return Err(exec("aggregation needs an instant vector"));
        };
        self.check_dropped_duplicates(&input)?;
        let mut notes = Vec::new();
        let out = aggregate::aggregate(
            &mut self.memo,
            key(a),
            &op,
            param,
            input,
            a.modifier.as_ref(),
            ts,
            &mut notes,
        );
        for (note, at) in notes {
            let needle = match at {
                NoteAt::Operand => start_needle(&a.expr),
                NoteAt::Aggregation => op.clone(),
            };
            self.annotate(note, &needle);
        }
        out.map(Value::Vector)
    }
}
