//! `docker_sd_configs`: the containers of one Docker Engine (a unix socket or TCP), polled
//! every `refresh_interval`, with the HTTP client keys (used for `http://`/`https://` hosts).
//! Defaults and checks follow Prometheus's discovery/moby `DockerSDConfig` (same messages).

use serde::{Deserialize, Serialize};

use crate::config::http::with_http_client_config;
use crate::config::Duration;

with_http_client_config! {
    /// One `docker_sd_configs` entry.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct DockerSdConfig {
        /// The Engine's address: `unix:///var/run/docker.sock`, `tcp://host:2375`,
        /// `http://...` or `https://...`.
        #[serde(default)]
        pub host: String,
        /// The port of containers that publish none.
        #[serde(default = "default_port")]
        pub port: u16,
        /// Docker's `/containers/json` filters, sent as they are.
        #[serde(default)]
        pub filters: Vec<DockerFilter>,
        /// The address of containers in host networking mode.
        #[serde(default = "default_host_networking_host")]
        pub host_networking_host: String,
        #[serde(default = "default_refresh")]
        pub refresh_interval: Duration,
        /// A container on several networks yields targets for the first one only (by name).
        #[serde(default = "crate::config::http::default_true")]
        pub match_first_network: bool,
    }
}

/// One `filters` entry: a Docker filter name and its values.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerFilter {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub values: Vec<String>,
}

fn default_port() -> u16 {
    80
}

fn default_host_networking_host() -> String {
    "localhost".into()
}

fn default_refresh() -> Duration {
    Duration::from_secs(60)
}

/// How the Engine is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerHost {
    /// A unix socket at this path.
    Unix(String),
    /// An HTTP(S) base URL (`tcp://` becomes `http://`), without a trailing `/`.
    Http(String),
}

impl DockerSdConfig {
    /// Where the Engine is, from `host`.
    pub fn endpoint(&self) -> Result<DockerHost, String> {
        let h = &self.host;
        let u = url::Url::parse(h).map_err(|e| format!("invalid host {h:?}: {e}"))?;
        match u.scheme() {
            "unix" => {
                let path = u.path();
                if path.is_empty() || path == "/" {
                    return Err(format!("host {h:?} names no socket path"));
                }
                Ok(DockerHost::Unix(path.to_string()))
            }
            "tcp" | "http" | "https" => {
                let host = u.host_str().unwrap_or("");
                if host.is_empty() {
                    return Err(format!("host is missing in {h:?}"));
                }
                let scheme = if u.scheme() == "https" { "https" } else { "http" };
                let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
                let host = match u.host() {
                    Some(url::Host::Ipv6(a)) => format!("[{a}]"),
                    _ => host.to_string(),
                };
                let path = u.path().trim_end_matches('/');
                Ok(DockerHost::Http(format!("{scheme}://{host}{port}{path}")))
            }
            other => Err(format!(
                "unsupported scheme {other:?} in host {h:?} (want unix://, tcp://, http:// or https://)"
            )),
        }
    }

    /// Checks `host` and the HTTP client keys; relative credential files are resolved against
    /// `dir`.
    pub fn check(&mut self, dir: &std::path::Path) -> Result<(), String> {
        if self.host.is_empty() {
            return Err("host missing".into());
        }
        self.endpoint()?;
        if self.refresh_interval.is_zero() {
            return Err("refresh_interval must be positive".into());
        }
        for (i, f) in self.filters.iter().enumerate() {
            if f.name.is_empty() {
                return Err(format!("filters[{i}]: name is missing"));
            }
        }
        self.check_http_client(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn load(sd: &str) -> Result<Config, String> {
        super::super::job_with("docker_sd_configs", sd)
    }

    #[test]
    fn defaults_and_checks_as_prometheus() {
        let c = load("{host: 'unix:///var/run/docker.sock'}").unwrap();
        let sd = &c.jobs().next().unwrap().docker_sd_configs[0];
        assert_eq!(sd.port, 80);
        assert_eq!(sd.host_networking_host, "localhost");
        assert!(sd.match_first_network);
        assert!(sd.filters.is_empty());
        assert_eq!(sd.refresh_interval.as_std().as_secs(), 60);
        assert_eq!(
            sd.endpoint().unwrap(),
            DockerHost::Unix("/var/run/docker.sock".into())
        );
        let c = load("{host: 'tcp://10.0.0.1:2375', port: 9100, match_first_network: false, filters: [{name: label, values: [a=b]}]}").unwrap();
        let sd = &c.jobs().next().unwrap().docker_sd_configs[0];
        assert_eq!(
            sd.endpoint().unwrap(),
            DockerHost::Http("http://10.0.0.1:2375".into())
        );
        assert_eq!(sd.port, 9100);
        assert!(!sd.match_first_network);
        assert_eq!(sd.filters[0].values, ["a=b"]);
        let c = load("{host: 'https://[::1]:2376/'}").unwrap();
        let sd = &c.jobs().next().unwrap().docker_sd_configs[0];
        assert_eq!(
            sd.endpoint().unwrap(),
            DockerHost::Http("https://[::1]:2376".into())
        );
        for (cfg, want) in [
            ("{port: 80}", "docker_sd_configs[0]: host missing"),
            (
                "{host: '/var/run/docker.sock'}",
                "invalid host \"/var/run/docker.sock\"",
            ),
            ("{host: 'ssh://me@box'}", "unsupported scheme \"ssh\""),
            ("{host: 'unix://'}", "names no socket path"),
            (
                "{host: 'tcp://h:1', filters: [{values: [x]}]}",
                "filters[0]: name is missing",
            ),
            ("{host: 'tcp://h:1', port: 70000}", "port"),
            ("{host: 'tcp://h:1', hosts: x}", "unknown field `hosts`"),
        ] {
            let e = load(cfg).unwrap_err();
            assert!(e.contains(want), "{cfg}: {e}");
        }
    }
}
