//! How discovery talks to the Kubernetes API: where the server is and how to authenticate,
//! from `api_server` (with the config's HTTP client settings), a kubeconfig file (its current
//! context: server, CA, client certificate, token or basic auth, insecure-skip-tls-verify),
//! or in-cluster (KUBERNETES_SERVICE_HOST/PORT and the service account's token and CA); and
//! the two requests: list and watch. Uses reqwest (via the scrape client), serde_yaml, the
//! config.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, USER_AGENT};
use serde::Deserialize;

use crate::config::KubernetesSdConfig;
use crate::scrape::client::{build_client, error_chain, with_auth};
use crate::scrape::discovery::metrics::sd_metrics;

/// Where in-cluster credentials live.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

const REQUESTS: &str = "prometheus_sd_kubernetes_http_request_total";
const REQUESTS_HELP: &str = "Total number of HTTP requests to the Kubernetes API by status code.";

/// How requests are authenticated.
#[derive(Debug, Clone)]
enum Auth {
    None,
    Token(String),
    /// Re-read at each request (service account tokens rotate).
    TokenFile(PathBuf),
    Basic(String, String),
    /// The HTTP client settings of the config (`api_server`).
    Config(Box<KubernetesSdConfig>),
}

/// A client of one API server.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    client: reqwest::Client,
    auth: Auth,
    /// The namespace of the service account (in-cluster), for `own_namespace`.
    pub own_namespace: Option<String>,
}

/// A request that did not succeed: the HTTP status when there was one.
#[derive(Debug)]
pub struct RequestError {
    pub status: Option<u16>,
    pub message: String,
}

impl Api {
    /// The client for a config; `sa_dir` is where in-cluster credentials are read.
    pub fn new(cfg: &KubernetesSdConfig, sa_dir: &Path) -> Result<Api, String> {
        if let Some(server) = &cfg.api_server {
            let client = build_client(&cfg.http_client(), Duration::from_secs(24 * 3600), true)
                .map_err(|e| error_chain(&e))?;
            return Ok(Api {
                base: server.trim_end_matches('/').to_string(),
                client,
                auth: Auth::Config(Box::new(cfg.clone())),
                own_namespace: None,
            });
        }
        if let Some(k) = cfg.kubeconfig_file.as_deref().filter(|k| !k.is_empty()) {
            return from_kubeconfig(Path::new(k));
        }
        in_cluster(sa_dir, cfg.namespaces.own_namespace)
    }

    /// The URL of a path with query parameters.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut u = format!("{}{path}", self.base);
        let mut first = true;
        for (k, v) in query {
            u.push(if first { '?' } else { '&' });
            first = false;
            u.push_str(k);
            u.push('=');
            u.push_str(&url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>());
        }
        u
    }

    /// Sends a GET; a response other than 2xx is an error with the API's message.
    pub async fn get(
        &self,
        url: &str,
        timeout: Duration,
    ) -> Result<reqwest::Response, RequestError> {
        let mut r = self
            .client
            .get(url)
            .timeout(timeout)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("promterm/", env!("CARGO_PKG_VERSION")));
        let fail = |message: String| RequestError {
            status: None,
            message,
        };
        r = match &self.auth {
            Auth::None => r,
            Auth::Token(t) => r.header(AUTHORIZATION, format!("Bearer {t}")),
            Auth::TokenFile(p) => {
                let t = std::fs::read_to_string(p).map_err(|e| {
                    fail(format!("unable to read service account token {:?}: {e}", p))
                })?;
                r.header(AUTHORIZATION, format!("Bearer {}", t.trim()))
            }
            Auth::Basic(u, p) => r.basic_auth(u, Some(p)),
            Auth::Config(c) => with_auth(r, &c.http_client()).map_err(|e| fail(error_chain(&e)))?,
        };
        let counted = |code: &str| {
            sd_metrics().inc(
                REQUESTS,
                REQUESTS_HELP,
                vec![("status_code", code.to_string())],
                1.0,
            )
        };
        let resp = match r.send().await {
            Ok(resp) => resp,
            Err(e) => {
                counted("<error>");
                return Err(fail(error_chain(&e)));
            }
        };
        let status = resp.status();
        counted(status.as_str());
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.bytes().await.unwrap_or_default();
        let detail = serde_json::from_slice::<super::objects::Status>(&body)
            .ok()
            .map(|s| s.message)
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&body[..body.len().min(200)])
                    .trim()
                    .to_string()
            });
        Err(RequestError {
            status: Some(status.as_u16()),
            message: format!("HTTP {status}: {detail}"),
        })
    }
}

