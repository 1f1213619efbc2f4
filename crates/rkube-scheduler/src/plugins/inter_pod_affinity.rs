//! InterPodAffinity: required pod affinity (be in the same topology domain
//! as matching pods), required anti-affinity (the pod's own, and that of
//! pods already placed), and preferred terms of both the pod and the placed
//! pods as scores, all per `topologyKey`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::framework::{
    AffinityTerm, ClusterEvents, Code, CycleState, FilterPlugin, MAX_NODE_SCORE, NodeInfo,
    NodeScore, Plugin, PodInfo, PreFilterExtensions, PreFilterPlugin, ScorePlugin, Snapshot,
    Status, WeightedAffinityTerm,
};
use crate::selectors::Labels;

/// Plugin name.
pub const NAME: &str = "InterPodAffinity";
/// The pod's required affinity is not met.
pub const REASON_AFFINITY: &str = "node(s) didn't match pod affinity rules";
/// The pod's required anti-affinity is violated.
pub const REASON_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
/// A placed pod's required anti-affinity would be violated.
pub const REASON_EXISTING_ANTI_AFFINITY: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";
/// Weight of a placed pod's required affinity term matching the incoming pod (`hardPodAffinityWeight`).
const HARD_POD_AFFINITY_WEIGHT: i64 = 1;
const PRE_FILTER_KEY: &str = "PreFilterInterPodAffinity";
const PRE_SCORE_KEY: &str = "PreScoreInterPodAffinity";

/// Counts by topology key, then topology value.
#[derive(Clone, Debug, Default)]
struct TopologyCounts(HashMap<String, HashMap<String, i64>>);

impl TopologyCounts {
    fn add(&mut self, key: &str, value: &str, n: i64) {
        let values = self.0.entry(key.to_string()).or_default();
        let count = values.entry(value.to_string()).or_insert(0);
        *count += n;
        if *count == 0 {
            values.remove(value);
            if values.is_empty() {
                self.0.remove(key);
            }
        }
    }

    fn get(&self, key: &str, value: &str) -> i64 {
        self.0
            .get(key)
            .and_then(|v| v.get(value))
            .copied()
            .unwrap_or(0)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `n` for the node's domain of the term's topology key, when the node has that label.
    fn add_for(&mut self, term: &AffinityTerm, node_labels: &Labels, n: i64) {
        if let Some(v) = node_labels.get(&term.topology_key) {
            self.add(&term.topology_key, v, n);
        }
    }
}

#[derive(Clone)]
struct PreFilterState {
    /// Placed pods whose required anti-affinity matches the incoming pod.
    existing_anti_affinity: TopologyCounts,
    /// Placed pods matching all the incoming pod's required affinity terms.
    affinity: TopologyCounts,
    /// Placed pods matching the incoming pod's required anti-affinity terms.
    anti_affinity: TopologyCounts,
    affinity_terms: Arc<Vec<AffinityTerm>>,
    anti_affinity_terms: Arc<Vec<AffinityTerm>>,
    namespace_labels: Option<Arc<Labels>>,
}

/// The plugin.
pub struct InterPodAffinity;

fn matches_all(terms: &[AffinityTerm], pod: &PodInfo) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(pod, None))
}

impl PreFilterState {
    fn update(&mut self, incoming: &PodInfo, changed: &PodInfo, node: &NodeInfo, n: i64) {
        let node_labels = node.labels();
        for t in &changed.required_anti_affinity {
            if t.matches(incoming, self.namespace_labels.as_deref()) {
                self.existing_anti_affinity.add_for(t, node_labels, n);
            }
        }
        if matches_all(&self.affinity_terms, changed) {
            for t in self.affinity_terms.iter() {
                self.affinity.add_for(t, node_labels, n);
            }
        }
        for t in self.anti_affinity_terms.iter() {
            if t.matches(changed, None) {
                self.anti_affinity.add_for(t, node_labels, n);
            }
        }
    }

    fn satisfies_affinity(&self, pod: &PodInfo, node_labels: &Labels) -> bool {
        let mut pods_exist = true;
        for t in self.affinity_terms.iter() {
            match node_labels.get(&t.topology_key) {
                Some(v) if self.affinity.get(&t.topology_key, v) > 0 => {}
                Some(_) => pods_exist = false,
                None => return false,
            }
        }
        // The first pod of a group that has affinity to itself may go anywhere the topology exists.
        pods_exist || (self.affinity.is_empty() && matches_all(&self.affinity_terms, pod))
    }

    fn satisfies_anti_affinity(&self, node_labels: &Labels) -> bool {
        !self.anti_affinity_terms.iter().any(|t| {
            node_labels
                .get(&t.topology_key)
                .is_some_and(|v| self.anti_affinity.get(&t.topology_key, v) > 0)
        })
    }

