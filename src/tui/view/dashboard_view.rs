//! The Grafana dashboard view: a title line, then the dashboard's rows and panels laid out by
//! `grafana::layout` for the screen and scrolled. Each panel is a titled box (`panel::block`):
//! time series as line charts of their range answers (stacked, or as shares, when the panel
//! stacks) with `legendFormat` legends (`dash_legend`: statistics, list/table/hidden, bottom or
//! right) and units on the axis, stat / gauge / bar gauge as the reduced value in the panel's
//! unit and threshold colour or its value mapping's text and colour, tables (`dash_table`),
//! heatmaps (`dash_heatmap`), text panels as their text, a panel without data its `noValue`,
//! other types as "not drawn yet (<type>)", a failed query as its error.
//! A dashboard that did not load shows its error. The variable bar sits under the title line
//! (`dash_varbar`, which also writes the range and cursor time in the title), and time series
//! panels draw the shared time cursor (`dash_cursor`). The selected panel has a highlighted
//! border; a panel opened full screen is drawn by `dash_full` (which `render` calls instead),
//! with `draw_panel`. Reads `app::grafana::DashView`; uses `grafana`, `data`, `format` and
//! `theme`.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;

pub use super::dash_color::grafana_color;
use super::dash_legend::LegendItem;
use super::dashboard_series::{drawn, panel_title, row_title};
use super::panel::block;
use super::{dash_cursor, dash_heatmap, dash_legend, dash_table, dash_varbar};
use crate::tui::app::grafana::DashView;
use crate::tui::app::App;
use crate::tui::format::clock;
use crate::tui::grafana::field_display::{display, field_options};
use crate::tui::grafana::fields::DrawStyle;
use crate::tui::grafana::layout::{layout, Item};
use crate::tui::grafana::legend::reduce;
use crate::tui::grafana::mappings::Cell;
use crate::tui::grafana::model::{Panel, PanelKind};
use crate::tui::grafana::units;
use crate::tui::theme::Theme;

pub use super::dashboard_series::{panel_series, Named};

/// Draws the dashboard over `area`.
pub fn draw(app: &App, d: &DashView, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let [head, bar, body] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Length(1),
        ratatui::layout::Constraint::Length(d.bar_height()),
        ratatui::layout::Constraint::Min(0),
    ])
    .areas(area);
    let l = match &d.loaded {
        Err(e) => {
            f.render_widget(
                Paragraph::new(Line::styled(
                    " Dashboard · Esc: back to the TUI",
                    t.fg(t.title).add_modifier(Modifier::BOLD),
                )),
                head,
            );
            f.render_widget(
                Paragraph::new(Line::styled(
                    format!("dashboard not loaded: {e}"),
                    t.fg(t.error),
                ))
                .wrap(Wrap { trim: true })
                .block(block("Dashboard", false, t)),
                body,
            );
            return;
        }
        Ok(l) => l,
    };
    let lay = layout(&l.dashboard, body.width);
    let updated = if d.sent_at > 0.0 {
        format!(" · {}", clock(d.sent_at, app.utc, false))
    } else {
        String::new()
    };
    let more = if lay.height > d.scroll + u32::from(body.height) {
        " · PgDn: more"
    } else {
        ""
    };
    let mut title = vec![
        Span::styled(
            format!(" {} ", l.dashboard.title),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!(
                "every {}s{updated}{more} · r: refresh · Tab: select · f: full screen · Esc: back",
                d.refresh_every()
            ),
            t.fg(t.dim),
        ),
        Span::styled(
            app.dash_files
                .notice
                .as_ref()
                .map(|n| format!(" · {n}"))
                .unwrap_or_default(),
            t.fg(t.title),
        ),
        Span::styled(
            d.var_errors
                .iter()
                .map(|e| format!(" · {e}"))
                .collect::<String>(),
            t.fg(t.error),
        ),
    ];
    title.splice(1..1, dash_varbar::title_spans(app, d));
    f.render_widget(Paragraph::new(Line::from(title)), head);
    for (item, r) in lay.visible(d.scroll, u32::from(body.height)) {
        let rect = Rect::new(
            body.x + r.x,
            body.y + r.y as u16,
            r.w.min(body.width.saturating_sub(r.x)),
            r.h as u16,
        );
        match item {
            Item::Header { row } => {
                let Some(rw) = l.dashboard.rows.get(row) else {
                    continue;
                };
                let mark = if rw.collapsed { "▸" } else { "▾" };
                let title = row_title(l, rw);
                f.render_widget(
                    Paragraph::new(Line::styled(
                        format!("{mark} {title}"),
                        t.fg(t.title).add_modifier(Modifier::BOLD),
                    )),
                    rect,
                );
            }
            Item::Panel { row, panel } => {
                if let Some(p) = l.dashboard.rows.get(row).and_then(|r| r.panels.get(panel)) {
                    draw_panel(app, d, (row, panel), p, f, rect);
                }
            }
        }
    }
    let x = dash_varbar::draw_bar(app, d, l, f, bar);
    dash_varbar::draw_list(app, d, l, f, bar, x);
}

