//! A profile of plugins and the scheduling algorithm over it: pre-filter,
//! filter a rotating share of the nodes (with nominated pods counted),
//! score the feasible ones, pick the best (ties at random), and on failure
//! ask the post-filter plugins (preemption) what would help.

use std::collections::HashMap;
use std::sync::Arc;

use rand::Rng;

use super::diagnosis::{Diagnosis, FitError};
use super::nominations::Nominations;
use super::pod_info::PodInfo;
use super::snapshot::{NodeInfo, Snapshot};
use super::status::{Code, Status};
use super::{
    BindPlugin, ClusterEvents, CycleState, FilterPlugin, MAX_NODE_SCORE, NodeScore,
    PostFilterContext, PostFilterPlugin, PostFilterResult, PreFilterPlugin, QueueSortPlugin,
    ScorePlugin,
};

/// Below this many nodes every node is filtered; above, a share of them (`minFeasibleNodesToFind`).
const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// The smallest share of nodes searched for feasible ones, in percent.
const MIN_FEASIBLE_NODES_PERCENTAGE: usize = 5;

/// Why one attempt produced no node.
#[derive(Debug)]
pub enum ScheduleError {
    /// The cluster has no nodes.
    NoNodes,
    /// No node fits.
    Fit(Box<FitError>),
    /// A plugin failed; retried with back-off.
    Internal(String),
}

/// A scheduling profile: the plugins at each extension point.
pub struct Framework {
    queue_sort: Arc<dyn QueueSortPlugin>,
    pre_filter: Vec<Arc<dyn PreFilterPlugin>>,
    filter: Vec<Arc<dyn FilterPlugin>>,
    post_filter: Vec<Arc<dyn PostFilterPlugin>>,
    score: Vec<(Arc<dyn ScorePlugin>, i64)>,
    bind: Vec<Arc<dyn BindPlugin>>,
    events: HashMap<&'static str, ClusterEvents>,
    percentage_of_nodes_to_score: usize,
}

/// Assembles a [`Framework`].
pub struct FrameworkBuilder {
    fw: Framework,
}

impl FrameworkBuilder {
    fn register(&mut self, name: &'static str, events: ClusterEvents) {
        let entry = self.fw.events.entry(name).or_default();
        *entry = entry.union(events);
    }

    /// Adds a pre-filter plugin.
    pub fn pre_filter(mut self, p: Arc<dyn PreFilterPlugin>) -> Self {
        self.register(p.name(), p.events());
        self.fw.pre_filter.push(p);
        self
    }

    /// Adds a filter plugin (run in the order added; the first rejection counts).
    pub fn filter(mut self, p: Arc<dyn FilterPlugin>) -> Self {
        self.register(p.name(), p.events());
        self.fw.filter.push(p);
        self
    }

    /// Adds a post-filter plugin.
    pub fn post_filter(mut self, p: Arc<dyn PostFilterPlugin>) -> Self {
        self.fw.post_filter.push(p);
        self
    }

    /// Adds a score plugin with its weight.
    pub fn score(mut self, p: Arc<dyn ScorePlugin>, weight: i64) -> Self {
        self.fw.score.push((p, weight));
        self
    }

    /// Adds a bind plugin.
    pub fn bind(mut self, p: Arc<dyn BindPlugin>) -> Self {
        self.fw.bind.push(p);
        self
    }

    /// Searches this share of nodes (percent; 0 = Kubernetes' adaptive default).
    pub fn percentage_of_nodes_to_score(mut self, percent: usize) -> Self {
        self.fw.percentage_of_nodes_to_score = percent.min(100);
        self
    }

    /// The profile.
    pub fn build(self) -> Framework {
        self.fw
    }
}

impl Framework {
    /// Starts a profile with its queue-sort plugin.
    pub fn builder(queue_sort: Arc<dyn QueueSortPlugin>) -> FrameworkBuilder {
        FrameworkBuilder {
            fw: Framework {
                queue_sort,
                pre_filter: Vec::new(),
                filter: Vec::new(),
                post_filter: Vec::new(),
                score: Vec::new(),
                bind: Vec::new(),
                events: HashMap::new(),
                percentage_of_nodes_to_score: 0,
            },
        }
    }

