//! Rule files in Prometheus's format: `groups` of recording and alerting rules, with the
//! structural checks of Prometheus's rulefmt (names, which fields each kind of rule may have,
//! repeated group names). Expressions and templates are checked by `rules`, which can use the
//! PromQL parser; errors carry the file and the line of the rule (or field) at fault, worded as
//! promtool words them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use super::load::{parse_yaml, Source};
use super::{ConfigError, Duration};
use crate::model::{is_valid_label_name, is_valid_metric_name, NameValidation};

/// A whole rule file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    #[serde(default)]
    pub groups: Vec<RuleGroup>,
}

/// One group: evaluated together, in order, at its own interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleGroup {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub interval: Option<Duration>,
    #[serde(default)]
    pub query_offset: Option<Duration>,
    #[serde(default)]
    pub limit: u64,
    /// Labels added to every rule's results (a rule's own labels win).
    #[serde(default, deserialize_with = "string_map")]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub rules: Vec<RuleNode>,
}

/// One rule as written: exactly one of `record` and `alert` is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleNode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    #[serde(default, deserialize_with = "scalar_string")]
    pub expr: String,
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<Duration>,
    #[serde(default, deserialize_with = "string_map")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "string_map")]
    pub annotations: BTreeMap<String, String>,
    /// 1-based line of the rule's `record:`/`alert:` key, filled in when loading.
    #[serde(skip)]
    pub line: Option<usize>,
    /// 1-based line of its `expr:` key.
    #[serde(skip)]
    pub expr_line: Option<usize>,
}

impl RuleNode {
    /// The recording or alert name.
    pub fn name(&self) -> &str {
        self.record
            .as_deref()
            .or(self.alert.as_deref())
            .unwrap_or("")
    }
}

/// YAML scalars (strings, numbers, booleans) as strings, as Go's YAML decoder gives them to a
/// string field.
fn yaml_scalar(v: serde_yaml::Value) -> Result<String, String> {
    match v {
        serde_yaml::Value::String(s) => Ok(s),
        serde_yaml::Value::Number(n) => Ok(n.to_string()),
        serde_yaml::Value::Bool(b) => Ok(b.to_string()),
        serde_yaml::Value::Null => Ok(String::new()),
        other => Err(format!("expected a string, got {other:?}")),
    }
}

fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    yaml_scalar(serde_yaml::Value::deserialize(d)?).map_err(serde::de::Error::custom)
}

fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let m: Option<BTreeMap<String, serde_yaml::Value>> = Option::deserialize(d)?;
    m.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| Ok((k, yaml_scalar(v).map_err(serde::de::Error::custom)?)))
        .collect()
}

