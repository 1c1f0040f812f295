//! Date functions over Unix-seconds values, in UTC: year, month, day_of_month, day_of_week,
//! day_of_year, days_in_month, hour, minute.

/// (year, month 1-12, day 1-31) of a day number since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Applies a date function to a Unix time in seconds; NaN/Inf give NaN.
pub fn apply(name: &str, secs: f64) -> Option<f64> {
    if !secs.is_finite() {
        return Some(f64::NAN);
    }
    let s = secs.floor() as i64;
    let days = s.div_euclid(86_400);
    let (y, m, d) = civil(days);
    let month_days = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    Some(match name {
        "year" => y as f64,
        "month" => m as f64,
        "day_of_month" => d as f64,
        "day_of_week" => ((days + 4).rem_euclid(7)) as f64,
        "day_of_year" => (month_days[..(m - 1) as usize].iter().sum::<i64>() + d) as f64,
        "days_in_month" => month_days[(m - 1) as usize] as f64,
        "hour" => (s.rem_euclid(86_400) / 3600) as f64,
        "minute" => (s.rem_euclid(3600) / 60) as f64,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        // 2023-11-14T22:13:20Z is a Tuesday, day 318 of the year.
        let t = 1_700_000_000.0;
        assert_eq!(apply("year", t), Some(2023.0));
        assert_eq!(apply("month", t), Some(11.0));
        assert_eq!(apply("day_of_month", t), Some(14.0));
        assert_eq!(apply("day_of_week", t), Some(2.0));
        assert_eq!(apply("day_of_year", t), Some(318.0));
        assert_eq!(apply("days_in_month", t), Some(30.0));
        assert_eq!(apply("hour", t), Some(22.0));
        assert_eq!(apply("minute", t), Some(13.0));
        assert_eq!(
            apply("days_in_month", 951_782_400.0),
            Some(29.0),
            "Feb 2000"
        );
        assert_eq!(apply("year", -1.0), Some(1969.0));
    }
}
