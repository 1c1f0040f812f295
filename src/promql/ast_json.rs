//! The parsed PromQL tree as JSON, in the shape Prometheus's `/api/v1/parse_query` gives it
//! (its tree view for the UI): each node an object tagged by `type`, durations and offsets in
//! milliseconds, selectors with their full matcher list (the metric name first, as an `=`
//! matcher), number literals as decimal strings. Keys come out sorted, as Go marshals maps.
//!
//! Fields for features our parser does not have (anchored and smoothed selectors, fill values,
//! aligned subqueries) are present with their off values, so clients see one shape.
//!
//! Uses `value` (`format_float`), `parse_trim` (trim operators shown as written) and the
//! parser's tree only.

use std::time::UNIX_EPOCH;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::token::{T_LAND, T_LOR, T_LUNLESS};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    AtModifier, Expr, LabelModifier, Offset, VectorMatchCardinality, VectorSelector,
};
use serde_json::{json, Value};

use super::parse_trim::{trim_of, unmarked};
use super::value::format_float;

/// The JSON tree of `e`.
pub fn translate(e: &Expr) -> Value {
    match e {
        Expr::Aggregate(a) => {
            let (grouping, without) = match &a.modifier {
                Some(LabelModifier::Include(l)) => (l.labels.clone(), false),
                Some(LabelModifier::Exclude(l)) => (l.labels.clone(), true),
                None => (Vec::new(), false),
            };
            json!({
                "type": "aggregation",
                "op": a.op.to_string(),
                "expr": translate(&a.expr),
                "param": a.param.as_deref().map_or(Value::Null, translate),
                "grouping": grouping,
                "without": without,
            })
        }
        Expr::Binary(b) => {
            let vectors =
                b.lhs.value_type() == ValueType::Vector && b.rhs.value_type() == ValueType::Vector;
            let set_op = matches!(b.op.id(), T_LAND | T_LOR | T_LUNLESS);
            let matching = match (&b.modifier, vectors) {
                (_, false) => Value::Null,
                (m, true) => {
                    let (card, include) = match m.as_ref().map(|m| &m.card) {
                        _ if set_op => ("many-to-many", Vec::new()),
                        Some(VectorMatchCardinality::ManyToOne(l)) => {
                            ("many-to-one", l.labels.clone())
                        }
                        Some(VectorMatchCardinality::OneToMany(l)) => {
                            ("one-to-many", l.labels.clone())
                        }
                        Some(VectorMatchCardinality::ManyToMany) => ("many-to-many", Vec::new()),
                        Some(VectorMatchCardinality::OneToOne) | None => ("one-to-one", Vec::new()),
                    };
                    // Without the marker label of a trim operator.
                    let (labels, on) = match m.as_ref().and_then(|m| m.matching.as_ref()) {
                        Some(l @ LabelModifier::Include(_)) => (unmarked(l), true),
                        Some(l @ LabelModifier::Exclude(_)) => (unmarked(l), false),
                        None => (Vec::new(), false),
                    };
                    let fill = m.as_ref().map(|m| &m.fill_values);
                    json!({
                        "card": card,
                        "labels": labels,
                        "on": on,
                        "include": include,
                        "fillValues": {
                            "lhs": fill.and_then(|f| f.lhs),
                            "rhs": fill.and_then(|f| f.rhs),
                        },
                    })
                }
            };
            json!({
                "type": "binaryExpr",
                "op": trim_of(b).map_or_else(|| b.op.to_string(), |t| t.symbol().to_string()),
                "lhs": translate(&b.lhs),
                "rhs": translate(&b.rhs),
                "matching": matching,
                "bool": b.modifier.as_ref().is_some_and(|m| m.return_bool),
            })
        }
        Expr::Call(c) => json!({
            "type": "call",
            "func": {
                "name": c.func.name,
                "argTypes": c.func.arg_types.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                "variadic": c.func.variadic,
                "returnType": c.func.return_type.to_string(),
            },
            "args": c.args.args.iter().map(|a| translate(a)).collect::<Vec<_>>(),
        }),
        Expr::MatrixSelector(m) => {
            let mut v = selector(&m.vs, "matrixSelector");
            v["range"] = json!(m.range.as_millis() as i64);
            v
        }
        Expr::Subquery(s) => {
            let (timestamp, start_or_end) = at(&s.at);
            json!({
                "type": "subquery",
                "expr": translate(&s.expr),
                "range": s.range.as_millis() as i64,
                "offset": offset(&s.offset),
                "step": s.step.map_or(0, |d| d.as_millis() as i64),
                "timestamp": timestamp,
                "startOrEnd": start_or_end,
                "alignEvalTime": false,
            })
        }
        Expr::NumberLiteral(n) => json!({"type": "numberLiteral", "val": format_float(n.val)}),
        Expr::Paren(p) => json!({"type": "parenExpr", "expr": translate(&p.expr)}),
        Expr::StringLiteral(s) => json!({"type": "stringLiteral", "val": s.val}),
        Expr::Unary(u) => json!({"type": "unaryExpr", "op": "-", "expr": translate(&u.expr)}),
        Expr::VectorSelector(vs) => selector(vs, "vectorSelector"),
        // The parser never produces extension nodes.
        Expr::Extension(_) => Value::Null,
    }
}

