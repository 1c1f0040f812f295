//! The heatmap drawn into a TestBackend: shades and colours of known cells, the quantile
//! marks' rows, the cursor's readout, NO_COLOR, `g` cycling graph / heatmap / table, a click
//! on a cell, and classic `le` series drawn alike; the metrics explorer marking histograms;
//! a query's warnings and infos under the prompt.

use crossterm::event::KeyCode;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;

use super::{app_with_data, draw, key};
use crate::client::histogram::{BucketJson, HistogramJson};
use crate::tui::app::{App, Cmd, Focus, Mouse, Msg, Spot};
use crate::tui::data::{QueryData, SeriesData};
use crate::tui::render;
use crate::tui::theme::Theme;
use crate::tui::view::heatmap::{layout, HeatLayout, RAMP};

/// Bucket bounds: six exponential buckets 0.25 … 16.
const BOUNDS: [f64; 7] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];
/// Counts before and after the window's middle. Early: p50 in row 1, p90 in row 3, p99 in
/// row 5; late: p50 in row 4, p90 and p99 in row 5.
const EARLY: [f64; 6] = [10.0, 45.0, 20.0, 20.0, 3.0, 2.0];
const LATE: [f64; 6] = [0.0, 0.0, 5.0, 5.0, 45.0, 45.0];

fn hist(counts: &[f64]) -> HistogramJson {
    HistogramJson {
        count: counts.iter().sum(),
        sum: 0.0,
        count_text: String::new(),
        sum_text: String::new(),
        buckets: counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0.0)
            .map(|(i, c)| BucketJson {
                rule: 0,
                lower: BOUNDS[i],
                upper: BOUNDS[i + 1],
                count: *c,
            })
            .collect(),
    }
}

/// A range result of one native histogram series over the app's window.
fn native_result(a: &App) -> QueryData {
    let (s, e, step) = a.window();
    let mid = (s + e) / 2.0;
    let histograms: Vec<(f64, HistogramJson)> = (0..=((e - s) / step) as usize)
        .map(|i| s + i as f64 * step)
        .map(|t| (t, hist(if t < mid { &EARLY } else { &LATE })))
        .collect();
    QueryData::Matrix(vec![SeriesData {
        labels: [("__name__".to_string(), "rpc_seconds".to_string())].into(),
        points: histograms.iter().map(|(t, h)| (*t, h.count)).collect(),
        histograms,
    }])
}

fn heatmap_app(theme: Theme) -> App {
    let mut a = app_with_data(theme);
    a.graph = true;
    a.heatmap = true;
    a.shown_expr = "rpc_seconds".into();
    let r = native_result(&a);
    a.msg(Msg::Query {
        id: 0,
        result: Ok((r, vec![])),
        seconds: 0.01,
        stats: None,
    });
    a.focus = Focus::Results;
    a
}

/// Draws only the heatmap into a `w`×`h` buffer.
fn draw_heatmap(a: &App, w: u16, h: u16) -> (Buffer, HeatLayout, String) {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| crate::tui::view::heatmap::draw(a, f, f.area()))
        .unwrap();
    let buf = term.backend().buffer().clone();
    let text: String = (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
        .collect();
    (buf, layout(a, Rect::new(0, 0, w, h)), text)
}

/// The symbol and foreground of row `r` (lowest 0) in plot column `c`.
fn cell(buf: &Buffer, g: &HeatLayout, c: u16, r: usize) -> (String, Color, Color) {
    let x = g.plot.x + c;
    let y = g.line_of(r);
    let cell = &buf[(x, y)];
    (cell.symbol().to_string(), cell.fg, cell.bg)
}

