//! What the scheduler precomputes once per pod version: requests, compiled
//! affinity terms, host ports and priority, so that filters and scores only
//! compare.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodAffinityTerm, WeightedPodAffinityTerm};
use rkube_api::selector::SelectorError;

use crate::resource::{PodRequests, Resource, pod_requests};
use crate::selectors::{Labels, Selector, labels};

/// A compiled pod (anti-)affinity term.
#[derive(Clone, Debug)]
pub struct AffinityTerm {
    /// Namespaces the term looks in.
    pub namespaces: BTreeSet<String>,
    /// Which pods the term is about.
    pub selector: Selector,
    /// The node label that defines "the same place".
    pub topology_key: String,
    /// Namespaces selected by their labels (in addition to `namespaces`).
    pub namespace_selector: Selector,
}

/// A preferred term with its weight.
#[derive(Clone, Debug)]
pub struct WeightedAffinityTerm {
    /// The term.
    pub term: AffinityTerm,
    /// Its weight (1-100).
    pub weight: i64,
}

impl AffinityTerm {
    fn new(
        owner_ns: &str,
        owner_labels: &Labels,
        t: &PodAffinityTerm,
    ) -> Result<AffinityTerm, SelectorError> {
        let mut selector = Selector::new(t.label_selector.as_ref())?;
        selector.merge_keys(
            t.match_label_keys.as_deref().unwrap_or_default(),
            owner_labels,
            false,
        )?;
        selector.merge_keys(
            t.mismatch_label_keys.as_deref().unwrap_or_default(),
            owner_labels,
            true,
        )?;
        let listed = t.namespaces.as_deref().unwrap_or_default();
        let namespaces = if listed.is_empty() && t.namespace_selector.is_none() {
            BTreeSet::from([owner_ns.to_string()])
        } else {
            listed.iter().cloned().collect()
        };
        Ok(AffinityTerm {
            namespaces,
            selector,
            topology_key: t.topology_key.clone(),
            namespace_selector: Selector::new(t.namespace_selector.as_ref())?,
        })
    }

    /// Whether `pod` (with its namespace's labels) is one of the pods the term is about.
    pub fn matches(&self, pod: &PodInfo, namespace_labels: Option<&Labels>) -> bool {
        self.matches_labels(&pod.namespace, pod.labels(), namespace_labels)
    }

    /// Whether a pod in `namespace` with `labels` is one of the pods the term is about.
    pub fn matches_labels(
        &self,
        namespace: &str,
        labels: &Labels,
        namespace_labels: Option<&Labels>,
    ) -> bool {
        let in_namespace = self.namespaces.contains(namespace)
            || namespace_labels.is_some_and(|l| self.namespace_selector.matches(l));
        in_namespace && self.selector.matches(labels)
    }

    /// The term with its namespace selector resolved against the current namespaces.
    pub fn with_resolved_namespaces(&self, namespaces: &HashMap<String, Labels>) -> AffinityTerm {
        let mut resolved = self.clone();
        if !matches!(self.namespace_selector, Selector::Nothing) {
            for (ns, l) in namespaces {
                if self.namespace_selector.matches(l) {
                    resolved.namespaces.insert(ns.clone());
                }
            }
            resolved.namespace_selector = Selector::Nothing;
        }
        resolved
    }
}

/// A host port a container binds on its node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    /// Host IP (`0.0.0.0` when unset).
    pub ip: String,
    /// Protocol (`TCP` when unset).
    pub protocol: String,
    /// Port number.
    pub port: i32,
}

/// Everything the scheduler needs to know about one version of a pod.
#[derive(Clone, Debug)]
pub struct PodInfo {
    /// The pod as last seen.
    pub pod: Arc<Pod>,
    /// `namespace/name`.
    pub key: String,
    /// Namespace.
    pub namespace: String,
    /// UID.
    pub uid: String,
    /// Resolved priority (higher is more important).
    pub priority: i32,
    /// Requests (zero when they could not be read, see `invalid`).
    pub requests: PodRequests,
    /// Required pod affinity terms.
    pub required_affinity: Vec<AffinityTerm>,
    /// Required pod anti-affinity terms.
    pub required_anti_affinity: Vec<AffinityTerm>,
    /// Preferred pod affinity terms.
    pub preferred_affinity: Vec<WeightedAffinityTerm>,
    /// Preferred pod anti-affinity terms.
    pub preferred_anti_affinity: Vec<WeightedAffinityTerm>,
    /// Host ports of its containers.
    pub host_ports: Vec<HostPort>,
    /// Why the pod cannot be evaluated (bad quantity or selector), if so.
    pub invalid: Option<String>,
}

