//! `dns_sd_configs` against a real DNS server: dnsmasq answers on 127.0.0.77 port 53 inside a
//! private mount and network namespace (`unshare -m -n`) whose `/etc/resolv.conf` is
//! bind-mounted over with one naming that server (Prometheus's DNS discovery always asks port
//! 53 of the servers there). `promterm serve` runs in the namespace with SRV, A (through the
//! search list and a CNAME), AAAA, MX and NS configs and a SRV answer too big for UDP; then
//! dnsmasq stops and the targets must stay. Debian's Prometheus 2.42, run the same way with
//! the same configs (but NS, which 2.42 does not know), must discover the same labels.
//! Skips, saying why, when not root or when unshare, ip, curl or dnsmasq are missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The binary under test; `PROMTERM_BIN` overrides it (a target dir shared between
/// checkouts may hold another checkout's build).
fn bin() -> String {
    std::env::var("PROMTERM_BIN").unwrap_or_else(|_| crate::common::bin().to_string())
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Why the namespace test cannot run here, if it cannot.
fn skip_reason(extra: &[&str]) -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root for unshare -m -n and port 53".into());
    }
    for cmd in ["unshare", "ip", "curl", "dnsmasq", "mount"]
        .iter()
        .chain(extra)
    {
        if !have(cmd) {
            return Some(format!("{cmd} is not installed"));
        }
    }
    let probe = Command::new("unshare")
        .args(["-m", "-n", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !probe {
        return Some("unshare -m -n is not permitted here".into());
    }
    None
}

/// A DNS name in wire format, as hex (for dnsmasq's `--dns-rr`).
fn wire_hex(name: &str) -> String {
    let mut out = String::new();
    for l in name.trim_end_matches('.').split('.') {
        out.push_str(&format!("{:02x}", l.len()));
        for b in l.bytes() {
            out.push_str(&format!("{b:02x}"));
        }
    }
    out + "00"
}

const BIG: usize = 40;

fn dnsmasq_args(dir: &Path) -> String {
    let mut a = vec![
        "-C /dev/null --keep-in-foreground --no-resolv --no-hosts -u root".to_string(),
        format!("--pid-file={}/dnsmasq.pid", dir.display()),
        "--listen-address=127.0.0.77 --bind-interfaces --port=53 --local=/test/".into(),
        "--edns-packet-max=1232".into(),
        "--srv-host=_web._tcp.svc.test,web1.svc.test,8080,0,10".into(),
        "--srv-host=_web._tcp.svc.test,web2.svc.test,9090,0,20".into(),
        "--host-record=web1.svc.test,127.0.1.1,::1".into(),
        "--host-record=web2.svc.test,127.0.1.2".into(),
        "--cname=alias.svc.test,web2.svc.test".into(),
        "--mx-host=mail.test,mx1.mail.test,10".into(),
        "--mx-host=mail.test,mx2.mail.test,20".into(),
        format!("--dns-rr=zone.test,2,{}", wire_hex("ns1.zone.test.")),
        format!("--dns-rr=zone.test,2,{}", wire_hex("ns2.zone.test.")),
    ];
    for i in 1..=BIG {
        a.push(format!(
            "--srv-host=_big._tcp.svc.test,backend-number-{i}.a-rather-long-domain-name.svc.test,{},0,10",
            9000 + i
        ));
    }
    a.join(" ")
}

/// The scrape configs both servers get (`ns`: with the NS job, which Prometheus 2.42 lacks).
fn config(refresh: &str, ns: bool) -> String {
    let mut c = format!(
        r#"global:
  scrape_interval: 1m
scrape_configs:
  - job_name: srv
    dns_sd_configs: [{{names: ['_web._tcp.svc.test'], refresh_interval: {refresh}}}]
  - job_name: a
    dns_sd_configs: [{{names: ['web1', 'alias.svc.test'], type: A, port: 9100, refresh_interval: {refresh}}}]
  - job_name: aaaa
    dns_sd_configs: [{{names: ['web1.svc.test'], type: AAAA, port: 9100, refresh_interval: {refresh}}}]
  - job_name: mx
    dns_sd_configs: [{{names: ['mail.test'], type: MX, port: 25, refresh_interval: {refresh}}}]
  - job_name: big
    dns_sd_configs: [{{names: ['_big._tcp.svc.test'], refresh_interval: {refresh}}}]
  - job_name: missing
    dns_sd_configs: [{{names: ['_nope._tcp.svc.test'], refresh_interval: {refresh}}}]
"#
    );
    if ns {
        c.push_str(&format!(
            "  - job_name: ns\n    dns_sd_configs: [{{names: ['zone.test'], type: NS, port: 53, refresh_interval: {refresh}}}]\n"
        ));
    }
    c
}

/// Runs the namespace script: dnsmasq, then promterm (and Prometheus when `prometheus`), each
/// polled until it shows `want` targets; their `/api/v1/targets` land in `DIR/<name>.json`.
fn run_in_namespace(dir: &Path, prometheus: bool) {
    std::fs::write(
        dir.join("resolv.conf"),
        "nameserver 127.0.0.77\nsearch svc.test\noptions ndots:1 timeout:1 attempts:1\n",
    )
    .unwrap();
    std::fs::write(dir.join("promterm.yml"), config("1s", true)).unwrap();
    std::fs::write(dir.join("prometheus.yml"), config("30s", false)).unwrap();
    let d = dir.display();
    let want_ours = BIG + 2 + 2 + 1 + 2 + 2;
    let want_prom = BIG + 2 + 2 + 1 + 2;
    let mut script = format!(
        r#"set -u
ip link set lo up
mount --bind {d}/resolv.conf /etc/resolv.conf
dnsmasq {dns} 2>{d}/dnsmasq.log &
DNS=$!
for i in $(seq 1 50); do [ -s {d}/dnsmasq.pid ] && break; sleep 0.1; done
# wait_for NAME PORT WANT: polls /api/v1/targets into DIR/NAME.json until WANT targets show.
wait_for() {{
  for i in $(seq 1 120); do
    curl -s 127.0.0.1:$2/api/v1/targets > {d}/$1.json || true
    n=$(grep -o '"discoveredLabels"' {d}/$1.json | wc -l)
    [ "$n" -ge "$3" ] && return 0
    sleep 0.25
  done
  echo "$1 showed $n targets, not $3" >&2
}}
{bin} serve --headless --listen 127.0.0.1:9092 --config {d}/promterm.yml --data {d}/ours 2>{d}/promterm.log &
OURS=$!
"#,
        dns = dnsmasq_args(dir),
        bin = bin(),
    );
    if prometheus {
        script.push_str(&format!(
            "prometheus --config.file={d}/prometheus.yml --storage.tsdb.path={d}/prom \
             --web.listen-address=127.0.0.1:9091 2>{d}/prometheus.log &\nPROM=$!\n\
             wait_for prometheus 9091 {want_prom}\nkill $PROM\n"
        ));
    }
    script.push_str(&format!(
        r#"wait_for promterm 9092 {want_ours}
# The DNS server goes away: lookups fail, the targets stay.
kill $DNS; wait $DNS
sleep 2.5
curl -s 127.0.0.1:9092/api/v1/targets > {d}/promterm-after.json
curl -s 127.0.0.1:9092/metrics > {d}/promterm-metrics.txt
kill $OURS
wait
"#
    ));
    std::fs::write(dir.join("run.sh"), script).unwrap();
    let out = Command::new("unshare")
        .args(["-m", "-n", "bash"])
        .arg(dir.join("run.sh"))
        .output()
        .expect("run unshare");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("showed"),
        "namespace script: {stderr}\npromterm log:\n{}",
        std::fs::read_to_string(dir.join("promterm.log")).unwrap_or_default()
    );
}

