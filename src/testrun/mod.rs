//! The test runners behind `promterm test`: promqltest scripts (`script` parses the upstream
//! format, `promql` runs them against the engine and a fresh store per file, `compare` checks
//! results against expectations) and rule unit tests in promtool's format (`rules`, with
//! `rules_histogram` for their native-histogram series and expectations).
//! `histogram_literal` parses the `{{…}}` native-histogram notation of series lines into float
//! histograms, which the runner loads and compares; `nhcb` turns the classic histograms of a
//! `load_with_nhcb` block into custom-bucket ones.
//!
//! They sit above the engine, the rules and the store: each file gets its own store in a
//! temporary directory. Uses `model`, `storage`, `tsdb`, `promql` and `rules`.

pub mod compare;
pub mod histogram_literal;
pub mod nhcb;
pub mod promql;
pub mod rules;
pub mod rules_histogram;
pub mod script;

/// A temporary directory for one file's store, removed when dropped.
fn scratch_dir() -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix("promterm-test-").tempdir()
}
