//! OTLP/HTTP with a real client: the OpenTelemetry Python SDK's OTLP/HTTP (protobuf) metric
//! exporter sends a counter, an up-down counter, a histogram and an observable gauge; promterm
//! stores them under Prometheus's translated names with job/instance from the resource and a
//! target_info series.

use std::net::SocketAddr;
use std::process::Command;

use serde_json::Value;

use crate::common::{data, wait_for};
use crate::common::{escape, http_post, Server};

fn result(addr: SocketAddr, q: &str) -> Value {
    data(addr, &escape(&format!("/api/v1/query?query={q}")))["result"].clone()
}

#[test]
fn opentelemetry_python_sdk_exports_into_promterm() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.yml"), "scrape_configs: []\n").unwrap();
    let srv = Server::start(&[
        "--headless",
        "--config",
        dir.path().join("p.yml").to_str().unwrap(),
        "--data",
        dir.path().join("d").to_str().unwrap(),
    ]);
    let script = format!(
        r#"
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import Observation
exp = OTLPMetricExporter(endpoint="http://{addr}/api/v1/otlp/v1/metrics")
reader = PeriodicExportingMetricReader(exp, export_interval_millis=60000)
res = Resource.create({{"service.name": "checkout", "service.instance.id": "pod-1", "deployment.environment": "test"}})
provider = MeterProvider(resource=res, metric_readers=[reader])
m = provider.get_meter("it")
c = m.create_counter("orders", unit="{{order}}")
c.add(3, {{"region": "eu"}}); c.add(4, {{"region": "eu"}})
ud = m.create_up_down_counter("queue.size")
ud.add(5); ud.add(-2)
h = m.create_histogram("request.duration", unit="s")
for v in [0.004, 0.3, 0.3, 7.0]:
    h.record(v)
m.create_observable_gauge("cpu.utilization", unit="1", callbacks=[lambda o: [Observation(0.25)]])
provider.force_flush()
provider.shutdown()
"#,
        addr = srv.addr
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "the OpenTelemetry SDK failed (.ci/run installs opentelemetry-sdk and the OTLP/HTTP exporter): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for("OTLP samples", 10, || {
        result(srv.addr, "orders_total")
            .as_array()
            .is_some_and(|r| !r.is_empty())
    });
    let r = result(srv.addr, "orders_total");
    assert_eq!(
        r[0]["metric"],
        serde_json::json!({"__name__": "orders_total", "job": "checkout", "instance": "pod-1", "region": "eu"})
    );
    assert_eq!(r[0]["value"][1], "7");
    assert_eq!(result(srv.addr, "queue_size")[0]["value"][1], "3");
    assert_eq!(
        result(srv.addr, "cpu_utilization_ratio")[0]["value"][1],
        "0.25"
    );
    assert_eq!(
        result(srv.addr, "request_duration_seconds_count")[0]["value"][1],
        "4"
    );
    let b = result(srv.addr, "request_duration_seconds_bucket{le=\"%2BInf\"}");
    assert_eq!(b[0]["value"][1], "4");
    let q = result(
        srv.addr,
        "histogram_quantile(0.5, request_duration_seconds_bucket)",
    );
    assert!(q[0]["value"][1].as_str().is_some(), "{q}");
    let ti = result(srv.addr, "target_info");
    assert_eq!(ti[0]["metric"]["deployment_environment"], "test");
    // Other content types are refused by name.
    let (code, body) = http_post(
        srv.addr,
        "/api/v1/otlp/v1/metrics",
        &[("Content-Type", "text/plain")],
        b"x",
    );
    assert_eq!(code, 415, "{body}");
}