fn selector(vs: &VectorSelector, kind: &str) -> Value {
    let name = vs.name.clone().unwrap_or_default();
    let mut matchers: Vec<Value> = Vec::new();
    let named_inside = vs
        .matchers
        .matchers
        .iter()
        .any(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal) && m.value == name);
    if !name.is_empty() && !named_inside {
        matchers.push(json!({"type": "=", "name": "__name__", "value": name}));
    }
    matchers.extend(vs.matchers.matchers.iter().map(matcher));
    let (timestamp, start_or_end) = at(&vs.at);
    json!({
        "type": kind,
        "name": name,
        "offset": offset(&vs.offset),
        "matchers": matchers,
        "timestamp": timestamp,
        "startOrEnd": start_or_end,
        "anchored": false,
        "smoothed": false,
    })
}

fn matcher(m: &Matcher) -> Value {
    let op = match m.op {
        MatchOp::Equal => "=",
        MatchOp::NotEqual => "!=",
        MatchOp::Re(_) => "=~",
        MatchOp::NotRe(_) => "!~",
    };
    json!({"type": op, "name": m.name, "value": m.value})
}

fn offset(o: &Option<Offset>) -> i64 {
    match o {
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
        None => 0,
    }
}

/// (`timestamp` in ms or null, `startOrEnd` or null).
fn at(a: &Option<AtModifier>) -> (Value, Value) {
    match a {
        None => (Value::Null, Value::Null),
        Some(AtModifier::Start) => (Value::Null, json!("start")),
        Some(AtModifier::End) => (Value::Null, json!("end")),
        Some(AtModifier::At(t)) => {
            let ms = match t.duration_since(UNIX_EPOCH) {
                Ok(d) => d.as_millis() as i64,
                Err(e) => -(e.duration().as_millis() as i64),
            };
            (json!(ms), Value::Null)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(q: &str) -> Value {
        translate(&crate::promql::parse::parse(q).unwrap())
    }

    #[test]
    fn selectors_carry_the_name_matcher_first_and_times_in_ms() {
        let v = tree(r#"rate(http_requests_total{job=~"api|web",code!="500"}[5m] offset 1m)"#);
        assert_eq!(v["type"], "call");
        assert_eq!(
            v["func"],
            json!({"name": "rate", "argTypes": ["matrix"], "variadic": 0, "returnType": "vector"})
        );
        let m = &v["args"][0];
        assert_eq!(m["type"], "matrixSelector");
        assert_eq!(m["name"], "http_requests_total");
        assert_eq!(m["range"], 300_000);
        assert_eq!(m["offset"], 60_000);
        assert_eq!(m["timestamp"], Value::Null);
        assert_eq!(
            m["matchers"],
            json!([
                {"type": "=", "name": "__name__", "value": "http_requests_total"},
                {"type": "=~", "name": "job", "value": "api|web"},
                {"type": "!=", "name": "code", "value": "500"},
            ])
        );
        let v = tree(r#"{__name__="up"} @ 1700000000.5"#);
        assert_eq!(v["name"], "");
        assert_eq!(v["matchers"].as_array().unwrap().len(), 1);
        assert_eq!(v["timestamp"], 1_700_000_000_500i64);
        let v = tree("up @ end() offset -5m");
        assert_eq!(
            (&v["startOrEnd"], &v["offset"]),
            (&json!("end"), &json!(-300_000))
        );
    }

    #[test]
    fn binary_matching_is_null_with_a_scalar_side() {
        let v = tree("sum by (a) (x) / on (a) group_left (b) y");
        assert_eq!(v["op"], "/");
        assert_eq!(v["bool"], false);
        assert_eq!(
            v["matching"],
            json!({"card": "many-to-one", "labels": ["a"], "on": true, "include": ["b"],
                   "fillValues": {"lhs": null, "rhs": null}})
        );
        assert_eq!(v["lhs"]["type"], "aggregation");
        assert_eq!(v["lhs"]["grouping"], json!(["a"]));
        assert_eq!(v["lhs"]["param"], Value::Null);
        let v = tree("x > bool 2");
        assert_eq!((&v["matching"], &v["bool"]), (&Value::Null, &json!(true)));
        assert_eq!(v["rhs"], json!({"type": "numberLiteral", "val": "2"}));
        let v = tree("x and ignoring (c) y");
        assert_eq!(v["matching"]["card"], "many-to-many");
        assert_eq!(v["matching"]["on"], false);
        assert_eq!(v["matching"]["labels"], json!(["c"]));
        assert_eq!(tree("x + y")["matching"]["card"], "one-to-one");
    }

    #[test]
    fn trim_operators_show_as_written() {
        let v = tree("h </ 5");
        assert_eq!((&v["op"], &v["matching"]), (&json!("</"), &Value::Null));
        let v = tree("h >/ on (a) f");
        assert_eq!(v["op"], ">/");
        assert_eq!(v["matching"]["labels"], json!(["a"]));
        assert_eq!(v["matching"]["on"], true);
        let v = tree("h >/ f");
        assert_eq!(v["matching"]["labels"], json!([]));
        assert_eq!(v["matching"]["on"], false);
        assert_eq!(tree("h atan2 f")["op"], "atan2");
    }

    #[test]
    fn literals_subqueries_and_parameters() {
        let v = tree(r#"topk without (i) (3, -x)"#);
        assert_eq!(v["op"], "topk");
        assert_eq!(v["without"], true);
        assert_eq!(v["param"]["val"], "3");
        assert_eq!(v["expr"]["type"], "unaryExpr");
        let v = tree(r#"count_values("v", x)"#);
        assert_eq!(v["param"], json!({"type": "stringLiteral", "val": "v"}));
        let v = tree("max_over_time((x)[1h:30s] @ start())");
        let s = &v["args"][0];
        assert_eq!(s["type"], "subquery");
        assert_eq!(
            (&s["range"], &s["step"]),
            (&json!(3_600_000), &json!(30_000))
        );
        assert_eq!(s["startOrEnd"], "start");
        assert_eq!(s["expr"]["type"], "parenExpr");
        assert_eq!(tree("x[5m:]")["step"], 0);
        assert_eq!(tree("1e21")["val"], "1000000000000000000000");
        assert_eq!(tree("0.000001")["val"], "0.000001");
        assert_eq!(tree("Inf")["val"], "+Inf");
        let v = tree("round(x, 5)");
        assert_eq!(v["func"]["argTypes"], json!(["vector", "scalar"]));
        assert_eq!(v["func"]["variadic"], 1);
    }

    #[test]
    fn keys_are_sorted_as_go_marshals_maps() {
        let s = serde_json::to_string(&tree("up")).unwrap();
        assert_eq!(
            s,
            r#"{"anchored":false,"matchers":[{"name":"__name__","type":"=","value":"up"}],"name":"up","offset":0,"smoothed":false,"startOrEnd":null,"timestamp":null,"type":"vectorSelector"}"#
        );
    }
}
