//! Building a dashboard in the TUI in a real pseudo-terminal: against a promterm server the
//! user types a query, runs it, presses `a` (the query becomes a panel of a new dashboard),
//! F2 (the dashboard), `S` (saved into `--dashboards DIR`); the file is there and our loader
//! reads it back with that panel, and the TUI lists it with F2… `o`.

use crate::common::{bin, wait_ok, Server};
use crate::tui::in_pty;

#[test]
fn a_query_added_with_a_and_saved_with_s_is_a_dashboard_file() {
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
    let home = dir.path().join("home");
    let dashboards = dir.path().join("boards");
    let cmd = format!(
        "XDG_STATE_HOME={h} XDG_DATA_HOME={h} XDG_CONFIG_HOME={h} {} tui --url http://{} --dashboards {}",
        bin(),
        srv.addr,
        dashboards.display(),
        h = home.display(),
    );
    let (code, plain, _) = in_pty(
        &cmd,
        120,
        30,
        &[
            (2000, b"\x1b"),
            (300, b"vector(42)"),
            (300, b"\r"),
            (1000, b"\x1b"),
            (500, b"a"),
            (800, b"\x1bOQ"),
            (1500, b"S"),
            (1500, b"o"),
            (1500, b"\x1b"),
            (500, b"q"),
        ],
    );
    assert_eq!(code, 0, "{plain}");
    // The terminal gets only what changed between frames: look for pieces of the lines.
    assert!(plain.contains("added table"), "{plain}");
    assert!(plain.contains("saving…"), "{plain}");
    let file = dashboards.join("promterm.json");
    let loaded = promterm::tui::grafana::load(&file).expect("the saved dashboard loads");
    let panels: Vec<_> = loaded.dashboard.panels().collect();
    assert_eq!(panels.len(), 1);
    assert_eq!(panels[0].title, "vector(42)");
    assert_eq!(panels[0].targets[0].expr, "vector(42)");
    assert!(panels[0].drawn(), "{:?}", panels[0].problem);
    // The list (`o`) showed it by title and file name.
    assert!(plain.contains("Dashboards in"), "{plain}");
    assert!(plain.contains("promterm.json"), "{plain}");
}
