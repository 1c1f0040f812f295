//! Building scrape targets from discovered labels: the job's defaults (`job`, `__scheme__`,
//! `__metrics_path__`, `__scrape_interval__`, `__scrape_timeout__`, `__param_*`), then
//! `relabel_configs`, then `instance` from `__address__`; labels starting with `__` are left
//! out of the target's series labels. Follows Prometheus's scrape/target.go
//! (PopulateLabels) in our own words.
//!
//! `populate` is the scrape manager's path; `populate_traced` shares its steps (the defaults,
//! then relabeling through `relabel::process_traced`, then the checks) and also returns the
//! labels after each rule, for `promterm check service-discovery` and the relabeling views.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use super::relabel::{process_traced, process_until_drop, LabelMap, Step};
use crate::config::{Duration, ScrapeConfig};
use crate::model::{is_valid_label_name, NameValidation};

/// A target ready to scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Labels before relabeling (what discovery gave, with the job defaults).
    pub discovered: LabelMap,
    /// Labels after relabeling, `__` ones included (`__address__`, `__scheme__`, ...).
    pub all: LabelMap,
    /// The labels every series of the target gets (no `__` ones).
    pub labels: LabelMap,
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
}

impl Target {
    /// Identity for deduplication and for spreading scrapes over the interval.
    pub fn hash(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.labels.hash(&mut h);
        self.url.hash(&mut h);
        h.finish()
    }
}

/// What became of a discovered target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Active(Box<Target>),
    /// Dropped by relabeling: the discovered labels (kept for the API) and the index in
    /// `relabel_configs` of the rule that dropped it.
    Dropped {
        discovered: LabelMap,
        rule: usize,
    },
}

/// Builds a target from a group's labels and a target's own labels.
pub fn populate(job: &ScrapeConfig, group: &LabelMap, own: &LabelMap) -> Result<Outcome, String> {
    let discovered = discovered_labels(job, group, own);
    let mut l = discovered.clone();
    if let Some(rule) = process_until_drop(&job.relabel_configs, &mut l) {
        return Ok(Outcome::Dropped { discovered, rule });
    }
    finish(job, discovered, l)
}

/// A target built with every relabeling step recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced {
    /// The labels before relabeling (discovery's, with the job's defaults).
    pub discovered: LabelMap,
    /// One step per rule of `relabel_configs`.
    pub steps: Vec<Step>,
    /// What [`populate`] gives for the same labels.
    pub outcome: Result<Outcome, String>,
}

/// [`populate`], recording the labels after each relabeling rule.
pub fn populate_traced(job: &ScrapeConfig, group: &LabelMap, own: &LabelMap) -> Traced {
    let discovered = discovered_labels(job, group, own);
    let mut l = discovered.clone();
    let steps = process_traced(&job.relabel_configs, &mut l);
    let outcome = match super::relabel::dropped_at(&steps) {
        Some(rule) => Ok(Outcome::Dropped {
            discovered: discovered.clone(),
            rule,
        }),
        None => finish(job, discovered.clone(), l),
    };
    Traced {
        discovered,
        steps,
        outcome,
    }
}

/// A target's labels before relabeling: the group's, the target's own over them, then the
/// job's defaults where unset.
pub fn discovered_labels(job: &ScrapeConfig, group: &LabelMap, own: &LabelMap) -> LabelMap {
    let mut l: LabelMap = group.clone();
    for (k, v) in own {
        l.insert(k.clone(), v.clone());
    }
    // An empty value is no label (Prometheus's labels.Builder drops them before relabeling):
    // discoverers set some labels empty (DNS's record labels of other types, Consul's unset
    // service address) and they show in neither discoveredLabels nor relabeling.
    l.retain(|_, v| !v.is_empty());
    let defaults = [
        ("job", job.job_name.clone()),
        ("__scheme__", job.scheme.as_str().to_string()),
        ("__metrics_path__", job.metrics_path.clone()),
        ("__scrape_interval__", job.scrape_interval.to_string()),
        ("__scrape_timeout__", job.scrape_timeout.to_string()),
    ];
    for (k, v) in defaults {
        l.entry(k.to_string()).or_insert(v);
    }
    for (k, vs) in &job.params {
        if let Some(v) = vs.first() {
            l.entry(format!("__param_{k}")).or_insert_with(|| v.clone());
        }
    }
    l
}

