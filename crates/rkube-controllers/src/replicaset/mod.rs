//! The ReplicaSet controller: keep `spec.replicas` active pods matching each
//! ReplicaSet's selector, adopting orphans and releasing pods that no longer
//! match, and report what it sees in `status` (Kubernetes'
//! `pkg/controller/replicaset`).

pub mod expectations;
pub mod manage;
pub mod rank;
pub mod status;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use kube::core::Selector;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use self::expectations::{Expectations, PodId, Seen};
use crate::ownership::{self, Claim, controller_name, controller_of};
use crate::pod;

/// Why one reconcile of a ReplicaSet failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request to the API server failed.
    #[error("API request failed: {0}")]
    Api(#[from] kube::Error),
    /// The informers stopped (shutdown) before their caches were filled.
    #[error("the pod cache stopped before it was filled")]
    CacheGone,
    /// The ReplicaSet went away or is being deleted, so it may not adopt.
    #[error("{0}")]
    Adopt(String),
    /// Creating or deleting pods failed; the message is what the ReplicaFailure condition shows.
    #[error("{0}")]
    Manage(String),
}

/// What every reconcile shares.
pub struct Context {
    client: Client,
    pods: Store<Pod>,
    replica_sets: Store<ReplicaSet>,
    expectations: Arc<Mutex<Expectations>>,
}

/// The expectations, even if a panicking thread poisoned the lock (they stay consistent per call).
fn lock(m: &Mutex<Expectations>) -> MutexGuard<'_, Expectations> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reconcile ReplicaSets from the shared ReplicaSet and pod informers until `shutdown`.
pub async fn run(
    client: Client,
    replica_sets: (
        Store<ReplicaSet>,
        impl Stream<Item = Result<ReplicaSet, watcher::Error>> + Send + 'static,
    ),
    pods: (
        Store<Pod>,
        impl Stream<Item = Result<Pod, watcher::Error>> + Send + 'static,
    ),
    shutdown: CancellationToken,
) {
    let expectations = Arc::new(Mutex::new(Expectations::default()));
    let (rs_store, mapper_exp) = (replica_sets.0.clone(), expectations.clone());
    let ctx = Arc::new(Context {
        client,
        pods: pods.0,
        replica_sets: replica_sets.0.clone(),
        expectations,
    });
    Controller::for_stream(replica_sets.1, replica_sets.0)
        .watches_stream(pods.1, move |p: Pod| {
            replica_sets_for_pod(&rs_store, &mapper_exp, &p)
        })
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "replicaset reconcile failed");
            }
        })
        .await;
}

/// The ReplicaSets a pod change concerns: its controller, or for an orphan every ReplicaSet
/// that selects it. Also marks the pod as seen for its controller's expectations.
fn replica_sets_for_pod(
    rs_store: &Store<ReplicaSet>,
    exp: &Mutex<Expectations>,
    p: &Pod,
) -> Vec<ObjectRef<ReplicaSet>> {
    let ns = p.metadata.namespace.clone().unwrap_or_default();
    if let Some(name) = controller_name(&p.metadata, "apps", "ReplicaSet") {
        let uid = p.metadata.uid.as_deref().unwrap_or_default();
        lock(exp).observe(
            &format!("{ns}/{name}"),
            uid,
            p.metadata.deletion_timestamp.is_some(),
        );
        return vec![ObjectRef::new(name).within(&ns)];
    }
    if controller_of(&p.metadata).is_some() {
        return Vec::new();
    }
    rs_store
        .state()
        .iter()
        .filter(|rs| rs.metadata.namespace.as_deref() == Some(ns.as_str()))
        .filter(|rs| {
            let sel = ownership::selector(&rs.spec.selector);
            sel.is_some_and(|sel| ownership::matches(&sel, p.metadata.labels.as_ref()))
        })
        .map(|rs| ObjectRef::from_obj(rs.as_ref()))
        .collect()
}

fn error_policy(rs: Arc<ReplicaSet>, err: &Error, _ctx: Arc<Context>) -> Action {
    tracing::debug!(replicaset = %rs.name_any(), error = %err, "replicaset sync will be retried");
    Action::requeue(crate::retry_delay(
        matches!(err, Error::Api(e) if crate::is_conflict(e)),
    ))
}

async fn reconcile(rs: Arc<ReplicaSet>, ctx: Arc<Context>) -> Result<Action, Error> {
    ctx.pods
        .wait_until_ready()
        .await
        .map_err(|_| Error::CacheGone)?;
    ctx.replica_sets
        .wait_until_ready()
        .await
        .map_err(|_| Error::CacheGone)?;
    let ns = rs.metadata.namespace.clone().unwrap_or_default();
    let key = format!("{ns}/{}", rs.name_any());
    let Some(selector) = ownership::selector(&rs.spec.selector) else {
        tracing::warn!(replicaset = %key, "invalid selector; not managing pods");
        return Ok(Action::await_change());
    };
    let now = Timestamp::now();
    let in_namespace: Vec<Arc<Pod>> = ctx
        .pods
        .state()
        .into_iter()
        .filter(|p| p.metadata.namespace.as_deref() == Some(ns.as_str()))
        .collect();
    let owned = claim_pods(&ctx, &rs, &selector, &in_namespace).await?;
    let uid = rs.metadata.uid.as_deref().unwrap_or_default();
    let terminating = in_namespace
        .iter()
        .filter(|p| {
            pod::is_terminating(p) && controller_of(&p.metadata).is_some_and(|o| o.uid == uid)
        })
        .filter(|p| ownership::matches(&selector, p.metadata.labels.as_ref()))
        .count();
    let satisfied =
        lock(&ctx.expectations).satisfied(&key, Instant::now(), |id| seen(&ctx.pods, &ns, id));
    let manage_error = if satisfied && rs.metadata.deletion_timestamp.is_none() {
        manage::replicas(&ctx, &rs, &key, &owned, now).await.err()
    } else {
        None
    };
    let message = manage_error.as_ref().map(ToString::to_string);
    let next = status::calculate(&rs, &owned, terminating, message.as_deref(), now);
    update_status(&ctx, &rs, next).await?;
    if let Some(e) = manage_error {
        return Err(e);
    }
    Ok(match status::next_available_in(&rs, &owned, now) {
        Some(wait) => Action::requeue(wait + Duration::from_millis(100)),
        None => Action::await_change(),
    })
}

