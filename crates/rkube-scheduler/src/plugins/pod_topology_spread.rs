//! PodTopologySpread: `topologySpreadConstraints` keep matching pods spread
//! over topology domains. `DoNotSchedule` constraints reject nodes whose
//! domain would exceed `maxSkew` over the emptiest domain (respecting
//! `minDomains` and the node inclusion policies); `ScheduleAnyway`
//! constraints score emptier domains higher.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rkube_api::selector::SelectorError;

use super::taint_toleration::{find_untolerated, taints_of, tolerations_of};
use crate::framework::{
    ClusterEvents, Code, CycleState, FilterPlugin, MAX_NODE_SCORE, NodeInfo, NodeScore, Plugin,
    PodInfo, PreFilterExtensions, PreFilterPlugin, ScorePlugin, Snapshot, Status,
};
use crate::selectors::{Labels, RequiredNodeAffinity, Selector};

/// Plugin name.
pub const NAME: &str = "PodTopologySpread";
/// The skew would exceed `maxSkew`.
pub const REASON: &str = "node(s) didn't match pod topology spread constraints";
/// The node lacks a constraint's topology label.
pub const REASON_MISSING_LABEL: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";
const HOSTNAME: &str = "kubernetes.io/hostname";
const PRE_FILTER_KEY: &str = "PreFilterPodTopologySpread";
const PRE_SCORE_KEY: &str = "PreScorePodTopologySpread";

/// A compiled constraint.
#[derive(Clone, Debug)]
struct Constraint {
    max_skew: i64,
    topology_key: String,
    selector: Selector,
    min_domains: i64,
    honor_node_affinity: bool,
    honor_taints: bool,
}

impl Constraint {
    /// Whether the node counts for this constraint under its node inclusion policies.
    fn includes(&self, pod: &PodInfo, node: &NodeInfo, required: &RequiredNodeAffinity) -> bool {
        (!self.honor_node_affinity || required.matches(node.node()))
            && (!self.honor_taints
                || find_untolerated(taints_of(node), tolerations_of(pod)).is_none())
    }
}

fn constraints(pod: &PodInfo, action: &str) -> Result<Vec<Constraint>, SelectorError> {
    let list = pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_deref())
        .unwrap_or_default();
    let mut out = Vec::new();
    for c in list.iter().filter(|c| c.when_unsatisfiable == action) {
        let mut selector = Selector::new(c.label_selector.as_ref())?;
        selector.merge_keys(
            c.match_label_keys.as_deref().unwrap_or_default(),
            pod.labels(),
            false,
        )?;
        out.push(Constraint {
            max_skew: i64::from(c.max_skew),
            topology_key: c.topology_key.clone(),
            selector,
            min_domains: i64::from(c.min_domains.unwrap_or(1)),
            honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
            honor_taints: c.node_taints_policy.as_deref() == Some("Honor"),
        });
    }
    Ok(out)
}

fn has_all_keys(node_labels: &Labels, constraints: &[Constraint]) -> bool {
    constraints
        .iter()
        .all(|c| node_labels.contains_key(&c.topology_key))
}

/// `countPodsMatchSelector`: live pods of the namespace the selector picks (an empty selector picks none).
fn count_matching(pods: &[Arc<PodInfo>], selector: &Selector, namespace: &str) -> i64 {
    if selector.is_everything() {
        return 0;
    }
    pods.iter()
        .filter(|p| !p.terminating() && p.namespace == namespace && selector.matches(p.labels()))
        .count() as i64
}

/// Adds the live pods each constraint selects to the count of their node's domain, for domains already in
/// `counts` and nodes the constraint includes; visits each distinct label set once.
fn add_matching(
    snapshot: &Snapshot,
    pod: &PodInfo,
    constraints: &[Constraint],
    required: &RequiredNodeAffinity,
    counts: &mut [HashMap<String, i64>],
) {
    for (namespace, group_labels, group) in snapshot.pod_groups() {
        if namespace != pod.namespace {
            continue;
        }
        for (i, c) in constraints.iter().enumerate() {
            if c.selector.is_everything() || !c.selector.matches(group_labels) {
                continue;
            }
            for (name, (_, live)) in &group.per_node {
                let Some(node) = snapshot
                    .get(name)
                    .filter(|n| *live > 0 && has_all_keys(n.labels(), constraints))
                else {
                    continue;
                };
                if !c.includes(pod, node, required) {
                    continue;
                }
                if let Some(n) = node
                    .labels()
                    .get(&c.topology_key)
                    .and_then(|v| counts[i].get_mut(v))
                {
                    *n += i64::from(*live);
                }
            }
        }
    }
}

