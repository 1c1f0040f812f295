//! What a table panel shows, as data: each query's answer as a frame (Grafana's Prometheus
//! table format: `Time` in milliseconds, one field per label in name order, then `Value`, or
//! `Value #<refId>` when the panel has several queries), the panel's transformations applied
//! in order — `merge` (rows whose shared fields are equal become one row), `seriesToColumns` /
//! `joinByField` (outer join on one field, `Time` by default), `organize` (excludeByName,
//! indexByName, renameByName), `filterFieldsByName` (names or a pattern, include and exclude),
//! `groupBy` (group fields and aggregates named `field (calc)`), `calculateField` (binary and
//! reduceRow), `sortBy`, `renameByRegex` — an unknown one named in a note and skipped, the
//! frames left over merged into one (a terminal shows one table), and the rows sorted as the
//! panel's `options.sortBy` says. Also which queries a table sends as instant ones. Uses
//! `fields`, `model`, `mappings`, `legend` (reducers) and `data`.

use serde_json::Value;

use super::field_display::field_options;
use super::legend::{calc_label, reduce};
use super::mappings::{js_regex, Cell};
use super::model::{Panel, PanelKind, Target};
use crate::tui::data::QueryData;

/// One column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Field {
    pub name: String,
    pub values: Vec<Cell>,
}

/// A table of fields of equal length.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    pub fields: Vec<Field>,
}

impl Frame {
    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.fields.first().map_or(0, |f| f.values.len())
    }

    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Adds an empty field named `name` (when missing); its index.
    fn ensure(&mut self, name: &str) -> usize {
        if let Some(i) = self.index(name) {
            return i;
        }
        let n = self.rows();
        self.fields.push(Field {
            name: name.to_string(),
            values: vec![Cell::Null; n],
        });
        self.fields.len() - 1
    }

    fn push_empty_row(&mut self) -> usize {
        for f in &mut self.fields {
            f.values.push(Cell::Null);
        }
        self.rows() - 1
    }

    /// The rows in `order` (indexes of the current rows).
    fn reorder(&mut self, order: &[usize]) {
        for f in &mut self.fields {
            f.values = order
                .iter()
                .map(|i| f.values.get(*i).cloned().unwrap_or_default())
                .collect();
        }
    }
}

/// Whether a table panel sends `t` as an instant query only (at the range's end): its
/// `format` is `table`, or it is `instant`.
pub fn instant_only(p: &Panel, t: &Target) -> bool {
    p.kind == PanelKind::Table && (t.format == "table" || t.instant)
}

/// The name of a query's value field: `Value`, or `Value #A` beside other queries.
pub fn value_name(ref_id: &str, several: bool) -> String {
    if several {
        format!("Value #{ref_id}")
    } else {
        "Value".to_string()
    }
}

/// One query's answer as a frame: a row per sample.
pub fn frame_of(data: &QueryData, value: &str) -> Frame {
    let mut f = Frame::default();
    match data {
        QueryData::Vector(v) | QueryData::Matrix(v) => {
            let mut names: Vec<&String> = v.iter().flat_map(|s| s.labels.keys()).collect();
            names.sort();
            names.dedup();
            f.fields.push(Field {
                name: "Time".into(),
                values: Vec::new(),
            });
            for n in &names {
                f.fields.push(Field {
                    name: (*n).clone(),
                    values: Vec::new(),
                });
            }
            f.fields.push(Field {
                name: value.to_string(),
                values: Vec::new(),
            });
            for s in v {
                for (t, x) in &s.points {
                    f.fields[0].values.push(Cell::Num(t * 1000.0));
                    for (i, n) in names.iter().enumerate() {
                        f.fields[i + 1].values.push(
                            s.labels
                                .get(*n)
                                .map_or(Cell::Null, |l| Cell::Text(l.clone())),
                        );
                    }
                    if let Some(last) = f.fields.last_mut() {
                        last.values.push(Cell::Num(*x));
                    }
                }
            }
        }
        QueryData::Scalar(t, x) => {
            f.fields = vec![
                Field {
                    name: "Time".into(),
                    values: vec![Cell::Num(t * 1000.0)],
                },
                Field {
                    name: value.to_string(),
                    values: vec![Cell::Num(*x)],
                },
            ];
        }
        QueryData::Str(t, s) => {
            f.fields = vec![
                Field {
                    name: "Time".into(),
                    values: vec![Cell::Num(t * 1000.0)],
                },
                Field {
                    name: value.to_string(),
                    values: vec![Cell::Text(s.clone())],
                },
            ];
        }
        QueryData::Empty => {}
    }
    f
}

