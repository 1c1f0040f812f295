//! Keeping the metrics explorer and the rules panel fresh (the clock and opening a view ask
//! for their data again), and scrolling the help.

use super::{app, key};
use crate::tui::app::actions::METRICS_EVERY;
use crate::tui::app::{Cmd, Msg, View};
use crossterm::event::KeyCode;

fn has(cmds: &[Cmd], c: &Cmd) -> bool {
    cmds.contains(c)
}

fn metrics_cmds(cmds: &[Cmd]) -> bool {
    [Cmd::MetricNames, Cmd::Metadata, Cmd::SeriesCounts]
        .iter()
        .all(|c| has(cmds, c))
}

#[test]
fn the_metrics_data_refreshes_on_the_clock() {
    let mut a = app();
    let t0 = a.now;
    assert!(metrics_cmds(&a.start()));
    a.msg(Msg::MetricNames(vec!["up".into()]));
    // Between refreshes only the panels (targets, rules, senders) follow the 5 s cadence.
    let cmds = a.tick(t0 + 5.0, true);
    assert!(
        has(&cmds, &Cmd::Rules) && has(&cmds, &Cmd::Targets),
        "{cmds:?}"
    );
    assert!(!has(&cmds, &Cmd::MetricNames), "{cmds:?}");
    assert!(a.tick(t0 + 6.0, false).is_empty());
    // After the interval: names and metadata again, then not until the next; series counts
    // (a query over every series) only while the explorer is open.
    let cmds = a.tick(t0 + METRICS_EVERY, false);
    assert_eq!(cmds, [Cmd::MetricNames, Cmd::Metadata]);
    assert!(a.tick(t0 + METRICS_EVERY + 1.0, false).is_empty());
    a.key(key(KeyCode::Esc));
    a.key(key(KeyCode::Char('5')));
    assert!(metrics_cmds(&a.tick(t0 + 3.0 * METRICS_EVERY, false)));
}

#[test]
fn before_the_first_scrape_the_list_is_asked_for_with_the_panels() {
    let mut a = app();
    let t0 = a.now;
    a.start();
    a.msg(Msg::MetricNames(vec![]));
    let cmds = a.tick(t0 + 5.0, true);
    assert!(metrics_cmds(&cmds), "nothing known yet: {cmds:?}");
    a.msg(Msg::MetricNames(vec!["node_load1".into()]));
    assert_eq!(a.known.metrics, ["node_load1"]);
    assert!(!has(&a.tick(t0 + 10.0, true), &Cmd::MetricNames));
}

#[test]
fn opening_the_metrics_view_refreshes_it_and_keeps_it_fresh() {
    let mut a = app();
    let t0 = a.now;
    a.start();
    a.msg(Msg::MetricNames(vec!["up".into()]));
    a.key(key(KeyCode::Esc));
    let cmds = a.key(key(KeyCode::Char('5')));
    assert_eq!(a.view, View::Metrics);
    assert!(metrics_cmds(&cmds), "{cmds:?}");
    // While it is open, names and metadata follow the panels; counts keep their interval.
    let cmds = a.tick(t0 + 5.0, true);
    assert!(has(&cmds, &Cmd::MetricNames) && has(&cmds, &Cmd::Metadata));
    assert!(!has(&cmds, &Cmd::SeriesCounts), "{cmds:?}");
    // A shorter list keeps the selection on it.
    a.msg(Msg::MetricNames(vec!["a".into(), "b".into(), "c".into()]));
    a.metrics_sel = 2;
    a.msg(Msg::MetricNames(vec!["a".into()]));
    assert_eq!(a.metrics_sel, 0);
    // A refresh that failed (the loop answers it with nothing) keeps what is known.
    a.msg(Msg::SeriesCounts([("a".to_string(), 3)].into()));
    a.msg(Msg::MetricNames(vec![]));
    a.msg(Msg::Metadata(Default::default()));
    a.msg(Msg::SeriesCounts(Default::default()));
    assert_eq!(a.known.metrics, ["a"]);
    assert_eq!(a.series_counts.get("a"), Some(&3));
}

#[test]
fn opening_the_rules_alerts_or_targets_view_refreshes_it() {
    let mut a = app();
    a.key(key(KeyCode::Esc));
    assert_eq!(a.key(key(KeyCode::Char('4'))), vec![Cmd::Rules]);
    assert_eq!(a.view, View::Rules);
    assert_eq!(a.key(key(KeyCode::Char('3'))), vec![Cmd::Rules]);
    assert_eq!(a.key(key(KeyCode::Char('2'))), vec![Cmd::Targets]);
    assert!(a.key(key(KeyCode::Char('1'))).is_empty());
    // Rules also refresh with the panels (a reload shows within 5 s).
    let t = a.now + 5.0;
    assert!(has(&a.tick(t, true), &Cmd::Rules));
}

#[test]
fn the_help_scrolls_within_what_the_view_found_room_for() {
    let mut a = app();
    a.key(key(KeyCode::F(1)));
    assert!(a.help);
    a.help_bounds.set((12, 5));
    a.key(key(KeyCode::Down));
    assert_eq!(a.help_scroll, 1);
    a.key(key(KeyCode::PageDown));
    assert_eq!(a.help_scroll, 6);
    a.key(key(KeyCode::PageDown));
    a.key(key(KeyCode::PageDown));
    assert_eq!(a.help_scroll, 12, "not past the end");
    a.key(key(KeyCode::Up));
    a.key(key(KeyCode::PageUp));
    assert_eq!(a.help_scroll, 6);
    a.key(key(KeyCode::Home));
    assert_eq!(a.help_scroll, 0);
    a.key(key(KeyCode::End));
    assert_eq!(a.help_scroll, 12);
    assert!(a.help, "scroll keys keep it open");
    a.key(key(KeyCode::Char('x')));
    assert!(!a.help && a.help_scroll == 0, "other keys close it");
    assert_eq!(a.editor.text(), "", "and do nothing else");
}
