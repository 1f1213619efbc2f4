//! The scheduler loop: reflectors over pods, nodes, namespaces and
//! PriorityClasses feed the cache and the queue; one pod at a time is
//! scheduled against the snapshot, assumed on its node and bound in the
//! background; failures are reported on the pod (PodScheduled=False and a
//! FailedScheduling event) and may trigger preemption.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::{self, EventNote, SCHEDULER_NAME};
use crate::binder::DefaultBinder;
use crate::cache::Cache;
use crate::framework::{
    ClusterEvents, CycleState, Framework, NO_NODES_MESSAGE, Nominations, PodInfo,
    PostFilterContext, QueuedPodInfo, ScheduleError, Status, ready_status, resolve_priority,
};
use crate::plugins::{self, default_preemption::PREEMPTION_REASON};
use crate::queue::SchedulingQueue;
use crate::selectors::labels;

/// Watch events and binding results waiting for the loop.
const CHANNEL: usize = 4096;
/// Messages handled before the next scheduling cycle, so events cannot starve scheduling.
const DRAIN_BATCH: usize = 1024;
/// Bindings written at once.
const CONCURRENT_BINDS: usize = 64;
/// Status and event writes at once.
const CONCURRENT_WRITES: usize = 32;
/// How often parked pods are checked for expiry (`flushUnschedulablePodsLeftover`).
const TICK: Duration = Duration::from_secs(30);

/// What the loop reacts to.
enum Msg {
    Pod(Box<watcher::Event<Pod>>),
    Node(Box<watcher::Event<Node>>),
    Namespace(Box<watcher::Event<Namespace>>),
    PriorityClass(Box<watcher::Event<PriorityClass>>),
    Bound {
        key: String,
        uid: String,
        status: Status,
    },
}

/// The last FailedScheduling event of a pod, so repeats bump its count.
struct FailureEvent {
    name: String,
    message: String,
    count: i32,
}

/// Keys seen during a relist, to drop what disappeared meanwhile.
#[derive(Default)]
struct Relist {
    pods: Option<HashSet<String>>,
    nodes: Option<HashSet<String>>,
    namespaces: Option<HashSet<String>>,
    classes: Option<HashMap<String, (i32, bool)>>,
}

#[derive(Default)]
struct Synced {
    pods: bool,
    nodes: bool,
    namespaces: bool,
    classes: bool,
}

struct Scheduler {
    client: Client,
    framework: Arc<Framework>,
    cache: Cache,
    queue: SchedulingQueue,
    nominations: Nominations,
    classes: HashMap<String, (i32, bool)>,
    pods: Store<Pod>,
    nodes: Store<Node>,
    failures: HashMap<String, FailureEvent>,
    start: usize,
    rng: StdRng,
    tx: mpsc::Sender<Msg>,
    binds: Arc<Semaphore>,
    writes: Arc<Semaphore>,
    relist: Relist,
    synced: Synced,
    instance: String,
}

/// The reflector's copy of an object when it is this very version (one copy in memory), else the object itself.
fn shared<K>(store: &Store<K>, obj: K) -> Arc<K>
where
    K: Resource<DynamicType = ()> + Clone,
{
    match store.get(&ObjectRef::from_obj(&obj)) {
        Some(stored) if stored.meta().resource_version == obj.meta().resource_version => stored,
        _ => Arc::new(obj),
    }
}

