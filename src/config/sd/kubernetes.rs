//! `kubernetes_sd_configs`: Prometheus's keys (discovery/kubernetes/kubernetes.go `SDConfig`):
//! `role`, `api_server`, `kubeconfig_file`, `namespaces`, `selectors`, `attach_metadata` and
//! the HTTP client settings, with its checks (`SDConfig.UnmarshalYAML`) in our own words.
//! Uses `config::http` only.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::http::with_http_client_config;

/// What a Kubernetes discoverer lists: one of Prometheus's six roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Role {
    Node,
    Pod,
    Service,
    Endpoints,
    EndpointSlice,
    Ingress,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Pod => "pod",
            Role::Service => "service",
            Role::Endpoints => "endpoints",
            Role::EndpointSlice => "endpointslice",
            Role::Ingress => "ingress",
        }
    }

    /// The selector roles a discoverer of this role accepts (Prometheus's `allowedSelectors`).
    pub fn allowed_selectors(self) -> &'static [Role] {
        match self {
            Role::Endpoints => &[Role::Pod, Role::Service, Role::Endpoints],
            Role::EndpointSlice => &[Role::Pod, Role::Service, Role::EndpointSlice],
            Role::Node => &[Role::Node],
            Role::Pod => &[Role::Pod],
            Role::Service => &[Role::Service],
            Role::Ingress => &[Role::Ingress],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(s: String) -> Result<Role, String> {
        Ok(match s.as_str() {
            "node" => Role::Node,
            "pod" => Role::Pod,
            "service" => Role::Service,
            "endpoints" => Role::Endpoints,
            "endpointslice" => Role::EndpointSlice,
            "ingress" => Role::Ingress,
            _ => return Err(format!("unknown Kubernetes SD role {s:?}")),
        })
    }
}

impl From<Role> for String {
    fn from(r: Role) -> String {
        r.as_str().to_string()
    }
}

/// `namespaces`: which namespaces to watch (none: all).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceDiscovery {
    /// The namespace promterm runs in (in-cluster only).
    #[serde(default)]
    pub own_namespace: bool,
    #[serde(default)]
    pub names: Vec<String>,
}

/// One `selectors` entry: label and field selectors for the objects of `role`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorConfig {
    pub role: Role,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub field: String,
}

/// `attach_metadata`: labels of the node (pod, endpoints, endpointslice roles) and of the
/// namespace (every role but node) added to the targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachMetadata {
    #[serde(default)]
    pub node: bool,
    #[serde(default)]
    pub namespace: bool,
}

with_http_client_config! {
    /// One `kubernetes_sd_configs` entry.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct KubernetesSdConfig {
        #[serde(default)]
        pub role: Option<Role>,
        #[serde(default)]
        pub api_server: Option<String>,
        #[serde(default)]
        pub kubeconfig_file: Option<String>,
        #[serde(default)]
        pub namespaces: NamespaceDiscovery,
        #[serde(default)]
        pub selectors: Vec<SelectorConfig>,
        #[serde(default)]
        pub attach_metadata: AttachMetadata,
    }
}

impl KubernetesSdConfig {
    /// The role (set once the config has been validated).
    pub fn role(&self) -> Role {
        self.role.unwrap_or(Role::Pod)
    }

    /// The label and field selectors for objects of `role`.
    pub fn selector(&self, role: Role) -> Option<&SelectorConfig> {
        self.selectors.iter().find(|s| s.role == role)
    }

    /// Whether any HTTP client setting differs from the default.
    fn custom_http_client(&self) -> bool {
        let h = self.http_client();
        h.basic_auth.is_some()
            || h.authorization.is_some()
            || h.bearer_token.is_some()
            || h.bearer_token_file.is_some()
            || *h.tls_config != Default::default()
            || h.proxy_url.is_some()
            || h.no_proxy.is_some()
            || h.proxy_from_environment
            || !h.follow_redirects
            || !h.enable_http2
    }

    /// Prometheus's checks; relative files become relative to `dir`.
    pub fn validate(&mut self, dir: &Path) -> Result<(), String> {
        let role = self.role.ok_or_else(|| {
            "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)"
                .to_string()
        })?;
        self.http_client().validate()?;
        let kubeconfig = self
            .kubeconfig_file
            .as_deref()
            .is_some_and(|k| !k.is_empty());
        if let Some(a) = &self.api_server {
            let u = url::Url::parse(a).map_err(|e| format!("invalid api_server {a:?}: {e}"))?;
            if !matches!(u.scheme(), "http" | "https") {
                return Err(format!(
                    "invalid api_server {a:?}: scheme must be http or https"
                ));
            }
        }
        if self.api_server.is_some() && kubeconfig {
            return Err("cannot use 'kubeconfig_file' and 'api_server' simultaneously".into());
        }
        if kubeconfig && self.custom_http_client() {
            return Err(
                "cannot use a custom HTTP client configuration together with 'kubeconfig_file'"
                    .into(),
            );
        }
        if self.api_server.is_none() && self.custom_http_client() {
            return Err("to use custom HTTP client configuration please provide the 'api_server' URL explicitly".into());
        }
        if self.api_server.is_some() && self.namespaces.own_namespace {
            return Err(
                "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously".into(),
            );
        }
        if kubeconfig && self.namespaces.own_namespace {
            return Err(
                "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously".into(),
            );
        }
        let mut seen = Vec::new();
        for s in &self.selectors {
            if seen.contains(&s.role) {
                return Err(format!("duplicated selector role: {}", s.role));
            }
            seen.push(s.role);
            let allowed = role.allowed_selectors();
            if !allowed.contains(&s.role) {
                let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
                return Err(format!(
                    "{role} role supports only {} selectors",
                    names.join(", ")
                ));
            }
            check_selector(&s.label, "label")?;
            check_selector(&s.field, "field")?;
        }
        if let Some(k) = &mut self.kubeconfig_file {
            if !k.is_empty() && Path::new(k.as_str()).is_relative() {
                *k = dir.join(&*k).to_string_lossy().into_owned();
            }
        }
        self.resolve_http_paths(dir);
        Ok(())
    }
}

