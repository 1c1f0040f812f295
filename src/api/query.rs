//! `/api/v1/query` and `/api/v1/query_range`: parameters as Prometheus reads them, evaluation
//! off the async runtime with a deadline, and results in Prometheus's exact JSON (timestamps
//! as seconds with up to three decimals, values as strings: "NaN", "+Inf", "-Inf", shortest
//! round-trip decimals, in exponent form below 1e-6 and from 1e21 on, as Go's jsonutil writes
//! them). Native-histogram samples come out as Prometheus writes them: `"histogram": [t, {...}]`
//! in a vector, `"histograms": [[t, {...}], ...]` beside (or instead of) `"values"` in a
//! matrix, each histogram as its count, sum and non-empty buckets with their boundary rule
//! (`push_histogram`). With `stats` (any value; `all` adds per-step counts) the answer carries
//! `data.stats` as Prometheus writes it (`push_stats`). Uses axum, `model`, `promql` and `config` (durations).

use std::time::{Duration as StdDuration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};

use super::error::{blocking, ApiError, ErrorType};
use super::params::Params;
use super::state::ApiState;
use crate::model::{now_ms, parse_time, FloatHistogram, Labels};
use crate::promql::engine::{Output, QueryError, Stop, Value};
use crate::promql::stats::{QueryStats, StatsLevel};

/// Appends a JSON string literal.
fn push_str_lit(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string()));
}

/// Appends a timestamp as `json_time` writes it.
fn push_time(out: &mut String, ms: i64) {
    use std::fmt::Write;
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    let (secs, frac) = (abs / 1000, abs % 1000);
    let _ = write!(out, "{sign}{secs}");
    if frac != 0 {
        let f = format!("{frac:03}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
}

/// A float as Prometheus's JSON writes it (jsonutil's MarshalFloat): Go's
/// `strconv.FormatFloat(v, 'f', -1, 64)`, but 'e' (`1e+21`, `1e-07`) when `|v|` is below 1e-6
/// or at least 1e21; `NaN`, `+Inf`, `-Inf`.
pub fn json_float(v: f64) -> String {
    let abs = v.abs();
    if !v.is_finite() || abs == 0.0 || (1e-6..1e21).contains(&abs) {
        return crate::promql::value::format_float(v);
    }
    // Rust's `{:e}` gives the shortest round-trip mantissa; Go writes the exponent with a
    // sign and at least two digits.
    let e = format!("{v:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
}

/// Appends `"v"` with `json_float`.
fn push_float(out: &mut String, v: f64) {
    out.push('"');
    out.push_str(&json_float(v));
    out.push('"');
}

fn push_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    push_time(out, t);
    out.push(',');
    push_float(out, v);
    out.push(']');
}

/// Appends a histogram as Prometheus's API writes it: `{"count":"…","sum":"…","buckets":[…]}`,
/// each non-empty bucket as `[rule,"lower","upper","count"]` from the lowest to the highest
/// (negative, zero, positive or custom buckets), where the rule says which bounds belong to
/// the bucket: 0 the upper only, 1 the lower only, 2 neither, 3 both. No `buckets` key when
/// every bucket is empty.
pub fn push_histogram(out: &mut String, h: &FloatHistogram) {
    out.push_str("{\"count\":");
    push_float(out, h.count);
    out.push_str(",\"sum\":");
    push_float(out, h.sum);
    let mut first = true;
    for b in h.all_buckets().iter().filter(|b| b.count != 0.0) {
        out.push_str(if first { ",\"buckets\":[" } else { "," });
        first = false;
        let rule = match (b.lower_inclusive, b.upper_inclusive) {
            (false, true) => '0',
            (true, false) => '1',
            (false, false) => '2',
            (true, true) => '3',
        };
        out.push('[');
        out.push(rule);
        out.push(',');
        push_float(out, b.lower);
        out.push(',');
        push_float(out, b.upper);
        out.push(',');
        push_float(out, b.count);
        out.push(']');
    }
    if !first {
        out.push(']');
    }
    out.push('}');
}

/// Appends `[t,{histogram}]`.
fn push_histogram_point(out: &mut String, t: i64, h: &FloatHistogram) {
    out.push('[');
    push_time(out, t);
    out.push(',');
    push_histogram(out, h);
    out.push(']');
}

/// Appends `[a,b,...]`, each item written by `f`.
fn push_list<T>(
    out: &mut String,
    items: impl IntoIterator<Item = T>,
    mut f: impl FnMut(&mut String, T),
) {
    out.push('[');
    for (i, x) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        f(out, x);
    }
    out.push(']');
}

fn push_labels(out: &mut String, l: &Labels) {
    out.push('{');
    for (i, x) in l.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str_lit(out, &x.name);
        out.push(':');
        push_str_lit(out, &x.value);
    }
    out.push('}');
}

