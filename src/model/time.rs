//! UTC calendar arithmetic for timestamps: civil dates from day numbers and RFC 3339 text with
//! nanoseconds, as Go's `time.RFC3339Nano` writes it.

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's
/// algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A Unix time in nanoseconds as UTC parts: `2006-01-02`, `15:04:05`, and the fraction's
/// digits without trailing zeros (empty for whole seconds).
pub fn utc_parts(ns: i64) -> (String, String, String) {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let frac = if frac == 0 {
        String::new()
    } else {
        format!("{frac:09}").trim_end_matches('0').to_string()
    };
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", sod / 3600, (sod / 60) % 60, sod % 60),
        frac,
    )
}

/// Go's `time.RFC3339Nano` in UTC for a Unix time in nanoseconds; 0 is Go's zero time.
pub fn rfc3339_nano(ns: i64) -> String {
    if ns == 0 {
        return "0001-01-01T00:00:00Z".into();
    }
    let (date, time, frac) = utc_parts(ns);
    if frac.is_empty() {
        format!("{date}T{time}Z")
    } else {
        format!("{date}T{time}.{frac}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_rfc3339() {
        assert_eq!(civil_from_days(19_000), (2022, 1, 8));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(
            rfc3339_nano(1_700_000_000_151_810_036),
            "2023-11-14T22:13:20.151810036Z"
        );
        assert_eq!(rfc3339_nano(1_500_000_000), "1970-01-01T00:00:01.5Z");
        assert_eq!(rfc3339_nano(0), "0001-01-01T00:00:00Z");
    }
}
