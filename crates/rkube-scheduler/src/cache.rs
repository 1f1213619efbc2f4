//! The scheduler cache: nodes and the pods placed on them, fed by the
//! node and pod watches, plus pods assumed on a node while their binding is
//! being written. It owns the snapshot the plugins read and changes it only
//! between scheduling cycles.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;

use crate::framework::{NodeInfo, PodInfo, Snapshot};
use crate::selectors::Labels;

#[derive(Clone, Debug)]
struct Placement {
    node: String,
    /// Placed by this scheduler, binding not yet seen in the watch.
    assumed: bool,
}

/// Nodes and placed pods.
#[derive(Default)]
pub struct Cache {
    snapshot: Snapshot,
    placements: HashMap<String, Placement>,
    /// Pods bound to nodes the cache does not know (yet), by node.
    orphans: HashMap<String, Vec<Arc<PodInfo>>>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// What the plugins see.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// A node by name.
    pub fn node(&self, name: &str) -> Option<&Arc<NodeInfo>> {
        self.snapshot.get(name)
    }

    /// Adds or replaces a node.
    pub fn upsert_node(&mut self, node: Arc<Node>) {
        let name = node.metadata.name.clone().unwrap_or_default();
        self.snapshot.upsert_node(node);
        for pod in self.orphans.remove(&name).unwrap_or_default() {
            self.snapshot.add_pod(&name, pod);
        }
    }

    /// Removes a node; its pods wait for it to come back (or to be deleted themselves).
    pub fn remove_node(&mut self, name: &str) {
        let pods = self.snapshot.remove_node(name);
        if !pods.is_empty() {
            self.orphans.insert(name.to_string(), pods);
        }
    }

    /// Names of all nodes.
    pub fn node_names(&self) -> Vec<String> {
        self.snapshot
            .nodes()
            .iter()
            .map(|n| n.name().to_string())
            .collect()
    }

    fn place(&mut self, node: &str, pod: Arc<PodInfo>) {
        if !self.snapshot.add_pod(node, pod.clone()) {
            self.orphans.entry(node.to_string()).or_default().push(pod);
        }
    }

    fn unplace(&mut self, node: &str, key: &str) -> Option<Arc<PodInfo>> {
        if let Some(p) = self.snapshot.remove_pod(node, key) {
            return Some(p);
        }
        let list = self.orphans.get_mut(node)?;
        let at = list.iter().position(|p| p.key == key)?;
        let pod = list.swap_remove(at);
        if list.is_empty() {
            self.orphans.remove(node);
        }
        Some(pod)
    }

    /// Records a pod bound to `pod.node_name()` (confirming an assumption); returns the version it replaced.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) -> Option<Arc<PodInfo>> {
        let node = pod.node_name().to_string();
        let previous = self.remove_pod(&pod.key);
        self.placements.insert(
            pod.key.clone(),
            Placement {
                node: node.clone(),
                assumed: false,
            },
        );
        self.place(&node, pod);
        previous
    }

    /// Forgets a placed pod; returns it.
    pub fn remove_pod(&mut self, key: &str) -> Option<Arc<PodInfo>> {
        let placement = self.placements.remove(key)?;
        self.unplace(&placement.node, key)
    }

    /// Places a pod this scheduler chose, before its binding is written.
    pub fn assume(&mut self, pod: Arc<PodInfo>, node: &str) {
        self.remove_pod(&pod.key);
        self.placements.insert(
            pod.key.clone(),
            Placement {
                node: node.to_string(),
                assumed: true,
            },
        );
        self.place(node, pod);
    }

    /// Undoes an assumption whose binding failed; true when something was undone.
    pub fn forget(&mut self, key: &str) -> bool {
        if self.placements.get(key).is_some_and(|p| p.assumed) {
            self.remove_pod(key);
            return true;
        }
        false
    }

    /// Whether the pod is placed (bound or assumed).
    pub fn contains(&self, key: &str) -> bool {
        self.placements.contains_key(key)
    }

    /// Whether the pod is assumed and its binding not yet observed.
    pub fn is_assumed(&self, key: &str) -> bool {
        self.placements.get(key).is_some_and(|p| p.assumed)
    }

    /// Keys of all placed pods.
    pub fn pod_keys(&self) -> Vec<String> {
        self.placements.keys().cloned().collect()
    }

    /// Records a namespace's labels.
    pub fn set_namespace(&mut self, name: String, labels: Labels) {
        self.snapshot.set_namespace(name, labels);
    }

    /// Forgets a namespace.
    pub fn remove_namespace(&mut self, name: &str) {
        self.snapshot.remove_namespace(name);
    }

    /// Names of the known namespaces.
    pub fn namespace_names(&self) -> Vec<String> {
        self.snapshot.namespaces().keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    #[test]
    fn assumed_pods_count_until_confirmed_or_forgotten() {
        let mut c = Cache::new();
        c.upsert_node(node("n").cpu("2").build());
        c.assume(pod("p").cpu("1").info(), "n");
        assert!(c.is_assumed("default/p"));
        assert_eq!(c.node("n").map(|n| n.requested().milli_cpu), Some(1000));
        c.add_pod(pod("p").cpu("1").on("n").info());
        assert!(!c.is_assumed("default/p") && !c.forget("default/p"));
        assert_eq!(c.node("n").map(|n| n.pods().len()), Some(1));
        c.assume(pod("q").cpu("1").info(), "n");
        assert!(c.forget("default/q"));
        assert_eq!(c.node("n").map(|n| n.requested().milli_cpu), Some(1000));
    }

    #[test]
    fn pods_on_unknown_nodes_wait_for_them() {
        let mut c = Cache::new();
        c.add_pod(pod("p").cpu("1").on("late").info());
        assert!(c.node("late").is_none());
        c.upsert_node(node("late").build());
        assert_eq!(c.node("late").map(|n| n.pods().len()), Some(1));
        c.remove_node("late");
        assert!(c.contains("default/p"));
        assert!(c.remove_pod("default/p").is_some());
        c.upsert_node(node("late").build());
        assert_eq!(c.node("late").map(|n| n.pods().len()), Some(0));
    }

    #[test]
    fn node_updates_keep_pods() {
        let mut c = Cache::new();
        c.upsert_node(node("n").cpu("2").build());
        c.add_pod(pod("p").cpu("1").on("n").info());
        c.upsert_node(node("n").cpu("8").build());
        let n = c
            .node("n")
            .map(|n| (n.pods().len(), n.allocatable().milli_cpu));
        assert_eq!(n, Some((1, 8000)));
    }
}
