//! Real Grafana dashboards (testdata/grafana, from the monitoring mixins) opened with
//! `promterm tui --url … --dashboard FILE` in tmux, the queries going through a recording
//! proxy (`recording_proxy`) to the server:
//! - node-rsrc-use.json and nodes.json against `promterm serve` scraping Debian's
//!   `prometheus-node-exporter` on loopback as job `node`, with the node mixin's recording
//!   rules (testdata/grafana/node-exporter-rules.yaml) that node-rsrc-use.json reads;
//! - prometheus.json against Debian's Prometheus 2.42 scraping itself (its `$job`/`$instance`
//!   list `prometheus_build_info`, which only Prometheus exports; `tui --url` against
//!   Prometheus is a supported use).
//!
//! Each run checks, once two scrapes are in: every panel and row title is on screen (paging
//! with PgDn from Home), no panel shows an error nor "not drawn yet" except table and heatmap
//! panels, no request failed, a quarter of the queries at least answered data (and
//! "no data" only where an answer was empty), and every query the TUI sent is
//! exactly the target's expression expanded as Grafana sends it for the chosen variable
//! values (computed here from the JSON, independently of `src/tui/grafana`), with a step
//! and `$__rate_interval` that agree; every target was sent, and every query variable was
//! listed with its expanded `label_values` selector.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{bin, data, free_addr, spawn, testdata, wait_for, wait_ok, Server};
use crate::first_minutes::Tmux;
use crate::recording_proxy::{Proxy, Recorded};

/// The datasource's scrape interval Grafana assumes when none is set (ms).
const SCRAPE_MS: i64 = 15_000;

/// One query target of the dashboard, as the JSON has it.
#[derive(Debug)]
struct Target {
    panel: String,
    expr: String,
    factor: i64,
    instant: bool,
}

/// A variable's chosen value: explicit values, or All.
#[derive(Debug, Clone)]
enum Chosen {
    Values(Vec<String>),
    All(Vec<String>),
}

/// The dashboard's panels (in rows, collapsed rows and legacy `rows[]`), depth first.
fn panels(d: &Value) -> Vec<&Value> {
    fn walk<'a>(ps: &'a Value, out: &mut Vec<&'a Value>) {
        for p in ps.as_array().into_iter().flatten() {
            out.push(p);
            walk(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&d["panels"], &mut out);
    for r in d["rows"].as_array().into_iter().flatten() {
        walk(&r["panels"], &mut out);
    }
    out
}

/// (panel titles, row titles).
fn titles(d: &Value) -> (Vec<String>, Vec<String>) {
    let (mut ps, mut rows) = (Vec::new(), Vec::new());
    for p in panels(d) {
        let t = p["title"].as_str().unwrap_or("").to_string();
        if p["type"] == "row" {
            rows.push(t);
        } else {
            ps.push(t);
        }
    }
    for r in d["rows"].as_array().into_iter().flatten() {
        if r["showTitle"] == true {
            rows.push(r["title"].as_str().unwrap_or("").to_string());
        }
    }
    (ps, rows)
}

/// The targets that Grafana sends: not hidden, with an expression.
fn targets(d: &Value) -> Vec<Target> {
    let mut out = Vec::new();
    for p in panels(d) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap_or("");
            if t["hide"] == true || expr.trim().is_empty() {
                continue;
            }
            out.push(Target {
                panel: p["title"].as_str().unwrap_or("").to_string(),
                expr: expr.to_string(),
                factor: t["intervalFactor"].as_i64().unwrap_or(1).max(1),
                instant: t["instant"] == true && t["range"] != true,
            });
        }
    }
    out
}

/// Grafana's Prometheus datasource escaping for a variable that is neither multi nor All.
fn regular_escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\'', "\\\\'")
}

