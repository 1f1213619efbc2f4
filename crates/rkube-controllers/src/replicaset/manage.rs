//! Creating and deleting a ReplicaSet's pods (Kubernetes' `manageReplicas`):
//! creations in slow-start batches (1, 2, 4, ...) that stop at the first
//! failure, deletions of the pods `rank` puts first, at most [`BURST`] of
//! either per round, each recorded in the expectations.

use std::sync::Arc;
use std::time::Instant;

use futures::future::join_all;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};

use super::expectations::PodId;
use super::{Context, Error, lock, rank, status};
use crate::ownership::{self, controller_of};

/// Most pods created or deleted in one round (kube-controller-manager's `burstReplicas`).
pub const BURST: usize = 500;
/// Longest name a generateName prefix may have (a DNS subdomain).
const MAX_NAME: usize = 253;

/// Bring the number of `owned` active pods to the desired count.
pub async fn replicas(
    ctx: &Context,
    rs: &ReplicaSet,
    key: &str,
    owned: &[Arc<Pod>],
    now: Timestamp,
) -> Result<(), Error> {
    let desired = usize::try_from(status::desired(rs)).unwrap_or(0);
    if owned.len() < desired {
        create(ctx, rs, key, (desired - owned.len()).min(BURST)).await
    } else if owned.len() > desired {
        let related = related_pods(ctx, rs);
        let victims =
            rank::pods_to_delete(owned, &related, (owned.len() - desired).min(BURST), now);
        delete(ctx, rs, key, victims).await
    } else {
        Ok(())
    }
}

/// The pod a ReplicaSet creates (`controller.GetPodFromTemplate`).
pub fn pod_from_template(rs: &ReplicaSet) -> Result<Pod, Error> {
    let template = rs
        .spec
        .template
        .as_ref()
        .ok_or_else(|| Error::Manage("ReplicaSet has no pod template".into()))?;
    let meta = template.metadata.clone().unwrap_or_default();
    if meta.labels.as_ref().is_none_or(|l| l.is_empty()) {
        return Err(Error::Manage("unable to create pods, no labels".into()));
    }
    let name = rs.name_any();
    let prefix = if name.len() < MAX_NAME {
        format!("{name}-")
    } else {
        name
    };
    Ok(Pod {
        metadata: ObjectMeta {
            generate_name: Some(prefix),
            namespace: rs.metadata.namespace.clone(),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![ownership::controller_ref(
                "apps/v1",
                "ReplicaSet",
                &rs.metadata,
            )]),
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: None,
    })
}

fn pods_api(ctx: &Context, rs: &ReplicaSet) -> Api<Pod> {
    Api::namespaced(
        ctx.client.clone(),
        rs.metadata.namespace.as_deref().unwrap_or("default"),
    )
}

/// The message Kubernetes puts in events and conditions for a failed request.
fn message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

/// Creates fail this way in a namespace being deleted; there is nothing to retry then.
fn namespace_terminating(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.details.as_ref().is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating")))
}

async fn create(ctx: &Context, rs: &ReplicaSet, key: &str, count: usize) -> Result<(), Error> {
    let pod = pod_from_template(rs)?;
    let api = pods_api(ctx, rs);
    let params = PostParams::default();
    let (mut remaining, mut batch) = (count, 1usize);
    let mut created = Vec::new();
    let mut failure = None;
    while remaining > 0 && failure.is_none() {
        let size = batch.min(remaining);
        for result in join_all((0..size).map(|_| api.create(&params, &pod))).await {
            match result {
                Ok(p) => created.push(PodId {
                    name: p.name_any(),
                    uid: p.metadata.uid.unwrap_or_default(),
                }),
                Err(e) if namespace_terminating(&e) => {}
                Err(e) => failure = Some(e),
            }
        }
        remaining -= size;
        batch = batch.saturating_mul(2);
    }
    tracing::debug!(
        replicaset = key,
        created = created.len(),
        wanted = count,
        "created pods"
    );
    lock(&ctx.expectations).created(key, created, Instant::now());
    match failure {
        Some(e) => Err(Error::Manage(message(&e))),
        None => Ok(()),
    }
}

async fn delete(
    ctx: &Context,
    rs: &ReplicaSet,
    key: &str,
    victims: Vec<Arc<Pod>>,
) -> Result<(), Error> {
    let ids: Vec<PodId> = victims
        .iter()
        .map(|p| PodId {
            name: p.name_any(),
            uid: p.metadata.uid.clone().unwrap_or_default(),
        })
        .collect();
    lock(&ctx.expectations).deleting(key, ids.clone(), Instant::now());
    let api = pods_api(ctx, rs);
    let params = DeleteParams::default();
    let results = join_all(ids.iter().map(|id| api.delete(&id.name, &params))).await;
    let mut failure = None;
    for (id, result) in ids.iter().zip(results) {
        if let Err(e) = result {
            lock(&ctx.expectations).deletion_failed(key, &id.uid);
            if !matches!(&e, kube::Error::Api(s) if s.is_not_found()) {
                failure.get_or_insert(e);
            }
        }
    }
    tracing::debug!(replicaset = key, deleted = ids.len(), "deleted pods");
    match failure {
        Some(e) => Err(Error::Manage(message(&e))),
        None => Ok(()),
    }
}

/// The pods of every ReplicaSet that shares this one's controller (a Deployment's other revisions).
fn related_pods(ctx: &Context, rs: &ReplicaSet) -> Vec<Arc<Pod>> {
    let Some(owner) = controller_of(&rs.metadata) else {
        return Vec::new();
    };
    let ns = rs.metadata.namespace.as_deref();
    let siblings: Vec<_> = ctx
        .replica_sets
        .state()
        .into_iter()
        .filter(|r| {
            r.metadata.namespace.as_deref() == ns
                && controller_of(&r.metadata).is_some_and(|o| o.uid == owner.uid)
        })
        .filter_map(|r| ownership::selector(&r.spec.selector))
        .collect();
    ctx.pods
        .state()
        .into_iter()
        .filter(|p| p.metadata.namespace.as_deref() == ns)
        .filter(|p| {
            siblings
                .iter()
                .any(|sel| ownership::matches(sel, p.metadata.labels.as_ref()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pods_come_from_the_template_with_a_controller_ref() {
        let rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "web-5d8f", "namespace": "ns", "uid": "u1"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web", "pod-template-hash": "5d8f"}, "annotations": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
                },
            },
        }))
        .expect("replicaset");
        let pod = pod_from_template(&rs).expect("pod");
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-5d8f-"));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("ns"));
        assert_eq!(
            pod.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("pod-template-hash"))
                .map(String::as_str),
            Some("5d8f")
        );
        let owner = pod
            .metadata
            .owner_references
            .as_ref()
            .and_then(|o| o.first())
            .cloned()
            .expect("owner");
        assert_eq!(
            (
                owner.kind.as_str(),
                owner.uid.as_str(),
                owner.controller,
                owner.block_owner_deletion
            ),
            ("ReplicaSet", "u1", Some(true), Some(true))
        );

        let mut bare = rs.clone();
        if let Some(t) = bare.spec.template.as_mut() {
            t.metadata = None;
        }
        assert!(
            matches!(pod_from_template(&bare), Err(Error::Manage(m)) if m == "unable to create pods, no labels")
        );
    }
}
