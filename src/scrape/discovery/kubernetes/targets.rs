//! Target groups of the `node`, `pod`, `service` and `ingress` roles, and the label helpers
//! every role shares (object metadata, node and namespace metadata),
//! following Prometheus's discovery/kubernetes node.go, pod.go, service.go, ingress.go and
//! kubernetes.go in our own words. Uses `objects` and the discovery types.

use super::objects::{Ingress, Namespace, Node, ObjectMeta, Pod, Service};
use crate::scrape::discovery::labels::{add_prefixed, join_host_port, sanitize_label_name};
use crate::scrape::discovery::{LabelMap, TargetGroup};

pub const PREFIX: &str = "__meta_kubernetes_";
pub const NAMESPACE: &str = "__meta_kubernetes_namespace";

fn set(l: &mut LabelMap, name: &str, v: impl Into<String>) {
    l.insert(name.to_string(), v.into());
}

/// The labels and annotations of an object, `<prefix>label_<name>`, `<prefix>labelpresent_…`,
/// `<prefix>annotation_…`, `<prefix>annotationpresent_…` (`kind`: node, pod, namespace…).
pub fn add_labels_and_annotations(l: &mut LabelMap, m: &ObjectMeta, kind: &str) {
    for (what, pairs) in [("label", &m.labels), ("annotation", &m.annotations)] {
        add_prefixed(
            l,
            &format!("{PREFIX}{kind}_{what}_"),
            Some(&format!("{PREFIX}{kind}_{what}present_")),
            pairs,
        );
    }
}

/// The object's name, labels and annotations (Prometheus's addObjectMetaLabels).
pub fn add_object_meta(l: &mut LabelMap, m: &ObjectMeta, role: &str) {
    l.insert(format!("{PREFIX}{role}_name"), m.name.clone());
    add_labels_and_annotations(l, m, role);
}

/// `attach_metadata.node`: the node's name, labels and annotations, when the node is known.
pub fn add_node_meta(l: &mut LabelMap, node: Option<&Node>) {
    if let Some(n) = node {
        add_object_meta(l, &n.metadata, "node");
    }
}

/// `attach_metadata.namespace`: the namespace's labels and annotations, when it is known.
pub fn add_namespace_meta(l: &mut LabelMap, ns: Option<&Namespace>) {
    if let Some(n) = ns {
        add_labels_and_annotations(l, &n.metadata, "namespace");
    }
}

// ---- node ----

/// The address Prometheus scrapes a node at: the first address of the first type present in
/// InternalIP, InternalDNS, ExternalIP, ExternalDNS, LegacyHostIP, Hostname.
pub fn node_address(n: &Node) -> Option<&str> {
    const ORDER: [&str; 6] = [
        "InternalIP",
        "InternalDNS",
        "ExternalIP",
        "ExternalDNS",
        "LegacyHostIP",
        "Hostname",
    ];
    ORDER.iter().find_map(|t| {
        n.status
            .addresses
            .iter()
            .find(|a| a.kind == *t)
            .map(|a| a.address.as_str())
    })
}

pub fn node_source(name: &str) -> String {
    format!("node/{name}")
}

/// A node's group: one target at its address and kubelet port, `instance` set to its name.
/// A node without a known address has no target.
pub fn build_node(n: &Node) -> TargetGroup {
    let mut labels = LabelMap::new();
    add_object_meta(&mut labels, &n.metadata, "node");
    set(
        &mut labels,
        "__meta_kubernetes_node_provider_id",
        &n.spec.provider_id,
    );
    let mut targets = Vec::new();
    if let Some(addr) = node_address(n) {
        let mut t = LabelMap::new();
        set(
            &mut t,
            "__address__",
            join_host_port(addr, n.status.daemon_endpoints.kubelet_endpoint.port),
        );
        set(&mut t, "instance", &n.metadata.name);
        for a in &n.status.addresses {
            let name = format!("{PREFIX}node_address_{}", sanitize_label_name(&a.kind));
            t.entry(name).or_insert_with(|| a.address.clone());
        }
        targets.push(t);
    } else {
        tracing::warn!(node = %n.metadata.name, "Kubernetes discovery: no node address found");
    }
    TargetGroup {
        source: node_source(&n.metadata.name),
        targets,
        labels,
    }
}

// ---- pod ----

