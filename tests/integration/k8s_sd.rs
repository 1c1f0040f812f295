//! Kubernetes discovery against a fake API server on loopback (`k8s_fake`): list then watch
//! with resource versions, bookmarks, 410 Gone (as an ERROR event), a stream cut halfway;
//! API errors, bad JSON and a refused connection (the error on the pool, the last good
//! targets kept); every role's labels; and `promterm serve` with a kubeconfig file showing the
//! pods in /api/v1/targets.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use promterm::config::KubernetesSdConfig;
use promterm::scrape::discovery::kubernetes::{run_with, Options, Timing};
use promterm::scrape::discovery::metrics::sd_metrics;
use promterm::scrape::discovery::{Sink, TargetGroup};
use tokio_util::sync::CancellationToken;

use crate::common::{data, http, Server};
use crate::k8s_fake::{
    bookmark, endpoints, endpointslice, event, gone_event, ingress, namespace, node, pod, pod_port,
    service, FakeApi, Tail,
};

fn config(yaml: &str) -> KubernetesSdConfig {
    let mut c: KubernetesSdConfig = serde_yaml::from_str(yaml).unwrap();
    c.validate(std::path::Path::new("/")).unwrap();
    c
}

fn options(backoff_ms: u64) -> Options {
    Options {
        timing: Timing {
            backoff_min: Duration::from_millis(backoff_ms),
            backoff_max: Duration::from_millis(backoff_ms * 4),
            watch_timeout: Duration::from_secs(60),
            list_timeout: Duration::from_secs(5),
        },
        ..Options::default()
    }
}

fn start(cfg: KubernetesSdConfig, opts: Options) -> (Sink, CancellationToken) {
    let sink = Sink::new();
    let stop = CancellationToken::new();
    tokio::spawn(run_with(cfg, sink.clone(), stop.clone(), opts));
    (sink, stop)
}

