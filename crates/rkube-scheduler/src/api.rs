//! Every write the scheduler makes, through the Kubernetes API only:
//! bindings, pod status by strategic merge (PodScheduled, nominatedNodeName, DisruptionTarget),
//! preemption deletes and core/v1 Events. The request bodies are built by
//! pure functions here so they can be checked without a server.

use k8s_openapi::api::core::v1::{Binding, Event, EventSource, ObjectReference, Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{Value, json};

/// The scheduler's name, as pods name it and events report it.
pub const SCHEDULER_NAME: &str = "default-scheduler";

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused or could not be reached.
    #[error("API request failed: {0}")]
    Api(#[from] kube::Error),
    /// A body could not be encoded.
    #[error("encoding the request: {0}")]
    Encode(#[from] serde_json::Error),
}

fn pods(client: &Client, ns: &str) -> Api<Pod> {
    Api::namespaced(client.clone(), ns)
}

/// Binds a pod to a node through `pods/binding`.
pub async fn bind(
    client: &Client,
    ns: &str,
    name: &str,
    uid: &str,
    node: &str,
) -> Result<(), Error> {
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(ns.to_string()),
            uid: Some(uid.to_string()).filter(|u| !u.is_empty()),
            ..Default::default()
        },
        target: ObjectReference {
            kind: Some("Node".into()),
            api_version: Some("v1".into()),
            name: Some(node.to_string()),
            ..Default::default()
        },
    };
    pods(client, ns)
        .create_subresource::<_, Value>("binding", name, &PostParams::default(), &binding)
        .await?;
    Ok(())
}

/// Applies a strategic merge patch to `pods/status` (conditions merge by `type`).
pub async fn patch_pod_status(
    client: &Client,
    ns: &str,
    name: &str,
    patch: &Value,
) -> Result<(), Error> {
    pods(client, ns)
        .patch_status(name, &PatchParams::default(), &Patch::Strategic(patch))
        .await?;
    Ok(())
}

/// Patches `pods/status` of a pending pod only while it is still that pending pod: the patch is pinned to the
/// version the scheduler decided on, and on a conflict re-pinned once to the current version unless the pod
/// was bound or replaced meanwhile (then there is nothing to report).
pub async fn patch_pending_pod_status(
    client: &Client,
    pod: &Pod,
    patch: &Value,
) -> Result<(), Error> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let mut rv = pod.metadata.resource_version.clone();
    for _ in 0..2 {
        let mut pinned = patch.clone();
        pinned["metadata"]["resourceVersion"] = json!(rv);
        match pods(client, ns)
            .patch_status(name, &PatchParams::default(), &Patch::Strategic(&pinned))
            .await
        {
            Err(kube::Error::Api(e)) if e.code == 409 => {
                let current = pods(client, ns).get(name).await?;
                let same = current.metadata.uid == pod.metadata.uid;
                let pending = current
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_deref())
                    .is_none_or(str::is_empty);
                if !same || !pending {
                    return Ok(());
                }
                rv = current.metadata.resource_version;
            }
            other => {
                other?;
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Deletes a pod gracefully, only if it is still the same pod.
pub async fn delete_pod(client: &Client, ns: &str, name: &str, uid: &str) -> Result<(), Error> {
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()).filter(|u| !u.is_empty()),
            resource_version: None,
        }),
        ..Default::default()
    };
    pods(client, ns).delete(name, &dp).await?;
    Ok(())
}

/// Creates an Event.
pub async fn create_event(client: &Client, event: &Event) -> Result<(), Error> {
    let ns = event.metadata.namespace.clone().unwrap_or_default();
    Api::<Event>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), event)
        .await?;
    Ok(())
}

/// Records one more occurrence of an Event.
pub async fn repeat_event(
    client: &Client,
    ns: &str,
    name: &str,
    count: i32,
    now: jiff::Timestamp,
) -> Result<(), Error> {
    let patch = json!({ "count": count, "lastTimestamp": Time(now) });
    Api::<Event>::namespaced(client.clone(), ns)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// What an event says.
pub struct EventNote<'a> {
    /// `Normal` or `Warning`.
    pub type_: &'a str,
    /// `Scheduled`, `FailedScheduling`, `Preempted`.
    pub reason: &'a str,
    /// What the scheduler was doing (`Binding`, `Scheduling`, `Preempting`).
    pub action: &'a str,
    /// Human-readable text.
    pub message: String,
}

/// A core/v1 Event about a pod, from the scheduler.
pub fn event(pod: &Pod, note: EventNote<'_>, now: jiff::Timestamp, instance: &str) -> Event {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let ns = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{:x}", now.as_nanosecond())),
            namespace: Some(ns.clone()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            kind: Some("Pod".into()),
            api_version: Some("v1".into()),
            namespace: Some(ns),
            name: Some(name),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            ..Default::default()
        },
        reason: Some(note.reason.into()),
        message: Some(note.message),
        type_: Some(note.type_.into()),
        action: Some(note.action.into()),
        source: Some(EventSource {
            component: Some(SCHEDULER_NAME.into()),
            host: None,
        }),
        reporting_component: Some(SCHEDULER_NAME.into()),
        reporting_instance: Some(instance.to_string()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: Some(MicroTime(now)),
        count: Some(1),
        ..Default::default()
    }
}

