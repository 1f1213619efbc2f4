//! The read-only view plugins see: every node with the pods on it (bound
//! and assumed), their summed requests and used host ports, and namespace
//! labels. The cache changes it between cycles, never during one.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;

use super::pod_info::{HostPort, PodInfo};
use crate::resource::Resource;

/// The status of a node's Ready condition (`"False"` when it reports none yet).
pub fn ready_status(node: &Node) -> &str {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map_or("False", |c| c.status.as_str())
}
use crate::selectors::{Labels, labels};

/// The address that binds every IP.
const ALL_IPS: &str = "0.0.0.0";

/// Host ports in use on a node, counted (two pods may claim one port when bound without the scheduler).
#[derive(Clone, Debug, Default)]
pub struct HostPortInfo {
    used: HashMap<HostPort, u32>,
}

impl HostPortInfo {
    /// Records a port.
    pub fn add(&mut self, p: &HostPort) {
        *self.used.entry(p.clone()).or_insert(0) += 1;
    }

    /// Releases a port.
    pub fn remove(&mut self, p: &HostPort) {
        if let Some(n) = self.used.get_mut(p) {
            *n -= 1;
            if *n == 0 {
                self.used.remove(p);
            }
        }
    }

    /// Whether binding `p` would clash with a used port (`0.0.0.0` clashes with every IP).
    pub fn conflicts(&self, p: &HostPort) -> bool {
        if p.ip == ALL_IPS {
            return self
                .used
                .keys()
                .any(|u| u.protocol == p.protocol && u.port == p.port);
        }
        let wildcard = HostPort {
            ip: ALL_IPS.to_string(),
            ..p.clone()
        };
        self.used.contains_key(p) || self.used.contains_key(&wildcard)
    }

    /// Whether no port is used.
    pub fn is_empty(&self) -> bool {
        self.used.is_empty()
    }
}

/// One node and what is placed on it.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    node: Arc<Node>,
    name: String,
    unschedulable: bool,
    ready: &'static str,
    pods: Vec<Arc<PodInfo>>,
    pods_with_affinity: Vec<Arc<PodInfo>>,
    pods_with_required_anti_affinity: Vec<Arc<PodInfo>>,
    requested: Resource,
    non_zero_requested: Resource,
    allocatable: Resource,
    used_ports: HostPortInfo,
}

impl NodeInfo {
    /// A node with no pods.
    pub fn new(node: Arc<Node>) -> NodeInfo {
        let mut info = NodeInfo {
            name: node.metadata.name.clone().unwrap_or_default(),
            unschedulable: false,
            ready: "False",
            node: node.clone(),
            pods: Vec::new(),
            pods_with_affinity: Vec::new(),
            pods_with_required_anti_affinity: Vec::new(),
            requested: Resource::default(),
            non_zero_requested: Resource::default(),
            allocatable: Resource::default(),
            used_ports: HostPortInfo::default(),
        };
        info.set_node(node);
        info
    }

