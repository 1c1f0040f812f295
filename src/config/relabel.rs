//! `relabel_configs` and its relatives: the action enum, anchored regexes, defaults and validation.
//!
//! Follows Prometheus's `relabel.Config.Validate` (model/relabel/relabel.go) in our own words:
//! defaults are regex `(.*)`, separator `;`, replacement `$1`, action `replace`; regexes are fully
//! anchored and `.` matches newlines; actions are matched case-insensitively. Validation runs while
//! deserializing so serde_yaml can report the line of the offending entry.

use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{is_valid_label_name, NameValidation};

/// What a relabel step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Action {
    #[default]
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

impl Action {
    const ALL: [(Action, &'static str); 11] = [
        (Action::Replace, "replace"),
        (Action::Keep, "keep"),
        (Action::Drop, "drop"),
        (Action::KeepEqual, "keepequal"),
        (Action::DropEqual, "dropequal"),
        (Action::HashMod, "hashmod"),
        (Action::LabelMap, "labelmap"),
        (Action::LabelDrop, "labeldrop"),
        (Action::LabelKeep, "labelkeep"),
        (Action::Lowercase, "lowercase"),
        (Action::Uppercase, "uppercase"),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(a, _)| *a == self)
            .map(|(_, s)| *s)
            .expect("every action is listed in Action::ALL")
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() {
            return Err(serde::de::Error::custom("relabel action cannot be empty"));
        }
        let lower = s.to_ascii_lowercase();
        Self::ALL
            .iter()
            .find(|(_, name)| *name == lower)
            .map(|(a, _)| *a)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|(_, n)| *n).collect();
                serde::de::Error::custom(format!(
                    "unknown relabel action {s:?} (expected one of {})",
                    known.join(", ")
                ))
            })
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A regex as written in the config, compiled fully anchored (`^(?s:...)$`).
#[derive(Clone)]
pub struct Regex {
    source: String,
    compiled: regex::Regex,
}

impl Regex {
    /// Compiles `source` anchored at both ends, as Prometheus does for relabel regexes.
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        let compiled = regex::Regex::new(&format!("^(?s:{source})$"))?;
        Ok(Regex {
            source: source.to_string(),
            compiled,
        })
    }

    /// The regex as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The compiled, anchored regex.
    pub fn compiled(&self) -> &regex::Regex {
        &self.compiled
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.compiled.is_match(s)
    }
}

impl Default for Regex {
    fn default() -> Self {
        Regex::new(DEFAULT_REGEX).expect("the default relabel regex compiles")
    }
}

impl PartialEq for Regex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

impl<'de> Deserialize<'de> for Regex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Regex::new(&s).map_err(|e| {
            // regex errors span several lines; keep the first useful one.
            let detail = e.to_string();
            let detail = detail
                .lines()
                .rev()
                .find(|l| l.starts_with("error:"))
                .unwrap_or(detail.lines().next().unwrap_or(""))
                .trim_start_matches("error: ")
                .to_string();
            serde::de::Error::custom(format!("invalid regex {s:?}: {detail}"))
        })
    }
}

impl Serialize for Regex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

pub const DEFAULT_REGEX: &str = "(.*)";
pub const DEFAULT_SEPARATOR: &str = ";";
pub const DEFAULT_REPLACEMENT: &str = "$1";

/// Target labels for `replace` may contain `$1`/`${name}` references (Prometheus's `relabelTarget`).
static RELABEL_TARGET: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^(?s:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$")
        .expect("the relabel target pattern compiles")
});

/// One relabeling step, with Prometheus's defaults filled in and validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawRelabelConfig")]
pub struct RelabelConfig {
    pub source_labels: Vec<String>,
    pub separator: String,
    pub regex: Regex,
    pub modulus: u64,
    pub target_label: String,
    pub replacement: String,
    pub action: Action,
}

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.to_string(),
            regex: Regex::default(),
            modulus: 0,
            target_label: String::new(),
            replacement: DEFAULT_REPLACEMENT.to_string(),
            action: Action::Replace,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelabelConfig {
    #[serde(default)]
    source_labels: Option<Vec<String>>,
    #[serde(default)]
    separator: Option<String>,
    #[serde(default)]
    regex: Option<Regex>,
    #[serde(default)]
    modulus: Option<u64>,
    #[serde(default)]
    target_label: Option<String>,
    #[serde(default)]
    replacement: Option<String>,
    #[serde(default)]
    action: Option<Action>,
}

impl TryFrom<RawRelabelConfig> for RelabelConfig {
    type Error = String;

    fn try_from(raw: RawRelabelConfig) -> Result<Self, String> {
        let has_source_labels = raw.source_labels.is_some();
        let d = RelabelConfig::default();
        let c = RelabelConfig {
            source_labels: raw.source_labels.unwrap_or_default(),
            separator: raw.separator.unwrap_or(d.separator),
            regex: raw.regex.unwrap_or(d.regex),
            modulus: raw.modulus.unwrap_or(0),
            target_label: raw.target_label.unwrap_or_default(),
            replacement: raw.replacement.unwrap_or(d.replacement),
            action: raw.action.unwrap_or_default(),
        };
        c.validate(has_source_labels)?;
        Ok(c)
    }
}

