//! `/api/v1/query` and `/api/v1/query_range`: parameters as Prometheus reads them, evaluation
//! off the async runtime with a deadline, and results in Prometheus's exact JSON (timestamps
//! as seconds with up to three decimals, values as strings: "NaN", "+Inf", "-Inf", shortest
//! round-trip decimals). Uses axum, `model`, `promql` and `config` (durations).

use std::time::{Duration as StdDuration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};

use super::error::{blocking, ApiError, ErrorType};
use super::params::Params;
use super::state::ApiState;
use crate::model::{now_ms, parse_time, Labels};
use crate::promql::engine::{Output, QueryError, Stop, Value};

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

fn push_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    push_time(out, t);
    out.push_str(",\"");
    out.push_str(&crate::promql::value::format_float(v));
    out.push_str("\"]");
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
            out.push('}');
        }
        Value::String { t, v } => {
            out.push_str("{\"resultType\":\"string\",\"result\":[");
            push_time(&mut out, *t);
            out.push(',');
            push_str_lit(&mut out, v);
            out.push_str("]}");
        }
        Value::Vector(vec) => {
            out.push_str("{\"resultType\":\"vector\",\"result\":");
            push_list(&mut out, vec, |out, s| {
                out.push_str("{\"metric\":");
                push_labels(out, &s.labels);
                out.push_str(",\"value\":");
                push_point(out, s.t, s.v);
                out.push('}');
            });
            out.push('}');
        }
        Value::Matrix(m) => {
            out.reserve(m.iter().map(|s| s.samples.len() * 24 + 64).sum());
            out.push_str("{\"resultType\":\"matrix\",\"result\":");
            push_list(&mut out, m, |out, s| {
                out.push_str("{\"metric\":");
                push_labels(out, &s.labels);
                out.push_str(",\"values\":");
                push_list(out, &s.samples, |out, p| push_point(out, p.t, p.v));
                out.push('}');
            });
            out.push('}');
        }
    }
    for (key, list) in [("warnings", &o.warnings), ("infos", &o.infos)] {
        if !list.is_empty() {
            out.push_str(&format!(",\"{key}\":"));
            out.push_str(&serde_json::to_string(list).unwrap_or_else(|_| "[]".into()));
        }
    }
    out.push('}');
    out
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
    let out = result??;
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

    /// A sample value as Prometheus writes it (Go's FormatFloat 'f', -1).
    fn json_value(v: f64) -> Json {
        Json::String(crate::promql::value::format_float(v))
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

    #[test]
    fn json_formats_match_prometheus() {
        assert_eq!(json_time(1_435_781_451_781).to_string(), "1435781451.781");
        assert_eq!(json_time(1_000).to_string(), "1");
        assert_eq!(json_time(1_500).to_string(), "1.5");
        assert_eq!(json_time(-1_500).to_string(), "-1.5");
        assert_eq!(json_value(f64::NAN), json!("NaN"));
        assert_eq!(json_value(f64::INFINITY), json!("+Inf"));
        assert_eq!(json_value(-0.1), json!("-0.1"));
        assert_eq!(json_value(1e21), json!("1000000000000000000000"));
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
            };
            let direct: Json = serde_json::from_str(&success_body(&out)).unwrap();
            let tree = json!({"status": "success", "data": result_json(&v), "warnings": ["w"]});
            assert_eq!(direct, tree, "{v:?}");
        }
    }
}
