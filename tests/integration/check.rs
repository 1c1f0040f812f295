//! `promterm check config`, and agreement with the real promtool on the files both understand.

use std::process::Command;

use crate::common::{run, testdata};

struct Row {
    file: String,
    upstream: bool,
    message: String,
}

fn table() -> Vec<Row> {
    std::fs::read_to_string(testdata("config/bad-files.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Row {
                file: c[0].into(),
                upstream: c[2] == "upstream",
                message: c[3].into(),
            }
        })
        .collect()
}

#[test]
fn good_file_prints_one_line_summary() {
    let f = testdata("config/full.good.yml");
    let (code, out, err) = run(&["check", "config", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("SUCCESS: "), "{out}");
    assert!(
        out.contains("3 jobs, 3 static targets (+1 file_sd), 1 rule file"),
        "{out}"
    );
    assert!(
        err.contains("query_log_file is accepted but ignored"),
        "{err}"
    );
}

#[test]
fn bad_files_exit_one_with_the_error() {
    for row in table() {
        let f = testdata(&format!("config/{}", row.file));
        let (code, out, err) = run(&["check", "config", f.to_str().unwrap()]);
        assert_eq!(code, 1, "{}: {out}{err}", row.file);
        assert!(err.starts_with("FAILED: "), "{}: {err}", row.file);
        assert!(err.contains(&row.message), "{}: {err}", row.file);
    }
}

#[test]
fn several_files_one_failure_fails_the_run() {
    let good = testdata("config/minimal.good.yml");
    let bad = testdata("config/scheme.bad.yml");
    let (code, out, err) = run(&[
        "check",
        "config",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("SUCCESS") && out.contains("minimal.good.yml"),
        "{out}"
    );
    assert!(
        err.contains("FAILED") && err.contains("scheme.bad.yml"),
        "{err}"
    );
}

#[test]
fn help_and_version_work_for_every_subcommand() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["check", "--help"],
        &["check", "config", "--help"],
    ] {
        let (code, out, err) = run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.contains("Usage: promterm"), "{args:?}: {out}");
    }
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("promterm {}", env!("CARGO_PKG_VERSION"))
    );
    let (code, _, err) = run(&["serve", "--bogus"]);
    assert_eq!(code, 2, "usage errors exit 2: {err}");
    assert!(err.contains("--bogus"), "{err}");
}

fn promtool_accepts(path: &std::path::Path) -> bool {
    let out = Command::new("promtool")
        .args(["check", "config"])
        .arg(path)
        .output()
        .expect("promtool is needed for the interop tests: apt-get install prometheus (.ci/run does this)");
    out.status.success()
}

/// The real promtool (Prometheus 2.42 from Debian) accepts our 2.x-compatible good files and
/// rejects every bad file the table marks "upstream"; the ones marked "promterm" it accepts,
/// which keeps that column honest.
#[test]
fn promtool_agrees() {
    for good in ["minimal.good.yml", "compat.good.yml", "empty.good.yml"] {
        assert!(
            promtool_accepts(&testdata(&format!("config/{good}"))),
            "promtool rejects {good}"
        );
    }
    for row in table() {
        let accepted = promtool_accepts(&testdata(&format!("config/{}", row.file)));
        assert_eq!(
            !accepted,
            row.upstream,
            "{}: promtool {} it but the table says {}",
            row.file,
            if accepted { "accepts" } else { "rejects" },
            if row.upstream { "upstream" } else { "promterm" }
        );
    }
}

#[test]
fn promql_test_command_reports_totals_and_exit_code() {
    let ours: Vec<String> = std::fs::read_dir(testdata("promql"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    let mut args = vec!["test"];
    args.extend(ours.iter().map(String::as_str));
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{out}{err}");
    let last = out.lines().last().unwrap_or("");
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(passed > 0 && last.ends_with(" passed, 0 failed"), "{last}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.test");
    std::fs::write(&bad, "load 1m\n  m 1\n\neval instant at 0 m\n  m 2\n").unwrap();
    let (code, out, _) = run(&["test", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("bad.test:4: m"), "{out}");
    assert_eq!(out.lines().last(), Some("0 passed, 1 failed"));
}