/// A light check of a label or field selector: comma-separated requirements, each a key with
/// an operator (`=`, `==`, `!=`, `in`, `notin`, `exists` or `!key`). The API server checks the
/// rest and answers 400, which shows as the discoverer's error.
fn check_selector(sel: &str, what: &str) -> Result<(), String> {
    if sel.trim().is_empty() {
        return Ok(());
    }
    let mut depth = 0i32;
    let mut part = String::new();
    let mut parts = Vec::new();
    for c in sel.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut part));
                continue;
            }
            _ => {}
        }
        part.push(c);
    }
    parts.push(part);
    if depth != 0 {
        return Err(format!(
            "invalid {what} selector {sel:?}: unbalanced parentheses"
        ));
    }
    for p in parts {
        let p = p.trim();
        let key = p
            .split(|c: char| c == '=' || c == '!' || c.is_whitespace())
            .find(|k| !k.is_empty())
            .unwrap_or("");
        if key.is_empty() {
            return Err(format!(
                "invalid {what} selector {sel:?}: requirement {p:?} has no key"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(y: &str) -> Result<KubernetesSdConfig, String> {
        let mut c: KubernetesSdConfig = serde_yaml::from_str(y).map_err(|e| e.to_string())?;
        c.validate(Path::new("/etc/promterm"))?;
        Ok(c)
    }

    #[test]
    fn keys_and_defaults() {
        let c = parse(
            "role: endpoints\nkubeconfig_file: kube.yml\nnamespaces: {names: [a, b]}\n\
             selectors: [{role: pod, label: 'app=x'}, {role: service, field: 'metadata.name=y'}]\n\
             attach_metadata: {node: true, namespace: true}\n",
        )
        .unwrap();
        assert_eq!(c.role(), Role::Endpoints);
        assert_eq!(c.kubeconfig_file.as_deref(), Some("/etc/promterm/kube.yml"));
        assert_eq!(c.namespaces.names, ["a", "b"]);
        assert_eq!(c.selector(Role::Pod).unwrap().label, "app=x");
        assert!(c.attach_metadata.node && c.attach_metadata.namespace);
        assert!(c.follow_redirects && c.enable_http2);
    }

    #[test]
    fn prometheus_checks() {
        let cases = [
            ("api_server: http://a\n", "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)"),
            ("role: pods\n", "unknown Kubernetes SD role \"pods\""),
            ("role: pod\napi_server: http://a\nkubeconfig_file: k\n", "cannot use 'kubeconfig_file' and 'api_server' simultaneously"),
            ("role: pod\nkubeconfig_file: k\nbearer_token: x\n", "cannot use a custom HTTP client configuration together with 'kubeconfig_file'"),
            ("role: pod\nbearer_token: x\n", "to use custom HTTP client configuration please provide the 'api_server' URL explicitly"),
            ("role: pod\napi_server: http://a\nnamespaces: {own_namespace: true}\n", "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously"),
            ("role: pod\nkubeconfig_file: k\nnamespaces: {own_namespace: true}\n", "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously"),
            ("role: pod\nselectors: [{role: service}]\n", "pod role supports only pod selectors"),
            ("role: endpoints\nselectors: [{role: node}]\n", "endpoints role supports only pod, service, endpoints selectors"),
            ("role: pod\nselectors: [{role: pod}, {role: pod}]\n", "duplicated selector role: pod"),
            ("role: pod\napi_server: 'ftp://x'\n", "invalid api_server \"ftp://x\": scheme must be http or https"),
            ("role: pod\nselectors: [{role: pod, label: '(a'}]\n", "invalid label selector \"(a\": unbalanced parentheses"),
        ];
        for (y, want) in cases {
            let e = parse(y).unwrap_err();
            assert!(e.contains(want), "{y}: got {e:?}, want {want:?}");
        }
        assert!(parse("role: pod\nfoo: 1\n")
            .unwrap_err()
            .contains("unknown field `foo`"));
        parse("role: node\napi_server: https://k:6443\nbearer_token: t\n").unwrap();
    }
}
