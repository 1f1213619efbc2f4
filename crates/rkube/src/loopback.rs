//! The in-process transport: a `kube::Client` whose requests go straight
//! into the API server's router (same requests, same wire format, no TCP or
//! TLS), authenticated as the component that uses it.

use std::sync::Arc;

use rkube_apiserver::handlers::{App, PeerIdentity};
use rkube_pki::Subject;
use tower::ServiceExt;

/// A client for an in-process component acting as `user` in `groups`.
pub fn client(app: Arc<App>, user: &str, groups: &[&str]) -> kube::Client {
    let router = rkube_apiserver::router(app);
    let identity = PeerIdentity(Some(Subject {
        common_name: user.to_string(),
        organizations: groups.iter().map(|g| g.to_string()).collect(),
    }));
    let service = tower::service_fn(move |req: http::Request<kube::client::Body>| {
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(identity.clone());
        router.clone().oneshot(req)
    });
    kube::Client::new(service, "default")
}
