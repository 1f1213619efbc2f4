//! The steps of one Deployment sync (Kubernetes' `sync.go`, `rolling.go`,
//! `recreate.go`): plain scaling (paused Deployments and replica changes),
//! a rolling update, a recreate, and the status written after each.

use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;

use super::Error;
use super::rollout::{self, replicas, rs_replicas};
use super::status;
use super::sync::{DeploymentSync, refs};

/// The ReplicaSet named `name` among `rss`.
fn named<'a>(rss: &'a [ReplicaSet], name: &str) -> Option<&'a ReplicaSet> {
    rss.iter()
        .find(|rs| rs.metadata.name.as_deref() == Some(name))
}

/// `olds` followed by `new`.
fn with_new<'a>(olds: &'a [ReplicaSet], new: Option<&'a ReplicaSet>) -> Vec<&'a ReplicaSet> {
    olds.iter().chain(new).collect()
}

impl DeploymentSync<'_> {
    /// Scale without rolling out (paused, or `spec.replicas` changed), clean up old revisions
    /// when paused, and report status (`sync`).
    pub async fn scale_only(&mut self, rs_list: &[ReplicaSet]) -> Result<(), Error> {
        let (new, olds) = self.all_replica_sets(rs_list, false).await?;
        let current: Vec<ReplicaSet> = olds.iter().cloned().chain(new.clone()).collect();
        for step in rollout::scale(&self.d, new.as_ref(), &refs(&olds)) {
            let Some(rs) = named(&current, &step.name) else {
                continue;
            };
            if step.annotations {
                self.scale(rs, step.replicas).await?;
            } else {
                self.scale_if_needed(rs, step.replicas).await?;
            }
        }
        if self.d.spec.paused.unwrap_or(false) {
            self.cleanup(&olds).await?;
        }
        self.sync_status(&with_new(&olds, new.as_ref()), new.as_ref())
            .await
    }

    /// Report status only (the Deployment is being deleted).
    pub async fn status_only(&mut self, rs_list: &[ReplicaSet]) -> Result<(), Error> {
        let (new, olds) = self.all_replica_sets(rs_list, false).await?;
        self.sync_status(&with_new(&olds, new.as_ref()), new.as_ref())
            .await
    }

    /// Set Progressing to Unknown when the Deployment is paused or resumed.
    pub async fn check_paused(&mut self) -> Result<(), Error> {
        if let Some(cond) = status::paused_condition(&self.d, self.now) {
            let mut s = self.d.status.clone().unwrap_or_default();
            status::set_condition(&mut s, cond);
            self.write(None, Some(s)).await?;
        }
        Ok(())
    }

    /// Whether `spec.replicas` changed since the ReplicaSets were last sized.
    pub async fn is_scaling_event(&mut self, rs_list: &[ReplicaSet]) -> Result<bool, Error> {
        let (new, olds) = self.all_replica_sets(rs_list, false).await?;
        Ok(rollout::is_scaling_event(
            &self.d,
            &with_new(&olds, new.as_ref()),
        ))
    }

    /// One step of a rolling update: grow the new ReplicaSet within maxSurge, else shrink old
    /// ones within maxUnavailable, else clean up (`rolloutRolling`).
    pub async fn rolling(&mut self, rs_list: &[ReplicaSet]) -> Result<Option<Duration>, Error> {
        let (new, olds) = self.all_replica_sets(rs_list, true).await?;
        let new = new.ok_or_else(|| {
            Error::NoNewReplicaSet(self.d.metadata.name.clone().unwrap_or_default())
        })?;
        let all = with_new(&olds, Some(&new));
        if let Some(to) = rollout::new_rs_target(&self.d, &all, &new)? {
            let (scaled, _) = self.scale_if_needed(&new, to).await?;
            if scaled {
                return self.sync_rollout_status(&all, Some(&new)).await;
            }
        }
        let active: Vec<&ReplicaSet> = olds.iter().filter(|rs| rs_replicas(rs) > 0).collect();
        let mut scaled_down = false;
        for (name, to) in rollout::old_scale_down(&self.d, &new, &active) {
            if let Some(rs) = named(&olds, &name) {
                scaled_down |= self.scale_if_needed(rs, to).await?.0;
            }
        }
        if scaled_down {
            return self.sync_rollout_status(&all, Some(&new)).await;
        }
        if self
            .d
            .status
            .as_ref()
            .is_some_and(|s| status::complete(&self.d, s))
        {
            self.cleanup(&olds).await?;
        }
        self.sync_rollout_status(&all, Some(&new)).await
    }

    /// One step of a recreate: scale every old ReplicaSet to zero, wait until their pods are
    /// gone, then create and scale up the new one (`rolloutRecreate`).
    pub async fn recreate(&mut self, rs_list: &[ReplicaSet]) -> Result<Option<Duration>, Error> {
        let (new, olds) = self.all_replica_sets(rs_list, false).await?;
        let mut scaled_down = false;
        for rs in olds.iter().filter(|rs| rs_replicas(rs) > 0) {
            scaled_down |= self.scale_if_needed(rs, 0).await?.0;
        }
        if scaled_down {
            return self
                .sync_rollout_status(&with_new(&olds, new.as_ref()), new.as_ref())
                .await;
        }
        let old_refs = refs(&olds);
        let old_pods = self.pods_of(&old_refs);
        if status::old_pods_running(&old_refs, old_pods.iter().map(|p| p.as_ref())) {
            return self
                .sync_rollout_status(&with_new(&olds, new.as_ref()), new.as_ref())
                .await;
        }
        let (new, olds) = match new {
            Some(new) => (Some(new), olds),
            None => self.all_replica_sets(rs_list, true).await?,
        };
        if let Some(rs) = new.as_ref() {
            self.scale_if_needed(rs, replicas(&self.d)).await?;
        }
        if self
            .d
            .status
            .as_ref()
            .is_some_and(|s| status::complete(&self.d, s))
        {
            self.cleanup(&olds).await?;
        }
        self.sync_rollout_status(&with_new(&olds, new.as_ref()), new.as_ref())
            .await
    }

    /// Write the rollout status; when nothing changed, say when to check the deadline again.
    async fn sync_rollout_status(
        &mut self,
        all: &[&ReplicaSet],
        new: Option<&ReplicaSet>,
    ) -> Result<Option<Duration>, Error> {
        let next = status::rollout(all, new, &self.d, self.now);
        if self.d.status.as_ref() == Some(&next) {
            return Ok(status::recheck_after(&self.d, &next, self.now));
        }
        self.write(None, Some(next)).await?;
        Ok(None)
    }

    /// Write the plain status (`syncDeploymentStatus`).
    async fn sync_status(
        &mut self,
        all: &[&ReplicaSet],
        new: Option<&ReplicaSet>,
    ) -> Result<(), Error> {
        let next = status::calculate(all, new, &self.d, self.now);
        self.update_status(next).await
    }
}
