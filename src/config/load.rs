//! Loading a config file: YAML parsing, defaults, cross-field validation, relative paths, and
//! errors that say which file, which line, which field and which value.
//!
//! serde_yaml reports a line for syntax errors, unknown keys, bad durations and relabel mistakes
//! (those are checked while deserializing). Checks that need the whole file (duplicate jobs,
//! timeout versus interval, ...) run afterwards and point at the line of the job or section.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{
    ByteSize, Config, Duration, FileSdConfig, ScrapeConfig, SdConfigsMut, StaticConfig,
    StorageConfig, DEFAULT_BODY_SIZE_LIMIT, DEFAULT_EVALUATION_INTERVAL, DEFAULT_SCRAPE_INTERVAL,
    DEFAULT_SCRAPE_TIMEOUT,
};
use crate::model::{is_valid_label_name, NameValidation};

/// A config file that could not be read or is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file at fault (the main config or one it includes).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{}:{}: {}", self.file, l, c, self.message),
            (Some(l), None) => write!(f, "{}:{}: {}", self.file, l, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// What `promterm check config` reports about a valid file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub jobs: usize,
    pub static_targets: usize,
    pub file_sd_configs: usize,
    pub rule_files: usize,
    pub alertmanagers: usize,
    pub remote_writes: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "{}, {}",
            plural(self.jobs, "job", "jobs"),
            plural(self.static_targets, "static target", "static targets"),
        )?;
        if self.file_sd_configs > 0 {
            write!(f, " (+{} file_sd)", self.file_sd_configs)?;
        }
        write!(
            f,
            ", {}, {}, {}",
            plural(self.rule_files, "rule file", "rule files"),
            plural(self.alertmanagers, "alertmanager", "alertmanagers"),
            plural(self.remote_writes, "remote write", "remote writes"),
        )
    }
}

/// The shape of a file named by `scrape_config_files`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScrapeConfigFile {
    #[serde(default)]
    scrape_configs: Vec<Option<ScrapeConfig>>,
}

/// Where a problem is: which file, and its text for finding lines.
pub(super) struct Source<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
}

impl Source<'_> {
    pub(super) fn err(&self, line: Option<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_string(),
            line,
            column: None,
            message: message.into(),
        }
    }

    pub(super) fn yaml_err(&self, e: serde_yaml::Error) -> ConfigError {
        let loc = e.location();
        let mut message = e.to_string();
        if let Some(loc) = &loc {
            let suffix = format!(" at line {} column {}", loc.line(), loc.column());
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message = stripped.to_string();
            }
        }
        ConfigError {
            file: self.file.to_string(),
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            message: suggest_field(&message).unwrap_or(message),
        }
    }

    /// The line of the `nth` (0-based) `key: value` entry, value optionally quoted.
    pub(super) fn line_of(&self, key: &str, value: &str, nth: usize) -> Option<usize> {
        self.text
            .lines()
            .enumerate()
            .filter(|(_, line)| {
                let l = line.trim_start().trim_start_matches("- ").trim_start();
                let Some(rest) = l.strip_prefix(key).and_then(|r| r.strip_prefix(':')) else {
                    return false;
                };
                let v = rest.split(" #").next().unwrap_or("").trim();
                v.trim_matches(|c| c == '"' || c == '\'') == value
            })
            .nth(nth)
            .map(|(i, _)| i + 1)
    }

    /// The first line whose key (after indentation, a list dash and optional quotes) is `key`.
    pub(super) fn key_line(&self, key: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|l| {
                let l = l.trim_start().trim_start_matches("- ").trim_start();
                [
                    format!("{key}:"),
                    format!("\"{key}\":"),
                    format!("'{key}':"),
                ]
                .iter()
                .any(|k| l.starts_with(k.as_str()))
            })
            .map(|i| i + 1)
    }

    /// The line of a top-level section such as `global:`.
    fn section_line(&self, key: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|l| l.strip_prefix(key).is_some_and(|r| r.starts_with(':')))
            .map(|i| i + 1)
    }
}

