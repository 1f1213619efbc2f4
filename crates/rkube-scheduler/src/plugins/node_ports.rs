//! NodePorts: a pod asking for host ports only goes where those ports (per
//! IP and protocol, `0.0.0.0` meaning all) are still free.

use crate::framework::{
    ClusterEvents, Code, CycleState, FilterPlugin, NodeInfo, Plugin, PodInfo, PreFilterPlugin,
    Snapshot, Status,
};

/// Plugin name.
pub const NAME: &str = "NodePorts";
/// Kubernetes' reason.
pub const REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// The plugin.
pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events(&self) -> ClusterEvents {
        ClusterEvents::NODE_ADD | ClusterEvents::POD_DELETE
    }
}

impl PreFilterPlugin for NodePorts {
    fn pre_filter(&self, _state: &mut CycleState, pod: &PodInfo, _snapshot: &Snapshot) -> Status {
        if pod.host_ports.is_empty() {
            Status::skip()
        } else {
            Status::success()
        }
    }
}

impl FilterPlugin for NodePorts {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        if pod
            .host_ports
            .iter()
            .any(|p| node.used_ports().conflicts(p))
        {
            Status::new(Code::Unschedulable, REASON)
        } else {
            Status::success()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    #[test]
    fn host_port_in_use_rejects() {
        let s = CycleState::new();
        let busy = node("a").with_pods(vec![pod("web").on("a").host_port(8080).info()]);
        let free = node("b").with_pods(vec![pod("other").on("b").host_port(9090).info()]);
        let p = pod("p").host_port(8080).info();
        let r = NodePorts.filter(&s, &p, &busy);
        assert_eq!(
            (r.code(), r.message().as_str()),
            (Code::Unschedulable, REASON)
        );
        assert!(NodePorts.filter(&s, &p, &free).is_success());
        assert_eq!(
            NodePorts
                .pre_filter(
                    &mut CycleState::new(),
                    &pod("q").info(),
                    &Snapshot::default()
                )
                .code(),
            Code::Skip
        );
    }
}
