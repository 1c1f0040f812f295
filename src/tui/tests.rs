//! Rendering and the whole loop against promterm's own API (no terminal: ratatui's
//! TestBackend).

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use ratatui::Terminal;

use super::app::{App, Focus, Mouse, Msg, View};
use super::data::{AlertRow, QueryData, SeriesData, Target};
use super::prompt::History;
use super::theme::Theme;
use super::{execute_cmd, render};
use crate::client::{Local, Source};

fn draw(app: &mut App, w: u16, h: u16) -> (String, ratatui::buffer::Buffer) {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    app.set_wide(render::is_wide(ratatui::layout::Rect::new(0, 0, w, h)));
    term.draw(|f| render::render(app, f)).unwrap();
    let buf = term.backend().buffer().clone();
    let text: String = (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                + "\n"
        })
        .collect();
    (text, buf)
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn app_with_data(theme: Theme) -> App {
    let mut a = App::new(theme, History::load(None), "http://prom:9090");
    a.now = 1_700_000_000.0;
    a.msg(Msg::Targets(Ok(vec![
        Target {
            pool: "node".into(),
            instance: "host-a:9100".into(),
            labels: Default::default(),
            discovered: Default::default(),
            health: "up".into(),
            last_error: String::new(),
            last_scrape: "2023-11-14T22:13:15Z".into(),
            duration: 0.012,
        },
        Target {
            pool: "node".into(),
            instance: "host-b:9100".into(),
            labels: Default::default(),
            discovered: Default::default(),
            health: "down".into(),
            last_error: "connection refused".into(),
            last_scrape: "2023-11-14T22:13:10Z".into(),
            duration: 0.001,
        },
    ]
    .into())));
    a.msg(Msg::Rules(Ok((
        vec![],
        vec![AlertRow {
            name: "HostDown".into(),
            labels: [("instance".to_string(), "host-b:9100".to_string())].into(),
            annotations: Default::default(),
            state: "pending".into(),
            active_at: "2023-11-14T22:10:20Z".into(),
            value: "0".into(),
            query: "up == 0".into(),
            for_secs: 600.0,
        }],
    ))));
    a
}

