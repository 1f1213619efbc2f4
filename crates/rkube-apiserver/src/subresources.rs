//! Subresources with their own shapes: `scale` (autoscaling/v1 Scale),
//! `pods/binding` and `pods/eviction`.

use rkube_api::selector::LabelSelector;
use rkube_api::{ApiError, status};
use serde_json::{Value, json};

use crate::object::meta_str;
use crate::patch::Patch;
use crate::registry::{DeleteOptions, Registry};
use crate::request::{Query, Target};

/// The `autoscaling/v1` Scale view of a workload.
pub fn scale_of(obj: &Value) -> Result<Value, ApiError> {
    let meta = &obj["metadata"];
    let selector = match serde_json::from_value(obj["spec"]["selector"].clone()) {
        Ok(sel) => LabelSelector::from_label_selector(&sel)
            .map(|s| s.to_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": { "replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1) },
        "status": { "replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector },
    }))
}

fn replicas_of(scale: &Value) -> Result<i64, ApiError> {
    let replicas = scale["spec"]["replicas"].as_i64().unwrap_or(0);
    if replicas < 0 {
        let errors = [rkube_api::FieldError::invalid(
            "spec.replicas",
            replicas,
            "must be greater than or equal to 0",
        )];
        return Err(ApiError::invalid(
            "autoscaling",
            "Scale",
            meta_str(scale, "name"),
            &errors,
        ));
    }
    Ok(replicas)
}

async fn set_replicas(
    reg: &Registry,
    t: &Target,
    name: &str,
    scale: &Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let replicas = replicas_of(scale)?;
    let rv = meta_str(scale, "resourceVersion").to_string();
    let main = Target {
        info: t.info,
        namespace: t.namespace.clone(),
        name: t.name.clone(),
        subresource: None,
        watch_path: false,
    };
    let updated = reg
        .patch(
            &main,
            name,
            &|old| {
                let mut new = old.clone();
                new["spec"]["replicas"] = json!(replicas);
                if !rv.is_empty() {
                    new["metadata"]["resourceVersion"] = json!(rv);
                }
                Ok(new)
            },
            dry_run,
        )
        .await?;
    scale_of(&updated)
}

/// PUT of a Scale.
pub async fn update_scale(
    reg: &Registry,
    t: &Target,
    name: &str,
    scale: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    set_replicas(reg, t, name, &scale, dry_run).await
}

/// PATCH of a Scale: the patch applies to the Scale view.
pub async fn patch_scale(
    reg: &Registry,
    t: &Target,
    name: &str,
    patch: &Patch,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let current = scale_of(&reg.get(t, name).await?)?;
    let mut patched = patch.apply(&current)?;
    if let Some(m) = patched["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    set_replicas(reg, t, name, &patched, dry_run).await
}

/// Assign a pod to a node (what the scheduler does), once.
pub async fn bind(
    reg: &Registry,
    t: &Target,
    pod: &str,
    binding: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let node = binding["target"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if node.is_empty() {
        let errors = [rkube_api::FieldError::required("target.name", "")];
        return Err(ApiError::invalid("", "Binding", pod, &errors));
    }
    let pods = Target {
        info: t.info,
        namespace: t.namespace.clone(),
        name: Some(pod.to_string()),
        subresource: None,
        watch_path: false,
    };
    let pods = match rkube_api::resources::lookup("", "v1", "pods") {
        Some(info) => Target { info, ..pods },
        None => return Err(ApiError::path_not_found()),
    };
    let stamp = crate::object::now_rfc3339();
    reg.guaranteed_update(&pods, pod, &|old| {
        let assigned = old["spec"]["nodeName"].as_str().unwrap_or_default();
        if !assigned.is_empty() {
            return Err(ApiError::conflict("", "pods/binding", pod, &format!("pod {pod} is already assigned to node \"{assigned}\"")));
        }
        if !meta_str(old, "deletionTimestamp").is_empty() {
            return Err(ApiError::conflict("", "pods/binding", pod, &format!("pod {pod} is being deleted, cannot be assigned to a host")));
        }
        let mut new = old.clone();
        new["spec"]["nodeName"] = json!(node);
        let cond = json!({ "type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": stamp });
        let conds = new["status"]["conditions"].as_array().cloned().unwrap_or_default();
        let mut conds: Vec<Value> = conds.into_iter().filter(|c| c["type"] != "PodScheduled").collect();
        conds.push(cond);
        new["status"]["conditions"] = Value::Array(conds);
        Ok(new)
    }, dry_run)
    .await?;
    Ok(status::success_status(pod, "", "pods", ""))
}

/// Evict a pod: a delete with the eviction's DeleteOptions.
pub async fn evict(
    reg: &Registry,
    t: &Target,
    pod: &str,
    eviction: Value,
    q: &Query,
) -> Result<Value, ApiError> {
    let body_name = meta_str(&eviction, "name");
    if !body_name.is_empty() && body_name != pod {
        return Err(ApiError::bad_request(format!(
            "name in URL does not match name in Eviction object: {pod} != {body_name}"
        )));
    }
    let opts = DeleteOptions::parse(&eviction["deleteOptions"], q)?;
    let main = Target {
        info: t.info,
        namespace: t.namespace.clone(),
        name: Some(pod.to_string()),
        subresource: None,
        watch_path: false,
    };
    reg.delete(&main, pod, &opts).await?;
    Ok(status::success_status(pod, "", "pods", ""))
}
