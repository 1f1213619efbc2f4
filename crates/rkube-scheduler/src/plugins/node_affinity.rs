//! NodeAffinity: `nodeSelector` and required node affinity keep the pod off
//! nodes that do not match; preferred node affinity terms add their weight
//! to the nodes they match.

use std::sync::Arc;

use crate::framework::{
    ClusterEvents, Code, CycleState, FilterPlugin, NodeInfo, NodeScore, Plugin, PodInfo,
    PreFilterPlugin, ScorePlugin, Snapshot, Status, default_normalize,
};
use crate::selectors::{NodeSelectorTermMatcher, RequiredNodeAffinity};

/// Plugin name.
pub const NAME: &str = "NodeAffinity";
/// Kubernetes' reason.
pub const REASON: &str = "node(s) didn't match Pod's node affinity/selector";
const PRE_FILTER_KEY: &str = "PreFilterNodeAffinity";
const PRE_SCORE_KEY: &str = "PreScoreNodeAffinity";

/// The plugin.
pub struct NodeAffinity;

#[derive(Clone)]
struct Preferred(Arc<Vec<(NodeSelectorTermMatcher, i64)>>);

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events(&self) -> ClusterEvents {
        ClusterEvents::NODE_ADD | ClusterEvents::NODE_LABEL
    }
}

impl PreFilterPlugin for NodeAffinity {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, _snapshot: &Snapshot) -> Status {
        let required = RequiredNodeAffinity::of(&pod.pod);
        if required.is_empty() {
            return Status::skip();
        }
        state.write(PRE_FILTER_KEY, Arc::new(required));
        Status::success()
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Status {
        let Some(required) = state.read::<Arc<RequiredNodeAffinity>>(PRE_FILTER_KEY) else {
            return Status::error("NodeAffinity pre-filter state missing");
        };
        if required.matches(node.node()) {
            Status::success()
        } else {
            Status::new(Code::UnschedulableAndUnresolvable, REASON)
        }
    }
}

impl ScorePlugin for NodeAffinity {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[&NodeInfo],
        _snapshot: &Snapshot,
    ) -> Status {
        let terms: Vec<(NodeSelectorTermMatcher, i64)> = pod
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| {
                na.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .into_iter()
            .flatten()
            .filter(|t| t.weight != 0)
            .map(|t| {
                (
                    NodeSelectorTermMatcher::new(&t.preference),
                    i64::from(t.weight),
                )
            })
            .collect();
        if terms.is_empty() {
            return Status::skip();
        }
        state.write(PRE_SCORE_KEY, Preferred(Arc::new(terms)));
        Status::success()
    }

    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let terms = state
            .read::<Preferred>(PRE_SCORE_KEY)
            .ok_or_else(|| Status::error("NodeAffinity pre-score state missing"))?;
        Ok(terms
            .0
            .iter()
            .filter(|(t, _)| t.matches(node.node()))
            .map(|(_, w)| w)
            .sum())
    }

    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        scores: &mut [NodeScore<'_>],
    ) -> Status {
        default_normalize(scores, false);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};
    use serde_json::json;

    fn run_filter(p: &PodInfo, n: &NodeInfo) -> Status {
        let mut s = CycleState::new();
        match NodeAffinity
            .pre_filter(&mut s, p, &Snapshot::default())
            .code()
        {
            Code::Skip => Status::success(),
            _ => NodeAffinity.filter(&s, p, n),
        }
    }

    #[test]
    fn node_selector_and_required_affinity() {
        let ssd = node("a")
            .label("disk", "ssd")
            .label("zone", "z1")
            .with_pods(vec![]);
        let hdd = node("b")
            .label("disk", "hdd")
            .label("zone", "z1")
            .with_pods(vec![]);
        let p = pod("p").node_selector("disk", "ssd").info();
        assert!(run_filter(&p, &ssd).is_success());
        let r = run_filter(&p, &hdd);
        assert_eq!(
            (r.code(), r.message().as_str()),
            (Code::UnschedulableAndUnresolvable, REASON)
        );
        let p = pod("p")
            .spec("affinity", json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "disk", "operator": "NotIn", "values": ["ssd"]}]}
            ]}}}))
            .info();
        assert!(!run_filter(&p, &ssd).is_success());
        assert!(run_filter(&p, &hdd).is_success());
        assert!(run_filter(&pod("free").info(), &hdd).is_success());
    }

    #[test]
    fn preferred_terms_add_weights_and_normalize() {
        let a = node("a")
            .label("zone", "z1")
            .label("disk", "ssd")
            .with_pods(vec![]);
        let b = node("b").label("zone", "z1").with_pods(vec![]);
        let c = node("c").with_pods(vec![]);
        let p = pod("p")
            .spec("affinity", json!({"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}]}},
                {"weight": 30, "preference": {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}}
            ]}}))
            .info();
        let nodes = [&a, &b, &c];
        let mut state = CycleState::new();
        assert!(
            NodeAffinity
                .pre_score(&mut state, &p, &nodes, &Snapshot::default())
                .is_success()
        );
        let mut scores: Vec<NodeScore<'_>> = nodes
            .iter()
            .map(|n| NodeScore {
                node: n,
                score: NodeAffinity.score(&state, &p, n).unwrap_or(-1),
            })
            .collect();
        assert_eq!(
            scores.iter().map(|s| s.score).collect::<Vec<_>>(),
            vec![40, 10, 0]
        );
        NodeAffinity.normalize(&state, &p, &mut scores);
        assert_eq!(
            scores.iter().map(|s| s.score).collect::<Vec<_>>(),
            vec![100, 25, 0]
        );
        assert_eq!(
            NodeAffinity
                .pre_score(
                    &mut CycleState::new(),
                    &pod("q").info(),
                    &nodes,
                    &Snapshot::default()
                )
                .code(),
            Code::Skip
        );
    }
}
