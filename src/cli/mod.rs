//! The command line: clap definitions and one handler per subcommand.
//!
//! Flags follow Prometheus where one exists (`--config.file`, `--web.listen-address`,
//! `--storage.tsdb.path`, `--storage.tsdb.retention.time` are accepted as aliases). `serve`
//! composes the server and, on a terminal, the TUI over an in-process `client::Local`; `tui`,
//! `query`, `series` and `labels` talk to a server over `client::Http`; `test` runs the
//! `testrun` runners; `check` the config and rule checks, `check_sd` `check
//! service-discovery`. The top of the layers: uses `tui`,
//! `client`, `server`, `testrun` and everything below; anyhow for errors.

mod check;
mod check_sd;
mod query;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

use crate::config::{ByteSize, Duration};
use crate::server::{self, ServeOptions, Server};

/// promterm: Prometheus-compatible monitoring in one binary, with a terminal workbench.
#[derive(Debug, Parser)]
#[command(name = "promterm", version, about, propagate_version = true)]
pub struct Cli {
    /// Only log messages at this level or above.
    #[arg(long = "log.level", global = true, value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl From<LogLevel> for tracing::Level {
    fn from(l: LogLevel) -> Self {
        match l {
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Error => tracing::Level::ERROR,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: scrape, store, serve the HTTP API (and, on a terminal, the TUI).
    Serve(ServeArgs),
    /// Validate configuration files without starting anything.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Run PromQL test scripts (the upstream promqltest format), or with `rules` first, rule
    /// unit tests in promtool's format; the last line is `N passed, N failed`.
    Test {
        /// Script files (*.test), or `rules` followed by rule test files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Run a PromQL query against a server: instant, or a range with --start.
    Query(query::QueryArgs),
    /// List series matching selectors.
    Series(query::SeriesArgs),
    /// List label names, or one label's values.
    Labels(query::LabelsArgs),
    /// The terminal workbench against any Prometheus-compatible server.
    Tui(TuiArgs),
}

/// `promterm tui`.
#[derive(Debug, clap::Args)]
pub struct TuiArgs {
    #[command(flatten)]
    pub server: query::ServerArgs,
    #[command(flatten)]
    pub look: TuiLook,
}

/// Appearance and input of the TUI (for `tui` and `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct TuiLook {
    /// Colour theme: default, dark, light, high-contrast, or a TOML file (default: `theme` in
    /// `$XDG_CONFIG_HOME/promterm/tui.toml`, else `default`).
    #[arg(long, value_name = "NAME|FILE")]
    pub theme: Option<String>,
    /// Let the mouse scroll and click (off: the terminal keeps its own selection).
    #[arg(long)]
    pub mouse: bool,
    /// A Grafana dashboard JSON file to open in the TUI (Esc shows the rest of the TUI, F2
    /// the dashboard again).
    #[arg(long, value_name = "FILE")]
    pub dashboard: Option<PathBuf>,
    /// Where the TUI lists (`o`, F2) and saves (`S`) Grafana dashboards (default:
    /// `$XDG_CONFIG_HOME/promterm/dashboards`, else `~/.config/promterm/dashboards`).
    #[arg(long, value_name = "DIR")]
    pub dashboards: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// prometheus.yml-compatible config file; without it promterm monitors itself and this host.
    #[arg(long, visible_alias = "config.file", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory for the WAL and persisted data.
    #[arg(long, visible_alias = "storage.tsdb.path", value_name = "DIR", default_value = server::DEFAULT_DATA_DIR)]
    pub data: PathBuf,

    /// Address for the HTTP API (host:port; ":9090" means all interfaces).
    #[arg(long, visible_alias = "web.listen-address", value_name = "ADDR", default_value = server::DEFAULT_LISTEN)]
    pub listen: String,

    /// Address of the OTLP/gRPC receiver [default: 127.0.0.1:4317]; "" turns it off. Wins
    /// over `otlp.grpc_listen_address` in the config file.
    #[arg(long = "otlp.grpc-listen-address", value_name = "ADDR")]
    pub otlp_grpc_listen: Option<String>,

    /// Address of the OTLP/HTTP receiver (`/v1/metrics`) [default: 127.0.0.1:4318]; "" turns
    /// it off. Wins over `otlp.http_listen_address` in the config file.
    #[arg(long = "otlp.http-listen-address", value_name = "ADDR")]
    pub otlp_http_listen: Option<String>,

    /// Do not open the terminal UI, even on a terminal.
    #[arg(long)]
    pub headless: bool,

    /// How long to keep samples (Prometheus duration, e.g. 15d, 12h); 0 means the default.
    #[arg(
        long,
        visible_alias = "storage.tsdb.retention.time",
        value_name = "DUR",
        default_value = "15d"
    )]
    pub retention: Duration,

