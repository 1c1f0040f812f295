//! `consul_sd_configs`: Consul's catalog and health APIs, with Prometheus's keys and defaults
//! (discovery/consul `SDConfig`), the HTTP client settings inline. Uses `config` only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::http::{with_http_client_config, BasicAuth, Secret};
use crate::config::{Duration, Scheme};

with_http_client_config! {
    /// One `consul_sd_configs` entry.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ConsulSdConfig {
        #[serde(default = "default_server")]
        pub server: String,
        /// Put before every API path (Consul behind a reverse proxy).
        #[serde(default)]
        pub path_prefix: String,
        /// Sent as `X-Consul-Token`.
        #[serde(default)]
        pub token: Option<Secret>,
        /// Unset: the agent's own datacenter (asked from `/v1/agent/self`).
        #[serde(default)]
        pub datacenter: String,
        /// Consul Enterprise only.
        #[serde(default)]
        pub namespace: String,
        /// Consul Enterprise only.
        #[serde(default)]
        pub partition: String,
        #[serde(default = "default_tag_separator")]
        pub tag_separator: String,
        #[serde(default)]
        pub scheme: Scheme,
        /// Deprecated in Prometheus in favour of `basic_auth`; moved there at loading.
        #[serde(default)]
        pub username: String,
        /// Deprecated in Prometheus in favour of `basic_auth`; moved there at loading.
        #[serde(default)]
        pub password: Option<Secret>,
        #[serde(default = "crate::config::http::default_true")]
        pub allow_stale: bool,
        /// The least time between two requests of one watch.
        #[serde(default = "default_refresh")]
        pub refresh_interval: Duration,
        /// Empty: every service of the catalog.
        #[serde(default)]
        pub services: Vec<String>,
        /// A Consul filter expression for the catalog's service list (`/v1/catalog/services`).
        #[serde(default)]
        pub filter: String,
        /// A Consul filter expression for a service's instances (`/v1/health/service`), whose
        /// selectors differ from the catalog's (`Service.Tags`, `Node.Meta`...).
        #[serde(default)]
        pub health_filter: String,
        /// Instances must carry every one of these tags.
        #[serde(default)]
        pub tags: Vec<String>,
        #[serde(default)]
        pub node_meta: BTreeMap<String, String>,
    }
}

fn default_server() -> String {
    "localhost:8500".to_string()
}

fn default_tag_separator() -> String {
    ",".to_string()
}

fn default_refresh() -> Duration {
    Duration::from_secs(30)
}

impl ConsulSdConfig {
    /// Prometheus's checks (discovery/consul `UnmarshalYAML`, with its messages): a server,
    /// the deprecated `username`/`password` moved into `basic_auth`, `token` not beside
    /// `authorization`; then the HTTP client checks. Relative files are made relative to `dir`.
    pub fn finish(&mut self, dir: &std::path::Path) -> Result<(), String> {
        if self.server.trim().is_empty() {
            return Err("consul SD configuration requires a server address".into());
        }
        if !self.username.is_empty() || self.password.is_some() {
            if self.basic_auth.is_some() {
                return Err("at most one of consul SD configuration username and password and basic auth can be configured".into());
            }
            self.basic_auth = Some(BasicAuth {
                username: std::mem::take(&mut self.username),
                password: self.password.take(),
                ..BasicAuth::default()
            });
        }
        if self.token.is_some() && self.authorization.is_some() {
            return Err(
                "at most one of consul SD token, authorization, or oauth2 can be configured".into(),
            );
        }
        if self.refresh_interval.is_zero() {
            return Err("consul SD refresh_interval must be positive".into());
        }
        self.check_http_client(dir)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, Scheme};

    fn job(sd: &str) -> Result<Config, String> {
        super::super::job_with("consul_sd_configs", sd)
    }

    #[test]
    fn defaults_and_prometheus_errors() {
        let c = job("{}").unwrap();
        let s = &c.jobs().next().unwrap().consul_sd_configs[0];
        assert_eq!(s.server, "localhost:8500");
        assert_eq!(s.tag_separator, ",");
        assert_eq!(s.scheme, Scheme::Http);
        assert!(s.allow_stale);
        assert_eq!(s.refresh_interval.as_std().as_secs(), 30);
        assert!(s.services.is_empty() && s.tags.is_empty() && s.filter.is_empty());
        assert!(s.health_filter.is_empty());
        let c = job(
            "{server: 'c:8500', scheme: https, username: u, password: p, services: [web], \
             tags: [prod], node_meta: {rack: r1}, filter: 'Service.Port == 80', \
             tls_config: {ca_file: ca.pem}}",
        )
        .unwrap();
        let s = &c.jobs().next().unwrap().consul_sd_configs[0];
        let b = s.basic_auth.as_ref().unwrap();
        assert_eq!(
            (b.username.as_str(), b.password.as_ref().map(|p| p.expose())),
            ("u", Some("p"))
        );
        assert_eq!(s.tls_config.ca_file.as_deref(), Some("/etc/p/ca.pem"));
        let e = job("{server: ' '}").unwrap_err();
        assert!(
            e.contains("consul SD configuration requires a server address"),
            "{e}"
        );
        let e = job("{username: u, basic_auth: {username: v}}").unwrap_err();
        assert!(e.contains("at most one of consul SD configuration username and password and basic auth can be configured"), "{e}");
        let e = job("{token: t, authorization: {credentials: c}}").unwrap_err();
        assert!(
            e.contains(
                "at most one of consul SD token, authorization, or oauth2 can be configured"
            ),
            "{e}"
        );
        let e = job("{bearer_token: a, bearer_token_file: b}").unwrap_err();
        assert!(
            e.contains("consul_sd_configs[0]: at most one of bearer_token"),
            "{e}"
        );
        let e = job("{scheme: ftp}").unwrap_err();
        assert!(e.contains("ftp"), "{e}");
        let e = job("{servers: [a]}").unwrap_err();
        assert!(e.contains("servers"), "{e}");
    }
}
