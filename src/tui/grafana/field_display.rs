//! Each field's display options for tables and single values, and a value's text and colour
//! under them. `field_options` is the one place these are looked up: the panel's
//! `fieldConfig.defaults` (unit, decimals, min, max, thresholds, mappings, noValue), then a
//! legacy table style matching the field's name (alias, hidden, unit, decimals, date, its own
//! mappings), then the `fieldConfig.overrides` matching the field (resolved by `fields`). `display` writes a value: a
//! matching value mapping's text and colour first (a mapped text is shown without the unit),
//! else the value in the unit with the decimals, threshold colour for numbers; no value shows
//! `noValue`. Uses `fields`, `model`, `options`, `mappings`, `units` and `format`.

use super::mappings::{map, Cell, Mapping};
use super::model::{Panel, Thresholds};
use super::units;

/// The options of one field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DisplayOptions {
    pub unit: Option<String>,
    pub decimals: Option<u32>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub thresholds: Option<Thresholds>,
    pub mappings: Vec<Mapping>,
    pub no_value: Option<String>,
    /// The header shown instead of the field's name.
    pub display_name: Option<String>,
    pub hidden: bool,
    /// Numbers are times (milliseconds, as Grafana's time fields).
    pub date: bool,
}

/// The options of field `field` of panel `p` (its name before any alias).
pub fn field_options(p: &Panel, field: &str) -> DisplayOptions {
    let mut o = DisplayOptions {
        unit: p.unit.clone(),
        decimals: p.decimals,
        min: p.min,
        max: p.max,
        thresholds: p.thresholds.clone(),
        mappings: p.opts.mappings.clone(),
        no_value: p.opts.no_value.clone(),
        display_name: None,
        hidden: false,
        date: field == "Time",
    };
    // Legacy tables: the first style whose pattern matches.
    if let Some(s) = p.opts.styles.iter().find(|s| s.matches(field)) {
        o.display_name = s.alias.clone();
        o.hidden = s.hidden;
        o.date = s.date || (field == "Time" && !s.hidden && s.unit.is_none());
        if s.unit.is_some() {
            o.unit = s.unit.clone();
        }
        if s.decimals.is_some() {
            o.decimals = s.decimals;
        }
        if !s.mappings.is_empty() {
            o.mappings = s.mappings.clone();
        }
    }
    // Overrides last: they win over the defaults and the styles.
    let has_overrides = p.field_config["overrides"]
        .as_array()
        .is_some_and(|l| !l.is_empty());
    if !has_overrides {
        return o;
    }
    let over = super::fields::field_config(p, field, "");
    let mut bare = p.clone();
    bare.field_config["overrides"] = serde_json::Value::Array(Vec::new());
    let base = super::fields::field_config(&bare, field, "");
    let by_override = |id: &str| over.get(id).is_some() && over.get(id) != base.get(id);
    if by_override("unit") {
        o.unit = over.unit.clone();
    }
    if by_override("decimals") {
        o.decimals = over.decimals;
    }
    if by_override("min") {
        o.min = over.min;
    }
    if by_override("max") {
        o.max = over.max;
    }
    if by_override("thresholds") {
        o.thresholds = over.thresholds.clone();
    }
    if by_override("displayName") {
        o.display_name = over.display_name.clone();
    }
    if by_override("mappings") {
        if let Some(m) = over.get("mappings") {
            o.mappings = super::mappings::parse_list(m);
        }
    }
    o
}

/// A value as shown: its text and, when something gives one, a Grafana colour name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shown {
    pub text: String,
    pub color: Option<String>,
    /// The text and colour come from a value mapping (tables colour only those).
    pub mapped: bool,
}

/// `cell` written under `o`; `utc` for dates.
pub fn display(o: &DisplayOptions, cell: &Cell, utc: bool) -> Shown {
    let formatted = || match cell {
        Cell::Num(v) if o.date && v.is_finite() => crate::tui::format::clock(v / 1000.0, utc, true),
        Cell::Num(v) => units::format(o.unit.as_deref(), *v, o.decimals),
        Cell::Text(s) => s.clone(),
        Cell::Null => o.no_value.clone().unwrap_or_default(),
    };
    if let Some(m) = map(&o.mappings, cell) {
        return Shown {
            text: m.text.unwrap_or_else(formatted),
            color: m.color,
            mapped: true,
        };
    }
    let color = match cell {
        Cell::Num(v) if !o.date => o
            .thresholds
            .as_ref()
            .and_then(|t| t.color_for(*v, o.min.unwrap_or(0.0), o.max.unwrap_or(100.0)))
            .map(str::to_string),
        _ => None,
    };
    Shown {
        text: formatted(),
        color,
        mapped: false,
    }
}