pub(super) fn parse_yaml<'de, T: Deserialize<'de> + Default>(
    src: &Source<'de>,
) -> Result<T, ConfigError> {
    // An empty document (or one holding only comments) is the default config, as in Prometheus.
    let v: Option<T> = serde_yaml::from_str(src.text).map_err(|e| src.yaml_err(e))?;
    Ok(v.unwrap_or_default())
}

impl Config {
    /// Reads, parses and validates a config file. Relative paths inside it (rule files,
    /// credential files, file_sd files, scrape_config_files) are resolved against its directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: None,
            column: None,
            message: format!("cannot read config file: {e}"),
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates config text as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let src = Source { file: &file, text };
        let dir = path.parent().unwrap_or(Path::new(""));
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let mut cfg: Config = parse_yaml(&src)?;
        cfg.finish(&src, dir)?;
        Ok(cfg)
    }

    /// The embedded config used by `promterm serve` without `--config`: promterm scrapes its
    /// own `/metrics` at `self_addr` and its built-in host collector (`/host/metrics`, with
    /// node_exporter's metric names) as job `node`.
    pub fn embedded_default(self_addr: &str) -> Config {
        let text = format!(
            "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n\
             scrape_configs:\n\
             \x20 - job_name: promterm\n    static_configs:\n      - targets: [{self_addr:?}]\n\
             \x20 - job_name: node\n    metrics_path: /host/metrics\n    static_configs:\n      - targets: [{self_addr:?}]\n"
        );
        Config::parse(&text, Path::new("<embedded default>"))
            .expect("the embedded default config is valid for any listen address")
    }

    /// The exemplar buffer size (`storage.exemplars.max_exemplars`, default 100000).
    pub fn max_exemplars(&self) -> usize {
        self.storage.as_ref().map_or_else(
            || StorageConfig::default().max_exemplars(),
            |s| s.max_exemplars(),
        )
    }

    /// Notes about accepted settings that promterm does not act on yet.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.global.query_log_file.is_some() {
            w.push(
                "global.query_log_file is accepted but ignored: promterm has no query log yet"
                    .to_string(),
            );
        }
        if self.global.scrape_failure_log_file.is_some() {
            w.push("global.scrape_failure_log_file is accepted but ignored".to_string());
        }
        for (key, present) in [
            ("remote_read", self.remote_read.is_some()),
            ("tracing", self.tracing.is_some()),
            ("runtime", self.runtime.is_some()),
        ] {
            if present {
                w.push(format!("the {key} section is accepted but ignored"));
            }
        }
        for key in self.storage.iter().flat_map(|s| s.ignored()) {
            w.push(format!("{key} is accepted but ignored"));
        }
        w
    }

    /// Counts for `promterm check config`.
    pub fn summary(&self) -> Summary {
        Summary {
            jobs: self.jobs().count(),
            static_targets: self
                .jobs()
                .flat_map(|j| &j.static_configs)
                .map(|s| s.targets.len())
                .sum(),
            file_sd_configs: self.jobs().map(|j| j.file_sd_configs.len()).sum(),
            rule_files: self.rule_file_paths().len(),
            alertmanagers: self
                .alerting
                .alertmanagers
                .iter()
                .flat_map(|a| &a.static_configs)
                .map(|s| s.targets.len())
                .sum(),
            remote_writes: self.remote_writes().count(),
        }
    }

    /// The rule files the `rule_files` globs match now, sorted and without duplicates.
    pub fn rule_file_paths(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .rule_files
            .iter()
            .filter_map(|p| glob::glob(p).ok())
            .flat_map(|paths| paths.filter_map(Result::ok))
            .filter(|p| p.is_file())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn finish(&mut self, src: &Source, dir: &Path) -> Result<(), ConfigError> {
        let scheme: NameValidation = self.global.metric_name_validation_scheme.into();
        self.finish_global(src, scheme)?;
        self.otlp
            .validate(scheme == NameValidation::Utf8)
            .map_err(|e| src.err(src.section_line("otlp"), format!("otlp: {e}")))?;

        for pattern in &mut self.rule_files {
            *pattern = resolve_glob(src, dir, pattern, "rule file")?;
        }

        self.check_jobs(src, dir, 0)?;
        for pattern in std::mem::take(&mut self.scrape_config_files) {
            let resolved = resolve_glob(src, dir, &pattern, "scrape config file")?;
            let mut files: Vec<PathBuf> = glob::glob(&resolved)
                .map_err(|e| {
                    src.err(
                        None,
                        format!("invalid scrape_config_files pattern {pattern:?}: {e}"),
                    )
                })?
                .filter_map(Result::ok)
                .collect();
            files.sort();
            for f in files {
                let file = f.display().to_string();
                let text = std::fs::read_to_string(&f).map_err(|e| ConfigError {
                    file: file.clone(),
                    line: None,
                    column: None,
                    message: format!("cannot read scrape config file: {e}"),
                })?;
                let inc = Source {
                    file: &file,
                    text: &text,
                };
                let parsed: ScrapeConfigFile = parse_yaml(&inc)?;
                let start = self.scrape_configs.len();
                self.scrape_configs.extend(parsed.scrape_configs);
                let inc_dir = f.parent().unwrap_or(dir).to_path_buf();
                self.check_jobs(&inc, &inc_dir, start)?;
            }
            self.scrape_config_files.push(resolved);
        }

        self.check_alerting(src, dir)?;
        self.check_remote_write(src, dir)?;
        Ok(())
    }

    fn finish_global(&mut self, src: &Source, scheme: NameValidation) -> Result<(), ConfigError> {
        let line = src.section_line("global");
        let g = &mut self.global;
        if g.scrape_interval.is_zero() {
            g.scrape_interval = DEFAULT_SCRAPE_INTERVAL;
        }
        if g.scrape_timeout.is_zero() {
            g.scrape_timeout = DEFAULT_SCRAPE_TIMEOUT.min(g.scrape_interval);
        }
        if g.scrape_timeout > g.scrape_interval {
            return Err(src.err(
                line,
                format!(
                    "global: scrape_timeout {} is greater than scrape_interval {}",
                    g.scrape_timeout, g.scrape_interval
                ),
            ));
        }
        if g.evaluation_interval.is_zero() {
            g.evaluation_interval = DEFAULT_EVALUATION_INTERVAL;
        }
        if let Some(list) = &g.scrape_protocols {
            if list.is_empty() {
                return Err(src.err(line, "global: scrape_protocols cannot be empty"));
            }
            let mut seen = HashSet::new();
            if let Some(p) = list.iter().find(|p| !seen.insert(**p)) {
                return Err(src.err(
                    line,
                    format!("global: duplicated protocol in scrape_protocols: {p:?}"),
                ));
            }
        }
        for (name, value) in &g.external_labels {
            let line = src.key_line(name).or(line);
            if !is_valid_label_name(name, scheme) || name.starts_with("__") {
                return Err(src.err(
                    line,
                    format!("global.external_labels: {name:?} is not a valid label name"),
                ));
            }
            if value.is_empty() {
                return Err(src.err(
                    line,
                    format!("global.external_labels: label {name:?} has an empty value"),
                ));
            }
        }
        Ok(())
    }

    /// Validates jobs from index `start` on (those read from `src`), filling in defaults.
    fn check_jobs(&mut self, src: &Source, dir: &Path, start: usize) -> Result<(), ConfigError> {
        let global = self.global.clone();
        let mut seen: HashSet<String> = self.scrape_configs[..start]
            .iter()
            .flatten()
            .map(|j| j.job_name.clone())
            .collect();
        let mut occurrences: std::collections::HashMap<String, usize> = Default::default();
        for (i, slot) in self.scrape_configs.iter_mut().enumerate().skip(start) {
            let Some(job) = slot else {
                return Err(src.err(
                    src.section_line("scrape_configs"),
                    format!(
                        "scrape_configs[{}]: empty or null scrape config section",
                        i - start
                    ),
                ));
            };
            let nth = occurrences.entry(job.job_name.clone()).or_insert(0);
            let line = src.line_of("job_name", &job.job_name, *nth);
            *nth += 1;
            let at = format!("scrape_configs[{}] (job {:?})", i - start, job.job_name);
            let fail = |msg: String| src.err(line, format!("{at}: {msg}"));
            if job.job_name.is_empty() {
                return Err(src.err(
                    line,
                    format!("scrape_configs[{}]: job_name is empty", i - start),
                ));
            }
            if !seen.insert(job.job_name.clone()) {
                return Err(fail(format!(
                    "found multiple scrape configs with job name {:?}",
                    job.job_name
                )));
            }
            job.metric_name_validation_scheme = job
                .metric_name_validation_scheme
                .or(global.metric_name_validation_scheme);
            let scheme: NameValidation = job.metric_name_validation_scheme.into();
            if job.scrape_interval.is_zero() {
                job.scrape_interval = global.scrape_interval;
            }
            if job.scrape_timeout.is_zero() {
                job.scrape_timeout = global.scrape_timeout.min(job.scrape_interval);
            }
            if job.scrape_timeout > job.scrape_interval {
                return Err(fail(format!(
                    "scrape_timeout {} is greater than scrape_interval {}",
                    job.scrape_timeout, job.scrape_interval
                )));
            }
            if !job.metrics_path.starts_with('/') {
                return Err(fail(format!(
                    "metrics_path {:?} must start with \"/\"",
                    job.metrics_path
                )));
            }
            if job.scrape_protocols.is_empty() {
                if let Some(g) = &global.scrape_protocols {
                    job.scrape_protocols = g.clone();
                }
            }
            job.scrape_native_histograms = job
                .scrape_native_histograms
                .or(global.scrape_native_histograms);
            job.always_scrape_classic_histograms = job
                .always_scrape_classic_histograms
                .or(Some(global.always_scrape_classic_histograms));
            job.convert_classic_histograms_to_nhcb = job
                .convert_classic_histograms_to_nhcb
                .or(Some(global.convert_classic_histograms_to_nhcb));
            if job.native_histogram_min_bucket_factor.is_nan()
                || job.native_histogram_min_bucket_factor < 0.0
            {
                return Err(fail(format!(
                    "native_histogram_min_bucket_factor must not be negative, got {}",
                    job.native_histogram_min_bucket_factor
                )));
            }
            let mut protocols = HashSet::new();
            for p in &job.scrape_protocols {
                if !protocols.insert(*p) {
                    return Err(fail(format!(
                        "duplicated protocol in scrape_protocols: {p:?}"
                    )));
                }
            }
            job.sample_limit = job.sample_limit.or(Some(global.sample_limit));
            job.body_size_limit = job
                .body_size_limit
                .or(global.body_size_limit)
                .or(Some(ByteSize(DEFAULT_BODY_SIZE_LIMIT)));
            job.label_limit = job.label_limit.or(Some(global.label_limit));
            job.label_name_length_limit = job
                .label_name_length_limit
                .or(Some(global.label_name_length_limit));
            job.label_value_length_limit = job
                .label_value_length_limit
                .or(Some(global.label_value_length_limit));
            job.target_limit = job.target_limit.or(Some(global.target_limit));
            job.keep_dropped_targets = job
                .keep_dropped_targets
                .or(Some(global.keep_dropped_targets));
            check_static_configs(&job.static_configs, scheme).map_err(&fail)?;
            check_sd_configs(job.sd_configs_mut(), dir).map_err(&fail)?;
            job.check_http_client(dir).map_err(&fail)?;
        }
        Ok(())
    }

    fn check_alerting(&mut self, src: &Source, dir: &Path) -> Result<(), ConfigError> {
        let line = src.section_line("alerting");
        for (i, am) in self.alerting.alertmanagers.iter_mut().enumerate() {
            let fail = |msg: String| src.err(line, format!("alerting.alertmanagers[{i}]: {msg}"));
            check_static_configs(&am.static_configs, NameValidation::Legacy).map_err(&fail)?;
            check_sd_configs(am.sd_configs_mut(), dir).map_err(&fail)?;
            if !am.path_prefix.starts_with('/') {
                am.path_prefix.insert(0, '/');
            }
            am.check_http_client(dir).map_err(&fail)?;
        }
        Ok(())
    }

    fn check_remote_write(&mut self, src: &Source, dir: &Path) -> Result<(), ConfigError> {
        let mut names = HashSet::new();
        for (i, slot) in self.remote_write.iter_mut().enumerate() {
            let Some(rw) = slot else {
                return Err(src.err(
                    src.section_line("remote_write"),
                    format!("remote_write[{i}]: empty or null remote write config section"),
                ));
            };
            let line = if rw.url.is_empty() {
                src.section_line("remote_write")
            } else {
                src.line_of("url", &rw.url, 0)
            };
            let fail = |msg: String| src.err(line, format!("remote_write[{i}]: {msg}"));
            if rw.url.is_empty() {
                return Err(fail("url for remote_write is empty".into()));
            }
            let u = url::Url::parse(&rw.url)
                .map_err(|e| fail(format!("invalid url {:?}: {e}", rw.url)))?;
            if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
                return Err(fail(format!(
                    "invalid url {:?}: want an http:// or https:// URL with a host",
                    rw.url
                )));
            }
            if let Some(name) = &rw.name {
                if !names.insert(name.clone()) {
                    return Err(fail(format!(
                        "found multiple remote write configs with name {name:?}"
                    )));
                }
            }
            for header in rw.headers.keys() {
                if RESERVED_HEADERS
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(header))
                {
                    return Err(fail(format!(
                        "header {header:?} is reserved and must not be changed"
                    )));
                }
            }
            let q = &rw.queue_config;
            if q.max_shards == 0 || q.min_shards == 0 || q.min_shards > q.max_shards {
                return Err(fail(format!(
                    "queue_config: need 1 <= min_shards ({}) <= max_shards ({})",
                    q.min_shards, q.max_shards
                )));
            }
            if q.capacity == 0 || q.max_samples_per_send == 0 {
                return Err(fail(format!(
                    "queue_config: capacity ({}) and max_samples_per_send ({}) must be positive",
                    q.capacity, q.max_samples_per_send
                )));
            }
            if q.min_backoff > q.max_backoff {
                return Err(fail(format!(
                    "queue_config: min_backoff {} is greater than max_backoff {}",
                    q.min_backoff, q.max_backoff
                )));
            }
            rw.check_http_client(dir).map_err(&fail)?;
        }
        Ok(())
    }
}

