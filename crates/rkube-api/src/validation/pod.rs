//! Pods and pod templates (`ValidatePod`, `ValidatePodSpec`,
//! `ValidatePodTemplateSpec`, `ValidatePodUpdate` in core validation).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, Pod, PodSpec, PodTemplateSpec, Probe, Toleration, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::{Errors, Path, decode, format, format_errors, json, meta, nonnegative, required_name};
use crate::field_error::FieldError;

const UPDATABLE: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";
const MAX_INT32: i64 = i32::MAX as i64;

/// A Pod object, on create or update.
pub(super) fn validate(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let pod: Pod = decode(obj)?;
    let old_pod: Option<Pod> = old.map(decode).transpose()?;
    let mut errs = meta::meta(
        &pod.metadata,
        old_pod.as_ref().map(|p| &p.metadata),
        true,
        format::dns1123_subdomain,
    );
    let spec = pod.spec.unwrap_or_default();
    errs.extend(pod_spec(&spec, &Path::root("spec")));
    if let Some(old_pod) = old_pod {
        errs.extend(update(&spec, &old_pod.spec.unwrap_or_default()));
    }
    Ok(errs)
}

/// `ValidatePodTemplateSpec` for a workload's `template` at `path`.
pub(super) fn template(t: &PodTemplateSpec, path: &Path) -> Errors {
    let mut errs = Errors::new();
    let m = t.metadata.clone().unwrap_or_default();
    meta::labels(&mut errs, &path.child("labels"), m.labels.as_ref());
    meta::annotations(
        &mut errs,
        &path.child("annotations"),
        m.annotations.as_ref(),
    );
    let spec = t.spec.clone().unwrap_or_default();
    errs.extend(pod_spec(&spec, &path.child("spec")));
    if spec
        .ephemeral_containers
        .as_ref()
        .is_some_and(|e| !e.is_empty())
    {
        errs.push(FieldError::forbidden(
            &path.child("spec").child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

fn pod_spec(spec: &PodSpec, path: &Path) -> Errors {
    let mut errs = Errors::new();
    if spec.termination_grace_period_seconds.is_none() {
        errs.push(FieldError::required(
            &path.child("terminationGracePeriodSeconds"),
            "",
        ));
    }
    let volumes = volumes(
        &mut errs,
        &path.child("volumes"),
        spec.volumes.as_deref().unwrap_or_default(),
    );
    let mut names = BTreeSet::new();
    containers(
        &mut errs,
        &path.child("containers"),
        &spec.containers,
        &volumes,
        &mut names,
    );
    init_containers(
        &mut errs,
        &path.child("initContainers"),
        spec.init_containers.as_deref().unwrap_or_default(),
        &volumes,
        &mut names,
    );
    if spec.host_network == Some(true) {
        host_network_ports(&mut errs, path, spec);
    }
    one_of(
        &mut errs,
        &path.child("restartPolicy"),
        spec.restart_policy.as_deref(),
        &["Always", "OnFailure", "Never"],
    );
    one_of(
        &mut errs,
        &path.child("dnsPolicy"),
        spec.dns_policy.as_deref(),
        &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
    );
    meta::labels(
        &mut errs,
        &path.child("nodeSelector"),
        spec.node_selector.as_ref(),
    );
    scalars(&mut errs, path, spec);
    tolerations(
        &mut errs,
        &path.child("tolerations"),
        spec.tolerations.as_deref().unwrap_or_default(),
    );
    errs
}

/// `Required` when empty, `Unsupported value` when not one of `supported`.
fn one_of(errs: &mut Errors, path: &Path, value: Option<&str>, supported: &[&str]) {
    match value.unwrap_or_default() {
        "" => errs.push(FieldError::required(path, "")),
        v if !supported.contains(&v) => errs.push(FieldError::not_supported(path, v, supported)),
        _ => {}
    }
}

fn optional_name(
    errs: &mut Errors,
    path: &Path,
    value: Option<&str>,
    check: fn(&str) -> Vec<String>,
) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        format_errors(errs, path, v, check(v));
    }
}

fn scalars(errs: &mut Errors, path: &Path, spec: &PodSpec) {
    optional_name(
        errs,
        &path.child("serviceAccountName"),
        spec.service_account_name.as_deref(),
        format::dns1123_subdomain,
    );
    optional_name(
        errs,
        &path.child("nodeName"),
        spec.node_name.as_deref(),
        format::dns1123_subdomain,
    );
    if let Some(v) = spec.active_deadline_seconds
        && !(1..=MAX_INT32).contains(&v)
    {
        errs.push(FieldError::invalid(
            &path.child("activeDeadlineSeconds"),
            v,
            format::inclusive_range(1, MAX_INT32),
        ));
    }
    optional_name(
        errs,
        &path.child("hostname"),
        spec.hostname.as_deref(),
        format::dns1123_label,
    );
    optional_name(
        errs,
        &path.child("subdomain"),
        spec.subdomain.as_deref(),
        format::dns1123_label,
    );
    optional_name(
        errs,
        &path.child("priorityClassName"),
        spec.priority_class_name.as_deref(),
        format::dns1123_subdomain,
    );
    if let Some(p) = spec.preemption_policy.as_deref() {
        one_of(
            errs,
            &path.child("preemptionPolicy"),
            Some(p),
            &["PreemptLowerPriority", "Never"],
        );
    }
}

/// Checks volumes and returns the names of the valid ones (mounts may only refer to those).
fn volumes(errs: &mut Errors, path: &Path, list: &[Volume]) -> BTreeSet<String> {
    let mut valid = BTreeSet::new();
    for (i, v) in list.iter().enumerate() {
        let p = path.index(i);
        let mut own = volume_source(&p, v);
        required_name(&mut own, &p.child("name"), &v.name, format::dns1123_label);
        if valid.contains(&v.name) {
            own.push(FieldError::duplicate(&p.child("name"), v.name.as_str()));
        }
        if own.is_empty() {
            valid.insert(v.name.clone());
        }
        errs.extend(own);
    }
    valid
}

fn volume_source(path: &Path, v: &Volume) -> Errors {
    let mut errs = Errors::new();
    let sources = json(v)
        .as_object()
        .map_or(0, |o| o.keys().filter(|k| *k != "name").count());
    match sources {
        0 => errs.push(FieldError::required(path, "must specify a volume type")),
        1 => {}
        _ => errs.push(FieldError::forbidden(
            path,
            "may not specify more than 1 volume type",
        )),
    }
    if let Some(s) = &v.secret {
        required_name(
            &mut errs,
            &path.child("secret").child("secretName"),
            s.secret_name.as_deref().unwrap_or_default(),
            no_check,
        );
        file_mode(
            &mut errs,
            &path.child("secret").child("defaultMode"),
            s.default_mode,
        );
    }
    if let Some(c) = &v.config_map {
        required_name(
            &mut errs,
            &path.child("configMap").child("name"),
            &c.name,
            no_check,
        );
        file_mode(
            &mut errs,
            &path.child("configMap").child("defaultMode"),
            c.default_mode,
        );
    }
    if let Some(h) = &v.host_path {
        required_name(
            &mut errs,
            &path.child("hostPath").child("path"),
            &h.path,
            no_check,
        );
    }
    if let Some(c) = &v.persistent_volume_claim {
        required_name(
            &mut errs,
            &path.child("persistentVolumeClaim").child("claimName"),
            &c.claim_name,
            no_check,
        );
    }
    errs
}

fn no_check(_: &str) -> Vec<String> {
    Vec::new()
}

fn file_mode(errs: &mut Errors, path: &Path, mode: Option<i32>) {
    if let Some(m) = mode.filter(|m| !(0..=0o777).contains(m)) {
        errs.push(FieldError::invalid(
            path,
            m,
            "must be a number between 0 and 0777 (octal), both inclusive",
        ));
    }
}

fn containers(
    errs: &mut Errors,
    path: &Path,
    list: &[Container],
    volumes: &BTreeSet<String>,
    names: &mut BTreeSet<String>,
) {
    if list.is_empty() {
        errs.push(FieldError::required(path, ""));
        return;
    }
    for (i, c) in list.iter().enumerate() {
        let p = path.index(i);
        container(errs, &p, c, volumes);
        if !names.insert(c.name.clone()) {
            errs.push(FieldError::duplicate(&p.child("name"), c.name.as_str()));
        }
        probe(
            errs,
            &p.child("livenessProbe"),
            c.liveness_probe.as_ref(),
            true,
        );
        probe(
            errs,
            &p.child("readinessProbe"),
            c.readiness_probe.as_ref(),
            false,
        );
        probe(
            errs,
            &p.child("startupProbe"),
            c.startup_probe.as_ref(),
            true,
        );
    }
    host_ports(errs, path, list);
}

fn init_containers(
    errs: &mut Errors,
    path: &Path,
    list: &[Container],
    volumes: &BTreeSet<String>,
    names: &mut BTreeSet<String>,
) {
    for (i, c) in list.iter().enumerate() {
        let p = path.index(i);
        container(errs, &p, c, volumes);
        if !names.insert(c.name.clone()) {
            errs.push(FieldError::duplicate(&p.child("name"), c.name.as_str()));
        }
        let sidecar = c.restart_policy.as_deref() == Some("Always");
        if sidecar {
            probe(
                errs,
                &p.child("livenessProbe"),
                c.liveness_probe.as_ref(),
                true,
            );
            probe(
                errs,
                &p.child("readinessProbe"),
                c.readiness_probe.as_ref(),
                false,
            );
            probe(
                errs,
                &p.child("startupProbe"),
                c.startup_probe.as_ref(),
                true,
            );
            continue;
        }
        let forbidden = [
            ("lifecycle", c.lifecycle.is_some()),
            ("livenessProbe", c.liveness_probe.is_some()),
            ("readinessProbe", c.readiness_probe.is_some()),
            ("startupProbe", c.startup_probe.is_some()),
        ];
        for (field, set) in forbidden {
            if set {
                errs.push(FieldError::forbidden(
                    &p.child(field),
                    "may not be set for init containers without restartPolicy=Always",
                ));
            }
        }
    }
}

/// `validateContainerCommon`: the rules every kind of container shares.
fn container(errs: &mut Errors, path: &Path, c: &Container, volumes: &BTreeSet<String>) {
    required_name(errs, &path.child("name"), &c.name, format::dns1123_label);
    if c.image.as_deref().unwrap_or_default().is_empty() {
        errs.push(FieldError::required(&path.child("image"), ""));
    }
    one_of(
        errs,
        &path.child("terminationMessagePolicy"),
        c.termination_message_policy.as_deref(),
        &["File", "FallbackToLogsOnError"],
    );
    ports(
        errs,
        &path.child("ports"),
        c.ports.as_deref().unwrap_or_default(),
    );
    env(
        errs,
        &path.child("env"),
        c.env.as_deref().unwrap_or_default(),
    );
    mounts(
        errs,
        &path.child("volumeMounts"),
        c.volume_mounts.as_deref().unwrap_or_default(),
        volumes,
    );
    one_of(
        errs,
        &path.child("imagePullPolicy"),
        c.image_pull_policy.as_deref(),
        &["Always", "IfNotPresent", "Never"],
    );
}

fn ports(errs: &mut Errors, path: &Path, list: &[ContainerPort]) {
    let mut names = BTreeSet::new();
    for (i, port) in list.iter().enumerate() {
        let p = path.index(i);
        if let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) {
            let msgs = format::port_name(name);
            if !msgs.is_empty() {
                format_errors(errs, &p.child("name"), name, msgs);
            } else if !names.insert(name.to_string()) {
                errs.push(FieldError::duplicate(&p.child("name"), name));
            }
        }
        if port.container_port == 0 {
            errs.push(FieldError::required(&p.child("containerPort"), ""));
        } else {
            port_number(errs, &p.child("containerPort"), port.container_port);
        }
        if let Some(h) = port.host_port.filter(|h| *h != 0) {
            port_number(errs, &p.child("hostPort"), h);
        }
        protocol(errs, &p.child("protocol"), port.protocol.as_deref());
    }
}

fn port_number(errs: &mut Errors, path: &Path, n: i32) {
    for msg in format::port_num(i64::from(n)) {
        errs.push(FieldError::invalid(path, n, msg));
    }
}

/// `Required` or `Unsupported value` for a port protocol.
pub(super) fn protocol(errs: &mut Errors, path: &Path, value: Option<&str>) {
    one_of(errs, path, value, &["SCTP", "TCP", "UDP"]);
}

/// Host ports must be unique across the pod's containers (`AccumulateUniqueHostPorts`).
fn host_ports(errs: &mut Errors, path: &Path, list: &[Container]) {
    let mut seen = BTreeSet::new();
    for (i, c) in list.iter().enumerate() {
        for (j, port) in c.ports.iter().flatten().enumerate() {
            let Some(host_port) = port.host_port.filter(|h| *h != 0) else {
                continue;
            };
            let key = format!(
                "{}/{}/{host_port}",
                port.host_ip.as_deref().unwrap_or_default(),
                port.protocol.as_deref().unwrap_or_default()
            );
            if !seen.insert(key.clone()) {
                errs.push(FieldError::duplicate(
                    &path.index(i).child("ports").index(j).child("hostPort"),
                    key,
                ));
            }
        }
    }
}

fn host_network_ports(errs: &mut Errors, path: &Path, spec: &PodSpec) {
    let lists = [
        ("containers", Some(&spec.containers)),
        ("initContainers", spec.init_containers.as_ref()),
    ];
    for (field, list) in lists {
        for (i, c) in list.into_iter().flatten().enumerate() {
            for (j, port) in c.ports.iter().flatten().enumerate() {
                let host = port.host_port.unwrap_or(0);
                if host != port.container_port {
                    errs.push(FieldError::invalid(
                        &path
                            .child(field)
                            .index(i)
                            .child("ports")
                            .index(j)
                            .child("hostPort"),
                        host,
                        "must match `containerPort` when `hostNetwork` is true",
                    ));
                }
            }
        }
    }
}

fn env(errs: &mut Errors, path: &Path, list: &[EnvVar]) {
    for (i, e) in list.iter().enumerate() {
        let p = path.index(i);
        if e.name.is_empty() {
            errs.push(FieldError::required(&p.child("name"), ""));
        }
        format_errors(
            errs,
            &p.child("name"),
            &e.name,
            format::env_var_name(&e.name),
        );
        if let Some(from) = &e.value_from {
            let vf = p.child("valueFrom");
            let sources = [
                from.field_ref.is_some(),
                from.resource_field_ref.is_some(),
                from.config_map_key_ref.is_some(),
                from.secret_key_ref.is_some(),
                from.file_key_ref.is_some(),
            ];
            if !sources.contains(&true) {
                errs.push(FieldError::invalid(
                    &vf,
                    "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                ));
            } else if sources.iter().filter(|s| **s).count() > 1 {
                errs.push(FieldError::invalid(
                    &vf,
                    "",
                    "may not have more than one field specified at a time",
                ));
            }
            if !e.value.as_deref().unwrap_or_default().is_empty() {
                errs.push(FieldError::invalid(
                    &vf,
                    "",
                    "may not be specified when `value` is not empty",
                ));
            }
        }
    }
}

fn mounts(errs: &mut Errors, path: &Path, list: &[VolumeMount], volumes: &BTreeSet<String>) {
    let mut paths = BTreeSet::new();
    for (i, m) in list.iter().enumerate() {
        let p = path.index(i);
        if m.name.is_empty() {
            errs.push(FieldError::required(&p.child("name"), ""));
        }
        if !volumes.contains(&m.name) {
            errs.push(FieldError::not_found(&p.child("name"), m.name.as_str()));
        }
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(&p.child("mountPath"), ""));
        }
        if !paths.insert(m.mount_path.clone()) {
            errs.push(FieldError::invalid(
                &p.child("mountPath"),
                m.mount_path.as_str(),
                "must be unique",
            ));
        }
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            descending_path(errs, &path.child("subPath"), sub);
        }
    }
}