/// `ready` of the pod's Ready condition, lower-cased; "unknown" without one.
fn pod_ready(p: &Pod) -> String {
    p.status
        .conditions
        .iter()
        .find(|c| c.kind == "Ready")
        .map(|c| c.status.to_lowercase())
        .unwrap_or_else(|| "unknown".into())
}

/// The labels every target of a pod has (Prometheus's podLabels).
pub fn pod_labels(p: &Pod) -> LabelMap {
    let mut l = LabelMap::new();
    set(&mut l, "__meta_kubernetes_pod_ip", &p.status.pod_ip);
    set(&mut l, "__meta_kubernetes_pod_ready", pod_ready(p));
    set(&mut l, "__meta_kubernetes_pod_phase", &p.status.phase);
    set(&mut l, "__meta_kubernetes_pod_node_name", &p.spec.node_name);
    set(&mut l, "__meta_kubernetes_pod_host_ip", &p.status.host_ip);
    set(&mut l, "__meta_kubernetes_pod_uid", &p.metadata.uid);
    add_object_meta(&mut l, &p.metadata, "pod");
    if let Some(c) = p
        .metadata
        .owner_references
        .iter()
        .find(|r| r.controller == Some(true))
    {
        if !c.kind.is_empty() {
            set(&mut l, "__meta_kubernetes_pod_controller_kind", &c.kind);
        }
        if !c.name.is_empty() {
            set(&mut l, "__meta_kubernetes_pod_controller_name", &c.name);
        }
    }
    l
}

pub fn pod_source(ns: &str, name: &str) -> String {
    format!("pod/{ns}/{name}")
}

/// The containers of a pod then its init containers, each with whether it is an init one.
pub fn containers(p: &Pod) -> impl Iterator<Item = (&super::objects::Container, bool)> {
    p.spec
        .containers
        .iter()
        .map(|c| (c, false))
        .chain(p.spec.init_containers.iter().map(|c| (c, true)))
}

fn container_id(p: &Pod, name: &str, init: bool) -> String {
    let statuses = if init {
        &p.status.init_container_statuses
    } else {
        &p.status.container_statuses
    };
    statuses
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.container_id.clone())
        .unwrap_or_default()
}

/// A pod's group: one target per container port, one port-less target per container without
/// ports; none while the pod has no IP. `node`/`ns`: attached metadata when asked for.
pub fn build_pod(
    p: &Pod,
    node: Option<Option<&Node>>,
    ns: Option<Option<&Namespace>>,
) -> TargetGroup {
    let source = pod_source(&p.metadata.namespace, &p.metadata.name);
    let ip = &p.status.pod_ip;
    if ip.is_empty() {
        return TargetGroup {
            source,
            targets: Vec::new(),
            labels: LabelMap::new(),
        };
    }
    let mut labels = pod_labels(p);
    set(&mut labels, NAMESPACE, &p.metadata.namespace);
    if let Some(n) = node {
        add_node_meta(&mut labels, n);
    }
    if let Some(n) = ns {
        add_namespace_meta(&mut labels, n);
    }
    let mut targets = Vec::new();
    for (c, init) in containers(p) {
        let id = container_id(p, &c.name, init);
        let mut base = LabelMap::new();
        set(&mut base, "__meta_kubernetes_pod_container_name", &c.name);
        set(&mut base, "__meta_kubernetes_pod_container_id", &id);
        set(&mut base, "__meta_kubernetes_pod_container_image", &c.image);
        set(
            &mut base,
            "__meta_kubernetes_pod_container_init",
            init.to_string(),
        );
        if c.ports.is_empty() {
            set(&mut base, "__address__", ip);
            targets.push(base);
            continue;
        }
        for port in &c.ports {
            let mut t = base.clone();
            set(
                &mut t,
                "__address__",
                join_host_port(ip, port.container_port),
            );
            set(
                &mut t,
                "__meta_kubernetes_pod_container_port_number",
                port.container_port.to_string(),
            );
            set(
                &mut t,
                "__meta_kubernetes_pod_container_port_name",
                &port.name,
            );
            set(
                &mut t,
                "__meta_kubernetes_pod_container_port_protocol",
                &port.protocol,
            );
            targets.push(t);
        }
    }
    TargetGroup {
        source,
        targets,
        labels,
    }
}

// ---- service ----

/// The labels of a service (Prometheus's serviceLabels): namespace, name, labels, annotations.
pub fn service_labels(s: &Service) -> LabelMap {
    let mut l = LabelMap::new();
    set(&mut l, NAMESPACE, &s.metadata.namespace);
    add_object_meta(&mut l, &s.metadata, "service");
    l
}

