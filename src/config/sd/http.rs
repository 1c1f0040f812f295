//! `http_sd_configs`: a URL that answers a JSON list of target groups, polled every
//! `refresh_interval`, with the HTTP client keys. Defaults and checks follow Prometheus's
//! discovery/http `SDConfig.UnmarshalYAML` (same messages).

use serde::{Deserialize, Serialize};

use crate::config::http::with_http_client_config;
use crate::config::Duration;

with_http_client_config! {
    /// One `http_sd_configs` entry.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct HttpSdConfig {
        #[serde(default)]
        pub url: String,
        #[serde(default = "default_refresh")]
        pub refresh_interval: Duration,
    }
}

fn default_refresh() -> Duration {
    Duration::from_secs(60)
}

impl HttpSdConfig {
    /// Checks the URL and the HTTP client keys; relative credential files are resolved
    /// against `dir`.
    pub fn check(&mut self, dir: &std::path::Path) -> Result<(), String> {
        if self.url.is_empty() {
            return Err("URL is missing".into());
        }
        let u =
            url::Url::parse(&self.url).map_err(|e| format!("invalid URL {:?}: {e}", self.url))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(format!(
                "URL scheme must be 'http' or 'https' (got {:?} in {:?})",
                u.scheme(),
                self.url
            ));
        }
        // url normalises `http:///x` to host `x`; Go (and Prometheus) see no host there.
        let after_scheme = self.url.split_once("://").map_or("", |(_, r)| r);
        if u.host_str().is_none_or(str::is_empty) || after_scheme.starts_with('/') {
            return Err(format!("host is missing in URL {:?}", self.url));
        }
        if self.refresh_interval.is_zero() {
            return Err("refresh_interval must be positive".into());
        }
        self.check_http_client(dir)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn load(sd: &str) -> Result<Config, String> {
        super::super::job_with("http_sd_configs", sd)
    }

    #[test]
    fn defaults_and_checks_as_prometheus() {
        let c = load("{url: 'https://sd.example/targets', bearer_token_file: tok}").unwrap();
        let job = c.jobs().next().unwrap();
        let sd = &job.http_sd_configs[0];
        assert_eq!(sd.refresh_interval.as_std().as_secs(), 60);
        assert_eq!(sd.bearer_token_file.as_deref(), Some("/etc/p/tok"));
        for (cfg, want) in [
            (
                "{refresh_interval: 5s}",
                "http_sd_configs[0]: URL is missing",
            ),
            (
                "{url: 'ftp://x/y'}",
                "URL scheme must be 'http' or 'https' (got \"ftp\"",
            ),
            ("{url: 'http:///x'}", "host is missing in URL \"http:///x\""),
            ("{url: 'http://:80/x'}", "empty host"),
            (
                "{url: 'http://a/', refresh_interval: 0s}",
                "refresh_interval must be positive",
            ),
            (
                "{url: 'http://a/', bearer_token: x, bearer_token_file: y}",
                "at most one of bearer_token",
            ),
            ("{url: 'http://a/', refresh: 5s}", "unknown field `refresh`"),
        ] {
            let e = load(cfg).unwrap_err();
            assert!(e.contains(want), "{cfg}: {e}");
        }
    }
}
