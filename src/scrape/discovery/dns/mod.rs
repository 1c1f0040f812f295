//! `dns_sd_configs`: every `refresh_interval`, each name is looked up (SRV, A, AAAA, MX or
//! NS) through the servers and search list of `/etc/resolv.conf`, as Prometheus's
//! discovery/dns does; one target group per name (source: the name), one target per record,
//! with `__meta_dns_name` and the `__meta_dns_{srv,mx,ns}_record_*` labels (empty for the
//! other types). A name whose lookup fails keeps its last good group and the error shows on
//! the pool. Counts `prometheus_sd_dns_lookups_total` and `_lookup_failures_total`.
//! Uses `config`, the discovery sink and refresh metrics, tokio, hickory-proto.

pub mod lookup;
pub mod resolv_conf;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, RecordType};
use tokio_util::sync::CancellationToken;

use super::labels::join_host_port;
use super::metrics::sd_metrics;
use super::{refresh, LabelMap, Sink, TargetGroup};
use crate::config::{DnsRecordType, DnsSdConfig};
use lookup::lookup_with_search_path;
use resolv_conf::{ResolvConf, RESOLV_CONF};

const LOOKUPS: &str = "prometheus_sd_dns_lookups_total";
const LOOKUPS_HELP: &str = "The number of DNS-SD lookups.";
const FAILURES: &str = "prometheus_sd_dns_lookup_failures_total";
const FAILURES_HELP: &str = "The number of DNS-SD lookup failures.";

pub const NAME_LABEL: &str = "__meta_dns_name";
pub const SRV_TARGET_LABEL: &str = "__meta_dns_srv_record_target";
pub const SRV_PORT_LABEL: &str = "__meta_dns_srv_record_port";
pub const MX_TARGET_LABEL: &str = "__meta_dns_mx_record_target";
pub const NS_TARGET_LABEL: &str = "__meta_dns_ns_record_target";

/// Where the resolver configuration comes from: `/etc/resolv.conf`, or (tests) a fixed one.
#[derive(Debug, Clone)]
pub enum Resolver {
    System,
    Fixed(ResolvConf),
}

impl Resolver {
    /// Read anew at each lookup, as Prometheus does.
    fn conf(&self) -> Result<ResolvConf, String> {
        match self {
            Resolver::System => ResolvConf::load(RESOLV_CONF),
            Resolver::Fixed(c) => Ok(c.clone()),
        }
    }
}

fn record_type(t: DnsRecordType) -> RecordType {
    match t {
        DnsRecordType::Srv => RecordType::SRV,
        DnsRecordType::A => RecordType::A,
        DnsRecordType::Aaaa => RecordType::AAAA,
        DnsRecordType::Mx => RecordType::MX,
        DnsRecordType::Ns => RecordType::NS,
    }
}

/// Discovers until `stop`, with the system's resolver.
pub async fn run(cfg: DnsSdConfig, sink: Sink, stop: CancellationToken) {
    run_with(cfg, Resolver::System, sink, stop).await
}

/// Discovers until `stop`, with the given resolver configuration.
pub async fn run_with(cfg: DnsSdConfig, resolver: Resolver, sink: Sink, stop: CancellationToken) {
    declare();
    let interval = cfg.refresh_interval.as_std();
    refresh::every(interval, stop, || refresh_once(&cfg, &resolver, &sink)).await
}

/// Shows the lookup counters from the start, as Prometheus does.
fn declare() {
    let m = sd_metrics();
    m.declare(LOOKUPS, LOOKUPS_HELP, vec![]);
    m.declare(FAILURES, FAILURES_HELP, vec![]);
}

