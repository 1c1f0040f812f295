//! Time as the API, the CLI and the TUI read and write it, on `chrono`: timestamps given as Unix
//! seconds (with fractions) or RFC 3339 (Prometheus's `parseTime` in web/api/v1/api.go, in our
//! own words), UTC civil dates from day numbers, and RFC 3339 text with nanoseconds as Go's
//! `time.RFC3339Nano` writes it.
//!
//! Uses std, `chrono` and `thiserror` only.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};

/// Earliest and latest representable times, as Prometheus's API uses for open ranges.
pub const MIN_TIME: i64 = i64::MIN / 2;
pub const MAX_TIME: i64 = i64::MAX / 2;

/// A timestamp that could not be read; the messages are Prometheus's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("cannot parse {0:?} to a valid timestamp")]
    Invalid(String),
    #[error("cannot parse {0:?} to a valid timestamp: out of range")]
    OutOfRange(String),
}

/// Parses `1700000000`, `1700000000.123` or `2023-11-14T22:13:20.123Z` into milliseconds.
pub fn parse_time(s: &str) -> Result<i64, TimeError> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() {
            return Err(TimeError::Invalid(s.to_string()));
        }
        let ms = (f * 1000.0).round();
        if ms.abs() > 9.2e18 {
            return Err(TimeError::OutOfRange(s.to_string()));
        }
        return Ok(ms as i64);
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| TimeError::Invalid(s.to_string()))
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian; days beyond chrono's
/// range (about 262,000 years) give 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    // 719_163 is the day number of 1970-01-01 counted from 0001-01-01 (day 1).
    let date = z
        .checked_add(719_163)
        .and_then(|d| i32::try_from(d).ok())
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .unwrap_or_default();
    (i64::from(date.year()), date.month(), date.day())
}

/// A Unix time in nanoseconds as a UTC time (saturating at chrono's range).
fn utc(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

/// A Unix time in nanoseconds as UTC parts: `2006-01-02`, `15:04:05`, and the fraction's
/// digits without trailing zeros (empty for whole seconds).
pub fn utc_parts(ns: i64) -> (String, String, String) {
    let t = utc(ns);
    let frac = ns.rem_euclid(1_000_000_000);
    let frac = if frac == 0 {
        String::new()
    } else {
        format!("{frac:09}").trim_end_matches('0').to_string()
    };
    (
        t.format("%Y-%m-%d").to_string(),
        t.format("%H:%M:%S").to_string(),
        frac,
    )
}

/// Go's `time.RFC3339Nano` in UTC for a Unix time in nanoseconds; 0 is Go's zero time.
pub fn rfc3339_nano(ns: i64) -> String {
    if ns == 0 {
        return "0001-01-01T00:00:00Z".into();
    }
    // chrono writes 3, 6 or 9 digits; Go drops every trailing zero.
    let full = utc(ns).to_rfc3339_opts(SecondsFormat::Nanos, true);
    match full.split_once('.') {
        Some((whole, frac)) => {
            let digits = frac.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() {
                format!("{whole}Z")
            } else {
                format!("{whole}.{digits}Z")
            }
        }
        None => full,
    }
}

/// A system time as Go prints a `time.Time` in JSON (`None`, or before 1970: the zero time).
pub fn rfc3339_system(t: Option<std::time::SystemTime>) -> String {
    match t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()) {
        Some(d) => rfc3339_nano(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        None => rfc3339_nano(0),
    }
}

/// `20060102T150405Z`: a UTC time as snapshot names carry it.
pub fn compact_utc(t: std::time::SystemTime) -> String {
    DateTime::<Utc>::from(t)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_rfc3339() {
        assert_eq!(civil_from_days(19_000), (2022, 1, 8));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(i64::MAX), (1970, 1, 1));
        assert_eq!(
            rfc3339_nano(1_700_000_000_151_810_036),
            "2023-11-14T22:13:20.151810036Z"
        );
        assert_eq!(rfc3339_nano(1_500_000_000), "1970-01-01T00:00:01.5Z");
        assert_eq!(rfc3339_nano(1_000_000_000), "1970-01-01T00:00:01Z");
        assert_eq!(rfc3339_nano(-500_000_000), "1969-12-31T23:59:59.5Z");
        assert_eq!(rfc3339_nano(0), "0001-01-01T00:00:00Z");
        assert_eq!(
            utc_parts(1_700_000_000_120_000_000),
            ("2023-11-14".into(), "22:13:20".into(), "12".into())
        );
    }

    #[test]
    fn system_times() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(rfc3339_system(None), "0001-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_system(Some(UNIX_EPOCH + Duration::new(1_700_000_000, 123_400_000))),
            "2023-11-14T22:13:20.1234Z"
        );
        assert_eq!(
            rfc3339_system(Some(UNIX_EPOCH + Duration::from_secs(951_782_400))),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            compact_utc(UNIX_EPOCH + Duration::new(1_700_000_000, 999_000_000)),
            "20231114T221320Z"
        );
    }

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
            parse_time("2023-11-14T22:13:20.123456789Z").unwrap(),
            1_700_000_000_123
        );
        assert_eq!(
            parse_time("2023-11-14T23:13:20+01:00").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            parse_time("2023-11-14 22:13:20z").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_time("1969-12-31T23:59:59.5Z").unwrap(), -500);
        assert_eq!(parse_time("2000-02-29T00:00:00Z").unwrap(), 951_782_400_000);
        for bad in [
            "",
            "abc",
            "NaN",
            "inf",
            "2023-13-01T00:00:00Z",
            "2023-02-30T00:00:00Z",
            "2023-11-14",
            "2023-11-14T22:13:20",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_time("abc").unwrap_err().to_string(),
            "cannot parse \"abc\" to a valid timestamp"
        );
        assert_eq!(
            parse_time("1e300").unwrap_err().to_string(),
            "cannot parse \"1e300\" to a valid timestamp: out of range"
        );
    }
}
