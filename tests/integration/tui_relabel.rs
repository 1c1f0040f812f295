//! The TUI's relabeling view in tmux, over HTTP (`promterm tui --url`), against `promterm
//! serve` and Debian's Prometheus 2.42 on the same config: Enter on a target shows its
//! discovered beside its target labels; promterm adds each relabel step, the dropped targets'
//! rule and a failing discoverer; Prometheus 2.42 (no relabel_steps, no rule on dropped
//! targets) gets the two label sets only.

use crate::common::{bin, free_addr, spawn, wait_ok, Server};
use crate::first_minutes::Tmux;

fn tui(dir: &std::path::Path, name: &str, url: &str) -> Tmux {
    let tmux = Tmux {
        socket: dir.join(format!("{name}.sock")),
    };
    let home = dir.join(format!("{name}-home"));
    let cmd = format!(
        "HOME={h} XDG_STATE_HOME={h} XDG_CONFIG_HOME={h} TERM=xterm-256color {} tui --url {url}",
        bin(),
        h = home.display()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "pt",
        "-x",
        "160",
        "-y",
        "48",
        &cmd,
    ]);
    tmux.wait_for("the workbench", 15, |s| s.contains("Targets"));
    tmux
}

#[test]
fn relabeling_view_over_http_against_promterm_and_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let dead = free_addr();
    std::fs::write(dir.path().join("bad.json"), "[{").unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            r#"global: {{scrape_interval: 1h}}
scrape_configs:
- job_name: relabeled
  static_configs: [{{targets: ['{dead}', 'gone:1'], labels: {{__meta_zone: eu}}}}]
  file_sd_configs: [{{files: [bad.json]}}]
  relabel_configs:
  - {{source_labels: [__address__], regex: 'gone:.*', action: drop}}
  - {{source_labels: [__meta_zone], target_label: zone}}
"#
        ),
    )
    .unwrap();
    let ours = Server::start(&[
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().join("ours").to_str().unwrap(),
    ]);
    let prom = free_addr();
    let _p = spawn(
        "prometheus",
        &[
            format!("--config.file={}", cfg.display()),
            format!("--storage.tsdb.path={}", dir.path().join("prom").display()),
            format!("--web.listen-address={prom}"),
        ],
    );
    wait_ok(prom, "/-/ready");

    // promterm: the view with its steps, the failing discoverer, the dropped target's rule.
    let t = tui(dir.path(), "ours", &format!("http://{}", ours.addr));
    t.keys(&["Escape", "2"]);
    t.wait_for("the target and the failing discoverer", 15, |s| {
        s.contains(&dead.to_string())
            && s.contains("⚠ relabeled file/0")
            && s.contains("d 1 dropped")
    });
    t.keys(&["Enter"]);
    let s = t.wait_for("the relabeling view with steps", 10, |s| {
        s.contains("+ zone=\"eu\"")
    });
    for want in [
        "Relabeling · relabeled",
        "DISCOVERED LABELS",
        "TARGET LABELS",
        "__meta_zone=\"eu\"",
        "1 replace source_labels=[__meta_zone]",
    ] {
        assert!(s.contains(want), "{want:?} in\n{s}");
    }
    t.keys(&["Escape", "d"]);
    t.wait_for("the dropped target", 10, |s| {
        s.contains("⊘ gone:1") && s.contains("dropped by rule 0 (drop)")
    });
    t.keys(&["Enter"]);
    t.wait_for("why it was dropped", 10, |s| {
        s.contains("DROPPED by rule 0 (drop)") && s.contains("✖ dropped the target")
    });
    t.keys(&["q"]);

    // Prometheus 2.42: the two label sets, no steps.
    let t = tui(dir.path(), "prom", &format!("http://{prom}"));
    t.keys(&["Escape", "2"]);
    t.wait_for("the target", 20, |s| s.contains(&dead.to_string()));
    t.keys(&["Enter"]);
    let s = t.wait_for("the two label sets", 10, |s| {
        s.contains("not offered by this server")
    });
    assert!(
        s.contains("DISCOVERED LABELS") && s.contains("TARGET LABELS"),
        "{s}"
    );
    assert!(s.contains("zone=\"eu\""), "{s}");
    t.keys(&["Escape", "d"]);
    t.wait_for("the dropped target", 10, |s| {
        s.contains("⊘ gone:1") && s.contains("relabeled (1 dropped)")
    });
    t.keys(&["Enter"]);
    t.wait_for("a dropped target's labels", 10, |s| {
        s.contains("DROPPED") && s.contains("__address__=\"gone:1\"")
    });
    t.keys(&["q"]);
}
