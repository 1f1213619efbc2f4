//! TaintToleration: a node's NoSchedule/NoExecute taints keep out pods that
//! do not tolerate them; untolerated PreferNoSchedule taints lower the
//! node's score.

use std::borrow::Cow;

use k8s_openapi::api::core::v1::{Taint, Toleration};

use crate::framework::{
    ClusterEvents, Code, CycleState, FilterPlugin, NodeInfo, NodeScore, Plugin, PodInfo,
    ScorePlugin, Snapshot, Status, default_normalize,
};

/// Plugin name.
pub const NAME: &str = "TaintToleration";
const PRE_SCORE_KEY: &str = "PreScoreTaintToleration";

/// The plugin.
pub struct TaintToleration;

/// `Toleration.ToleratesTaint`.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if t.effect
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != taint.effect)
    {
        return false;
    }
    if t.key
        .as_deref()
        .is_some_and(|k| !k.is_empty() && k != taint.key)
    {
        return false;
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

/// Whether any toleration tolerates the taint.
pub fn tolerated(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| tolerates(t, taint))
}

/// A pod's tolerations.
pub fn tolerations_of(pod: &PodInfo) -> &[Toleration] {
    pod.pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default()
}

/// A node's taints.
pub fn taints_of(node: &NodeInfo) -> &[Taint] {
    node.node()
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default()
}

/// Whether a taint keeps pods off a node (NoSchedule or NoExecute).
pub fn is_hard(taint: &Taint) -> bool {
    taint.effect == "NoSchedule" || taint.effect == "NoExecute"
}

/// The first hard taint of the node the pod does not tolerate.
pub fn find_untolerated<'a>(taints: &'a [Taint], tolerations: &[Toleration]) -> Option<&'a Taint> {
    taints
        .iter()
        .find(|t| is_hard(t) && !tolerated(tolerations, t))
}

/// The message Kubernetes gives for an untolerated taint.
pub fn untolerated_message(key: &str, value: &str) -> String {
    format!("node(s) had untolerated taint {{{key}: {value}}}")
}

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events(&self) -> ClusterEvents {
        ClusterEvents::NODE_ADD | ClusterEvents::NODE_TAINT
    }
}

impl FilterPlugin for TaintToleration {
    fn filter(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        match find_untolerated(taints_of(node), tolerations_of(pod)) {
            None => Status::success(),
            Some(t) => Status::new(
                Code::UnschedulableAndUnresolvable,
                Cow::Owned(untolerated_message(
                    &t.key,
                    t.value.as_deref().unwrap_or(""),
                )),
            ),
        }
    }
}

impl ScorePlugin for TaintToleration {
    fn pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[&NodeInfo],
        _snapshot: &Snapshot,
    ) -> Status {
        let prefer: Vec<Toleration> = tolerations_of(pod)
            .iter()
            .filter(|t| {
                matches!(
                    t.effect.as_deref(),
                    None | Some("") | Some("PreferNoSchedule")
                )
            })
            .cloned()
            .collect();
        state.write(PRE_SCORE_KEY, prefer);
        Status::success()
    }

    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let prefer = state
            .read::<Vec<Toleration>>(PRE_SCORE_KEY)
            .ok_or_else(|| Status::error("TaintToleration pre-score state missing"))?;
        let n = taints_of(node)
            .iter()
            .filter(|t| t.effect == "PreferNoSchedule" && !tolerated(prefer, t))
            .count();
        Ok(n as i64)
    }

    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        scores: &mut [NodeScore<'_>],
    ) -> Status {
        default_normalize(scores, true);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{node, pod};

    fn filter(n: crate::testing::NodeBuilder, p: crate::testing::PodBuilder) -> Status {
        TaintToleration.filter(&CycleState::new(), &p.info(), &n.with_pods(vec![]))
    }

    #[test]
    fn untolerated_hard_taints_reject_with_kubernetes_message() {
        let s = filter(
            node("n").taint("node-role.kubernetes.io/control-plane", "", "NoSchedule"),
            pod("p"),
        );
        assert_eq!(s.code(), Code::UnschedulableAndUnresolvable);
        assert_eq!(
            s.message(),
            "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
        );
        let s = filter(node("n").taint("dedicated", "gpu", "NoExecute"), pod("p"));
        assert_eq!(
            s.message(),
            "node(s) had untolerated taint {dedicated: gpu}"
        );
        assert!(filter(node("n").taint("soft", "", "PreferNoSchedule"), pod("p")).is_success());
    }

    #[test]
    fn tolerations_match_key_value_effect_and_operator() {
        let n = || node("n").taint("dedicated", "gpu", "NoSchedule");
        assert!(
            filter(
                n(),
                pod("p").toleration("dedicated", "Equal", "gpu", "NoSchedule")
            )
            .is_success()
        );
        assert!(filter(n(), pod("p").toleration("dedicated", "Exists", "", "")).is_success());
        assert!(filter(n(), pod("p").toleration("", "Exists", "", "")).is_success());
        assert!(
            !filter(
                n(),
                pod("p").toleration("dedicated", "Equal", "cpu", "NoSchedule")
            )
            .is_success()
        );
        assert!(
            !filter(
                n(),
                pod("p").toleration("dedicated", "Equal", "gpu", "NoExecute")
            )
            .is_success()
        );
    }

    #[test]
    fn prefer_no_schedule_taints_lower_the_score() {
        let clean = node("a").with_pods(vec![]);
        let soft = node("b")
            .taint("x", "", "PreferNoSchedule")
            .taint("y", "", "PreferNoSchedule")
            .with_pods(vec![]);
        let p = pod("p")
            .toleration("y", "Exists", "", "PreferNoSchedule")
            .info();
        let mut state = CycleState::new();
        let nodes = [&clean, &soft];
        assert!(
            TaintToleration
                .pre_score(&mut state, &p, &nodes, &Snapshot::default())
                .is_success()
        );
        let mut scores: Vec<NodeScore<'_>> = nodes
            .iter()
            .map(|n| NodeScore {
                node: n,
                score: TaintToleration.score(&state, &p, n).unwrap_or(-1),
            })
            .collect();
        assert_eq!(scores[1].score, 1);
        TaintToleration.normalize(&state, &p, &mut scores);
        assert_eq!((scores[0].score, scores[1].score), (100, 0));
    }
}