fn key_of(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

fn bound_node(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

fn is_ours(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.scheduler_name.as_deref())
        .is_none_or(|n| n.is_empty() || n == SCHEDULER_NAME)
}

/// A node's taints and whether it is cordoned.
fn node_taints(n: &Node) -> (&[k8s_openapi::api::core::v1::Taint], bool) {
    let spec = n.spec.as_ref();
    (
        spec.and_then(|s| s.taints.as_deref()).unwrap_or_default(),
        spec.and_then(|s| s.unschedulable).unwrap_or(false),
    )
}

/// Which scheduling-relevant parts of a node changed.
fn node_changes(old: &Node, new: &Node) -> ClusterEvents {
    let mut e = ClusterEvents::NONE;
    if old.metadata.labels != new.metadata.labels {
        e = e | ClusterEvents::NODE_LABEL;
    }
    if node_taints(old) != node_taints(new) {
        e = e | ClusterEvents::NODE_TAINT;
    }
    if old.status.as_ref().and_then(|s| s.allocatable.as_ref())
        != new.status.as_ref().and_then(|s| s.allocatable.as_ref())
    {
        e = e | ClusterEvents::NODE_ALLOCATABLE;
    }
    if ready_status(old) != ready_status(new) {
        e = e | ClusterEvents::NODE_CONDITION;
    }
    e
}

impl Scheduler {
    fn synced(&self) -> bool {
        self.synced.pods && self.synced.nodes && self.synced.namespaces && self.synced.classes
    }

    fn priority_of(&self, pod: &Pod) -> i32 {
        let global = self
            .classes
            .values()
            .filter(|(_, g)| *g)
            .map(|(v, _)| *v)
            .max();
        resolve_priority(pod, |name| self.classes.get(name).map(|(v, _)| *v), global)
    }

    /// A cluster change: parked pods it may help go back to the queue.
    fn cluster_event(&mut self, event: ClusterEvents) {
        let fw = &self.framework;
        let moved = self.queue.move_parked(Instant::now(), event, |qp| {
            fw.event_may_help(event, qp.unschedulable_plugins.iter())
        });
        if moved > 0 {
            tracing::debug!(?event, moved, "cluster change requeued pods");
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Pod(e) => self.on_pod_event(*e),
            Msg::Node(e) => self.on_node_event(*e),
            Msg::Namespace(e) => self.on_namespace_event(*e),
            Msg::PriorityClass(e) => self.on_class_event(*e),
            Msg::Bound { key, uid, status } => self.on_bound(key, uid, status),
        }
    }

    fn on_pod_event(&mut self, e: watcher::Event<Pod>) {
        match e {
            watcher::Event::Apply(p) => self.on_pod(p),
            watcher::Event::Delete(p) => self.on_pod_gone(&key_of(&p)),
            watcher::Event::Init => self.relist.pods = Some(HashSet::new()),
            watcher::Event::InitApply(p) => {
                if let Some(seen) = self.relist.pods.as_mut() {
                    seen.insert(key_of(&p));
                }
                self.on_pod(p);
            }
            watcher::Event::InitDone => {
                let seen = self.relist.pods.take().unwrap_or_default();
                let mut known: HashSet<String> = self.cache.pod_keys().into_iter().collect();
                known.extend(self.queue.keys());
                for key in known.difference(&seen) {
                    self.on_pod_gone(key);
                }
                self.synced.pods = true;
            }
        }
    }

    fn on_pod(&mut self, pod: Pod) {
        let pod = shared(&self.pods, pod);
        let key = key_of(&pod);
        let priority = self.priority_of(&pod);
        if bound_node(&pod).is_some() {
            self.queue.delete(&key);
            self.nominations.remove(&key);
            self.failures.remove(&key);
            if is_terminal(&pod) {
                if self.cache.remove_pod(&key).is_some() {
                    self.cluster_event(ClusterEvents::POD_DELETE);
                }
                return;
            }
            let was_assumed = self.cache.is_assumed(&key);
            let info = Arc::new(PodInfo::new(pod, priority));
            let event = match self.cache.add_pod(info.clone()) {
                None => ClusterEvents::POD_ADD,
                Some(_) if was_assumed => ClusterEvents::POD_ADD,
                Some(old) => {
                    let mut e = ClusterEvents::NONE;
                    if old.pod.metadata.labels != info.pod.metadata.labels {
                        e = e | ClusterEvents::POD_LABEL;
                    }
                    if old.requests != info.requests {
                        e = e | ClusterEvents::POD_RESIZE;
                    }
                    e
                }
            };
            if event != ClusterEvents::NONE {
                self.cluster_event(event);
            }
            return;
        }
        if !is_ours(&pod) || pod.metadata.deletion_timestamp.is_some() || is_terminal(&pod) {
            self.queue.delete(&key);
            self.nominations.remove(&key);
            return;
        }
        if self.cache.is_assumed(&key) && !self.queue.contains(&key) {
            // Bound by us a moment ago; this is an older version still in the watch.
            return;
        }
        let info = Arc::new(PodInfo::new(pod, priority));
        let before = self
            .queue
            .get(&key)
            .map(|p| p.nominated_node().to_string())
            .unwrap_or_default();
        let now_nominated = info.nominated_node().to_string();
        if !now_nominated.is_empty() {
            self.nominations.add(info.clone(), &now_nominated);
        } else if !before.is_empty() {
            self.nominations.remove(&key);
        } else if let Some(node) = self.nominations.node_of(&key).map(str::to_string) {
            // Nominated in memory by preemption; the status write has not come back yet.
            self.nominations.add(info.clone(), &node);
        }
        self.queue.add(info, Instant::now());
    }

    fn on_pod_gone(&mut self, key: &str) {
        self.queue.delete(key);
        self.nominations.remove(key);
        self.failures.remove(key);
        if self.cache.remove_pod(key).is_some() {
            self.cluster_event(ClusterEvents::POD_DELETE);
        }
    }

    fn on_node_event(&mut self, e: watcher::Event<Node>) {
        match e {
            watcher::Event::Apply(n) => self.on_node(n),
            watcher::Event::Delete(n) => {
                self.on_node_gone(n.metadata.name.as_deref().unwrap_or_default())
            }
            watcher::Event::Init => self.relist.nodes = Some(HashSet::new()),
            watcher::Event::InitApply(n) => {
                if let Some(seen) = self.relist.nodes.as_mut() {
                    seen.insert(n.metadata.name.clone().unwrap_or_default());
                }
                self.on_node(n);
            }
            watcher::Event::InitDone => {
                let seen = self.relist.nodes.take().unwrap_or_default();
                for name in self.cache.node_names() {
                    if !seen.contains(&name) {
                        self.on_node_gone(&name);
                    }
                }
                self.synced.nodes = true;
            }
        }
    }

    fn on_node(&mut self, node: Node) {
        let node = shared(&self.nodes, node);
        let name = node.metadata.name.clone().unwrap_or_default();
        let event = match self.cache.node(&name) {
            None => ClusterEvents::NODE_ADD,
            Some(old) => node_changes(old.node(), &node),
        };
        self.cache.upsert_node(node);
        if event != ClusterEvents::NONE {
            self.cluster_event(event);
        }
    }

    fn on_node_gone(&mut self, name: &str) {
        if self.cache.node(name).is_some() {
            self.cache.remove_node(name);
            self.cluster_event(ClusterEvents::NODE_DELETE);
        }
    }

    fn on_namespace_event(&mut self, e: watcher::Event<Namespace>) {
        match e {
            watcher::Event::Apply(ns) => self.cache.set_namespace(
                ns.metadata.name.clone().unwrap_or_default(),
                labels(&ns.metadata).clone(),
            ),
            watcher::Event::Delete(ns) => self
                .cache
                .remove_namespace(ns.metadata.name.as_deref().unwrap_or_default()),
            watcher::Event::Init => self.relist.namespaces = Some(HashSet::new()),
            watcher::Event::InitApply(ns) => {
                let name = ns.metadata.name.clone().unwrap_or_default();
                if let Some(seen) = self.relist.namespaces.as_mut() {
                    seen.insert(name.clone());
                }
                self.cache.set_namespace(name, labels(&ns.metadata).clone());
            }
            watcher::Event::InitDone => {
                let seen = self.relist.namespaces.take().unwrap_or_default();
                for name in self.cache.namespace_names() {
                    if !seen.contains(&name) {
                        self.cache.remove_namespace(&name);
                    }
                }
                self.synced.namespaces = true;
            }
        }
    }

    fn on_class_event(&mut self, e: watcher::Event<PriorityClass>) {
        let entry = |c: &PriorityClass| {
            (
                c.metadata.name.clone().unwrap_or_default(),
                (c.value.unwrap_or(0), c.global_default.unwrap_or(false)),
            )
        };
        match e {
            watcher::Event::Apply(c) => {
                let (name, v) = entry(&c);
                self.classes.insert(name, v);
            }
            watcher::Event::Delete(c) => {
                self.classes
                    .remove(c.metadata.name.as_deref().unwrap_or_default());
            }
            watcher::Event::Init => self.relist.classes = Some(HashMap::new()),
            watcher::Event::InitApply(c) => {
                if let Some(staged) = self.relist.classes.as_mut() {
                    let (name, v) = entry(&c);
                    staged.insert(name, v);
                }
            }
            watcher::Event::InitDone => {
                self.classes = self.relist.classes.take().unwrap_or_default();
                self.synced.classes = true;
            }
        }
    }

    /// One scheduling cycle for one pod.
    fn schedule_one(&mut self, qp: QueuedPodInfo) {
        let pod = qp.pod;
        let mut state = CycleState::new();
        let result = self.framework.schedule(
            &mut state,
            &pod,
            self.cache.snapshot(),
            &self.nominations,
            &mut self.start,
            &mut self.rng,
        );
        let now = Instant::now();
        match result {
            Ok(node) => {
                tracing::debug!(pod = %pod.key, %node, attempts = qp.attempts, "scheduled");
                self.nominations.remove(&pod.key);
                self.cache.assume(pod.clone(), &node);
                self.spawn_bind(pod, node);
            }
            Err(ScheduleError::Fit(mut fit)) => {
                let offset = self.rng.random_range(0..usize::MAX);
                let result = self.framework.run_post_filter(&PostFilterContext {
                    framework: &self.framework,
                    state: &state,
                    pod: &pod,
                    snapshot: self.cache.snapshot(),
                    diagnosis: &fit.diagnosis,
                    nominations: &self.nominations,
                    offset,
                });
                let mut nominated = None;
                if let Some(r) = result {
                    if !r.status.is_success() {
                        fit.diagnosis.post_filter_msg = r.status.message();
                    }
                    match r.nominated_node.as_deref() {
                        Some("") => self.nominations.remove(&pod.key),
                        Some(node) => self.nominations.add(pod.clone(), node),
                        None => {}
                    }
                    for p in &r.clear_nominations {
                        self.nominations.remove(&p.key);
                    }
                    if let Some(node) = r
                        .nominated_node
                        .as_deref()
                        .filter(|n| !n.is_empty() && !r.victims.is_empty())
                    {
                        tracing::info!(pod = %pod.key, node, victims = r.victims.len(), "preempting lower-priority pods");
                        self.spawn_preemption(
                            pod.clone(),
                            node.to_string(),
                            r.victims,
                            r.clear_nominations,
                        );
                    }
                    nominated = r.nominated_node;
                }
                let message = fit.to_string();
                tracing::debug!(pod = %pod.key, %message, "unschedulable");
                let fw = &self.framework;
                self.queue.unschedulable(
                    &pod.key,
                    fit.diagnosis.unschedulable_plugins,
                    now,
                    |e, p| fw.event_may_help(e, p.iter()),
                );
                self.report_failure(&pod, "Unschedulable", message, nominated.as_deref());
            }
            Err(ScheduleError::NoNodes) => {
                self.nominations.remove(&pod.key);
                self.queue
                    .unschedulable(&pod.key, BTreeSet::new(), now, |e, _| {
                        e != ClusterEvents::NONE
                    });
                self.report_failure(
                    &pod,
                    "Unschedulable",
                    NO_NODES_MESSAGE.to_string(),
                    Some(""),
                );
            }
            Err(ScheduleError::Internal(why)) => {
                tracing::warn!(pod = %pod.key, error = %why, "scheduling failed");
                self.queue.error(&pod.key, now);
                self.report_failure(&pod, "SchedulerError", why, None);
            }
        }
    }

    fn spawn_bind(&self, pod: Arc<PodInfo>, node: String) {
        let fw = self.framework.clone();
        let tx = self.tx.clone();
        let permits = self.binds.clone();
        let client = self.client.clone();
        let instance = self.instance.clone();
        tokio::spawn(async move {
            let status = match permits.acquire_owned().await {
                Ok(_permit) => fw.run_bind(&pod, &node).await,
                Err(_) => Status::error("scheduler shutting down"),
            };
            let ok = status.is_success();
            let _ = tx
                .send(Msg::Bound {
                    key: pod.key.clone(),
                    uid: pod.uid.clone(),
                    status,
                })
                .await;
            if ok {
                let note = EventNote {
                    type_: "Normal",
                    reason: "Scheduled",
                    action: "Binding",
                    message: format!("Successfully assigned {} to {node}", pod.key),
                };
                let ev = api::event(&pod.pod, note, jiff::Timestamp::now(), &instance);
                if let Err(e) = api::create_event(&client, &ev).await {
                    tracing::debug!(pod = %pod.key, error = %e, "recording Scheduled event");
                }
            }
        });
    }

    fn on_bound(&mut self, key: String, uid: String, status: Status) {
        if status.is_success() {
            self.queue.done(&key);
            self.failures.remove(&key);
            return;
        }
        if self.cache.forget(&key) {
            self.cluster_event(ClusterEvents::POD_DELETE);
        }
        let (ns, name) = key.split_once('/').unwrap_or(("", key.as_str()));
        let current = self.pods.get(&ObjectRef::new(name).within(ns));
        let still_pending = current.is_some_and(|p| {
            p.metadata.uid.as_deref() == Some(uid.as_str())
                && bound_node(&p).is_none()
                && p.metadata.deletion_timestamp.is_none()
        });
        if !still_pending {
            self.queue.delete(&key);
            return;
        }
        tracing::warn!(pod = %key, error = %status.message(), "binding failed");
        self.queue.error(&key, Instant::now());
        if let Some(pod) = self.queue.get(&key).cloned() {
            self.report_failure(
                &pod,
                "SchedulerError",
                format!("binding rejected: {}", status.message()),
                None,
            );
        }
    }

    /// PodScheduled=False on the pod, and a FailedScheduling event (repeats counted on the last one).
    fn report_failure(
        &mut self,
        pod: &Arc<PodInfo>,
        reason: &str,
        message: String,
        nominated: Option<&str>,
    ) {
        let now = jiff::Timestamp::now();
        let condition = api::unschedulable_condition(&pod.pod, reason, &message);
        let patch = api::condition_patch(&pod.pod, condition, nominated, now);
        let repeat = match self.failures.get_mut(&pod.key) {
            Some(f) if f.message == message => {
                f.count += 1;
                Some((f.name.clone(), f.count))
            }
            _ => None,
        };
        let event = if repeat.is_none() {
            let note = EventNote {
                type_: "Warning",
                reason: "FailedScheduling",
                action: "Scheduling",
                message: message.clone(),
            };
            let ev = api::event(&pod.pod, note, now, &self.instance);
            let name = ev.metadata.name.clone().unwrap_or_default();
            self.failures.insert(
                pod.key.clone(),
                FailureEvent {
                    name,
                    message,
                    count: 1,
                },
            );
            Some(ev)
        } else {
            None
        };
        let client = self.client.clone();
        let permits = self.writes.clone();
        let (ns, key, version) = (pod.namespace.clone(), pod.key.clone(), pod.pod.clone());
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            if let Some(patch) = patch
                && let Err(e) = api::patch_pending_pod_status(&client, &version, &patch).await
            {
                tracing::debug!(pod = %key, error = %e, "updating PodScheduled");
            }
            let result = match (event, repeat) {
                (Some(ev), _) => api::create_event(&client, &ev).await,
                (None, Some((event_name, count))) => {
                    api::repeat_event(&client, &ns, &event_name, count, now).await
                }
                (None, None) => Ok(()),
            };
            if let Err(e) = result {
                tracing::debug!(pod = %key, error = %e, "recording FailedScheduling event");
            }
        });
    }

    /// Deletes the victims (marked DisruptionTarget first) and clears lower nominations, in the background.
    fn spawn_preemption(
        &self,
        preemptor: Arc<PodInfo>,
        node: String,
        victims: Vec<Arc<PodInfo>>,
        clear: Vec<Arc<PodInfo>>,
    ) {
        let client = self.client.clone();
        let instance = self.instance.clone();
        tokio::spawn(async move {
            let now = jiff::Timestamp::now();
            let evict = victims.iter().map(|v| {
                let client = client.clone();
                let instance = instance.clone();
                let preemptor = preemptor.clone();
                let node = node.clone();
                async move {
                    let condition = api::preempted_condition(&v.pod, PREEMPTION_REASON);
                    if let Some(patch) = api::condition_patch(&v.pod, condition, None, now)
                        && let Err(e) =
                            api::patch_pod_status(&client, &v.namespace, v.name(), &patch).await
                    {
                        tracing::debug!(pod = %v.key, error = %e, "marking preemption victim");
                    }
                    if let Err(e) = api::delete_pod(&client, &v.namespace, v.name(), &v.uid).await {
                        tracing::warn!(pod = %v.key, error = %e, "deleting preemption victim");
                        return;
                    }
                    let note = EventNote {
                        type_: "Normal",
                        reason: "Preempted",
                        action: "Preempting",
                        message: format!("Preempted by pod {} on node {node}", preemptor.uid),
                    };
                    if let Err(e) =
                        api::create_event(&client, &api::event(&v.pod, note, now, &instance)).await
                    {
                        tracing::debug!(pod = %v.key, error = %e, "recording Preempted event");
                    }
                }
            });
            futures::future::join_all(evict).await;
            for p in clear {
                let patch = serde_json::json!({"status": {"nominatedNodeName": null}});
                if let Err(e) = api::patch_pod_status(&client, &p.namespace, p.name(), &patch).await
                {
                    tracing::debug!(pod = %p.key, error = %e, "clearing nominated node");
                }
            }
        });
    }
}

