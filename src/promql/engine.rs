//! The PromQL evaluator (Prometheus 3.x semantics), over the `promql-parser` AST.
//!
//! Evaluation happens step by step: before the first step, every selector in the expression is
//! read from storage once, for the whole time window the query needs (all steps, offsets, `@`,
//! ranges, subqueries and lookback); each step then slices those series with binary searches.
//! An instant query is a range query with one step.
//!
//! Selectors that feed only range functions computed series by series (`pre`) are not
//! preloaded: they are streamed from storage one series at a time (by each part of a range
//! query, or for an instant query's one step), so memory holds one series' samples rather
//! than the whole window of every series.
//!
//! Supported: number and string literals, parentheses, unary minus, instant vector selectors
//! (5m left-open lookback, stale markers end a series), range vector selectors (left-open
//! windows, stale markers skipped), `offset` (also negative), `@` with timestamps, `start()`
//! and `end()`, subqueries (left-open, on step-aligned timestamps), every binary operator with
//! `bool`, `on`, `ignoring`, `group_left` and `group_right`, the aggregations (`aggregate`), and
//! the float functions dispatched in `call`. The metric name is removed when evaluation ends
//! (delayed name removal), as the upstream test scripts expect. Follows Prometheus's
//! promql/engine.go and functions.go in our own words.

use std::collections::{HashMap, HashSet};
use std::time::{Instant, SystemTime};

use promql_parser::parser::{
    self, AtModifier, BinaryExpr, Call, Expr, LabelModifier, Offset, VectorMatchCardinality,
};

mod pre;

use super::aggregate;
use super::functions::{labels as lf, math, range, time as tf};
use super::memo::{FxBuild, Memo, DROP_NAME, INTERN, WITHOUT_LE};
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
    /// The metric name is to be removed when evaluation finishes.
    pub drop_name: bool,
}

impl InstantSample {
    pub fn new(labels: Labels, t: i64, v: f64, drop_name: bool) -> Self {
        InstantSample {
            labels,
            t,
            v,
            drop_name,
        }
    }

    /// The labels as they will be reported.
    pub fn final_labels(&self) -> Labels {
        if self.drop_name {
            self.labels.without(METRIC_NAME)
        } else {
            self.labels.clone()
        }
    }
}

/// Collects range-query points per series, finding the series by label-set identity first
/// and by content only for label sets not seen before.
#[derive(Default)]
struct Accumulator {
    by_id: HashMap<usize, usize, FxBuild>,
    by_content: HashMap<Labels, usize>,
    series: Vec<Series>,
    /// Keeps every label set whose id is in `by_id` alive, so ids are not reused.
    keep: Vec<Labels>,
}

