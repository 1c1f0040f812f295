//! A built-in Pushgateway: `PUT`, `POST` and `DELETE` on `/metrics/job/<job>{/<label>/<value>}`
//! (a `@base64` suffix on a name means its value is base64url-encoded), text-format bodies, and
//! the Pushgateway's grouping semantics: PUT replaces the group, POST replaces the pushed
//! metric families in it, DELETE removes it. Each group also carries `push_time_seconds` and
//! `push_failure_time_seconds`. Groups are kept in `DATA/pushgateway.json` across restarts.
//!
//! The samples are ingested every scrape interval, as Prometheus scraping a Pushgateway with
//! `honor_labels: true` would store them: the pushed labels and the grouping labels, no
//! `instance` unless one was pushed, all at the ingestion time; series that go away (a deleted
//! group, a replaced metric) get a stale marker.
//!
//! Bodies in the protobuf format (`protobuf.rs`) may carry native histograms: they are kept
//! as such and appended as histogram samples each round.
//!
//! Uses `model`, `textparse` and `storage`.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::model::{
    format_go_g, is_valid_label_name, stale_nan, HistogramSample, HistogramValue, Labels,
    NameValidation, Sample,
};
use crate::storage::{Appender, HistogramInput, SeriesInput};
use crate::textparse::{Entry, Format, Parser};

mod protobuf;

/// File the groups are kept in, inside the data directory.
pub const FILE: &str = "pushgateway.json";

/// One pushed sample: labels (with `__name__`) and the value as text (NaN and infinities
/// survive JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pushed {
    labels: Vec<(String, String)>,
    value: String,
    /// A native histogram (pushed in the protobuf format) instead of `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    histogram: Option<protobuf::StoredHistogram>,
}

/// A group: its grouping key, its metric families, push times (unix seconds, 0 = never).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Group {
    key: Vec<(String, String)>,
    families: BTreeMap<String, Vec<Pushed>>,
    push_time: f64,
    failure_time: f64,
}

/// The pushed groups.
#[derive(Debug, Default)]
pub struct Store {
    groups: Mutex<BTreeMap<Vec<(String, String)>, Group>>,
    path: Option<PathBuf>,
    /// Limits on each pushed series' labels (a push with a series over them is refused).
    label_limits: crate::model::LabelLimits,
}

/// How a push changes its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// PUT: the group becomes exactly what was pushed.
    Replace,
    /// POST: metric families in the push replace those of the same name.
    Merge,
}

