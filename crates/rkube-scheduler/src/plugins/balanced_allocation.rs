//! NodeResourcesBalancedAllocation: prefers nodes where, with the pod
//! placed, cpu and memory would be used in similar proportions.

use crate::framework::{
    ClusterEvents, CycleState, MAX_NODE_SCORE, NodeInfo, Plugin, PodInfo, ScorePlugin, Snapshot,
    Status,
};
use crate::resource::{CPU, MEMORY};

/// Plugin name.
pub const NAME: &str = "NodeResourcesBalancedAllocation";

/// The plugin.
pub struct BalancedAllocation;

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
    fn events(&self) -> ClusterEvents {
        ClusterEvents::NONE
    }
}

/// `balancedResourceScorer`: 100 × (1 − standard deviation of the used fractions).
fn balanced(requested: &[i64], allocatable: &[i64]) -> i64 {
    let fractions: Vec<f64> = requested
        .iter()
        .zip(allocatable)
        .filter(|(_, a)| **a != 0)
        .map(|(r, a)| (*r as f64 / *a as f64).min(1.0))
        .collect();
    let std = match fractions.len() {
        0 | 1 => 0.0,
        2 => ((fractions[0] - fractions[1]) / 2.0).abs(),
        n => {
            let mean = fractions.iter().sum::<f64>() / n as f64;
            (fractions
                .iter()
                .map(|f| (f - mean) * (f - mean))
                .sum::<f64>()
                / n as f64)
                .sqrt()
        }
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

impl ScorePlugin for BalancedAllocation {
    fn pre_score(
        &self,
        _state: &mut CycleState,
        pod: &PodInfo,
        _nodes: &[&NodeInfo],
        _snapshot: &Snapshot,
    ) -> Status {
        let r = pod.resource();
        // Best-effort pods are not scored, so they do not all pile onto the same node.
        if r.milli_cpu == 0 && r.memory == 0 {
            Status::skip()
        } else {
            Status::success()
        }
    }

    fn score(&self, _state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let want = pod.resource();
        let used = node.requested();
        let alloc = node.allocatable();
        let requested = [
            used.get(CPU) + want.get(CPU),
            used.get(MEMORY) + want.get(MEMORY),
        ];
        let allocatable = [alloc.get(CPU), alloc.get(MEMORY)];
        Ok(balanced(&requested, &allocatable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;
    use crate::testing::{node, pod};

    #[test]
    fn equal_fractions_score_highest() {
        let s = CycleState::new();
        let n = node("n").cpu("4").memory("8Gi").with_pods(vec![]);
        assert_eq!(
            BalancedAllocation
                .score(&s, &pod("p").cpu("2").memory("4Gi").info(), &n)
                .ok(),
            Some(100)
        );
        // cpu 3/4, memory 1/8: std = |0.75-0.125|/2 = 0.3125 -> 68
        assert_eq!(
            BalancedAllocation
                .score(&s, &pod("p").cpu("3").memory("1Gi").info(), &n)
                .ok(),
            Some(68)
        );
        assert_eq!(balanced(&[1, 2, 3], &[4, 4, 4]), 79);
    }

    #[test]
    fn best_effort_pods_are_skipped() {
        let st = BalancedAllocation.pre_score(
            &mut CycleState::new(),
            &pod("p").info(),
            &[],
            &Snapshot::default(),
        );
        assert_eq!(st.code(), Code::Skip);
    }
}
