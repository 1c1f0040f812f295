//! The client layer: `Source` is anything that answers the Prometheus HTTP API. `Http` talks to
//! any Prometheus-compatible server (Prometheus, promterm, Mimir, Thanos, VictoriaMetrics) for
//! `promterm query` and the TUI; `Local` calls this process's own API router without a socket,
//! so both give the same JSON. Answers keep the body exactly as sent (for `--json`) next to the
//! parsed envelope. `explain` tells why an answer is empty; `histogram` reads and summarises
//! native-histogram samples; `stats` reads and writes query statistics (`stats=all`). Uses reqwest, serde_json, and `api`
//! (for `Local`).

pub mod explain;
pub mod histogram;
pub mod stats;

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use serde_json::Value;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached (connection refused, DNS, TLS, timeout).
    #[error("cannot reach {url}: {msg}")]
    Unreachable { url: String, msg: String },
    /// The server answered with Prometheus's error envelope.
    #[error("{error_type}: {error}")]
    Api {
        status: u16,
        error_type: String,
        error: String,
    },
    /// The server answered something that is not the API's JSON.
    #[error("unexpected answer from {url} (HTTP {status}): {msg}")]
    Protocol {
        url: String,
        status: u16,
        msg: String,
    },
    /// Bad client settings (a header, a CA file).
    #[error("{0}")]
    Setup(String),
}

/// A successful answer: the body as sent, and its `data` and annotations.
#[derive(Debug, Clone)]
pub struct Answer {
    pub raw: String,
    pub data: Value,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

/// Connection settings.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub bearer_token: Option<String>,
    pub basic_auth: Option<(String, String)>,
    pub ca_file: Option<std::path::PathBuf>,
    pub insecure: bool,
    pub timeout: Option<Duration>,
}

/// A Prometheus API over HTTP.
#[derive(Debug, Clone)]
pub struct Http {
    base: String,
    client: reqwest::Client,
    basic_auth: Option<(String, String)>,
}

impl Http {
    pub fn new(o: &HttpOptions) -> Result<Self, ClientError> {
        let mut headers = HeaderMap::new();
        for (k, v) in &o.headers {
            let name = HeaderName::from_bytes(k.trim().as_bytes())
                .map_err(|_| ClientError::Setup(format!("invalid header name {k:?}")))?;
            let value = HeaderValue::from_str(v.trim())
                .map_err(|_| ClientError::Setup(format!("invalid value for header {k:?}")))?;
            headers.append(name, value);
        }
        if let Some(t) = &o.bearer_token {
            let v = HeaderValue::from_str(&format!("Bearer {}", t.trim())).map_err(|_| {
                ClientError::Setup("the bearer token is not a valid header value".into())
            })?;
            headers.insert(AUTHORIZATION, v);
        }
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .default_headers(headers)
            .user_agent(concat!("promterm/", env!("CARGO_PKG_VERSION")));
        if let Some(t) = o.timeout {
            b = b.timeout(t);
        }
        if let Some(ca) = &o.ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                ClientError::Setup(format!("cannot read CA file {:?}: {e}", ca.display()))
            })?;
            for c in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| ClientError::Setup(format!("bad CA file {:?}: {e}", ca.display())))?
            {
                b = b.add_root_certificate(c);
            }
        }
        if o.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        let client = b
            .build()
            .map_err(|e| ClientError::Setup(format!("cannot build the HTTP client: {e}")))?;
        let base = o.url.trim_end_matches('/').to_string();
        Ok(Http {
            base,
            client,
            basic_auth: o.basic_auth.clone(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// GET `path` with `params` (POST form for long queries, as Prometheus clients do).
    async fn fetch(&self, path: &str, params: &[(&str, String)]) -> Result<Answer, ClientError> {
        let url = format!("{}{}", self.base, path);
        let long = params.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() > 4000;
        let mut req = if long {
            self.client.post(&url).form(params)
        } else {
            self.client.get(&url).query(params)
        };
        if let Some((u, p)) = &self.basic_auth {
            req = req.basic_auth(u, Some(p));
        }
        let resp = req.send().await.map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            msg: crate::scrape::client::error_chain(&e),
        })?;
        let status = resp.status().as_u16();
        let raw = resp.text().await.map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            msg: crate::scrape::client::error_chain(&e),
        })?;
        answer(url, status, raw)
    }
}

