//! Labels from OTLP attributes as Prometheus 3's translator makes them: attribute values as
//! text (pdata's `AsString`), point attributes whose names collide joined with `;`, promoted
//! resource attributes, scope labels (`promote_scope_metadata`), `job`/`instance` from
//! `service.namespace`/`service.name`/`service.instance.id`, and the `target_info` series of a
//! resource. Uses `config`, `names` and `opentelemetry-proto`.

use std::collections::BTreeMap;

use base64::Engine;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::ScopeMetrics;

use super::names::Namer;
use crate::config::OtlpConfig;

const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE_ID: &str = "service.instance.id";
/// The resource attributes that make `job` and `instance`.
pub const IDENTIFYING: [&str; 3] = [SERVICE_NAMESPACE, SERVICE_NAME, SERVICE_INSTANCE_ID];

/// A double as pdata prints it (ECMAScript number-to-string: plain unless the magnitude is
/// below 1e-6 or from 1e21 on).
fn double_text(f: f64) -> String {
    if !f.is_finite() {
        let g = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        return format!("json: unsupported value: {g}");
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        }
    } else {
        format!("{f}")
    }
}

fn json_of(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match &v.value {
        Some(any_value::Value::StringValue(s)) => J::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => J::Bool(*b),
        Some(any_value::Value::IntValue(i)) => J::from(*i),
        Some(any_value::Value::DoubleValue(d)) => {
            serde_json::Number::from_f64(*d).map_or(J::Null, J::Number)
        }
        Some(any_value::Value::BytesValue(b)) => {
            J::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Some(any_value::Value::ArrayValue(a)) => J::Array(a.values.iter().map(json_of).collect()),
        Some(any_value::Value::KvlistValue(l)) => {
            // Keys sorted, as Go's encoding/json writes maps.
            let sorted: BTreeMap<String, J> = l
                .values
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(J::Null, json_of)))
                .collect();
            J::Object(sorted.into_iter().collect())
        }
        // Profiles' string-table references carry no text here.
        Some(_) | None => J::Null,
    }
}

/// An attribute value as label text, as pdata's `AsString` gives it: strings as they are,
/// numbers and booleans printed, bytes in base64, arrays and maps as JSON; no value is "".
pub fn attr_text(kv: &KeyValue) -> String {
    let Some(v) = &kv.value else {
        return String::new();
    };
    match &v.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => double_text(*d),
        Some(any_value::Value::BytesValue(b)) => {
            base64::engine::general_purpose::STANDARD.encode(b)
        }
        Some(_) => json_of(v).to_string(),
        None => String::new(),
    }
}

/// Label names for `attrs` (sorted by key first; values of keys that become the same name are
/// joined with `;`), skipping the keys in `skip`. A key without a valid name is an error.
pub fn attribute_labels(
    namer: &Namer,
    attrs: &[KeyValue],
    skip: &[&str],
) -> Result<BTreeMap<String, String>, String> {
    let mut pairs: Vec<(&str, String)> = attrs
        .iter()
        .filter(|kv| !skip.contains(&kv.key.as_str()))
        .map(|kv| (kv.key.as_str(), attr_text(kv)))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in pairs {
        let name = namer.label(k)?;
        match out.get_mut(&name) {
            Some(old) => {
                old.push(';');
                old.push_str(&v);
            }
            None => {
                out.insert(name, v);
            }
        }
    }
    Ok(out)
}

/// What one resource contributes to the labels of its series.
#[derive(Debug, Default)]
pub struct ResourceLabels {
    /// The resource's attributes as sent.
    pub attrs: Vec<KeyValue>,
    pub job: Option<String>,
    pub instance: Option<String>,
    /// Promoted attributes (label name, value), added where the point has no such label.
    pub promoted: Vec<(String, String)>,
}

