//! OTLP/JSON decoding into `opentelemetry-proto`'s message types (the same types the protobuf
//! and, later, gRPC paths decode into). OTLP/JSON is proto3's JSON mapping with OTLP's
//! exceptions: lowerCamelCase field names, 64-bit integers as decimal strings (numbers are
//! accepted too), enums as integers (their names are accepted too), trace and span ids as hex,
//! bytes as base64. Scopes, exemplars and exponential histograms (scale, zero count,
//! positive and negative buckets) are read too.
//! The decoder is strict: a field of the wrong type is refused with its path (for example
//! `resourceMetrics[0].scopeMetrics[0].metrics[1].sum.dataPoints[0].asDouble`); unknown fields
//! are ignored, as the specification asks. The crate's own serde mapping is not used: it loses
//! the path of a bad field, and refuses enum names and "NaN"/"Infinity" doubles.
//! Uses `serde_json` and `opentelemetry-proto`.

use base64::Engine;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, exponential_histogram_data_point::Buckets, metric, number_data_point,
    summary_data_point::ValueAtQuantile, Exemplar, ExponentialHistogram,
    ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::Value;

/// Why a body is not a valid OTLP/JSON `ExportMetricsServiceRequest`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid OTLP JSON: {0}")]
pub struct JsonError(pub String);

/// A refusal naming where in the request the bad value is and what it is.
fn jbad(path: &str, want: &str, v: &Value) -> JsonError {
    let mut got = v.to_string();
    if got.len() > 40 {
        let mut end = 40;
        while !got.is_char_boundary(end) {
            end -= 1;
        }
        got.truncate(end);
        got.push_str("...");
    }
    JsonError(format!("{path} must be {want}, got {got}"))
}

/// A repeated field: missing or null is empty.
fn jarr<'a>(v: &'a Value, path: &str) -> Result<&'a [Value], JsonError> {
    match v {
        Value::Null => Ok(&[]),
        Value::Array(a) => Ok(a),
        v => Err(jbad(path, "an array", v)),
    }
}

/// A message field: missing or null is absent.
fn jobj<'a>(v: &'a Value, path: &str) -> Result<Option<&'a Value>, JsonError> {
    match v {
        Value::Null => Ok(None),
        Value::Object(_) => Ok(Some(v)),
        v => Err(jbad(path, "an object", v)),
    }
}

fn jstr<'a>(v: &'a Value, path: &str) -> Result<&'a str, JsonError> {
    match v {
        Value::Null => Ok(""),
        Value::String(s) => Ok(s),
        v => Err(jbad(path, "a string", v)),
    }
}

fn jbool(v: &Value, path: &str) -> Result<bool, JsonError> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        v => Err(jbad(path, "true or false", v)),
    }
}

/// A double: a number, or a string as proto3 JSON allows ("NaN", "Infinity", "1.5").
fn jf64(v: &Value, path: &str) -> Result<Option<f64>, JsonError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| jbad(path, "a number", v)),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(Some(f64::NAN)),
            "Infinity" => Ok(Some(f64::INFINITY)),
            "-Infinity" => Ok(Some(f64::NEG_INFINITY)),
            s => s
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| jbad(path, "a number", v)),
        },
        v => Err(jbad(path, "a number", v)),
    }
}

/// A 64-bit integer: a number or a decimal string (OTLP/JSON writes them as strings).
fn ji64(v: &Value, path: &str) -> Result<Option<i64>, JsonError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| jbad(path, "an integer", v)),
        Value::String(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| jbad(path, "an integer", v)),
        v => Err(jbad(path, "an integer", v)),
    }
}

/// An unsigned 64-bit integer, as `ji64`.
fn ju64(v: &Value, path: &str) -> Result<u64, JsonError> {
    match v {
        Value::Null => Ok(0),
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| jbad(path, "an unsigned integer", v)),
        Value::String(s) => s
            .parse::<u64>()
            .map_err(|_| jbad(path, "an unsigned integer", v)),
        v => Err(jbad(path, "an unsigned integer", v)),
    }
}

