//! A Deployment's status and conditions, pure and without I/O (Kubernetes'
//! `calculateStatus`, `syncRolloutStatus` and the `deploymentutil`
//! condition helpers): replica counts summed over its ReplicaSets,
//! `Available`, and `Progressing` with its deadline.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::rollout::{
    self, max_unavailable, replicas, rs_actual, rs_available, rs_ready, rs_replicas, total,
};
use crate::replicaset::status::REPLICA_FAILURE;

/// Condition: enough pods are available (replicas - maxUnavailable).
pub const AVAILABLE: &str = "Available";
/// Condition: the rollout is moving, done, or stuck past its deadline.
pub const PROGRESSING: &str = "Progressing";

/// Available=True: at least replicas - maxUnavailable pods are available.
pub const MINIMUM_REPLICAS_AVAILABLE: &str = "MinimumReplicasAvailable";
/// Available=False: fewer than replicas - maxUnavailable pods are available.
pub const MINIMUM_REPLICAS_UNAVAILABLE: &str = "MinimumReplicasUnavailable";
/// Progressing=True: the rollout finished.
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
/// Progressing=True: the rollout made progress since the last sync.
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
/// Progressing=False: no progress within progressDeadlineSeconds.
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
/// Progressing=True: the ReplicaSet of a new revision was just created.
pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
/// Progressing=True: the new ReplicaSet existed before progress was tracked.
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
/// Progressing=False: the new ReplicaSet could not be created.
pub const FAILED_RS_CREATE: &str = "ReplicaSetCreateError";
/// Progressing=Unknown: the Deployment is paused, so no deadline runs.
pub const PAUSED: &str = "DeploymentPaused";
/// Progressing=Unknown: the Deployment was resumed; the deadline starts over.
pub const RESUMED: &str = "DeploymentResumed";

/// `Some(n)` unless zero: the API omits zero counts (`omitempty`).
fn nonzero(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

/// A count of a status, 0 when absent.
fn get(v: Option<i32>) -> i32 {
    v.unwrap_or(0)
}

/// The Deployment's condition of this type.
pub fn condition<'a>(
    status: Option<&'a DeploymentStatus>,
    type_: &str,
) -> Option<&'a DeploymentCondition> {
    status?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_.as_deref() == Some(type_))
}

/// A condition first seen now.
pub fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> DeploymentCondition {
    let at = Time(Timestamp::from_second(now.as_second()).unwrap_or(now));
    DeploymentCondition {
        type_: Some(type_.to_string()),
        status: Some(status.to_string()),
        reason: Some(reason.to_string()),
        message: Some(message),
        last_update_time: Some(at.clone()),
        last_transition_time: Some(at),
    }
}

/// Set a condition unless one with the same status and reason is there; keep the transition
/// time when only the reason changes (`SetDeploymentCondition`).
pub fn set_condition(status: &mut DeploymentStatus, mut cond: DeploymentCondition) {
    let type_ = cond.type_.clone().unwrap_or_default();
    let current = condition(Some(status), &type_);
    if current.is_some_and(|c| c.status == cond.status && c.reason == cond.reason) {
        return;
    }
    if let Some(c) = current.filter(|c| c.status == cond.status) {
        cond.last_transition_time = c.last_transition_time.clone();
    }
    remove_condition(status, &type_);
    status.conditions.get_or_insert_with(Vec::new).push(cond);
}

/// Drop the condition of this type.
pub fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(c) = status.conditions.as_mut() {
        c.retain(|c| c.type_.as_deref() != Some(type_));
        if c.is_empty() {
            status.conditions = None;
        }
    }
}

/// Whether a progress deadline applies (`HasProgressDeadline`).
pub fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec
        .progress_deadline_seconds
        .is_some_and(|s| s != i32::MAX)
}

fn deadline(d: &Deployment) -> i64 {
    i64::from(d.spec.progress_deadline_seconds.unwrap_or(0))
}

