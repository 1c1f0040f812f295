//! Tests of Kubernetes discovery against a fake API server.