/// One refresh: every name looked up at once. Names that failed keep the group they had.
pub async fn refresh_once(cfg: &DnsSdConfig, resolver: &Resolver, sink: &Sink) {
    declare();
    let mut errors = Vec::new();
    let previous: BTreeMap<String, TargetGroup> = sink
        .groups()
        .into_iter()
        .map(|g| (g.source.clone(), g))
        .collect();
    refresh::once("dns", sink, async {
        let mut set = tokio::task::JoinSet::new();
        for (i, name) in cfg.names.iter().enumerate() {
            let (name, resolver, cfg) = (name.clone(), resolver.clone(), cfg.clone());
            set.spawn(async move { (i, lookup_group(&cfg, &resolver, &name).await) });
        }
        let mut results = Vec::new();
        while let Some(r) = set.join_next().await {
            match r {
                Ok(r) => results.push(r),
                Err(e) => errors.push(format!("DNS lookup task failed: {e}")),
            }
        }
        results.sort_by_key(|(i, _)| *i);
        let mut groups = Vec::new();
        for (i, r) in results {
            match r {
                Ok(g) => groups.push(g),
                Err(e) => {
                    tracing::error!("Error refreshing DNS targets: {e}");
                    errors.push(e);
                    if let Some(g) = previous.get(&cfg.names[i]) {
                        groups.push(g.clone());
                    }
                }
            }
        }
        Ok(groups)
    })
    .await;
    if !errors.is_empty() {
        sink.fail(errors.join("; "));
    }
}

/// Looks one name up and makes its target group.
async fn lookup_group(
    cfg: &DnsSdConfig,
    resolver: &Resolver,
    name: &str,
) -> Result<TargetGroup, String> {
    let m = sd_metrics();
    let r = match resolver.conf() {
        Ok(conf) => lookup_with_search_path(&conf, name, record_type(cfg.qtype())).await,
        Err(e) => Err(e),
    };
    m.inc(LOOKUPS, LOOKUPS_HELP, vec![], 1.0);
    let msg = r.inspect_err(|_| m.inc(FAILURES, FAILURES_HELP, vec![], 1.0))?;
    Ok(group_of(name, cfg.port, &msg))
}

/// A name as Prometheus prints it: ASCII, with the final dot of a rooted name.
fn name_text(n: &Name) -> String {
    n.to_ascii()
}

/// An address as Go prints it: IPv4-mapped IPv6 addresses in dotted form.
fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => Ipv6Addr::to_string(&v6),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// The target group of one name's answer: a target per SRV, MX, NS, A or AAAA record
/// (CNAMEs and other records skipped), in the answer's order.
pub fn group_of(name: &str, port: i64, msg: &Message) -> TargetGroup {
    let mut targets = Vec::new();
    for rec in &msg.answers {
        let (mut srv_target, mut srv_port, mut mx, mut ns) =
            (String::new(), String::new(), String::new(), String::new());
        let address = match &rec.data {
            RData::SRV(s) => {
                srv_target = name_text(&s.target);
                srv_port = s.port.to_string();
                join_host_port(srv_target.trim_end_matches('.'), s.port)
            }
            RData::MX(m) => {
                mx = name_text(&m.exchange);
                join_host_port(mx.trim_end_matches('.'), port)
            }
            RData::NS(n) => {
                ns = name_text(&n.0);
                join_host_port(ns.trim_end_matches('.'), port)
            }
            RData::A(a) => join_host_port(&ip_text(IpAddr::V4(a.0)), port),
            RData::AAAA(a) => join_host_port(&ip_text(IpAddr::V6(a.0)), port),
            RData::CNAME(_) => continue,
            other => {
                tracing::warn!(record = ?other, "Invalid record");
                continue;
            }
        };
        let mut l = LabelMap::new();
        l.insert("__address__".into(), address);
        l.insert(NAME_LABEL.into(), name.to_string());
        l.insert(SRV_TARGET_LABEL.into(), srv_target);
        l.insert(SRV_PORT_LABEL.into(), srv_port);
        l.insert(MX_TARGET_LABEL.into(), mx);
        l.insert(NS_TARGET_LABEL.into(), ns);
        targets.push(l);
    }
    TargetGroup {
        source: name.to_string(),
        targets,
        labels: LabelMap::new(),
    }
}

#[cfg(test)]
mod tests;
