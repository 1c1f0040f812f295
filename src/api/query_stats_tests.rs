//! Query statistics (`stats=...`) through the router over a real store: the shape Prometheus
//! gives `data.stats`, and sample counts checked against counts made here from the data.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::api::{router, ApiState};
use crate::model::Sample;
use crate::remote::Limits;
use crate::storage::{Appender, SeriesInput};
use crate::tsdb::{Db, Options};

/// The first sample's time (ms).
const T0: i64 = 1_700_000_000_000;
const LOOKBACK: i64 = 300_000;

/// Series `m{i}`: 10 samples 15 s apart, series j starting j·5 s after T0.
fn data() -> Vec<(String, Vec<i64>)> {
    (0..3)
        .map(|j| {
            let times = (0..10).map(|k| T0 + j * 5_000 + k * 15_000).collect();
            (format!("s{j}"), times)
        })
        .collect()
}

fn fixture() -> (tempfile::TempDir, ApiState) {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), Options::default()).unwrap();
    let data = data();
    let batch: Vec<SeriesInput> = data
        .iter()
        .map(|(i, times)| SeriesInput {
            labels: vec![("__name__", "m"), ("i", i.as_str())],
            samples: times
                .iter()
                .enumerate()
                .map(|(k, &t)| Sample { t, v: k as f64 })
                .collect(),
        })
        .collect();
    db.append(&batch).unwrap();
    let db = Arc::new(db);
    (dir, ApiState::new(db.clone(), db, Limits::default()))
}

/// Points of all series in (lo, hi].
fn points_in(lo: i64, hi: i64) -> u64 {
    data()
        .iter()
        .map(|(_, ts)| ts.iter().filter(|&&t| t > lo && t <= hi).count() as u64)
        .sum()
}

/// Series with a point in the lookback window at `ts` (an instant selector's points).
fn selected_at(ts: i64) -> u64 {
    data()
        .iter()
        .filter(|(_, times)| times.iter().any(|&t| t > ts - LOOKBACK && t <= ts))
        .count() as u64
}