#[test]
fn cells_are_shaded_by_count_with_quantile_marks_over_them() {
    let a = heatmap_app(Theme::load("default").unwrap());
    let (buf, g, text) = draw_heatmap(&a, 70, 10);
    assert_eq!(g.grid.rows.len(), 6, "{text}");
    assert_eq!(g.grid.max, 45.0);
    let last = g.plot.width - 1;
    let (blue, cyan, red) = (RAMP[0].0, RAMP[1].0, RAMP[3].0);
    // Early column: 10 (level 1), p50 mark, 20 (level 2), p90 mark, 3 (level 1), p99 mark.
    let want_early = [
        ("░", blue, Color::Reset),
        ("━", RAMP[3].1, red),
        ("▒", cyan, Color::Reset),
        ("─", RAMP[1].1, cyan),
        ("░", blue, Color::Reset),
        ("┄", RAMP[0].1, blue),
    ];
    for (r, (sym, fg, bg)) in want_early.iter().enumerate() {
        assert_eq!(
            cell(&buf, &g, 0, r),
            (sym.to_string(), *fg, *bg),
            "early row {r}:\n{text}"
        );
    }
    // Late column: nothing in rows 0 and 1, 5 and 5 (level 1), p50 on 45, p90 over p99 on 45.
    let want_late = [
        (" ", Color::Reset, Color::Reset),
        (" ", Color::Reset, Color::Reset),
        ("░", blue, Color::Reset),
        ("░", blue, Color::Reset),
        ("━", RAMP[3].1, red),
        ("─", RAMP[3].1, red),
    ];
    for (r, (sym, fg, bg)) in want_late.iter().enumerate() {
        assert_eq!(
            cell(&buf, &g, last, r),
            (sym.to_string(), *fg, *bg),
            "late row {r}:\n{text}"
        );
    }
    // Rows are labelled with their upper bounds (every other row, and the top one).
    let label = |r: usize| {
        let y = g.top_of(r);
        (g.gutter.x..g.gutter.right())
            .map(|x| buf[(x, y)].symbol())
            .collect::<String>()
    };
    assert_eq!(label(0).trim(), "0.5");
    assert_eq!(label(5).trim(), "16");
    assert_eq!(label(1).trim(), "");
    // The legend gives the scale and the marks; the header the series.
    assert!(
        text.contains("per cell ░░≤11.25 ▒▒≤22.5 ▓▓≤33.75 ██≤45  ━ p50 ─ p90 ┄ p99"),
        "{text}"
    );
    assert!(text.contains("rpc_seconds (native)"), "{text}");
    assert!(text.contains("←→ time · ↑↓ bucket"), "{text}");
}

#[test]
fn the_cursor_reads_out_bucket_count_and_percentile() {
    let mut a = heatmap_app(Theme::load("default").unwrap());
    // ← from the end puts the cursor on the window's last step (the late histogram);
    // the row starts at the column's median (row 4) and ↓↓ moves it to row 2.
    a.key(key(KeyCode::Left));
    a.key(key(KeyCode::Right));
    let (_, _, text) = draw_heatmap(&a, 100, 12);
    assert!(
        text.contains("bucket (4, 8]  count 45  percentile 55%"),
        "{text}"
    );
    a.key(key(KeyCode::Down));
    a.key(key(KeyCode::Down));
    assert_eq!(a.heat_row, Some(2));
    let (buf, g, text) = draw_heatmap(&a, 100, 12);
    assert!(
        text.contains("bucket (1, 2]  count 5  percentile 5%"),
        "{text}"
    );
    let last = g.plot.x + g.plot.width - 1;
    assert!(buf[(last, g.line_of(2))]
        .modifier
        .contains(Modifier::REVERSED));
    // The first step: the early histogram; ↑ past the top stays on the top row.
    a.cursor = Some(0);
    for _ in 0..10 {
        a.key(key(KeyCode::Up));
    }
    let (_, _, text) = draw_heatmap(&a, 100, 12);
    assert_eq!(a.heat_row, Some(5));
    assert!(
        text.contains("bucket (8, 16]  count 2  percentile 100%"),
        "{text}"
    );
}

#[test]
fn no_color_uses_shades_alone() {
    let a = heatmap_app(Theme::load("default").unwrap().without_colors());
    let (buf, g, text) = draw_heatmap(&a, 70, 10);
    let syms: Vec<String> = (0..6).map(|r| cell(&buf, &g, 0, r).0).collect();
    assert_eq!(syms, ["░", "━", "▒", "─", "░", "┄"], "{text}");
    for y in 0..10 {
        for x in 0..70 {
            let c = &buf[(x, y)];
            assert_eq!(
                (c.fg, c.bg),
                (Color::Reset, Color::Reset),
                "({x},{y}):\n{text}"
            );
        }
    }
    assert!(
        text.contains("per cell ░░≤11.25 ▒▒≤22.5 ▓▓≤33.75 ██≤45  ━ p50 ─ p90 ┄ p99"),
        "{text}"
    );
}