/// Grafana's regex escaping of one value of a multi or All variable, for a PromQL string.
fn special_regex_escape(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\\\\\"),
            '$' | '^' | '*' | '{' | '}' | '[' | ']' | '\'' | '+' | '?' | '.' | '(' | ')' | '|' => {
                out.push_str("\\\\");
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// What `$name` becomes for variable `var` with value `chosen`.
fn formatted(var: &Value, chosen: &Chosen) -> String {
    let values = match chosen {
        Chosen::All(options) => match var["allValue"].as_str().filter(|a| !a.is_empty()) {
            // A custom all value goes in as written.
            Some(all) => return all.to_string(),
            None => options.clone(),
        },
        Chosen::Values(v) => v.clone(),
    };
    if var["multi"] != true && var["includeAll"] != true {
        return regular_escape(values.first().map_or("", String::as_str));
    }
    let escaped: Vec<String> = values.iter().map(|v| special_regex_escape(v)).collect();
    if escaped.len() == 1 {
        escaped[0].clone()
    } else {
        format!("({})", escaped.join("|"))
    }
}

/// `text` with the dashboard variables replaced (`$name`, `${name}`, `[[name]]`).
fn expand_vars(text: &str, d: &Value, chosen: &[(&str, Chosen)]) -> String {
    let mut vars: Vec<(&str, String)> = chosen
        .iter()
        .map(|(name, c)| {
            let var = d["templating"]["list"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["name"] == *name)
                .unwrap_or_else(|| panic!("no variable {name}"));
            (*name, formatted(var, c))
        })
        .collect();
    // Longest names first, so `$instance` is not taken for `$in` + "stance".
    vars.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let mut out = text.to_string();
    for (name, value) in &vars {
        out = out
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("[[{name}]]"), value);
        let pat = format!("${name}");
        let mut s = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find(&pat) {
            let after = &rest[i + pat.len()..];
            let word = after
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            s.push_str(&rest[..i]);
            s.push_str(if word { &pat } else { value });
            rest = after;
        }
        s.push_str(rest);
        out = s;
    }
    out
}

/// A duration as Go's `time.Duration.String` writes it (whole seconds): `1m0s`, `45s`.
fn go_duration(ms: i64) -> String {
    let s = ms / 1000;
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    if h > 0 {
        format!("{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{m}m{sec}s")
    } else {
        format!("{sec}s")
    }
}

/// An interval as Grafana formats one (`FormatInterval`): the largest whole unit.
fn grafana_interval(ms: i64) -> String {
    for (unit, name) in [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
    ] {
        if ms >= unit {
            return format!("{}{name}", ms / unit);
        }
    }
    format!("{ms}ms")
}

/// The intervals Grafana's rounding gives (ms), from the scrape interval up.
const LADDER: &[i64] = &[
    15_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_200_000, 1_800_000,
    3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];

/// Why the recorded query `r` is not target `t` as Grafana sends it, if it is not.
fn mismatch(r: &Recorded, t: &Target, d: &Value, chosen: &[(&str, Chosen)]) -> Option<String> {
    let sent = r.param("query").unwrap_or("");
    let mut want = expand_vars(&t.expr, d, chosen);
    if t.instant {
        if r.path != "/api/v1/query" {
            return Some(format!("{:?} is instant, sent to {}", t.expr, r.path));
        }
    } else {
        if r.path != "/api/v1/query_range" {
            return Some(format!("{:?} is a range query, sent to {}", t.expr, r.path));
        }
        let num = |k: &str| r.param(k).and_then(|v| v.parse::<f64>().ok());
        let (start, end, step) = (num("start")?, num("end")?, num("step")?);
        if ((end - start) - 3600.0).abs() > 1.0 {
            return Some(format!("range {start}..{end} is not the dashboard's 1h"));
        }
        let step_ms = (step * 1000.0).round() as i64;
        let base = step_ms / t.factor;
        if base * t.factor != step_ms || !LADDER.contains(&base) {
            return Some(format!(
                "step {step_ms}ms is not a rounded interval × intervalFactor {}",
                t.factor
            ));
        }
        want = want
            .replace(
                "$__rate_interval",
                &go_duration((base + SCRAPE_MS).max(4 * SCRAPE_MS)),
            )
            .replace("$__interval", &grafana_interval(step_ms));
    }
    (sent != want).then(|| format!("sent {sent:?}\n want {want:?}"))
}

/// The query variables' `label_values` requests: (label, expanded selector).
fn variable_requests(d: &Value, chosen: &[(&str, Chosen)]) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for v in d["templating"]["list"].as_array().into_iter().flatten() {
        if v["type"] != "query" {
            continue;
        }
        let q = v["query"]
            .as_str()
            .or_else(|| v["query"]["query"].as_str())
            .unwrap_or("");
        let inner = q
            .trim()
            .strip_prefix("label_values(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("not a label_values query: {q}"));
        match inner.rsplit_once(',') {
            Some((sel, label)) => out.push((
                label.trim().to_string(),
                Some(expand_vars(sel.trim(), d, chosen)),
            )),
            None => out.push((inner.trim().to_string(), None)),
        }
    }
    out
}

/// Pages through the dashboard from Home with PgDn; every screen seen.
fn pages(tmux: &Tmux) -> Vec<String> {
    let settle = || std::thread::sleep(Duration::from_millis(800));
    tmux.keys(&["Home"]);
    settle();
    let mut seen = vec![tmux.screen()];
    for _ in 0..40 {
        if !seen.last().is_some_and(|s| s.contains("PgDn: more")) {
            break;
        }
        tmux.keys(&["PageDown"]);
        settle();
        seen.push(tmux.screen());
    }
    tmux.keys(&["End"]);
    settle();
    seen.push(tmux.screen());
    seen
}

/// Whether an API answer holds at least one series (or a scalar).
fn has_data(body: &str) -> bool {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match &v["data"]["result"] {
        Value::Array(a) => !a.is_empty(),
        Value::Null => false,
        _ => true,
    }
}

/// Opens `file` in `promterm tui --url http://{proxy}` in tmux and checks it (see the module
/// doc). `chosen`: the variable values the TUI must pick given what the server holds.
fn check_dashboard(dir: &Path, proxy: &Proxy, file: &str, chosen: &[(&str, Chosen)]) {
    let path = testdata(&format!("grafana/{file}"));
    let d: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let ts = targets(&d);
    assert!(!ts.is_empty(), "{file}: no targets");
    proxy.clear();
    let tmux = Tmux {
        socket: dir.join(format!("{file}.sock")),
    };
    let home = dir.join(format!("home-{file}"));
    let cmd = format!(
        "XDG_STATE_HOME={h} XDG_DATA_HOME={h} XDG_CONFIG_HOME={h} TERM=xterm-256color {} tui --url http://{} --dashboard {}",
        bin(),
        proxy.addr,
        path.display(),
        h = home.display(),
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "pt",
        "-x",
        "160",
        "-y",
        "30",
        &cmd,
    ]);
    let title = d["title"].as_str().unwrap_or("");
    tmux.wait_for("the dashboard's title", 20, |s| s.contains(title));
    let queries = |p: &Proxy| -> Vec<Recorded> {
        p.recorded()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/v1/query"))
            .collect()
    };
    wait_for("the first round of queries", 30, || {
        queries(proxy).len() >= ts.len()
    });
    // The variables, listed before the first round.
    let all = proxy.recorded();
    for (label, selector) in variable_requests(&d, chosen) {
        let path = format!("/api/v1/label/{label}/values");
        let asked = all
            .iter()
            .any(|r| r.path == path && r.param("match[]").map(str::to_string) == selector);
        assert!(
            asked,
            "{file}: no {path} with match[]={selector:?}; asked: {:#?}",
            all.iter()
                .filter(|r| !r.path.starts_with("/api/v1/query"))
                .map(|r| (&r.path, &r.params))
                .collect::<Vec<_>>()
        );
    }
    // A fresh round, the data being there: `r`, then every target's answer.
    proxy.clear();
    tmux.keys(&["r"]);
    wait_for("the refreshed round", 30, || {
        queries(proxy).len() >= ts.len()
    });
    std::thread::sleep(Duration::from_millis(1500));
    let round = queries(proxy);
    let screens = pages(&tmux);
    tmux.keys(&["q"]);
    // Each of these dashboards is taller than 30 lines: Home, PgDn at least once, End.
    assert!(
        screens.len() >= 3 && screens[0].contains("PgDn: more"),
        "{file}: the dashboard did not page:\n{}",
        screens.join("\n=====\n")
    );

    // Every query sent is a target of the dashboard as Grafana sends it…
    for r in &round {
        let why: Vec<String> = ts
            .iter()
            .filter_map(|t| mismatch(r, t, &d, chosen))
            .collect();
        assert!(
            why.len() < ts.len(),
            "{file}: {} {:?} is no target as Grafana sends it:\n{}",
            r.path,
            r.param("query"),
            why.join("\n")
        );
        assert_eq!(r.status, 200, "{file}: {:?}: {}", r.param("query"), r.body);
    }
    // …and every target was sent.
    for t in &ts {
        assert!(
            round.iter().any(|r| mismatch(r, t, &d, chosen).is_none()),
            "{file}: panel {:?}: {:?} was not sent as Grafana sends it; sent:\n{:#?}",
            t.panel,
            t.expr,
            round.iter().map(|r| r.param("query")).collect::<Vec<_>>()
        );
    }
    let empty: Vec<&str> = round
        .iter()
        .filter(|r| !has_data(&r.body))
        .filter_map(|r| r.param("query"))
        .collect();
    println!("{file}: {} queries, empty answers: {empty:#?}", round.len());
    // Some answers are empty on some hosts (node-rsrc-use's `… != 0` on idle disks, no
    // network device but lo); CPU, load, memory and disk space always answer.
    assert!(
        (round.len() - empty.len()) * 4 >= round.len(),
        "{file}: a quarter of the queries at least should answer data; empty: {empty:#?}"
    );

    // On screen: every title, no error, nothing "not drawn" but tables and heatmaps.
    let joined = screens.join("\n");
    let (panel_titles, row_titles) = titles(&d);
    for t in panel_titles.iter().chain(&row_titles) {
        let same = panel_titles.iter().filter(|x| *x == t).count().max(1);
        let most = screens.iter().map(|s| s.matches(t.as_str()).count()).max();
        assert!(
            most >= Some(same),
            "{file}: title {t:?} ({same}×) not on screen:\n{}",
            screens.join("\n=====\n")
        );
    }
    for bad in [
        "cannot reach",
        "bad_data",
        "execution:",
        "unexpected answer",
        "timeout",
        "dashboard not loaded",
        "loading…",
    ] {
        assert!(
            !joined.contains(bad),
            "{file}: {bad:?} on screen:\n{}",
            screens.join("\n=====\n")
        );
    }
    for (name, _) in chosen {
        assert!(
            !joined.contains(&format!("${name}:")),
            "{file}: a variable error on screen:\n{joined}"
        );
    }
    for (i, _) in joined.match_indices("not drawn yet (") {
        let ty = &joined[i + "not drawn yet (".len()..];
        assert!(
            ty.starts_with("table") || ty.starts_with("heatmap"),
            "{file}: a panel not drawn: {}",
            ty.lines().next().unwrap_or("")
        );
    }
    // A panel says "no data" only for an empty answer; the time series draw their points
    // (a few seconds of data in the dashboard's hour: a dot or two at the right edge).
    let no_data = screens.iter().map(|s| s.matches("no data").count()).max();
    assert!(
        no_data <= Some(empty.len()),
        "{file}: more panels without data than empty answers ({}):\n{joined}",
        empty.len()
    );
    assert!(
        joined.chars().any(|c| ('⠁'..='⣿').contains(&c)),
        "{file}: no points drawn:\n{joined}"
    );
}