/// The two domains with the fewest matching pods (`criticalPaths`); `[0]` always holds the minimum.
#[derive(Clone, Debug)]
struct CriticalPaths([(String, i64); 2]);

impl CriticalPaths {
    fn new() -> CriticalPaths {
        CriticalPaths([
            (String::new(), i64::from(i32::MAX)),
            (String::new(), i64::from(i32::MAX)),
        ])
    }

    fn update(&mut self, value: &str, num: i64) {
        let p = &mut self.0;
        let at = if value == p[0].0 {
            Some(0)
        } else if value == p[1].0 {
            Some(1)
        } else {
            None
        };
        match at {
            Some(i) => {
                p[i].1 = num;
                if p[0].1 > p[1].1 {
                    p.swap(0, 1);
                }
            }
            None if num < p[0].1 => {
                p[1] = p[0].clone();
                p[0] = (value.to_string(), num);
            }
            None if num < p[1].1 => p[1] = (value.to_string(), num),
            None => {}
        }
    }
}

#[derive(Clone)]
struct PreFilterState {
    constraints: Arc<Vec<Constraint>>,
    required: Arc<RequiredNodeAffinity>,
    /// Per constraint: matching pods per topology value.
    counts: Vec<HashMap<String, i64>>,
    critical: Vec<CriticalPaths>,
    /// Per constraint: number of eligible domains (fixed for the cycle).
    domains: Vec<usize>,
}

impl PreFilterState {
    fn update(&mut self, pod: &PodInfo, changed: &PodInfo, node: &NodeInfo, delta: i64) {
        if changed.namespace != pod.namespace || !has_all_keys(node.labels(), &self.constraints) {
            return;
        }
        for (i, c) in self.constraints.iter().enumerate() {
            if !c.selector.matches(changed.labels()) || !c.includes(pod, node, &self.required) {
                continue;
            }
            let Some(value) = node.labels().get(&c.topology_key) else {
                continue;
            };
            let count = self.counts[i].entry(value.clone()).or_insert(0);
            *count += delta;
            let now = *count;
            self.critical[i].update(value, now);
        }
    }
}

/// The plugin.
pub struct PodTopologySpread;

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events(&self) -> ClusterEvents {
        ClusterEvents::NODE_ADD
            | ClusterEvents::NODE_DELETE
            | ClusterEvents::NODE_LABEL
            | ClusterEvents::NODE_TAINT
            | ClusterEvents::POD_ADD
            | ClusterEvents::POD_DELETE
            | ClusterEvents::POD_LABEL
    }
}

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> Status {
        let constraints = match constraints(pod, "DoNotSchedule") {
            Ok(c) if c.is_empty() => return Status::skip(),
            Ok(c) => c,
            Err(e) => {
                return Status::error(format!(
                    "obtaining pod's hard topology spread constraints: {e}"
                ));
            }
        };
        let required = RequiredNodeAffinity::of(&pod.pod);
        let mut counts: Vec<HashMap<String, i64>> = vec![HashMap::new(); constraints.len()];
        // One constraint that every node qualifies for: its domains are all values of its key.
        let every_node =
            |c: &Constraint| (required.is_empty() || !c.honor_node_affinity) && !c.honor_taints;
        if constraints.len() == 1 && every_node(&constraints[0]) {
            let domains = snapshot
                .domains(&constraints[0].topology_key)
                .into_iter()
                .flatten();
            counts[0].extend(domains.map(|(v, _)| (v.clone(), 0)));
        } else {
            for node in snapshot.nodes() {
                if !has_all_keys(node.labels(), &constraints) {
                    continue;
                }
                for (i, c) in constraints.iter().enumerate() {
                    let value = node
                        .labels()
                        .get(&c.topology_key)
                        .filter(|_| c.includes(pod, node, &required));
                    if let Some(value) = value.filter(|v| !counts[i].contains_key(*v)) {
                        counts[i].insert(value.clone(), 0);
                    }
                }
            }
        }
        add_matching(snapshot, pod, &constraints, &required, &mut counts);
        let critical = counts
            .iter()
            .map(|m| {
                let mut paths = CriticalPaths::new();
                for (v, n) in m {
                    paths.update(v, *n);
                }
                paths
            })
            .collect();
        let domains = counts.iter().map(HashMap::len).collect();
        state.write(
            PRE_FILTER_KEY,
            PreFilterState {
                constraints: Arc::new(constraints),
                required: Arc::new(required),
                counts,
                critical,
                domains,
            },
        );
        Status::success()
    }

    fn extensions(&self) -> Option<&dyn PreFilterExtensions> {
        Some(self)
    }
}

