//! Runs promqltest scripts (`promterm test FILE...`) against the engine and a fresh store per
//! file, comparing results as the upstream runner does (`compare`). Instant evals are also run
//! as a range query around their time and must give the same answer (the upstream range-mode
//! cross-check), and re-run with every selector pinned to `@ T` at other evaluation times
//! (FORMAT.md 9.2), on the rewritten AST rather than re-printed text.
//!
//! Native-histogram values (`{{...}}`) of load blocks go into the store with
//! `Appender::append_histograms`, in time order with the line's floats; `load_with_nhcb`
//! blocks also load their classic histograms as custom-bucket ones (`nhcb`). A series the store
//! refuses histograms for (a store without histogram storage, an invalid histogram) is noted
//! as not loaded: an eval that fails while touching such a series (by name, or because one of
//! its selectors matches it) is counted as skipped. Every other eval runs and passes or fails
//! on its own.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

pub use super::compare::almost_equal;
use super::compare::compare;
use super::scratch_dir;
use super::script::{self, Command, Eval, EvalKind, Expected, SeriesLine, TextMatch};
use crate::model::{HistogramSample, HistogramValue, Sample};
use crate::promql::engine::{Engine, InstantSample, Stop, Value};
use crate::storage::{Appender, HistogramInput, SeriesInput};
use crate::tsdb::{Db, Options};

/// Totals over everything run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Totals {
    pub fn add(&mut self, o: Totals) {
        self.passed += o.passed;
        self.failed += o.failed;
        self.skipped += o.skipped;
    }
}

fn text_matches(m: &TextMatch, text: &str) -> bool {
    match m {
        TextMatch::Any => !text.contains('\n'),
        TextMatch::Exact(s) => s == text,
        TextMatch::Regex(r) => regex::Regex::new(r)
            .map(|re| re.is_match(text))
            .unwrap_or(false),
    }
}

/// Runs one script file; failures are written to `out`.
pub fn run_file(path: &Path, out: &mut String) -> Totals {
    run_file_with(path, out, true)
}

/// `run_file`, with the engine's fast paths on or off (`Engine::fast_paths`).
pub fn run_file_with(path: &Path, out: &mut String, fast_paths: bool) -> Totals {
    let mut t = Totals::default();
    let text = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(out, "{}: cannot read: {e}", path.display());
            t.failed += 1;
            return t;
        }
    };
    let cmds = match script::parse(&text) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(out, "{}: {e}", path.display());
            t.failed += 1;
            return t;
        }
    };
    let mut store = match Store::new() {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(out, "{}: cannot create a store: {e}", path.display());
            t.failed += 1;
            return t;
        }
    };
    // The upstream runner's delayed name removal lets aggregations hide duplicates.
    let engine = Engine {
        refuse_hidden_duplicates: false,
        fast_paths,
        ..Engine::default()
    };
    for cmd in cmds {
        match cmd {
            Command::Clear => match Store::new() {
                Ok(s) => store = s,
                Err(e) => {
                    let _ = writeln!(out, "{}: cannot create a store: {e}", path.display());
                    t.failed += 1;
                    return t;
                }
            },
            Command::Load {
                line,
                step,
                series,
                nhcb,
            } => {
                let loaded = store.load(step, &series).and_then(|()| {
                    if nhcb {
                        store.load_nhcb(step, &series)
                    } else {
                        Ok(())
                    }
                });
                if let Err(e) = loaded {
                    let _ = writeln!(out, "{}:{line}: load failed: {e}", path.display());
                    t.failed += 1;
                    return t;
                }
            }
            Command::Eval(ev) => {
                match run_eval(&engine, &store.db, &ev) {
                    Ok(()) => t.passed += 1,
                    // A failure that involves histogram data the store did not take is
                    // counted as skipped.
                    Err(_) if store.needs_histograms(&ev) => t.skipped += 1,
                    Err(msg) => {
                        t.failed += 1;
                        let _ = writeln!(
                            out,
                            "{}:{}: {}\n  {}",
                            path.display(),
                            ev.line,
                            ev.expr,
                            msg.replace('\n', "\n  ")
                        );
                    }
                }
            }
        }
    }
    t
}

struct Store {
    db: Db,
    _dir: tempfile::TempDir,
    /// Metric names of histogram data not loaded (`load_with_nhcb` conversions, and series
    /// whose histograms the store refused).
    histogram_names: HashSet<String>,
    /// Label sets of series whose histograms the store refused.
    histogram_series: Vec<crate::model::Labels>,
}

