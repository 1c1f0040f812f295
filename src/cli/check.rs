//! `promterm check config FILE...`: validate config files, one line per file.

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