/// The checks and the target after relabeling (`l`: the relabeled labels).
fn finish(job: &ScrapeConfig, discovered: LabelMap, mut l: LabelMap) -> Result<Outcome, String> {
    let address = match l.get("__address__") {
        Some(a) if !a.is_empty() => a.clone(),
        _ => return Err("no address".into()),
    };
    let parse_dur = |name: &str| -> Result<Duration, String> {
        let v = l.get(name).map(String::as_str).unwrap_or("");
        v.parse::<Duration>()
            .map_err(|e| format!("error parsing {name} {v:?}: {e}"))
    };
    let interval = parse_dur("__scrape_interval__")?;
    let timeout = parse_dur("__scrape_timeout__")?;
    if interval.is_zero() {
        return Err("scrape interval cannot be 0".into());
    }
    if timeout.is_zero() {
        return Err("scrape timeout cannot be 0".into());
    }
    if timeout > interval {
        return Err(format!(
            "scrape timeout cannot be greater than scrape interval ({timeout} > {interval})"
        ));
    }
    l.retain(|k, _| !k.starts_with("__meta_"));
    l.entry("instance".into())
        .or_insert_with(|| address.clone());
    for (k, v) in &l {
        if !k.starts_with("__") && !is_valid_label_name(k, NameValidation::Utf8) {
            return Err(format!("invalid label name {k:?}"));
        }
        if v.is_empty() {
            return Err(format!("empty value for label {k:?}"));
        }
    }
    let scheme = l.get("__scheme__").cloned().unwrap_or_default();
    if scheme != "http" && scheme != "https" {
        return Err(format!("invalid scheme {scheme:?}"));
    }
    let path = l.get("__metrics_path__").cloned().unwrap_or_default();
    // An address no URL can hold (a container without an IP gives ":80") still makes an
    // active target, as in Prometheus: its scrapes fail and say why.
    let url = match url::Url::parse(&format!("{scheme}://{address}")) {
        Ok(url) => scrape_url(job, &l, url, &path),
        Err(_) => format!("{scheme}://{address}{path}"),
    };
    let labels: LabelMap = l
        .iter()
        .filter(|(k, _)| !k.starts_with("__"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Outcome::Active(Box::new(Target {
        discovered,
        all: l,
        labels,
        url,
        interval,
        timeout,
    })))
}

/// The scrape URL of `url` (scheme and address): the path and the job's params, the first value
/// of each replaced by its `__param_` label.
fn scrape_url(job: &ScrapeConfig, l: &LabelMap, mut url: url::Url, path: &str) -> String {
    url.set_path(path);
    {
        // The job's params, the first value of each replaced by its `__param_` label; keys
        // sorted, as Go's url.Values encodes them.
        let mut params: BTreeMap<String, Vec<String>> = job.params.clone();
        for (k, v) in l {
            if let Some(name) = k.strip_prefix("__param_") {
                match params.get_mut(name) {
                    Some(vs) if !vs.is_empty() => vs[0] = v.clone(),
                    _ => {
                        params.insert(name.to_string(), vec![v.clone()]);
                    }
                }
            }
        }
        let params: Vec<(String, String)> = params
            .into_iter()
            .flat_map(|(k, vs)| vs.into_iter().map(move |v| (k.clone(), v)))
            .collect();
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(yaml: &str) -> ScrapeConfig {
        let cfg = crate::config::Config::parse(yaml, std::path::Path::new("t.yml")).unwrap();
        let job = cfg.jobs().next().unwrap().clone();
        job
    }

    fn m(p: &[(&str, &str)]) -> LabelMap {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults_instance_and_url() {
        let j = job("scrape_configs:\n- job_name: node\n  params: {collect: [cpu, mem]}\n  static_configs: [{targets: ['h:9100']}]\n");
        let Outcome::Active(t) =
            populate(&j, &m(&[("env", "p")]), &m(&[("__address__", "h:9100")])).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            t.labels,
            m(&[("env", "p"), ("instance", "h:9100"), ("job", "node")])
        );
        assert_eq!(t.url, "http://h:9100/metrics?collect=cpu&collect=mem");
        assert_eq!(t.discovered["__scrape_interval__"], "1m");
        assert_eq!(t.discovered["__param_collect"], "cpu");
        assert_eq!(t.interval.to_string(), "1m");
        assert_eq!(t.timeout.to_string(), "10s");
    }

    /// The cost of the two paths over 20,000 targets with a Kubernetes-like rule set (run with
    /// `--ignored --nocapture`); their outcomes agree target by target.
    #[test]
    #[ignore]
    fn populate_and_traced_cost() {
        let j = job(r#"
scrape_configs:
- job_name: pods
  relabel_configs:
  - {source_labels: [__meta_pod_annotation_scrape], regex: 'true', action: keep}
  - {source_labels: [__meta_pod_annotation_path], regex: '(.+)', target_label: __metrics_path__}
  - {action: labelmap, regex: '__meta_pod_label_(.+)'}
  - {source_labels: [__meta_namespace], target_label: namespace}
  - {source_labels: [__meta_pod_name], target_label: pod}
  static_configs: [{targets: ['a:1']}]
"#);
        let targets: Vec<LabelMap> = (0..20_000)
            .map(|i| {
                m(&[
                    ("__address__", &format!("10.0.{}.{}:8080", i / 256, i % 256)),
                    (
                        "__meta_pod_annotation_scrape",
                        if i % 5 == 0 { "false" } else { "true" },
                    ),
                    ("__meta_pod_annotation_path", "/m"),
                    ("__meta_pod_label_app", "web"),
                    ("__meta_pod_label_tier", "front"),
                    ("__meta_namespace", "prod"),
                    ("__meta_pod_name", &format!("web-{i}")),
                ])
            })
            .collect();
        let g = LabelMap::new();
        let t0 = std::time::Instant::now();
        let plain: Vec<_> = targets.iter().map(|t| populate(&j, &g, t)).collect();
        let t1 = std::time::Instant::now();
        let traced: Vec<_> = targets.iter().map(|t| populate_traced(&j, &g, t)).collect();
        let t2 = std::time::Instant::now();
        for (p, t) in plain.iter().zip(&traced) {
            assert_eq!(p, &t.outcome);
        }
        println!(
            "populate: {:?} for {} targets; populate_traced: {:?}",
            t1 - t0,
            targets.len(),
            t2 - t1
        );
    }

    #[test]
    fn relabeling_changes_drops_and_fails() {
        let j = job(r#"
scrape_configs:
- job_name: x
  scrape_interval: 30s
  relabel_configs:
  - {source_labels: [__address__], regex: 'drop.*', action: drop}
  - {source_labels: [__meta_zone], target_label: zone}
  - {target_label: __metrics_path__, replacement: /probe}
  - {target_label: __param_target, replacement: inner}
  - {source_labels: [__address__], regex: 'slow:.*', target_label: __scrape_timeout__, replacement: 45s}
  static_configs: [{targets: ['a:1']}]
"#);
        let Outcome::Active(t) = populate(
            &j,
            &m(&[("__meta_zone", "eu")]),
            &m(&[("__address__", "a:1")]),
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(t.labels["zone"], "eu");
        assert!(!t.all.contains_key("__meta_zone"));
        assert_eq!(t.url, "http://a:1/probe?target=inner");
        let d = populate(
            &j,
            &m(&[("g", "x")]),
            &m(&[("__address__", "drop:1"), ("g", ""), ("__meta_ip", "")]),
        )
        .unwrap();
        assert!(
            matches!(&d, Outcome::Dropped { discovered: l, .. } if !l.contains_key("g") && !l.contains_key("__meta_ip")),
            "empty values are no labels: {d:?}"
        );
        assert!(
            matches!(d, Outcome::Dropped { discovered: l, rule: 0 } if l["__address__"] == "drop:1")
        );
        let e = populate(&j, &m(&[]), &m(&[("__address__", "slow:1")])).unwrap_err();
        assert!(e.contains("45s > 30s"), "{e}");
        // The traced path gives the same outcomes, with a step per rule.
        for addr in ["a:1", "drop:1", "slow:1"] {
            let (g, own) = (m(&[("__meta_zone", "eu")]), m(&[("__address__", addr)]));
            let t = populate_traced(&j, &g, &own);
            assert_eq!(t.outcome, populate(&j, &g, &own), "{addr}");
            assert_eq!(t.steps.len(), j.relabel_configs.len());
            assert_eq!(t.discovered["__address__"], addr);
        }
        let t = populate_traced(
            &j,
            &m(&[("__meta_zone", "eu")]),
            &m(&[("__address__", "a:1")]),
        );
        assert!(!t.steps[0].output.contains_key("zone"));
        assert_eq!(t.steps[1].output["zone"], "eu");
        assert_eq!(t.steps[2].output["__metrics_path__"], "/probe");
        let t = populate_traced(&j, &m(&[]), &m(&[("__address__", "drop:1")]));
        assert!(!t.steps[0].keep && t.steps[4].output.is_empty());
    }

    #[test]
    fn an_address_without_host_is_an_active_target() {
        let j = job("scrape_configs:\n  - job_name: c\n");
        let out = populate(&j, &m(&[]), &m(&[("__address__", ":80")])).unwrap();
        let Outcome::Active(t) = out else {
            panic!("expected an active target: {out:?}");
        };
        assert_eq!(t.labels["instance"], ":80");
        assert_eq!(t.url, "http://:80/metrics");
    }
}
