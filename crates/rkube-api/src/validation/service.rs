//! Services (`ValidateService`, `ValidateServiceUpdate`). IP allocation
//! checks (ranges, families, conflicts) belong to the allocator, not here.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json as json_value};

use super::{Errors, Path, decode, format, format_errors, json, meta, pod};
use crate::field_error::FieldError;

const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

/// A Service object, on create or update.
pub(super) fn validate(obj: &Value, old: Option<&Value>) -> Result<Errors, FieldError> {
    let svc: Service = decode(obj)?;
    let old_svc: Option<Service> = old.map(decode).transpose()?;
    let mut errs = meta::meta(
        &svc.metadata,
        old_svc.as_ref().map(|o| &o.metadata),
        true,
        format::dns1123_label,
    );
    let spec = svc.spec.unwrap_or_default();
    let path = Path::root("spec");
    let kind = spec.type_.as_deref().unwrap_or_default();
    let ports = spec.ports.as_deref().unwrap_or_default();
    let headless = spec.cluster_ip.as_deref() == Some("None");
    if ports.is_empty() && !headless && kind != "ExternalName" {
        errs.push(FieldError::required(&path.child("ports"), ""));
    }
    by_type(&mut errs, &path, &spec, headless);
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        service_port(
            &mut errs,
            &path.child("ports").index(i),
            port,
            ports.len() > 1,
            &mut names,
        );
    }
    meta::labels(&mut errs, &path.child("selector"), spec.selector.as_ref());
    affinity(&mut errs, &path, &spec);
    match kind {
        "" => errs.push(FieldError::required(&path.child("type"), "")),
        k if !TYPES.contains(&k) => {
            errs.push(FieldError::not_supported(&path.child("type"), k, TYPES))
        }
        _ => {}
    }
    if kind == "ClusterIP" {
        for (i, port) in ports.iter().enumerate() {
            if port.node_port.unwrap_or(0) != 0 {
                errs.push(FieldError::forbidden(
                    &path.child("ports").index(i).child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }
    duplicate_ports(&mut errs, &path.child("ports"), ports);
    if let Some(old_spec) = old_svc.and_then(|o| o.spec) {
        update(&mut errs, &path, &spec, &old_spec);
    }
    Ok(errs)
}

fn by_type(errs: &mut Errors, path: &Path, spec: &ServiceSpec, headless: bool) {
    match spec.type_.as_deref().unwrap_or_default() {
        kind @ ("LoadBalancer" | "NodePort") if headless => errs.push(FieldError::invalid(
            &path.child("clusterIPs").index(0),
            "None",
            format!("may not be set to 'None' for {kind} services"),
        )),
        "ExternalName" => {
            if spec.cluster_ips.as_ref().is_some_and(|ips| !ips.is_empty()) {
                errs.push(FieldError::forbidden(
                    &path.child("clusterIPs"),
                    "may not be set for ExternalName services",
                ));
            }
            let name = spec.external_name.as_deref().unwrap_or_default();
            let cname = name.strip_suffix('.').unwrap_or(name);
            if cname.is_empty() {
                errs.push(FieldError::required(&path.child("externalName"), ""));
            } else {
                format_errors(
                    errs,
                    &path.child("externalName"),
                    cname,
                    format::dns1123_subdomain(cname),
                );
            }
        }
        _ => {}
    }
}

fn service_port(
    errs: &mut Errors,
    path: &Path,
    port: &ServicePort,
    require_name: bool,
    names: &mut BTreeSet<String>,
) {
    let name = port.name.as_deref().unwrap_or_default();
    if require_name && name.is_empty() {
        errs.push(FieldError::required(&path.child("name"), ""));
    } else if !name.is_empty() {
        format_errors(errs, &path.child("name"), name, format::dns1123_label(name));
        if !names.insert(name.to_string()) {
            errs.push(FieldError::duplicate(&path.child("name"), name));
        }
    }
    for msg in format::port_num(i64::from(port.port)) {
        errs.push(FieldError::invalid(&path.child("port"), port.port, msg));
    }
    pod::protocol(errs, &path.child("protocol"), port.protocol.as_deref());
    pod::port_num_or_name(
        errs,
        &path.child("targetPort"),
        port.target_port.as_ref().unwrap_or(&IntOrString::Int(0)),
    );
}

fn affinity(errs: &mut Errors, path: &Path, spec: &ServiceSpec) {
    match spec.session_affinity.as_deref().unwrap_or_default() {
        "" => errs.push(FieldError::required(&path.child("sessionAffinity"), "")),
        "None" => {
            if spec.session_affinity_config.is_some() {
                errs.push(FieldError::forbidden(
                    &path.child("sessionAffinityConfig"),
                    "must not be set when session affinity is None",
                ));
            }
        }
        "ClientIP" => {
            let timeout = spec
                .session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds);
            let p = path
                .child("sessionAffinityConfig")
                .child("clientIP")
                .child("timeoutSeconds");
            match timeout {
                None => errs.push(FieldError::required(&p, "")),
                Some(t) if !(1..=86400).contains(&t) => {
                    errs.push(FieldError::invalid(
                        &p,
                        t,
                        format::inclusive_range(1, 86400),
                    ));
                }
                Some(_) => {}
            }
        }
        other => errs.push(FieldError::not_supported(
            &path.child("sessionAffinity"),
            other,
            &["ClientIP", "None"],
        )),
    }
}

/// Two ports with the same number and protocol; the value prints as Go prints the internal struct.
fn duplicate_ports(errs: &mut Errors, path: &Path, ports: &[ServicePort]) {
    let mut seen = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let protocol = port.protocol.clone().unwrap_or_default();
        if !seen.insert((protocol.clone(), port.port)) {
            let key = json_value!({"Name": "", "Protocol": protocol, "AppProtocol": null, "Port": port.port, "TargetPort": 0, "NodePort": 0});
            errs.push(FieldError::duplicate(&path.index(i), key));
        }
    }
}

/// `clusterIP` cannot change or go away once set, except when switching to or from ExternalName.
fn update(errs: &mut Errors, path: &Path, new: &ServiceSpec, old: &ServiceSpec) {
    let external = |s: &ServiceSpec| s.type_.as_deref() == Some("ExternalName");
    if external(new) || external(old) {
        return;
    }
    let old_ip = old.cluster_ip.as_deref().unwrap_or_default();
    let new_ip = new.cluster_ip.as_deref().unwrap_or_default();
    let p = path.child("clusterIPs").index(0);
    let ips = json(&new.cluster_ips);
    if !old_ip.is_empty() && new_ip.is_empty() {
        errs.push(FieldError::invalid(
            &p,
            ips,
            "primary clusterIP can not be unset",
        ));
    } else if !old_ip.is_empty() && new_ip != old_ip {
        errs.push(FieldError::invalid(&p, ips, "may not change once set"));
    }
}
