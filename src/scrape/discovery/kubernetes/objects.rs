//! The Kubernetes API objects discovery reads (core/v1 Node, Pod, Service, Endpoints,
//! Namespace; discovery.k8s.io/v1 EndpointSlice; networking.k8s.io/v1 Ingress), only the
//! fields Prometheus's labels come from, as serde types; which resource each kind is and its
//! URL path. Uses serde only.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// A kind of object discovery lists and watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Node,
    Pod,
    Service,
    Endpoints,
    EndpointSlice,
    Ingress,
    Namespace,
}

impl Kind {
    /// The resource's name in URLs.
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Node => "nodes",
            Kind::Pod => "pods",
            Kind::Service => "services",
            Kind::Endpoints => "endpoints",
            Kind::EndpointSlice => "endpointslices",
            Kind::Ingress => "ingresses",
            Kind::Namespace => "namespaces",
        }
    }

    /// The API group path the resource lives under.
    fn group(self) -> &'static str {
        match self {
            Kind::EndpointSlice => "/apis/discovery.k8s.io/v1",
            Kind::Ingress => "/apis/networking.k8s.io/v1",
            _ => "/api/v1",
        }
    }

    /// Whether the objects live in namespaces.
    pub fn namespaced(self) -> bool {
        !matches!(self, Kind::Node | Kind::Namespace)
    }

    /// The collection's path: in one namespace, or across all (`ns` empty).
    pub fn path(self, ns: &str) -> String {
        if self.namespaced() && !ns.is_empty() {
            format!("{}/namespaces/{ns}/{}", self.group(), self.resource())
        } else {
            format!("{}/{}", self.group(), self.resource())
        }
    }

    /// The `role` label of `prometheus_sd_kubernetes_events_total` (none for namespaces,
    /// whose events Prometheus does not count).
    pub fn event_role(self) -> Option<&'static str> {
        Some(match self {
            Kind::Node => "node",
            Kind::Pod => "pod",
            Kind::Service => "service",
            Kind::Endpoints => "endpoints",
            Kind::EndpointSlice => "endpointslice",
            Kind::Ingress => "ingress",
            Kind::Namespace => return None,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectMeta {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub resource_version: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub owner_references: Vec<OwnerReference>,
}

impl ObjectMeta {
    /// The store key, `namespace/name` (or `name` for cluster objects), as client-go's.
    pub fn key(&self) -> String {
        key(&self.namespace, &self.name)
    }
}

/// `namespace/name`, or `name` when there is no namespace.
pub fn key(ns: &str, name: &str) -> String {
    if ns.is_empty() {
        name.to_string()
    } else {
        format!("{ns}/{name}")
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OwnerReference {
    pub kind: String,
    pub name: String,
    pub controller: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ObjectReference {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

// ---- Node ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Node {
    pub metadata: ObjectMeta,
    pub spec: NodeSpec,
    pub status: NodeStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NodeSpec {
    #[serde(rename = "providerID")]
    pub provider_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeStatus {
    pub addresses: Vec<NodeAddress>,
    pub daemon_endpoints: DaemonEndpoints,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NodeAddress {
    #[serde(rename = "type")]
    pub kind: String,
    pub address: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DaemonEndpoints {
    pub kubelet_endpoint: KubeletEndpoint,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct KubeletEndpoint {
    pub port: i64,
}

// ---- Pod ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Pod {
    pub metadata: ObjectMeta,
    pub spec: PodSpec,
    pub status: PodStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodSpec {
    pub node_name: String,
    pub containers: Vec<Container>,
    pub init_containers: Vec<Container>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Container {
    pub name: String,
    pub image: String,
    pub ports: Vec<ContainerPort>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerPort {
    pub name: String,
    pub container_port: i64,
    pub protocol: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodStatus {
    pub phase: String,
    #[serde(rename = "podIP")]
    pub pod_ip: String,
    #[serde(rename = "hostIP")]
    pub host_ip: String,
    pub conditions: Vec<Condition>,
    pub container_statuses: Vec<ContainerStatus>,
    pub init_container_statuses: Vec<ContainerStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ContainerStatus {
    pub name: String,
    #[serde(rename = "containerID")]
    pub container_id: String,
}

// ---- Service ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Service {
    pub metadata: ObjectMeta,
    pub spec: ServiceSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceSpec {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "clusterIP")]
    pub cluster_ip: String,
    pub external_name: String,
    #[serde(rename = "loadBalancerIP")]
    pub load_balancer_ip: String,
    pub ports: Vec<ServicePort>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServicePort {
    pub name: String,
    pub port: i64,
    pub protocol: String,
}

// ---- Endpoints ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Endpoints {
    pub metadata: ObjectMeta,
    pub subsets: Vec<EndpointSubset>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointSubset {
    pub addresses: Vec<EndpointAddress>,
    pub not_ready_addresses: Vec<EndpointAddress>,
    pub ports: Vec<EndpointPort>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointAddress {
    pub ip: String,
    pub hostname: String,
    pub node_name: Option<String>,
    pub target_ref: Option<ObjectReference>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EndpointPort {
    pub name: String,
    pub port: i64,
    pub protocol: String,
}

// ---- EndpointSlice ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointSlice {
    pub metadata: ObjectMeta,
    pub address_type: String,
    pub endpoints: Vec<SliceEndpoint>,
    pub ports: Vec<SlicePort>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SliceEndpoint {
    pub addresses: Vec<String>,
    pub conditions: SliceConditions,
    pub hostname: Option<String>,
    pub target_ref: Option<ObjectReference>,
    pub node_name: Option<String>,
    pub zone: Option<String>,
    pub deprecated_topology: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SliceConditions {
    pub ready: Option<bool>,
    pub serving: Option<bool>,
    pub terminating: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SlicePort {
    pub name: Option<String>,
    pub protocol: Option<String>,
    pub port: Option<i64>,
    pub app_protocol: Option<String>,
}

// ---- Ingress ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Ingress {
    pub metadata: ObjectMeta,
    pub spec: IngressSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IngressSpec {
    pub ingress_class_name: Option<String>,
    pub tls: Vec<IngressTls>,
    pub rules: Vec<IngressRule>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IngressTls {
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IngressRule {
    pub host: String,
    pub http: Option<HttpIngressRule>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HttpIngressRule {
    pub paths: Vec<HttpIngressPath>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HttpIngressPath {
    pub path: String,
}

// ---- Namespace ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Namespace {
    pub metadata: ObjectMeta,
}

/// One object of any kind.
#[derive(Debug, Clone)]
pub enum Obj {
    Node(Node),
    Pod(Pod),
    Service(Service),
    Endpoints(Endpoints),
    EndpointSlice(EndpointSlice),
    Ingress(Ingress),
    Namespace(Namespace),
}

impl Obj {
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Obj::Node(o) => &o.metadata,
            Obj::Pod(o) => &o.metadata,
            Obj::Service(o) => &o.metadata,
            Obj::Endpoints(o) => &o.metadata,
            Obj::EndpointSlice(o) => &o.metadata,
            Obj::Ingress(o) => &o.metadata,
            Obj::Namespace(o) => &o.metadata,
        }
    }
}

/// The API's `Status` object: what an error response or an ERROR watch event carries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Status {
    pub code: i64,
    pub reason: String,
    pub message: String,
}

/// One event of a watch stream.
#[derive(Debug, Clone)]
pub enum Event {
    Added(Obj),
    Modified(Obj),
    Deleted(Obj),
    /// Only the resource version moved.
    Bookmark(String),
    Error(Status),
}

#[derive(Deserialize)]
struct RawEvent<T> {
    #[serde(rename = "type")]
    kind: String,
    object: T,
}

#[derive(Deserialize)]
struct RawList<T> {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ListMeta {
    resource_version: String,
}

fn list<T: DeserializeOwned>(
    body: &[u8],
    wrap: fn(T) -> Obj,
) -> Result<(String, Vec<Obj>), serde_json::Error> {
    let l: RawList<T> = serde_json::from_slice(body)?;
    Ok((
        l.metadata.resource_version,
        l.items.into_iter().map(wrap).collect(),
    ))
}

fn event<T: DeserializeOwned>(line: &[u8], wrap: fn(T) -> Obj) -> Result<Event, String> {
    let typed = serde_json::from_slice::<RawEvent<T>>(line);
    let e = match typed {
        Ok(e) if e.kind != "ERROR" => e,
        // An ERROR event carries a Status, which need not decode as the watched kind.
        other => {
            if let Ok(s) = serde_json::from_slice::<RawEvent<Status>>(line) {
                if s.kind == "ERROR" {
                    return Ok(Event::Error(s.object));
                }
            }
            other.map_err(|e| e.to_string())?
        }
    };
    let o = wrap(e.object);
    Ok(match e.kind.as_str() {
        "ADDED" => Event::Added(o),
        "MODIFIED" => Event::Modified(o),
        "DELETED" => Event::Deleted(o),
        "BOOKMARK" => Event::Bookmark(o.meta().resource_version.clone()),
        other => return Err(format!("unknown watch event type {other:?}")),
    })
}

/// Decodes a list response of `kind`: its resource version and items.
pub fn parse_list(kind: Kind, body: &[u8]) -> Result<(String, Vec<Obj>), serde_json::Error> {
    match kind {
        Kind::Node => list(body, Obj::Node),
        Kind::Pod => list(body, Obj::Pod),
        Kind::Service => list(body, Obj::Service),
        Kind::Endpoints => list(body, Obj::Endpoints),
        Kind::EndpointSlice => list(body, Obj::EndpointSlice),
        Kind::Ingress => list(body, Obj::Ingress),
        Kind::Namespace => list(body, Obj::Namespace),
    }
}

/// Decodes one line of a watch stream of `kind`.
pub fn parse_event(kind: Kind, line: &[u8]) -> Result<Event, String> {
    match kind {
        Kind::Node => event(line, Obj::Node),
        Kind::Pod => event(line, Obj::Pod),
        Kind::Service => event(line, Obj::Service),
        Kind::Endpoints => event(line, Obj::Endpoints),
        Kind::EndpointSlice => event(line, Obj::EndpointSlice),
        Kind::Ingress => event(line, Obj::Ingress),
        Kind::Namespace => event(line, Obj::Namespace),
    }
}
