//! The mouse, fed at places found on a drawn screen: a click on a legend entry hides its
//! series (and the legend shows it hidden), the wheel over the legend scrolls it, a drag
//! across the plot zooms to the dragged range (a drag that does not move is a click, which
//! places the value cursor), a click on an overview panel selects it; the plot the mouse is
//! tested against is where the chart draws it.

use super::{app_with_data, draw, overview_with_data};
use crate::tui::app::{App, Cmd, Focus, Hit, Mouse, Msg, Spot, View};
use crate::tui::data::{QueryData, SeriesData};
use crate::tui::render;
use crate::tui::theme::Theme;
use crate::tui::view::{graph, results};
use ratatui::layout::Rect;
use ratatui::style::Modifier;

const W: u16 = 120;
const H: u16 = 40;

/// A graph of `n` rising series (`{job="s0"}`, ...), the results pane focused.
fn graph_app(n: usize) -> App {
    let mut a = app_with_data(Theme::load("default").unwrap());
    a.graph = true;
    a.shown_expr = "rate(x[1m])".into();
    let (s, e, step) = a.window();
    let series = (0..n)
        .map(|k| SeriesData {
            labels: [("job".to_string(), format!("s{k}"))].into(),
            points: (0..)
                .map(|i| s + i as f64 * step)
                .take_while(|t| *t <= e)
                .map(|t| (t, (k + 1) as f64 * (t - s)))
                .collect(),
            ..Default::default()
        })
        .collect();
    a.msg(Msg::Query {
        id: 0,
        result: Ok((QueryData::Matrix(series), vec![])),
        seconds: 0.01,
        stats: None,
    });
    a.focus = Focus::Results;
    a
}

fn area() -> Rect {
    Rect::new(0, 0, W, H)
}

/// Where `needle` starts on the screen (column, row).
fn find(text: &str, needle: &str) -> (u16, u16) {
    text.lines()
        .enumerate()
        .find_map(|(y, l)| {
            l.find(needle)
                .map(|b| (l[..b].chars().count() as u16, y as u16))
        })
        .unwrap_or_else(|| panic!("{needle:?} not on screen:\n{text}"))
}

fn feed(a: &mut App, x: u16, y: u16, m: Mouse) -> Vec<Cmd> {
    let hit = render::hit_at(a, area(), x, y);
    a.mouse(hit, m)
}

#[test]
fn a_click_on_a_legend_entry_hides_its_series_and_the_wheel_scrolls_the_legend() {
    let mut a = graph_app(2);
    a.focus = Focus::Prompt;
    let (text, _) = draw(&mut a, W, H);
    let (x, y) = find(&text, "{job=\"s1\"}");
    assert_eq!(
        render::hit_at(&a, area(), x, y).map(|h| h.spot),
        Some(Spot::Legend {
            series: 1,
            first: 0
        })
    );
    feed(&mut a, x, y, Mouse::Down);
    assert_eq!(a.focus, Focus::Results);
    assert!(
        a.hidden.contains(&1) && !a.hidden.contains(&0),
        "{:?}",
        a.hidden
    );
    let (text, _) = draw(&mut a, W, H);
    let row = text.lines().nth(y as usize).unwrap_or_default();
    assert!(row.contains('□') && row.contains("{job=\"s1\"}"), "{text}");
    // A second click shows it again.
    feed(&mut a, x, y, Mouse::Down);
    assert!(a.hidden.is_empty());
    feed(&mut a, x, y, Mouse::Up);

    // Forty series: the legend shows a third of the pane; the wheel brings the rest.
    let mut a = graph_app(40);
    let (text, _) = draw(&mut a, W, H);
    assert!(!text.contains("{job=\"s39\"}"), "{text}");
    let (x, y) = find(&text, "{job=\"s0\"}");
    for _ in 0..45 {
        feed(&mut a, x, y, Mouse::Wheel(true));
    }
    let (text, _) = draw(&mut a, W, H);
    assert!(text.contains("{job=\"s39\"}"), "{text}");
    assert!(!text.contains("{job=\"s0\"}"), "{text}");
    // A click in the scrolled legend hides the series drawn on that row, and the legend stays.
    let (x, y) = find(&text, "{job=\"s30\"}");
    feed(&mut a, x, y, Mouse::Down);
    assert_eq!(a.hidden.iter().collect::<Vec<_>>(), vec![&30]);
    let (text2, _) = draw(&mut a, W, H);
    assert_eq!(find(&text2, "{job=\"s30\"}"), (x, y), "{text2}");
}

/// The plot's columns as drawn: right of the y axis's corner `└`, left of the pane's border.
fn drawn_plot(text: &str) -> (u16, u16, u16) {
    // The axis's corner follows a space (a box's corner follows its border or the edge).
    let (corner, axis_row) = find(text, " └─");
    let corner = corner + 1;
    let right = text.lines().nth(axis_row as usize).unwrap_or_default()[..]
        .chars()
        .collect::<Vec<_>>()
        .iter()
        .rposition(|c| *c == '─')
        .unwrap_or(0) as u16;
    (corner + 1, right, axis_row)
}