    /// The queue-sort plugin.
    pub fn queue_sort(&self) -> Arc<dyn QueueSortPlugin> {
        self.queue_sort.clone()
    }

    /// Whether an event can help a pod rejected by `plugins` (an empty set: any event can).
    pub fn event_may_help<'a>(
        &self,
        event: ClusterEvents,
        plugins: impl IntoIterator<Item = &'a &'static str>,
    ) -> bool {
        let mut any = false;
        for p in plugins {
            any = true;
            if self.events.get(p).is_some_and(|e| e.intersects(event)) {
                return true;
            }
        }
        !any
    }

    /// `numFeasibleNodesToFind`: how many feasible nodes are enough to stop searching.
    pub fn num_feasible_nodes_to_find(&self, all: usize) -> usize {
        if all < MIN_FEASIBLE_NODES_TO_FIND {
            return all;
        }
        let mut percent = self.percentage_of_nodes_to_score;
        if percent == 0 {
            percent = 50usize
                .saturating_sub(all / 125)
                .max(MIN_FEASIBLE_NODES_PERCENTAGE);
        }
        (all * percent / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
    }

    /// Runs the pre-filter plugins; a rejection is returned with its plugin.
    pub fn run_pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> Status {
        for p in &self.pre_filter {
            let s = p.pre_filter(state, pod, snapshot);
            match s.code() {
                Code::Success => {}
                Code::Skip => state.skip_filter(p.name()),
                _ => return s.with_plugin(p.name()),
            }
        }
        Status::success()
    }

    /// Runs the filters on one node; the first rejection wins.
    pub fn run_filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        for p in &self.filter {
            if state.filter_skipped(p.name()) {
                continue;
            }
            let s = p.filter(state, pod, node);
            if !s.is_success() {
                return s.with_plugin(p.name());
            }
        }
        Status::success()
    }

    /// Tells the pre-filter extensions that `added` is now on `node`.
    pub fn run_add_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        added: &PodInfo,
        node: &NodeInfo,
    ) {
        for p in &self.pre_filter {
            if let (false, Some(ext)) = (state.filter_skipped(p.name()), p.extensions()) {
                ext.add_pod(state, pod, added, node);
            }
        }
    }

    /// Tells the pre-filter extensions that `removed` left `node`.
    pub fn run_remove_pod(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        removed: &PodInfo,
        node: &NodeInfo,
    ) {
        for p in &self.pre_filter {
            if let (false, Some(ext)) = (state.filter_skipped(p.name()), p.extensions()) {
                ext.remove_pod(state, pod, removed, node);
            }
        }
    }

    /// Filters with the pods nominated to the node (at least as important as `pod`) counted as if placed,
    /// and, when that passes, once more without them (`RunFilterPluginsWithNominatedPods`).
    pub fn run_filter_with_nominated(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        nominations: &Nominations,
    ) -> Status {
        if nominations.is_empty() {
            return self.run_filter(state, pod, node);
        }
        let nominated: Vec<&Arc<PodInfo>> = nominations
            .for_node(node.name())
            .iter()
            .filter(|p| p.key != pod.key && p.priority >= pod.priority)
            .collect();
        if nominated.is_empty() {
            return self.run_filter(state, pod, node);
        }
        let mut with_state = state.clone();
        let mut with_node = node.clone();
        for p in nominated {
            with_node.add_pod(p.clone());
            self.run_add_pod(&mut with_state, pod, p, &with_node);
        }
        let status = self.run_filter(&with_state, pod, &with_node);
        if !status.is_success() {
            return status;
        }
        self.run_filter(state, pod, node)
    }

    /// One scheduling attempt: the chosen node, or why there is none. `start` rotates over the nodes between attempts.
    pub fn schedule(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        nominations: &Nominations,
        start: &mut usize,
        rng: &mut impl Rng,
    ) -> Result<String, ScheduleError> {
        if let Some(why) = &pod.invalid {
            return Err(ScheduleError::Internal(why.clone()));
        }
        let all = snapshot.len();
        if all == 0 {
            return Err(ScheduleError::NoNodes);
        }
        let mut diagnosis = Diagnosis::default();
        let pre = self.run_pre_filter(state, pod, snapshot);
        if pre.code() == Code::Error {
            return Err(ScheduleError::Internal(pre.message()));
        }
        if pre.is_rejected() {
            diagnosis.pre_filter_msg = pre.message();
            diagnosis.unschedulable_plugins.insert(pre.plugin());
            diagnosis.absent = Some(pre);
            return Err(ScheduleError::Fit(Box::new(FitError {
                num_all_nodes: all,
                diagnosis,
            })));
        }
        // A pod that preempted tries its nominated node first.
        let nominated = Some(pod.nominated_node())
            .filter(|n| !n.is_empty())
            .and_then(|n| snapshot.get(n));
        if let Some(node) = nominated.filter(|n| {
            self.run_filter_with_nominated(state, pod, n, nominations)
                .is_success()
        }) {
            return Ok(node.name().to_string());
        }
        let wanted = self.num_feasible_nodes_to_find(all);
        let mut feasible: Vec<&NodeInfo> = Vec::new();
        let first = *start % all;
        let mut processed = 0;
        for i in 0..all {
            let index = (first + i) % all;
            let node = &snapshot.nodes()[index];
            processed += 1;
            let s = self.run_filter_with_nominated(state, pod, node, nominations);
            match s.code() {
                Code::Success | Code::Skip => {
                    feasible.push(node);
                    if feasible.len() >= wanted {
                        break;
                    }
                }
                Code::Error => {
                    return Err(ScheduleError::Internal(format!(
                        "running {}: {}",
                        s.plugin(),
                        s.message()
                    )));
                }
                _ => {
                    diagnosis.unschedulable_plugins.insert(s.plugin());
                    diagnosis.node_statuses.insert(index, s);
                }
            }
        }
        *start = (first + processed) % all;
        match feasible.len() {
            0 => Err(ScheduleError::Fit(Box::new(FitError {
                num_all_nodes: all,
                diagnosis,
            }))),
            1 => Ok(feasible[0].name().to_string()),
            _ => self.prioritize(state, pod, snapshot, &feasible, rng),
        }
    }

    fn prioritize(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
        feasible: &[&NodeInfo],
        rng: &mut impl Rng,
    ) -> Result<String, ScheduleError> {
        for (p, _) in &self.score {
            let s = p.pre_score(state, pod, feasible, snapshot);
            match s.code() {
                Code::Success => {}
                Code::Skip => state.skip_score(p.name()),
                _ => {
                    return Err(ScheduleError::Internal(format!(
                        "running PreScore {}: {}",
                        p.name(),
                        s.message()
                    )));
                }
            }
        }
        let mut totals = vec![0i64; feasible.len()];
        let mut scores: Vec<NodeScore<'_>> = Vec::with_capacity(feasible.len());
        for (p, weight) in &self.score {
            if state.score_skipped(p.name()) {
                continue;
            }
            scores.clear();
            for node in feasible {
                let score = p.score(state, pod, node).map_err(|s| {
                    ScheduleError::Internal(format!("running Score {}: {}", p.name(), s.message()))
                })?;
                scores.push(NodeScore { node, score });
            }
            let s = p.normalize(state, pod, &mut scores);
            if !s.is_success() {
                return Err(ScheduleError::Internal(format!(
                    "running NormalizeScore {}: {}",
                    p.name(),
                    s.message()
                )));
            }
            for (total, s) in totals.iter_mut().zip(&scores) {
                if !(0..=MAX_NODE_SCORE).contains(&s.score) {
                    return Err(ScheduleError::Internal(format!(
                        "plugin {} returns an invalid score {}, it should in the range of [0, {MAX_NODE_SCORE}] after normalizing",
                        p.name(),
                        s.score
                    )));
                }
                *total += s.score * weight;
            }
        }
        // Highest total wins; ties are broken uniformly at random (reservoir sampling).
        let mut best = 0;
        let mut ties = 0u32;
        for (i, total) in totals.iter().enumerate() {
            if *total > totals[best] {
                best = i;
                ties = 1;
            } else if *total == totals[best] {
                ties += 1;
                if rng.random_range(0..ties) == 0 {
                    best = i;
                }
            }
        }
        Ok(feasible[best].name().to_string())
    }

    /// Runs the post-filter plugins until one succeeds; returns its result (or the last one's).
    pub fn run_post_filter(&self, ctx: &PostFilterContext<'_>) -> Option<PostFilterResult> {
        let mut last = None;
        for p in &self.post_filter {
            let r = p.post_filter(ctx);
            let done = r.status.is_success() || r.status.code() == Code::Error;
            last = Some(r);
            if done {
                break;
            }
        }
        last
    }

    /// Binds with the first bind plugin that does not skip.
    pub async fn run_bind(&self, pod: &PodInfo, node: &str) -> Status {
        for p in &self.bind {
            let s = p.bind(pod, node).await;
            if s.code() != Code::Skip {
                return s.with_plugin(p.name());
            }
        }
        Status::error("no bind plugin bound the pod")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{Plugin, QueuedPodInfo};
    use crate::plugins::{self, priority_sort::PrioritySort};
    use crate::testing::{node, pod};
    use std::collections::BTreeSet;

    struct RejectAll;
    impl Plugin for RejectAll {
        fn name(&self) -> &'static str {
            "RejectAll"
        }
        fn events(&self) -> ClusterEvents {
            ClusterEvents::POD_DELETE
        }
    }
    impl PreFilterPlugin for RejectAll {
        fn pre_filter(&self, _: &mut CycleState, _: &PodInfo, _: &Snapshot) -> Status {
            Status::new(
                Code::UnschedulableAndUnresolvable,
                "pod has unbound immediate PersistentVolumeClaims",
            )
        }
    }

    struct PreferName(&'static str);
    impl Plugin for PreferName {
        fn name(&self) -> &'static str {
            "PreferName"
        }
    }
    impl ScorePlugin for PreferName {
        fn score(&self, _: &CycleState, _: &PodInfo, n: &NodeInfo) -> Result<i64, Status> {
            Ok(if n.name() == self.0 {
                MAX_NODE_SCORE
            } else {
                0
            })
        }
    }

    struct SkipBinder;
    impl Plugin for SkipBinder {
        fn name(&self) -> &'static str {
            "SkipBinder"
        }
    }
    #[async_trait::async_trait]
    impl BindPlugin for SkipBinder {
        async fn bind(&self, _: &PodInfo, _: &str) -> Status {
            Status::skip()
        }
    }

    fn schedule(fw: &Framework, p: &PodInfo, s: &Snapshot) -> Result<String, ScheduleError> {
        let (mut start, mut rng) = (0, rand::rng());
        fw.schedule(
            &mut CycleState::new(),
            p,
            s,
            &Nominations::default(),
            &mut start,
            &mut rng,
        )
    }

    #[test]
    fn share_of_nodes_searched_follows_kubernetes() {
        let fw = plugins::profile(Vec::new());
        assert_eq!(fw.num_feasible_nodes_to_find(50), 50);
        assert_eq!(fw.num_feasible_nodes_to_find(100), 100);
        assert_eq!(fw.num_feasible_nodes_to_find(1000), 420);
        assert_eq!(fw.num_feasible_nodes_to_find(5000), 500);
        assert_eq!(fw.num_feasible_nodes_to_find(20000), 1000);
        let fixed = Framework::builder(Arc::new(PrioritySort))
            .percentage_of_nodes_to_score(50)
            .build();
        assert_eq!(fixed.num_feasible_nodes_to_find(1000), 500);
    }

    #[test]
    fn first_rejecting_filter_is_reported_per_node() {
        let fw = plugins::profile(Vec::new());
        let s = Snapshot::from_nodes(vec![
            node("tainted-small")
                .cpu("1")
                .taint("k", "v", "NoSchedule")
                .with_pods(vec![]),
            node("small").cpu("1").with_pods(vec![]),
        ]);
        let Err(ScheduleError::Fit(fit)) = schedule(&fw, &pod("p").cpu("2").info(), &s) else {
            panic!("expected a fit error")
        };
        assert_eq!(
            fit.diagnosis.unschedulable_plugins,
            BTreeSet::from(["NodeResourcesFit", "TaintToleration"])
        );
        assert_eq!(
            fit.to_string(),
            "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {k: v}."
        );
        assert!(matches!(
            schedule(&fw, &pod("p").info(), &Snapshot::default()),
            Err(ScheduleError::NoNodes)
        ));
    }

    #[test]
    fn pre_filter_rejections_apply_to_every_node() {
        let fw = Framework::builder(Arc::new(PrioritySort))
            .pre_filter(Arc::new(RejectAll))
            .build();
        let s = Snapshot::from_nodes(vec![
            node("a").with_pods(vec![]),
            node("b").with_pods(vec![]),
        ]);
        let Err(ScheduleError::Fit(fit)) = schedule(&fw, &pod("p").info(), &s) else {
            panic!("expected a fit error")
        };
        assert_eq!(
            fit.to_string(),
            "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims."
        );
        assert_eq!(
            fit.diagnosis.status_of(1).map(Status::code),
            Some(Code::UnschedulableAndUnresolvable)
        );
        let plugins = BTreeSet::from(["RejectAll"]);
        assert!(fw.event_may_help(ClusterEvents::POD_DELETE, plugins.iter()));
        assert!(!fw.event_may_help(ClusterEvents::NODE_ADD, plugins.iter()));
        assert!(
            fw.event_may_help(ClusterEvents::NODE_ADD, BTreeSet::new().iter()),
            "no known rejector: any change may help"
        );
    }

    #[test]
    fn weighted_scores_pick_the_node_and_invalid_pods_error() {
        let fw = Framework::builder(Arc::new(PrioritySort))
            .score(Arc::new(PreferName("b")), 5)
            .build();
        let s = Snapshot::from_nodes(vec![
            node("a").with_pods(vec![]),
            node("b").with_pods(vec![]),
            node("c").with_pods(vec![]),
        ]);
        for _ in 0..5 {
            assert_eq!(
                schedule(&fw, &pod("p").info(), &s).ok().as_deref(),
                Some("b")
            );
        }
        let bad = pod("p").memory("lots").info();
        assert!(matches!(
            schedule(&fw, &bad, &s),
            Err(ScheduleError::Internal(_))
        ));
    }

    #[test]
    fn search_rotates_over_large_clusters() {
        let fw = plugins::profile(Vec::new());
        let s = Snapshot::from_nodes(
            (0..400)
                .map(|i| node(&format!("n{i:03}")).with_pods(vec![]))
                .collect(),
        );
        let (mut start, mut rng) = (0, rand::rng());
        let p = pod("p").info();
        assert!(
            fw.schedule(
                &mut CycleState::new(),
                &p,
                &s,
                &Nominations::default(),
                &mut start,
                &mut rng
            )
            .is_ok()
        );
        // 400 nodes: 50 - 3 = 47% -> stop after 188 feasible nodes, and start there next time.
        assert_eq!(start, 188);
        assert!(
            fw.schedule(
                &mut CycleState::new(),
                &p,
                &s,
                &Nominations::default(),
                &mut start,
                &mut rng
            )
            .is_ok()
        );
        assert_eq!(start, 376);
    }

    #[test]
    fn queue_sort_and_bind_plugins_are_exposed() {
        let fw = Framework::builder(Arc::new(PrioritySort))
            .bind(Arc::new(SkipBinder))
            .build();
        let qp = |name: &str, prio| QueuedPodInfo {
            pod: pod(name).priority(prio).info(),
            timestamp: std::time::Instant::now(),
            attempts: 0,
            initial_attempt: None,
            unschedulable_plugins: BTreeSet::new(),
        };
        assert!(fw.queue_sort().less(&qp("a", 2), &qp("b", 1)));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let s = rt.block_on(fw.run_bind(&pod("p").info(), "n"));
        assert_eq!(s.code(), Code::Error, "every bind plugin skipped");
    }
}