/// Counts and the Available condition from the ReplicaSets (`calculateStatus`).
pub fn calculate(
    all: &[&ReplicaSet],
    new: Option<&ReplicaSet>,
    d: &Deployment,
    now: Timestamp,
) -> DeploymentStatus {
    let available = total(all, rs_available);
    let unavailable = total(all, rs_replicas).saturating_sub(available).max(0);
    let terminating = all.iter().try_fold(0i32, |sum, rs| {
        rs.status
            .as_ref()
            .and_then(|s| s.terminating_replicas)
            .map(|n| sum.saturating_add(n))
    });
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation.filter(|g| *g != 0),
        replicas: nonzero(total(all, rs_actual)),
        updated_replicas: nonzero(new.map_or(0, rs_actual)),
        ready_replicas: nonzero(total(all, rs_ready)),
        available_replicas: nonzero(available),
        unavailable_replicas: nonzero(unavailable),
        terminating_replicas: terminating,
        collision_count: d.status.as_ref().and_then(|s| s.collision_count),
        conditions: d.status.as_ref().and_then(|s| s.conditions.clone()),
    };
    let cond = if available >= replicas(d) - max_unavailable(d) {
        new_condition(
            AVAILABLE,
            "True",
            MINIMUM_REPLICAS_AVAILABLE,
            "Deployment has minimum availability.".into(),
            now,
        )
    } else {
        new_condition(
            AVAILABLE,
            "False",
            MINIMUM_REPLICAS_UNAVAILABLE,
            "Deployment does not have minimum availability.".into(),
            now,
        )
    };
    set_condition(&mut status, cond);
    status
}

/// Every replica updated, present and available, for the current generation (`DeploymentComplete`).
pub fn complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    let want = replicas(d);
    get(s.updated_replicas) == want
        && get(s.replicas) == want
        && get(s.available_replicas) == want
        && s.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// Whether `new` shows progress over the Deployment's current status (`DeploymentProgressing`).
fn progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let old_old = get(old.replicas).saturating_sub(get(old.updated_replicas));
    let new_old = get(new.replicas).saturating_sub(get(new.updated_replicas));
    get(new.updated_replicas) > get(old.updated_replicas)
        || new_old < old_old
        || get(new.ready_replicas) > get(old.ready_replicas)
        || get(new.available_replicas) > get(old.available_replicas)
}

/// Whether the rollout made no progress within the deadline (`DeploymentTimedOut`).
fn timed_out(d: &Deployment, new: &DeploymentStatus, now: Timestamp) -> bool {
    if !has_progress_deadline(d) {
        return false;
    }
    let Some(cond) = condition(Some(new), PROGRESSING) else {
        return false;
    };
    match cond.reason.as_deref() {
        Some(NEW_RS_AVAILABLE) => false,
        Some(TIMED_OUT) => true,
        _ => cond.last_update_time.as_ref().is_some_and(|from| {
            from.0.as_nanosecond() + i128::from(deadline(d)) * 1_000_000_000 < now.as_nanosecond()
        }),
    }
}

fn progress_subject(d: &Deployment, new: Option<&ReplicaSet>) -> String {
    match new {
        Some(rs) => format!(
            "ReplicaSet {:?}",
            rs.metadata.name.as_deref().unwrap_or_default()
        ),
        None => format!(
            "Deployment {:?}",
            d.metadata.name.as_deref().unwrap_or_default()
        ),
    }
}

/// The status after a rollout step, with Progressing and ReplicaFailure (`syncRolloutStatus`).
pub fn rollout(
    all: &[&ReplicaSet],
    new: Option<&ReplicaSet>,
    d: &Deployment,
    now: Timestamp,
) -> DeploymentStatus {
    let mut status = calculate(all, new, d, now);
    if !has_progress_deadline(d) {
        remove_condition(&mut status, PROGRESSING);
    }
    let current = condition(d.status.as_ref(), PROGRESSING);
    let already_complete = status.replicas == status.updated_replicas
        && current.is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE));
    if has_progress_deadline(d) && !already_complete {
        let subject = progress_subject(d, new);
        if complete(d, &status) {
            let msg = format!("{subject} has successfully progressed.");
            set_condition(
                &mut status,
                new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, msg, now),
            );
        } else if progressing(d, &status) {
            let mut cond = new_condition(
                PROGRESSING,
                "True",
                RS_UPDATED,
                format!("{subject} is progressing."),
                now,
            );
            if let Some(c) = current {
                if c.status.as_deref() == Some("True") {
                    cond.last_transition_time = c.last_transition_time.clone();
                }
                remove_condition(&mut status, PROGRESSING);
            }
            set_condition(&mut status, cond);
        } else if timed_out(d, &status, now) {
            let msg = format!("{subject} has timed out progressing.");
            set_condition(
                &mut status,
                new_condition(PROGRESSING, "False", TIMED_OUT, msg, now),
            );
        }
    }
    match replica_failure(all, new) {
        Some(c) => set_condition(&mut status, c),
        None => remove_condition(&mut status, REPLICA_FAILURE),
    }
    status
}

