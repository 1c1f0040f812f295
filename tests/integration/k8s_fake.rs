//! A fake Kubernetes API server on loopback (axum, its own runtime thread), for the
//! Kubernetes discovery tests and the bench: list responses with `metadata.resourceVersion`,
//! and watch streams (chunked, newline-delimited JSON events) scripted per path: events, then
//! a clean end, a cut in the middle of an event, an open stream, events fed live, or a
//! `410 Gone` response. Objects are shaped like the API's documented v1 objects.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use http_body_util::Channel;
use serde_json::{json, Value};

/// How a scripted watch stream goes on after its events.
pub enum Tail {
    /// The server ends the stream cleanly (as at `timeoutSeconds`).
    Close,
    /// Half an event, then the connection is dropped.
    Cut,
    /// The stream stays open.
    Hold,
    /// Lines sent as they come, until the sender is dropped.
    Feed(tokio::sync::mpsc::UnboundedReceiver<String>),
    /// No stream: the request is answered `410 Gone`.
    GoneStatus,
}

pub struct Watch {
    pub lines: Vec<String>,
    pub tail: Tail,
}

#[derive(Default)]
pub struct FakeState {
    /// Collection path -> (resource version, items).
    pub lists: HashMap<String, (u64, Vec<Value>)>,
    /// Collection path -> the next watch streams.
    pub watches: HashMap<String, VecDeque<Watch>>,
    /// Answer every list with this error: (code, reason, message).
    pub list_error: Option<(u16, String, String)>,
    /// Every request's path and query, in order.
    pub requests: Vec<String>,
}

