//! HTTP and Docker service discovery end to end: `promterm serve` discovering itself through a
//! fake HTTP SD server and scraping it; a fake Docker Engine API on a unix socket (payloads
//! from testdata/sd/docker, shaped like the Engine API's documented answers); Debian's
//! Prometheus 2.42 pointed at the same fakes must find the same `discoveredLabels` (relabeling
//! off) and the same target labels after the same relabel rules; and a real Docker daemon
//! (Debian's docker.io on a private socket, an image made by `docker import` from a static
//! busybox) whose containers promterm (and Prometheus) must find with their labels. Tests that
//! need an absent program or root print why and skip.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::common::{data, free_addr, spawn, wait_for, wait_ok, Peer, Server};

/// Runs an axum app on its own thread and runtime, on a TCP listener or a unix socket.
pub(crate) fn serve_in_background(
    app: axum::Router,
    tcp: Option<std::net::TcpListener>,
    unix: Option<PathBuf>,
) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the fake server");
        rt.block_on(async move {
            if let Some(l) = tcp {
                l.set_nonblocking(true).expect("nonblocking listener");
                let l = tokio::net::TcpListener::from_std(l).expect("tokio listener");
                let _ = axum::serve(l, app).await;
            } else if let Some(p) = unix {
                let l = tokio::net::UnixListener::bind(&p).expect("bind the fake Docker socket");
                let _ = axum::serve(l, app).await;
            }
        });
    });
}

/// A fake HTTP SD endpoint at `/sd` answering `body` as JSON; returns its URL.
fn fake_http_sd(body: String) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let body = Arc::new(body);
    let app = axum::Router::new().route(
        "/sd",
        axum::routing::get(move || {
            let b = body.clone();
            async move { ([("content-type", "application/json")], (*b).clone()) }
        }),
    );
    serve_in_background(app, Some(l), None);
    format!("http://{addr}/sd")
}

/// A fake Docker Engine API on the unix socket `sock`: `/_ping` (with the API version
/// header, as the Go client negotiates), `/containers/json` and `/networks` from testdata,
/// with or without a `/vX.Y` prefix.
fn fake_docker(sock: &Path) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sd/docker");
    let containers = std::fs::read_to_string(dir.join("containers.json")).unwrap();
    let networks = std::fs::read_to_string(dir.join("networks.json")).unwrap();
    let app = axum::Router::new().fallback(move |req: Request| {
        let (c, n) = (containers.clone(), networks.clone());
        async move {
            let path = req.uri().path();
            let path = match path.strip_prefix("/v") {
                Some(rest) if rest.starts_with(|ch: char| ch.is_ascii_digit()) => {
                    rest.find('/').map_or("/", |i| &rest[i..])
                }
                _ => path,
            };
            let json = |b: String| -> Response {
                (
                    [
                        ("content-type", "application/json"),
                        ("api-version", "1.41"),
                    ],
                    b,
                )
                    .into_response()
            };
            match path {
                "/_ping" => ([("api-version", "1.41")], "OK").into_response(),
                "/containers/json" => json(c),
                "/networks" => json(n),
                other => (
                    StatusCode::NOT_FOUND,
                    format!("{{\"message\":\"page not found: {other}\"}}"),
                )
                    .into_response(),
            }
        }
    });
    serve_in_background(app, None, Some(sock.to_path_buf()));
    wait_for("the fake Docker socket", 10, || sock.exists());
}

/// promterm serving `cfg` on a free address.
fn promterm(dir: &Path, cfg: &str) -> Server {
    let file = dir.join("promterm.yml");
    std::fs::write(&file, cfg).unwrap();
    Server::start(&[
        "--headless",
        "--config",
        file.to_str().unwrap(),
        "--data",
        dir.join("ours").to_str().unwrap(),
    ])
}

/// Whether Debian's Prometheus is here (prints why not).
fn have_prometheus() -> bool {
    let ok = Command::new("prometheus")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("skipped: Debian's prometheus is not installed (apt-get install prometheus)");
    }
    ok
}

fn prometheus(dir: &Path, cfg: &str) -> (Peer, SocketAddr) {
    let addr = free_addr();
    let file = dir.join("prometheus.yml");
    std::fs::write(&file, cfg).unwrap();
    let p = spawn(
        "prometheus",
        &[
            format!("--config.file={}", file.display()),
            format!("--storage.tsdb.path={}", dir.join("prom").display()),
            format!("--web.listen-address={addr}"),
        ],
    );
    wait_ok(addr, "/-/ready");
    (p, addr)
}

