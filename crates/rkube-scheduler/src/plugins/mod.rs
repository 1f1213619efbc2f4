//! The plugins, one per file, and the default profile that wires them at
//! Kubernetes' extension points in Kubernetes' order and weights.

pub mod balanced_allocation;
pub mod default_preemption;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_ports;
pub mod node_ready;
pub mod node_resources_fit;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod priority_sort;
pub mod taint_toleration;

use std::sync::Arc;

use crate::framework::{BindPlugin, Framework};

/// The default profile (`default-scheduler`) with the given bind plugins.
pub fn profile(binders: Vec<Arc<dyn BindPlugin>>) -> Framework {
    let taints = Arc::new(taint_toleration::TaintToleration);
    let node_affinity = Arc::new(node_affinity::NodeAffinity);
    let ports = Arc::new(node_ports::NodePorts);
    let fit = Arc::new(node_resources_fit::NodeResourcesFit);
    let spread = Arc::new(pod_topology_spread::PodTopologySpread);
    let inter_pod = Arc::new(inter_pod_affinity::InterPodAffinity);
    let mut b = Framework::builder(Arc::new(priority_sort::PrioritySort))
        .pre_filter(node_affinity.clone())
        .pre_filter(ports.clone())
        .pre_filter(spread.clone())
        .pre_filter(inter_pod.clone())
        .filter(Arc::new(node_unschedulable::NodeUnschedulable))
        .filter(Arc::new(node_ready::NodeReady))
        .filter(taints.clone())
        .filter(node_affinity.clone())
        .filter(ports)
        .filter(fit.clone())
        .filter(spread.clone())
        .filter(inter_pod.clone())
        .post_filter(Arc::new(default_preemption::DefaultPreemption))
        .score(taints, 3)
        .score(node_affinity, 2)
        .score(fit, 1)
        .score(spread, 2)
        .score(inter_pod, 2)
        .score(Arc::new(balanced_allocation::BalancedAllocation), 1);
    for binder in binders {
        b = b.bind(binder);
    }
    b.build()
}
