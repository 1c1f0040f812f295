//! `docker_sd_configs`: the running containers of a Docker Engine (`GET /containers/json` with
//! the config's filters, and `GET /networks` for the networks' labels), polled every
//! `refresh_interval`. One target per container, network and TCP port (`__address__` =
//! network IP and private port); a container without TCP ports gets the config's `port`, or
//! `host_networking_host` in host mode; a container sharing another's network
//! (`container:<id>`) takes that one's networks; with `match_first_network`, only the first
//! network by name counts. Labels: `__meta_docker_container_{id,name,network_mode,label_*}`,
//! `__meta_docker_network_{id,name,scope,internal,ingress,ip,label_*}`,
//! `__meta_docker_port_{private,public,public_ip}`; all targets in one group `Docker`.
//! Follows Prometheus's discovery/moby `DockerDiscovery.refresh` and `getNetworksLabels` in our
//! own words. Uses `config`, the Engine client (`docker_api`), tokio.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::docker_api::Engine;
use super::labels::{add_prefixed, join_host_port};
use super::{refresh, LabelMap, Sink, TargetGroup};
use crate::config::{DockerFilter, DockerSdConfig};

/// A container as `/containers/json` lists it (the fields discovery reads).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Container {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Names")]
    pub names: Vec<String>,
    #[serde(rename = "Labels")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "Ports")]
    pub ports: Option<Vec<Port>>,
    #[serde(rename = "HostConfig")]
    pub host_config: HostConfig,
    #[serde(rename = "NetworkSettings")]
    pub network_settings: Option<NetworkSettings>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HostConfig {
    #[serde(rename = "NetworkMode")]
    pub network_mode: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NetworkSettings {
    /// By network name; Docker may send `null` for one.
    #[serde(rename = "Networks")]
    pub networks: Option<BTreeMap<String, Option<Endpoint>>>,
}

/// A container's endpoint on one network.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Endpoint {
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
}

/// A port of a container.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Port {
    #[serde(rename = "IP")]
    pub ip: String,
    #[serde(rename = "PrivatePort")]
    pub private_port: u16,
    #[serde(rename = "PublicPort")]
    pub public_port: u16,
    #[serde(rename = "Type")]
    pub kind: String,
}

/// A network as `/networks` lists it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Network {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Scope")]
    pub scope: String,
    #[serde(rename = "Internal")]
    pub internal: bool,
    #[serde(rename = "Ingress")]
    pub ingress: bool,
    #[serde(rename = "Labels")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// The query string of `/containers/json` for these filters: Docker's map form
/// `{"name":{"value":true}}`, percent-encoded; empty without filters.
pub fn filters_query(filters: &[DockerFilter]) -> String {
    let mut m: BTreeMap<&str, BTreeMap<&str, bool>> = BTreeMap::new();
    for f in filters {
        let e = m.entry(f.name.as_str()).or_default();
        for v in &f.values {
            e.insert(v.as_str(), true);
        }
    }
    // A filter name without values sends nothing, as Docker's filters.Args does.
    m.retain(|_, v| !v.is_empty());
    if m.is_empty() {
        return String::new();
    }
    let json = serde_json::to_string(&m).unwrap_or_default();
    let enc: String = url::form_urlencoded::byte_serialize(json.as_bytes()).collect();
    format!("?filters={enc}")
}

/// The labels of each network, by network ID.
pub fn network_labels(networks: &[Network]) -> HashMap<String, LabelMap> {
    networks
        .iter()
        .map(|n| {
            let mut l = LabelMap::new();
            l.insert("__meta_docker_network_id".into(), n.id.clone());
            l.insert("__meta_docker_network_name".into(), n.name.clone());
            l.insert("__meta_docker_network_scope".into(), n.scope.clone());
            l.insert(
                "__meta_docker_network_internal".into(),
                n.internal.to_string(),
            );
            l.insert(
                "__meta_docker_network_ingress".into(),
                n.ingress.to_string(),
            );
            add_prefixed(
                &mut l,
                "__meta_docker_network_label_",
                None,
                n.labels.iter().flatten(),
            );
            (n.id.clone(), l)
        })
        .collect()
}

