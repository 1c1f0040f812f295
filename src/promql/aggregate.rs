//! Aggregation operators: sum, avg, count, group, min, max, stddev, stdvar, quantile, topk,
//! bottomk, count_values, limitk and limit_ratio, with `by` and `without`. Groups are
//! reported in the order they first appear. Follows Prometheus 3's `aggregation`,
//! `aggregationK` and `aggregationCountValues` (promql/engine.go) in our own words.
//!
//! Native histograms: `sum` and `avg` compute with them (compensated, `histogram_sum`); a
//! group mixing floats and histograms gives no result and the warning "encountered a mix of
//! histograms and floats for aggregation", a group mixing exponential and custom-bucket
//! histograms none either (with Prometheus's warning naming the metric); reconciled custom
//! bounds give an info, a group holding both a "reset" and a "not reset" hint the
//! counter-reset collision warning. `count` and `group` count histograms like floats,
//! `count_values` labels them with their text form, `limitk` and `limit_ratio` pass them
//! through; `min`, `max`, `stddev`, `stdvar`, `quantile`, `topk` and `bottomk` ignore them
//! with the info "ignored histogram in <op> aggregation" (a group of histograms only gives
//! no result). Annotations are returned with where they point (`Noted`).
//!
//! Uses `value`, `histogram_sum`, `functions`, `memo` and `model`.

use std::collections::HashMap;

use promql_parser::parser::LabelModifier;

use super::functions::{kahan_mean, kahan_sum, quantile, variance};
use super::histogram_sum::{HistogramMean, HistogramSum};
use super::memo::{FxBuild, Memo};
use super::value::{
    exec, format_float, format_histogram, Annotation, InstantSample, QueryError, Value,
};
use crate::model::{
    is_valid_label_name, labels_hash, CounterResetHint, FloatHistogram, HistogramMathError, Labels,
    NameValidation, METRIC_NAME,
};

/// Where an aggregation's annotation points: at the aggregated expression (Prometheus's
/// `e.Expr` position, most of them) or at the aggregation itself (`topk`, `bottomk`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteAt {
    Operand,
    Aggregation,
}

/// An annotation with where it points.
pub type Noted = (Annotation, NoteAt);

fn ignored(op: &str, at: NoteAt) -> Noted {
    (
        Annotation::Info(format!("ignored histogram in {op} aggregation")),
        at,
    )
}

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

/// The error for an invalid `count_values` label name, quoted as Go's `%q` quotes it. With
/// `from_bytes` (the query wrote the name with `\xNN` escapes, which the parser decodes as
/// characters U+0000–U+00FF) the characters are taken back as the bytes they were, so
/// invalid UTF-8 shows as `\xNN` as in Prometheus's `invalid label name "a\xc5z"`.
pub fn invalid_label_name(name: &str, from_bytes: bool) -> String {
    let bytes: Vec<u8> = if from_bytes && name.chars().all(|c| (c as u32) <= 0xff) {
        name.chars().map(|c| c as u32 as u8).collect()
    } else {
        name.as_bytes().to_vec()
    };
    let mut out = String::from("invalid label name \"");
    let push = |out: &mut String, s: &str| {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c => out.push(c),
            }
        }
    };
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                push(&mut out, s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                push(&mut out, std::str::from_utf8(good).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len());
                for b in &bad[..n] {
                    out.push_str(&format!("\\x{b:02x}"));
                }
                rest = &bad[n..];
            }
        }
    }
    out.push('"');
    out
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

/// `op` over `input` at `ts`, grouped by `modifier`; annotations go to `notes`.
#[allow(clippy::too_many_arguments)]
pub fn aggregate(
    memo: &mut Memo,
    node: usize,
    op: &str,
    param: Option<Value>,
    input: Vec<InstantSample>,
    modifier: Option<&LabelModifier>,
    ts: i64,
    notes: &mut Vec<Noted>,
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
            return Err(exec(invalid_label_name(v, false)));
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
            let text = match &s.h {
                Some(h) => format_histogram(h),
                None => format_float(s.v),
            };
            pairs.push((label.clone(), text));
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
                    // Histograms have no order: they are left out, with an info.
                    if members.iter().any(|s| s.h.is_some()) {
                        notes.push(ignored(op, NoteAt::Aggregation));
                        members.retain(|s| s.h.is_none());
                    }
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
        // With delayed name removal a group drops the metric name if any member is to drop it.
        let drop = members.iter().any(|s| s.drop_name);
        let one = |v: f64| InstantSample::new(g.clone(), ts, v, drop);
        match op {
            "sum" | "avg" => {
                if let Some(s) = sum_or_avg(op == "avg", &members, notes) {
                    out.push(match s {
                        Combined::Float(v) => one(v),
                        Combined::Histogram(h) => InstantSample::histogram(g.clone(), ts, h, drop),
                    });
                }
                continue;
            }
            "count" | "count_values" => {
                out.push(one(members.len() as f64));
                continue;
            }
            "group" => {
                out.push(one(1.0));
                continue;
            }
            _ => {}
        }
        // The rest compute with floats only.
        let mut vals: Vec<f64> = members
            .iter()
            .filter(|s| s.h.is_none())
            .map(|s| s.v)
            .collect();
        if vals.len() < members.len() {
            notes.push(ignored(op, NoteAt::Operand));
        }
        if vals.is_empty() {
            continue;
        }
        let v = match op {
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
        out.push(one(v));
    }
    Ok(out)
}

