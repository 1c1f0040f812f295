//! Native histograms in rule unit tests, as promtool (Prometheus 3) handles them: `input_series`
//! lines holding `{{...}}` values load float and histogram samples in time order; an
//! `exp_samples` entry may give `histogram: '{{...}}'` (exactly one histogram value, parsed as
//! a series line's values are), and a sample is compared by its labels, its float value (0 for
//! a histogram sample, as Prometheus's `Sample.F`) and its histogram written out in the test
//! notation (`test_expression`, Prometheus's `FloatHistogram.TestExpression`): so histograms
//! must be equal exactly, a gauge hint included (`result_expression` on the counter hints).
//! Uses `script` (series lines), `model`, `storage` and `tsdb`.

use super::script::{parse_series, SeriesLine};
use crate::model::{format_go_g, CounterResetHint, FloatHistogram, HistogramSample};
use crate::model::{HistogramValue, Sample};
use crate::storage::{Appender, HistogramInput, SeriesInput};
use crate::tsdb::Db;

/// Loads a series line's samples (slot `i` at `i * step` ms) into `db`, floats and histograms
/// in time order (a series may switch between the two).
pub fn load(db: &Db, line: &SeriesLine, step: i64) -> Result<(), String> {
    let labels = line.label_pairs();
    let mut hist = line.histograms.iter().peekable();
    let n = line
        .values
        .len()
        .max(line.histograms.last().map_or(0, |(i, _)| i + 1));
    let mut floats: Vec<Sample> = Vec::new();
    let mut hists: Vec<HistogramSample> = Vec::new();
    // Appends the pending run of one kind before a sample of the other kind.
    let flush = |floats: &mut Vec<Sample>, hists: &mut Vec<HistogramSample>| {
        let st = if !floats.is_empty() {
            db.append(&[SeriesInput {
                labels: labels.clone(),
                samples: std::mem::take(floats),
            }])
        } else if !hists.is_empty() {
            db.append_histograms(&[HistogramInput {
                labels: labels.clone(),
                histograms: std::mem::take(hists),
            }])
        } else {
            return Ok(());
        }
        .map_err(|e| e.to_string())?;
        if st.invalid > 0 {
            return Err(format!("invalid histogram in series {}", line.labels));
        }
        Ok::<(), String>(())
    };
    for i in 0..n {
        let t = i as i64 * step;
        if let Some(Some(v)) = line.values.get(i) {
            if !hists.is_empty() {
                flush(&mut floats, &mut hists)?;
            }
            floats.push(Sample { t, v: *v });
        } else if let Some((_, p)) = hist.next_if(|(slot, _)| *slot == i) {
            if !floats.is_empty() {
                flush(&mut floats, &mut hists)?;
            }
            hists.push(HistogramSample {
                t,
                h: HistogramValue::Float(p.h.clone()),
            });
        }
    }
    flush(&mut floats, &mut hists)
}

/// An `exp_samples` entry's `histogram:` text as a histogram: it must hold exactly one value,
/// a histogram (promtool's "expected 1 value, got N" / "expected histogram, got V").
pub fn parse_expected(text: &str) -> Result<FloatHistogram, String> {
    let line = parse_series(&format!("{{}} {text}"))?;
    if line.values.len() != 1 {
        return Err(format!("expected 1 value, got {}", line.values.len()));
    }
    match (line.histograms.into_iter().next(), line.values[0]) {
        (Some((_, p)), _) => Ok(p.h),
        (None, v) => Err(format!(
            "expected histogram, got {}",
            v.map_or("_".to_string(), format_go_g)
        )),
    }
}

/// A histogram in the test notation, as Prometheus's `FloatHistogram.TestExpression` writes it:
/// compacted to one span per side (no empty buckets at either end), fields that are zero (or
/// an unknown hint) left out, numbers in Go's `%g`.
pub fn test_expression(h: &FloatHistogram) -> String {
    let mut parts: Vec<String> = Vec::new();
    if h.schema != 0 {
        parts.push(format!("schema:{}", h.schema));
    }
    let mut num = |key: &str, v: f64| {
        if v != 0.0 {
            parts.push(format!("{key}:{}", format_go_g(v)));
        }
    };
    num("count", h.count);
    num("sum", h.sum);
    num("z_bucket", h.zero_count);
    num("z_bucket_w", h.zero_threshold);
    if h.uses_custom_buckets() {
        parts.push(format!("custom_values:{}", list(&h.custom_values)));
    }
    match h.counter_reset_hint {
        CounterResetHint::Unknown => {}
        CounterResetHint::CounterReset => parts.push("counter_reset_hint:reset".into()),
        CounterResetHint::NotCounterReset => parts.push("counter_reset_hint:not_reset".into()),
        CounterResetHint::Gauge => parts.push("counter_reset_hint:gauge".into()),
    }
    let sides = [
        (
            "buckets",
            "offset",
            h.positive_bucket_list()
                .iter()
                .map(|b| (b.index, b.count))
                .collect::<Vec<_>>(),
        ),
        (
            "n_buckets",
            "n_offset",
            h.negative_bucket_list()
                .iter()
                .map(|b| (b.index, b.count))
                .collect(),
        ),
    ];
    for (key, offset_key, buckets) in sides {
        let Some((first, last)) = buckets
            .iter()
            .position(|b| b.1 != 0.0)
            .zip(buckets.iter().rposition(|b| b.1 != 0.0))
        else {
            continue;
        };
        let (lo, hi) = (buckets[first].0, buckets[last].0);
        if lo != 0 {
            parts.push(format!("{offset_key}:{lo}"));
        }
        // One span from the first to the last non-empty bucket, gaps as zeros.
        let mut counts = vec![0.0; (i64::from(hi) - i64::from(lo) + 1) as usize];
        for (i, c) in &buckets[first..=last] {
            counts[(i64::from(*i) - i64::from(lo)) as usize] += c;
        }
        parts.push(format!("{key}:{}", list(&counts)));
    }
    format!("{{{{{}}}}}", parts.join(" "))
}

