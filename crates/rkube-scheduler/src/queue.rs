//! The scheduling queue: pending pods ordered by the queue-sort plugin
//! (active), pods waiting out their back-off (1s doubling to 10s), and pods
//! that did not fit, parked until a cluster change one of their rejecting
//! plugins cares about (or five minutes) sends them back. When the active
//! queue is empty, pods moved by such a change are retried at once rather
//! than after their back-off (Kubernetes' `SchedulerPopFromBackoffQ`).
//! Pure data structure: time is passed in.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::framework::{ClusterEvents, PodInfo, QueueSortPlugin, QueuedPodInfo};

/// First retry delay after a failure (`podInitialBackoffDuration`).
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Longest retry delay (`podMaxBackoffDuration`).
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long a pod stays parked without a relevant event before it is retried anyway (checked on each tick).
pub const MAX_UNSCHEDULABLE: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Active,
    /// Waiting out back-off; `moved` when a cluster change (not an error) put it there.
    Backoff {
        moved: bool,
    },
    Unschedulable {
        since: Instant,
    },
    /// Popped and being scheduled or bound.
    InFlight,
    /// Has scheduling gates.
    Gated,
}

struct Entry {
    info: QueuedPodInfo,
    state: State,
    generation: u64,
    backoff_until: Option<Instant>,
    /// Cluster changes seen while the pod was in flight.
    events_in_flight: ClusterEvents,
}

struct Ordered {
    info: QueuedPodInfo,
    generation: u64,
    sort: Arc<dyn QueueSortPlugin>,
}

impl PartialEq for Ordered {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ordered {}
impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap pops the greatest: the pod that sorts first is the greatest.
        if self.sort.less(&self.info, &other.info) {
            Ordering::Greater
        } else if self.sort.less(&other.info, &self.info) {
            Ordering::Less
        } else {
            Ordering::Equal
        }
    }
}

/// Pending pods of this scheduler.
pub struct SchedulingQueue {
    sort: Arc<dyn QueueSortPlugin>,
    pods: HashMap<String, Entry>,
    active: BinaryHeap<Ordered>,
    backoff: BinaryHeap<Reverse<(Instant, u64, String)>>,
    /// Parked pods and since when, so cluster events only look at these.
    parked: HashMap<String, Instant>,
    /// Pods being scheduled or bound.
    in_flight: HashSet<String>,
    next_generation: u64,
}

fn gated(pod: &PodInfo) -> bool {
    pod.pod
        .spec
        .as_ref()
        .and_then(|s| s.scheduling_gates.as_ref())
        .is_some_and(|g| !g.is_empty())
}

/// Whether an update to a pending pod can change where it fits (anything but status and bookkeeping).
fn spec_changed(old: &PodInfo, new: &PodInfo) -> bool {
    old.pod.spec != new.pod.spec
        || old.pod.metadata.labels != new.pod.metadata.labels
        || old.priority != new.priority
}

/// Back-off after `attempts` failed attempts.
pub fn backoff_for(attempts: u32) -> Duration {
    let shift = attempts.saturating_sub(1).min(16);
    INITIAL_BACKOFF.saturating_mul(1 << shift).min(MAX_BACKOFF)
}

impl SchedulingQueue {
    /// An empty queue ordered by `sort`.
    pub fn new(sort: Arc<dyn QueueSortPlugin>) -> SchedulingQueue {
        SchedulingQueue {
            sort,
            pods: HashMap::new(),
            active: BinaryHeap::new(),
            backoff: BinaryHeap::new(),
            parked: HashMap::new(),
            in_flight: HashSet::new(),
            next_generation: 0,
        }
    }

    fn push_active(&mut self, key: &str, now: Instant) {
        self.parked.remove(key);
        self.next_generation += 1;
        let generation = self.next_generation;
        let Some(e) = self.pods.get_mut(key) else {
            return;
        };
        e.state = State::Active;
        e.generation = generation;
        e.info.timestamp = now;
        self.active.push(Ordered {
            info: e.info.clone(),
            generation,
            sort: self.sort.clone(),
        });
    }

    fn push_backoff(&mut self, key: &str, moved: bool) {
        self.parked.remove(key);
        self.next_generation += 1;
        let generation = self.next_generation;
        let Some(e) = self.pods.get_mut(key) else {
            return;
        };
        let until = e.backoff_until.unwrap_or_else(Instant::now);
        e.state = State::Backoff { moved };
        e.generation = generation;
        self.backoff
            .push(Reverse((until, generation, key.to_string())));
    }