impl ResourceLabels {
    pub fn new(cfg: &OtlpConfig, namer: &Namer, attrs: &[KeyValue]) -> Self {
        let get = |k: &str| attrs.iter().find(|kv| kv.key == k).map(attr_text);
        // `job` needs `service.name`; the namespace only prefixes it.
        let job = get(SERVICE_NAME).map(|n| match get(SERVICE_NAMESPACE) {
            Some(ns) => format!("{ns}/{n}"),
            None => n,
        });
        let mut chosen: Vec<&KeyValue> = attrs
            .iter()
            .filter(|kv| {
                let listed = |l: &[String]| l.contains(&kv.key);
                if cfg.promote_all_resource_attributes {
                    !listed(&cfg.ignore_resource_attributes)
                } else {
                    listed(&cfg.promote_resource_attributes)
                }
            })
            .collect();
        chosen.sort_by(|a, b| a.key.cmp(&b.key));
        let mut promoted: Vec<(String, String)> = Vec::new();
        for kv in chosen {
            // An attribute without a valid label name cannot be promoted; target_info skips it too.
            if let Ok(n) = namer.label(&kv.key) {
                if !promoted.iter().any(|(p, _)| *p == n) {
                    promoted.push((n, attr_text(kv)));
                }
            }
        }
        ResourceLabels {
            attrs: attrs.to_vec(),
            job,
            instance: get(SERVICE_INSTANCE_ID),
            promoted,
        }
    }

    /// The `target_info` labels (without `__name__`), when the resource has attributes besides
    /// the identifying ones and a `job` or `instance`.
    pub fn target_info(&self, cfg: &OtlpConfig, namer: &Namer) -> Option<BTreeMap<String, String>> {
        let others = self
            .attrs
            .iter()
            .filter(|kv| !IDENTIFYING.contains(&kv.key.as_str()))
            .count();
        if others == 0 || (self.job.is_none() && self.instance.is_none()) {
            return None;
        }
        let skip: &[&str] = if cfg.keep_identifying_resource_attributes {
            &[]
        } else {
            &IDENTIFYING
        };
        // Attributes without a valid label name are left out rather than losing target_info.
        let valid: Vec<KeyValue> = self
            .attrs
            .iter()
            .filter(|kv| namer.label(&kv.key).is_ok())
            .cloned()
            .collect();
        let mut l = attribute_labels(namer, &valid, skip).ok()?;
        self.identify(&mut l);
        Some(l)
    }

    /// Sets `job` and `instance` (over any attribute of those names).
    pub fn identify(&self, l: &mut BTreeMap<String, String>) {
        if let Some(j) = &self.job {
            l.insert("job".into(), j.clone());
        }
        if let Some(i) = &self.instance {
            l.insert("instance".into(), i.clone());
        }
    }
}

/// The scope labels of a scope (empty unless `promote_scope_metadata` and the scope has a name).
pub fn scope_labels(cfg: &OtlpConfig, namer: &Namer, sm: &ScopeMetrics) -> Vec<(String, String)> {
    let Some(scope) = sm.scope.as_ref().filter(|s| !s.name.is_empty()) else {
        return Vec::new();
    };
    if !cfg.promote_scope_metadata {
        return Vec::new();
    }
    let mut out = Vec::new();
    for kv in &scope.attributes {
        if let Ok(n) = namer.label(&format!("otel_scope_{}", kv.key)) {
            out.push((n, attr_text(kv)));
        }
    }
    // Name, version and schema URL last: an attribute called `name` cannot replace them.
    out.extend([
        ("otel_scope_name".to_string(), scope.name.clone()),
        ("otel_scope_version".to_string(), scope.version.clone()),
        ("otel_scope_schema_url".to_string(), sm.schema_url.clone()),
    ]);
    out
}

/// A point's labels (without `__name__`): its attributes, then promoted resource attributes
/// where absent, then scope labels and `job`/`instance` over anything of the same name.
pub fn point_labels(
    namer: &Namer,
    res: &ResourceLabels,
    scope: &[(String, String)],
    attrs: &[KeyValue],
) -> Result<BTreeMap<String, String>, String> {
    let mut l = attribute_labels(namer, attrs, &[])?;
    for (k, v) in &res.promoted {
        l.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in scope {
        l.insert(k.clone(), v.clone());
    }
    res.identify(&mut l);
    Ok(l)
}