/// Frames merged into one: fields by name in order of first appearance; a row joins an
/// earlier row when every field both frames have holds equal values there (`keys`: only those
/// fields) and the fields it brings are still empty there; else it is a row of its own.
pub fn merge(frames: Vec<Frame>, keys: Option<&[String]>) -> Frame {
    let mut out = Frame::default();
    for f in frames {
        if out.fields.is_empty() {
            out = f;
            continue;
        }
        let shared: Vec<(usize, usize)> = f
            .fields
            .iter()
            .enumerate()
            .filter(|(_, fl)| keys.is_none_or(|k| k.contains(&fl.name)))
            .filter_map(|(j, fl)| Some((out.index(&fl.name)?, j)))
            .collect();
        let brought: Vec<(usize, usize)> = f
            .fields
            .iter()
            .enumerate()
            .filter(|(j, _)| !shared.iter().any(|(_, s)| s == j))
            .map(|(j, fl)| (out.ensure(&fl.name), j))
            .collect();
        for r in 0..f.rows() {
            let at = (0..out.rows()).find(|i| {
                shared
                    .iter()
                    .all(|(o, j)| out.fields[*o].values[*i] == f.fields[*j].values[r])
                    && brought
                        .iter()
                        .all(|(o, _)| out.fields[*o].values[*i] == Cell::Null)
            });
            let i = match at {
                Some(i) => i,
                None => {
                    let i = out.push_empty_row();
                    for (o, j) in &shared {
                        out.fields[*o].values[i] = f.fields[*j].values[r].clone();
                    }
                    i
                }
            };
            for (o, j) in &brought {
                out.fields[*o].values[i] = f.fields[*j].values[r].clone();
            }
        }
    }
    out
}

fn names_of(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// `organize`: fields left out, ordered and renamed.
pub fn organize(f: &mut Frame, o: &Value) {
    let excluded = |n: &str| o["excludeByName"][n].as_bool() == Some(true);
    f.fields.retain(|fl| !excluded(&fl.name));
    let index = |n: &str| o["indexByName"][n].as_i64();
    // Stable: fields without an index keep their order after the indexed ones.
    f.fields
        .sort_by_key(|fl| index(&fl.name).map_or((1, 0), |i| (0, i)));
    for fl in &mut f.fields {
        if let Some(new) = o["renameByName"][&fl.name]
            .as_str()
            .filter(|s| !s.is_empty())
        {
            fl.name = new.to_string();
        }
    }
}

/// `filterFieldsByName`: the fields named (or matching the pattern) under `include`, less
/// those under `exclude`.
pub fn filter_fields(f: &mut Frame, o: &Value) {
    type Matcher = Box<dyn Fn(&str) -> bool>;
    let matcher = |part: &Value| -> Option<Matcher> {
        let names = names_of(&part["names"]);
        let re = part["pattern"].as_str().and_then(js_regex);
        if names.is_empty() && re.is_none() {
            return None;
        }
        Some(Box::new(move |n: &str| {
            names.iter().any(|x| x == n) || re.as_ref().is_some_and(|r| r.is_match(n))
        }))
    };
    if let Some(inc) = matcher(&o["include"]) {
        f.fields.retain(|fl| inc(&fl.name));
    }
    if let Some(exc) = matcher(&o["exclude"]) {
        f.fields.retain(|fl| !exc(&fl.name));
    }
}

/// `groupBy`: one row per distinct value of the group fields (in order of appearance); each
/// aggregated field reduced per group as `name (calc)`; other fields dropped.
pub fn group_by(f: &Frame, o: &Value) -> Frame {
    let spec = &o["fields"];
    let op = |n: &str| spec[n]["operation"].as_str().unwrap_or("");
    let groups: Vec<usize> = (0..f.fields.len())
        .filter(|i| op(&f.fields[*i].name) == "groupby")
        .collect();
    if groups.is_empty() {
        return f.clone();
    }
    let mut keys: Vec<Vec<Cell>> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for r in 0..f.rows() {
        let key: Vec<Cell> = groups
            .iter()
            .map(|g| f.fields[*g].values[r].clone())
            .collect();
        match keys.iter().position(|k| *k == key) {
            Some(i) => members[i].push(r),
            None => {
                keys.push(key);
                members.push(vec![r]);
            }
        }
    }
    let mut out = Frame::default();
    for (gi, g) in groups.iter().enumerate() {
        out.fields.push(Field {
            name: f.fields[*g].name.clone(),
            values: keys.iter().map(|k| k[gi].clone()).collect(),
        });
    }
    for fl in &f.fields {
        if op(&fl.name) != "aggregate" {
            continue;
        }
        for calc in names_of(&spec[&fl.name]["aggregations"]) {
            let values = members
                .iter()
                .map(|rows| {
                    let points: Vec<(f64, f64)> = rows
                        .iter()
                        .enumerate()
                        .filter_map(|(i, r)| Some((i as f64, fl.values[*r].num()?)))
                        .collect();
                    reduce(&calc, &points).map_or(Cell::Null, Cell::Num)
                })
                .collect();
            out.fields.push(Field {
                name: format!("{} ({calc})", fl.name),
                values,
            });
        }
    }
    out
}

/// An operand of a binary calculation: a field's values or a number.
fn operand(f: &Frame, v: &Value) -> Result<Vec<Option<f64>>, String> {
    let name = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => return Ok(vec![n.as_f64(); f.rows()]),
        Value::Object(o) => {
            if let Some(x) = o.get("fixed") {
                let x = x.as_f64().or_else(|| x.as_str()?.trim().parse().ok());
                return Ok(vec![x; f.rows()]);
            }
            o.get("matcher")
                .and_then(|m| m["options"].as_str())
                .unwrap_or_default()
                .to_string()
        }
        _ => return Err("an operand is missing".into()),
    };
    match f.field(&name) {
        Some(fl) => Ok(fl.values.iter().map(Cell::num).collect()),
        None => match name.trim().parse::<f64>() {
            Ok(x) => Ok(vec![Some(x); f.rows()]),
            Err(_) => Err(format!("no field {name:?}")),
        },
    }
}