impl Store {
    fn new() -> Result<Store, String> {
        let dir = scratch_dir().map_err(|e| e.to_string())?;
        let opts = Options {
            retention_ms: 0,
            ..Options::default()
        };
        let (db, _) = Db::open(dir.path(), opts).map_err(|e| e.to_string())?;
        Ok(Store {
            db,
            _dir: dir,
            histogram_names: HashSet::new(),
            histogram_series: Vec::new(),
        })
    }

    fn load(&mut self, step: i64, series: &[SeriesLine]) -> Result<(), String> {
        for s in series {
            let mut refused = false;
            for run in runs(s, step) {
                let st = match run {
                    Run::Floats(samples) => self.db.append(&[SeriesInput {
                        labels: s.label_pairs(),
                        samples,
                    }]),
                    Run::Histograms(histograms) => self.db.append_histograms(&[HistogramInput {
                        labels: s.label_pairs(),
                        histograms,
                    }]),
                }
                .map_err(|e| e.to_string())?;
                refused |= st.invalid > 0;
                if st.rejected() > st.invalid {
                    return Err(format!(
                        "{} samples of {} were rejected",
                        st.rejected() - st.invalid,
                        s.labels
                    ));
                }
            }
            if refused {
                if let Some(n) = s.labels.metric_name() {
                    self.histogram_names.insert(n.to_string());
                }
                self.histogram_series.push(s.labels.clone());
            }
        }
        Ok(())
    }

    /// Loads the custom-bucket histograms a `load_with_nhcb` block makes of its classic
    /// histograms (`nhcb`); a series the store refuses is noted as not loaded.
    fn load_nhcb(&mut self, step: i64, series: &[SeriesLine]) -> Result<(), String> {
        for (labels, histograms) in super::nhcb::convert(series, step) {
            let pairs: Vec<(&str, &str)> = labels
                .iter()
                .map(|l| (l.name.as_ref(), l.value.as_ref()))
                .collect();
            let st = self
                .db
                .append_histograms(&[HistogramInput {
                    labels: pairs,
                    histograms,
                }])
                .map_err(|e| e.to_string())?;
            if st.rejected() > st.invalid {
                return Err(format!(
                    "{} histograms of {labels} were rejected",
                    st.rejected() - st.invalid
                ));
            }
            if st.invalid > 0 {
                if let Some(n) = labels.metric_name() {
                    self.histogram_names.insert(n.to_string());
                }
                self.histogram_series.push(labels);
            }
        }
        Ok(())
    }

    fn needs_histograms(&self, ev: &Eval) -> bool {
        // Any selector of the query that would pick up a histogram series?
        if let Ok(expr) = crate::promql::engine::parse(&ev.expr) {
            let mut hit = false;
            crate::promql::engine::for_each_selector(&expr, &mut |ms| {
                hit |= self
                    .histogram_series
                    .iter()
                    .any(|l| ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))));
            });
            if hit {
                return true;
            }
        }
        self.histogram_names.iter().any(|n| {
            ev.expr.match_indices(n.as_str()).any(|(i, _)| {
                let before = ev.expr[..i].chars().next_back();
                let after = ev.expr[i + n.len()..].chars().next();
                let ident = |c: Option<char>| {
                    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                };
                !ident(before) && !ident(after)
            })
        })
    }
}

/// A run of one kind of a series line's samples, in time order.
enum Run {
    Floats(Vec<Sample>),
    Histograms(Vec<HistogramSample>),
}

/// A series line's samples (every `step` ms from 0) as runs of floats and histograms in time
/// order, so a store that keeps one timeline per series takes them in order.
fn runs(s: &SeriesLine, step: i64) -> Vec<Run> {
    let mut hist = s.histograms.iter().peekable();
    let mut out: Vec<Run> = Vec::new();
    let n = s
        .values
        .len()
        .max(s.histograms.last().map_or(0, |(i, _)| i + 1));
    for i in 0..n {
        let t = i as i64 * step;
        if let Some(Some(v)) = s.values.get(i) {
            match out.last_mut() {
                Some(Run::Floats(f)) => f.push(Sample { t, v: *v }),
                _ => out.push(Run::Floats(vec![Sample { t, v: *v }])),
            }
        } else if let Some((_, p)) = hist.next_if(|(slot, _)| *slot == i) {
            let h = HistogramSample {
                t,
                h: HistogramValue::Float(p.h.clone()),
            };
            match out.last_mut() {
                Some(Run::Histograms(v)) => v.push(h),
                _ => out.push(Run::Histograms(vec![h])),
            }
        }
    }
    out
}

