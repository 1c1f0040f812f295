//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus's semantics: regexes are fully
//! anchored, `.` matches newlines, and a missing label matches as the empty string.

use std::fmt;

/// The four matcher kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// A matcher on one label.
#[derive(Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<regex::Regex>,
}

/// A regex matcher whose pattern does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regular expression {pattern:?} for label {name:?}: {reason}")]
pub struct MatcherError {
    pub name: String,
    pub pattern: String,
    pub reason: String,
}

impl Matcher {
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let name = name.into();
        let value = value.into();
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(regex::Regex::new(&format!("^(?s:{value})$")).map_err(|e| {
                    MatcherError {
                        name: name.clone(),
                        pattern: value.clone(),
                        reason: e
                            .to_string()
                            .lines()
                            .last()
                            .unwrap_or("")
                            .trim_start_matches("error: ")
                            .to_string(),
                    }
                })?)
            }
            _ => None,
        };
        Ok(Matcher {
            name,
            op,
            value,
            regex,
        })
    }

    /// `name="value"`; cannot fail.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
        }
    }

    /// Whether a label value (`""` when the label is absent) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => value == self.value,
            MatchOp::NotEqual => value != self.value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// Whether the matcher accepts a series that lacks the label.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_are_anchored() {
        let m = Matcher::new(MatchOp::Regex, "job", "node|api").unwrap();
        assert!(m.matches("node") && m.matches("api"));
        assert!(!m.matches("node_exporter") && !m.matches("xapi"));
        let dot = Matcher::new(MatchOp::Regex, "x", "a.b").unwrap();
        assert!(dot.matches("a\nb"));
    }

    #[test]
    fn negative_and_empty_semantics() {
        let ne = Matcher::new(MatchOp::NotEqual, "env", "prod").unwrap();
        assert!(ne.matches_empty());
        let nre = Matcher::new(MatchOp::NotRegex, "env", ".+").unwrap();
        assert!(nre.matches_empty() && !nre.matches("x"));
        let eq_empty = Matcher::equal("env", "");
        assert!(eq_empty.matches_empty());
    }

    #[test]
    fn bad_regex_names_pattern() {
        let err = Matcher::new(MatchOp::Regex, "job", "(").unwrap_err();
        assert!(err.to_string().contains("\"(\""), "{err}");
    }
}
