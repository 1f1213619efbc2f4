//! Builders for nodes and pods in unit tests and benchmarks.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use crate::framework::{NodeInfo, PodInfo};

/// A node under construction: Ready, 4 CPUs, 16Gi, 110 pods unless changed.
pub struct NodeBuilder(Value);

/// Starts a node.
pub fn node(name: &str) -> NodeBuilder {
    NodeBuilder(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {
            "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    }))
}

impl NodeBuilder {
    /// Allocatable CPU.
    pub fn cpu(mut self, q: &str) -> Self {
        self.0["status"]["allocatable"]["cpu"] = json!(q);
        self
    }
    /// Allocatable memory.
    pub fn memory(mut self, q: &str) -> Self {
        self.0["status"]["allocatable"]["memory"] = json!(q);
        self
    }
    /// Allocatable of any resource.
    pub fn allocatable(mut self, name: &str, q: &str) -> Self {
        self.0["status"]["allocatable"][name] = json!(q);
        self
    }
    /// A label.
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0["metadata"]["labels"][k] = json!(v);
        self
    }
    /// A taint.
    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> Self {
        let spec = &mut self.0["spec"];
        if spec["taints"].is_null() {
            spec["taints"] = json!([]);
        }
        if let Some(list) = spec["taints"].as_array_mut() {
            list.push(json!({"key": key, "value": value, "effect": effect}));
        }
        self
    }
    /// `spec.unschedulable`.
    pub fn unschedulable(mut self) -> Self {
        self.0["spec"]["unschedulable"] = json!(true);
        self
    }
    /// Sets the Ready condition's status.
    pub fn ready(mut self, status: &str) -> Self {
        self.0["status"]["conditions"] = json!([{"type": "Ready", "status": status}]);
        self
    }
    /// The Node.
    pub fn build(self) -> Arc<Node> {
        Arc::new(serde_json::from_value(self.0).expect("test node"))
    }
    /// A NodeInfo holding `pods`.
    pub fn with_pods(self, pods: Vec<Arc<PodInfo>>) -> NodeInfo {
        let mut info = NodeInfo::new(self.build());
        for p in pods {
            info.add_pod(p);
        }
        info
    }
}

/// A pod under construction in namespace `default` with one container.
pub struct PodBuilder(Value, i32);

/// Starts a pod.
pub fn pod(name: &str) -> PodBuilder {
    PodBuilder(
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}
        }),
        0,
    )
}

impl PodBuilder {
    fn request(mut self, name: &str, q: &str) -> Self {
        self.0["spec"]["containers"][0]["resources"]["requests"][name] = json!(q);
        self
    }
    /// CPU request.
    pub fn cpu(self, q: &str) -> Self {
        self.request("cpu", q)
    }
    /// Memory request.
    pub fn memory(self, q: &str) -> Self {
        self.request("memory", q)
    }
    /// Request of any resource.
    pub fn requests(self, name: &str, q: &str) -> Self {
        self.request(name, q)
    }
    /// A label.
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0["metadata"]["labels"][k] = json!(v);
        self
    }
    /// Namespace.
    pub fn namespace(mut self, ns: &str) -> Self {
        self.0["metadata"]["namespace"] = json!(ns);
        self
    }
    /// Priority.
    pub fn priority(mut self, p: i32) -> Self {
        self.0["spec"]["priority"] = json!(p);
        self.1 = p;
        self
    }
    /// `spec.nodeName`.
    pub fn on(mut self, node: &str) -> Self {
        self.0["spec"]["nodeName"] = json!(node);
        self
    }
    /// `status.nominatedNodeName`.
    pub fn nominated(mut self, node: &str) -> Self {
        self.0["status"]["nominatedNodeName"] = json!(node);
        self
    }
    /// A host port on the container.
    pub fn host_port(mut self, port: i32) -> Self {
        self.0["spec"]["containers"][0]["ports"] =
            json!([{"containerPort": port, "hostPort": port}]);
        self
    }
    /// A `nodeSelector` entry.
    pub fn node_selector(mut self, k: &str, v: &str) -> Self {
        self.0["spec"]["nodeSelector"][k] = json!(v);
        self
    }
    /// A toleration.
    pub fn toleration(mut self, key: &str, operator: &str, value: &str, effect: &str) -> Self {
        let spec = &mut self.0["spec"];
        if spec["tolerations"].is_null() {
            spec["tolerations"] = json!([]);
        }
        if let Some(list) = spec["tolerations"].as_array_mut() {
            list.push(json!({"key": key, "operator": operator, "value": value, "effect": effect}));
        }
        self
    }
    /// Any spec field, as JSON.
    pub fn spec(mut self, field: &str, v: Value) -> Self {
        self.0["spec"][field] = v;
        self
    }
    /// Required anti-affinity to pods with `k=v` on the same host.
    pub fn anti_affinity_host(self, k: &str, v: &str) -> Self {
        self.spec(
            "affinity",
            json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {k: v}}, "topologyKey": "kubernetes.io/hostname"}
            ]}}),
        )
    }
    /// Marks the pod as being deleted.
    pub fn terminating(mut self) -> Self {
        self.0["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        self
    }
    /// The Pod.
    pub fn build(self) -> Arc<Pod> {
        Arc::new(serde_json::from_value(self.0).expect("test pod"))
    }
    /// The PodInfo (priority from `priority`).
    pub fn info(self) -> Arc<PodInfo> {
        let p = self.1;
        Arc::new(PodInfo::new(self.build(), p))
    }
}
