//! Go-style formatting: `fmt` float verbs, `fmt.Sprintf` for the verbs templates use,
//! `time.Time.String()`, and Prometheus's humanize family (SI and binary prefixes, durations,
//! percentages).
//!
//! Uses `value`, `model` (time parts, shortest float formatting).

use std::fmt::Write as _;

use super::value::Val;
use crate::model::format_go_g;

/// `%.4g`, Go style.
pub(super) fn g4(v: f64) -> String {
    go_fmt_float(v, 'g', Some(4), false)
}

/// Prometheus's `humanize`: SI prefixes (k, M, ... and m, u, ...), `%.4g` digits.
pub(super) fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return g4(v);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        (v, prefix) = si_small(v);
    }
    format!("{}{prefix}", g4(v))
}

/// Prometheus's `humanize1024`: binary prefixes (ki, Mi, ...), `%.4g` digits.
pub(super) fn humanize_1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return g4(v);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", g4(v))
}

/// Prometheus's `humanizeDuration`: seconds as `1d 2h 3m 4s`, below a second with SI prefixes.
pub(super) fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return g4(v);
    }
    if v == 0.0 {
        return format!("{}s", g4(v));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        let d = v as i64;
        let (secs, mins, hours, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {mins}m {secs}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {mins}m {secs}s")
        } else if mins != 0 {
            format!("{sign}{mins}m {secs}s")
        } else {
            format!("{sign}{}s", g4(v))
        };
    }
    let (v, prefix) = si_small(v);
    format!("{}{prefix}s", g4(v))
}

/// Scales a magnitude below 1 up by thousands: the value and its SI prefix (m, u, n, ...).
fn si_small(mut v: f64) -> (f64, &'static str) {
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    (v, prefix)
}

/// Go's `time.Time.String()` in UTC for a Unix time in nanoseconds:
/// `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub(super) fn go_time_string(ns: i64) -> String {
    let (date, time, frac) = crate::model::time::utc_parts(ns);
    if frac.is_empty() {
        format!("{date} {time} +0000 UTC")
    } else {
        format!("{date} {time}.{frac} +0000 UTC")
    }
}

/// Go's float formatting for verbs e, f, g with an optional precision (None: shortest).
/// `sharp` keeps trailing zeros for %g.
pub fn go_fmt_float(v: f64, verb: char, prec: Option<usize>, sharp: bool) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    match verb {
        'f' | 'F' => match prec {
            Some(p) => format!("{v:.p$}"),
            None => format!("{v}"),
        },
        'e' | 'E' => {
            let s = match prec {
                Some(p) => format!("{v:.p$e}"),
                None => format!("{v:e}"),
            };
            let s = go_exp(&s);
            if verb == 'E' {
                s.to_uppercase()
            } else {
                s
            }
        }
        _ => {
            let Some(p) = prec else {
                return format_go_g(v);
            };
            let p = p.max(1);
            // Round to p significant digits, then choose %e or %f as Go does.
            let e = format!("{:.*e}", p - 1, v);
            let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
            let exp: i32 = exp.parse().unwrap_or(0);
            let neg = mant.starts_with('-');
            let mut digits: String = mant.chars().filter(char::is_ascii_digit).collect();
            if !sharp {
                while digits.len() > 1 && digits.ends_with('0') {
                    digits.pop();
                }
            }
            if v == 0.0 {
                digits = if sharp { "0".repeat(p) } else { "0".into() };
            }
            let nd = digits.len() as i32;
            let sign = if neg { "-" } else { "" };
            if exp < -4 || exp >= p as i32 {
                let (first, rest) = digits.split_at(1);
                let frac = if rest.is_empty() {
                    String::new()
                } else {
                    format!(".{rest}")
                };
                let es = if exp < 0 { '-' } else { '+' };
                format!("{sign}{first}{frac}e{es}{:02}", exp.abs())
            } else {
                let dp = exp + 1;
                let decimals = (nd - dp).max(0) as usize;
                let body = if dp <= 0 {
                    format!("0.{}{}", "0".repeat((-dp) as usize), digits)
                } else if dp >= nd {
                    format!("{digits}{}", "0".repeat((dp - nd) as usize))
                } else {
                    format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
                };
                let _ = decimals;
                format!("{sign}{body}")
            }
        }
    }
}

