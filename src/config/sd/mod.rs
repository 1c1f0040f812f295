//! The config sections of the service discovery mechanisms other than static and file ones,
//! one file per mechanism, with Prometheus's keys, defaults and validation messages. Uses only
//! the rest of `config`.

pub mod consul;
pub mod dns;
pub mod docker;
pub mod http;
pub mod kubernetes;

/// A config of one job `j` whose `list` (`docker_sd_configs`...) holds `sd` (a YAML flow
/// mapping), as read from /etc/p/prometheus.yml; the load error as text.
#[cfg(test)]
pub(crate) fn job_with(list: &str, sd: &str) -> Result<crate::config::Config, String> {
    let text = format!("scrape_configs:\n  - job_name: j\n    {list}:\n      - {sd}\n");
    crate::config::Config::parse(&text, std::path::Path::new("/etc/p/prometheus.yml"))
        .map_err(|e| e.to_string())
}