/// `calculateField` in `binary` or `reduceRow` mode; other modes are an error.
pub fn calculate(f: &mut Frame, o: &Value) -> Result<(), String> {
    let mode = o["mode"].as_str().unwrap_or("reduceRow");
    let (name, values) = match mode {
        "binary" => {
            let b = &o["binary"];
            let op = b["operator"].as_str().unwrap_or("+");
            let (l, r) = (operand(f, &b["left"])?, operand(f, &b["right"])?);
            let values = l
                .iter()
                .zip(&r)
                .map(|(a, b)| {
                    let (Some(a), Some(b)) = (*a, *b) else {
                        return Cell::Null;
                    };
                    Cell::Num(match op {
                        "+" => a + b,
                        "-" => a - b,
                        "*" => a * b,
                        "/" => a / b,
                        "%" => a % b,
                        "^" => a.powf(b),
                        _ => f64::NAN,
                    })
                })
                .collect();
            let shown = |v: &Value| match v {
                Value::String(s) => s.clone(),
                Value::Object(o) => o
                    .get("matcher")
                    .and_then(|m| m["options"].as_str())
                    .map(str::to_string)
                    .or_else(|| {
                        o.get("fixed")
                            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    })
                    .unwrap_or_default(),
                other => other.to_string(),
            };
            (
                format!("{} {op} {}", shown(&b["left"]), shown(&b["right"])),
                values,
            )
        }
        "reduceRow" => {
            let calc = o["reduce"]["reducer"].as_str().unwrap_or("sum");
            let include = names_of(&o["reduce"]["include"]);
            let used: Vec<&Field> = f
                .fields
                .iter()
                .filter(|fl| fl.name != "Time")
                .filter(|fl| include.is_empty() || include.contains(&fl.name))
                .filter(|fl| fl.values.iter().any(|c| matches!(c, Cell::Num(_))))
                .collect();
            let values = (0..f.rows())
                .map(|r| {
                    let points: Vec<(f64, f64)> = used
                        .iter()
                        .enumerate()
                        .filter_map(|(i, fl)| Some((i as f64, fl.values[r].num()?)))
                        .collect();
                    reduce(calc, &points).map_or(Cell::Null, Cell::Num)
                })
                .collect();
            (calc_label(calc).to_string(), values)
        }
        other => return Err(format!("calculateField mode {other:?} is not applied")),
    };
    let name = o["alias"]
        .as_str()
        .filter(|a| !a.is_empty())
        .map_or(name, str::to_string);
    if o["replaceFields"].as_bool() == Some(true) {
        f.fields.clear();
    }
    f.fields.push(Field { name, values });
    Ok(())
}

