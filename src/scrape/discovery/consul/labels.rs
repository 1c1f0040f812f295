//! The target group of one Consul service: a target per instance, with every
//! `__meta_consul_*` label Prometheus's discovery/consul sets. Pure, no I/O.

use super::api::{aggregated_status, ServiceEntry};
use crate::scrape::discovery::labels::{add_prefixed, join_host_port};
use crate::scrape::discovery::{LabelMap, TargetGroup};

const PREFIX: &str = "__meta_consul_";

/// The group of service `name` (source: the name; group labels `__meta_consul_service` and
/// `__meta_consul_dc`) with a target per entry: the service address (else the node's) and
/// port, the node, tags joined by `sep` with `sep` at both ends, health, metadata and tagged
/// addresses.
pub fn group_of(name: &str, dc: &str, sep: &str, entries: &[ServiceEntry]) -> TargetGroup {
    let mut labels = LabelMap::new();
    labels.insert(format!("{PREFIX}service"), name.to_string());
    labels.insert(format!("{PREFIX}dc"), dc.to_string());
    let mut targets = Vec::with_capacity(entries.len());
    for e in entries {
        let (n, s) = (&e.node, &e.service);
        let tags = s.tags.as_deref().unwrap_or_default().join(sep);
        let host = if s.address.is_empty() {
            &n.address
        } else {
            &s.address
        };
        let mut l = LabelMap::new();
        l.insert("__address__".into(), join_host_port(host, s.port));
        let mut put = |k: &str, v: String| {
            l.insert(format!("{PREFIX}{k}"), v);
        };
        put("address", n.address.clone());
        put("node", n.node.clone());
        put("namespace", s.namespace.clone());
        put("partition", s.partition.clone());
        put("tags", format!("{sep}{tags}{sep}"));
        put("service_address", s.address.clone());
        put("service_port", s.port.to_string());
        put("service_id", s.id.clone());
        put(
            "health",
            aggregated_status(e.checks.as_deref().unwrap_or_default()).to_string(),
        );
        for (list, pairs) in [
            ("metadata_", &n.meta),
            ("service_metadata_", &s.meta),
            ("tagged_address_", &n.tagged_addresses),
        ] {
            add_prefixed(
                &mut l,
                &format!("{PREFIX}{list}"),
                None,
                pairs.iter().flatten(),
            );
        }
        targets.push(l);
    }
    TargetGroup {
        source: name.to_string(),
        targets,
        labels,
    }
}
