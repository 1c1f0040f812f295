//! The dashboard's variable bar and time read-outs: the bar under the title line (each shown
//! variable as `label value`, or the value alone when its label is hidden; the picked one
//! highlighted while the bar has the keys, scrolled so it stays in sight), the open option
//! list under it (`[x]` for a multi-value variable's picked values, `(•)` for the one of
//! another, All first when offered) or the textbox being typed, and the title line's range
//! (as written while it moves with now, else its times) and cursor time.
//! Reads `app::grafana::DashView` and `app::grafana_vars`; uses `format` and `theme`.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use crate::tui::app::grafana::DashView;
use crate::tui::app::grafana_vars::{entries, shown, value_text};
use crate::tui::app::App;
use crate::tui::format::{clock, clock_ms};
use crate::tui::grafana::Loaded;

/// A unix time as `YYYY-MM-DD HH:MM:SS`.
fn date_time(t: f64, utc: bool) -> String {
    let s = clock_ms(t, utc, true);
    s.split('.').next().unwrap_or(&s).to_string()
}

/// The range the panels show, for the title line: as written while it moves with now, else
/// its start and end (the end's date only when it differs).
pub fn range_text(app: &App, d: &DashView) -> String {
    let Ok(l) = &d.loaded else {
        return String::new();
    };
    if let Some(w) = d.time.written(&l.dashboard) {
        return w;
    }
    let (start, end) = d.range_at(app.now);
    let (a, b) = (date_time(start, app.utc), date_time(end, app.utc));
    match (a.split_once(' '), b.split_once(' ')) {
        (Some((da, _)), Some((db, tb))) if da == db => format!("{a} to {tb}"),
        _ => format!("{a} to {b}"),
    }
}

/// The title line's spans after the dashboard's title: the range, the cursor's time, and
/// why the dashboard's range cannot be read.
pub fn title_spans(app: &App, d: &DashView) -> Vec<Span<'static>> {
    let t = &app.theme;
    let mut out = vec![Span::styled(
        format!("{} · ", range_text(app, d)),
        t.fg(t.text),
    )];
    if let Some(c) = d.time.cursor {
        out.push(Span::styled(
            format!("cursor {} · ", clock(c, app.utc, false)),
            t.fg(t.warning),
        ));
    }
    if let Some(e) = d.time_error(app.now) {
        out.push(Span::styled(
            format!("{e} (showing the last 6h) · "),
            t.fg(t.error),
        ));
    }
    out
}

/// Each shown variable's bar text and whether it is the picked one.
fn items(d: &DashView, l: &Loaded, range_ms: i64) -> Vec<(String, bool)> {
    shown(&l.variables)
        .into_iter()
        .map(|i| {
            let v = &l.variables[i];
            let value = match (&d.bar.typing, d.bar.focused && d.bar.sel == i) {
                (Some(text), true) => format!("{text}█"),
                _ => value_text(&l.variables, i, range_ms),
            };
            let label = if v.label.is_empty() {
                &v.name
            } else {
                &v.label
            };
            let text = if v.hide == 0 {
                format!("{label}: {value}")
            } else {
                value
            };
            (text, d.bar.focused && d.bar.sel == i)
        })
        .collect()
}

/// Draws the bar over `area` (one line); returns the picked item's column, for the list.
pub fn draw_bar(app: &App, d: &DashView, l: &Loaded, f: &mut Frame, area: Rect) -> u16 {
    if area.height == 0 {
        return area.x;
    }
    let t = &app.theme;
    let (start, end) = d.range_at(app.now);
    let items = items(d, l, ((end - start) * 1000.0) as i64);
    let width = |s: &str| s.chars().count() + 3;
    // Drop items from the left until the picked one fits.
    let room = usize::from(area.width);
    let picked = items.iter().position(|i| i.1).unwrap_or(0);
    let mut first = 0;
    while first < picked
        && items[first..=picked]
            .iter()
            .map(|i| width(&i.0))
            .sum::<usize>()
            > room
    {
        first += 1;
    }
    let mut spans = Vec::new();
    let mut col = area.x;
    let mut picked_col = area.x;
    if first > 0 {
        spans.push(Span::styled("‹ ", t.fg(t.dim)));
        col += 2;
    }
    for (k, (text, sel)) in items.iter().enumerate().skip(first) {
        if *sel || k == picked {
            picked_col = col;
        }
        let style = if *sel { t.selected() } else { t.fg(t.label) };
        spans.push(Span::styled(format!(" {text} "), style));
        spans.push(Span::raw(" "));
        col = col.saturating_add(width(text) as u16);
    }
    if d.bar.focused {
        spans.push(Span::styled(
            "←→ pick · Enter options · a All · Esc leave",
            t.fg(t.dim),
        ));
    } else {
        spans.push(Span::styled("v: change", t.fg(t.dim)));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
    picked_col
}

/// Draws the picked variable's open option list (or its textbox) under the bar at column
/// `x`, inside `screen`.
pub fn draw_list(app: &App, d: &DashView, l: &Loaded, f: &mut Frame, bar: Rect, x: u16) {
    let Some(list) = &d.bar.list else { return };
    let Some(v) = l.variables.get(d.bar.sel) else {
        return;
    };
    let t = &app.theme;
    let e = entries(v);
    let screen = f.area();
    let widest = e.iter().map(|o| o.text.chars().count()).max().unwrap_or(0);
    let w = ((widest + 8) as u16).max(34).min(screen.width);
    let top = bar.y + bar.height;
    let room = screen.height.saturating_sub(top);
    let h = (e.len() as u16 + 2).min(room);
    if h < 3 || w < 6 {
        return;
    }
    let x = x.min(screen.width.saturating_sub(w));
    let area = Rect::new(x, top, w, h);
    f.render_widget(Clear, area);
    let b = Block::bordered()
        .border_style(t.border(true))
        .title(Span::styled(
            if v.multi {
                " Space toggles · Enter applies "
            } else {
                " Enter applies "
            },
            t.fg(t.dim),
        ));
    let inner = b.inner(area);
    f.render_widget(b, area);
    let rows = usize::from(inner.height);
    let skip = list.cursor.saturating_sub(rows.saturating_sub(1));
    let lines: Vec<Line> = e
        .iter()
        .enumerate()
        .skip(skip)
        .take(rows)
        .map(|(i, o)| {
            let on = list.picked.contains(&o.value);
            let mark = match (v.multi, on) {
                (true, true) => "[x] ",
                (true, false) => "[ ] ",
                (false, true) => "(•) ",
                (false, false) => "( ) ",
            };
            let line = Line::from(vec![
                Span::styled(mark, t.fg(t.label)),
                Span::raw(o.text.clone()),
            ]);
            if i == list.cursor {
                line.style(t.selected().add_modifier(Modifier::BOLD))
            } else {
                line
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}