async fn get(state: &ApiState, path: &str, params: &[(&str, String)]) -> (StatusCode, String) {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let req = Request::get(format!("{path}?{q}"))
        .body(Body::empty())
        .unwrap();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// Milliseconds as the API's seconds.
fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

async fn range(state: &ApiState, q: &str, start: i64, end: i64, step: i64, stats: &str) -> Value {
    let (code, body) = get(
        state,
        "/api/v1/query_range",
        &[
            ("query", q.into()),
            ("start", secs(start)),
            ("end", secs(end)),
            ("step", secs(step)),
            ("stats", stats.into()),
        ],
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn instant(state: &ApiState, q: &str, t: i64, stats: &str) -> (String, Value) {
    let (code, body) = get(
        state,
        "/api/v1/query",
        &[
            ("query", q.into()),
            ("time", secs(t)),
            ("stats", stats.into()),
        ],
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let v = serde_json::from_str(&body).unwrap();
    (body, v)
}

/// The per-step counts as (ms, n).
fn per_step(v: &Value) -> Vec<(i64, u64)> {
    v["data"]["stats"]["samples"]["totalQueryableSamplesPerStep"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                (p[0].as_f64().unwrap() * 1000.0).round() as i64,
                p[1].as_u64().unwrap(),
            )
        })
        .collect()
}

fn total(v: &Value) -> u64 {
    v["data"]["stats"]["samples"]["totalQueryableSamples"]
        .as_u64()
        .unwrap()
}

/// Expected per-step counts for the steps of [start, end].
fn expect(start: i64, end: i64, step: i64, f: impl Fn(i64) -> u64) -> Vec<(i64, u64)> {
    (0..)
        .map(|k| start + k * step)
        .take_while(|&t| t <= end)
        .map(|t| (t, f(t)))
        .collect()
}

#[tokio::test]
async fn stats_have_prometheus_shape_and_order() {
    let (_dir, state) = fixture();
    let t = T0 + 100_000;
    let (body, v) = instant(&state, "m", t, "all").await;
    // Key order as Prometheus 2.42 and 3.x write it.
    let keys = [
        "\"resultType\"",
        "\"result\"",
        "\"stats\":{\"timings\":{\"evalTotalTime\":",
        "\"resultSortTime\":",
        "\"queryPreparationTime\":",
        "\"innerEvalTime\":",
        "\"execQueueTime\":",
        "\"execTotalTime\":",
        "},\"samples\":{\"totalQueryableSamplesPerStep\":[[",
        "]],\"totalQueryableSamples\":",
        ",\"peakSamples\":",
    ];
    let mut at = 0;
    for k in keys {
        let i = body[at..]
            .find(k)
            .unwrap_or_else(|| panic!("{k} after {at} in {body}"));
        at += i + k.len();
    }
    assert!(body.ends_with("}}}"), "{body}");
    let timings = &v["data"]["stats"]["timings"];
    let get = |k: &str| timings[k].as_f64().unwrap();
    assert!(get("execTotalTime") >= get("evalTotalTime"));
    assert!(get("evalTotalTime") >= get("innerEvalTime"));
    assert!(get("evalTotalTime") >= get("queryPreparationTime"));
    assert_eq!(per_step(&v), vec![(t, selected_at(t))]);
    assert_eq!(total(&v), 3);
    // The samples held: the lookback window of every series, and the result.
    let preloaded = data()
        .iter()
        .map(|(_, ts)| ts.iter().filter(|&&x| x >= t - LOOKBACK && x <= t).count() as u64)
        .sum::<u64>();
    assert_eq!(
        v["data"]["stats"]["samples"]["peakSamples"].as_u64(),
        Some(preloaded + 3)
    );
    // Any other value: totals without steps; none: no statistics.
    let (_, v) = instant(&state, "m", t, "1").await;
    assert!(v["data"]["stats"]["samples"]
        .get("totalQueryableSamplesPerStep")
        .is_none());
    assert_eq!(total(&v), 3);
    let (body, v) = instant(&state, "m", t, "").await;
    assert!(v["data"].get("stats").is_none(), "{body}");
}

#[tokio::test]
async fn instant_selectors_count_one_point_per_series_and_step() {
    let (_dir, state) = fixture();
    // Steps before the data, inside it, and after the lookback has passed the last sample.
    let (start, end, step) = (T0 - 20_000, T0 + 500_000, 20_000);
    let v = range(&state, "m", start, end, step, "all").await;
    let want = expect(start, end, step, selected_at);
    assert!(want.iter().any(|x| x.1 == 0) && want.iter().any(|x| x.1 == 3));
    assert_eq!(per_step(&v), want);
    assert_eq!(total(&v), want.iter().map(|x| x.1).sum::<u64>());
}

#[tokio::test]
async fn range_functions_count_their_windows() {
    let (_dir, state) = fixture();
    let w = 60_000;
    let window = |t: i64| points_in(t - w, t);
    // Computed series by series (and over two parts on several cores: 200 steps).
    let (start, end, step) = (T0, T0 + 199_000, 1_000);
    let v = range(&state, "rate(m[1m])", start, end, step, "all").await;
    let want = expect(start, end, step, window);
    assert_eq!(per_step(&v), want);
    assert_eq!(total(&v), want.iter().map(|x| x.1).sum::<u64>());
    // The same windows on the step path (a matrix result; a call with `@`).
    let t = T0 + 100_000;
    let (_, v) = instant(&state, "m[1m]", t, "all").await;
    assert_eq!(per_step(&v), vec![(t, window(t))]);
    let at = T0 + 70_000;
    let v = range(
        &state,
        &format!("rate(m[1m] @ {})", secs(at)),
        start,
        T0 + 50_000,
        10_000,
        "all",
    )
    .await;
    assert_eq!(
        per_step(&v),
        expect(start, T0 + 50_000, 10_000, |_| window(at))
    );
}

#[tokio::test]
async fn subqueries_count_their_inner_evaluations_at_every_step() {
    let (_dir, state) = fixture();
    let (range_ms, sub_step, w) = (120_000, 30_000, 60_000);
    // At each outer step: every inner step (aligned to 30 s) in (ts - 2m, ts] reads the
    // points of its 1m window, even when an earlier step already evaluated it.
    let at_step = |ts: i64| -> u64 {
        let mut t = sub_step * ((ts - range_ms) / sub_step);
        while t <= ts - range_ms {
            t += sub_step;
        }
        let mut n = 0;
        while t <= ts {
            n += points_in(t - w, t);
            t += sub_step;
        }
        n
    };
    let (start, end, step) = (T0 + 30_000, T0 + 180_000, 15_000);
    let v = range(
        &state,
        "max_over_time(sum_over_time(m[1m])[2m:30s])",
        start,
        end,
        step,
        "all",
    )
    .await;
    let want = expect(start, end, step, at_step);
    assert!(want.iter().all(|x| x.1 > 0));
    assert_eq!(per_step(&v), want);
}
