//! A dashboard's table panel: its queries' answers as frames, transformed and merged by
//! `grafana::table`, drawn as Grafana shows them — a bold header of the visible fields (their
//! display names), one line per row, each cell in its field's unit and decimals or its value
//! mapping's text (and colour), columns as wide as their widest text and shrunk to fit. Rows
//! beyond the panel's height scroll (`DashView::table_scroll`), the last line saying which rows
//! are shown. Failed queries and transformations not applied are named above the table; a
//! table without rows says "no data". Uses `app::grafana`, `grafana` (table, fields), `data`
//! and `dash_color`.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::dash_color::grafana_color;
use crate::tui::app::grafana::DashView;
use crate::tui::grafana::field_display::{display, field_options, Shown};
use crate::tui::grafana::model::Panel;
use crate::tui::grafana::table::{build, frame_of, value_name, Built, Frame as DataFrame};
use crate::tui::theme::Theme;

/// The panel's table (and the errors of failed queries), from the answers at `at`.
pub fn panel_table(d: &DashView, at: (usize, usize), p: &Panel) -> (Built, Vec<String>) {
    let several = p.queries().count() > 1;
    let mut frames: Vec<DataFrame> = Vec::new();
    let mut errors = Vec::new();
    for (ti, t) in p.targets.iter().enumerate() {
        let Some(a) = d.answers.get(&(at.0, at.1, ti)) else {
            continue;
        };
        match &a.result {
            Ok(data) => frames.push(frame_of(data, &value_name(&t.ref_id, several))),
            Err(e) => errors.push(format!("{}: {e}", t.ref_id)),
        }
    }
    (build(p, frames), errors)
}

/// The header and the rows' cells as shown (hidden fields left out).
pub fn shown_rows(p: &Panel, frame: &DataFrame, utc: bool) -> (Vec<String>, Vec<Vec<Shown>>) {
    let cols: Vec<(usize, crate::tui::grafana::field_display::DisplayOptions)> = frame
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| (i, field_options(p, &f.name)))
        .filter(|(_, o)| !o.hidden)
        .collect();
    let header = cols
        .iter()
        .map(|(i, o)| {
            o.display_name
                .clone()
                .unwrap_or_else(|| frame.fields[*i].name.clone())
        })
        .collect();
    let rows = (0..frame.rows())
        .map(|r| {
            cols.iter()
                .map(|(i, o)| display(o, &frame.fields[*i].values[r], utc))
                .collect()
        })
        .collect();
    (header, rows)
}

/// Column widths for `widths` (the widest text of each column) in `room` cells with one
/// space between: the widest shrunk first.
pub fn fit_widths(mut widths: Vec<u16>, room: u16) -> Vec<u16> {
    let gaps = widths.len().saturating_sub(1) as u16;
    let room = room.saturating_sub(gaps);
    while widths.iter().sum::<u16>() > room {
        let Some(w) = widths.iter_mut().max() else {
            break;
        };
        if *w <= 3 {
            break;
        }
        *w -= 1;
    }
    widths
}

/// Draws the table of panel `p` (at `at`) in `area`.
pub fn draw(
    t: &Theme,
    utc: bool,
    d: &DashView,
    at: (usize, usize),
    p: &Panel,
    f: &mut Frame,
    mut area: Rect,
) {
    let (built, errors) = panel_table(d, at, p);
    if (!errors.is_empty() || !built.notes.is_empty()) && area.height > 0 {
        // Failed queries in the error colour, transformations not applied as warnings.
        let mut spans: Vec<Span> = Vec::new();
        for (text, color) in errors
            .iter()
            .map(|e| (e, t.error))
            .chain(built.notes.iter().map(|n| (n, t.warning)))
        {
            if !spans.is_empty() {
                spans.push(Span::raw("; "));
            }
            spans.push(Span::styled(text.clone(), t.fg(color)));
        }
        f.render_widget(
            Paragraph::new(Line::from(spans)).wrap(Wrap { trim: true }),
            Rect { height: 1, ..area },
        );
        area.y += 1;
        area.height -= 1;
    }
    if area.height == 0 {
        return;
    }
    let (header, rows) = shown_rows(p, &built.frame, utc);
    if rows.is_empty() || header.is_empty() {
        let why = if d.sent_at <= 0.0 {
            "loading…"
        } else if errors.is_empty() {
            "no data"
        } else {
            return;
        };
        f.render_widget(Paragraph::new(Line::styled(why, t.fg(t.dim))), area);
        return;
    }
    let widths: Vec<u16> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].text.chars().count())
                .chain([header[c].chars().count()])
                .max()
                .unwrap_or(1)
                .min(60) as u16
        })
        .collect();
    let widths = fit_widths(widths, area.width);
    // Header line, then rows; the last line tells the rows shown when they do not all fit.
    let body = usize::from(area.height.saturating_sub(1));
    let (fits, room) = if rows.len() <= body {
        (true, body)
    } else {
        (false, body.saturating_sub(1))
    };
    let max_offset = rows.len().saturating_sub(room);
    let offset = d
        .table_scroll
        .get(&at)
        .copied()
        .unwrap_or(0)
        .min(max_offset);
    let lines: Vec<Row> = rows
        .iter()
        .skip(offset)
        .take(room)
        .map(|r| {
            Row::new(r.iter().map(|s| {
                let style = s
                    .color
                    .as_deref()
                    .filter(|_| s.mapped)
                    .and_then(grafana_color)
                    .map_or(t.fg(t.text), |c| t.fg(c));
                Cell::from(Span::styled(s.text.clone(), style))
            }))
        })
        .collect();
    let table = Table::new(lines, widths.iter().map(|w| Constraint::Length(*w)))
        .header(
            Row::new(header.iter().map(|h| Cell::from(h.clone())))
                .style(t.fg(t.title).add_modifier(Modifier::BOLD)),
        )
        .column_spacing(1);
    f.render_widget(table, area);
    if !fits {
        let last = offset + room;
        f.render_widget(
            Paragraph::new(Line::styled(
                format!("rows {}–{last} of {}", offset + 1, rows.len()),
                t.fg(t.dim),
            )),
            Rect {
                y: area.bottom() - 1,
                height: 1,
                ..area
            },
        );
    }
}