/// A `sum` or `avg` result.
enum Combined {
    Float(f64),
    Histogram(FloatHistogram),
}

/// The histogram side of a `sum`/`avg` group.
enum HistogramAcc {
    Sum(HistogramSum),
    Mean(HistogramMean),
}

/// `sum` or `avg` of one group's members (in input order), as Prometheus computes it: floats
/// with compensated sums, histograms with compensated histogram sums; `None` (with a warning)
/// for a group mixing the two or mixing exponential and custom-bucket histograms.
fn sum_or_avg(avg: bool, members: &[InstantSample], notes: &mut Vec<Noted>) -> Option<Combined> {
    let mut floats: Vec<f64> = Vec::new();
    let mut acc: Option<HistogramAcc> = None;
    let (mut has_histogram, mut incompatible) = (false, false);
    let (mut reset_seen, mut not_reset_seen) = (false, false);
    for (i, s) in members.iter().enumerate() {
        if incompatible {
            break;
        }
        let Some(h) = &s.h else {
            floats.push(s.v);
            if let Some(HistogramAcc::Mean(m)) = &mut acc {
                m.count_other();
            }
            continue;
        };
        has_histogram = true;
        // Only a group that started with a histogram sums histograms (one that started
        // with a float is lost anyway).
        if i == 0 {
            acc = Some(if avg {
                HistogramAcc::Mean(HistogramMean::new(h))
            } else {
                HistogramAcc::Sum(HistogramSum::new(h))
            });
        } else {
            let Some(a) = &mut acc else {
                continue;
            };
            let pushed = match a {
                HistogramAcc::Sum(x) => x.push(h),
                HistogramAcc::Mean(x) => x.push(h),
            };
            match pushed {
                Ok(o) if o.custom_bounds_reconciled => notes.push((
                    Annotation::Info(
                        "mismatched custom buckets were reconciled during aggregation".into(),
                    ),
                    NoteAt::Operand,
                )),
                Ok(_) => {}
                Err(e) => {
                    if e == HistogramMathError::MixedSchemas {
                        let name = s.labels.get(METRIC_NAME).unwrap_or_default();
                        notes.push((
                            Annotation::Warning(format!(
                                "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {name:?}"
                            )),
                            NoteAt::Operand,
                        ));
                    }
                    incompatible = true;
                    continue;
                }
            }
        }
        match h.counter_reset_hint {
            CounterResetHint::CounterReset => reset_seen = true,
            CounterResetHint::NotCounterReset => not_reset_seen = true,
            _ => {}
        }
    }
    if has_histogram && !floats.is_empty() {
        notes.push((
            Annotation::Warning(
                "encountered a mix of histograms and floats for aggregation".into(),
            ),
            NoteAt::Operand,
        ));
        return None;
    }
    if incompatible {
        return None;
    }
    if reset_seen && not_reset_seen {
        notes.push((
            Annotation::Warning("conflicting counter resets during histogram aggregation".into()),
            NoteAt::Operand,
        ));
    }
    Some(match acc {
        Some(HistogramAcc::Sum(x)) => Combined::Histogram(x.result()),
        Some(HistogramAcc::Mean(x)) => Combined::Histogram(x.result()),
        None if avg => Combined::Float(kahan_mean(&floats)),
        None => Combined::Float(kahan_sum(floats.iter().copied())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Span;

    fn hist(count: f64, hint: CounterResetHint) -> FloatHistogram {
        FloatHistogram {
            counter_reset_hint: hint,
            count,
            sum: count,
            positive_spans: vec![Span {
                offset: 0,
                length: 1,
            }],
            positive_buckets: vec![count],
            ..FloatHistogram::default()
        }
    }

    fn sample(name: &str, id: &str, h: Option<FloatHistogram>, v: f64) -> InstantSample {
        let l = Labels::from_pairs([(METRIC_NAME, name), ("id", id)]);
        match h {
            Some(h) => InstantSample::histogram(l, 0, h, false),
            None => InstantSample::new(l, 0, v, false),
        }
    }

    fn run(
        op: &str,
        param: Option<Value>,
        input: Vec<InstantSample>,
    ) -> (Vec<InstantSample>, Vec<Noted>) {
        let mut memo = Memo::default();
        let mut notes = Vec::new();
        let out = aggregate(&mut memo, 1, op, param, input, None, 7, &mut notes).unwrap();
        (out, notes)
    }

    #[test]
    fn a_reset_and_a_not_reset_hint_in_one_sum_collide() {
        let input = vec![
            sample(
                "m",
                "1",
                Some(hist(2.0, CounterResetHint::CounterReset)),
                0.0,
            ),
            sample(
                "m",
                "2",
                Some(hist(3.0, CounterResetHint::NotCounterReset)),
                0.0,
            ),
        ];
        for op in ["sum", "avg"] {
            let (out, notes) = run(op, None, input.clone());
            assert_eq!(out.len(), 1, "{op}");
            let want = if op == "sum" { 5.0 } else { 2.5 };
            assert_eq!(out[0].h.as_ref().map(|h| h.count), Some(want), "{op}");
            assert_eq!(out[0].t, 7);
            assert_eq!(
                notes,
                [(
                    Annotation::Warning(
                        "conflicting counter resets during histogram aggregation".into()
                    ),
                    NoteAt::Operand
                )],
                "{op}"
            );
        }
        // The same hints twice do not collide.
        let same = vec![
            sample(
                "m",
                "1",
                Some(hist(2.0, CounterResetHint::NotCounterReset)),
                0.0,
            ),
            sample(
                "m",
                "2",
                Some(hist(3.0, CounterResetHint::NotCounterReset)),
                0.0,
            ),
        ];
        assert!(run("sum", None, same).1.is_empty());
    }

    #[test]
    fn a_group_starting_with_a_float_then_a_histogram_is_mixed_too() {
        let input = vec![
            sample("f", "1", None, 1.0),
            sample("h", "2", Some(hist(3.0, CounterResetHint::Unknown)), 0.0),
        ];
        let (out, notes) = run("avg", None, input.clone());
        assert!(out.is_empty());
        assert_eq!(notes.len(), 1);
        assert!(
            matches!(&notes[0].0, Annotation::Warning(m) if m.contains("mix of histograms and floats"))
        );
        // count and group count every sample; max ignores the histogram.
        assert_eq!(run("count", None, input.clone()).0[0].v, 2.0);
        assert_eq!(run("group", None, input.clone()).0[0].v, 1.0);
        let (out, notes) = run("max", None, input);
        assert_eq!((out.len(), out[0].v), (1, 1.0));
        assert_eq!(notes, [ignored("max", NoteAt::Operand)]);
    }

    #[test]
    fn count_values_labels_histograms_with_their_text() {
        let input = vec![
            sample("h", "1", Some(hist(3.0, CounterResetHint::Unknown)), 0.0),
            sample("h", "2", Some(hist(3.0, CounterResetHint::Unknown)), 0.0),
            sample("f", "3", None, 3.0),
        ];
        let (out, notes) = run(
            "count_values",
            Some(Value::String {
                t: 0,
                v: "v".into(),
            }),
            input,
        );
        assert!(notes.is_empty());
        let mut got: Vec<(String, f64)> = out
            .iter()
            .map(|s| (s.labels.get("v").unwrap_or("").to_string(), s.v))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            [
                ("3".to_string(), 1.0),
                ("{count:3, sum:3, (0.5,1]:3}".to_string(), 2.0)
            ]
        );
    }

    #[test]
    fn invalid_label_names_are_quoted_as_go_quotes_them() {
        assert_eq!(
            invalid_label_name("a-b", false),
            r#"invalid label name "a-b""#
        );
        assert_eq!(
            invalid_label_name("a\u{c5}z", true),
            r#"invalid label name "a\xc5z""#
        );
        // Bytes that make valid UTF-8 are shown as the character.
        assert_eq!(
            invalid_label_name("\u{c3}\u{a9}\"", true),
            r#"invalid label name "é\"""#
        );
        assert_eq!(
            invalid_label_name("a\u{c5}z", false),
            "invalid label name \"a\u{c5}z\""
        );
    }

    #[test]
    fn topk_leaves_histograms_out_and_limitk_keeps_them() {
        let input = vec![
            sample("h", "1", Some(hist(3.0, CounterResetHint::Unknown)), 0.0),
            sample("f", "2", None, 3.0),
        ];
        let k = || Some(Value::Scalar { t: 0, v: 5.0 });
        let (out, notes) = run("topk", k(), input.clone());
        assert_eq!(out.len(), 1);
        assert!(out[0].h.is_none());
        assert_eq!(notes, [ignored("topk", NoteAt::Aggregation)]);
        let (out, notes) = run("limitk", k(), input);
        assert_eq!(out.len(), 2);
        assert!(notes.is_empty());
        // k < 1 returns nothing before looking at the samples.
        let none = run(
            "bottomk",
            Some(Value::Scalar { t: 0, v: 0.0 }),
            vec![sample(
                "h",
                "1",
                Some(hist(1.0, CounterResetHint::Unknown)),
                0.0,
            )],
        );
        assert!(none.0.is_empty() && none.1.is_empty());
    }
}
