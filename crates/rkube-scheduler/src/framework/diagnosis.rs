//! Why a pod fits nowhere, summarized exactly as kube-scheduler's
//! `FitError.Error()` does: `0/3 nodes are available: 1 Insufficient cpu,
//! 2 node(s) had untolerated taint {k: v}. preemption: ...`.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use super::status::Status;

/// What the scheduler says when there are no nodes at all (`ErrNoNodesAvailable`).
pub const NO_NODES_MESSAGE: &str = "no nodes available to schedule pods";

/// The per-node verdicts of one failed attempt.
#[derive(Clone, Debug, Default)]
pub struct Diagnosis {
    /// Status of each evaluated node, by its index in the snapshot.
    pub node_statuses: HashMap<usize, Status>,
    /// Status of every node not in `node_statuses` (a pre-filter rejection applies to all).
    pub absent: Option<Status>,
    /// Plugins that rejected the pod somewhere.
    pub unschedulable_plugins: BTreeSet<&'static str>,
    /// A pre-filter's rejection message.
    pub pre_filter_msg: String,
    /// What the post-filter (preemption) reported.
    pub post_filter_msg: String,
}

impl Diagnosis {
    /// The status of the node at `index`.
    pub fn status_of(&self, index: usize) -> Option<&Status> {
        self.node_statuses.get(&index).or(self.absent.as_ref())
    }
}

/// A pod that fits on none of `num_all_nodes` nodes.
#[derive(Clone, Debug)]
pub struct FitError {
    /// Nodes considered.
    pub num_all_nodes: usize,
    /// Why.
    pub diagnosis: Diagnosis,
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.diagnosis;
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        if !d.pre_filter_msg.is_empty() {
            write!(f, " {}.", d.pre_filter_msg)?;
        } else {
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for status in d.node_statuses.values() {
                for r in status.reasons() {
                    *counts.entry(r.as_ref()).or_default() += 1;
                }
            }
            let missing = self.num_all_nodes.saturating_sub(d.node_statuses.len());
            if let (Some(absent), true) = (&d.absent, missing > 0) {
                for r in absent.reasons() {
                    *counts.entry(r.as_ref()).or_default() += missing;
                }
            }
            let mut parts: Vec<String> = counts
                .into_iter()
                .map(|(r, n)| format!("{n} {r}"))
                .collect();
            // Go's sort.Strings: plain byte order, so "10 x" sorts before "2 y".
            parts.sort();
            if !parts.is_empty() {
                write!(f, " {}.", parts.join(", "))?;
            }
        }
        if !d.post_filter_msg.is_empty() {
            write!(f, " {}", d.post_filter_msg)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::status::Code;
    use super::*;

    #[test]
    fn reasons_are_counted_and_sorted_as_strings() {
        let mut d = Diagnosis::default();
        d.node_statuses
            .insert(0, Status::new(Code::Unschedulable, "Insufficient cpu"));
        let taint = "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }";
        d.node_statuses
            .insert(1, Status::new(Code::UnschedulableAndUnresolvable, taint));
        d.node_statuses
            .insert(2, Status::new(Code::UnschedulableAndUnresolvable, taint));
        d.post_filter_msg =
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
                .into();
        let e = FitError {
            num_all_nodes: 3,
            diagnosis: d,
        };
        assert_eq!(
            e.to_string(),
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn several_reasons_per_node_and_byte_order() {
        let mut d = Diagnosis::default();
        for i in 0..10 {
            d.node_statuses.insert(
                i,
                Status::with_reasons(
                    Code::Unschedulable,
                    vec!["Insufficient memory".into(), "Insufficient cpu".into()],
                ),
            );
        }
        d.node_statuses
            .insert(10, Status::new(Code::Unschedulable, "Too many pods"));
        d.node_statuses
            .insert(11, Status::new(Code::Unschedulable, "Too many pods"));
        let e = FitError {
            num_all_nodes: 12,
            diagnosis: d,
        };
        assert_eq!(
            e.to_string(),
            "0/12 nodes are available: 10 Insufficient cpu, 10 Insufficient memory, 2 Too many pods."
        );
    }

    #[test]
    fn pre_filter_message_replaces_the_histogram_and_absent_nodes_count() {
        let d = Diagnosis {
            pre_filter_msg: "pod has unbound immediate PersistentVolumeClaims".into(),
            ..Default::default()
        };
        assert_eq!(
            FitError {
                num_all_nodes: 2,
                diagnosis: d
            }
            .to_string(),
            "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims."
        );
        let mut d = Diagnosis {
            absent: Some(Status::new(
                Code::UnschedulableAndUnresolvable,
                "Preemption is not helpful for scheduling",
            )),
            ..Default::default()
        };
        d.node_statuses.insert(
            0,
            Status::new(
                Code::Unschedulable,
                "No preemption victims found for incoming pod",
            ),
        );
        assert_eq!(
            FitError {
                num_all_nodes: 3,
                diagnosis: d
            }
            .to_string(),
            "0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
        );
    }
}