/// A strategic merge patch setting condition `new.type_` (keeping its transition time when the status is
/// unchanged) and, when given, `nominatedNodeName` (`""` clears it); `None` when nothing would change.
pub fn condition_patch(
    pod: &Pod,
    mut new: PodCondition,
    nominated: Option<&str>,
    now: jiff::Timestamp,
) -> Option<Value> {
    let status = pod.status.as_ref();
    let conditions = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let old = conditions.iter().find(|c| c.type_ == new.type_);
    new.last_transition_time = match old {
        Some(o) if o.status == new.status => o.last_transition_time.clone(),
        _ => Some(Time(now)),
    };
    let unchanged = old.is_some_and(|o| {
        o.status == new.status
            && o.reason == new.reason
            && o.message == new.message
            && o.observed_generation == new.observed_generation
    });
    let current_nomination = status
        .and_then(|s| s.nominated_node_name.as_deref())
        .unwrap_or_default();
    let nomination_changes = nominated.is_some_and(|n| n != current_nomination);
    if unchanged && !nomination_changes {
        return None;
    }
    let mut cond = serde_json::to_value(&new).unwrap_or(Value::Null);
    if let Some(obj) = cond.as_object_mut() {
        obj.insert("lastProbeTime".into(), Value::Null);
    }
    let mut patch = json!({ "status": { "conditions": [cond] } });
    if let Some(n) = nominated.filter(|_| nomination_changes) {
        patch["status"]["nominatedNodeName"] = if n.is_empty() { Value::Null } else { json!(n) };
    }
    Some(patch)
}

/// The PodScheduled=False condition the scheduler reports for a pod it could not place.
pub fn unschedulable_condition(pod: &Pod, reason: &str, message: &str) -> PodCondition {
    PodCondition {
        type_: "PodScheduled".into(),
        status: "False".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        observed_generation: pod.metadata.generation,
        ..Default::default()
    }
}

/// The DisruptionTarget condition a preempted pod gets before it is deleted.
pub fn preempted_condition(pod: &Pod, reason: &str) -> PodCondition {
    PodCondition {
        type_: "DisruptionTarget".into(),
        status: "True".into(),
        reason: Some(reason.into()),
        message: Some(format!(
            "{SCHEDULER_NAME}: preempting to accommodate a higher priority pod"
        )),
        observed_generation: pod.metadata.generation,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(v: Value) -> Pod {
        serde_json::from_value(v).expect("pod")
    }

    #[test]
    fn condition_patch_only_when_something_changes() {
        let now: jiff::Timestamp = "2026-01-02T03:04:05Z".parse().expect("time");
        let p = pod(
            json!({"metadata": {"name": "p", "generation": 1}, "status": {"conditions": [
                {"type": "Other", "status": "True"}
            ]}}),
        );
        let c = unschedulable_condition(
            &p,
            "Unschedulable",
            "0/1 nodes are available: 1 Insufficient cpu.",
        );
        let patch = condition_patch(&p, c.clone(), None, now).expect("a patch");
        let conds = &patch["status"]["conditions"];
        assert_eq!(
            conds.as_array().map(Vec::len),
            Some(1),
            "only the changed condition; the rest merge by type"
        );
        assert_eq!(conds[0]["type"], "PodScheduled");
        assert_eq!(conds[0]["status"], "False");
        assert_eq!(conds[0]["lastTransitionTime"], "2026-01-02T03:04:05Z");
        assert_eq!(conds[0]["observedGeneration"], 1);
        assert!(conds[0]["lastProbeTime"].is_null());
        assert!(patch["status"].get("nominatedNodeName").is_none());

        let mut applied = p.clone();
        if let Some(s) = applied.status.as_mut() {
            let mut all = s.conditions.clone().unwrap_or_default();
            all.extend(
                serde_json::from_value::<Vec<PodCondition>>(conds.clone()).unwrap_or_default(),
            );
            s.conditions = Some(all);
        }
        let later: jiff::Timestamp = "2026-01-02T03:05:00Z".parse().expect("time");
        assert!(condition_patch(&applied, c.clone(), None, later).is_none());
        let nominated =
            condition_patch(&applied, c.clone(), Some("n1"), later).expect("nomination changes");
        assert_eq!(nominated["status"]["nominatedNodeName"], "n1");
        assert_eq!(
            nominated["status"]["conditions"][0]["lastTransitionTime"],
            "2026-01-02T03:04:05Z"
        );
        let other = unschedulable_condition(
            &applied,
            "Unschedulable",
            "0/2 nodes are available: 2 Too many pods.",
        );
        assert!(condition_patch(&applied, other, Some(""), later).is_some());
    }

    #[test]
    fn events_name_the_pod_and_the_scheduler() {
        let now: jiff::Timestamp = "2026-01-02T03:04:05Z".parse().expect("time");
        let p = pod(json!({"metadata": {"name": "web", "namespace": "apps", "uid": "u1"}}));
        let e = event(
            &p,
            EventNote {
                type_: "Warning",
                reason: "FailedScheduling",
                action: "Scheduling",
                message: "m".into(),
            },
            now,
            "i",
        );
        assert!(
            e.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("web."))
        );
        assert_eq!(e.involved_object.uid.as_deref(), Some("u1"));
        assert_eq!(
            e.source.and_then(|s| s.component).as_deref(),
            Some(SCHEDULER_NAME)
        );
        assert_eq!(e.reporting_component.as_deref(), Some(SCHEDULER_NAME));
        assert_eq!(
            (e.type_.as_deref(), e.reason.as_deref(), e.count),
            (Some("Warning"), Some("FailedScheduling"), Some(1))
        );
    }
}
