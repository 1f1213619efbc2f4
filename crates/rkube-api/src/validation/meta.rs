//! Object metadata rules shared by every kind (`ValidateObjectMeta`,
//! `ValidateObjectMetaUpdate`), label and annotation maps, and label selectors.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use serde_json::Value;

use super::{Errors, Path, decode, format, format_errors, immutable, json, nonnegative};
use crate::field_error::FieldError;
use crate::resources::ResourceInfo;

/// A kind's object name rule (`NameIsDNSSubdomain`, `NameIsDNSLabel`, ...).
pub(super) type NameFn = fn(&str) -> Vec<String>;

const ANNOTATIONS_LIMIT: usize = 256 * 1024;

/// The name rule Kubernetes applies to this resource's objects.
pub(super) fn name_rule(info: &ResourceInfo) -> NameFn {
    match (info.group, info.kind) {
        ("", "Namespace" | "Service") | ("apps", "StatefulSet") => format::dns1123_label,
        ("rbac.authorization.k8s.io", _) => format::path_segment_name,
        _ => format::dns1123_subdomain,
    }
}

/// Decodes `metadata` (absent means empty).
pub(super) fn decode_meta(obj: &Value) -> Result<ObjectMeta, FieldError> {
    match obj.get("metadata") {
        None | Some(Value::Null) => Ok(ObjectMeta::default()),
        Some(m) => decode(m),
    }
}

/// Kinds without rules of their own: metadata only.
pub(super) fn generic(
    info: &ResourceInfo,
    obj: &Value,
    old: Option<&Value>,
) -> Result<Errors, FieldError> {
    let new = decode_meta(obj)?;
    let old = old.map(decode_meta).transpose()?;
    Ok(meta(&new, old.as_ref(), info.namespaced, name_rule(info)))
}

/// Create rules when `old` is `None`, update rules otherwise.
pub(super) fn meta(
    new: &ObjectMeta,
    old: Option<&ObjectMeta>,
    namespaced: bool,
    name_fn: NameFn,
) -> Errors {
    match old {
        None => on_create(new, namespaced, name_fn),
        Some(old) => on_update(new, old),
    }
}

fn on_create(m: &ObjectMeta, namespaced: bool, name_fn: NameFn) -> Errors {
    let mut errs = Errors::new();
    let path = Path::root("metadata");
    let generate_name = m.generate_name.as_deref().unwrap_or_default();
    if !generate_name.is_empty() {
        format_errors(
            &mut errs,
            &path.child("generateName"),
            generate_name,
            name_fn(&mask_trailing_dash(generate_name)),
        );
    }
    let name = m.name.as_deref().unwrap_or_default();
    if name.is_empty() {
        errs.push(FieldError::required(
            &path.child("name"),
            "name or generateName is required",
        ));
    } else {
        format_errors(&mut errs, &path.child("name"), name, name_fn(name));
    }
    namespace(
        &mut errs,
        &path,
        m.namespace.as_deref().unwrap_or_default(),
        namespaced,
    );
    common(&mut errs, &path, m);
    errs
}

/// A generated name gets a suffix, so a trailing dash is allowed (`maskTrailingDash`).
fn mask_trailing_dash(name: &str) -> String {
    match name.strip_suffix('-') {
        Some(rest) if name.len() > 1 => {
            let mut masked = rest.to_string();
            masked.pop();
            masked.push('a');
            masked
        }
        _ => name.to_string(),
    }
}

fn namespace(errs: &mut Errors, path: &Path, ns: &str, namespaced: bool) {
    let p = path.child("namespace");
    if !namespaced {
        if !ns.is_empty() {
            errs.push(FieldError::forbidden(&p, "not allowed on this type"));
        }
    } else if ns.is_empty() {
        errs.push(FieldError::required(&p, ""));
    } else {
        format_errors(errs, &p, ns, format::dns1123_label(ns));
    }
}

fn common(errs: &mut Errors, path: &Path, m: &ObjectMeta) {
    nonnegative(errs, &path.child("generation"), m.generation.unwrap_or(0));
    labels(errs, &path.child("labels"), m.labels.as_ref());
    annotations(errs, &path.child("annotations"), m.annotations.as_ref());
    owner_references(
        errs,
        &path.child("ownerReferences"),
        m.owner_references.as_deref().unwrap_or_default(),
    );
    finalizers(
        errs,
        &path.child("finalizers"),
        m.finalizers.as_deref().unwrap_or_default(),
    );
}

fn on_update(new: &ObjectMeta, old: &ObjectMeta) -> Errors {
    let mut errs = Errors::new();
    let path = Path::root("metadata");
    if old.deletion_timestamp.is_some() {
        no_new_finalizers(&mut errs, &path, new, old);
    }
    let generation = new.generation.unwrap_or(0);
    nonnegative(&mut errs, &path.child("generation"), generation);
    if generation < old.generation.unwrap_or(0) {
        errs.push(FieldError::invalid(
            &path.child("generation"),
            generation,
            "must not be decremented",
        ));
    }
    let text = |v: &Option<String>| Value::from(v.clone().unwrap_or_default());
    immutable(
        &mut errs,
        &path.child("name"),
        text(&new.name),
        &text(&old.name),
    );
    immutable(
        &mut errs,
        &path.child("namespace"),
        text(&new.namespace),
        &text(&old.namespace),
    );
    immutable(
        &mut errs,
        &path.child("uid"),
        text(&new.uid),
        &text(&old.uid),
    );
    immutable(
        &mut errs,
        &path.child("creationTimestamp"),
        json(&new.creation_timestamp),
        &json(&old.creation_timestamp),
    );
    immutable(
        &mut errs,
        &path.child("deletionTimestamp"),
        json(&new.deletion_timestamp),
        &json(&old.deletion_timestamp),
    );
    immutable(
        &mut errs,
        &path.child("deletionGracePeriodSeconds"),
        json(&new.deletion_grace_period_seconds),
        &json(&old.deletion_grace_period_seconds),
    );
    labels(&mut errs, &path.child("labels"), new.labels.as_ref());
    annotations(
        &mut errs,
        &path.child("annotations"),
        new.annotations.as_ref(),
    );
    owner_references(
        &mut errs,
        &path.child("ownerReferences"),
        new.owner_references.as_deref().unwrap_or_default(),
    );
    errs
}

