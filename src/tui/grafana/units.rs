//! Grafana unit ids (`fieldConfig.defaults.unit`, legacy `yaxes[].format`) to text: bytes in
//! binary (`bytes`, `kbytes`, …) and decimal (`decbytes`, …) multiples, bits, byte and bit
//! rates, time (`s`, `ms`, `µs`, `ns`, `m`, `h`, `d`, `dtdurations`), `percent` and
//! `percentunit`, rates (`ops`, `reqps`, `rps`, `wps`, `iops`, …), `short`, `none`,
//! temperatures, `hertz`, and `suffix:`/`prefix:` custom units. An unknown id is written after
//! the number, so nothing is hidden. Reuses the overview's `Unit` formatting (`dashboard`)
//! where it is the same thing, and `dashboard::compact` for plain numbers.

use crate::tui::dashboard::{compact, Unit};

/// `v` written in Grafana unit `unit` (`None`: a plain number), with `decimals` digits after
/// the point when the panel fixes them.
pub fn format(unit: Option<&str>, v: f64, decimals: Option<u32>) -> String {
    if !v.is_finite() {
        return Unit::Plain.format(v);
    }
    let num = |x: f64| match decimals {
        Some(d) => format!("{x:.prec$}", prec = d as usize),
        None => compact(x),
    };
    let Some(unit) = unit.map(str::trim).filter(|u| !u.is_empty()) else {
        return num(v);
    };
    match unit {
        "short" | "none" | "" => num(v),
        "percent" => format!("{}%", num_or(decimals, v, 1)),
        "percentunit" => format!("{}%", num_or(decimals, v * 100.0, 1)),
        "bytes" => binary(v, "B", decimals),
        "kbytes" => binary(v * 1024.0, "B", decimals),
        "mbytes" => binary(v * 1024.0 * 1024.0, "B", decimals),
        "gbytes" => binary(v * 1024.0f64.powi(3), "B", decimals),
        "decbytes" => decimal(v, "B", decimals),
        "deckbytes" => decimal(v * 1e3, "B", decimals),
        "decmbytes" => decimal(v * 1e6, "B", decimals),
        "decgbytes" => decimal(v * 1e9, "B", decimals),
        "bits" => binary(v, "b", decimals),
        "decbits" => decimal(v, "b", decimals),
        "binBps" => format!("{}/s", binary(v, "B", decimals)),
        "Bps" => decimal(v, "B/s", decimals),
        "KBs" => decimal(v * 1e3, "B/s", decimals),
        "MBs" => decimal(v * 1e6, "B/s", decimals),
        "binbps" => format!("{}/s", binary(v, "b", decimals)),
        "bps" => decimal(v, "b/s", decimals),
        "Kbits" => decimal(v * 1e3, "b/s", decimals),
        "Mbits" => decimal(v * 1e6, "b/s", decimals),
        "s" => Unit::Seconds.format(v),
        "ms" => Unit::Seconds.format(v / 1e3),
        "µs" | "us" => Unit::Seconds.format(v / 1e6),
        "ns" => Unit::Seconds.format(v / 1e9),
        "m" => Unit::Seconds.format(v * 60.0),
        "h" => Unit::Seconds.format(v * 3600.0),
        "d" => Unit::Seconds.format(v * 86400.0),
        "dtdurations" | "dtdhms" => Unit::Seconds.format(v),
        "dtdurationms" => Unit::Seconds.format(v / 1e3),
        "ops" => format!("{} ops/s", num(v)),
        "reqps" => format!("{} req/s", num(v)),
        "rps" => format!("{} rd/s", num(v)),
        "wps" => format!("{} wr/s", num(v)),
        "iops" => format!("{} io/s", num(v)),
        "opm" => format!("{} ops/min", num(v)),
        "rpm" => format!("{} rd/min", num(v)),
        "wpm" => format!("{} wr/min", num(v)),
        "pps" => format!("{} p/s", num(v)),
        "celsius" => format!("{}°C", num(v)),
        "fahrenheit" => format!("{}°F", num(v)),
        "kelvin" => format!("{}K", num(v)),
        "hertz" => decimal(v, "Hz", decimals),
        "volt" => format!("{}V", num(v)),
        "watt" => decimal(v, "W", decimals),
        "amp" => format!("{}A", num(v)),
        "bool" => (if v != 0.0 { "true" } else { "false" }).to_string(),
        "bool_on_off" => (if v != 0.0 { "On" } else { "Off" }).to_string(),
        "bool_yes_no" => (if v != 0.0 { "Yes" } else { "No" }).to_string(),
        "locale" => num(v),
        "dateTimeAsIso" | "dateTimeAsSystem" | "dateTimeFromNow" => {
            // Grafana's dates are milliseconds.
            crate::tui::format::clock(v / 1e3, true, true)
        }
        other => {
            if let Some(s) = other.strip_prefix("suffix:") {
                format!("{}{s}", num(v))
            } else if let Some(p) = other.strip_prefix("prefix:") {
                format!("{p}{}", num(v))
            } else {
                format!("{} {other}", num(v))
            }
        }
    }
}

