//! `file_sd_configs`: JSON (`.json`) or YAML (`.yml`/`.yaml`) lists of `{targets, labels}`;
//! the glob patterns are expanded and `__meta_filepath` added. The scrape manager re-reads the
//! files when their contents change (checked every few seconds) and every `refresh_interval`.
//! Follows Prometheus's discovery/file in our own words.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::metrics::sd_metrics;
use super::{address, LabelMap, TargetGroup};
use crate::config::FileSdConfig;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// The files a file SD config's patterns match now, sorted.
pub fn sd_files(cfg: &FileSdConfig) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = cfg
        .files
        .iter()
        .filter_map(|p| glob::glob(p).ok())
        .flat_map(|g| g.filter_map(Result::ok))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Parses one file SD file.
pub fn parse_sd_file(path: &Path, text: &str) -> Result<Vec<TargetGroup>, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let groups: Vec<FileGroup> = match ext.as_str() {
        "json" => serde_json::from_str(text).map_err(|e| e.to_string())?,
        "yml" | "yaml" => serde_yaml::from_str::<Option<Vec<FileGroup>>>(text)
            .map_err(|e| e.to_string())?
            .unwrap_or_default(),
        other => return Err(format!("unsupported file extension {other:?}")),
    };
    let file = path.display().to_string();
    let mut out = Vec::new();
    for (i, g) in groups.into_iter().enumerate() {
        for t in &g.targets {
            if t.is_empty() || t.contains('/') {
                return Err(format!("{t:?} is not a valid target address"));
            }
        }
        let mut labels: LabelMap = g.labels;
        labels.insert("__meta_filepath".into(), file.clone());
        out.push(TargetGroup {
            source: format!("{file}:{i}"),
            targets: g.targets.iter().map(|t| address(t)).collect(),
            labels,
        });
    }
    Ok(out)
}

/// A file SD file that was skipped: unreadable, or not a valid list of target groups.
#[derive(Debug, thiserror::Error)]
pub enum FileSdError {
    #[error("file SD {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// What is wrong with the contents (syntax, extension, a bad target address).
    #[error("file SD {}: {message}", .path.display())]
    Invalid { path: PathBuf, message: String },
}

/// Everything a file SD config yields now; unreadable or bad files are reported and skipped
/// (the others still count), as Prometheus does.
pub fn read_file_sd(cfg: &FileSdConfig) -> (Vec<TargetGroup>, Vec<FileSdError>) {
    let m = sd_metrics();
    m.declare(READ_ERRORS, READ_ERRORS_HELP, vec![]);
    let t0 = std::time::Instant::now();
    let mut groups = Vec::new();
    let mut errors = Vec::new();
    for f in sd_files(cfg) {
        let text = match std::fs::read_to_string(&f) {
            Ok(t) => t,
            Err(source) => {
                errors.push(FileSdError::Read { path: f, source });
                continue;
            }
        };
        if let Ok(mt) = std::fs::metadata(&f).and_then(|x| x.modified()) {
            let secs = mt
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            let labels = vec![("filename", f.display().to_string())];
            m.set(
                "prometheus_sd_file_mtime_seconds",
                "Timestamp (mtime) of files read by FileSD. Timestamp is set at read time.",
                labels,
                secs,
            );
        }
        match parse_sd_file(&f, &text) {
            Ok(g) => groups.extend(g),
            Err(message) => errors.push(FileSdError::Invalid { path: f, message }),
        }
    }
    m.inc(READ_ERRORS, READ_ERRORS_HELP, vec![], errors.len() as f64);
    m.observe(
        "prometheus_sd_file_scan_duration_seconds",
        "The duration of the File-SD scan in seconds.",
        vec![],
        t0.elapsed().as_secs_f64(),
    );
    (groups, errors)
}

const READ_ERRORS: &str = "prometheus_sd_file_read_errors_total";
const READ_ERRORS_HELP: &str = "The number of File-SD read errors.";

/// A fingerprint of the files' names, sizes and modification times, to notice changes.
pub fn fingerprint(cfg: &FileSdConfig) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    sd_files(cfg)
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(&p).ok();
            let len = m.as_ref().map_or(0, |m| m.len());
            let mt = m.and_then(|m| m.modified().ok());
            (p, len, mt)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_files() {
        let j = parse_sd_file(
            Path::new("/x/t.json"),
            r#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}]"#,
        )
        .unwrap();
        assert_eq!(j.len(), 1);
        assert_eq!(j[0].targets[1]["__address__"], "b:2");
        assert_eq!(j[0].labels["env"], "prod");
        assert_eq!(j[0].labels["__meta_filepath"], "/x/t.json");
        let y = parse_sd_file(Path::new("t.yml"), "- targets: ['c:3']\n").unwrap();
        assert_eq!(y[0].targets[0]["__address__"], "c:3");
        assert!(parse_sd_file(Path::new("t.yml"), "").unwrap().is_empty());
        let e = parse_sd_file(
            Path::new("t.json"),
            r#"[{"targets": ["a:1"], "lables": {}}]"#,
        )
        .unwrap_err();
        assert!(e.contains("lables"), "{e}");
        let e = parse_sd_file(Path::new("t.txt"), "").unwrap_err();
        assert!(e.contains("\"txt\""), "{e}");
        let e =
            parse_sd_file(Path::new("t.json"), r#"[{"targets": ["http://a:1/x"]}]"#).unwrap_err();
        assert!(e.contains("http://a:1/x"), "{e}");
    }

    #[test]
    fn read_errors_and_scans_are_counted() {
        let dir = std::env::temp_dir().join(format!("promterm-filesd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("good.json"), r#"[{"targets": ["a:1"]}]"#).unwrap();
        std::fs::write(dir.join("bad.json"), "[{").unwrap();
        let m = sd_metrics();
        let errors0 = m.value(READ_ERRORS, &[]).unwrap_or(0.0);
        let cfg = FileSdConfig {
            files: vec![format!("{}/*.json", dir.display())],
            refresh_interval: crate::config::Duration::from_secs(60),
        };
        let (groups, errors) = read_file_sd(&cfg);
        assert_eq!(groups.len(), 1);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("bad.json"), "{}", errors[0]);
        assert!(m.value(READ_ERRORS, &[]).unwrap_or(0.0) - errors0 >= 1.0);
        let good = dir.join("good.json").display().to_string();
        let mtime = m.value("prometheus_sd_file_mtime_seconds", &[("filename", &good)]);
        assert!(mtime.is_some_and(|t| t > 1.6e9), "{mtime:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
