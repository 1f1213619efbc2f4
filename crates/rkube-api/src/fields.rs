//! Selectable fields per resource: which `?fieldSelector=` labels the real
//! API server accepts for each kind (its field label conversion functions)
//! and the value each one has on an object (its `GetAttrs`).
//!
//! Kinds without their own conversion function accept `metadata.name` and
//! `metadata.namespace` only, even when cluster-scoped (where the namespace
//! is always empty). A few kinds differ from the documentation on purpose:
//! apps/v1 ReplicaSets and StatefulSets accept no `status.*` field, as
//! kubernetes/kubernetes#135136 records.

use serde_json::Value;

use crate::resources::ResourceInfo;

/// The value of a selectable field on `obj`, or `None` when `info` does not support `field`.
pub fn field_value(info: &ResourceInfo, obj: &Value, field: &str) -> Option<String> {
    match (info.group, info.kind) {
        ("", "Pod") => pod(obj, field),
        ("", "Node") => node(obj, field),
        ("", "Namespace") => namespace(obj, field),
        ("", "Event") => core_event(obj, field),
        ("", "Secret") => with_meta(obj, field, &[("type", "type")]),
        ("", "Service") => with_meta(
            obj,
            field,
            &[
                ("spec.clusterIP", "spec.clusterIP"),
                ("spec.type", "spec.type"),
            ],
        ),
        ("batch", "Job") => job(obj, field),
        ("events.k8s.io", "Event") => events_event(obj, field),
        _ => meta(obj, field),
    }
}

/// Kubernetes' error text for a field selector label no kind-specific rule knows.
pub fn unsupported_field_message(field: &str) -> String {
    format!("field label not supported: {field}")
}

/// The exact error text the real server gives for an unsupported field of this resource.
pub fn unsupported_field_error(info: &ResourceInfo, field: &str) -> String {
    match (info.group, info.kind) {
        ("", "Pod" | "Node" | "Namespace" | "Event" | "Secret" | "Service")
        | ("events.k8s.io", "Event") => unsupported_field_message(field),
        ("batch", "Job") => format!("field label {field:?} not supported for batchv1.Job"),
        _ => format!(
            "{field:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        ),
    }
}

/// The string at a dotted path; missing or non-string values read as "" like Go's zero value.
fn text(obj: &Value, path: &str) -> String {
    let mut cur = obj;
    for part in path.split('.') {
        match cur.get(part) {
            Some(next) => cur = next,
            None => return String::new(),
        }
    }
    cur.as_str().unwrap_or_default().to_string()
}

fn flag(obj: &Value, path: &str) -> String {
    let v = path
        .split('.')
        .try_fold(obj, |cur, part| cur.get(part))
        .and_then(Value::as_bool);
    v.unwrap_or(false).to_string()
}

fn meta(obj: &Value, field: &str) -> Option<String> {
    match field {
        "metadata.name" | "metadata.namespace" => Some(text(obj, field)),
        _ => None,
    }
}

/// Kinds whose extra fields read straight from a JSON path.
fn with_meta(obj: &Value, field: &str, extra: &[(&str, &str)]) -> Option<String> {
    meta(obj, field).or_else(|| {
        extra
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, path)| text(obj, path))
    })
}

fn pod(obj: &Value, field: &str) -> Option<String> {
    let value = match field {
        "spec.nodeName" | "spec.host" => text(obj, "spec.nodeName"),
        "spec.restartPolicy"
        | "spec.schedulerName"
        | "spec.serviceAccountName"
        | "status.phase"
        | "status.nominatedNodeName" => text(obj, field),
        "spec.hostNetwork" => flag(obj, field),
        "status.podIP" => pod_ip(obj),
        "status.podIPs" => String::new(),
        _ => return meta(obj, field),
    };
    Some(value)
}

fn pod_ip(obj: &Value) -> String {
    let first = obj.pointer("/status/podIPs/0/ip").and_then(Value::as_str);
    first.map_or_else(|| text(obj, "status.podIP"), str::to_string)
}

fn node(obj: &Value, field: &str) -> Option<String> {
    match field {
        "metadata.name" => Some(text(obj, field)),
        "spec.unschedulable" => Some(flag(obj, field)),
        _ => None,
    }
}

fn namespace(obj: &Value, field: &str) -> Option<String> {
    match field {
        "metadata.name" | "status.phase" => Some(text(obj, field)),
        _ => None,
    }
}

const INVOLVED: &[&str] = &[
    "kind",
    "namespace",
    "name",
    "uid",
    "apiVersion",
    "resourceVersion",
    "fieldPath",
];

