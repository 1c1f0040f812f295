//! `/federate`: the newest sample (within the lookback delta) of every series matching the
//! `match[]` selectors, in text exposition format, grouped by metric name with a `# TYPE ...
//! untyped` line per family and sample timestamps in milliseconds, so another Prometheus can
//! scrape it with `honor_labels: true` (web/federate.go in our own words). Errors are plain
//! text. Uses axum, `model`, `promql` (selectors) and `storage`.

use std::fmt::Write;

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::{blocking, TextError};
use super::params::Params;
use super::state::ApiState;
use crate::model::{format_go_g, is_stale_nan, now_ms};

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn federate(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, TextError> {
    let p = Params::parse(raw.as_deref(), None);
    let mut matchers = Vec::new();
    for m in p.all("match[]") {
        let alts = crate::promql::parse_selector(m)
            .map_err(|e| TextError::bad_request(format!("error parsing match[] {m:?}: {e}")))?;
        matchers.extend(alts);
    }
    if matchers.is_empty() {
        return Err(TextError::bad_request("at least one match[] is required"));
    }
    let now = now_ms();
    let lookback = state.engine.lookback_ms;
    let q = state.querier.clone();
    let mut series = blocking("federate", move || {
        let mut out = Vec::new();
        for m in &matchers {
            out.extend(q.select(m, now - lookback + 1, now)?);
        }
        Ok::<_, crate::storage::StorageError>(out)
    })
    .await??;
    series.sort_by(|a, b| {
        (a.labels.metric_name(), &a.labels).cmp(&(b.labels.metric_name(), &b.labels))
    });
    series.dedup_by(|a, b| a.labels == b.labels);
    let mut body = String::new();
    let mut family: Option<String> = None;
    for s in &series {
        let Some(last) = s.samples.last() else {
            continue;
        };
        if is_stale_nan(last.v) {
            continue;
        }
        let name = s.labels.metric_name().unwrap_or("");
        if family.as_deref() != Some(name) {
            let _ = writeln!(body, "# TYPE {name} untyped");
            family = Some(name.to_string());
        }
        let labels: Vec<String> = s
            .labels
            .iter()
            .filter(|l| l.name.as_ref() != "__name__")
            .map(|l| format!("{}=\"{}\"", l.name, escape(&l.value)))
            .collect();
        if labels.is_empty() {
            let _ = writeln!(body, "{name} {} {}", format_go_g(last.v), last.t);
        } else {
            let _ = writeln!(
                body,
                "{name}{{{}}} {} {}",
                labels.join(","),
                format_go_g(last.v),
                last.t
            );
        }
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
