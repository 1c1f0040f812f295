//! Router tests without sockets: a real store in a temporary directory behind `router()`.

use super::*;
use std::sync::Arc;

use crate::model::{Matcher, Sample, MAX_TIME, MIN_TIME};
use crate::remote::proto::encode_write_request;
use crate::remote::Limits;
use crate::tsdb::{Db, Options};
use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    state: ApiState,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), Options::default()).unwrap();
    let db = Arc::new(db);
    let state = ApiState::new(db.clone(), db, Limits::default());
    state.set_ready(true);
    Fixture { _dir: dir, state }
}

async fn call(state: &ApiState, req: Request<Body>) -> (StatusCode, String) {
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    // Lossy: OTLP/HTTP errors carry a protobuf `google.rpc.Status`.
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Percent-encodes the characters a URI may not hold raw, keeping `?`, `&` and `=`.
fn escape(uri: &str) -> String {
    uri.chars()
        .map(|c| match c {
            '"' | '{' | '}' | '|' | ' ' | '<' | '>' | '\\' | '^' | '`' => {
                format!("%{:02X}", c as u32)
            }
            c => c.to_string(),
        })
        .collect()
}

async fn get(state: &ApiState, uri: &str) -> (StatusCode, Value) {
    let (s, b) = call(
        state,
        Request::get(escape(uri)).body(Body::empty()).unwrap(),
    )
    .await;
    (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
}

fn write_req(series: &[crate::remote::proto::SeriesToEncode<'_>]) -> Request<Body> {
    let body = snap::raw::Encoder::new()
        .compress_vec(&encode_write_request(series))
        .unwrap();
    Request::post("/api/v1/write")
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(Body::from(body))
        .unwrap()
}

fn s(t: i64, v: f64) -> Sample {
    Sample { t, v }
}

async fn seed(state: &ApiState) {
    let (status, body) = call(
        state,
        write_req(&[
            (
                vec![("__name__", "up"), ("job", "api"), ("instance", "a:1")],
                vec![s(1_000_000, 1.0), s(1_015_000, 1.0)],
            ),
            (
                vec![("__name__", "up"), ("job", "node"), ("instance", "b:1")],
                vec![s(2_000_000, 0.0)],
            ),
            (
                vec![
                    ("__name__", "http_requests_total"),
                    ("job", "api"),
                    ("code", "200"),
                ],
                vec![s(1_000_000, 5.0)],
            ),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test]
async fn health_and_readiness() {
    let f = fixture();
    let req = |m: Method, p: &str| {
        Request::builder()
            .method(m)
            .uri(p)
            .body(Body::empty())
            .unwrap()
    };
    let (status, body) = call(&f.state, req(Method::GET, "/-/healthy")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Healthy"));
    f.state.set_ready(false);
    assert_eq!(
        call(&f.state, req(Method::GET, "/-/ready")).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        call(&f.state, write_req(&[])).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    f.state.set_ready(true);
    let (status, body) = call(&f.state, req(Method::HEAD, "/-/ready")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty());
    assert_eq!(
        call(&f.state, req(Method::GET, "/nope")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&f.state, req(Method::POST, "/-/ready")).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn write_then_read_back_through_the_metadata_apis() {
    let f = fixture();
    seed(&f.state).await;
    let (status, v) = get(&f.state, "/api/v1/series?match[]=up").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "success");
    assert_eq!(
        v["data"],
        json!([
            {"__name__": "up", "instance": "a:1", "job": "api"},
            {"__name__": "up", "instance": "b:1", "job": "node"}
        ])
    );
    let (_, v) = get(
        &f.state,
        "/api/v1/series?match[]=up&match[]=http_requests_total&start=1500&end=2500",
    )
    .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
    let (_, v) = get(&f.state, "/api/v1/series?match[]={job=\"api\"}&limit=1").await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert_eq!(v["warnings"], json!(["results truncated due to limit"]));

    let (_, v) = get(&f.state, "/api/v1/labels").await;
    assert_eq!(v["data"], json!(["__name__", "code", "instance", "job"]));
    let (_, v) = get(&f.state, "/api/v1/labels?match[]=up").await;
    assert_eq!(v["data"], json!(["__name__", "instance", "job"]));
    let (_, v) = get(&f.state, "/api/v1/label/job/values").await;
    assert_eq!(v["data"], json!(["api", "node"]));
    let (_, v) = get(
        &f.state,
        "/api/v1/label/__name__/values?match[]={job=\"api\"}",
    )
    .await;
    assert_eq!(v["data"], json!(["http_requests_total", "up"]));
    let (_, v) = get(
        &f.state,
        "/api/v1/label/job/values?start=1970-01-01T00:33:00Z",
    )
    .await;
    assert_eq!(v["data"], json!(["node"]));
    let (_, v) = get(&f.state, "/api/v1/label/nothing/values").await;
    assert_eq!(v["data"], json!([]));

    let form = Request::post("/api/v1/series")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::from("match%5B%5D=up%7Bjob%3D%22node%22%7D"))
        .unwrap();
    let (status, body) = call(&f.state, form).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("\"node\"") && !body.contains("\"api\""),
        "{body}"
    );
}

#[tokio::test]
async fn api_errors_use_the_prometheus_envelope() {
    let f = fixture();
    for (uri, want) in [
        ("/api/v1/series", "no match[] parameter provided"),
        (
            "/api/v1/series?match[]=up{",
            "invalid parameter \"match[]\": 1:4: parse error: unexpected end of input inside braces",
        ),
        (
            "/api/v1/series?match[]={job=~\".*\"}",
            "at least one non-empty matcher",
        ),
        (
            "/api/v1/series?match[]=up&start=yesterday",
            "invalid parameter \"start\"",
        ),
        (
            "/api/v1/labels?start=10&end=5",
            "end timestamp must not be before start time",
        ),
        (
            "/api/v1/label/bad-name/values",
            "invalid label name: \"bad-name\"",
        ),
        ("/api/v1/labels?limit=x", "invalid parameter \"limit\""),
    ] {
        let (status, v) = get(&f.state, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(v["status"], "error", "{uri}");
        assert_eq!(v["errorType"], "bad_data", "{uri}");
        assert!(v["error"].as_str().unwrap().contains(want), "{uri}: {v}");
    }
}

#[tokio::test]
async fn write_statuses() {
    let f = fixture();
    seed(&f.state).await;
    // Out of order: 400, and the in-order sample of the same request is kept.
    let (status, body) = call(
        &f.state,
        write_req(&[(
            vec![("__name__", "up"), ("job", "api"), ("instance", "a:1")],
            vec![s(999_000, 1.0), s(1_030_000, 1.0)],
        )]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("1 out-of-order samples rejected") && body.contains("1 samples were stored"),
        "{body}"
    );
    let stored = f
        .state
        .querier
        .select(&[Matcher::equal("instance", "a:1")], 0, i64::MAX)
        .unwrap();
    assert_eq!(stored[0].samples.len(), 3);

    let bad_type = Request::post("/api/v1/write")
        .header("Content-Type", "text/plain")
        .body(Body::from("x"))
        .unwrap();
    let (status, body) = call(&f.state, bad_type).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(body.contains("text/plain"), "{body}");

    let garbage = Request::post("/api/v1/write")
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .body(Body::from(vec![0xffu8; 64]))
        .unwrap();
    assert_eq!(call(&f.state, garbage).await.0, StatusCode::BAD_REQUEST);

    let small = ApiState {
        limits: Limits {
            max_body: 10,
            ..Limits::default()
        },
        ..f.state.clone()
    };
    let (status, body) = call(
        &small,
        write_req(&[(vec![("__name__", "x")], vec![s(1, 1.0)])]),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let huge = Request::post("/api/v1/write")
        .header("Content-Type", "application/x-protobuf")
        .body(Body::from(vec![0u8; 1000]))
        .unwrap();
    assert_eq!(call(&small, huge).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn query_api_returns_prometheus_json() {
    let f = fixture();
    seed(&f.state).await;
    let (status, v) = get(&f.state, "/api/v1/query?query=up&time=1015").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["resultType"], "vector");
    let result = v["data"]["result"].as_array().unwrap();
    assert_eq!(
        result.len(),
        1,
        "only the api series has a sample within 5m of t=1015s: {v}"
    );
    assert_eq!(result[0]["metric"]["job"], "api");
    assert_eq!(result[0]["value"], json!([1015, "1"]));

    let (_, v) = get(&f.state, "/api/v1/query?query=1%2F0&time=1.5").await;
    assert_eq!(
        v["data"],
        json!({"resultType": "scalar", "result": [1.5, "+Inf"]})
    );

    let (_, v) = get(
        &f.state,
        "/api/v1/query_range?query=sum(up)&start=1000&end=1030&step=15",
    )
    .await;
    assert_eq!(v["data"]["resultType"], "matrix");
    assert_eq!(v["data"]["result"][0]["metric"], json!({}));
    assert_eq!(
        v["data"]["result"][0]["values"],
        json!([[1000, "1"], [1015, "1"], [1030, "1"]])
    );

    let (_, v) = get(&f.state, "/api/v1/query?query=rate(up[5m])&time=1100").await;
    assert!(
        v["infos"][0]
            .as_str()
            .unwrap()
            .contains("might not be a counter"),
        "{v}"
    );

    let form = Request::post("/api/v1/query")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::from("query=count(up)&time=2000"))
        .unwrap();
    let (status, body) = call(&f.state, form).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#""value":[2000,"1"]"#), "{body}");
}

#[tokio::test]
async fn query_api_errors() {
    let f = fixture();
    for (uri, status, kind, want) in [
        ("/api/v1/query?query=up{", 400, "bad_data", "unexpected"),
        ("/api/v1/query", 400, "bad_data", "query must not be empty"),
        (
            "/api/v1/query?query=up&time=x",
            400,
            "bad_data",
            "invalid parameter \"time\"",
        ),
        (
            "/api/v1/query_range?query=up&start=10&end=5&step=1",
            400,
            "bad_data",
            "end timestamp must not be before start time",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=5&step=0",
            400,
            "bad_data",
            "zero or negative",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=100000&step=1",
            400,
            "bad_data",
            "11,000 points",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=5",
            400,
            "bad_data",
            "invalid parameter \"step\"",
        ),
        (
            "/api/v1/query?query=label_replace(up,\"a-b\",\"\",\"\",\"\")",
            422,
            "execution",
            "invalid destination label name",
        ),
    ] {
        let (s, v) = get(&f.state, uri).await;
        assert_eq!(s.as_u16(), status, "{uri}: {v}");
        assert_eq!(v["errorType"], kind, "{uri}: {v}");
        assert!(v["error"].as_str().unwrap().contains(want), "{uri}: {v}");
    }
}

#[tokio::test]
async fn status_endpoints() {
    let f = fixture();
    seed(&f.state).await;
    let cfg = crate::config::Config::parse(
        "scrape_configs:\n- job_name: x\n  basic_auth: {username: u, password: hunter2}\n  static_configs: [{targets: ['a:1']}]\n",
        std::path::Path::new("t.yml"),
    )
    .unwrap();
    let mut flags = std::collections::BTreeMap::new();
    flags.insert("storage.tsdb.path".to_string(), "/data".to_string());
    let info = Arc::new(status::ServerInfo {
        flags,
        head_stats: Some(Arc::new(|| (7, Some((1_000_000, 2_000_000))))),
        retention: "15d".into(),
        config_yaml: parking_lot::RwLock::new(status::dump_config(&cfg)),
        ..Default::default()
    });
    let state = f.state.clone().with_info(info);

    let (code, v) = get(&state, "/api/v1/status/config").await;
    assert_eq!(code, StatusCode::OK);
    let yaml = v["data"]["yaml"].as_str().unwrap();
    assert!(
        yaml.contains("job_name: x") && yaml.contains("<secret>"),
        "{yaml}"
    );
    assert!(!yaml.contains("hunter2"), "secrets never leave: {yaml}");

    let (_, v) = get(&state, "/api/v1/status/flags").await;
    assert_eq!(v["data"]["storage.tsdb.path"], "/data");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let waiting = tokio::spawn(rx);
    let (_, v) = get(&state, "/api/v1/status/runtimeinfo").await;
    drop(tx);
    let _ = waiting.await;
    assert_eq!(v["data"]["storageRetention"], "15d");
    assert_eq!(v["data"]["reloadConfigSuccess"], true);
    assert!(v["data"]["startTime"].as_str().unwrap().ends_with('Z'));
    assert!(v["data"]["goroutineCount"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["data"]["GOMAXPROCS"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["data"]["corruptionCount"], 0);
    let (_, v) = get(&state, "/api/v1/status/buildinfo").await;
    assert_eq!(v["data"]["version"], env!("CARGO_PKG_VERSION"));

    let (code, v) = get(&state, "/api/v1/status/tsdb").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["data"]["headStats"]["numSeries"], 3);
    assert_eq!(v["data"]["headStats"]["chunkCount"], 7);
    assert_eq!(v["data"]["headStats"]["minTime"], 1_000_000);
    assert_eq!(v["data"]["headStats"]["maxTime"], 2_000_000);
    assert_eq!(
        v["data"]["seriesCountByMetricName"][0],
        json!({"name": "up", "value": 2})
    );
    // Ties are ordered by name.
    assert_eq!(
        v["data"]["seriesCountByLabelValuePair"].as_array().unwrap()[0..2],
        [
            json!({"name": "__name__=up", "value": 2}),
            json!({"name": "job=api", "value": 2})
        ]
    );
    let (_, v) = get(&state, "/api/v1/status/tsdb?limit=1").await;
    assert_eq!(
        v["data"]["labelValueCountByLabelName"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (code, v) = get(&state, "/api/v1/status/tsdb?limit=x").await;
    assert_eq!(
        (code, v["errorType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_data"))
    );

    let (code, v) = get(&state, "/api/v1/format_query?query=sum(rate(x[5m]))by(job)").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["data"], "sum by (job) (rate(x[5m]))");
    let (code, v) = get(&state, "/api/v1/format_query?query=sum(").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["error"],
        "invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"
    );
    let (code, v) = get(&state, "/api/v1/query_exemplars?query=up&start=0&end=10").await;
    assert_eq!((code, v["data"].clone()), (StatusCode::OK, json!([])));
}

#[tokio::test]
async fn federate_exposes_the_newest_samples() {
    let f = fixture();
    let now = crate::model::now_ms();
    let (status, body) = call(
        &f.state,
        write_req(&[
            (
                vec![("__name__", "up"), ("instance", "a:1"), ("job", "api")],
                vec![s(now - 20_000, 0.0), s(now - 10_000, 1.0)],
            ),
            (
                vec![("__name__", "big"), ("path", "a\"b")],
                vec![s(now - 5_000, 1_500_000.0)],
            ),
            (
                vec![("__name__", "gone"), ("job", "api")],
                vec![
                    s(now - 5_000, 1.0),
                    s(now - 4_000, crate::model::stale_nan()),
                ],
            ),
            (
                vec![("__name__", "old"), ("job", "api")],
                vec![s(now - 3_600_000, 1.0)],
            ),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (code, text) = call(
        &f.state,
        Request::get(escape("/federate?match[]={job=\"api\"}&match[]=big"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        text,
        format!(
            "# TYPE big untyped\nbig{{path=\"a\\\"b\"}} 1.5e+06 {}\n# TYPE up untyped\nup{{instance=\"a:1\",job=\"api\"}} 1 {}\n",
            now - 5_000,
            now - 10_000
        )
    );
    let (code, _) = call(
        &f.state,
        Request::get("/federate").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn cors_and_gzip_like_prometheus() {
    let f = fixture();
    seed(&f.state).await;
    let resp = router(f.state.clone())
        .oneshot(
            Request::get("/api/v1/labels")
                .header("Origin", "http://grafana.local")
                .header("Accept-Encoding", "gzip, deflate")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h["access-control-allow-origin"], "http://grafana.local");
    assert_eq!(h["access-control-allow-methods"], "GET, POST, OPTIONS");
    assert_eq!(h["content-encoding"], "gzip");
    let gz = resp.into_body().collect().await.unwrap().to_bytes();
    let mut text = String::new();
    use std::io::Read;
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["status"], "success");
    assert!(v["data"].as_array().unwrap().iter().any(|x| x == "job"));
    // Without Origin and Accept-Encoding: neither.
    let resp = router(f.state.clone())
        .oneshot(Request::get("/api/v1/labels").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    assert!(resp.headers().get("content-encoding").is_none());
    // Remote write answers 204 without a body, whatever the client accepts.
    let mut req = write_req(&[(vec![("__name__", "x")], vec![s(5_000_000, 1.0)])]);
    req.headers_mut()
        .insert("Accept-Encoding", "gzip".parse().unwrap());
    let resp = router(f.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.headers().get("content-encoding").is_none());
}

/// `Accept-Encoding` q-values count: `gzip;q=0` refuses gzip.
#[tokio::test]
async fn gzip_refused_with_q_zero() {
    let f = fixture();
    seed(&f.state).await;
    for refusal in ["gzip;q=0", "gzip; q=0.0, identity", "identity"] {
        let resp = router(f.state.clone())
            .oneshot(
                Request::get("/api/v1/labels")
                    .header("Accept-Encoding", refusal)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            resp.headers().get("content-encoding").is_none(),
            "{refusal}"
        );
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["status"], "success");
    }
    // A preference for something else still takes gzip when that is all there is.
    let resp = router(f.state.clone())
        .oneshot(
            Request::get("/api/v1/labels")
                .header("Accept-Encoding", "br, gzip;q=0.5")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
}

/// A CORS preflight is answered with Prometheus's headers; the management endpoints get none.
#[tokio::test]
async fn cors_preflight_like_prometheus() {
    let f = fixture();
    let resp = router(f.state.clone())
        .oneshot(
            Request::options("/api/v1/query")
                .header("Origin", "http://grafana.local")
                .header("Access-Control-Request-Method", "POST")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "http://grafana.local");
    assert_eq!(h["access-control-allow-methods"], "GET, POST, OPTIONS");
    assert_eq!(
        h["access-control-allow-headers"],
        "Accept, Authorization, Content-Type, Origin"
    );
    assert_eq!(h["access-control-expose-headers"], "Date");
    let resp = router(f.state.clone())
        .oneshot(
            Request::get("/-/healthy")
                .header("Origin", "http://grafana.local")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

/// A configuration that cannot be written as YAML is an internal error, not an empty document.
#[tokio::test]
async fn unwritable_config_is_an_internal_error() {
    struct Unwritable;
    impl serde::Serialize for Unwritable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no YAML for you"))
        }
    }
    let f = fixture();
    let info = Arc::new(status::ServerInfo {
        config_yaml: parking_lot::RwLock::new(status::dump_config(&Unwritable)),
        ..Default::default()
    });
    let (code, v) = get(&f.state.clone().with_info(info), "/api/v1/status/config").await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(v["errorType"], "internal");
    assert!(
        v["error"].as_str().unwrap().contains("no YAML for you"),
        "{v}"
    );
}

/// `client::Local` (in process, through the router) and `client::Http` (over a socket) answer
/// with the same bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_and_http_sources_agree() {
    use crate::client::{Http, HttpOptions, Local, Source};
    let f = fixture();
    seed(&f.state).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(f.state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let local = Local::new(f.state.clone());
    let http = Http::new(&HttpOptions {
        url: format!("http://{addr}"),
        ..Default::default()
    })
    .unwrap();
    let sources: [&dyn Source; 2] = [&local, &http];
    let mut raws = Vec::new();
    for src in sources {
        let a = src.query("sum by (job) (up)", Some(2000.0)).await.unwrap();
        let b = src.query_range("up", 1000.0, 1015.0, 15.0).await.unwrap();
        let c = src.series(&["up".to_string()], None, None).await.unwrap();
        let d = src.labels(Some("job"), &[]).await.unwrap();
        let e = src.query("sum(", None).await.unwrap_err();
        assert!(
            matches!(e, crate::client::ClientError::Api { status: 400, .. }),
            "{e}"
        );
        raws.push((a.raw, b.raw, c.raw, d.raw, e.to_string()));
    }
    assert_eq!(raws[0], raws[1]);
    assert!(raws[0].3.contains("\"node\""), "{}", raws[0].3);
}

/// Every endpoint's bad input gets Prometheus's status and error envelope.
#[tokio::test]
async fn every_endpoint_rejects_bad_input_with_the_envelope() {
    let f = fixture();
    seed(&f.state).await;
    let cases: &[(&str, u16, &str, &str)] = &[
        ("/api/v1/query", 400, "bad_data", "query must not be empty"),
        (
            "/api/v1/query?query=up&time=abc",
            400,
            "bad_data",
            "\"abc\"",
        ),
        (
            "/api/v1/query?query=sum(",
            400,
            "bad_data",
            "invalid parameter \"query\": 1:5: parse error",
        ),
        (
            "/api/v1/query?query=up&timeout=-1s",
            400,
            "bad_data",
            "timeout",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=10",
            400,
            "bad_data",
            "\"step\"",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=10&step=0",
            400,
            "bad_data",
            "zero or negative",
        ),
        (
            "/api/v1/query_range?query=up&start=10&end=0&step=1",
            400,
            "bad_data",
            "end timestamp must not be before start",
        ),
        ("/api/v1/series", 400, "bad_data", "match[]"),
        (
            "/api/v1/series?match[]={",
            400,
            "bad_data",
            "\"match[]\": 1:2",
        ),
        (
            "/api/v1/labels?match[]=up{",
            400,
            "bad_data",
            "\"match[]\": 1:4",
        ),
        ("/api/v1/label/bad-name/values", 400, "bad_data", "bad-name"),
        ("/api/v1/targets/metadata?limit=x", 400, "bad_data", "limit"),
        ("/api/v1/metadata?limit=x", 400, "bad_data", "limit"),
        ("/api/v1/status/tsdb?limit=0", 400, "bad_data", "limit"),
        (
            "/api/v1/format_query?query=(",
            400,
            "bad_data",
            "parse error",
        ),
        (
            "/api/v1/query_exemplars?query=(",
            400,
            "bad_data",
            "parse error",
        ),
        (
            "/api/v1/parse_query?query=sum(x",
            400,
            "bad_data",
            "invalid parameter \"query\": 1:6: parse error",
        ),
        (
            "/api/v1/query_exemplars?query=up&start=x",
            400,
            "bad_data",
            "invalid parameter \"start\"",
        ),
        (
            "/api/v1/query_exemplars?query=up&start=10&end=1",
            400,
            "bad_data",
            "end timestamp must not be before start time",
        ),
        (
            "/api/v1/label/%FF/values",
            400,
            "bad_data",
            "invalid label name",
        ),
        (
            "/api/v1/query?query=up&time=1e400",
            400,
            "bad_data",
            "\"1e400\"",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=1e12&step=0.001",
            400,
            "bad_data",
            "exceeded maximum resolution of 11,000 points",
        ),
        ("/api/v1/rules?type=bogus", 400, "bad_data", "\"bogus\""),
        ("/api/v1/rules?match[]=%7B", 400, "bad_data", "\"match[]\""),
    ];
    for (uri, status, kind, msg) in cases {
        let (code, v) = get(&f.state, uri).await;
        assert_eq!(code.as_u16(), *status, "{uri}: {v}");
        assert_eq!(v["status"], "error", "{uri}: {v}");
        assert_eq!(v["errorType"], *kind, "{uri}: {v}");
        let err = v["error"].as_str().unwrap_or("");
        assert!(err.contains(msg), "{uri}: {err:?} lacks {msg:?}");
    }
    // Endpoints that are off by default.
    let post = |uri: &str| Request::post(uri).body(Body::empty()).unwrap();
    let (code, body) = call(&f.state, post("/api/v1/admin/tsdb/snapshot")).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("\"errorType\":\"unavailable\""), "{body}");
    let (code, _) = call(&f.state, post("/api/v1/admin/tsdb/delete_series")).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    let (code, body) = call(&f.state, post("/-/reload")).await;
    assert_eq!(
        (code, body.as_str()),
        (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.\n")
    );
    let (code, _) = call(&f.state, post("/-/quit")).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    // Plain-text errors where Prometheus gives them.
    let (code, body) = call(
        &f.state,
        Request::get("/federate?match[]=%7B")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn parse_query_answers_the_tree_by_get_and_post() {
    let f = fixture();
    let (code, v) = get(
        &f.state,
        "/api/v1/parse_query?query=sum by (a) (rate(x[1m]))",
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["type"], "aggregation");
    assert_eq!(v["data"]["expr"]["args"][0]["range"], 60_000);
    let (code, body) = call(
        &f.state,
        Request::post("/api/v1/parse_query")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("query=up%7Bjob%3D%22a%22%7D"))
            .unwrap(),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["data"]["matchers"][1],
        json!({"type": "=", "name": "job", "value": "a"})
    );
}

/// Records what the admin endpoints ask of storage.
#[derive(Default)]
struct FakeAdmin {
    calls: parking_lot::Mutex<Vec<String>>,
}

impl super::Admin for FakeAdmin {
    fn snapshot(&self, with_head: bool) -> Result<String, AdminError> {
        self.calls.lock().push(format!("snapshot {with_head}"));
        Ok("20260101T000000Z-0000000000000001".into())
    }
    fn delete_series(&self, m: &[Matcher], mint: i64, maxt: i64) -> Result<(), AdminError> {
        let mut m: Vec<String> = m.iter().map(|m| m.to_string()).collect();
        m.sort();
        self.calls
            .lock()
            .push(format!("delete {} {mint} {maxt}", m.join(",")));
        if mint == 666_000 {
            return Err("disk on fire".into());
        }
        Ok(())
    }
    fn clean_tombstones(&self) -> Result<(), AdminError> {
        self.calls.lock().push("clean".into());
        Ok(())
    }
}

#[tokio::test]
async fn admin_endpoints_pass_their_parameters_to_storage() {
    let f = fixture();
    let admin = Arc::new(FakeAdmin::default());
    let state = f.state.clone().with_admin(Some(admin.clone()));
    let post = |uri: &str| Request::post(escape(uri)).body(Body::empty()).unwrap();
    let (code, body) = call(&state, post("/api/v1/admin/tsdb/snapshot?skip_head=true")).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert!(
        body.contains("\"name\":\"20260101T000000Z-0000000000000001\""),
        "{body}"
    );
    let (code, body) = call(&state, post("/api/v1/admin/tsdb/snapshot?skip_head=maybe")).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
    let (code, _) = call(
        &state,
        post(r#"/api/v1/admin/tsdb/delete_series?match[]=up{job="a"}&match[]=x&start=10&end=20.5"#),
    )
    .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = call(
        &state,
        Request::put("/api/v1/admin/tsdb/delete_series")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("match%5B%5D=y"))
            .unwrap(),
    )
    .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = call(&state, post("/api/v1/admin/tsdb/clean_tombstones")).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    for (uri, msg) in [
        (
            "/api/v1/admin/tsdb/delete_series",
            "no match[] parameter provided",
        ),
        (
            "/api/v1/admin/tsdb/delete_series?match[]=up{",
            "parse error",
        ),
        (
            "/api/v1/admin/tsdb/delete_series?match[]={a=\"\"}",
            "non-empty matcher",
        ),
        (
            "/api/v1/admin/tsdb/delete_series?match[]=up&end=x",
            "invalid parameter \"end\"",
        ),
    ] {
        let (code, body) = call(&state, post(uri)).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(
            body.contains("bad_data") && body.contains(&msg.replace('"', "\\\"")),
            "{uri}: {body}"
        );
    }
    let (code, body) = call(
        &state,
        post("/api/v1/admin/tsdb/delete_series?match[]=up&start=666"),
    )
    .await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.contains("\"errorType\":\"internal\"") && body.contains("disk on fire"),
        "{body}"
    );
    let calls = admin.calls.lock().clone();
    assert_eq!(
        calls,
        vec![
            "snapshot false".to_string(),
            format!("delete __name__=\"up\",job=\"a\" 10000 20500"),
            format!("delete __name__=\"x\" 10000 20500"),
            format!("delete __name__=\"y\" {} {}", MIN_TIME, MAX_TIME),
            "clean".to_string(),
            format!("delete __name__=\"up\" 666000 {MAX_TIME}"),
        ]
    );
}

/// Metadata that comes with remote write 1.0, 2.0 and OTLP is served at /api/v1/metadata.
#[tokio::test]
async fn received_metadata_is_served() {
    let f = fixture();
    let mut raw = encode_write_request(&[(vec![("__name__", "jobs_total")], vec![s(1000, 1.0)])]);
    raw.extend(crate::remote::proto::encode_metadata(&[(
        1,
        "jobs_total",
        "Jobs run.",
        "",
    )]));
    let v1 = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
    let req = Request::post("/api/v1/write")
        .header("Content-Type", "application/x-protobuf")
        .body(Body::from(v1))
        .unwrap();
    assert_eq!(call(&f.state, req).await.0, StatusCode::NO_CONTENT);
    let raw2 = crate::remote::proto::encode_v2(&[crate::remote::proto::SeriesV2 {
        labels: vec![("__name__", "rpc_seconds_bucket"), ("le", "1")],
        samples: vec![s(1000, 3.0)],
        metric_type: 3,
        help: "RPC latency.",
        unit: "seconds",
        ..Default::default()
    }]);
    let req = Request::post("/api/v1/write")
        .header(
            "Content-Type",
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        )
        .body(Body::from(
            snap::raw::Encoder::new().compress_vec(&raw2).unwrap(),
        ))
        .unwrap();
    assert_eq!(call(&f.state, req).await.0, StatusCode::NO_CONTENT);
    let otlp = r#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
      "scopeMetrics":[{"metrics":[{"name":"queue.depth","description":"Items queued.","gauge":{"dataPoints":[{"timeUnixNano":"1000000000","asDouble":2}]}}]}]}]}"#;
    let req = Request::post("/api/v1/otlp/v1/metrics")
        .header("Content-Type", "application/json")
        .body(Body::from(otlp))
        .unwrap();
    assert_eq!(call(&f.state, req).await.0, StatusCode::OK);
    let (st, v) = get(&f.state, "/api/v1/metadata").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        v["data"],
        json!({
            "jobs_total": [{"type": "counter", "help": "Jobs run.", "unit": ""}],
            "rpc_seconds": [{"type": "histogram", "help": "RPC latency.", "unit": "seconds"}],
            "queue_depth": [{"type": "gauge", "help": "Items queued.", "unit": ""}],
        })
    );
    let (_, v) = get(&f.state, "/api/v1/metadata?metric=rpc_seconds").await;
    assert_eq!(v["data"].as_object().unwrap().len(), 1);
}

/// `--query.max-concurrency`: with every slot taken, a query waits in line until its timeout
/// and gets Prometheus's 503 `timeout` "query queue" error; once a slot frees it runs.
#[tokio::test]
async fn queries_wait_for_a_slot_within_their_timeout() {
    let f = fixture();
    let state = f.state.clone().with_query_concurrency(1);
    let held = state.query_gate.clone().try_acquire_owned().unwrap();
    let started = std::time::Instant::now();
    let (st, v) = get(&state, "/api/v1/query?query=vector(1)&timeout=300ms").await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["errorType"], "timeout");
    assert_eq!(v["error"], "query timed out in query queue");
    assert!(started.elapsed() >= std::time::Duration::from_millis(250));
    assert_eq!(state.telemetry.queries_waiting.get(), 0);
    drop(held);
    let (st, v) = get(&state, "/api/v1/query?query=vector(1)&timeout=300ms").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(state.telemetry.queries_running.get(), 0);
    assert_eq!(state.telemetry.queries_concurrent_max.get(), 1);
}

#[tokio::test]
async fn rules_filter_by_label_matchers() {
    let mut f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: g\n  rules:\n  - alert: Page\n    expr: vector(1)\n    labels: {severity: page, team: db}\n  - alert: Ticket\n    expr: vector(1)\n    labels: {severity: ticket}\n  - record: r:sum\n    expr: vector(2)\n",
    )
    .unwrap();
    let cfg_path = dir.path().join("p.yml");
    let cfg = crate::config::Config::parse(
        &format!("rule_files: [{:?}]\n", rules.display().to_string()),
        &cfg_path,
    )
    .unwrap();
    let m = crate::rules::manager::Manager::new(
        f.state.querier.clone(),
        f.state.appender.clone(),
        crate::promql::engine::Engine::default(),
        None,
        crate::rules::manager::Options::default(),
        tokio_util::sync::CancellationToken::new(),
    );
    m.apply_config(&cfg).unwrap();
    f.state.rules = Some(m);
    let names = |v: &Value| -> Vec<String> {
        v["data"]["groups"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap().clone())
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (code, v) = get(&f.state, "/api/v1/rules").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(names(&v), ["Page", "Ticket", "r:sum"]);
    let (_, v) = get(&f.state, r#"/api/v1/rules?match[]={severity="page"}"#).await;
    assert_eq!(names(&v), ["Page"]);
    let (_, v) = get(
        &f.state,
        r#"/api/v1/rules?match[]={team="db"}&match[]={severity=~"t.*"}"#,
    )
    .await;
    assert_eq!(names(&v), ["Page", "Ticket"]);
    // `team=""` matches rules without the label; other filters still apply.
    let (_, v) = get(&f.state, r#"/api/v1/rules?match[]={severity!="",team=""}"#).await;
    assert_eq!(names(&v), ["Ticket"]);
    let (_, v) = get(
        &f.state,
        r#"/api/v1/rules?match[]={severity!=""}&type=record"#,
    )
    .await;
    assert_eq!(names(&v), Vec::<String>::new());
    let (_, v) = get(&f.state, r#"/api/v1/rules?match[]={team="none"}"#).await;
    assert_eq!(names(&v), Vec::<String>::new());
    let (code, v) = get(&f.state, r#"/api/v1/rules?match[]={team="db""#).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"].as_str().unwrap().contains("\"match[]\""), "{v}");
}

/// Deterministic pseudo-random bytes (xorshift), so a failure can be replayed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[tokio::test]
async fn garbage_bodies_get_4xx_with_a_reason_and_lose_nothing() {
    let f = fixture();
    let f = Fixture {
        state: f
            .state
            .clone()
            .with_push(Arc::new(crate::push::Store::open(None))),
        _dir: f._dir,
    };
    seed(&f.state).await;
    let snappy = |b: &[u8]| snap::raw::Encoder::new().compress_vec(b).unwrap();
    let post = |uri: &str, headers: &[(&str, &str)], body: Vec<u8>, method: Method| {
        let mut r = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.body(Body::from(body)).unwrap()
    };
    let rw1 = [
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "snappy"),
    ];
    let rw2 = [
        (
            "Content-Type",
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        ),
        ("Content-Encoding", "snappy"),
    ];
    let mut checked = 0;
    for seed in 0..200u64 {
        let len = (seed as usize * 37) % 3000;
        let raw = noise(seed, len);
        // Half the time, a valid protobuf prefix: field 1 (timeseries / symbols), length.
        let mut framed = vec![0x0a, (len.min(127)) as u8];
        framed.extend_from_slice(&raw);
        let cases = [
            post("/api/v1/write", &rw1, raw.clone(), Method::POST),
            post("/api/v1/write", &rw1, snappy(&raw), Method::POST),
            post("/api/v1/write", &rw1, snappy(&framed), Method::POST),
            post("/api/v1/write", &rw2, snappy(&framed), Method::POST),
            post(
                "/api/v1/otlp/v1/metrics",
                &[("Content-Type", "application/x-protobuf")],
                framed.clone(),
                Method::POST,
            ),
            post(
                "/api/v1/otlp/v1/metrics",
                &[("Content-Type", "application/json")],
                raw.clone(),
                Method::POST,
            ),
            post("/metrics/job/noise", &[], raw.clone(), Method::PUT),
            post("/metrics/job/noise", &[], raw.clone(), Method::POST),
            post(
                "/api/v1/query",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                raw.clone(),
                Method::POST,
            ),
        ];
        for req in cases {
            let uri = req.uri().to_string();
            let (code, body) = call(&f.state, req).await;
            // Random bytes can happen to be a valid (empty or tiny) request; what matters is
            // that nothing is a server error and every refusal says why.
            assert!(!code.is_server_error(), "seed {seed} {uri}: {code} {body}");
            if code.is_client_error() {
                assert!(body.trim().len() > 5, "seed {seed} {uri}: {code} {body:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked} refusals");
    // What was accepted before is all still there.
    let (_, v) = get(
        &f.state,
        "/api/v1/query?query=count(last_over_time(up[1h]))&time=2000",
    )
    .await;
    assert_eq!(v["data"]["result"][0]["value"][1], "2", "{v}");
    let (_, v) = get(
        &f.state,
        "/api/v1/query?query=http_requests_total&time=1000",
    )
    .await;
    assert_eq!(v["data"]["result"][0]["value"][1], "5", "{v}");
}
