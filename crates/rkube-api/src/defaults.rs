//! Defaulting as the real API server applies it when it decodes an object
//! (the `SetDefaults_*` functions and `+default` tags of `pkg/apis/*/v1`),
//! plus the few values other server stages always add and clients see on
//! every object (Secret `stringData` folding, Service IP family fields, the
//! Priority admission plugin's pod priority). Defaulting never replaces a
//! value the client set, except where Kubernetes itself does (the namespace
//! name label).
//!
//! Objects are JSON; a field of the wrong type is left alone for validation
//! to report, and nothing here panics on any input.

mod pod;

use serde_json::{Map, Value, json};

use crate::resources::ResourceInfo;

/// Fills in the defaults Kubernetes gives an object of this resource (create and update alike).
pub fn apply(info: &ResourceInfo, obj: &mut Value) {
    match (info.group, info.kind) {
        ("", "Pod") => pod::pod(obj),
        ("", "Service") => with_spec(obj, service),
        ("", "Secret") => secret(obj),
        ("", "Namespace") => namespace(obj),
        ("", "Endpoints") => endpoints(obj),
        ("", "Node") => node(obj),
        ("apps", "Deployment") => with_spec(obj, deployment),
        ("apps", "ReplicaSet") => with_spec(obj, replica_set),
        ("apps", "DaemonSet") => with_spec(obj, daemon_set),
        ("apps", "StatefulSet") => with_spec(obj, stateful_set),
        ("batch", "Job") => job(obj),
        ("batch", "CronJob") => with_spec(obj, cron_job),
        ("discovery.k8s.io", "EndpointSlice") => endpoint_slice(obj),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => role_binding(obj),
        ("scheduling.k8s.io", "PriorityClass") => priority_class(obj),
        _ => {}
    }
}

/// Create-only preparation the real server does in its strategies (call after `apply`, once
/// `metadata.name` and `metadata.uid` are set).
///
/// Namespaces get the `kubernetes` finalizer; it is not part of `apply` because the
/// namespace controller removes it later through `/finalize`, which must not re-add it.
/// Jobs without `manualSelector: true` get the generated `controller-uid` selector and
/// the matching pod template labels.
pub fn prepare_for_create(info: &ResourceInfo, obj: &mut Value) {
    match (info.group, info.kind) {
        ("", "Namespace") => with_spec(obj, kubernetes_finalizer),
        ("batch", "Job") => job_selector(obj),
        _ => {}
    }
}

fn kubernetes_finalizer(spec: &mut Map<String, Value>) {
    let kubernetes = Value::from("kubernetes");
    match spec.get_mut("finalizers") {
        Some(Value::Array(list)) if !list.contains(&kubernetes) => list.push(kubernetes),
        None | Some(Value::Null) => {
            spec.insert("finalizers".into(), json!(["kubernetes"]));
        }
        Some(_) => {}
    }
}

/// Kubernetes' `generateSelector` for Jobs.
fn job_selector(obj: &mut Value) {
    let text = |ptr: &str| {
        obj.pointer(ptr)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (name, uid) = (text("/metadata/name"), text("/metadata/uid"));
    if uid.is_empty() || obj.pointer("/spec/manualSelector") == Some(&Value::Bool(true)) {
        return;
    }
    let Some(spec) = obj.as_object_mut().and_then(|o| ensure_map(o, "spec")) else {
        return;
    };
    let template_labels = ensure_map(spec, "template")
        .and_then(|t| ensure_map(t, "metadata"))
        .and_then(|m| ensure_map(m, "labels"));
    if let Some(labels) = template_labels {
        for (key, value) in [
            ("job-name", &name),
            ("batch.kubernetes.io/job-name", &name),
            ("controller-uid", &uid),
            ("batch.kubernetes.io/controller-uid", &uid),
        ] {
            labels
                .entry(key)
                .or_insert_with(|| Value::from(value.as_str()));
        }
    }
    let match_labels = ensure_map(spec, "selector").and_then(|s| ensure_map(s, "matchLabels"));
    if let Some(match_labels) = match_labels {
        match_labels
            .entry("batch.kubernetes.io/controller-uid")
            .or_insert_with(|| Value::from(uid.as_str()));
    }
}

fn with_spec(obj: &mut Value, f: impl FnOnce(&mut Map<String, Value>)) {
    if let Some(spec) = obj.as_object_mut().and_then(|o| ensure_map(o, "spec")) {
        f(spec);
    }
}

/// The object at `key`, if it is one.
fn map_mut<'a>(m: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    m.get_mut(key).and_then(Value::as_object_mut)
}

