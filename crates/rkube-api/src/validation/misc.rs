//! The smaller kinds: Secrets, ConfigMaps, Namespaces, Nodes, Leases,
//! PriorityClasses, RBAC objects, EndpointSlices and PodDisruptionBudgets.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Secret, Taint};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, RoleBinding, Subject};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json as json_value};

use super::{
    Errors, Path, apps, decode, format, format_errors, immutable, json, meta, pod, required_name,
};
use crate::field_error::{FieldError, FieldErrorKind};
use crate::resources::ResourceInfo;

const MAX_DATA_SIZE: usize = 1024 * 1024;
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const HIGHEST_USER_PRIORITY: i32 = 1_000_000_000;
const SYSTEM_CLASSES: &[(&str, i32)] = &[
    ("system-node-critical", 2_000_001_000),
    ("system-cluster-critical", 2_000_000_000),
];

fn decode_pair<T: serde::de::DeserializeOwned>(
    obj: &Value,
    old: Option<&Value>,
) -> Result<(T, Option<T>), FieldError> {
    Ok((decode(obj)?, old.map(decode).transpose()?))
}

/// Secrets: keys, total size, the keys each type requires, and immutability.
pub(super) fn secret(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let (s, old_s): (Secret, Option<Secret>) = decode_pair(obj, old)?;
    let mut errs = meta::meta(
        &s.metadata,
        old_s.as_ref().map(|o| &o.metadata),
        true,
        format::dns1123_subdomain,
    );
    let data_path = Path::root("data");
    let data = s.data.clone().unwrap_or_default();
    let mut total = 0;
    for (key, value) in &data {
        format_errors(
            &mut errs,
            &data_path.key(key),
            key,
            format::config_map_key(key),
        );
        total += value.0.len();
    }
    if total > MAX_DATA_SIZE {
        errs.push(FieldError::too_long(&data_path, MAX_DATA_SIZE));
    }
    for key in missing_secret_keys(s.type_.as_deref().unwrap_or_default(), &data) {
        errs.push(FieldError::required(&data_path.key(key), ""));
    }
    if s.type_.as_deref() == Some("kubernetes.io/service-account-token") {
        let sa = s
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("kubernetes.io/service-account.name"));
        if sa.is_none_or(|v| v.is_empty()) {
            errs.push(FieldError::required(
                &Path::root("metadata")
                    .child("annotations")
                    .key("kubernetes.io/service-account.name"),
                "",
            ));
        }
    }
    if let Some(old_s) = old_s {
        immutable(
            &mut errs,
            &Path::root("type"),
            json(&s.type_),
            &json(&old_s.type_),
        );
        frozen(
            &mut errs,
            old_s.immutable,
            s.immutable,
            &[("data", json(&s.data), json(&old_s.data))],
        );
    }
    Ok(errs)
}

/// The `data` keys a Secret of this type must have but lacks.
fn missing_secret_keys(kind: &str, data: &BTreeMap<String, ByteString>) -> Vec<&'static str> {
    let has = |k: &str| data.contains_key(k);
    match kind {
        "kubernetes.io/dockercfg" if !has(".dockercfg") => vec![".dockercfg"],
        "kubernetes.io/dockerconfigjson" if !has(".dockerconfigjson") => vec![".dockerconfigjson"],
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            vec!["username", "password"]
        }
        "kubernetes.io/ssh-auth" if data.get("ssh-privatekey").is_none_or(|v| v.0.is_empty()) => {
            vec!["ssh-privatekey"]
        }
        "kubernetes.io/tls" => ["tls.crt", "tls.key"]
            .into_iter()
            .filter(|k| !has(k))
            .collect(),
        _ => Vec::new(),
    }
}

/// Once `immutable: true` is stored, neither it nor the payload may change.
fn frozen(
    errs: &mut Errors,
    old_flag: Option<bool>,
    new_flag: Option<bool>,
    fields: &[(&str, Value, Value)],
) {
    if old_flag != Some(true) {
        return;
    }
    const MSG: &str = "field is immutable when `immutable` is set";
    if new_flag != Some(true) {
        errs.push(FieldError::forbidden(&Path::root("immutable"), MSG));
    }
    for (field, new, old) in fields {
        if super::pruned(new) != super::pruned(old) {
            errs.push(FieldError::forbidden(&Path::root(field), MSG));
        }
    }
}

