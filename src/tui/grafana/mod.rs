//! Grafana dashboards, the model the dashboard view draws: `model` reads a dashboard's JSON as
//! Grafana exports it (rows, collapsed rows, legacy `rows[]`, panel types, queries, units,
//! thresholds, datasources), `layout` places rows and panels on the terminal keeping Grafana's
//! grid, `vars` holds the template variables and turns API answers into their options,
//! `interpolate` expands a query to exactly what Grafana sends Prometheus (variables with the
//! Prometheus datasource's escaping, `$__interval`, `$__rate_interval`, `$__range`, …),
//! `legend` names series (`legendFormat`) and reduces them (min, max, mean, last), `units`
//! writes values in Grafana's units, `table` turns query answers into the rows a table panel
//! shows (Grafana's transformations), `fields` gives each field its display options and text,
//! `options` reads what tables, heatmaps and legends need, `mappings` applies value mappings.
//! Pure: no terminal, no I/O but `load` reading the file.
//!
//! Files, from the top, each using only those after it: `interpolate` → `vars` → `layout` →
//! `model`; `legend` and `units` stand alone (`units` reuses `dashboard`'s formatting and
//! `format`); `table` → `fields` → `model` → `options` → `mappings` (`table` reads `data`).

pub mod fields;
pub mod interpolate;
pub mod layout;
pub mod legend;
pub mod mappings;
pub mod model;
pub mod options;
pub mod table;
pub mod units;
pub mod vars;

use std::path::Path;

pub use model::{Dashboard, LoadError};
pub use vars::Variable;

/// A dashboard ready for the view: its model, its variables, and one line per thing that
/// will not work as in Grafana (panels not drawn, variables not supported).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub dashboard: Dashboard,
    pub variables: Vec<Variable>,
    pub notes: Vec<String>,
}

/// Reads dashboard text; `path` names it in errors.
pub fn parse(text: &str, path: &str) -> Result<Loaded, LoadError> {
    let dashboard = Dashboard::parse(text, path)?;
    let variables = vars::parse_all(&dashboard.templating);
    let mut notes: Vec<String> = variables
        .iter()
        .filter_map(|v| Some(format!("variable ${}: {}", v.name, v.note.as_ref()?)))
        .collect();
    notes.extend(
        dashboard
            .panels()
            .filter_map(|p| Some(format!("panel {:?}: {}", p.title, p.not_drawn_reason()?))),
    );
    Ok(Loaded {
        dashboard,
        variables,
        notes,
    })
}

/// Reads a dashboard file.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Read {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    parse(&text, &shown)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_panels;