fn run_eval(engine: &Engine, db: &Db, ev: &Eval) -> Result<(), String> {
    match ev.kind {
        EvalKind::Range { start, end, step } => {
            let result = engine.run_range(db, &ev.expr, start, end, step, &Stop::default());
            check_result(ev, result).map(|_| ())
        }
        EvalKind::Instant { at } => {
            let expr = match crate::promql::engine::parse(&ev.expr) {
                Ok(e) => e,
                Err(e) => return Err(e.to_string()),
            };
            check_instant(engine, db, ev, &expr, at)?;
            // The upstream runner also pins every selector to `@ at` and evaluates at other
            // times, unless the query depends on the evaluation time itself.
            if !time_dependent(&expr) {
                let mut pinned = expr.clone();
                pin_at(&mut pinned, at);
                let times: Vec<i64> = if at != 0 {
                    vec![-10 * at, 0, at / 5, at, 10 * at]
                } else {
                    vec![-1000, 0, 1000]
                };
                for t in times {
                    check_instant(engine, db, ev, &pinned, t)
                        .map_err(|e| format!("with @ pinned, evaluated at {t}ms: {e}"))?;
                }
            }
            Ok(())
        }
    }
}

/// Functions whose result depends on the evaluation time (no `@` re-runs for these).
fn time_dependent(e: &promql_parser::parser::Expr) -> bool {
    use promql_parser::parser::Expr::*;
    const UNSAFE: [&str; 15] = [
        "time",
        "timestamp",
        "start",
        "end",
        "range",
        "step",
        "predict_linear",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "days_in_month",
        "hour",
        "minute",
        "month",
        "year",
    ];
    match e {
        Call(c) => UNSAFE.contains(&c.func.name) || c.args.args.iter().any(|a| time_dependent(a)),
        Aggregate(a) => {
            time_dependent(&a.expr) || a.param.as_ref().is_some_and(|p| time_dependent(p))
        }
        Binary(b) => time_dependent(&b.lhs) || time_dependent(&b.rhs),
        Paren(p) => time_dependent(&p.expr),
        Unary(u) => time_dependent(&u.expr),
        Subquery(s) => time_dependent(&s.expr),
        _ => false,
    }
}

/// Adds `@ at` to every selector and subquery that has no numeric `@` (not inside subqueries).
fn pin_at(e: &mut promql_parser::parser::Expr, at: i64) {
    use promql_parser::parser::{AtModifier, Expr::*};
    let when =
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(at.max(0) as u64);
    let pin = |m: &mut Option<AtModifier>| {
        if !matches!(m, Some(AtModifier::At(_))) {
            *m = Some(AtModifier::At(when));
        }
    };
    match e {
        VectorSelector(vs) => pin(&mut vs.at),
        MatrixSelector(ms) => pin(&mut ms.vs.at),
        Subquery(sq) => pin(&mut sq.at),
        Call(c) => c.args.args.iter_mut().for_each(|a| pin_at(a, at)),
        Aggregate(a) => {
            pin_at(&mut a.expr, at);
            if let Some(p) = &mut a.param {
                pin_at(p, at);
            }
        }
        Binary(b) => {
            pin_at(&mut b.lhs, at);
            pin_at(&mut b.rhs, at);
        }
        Paren(p) => pin_at(&mut p.expr, at),
        Unary(u) => pin_at(&mut u.expr, at),
        _ => {}
    }
}

/// Checks a result against the eval's failure, annotation and value expectations. Returns
/// the value when the eval expected success.
fn check_result(
    ev: &Eval,
    result: Result<crate::promql::engine::Output, crate::promql::engine::QueryError>,
) -> Result<Option<Value>, String> {
    let value = match (result, &ev.fail) {
        (Err(e), Some(m)) => {
            return if text_matches(m, &e.to_string()) {
                Ok(None)
            } else {
                Err(format!(
                    "expected an error matching {m:?}, got {e:?}",
                    e = e.to_string()
                ))
            };
        }
        (Err(e), None) => return Err(format!("unexpected error: {e}")),
        (Ok(_), Some(m)) => return Err(format!("expected an error matching {m:?} but got none")),
        (Ok(v), None) => v,
    };
    check_annotations("warning", &ev.warn, ev.no_warn, &value.warnings)?;
    check_annotations("info", &ev.info, ev.no_info, &value.infos)?;
    compare(ev, &value.value)?;
    Ok(Some(value.value))
}

