//! What one Kubernetes discoverer knows: the objects of every kind it watches, by key, and
//! which of its role's groups a change touches (a pod's change touches the endpoints that
//! point at it, a service's the endpoints of the same name, a node's the pods on it when node
//! metadata is attached, and so on, as Prometheus's event handlers enqueue them). Builds the
//! groups with `targets` and `endpoints`. Uses the config's `Role`.

use std::collections::{HashMap, HashSet};

use super::endpoints::{
    build_endpoints, build_endpointslice, endpoints_source, endpointslice_source, slice_service,
    Lookup,
};
use super::objects::{EndpointSlice, Endpoints, Ingress, Kind, Namespace, Node, Obj, Pod, Service};
use super::targets::{
    build_ingress, build_node, build_pod, build_service, ingress_source, node_source, pod_source,
    service_source,
};
use crate::config::sd::kubernetes::Role;
use crate::scrape::discovery::TargetGroup;

/// How many objects a relist added, updated and deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub added: usize,
    pub updated: usize,
    pub deleted: usize,
}

#[derive(Debug)]
pub struct Store {
    role: Role,
    attach_node: bool,
    attach_namespace: bool,
    nodes: HashMap<String, Node>,
    pods: HashMap<String, Pod>,
    services: HashMap<String, Service>,
    endpoints: HashMap<String, Endpoints>,
    slices: HashMap<String, EndpointSlice>,
    ingresses: HashMap<String, Ingress>,
    namespaces: HashMap<String, Namespace>,
}

impl Store {
    /// A store for `role`; node metadata is attached only for the roles Prometheus attaches
    /// it to (pod, endpoints, endpointslice), namespace metadata for all but node.
    pub fn new(role: Role, attach_node: bool, attach_namespace: bool) -> Store {
        Store {
            role,
            attach_node: attach_node
                && matches!(role, Role::Pod | Role::Endpoints | Role::EndpointSlice),
            attach_namespace: attach_namespace && role != Role::Node,
            nodes: HashMap::new(),
            pods: HashMap::new(),
            services: HashMap::new(),
            endpoints: HashMap::new(),
            slices: HashMap::new(),
            ingresses: HashMap::new(),
            namespaces: HashMap::new(),
        }
    }

    /// The role's own kind.
    pub fn primary(&self) -> Kind {
        match self.role {
            Role::Node => Kind::Node,
            Role::Pod => Kind::Pod,
            Role::Service => Kind::Service,
            Role::Endpoints => Kind::Endpoints,
            Role::EndpointSlice => Kind::EndpointSlice,
            Role::Ingress => Kind::Ingress,
        }
    }

    /// Every kind to watch, the role's own first.
    pub fn kinds(&self) -> Vec<Kind> {
        let mut k = vec![self.primary()];
        if matches!(self.role, Role::Endpoints | Role::EndpointSlice) {
            k.extend([Kind::Service, Kind::Pod]);
        }
        if self.attach_node {
            k.push(Kind::Node);
        }
        if self.attach_namespace {
            k.push(Kind::Namespace);
        }
        k
    }

    /// The selector role that applies to objects of `kind` (none for namespaces).
    pub fn selector_role(kind: Kind) -> Option<Role> {
        Some(match kind {
            Kind::Node => Role::Node,
            Kind::Pod => Role::Pod,
            Kind::Service => Role::Service,
            Kind::Endpoints => Role::Endpoints,
            Kind::EndpointSlice => Role::EndpointSlice,
            Kind::Ingress => Role::Ingress,
            Kind::Namespace => return None,
        })
    }

    /// The keys of the role's objects.
    pub fn keys(&self) -> Vec<String> {
        match self.role {
            Role::Node => self.nodes.keys().cloned().collect(),
            Role::Pod => self.pods.keys().cloned().collect(),
            Role::Service => self.services.keys().cloned().collect(),
            Role::Endpoints => self.endpoints.keys().cloned().collect(),
            Role::EndpointSlice => self.slices.keys().cloned().collect(),
            Role::Ingress => self.ingresses.keys().cloned().collect(),
        }
    }

