//! `promterm check config` on bad service discovery configs: one bad example per mechanism,
//! in a scrape job and in an `alertmanagers` entry; the error names the job (or entry), the
//! mechanism's list and the index, then Prometheus's reason.

use crate::common::run;

/// (mechanism list, a bad entry as YAML flow, what the error says after the index).
const BAD: [(&str, &str, &str); 5] = [
    (
        "kubernetes_sd_configs",
        "{role: pod, api_server: 'ftp://k8s:6443'}",
        "scheme must be http or https",
    ),
    (
        "http_sd_configs",
        "{url: 'ftp://sd.example/targets'}",
        "URL scheme must be 'http' or 'https'",
    ),
    (
        "docker_sd_configs",
        "{host: 'ftp://docker:2375'}",
        "unsupported scheme \"ftp\"",
    ),
    (
        "dns_sd_configs",
        "{names: [db.example], type: A}",
        "a port is required in DNS-SD configs",
    ),
    (
        "consul_sd_configs",
        "{refresh_interval: 0s}",
        "consul SD refresh_interval must be positive",
    ),
];

fn check(dir: &std::path::Path, name: &str, yaml: &str) -> (i32, String) {
    let f = dir.join(name);
    std::fs::write(&f, yaml).unwrap();
    let (code, out, err) = run(&["check", "config", f.to_str().unwrap()]);
    (code, format!("{out}{err}"))
}

#[test]
fn check_config_names_mechanism_and_index_of_a_bad_sd_config() {
    let dir = tempfile::tempdir().unwrap();
    for (list, bad, reason) in BAD {
        // The second job holds the bad entry twice: the first is named.
        let job = format!(
            "scrape_configs:\n- job_name: ok\n  static_configs: [{{targets: ['a:1']}}]\n- job_name: x\n  {list}:\n  - {bad}\n  - {bad}\n"
        );
        let (code, out) = check(dir.path(), "job.yml", &job);
        assert_eq!(code, 1, "{list}: {out}");
        let want = format!("scrape_configs[1] (job \"x\"): {list}[0]: ");
        assert!(out.contains(&want), "{list}: want {want:?} in {out}");
        assert!(out.contains(reason), "{list}: want {reason:?} in {out}");

        let am = format!(
            "alerting:\n  alertmanagers:\n  - static_configs: [{{targets: ['am:9093']}}]\n  - {list}:\n    - {bad}\n"
        );
        let (code, out) = check(dir.path(), "am.yml", &am);
        assert_eq!(code, 1, "{list}: {out}");
        let want = format!("alerting.alertmanagers[1]: {list}[0]: ");
        assert!(out.contains(&want), "{list}: want {want:?} in {out}");
        assert!(out.contains(reason), "{list}: want {reason:?} in {out}");
    }
}
