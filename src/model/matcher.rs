//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus's semantics: regexes are fully
//! anchored, `.` matches newlines, and a missing label matches as the empty string.
//!
//! A regex of a common simple shape (`.*`, `.+`, a literal, `a|b|c`, `prefix.*`,
//! `prefix.+`) is recognised when the matcher is built (`RegexShape`): matching then
//! compares strings instead of running the regex, and the head's postings use the shape to
//! look values up instead of testing every value of the label.

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
    shape: RegexShape,
}

/// What a (fully anchored, `.`-matches-newline) regex pattern accepts, when it is one of
/// the simple shapes; `General` otherwise (and for `=`/`!=` matchers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexShape {
    /// `.*`: every string, the empty one too.
    Any,
    /// `.+`: every non-empty string.
    NonEmpty,
    /// Exactly these strings (a literal, or literals joined by `|`), sorted, deduplicated.
    Set(Vec<String>),
    /// `p.*` (the bool false) or `p.+` (true: something must follow the prefix).
    Prefix(String, bool),
    /// Anything else: the regex decides.
    General,
}

impl RegexShape {
    /// The shape of a regex pattern (as written in the matcher, not yet anchored).
    pub fn of(pattern: &str) -> RegexShape {
        match pattern {
            ".*" => return RegexShape::Any,
            ".+" => return RegexShape::NonEmpty,
            _ => {}
        }
        let (lit, rest) = literal_prefix(pattern);
        match rest {
            "" => return RegexShape::Set(vec![lit]),
            ".*" => return RegexShape::Prefix(lit, false),
            ".+" => return RegexShape::Prefix(lit, true),
            _ => {}
        }
        // Alternatives of plain literals: split at every `|` (an escaped `\|` or any group
        // or class makes the pattern general, as `literal_prefix` stops at it).
        if pattern.contains('|') {
            let mut set = Vec::new();
            for alt in pattern.split('|') {
                let (lit, rest) = literal_prefix(alt);
                if !rest.is_empty() {
                    return RegexShape::General;
                }
                set.push(lit);
            }
            set.sort();
            set.dedup();
            return RegexShape::Set(set);
        }
        RegexShape::General
    }

    /// Whether `value` is accepted; `None` for `General` (ask the regex).
    fn matches(&self, value: &str) -> Option<bool> {
        Some(match self {
            RegexShape::Any => true,
            RegexShape::NonEmpty => !value.is_empty(),
            RegexShape::Set(set) => set.iter().any(|s| s == value),
            RegexShape::Prefix(p, more) => {
                value.starts_with(p.as_str()) && (!more || value.len() > p.len())
            }
            RegexShape::General => return None,
        })
    }
}

