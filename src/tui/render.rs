//! Laying out the screen: one screen at 100×30 and larger (prompt on top; results; targets and
//! alerts on the right; a status line), tabs below that (down to 40×10: the tab titles shorten
//! to numbers when they do not fit), and below the minimum one line saying so; which pane is
//! under the mouse (and where in it: a legend row, a time on the graph, a heatmap cell, an
//! overview panel).
//! Each pane is drawn by its `view` module. Pure: `render(&App, frame)`.
//! Uses `app` and `view`.

use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Tabs};
use ratatui::Frame;

use super::app::{App, Focus, Hit, Spot, View, VIEWS};
use super::view::{
    alerts, dash_full, dash_list, dashboard_view, graph, heatmap, help, metrics, overview, popup,
    prompt, relabel, results, rules, status, targets,
};

/// Every key, as the help overlay lists them.
pub use super::view::help::HELP;

/// Smallest size for the one-screen layout.
pub const WIDE_COLS: u16 = 100;
pub const WIDE_ROWS: u16 = 30;

/// Smallest terminal promterm draws in; below it one line says so.
pub const MIN_COLS: u16 = 40;
pub const MIN_ROWS: u16 = 10;

/// Whether a terminal of this size is too small to draw in.
pub fn too_small(area: Rect) -> bool {
    area.width < MIN_COLS || area.height < MIN_ROWS
}

/// The line shown on a terminal below the minimum size.
pub fn too_small_message(area: Rect) -> String {
    format!(
        "terminal too small: {}×{}, promterm needs at least {MIN_COLS}×{MIN_ROWS}",
        area.width, area.height
    )
}

/// Whether a terminal of this size gets the one-screen layout.
pub fn is_wide(area: Rect) -> bool {
    area.width >= WIDE_COLS && area.height >= WIDE_ROWS
}

/// Where the panes of the one-screen layout are.
struct Wide {
    prompt: Rect,
    msgs: Rect,
    main: Rect,
    targets: Rect,
    alerts: Rect,
    status: Rect,
}

fn wide_layout(app: &App, area: Rect) -> Wide {
    let prompt_h = (app.editor.text().lines().count().max(1) as u16 + 2).clamp(3, 8);
    let msg_h = prompt::messages(app).len().min(3) as u16;
    let [prompt, msgs, body, status] = Layout::vertical([
        Constraint::Length(prompt_h),
        Constraint::Length(msg_h),
        Constraint::Min(5),
        Constraint::Length(1),
    ])
    .areas(area);
    let [main, side] =
        Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(body);
    let [targets, alerts] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(side);
    Wide {
        prompt,
        msgs,
        main,
        targets,
        alerts,
        status,
    }
}

/// The tabbed layout: the tab titles, the view, the status line.
fn tabs_layout(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// The query view in the tabbed layout: the prompt, its messages, the results.
fn tabs_query_layout(app: &App, body: Rect) -> [Rect; 3] {
    let prompt_h = (app.editor.text().lines().count().max(1) as u16 + 2).clamp(3, 6);
    let msg_h = prompt::messages(app).len().min(2) as u16;
    Layout::vertical([
        Constraint::Length(prompt_h),
        Constraint::Length(msg_h),
        Constraint::Min(3),
    ])
    .areas(body)
}

/// Where the main pane (results, rules, metrics or the overview) is drawn, if it is.
fn main_area(app: &App, area: Rect) -> Option<Rect> {
    if too_small(area) {
        None
    } else if app.wide {
        Some(wide_layout(app, area).main)
    } else {
        let body = tabs_layout(area)[1];
        match app.view {
            View::Query => Some(tabs_query_layout(app, body)[2]),
            View::Rules | View::Metrics | View::Overview => Some(body),
            View::Targets | View::Alerts => None,
        }
    }
}

/// What is under a mouse position (for `--mouse`): the pane, and in the results pane a
/// legend row or the time under the graph's plot, in the overview a panel. The places come
/// from the layout functions the views draw with.
pub fn hit_at(app: &App, area: Rect, x: u16, y: u16) -> Option<Hit> {
    let pane = pane_at(app, area, x, y)?;
    let mut hit = Hit::pane(pane);
    // A drag on the graph goes on over other panes, at the graph's nearest time.
    if (pane != Focus::Results && app.drag.is_none()) || app.help {
        return Some(hit);
    }
    let Some(main) = main_area(app, area) else {
        return Some(hit);
    };
    let p = Position::new(x, y);
    match app.view {
        View::Overview => {
            if let Some((i, _)) = overview::panel_cells(app, main)
                .0
                .into_iter()
                .find(|(_, r)| r.contains(p))
            {
                hit.spot = Spot::Panel(i);
            }
        }
        View::Rules | View::Metrics => {}
        _ if app.showing_heatmap() => {
            if let Some(g) = results::graph_area(app, main).map(|r| heatmap::layout(app, r)) {
                if g.plot.contains(p) {
                    if let Some(row) = g.row_at(y) {
                        hit.spot = Spot::Cell {
                            t: g.time_at(x),
                            row,
                        };
                    }
                }
            }
        }
        _ => {
            if let Some(g) = results::graph_area(app, main).map(|r| graph::layout(app, r)) {
                let n = app.sorted_series().len();
                if app.drag.is_some() {
                    hit.spot = Spot::Plot { t: g.time_at(x) };
                } else if let Some(series) = g.series_at(y, n).filter(|_| g.legend.contains(p)) {
                    hit.spot = Spot::Legend {
                        series,
                        first: g.first,
                    };
                } else if g.plot.contains(p) {
                    hit.spot = Spot::Plot { t: g.time_at(x) };
                }
            }
        }
    }
    Some(hit)
}

/// The pane under a mouse position (for `--mouse`).
pub fn pane_at(app: &App, area: Rect, x: u16, y: u16) -> Option<Focus> {
    let p = Position::new(x, y);
    if too_small(area) {
        None
    } else if app.wide {
        let w = wide_layout(app, area);
        [
            (w.prompt, Focus::Prompt),
            (w.main, Focus::Results),
            (w.targets, Focus::Targets),
            (w.alerts, Focus::Alerts),
        ]
        .into_iter()
        .find(|(r, _)| r.contains(p))
        .map(|x| x.1)
    } else {
        match app.view {
            View::Query => Some(if y <= area.y + 3 {
                Focus::Prompt
            } else {
                Focus::Results
            }),
            View::Targets => Some(Focus::Targets),
            View::Alerts => Some(Focus::Alerts),
            View::Rules | View::Metrics | View::Overview => Some(Focus::Results),
        }
    }
}

/// The tab titles ("1 Query", ...), or numbers with only the selected view named when the
/// names do not fit in `width`.
fn tab_titles(sel: usize, width: u16) -> Vec<Line<'static>> {
    let full: Vec<String> = VIEWS
        .iter()
        .enumerate()
        .map(|(i, (_, n))| format!("{} {n}", i + 1))
        .collect();
    // Each title has a space either side, and a divider between titles.
    let needed: usize = full.iter().map(|s| s.chars().count() + 3).sum();
    full.into_iter()
        .enumerate()
        .map(|(i, s)| {
            if needed <= width as usize + 1 || i == sel {
                Line::from(s)
            } else {
                Line::from(format!("{}", i + 1))
            }
        })
        .collect()
}