    fn satisfies_existing_anti_affinity(&self, node_labels: &Labels) -> bool {
        self.existing_anti_affinity.is_empty()
            || !node_labels
                .iter()
                .any(|(k, v)| self.existing_anti_affinity.get(k, v) > 0)
    }
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events(&self) -> ClusterEvents {
        ClusterEvents::NODE_ADD
            | ClusterEvents::NODE_LABEL
            | ClusterEvents::POD_ADD
            | ClusterEvents::POD_DELETE
            | ClusterEvents::POD_LABEL
    }
}

fn resolve(terms: &[AffinityTerm], snapshot: &Snapshot) -> Vec<AffinityTerm> {
    terms
        .iter()
        .map(|t| t.with_resolved_namespaces(snapshot.namespaces()))
        .collect()
}

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> Status {
        if pod.required_affinity.is_empty()
            && pod.required_anti_affinity.is_empty()
            && !snapshot.has_required_anti_affinity_pods()
        {
            return Status::skip();
        }
        let mut s = PreFilterState {
            existing_anti_affinity: TopologyCounts::default(),
            affinity: TopologyCounts::default(),
            anti_affinity: TopologyCounts::default(),
            affinity_terms: Arc::new(resolve(&pod.required_affinity, snapshot)),
            anti_affinity_terms: Arc::new(resolve(&pod.required_anti_affinity, snapshot)),
            namespace_labels: snapshot
                .namespace_labels(&pod.namespace)
                .cloned()
                .map(Arc::new),
        };
        for node in snapshot
            .nodes()
            .iter()
            .filter(|_| snapshot.has_required_anti_affinity_pods())
        {
            for existing in node.pods_with_required_anti_affinity() {
                for t in &existing.required_anti_affinity {
                    if t.matches(pod, s.namespace_labels.as_deref()) {
                        s.existing_anti_affinity.add_for(t, node.labels(), 1);
                    }
                }
            }
        }
        if !s.affinity_terms.is_empty() || !s.anti_affinity_terms.is_empty() {
            // Which placed pods the incoming terms select depends only on their namespace and labels.
            for (namespace, group_labels, group) in snapshot.pod_groups() {
                let affinity = !s.affinity_terms.is_empty()
                    && s.affinity_terms
                        .iter()
                        .all(|t| t.matches_labels(namespace, group_labels, None));
                let anti: Vec<&AffinityTerm> = s
                    .anti_affinity_terms
                    .iter()
                    .filter(|t| t.matches_labels(namespace, group_labels, None))
                    .collect();
                if !affinity && anti.is_empty() {
                    continue;
                }
                for (name, (all, _)) in &group.per_node {
                    let Some(node) = snapshot.get(name) else {
                        continue;
                    };
                    let n = i64::from(*all);
                    if affinity {
                        for t in s.affinity_terms.iter() {
                            s.affinity.add_for(t, node.labels(), n);
                        }
                    }
                    for t in &anti {
                        s.anti_affinity.add_for(t, node.labels(), n);
                    }
                }
            }
        }
        state.write(PRE_FILTER_KEY, s);
        Status::success()
    }

    fn extensions(&self) -> Option<&dyn PreFilterExtensions> {
        Some(self)
    }
}

impl PreFilterExtensions for InterPodAffinity {
    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, added: &PodInfo, node: &NodeInfo) {
        if let Some(s) = state.read_mut::<PreFilterState>(PRE_FILTER_KEY) {
            s.update(pod, added, node, 1);
        }
    }

    fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &PodInfo,
        node: &NodeInfo,
    ) {
        if let Some(s) = state.read_mut::<PreFilterState>(PRE_FILTER_KEY) {
            s.update(pod, removed, node, -1);
        }
    }
}

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<PreFilterState>(PRE_FILTER_KEY) else {
            return Status::error("InterPodAffinity pre-filter state missing");
        };
        let node_labels = node.labels();
        if !s.satisfies_affinity(pod, node_labels) {
            return Status::new(Code::UnschedulableAndUnresolvable, REASON_AFFINITY);
        }
        if !s.satisfies_anti_affinity(node_labels) {
            return Status::new(Code::Unschedulable, REASON_ANTI_AFFINITY);
        }
        if !s.satisfies_existing_anti_affinity(node_labels) {
            return Status::new(Code::Unschedulable, REASON_EXISTING_ANTI_AFFINITY);
        }
        Status::success()
    }
}

#[derive(Clone)]
struct PreScoreState(Arc<TopologyCounts>);

fn add_weighted(
    scores: &mut TopologyCounts,
    terms: &[WeightedAffinityTerm],
    target: &PodInfo,
    ns: Option<&Labels>,
    node: &Labels,
    sign: i64,
) {
    for t in terms {
        if t.term.matches(target, ns) {
            scores.add_for(&t.term, node, t.weight * sign);
        }
    }
}

