//! Tests of the store (which groups a change touches, relists) and of decoding events,
//! without a server; the list-and-watch loop is tested against a fake API server in
//! tests/integration/k8s_sd.rs.

use std::collections::HashSet;

use serde_json::json;

use super::objects::{parse_event, parse_list, Event, Kind, Obj};
use super::store::{Counts, Store};
use crate::config::sd::kubernetes::Role;

fn obj(kind: Kind, v: serde_json::Value) -> Obj {
    let line = json!({"type": "ADDED", "object": v}).to_string();
    match parse_event(kind, line.as_bytes()).unwrap() {
        Event::Added(o) => o,
        e => panic!("{e:?}"),
    }
}

fn pod(name: &str, node: &str, ip: &str) -> Obj {
    obj(
        Kind::Pod,
        json!({"metadata": {"name": name, "namespace": "ns", "resourceVersion": "1"},
               "spec": {"nodeName": node, "containers": [{"name": "c", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]},
               "status": {"podIP": ip}}),
    )
}

fn node(name: &str, zone: &str) -> Obj {
    obj(
        Kind::Node,
        json!({"metadata": {"name": name, "labels": {"zone": zone}},
               "status": {"addresses": [{"type": "Hostname", "address": name}],
                          "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}),
    )
}

fn keys(d: &HashSet<String>) -> Vec<String> {
    let mut k: Vec<String> = d.iter().cloned().collect();
    k.sort();
    k
}

#[test]
fn relists_count_adds_updates_deletes() {
    let mut s = Store::new(Role::Pod, false, false);
    let mut d = HashSet::new();
    let c = s.replace(
        Kind::Pod,
        "",
        vec![pod("a", "n1", "10.0.0.1"), pod("b", "n1", "10.0.0.2")],
        &mut d,
    );
    assert_eq!(
        c,
        Counts {
            added: 2,
            updated: 0,
            deleted: 0
        }
    );
    assert_eq!(keys(&d), ["ns/a", "ns/b"]);
    d.clear();
    let c = s.replace(Kind::Pod, "", vec![pod("a", "n1", "10.0.0.9")], &mut d);
    assert_eq!(
        c,
        Counts {
            added: 0,
            updated: 1,
            deleted: 1
        }
    );
    assert_eq!(keys(&d), ["ns/a", "ns/b"]);
    let gone = s.build("ns/b");
    assert_eq!(gone.source, "pod/ns/b");
    assert!(
        gone.targets.is_empty(),
        "a deleted pod's group has no targets"
    );
    assert_eq!(s.build("ns/a").targets[0]["__address__"], "10.0.0.9:80");
    // A pod without an IP yet has no targets.
    s.apply(false, pod("c", "n1", ""), &mut d);
    assert!(s.build("ns/c").targets.is_empty());
}

#[test]
fn node_changes_touch_the_pods_on_them() {
    let mut s = Store::new(Role::Pod, true, false);
    assert_eq!(s.kinds(), [Kind::Pod, Kind::Node]);
    let mut d = HashSet::new();
    s.replace(
        Kind::Node,
        "",
        vec![node("n1", "z1"), node("n2", "z2")],
        &mut d,
    );
    s.replace(
        Kind::Pod,
        "",
        vec![pod("a", "n1", "10.0.0.1"), pod("b", "n2", "10.0.0.2")],
        &mut d,
    );
    d.clear();
    s.apply(false, node("n1", "z9"), &mut d);
    assert_eq!(keys(&d), ["ns/a"]);
    let g = s.build("ns/a");
    assert_eq!(g.labels["__meta_kubernetes_node_label_zone"], "z9");
    assert_eq!(g.labels["__meta_kubernetes_node_name"], "n1");
    // Without attach_metadata.node, no node labels and no node watch.
    let s = Store::new(Role::Pod, false, false);
    assert_eq!(s.kinds(), [Kind::Pod]);
    // Node metadata is not attached for the service role, namespace metadata not for nodes.
    assert_eq!(
        Store::new(Role::Service, true, true).kinds(),
        [Kind::Service, Kind::Namespace]
    );
    assert_eq!(Store::new(Role::Node, true, true).kinds(), [Kind::Node]);
}

#[test]
fn services_and_pods_touch_their_endpoints() {
    let mut s = Store::new(Role::Endpoints, false, true);
    assert_eq!(
        s.kinds(),
        [Kind::Endpoints, Kind::Service, Kind::Pod, Kind::Namespace]
    );
    let mut d = HashSet::new();
    let ep = |name: &str, pod: &str| {
        obj(
            Kind::Endpoints,
            json!({"metadata": {"name": name, "namespace": "ns"},
                   "subsets": [{"addresses": [{"ip": "10.0.0.1", "targetRef": {"kind": "Pod", "namespace": "ns", "name": pod}}],
                                "ports": [{"port": 80, "protocol": "TCP"}]}]}),
        )
    };
    s.replace(
        Kind::Endpoints,
        "",
        vec![ep("web", "a"), ep("db", "b")],
        &mut d,
    );
    d.clear();
    s.apply(
        false,
        obj(
            Kind::Service,
            json!({"metadata": {"name": "web", "namespace": "ns", "labels": {"tier": "front"}}}),
        ),
        &mut d,
    );
    assert_eq!(keys(&d), ["ns/web"]);
    assert_eq!(
        s.build("ns/web").labels["__meta_kubernetes_service_label_tier"],
        "front"
    );
    d.clear();
    s.apply(false, pod("b", "n1", "10.0.0.1"), &mut d);
    assert_eq!(keys(&d), ["ns/db"]);
    assert_eq!(
        s.build("ns/db").targets[0]["__meta_kubernetes_pod_name"],
        "b"
    );
    d.clear();
    s.apply(
        false,
        obj(
            Kind::Namespace,
            json!({"metadata": {"name": "ns", "labels": {"team": "x"}}}),
        ),
        &mut d,
    );
    assert_eq!(keys(&d), ["ns/db", "ns/web"]);
    assert_eq!(
        s.build("ns/db").labels["__meta_kubernetes_namespace_label_team"],
        "x"
    );
    d.clear();
    s.apply(true, pod("b", "n1", "10.0.0.1"), &mut d);
    assert_eq!(keys(&d), ["ns/db"]);
    assert!(!s.build("ns/db").targets[0].contains_key("__meta_kubernetes_pod_name"));
}

#[test]
fn events_lists_and_errors_decode() {
    let e = parse_event(
        Kind::Pod,
        br#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}"#,
    )
    .unwrap();
    assert!(matches!(e, Event::Error(s) if s.code == 410 && s.reason == "Expired"));
    let e = parse_event(
        Kind::Pod,
        br#"{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"77"}}}"#,
    )
    .unwrap();
    assert!(matches!(e, Event::Bookmark(v) if v == "77"));
    let e = parse_event(Kind::Pod, br#"{"type":"SURPRISE","object":{}}"#).unwrap_err();
    assert!(e.contains("SURPRISE"), "{e}");
    assert!(parse_event(Kind::Pod, b"{\"type\":").is_err());
    let (rv, items) = parse_list(Kind::Node, br#"{"kind":"NodeList","metadata":{"resourceVersion":"12"},"items":[{"metadata":{"name":"n"}}]}"#).unwrap();
    assert_eq!((rv.as_str(), items.len()), ("12", 1));
    assert_eq!(
        Kind::EndpointSlice.path("ns"),
        "/apis/discovery.k8s.io/v1/namespaces/ns/endpointslices"
    );
    assert_eq!(
        Kind::Ingress.path(""),
        "/apis/networking.k8s.io/v1/ingresses"
    );
    assert_eq!(Kind::Node.path("ns"), "/api/v1/nodes");
}

#[test]
fn nodes_without_an_address_have_no_target() {
    let mut s = Store::new(Role::Node, false, false);
    let mut d = HashSet::new();
    s.apply(
        false,
        obj(Kind::Node, json!({"metadata": {"name": "bare"}})),
        &mut d,
    );
    let g = s.build("bare");
    assert_eq!(g.source, "node/bare");
    assert!(g.targets.is_empty());
    s.apply(false, node("n1", "z"), &mut d);
    let g = s.build("n1");
    assert_eq!(g.targets[0]["__address__"], "n1:10250");
    assert_eq!(
        g.targets[0]["__meta_kubernetes_node_address_Hostname"],
        "n1"
    );
}
