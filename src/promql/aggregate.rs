//! Aggregation operators: sum, avg, count, group, min, max, stddev, stdvar, quantile, topk,
//! bottomk, count_values and limitk, with `by` and `without`. Groups are reported in the order
//! they first appear. Follows Prometheus's `aggregation` in promql/engine.go in our own words.
//!
//! Uses `value`, `functions`, `memo` and `model`.

use std::collections::HashMap;

use promql_parser::parser::LabelModifier;

use super::functions::{kahan_mean, kahan_sum, quantile, variance};
use super::memo::{FxBuild, Memo};
use super::value::{exec, format_float, InstantSample, QueryError, Value};
use crate::model::{is_valid_label_name, labels_hash, Labels, NameValidation, METRIC_NAME};

/// The labels a sample contributes to its group.
pub(super) fn group_labels(l: &Labels, modifier: Option<&LabelModifier>) -> Labels {
    match modifier {
        None => Labels::default(),
        Some(LabelModifier::Include(names)) => Labels::from_pairs(
            names
                .labels
                .iter()
                .filter_map(|n| l.get(n).map(|v| (n.as_str(), v))),
        ),
        Some(LabelModifier::Exclude(names)) => Labels::from_pairs(
            l.iter()
                .filter(|x| {
                    x.name.as_ref() != METRIC_NAME
                        && !names.labels.iter().any(|n| n == x.name.as_ref())
                })
                .map(|x| (x.name.as_ref(), x.value.as_ref())),
        ),
    }
}

fn k_param(param: &Option<Value>) -> Result<i64, QueryError> {
    match param {
        Some(Value::Scalar { v, .. }) => {
            if v.is_nan() {
                Err(exec("Parameter value is NaN"))
            } else {
                Ok(v.clamp(i64::MIN as f64, i64::MAX as f64) as i64)
            }
        }
        _ => Err(exec("aggregation needs a scalar parameter")),
    }
}

/// Orders floats with NaN below everything (for topk) or above (for bottomk).
fn better(a: f64, b: f64, top: bool) -> bool {
    match (a.is_nan(), b.is_nan()) {
        (true, _) => false,
        (false, true) => true,
        _ => {
            if top {
                a > b
            } else {
                a < b
            }
        }
    }
}

/// Whether `limit_ratio(ratio, ...)` keeps the series `labels`: its label hash scaled to
/// [0, 1) falls below `ratio`, or for a negative ratio at or above `1 + ratio`, so that
/// `limit_ratio(r)` and `limit_ratio(r - 1)` split a vector in two (as Prometheus does).
fn ratio_sampled(labels: &Labels, ratio: f64) -> bool {
    let offset = labels_hash(labels) as f64 / u64::MAX as f64;
    (ratio >= 0.0 && offset < ratio) || (ratio < 0.0 && offset >= 1.0 + ratio)
}

#[allow(clippy::too_many_arguments)]
pub fn aggregate(
    memo: &mut Memo,
    node: usize,
    op: &str,
    param: Option<Value>,
    input: Vec<InstantSample>,
    modifier: Option<&LabelModifier>,
    ts: i64,
) -> Result<Vec<InstantSample>, QueryError> {
    // Groups in order of first appearance, found by the identity of their interned labels.
    let mut order: Vec<Labels> = Vec::new();
    let mut index: HashMap<usize, usize, FxBuild> = HashMap::default();
    let mut members: Vec<Vec<InstantSample>> = Vec::new();
    let count_label = if op == "count_values" {
        let Some(Value::String { v, .. }) = &param else {
            return Err(exec("count_values needs a string parameter"));
        };
        if !is_valid_label_name(v, NameValidation::Legacy) {
            return Err(exec(format!("invalid label name {v:?}")));
        }
        Some(v.clone())
    } else {
        None
    };
    for s in input {
        let mut g = memo.derive_interned(node, &s.labels, |l| group_labels(l, modifier));
        if let Some(label) = &count_label {
            let mut pairs: Vec<(String, String)> = g
                .iter()
                .map(|x| (x.name.to_string(), x.value.to_string()))
                .collect();
            pairs.retain(|(n, _)| n != label);
            pairs.push((label.clone(), format_float(s.v)));
            g = memo.intern(Labels::from_pairs(pairs));
        }
        let i = *index.entry(g.id()).or_insert_with(|| {
            order.push(g.clone());
            members.push(Vec::new());
            members.len() - 1
        });
        members[i].push(s);
    }
    let mut groups: HashMap<usize, Vec<InstantSample>, FxBuild> = HashMap::default();
    for (g, m) in order.iter().zip(members) {
        groups.insert(g.id(), m);
    }
    let mut out = Vec::new();
    // With delayed name removal a group drops the metric name if any member is to drop it.
    let one = |labels: Labels, v: f64, drop: bool| InstantSample::new(labels, ts, v, drop);
    match op {
        "limit_ratio" => {
            let Some(Value::Scalar { v: ratio, .. }) = param else {
                return Err(exec("limit_ratio needs a scalar parameter"));
            };
            for g in order {
                let members = groups.remove(&g.id()).unwrap_or_default();
                out.extend(
                    members
                        .into_iter()
                        .filter(|s| ratio_sampled(&s.final_labels(), ratio))
                        .map(|s| InstantSample { t: ts, ..s }),
                );
            }
            return Ok(out);
        }
        "topk" | "bottomk" | "limitk" => {
            let k = k_param(&param)?;
            if k < 1 {
                return Ok(out);
            }
            let k = k as usize;
            for g in order {
                let mut members = groups.remove(&g.id()).unwrap_or_default();
                if op != "limitk" {
                    let top = op == "topk";
                    members.sort_by(|a, b| {
                        if better(a.v, b.v, top) {
                            std::cmp::Ordering::Less
                        } else if better(b.v, a.v, top) {
                            std::cmp::Ordering::Greater
                        } else {
                            std::cmp::Ordering::Equal
                        }
                    });
                }
                members.truncate(k);
                out.extend(members.into_iter().map(|s| InstantSample { t: ts, ..s }));
            }
            return Ok(out);
        }
        _ => {}
    }
    let q = match (op, &param) {
        ("quantile", Some(Value::Scalar { v, .. })) => *v,
        ("quantile", _) => return Err(exec("quantile needs a scalar parameter")),
        _ => 0.0,
    };
    for g in order {
        let members = groups.remove(&g.id()).unwrap_or_default();
        let drop = members.iter().any(|s| s.drop_name);
        let mut vals: Vec<f64> = members.iter().map(|s| s.v).collect();
        let v = match op {
            "sum" => kahan_sum(vals.iter().copied()),
            "avg" => kahan_mean(&vals),
            "count" | "count_values" => vals.len() as f64,
            "group" => 1.0,
            "min" => vals
                .iter()
                .skip(1)
                .fold(vals[0], |m, &x| if m > x || m.is_nan() { x } else { m }),
            "max" => vals
                .iter()
                .skip(1)
                .fold(vals[0], |m, &x| if m < x || m.is_nan() { x } else { m }),
            "stdvar" => variance(&vals),
            "stddev" => variance(&vals).sqrt(),
            "quantile" => quantile(q, &mut vals),
            other => return Err(exec(format!("aggregation {other} is not supported yet"))),
        };
        out.push(one(g, v, drop));
    }
    Ok(out)
}
