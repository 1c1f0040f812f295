//! Integration tests: the real `promterm` binary, on loopback, against real peers where a
//! feature has one (promtool from Debian's `prometheus` package).

mod check;
mod check_sd;
mod common;
mod consul_sd;
mod dns_sd;
mod exemplars;
mod first_minutes;
mod histogram_query;
mod k8s_fake;
mod k8s_sd;
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
mod sd_alertmanagers;
mod sd_check_config;
mod sd_http_docker;
mod selfmon;
mod send;
mod serve;
mod storage;
mod storage_admin;
mod targets_api;
mod tui;
mod tui_heatmap;
mod tui_relabel;
mod web;