/// An `AnyValue` (nested arrays and key-value lists included).
fn jany(val: &Value, vp: &str) -> Result<AnyValue, JsonError> {
    let value = if !val["stringValue"].is_null() {
        Some(any_value::Value::StringValue(
            jstr(&val["stringValue"], &format!("{vp}.stringValue"))?.to_string(),
        ))
    } else if !val["boolValue"].is_null() {
        Some(any_value::Value::BoolValue(jbool(
            &val["boolValue"],
            &format!("{vp}.boolValue"),
        )?))
    } else if !val["intValue"].is_null() {
        ji64(&val["intValue"], &format!("{vp}.intValue"))?.map(any_value::Value::IntValue)
    } else if !val["doubleValue"].is_null() {
        jf64(&val["doubleValue"], &format!("{vp}.doubleValue"))?.map(any_value::Value::DoubleValue)
    } else if !val["bytesValue"].is_null() {
        let p = format!("{vp}.bytesValue");
        let b = base64::engine::general_purpose::STANDARD
            .decode(jstr(&val["bytesValue"], &p)?)
            .map_err(|_| jbad(&p, "base64", &val["bytesValue"]))?;
        Some(any_value::Value::BytesValue(b))
    } else if let Some(a) = jobj(&val["arrayValue"], &format!("{vp}.arrayValue"))? {
        let ap = format!("{vp}.arrayValue.values");
        let mut values = Vec::new();
        for (i, x) in jarr(&a["values"], &ap)?.iter().enumerate() {
            let xp = format!("{ap}[{i}]");
            if let Some(x) = jobj(x, &xp)? {
                values.push(jany(x, &xp)?);
            }
        }
        Some(any_value::Value::ArrayValue(ArrayValue { values }))
    } else if let Some(l) = jobj(&val["kvlistValue"], &format!("{vp}.kvlistValue"))? {
        let values = jattrs(&l["values"], &format!("{vp}.kvlistValue.values"))?;
        Some(any_value::Value::KvlistValue(KeyValueList { values }))
    } else {
        None
    };
    Ok(AnyValue { value })
}

fn jattrs(v: &Value, path: &str) -> Result<Vec<KeyValue>, JsonError> {
    let mut out = Vec::new();
    for (i, kv) in jarr(v, path)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if jobj(kv, &p)?.is_none() {
            continue;
        }
        let key = jstr(&kv["key"], &format!("{p}.key"))?.to_string();
        let vp = format!("{p}.value");
        let val = jobj(&kv["value"], &vp)?.unwrap_or(&Value::Null);
        out.push(KeyValue {
            key,
            value: Some(jany(val, &vp)?),
            ..KeyValue::default()
        });
    }
    Ok(out)
}

/// A trace or span id: hex in OTLP/JSON.
fn jid(v: &Value, path: &str) -> Result<Vec<u8>, JsonError> {
    let s = jstr(v, path)?;
    if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(jbad(path, "a hex id", v));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| jbad(path, "a hex id", v)))
        .collect()
}

fn jexemplars(v: &Value, path: &str) -> Result<Vec<Exemplar>, JsonError> {
    let mut out = Vec::new();
    for (i, e) in jarr(v, path)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let f = |name: &str| format!("{p}.{name}");
        let value = match ji64(&e["asInt"], &f("asInt"))? {
            Some(i) => Some(exemplar::Value::AsInt(i)),
            None => jf64(&e["asDouble"], &f("asDouble"))?.map(exemplar::Value::AsDouble),
        };
        out.push(Exemplar {
            filtered_attributes: jattrs(&e["filteredAttributes"], &f("filteredAttributes"))?,
            time_unix_nano: ju64(&e["timeUnixNano"], &f("timeUnixNano"))?,
            span_id: jid(&e["spanId"], &f("spanId"))?,
            trace_id: jid(&e["traceId"], &f("traceId"))?,
            value,
        });
    }
    Ok(out)
}