/// Rows ordered by `field`'s values (numbers as numbers, empty cells last).
pub fn sort_rows(f: &mut Frame, field: &str, desc: bool) {
    let Some(fl) = f.field(field) else { return };
    let mut order: Vec<usize> = (0..f.rows()).collect();
    let cmp = |a: &Cell, b: &Cell| -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        match (a, b) {
            (Cell::Null, Cell::Null) => Equal,
            (Cell::Null, _) => Greater,
            (_, Cell::Null) => Less,
            _ => match (a.num(), b.num()) {
                (Some(x), Some(y)) if matches!(a, Cell::Num(_)) || matches!(b, Cell::Num(_)) => {
                    x.total_cmp(&y)
                }
                _ => a.text().cmp(&b.text()),
            },
        }
    };
    order.sort_by(|i, j| {
        let (a, b) = (&fl.values[*i], &fl.values[*j]);
        let o = cmp(a, b);
        // Empty cells stay last either way.
        if desc && !matches!(a, Cell::Null) && !matches!(b, Cell::Null) {
            o.reverse()
        } else {
            o
        }
    });
    f.reorder(&order);
}

/// What a table panel shows: one frame, and a note per transformation not applied.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Built {
    pub frame: Frame,
    pub notes: Vec<String>,
}

/// The panel's transformations over `frames`, what is left merged, rows sorted by
/// `options.sortBy`.
pub fn build(p: &Panel, mut frames: Vec<Frame>) -> Built {
    let mut notes = Vec::new();
    for t in &p.opts.transformations {
        if t["disabled"].as_bool() == Some(true) {
            continue;
        }
        let id = t["id"].as_str().unwrap_or("");
        let o = &t["options"];
        match id {
            "merge" => frames = vec![merge(std::mem::take(&mut frames), None)],
            "seriesToColumns" | "joinByField" => {
                let by = o["byField"].as_str().unwrap_or("Time").to_string();
                frames = vec![merge(std::mem::take(&mut frames), Some(&[by]))];
            }
            "organize" => frames.iter_mut().for_each(|f| organize(f, o)),
            "filterFieldsByName" => frames.iter_mut().for_each(|f| filter_fields(f, o)),
            "groupBy" => frames = frames.iter().map(|f| group_by(f, o)).collect(),
            "calculateField" => {
                for f in &mut frames {
                    if let Err(e) = calculate(f, o) {
                        notes.push(format!("calculateField: {e}"));
                        break;
                    }
                }
            }
            "sortBy" => {
                if let Some(s) = o["sort"].as_array().and_then(|a| a.first()) {
                    let field = s["field"].as_str().unwrap_or("");
                    let desc = s["desc"].as_bool() == Some(true);
                    frames.iter_mut().for_each(|f| sort_rows(f, field, desc));
                }
            }
            "renameByRegex" => {
                let re = o["regex"].as_str().and_then(js_regex);
                let to = o["renamePattern"].as_str().unwrap_or("");
                if let Some(re) = re {
                    for fl in frames.iter_mut().flat_map(|f| f.fields.iter_mut()) {
                        fl.name = re.replace(&fl.name, to).into_owned();
                    }
                }
            }
            other => notes.push(format!("transformation {other:?} is not applied")),
        }
    }
    let mut frame = merge(frames, None);
    if let Some((name, desc)) = p.opts.sort_by.first() {
        let field = frame
            .fields
            .iter()
            .find(|f| field_options(p, &f.name).display_name.as_deref() == Some(name))
            .or_else(|| frame.field(name))
            .map(|f| f.name.clone());
        if let Some(field) = field {
            sort_rows(&mut frame, &field, *desc);
        }
    }
    Built { frame, notes }
}
