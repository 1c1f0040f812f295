//! Kubernetes discovery at 5,000 pods, through `promterm serve` (the release binary) and the
//! fake API server of the integration tests: `cargo bench --bench k8s_sd`.
//!
//! 1. Baseline: the same config with no pods, for as long as the measured run: CPU-seconds
//!    and RSS of the process.
//! 2. A list of 5,000 pods: time until `prometheus_sd_discovered_targets` shows them and until
//!    `/api/v1/targets` has them all active; CPU-seconds and RSS.
//! 3. A watch stream of 3 × 5,000 MODIFIED events (a label changes each round): time until
//!    discovery counted them and until every target's discovered labels show the last round;
//!    CPU-seconds and RSS.
//! 4. Scrapes of a static target (promterm's own /metrics every second) stay regular through
//!    all of it: the gaps between its `up` samples.
//!
//! `PODS` and `ROUNDS` in the environment change the sizes.

#[path = "../tests/integration/k8s_fake.rs"]
mod k8s_fake;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_fake::{event, pod_port, FakeApi, Tail};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CPU-seconds (user + system) of a process.
fn cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // After the command: state is field 3; utime and stime are fields 14 and 15.
    (ticks(11) + ticks(12)) / 100.0
}

/// (VmRSS, VmHWM) in MiB.
fn rss(pid: u32) -> (f64, f64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET url` over a plain HTTP/1.0 connection: the body, or empty on any error.
fn get(_c: &(), url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Ok(mut s) = std::net::TcpStream::connect(host) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let req = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: text/plain\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// A metric's value on a /metrics page: the first line starting with `prefix`.
fn metric(page: &str, prefix: &str, must: &[&str]) -> Option<f64> {
    page.lines()
        .filter(|l| l.starts_with(prefix) && must.iter().all(|m| l.contains(m)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) -> f64 {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed().as_secs() < secs,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t0.elapsed().as_secs_f64()
}

fn serve(dir: &std::path::Path, api: &FakeApi, port: u16) -> Proc {
    let kubeconfig = api.kubeconfig(dir);
    let cfg = dir.join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n\
             - job_name: static\n  static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n\
             - job_name: pods\n  scrape_interval: 60s\n  kubernetes_sd_configs:\n  - role: pod\n    kubeconfig_file: {}\n  relabel_configs:\n  - {{source_labels: [__meta_kubernetes_pod_label_rev], target_label: rev}}\n",
            kubeconfig.display()
        ),
    )
    .unwrap();
    let data = dir.join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_promterm"))
        .args(["serve", "--headless", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--config")
        .arg(&cfg)
        .arg("--data")
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promterm");
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});
    let p = Proc(child);
    let c = ();
    wait_until("promterm ready", 30, || {
        get(&c, &format!("http://127.0.0.1:{port}/-/ready")).contains("Ready")
    });
    p
}

fn main() {
    let pods: usize = std::env::var("PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let c = ();
    let path = "/api/v1/pods";
    // Pods are at distinct loopback addresses with a closed port: their scrapes fail at once
    // (every 60 s).
    let closed = free_port();
    let make = |i: usize, rev: usize, rv: u64| {
        let mut p = pod_port(
            "bench",
            &format!("web-{i}"),
            &format!("127.1.{}.{}", i / 250, i % 250 + 1),
            rv,
            &format!("node-{}", i % 50),
            closed,
        );
        p["metadata"]["labels"]["rev"] = rev.to_string().into();
        // One target per pod: the app container only.
        p["spec"]["initContainers"] = serde_json::json!([]);
        let app = p["spec"]["containers"][0].clone();
        p["spec"]["containers"] = serde_json::json!([app]);
        p
    };

    // 1. Baseline: no pods.
    let t_run: f64 = std::env::var("BASELINE_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40.0);
    let base_dir = tempfile::tempdir().unwrap();
    let api0 = FakeApi::start();
    let port0 = free_port();
    let p0 = serve(base_dir.path(), &api0, port0);
    let pid0 = p0.0.id();
    let (c0, t0) = (cpu(pid0), Instant::now());
    std::thread::sleep(Duration::from_secs_f64(t_run));
    let base_cpu = cpu(pid0) - c0;
    let base_rss = rss(pid0);
    let base_s = t0.elapsed().as_secs_f64();
    drop(p0);
    drop(api0);

    // 2. The list.
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApi::start();
    api.set_list(path, 1000, (0..pods).map(|i| make(i, 0, 10)).collect());
    let (feed, rx) = tokio::sync::mpsc::unbounded_channel();
    api.push_watch(path, vec![], Tail::Feed(rx));
    let port = free_port();
    let start = Instant::now();
    let p = serve(dir.path(), &api, port);
    let pid = p.0.id();
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let targets_url = format!("http://127.0.0.1:{port}/api/v1/targets");
    wait_until("the list counted by discovery", 120, || {
        metric(
            &get(&c, &metrics_url),
            "prometheus_sd_kubernetes_events_total",
            &["role=\"pod\"", "event=\"add\""],
        ) == Some(pods as f64)
    });
    let t_discovered = start.elapsed().as_secs_f64();
    let active = |c: &()| {
        let v: serde_json::Value = serde_json::from_str(&get(c, &targets_url)).unwrap_or_default();
        v["data"]["activeTargets"]
            .as_array()
            .map(|a| a.iter().filter(|t| t["labels"]["job"] == "pods").count())
            .unwrap_or(0)
    };
    wait_until("active targets", 120, || active(&c) == pods);
    let t_active = start.elapsed().as_secs_f64();
    let list_cpu = cpu(pid);
    let list_rss = rss(pid);

    // 3. The MODIFIED stream.
    let c1 = cpu(pid);
    let t1 = Instant::now();
    let mut rv = 1000u64;
    for round in 1..=rounds {
        for i in 0..pods {
            rv += 1;
            feed.send(event("MODIFIED", &make(i, round, rv))).unwrap();
        }
    }
    let events = (pods * rounds) as f64;
    wait_until("update events counted", 300, || {
        metric(
            &get(&c, &metrics_url),
            "prometheus_sd_kubernetes_events_total",
            &["role=\"pod\"", "event=\"update\""],
        ) == Some(events)
    });
    let t_counted = t1.elapsed().as_secs_f64();
    let last = rounds.to_string();
    wait_until("targets relabeled from the last round", 300, || {
        let v: serde_json::Value = serde_json::from_str(&get(&c, &targets_url)).unwrap_or_default();
        v["data"]["activeTargets"].as_array().is_some_and(|a| {
            a.iter()
                .filter(|t| t["labels"]["rev"] == last.as_str())
                .count()
                == pods
        })
    });
    let t_applied = t1.elapsed().as_secs_f64();
    let upd_cpu = cpu(pid) - c1;
    let upd_rss = rss(pid);
    // Let a few more static scrapes land after the storm.
    std::thread::sleep(Duration::from_secs(3));
    let window = start.elapsed().as_secs() + 5;

    // 4. Scrapes of the static target.
    let q = format!(
        "http://127.0.0.1:{port}/api/v1/query?query=up%7Bjob%3D%22static%22%7D%5B{window}s%5D"
    );
    let v: serde_json::Value = serde_json::from_str(&get(&c, &q)).unwrap_or_default();
    let ts: Vec<f64> = v["data"]["result"][0]["values"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p[0].as_f64()).collect())
        .unwrap_or_default();
    let gaps: Vec<f64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
    let max_gap = gaps.iter().cloned().fold(0.0, f64::max);
    let late = gaps.iter().filter(|g| **g > 1.5).count();
    let total_cpu = cpu(pid);
    drop(feed);
    drop(p);

    println!(
        "kubernetes discovery, {pods} pods, {rounds} rounds of MODIFIED events, promterm serve"
    );
    println!(
        "baseline (no pods, {base_s:.0} s): cpu {base_cpu:.2} s, rss {:.1} MiB (peak {:.1})",
        base_rss.0, base_rss.1
    );
    println!("list: counted by discovery after {t_discovered:.2} s, all active after {t_active:.2} s; cpu since start {list_cpu:.2} s, rss {:.1} MiB (peak {:.1})", list_rss.0, list_rss.1);
    println!("watch: {events} MODIFIED events counted after {t_counted:.2} s ({:.0}/s), all targets relabeled from the last round after {t_applied:.2} s; cpu {upd_cpu:.2} s, rss {:.1} MiB (peak {:.1})", events / t_counted, upd_rss.0, upd_rss.1);
    println!(
        "process total cpu {total_cpu:.2} s over {:.0} s",
        start.elapsed().as_secs_f64()
    );
    println!(
        "static target (1 s interval): {} scrapes, max gap {max_gap:.3} s, {late} gaps over 1.5 s",
        ts.len()
    );
}
