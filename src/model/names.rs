//! Metric and label name rules.
//!
//! Prometheus (model/labels, `LabelName.IsValid` and `IsValidMetricName`) has two schemes. The
//! legacy scheme allows `[a-zA-Z_][a-zA-Z0-9_]*` for label names and additionally `:` in metric
//! names; the UTF-8 scheme (the default in Prometheus 3) allows any non-empty UTF-8 string. promterm
//! defaults to the legacy scheme, which every 2.x and 3.x client understands.

/// Which characters names may use (`metric_name_validation_scheme` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameValidation {
    /// `[a-zA-Z_][a-zA-Z0-9_]*` (metric names may also use `:`).
    #[default]
    Legacy,
    /// Any non-empty string (Rust strings are always valid UTF-8).
    Utf8,
}

/// Whether `name` is a valid label name under `scheme`.
pub fn is_valid_label_name(name: &str, scheme: NameValidation) -> bool {
    match scheme {
        NameValidation::Utf8 => !name.is_empty(),
        NameValidation::Legacy => legacy_name(name, false),
    }
}

/// Whether `name` is a valid metric name under `scheme`.
pub fn is_valid_metric_name(name: &str, scheme: NameValidation) -> bool {
    match scheme {
        NameValidation::Utf8 => !name.is_empty(),
        NameValidation::Legacy => legacy_name(name, true),
    }
}

fn legacy_name(name: &str, allow_colon: bool) -> bool {
    let mut bytes = name.bytes();
    let first_ok = |b: u8| b.is_ascii_alphabetic() || b == b'_' || (allow_colon && b == b':');
    match bytes.next() {
        Some(b) if first_ok(b) => bytes.all(|b| first_ok(b) || b.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_label_names() {
        for good in ["a", "_", "__name__", "job", "A_1"] {
            assert!(is_valid_label_name(good, NameValidation::Legacy), "{good}");
        }
        for bad in ["", "1a", "a-b", "a:b", "a.b", "é", " a"] {
            assert!(!is_valid_label_name(bad, NameValidation::Legacy), "{bad:?}");
        }
    }

    #[test]
    fn legacy_metric_names_allow_colons() {
        assert!(is_valid_metric_name("job:up:sum", NameValidation::Legacy));
        assert!(is_valid_metric_name(":a", NameValidation::Legacy));
        assert!(!is_valid_metric_name("9up", NameValidation::Legacy));
        assert!(!is_valid_metric_name("up-time", NameValidation::Legacy));
    }

    #[test]
    fn utf8_scheme_only_rejects_empty() {
        assert!(is_valid_label_name("a.b-c", NameValidation::Utf8));
        assert!(is_valid_metric_name("http.requests", NameValidation::Utf8));
        assert!(!is_valid_label_name("", NameValidation::Utf8));
    }
}
