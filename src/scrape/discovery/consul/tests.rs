//! Consul discovery against a fake Consul on loopback (axum) that answers blocking queries
//! as Consul does: held until the data changes or `wait` runs out, `X-Consul-Index` set.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::*;

#[derive(Default)]
struct Data {
    index: u64,
    /// Service name -> its health entries (JSON as Consul sends them).
    services: BTreeMap<String, Vec<Value>>,
    /// Answer every catalog / health call with this status.
    fail_catalog: Option<u16>,
    fail_health: Option<u16>,
    /// Every request: path?query and the token header.
    log: Vec<(String, String)>,
}

#[derive(Clone, Default)]
struct Fake {
    data: Arc<Mutex<Data>>,
    changed: Arc<Notify>,
}

impl Fake {
    /// Changes the data, moving the index on (or to `index` when given), and wakes waiters.
    fn change(&self, f: impl FnOnce(&mut Data), index: Option<u64>) {
        let mut d = self.data.lock();
        f(&mut d);
        d.index = index.unwrap_or(d.index + 1);
        drop(d);
        self.changed.notify_waiters();
    }

    fn log(&self) -> Vec<String> {
        self.data.lock().log.iter().map(|l| l.0.clone()).collect()
    }
}

fn param<'a>(q: &'a str, k: &str) -> Option<&'a str> {
    q.split('&').find_map(|kv| {
        let (a, b) = kv.split_once('=').unwrap_or((kv, ""));
        (a == k).then_some(b)
    })
}

/// Holds a blocking query until the index passes the asked one or the wait runs out.
async fn block(fake: &Fake, q: &str) {
    let asked: u64 = param(q, "index").map_or(0, |i| i.parse().unwrap());
    let wait_ms: u64 = param(q, "wait")
        .and_then(|w| w.strip_suffix("ms"))
        .map_or(300_000, |w| w.parse().unwrap());
    let deadline = tokio::time::Instant::now() + Duration::from_millis(wait_ms);
    loop {
        let notified = fake.changed.notified();
        if fake.data.lock().index != asked {
            return;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return;
        }
    }
}

fn answer(index: u64, body: Value) -> Response {
    ([("X-Consul-Index", index.to_string())], axum::Json(body)).into_response()
}

