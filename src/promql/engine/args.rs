//! Evaluating a function's (or an operator's) arguments to the type it needs: a range vector
//! (`range_arg`: a range selector's window, a subquery, or a matrix-valued expression), an
//! instant vector, a scalar or a string, with the error Prometheus gives for the wrong type.
//! `Args` finds a call's argument expressions by position.
//!
//! Uses `state`, `selection` (`RangeArg`), `subquery`, and `value` from below; each argument
//! is evaluated through `Eval::eval` (the recursion of evaluation).

use promql_parser::parser::{Call, Expr};

use super::selection::{RangeArg, Windows};
use super::state::{unwrap_parens, Eval};
use crate::promql::value::{exec, InstantSample, QueryError, Value};

/// A call's name and argument expressions.
pub(super) struct Args<'c> {
    pub(super) name: &'static str,
    exprs: Vec<&'c Expr>,
}

impl<'c> Args<'c> {
    pub(super) fn of(c: &'c Call) -> Self {
        Args {
            name: c.func.name,
            exprs: c.args.args.iter().map(|a| a.as_ref()).collect(),
        }
    }

    /// The `i`th argument (from 0), or an error naming the function.
    pub(super) fn get(&self, i: usize) -> Result<&'c Expr, QueryError> {
        self.exprs
            .get(i)
            .copied()
            .ok_or_else(|| exec(format!("{}: missing argument {}", self.name, i + 1)))
    }

    /// The `i`th argument if given.
    pub(super) fn opt(&self, i: usize) -> Option<&'c Expr> {
        self.exprs.get(i).copied()
    }

    /// The arguments from the `i`th on (variadic functions).
    pub(super) fn rest(&self, i: usize) -> &[&'c Expr] {
        &self.exprs[i.min(self.exprs.len())..]
    }
}

impl Eval<'_> {
    /// A range vector argument (selector or subquery) at `ts`.
    pub(super) fn range_arg(&mut self, e: &Expr, ts: i64) -> Result<RangeArg, QueryError> {
        match unwrap_parens(e) {
            Expr::MatrixSelector(ms) => self.matrix_window(ms, ts),
            Expr::Subquery(sq) => self.subquery(sq, ts),
            other => match self.eval(other, ts)? {
                Value::Matrix(series) => Ok(RangeArg {
                    series: Windows::Owned(series),
                    start: ts,
                    end: ts,
                    range_s: 0.0,
                    selector: None,
                }),
                v => Err(exec(format!(
                    "expected a range vector, got {}",
                    v.type_name()
                ))),
            },
        }
    }

    pub(super) fn scalar_arg(&mut self, e: &Expr, ts: i64) -> Result<f64, QueryError> {
        match self.eval(e, ts)? {
            Value::Scalar { v, .. } => Ok(v),
            v => Err(exec(format!(
                "expected a scalar argument, got {}",
                v.type_name()
            ))),
        }
    }

    pub(super) fn vector_arg(
        &mut self,
        e: &Expr,
        ts: i64,
    ) -> Result<Vec<InstantSample>, QueryError> {
        match self.eval(e, ts)? {
            Value::Vector(v) => Ok(v),
            v => Err(exec(format!(
                "expected an instant vector argument, got {}",
                v.type_name()
            ))),
        }
    }

    pub(super) fn string_arg(&mut self, e: &Expr, ts: i64) -> Result<String, QueryError> {
        match self.eval(e, ts)? {
            Value::String { v, .. } => Ok(v),
            v => Err(exec(format!(
                "expected a string argument, got {}",
                v.type_name()
            ))),
        }
    }
}
