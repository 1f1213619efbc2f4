//! Validation as the real API server runs it after defaulting (its
//! `pkg/apis/*/validation` packages): field paths, error kinds and detail
//! texts follow Kubernetes so clients print the same messages.
//!
//! Objects are decoded into k8s-openapi types first; a body whose fields have
//! the wrong JSON types yields one `TypeInvalid` error instead of a panic.
//! Checks that need cluster state (IP allocation, quota, admission) are not
//! here.

mod apps;
mod batch;
pub mod format;
mod meta;
mod misc;
mod pod;
mod service;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::field_error::{FieldError, FieldErrorKind};
use crate::resources::ResourceInfo;

/// Validates `obj` on create (`old` is `None`) or update (`old` is the stored object).
pub fn validate(info: &ResourceInfo, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    if let Some(bad) = [Some(obj), old]
        .into_iter()
        .flatten()
        .find(|v| !v.is_object())
    {
        return vec![type_invalid(format!("expected an object, found {bad}"))];
    }
    let result = match (info.group, info.kind) {
        ("", "Pod") => pod::validate(obj, old),
        ("", "Service") => service::validate(obj, old),
        ("", "Secret") => misc::secret(obj, old),
        ("", "ConfigMap") => misc::config_map(obj, old),
        ("", "Namespace") => misc::namespace(obj, old),
        ("", "Node") => misc::node(obj, old),
        ("apps", "Deployment") => apps::deployment(obj, old),
        ("apps", "ReplicaSet") => apps::replica_set(obj, old),
        ("apps", "DaemonSet") => apps::daemon_set(obj, old),
        ("apps", "StatefulSet") => apps::stateful_set(obj, old),
        ("apps", "ControllerRevision") => apps::controller_revision(obj, old),
        ("batch", "Job") => batch::job(obj, old),
        ("batch", "CronJob") => batch::cron_job(obj, old),
        ("coordination.k8s.io", "Lease") => misc::lease(obj, old),
        ("scheduling.k8s.io", "PriorityClass") => misc::priority_class(obj, old),
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => misc::role(info, obj, old),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            misc::role_binding(info, obj, old)
        }
        ("discovery.k8s.io", "EndpointSlice") => misc::endpoint_slice(obj, old),
        ("policy", "PodDisruptionBudget") => misc::pod_disruption_budget(obj, old),
        _ => meta::generic(info, obj, old),
    };
    result.unwrap_or_else(|e| vec![e])
}

/// A field path being built, printed like Kubernetes' `field.Path`.
#[derive(Clone, Debug)]
struct Path(String);

impl Path {
    fn root(name: &str) -> Path {
        Path(name.to_string())
    }

    fn child(&self, name: &str) -> Path {
        if self.0.is_empty() {
            Path(name.to_string())
        } else {
            Path(format!("{}.{name}", self.0))
        }
    }

    fn index(&self, i: usize) -> Path {
        Path(format!("{}[{i}]", self.0))
    }

    fn key(&self, k: &str) -> Path {
        Path(format!("{}[{k}]", self.0))
    }
}

impl From<&Path> for String {
    fn from(p: &Path) -> String {
        p.0.clone()
    }
}

type Errors = Vec<FieldError>;

/// Decodes a JSON value into a typed API object, reporting a type mismatch as one error.
/// `apiVersion` and `kind` are dropped first: the caller already chose the type.
fn decode<T: DeserializeOwned>(obj: &Value) -> Result<T, FieldError> {
    let mut body = obj.clone();
    if let Some(m) = body.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
    }
    serde_json::from_value(body).map_err(|e| type_invalid(e.to_string()))
}

/// A body that does not decode into the resource's type.
fn type_invalid(detail: String) -> FieldError {
    FieldError {
        kind: FieldErrorKind::TypeInvalid,
        field: String::new(),
        value: None,
        detail,
    }
}

/// Serializes a typed value for printing in an error, as Go's `json.Marshal` would.
fn json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// `field: Invalid value: v: must be greater than or equal to 0` for negatives.
fn nonnegative(errs: &mut Errors, path: &Path, v: i64) {
    if v < 0 {
        errs.push(FieldError::invalid(
            path,
            v,
            "must be greater than or equal to 0",
        ));
    }
}

/// `field: Invalid value: new: field is immutable` when a value changed on update.
fn immutable(errs: &mut Errors, path: &Path, new: Value, old: &Value) {
    if pruned(&new) != pruned(old) {
        errs.push(FieldError::invalid(path, new, "field is immutable"));
    }
}

/// One `Invalid` error per message of a format check.
fn format_errors(errs: &mut Errors, path: &Path, value: &str, msgs: Vec<String>) {
    errs.extend(
        msgs.into_iter()
            .map(|m| FieldError::invalid(path, value, m)),
    );
}

/// `Required` when empty, else the format check's `Invalid` errors.
fn required_name(errs: &mut Errors, path: &Path, value: &str, check: fn(&str) -> Vec<String>) {
    if value.is_empty() {
        errs.push(FieldError::required(path, ""));
    } else {
        format_errors(errs, path, value, check(value));
    }
}

/// A copy without nulls, empty lists and empty maps, for Kubernetes' semantic equality
/// (which treats nil and empty alike).
fn pruned(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), pruned(v)))
                .filter(|(_, v)| !is_empty_value(v))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(pruned).collect()),
        other => other.clone(),
    }
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
