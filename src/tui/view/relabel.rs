//! The relabeling view (Prometheus's UI has one): a target's discovered labels beside its
//! target labels (changed and new ones highlighted), or the rule that dropped it; under them,
//! where the server tells them (promterm, Prometheus 3.x), each relabel step with what it
//! changed. Against a server without relabel steps the two label sets are all it shows.
//! Uses `app`, `data`, `format`, `theme` and `view::panel`.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::panel::block;
use crate::tui::app::{App, RelabelView};
use crate::tui::data::LabelSet;
use crate::tui::format::truncate;
use crate::tui::theme::Theme;

fn pair(k: &str, v: &str) -> String {
    format!("{k}={v:?}")
}

/// What one step changed against the labels before it, a line each.
fn changes<'a>(before: &LabelSet, after: &LabelSet, t: &Theme) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    for (k, v) in after {
        match before.get(k) {
            None => out.push(Line::styled(format!("      + {}", pair(k, v)), t.fg(t.up))),
            Some(old) if old != v => out.push(Line::styled(
                format!("      ~ {}  (was {old:?})", pair(k, v)),
                t.fg(t.warning),
            )),
            Some(_) => {}
        }
    }
    for k in before.keys().filter(|k| !after.contains_key(*k)) {
        out.push(Line::styled(format!("      - {k}"), t.fg(t.dim)));
    }
    if out.is_empty() {
        out.push(Line::styled("      (no change)", t.fg(t.dim)));
    }
    out
}

/// The lines of the view: the two label columns, then the steps.
pub fn lines<'a>(v: &RelabelView, width: u16, t: &Theme) -> Vec<Line<'a>> {
    let half = (width.saturating_sub(3) / 2) as usize;
    let head = t.fg(t.title).add_modifier(Modifier::BOLD);
    // For a dropped target: the rule that dropped it, and (once the steps are known) the
    // labels that rule saw.
    let at = match &v.steps {
        Some(Ok(steps)) => steps.iter().position(|s| !s.keep),
        _ => None,
    };
    let seen = at.map(|i| match i.checked_sub(1) {
        Some(prev) => match &v.steps {
            Some(Ok(steps)) => &steps[prev].output,
            _ => &v.discovered,
        },
        None => &v.discovered,
    });
    let right_head = match (&v.labels, &v.dropped_by, at) {
        (Some(_), _, _) => "TARGET LABELS".to_string(),
        (None, Some((i, action)), _) => format!("DROPPED by rule {i} ({action})"),
        (None, None, Some(i)) => format!("DROPPED by rule {i}"),
        (None, None, None) => "DROPPED".to_string(),
    };
    let mut out = vec![Line::from(vec![
        Span::styled(format!("{:<half$}", "DISCOVERED LABELS"), head),
        Span::styled(" │ ", t.fg(t.dim)),
        Span::styled(
            truncate(&right_head, half),
            head.fg(if v.labels.is_some() { t.title } else { t.down }),
        ),
    ])];
    let left: Vec<String> = v.discovered.iter().map(|(k, val)| pair(k, val)).collect();
    let right: Vec<(String, Style)> = match v.labels.as_ref().or(seen) {
        Some(l) => l
            .iter()
            .map(|(k, val)| {
                let same = v.discovered.get(k) == Some(val);
                let style = if same { Style::default() } else { t.fg(t.up) };
                (pair(k, val), style)
            })
            .collect(),
        None => Vec::new(),
    };
    for i in 0..left.len().max(right.len()) {
        let l = left.get(i).map_or(String::new(), |s| truncate(s, half));
        let (r, style) = right
            .get(i)
            .map_or((String::new(), Style::default()), |(s, st)| {
                (truncate(s, half), *st)
            });
        out.push(Line::from(vec![
            Span::raw(format!("{l:<half$}")),
            Span::styled(" │ ", t.fg(t.dim)),
            Span::styled(r, style),
        ]));
    }
    out.push(Line::raw(""));
    out.push(Line::styled("RELABEL STEPS", head));
    match &v.steps {
        None => out.push(Line::styled("  asking the server…", t.fg(t.dim))),
        Some(Err(e)) => out.push(Line::styled(
            truncate(
                &format!("  not offered by this server ({e})"),
                width as usize,
            ),
            t.fg(t.dim),
        )),
        Some(Ok(steps)) if steps.is_empty() => out.push(Line::styled(
            "  the job has no relabel_configs",
            t.fg(t.dim),
        )),
        Some(Ok(steps)) => {
            let mut before = &v.discovered;
            for (i, s) in steps.iter().enumerate() {
                let dropped_here = !s.keep && (i == 0 || steps[i - 1].keep);
                let style = if s.keep || dropped_here {
                    Style::default()
                } else {
                    t.fg(t.dim)
                };
                out.push(Line::styled(
                    truncate(&format!("  {i:>2} {}", s.rule), width as usize),
                    style,
                ));
                if dropped_here {
                    out.push(Line::styled(
                        "      ✖ dropped the target",
                        t.fg(t.down).add_modifier(Modifier::BOLD),
                    ));
                } else if s.keep {
                    out.extend(changes(before, &s.output, t));
                    before = &s.output;
                }
            }
        }
    }
    out
}

/// Draws the view of `v` in `area`.
pub fn draw(app: &App, v: &RelabelView, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let addr = v.discovered.get("__address__").map_or("", String::as_str);
    let title = format!("Relabeling · {} · {addr}  (Esc closes)", v.pool);
    let b = block(&title, true, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let text = Text::from(lines(v, inner.width, t));
    f.render_widget(Paragraph::new(text).scroll((v.scroll, 0)), inner);
}