/// Turns a response into an `Answer` or the error it carries.
fn answer(url: String, status: u16, raw: String) -> Result<Answer, ClientError> {
    {
        let v: Value = serde_json::from_str(&raw).map_err(|_| ClientError::Protocol {
            url: url.clone(),
            status,
            msg: raw.chars().take(200).collect(),
        })?;
        if v["status"] == "error" {
            return Err(ClientError::Api {
                status,
                error_type: v["errorType"].as_str().unwrap_or("").to_string(),
                error: v["error"].as_str().unwrap_or("").to_string(),
            });
        }
        if v["status"] != "success" {
            return Err(ClientError::Protocol {
                url,
                status,
                msg: raw.chars().take(200).collect(),
            });
        }
        let strings = |k: &str| -> Vec<String> {
            v[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Answer {
            data: v["data"].clone(),
            warnings: strings("warnings"),
            infos: strings("infos"),
            raw,
        })
    }
}

type Fut<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Answer, ClientError>> + Send + 'a>>;

/// Anything that answers the Prometheus HTTP API. Implementors provide `get`; the calls the
/// TUI and the CLI use are built on it.
pub trait Source: Send + Sync {
    /// GET `path` (under the API root) with query parameters.
    fn get<'a>(&'a self, path: &'a str, params: &'a [(&'a str, String)]) -> Fut<'a>;

    fn query<'a>(&'a self, expr: &'a str, time: Option<f64>) -> Fut<'a> {
        self.query_with(expr, time, false)
    }

    /// An instant query; with `stats`, the answer carries the query statistics (`stats=all`).
    fn query_with<'a>(&'a self, expr: &'a str, time: Option<f64>, stats: bool) -> Fut<'a> {
        Box::pin(async move {
            let mut p = vec![("query", expr.to_string())];
            if let Some(t) = time {
                p.push(("time", fmt_time(t)));
            }
            if stats {
                p.push(("stats", "all".to_string()));
            }
            self.get("/api/v1/query", &p).await
        })
    }

    fn query_range<'a>(&'a self, expr: &'a str, start: f64, end: f64, step: f64) -> Fut<'a> {
        self.query_range_with(expr, start, end, step, false)
    }

    /// A range query; with `stats`, the answer carries the query statistics (`stats=all`).
    fn query_range_with<'a>(
        &'a self,
        expr: &'a str,
        start: f64,
        end: f64,
        step: f64,
        stats: bool,
    ) -> Fut<'a> {
        Box::pin(async move {
            let mut p = vec![
                ("query", expr.to_string()),
                ("start", fmt_time(start)),
                ("end", fmt_time(end)),
                ("step", fmt_time(step)),
            ];
            if stats {
                p.push(("stats", "all".to_string()));
            }
            self.get("/api/v1/query_range", &p).await
        })
    }

    /// The exemplars of the series `expr` selects, within [start, end] (`/api/v1/query_exemplars`;
    /// a bound left out is open, as the API takes it).
    fn query_exemplars<'a>(
        &'a self,
        expr: &'a str,
        start: Option<f64>,
        end: Option<f64>,
    ) -> Fut<'a> {
        Box::pin(async move {
            let mut p = vec![("query", expr.to_string())];
            if let Some(s) = start {
                p.push(("start", fmt_time(s)));
            }
            if let Some(e) = end {
                p.push(("end", fmt_time(e)));
            }
            self.get("/api/v1/query_exemplars", &p).await
        })
    }

    fn series<'a>(
        &'a self,
        matches: &'a [String],
        start: Option<f64>,
        end: Option<f64>,
    ) -> Fut<'a> {
        Box::pin(async move {
            let mut p: Vec<(&str, String)> =
                matches.iter().map(|m| ("match[]", m.clone())).collect();
            if let Some(s) = start {
                p.push(("start", fmt_time(s)));
            }
            if let Some(e) = end {
                p.push(("end", fmt_time(e)));
            }
            self.get("/api/v1/series", &p).await
        })
    }

    fn labels<'a>(&'a self, name: Option<&'a str>, matches: &'a [String]) -> Fut<'a> {
        Box::pin(async move {
            let p: Vec<(&str, String)> = matches.iter().map(|m| ("match[]", m.clone())).collect();
            match name {
                Some(n) => self.get(&format!("/api/v1/label/{n}/values"), &p).await,
                None => self.get("/api/v1/labels", &p).await,
            }
        })
    }

    fn targets(&self) -> Fut<'_> {
        Box::pin(async move { self.get("/api/v1/targets", &[]).await })
    }

    fn metadata(&self) -> Fut<'_> {
        Box::pin(async move { self.get("/api/v1/metadata", &[]).await })
    }

    fn rules(&self) -> Fut<'_> {
        Box::pin(async move { self.get("/api/v1/rules", &[]).await })
    }

    fn alerts(&self) -> Fut<'_> {
        Box::pin(async move { self.get("/api/v1/alerts", &[]).await })
    }
}