/// The ReplicaFailure condition of the new ReplicaSet, else of any ReplicaSet, as a Deployment condition.
fn replica_failure(all: &[&ReplicaSet], new: Option<&ReplicaSet>) -> Option<DeploymentCondition> {
    new.into_iter().chain(all.iter().copied()).find_map(|rs| {
        let c = rs
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_.as_deref() == Some(REPLICA_FAILURE))?;
        Some(DeploymentCondition {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone(),
            last_update_time: c.last_transition_time.clone(),
            last_transition_time: c.last_transition_time.clone(),
        })
    })
}

/// When to look at a rollout again to notice it ran out of time (`requeueStuckDeployment`).
pub fn recheck_after(d: &Deployment, new: &DeploymentStatus, now: Timestamp) -> Option<Duration> {
    let current = condition(d.status.as_ref(), PROGRESSING)?;
    if !has_progress_deadline(d) || complete(d, new) || current.reason.as_deref() == Some(TIMED_OUT)
    {
        return None;
    }
    let from = current.last_update_time.as_ref()?.0.as_nanosecond();
    let after_ns = from + i128::from(deadline(d)) * 1_000_000_000 - now.as_nanosecond();
    if after_ns < 1_000_000_000 {
        return Some(Duration::from_millis(100));
    }
    Some(Duration::from_nanos(u64::try_from(after_ns).unwrap_or(u64::MAX)) + Duration::from_secs(1))
}

/// The Progressing condition pausing or resuming calls for, if it changes (`checkPausedConditions`).
pub fn paused_condition(d: &Deployment, now: Timestamp) -> Option<DeploymentCondition> {
    if !has_progress_deadline(d) {
        return None;
    }
    let current = condition(d.status.as_ref(), PROGRESSING);
    if current.is_some_and(|c| c.reason.as_deref() == Some(TIMED_OUT)) {
        return None;
    }
    let paused_now = current.is_some_and(|c| c.reason.as_deref() == Some(PAUSED));
    let paused = d.spec.paused.unwrap_or(false);
    match (paused, paused_now) {
        (true, false) => Some(new_condition(
            PROGRESSING,
            "Unknown",
            PAUSED,
            "Deployment is paused".into(),
            now,
        )),
        (false, true) => Some(new_condition(
            PROGRESSING,
            "Unknown",
            RESUMED,
            "Deployment is resumed".into(),
            now,
        )),
        _ => None,
    }
}

