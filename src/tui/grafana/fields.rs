//! A series' field options as Grafana resolves them: the panel's `fieldConfig.defaults` (and
//! what the model read from legacy panels: `yaxes` unit, `stack`, `seriesOverrides`), then
//! each `fieldConfig.overrides` entry in order whose matcher takes the field, later ones
//! winning. Matchers: `byName`, `byNames` (include / exclude), `byRegexp` (`/re/flags`
//! unanchored, a bare pattern anchored as Grafana anchors it), `byFrameRefID`, `byType`
//! (`number`, `time`, `string`). Properties: `unit`, `decimals`, `displayName`, `min`, `max`,
//! `color`, `thresholds`, `mappings`, `custom.stacking`, `custom.transform`,
//! `custom.hideFrom`, `custom.drawStyle`; every property is also kept by id (`props`) for
//! the panels that read others. `display_name` writes a `displayName` template
//! (`${__field.labels.x}`, `${__field.name}`, `${__series.name}`, dashboard variables).
//! `byValue` is not matched (it needs the reduced values; such overrides apply to nothing).
//!
//! Every panel type calls `field_config` for its series or columns: one resolution.
//! Uses `model` (the panel, thresholds, stacking) and `repeat` (variables in names).

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;

use super::model::{thresholds, Panel, Stack, Thresholds};
use super::vars::Variable;

/// How a series is drawn in a time series panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DrawStyle {
    #[default]
    Line,
    Bars,
    Points,
}

/// What kind of field is matched (`byType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldType {
    #[default]
    Number,
    Time,
    String,
}

/// One field's resolved options.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldOptions {
    pub unit: Option<String>,
    pub decimals: Option<u32>,
    /// The `displayName` template, when set.
    pub display_name: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// `color.mode` (`fixed`, `thresholds`, `palette-classic`, …).
    pub color_mode: Option<String>,
    /// `color.fixedColor` of the `fixed` and `shades` modes.
    pub fixed_color: Option<String>,
    pub thresholds: Option<Thresholds>,
    /// `mappings` as written.
    pub mappings: Option<Value>,
    pub stack: Stack,
    /// `custom.stacking.group`: series stack with those of their group.
    pub stack_group: String,
    /// `custom.transform` is `negative-Y`: drawn below zero.
    pub negative_y: bool,
    pub hide_legend: bool,
    pub hide_tooltip: bool,
    pub hide_viz: bool,
    pub draw_style: DrawStyle,
    /// Every property by id (`unit`, `custom.lineWidth`, …) after the overrides.
    pub props: BTreeMap<String, Value>,
}

impl FieldOptions {
    /// The colour Grafana draws the series in when it names one (`fixed` mode).
    pub fn color(&self) -> Option<&str> {
        match self.color_mode.as_deref() {
            Some("fixed" | "shades") => self.fixed_color.as_deref(),
            _ => None,
        }
    }

    /// A property by id, after the overrides.
    pub fn get(&self, id: &str) -> Option<&Value> {
        self.props.get(id)
    }

    /// Sets one property (an override's or a default's).
    fn set(&mut self, id: &str, v: &Value) {
        self.props.insert(id.to_string(), v.clone());
        match id {
            "unit" => self.unit = v.as_str().filter(|u| !u.is_empty()).map(str::to_string),
            "decimals" => self.decimals = v.as_u64().map(|d| d.min(12) as u32),
            "displayName" => {
                self.display_name = v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
            }
            "min" => self.min = v.as_f64(),
            "max" => self.max = v.as_f64(),
            "color" => {
                self.color_mode = v["mode"].as_str().map(str::to_string);
                self.fixed_color = v["fixedColor"].as_str().map(str::to_string);
            }
            "thresholds" => self.thresholds = thresholds(v),
            "mappings" => self.mappings = Some(v.clone()),
            "custom.stacking" => {
                self.stack = match v["mode"].as_str() {
                    Some("normal") => Stack::Normal,
                    Some("percent") => Stack::Percent,
                    _ => Stack::None,
                };
                self.stack_group = v["group"].as_str().unwrap_or("A").to_string();
            }
            "custom.transform" => self.negative_y = v.as_str() == Some("negative-Y"),
            "custom.hideFrom" => {
                self.hide_legend = v["legend"].as_bool().unwrap_or(false);
                self.hide_tooltip = v["tooltip"].as_bool().unwrap_or(false);
                self.hide_viz = v["viz"].as_bool().unwrap_or(false);
            }
            "custom.drawStyle" => {
                self.draw_style = match v.as_str() {
                    Some("bars") => DrawStyle::Bars,
                    Some("points") => DrawStyle::Points,
                    _ => DrawStyle::Line,
                }
            }
            _ => {}
        }
    }
}

/// The options of the panel's number field named `name` (the name Grafana matches: the
/// legend's name of the series) of query `ref_id`.
pub fn field_config(panel: &Panel, name: &str, ref_id: &str) -> FieldOptions {
    field_config_typed(panel, name, ref_id, FieldType::Number)
}

