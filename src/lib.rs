//! promterm: a terminal-first monitoring workbench compatible with Prometheus.
//!
//! Layout (see DESIGN.md): a module may use only modules listed above it.
//! - `model`: names, labels, samples (std only)
//! - `config`: prometheus.yml parsing, defaults and validation
//! - `storage`: the Appender and Querier seams
//! - `tsdb`: head, WAL, XOR chunks, SQLite persistence, retention
//! - `remote`: remote-write receive (snappy + protobuf)
//! - `promql`: PromQL parsing (selectors for now)
//! - `api`: the HTTP router (axum)
//! - `cli`: clap definitions and one handler per subcommand
//! - `server`: wiring for `promterm serve`

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