/// In-cluster: the API server from the environment, the service account's token and CA.
fn in_cluster(dir: &Path, own_namespace: bool) -> Result<Api, String> {
    let (host, port) = match (
        std::env::var("KUBERNETES_SERVICE_HOST"),
        std::env::var("KUBERNETES_SERVICE_PORT"),
    ) {
        (Ok(h), Ok(p)) if !h.is_empty() && !p.is_empty() => (h, p),
        _ => {
            return Err("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined".into())
        }
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let ca_path = dir.join("ca.crt");
    let ca = std::fs::read(&ca_path)
        .map_err(|e| format!("unable to read in-cluster CA {:?}: {e}", ca_path))?;
    let token = dir.join("token");
    std::fs::metadata(&token)
        .map_err(|e| format!("unable to read service account token {:?}: {e}", token))?;
    let own_namespace = if own_namespace {
        let p = dir.join("namespace");
        let ns = std::fs::read_to_string(&p)
            .map_err(|e| format!("could not determine the pod's namespace: {:?}: {e}", p))?;
        if ns.trim().is_empty() {
            return Err("could not read own namespace name (empty file)".into());
        }
        Some(ns.trim().to_string())
    } else {
        None
    };
    Ok(Api {
        base: format!("https://{host}:{port}"),
        client: tls_client(Some(&ca), None, false)?,
        auth: Auth::TokenFile(token),
        own_namespace,
    })
}

/// A client with its own CA (only), client certificate and verification setting.
fn tls_client(
    ca: Option<&[u8]>,
    identity: Option<Vec<u8>>,
    insecure: bool,
) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .no_proxy()
        .pool_max_idle_per_host(4);
    if let Some(ca) = ca {
        let certs = reqwest::Certificate::from_pem_bundle(ca)
            .map_err(|e| format!("unable to use CA certificate: {}", error_chain(&e)))?;
        b = b.tls_built_in_root_certs(false);
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    if let Some(pem) = identity {
        let id = reqwest::Identity::from_pem(&pem)
            .map_err(|e| format!("unable to use client certificate: {}", error_chain(&e)))?;
        b = b.identity(id);
    }
    if insecure {
        b = b.danger_accept_invalid_certs(true);
    }
    b.build()
        .map_err(|e| format!("cannot build HTTP client: {}", error_chain(&e)))
}

// ---- kubeconfig ----

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct KubeConfig {
    #[serde(rename = "current-context")]
    current_context: String,
    contexts: Vec<Named<Context>>,
    clusters: Vec<Named<Cluster>>,
    users: Vec<Named<User>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Named<T: Default> {
    name: String,
    #[serde(alias = "context", alias = "cluster", alias = "user")]
    value: T,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Context {
    cluster: String,
    user: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct Cluster {
    server: String,
    certificate_authority: Option<String>,
    certificate_authority_data: Option<String>,
    insecure_skip_tls_verify: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct User {
    token: Option<String>,
    #[serde(rename = "tokenFile")]
    token_file: Option<String>,
    client_certificate: Option<String>,
    client_certificate_data: Option<String>,
    client_key: Option<String>,
    client_key_data: Option<String>,
    username: Option<String>,
    password: Option<String>,
    exec: Option<serde_yaml::Value>,
    auth_provider: Option<serde_yaml::Value>,
}

/// Inline base64 data, or a file relative to the kubeconfig's directory.
fn data_or_file(
    data: &Option<String>,
    file: &Option<String>,
    dir: &Path,
    what: &str,
) -> Result<Option<Vec<u8>>, String> {
    use base64::Engine;
    if let Some(d) = data.as_deref().filter(|d| !d.is_empty()) {
        let clean: String = d.split_whitespace().collect();
        return base64::engine::general_purpose::STANDARD
            .decode(clean)
            .map(Some)
            .map_err(|e| format!("invalid {what}-data in kubeconfig: {e}"));
    }
    match file.as_deref().filter(|f| !f.is_empty()) {
        Some(f) => {
            let p = dir.join(f);
            std::fs::read(&p)
                .map(Some)
                .map_err(|e| format!("unable to read {what} {:?}: {e}", p))
        }
        None => Ok(None),
    }
}

/// The client of a kubeconfig file's current context.
fn from_kubeconfig(path: &Path) -> Result<Api, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("unable to read kubeconfig_file {:?}: {e}", path))?;
    let kc: KubeConfig = serde_yaml::from_str(&text)
        .map_err(|e| format!("invalid kubeconfig_file {:?}: {e}", path))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let ctx_name = &kc.current_context;
    let ctx = kc
        .contexts
        .iter()
        .find(|c| &c.name == ctx_name)
        .map(|c| &c.value)
        .ok_or_else(|| {
            format!(
                "kubeconfig_file {:?}: current-context {ctx_name:?} not found",
                path
            )
        })?;
    let cluster = kc
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .map(|c| &c.value)
        .ok_or_else(|| {
            format!(
                "kubeconfig_file {:?}: cluster {:?} not found",
                path, ctx.cluster
            )
        })?;
    if cluster.server.is_empty() {
        return Err(format!(
            "kubeconfig_file {:?}: cluster {:?} has no server",
            path, ctx.cluster
        ));
    }
    let default_user = User::default();
    let user = if ctx.user.is_empty() {
        &default_user
    } else {
        kc.users
            .iter()
            .find(|u| u.name == ctx.user)
            .map(|u| &u.value)
            .ok_or_else(|| format!("kubeconfig_file {:?}: user {:?} not found", path, ctx.user))?
    };
    if user.exec.is_some() || user.auth_provider.is_some() {
        return Err(format!(
            "kubeconfig_file {:?}: user {:?} gets credentials from exec or auth-provider plugins, which promterm does not run; use a token, tokenFile or client certificate",
            path, ctx.user
        ));
    }
    let ca = data_or_file(
        &cluster.certificate_authority_data,
        &cluster.certificate_authority,
        dir,
        "certificate-authority",
    )?;
    let cert = data_or_file(
        &user.client_certificate_data,
        &user.client_certificate,
        dir,
        "client-certificate",
    )?;
    let key = data_or_file(&user.client_key_data, &user.client_key, dir, "client-key")?;
    let identity = match (cert, key) {
        (Some(mut c), Some(k)) => {
            c.push(b'\n');
            c.extend_from_slice(&k);
            Some(c)
        }
        (None, None) => None,
        _ => {
            return Err(format!(
                "kubeconfig_file {:?}: user {:?} needs both client-certificate and client-key",
                path, ctx.user
            ))
        }
    };
    let auth = if let Some(t) = user.token.as_deref().filter(|t| !t.is_empty()) {
        Auth::Token(t.to_string())
    } else if let Some(f) = user.token_file.as_deref().filter(|t| !t.is_empty()) {
        Auth::TokenFile(dir.join(f))
    } else if let Some(u) = &user.username {
        Auth::Basic(u.clone(), user.password.clone().unwrap_or_default())
    } else {
        Auth::None
    };
    Ok(Api {
        base: cluster.server.trim_end_matches('/').to_string(),
        client: tls_client(ca.as_deref(), identity, cluster.insecure_skip_tls_verify)?,
        auth,
        own_namespace: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_current_context() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "secret-token\n").unwrap();
        let p = dir.path().join("config");
        std::fs::write(
            &p,
            "apiVersion: v1\nkind: Config\ncurrent-context: b\n\
             contexts:\n- name: a\n  context: {cluster: one, user: u1}\n- name: b\n  context: {cluster: two, user: u2, namespace: x}\n\
             clusters:\n- name: one\n  cluster: {server: 'https://one:6443'}\n- name: two\n  cluster: {server: 'http://127.0.0.1:8080/', insecure-skip-tls-verify: true}\n\
             users:\n- name: u1\n  user: {token: t1}\n- name: u2\n  user: {tokenFile: tok}\n",
        )
        .unwrap();
        let api = from_kubeconfig(&p).unwrap();
        assert_eq!(api.base, "http://127.0.0.1:8080");
        assert!(matches!(&api.auth, Auth::TokenFile(f) if f == &dir.path().join("tok")));
        assert_eq!(
            api.url("/api/v1/pods", &[("labelSelector", "app in (a,b)")]),
            "http://127.0.0.1:8080/api/v1/pods?labelSelector=app+in+%28a%2Cb%29"
        );
        std::fs::write(
            &p,
            "current-context: a\ncontexts: [{name: a, context: {cluster: one, user: u}}]\n\
             clusters: [{name: one, cluster: {server: 'https://x'}}]\n\
             users: [{name: u, user: {exec: {command: aws}}}]\n",
        )
        .unwrap();
        let e = from_kubeconfig(&p).unwrap_err();
        assert!(e.contains("exec or auth-provider"), "{e}");
        let e = from_kubeconfig(&dir.path().join("missing")).unwrap_err();
        assert!(e.starts_with("unable to read kubeconfig_file"), "{e}");
    }

    #[test]
    fn in_cluster_needs_the_environment_and_files() {
        let dir = tempfile::tempdir().unwrap();
        // The environment is the process's: only check what does not depend on it.
        if std::env::var("KUBERNETES_SERVICE_HOST").is_err() {
            let e = in_cluster(dir.path(), false).unwrap_err();
            assert!(e.contains("KUBERNETES_SERVICE_HOST"), "{e}");
        }
    }
}
