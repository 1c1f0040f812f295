//! Service discovery configs other than static and file ones, one file per mechanism, with
//! Prometheus's keys, defaults and validation messages. Uses `config` only.

pub mod consul;
pub mod dns;
