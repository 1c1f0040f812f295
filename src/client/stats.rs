//! Query statistics read from an answer's `data.stats` (Prometheus's shape, from promterm or
//! any Prometheus asked with `stats=all`), and written for people: a few lines for
//! `promterm query --stats`, and a short note for the TUI's status line. Uses serde_json only.

use serde_json::Value;

/// The statistics of one query answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Seconds: eval total, result sort, preparation, inner eval, queue, exec total.
    pub eval_total: f64,
    pub result_sort: f64,
    pub query_preparation: f64,
    pub inner_eval: f64,
    pub exec_queue: f64,
    pub exec_total: f64,
    pub total_samples: u64,
    pub peak_samples: u64,
    /// Steps counted, and the most samples one step read (when the server gave them).
    pub steps: usize,
    pub max_step_samples: u64,
}

impl Stats {
    /// The statistics in an answer's `data`, if it has them.
    pub fn from_data(data: &Value) -> Option<Stats> {
        let s = data.get("stats")?;
        let t = &s["timings"];
        let f = |k: &str| t[k].as_f64().unwrap_or(0.0);
        let samples = &s["samples"];
        let per_step: Vec<u64> = samples["totalQueryableSamplesPerStep"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p[1].as_u64()).collect())
            .unwrap_or_default();
        Some(Stats {
            eval_total: f("evalTotalTime"),
            result_sort: f("resultSortTime"),
            query_preparation: f("queryPreparationTime"),
            inner_eval: f("innerEvalTime"),
            exec_queue: f("execQueueTime"),
            exec_total: f("execTotalTime"),
            total_samples: samples["totalQueryableSamples"].as_u64().unwrap_or(0),
            peak_samples: samples["peakSamples"].as_u64().unwrap_or(0),
            steps: per_step.len(),
            max_step_samples: per_step.iter().copied().max().unwrap_or(0),
        })
    }

    /// The statistics as a few lines (for stderr after a table or CSV).
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!(
                "stats: total {} (queue {}, eval {}: preparation {}, inner eval {}, sort {})",
                duration(self.exec_total),
                duration(self.exec_queue),
                duration(self.eval_total),
                duration(self.query_preparation),
                duration(self.inner_eval),
                duration(self.result_sort),
            ),
            format!(
                "stats: {} samples queried, peak {} samples held",
                group_digits(self.total_samples),
                group_digits(self.peak_samples)
            ),
        ];
        if self.steps > 0 {
            out.push(format!(
                "stats: {} step{}, at most {} samples in one step",
                group_digits(self.steps as u64),
                if self.steps == 1 { "" } else { "s" },
                group_digits(self.max_step_samples)
            ));
        }
        out
    }

    /// A short note such as "12 ms · 48k samples" (for a status line).
    pub fn short(&self) -> String {
        format!(
            "{} · {} samples",
            duration(self.exec_total),
            compact(self.total_samples)
        )
    }
}

/// Seconds as "850 µs", "12 ms", "1.5 ms", "2.31 s".
pub fn duration(secs: f64) -> String {
    if secs >= 1.0 {
        format!("{secs:.2} s")
    } else if secs >= 0.01 {
        format!("{:.0} ms", secs * 1e3)
    } else if secs >= 0.001 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{:.0} µs", secs * 1e6)
    }
}

/// A count as "950", "48k", "1.2M", "3.4G".
pub fn compact(n: u64) -> String {
    let f = n as f64;
    let (v, unit) = match n {
        0..=999 => return n.to_string(),
        1_000..=999_999 => (f / 1e3, "k"),
        1_000_000..=999_999_999 => (f / 1e6, "M"),
        _ => (f / 1e9, "G"),
    };
    if v < 10.0 {
        let s = format!("{v:.1}");
        format!("{}{unit}", s.trim_end_matches(".0"))
    } else {
        format!("{v:.0}{unit}")
    }
}

/// "1,234,567".
fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_prometheus_stats_and_writes_them_short() {
        // As Prometheus 2.42 answered with --enable-feature=promql-per-step-stats.
        let data = json!({"resultType": "matrix", "result": [], "stats": {
            "timings": {"evalTotalTime": 0.0121, "resultSortTime": 9.01e-07,
                "queryPreparationTime": 0.000070865, "innerEvalTime": 0.012,
                "execQueueTime": 0.000032028, "execTotalTime": 0.0123},
            "samples": {"totalQueryableSamplesPerStep": [[1796496806, 40000], [1796496808, 8123]],
                "totalQueryableSamples": 48123, "peakSamples": 4}}});
        let s = Stats::from_data(&data).unwrap();
        assert_eq!(s.total_samples, 48_123);
        assert_eq!(s.steps, 2);
        assert_eq!(s.max_step_samples, 40_000);
        assert_eq!(s.short(), "12 ms · 48k samples");
        let lines = s.lines();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[1].contains("48,123 samples queried, peak 4"),
            "{lines:?}"
        );
        assert!(Stats::from_data(&json!({"result": []})).is_none());
        assert_eq!(compact(1_250_000), "1.2M");
        assert_eq!(compact(999), "999");
        assert_eq!(duration(0.0005), "500 µs");
        assert_eq!(duration(2.5), "2.50 s");
    }
}