fn terms(
    ns: &str,
    l: &Labels,
    list: Option<&Vec<PodAffinityTerm>>,
) -> Result<Vec<AffinityTerm>, SelectorError> {
    list.into_iter()
        .flatten()
        .map(|t| AffinityTerm::new(ns, l, t))
        .collect()
}

fn weighted(
    ns: &str,
    l: &Labels,
    list: Option<&Vec<WeightedPodAffinityTerm>>,
) -> Result<Vec<WeightedAffinityTerm>, SelectorError> {
    list.into_iter()
        .flatten()
        .map(|t| {
            Ok(WeightedAffinityTerm {
                term: AffinityTerm::new(ns, l, &t.pod_affinity_term)?,
                weight: i64::from(t.weight),
            })
        })
        .collect()
}

fn host_ports(pod: &Pod) -> Vec<HostPort> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"));
    let mut ports: Vec<HostPort> = spec
        .containers
        .iter()
        .chain(sidecars)
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let port = p.host_port.filter(|p| *p > 0)?;
            let ip = p
                .host_ip
                .clone()
                .filter(|ip| !ip.is_empty())
                .unwrap_or_else(|| "0.0.0.0".into());
            let protocol = p
                .protocol
                .clone()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "TCP".into());
            Some(HostPort { ip, protocol, port })
        })
        .collect();
    ports.sort();
    ports.dedup();
    ports
}

impl PodInfo {
    /// Precomputes a pod; `priority` is its resolved priority.
    pub fn new(pod: Arc<Pod>, priority: i32) -> PodInfo {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let own_labels = labels(&pod.metadata).clone();
        let mut invalid = None;
        let requests = match pod.spec.as_ref().map(pod_requests).transpose() {
            Ok(r) => r.unwrap_or_default(),
            Err(e) => {
                invalid = Some(e.to_string());
                PodRequests::default()
            }
        };
        let affinity = pod.spec.as_ref().and_then(|s| s.affinity.as_ref());
        let pa = affinity.and_then(|a| a.pod_affinity.as_ref());
        let paa = affinity.and_then(|a| a.pod_anti_affinity.as_ref());
        let compiled = (|| -> Result<_, SelectorError> {
            Ok((
                terms(
                    &namespace,
                    &own_labels,
                    pa.and_then(|a| {
                        a.required_during_scheduling_ignored_during_execution
                            .as_ref()
                    }),
                )?,
                terms(
                    &namespace,
                    &own_labels,
                    paa.and_then(|a| {
                        a.required_during_scheduling_ignored_during_execution
                            .as_ref()
                    }),
                )?,
                weighted(
                    &namespace,
                    &own_labels,
                    pa.and_then(|a| {
                        a.preferred_during_scheduling_ignored_during_execution
                            .as_ref()
                    }),
                )?,
                weighted(
                    &namespace,
                    &own_labels,
                    paa.and_then(|a| {
                        a.preferred_during_scheduling_ignored_during_execution
                            .as_ref()
                    }),
                )?,
            ))
        })();
        let (
            required_affinity,
            required_anti_affinity,
            preferred_affinity,
            preferred_anti_affinity,
        ) = match compiled {
            Ok(t) => t,
            Err(e) => {
                invalid.get_or_insert_with(|| format!("invalid pod affinity: {e}"));
                Default::default()
            }
        };
        PodInfo {
            host_ports: host_ports(&pod),
            key: format!("{namespace}/{name}"),
            namespace,
            uid,
            priority,
            requests,
            required_affinity,
            required_anti_affinity,
            preferred_affinity,
            preferred_anti_affinity,
            invalid,
            pod,
        }
    }

    /// The pod's labels.
    pub fn labels(&self) -> &Labels {
        labels(&self.pod.metadata)
    }

    /// The pod's name.
    pub fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or_default()
    }

    /// The node the pod is bound to (`""` when pending).
    pub fn node_name(&self) -> &str {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or_default()
    }

    /// Whether the pod is being deleted.
    pub fn terminating(&self) -> bool {
        self.pod.metadata.deletion_timestamp.is_some()
    }

    /// Whether any pod (anti-)affinity term is set.
    pub fn has_affinity(&self) -> bool {
        !(self.required_affinity.is_empty()
            && self.required_anti_affinity.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti_affinity.is_empty())
    }

    /// What the pod reserves.
    pub fn resource(&self) -> &Resource {
        &self.requests.requests
    }

    /// `status.nominatedNodeName` (`""` when unset).
    pub fn nominated_node(&self) -> &str {
        self.pod
            .status
            .as_ref()
            .and_then(|s| s.nominated_node_name.as_deref())
            .unwrap_or_default()
    }
}