/// One instant evaluation at `t` plus the range-mode cross-check around it.
fn check_instant(
    engine: &Engine,
    db: &Db,
    ev: &Eval,
    expr: &promql_parser::parser::Expr,
    t: i64,
) -> Result<(), String> {
    let Some(value) = check_result(
        ev,
        engine.run_instant_expr(db, expr, &ev.expr, t, &Stop::default()),
    )?
    else {
        return Ok(());
    };
    let skip = ev.range_vector.is_some()
        || matches!(ev.expected, Expected::String(_))
        || ev.ordered
        || ["start()", "end()", "range()", "step()"]
            .iter()
            .any(|f| ev.expr.contains(f));
    if skip {
        return Ok(());
    }
    let m = engine
        .run_range_expr(
            db,
            expr,
            &ev.expr,
            t - 60_000,
            t + 60_000,
            60_000,
            &Stop::default(),
        )
        .map_err(|e| format!("the range-mode cross-check failed: {e}"))?;
    let Value::Matrix(series) = m.value else {
        return Err("range query did not return a matrix".into());
    };
    let at_t: Vec<InstantSample> = series
        .iter()
        .filter_map(|s| {
            let float = s
                .samples
                .iter()
                .find(|x| x.t == t)
                .map(|x| InstantSample::new(s.labels.clone(), t, x.v, false));
            float.or_else(|| {
                s.histograms
                    .iter()
                    .find(|x| x.t == t)
                    .map(|x| InstantSample::histogram(s.labels.clone(), t, x.h.to_float(), false))
            })
        })
        .collect();
    let as_value = match &value {
        Value::Scalar { .. } => Value::Scalar {
            t,
            v: at_t.first().map_or(f64::NAN, |s| s.v),
        },
        _ => Value::Vector(at_t),
    };
    compare(ev, &as_value).map_err(|e| format!("the range-mode cross-check differs: {e}"))
}

