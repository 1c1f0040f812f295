//! The `promterm` binary: parse the command line, set up logging, run, map errors to exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use promterm::cli::{self, Cli};

/// Limits glibc to two malloc arenas. With one arena per thread (glibc's default, up to 8 per
/// core), memory freed by one request's thread is not reused by the next, and resident memory
/// grows far beyond what is live.
///
/// This call takes effect (malloc_stats() of a loaded server lists exactly two arenas), as
/// `MALLOC_ARENA_MAX` in the environment would. What freed memory the allocator keeps is
/// returned by the store's upkeep (`malloc_trim` after a flush, when appends pause, and every
/// 5 s), not by a tunable here.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator tuning; called once before other threads start.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let level = tracing::Level::from(cli.log_level);
    // While the TUI owns the terminal, logs go to a file instead.
    let file = cli::log_file(&cli).and_then(|p| {
        let _ = std::fs::create_dir_all(p.parent()?);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .ok()
    });
    match file {
        Some(f) => tracing_subscriber::fmt()
            .with_writer(std::sync::Mutex::new(f))
            .with_ansi(false)
            .with_max_level(level)
            .init(),
        None => tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_max_level(level)
            .init(),
    }
    match cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Not eprintln!: with the terminal gone, a failed write must not panic.
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