/// `v` with `decimals` digits, else with `default` digits trimmed of trailing zeros.
fn num_or(decimals: Option<u32>, v: f64, default: usize) -> String {
    match decimals {
        Some(d) => format!("{v:.prec$}", prec = d as usize),
        None => {
            let s = format!("{v:.default$}");
            if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s
            }
        }
    }
}

/// Three significant digits (or `decimals`) of a scaled value.
fn scaled(x: f64, decimals: Option<u32>) -> String {
    match decimals {
        Some(d) => format!("{x:.prec$}", prec = d as usize),
        None if x.abs() >= 100.0 || x == x.trunc() => format!("{x:.0}"),
        None if x.abs() >= 10.0 => num_or(None, x, 1),
        None => num_or(None, x, 2),
    }
}

/// Binary multiples: `1.5 KiB`.
fn binary(v: f64, base: &str, decimals: Option<u32>) -> String {
    const P: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    let (mut x, mut i) = (v, 0);
    while x.abs() >= 1024.0 && i < P.len() - 1 {
        x /= 1024.0;
        i += 1;
    }
    format!("{} {}{base}", scaled(x, decimals), P[i])
}

/// Decimal multiples: `1.5 kB`, `2.4 GHz`.
fn decimal(v: f64, base: &str, decimals: Option<u32>) -> String {
    const P: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
    let (mut x, mut i) = (v, 0);
    while x.abs() >= 1000.0 && i < P.len() - 1 {
        x /= 1000.0;
        i += 1;
    }
    format!("{} {}{base}", scaled(x, decimals), P[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grafana_units_are_written_with_their_multiples() {
        let f = |u: &str, v: f64| format(Some(u), v, None);
        assert_eq!(f("bytes", 1536.0), "1.5 KiB");
        assert_eq!(f("bytes", 3.0 * 1024.0 * 1024.0 * 1024.0), "3 GiB");
        assert_eq!(f("decbytes", 1_500_000.0), "1.5 MB");
        assert_eq!(f("kbytes", 2048.0), "2 MiB");
        assert_eq!(f("bits", 2048.0), "2 Kib");
        assert_eq!(f("Bps", 12_345.0), "12.3 kB/s");
        assert_eq!(f("binBps", 1024.0), "1 KiB/s");
        assert_eq!(f("bps", 1e9), "1 Gb/s");
        assert_eq!(f("s", 0.25), "250ms");
        assert_eq!(f("ms", 1500.0), "1.5s");
        assert_eq!(f("µs", 350.0), "350µs");
        assert_eq!(f("ns", 2.0e6), "2ms");
        assert_eq!(f("percent", 42.345), "42.3%");
        assert_eq!(f("percentunit", 0.5), "50%");
        assert_eq!(f("ops", 1234.0), "1234 ops/s");
        assert_eq!(f("reqps", 12_500.0), "12.5k req/s");
        assert_eq!(f("short", 12_345.0), "12.3k");
        assert_eq!(f("none", 3.0), "3");
        assert_eq!(f("celsius", 21.5), "21.5°C");
        assert_eq!(f("hertz", 2.4e9), "2.4 GHz");
        assert_eq!(f("suffix: req", 3.0), "3 req");
        assert_eq!(f("widgets", 3.0), "3 widgets", "unknown ids are shown");
        assert_eq!(format(None, 0.5, None), "0.5");
        assert_eq!(format(Some("short"), 2.0, Some(2)), "2.00");
        assert_eq!(format(Some("percent"), 2.0, Some(1)), "2.0%");
        assert_eq!(format(Some("bytes"), 1536.0, Some(2)), "1.50 KiB");
        assert_eq!(format(Some("bytes"), f64::NAN, None), "NaN");
    }
}