/// ConfigMaps: keys, no key in both maps, total size, and immutability.
pub(super) fn config_map(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let (c, old_c): (ConfigMap, Option<ConfigMap>) = decode_pair(obj, old)?;
    let mut errs = meta::meta(
        &c.metadata,
        old_c.as_ref().map(|o| &o.metadata),
        true,
        format::dns1123_subdomain,
    );
    let data = c.data.clone().unwrap_or_default();
    let binary = c.binary_data.clone().unwrap_or_default();
    let mut total = 0;
    for (key, value) in &data {
        let p = Path::root("data").key(key);
        format_errors(&mut errs, &p, key, format::config_map_key(key));
        if binary.contains_key(key) {
            errs.push(FieldError::invalid(
                &p,
                key.as_str(),
                "duplicate of key present in binaryData",
            ));
        }
        total += value.len();
    }
    for (key, value) in &binary {
        let p = Path::root("binaryData").key(key);
        format_errors(&mut errs, &p, key, format::config_map_key(key));
        if data.contains_key(key) {
            errs.push(FieldError::invalid(
                &p,
                key.as_str(),
                "duplicate of key present in data",
            ));
        }
        total += value.0.len();
    }
    if total > MAX_DATA_SIZE {
        errs.push(FieldError::too_long(&Path::root(""), MAX_DATA_SIZE));
    }
    if let Some(old_c) = old_c {
        let fields = [
            ("data", json(&c.data), json(&old_c.data)),
            ("binaryData", json(&c.binary_data), json(&old_c.binary_data)),
        ];
        frozen(&mut errs, old_c.immutable, c.immutable, &fields);
    }
    Ok(errs)
}

