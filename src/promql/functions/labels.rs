//! label_replace and label_join on one label set, the destination-name check they share,
//! and the labels `absent()` and `absent_over_time()` report for a selector.
//!
//! Uses `model` (and the parser's selector type).

use std::collections::HashMap;

use promql_parser::parser::VectorSelector;

use crate::model::{is_valid_label_name, Labels, NameValidation, METRIC_NAME};

/// A destination label name label_replace/label_join (or histogram_quantiles) cannot set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid destination label name in {func}(): {name}")]
pub struct InvalidLabelName {
    pub func: &'static str,
    pub name: String,
}

/// Expands `$1`, `${1}`, `$name`, `${name}` in `template` from regex captures, as Go's
/// `Regexp.Expand` does (a `$name` reference takes the longest run of word characters).
pub fn expand(template: &str, caps: &regex::Captures) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let (name, used) = if let Some(r) = rest.strip_prefix('{') {
            match r.find('}') {
                Some(end) => (&r[..end], end + 2),
                None => {
                    out.push('$');
                    continue;
                }
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..end], end)
        };
        if name.is_empty() {
            out.push('$');
            continue;
        }
        let value = match name.parse::<usize>() {
            Ok(n) => caps.get(n).map(|m| m.as_str()),
            Err(_) => caps.name(name).map(|m| m.as_str()),
        };
        out.push_str(value.unwrap_or(""));
        rest = &rest[used..];
    }
    out.push_str(rest);
    out
}

/// label_replace on one label set (the regex is compiled and the destination checked by the caller).
pub fn label_replace(
    l: &Labels,
    dst: &str,
    replacement: &str,
    src: &str,
    re: &regex::Regex,
) -> Labels {
    let value = l.get(src).unwrap_or("");
    let Some(caps) = re.captures(value) else {
        return l.clone();
    };
    let new = expand(replacement, &caps);
    set_label(l, dst, &new)
}

/// `name` if it may be set as a label by `func`.
pub fn check_label_name(name: &str, func: &'static str) -> Result<(), InvalidLabelName> {
    if is_valid_label_name(name, NameValidation::Legacy) {
        Ok(())
    } else {
        Err(InvalidLabelName {
            func,
            name: name.to_string(),
        })
    }
}

/// Labels `absent()` reports for a selector: its equality matchers (not the name), when each
/// label is matched once.
pub fn absent_labels(vs: Option<&VectorSelector>) -> Labels {
    let Some(vs) = vs else {
        return Labels::default();
    };
    let mut seen: HashMap<&str, Option<&str>> = HashMap::new();
    for m in &vs.matchers.matchers {
        let eq = matches!(m.op, promql_parser::label::MatchOp::Equal);
        seen.entry(m.name.as_str())
            .and_modify(|v| *v = None)
            .or_insert(if eq { Some(m.value.as_str()) } else { None });
    }
    Labels::from_pairs(
        seen.into_iter()
            .filter(|(n, _)| *n != METRIC_NAME)
            .filter_map(|(n, v)| v.map(|v| (n, v))),
    )
}

/// A copy of `l` with `name` set to `value` (removed when `value` is empty).
pub fn set_label(l: &Labels, name: &str, value: &str) -> Labels {
    let mut pairs: Vec<(&str, &str)> = l
        .iter()
        .filter(|x| x.name.as_ref() != name)
        .map(|x| (x.name.as_ref(), x.value.as_ref()))
        .collect();
    if !value.is_empty() {
        pairs.push((name, value));
    }
    Labels::from_pairs(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion() {
        let re = regex::Regex::new("^(?s:(?P<host>[^:]+):(\\d+))$").unwrap();
        let caps = re.captures("web:80").unwrap();
        assert_eq!(expand("$1-${2}", &caps), "web-80");
        assert_eq!(expand("${host}x", &caps), "webx");
        assert_eq!(
            expand("$hostx", &caps),
            "",
            "a $name takes every word character"
        );
        assert_eq!(expand("$$1", &caps), "$1");
        let l = Labels::from_pairs([("instance", "web:80")]);
        assert_eq!(
            label_replace(&l, "host", "$1", "instance", &re).get("host"),
            Some("web")
        );
        assert_eq!(
            label_replace(&l, "instance", "", "instance", &re).get("instance"),
            None
        );
    }
}
