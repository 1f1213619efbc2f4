//! DefaultBinder: the bind plugin that writes `pods/binding` through the
//! API server (which sets `spec.nodeName` and PodScheduled=True).

use kube::Client;

use crate::api;
use crate::framework::{BindPlugin, Plugin, PodInfo, Status};

/// Plugin name.
pub const NAME: &str = "DefaultBinder";

/// Binds through the API.
pub struct DefaultBinder {
    client: Client,
}

impl DefaultBinder {
    /// A binder using `client`.
    pub fn new(client: Client) -> DefaultBinder {
        DefaultBinder { client }
    }
}

impl Plugin for DefaultBinder {
    fn name(&self) -> &'static str {
        NAME
    }
}

#[async_trait::async_trait]
impl BindPlugin for DefaultBinder {
    async fn bind(&self, pod: &PodInfo, node: &str) -> Status {
        match api::bind(&self.client, &pod.namespace, pod.name(), &pod.uid, node).await {
            Ok(()) => Status::success(),
            Err(e) => Status::error(e.to_string()),
        }
    }
}
