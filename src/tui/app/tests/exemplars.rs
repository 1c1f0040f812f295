//! The graph's exemplars in the state: asked for with every graphed query (and its live
//! re-runs), stale answers dropped, `e` hiding and showing them, `n`/`N` moving the value
//! cursor from one to the next, and which one is at the cursor.

use super::{app, key};
use crate::tui::app::{App, Cmd, Msg};
use crate::tui::data::{ExemplarData, ExemplarSeries, QueryData, SeriesData};
use crossterm::event::KeyCode;

fn labels(pairs: &[(&str, &str)]) -> crate::tui::data::LabelSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn exemplar(trace: &str, value: f64, time: f64) -> ExemplarData {
    ExemplarData {
        labels: labels(&[("trace_id", trace)]),
        value,
        time,
    }
}

/// A graphed `x` with two series (job a and b) and its answer in.
fn graphed() -> App {
    let mut a = app();
    a.graph = true;
    a.editor.set("x");
    let cmds = a.key(key(KeyCode::Enter));
    assert!(
        matches!(cmds.as_slice(), [Cmd::Query { .. }, Cmd::Exemplars { .. }]),
        "{cmds:?}"
    );
    let (s, e, step) = a.window();
    let line = |job: &str| SeriesData {
        labels: labels(&[("__name__", "x"), ("job", job)]),
        points: (0..=((e - s) / step) as usize)
            .map(|i| (s + i as f64 * step, 1.0))
            .collect(),
        ..Default::default()
    };
    a.msg(Msg::Query {
        id: a.query_id,
        result: Ok((QueryData::Matrix(vec![line("a"), line("b")]), vec![])),
        seconds: 0.0,
        stats: None,
    });
    a.key(key(KeyCode::Esc));
    a
}

#[test]
fn asked_for_with_graphed_queries_only() {
    let mut a = app();
    a.editor.set("x");
    let cmds = a.key(key(KeyCode::Enter));
    assert!(
        matches!(cmds.as_slice(), [Cmd::Query { range: None, .. }]),
        "a table does not ask: {cmds:?}"
    );
    a.key(key(KeyCode::Esc));
    let cmds = a.key(key(KeyCode::Char('g')));
    let (s, e, _) = a.window();
    assert_eq!(
        cmds.get(1),
        Some(&Cmd::Exemplars {
            id: a.query_id,
            expr: "x".into(),
            range: (s, e)
        }),
        "{cmds:?}"
    );
    // Live mode re-runs both.
    a.key(key(KeyCode::Char('0')));
    a.msg(Msg::Query {
        id: a.query_id,
        result: Ok((QueryData::Matrix(vec![]), vec![])),
        seconds: 0.0,
        stats: None,
    });
    let cmds = a.tick(a.now + 6.0, false);
    assert!(
        cmds.iter().any(|c| matches!(c, Cmd::Query { .. }))
            && cmds.iter().any(|c| matches!(c, Cmd::Exemplars { .. })),
        "{cmds:?}"
    );
}