/// Why a push or a delete was refused; the message names the bad value.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The grouping key in the path is malformed.
    #[error("{0}")]
    Key(String),
    /// The pushed body is not acceptable (bad text, timestamps, labels against the key).
    #[error("{0}")]
    Body(String),
    /// The groups could not be written to the data directory.
    #[error("cannot save pushed groups to {path}: {source}")]
    Save {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The grouping key of `/metrics/<rest>`: `job/<job>{/<name>/<value>}`, sorted by name.
pub fn grouping_key(rest: &str) -> Result<Vec<(String, String)>, PushError> {
    key_pairs(rest).map_err(PushError::Key)
}

fn key_pairs(rest: &str) -> Result<Vec<(String, String)>, String> {
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    if parts.len() < 2 || !parts.len().is_multiple_of(2) {
        return Err(format!(
            "invalid grouping key {rest:?}: expected job/<job>{{/<label>/<value>}}"
        ));
    }
    let mut key: BTreeMap<String, String> = BTreeMap::new();
    for pair in parts.chunks(2) {
        let (mut name, mut value) = (pair[0].to_string(), pair[1].to_string());
        if let Some(n) = name.strip_suffix("@base64") {
            name = n.to_string();
            // URL-safe base64; the Pushgateway drops any padding before decoding.
            value = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(value.trim_end_matches('='))
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| format!("invalid base64 value {value:?} for label {name:?}"))?;
        }
        if !is_valid_label_name(&name, NameValidation::Legacy) || name.starts_with("__") {
            return Err(format!("invalid label name {name:?} in the grouping key"));
        }
        if key.insert(name.clone(), value).is_some() {
            return Err(format!("label {name:?} appears twice in the grouping key"));
        }
    }
    match key.get("job") {
        Some(j) if !j.is_empty() => {}
        _ => return Err("the grouping key needs a non-empty job".into()),
    }
    if parts[0] != "job" && parts[0] != "job@base64" {
        return Err(format!(
            "the grouping key must start with job, not {:?}",
            parts[0]
        ));
    }
    Ok(key.into_iter().collect())
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Store {
    /// Opens the store kept in `dir` (none: in memory only). An unreadable file is reported
    /// and the groups start empty.
    pub fn open(dir: Option<&std::path::Path>) -> Store {
        let path = dir.map(|d| d.join(FILE));
        let mut groups = BTreeMap::new();
        if let Some(p) = &path {
            match std::fs::read_to_string(p) {
                Ok(text) => match serde_json::from_str::<Vec<Group>>(&text) {
                    Ok(list) => {
                        groups = list.into_iter().map(|g| (g.key.clone(), g)).collect();
                    }
                    Err(e) => tracing::warn!(file = %p.display(), "cannot read pushed groups: {e}"),
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(file = %p.display(), "cannot read pushed groups: {e}"),
            }
        }
        Store {
            groups: Mutex::new(groups),
            path,
            label_limits: crate::model::LabelLimits::default(),
        }
    }

    /// Refuses pushes with series over these label limits.
    pub fn with_label_limits(mut self, l: crate::model::LabelLimits) -> Store {
        self.label_limits = l;
        self
    }

    fn save(&self, groups: &BTreeMap<Vec<(String, String)>, Group>) -> Result<(), PushError> {
        let Some(p) = &self.path else { return Ok(()) };
        let list: Vec<&Group> = groups.values().collect();
        let saved = serde_json::to_string(&list)
            .map_err(std::io::Error::other)
            .and_then(|text| {
                let tmp = p.with_extension("json.tmp");
                std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, p))
            });
        saved.map_err(|source| PushError::Save {
            path: p.clone(),
            source,
        })
    }

    /// Applies a push; errors name the problem and leave the group unchanged (its failure time
    /// is set).
    pub fn push(
        &self,
        key: Vec<(String, String)>,
        body: &str,
        mode: Mode,
        now: f64,
    ) -> Result<(), PushError> {
        let parsed = parse_body(&key, body, &self.label_limits);
        self.apply(key, parsed, mode, now)
    }

    /// `push` for a body in the protobuf format (`application/vnd.google.protobuf;
    /// proto=io.prometheus.client.MetricFamily; encoding=delimited`): native histograms are
    /// kept as such (an invalid one refuses the push, naming the series and the rule).
    pub fn push_protobuf(
        &self,
        key: Vec<(String, String)>,
        body: &[u8],
        mode: Mode,
        now: f64,
    ) -> Result<(), PushError> {
        let parsed = protobuf::parse(&key, body, &self.label_limits);
        self.apply(key, parsed, mode, now)
    }

    fn apply(
        &self,
        key: Vec<(String, String)>,
        parsed: Result<BTreeMap<String, Vec<Pushed>>, String>,
        mode: Mode,
        now: f64,
    ) -> Result<(), PushError> {
        let mut groups = self.groups.lock();
        match parsed {
            Ok(families) => {
                let g = groups.entry(key.clone()).or_insert_with(|| Group {
                    key: key.clone(),
                    ..Group::default()
                });
                match mode {
                    Mode::Replace => g.families = families,
                    Mode::Merge => g.families.extend(families),
                }
                g.push_time = now;
                self.save(&groups)
            }
            Err(e) => {
                if let Some(g) = groups.get_mut(&key) {
                    g.failure_time = now;
                    // The push is refused either way; a failed save of its failure time only
                    // loses that time at the next start.
                    if let Err(save) = self.save(&groups) {
                        tracing::warn!("{save}");
                    }
                }
                Err(PushError::Body(e))
            }
        }
    }

    /// Removes a group (no error if it does not exist).
    pub fn delete(&self, key: &[(String, String)]) -> Result<(), PushError> {
        let mut groups = self.groups.lock();
        if groups.remove(key).is_some() {
            self.save(&groups)?;
        }
        Ok(())
    }

    pub fn group_count(&self) -> usize {
        self.groups.lock().len()
    }

    /// Every series as a scrape would see it: the pushed samples plus `push_time_seconds` and
    /// `push_failure_time_seconds` per group.
    pub fn series(&self) -> Vec<(Labels, f64)> {
        let groups = self.groups.lock();
        let mut out = Vec::new();
        for g in groups.values() {
            for samples in g.families.values() {
                for s in samples.iter().filter(|s| s.histogram.is_none()) {
                    let v = match s.value.as_str() {
                        "NaN" => f64::NAN,
                        "+Inf" => f64::INFINITY,
                        "-Inf" => f64::NEG_INFINITY,
                        x => x.parse().unwrap_or(f64::NAN),
                    };
                    out.push((Labels::from_pairs(s.labels.iter().cloned()), v));
                }
            }
            for (name, v) in [
                ("push_time_seconds", g.push_time),
                ("push_failure_time_seconds", g.failure_time),
            ] {
                let mut l = g.key.clone();
                l.push(("__name__".into(), name.into()));
                out.push((Labels::from_pairs(l), v));
            }
        }
        out
    }
}