/// Waits until `expr` answers at least one series at `addr`.
fn wait_series(addr: SocketAddr, expr: &str) {
    let path = format!(
        "/api/v1/query?query={}",
        url::form_urlencoded::byte_serialize(expr.as_bytes()).collect::<String>()
    );
    wait_for(&format!("series of {expr}"), 60, || {
        data(addr, &path)["result"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
}

#[test]
fn node_exporter_dashboards_in_tmux_against_promterm() {
    let dir = tempfile::tempdir().unwrap();
    let ne = free_addr();
    let _ne = spawn(
        "prometheus-node-exporter",
        &[format!("--web.listen-address={ne}")],
    );
    wait_ok(ne, "/metrics");
    let rules = testdata("grafana/node-exporter-rules.yaml");
    let cfg = dir.path().join("p.yml");
    std::fs::write(
        &cfg,
        format!(
            "global: {{scrape_interval: 2s, evaluation_interval: 2s}}\nrule_files: ['{}']\nscrape_configs:\n- job_name: node\n  static_configs: [{{targets: ['{ne}']}}]\n",
            rules.display()
        ),
    )
    .unwrap();
    let srv = Server::start(&[
        "--headless",
        "--config",
        cfg.to_str().unwrap(),
        "--data",
        dir.path().join("d").to_str().unwrap(),
    ]);
    wait_ok(srv.addr, "/-/ready");
    // Two scrapes and a rule evaluation on them: rates and recorded rates exist.
    let started = Instant::now();
    wait_series(srv.addr, "rate(node_cpu_seconds_total[1m])");
    wait_series(srv.addr, "instance:node_cpu_utilisation:rate5m");
    println!("data there after {:?}", started.elapsed());
    let proxy = Proxy::start(srv.addr);
    // No `cluster` label: All (the first option) with its all value `.*`; one instance.
    let chosen = [
        ("cluster", Chosen::All(Vec::new())),
        ("instance", Chosen::Values(vec![ne.to_string()])),
    ];
    check_dashboard(dir.path(), &proxy, "node-rsrc-use.json", &chosen);
    check_dashboard(dir.path(), &proxy, "nodes.json", &chosen);
}

#[test]
fn prometheus_dashboard_in_tmux_against_debian_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let cfg = dir.path().join("prom.yml");
    std::fs::write(
        &cfg,
        format!("global: {{scrape_interval: 2s}}\nscrape_configs:\n- job_name: prometheus\n  static_configs: [{{targets: ['{addr}']}}]\n"),
    )
    .unwrap();
    let _prom = spawn(
        "prometheus",
        &[
            format!("--config.file={}", cfg.display()),
            format!("--storage.tsdb.path={}", dir.path().join("prom").display()),
            format!("--web.listen-address={addr}"),
        ],
    );
    wait_ok(addr, "/-/ready");
    wait_series(
        addr,
        "rate(prometheus_tsdb_head_samples_appended_total[5m])",
    );
    wait_series(addr, "prometheus_engine_query_duration_seconds");
    let proxy = Proxy::start(addr);
    // The saved values are All (multi, include All, no all value): the one option each.
    let chosen = [
        ("job", Chosen::All(vec!["prometheus".into()])),
        ("instance", Chosen::All(vec![addr.to_string()])),
    ];
    check_dashboard(dir.path(), &proxy, "prometheus.json", &chosen);
}
