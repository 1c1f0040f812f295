//! Every view pinned at 80×24 (tabs) and 160×48 (one screen): titles and content visible,
//! boxes closed (nothing drawn over a border), the status line's keys whole; the help popup
//! reaches its last line by scrolling; below the minimum size one message; the hints follow
//! the focus; the status line shows the server's query time and samples when it gave them;
//! the metrics explorer picks up metrics that appear after it started.

use crossterm::event::KeyCode;

use super::{app_with_data, draw, key};
use crate::tui::app::{App, Cmd, Focus, Msg, View};
use crate::tui::data::{QueryData, RuleRow, SeriesData};
use crate::tui::render::{self, HELP};
use crate::tui::theme::Theme;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn screen(a: &mut App, w: u16, h: u16) -> String {
    draw(a, w, h).0
}

/// Every row opens as many boxes as it closes, so no pane was drawn over another's border;
/// the last row (the status line) holds no border. (A chart's axis corner, after a space,
/// is not a box.)
fn assert_boxes_closed(text: &str) {
    for (y, row) in text.lines().enumerate() {
        let row = row.replace(" └", "  ");
        let n = |c: char| row.chars().filter(|x| *x == c).count();
        assert_eq!(n('┌'), n('┐'), "row {y} top corners:\n{text}");
        assert_eq!(n('└'), n('┘'), "row {y} bottom corners:\n{text}");
    }
    let last = text.lines().last().unwrap_or_default();
    assert!(!last.contains('│') && !last.contains('─'), "{text}");
}

fn with_rules(mut a: App) -> App {
    let rule = |name: &str, kind: &str, q: &str| RuleRow {
        group: "node".into(),
        file: "rules.yml".into(),
        name: name.into(),
        kind: kind.into(),
        query: q.into(),
        health: "ok".into(),
        state: if kind == "alerting" { "pending" } else { "" }.into(),
        last_error: String::new(),
        eval_secs: 0.0012,
        for_secs: 0.0,
    };
    let alerts = a.alerts.clone();
    a.msg(Msg::Rules(Ok((
        vec![
            rule("job:up:sum", "recording", "sum by (job) (up)"),
            rule("HostDown", "alerting", "up == 0"),
        ],
        alerts,
    ))));
    a
}

fn with_metrics(mut a: App) -> App {
    a.msg(Msg::MetricNames(vec![
        "node_cpu_seconds_total".into(),
        "node_load1".into(),
        "up".into(),
    ]));
    a.msg(Msg::Metadata(
        [(
            "node_load1".to_string(),
            ("gauge".to_string(), "1m load average.".to_string()),
        )]
        .into(),
    ));
    a.msg(Msg::SeriesCounts([("node_load1".to_string(), 1)].into()));
    a
}

fn with_vector(mut a: App) -> App {
    a.editor.set("up");
    let cmds = a.key(key(KeyCode::Enter));
    let id = match cmds.as_slice() {
        [Cmd::Query { id, .. }] => *id,
        other => panic!("{other:?}"),
    };
    let s = |job: &str, v: f64| SeriesData {
        labels: [
            ("__name__".to_string(), "up".to_string()),
            ("job".to_string(), job.to_string()),
        ]
        .into(),
        points: vec![(a.now, v)],
        ..Default::default()
    };
    a.msg(Msg::Query {
        id,
        result: Ok((QueryData::Vector(vec![s("api", 1.0), s("db", 0.0)]), vec![])),
        seconds: 0.004,
        stats: None,
    });
    a
}

fn open(a: &mut App, n: char) {
    if a.focus == Focus::Prompt {
        a.key(key(KeyCode::Esc));
    }
    a.key(key(KeyCode::Char(n)));
}

#[test]
fn the_query_view_with_a_table_at_both_sizes() {
    for (w, h) in SIZES {
        let mut a = with_vector(app_with_data(Theme::load("default").unwrap()));
        let text = screen(&mut a, w, h);
        for want in [
            " PromQL ",
            " Table ",
            "up{job=\"api\"}",
            "up{job=\"db\"}",
            "series (2)",
        ] {
            assert!(text.contains(want), "{w}x{h} lacks {want:?}:\n{text}");
        }
        assert!(text.lines().last().unwrap().contains("Enter run"), "{text}");
        assert_boxes_closed(&text);
    }
}

#[test]
fn the_status_line_shows_the_servers_query_time_and_samples() {
    // Without statistics: the round trip the TUI measured.
    let mut a = with_vector(app_with_data(Theme::load("default").unwrap()));
    let text = screen(&mut a, 160, 48);
    let last = text.lines().last().unwrap().to_string();
    assert!(last.contains("2 series · 4ms"), "{last}");
    // With the server's statistics: its own time and the samples it read.
    let stats = crate::client::stats::Stats::from_data(&serde_json::json!({"stats": {
        "timings": {"execTotalTime": 0.0121},
        "samples": {"totalQueryableSamples": 48_123, "peakSamples": 900}}}));
    a.result_stats = stats;
    for (w, h) in SIZES {
        let text = screen(&mut a, w, h);
        let last = text.lines().last().unwrap();
        assert!(
            last.contains("12 ms · 48k samples") && !last.contains("series"),
            "{w}x{h}: {last}"
        );
        assert_boxes_closed(&text);
    }
}