    /// Replaces the Node object, keeping the pods.
    pub fn set_node(&mut self, node: Arc<Node>) {
        let list = node.status.as_ref().and_then(|s| s.allocatable.as_ref());
        let (allocatable, errors) = list.map(Resource::from_list_lenient).unwrap_or_default();
        for e in errors {
            tracing::warn!(node = %self.name, error = %e, "unreadable allocatable quantity counted as zero");
        }
        self.allocatable = allocatable;
        self.unschedulable = node
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false);
        self.ready = match ready_status(&node) {
            "True" => "True",
            "Unknown" => "Unknown",
            _ => "False",
        };
        self.node = node;
    }

    /// Places a pod on the node.
    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        self.requested.add(pod.resource());
        self.non_zero_requested.add(&pod.requests.non_zero);
        for p in &pod.host_ports {
            self.used_ports.add(p);
        }
        if pod.has_affinity() {
            self.pods_with_affinity.push(pod.clone());
        }
        if !pod.required_anti_affinity.is_empty() {
            self.pods_with_required_anti_affinity.push(pod.clone());
        }
        self.pods.push(pod);
    }

    /// Takes a pod off the node by `namespace/name`.
    pub fn remove_pod(&mut self, key: &str) -> Option<Arc<PodInfo>> {
        let at = self.pods.iter().position(|p| p.key == key)?;
        let pod = self.pods.swap_remove(at);
        self.pods_with_affinity.retain(|p| p.key != key);
        self.pods_with_required_anti_affinity
            .retain(|p| p.key != key);
        self.requested.sub(pod.resource());
        self.non_zero_requested.sub(&pod.requests.non_zero);
        for p in &pod.host_ports {
            self.used_ports.remove(p);
        }
        Some(pod)
    }

    /// The Node object.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the node is cordoned (`spec.unschedulable`).
    pub fn unschedulable(&self) -> bool {
        self.unschedulable
    }

    /// The status of the node's Ready condition: `True`, `False` (also when absent) or `Unknown`.
    pub fn ready(&self) -> &'static str {
        self.ready
    }

    /// The node's labels.
    pub fn labels(&self) -> &Labels {
        labels(&self.node.metadata)
    }

    /// Pods bound or assumed on the node.
    pub fn pods(&self) -> &[Arc<PodInfo>] {
        &self.pods
    }

    /// Pods with any pod (anti-)affinity term.
    pub fn pods_with_affinity(&self) -> &[Arc<PodInfo>] {
        &self.pods_with_affinity
    }

    /// Pods with a required anti-affinity term.
    pub fn pods_with_required_anti_affinity(&self) -> &[Arc<PodInfo>] {
        &self.pods_with_required_anti_affinity
    }

    /// Sum of the pods' requests.
    pub fn requested(&self) -> &Resource {
        &self.requested
    }

    /// Sum of the pods' requests with scoring defaults for unset cpu/memory.
    pub fn non_zero_requested(&self) -> &Resource {
        &self.non_zero_requested
    }

    /// The node's allocatable resources.
    pub fn allocatable(&self) -> &Resource {
        &self.allocatable
    }

    /// Host ports in use.
    pub fn used_ports(&self) -> &HostPortInfo {
        &self.used_ports
    }
}

/// Placed pods of one namespace with identical labels, counted per node: selectors are matched once per
/// distinct label set instead of once per pod (pods of one workload share their labels).
#[derive(Clone, Debug, Default)]
pub struct PodGroup {
    /// Per node name: (all pods, pods not being deleted).
    pub per_node: HashMap<String, (u32, u32)>,
}

/// All nodes at one moment, plus namespace labels.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    nodes: Vec<Arc<NodeInfo>>,
    index: HashMap<String, usize>,
    namespaces: HashMap<String, Labels>,
    required_anti_affinity_pods: usize,
    affinity_pods: usize,
    groups: HashMap<(String, Labels), PodGroup>,
    /// Node label values by key, with how many nodes carry each: the topology domains.
    domains: HashMap<String, HashMap<String, u32>>,
}

impl Snapshot {
    /// A snapshot of the given nodes (tests and benchmarks; the cache builds its own incrementally).
    pub fn from_nodes(nodes: Vec<NodeInfo>) -> Snapshot {
        let mut s = Snapshot::default();
        for n in nodes {
            s.required_anti_affinity_pods += n.pods_with_required_anti_affinity.len();
            s.affinity_pods += n.pods_with_affinity.len();
            for p in &n.pods {
                s.group(&n.name, p, 1);
            }
            s.index_labels(n.labels().clone(), 1);
            s.index.insert(n.name.clone(), s.nodes.len());
            s.nodes.push(Arc::new(n));
        }
        s
    }

    /// Counts a node's labels in (or, with `delta` -1, out of) the domain index.
    fn index_labels(&mut self, node_labels: Labels, delta: i32) {
        for (k, v) in node_labels {
            let values = self.domains.entry(k.clone()).or_default();
            let n = values.entry(v.clone()).or_insert(0);
            *n = n.saturating_add_signed(delta);
            if *n == 0 {
                values.remove(&v);
                if values.is_empty() {
                    self.domains.remove(&k);
                }
            }
        }
    }

    /// The values nodes have for a label key (topology domains), each with its node count.
    pub fn domains(&self, key: &str) -> Option<&HashMap<String, u32>> {
        self.domains.get(key)
    }

