//! Native-histogram samples as the query API's JSON holds them (`"histogram": [t, {...}]` in a
//! vector, `"histograms": [[t, {...}], ...]` in a matrix: count, sum and the non-empty buckets
//! as `[rule, "lower", "upper", "count"]`), read for `promterm query` and the TUI, and their
//! compact one-line summary: `{count:11 sum:301.1 buckets:4 [-2,-1.414):1 (0.08839,0.125]:1 …}`
//! — count and sum, how many buckets hold observations, and the lowest two and highest two of
//! them (all when there are at most four) with their bounds as intervals (`(`/`)` open, `[`/`]`
//! closed, per the boundary rule) and four significant digits. Uses serde_json only.

use serde_json::Value;

/// One bucket: boundary rule (0 `(l,u]`, 1 `[l,u)`, 2 `(l,u)`, 3 `[l,u]`), bounds, count.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketJson {
    pub rule: u8,
    pub lower: f64,
    pub upper: f64,
    pub count: f64,
}

/// A histogram sample's value.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramJson {
    pub count: f64,
    pub sum: f64,
    /// The strings as sent, for output that passes them on (CSV).
    pub count_text: String,
    pub sum_text: String,
    pub buckets: Vec<BucketJson>,
}

/// A number as the API writes it: a string (`"1.5"`, `"NaN"`, `"+Inf"`, `"-Inf"`, `"1e+21"`)
/// or a JSON number.
pub fn api_number(v: &Value) -> f64 {
    match v {
        Value::String(s) => match s.as_str() {
            "+Inf" | "Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            s => s.parse().unwrap_or(f64::NAN),
        },
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

impl HistogramJson {
    /// Reads `{"count": "...", "sum": "...", "buckets": [...]}`; `None` if it is not an object
    /// with a count.
    pub fn parse(v: &Value) -> Option<Self> {
        let o = v.as_object()?;
        let count = o.get("count")?;
        let sum = o.get("sum").unwrap_or(&Value::Null);
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let buckets = o
            .get("buckets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|b| {
                let b = b.as_array()?;
                Some(BucketJson {
                    rule: b.first()?.as_u64().filter(|r| *r <= 3)? as u8,
                    lower: api_number(b.get(1)?),
                    upper: api_number(b.get(2)?),
                    count: api_number(b.get(3)?),
                })
            })
            .collect();
        Some(HistogramJson {
            count: api_number(count),
            sum: api_number(sum),
            count_text: text(count),
            sum_text: text(sum),
            buckets,
        })
    }

    /// The one-line summary (see the module doc).
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{{count:{} sum:{} buckets:{}",
            compact_num(self.count),
            compact_num(self.sum),
            self.buckets.len()
        );
        let n = self.buckets.len();
        for (i, b) in self.buckets.iter().enumerate() {
            if n > 4 && i == 2 {
                out.push_str(" …");
            }
            if n > 4 && (2..n - 2).contains(&i) {
                continue;
            }
            out.push(' ');
            out.push_str(&b.interval());
            out.push(':');
            out.push_str(&compact_num(b.count));
        }
        out.push('}');
        out
    }
}

impl BucketJson {
    /// `(l,u]` and the like, per the boundary rule.
    pub fn interval(&self) -> String {
        let (open, close) = match self.rule {
            0 => ('(', ']'),
            1 => ('[', ')'),
            2 => ('(', ')'),
            _ => ('[', ']'),
        };
        format!(
            "{open}{},{}{close}",
            compact_num(self.lower),
            compact_num(self.upper)
        )
    }
}

/// A number in at most four significant digits: whole numbers below 1e15 in full, others
/// like Go's `%.4g` (`0.08839`, `1.414`, `9.671e+24`), and `NaN`, `+Inf`, `-Inf`.
pub fn compact_num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    // Round to four significant digits first, then pick the notation from the rounded value.
    let e = format!("{v:.3e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mantissa = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    if !(-4..4).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.unsigned_abs());
    }
    let decimals = (3 - exp).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_in_four_digits() {
        assert_eq!(compact_num(12.0), "12");
        assert_eq!(compact_num(301.1), "301.1");
        assert_eq!(compact_num(0.08838834764831843), "0.08839");
        assert_eq!(compact_num(2.82842712474619), "2.828");
        assert_eq!(compact_num(362.0386719675123), "362");
        assert_eq!(compact_num(9.671406556917033e24), "9.671e+24");
        assert_eq!(compact_num(2.938735877055719e-39), "2.939e-39");
        assert_eq!(compact_num(-0.45850202160233555), "-0.4585");
        assert_eq!(compact_num(9999.7), "1e+04");
        assert_eq!(compact_num(0.5), "0.5");
        assert_eq!(compact_num(f64::NEG_INFINITY), "-Inf");
        assert_eq!(compact_num(1e20), "1e+20");
    }

    #[test]
    fn reads_and_summarises_prometheus_json() {
        // As Prometheus 2.42 answered for tests/nhsvc's rpc_latency_seconds.
        let v = json!({"count":"11","sum":"1e+25","buckets":[
            [1,"-3.0844216508158815","-2.82842712474619","1"],
            [1,"-0.5","-0.45850202160233555","1"],
            [3,"-0.001","0.001","3"],
            [0,"0.1927763531759926","0.2102241038134286","2"],
            [0,"1.414213562373095","1.5422108254079407","1"],
            [0,"9.671406556917033e+24","1.05467436360675e+25","1"]]});
        let h = HistogramJson::parse(&v).unwrap();
        assert_eq!((h.count, h.sum, h.buckets.len()), (11.0, 1e25, 6));
        assert_eq!(
            (h.count_text.as_str(), h.sum_text.as_str()),
            ("11", "1e+25")
        );
        assert_eq!(
            h.buckets[2],
            BucketJson {
                rule: 3,
                lower: -0.001,
                upper: 0.001,
                count: 3.0
            }
        );
        assert_eq!(
            h.summary(),
            "{count:11 sum:1e+25 buckets:6 [-3.084,-2.828):1 [-0.5,-0.4585):1 … (1.414,1.542]:1 (9.671e+24,1.055e+25]:1}"
        );
        let small = json!({"count":"2.5","sum":"NaN","buckets":[[3,"-Inf","0.1","2.5"]]});
        assert_eq!(
            HistogramJson::parse(&small).unwrap().summary(),
            "{count:2.5 sum:NaN buckets:1 [-Inf,0.1]:2.5}"
        );
        let empty = json!({"count":"0","sum":"0"});
        assert_eq!(
            HistogramJson::parse(&empty).unwrap().summary(),
            "{count:0 sum:0 buckets:0}"
        );
        assert_eq!(HistogramJson::parse(&json!("1")), None);
        assert_eq!(HistogramJson::parse(&json!({"sum": "1"})), None);
    }
}
