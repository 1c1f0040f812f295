//! Target groups of the `endpoints` and `endpointslice` roles: one target per address and
//! port, joined with the labels of the service of the same name and of the pod an address
//! refers to, plus a target for each port of those pods that no endpoint covers (Prometheus's
//! discovery/kubernetes endpoints.go and endpointslice.go, in our own words). Uses
//! `objects`, `targets` and the discovery types.

use std::collections::BTreeMap;

use super::objects::{
    EndpointAddress, EndpointSlice, Endpoints, Namespace, Node, ObjectReference, Pod, Service,
};
use super::targets::{
    add_namespace_meta, add_node_meta, add_object_meta, containers, pod_labels, service_labels,
    NAMESPACE,
};
use crate::scrape::discovery::labels::{add_prefixed, join_host_port};
use crate::scrape::discovery::{LabelMap, TargetGroup};

/// The other objects a group's labels come from.
pub trait Lookup {
    /// A pod by `namespace/name`.
    fn pod(&self, key: &str) -> Option<&Pod>;
    /// A service by `namespace/name`.
    fn service(&self, key: &str) -> Option<&Service>;
    /// `None` when node metadata is not attached, else the node if known.
    fn node(&self, name: &str) -> Option<Option<&Node>>;
    /// `None` when namespace metadata is not attached, else the namespace if known.
    fn namespace(&self, name: &str) -> Option<Option<&Namespace>>;
}

fn set(l: &mut LabelMap, name: &str, v: impl Into<String>) {
    l.insert(name.to_string(), v.into());
}

/// The pod an endpoint refers to, when it is a known pod.
fn resolve_pod<'a, L: Lookup>(l: &'a L, r: Option<&ObjectReference>) -> Option<&'a Pod> {
    let r = r.filter(|r| r.kind == "Pod")?;
    l.pod(&format!("{}/{}", r.namespace, r.name))
}

/// The pods seen in a group, by key, with the ports their endpoints had.
type Seen<'a> = BTreeMap<String, (&'a Pod, Vec<i64>)>;

/// Adds the pod's labels and those of the container port equal to `port` to a target, and
/// records the port as covered.
fn join_pod<'a>(t: &mut LabelMap, pod: &'a Pod, port: Option<i64>, seen: &mut Seen<'a>) {
    let entry = seen
        .entry(format!("{}/{}", pod.metadata.namespace, pod.metadata.name))
        .or_insert((pod, Vec::new()));
    t.extend(pod_labels(pod));
    if let Some(port) = port {
        'find: for (c, init) in containers(pod) {
            for cp in &c.ports {
                if cp.container_port == port {
                    set(t, "__meta_kubernetes_pod_container_name", &c.name);
                    set(t, "__meta_kubernetes_pod_container_image", &c.image);
                    set(t, "__meta_kubernetes_pod_container_port_name", &cp.name);
                    set(
                        t,
                        "__meta_kubernetes_pod_container_port_number",
                        port.to_string(),
                    );
                    set(
                        t,
                        "__meta_kubernetes_pod_container_port_protocol",
                        &cp.protocol,
                    );
                    set(t, "__meta_kubernetes_pod_container_init", init.to_string());
                    break 'find;
                }
            }
        }
        entry.1.push(port);
    }
}

/// Targets for the container ports of the seen pods that no endpoint covered.
fn uncovered_ports(seen: &Seen<'_>, targets: &mut Vec<LabelMap>) {
    for (pod, ports) in seen.values() {
        if pod.status.pod_ip.is_empty() {
            continue;
        }
        for (c, init) in containers(pod) {
            for cp in &c.ports {
                if ports.contains(&cp.container_port) {
                    continue;
                }
                let mut t = pod_labels(pod);
                set(
                    &mut t,
                    "__address__",
                    join_host_port(&pod.status.pod_ip, cp.container_port),
                );
                set(&mut t, "__meta_kubernetes_pod_container_name", &c.name);
                set(&mut t, "__meta_kubernetes_pod_container_image", &c.image);
                set(
                    &mut t,
                    "__meta_kubernetes_pod_container_port_name",
                    &cp.name,
                );
                set(
                    &mut t,
                    "__meta_kubernetes_pod_container_port_number",
                    cp.container_port.to_string(),
                );
                set(
                    &mut t,
                    "__meta_kubernetes_pod_container_port_protocol",
                    &cp.protocol,
                );
                set(
                    &mut t,
                    "__meta_kubernetes_pod_container_init",
                    init.to_string(),
                );
                targets.push(t);
            }
        }
    }
}