    /// Counts a pod in (or, with `delta` -1, out of) its label group.
    fn group(&mut self, node: &str, pod: &PodInfo, delta: i32) {
        let key = (pod.namespace.clone(), pod.labels().clone());
        let group = self.groups.entry(key.clone()).or_default();
        let counts = group.per_node.entry(node.to_string()).or_insert((0, 0));
        counts.0 = counts.0.saturating_add_signed(delta);
        if !pod.terminating() {
            counts.1 = counts.1.saturating_add_signed(delta);
        }
        if counts.0 == 0 {
            group.per_node.remove(node);
            if group.per_node.is_empty() {
                self.groups.remove(&key);
            }
        }
    }

    /// Placed pods by namespace and label set.
    pub fn pod_groups(&self) -> impl Iterator<Item = (&str, &Labels, &PodGroup)> {
        self.groups
            .iter()
            .map(|((ns, labels), g)| (ns.as_str(), labels, g))
    }

    /// Every node.
    pub fn nodes(&self) -> &[Arc<NodeInfo>] {
        &self.nodes
    }

    /// One node by name.
    pub fn get(&self, name: &str) -> Option<&Arc<NodeInfo>> {
        self.index.get(name).and_then(|i| self.nodes.get(*i))
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Labels of a namespace, when known.
    pub fn namespace_labels(&self, ns: &str) -> Option<&Labels> {
        self.namespaces.get(ns)
    }

    /// Every known namespace with its labels.
    pub fn namespaces(&self) -> &HashMap<String, Labels> {
        &self.namespaces
    }

    /// Whether any placed pod has a required anti-affinity term.
    pub fn has_required_anti_affinity_pods(&self) -> bool {
        self.required_anti_affinity_pods > 0
    }

    /// Whether any placed pod has a pod (anti-)affinity term.
    pub fn has_affinity_pods(&self) -> bool {
        self.affinity_pods > 0
    }

    /// Adds or replaces a node, keeping pods already placed on it.
    pub(crate) fn upsert_node(&mut self, node: Arc<Node>) {
        let name = node.metadata.name.clone().unwrap_or_default();
        self.index_labels(labels(&node.metadata).clone(), 1);
        match self.index.get(&name) {
            Some(&i) => {
                let old = self.nodes[i].labels().clone();
                self.index_labels(old, -1);
                Arc::make_mut(&mut self.nodes[i]).set_node(node);
            }
            None => {
                self.index.insert(name, self.nodes.len());
                self.nodes.push(Arc::new(NodeInfo::new(node)));
            }
        }
    }

    /// Removes a node; returns the pods that were on it.
    pub(crate) fn remove_node(&mut self, name: &str) -> Vec<Arc<PodInfo>> {
        let Some(i) = self.index.remove(name) else {
            return Vec::new();
        };
        let removed = self.nodes.swap_remove(i);
        if let Some(moved) = self.nodes.get(i) {
            self.index.insert(moved.name.clone(), i);
        }
        self.index_labels(removed.labels().clone(), -1);
        self.required_anti_affinity_pods -= removed.pods_with_required_anti_affinity.len();
        self.affinity_pods -= removed.pods_with_affinity.len();
        for p in &removed.pods {
            self.group(name, p, -1);
        }
        removed.pods.clone()
    }

    /// Places a pod on a known node; returns false when the node is unknown.
    pub(crate) fn add_pod(&mut self, node: &str, pod: Arc<PodInfo>) -> bool {
        let Some(&i) = self.index.get(node) else {
            return false;
        };
        if !pod.required_anti_affinity.is_empty() {
            self.required_anti_affinity_pods += 1;
        }
        if pod.has_affinity() {
            self.affinity_pods += 1;
        }
        self.group(node, &pod, 1);
        Arc::make_mut(&mut self.nodes[i]).add_pod(pod);
        true
    }

    /// Takes a pod off a node.
    pub(crate) fn remove_pod(&mut self, node: &str, key: &str) -> Option<Arc<PodInfo>> {
        let &i = self.index.get(node)?;
        let pod = Arc::make_mut(&mut self.nodes[i]).remove_pod(key)?;
        if !pod.required_anti_affinity.is_empty() {
            self.required_anti_affinity_pods -= 1;
        }
        if pod.has_affinity() {
            self.affinity_pods -= 1;
        }
        self.group(node, &pod, -1);
        Some(pod)
    }

    /// Records a namespace's labels.
    pub(crate) fn set_namespace(&mut self, name: String, labels: Labels) {
        self.namespaces.insert(name, labels);
    }

    /// Forgets a namespace.
    pub(crate) fn remove_namespace(&mut self, name: &str) {
        self.namespaces.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    #[test]
    fn host_port_conflicts_follow_wildcards() {
        let mut used = HostPortInfo::default();
        let hp = |ip: &str, port| HostPort {
            ip: ip.into(),
            protocol: "TCP".into(),
            port,
        };
        used.add(&hp("10.0.0.1", 80));
        assert!(used.conflicts(&hp("10.0.0.1", 80)));
        assert!(used.conflicts(&hp("0.0.0.0", 80)));
        assert!(!used.conflicts(&hp("10.0.0.2", 80)));
        assert!(!used.conflicts(&HostPort {
            protocol: "UDP".into(),
            ..hp("10.0.0.1", 80)
        }));
        used.add(&hp("0.0.0.0", 90));
        assert!(used.conflicts(&hp("10.0.0.9", 90)));
        used.remove(&hp("0.0.0.0", 90));
        assert!(!used.conflicts(&hp("10.0.0.9", 90)));
    }

    #[test]
    fn node_info_sums_requests_and_forgets_removed_pods() {
        let mut n = NodeInfo::new(node("n1").cpu("4").memory("8Gi").build());
        n.add_pod(pod("a").cpu("1").memory("1Gi").host_port(80).info());
        n.add_pod(pod("b").info());
        assert_eq!(n.requested().milli_cpu, 1000);
        assert_eq!(n.non_zero_requested().milli_cpu, 1100);
        assert_eq!(n.allocatable().milli_cpu, 4000);
        assert!(!n.used_ports().is_empty());
        assert!(n.remove_pod("default/a").is_some());
        assert_eq!(n.requested().milli_cpu, 0);
        assert!(n.used_ports().is_empty());
        assert_eq!(n.pods().len(), 1);
    }

    #[test]
    fn snapshot_keeps_its_index_when_nodes_go() {
        let mut s = Snapshot::from_nodes(vec![
            NodeInfo::new(node("a").build()),
            NodeInfo::new(node("b").build()),
            NodeInfo::new(node("c").build()),
        ]);
        assert!(s.add_pod("c", pod("p").anti_affinity_host("app", "x").info()));
        assert!(s.has_required_anti_affinity_pods());
        s.remove_node("a");
        assert_eq!(s.get("c").map(|n| n.name()), Some("c"));
        assert_eq!(s.get("b").map(|n| n.name()), Some("b"));
        assert!(s.get("a").is_none());
        assert_eq!(
            s.domains("kubernetes.io/hostname").map(|d| d.len()),
            Some(2)
        );
        s.upsert_node(node("b").label("zone", "z1").build());
        assert_eq!(s.domains("zone").and_then(|d| d.get("z1")), Some(&1));
        s.upsert_node(node("b").label("zone", "z2").build());
        assert!(
            s.domains("zone")
                .is_some_and(|d| d.len() == 1 && d.contains_key("z2"))
        );
        assert_eq!(s.remove_node("c").len(), 1);
        assert!(!s.has_required_anti_affinity_pods());
        assert_eq!(s.len(), 1);
        assert_eq!(s.pod_groups().count(), 0);
    }

    #[test]
    fn pod_groups_count_identical_label_sets_per_node() {
        let mut s = Snapshot::from_nodes(vec![
            NodeInfo::new(node("a").build()),
            NodeInfo::new(node("b").build()),
        ]);
        s.add_pod("a", pod("w1").label("app", "web").info());
        s.add_pod("a", pod("w2").label("app", "web").terminating().info());
        s.add_pod("b", pod("w3").label("app", "web").info());
        s.add_pod("b", pod("d1").label("app", "db").info());
        let web: Vec<_> = s
            .pod_groups()
            .filter(|(_, l, _)| l.get("app").map(String::as_str) == Some("web"))
            .collect();
        assert_eq!(web.len(), 1);
        assert_eq!(web[0].2.per_node.get("a"), Some(&(2, 1)));
        assert_eq!(web[0].2.per_node.get("b"), Some(&(1, 1)));
        s.remove_pod("a", "default/w2");
        s.remove_pod("a", "default/w1");
        assert_eq!(
            s.pod_groups()
                .filter(|(_, l, _)| l.get("app").map(String::as_str) == Some("web"))
                .count(),
            1
        );
        s.remove_node("b");
        assert_eq!(s.pod_groups().count(), 0);
    }
}
