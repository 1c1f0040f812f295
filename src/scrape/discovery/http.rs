//! `http_sd_configs`: GET the URL every `refresh_interval` and read a JSON list of
//! `{targets, labels}` groups; each group gets `__meta_url` and the source `URL:index`. The
//! answer must be 200 with a JSON content type; anything else (or a malformed body) fails the
//! refresh, which keeps the last good list and counts `prometheus_sd_http_failures_total`.
//! Follows Prometheus's discovery/http `Discovery.Refresh` in our own words. Uses `config`,
//! the scrape HTTP client, tokio.

use std::collections::BTreeMap;

use reqwest::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::metrics::sd_metrics;
use super::{address, refresh, LabelMap, Sink, TargetGroup};
use crate::config::HttpSdConfig;
use crate::model::{is_valid_label_name, NameValidation};
use crate::scrape::client::{build_client, error_chain, with_auth};

const FAILURES: &str = "prometheus_sd_http_failures_total";
const FAILURES_HELP: &str = "Number of HTTP service discovery refresh failures.";

/// One group as the server sends it (unknown fields are ignored, as Go's decoder does).
#[derive(Deserialize)]
struct WireGroup {
    #[serde(default)]
    targets: Option<Vec<String>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// Whether a Content-Type is JSON as Prometheus accepts it: `application/json`, optionally
/// with `charset=utf-8` (quoted or not), case-insensitively.
fn json_content_type(ct: &str) -> bool {
    let ct = ct.trim().to_ascii_lowercase();
    let Some(rest) = ct.strip_prefix("application/json") else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(param) = rest.strip_prefix(';') else {
        return false;
    };
    matches!(param.trim_start(), "charset=utf-8" | "charset=\"utf-8\"")
}

/// The groups in one answer from `url`.
pub fn parse_groups(url: &str, body: &[u8]) -> Result<Vec<TargetGroup>, String> {
    let list: Vec<Option<WireGroup>> = serde_json::from_slice(body)
        .map_err(|e| format!("malformed target group list from {url:?}: {e}"))?;
    let mut out = Vec::with_capacity(list.len());
    for (i, g) in list.into_iter().enumerate() {
        let Some(g) = g else {
            return Err(format!(
                "nil target group item found (item {i} from {url:?})"
            ));
        };
        let mut labels: LabelMap = g.labels.unwrap_or_default();
        if let Some(bad) = labels
            .keys()
            .find(|k| !is_valid_label_name(k, NameValidation::Legacy))
        {
            return Err(format!(
                "{bad:?} is not a valid label name (group {i} from {url:?})"
            ));
        }
        labels.insert("__meta_url".into(), url.to_string());
        out.push(TargetGroup {
            source: format!("{url}:{i}"),
            targets: g
                .targets
                .unwrap_or_default()
                .iter()
                .map(|t| address(t))
                .collect(),
            labels,
        });
    }
    Ok(out)
}

/// One refresh: the request, its checks, the groups.
async fn fetch(client: &reqwest::Client, cfg: &HttpSdConfig) -> Result<Vec<TargetGroup>, String> {
    let url = &cfg.url;
    let req = client
        .get(url)
        .header(USER_AGENT, concat!("promterm/", env!("CARGO_PKG_VERSION")))
        .header(ACCEPT, "application/json")
        .header(
            "X-Prometheus-Refresh-Interval-Seconds",
            format!("{}", cfg.refresh_interval.as_std().as_secs_f64()),
        );
    let req = with_auth(req, &cfg.http_client()).map_err(|e| error_chain(&e))?;
    let resp = req
        .send()
        .await
        .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
    let status = resp.status();
    if status != reqwest::StatusCode::OK {
        return Err(format!("server returned HTTP status {status} for {url}"));
    }
    let ct = resp
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    if !json_content_type(&ct) {
        return Err(format!("unsupported content type {ct:?} from {url}"));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("reading the answer of {url}: {}", error_chain(&e)))?;
    parse_groups(url, &body)
}

/// Polls one `http_sd_configs` entry until `stop`.
pub async fn run(cfg: HttpSdConfig, sink: Sink, stop: CancellationToken) {
    let interval = cfg.refresh_interval.as_std();
    sd_metrics().declare(FAILURES, FAILURES_HELP, vec![]);
    let client = match build_client(&cfg.http_client(), interval, true) {
        Ok(c) => c,
        Err(e) => {
            sink.fail(format!("http_sd {}: {}", cfg.url, error_chain(&e)));
            return;
        }
    };
    refresh::run("http", interval, sink, stop, || {
        let (client, cfg) = (client.clone(), cfg.clone());
        async move { fetch_counted(&client, &cfg).await }
    })
    .await;
}

/// One refresh, its failure counted in `prometheus_sd_http_failures_total`.
async fn fetch_counted(
    client: &reqwest::Client,
    cfg: &HttpSdConfig,
) -> Result<Vec<TargetGroup>, String> {
    let r = fetch(client, cfg).await;
    if r.is_err() {
        sd_metrics().inc(FAILURES, FAILURES_HELP, vec![], 1.0);
    }
    r
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;

    use super::*;

    #[test]
    fn content_types_as_prometheus_accepts_them() {
        for ok in [
            "application/json",
            "Application/JSON",
            " application/json ",
            "application/json; charset=utf-8",
            "application/json;charset=\"utf-8\"",
            "application/json; CHARSET=UTF-8",
        ] {
            assert!(json_content_type(ok), "{ok:?}");
        }
        for bad in [
            "",
            "text/plain",
            "application/jsonx",
            "application/json; charset=latin1",
            "application/json; foo=bar",
        ] {
            assert!(!json_content_type(bad), "{bad:?}");
        }
    }

    #[test]
    fn groups_get_meta_url_and_sources() {
        let url = "http://sd.example:8080/targets";
        let g = parse_groups(
            url,
            br#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}, "extra": 1},
                 {"targets": ["c:3"]}, {"labels": {"x": "y"}}]"#,
        )
        .unwrap();
        assert_eq!(g.len(), 3);
        assert_eq!(g[0].source, format!("{url}:0"));
        assert_eq!(g[2].source, format!("{url}:2"));
        assert_eq!(g[0].targets[1]["__address__"], "b:2");
        assert_eq!(g[0].labels["env"], "prod");
        for x in &g {
            assert_eq!(x.labels["__meta_url"], url);
        }
        assert!(g[2].targets.is_empty());
        let e = parse_groups(url, br#"[{"targets": ["a:1"]}, null]"#).unwrap_err();
        assert!(
            e.contains("nil target group") && e.contains("item 1"),
            "{e}"
        );
        let e =
            parse_groups(url, br#"[{"targets": ["a:1"], "labels": {"a-b": "c"}}]"#).unwrap_err();
        assert!(e.contains("\"a-b\""), "{e}");
        let e = parse_groups(url, br#"{"targets": []}"#).unwrap_err();
        assert!(e.contains("malformed") && e.contains(url), "{e}");
    }

    fn config(url: &str) -> HttpSdConfig {
        serde_yaml::from_str(&format!("url: {url}\nrefresh_interval: 15s\n")).unwrap()
    }

    /// A fake HTTP SD endpoint: a good list, then a 500, malformed JSON, a wrong content type,
    /// and good again (with one group fewer); records the refresh-interval header.
    async fn fake_sd() -> (String, Arc<parking_lot::Mutex<Vec<String>>>) {
        let n = Arc::new(AtomicUsize::new(0));
        let seen: Arc<parking_lot::Mutex<Vec<String>>> = Arc::default();
        let seen2 = seen.clone();
        let app = axum::Router::new().route(
            "/sd",
            axum::routing::get(move |h: HeaderMap| {
                let k = n.fetch_add(1, Ordering::SeqCst);
                let hdr = h
                    .get("x-prometheus-refresh-interval-seconds")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                seen2.lock().push(hdr);
                async move {
                    let json = [("content-type", "application/json")];
                    match k {
                        0 => (json, r#"[{"targets":["10.0.0.1:9100","10.0.0.2:9100"],"labels":{"env":"prod"}},{"targets":["10.0.0.3:80"]}]"#).into_response(),
                        1 => (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response(),
                        2 => (json, r#"[{"targets":["10.0.0.1:9100"],"#).into_response(),
                        3 => ([("content-type", "text/plain")], "[]").into_response(),
                        _ => (json, r#"[{"targets":["10.0.0.9:9100"]}]"#).into_response(),
                    }
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await });
        (format!("http://{addr}/sd"), seen)
    }

    #[tokio::test]
    async fn errors_keep_the_last_good_list_and_are_counted() {
        let (url, seen) = fake_sd().await;
        let cfg = config(&url);
        let client = build_client(&cfg.http_client(), cfg.refresh_interval.as_std(), true).unwrap();
        let sink = Sink::new();
        let failures = || sd_metrics().value(FAILURES, &[]).unwrap_or(0.0);
        let before = failures();
        refresh::once("http", &sink, fetch_counted(&client, &cfg)).await;
        let good = sink.groups();
        assert_eq!(good.len(), 2);
        assert_eq!(good[0].targets.len(), 2);
        assert_eq!(sink.error(), None);
        let expect = [
            "server returned HTTP status 500 Internal Server Error",
            "malformed target group list",
            "unsupported content type \"text/plain\"",
        ];
        for (i, want) in expect.iter().enumerate() {
            refresh::once("http", &sink, fetch_counted(&client, &cfg)).await;
            let e = sink.error().unwrap_or_default();
            assert!(e.contains(want), "refresh {}: {e}", i + 2);
            assert_eq!(sink.groups(), good, "a failure keeps the last good list");
        }
        // Other tests may count failures at the same time: at least ours are there.
        assert!(failures() - before >= 3.0);
        refresh::once("http", &sink, fetch_counted(&client, &cfg)).await;
        assert_eq!(sink.error(), None);
        let now = sink.groups();
        assert_eq!(now.len(), 1, "the vanished group is gone: {now:?}");
        assert_eq!(now[0].targets[0]["__address__"], "10.0.0.9:9100");
        assert!(seen.lock().iter().all(|h| h == "15"), "{:?}", seen.lock());
    }

    #[tokio::test]
    async fn unreachable_server_is_a_clear_error() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/sd", l.local_addr().unwrap());
        drop(l);
        let cfg = config(&url);
        let client = build_client(&cfg.http_client(), cfg.refresh_interval.as_std(), true).unwrap();
        let e = fetch(&client, &cfg).await.unwrap_err();
        assert!(e.contains(&url), "{e}");
    }
}
