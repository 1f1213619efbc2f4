//! Pods nominated to a node by preemption: they are counted on that node
//! when lower- or equal-priority pods are filtered, so the room freed for
//! them is not taken by others.

use std::collections::HashMap;
use std::sync::Arc;

use super::pod_info::PodInfo;

/// Nominated pods by node.
#[derive(Clone, Debug, Default)]
pub struct Nominations {
    by_node: HashMap<String, Vec<Arc<PodInfo>>>,
    node_of: HashMap<String, String>,
}

impl Nominations {
    /// Nominates a pod to a node (replacing an earlier nomination).
    pub fn add(&mut self, pod: Arc<PodInfo>, node: &str) {
        self.remove(&pod.key);
        self.node_of.insert(pod.key.clone(), node.to_string());
        self.by_node.entry(node.to_string()).or_default().push(pod);
    }

    /// Drops a pod's nomination.
    pub fn remove(&mut self, key: &str) {
        let Some(node) = self.node_of.remove(key) else {
            return;
        };
        if let Some(list) = self.by_node.get_mut(&node) {
            list.retain(|p| p.key != key);
            if list.is_empty() {
                self.by_node.remove(&node);
            }
        }
    }

    /// Pods nominated to a node.
    pub fn for_node(&self, node: &str) -> &[Arc<PodInfo>] {
        self.by_node
            .get(node)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The node a pod is nominated to.
    pub fn node_of(&self, key: &str) -> Option<&str> {
        self.node_of.get(key).map(String::as_str)
    }

    /// Whether nothing is nominated.
    pub fn is_empty(&self) -> bool {
        self.node_of.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pod;

    #[test]
    fn renomination_moves_the_pod() {
        let mut n = Nominations::default();
        n.add(pod("a").info(), "n1");
        n.add(pod("a").info(), "n2");
        assert!(n.for_node("n1").is_empty());
        assert_eq!(n.for_node("n2").len(), 1);
        assert_eq!(n.node_of("default/a"), Some("n2"));
        n.remove("default/a");
        assert!(n.is_empty() && n.for_node("n2").is_empty());
    }
}