    fn insert(&mut self, o: Obj) -> Option<Obj> {
        let k = o.meta().key();
        match o {
            Obj::Node(o) => self.nodes.insert(k, o).map(Obj::Node),
            Obj::Pod(o) => self.pods.insert(k, o).map(Obj::Pod),
            Obj::Service(o) => self.services.insert(k, o).map(Obj::Service),
            Obj::Endpoints(o) => self.endpoints.insert(k, o).map(Obj::Endpoints),
            Obj::EndpointSlice(o) => self.slices.insert(k, o).map(Obj::EndpointSlice),
            Obj::Ingress(o) => self.ingresses.insert(k, o).map(Obj::Ingress),
            Obj::Namespace(o) => self.namespaces.insert(k, o).map(Obj::Namespace),
        }
    }

    fn remove(&mut self, kind: Kind, k: &str) -> Option<Obj> {
        match kind {
            Kind::Node => self.nodes.remove(k).map(Obj::Node),
            Kind::Pod => self.pods.remove(k).map(Obj::Pod),
            Kind::Service => self.services.remove(k).map(Obj::Service),
            Kind::Endpoints => self.endpoints.remove(k).map(Obj::Endpoints),
            Kind::EndpointSlice => self.slices.remove(k).map(Obj::EndpointSlice),
            Kind::Ingress => self.ingresses.remove(k).map(Obj::Ingress),
            Kind::Namespace => self.namespaces.remove(k).map(Obj::Namespace),
        }
    }

    /// The keys of stored objects of `kind` in `ns` (all when empty).
    fn keys_of(&self, kind: Kind, ns: &str) -> Vec<String> {
        fn pick<T>(m: &HashMap<String, T>, ns: &str) -> Vec<String> {
            m.keys()
                .filter(|k| ns.is_empty() || k.split_once('/').map(|(n, _)| n) == Some(ns))
                .cloned()
                .collect()
        }
        match kind {
            Kind::Node => pick(&self.nodes, ""),
            Kind::Pod => pick(&self.pods, ns),
            Kind::Service => pick(&self.services, ns),
            Kind::Endpoints => pick(&self.endpoints, ns),
            Kind::EndpointSlice => pick(&self.slices, ns),
            Kind::Ingress => pick(&self.ingresses, ns),
            Kind::Namespace => pick(&self.namespaces, ""),
        }
    }

    /// Applies one change; the keys of the role's groups it touches go to `dirty`.
    pub fn apply(&mut self, delete: bool, obj: Obj, dirty: &mut HashSet<String>) {
        let kind = kind_of(&obj);
        self.touched(kind, &obj, dirty);
        let old = if delete {
            self.remove(kind, &obj.meta().key())
        } else {
            self.insert(obj)
        };
        if let Some(old) = old {
            self.touched(kind, &old, dirty);
        }
    }

    /// Replaces the objects of `kind` in `ns` (all when empty) with a fresh list.
    pub fn replace(
        &mut self,
        kind: Kind,
        ns: &str,
        objs: Vec<Obj>,
        dirty: &mut HashSet<String>,
    ) -> Counts {
        let mut c = Counts::default();
        let fresh: HashSet<String> = objs.iter().map(|o| o.meta().key()).collect();
        for k in self.keys_of(kind, ns) {
            if !fresh.contains(&k) {
                if let Some(old) = self.remove(kind, &k) {
                    self.touched(kind, &old, dirty);
                    c.deleted += 1;
                }
            }
        }
        for o in objs {
            self.touched(kind, &o, dirty);
            match self.insert(o) {
                Some(old) => {
                    self.touched(kind, &old, dirty);
                    c.updated += 1;
                }
                None => c.added += 1,
            }
        }
        c
    }