/// Rewrites serde's "unknown field `x`, expected one of `a`, `b`, ..." into a short hint when one
/// of the known fields is a likely typo of the unknown one.
fn suggest_field(message: &str) -> Option<String> {
    let (head, list) = message.split_once(", expected one of ")?;
    let unknown = head.rsplit_once("unknown field `")?.1.strip_suffix('`')?;
    let best = list
        .split(", ")
        .map(|f| f.trim_matches('`'))
        .map(|f| (edit_distance(unknown, f), f))
        .min()?;
    (best.0 <= 2 || (best.0 <= 3 && unknown.len() > 8))
        .then(|| format!("{head} (did you mean `{}`?)", best.1))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Headers a remote-write config may not override (Prometheus's `reservedHeaders`).
const RESERVED_HEADERS: &[&str] = &[
    "Authorization",
    "Host",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "User-Agent",
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Www-Authenticate",
    "Accept-Encoding",
    "X-Prometheus-Remote-Write-Version",
    "X-Prometheus-Remote-Read-Version",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-Content-Sha256",
];

fn check_static_configs(groups: &[StaticConfig], scheme: NameValidation) -> Result<(), String> {
    for (i, g) in groups.iter().enumerate() {
        for t in &g.targets {
            check_target(t).map_err(|e| format!("static_configs[{i}]: {e}"))?;
        }
        for name in g.labels.keys() {
            if !is_valid_label_name(name, scheme) {
                return Err(format!(
                    "static_configs[{i}].labels: {name:?} is not a valid label name"
                ));
            }
        }
    }
    Ok(())
}

/// A target is `host`, `host:port` or `[v6]:port`; a scheme or path belongs elsewhere.
fn check_target(t: &str) -> Result<(), String> {
    if t.is_empty() {
        return Err("empty target address".into());
    }
    if t.contains("://") {
        return Err(format!(
            "target {t:?} must be host:port without a scheme (set `scheme:` on the job instead)"
        ));
    }
    if t.contains('/') {
        return Err(format!(
            "target {t:?} must be host:port without a path (set `metrics_path:` instead)"
        ));
    }
    if t.chars().any(char::is_whitespace) {
        return Err(format!("target {t:?} contains whitespace"));
    }
    if let Some((_, port)) = t.rsplit_once(':') {
        let bracketed_v6 = t.starts_with('[');
        let bare_v6 = !bracketed_v6 && t.matches(':').count() > 1;
        if !bare_v6 && (!bracketed_v6 || t.contains("]:")) && port.parse::<u16>().is_err() {
            return Err(format!("target {t:?} has an invalid port {port:?}"));
        }
    }
    Ok(())
}

/// Checks and completes the discovery configs of a job or an `alertmanagers` entry (file SD
/// and every mechanism; relative credential files resolved against `dir`); the error names
/// the list and index (`dns_sd_configs[0]: ...`).
fn check_sd_configs(sd: SdConfigsMut<'_>, dir: &Path) -> Result<(), String> {
    check_file_sd(sd.file_sd_configs, dir)?;
    fn at(list: &'static str, i: usize) -> impl Fn(String) -> String {
        move |e| format!("{list}[{i}]: {e}")
    }
    for (i, c) in sd.kubernetes_sd_configs.iter_mut().enumerate() {
        c.validate(dir).map_err(at("kubernetes_sd_configs", i))?;
    }
    for (i, c) in sd.http_sd_configs.iter_mut().enumerate() {
        c.check(dir).map_err(at("http_sd_configs", i))?;
    }
    for (i, c) in sd.docker_sd_configs.iter_mut().enumerate() {
        c.check(dir).map_err(at("docker_sd_configs", i))?;
    }
    for (i, c) in sd.dns_sd_configs.iter().enumerate() {
        c.validate().map_err(at("dns_sd_configs", i))?;
    }
    for (i, c) in sd.consul_sd_configs.iter_mut().enumerate() {
        c.finish(dir).map_err(at("consul_sd_configs", i))?;
    }
    Ok(())
}

/// `file_sd_configs` paths must end in .json/.yml/.yaml with at most one `*` in the file name.
fn check_file_sd(cfgs: &mut [FileSdConfig], dir: &Path) -> Result<(), String> {
    for (i, c) in cfgs.iter_mut().enumerate() {
        if c.files.is_empty() {
            return Err(format!(
                "file_sd_configs[{i}]: file service discovery config must contain at least one path name"
            ));
        }
        if c.refresh_interval == Duration::ZERO {
            return Err(format!(
                "file_sd_configs[{i}]: refresh_interval must be positive"
            ));
        }
        for f in &mut c.files {
            let name = f.rsplit('/').next().unwrap_or(f);
            let dir_part = &f[..f.len() - name.len()];
            let ext_ok = [".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"]
                .iter()
                .any(|e| name.ends_with(e));
            if !ext_ok || dir_part.contains('*') || name.matches('*').count() > 1 {
                return Err(format!(
                    "file_sd_configs[{i}]: path name {f:?} is not valid for file discovery (want e.g. targets/*.json)"
                ));
            }
            if Path::new(f.as_str()).is_relative() {
                *f = dir.join(&*f).to_string_lossy().into_owned();
            }
        }
    }
    Ok(())
}

/// Checks a glob pattern and makes it relative to the config file's directory.
fn resolve_glob(
    src: &Source,
    dir: &Path,
    pattern: &str,
    what: &str,
) -> Result<String, ConfigError> {
    let line = src
        .text
        .lines()
        .position(|l| !pattern.is_empty() && l.contains(pattern))
        .map(|i| i + 1);
    if pattern.is_empty() {
        return Err(src.err(line, format!("invalid {what} path: empty pattern")));
    }
    glob::Pattern::new(pattern)
        .map_err(|e| src.err(line, format!("invalid {what} path {pattern:?}: {e}")))?;
    Ok(if Path::new(pattern).is_relative() {
        dir.join(pattern).to_string_lossy().into_owned()
    } else {
        pattern.to_string()
    })
}