fn record(fake: &Fake, path: &str, q: &Option<String>, h: &HeaderMap) {
    let token = h
        .get("X-Consul-Token")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let line = match q {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    fake.data.lock().log.push((line, token));
}

async fn agent_self(State(fake): State<Fake>, h: HeaderMap) -> Response {
    record(&fake, "/v1/agent/self", &None, &h);
    axum::Json(json!({"Config": {"Datacenter": "dc1", "NodeName": "n1"}})).into_response()
}

async fn catalog(State(fake): State<Fake>, RawQuery(q): RawQuery, h: HeaderMap) -> Response {
    record(&fake, "/v1/catalog/services", &q, &h);
    block(&fake, q.as_deref().unwrap_or("")).await;
    let d = fake.data.lock();
    if let Some(code) = d.fail_catalog {
        return (StatusCode::from_u16(code).unwrap(), "rpc error: no leader").into_response();
    }
    let list: serde_json::Map<String, Value> = d
        .services
        .iter()
        .map(|(name, entries)| {
            let mut tags: Vec<Value> = Vec::new();
            for e in entries {
                for t in e["Service"]["Tags"].as_array().into_iter().flatten() {
                    if !tags.contains(t) {
                        tags.push(t.clone());
                    }
                }
            }
            (name.clone(), Value::Array(tags))
        })
        .collect();
    answer(d.index, Value::Object(list))
}

async fn health(
    State(fake): State<Fake>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    h: HeaderMap,
) -> Response {
    record(&fake, &format!("/v1/health/service/{name}"), &q, &h);
    let q = q.unwrap_or_default();
    block(&fake, &q).await;
    let d = fake.data.lock();
    if let Some(code) = d.fail_health {
        return (StatusCode::from_u16(code).unwrap(), "rpc error: no leader").into_response();
    }
    let tags: Vec<&str> = q
        .split('&')
        .filter_map(|kv| kv.strip_prefix("tag="))
        .collect();
    let entries: Vec<Value> = d
        .services
        .get(&name)
        .into_iter()
        .flatten()
        .filter(|e| {
            let have: Vec<&str> = e["Service"]["Tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str())
                .collect();
            tags.iter().all(|t| have.contains(t))
        })
        .cloned()
        .collect();
    answer(d.index, Value::Array(entries))
}

async fn start(fake: &Fake) -> String {
    let app = Router::new()
        .route("/v1/agent/self", get(agent_self))
        .route("/v1/catalog/services", get(catalog))
        .route("/v1/health/service/{name}", get(health))
        .with_state(fake.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    addr.to_string()
}

/// A health entry shaped like Consul's documented `/v1/health/service` answer.
fn entry(node: &str, node_addr: &str, id: &str, svc_addr: &str, port: u16, tags: &[&str]) -> Value {
    json!({
        "Node": {
            "ID": "40e4a748-2192-161a-0510-9bf59fe950b5",
            "Node": node,
            "Address": node_addr,
            "Datacenter": "dc1",
            "TaggedAddresses": {"lan": node_addr, "wan": "198.18.0.1", "lan_ipv4": node_addr},
            "Meta": {"instance-type": "t2.medium", "rack": "r1"},
            "CreateIndex": 1, "ModifyIndex": 1
        },
        "Service": {
            "ID": id,
            "Service": id.split('-').next().unwrap(),
            "Tags": tags,
            "Address": svc_addr,
            "TaggedAddresses": {},
            "Meta": {"version": "1.2", "metrics.path": "/m"},
            "Port": port,
            "Weights": {"Passing": 10, "Warning": 1},
            "Namespace": "default",
            "Partition": "default",
            "CreateIndex": 1, "ModifyIndex": 1
        },
        "Checks": [
            {"Node": node, "CheckID": "serfHealth", "Name": "Serf Health Status", "Status": "passing"},
            {"Node": node, "CheckID": format!("service:{id}"), "Status": "warning"}
        ]
    })
}

fn cfg(server: &str, yaml_extra: &str) -> ConsulSdConfig {
    let mut c: ConsulSdConfig = serde_yaml::from_str(&format!(
        "server: '{server}'\nrefresh_interval: 10ms\n{yaml_extra}"
    ))
    .unwrap();
    c.finish(std::path::Path::new("/")).unwrap();
    c
}

const FAST: Timing = Timing {
    watch_timeout: Duration::from_secs(2),
    retry_interval: Duration::from_millis(100),
};

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn targets(sink: &Sink, source: &str) -> Vec<crate::scrape::discovery::LabelMap> {
    sink.groups()
        .into_iter()
        .find(|g| g.source == source)
        .map(|g| g.targets)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_services_and_their_labels() {
    let fake = Fake::default();
    fake.change(
        |d| {
            d.services.insert(
                "web".into(),
                vec![
                    entry("n1", "127.0.0.1", "web-1", "", 8080, &["prod", "v1"]),
                    entry("n2", "127.0.0.2", "web-2", "127.0.9.9", 8081, &[]),
                ],
            );
            d.services.insert(
                "db".into(),
                vec![entry("n1", "127.0.0.1", "db-1", "", 5432, &["prod"])],
            );
        },
        Some(10),
    );
    let addr = start(&fake).await;
    let sink = Sink::new();
    let stop = CancellationToken::new();
    tokio::spawn(run_with(
        cfg(&addr, "token: s3cret\n"),
        FAST,
        sink.clone(),
        stop.clone(),
    ));
    until("two services", || sink.groups().len() == 2).await;
    let g = sink
        .groups()
        .into_iter()
        .find(|g| g.source == "web")
        .unwrap();
    assert_eq!(g.labels["__meta_consul_service"], "web");
    assert_eq!(g.labels["__meta_consul_dc"], "dc1", "from /v1/agent/self");
    let t = &g.targets[0];
    let want = [
        ("__address__", "127.0.0.1:8080"),
        ("__meta_consul_address", "127.0.0.1"),
        ("__meta_consul_node", "n1"),
        ("__meta_consul_namespace", "default"),
        ("__meta_consul_partition", "default"),
        ("__meta_consul_tags", ",prod,v1,"),
        ("__meta_consul_service_address", ""),
        ("__meta_consul_service_port", "8080"),
        ("__meta_consul_service_id", "web-1"),
        ("__meta_consul_health", "warning"),
        ("__meta_consul_metadata_instance_type", "t2.medium"),
        ("__meta_consul_metadata_rack", "r1"),
        ("__meta_consul_service_metadata_version", "1.2"),
        ("__meta_consul_service_metadata_metrics_path", "/m"),
        ("__meta_consul_tagged_address_lan", "127.0.0.1"),
        ("__meta_consul_tagged_address_lan_ipv4", "127.0.0.1"),
        ("__meta_consul_tagged_address_wan", "198.18.0.1"),
    ];
    for (k, v) in want {
        assert_eq!(t.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert_eq!(t.len(), want.len(), "{t:?}");
    let t2 = &g.targets[1];
    assert_eq!(
        t2["__address__"], "127.0.9.9:8081",
        "the service address wins"
    );
    assert_eq!(t2["__meta_consul_tags"], ",,");
    until("the next catalog query, blocking on the index", || {
        fake.log()
            .iter()
            .any(|l| l == "/v1/catalog/services?stale=&index=10&wait=2000ms")
    })
    .await;
    let log = fake.data.lock().log.clone();
    assert!(log.iter().all(|(_, tok)| tok == "s3cret"), "{log:?}");
    let first_catalog = log
        .iter()
        .find(|l| l.0.starts_with("/v1/catalog/services"))
        .unwrap();
    assert_eq!(first_catalog.0, "/v1/catalog/services?stale=&wait=2000ms");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_come_and_go_with_blocking_queries() {
    let fake = Fake::default();
    fake.change(
        |d| {
            d.services.insert(
                "web".into(),
                vec![entry("n1", "127.0.0.1", "web-1", "", 80, &[])],
            );
        },
        None,
    );
    let addr = start(&fake).await;
    let sink = Sink::new();
    let stop = CancellationToken::new();
    // A long wait: changes must arrive because the held queries return, not by timing out.
    let timing = Timing {
        watch_timeout: Duration::from_secs(30),
        ..FAST
    };
    tokio::spawn(run_with(
        cfg(&addr, "datacenter: east\n"),
        timing,
        sink.clone(),
        stop.clone(),
    ));
    until("web", || targets(&sink, "web").len() == 1).await;
    assert_eq!(sink.groups()[0].labels["__meta_consul_dc"], "east");
    let t0 = Instant::now();
    fake.change(
        |d| {
            d.services.insert(
                "cache".into(),
                vec![entry("n3", "127.0.0.3", "cache-1", "", 6379, &[])],
            );
            d.services
                .get_mut("web")
                .unwrap()
                .push(entry("n2", "127.0.0.2", "web-2", "", 80, &[]));
        },
        None,
    );
    until("cache and a second web", || {
        targets(&sink, "cache").len() == 1 && targets(&sink, "web").len() == 2
    })
    .await;
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    fake.change(|d| drop(d.services.remove("web")), None);
    until("web gone", || sink.groups().len() == 1).await;
    assert_eq!(sink.groups()[0].source, "cache");
    let log = fake.log();
    assert!(
        !log.iter().any(|l| l.starts_with("/v1/agent/self")),
        "datacenter was set"
    );
    assert!(
        log.iter()
            .all(|l| !l.contains('?') || l.contains("dc=east")),
        "{log:?}"
    );
    // The index goes backwards (a Consul restart): the data is taken and the index reset.
    fake.change(
        |d| {
            d.services.get_mut("cache").unwrap().push(entry(
                "n4",
                "127.0.0.4",
                "cache-2",
                "",
                6379,
                &[],
            ));
        },
        Some(1),
    );
    until("cache after the reset", || {
        targets(&sink, "cache").len() == 2
    })
    .await;
    until("a query from index 0", || {
        fake.log()
            .iter()
            .filter(|l| l.starts_with("/v1/health/service/cache"))
            .filter(|l| !l.contains("index="))
            .count()
            >= 2
    })
    .await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_keep_the_last_targets_and_show_the_error() {
    let fake = Fake::default();
    fake.change(
        |d| {
            d.services.insert(
                "web".into(),
                vec![entry("n1", "127.0.0.1", "web-1", "", 80, &[])],
            );
        },
        None,
    );
    let addr = start(&fake).await;
    let sink = Sink::new();
    let stop = CancellationToken::new();
    let before = sd_metrics().value(RPC_FAILURES, &[]).unwrap_or(0.0);
    tokio::spawn(run_with(cfg(&addr, ""), FAST, sink.clone(), stop.clone()));
    until("web", || targets(&sink, "web").len() == 1).await;
    fake.change(
        |d| {
            d.fail_health = Some(500);
            d.fail_catalog = Some(500);
        },
        None,
    );
    until("an error", || sink.error().is_some()).await;
    let e = sink.error().unwrap();
    assert!(
        e.contains("Unexpected response code: 500 (rpc error: no leader)"),
        "{e}"
    );
    assert_eq!(targets(&sink, "web").len(), 1, "last good targets kept");
    assert!(sd_metrics().value(RPC_FAILURES, &[]).unwrap() > before);
    fake.change(
        |d| {
            d.fail_health = None;
            d.fail_catalog = None;
        },
        None,
    );
    until("recovery", || sink.error().is_none()).await;
    assert_eq!(targets(&sink, "web").len(), 1);
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_services_tags_and_query_options() {
    let fake = Fake::default();
    fake.change(
        |d| {
            d.services.insert(
                "web".into(),
                vec![
                    entry("n1", "127.0.0.1", "web-1", "", 80, &["prod"]),
                    entry("n2", "127.0.0.2", "web-2", "", 80, &["dev"]),
                ],
            );
            d.services.insert(
                "other".into(),
                vec![entry("n1", "127.0.0.1", "other-1", "", 81, &[])],
            );
        },
        None,
    );
    let addr = start(&fake).await;
    // Services alone: no catalog watch.
    let sink = Sink::new();
    let stop = CancellationToken::new();
    let c = cfg(
        &addr,
        "services: [web]\nallow_stale: false\nnamespace: team\npartition: p1\ndatacenter: dc1\n\
         node_meta: {rack: r1}\nhealth_filter: 'Service.Port == 80'\ntag_separator: '|'\n",
    );
    tokio::spawn(run_with(c, FAST, sink.clone(), stop.clone()));
    until("web", || targets(&sink, "web").len() == 2).await;
    assert_eq!(targets(&sink, "web")[0]["__meta_consul_tags"], "|prod|");
    let log = fake.log();
    assert!(!log.iter().any(|l| l.contains("catalog")), "{log:?}");
    assert_eq!(
        log[0],
        "/v1/health/service/web?dc=dc1&ns=team&partition=p1&wait=2000ms&node-meta=rack%3Ar1&filter=Service.Port+%3D%3D+80"
    );
    stop.cancel();
    // With tags, the catalog is watched and only services with every tag are.
    let fake2 = Fake::default();
    *fake2.data.lock() = Data {
        index: 1,
        services: fake.data.lock().services.clone(),
        ..Data::default()
    };
    let addr = start(&fake2).await;
    let sink = Sink::new();
    let stop = CancellationToken::new();
    tokio::spawn(run_with(
        cfg(
            &addr,
            "tags: [prod]\nfilter: 'ServiceTags contains \"prod\"'\n",
        ),
        FAST,
        sink.clone(),
        stop.clone(),
    ));
    until("web", || targets(&sink, "web").len() == 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sink.groups().len(), 1, "other has no prod tag");
    assert_eq!(
        targets(&sink, "web")[0]["__meta_consul_service_id"],
        "web-1"
    );
    let log = fake2.log();
    assert!(
        log.iter().any(|l| l
            == "/v1/catalog/services?stale=&wait=2000ms&filter=ServiceTags+contains+%22prod%22"),
        "the catalog filter goes to the catalog: {log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l == "/v1/health/service/web?stale=&wait=2000ms&tag=prod"),
        "and not to the health API: {log:?}"
    );
    stop.cancel();
}

#[tokio::test]
async fn a_bad_agent_answer_is_an_error_on_the_pool() {
    let app = Router::new().route(
        "/v1/agent/self",
        get(|| async { axum::Json(json!({"Config": {"Not-Datacenter": "x"}})) }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let sink = Sink::new();
    let stop = CancellationToken::new();
    tokio::spawn(run_with(cfg(&addr, ""), FAST, sink.clone(), stop.clone()));
    until("an error", || sink.error().is_some()).await;
    let e = sink.error().unwrap();
    assert!(
        e.contains("invalid value '<nil>' for Config.Datacenter"),
        "{e}"
    );
    stop.cancel();
    // Nothing listening: a connection error names the address.
    let sink = Sink::new();
    let stop = CancellationToken::new();
    tokio::spawn(run_with(
        cfg("127.0.0.1:1", "datacenter: x\n"),
        FAST,
        sink.clone(),
        stop.clone(),
    ));
    until("an error", || sink.error().is_some()).await;
    let e = sink.error().unwrap();
    assert!(e.contains("127.0.0.1:1"), "{e}");
    stop.cancel();
}

#[test]
fn health_aggregation_and_sanitizing() {
    use api::{aggregated_status, HealthCheck};
    let c = |id: &str, s: &str| HealthCheck {
        check_id: id.into(),
        status: s.into(),
    };
    assert_eq!(aggregated_status(&[]), "passing");
    assert_eq!(
        aggregated_status(&[c("a", "passing"), c("b", "critical")]),
        "critical"
    );
    assert_eq!(
        aggregated_status(&[c("_node_maintenance", "critical"), c("b", "passing")]),
        "maintenance"
    );
    assert_eq!(aggregated_status(&[c("a", "bogus")]), "");
    assert!(should_watch(
        &cfg("x:1", "tags: [a, b]\n"),
        "s",
        &["b".into(), "a".into(), "c".into()]
    ));
    assert!(!should_watch(
        &cfg("x:1", "tags: [a, b]\n"),
        "s",
        &["a".into()]
    ));
    assert!(!should_watch(&cfg("x:1", "services: [t]\n"), "s", &[]));
    assert_eq!(
        (next_index(5, 7), next_index(5, 3), next_index(0, 0)),
        (7, 0, 1)
    );
}