/// Each job's targets: (discoveredLabels, labels), sorted.
type Found = BTreeMap<String, BTreeSet<(Vec<(String, String)>, Vec<(String, String)>)>>;

fn found(path: &Path) -> Found {
    let text = std::fs::read_to_string(path).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let pairs = |o: &Value| -> Vec<(String, String)> {
        o.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect()
    };
    let mut out = Found::new();
    for t in v["data"]["activeTargets"].as_array().unwrap() {
        out.entry(t["scrapePool"].as_str().unwrap().to_string())
            .or_default()
            .insert((pairs(&t["discoveredLabels"]), pairs(&t["labels"])));
    }
    out
}

fn discovered(f: &Found, job: &str) -> Vec<BTreeMap<String, String>> {
    f.get(job)
        .into_iter()
        .flatten()
        .map(|(d, _)| d.iter().cloned().collect())
        .collect()
}

#[test]
fn dns_sd_against_dnsmasq() {
    if let Some(why) = skip_reason(&[]) {
        println!("skipped: dns_sd against dnsmasq: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    run_in_namespace(dir.path(), false);
    let f = found(&dir.path().join("promterm.json"));
    let addrs = |job: &str| -> BTreeSet<String> {
        discovered(&f, job)
            .iter()
            .map(|l| l["__address__"].clone())
            .collect()
    };
    let set = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        addrs("srv"),
        set(&["web1.svc.test:8080", "web2.svc.test:9090"])
    );
    assert_eq!(
        addrs("a"),
        set(&["127.0.1.1:9100", "127.0.1.2:9100"]),
        "search list and CNAME"
    );
    assert_eq!(addrs("aaaa"), set(&["[::1]:9100"]));
    assert_eq!(addrs("mx"), set(&["mx1.mail.test:25", "mx2.mail.test:25"]));
    assert_eq!(addrs("ns"), set(&["ns1.zone.test:53", "ns2.zone.test:53"]));
    assert_eq!(
        addrs("big").len(),
        BIG,
        "answered over TCP after a truncated UDP answer"
    );
    assert!(!f.contains_key("missing"), "NXDOMAIN: no targets");
    let srv = discovered(&f, "srv");
    let web1 = srv
        .iter()
        .find(|l| l["__address__"] == "web1.svc.test:8080")
        .unwrap();
    assert_eq!(web1["__meta_dns_name"], "_web._tcp.svc.test");
    assert_eq!(web1["__meta_dns_srv_record_target"], "web1.svc.test.");
    assert_eq!(web1["__meta_dns_srv_record_port"], "8080");
    let a = discovered(&f, "a");
    assert!(a.iter().any(|l| l["__meta_dns_name"] == "web1"), "{a:?}");
    let mx = discovered(&f, "mx");
    assert!(mx
        .iter()
        .any(|l| l["__meta_dns_mx_record_target"] == "mx1.mail.test."));
    let ns = discovered(&f, "ns");
    assert!(ns
        .iter()
        .any(|l| l["__meta_dns_ns_record_target"] == "ns2.zone.test."));
    // dnsmasq stopped: every lookup fails, the last good targets stay and failures count.
    let after = found(&dir.path().join("promterm-after.json"));
    assert_eq!(
        after.values().map(|s| s.len()).sum::<usize>(),
        f.values().map(|s| s.len()).sum::<usize>()
    );
    let metrics = std::fs::read_to_string(dir.path().join("promterm-metrics.txt")).unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|r| r.starts_with([' ', '{']))
            })
            .find_map(|l| l.split_whitespace().last()?.parse().ok())
            .unwrap_or_else(|| panic!("{name} not in /metrics:\n{metrics}"))
    };
    let (lookups, failures) = (
        value("prometheus_sd_dns_lookups_total"),
        value("prometheus_sd_dns_lookup_failures_total"),
    );
    assert!(
        failures >= 1.0 && lookups > failures,
        "{lookups} lookups, {failures} failures"
    );
}

#[test]
fn dns_sd_discovers_what_prometheus_discovers() {
    if let Some(why) = skip_reason(&["prometheus"]) {
        println!("skipped: dns_sd against Prometheus: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    run_in_namespace(dir.path(), true);
    let ours = found(&dir.path().join("promterm.json"));
    let theirs = found(&dir.path().join("prometheus.json"));
    for job in ["srv", "a", "aaaa", "mx", "big"] {
        assert_eq!(ours.get(job), theirs.get(job), "job {job}");
    }
    assert_eq!(theirs.len(), 5, "{:?}", theirs.keys());
}
