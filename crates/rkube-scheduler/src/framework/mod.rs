//! The scheduling framework: one trait per extension point (queue sort,
//! pre-filter, filter, post-filter, score with normalize, bind), the cycle
//! state plugins share within one attempt, the read-only snapshot they
//! look at, and the runtime that runs a profile of plugins over it.

mod cycle_state;
mod diagnosis;
mod nominations;
mod pod_info;
mod runtime;
mod snapshot;
mod status;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

pub use cycle_state::{CycleState, StateData};
pub use diagnosis::{Diagnosis, FitError, NO_NODES_MESSAGE};
pub use nominations::Nominations;
pub use pod_info::{
    AffinityTerm, HostPort, PodInfo, WeightedAffinityTerm, more_important, resolve_priority,
};
pub use runtime::{Framework, FrameworkBuilder, ScheduleError};
pub use snapshot::{HostPortInfo, NodeInfo, PodGroup, Snapshot, ready_status};
pub use status::{Code, Status};

/// The highest score a score plugin may give after normalizing.
pub const MAX_NODE_SCORE: i64 = 100;

/// Kinds of cluster change; a plugin lists those that can turn its rejection into a fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClusterEvents(u32);

impl ClusterEvents {
    /// Nothing.
    pub const NONE: ClusterEvents = ClusterEvents(0);
    /// A node appeared.
    pub const NODE_ADD: ClusterEvents = ClusterEvents(1);
    /// A node went away.
    pub const NODE_DELETE: ClusterEvents = ClusterEvents(1 << 1);
    /// A node's labels changed.
    pub const NODE_LABEL: ClusterEvents = ClusterEvents(1 << 2);
    /// A node's taints or `spec.unschedulable` changed.
    pub const NODE_TAINT: ClusterEvents = ClusterEvents(1 << 3);
    /// A node's allocatable resources changed.
    pub const NODE_ALLOCATABLE: ClusterEvents = ClusterEvents(1 << 4);
    /// A node's Ready condition changed.
    pub const NODE_CONDITION: ClusterEvents = ClusterEvents(1 << 5);
    /// A pod was bound to a node.
    pub const POD_ADD: ClusterEvents = ClusterEvents(1 << 6);
    /// A bound pod went away (or finished).
    pub const POD_DELETE: ClusterEvents = ClusterEvents(1 << 7);
    /// A bound pod's labels changed.
    pub const POD_LABEL: ClusterEvents = ClusterEvents(1 << 8);
    /// A bound pod's requests changed (in-place resize).
    pub const POD_RESIZE: ClusterEvents = ClusterEvents(1 << 9);
    /// Every kind.
    pub const ALL: ClusterEvents = ClusterEvents(u32::MAX);

    /// Both sets.
    pub const fn union(self, other: ClusterEvents) -> ClusterEvents {
        ClusterEvents(self.0 | other.0)
    }

    /// Whether the sets share a kind.
    pub fn intersects(self, other: ClusterEvents) -> bool {
        self.0 & other.0 != 0
    }
}

impl std::ops::BitOr for ClusterEvents {
    type Output = ClusterEvents;
    fn bitor(self, rhs: ClusterEvents) -> ClusterEvents {
        self.union(rhs)
    }
}

/// What every plugin has: a name, and the cluster changes that can undo its rejections.
pub trait Plugin: Send + Sync {
    /// The plugin's name (Kubernetes' name where there is one).
    fn name(&self) -> &'static str;
    /// Changes after which a pod this plugin rejected is worth retrying.
    fn events(&self) -> ClusterEvents {
        ClusterEvents::NONE
    }
}

/// A pod waiting in the scheduling queue.
#[derive(Clone, Debug)]
pub struct QueuedPodInfo {
    /// The pod.
    pub pod: Arc<PodInfo>,
    /// When it entered the queue (or was last moved into the active queue).
    pub timestamp: Instant,
    /// Scheduling attempts so far.
    pub attempts: u32,
    /// When it was first tried.
    pub initial_attempt: Option<Instant>,
    /// Plugins that rejected it last time.
    pub unschedulable_plugins: BTreeSet<&'static str>,
}

/// Orders the active queue: which pending pod is tried first.
pub trait QueueSortPlugin: Plugin {
    /// Whether `a` goes before `b`.
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool;
}

