//! The targets pane: remote-write senders and failing discoverers on top, then targets grouped
//! by pool with their health, last scrape, duration and last error, or (`d`) the targets
//! relabeling dropped with the rule that dropped them; `/` filters. Only the rows that fit
//! around the selection are built. Uses `app`, `format`, `theme` and `view::panel`.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::panel::block;
use crate::tui::app::{App, Focus};
use crate::tui::format::{ago, short_num, truncate};
use crate::tui::theme::Theme;

fn health_style(h: &str, t: &Theme) -> Style {
    match h {
        "up" => t.fg(t.up),
        "down" => t.fg(t.down).add_modifier(Modifier::BOLD),
        _ => t.fg(t.unknown),
    }
}

/// Draws the targets pane.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Targets;
    let list = app.visible_targets();
    let up = list.iter().filter(|x| x.health == "up").count();
    let head = if app.show_dropped {
        format!("Dropped targets {} · d active", app.visible_dropped().len())
    } else if app.dropped.is_empty() {
        format!("Targets {up}/{} up", list.len())
    } else {
        format!(
            "Targets {up}/{} up · d {} dropped",
            list.len(),
            app.dropped.len()
        )
    };
    let title = if app.targets_filter.is_empty() && !app.filter_editing {
        head
    } else {
        format!(
            "{head}  /{}{}",
            app.targets_filter,
            if app.filter_editing && focused {
                "▏"
            } else {
                ""
            }
        )
    };
    let b = block(&title, focused, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    if let Some(e) = &app.targets_error {
        f.render_widget(
            Paragraph::new(Line::styled(e.clone(), t.fg(t.error))).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    // Remote-write senders on top: where data goes, and whether it is keeping up.
    let inner = if app.senders.is_empty() {
        inner
    } else {
        let n = (app.senders.len() as u16).min(inner.height / 3);
        let lines: Vec<Line> = app
            .senders
            .iter()
            .take(n as usize)
            .map(|s| {
                let trouble = s.failed > 0 && s.pending > 0;
                Line::from(vec![
                    Span::styled("→ ", if trouble { t.fg(t.error) } else { t.fg(t.up) }),
                    Span::raw(format!("{} ", truncate(&s.name, 24))),
                    Span::styled(
                        format!(
                            "sent {} · pending {} · failed {} · dropped {}{}",
                            short_num(s.sent as f64),
                            short_num(s.pending as f64),
                            s.failed,
                            s.dropped,
                            if s.shards > 0 {
                                format!(
                                    " · {} shard{} · RW {}",
                                    s.shards,
                                    if s.shards == 1 { "" } else { "s" },
                                    s.protocol
                                )
                            } else {
                                String::new()
                            }
                        ),
                        t.fg(t.dim),
                    ),
                ])
            })
            .collect();
        f.render_widget(
            Paragraph::new(Text::from(lines)),
            Rect::new(inner.x, inner.y, inner.width, n),
        );
        Rect::new(inner.x, inner.y + n, inner.width, inner.height - n)
    };
    // Failing discoverers next: their pools keep their last good targets meanwhile.
    let inner = if app.discovery_errors.is_empty() {
        inner
    } else {
        let n = (app.discovery_errors.len() as u16)
            .min(inner.height / 3)
            .max(1);
        let lines: Vec<Line> = app
            .discovery_errors
            .iter()
            .take(n as usize)
            .map(|e| {
                Line::from(vec![
                    Span::styled("⚠ ", t.fg(t.error)),
                    Span::styled(
                        format!("{} {}: {}", e.pool, e.discoverer, e.error),
                        t.fg(t.error),
                    ),
                ])
            })
            .collect();
        f.render_widget(
            Paragraph::new(Text::from(lines)),
            Rect::new(inner.x, inner.y, inner.width, n),
        );
        Rect::new(
            inner.x,
            inner.y + n,
            inner.width,
            inner.height.saturating_sub(n),
        )
    };
    if app.show_dropped {
        draw_dropped(app, f, inner);
        return;
    }
    // Rows are indexed first (cheap), and lines are built only for what fits around the
    // selection, so thousands of targets cost little per frame.
    enum Row {
        Header(usize),
        Target(usize),
        Error(usize),
    }
    let height = inner.height as usize;
    let mut counts: std::collections::HashMap<&str, (usize, usize)> = Default::default();
    for x in &list {
        let e = counts.entry(x.pool.as_str()).or_default();
        e.0 += 1;
        e.1 += usize::from(x.health == "up");
    }
    let mut rows: Vec<Row> = Vec::with_capacity(list.len() + counts.len());
    let mut last_pool: Option<&str> = None;
    for (i, x) in list.iter().enumerate() {
        if last_pool != Some(x.pool.as_str()) {
            rows.push(Row::Header(i));
            last_pool = Some(&x.pool);
        }
        rows.push(Row::Target(i));
        if !x.last_error.is_empty() {
            rows.push(Row::Error(i));
        }
    }
    let sel_row = rows
        .iter()
        .position(|r| matches!(r, Row::Target(i) if *i == app.targets_sel))
        .unwrap_or(0);
    let first = sel_row.saturating_sub(height.saturating_sub(1));
    let inst_w = (inner.width as usize).saturating_sub(25).max(10);
    let shown: Vec<Line> = rows
        .iter()
        .skip(first)
        .take(height)
        .map(|r| match *r {
            Row::Header(i) => {
                let pool = list[i].pool.as_str();
                let (n, u) = counts.get(pool).copied().unwrap_or_default();
                Line::from(Span::styled(
                    format!("{pool} ({u}/{n})"),
                    t.fg(t.title).add_modifier(Modifier::BOLD),
                ))
            }
            Row::Error(i) => Line::from(Span::styled(
                format!("   ↳ {}", list[i].last_error),
                t.fg(t.error),
            )),
            Row::Target(i) => {
                let x = list[i];
                let dot = match x.health.as_str() {
                    "up" => "●",
                    "down" => "✖",
                    _ => "○",
                };
                let line = Line::from(vec![
                    Span::styled(format!(" {dot} "), health_style(&x.health, t)),
                    Span::raw(format!("{:<inst_w$} ", truncate(&x.instance, inst_w))),
                    Span::styled(format!("{:<5}", x.health), health_style(&x.health, t)),
                    Span::styled(
                        format!(
                            "{:>8} {:>4}ms",
                            ago(app.now, &x.last_scrape).trim_end_matches(" ago"),
                            (x.duration * 1000.0).round()
                        ),
                        t.fg(t.dim),
                    ),
                ]);
                if focused && i == app.targets_sel {
                    line.style(t.selected())
                } else {
                    line
                }
            }
        })
        .collect();
    if shown.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled("no targets", t.fg(t.dim))),
            inner,
        );
    } else {
        f.render_widget(Paragraph::new(Text::from(shown)), inner);
    }
}