#[test]
fn one_screen_at_100x30_shows_prompt_results_targets_and_alerts() {
    let mut a = app_with_data(Theme::load("default").unwrap());
    for c in "up".chars() {
        a.key(key(KeyCode::Char(c)));
    }
    a.msg(Msg::RemoteWrite(vec![super::data::SenderRow {
        name: "to-mimir".into(),
        pending: 120,
        sent: 52000,
        failed: 3,
        dropped: 0,
        shards: 3,
        protocol: "2.0".into(),
    }]));
    let (text, _) = draw(&mut a, 100, 30);
    assert!(
        text.contains("→ to-mimir") && text.contains("pending 120"),
        "{text}"
    );
    for want in [
        " PromQL ",
        " Table ",
        "Targets 1/2 up",
        " Alerts ",
        "host-a:9100",
        "connection refused",
        "0 firing",
        "1 pending",
        "HostDown",
        "since 3m0s, fires in 7m0s",
        "http://prom:9090",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    assert!(
        text.lines().next().unwrap().contains("PromQL"),
        "prompt on top"
    );
}

#[test]
fn small_terminals_get_tabs_and_resizing_reflows() {
    let mut a = app_with_data(Theme::load("default").unwrap());
    let (text, _) = draw(&mut a, 80, 24);
    assert!(text.starts_with(" 1 Query"), "{text}");
    assert!(
        text.contains("2 Targets") && text.contains("5 Metrics"),
        "{text}"
    );
    assert!(
        !text.contains("host-a:9100"),
        "targets are on their own tab:\n{text}"
    );
    a.key(key(KeyCode::Esc));
    a.key(key(KeyCode::Char('2')));
    let (text, _) = draw(&mut a, 80, 24);
    assert!(text.contains("host-a:9100"), "{text}");
    let (text, _) = draw(&mut a, 120, 40);
    assert!(
        text.contains(" PromQL ") && text.contains("host-a:9100"),
        "{text}"
    );
}

#[test]
fn range_results_draw_a_braille_chart_with_axes_and_legend() {
    let mut a = app_with_data(Theme::load("dark").unwrap());
    a.graph = true;
    a.shown_expr = "rate(x[1m])".into();
    let (s, e, step) = a.window();
    let points = |k: f64| {
        let mut v = Vec::new();
        let mut t = s;
        while t <= e {
            v.push((t, k * ((t - s) / 600.0).sin() + 2.0 * k));
            t += step;
        }
        v
    };
    a.msg(Msg::Query {
        id: 0,
        result: Ok((
            QueryData::Matrix(vec![
                SeriesData {
                    labels: [("job".to_string(), "a".to_string())].into(),
                    points: points(1.0),
                    ..Default::default()
                },
                SeriesData {
                    labels: [("job".to_string(), "b".to_string())].into(),
                    points: points(3.0),
                    ..Default::default()
                },
            ]),
            vec![],
        )),
        seconds: 0.02,
        stats: None,
    });
    a.focus = Focus::Results;
    a.cursor = Some(10);
    let (text, _) = draw(&mut a, 120, 40);
    let braille = text
        .chars()
        .filter(|c| ('\u{2800}'..='\u{28ff}').contains(c))
        .count();
    assert!(braille > 50, "chart lines:\n{text}");
    assert!(text.contains("Graph 1h"), "{text}");
    assert!(
        text.contains("{job=\"a\"}") && text.contains("{job=\"b\"}"),
        "legend:\n{text}"
    );
    assert!(text.contains("local"), "time axis says local time:\n{text}");
    // Hiding a series removes its line.
    a.key(key(KeyCode::Down));
    a.key(key(KeyCode::Char(' ')));
    let (text2, _) = draw(&mut a, 120, 40);
    let braille2 = text2
        .chars()
        .filter(|c| ('\u{2800}'..='\u{28ff}').contains(c))
        .count();
    assert!(braille2 < braille, "{braille2} vs {braille}");
    assert!(text2.contains('□'), "{text2}");
}

#[test]
fn help_lists_every_key_and_no_color_keeps_the_selection_visible() {
    let mut a = app_with_data(Theme::load("default").unwrap().without_colors());
    for (w, h) in [(100, 40), (100, 30), (140, 24)] {
        // What does not fit scrolls: every key shows on one of the pages.
        a.help = true;
        a.help_scroll = 0;
        let mut text = String::new();
        for _ in 0..5 {
            text.push_str(&draw(&mut a, w, h).0);
            a.key(key(KeyCode::PageDown));
        }
        for (k, _) in render::HELP {
            assert!(text.contains(k), "help at {w}x{h} lacks {k:?}:\n{text}");
        }
    }
    a.help = false;
    a.set_view(View::Targets);
    let (text, buf) = draw(&mut a, 100, 30);
    let (x, y) = text
        .lines()
        .enumerate()
        .find_map(|(y, l)| l.find("host-a:9100").map(|x| (l[..x].chars().count(), y)))
        .expect("target row");
    assert!(buf[(x as u16, y as u16)]
        .modifier
        .contains(Modifier::REVERSED));
    assert!(buf[(x as u16, y as u16)].fg == ratatui::style::Color::Reset);
}

#[test]
fn syntax_highlighting_and_inline_parse_errors() {
    let mut a = app_with_data(Theme::load("default").unwrap());
    for c in "sum(rate(x{a=\"b\"}[5m])".chars() {
        a.key(key(KeyCode::Char(c)));
    }
    let (text, buf) = draw(&mut a, 100, 30);
    assert!(text.contains("^ "), "caret under the error:\n{text}");
    assert!(text.contains("unclosed left parenthesis"), "{text}");
    // `sum` is a function (blue), `"b"` a string (green).
    let line = text.lines().nth(1).unwrap();
    let col = |s: &str| line[..line.find(s).unwrap()].chars().count() as u16;
    assert_eq!(buf[(col("sum"), 1)].fg, ratatui::style::Color::Blue);
    assert_eq!(buf[(col("\"b\""), 1)].fg, ratatui::style::Color::Green);
}

#[tokio::test]
async fn the_loop_against_promterm_in_process() {
    use crate::model::Sample;
    use crate::storage::{Appender, SeriesInput};
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = crate::tsdb::Db::open(dir.path(), crate::tsdb::Options::default()).unwrap();
    let now_ms = crate::model::now_ms();
    for (job, v) in [("api", 1.0), ("db", 0.0)] {
        db.append(&[SeriesInput {
            labels: vec![("__name__", "up"), ("instance", "h:1"), ("job", job)],
            samples: vec![Sample {
                t: now_ms - 1000,
                v,
            }],
        }])
        .unwrap();
    }
    let db = Arc::new(db);
    let state = crate::api::ApiState::new(db.clone(), db, crate::remote::Limits::default());
    state.set_ready(true);
    let source: Arc<dyn Source> = Arc::new(Local::new(state));
    let mut a = App::new(
        Theme::load("default").unwrap(),
        History::load(None),
        "local",
    );
    // What the loop does: run each command, feed the answer back.
    let run = |_: &mut App, cmds: Vec<super::app::Cmd>| {
        let src = source.clone();
        async move {
            let mut msgs = Vec::new();
            for c in cmds {
                msgs.push(execute_cmd(src.as_ref(), c).await);
            }
            msgs
        }
    };
    let start = a.start();
    for m in run(&mut a, start).await {
        a.msg(m);
    }
    assert_eq!(a.known.metrics, ["up"]);
    assert_eq!(a.series_counts.get("up"), Some(&2));
    for c in "up{j".chars() {
        a.key(key(KeyCode::Char(c)));
    }
    let cmds = a.key(key(KeyCode::Tab));
    for m in run(&mut a, cmds).await {
        a.msg(m);
    }
    assert_eq!(a.editor.text(), "up{job", "the only label starting with j");
    for c in "=\"a".chars() {
        a.key(key(KeyCode::Char(c)));
    }
    let cmds = a.key(key(KeyCode::Tab));
    for m in run(&mut a, cmds).await {
        a.msg(m);
    }
    assert_eq!(a.editor.text(), "up{job=\"api\"");
    a.key(key(KeyCode::Char('}')));
    a.now = now_ms as f64 / 1000.0;
    let cmds = a.key(key(KeyCode::Enter));
    for m in run(&mut a, cmds).await {
        a.msg(m);
    }
    assert!(a.error.is_none(), "{:?}", a.error);
    let (text, _) = draw(&mut a, 100, 30);
    assert!(text.contains("up{instance=\"h:1\", job=\"api\"}"), "{text}");
    assert!(!text.contains("job=\"db\""), "{text}");
    // A bad query shows the server's error.
    a.editor.set("sum(");
    let cmds = a.key(key(KeyCode::Enter));
    for m in run(&mut a, cmds).await {
        a.msg(m);
    }
    assert!(
        a.error
            .as_deref()
            .is_some_and(|e| e.contains("parse error")),
        "{:?}",
        a.error
    );
}

#[test]
fn the_mouse_focuses_and_scrolls_the_pane_under_it() {
    let mut a = app_with_data(Theme::load("default").unwrap());
    let area = ratatui::layout::Rect::new(0, 0, 100, 30);
    a.set_wide(true);
    assert_eq!(render::pane_at(&a, area, 5, 1), Some(Focus::Prompt));
    assert_eq!(render::pane_at(&a, area, 10, 10), Some(Focus::Results));
    assert_eq!(render::pane_at(&a, area, 80, 5), Some(Focus::Targets));
    assert_eq!(render::pane_at(&a, area, 80, 25), Some(Focus::Alerts));
    a.mouse(render::hit_at(&a, area, 80, 5), Mouse::Wheel(true));
    assert_eq!((a.focus, a.targets_sel), (Focus::Targets, 1));
    a.mouse(render::hit_at(&a, area, 80, 5), Mouse::Wheel(false));
    assert_eq!(a.targets_sel, 0);
    a.mouse(render::hit_at(&a, area, 5, 1), Mouse::Down);
    assert_eq!(a.focus, Focus::Prompt);
}

#[test]
fn thousands_of_targets_render_only_what_fits() {
    let mut a = app_with_data(Theme::load("default").unwrap());
    let many: Vec<Target> = (0..5000)
        .map(|i| Target {
            pool: format!("job{}", i / 100),
            instance: format!("host-{i}:9100"),
            labels: Default::default(),
            discovered: Default::default(),
            health: if i % 7 == 0 {
                "down".into()
            } else {
                "up".into()
            },
            last_error: if i % 7 == 0 {
                "refused".into()
            } else {
                String::new()
            },
            last_scrape: String::new(),
            duration: 0.01,
        })
        .collect();
    a.msg(Msg::Targets(Ok(many.into())));
    a.set_view(View::Targets);
    a.targets_sel = 4321;
    let (text, _) = draw(&mut a, 120, 40);
    assert!(
        text.contains("host-4321:9100"),
        "the selection is in view:\n{text}"
    );
    assert!(text.contains("Targets 4285/5000 up"), "{text}");
}

mod dash_panels;
mod dash_save;
mod dashboards;
mod dashboards_repeat;
mod dashvars;
mod exemplars;
mod heatmap;
mod mouse;
mod relabel;
mod screens;
/// The overview with fake answers: every built-in panel has a rising line, except the load
/// (no data, and the server does not know node_load1) and the disk (an error).
fn overview_with_data(theme: Theme) -> App {
    use super::dashboard::{builtin, Overview, OVERVIEW_STEP};
    let mut a = app_with_data(theme);
    a.arrive(Overview::new(builtin()));
    a.msg(Msg::MetricNames(vec![
        "up".into(),
        "node_cpu_seconds_total".into(),
    ]));
    let end = (a.now / OVERVIEW_STEP).floor() * OVERVIEW_STEP;
    let range = (end - 900.0, end, OVERVIEW_STEP);
    let values = [
        2.0, 0.0, 1234.0, 2917.0, 0.25, 0.5, 0.0, 2048.0, 4096.0, 0.0, 1.0,
    ];
    for (index, last) in values.into_iter().enumerate() {
        let result = match index {
            6 => Ok(QueryData::Matrix(vec![])),
            9 => Err("bad_data: 1:5: parse error: boom".into()),
            _ => Ok(QueryData::Matrix(vec![SeriesData {
                labels: Default::default(),
                points: (0..=90)
                    .map(|k| (range.0 + k as f64 * OVERVIEW_STEP, last * k as f64 / 90.0))
                    .collect(),
                ..Default::default()
            }])),
        };
        a.msg(Msg::Panel {
            index,
            range,
            result,
        });
    }
    a
}

fn bars_in(text: &str) -> usize {
    text.chars().filter(|c| ('▁'..='█').contains(c)).count()
}

#[test]
fn the_overview_at_80x24_is_a_grid_of_sparklines_with_values() {
    let mut a = overview_with_data(Theme::load("default").unwrap());
    let (text, _) = draw(&mut a, 80, 24);
    assert!(text.contains("6 Overview"), "{text}");
    for want in [
        "Overview · last 15m",
        "Targets up",
        " 2 ",
        "Samples ingested",
        "1234/s",
        "Head series",
        "2917",
        "CPU busy",
        "25%",
        "Memory used",
        "50%",
        "Network in",
        "2.0 KiB/s",
        "Network out",
        "4.0 KiB/s",
        "Alerts firing",
        "no data: node_load1 is not",
        "error: bad_data",
        "←↑↓→ · Enter to prompt",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    assert!(bars_in(&text) > 100, "sparklines:\n{text}");
    // Two columns, and every panel is on the screen.
    assert_eq!(a.overview.cols.get(), 2);
    let lines: Vec<&str> = text.lines().collect();
    let row = lines.iter().find(|l| l.contains("Targets up")).unwrap();
    assert!(row.contains("Targets down"), "{row}");
}

#[test]
fn the_overview_at_160x48_shows_taller_sparklines_beside_targets_and_alerts() {
    let mut a = overview_with_data(Theme::load("default").unwrap());
    let (text, _) = draw(&mut a, 160, 48);
    for want in [
        " PromQL ",
        "Overview · last 15m",
        "Targets 1/2 up",
        "HostDown",
        "Samples ingested",
        "sum(rate(prometheus_tsdb_head_…",
        "max(node_load1)",
        "no data: node_load1 is not",
        "scraped here",
        "1234/s",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    assert_eq!(a.overview.cols.get(), 3);
    // Bars several rows high: full blocks under the tops.
    assert!(text.matches('█').count() > 100, "{text}");
    // The selected panel (the first) is highlighted while the overview has the focus.
    let (_, buf) = draw(&mut a, 160, 48);
    let (x, y) = text
        .lines()
        .enumerate()
        .find_map(|(y, l)| l.find("Targets up").map(|x| (l[..x].chars().count(), y)))
        .unwrap();
    let theme = &a.theme;
    assert_eq!(buf[(x as u16, y as u16)].bg, theme.selection_bg);
    // Moving the selection moves the highlight.
    a.key(key(KeyCode::Right));
    let (_, buf) = draw(&mut a, 160, 48);
    assert_ne!(buf[(x as u16, y as u16)].bg, a.theme.selection_bg);
}

#[test]
fn enter_on_a_panel_puts_its_query_into_the_prompt() {
    let mut a = overview_with_data(Theme::load("default").unwrap());
    draw(&mut a, 80, 24);
    a.key(key(KeyCode::Down));
    a.key(key(KeyCode::Right));
    assert_eq!(a.overview.selected, 3, "down a row of two, then right");
    a.key(key(KeyCode::Enter));
    assert_eq!((a.view, a.focus), (View::Query, Focus::Prompt));
    assert_eq!(a.editor.text(), "sum(prometheus_tsdb_head_series)");
    let (text, _) = draw(&mut a, 80, 24);
    assert!(text.contains("sum(prometheus_tsdb_head_series)"), "{text}");
    // `6` brings the overview back.
    a.key(key(KeyCode::Esc));
    a.key(key(KeyCode::Char('6')));
    assert_eq!((a.view, a.focus), (View::Overview, Focus::Results));
}

#[test]
fn a_users_overview_file_replaces_the_panels_and_a_bad_one_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("overview.toml");
    std::fs::write(
        &path,
        "[[panel]]\ntitle = \"Heap\"\nquery = \"go_memstats_heap_alloc_bytes\"\nunit = \"bytes\"\n",
    )
    .unwrap();
    let mut a = app_with_data(Theme::load("default").unwrap());
    a.arrive(super::dashboard::load(Some(&path)));
    a.msg(Msg::Panel {
        index: 0,
        range: (0.0, 20.0, 10.0),
        result: Ok(QueryData::Matrix(vec![SeriesData {
            labels: Default::default(),
            points: vec![(10.0, 1048576.0), (20.0, 3145728.0)],
            ..Default::default()
        }])),
    });
    let (text, _) = draw(&mut a, 80, 24);
    assert!(
        text.contains("Overview · last 15m · overview.toml"),
        "{text}"
    );
    assert!(text.contains("Heap") && text.contains("3.0 MiB"), "{text}");
    assert!(!text.contains("Targets up"), "{text}");
    std::fs::write(&path, "[[panel]]\ntitle = \"Heap\"\n").unwrap();
    a.arrive(super::dashboard::load(Some(&path)));
    let (text, _) = draw(&mut a, 160, 48);
    assert!(text.contains("missing field `query`"), "{text}");
    assert!(
        text.contains("Targets up") && text.contains("loading…"),
        "{text}"
    );
}

#[tokio::test]
async fn overview_panels_run_against_promterm_in_process() {
    use crate::model::Sample;
    use crate::storage::{Appender, SeriesInput};
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = crate::tsdb::Db::open(dir.path(), crate::tsdb::Options::default()).unwrap();
    let now_ms = crate::model::now_ms();
    for (job, v) in [("api", 1.0), ("db", 0.0)] {
        db.append(&[SeriesInput {
            labels: vec![("__name__", "up"), ("instance", "h:1"), ("job", job)],
            samples: (0..6)
                .map(|k| Sample {
                    t: now_ms - 60_000 + k * 10_000,
                    v,
                })
                .collect(),
        }])
        .unwrap();
    }
    let db = Arc::new(db);
    let state = crate::api::ApiState::new(db.clone(), db, crate::remote::Limits::default());
    state.set_ready(true);
    let source: Arc<dyn Source> = Arc::new(Local::new(state));
    let mut a = App::new(
        Theme::load("default").unwrap(),
        History::load(None),
        "local",
    );
    a.arrive(super::dashboard::load(None));
    // The start asks for the metric names (which tell why a panel is empty), the first tick
    // for the panels.
    let mut cmds = a.start();
    cmds.extend(a.tick(now_ms as f64 / 1000.0, false));
    assert!(cmds
        .iter()
        .any(|c| matches!(c, super::app::Cmd::Panel { .. })));
    for c in cmds {
        a.msg(execute_cmd(source.as_ref(), c).await);
    }
    let d = &a.overview.data;
    assert_eq!(d[0].last(), Some(1.0), "sum(up)");
    assert_eq!(d[1].last(), Some(1.0), "one target down");
    assert!(d[6].is_empty(), "no load here: {:?}", d[6]);
    assert_eq!(d[10].last(), Some(0.0), "no alert firing");
    let (text, _) = draw(&mut a, 160, 48);
    assert!(text.contains("node_load1 is not"), "{text}");
}

#[test]
fn many_panels_add_columns_then_scroll_to_the_selection() {
    use super::dashboard::{parse, Overview};
    use super::view::overview::{grid, Grid};
    assert_eq!(
        grid(11, 78, 20),
        Grid {
            cols: 2,
            row_h: 3,
            visible_rows: 6
        }
    );
    assert_eq!(grid(11, 97, 42).cols, 3);
    assert_eq!(grid(20, 78, 20).cols, 3, "narrower panels before scrolling");
    let file: String = (0..20)
        .map(|i| format!("[[panel]]\ntitle = \"P{i:02}\"\nquery = \"m{i}\"\n"))
        .collect();
    let mut a = app_with_data(Theme::load("default").unwrap());
    a.arrive(Overview::new(parse(&file, "o.toml").unwrap()));
    let (text, _) = draw(&mut a, 80, 24);
    assert!(text.contains("P00") && !text.contains("P19"), "{text}");
    a.key(key(KeyCode::End));
    let (text, _) = draw(&mut a, 80, 24);
    assert!(text.contains("P19") && !text.contains("P00"), "{text}");
}

#[tokio::test]
async fn an_empty_answer_explains_itself_in_the_results_pane() {
    use crate::model::Sample;
    use crate::storage::{Appender, SeriesInput};
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = crate::tsdb::Db::open(dir.path(), crate::tsdb::Options::default()).unwrap();
    let now_ms = crate::model::now_ms();
    db.append(&[SeriesInput {
        labels: vec![("__name__", "node_cpu_seconds_total"), ("mode", "idle")],
        samples: vec![Sample {
            t: now_ms - 20_000,
            v: 1.0,
        }],
    }])
    .unwrap();
    let db = Arc::new(db);
    let state = crate::api::ApiState::new(db.clone(), db, crate::remote::Limits::default());
    state.set_ready(true);
    let source = Local::new(state);
    let mut a = App::new(
        Theme::load("default").unwrap(),
        History::load(None),
        "local",
    );
    a.now = now_ms as f64 / 1000.0;
    for (q, want) in [
        (
            "rate(node_cpu_seconds_total[1m])",
            "rate(node_cpu_seconds_total[1m]) needs two samples in 1m; the oldest sample is 20s old — wait, or widen the range",
        ),
        (
            "node_cpu_seconds_total{mode=\"usr\"}",
            "no series of node_cpu_seconds_total has mode=\"usr\" (mode has: idle)",
        ),
    ] {
        a.editor.set(q);
        let mut cmds = a.key(key(KeyCode::Enter));
        while let Some(c) = cmds.pop() {
            let m = execute_cmd(&source, c).await;
            cmds.extend(a.msg(m));
        }
        assert_eq!(a.explanation, [want]);
        for (w, h) in [(80, 24), (160, 48)] {
            let (text, _) = draw(&mut a, w, h);
            // The pane wraps the line: read it back without the frame.
            let flat: String = text
                .lines()
                .map(|l| l.trim_matches(|c: char| c == '│' || c == ' '))
                .collect::<Vec<_>>()
                .join(" ");
            assert!(text.contains("no series:"), "{text}");
            assert!(flat.contains(want), "{w}x{h}:\n{text}");
        }
    }
    // The same query answering nothing again (a live re-run) keeps the reason until the
    // new one comes.
    let id = a.query_id;
    let cmds = a.msg(Msg::Query {
        id,
        result: Ok((QueryData::Matrix(vec![]), vec![])),
        seconds: 0.0,
        stats: None,
    });
    assert!(
        matches!(cmds[..], [super::app::Cmd::Explain { .. }]),
        "{cmds:?}"
    );
    assert_eq!(a.explanation.len(), 1);
    a.msg(Msg::Explain { id, lines: vec![] });
    assert!(a.explanation.is_empty());
    // A later answer with series drops the explanation.
    a.editor.set("node_cpu_seconds_total");
    let mut cmds = a.key(key(KeyCode::Enter));
    while let Some(c) = cmds.pop() {
        let m = execute_cmd(&source, c).await;
        cmds.extend(a.msg(m));
    }
    assert!(a.explanation.is_empty());
    let (text, _) = draw(&mut a, 80, 24);
    assert!(!text.contains("no series:"), "{text}");
}
