//! PromQL: parsing with the `promql-parser` crate (`parse`), the evaluation engine
//! (`engine`), the parsed tree as JSON (`ast_json`), and series selectors for the `match[]`
//! parameters of the series and label APIs. (The promqltest runner sits above, in `testrun`.)
//!
//! Inside, from the bottom: `stats` (query statistics and the evaluator's sample counter) →
//! `value` (result types, errors, float formatting) →
//! `histogram_sum` (compensated histogram sums and means) → `parse_trim` (the trim
//! operators `</`, `>/`), `parse`, `memo` → `functions/`
//! (by family) → `aggregate` → `engine/` → `ast_json`; a file uses only those before it.
//!
//! Uses `model` and `storage` (and, in tests, `tsdb` and `testrun`'s script parser).

pub mod aggregate;
pub mod ast_json;
pub mod engine;
pub mod functions;
pub mod histogram_sum;
pub mod memo;
pub mod parse;
pub mod parse_trim;
pub mod stats;
pub mod value;

pub use parse::SelectorError;

use crate::model::Matcher;

/// Parses a series selector such as `up{job="api"}` into alternatives of matchers (more than
/// one only for promql-parser's `{a="1" or b="2"}` extension). Errors read like Prometheus's
/// (`1:4: parse error: ...`); callers say which parameter held the selector.
pub fn parse_selector(s: &str) -> Result<Vec<Vec<Matcher>>, SelectorError> {
    use promql_parser::parser::Expr;
    let expr = engine::parse(s)?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(SelectorError::NotASelector(s.to_string()));
    };
    Ok(engine::to_matchers(&vs)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let m = parse_selector(r#"up{job="api", env!~"dev|test"}"#).unwrap();
        assert_eq!(m.len(), 1);
        let shown: Vec<String> = m[0].iter().map(|m| m.to_string()).collect();
        assert_eq!(
            shown,
            [r#"__name__="up""#, r#"job="api""#, r#"env!~"dev|test""#]
        );
        assert_eq!(
            parse_selector(r#"{__name__=~"node_.*"}"#).unwrap()[0].len(),
            1
        );
        let err = parse_selector("rate(up[5m])").unwrap_err().to_string();
        assert!(err.contains("not an instant vector selector"), "{err}");
        assert_eq!(
            parse_selector("up{").unwrap_err().to_string(),
            "1:4: parse error: unexpected end of input inside braces"
        );
    }
}
