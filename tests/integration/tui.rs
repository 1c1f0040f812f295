//! The TUI in a real pseudo-terminal (util-linux `script`): `promterm serve` on a terminal
//! shows the workbench (arriving on the overview) with logs going to a file, `promterm tui --url` works against another
//! server, keys reach it, `q` and Ctrl-C leave with exit 0 and the terminal restored; a
//! terminal that closes under `serve` shuts it down cleanly.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{bin, free_addr, http_post, wait_ok, Server};

/// Runs `cmd` in a pty of `cols`×`rows`, typing `keys` (pairs of delay, bytes); returns (exit
/// code, everything the terminal received, with escape sequences removed, and raw).
pub fn in_pty(cmd: &str, cols: u16, rows: u16, keys: &[(u64, &[u8])]) -> (i32, String, String) {
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
    // Read the screen on a thread and wait with a deadline: a TUI that does not leave fails
    // the test instead of hanging the run (killing `script` closes the terminal under it).
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut all);
        all
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let shown = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
            panic!("`{cmd}` did not exit within 90 s; the terminal showed:\n{shown}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(stdin);
    let raw = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
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
    (status.code().unwrap_or(-1), plain, raw)
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
            // The TUI arrives on the overview: Esc goes to the prompt.
            (3000, b"\x1b"),
            (300, b"vector(42)"),
            (300, b"\r"),
            // Panels refresh every 5 s: wait for one after the rule's first evaluation.
            (6000, b"\x1b"),
            (300, b"q"),
        ],
    );
    assert_eq!(code, 0, "{plain}");
    for want in [
        "PromQL",
        "Overview · last 15m",
        "Samples ingested",
        "Table",
        "Targets",
        "Alerts",
        "AlwaysOn",
        "42",
        "firing",
    ] {
        assert!(plain.contains(want), "missing {want:?} in:\n{plain}");
    }
    // The status line: the server's statistics for vector(42), which reads no sample (the
    // terminal gets only the cells that changed, so spaces may be missing).
    let squeezed = plain.replace(' ', "");
    assert!(
        squeezed.contains("·0samples·"),
        "no query statistics in the status line:\n{plain}"
    );
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
            (2000, b"\x1b"),
            (300, b"tui_pro"),
            (200, b"\t"),
            (800, b"\r"),
            (1500, b"\x03"),
        ],
    );
    assert_eq!(code, 0, "{plain}");
    assert!(
        plain.contains("1 Query") && plain.contains("2 Targets") && plain.contains("6 Overview"),
        "tabs at 80x24:\n{plain}"
    );
    assert!(
        plain.contains("Targets up") && plain.contains("Head series"),
        "the overview first:\n{plain}"
    );
    assert!(
        plain.contains("tui_probe{job=\"it\"}"),
        "completed and ran:\n{plain}"
    );
    assert!(state.join("promterm").join("tui.log").exists());
    let hist = std::fs::read_to_string(state.join("promterm").join("history")).unwrap();
    assert_eq!(hist.trim(), "\"tui_probe\"");
}

/// `promterm serve` with its TUI in a pseudo-terminal of our own: the child is the session
/// leader with the pty as its controlling terminal, as a shell in a terminal emulator or tmux
/// pane runs it. Returns the child and the master side (dropping it closes the terminal).
fn serve_in_own_pty(args: &[&str]) -> (std::process::Child, std::fs::File) {
    let mut cmd = Command::new(bin());
    cmd.arg("serve").args(args);
    in_own_pty(cmd)
}

