//! Evaluating an expression at one time (`Eval::eval`): literals, parentheses, unary minus,
//! selectors, and handing binary operators, aggregations and function calls to their files
//! with the checks Prometheus makes on aggregation parameters (`limit_ratio`, `quantile`).
//!
//! Uses every other file of `engine/` except the root, and `aggregate`, `value` from below.

use promql_parser::parser::{AggregateExpr, Expr};

use super::binary::binary;
use super::state::{key, Eval};
use crate::promql::aggregate;
use crate::promql::value::{exec, floats_only, format_float, QueryError, Value};

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
                // Each sample keeps its own time.
                // (histogram samples are left out until part 2 negates them)
                Value::Vector(vec) => Ok(Value::Vector(
                    vec.into_iter()
                        .filter_map(|s| {
                            let t = s.t;
                            s.map_value(t, |v| -v)
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
                binary(&mut self.memo, key(b), b, lhs, rhs, ts)
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
        if let (true, Some(Value::Scalar { v, .. })) = (op == "quantile", &param) {
            self.check_quantile(*v, "quantile");
        }
        let Value::Vector(input) = self.eval(&a.expr, ts)? else {
            return Err(exec("aggregation needs an instant vector"));
        };
        // Aggregations compute with float samples only, for now.
        let input = floats_only(input);
        aggregate::aggregate(
            &mut self.memo,
            key(a),
            &op,
            param,
            input,
            a.modifier.as_ref(),
            ts,
        )
        .map(Value::Vector)
    }
}