/// The options of a field of any type (a table's time or text columns).
pub fn field_config_typed(
    panel: &Panel,
    name: &str,
    ref_id: &str,
    kind: FieldType,
) -> FieldOptions {
    let mut o = defaults(panel);
    let Some(overrides) = panel.field_config["overrides"].as_array() else {
        return o;
    };
    for ov in overrides {
        if !matches(&ov["matcher"], name, ref_id, kind) {
            continue;
        }
        for prop in ov["properties"].as_array().into_iter().flatten() {
            if let Some(id) = prop["id"].as_str() {
                o.set(id, &prop["value"]);
            }
        }
    }
    o
}

/// The panel's defaults: what the model read (legacy fields too), then `defaults` itself.
fn defaults(panel: &Panel) -> FieldOptions {
    let mut o = FieldOptions {
        unit: panel.unit.clone(),
        decimals: panel.decimals,
        min: panel.min,
        max: panel.max,
        thresholds: panel.thresholds.clone(),
        stack: panel.stack,
        stack_group: "A".into(),
        ..FieldOptions::default()
    };
    let Some(d) = panel.field_config["defaults"].as_object() else {
        return o;
    };
    for (k, v) in d {
        match k.as_str() {
            "custom" => {
                for (ck, cv) in v.as_object().into_iter().flatten() {
                    let id = format!("custom.{ck}");
                    if id == "custom.stacking" {
                        // The mode the model read (legacy `stack` too); the group from here.
                        o.stack_group = cv["group"].as_str().unwrap_or("A").to_string();
                        o.props.insert(id, cv.clone());
                    } else {
                        o.set(&id, cv);
                    }
                }
            }
            // Read by the model with their legacy fallbacks.
            "unit" | "decimals" | "min" | "max" | "thresholds" => {
                o.props.insert(k.clone(), v.clone());
            }
            _ => o.set(k, v),
        }
    }
    o
}

/// Whether an override's matcher takes the field.
fn matches(m: &Value, name: &str, ref_id: &str, kind: FieldType) -> bool {
    let opt = &m["options"];
    match m["id"].as_str().unwrap_or("") {
        "byName" => opt.as_str() == Some(name),
        "byNames" => {
            let listed = opt["names"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|n| n.as_str() == Some(name));
            match opt["mode"].as_str() {
                Some("exclude") => !listed,
                _ => listed,
            }
        }
        "byRegexp" => opt
            .as_str()
            .and_then(js_regex)
            .is_some_and(|re| re.is_match(name)),
        "byFrameRefID" => opt.as_str() == Some(ref_id),
        "byType" => matches!(
            (opt.as_str(), kind),
            (Some("number"), FieldType::Number)
                | (Some("time"), FieldType::Time)
                | (Some("string"), FieldType::String)
        ),
        _ => false,
    }
}

/// Grafana's `stringToJsRegex`: `/pattern/flags` as written (unanchored), else the whole
/// name must match. `None` for a pattern the regex crate does not take.
pub fn js_regex(pattern: &str) -> Option<Regex> {
    let body = pattern.strip_prefix('/').and_then(|p| {
        let end = p.rfind('/')?;
        Some((&p[..end], &p[end + 1..]))
    });
    let source = match body {
        Some((re, flags)) => {
            let mut prefix = String::new();
            for f in flags.chars() {
                match f {
                    'i' | 'm' | 's' => prefix.push(f),
                    'g' | 'y' | 'u' => {}
                    _ => return None,
                }
            }
            if prefix.is_empty() {
                re.to_string()
            } else {
                format!("(?{prefix}){re}")
            }
        }
        None => format!("^(?:{pattern})$"),
    };
    Regex::new(&source).ok()
}

/// A series' name as shown: the `displayName` template with the field's references
/// (`${__field.labels.x}`, `${__field.labels}`, `${__field.name}`, `${__field.displayName}`,
/// `${__series.name}`) and the dashboard's variables expanded; no template: `name`.
pub fn display_name(
    o: &FieldOptions,
    name: &str,
    labels: &BTreeMap<String, String>,
    vars: &[Variable],
    bound: &[(String, String)],
) -> String {
    let Some(template) = &o.display_name else {
        return name.to_string();
    };
    let mut out = String::with_capacity(template.len());
    let mut rest = template.as_str();
    while let Some(at) = rest.find("${__") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let Some(end) = tail.find('}') else {
            out.push_str(&rest[at..]);
            rest = "";
            break;
        };
        let reference = &tail[..end];
        let (path, _format) = reference.split_once(':').unwrap_or((reference, ""));
        match field_reference(path, name, labels) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[at..at + 2 + end + 1]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    super::repeat::title(&out, vars, bound)
}

fn field_reference(path: &str, name: &str, labels: &BTreeMap<String, String>) -> Option<String> {
    if let Some(l) = path.strip_prefix("__field.labels.") {
        return Some(labels.get(l).cloned().unwrap_or_default());
    }
    match path {
        "__field.labels" => Some(format!(
            "{{{}}}",
            labels
                .iter()
                .filter(|(k, _)| k.as_str() != "__name__")
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        "__field.name" | "__field.displayName" | "__series.name" => Some(name.to_string()),
        _ => None,
    }
}
