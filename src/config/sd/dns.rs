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
