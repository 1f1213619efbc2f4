//! The I/O edge of one Deployment sync: claiming ReplicaSets, finding or
//! creating the new ReplicaSet with its revision, resizing ReplicaSets,
//! writing the Deployment's revision and status. The decisions come from
//! the pure `revision`, `rollout` and `status` modules.

use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::revision::{self, REVISION};
use super::rollout::{self, max_surge, replicas, rs_replicas};
use super::status::{self, FAILED_RS_CREATE, FOUND_NEW_RS, NEW_RS_CREATED, PROGRESSING};
use super::{Context, Error};
use crate::ownership::{self, Claim, controller_of};

/// One sync of one Deployment; `d` is kept current with every write made.
pub struct DeploymentSync<'a> {
    pub(super) ctx: &'a Context,
    pub(super) d: Deployment,
    pub(super) now: Timestamp,
}

/// References to owned ReplicaSets, for the pure functions.
pub fn refs(rss: &[ReplicaSet]) -> Vec<&ReplicaSet> {
    rss.iter().collect()
}

impl<'a> DeploymentSync<'a> {
    /// Start a sync of `d` at `now`.
    pub fn new(ctx: &'a Context, d: Deployment, now: Timestamp) -> Self {
        DeploymentSync { ctx, d, now }
    }

    fn namespace(&self) -> &str {
        self.d.metadata.namespace.as_deref().unwrap_or("default")
    }

    fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.ctx.client.clone(), self.namespace())
    }

    fn replica_sets(&self) -> Api<ReplicaSet> {
        Api::namespaced(self.ctx.client.clone(), self.namespace())
    }

    /// The ReplicaSets this Deployment owns, after adopting matching orphans and releasing the
    /// ones its selector no longer matches (`getReplicaSetsForDeployment`).
    pub async fn claim_replica_sets(&self) -> Result<Vec<ReplicaSet>, Error> {
        let spec_selector = self.d.spec.selector.clone();
        let selector = ownership::selector(&spec_selector)
            .ok_or_else(|| Error::Selector(self.d.name_any()))?;
        let uid = self.d.metadata.uid.clone().unwrap_or_default();
        let deleting = self.d.metadata.deletion_timestamp.is_some();
        let api = self.replica_sets();
        let mut claimed = Vec::new();
        let mut adoption_checked = false;
        let mut failure = None;
        let candidates = self
            .ctx
            .replica_sets
            .state()
            .into_iter()
            .filter(|rs| rs.metadata.namespace.as_deref() == Some(self.namespace()));
        for rs in candidates {
            let selected = ownership::matches(&selector, rs.metadata.labels.as_ref());
            let result = match ownership::claim(&uid, deleting, &rs.metadata, selected) {
                Claim::Owned => {
                    claimed.push((*rs).clone());
                    Ok(())
                }
                Claim::Ignore => Ok(()),
                Claim::Adopt => {
                    if !adoption_checked {
                        self.recheck().await?;
                        adoption_checked = true;
                    }
                    let owner =
                        ownership::controller_ref("apps/v1", "Deployment", &self.d.metadata);
                    let adopted = ownership::patch_owner(
                        &api,
                        &rs.name_any(),
                        &ownership::adopt_patch(&rs.metadata, owner),
                    )
                    .await;
                    if adopted.is_ok() {
                        claimed.push((*rs).clone());
                    }
                    adopted
                }
                Claim::Release => {
                    ownership::patch_owner(
                        &api,
                        &rs.name_any(),
                        &ownership::release_patch(&rs.metadata, &uid),
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

    /// Before adopting, make sure with a fresh read that the Deployment is still there and not
    /// being deleted.
    async fn recheck(&self) -> Result<(), Error> {
        let fresh = self.deployments().get(&self.d.name_any()).await?;
        let key = format!("{}/{}", self.namespace(), self.d.name_any());
        if fresh.metadata.uid != self.d.metadata.uid {
            let (got, want) = (
                fresh.metadata.uid.unwrap_or_default(),
                self.d.metadata.uid.clone().unwrap_or_default(),
            );
            return Err(Error::Adopt(format!(
                "original Deployment {key} is gone: got uid {got}, wanted {want}"
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

    /// Pods (of any phase) controlled by the given ReplicaSets and selected by the Deployment.
    pub fn pods_of(&self, rss: &[&ReplicaSet]) -> Vec<Arc<Pod>> {
        let spec_selector = self.d.spec.selector.clone();
        let Some(selector) = ownership::selector(&spec_selector) else {
            return Vec::new();
        };
        let uids: Vec<&str> = rss
            .iter()
            .filter_map(|rs| rs.metadata.uid.as_deref())
            .collect();
        self.ctx
            .pods
            .state()
            .into_iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(self.namespace()))
            .filter(|p| ownership::matches(&selector, p.metadata.labels.as_ref()))
            .filter(|p| controller_of(&p.metadata).is_some_and(|o| uids.contains(&o.uid.as_str())))
            .collect()
    }

    /// Record `revision` on the Deployment (a metadata patch) and write `status`, each if given.
    pub async fn write(
        &mut self,
        revision: Option<&str>,
        status: Option<DeploymentStatus>,
    ) -> Result<(), Error> {
        let current = self
            .d
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION))
            .map(String::as_str);
        if let Some(rev) = revision.filter(|r| current != Some(*r)) {
            let patch = json!({ "metadata": { "annotations": { REVISION: rev } } });
            let fresh = self
                .deployments()
                .patch(
                    &self.d.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await?;
            self.absorb(fresh);
        }
        if let Some(status) = status {
            let mut next = self.d.clone();
            next.status = Some(status);
            let fresh = self
                .deployments()
                .replace_status(&self.d.name_any(), &PostParams::default(), &next)
                .await?;
            self.absorb(fresh);
        }
        Ok(())
    }

    /// Take what a write returned, except the spec and generation: this sync acts on the
    /// generation it started with, and reports that one as observed.
    fn absorb(&mut self, fresh: Deployment) {
        self.d.metadata.resource_version = fresh.metadata.resource_version;
        self.d.metadata.annotations = fresh.metadata.annotations;
        self.d.status = fresh.status;
    }

    /// Write `status` unless the Deployment already reports it.
    pub async fn update_status(&mut self, status: DeploymentStatus) -> Result<(), Error> {
        if self.d.status.as_ref() == Some(&status) {
            return Ok(());
        }
        self.write(None, Some(status)).await
    }

    /// Resize `rs` to `to` and refresh its replica annotations (`scaleReplicaSet`); whether the
    /// size changed, and the ReplicaSet as it is now.
    pub async fn scale(&self, rs: &ReplicaSet, to: i32) -> Result<(bool, ReplicaSet), Error> {
        let (want, max) = (
            replicas(&self.d),
            replicas(&self.d).saturating_add(max_surge(&self.d)),
        );
        let resize = rs_replicas(rs) != to;
        if !resize && !revision::replicas_annotations_need_update(rs, want, max) {
            return Ok((false, rs.clone()));
        }
        let mut next = rs.clone();
        next.spec.replicas = Some(to);
        revision::set_replicas_annotations(&mut next, want, max);
        let updated = self
            .replica_sets()
            .replace(&rs.name_any(), &PostParams::default(), &next)
            .await?;
        if resize {
            let direction = if to > rs_replicas(rs) { "up" } else { "down" };
            tracing::info!(
                deployment = %self.d.name_any(),
                "Scaled {direction} replica set {} from {} to {to}",
                rs.name_any(),
                rs_replicas(rs)
            );
        }
        Ok((resize, updated))
    }

    /// Resize `rs` only if its size differs (`scaleReplicaSetAndRecordEvent`).
    pub async fn scale_if_needed(
        &self,
        rs: &ReplicaSet,
        to: i32,
    ) -> Result<(bool, ReplicaSet), Error> {
        if rs_replicas(rs) == to {
            return Ok((false, rs.clone()));
        }
        self.scale(rs, to).await
    }

    /// The new ReplicaSet (found or, when `create`, created) and the old ones, with revisions
    /// brought up to date (`getAllReplicaSetsAndSyncRevision`).
    pub async fn all_replica_sets(
        &mut self,
        rs_list: &[ReplicaSet],
        create: bool,
    ) -> Result<(Option<ReplicaSet>, Vec<ReplicaSet>), Error> {
        let all = refs(rs_list);
        let olds: Vec<ReplicaSet> = revision::find_old(&self.d, &all)
            .into_iter()
            .cloned()
            .collect();
        let new = self.new_replica_set(rs_list, &olds, create).await?;
        Ok((new, olds))
    }

    async fn new_replica_set(
        &mut self,
        rs_list: &[ReplicaSet],
        olds: &[ReplicaSet],
        create: bool,
    ) -> Result<Option<ReplicaSet>, Error> {
        let new_revision = (revision::max_revision(&refs(olds)) + 1).to_string();
        if let Some(existing) = revision::find_new(&self.d, &refs(rs_list)) {
            return self
                .sync_existing(existing.clone(), &new_revision)
                .await
                .map(Some);
        }
        if !create {
            return Ok(None);
        }
        let collisions = self.d.status.as_ref().and_then(|s| s.collision_count);
        let hash = revision::compute_hash(&revision::deployment_template(&self.d), collisions);
        let mut rs = revision::new_replica_set(&self.d, &hash, 0);
        let mut all = refs(olds);
        all.push(&rs);
        let size = rollout::new_rs_new_replicas(&self.d, &all, &rs)?;
        rs.spec.replicas = Some(size);
        revision::set_new_rs_annotations(&self.d, &mut rs, &new_revision, false);
        let name = rs.name_any();
        let (created, existed) = match self
            .replica_sets()
            .create(&PostParams::default(), &rs)
            .await
        {
            Ok(created) => (created, false),
            Err(kube::Error::Api(s)) if s.is_already_exists() => {
                let found = self.replica_sets().get(&name).await?;
                let ours = controller_of(&found.metadata)
                    .is_some_and(|o| Some(&o.uid) == self.d.metadata.uid.as_ref());
                let same = found.spec.template.as_ref().is_some_and(|t| {
                    revision::equal_ignore_hash(&revision::deployment_template(&self.d), t)
                });
                if !(ours && same) {
                    let mut status = self.d.status.clone().unwrap_or_default();
                    status.collision_count = Some(collisions.unwrap_or(0).saturating_add(1));
                    self.write(None, Some(status)).await?;
                    return Err(Error::HashCollision(name));
                }
                (found, true)
            }
            Err(e) => {
                let namespace_gone = matches!(&e, kube::Error::Api(s)
                    if s.details.as_ref().is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating")));
                if !namespace_gone && status::has_progress_deadline(&self.d) {
                    let text = match &e {
                        kube::Error::Api(s) => s.message.clone(),
                        other => other.to_string(),
                    };
                    let msg = format!("Failed to create new replica set {name:?}: {text}");
                    let mut s = self.d.status.clone().unwrap_or_default();
                    status::set_condition(
                        &mut s,
                        status::new_condition(
                            PROGRESSING,
                            "False",
                            FAILED_RS_CREATE,
                            msg,
                            self.now,
                        ),
                    );
                    if let Err(write) = self.write(None, Some(s)).await {
                        tracing::debug!(error = %write, "recording the ReplicaSet create failure");
                    }
                }
                return Err(e.into());
            }
        };
        if !existed && size > 0 {
            tracing::info!(deployment = %self.d.name_any(), "Scaled up replica set {name} from 0 to {size}");
        }
        let mut next_status = None;
        if !existed && status::has_progress_deadline(&self.d) {
            let mut s = self.d.status.clone().unwrap_or_default();
            let msg = format!("Created new replica set {name:?}");
            status::set_condition(
                &mut s,
                status::new_condition(PROGRESSING, "True", NEW_RS_CREATED, msg, self.now),
            );
            next_status = Some(s);
        }
        self.write(Some(&new_revision), next_status).await?;
        Ok(Some(created))
    }

    /// Bring an existing new ReplicaSet's annotations and minReadySeconds up to date, then the
    /// Deployment's revision.
    async fn sync_existing(
        &mut self,
        existing: ReplicaSet,
        new_revision: &str,
    ) -> Result<ReplicaSet, Error> {
        let mut copy = existing;
        let annotations_changed =
            revision::set_new_rs_annotations(&self.d, &mut copy, new_revision, true);
        let min_ready = self.d.spec.min_ready_seconds.unwrap_or(0);
        let rs_min_ready = copy.spec.min_ready_seconds.unwrap_or(0);
        if annotations_changed || min_ready != rs_min_ready {
            copy.spec.min_ready_seconds = (min_ready != 0).then_some(min_ready);
            return Ok(self
                .replica_sets()
                .replace(&copy.name_any(), &PostParams::default(), &copy)
                .await?);
        }
        let rs_revision = revision::annotation(&copy, REVISION)
            .unwrap_or_default()
            .to_string();
        let mut next_status = None;
        if status::has_progress_deadline(&self.d)
            && status::condition(self.d.status.as_ref(), PROGRESSING).is_none()
        {
            let mut s = self.d.status.clone().unwrap_or_default();
            let msg = format!("Found new replica set {:?}", copy.name_any());
            status::set_condition(
                &mut s,
                status::new_condition(PROGRESSING, "True", FOUND_NEW_RS, msg, self.now),
            );
            next_status = Some(s);
        }
        self.write(Some(&rs_revision), next_status).await?;
        Ok(copy)
    }

    /// Delete the old ReplicaSets beyond `revisionHistoryLimit` (`cleanupDeployment`).
    pub async fn cleanup(&self, olds: &[ReplicaSet]) -> Result<(), Error> {
        for rs in revision::history_to_delete(&self.d, &refs(olds)) {
            tracing::debug!(deployment = %self.d.name_any(), replicaset = %rs.name_any(), "deleting old revision");
            match self
                .replica_sets()
                .delete(&rs.name_any(), &DeleteParams::default())
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