pub fn service_source(ns: &str, name: &str) -> String {
    format!("svc/{ns}/{name}")
}

/// A service's group: one target per port at `<name>.<namespace>.svc:<port>`.
pub fn build_service(s: &Service, ns: Option<Option<&Namespace>>) -> TargetGroup {
    let mut labels = service_labels(s);
    if let Some(n) = ns {
        add_namespace_meta(&mut labels, n);
    }
    let host = format!("{}.{}.svc", s.metadata.name, s.metadata.namespace);
    let mut targets = Vec::new();
    for p in &s.spec.ports {
        let mut t = LabelMap::new();
        set(&mut t, "__address__", join_host_port(&host, p.port));
        set(&mut t, "__meta_kubernetes_service_port_name", &p.name);
        set(
            &mut t,
            "__meta_kubernetes_service_port_number",
            p.port.to_string(),
        );
        set(
            &mut t,
            "__meta_kubernetes_service_port_protocol",
            &p.protocol,
        );
        set(&mut t, "__meta_kubernetes_service_type", &s.spec.kind);
        if s.spec.kind == "ExternalName" {
            set(
                &mut t,
                "__meta_kubernetes_service_external_name",
                &s.spec.external_name,
            );
        } else {
            set(
                &mut t,
                "__meta_kubernetes_service_cluster_ip",
                &s.spec.cluster_ip,
            );
        }
        if s.spec.kind == "LoadBalancer" {
            set(
                &mut t,
                "__meta_kubernetes_service_loadbalancer_ip",
                &s.spec.load_balancer_ip,
            );
        }
        targets.push(t);
    }
    TargetGroup {
        source: service_source(&s.metadata.namespace, &s.metadata.name),
        targets,
        labels,
    }
}

// ---- ingress ----

/// Whether `host` matches a TLS host pattern: equal, or `*.rest` where the host has as many
/// dot-separated parts and the same parts after the first.
fn matches_host(pattern: &str, host: &str) -> bool {
    if pattern == host {
        return true;
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let h: Vec<&str> = host.split('.').collect();
    p.first() == Some(&"*") && p.len() == h.len() && p[1..] == h[1..]
}

pub fn ingress_source(ns: &str, name: &str) -> String {
    format!("ingress/{ns}/{name}")
}

/// An ingress's group: one target per rule and path (no paths: `/`), addressed at the rule's
/// host, `https` when a TLS host matches it.
pub fn build_ingress(i: &Ingress, ns: Option<Option<&Namespace>>) -> TargetGroup {
    let mut labels = LabelMap::new();
    set(&mut labels, NAMESPACE, &i.metadata.namespace);
    if let Some(c) = &i.spec.ingress_class_name {
        set(&mut labels, "__meta_kubernetes_ingress_class_name", c);
    }
    add_object_meta(&mut labels, &i.metadata, "ingress");
    if let Some(n) = ns {
        add_namespace_meta(&mut labels, n);
    }
    let tls: Vec<&str> = i
        .spec
        .tls
        .iter()
        .flat_map(|t| t.hosts.iter().map(String::as_str))
        .collect();
    let mut targets = Vec::new();
    for r in &i.spec.rules {
        let scheme = if tls.iter().any(|p| matches_host(p, &r.host)) {
            "https"
        } else {
            "http"
        };
        let paths: Vec<String> = match &r.http {
            None => vec!["/".into()],
            Some(h) => h
                .paths
                .iter()
                .map(|p| {
                    if p.path.is_empty() {
                        "/".into()
                    } else {
                        p.path.clone()
                    }
                })
                .collect(),
        };
        for path in paths {
            let mut t = LabelMap::new();
            set(&mut t, "__address__", &r.host);
            set(&mut t, "__meta_kubernetes_ingress_scheme", scheme);
            set(&mut t, "__meta_kubernetes_ingress_host", &r.host);
            set(&mut t, "__meta_kubernetes_ingress_path", path);
            targets.push(t);
        }
    }
    TargetGroup {
        source: ingress_source(&i.metadata.namespace, &i.metadata.name),
        targets,
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert!(matches_host("*.example.com", "a.example.com"));
        assert!(!matches_host("*.example.com", "a.b.example.com"));
        assert!(!matches_host("a.example.com", "b.example.com"));
    }
}
