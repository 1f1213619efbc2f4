//! The Kubernetes API server: HTTPS, authentication and authorization,
//! discovery, and one generic registry over the datastore with a watch
//! cache in front of it.
//!
//! It owns the API's behaviour as clients see it; it must not run
//! controllers or reach into other components: they are its clients.

pub mod auth;
pub mod discovery;
pub mod handlers;
pub mod object;
pub mod openapi;
pub mod patch;
pub mod registry;
pub mod request;
pub mod strategy;
pub mod subresources;
pub mod tls;
pub mod watch;
pub mod watch_cache;

use std::sync::Arc;

use axum::Router;
use rkube_api::{ApiError, resources};
use rkube_store::Store;
use serde_json::json;

use crate::auth::{Authenticator, Authorizer};
use crate::handlers::App;
use crate::registry::Registry;
use crate::request::Target;
use crate::watch_cache::WatchCache;

/// Namespaces every cluster has from the start.
pub const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Build the API server over `store`: fill the watch cache and create the
/// system namespaces.
pub async fn build(
    store: Arc<dyn Store>,
    authn: Box<dyn Authenticator>,
    authz: Box<dyn Authorizer>,
    server_address: String,
) -> Result<Arc<App>, ApiError> {
    let cache = WatchCache::start(store.clone()).await?;
    let registry = Registry { store, cache };
    let namespaces = resources::lookup("", "v1", "namespaces").ok_or_else(|| ApiError::internal("namespaces not served"))?;
    for ns in SYSTEM_NAMESPACES {
        let t = Target { info: namespaces, namespace: None, name: None, subresource: None, watch_path: false };
        let obj = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns } });
        match registry.create(&t, obj, false).await {
            Ok(_) => {}
            Err(e) if e.reason == "AlreadyExists" => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Arc::new(App { registry, authn, authz, server_address }))
}

/// The router serving every path of the API.
pub fn router(app: Arc<App>) -> Router {
    Router::new().fallback(handlers::handle).with_state(app)
}