/// How the pod cache shows a pod this controller created or deleted.
fn seen(pods: &Store<Pod>, ns: &str, id: &PodId) -> Seen {
    match pods.get(&ObjectRef::new(&id.name).within(ns)) {
        Some(p) if p.metadata.uid.as_deref() == Some(id.uid.as_str()) => {
            if p.metadata.deletion_timestamp.is_some() {
                Seen::Terminating
            } else {
                Seen::Present
            }
        }
        _ => Seen::Absent,
    }
}

/// The active pods this ReplicaSet owns after adopting matching orphans and releasing owned
/// pods that no longer match (`PodControllerRefManager.ClaimPods`).
async fn claim_pods(
    ctx: &Context,
    rs: &ReplicaSet,
    selector: &Selector,
    pods: &[Arc<Pod>],
) -> Result<Vec<Arc<Pod>>, Error> {
    let uid = rs.metadata.uid.clone().unwrap_or_default();
    let deleting = rs.metadata.deletion_timestamp.is_some();
    let api: Api<Pod> = Api::namespaced(
        ctx.client.clone(),
        rs.metadata.namespace.as_deref().unwrap_or("default"),
    );
    let mut claimed = Vec::new();
    let mut adoption_checked = false;
    let mut failure = None;
    for p in pods.iter().filter(|p| pod::is_active(p)) {
        let selected = ownership::matches(selector, p.metadata.labels.as_ref());
        let result = match ownership::claim(&uid, deleting, &p.metadata, selected) {
            Claim::Owned => {
                claimed.push(p.clone());
                Ok(())
            }
            Claim::Ignore => Ok(()),
            Claim::Adopt => {
                if !adoption_checked {
                    recheck(ctx, rs).await?;
                    adoption_checked = true;
                }
                let owner = ownership::controller_ref("apps/v1", "ReplicaSet", &rs.metadata);
                let adopted = ownership::patch_owner(
                    &api,
                    &p.name_any(),
                    &ownership::adopt_patch(&p.metadata, owner),
                )
                .await;
                if adopted.is_ok() {
                    claimed.push(p.clone());
                }
                adopted
            }
            Claim::Release => {
                ownership::patch_owner(
                    &api,
                    &p.name_any(),
                    &ownership::release_patch(&p.metadata, &uid),
                )
                .await
            }
        };
        if let Err(e) = result {
            failure.get_or_insert(e);
        }
    }
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(claimed),
    }
}

/// Before adopting, make sure (with a fresh read) that the ReplicaSet still exists and is not
/// being deleted (`RecheckDeletionTimestamp`).
async fn recheck(ctx: &Context, rs: &ReplicaSet) -> Result<(), Error> {
    let api: Api<ReplicaSet> = Api::namespaced(
        ctx.client.clone(),
        rs.metadata.namespace.as_deref().unwrap_or("default"),
    );
    let fresh = api.get(&rs.name_any()).await?;
    let key = format!(
        "{}/{}",
        rs.metadata.namespace.as_deref().unwrap_or_default(),
        rs.name_any()
    );
    if fresh.metadata.uid != rs.metadata.uid {
        let (got, want) = (
            fresh.metadata.uid.unwrap_or_default(),
            rs.metadata.uid.clone().unwrap_or_default(),
        );
        return Err(Error::Adopt(format!(
            "original ReplicaSet {key} is gone: got uid {got}, wanted {want}"
        )));
    }
    if let Some(t) = fresh.metadata.deletion_timestamp {
        return Err(Error::Adopt(format!(
            "{key} has just been deleted at {}",
            t.0
        )));
    }
    Ok(())
}

/// Write `next` (with the observed generation) unless the ReplicaSet already reports it; one
/// retry on a fresh copy after a conflict.
async fn update_status(
    ctx: &Context,
    rs: &ReplicaSet,
    mut next: ReplicaSetStatus,
) -> Result<(), Error> {
    next.observed_generation = rs.metadata.generation;
    if rs.status.as_ref() == Some(&next) {
        return Ok(());
    }
    let api: Api<ReplicaSet> = Api::namespaced(
        ctx.client.clone(),
        rs.metadata.namespace.as_deref().unwrap_or("default"),
    );
    let mut updated = rs.clone();
    updated.status = Some(next.clone());
    match api
        .replace_status(&rs.name_any(), &PostParams::default(), &updated)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::is_conflict(&e) => {
            let mut fresh = api.get(&rs.name_any()).await?;
            fresh.status = Some(next);
            api.replace_status(&rs.name_any(), &PostParams::default(), &fresh)
                .await?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
