//! The template functions: Go's builtins (`and or not len index print printf println eq ne lt
//! le gt ge urlquery html`) and Prometheus's (`humanize`, `query`, `label`, `title`, ...).
//!
//! Uses `value`, `gofmt`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::gofmt::{g4, go_time_string, humanize, humanize_1024, humanize_duration, sprintf};
use super::value::{as_sample, as_samples, as_str, compare, to_float, Env, QuerySample, Val};

/// The functions templates may call.
pub(super) const FUNCS: &[&str] = &[
    "and",
    "or",
    "not",
    "len",
    "index",
    "print",
    "printf",
    "println",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "urlquery",
    "html",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toUpper",
    "toLower",
    "title",
    "reReplaceAll",
    "match",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "sortByLabel",
    "args",
    "safeHtml",
    "stripPort",
    "stripDomain",
    "externalURL",
    "pathPrefix",
    "graphLink",
    "tableLink",
    "parseDuration",
    "toTime",
];

fn want_args(args: &[Val], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!("wrong number of args: got {} want {n}", args.len()));
    }
    Ok(())
}

pub(super) fn call(f: &str, args: Vec<Val>, env: &Env<'_>) -> Result<Val, String> {
    let s = |x: String| Ok(Val::Str(x));
    match f {
        "and" | "or" => {
            if args.is_empty() {
                return Err("wrong number of args: got 0 want at least 1".into());
            }
            let want = f == "or";
            for a in &args {
                if a.truth() == want {
                    return Ok(a.clone());
                }
            }
            Ok(args.last().cloned().unwrap_or(Val::Nil))
        }
        "not" => {
            want_args(&args, 1)?;
            Ok(Val::Bool(!args[0].truth()))
        }
        "len" => {
            want_args(&args, 1)?;
            let n = match &args[0] {
                Val::Str(x) => x.len(),
                Val::Map(m) => m.len(),
                Val::AnyMap(m) => m.len(),
                Val::Samples(x) => x.len(),
                other => return Err(format!("len of type {}", other.type_name())),
            };
            Ok(Val::Int(n as i64))
        }
        "index" => {
            if args.is_empty() {
                return Err("wrong number of args: got 0 want at least 1".into());
            }
            let mut v = args[0].clone();
            for k in &args[1..] {
                v = match (&v, k) {
                    (Val::Map(m), Val::Str(key)) => {
                        Val::Str(m.get(key).cloned().unwrap_or_default())
                    }
                    (Val::AnyMap(m), Val::Str(key)) => m.get(key).cloned().unwrap_or(Val::Nil),
                    (Val::Samples(list), Val::Int(i)) => list
                        .get(usize::try_from(*i).map_err(|_| format!("index out of range: {i}"))?)
                        .map(|x| Val::Sample(x.clone()))
                        .ok_or_else(|| format!("index out of range: {i}"))?,
                    (c, k) => {
                        return Err(format!(
                            "can't index item of type {} with {}",
                            c.type_name(),
                            k.type_name()
                        ))
                    }
                };
            }
            Ok(v)
        }
        "print" => {
            // fmt.Sprint: spaces between operands when neither is a string.
            let mut out = String::new();
            for (i, a) in args.iter().enumerate() {
                if i > 0 && !matches!(a, Val::Str(_)) && !matches!(args[i - 1], Val::Str(_)) {
                    out.push(' ');
                }
                a.print(&mut out);
            }
            s(out)
        }
        "println" => {
            let parts: Vec<String> = args.iter().map(Val::to_display).collect();
            s(format!("{}\n", parts.join(" ")))
        }
        "printf" => {
            let Some(fmt) = args.first() else {
                return Err("wrong number of args: got 0 want at least 1".into());
            };
            s(sprintf(&as_str(fmt)?, &args[1..]))
        }
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
            if args.len() < 2 {
                return Err("missing argument for comparison".into());
            }
            if f == "eq" {
                // eq a b c...: a equals any of the others.
                for b in &args[1..] {
                    if compare(&args[0], b)? == std::cmp::Ordering::Equal {
                        return Ok(Val::Bool(true));
                    }
                }
                return Ok(Val::Bool(false));
            }
            want_args(&args, 2)?;
            if matches!(f, "lt" | "le" | "gt" | "ge")
                && (matches!(args[0], Val::Bool(_) | Val::Nil)
                    || args.iter().any(|a| matches!(a, Val::Histogram(_))))
            {
                return Err("invalid type for comparison".into());
            }
            let o = compare(&args[0], &args[1])?;
            use std::cmp::Ordering::*;
            Ok(Val::Bool(match f {
                "ne" => o != Equal,
                "lt" => o == Less,
                "le" => o != Greater,
                "gt" => o == Greater,
                _ => o != Less,
            }))
        }
        "urlquery" => {
            let joined: String = args.iter().map(Val::to_display).collect();
            s(query_escape(&joined))
        }
        "html" => {
            let joined: String = args.iter().map(Val::to_display).collect();
            s(joined
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&#34;")
                .replace('\'', "&#39;"))
        }
        "humanize" => {
            want_args(&args, 1)?;
            s(humanize(to_float(&args[0])?))
        }
        "humanize1024" => {
            want_args(&args, 1)?;
            s(humanize_1024(to_float(&args[0])?))
        }
        "humanizeDuration" => {
            want_args(&args, 1)?;
            s(humanize_duration(to_float(&args[0])?))
        }
        "humanizePercentage" => {
            want_args(&args, 1)?;
            s(format!("{}%", g4(to_float(&args[0])? * 100.0)))
        }
        "humanizeTimestamp" | "toTime" => {
            want_args(&args, 1)?;
            let v = to_float(&args[0])?;
            if !v.is_finite() {
                return if f == "toTime" {
                    Err("value is NaN or Inf".into())
                } else {
                    s(g4(v))
                };
            }
            if v > i64::MAX as f64 || v < i64::MIN as f64 {
                return Err("timestamp out of range".into());
            }
            s(go_time_string((v * 1e9) as i64))
        }
        "toUpper" => {
            want_args(&args, 1)?;
            s(as_str(&args[0])?.to_uppercase())
        }
        "toLower" => {
            want_args(&args, 1)?;
            s(as_str(&args[0])?.to_lowercase())
        }
        "title" => {
            want_args(&args, 1)?;
            let text = as_str(&args[0])?;
            let mut out = String::with_capacity(text.len());
            let mut start = true;
            for c in text.chars() {
                if start && c.is_alphabetic() {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = !(c.is_alphanumeric() || c == '\'' || c == '_');
            }
            s(out)
        }
        "reReplaceAll" => {
            want_args(&args, 3)?;
            let re = regex::Regex::new(&as_str(&args[0])?).map_err(|e| e.to_string())?;
            s(
                re.replace_all(&as_str(&args[2])?, as_str(&args[1])?.as_str())
                    .into_owned(),
            )
        }
        "match" => {
            want_args(&args, 2)?;
            let re = regex::Regex::new(&as_str(&args[0])?).map_err(|e| e.to_string())?;
            Ok(Val::Bool(re.is_match(&as_str(&args[1])?)))
        }
        "query" => {
            want_args(&args, 1)?;
            let q = as_str(&args[0])?;
            let Some(run) = env.query else {
                return Err("queries are not available here".into());
            };
            let res = run(&q)?;
            Ok(Val::Samples(Arc::new(
                res.into_iter().map(Arc::new).collect(),
            )))
        }
        "first" => {
            want_args(&args, 1)?;
            let list = as_samples(&args[0])?;
            list.first()
                .map(|x| Val::Sample(x.clone()))
                .ok_or_else(|| "first() called on vector with no elements".to_string())
        }
        "label" => {
            want_args(&args, 2)?;
            let name = as_str(&args[0])?;
            s(as_sample(&args[1])?
                .and_then(|x| x.labels.get(&name).cloned())
                .unwrap_or_default())
        }
        "value" => {
            want_args(&args, 1)?;
            Ok(as_sample(&args[0])?.map_or(Val::Float(0.0), |x| x.value_val()))
        }
        "strvalue" => {
            want_args(&args, 1)?;
            s(as_sample(&args[0])?
                .and_then(|x| x.labels.get("__value__").cloned())
                .unwrap_or_default())
        }
        "sortByLabel" => {
            want_args(&args, 2)?;
            let name = as_str(&args[0])?;
            let mut list: Vec<Arc<QuerySample>> = as_samples(&args[1])?.as_ref().clone();
            list.sort_by(|a, b| {
                a.labels
                    .get(&name)
                    .map(String::as_str)
                    .unwrap_or("")
                    .cmp(b.labels.get(&name).map(String::as_str).unwrap_or(""))
            });
            Ok(Val::Samples(Arc::new(list)))
        }
        "args" => {
            let m: BTreeMap<String, Val> = args
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("arg{i}"), v))
                .collect();
            Ok(Val::AnyMap(Arc::new(m)))
        }
        "safeHtml" => {
            want_args(&args, 1)?;
            s(as_str(&args[0])?)
        }
        "stripPort" => {
            want_args(&args, 1)?;
            let hp = as_str(&args[0])?;
            s(split_host_port(&hp).map_or(hp.clone(), |(h, _)| h))
        }
        "stripDomain" => {
            want_args(&args, 1)?;
            let hp = as_str(&args[0])?;
            let (host, port) = split_host_port(&hp).unwrap_or((hp.clone(), String::new()));
            if host.parse::<std::net::IpAddr>().is_ok() {
                return s(hp);
            }
            let short = host.split('.').next().unwrap_or("").to_string();
            s(if port.is_empty() {
                short
            } else {
                format!("{short}:{port}")
            })
        }
        "externalURL" => s(env.external_url.to_string()),
        "pathPrefix" => {
            let after_scheme = env.external_url.split_once("://").map_or("", |x| x.1);
            s(after_scheme
                .find('/')
                .map_or(String::new(), |i| after_scheme[i..].to_string()))
        }
        "graphLink" | "tableLink" => {
            want_args(&args, 1)?;
            let tab = if f == "graphLink" { 0 } else { 1 };
            s(format!(
                "/graph?g0.expr={}&g0.tab={tab}",
                query_escape(&as_str(&args[0])?)
            ))
        }
        "parseDuration" => {
            want_args(&args, 1)?;
            let text = as_str(&args[0])?;
            let d: crate::config::Duration = text
                .parse()
                .map_err(|e: crate::config::DurationError| e.to_string())?;
            Ok(Val::Float(d.as_std().as_secs_f64()))
        }
        other => Err(format!("function {other:?} not defined")),
    }
}

/// Go's `net.SplitHostPort`, for the common forms.
fn split_host_port(hp: &str) -> Option<(String, String)> {
    if let Some(rest) = hp.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return Some((h.to_string(), p.to_string()));
    }
    let (h, p) = hp.rsplit_once(':')?;
    if h.contains(':') {
        return None;
    }
    Some((h.to_string(), p.to_string()))
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}
