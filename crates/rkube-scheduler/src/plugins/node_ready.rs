//! NodeReady: a node whose Ready condition is not True is treated as
//! carrying the taint the node lifecycle controller would put on it
//! (`node.kubernetes.io/not-ready`, or `unreachable` when Unknown), so the
//! pod is kept off it unless it tolerates that taint, with the same message
//! a Kubernetes cluster gives. When the node already carries the taint,
//! TaintToleration decides.

use k8s_openapi::api::core::v1::Taint;

use super::taint_toleration::{taints_of, tolerated, tolerations_of, untolerated_message};
use crate::framework::{
    ClusterEvents, Code, CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, Status,
};

/// Plugin name.
pub const NAME: &str = "NodeReady";
/// Taint key of a node that reports not ready.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Taint key of a node whose readiness is unknown.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// The plugin.
pub struct NodeReady;

impl Plugin for NodeReady {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events(&self) -> ClusterEvents {
        ClusterEvents::NODE_ADD | ClusterEvents::NODE_CONDITION | ClusterEvents::NODE_TAINT
    }
}

impl FilterPlugin for NodeReady {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let key = match node.ready() {
            "True" => return Status::success(),
            "Unknown" => UNREACHABLE,
            _ => NOT_READY,
        };
        if taints_of(node).iter().any(|t| t.key == key) {
            return Status::success();
        }
        let taint = Taint {
            key: key.into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        if tolerated(tolerations_of(pod), &taint) {
            return Status::success();
        }
        Status::new(
            Code::UnschedulableAndUnresolvable,
            untolerated_message(key, ""),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    #[test]
    fn not_ready_nodes_act_as_tainted() {
        let s = CycleState::new();
        let p = pod("p").info();
        assert!(
            NodeReady
                .filter(&s, &p, &node("n").with_pods(vec![]))
                .is_success()
        );
        let r = NodeReady.filter(&s, &p, &node("n").ready("False").with_pods(vec![]));
        assert_eq!(
            r.message(),
            "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
        );
        let r = NodeReady.filter(&s, &p, &node("n").ready("Unknown").with_pods(vec![]));
        assert_eq!(
            r.message(),
            "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"
        );
        let tolerant = pod("p")
            .toleration(NOT_READY, "Exists", "", "NoSchedule")
            .info();
        assert!(
            NodeReady
                .filter(&s, &tolerant, &node("n").ready("False").with_pods(vec![]))
                .is_success()
        );
        let tainted = node("n")
            .ready("False")
            .taint(NOT_READY, "", "NoSchedule")
            .with_pods(vec![]);
        assert!(
            NodeReady.filter(&s, &p, &tainted).is_success(),
            "left to TaintToleration"
        );
    }
}