/// An enum: its name or its number.
fn jtemporality(v: &Value, path: &str) -> Result<i32, JsonError> {
    match v {
        Value::String(s) if s.ends_with("UNSPECIFIED") => Ok(0),
        Value::String(s) if s.ends_with("DELTA") => Ok(1),
        Value::String(s) if s.ends_with("CUMULATIVE") => Ok(2),
        Value::String(_) => Err(jbad(path, "an aggregation temporality", v)),
        v => i32::try_from(ju64(v, path)?).map_err(|_| jbad(path, "an aggregation temporality", v)),
    }
}

fn ju32(v: &Value, path: &str) -> Result<u32, JsonError> {
    u32::try_from(ju64(v, path)?).map_err(|_| jbad(path, "a 32-bit unsigned integer", v))
}

/// The data points of a gauge, sum, histogram or summary, each read by `point`.
fn jpoints<T>(
    data: &Value,
    path: &str,
    point: fn(&Value, &str) -> Result<T, JsonError>,
) -> Result<Vec<T>, JsonError> {
    let dp = format!("{path}.dataPoints");
    jarr(&data["dataPoints"], &dp)?
        .iter()
        .enumerate()
        .map(|(i, p)| point(p, &format!("{dp}[{i}]")))
        .collect()
}

fn jnumber_point(p: &Value, path: &str) -> Result<NumberDataPoint, JsonError> {
    let f = |name: &str| format!("{path}.{name}");
    let value = match ji64(&p["asInt"], &f("asInt"))? {
        Some(i) => Some(number_data_point::Value::AsInt(i)),
        None => jf64(&p["asDouble"], &f("asDouble"))?.map(number_data_point::Value::AsDouble),
    };
    Ok(NumberDataPoint {
        attributes: jattrs(&p["attributes"], &f("attributes"))?,
        start_time_unix_nano: ju64(&p["startTimeUnixNano"], &f("startTimeUnixNano"))?,
        time_unix_nano: ju64(&p["timeUnixNano"], &f("timeUnixNano"))?,
        flags: ju32(&p["flags"], &f("flags"))?,
        value,
        exemplars: jexemplars(&p["exemplars"], &f("exemplars"))?,
    })
}

fn jhistogram_point(p: &Value, path: &str) -> Result<HistogramDataPoint, JsonError> {
    let f = |name: &str| format!("{path}.{name}");
    let mut bucket_counts = Vec::new();
    for (i, b) in jarr(&p["bucketCounts"], &f("bucketCounts"))?
        .iter()
        .enumerate()
    {
        bucket_counts.push(ju64(b, &format!("{path}.bucketCounts[{i}]"))?);
    }
    let mut explicit_bounds = Vec::new();
    for (i, b) in jarr(&p["explicitBounds"], &f("explicitBounds"))?
        .iter()
        .enumerate()
    {
        explicit_bounds.push(jf64(b, &format!("{path}.explicitBounds[{i}]"))?.unwrap_or(0.0));
    }
    Ok(HistogramDataPoint {
        attributes: jattrs(&p["attributes"], &f("attributes"))?,
        start_time_unix_nano: ju64(&p["startTimeUnixNano"], &f("startTimeUnixNano"))?,
        time_unix_nano: ju64(&p["timeUnixNano"], &f("timeUnixNano"))?,
        count: ju64(&p["count"], &f("count"))?,
        sum: jf64(&p["sum"], &f("sum"))?,
        bucket_counts,
        explicit_bounds,
        flags: ju32(&p["flags"], &f("flags"))?,
        exemplars: jexemplars(&p["exemplars"], &f("exemplars"))?,
        ..HistogramDataPoint::default()
    })
}