/// The literal text at the start of a regex pattern and the rest from the first character
/// that is not literal. `\` before a metacharacter, `-` or `/` is a literal of it; any other
/// escape (`\d`, `\n`, `\<`, ...) or metacharacter ends the literal. A literal character followed by a
/// repetition (`ab*`) is not literal: it is left to the rest.
fn literal_prefix(pattern: &str) -> (String, &str) {
    const META: &[char] = &[
        '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$', '\\',
    ];
    const REPEAT: &[char] = &['*', '+', '?', '{'];
    let mut lit = String::new();
    let mut i = 0;
    let bytes = pattern.as_bytes();
    while i < pattern.len() {
        let Some(c) = pattern[i..].chars().next() else {
            break;
        };
        let (ch, len) = if c == '\\' {
            match bytes.get(i + 1) {
                Some(&b) if META.contains(&(b as char)) || b == b'-' || b == b'/' => (b as char, 2),
                _ => break,
            }
        } else if META.contains(&c) {
            break;
        } else {
            (c, c.len_utf8())
        };
        if pattern[i + len..].starts_with(REPEAT) {
            break;
        }
        lit.push(ch);
        i += len;
    }
    (lit, &pattern[i..])
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
        let shape = if regex.is_some() {
            RegexShape::of(&value)
        } else {
            RegexShape::General
        };
        Ok(Matcher {
            name,
            op,
            value,
            regex,
            shape,
        })
    }

    /// The shape of a regex matcher's pattern (`General` for `=` and `!=`).
    pub fn shape(&self) -> &RegexShape {
        &self.shape
    }

    /// `name="value"`; cannot fail.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
            shape: RegexShape::General,
        }
    }

    /// Whether a label value (`""` when the label is absent) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => value == self.value,
            MatchOp::NotEqual => value != self.value,
            MatchOp::Regex => self.regex_matches(value),
            MatchOp::NotRegex => !self.regex_matches(value),
        }
    }

    fn regex_matches(&self, value: &str) -> bool {
        match self.shape.matches(value) {
            Some(m) => m,
            None => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
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

    /// Every fast shape answers as the regex does, on patterns of each shape and of shapes
    /// that look close but are not (which must stay `General`).
    #[test]
    fn shapes_agree_with_the_regex() {
        let patterns = [
            ".*",
            ".+",
            "",
            "api",
            "node|api",
            "a|a|",
            "|x",
            "foo.*",
            "foo.+",
            "foo\\.bar",
            "a\\-b/c",
            "ab*",
            "ab+",
            "ab?",
            "a{2}",
            "a.b",
            "(a|b)",
            "[ab]",
            "a|b.*",
            "^a$",
            "a\\|b",
            "a\\|b|c",
            "\\d+",
            "(?i)api",
            "é.*",
            "a|(?i)b",
            ".*a",
            "a\\<",
            "a\\.*",
        ];
        let values = [
            "",
            "a",
            "api",
            "API",
            "node",
            "node_exporter",
            "xapi",
            "foo",
            "foo.bar",
            "fooXbar",
            "foo\nbar",
            "food",
            "\n",
            "ab",
            "abb",
            "aa",
            "a-b/c",
            "a|b",
            "b",
            "bcd",
            "12",
            "x",
            "é",
            "éa",
            "a.b",
            "a\nb",
            "a.",
            "a.x",
        ];
        for p in patterns {
            let Ok(m) = Matcher::new(MatchOp::Regex, "l", p) else {
                continue;
            };
            let re = regex::Regex::new(&format!("^(?s:{p})$")).unwrap();
            for v in values {
                assert_eq!(
                    m.matches(v),
                    re.is_match(v),
                    "{p:?} on {v:?} ({:?})",
                    m.shape()
                );
                let nm = Matcher::new(MatchOp::NotRegex, "l", p).unwrap();
                assert_eq!(nm.matches(v), !re.is_match(v), "!~ {p:?} on {v:?}");
            }
        }
        let shape = |p: &str| {
            Matcher::new(MatchOp::Regex, "l", p)
                .unwrap()
                .shape()
                .clone()
        };
        assert_eq!(shape(".+"), RegexShape::NonEmpty);
        assert_eq!(shape(".*"), RegexShape::Any);
        assert_eq!(
            shape("b|a|b"),
            RegexShape::Set(vec!["a".into(), "b".into()])
        );
        assert_eq!(shape("foo\\.bar"), RegexShape::Set(vec!["foo.bar".into()]));
        assert_eq!(shape("foo.+"), RegexShape::Prefix("foo".into(), true));
        assert_eq!(shape("a\\|b"), RegexShape::Set(vec!["a|b".into()]));
        for general in ["ab*", "(a|b)", "[ab]", "a|b.*", "(?i)api", "a\\|b|c", ".*a"] {
            assert_eq!(shape(general), RegexShape::General, "{general}");
        }
    }

    #[test]
    fn bad_regex_names_pattern() {
        let err = Matcher::new(MatchOp::Regex, "job", "(").unwrap_err();
        assert!(err.to_string().contains("\"(\""), "{err}");
    }
}