/// Node metadata of an endpoint: its node name, or its target when that is a node.
fn endpoint_node<L: Lookup>(
    l: &L,
    t: &mut LabelMap,
    node_name: Option<&String>,
    r: Option<&ObjectReference>,
    ref_first: bool,
) {
    let by_ref = r.filter(|r| r.kind == "Node").map(|r| &r.name);
    let name = if ref_first {
        by_ref.or(node_name)
    } else {
        node_name.or(by_ref)
    };
    if let Some(name) = name {
        if let Some(n) = l.node(name) {
            add_node_meta(t, n);
        }
    }
}

pub fn endpoints_source(ns: &str, name: &str) -> String {
    format!("endpoints/{ns}/{name}")
}

/// An Endpoints object's group: a target per address and port (ready and not ready).
pub fn build_endpoints<L: Lookup>(e: &Endpoints, l: &L) -> TargetGroup {
    let m = &e.metadata;
    let mut labels = LabelMap::new();
    set(&mut labels, NAMESPACE, &m.namespace);
    if let Some(s) = l.service(&format!("{}/{}", m.namespace, m.name)) {
        labels.extend(service_labels(s));
    }
    add_object_meta(&mut labels, m, "endpoints");
    if let Some(n) = l.namespace(&m.namespace) {
        add_namespace_meta(&mut labels, n);
    }
    let mut seen = Seen::new();
    let mut targets = Vec::new();
    let mut add = |a: &EndpointAddress, port: &super::objects::EndpointPort, ready: &str| {
        let mut t = LabelMap::new();
        set(&mut t, "__address__", join_host_port(&a.ip, port.port));
        set(&mut t, "__meta_kubernetes_endpoint_port_name", &port.name);
        set(
            &mut t,
            "__meta_kubernetes_endpoint_port_protocol",
            &port.protocol,
        );
        set(&mut t, "__meta_kubernetes_endpoint_ready", ready);
        if let Some(r) = &a.target_ref {
            set(
                &mut t,
                "__meta_kubernetes_endpoint_address_target_kind",
                &r.kind,
            );
            set(
                &mut t,
                "__meta_kubernetes_endpoint_address_target_name",
                &r.name,
            );
        }
        if let Some(n) = &a.node_name {
            set(&mut t, "__meta_kubernetes_endpoint_node_name", n);
        }
        if !a.hostname.is_empty() {
            set(&mut t, "__meta_kubernetes_endpoint_hostname", &a.hostname);
        }
        endpoint_node(
            l,
            &mut t,
            a.node_name.as_ref(),
            a.target_ref.as_ref(),
            false,
        );
        if let Some(pod) = resolve_pod(l, a.target_ref.as_ref()) {
            join_pod(&mut t, pod, Some(port.port), &mut seen);
        }
        targets.push(t);
    };
    for ss in &e.subsets {
        for port in &ss.ports {
            for a in &ss.addresses {
                add(a, port, "true");
            }
            for a in &ss.not_ready_addresses {
                add(a, port, "false");
            }
        }
    }
    if let Some(v) = m.labels.get("endpoints.kubernetes.io/over-capacity") {
        tracing::warn!(endpoints = %m.name, over_capacity = %v, "Endpoints object over capacity (more than 1000 endpoints); use role: endpointslice instead");
    }
    uncovered_ports(&seen, &mut targets);
    TargetGroup {
        source: endpoints_source(&m.namespace, &m.name),
        targets,
        labels,
    }
}

