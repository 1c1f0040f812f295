//! Text formatting shared by the views and the CLI: compact numbers, sparklines, clock times,
//! durations, ages and truncation. Plain strings, no drawing; uses `data` (RFC 3339 times)
//! and `model` (civil dates), and the `libc` crate for the local time zone.

use super::data::parse_rfc3339;

/// A compact number: `1.23k`, `45.6M`, `0.5`, `NaN`.
pub fn short_num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let a = v.abs();
    let (d, suffix) = if a >= 1e12 {
        (v / 1e12, "T")
    } else if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = if d == d.trunc() && d.abs() < 1e4 {
        format!("{d:.0}")
    } else if d.abs() >= 100.0 {
        format!("{d:.1}")
    } else if d.abs() >= 0.01 || d == 0.0 {
        format!("{d:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{d:.2e}")
    };
    format!("{s}{suffix}")
}

/// Sparkline of `values` in block characters, at most `width` wide: one character per bucket
/// of points, showing the bucket's last value (so the right end is the latest point); fewer
/// characters when there are fewer values. Values that are not finite are blanks, and a flat
/// series sits at half height (`▄`). Empty when no value is finite.
pub fn sparkline(values: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (lo, hi) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if lo > hi || width == 0 {
        return String::new();
    }
    let n = values.len().min(width);
    (0..n)
        .map(|i| {
            let j = ((i + 1) * values.len()).div_ceil(n) - 1;
            match values.get(j) {
                Some(v) if v.is_finite() => {
                    if hi == lo {
                        BARS[3]
                    } else {
                        BARS[((((v - lo) / (hi - lo)) * 7.0).round() as usize).min(7)]
                    }
                }
                _ => ' ',
            }
        })
        .collect()
}

/// Offset of local time from UTC in seconds (`localtime_r`), 0 if unknown.
pub fn local_offset(at: f64) -> i64 {
    // Systems whose `struct tm` has `tm_gmtoff`.
    #[cfg(any(
        target_os = "linux",
        target_os = "macos",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd"
    ))]
    {
        let t = at as libc::time_t;
        // SAFETY: an all-zero `struct tm` is a valid value (integers and a null zone pointer).
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        // SAFETY: localtime_r reads `t` and writes only into `tm`; both live for the call.
        let r = unsafe { libc::localtime_r(&t, &mut tm) };
        if !r.is_null() {
            // `c_long`: i64 here, i32 on 32-bit targets.
            #[allow(clippy::useless_conversion)]
            return i64::from(tm.tm_gmtoff);
        }
    }
    let _ = at;
    0
}

/// `HH:MM` (or `MM-DD HH:MM` for long ranges) of a unix time, local or UTC.
pub fn clock(t: f64, utc: bool, with_date: bool) -> String {
    let off = if utc { 0 } else { local_offset(t) };
    let s = t as i64 + off;
    let days = s.div_euclid(86400);
    let sod = s.rem_euclid(86400);
    let hm = format!("{:02}:{:02}", sod / 3600, (sod / 60) % 60);
    if with_date {
        let (_, m, d) = crate::model::civil_from_days(days);
        format!("{m:02}-{d:02} {hm}")
    } else {
        let secs = sod % 60;
        if secs != 0 {
            format!("{hm}:{secs:02}")
        } else {
            hm
        }
    }
}

/// `HH:MM:SS.mmm` (or `YYYY-MM-DD HH:MM:SS.mmm`) of a unix time, local or UTC (an exemplar's
/// time).
pub fn clock_ms(t: f64, utc: bool, with_date: bool) -> String {
    let ms = (t * 1000.0).round() as i64;
    let off = if utc { 0 } else { local_offset(t) };
    let s = ms.div_euclid(1000) + off;
    let (y, m, d) = crate::model::civil_from_days(s.div_euclid(86400));
    let sod = s.rem_euclid(86400);
    let hms = format!(
        "{:02}:{:02}:{:02}.{:03}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        ms.rem_euclid(1000)
    );
    if with_date {
        format!("{y:04}-{m:02}-{d:02} {hms}")
    } else {
        hms
    }
}

/// A graph range: `5m`, `1h`, `7d` (whole units), else seconds.
pub fn human_range(s: f64) -> String {
    let s = s as i64;
    if s % 86400 == 0 && s >= 86400 {
        format!("{}d", s / 86400)
    } else if s % 3600 == 0 && s >= 3600 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 && s >= 60 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// "12s ago" from an RFC 3339 time.
pub fn ago(now: f64, rfc: &str) -> String {
    match parse_rfc3339(rfc) {
        Some(t) if t > 0.0 => {
            let d = (now - t).max(0.0);
            format!("{} ago", human_secs(d))
        }
        _ => "never".into(),
    }
}

/// A duration as `1d2h`, `3h4m`, `5m6s` or `7s`.
pub fn human_secs(d: f64) -> String {
    let s = d as i64;
    if s >= 86400 {
        format!("{}d{}h", s / 86400, (s % 86400) / 3600)
    } else if s >= 3600 {
        format!("{}h{}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// `s` cut to `n` characters, ending in `…` when cut.
pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sparklines_and_clocks() {
        assert_eq!(short_num(1234.0), "1234");
        assert_eq!(short_num(12345.0), "12.345k");
        assert_eq!(short_num(2.5e9), "2.5G");
        assert_eq!(short_num(0.125), "0.125");
        assert_eq!(short_num(f64::NAN), "NaN");
        assert_eq!(
            sparkline(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 8),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(
            sparkline(&[1.0, f64::NAN], 2),
            "▄ ",
            "a flat line sits mid-height"
        );
        assert_eq!(
            sparkline(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 4),
            "▂▄▆█",
            "the last value of each bucket"
        );
        assert_eq!(sparkline(&[1.0, 2.0], 12), "▁█", "no wider than the values");
        assert_eq!(sparkline(&[f64::NAN], 4), "");
        assert_eq!(clock(3600.0 * 25.0 + 61.0, true, false), "01:01:01");
        assert_eq!(clock(0.0, true, true), "01-01 00:00");
        assert_eq!(
            clock_ms(1600096945.479, true, true),
            "2020-09-14 15:22:25.479"
        );
        assert_eq!(clock_ms(-0.5, true, false), "23:59:59.500");
    }
}