/// Discovery's settings that shape targets.
#[derive(Debug, Clone)]
pub struct Shape {
    pub port: u16,
    pub host_networking_host: String,
    pub match_first_network: bool,
}

impl Shape {
    pub fn of(cfg: &DockerSdConfig) -> Shape {
        Shape {
            port: cfg.port,
            host_networking_host: cfg.host_networking_host.clone(),
            match_first_network: cfg.match_first_network,
        }
    }
}

/// A container's networks, following `container:<id>` network modes to the container whose
/// networks it shares.
fn networks_of<'a>(
    c: &'a Container,
    by_id: &HashMap<&str, &'a Container>,
) -> BTreeMap<String, Option<Endpoint>> {
    let own = |c: &Container| {
        c.network_settings
            .as_ref()
            .and_then(|s| s.networks.clone())
            .unwrap_or_default()
    };
    let mut networks = own(c);
    let mut mode = c.host_config.network_mode.as_str();
    // Bounded: a loop of containers sharing each other's network must not hang discovery.
    for _ in 0..by_id.len() {
        if !networks.is_empty() {
            break;
        }
        let Some(id) = mode.strip_prefix("container:") else {
            break;
        };
        let Some(other) = by_id.get(id) else {
            break;
        };
        networks = own(other);
        mode = other.host_config.network_mode.as_str();
    }
    networks
}