pub struct FakeApi {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<FakeState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeApi {
    pub fn start() -> FakeApi {
        let state: Arc<Mutex<FakeState>> = Arc::default();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(l.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(handle).with_state(st);
                // Stopping drops open watch streams at once (no graceful wait for them).
                tokio::select! {
                    r = axum::serve(l, app) => r.unwrap(),
                    _ = stop_rx => {}
                }
            });
            rt.shutdown_timeout(Duration::from_millis(100));
        });
        FakeApi {
            addr: addr_rx.recv().unwrap(),
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_list(&self, path: &str, rv: u64, items: Vec<Value>) {
        self.state
            .lock()
            .unwrap()
            .lists
            .insert(path.into(), (rv, items));
    }

    pub fn push_watch(&self, path: &str, lines: Vec<String>, tail: Tail) {
        self.state
            .lock()
            .unwrap()
            .watches
            .entry(path.into())
            .or_default()
            .push_back(Watch { lines, tail });
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// A kubeconfig file whose current context points at this server.
    pub fn kubeconfig(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let p = dir.join("kubeconfig");
        std::fs::write(
            &p,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
                 clusters:\n- name: fake\n  cluster:\n    server: {}\n\
                 contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tester\n    namespace: default\n\
                 users:\n- name: tester\n  user:\n    token: fake-token\n",
                self.url()
            ),
        )
        .unwrap();
        p
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A `Status` object as the API returns with errors.
pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

async fn handle(AxState(st): AxState<Arc<Mutex<FakeState>>>, uri: Uri) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let watch = query
        .split('&')
        .any(|kv| kv == "watch=1" || kv == "watch=true");
    let mut s = st.lock().unwrap();
    s.requests.push(uri.to_string());
    if !watch {
        if let Some((code, reason, msg)) = &s.list_error {
            let code = StatusCode::from_u16(*code).unwrap();
            return (code, axum::Json(status(code.as_u16(), reason, msg))).into_response();
        }
        let (rv, items) = s.lists.get(&path).cloned().unwrap_or((1, Vec::new()));
        let body = json!({"kind": "List", "apiVersion": "v1",
                          "metadata": {"resourceVersion": rv.to_string()}, "items": items});
        return axum::Json(body).into_response();
    }
    let w = s
        .watches
        .get_mut(&path)
        .and_then(|q| q.pop_front())
        .unwrap_or(Watch {
            lines: Vec::new(),
            tail: Tail::Hold,
        });
    drop(s);
    if matches!(w.tail, Tail::GoneStatus) {
        let msg = "too old resource version";
        return (StatusCode::GONE, axum::Json(status(410, "Expired", msg))).into_response();
    }
    let (mut tx, body) = Channel::<Bytes, std::io::Error>::new(64);
    tokio::spawn(async move {
        for l in w.lines {
            if tx.send_data(Bytes::from(l + "\n")).await.is_err() {
                return;
            }
        }
        match w.tail {
            Tail::Close | Tail::GoneStatus => {}
            Tail::Cut => {
                let _ = tx
                    .send_data(Bytes::from_static(
                        b"{\"type\":\"MODIFIED\",\"object\":{\"meta",
                    ))
                    .await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                tx.abort(std::io::Error::other("connection cut"));
            }
            Tail::Hold => tokio::time::sleep(Duration::from_secs(3600)).await,
            Tail::Feed(mut rx) => {
                while let Some(l) = rx.recv().await {
                    if tx.send_data(Bytes::from(l + "\n")).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::new(body))
        .unwrap()
}

// ---- objects ----

fn meta(ns: &str, name: &str, rv: u64) -> Value {
    let mut m = json!({
        "name": name,
        "uid": format!("uid-{ns}-{name}"),
        "resourceVersion": rv.to_string(),
        "creationTimestamp": "2026-12-01T10:00:00Z",
    });
    if !ns.is_empty() {
        m["namespace"] = json!(ns);
    }
    m
}

/// A running pod of a ReplicaSet with an `app` container (port 8080 `http`), a port-less
/// `sidecar` and an init container, scheduled on `node`.
pub fn pod(ns: &str, name: &str, ip: &str, rv: u64, node: &str) -> Value {
    pod_port(ns, name, ip, rv, node, 8080)
}

pub fn pod_port(ns: &str, name: &str, ip: &str, rv: u64, node: &str, port: u16) -> Value {
    let mut m = meta(ns, name, rv);
    m["labels"] = json!({"app.kubernetes.io/name": "web", "pod-template-hash": "5d4f"});
    m["annotations"] = json!({"prometheus.io/scrape": "true"});
    m["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "name": "web-5d4f", "uid": "rs-uid", "controller": true, "blockOwnerDeletion": true}]);
    json!({
        "kind": "Pod", "apiVersion": "v1", "metadata": m,
        "spec": {
            "nodeName": node,
            "containers": [
                {"name": "app", "image": "example/web:1.2",
                 "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}]},
                {"name": "sidecar", "image": "example/proxy:0.9"}
            ],
            "initContainers": [{"name": "init", "image": "busybox:1.36",
                "ports": [{"name": "init-metrics", "containerPort": 9999, "protocol": "TCP"}]}]
        },
        "status": {
            "phase": "Running",
            "hostIP": "192.168.1.10",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True"},
                {"type": "ContainersReady", "status": "True"},
                {"type": "PodScheduled", "status": "True"}
            ],
            "containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 0, "image": "example/web:1.2",
                 "containerID": format!("containerd://{name}-app")},
                {"name": "sidecar", "ready": true, "restartCount": 0,
                 "containerID": format!("containerd://{name}-sidecar")}
            ],
            "initContainerStatuses": [{"name": "init", "ready": true, "restartCount": 0,
                 "containerID": format!("containerd://{name}-init")}]
        }
    })
}

pub fn node(name: &str, ip: &str, rv: u64) -> Value {
    let mut m = meta("", name, rv);
    m["labels"] = json!({"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": "z1"});
    json!({
        "kind": "Node", "apiVersion": "v1", "metadata": m,
        "spec": {"providerID": format!("aws:///z1/{name}")},
        "status": {
            "addresses": [{"type": "Hostname", "address": name}, {"type": "InternalIP", "address": ip},
                          {"type": "ExternalIP", "address": "203.0.113.7"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}
        }
    })
}

pub fn service(ns: &str, name: &str, rv: u64) -> Value {
    let mut m = meta(ns, name, rv);
    m["labels"] = json!({"app": name});
    json!({
        "kind": "Service", "apiVersion": "v1", "metadata": m,
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10",
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
                 "selector": {"app.kubernetes.io/name": "web"}}
    })
}

pub fn endpoints(ns: &str, name: &str, rv: u64, pods: &[(&str, &str)]) -> Value {
    let addrs: Vec<Value> = pods
        .iter()
        .map(|(p, ip)| json!({"ip": ip, "nodeName": "node-1",
            "targetRef": {"kind": "Pod", "namespace": ns, "name": p, "uid": format!("uid-{ns}-{p}")}}))
        .collect();
    json!({
        "kind": "Endpoints", "apiVersion": "v1", "metadata": meta(ns, name, rv),
        "subsets": [{"addresses": addrs,
                     "notReadyAddresses": [{"ip": "10.1.9.9", "hostname": "spare"}],
                     "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]
    })
}

pub fn endpointslice(ns: &str, name: &str, svc: &str, rv: u64, pods: &[(&str, &str)]) -> Value {
    let mut m = meta(ns, name, rv);
    m["labels"] = json!({"kubernetes.io/service-name": svc,
                         "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"});
    let eps: Vec<Value> = pods
        .iter()
        .map(|(p, ip)| json!({"addresses": [ip],
            "conditions": {"ready": true, "serving": true, "terminating": false},
            "nodeName": "node-1", "zone": "z1",
            "targetRef": {"kind": "Pod", "namespace": ns, "name": p, "uid": format!("uid-{ns}-{p}")}}))
        .collect();
    json!({
        "kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1", "metadata": m,
        "addressType": "IPv4", "endpoints": eps,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]
    })
}

pub fn ingress(ns: &str, name: &str, rv: u64) -> Value {
    json!({
        "kind": "Ingress", "apiVersion": "networking.k8s.io/v1", "metadata": meta(ns, name, rv),
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["*.example.com"], "secretName": "tls"}],
            "rules": [
                {"host": "shop.example.com", "http": {"paths": [
                    {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                    {"pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}},
                {"host": "plain.test"}
            ]
        }
    })
}

pub fn namespace(name: &str, rv: u64) -> Value {
    let mut m = meta("", name, rv);
    m["labels"] = json!({"team": "payments"});
    json!({"kind": "Namespace", "apiVersion": "v1", "metadata": m, "status": {"phase": "Active"}})
}

/// A watch event line.
pub fn event(kind: &str, obj: &Value) -> String {
    json!({"type": kind, "object": obj}).to_string()
}

/// A BOOKMARK event at `rv`.
pub fn bookmark(kind: &str, api_version: &str, rv: u64) -> String {
    json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version,
        "metadata": {"resourceVersion": rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}}})
    .to_string()
}

/// The ERROR event a server sends when the watched version is too old.
pub fn gone_event() -> String {
    json!({"type": "ERROR", "object": status(410, "Expired", "too old resource version: 100 (150)")})
        .to_string()
}