/// Runs a reflector over all objects of `K`, forwarding its events to the loop.
fn watch<K>(
    client: &Client,
    wrap: fn(watcher::Event<K>) -> Msg,
    tx: mpsc::Sender<Msg>,
    stop: CancellationToken,
) -> (Store<K>, JoinHandle<()>)
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + k8s_openapi::serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    let api: Api<K> = Api::all(client.clone());
    let stream = reflector::reflector(
        writer,
        watcher::watcher(api, watcher::Config::default()).default_backoff(),
    );
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream.take_until(stop.cancelled_owned()));
        while let Some(event) = stream.next().await {
            match event {
                Ok(e) => {
                    if tx.send(wrap(e)).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(kind = %K::kind(&()), error = %e, "watch failed; retrying")
                }
            }
        }
    });
    (store, task)
}

/// Schedules pods until `shutdown` is cancelled.
pub async fn run(client: Client, shutdown: CancellationToken) {
    let (tx, mut rx) = mpsc::channel(CHANNEL);
    let (pods, pod_task) = watch::<Pod>(
        &client,
        |e| Msg::Pod(Box::new(e)),
        tx.clone(),
        shutdown.clone(),
    );
    let (nodes, node_task) = watch::<Node>(
        &client,
        |e| Msg::Node(Box::new(e)),
        tx.clone(),
        shutdown.clone(),
    );
    let (_, ns_task) = watch::<Namespace>(
        &client,
        |e| Msg::Namespace(Box::new(e)),
        tx.clone(),
        shutdown.clone(),
    );
    let (_, class_task) = watch::<PriorityClass>(
        &client,
        |e| Msg::PriorityClass(Box::new(e)),
        tx.clone(),
        shutdown.clone(),
    );
    let framework = Arc::new(plugins::profile(vec![Arc::new(DefaultBinder::new(
        client.clone(),
    ))]));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let mut s = Scheduler {
        queue: SchedulingQueue::new(framework.queue_sort()),
        framework,
        client,
        cache: Cache::new(),
        nominations: Nominations::default(),
        classes: HashMap::new(),
        pods,
        nodes,
        failures: HashMap::new(),
        start: 0,
        rng: StdRng::from_os_rng(),
        tx,
        binds: Arc::new(Semaphore::new(CONCURRENT_BINDS)),
        writes: Arc::new(Semaphore::new(CONCURRENT_WRITES)),
        relist: Relist::default(),
        synced: Synced::default(),
        instance: format!("{SCHEDULER_NAME}-{host}"),
    };
    tracing::info!("scheduler started");
    let mut next_tick = Instant::now() + TICK;
    loop {
        for _ in 0..DRAIN_BATCH {
            match rx.try_recv() {
                Ok(m) => s.handle(m),
                Err(_) => break,
            }
        }
        let now = Instant::now();
        if now >= next_tick {
            s.queue.tick(now);
            next_tick = now + TICK;
        }
        if s.synced()
            && let Some(qp) = s.queue.pop(now)
        {
            s.schedule_one(qp);
            tokio::task::yield_now().await;
            continue;
        }
        let wake = s
            .queue
            .next_wakeup()
            .map_or(next_tick, |t| t.min(next_tick));
        tokio::select! {
            _ = shutdown.cancelled() => break,
            m = rx.recv() => match m {
                Some(m) => s.handle(m),
                None => break,
            },
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
        }
    }
    for t in [pod_task, node_task, ns_task, class_task] {
        t.abort();
    }
    tracing::info!("scheduler stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::node;

    #[test]
    fn node_updates_are_classified_by_what_scheduling_looks_at() {
        let base = node("n").cpu("4").label("zone", "a").build();
        let same = node("n").cpu("4").label("zone", "a").build();
        assert_eq!(
            node_changes(&base, &same),
            ClusterEvents::NONE,
            "a heartbeat-only update is not an event"
        );
        let relabelled = node("n").cpu("4").label("zone", "b").build();
        assert_eq!(node_changes(&base, &relabelled), ClusterEvents::NODE_LABEL);
        let bigger = node("n").cpu("8").label("zone", "a").build();
        assert_eq!(
            node_changes(&base, &bigger),
            ClusterEvents::NODE_ALLOCATABLE
        );
        let cordoned = node("n")
            .cpu("4")
            .label("zone", "a")
            .unschedulable()
            .taint("k", "v", "NoSchedule")
            .build();
        assert_eq!(node_changes(&base, &cordoned), ClusterEvents::NODE_TAINT);
        let down = node("n").cpu("4").label("zone", "a").ready("False").build();
        assert_eq!(node_changes(&base, &down), ClusterEvents::NODE_CONDITION);
    }

    #[test]
    fn pod_helpers() {
        let p: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"containers": [], "schedulerName": "other", "nodeName": ""},
            "status": {"phase": "Failed"}
        }))
        .expect("pod");
        assert_eq!(key_of(&p), "ns/p");
        assert!(!is_ours(&p) && is_terminal(&p) && bound_node(&p).is_none());
    }
}
