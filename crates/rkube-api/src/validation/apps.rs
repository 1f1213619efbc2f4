//! apps/v1 workloads (`pkg/apis/apps/validation`): selectors, templates,
//! strategies and the fields that may not change on update.

use k8s_openapi::api::apps::v1::{
    ControllerRevision, DaemonSet, DaemonSetUpdateStrategy, Deployment, DeploymentStrategy,
    ReplicaSet, StatefulSet, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as MetaSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::{Errors, Path, decode, format, immutable, json, meta, nonnegative, pod};
use crate::field_error::FieldError;
use crate::selector::LabelSelector;

/// `spec.selector` when the client sent one (k8s-openapi cannot tell absent from empty).
fn sent_selector(obj: &Value, typed: &MetaSelector) -> Option<MetaSelector> {
    obj.pointer("/spec/selector")
        .filter(|v| !v.is_null())
        .map(|_| typed.clone())
}

fn spec_path() -> Path {
    Path::root("spec")
}

/// Deployments.
pub(super) fn deployment(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let d: Deployment = decode(obj)?;
    let old_d: Option<Deployment> = old.map(decode).transpose()?;
    let mut errs = meta::meta(
        &d.metadata,
        old_d.as_ref().map(|o| &o.metadata),
        true,
        format::dns1123_subdomain,
    );
    let spec = d.spec;
    let path = spec_path();
    nonnegative(
        &mut errs,
        &path.child("replicas"),
        i64::from(spec.replicas.unwrap_or(0)),
    );
    let selector = sent_selector(obj, &spec.selector);
    required_selector(&mut errs, &path, selector.as_ref(), "deployment");
    replica_template(&mut errs, &path, selector.as_ref(), &spec.template);
    deployment_strategy(&mut errs, &path.child("strategy"), spec.strategy.as_ref());
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    nonnegative(
        &mut errs,
        &path.child("minReadySeconds"),
        i64::from(min_ready),
    );
    if let Some(limit) = spec.revision_history_limit {
        nonnegative(
            &mut errs,
            &path.child("revisionHistoryLimit"),
            i64::from(limit),
        );
    }
    if let Some(deadline) = spec.progress_deadline_seconds {
        nonnegative(
            &mut errs,
            &path.child("progressDeadlineSeconds"),
            i64::from(deadline),
        );
        if deadline <= min_ready {
            errs.push(FieldError::invalid(
                &path.child("progressDeadlineSeconds"),
                deadline,
                "must be greater than minReadySeconds",
            ));
        }
    }
    if let Some(old_d) = old_d {
        immutable_selector(&mut errs, &spec.selector, &old_d.spec.selector);
    }
    Ok(errs)
}

/// ReplicaSets.
pub(super) fn replica_set(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let rs: ReplicaSet = decode(obj)?;
    let old_rs: Option<ReplicaSet> = old.map(decode).transpose()?;
    let mut errs = meta::meta(
        &rs.metadata,
        old_rs.as_ref().map(|o| &o.metadata),
        true,
        format::dns1123_subdomain,
    );
    let spec = rs.spec;
    let path = spec_path();
    nonnegative(
        &mut errs,
        &path.child("replicas"),
        i64::from(spec.replicas.unwrap_or(0)),
    );
    nonnegative(
        &mut errs,
        &path.child("minReadySeconds"),
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
    );
    let selector = sent_selector(obj, &spec.selector);
    required_selector(&mut errs, &path, selector.as_ref(), "deployment");
    replica_template(
        &mut errs,
        &path,
        selector.as_ref(),
        &spec.template.unwrap_or_default(),
    );
    if let Some(old_rs) = old_rs {
        immutable_selector(&mut errs, &spec.selector, &old_rs.spec.selector);
    }
    Ok(errs)
}

/// DaemonSets.
pub(super) fn daemon_set(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let ds: DaemonSet = decode(obj)?;
    let old_ds: Option<DaemonSet> = old.map(decode).transpose()?;
    let mut errs = meta::meta(
        &ds.metadata,
        old_ds.as_ref().map(|o| &o.metadata),
        true,
        format::dns1123_subdomain,
    );
    let spec = ds.spec;
    let path = spec_path();
    let selector = sent_selector(obj, &spec.selector);
    meta::label_selector(&mut errs, &path.child("selector"), selector.as_ref());
    if let Ok(false) = selects(selector.as_ref(), &spec.template) {
        mismatch(&mut errs, &path.child("template"), &spec.template);
    }
    if selector.as_ref().is_some_and(is_empty_selector) {
        errs.push(FieldError::invalid(
            &path.child("selector"),
            json(&selector),
            "empty selector is invalid for daemonset",
        ));
    }
    errs.extend(pod::template(&spec.template, &path.child("template")));
    always_restart(
        &mut errs,
        &path.child("template"),
        &spec.template,
        "DaemonSet",
    );
    nonnegative(
        &mut errs,
        &path.child("minReadySeconds"),
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
    );
    daemon_set_strategy(
        &mut errs,
        &path.child("updateStrategy"),
        spec.update_strategy.as_ref(),
    );
    if let Some(limit) = spec.revision_history_limit {
        nonnegative(
            &mut errs,
            &path.child("revisionHistoryLimit"),
            i64::from(limit),
        );
    }
    if let Some(old_ds) = old_ds {
        immutable_selector(&mut errs, &spec.selector, &old_ds.spec.selector);
    }
    Ok(errs)
}

/// StatefulSets (DNS-label names; the pod template's spec is not validated, as upstream).
pub(super) fn stateful_set(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let sts: StatefulSet = decode(obj)?;
    let old_sts: Option<StatefulSet> = old.map(decode).transpose()?;
    let mut errs = meta::meta(
        &sts.metadata,
        old_sts.as_ref().map(|o| &o.metadata),
        true,
        format::dns1123_label,
    );
    let spec = sts.spec;
    stateful_set_spec(&mut errs, obj, &spec);
    if let Some(old_spec) = old_sts.map(|o| o.spec) {
        stateful_set_update(&mut errs, &spec, &old_spec);
    }
    Ok(errs)
}

fn stateful_set_spec(errs: &mut Errors, obj: &Value, spec: &StatefulSetSpec) {
    let path = spec_path();
    match spec.pod_management_policy.as_deref().unwrap_or_default() {
        "" => errs.push(FieldError::required(&path.child("podManagementPolicy"), "")),
        "OrderedReady" | "Parallel" => {}
        other => errs.push(FieldError::invalid(
            &path.child("podManagementPolicy"),
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    stateful_set_strategy(errs, &path.child("updateStrategy"), spec);
    if let Some(policy) = &spec.persistent_volume_claim_retention_policy {
        let p = path.child("persistentVolumeClaimRetentionPolicy");
        for (field, value) in [
            ("whenDeleted", &policy.when_deleted),
            ("whenScaled", &policy.when_scaled),
        ] {
            let v = value.as_deref().unwrap_or_default();
            if v != "Retain" && v != "Delete" {
                errs.push(FieldError::not_supported(
                    &p.child(field),
                    v,
                    &["Retain", "Delete"],
                ));
            }
        }
    }
    nonnegative(
        errs,
        &path.child("replicas"),
        i64::from(spec.replicas.unwrap_or(0)),
    );
    nonnegative(
        errs,
        &path.child("minReadySeconds"),
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
    );
    if let Some(start) = spec.ordinals.as_ref().and_then(|o| o.start) {
        nonnegative(errs, &path.child("ordinals.start"), i64::from(start));
    }
    let selector = sent_selector(obj, &spec.selector);
    required_selector(errs, &path, selector.as_ref(), "statefulset");
    let empty = selector.as_ref().is_some_and(is_empty_selector);
    match selects(selector.as_ref(), &spec.template) {
        Err(_) => errs.push(FieldError::invalid(
            &path.child("selector"),
            json(&selector),
            "",
        )),
        Ok(matched) => {
            if !matched && !empty {
                mismatch(errs, &path.child("template"), &spec.template);
            }
            let m = spec.template.metadata.clone().unwrap_or_default();
            meta::labels(
                errs,
                &path.child("template").child("labels"),
                m.labels.as_ref(),
            );
            meta::annotations(
                errs,
                &path.child("template").child("annotations"),
                m.annotations.as_ref(),
            );
        }
    }
    always_restart(errs, &path.child("template"), &spec.template, "StatefulSet");
}

fn stateful_set_strategy(errs: &mut Errors, path: &Path, spec: &StatefulSetSpec) {
    let strategy = spec.update_strategy.clone().unwrap_or_default();
    match strategy.type_.as_deref().unwrap_or_default() {
        "" => errs.push(FieldError::required(path, "")),
        "OnDelete" => {
            if let Some(r) = &strategy.rolling_update {
                errs.push(FieldError::invalid(
                    &path.child("rollingUpdate"),
                    json(r),
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(r) = &strategy.rolling_update {
                let p = path.child("rollingUpdate");
                nonnegative(
                    errs,
                    &p.child("partition"),
                    i64::from(r.partition.unwrap_or(0)),
                );
                if let Some(max) = &r.max_unavailable {
                    positive_int_or_percent(errs, &p.child("maxUnavailable"), max);
                    if int_or_percent(max) == 0 {
                        errs.push(FieldError::invalid(
                            &p.child("maxUnavailable"),
                            json(max),
                            "cannot be 0",
                        ));
                    }
                    at_most_100_percent(errs, &p.child("maxUnavailable"), max);
                }
            }
        }
        _ => errs.push(FieldError::invalid(
            path,
            json(&strategy),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
}

fn stateful_set_update(errs: &mut Errors, new: &StatefulSetSpec, old: &StatefulSetSpec) {
    let mut clone = new.clone();
    clone.replicas = old.replicas;
    clone.template.clone_from(&old.template);
    clone.update_strategy.clone_from(&old.update_strategy);
    clone.min_ready_seconds = old.min_ready_seconds;
    clone.ordinals.clone_from(&old.ordinals);
    clone
        .persistent_volume_claim_retention_policy
        .clone_from(&old.persistent_volume_claim_retention_policy);
    if super::pruned(&json(&clone)) != super::pruned(&json(old)) {
        errs.push(FieldError::forbidden(
            &spec_path(),
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ));
    }
}

/// ControllerRevisions: opaque data that never changes.
pub(super) fn controller_revision(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let r: ControllerRevision = decode(obj)?;
    let old_r: Option<ControllerRevision> = old.map(decode).transpose()?;
    let mut errs = meta::meta(
        &r.metadata,
        old_r.as_ref().map(|o| &o.metadata),
        true,
        format::dns1123_subdomain,
    );
    if obj.get("data").is_none_or(Value::is_null) {
        errs.push(FieldError::required(
            &Path::root("data"),
            "data is mandatory",
        ));
    }
    nonnegative(&mut errs, &Path::root("revision"), r.revision.unwrap_or(0));
    if let Some(old_r) = old_r {
        immutable(
            &mut errs,
            &Path::root("data"),
            json(&r.data),
            &json(&old_r.data),
        );
    }
    Ok(errs)
}

/// `spec.selector: Required value` or the selector's own errors, plus the empty-selector rule.
fn required_selector(errs: &mut Errors, path: &Path, selector: Option<&MetaSelector>, kind: &str) {
    let p = path.child("selector");
    match selector {
        None => errs.push(FieldError::required(&p, "")),
        Some(sel) => {
            meta::label_selector(errs, &p, Some(sel));
            if is_empty_selector(sel) {
                errs.push(FieldError::invalid(
                    &p,
                    json(sel),
                    format!("empty selector is invalid for {kind}"),
                ));
            }
        }
    }
}

fn is_empty_selector(sel: &MetaSelector) -> bool {
    sel.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && sel.match_expressions.as_ref().is_none_or(|e| e.is_empty())
}

/// Whether the selector picks the template's labels; no selector picks nothing, an invalid one errs.
fn selects(selector: Option<&MetaSelector>, template: &PodTemplateSpec) -> Result<bool, String> {
    let Some(sel) = selector else {
        return Ok(false);
    };
    let parsed = LabelSelector::from_label_selector(sel).map_err(|e| e.to_string())?;
    let labels = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    Ok(parsed.matches(&labels))
}

fn mismatch(errs: &mut Errors, template_path: &Path, template: &PodTemplateSpec) {
    let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
    errs.push(FieldError::invalid(
        &template_path.child("metadata").child("labels"),
        json(&labels),
        "`selector` does not match template `labels`",
    ));
}

/// `ValidatePodTemplateSpecForReplicaSet`, as Deployments and ReplicaSets use it.
fn replica_template(
    errs: &mut Errors,
    path: &Path,
    selector: Option<&MetaSelector>,
    template: &PodTemplateSpec,
) {
    let empty = selector.is_some_and(is_empty_selector);
    match selects(selector, template) {
        Err(_) => errs.push(FieldError::invalid(
            &path.child("selector"),
            json(&selector),
            "invalid label selector",
        )),
        Ok(matched) => {
            if !matched && !empty {
                mismatch(errs, &path.child("template"), template);
            }
            errs.extend(pod::template(template, &path.child("template")));
            always_restart(errs, &path.child("template"), template, "ReplicaSet");
        }
    }
}

/// Controllers that keep pods running need `restartPolicy: Always` and no deadline.
fn always_restart(errs: &mut Errors, template_path: &Path, template: &PodTemplateSpec, kind: &str) {
    let spec = template.spec.clone().unwrap_or_default();
    let p = template_path.child("spec");
    let policy = spec.restart_policy.unwrap_or_default();
    if policy != "Always" {
        errs.push(FieldError::not_supported(
            &p.child("restartPolicy"),
            policy,
            &["Always"],
        ));
    }
    if spec.active_deadline_seconds.is_some() {
        errs.push(FieldError::forbidden(
            &p.child("activeDeadlineSeconds"),
            format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
}

fn immutable_selector(errs: &mut Errors, new: &MetaSelector, old: &MetaSelector) {
    if super::pruned(&json(new)) != super::pruned(&json(old)) {
        errs.push(FieldError::invalid(
            &spec_path().child("selector"),
            json(new),
            "field is immutable",
        ));
    }
}

fn deployment_strategy(errs: &mut Errors, path: &Path, strategy: Option<&DeploymentStrategy>) {
    let strategy = strategy.cloned().unwrap_or_default();
    match strategy.type_.as_deref().unwrap_or_default() {
        "Recreate" => {
            if strategy.rolling_update.is_some() {
                errs.push(FieldError::forbidden(
                    &path.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match &strategy.rolling_update {
            None => errs.push(FieldError::required(
                &path.child("rollingUpdate"),
                "this should be defaulted and never be nil",
            )),
            Some(r) => {
                let p = path.child("rollingUpdate");
                let unavailable = r.max_unavailable.clone().unwrap_or(IntOrString::Int(0));
                let surge = r.max_surge.clone().unwrap_or(IntOrString::Int(0));
                positive_int_or_percent(errs, &p.child("maxUnavailable"), &unavailable);
                positive_int_or_percent(errs, &p.child("maxSurge"), &surge);
                if int_or_percent(&unavailable) == 0 && int_or_percent(&surge) == 0 {
                    errs.push(FieldError::invalid(
                        &p.child("maxUnavailable"),
                        json(&unavailable),
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
                at_most_100_percent(errs, &p.child("maxUnavailable"), &unavailable);
            }
        },
        _ => errs.push(FieldError::not_supported(
            path,
            json(&strategy),
            &["Recreate", "RollingUpdate"],
        )),
    }
}

fn daemon_set_strategy(errs: &mut Errors, path: &Path, strategy: Option<&DaemonSetUpdateStrategy>) {
    let strategy = strategy.cloned().unwrap_or_default();
    match strategy.type_.as_deref().unwrap_or_default() {
        "OnDelete" => {}
        "RollingUpdate" => match &strategy.rolling_update {
            None => errs.push(FieldError::required(&path.child("rollingUpdate"), "")),
            Some(r) => {
                let p = path.child("rollingUpdate");
                let unavailable = r.max_unavailable.clone().unwrap_or(IntOrString::Int(0));
                let surge = r.max_surge.clone().unwrap_or(IntOrString::Int(0));
                positive_int_or_percent(errs, &p.child("maxUnavailable"), &unavailable);
                positive_int_or_percent(errs, &p.child("maxSurge"), &surge);
                at_most_100_percent(errs, &p.child("maxUnavailable"), &unavailable);
                at_most_100_percent(errs, &p.child("maxSurge"), &surge);
                match (
                    int_or_percent(&unavailable) != 0,
                    int_or_percent(&surge) != 0,
                ) {
                    (true, true) => errs.push(FieldError::invalid(
                        &p.child("maxSurge"),
                        json(&surge),
                        "may not be set when maxUnavailable is non-zero",
                    )),
                    (false, false) => errs.push(FieldError::required(
                        &p.child("maxUnavailable"),
                        "cannot be 0 when maxSurge is 0",
                    )),
                    _ => {}
                }
            }
        },
        _ => errs.push(FieldError::not_supported(
            path,
            json(&strategy),
            &["RollingUpdate", "OnDelete"],
        )),
    }
}

/// A `25%` style percentage's number, if the string is one.
fn percent(s: &str) -> Option<i64> {
    let digits = s.strip_suffix('%')?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// `getIntOrPercentValue`: the percentage or the integer (unparsable strings count as 0).
fn int_or_percent(v: &IntOrString) -> i64 {
    match v {
        IntOrString::Int(n) => i64::from(*n),
        IntOrString::String(s) => percent(s).or_else(|| s.parse().ok()).unwrap_or(0),
    }
}

/// `ValidatePositiveIntOrPercent`.
pub(super) fn positive_int_or_percent(errs: &mut Errors, path: &Path, v: &IntOrString) {
    match v {
        IntOrString::Int(n) => nonnegative(errs, path, i64::from(*n)),
        IntOrString::String(s) if percent(s).is_none() => errs.push(FieldError::invalid(
            path,
            s.as_str(),
            format::regex_error(
                "a valid percent string must be a numeric string followed by an ending '%'",
                "[0-9]+%",
                &["1%", "93%"],
            ),
        )),
        IntOrString::String(_) => {}
    }
}

/// `IsNotMoreThan100Percent`.
pub(super) fn at_most_100_percent(errs: &mut Errors, path: &Path, v: &IntOrString) {
    if let IntOrString::String(s) = v
        && percent(s).is_some_and(|p| p > 100)
    {
        errs.push(FieldError::invalid(
            path,
            s.as_str(),
            "must not be greater than 100%",
        ));
    }
}