impl PreFilterExtensions for PodTopologySpread {
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

impl FilterPlugin for PodTopologySpread {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(s) = state.read::<PreFilterState>(PRE_FILTER_KEY) else {
            return Status::error("PodTopologySpread pre-filter state missing");
        };
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = node.labels().get(&c.topology_key) else {
                return Status::new(Code::UnschedulableAndUnresolvable, REASON_MISSING_LABEL);
            };
            let mut min = s.critical[i].0[0].1;
            if (s.domains[i] as i64) < c.min_domains {
                min = 0;
            }
            let own = i64::from(c.selector.matches(pod.labels()));
            let matching = s.counts[i].get(value).copied().unwrap_or(0);
            if matching + own - min > c.max_skew {
                return Status::new(Code::Unschedulable, REASON);
            }
        }
        Status::success()
    }
}

#[derive(Clone)]
struct PreScoreState {
    constraints: Arc<Vec<Constraint>>,
    ignored: Arc<HashSet<String>>,
    counts: Arc<Vec<HashMap<String, i64>>>,
    weights: Arc<Vec<f64>>,
}

impl ScorePlugin for PodTopologySpread {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        nodes: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> Status {
        let constraints = match constraints(pod, "ScheduleAnyway") {
            Ok(c) if c.is_empty() => return Status::skip(),
            Ok(c) => c,
            Err(e) => {
                return Status::error(format!(
                    "obtaining pod's soft topology spread constraints: {e}"
                ));
            }
        };
        let mut ignored = HashSet::new();
        let mut counts: Vec<HashMap<String, i64>> = vec![HashMap::new(); constraints.len()];
        for node in nodes {
            if !has_all_keys(node.labels(), &constraints) {
                ignored.insert(node.name().to_string());
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                let domain = node
                    .labels()
                    .get(&c.topology_key)
                    .filter(|_| c.topology_key != HOSTNAME);
                if let Some(v) = domain.filter(|v| !counts[i].contains_key(*v)) {
                    counts[i].insert(v.clone(), 0);
                }
            }
        }
        let weights = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let size = if c.topology_key == HOSTNAME {
                    nodes.len() - ignored.len()
                } else {
                    counts[i].len()
                };
                ((size + 2) as f64).ln()
            })
            .collect();
        let required = RequiredNodeAffinity::of(&pod.pod);
        add_matching(snapshot, pod, &constraints, &required, &mut counts);
        state.write(
            PRE_SCORE_KEY,
            PreScoreState {
                constraints: Arc::new(constraints),
                ignored: Arc::new(ignored),
                counts: Arc::new(counts),
                weights: Arc::new(weights),
            },
        );
        Status::success()
    }

    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let s = state
            .read::<PreScoreState>(PRE_SCORE_KEY)
            .ok_or_else(|| Status::error("PodTopologySpread pre-score state missing"))?;
        if s.ignored.contains(node.name()) {
            return Ok(0);
        }
        let mut score = 0.0;
        for (i, c) in s.constraints.iter().enumerate() {
            let Some(value) = node.labels().get(&c.topology_key) else {
                continue;
            };
            let count = if c.topology_key == HOSTNAME {
                count_matching(node.pods(), &c.selector, &pod.namespace)
            } else {
                s.counts[i].get(value).copied().unwrap_or(0)
            };
            score += count as f64 * s.weights[i] + (c.max_skew - 1) as f64;
        }
        Ok(score.round() as i64)
    }

    fn normalize(
        &self,
        state: &CycleState,
        _pod: &PodInfo,
        scores: &mut [NodeScore<'_>],
    ) -> Status {
        let Some(s) = state.read::<PreScoreState>(PRE_SCORE_KEY) else {
            return Status::success();
        };
        let counted = || scores.iter().filter(|x| !s.ignored.contains(x.node.name()));
        let min = counted().map(|x| x.score).min().unwrap_or(i64::MAX);
        let max = counted().map(|x| x.score).max().unwrap_or(0).max(0);
        for x in scores.iter_mut() {
            x.score = if s.ignored.contains(x.node.name()) {
                0
            } else if max == 0 {
                MAX_NODE_SCORE
            } else {
                MAX_NODE_SCORE * (max + min - x.score) / max
            };
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};
    use serde_json::json;

    fn spread(key: &str, skew: i32, when: &str) -> serde_json::Value {
        json!([{"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": when, "labelSelector": {"matchLabels": {"app": "web"}}}])
    }

    fn web(name: &str, node: &str) -> Arc<PodInfo> {
        pod(name).label("app", "web").on(node).info()
    }

    fn filter_all(p: &PodInfo, snapshot: &Snapshot) -> Vec<Status> {
        let mut state = CycleState::new();
        assert!(
            PodTopologySpread
                .pre_filter(&mut state, p, snapshot)
                .is_success()
        );
        snapshot
            .nodes()
            .iter()
            .map(|n| PodTopologySpread.filter(&state, p, n))
            .collect()
    }

    #[test]
    fn do_not_schedule_limits_skew_across_zones() {
        let snapshot = Snapshot::from_nodes(vec![
            node("a")
                .label("zone", "z1")
                .with_pods(vec![web("w1", "a"), web("w2", "a")]),
            node("b")
                .label("zone", "z2")
                .with_pods(vec![web("w3", "b")]),
            node("c").label("zone", "z3").with_pods(vec![]),
            node("d").with_pods(vec![]),
        ]);
        let p = pod("new")
            .label("app", "web")
            .spec(
                "topologySpreadConstraints",
                spread("zone", 1, "DoNotSchedule"),
            )
            .info();
        let r = filter_all(&p, &snapshot);
        assert_eq!(
            (r[0].code(), r[0].message().as_str()),
            (Code::Unschedulable, REASON)
        );
        assert_eq!(r[1].message(), REASON, "z2 would have 2 against 0 in z3");
        assert!(r[2].is_success());
        assert_eq!(
            (r[3].code(), r[3].message().as_str()),
            (Code::UnschedulableAndUnresolvable, REASON_MISSING_LABEL)
        );
    }

    #[test]
    fn min_domains_treats_the_global_minimum_as_zero() {
        let snapshot = Snapshot::from_nodes(vec![
            node("a")
                .label("zone", "z1")
                .with_pods(vec![web("w1", "a")]),
            node("b")
                .label("zone", "z2")
                .with_pods(vec![web("w2", "b")]),
        ]);
        let mut c = spread("zone", 1, "DoNotSchedule");
        c[0]["minDomains"] = json!(3);
        let p = pod("new")
            .label("app", "web")
            .spec("topologySpreadConstraints", c)
            .info();
        assert!(filter_all(&p, &snapshot).iter().all(|s| !s.is_success()));
        let p = pod("new")
            .label("app", "web")
            .spec(
                "topologySpreadConstraints",
                spread("zone", 1, "DoNotSchedule"),
            )
            .info();
        assert!(filter_all(&p, &snapshot).iter().all(Status::is_success));
    }

    #[test]
    fn node_affinity_policy_limits_the_domains() {
        let snapshot = Snapshot::from_nodes(vec![
            node("a")
                .label("zone", "z1")
                .label("pool", "x")
                .with_pods(vec![web("w1", "a")]),
            node("b").label("zone", "z2").with_pods(vec![]),
        ]);
        // Only z1 is eligible, so its count is also the minimum.
        let p = pod("new")
            .label("app", "web")
            .node_selector("pool", "x")
            .spec(
                "topologySpreadConstraints",
                spread("zone", 1, "DoNotSchedule"),
            )
            .info();
        assert!(filter_all(&p, &snapshot)[0].is_success());
        let mut c = spread("zone", 1, "DoNotSchedule");
        c[0]["nodeAffinityPolicy"] = json!("Ignore");
        let p = pod("new")
            .label("app", "web")
            .node_selector("pool", "x")
            .spec("topologySpreadConstraints", c)
            .info();
        assert!(!filter_all(&p, &snapshot)[0].is_success());
    }

    #[test]
    fn terminating_and_foreign_pods_do_not_count() {
        let snapshot = Snapshot::from_nodes(vec![
            node("a").label("zone", "z1").with_pods(vec![
                pod("gone").label("app", "web").on("a").terminating().info(),
                pod("other")
                    .label("app", "web")
                    .namespace("other")
                    .on("a")
                    .info(),
            ]),
            node("b").label("zone", "z2").with_pods(vec![]),
        ]);
        let p = pod("new")
            .label("app", "web")
            .spec(
                "topologySpreadConstraints",
                spread("zone", 0, "DoNotSchedule"),
            )
            .info();
        let r = filter_all(&p, &snapshot);
        assert!(
            !r[0].is_success() && !r[1].is_success(),
            "own pod alone makes skew 1 > 0"
        );
        let p = pod("new")
            .label("app", "web")
            .spec(
                "topologySpreadConstraints",
                spread("zone", 1, "DoNotSchedule"),
            )
            .info();
        assert!(filter_all(&p, &snapshot).iter().all(Status::is_success));
    }

    #[test]
    fn removal_in_a_simulation_updates_the_minimum() {
        let victim = web("w2", "b");
        let snapshot = Snapshot::from_nodes(vec![
            node("a")
                .label("zone", "z1")
                .with_pods(vec![web("w1", "a")]),
            node("b")
                .label("zone", "z2")
                .with_pods(vec![victim.clone(), web("w3", "b")]),
        ]);
        let p = pod("new")
            .label("app", "web")
            .spec(
                "topologySpreadConstraints",
                spread("zone", 1, "DoNotSchedule"),
            )
            .info();
        let mut state = CycleState::new();
        assert!(
            PodTopologySpread
                .pre_filter(&mut state, &p, &snapshot)
                .is_success()
        );
        let b = &snapshot.nodes()[1];
        assert!(!PodTopologySpread.filter(&state, &p, b).is_success());
        PodTopologySpread.remove_pod(&mut state, &p, &victim, b);
        assert!(PodTopologySpread.filter(&state, &p, b).is_success());
    }

    #[test]
    fn critical_paths_keep_the_two_smallest() {
        let mut c = CriticalPaths::new();
        for (v, n) in [("a", 3), ("b", 1), ("c", 2), ("d", 5)] {
            c.update(v, n);
        }
        assert_eq!(
            (c.0[0].0.as_str(), c.0[0].1, c.0[1].0.as_str(), c.0[1].1),
            ("b", 1, "c", 2)
        );
        c.update("b", 4);
        assert_eq!((c.0[0].0.as_str(), c.0[0].1), ("c", 2));
    }

    #[test]
    fn schedule_anyway_scores_emptier_domains_higher() {
        let snapshot = Snapshot::from_nodes(vec![
            node("a")
                .label("zone", "z1")
                .with_pods(vec![web("w1", "a"), web("w2", "a")]),
            node("b")
                .label("zone", "z2")
                .with_pods(vec![web("w3", "b")]),
            node("c").label("zone", "z3").with_pods(vec![]),
        ]);
        let p = pod("new")
            .label("app", "web")
            .spec(
                "topologySpreadConstraints",
                spread("zone", 1, "ScheduleAnyway"),
            )
            .info();
        let nodes: Vec<&NodeInfo> = snapshot.nodes().iter().map(|n| &**n).collect();
        let mut state = CycleState::new();
        assert!(
            PodTopologySpread
                .pre_score(&mut state, &p, &nodes, &snapshot)
                .is_success()
        );
        let mut scores: Vec<NodeScore<'_>> = nodes
            .iter()
            .map(|n| NodeScore {
                node: n,
                score: PodTopologySpread.score(&state, &p, n).unwrap_or(-1),
            })
            .collect();
        // weight ln(3+2) = 1.609: z1 2*1.609 = 3, z2 2, z3 0
        assert_eq!(
            scores.iter().map(|s| s.score).collect::<Vec<_>>(),
            vec![3, 2, 0]
        );
        PodTopologySpread.normalize(&state, &p, &mut scores);
        assert_eq!(
            scores.iter().map(|s| s.score).collect::<Vec<_>>(),
            vec![0, 33, 100]
        );
    }
}
