//! The Deployment controller: roll each Deployment's pod template out
//! through ReplicaSets, one per revision, with the RollingUpdate or Recreate
//! strategy, and report progress the way Kubernetes does
//! (`pkg/controller/deployment`). Rollbacks need nothing here: kubectl
//! performs `rollout undo` by patching the Deployment's template.

pub mod revision;
pub mod rollout;
pub mod status;
mod strategy;
mod sync;

use std::sync::Arc;

use futures::{Stream, StreamExt};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use self::sync::DeploymentSync;
use crate::ownership::{self, controller_name, controller_of};

/// Why one sync of a Deployment failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request to the API server failed.
    #[error("API request failed: {0}")]
    Api(#[from] kube::Error),
    /// The informers stopped (shutdown) before their caches were filled.
    #[error("the ReplicaSet or pod cache stopped before it was filled")]
    CacheGone,
    /// The Deployment went away or is being deleted, so it may not adopt.
    #[error("{0}")]
    Adopt(String),
    /// The selector cannot be parsed.
    #[error("deployment {0}: invalid label selector")]
    Selector(String),
    /// The new ReplicaSet's name is taken by another template; the next try uses a new hash.
    #[error("hash collision creating ReplicaSet {0}; collisionCount raised")]
    HashCollision(String),
    /// A rolling update found no new ReplicaSet after creating it.
    #[error("deployment {0}: no new ReplicaSet")]
    NoNewReplicaSet(String),
    /// The strategy's parameters cannot be resolved.
    #[error(transparent)]
    Rollout(#[from] rollout::Error),
}

/// What every sync shares.
pub struct Context {
    client: Client,
    replica_sets: Store<ReplicaSet>,
    pods: Store<Pod>,
}

/// Sync Deployments from the shared Deployment, ReplicaSet and pod informers until `shutdown`.
pub async fn run(
    client: Client,
    deployments: (
        Store<Deployment>,
        impl Stream<Item = Result<Deployment, watcher::Error>> + Send + 'static,
    ),
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
    let for_rs = deployments.0.clone();
    let (for_pods, rs_for_pods) = (deployments.0.clone(), replica_sets.0.clone());
    let ctx = Arc::new(Context {
        client,
        replica_sets: replica_sets.0,
        pods: pods.0,
    });
    Controller::for_stream(deployments.1, deployments.0)
        .watches_stream(replica_sets.1, move |rs: ReplicaSet| {
            deployments_for_replica_set(&for_rs, &rs)
        })
        .watches_stream(pods.1, move |p: Pod| {
            recreate_deployment_for_pod(&for_pods, &rs_for_pods, &p)
        })
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "deployment reconcile failed");
            }
        })
        .await;
}

/// The Deployments a ReplicaSet change concerns: its controller, or for an orphan every
/// Deployment that selects it.
fn deployments_for_replica_set(
    deployments: &Store<Deployment>,
    rs: &ReplicaSet,
) -> Vec<ObjectRef<Deployment>> {
    let ns = rs.metadata.namespace.clone().unwrap_or_default();
    if let Some(name) = controller_name(&rs.metadata, "apps", "Deployment") {
        return vec![ObjectRef::new(name).within(&ns)];
    }
    if controller_of(&rs.metadata).is_some() {
        return Vec::new();
    }
    deployments
        .state()
        .iter()
        .filter(|d| d.metadata.namespace.as_deref() == Some(ns.as_str()))
        .filter(|d| {
            let sel = ownership::selector(&d.spec.selector);
            sel.is_some_and(|sel| ownership::matches(&sel, rs.metadata.labels.as_ref()))
        })
        .map(|d| ObjectRef::from_obj(d.as_ref()))
        .collect()
}

/// A Recreate Deployment waits for old pods to go: a pod change wakes its Deployment.
fn recreate_deployment_for_pod(
    deployments: &Store<Deployment>,
    replica_sets: &Store<ReplicaSet>,
    p: &Pod,
) -> Option<ObjectRef<Deployment>> {
    let ns = p.metadata.namespace.as_deref().unwrap_or_default();
    let rs_name = controller_name(&p.metadata, "apps", "ReplicaSet")?;
    let rs = replica_sets.get(&ObjectRef::new(rs_name).within(ns))?;
    let d_name = controller_name(&rs.metadata, "apps", "Deployment")?;
    let key = ObjectRef::new(d_name).within(ns);
    let d = deployments.get(&key)?;
    (rollout::strategy(&d) == "Recreate").then_some(key)
}

fn error_policy(d: Arc<Deployment>, err: &Error, _ctx: Arc<Context>) -> Action {
    tracing::debug!(deployment = %d.name_any(), error = %err, "deployment sync will be retried");
    Action::requeue(crate::retry_delay(
        matches!(err, Error::Api(e) if crate::is_conflict(e)),
    ))
}

/// A selector that selects every pod, which Kubernetes refuses to act on.
fn selects_everything(d: &Deployment) -> bool {
    let s = &d.spec.selector;
    s.match_labels.as_ref().is_none_or(|l| l.is_empty())
        && s.match_expressions.as_ref().is_none_or(|e| e.is_empty())
}

async fn reconcile(d: Arc<Deployment>, ctx: Arc<Context>) -> Result<Action, Error> {
    ctx.replica_sets
        .wait_until_ready()
        .await
        .map_err(|_| Error::CacheGone)?;
    ctx.pods
        .wait_until_ready()
        .await
        .map_err(|_| Error::CacheGone)?;
    let mut sync = DeploymentSync::new(&ctx, (*d).clone(), Timestamp::now());
    if selects_everything(&d) {
        tracing::warn!(deployment = %d.name_any(), "This deployment is selecting all pods. A non-empty selector is required.");
        let observed = d
            .status
            .as_ref()
            .and_then(|s| s.observed_generation)
            .unwrap_or(0);
        if observed < d.metadata.generation.unwrap_or(0) {
            let mut s = d.status.clone().unwrap_or_default();
            s.observed_generation = d.metadata.generation;
            sync.write(None, Some(s)).await?;
        }
        return Ok(Action::await_change());
    }
    let rs_list = sync.claim_replica_sets().await?;
    if d.metadata.deletion_timestamp.is_some() {
        sync.status_only(&rs_list).await?;
        return Ok(Action::await_change());
    }
    sync.check_paused().await?;
    if d.spec.paused.unwrap_or(false) || sync.is_scaling_event(&rs_list).await? {
        sync.scale_only(&rs_list).await?;
        return Ok(Action::await_change());
    }
    let recheck = match rollout::strategy(&d) {
        "Recreate" => sync.recreate(&rs_list).await?,
        "RollingUpdate" => sync.rolling(&rs_list).await?,
        other => return Err(rollout::Error::UnknownStrategy(other.to_string()).into()),
    };
    Ok(recheck.map_or_else(Action::await_change, Action::requeue))
}
