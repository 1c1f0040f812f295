//! A dashboard panel's series with their field options applied, for the drawing in
//! `dashboard_view`: each series named and configured by `grafana::fields` (defaults and
//! overrides, `displayName`), and the lines a time series panel draws from them — stacked
//! per series as Grafana stacks (by `custom.stacking` mode and group, negative-Y series
//! stacking downwards apart from the others), negative-Y series below zero, series hidden
//! from the graph left out. Also the titles of panels and rows with their variables (a
//! repeat copy's bound to its value). Uses `grafana` (fields, repeat, model) and `data`.

use std::collections::BTreeMap;

use crate::tui::data::QueryData;
use crate::tui::grafana::fields::{display_name, field_config, FieldOptions};
use crate::tui::grafana::legend::legend;
use crate::tui::grafana::model::{Panel, Row, Stack};
use crate::tui::grafana::repeat;
use crate::tui::grafana::Loaded;

use crate::tui::app::grafana::DashView;

/// One named series of a panel, (unix seconds, value) oldest first, with its field options
/// (`grafana::fields`: unit, colour, stacking, negative-Y, hidden …).
#[derive(Debug, Clone, Default)]
pub struct Named {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub field: FieldOptions,
}

/// A panel's title as drawn: variables expanded, a repeat copy's bound to its value.
pub fn panel_title(l: &Loaded, row: &Row, p: &Panel) -> String {
    repeat::title(&p.title, &l.variables, &repeat::scope(row, p))
}

/// A row's title as drawn.
pub fn row_title(l: &Loaded, row: &Row) -> String {
    repeat::title(
        row.title.as_deref().unwrap_or_default(),
        &l.variables,
        &row.bound,
    )
}

/// What a panel's answers hold: its series in query order, named and configured by their
/// field options, and the errors of failed queries.
pub fn panel_series(
    d: &DashView,
    row: usize,
    panel: usize,
    p: &Panel,
) -> (Vec<Named>, Vec<String>) {
    let (mut series, mut errors) = (Vec::new(), Vec::new());
    let (vars, bound) = match (
        &d.loaded,
        &d.loaded
            .as_ref()
            .ok()
            .and_then(|l| l.dashboard.rows.get(row)),
    ) {
        (Ok(l), Some(r)) => (l.variables.as_slice(), repeat::scope(r, p)),
        (Ok(l), None) => (l.variables.as_slice(), Vec::new()),
        _ => (&[][..], Vec::new()),
    };
    let mut add = |name: String, labels: &BTreeMap<String, String>, ref_id: &str, points| {
        let field = field_config(p, &name, ref_id);
        let shown = display_name(&field, &name, labels, vars, &bound);
        series.push(Named {
            name: shown,
            points,
            field,
        });
    };
    for (ti, t) in p.targets.iter().enumerate() {
        let Some(a) = d.answers.get(&(row, panel, ti)) else {
            continue;
        };
        match &a.result {
            Err(e) => errors.push(format!("{}: {e}", t.ref_id)),
            Ok(QueryData::Matrix(v) | QueryData::Vector(v)) => {
                for s in v {
                    let name = legend(&t.legend_format, &s.labels, &a.expr);
                    add(name, &s.labels, &t.ref_id, s.points.clone());
                }
            }
            Ok(QueryData::Scalar(t0, v)) => {
                add(a.expr.clone(), &BTreeMap::new(), &t.ref_id, vec![(*t0, *v)]);
            }
            Ok(_) => {}
        }
    }
    (series, errors)
}

/// The line each series draws (empty for a series hidden from the graph): negative-Y series
/// negated, stacked series on the sum of those before them in their stack (mode, group and
/// direction), `Percent` stacks as shares of their total (0 to 1, negative-Y to -1).
pub fn drawn(series: &[Named]) -> Vec<Vec<(f64, f64)>> {
    let key = |t: f64| (t * 1000.0).round() as i64;
    let sign = |f: &FieldOptions| if f.negative_y { -1.0 } else { 1.0 };
    let values = |s: &Named| -> Vec<(f64, f64)> {
        s.points
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|&(t, v)| (t, v * sign(&s.field)))
            .collect()
    };
    let stack_of = |f: &FieldOptions| {
        (
            f.stack_group.clone(),
            f.negative_y,
            f.stack == Stack::Percent,
        )
    };
    // Totals of each percent stack.
    let mut totals: BTreeMap<(String, bool, bool), BTreeMap<i64, f64>> = BTreeMap::new();
    for s in series
        .iter()
        .filter(|s| s.field.stack == Stack::Percent && !s.field.hide_viz)
    {
        let total = totals.entry(stack_of(&s.field)).or_default();
        for (t, v) in values(s) {
            *total.entry(key(t)).or_default() += v.abs();
        }
    }
    let mut below: BTreeMap<(String, bool, bool), BTreeMap<i64, f64>> = BTreeMap::new();
    series
        .iter()
        .map(|s| {
            if s.field.hide_viz {
                return Vec::new();
            }
            if s.field.stack == Stack::None {
                return values(s);
            }
            let k = stack_of(&s.field);
            let acc = below.entry(k.clone()).or_default();
            let total = totals.get(&k);
            values(s)
                .into_iter()
                .map(|(t, v)| {
                    let sum = acc.entry(key(t)).or_default();
                    *sum += v;
                    let y = match total.and_then(|tot| tot.get(&key(t))) {
                        Some(all) if *all != 0.0 => *sum / all,
                        _ => *sum,
                    };
                    (t, y)
                })
                .collect()
        })
        .collect()
}
