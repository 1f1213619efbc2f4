//! Per-resource behaviour of the generic registry: what a create resets,
//! what an update may change, how deletion proceeds. Everything that is
//! the same for all resources lives in `registry`.

use rkube_api::ResourceInfo;
use serde_json::{Value, json};

use crate::object::{ensure_object, meta_mut, meta_str};

/// How a delete request is carried out for one object.
#[derive(Debug, PartialEq, Eq)]
pub enum DeleteMode {
    /// Remove from the store now.
    Immediate,
    /// Mark with deletionTimestamp now + grace and keep until someone finishes it.
    Graceful { grace_seconds: i64 },
}

/// The hooks the registry calls for one resource.
pub trait Strategy: Send + Sync {
    /// Whether `metadata.generation` counts spec changes.
    fn tracks_generation(&self) -> bool {
        false
    }

    /// Reset what a client may not set on create (status, mostly).
    fn prepare_create(&self, _obj: &mut Value) {}

    /// Whether a delete returns the object (true) or a `Status` (false).
    fn returns_deleted_object(&self) -> bool {
        false
    }

    /// How to delete `obj` given the requested grace period.
    fn delete_mode(&self, _obj: &Value, _requested_grace: Option<i64>) -> DeleteMode {
        DeleteMode::Immediate
    }

    /// Changes made to an object when a graceful delete begins.
    fn begin_delete(&self, _obj: &mut Value) {}
}

struct Plain;
impl Strategy for Plain {}

/// Kinds whose spec is reconciled by a controller reporting `status`.
struct Workload;
impl Strategy for Workload {
    fn tracks_generation(&self) -> bool {
        true
    }
    fn prepare_create(&self, obj: &mut Value) {
        ensure_object(obj).insert("status".into(), json!({}));
    }
}

struct Pod;
impl Strategy for Pod {
    fn tracks_generation(&self) -> bool {
        true
    }
    fn prepare_create(&self, obj: &mut Value) {
        let qos = qos_class(&obj["spec"]);
        ensure_object(obj).insert(
            "status".into(),
            json!({ "phase": "Pending", "qosClass": qos }),
        );
    }
    fn returns_deleted_object(&self) -> bool {
        true
    }
    fn delete_mode(&self, obj: &Value, requested_grace: Option<i64>) -> DeleteMode {
        let spec_grace = obj["spec"]["terminationGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(30);
        let grace = requested_grace.unwrap_or(spec_grace).max(0);
        let bound = !obj["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .is_empty();
        let finished = matches!(
            obj["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        );
        if grace == 0 || !bound || finished {
            DeleteMode::Immediate
        } else {
            DeleteMode::Graceful {
                grace_seconds: grace,
            }
        }
    }
}

struct Namespace;
impl Strategy for Namespace {
    fn prepare_create(&self, obj: &mut Value) {
        let name = meta_str(obj, "name").to_string();
        let labels = meta_mut(obj).entry("labels").or_insert_with(|| json!({}));
        ensure_object(labels).insert("kubernetes.io/metadata.name".into(), Value::String(name));
        ensure_object(obj).insert("status".into(), json!({ "phase": "Active" }));
    }
    fn returns_deleted_object(&self) -> bool {
        true
    }
    fn delete_mode(&self, obj: &Value, _requested_grace: Option<i64>) -> DeleteMode {
        let pending = obj["spec"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if pending {
            DeleteMode::Graceful { grace_seconds: 0 }
        } else {
            DeleteMode::Immediate
        }
    }
    fn begin_delete(&self, obj: &mut Value) {
        ensure_object(obj).insert("status".into(), json!({ "phase": "Terminating" }));
    }
}

struct Service;
impl Strategy for Service {
    fn prepare_create(&self, obj: &mut Value) {
        ensure_object(obj).insert("status".into(), json!({ "loadBalancer": {} }));
    }
}

/// The Kubernetes QoS class of a pod spec.
fn qos_class(spec: &Value) -> &'static str {
    let containers = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(spec["initContainers"].as_array().into_iter().flatten());
    let mut any = false;
    let mut guaranteed = true;
    for c in containers {
        let requests = c["resources"]["requests"].as_object();
        let limits = c["resources"]["limits"].as_object();
        for res in ["cpu", "memory"] {
            let req = requests.and_then(|r| r.get(res));
            let lim = limits.and_then(|l| l.get(res));
            any |= req.is_some() || lim.is_some();
            if lim.is_none() || (req.is_some() && req != lim) {
                guaranteed = false;
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

/// The strategy of a resource.
pub fn for_resource(info: &ResourceInfo) -> &'static dyn Strategy {
    match (info.group, info.kind) {
        ("", "Pod") => &Pod,
        ("", "Namespace") => &Namespace,
        ("", "Service") => &Service,
        ("apps" | "batch", _) | ("policy", "PodDisruptionBudget") => &Workload,
        _ => &Plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_classes() {
        assert_eq!(
            qos_class(&json!({"containers": [{"name": "a"}]})),
            "BestEffort"
        );
        let g = json!({"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]});
        assert_eq!(qos_class(&g), "Guaranteed");
        let b = json!({"containers": [{"resources": {"requests": {"cpu": "1"}}}]});
        assert_eq!(qos_class(&b), "Burstable");
    }

    #[test]
    fn pods_on_nodes_terminate_gracefully() {
        let bound = json!({"spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 5}});
        assert_eq!(
            Pod.delete_mode(&bound, None),
            DeleteMode::Graceful { grace_seconds: 5 }
        );
        assert_eq!(Pod.delete_mode(&bound, Some(0)), DeleteMode::Immediate);
        assert_eq!(
            Pod.delete_mode(&json!({"spec": {}}), None),
            DeleteMode::Immediate
        );
    }
}
