//! `promterm query`, `promterm series`, `promterm labels`: the HTTP API from the command line,
//! against promterm or any Prometheus-compatible server. Output as an aligned table (range
//! results with a sparkline per series), the API's JSON exactly as received, or CSV. A native
//! histogram sample shows as its summary (`client::histogram`), its count in sparklines, and
//! as `count,sum` columns in CSV.
//! Exit codes: 0 success, 1 query error (message on stderr), 2 usage error, 3 server
//! unreachable. An empty answer to `query` is explained on stderr when the reason is known
//! (`client::explain`); stdout and the exit code stay as they are. `query --exemplars` prints
//! the exemplars of the query's series instead (`/api/v1/query_exemplars`); `query --stats`
//! adds the query statistics (`client::stats`). Uses `client`, and
//! `tui::format` for the sparkline.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use serde_json::Value;

use crate::client::histogram::HistogramJson;
use crate::client::{ClientError, Http, HttpOptions, Source};
use crate::config::Duration;
use crate::tui::format::sparkline;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
    Csv,
}

/// Which server, and how to reach it (shared by `query`, `series`, `labels` and `tui`).
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Server URL (any Prometheus-compatible API).
    #[arg(long, env = "PROMTERM_URL", default_value = "http://127.0.0.1:9090")]
    pub url: String,
    /// Extra request header, `Name: value` (repeatable).
    #[arg(long = "header", value_name = "K:V")]
    pub headers: Vec<String>,
    /// Send `Authorization: Bearer <contents of FILE>`.
    #[arg(long, value_name = "FILE")]
    pub bearer_token_file: Option<PathBuf>,
    /// Basic auth as USER:PASSWORD.
    #[arg(long, value_name = "USER:PASSWORD")]
    pub basic_auth: Option<String>,
    /// CA certificate (PEM) to verify the server with.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the server's TLS certificate.
    #[arg(long)]
    pub insecure: bool,
    /// Give up after this long.
    #[arg(long, value_name = "DUR", default_value = "1m")]
    pub timeout: Duration,
}

/// Where and how to connect, and how to print.
#[derive(Debug, clap::Args)]
pub struct ConnArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format (default: table on a terminal, json otherwise).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Output>,
    /// Same as `-o json`: the API's JSON exactly as the server sent it.
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Evaluation time for an instant query (RFC 3339, unix seconds, `now`, or `-1h`).
    #[arg(long, value_name = "T", allow_hyphen_values = true, conflicts_with_all = ["start", "end"])]
    pub time: Option<String>,
    /// Range query start (RFC 3339, unix seconds, `now`, or relative like `-1h`).
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    pub start: Option<String>,
    /// Range query end (default now).
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    pub end: Option<String>,
    /// Range query resolution (seconds or a duration; default: about 250 points).
    #[arg(long, value_name = "S", requires = "start")]
    pub step: Option<String>,
    /// Print the exemplars of the series the query selects instead of its result
    /// (`/api/v1/query_exemplars`): those between --start and --end for a range query, those
    /// of the 5 minutes up to --time (default now) for an instant one. Table: series, time,
    /// value and the exemplar's labels (trace_id, span_id, ...); `-o json`: the API's JSON as
    /// sent; `-o csv`: `series,timestamp,value,labels`.
    #[arg(long)]
    pub exemplars: bool,
    /// Also print the query statistics (asks the server for `stats=all`: time per phase,
    /// samples queried, peak samples held): a few lines on stderr after a table or CSV, the
    /// server's `data.stats` inside the JSON with `-o json`.
    #[arg(long, conflicts_with = "exemplars")]
    pub stats: bool,
    /// The PromQL expression.
    pub expr: String,
}

#[derive(Debug, clap::Args)]
pub struct SeriesArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Series selector (repeatable).
    #[arg(long = "match", value_name = "SELECTOR", required = true)]
    pub matches: Vec<String>,
    /// Only series with samples after this time.
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    pub start: Option<String>,
    /// Only series with samples before this time.
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    pub end: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct LabelsArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Only series matching this selector (repeatable).
    #[arg(long = "match", value_name = "SELECTOR")]
    pub matches: Vec<String>,
    /// List this label's values instead of label names.
    pub name: Option<String>,
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// RFC 3339, unix seconds, `now`, `now-1h`/`now+5m`, or `-1h`/`+5m` (relative to now).
pub fn parse_cli_time(s: &str, now: f64) -> Result<f64, String> {
    let t = s.trim();
    if t == "now" {
        return Ok(now);
    }
    let rel = t.strip_prefix("now").unwrap_or(t);
    for (sign, f) in [('-', -1.0), ('+', 1.0)] {
        if let Some(d) = rel.strip_prefix(sign) {
            if let Ok(d) = d.parse::<Duration>() {
                return Ok(now + f * d.as_millis() as f64 / 1000.0);
            }
        }
    }
    crate::model::parse_time(t)
        .map(|ms| ms as f64 / 1000.0)
        .map_err(|_| format!("invalid time {s:?}: use RFC 3339, unix seconds, now, or -1h"))
}

