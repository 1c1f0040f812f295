//! The panel options that tables, heatmaps, legends and value mappings need, read from a
//! panel's JSON: value mappings and `noValue` (`fieldConfig.defaults`), a table's
//! `transformations` (kept as JSON, applied by `table`), `options.sortBy`, the legacy table's
//! `styles` (pattern, alias, hidden, unit, decimals, date), the legend's `displayMode`
//! (list, table, hidden), `placement` (bottom, right) and legacy `legend.{show, alignAsTable,
//! rightSide}`, and a heatmap's y axis unit and decimals (`options.yAxis`, legacy `yAxis`).
//! Uses `mappings`.

use serde_json::Value;

use super::mappings::{self, js_regex, Mapping};

/// How a legend is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LegendMode {
    #[default]
    List,
    Table,
    Hidden,
}

/// A legend's mode and place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LegendOptions {
    pub mode: LegendMode,
    /// Right of the chart rather than under it.
    pub right: bool,
}

/// One legacy table style (`styles[]` of `table-old`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LegacyStyle {
    /// A field name, or `/regex/`.
    pub pattern: String,
    pub alias: Option<String>,
    pub hidden: bool,
    pub date: bool,
    pub unit: Option<String>,
    pub decimals: Option<u32>,
    pub mappings: Vec<Mapping>,
}

impl LegacyStyle {
    /// Whether the style is for field `name`.
    pub fn matches(&self, name: &str) -> bool {
        if self.pattern == name {
            return true;
        }
        self.pattern.starts_with('/')
            && self.pattern.len() > 1
            && js_regex(&self.pattern).is_some_and(|re| re.is_match(name))
    }
}

/// The options beyond the model's own fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PanelOptions {
    pub mappings: Vec<Mapping>,
    pub no_value: Option<String>,
    /// `transformations`, in order.
    pub transformations: Vec<Value>,
    /// `options.sortBy`: (display name, descending).
    pub sort_by: Vec<(String, bool)>,
    pub styles: Vec<LegacyStyle>,
    pub legend: LegendOptions,
    pub heat_unit: Option<String>,
    pub heat_decimals: Option<u32>,
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

fn decimals(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .map(|d| d.min(12) as u32)
}

fn legend(v: &Value) -> LegendOptions {
    let l = &v["options"]["legend"];
    if l.is_object() {
        let mode = match l["displayMode"].as_str() {
            _ if l["showLegend"].as_bool() == Some(false) => LegendMode::Hidden,
            Some("table") => LegendMode::Table,
            Some("hidden") => LegendMode::Hidden,
            _ => LegendMode::List,
        };
        return LegendOptions {
            mode,
            right: l["placement"].as_str() == Some("right"),
        };
    }
    // The legacy graph panel's legend.
    let l = &v["legend"];
    let mode = if l["show"].as_bool() == Some(false) {
        LegendMode::Hidden
    } else if l["alignAsTable"].as_bool() == Some(true) {
        LegendMode::Table
    } else {
        LegendMode::List
    };
    LegendOptions {
        mode,
        right: l["rightSide"].as_bool() == Some(true),
    }
}

fn style(s: &Value) -> LegacyStyle {
    let kind = s["type"].as_str().unwrap_or("number");
    let mapping_kind = s["mappingType"].as_i64().unwrap_or(1);
    let maps = if mapping_kind == 2 {
        &s["rangeMaps"]
    } else {
        &s["valueMaps"]
    };
    // Legacy style maps have no `type`: give them the style's mapping type.
    let typed: Vec<Value> = maps
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let mut m = m.clone();
            if let Some(o) = m.as_object_mut() {
                o.insert("type".into(), Value::from(mapping_kind));
            }
            m
        })
        .collect();
    LegacyStyle {
        pattern: text(s, "pattern").unwrap_or_default(),
        alias: text(s, "alias"),
        hidden: kind == "hidden",
        date: kind == "date",
        unit: text(s, "unit"),
        decimals: decimals(&s["decimals"]),
        mappings: mappings::parse_list(&Value::Array(typed)),
    }
}

impl PanelOptions {
    /// Reads them from a panel's JSON.
    pub fn parse(v: &Value) -> PanelOptions {
        let defaults = &v["fieldConfig"]["defaults"];
        let y = if v["options"]["yAxis"].is_object() {
            &v["options"]["yAxis"]
        } else {
            &v["yAxis"]
        };
        PanelOptions {
            mappings: mappings::parse_panel(v),
            no_value: text(defaults, "noValue"),
            transformations: v["transformations"].as_array().cloned().unwrap_or_default(),
            sort_by: v["options"]["sortBy"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| Some((text(s, "displayName")?, s["desc"].as_bool() == Some(true))))
                .collect(),
            styles: v["styles"]
                .as_array()
                .into_iter()
                .flatten()
                .map(style)
                .collect(),
            legend: legend(v),
            heat_unit: text(y, "unit").or_else(|| text(y, "format")),
            heat_decimals: decimals(&y["decimals"]),
        }
    }
}
