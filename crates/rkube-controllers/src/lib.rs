//! The controller manager: one module per controller, each a reconcile of
//! one object on kube-runtime's `Controller`, talking to the API server
//! only through a `kube::Client`.
//!
//! It owns the cluster's background convergence; it must not reach into
//! the API server's memory or the datastore.

pub mod namespace;

use kube::Client;
use tokio_util::sync::CancellationToken;

/// Run every controller until `shutdown` is cancelled.
pub async fn run(client: Client, shutdown: CancellationToken) {
    namespace::run(client, shutdown).await;
}