    /// Sends a parked pod back: to back-off while it is still backing off, else to the active queue.
    fn reactivate(&mut self, key: &str, now: Instant) {
        let backing_off = self
            .pods
            .get(key)
            .and_then(|e| e.backoff_until)
            .is_some_and(|u| u > now);
        if backing_off {
            self.push_backoff(key, true)
        } else {
            self.push_active(key, now)
        }
    }

    /// Adds a pending pod, or updates the one already queued.
    pub fn add(&mut self, pod: Arc<PodInfo>, now: Instant) {
        let key = pod.key.clone();
        if let Some(e) = self.pods.get_mut(&key) {
            let changed = spec_changed(&e.info.pod, &pod);
            e.info.pod = pod.clone();
            match e.state {
                State::Gated if !gated(&pod) => self.push_active(&key, now),
                State::Unschedulable { .. } if changed => self.reactivate(&key, now),
                State::Active if changed => self.push_active(&key, now),
                _ => {}
            }
            return;
        }
        let state = if gated(&pod) {
            State::Gated
        } else {
            State::Active
        };
        let info = QueuedPodInfo {
            pod,
            timestamp: now,
            attempts: 0,
            initial_attempt: None,
            unschedulable_plugins: BTreeSet::new(),
        };
        self.pods.insert(
            key.clone(),
            Entry {
                info,
                state,
                generation: 0,
                backoff_until: None,
                events_in_flight: ClusterEvents::NONE,
            },
        );
        if state == State::Active {
            self.push_active(&key, now);
        }
    }

    /// Forgets a pod (deleted, bound elsewhere, or handed to another scheduler).
    pub fn delete(&mut self, key: &str) {
        self.pods.remove(key);
        self.parked.remove(key);
        self.in_flight.remove(key);
    }

    /// Whether the pod is queued (in any state).
    pub fn contains(&self, key: &str) -> bool {
        self.pods.contains_key(key)
    }

    /// The queued version of a pod.
    pub fn get(&self, key: &str) -> Option<&Arc<PodInfo>> {
        self.pods.get(key).map(|e| &e.info.pod)
    }

    /// Keys of every queued pod.
    pub fn keys(&self) -> Vec<String> {
        self.pods.keys().cloned().collect()
    }

    fn flush_backoff(&mut self, now: Instant) {
        while let Some(Reverse((until, generation, key))) = self.backoff.peek().cloned() {
            if until > now {
                break;
            }
            self.backoff.pop();
            let current = self.pods.get(&key).is_some_and(|e| {
                e.generation == generation && matches!(e.state, State::Backoff { .. })
            });
            if current {
                self.push_active(&key, now);
            }
        }
    }