pub(super) fn draw_panel(
    app: &App,
    d: &DashView,
    at: (usize, usize),
    p: &Panel,
    f: &mut Frame,
    rect: Rect,
) {
    let t = &app.theme;
    let title = match &d.loaded {
        Ok(l) => l
            .dashboard
            .rows
            .get(at.0)
            .map_or_else(|| p.title.clone(), |r| panel_title(l, r, p)),
        Err(_) => p.title.clone(),
    };
    let b = block(&title, d.sel.panel == Some(at), t);
    let inner = b.inner(rect);
    f.render_widget(b, rect);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let message = |f: &mut Frame, text: String, style: Style| {
        f.render_widget(
            Paragraph::new(Line::styled(text, style)).wrap(Wrap { trim: true }),
            inner,
        );
    };
    if let Some(problem) = &p.problem {
        return message(f, problem.clone(), t.fg(t.dim));
    }
    match &p.kind {
        PanelKind::NotDrawn(ty) => {
            return message(f, format!("not drawn yet ({ty})"), t.fg(t.dim));
        }
        PanelKind::Table => return dash_table::draw(t, app.utc, d, at, p, f, inner),
        PanelKind::Heatmap if !d.answers.keys().any(|k| (k.0, k.1) == at) => {}
        PanelKind::Heatmap => {
            if let Err(e) = dash_heatmap::draw(t, d, at, p, f, inner) {
                let (_, errors) = panel_series(d, at.0, at.1, p);
                let text = errors.into_iter().chain([e]).collect::<Vec<_>>().join("; ");
                message(f, text, t.fg(t.dim));
            }
            return;
        }
        PanelKind::Text => {
            let text = p.content.trim();
            return f.render_widget(
                Paragraph::new(text.to_string()).wrap(Wrap { trim: false }),
                inner,
            );
        }
        _ => {}
    }
    let (series, errors) = panel_series(d, at.0, at.1, p);
    let mut area = inner;
    if !errors.is_empty() {
        let h = if series.is_empty() { area.height } else { 1 };
        f.render_widget(
            Paragraph::new(Line::styled(errors.join("; "), t.fg(t.error)))
                .wrap(Wrap { trim: true }),
            Rect { height: h, ..area },
        );
        area.y += h;
        area.height -= h;
    }
    if area.height == 0 {
        return;
    }
    if series.is_empty() {
        if errors.is_empty() {
            let why = if d.sent_at > 0.0 {
                p.opts.no_value.as_deref().unwrap_or("no data")
            } else {
                "loading…"
            };
            message(f, why.to_string(), t.fg(t.dim));
        }
        return;
    }
    match p.kind {
        PanelKind::TimeSeries => draw_lines(app, d, p, &series, f, area),
        _ => draw_values(t, p, &series, f, area),
    }
}

/// The value of a stat-like panel's series: the panel's first reducer, else the last value.
fn reduced(p: &Panel, s: &Named) -> Option<f64> {
    let calc = p.calcs.first().map_or("lastNotNull", String::as_str);
    reduce(calc, &s.points)
}

