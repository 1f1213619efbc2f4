//! NodeResourcesFit: the pod's requests (cpu, memory, ephemeral storage,
//! extended resources, one more pod) must fit in what the node's
//! allocatable leaves after the pods already there; scores nodes by
//! least-allocated cpu and memory.

use std::borrow::Cow;

use crate::framework::{
    ClusterEvents, Code, CycleState, FilterPlugin, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo,
    ScorePlugin, Status,
};
use crate::resource::{CPU, MEMORY, Resource};

/// Plugin name.
pub const NAME: &str = "NodeResourcesFit";

/// The plugin (filter and least-allocated score).
pub struct NodeResourcesFit;

/// One resource the node lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insufficient {
    /// The reason Kubernetes prints (`Insufficient cpu`, `Too many pods`).
    pub reason: Cow<'static, str>,
    /// Whether the request exceeds the node's whole allocatable, so preemption cannot help.
    pub unresolvable: bool,
}

/// `fitsRequest`: every resource the pod cannot get on the node.
pub fn insufficient(requests: &Resource, node: &NodeInfo) -> Vec<Insufficient> {
    let alloc = node.allocatable();
    let used = node.requested();
    let mut out = Vec::new();
    if node.pods().len() as i64 + 1 > alloc.allowed_pods {
        out.push(Insufficient {
            reason: Cow::Borrowed("Too many pods"),
            unresolvable: false,
        });
    }
    let mut check = |reason: Cow<'static, str>, want: i64, have: i64, taken: i64| {
        if want > 0 && want > have - taken {
            out.push(Insufficient {
                reason,
                unresolvable: want > have,
            });
        }
    };
    check(
        Cow::Borrowed("Insufficient cpu"),
        requests.milli_cpu,
        alloc.milli_cpu,
        used.milli_cpu,
    );
    check(
        Cow::Borrowed("Insufficient memory"),
        requests.memory,
        alloc.memory,
        used.memory,
    );
    check(
        Cow::Borrowed("Insufficient ephemeral-storage"),
        requests.ephemeral_storage,
        alloc.ephemeral_storage,
        used.ephemeral_storage,
    );
    for (name, want) in &requests.scalar {
        let have = alloc.scalar.get(name).copied().unwrap_or(0);
        let taken = used.scalar.get(name).copied().unwrap_or(0);
        check(
            Cow::Owned(format!("Insufficient {name}")),
            *want,
            have,
            taken,
        );
    }
    out
}

/// `leastRequestedScore`: the unrequested share of capacity on a 0-100 scale.
fn least_requested(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events(&self) -> ClusterEvents {
        ClusterEvents::NODE_ADD
            | ClusterEvents::NODE_ALLOCATABLE
            | ClusterEvents::POD_DELETE
            | ClusterEvents::POD_RESIZE
    }
}

impl FilterPlugin for NodeResourcesFit {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let missing = insufficient(pod.resource(), node);
        if missing.is_empty() {
            return Status::success();
        }
        let code = if missing.iter().any(|m| m.unresolvable) {
            Code::UnschedulableAndUnresolvable
        } else {
            Code::Unschedulable
        };
        Status::with_reasons(code, missing.into_iter().map(|m| m.reason).collect())
    }
}

impl ScorePlugin for NodeResourcesFit {
    fn score(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let alloc = node.allocatable();
        let used = node.non_zero_requested();
        let want = &pod.requests.non_zero;
        let mut total = 0;
        let mut weights = 0;
        for name in [CPU, MEMORY] {
            let capacity = alloc.get(name);
            if capacity == 0 {
                continue;
            }
            total += least_requested(used.get(name) + want.get(name), capacity);
            weights += 1;
        }
        Ok(if weights == 0 { 0 } else { total / weights })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    fn reasons(s: &Status) -> Vec<String> {
        s.reasons().iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn counts_pods_already_on_the_node() {
        let s = CycleState::new();
        let n = node("n")
            .cpu("2")
            .memory("4Gi")
            .with_pods(vec![pod("a").on("n").cpu("1500m").memory("1Gi").info()]);
        assert!(
            NodeResourcesFit
                .filter(&s, &pod("p").cpu("500m").info(), &n)
                .is_success()
        );
        let r = NodeResourcesFit.filter(&s, &pod("p").cpu("501m").memory("4Gi").info(), &n);
        assert_eq!(r.code(), Code::Unschedulable);
        assert_eq!(reasons(&r), vec!["Insufficient cpu", "Insufficient memory"]);
    }

    #[test]
    fn larger_than_the_node_is_unresolvable() {
        let n = node("n").cpu("2").with_pods(vec![]);
        let r = NodeResourcesFit.filter(&CycleState::new(), &pod("p").cpu("3").info(), &n);
        assert_eq!(r.code(), Code::UnschedulableAndUnresolvable);
        assert_eq!(reasons(&r), vec!["Insufficient cpu"]);
    }

    #[test]
    fn pod_count_ephemeral_storage_and_extended_resources() {
        let n = node("n")
            .allocatable("pods", "1")
            .allocatable("example.com/gpu", "2")
            .allocatable("ephemeral-storage", "10Gi")
            .with_pods(vec![
                pod("a").on("n").requests("example.com/gpu", "1").info(),
            ]);
        let p = pod("p")
            .requests("example.com/gpu", "2")
            .requests("ephemeral-storage", "11Gi")
            .info();
        let r = NodeResourcesFit.filter(&CycleState::new(), &p, &n);
        assert_eq!(
            reasons(&r),
            vec![
                "Too many pods",
                "Insufficient ephemeral-storage",
                "Insufficient example.com/gpu"
            ]
        );
        assert_eq!(r.code(), Code::UnschedulableAndUnresolvable);
        let unknown = pod("p").requests("vendor.io/fpga", "1").info();
        let r = NodeResourcesFit.filter(&CycleState::new(), &unknown, &node("m").with_pods(vec![]));
        assert_eq!(
            (reasons(&r), r.code()),
            (
                vec!["Insufficient vendor.io/fpga".to_string()],
                Code::UnschedulableAndUnresolvable
            )
        );
    }

    #[test]
    fn init_containers_and_overhead_count() {
        let n = node("n").cpu("2").with_pods(vec![]);
        let p = pod("p")
            .cpu("500m")
            .spec(
                "initContainers",
                serde_json::json!([{"name": "i", "resources": {"requests": {"cpu": "1500m"}}}]),
            )
            .spec("overhead", serde_json::json!({"cpu": "600m"}))
            .info();
        let r = NodeResourcesFit.filter(&CycleState::new(), &p, &n);
        assert_eq!(reasons(&r), vec!["Insufficient cpu"]);
    }

    #[test]
    fn least_allocated_prefers_emptier_nodes() {
        let s = CycleState::new();
        let empty = node("a").cpu("4").memory("8Gi").with_pods(vec![]);
        let busy = node("b")
            .cpu("4")
            .memory("8Gi")
            .with_pods(vec![pod("x").on("b").cpu("2").memory("4Gi").info()]);
        let p = pod("p").cpu("1").memory("2Gi").info();
        // (4-1)/4 = 75 for both resources on the empty node; (4-3)/4 = 25 on the busy one.
        assert_eq!(NodeResourcesFit.score(&s, &p, &empty).ok(), Some(75));
        assert_eq!(NodeResourcesFit.score(&s, &p, &busy).ok(), Some(25));
        // Missing requests count as 100m / 200Mi.
        let best_effort = pod("q").info();
        assert_eq!(
            NodeResourcesFit.score(&s, &best_effort, &empty).ok(),
            Some((97 + 97) / 2)
        );
    }
}
