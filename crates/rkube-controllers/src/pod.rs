//! Pod state as the workload controllers read it (Kubernetes' `podutil`
//! and `controller.FilterActivePods`): active, terminating, ready, available.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, PodCondition};

/// The pod's phase, empty when unset.
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// Finished pods (Succeeded or Failed) no longer count as replicas.
fn finished(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// A pod that counts as a replica: not finished and not being deleted.
pub fn is_active(pod: &Pod) -> bool {
    !finished(pod) && pod.metadata.deletion_timestamp.is_none()
}

/// A pod on its way out: being deleted but not finished.
pub fn is_terminating(pod: &Pod) -> bool {
    !finished(pod) && pod.metadata.deletion_timestamp.is_some()
}

/// The pod's `Ready` condition, if reported.
pub fn ready_condition(pod: &Pod) -> Option<&PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// Whether the kubelet reports the pod Ready.
pub fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// When the pod became ready, if it is ready and the time is known.
pub fn ready_since(pod: &Pod) -> Option<Timestamp> {
    ready_condition(pod)
        .filter(|c| c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
}

/// Whether the pod has been ready for at least `min_ready_seconds` at `now` (`podutil.IsPodAvailable`).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    if !is_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    ready_since(pod)
        .is_some_and(|since| available_at(since, min_ready_seconds) < now.as_nanosecond())
}

/// The instant (in nanoseconds since the epoch) after which a pod ready since `since` is available.
pub fn available_at(since: Timestamp, min_ready_seconds: i32) -> i128 {
    since.as_nanosecond() + i128::from(min_ready_seconds) * 1_000_000_000
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A pod in `phase`, Ready since `ready_at` (RFC 3339) when given.
    pub fn pod(name: &str, phase: &str, ready_at: Option<&str>) -> Pod {
        let conditions = match ready_at {
            Some(t) => json!([{"type": "Ready", "status": "True", "lastTransitionTime": t}]),
            None => json!([{"type": "Ready", "status": "False"}]),
        };
        serde_json::from_value(json!({
            "metadata": {"name": name, "uid": format!("uid-{name}"), "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": phase, "conditions": conditions},
        }))
        .expect("pod")
    }

    pub fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn availability_waits_min_ready_seconds() {
        let p = pod("a", "Running", Some("2026-01-01T00:00:00Z"));
        assert!(is_available(&p, 0, at("2026-01-01T00:00:00Z")));
        assert!(!is_available(&p, 10, at("2026-01-01T00:00:10Z")));
        assert!(is_available(&p, 10, at("2026-01-01T00:00:10.5Z")));
        assert!(!is_available(
            &pod("b", "Running", None),
            0,
            at("2026-01-01T00:00:10Z")
        ));
    }

    #[test]
    fn active_and_terminating() {
        let mut p = pod("a", "Running", None);
        assert!(is_active(&p) && !is_terminating(&p));
        p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            at("2026-01-01T00:00:00Z"),
        ));
        assert!(!is_active(&p) && is_terminating(&p));
        assert!(!is_active(&pod("b", "Succeeded", None)));
    }
}