    /// Delete the oldest data when storage grows beyond this size (e.g. 10GB; base-2 units).
    #[arg(
        long = "retention.size",
        visible_alias = "storage.tsdb.retention.size",
        value_name = "SIZE"
    )]
    pub retention_size: Option<ByteSize>,

    /// How often the write-ahead log is fsynced (writes are acknowledged once in the OS).
    #[arg(long = "wal.fsync-interval", value_name = "DUR", default_value = "1s")]
    pub wal_fsync_interval: Duration,

    /// How often head chunks are written to the database and the WAL is trimmed.
    #[arg(
        long = "storage.flush-interval",
        value_name = "DUR",
        default_value = "1m"
    )]
    pub flush_interval: Duration,

    /// Longest a query may run (the API's `timeout` parameter can only lower it).
    #[arg(long = "query.timeout", value_name = "DUR", default_value = "2m")]
    pub query_timeout: Duration,

    /// How far back an instant selector looks for a sample.
    #[arg(
        long = "query.lookback-delta",
        value_name = "DUR",
        default_value = "5m"
    )]
    pub query_lookback_delta: Duration,

    /// Most queries evaluated at once; others wait in line (within their timeout).
    #[arg(long = "query.max-concurrency", value_name = "N", default_value_t = 20)]
    pub query_max_concurrency: usize,

    /// Most HTTP connections open at once; further clients wait until one closes.
    #[arg(long = "web.max-connections", value_name = "N", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub web_max_connections: u32,

    /// Most samples a single query may load into memory.
    #[arg(
        long = "query.max-samples",
        value_name = "N",
        default_value_t = 50_000_000
    )]
    pub query_max_samples: usize,

    /// Largest remote-write request body accepted (413 above).
    #[arg(
        long = "remote-write.max-bytes",
        value_name = "SIZE",
        default_value = "32MB"
    )]
    pub remote_write_max_bytes: ByteSize,

    /// Most labels per series written by remote write, OTLP or pushes (0: no limit).
    #[arg(
        long = "storage.max-labels-per-series",
        value_name = "N",
        default_value_t = 64
    )]
    pub max_labels_per_series: usize,

    /// Longest label name written by remote write, OTLP or pushes, in bytes (0: no limit).
    #[arg(
        long = "storage.max-label-name-length",
        value_name = "N",
        default_value_t = 1024
    )]
    pub max_label_name_length: usize,

    /// Longest label value written by remote write, OTLP or pushes, in bytes (0: no limit).
    #[arg(
        long = "storage.max-label-value-length",
        value_name = "N",
        default_value_t = 4096
    )]
    pub max_label_value_length: usize,

    /// Allow shutdown and reload over HTTP (`POST /-/quit`, `POST /-/reload`).
    #[arg(long = "web.enable-lifecycle")]
    pub enable_lifecycle: bool,

    /// Enable the admin API (`/api/v1/admin/tsdb/snapshot`, ...).
    #[arg(long = "web.enable-admin-api")]
    pub enable_admin_api: bool,

    /// Web config file (Prometheus's format): TLS and basic-auth users with bcrypt hashes.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,

    /// The URL promterm is reachable at (alert generator URLs, `externalURL` in templates);
    /// default: http://<hostname>:<port>.
    #[arg(long = "web.external-url", value_name = "URL")]
    pub external_url: Option<String>,

    /// How long an alert's `for` state is kept across an outage.
    #[arg(
        long = "rules.alert.for-outage-tolerance",
        value_name = "DUR",
        default_value = "1h"
    )]
    pub for_outage_tolerance: Duration,

    /// Least time an alert waits to fire after a restart when its `for` was restored.
    #[arg(
        long = "rules.alert.for-grace-period",
        value_name = "DUR",
        default_value = "10m"
    )]
    pub for_grace_period: Duration,

    /// Least time between re-sends of a firing alert to Alertmanager.
    #[arg(
        long = "rules.alert.resend-delay",
        value_name = "DUR",
        default_value = "1m"
    )]
    pub resend_delay: Duration,

    #[command(flatten)]
    pub look: TuiLook,

    /// Alerts waiting for Alertmanager at most (the oldest are dropped beyond).
    #[arg(
        long = "alertmanager.notification-queue-capacity",
        value_name = "N",
        default_value_t = 10_000
    )]
    pub notification_queue_capacity: usize,

    /// Features to turn on, comma-separated and repeatable, as Prometheus takes them:
    /// `native-histograms` makes scraping native histograms the default
    /// (`scrape_native_histograms`); unknown features are warned about.
    #[arg(long = "enable-feature", value_name = "FEATURE", value_delimiter = ',')]
    pub enable_feature: Vec<String>,

    /// Store a scrape at its slot on the interval grid when it starts within
    /// `--scrape.timestamp-tolerance` of it (timer jitter otherwise costs disk space), as
    /// Prometheus 2.43+ does; `--scrape.adjust-timestamps=false` keeps the clock's times.
    #[arg(
        long = "scrape.adjust-timestamps",
        value_name = "BOOL",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub scrape_adjust_timestamps: bool,

    /// How far from its slot a scrape may start and still be aligned (at most 1 % of the
    /// scrape interval is used).
    #[arg(
        long = "scrape.timestamp-tolerance",
        value_name = "DUR",
        default_value = "2ms"
    )]
    pub scrape_timestamp_tolerance: Duration,
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Check that prometheus.yml-style config files are valid.
    Config {
        /// Config files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Check rule files: structure, PromQL, templates; duplicate rules are a lint warning.
    Rules {
        /// Rule files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Make lint warnings (duplicate rules) fail the check.
        #[arg(long = "lint-fatal")]
        lint_fatal: bool,
    },
    /// Run a job's service discovery once and show each target's labels before and after
    /// relabeling, or the rule that dropped it (as `promtool check service-discovery`).
    #[command(name = "service-discovery")]
    ServiceDiscovery {
        /// The config file.
        #[arg(value_name = "CONFIG")]
        config: PathBuf,
        /// The job (scrape pool) to run discovery for.
        #[arg(value_name = "JOB")]
        job: String,
        /// How long to wait for every discoverer to report.
        #[arg(long, value_name = "DUR", default_value = "30s")]
        timeout: Duration,
        /// Print promtool's JSON (an array of {discoveredLabels, labels, error}).
        #[arg(long)]
        json: bool,
    },
    /// Check web config files (`--web.config.file`): TLS files and basic-auth hashes.
    #[command(name = "web-config")]
    WebConfig {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

/// Runs the parsed command line; the exit code is for `main` to return.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Check(CheckCommand::Config { files }) => Ok(check::config(&files)),
        Command::Check(CheckCommand::WebConfig { files }) => Ok(check::web_config(&files)),
        Command::Check(CheckCommand::ServiceDiscovery {
            config,
            job,
            timeout,
            json,
        }) => Ok(check_sd::service_discovery(&config, &job, timeout, json)),
        Command::Check(CheckCommand::Rules { files, lint_fatal }) => {
            Ok(check::rules(&files, lint_fatal))
        }
        Command::Test { files } => match files.first().and_then(|f| f.to_str()) {
            Some("rules") => Ok(rules_test(&files[1..])),
            _ => Ok(promql_test(&files)),
        },
        Command::Query(a) => Ok(query::query(a)),
        Command::Series(a) => Ok(query::series(a)),
        Command::Labels(a) => Ok(query::labels(a)),
        Command::Tui(a) => tui(a),
    }
}