/// Namespaces: DNS-label names and finalizer names.
pub(super) fn namespace(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let (ns, old_ns): (Namespace, Option<Namespace>) = decode_pair(obj, old)?;
    let mut errs = meta::meta(
        &ns.metadata,
        old_ns.as_ref().map(|o| &o.metadata),
        false,
        format::dns1123_label,
    );
    let path = Path::root("spec").child("finalizers");
    for f in ns.spec.and_then(|s| s.finalizers).unwrap_or_default() {
        format_errors(&mut errs, &path, &f, format::label_key(&f));
        if !f.contains('/') && !["kubernetes", "orphan", "foregroundDeletion"].contains(&f.as_str())
        {
            errs.push(FieldError::invalid(
                &path,
                f.as_str(),
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    Ok(errs)
}

/// Nodes: names and taints.
pub(super) fn node(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let (n, old_n): (Node, Option<Node>) = decode_pair(obj, old)?;
    let mut errs = meta::meta(
        &n.metadata,
        old_n.as_ref().map(|o| &o.metadata),
        false,
        format::dns1123_subdomain,
    );
    taints(
        &mut errs,
        &Path::root("spec").child("taints"),
        n.spec.and_then(|s| s.taints).as_deref().unwrap_or_default(),
    );
    Ok(errs)
}

fn taints(errs: &mut Errors, path: &Path, list: &[Taint]) {
    let mut seen = BTreeSet::new();
    for (i, t) in list.iter().enumerate() {
        let p = path.index(i);
        format_errors(errs, &p.child("key"), &t.key, format::label_key(&t.key));
        let value = t.value.as_deref().unwrap_or_default();
        let msgs = format::label_value(value);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                &p.child("value"),
                value,
                msgs.join(";"),
            ));
        }
        if t.effect.is_empty() {
            errs.push(FieldError::required(&p.child("effect"), ""));
        } else {
            pod::taint_effect(errs, &p.child("effect"), &t.effect);
        }
        if !seen.insert((t.effect.clone(), t.key.clone())) {
            let taint = json_value!({"Key": t.key, "Value": value, "Effect": t.effect, "TimeAdded": json(&t.time_added)});
            let mut dup = FieldError::duplicate(&p, taint);
            dup.detail = "taints must be unique by key and effect pair".to_string();
            errs.push(dup);
        }
    }
}

/// Leases: positive durations and non-negative transition counts.
pub(super) fn lease(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let (l, old_l): (Lease, Option<Lease>) = decode_pair(obj, old)?;
    let mut errs = meta::meta(
        &l.metadata,
        old_l.as_ref().map(|o| &o.metadata),
        true,
        format::dns1123_subdomain,
    );
    let spec = l.spec.unwrap_or_default();
    let path = Path::root("spec");
    if let Some(d) = spec.lease_duration_seconds.filter(|d| *d <= 0) {
        errs.push(FieldError::invalid(
            &path.child("leaseDurationSeconds"),
            d,
            "must be greater than 0",
        ));
    }
    if let Some(t) = spec.lease_transitions.filter(|t| *t < 0) {
        errs.push(FieldError::invalid(
            &path.child("leaseTransitions"),
            t,
            "must be greater than or equal to 0",
        ));
    }
    Ok(errs)
}

/// PriorityClasses: reserved `system-` names, the user ceiling, and a fixed value.
pub(super) fn priority_class(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let (pc, old_pc): (PriorityClass, Option<PriorityClass>) = decode_pair(obj, old)?;
    let mut errs = meta::meta(
        &pc.metadata,
        old_pc.as_ref().map(|o| &o.metadata),
        false,
        format::dns1123_subdomain,
    );
    let name = pc.metadata.name.as_deref().unwrap_or_default();
    let value = pc.value.unwrap_or(0);
    if name.starts_with("system-") {
        if let Some(err) = system_class_error(name, value, pc.global_default.unwrap_or(false)) {
            errs.push(FieldError::forbidden(
                &Path::root("metadata").child("name"),
                format!("priority class names with 'system-' prefix are reserved for system use only. error: {err}"),
            ));
        }
    } else if value > HIGHEST_USER_PRIORITY {
        errs.push(FieldError::forbidden(
            &Path::root("value"),
            format!("maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"),
        ));
    }
    if let Some(p) = pc.preemption_policy.as_deref() {
        match p {
            "" => errs.push(FieldError::required(&Path::root("preemptionPolicy"), "")),
            "PreemptLowerPriority" | "Never" => {}
            other => errs.push(FieldError::not_supported(
                &Path::root("preemptionPolicy"),
                other,
                &["PreemptLowerPriority", "Never"],
            )),
        }
    }
    if let Some(old_pc) = old_pc {
        if old_pc.value.unwrap_or(0) != value {
            errs.push(FieldError::forbidden(
                &Path::root("value"),
                "may not be changed in an update.",
            ));
        }
        immutable(
            &mut errs,
            &Path::root("preemptionPolicy"),
            json(&pc.preemption_policy),
            &json(&old_pc.preemption_policy),
        );
    }
    Ok(errs)
}

fn system_class_error(name: &str, value: i32, global_default: bool) -> Option<String> {
    match SYSTEM_CLASSES.iter().find(|(n, _)| *n == name) {
        None => Some(format!("{name} is not a known system priority class")),
        Some((_, v)) if *v != value => Some(format!("value of {name} PriorityClass must be {v}")),
        Some(_) if global_default => Some(format!(
            "globalDefault of {name} PriorityClass must be false"
        )),
        Some(_) => None,
    }
}

/// Roles and ClusterRoles: path-segment names and rules with verbs.
pub(super) fn role(
    info: &ResourceInfo,
    obj: &Value,
    old: Option<&Value>,
) -> Result<Errors, FieldError> {
    let (r, old_r): (ClusterRole, Option<ClusterRole>) = decode_pair(obj, old)?;
    let mut errs = meta::meta(
        &r.metadata,
        old_r.as_ref().map(|o| &o.metadata),
        info.namespaced,
        format::path_segment_name,
    );
    for (i, rule) in r.rules.iter().flatten().enumerate() {
        policy_rule(
            &mut errs,
            &Path::root("rules").index(i),
            rule,
            info.namespaced,
        );
    }
    Ok(errs)
}

fn policy_rule(errs: &mut Errors, path: &Path, rule: &PolicyRule, namespaced: bool) {
    if rule.verbs.is_empty() {
        errs.push(FieldError::required(
            &path.child("verbs"),
            "verbs must contain at least one value",
        ));
    }
    let urls = rule.non_resource_urls.as_deref().unwrap_or_default();
    let non_empty = |v: &Option<Vec<String>>| v.as_ref().is_some_and(|v| !v.is_empty());
    if !urls.is_empty() {
        let p = path.child("nonResourceURLs");
        if namespaced {
            errs.push(FieldError::invalid(
                &p,
                Value::from(urls.to_vec()),
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if non_empty(&rule.api_groups)
            || non_empty(&rule.resources)
            || non_empty(&rule.resource_names)
        {
            errs.push(FieldError::invalid(
                &p,
                Value::from(urls.to_vec()),
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return;
    }
    if !non_empty(&rule.api_groups) {
        errs.push(FieldError::required(
            &path.child("apiGroups"),
            "resource rules must supply at least one api group",
        ));
    }
    if !non_empty(&rule.resources) {
        errs.push(FieldError::required(
            &path.child("resources"),
            "resource rules must supply at least one resource",
        ));
    }
}

/// RoleBindings and ClusterRoleBindings: the role reference (fixed after create) and subjects.
pub(super) fn role_binding(
    info: &ResourceInfo,
    obj: &Value,
    old: Option<&Value>,
) -> Result<Errors, FieldError> {
    let (b, old_b): (RoleBinding, Option<RoleBinding>) = decode_pair(obj, old)?;
    let mut errs = meta::meta(
        &b.metadata,
        old_b.as_ref().map(|o| &o.metadata),
        info.namespaced,
        format::path_segment_name,
    );
    let role_ref = Path::root("roleRef");
    let group = b.role_ref.api_group.as_deref().unwrap_or_default();
    if group != RBAC_GROUP {
        errs.push(FieldError::not_supported(
            &role_ref.child("apiGroup"),
            group,
            &[RBAC_GROUP],
        ));
    }
    let kinds: &[&str] = if info.namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&b.role_ref.kind.as_str()) {
        errs.push(FieldError::not_supported(
            &role_ref.child("kind"),
            b.role_ref.kind.as_str(),
            kinds,
        ));
    }
    required_name(
        &mut errs,
        &role_ref.child("name"),
        &b.role_ref.name,
        format::path_segment_name,
    );
    for (i, s) in b.subjects.iter().flatten().enumerate() {
        subject(
            &mut errs,
            &Path::root("subjects").index(i),
            s,
            info.namespaced,
        );
    }
    if let Some(old_b) = old_b
        && old_b.role_ref != b.role_ref
    {
        let r = &b.role_ref;
        let value = json_value!({"APIGroup": r.api_group.clone().unwrap_or_default(), "Kind": r.kind, "Name": r.name});
        errs.push(FieldError::invalid(
            &role_ref,
            value,
            "cannot change roleRef",
        ));
    }
    Ok(errs)
}

fn subject(errs: &mut Errors, path: &Path, s: &Subject, namespaced: bool) {
    if s.name.is_empty() {
        errs.push(FieldError::required(&path.child("name"), ""));
    }
    let group = s.api_group.as_deref().unwrap_or_default();
    match s.kind.as_str() {
        "ServiceAccount" => {
            if !s.name.is_empty() {
                format_errors(
                    errs,
                    &path.child("name"),
                    &s.name,
                    format::dns1123_subdomain(&s.name),
                );
            }
            if !group.is_empty() {
                errs.push(FieldError::not_supported(
                    &path.child("apiGroup"),
                    group,
                    &[""],
                ));
            }
            if !namespaced && s.namespace.as_deref().unwrap_or_default().is_empty() {
                errs.push(FieldError::required(&path.child("namespace"), ""));
            }
        }
        "User" | "Group" if group != RBAC_GROUP => {
            errs.push(FieldError::not_supported(
                &path.child("apiGroup"),
                group,
                &[RBAC_GROUP],
            ));
        }
        "User" | "Group" => {}
        other => errs.push(FieldError::not_supported(
            &path.child("kind"),
            other,
            &["ServiceAccount", "User", "Group"],
        )),
    }
}

/// EndpointSlices: address type (fixed after create), addresses and ports.
pub(super) fn endpoint_slice(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let (es, old_es): (EndpointSlice, Option<EndpointSlice>) = decode_pair(obj, old)?;
    let mut errs = meta::meta(
        &es.metadata,
        old_es.as_ref().map(|o| &o.metadata),
        true,
        format::dns1123_subdomain,
    );
    let kind = es.address_type.as_str();
    match kind {
        "" => errs.push(FieldError::required(&Path::root("addressType"), "")),
        "IPv4" | "IPv6" | "FQDN" => {}
        other => errs.push(FieldError::not_supported(
            &Path::root("addressType"),
            other,
            &["IPv4", "IPv6", "FQDN"],
        )),
    }
    for (i, e) in es.endpoints.iter().flatten().enumerate() {
        let p = Path::root("endpoints").index(i).child("addresses");
        match e.addresses.len() {
            0 => errs.push(FieldError::required(&p, "must contain at least 1 address")),
            n if n > 100 => errs.push(FieldError {
                kind: FieldErrorKind::TooMany,
                field: String::from(&p),
                value: Some(Value::from(n)),
                detail: "must have at most 100 items".to_string(),
            }),
            _ => {}
        }
    }
    let mut names = BTreeSet::new();
    for (i, port) in es.ports.iter().flatten().enumerate() {
        let p = Path::root("ports").index(i);
        let name = port.name.as_deref().unwrap_or_default();
        if !name.is_empty() {
            format_errors(
                &mut errs,
                &p.child("name"),
                name,
                format::dns1123_label(name),
            );
        }
        if !names.insert(name.to_string()) {
            errs.push(FieldError::duplicate(&p.child("name"), name));
        }
        pod::protocol(&mut errs, &p.child("protocol"), port.protocol.as_deref());
        if let Some(n) = port.port {
            for msg in format::port_num(i64::from(n))
                .into_iter()
                .filter(|_| n != 0)
            {
                errs.push(FieldError::invalid(&p.child("port"), n, msg));
            }
        }
    }
    if let Some(old_es) = old_es {
        immutable(
            &mut errs,
            &Path::root("addressType"),
            Value::from(kind),
            &Value::from(old_es.address_type),
        );
    }
    Ok(errs)
}

/// PodDisruptionBudgets: one of `minAvailable` / `maxUnavailable`, each an int or percent.
pub(super) fn pod_disruption_budget(
    obj: &Value,
    old: Option<&Value>,
) -> Result<Errors, FieldError> {
    let (pdb, old_pdb): (PodDisruptionBudget, Option<PodDisruptionBudget>) = decode_pair(obj, old)?;
    let old_meta: Option<&ObjectMeta> = old_pdb.as_ref().map(|o| &o.metadata);
    let mut errs = meta::meta(&pdb.metadata, old_meta, true, format::dns1123_subdomain);
    let spec = pdb.spec.unwrap_or_default();
    let path = Path::root("spec");
    if let (Some(min), Some(_)) = (&spec.min_available, &spec.max_unavailable) {
        errs.push(FieldError::invalid(
            &path.child("minAvailable"),
            json(min),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for (field, v) in [
        ("minAvailable", &spec.min_available),
        ("maxUnavailable", &spec.max_unavailable),
    ] {
        if let Some(v) = v {
            apps::positive_int_or_percent(&mut errs, &path.child(field), v);
            apps::at_most_100_percent(&mut errs, &path.child(field), v);
        }
    }
    meta::label_selector(&mut errs, &path.child("selector"), spec.selector.as_ref());
    if let Some(policy) = spec.unhealthy_pod_eviction_policy.as_deref()
        && policy != "IfHealthyBudget"
        && policy != "AlwaysAllow"
    {
        errs.push(FieldError::not_supported(
            &path.child("unhealthyPodEvictionPolicy"),
            policy,
            &["AlwaysAllow", "IfHealthyBudget"],
        ));
    }
    Ok(errs)
}
