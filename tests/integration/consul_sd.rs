//! `consul_sd_configs` through `promterm serve`: a fake Consul on loopback answers the catalog,
//! health and agent APIs with Consul's documented JSON and `X-Consul-Index`; the discovered
//! targets, their `__meta_consul_*` labels and a relabel rule on the tags show in
//! `/api/v1/targets`; a service leaving the catalog takes its targets along; API errors keep
//! the last targets and count `prometheus_sd_consul_rpc_failures_total`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::common::{data, http, wait_for, Server};

#[derive(Default)]
struct State {
    index: u64,
    services: BTreeMap<String, Vec<Value>>,
    fail: bool,
    requests: Vec<(String, String)>,
}

type Shared = Arc<Mutex<State>>;

/// Answers one request: (status, body, index).
fn answer(s: &mut State, path: &str) -> (u16, String) {
    let route = path.split('?').next().unwrap_or("");
    if s.fail && route != "/v1/agent/self" {
        return (500, "rpc error making call: No cluster leader".into());
    }
    let body = match route {
        "/v1/agent/self" => json!({"Config": {"Datacenter": "dc1", "NodeName": "node-1"}}),
        "/v1/catalog/services" => {
            let m: serde_json::Map<String, Value> = s
                .services
                .iter()
                .map(|(k, v)| (k.clone(), v[0]["Service"]["Tags"].clone()))
                .collect();
            Value::Object(m)
        }
        r => match r.strip_prefix("/v1/health/service/") {
            Some(name) => Value::Array(s.services.get(name).cloned().unwrap_or_default()),
            None => return (404, "not found".into()),
        },
    };
    (200, body.to_string())
}

fn fake_consul(state: Shared) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut stream) = stream else { continue };
            let state = state.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).is_err() {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut token = String::new();
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("x-consul-token:") {
                        token = v.trim().to_string();
                    }
                }
                let mut s = state.lock().unwrap();
                s.requests.push((path.clone(), token));
                let (code, body) = answer(&mut s, &path);
                let index = s.index;
                drop(s);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nX-Consul-Index: {index}\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    addr
}

fn entry(node: &str, addr: &str, id: &str, port: u16, tags: &[&str]) -> Value {
    json!({
        "Node": {"ID": "b78c2e48-5ef3-1814-31b8-0d880f50471e", "Node": node, "Address": addr,
                 "Datacenter": "dc1", "TaggedAddresses": {"lan": addr, "wan": "198.18.0.7"},
                 "Meta": {"consul-network-segment": ""}, "CreateIndex": 5, "ModifyIndex": 5},
        "Service": {"ID": id, "Service": id.split('-').next().unwrap(), "Tags": tags,
                    "Address": "", "Meta": {"team": "core"}, "Port": port,
                    "Weights": {"Passing": 1, "Warning": 1}, "EnableTagOverride": false,
                    "CreateIndex": 5, "ModifyIndex": 5},
        "Checks": [{"Node": node, "CheckID": "serfHealth", "Name": "Serf Health Status",
                    "Status": "passing", "ServiceID": "", "ServiceName": ""},
                   {"Node": node, "CheckID": format!("service:{id}"), "Status": "critical",
                    "ServiceID": id}]
    })
}

fn targets(addr: SocketAddr) -> (Vec<Value>, Vec<Value>) {
    let d = data(addr, "/api/v1/targets");
    let list = |k: &str| d[k].as_array().cloned().unwrap_or_default();
    (list("activeTargets"), list("droppedTargets"))
}

#[test]
fn consul_sd_through_the_scrape_manager() {
    let state: Shared = Arc::default();
    {
        let mut s = state.lock().unwrap();
        s.index = 7;
        s.services.insert(
            "web".into(),
            vec![
                entry("node-1", "127.0.0.1", "web-1", 18080, &["prod", "http"]),
                entry("node-2", "127.0.0.2", "web-2", 18081, &["dev"]),
            ],
        );
        s.services.insert(
            "db".into(),
            vec![entry("node-1", "127.0.0.1", "db-1", 15432, &["prod"])],
        );
    }
    let consul = fake_consul(state.clone());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            r#"global:
  scrape_interval: 1m
scrape_configs:
  - job_name: consul
    consul_sd_configs:
      - server: '{consul}'
        token: s3cret
        refresh_interval: 200ms
    relabel_configs:
      - {{source_labels: [__meta_consul_tags], regex: '.*,prod,.*', action: keep}}
"#
        ),
    )
    .unwrap();
    let data_dir = dir.path().join("data");
    let srv = Server::start(&[
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        data_dir.to_str().unwrap(),
    ]);
    wait_for("two active consul targets", 30, || {
        targets(srv.addr).0.len() == 2
    });
    let (active, dropped) = targets(srv.addr);
    assert_eq!(dropped.len(), 1, "web-2 has no prod tag: {dropped:?}");
    let web1 = active
        .iter()
        .find(|t| t["discoveredLabels"]["__meta_consul_service_id"] == "web-1")
        .expect("web-1 discovered");
    let got: BTreeMap<String, String> =
        serde_json::from_value(web1["discoveredLabels"].clone()).unwrap();
    let want: BTreeMap<String, String> = [
        ("__address__", "127.0.0.1:18080"),
        ("__meta_consul_address", "127.0.0.1"),
        ("__meta_consul_dc", "dc1"),
        ("__meta_consul_health", "critical"),
        ("__meta_consul_node", "node-1"),
        ("__meta_consul_service", "web"),
        ("__meta_consul_service_id", "web-1"),
        ("__meta_consul_service_metadata_team", "core"),
        ("__meta_consul_service_port", "18080"),
        ("__meta_consul_tagged_address_lan", "127.0.0.1"),
        ("__meta_consul_tagged_address_wan", "198.18.0.7"),
        ("__meta_consul_tags", ",prod,http,"),
        ("__metrics_path__", "/metrics"),
        ("__scheme__", "http"),
        ("__scrape_interval__", "1m"),
        ("__scrape_timeout__", "10s"),
        ("job", "consul"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(
        got, want,
        "empty values (service address, namespace...) are no labels"
    );
    assert_eq!(web1["labels"]["instance"], "127.0.0.1:18080");
    {
        let s = state.lock().unwrap();
        assert!(
            s.requests.iter().all(|(_, t)| t == "s3cret"),
            "{:?}",
            s.requests
        );
        assert!(s
            .requests
            .iter()
            .any(|(p, _)| p.starts_with("/v1/health/service/db?stale=&wait=120000ms")));
    }
    // db leaves the catalog: its target goes.
    {
        let mut s = state.lock().unwrap();
        s.services.remove("db");
        s.index = 8;
    }
    wait_for("db gone", 30, || targets(srv.addr).0.len() == 1);
    // Consul fails: the last targets stay, the failures are counted.
    state.lock().unwrap().fail = true;
    state.lock().unwrap().index = 9;
    wait_for("a counted failure", 30, || {
        let (_, m) = http(srv.addr, "GET", "/metrics");
        m.lines()
            .filter(|l| l.starts_with("prometheus_sd_consul_rpc_failures_total"))
            .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
            .any(|v| v >= 1.0)
    });
    let (active, _) = targets(srv.addr);
    assert_eq!(active.len(), 1, "last good targets kept");
    let (_, m) = http(srv.addr, "GET", "/metrics");
    assert!(
        m.contains("prometheus_sd_consul_rpc_duration_seconds"),
        "the watch calls are timed"
    );
}