fn jsummary_point(p: &Value, path: &str) -> Result<SummaryDataPoint, JsonError> {
    let f = |name: &str| format!("{path}.{name}");
    let mut quantile_values = Vec::new();
    for (i, q) in jarr(&p["quantileValues"], &f("quantileValues"))?
        .iter()
        .enumerate()
    {
        let qp = format!("{path}.quantileValues[{i}]");
        quantile_values.push(ValueAtQuantile {
            quantile: jf64(&q["quantile"], &format!("{qp}.quantile"))?.unwrap_or(0.0),
            value: jf64(&q["value"], &format!("{qp}.value"))?.unwrap_or(0.0),
        });
    }
    Ok(SummaryDataPoint {
        attributes: jattrs(&p["attributes"], &f("attributes"))?,
        start_time_unix_nano: ju64(&p["startTimeUnixNano"], &f("startTimeUnixNano"))?,
        time_unix_nano: ju64(&p["timeUnixNano"], &f("timeUnixNano"))?,
        count: ju64(&p["count"], &f("count"))?,
        sum: jf64(&p["sum"], &f("sum"))?.unwrap_or(0.0),
        quantile_values,
        flags: ju32(&p["flags"], &f("flags"))?,
    })
}

fn ji32(v: &Value, path: &str) -> Result<i32, JsonError> {
    let i = ji64(v, path)?.unwrap_or(0);
    i32::try_from(i).map_err(|_| jbad(path, "a 32-bit integer", v))
}

/// An array of unsigned 64-bit integers.
fn ju64s(v: &Value, path: &str) -> Result<Vec<u64>, JsonError> {
    jarr(v, path)?
        .iter()
        .enumerate()
        .map(|(i, b)| ju64(b, &format!("{path}[{i}]")))
        .collect()
}

/// The positive or negative buckets of an exponential histogram point.
fn jexp_buckets(v: &Value, path: &str) -> Result<Option<Buckets>, JsonError> {
    let Some(b) = jobj(v, path)? else {
        return Ok(None);
    };
    Ok(Some(Buckets {
        offset: ji32(&b["offset"], &format!("{path}.offset"))?,
        bucket_counts: ju64s(&b["bucketCounts"], &format!("{path}.bucketCounts"))?,
    }))
}

fn jexp_point(p: &Value, path: &str) -> Result<ExponentialHistogramDataPoint, JsonError> {
    let f = |name: &str| format!("{path}.{name}");
    Ok(ExponentialHistogramDataPoint {
        attributes: jattrs(&p["attributes"], &f("attributes"))?,
        start_time_unix_nano: ju64(&p["startTimeUnixNano"], &f("startTimeUnixNano"))?,
        time_unix_nano: ju64(&p["timeUnixNano"], &f("timeUnixNano"))?,
        count: ju64(&p["count"], &f("count"))?,
        sum: jf64(&p["sum"], &f("sum"))?,
        scale: ji32(&p["scale"], &f("scale"))?,
        zero_count: ju64(&p["zeroCount"], &f("zeroCount"))?,
        positive: jexp_buckets(&p["positive"], &f("positive"))?,
        negative: jexp_buckets(&p["negative"], &f("negative"))?,
        flags: ju32(&p["flags"], &f("flags"))?,
        exemplars: jexemplars(&p["exemplars"], &f("exemplars"))?,
        min: jf64(&p["min"], &f("min"))?,
        max: jf64(&p["max"], &f("max"))?,
        zero_threshold: jf64(&p["zeroThreshold"], &f("zeroThreshold"))?.unwrap_or(0.0),
    })
}

