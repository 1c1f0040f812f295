//! The evaluator of one query (or one part of a range query's steps): its state (`Eval`:
//! preloaded series, cursors, caches, annotations), the checks every step makes (deadline,
//! cancellation, duplicate label sets), annotations with their positions in the query text,
//! the sample counter of the query's statistics (`counter`),
//! and small helpers over the tree (`key`, `unwrap_parens`, `start_needle`, `ref_time`).
//!
//! Uses `settings`, `precomputed`, `info`, and `stats`, `value`, `memo`, `storage` from `promql`'s
//! lower layers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use promql_parser::parser::{AtModifier, Expr, Offset};

use super::info::InfoSeries;
use super::precomputed::Precomputed;
use super::settings::{Engine, Stop};
use crate::model::{Labels, METRIC_NAME};
use crate::promql::memo::{FxBuild, Memo, DROP_NAME, INTERN};
use crate::promql::stats::Counter;
use crate::promql::value::{format_float, Annotation, InstantSample, Output, QueryError, Value};
use crate::storage::{Querier, Series};

/// A selector node's last read time and each series' (from, to) sample window at it.
pub(super) type Cursors = (i64, Vec<(usize, usize)>);

pub(super) struct Eval<'a> {
    pub(super) engine: &'a Engine,
    /// The store, for selectors streamed series by series (range queries only).
    pub(super) querier: &'a dyn Querier,
    /// Selector nodes not preloaded: `precompute` streams them from `querier`.
    pub(super) streamed: Arc<HashSet<usize, FxBuild>>,
    pub(super) start: i64,
    pub(super) end: i64,
    /// The query step (0 for instant queries).
    pub(super) step: i64,
    query: String,
    stop: Stop,
    /// Annotations keyed by message (without position), in order of first appearance.
    warnings: Vec<(String, String)>,
    infos: Vec<(String, String)>,
    /// Preloaded series per selector node.
    pub(super) data: HashMap<usize, Arc<Vec<Series>>>,
    /// Preloaded info series per `info()` call node.
    pub(super) info: HashMap<usize, Arc<InfoSeries>, FxBuild>,
    /// Inner results of subqueries, by (node, evaluation time).
    pub(super) sub_cache: HashMap<(usize, i64), Vec<InstantSample>>,
    pub(super) memo: Memo,
    /// Per selector node: the last read time and each series' window (from, to) at it, so
    /// windows advance incrementally as range queries step forward.
    pub(super) cursors: HashMap<usize, Cursors, FxBuild>,
    /// Series already checked for the "might not be a counter" info (by label-set id; their
    /// labels live in `data` for the whole query).
    pub(super) counter_checked: HashSet<usize, FxBuild>,
    /// Range-function calls computed for all steps of this part before stepping.
    pub(super) pre: HashMap<usize, Precomputed, FxBuild>,
    /// Samples read per step and held, for the query's statistics (idle unless asked for).
    pub(super) counter: Counter,
}

