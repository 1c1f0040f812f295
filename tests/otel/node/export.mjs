// Exports metrics with the OpenTelemetry JS SDK (@opentelemetry/sdk-metrics) over OTLP/gRPC
// (@opentelemetry/exporter-metrics-otlp-grpc, which speaks through @grpc/grpc-js), as a Node.js
// service would. Used by tests/integration/otel_sdk.rs.
//   node export.mjs URL cumulative|delta SERVICE
// URL: the gRPC endpoint (http://host:port). With `delta`, counters and histograms are exported
// with delta temporality. SERVICE is the resource's service.name. Prints one JSON line when both exports succeeded.
import { metrics } from "@opentelemetry/api";
import {
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  OTLPMetricExporter,
} from "@opentelemetry/exporter-metrics-otlp-grpc";
import { AggregationTemporalityPreference } from "@opentelemetry/exporter-metrics-otlp-http";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";

const [url, mode, service] = process.argv.slice(2);
const exporter = new OTLPMetricExporter({
  url,
  compression: "gzip",
  temporalityPreference:
    mode === "delta"
      ? AggregationTemporalityPreference.DELTA
      : AggregationTemporalityPreference.CUMULATIVE,
});
const reader = new PeriodicExportingMetricReader({
  exporter,
  exportIntervalMillis: 3_600_000,
});
const provider = new MeterProvider({
  // The SDK's own attributes (telemetry.sdk.*) and the service's, as NodeSDK sets them up.
  resource: defaultResource().merge(
    resourceFromAttributes({
      "service.name": service,
      "service.instance.id": "node-1",
      "host.name": "box-7",
    }),
  ),
  readers: [reader],
});
metrics.setGlobalMeterProvider(provider);
const meter = provider.getMeter("cart.js", "0.4.0");

const items = meter.createCounter("cart.items", { description: "Items added." });
const open = meter.createUpDownCounter("cart.open", { description: "Open carts." });
const size = meter.createHistogram("cart.size.bytes", {
  unit: "By",
  description: "Cart payload size.",
  advice: { explicitBucketBoundaries: [100, 1000, 10000] },
});
const temp = meter.createGauge("room.temperature", { unit: "Cel" });

items.add(2, { kind: "book" });
open.add(3);
size.record(50);
size.record(5000);
temp.record(21.5, { room: "a" });
await provider.forceFlush();
items.add(5, { kind: "book" });
open.add(-1);
size.record(700);
temp.record(22.5, { room: "a" });
await provider.forceFlush();
await provider.shutdown();
console.log(JSON.stringify({ ok: true }));