#[test]
fn g_cycles_graph_heatmap_table_for_histograms_only() {
    let mut a = app_with_data(Theme::load("default").unwrap());
    a.shown_expr = "rpc_seconds".into();
    a.focus = Focus::Results;
    // Table → graph: a range query.
    let cmds = a.key(key(KeyCode::Char('g')));
    assert!(
        matches!(&cmds[0], Cmd::Query { range: Some(_), .. }),
        "{cmds:?}"
    );
    let r = native_result(&a);
    a.msg(Msg::Query {
        id: a.query_id,
        result: Ok((r, vec![])),
        seconds: 0.01,
        stats: None,
    });
    assert!(a.graph && !a.showing_heatmap());
    let text = draw(&mut a, 120, 40).0;
    assert!(
        text.contains(" Graph 1h ") && text.contains("g heatmap"),
        "{text}"
    );
    // Graph → heatmap: the same data, no new query.
    assert!(a.key(key(KeyCode::Char('g'))).is_empty());
    assert!(a.showing_heatmap());
    let text = draw(&mut a, 120, 40).0;
    assert!(text.contains(" Heatmap 1h "), "{text}");
    assert!(text.contains("━ p50"), "{text}");
    // Heatmap → table: an instant query.
    let cmds = a.key(key(KeyCode::Char('g')));
    assert!(
        matches!(&cmds[0], Cmd::Query { range: None, .. }),
        "{cmds:?}"
    );
    assert!(!a.graph && !a.heatmap);
    // A result that is no histogram: graph → table.
    a.key(key(KeyCode::Char('g')));
    a.msg(Msg::Query {
        id: a.query_id,
        result: Ok((
            QueryData::Matrix(vec![SeriesData {
                points: vec![(a.window().1, 1.0)],
                ..Default::default()
            }]),
            vec![],
        )),
        seconds: 0.01,
        stats: None,
    });
    let cmds = a.key(key(KeyCode::Char('g')));
    assert!(
        matches!(&cmds[0], Cmd::Query { range: None, .. }),
        "{cmds:?}"
    );
    assert!(!a.graph);
}

#[test]
fn a_click_on_a_cell_puts_the_cursor_there() {
    let mut a = heatmap_app(Theme::load("default").unwrap());
    let area = Rect::new(0, 0, 120, 40);
    draw(&mut a, 120, 40);
    // Find the plot on screen through the same layout the view uses: the first column of
    // the plot, bucket row 2 (the early histogram's (1, 2]).
    let (x, y) = (0..120)
        .flat_map(|x| (0..40).map(move |y| (x, y)))
        .find(|(x, y)| {
            matches!(
                render::hit_at(&a, area, *x, *y).map(|h| h.spot),
                Some(Spot::Cell { row: 2, .. })
            )
        })
        .expect("a cell of row 2 under some point");
    let hit = render::hit_at(&a, area, x, y);
    a.mouse(hit, Mouse::Down);
    a.mouse(hit, Mouse::Up);
    assert_eq!(a.heat_row, Some(2));
    // The cursor's step is one in the plot's first column.
    let (start, _, step) = a.window();
    let c = a.cursor.expect("a cursor");
    assert!(c as f64 * step < 3600.0 / 60.0, "{c}");
    assert!(start > 0.0);
    let text = draw(&mut a, 120, 40).0;
    assert!(
        text.contains("bucket (1, 2]  count 20  percentile 75%"),
        "{text}"
    );
}