fn core_event(obj: &Value, field: &str) -> Option<String> {
    if let Some(sub) = field.strip_prefix("involvedObject.") {
        return INVOLVED.contains(&sub).then(|| text(obj, field));
    }
    match field {
        "reason" | "reportingComponent" | "type" => Some(text(obj, field)),
        "source" => Some(non_empty_or(text(obj, "source.component"), || {
            text(obj, "reportingComponent")
        })),
        _ => meta(obj, field),
    }
}

fn events_event(obj: &Value, field: &str) -> Option<String> {
    if let Some(sub) = field.strip_prefix("regarding.") {
        return INVOLVED.contains(&sub).then(|| text(obj, field));
    }
    match field {
        "reason" | "reportingController" | "type" => Some(text(obj, field)),
        "source" => Some(non_empty_or(
            text(obj, "deprecatedSource.component"),
            || text(obj, "reportingController"),
        )),
        _ => meta(obj, field),
    }
}

fn non_empty_or(s: String, fallback: impl FnOnce() -> String) -> String {
    if s.is_empty() { fallback() } else { s }
}

fn job(obj: &Value, field: &str) -> Option<String> {
    if field == "status.successful" {
        let n = obj
            .pointer("/status/succeeded")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        return Some(n.to_string());
    }
    meta(obj, field)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::lookup;

    fn value(group: &str, plural: &str, obj: &Value, field: &str) -> Option<String> {
        lookup(group, "v1", plural).and_then(|info| field_value(info, obj, field))
    }

    #[test]
    fn pod_fields() {
        let pod = json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always"},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}]}
        });
        assert_eq!(
            value("", "pods", &pod, "spec.nodeName").as_deref(),
            Some("n1")
        );
        assert_eq!(value("", "pods", &pod, "spec.host").as_deref(), Some("n1"));
        assert_eq!(
            value("", "pods", &pod, "status.podIP").as_deref(),
            Some("10.0.0.5")
        );
        assert_eq!(
            value("", "pods", &pod, "spec.hostNetwork").as_deref(),
            Some("false")
        );
        assert_eq!(
            value("", "pods", &pod, "spec.schedulerName").as_deref(),
            Some("")
        );
        assert_eq!(
            value("", "pods", &pod, "metadata.namespace").as_deref(),
            Some("ns")
        );
        assert_eq!(value("", "pods", &pod, "spec.containers"), None);
    }

    #[test]
    fn kind_specific_fields() {
        let node = json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}});
        assert_eq!(
            value("", "nodes", &node, "spec.unschedulable").as_deref(),
            Some("true")
        );
        assert_eq!(value("", "nodes", &node, "metadata.namespace"), None);
        let ev = json!({"involvedObject": {"kind": "Pod"}, "reportingComponent": "kubelet"});
        assert_eq!(
            value("", "events", &ev, "involvedObject.kind").as_deref(),
            Some("Pod")
        );
        assert_eq!(
            value("", "events", &ev, "source").as_deref(),
            Some("kubelet")
        );
        assert_eq!(value("", "events", &ev, "involvedObject.foo"), None);
        let ev2 = json!({"regarding": {"name": "x"}, "reportingController": "c"});
        assert_eq!(
            value("events.k8s.io", "events", &ev2, "regarding.name").as_deref(),
            Some("x")
        );
        assert_eq!(
            value("events.k8s.io", "events", &ev2, "involvedObject.name"),
            None
        );
        let job = json!({"status": {"succeeded": 2}});
        assert_eq!(
            value("batch", "jobs", &job, "status.successful").as_deref(),
            Some("2")
        );
        assert_eq!(
            value("batch", "jobs", &json!({}), "status.successful").as_deref(),
            Some("0")
        );
        assert_eq!(
            value("apps", "replicasets", &json!({}), "status.replicas"),
            None
        );
        let pc = json!({"metadata": {"name": "high"}});
        assert_eq!(
            value(
                "scheduling.k8s.io",
                "priorityclasses",
                &pc,
                "metadata.namespace"
            )
            .as_deref(),
            Some("")
        );
        assert_eq!(
            value("", "secrets", &json!({"type": "Opaque"}), "type").as_deref(),
            Some("Opaque")
        );
    }

    #[test]
    fn unsupported_messages_match_each_kind() {
        let msg = |group: &str, plural: &str, f: &str| {
            lookup(group, "v1", plural).map(|i| unsupported_field_error(i, f))
        };
        assert_eq!(
            msg("", "pods", "spec.foo").as_deref(),
            Some("field label not supported: spec.foo")
        );
        assert_eq!(
            msg("batch", "jobs", "x").as_deref(),
            Some("field label \"x\" not supported for batchv1.Job")
        );
        assert_eq!(
            msg("apps", "replicasets", "status.replicas").as_deref(),
            Some(
                "\"status.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
            )
        );
        assert_eq!(
            unsupported_field_message("a"),
            "field label not supported: a"
        );
    }
}