/// A pod's priority: `spec.priority`, else its PriorityClass's value, else the global default class, else 0.
pub fn resolve_priority(
    pod: &Pod,
    class_value: impl Fn(&str) -> Option<i32>,
    global_default: Option<i32>,
) -> i32 {
    let spec = pod.spec.as_ref();
    if let Some(p) = spec.and_then(|s| s.priority) {
        return p;
    }
    match spec
        .and_then(|s| s.priority_class_name.as_deref())
        .filter(|n| !n.is_empty())
    {
        Some(name) => class_value(name).unwrap_or(0),
        None => global_default.unwrap_or(0),
    }
}

/// `MoreImportantPod`: higher priority first, then the one that started earlier.
pub fn more_important(a: &PodInfo, b: &PodInfo) -> bool {
    if a.priority != b.priority {
        return a.priority > b.priority;
    }
    let start = |p: &PodInfo| {
        p.pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .map(|t| t.0)
    };
    match (start(a), start(b)) {
        (Some(x), Some(y)) => x < y,
        (Some(_), None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Arc<Pod> {
        Arc::new(serde_json::from_value(v).expect("pod"))
    }

    #[test]
    fn affinity_terms_default_to_own_namespace() {
        let p = pod(
            json!({"metadata": {"name": "p", "namespace": "ns1", "labels": {"app": "a"}}, "spec": {"containers": [],
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "a"}}, "topologyKey": "kubernetes.io/hostname"}
            ]}}}}),
        );
        let info = PodInfo::new(p.clone(), 0);
        assert_eq!(info.required_anti_affinity.len(), 1);
        assert!(info.required_anti_affinity[0].matches(&info, None));
        let other_ns = PodInfo::new(
            pod(json!({"metadata": {"name": "q", "namespace": "ns2", "labels": {"app": "a"}}})),
            0,
        );
        assert!(!info.required_anti_affinity[0].matches(&other_ns, None));
        assert!(info.has_affinity() && info.invalid.is_none());
    }

    #[test]
    fn namespace_selectors_resolve_against_namespace_labels() {
        let p = pod(
            json!({"metadata": {"name": "p", "namespace": "ns1"}, "spec": {"containers": [],
            "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {}, "namespaceSelector": {"matchLabels": {"team": "x"}}, "topologyKey": "zone"}
            ]}}}}),
        );
        let info = PodInfo::new(p, 0);
        let term = &info.required_affinity[0];
        assert!(term.namespaces.is_empty());
        let team = Labels::from([("team".into(), "x".into())]);
        let other = PodInfo::new(
            pod(json!({"metadata": {"name": "q", "namespace": "ns9"}})),
            0,
        );
        assert!(term.matches(&other, Some(&team)));
        let all = HashMap::from([
            ("ns9".to_string(), team.clone()),
            ("ns8".to_string(), Labels::new()),
        ]);
        let resolved = term.with_resolved_namespaces(&all);
        assert_eq!(resolved.namespaces, BTreeSet::from(["ns9".to_string()]));
        assert!(resolved.matches(&other, None));
    }

    #[test]
    fn host_ports_default_ip_and_protocol() {
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 53, "hostPort": 53, "protocol": "UDP", "hostIP": "10.0.0.1"}, {"containerPort": 9}]}
        ]}}));
        let info = PodInfo::new(p, 0);
        assert_eq!(
            info.host_ports,
            vec![
                HostPort {
                    ip: "0.0.0.0".into(),
                    protocol: "TCP".into(),
                    port: 8080
                },
                HostPort {
                    ip: "10.0.0.1".into(),
                    protocol: "UDP".into(),
                    port: 53
                },
            ]
        );
    }

    #[test]
    fn invalid_quantities_mark_the_pod() {
        let p = pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "resources": {"requests": {"memory": "1x"}}}]}}),
        );
        assert!(PodInfo::new(p, 0).invalid.is_some());
    }

    #[test]
    fn priority_resolution_order() {
        let explicit = pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [], "priority": 7, "priorityClassName": "high"}}),
        );
        let named = pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [], "priorityClassName": "high"}}),
        );
        let bare = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": []}}));
        let classes = |n: &str| (n == "high").then_some(1000);
        assert_eq!(resolve_priority(&explicit, classes, None), 7);
        assert_eq!(resolve_priority(&named, classes, None), 1000);
        assert_eq!(resolve_priority(&bare, classes, Some(5)), 5);
        assert_eq!(resolve_priority(&bare, classes, None), 0);
    }
}
