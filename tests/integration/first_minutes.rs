//! The TUI's first minutes as a new user meets them: `promterm serve` with no config, in tmux
//! (a real terminal emulator): an early `rate(...)` query explains its empty answer, the
//! overview shows live host and ingest sparklines with values within 45 s of the start, and the
//! metrics explorer lists the host collector's metrics.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{bin, free_addr, wait_ok};

/// A tmux server of our own (its own socket), killed on drop. (`tui_relabel` uses it too.)
pub struct Tmux {
    pub socket: std::path::PathBuf,
}

impl Tmux {
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux (Debian package tmux; .ci/run installs it)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "pt"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    pub fn typed(&self, text: &str) {
        self.run(&["send-keys", "-t", "pt", "-l", text]);
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-t", "pt", "-p"])
    }

    /// Waits until the screen satisfies `f`, failing after `secs` with the last screen.
    pub fn wait_for(&self, what: &str, secs: u64, f: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if f(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "no {what} within {secs}s:\n{s}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// Whether a panel titled `title` shows a number (with `suffix`) in its title bar.
fn panel_value(screen: &str, title: &str, suffix: &str) -> bool {
    screen.lines().any(|l| {
        l.split_once(title).is_some_and(|(_, rest)| {
            let rest = rest.trim_start_matches([' ', '─']);
            let num: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            !num.is_empty() && rest[num.len()..].trim_start().starts_with(suffix)
        })
    })
}

#[test]
fn serve_in_tmux_first_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let data = dir.path().join("d");
    let tmux = Tmux {
        socket: dir.path().join("tmux.sock"),
    };
    let started = Instant::now();
    let cmd = format!(
        "cd {} && TERM=xterm-256color {} serve --data {} --listen {addr}",
        dir.path().display(),
        bin(),
        data.display()
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
    wait_ok(addr, "/-/ready");
    tmux.wait_for("overview", 10, |s| s.contains("Overview"));

    // An early query: at most one scrape has happened, so the answer is empty — and says why.
    tmux.keys(&["Escape"]);
    tmux.typed("rate(node_cpu_seconds_total[1m])");
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("explained empty answer", 10, |s| {
        s.contains("needs two samples")
            || s.contains("is not a known metric")
            || s.contains("no series of")
            || s.contains("series (16)")
            || s.matches("cpu=").count() > 1
    });
    if started.elapsed() < Duration::from_secs(14) {
        // Before a second scrape (every 15 s) the answer must be empty and explained.
        assert!(
            s.contains("needs two samples") || s.contains("is not a known metric"),
            "an early rate() should explain its empty answer:\n{s}"
        );
    }

    // The overview: live host and ingest sparklines with values within 45 s of the start.
    tmux.keys(&["Escape"]);
    tmux.keys(&["6"]);
    let left = Duration::from_secs(45).saturating_sub(started.elapsed());
    let s = tmux.wait_for("overview values", left.as_secs().max(1), |s| {
        panel_value(s, "Samples ingested", "/s")
            && panel_value(s, "CPU busy", "%")
            && panel_value(s, "Memory used", "%")
            && panel_value(s, "Head series", "")
    });
    let bars = s.chars().filter(|c| ('▁'..='█').contains(c)).count();
    assert!(bars > 20, "sparklines on the overview:\n{s}");

    // The metrics explorer lists the host collector's metrics.
    tmux.keys(&["5"]);
    tmux.wait_for("host metrics in view 5", 15, |s| {
        s.contains("node_load1") && s.contains("node_memory_MemAvailable_bytes")
    });

    tmux.keys(&["q"]);
    let log = data.join("promterm.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("shut down cleanly")
    {
        assert!(
            Instant::now() < deadline,
            "serve did not stop after q:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(Path::new(&log).exists());
}