#[test]
fn a_drag_across_the_plot_zooms_to_the_dragged_range() {
    let mut a = graph_app(2);
    let (text, _) = draw(&mut a, W, H);
    let (left, right, axis_row) = drawn_plot(&text);
    // The layout the mouse uses puts the plot where the chart drew it.
    let hit = render::hit_at(&a, area(), left + 1, axis_row - 2).map(|h| h.spot);
    assert!(
        matches!(hit, Some(Spot::Plot { .. })),
        "{hit:?} at {left} {axis_row}\n{text}"
    );
    let g = results::graph_area(&a, wide_main(&a))
        .map(|r| graph::layout(&a, r))
        .expect("a graph");
    assert_eq!((g.plot.x, g.plot.right() - 1), (left, right), "{text}");
    assert_eq!(g.plot.bottom(), axis_row, "{text}");

    let (start, end, _) = a.window();
    let (w, range) = (f64::from(right - left + 1), end - start);
    let col = range / w;
    let (x0, x1, y) = (left + 10, left + 40, axis_row - 3);
    let t_at = |x: u16| start + (f64::from(x - left) + 0.5) / w * range;
    feed(&mut a, x0, y, Mouse::Down);
    feed(&mut a, x0 + 12, y, Mouse::Drag);
    assert!(a.drag.is_some());
    // The dragged range shows reversed while the button is down.
    let (_, buf) = draw(&mut a, W, H);
    let reversed = |x: u16| buf[(x, y)].modifier.contains(Modifier::REVERSED);
    assert!(reversed(x0) && reversed(x0 + 12) && !reversed(x0 + 14) && !reversed(x0 - 2));
    // Off the plot, the drag follows the nearest time (here the graph's end).
    feed(&mut a, W - 2, y, Mouse::Drag);
    assert!(a.drag.is_some_and(|d| (d.1 - end).abs() <= col));
    let cmds = feed(&mut a, x1, y, Mouse::Up);
    assert!(a.drag.is_none() && !a.live);
    let want = t_at(x1) - t_at(x0);
    assert!(
        (a.range_secs - want).abs() <= col,
        "range {} want {want} (a column is {col})",
        a.range_secs
    );
    let (s2, e2, _) = a.window();
    assert!((e2 - t_at(x1)).abs() <= col, "end {e2} want {}", t_at(x1));
    assert!((s2 - t_at(x0)).abs() <= col, "start {s2} want {}", t_at(x0));
    assert!(
        matches!(cmds.as_slice(), [Cmd::Query { range: Some((qs, qe, _)), .. }, Cmd::Exemplars { range: (xs, xe), .. }] if *qs == s2 && *qe == e2 && *xs == s2 && *xe == e2),
        "{cmds:?}"
    );
    // The title says the graph no longer ends now.
    let (text, _) = draw(&mut a, W, H);
    assert!(text.contains("ago)"), "{text}");

    // A drag that does not move is a click: the value cursor goes there, the range stays.
    let before = a.range_secs;
    let (text, _) = draw(&mut a, W, H);
    let (left, _, axis_row) = drawn_plot(&text);
    feed(&mut a, left + 20, axis_row - 3, Mouse::Down);
    assert!(feed(&mut a, left + 20, axis_row - 3, Mouse::Up).is_empty());
    assert_eq!(a.range_secs, before);
    assert!(a.cursor.is_some());
}

/// The results pane of the one-screen layout at `W`×`H` (the same layout `render` draws).
fn wide_main(a: &App) -> Rect {
    // The pane is the one the mouse finds at its top-left inner corner; walk to its edges.
    let hit = |x, y| render::hit_at(a, area(), x, y).map(|h: Hit| h.pane);
    let mut top = 0;
    while hit(1, top) != Some(Focus::Results) {
        top += 1;
    }
    let mut bottom = top;
    while hit(1, bottom + 1) == Some(Focus::Results) {
        bottom += 1;
    }
    let mut right = 1;
    while hit(right + 1, top) == Some(Focus::Results) {
        right += 1;
    }
    Rect::new(0, top, right + 1, bottom - top + 1)
}

#[test]
fn a_click_on_an_overview_panel_selects_it_and_the_wheel_moves_the_selection() {
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let mut a = overview_with_data(Theme::load("default").unwrap());
        let (text, _) = draw(&mut a, w, h);
        let (x, y) = find(&text, "Memory used");
        let hit = render::hit_at(&a, Rect::new(0, 0, w, h), x, y + 1);
        assert_eq!(hit.map(|h| h.spot), Some(Spot::Panel(5)), "{w}x{h}\n{text}");
        a.mouse(hit, Mouse::Down);
        assert_eq!((a.focus, a.overview.selected), (Focus::Results, 5));
        assert_eq!(a.view, View::Overview);
        a.mouse(hit, Mouse::Up);
        // The wheel over the overview moves the selection a row down.
        let cols = a.overview.cols.get();
        a.mouse(hit, Mouse::Wheel(true));
        assert_eq!(
            a.overview.selected,
            (5 + cols).min(a.overview.panels.len() - 1)
        );
    }
}

#[test]
fn the_wheel_scrolls_the_lists_in_their_views() {
    let mut a = app_with_data(Theme::load("default").unwrap());
    for (view, sel) in [(View::Targets, 1usize), (View::Alerts, 0)] {
        a.set_view(view);
        let (_, _) = draw(&mut a, 80, 24);
        let hit = render::hit_at(&a, Rect::new(0, 0, 80, 24), 10, 5);
        a.mouse(hit, Mouse::Wheel(true));
        let got = match view {
            View::Targets => a.targets_sel,
            _ => a.alerts_sel,
        };
        assert_eq!(got, sel, "{view:?}");
    }
    a.msg(Msg::MetricNames(vec!["a".into(), "b".into(), "c".into()]));
    a.set_view(View::Metrics);
    a.filter_editing = true;
    draw(&mut a, 80, 24);
    let hit = render::hit_at(&a, Rect::new(0, 0, 80, 24), 10, 5);
    a.mouse(hit, Mouse::Wheel(true));
    a.mouse(hit, Mouse::Wheel(true));
    assert_eq!((a.metrics_sel, a.filter_editing), (2, false));
}
