//! Resource vectors (cpu, memory, ephemeral storage, pods, extended
//! resources) and the pod request arithmetic Kubernetes uses: containers
//! summed, init containers as a maximum, sidecars counted while they run,
//! pod-level requests and overhead on top.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::quantity::{self, QuantityError};

/// `cpu` resource name.
pub const CPU: &str = "cpu";
/// `memory` resource name.
pub const MEMORY: &str = "memory";
/// `ephemeral-storage` resource name.
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
/// `pods` resource name (how many pods a node takes).
pub const PODS: &str = "pods";
/// CPU counted for a container without a CPU request when scoring (kube-scheduler's default).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory counted for a container without a memory request when scoring (200 MiB, kube-scheduler's default).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// An amount of every schedulable resource, in the units filters compare.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resource {
    /// Thousandths of a CPU.
    pub milli_cpu: i64,
    /// Bytes.
    pub memory: i64,
    /// Bytes.
    pub ephemeral_storage: i64,
    /// Number of pods.
    pub allowed_pods: i64,
    /// Extended resources, hugepages and other scalar resources by name.
    pub scalar: BTreeMap<String, i64>,
}

/// Whether a resource name is counted as a scalar (extended resources, hugepages, prefixed native ones).
pub fn is_scalar_resource_name(name: &str) -> bool {
    name.contains('/') || name.starts_with("hugepages-") || name.starts_with("attachable-volumes-")
}

impl Resource {
    /// Reads a resource list (requests, allocatable, overhead).
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Result<Resource, QuantityError> {
        let mut r = Resource::default();
        r.add_list(list)?;
        Ok(r)
    }

    /// Reads a resource list, counting unreadable entries as zero; returns the errors too.
    pub fn from_list_lenient(list: &BTreeMap<String, Quantity>) -> (Resource, Vec<QuantityError>) {
        let mut r = Resource::default();
        let errors = list
            .iter()
            .filter_map(|(name, q)| r.combine(name, &q.0, |a, b| a.saturating_add(b)).err())
            .collect();
        (r, errors)
    }

    /// Adds every resource of a list.
    pub fn add_list(&mut self, list: &BTreeMap<String, Quantity>) -> Result<(), QuantityError> {
        for (name, q) in list {
            self.combine(name, &q.0, |a, b| a.saturating_add(b))?;
        }
        Ok(())
    }

    /// Raises each resource to the list's value when it is larger.
    pub fn max_list(&mut self, list: &BTreeMap<String, Quantity>) -> Result<(), QuantityError> {
        for (name, q) in list {
            self.combine(name, &q.0, i64::max)?;
        }
        Ok(())
    }

    fn combine(
        &mut self,
        name: &str,
        q: &str,
        f: impl Fn(i64, i64) -> i64,
    ) -> Result<(), QuantityError> {
        match name {
            CPU => self.milli_cpu = f(self.milli_cpu, quantity::milli_value(q)?),
            MEMORY => self.memory = f(self.memory, quantity::value(q)?),
            EPHEMERAL_STORAGE => {
                self.ephemeral_storage = f(self.ephemeral_storage, quantity::value(q)?)
            }
            PODS => self.allowed_pods = f(self.allowed_pods, quantity::value(q)?),
            other if is_scalar_resource_name(other) => {
                let v = quantity::value(q)?;
                let entry = self.scalar.entry(other.to_string()).or_insert(0);
                *entry = f(*entry, v);
            }
            _ => {}
        }
        Ok(())
    }

    /// Adds another vector.
    pub fn add(&mut self, other: &Resource) {
        self.zip(other, |a, b| a.saturating_add(b));
    }

    /// Subtracts another vector.
    pub fn sub(&mut self, other: &Resource) {
        self.zip(other, |a, b| a.saturating_sub(b));
    }

    /// Takes the larger value of each resource.
    pub fn max(&mut self, other: &Resource) {
        self.zip(other, i64::max);
    }

    fn zip(&mut self, other: &Resource, f: impl Fn(i64, i64) -> i64) {
        self.milli_cpu = f(self.milli_cpu, other.milli_cpu);
        self.memory = f(self.memory, other.memory);
        self.ephemeral_storage = f(self.ephemeral_storage, other.ephemeral_storage);
        self.allowed_pods = f(self.allowed_pods, other.allowed_pods);
        for (name, v) in &other.scalar {
            let entry = self.scalar.entry(name.clone()).or_insert(0);
            *entry = f(*entry, *v);
        }
    }

    /// Whether nothing is requested.
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.allowed_pods == 0
            && self.scalar.values().all(|v| *v == 0)
    }

    /// The value of one resource by name (0 when absent).
    pub fn get(&self, name: &str) -> i64 {
        match name {
            CPU => self.milli_cpu,
            MEMORY => self.memory,
            EPHEMERAL_STORAGE => self.ephemeral_storage,
            PODS => self.allowed_pods,
            other => self.scalar.get(other).copied().unwrap_or(0),
        }
    }
}

/// A pod's requests: what filters reserve and what scoring counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodRequests {
    /// What the pod reserves on its node (`resource.PodRequests`).
    pub requests: Resource,
    /// Requests with defaults for containers that request no cpu or memory, used by least-allocated scoring.
    pub non_zero: Resource,
}