    /// Adds the keys of the role's objects that a change of `o` touches.
    fn touched(&self, kind: Kind, o: &Obj, dirty: &mut HashSet<String>) {
        let m = o.meta();
        if kind == self.primary() {
            dirty.insert(m.key());
            return;
        }
        match (self.role, o) {
            (Role::Endpoints, Obj::Service(_)) => {
                dirty.insert(m.key());
            }
            (Role::EndpointSlice, Obj::Service(_)) => {
                let k = m.key();
                for (sk, s) in &self.slices {
                    if slice_service(s).as_deref() == Some(k.as_str()) {
                        dirty.insert(sk.clone());
                    }
                }
            }
            (Role::Endpoints, Obj::Pod(p)) => {
                for (ek, e) in &self.endpoints {
                    let refers = e.subsets.iter().any(|s| {
                        s.addresses.iter().chain(&s.not_ready_addresses).any(|a| {
                            a.target_ref.as_ref().is_some_and(|r| {
                                r.kind == "Pod"
                                    && r.name == p.metadata.name
                                    && r.namespace == p.metadata.namespace
                            })
                        })
                    });
                    if refers {
                        dirty.insert(ek.clone());
                    }
                }
            }
            (Role::EndpointSlice, Obj::Pod(p)) => {
                for (sk, s) in &self.slices {
                    let refers = s.endpoints.iter().any(|e| {
                        e.target_ref.as_ref().is_some_and(|r| {
                            r.kind == "Pod"
                                && r.name == p.metadata.name
                                && r.namespace == p.metadata.namespace
                        })
                    });
                    if refers {
                        dirty.insert(sk.clone());
                    }
                }
            }
            (Role::Pod, Obj::Node(n)) => {
                for (pk, p) in &self.pods {
                    if p.spec.node_name == n.metadata.name {
                        dirty.insert(pk.clone());
                    }
                }
            }
            (Role::Endpoints, Obj::Node(n)) => {
                let name = &n.metadata.name;
                for (ek, e) in &self.endpoints {
                    let on = e.subsets.iter().any(|s| {
                        s.addresses.iter().chain(&s.not_ready_addresses).any(|a| {
                            a.node_name.as_ref() == Some(name)
                                || a.target_ref
                                    .as_ref()
                                    .is_some_and(|r| r.kind == "Node" && &r.name == name)
                        })
                    });
                    if on {
                        dirty.insert(ek.clone());
                    }
                }
            }
            (Role::EndpointSlice, Obj::Node(n)) => {
                let name = &n.metadata.name;
                for (sk, s) in &self.slices {
                    let on = s.endpoints.iter().any(|e| {
                        e.node_name.as_ref() == Some(name)
                            || e.target_ref
                                .as_ref()
                                .is_some_and(|r| r.kind == "Node" && &r.name == name)
                    });
                    if on {
                        dirty.insert(sk.clone());
                    }
                }
            }
            (_, Obj::Namespace(n)) => {
                dirty.extend(self.keys_of(self.primary(), &n.metadata.name));
            }
            _ => {}
        }
    }

    /// The group of the role's object `key`; a group without targets when it is gone.
    pub fn build(&self, key: &str) -> TargetGroup {
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        let empty = |source: String| TargetGroup {
            source,
            targets: Vec::new(),
            labels: Default::default(),
        };
        let nsm = |n: &str| self.namespace(n);
        match self.role {
            Role::Node => self
                .nodes
                .get(key)
                .map(build_node)
                .unwrap_or_else(|| empty(node_source(name))),
            Role::Pod => match self.pods.get(key) {
                Some(p) => build_pod(p, self.node(&p.spec.node_name), nsm(&p.metadata.namespace)),
                None => empty(pod_source(ns, name)),
            },
            Role::Service => match self.services.get(key) {
                Some(s) => build_service(s, nsm(&s.metadata.namespace)),
                None => empty(service_source(ns, name)),
            },
            Role::Ingress => match self.ingresses.get(key) {
                Some(i) => build_ingress(i, nsm(&i.metadata.namespace)),
                None => empty(ingress_source(ns, name)),
            },
            Role::Endpoints => match self.endpoints.get(key) {
                Some(e) => build_endpoints(e, self),
                None => empty(endpoints_source(ns, name)),
            },
            Role::EndpointSlice => match self.slices.get(key) {
                Some(s) => build_endpointslice(s, self),
                None => empty(endpointslice_source(ns, name)),
            },
        }
    }
}

impl Lookup for Store {
    fn pod(&self, key: &str) -> Option<&Pod> {
        self.pods.get(key)
    }
    fn service(&self, key: &str) -> Option<&Service> {
        self.services.get(key)
    }
    fn node(&self, name: &str) -> Option<Option<&Node>> {
        self.attach_node.then(|| self.nodes.get(name))
    }
    fn namespace(&self, name: &str) -> Option<Option<&Namespace>> {
        self.attach_namespace.then(|| self.namespaces.get(name))
    }
}

/// The kind of an object.
pub fn kind_of(o: &Obj) -> Kind {
    match o {
        Obj::Node(_) => Kind::Node,
        Obj::Pod(_) => Kind::Pod,
        Obj::Service(_) => Kind::Service,
        Obj::Endpoints(_) => Kind::Endpoints,
        Obj::EndpointSlice(_) => Kind::EndpointSlice,
        Obj::Ingress(_) => Kind::Ingress,
        Obj::Namespace(_) => Kind::Namespace,
    }
}
