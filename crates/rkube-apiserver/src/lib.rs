//! The Kubernetes API server: HTTPS, authentication and authorization,
//! discovery, and one generic registry over the datastore with a watch
//! cache in front of it.
//!
//! It owns the API's behaviour as clients see it; it must not run
//! controllers or reach into other components: they are its clients.

mod admission;
pub mod auth;
mod bootstrap;
pub mod discovery;
pub mod handlers;
pub mod object;
pub mod openapi;
pub mod patch;
pub mod registry;
pub mod request;
pub mod service_ips;
pub mod strategy;
pub mod subresources;
pub mod table;
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
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// What the API server needs to know about the cluster it serves.
pub struct Config {
    /// The address clients and pods reach the API server at.
    pub advertise_ip: std::net::IpAddr,
    /// The HTTPS port.
    pub port: u16,
    /// The Service network; its first address is the `kubernetes` Service.
    pub service_network: service_ips::ServiceNetwork,
}

/// Build the API server over `store`: fill the watch cache, create the
/// system namespaces and the `kubernetes` Service.
pub async fn build(
    store: Arc<dyn Store>,
    authn: Box<dyn Authenticator>,
    authz: Box<dyn Authorizer>,
    config: Config,
) -> Result<Arc<App>, ApiError> {
    let cache = WatchCache::start(store.clone()).await?;
    let service_ips = service_ips::Allocator {
        store: store.clone(),
        network: config.service_network,
    };
    let registry = Registry {
        store,
        cache,
        service_ips,
    };
    for ns in SYSTEM_NAMESPACES {
        let obj = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns } });
        ensure(&registry, "namespaces", None, obj).await?;
    }
    bootstrap::kubernetes_service(&registry, &config).await?;
    bootstrap::priority_classes(&registry).await?;
    let server_address = std::net::SocketAddr::new(config.advertise_ip, config.port).to_string();
    Ok(Arc::new(App {
        registry,
        authn,
        authz,
        server_address,
    }))
}

/// Create a core/v1 object unless it exists (it does on every start after
/// the first; creating it again could fail on more than the name, e.g. on
/// the `kubernetes` Service's already allocated cluster IP).
async fn ensure(
    registry: &Registry,
    plural: &str,
    namespace: Option<&str>,
    obj: serde_json::Value,
) -> Result<(), ApiError> {
    let info = resources::lookup("", "v1", plural)
        .or_else(|| resources::lookup("discovery.k8s.io", "v1", plural))
        .or_else(|| resources::lookup("scheduling.k8s.io", "v1", plural))
        .ok_or_else(|| ApiError::internal(format!("{plural} not served")))?;
    let t = Target {
        info,
        namespace: namespace.map(str::to_string),
        name: None,
        subresource: None,
        watch_path: false,
    };
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match registry.get(&t, &name).await {
        Ok(_) => return Ok(()),
        Err(e) if e.code == 404 => {}
        Err(e) => return Err(e),
    }
    match registry.create(&t, obj, false).await {
        Ok(_) => Ok(()),
        Err(e) if e.reason == "AlreadyExists" => Ok(()),
        Err(e) => Err(e),
    }
}

/// The router serving every path of the API.
pub fn router(app: Arc<App>) -> Router {
    Router::new().fallback(handlers::handle).with_state(app)
}