/// The dropped targets, grouped by pool, each with the rule that dropped it (when the server
/// says: promterm does, Prometheus does not).
fn draw_dropped(app: &App, f: &mut Frame, inner: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Targets;
    let list = app.visible_dropped();
    // (pool header before it, index) per target; lines only for what fits.
    let mut rows: Vec<(bool, usize)> = Vec::with_capacity(list.len() * 2);
    for (i, x) in list.iter().enumerate() {
        if i == 0 || list[i - 1].pool != x.pool {
            rows.push((true, i));
        }
        rows.push((false, i));
    }
    let height = inner.height as usize;
    let sel_row = rows
        .iter()
        .position(|r| *r == (false, app.targets_sel))
        .unwrap_or(0);
    let first = sel_row.saturating_sub(height.saturating_sub(1));
    let addr_w = (inner.width as usize).saturating_sub(30).max(10);
    let shown: Vec<Line> = rows
        .iter()
        .skip(first)
        .take(height)
        .map(|&(header, i)| {
            let x = list[i];
            if header {
                let n = list.iter().filter(|y| y.pool == x.pool).count();
                return Line::from(Span::styled(
                    format!("{} ({n} dropped)", x.pool),
                    t.fg(t.title).add_modifier(Modifier::BOLD),
                ));
            }
            let why = match &x.dropped_by {
                Some((rule, action)) => format!("dropped by rule {rule} ({action})"),
                None => "dropped".to_string(),
            };
            let line = Line::from(vec![
                Span::styled(" ⊘ ", t.fg(t.dim)),
                Span::raw(format!("{:<addr_w$} ", truncate(x.address(), addr_w))),
                Span::styled(why, t.fg(t.dim)),
            ]);
            if focused && i == app.targets_sel {
                line.style(t.selected())
            } else {
                line
            }
        })
        .collect();
    if shown.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled("no dropped targets", t.fg(t.dim))),
            inner,
        );
    } else {
        f.render_widget(Paragraph::new(Text::from(shown)), inner);
    }
}
