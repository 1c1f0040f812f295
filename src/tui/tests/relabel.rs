//! The targets pane's discovery side over promterm's own API with a real scrape manager:
//! dropped targets with the rule that dropped them, a failing discoverer per pool, and the
//! relabeling view (discovered beside target labels, each step with what it changed); against
//! a server without relabel steps the view shows the two label sets only.

use std::sync::Arc;

use crossterm::event::KeyCode;
use tokio_util::sync::CancellationToken;

use super::{draw, key};
use crate::client::{Local, Source};
use crate::tui::app::{App, Cmd, Focus, Msg, View};
use crate::tui::execute_cmd;
use crate::tui::prompt::History;
use crate::tui::theme::Theme;

async fn run(source: &dyn Source, a: &mut App, cmds: Vec<Cmd>) {
    for c in cmds {
        let m = execute_cmd(source, c).await;
        let more = a.msg(m);
        assert!(more.is_empty(), "{more:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_targets_discovery_errors_and_the_relabeling_view() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) =
        crate::tsdb::Db::open(&dir.path().join("data"), crate::tsdb::Options::default()).unwrap();
    let db = Arc::new(db);
    std::fs::write(dir.path().join("bad.json"), "[{").unwrap();
    let cfg = crate::config::Config::parse(
        r#"
scrape_configs:
- job_name: web
  scrape_interval: 1h
  static_configs: [{targets: ['127.0.0.1:1', 'gone:1'], labels: {__meta_zone: eu}}]
  file_sd_configs: [{files: [bad.json]}]
  relabel_configs:
  - {source_labels: [__meta_zone], target_label: zone}
  - {source_labels: [__address__], regex: 'gone:.*', action: drop}
  - {target_label: team, replacement: ops}
"#,
        &dir.path().join("p.yml"),
    )
    .unwrap();
    let m = crate::scrape::Manager::new(db.clone(), CancellationToken::new());
    m.apply(&cfg);
    let state = crate::api::ApiState::new(db.clone(), db, crate::remote::Limits::default())
        .with_scrape(m.clone());
    state.set_ready(true);
    let source = Local::new(state);
    let mut a = App::new(
        Theme::load("default").unwrap(),
        History::load(None),
        "local",
    );
    run(&source, &mut a, vec![Cmd::Targets]).await;
    assert_eq!(a.targets.len(), 1);
    assert_eq!(a.dropped.len(), 1);
    assert_eq!(a.discovery_errors.len(), 1);

    // The pane at 120x40 (one screen): the failing discoverer, the dropped count.
    a.key(key(KeyCode::Esc));
    a.set_view(View::Targets);
    let (text, _) = draw(&mut a, 120, 40);
    assert_eq!(a.focus, Focus::Targets);
    assert!(text.contains("⚠ web file/0: file SD"), "{text}");
    assert!(text.contains("d 1 dropped"), "{text}");

    // Enter on the active target: its relabeling fills the main pane.
    let cmds = a.key(key(KeyCode::Enter));
    assert!(
        matches!(&cmds[..], [Cmd::RelabelSteps { pool, .. }] if pool == "web"),
        "{cmds:?}"
    );
    let (text, _) = draw(&mut a, 120, 40);
    assert!(text.contains("asking the server"), "{text}");
    run(&source, &mut a, cmds).await;
    let (text, _) = draw(&mut a, 120, 40);
    for want in [
        "Relabeling · web · 127.0.0.1:1",
        "DISCOVERED LABELS",
        "TARGET LABELS",
        "__meta_zone=\"eu\"",
        "zone=\"eu\"",
        "0 replace source_labels=[__meta_zone] target_label=zone",
        "+ zone=\"eu\"",
        "1 drop source_labels=[__address__] regex=\"gone:.*\"",
        "(no change)",
        "+ team=\"ops\"",
    ] {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }
    assert!(!text.contains("dropped the target"), "{text}");
    assert!(a.relabel.is_some());
    a.key(key(KeyCode::Esc));
    assert!(a.relabel.is_none(), "Esc closes the view");
    assert_eq!(a.focus, Focus::Targets, "and stays on the targets");

    // d: the dropped targets, with the rule; Enter: why.
    a.key(key(KeyCode::Char('d')));
    let (text, _) = draw(&mut a, 120, 40);
    assert!(text.contains("Dropped targets 1"), "{text}");
    assert!(text.contains("web (1 dropped)"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("⊘ gone:1") && l.contains("dropped by rule 1 (drop)")),
        "{text}"
    );
    let cmds = a.key(key(KeyCode::Enter));
    run(&source, &mut a, cmds).await;
    let (text, _) = draw(&mut a, 120, 40);
    assert!(text.contains("DROPPED by rule 1 (drop)"), "{text}");
    assert!(text.contains("✖ dropped the target"), "{text}");
    // Beside the discovered labels: those the dropping rule saw (zone set by rule 0).
    assert!(
        text.lines()
            .any(|l| l.contains("__meta_zone=\"eu\"") && l.contains("│ __meta_zone=\"eu\"")),
        "{text}"
    );
    assert!(text.contains("│ zone=\"eu\""), "{text}");
    // The step after the drop is listed, without changes.
    assert!(text.contains("2 replace target_label=team"), "{text}");
    assert!(!text.contains("+ team=\"ops\""), "{text}");

    // Small terminal: the view takes the Targets tab.
    let (text, _) = draw(&mut a, 80, 24);
    assert_eq!(a.view, View::Targets);
    assert!(text.contains("DROPPED by rule 1"), "{text}");
    m.stop();
}

#[test]
fn without_relabel_steps_the_two_label_sets_are_shown() {
    let mut a = App::new(Theme::load("default").unwrap(), History::load(None), "prom");
    let t = crate::tui::data::targets_data(&serde_json::json!({
        "activeTargets": [{"scrapePool": "node", "health": "up",
            "labels": {"instance": "h:9100", "job": "node", "dc": "x"},
            "discoveredLabels": {"__address__": "h:9100", "job": "node", "__meta_dc": "x"}}],
        "droppedTargets": [{"discoveredLabels": {"__address__": "o:1", "job": "node"}}]}));
    a.msg(Msg::Targets(Ok(t)));
    a.key(key(KeyCode::Esc));
    a.set_view(View::Targets);
    let cmds = a.key(key(KeyCode::Enter));
    let Some(Cmd::RelabelSteps { pool, labels }) = cmds.into_iter().next() else {
        panic!("no request for the steps")
    };
    a.msg(Msg::RelabelSteps {
        pool,
        labels,
        result: Err("not_found: 404 page not found".into()),
    });
    let (text, _) = draw(&mut a, 120, 40);
    assert!(text.contains("not offered by this server"), "{text}");
    assert!(text.contains("__meta_dc=\"x\""), "{text}");
    assert!(text.contains("dc=\"x\""), "{text}");
    assert!(text.contains("instance=\"h:9100\""), "{text}");
    // An answer for another target (an older selection) changes nothing.
    a.msg(Msg::RelabelSteps {
        pool: "node".into(),
        labels: Default::default(),
        result: Ok(vec![]),
    });
    assert!(matches!(a.relabel.as_ref().unwrap().steps, Some(Err(_))));
    // Prometheus 2.x's dropped targets: no pool, no rule; the job names the pool.
    a.key(key(KeyCode::Esc));
    a.key(key(KeyCode::Char('d')));
    let (text, _) = draw(&mut a, 120, 40);
    assert!(text.contains("node (1 dropped)"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("⊘ o:1") && l.contains("dropped")),
        "{text}"
    );
    let cmds = a.key(key(KeyCode::Enter));
    assert_eq!(cmds.len(), 1);
    let (text, _) = draw(&mut a, 120, 40);
    assert!(text.contains("DROPPED"), "{text}");
}