fn no_new_finalizers(errs: &mut Errors, path: &Path, new: &ObjectMeta, old: &ObjectMeta) {
    let old_list = old.finalizers.as_deref().unwrap_or_default();
    let mut extra: Vec<&String> = new
        .finalizers
        .iter()
        .flatten()
        .filter(|f| !old_list.contains(f))
        .collect();
    extra.sort();
    extra.dedup();
    if !extra.is_empty() {
        let quoted: Vec<String> = extra.iter().map(|f| format!("{f:?}")).collect();
        errs.push(FieldError::forbidden(
            &path.child("finalizers"),
            format!(
                "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                quoted.join(", ")
            ),
        ));
    }
}

/// `ValidateLabels`: every key a qualified name, every value a label value.
pub(super) fn labels(errs: &mut Errors, path: &Path, labels: Option<&BTreeMap<String, String>>) {
    for (k, v) in labels.into_iter().flatten() {
        format_errors(errs, path, k, format::label_key(k));
        format_errors(errs, path, v, format::label_value(v));
    }
}

/// `ValidateAnnotations`: keys are qualified names (case-insensitive), 256 KiB in total.
pub(super) fn annotations(
    errs: &mut Errors,
    path: &Path,
    annotations: Option<&BTreeMap<String, String>>,
) {
    let mut total = 0;
    for (k, v) in annotations.into_iter().flatten() {
        format_errors(errs, path, k, format::label_key(&k.to_lowercase()));
        total += k.len() + v.len();
    }
    if total > ANNOTATIONS_LIMIT {
        errs.push(FieldError::too_long(path, ANNOTATIONS_LIMIT));
    }
}

fn owner_references(errs: &mut Errors, path: &Path, refs: &[OwnerReference]) {
    let mut controller: Option<String> = None;
    for (i, r) in refs.iter().enumerate() {
        owner_reference(errs, &path.index(i), r);
        if r.controller == Some(true) {
            let this = format!("{}/{}", r.kind, r.name);
            match &controller {
                Some(first) => errs.push(FieldError::invalid(
                    path,
                    json(&refs),
                    format!("Only one reference can have Controller set to true. Found \"true\" in references for {first} and {this}"),
                )),
                None => controller = Some(this),
            }
        }
    }
}

fn owner_reference(errs: &mut Errors, path: &Path, r: &OwnerReference) {
    let version_ok = match r.api_version.split('/').collect::<Vec<_>>().as_slice() {
        [v] | [_, v] => !v.is_empty(),
        _ => false,
    };
    if r.api_version.is_empty() {
        errs.push(FieldError::required(
            &path.child("apiVersion"),
            "must not be empty",
        ));
    } else if !version_ok {
        errs.push(FieldError::invalid(
            &path.child("apiVersion"),
            r.api_version.as_str(),
            "must be <group>/<version> or <version>",
        ));
    }
    for (field, value) in [("kind", &r.kind), ("name", &r.name), ("uid", &r.uid)] {
        if value.is_empty() {
            errs.push(FieldError::required(
                &path.child(field),
                "must not be empty",
            ));
        }
    }
    if r.api_version == "v1" && r.kind == "Event" {
        errs.push(FieldError::invalid(
            path,
            json(r),
            "/v1, Kind=Event is disallowed from being an owner",
        ));
    }
}

fn finalizers(errs: &mut Errors, path: &Path, list: &[String]) {
    for f in list {
        format_errors(errs, path, f, format::label_key(f));
    }
    let has = |name: &str| list.iter().any(|f| f == name);
    if has("orphan") && has("foregroundDeletion") {
        errs.push(FieldError::invalid(
            path,
            Value::from(list.to_vec()),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
}

/// `ValidateLabelSelector`: operators, values and keys of a `metav1.LabelSelector`.
pub(super) fn label_selector(errs: &mut Errors, path: &Path, sel: Option<&LabelSelector>) {
    let Some(sel) = sel else { return };
    labels(errs, &path.child("matchLabels"), sel.match_labels.as_ref());
    for (i, req) in sel.match_expressions.iter().flatten().enumerate() {
        let p = path.child("matchExpressions").index(i);
        let values = req.values.as_deref().unwrap_or_default();
        match req.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => errs.push(FieldError::required(
                &p.child("values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
                &p.child("values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errs.push(FieldError::invalid(
                &p.child("operator"),
                other,
                "not a valid selector operator",
            )),
        }
        format_errors(errs, &p.child("key"), &req.key, format::label_key(&req.key));
        for (j, v) in values.iter().enumerate() {
            format_errors(errs, &p.child("values").index(j), v, format::label_value(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_name_may_end_in_a_dash() {
        assert_eq!(mask_trailing_dash("web-"), "wea");
        assert_eq!(mask_trailing_dash("-"), "-");
        assert!(format::dns1123_subdomain(&mask_trailing_dash("web-")).is_empty());
    }
}