/// FORMAT.md 11.2: every expectation matches some annotation and every annotation is
/// covered by some expectation; `no_*` forbids them. Without expectations they are ignored.
fn check_annotations(
    kind: &str,
    expect: &[TextMatch],
    none: bool,
    got: &[String],
) -> Result<(), String> {
    if none && !got.is_empty() {
        return Err(format!("expected no {kind}s, got {got:?}"));
    }
    if expect.is_empty() {
        return Ok(());
    }
    if got.is_empty() {
        return Err(format!("expected a {kind}, got none"));
    }
    for e in expect {
        if !got.iter().any(|g| text_matches(e, g)) {
            return Err(format!("no {kind} matches {e:?}; got {got:?}"));
        }
    }
    for g in got {
        if !expect.iter().any(|e| text_matches(e, g)) {
            return Err(format!("unexpected {kind} {g:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_tolerance_follows_upstream() {
        assert!(almost_equal(1.0, 1.0 + 1e-7));
        assert!(!almost_equal(1.0, 1.0001));
        assert!(!almost_equal(0.0, 1e-17), "zero needs an exact zero");
        assert!(almost_equal(0.0, -0.0));
        assert!(almost_equal(f64::NAN, f64::NAN));
        assert!(!almost_equal(f64::NAN, crate::model::stale_nan()));
        assert!(almost_equal(
            crate::model::stale_nan(),
            crate::model::stale_nan()
        ));
        assert!(!almost_equal(f64::INFINITY, f64::MAX));
        assert!(almost_equal(f64::NEG_INFINITY, f64::NEG_INFINITY));
    }

    #[test]
    fn our_promql_scripts_pass() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/promql");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut out = String::new();
        let mut t = Totals::default();
        for f in &files {
            t.add(run_file(f, &mut out));
        }
        assert!(t.passed >= 300, "too few evals ran: {t:?}");
        assert_eq!(t.failed, 0, "{out}");
    }

    /// Runs `files` with the fast paths on and off: the same evals must fail the same way.
    fn both_paths(files: &[std::path::PathBuf]) -> (Totals, String, String) {
        let (mut fast, mut slow) = (String::new(), String::new());
        let mut t = Totals::default();
        let mut t_slow = Totals::default();
        for f in files {
            t.add(run_file_with(f, &mut fast, true));
            t_slow.add(run_file_with(f, &mut slow, false));
        }
        assert_eq!(
            (t.passed, t.failed),
            (t_slow.passed, t_slow.failed),
            "fast and general paths differ"
        );
        (t, fast, slow)
    }

    fn scripts(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "test"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn fast_paths_agree_with_the_general_evaluator_on_our_scripts() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/promql");
        let (t, fast, slow) = both_paths(&scripts(&dir));
        assert!(t.passed >= 300, "too few evals ran: {t:?}");
        assert_eq!(t.failed, 0, "{fast}");
        assert_eq!(fast, slow);
    }

    #[test]
    fn fast_paths_agree_with_the_general_evaluator_on_upstream_scripts() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/promqltest");
        if !dir.is_dir() {
            eprintln!(
                "skipped: {} is absent (upstream PromQL scripts)",
                dir.display()
            );
            return;
        }
        let (t, fast, slow) = both_paths(&scripts(&dir));
        assert!(t.passed >= 1500, "too few evals ran: {t:?}");
        // Every failure (experimental syntax) is the same failure on both paths.
        assert_eq!(fast, slow);
    }

    #[test]
    fn pinning_adds_at_outside_subqueries_only() {
        let mut e =
            promql_parser::parser::parse("rate(a[5m]) + b @ 10 + max_over_time(c[5m:1m])").unwrap();
        pin_at(&mut e, 60_000);
        let text = e.to_string();
        assert!(text.contains("a[5m] @ 60.000"), "{text}");
        assert!(text.contains("b @ 10.000"), "an existing @ stays: {text}");
        assert!(
            text.contains("c[5m:1m] @ 60.000"),
            "the subquery is pinned: {text}"
        );
        assert!(
            !text.contains("c @"),
            "selectors inside subqueries are left alone: {text}"
        );
        assert!(time_dependent(
            &promql_parser::parser::parse("sum(hour(x))").unwrap()
        ));
        assert!(!time_dependent(
            &promql_parser::parser::parse("sum(rate(x[1m]))").unwrap()
        ));
    }

    #[test]
    fn series_lines_load_in_time_ordered_runs() {
        let s = script::parse_series(
            "x 1 {{schema:0 sum:1 count:1 buckets:[1]}} {{schema:0 sum:2 count:2 buckets:[2]}} 4 _ 6",
        )
        .unwrap();
        let shape: Vec<(char, Vec<i64>)> = runs(&s, 10)
            .iter()
            .map(|r| match r {
                Run::Floats(f) => ('f', f.iter().map(|x| x.t).collect()),
                Run::Histograms(h) => ('h', h.iter().map(|x| x.t).collect()),
            })
            .collect();
        assert_eq!(
            shape,
            [('f', vec![0]), ('h', vec![10, 20]), ('f', vec![30, 50])]
        );
    }

    /// Histogram loads and evals run for real when the store holds histograms, and are
    /// counted as skipped (never passed) when it refuses them.
    #[test]
    fn histogram_scripts_run_or_are_skipped_but_never_pass_unrun() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.test");
        std::fs::write(
            &p,
            "load 1m\n  h {{schema:0 sum:5 count:4 buckets:[1 2 1]}}x2\n\n\
             eval instant at 1m h\n  h {{schema:0 sum:5 count:4 buckets:[1 2 1]}}\n\n\
             eval instant at 1m h\n  h {{schema:0 sum:5 count:5 buckets:[1 2 2]}}\n",
        )
        .unwrap();
        let mut out = String::new();
        let t = run_file(&p, &mut out);
        let mut store = Store::new().unwrap();
        let probe = script::parse_series("p {{schema:0 sum:1 count:1 buckets:[1]}}").unwrap();
        store.load(60_000, &[probe]).unwrap();
        if store.histogram_series.is_empty() {
            // The store holds histograms: the right expectation passes, the wrong one fails.
            assert_eq!((t.passed, t.failed, t.skipped), (1, 1, 0), "{out}");
            assert!(out.contains("h.test:7: h"), "{out}");
        } else {
            assert_eq!((t.passed, t.failed, t.skipped), (0, 0, 2), "{out}");
        }
    }

    #[test]
    fn a_wrong_expectation_fails() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.test");
        std::fs::write(
            &p,
            "load 1m\n  m 1 2 3\n\neval instant at 2m m\n  m 4\n\neval instant at 2m m\n  m 3\n",
        )
        .unwrap();
        let mut out = String::new();
        let t = run_file(&p, &mut out);
        assert_eq!((t.passed, t.failed), (1, 1), "{out}");
        assert!(out.contains("x.test:4: m"), "{out}");
    }
}
