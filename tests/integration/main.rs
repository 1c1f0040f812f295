//! Integration tests: the real `promterm` binary, on loopback, against real peers where a
//! feature has one (promtool from Debian's `prometheus` package).

mod check;
mod common;
mod consul_sd;
mod dns_sd;
mod exemplars;
mod first_minutes;
mod histogram_query;
mod layers;
mod native_scrape;
mod nh_remote;
mod nh_rules;
mod otel_sdk;
mod otlp;
mod otlp_listeners;
mod promtool_query;
mod push;
mod query_cli;
mod rules;
mod scrape;
mod selfmon;
mod send;
mod serve;
mod storage;
mod storage_admin;
mod tui;
mod tui_heatmap;
mod web;
