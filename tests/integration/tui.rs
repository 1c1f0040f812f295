//! The TUI in a real pseudo-terminal (util-linux `script`): `promterm serve` on a terminal
//! shows the workbench with logs going to a file, `promterm tui --url` works against another
//! server, keys reach it, `q` and Ctrl-C leave with exit 0 and the terminal restored.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{bin, http_post, Server};
use crate::scrape::{free_addr, wait_ok};

/// Runs `cmd` in a pty of `cols`×`rows`, typing `keys` (pairs of delay, bytes); returns (exit
/// code, everything the terminal received, with escape sequences removed, and raw).
fn in_pty(cmd: &str, cols: u16, rows: u16, keys: &[(u64, &[u8])]) -> (i32, String, String) {
    let mut child = Command::new("script")
        .args([
            "-qec",
            &format!("stty cols {cols} rows {rows}; {cmd}"),
            "/dev/null",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script (util-linux)");
    let mut stdin = child.stdin.take().unwrap();
    for (delay, bytes) in keys {
        std::thread::sleep(Duration::from_millis(*delay));
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut plain = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI sequences: ESC [ params final-byte.
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if ('@'..='~').contains(&d) {
                        break;
                    }
                }
            }
            continue;
        }
        plain.push(c);
    }
    (out.status.code().unwrap_or(-1), plain, raw)
}

#[test]
fn serve_on_a_terminal_shows_the_workbench_and_quits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: g\n  interval: 1s\n  rules:\n  - alert: AlwaysOn\n    expr: vector(1)\n",
    )
    .unwrap();
    let cfg = dir.path().join("p.yml");
    std::fs::write(
        &cfg,
        "global: {evaluation_interval: 1s}\nrule_files: [rules.yml]\nscrape_configs: []\n",
    )
    .unwrap();
    let data = dir.path().join("d");
    let cmd = format!(
        "{} serve --config {} --data {} --listen {}",
        bin(),
        cfg.display(),
        data.display(),
        free_addr()
    );
    let (code, plain, raw) = in_pty(
        &cmd,
        120,
        40,
        &[
            (3000, b"vector(42)"),
            (300, b"\r"),
            (1500, b"\x1b"),
            (300, b"q"),
        ],
    );
    assert_eq!(code, 0, "{plain}");
    for want in [
        "PromQL", "Table", "Targets", "Alerts", "AlwaysOn", "42", "firing",
    ] {
        assert!(plain.contains(want), "missing {want:?} in:\n{plain}");
    }
    assert!(
        !plain.contains("INFO"),
        "logs must not reach the screen:\n{plain}"
    );
    assert!(
        raw.contains("\x1b[?1049l"),
        "the alternate screen is left at exit"
    );
    let log = std::fs::read_to_string(data.join("promterm.log")).unwrap();
    assert!(log.contains("shut down cleanly"), "{log}");
}

#[test]
fn tui_against_another_server_small_terminal_and_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.yml"), "scrape_configs: []\n").unwrap();
    let srv = Server::start(&[
        "--headless",
        "--config",
        dir.path().join("p.yml").to_str().unwrap(),
        "--data",
        dir.path().join("d").to_str().unwrap(),
    ]);
    wait_ok(srv.addr, "/-/ready");
    // One series to find.
    let now = promterm::model::now_ms();
    let body = snap::raw::Encoder::new()
        .compress_vec(&promterm::remote::proto::encode_write_request(&[(
            vec![("__name__", "tui_probe"), ("job", "it")],
            vec![promterm::model::Sample {
                t: now - 1000,
                v: 7.0,
            }],
        )]))
        .unwrap();
    let (code, _) = http_post(
        srv.addr,
        "/api/v1/write",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
        ],
        &body,
    );
    assert_eq!(code, 204);
    let state = dir.path().join("state");
    let cmd = format!(
        "XDG_STATE_HOME={} XDG_DATA_HOME={} {} tui --url http://{} --theme high-contrast",
        state.display(),
        state.display(),
        bin(),
        srv.addr
    );
    let (code, plain, _) = in_pty(
        &cmd,
        80,
        24,
        &[
            (2000, b"tui_pro"),
            (200, b"\t"),
            (800, b"\r"),
            (1500, b"\x03"),
        ],
    );
    assert_eq!(code, 0, "{plain}");
    assert!(
        plain.contains("1 Query") && plain.contains("2 Targets"),
        "tabs at 80x24:\n{plain}"
    );
    assert!(
        plain.contains("tui_probe{job=\"it\"}"),
        "completed and ran:\n{plain}"
    );
    assert!(state.join("promterm").join("tui.log").exists());
    let hist = std::fs::read_to_string(state.join("promterm").join("history")).unwrap();
    assert_eq!(hist.trim(), "\"tui_probe\"");
}