pub fn endpointslice_source(ns: &str, name: &str) -> String {
    format!("endpointslice/{ns}/{name}")
}

/// The service an EndpointSlice belongs to (its `kubernetes.io/service-name` label).
pub fn slice_service(s: &EndpointSlice) -> Option<String> {
    s.metadata
        .labels
        .get("kubernetes.io/service-name")
        .map(|n| format!("{}/{}", s.metadata.namespace, n))
}

/// An EndpointSlice's group: a target per endpoint, port and address.
pub fn build_endpointslice<L: Lookup>(s: &EndpointSlice, l: &L) -> TargetGroup {
    let m = &s.metadata;
    let mut labels = LabelMap::new();
    set(&mut labels, NAMESPACE, &m.namespace);
    set(
        &mut labels,
        "__meta_kubernetes_endpointslice_address_type",
        &s.address_type,
    );
    add_object_meta(&mut labels, m, "endpointslice");
    if let Some(svc) = slice_service(s).and_then(|k| l.service(&k)) {
        labels.extend(service_labels(svc));
    }
    if let Some(n) = l.namespace(&m.namespace) {
        add_namespace_meta(&mut labels, n);
    }
    let mut seen = Seen::new();
    let mut targets = Vec::new();
    for ep in &s.endpoints {
        for port in &s.ports {
            for addr in &ep.addresses {
                let mut t = LabelMap::new();
                let a = match port.port {
                    Some(p) => join_host_port(addr, p),
                    None => addr.clone(),
                };
                set(&mut t, "__address__", a);
                const P: &str = "__meta_kubernetes_endpointslice_";
                if let Some(n) = &port.name {
                    set(&mut t, &format!("{P}port_name"), n);
                }
                if let Some(n) = &port.protocol {
                    set(&mut t, &format!("{P}port_protocol"), n);
                }
                if let Some(n) = port.port {
                    set(&mut t, &format!("{P}port"), n.to_string());
                }
                if let Some(n) = &port.app_protocol {
                    set(&mut t, &format!("{P}port_app_protocol"), n);
                }
                let c = &ep.conditions;
                for (name, v) in [
                    ("ready", c.ready),
                    ("serving", c.serving),
                    ("terminating", c.terminating),
                ] {
                    if let Some(v) = v {
                        set(
                            &mut t,
                            &format!("{P}endpoint_conditions_{name}"),
                            v.to_string(),
                        );
                    }
                }
                if let Some(h) = &ep.hostname {
                    set(&mut t, &format!("{P}endpoint_hostname"), h);
                }
                if let Some(r) = &ep.target_ref {
                    set(&mut t, &format!("{P}address_target_kind"), &r.kind);
                    set(&mut t, &format!("{P}address_target_name"), &r.name);
                }
                if let Some(n) = &ep.node_name {
                    set(&mut t, &format!("{P}endpoint_node_name"), n);
                }
                if let Some(z) = &ep.zone {
                    set(&mut t, &format!("{P}endpoint_zone"), z);
                }
                add_prefixed(
                    &mut t,
                    &format!("{P}endpoint_topology_"),
                    Some(&format!("{P}endpoint_topology_present_")),
                    &ep.deprecated_topology,
                );
                endpoint_node(
                    l,
                    &mut t,
                    ep.node_name.as_ref(),
                    ep.target_ref.as_ref(),
                    true,
                );
                if let Some(pod) = resolve_pod(l, ep.target_ref.as_ref()) {
                    join_pod(&mut t, pod, port.port, &mut seen);
                }
                targets.push(t);
            }
        }
    }
    uncovered_ports(&seen, &mut targets);
    TargetGroup {
        source: endpointslice_source(&m.namespace, &m.name),
        targets,
        labels,
    }
}