/// How missing container requests are filled in.
#[derive(Clone, Copy)]
enum Missing {
    Zero,
    Defaults,
}

fn container_requests(c: &Container, missing: Missing) -> Result<Resource, QuantityError> {
    let mut r = match c.resources.as_ref().and_then(|r| r.requests.as_ref()) {
        Some(list) => Resource::from_list(list)?,
        None => Resource::default(),
    };
    if let Missing::Defaults = missing {
        let has = |name: &str| {
            c.resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .is_some_and(|l| l.contains_key(name))
        };
        if !has(CPU) {
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
        }
        if !has(MEMORY) {
            r.memory = DEFAULT_MEMORY_REQUEST;
        }
    }
    Ok(r)
}

fn aggregate(spec: &PodSpec, missing: Missing) -> Result<Resource, QuantityError> {
    let mut total = Resource::default();
    for c in &spec.containers {
        total.add(&container_requests(c, missing)?);
    }
    let mut sidecars = Resource::default();
    let mut init_max = Resource::default();
    for c in spec.init_containers.iter().flatten() {
        let r = container_requests(c, missing)?;
        let during = if c.restart_policy.as_deref() == Some("Always") {
            total.add(&r);
            sidecars.add(&r);
            sidecars.clone()
        } else {
            let mut tmp = r;
            tmp.add(&sidecars);
            tmp
        };
        init_max.max(&during);
    }
    total.max(&init_max);
    if let Some(pod_level) = spec.resources.as_ref().and_then(|r| r.requests.as_ref()) {
        for (name, q) in pod_level {
            match name.as_str() {
                CPU => total.milli_cpu = quantity::milli_value(&q.0)?,
                MEMORY => total.memory = quantity::value(&q.0)?,
                _ => {}
            }
        }
    }
    if let Some(overhead) = &spec.overhead {
        total.add_list(overhead)?;
    }
    Ok(total)
}

/// Computes a pod's requests the way `resource.PodRequests` does.
pub fn pod_requests(spec: &PodSpec) -> Result<PodRequests, QuantityError> {
    Ok(PodRequests {
        requests: aggregate(spec, Missing::Zero)?,
        non_zero: aggregate(spec, Missing::Defaults)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> PodSpec {
        serde_json::from_value(v).expect("pod spec")
    }

    #[test]
    fn containers_are_summed_init_containers_maxed() {
        let s = spec(json!({
            "initContainers": [
                {"name": "i1", "resources": {"requests": {"cpu": "2", "memory": "1G"}}},
                {"name": "i2", "resources": {"requests": {"cpu": "2", "memory": "3G"}}}
            ],
            "containers": [
                {"name": "c1", "resources": {"requests": {"cpu": "2", "memory": "1G"}}},
                {"name": "c2", "resources": {"requests": {"cpu": "1", "memory": "1G"}}}
            ]
        }));
        let r = pod_requests(&s).expect("requests").requests;
        assert_eq!(r.milli_cpu, 3000);
        assert_eq!(r.memory, 3_000_000_000);
    }

    #[test]
    fn sidecars_add_to_the_running_total_and_to_later_init_containers() {
        let s = spec(json!({
            "initContainers": [
                {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}},
                {"name": "init", "resources": {"requests": {"cpu": "3"}}}
            ],
            "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]
        }));
        // max(containers 1 + sidecar 1, init 3 + sidecar 1) = 4
        assert_eq!(pod_requests(&s).expect("requests").requests.milli_cpu, 4000);
    }

    #[test]
    fn overhead_pod_level_and_extended_resources() {
        let s = spec(json!({
            "resources": {"requests": {"memory": "1Gi"}},
            "overhead": {"cpu": "250m", "memory": "120Mi"},
            "containers": [{"name": "c", "resources": {"requests": {
                "cpu": "500m", "memory": "64Mi", "example.com/gpu": "2", "hugepages-2Mi": "4Mi", "ephemeral-storage": "1Gi"
            }}}]
        }));
        let r = pod_requests(&s).expect("requests").requests;
        assert_eq!(r.milli_cpu, 750);
        assert_eq!(r.memory, (1 << 30) + 120 * (1 << 20));
        assert_eq!(r.scalar.get("example.com/gpu"), Some(&2));
        assert_eq!(r.scalar.get("hugepages-2Mi"), Some(&(4 << 20)));
        assert_eq!(r.ephemeral_storage, 1 << 30);
    }

    #[test]
    fn non_zero_requests_fill_in_defaults_per_container() {
        let s = spec(json!({"containers": [
            {"name": "a"},
            {"name": "b", "resources": {"requests": {"cpu": "1"}}}
        ]}));
        let r = pod_requests(&s).expect("requests");
        assert!(r.requests.memory == 0 && r.requests.milli_cpu == 1000);
        assert_eq!(r.non_zero.milli_cpu, 1100);
        assert_eq!(r.non_zero.memory, 2 * DEFAULT_MEMORY_REQUEST);
    }

    #[test]
    fn bad_quantities_are_errors() {
        let s = spec(
            json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "lots"}}}]}),
        );
        assert!(pod_requests(&s).is_err());
    }
}