fn jmetric(m: &Value, path: &str) -> Result<Metric, JsonError> {
    let f = |name: &str| format!("{path}.{name}");
    let data = if let Some(g) = jobj(&m["gauge"], &f("gauge"))? {
        Some(metric::Data::Gauge(Gauge {
            data_points: jpoints(g, &f("gauge"), jnumber_point)?,
        }))
    } else if let Some(s) = jobj(&m["sum"], &f("sum"))? {
        Some(metric::Data::Sum(Sum {
            is_monotonic: jbool(&s["isMonotonic"], &f("sum.isMonotonic"))?,
            aggregation_temporality: jtemporality(
                &s["aggregationTemporality"],
                &f("sum.aggregationTemporality"),
            )?,
            data_points: jpoints(s, &f("sum"), jnumber_point)?,
        }))
    } else if let Some(h) = jobj(&m["histogram"], &f("histogram"))? {
        Some(metric::Data::Histogram(Histogram {
            aggregation_temporality: jtemporality(
                &h["aggregationTemporality"],
                &f("histogram.aggregationTemporality"),
            )?,
            data_points: jpoints(h, &f("histogram"), jhistogram_point)?,
        }))
    } else if let Some(s) = jobj(&m["summary"], &f("summary"))? {
        Some(metric::Data::Summary(Summary {
            data_points: jpoints(s, &f("summary"), jsummary_point)?,
        }))
    } else if let Some(h) = jobj(&m["exponentialHistogram"], &f("exponentialHistogram"))? {
        // Read only as far as refusing its points needs (no native histograms yet).
        Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
            aggregation_temporality: jtemporality(
                &h["aggregationTemporality"],
                &f("exponentialHistogram.aggregationTemporality"),
            )?,
            data_points: jpoints(h, &f("exponentialHistogram"), jexp_point)?,
        }))
    } else {
        None
    };
    Ok(Metric {
        name: jstr(&m["name"], &f("name"))?.to_string(),
        description: jstr(&m["description"], &f("description"))?.to_string(),
        unit: jstr(&m["unit"], &f("unit"))?.to_string(),
        data,
        ..Metric::default()
    })
}

/// Decodes an OTLP/JSON `ExportMetricsServiceRequest` strictly (see the module doc).
pub fn decode(b: &[u8]) -> Result<ExportMetricsServiceRequest, JsonError> {
    let v: Value = serde_json::from_slice(b).map_err(|e| JsonError(e.to_string()))?;
    if !v.is_object() {
        return Err(jbad("the request", "an object", &v));
    }
    let mut resource_metrics = Vec::new();
    for (i, rm) in jarr(&v["resourceMetrics"], "resourceMetrics")?
        .iter()
        .enumerate()
    {
        let rp = format!("resourceMetrics[{i}]");
        let resource = match jobj(&rm["resource"], &format!("{rp}.resource"))? {
            Some(r) => Some(Resource {
                attributes: jattrs(&r["attributes"], &format!("{rp}.resource.attributes"))?,
                ..Resource::default()
            }),
            None => None,
        };
        let mut scope_metrics = Vec::new();
        for (j, sm) in jarr(&rm["scopeMetrics"], &format!("{rp}.scopeMetrics"))?
            .iter()
            .enumerate()
        {
            let smp = format!("{rp}.scopeMetrics[{j}]");
            let sp = format!("{smp}.metrics");
            let mut metrics = Vec::new();
            for (k, m) in jarr(&sm["metrics"], &sp)?.iter().enumerate() {
                metrics.push(jmetric(m, &format!("{sp}[{k}]"))?);
            }
            let scope = match jobj(&sm["scope"], &format!("{smp}.scope"))? {
                Some(sc) => Some(InstrumentationScope {
                    name: jstr(&sc["name"], &format!("{smp}.scope.name"))?.to_string(),
                    version: jstr(&sc["version"], &format!("{smp}.scope.version"))?.to_string(),
                    attributes: jattrs(&sc["attributes"], &format!("{smp}.scope.attributes"))?,
                    ..InstrumentationScope::default()
                }),
                None => None,
            };
            scope_metrics.push(ScopeMetrics {
                scope,
                metrics,
                schema_url: jstr(&sm["schemaUrl"], &format!("{smp}.schemaUrl"))?.to_string(),
            });
        }
        resource_metrics.push(ResourceMetrics {
            resource,
            scope_metrics,
            schema_url: jstr(&rm["schemaUrl"], &format!("{rp}.schemaUrl"))?.to_string(),
        });
    }
    Ok(ExportMetricsServiceRequest { resource_metrics })
}
