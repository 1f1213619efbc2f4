//! NodeUnschedulable: cordoned nodes (`spec.unschedulable`) take only pods
//! that tolerate the `node.kubernetes.io/unschedulable` taint.

use k8s_openapi::api::core::v1::Taint;

use super::taint_toleration::{tolerated, tolerations_of};
use crate::framework::{
    ClusterEvents, Code, CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, Status,
};

/// Plugin name.
pub const NAME: &str = "NodeUnschedulable";
/// Kubernetes' reason.
pub const REASON: &str = "node(s) were unschedulable";

/// The plugin.
pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events(&self) -> ClusterEvents {
        ClusterEvents::NODE_ADD | ClusterEvents::NODE_TAINT
    }
}

impl FilterPlugin for NodeUnschedulable {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if !node.unschedulable() {
            return Status::success();
        }
        let taint = Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        if tolerated(tolerations_of(pod), &taint) {
            Status::success()
        } else {
            Status::new(Code::UnschedulableAndUnresolvable, REASON)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    #[test]
    fn cordoned_nodes_reject_unless_tolerated() {
        let s = CycleState::new();
        let cordoned = node("n").unschedulable().with_pods(vec![]);
        let r = NodeUnschedulable.filter(&s, &pod("p").info(), &cordoned);
        assert_eq!(
            (r.code(), r.message().as_str()),
            (Code::UnschedulableAndUnresolvable, REASON)
        );
        let tolerant = pod("p")
            .toleration(
                "node.kubernetes.io/unschedulable",
                "Exists",
                "",
                "NoSchedule",
            )
            .info();
        assert!(
            NodeUnschedulable
                .filter(&s, &tolerant, &cordoned)
                .is_success()
        );
        assert!(
            NodeUnschedulable
                .filter(&s, &pod("p").info(), &node("m").with_pods(vec![]))
                .is_success()
        );
    }
}
