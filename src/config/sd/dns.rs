//! `dns_sd_configs`: names to look up (SRV, A, AAAA, MX or NS records) every
//! `refresh_interval`, as Prometheus's discovery/dns config. Uses `config` only.

use serde::{Deserialize, Serialize};

use crate::config::Duration;

/// One `dns_sd_configs` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSdConfig {
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default = "default_refresh")]
    pub refresh_interval: Duration,
    /// The record type, any case: SRV (the default), A, AAAA, MX or NS.
    #[serde(default = "default_type", rename = "type")]
    pub record_type: String,
    /// The port of the targets for every type but SRV (whose records carry their own).
    #[serde(default)]
    pub port: i64,
}

fn default_refresh() -> Duration {
    Duration::from_secs(30)
}

fn default_type() -> String {
    "SRV".to_string()
}

/// The record types DNS discovery asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsRecordType {
    Srv,
    A,
    Aaaa,
    Mx,
    Ns,
}

impl DnsSdConfig {
    /// The record type; only valid configs get past validation, so an unknown one is SRV.
    pub fn qtype(&self) -> DnsRecordType {
        match self.record_type.to_ascii_uppercase().as_str() {
            "A" => DnsRecordType::A,
            "AAAA" => DnsRecordType::Aaaa,
            "MX" => DnsRecordType::Mx,
            "NS" => DnsRecordType::Ns,
            _ => DnsRecordType::Srv,
        }
    }

    /// Prometheus's checks (discovery/dns `UnmarshalYAML`), with its messages.
    pub fn validate(&self) -> Result<(), String> {
        if self.names.is_empty() {
            return Err("DNS-SD config must contain at least one SRV record name".into());
        }
        match self.record_type.to_ascii_uppercase().as_str() {
            "SRV" => {}
            "A" | "AAAA" | "MX" | "NS" => {
                if self.port == 0 {
                    return Err(
                        "a port is required in DNS-SD configs for all record types except SRV"
                            .into(),
                    );
                }
            }
            _ => return Err(format!("invalid DNS-SD records type {}", self.record_type)),
        }
        if self.refresh_interval.is_zero() {
            return Err("DNS-SD refresh_interval must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, DnsRecordType};

    fn job(sd: &str) -> Result<Config, String> {
        super::super::job_with("dns_sd_configs", sd)
    }

    #[test]
    fn defaults_and_prometheus_errors() {
        let c = job("{names: ['_x._tcp.example']}").unwrap();
        let d = &c.jobs().next().unwrap().dns_sd_configs[0];
        assert_eq!(d.qtype(), DnsRecordType::Srv);
        assert_eq!(d.refresh_interval.as_std().as_secs(), 30);
        assert_eq!(d.port, 0);
        let c = job("{names: [a.example], type: aaaa, port: 9100, refresh_interval: 5s}").unwrap();
        let d = &c.jobs().next().unwrap().dns_sd_configs[0];
        assert_eq!((d.qtype(), d.port), (DnsRecordType::Aaaa, 9100));
        let e = job("{names: []}").unwrap_err();
        assert!(
            e.contains("DNS-SD config must contain at least one SRV record name"),
            "{e}"
        );
        for t in ["A", "MX", "NS"] {
            let e = job(&format!("{{names: [a], type: {t}}}")).unwrap_err();
            assert!(
                e.contains("a port is required in DNS-SD configs for all record types except SRV"),
                "{e}"
            );
        }
        let e = job("{names: [a], type: TXT, port: 1}").unwrap_err();
        assert!(e.contains("invalid DNS-SD records type TXT"), "{e}");
        assert!(
            e.contains("dns_sd_configs[0]") && e.contains("job \"j\""),
            "{e}"
        );
        let e = job("{names: [a], prot: 1}").unwrap_err();
        assert!(e.contains("prot"), "{e}");
    }
}