impl RelabelConfig {
    fn validate(&self, has_source_labels: bool) -> Result<(), String> {
        use Action::*;
        let a = self.action;
        let legacy = NameValidation::Legacy;
        for l in &self.source_labels {
            if !is_valid_label_name(l, legacy) {
                return Err(format!("{l:?} is not a valid label name in source_labels"));
            }
        }
        if a == HashMod && self.modulus == 0 {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        if matches!(
            a,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        ) && self.target_label.is_empty()
        {
            return Err(format!(
                "relabel configuration for {a} action requires 'target_label' value"
            ));
        }
        if a == Replace && !RELABEL_TARGET.is_match(&self.target_label) {
            return Err(format!(
                "{:?} is invalid 'target_label' for {a} action",
                self.target_label
            ));
        }
        if matches!(a, Lowercase | Uppercase | HashMod | KeepEqual | DropEqual)
            && !is_valid_label_name(&self.target_label, legacy)
        {
            return Err(format!(
                "{:?} is invalid 'target_label' for {a} action",
                self.target_label
            ));
        }
        if matches!(a, Lowercase | Uppercase | KeepEqual | DropEqual)
            && self.replacement != DEFAULT_REPLACEMENT
        {
            return Err(format!("'replacement' can not be set for {a} action"));
        }
        if a == LabelMap && !RELABEL_TARGET.is_match(&self.replacement) {
            return Err(format!(
                "{:?} is invalid 'replacement' for {a} action",
                self.replacement
            ));
        }
        if matches!(a, LabelDrop | LabelKeep)
            && (has_source_labels
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(format!(
                "{a} action requires only 'regex', and no other fields"
            ));
        }
        if matches!(a, KeepEqual | DropEqual)
            && (self.regex.as_str() != DEFAULT_REGEX
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(format!(
                "{a} action requires only 'source_labels' and 'target_label', and no other fields"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<RelabelConfig, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_match_prometheus() {
        let c = parse("target_label: foo").unwrap();
        assert_eq!(c.action, Action::Replace);
        assert_eq!(c.regex.as_str(), "(.*)");
        assert_eq!(c.separator, ";");
        assert_eq!(c.replacement, "$1");
        assert_eq!(c.modulus, 0);
        assert!(c.source_labels.is_empty());
    }

    #[test]
    fn regex_is_fully_anchored_and_dotall() {
        let c = parse("{action: keep, source_labels: [job], regex: 'node'}").unwrap();
        assert!(c.regex.is_match("node"));
        assert!(!c.regex.is_match("node_exporter"));
        assert!(!c.regex.is_match("my-node"));
        let any = Regex::new("a.*b").unwrap();
        assert!(any.is_match("a\nb"));
        // An alternation must be anchored as a whole, not just its first branch.
        let alt = Regex::new("foo|bar").unwrap();
        assert!(!alt.is_match("foox"));
        assert!(!alt.is_match("xbar"));
    }

    #[test]
    fn actions_are_case_insensitive() {
        assert_eq!(
            parse("{action: LabelDrop, regex: tmp_.*}").unwrap().action,
            Action::LabelDrop
        );
        assert_eq!(parse("{action: KEEP}").unwrap().action, Action::Keep);
    }

    #[test]
    fn validation_errors_name_the_problem() {
        let cases = [
            ("{action: explode}", "unknown relabel action \"explode\""),
            (
                "{action: hashmod, target_label: t}",
                "requires non-zero modulus",
            ),
            ("{action: replace}", "requires 'target_label' value"),
            (
                "{action: replace, target_label: 'a-b'}",
                "\"a-b\" is invalid 'target_label'",
            ),
            (
                "{action: lowercase, target_label: '$1'}",
                "\"$1\" is invalid 'target_label'",
            ),
            (
                "{action: uppercase, target_label: t, replacement: x}",
                "'replacement' can not be set",
            ),
            (
                "{action: labelmap, replacement: 'bad-name'}",
                "is invalid 'replacement' for labelmap",
            ),
            (
                "{action: labeldrop, regex: x, target_label: t}",
                "requires only 'regex'",
            ),
            (
                "{action: keepequal, target_label: t, regex: x}",
                "requires only 'source_labels'",
            ),
            (
                "{source_labels: ['9x']}",
                "\"9x\" is not a valid label name",
            ),
            (
                "{regex: '(unclosed', target_label: t}",
                "invalid regex \"(unclosed\"",
            ),
            ("{action: keep, colour: red}", "unknown field `colour`"),
        ];
        for (yaml, want) in cases {
            let err = parse(yaml).expect_err(yaml);
            assert!(err.contains(want), "{yaml}: got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn replace_target_may_use_references() {
        assert!(parse("{target_label: '${1}_x', regex: '(.*)'}").is_ok());
        assert!(parse("{target_label: '$1'}").is_ok());
    }
}
