//! The controller manager: one module per controller, each a reconcile of
//! one object on kube-runtime's `Controller`, talking to the API server
//! only through a `kube::Client`. Controllers of related kinds share one
//! watch and cache per kind (`informer`).
//!
//! It owns the cluster's background convergence; it must not reach into
//! the API server's memory or the datastore.

pub mod deployment;
pub mod informer;
pub mod namespace;
pub mod ownership;
pub mod pod;
pub mod replicaset;

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::Client;
use tokio_util::sync::CancellationToken;

use crate::informer::Informer;

/// Run every controller until `shutdown` is cancelled.
pub async fn run(client: Client, shutdown: CancellationToken) {
    let mut pods = Informer::new(Api::<Pod>::all(client.clone()));
    let mut replica_sets = Informer::new(Api::<ReplicaSet>::all(client.clone()));
    let mut deployments = Informer::new(Api::<Deployment>::all(client.clone()));
    let rs_controller = replicaset::run(
        client.clone(),
        (replica_sets.store(), replica_sets.subscribe()),
        (pods.store(), pods.subscribe()),
        shutdown.clone(),
    );
    let deployment_controller = deployment::run(
        client.clone(),
        (deployments.store(), deployments.subscribe()),
        (replica_sets.store(), replica_sets.subscribe()),
        (pods.store(), pods.subscribe()),
        shutdown.clone(),
    );
    tokio::join!(
        namespace::run(client, shutdown.clone()),
        rs_controller,
        deployment_controller,
        pods.run(shutdown.clone()),
        replica_sets.run(shutdown.clone()),
        deployments.run(shutdown),
    );
}

/// Whether a request failed because the object changed underneath (409).
pub fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.is_conflict())
}

/// How soon a failed reconcile is retried: quickly after a conflict (the cache is about to
/// catch up), more slowly otherwise.
pub fn retry_delay(conflict: bool) -> Duration {
    if conflict {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(2)
    }
}
