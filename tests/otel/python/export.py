"""Exports one round of metrics with the OpenTelemetry Python SDK, as an application would.

Used by tests/integration/otel_sdk.rs. Arguments:
  --protocol grpc|http   the OTLP exporter (opentelemetry-exporter-otlp-proto-grpc or -http)
  --endpoint URL         where it sends (gRPC: http://host:port; HTTP: http://host:port/v1/metrics)
  --gzip                 compress the exports
  --delta                ask for delta temporality for counters and histograms
  --service NAME         service.name of the resource (default: checkout)
  --exponential          histograms with the base-2 exponential bucket aggregation (a View);
                         a zero observation and a second histogram, `tight.values`, whose
                         close values the SDK keeps at a scale above 8, are recorded too
Prints one JSON line: the trace and span ids of the span inside which the histogram observation
carrying an exemplar was recorded; with --exponential also `points`: the SDK's own final
cumulative exponential data point of each histogram (read by a second, in-memory reader:
scale, zero_count, positive/negative offset and bucket_counts, sum, count).
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
    InMemoryMetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

p = argparse.ArgumentParser()
p.add_argument("--protocol", choices=["grpc", "http"], required=True)
p.add_argument("--endpoint", required=True)
p.add_argument("--gzip", action="store_true")
p.add_argument("--delta", action="store_true")
p.add_argument("--service", default="checkout")
p.add_argument("--exponential", action="store_true")
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
views = []
# Always cumulative: what the exports add up to, whatever their temporality.
memory = InMemoryMetricReader()
readers = [reader]
if a.exponential:
    views = [
        View(
            instrument_type=Histogram,
            aggregation=ExponentialBucketHistogramAggregation(),
        )
    ]
    readers.append(memory)
provider = MeterProvider(resource=resource, metric_readers=readers, views=views)
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
if a.exponential:
    latency.record(0.0, {"route": "/pay"})
    tight = meter.create_histogram("tight.values", unit="s")
    for v in [1.0001, 1.0002, 1.00021]:
        tight.record(v)
ok = provider.force_flush()

# The second round: counters grow, and one observation carries an exemplar of a sampled span.
orders.add(4, {"region": "eu"})
queue.add(-2)
with tracer.start_as_current_span("pay") as span:
    latency.record(7.0, {"route": "/pay"})
    ctx = span.get_span_context()
ok = provider.force_flush() and ok
out = {
    "ok": ok,
    "trace_id": format(ctx.trace_id, "032x"),
    "span_id": format(ctx.span_id, "016x"),
}
if a.exponential:
    points = {}
    for rm in memory.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name not in ("request.duration", "tight.values"):
                    continue
                (dp,) = m.data.data_points
                side = lambda b: {"offset": b.offset, "bucket_counts": list(b.bucket_counts)}
                points[m.name] = {
                    "scale": dp.scale,
                    "zero_count": dp.zero_count,
                    "positive": side(dp.positive),
                    "negative": side(dp.negative),
                    "sum": dp.sum,
                    "count": dp.count,
                }
    out["points"] = points
provider.shutdown()
print(json.dumps(out))
