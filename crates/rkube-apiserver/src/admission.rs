//! Admission on create that needs other objects: the Priority plugin
//! resolves a pod's `priorityClassName` (or the cluster's global default
//! class) into `spec.priority` and `spec.preemptionPolicy`.

use rkube_api::{ApiError, resources};
use rkube_store::Store;
use serde_json::{Value, json};

use crate::object::meta_str;

/// Built-in classes every cluster has, as (name, value, description).
pub const SYSTEM_PRIORITY_CLASSES: &[(&str, i64, &str)] = &[
    (
        "system-cluster-critical",
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
    (
        "system-node-critical",
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
];

fn forbidden(pod: &str, why: String) -> ApiError {
    ApiError::forbidden(format!("pods \"{pod}\" is forbidden: {why}"))
}

async fn classes(store: &dyn Store) -> Result<Vec<Value>, ApiError> {
    let Some(info) = resources::lookup("scheduling.k8s.io", "v1", "priorityclasses") else {
        return Ok(Vec::new());
    };
    let list = store
        .list(&info.key_prefix(), rkube_store::ListOptions::default())
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(list
        .kvs
        .iter()
        .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
        .collect())
}

/// Resolve the priority of a pod being created.
pub async fn pod_priority(store: &dyn Store, pod: &mut Value) -> Result<(), ApiError> {
    let name = meta_str(pod, "name").to_string();
    let wanted = pod["spec"]["priorityClassName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let all = classes(store).await?;
    let class = if wanted.is_empty() {
        all.into_iter()
            .find(|c| c["globalDefault"].as_bool() == Some(true))
    } else {
        Some(
            all.into_iter()
                .find(|c| meta_str(c, "name") == wanted)
                .ok_or_else(|| {
                    forbidden(
                        &name,
                        format!("no PriorityClass with name {wanted} was found"),
                    )
                })?,
        )
    };
    let Some(class) = class else { return Ok(()) };
    let value = class["value"].as_i64().unwrap_or(0);
    if let Some(given) = pod["spec"]["priority"].as_i64().filter(|p| *p != value) {
        return Err(forbidden(
            &name,
            format!(
                "the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {value} from the given PriorityClass name"
            ),
        ));
    }
    let spec = &mut pod["spec"];
    spec["priorityClassName"] = json!(meta_str(&class, "name"));
    spec["priority"] = json!(value);
    if spec["preemptionPolicy"].is_null() {
        spec["preemptionPolicy"] = class
            .get("preemptionPolicy")
            .cloned()
            .unwrap_or(json!("PreemptLowerPriority"));
    }
    Ok(())
}