impl Accumulator {
    fn push(&mut self, labels: Labels, t: i64, v: f64) {
        let idx = match self.by_id.get(&labels.id()) {
            Some(&i) => i,
            None => {
                let series = &mut self.series;
                let i = *self.by_content.entry(labels.clone()).or_insert_with(|| {
                    series.push(Series {
                        labels: labels.clone(),
                        samples: Vec::new(),
                    });
                    series.len() - 1
                });
                self.by_id.insert(labels.id(), i);
                self.keep.push(labels);
                i
            }
        };
        self.series[idx].samples.push(Sample { t, v });
    }
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
    /// 400 bad_data: the query does not parse (`line:col: parse error: ...` where known).
    #[error("{0}")]
    Parse(String),
    /// 400 bad_data
    #[error("{0}")]
    BadData(String),
    /// 422 execution
    #[error("{0}")]
    Execution(String),
    /// 503 timeout
    #[error("{0}")]
    Timeout(String),
    /// 503 canceled (the client went away)
    #[error("{0}")]
    Canceled(String),
    /// 500 internal
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A result with its annotations (already prefixed "PromQL warning: " / "PromQL info: " and
/// suffixed with the position, as Prometheus reports them).
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub value: Value,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

fn exec(msg: impl Into<String>) -> QueryError {
    QueryError::Execution(msg.into())
}

/// Prometheus's error for a query over `--query.max-samples`.
fn too_many_samples() -> QueryError {
    exec("query processing would load too many samples into memory in query execution")
}

/// When a query must stop: a deadline, and a flag set when the client has gone away.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    pub deadline: Option<Instant>,
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct Engine {
    /// Most samples one query may load (`--query.max-samples`).
    pub max_samples: usize,
    pub lookback_ms: i64,
    /// Step of subqueries written without one (the evaluation interval; 1m by default).
    pub subquery_step_ms: i64,
}

impl Default for Engine {
    fn default() -> Self {
        Engine {
            max_samples: 50_000_000,
            lookback_ms: DEFAULT_LOOKBACK_MS,
            subquery_step_ms: 60_000,
        }
    }
}

/// Deepest expression tree a query may have. Parsing, evaluating and dropping an expression
/// recurse once per level (about 1-2 KiB of stack each), and running out of stack aborts the
/// whole process, so deeper queries are refused before parsing. Query threads have at least
/// `QUERY_STACK_BYTES` of stack; 2 MiB (Rust's default) is enough for this depth.
pub const MAX_QUERY_DEPTH: usize = 500;

/// Stack size for threads that parse or evaluate queries (tokio workers, range-query parts),
/// with room to spare for `MAX_QUERY_DEPTH` even in unoptimised builds.
pub const QUERY_STACK_BYTES: usize = 16 << 20;

/// Parses PromQL, turning the crate's error into bad_data.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    let depth = depth_bound(query);
    if depth > MAX_QUERY_DEPTH {
        return Err(QueryError::Parse(format!(
            "parse error: query is nested too deeply: up to {depth} levels of operators, parentheses and brackets, at most {MAX_QUERY_DEPTH} are allowed"
        )));
    }
    parser::parse(query).map_err(|msg| QueryError::Parse(parse_error(query, &msg)))
}

/// An upper bound of the depth of the expression tree `query` parses to, from its text alone:
/// every inner node comes from an opening parenthesis (nodes on one path are nested inside
/// each other's), a `[` (range or subquery) or an operator, so the deepest parenthesis
/// nesting plus the count of `[` and operators bounds it. String literals, label matchers in
/// braces and comments are skipped.
pub fn depth_bound(query: &str) -> usize {
    let b = query.as_bytes();
    let (mut i, mut depth, mut deepest, mut nodes) = (0usize, 0usize, 0usize, 0usize);
    let mut braces = 0usize;
    let mut prev_cmp = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'\'' | b'`' => {
                i += 1;
                while i < b.len() && b[i] != c {
                    if b[i] == b'\\' && c != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'{' => braces += 1,
            b'}' => braces = braces.saturating_sub(1),
            _ if braces > 0 => {}
            b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' => depth = depth.saturating_sub(1),
            b'[' => nodes += 1,
            // The second character of `==`, `!=`, `>=` and `<=` is not another operator.
            b'=' if prev_cmp => {}
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'=' | b'!' | b'<' | b'>' => {
                nodes += 1;
                prev_cmp = matches!(c, b'=' | b'!' | b'<' | b'>');
                i += 1;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let word = &query[start..i];
                if ["and", "or", "unless", "atan2"]
                    .iter()
                    .any(|k| word.eq_ignore_ascii_case(k))
                {
                    nodes += 1;
                }
                prev_cmp = false;
                continue;
            }
            _ => {}
        }
        prev_cmp = false;
        i += 1;
    }
    deepest + nodes + 1
}

/// Prometheus's `line:col: parse error: msg` for the errors whose place we can tell
/// (`promql-parser` gives none): unclosed input points past its end, an unmatched `)` at
/// itself, an unknown function at its name (quoted as Prometheus quotes it).
fn parse_error(query: &str, msg: &str) -> String {
    let pos = |at: usize| -> String {
        let before = &query[..at.min(query.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        format!("{line}:{col}")
    };
    let mut msg = msg.to_string();
    let at = if msg == "unclosed left parenthesis" || msg.starts_with("unexpected end of input") {
        Some(query.len())
    } else if msg.starts_with("unexpected right parenthesis") {
        let mut depth = 0i32;
        query.char_indices().find_map(|(i, c)| {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => return Some(i),
                ')' => depth -= 1,
                _ => {}
            }
            None
        })
    } else if let Some(name) = msg
        .strip_prefix("unknown function with name '")
        .and_then(|r| r.strip_suffix('\''))
    {
        let name = name.to_string();
        msg = format!("unknown function with name {name:?}");
        query.find(&format!("{name}("))
    } else {
        None
    };
    match at {
        Some(at) => format!("{}: parse error: {msg}", pos(at)),
        None => format!("parse error: {msg}"),
    }
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
    /// The store, for selectors streamed series by series (range queries only).
    querier: &'a dyn Querier,
    /// Selector nodes not preloaded: `pre` streams them from `querier`.
    streamed: std::sync::Arc<HashSet<usize, FxBuild>>,
    start: i64,
    end: i64,
    /// The query step (0 for instant queries).
    step: i64,
    query: String,
    stop: Stop,
    /// Annotations keyed by message (without position), in order of first appearance.
    warnings: Vec<(String, String)>,
    infos: Vec<(String, String)>,
    data: HashMap<usize, std::sync::Arc<Vec<Series>>>,
    /// Inner results of subqueries, by (node, evaluation time).
    sub_cache: HashMap<(usize, i64), Vec<InstantSample>>,
    memo: Memo,
    /// Per selector node: the last read time and each series' window (from, to) at it, so
    /// windows advance incrementally as range queries step forward.
    cursors: HashMap<usize, Cursors, FxBuild>,
    /// Series already checked for the "might not be a counter" info (by label-set id; their
    /// labels live in `data` for the whole query).
    counter_checked: HashSet<usize, FxBuild>,
    /// Range-function calls computed for all steps of this part before stepping (`pre`).
    pre: HashMap<usize, pre::Pre, FxBuild>,
}

/// A selector node's last read time and each series' (from, to) sample window at it.
type Cursors = (i64, Vec<(usize, usize)>);

/// Where a range vector's samples are: windows into preloaded series (no copying), or series
/// built for this step (subqueries).
enum Windows {
    /// (series index, from, to, holds a stale marker) into the shared series.
    Shared(
        std::sync::Arc<Vec<Series>>,
        Vec<(usize, usize, usize, bool)>,
    ),
    Owned(Vec<Series>),
}

/// A range vector with the window it was read for.
struct RangeArg {
    series: Windows,
    /// Window bounds in ms: (start, end], and its length in seconds.
    start: i64,
    end: i64,
    range_s: f64,
    /// Equality matchers of the selector (for absent_over_time).
    selector: Option<parser::VectorSelector>,
}

impl RangeArg {
    fn is_empty(&self) -> bool {
        match &self.series {
            Windows::Shared(_, w) => w.is_empty(),
            Windows::Owned(v) => v.is_empty(),
        }
    }

    /// Each series' labels and samples (stale markers removed).
    fn for_each(&self, mut f: impl FnMut(&Labels, &[Sample])) {
        match &self.series {
            Windows::Shared(data, windows) => {
                let mut scratch = Vec::new();
                for &(i, from, to, stale) in windows {
                    let s = &data[i];
                    let slice = &s.samples[from..to];
                    if stale {
                        scratch.clear();
                        scratch.extend(slice.iter().filter(|x| !is_stale_nan(x.v)).copied());
                        f(&s.labels, &scratch);
                    } else {
                        f(&s.labels, slice);
                    }
                }
            }
            Windows::Owned(v) => {
                for s in v {
                    f(&s.labels, &s.samples);
                }
            }
        }
    }

    fn into_series(self) -> Vec<Series> {
        match self.series {
            Windows::Owned(v) => v,
            Windows::Shared(..) => {
                let mut out = Vec::new();
                self.for_each(|l, s| {
                    out.push(Series {
                        labels: l.clone(),
                        samples: s.to_vec(),
                    })
                });
                out
            }
        }
    }
}

/// A selector's matchers (its name included), one list per `or` alternative.
pub fn to_matchers(vs: &parser::VectorSelector) -> Result<Vec<Vec<Matcher>>, QueryError> {
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

/// Labels `absent()` reports for a selector: its equality matchers (not the name), when each
/// label is matched once.
fn absent_labels(vs: Option<&parser::VectorSelector>) -> Labels {
    let Some(vs) = vs else {
        return Labels::default();
    };
    let mut seen: HashMap<&str, Option<&str>> = HashMap::new();
    for m in &vs.matchers.matchers {
        let eq = matches!(m.op, promql_parser::label::MatchOp::Equal);
        seen.entry(m.name.as_str())
            .and_modify(|v| *v = None)
            .or_insert(if eq { Some(m.value.as_str()) } else { None });
    }
    Labels::from_pairs(
        seen.into_iter()
            .filter(|(n, _)| *n != METRIC_NAME)
            .filter_map(|(n, v)| v.map(|v| (n, v))),
    )
}

/// Natural order: runs of digits compare as numbers ("4m5" < "4m600", "1.2.3" < "1.11.3").
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < ab.len() && j < bb.len() {
        if ab[i].is_ascii_digit() && bb[j].is_ascii_digit() {
            let si = i;
            while i < ab.len() && ab[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < bb.len() && bb[j].is_ascii_digit() {
                j += 1;
            }
            let (na, nb) = (
                a[si..i].trim_start_matches('0'),
                b[sj..j].trim_start_matches('0'),
            );
            let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if o != Ordering::Equal {
                return o;
            }
        } else {
            let o = ab[i].cmp(&bb[j]);
            if o != Ordering::Equal {
                return o;
            }
            i += 1;
            j += 1;
        }
    }
    (ab.len() - i).cmp(&(bb.len() - j))
}

/// Go's %g for the numbers in annotation messages.
fn go_g(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// A float as a label value with at least one decimal (`0.0`, `0.25`, `1.0`).
fn label_float(v: f64) -> String {
    let s = super::aggregate::format_float(v);
    if v.is_finite() && !s.contains('.') && !s.contains('e') {
        format!("{s}.0")
    } else {
        s
    }
}

/// Parses an `le` label value as Prometheus does (a float, `+Inf`, ...).
fn parse_le(le: &str) -> Option<f64> {
    match le.to_ascii_lowercase().as_str() {
        "+inf" | "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => le.parse::<f64>().ok().filter(|v| !v.is_nan()),
    }
}

/// Calls `f` with the matchers of every selector in `e` (each alternative of an `or` selector).
pub fn for_each_selector(e: &Expr, f: &mut dyn FnMut(&[Matcher])) {
    match e {
        Expr::VectorSelector(vs) => {
            for ms in to_matchers(vs).unwrap_or_default() {
                f(&ms);
            }
        }
        Expr::MatrixSelector(ms) => for_each_selector(&Expr::VectorSelector(ms.vs.clone()), f),
        Expr::Subquery(sq) => for_each_selector(&sq.expr, f),
        Expr::Paren(p) => for_each_selector(&p.expr, f),
        Expr::Unary(u) => for_each_selector(&u.expr, f),
        Expr::Binary(b) => {
            for_each_selector(&b.lhs, f);
            for_each_selector(&b.rhs, f);
        }
        Expr::Aggregate(a) => {
            for_each_selector(&a.expr, f);
            if let Some(p) = &a.param {
                for_each_selector(p, f);
            }
        }
        Expr::Call(c) => {
            for a in &c.args.args {
                for_each_selector(a, f);
            }
        }
        _ => {}
    }
}

fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

impl Engine {
    /// Evaluates `query` at `t` (ms).
    pub fn instant(&self, q: &dyn Querier, query: &str, t: i64) -> Result<Value, QueryError> {
        self.run_instant(q, query, t, &Stop::default())
            .map(|o| o.value)
    }

    /// Evaluates `query` over a range; the result is a matrix.
    pub fn range(
        &self,
        q: &dyn Querier,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Value, QueryError> {
        self.run_range(q, query, start, end, step, &Stop::default())
            .map(|o| o.value)
    }

    /// Evaluates `query` at `t` (ms), with annotations, stopping as `stop` says.
    pub fn run_instant(
        &self,
        q: &dyn Querier,
        query: &str,
        t: i64,
        stop: &Stop,
    ) -> Result<Output, QueryError> {
        self.run_instant_expr(q, &parse(query)?, query, t, stop)
    }

    /// Evaluates an already parsed expression at `t`; `query` is its text (for positions).
    pub fn run_instant_expr(
        &self,
        q: &dyn Querier,
        expr: &Expr,
        query: &str,
        t: i64,
        stop: &Stop,
    ) -> Result<Output, QueryError> {
        let expr = expr.clone();
        let mut ev = self.prepare(q, &expr, query, t, t, 0, stop)?;
        if !ev.streamed.is_empty() {
            // Streamed selectors are computed series by series, for this one step.
            ev.precompute(&expr, t, t, 1)?;
        }
        let value = match ev.eval(&expr, t)? {
            Value::Vector(v) => Value::Vector(ev.finish(v)?),
            other => other,
        };
        Ok(ev.output(value))
    }

    /// Evaluates `query` at `start, start+step, ... <= end`; the result is a matrix.
    pub fn run_range(
        &self,
        q: &dyn Querier,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        stop: &Stop,
    ) -> Result<Output, QueryError> {
        self.run_range_expr(q, &parse(query)?, query, start, end, step, stop)
    }

    /// Evaluates an already parsed expression over a range; `query` is its text.
    #[allow(clippy::too_many_arguments)]
    pub fn run_range_expr(
        &self,
        q: &dyn Querier,
        expr: &Expr,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        stop: &Stop,
    ) -> Result<Output, QueryError> {
        if step <= 0 {
            return Err(QueryError::BadData("zero or negative query resolution step widths are not accepted. Try a positive integer".into()));
        }
        let expr = expr.clone();
        let ev = self.prepare(q, &expr, query, start, end, step, stop)?;
        let n_steps = ((end - start) / step + 1) as usize;
        // Long queries split their steps over the cores: each part has its own evaluator over
        // the same preloaded series, and the parts are joined in time order.
        let parts = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(n_steps / MIN_STEPS_PER_THREAD)
            .max(1);
        if parts == 1 {
            let mut ev = ev;
            let series = ev.steps(&expr, start, end, step)?;
            return Ok(ev.output(Value::Matrix(series)));
        }
        let per = n_steps.div_ceil(parts);
        let results: Vec<Result<(Vec<Series>, Output), QueryError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..parts)
                .map(|p| {
                    let mut part = ev.fork();
                    let expr = &expr;
                    let a = start + (p * per) as i64 * step;
                    let b = (start + ((p + 1) * per) as i64 * step - step).min(end);
                    std::thread::Builder::new()
                        .name("promql-part".into())
                        .stack_size(QUERY_STACK_BYTES)
                        .spawn_scoped(scope, move || {
                            let series = part.steps(expr, a, b, step)?;
                            Ok((series, part.output(Value::Matrix(Vec::new()))))
                        })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| match h {
                    Ok(h) => h
                        .join()
                        .unwrap_or_else(|_| Err(exec("query evaluation thread failed"))),
                    Err(e) => Err(exec(format!("cannot start a query thread: {e}"))),
                })
                .collect()
        });
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut merged: Vec<Series> = Vec::new();
        let mut out = ev.output(Value::Matrix(Vec::new()));
        for r in results {
            let (series, o) = r?;
            for w in o.warnings {
                if !out.warnings.contains(&w) {
                    out.warnings.push(w);
                }
            }
            for i in o.infos {
                if !out.infos.contains(&i) {
                    out.infos.push(i);
                }
            }
            for s in series {
                match index.get(&s.labels) {
                    Some(&i) => merged[i].samples.extend(s.samples),
                    None => {
                        index.insert(s.labels.clone(), merged.len());
                        merged.push(s);
                    }
                }
            }
        }
        merged.sort_by(|a, b| a.labels.cmp(&b.labels));
        out.value = Value::Matrix(merged);
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn prepare<'a>(
        &'a self,
        q: &'a dyn Querier,
        expr: &Expr,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        stop: &Stop,
    ) -> Result<Eval<'a>, QueryError> {
        let mut streamed = HashSet::default();
        pre::streamable(expr, &mut streamed);
        let mut ev = Eval {
            engine: self,
            querier: q,
            streamed: std::sync::Arc::new(streamed),
            start,
            end,
            step,
            query: query.to_string(),
            stop: stop.clone(),
            warnings: Vec::new(),
            infos: Vec::new(),
            data: HashMap::new(),
            sub_cache: HashMap::new(),
            memo: Memo::default(),
            cursors: HashMap::default(),
            counter_checked: HashSet::default(),
            pre: HashMap::default(),
        };
        let mut windows: Vec<(usize, &parser::VectorSelector, i64, i64)> = Vec::new();
        ev.collect(expr, start, end, &mut windows)?;
        let mut loaded = 0usize;
        for (k, vs, mint, maxt) in windows {
            if ev.streamed.contains(&k) {
                continue;
            }
            let alternatives = to_matchers(vs)?;
            let existing = ev.data.remove(&k);
            let mut all: Vec<Series> = if alternatives.len() == 1 && existing.is_none() {
                // The common case: one selection, already sorted by labels.
                q.select(&alternatives[0], mint, maxt)?
            } else {
                // Merge alternatives (`{a="1" or b="2"}`) by label set.
                let mut all: Vec<Series> = existing.map(|a| a.as_ref().clone()).unwrap_or_default();
                let mut index: HashMap<Labels, usize> = all
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.labels.clone(), i))
                    .collect();
                for ms in &alternatives {
                    for s in q.select(ms, mint, maxt)? {
                        match index.get(&s.labels) {
                            Some(&i) => {
                                let existing = &mut all[i];
                                existing.samples.extend(s.samples);
                                existing.samples.sort_by_key(|x| x.t);
                                existing.samples.dedup_by_key(|x| x.t);
                            }
                            None => {
                                index.insert(s.labels.clone(), all.len());
                                all.push(s);
                            }
                        }
                    }
                }
                all
            };
            all.sort_by(|a, b| a.labels.cmp(&b.labels));
            loaded += all.iter().map(|x| x.samples.len()).sum::<usize>();
            if loaded > self.max_samples {
                return Err(too_many_samples());
            }
            ev.check_deadline()?;
            ev.data.insert(k, std::sync::Arc::new(all));
        }
        Ok(ev)
    }
}