    fn flush_unschedulable(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .parked
            .iter()
            .filter(|(_, since)| now.duration_since(**since) >= MAX_UNSCHEDULABLE)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            self.reactivate(&key, now);
        }
    }

    fn take(&mut self, key: &str, now: Instant) -> Option<QueuedPodInfo> {
        let e = self.pods.get_mut(key)?;
        e.state = State::InFlight;
        e.events_in_flight = ClusterEvents::NONE;
        self.in_flight.insert(key.to_string());
        e.info.attempts += 1;
        e.info.initial_attempt.get_or_insert(now);
        Some(e.info.clone())
    }

    /// The next pod to schedule, marked in flight.
    pub fn pop(&mut self, now: Instant) -> Option<QueuedPodInfo> {
        self.flush_backoff(now);
        while let Some(o) = self.active.pop() {
            let key = o.info.pod.key.clone();
            if self
                .pods
                .get(&key)
                .is_some_and(|e| e.generation == o.generation && e.state == State::Active)
            {
                return self.take(&key, now);
            }
        }
        // Idle: retry a pod a cluster change moved, without waiting out its back-off.
        let mut skipped = Vec::new();
        let mut found = None;
        while let Some(Reverse((until, generation, key))) = self.backoff.pop() {
            match self
                .pods
                .get(&key)
                .filter(|e| e.generation == generation)
                .map(|e| e.state)
            {
                Some(State::Backoff { moved: true }) => {
                    found = Some(key);
                    break;
                }
                Some(State::Backoff { moved: false }) => {
                    skipped.push(Reverse((until, generation, key)))
                }
                _ => {}
            }
        }
        self.backoff.extend(skipped);
        found.and_then(|key| self.take(&key, now))
    }

    /// The pod was bound: it leaves the queue.
    pub fn done(&mut self, key: &str) {
        if self
            .pods
            .get(key)
            .is_some_and(|e| e.state == State::InFlight)
        {
            self.pods.remove(key);
            self.in_flight.remove(key);
        }
    }

    /// The pod fit nowhere; park it until something `plugins` care about changes. `may_help` tells whether
    /// changes seen while it was in flight could already have helped (then it is retried after its back-off).
    pub fn unschedulable(
        &mut self,
        key: &str,
        plugins: BTreeSet<&'static str>,
        now: Instant,
        may_help: impl Fn(ClusterEvents, &BTreeSet<&'static str>) -> bool,
    ) {
        let Some(e) = self
            .pods
            .get_mut(key)
            .filter(|e| e.state == State::InFlight)
        else {
            return;
        };
        self.in_flight.remove(key);
        e.info.unschedulable_plugins = plugins;
        e.backoff_until = Some(now + backoff_for(e.info.attempts));
        if e.events_in_flight != ClusterEvents::NONE
            && may_help(e.events_in_flight, &e.info.unschedulable_plugins)
        {
            self.push_backoff(key, true);
        } else {
            e.state = State::Unschedulable { since: now };
            self.parked.insert(key.to_string(), now);
        }
    }

    /// Scheduling failed for a reason not the pod's; retry after the back-off.
    pub fn error(&mut self, key: &str, now: Instant) {
        let Some(e) = self
            .pods
            .get_mut(key)
            .filter(|e| e.state == State::InFlight)
        else {
            return;
        };
        self.in_flight.remove(key);
        e.backoff_until = Some(now + backoff_for(e.info.attempts));
        self.push_backoff(key, false);
    }

    /// A cluster change happened: every parked pod it may help goes back (`MoveAllToActiveOrBackoffQueue`),
    /// and pods in flight remember it.
    pub fn move_parked(
        &mut self,
        now: Instant,
        event: ClusterEvents,
        may_help: impl Fn(&QueuedPodInfo) -> bool,
    ) -> usize {
        for key in &self.in_flight {
            if let Some(e) = self.pods.get_mut(key) {
                e.events_in_flight = e.events_in_flight | event;
            }
        }
        let keys: Vec<String> = self
            .parked
            .keys()
            .filter(|k| self.pods.get(*k).is_some_and(|e| may_help(&e.info)))
            .cloned()
            .collect();
        for key in &keys {
            self.reactivate(key, now);
        }
        keys.len()
    }

    /// Periodic upkeep: parked pods past [`MAX_UNSCHEDULABLE`] are retried.
    pub fn tick(&mut self, now: Instant) {
        self.flush_unschedulable(now);
    }

    /// When the next back-off ends (parked pods expire through [`SchedulingQueue::tick`]).
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.backoff.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Counts of (active, backoff, parked, in flight) pods.
    pub fn stats(&self) -> (usize, usize, usize, usize) {
        let mut s = (0, 0, 0, 0);
        for e in self.pods.values() {
            match e.state {
                State::Active => s.0 += 1,
                State::Backoff { .. } => s.1 += 1,
                State::Unschedulable { .. } => s.2 += 1,
                State::InFlight => s.3 += 1,
                State::Gated => {}
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::priority_sort::PrioritySort;
    use crate::testing::pod;

    fn queue() -> SchedulingQueue {
        SchedulingQueue::new(Arc::new(PrioritySort))
    }

    fn any(_: ClusterEvents, _: &BTreeSet<&'static str>) -> bool {
        true
    }

    const E: ClusterEvents = ClusterEvents::NODE_ADD;

    fn popped(q: &mut SchedulingQueue, now: Instant) -> Option<String> {
        q.pop(now).map(|p| p.pod.name().to_string())
    }

    #[test]
    fn pops_by_priority_then_age() {
        let mut q = queue();
        let t = Instant::now();
        q.add(pod("old-low").priority(1).info(), t);
        q.add(
            pod("high").priority(10).info(),
            t + Duration::from_millis(1),
        );
        q.add(
            pod("new-low").priority(1).info(),
            t + Duration::from_millis(2),
        );
        assert_eq!(popped(&mut q, t), Some("high".into()));
        assert_eq!(popped(&mut q, t), Some("old-low".into()));
        assert_eq!(popped(&mut q, t), Some("new-low".into()));
        assert_eq!(popped(&mut q, t), None);
    }

    #[test]
    fn back_off_doubles_to_ten_seconds() {
        assert_eq!(backoff_for(1), Duration::from_secs(1));
        assert_eq!(backoff_for(2), Duration::from_secs(2));
        assert_eq!(backoff_for(4), Duration::from_secs(8));
        assert_eq!(backoff_for(5), Duration::from_secs(10));
        assert_eq!(backoff_for(50), Duration::from_secs(10));
    }

    #[test]
    fn errors_wait_out_their_back_off() {
        let mut q = queue();
        let t = Instant::now();
        q.add(pod("p").info(), t);
        assert!(q.pop(t).is_some());
        q.error("default/p", t);
        assert_eq!(
            popped(&mut q, t + Duration::from_millis(500)),
            None,
            "errors are not retried early"
        );
        assert_eq!(q.next_wakeup(), Some(t + Duration::from_secs(1)));
        assert_eq!(popped(&mut q, t + Duration::from_secs(1)), Some("p".into()));
        q.error("default/p", t);
        assert_eq!(popped(&mut q, t + Duration::from_millis(1999)), None);
        assert_eq!(popped(&mut q, t + Duration::from_secs(2)), Some("p".into()));
    }

    #[test]
    fn parked_pods_return_only_on_relevant_events() {
        let mut q = queue();
        let t = Instant::now();
        q.add(pod("p").info(), t);
        assert!(q.pop(t).is_some());
        q.unschedulable("default/p", BTreeSet::from(["NodeResourcesFit"]), t, any);
        assert_eq!(
            popped(&mut q, t + Duration::from_secs(30)),
            None,
            "parked, not retried on a timer"
        );
        assert_eq!(
            q.move_parked(t, E, |qp| qp
                .unschedulable_plugins
                .contains("TaintToleration")),
            0
        );
        assert_eq!(
            q.move_parked(t, E, |qp| qp
                .unschedulable_plugins
                .contains("NodeResourcesFit")),
            1
        );
        // Still backing off, but idle: retried at once.
        assert_eq!(
            popped(&mut q, t + Duration::from_millis(10)),
            Some("p".into())
        );
        q.unschedulable("default/p", BTreeSet::new(), t, any);
        q.tick(t + MAX_UNSCHEDULABLE);
        assert_eq!(popped(&mut q, t + MAX_UNSCHEDULABLE), Some("p".into()));
    }

    #[test]
    fn busy_queues_respect_back_off_of_moved_pods() {
        let mut q = queue();
        let t = Instant::now();
        q.add(pod("parked").info(), t);
        assert!(q.pop(t).is_some());
        q.unschedulable("default/parked", BTreeSet::new(), t, any);
        q.move_parked(t, E, |_| true);
        q.add(pod("fresh").info(), t);
        assert_eq!(popped(&mut q, t), Some("fresh".into()));
        assert_eq!(
            popped(&mut q, t + Duration::from_secs(1)),
            Some("parked".into())
        );
    }

    #[test]
    fn relevant_events_during_a_cycle_send_the_pod_to_back_off() {
        let mut q = queue();
        let t = Instant::now();
        q.add(pod("p").info(), t);
        q.add(pod("q").info(), t);
        assert!(q.pop(t).is_some() && q.pop(t).is_some());
        q.move_parked(t, ClusterEvents::POD_ADD, |_| true);
        let only_deletes =
            |e: ClusterEvents, _: &BTreeSet<&'static str>| e.intersects(ClusterEvents::POD_DELETE);
        q.unschedulable("default/p", BTreeSet::new(), t, only_deletes);
        assert_eq!(
            q.stats(),
            (0, 0, 1, 1),
            "an irrelevant event leaves it parked"
        );
        q.unschedulable("default/q", BTreeSet::new(), t, any);
        assert_eq!(q.stats(), (0, 1, 1, 0));
    }

    #[test]
    fn updates_gates_and_deletes() {
        let mut q = queue();
        let t = Instant::now();
        let gated = pod("g").spec("schedulingGates", serde_json::json!([{"name": "wait"}]));
        q.add(gated.info(), t);
        assert_eq!(popped(&mut q, t), None);
        q.add(pod("g").info(), t);
        assert_eq!(popped(&mut q, t), Some("g".into()));
        q.unschedulable("default/g", BTreeSet::from(["NodeAffinity"]), t, any);
        // A status-only update leaves it parked; a spec change retries it.
        q.add(pod("g").nominated("x").info(), t);
        assert_eq!(q.stats().2, 1);
        q.add(
            pod("g").node_selector("a", "b").info(),
            t + Duration::from_secs(2),
        );
        assert_eq!(popped(&mut q, t + Duration::from_secs(2)), Some("g".into()));
        q.done("default/g");
        assert!(!q.contains("default/g"));
        q.add(pod("d").info(), t);
        q.delete("default/d");
        assert_eq!(popped(&mut q, t), None);
    }
}
