//! Which pods a ReplicaSet deletes first when it scales down: Kubernetes'
//! `ActivePodsWithRanks` order (with `PodDeletionCost` and
//! `LogarithmicScaleDown`, both on by default), pure and without I/O.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use crate::pod;

/// The annotation that lets users steer which pods go first.
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// The `count` pods of `pods` to delete first; `related` are the pods of every ReplicaSet with the
/// same controller (for the "doubled up on a node" rule).
pub fn pods_to_delete(
    pods: &[Arc<Pod>],
    related: &[Arc<Pod>],
    count: usize,
    now: Timestamp,
) -> Vec<Arc<Pod>> {
    if count >= pods.len() {
        return pods.to_vec();
    }
    let mut on_node: HashMap<&str, usize> = HashMap::new();
    for p in related.iter().filter(|p| pod::is_active(p)) {
        *on_node.entry(node_name(p)).or_default() += 1;
    }
    let mut ranked: Vec<(Arc<Pod>, usize)> = pods
        .iter()
        .map(|p| (p.clone(), on_node.get(node_name(p)).copied().unwrap_or(0)))
        .collect();
    merge_sort(&mut ranked, &|a, b| {
        compare(&a.0, a.1, &b.0, b.1, now) == Ordering::Less
    });
    ranked.into_iter().take(count).map(|(p, _)| p).collect()
}

fn node_name(p: &Pod) -> &str {
    p.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

fn phase_ordinal(p: &Pod) -> u8 {
    match pod::phase(p) {
        "Unknown" => 1,
        "Running" => 2,
        _ => 0,
    }
}

/// The pod's deletion cost; absent or invalid counts as 0.
fn deletion_cost(p: &Pod) -> i32 {
    p.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DELETION_COST))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Highest restart count of regular containers, then of restartable init containers (sidecars).
fn max_restarts(p: &Pod) -> (i32, i32) {
    let Some(status) = p.status.as_ref() else {
        return (0, 0);
    };
    let regular = status
        .container_statuses
        .iter()
        .flatten()
        .map(|c| c.restart_count)
        .max()
        .unwrap_or(0);
    let sidecars: Vec<&str> = p
        .spec
        .iter()
        .flat_map(|s| s.init_containers.iter().flatten())
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.as_str())
        .collect();
    let sidecar = status
        .init_container_statuses
        .iter()
        .flatten()
        .filter(|c| sidecars.contains(&c.name.as_str()))
        .map(|c| c.restart_count)
        .max()
        .unwrap_or(0);
    (regular, sidecar)
}

/// `floor(log2(now - t))` in nanoseconds, -1 for a time not in the past.
fn log_age(t: Timestamp, now: Timestamp) -> i64 {
    let age = now.as_nanosecond() - t.as_nanosecond();
    if age <= 0 {
        -1
    } else {
        (age as f64).log2() as i64
    }
}

/// Zero (unknown) times first, then the later one.
fn after_or_zero(a: Option<Timestamp>, b: Option<Timestamp>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a > b,
        (a, _) => a.is_none(),
    }
}

/// Logarithmic comparison of two times: newer bucket first, same bucket by uid.
fn by_log_age(a: &Pod, ta: Timestamp, b: &Pod, tb: Timestamp, now: Timestamp) -> bool {
    match log_age(ta, now).cmp(&log_age(tb, now)) {
        Ordering::Equal => a.metadata.uid < b.metadata.uid,
        other => other == Ordering::Less,
    }
}

/// `ActivePodsWithRanks.Less`: `Less` means `a` is deleted before `b`.
pub fn compare(a: &Pod, rank_a: usize, b: &Pod, rank_b: usize, now: Timestamp) -> Ordering {
    let less = |x: bool| if x { Ordering::Less } else { Ordering::Greater };
    let (node_a, node_b) = (node_name(a), node_name(b));
    if node_a != node_b && (node_a.is_empty() || node_b.is_empty()) {
        return less(node_a.is_empty());
    }
    if phase_ordinal(a) != phase_ordinal(b) {
        return less(phase_ordinal(a) < phase_ordinal(b));
    }
    if pod::is_ready(a) != pod::is_ready(b) {
        return less(!pod::is_ready(a));
    }
    if deletion_cost(a) != deletion_cost(b) {
        return less(deletion_cost(a) < deletion_cost(b));
    }
    if rank_a != rank_b {
        return less(rank_a > rank_b);
    }
    if pod::is_ready(a) && pod::is_ready(b) {
        let (ra, rb) = (pod::ready_since(a), pod::ready_since(b));
        if ra != rb {
            return less(match (ra, rb) {
                (Some(ta), Some(tb)) => by_log_age(a, ta, b, tb, now),
                _ => after_or_zero(ra, rb),
            });
        }
    }
    if max_restarts(a) != max_restarts(b) {
        return less(max_restarts(a) > max_restarts(b));
    }
    let (ca, cb) = (
        a.metadata.creation_timestamp.as_ref().map(|t| t.0),
        b.metadata.creation_timestamp.as_ref().map(|t| t.0),
    );
    if ca != cb {
        return less(match (ca, cb) {
            (Some(ta), Some(tb)) => by_log_age(a, ta, b, tb, now),
            _ => after_or_zero(ca, cb),
        });
    }
    Ordering::Equal
}