/// Where logs go: a file while the TUI owns the terminal, stderr otherwise.
pub fn log_file(cli: &Cli) -> Option<PathBuf> {
    match &cli.command {
        Command::Serve(a) if !a.headless && crate::tui::terminal_available() => {
            Some(a.data.join("promterm.log"))
        }
        Command::Tui(_) => Some(crate::tui::state_log_path()),
        _ => None,
    }
}

fn tui_options(look: &TuiLook, source_name: String) -> anyhow::Result<crate::tui::Options> {
    let name = look.theme.clone().or_else(crate::tui::configured_theme);
    let theme = crate::tui::pick_theme(name.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(crate::tui::Options {
        theme,
        mouse: look.mouse,
        history: crate::tui::prompt::default_history_path(),
        source_name,
        dashboard: look.dashboard.clone(),
        dashboards: look.dashboards.clone(),
    })
}

/// `promterm tui`: the workbench against `--url`.
fn tui(a: TuiArgs) -> anyhow::Result<ExitCode> {
    if !crate::tui::terminal_available() {
        eprintln!("error: promterm tui needs a terminal (stdin and stdout)");
        return Ok(ExitCode::from(2));
    }
    let http = match query::client(&a.server) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let opts = tui_options(&a.look, a.server.url.clone())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(crate::promql::engine::QUERY_STACK_BYTES)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let shutdown = CancellationToken::new();
        let source: std::sync::Arc<dyn crate::client::Source> = std::sync::Arc::new(http);
        crate::tui::run(source, opts, shutdown).await.map(|_| ())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `promterm test rules FILE...`: promtool-format rule unit tests, then the totals.
fn rules_test(files: &[PathBuf]) -> ExitCode {
    let mut t = crate::testrun::rules::Totals::default();
    for f in files {
        let mut out = String::new();
        let r = crate::testrun::rules::run_file(f, &mut out);
        t.passed += r.passed;
        t.failed += r.failed;
        println!("{out}");
    }
    println!("{} passed, {} failed", t.passed, t.failed);
    if t.failed > 0 || files.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `promterm test`: runs each script, prints every failing eval, then the totals.
fn promql_test(files: &[PathBuf]) -> ExitCode {
    let mut totals = crate::testrun::promql::Totals::default();
    for f in files {
        let mut out = String::new();
        totals.add(crate::testrun::promql::run_file(f, &mut out));
        print!("{out}");
    }
    let mut last = format!("{} passed, {} failed", totals.passed, totals.failed);
    if totals.skipped > 0 {
        last.push_str(&format!(", {} skipped", totals.skipped));
    }
    println!("{last}");
    if totals.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("promterm")
        // Queries are parsed and evaluated on these threads (see MAX_QUERY_DEPTH).
        .thread_stack_size(crate::promql::engine::QUERY_STACK_BYTES)
        .build()?;
    let tui = if !args.headless && crate::tui::terminal_available() {
        let name = format!("promterm (local, {})", args.listen);
        Some(tui_options(&args.look, name)?)
    } else {
        None
    };
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(server::shutdown_on_signals(shutdown.clone()));
        let opts = ServeOptions {
            config_file: args.config,
            data_dir: args.data,
            listen: args.listen,
            otlp_grpc_listen: args.otlp_grpc_listen,
            otlp_http_listen: args.otlp_http_listen,
            headless: args.headless,
            retention: args.retention,
            retention_size: args.retention_size,
            wal_fsync_interval: args.wal_fsync_interval,
            flush_interval: args.flush_interval,
            remote_write_max_bytes: args.remote_write_max_bytes,
            label_limits: crate::model::LabelLimits {
                max_labels: args.max_labels_per_series,
                max_name_len: args.max_label_name_length,
                max_value_len: args.max_label_value_length,
            },
            query_timeout: args.query_timeout,
            query_max_concurrency: args.query_max_concurrency,
            web_max_connections: args.web_max_connections as usize,
            query_lookback_delta: args.query_lookback_delta,
            query_max_samples: args.query_max_samples,
            enable_lifecycle: args.enable_lifecycle,
            enable_admin_api: args.enable_admin_api,
            web_config_file: args.web_config_file,
            external_url: args.external_url,
            for_outage_tolerance: args.for_outage_tolerance,
            for_grace_period: args.for_grace_period,
            resend_delay: args.resend_delay,
            notification_queue_capacity: args.notification_queue_capacity,
            enable_features: args.enable_feature,
            scrape_adjust_timestamps: args.scrape_adjust_timestamps,
            scrape_timestamp_tolerance: args.scrape_timestamp_tolerance,
        };
        let result = serve_with_tui(Server::new(opts), tui, shutdown.clone()).await;
        shutdown.cancel();
        result
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Starts the server and, given TUI options, runs the TUI over it in this process; leaving
/// the TUI (or its terminal going away) stops the server as SIGTERM would.
async fn serve_with_tui(
    server: Server,
    tui: Option<crate::tui::Options>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let running = server.start(shutdown.clone()).await?;
    let tui_task = tui.map(|mut o| {
        o.source_name = format!("promterm (local, {})", running.addr());
        let source: std::sync::Arc<dyn crate::client::Source> =
            std::sync::Arc::new(crate::client::Local::new(running.state().clone()));
        let sd = shutdown.clone();
        tokio::spawn(async move {
            // The server stops when the TUI ends, even if it ends by a panic.
            let _stop_server = sd.clone().drop_guard();
            let r = crate::tui::run(source, o, sd.clone()).await;
            match &r {
                Ok(crate::tui::Exit::TerminalGone) => {
                    tracing::info!("the terminal went away; shutting down")
                }
                Ok(crate::tui::Exit::Quit) => tracing::info!("left the terminal UI; shutting down"),
                Err(e) => tracing::warn!("the terminal UI failed: {e:#}; shutting down"),
            }
        })
    });
    let result = running.wait().await;
    if let Some(t) = tui_task {
        if let Err(e) = t.await {
            tracing::warn!("the terminal UI task failed: {e}");
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_defaults() {
        let cli = Cli::try_parse_from(["promterm", "serve"]).unwrap();
        let Command::Serve(a) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(a.listen, "127.0.0.1:9090");
        assert_eq!(a.data, PathBuf::from("./promterm-data"));
        assert_eq!(a.retention.to_string(), "15d");
        assert!(a.config.is_none());
        assert!(!a.headless);
        assert_eq!((a.otlp_grpc_listen, a.otlp_http_listen), (None, None));
    }

    #[test]
    fn otlp_listener_flags() {
        let cli = Cli::try_parse_from([
            "promterm",
            "serve",
            "--otlp.grpc-listen-address",
            "",
            "--otlp.http-listen-address=:14318",
        ])
        .unwrap();
        let Command::Serve(a) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(a.otlp_grpc_listen.as_deref(), Some(""));
        assert_eq!(a.otlp_http_listen.as_deref(), Some(":14318"));
    }

    #[test]
    fn prometheus_flag_aliases_and_global_log_level() {
        let cli = Cli::try_parse_from([
            "promterm",
            "serve",
            "--config.file=p.yml",
            "--web.listen-address",
            ":9091",
            "--storage.tsdb.path",
            "d",
            "--storage.tsdb.retention.time=2d",
            "--log.level",
            "debug",
        ])
        .unwrap();
        assert_eq!(cli.log_level, LogLevel::Debug);
        let Command::Serve(a) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(a.config, Some(PathBuf::from("p.yml")));
        assert_eq!(a.listen, ":9091");
        assert_eq!(a.data, PathBuf::from("d"));
        assert_eq!(a.retention, "2d".parse().unwrap());
    }

    #[test]
    fn storage_flags() {
        let cli = Cli::try_parse_from([
            "promterm",
            "serve",
            "--retention.size",
            "10GB",
            "--wal.fsync-interval",
            "250ms",
            "--storage.flush-interval",
            "5m",
            "--remote-write.max-bytes",
            "1MB",
        ])
        .unwrap();
        let Command::Serve(a) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(a.retention_size, Some(ByteSize(10 << 30)));
        assert_eq!(a.wal_fsync_interval, Duration::from_millis(250));
        assert_eq!(a.flush_interval, Duration::from_secs(300));
        assert_eq!(a.remote_write_max_bytes, ByteSize(1 << 20));
        let err = Cli::try_parse_from(["promterm", "serve", "--retention.size", "lots"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("lots"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = Cli::try_parse_from(["promterm", "serve", "--retention", "2days"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("2days"), "{err}");
        let err = Cli::try_parse_from(["promterm", "--log.level", "loud", "serve"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("loud"), "{err}");
        assert!(Cli::try_parse_from(["promterm", "check", "config"]).is_err());
    }
}