/// `validateLocalDescendingPath`: relative and without `..` segments.
fn descending_path(errs: &mut Errors, path: &Path, target: &str) {
    if target.starts_with('/') {
        errs.push(FieldError::invalid(path, target, "must be a relative path"));
    }
    if target.split(['/', '\\']).any(|part| part == "..") {
        errs.push(FieldError::invalid(path, target, "must not contain '..'"));
    }
}

fn probe(errs: &mut Errors, path: &Path, probe: Option<&Probe>, success_must_be_one: bool) {
    let Some(p) = probe else { return };
    let handlers = [
        p.exec.is_some(),
        p.http_get.is_some(),
        p.tcp_socket.is_some(),
        p.grpc.is_some(),
    ];
    match handlers.iter().filter(|h| **h).count() {
        0 => errs.push(FieldError::required(path, "must specify a handler type")),
        1 => {}
        _ => errs.push(FieldError::forbidden(
            path,
            "may not specify more than 1 handler type",
        )),
    }
    if let Some(get) = &p.http_get {
        port_num_or_name(errs, &path.child("httpGet").child("port"), &get.port);
        let scheme = get.scheme.as_deref();
        one_of(
            errs,
            &path.child("httpGet").child("scheme"),
            scheme,
            &["HTTP", "HTTPS"],
        );
    }
    if let Some(tcp) = &p.tcp_socket {
        port_num_or_name(errs, &path.child("tcpSocket").child("port"), &tcp.port);
    }
    let numbers = [
        ("initialDelaySeconds", p.initial_delay_seconds),
        ("timeoutSeconds", p.timeout_seconds),
        ("periodSeconds", p.period_seconds),
        ("successThreshold", p.success_threshold),
        ("failureThreshold", p.failure_threshold),
    ];
    for (field, v) in numbers {
        nonnegative(errs, &path.child(field), i64::from(v.unwrap_or(0)));
    }
    if success_must_be_one && let Some(s) = p.success_threshold.filter(|s| *s != 1) {
        errs.push(FieldError::invalid(
            &path.child("successThreshold"),
            s,
            "must be 1",
        ));
    }
}

