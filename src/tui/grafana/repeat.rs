//! Repeated panels and rows as Grafana draws them: a panel with `repeat: "var"` becomes one
//! copy per selected value of the variable (All: every option), each copy binding the
//! variable to its one value (for its queries and its title); side by side
//! (`repeatDirection` "h", at most `maxPerRow` a line, the width divided equally among
//! min(values, maxPerRow) columns) or stacked ("v"). A row with `repeat` becomes one row per
//! value with all its panels, each binding the value. What sits below a repeat moves down by
//! the height the copies add. `expand` makes the dashboard's shown rows from the rows as read
//! (`Dashboard::template`); `bind` gives the variables as one copy sees them.
//!
//! `title` writes a panel's or row's title as Grafana does, its variables expanded.
//!
//! Uses `model` (rows, panels, grid), `vars` (the variables' selections) and `interpolate`.

use super::interpolate::{Context, Interpolator};
use super::model::{Dashboard, Panel, RepeatCopy, Row};
use super::vars::{Variable, ALL};

/// The grid's width in columns.
const COLUMNS: u32 = 24;

/// The values a repeat by `var` draws: every option for All, else the selected values.
pub fn repeat_values(var: &Variable) -> Vec<String> {
    if var.is_all() {
        var.options.iter().map(|o| o.value.clone()).collect()
    } else {
        var.current.iter().filter(|c| *c != ALL).cloned().collect()
    }
}

/// The values of the variable named `name`, when there is one and it has values.
fn values_of(vars: &[Variable], name: &str) -> Option<Vec<String>> {
    let v = vars.iter().find(|v| v.name == name)?;
    Some(repeat_values(v)).filter(|vals| !vals.is_empty())
}

/// Re-makes `d.rows` from `d.template` for the variables' current values.
pub fn expand_dashboard(d: &mut Dashboard, vars: &[Variable]) {
    d.rows = expand(&d.template, vars);
}

/// The rows drawn for rows as read (`template`) and the variables' current values.
pub fn expand(template: &[Row], vars: &[Variable]) -> Vec<Row> {
    let mut out = Vec::with_capacity(template.len());
    // How far everything from here on moves down: the heights copies added above.
    let mut shift = 0u32;
    for row in template {
        let copies = row_copies(row, vars);
        // The copies after the first push what follows down by the row's height each.
        let added = (copies.len() as u32).saturating_sub(1) * row_height(row);
        for mut copy in copies {
            move_row(&mut copy, shift);
            shift += expand_panels(&mut copy, vars);
            out.push(copy);
        }
        shift += added;
    }
    out
}

/// The grid rows a row takes: its header and its panels (a collapsed row: its header).
fn row_height(row: &Row) -> u32 {
    let top = row
        .y
        .or_else(|| row.panels.iter().map(|p| p.grid.y).min())
        .unwrap_or(0);
    if row.collapsed {
        return 1;
    }
    row.panels
        .iter()
        .map(|p| p.grid.y + p.grid.h)
        .max()
        .unwrap_or(top + 1)
        .max(top + 1)
        - top
}

/// A row, or its copies one under the other when it repeats.
fn row_copies(row: &Row, vars: &[Variable]) -> Vec<Row> {
    let Some(values) = row
        .repeat
        .as_ref()
        .and_then(|r| values_of(vars, &r.var).map(|v| (r.var.clone(), v)))
    else {
        return vec![row.clone()];
    };
    let (var, values) = values;
    let height = row_height(row);
    values
        .into_iter()
        .enumerate()
        .map(|(k, value)| {
            let mut copy = row.clone();
            move_row(&mut copy, height * k as u32);
            copy.bound.push((var.clone(), value));
            copy
        })
        .collect()
}

fn move_row(row: &mut Row, by: u32) {
    if by == 0 {
        return;
    }
    if let Some(y) = row.y.as_mut() {
        *y += by;
    }
    for p in &mut row.panels {
        p.grid.y += by;
    }
}