fn parse_step(s: &str) -> Result<f64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if f > 0.0 && f.is_finite() {
            return Ok(f);
        }
    }
    match s.parse::<Duration>() {
        Ok(d) if !d.is_zero() => Ok(d.as_millis() as f64 / 1000.0),
        _ => Err(format!(
            "invalid step {s:?}: use seconds or a duration like 1m"
        )),
    }
}

fn usage(msg: String) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// The HTTP client for `--url` and the auth flags.
pub fn client(c: &ServerArgs) -> Result<Http, String> {
    let mut headers = Vec::new();
    for h in &c.headers {
        let Some((k, v)) = h.split_once(':') else {
            return Err(format!("invalid --header {h:?}: use Name: value"));
        };
        headers.push((k.to_string(), v.to_string()));
    }
    let bearer_token = match &c.bearer_token_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| format!("cannot read {:?}: {e}", f.display()))?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    let basic_auth = match &c.basic_auth {
        Some(s) => match s.split_once(':') {
            Some((u, p)) => Some((u.to_string(), p.to_string())),
            None => return Err("invalid --basic-auth: use USER:PASSWORD".into()),
        },
        None => None,
    };
    Http::new(&HttpOptions {
        url: c.url.clone(),
        headers,
        bearer_token,
        basic_auth,
        ca_file: c.ca_file.clone(),
        insecure: c.insecure,
        timeout: Some(c.timeout.as_std()).filter(|d| !d.is_zero()),
    })
    .map_err(|e| e.to_string())
}

fn output(c: &ConnArgs) -> Output {
    if c.json {
        return Output::Json;
    }
    c.output.unwrap_or(if std::io::stdout().is_terminal() {
        Output::Table
    } else {
        Output::Json
    })
}

/// A query whose empty answer is explained: its text and evaluation time (the end of a range;
/// `None` for the server's now).
type Explain = Option<(String, Option<f64>)>;

/// What the answer holds, for the table and CSV outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A query result, series, label names or values (told apart by their shape).
    Result,
    /// `/api/v1/query_exemplars`.
    Exemplars,
}

/// Seconds before an instant query's time whose exemplars `--exemplars` prints (the lookback).
const EXEMPLAR_LOOKBACK: f64 = 300.0;