impl ScorePlugin for InterPodAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> Status {
        let own_terms =
            !pod.preferred_affinity.is_empty() || !pod.preferred_anti_affinity.is_empty();
        if !own_terms && !snapshot.has_affinity_pods() {
            return Status::skip();
        }
        let resolve_weighted = |terms: &[WeightedAffinityTerm]| -> Vec<WeightedAffinityTerm> {
            terms
                .iter()
                .map(|t| WeightedAffinityTerm {
                    term: t.term.with_resolved_namespaces(snapshot.namespaces()),
                    weight: t.weight,
                })
                .collect()
        };
        let preferred = resolve_weighted(&pod.preferred_affinity);
        let preferred_anti = resolve_weighted(&pod.preferred_anti_affinity);
        let ns_labels = snapshot.namespace_labels(&pod.namespace);
        let mut scores = TopologyCounts::default();
        if own_terms {
            // The incoming pod's preferences select placed pods by namespace and labels only.
            for (namespace, group_labels, group) in snapshot.pod_groups() {
                let selected = |terms: &[WeightedAffinityTerm]| -> Vec<(AffinityTerm, i64)> {
                    terms
                        .iter()
                        .filter(|t| t.term.matches_labels(namespace, group_labels, None))
                        .map(|t| (t.term.clone(), t.weight))
                        .collect()
                };
                let liked = selected(&preferred);
                let disliked = selected(&preferred_anti);
                if liked.is_empty() && disliked.is_empty() {
                    continue;
                }
                for (name, (all, _)) in &group.per_node {
                    let Some(node) = snapshot.get(name) else {
                        continue;
                    };
                    let n = i64::from(*all);
                    for (t, w) in &liked {
                        scores.add_for(t, node.labels(), w * n);
                    }
                    for (t, w) in &disliked {
                        scores.add_for(t, node.labels(), -w * n);
                    }
                }
            }
        }
        for node in snapshot.nodes() {
            let node_labels = node.labels();
            for existing in node.pods_with_affinity() {
                for t in &existing.required_affinity {
                    if t.matches(pod, ns_labels) {
                        scores.add_for(t, node_labels, HARD_POD_AFFINITY_WEIGHT);
                    }
                }
                add_weighted(
                    &mut scores,
                    &existing.preferred_affinity,
                    pod,
                    ns_labels,
                    node_labels,
                    1,
                );
                add_weighted(
                    &mut scores,
                    &existing.preferred_anti_affinity,
                    pod,
                    ns_labels,
                    node_labels,
                    -1,
                );
            }
        }
        if scores.is_empty() {
            return Status::skip();
        }
        state.write(PRE_SCORE_KEY, PreScoreState(Arc::new(scores)));
        Status::success()
    }

    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let s = state
            .read::<PreScoreState>(PRE_SCORE_KEY)
            .ok_or_else(|| Status::error("InterPodAffinity pre-score state missing"))?;
        let labels = node.labels();
        Ok(s.0
            .0
            .iter()
            .filter_map(|(k, values)| labels.get(k).and_then(|v| values.get(v)))
            .sum())
    }

    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        scores: &mut [NodeScore<'_>],
    ) -> Status {
        let min = scores.iter().map(|s| s.score).min().unwrap_or(0);
        let max = scores.iter().map(|s| s.score).max().unwrap_or(0);
        let spread = max - min;
        for s in scores.iter_mut() {
            s.score = if spread > 0 {
                (MAX_NODE_SCORE as f64 * ((s.score - min) as f64 / spread as f64)) as i64
            } else {
                0
            };
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::NodeInfo;
    use crate::testing::{node, pod};
    use serde_json::json;

    fn zoned(name: &str, zone: &str, pods: Vec<Arc<PodInfo>>) -> NodeInfo {
        node(name).label("zone", zone).with_pods(pods)
    }

    fn filter_all(p: &PodInfo, snapshot: &Snapshot) -> Vec<Status> {
        let mut state = CycleState::new();
        if InterPodAffinity.pre_filter(&mut state, p, snapshot).code() == Code::Skip {
            return snapshot.nodes().iter().map(|_| Status::success()).collect();
        }
        snapshot
            .nodes()
            .iter()
            .map(|n| InterPodAffinity.filter(&state, p, n))
            .collect()
    }

    fn affinity(kind: &str, app: &str, key: &str) -> serde_json::Value {
        json!({kind: {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}
        ]}})
    }

    #[test]
    fn required_affinity_follows_matching_pods_topology() {
        let snapshot = Snapshot::from_nodes(vec![
            zoned("a", "z1", vec![pod("db").label("app", "db").on("a").info()]),
            zoned("b", "z1", vec![]),
            zoned("c", "z2", vec![]),
            node("d").with_pods(vec![]),
        ]);
        let p = pod("web")
            .spec("affinity", affinity("podAffinity", "db", "zone"))
            .info();
        let r = filter_all(&p, &snapshot);
        assert!(r[0].is_success() && r[1].is_success());
        assert_eq!(
            (r[2].code(), r[2].message().as_str()),
            (Code::UnschedulableAndUnresolvable, REASON_AFFINITY)
        );
        assert!(
            !r[3].is_success(),
            "a node without the topology label never satisfies affinity"
        );
    }

    #[test]
    fn first_pod_with_self_affinity_is_allowed() {
        let snapshot =
            Snapshot::from_nodes(vec![zoned("a", "z1", vec![]), node("b").with_pods(vec![])]);
        let p = pod("web")
            .label("app", "web")
            .spec("affinity", affinity("podAffinity", "web", "zone"))
            .info();
        let r = filter_all(&p, &snapshot);
        assert!(r[0].is_success());
        assert!(!r[1].is_success());
    }

    #[test]
    fn own_and_existing_anti_affinity() {
        let snapshot = Snapshot::from_nodes(vec![
            node("a").with_pods(vec![pod("w1").label("app", "web").on("a").info()]),
            node("b").with_pods(vec![
                pod("guard")
                    .on("b")
                    .spec(
                        "affinity",
                        affinity("podAntiAffinity", "web", "kubernetes.io/hostname"),
                    )
                    .info(),
            ]),
            node("c").with_pods(vec![]),
        ]);
        let p = pod("w2")
            .label("app", "web")
            .spec(
                "affinity",
                affinity("podAntiAffinity", "web", "kubernetes.io/hostname"),
            )
            .info();
        let r = filter_all(&p, &snapshot);
        assert_eq!(
            (r[0].code(), r[0].message().as_str()),
            (Code::Unschedulable, REASON_ANTI_AFFINITY)
        );
        assert_eq!(r[1].message(), REASON_EXISTING_ANTI_AFFINITY);
        assert!(r[2].is_success());
        // A pod without terms of its own is still kept away by the guard.
        let plain = pod("w3").label("app", "web").info();
        let r = filter_all(&plain, &snapshot);
        assert!(r[0].is_success() && !r[1].is_success() && r[2].is_success());
    }

    #[test]
    fn extensions_track_simulated_removals() {
        let victim = pod("w1").label("app", "web").on("a").info();
        let snapshot = Snapshot::from_nodes(vec![node("a").with_pods(vec![victim.clone()])]);
        let p = pod("w2")
            .spec(
                "affinity",
                affinity("podAntiAffinity", "web", "kubernetes.io/hostname"),
            )
            .info();
        let mut state = CycleState::new();
        assert!(
            InterPodAffinity
                .pre_filter(&mut state, &p, &snapshot)
                .is_success()
        );
        let n = &snapshot.nodes()[0];
        assert!(!InterPodAffinity.filter(&state, &p, n).is_success());
        let mut without = (**n).clone();
        without.remove_pod(&victim.key);
        InterPodAffinity.remove_pod(&mut state, &p, &victim, &without);
        assert!(InterPodAffinity.filter(&state, &p, &without).is_success());
        InterPodAffinity.add_pod(&mut state, &p, &victim, n);
        assert!(!InterPodAffinity.filter(&state, &p, n).is_success());
    }

    #[test]
    fn preferred_terms_score_by_topology() {
        let snapshot = Snapshot::from_nodes(vec![
            zoned(
                "a",
                "z1",
                vec![pod("cache").label("app", "cache").on("a").info()],
            ),
            zoned("b", "z1", vec![]),
            zoned("c", "z2", vec![]),
        ]);
        let p = pod("web")
            .spec("affinity", json!({"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 50, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "zone"}}
            ]}}))
            .info();
        let nodes: Vec<&NodeInfo> = snapshot.nodes().iter().map(|n| &**n).collect();
        let mut state = CycleState::new();
        assert!(
            InterPodAffinity
                .pre_score(&mut state, &p, &nodes, &snapshot)
                .is_success()
        );
        let mut scores: Vec<NodeScore<'_>> = nodes
            .iter()
            .map(|n| NodeScore {
                node: n,
                score: InterPodAffinity.score(&state, &p, n).unwrap_or(-1),
            })
            .collect();
        assert_eq!(
            scores.iter().map(|s| s.score).collect::<Vec<_>>(),
            vec![50, 50, 0]
        );
        InterPodAffinity.normalize(&state, &p, &mut scores);
        assert_eq!(
            scores.iter().map(|s| s.score).collect::<Vec<_>>(),
            vec![100, 100, 0]
        );
        let plain = pod("x").info();
        assert_eq!(
            InterPodAffinity
                .pre_score(&mut CycleState::new(), &plain, &nodes, &snapshot)
                .code(),
            Code::Skip
        );
    }
}