/// Replaces each repeating panel of `row` by its copies and moves the panels below them
/// down; answers how many grid rows the row grew.
fn expand_panels(row: &mut Row, vars: &[Variable]) -> u32 {
    let bottom = |ps: &[Panel]| ps.iter().map(|p| p.grid.y + p.grid.h).max().unwrap_or(0);
    let before = bottom(&row.panels);
    let mut out: Vec<Panel> = Vec::with_capacity(row.panels.len());
    let mut rest: Vec<Panel> = std::mem::take(&mut row.panels);
    rest.reverse();
    while let Some(p) = rest.pop() {
        let Some((copies, added)) = panel_copies(&p, vars) else {
            out.push(p);
            continue;
        };
        if added > 0 {
            // What sits lower than the repeated panel moves down (Grafana leaves the panels
            // beside it on its first grid row; the layout floats the rest back up).
            for q in out.iter_mut().chain(rest.iter_mut()) {
                if q.grid.y > p.grid.y {
                    q.grid.y += added;
                }
            }
        }
        out.extend(copies);
    }
    row.panels = out;
    bottom(&row.panels).saturating_sub(before)
}

/// A repeating panel's copies and the grid rows they add; `None` when it does not repeat
/// (no `repeat`, an unknown variable, no value selected).
fn panel_copies(p: &Panel, vars: &[Variable]) -> Option<(Vec<Panel>, u32)> {
    let r = p.repeat.as_ref()?;
    let values = values_of(vars, &r.var)?;
    let n = values.len() as u32;
    let h = p.grid.h;
    let columns = if r.vertical {
        1
    } else {
        n.min(r.max_per_row).clamp(1, COLUMNS)
    };
    let copies = values
        .into_iter()
        .enumerate()
        .map(|(k, value)| {
            let k = k as u32;
            let mut c = p.clone();
            let slot = if r.vertical {
                c.grid.y = p.grid.y + k * h;
                None
            } else {
                let (col, line) = (k % columns, k / columns);
                let left = col * COLUMNS / columns;
                c.grid.x = left;
                c.grid.w = ((col + 1) * COLUMNS / columns - left).max(1);
                c.grid.y = p.grid.y + line * h;
                Some((col, columns))
            };
            c.copy = Some(RepeatCopy {
                bound: vec![(r.var.clone(), value)],
                slot,
            });
            c
        })
        .collect();
    let lines = if r.vertical { n } else { n.div_ceil(columns) };
    Some((copies, lines.saturating_sub(1) * h))
}

/// The variables a panel of `row` is interpolated with: the row's and the panel's bound
/// values (name, value) in order, later ones winning.
pub fn scope(row: &Row, p: &Panel) -> Vec<(String, String)> {
    let mut s = row.bound.clone();
    if let Some(c) = &p.copy {
        s.extend(c.bound.iter().cloned());
    }
    s
}

/// The variables as a copy sees them: each bound one holding just its value (keeping its
/// multi and include-All flags, so the value is escaped as Grafana escapes a repeat's).
pub fn bind(vars: &[Variable], bound: &[(String, String)]) -> Vec<Variable> {
    let mut out = vars.to_vec();
    for (name, value) in bound {
        if let Some(v) = out.iter_mut().find(|v| &v.name == name) {
            v.current = vec![value.clone()];
        }
    }
    out
}

/// A panel's or row's title as shown: its variables expanded (a copy's bound variable to its
/// value), as Grafana writes titles (the `glob` format: several values as `{a,b}`).
pub fn title(text: &str, vars: &[Variable], bound: &[(String, String)]) -> String {
    if !text.contains('$') && !text.contains("[[") {
        return text.to_string();
    }
    let ctx = Context::default();
    if bound.is_empty() {
        return Interpolator { vars, ctx: &ctx }.text(text);
    }
    let vars = bind(vars, bound);
    Interpolator {
        vars: &vars,
        ctx: &ctx,
    }
    .text(text)
}