/// The whole success envelope, written directly (large matrices would otherwise cost an
/// allocation per point in a `serde_json::Value` tree).
pub fn success_body(o: &Output) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"status\":\"success\",\"data\":");
    match &o.value {
        Value::Scalar { t, v } => {
            out.push_str("{\"resultType\":\"scalar\",\"result\":");
            push_point(&mut out, *t, *v);
        }
        Value::String { t, v } => {
            out.push_str("{\"resultType\":\"string\",\"result\":[");
            push_time(&mut out, *t);
            out.push(',');
            push_str_lit(&mut out, v);
            out.push(']');
        }
        Value::Vector(vec) => {
            out.push_str("{\"resultType\":\"vector\",\"result\":");
            push_list(&mut out, vec, |out, s| {
                out.push_str("{\"metric\":");
                push_labels(out, &s.labels);
                match &s.h {
                    None => {
                        out.push_str(",\"value\":");
                        push_point(out, s.t, s.v);
                    }
                    Some(h) => {
                        out.push_str(",\"histogram\":");
                        push_histogram_point(out, s.t, h);
                    }
                }
                out.push('}');
            });
        }
        Value::Matrix(m) => {
            out.reserve(m.iter().map(|s| s.samples.len() * 24 + 64).sum());
            out.push_str("{\"resultType\":\"matrix\",\"result\":");
            push_list(&mut out, m, |out, s| {
                out.push_str("{\"metric\":");
                push_labels(out, &s.labels);
                // As Prometheus: each key only when the series has such samples.
                if !s.samples.is_empty() {
                    out.push_str(",\"values\":");
                    push_list(out, &s.samples, |out, p| push_point(out, p.t, p.v));
                }
                if !s.histograms.is_empty() {
                    out.push_str(",\"histograms\":");
                    push_list(out, &s.histograms, |out, p| {
                        push_histogram_point(out, p.t, &p.h.to_float())
                    });
                }
                out.push('}');
            });
        }
    }
    if let Some(st) = &o.stats {
        push_stats(&mut out, st);
    }
    out.push('}');
    for (key, list) in [("warnings", &o.warnings), ("infos", &o.infos)] {
        if !list.is_empty() {
            out.push_str(&format!(",\"{key}\":"));
            out.push_str(&serde_json::to_string(list).unwrap_or_else(|_| "[]".into()));
        }
    }
    out.push('}');
    out
}