/// Runs once per cycle before filtering: precomputes, or rejects the pod outright.
pub trait PreFilterPlugin: Plugin {
    /// Computes cycle state; a rejection applies to every node.
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, snapshot: &Snapshot) -> Status;
    /// How to keep the precomputed state right when a simulation adds or removes pods.
    fn extensions(&self) -> Option<&dyn PreFilterExtensions> {
        None
    }
}

/// Updates pre-filter state for a pod added to or removed from a node in a simulation.
pub trait PreFilterExtensions: Send + Sync {
    /// `added` is now on `node`.
    fn add_pod(&self, state: &mut CycleState, pod: &PodInfo, added: &PodInfo, node: &NodeInfo);
    /// `removed` is no longer on `node`.
    fn remove_pod(&self, state: &mut CycleState, pod: &PodInfo, removed: &PodInfo, node: &NodeInfo);
}

/// Decides whether the pod may run on one node.
pub trait FilterPlugin: Plugin {
    /// Success, or why the node does not fit.
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
}

/// Everything a post-filter plugin may look at.
pub struct PostFilterContext<'a> {
    /// To run filters in simulations.
    pub framework: &'a Framework,
    /// The failed cycle's state.
    pub state: &'a CycleState,
    /// The pod that did not fit.
    pub pod: &'a PodInfo,
    /// The nodes.
    pub snapshot: &'a Snapshot,
    /// Why each node was rejected.
    pub diagnosis: &'a Diagnosis,
    /// Pods nominated to nodes.
    pub nominations: &'a Nominations,
    /// Where a search over nodes starts (spreads work between attempts).
    pub offset: usize,
}

/// Side effects a post-filter asks for; the scheduler carries them out.
#[derive(Debug)]
pub struct PostFilterResult {
    /// Success when the pod can fit once the actions are done; otherwise the reason.
    pub status: Status,
    /// `Some(node)` to set `status.nominatedNodeName`, `Some("")` to clear it, `None` to leave it.
    pub nominated_node: Option<String>,
    /// Pods to delete.
    pub victims: Vec<Arc<PodInfo>>,
    /// Lower-priority pods whose nomination to that node must be cleared.
    pub clear_nominations: Vec<Arc<PodInfo>>,
}

/// Runs when no node fits, to make one fit later (preemption).
pub trait PostFilterPlugin: Plugin {
    /// What to do about the pod that did not fit.
    fn post_filter(&self, ctx: &PostFilterContext<'_>) -> PostFilterResult;
}

/// A node's score from one plugin.
#[derive(Clone, Copy, Debug)]
pub struct NodeScore<'a> {
    /// The node.
    pub node: &'a NodeInfo,
    /// The score.
    pub score: i64,
}

/// Ranks feasible nodes.
pub trait ScorePlugin: Plugin {
    /// Precomputes over the feasible nodes; Skip leaves this plugin out of this cycle.
    fn pre_score(
        &self,
        _state: &mut CycleState,
        _pod: &PodInfo,
        _nodes: &[&NodeInfo],
        _snapshot: &Snapshot,
    ) -> Status {
        Status::success()
    }
    /// The raw score of one node.
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status>;
    /// Rescales raw scores into `0..=MAX_NODE_SCORE`; the default leaves them.
    fn normalize(
        &self,
        _state: &CycleState,
        _pod: &PodInfo,
        _scores: &mut [NodeScore<'_>],
    ) -> Status {
        Status::success()
    }
}

/// Binds a pod to its node; the first plugin not returning Skip decides.
#[async_trait::async_trait]
pub trait BindPlugin: Plugin {
    /// Writes the binding.
    async fn bind(&self, pod: &PodInfo, node: &str) -> Status;
}

/// `DefaultNormalizeScore`: scales to `0..=MAX_NODE_SCORE` by the maximum, optionally reversed.
pub fn default_normalize(scores: &mut [NodeScore<'_>], reverse: bool) {
    let max = scores.iter().map(|s| s.score).max().unwrap_or(0);
    if max == 0 {
        if reverse {
            for s in scores.iter_mut() {
                s.score = MAX_NODE_SCORE;
            }
        }
        return;
    }
    for s in scores.iter_mut() {
        let scaled = MAX_NODE_SCORE * s.score / max;
        s.score = if reverse {
            MAX_NODE_SCORE - scaled
        } else {
            scaled
        };
    }
}