#[test]
fn classic_bucket_series_draw_as_a_heatmap_too() {
    let mut a = app_with_data(Theme::load("default").unwrap());
    a.graph = true;
    a.heatmap = true;
    let (s, e, step) = a.window();
    let times: Vec<f64> = (0..=((e - s) / step) as usize)
        .map(|i| s + i as f64 * step)
        .collect();
    // Cumulative 2, 6, 8 per step: buckets (0, 0.1]: 2, (0.1, 1]: 4, (1, +Inf]: 2.
    let le = |le: &str, v: f64| SeriesData {
        labels: [
            ("__name__".to_string(), "x_bucket".to_string()),
            ("le".to_string(), le.to_string()),
        ]
        .into(),
        points: times.iter().map(|t| (*t, v)).collect(),
        histograms: vec![],
    };
    a.msg(Msg::Query {
        id: 0,
        result: Ok((
            QueryData::Matrix(vec![le("0.1", 2.0), le("1", 6.0), le("+Inf", 8.0)]),
            vec![],
        )),
        seconds: 0.01,
        stats: None,
    });
    assert!(a.showing_heatmap());
    let (buf, g, text) = draw_heatmap(&a, 60, 10);
    assert_eq!(
        g.grid.rows,
        vec![(0.0, 0.1), (0.1, 1.0), (1.0, f64::INFINITY)]
    );
    assert!(text.contains("x_bucket (classic)"), "{text}");
    // Three rows stretched over six lines: two lines each; p50/p90/p99 on the middle rows.
    assert_eq!(g.row_h, 2);
    assert_eq!(cell(&buf, &g, 0, 0).0, "▒", "{text}");
    assert_eq!(cell(&buf, &g, 0, 1).0, "━", "{text}");
    assert_eq!(cell(&buf, &g, 0, 2).0, "─", "{text}");
    assert!(text.contains("+Inf"), "{text}");
}

#[test]
fn the_metrics_explorer_marks_histograms() {
    let mut a = app_with_data(Theme::load("default").unwrap());
    a.msg(Msg::MetricNames(
        [
            "rpc_seconds",
            "http_seconds_bucket",
            "http_seconds_count",
            "up",
        ]
        .map(String::from)
        .to_vec(),
    ));
    a.msg(Msg::Metadata(
        [
            ("rpc_seconds", "histogram"),
            ("http_seconds", "histogram"),
            ("up", "gauge"),
        ]
        .map(|(k, t)| (k.to_string(), (t.to_string(), format!("about {k}"))))
        .into_iter()
        .collect(),
    ));
    a.key(key(KeyCode::Esc));
    a.key(key(KeyCode::Char('5')));
    let text = draw(&mut a, 160, 48).0;
    let row = |m: &str| {
        text.lines()
            .find(|l| l.contains(&format!("│{m} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("rpc_seconds").contains("native hist"), "{text}");
    assert!(
        row("http_seconds_bucket").contains("classic hist"),
        "{text}"
    );
    assert!(row("http_seconds_count").contains("classic hist"), "{text}");
    assert!(
        row("http_seconds_count").contains("about http_seconds"),
        "{text}"
    );
    assert!(
        row("up").contains("gauge") && !row("up").contains("hist"),
        "{text}"
    );
    // Narrow: a mark after the name.
    let text = draw(&mut a, 50, 20).0;
    assert!(text.contains("rpc_seconds ▦"), "{text}");
    assert!(!text.contains("up ▦"), "{text}");
}

#[test]
fn warnings_and_infos_show_under_the_prompt_in_their_colours() {
    let mut a = app_with_data(Theme::load("default").unwrap());
    a.shown_expr = "rate(h[5m])".into();
    a.msg(Msg::Query {
        id: 0,
        result: Ok((
            QueryData::Vector(vec![]),
            vec![
                "PromQL warning: encountered a mix of histograms and floats".into(),
                "PromQL info: metric might not be a counter".into(),
            ],
        )),
        seconds: 0.01,
        stats: None,
    });
    let (text, buf) = draw(&mut a, 120, 40);
    let find = |s: &str| {
        text.lines()
            .position(|l| l.contains(s))
            .unwrap_or_else(|| panic!("no {s:?} in:\n{text}"))
    };
    let (w, i) = (
        find("PromQL warning: encountered a mix"),
        find("PromQL info: metric might not be a counter"),
    );
    assert!(
        w < find(" Table ") && i < find(" Table "),
        "under the prompt:\n{text}"
    );
    assert_eq!(buf[(0, w as u16)].fg, a.theme.warning);
    assert_eq!(buf[(0, i as u16)].fg, a.theme.label);
}

#[test]
fn tiny_areas_do_not_panic() {
    let mut a = heatmap_app(Theme::load("default").unwrap());
    a.cursor = Some(3);
    a.heat_row = Some(40);
    for (w, h) in [(1, 1), (3, 2), (10, 3), (12, 5), (30, 6)] {
        draw_heatmap(&a, w, h);
    }
    // The smallest terminal drawn in, with tabs.
    let text = draw(&mut a, 40, 10).0;
    assert!(text.contains("Heatmap"), "{text}");
}