/// `ValidatePortNumOrName`: a port number, or a named port.
pub(super) fn port_num_or_name(errs: &mut Errors, path: &Path, port: &IntOrString) {
    match port {
        IntOrString::Int(n) => port_number(errs, path, *n),
        IntOrString::String(s) => format_errors(errs, path, s, format::port_name(s)),
    }
}

fn tolerations(errs: &mut Errors, path: &Path, list: &[Toleration]) {
    for (i, t) in list.iter().enumerate() {
        toleration(errs, &path.index(i), t);
    }
}

fn toleration(errs: &mut Errors, path: &Path, t: &Toleration) {
    let key = t.key.as_deref().unwrap_or_default();
    let operator = t.operator.as_deref().unwrap_or_default();
    let effect = t.effect.as_deref().unwrap_or_default();
    let value = t.value.as_deref().unwrap_or_default();
    if !key.is_empty() {
        format_errors(errs, &path.child("key"), key, format::label_key(key));
    }
    if key.is_empty() && operator != "Exists" {
        errs.push(FieldError::invalid(
            &path.child("operator"),
            operator,
            "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
        ));
    }
    if t.toleration_seconds.is_some() && effect != "NoExecute" {
        errs.push(FieldError::invalid(
            &path.child("effect"),
            effect,
            "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ));
    }
    match operator {
        "" | "Equal" => format_errors(
            errs,
            &path.child("operator"),
            value,
            format::label_value(value),
        ),
        "Exists" if !value.is_empty() => {
            errs.push(FieldError::invalid(
                &path.child("operator"),
                json(t),
                "value must be empty when `operator` is 'Exists'",
            ));
        }
        "Exists" => {}
        other => errs.push(FieldError::not_supported(
            &path.child("operator"),
            other,
            &["Equal", "Exists"],
        )),
    }
    if !effect.is_empty() {
        taint_effect(errs, &path.child("effect"), effect);
    }
}

/// `validateTaintEffect` for a non-empty effect.
pub(super) fn taint_effect(errs: &mut Errors, path: &Path, effect: &str) {
    const EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];
    if !EFFECTS.contains(&effect) {
        errs.push(FieldError::not_supported(path, effect, EFFECTS));
    }
}

/// `ValidatePodUpdate`: only images, `activeDeadlineSeconds`, added tolerations and a
/// negative grace period raised to 1 may change.
fn update(new: &PodSpec, old: &PodSpec) -> Errors {
    let mut errs = Errors::new();
    let path = Path::root("spec");
    let old_init = old.init_containers.as_deref().unwrap_or_default();
    let new_init = new.init_containers.as_deref().unwrap_or_default();
    if !same_containers(
        &mut errs,
        &path.child("containers"),
        &new.containers,
        &old.containers,
    ) || !same_containers(&mut errs, &path.child("initContainers"), new_init, old_init)
    {
        return errs;
    }
    if !deadline_update(
        &mut errs,
        &path,
        new.active_deadline_seconds,
        old.active_deadline_seconds,
    ) {
        return errs;
    }
    added_tolerations(
        &mut errs,
        &path.child("tolerations"),
        new.tolerations.as_deref().unwrap_or_default(),
        old.tolerations.as_deref().unwrap_or_default(),
    );
    if normalized(new) != normalized(old) && normalized(&munged(new, old)) != normalized(old) {
        errs.push(FieldError::forbidden(
            &path,
            format!("pod updates may not change fields other than {UPDATABLE}"),
        ));
    }
    errs
}

/// `ValidateContainerUpdates`; false when the container list itself changed.
fn same_containers(errs: &mut Errors, path: &Path, new: &[Container], old: &[Container]) -> bool {
    if new.len() != old.len() {
        errs.push(FieldError::forbidden(
            path,
            "pod updates may not add or remove containers",
        ));
        return false;
    }
    for (i, c) in new.iter().enumerate() {
        let image = c.image.as_deref().unwrap_or_default();
        if image.is_empty() {
            errs.push(FieldError::required(&path.index(i).child("image"), ""));
        }
        if image.trim() != image {
            errs.push(FieldError::invalid(
                &path.index(i).child("image"),
                image,
                "must not have leading or trailing whitespace",
            ));
        }
    }
    true
}

/// `activeDeadlineSeconds` may be set, or lowered, but not raised or removed; false stops validation.
fn deadline_update(errs: &mut Errors, path: &Path, new: Option<i64>, old: Option<i64>) -> bool {
    let p = path.child("activeDeadlineSeconds");
    match (new, old) {
        (Some(n), _) if !(0..=MAX_INT32).contains(&n) => {
            errs.push(FieldError::invalid(
                &p,
                n,
                format::inclusive_range(0, MAX_INT32),
            ));
            false
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(FieldError::invalid(
                &p,
                n,
                "must be less than or equal to previous value",
            ));
            false
        }
        (None, Some(_)) => {
            errs.push(FieldError::invalid(
                &p,
                Value::Null,
                "must not update from a positive integer to nil value",
            ));
            true
        }
        _ => true,
    }
}

fn added_tolerations(errs: &mut Errors, path: &Path, new: &[Toleration], old: &[Toleration]) {
    let kept = old.iter().all(|o| {
        new.iter().any(|n| {
            Toleration {
                toleration_seconds: n.toleration_seconds,
                ..o.clone()
            } == *n
        })
    });
    if !kept {
        errs.push(FieldError::forbidden(
            path,
            "existing toleration can not be modified except its tolerationSeconds",
        ));
    }
}

/// The new spec with every updatable field taken from the old one.
fn munged(new: &PodSpec, old: &PodSpec) -> PodSpec {
    let mut m = new.clone();
    for (c, o) in m.containers.iter_mut().zip(&old.containers) {
        c.image.clone_from(&o.image);
    }
    for (c, o) in m
        .init_containers
        .iter_mut()
        .flatten()
        .zip(old.init_containers.iter().flatten())
    {
        c.image.clone_from(&o.image);
    }
    m.active_deadline_seconds = old.active_deadline_seconds;
    m.scheduling_gates.clone_from(&old.scheduling_gates);
    m.tolerations.clone_from(&old.tolerations);
    if old.termination_grace_period_seconds.is_some_and(|g| g < 0)
        && m.termination_grace_period_seconds == Some(1)
    {
        m.termination_grace_period_seconds = old.termination_grace_period_seconds;
    }
    m
}

/// JSON with empty lists and maps dropped: Kubernetes compares nil and empty as equal.
fn normalized(spec: &PodSpec) -> Value {
    super::pruned(&json(spec))
}
