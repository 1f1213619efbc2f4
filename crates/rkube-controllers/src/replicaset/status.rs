//! A ReplicaSet's status from the pods it owns (Kubernetes'
//! `calculateStatus`), pure and without I/O.

use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::pod;

/// The condition type a ReplicaSet reports pod create/delete failures under.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// The ReplicaSet's desired replica count (`spec.replicas`, defaulted to 1 by the API server).
pub fn desired(rs: &ReplicaSet) -> i32 {
    rs.spec.replicas.unwrap_or(1)
}

/// `spec.minReadySeconds`.
pub fn min_ready_seconds(rs: &ReplicaSet) -> i32 {
    rs.spec.min_ready_seconds.unwrap_or(0)
}

/// The status the ReplicaSet should report, given its active pods, how many of its pods are
/// terminating, and the error (if any) of this round's creates or deletes.
pub fn calculate(
    rs: &ReplicaSet,
    active: &[Arc<Pod>],
    terminating: usize,
    manage_error: Option<&str>,
    now: Timestamp,
) -> ReplicaSetStatus {
    let mut status = rs.status.clone().unwrap_or_default();
    let template_labels = rs
        .spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.as_ref());
    let min_ready = min_ready_seconds(rs);
    let (mut fully_labeled, mut ready, mut available) = (0, 0, 0);
    for p in active {
        let labels = p.metadata.labels.as_ref();
        let has_all = template_labels
            .into_iter()
            .flatten()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
        if has_all {
            fully_labeled += 1;
        }
        if pod::is_ready(p) {
            ready += 1;
            if pod::is_available(p, min_ready, now) {
                available += 1;
            }
        }
    }
    let failure = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_.as_deref() == Some(REPLICA_FAILURE));
    match manage_error {
        Some(message) if !failure => {
            let diff = count(active.len()).saturating_sub(desired(rs));
            let reason = match diff.cmp(&0) {
                std::cmp::Ordering::Less => "FailedCreate",
                std::cmp::Ordering::Greater => "FailedDelete",
                std::cmp::Ordering::Equal => "",
            };
            status
                .conditions
                .get_or_insert_with(Vec::new)
                .push(ReplicaSetCondition {
                    type_: Some(REPLICA_FAILURE.into()),
                    status: Some("True".into()),
                    reason: Some(reason.into()),
                    message: Some(message.to_string()),
                    last_transition_time: Some(Time(now)),
                });
        }
        None if failure => {
            if let Some(c) = status.conditions.as_mut() {
                c.retain(|c| c.type_.as_deref() != Some(REPLICA_FAILURE));
            }
        }
        _ => {}
    }
    if status.conditions.as_ref().is_some_and(Vec::is_empty) {
        status.conditions = None;
    }
    status.replicas = count(active.len());
    status.fully_labeled_replicas = nonzero(fully_labeled);
    status.ready_replicas = nonzero(ready);
    status.available_replicas = nonzero(available);
    status.terminating_replicas = Some(count(terminating));
    status
}

/// When the next ready-but-not-yet-available pod becomes available, as a delay from `now`.
pub fn next_available_in(
    rs: &ReplicaSet,
    active: &[Arc<Pod>],
    now: Timestamp,
) -> Option<std::time::Duration> {
    let min_ready = min_ready_seconds(rs);
    if min_ready <= 0 {
        return None;
    }
    let now_ns = now.as_nanosecond();
    active
        .iter()
        .filter(|p| pod::is_ready(p) && !pod::is_available(p, min_ready, now))
        .filter_map(|p| pod::ready_since(p))
        .map(|since| pod::available_at(since, min_ready) - now_ns)
        .min()
        .map(|ns| std::time::Duration::from_nanos(u64::try_from(ns.max(0)).unwrap_or(u64::MAX)))
}

/// `Some(n)` unless zero: the API omits zero counts (`omitempty`).
fn nonzero(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

/// A count as the API's int32, saturating.
pub fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::tests::{at, pod};
    use serde_json::json;

    fn rs(replicas: i32, min_ready: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": "rs", "generation": 2},
            "spec": {
                "replicas": replicas,
                "minReadySeconds": min_ready,
                "selector": {"matchLabels": {"app": "a"}},
                "template": {"metadata": {"labels": {"app": "a", "tier": "web"}}},
            },
        }))
        .expect("replicaset")
    }

    fn labeled(mut p: Pod, labels: &[(&str, &str)]) -> Arc<Pod> {
        p.metadata.labels = Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        Arc::new(p)
    }

    #[test]
    fn counts_ready_available_and_fully_labeled() {
        let pods = vec![
            labeled(
                pod("a", "Running", Some("2026-01-01T00:00:00Z")),
                &[("app", "a"), ("tier", "web")],
            ),
            labeled(
                pod("b", "Running", Some("2026-01-01T00:00:55Z")),
                &[("app", "a")],
            ),
            labeled(
                pod("c", "Pending", None),
                &[("app", "a"), ("tier", "web"), ("x", "y")],
            ),
        ];
        let now = at("2026-01-01T00:01:00Z");
        let s = calculate(&rs(3, 10), &pods, 2, None, now);
        assert_eq!(
            (
                s.replicas,
                s.fully_labeled_replicas,
                s.ready_replicas,
                s.available_replicas,
                s.terminating_replicas
            ),
            (3, Some(2), Some(2), Some(1), Some(2))
        );
        assert_eq!(
            next_available_in(&rs(3, 10), &pods, now),
            Some(std::time::Duration::from_secs(5))
        );
        assert_eq!(next_available_in(&rs(3, 0), &pods, now), None);
    }

    #[test]
    fn replica_failure_is_set_once_and_cleared() {
        let now = at("2026-01-01T00:01:00Z");
        let mut r = rs(3, 0);
        let s = calculate(&r, &[], 0, Some("pods \"rs-x\" is forbidden: quota"), now);
        let c = s
            .conditions
            .as_ref()
            .and_then(|c| c.first())
            .cloned()
            .expect("condition");
        assert_eq!(
            (c.type_.as_deref(), c.status.as_deref(), c.reason.as_deref()),
            (Some("ReplicaFailure"), Some("True"), Some("FailedCreate"))
        );
        r.status = Some(s);
        let again = calculate(&r, &[], 0, Some("other"), at("2026-01-01T00:02:00Z"));
        assert_eq!(again.conditions.as_ref().map(Vec::len), Some(1));
        assert_eq!(
            again
                .conditions
                .as_ref()
                .and_then(|c| c.first())
                .and_then(|c| c.message.clone())
                .as_deref(),
            Some("pods \"rs-x\" is forbidden: quota")
        );
        r.status = Some(again);
        assert_eq!(calculate(&r, &[], 0, None, now).conditions, None);
    }
}