#[test]
fn stale_answers_are_dropped_and_e_hides_them() {
    let mut a = graphed();
    let (s, _, _) = a.window();
    let ours = vec![ExemplarSeries {
        series: labels(&[("__name__", "x"), ("job", "b")]),
        exemplars: vec![exemplar("t1", 1.0, s + 60.0)],
    }];
    a.msg(Msg::Exemplars {
        id: a.query_id - 1,
        exemplars: ours.clone(),
    });
    assert!(a.exemplars.is_empty(), "an older run's answer");
    a.msg(Msg::Exemplars {
        id: a.query_id,
        exemplars: ours,
    });
    let points = a.exemplar_points();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].series, Some(1), "drawn on job b's line");
    // `e` hides them (and asks for nothing); again shows them and asks for them again.
    assert!(a.key(key(KeyCode::Char('e'))).is_empty());
    assert!(!a.show_exemplars && a.exemplar_points().is_empty());
    let cmds = a.key(key(KeyCode::Char('e')));
    assert!(
        matches!(cmds.as_slice(), [Cmd::Exemplars { .. }]),
        "{cmds:?}"
    );
    // Hidden, they stay hidden for the next queries (and are not asked for).
    a.key(key(KeyCode::Char('e')));
    a.key(key(KeyCode::Char('+')));
    let cmds = a.key(key(KeyCode::Char('-')));
    assert!(matches!(cmds.as_slice(), [Cmd::Query { .. }]), "{cmds:?}");
    // A hidden series hides its exemplars.
    a.key(key(KeyCode::Char('e')));
    a.key(key(KeyCode::Down));
    a.key(key(KeyCode::Char(' ')));
    assert!(a.exemplar_points().is_empty());
    // A new query starts without the old one's exemplars.
    a.key(key(KeyCode::Char(' ')));
    a.editor.set("y");
    a.key(key(KeyCode::Esc));
    a.key(key(KeyCode::Enter));
    assert!(a.exemplars.is_empty());
}

#[test]
fn n_and_shift_n_walk_the_cursor_through_the_exemplars() {
    let mut a = graphed();
    let (s, e, step) = a.window();
    // Two at the same step, one out of the window, one with no finite value, one on a series
    // the result does not have (its own colour).
    a.msg(Msg::Exemplars {
        id: a.query_id,
        exemplars: vec![
            ExemplarSeries {
                series: labels(&[("__name__", "x"), ("job", "a")]),
                exemplars: vec![
                    exemplar("early", 2.0, s + 10.0 * step),
                    exemplar("twin1", 3.0, s + 100.0 * step),
                    exemplar("gone", 3.0, s - 3600.0),
                    exemplar("nan", f64::NAN, s + 50.0 * step),
                ],
            },
            ExemplarSeries {
                series: labels(&[("__name__", "x"), ("job", "b")]),
                exemplars: vec![exemplar("twin2", 4.0, s + 100.0 * step + 1.0)],
            },
            ExemplarSeries {
                series: labels(&[("__name__", "other")]),
                exemplars: vec![exemplar("late", 5.0, e)],
            },
        ],
    });
    let trace = |a: &App| {
        a.cursor_exemplar()
            .and_then(|(_, p)| p.exemplar.labels.get("trace_id").cloned())
    };
    assert_eq!(a.exemplar_points().len(), 4);
    assert_eq!(trace(&a), None, "no cursor, none read out");
    let walk = [
        ("early", 10),
        ("twin1", 100),
        ("twin2", 100),
        ("late", a.point_count() - 1),
    ];
    for (want, at) in walk {
        a.key(key(KeyCode::Char('n')));
        assert_eq!(trace(&a).as_deref(), Some(want));
        assert_eq!(a.cursor, Some(at), "{want}");
    }
    a.key(key(KeyCode::Char('n')));
    assert_eq!(trace(&a).as_deref(), Some("late"), "stays at the last");
    assert_eq!(a.cursor_exemplar().map(|(_, p)| p.series), Some(None));
    for want in ["twin2", "twin1", "early", "early"] {
        a.key(key(KeyCode::Char('N')));
        assert_eq!(trace(&a).as_deref(), Some(want));
    }
    // Moving the cursor off it reads out nothing; `n` goes on from where the cursor is.
    a.key(key(KeyCode::Right));
    assert_eq!(trace(&a), None);
    for _ in 0..80 {
        a.key(key(KeyCode::Right));
    }
    assert_eq!(a.cursor, Some(91));
    a.key(key(KeyCode::Char('n')));
    assert_eq!(trace(&a).as_deref(), Some("twin1"));
    // The arrows land on one too.
    a.key(key(KeyCode::Left));
    a.key(key(KeyCode::Right));
    assert_eq!(trace(&a).as_deref(), Some("twin1"));
    // With no cursor, N goes to the last.
    a.cursor = None;
    a.key(key(KeyCode::Char('N')));
    assert_eq!(trace(&a).as_deref(), Some("late"));
}
