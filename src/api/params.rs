//! Request parameters as Prometheus reads them: repeated keys (`match[]`), from the query string
//! and from a form-encoded POST body; times as Unix seconds (with fractions) or RFC 3339.

use crate::model::Matcher;
use crate::promql::parse_selector;

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
    pub fn time(&self, key: &str, default: i64) -> Result<i64, String> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(s) => parse_time(s).map_err(|e| {
                format!("invalid parameter {key:?}: Invalid time value for '{key}': {e}")
            }),
        }
    }

    /// `match[]` selectors, each as alternatives of matchers.
    pub fn matchers(&self) -> Result<Vec<Vec<Matcher>>, String> {
        let mut out = Vec::new();
        for s in self.all("match[]") {
            let alts =
                parse_selector(s).map_err(|e| format!("invalid parameter \"match[]\": {e}"))?;
            for alt in alts {
                if alt.iter().all(Matcher::matches_empty) {
                    return Err(
                        "invalid parameter \"match[]\": match[] must contain at least one non-empty matcher"
                            .into(),
                    );
                }
                out.push(alt);
            }
        }
        Ok(out)
    }

    /// `limit`: 0 or absent means no limit.
    pub fn limit(&self) -> Result<usize, String> {
        match self.get("limit") {
            None | Some("") => Ok(0),
            Some(s) => s.parse::<usize>().map_err(|_| {
                format!("invalid parameter \"limit\": {s:?} is not a non-negative integer")
            }),
        }
    }
}

/// Earliest and latest representable times, as Prometheus's API uses for open ranges.
pub const MIN_TIME: i64 = i64::MIN / 2;
pub const MAX_TIME: i64 = i64::MAX / 2;

/// Parses `1700000000`, `1700000000.123` or `2023-11-14T22:13:20.123Z` into milliseconds.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() {
            return Err(format!("cannot parse {s:?} to a valid timestamp"));
        }
        let ms = (f * 1000.0).round();
        if ms.abs() > 9.2e18 {
            return Err(format!(
                "cannot parse {s:?} to a valid timestamp: out of range"
            ));
        }
        return Ok(ms as i64);
    }
    parse_rfc3339(s).ok_or_else(|| format!("cannot parse {s:?} to a valid timestamp"))
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) && !t.is_empty() {
            t.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut pos = 19;
    let mut frac_ms = 0i64;
    if b.get(pos) == Some(&b'.') {
        let start = pos + 1;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            return None;
        }
        let digits = &s[start..end.min(start + 3)];
        frac_ms = digits.parse::<i64>().ok()? * 10i64.pow(3 - digits.len() as u32);
        pos = end;
    }
    let offset_min = match &s[pos..] {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) && &tz[3..4] == ":" => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (num(pos + 1..pos + 3)? * 60 + num(pos + 4..pos + 6)?)
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let (yy, mm) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Some(secs * 1000 + frac_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse_time("1700000000.123").unwrap(), 1_700_000_000_123);
        assert_eq!(parse_time("-1.5").unwrap(), -1500);
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20.5Z").unwrap(),
            1_700_000_000_500
        );
        assert_eq!(
            parse_time("2023-11-14T23:13:20+01:00").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_time("2000-02-29T00:00:00Z").unwrap(), 951_782_400_000);
        for bad in [
            "",
            "abc",
            "NaN",
            "inf",
            "2023-13-01T00:00:00Z",
            "2023-11-14",
            "2023-11-14T22:13:20",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
        assert!(parse_time("abc").unwrap_err().contains("\"abc\""));
    }

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
            .contains("at least one non-empty matcher"));
        assert!(Params::parse(Some("limit=-1"), None).limit().is_err());
    }
}