/// A pushed series' labels: its own (empty values dropped) and the grouping key's (which
/// they must not contradict), with `__name__`, within the label limits.
fn pushed_labels(
    key: &[(String, String)],
    sl: &crate::textparse::SeriesLabels<'_>,
    limits: &crate::model::LabelLimits,
) -> Result<Vec<(String, String)>, String> {
    let mut m: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &sl.labels {
        if !v.is_empty() {
            m.insert(k.to_string(), v.to_string());
        }
    }
    for (k, v) in key {
        match m.get(k) {
            Some(x) if x != v => {
                return Err(format!(
                    "pushed metric {} has label {k}={x:?}, which contradicts the grouping key ({k}={v:?})",
                    sl.name
                ))
            }
            _ => {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    m.insert("__name__".into(), sl.name.to_string());
    let labels: Vec<(String, String)> = m.into_iter().collect();
    limits.check(&labels).map_err(|e| e.to_string())?;
    Ok(labels)
}

impl Store {
    /// Every pushed native histogram, with its labels.
    pub fn histograms(&self) -> Vec<(Labels, HistogramValue)> {
        let groups = self.groups.lock();
        let mut out = Vec::new();
        for g in groups.values() {
            for s in g.families.values().flatten() {
                if let Some(h) = &s.histogram {
                    out.push((Labels::from_pairs(s.labels.iter().cloned()), h.value()));
                }
            }
        }
        out
    }
}

/// Parses a text-format push into metric families (by `# TYPE` family, else by name), with the
/// grouping labels added. Errors: timestamps, labels contradicting the grouping key, bad text.
fn parse_body(
    key: &[(String, String)],
    body: &str,
    limits: &crate::model::LabelLimits,
) -> Result<BTreeMap<String, Vec<Pushed>>, String> {
    let mut families: BTreeMap<String, Vec<Pushed>> = BTreeMap::new();
    let mut typed: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for e in Parser::new(body, Format::Text) {
        let e = e.map_err(|e| format!("invalid text format: {e}"))?;
        match e {
            Entry::Type { metric, .. } => typed.push(metric.to_string()),
            Entry::Sample(s) => {
                if s.timestamp.is_some() {
                    return Err(format!(
                        "pushed metrics must not have timestamps: line {} ({})",
                        s.line, s.series
                    ));
                }
                let sl = s
                    .labels()
                    .map_err(|e| format!("invalid text format: {e}"))?;
                let labels = pushed_labels(key, &sl, limits)?;
                if !seen.insert(labels.clone()) {
                    return Err(format!("duplicate series {} in the push", s.series));
                }
                // The family: the longest TYPE'd name this sample belongs to, else its name.
                let name = sl.name.to_string();
                let family = typed
                    .iter()
                    .filter(|f| {
                        name == **f
                            || ["_bucket", "_sum", "_count", "_total", "_created", "_info"]
                                .iter()
                                .any(|suf| name.strip_suffix(suf) == Some(f.as_str()))
                    })
                    .max_by_key(|f| f.len())
                    .cloned()
                    .unwrap_or(name);
                families.entry(family).or_default().push(Pushed {
                    labels,
                    value: format_go_g(s.value),
                    histogram: None,
                });
            }
            _ => {}
        }
    }
    Ok(families)
}

/// Appends every pushed series every `interval` (and stale markers for series gone since the
/// last round) until `shutdown`.
pub async fn run(
    store: Arc<Store>,
    appender: Arc<dyn Appender>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(interval.max(Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous: HashSet<Labels> = HashSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let t = (now_secs() * 1000.0) as i64;
        let series = store.series();
        let histograms = store.histograms();
        let current: HashSet<Labels> = series
            .iter()
            .map(|s| s.0.clone())
            .chain(histograms.iter().map(|h| h.0.clone()))
            .collect();
        let mut batch: Vec<SeriesInput> = series
            .iter()
            .map(|(l, v)| SeriesInput {
                labels: l.iter().map(|x| (&*x.name, &*x.value)).collect(),
                samples: vec![Sample { t, v: *v }],
            })
            .collect();
        let gone: Vec<&Labels> = previous.iter().filter(|l| !current.contains(*l)).collect();
        batch.extend(gone.iter().map(|l| SeriesInput {
            labels: l.iter().map(|x| (&*x.name, &*x.value)).collect(),
            samples: vec![Sample { t, v: stale_nan() }],
        }));
        if !batch.is_empty() {
            if let Err(e) = appender.append(&batch) {
                tracing::warn!("storing pushed metrics failed: {e}");
            }
        }
        if !histograms.is_empty() {
            let batch: Vec<HistogramInput> = histograms
                .iter()
                .map(|(l, h)| HistogramInput {
                    labels: l.iter().map(|x| (&*x.name, &*x.value)).collect(),
                    histograms: vec![HistogramSample { t, h: h.clone() }],
                })
                .collect();
            match appender.append_histograms(&batch) {
                Ok(st) if st.invalid > 0 => tracing::warn!(
                    refused = st.invalid,
                    "the store refused pushed native histograms"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!("storing pushed histograms failed: {e}"),
            }
        }
        previous = current;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn shown(s: &Store) -> Vec<String> {
        let mut v: Vec<String> = s
            .series()
            .into_iter()
            .map(|(l, v)| format!("{l} {}", format_go_g(v)))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn pushes_over_the_label_limits_are_refused_whole() {
        let s = Store::open(None).with_label_limits(crate::model::LabelLimits {
            max_labels: 4,
            max_name_len: 16,
            max_value_len: 8,
        });
        let k = key(&[("job", "batch")]);
        s.push(
            k.clone(),
            "ok 1
",
            Mode::Replace,
            1.0,
        )
        .unwrap();
        let e = s
            .push(
                k.clone(),
                "ok 2
big{v=\"123456789\"} 1
",
                Mode::Replace,
                2.0,
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("value of label v is 9 bytes"), "{e}");
        let e = s
            .push(
                k.clone(),
                "many{a=\"1\",b=\"2\",c=\"3\"} 1
",
                Mode::Merge,
                3.0,
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("5 labels"), "{e}");
        // What was accepted before stays as it was.
        let shown = shown(&s);
        assert!(
            shown
                .iter()
                .any(|l| l.contains("__name__=\"ok\"") && l.ends_with(" 1")),
            "{shown:?}"
        );
    }

    #[test]
    fn grouping_keys_from_paths() {
        assert_eq!(grouping_key("job/batch").unwrap(), key(&[("job", "batch")]));
        assert_eq!(
            grouping_key("job/batch/instance/a:1/zone/eu").unwrap(),
            key(&[("instance", "a:1"), ("job", "batch"), ("zone", "eu")])
        );
        // base64url values (the way clients send `/` and empty values).
        assert_eq!(
            grouping_key("job@base64/L3Zhci90bXA/path@base64/=").unwrap(),
            key(&[("job", "/var/tmp"), ("path", "")])
        );
        assert!(grouping_key("job")
            .unwrap_err()
            .to_string()
            .contains("job/<job>"));
        assert!(grouping_key("job/")
            .unwrap_err()
            .to_string()
            .contains("job/<job>"));
        assert!(grouping_key("job/a/0bad/x")
            .unwrap_err()
            .to_string()
            .contains("0bad"));
        assert!(grouping_key("job/a/job/b")
            .unwrap_err()
            .to_string()
            .contains("twice"));
        assert!(grouping_key("instance/a/job/b")
            .unwrap_err()
            .to_string()
            .contains("start with job"));
    }

    #[test]
    fn put_post_delete_follow_the_pushgateway() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(Some(dir.path()));
        let k = key(&[("instance", "x"), ("job", "batch")]);
        s.push(
            k.clone(),
            "# TYPE dur histogram\ndur_bucket{le=\"1\"} 2\ndur_bucket{le=\"+Inf\"} 3\ndur_sum 4.5\ndur_count 3\nlast_ok 1.7e9\n",
            Mode::Replace,
            100.0,
        )
        .unwrap();
        assert_eq!(shown(&s).len(), 7);
        // POST replaces only the families pushed.
        s.push(k.clone(), "last_ok 1.8e9\n", Mode::Merge, 200.0)
            .unwrap();
        let v = shown(&s);
        assert!(
            v.contains(
                &"{__name__=\"last_ok\", instance=\"x\", job=\"batch\"} 1.8e+09".to_string()
            ),
            "{v:?}"
        );
        assert!(
            v.iter().any(|x| x.starts_with("{__name__=\"dur_sum\"")),
            "{v:?}"
        );
        assert!(
            v.contains(
                &"{__name__=\"push_time_seconds\", instance=\"x\", job=\"batch\"} 200".to_string()
            ),
            "{v:?}"
        );
        // PUT replaces the whole group.
        s.push(k.clone(), "other 1\n", Mode::Replace, 300.0)
            .unwrap();
        let v = shown(&s);
        assert!(!v.iter().any(|x| x.contains("dur_")), "{v:?}");
        // Failures leave the group and set the failure time.
        let e = s
            .push(k.clone(), "m{job=\"other\"} 1\n", Mode::Merge, 400.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("contradicts the grouping key"), "{e}");
        let e = s
            .push(k.clone(), "m 1 1000\n", Mode::Merge, 400.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("timestamps"), "{e}");
        let e = s
            .push(k.clone(), "m{ 1\n", Mode::Merge, 400.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid text format"), "{e}");
        let v = shown(&s);
        assert!(
            v.contains(
                &"{__name__=\"push_failure_time_seconds\", instance=\"x\", job=\"batch\"} 400"
                    .to_string()
            ),
            "{v:?}"
        );
        assert!(v.iter().any(|x| x.starts_with("{__name__=\"other\"")));
        // Kept across restarts.
        let again = Store::open(Some(dir.path()));
        assert_eq!(shown(&again), v);
        again.delete(&k).unwrap();
        assert!(again.series().is_empty());
        assert!(Store::open(Some(dir.path())).series().is_empty());
    }
}