fn draw_values(t: &Theme, p: &Panel, series: &[Named], f: &mut Frame, area: Rect) {
    let bar = matches!(p.kind, PanelKind::Gauge | PanelKind::BarGauge);
    let shown = series.len().min(usize::from(area.height));
    let mut lines = Vec::new();
    let opts = field_options(p, "Value");
    for s in &series[..shown] {
        // Each series with its own field options (overrides over the panel's defaults).
        let o = &s.field;
        let (lo, hi) = (o.min.unwrap_or(0.0), o.max.unwrap_or(100.0));
        let v = reduced(p, s);
        // Value mappings first, then the unit; no value: `noValue`, else a dash. The series'
        // own field options (overrides) give the unit, limits and a fixed colour.
        let mut dopts = opts.clone();
        dopts.unit = o.unit.clone();
        dopts.decimals = o.decimals;
        dopts.min = o.min;
        dopts.max = o.max;
        dopts.thresholds = o.thresholds.clone();
        let cell = v.map_or(Cell::Null, Cell::Num);
        let mut shown_value = display(&dopts, &cell, false);
        if shown_value.text.is_empty() {
            shown_value.text = "–".to_string();
        }
        let color = match o.color() {
            Some(fixed) if !shown_value.mapped => grafana_color(fixed),
            _ => shown_value.color.as_deref().and_then(grafana_color),
        };
        let text = shown_value.text;
        let style = color
            .map_or(Style::default(), |c| t.fg(c))
            .add_modifier(Modifier::BOLD);
        let mut spans = Vec::new();
        if series.len() > 1 {
            spans.push(Span::styled(format!("{} ", s.name), t.fg(t.dim)));
        }
        spans.push(Span::styled(text, style));
        if bar {
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            let room = usize::from(area.width).saturating_sub(used + 1);
            let frac = v.map_or(0.0, |v| ((v - lo) / (hi - lo)).clamp(0.0, 1.0));
            let n = (frac * room as f64).round() as usize;
            spans.push(Span::raw(" "));
            spans.push(Span::styled("█".repeat(n), style));
        }
        lines.push(Line::from(spans));
    }
    let top = if shown == 1 {
        area.height.saturating_sub(1) / 2
    } else {
        0
    };
    let a = Rect {
        y: area.y + top,
        height: area.height - top,
        ..area
    };
    let align = if shown == 1 && !bar {
        ratatui::layout::Alignment::Center
    } else {
        ratatui::layout::Alignment::Left
    };
    f.render_widget(Paragraph::new(lines).alignment(align), a);
}

fn draw_lines(app: &App, d: &DashView, p: &Panel, series: &[Named], f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let color = |i: usize, s: &Named| {
        s.field
            .color()
            .and_then(grafana_color)
            .unwrap_or_else(|| t.series_color(i))
    };
    // The legend: series hidden from it keep their colour index.
    let items: Vec<LegendItem<'_>> = series
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.field.hide_legend)
        .map(|(i, s)| {
            let (unit, decimals) = (s.field.unit.as_deref(), s.field.decimals);
            LegendItem {
                name: s.name.as_str(),
                points: s.points.as_slice(),
                color: color(i, s),
                unit,
                decimals,
                extra: dash_cursor::legend_span(d, &s.points, unit, decimals, t),
            }
        })
        .collect();
    let chart = dash_legend::draw(t, p, &items, d.legend_stats, f, area);
    let data = drawn(series);
    let (lo, hi) = data
        .iter()
        .flat_map(|s| s.iter().map(|p| p.1))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let (lo, hi) = if lo > hi {
        (0.0, 1.0)
    } else {
        let lo = p.min.unwrap_or(lo.min(0.0));
        let hi = p.max.unwrap_or(hi);
        if hi > lo {
            (lo, hi)
        } else {
            (lo, lo + 1.0)
        }
    };
    let (start, end) = d.window;
    let cursor = dash_cursor::line(d, lo, hi);
    let mut sets: Vec<Dataset> = data
        .iter()
        .zip(series)
        .enumerate()
        .filter(|(_, (pts, _))| !pts.is_empty())
        .map(|(i, (pts, s))| {
            let (marker, kind) = match s.field.draw_style {
                DrawStyle::Line => (Marker::Braille, GraphType::Line),
                DrawStyle::Points => (Marker::Braille, GraphType::Scatter),
                DrawStyle::Bars => (Marker::HalfBlock, GraphType::Bar),
            };
            Dataset::default()
                .marker(marker)
                .graph_type(kind)
                .style(t.fg(color(i, s)))
                .data(pts)
        })
        .collect();
    if let Some(c) = &cursor {
        sets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(t.fg(t.dim))
                .data(c),
        );
    }
    // The axis in the unit of the first series drawn (the panel's, unless overridden).
    let axis = series.iter().find(|s| !s.field.hide_viz).map(|s| &s.field);
    let unit = axis.map_or(p.unit.as_deref(), |o| o.unit.as_deref());
    let decimals = axis.map_or(p.decimals, |o| o.decimals);
    let y_labels: Vec<Span> = [lo, hi]
        .iter()
        .map(|v| Span::styled(units::format(unit, *v, decimals), t.fg(t.dim)))
        .collect();
    let x_labels: Vec<Span> = [start, end]
        .iter()
        .map(|v| Span::styled(clock(*v, app.utc, end - start > 86_400.0), t.fg(t.dim)))
        .collect();
    f.render_widget(
        Chart::new(sets)
            .x_axis(Axis::default().bounds([start, end]).labels(x_labels))
            .y_axis(Axis::default().bounds([lo, hi]).labels(y_labels)),
        chart,
    );
}