/// The object at `key`, created empty when absent or null; `None` when `key` holds another type.
fn ensure_map<'a>(m: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    let slot = m.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = json!({});
    }
    slot.as_object_mut()
}

/// Sets a pointer-like field that is absent or null.
fn set_missing(m: &mut Map<String, Value>, key: &str, value: Value) {
    let slot = m.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = value;
    }
}

/// Sets a string field that is absent, null or empty (Go's zero value).
fn set_empty(m: &mut Map<String, Value>, key: &str, value: &str) {
    let slot = m.entry(key).or_insert(Value::Null);
    if slot.is_null() || slot.as_str() == Some("") {
        *slot = Value::from(value);
    }
}

/// Sets a number field that is absent, null or zero (Go's zero value).
fn set_zero(m: &mut Map<String, Value>, key: &str, value: Value) {
    let slot = m.entry(key).or_insert(Value::Null);
    if slot.is_null() || slot.as_f64() == Some(0.0) {
        *slot = value;
    }
}

/// Runs `f` on every object in the array at `key`.
fn each_item(m: &mut Map<String, Value>, key: &str, mut f: impl FnMut(&mut Map<String, Value>)) {
    if let Some(Value::Array(items)) = m.get_mut(key) {
        items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(&mut f);
    }
}

fn str_of<'a>(m: &'a Map<String, Value>, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn service(spec: &mut Map<String, Value>) {
    set_empty(spec, "sessionAffinity", "None");
    match str_of(spec, "sessionAffinity") {
        "None" => {
            spec.remove("sessionAffinityConfig");
        }
        "ClientIP" => client_ip_timeout(spec),
        _ => {}
    }
    set_empty(spec, "type", "ClusterIP");
    each_item(spec, "ports", service_port);
    let kind = str_of(spec, "type").to_string();
    let has_external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if kind == "NodePort" || kind == "LoadBalancer" || (kind == "ClusterIP" && has_external_ips) {
        set_empty(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(kind.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
        set_missing(spec, "internalTrafficPolicy", json!("Cluster"));
        ip_families(spec);
    }
    if kind == "LoadBalancer" {
        set_missing(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
}

fn client_ip_timeout(spec: &mut Map<String, Value>) {
    let has_timeout = spec
        .get("sessionAffinityConfig")
        .and_then(|c| c.pointer("/clientIP/timeoutSeconds"))
        .is_some_and(|t| !t.is_null());
    if !has_timeout {
        spec.insert(
            "sessionAffinityConfig".into(),
            json!({"clientIP": {"timeoutSeconds": 10800}}),
        );
    }
}

fn service_port(port: &mut Map<String, Value>) {
    set_empty(port, "protocol", "TCP");
    let unset = match port.get("targetPort") {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(v) => v.as_f64() == Some(0.0),
    };
    if unset && let Some(p) = port.get("port").cloned() {
        port.insert("targetPort".into(), p);
    }
}

/// What IP allocation records on a single-stack IPv4 cluster: the policy, the family and
/// `clusterIPs` mirroring `clusterIP`. Headless services without a selector ask for every
/// family the cluster has, which Kubernetes spells `RequireDualStack`.
fn ip_families(spec: &mut Map<String, Value>) {
    let cluster_ip = str_of(spec, "clusterIP").to_string();
    let has_selector = spec
        .get("selector")
        .and_then(Value::as_object)
        .is_some_and(|s| !s.is_empty());
    let policy = if cluster_ip == "None" && !has_selector {
        "RequireDualStack"
    } else {
        "SingleStack"
    };
    set_missing(spec, "ipFamilyPolicy", json!(policy));
    set_missing(spec, "ipFamilies", json!(["IPv4"]));
    if !cluster_ip.is_empty() {
        set_missing(spec, "clusterIPs", json!([cluster_ip]));
    }
}

/// Type `Opaque`, and `stringData` folded into base64 `data` as Kubernetes' conversion does.
fn secret(obj: &mut Value) {
    let Some(m) = obj.as_object_mut() else { return };
    set_empty(m, "type", "Opaque");
    let Some(Value::Object(plain)) = m.remove("stringData") else {
        return;
    };
    if let Some(data) = ensure_map(m, "data") {
        for (k, v) in plain {
            if let Some(s) = v.as_str() {
                data.insert(k, Value::from(base64(s.as_bytes())));
            }
        }
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn namespace(obj: &mut Value) {
    let Some(m) = obj.as_object_mut() else { return };
    let name = m
        .get("metadata")
        .and_then(|md| md.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !name.is_empty()
        && let Some(labels) = ensure_map(m, "metadata").and_then(|md| ensure_map(md, "labels"))
    {
        labels.insert("kubernetes.io/metadata.name".into(), Value::from(name));
    }
    if let Some(status) = ensure_map(m, "status") {
        set_empty(status, "phase", "Active");
    }
}

fn endpoints(obj: &mut Value) {
    let Some(m) = obj.as_object_mut() else { return };
    each_item(m, "subsets", |subset| {
        each_item(subset, "ports", |p| set_empty(p, "protocol", "TCP"))
    });
}

fn node(obj: &mut Value) {
    let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(capacity) = status.get("capacity").filter(|c| c.is_object()).cloned() {
        set_missing(status, "allocatable", capacity);
    }
}

fn deployment(spec: &mut Map<String, Value>) {
    set_missing(spec, "replicas", json!(1));
    if let Some(strategy) = ensure_map(spec, "strategy") {
        set_empty(strategy, "type", "RollingUpdate");
        if str_of(strategy, "type") == "RollingUpdate"
            && let Some(rolling) = ensure_map(strategy, "rollingUpdate")
        {
            set_missing(rolling, "maxUnavailable", json!("25%"));
            set_missing(rolling, "maxSurge", json!("25%"));
        }
    }
    set_missing(spec, "revisionHistoryLimit", json!(10));
    set_missing(spec, "progressDeadlineSeconds", json!(600));
    pod::template(spec);
}

fn replica_set(spec: &mut Map<String, Value>) {
    set_missing(spec, "replicas", json!(1));
    pod::template(spec);
}

fn daemon_set(spec: &mut Map<String, Value>) {
    if let Some(strategy) = ensure_map(spec, "updateStrategy") {
        set_empty(strategy, "type", "RollingUpdate");
        if str_of(strategy, "type") == "RollingUpdate"
            && let Some(rolling) = ensure_map(strategy, "rollingUpdate")
        {
            set_missing(rolling, "maxUnavailable", json!(1));
            set_missing(rolling, "maxSurge", json!(0));
        }
    }
    set_missing(spec, "revisionHistoryLimit", json!(10));
    pod::template(spec);
}

fn stateful_set(spec: &mut Map<String, Value>) {
    set_empty(spec, "podManagementPolicy", "OrderedReady");
    if let Some(strategy) = ensure_map(spec, "updateStrategy") {
        if str_of(strategy, "type").is_empty() {
            strategy.insert("type".into(), json!("RollingUpdate"));
            set_missing(strategy, "rollingUpdate", json!({}));
        }
        if str_of(strategy, "type") == "RollingUpdate"
            && let Some(rolling) = map_mut(strategy, "rollingUpdate")
        {
            set_missing(rolling, "partition", json!(0));
        }
    }
    if let Some(retention) = ensure_map(spec, "persistentVolumeClaimRetentionPolicy") {
        set_empty(retention, "whenDeleted", "Retain");
        set_empty(retention, "whenScaled", "Retain");
    }
    set_missing(spec, "replicas", json!(1));
    set_missing(spec, "revisionHistoryLimit", json!(10));
    pod::template(spec);
    each_item(spec, "volumeClaimTemplates", |pvc| {
        if let Some(s) = ensure_map(pvc, "spec") {
            set_missing(s, "volumeMode", json!("Filesystem"));
        }
        if let Some(status) = ensure_map(pvc, "status") {
            set_empty(status, "phase", "Pending");
        }
    });
}

fn job(obj: &mut Value) {
    let Some(m) = obj.as_object_mut() else { return };
    let template_labels = m
        .get("spec")
        .and_then(|s| s.pointer("/template/metadata/labels"))
        .filter(|l| l.is_object())
        .cloned();
    if let (Some(labels), Some(meta)) = (template_labels, ensure_map(m, "metadata")) {
        let own_empty = meta
            .get("labels")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
        if own_empty {
            meta.insert("labels".into(), labels);
        }
    }
    if let Some(spec) = ensure_map(m, "spec") {
        job_spec(spec);
    }
}

fn job_spec(spec: &mut Map<String, Value>) {
    let unset = |s: &Map<String, Value>, k: &str| s.get(k).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        spec.insert("completions".into(), json!(1));
    }
    set_missing(spec, "parallelism", json!(1));
    let backoff = if unset(spec, "backoffLimitPerIndex") {
        6
    } else {
        i64::from(i32::MAX)
    };
    set_missing(spec, "backoffLimit", json!(backoff));
    set_missing(spec, "completionMode", json!("NonIndexed"));
    set_missing(spec, "suspend", json!(false));
    let has_failure_policy = !unset(spec, "podFailurePolicy");
    if let Some(policy) = map_mut(spec, "podFailurePolicy") {
        each_item(policy, "rules", |rule| {
            each_item(rule, "onPodConditions", |c| set_empty(c, "status", "True"))
        });
    }
    let replacement = if has_failure_policy {
        "Failed"
    } else {
        "TerminatingOrFailed"
    };
    set_missing(spec, "podReplacementPolicy", json!(replacement));
    set_missing(spec, "manualSelector", json!(false));
    pod::template(spec);
}

fn cron_job(spec: &mut Map<String, Value>) {
    set_empty(spec, "concurrencyPolicy", "Allow");
    set_missing(spec, "suspend", json!(false));
    set_missing(spec, "successfulJobsHistoryLimit", json!(3));
    set_missing(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(job_spec) = ensure_map(spec, "jobTemplate").and_then(|t| ensure_map(t, "spec")) {
        pod::template(job_spec);
    }
}

fn endpoint_slice(obj: &mut Value) {
    let Some(m) = obj.as_object_mut() else { return };
    each_item(m, "ports", |p| {
        set_missing(p, "name", json!(""));
        set_missing(p, "protocol", json!("TCP"));
    });
}

fn role_binding(obj: &mut Value) {
    let Some(m) = obj.as_object_mut() else { return };
    if let Some(role_ref) = ensure_map(m, "roleRef") {
        set_empty(role_ref, "apiGroup", "rbac.authorization.k8s.io");
    }
    each_item(m, "subjects", |s| {
        if matches!(str_of(s, "kind"), "User" | "Group") {
            set_empty(s, "apiGroup", "rbac.authorization.k8s.io");
        }
    });
}

fn priority_class(obj: &mut Value) {
    if let Some(m) = obj.as_object_mut() {
        set_missing(m, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
}

#[cfg(test)]
mod tests;