/// Appends `,"stats":{...}` as Prometheus writes its query statistics: the timings in
/// seconds, then the samples, per step (`[t, n]`) only when counted per step.
fn push_stats(out: &mut String, st: &QueryStats) {
    use std::fmt::Write;
    let t = &st.timings;
    out.push_str(",\"stats\":{\"timings\":{");
    for (i, (k, v)) in [
        ("evalTotalTime", t.eval_total),
        ("resultSortTime", t.result_sort),
        ("queryPreparationTime", t.query_preparation),
        ("innerEvalTime", t.inner_eval),
        ("execQueueTime", t.exec_queue),
        ("execTotalTime", t.exec_total),
    ]
    .into_iter()
    .enumerate()
    {
        let sep = if i > 0 { "," } else { "" };
        let _ = write!(out, "{sep}\"{k}\":{}", json_float(v));
    }
    out.push_str("},\"samples\":{");
    let s = &st.samples;
    if !s.per_step.is_empty() {
        out.push_str("\"totalQueryableSamplesPerStep\":");
        push_list(out, &s.per_step, |out, (t, n)| {
            out.push('[');
            push_time(out, *t);
            let _ = write!(out, ",{n}]");
        });
        out.push(',');
    }
    let _ = write!(
        out,
        "\"totalQueryableSamples\":{},\"peakSamples\":{}}}}}",
        s.total_queryable, s.peak
    );
}

/// A step or timeout: float seconds or a Prometheus duration.
fn parse_duration_param(s: &str, name: &str) -> Result<i64, ApiError> {
    let invalid = || {
        ApiError::bad_data(format!(
            "invalid parameter {name:?}: cannot parse {s:?} to a valid duration"
        ))
    };
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() || f.abs() > 9.2e15 {
            return Err(invalid());
        }
        return Ok((f * 1000.0).round() as i64);
    }
    s.parse::<crate::config::Duration>()
        .map(|d| d.as_millis() as i64)
        .map_err(|_| invalid())
}

/// A required time parameter of a range query.
fn required_time(p: &Params, key: &str) -> Result<i64, ApiError> {
    match p.get(key) {
        Some(s) if !s.is_empty() => {
            parse_time(s).map_err(|e| ApiError::bad_data(format!("invalid parameter {key:?}: {e}")))
        }
        _ => Err(ApiError::bad_data(format!(
            "invalid parameter {key:?}: missing"
        ))),
    }
}

struct Common {
    query: String,
    stop: Stop,
}

fn common(p: &Params, state: &ApiState) -> Result<Common, ApiError> {
    let query = p.get("query").unwrap_or("").to_string();
    if query.is_empty() {
        return Err(ApiError::bad_data(
            "invalid parameter \"query\": query must not be empty",
        ));
    }
    let mut timeout = state.query_timeout;
    if let Some(t) = p.get("timeout").filter(|t| !t.is_empty()) {
        let ms = parse_duration_param(t, "timeout")?;
        if ms <= 0 {
            return Err(ApiError::bad_data(format!(
                "invalid parameter \"timeout\": {t:?} is not positive"
            )));
        }
        timeout = timeout.min(StdDuration::from_millis(ms as u64));
    }
    Ok(Common {
        query,
        stop: Stop {
            deadline: Some(Instant::now() + timeout),
            cancel: None,
            stats: StatsLevel::from_param(p.get("stats")),
        },
    })
}

/// Sets the flag when dropped: if the client disconnects, axum drops the handler future and
/// the evaluation running on the blocking pool sees the flag at its next step.
struct CancelOnDrop(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

async fn run(
    state: &ApiState,
    mut stop: Stop,
    f: impl FnOnce(&ApiState, &Stop) -> Result<Output, QueryError> + Send + 'static,
) -> Result<Response, ApiError> {
    let st = state.clone();
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    stop.cancel = Some(flag.clone());
    let _guard = CancelOnDrop(flag);
    // Wait for a slot within the query's own deadline (a client that leaves stops waiting).
    let deadline = stop
        .deadline
        .map(tokio::time::Instant::from_std)
        .unwrap_or_else(|| tokio::time::Instant::now() + state.query_timeout);
    state.telemetry.queries_waiting.inc();
    let queued = Instant::now();
    let slot = tokio::time::timeout_at(deadline, state.query_gate.clone().acquire_owned()).await;
    state.telemetry.queries_waiting.dec();
    let _slot = match slot {
        Ok(Ok(p)) => p,
        Ok(Err(_)) => {
            return Err(ApiError::unavailable("the query engine is shutting down"));
        }
        Err(_) => {
            return Err(ApiError::new(
                ErrorType::Timeout,
                "query timed out in query queue",
            ));
        }
    };
    state.telemetry.queries_running.inc();
    struct Running<'a>(&'a ApiState);
    impl Drop for Running<'_> {
        fn drop(&mut self) {
            self.0.telemetry.queries_running.dec();
        }
    }
    let _running = Running(state);
    let started = Instant::now();
    let result = blocking("query", move || f(&st, &stop)).await;
    state.telemetry.observe_query(
        started.duration_since(queued).as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    let mut out = result??;
    if let Some(st) = out.stats.as_mut() {
        // The engine timed evaluation; the queue wait and parsing happen around it.
        st.timings.exec_queue = started.duration_since(queued).as_secs_f64();
        st.timings.exec_total = queued.elapsed().as_secs_f64();
    }
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        success_body(&out),
    )
        .into_response())
}