type Labels = BTreeMap<String, String>;

fn labels(v: &Value) -> Labels {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Per pool: the active targets' (discovered labels, labels) and the dropped targets'
/// discovered labels.
#[derive(Debug, Default, PartialEq)]
struct Pool {
    active: BTreeSet<(Labels, Labels)>,
    dropped: BTreeSet<Labels>,
}

fn pools(addr: SocketAddr) -> BTreeMap<String, Pool> {
    let d = data(addr, "/api/v1/targets?state=any");
    let mut out: BTreeMap<String, Pool> = BTreeMap::new();
    for t in d["activeTargets"].as_array().into_iter().flatten() {
        let pool = t["scrapePool"].as_str().unwrap_or_default().to_string();
        out.entry(pool)
            .or_default()
            .active
            .insert((labels(&t["discoveredLabels"]), labels(&t["labels"])));
    }
    for t in d["droppedTargets"].as_array().into_iter().flatten() {
        let dl = labels(&t["discoveredLabels"]);
        let pool = dl.get("job").cloned().unwrap_or_default();
        out.entry(pool).or_default().dropped.insert(dl);
    }
    out
}

/// Waits until every pool in `want` has at least `n` targets, active or dropped.
fn wait_for_pools(addr: SocketAddr, want: &[(&str, usize)]) -> BTreeMap<String, Pool> {
    let t0 = Instant::now();
    loop {
        let last = pools(addr);
        if want.iter().all(|(p, n)| {
            last.get(*p)
                .is_some_and(|x| x.active.len() + x.dropped.len() >= *n)
        }) {
            return last;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{addr}: pools never reached {want:?}: {:#?}",
            last.iter()
                .map(|(k, p)| (
                    k,
                    p.active
                        .iter()
                        .map(|(d, _)| d["__address__"].clone())
                        .collect::<Vec<_>>(),
                    p.dropped.len()
                ))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn http_sd_target_is_discovered_and_scraped() {
    let dir = tempfile::tempdir().unwrap();
    let ours = free_addr();
    let url = fake_http_sd(format!(
        r#"[{{"targets": ["{ours}"], "labels": {{"team": "sre", "env": "test"}}}}, {{"targets": []}}]"#
    ));
    let cfg = dir.path().join("promterm.yml");
    std::fs::write(
        &cfg,
        format!(
            "global: {{scrape_interval: 1s, scrape_timeout: 1s}}\nscrape_configs:\n  - job_name: self\n    http_sd_configs:\n      - url: {url}\n        refresh_interval: 1s\n"
        ),
    )
    .unwrap();
    let listen = ours.to_string();
    let srv = Server::start_exact(&[
        "--listen",
        &listen,
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().join("data").to_str().unwrap(),
    ]);
    let p = wait_for_pools(srv.addr, &[("self", 1)]);
    let (disc, lab) = p["self"].active.iter().next().unwrap().clone();
    assert_eq!(disc["__meta_url"], url);
    assert_eq!(disc["__address__"], ours.to_string());
    assert_eq!(disc["team"], "sre");
    assert_eq!(lab["team"], "sre");
    assert_eq!(lab["instance"], ours.to_string());
    assert!(!lab.contains_key("__meta_url"));
    wait_for("up{job=\"self\"} == 1", 30, || {
        let r = data(
            srv.addr,
            "/api/v1/query?query=up{job=\"self\",team=\"sre\"}",
        );
        r["result"][0]["value"][1] == "1"
    });
    // The discovery metrics are on /metrics.
    let (_, metrics) = crate::common::http(srv.addr, "GET", "/metrics");
    let sd: Vec<&str> = metrics.lines().filter(|l| l.contains("_sd_")).collect();
    assert!(
        sd.iter()
            .any(|l| l.starts_with("prometheus_sd_http_failures_total")
                && l.split_whitespace()
                    .last()
                    .and_then(|v| v.parse::<f64>().ok())
                    == Some(0.0)),
        "no http failures counter: {sd:#?}"
    );
    assert!(metrics.contains("prometheus_sd_refresh_duration_seconds_count{mechanism=\"http\"}"));
}

/// The scrape configs both servers get: each source plainly, then with relabel rules.
fn cross_config(sock: &Path, url: &str, ours: bool) -> String {
    // Debian's Prometheus 2.42 predates `match_first_network` (it always takes every network);
    // promterm is told the same with `match_first_network: false`. 2.42 also still adds a
    // default port to a port-less address (Prometheus 3 and promterm do not), so the host
    // networking address has one.
    let every_network = if ours {
        "\n        match_first_network: false"
    } else {
        ""
    };
    format!(
        r#"global: {{scrape_interval: 1h, scrape_timeout: 1s}}
scrape_configs:
  - job_name: docker
    docker_sd_configs:
      - host: unix://{sock}
        refresh_interval: 1s
        port: 9000
        host_networking_host: dockerhost:9999{every_network}
  - job_name: http
    http_sd_configs:
      - url: {url}
        refresh_interval: 1s
  - job_name: docker-relabeled
    docker_sd_configs:
      - host: unix://{sock}
        refresh_interval: 1s{every_network}
    relabel_configs:
      - {{source_labels: [__meta_docker_container_network_mode], regex: host, action: drop}}
      - {{source_labels: [__meta_docker_container_name], regex: '/(.*)', target_label: container}}
      - {{regex: '__meta_docker_(network_name|port_private|container_label_com_example_app)', action: labelmap, replacement: 'docker_$1'}}
  - job_name: http-relabeled
    http_sd_configs:
      - url: {url}
        refresh_interval: 1s
    relabel_configs:
      - {{source_labels: [__meta_url], target_label: sd_url}}
      - {{source_labels: [env], regex: dev, action: drop}}
"#,
        sock = sock.display()
    )
}

#[test]
fn fake_docker_and_http_sd_match_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("docker.sock");
    fake_docker(&sock);
    let url = fake_http_sd(
        r#"[{"targets": ["127.0.0.1:9", "10.1.2.3:9100"], "labels": {"env": "prod", "team": "a"}},
            {"targets": ["[::1]:9100"], "labels": {"env": "dev"}}, {"targets": []}]"#
            .to_string(),
    );
    let ours_dir = dir.path().join("ours");
    std::fs::create_dir_all(&ours_dir).unwrap();
    let srv = promterm(&ours_dir, &cross_config(&sock, &url, true));
    // web-1: 2 TCP ports x 2 networks; the sidecar shares those 2 networks; the worker; host.
    let want = [
        ("docker", 8),
        ("http", 3),
        ("docker-relabeled", 8),
        ("http-relabeled", 3),
    ];
    let ours = wait_for_pools(srv.addr, &want);
    let docker = &ours["docker"].active;
    assert!(docker
        .iter()
        .any(|(d, _)| d["__address__"] == "dockerhost:9999"
            && d["__meta_docker_container_label_role"] == "host-metrics"));
    assert!(docker
        .iter()
        .any(|(d, _)| d["__address__"] == "10.10.0.3:9000"
            && d["__meta_docker_network_label_owner_name"] == "ops"));
    assert_eq!(
        ours["docker-relabeled"].dropped.len(),
        1,
        "the host-mode container"
    );
    assert_eq!(ours["http-relabeled"].dropped.len(), 1, "the dev group");
    if !have_prometheus() {
        return;
    }
    let prom_dir = dir.path().join("prom");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let (_prom, paddr) = prometheus(&prom_dir, &cross_config(&sock, &url, false));
    // Prometheus 2.42 predates following `container:<id>` network modes (upstream does it
    // now, and so does promterm): the sidecar's two targets are left out of the comparison.
    let theirs = wait_for_pools(
        paddr,
        &[
            ("docker", 6),
            ("http", 3),
            ("docker-relabeled", 6),
            ("http-relabeled", 3),
        ],
    );
    let mut ours = ours;
    for pool in ["docker", "docker-relabeled"] {
        let p = ours.get_mut(pool).unwrap();
        p.active
            .retain(|(d, _)| d["__meta_docker_container_name"] != "/web-1-sidecar");
        assert_eq!(p.active.len(), theirs[pool].active.len(), "pool {pool}");
    }
    // Relabeling off: the same discovered labels (and labels).
    for pool in ["docker", "http"] {
        assert_eq!(ours[pool], theirs[pool], "pool {pool}");
    }
    // With relabel rules: the same target labels (2.42's discoveredLabels are corrupted once
    // a rule changes a label, so only the labels are compared), the same drops.
    for pool in ["docker-relabeled", "http-relabeled"] {
        let l = |p: &Pool| {
            p.active
                .iter()
                .map(|(_, l)| l.clone())
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(l(&ours[pool]), l(&theirs[pool]), "pool {pool}");
        assert_eq!(
            ours[pool].dropped.len(),
            theirs[pool].dropped.len(),
            "pool {pool}"
        );
    }
}

/// A private Docker daemon (Debian's docker.io): no bridge, no iptables, vfs storage, its own
/// socket and directories under `dir`; stopped (with its containers) on drop.
struct Dockerd {
    child: std::process::Child,
    sock: PathBuf,
    dir: PathBuf,
}

impl Dockerd {
    /// Starts dockerd, or says why it cannot run here.
    fn start(dir: &Path) -> Result<Dockerd, String> {
        if Command::new("dockerd").arg("--version").output().is_err() {
            return Err("dockerd is not installed (apt-get install docker.io)".into());
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("dockerd needs root".into());
        }
        let sock = dir.join("docker.sock");
        let log = std::fs::File::create(dir.join("dockerd.log")).map_err(|e| e.to_string())?;
        let child = Command::new("dockerd")
            .arg("--bridge=none")
            .arg("--iptables=false")
            .arg("--ip6tables=false")
            .arg("--storage-driver=vfs")
            .arg(format!("--host=unix://{}", sock.display()))
            .arg(format!("--data-root={}", dir.join("root").display()))
            .arg(format!("--exec-root={}", dir.join("exec").display()))
            .arg(format!("--pidfile={}", dir.join("dockerd.pid").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("dockerd does not start: {e}"))?;
        let mut d = Dockerd {
            child,
            sock,
            dir: dir.to_path_buf(),
        };
        let t0 = Instant::now();
        while d.docker(&["version"]).is_err() {
            if let Ok(Some(st)) = d.child.try_wait() {
                let log = std::fs::read_to_string(dir.join("dockerd.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Err(format!("dockerd exited ({st}): {}", tail.join(" | ")));
            }
            if t0.elapsed() > Duration::from_secs(30) {
                return Err("dockerd did not answer within 30s".into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(d)
    }

    /// Runs Debian's docker CLI against this daemon; stdout, or stderr as the error.
    fn docker(&self, args: &[&str]) -> Result<String, String> {
        let cli = if Path::new("/usr/bin/docker").exists() {
            "/usr/bin/docker"
        } else {
            "docker"
        };
        let out = Command::new(cli)
            .arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(args)
            .output()
            .map_err(|e| format!("docker {args:?}: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(format!(
                "docker {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if let Ok(ids) = self.docker(&["ps", "-aq"]) {
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids);
                let _ = self.docker(&args);
            }
        }
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // dockerd leaves mounts under its exec root (the `netns/default` namespace file), which
        // would keep the temporary directory from being removed: detach them.
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let prefix = format!("{}/", self.dir.display());
        for m in mounts.lines().filter_map(|l| l.split_whitespace().nth(1)) {
            if m.starts_with(&prefix) {
                let _ = Command::new("umount").arg("-l").arg(m).status();
            }
        }
    }
}

/// Whether a 64-bit little-endian ELF file asks for a dynamic loader (a PT_INTERP program
/// header); a static binary does not.
fn has_interpreter(elf: &[u8]) -> bool {
    let u16_at = |o: usize| {
        elf.get(o..o + 2)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let Some(phoff) = elf
        .get(0x20..0x28)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
    else {
        return true;
    };
    let (size, n) = (u16_at(0x36), u16_at(0x38));
    (0..n).any(|i| {
        let o = phoff + i * size;
        elf.get(o..o + 4) == Some(&3u32.to_le_bytes()[..])
    })
}

/// A one-file image (a static busybox as /bin/busybox, /bin/sleep) made with `docker import`.
fn busybox_image(d: &Dockerd, dir: &Path) -> Result<(), String> {
    let bb = Path::new("/bin/busybox");
    let elf = std::fs::read(bb)
        .map_err(|e| format!("{}: {e} (apt-get install busybox-static)", bb.display()))?;
    if has_interpreter(&elf) {
        return Err("/bin/busybox is not static (apt-get install busybox-static)".into());
    }
    let root = dir.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).map_err(|e| e.to_string())?;
    std::fs::copy(bb, root.join("bin/busybox")).map_err(|e| e.to_string())?;
    std::os::unix::fs::symlink("busybox", root.join("bin/sleep")).map_err(|e| e.to_string())?;
    let tar = dir.join("rootfs.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .map_err(|e| format!("tar: {e}"))?;
    if !st.success() {
        return Err(format!("tar failed: {st}"));
    }
    d.docker(&[
        "import",
        tar.to_str().unwrap_or_default(),
        "promterm-sd-test:1",
    ])?;
    Ok(())
}

#[test]
fn real_docker_containers_are_discovered() {
    // Short paths: a unix socket path must fit in 108 bytes.
    let dir = tempfile::Builder::new()
        .prefix("sdd")
        .tempdir_in("/tmp")
        .unwrap();
    let d = match Dockerd::start(dir.path()) {
        Ok(d) => d,
        Err(why) => {
            println!("skipped: a real Docker daemon: {why}");
            return;
        }
    };
    if let Err(why) = busybox_image(&d, dir.path()) {
        println!("skipped: no image for the real Docker daemon: {why}");
        return;
    }
    let none_id = d
        .docker(&[
            "run",
            "-d",
            "--name",
            "app-1",
            "--network",
            "none",
            "--label",
            "com.example.app=web",
            "--label",
            "my-label=x",
            "--label",
            "team=sre",
            "promterm-sd-test:1",
            "/bin/sleep",
            "600",
        ])
        .unwrap();
    let host_id = d
        .docker(&[
            "run",
            "-d",
            "--name",
            "hostnet",
            "--network",
            "host",
            "--label",
            "role=hostnet",
            "promterm-sd-test:1",
            "/bin/sleep",
            "600",
        ])
        .unwrap();
    // Every target is dropped by relabeling: the discovered labels are compared as they
    // are (a container on the `none` network has no IP, so its address `:80` is no URL to
    // scrape), and a keep/drop rule changes no label (2.42's shown labels stay right). The
    // `filtered` job asks the Engine for the containers labelled team=sre only.
    let sock = d.sock.display().to_string();
    let cfg = format!(
        r#"global: {{scrape_interval: 1h, scrape_timeout: 1s}}
scrape_configs:
  - job_name: docker
    docker_sd_configs:
      - host: unix://{sock}
        refresh_interval: 1s
    relabel_configs: [{{source_labels: [__meta_docker_container_id], regex: '.+', action: drop}}]
  - job_name: filtered
    docker_sd_configs:
      - host: unix://{sock}
        refresh_interval: 1s
        filters: [{{name: label, values: [team=sre]}}]
    relabel_configs: [{{source_labels: [__meta_docker_container_id], regex: '.+', action: drop}}]
"#
    );
    let ours_dir = dir.path().join("ours");
    std::fs::create_dir_all(&ours_dir).unwrap();
    let srv = promterm(&ours_dir, &cfg);
    let ours = wait_for_pools(srv.addr, &[("docker", 2), ("filtered", 1)]);
    let find = |pool: &str, id: &str| -> Labels {
        ours[pool]
            .dropped
            .iter()
            .find(|d| d.get("__meta_docker_container_id").is_some_and(|x| x == id))
            .cloned()
            .unwrap_or_else(|| panic!("container {id} not in {pool}: {:#?}", ours[pool]))
    };
    let app = find("docker", &none_id);
    assert_eq!(app["__meta_docker_container_name"], "/app-1");
    assert_eq!(app["__meta_docker_container_network_mode"], "none");
    assert_eq!(app["__meta_docker_container_label_com_example_app"], "web");
    assert_eq!(app["__meta_docker_container_label_my_label"], "x");
    assert_eq!(app["__meta_docker_network_name"], "none");
    assert!(
        !app.contains_key("__meta_docker_network_ip"),
        "an empty value is no label"
    );
    assert_eq!(app["__address__"], ":80");
    let host = find("docker", &host_id);
    assert_eq!(host["__address__"], "localhost");
    assert_eq!(host["__meta_docker_network_name"], "host");
    assert_eq!(host["__meta_docker_container_label_role"], "hostnet");
    assert_eq!(ours["filtered"].dropped.len(), 1, "{:#?}", ours["filtered"]);
    find("filtered", &none_id);
    if !have_prometheus() {
        return;
    }
    let prom_dir = dir.path().join("prom");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let (_prom, paddr) = prometheus(&prom_dir, &cfg);
    let theirs = wait_for_pools(paddr, &[("docker", 2), ("filtered", 1)]);
    assert_eq!(ours["docker"], theirs["docker"]);
    assert_eq!(ours["filtered"], theirs["filtered"]);
}
