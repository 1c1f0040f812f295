//! `promterm query`, `series` and `labels` against a running promterm and the real
//! Prometheus: `--json` prints exactly what the API sent, table and CSV outputs, exit codes,
//! `--stats`.

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{bin, http, Server};

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn promterm(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .env_remove("PROMTERM_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn wait_up(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "{addr} never listened");
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        let (code, body) = http(addr, "GET", "/api/v1/query?query=up");
        if code == 200 && body.contains("\"up\"") && body.contains(",\"1\"]") {
            return;
        }
        assert!(Instant::now() < deadline, "no up sample: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn self_scraping_config(dir: &std::path::Path, addr: SocketAddr) -> String {
    let cfg = dir.join("p.yml");
    std::fs::write(
        &cfg,
        format!("global: {{scrape_interval: 1s}}\nscrape_configs:\n- job_name: self\n  static_configs: [{{targets: ['{addr}']}}]\n"),
    )
    .unwrap();
    cfg.display().to_string()
}

/// A headless promterm scraping itself every second, once its `up` is 1.
fn self_scraping_server(dir: &std::path::Path) -> (Server, std::net::SocketAddr) {
    let addr = free_addr();
    let cfg = self_scraping_config(dir, addr);
    let listen = addr.to_string();
    let s = Server::start_exact(&[
        "--headless",
        "--config",
        &cfg,
        "--data",
        dir.join("d").to_str().unwrap(),
        "--listen",
        &listen,
    ]);
    wait_up(addr);
    (s, addr)
}

#[test]
fn query_cli_against_promterm() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, addr) = self_scraping_server(dir.path());
    let url = format!("http://{addr}");
    let t = format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 1
    );
    // --json is the body exactly as the API sends it.
    let (code, out, err) = promterm(&["query", "--url", &url, "--time", &t, "--json", "up"]);
    assert_eq!(code, 0, "{err}");
    let (_, body) = http(addr, "GET", &format!("/api/v1/query?query=up&time={t}"));
    assert_eq!(out.trim_end(), body.trim_end());
    // Table: a header and one row per series.
    let (code, out, _) = promterm(&["query", "--url", &url, "--time", &t, "-o", "table", "up"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("METRIC") && lines[0].contains("VALUE"),
        "{out}"
    );
    assert!(
        lines[1].starts_with(&format!("up{{instance=\"{addr}\", job=\"self\"}}")),
        "{out}"
    );
    // CSV.
    let (code, out, _) = promterm(&["query", "--url", &url, "--time", &t, "-o", "csv", "up"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("metric,timestamp,value\n"), "{out}");
    assert!(out.contains(",1\n"), "{out}");
    // --stats: a few lines on stderr after a table or CSV; inside the JSON with --json.
    let (code, out, err) = promterm(&[
        "query", "--url", &url, "--time", &t, "-o", "table", "--stats", "up",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("METRIC") && !out.contains("stats"), "{out}");
    assert!(err.contains("stats: total "), "{err}");
    assert!(err.contains("stats: 1 samples queried"), "{err}");
    assert!(
        err.contains("stats: 1 step, at most 1 samples in one step"),
        "{err}"
    );
    let (code, out, err) = promterm(&[
        "query", "--url", &url, "--start", "-20s", "--step", "5s", "--json", "--stats", "up",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let samples = &v["data"]["stats"]["samples"];
    let steps = samples["totalQueryableSamplesPerStep"].as_array().unwrap();
    assert_eq!(steps.len(), 5, "{out}");
    let summed: u64 = steps.iter().map(|p| p[1].as_u64().unwrap()).sum();
    assert_eq!(samples["totalQueryableSamples"].as_u64(), Some(summed));
    // `up` has one series with a sample in every lookback window of the last 20 s.
    let points = v["data"]["result"][0]["values"].as_array().unwrap().len() as u64;
    assert_eq!(summed, points, "{out}");
    for k in [
        "evalTotalTime",
        "queryPreparationTime",
        "innerEvalTime",
        "execTotalTime",
    ] {
        assert!(
            v["data"]["stats"]["timings"][k].is_f64() || v["data"]["stats"]["timings"][k].is_u64(),
            "{k}: {out}"
        );
    }
    // A range query with a sparkline; the step defaults from the range.
    let (code, out, err) = promterm(&[
        "query",
        "--url",
        &url,
        "--start",
        "-30s",
        "-o",
        "table",
        "scrape_duration_seconds",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().next().unwrap().contains("TREND"), "{out}");
    let (code, out, _) = promterm(&[
        "query", "--url", &url, "--start", "-30s", "--step", "5s", "--json", "up",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("\"resultType\":\"matrix\""), "{out}");
    // series and labels.
    let (code, out, _) = promterm(&["series", "--url", &url, "--match", "up", "-o", "table"]);
    assert_eq!(code, 0);
    assert_eq!(out, format!("up{{instance=\"{addr}\", job=\"self\"}}\n"));
    let (code, out, _) = promterm(&["labels", "--url", &url, "-o", "table"]);
    assert_eq!(code, 0);
    assert!(
        out.lines().any(|l| l == "job") && out.lines().any(|l| l == "__name__"),
        "{out}"
    );
    let (code, out, _) = promterm(&["labels", "--url", &url, "-o", "csv", "job"]);
    assert_eq!((code, out.as_str()), (0, "self\n"));

    // A query error: exit 1, message on stderr, nothing on stdout.
    let (code, out, err) = promterm(&["query", "--url", &url, "--json", "sum("]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(err.contains("bad_data"), "{err}");
    // Usage errors: exit 2.
    let (code, _, err) = promterm(&["query", "--url", &url, "--time", "yesterday", "up"]);
    assert_eq!(code, 2);
    assert!(err.contains("\"yesterday\""), "{err}");
    let (code, _, _) = promterm(&["query", "--url", &url, "--end", "now", "up"]);
    assert_eq!(code, 2);
    // Unreachable server: exit 3.
    let dead = free_addr();
    let (code, out, err) = promterm(&["query", "--url", &format!("http://{dead}"), "up"]);
    assert_eq!((code, out.as_str()), (3, ""));
    assert!(err.contains("cannot reach"), "{err}");
    // The URL may come from $PROMTERM_URL.
    let out = Command::new(bin())
        .args(["query", "--json", "--time", &t, "up"])
        .env("PROMTERM_URL", &url)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        body.trim_end()
    );
}

/// An empty answer is explained on stderr, in every output format; stdout and the exit code
/// are what they were.
#[test]
fn query_cli_explains_empty_answers_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, addr) = self_scraping_server(dir.path());
    // A few samples of `up` (scraped every second), so the series is not brand new.
    let deadline = Instant::now() + Duration::from_secs(30);
    let enough = "/api/v1/query?query=count_over_time(up%5B1m%5D)%3E%3D3";
    while !http(addr, "GET", enough).1.contains("\"job\"") {
        assert!(Instant::now() < deadline, "up is not scraped every second");
        std::thread::sleep(Duration::from_millis(200));
    }
    let url = format!("http://{addr}");
    let unknown =
        "scrape_duration_second is not a known metric; did you mean scrape_duration_seconds?\n";
    for (fmt, want_out) in [
        ("table", "METRIC  VALUE  TIME\n"),
        ("csv", "metric,timestamp,value\n"),
    ] {
        let (code, out, err) =
            promterm(&["query", "--url", &url, "-o", fmt, "scrape_duration_second"]);
        assert_eq!((code, out.as_str(), err.as_str()), (0, want_out, unknown));
    }
    // JSON: stdout is the body as sent.
    let (code, out, err) = promterm(&["query", "--url", &url, "--json", "scrape_duration_second"]);
    assert_eq!((code, err.as_str()), (0, unknown));
    assert!(out.starts_with("{\"status\":\"success\""), "{out}");
    assert!(out.contains("\"result\":[]"), "{out}");
    // A label value that no series has, in a range query.
    let (code, out, err) = promterm(&[
        "query",
        "--url",
        &url,
        "--start",
        "-30s",
        "-o",
        "csv",
        "up{job=\"slef\"}",
    ]);
    assert_eq!((code, out.as_str()), (0, "metric,timestamp,value\n"));
    assert_eq!(err, "no series of up has job=\"slef\" (job has: self)\n");
    // A window shorter than the scrape interval.
    // (After the engine's info that `up` is not a counter.)
    let (code, _, err) = promterm(&["query", "--url", &url, "-o", "table", "rate(up[500ms])"]);
    assert_eq!(code, 0);
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with(
            "rate(up[500ms]) needs two samples in 500ms; the series are scraped every 1s"
        ) && last.ends_with("— widen the range"),
        "{err}"
    );
    // Answers with series, and empty answers for another reason, say nothing more.
    for q in ["up", "up > 5"] {
        let (code, _, err) = promterm(&["query", "--url", &url, "-o", "table", q]);
        assert_eq!((code, err.as_str()), (0, ""), "{q}");
    }
}

#[test]
fn query_cli_json_matches_curl_against_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let cfg = self_scraping_config(dir.path(), addr);
    let mut prom = Command::new("prometheus")
        .args([
            format!("--config.file={cfg}"),
            format!("--storage.tsdb.path={}", dir.path().join("p").display()),
            format!("--web.listen-address={addr}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus (Debian package)");
    wait_up(addr);
    let url = format!("http://{addr}");
    let t = "1700000000.5";
    for (args, path) in [
        (
            vec!["query", "--time", t, "up"],
            format!("/api/v1/query?query=up&time={t}"),
        ),
        (
            vec!["query", "--time", t, "sum("],
            format!("/api/v1/query?query=sum(&time={t}"),
        ),
        (vec!["labels"], "/api/v1/labels".to_string()),
    ] {
        let mut a = args.clone();
        a.extend(["--url", &url, "--json"]);
        let (code, out, err) = promterm(&a);
        let (status, body) = http(addr, "GET", &path);
        if status == 200 {
            assert_eq!(code, 0, "{err}");
            assert_eq!(out.trim_end(), body.trim_end(), "{args:?}");
        } else {
            assert_eq!(code, 1);
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(
                err.contains(v["error"].as_str().unwrap()),
                "{err} vs {body}"
            );
        }
    }
    // --stats works against Prometheus too (2.42 without promql-per-step-stats: totals only).
    let (code, _, err) = promterm(&["query", "--url", &url, "-o", "table", "--stats", "up"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("stats: 1 samples queried"), "{err}");
    assert!(!err.contains("step"), "{err}");
    let _ = prom.kill();
    let _ = prom.wait();
}

/// Credentials go only to the URL given: a server that redirects the query to another host
/// gets the query there without the `Authorization` header or the bearer token.
#[test]
fn credentials_are_not_sent_to_another_host_on_redirect() {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::mpsc;
    // B, on another loopback address, answers and reports the headers it saw.
    let b = TcpListener::bind("127.0.0.2:0").unwrap();
    let b_addr = b.local_addr().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for conn in b.incoming().take(2) {
            let mut c = conn.unwrap();
            let mut head = String::new();
            let mut r = BufReader::new(c.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let _ = tx.send(head);
            let body = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"7"]}}"#;
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    // A redirects everything to B.
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let a_addr = a.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in a.incoming().take(2) {
            let mut c = conn.unwrap();
            let mut r = BufReader::new(c.try_clone().unwrap());
            let mut first = String::new();
            r.read_line(&mut first).unwrap();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
            let _ = write!(
                c,
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{b_addr}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    let url = format!("http://{a_addr}");
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "sekrit-token\n").unwrap();
    for auth in [
        vec!["--basic-auth", "alice:s3cret"],
        vec!["--bearer-token-file", token.to_str().unwrap()],
    ] {
        let mut args = vec!["query", "--url", &url, "-o", "json"];
        args.extend_from_slice(&auth);
        args.push("scalar(vector(7))");
        let (code, out, err) = promterm(&args);
        assert_eq!(code, 0, "{auth:?}: {out}{err}");
        assert!(out.contains("\"7\""), "{out}");
        let head = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap()
            .to_lowercase();
        assert!(
            !head.contains("authorization"),
            "{auth:?} leaked to {b_addr}:\n{head}"
        );
        assert!(
            !head.contains("s3cret") && !head.contains("sekrit"),
            "{head}"
        );
    }
}

/// A fake Prometheus on loopback answering `/api/v1/query_range` and
/// `/api/v1/query_exemplars` with canned JSON; sends each request's target (path and query).
fn fake_exemplar_server(
    range_body: &'static str,
    exemplars_body: &'static str,
) -> (SocketAddr, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Write};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut r = BufReader::new(c.try_clone().unwrap());
            let mut first = String::new();
            if r.read_line(&mut first).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let target = first.split_whitespace().nth(1).unwrap_or("").to_string();
            let (status, body) = match target.split('?').next() {
                Some("/api/v1/query_range") => ("200 OK", range_body),
                Some("/api/v1/query_exemplars") => ("200 OK", exemplars_body),
                _ => ("404 Not Found", "404 page not found"),
            };
            let _ = tx.send(target);
            let _ = write!(
                c,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, rx)
}

#[test]
fn query_cli_prints_exemplars() {
    const RANGE: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x","job":"a"},"values":[[1600096900,"5"],[1600096960,"6"]]}]}}"#;
    const EXEMPLARS: &str = r#"{"status":"success","data":[{"seriesLabels":{"__name__":"x","job":"a"},"exemplars":[{"labels":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"},"value":"6","timestamp":1600096945.479},{"labels":{"trace_id":"a1,b2"},"value":"0.5","timestamp":1600096950}]}]}"#;
    let (addr, asked) = fake_exemplar_server(RANGE, EXEMPLARS);
    let url = format!("http://{addr}");
    let next = || asked.recv_timeout(Duration::from_secs(10)).unwrap();
    let range = ["--start", "1600096000", "--end", "1600097000"];
    let run = |extra: &[&str]| {
        let mut args = vec!["query", "--url", &url];
        args.extend_from_slice(extra);
        args.push("x");
        promterm(&args)
    };

    // A range query's exemplars between its start and end, as a table.
    let (code, out, err) = run(&[&range[..], &["--exemplars", "-o", "table"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        next(),
        "/api/v1/query_exemplars?query=x&start=1600096000&end=1600097000"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for h in ["SERIES", "TIME", "VALUE", "LABELS"] {
        assert!(lines[0].contains(h), "{out}");
    }
    assert!(
        lines[1].starts_with("x{job=\"a\"}")
            && lines[1].contains("1600096945.479")
            && lines[1].contains("  6  ")
            && lines[1].ends_with(
                "{trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\", span_id=\"00f067aa0ba902b7\"}"
            ),
        "{out}"
    );
    assert!(
        lines[2].contains("0.5") && lines[2].contains("1600096950"),
        "{out}"
    );

    // `-o json`: the API's JSON exactly as sent.
    let (code, out, _) = run(&[&range[..], &["--exemplars", "-o", "json"]].concat());
    assert_eq!((code, out.trim_end()), (0, EXEMPLARS));
    next();

    // CSV: one row per exemplar, fields quoted where they need it.
    let (code, out, _) = run(&[&range[..], &["--exemplars", "-o", "csv"]].concat());
    assert_eq!(code, 0);
    next();
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows[0], "series,timestamp,value,labels");
    assert_eq!(rows.len(), 3, "{out}");
    assert!(
        rows[2].starts_with("\"x{job=\"\"a\"\"}\",1600096950,0.5,\"{trace_id=\"\"a1,b2\"\"}\""),
        "{out}"
    );

    // An instant query: the exemplars of the 5 minutes up to its time.
    let (code, out, err) = run(&["--time", "1600097000", "--exemplars", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim_end(), EXEMPLARS);
    assert_eq!(
        next(),
        "/api/v1/query_exemplars?query=x&start=1600096700&end=1600097000"
    );

    // Without the flag the same command asks for the samples.
    let (code, out, _) = run(&[&range[..], &["-o", "table"]].concat());
    assert_eq!(code, 0);
    assert!(next().starts_with("/api/v1/query_range?query=x&start=1600096000"));
    assert!(
        out.starts_with("METRIC") && !out.contains("trace_id"),
        "{out}"
    );
}
