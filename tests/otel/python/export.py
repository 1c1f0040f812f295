"""Exports one round of metrics with the OpenTelemetry Python SDK, as an application would.

Used by tests/integration/otel_sdk.rs. Arguments:
  --protocol grpc|http   the OTLP exporter (opentelemetry-exporter-otlp-proto-grpc or -http)
  --endpoint URL         where it sends (gRPC: http://host:port; HTTP: http://host:port/v1/metrics)
  --gzip                 compress the exports
  --delta                ask for delta temporality for counters and histograms
  --service NAME         service.name of the resource (default: checkout)
Prints one JSON line: the trace and span ids of the span inside which the histogram observation
carrying an exemplar was recorded.
"""

import argparse
import json

from opentelemetry import trace
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

p = argparse.ArgumentParser()
p.add_argument("--protocol", choices=["grpc", "http"], required=True)
p.add_argument("--endpoint", required=True)
p.add_argument("--gzip", action="store_true")
p.add_argument("--delta", action="store_true")
p.add_argument("--service", default="checkout")
a = p.parse_args()

temporality = {}
if a.delta:
    temporality = {
        Counter: AggregationTemporality.DELTA,
        Histogram: AggregationTemporality.DELTA,
        ObservableCounter: AggregationTemporality.DELTA,
        UpDownCounter: AggregationTemporality.CUMULATIVE,
    }

if a.protocol == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc.exporter import Compression
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    exporter = OTLPMetricExporter(
        endpoint=a.endpoint,
        insecure=True,
        compression=Compression.Gzip if a.gzip else Compression.NoCompression,
        preferred_temporality=temporality,
    )
else:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    exporter = OTLPMetricExporter(
        endpoint=a.endpoint,
        compression=Compression.Gzip if a.gzip else Compression.NoCompression,
        preferred_temporality=temporality,
    )

resource = Resource.create(
    {
        "service.name": a.service,
        "service.namespace": "shop",
        "service.instance.id": "pod-1",
        "deployment.environment": "test",
        "k8s.cluster.name": "eu-1",
    }
)
# A long interval: the exports happen at the explicit flushes below.
reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
provider = MeterProvider(resource=resource, metric_readers=[reader])
tracer = TracerProvider(resource=resource).get_tracer("export.py")
meter = provider.get_meter("shop.checkout", version="1.2.3")

orders = meter.create_counter("orders", unit="{order}", description="Orders placed.")
queue = meter.create_up_down_counter("queue.size", description="Jobs waiting.")
latency = meter.create_histogram(
    "request.duration", unit="s", description="Time to answer a request."
)
meter.create_observable_gauge(
    "cpu.utilization",
    unit="1",
    description="CPU in use.",
    callbacks=[lambda _o: [Observation(0.25, {"cpu": "0"})]],
)

orders.add(3, {"region": "eu"})
queue.add(5)
for v in [0.004, 0.3]:
    latency.record(v, {"route": "/pay"})
ok = provider.force_flush()

# The second round: counters grow, and one observation carries an exemplar of a sampled span.
orders.add(4, {"region": "eu"})
queue.add(-2)
with tracer.start_as_current_span("pay") as span:
    latency.record(7.0, {"route": "/pay"})
    ctx = span.get_span_context()
ok = provider.force_flush() and ok
provider.shutdown()
print(
    json.dumps(
        {
            "ok": ok,
            "trace_id": format(ctx.trace_id, "032x"),
            "span_id": format(ctx.span_id, "016x"),
        }
    )
)