#[test]
fn a_histogram_sample_shows_as_its_summary_in_the_table() {
    let mut a = app_with_data(Theme::load("default").unwrap());
    a.editor.set("h");
    let cmds = a.key(key(KeyCode::Enter));
    let id = match cmds.as_slice() {
        [Cmd::Query { id, .. }] => *id,
        other => panic!("{other:?}"),
    };
    let answer = serde_json::json!({"resultType": "vector", "result": [
        {"metric": {"__name__": "h"}, "histogram": [a.now, {"count": "12", "sum": "3.5",
            "buckets": [[0, "1", "2", "12"]]}]}]});
    a.msg(Msg::Query {
        id,
        result: Ok((crate::tui::data::query_data(&answer), vec![])),
        seconds: 0.004,
        stats: None,
    });
    let text = screen(&mut a, 160, 48);
    assert!(
        text.contains("{count:12 sum:3.5 buckets:1 (1,2]:12}"),
        "{text}"
    );
    assert_boxes_closed(&text);
}

#[test]
fn the_graph_at_both_sizes() {
    for (w, h) in SIZES {
        let mut a = app_with_data(Theme::load("default").unwrap());
        a.graph = true;
        a.shown_expr = "rate(x[1m])".into();
        let (s, e, step) = a.window();
        let pts: Vec<(f64, f64)> = (0..=((e - s) / step) as usize)
            .map(|i| (s + i as f64 * step, (i % 7) as f64))
            .collect();
        let series = |job: &str| SeriesData {
            labels: [("job".to_string(), job.to_string())].into(),
            points: pts.clone(),
            ..Default::default()
        };
        a.msg(Msg::Query {
            id: 0,
            result: Ok((QueryData::Matrix(vec![series("a"), series("b")]), vec![])),
            seconds: 0.01,
            stats: None,
        });
        a.key(key(KeyCode::Esc));
        let text = screen(&mut a, w, h);
        for want in [
            " Graph 1h ",
            "{job=\"a\"}",
            "{job=\"b\"}",
            "g table · +/- zoom",
        ] {
            assert!(text.contains(want), "{w}x{h} lacks {want:?}:\n{text}");
        }
        assert!(text.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)));
        assert_boxes_closed(&text);
    }
}

#[test]
fn targets_alerts_rules_and_metrics_at_both_sizes() {
    let views: [(char, &[&str]); 4] = [
        (
            '2',
            &["Targets 1/2 up", "host-a:9100", "connection refused"],
        ),
        ('3', &[" Alerts ", "1 pending", "HostDown"]),
        (
            '4',
            &[" Rules (2) ", "job:up:sum", "sum by (job) (up)", "up == 0"],
        ),
        (
            '5',
            &[
                " Metrics (3) ",
                "node_cpu_seconds_total",
                "node_load1",
                "series",
            ],
        ),
    ];
    for (w, h) in SIZES {
        for (n, wants) in views {
            let mut a = with_metrics(with_rules(app_with_data(Theme::load("default").unwrap())));
            open(&mut a, n);
            let text = screen(&mut a, w, h);
            for want in wants {
                assert!(
                    text.contains(want),
                    "{w}x{h} view {n} lacks {want:?}:\n{text}"
                );
            }
            assert!(text.lines().last().unwrap().contains("? keys"), "{text}");
            assert_boxes_closed(&text);
        }
    }
}

#[test]
fn the_help_fits_and_scrolls_to_its_last_line_at_both_sizes() {
    let (last_key, last_desc) = HELP[HELP.len() - 1];
    for (w, h) in SIZES {
        let mut a = app_with_data(Theme::load("default").unwrap());
        a.key(key(KeyCode::Esc));
        a.key(key(KeyCode::Char('?')));
        let mut seen = screen(&mut a, w, h);
        assert!(seen.contains(" Keys "), "{seen}");
        assert!(seen.contains("Ctrl-C"), "the first key on top:\n{seen}");
        let mut pages = 0;
        while !seen.contains(last_desc) {
            assert!(seen.contains("more below"), "{w}x{h}:\n{seen}");
            a.key(key(KeyCode::PageDown));
            seen = screen(&mut a, w, h);
            pages += 1;
            assert!(pages < 10, "never reached the end:\n{seen}");
        }
        assert!(seen.contains(last_key), "{seen}");
        assert!(!seen.contains("more below"), "{seen}");
        assert_eq!(pages > 0, w == 80, "scrolls at 80x24 only:\n{seen}");
        // Nothing is cut: the longest description shows whole (wrapped).
        let words: String = seen.split_whitespace().collect::<Vec<_>>().join(" ");
        a.key(key(KeyCode::Home));
        let top = screen(&mut a, w, h);
        let top_words: String = top.split_whitespace().collect::<Vec<_>>().join(" ");
        let all = format!("{top_words} {words}");
        assert!(
            all.contains("complete (metrics, functions,") && all.contains("durations)"),
            "{w}x{h}:\n{top}\n{seen}"
        );
    }
}

