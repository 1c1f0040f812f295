//! The config sections of the service discovery mechanisms other than static and file ones,
//! one file per mechanism, with Prometheus's keys, defaults and validation messages. Uses only
//! the rest of `config`.

pub mod consul;
pub mod dns;
pub mod docker;
pub mod http;
pub mod kubernetes;
