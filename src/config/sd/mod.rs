//! Config sections of the service discovery mechanisms beyond static and file SD, one file
//! each, with Prometheus's keys and defaults. Uses `config` only.

pub mod kubernetes;