/// A result histogram in the test notation, its counter-reset hint as Prometheus 3's promtool
/// shows a selected sample's: a hint read back from the store (`reset`, `not_reset`) is not
/// shown, a gauge's is (upstream's own promtool test data expects selected counter histograms
/// without a hint, while this store reads later samples of a chunk back as `not_reset`).
pub fn result_expression(h: &FloatHistogram) -> String {
    match h.counter_reset_hint {
        CounterResetHint::CounterReset | CounterResetHint::NotCounterReset => {
            test_expression(&FloatHistogram {
                counter_reset_hint: CounterResetHint::Unknown,
                ..h.clone()
            })
        }
        _ => test_expression(h),
    }
}

fn list(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format_go_g(*x)).collect();
    format!("[{}]", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Span;

    #[test]
    fn test_expressions_compact_and_leave_out_zeros() {
        let h = FloatHistogram {
            schema: 1,
            count: 9.0,
            sum: -0.5,
            zero_count: 1.0,
            zero_threshold: 0.001,
            counter_reset_hint: CounterResetHint::Gauge,
            // Buckets -1..1 and 4..5: empty ones at both ends and a gap.
            positive_spans: vec![
                Span {
                    offset: -1,
                    length: 3,
                },
                Span {
                    offset: 2,
                    length: 2,
                },
            ],
            positive_buckets: vec![0.0, 2.0, 1.0, 3.0, 0.0],
            negative_spans: vec![Span {
                offset: 0,
                length: 1,
            }],
            negative_buckets: vec![2.0],
            ..FloatHistogram::default()
        };
        assert_eq!(
            test_expression(&h),
            "{{schema:1 count:9 sum:-0.5 z_bucket:1 z_bucket_w:0.001 counter_reset_hint:gauge buckets:[2 1 0 0 3] n_buckets:[2]}}"
        );
        assert_eq!(test_expression(&FloatHistogram::default()), "{{}}");
        // A result shows a gauge hint, not the hints a counter's samples are read back with.
        assert!(result_expression(&h).contains("counter_reset_hint:gauge"));
        let read_back = FloatHistogram {
            counter_reset_hint: CounterResetHint::NotCounterReset,
            ..h.clone()
        };
        assert!(!result_expression(&read_back).contains("counter_reset_hint"));
        assert!(test_expression(&read_back).contains("counter_reset_hint:not_reset"));
    }

    #[test]
    fn a_parsed_literal_writes_back_the_same() {
        for text in [
            "{{schema:1 count:32.1 sum:-0.3 z_bucket:7.1 z_bucket_w:0.05 offset:-3 buckets:[5.1 10 7] n_offset:-5 n_buckets:[4.1 5]}}",
            "{{count:4 sum:5 buckets:[1 2 1]}}",
            "{{schema:-53 count:3 sum:2 custom_values:[0.5 1] buckets:[1 2]}}",
            "{{count:1 counter_reset_hint:not_reset buckets:[1]}}",
        ] {
            let h = parse_expected(text).unwrap();
            assert_eq!(test_expression(&h), text);
        }
    }

    #[test]
    fn expected_histograms_must_be_one_histogram() {
        assert_eq!(
            parse_expected("{{count:1}} {{count:2}}").unwrap_err(),
            "expected 1 value, got 2"
        );
        assert_eq!(
            parse_expected("{{count:1}}x2").unwrap_err(),
            "expected 1 value, got 3"
        );
        assert_eq!(
            parse_expected("5").unwrap_err(),
            "expected histogram, got 5"
        );
        assert!(parse_expected("{{count:1").is_err());
    }
}