/// A stable merge sort that accepts any `less` (Kubernetes' order is not always a total order,
/// which `slice::sort_by` may reject with a panic).
fn merge_sort<T: Clone>(items: &mut [T], less: &dyn Fn(&T, &T) -> bool) {
    if items.len() < 2 {
        return;
    }
    let mid = items.len() / 2;
    merge_sort(&mut items[..mid], less);
    merge_sort(&mut items[mid..], less);
    let (left, right) = (items[..mid].to_vec(), items[mid..].to_vec());
    let (mut i, mut j) = (0, 0);
    for slot in items.iter_mut() {
        let take_right = j < right.len() && (i >= left.len() || less(&right[j], &left[i]));
        if take_right {
            *slot = right[j].clone();
            j += 1;
        } else {
            *slot = left[i].clone();
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::tests::{at, pod};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    const NOW: &str = "2026-01-01T01:00:00Z";

    fn names(pods: &[Arc<Pod>]) -> Vec<String> {
        pods.iter()
            .map(|p| p.metadata.name.clone().unwrap_or_default())
            .collect()
    }

    fn on(mut p: Pod, node: &str) -> Pod {
        if let Some(spec) = p.spec.as_mut() {
            spec.node_name = Some(node.to_string());
        }
        p
    }

    fn created(mut p: Pod, t: &str) -> Pod {
        p.metadata.creation_timestamp = Some(Time(at(t)));
        p
    }

    #[test]
    fn unassigned_pending_not_ready_go_first() {
        let ready = Some("2026-01-01T00:00:00Z");
        let pods: Vec<Arc<Pod>> = vec![
            Arc::new(on(pod("running-ready", "Running", ready), "n1")),
            Arc::new(on(pod("running-notready", "Running", None), "n1")),
            Arc::new(on(pod("pending", "Pending", None), "n1")),
            Arc::new(pod("unassigned", "Pending", None)),
            Arc::new(on(pod("unknown", "Unknown", None), "n1")),
        ];
        let order = pods_to_delete(&pods, &[], 4, at(NOW));
        assert_eq!(
            names(&order),
            ["unassigned", "pending", "unknown", "running-notready"]
        );
    }

    #[test]
    fn deletion_cost_then_doubled_up_then_newest() {
        let ready = Some("2026-01-01T00:00:00Z");
        let mut cheap = on(pod("cheap", "Running", ready), "n2");
        cheap.metadata.annotations = Some([(DELETION_COST.to_string(), "-5".to_string())].into());
        let pods: Vec<Arc<Pod>> = vec![
            Arc::new(on(pod("alone", "Running", ready), "n1")),
            Arc::new(on(pod("crowded", "Running", ready), "n2")),
            Arc::new(cheap),
        ];
        let related = pods.clone();
        assert_eq!(
            names(&pods_to_delete(&pods, &related, 2, at(NOW))),
            ["cheap", "crowded"]
        );

        let old = Arc::new(on(
            created(pod("old", "Running", None), "2026-01-01T00:00:00Z"),
            "n1",
        ));
        let young = Arc::new(on(
            created(pod("young", "Running", None), "2026-01-01T00:59:59Z"),
            "n2",
        ));
        assert_eq!(
            names(&pods_to_delete(&[old, young], &[], 1, at(NOW))),
            ["young"]
        );
    }

    #[test]
    fn recently_ready_and_restarting_go_first() {
        let long = Arc::new(on(
            pod("long", "Running", Some("2026-01-01T00:00:00Z")),
            "n1",
        ));
        let recent = Arc::new(on(
            pod("recent", "Running", Some("2026-01-01T00:59:58Z")),
            "n2",
        ));
        assert_eq!(
            names(&pods_to_delete(&[long.clone(), recent], &[], 1, at(NOW))),
            ["recent"]
        );

        let mut crashy = on(pod("crashy", "Running", Some("2026-01-01T00:00:00Z")), "n2");
        if let Some(s) = crashy.status.as_mut() {
            s.container_statuses = Some(vec![
                serde_json::from_value(serde_json::json!({
                    "name": "c", "image": "i", "imageID": "", "ready": true, "restartCount": 3
                }))
                .expect("status"),
            ]);
        }
        assert_eq!(
            names(&pods_to_delete(&[long, Arc::new(crashy)], &[], 1, at(NOW))),
            ["crashy"]
        );
    }

    #[test]
    fn everything_goes_when_asked_for_more() {
        let pods = vec![Arc::new(pod("a", "Running", None))];
        assert_eq!(pods_to_delete(&pods, &[], 3, at(NOW)).len(), 1);
    }
}
