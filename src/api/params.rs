//! Request parameters as Prometheus reads them: repeated keys (`match[]`), from the query string
//! and from a form-encoded POST body; times as Unix seconds (with fractions) or RFC 3339 (read
//! by `model::parse_time`). Uses `url`, `model` and `promql` (for selectors).

use super::error::ApiError;
use crate::model::{parse_time, Matcher, TimeError};
use crate::promql::parse_selector;

/// A parameter that could not be read; always answered as `bad_data`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("invalid parameter {key:?}: Invalid time value for '{key}': {source}")]
    Time { key: String, source: TimeError },
    #[error("invalid parameter \"match[]\": {0}")]
    Selector(String),
    #[error("invalid parameter \"match[]\": match[] must contain at least one non-empty matcher")]
    EmptySelector,
    #[error("invalid parameter \"limit\": {0:?} is not a non-negative integer")]
    Limit(String),
}

impl From<ParamError> for ApiError {
    fn from(e: ParamError) -> Self {
        ApiError::bad_data(e.to_string())
    }
}

/// A range whose `end` is before its `start` is refused, as Prometheus does.
pub fn ordered(start: i64, end: i64) -> Result<(), ApiError> {
    if end < start {
        return Err(ApiError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    Ok(())
}

/// All key/value pairs of a request, query string first.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>, form_body: Option<&[u8]>) -> Params {
        let mut v: Vec<(String, String)> = Vec::new();
        if let Some(q) = query {
            v.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        if let Some(b) = form_body {
            v.extend(url::form_urlencoded::parse(b).into_owned());
        }
        Params(v)
    }

    /// The query string and, when there is one, a POST body as form parameters.
    pub fn with_form(query: Option<&str>, body: &[u8]) -> Params {
        Params::parse(query, (!body.is_empty()).then_some(body))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A time parameter, or `default` if absent.
    pub fn time(&self, key: &str, default: i64) -> Result<i64, ParamError> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(s) => parse_time(s).map_err(|source| ParamError::Time {
                key: key.to_string(),
                source,
            }),
        }
    }

    /// `start` and `end` (default: all time), with `end` not before `start`.
    pub fn range(&self) -> Result<(i64, i64), ApiError> {
        let start = self.time("start", crate::model::MIN_TIME)?;
        let end = self.time("end", crate::model::MAX_TIME)?;
        ordered(start, end)?;
        Ok((start, end))
    }

    /// `match[]` selectors, each as alternatives of matchers.
    pub fn matchers(&self) -> Result<Vec<Vec<Matcher>>, ParamError> {
        let mut out = Vec::new();
        for s in self.all("match[]") {
            let alts = parse_selector(s).map_err(|e| ParamError::Selector(e.to_string()))?;
            for alt in alts {
                if alt.iter().all(Matcher::matches_empty) {
                    return Err(ParamError::EmptySelector);
                }
                out.push(alt);
            }
        }
        Ok(out)
    }

    /// `limit`: 0 or absent means no limit.
    pub fn limit(&self) -> Result<usize, ParamError> {
        match self.get("limit") {
            None | Some("") => Ok(0),
            Some(s) => s
                .parse::<usize>()
                .map_err(|_| ParamError::Limit(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_match_params_from_query_and_body() {
        let p = Params::parse(
            Some("match[]=up&start=1"),
            Some(b"match%5B%5D=%7Bjob%3D%22a%22%7D"),
        );
        assert_eq!(p.all("match[]"), ["up", "{job=\"a\"}"]);
        assert_eq!(p.matchers().unwrap().len(), 2);
        let p = Params::parse(Some("match[]={job=~\".*\"}"), None);
        assert!(p
            .matchers()
            .unwrap_err()
            .to_string()
            .contains("at least one non-empty matcher"));
        assert_eq!(
            Params::parse(Some("start=x"), None)
                .time("start", 0)
                .unwrap_err()
                .to_string(),
            "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"x\" to a valid timestamp"
        );
        assert!(Params::parse(Some("limit=-1"), None).limit().is_err());
    }
}