/// Below this many steps per core a range query runs on one thread.
const MIN_STEPS_PER_THREAD: usize = 64;

impl Eval<'_> {
    /// A fresh evaluator over the same preloaded data (for another part of the steps).
    fn fork(&self) -> Self {
        Eval {
            engine: self.engine,
            querier: self.querier,
            streamed: self.streamed.clone(),
            start: self.start,
            end: self.end,
            step: self.step,
            query: self.query.clone(),
            stop: self.stop.clone(),
            warnings: Vec::new(),
            infos: Vec::new(),
            data: self.data.clone(),
            sub_cache: HashMap::new(),
            memo: Memo::default(),
            cursors: HashMap::default(),
            counter_checked: HashSet::default(),
            pre: HashMap::default(),
        }
    }

    /// Evaluates `expr` at `from, from+step, ... <= to`, collecting series sorted by labels.
    fn steps(
        &mut self,
        expr: &Expr,
        from: i64,
        to: i64,
        step: i64,
    ) -> Result<Vec<Series>, QueryError> {
        // Series by label-set identity (kept alive in `keep`), with a content fallback.
        let mut acc = Accumulator::default();
        // Streamed selectors have no preloaded data: their calls must be computed here.
        if to > from || !self.streamed.is_empty() {
            self.precompute(expr, from, to, step)?;
        }
        let mut ts = from;
        while ts <= to {
            self.check_deadline()?;
            match self.eval(expr, ts)? {
                Value::Scalar { v, .. } => acc.push(Labels::default(), ts, v),
                Value::Vector(vec) => {
                    for s in self.finish(vec)? {
                        acc.push(s.labels, ts, s.v);
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
        let mut series = acc.series;
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(series)
    }

    /// Applies pending name removal and rejects duplicate label sets.
    fn finish(&mut self, v: Vec<InstantSample>) -> Result<Vec<InstantSample>, QueryError> {
        // Every label set is interned, so equal contents have equal ids.
        let mut seen: HashSet<usize, FxBuild> =
            HashSet::with_capacity_and_hasher(v.len(), FxBuild::default());
        let mut out = Vec::with_capacity(v.len());
        for s in v {
            let labels = if s.drop_name {
                self.memo
                    .derive_interned(DROP_NAME, &s.labels, |l| l.without(METRIC_NAME))
            } else {
                self.memo.derive_interned(INTERN, &s.labels, Labels::clone)
            };
            if !seen.insert(labels.id()) {
                return Err(QueryError::Execution(
                    "vector cannot contain metrics with the same labelset".into(),
                ));
            }
            out.push(InstantSample::new(labels, s.t, s.v, false));
        }
        Ok(out)
    }

    fn check_deadline(&self) -> Result<(), QueryError> {
        if let Some(c) = &self.stop.cancel {
            if c.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(QueryError::Canceled(
                    "query was canceled in expression evaluation".into(),
                ));
            }
        }
        match self.stop.deadline {
            Some(d) if Instant::now() > d => Err(QueryError::Timeout(
                "query timed out in expression evaluation".into(),
            )),
            _ => Ok(()),
        }
    }

    /// `(line:col)` of the first occurrence of `needle` in the query (1-based, byte column).
    fn position(&self, needle: &str) -> String {
        let at = if needle.is_empty() {
            None
        } else {
            self.query.find(needle)
        };
        let at = at.unwrap_or(0);
        let before = &self.query[..at];
        let line = before.matches('\n').count() + 1;
        let col = at - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        format!("({line}:{col})")
    }

    fn warn(&mut self, msg: String, needle: &str) {
        if !self.warnings.iter().any(|(m, _)| *m == msg) {
            let full = format!("PromQL warning: {msg} {}", self.position(needle));
            self.warnings.push((msg, full));
        }
    }

    fn info(&mut self, msg: String, needle: &str) {
        if !self.infos.iter().any(|(m, _)| *m == msg) {
            let full = format!("PromQL info: {msg} {}", self.position(needle));
            self.infos.push((msg, full));
        }
    }

    fn output(self, value: Value) -> Output {
        Output {
            value,
            warnings: self.warnings.into_iter().map(|(_, f)| f).collect(),
            infos: self.infos.into_iter().map(|(_, f)| f).collect(),
        }
    }

    /// The text to locate an argument by: its metric name, if it has one.
    fn needle(e: &Expr) -> String {
        match unwrap_parens(e) {
            Expr::VectorSelector(vs) => vs.name.clone().unwrap_or_default(),
            Expr::MatrixSelector(ms) => ms.vs.name.clone().unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// Groups classic-histogram bucket samples by their labels without `le` and the name,
    /// warning about series whose `le` is missing or malformed.
    fn classic_groups(
        &mut self,
        v: Vec<InstantSample>,
        needle: &str,
    ) -> Vec<(Labels, String, Vec<super::functions::histogram::Bucket>)> {
        let mut order: Vec<(Labels, String)> = Vec::new();
        let mut groups: HashMap<Labels, Vec<super::functions::histogram::Bucket>> = HashMap::new();
        for s in v {
            let metric = s.labels.metric_name().unwrap_or("").to_string();
            let le = s.labels.get("le").unwrap_or("");
            let Some(upper) = parse_le(le) else {
                self.warn(format!("bucket label \"le\" is missing or has a malformed value of {le:?} for metric name {metric:?}"), needle);
                continue;
            };
            let g = self.memo.derive_interned(WITHOUT_LE, &s.labels, |l| {
                l.without("le").without(METRIC_NAME)
            });
            if !groups.contains_key(&g) {
                order.push((g.clone(), metric));
            }
            groups
                .entry(g)
                .or_default()
                .push(super::functions::histogram::Bucket { upper, count: s.v });
        }
        order
            .into_iter()
            .map(|(g, m)| {
                let b = groups.remove(&g).unwrap_or_default();
                (g, m, b)
            })
            .collect()
    }

    /// The info Prometheus gives for rate/increase over a metric not named like a counter.
    fn counter_info(&mut self, name: &str, needle: &str) {
        if !["_total", "_sum", "_count", "_bucket"]
            .iter()
            .any(|x| name.ends_with(x))
        {
            self.info(format!("metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"), needle);
        }
    }

    fn check_quantile(&mut self, q: f64, needle: &str) {
        if q.is_nan() || !(0.0..=1.0).contains(&q) {
            self.warn(
                format!("quantile value should be between 0 and 1, got {}", go_g(q)),
                needle,
            );
        }
    }

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
            Expr::Subquery(sq) => {
                let (a, b) = (
                    self.ref_time(start, &sq.at, &sq.offset),
                    self.ref_time(end, &sq.at, &sq.offset),
                );
                self.collect(
                    &sq.expr,
                    a.min(b) - sq.range.as_millis() as i64,
                    a.max(b),
                    out,
                )?;
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
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
            Expr::Extension(_) => return Err(exec("unsupported expression")),
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
                        .map(|s| InstantSample::new(s.labels, s.t, -s.v, true))
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
            Expr::Binary(b) => self.binary(b, ts),
            Expr::Call(c) => self.call(c, ts),
            Expr::Aggregate(a) => {
                if let Some(v) = self.pre.get(&key(a)).and_then(|p| p.at(ts)) {
                    return Ok(Value::Vector(v));
                }
                let mut param = match &a.param {
                    Some(p) => Some(self.eval(p, ts)?),
                    None => None,
                };
                if let (true, Some(Value::Scalar { v, .. }), Some(p)) =
                    (a.op.to_string() == "limit_ratio", &mut param, &a.param)
                {
                    if v.is_nan() {
                        return Err(exec("Ratio value is NaN"));
                    }
                    if !(-1.0..=1.0).contains(v) {
                        let capped = v.clamp(-1.0, 1.0);
                        self.warn(
                            format!(
                                "ratio value should be between -1 and 1, got {}, capping to {}",
                                go_g(*v),
                                go_g(capped)
                            ),
                            &p.to_string(),
                        );
                        *v = capped;
                    }
                }
                if let (true, Some(Value::Scalar { v, .. })) =
                    (a.op.to_string() == "quantile", &param)
                {
                    self.check_quantile(*v, "quantile");
                }
                let Value::Vector(input) = self.eval(&a.expr, ts)? else {
                    return Err(exec("aggregation needs an instant vector"));
                };
                aggregate::aggregate(
                    &mut self.memo,
                    key(a),
                    &a.op.to_string(),
                    param,
                    input,
                    a.modifier.as_ref(),
                    ts,
                )
                .map(Value::Vector)
            }
            Expr::Extension(_) => Err(exec("unsupported expression")),
        }
    }

    /// An instant selector at `ts`; with `sample_time`, samples carry their own timestamps
    /// (for `timestamp()`), otherwise the evaluation time.
    fn instant_selector(
        &mut self,
        vs: &parser::VectorSelector,
        ts: i64,
        sample_time: bool,
    ) -> Vec<InstantSample> {
        let rt = self.ref_time(ts, &vs.at, &vs.offset);
        let data = self.data.get(&key(vs)).cloned().unwrap_or_default();
        // The newest sample in (rt - lookback, rt], unless it is a stale marker.
        let bounds = self.windows_at(key(vs), &data, rt - self.engine.lookback_ms, rt);
        let mut out = Vec::new();
        for (s, &(from, to)) in data.iter().zip(&bounds) {
            if to > from {
                let last = s.samples[to - 1];
                if !is_stale_nan(last.v) {
                    out.push(InstantSample::new(
                        s.labels.clone(),
                        if sample_time { last.t } else { ts },
                        last.v,
                        false,
                    ));
                }
            }
        }
        out
    }

    /// Each series' sample index window (from, to) for (lo, hi], advancing the node's cursors
    /// when time moves forward and searching afresh when it does not.
    fn windows_at(
        &mut self,
        node: usize,
        data: &[Series],
        lo: i64,
        hi: i64,
    ) -> Vec<(usize, usize)> {
        let entry = self
            .cursors
            .entry(node)
            .or_insert_with(|| (i64::MIN, vec![(0, 0); data.len()]));
        let forward = hi >= entry.0 && entry.1.len() == data.len();
        if !forward {
            entry.1 = vec![(0, 0); data.len()];
        }
        for (i, s) in data.iter().enumerate() {
            let x = &s.samples;
            let (mut from, mut to) = entry.1[i];
            if forward {
                while from < x.len() && x[from].t <= lo {
                    from += 1;
                }
                to = to.max(from);
                while to < x.len() && x[to].t <= hi {
                    to += 1;
                }
            } else {
                from = x.partition_point(|p| p.t <= lo);
                to = from + x[from..].partition_point(|p| p.t <= hi);
            }
            entry.1[i] = (from, to);
        }
        entry.0 = hi;
        entry.1.clone()
    }

    /// A range vector argument (selector or subquery) at `ts`.
    fn range_arg(&mut self, e: &Expr, ts: i64) -> Result<RangeArg, QueryError> {
        match unwrap_parens(e) {
            Expr::MatrixSelector(ms) => {
                let vs = &ms.vs;
                if self.streamed.contains(&key(vs)) {
                    // `pre` computed every step of this call; reaching here is a bug, and an
                    // error is better than an empty answer.
                    return Err(exec(format!(
                        "internal error: streamed selector {vs} evaluated step by step"
                    )));
                }
                let rt = self.ref_time(ts, &vs.at, &vs.offset);
                let range = ms.range.as_millis() as i64;
                let lo = rt - range;
                let data = self.data.get(&key(vs)).cloned().unwrap_or_default();
                let bounds = self.windows_at(key(vs), &data, lo, rt);
                let mut windows = Vec::with_capacity(data.len());
                for (i, s) in data.iter().enumerate() {
                    let (from, to) = bounds[i];
                    let slice = &s.samples[from..to];
                    let stale = slice.iter().any(|x| is_stale_nan(x.v));
                    if stale && slice.iter().all(|x| is_stale_nan(x.v)) {
                        continue;
                    }
                    if !slice.is_empty() {
                        windows.push((i, from, to, stale));
                    }
                }
                let series = Windows::Shared(data, windows);
                Ok(RangeArg {
                    series,
                    start: lo,
                    end: rt,
                    range_s: range as f64 / 1000.0,
                    selector: Some(vs.clone()),
                })
            }
            Expr::Subquery(sq) => {
                let rt = self.ref_time(ts, &sq.at, &sq.offset);
                let range = sq.range.as_millis() as i64;
                let step = sq
                    .step
                    .map(|d| d.as_millis() as i64)
                    .filter(|s| *s > 0)
                    .unwrap_or(self.engine.subquery_step_ms);
                let lo = rt - range;
                // The first step-aligned time after the (left-open) window start.
                let mut t = step * (lo / step);
                while t <= lo {
                    t += step;
                }
                let mut by_labels: HashMap<Labels, Vec<Sample>> = HashMap::new();
                let k = key(sq);
                let mut points = 0usize;
                let mut n = 0usize;
                while t <= rt {
                    // A long subquery (`x[1y:1m]`) must still stop at the deadline.
                    if n.is_multiple_of(64) {
                        self.check_deadline()?;
                    }
                    n += 1;
                    let vec = match self.sub_cache.get(&(k, t)) {
                        Some(v) => v.clone(),
                        None => {
                            let v = match self.eval(&sq.expr, t)? {
                                Value::Vector(v) => self.finish(v)?,
                                Value::Scalar { v, .. } => {
                                    vec![InstantSample::new(Labels::default(), t, v, false)]
                                }
                                other => {
                                    return Err(exec(format!(
                                        "subquery needs an instant vector or scalar, got {}",
                                        other.type_name()
                                    )))
                                }
                            };
                            self.sub_cache.insert((k, t), v.clone());
                            v
                        }
                    };
                    points += vec.len();
                    if points > self.engine.max_samples {
                        return Err(too_many_samples());
                    }
                    for s in vec {
                        if !is_stale_nan(s.v) {
                            by_labels
                                .entry(s.labels)
                                .or_default()
                                .push(Sample { t, v: s.v });
                        }
                    }
                    t += step;
                }
                // Later steps of a range query only need inner results after this window's
                // start: drop the older ones, so the cache holds about one window.
                if self.sub_cache.len() > 1024 {
                    self.sub_cache
                        .retain(|(node, at), _| *node != k || *at > lo);
                }
                let mut series: Vec<Series> = by_labels
                    .into_iter()
                    .map(|(labels, samples)| Series { labels, samples })
                    .collect();
                series.sort_by(|a, b| a.labels.cmp(&b.labels));
                Ok(RangeArg {
                    series: Windows::Owned(series),
                    start: lo,
                    end: rt,
                    range_s: range as f64 / 1000.0,
                    selector: None,
                })
            }
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

    fn scalar_arg(&mut self, e: &Expr, ts: i64) -> Result<f64, QueryError> {
        match self.eval(e, ts)? {
            Value::Scalar { v, .. } => Ok(v),
            v => Err(exec(format!(
                "expected a scalar argument, got {}",
                v.type_name()
            ))),
        }
    }

    fn vector_arg(&mut self, e: &Expr, ts: i64) -> Result<Vec<InstantSample>, QueryError> {
        match self.eval(e, ts)? {
            Value::Vector(v) => Ok(v),
            v => Err(exec(format!(
                "expected an instant vector argument, got {}",
                v.type_name()
            ))),
        }
    }

    fn string_arg(&mut self, e: &Expr, ts: i64) -> Result<String, QueryError> {
        match self.eval(e, ts)? {
            Value::String { v, .. } => Ok(v),
            v => Err(exec(format!(
                "expected a string argument, got {}",
                v.type_name()
            ))),
        }
    }

    fn call(&mut self, c: &Call, ts: i64) -> Result<Value, QueryError> {
        if let Some(v) = self.pre.get(&key(c)).and_then(|p| p.at(ts)) {
            return Ok(Value::Vector(v));
        }
        let name = c.func.name;
        let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
        let arg = |i: usize| -> Result<&Expr, QueryError> {
            args.get(i)
                .copied()
                .ok_or_else(|| exec(format!("{name}: missing argument {}", i + 1)))
        };
        let per_series = |m: RangeArg,
                          keep_name: bool,
                          f: &mut dyn FnMut(&[Sample], &RangeArg) -> Option<f64>|
         -> Vec<InstantSample> {
            let mut out = Vec::new();
            m.for_each(|labels, samples| {
                if let Some(v) = f(samples, &m) {
                    out.push(InstantSample::new(labels.clone(), ts, v, !keep_name));
                }
            });
            out
        };
        let out = match name {
            "rate" | "increase" | "delta" => {
                let m = self.range_arg(arg(0)?, ts)?;
                if name != "delta" {
                    let needle = Self::needle(arg(0)?);
                    let mut names: Vec<String> = Vec::new();
                    let checked = &mut self.counter_checked;
                    m.for_each(|l, _| {
                        if !checked.insert(l.id()) {
                            return;
                        }
                        let n = l.metric_name().unwrap_or("");
                        if !names.iter().any(|x| x == n) {
                            names.push(n.to_string());
                        }
                    });
                    for n in &names {
                        self.counter_info(n, &needle);
                    }
                }
                per_series(m, false, &mut |s, m| {
                    range::extrapolated_rate(
                        s,
                        m.start,
                        m.end,
                        m.range_s,
                        name != "delta",
                        name == "rate",
                    )
                })
            }
            "irate" | "idelta" => {
                let m = self.range_arg(arg(0)?, ts)?;
                per_series(m, false, &mut |s, _| {
                    range::instant_value(s, name == "irate")
                })
            }
            "deriv" => per_series(self.range_arg(arg(0)?, ts)?, false, &mut |s, _| {
                range::deriv(s)
            }),
            "resets" => per_series(self.range_arg(arg(0)?, ts)?, false, &mut |s, _| {
                range::resets(s)
            }),
            "changes" => per_series(self.range_arg(arg(0)?, ts)?, false, &mut |s, _| {
                range::changes(s)
            }),
            "predict_linear" => {
                let m = self.range_arg(arg(0)?, ts)?;
                let secs = self.scalar_arg(arg(1)?, ts)?;
                // The prediction is anchored at the evaluation time, even with @.
                per_series(m, false, &mut |s, _| range::predict_linear(s, ts, secs))
            }
            "quantile_over_time" => {
                let q = self.scalar_arg(arg(0)?, ts)?;
                self.check_quantile(q, "quantile_over_time");
                let m = self.range_arg(arg(1)?, ts)?;
                per_series(m, false, &mut |s, _| {
                    let mut v: Vec<f64> = s.iter().map(|x| x.v).collect();
                    Some(super::functions::quantile(q, &mut v))
                })
            }
            n if range::is_over_time(n) => {
                let keep = matches!(n, "last_over_time" | "first_over_time");
                per_series(self.range_arg(arg(0)?, ts)?, keep, &mut |s, _| {
                    range::over_time(n, s)
                })
            }
            "absent_over_time" => {
                let m = self.range_arg(arg(0)?, ts)?;
                if m.is_empty() {
                    vec![InstantSample::new(
                        absent_labels(m.selector.as_ref()),
                        ts,
                        1.0,
                        false,
                    )]
                } else {
                    Vec::new()
                }
            }
            "absent" => {
                let a = arg(0)?;
                let v = self.vector_arg(a, ts)?;
                if v.is_empty() {
                    let vs = match unwrap_parens(a) {
                        Expr::VectorSelector(vs) => Some(vs),
                        _ => None,
                    };
                    vec![InstantSample::new(absent_labels(vs), ts, 1.0, false)]
                } else {
                    Vec::new()
                }
            }
            "time" => {
                return Ok(Value::Scalar {
                    t: ts,
                    v: ts as f64 / 1000.0,
                })
            }
            "pi" => {
                return Ok(Value::Scalar {
                    t: ts,
                    v: std::f64::consts::PI,
                })
            }

            "start" => {
                return Ok(Value::Scalar {
                    t: ts,
                    v: self.start as f64 / 1000.0,
                })
            }
            "end" => {
                return Ok(Value::Scalar {
                    t: ts,
                    v: self.end as f64 / 1000.0,
                })
            }
            "range" => {
                return Ok(Value::Scalar {
                    t: ts,
                    v: (self.end - self.start) as f64 / 1000.0,
                })
            }
            "step" => {
                return Ok(Value::Scalar {
                    t: ts,
                    v: self.step as f64 / 1000.0,
                })
            }
            "min_of" | "max_of" => {
                let (a, b) = (self.scalar_arg(arg(0)?, ts)?, self.scalar_arg(arg(1)?, ts)?);
                let v = if name == "min_of" {
                    math::go_min(a, b)
                } else {
                    math::go_max(a, b)
                };
                return Ok(Value::Scalar { t: ts, v });
            }
            "double_exponential_smoothing" => {
                let m = self.range_arg(arg(0)?, ts)?;
                let sf = self.scalar_arg(arg(1)?, ts)?;
                let tf = self.scalar_arg(arg(2)?, ts)?;
                if !(sf > 0.0 && sf < 1.0) {
                    return Err(exec(format!(
                        "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
                    )));
                }
                if !(tf > 0.0 && tf < 1.0) {
                    return Err(exec(format!(
                        "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
                    )));
                }
                per_series(m, false, &mut |s, _| {
                    range::double_exponential_smoothing(s, sf, tf)
                })
            }
            "vector" => {
                let v = self.scalar_arg(arg(0)?, ts)?;
                vec![InstantSample::new(Labels::default(), ts, v, false)]
            }
            "scalar" => {
                let v = self.vector_arg(arg(0)?, ts)?;
                return Ok(Value::Scalar {
                    t: ts,
                    v: if v.len() == 1 { v[0].v } else { f64::NAN },
                });
            }
            "timestamp" => {
                let a = arg(0)?;
                let v = match unwrap_parens(a) {
                    Expr::VectorSelector(vs) => self.instant_selector(vs, ts, true),
                    _ => self.vector_arg(a, ts)?,
                };
                v.into_iter()
                    .map(|s| InstantSample::new(s.labels, ts, s.t as f64 / 1000.0, true))
                    .collect()
            }
            "year" | "month" | "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month"
            | "hour" | "minute" => {
                let v = match args.first() {
                    Some(a) => self.vector_arg(a, ts)?,
                    None => vec![InstantSample::new(
                        Labels::default(),
                        ts,
                        ts as f64 / 1000.0,
                        false,
                    )],
                };
                v.into_iter()
                    .map(|s| {
                        InstantSample::new(
                            s.labels,
                            ts,
                            tf::apply(name, s.v).unwrap_or(f64::NAN),
                            true,
                        )
                    })
                    .collect()
            }
            "round" => {
                let v = self.vector_arg(arg(0)?, ts)?;
                let to = match args.get(1) {
                    Some(a) => self.scalar_arg(a, ts)?,
                    None => 1.0,
                };
                v.into_iter()
                    .map(|s| InstantSample::new(s.labels, ts, math::round(s.v, to), true))
                    .collect()
            }
            "clamp" | "clamp_min" | "clamp_max" => {
                let v = self.vector_arg(arg(0)?, ts)?;
                let (lo, hi) = match name {
                    "clamp" => (self.scalar_arg(arg(1)?, ts)?, self.scalar_arg(arg(2)?, ts)?),
                    "clamp_min" => (self.scalar_arg(arg(1)?, ts)?, f64::INFINITY),
                    _ => (f64::NEG_INFINITY, self.scalar_arg(arg(1)?, ts)?),
                };
                if hi < lo {
                    Vec::new()
                } else {
                    v.into_iter()
                        .map(|s| {
                            let x = match name {
                                "clamp" => math::go_max(lo, math::go_min(hi, s.v)),
                                "clamp_min" => math::go_max(lo, s.v),
                                _ => math::go_min(hi, s.v),
                            };
                            InstantSample::new(s.labels, ts, x, true)
                        })
                        .collect()
                }
            }
            "label_replace" => {
                let v = self.vector_arg(arg(0)?, ts)?;
                let dst = self.string_arg(arg(1)?, ts)?;
                let repl = self.string_arg(arg(2)?, ts)?;
                let src = self.string_arg(arg(3)?, ts)?;
                let re_s = self.string_arg(arg(4)?, ts)?;
                let re = regex::Regex::new(&format!("^(?s:{re_s})$")).map_err(|e| {
                    exec(format!(
                        "invalid regular expression in label_replace(): {re_s}: {}",
                        e.to_string()
                            .lines()
                            .last()
                            .unwrap_or("")
                            .trim_start_matches("error: ")
                    ))
                })?;
                lf::check_label_name(&dst, "label_replace").map_err(exec)?;
                v.into_iter()
                    .map(|s| {
                        let labels = lf::label_replace(&s.labels, &dst, &repl, &src, &re);
                        let drop = s.drop_name && dst != METRIC_NAME;
                        InstantSample::new(labels, ts, s.v, drop)
                    })
                    .collect()
            }
            "label_join" => {
                let v = self.vector_arg(arg(0)?, ts)?;
                let dst = self.string_arg(arg(1)?, ts)?;
                let sep = self.string_arg(arg(2)?, ts)?;
                let mut srcs = Vec::new();
                for a in &args[3.min(args.len())..] {
                    srcs.push(self.string_arg(a, ts)?);
                }
                lf::check_label_name(&dst, "label_join").map_err(exec)?;
                v.into_iter()
                    .map(|s| {
                        let joined: Vec<&str> =
                            srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
                        let labels = lf::set_label(&s.labels, &dst, &joined.join(&sep));
                        let drop = s.drop_name && dst != METRIC_NAME;
                        InstantSample::new(labels, ts, s.v, drop)
                    })
                    .collect()
            }
            "histogram_quantiles" => {
                let v = self.vector_arg(arg(0)?, ts)?;
                let label = self.string_arg(arg(1)?, ts)?;
                lf::check_label_name(&label, "histogram_quantiles").map_err(exec)?;
                let mut qs = Vec::new();
                for a in &args[2.min(args.len())..] {
                    qs.push(self.scalar_arg(a, ts)?);
                }
                let mut out = Vec::new();
                for &q in &qs {
                    self.check_quantile(q, "histogram_quantiles");
                }
                let needle = Self::needle(arg(0)?);
                for (g, metric, mut b) in self.classic_groups(v, &needle) {
                    for &q in &qs {
                        let (val, fixed) =
                            super::functions::histogram::bucket_quantile_checked(q, &mut b);
                        if fixed {
                            self.info(format!("input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {metric:?}"), &needle);
                        }
                        out.push(InstantSample::new(
                            lf::set_label(&g, &label, &label_float(q)),
                            ts,
                            val,
                            false,
                        ));
                    }
                }
                out
            }
            "histogram_quantile" | "histogram_fraction" => {
                let fraction = name == "histogram_fraction";
                let q = self.scalar_arg(arg(0)?, ts)?;
                let upper_q = if fraction {
                    self.scalar_arg(arg(1)?, ts)?
                } else {
                    0.0
                };
                let vec_arg = arg(if fraction { 2 } else { 1 })?;
                let v = self.vector_arg(vec_arg, ts)?;
                if !fraction {
                    self.check_quantile(q, "histogram_quantile");
                }
                let needle = Self::needle(vec_arg);
                let mut out = Vec::new();
                for (g, metric, mut b) in self.classic_groups(v, &needle) {
                    let v = if fraction {
                        super::functions::histogram::bucket_fraction(q, upper_q, &mut b)
                    } else {
                        let (v, fixed) =
                            super::functions::histogram::bucket_quantile_checked(q, &mut b);
                        if fixed {
                            self.info(format!("input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {metric:?}"), &needle);
                        }
                        v
                    };
                    out.push(InstantSample::new(g, ts, v, false));
                }
                out
            }
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" if self.step > 0 => {
                self.warn("sort is ineffective for range queries since results are always ordered by labels".into(), name);
                self.vector_arg(arg(0)?, ts)?
            }
            "sort" | "sort_desc" => {
                let mut v = self.vector_arg(arg(0)?, ts)?;
                let desc = name == "sort_desc";
                v.sort_by(|a, b| {
                    use std::cmp::Ordering::*;
                    match (a.v.is_nan(), b.v.is_nan()) {
                        (true, true) => Equal,
                        (true, false) => Greater,
                        (false, true) => Less,
                        _ if desc => b.v.partial_cmp(&a.v).unwrap_or(Equal),
                        _ => a.v.partial_cmp(&b.v).unwrap_or(Equal),
                    }
                });
                v
            }
            "sort_by_label" | "sort_by_label_desc" => {
                let mut v = self.vector_arg(arg(0)?, ts)?;
                let mut names = Vec::new();
                for a in &args[1.min(args.len())..] {
                    names.push(self.string_arg(a, ts)?);
                }
                v.sort_by(|a, b| {
                    for n in &names {
                        let o = natural_cmp(
                            a.labels.get(n).unwrap_or(""),
                            b.labels.get(n).unwrap_or(""),
                        );
                        if o != std::cmp::Ordering::Equal {
                            return o;
                        }
                    }
                    a.labels.cmp(&b.labels)
                });
                if name == "sort_by_label_desc" {
                    v.reverse();
                }
                v
            }
            n => match math::unary(n) {
                Some(f) => {
                    let v = self.vector_arg(arg(0)?, ts)?;
                    v.into_iter()
                        .map(|s| InstantSample::new(s.labels, ts, f(s.v), true))
                        .collect()
                }
                None => return Err(exec(format!("function {n:?} is not supported yet"))),
            },
        };
        Ok(Value::Vector(out))
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
                    "and" | "or" | "unless" => Ok(Value::Vector(set_op(
                        &mut self.memo,
                        key(b),
                        &op,
                        l,
                        r,
                        matching,
                    ))),
                    _ => Ok(Value::Vector(vector_vector(
                        &mut self.memo,
                        key(b),
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
            (l, r) => Err(exec(format!(
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
            let drop = s.drop_name || !comparison || return_bool;
            out.push(InstantSample::new(s.labels, s.t, v, drop));
        }
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
    node: usize,
    op: &str,
    l: Vec<InstantSample>,
    r: Vec<InstantSample>,
    matching: Option<&LabelModifier>,
) -> Vec<InstantSample> {
    let rsigs: HashSet<u64, FxBuild> = r
        .iter()
        .map(|s| signature(memo, node, &s.labels, matching))
        .collect();
    match op {
        "and" => l
            .into_iter()
            .filter(|s| rsigs.contains(&signature(memo, node, &s.labels, matching)))
            .collect(),
        "unless" => l
            .into_iter()
            .filter(|s| !rsigs.contains(&signature(memo, node, &s.labels, matching)))
            .collect(),
        _ => {
            let lsigs: HashSet<u64, FxBuild> = l
                .iter()
                .map(|s| signature(memo, node, &s.labels, matching))
                .collect();
            let mut out = l;
            out.extend(
                r.into_iter()
                    .filter(|s| !lsigs.contains(&signature(memo, node, &s.labels, matching))),
            );
            out
        }
    }
}

fn fmt_sig(sig: &[(String, String)]) -> String {
    let parts: Vec<String> = sig.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", parts.join(", "))
}

#[allow(clippy::too_many_arguments)]
fn vector_vector(
    memo: &mut Memo,
    node: usize,
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
    let mut one_by_sig: HashMap<u64, usize, FxBuild> =
        HashMap::with_capacity_and_hasher(one.len(), FxBuild::default());
    for (i, s) in one.iter().enumerate() {
        let sig = signature(memo, node, &s.labels, matching);
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
        let sig = signature(memo, node, &s.labels, matching);
        let Some(&oi) = one_by_sig.get(&sig) else {
            continue;
        };
        let o = &one[oi];
        if one_to_one && !seen_many.insert(sig) {
            let side = if swapped { "right" } else { "left" };
            return Err(exec(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation;many-to-many matching not allowed: matching labels must be unique on one side",
                fmt_sig(&signature_pairs(&s.labels, matching))
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
        let drop = s.drop_name || !comparison || return_bool;
        let labels = memo.derive2(node, &s.labels, &o.labels, |many_l, one_l| {
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
        out.push(InstantSample::new(labels, s.t, v, drop));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