/// Runs `cmd` as the session leader of a new pseudo-terminal (its controlling terminal, on
/// stdin, stdout and stderr); returns the child and the master side.
fn in_own_pty(mut cmd: Command) -> (std::process::Child, std::fs::File) {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty fills two fds; the name and termios pointers may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // openpty leaves both ends inheritable: the child must not hold the master open.
    for fd in [master, slave] {
        // SAFETY: fcntl on fds we own.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: both fds were just opened and are owned here.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    cmd.env("TERM", "xterm-256color");
    cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("start a command in a pty");
    (child, std::fs::File::from(master))
}

/// Reads the terminal on a thread so the TUI never blocks on a full terminal; the thread holds
/// the only master descriptor and closes it once `close` is set, returning what was shown.
fn drain(
    master: std::fs::File,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<String>,
) {
    let close = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = close.clone();
    let screen = std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let mut master = master;
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            let mut p = libc::pollfd {
                fd: master.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut p, 1, 50) } > 0 {
                match std::io::Read::read(&mut master, &mut buf) {
                    Ok(0) | Err(_) => std::thread::sleep(Duration::from_millis(50)),
                    Ok(n) => all.extend_from_slice(&buf[..n]),
                }
            }
        }
        drop(master);
        String::from_utf8_lossy(&all).into_owned()
    });
    (close, screen)
}

/// Closing the terminal under `serve` (as `tmux kill-session` or closing a terminal window does:
/// the pty's master side closes, the kernel hangs the terminal up and sends SIGHUP) ends the TUI,
/// which notices the hangup itself rather than waiting for a failed write, and shuts the server
/// down cleanly, keeping what was acknowledged; a SIGHUP while the terminal is still there stays
/// a config reload.
#[test]
fn serve_shuts_down_cleanly_when_its_terminal_closes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("p.yml");
    std::fs::write(&cfg, "scrape_configs: []\n").unwrap();
    let data = dir.path().join("d");
    let addr = free_addr();
    let (child, master) = serve_in_own_pty(&[
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--listen",
        &addr.to_string(),
    ]);
    // Killed on drop, should an assertion fail first.
    let mut child = crate::common::Peer(child);
    let keys = master.try_clone().unwrap();
    let (close, screen) = drain(master);
    wait_ok(addr, "/-/ready");
    let log_path = data.join("promterm.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    // An acknowledged sample (OTLP/JSON is answered once the sample is in the WAL).
    let now_ns = promterm::model::now_ms() as u128 * 1_000_000;
    let body = format!(
        r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"hangup"}}}}]}},"scopeMetrics":[{{"metrics":[{{"name":"hangup_probe","gauge":{{"dataPoints":[{{"timeUnixNano":"{now_ns}","asDouble":42}}]}}}}]}}]}}]}}"#
    );
    let (code, resp) = http_post(
        addr,
        "/api/v1/otlp/v1/metrics",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(code, 200, "{resp}");

    // SIGHUP with the terminal still open reloads and keeps running.
    let pid = child.0.id() as libc::pid_t;
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    crate::common::wait_for("the reload after SIGHUP", 10, || {
        log().contains("reloaded config")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "SIGHUP alone must not stop serve"
    );
    assert_eq!(crate::common::http(addr, "GET", "/-/ready").0, 200);

    // The TUI arrives on the overview, where the cursor is hidden: the terminal library then
    // writes to the terminal as it is dropped, which must not fail the shutdown.
    drop(keys);
    std::thread::sleep(Duration::from_millis(1500));

    // Close the terminal: the process must end by itself, cleanly, without spinning.
    close.store(true, std::sync::atomic::Ordering::Relaxed);
    let screen = screen.join().unwrap();
    assert!(
        screen.contains("PromQL"),
        "the TUI was on the terminal:\n{screen}"
    );
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "serve kept running after its terminal closed; log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = log();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status:?}; log:\n{log}"
    );
    assert!(log.contains("terminal went away"), "{log}");
    assert!(log.contains("shut down cleanly"), "{log}");
    assert!(!log.contains("panicked"), "{log}");

    // Everything acknowledged is still there after a restart.
    let srv = Server::start(&["--headless", "--data", data.to_str().unwrap()]);
    wait_ok(srv.addr, "/-/ready");
    let v = crate::common::data(srv.addr, "/api/v1/query?query=hangup_probe");
    assert_eq!(v["result"][0]["value"][1], "42", "{v}");
}