/// Whether pods of old ReplicaSets may still be running, which Recreate waits out (`oldPodsRunning`).
pub fn old_pods_running<'a>(
    olds: &[&ReplicaSet],
    old_pods: impl IntoIterator<Item = &'a k8s_openapi::api::core::v1::Pod>,
) -> bool {
    total(olds, rollout::rs_actual) > 0
        || old_pods
            .into_iter()
            .any(|p| !matches!(crate::pod::phase(p), "Failed" | "Succeeded"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::tests::at;
    use serde_json::{Value, json};

    fn deployment(replicas: i32, status: Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {
                "replicas": replicas,
                "progressDeadlineSeconds": 60,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
                "template": {"metadata": {"labels": {"app": "web"}}},
            },
            "status": status,
        }))
        .expect("deployment")
    }

    fn rs(name: &str, replicas: i32, ready: i32, available: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": available, "terminatingReplicas": 0},
        }))
        .expect("replicaset")
    }

    fn reason(s: &DeploymentStatus, type_: &str) -> Option<String> {
        condition(Some(s), type_).and_then(|c| c.reason.clone())
    }

    const T0: &str = "2026-01-01T00:00:00Z";

    #[test]
    fn counts_and_availability() {
        let d = deployment(4, json!({}));
        let (old, new) = (rs("old", 3, 3, 3), rs("new", 2, 1, 0));
        let s = calculate(&[&old, &new], Some(&new), &d, at(T0));
        assert_eq!(
            (
                s.replicas,
                s.updated_replicas,
                s.ready_replicas,
                s.available_replicas,
                s.unavailable_replicas,
                s.terminating_replicas
            ),
            (Some(5), Some(2), Some(4), Some(3), Some(2), Some(0))
        );
        assert_eq!(s.observed_generation, Some(2));
        assert_eq!(
            reason(&s, AVAILABLE).as_deref(),
            Some(MINIMUM_REPLICAS_AVAILABLE)
        );
        let old = rs("old", 3, 2, 2);
        assert_eq!(
            reason(&calculate(&[&old, &new], Some(&new), &d, at(T0)), AVAILABLE).as_deref(),
            Some(MINIMUM_REPLICAS_UNAVAILABLE)
        );
    }

    #[test]
    fn progressing_then_complete() {
        let created = new_condition(
            PROGRESSING,
            "True",
            NEW_RS_CREATED,
            "Created new replica set \"new\"".into(),
            at(T0),
        );
        let d = deployment(
            2,
            json!({"replicas": 2, "updatedReplicas": 1, "conditions": [created]}),
        );
        let (old, new) = (rs("old", 0, 0, 0), rs("new", 2, 2, 1));
        let s = rollout(&[&old, &new], Some(&new), &d, at("2026-01-01T00:00:10Z"));
        let c = condition(Some(&s), PROGRESSING).expect("progressing");
        assert_eq!(
            (c.reason.as_deref(), c.message.as_deref()),
            (Some(RS_UPDATED), Some("ReplicaSet \"new\" is progressing."))
        );
        assert_eq!(c.last_transition_time.as_ref().map(|t| t.0), Some(at(T0)));
        assert_eq!(
            c.last_update_time.as_ref().map(|t| t.0),
            Some(at("2026-01-01T00:00:10Z"))
        );

        let new = rs("new", 2, 2, 2);
        let s = rollout(&[&old, &new], Some(&new), &d, at("2026-01-01T00:00:20Z"));
        let c = condition(Some(&s), PROGRESSING).expect("progressing");
        assert_eq!(
            (c.reason.as_deref(), c.message.as_deref()),
            (
                Some(NEW_RS_AVAILABLE),
                Some("ReplicaSet \"new\" has successfully progressed.")
            )
        );
        assert!(complete(&d, &s));
    }

    #[test]
    fn no_progress_past_the_deadline_times_out() {
        let created = new_condition(
            PROGRESSING,
            "True",
            NEW_RS_CREATED,
            "Created new replica set \"new\"".into(),
            at(T0),
        );
        let status = json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "unavailableReplicas": 2, "conditions": [created]});
        let d = deployment(2, status);
        let new = rs("new", 2, 0, 0);
        let s = rollout(&[&new], Some(&new), &d, at("2026-01-01T00:00:30Z"));
        assert_eq!(reason(&s, PROGRESSING).as_deref(), Some(NEW_RS_CREATED));
        assert_eq!(
            recheck_after(&d, &s, at("2026-01-01T00:00:30Z")),
            Some(Duration::from_secs(31))
        );
        let s = rollout(&[&new], Some(&new), &d, at("2026-01-01T00:01:01Z"));
        let c = condition(Some(&s), PROGRESSING).expect("progressing");
        assert_eq!(
            (c.status.as_deref(), c.reason.as_deref()),
            (Some("False"), Some(TIMED_OUT))
        );
        assert_eq!(
            c.message.as_deref(),
            Some("ReplicaSet \"new\" has timed out progressing.")
        );
    }

    #[test]
    fn replica_failures_surface_on_the_deployment() {
        let d = deployment(1, json!({}));
        let mut new = rs("new", 1, 0, 0);
        if let Some(s) = new.status.as_mut() {
            s.conditions = serde_json::from_value(json!([{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "quota"}])).ok();
        }
        let s = rollout(&[&new], Some(&new), &d, at(T0));
        assert_eq!(reason(&s, REPLICA_FAILURE).as_deref(), Some("FailedCreate"));
    }

    #[test]
    fn pausing_and_resuming_set_unknown_progress() {
        let mut d = deployment(1, json!({}));
        assert_eq!(paused_condition(&d, at(T0)), None);
        d.spec.paused = Some(true);
        let c = paused_condition(&d, at(T0)).expect("paused");
        assert_eq!(
            (c.status.as_deref(), c.reason.as_deref()),
            (Some("Unknown"), Some(PAUSED))
        );
        d.status = Some(DeploymentStatus {
            conditions: Some(vec![c]),
            ..Default::default()
        });
        assert_eq!(paused_condition(&d, at(T0)), None);
        d.spec.paused = Some(false);
        assert_eq!(
            paused_condition(&d, at(T0)).and_then(|c| c.reason),
            Some(RESUMED.to_string())
        );
    }
}
