//! Consul's HTTP API as Prometheus's Consul discovery calls it (through hashicorp/consul/api):
//! `/v1/agent/self` for the local datacenter, `/v1/catalog/services` and
//! `/v1/health/service/<name>` as blocking queries (`index`, `wait`, the `X-Consul-Index`
//! answer header), with `dc`, `ns`, `partition`, `stale`, `node-meta`, `tag` and `filter`
//! (`filter` for the catalog, `health_filter` for the health API) parameters and the token in `X-Consul-Token`. Every call is timed in
//! `prometheus_sd_consul_rpc_duration_seconds`. Uses reqwest (the scrape HTTP client), serde.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::super::metrics::sd_metrics;
use crate::config::ConsulSdConfig;
use crate::scrape::client::{build_client, error_chain, with_auth};

pub const RPC_DURATION: &str = "prometheus_sd_consul_rpc_duration_seconds";
const RPC_DURATION_HELP: &str = "The duration of a Consul RPC call in seconds.";

/// One node's instance of a service, from `/v1/health/service/<name>`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServiceEntry {
    #[serde(rename = "Node")]
    pub node: Node,
    #[serde(rename = "Service")]
    pub service: AgentService,
    #[serde(rename = "Checks")]
    pub checks: Option<Vec<HealthCheck>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Node {
    #[serde(rename = "Node")]
    pub node: String,
    #[serde(rename = "Address")]
    pub address: String,
    #[serde(rename = "TaggedAddresses")]
    pub tagged_addresses: Option<BTreeMap<String, String>>,
    #[serde(rename = "Meta")]
    pub meta: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AgentService {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Service")]
    pub service: String,
    #[serde(rename = "Tags")]
    pub tags: Option<Vec<String>>,
    #[serde(rename = "Address")]
    pub address: String,
    #[serde(rename = "Port")]
    pub port: i64,
    #[serde(rename = "Meta")]
    pub meta: Option<BTreeMap<String, String>>,
    #[serde(rename = "Namespace")]
    pub namespace: String,
    #[serde(rename = "Partition")]
    pub partition: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HealthCheck {
    #[serde(rename = "CheckID")]
    pub check_id: String,
    #[serde(rename = "Status")]
    pub status: String,
}

/// The health of an instance from its checks, as consul/api `HealthChecks.AggregatedStatus`:
/// maintenance beats critical beats warning beats passing; no checks is passing; a status it
/// does not know makes it empty.
pub fn aggregated_status(checks: &[HealthCheck]) -> &'static str {
    let (mut passing, mut warning, mut critical, mut maintenance) = (false, false, false, false);
    for c in checks {
        if c.check_id == "_node_maintenance" || c.check_id.starts_with("_service_maintenance:") {
            maintenance = true;
            continue;
        }
        match c.status.as_str() {
            "passing" => passing = true,
            "warning" => warning = true,
            "critical" => critical = true,
            _ => return "",
        }
    }
    let _ = passing;
    if maintenance {
        "maintenance"
    } else if critical {
        "critical"
    } else if warning {
        "warning"
    } else {
        "passing"
    }
}

/// A Consul API client for one SD config.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    cfg: ConsulSdConfig,
    /// `scheme://server` and the path prefix.
    base: String,
    /// How long a blocking query may be held.
    pub wait: Duration,
}

/// A blocking query's answer: the decoded body and `X-Consul-Index`.
pub struct Answer<T> {
    pub body: T,
    pub index: u64,
}

impl Client {
    pub fn new(cfg: &ConsulSdConfig, wait: Duration) -> Result<Client, String> {
        let http = build_client(&cfg.http_client(), wait + Duration::from_secs(15), true)
            .map_err(|e| error_chain(&e))?;
        let mut scheme = cfg.scheme.as_str();
        let mut server = cfg.server.as_str();
        if let Some((s, rest)) = cfg.server.split_once("://") {
            match s {
                "http" => scheme = "http",
                "https" => scheme = "https",
                other => return Err(format!("unsupported scheme {other:?} in server {server:?}")),
            }
            server = rest;
        }
        let base = format!(
            "{scheme}://{server}{}",
            cfg.path_prefix.trim_end_matches('/')
        );
        url::Url::parse(&base).map_err(|e| format!("invalid Consul address {base:?}: {e}"))?;
        Ok(Client {
            http,
            cfg: cfg.clone(),
            base,
            wait,
        })
    }