#[test]
fn below_the_minimum_size_one_message_says_so() {
    let mut a = app_with_data(Theme::load("default").unwrap());
    let text = screen(&mut a, 30, 8);
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("terminal too small: 30×8, promterm needs at least 40×10"),
        "{text}"
    );
    let text = screen(&mut a, 39, 24);
    assert!(text.starts_with("terminal too small: 39×24"), "{text}");
    let area = ratatui::layout::Rect::new(0, 0, 39, 24);
    assert_eq!(render::pane_at(&a, area, 1, 1), None);
    // At the minimum every view draws, its tab named.
    for n in ['1', '2', '3', '4', '5'] {
        open(&mut a, n);
        let text = screen(&mut a, 40, 10);
        assert!(!text.contains("too small"), "{text}");
        let name = ["Query", "Targets", "Alerts", "Rules", "Metrics"][(n as u8 - b'1') as usize];
        assert!(text.lines().next().unwrap().contains(name), "{text}");
        assert_boxes_closed(&text);
    }
}

#[test]
fn hints_follow_the_focus() {
    let mut a = app_with_data(Theme::load("default").unwrap());
    // At start the prompt has focus: typing goes there, so the hints name the prompt's keys.
    let text = screen(&mut a, 80, 24);
    let status = text.lines().last().unwrap().to_string();
    assert!(
        status.contains("Enter run") && status.contains("Tab complete"),
        "{text}"
    );
    assert!(!status.contains("g graph"), "{status}");
    assert!(text.contains("Type a query: Enter runs it"), "{text}");
    // After Enter the focus stays in the prompt: still the prompt's keys, not the table's.
    let mut a = with_vector(a);
    assert_eq!(a.focus, Focus::Prompt);
    for (w, h) in SIZES {
        let text = screen(&mut a, w, h);
        let status = text.lines().last().unwrap();
        assert!(status.contains("Enter run"), "{status}");
        assert!(
            !status.contains("g graph") && !status.contains("s sort"),
            "{status}"
        );
        assert!(status.contains("2 series"), "{status}");
    }
    // In the pane: the pane's keys.
    a.key(key(KeyCode::Esc));
    assert_eq!(a.focus, Focus::Results);
    for (w, h) in SIZES {
        let text = screen(&mut a, w, h);
        let status = text.lines().last().unwrap();
        assert!(status.contains("g graph · s sort"), "{status}");
        assert!(!status.contains("Enter run"), "{status}");
    }
    // The empty pane's hint with the pane focused, and the prompt's placeholder.
    let mut b = app_with_data(Theme::load("default").unwrap());
    b.key(key(KeyCode::Esc));
    let text = screen(&mut b, 80, 24);
    assert!(text.contains("No query yet. g: graph / table"), "{text}");
    assert!(text.contains("Esc comes back here"), "{text}");
    // The completion popup and the history search have their own keys.
    b.key(key(KeyCode::Esc));
    b.msg(Msg::MetricNames(vec!["up_a".into(), "up_b".into()]));
    b.editor.set("up_");
    b.key(key(KeyCode::Tab));
    let text = screen(&mut b, 80, 24);
    assert!(
        text.lines().last().unwrap().contains("Tab/Enter insert"),
        "{text}"
    );
    b.key(key(KeyCode::Esc));
    b.key(ctrl('r'));
    let text = screen(&mut b, 160, 48);
    assert!(
        text.lines().last().unwrap().contains("Ctrl-R older"),
        "{text}"
    );
    // A filter being typed.
    let mut c = with_metrics(app_with_data(Theme::load("default").unwrap()));
    open(&mut c, '5');
    c.key(key(KeyCode::Char('/')));
    let text = screen(&mut c, 80, 24);
    assert!(
        text.lines().last().unwrap().contains("Enter keep"),
        "{text}"
    );
}

fn ctrl(c: char) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::new(KeyCode::Char(c), crossterm::event::KeyModifiers::CONTROL)
}

#[test]
fn the_metrics_explorer_started_before_the_first_scrape_fills_in() {
    let mut a = App::new(
        Theme::load("default").unwrap(),
        crate::tui::prompt::History::load(None),
        "local",
    );
    let t0 = a.now;
    a.start();
    a.msg(Msg::MetricNames(vec![]));
    open(&mut a, '5');
    assert_eq!(a.view, View::Metrics);
    let text = screen(&mut a, 80, 24);
    assert!(
        text.contains("Metrics (0)") && text.contains("no metrics yet"),
        "{text}"
    );
    // The host collector's first scrape lands; the next panels tick asks again.
    let cmds = a.tick(t0 + 5.0, true);
    assert!(cmds.contains(&Cmd::MetricNames), "{cmds:?}");
    a.msg(Msg::MetricNames(vec![
        "node_cpu_seconds_total".into(),
        "node_memory_MemAvailable_bytes".into(),
    ]));
    let text = screen(&mut a, 80, 24);
    assert!(
        text.contains("Metrics (2)") && text.contains("node_memory_MemAvailable_bytes"),
        "{text}"
    );
}
