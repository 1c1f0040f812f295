//! Rule groups and their evaluation, as Prometheus's rules package does it.
//!
//! A group evaluates its rules in order at one timestamp; each rule's results are appended
//! before the next rule runs (so later rules see them). Recording rules rename and relabel
//! their query's result; alerting rules keep a set of active alerts moving inactive → pending →
//! firing (after `for`) → resolved (kept 15 minutes for notifications), with `keep_firing_for`,
//! and write the `ALERTS` and `ALERTS_FOR_STATE` series. Series a rule produced at its previous
//! evaluation and not at this one get a stale marker. Timestamps are nanoseconds here (alert
//! times keep Prometheus's precision); samples are written in milliseconds.
//!
//! Native histograms, as in Prometheus 3: a recording rule whose query yields histogram
//! samples records them (a series may flip between float and histogram samples); the stale
//! marker of a vanished series is the float stale NaN, which the store keeps as a histogram
//! stale marker where the series' newest sample is a histogram. An alerting rule fires for a
//! histogram sample like any other: its templates see the histogram as `$value` (printed as
//! Go's `FloatHistogram.String()`), and the alert's value (the API's `value`) is the sample's
//! float, 0.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use promql_parser::parser::Expr;
use serde_json::{json, Value};

use super::template::{self, Env, QuerySample, Template, Val, ALERT_VARS};
use crate::config::{RuleGroup, RuleNode};
pub use crate::model::rfc3339_nano;
use crate::model::{
    format_go_g, labels_hash, stale_nan, FloatHistogram, HistogramSample, HistogramValue, Labels,
    Matcher, Sample, METRIC_NAME,
};
use crate::promql::engine::{self, Engine, Stop};
use crate::storage::{Appender, HistogramInput, Querier, SeriesInput};

/// How long a resolved alert is kept (for notifications): 15 minutes, as in Prometheus.
pub const RESOLVED_RETENTION_NS: i64 = 15 * 60 * 1_000_000_000;
const NS_PER_MS: i64 = 1_000_000;

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of an alerting rule. Times are Unix nanoseconds, 0 for "never".
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub state: AlertState,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub value: f64,
    pub active_at: i64,
    pub fired_at: i64,
    pub resolved_at: i64,
    pub last_sent_at: i64,
    pub valid_until: i64,
    pub keep_firing_since: i64,
}

impl Alert {
    /// Prometheus's `needsSending`.
    fn needs_sending(&self, ts: i64, resend_delay: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        if self.resolved_at > self.last_sent_at {
            return true;
        }
        self.last_sent_at + resend_delay < ts
    }
}

/// `ok`, `err` or `unknown` (not evaluated yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Good,
    Bad,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Good => "ok",
            Health::Bad => "err",
        }
    }
}

/// What an alerting rule adds to a rule.
#[derive(Debug, Clone)]
pub struct AlertingRule {
    pub for_ns: i64,
    pub keep_firing_for_ns: i64,
    pub annotations: BTreeMap<String, String>,
    label_templates: Vec<(String, Template)>,
    annotation_templates: Vec<(String, Template)>,
    pub active: HashMap<Labels, Alert>,
    /// `for` state restored (or nothing to restore): only then are `ALERTS` series written.
    pub restored: bool,
}

/// A recording or alerting rule with its evaluation state.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub expr: Expr,
    /// The expression as Prometheus prints it.
    pub query: String,
    /// Static labels (group labels merged under the rule's own); templates for alerts.
    pub labels: BTreeMap<String, String>,
    pub alerting: Option<AlertingRule>,
    pub health: Health,
    pub last_error: Option<String>,
    pub eval_seconds: f64,
    /// Wall-clock time of the last evaluation (ns), 0 before the first.
    pub last_eval: i64,
    /// Series written at the previous evaluation (for stale markers).
    pub prev_series: HashSet<Labels>,
}

/// Alerts to send after an alerting rule's evaluation: (rule expression, alerts).
pub type Notification = (String, Vec<Alert>);