    /// GET of `segments` under /v1 with the common query options; `blocking`: `index`,
    /// `wait` and the other options of a watch, with `filter`. Times the call under `call`
    /// (Prometheus times only the watches) and decodes the JSON answer.
    async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        extra: &[(&str, String)],
        blocking: Option<(u64, &str)>,
        call: Option<&'static str>,
    ) -> Result<Answer<T>, String> {
        let mut url = url::Url::parse(&self.base).map_err(|e| e.to_string())?;
        {
            let mut p = url
                .path_segments_mut()
                .map_err(|_| format!("invalid Consul address {:?}", self.base))?;
            p.pop_if_empty().push("v1");
            for s in segments {
                p.push(s);
            }
        }
        {
            let mut q = url.query_pairs_mut();
            let c = &self.cfg;
            if !c.datacenter.is_empty() {
                q.append_pair("dc", &c.datacenter);
            }
            if !c.namespace.is_empty() {
                q.append_pair("ns", &c.namespace);
            }
            if !c.partition.is_empty() {
                q.append_pair("partition", &c.partition);
            }
            if let Some((index, filter)) = blocking {
                if c.allow_stale {
                    q.append_pair("stale", "");
                }
                if index > 0 {
                    q.append_pair("index", &index.to_string());
                }
                q.append_pair("wait", &format!("{}ms", self.wait.as_millis()));
                for (k, v) in &c.node_meta {
                    q.append_pair("node-meta", &format!("{k}:{v}"));
                }
                if !filter.is_empty() {
                    q.append_pair("filter", filter);
                }
            }
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        let mut url = url.to_string();
        if url.ends_with('?') {
            url.pop();
        }
        let t0 = Instant::now();
        let r = self.fetch(&url).await;
        if let Some(call) = call {
            sd_metrics().observe(
                RPC_DURATION,
                RPC_DURATION_HELP,
                vec![
                    ("call", call.to_string()),
                    ("endpoint", "catalog".to_string()),
                ],
                t0.elapsed().as_secs_f64(),
            );
        }
        r
    }

    async fn fetch<T: DeserializeOwned>(&self, url: &str) -> Result<Answer<T>, String> {
        let mut req = self.http.get(url);
        if let Some(t) = &self.cfg.token {
            req = req.header("X-Consul-Token", t.expose());
        }
        let req = with_auth(req, &self.cfg.http_client()).map_err(|e| error_chain(&e))?;
        let resp = req
            .send()
            .await
            .map_err(|e| format!("Get {:?}: {}", redact(url), error_chain(&e.without_url())))?;
        let status = resp.status();
        let index = resp
            .headers()
            .get("X-Consul-Index")
            .map(|v| v.to_str().unwrap_or("").to_string());
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("Get {:?}: {}", redact(url), error_chain(&e.without_url())))?;
        if status != reqwest::StatusCode::OK {
            return Err(format!(
                "Unexpected response code: {} ({})",
                status.as_u16(),
                String::from_utf8_lossy(&body).trim()
            ));
        }
        let index = match index {
            Some(i) => i
                .parse::<u64>()
                .map_err(|e| format!("Failed to parse X-Consul-Index {i:?}: {e}"))?,
            None => 0,
        };
        let body = serde_json::from_slice(&body)
            .map_err(|e| format!("invalid JSON from {:?}: {e}", redact(url)))?;
        Ok(Answer { body, index })
    }

    /// The datacenter of the agent (`Config.Datacenter` of `/v1/agent/self`).
    pub async fn agent_datacenter(&self) -> Result<String, String> {
        let a: Answer<serde_json::Value> = self.get(&["agent", "self"], &[], None, None).await?;
        match a.body.pointer("/Config/Datacenter") {
            Some(serde_json::Value::String(dc)) => Ok(dc.clone()),
            other => Err(format!(
                "invalid value '{}' for Config.Datacenter",
                other.map_or("<nil>".to_string(), |v| v.to_string())
            )),
        }
    }

    /// The catalog's services and their tags, blocking until the index passes `index`.
    pub async fn services(
        &self,
        index: u64,
    ) -> Result<Answer<BTreeMap<String, Vec<String>>>, String> {
        let a: Answer<Option<BTreeMap<String, Option<Vec<String>>>>> = self
            .get(
                &["catalog", "services"],
                &[],
                Some((index, &self.cfg.filter)),
                Some("services"),
            )
            .await?;
        Ok(Answer {
            body: a
                .body
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect(),
            index: a.index,
        })
    }

    /// A service's instances with their health, with every tag in `tags`, blocking until
    /// the index passes `index`.
    pub async fn health_service(
        &self,
        name: &str,
        tags: &[String],
        index: u64,
    ) -> Result<Answer<Vec<ServiceEntry>>, String> {
        let extra: Vec<(&str, String)> = tags.iter().map(|t| ("tag", t.clone())).collect();
        let a: Answer<Option<Vec<ServiceEntry>>> = self
            .get(
                &["health", "service", name],
                &extra,
                Some((index, &self.cfg.health_filter)),
                Some("service"),
            )
            .await?;
        Ok(Answer {
            body: a.body.unwrap_or_default(),
            index: a.index,
        })
    }
}

/// A URL without its query (it may hold a filter worth not repeating in every error).
fn redact(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}
