//! Recording and alerting rules: rule groups evaluated on their own schedules, the alert state
//! machine, templates for alert labels and annotations, and notifications to Alertmanager.
//!
//! Uses `model`, `config`, `storage` and `promql`.

pub mod group;
pub mod manager;
pub mod notifier;
pub mod template;

use std::path::Path;

use crate::config::RuleFile;

/// What checking a rule file found: the number of rules, and duplicate rules (same name and
/// labels; a lint warning, as promtool reports them).
#[derive(Debug, Default)]
pub struct CheckReport {
    pub rules: usize,
    pub duplicates: Vec<(String, Vec<(String, String)>)>,
}

/// Checks a rule file as `promtool check rules` does: structure, expressions and templates.
/// Errors are `file:line: group "g", rule N, "name": problem`.
pub fn check_file(path: &Path) -> Result<CheckReport, Vec<String>> {
    let file = path.display().to_string();
    let rf =
        RuleFile::load(path).map_err(|es| es.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
    let mut errs = Vec::new();
    let mut report = CheckReport::default();
    let mut all: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for g in &rf.groups {
        for (i, r) in g.rules.iter().enumerate() {
            report.rules += 1;
            all.push((
                r.name().to_string(),
                r.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ));
            if let Err(es) = group::parse_rule(r, &g.labels) {
                for e in es {
                    let line = if e.starts_with("could not parse expression") {
                        r.expr_line
                    } else {
                        r.line
                    };
                    let at = line.map_or(file.clone(), |l| format!("{file}:{l}"));
                    errs.push(format!(
                        "{at}: group {:?}, rule {}, {:?}: {e}",
                        g.name,
                        i + 1,
                        r.name()
                    ));
                }
            }
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    all.sort();
    for w in all.windows(2) {
        if w[0] == w[1] && report.duplicates.last() != Some(&w[1]) {
            report.duplicates.push(w[1].clone());
        }
    }
    Ok(report)
}