async fn wait(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn by_source(sink: &Sink) -> BTreeMap<String, TargetGroup> {
    sink.groups()
        .into_iter()
        .map(|g| (g.source.clone(), g))
        .collect()
}

fn failures() -> f64 {
    sd_metrics()
        .value("prometheus_sd_kubernetes_failures_total", &[])
        .unwrap_or(0.0)
}

/// The target of a group whose `__address__` is `addr`.
fn target<'a>(g: &'a TargetGroup, addr: &str) -> &'a BTreeMap<String, String> {
    g.targets
        .iter()
        .find(|t| t["__address__"] == addr)
        .unwrap_or_else(|| panic!("no target {addr} in {:#?}", g.targets))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_list_watch_bookmark_gone_and_cut_stream() {
    let api = FakeApi::start();
    let p = "/api/v1/pods";
    api.set_list(
        p,
        100,
        vec![
            pod("default", "a", "10.1.0.1", 90, "node-1"),
            pod("default", "b", "10.1.0.2", 95, "node-1"),
        ],
    );
    api.push_watch(
        p,
        vec![
            event("ADDED", &pod("default", "c", "10.1.0.3", 101, "node-1")),
            bookmark("Pod", "v1", 150),
        ],
        Tail::Close,
    );
    let (feed, rx) = tokio::sync::mpsc::unbounded_channel();
    api.push_watch(p, vec![], Tail::Feed(rx));
    api.push_watch(
        p,
        vec![event(
            "MODIFIED",
            &pod("default", "a", "10.1.0.11", 201, "node-1"),
        )],
        Tail::Cut,
    );
    api.push_watch(
        p,
        vec![event(
            "DELETED",
            &pod("default", "c", "10.1.0.3", 202, "node-1"),
        )],
        Tail::Hold,
    );
    let failures_before = failures();
    let (sink, stop) = start(
        config(&format!("role: pod\napi_server: {}\n", api.url())),
        options(50),
    );

    wait("pods a, b, c", || by_source(&sink).len() == 3).await;
    let g = &by_source(&sink)["pod/default/c"];
    assert_eq!(
        g.targets.len(),
        3,
        "app port, port-less sidecar, init port: {g:#?}"
    );
    // The server answers the next watch (from the bookmark's version) with 410 Gone: a new
    // list, where b is gone and a has changed.
    api.set_list(
        p,
        200,
        vec![
            pod("default", "a", "10.1.0.10", 200, "node-1"),
            pod("default", "c", "10.1.0.3", 101, "node-1"),
        ],
    );
    feed.send(gone_event()).unwrap();
    drop(feed);
    wait("a moved, b and c gone", || {
        let s = by_source(&sink);
        s.len() == 1
            && s.get("pod/default/a")
                .is_some_and(|g| g.labels["__meta_kubernetes_pod_ip"] == "10.1.0.11")
    })
    .await;
    assert!(
        failures() > failures_before,
        "the cut stream counts as a failure"
    );
    wait("the error cleared by the next watch", || {
        sink.error().is_none()
    })
    .await;

    let watches: Vec<String> = api
        .requests()
        .into_iter()
        .filter(|r| r.contains("watch=1"))
        .map(|r| {
            assert!(r.contains("allowWatchBookmarks=true"), "{r}");
            r.split("resourceVersion=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        watches,
        ["100", "150", "200", "201"],
        "watches start from the last version"
    );
    let lists = api
        .requests()
        .iter()
        .filter(|r| !r.contains("watch=1"))
        .count();
    assert_eq!(lists, 2, "a list, and one more after 410 Gone");

    let g = &by_source(&sink)["pod/default/a"];
    let l = &g.labels;
    for (k, v) in [
        ("__meta_kubernetes_namespace", "default"),
        ("__meta_kubernetes_pod_name", "a"),
        ("__meta_kubernetes_pod_ready", "true"),
        ("__meta_kubernetes_pod_phase", "Running"),
        ("__meta_kubernetes_pod_node_name", "node-1"),
        ("__meta_kubernetes_pod_host_ip", "192.168.1.10"),
        ("__meta_kubernetes_pod_uid", "uid-default-a"),
        ("__meta_kubernetes_pod_controller_kind", "ReplicaSet"),
        ("__meta_kubernetes_pod_controller_name", "web-5d4f"),
        ("__meta_kubernetes_pod_label_app_kubernetes_io_name", "web"),
        (
            "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name",
            "true",
        ),
        (
            "__meta_kubernetes_pod_annotation_prometheus_io_scrape",
            "true",
        ),
        (
            "__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape",
            "true",
        ),
    ] {
        assert_eq!(l.get(k).map(String::as_str), Some(v), "{k} in {l:#?}");
    }
    let t = target(g, "10.1.0.11:8080");
    assert_eq!(t["__meta_kubernetes_pod_container_name"], "app");
    assert_eq!(
        t["__meta_kubernetes_pod_container_id"],
        "containerd://a-app"
    );
    assert_eq!(
        t["__meta_kubernetes_pod_container_image"],
        "example/web:1.2"
    );
    assert_eq!(t["__meta_kubernetes_pod_container_port_name"], "http");
    assert_eq!(t["__meta_kubernetes_pod_container_port_number"], "8080");
    assert_eq!(t["__meta_kubernetes_pod_container_port_protocol"], "TCP");
    assert_eq!(t["__meta_kubernetes_pod_container_init"], "false");
    let t = target(g, "10.1.0.11");
    assert_eq!(t["__meta_kubernetes_pod_container_name"], "sidecar");
    assert!(!t.contains_key("__meta_kubernetes_pod_container_port_number"));
    let t = target(g, "10.1.0.11:9999");
    assert_eq!(t["__meta_kubernetes_pod_container_init"], "true");
    assert_eq!(
        t["__meta_kubernetes_pod_container_id"],
        "containerd://a-init"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_and_bad_json_keep_the_last_good_targets() {
    let api = FakeApi::start();
    let p = "/api/v1/namespaces/shop/pods";
    api.state.lock().unwrap().list_error = Some((
        403,
        "Forbidden".into(),
        "pods is forbidden: User \"system:serviceaccount:shop:default\" cannot list resource \"pods\" in API group \"\" in the namespace \"shop\"".into(),
    ));
    let (sink, stop) = start(
        config(&format!(
            "role: pod\napi_server: {}/\nnamespaces: {{names: [shop]}}\n",
            api.url()
        )),
        options(100),
    );
    wait("the 403 on the pool", || sink.error().is_some()).await;
    let e = sink.error().unwrap();
    assert!(e.contains("listing pods in namespace \"shop\""), "{e}");
    assert!(
        e.contains("HTTP 403 Forbidden: pods is forbidden: User"),
        "{e}"
    );
    assert!(sink.groups().is_empty());

    api.set_list(p, 10, vec![pod("shop", "a", "10.2.0.1", 9, "n")]);
    api.push_watch(
        p,
        vec!["{\"type\": \"MODIFIED\", \"object\": {not json".into()],
        Tail::Hold,
    );
    api.state.lock().unwrap().list_error = None;
    wait("the pod after the error", || sink.groups().len() == 1).await;
    wait("the bad JSON on the pool", || {
        sink.error()
            .is_some_and(|e| e.contains("invalid watch event"))
    })
    .await;
    assert_eq!(sink.groups().len(), 1, "the last good targets stay");
    assert_eq!(sink.groups()[0].targets.len(), 3);
    wait("recovered on the next watch", || sink.error().is_none()).await;

    // The server goes away: the list fails, the pool shows it, the targets stay.
    api.push_watch(p, vec![], Tail::GoneStatus);
    api.state.lock().unwrap().list_error = Some((
        500,
        "InternalError".into(),
        "etcdserver: request timed out".into(),
    ));
    stop.cancel();
    let (sink2, stop2) = start(
        config(&format!(
            "role: pod\napi_server: {}\nnamespaces: {{names: [shop]}}\n",
            api.url()
        )),
        options(100),
    );
    wait("the 500 on the pool", || {
        sink2.error().is_some_and(|e| {
            e.contains("HTTP 500 Internal Server Error: etcdserver: request timed out")
        })
    })
    .await;
    stop2.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_named() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let (sink, stop) = start(
        config(&format!("role: node\napi_server: http://{addr}\n")),
        options(100),
    );
    wait("the error on the pool", || sink.error().is_some()).await;
    let e = sink.error().unwrap();
    assert!(
        e.contains(&format!(
            "listing nodes from \"http://{addr}/api/v1/nodes\""
        )),
        "{e}"
    );
    assert!(e.to_lowercase().contains("connection refused"), "{e}");
    stop.cancel();
    // A kubeconfig that is not there is an error on the pool too.
    let (sink, stop) = start(
        config("role: pod\nkubeconfig_file: /nonexistent/kubeconfig\n"),
        options(100),
    );
    wait("the error on the pool", || sink.error().is_some()).await;
    assert!(sink
        .error()
        .unwrap()
        .contains("unable to read kubeconfig_file \"/nonexistent/kubeconfig\""));
    stop.cancel();
}

/// A fake cluster with one of everything in namespace `shop`.
fn cluster() -> FakeApi {
    let api = FakeApi::start();
    let ns = "/api/v1/namespaces/shop";
    api.set_list("/api/v1/namespaces", 5, vec![namespace("shop", 4)]);
    api.set_list("/api/v1/nodes", 5, vec![node("node-1", "192.168.1.10", 3)]);
    api.set_list(
        &format!("{ns}/pods"),
        5,
        vec![
            pod("shop", "web-1", "10.3.0.1", 3, "node-1"),
            pod("shop", "web-2", "10.3.0.2", 3, "node-1"),
        ],
    );
    api.set_list(
        &format!("{ns}/services"),
        5,
        vec![service("shop", "web", 3)],
    );
    api.set_list(
        &format!("{ns}/endpoints"),
        5,
        vec![endpoints(
            "shop",
            "web",
            3,
            &[("web-1", "10.3.0.1"), ("web-2", "10.3.0.2")],
        )],
    );
    api.set_list(
        "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices",
        5,
        vec![endpointslice(
            "shop",
            "web-abcde",
            "web",
            3,
            &[("web-1", "10.3.0.1")],
        )],
    );
    api.set_list(
        "/apis/networking.k8s.io/v1/namespaces/shop/ingresses",
        5,
        vec![ingress("shop", "front", 3)],
    );
    api
}

async fn discover(api: &FakeApi, role: &str, n: usize) -> BTreeMap<String, TargetGroup> {
    let (sink, stop) = start(
        config(&format!(
            "role: {role}\napi_server: {}\nnamespaces: {{names: [shop]}}\nattach_metadata: {{node: true, namespace: true}}\n",
            api.url()
        )),
        options(100),
    );
    wait(&format!("{n} {role} groups"), || sink.groups().len() == n).await;
    stop.cancel();
    assert_eq!(sink.error(), None);
    by_source(&sink)
}

fn has(l: &BTreeMap<String, String>, pairs: &[(&str, &str)]) {
    for (k, v) in pairs {
        assert_eq!(l.get(*k).map(String::as_str), Some(*v), "{k} in {l:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_and_its_labels() {
    let api = cluster();

    let g = &discover(&api, "node", 1).await["node/node-1"];
    has(
        &g.labels,
        &[
            ("__meta_kubernetes_node_name", "node-1"),
            ("__meta_kubernetes_node_provider_id", "aws:///z1/node-1"),
            (
                "__meta_kubernetes_node_label_topology_kubernetes_io_zone",
                "z1",
            ),
        ],
    );
    has(
        &g.targets[0],
        &[
            ("__address__", "192.168.1.10:10250"),
            ("instance", "node-1"),
            ("__meta_kubernetes_node_address_InternalIP", "192.168.1.10"),
            ("__meta_kubernetes_node_address_ExternalIP", "203.0.113.7"),
            ("__meta_kubernetes_node_address_Hostname", "node-1"),
        ],
    );

    let g = &discover(&api, "pod", 2).await["pod/shop/web-1"];
    has(
        &g.labels,
        &[
            (
                "__meta_kubernetes_node_label_kubernetes_io_hostname",
                "node-1",
            ),
            ("__meta_kubernetes_namespace_label_team", "payments"),
            ("__meta_kubernetes_namespace_labelpresent_team", "true"),
        ],
    );

    let g = &discover(&api, "service", 1).await["svc/shop/web"];
    has(
        &g.labels,
        &[
            ("__meta_kubernetes_namespace", "shop"),
            ("__meta_kubernetes_service_name", "web"),
            ("__meta_kubernetes_service_label_app", "web"),
            ("__meta_kubernetes_namespace_label_team", "payments"),
        ],
    );
    has(
        &g.targets[0],
        &[
            ("__address__", "web.shop.svc:80"),
            ("__meta_kubernetes_service_port_name", "http"),
            ("__meta_kubernetes_service_port_number", "80"),
            ("__meta_kubernetes_service_port_protocol", "TCP"),
            ("__meta_kubernetes_service_type", "ClusterIP"),
            ("__meta_kubernetes_service_cluster_ip", "10.96.0.10"),
        ],
    );

    let g = &discover(&api, "endpoints", 1).await["endpoints/shop/web"];
    has(
        &g.labels,
        &[
            ("__meta_kubernetes_namespace", "shop"),
            ("__meta_kubernetes_endpoints_name", "web"),
            ("__meta_kubernetes_service_name", "web"),
            ("__meta_kubernetes_service_label_app", "web"),
        ],
    );
    // Two ready pod addresses and one not ready address, then the pods' ports that no
    // endpoint covers (the init container's 9999).
    assert_eq!(g.targets.len(), 5, "{:#?}", g.targets);
    has(
        target(g, "10.3.0.1:8080"),
        &[
            ("__meta_kubernetes_endpoint_port_name", "http"),
            ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
            ("__meta_kubernetes_endpoint_ready", "true"),
            ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
            ("__meta_kubernetes_endpoint_address_target_name", "web-1"),
            ("__meta_kubernetes_endpoint_node_name", "node-1"),
            ("__meta_kubernetes_pod_name", "web-1"),
            ("__meta_kubernetes_pod_container_name", "app"),
            ("__meta_kubernetes_pod_container_port_number", "8080"),
            ("__meta_kubernetes_node_name", "node-1"),
        ],
    );
    has(
        target(g, "10.1.9.9:8080"),
        &[
            ("__meta_kubernetes_endpoint_ready", "false"),
            ("__meta_kubernetes_endpoint_hostname", "spare"),
        ],
    );
    has(
        target(g, "10.3.0.2:9999"),
        &[
            ("__meta_kubernetes_pod_name", "web-2"),
            ("__meta_kubernetes_pod_container_name", "init"),
            ("__meta_kubernetes_pod_container_init", "true"),
        ],
    );

    let g = &discover(&api, "endpointslice", 1).await["endpointslice/shop/web-abcde"];
    has(
        &g.labels,
        &[
            ("__meta_kubernetes_endpointslice_name", "web-abcde"),
            ("__meta_kubernetes_endpointslice_address_type", "IPv4"),
            (
                "__meta_kubernetes_endpointslice_label_kubernetes_io_service_name",
                "web",
            ),
            ("__meta_kubernetes_service_name", "web"),
        ],
    );
    assert_eq!(g.targets.len(), 2, "{:#?}", g.targets);
    has(
        target(g, "10.3.0.1:8080"),
        &[
            ("__meta_kubernetes_endpointslice_port", "8080"),
            ("__meta_kubernetes_endpointslice_port_name", "http"),
            ("__meta_kubernetes_endpointslice_port_protocol", "TCP"),
            ("__meta_kubernetes_endpointslice_port_app_protocol", "http"),
            (
                "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
                "true",
            ),
            (
                "__meta_kubernetes_endpointslice_endpoint_conditions_serving",
                "true",
            ),
            (
                "__meta_kubernetes_endpointslice_endpoint_conditions_terminating",
                "false",
            ),
            (
                "__meta_kubernetes_endpointslice_endpoint_node_name",
                "node-1",
            ),
            ("__meta_kubernetes_endpointslice_endpoint_zone", "z1"),
            ("__meta_kubernetes_endpointslice_address_target_kind", "Pod"),
            (
                "__meta_kubernetes_endpointslice_address_target_name",
                "web-1",
            ),
            ("__meta_kubernetes_pod_container_name", "app"),
        ],
    );
    has(
        target(g, "10.3.0.1:9999"),
        &[("__meta_kubernetes_pod_container_init", "true")],
    );

    let g = &discover(&api, "ingress", 1).await["ingress/shop/front"];
    has(
        &g.labels,
        &[
            ("__meta_kubernetes_ingress_name", "front"),
            ("__meta_kubernetes_ingress_class_name", "nginx"),
            ("__meta_kubernetes_namespace", "shop"),
        ],
    );
    let paths: Vec<(String, String, String)> = g
        .targets
        .iter()
        .map(|t| {
            (
                t["__address__"].clone(),
                t["__meta_kubernetes_ingress_scheme"].clone(),
                t["__meta_kubernetes_ingress_path"].clone(),
            )
        })
        .collect();
    let want = [
        ("shop.example.com", "https", "/api"),
        ("shop.example.com", "https", "/"),
        ("plain.test", "http", "/"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(paths, want);
}

#[test]
fn serve_shows_discovered_pods_from_a_kubeconfig() {
    let api = FakeApi::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    // The pods' app port is a port of the fake API server, so their scrapes reach a server.
    let port = api.addr.port();
    api.set_list(
        "/api/v1/pods",
        7,
        (1..=3)
            .map(|i| {
                pod_port(
                    "default",
                    &format!("web-{i}"),
                    "127.0.0.1",
                    5,
                    "node-1",
                    port,
                )
            })
            .collect(),
    );
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n- job_name: pods\n  kubernetes_sd_configs:\n  - role: pod\n    kubeconfig_file: {}\n  relabel_configs:\n  - source_labels: [__meta_kubernetes_pod_container_name]\n    regex: app\n    action: keep\n  - source_labels: [__meta_kubernetes_pod_name]\n    target_label: pod\n",
            kubeconfig.display()
        ),
    )
    .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let srv = Server::start(&[
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        data_dir.path().to_str().unwrap(),
    ]);
    crate::common::wait_for("three active pod targets", 20, || {
        data(srv.addr, "/api/v1/targets")["activeTargets"]
            .as_array()
            .map_or(0, |a| a.len())
            == 3
    });
    let d = data(srv.addr, "/api/v1/targets");
    let mut pods: Vec<String> = Vec::new();
    for t in d["activeTargets"].as_array().unwrap() {
        let dl = &t["discoveredLabels"];
        assert_eq!(dl["__address__"], format!("127.0.0.1:{port}"), "{t}");
        assert_eq!(dl["__meta_kubernetes_namespace"], "default", "{t}");
        assert_eq!(
            dl["__meta_kubernetes_pod_controller_kind"], "ReplicaSet",
            "{t}"
        );
        assert_eq!(dl["job"], "pods", "{t}");
        assert_eq!(t["labels"]["pod"], dl["__meta_kubernetes_pod_name"], "{t}");
        pods.push(t["labels"]["pod"].as_str().unwrap().to_string());
    }
    pods.sort();
    assert_eq!(pods, ["web-1", "web-2", "web-3"]);
    // The sidecar and init targets were dropped by the keep rule.
    let dropped = d["droppedTargets"].as_array().map_or(0, |a| a.len());
    assert_eq!(dropped, 6, "{d}");
    assert!(api
        .requests()
        .iter()
        .any(|r| r.starts_with("/api/v1/pods?watch=1")));
    let (code, metrics) = http(srv.addr, "GET", "/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("prometheus_sd_kubernetes_events_total{role=\"pod\",event=\"add\"} 3")
            || metrics
                .contains("prometheus_sd_kubernetes_events_total{event=\"add\",role=\"pod\"} 3"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("kubernetes"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
