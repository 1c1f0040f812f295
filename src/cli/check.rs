//! `promterm check config FILE...` and `promterm check rules FILE...`: validate config and rule
//! files.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;

/// Prints `SUCCESS: file: summary` or `FAILED: file:line: error` per file; exit 1 if any failed.
pub fn config(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for f in files {
        match Config::load(f) {
            Ok(cfg) => {
                println!("SUCCESS: {}: {}", f.display(), cfg.summary());
                for w in cfg.warnings() {
                    eprintln!("  WARNING: {w}");
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("FAILED: {e}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `promterm check web-config FILE...`, worded as `promtool check web-config`.
pub fn web_config(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for f in files {
        match crate::web::load(f) {
            Ok(_) => println!("{} SUCCESS", f.display()),
            Err(e) => {
                failed = true;
                eprintln!("{} FAILED: {e}", f.display());
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `promterm check rules FILE...`, worded as `promtool check rules`: per file `Checking F`,
/// then `SUCCESS: N rules found` or `FAILED:` with one line per problem; exit 1 if any failed
/// (or, with `--lint-fatal`, had duplicate rules).
pub fn rules(files: &[PathBuf], lint_fatal: bool) -> ExitCode {
    let mut failed = false;
    for f in files {
        println!("Checking {}", f.display());
        match crate::rules::check_file(f) {
            Ok(r) => {
                println!("  SUCCESS: {} rules found", r.rules);
                if !r.duplicates.is_empty() {
                    failed |= lint_fatal;
                    eprintln!("  WARNING: {} duplicate rule(s) found.", r.duplicates.len());
                    for (name, labels) in &r.duplicates {
                        let l: Vec<String> =
                            labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        eprintln!("Metric: {name}\nLabel(s):\n\t{}", l.join("\n\t"));
                    }
                    eprintln!("Might cause inconsistency while recording expressions");
                }
            }
            Err(errs) => {
                failed = true;
                eprintln!("  FAILED:");
                for e in errs {
                    eprintln!("{e}");
                }
            }
        }
        println!();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