/// What evaluation needs from the server.
pub struct EvalCtx<'a> {
    pub querier: &'a dyn Querier,
    pub appender: &'a dyn Appender,
    pub engine: &'a Engine,
    pub external_labels: &'a BTreeMap<String, String>,
    pub external_url: &'a str,
    /// `--rules.alert.resend-delay` (ns).
    pub resend_delay_ns: i64,
    /// Longest one rule's query may run.
    pub query_timeout: std::time::Duration,
}

/// A group of rules from one file.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub file: String,
    pub interval_ns: i64,
    pub query_offset_ns: i64,
    pub limit: usize,
    pub rules: Vec<Rule>,
    pub eval_seconds: f64,
    pub last_eval: i64,
    /// The group as written, to tell whether a reload changed it.
    pub source: RuleGroup,
}

/// Checks a rule's expression and templates; the messages are promtool's.
pub fn parse_rule(
    r: &RuleNode,
    group_labels: &BTreeMap<String, String>,
) -> Result<Rule, Vec<String>> {
    let mut errs = Vec::new();
    let expr = match engine::parse(&r.expr) {
        Ok(e) => Some(e),
        Err(e) => {
            errs.push(format!("could not parse expression: {e}"));
            None
        }
    };
    let mut labels = group_labels.clone();
    labels.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    let alerting = match &r.alert {
        None => None,
        Some(name) => {
            let tname = format!("__alert_{name}");
            let mut label_templates = Vec::new();
            for (k, v) in &labels {
                match Template::parse(&tname, v, &ALERT_VARS) {
                    Ok(t) => label_templates.push((k.clone(), t)),
                    Err(e) => errs.push(format!("label {k:?}: {e}")),
                }
            }
            let mut annotation_templates = Vec::new();
            for (k, v) in &r.annotations {
                match Template::parse(&tname, v, &ALERT_VARS) {
                    Ok(t) => annotation_templates.push((k.clone(), t)),
                    Err(e) => errs.push(format!("annotation {k:?}: {e}")),
                }
            }
            Some(AlertingRule {
                for_ns: r.for_.map_or(0, |d| d.as_std().as_nanos() as i64),
                keep_firing_for_ns: r
                    .keep_firing_for
                    .map_or(0, |d| d.as_std().as_nanos() as i64),
                annotations: r.annotations.clone(),
                label_templates,
                annotation_templates,
                active: HashMap::new(),
                restored: false,
            })
        }
    };
    match expr {
        Some(expr) if errs.is_empty() => Ok(Rule {
            name: r.name().to_string(),
            query: crate::promql::parse_trim::expr_string(&expr),
            expr,
            labels,
            alerting,
            health: Health::Unknown,
            last_error: None,
            eval_seconds: 0.0,
            last_eval: 0,
            prev_series: HashSet::new(),
        }),
        _ => Err(errs),
    }
}