impl Source for Http {
    fn get<'a>(&'a self, path: &'a str, params: &'a [(&'a str, String)]) -> Fut<'a> {
        Box::pin(self.fetch(path, params))
    }
}

/// This process's own API, called through its router without a socket. The router is built
/// once; each call uses a clone (cheap: axum routers share their routes).
#[derive(Clone)]
pub struct Local {
    router: axum::Router,
}

impl Local {
    pub fn new(state: crate::api::ApiState) -> Self {
        Local {
            router: crate::api::router(state),
        }
    }
}

impl Source for Local {
    fn get<'a>(&'a self, path: &'a str, params: &'a [(&'a str, String)]) -> Fut<'a> {
        Box::pin(async move {
            use tower::ServiceExt;
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            let uri = if query.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{query}")
            };
            let req = axum::http::Request::get(&uri)
                .body(axum::body::Body::empty())
                .map_err(|e| ClientError::Setup(format!("bad request {uri:?}: {e}")))?;
            let resp =
                self.router
                    .clone()
                    .oneshot(req)
                    .await
                    .map_err(|e| ClientError::Unreachable {
                        url: uri.clone(),
                        msg: e.to_string(),
                    })?;
            let status = resp.status().as_u16();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .map_err(|e| ClientError::Unreachable {
                    url: uri.clone(),
                    msg: e.to_string(),
                })?;
            answer(uri, status, String::from_utf8_lossy(&body).into_owned())
        })
    }
}

/// Unix seconds with at most millisecond precision, as the API takes them.
pub fn fmt_time(t: f64) -> String {
    let ms = (t * 1000.0).round() as i64;
    let (sign, a) = if ms < 0 { ("-", -ms) } else { ("", ms) };
    if a % 1000 == 0 {
        format!("{sign}{}", a / 1000)
    } else {
        format!("{sign}{}.{:03}", a / 1000, a % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Basic auth and extra headers reach the server.
    #[tokio::test]
    async fn credentials_and_headers_are_sent() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut c, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = c.read(&mut buf).await.unwrap();
            let body = r#"{"status":"success","data":[]}"#;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            c.write_all(resp.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase()
        });
        let h = Http::new(&HttpOptions {
            url: format!("http://{addr}"),
            headers: vec![("X-Scope-OrgID".into(), " tenant-1".into())],
            basic_auth: Some(("alice".into(), "secret".into())),
            ..Default::default()
        })
        .unwrap();
        let a = h.labels(None, &[]).await.unwrap();
        assert_eq!(a.data, serde_json::json!([]));
        let req = server.await.unwrap();
        assert!(
            req.contains("authorization: basic ywxpy2u6c2vjcmv0\r\n"),
            "{req}"
        );
        assert!(req.contains("x-scope-orgid: tenant-1\r\n"), "{req}");
    }

    #[test]
    fn times() {
        assert_eq!(fmt_time(1700000000.0), "1700000000");
        assert_eq!(fmt_time(1.5), "1.500");
        assert_eq!(fmt_time(-0.25), "-0.250");
    }
}
