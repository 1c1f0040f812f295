//! A small client of the Docker Engine API for discovery: GET a path and decode its JSON, over
//! a unix socket (hyper's HTTP/1.1 client connection on a tokio `UnixStream`, one connection
//! per request) or over TCP (the scrape HTTP client, so TLS and credentials apply). Paths are
//! unversioned: the Engine answers them with its own API version. Uses `config`, the scrape
//! HTTP client, hyper, tokio.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use serde::de::DeserializeOwned;

use crate::config::{DockerHost, DockerSdConfig};
use crate::scrape::client::{build_client, error_chain, with_auth};

/// The largest answer read from the Engine (a guard against a runaway peer).
const MAX_BODY: usize = 64 << 20;

/// A way to the Engine.
pub enum Engine {
    Unix {
        path: String,
        timeout: Duration,
    },
    Http {
        base: String,
        client: reqwest::Client,
        cfg: Box<DockerSdConfig>,
    },
}

impl Engine {
    /// The client for a `docker_sd_configs` entry; requests time out after its
    /// `refresh_interval`, as Prometheus's do.
    pub fn new(cfg: &DockerSdConfig) -> Result<Engine, String> {
        let timeout = cfg.refresh_interval.as_std();
        match cfg.endpoint()? {
            DockerHost::Unix(path) => Ok(Engine::Unix { path, timeout }),
            DockerHost::Http(base) => {
                let client = build_client(&cfg.http_client(), timeout, false)
                    .map_err(|e| format!("docker host {:?}: {}", cfg.host, error_chain(&e)))?;
                Ok(Engine::Http {
                    base,
                    client,
                    cfg: Box::new(cfg.clone()),
                })
            }
        }
    }

    /// Where requests go, for messages.
    pub fn describe(&self) -> String {
        match self {
            Engine::Unix { path, .. } => format!("unix://{path}"),
            Engine::Http { base, .. } => base.clone(),
        }
    }

    /// GETs `path_and_query` and decodes the JSON answer; a status other than 200 is an
    /// error carrying the Engine's `message`.
    pub async fn get<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T, String> {
        let (status, body) = match self {
            Engine::Unix { path, timeout } => {
                tokio::time::timeout(*timeout, unix_get(path, path_and_query))
                    .await
                    .map_err(|_| {
                        format!(
                            "GET {path_and_query} on unix://{path}: timed out after {timeout:?}"
                        )
                    })??
            }
            Engine::Http { base, client, cfg } => {
                http_get(client, cfg, &format!("{base}{path_and_query}")).await?
            }
        };
        let at = self.describe();
        if status != 200 {
            let msg = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
                .unwrap_or_else(|| {
                    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
                });
            return Err(format!(
                "GET {path_and_query} on {at}: HTTP {status}: {msg}"
            ));
        }
        serde_json::from_slice(&body)
            .map_err(|e| format!("GET {path_and_query} on {at}: malformed answer: {e}"))
    }
}

/// One request over a unix socket.
async fn unix_get(socket: &str, path_and_query: &str) -> Result<(u16, Vec<u8>), String> {
    let at = |e: String| format!("GET {path_and_query} on unix://{socket}: {e}");
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| at(format!("cannot connect to the Docker daemon: {e}")))?;
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| at(error_chain(&e)))?;
    // The connection is driven by its own task; it ends when the answer is read.
    let driver = tokio::spawn(conn);
    let req = hyper::Request::get(path_and_query)
        .header(hyper::header::HOST, "docker")
        .header(
            hyper::header::USER_AGENT,
            concat!("promterm/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|e| at(e.to_string()))?;
    let resp = send
        .send_request(req)
        .await
        .map_err(|e| at(error_chain(&e)))?;
    let status = resp.status().as_u16();
    let body = http_body_util::Limited::new(resp.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| at(format!("reading the answer: {e}")))?
        .to_bytes();
    driver.abort();
    Ok((status, body.to_vec()))
}

/// One request over HTTP(S) with the config's credentials.
async fn http_get(
    client: &reqwest::Client,
    cfg: &DockerSdConfig,
    url: &str,
) -> Result<(u16, Vec<u8>), String> {
    let req = client.get(url).header(
        reqwest::header::USER_AGENT,
        concat!("promterm/", env!("CARGO_PKG_VERSION")),
    );
    let req = with_auth(req, &cfg.http_client()).map_err(|e| error_chain(&e))?;
    let resp = req
        .send()
        .await
        .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
    let status = resp.status().as_u16();
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(format!("GET {url}: answer larger than {MAX_BODY} bytes"));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: reading the answer: {}", error_chain(&e)))?;
    Ok((status, body.to_vec()))
}
