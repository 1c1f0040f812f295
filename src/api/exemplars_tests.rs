//! `/api/v1/query_exemplars` through the router over a real store.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::api::{router, ApiState};
use crate::model::{Labels, Sample};
use crate::remote::Limits;
use crate::storage::{Appender, Exemplar, ExemplarInput, SeriesInput};
use crate::tsdb::{Db, Options};

fn fixture() -> (tempfile::TempDir, ApiState) {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), Options::default()).unwrap();
    let series: [&[(&str, &str)]; 3] = [
        &[("__name__", "req_total"), ("job", "a")],
        &[("__name__", "req_total"), ("job", "b")],
        &[("__name__", "other"), ("job", "a")],
    ];
    let batch: Vec<SeriesInput> = series
        .iter()
        .map(|l| SeriesInput {
            labels: l.to_vec(),
            samples: vec![Sample { t: 1000, v: 1.0 }],
        })
        .collect();
    db.append(&batch).unwrap();
    let ex = |trace: &str, value: f64, t: i64| Exemplar {
        labels: Labels::from_pairs([("trace_id", trace)]),
        value,
        t,
    };
    let input: Vec<ExemplarInput> = vec![
        ExemplarInput {
            series: series[1].to_vec(),
            exemplars: vec![ex("b1", 0.5, 1_600_000_000_123)],
        },
        ExemplarInput {
            series: series[0].to_vec(),
            exemplars: vec![
                ex("a1", 1.5, 1_600_000_000_000),
                ex("a2", f64::INFINITY, 1_600_000_010_500),
            ],
        },
        ExemplarInput {
            series: series[2].to_vec(),
            exemplars: vec![ex("o1", 2.0, 1_600_000_000_000)],
        },
    ];
    let st = db.append_exemplars(&input).unwrap();
    assert_eq!(st.accepted, 4);
    let db = Arc::new(db);
    (dir, ApiState::new(db.clone(), db, Limits::default()))
}

async fn call(state: &ApiState, req: Request<Body>) -> (StatusCode, String) {
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn get(state: &ApiState, query: &str) -> (StatusCode, Value) {
    let uri = format!("/api/v1/query_exemplars?{query}");
    let (s, b) = call(state, Request::get(uri).body(Body::empty()).unwrap()).await;
    (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
}

#[tokio::test]
async fn answers_in_prometheus_shape_sorted_by_series() {
    let (_dir, state) = fixture();
    let (code, v) = get(&state, "query=req_total").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        v,
        json!({"status": "success", "data": [
            {"seriesLabels": {"__name__": "req_total", "job": "a"}, "exemplars": [
                {"labels": {"trace_id": "a1"}, "value": "1.5", "timestamp": 1600000000.0},
                {"labels": {"trace_id": "a2"}, "value": "+Inf", "timestamp": 1600000010.5},
            ]},
            {"seriesLabels": {"__name__": "req_total", "job": "b"}, "exemplars": [
                {"labels": {"trace_id": "b1"}, "value": "0.5", "timestamp": 1600000000.123},
            ]},
        ]})
    );
}

#[tokio::test]
async fn every_selector_of_the_expression_picks_series_within_the_range() {
    let (_dir, state) = fixture();
    // Both selectors count; offsets and ranges do not move the window.
    let (_, v) = get(
        &state,
        "query=sum(rate(req_total%7Bjob%3D%22b%22%7D%5B5m%5D%20offset%201h))%20%2B%20other&start=1600000000&end=1600000001",
    )
    .await;
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["exemplars"][0]["labels"]["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["o1", "b1"]);
    // a2 is after the end.
    let (_, v) = get(&state, "query=req_total%7Bjob%3D%22a%22%7D&end=1600000005").await;
    assert_eq!(v["data"][0]["exemplars"].as_array().unwrap().len(), 1);
    let (_, v) = get(&state, "query=nothing").await;
    assert_eq!(v, json!({"status": "success", "data": []}));
    // POST form bodies work too.
    let req = Request::post("/api/v1/query_exemplars")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::from("query=other"))
        .unwrap();
    let (code, body) = call(&state, req).await;
    assert_eq!(code, StatusCode::OK);
    assert!(body.contains("\"o1\""), "{body}");
}

#[tokio::test]
async fn errors_and_no_selectors_as_prometheus() {
    let (_dir, state) = fixture();
    for (q, want) in [
        ("query=(", "1:2: parse error: unclosed left parenthesis"),
        (
            "query=up&start=x",
            "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"x\" to a valid timestamp",
        ),
        (
            "query=(&start=10&end=1",
            "end timestamp must not be before start timestamp",
        ),
    ] {
        let (code, v) = get(&state, q).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(v["errorType"], "bad_data", "{q}");
        assert_eq!(v["error"], want, "{q}");
    }
    let (code, v) = get(&state, "query=").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(v["error"]
        .as_str()
        .unwrap()
        .ends_with("parse error: no expression found in input"));
    let (code, v) = get(&state, "query=1%2B1").await;
    assert_eq!(
        (code, v),
        (StatusCode::NO_CONTENT, Value::String(String::new()))
    );
}