impl RuleFile {
    /// Reads and checks a rule file; all structural problems are reported, not just the first.
    pub fn load(path: &Path) -> Result<RuleFile, Vec<ConfigError>> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ConfigError {
                file: file.clone(),
                line: None,
                column: None,
                message: format!("cannot read rule file: {e}"),
            }]
        })?;
        RuleFile::parse(&text, &file)
    }

    /// Parses rule file text as if read from `file`.
    pub fn parse(text: &str, file: &str) -> Result<RuleFile, Vec<ConfigError>> {
        let src = Source { file, text };
        let mut rf: RuleFile = parse_yaml(&src).map_err(|e| vec![e])?;
        let mut errs = Vec::new();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        // Rules of one name are told apart by their order in the file.
        let mut nth: BTreeMap<(String, String), usize> = BTreeMap::new();
        for g in &mut rf.groups {
            for r in &mut g.rules {
                let (key, name) = match (&r.record, &r.alert) {
                    (Some(n), _) => ("record", n.clone()),
                    (None, Some(n)) => ("alert", n.clone()),
                    (None, None) => ("", String::new()),
                };
                if !key.is_empty() {
                    let k = nth.entry((key.to_string(), name.clone())).or_default();
                    r.line = src.line_of(key, &name, *k);
                    *k += 1;
                }
                // The first `expr:` key after the rule's name (before it when written first).
                let from = r.line.map_or(0, |l| l.saturating_sub(1));
                let group_start = text.lines().take(from + 1).collect::<Vec<_>>();
                let back = group_start
                    .iter()
                    .rposition(|l| l.trim_start().starts_with('-'))
                    .unwrap_or(0);
                r.expr_line = text
                    .lines()
                    .enumerate()
                    .skip(back.min(from))
                    .find(|(_, l)| {
                        let l = l.trim_start().trim_start_matches("- ").trim_start();
                        l.starts_with("expr:")
                    })
                    .map(|(i, _)| i + 1)
                    .or(r.line);
            }
        }
        for (gi, g) in rf.groups.iter().enumerate() {
            let group_line = src.line_of("name", &g.name, 0);
            if g.name.is_empty() {
                errs.push(src.err(group_line, "Groupname must not be empty"));
            }
            if let Some(first) = seen.insert(&g.name, gi) {
                let _ = first;
                let line = src.line_of("name", &g.name, 1);
                errs.push(src.err(
                    line,
                    format!("groupname: {:?} is repeated in the same file", g.name),
                ));
            }
            for name in g.labels.keys() {
                if !is_valid_label_name(name, NameValidation::Legacy) || name == "__name__" {
                    errs.push(src.err(
                        group_line,
                        format!("group {:?}: invalid label name: {name}", g.name),
                    ));
                }
            }
            for (ri, r) in g.rules.iter().enumerate() {
                let at = |msg: String| {
                    src.err(
                        r.line,
                        format!("group {:?}, rule {}, {:?}: {msg}", g.name, ri + 1, r.name()),
                    )
                };
                match (&r.record, &r.alert) {
                    (Some(_), Some(_)) => {
                        errs.push(at("only one of 'record' and 'alert' must be set".into()))
                    }
                    (None, None) => errs.push(at("one of 'record' or 'alert' must be set".into())),
                    _ => {}
                }
                if r.expr.trim().is_empty() {
                    errs.push(at("field 'expr' must be set in rule".into()));
                }
                if let Some(rec) = &r.record {
                    if !r.annotations.is_empty() {
                        errs.push(at("invalid field 'annotations' in recording rule".into()));
                    }
                    if r.for_.is_some() {
                        errs.push(at("invalid field 'for' in recording rule".into()));
                    }
                    if r.keep_firing_for.is_some() {
                        errs.push(at(
                            "invalid field 'keep_firing_for' in recording rule".into()
                        ));
                    }
                    if !is_valid_metric_name(rec, NameValidation::Legacy) {
                        errs.push(at(format!("invalid recording rule name: {rec}")));
                    }
                }
                for name in r.labels.keys() {
                    if !is_valid_label_name(name, NameValidation::Legacy) || name == "__name__" {
                        errs.push(at(format!("invalid label name: {name}")));
                    }
                }
                for name in r.annotations.keys() {
                    if !is_valid_label_name(name, NameValidation::Legacy) {
                        errs.push(at(format!("invalid annotation name: {name}")));
                    }
                }
            }
        }
        if errs.is_empty() {
            Ok(rf)
        } else {
            Err(errs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        RuleFile::parse(text, "r.yml")
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn parses_groups_and_both_kinds_of_rule() {
        let text = "groups:\n- name: g\n  interval: 30s\n  limit: 10\n  labels: {team: a}\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n  - alert: Down\n    expr: |\n      up == 0\n    for: 5m\n    keep_firing_for: 1m\n    labels: {severity: 1}\n    annotations:\n      summary: '{{ $labels.instance }} is down'\n";
        let rf = RuleFile::parse(text, "r.yml").unwrap();
        let g = &rf.groups[0];
        assert_eq!((g.name.as_str(), g.limit), ("g", 10));
        assert_eq!(g.interval, Some(Duration::from_secs(30)));
        assert_eq!(g.labels["team"], "a");
        assert_eq!(g.rules[0].record.as_deref(), Some("job:up:sum"));
        assert_eq!((g.rules[0].line, g.rules[0].expr_line), (Some(7), Some(8)));
        let a = &g.rules[1];
        assert_eq!(a.name(), "Down");
        assert_eq!(a.expr, "up == 0\n");
        assert_eq!(a.for_, Some(Duration::from_secs(300)));
        assert_eq!(a.labels["severity"], "1", "numbers are strings, as in Go");
        assert_eq!((a.line, a.expr_line), (Some(9), Some(10)));
    }

    #[test]
    fn structural_errors_are_all_reported_with_lines() {
        let e = errors("groups:\n- name: g\n  rules:\n  - record: x\n    alert: y\n    expr: up\n");
        assert_eq!(
            e,
            ["r.yml:4: group \"g\", rule 1, \"x\": only one of 'record' and 'alert' must be set"]
        );
        let e = errors("groups:\n- name: g\n  rules:\n  - record: x\n    expr: up\n    for: 5m\n    annotations: {a: b}\n");
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("invalid field 'annotations' in recording rule"));
        assert!(e[1].contains("invalid field 'for' in recording rule"));
        let e = errors(
            "groups:\n- name: g\n  rules:\n  - record: x\n    expr: up\n- name: g\n  rules: []\n",
        );
        assert_eq!(
            e,
            ["r.yml:6: groupname: \"g\" is repeated in the same file"]
        );
        let e = errors("groups:\n- name: g\n  rules:\n  - record: \"bad name\"\n    expr: up\n");
        assert_eq!(
            e,
            ["r.yml:4: group \"g\", rule 1, \"bad name\": invalid recording rule name: bad name"]
        );
        let e = errors(
            "groups:\n- name: g\n  rules:\n  - alert: a\n    expr: ''\n    labels: {0bad: x}\n",
        );
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].ends_with("field 'expr' must be set in rule"));
        assert!(e[1].ends_with("invalid label name: 0bad"));
        let e = errors("groups:\n- name: g\n  foo: 1\n  rules: []\n");
        assert!(
            e[0].starts_with("r.yml:3:") && e[0].contains("foo"),
            "{e:?}"
        );
        let e = errors("groups:\n- name: g\n  rules:\n  - expr: up\n");
        assert!(
            e[0].ends_with("one of 'record' or 'alert' must be set"),
            "{e:?}"
        );
    }
}
