//! promterm: a terminal-first monitoring workbench compatible with Prometheus, in one crate.
//!
//! The modules form layers, and a module uses only modules in its own layer or below (see
//! `docs/architecture.md`; `tests/integration/layers.rs` checks it). From the top:
//! - `cli`: clap definitions, one handler per subcommand; composes the server and the TUI
//! - `tui`: the terminal workbench (ratatui): app state, views, prompt, completion
//! - `client`: the `Source` trait the TUI and `promterm query` use: in-process or over HTTP
//! - `server`: wiring for `promterm serve` (parts, reload, listeners); knows nothing of the TUI
//! - `api`, `web`: the Prometheus HTTP API (axum); TLS, basic auth and connection limits
//! - `testrun`: the runners behind `promterm test` (promqltest scripts, rule unit tests)
//! - `rules`: recording and alerting rules, alert templates, the Alertmanager notifier
//! - `promql`: the PromQL engine over the `promql-parser` AST, functions by family
//! - `scrape`, `remote`, `send`, `push`, `otlp`: scraping and target discovery, remote write
//!   in, remote write out, Pushgateway-style pushes, OTLP metrics
//! - `tsdb`: the store: head, WAL, Gorilla chunks, SQLite persistence, retention
//! - `storage`: the seams between ingest, store and queries (`Appender`, `Querier`)
//! - `config`, `textparse`: prometheus.yml and rule files; the exposition formats
//! - `model`: names, labels, matchers, samples, time

pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod model;
pub mod otlp;
pub mod promql;
pub mod push;
pub mod remote;
pub mod rules;
pub mod scrape;
pub mod send;
pub mod server;
pub mod storage;
pub mod testrun;
pub mod textparse;
pub mod tsdb;
pub mod tui;
pub mod web;
