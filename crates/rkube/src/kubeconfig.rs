//! Kubeconfig files for the admin and for components, as kubectl reads them.

use base64::Engine;
use serde_json::json;

/// A kubeconfig (YAML) authenticating with a client certificate.
pub fn with_client_cert(
    server: &str,
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> anyhow::Result<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "default", "cluster": { "server": server, "certificate-authority-data": b64(ca_pem) } }],
        "users": [{ "name": "default", "user": { "client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem) } }],
        "contexts": [{ "name": "default", "context": { "cluster": "default", "user": "default" } }],
        "current-context": "default",
        "preferences": {},
    });
    Ok(serde_yaml_ng::to_string(&doc)?)
}