/// Rust's `1.5e3` exponent as Go writes it: `1.5e+03`.
fn go_exp(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) => {
            let n: i32 = e.parse().unwrap_or(0);
            let sign = if n < 0 { '-' } else { '+' };
            format!("{m}e{sign}{:02}", n.abs())
        }
        None => s.to_string(),
    }
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%v %s %d %f %F %e %E %g %G %q %x %X %t %c
/// %%` with flags `-+ 0#`, width and precision. Wrong types and missing arguments come out as
/// Go writes them (`%!d(string=x)`, `%!d(MISSING)`).
pub fn sprintf(format: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut argi = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut minus, mut plus, mut zero, mut space, mut sharp) =
            (false, false, false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                '#' => sharp = true,
                _ => break,
            }
            chars.next();
        }
        let num = |chars: &mut std::iter::Peekable<std::str::Chars>| {
            let mut n: Option<usize> = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = Some(n.unwrap_or(0) * 10 + d as usize);
                chars.next();
            }
            n
        };
        let width = num(&mut chars);
        let prec = if chars.peek() == Some(&'.') {
            chars.next();
            Some(num(&mut chars).unwrap_or(0))
        } else {
            None
        };
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        argi += 1;
        let bad = |arg: &Val| format!("%!{verb}({}={})", arg.type_name(), arg.to_display());
        let mut body = match (verb, arg) {
            ('v', a) => match a {
                Val::Float(f) if prec.is_some() => go_fmt_float(*f, 'g', prec, sharp),
                a => a.to_display(),
            },
            ('s', Val::Str(s)) => match prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            },
            ('q', Val::Str(s)) => format!("{s:?}"),
            // A histogram is a Stringer: `%s` prints its `String()`.
            ('s', Val::Histogram(_)) => arg.to_display(),
            ('d', Val::Int(i)) => i.to_string(),
            ('x', Val::Int(i)) => format!("{i:x}"),
            ('X', Val::Int(i)) => format!("{i:X}"),
            ('x', Val::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
            ('X', Val::Str(s)) => s.bytes().map(|b| format!("{b:02X}")).collect(),
            ('c', Val::Int(i)) => char::from_u32(*i as u32)
                .map(String::from)
                .unwrap_or_default(),
            ('t', Val::Bool(b)) => b.to_string(),
            ('f' | 'F', Val::Float(f)) => go_fmt_float(*f, 'f', Some(prec.unwrap_or(6)), sharp),
            ('e' | 'E', Val::Float(f)) => go_fmt_float(*f, verb, Some(prec.unwrap_or(6)), sharp),
            ('g' | 'G', Val::Float(f)) => go_fmt_float(*f, 'g', prec, sharp),
            (_, a) => bad(a),
        };
        if body.starts_with("%!") {
            out.push_str(&body);
            continue;
        }
        let numeric = matches!(arg, Val::Int(_) | Val::Float(_));
        if numeric && !body.starts_with('-') {
            if plus {
                body.insert(0, '+');
            } else if space {
                body.insert(0, ' ');
            }
        }
        if let Some(w) = width {
            let len = body.chars().count();
            if len < w {
                let pad = w - len;
                if minus {
                    body.push_str(&" ".repeat(pad));
                } else if zero && numeric {
                    let at = usize::from(body.starts_with(['-', '+', ' ']));
                    body.insert_str(at, &"0".repeat(pad));
                } else {
                    body.insert_str(0, &" ".repeat(pad));
                }
            }
        }
        out.push_str(&body);
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[argi..]
            .iter()
            .map(|a| format!("{}={}", a.type_name(), a.to_display()))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}
