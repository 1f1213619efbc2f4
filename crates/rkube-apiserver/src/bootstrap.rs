//! Objects every cluster has from its first start: the `kubernetes`
//! Service in `default` and its Endpoints/EndpointSlice pointing at the API
//! server, so in-cluster clients find it as on a real cluster, and the
//! built-in PriorityClasses.

use rkube_api::ApiError;
use serde_json::json;

use crate::admission::SYSTEM_PRIORITY_CLASSES;
use crate::registry::Registry;
use crate::{Config, ensure};

/// Create the `kubernetes` Service and its endpoints if missing.
pub async fn kubernetes_service(registry: &Registry, config: &Config) -> Result<(), ApiError> {
    let ip = config.service_network.nth(1).to_string();
    let labels = json!({ "component": "apiserver", "provider": "kubernetes" });
    let svc = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": { "name": "kubernetes", "namespace": "default", "labels": labels },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ip,
            "ports": [{ "name": "https", "port": 443, "protocol": "TCP", "targetPort": config.port }],
            "sessionAffinity": "None",
        },
    });
    ensure(registry, "services", Some("default"), svc).await?;
    let address = config.advertise_ip.to_string();
    let endpoints = json!({
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": { "name": "kubernetes", "namespace": "default", "labels": { "endpointslice.kubernetes.io/skip-mirror": "true" } },
        "subsets": [{ "addresses": [{ "ip": address }], "ports": [{ "name": "https", "port": config.port, "protocol": "TCP" }] }],
    });
    ensure(registry, "endpoints", Some("default"), endpoints).await?;
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {
            "name": "kubernetes", "namespace": "default",
            "labels": { "kubernetes.io/service-name": "kubernetes", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" },
        },
        "addressType": "IPv4",
        "endpoints": [{ "addresses": [address], "conditions": { "ready": true } }],
        "ports": [{ "name": "https", "port": config.port, "protocol": "TCP" }],
    });
    ensure(registry, "endpointslices", Some("default"), slice).await
}

/// Create the built-in PriorityClasses if missing.
pub async fn priority_classes(registry: &Registry) -> Result<(), ApiError> {
    for (name, value, description) in SYSTEM_PRIORITY_CLASSES {
        let class = json!({
            "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": { "name": name },
            "value": value,
            "description": description,
            "preemptionPolicy": "PreemptLowerPriority",
        });
        ensure(registry, "priorityclasses", None, class).await?;
    }
    Ok(())
}