/// Draws everything.
pub fn render(app: &App, f: &mut Frame) {
    let area = f.area();
    let t = &app.theme;
    if too_small(area) {
        f.render_widget(
            Paragraph::new(Line::styled(too_small_message(area), t.fg(t.error)))
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    if let Some(d) = app.grafana.as_ref().filter(|d| d.shown) {
        match d.sel.panel.zip(d.selected_panel()).filter(|_| d.sel.full) {
            Some((at, p)) => dash_full::draw(app, d, at, p, f, area),
            None => dashboard_view::draw(app, d, f, area),
        }
        if let Some(l) = &app.dash_files.list {
            dash_list::draw(app, l, f, area);
        }
        if app.help {
            help::draw(app, f, area);
        }
        return;
    }
    if app.wide {
        let Wide {
            prompt,
            msgs,
            main,
            targets,
            alerts,
            status,
        } = wide_layout(app, area);
        prompt::draw(app, f, prompt);
        prompt::draw_messages(app, f, msgs);
        // The targets pane's relabeling view takes the main pane while the targets have focus.
        let relabeling = app.relabel.as_ref().filter(|_| app.focus == Focus::Targets);
        match app.view {
            _ if relabeling.is_some() => {
                if let Some(v) = relabeling {
                    relabel::draw(app, v, f, main);
                }
            }
            View::Rules => rules::draw(app, f, main),
            View::Metrics => metrics::draw(app, f, main),
            View::Overview => overview::draw(app, f, main),
            _ => results::draw(app, f, main),
        }
        targets::draw(app, f, targets);
        alerts::draw(app, f, alerts);
        status::draw(app, f, status);
        if app.popup.is_some() {
            popup::draw(app, f, prompt, area);
        }
    } else {
        let [tabs, body, status] = tabs_layout(area);
        let sel = VIEWS.iter().position(|(v, _)| *v == app.view).unwrap_or(0);
        let titles = tab_titles(sel, tabs.width);
        f.render_widget(
            Tabs::new(titles)
                .select(sel)
                .style(t.fg(t.dim))
                .highlight_style(t.selected()),
            tabs,
        );
        match app.view {
            View::Query => {
                let [prompt, msgs, results] = tabs_query_layout(app, body);
                prompt::draw(app, f, prompt);
                prompt::draw_messages(app, f, msgs);
                results::draw(app, f, results);
                if app.popup.is_some() {
                    popup::draw(app, f, prompt, area);
                }
            }
            View::Targets => match &app.relabel {
                Some(v) => relabel::draw(app, v, f, body),
                None => targets::draw(app, f, body),
            },
            View::Alerts => alerts::draw(app, f, body),
            View::Rules => rules::draw(app, f, body),
            View::Metrics => metrics::draw(app, f, body),
            View::Overview => overview::draw(app, f, body),
        }
        status::draw(app, f, status);
    }
    if let Some(l) = &app.dash_files.list {
        dash_list::draw(app, l, f, area);
    }
    if app.help {
        help::draw(app, f, area);
    }
}