fn run<F>(c: &ConnArgs, explain: Explain, kind: Kind, stats: bool, f: F) -> ExitCode
where
    F: FnOnce(
        Http,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<crate::client::Answer, ClientError>>>,
    >,
{
    let http = match client(&c.server) {
        Ok(h) => h,
        Err(e) => return usage(e),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let source = http.clone();
    match rt.block_on(f(http)) {
        Ok(a) => {
            let fmt = output(c);
            if fmt != Output::Json {
                for w in a.warnings.iter().chain(&a.infos) {
                    eprintln!("{w}");
                }
            }
            let text = match fmt {
                Output::Json => {
                    let mut r = a.raw;
                    if !r.ends_with('\n') {
                        r.push('\n');
                    }
                    r
                }
                Output::Table if kind == Kind::Exemplars => exemplar_table(&a.data),
                Output::Csv if kind == Kind::Exemplars => exemplar_csv(&a.data),
                Output::Table => table(&a.data),
                Output::Csv => csv(&a.data),
            };
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            drop(out);
            if stats && fmt != Output::Json {
                match crate::client::stats::Stats::from_data(&a.data) {
                    Some(s) => s.lines().iter().for_each(|l| eprintln!("{l}")),
                    None => eprintln!("stats: the server gave no query statistics"),
                }
            }
            // After the answer is out: the reason takes a few more calls.
            if let Some((expr, at)) = &explain {
                if crate::client::explain::is_empty_result(&a.data) {
                    let why =
                        rt.block_on(crate::client::explain::explain_empty(&source, expr, *at));
                    for line in why {
                        eprintln!("{line}");
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(ClientError::Unreachable { url, msg }) => {
            eprintln!("error: cannot reach {url}: {msg}");
            ExitCode::from(3)
        }
        Err(e @ ClientError::Setup(_)) => usage(e.to_string()),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

pub fn query(a: QueryArgs) -> ExitCode {
    let now = now_s();
    if a.time.is_none() && a.start.is_none() && a.end.is_some() {
        return usage("--end needs --start".into());
    }
    let expr = a.expr.clone();
    let stats = a.stats;
    if a.exemplars {
        let range = if a.start.is_some() {
            time_range(&a, now).map(|(s, e, _)| (s, e))
        } else {
            a.time
                .as_deref()
                .map(|t| parse_cli_time(t, now))
                .transpose()
                .map(|t| t.unwrap_or(now))
                .map(|t| (t - EXEMPLAR_LOOKBACK, t))
        };
        let (start, end) = match range {
            Ok(r) => r,
            Err(e) => return usage(e),
        };
        return run(&a.conn, None, Kind::Exemplars, false, move |h| {
            Box::pin(async move { h.query_exemplars(&expr, Some(start), Some(end)).await })
        });
    }
    match &a.start {
        None => {
            let time = match a
                .time
                .as_deref()
                .map(|t| parse_cli_time(t, now))
                .transpose()
            {
                Ok(t) => t,
                Err(e) => return usage(e),
            };
            run(
                &a.conn,
                Some((expr.clone(), time)),
                Kind::Result,
                stats,
                move |h| Box::pin(async move { h.query_with(&expr, time, stats).await }),
            )
        }
        Some(_) => {
            let (start, end, step) = match time_range(&a, now) {
                Ok(r) => r,
                Err(e) => return usage(e),
            };
            run(
                &a.conn,
                Some((expr.clone(), Some(end))),
                Kind::Result,
                stats,
                move |h| {
                    Box::pin(
                        async move { h.query_range_with(&expr, start, end, step, stats).await },
                    )
                },
            )
        }
    }
}

/// A range query's start, end (default now) and step (default: about 250 points).
fn time_range(a: &QueryArgs, now: f64) -> Result<(f64, f64, f64), String> {
    let start = parse_cli_time(a.start.as_deref().unwrap_or("now"), now)?;
    let end = a
        .end
        .as_deref()
        .map(|t| parse_cli_time(t, now))
        .transpose()?
        .unwrap_or(now);
    if end < start {
        return Err("--end is before --start".into());
    }
    let step = match a.step.as_deref().map(parse_step).transpose()? {
        Some(s) => s,
        None => ((end - start) / 250.0).ceil().max(1.0),
    };
    Ok((start, end, step))
}

pub fn series(a: SeriesArgs) -> ExitCode {
    let now = now_s();
    let t = |s: &Option<String>| s.as_deref().map(|x| parse_cli_time(x, now)).transpose();
    let (start, end) = match (t(&a.start), t(&a.end)) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return usage(e),
    };
    let m = a.matches.clone();
    run(&a.conn, None, Kind::Result, false, move |h| {
        Box::pin(async move { h.series(&m, start, end).await })
    })
}

pub fn labels(a: LabelsArgs) -> ExitCode {
    let m = a.matches.clone();
    let name = a.name.clone();
    run(&a.conn, None, Kind::Result, false, move |h| {
        Box::pin(async move { h.labels(name.as_deref(), &m).await })
    })
}

/// `name{a="b", ...}` as Prometheus prints a metric.
fn metric_text(m: &Value) -> String {
    let Some(o) = m.as_object() else {
        return String::new();
    };
    let name = o.get("__name__").and_then(Value::as_str).unwrap_or("");
    let labels: Vec<String> = o
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| {
            format!(
                "{k}={}",
                serde_json::to_string(v.as_str().unwrap_or("")).unwrap_or_default()
            )
        })
        .collect();
    if labels.is_empty() && !name.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", labels.join(", "))
    }
}

fn align(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i + 1 == r.len() {
                    s.clone()
                } else {
                    format!("{s:<w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn value_of(p: &Value) -> (String, String) {
    (
        p[0].as_f64()
            .map(crate::client::fmt_time)
            .unwrap_or_default(),
        p[1].as_str().unwrap_or("").to_string(),
    )
}

/// One point of a result series: a float (as sent) or a native histogram.
enum Point {
    Float(String),
    Histogram(HistogramJson),
}

impl Point {
    /// The value column: the float as sent, or the histogram's summary.
    fn shown(&self) -> String {
        match self {
            Point::Float(v) => v.clone(),
            Point::Histogram(h) => h.summary(),
        }
    }

    /// A float's value, or a histogram's count (what the trend plots).
    fn plotted(&self) -> f64 {
        match self {
            Point::Float(v) => v.parse::<f64>().unwrap_or(f64::NAN),
            Point::Histogram(h) => h.count,
        }
    }
}

/// A result series' points, oldest first: `value` or `histogram` of a vector sample, or
/// `values` and `histograms` of a matrix series merged by time.
fn points(s: &Value) -> Vec<(f64, Point)> {
    let float = |p: &Value| {
        (
            p[0].as_f64().unwrap_or(f64::NAN),
            Point::Float(value_of(p).1),
        )
    };
    let hist = |p: &Value| {
        HistogramJson::parse(&p[1])
            .map(|h| (p[0].as_f64().unwrap_or(f64::NAN), Point::Histogram(h)))
    };
    let mut out: Vec<(f64, Point)> = Vec::new();
    if s.get("value").is_some() {
        out.push(float(&s["value"]));
    }
    out.extend(s.get("histogram").and_then(hist));
    out.extend(s["values"].as_array().into_iter().flatten().map(float));
    out.extend(
        s["histograms"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(hist),
    );
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// The result as aligned columns.
pub fn table(data: &Value) -> String {
    let rows: Vec<Vec<String>> = match data["resultType"].as_str() {
        Some("vector") => {
            let mut rows = vec![vec!["METRIC".to_string(), "VALUE".into(), "TIME".into()]];
            for s in data["result"].as_array().into_iter().flatten() {
                let (t, v) = match points(s).pop() {
                    Some((t, p)) => (crate::client::fmt_time(t), p.shown()),
                    None => Default::default(),
                };
                rows.push(vec![metric_text(&s["metric"]), v, t]);
            }
            rows
        }
        Some("matrix") => {
            let mut rows = vec![vec![
                "METRIC".to_string(),
                "LAST".into(),
                "MIN".into(),
                "MAX".into(),
                "POINTS".into(),
                "TREND".into(),
            ]];
            // A histogram point counts as its observation count (the trend plots it) and
            // shows as its summary when it is the last.
            for s in data["result"].as_array().into_iter().flatten() {
                let pts = points(s);
                let vals: Vec<f64> = pts.iter().map(|(_, p)| p.plotted()).collect();
                let fin = vals.iter().copied().filter(|v| !v.is_nan());
                let min = fin.clone().fold(f64::INFINITY, f64::min);
                let max = fin.fold(f64::NEG_INFINITY, f64::max);
                let fmt = |v: f64| {
                    if v.is_finite() {
                        crate::promql::value::format_float(v)
                    } else {
                        String::new()
                    }
                };
                rows.push(vec![
                    metric_text(&s["metric"]),
                    pts.last().map(|p| p.1.shown()).unwrap_or_default(),
                    fmt(min),
                    fmt(max),
                    pts.len().to_string(),
                    sparkline(&vals, 40),
                ]);
            }
            rows
        }
        Some("scalar") | Some("string") => {
            let (t, v) = value_of(&data["result"]);
            vec![vec!["VALUE".into(), "TIME".into()], vec![v, t]]
        }
        _ => match data.as_array() {
            // /api/v1/series: label sets; /api/v1/labels and values: strings.
            Some(items) => items
                .iter()
                .map(|x| match x.as_str() {
                    Some(s) => vec![s.to_string()],
                    None => vec![metric_text(x)],
                })
                .collect(),
            None => vec![vec![data.to_string()]],
        },
    };
    align(&rows)
}

/// An exemplar's labels as `{trace_id="…", span_id="…", …}`: the trace and span first, then
/// the rest as the server sent them.
fn exemplar_label_text(l: &Value) -> String {
    const FIRST: [&str; 2] = ["trace_id", "span_id"];
    let Some(o) = l.as_object() else {
        return "{}".into();
    };
    let quoted = |v: &Value| serde_json::to_string(v.as_str().unwrap_or("")).unwrap_or_default();
    let pairs: Vec<String> = FIRST
        .iter()
        .filter_map(|k| o.get(*k).map(|v| (*k, v)))
        .chain(
            o.iter()
                .filter(|(k, _)| !FIRST.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v)),
        )
        .map(|(k, v)| format!("{k}={}", quoted(v)))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// Each exemplar of a query_exemplars answer: series, time, value (as sent) and labels.
fn exemplar_rows(data: &Value) -> Vec<[String; 4]> {
    let mut rows = Vec::new();
    for s in data.as_array().into_iter().flatten() {
        let series = metric_text(&s["seriesLabels"]);
        for e in s["exemplars"].as_array().into_iter().flatten() {
            let time = match &e["timestamp"] {
                Value::String(t) => t.clone(),
                t => t.as_f64().map(crate::client::fmt_time).unwrap_or_default(),
            };
            let value = match &e["value"] {
                Value::String(v) => v.clone(),
                v => v.to_string(),
            };
            rows.push([
                series.clone(),
                time,
                value,
                exemplar_label_text(&e["labels"]),
            ]);
        }
    }
    rows
}

/// The exemplars as aligned columns, one row each.
pub fn exemplar_table(data: &Value) -> String {
    let mut rows = vec![vec![
        "SERIES".to_string(),
        "TIME".into(),
        "VALUE".into(),
        "LABELS".into(),
    ]];
    rows.extend(exemplar_rows(data).into_iter().map(Vec::from));
    align(&rows)
}

/// The exemplars as CSV: `series,timestamp,value,labels`, one row each.
pub fn exemplar_csv(data: &Value) -> String {
    let mut out = String::from("series,timestamp,value,labels\n");
    for r in exemplar_rows(data) {
        let line: Vec<String> = r.iter().map(|c| csv_field(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The result as CSV: one row per sample (`metric,timestamp,value`), or one per item. When the
/// result holds native histograms, two more columns, `count,sum`, hold theirs (and `value` is
/// empty on their rows).
pub fn csv(data: &Value) -> String {
    let mut out = String::new();
    let mut row = |cols: &[String]| {
        let line: Vec<String> = cols.iter().map(|c| csv_field(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    };
    match data["resultType"].as_str() {
        Some("vector") | Some("matrix") => {
            let series: Vec<(String, Vec<(f64, Point)>)> = data["result"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| (metric_text(&s["metric"]), points(s)))
                .collect();
            let with_hist = series
                .iter()
                .any(|(_, p)| p.iter().any(|x| matches!(x.1, Point::Histogram(_))));
            let mut header = vec!["metric".into(), "timestamp".into(), "value".into()];
            if with_hist {
                header.extend(["count".into(), "sum".into()]);
            }
            row(&header);
            for (m, pts) in series {
                for (t, p) in pts {
                    let t = crate::client::fmt_time(t);
                    match p {
                        Point::Float(v) if with_hist => {
                            row(&[m.clone(), t, v, String::new(), String::new()])
                        }
                        Point::Float(v) => row(&[m.clone(), t, v]),
                        Point::Histogram(h) => {
                            row(&[m.clone(), t, String::new(), h.count_text, h.sum_text])
                        }
                    }
                }
            }
        }
        Some("scalar") | Some("string") => {
            row(&["timestamp".into(), "value".into()]);
            let (t, v) = value_of(&data["result"]);
            row(&[t, v]);
        }
        _ => {
            for x in data.as_array().into_iter().flatten() {
                row(&[x
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| metric_text(x))]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times() {
        let now = 1_700_000_000.0;
        assert_eq!(parse_cli_time("now", now), Ok(now));
        assert_eq!(parse_cli_time("-1h", now), Ok(now - 3600.0));
        assert_eq!(parse_cli_time("now-5m", now), Ok(now - 300.0));
        assert_eq!(parse_cli_time("+30s", now), Ok(now + 30.0));
        assert_eq!(parse_cli_time("1500000000.5", now), Ok(1_500_000_000.5));
        assert_eq!(
            parse_cli_time("2023-11-14T22:13:20Z", now),
            Ok(1_700_000_000.0)
        );
        assert!(parse_cli_time("yesterday", now)
            .unwrap_err()
            .contains("\"yesterday\""));
        assert_eq!(parse_step("15"), Ok(15.0));
        assert_eq!(parse_step("1m"), Ok(60.0));
        assert!(parse_step("0").is_err());
    }

    #[test]
    fn table_and_csv() {
        let v = json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "job": "a,b"}, "value": [1700000000.5, "1"]},
            {"metric": {}, "value": [1700000000.5, "NaN"]}]});
        assert_eq!(
            table(&v),
            "METRIC         VALUE  TIME\nup{job=\"a,b\"}  1      1700000000.500\n{}             NaN    1700000000.500\n"
        );
        assert_eq!(
            csv(&v),
            "metric,timestamp,value\n\"up{job=\"\"a,b\"\"}\",1700000000.500,1\n{},1700000000.500,NaN\n"
        );
        let m = json!({"resultType": "matrix", "result": [
            {"metric": {"__name__": "x"}, "values": [[1, "1"], [2, "5"], [3, "3"]]}]});
        let t = table(&m);
        assert!(
            t.lines()
                .nth(1)
                .unwrap()
                .starts_with("x       3     1    5    3       ▁█▅"),
            "{t}"
        );
        let s = json!([{"__name__": "up", "job": "a"}]);
        assert_eq!(table(&s), "up{job=\"a\"}\n");
        assert_eq!(table(&json!(["a", "b"])), "a\nb\n");
    }

    #[test]
    fn histograms_in_table_and_csv() {
        let h = json!({"count":"4","sum":"301.1","buckets":[
            [1,"-2","-1.414213562373095","1"],[0,"0.08838834764831843","0.125","1"],
            [0,"2.82842712474619","4","1"],[0,"256","362.0386719675123","1"]]});
        let v = json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "h"}, "histogram": [1700000000.5, h]},
            {"metric": {"__name__": "f"}, "value": [1700000000.5, "2"]}]});
        let t = table(&v);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert_eq!(
            lines[1],
            "h       {count:4 sum:301.1 buckets:4 [-2,-1.414):1 (0.08839,0.125]:1 (2.828,4]:1 (256,362]:1}  1700000000.500"
        );
        assert!(lines[2].starts_with("f       2  ") && lines[2].ends_with("  1700000000.500"));
        assert_eq!(
            csv(&v),
            "metric,timestamp,value,count,sum\nh,1700000000.500,,4,301.1\nf,1700000000.500,2,,\n"
        );
        // A series that changed from floats to histograms: the trend plots the counts, the
        // last point is the histogram's summary.
        let small = json!({"count":"9","sum":"1","buckets":[[0,"1","2","9"]]});
        let m = json!({"resultType": "matrix", "result": [
            {"metric": {"__name__": "x"}, "values": [[1, "1"], [2, "5"]],
             "histograms": [[3, small]]}]});
        let t = table(&m);
        let row = t.lines().nth(1).unwrap();
        assert!(
            row.starts_with("x       {count:9 sum:1 buckets:1 (1,2]:9}  1    9    3       ▁▅█"),
            "{t}"
        );
        assert_eq!(
            csv(&m),
            "metric,timestamp,value,count,sum\nx,1,1,,\nx,2,5,,\nx,3,,9,1\n"
        );
    }

    #[test]
    fn exemplars_as_table_and_csv() {
        let d = json!([
            {"seriesLabels": {"__name__": "x", "job": "a"}, "exemplars": [
                {"labels": {"span_id": "00f067aa0ba902b7", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "a": "b,c"},
                 "value": "6", "timestamp": 1600096945.479},
                {"labels": {}, "value": "0.25", "timestamp": 1600096950}]},
            {"seriesLabels": {"__name__": "y"}, "exemplars": []}]);
        assert_eq!(
            exemplar_table(&d),
            "SERIES      TIME            VALUE  LABELS\n\
             x{job=\"a\"}  1600096945.479  6      {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\", span_id=\"00f067aa0ba902b7\", a=\"b,c\"}\n\
             x{job=\"a\"}  1600096950      0.25   {}\n"
        );
        assert_eq!(
            exemplar_csv(&d),
            "series,timestamp,value,labels\n\
             \"x{job=\"\"a\"\"}\",1600096945.479,6,\"{trace_id=\"\"4bf92f3577b34da6a3ce929d0e0e4736\"\", span_id=\"\"00f067aa0ba902b7\"\", a=\"\"b,c\"\"}\"\n\
             \"x{job=\"\"a\"\"}\",1600096950,0.25,{}\n"
        );
        assert_eq!(exemplar_table(&json!([])), "SERIES  TIME  VALUE  LABELS\n");
        assert_eq!(
            exemplar_csv(&json!(null)),
            "series,timestamp,value,labels\n"
        );
    }
}