pub async fn instant(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = Params::with_form(raw.as_deref(), &body);
    let c = common(&p, &state)?;
    let t = p.time("time", now_ms())?;
    run(&state, c.stop, move |st, stop| {
        st.engine
            .run_instant(st.querier.as_ref(), &c.query, t, stop)
    })
    .await
}

pub async fn range(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = Params::with_form(raw.as_deref(), &body);
    let c = common(&p, &state)?;
    let start = required_time(&p, "start")?;
    let end = required_time(&p, "end")?;
    super::params::ordered(start, end)?;
    let step = match p.get("step") {
        Some(s) if !s.is_empty() => parse_duration_param(s, "step")?,
        _ => return Err(ApiError::bad_data("invalid parameter \"step\": missing")),
    };
    if step <= 0 {
        return Err(ApiError::bad_data("invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"));
    }
    if (end - start) / step > 11_000 {
        return Err(ApiError::bad_data("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"));
    }
    run(&state, c.stop, move |st, stop| {
        st.engine
            .run_range(st.querier.as_ref(), &c.query, start, end, step, stop)
    })
    .await
}

#[cfg(test)]
#[path = "query_stats_tests.rs"]
mod stats_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value as Json};

    // A reference implementation of the JSON shape, built as a serde_json tree, that the
    // direct writer is checked against.
    /// Seconds as Prometheus writes them: integer part, then up to 3 decimals without trailing 0s.
    fn json_time(ms: i64) -> Json {
        // As Prometheus's marshalTimestamp: sign, then the absolute value's seconds and millis.
        let sign = if ms < 0 { "-" } else { "" };
        let abs = ms.unsigned_abs();
        let (secs, frac) = (abs / 1000, abs % 1000);
        if frac == 0 {
            return json!(ms / 1000);
        }
        let s = format!("{sign}{secs}.{frac:03}");
        let s = s.trim_end_matches('0');
        serde_json::from_str(s).unwrap_or(json!(ms as f64 / 1000.0))
    }

    /// A sample value as Prometheus writes it (jsonutil's MarshalFloat).
    fn json_value(v: f64) -> Json {
        Json::String(json_float(v))
    }

    fn labels_json(l: &Labels) -> Json {
        Json::Object(
            l.iter()
                .map(|x| (x.name.to_string(), Json::String(x.value.to_string())))
                .collect(),
        )
    }

    /// The `data` object of a successful query.
    fn result_json(v: &Value) -> Json {
        match v {
            Value::Scalar { t, v } => {
                json!({"resultType": "scalar", "result": [json_time(*t), json_value(*v)]})
            }
            Value::String { t, v } => json!({"resultType": "string", "result": [json_time(*t), v]}),
            Value::Vector(vec) => json!({
                "resultType": "vector",
                "result": vec.iter().map(|s| json!({"metric": labels_json(&s.labels), "value": [json_time(s.t), json_value(s.v)]})).collect::<Vec<_>>()
            }),
            Value::Matrix(m) => json!({
                "resultType": "matrix",
                "result": m.iter().map(|s| json!({
                    "metric": labels_json(&s.labels),
                    "values": s.samples.iter().map(|x| json!([json_time(x.t), json_value(x.v)])).collect::<Vec<_>>()
                })).collect::<Vec<_>>()
            }),
        }
    }

    fn span(offset: i32, length: u32) -> crate::model::Span {
        crate::model::Span { offset, length }
    }

    fn hist_json(h: &FloatHistogram) -> String {
        let mut out = String::new();
        push_histogram(&mut out, h);
        out
    }

    /// `ours` and `theirs` are the same JSON, except that number strings may differ in the
    /// last bit: Prometheus takes the bounds of schemas above 0 from a table of constants
    /// that is off by an ulp or two from the exact powers `model::histogram` computes.
    fn same_json_within_ulps(ours: &str, theirs: &str) {
        fn walk(a: &Json, b: &Json, at: &str) {
            match (a, b) {
                (Json::String(x), Json::String(y)) if x != y => {
                    let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                    assert!(
                        (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs()),
                        "{at}: {x} vs {y}"
                    );
                }
                (Json::Array(x), Json::Array(y)) => {
                    assert_eq!(x.len(), y.len(), "{at}");
                    for (i, (p, q)) in x.iter().zip(y).enumerate() {
                        walk(p, q, &format!("{at}[{i}]"));
                    }
                }
                (Json::Object(x), Json::Object(y)) => {
                    assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>());
                    for (k, p) in x {
                        walk(p, &y[k], &format!("{at}.{k}"));
                    }
                }
                _ => assert_eq!(a, b, "{at}"),
            }
        }
        let a: Json = serde_json::from_str(ours).unwrap();
        let b: Json = serde_json::from_str(theirs).unwrap();
        walk(&a, &b, "");
    }

    // The expected strings are what Prometheus 2.42 (--enable-feature=native-histograms)
    // answered for the same histograms scraped from tests/nhsvc (client_golang): byte for
    // byte where the bounds are powers of two, within an ulp or two otherwise.
    #[test]
    fn histograms_render_as_prometheus_does() {
        // native_only_seconds after observing 0.1, 3, 300 and -2 (schema 1).
        let h = FloatHistogram {
            schema: 1,
            count: 4.0,
            sum: 301.1,
            positive_spans: vec![span(-6, 1), span(9, 1), span(12, 1)],
            positive_buckets: vec![1.0, 1.0, 1.0],
            negative_spans: vec![span(2, 1)],
            negative_buckets: vec![1.0],
            ..FloatHistogram::default()
        };
        same_json_within_ulps(
            &hist_json(&h),
            r#"{"count":"4","sum":"301.1","buckets":[[1,"-2","-1.414213562373095","1"],[0,"0.08838834764831843","0.125","1"],[0,"2.82842712474619","4","1"],[0,"256","362.0386719675123","1"]]}"#,
        );
        // request_size_bytes{route="/a"}: 0, 5, 100 (schema 0, the default zero threshold).
        let h = FloatHistogram {
            schema: 0,
            count: 3.0,
            sum: 105.0,
            zero_threshold: 2.938735877055719e-39,
            zero_count: 1.0,
            positive_spans: vec![span(3, 1), span(3, 1)],
            positive_buckets: vec![1.0, 1.0],
            ..FloatHistogram::default()
        };
        assert_eq!(
            hist_json(&h),
            r#"{"count":"3","sum":"105","buckets":[[3,"-2.938735877055719e-39","2.938735877055719e-39","1"],[0,"4","8","1"],[0,"64","128","1"]]}"#
        );
        // Part of rpc_latency_seconds (schema 3, zero threshold 0.001): two negative buckets,
        // the zero bucket, a huge positive one; an empty bucket inside a span is left out.
        let h = FloatHistogram {
            schema: 3,
            count: 11.0,
            sum: 1e25,
            zero_threshold: 0.001,
            zero_count: 3.0,
            negative_spans: vec![span(-8, 1), span(20, 2)],
            negative_buckets: vec![1.0, 1.0, 0.0],
            positive_spans: vec![span(665, 1)],
            positive_buckets: vec![1.0],
            ..FloatHistogram::default()
        };
        same_json_within_ulps(
            &hist_json(&h),
            r#"{"count":"11","sum":"1e+25","buckets":[[1,"-3.0844216508158815","-2.82842712474619","1"],[1,"-0.5","-0.45850202160233555","1"],[3,"-0.001","0.001","3"],[0,"9.671406556917033e+24","1.05467436360675e+25","1"]]}"#,
        );
    }

    #[test]
    fn custom_float_and_empty_histograms_render() {
        // NHCB: bounds 0.1, 1, 10; the first bucket reaches down to -Inf and is closed.
        let h = FloatHistogram {
            schema: crate::model::histogram::CUSTOM_BUCKETS_SCHEMA,
            count: 4.5,
            sum: 20.25,
            positive_spans: vec![span(0, 4)],
            positive_buckets: vec![1.0, 0.0, 2.5, 1.0],
            custom_values: vec![0.1, 1.0, 10.0],
            ..FloatHistogram::default()
        };
        assert_eq!(
            hist_json(&h),
            r#"{"count":"4.5","sum":"20.25","buckets":[[3,"-Inf","0.1","1"],[0,"1","10","2.5"],[0,"10","+Inf","1"]]}"#
        );
        // No observations: no buckets key; a NaN sum as Prometheus writes it.
        let h = FloatHistogram {
            sum: f64::NAN,
            positive_spans: vec![span(0, 1)],
            positive_buckets: vec![0.0],
            ..FloatHistogram::default()
        };
        assert_eq!(hist_json(&h), r#"{"count":"0","sum":"NaN"}"#);
        // A bucket reaching into the zero bucket is cut at the zero threshold.
        let h = FloatHistogram {
            schema: 0,
            count: 2.0,
            sum: 0.0,
            zero_threshold: 0.75,
            positive_spans: vec![span(0, 1)],
            positive_buckets: vec![1.0],
            negative_spans: vec![span(0, 1)],
            negative_buckets: vec![1.0],
            ..FloatHistogram::default()
        };
        assert_eq!(
            hist_json(&h),
            r#"{"count":"2","sum":"0","buckets":[[1,"-1","-0.75","1"],[0,"0.75","1","1"]]}"#
        );
    }

    #[test]
    fn vectors_and_matrices_carry_histograms_as_prometheus() {
        use crate::model::{HistogramSample, HistogramValue, Sample};
        use crate::promql::engine::InstantSample;
        use crate::storage::Series;
        let l = Labels::from_pairs([("__name__", "h")]);
        let h = FloatHistogram {
            count: 1.0,
            sum: 2.0,
            positive_spans: vec![span(1, 1)],
            positive_buckets: vec![1.0],
            ..FloatHistogram::default()
        };
        let hj = r#"{"count":"1","sum":"2","buckets":[[0,"1","2","1"]]}"#;
        let body = |v: Value| {
            success_body(&Output {
                value: v,
                warnings: vec![],
                infos: vec![],
                stats: None,
            })
        };
        let v = Value::Vector(vec![
            InstantSample::histogram(l.clone(), 1_500, h.clone(), false),
            InstantSample::new(Labels::default(), 1_500, 3.0, false),
        ]);
        assert_eq!(
            body(v),
            format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"__name__":"h"}},"histogram":[1.5,{hj}]}},{{"metric":{{}},"value":[1.5,"3"]}}]}}}}"#
            )
        );
        // A series that changed from floats to histograms: values, then histograms; an
        // integer histogram is written in its float form; a histogram-only series has no
        // "values" key.
        let int = crate::model::Histogram {
            count: 1,
            sum: 2.0,
            positive_spans: vec![span(1, 1)],
            positive_buckets: vec![1],
            ..crate::model::Histogram::default()
        };
        let m = Value::Matrix(vec![
            Series {
                labels: l.clone(),
                samples: vec![Sample { t: 1_000, v: 1.0 }],
                histograms: vec![
                    HistogramSample {
                        t: 2_000,
                        h: HistogramValue::Float(h.clone()),
                    },
                    HistogramSample {
                        t: 3_000,
                        h: HistogramValue::Int(int),
                    },
                ],
            },
            Series {
                labels: Labels::from_pairs([("__name__", "g")]),
                samples: vec![],
                histograms: vec![HistogramSample {
                    t: 4_000,
                    h: HistogramValue::Float(h),
                }],
            },
        ]);
        assert_eq!(
            body(m),
            format!(
                r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{"__name__":"h"}},"values":[[1,"1"]],"histograms":[[2,{hj}],[3,{hj}]]}},{{"metric":{{"__name__":"g"}},"histograms":[[4,{hj}]]}}]}}}}"#
            )
        );
    }

    #[test]
    fn json_floats_use_exponents_at_the_extremes_as_go() {
        assert_eq!(json_float(1e21), "1e+21");
        assert_eq!(json_float(-1e21), "-1e+21");
        assert_eq!(json_float(1e-7), "1e-07");
        assert_eq!(json_float(1.5e-300), "1.5e-300");
        assert_eq!(json_float(9.999e20), "999900000000000000000");
        assert_eq!(json_float(1e-6), "0.000001");
        assert_eq!(json_float(0.0), "0");
        assert_eq!(json_float(-0.0), "-0");
        assert_eq!(json_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(json_float(f64::MAX), "1.7976931348623157e+308");
    }

    #[test]
    fn json_formats_match_prometheus() {
        assert_eq!(json_time(1_435_781_451_781).to_string(), "1435781451.781");
        assert_eq!(json_time(1_000).to_string(), "1");
        assert_eq!(json_time(1_500).to_string(), "1.5");
        assert_eq!(json_time(-1_500).to_string(), "-1.5");
        assert_eq!(json_value(f64::NAN), json!("NaN"));
        assert_eq!(json_value(f64::INFINITY), json!("+Inf"));
        assert_eq!(json_value(-0.1), json!("-0.1"));
        assert_eq!(json_value(1e21), json!("1e+21"));
        assert_eq!(parse_duration_param("15", "step"), Ok(15_000));
        assert_eq!(parse_duration_param("1m", "step"), Ok(60_000));
        assert!(parse_duration_param("x", "step").is_err());
    }

    #[test]
    fn direct_writer_matches_the_json_tree() {
        use crate::model::Sample;
        use crate::promql::engine::InstantSample;
        use crate::storage::Series;
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a\"b")]);
        let values = [
            Value::Scalar {
                t: 1500,
                v: f64::INFINITY,
            },
            Value::String {
                t: -1,
                v: "x\ny".into(),
            },
            Value::Vector(vec![InstantSample::new(l.clone(), 1_000, f64::NAN, false)]),
            Value::Matrix(vec![Series {
                labels: l,
                samples: vec![Sample { t: 1, v: -0.5 }, Sample { t: 2_000, v: 1e21 }],
                histograms: Vec::new(),
            }]),
            Value::Matrix(vec![]),
        ];
        for v in values {
            let out = Output {
                value: v.clone(),
                warnings: vec!["w".into()],
                infos: vec![],
                stats: None,
            };
            let direct: Json = serde_json::from_str(&success_body(&out)).unwrap();
            let tree = json!({"status": "success", "data": result_json(&v), "warnings": ["w"]});
            assert_eq!(direct, tree, "{v:?}");
        }
    }
}