fn sample_input(l: &Labels, t: i64, v: f64) -> SeriesInput<'_> {
    SeriesInput {
        labels: l.iter().map(|x| (&*x.name, &*x.value)).collect(),
        samples: vec![Sample { t, v }],
    }
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`, as the alerts API writes values.
pub fn format_go_e(v: f64) -> String {
    if !v.is_finite() {
        return format_go_g(v);
    }
    let s = format!("{v:e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let n: i32 = e.parse().unwrap_or(0);
    format!("{m}e{}{:02}", if n < 0 { '-' } else { '+' }, n.abs())
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

impl Group {
    /// Builds a group from its file form; `interval` and `query_offset` are the defaults from
    /// the global config. Errors are promtool's messages, one per problem.
    pub fn new(
        file: &str,
        g: &RuleGroup,
        interval: std::time::Duration,
        query_offset: std::time::Duration,
    ) -> Result<Group, Vec<String>> {
        let mut rules = Vec::new();
        let mut errs = Vec::new();
        for (i, r) in g.rules.iter().enumerate() {
            match parse_rule(r, &g.labels) {
                Ok(rule) => rules.push(rule),
                Err(es) => {
                    errs.extend(es.into_iter().map(|e| {
                        format!("group {:?}, rule {}, {:?}: {e}", g.name, i + 1, r.name())
                    }))
                }
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(Group {
            name: g.name.clone(),
            file: file.to_string(),
            interval_ns: g.interval.map_or(interval, |d| d.as_std()).as_nanos() as i64,
            query_offset_ns: g
                .query_offset
                .map_or(query_offset, |d| d.as_std())
                .as_nanos() as i64,
            limit: g.limit as usize,
            rules,
            eval_seconds: 0.0,
            last_eval: 0,
            source: g.clone(),
        })
    }

    /// The evaluation time at or before `now` (ns) in this group's slot: each group is offset
    /// within its interval by a hash of its name and file, as Prometheus spreads them.
    pub fn eval_timestamp(&self, now: i64) -> i64 {
        let interval = self.interval_ns.max(1);
        let h = labels_hash(&Labels::from_pairs([
            ("file", self.file.as_str()),
            ("name", self.name.as_str()),
        ]));
        let offset = (h % interval as u64) as i64;
        let adj = now - offset;
        adj - adj.rem_euclid(interval) + offset
    }

    /// Takes over the state of the same rules (same name and labels, in order) of the group
    /// this one replaces, as Prometheus's `CopyState` does on reload.
    pub fn copy_state(&mut self, old: &Group) {
        self.eval_seconds = old.eval_seconds;
        self.last_eval = old.last_eval;
        let mut by_key: HashMap<(String, BTreeMap<String, String>), Vec<usize>> = HashMap::new();
        for (i, r) in old.rules.iter().enumerate() {
            by_key
                .entry((r.name.clone(), r.labels.clone()))
                .or_default()
                .push(i);
        }
        for r in &mut self.rules {
            let Some(list) = by_key.get_mut(&(r.name.clone(), r.labels.clone())) else {
                continue;
            };
            if list.is_empty() {
                continue;
            }
            let o = &old.rules[list.remove(0)];
            r.prev_series = o.prev_series.clone();
            r.health = o.health;
            r.last_error = o.last_error.clone();
            r.eval_seconds = o.eval_seconds;
            r.last_eval = o.last_eval;
            if let (Some(a), Some(oa)) = (&mut r.alerting, &o.alerting) {
                a.active = oa.active.clone();
                a.restored = oa.restored;
            }
        }
    }

    /// Stale markers at `t_ms` for everything the group's rules wrote last time (the group is
    /// going away).
    pub fn mark_stale(&self, t_ms: i64, appender: &dyn Appender) {
        let all: Vec<&Labels> = self
            .rules
            .iter()
            .flat_map(|r| r.prev_series.iter())
            .collect();
        let batch: Vec<SeriesInput> = all
            .iter()
            .map(|l| sample_input(l, t_ms, stale_nan()))
            .collect();
        if !batch.is_empty() {
            let _ = appender.append(&batch);
        }
    }

    /// Evaluates every rule at `ts` (ns): results and stale markers are appended; returns the
    /// alerts to send to Alertmanager.
    pub fn eval(&mut self, ts: i64, ctx: &EvalCtx<'_>) -> Vec<Notification> {
        let started = Instant::now();
        let mut notes = Vec::new();
        let query_ts_ms = (ts - self.query_offset_ns).div_euclid(NS_PER_MS);
        for i in 0..self.rules.len() {
            let rule_started = Instant::now();
            let limit = self.limit;
            let offset = self.query_offset_ns;
            let rule = &mut self.rules[i];
            rule.last_eval = now_ns();
            let result = eval_rule(rule, ts, offset, limit, ctx);
            rule.eval_seconds = rule_started.elapsed().as_secs_f64();
            let out = match result {
                Ok(v) => {
                    rule.health = Health::Good;
                    rule.last_error = None;
                    v
                }
                Err(e) => {
                    rule.health = Health::Bad;
                    rule.last_error = Some(e);
                    continue;
                }
            };
            if let Some(a) = &mut rule.alerting {
                let mut send = Vec::new();
                let delta = ctx.resend_delay_ns.max(self.interval_ns);
                let mut keys: Vec<&Labels> = a.active.keys().collect();
                keys.sort();
                let keys: Vec<Labels> = keys.into_iter().cloned().collect();
                for k in keys {
                    let Some(alert) = a.active.get_mut(&k) else {
                        continue;
                    };
                    if alert.needs_sending(ts, ctx.resend_delay_ns) {
                        alert.last_sent_at = ts;
                        alert.valid_until = ts + 4 * delta;
                        send.push(alert.clone());
                    }
                }
                if !send.is_empty() {
                    notes.push((rule.query.clone(), send));
                }
            }
            // Append the results (floats and histograms); series gone since last time get a
            // float stale marker, as Prometheus writes them (the store keeps it as a histogram
            // stale marker for a series whose newest sample is a histogram).
            let mut returned: HashSet<Labels> = HashSet::with_capacity(out.len());
            let mut batch: Vec<SeriesInput> = Vec::with_capacity(out.len());
            let mut hbatch: Vec<HistogramInput> = Vec::new();
            let mut invalid: Option<String> = None;
            for (l, t, v, h) in &out {
                match h {
                    None => {
                        batch.push(sample_input(l, *t, *v));
                    }
                    Some(h) => {
                        let h = HistogramValue::Float(FloatHistogram::clone(h));
                        if let Err(e) = h.validate() {
                            // Not written, so not returned (a stale marker follows if it was
                            // there before), as Prometheus treats a refused append.
                            invalid.get_or_insert_with(|| {
                                format!("histogram sample of series {l} is invalid: {e}")
                            });
                            continue;
                        }
                        hbatch.push(HistogramInput {
                            labels: l.iter().map(|x| (&*x.name, &*x.value)).collect(),
                            histograms: vec![HistogramSample { t: *t, h }],
                        });
                    }
                }
                returned.insert(l.clone());
            }
            let stale: Vec<Labels> = rule
                .prev_series
                .iter()
                .filter(|l| !returned.contains(*l))
                .cloned()
                .collect();
            for l in &stale {
                batch.push(sample_input(l, query_ts_ms, stale_nan()));
            }
            let appended = ctx.appender.append(&batch).and_then(|mut st| {
                if !hbatch.is_empty() {
                    st.add(&ctx.appender.append_histograms(&hbatch)?);
                }
                Ok(st)
            });
            match appended {
                Ok(st) if st.rejected() > 0 => {
                    rule.health = Health::Bad;
                    rule.last_error = Some(
                        if st.out_of_order > 0 {
                            "out of order sample"
                        } else if st.duplicate > 0 {
                            "duplicate sample for timestamp"
                        } else {
                            "invalid histogram sample"
                        }
                        .into(),
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    rule.health = Health::Bad;
                    rule.last_error = Some(e.to_string());
                }
            }
            if let Some(e) = invalid {
                rule.health = Health::Bad;
                rule.last_error = Some(e);
            }
            rule.prev_series = returned;
        }
        self.eval_seconds = started.elapsed().as_secs_f64();
        self.last_eval = now_ns();
        notes
    }

    /// Restores the `for` state of active alerts from `ALERTS_FOR_STATE` after a restart, as
    /// Prometheus does: alerts active within `outage_tolerance` keep their pending time, and
    /// none fires sooner than `grace` after the restart.
    pub fn restore_for_state(
        &mut self,
        ts: i64,
        querier: &dyn Querier,
        grace_ns: i64,
        outage_tolerance_ns: i64,
    ) {
        let mint = (ts - outage_tolerance_ns).div_euclid(NS_PER_MS);
        let maxt = ts.div_euclid(NS_PER_MS);
        for rule in &mut self.rules {
            let Some(a) = &mut rule.alerting else {
                continue;
            };
            if a.for_ns < grace_ns || a.active.is_empty() {
                a.restored = true;
                continue;
            }
            let matchers = [
                Matcher::equal(METRIC_NAME, "ALERTS_FOR_STATE"),
                Matcher::equal("alertname", &rule.name),
            ];
            let series = match querier.select(&matchers, mint, maxt) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(rule = %rule.name, "cannot restore the 'for' state: {e}");
                    a.restored = true;
                    continue;
                }
            };
            let by_labels: HashMap<Labels, (i64, f64)> = series
                .into_iter()
                .filter_map(|s| {
                    let last = s.samples.last()?;
                    Some((s.labels.without(METRIC_NAME), (last.t, last.v)))
                })
                .collect();
            for alert in a.active.values_mut() {
                let Some(&(t, v)) = by_labels.get(&alert.labels) else {
                    continue;
                };
                if crate::model::is_stale_nan(v) {
                    continue;
                }
                let down_at = t.div_euclid(1000) * 1_000_000_000;
                let mut active_at = (v as i64) * 1_000_000_000;
                let pending_for = down_at - active_at;
                let remaining = a.for_ns - pending_for;
                if remaining <= 0 {
                    // It was firing: the next evaluation fires it again if it still holds.
                } else if remaining < grace_ns {
                    active_at = ts + grace_ns - a.for_ns;
                } else {
                    active_at += ts - down_at;
                }
                alert.active_at = active_at;
            }
            a.restored = true;
        }
    }

    /// The group as `/api/v1/rules` shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "file": self.file,
            "rules": self.rules.iter().map(Rule::to_json).collect::<Vec<_>>(),
            "interval": self.interval_ns as f64 / 1e9,
            "limit": self.limit,
            "evaluationTime": self.eval_seconds,
            "lastEvaluation": rfc3339_nano(self.last_eval),
        })
    }
}

impl Rule {
    /// The rule as `/api/v1/rules` shows it.
    pub fn to_json(&self) -> Value {
        let mut v = match &self.alerting {
            Some(a) => {
                let mut alerts: Vec<&Alert> = a
                    .active
                    .values()
                    .filter(|x| x.state != AlertState::Inactive)
                    .collect();
                alerts.sort_by(|x, y| x.labels.cmp(&y.labels));
                let state = alerts
                    .iter()
                    .map(|x| x.state)
                    .max()
                    .unwrap_or(AlertState::Inactive);
                json!({
                    "state": state.as_str(),
                    "name": self.name,
                    "query": self.query,
                    "duration": a.for_ns as f64 / 1e9,
                    "keepFiringFor": a.keep_firing_for_ns as f64 / 1e9,
                    "labels": self.labels,
                    "annotations": a.annotations,
                    "alerts": alerts.iter().map(|x| alert_json(x)).collect::<Vec<_>>(),
                    "type": "alerting",
                })
            }
            None => {
                let mut v = json!({
                    "name": self.name,
                    "query": self.query,
                    "type": "recording",
                });
                if !self.labels.is_empty() {
                    v["labels"] = json!(self.labels);
                }
                v
            }
        };
        v["health"] = json!(self.health.as_str());
        if let Some(e) = &self.last_error {
            v["lastError"] = json!(e);
        }
        v["evaluationTime"] = json!(self.eval_seconds);
        v["lastEvaluation"] = json!(rfc3339_nano(self.last_eval));
        v
    }
}

/// An alert as `/api/v1/alerts` and `/api/v1/rules` show it.
pub fn alert_json(a: &Alert) -> Value {
    let mut v = json!({
        "labels": labels_map(&a.labels),
        "annotations": a.annotations,
        "state": a.state.as_str(),
        "activeAt": rfc3339_nano(a.active_at),
        "value": format_go_e(a.value),
    });
    if a.keep_firing_since != 0 {
        v["keepFiringSince"] = json!(rfc3339_nano(a.keep_firing_since));
    }
    v
}

pub fn labels_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|x| (x.name.to_string(), x.value.to_string()))
        .collect()
}

/// One sample of a rule's query result: a float, or a native histogram (`h`; `v` is then 0,
/// as Prometheus's `Sample.F` of a histogram sample).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSample {
    pub labels: Labels,
    pub v: f64,
    pub h: Option<Arc<FloatHistogram>>,
}

/// A sample a rule writes: its series, time (ms) and value.
type Output = (Labels, i64, f64, Option<Arc<FloatHistogram>>);

/// Runs a rule's query at `t_ms`: a vector (float and histogram samples), or a scalar as one
/// sample without labels.
fn query_vector(
    ctx: &EvalCtx<'_>,
    expr: &Expr,
    text: &str,
    t_ms: i64,
) -> Result<Vec<RuleSample>, String> {
    let stop = Stop {
        deadline: Some(Instant::now() + ctx.query_timeout),
        cancel: None,
        ..Stop::default()
    };
    let out = ctx
        .engine
        .run_instant_expr(ctx.querier, expr, text, t_ms, &stop)
        .map_err(|e| e.to_string())?;
    match out.value {
        engine::Value::Vector(v) => Ok(v
            .into_iter()
            .map(|s| {
                let labels = s.final_labels();
                match s.h {
                    Some(h) => RuleSample {
                        labels,
                        v: 0.0,
                        h: Some(Arc::from(h)),
                    },
                    None => RuleSample {
                        labels,
                        v: s.v,
                        h: None,
                    },
                }
            })
            .collect()),
        engine::Value::Scalar { v, .. } => Ok(vec![RuleSample {
            labels: Labels::default(),
            v,
            h: None,
        }]),
        _ => Err("rule result is not a vector or scalar".into()),
    }
}

/// Evaluates one rule; returns the samples to write as (labels, t ms, value, histogram).
fn eval_rule(
    rule: &mut Rule,
    ts: i64,
    offset_ns: i64,
    limit: usize,
    ctx: &EvalCtx<'_>,
) -> Result<Vec<Output>, String> {
    let t_ms = (ts - offset_ns).div_euclid(NS_PER_MS);
    let vector = query_vector(ctx, &rule.expr, &rule.query, t_ms)?;
    let Some(a) = &mut rule.alerting else {
        // Recording rule: float and histogram samples alike are renamed and relabelled.
        let mut out = Vec::with_capacity(vector.len());
        let mut seen = HashSet::with_capacity(vector.len());
        for RuleSample { labels: l, v, h } in vector {
            let mut m = labels_map(&l);
            m.insert(METRIC_NAME.to_string(), rule.name.clone());
            for (k, val) in &rule.labels {
                m.insert(k.clone(), val.clone());
            }
            let l = Labels::from_pairs(m);
            if !seen.insert(l.clone()) {
                return Err(
                    "vector contains metrics with the same labelset after applying rule labels"
                        .into(),
                );
            }
            out.push((l, t_ms, v, h));
        }
        if limit > 0 && out.len() > limit {
            return Err(format!(
                "exceeded limit of {limit} with {} series",
                out.len()
            ));
        }
        return Ok(out);
    };
    // Alerting rule.
    let run_query = |q: &str| -> Result<Vec<QuerySample>, String> {
        let expr = engine::parse(q).map_err(|e| e.to_string())?;
        let v = query_vector(ctx, &expr, q, ts.div_euclid(NS_PER_MS))?;
        Ok(v.into_iter()
            .map(|s| QuerySample {
                labels: labels_map(&s.labels),
                value: s.v,
                histogram: s.h,
            })
            .collect())
    };
    let env = Env {
        query: Some(&run_query),
        external_url: ctx.external_url,
    };
    let mut fresh: HashMap<Labels, Alert> = HashMap::with_capacity(vector.len());
    for RuleSample { labels: l, v, h } in &vector {
        let lmap = labels_map(l);
        // A histogram sample's `$value` is its histogram; the alert's value is the sample's
        // float, 0 for a histogram (Prometheus's `Sample.F`).
        let (dot, vars) = template::alert_data(
            &lmap,
            ctx.external_labels,
            ctx.external_url,
            Val::sample_value(*v, h.as_ref()),
        );
        let expand = |t: &Template| match t.execute(&dot, &vars, &env) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(rule = %rule.name, "expanding alert template failed: {e}");
                format!("<error expanding template: {e}>")
            }
        };
        let mut m = lmap.clone();
        m.remove(METRIC_NAME);
        for (k, t) in &a.label_templates {
            m.insert(k.clone(), expand(t));
        }
        m.insert("alertname".into(), rule.name.clone());
        let annotations: BTreeMap<String, String> = a
            .annotation_templates
            .iter()
            .map(|(k, t)| (k.clone(), expand(t)))
            .collect();
        let labels = Labels::from_pairs(m);
        if fresh.contains_key(&labels) {
            return Err(
                "vector contains metrics with the same labelset after applying alert labels".into(),
            );
        }
        fresh.insert(
            labels.clone(),
            Alert {
                state: AlertState::Pending,
                labels,
                annotations,
                value: *v,
                active_at: ts,
                fired_at: 0,
                resolved_at: 0,
                last_sent_at: 0,
                valid_until: 0,
                keep_firing_since: 0,
            },
        );
    }
    let result_keys: HashSet<Labels> = fresh.keys().cloned().collect();
    for (k, new) in fresh {
        match a.active.get_mut(&k) {
            Some(old) if old.state != AlertState::Inactive => {
                old.value = new.value;
                old.annotations = new.annotations;
            }
            _ => {
                a.active.insert(k, new);
            }
        }
    }
    let mut out = Vec::new();
    let mut active_pending = 0usize;
    let mut gone = Vec::new();
    let out_ms = t_ms;
    let mut keys: Vec<Labels> = a.active.keys().cloned().collect();
    keys.sort();
    for k in keys {
        let Some(alert) = a.active.get_mut(&k) else {
            continue;
        };
        if !result_keys.contains(&k) {
            let mut keep_firing = false;
            if alert.state == AlertState::Firing && a.keep_firing_for_ns > 0 {
                if alert.keep_firing_since == 0 {
                    alert.keep_firing_since = ts;
                }
                if ts - alert.keep_firing_since < a.keep_firing_for_ns {
                    keep_firing = true;
                }
            }
            if alert.state == AlertState::Pending
                || (alert.resolved_at != 0 && ts - alert.resolved_at > RESOLVED_RETENTION_NS)
            {
                gone.push(k.clone());
            }
            if alert.state != AlertState::Inactive && !keep_firing {
                alert.state = AlertState::Inactive;
                alert.resolved_at = ts;
            }
            if !keep_firing {
                continue;
            }
        } else {
            alert.keep_firing_since = 0;
        }
        active_pending += 1;
        if alert.state == AlertState::Pending && ts - alert.active_at >= a.for_ns {
            alert.state = AlertState::Firing;
            alert.fired_at = ts;
        }
        if a.restored {
            let mut m = labels_map(&alert.labels);
            m.insert(METRIC_NAME.into(), "ALERTS".into());
            m.insert("alertstate".into(), alert.state.as_str().into());
            out.push((Labels::from_pairs(&m), out_ms, 1.0, None));
            m.remove("alertstate");
            m.insert(METRIC_NAME.into(), "ALERTS_FOR_STATE".into());
            out.push((
                Labels::from_pairs(&m),
                out_ms,
                alert.active_at.div_euclid(1_000_000_000) as f64,
                None,
            ));
        }
    }
    for k in gone {
        a.active.remove(&k);
    }
    if limit > 0 && active_pending > limit {
        a.active.clear();
        return Err(format!(
            "exceeded limit of {limit} with {active_pending} alerts"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