/// The target group of one refresh.
pub fn targets(containers: &[Container], networks: &[Network], shape: &Shape) -> TargetGroup {
    let net_labels = network_labels(networks);
    let by_id: HashMap<&str, &Container> = containers.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut out = Vec::new();
    for c in containers {
        let Some(name) = c.names.first() else {
            continue;
        };
        let mut common = LabelMap::new();
        common.insert("__meta_docker_container_id".into(), c.id.clone());
        common.insert("__meta_docker_container_name".into(), name.clone());
        common.insert(
            "__meta_docker_container_network_mode".into(),
            c.host_config.network_mode.clone(),
        );
        add_prefixed(
            &mut common,
            "__meta_docker_container_label_",
            None,
            c.labels.iter().flatten(),
        );
        let mut nets = networks_of(c, &by_id);
        if shape.match_first_network && nets.len() > 1 {
            // BTreeMap: the first present network by name.
            if let Some((k, v)) = nets.iter().find(|(_, v)| v.is_some()) {
                nets = BTreeMap::from([(k.clone(), v.clone())]);
            }
        }
        for n in nets.values().flatten() {
            let base = |labels: &mut LabelMap| {
                labels.insert("__meta_docker_network_ip".into(), n.ip_address.clone());
                labels.extend(common.iter().map(|(k, v)| (k.clone(), v.clone())));
                if let Some(nl) = net_labels.get(&n.network_id) {
                    labels.extend(nl.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            };
            let mut added = false;
            for p in c.ports.iter().flatten().filter(|p| p.kind == "tcp") {
                let mut l = LabelMap::new();
                l.insert(
                    "__meta_docker_port_private".into(),
                    p.private_port.to_string(),
                );
                if p.public_port > 0 {
                    l.insert(
                        "__meta_docker_port_public".into(),
                        p.public_port.to_string(),
                    );
                    l.insert("__meta_docker_port_public_ip".into(), p.ip.clone());
                }
                base(&mut l);
                l.insert(
                    "__address__".into(),
                    join_host_port(&n.ip_address, p.private_port),
                );
                out.push(l);
                added = true;
            }
            if !added {
                let mut l = LabelMap::new();
                base(&mut l);
                let addr = if c.host_config.network_mode == "host" {
                    shape.host_networking_host.clone()
                } else {
                    join_host_port(&n.ip_address, shape.port)
                };
                l.insert("__address__".into(), addr);
                out.push(l);
            }
        }
    }
    TargetGroup {
        source: "Docker".into(),
        targets: out,
        labels: LabelMap::new(),
    }
}

/// One refresh against the Engine.
pub async fn refresh_once(
    engine: &Engine,
    query: &str,
    shape: &Shape,
) -> Result<Vec<TargetGroup>, String> {
    let containers: Vec<Container> = engine
        .get(&format!("/containers/json{query}"))
        .await
        .map_err(|e| format!("error while listing containers: {e}"))?;
    let networks: Vec<Network> = engine
        .get("/networks")
        .await
        .map_err(|e| format!("error while computing network labels: {e}"))?;
    Ok(vec![targets(&containers, &networks, shape)])
}

/// Polls one `docker_sd_configs` entry until `stop`.
pub async fn run(cfg: DockerSdConfig, sink: Sink, stop: CancellationToken) {
    let engine = match Engine::new(&cfg) {
        Ok(e) => e,
        Err(e) => {
            sink.fail(format!("docker_sd: {e}"));
            return;
        }
    };
    let query = filters_query(&cfg.filters);
    let shape = Shape::of(&cfg);
    let engine = std::sync::Arc::new(engine);
    refresh::run("docker", cfg.refresh_interval.as_std(), sink, stop, || {
        let (engine, query, shape) = (engine.clone(), query.clone(), shape.clone());
        async move { refresh_once(&engine, &query, &shape).await }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::extract::RawQuery;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    use super::*;

    const CONTAINERS: &str = include_str!("../../../testdata/sd/docker/containers.json");
    const NETWORKS: &str = include_str!("../../../testdata/sd/docker/networks.json");

    fn fixtures() -> (Vec<Container>, Vec<Network>) {
        (
            serde_json::from_str(CONTAINERS).unwrap(),
            serde_json::from_str(NETWORKS).unwrap(),
        )
    }

    fn shape(first: bool) -> Shape {
        Shape {
            port: 80,
            host_networking_host: "localhost".into(),
            match_first_network: first,
        }
    }

    fn by_address(g: &TargetGroup) -> BTreeMap<String, Vec<LabelMap>> {
        let mut m: BTreeMap<String, Vec<LabelMap>> = BTreeMap::new();
        for t in &g.targets {
            m.entry(t["__address__"].clone())
                .or_default()
                .push(t.clone());
        }
        m
    }

    #[test]
    fn filters_in_dockers_map_form() {
        assert_eq!(filters_query(&[]), "");
        let f = vec![
            DockerFilter {
                name: "label".into(),
                values: vec!["env=prod".into(), "team".into()],
            },
            DockerFilter {
                name: "status".into(),
                values: vec!["running".into()],
            },
        ];
        let q = filters_query(&f);
        let enc = q.strip_prefix("?filters=").unwrap();
        let json: String = url::form_urlencoded::parse(format!("f={enc}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"label": {"env=prod": true, "team": true}, "status": {"running": true}})
        );
    }

    #[test]
    fn targets_per_port_and_network_as_prometheus_makes_them() {
        let (cs, ns) = fixtures();
        let g = targets(&cs, &ns, &shape(true));
        assert_eq!(g.source, "Docker");
        let m = by_address(&g);
        let addrs: Vec<&str> = m.keys().map(String::as_str).collect();
        // web-1: two TCP ports on its first network (bridge; the UDP port makes none); its
        // sidecar shares web-1's network and publishes nothing (port 80); the worker has no
        // ports; the host-mode container is at host_networking_host.
        assert_eq!(
            addrs,
            [
                "10.10.0.3:80",
                "172.17.0.2:80",
                "172.17.0.2:8080",
                "172.17.0.2:9100",
                "localhost"
            ]
        );
        let web = &m["172.17.0.2:8080"][0];
        assert_eq!(web["__meta_docker_container_name"], "/web-1");
        assert_eq!(web["__meta_docker_container_network_mode"], "bridge");
        assert_eq!(web["__meta_docker_container_label_com_example_app"], "web");
        assert_eq!(
            web["__meta_docker_container_label_com_example_vendor_tier"],
            "front"
        );
        assert_eq!(web["__meta_docker_port_private"], "8080");
        assert_eq!(web["__meta_docker_port_public"], "18080");
        assert_eq!(web["__meta_docker_port_public_ip"], "0.0.0.0");
        assert_eq!(web["__meta_docker_network_name"], "bridge");
        assert_eq!(web["__meta_docker_network_ip"], "172.17.0.2");
        assert_eq!(web["__meta_docker_network_scope"], "local");
        assert_eq!(web["__meta_docker_network_ingress"], "false");
        let unpublished = &m["172.17.0.2:9100"][0];
        assert!(!unpublished.contains_key("__meta_docker_port_public"));
        assert!(!unpublished.contains_key("__meta_docker_port_public_ip"));
        let worker = &m["10.10.0.3:80"][0];
        assert!(!worker.contains_key("__meta_docker_port_private"));
        assert_eq!(worker["__meta_docker_network_internal"], "true");
        assert_eq!(
            worker["__meta_docker_network_label_com_example_team"],
            "infra"
        );
        assert_eq!(worker["__meta_docker_network_label_owner_name"], "ops");
        let host = &m["localhost"][0];
        assert_eq!(host["__meta_docker_container_network_mode"], "host");
        assert_eq!(host["__meta_docker_network_ip"], "");
        assert_eq!(host["__meta_docker_network_name"], "host");
        let side = &m["172.17.0.2:80"][0];
        assert_eq!(side["__meta_docker_container_name"], "/web-1-sidecar");
        assert!(side["__meta_docker_container_network_mode"].starts_with("container:"));
        assert_eq!(side["__meta_docker_container_label_sidecar_of"], "web-1");
        // Every target has the container and network labels.
        for t in &g.targets {
            for k in ["__meta_docker_container_id", "__meta_docker_network_id"] {
                assert!(t.contains_key(k), "{k} missing in {t:?}");
            }
        }
    }

    #[test]
    fn every_network_without_match_first_network() {
        let (cs, ns) = fixtures();
        let mut sh = shape(false);
        sh.port = 9000;
        sh.host_networking_host = "dockerhost.example".into();
        let m = by_address(&targets(&cs, &ns, &sh));
        let addrs: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(
            addrs,
            [
                "10.10.0.2:8080",
                "10.10.0.2:9000",
                "10.10.0.2:9100",
                "10.10.0.3:9000",
                "172.17.0.2:8080",
                "172.17.0.2:9000",
                "172.17.0.2:9100",
                "dockerhost.example"
            ]
        );
        assert_eq!(
            m["10.10.0.2:8080"][0]["__meta_docker_network_name"],
            "my-net"
        );
    }

    #[test]
    fn nameless_and_null_entries() {
        let cs: Vec<Container> = serde_json::from_str(
            r#"[{"Id": "a", "Names": [], "HostConfig": {"NetworkMode": "bridge"}},
                {"Id": "b", "Names": ["/b"], "Labels": null, "Ports": null,
                 "HostConfig": {"NetworkMode": "x"},
                 "NetworkSettings": {"Networks": {"x": null, "y": {"NetworkID": "n1", "IPAddress": "fd00::5"}}}},
                {"Id": "c", "Names": ["/c"], "HostConfig": {"NetworkMode": "container:d"}, "NetworkSettings": {"Networks": {}}},
                {"Id": "d", "Names": ["/d"], "HostConfig": {"NetworkMode": "container:c"}, "NetworkSettings": {"Networks": {}}}]"#,
        )
        .unwrap();
        let g = targets(&cs, &[], &shape(true));
        let addrs: Vec<&str> = g
            .targets
            .iter()
            .map(|t| t["__address__"].as_str())
            .collect();
        assert_eq!(
            addrs,
            ["[fd00::5]:80"],
            "no name: skipped; c and d share nothing"
        );
    }

    fn config(host: &str) -> DockerSdConfig {
        serde_yaml::from_str(&format!(
            "host: {host}\nrefresh_interval: 5s\nfilters: [{{name: label, values: [env=prod]}}]\nbearer_token: t0ken\n"
        ))
        .unwrap()
    }

    /// A fake Engine API: the fixtures, or failures once `mode` says so; records queries and
    /// Authorization headers.
    fn engine_app(
        mode: Arc<parking_lot::Mutex<&'static str>>,
        seen: Arc<parking_lot::Mutex<Vec<String>>>,
    ) -> axum::Router {
        let (m2, s2) = (mode.clone(), seen.clone());
        axum::Router::new()
            .route(
                "/containers/json",
                axum::routing::get(move |q: RawQuery, h: axum::http::HeaderMap| {
                    let auth = h
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    s2.lock()
                        .push(format!("{} {auth}", q.0.unwrap_or_default()));
                    let mode = *m2.lock();
                    async move {
                        let json = [("content-type", "application/json")];
                        match mode {
                            "500" => (
                                StatusCode::INTERNAL_SERVER_ERROR,
                                json,
                                r#"{"message":"daemon is on fire"}"#,
                            )
                                .into_response(),
                            "bad" => (json, "[{\"Id\": ").into_response(),
                            _ => (json, CONTAINERS).into_response(),
                        }
                    }
                }),
            )
            .route(
                "/networks",
                axum::routing::get(|| async { ([("content-type", "application/json")], NETWORKS) }),
            )
    }

    #[tokio::test]
    async fn unix_socket_engine_and_its_failures() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        let mode = Arc::new(parking_lot::Mutex::new("ok"));
        let seen: Arc<parking_lot::Mutex<Vec<String>>> = Arc::default();
        let l = tokio::net::UnixListener::bind(&sock).unwrap();
        let app = engine_app(mode.clone(), seen.clone());
        tokio::spawn(async move { axum::serve(l, app).await });

        let cfg = config(&format!("unix://{}", sock.display()));
        let engine = Engine::new(&cfg).unwrap();
        let query = filters_query(&cfg.filters);
        let sh = Shape::of(&cfg);
        let sink = Sink::new();
        refresh::once("docker", &sink, refresh_once(&engine, &query, &sh)).await;
        assert_eq!(sink.error(), None);
        let good = sink.groups();
        assert_eq!(good[0].targets.len(), 5);
        let q = seen.lock()[0].clone();
        assert!(q.starts_with("filters=") && q.contains("env%3Dprod"), "{q}");
        assert!(q.ends_with(' '), "no credentials over the socket: {q}");

        *mode.lock() = "500";
        refresh::once("docker", &sink, refresh_once(&engine, &query, &sh)).await;
        let e = sink.error().unwrap();
        assert!(
            e.contains("error while listing containers")
                && e.contains("HTTP 500")
                && e.contains("daemon is on fire"),
            "{e}"
        );
        assert_eq!(sink.groups(), good);
        *mode.lock() = "bad";
        refresh::once("docker", &sink, refresh_once(&engine, &query, &sh)).await;
        let e = sink.error().unwrap();
        assert!(e.contains("malformed answer"), "{e}");
        assert_eq!(sink.groups(), good);
    }

    #[tokio::test]
    async fn tcp_engine_gets_the_http_client_config() {
        let mode = Arc::new(parking_lot::Mutex::new("ok"));
        let seen: Arc<parking_lot::Mutex<Vec<String>>> = Arc::default();
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let app = engine_app(mode, seen.clone());
        tokio::spawn(async move { axum::serve(l, app).await });
        for host in [format!("tcp://{addr}"), format!("http://{addr}/")] {
            let cfg = config(&host);
            let engine = Engine::new(&cfg).unwrap();
            let groups = refresh_once(&engine, &filters_query(&cfg.filters), &Shape::of(&cfg))
                .await
                .unwrap();
            assert_eq!(groups[0].targets.len(), 5, "{host}");
        }
        for s in seen.lock().iter() {
            assert!(s.ends_with(" Bearer t0ken"), "{s}");
        }
    }

    #[tokio::test]
    async fn missing_socket_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("nope.sock");
        let cfg = config(&format!("unix://{}", sock.display()));
        let engine = Engine::new(&cfg).unwrap();
        let e = refresh_once(&engine, "", &Shape::of(&cfg))
            .await
            .unwrap_err();
        assert!(
            e.contains(&sock.display().to_string())
                && e.contains("cannot connect to the Docker daemon"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn run_reports_to_the_sink_until_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("d.sock");
        let l = tokio::net::UnixListener::bind(&sock).unwrap();
        let app = engine_app(Arc::new(parking_lot::Mutex::new("ok")), Arc::default());
        tokio::spawn(async move { axum::serve(l, app).await });
        let sink = Sink::new();
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(
            config(&format!("unix://{}", sock.display())),
            sink.clone(),
            stop.clone(),
        ));
        let t0 = std::time::Instant::now();
        while sink.groups().is_empty() {
            assert!(
                t0.elapsed().as_secs() < 10,
                "no targets; error {:?}",
                sink.error()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        stop.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
