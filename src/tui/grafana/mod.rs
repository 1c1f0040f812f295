//! Grafana dashboards, the model the dashboard view draws: `model` reads a dashboard's JSON as
//! Grafana exports it (rows, collapsed rows, legacy `rows[]`, panel types, queries, units,
//! thresholds, datasources), `layout` places rows and panels on the terminal keeping Grafana's
//! grid, `vars` holds the template variables and turns API answers into their options,
//! `interpolate` expands a query to exactly what Grafana sends Prometheus (variables with the
//! Prometheus datasource's escaping, `$__interval`, `$__rate_interval`, `$__range`, …),
//! `legend` names series (`legendFormat`) and reduces them (min, max, mean, last), `units`
//! writes values in Grafana's units, `timerange` reads and changes time ranges (`now/d`, ISO,
//! epoch ms; zoom, pan, presets), `repeat` makes the copies of repeated panels and rows for the
//! variables' values (and writes titles with their variables), `fields` resolves a series'
//! field options (`fieldConfig` defaults and overrides), `table` turns query answers into the
//! rows a table panel shows (Grafana's transformations), `field_display` gives each table or
//! single-value field its display options (overrides from `fields`) and text, `options` reads
//! what tables, heatmaps and legends need, `mappings` applies value mappings. Pure: no
//! terminal, no I/O but `load` reading the file and `files`.
//!
//! Files, from the top, each using only those after it: `fields` → `repeat` → `interpolate` →
//! `vars` → `layout` → `model`; `table` → `field_display` → `fields` → `model` → `options` →
//! `mappings` (`table` reads `data`); `legend`, `units` and `timerange` stand alone (`units`
//! reuses `dashboard`'s formatting and `format`; `timerange` uses `format`'s local time
//! offset); `save` builds dashboards from the TUI as Grafana JSON, `files` lists the
//! dashboards directory and saves into it (file I/O).

pub mod field_display;
pub mod fields;
pub mod files;
pub mod interpolate;
pub mod layout;
pub mod legend;
pub mod mappings;
pub mod model;
pub mod options;
pub mod repeat;
pub mod save;
pub mod table;
pub mod timerange;
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
    /// The dashboard's JSON as read (the inner `dashboard` of the API's form): saving writes
    /// it back with the panels added in the TUI (`save`).
    pub source: serde_json::Value,
}

/// Reads dashboard text; `path` names it in errors.
pub fn parse(text: &str, path: &str) -> Result<Loaded, LoadError> {
    let mut dashboard = Dashboard::parse(text, path)?;
    let variables = vars::parse_all(&dashboard.templating);
    repeat::expand_dashboard(&mut dashboard, &variables);
    let mut notes: Vec<String> = variables
        .iter()
        .filter_map(|v| Some(format!("variable ${}: {}", v.name, v.note.as_ref()?)))
        .collect();
    notes.extend(
        dashboard
            .template
            .iter()
            .flat_map(|r| r.panels.iter())
            .filter_map(|p| Some(format!("panel {:?}: {}", p.title, p.not_drawn_reason()?))),
    );
    let mut source: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    if source.get("panels").is_none() && source.get("dashboard").is_some_and(|d| d.is_object()) {
        source = source["dashboard"].take();
    }
    Ok(Loaded {
        dashboard,
        variables,
        notes,
        source,
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
mod save_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_panels;