impl<'a> Eval<'a> {
    /// An evaluator with nothing loaded yet.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        engine: &'a Engine,
        querier: &'a dyn Querier,
        streamed: HashSet<usize, FxBuild>,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        stop: &Stop,
    ) -> Self {
        Eval {
            engine,
            querier,
            streamed: Arc::new(streamed),
            start,
            end,
            step,
            query: query.to_string(),
            stop: stop.clone(),
            warnings: Vec::new(),
            infos: Vec::new(),
            data: HashMap::new(),
            info: HashMap::default(),
            sub_cache: HashMap::new(),
            memo: Memo::default(),
            cursors: HashMap::default(),
            counter_checked: HashSet::default(),
            pre: HashMap::default(),
            counter: Counter::new(stop.stats),
        }
    }

    /// A fresh evaluator over the same preloaded data (for another part of the steps).
    pub(super) fn fork(&self) -> Self {
        let mut ev = Eval::new(
            self.engine,
            self.querier,
            HashSet::default(),
            &self.query,
            self.start,
            self.end,
            self.step,
            &self.stop,
        );
        ev.streamed = self.streamed.clone();
        ev.data = self.data.clone();
        ev.info = self.info.clone();
        ev
    }

    /// Applies pending name removal and rejects duplicate label sets.
    pub(super) fn finish(
        &mut self,
        v: Vec<InstantSample>,
    ) -> Result<Vec<InstantSample>, QueryError> {
        // Every label set is interned, so equal contents have equal ids.
        let mut seen: HashSet<usize, FxBuild> =
            HashSet::with_capacity_and_hasher(v.len(), FxBuild::default());
        let mut out = Vec::with_capacity(v.len());
        for s in v {
            let labels = self.final_labels(&s);
            if !seen.insert(labels.id()) {
                return Err(duplicate_labelset());
            }
            let t = s.t;
            out.push(s.relabeled(labels, t, false));
        }
        Ok(out)
    }

    /// A sample's labels once its pending name removal applies, interned (equal contents have
    /// equal ids).
    fn final_labels(&mut self, s: &InstantSample) -> Labels {
        if s.drop_name {
            self.memo
                .derive_interned(DROP_NAME, &s.labels, |l| l.without(METRIC_NAME))
        } else {
            self.memo.derive_interned(INTERN, &s.labels, Labels::clone)
        }
    }

    /// Rejects an aggregation's input whose samples would have equal label sets once their
    /// pending name removal applies — what Prometheus finds at the function or operator that
    /// drops the names, before the aggregation could hide it. Free when every sample keeps
    /// its name or all share one. Only with `Engine::refuse_hidden_duplicates`.
    pub(super) fn check_dropped_duplicates(
        &mut self,
        v: &[InstantSample],
    ) -> Result<(), QueryError> {
        if !self.engine.refuse_hidden_duplicates {
            return Ok(());
        }
        let mut names = v
            .iter()
            .filter(|s| s.drop_name)
            .map(|s| s.labels.metric_name());
        let Some(first) = names.next() else {
            return Ok(());
        };
        if names.all(|n| n == first) {
            return Ok(());
        }
        let mut seen: HashSet<usize, FxBuild> =
            HashSet::with_capacity_and_hasher(v.len(), FxBuild::default());
        for s in v {
            let labels = self.final_labels(s);
            if !seen.insert(labels.id()) {
                return Err(duplicate_labelset());
            }
        }
        Ok(())
    }

    pub(super) fn check_deadline(&self) -> Result<(), QueryError> {
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

    /// The text of the query being evaluated.
    pub(super) fn query_text(&self) -> &str {
        &self.query
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

    pub(super) fn warn(&mut self, msg: String, needle: &str) {
        if !self.warnings.iter().any(|(m, _)| *m == msg) {
            let full = format!("PromQL warning: {msg} {}", self.position(needle));
            self.warnings.push((msg, full));
        }
    }

    pub(super) fn info(&mut self, msg: String, needle: &str) {
        if !self.infos.iter().any(|(m, _)| *m == msg) {
            let full = format!("PromQL info: {msg} {}", self.position(needle));
            self.infos.push((msg, full));
        }
    }

    /// Reports an operator's or aggregation's annotation at the first occurrence of `needle`.
    pub(super) fn annotate(&mut self, a: Annotation, needle: &str) {
        match a {
            Annotation::Warning(m) => self.warn(m, needle),
            Annotation::Info(m) => self.info(m, needle),
        }
    }

    pub(super) fn output(self, value: Value) -> Output {
        Output {
            value,
            warnings: self.warnings.into_iter().map(|(_, f)| f).collect(),
            infos: self.infos.into_iter().map(|(_, f)| f).collect(),
            stats: None,
        }
    }

    /// The text to locate an argument by: its metric name, if it has one.
    pub(super) fn needle(e: &Expr) -> String {
        match unwrap_parens(e) {
            Expr::VectorSelector(vs) => vs.name.clone().unwrap_or_default(),
            Expr::MatrixSelector(ms) => ms.vs.name.clone().unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// The info Prometheus gives for rate/increase over a metric not named like a counter.
    pub(super) fn counter_info(&mut self, name: &str, needle: &str) {
        if !["_total", "_sum", "_count", "_bucket"]
            .iter()
            .any(|x| name.ends_with(x))
        {
            self.info(format!("metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"), needle);
        }
    }

    pub(super) fn check_quantile(&mut self, q: f64, needle: &str) {
        if q.is_nan() || !(0.0..=1.0).contains(&q) {
            self.warn(
                format!(
                    "quantile value should be between 0 and 1, got {}",
                    format_float(q)
                ),
                needle,
            );
        }
    }

    /// The time a selector reads at, for evaluation time `ts`.
    pub(super) fn ref_time(
        &self,
        ts: i64,
        at: &Option<AtModifier>,
        offset: &Option<Offset>,
    ) -> i64 {
        let base = match at {
            None => ts,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(t)) => system_time_ms(t),
        };
        base - offset_ms(offset)
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

/// The node's identity for the preload cache and the per-node memo.
pub(super) fn key<T>(node: &T) -> usize {
    node as *const T as usize
}

/// Text found where `e` starts in the query, to place an annotation about `e` (Prometheus
/// reports the start of the responsible expression): the first selector's metric name (or
/// its `{`), a function's or aggregation's name, `(` of parentheses, `-` of unary minus, a
/// number as Prometheus writes it (a number written otherwise is not found: the start of
/// the query is used).
pub(super) fn start_needle(e: &Expr) -> String {
    match e {
        Expr::VectorSelector(vs) => vs.name.clone().unwrap_or_else(|| "{".into()),
        Expr::MatrixSelector(ms) => ms.vs.name.clone().unwrap_or_else(|| "{".into()),
        Expr::Binary(b) => start_needle(&b.lhs),
        Expr::Subquery(s) => start_needle(&s.expr),
        Expr::Paren(_) => "(".into(),
        Expr::Unary(_) => "-".into(),
        Expr::Call(c) => c.func.name.to_string(),
        Expr::Aggregate(a) => a.op.to_string(),
        Expr::NumberLiteral(n) => format_float(n.val),
        Expr::StringLiteral(_) | Expr::Extension(_) => String::new(),
    }
}

pub(super) fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

fn duplicate_labelset() -> QueryError {
    QueryError::Execution("vector cannot contain metrics with the same labelset".into())
}
