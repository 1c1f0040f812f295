//! Label helpers every discovery mechanism shares: label names made from foreign keys
//! (Docker and Kubernetes labels, Consul metadata), `__meta_<mech>_<kind>_<key>` labels with
//! their optional `..._present_<key>` twins, and `host:port` addresses. Pure; uses only the
//! discovery label type.

use std::fmt::Display;

use super::LabelMap;

/// A label name made of `[a-zA-Z0-9_]`: every other character becomes `_` (Prometheus's
/// strutil.SanitizeLabelName; callers add a prefix, so a leading digit is fine).
pub fn sanitize_label_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Adds `<prefix><key>` = value for each pair, the key sanitized; with `present`, also
/// `<present><key>` = `"true"` (Kubernetes's `labelpresent_` labels).
pub fn add_prefixed<'a>(
    l: &mut LabelMap,
    prefix: &str,
    present: Option<&str>,
    pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
) {
    for (k, v) in pairs {
        let n = sanitize_label_name(k);
        if let Some(p) = present {
            l.insert(format!("{p}{n}"), "true".into());
        }
        l.insert(format!("{prefix}{n}"), v.clone());
    }
}

/// `host:port`, with brackets around an IPv6 host (Go's net.JoinHostPort).
pub fn join_host_port(host: &str, port: impl Display) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_prefixed_labels_and_addresses() {
        assert_eq!(
            sanitize_label_name("com.example-vendor.tier"),
            "com_example_vendor_tier"
        );
        assert_eq!(
            sanitize_label_name("app.kubernetes.io/name"),
            "app_kubernetes_io_name"
        );
        assert_eq!(sanitize_label_name("ok_Name9"), "ok_Name9");
        assert_eq!(sanitize_label_name("été"), "_t_");
        let pairs: LabelMap = [("a.b".to_string(), "1".to_string())].into();
        let mut l = LabelMap::new();
        add_prefixed(
            &mut l,
            "__meta_x_label_",
            Some("__meta_x_labelpresent_"),
            &pairs,
        );
        add_prefixed(&mut l, "__meta_y_", None, &pairs);
        let got: Vec<(&str, &str)> = l.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            got,
            [
                ("__meta_x_label_a_b", "1"),
                ("__meta_x_labelpresent_a_b", "true"),
                ("__meta_y_a_b", "1")
            ]
        );
        assert_eq!(join_host_port("10.0.0.1", 80), "10.0.0.1:80");
        assert_eq!(join_host_port("fd00::3", 80u16), "[fd00::3]:80");
        assert_eq!(join_host_port("", 80), ":80");
    }
}
