//! Controller references: which object controls which, and Kubernetes'
//! `ControllerRefManager` rules for adopting orphans that match a
//! controller's selector and releasing owned objects that no longer do.

use std::collections::BTreeMap;
use std::fmt::Debug;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use kube::core::{Selector, SelectorExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The owner reference marked `controller: true`, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_deref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// The reference a controller puts on what it creates or adopts (`metav1.NewControllerRef`).
pub fn controller_ref(api_version: &str, kind: &str, meta: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Whether `owner` (by group and kind) is the controller behind `meta`, and its name.
pub fn controller_name<'a>(meta: &'a ObjectMeta, group: &str, kind: &str) -> Option<&'a str> {
    let owner = controller_of(meta)?;
    let owner_group = owner
        .api_version
        .split_once('/')
        .map(|(g, _)| g)
        .unwrap_or("");
    (owner.kind == kind && owner_group == group).then_some(owner.name.as_str())
}

/// A label selector as a matcher; `None` when it cannot be parsed (it then matches nothing).
pub fn selector(sel: &LabelSelector) -> Option<Selector> {
    Selector::try_from(sel.clone()).ok()
}

/// Whether `labels` satisfy `sel`.
pub fn matches(sel: &Selector, labels: Option<&BTreeMap<String, String>>) -> bool {
    match labels {
        Some(labels) => sel.matches(labels),
        None => sel.matches(&BTreeMap::new()),
    }
}

/// What a controller does with one candidate object (Kubernetes' `ClaimObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Already ours and still selected.
    Owned,
    /// An orphan our selector matches: take it.
    Adopt,
    /// Ours but no longer selected: let it go.
    Release,
    /// Someone else's, or not for us.
    Ignore,
}

/// The claim decision for `candidate`, given the controller's uid, whether it is being deleted,
/// and whether its selector matches the candidate's labels.
pub fn claim(
    owner_uid: &str,
    owner_deleting: bool,
    candidate: &ObjectMeta,
    selected: bool,
) -> Claim {
    match controller_of(candidate) {
        Some(r) if r.uid != owner_uid => Claim::Ignore,
        Some(_) if selected => Claim::Owned,
        Some(_) if owner_deleting => Claim::Ignore,
        Some(_) => Claim::Release,
        None if owner_deleting || !selected || candidate.deletion_timestamp.is_some() => {
            Claim::Ignore
        }
        None => Claim::Adopt,
    }
}

/// The merge patch adding `owner` to `candidate`'s references, conditional on its resourceVersion.
pub fn adopt_patch(candidate: &ObjectMeta, owner: OwnerReference) -> Value {
    let mut refs = candidate.owner_references.clone().unwrap_or_default();
    refs.push(owner);
    json!({ "metadata": { "resourceVersion": candidate.resource_version, "ownerReferences": refs } })
}

/// The merge patch dropping `owner_uid` from `candidate`'s references, conditional on its resourceVersion.
pub fn release_patch(candidate: &ObjectMeta, owner_uid: &str) -> Value {
    let refs: Vec<&OwnerReference> = candidate
        .owner_references
        .iter()
        .flatten()
        .filter(|r| r.uid != owner_uid)
        .collect();
    let refs = if refs.is_empty() {
        Value::Null
    } else {
        json!(refs)
    };
    json!({ "metadata": { "resourceVersion": candidate.resource_version, "ownerReferences": refs } })
}

/// Apply an adopt or release patch; a candidate that is gone meanwhile is not an error.
pub async fn patch_owner<K>(api: &Api<K>, name: &str, patch: &Value) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(owner: Option<(&str, bool)>, deleting: bool) -> ObjectMeta {
        let value = json!({
            "name": "p",
            "resourceVersion": "7",
            "deletionTimestamp": if deleting { json!("2026-01-01T00:00:00Z") } else { Value::Null },
            "ownerReferences": owner.map(|(uid, controller)| json!([
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": uid, "controller": controller},
            ])),
        });
        serde_json::from_value(value).unwrap_or_default()
    }

    #[test]
    fn claim_follows_controller_ref_manager() {
        assert_eq!(
            claim("me", false, &meta(Some(("me", true)), false), true),
            Claim::Owned
        );
        assert_eq!(
            claim("me", true, &meta(Some(("me", true)), false), true),
            Claim::Owned
        );
        assert_eq!(
            claim("me", false, &meta(Some(("me", true)), false), false),
            Claim::Release
        );
        assert_eq!(
            claim("me", true, &meta(Some(("me", true)), false), false),
            Claim::Ignore
        );
        assert_eq!(
            claim("me", false, &meta(Some(("other", true)), false), true),
            Claim::Ignore
        );
        assert_eq!(claim("me", false, &meta(None, false), true), Claim::Adopt);
        assert_eq!(
            claim("me", false, &meta(Some(("other", false)), false), true),
            Claim::Adopt
        );
        assert_eq!(claim("me", false, &meta(None, false), false), Claim::Ignore);
        assert_eq!(claim("me", true, &meta(None, false), true), Claim::Ignore);
        assert_eq!(claim("me", false, &meta(None, true), true), Claim::Ignore);
    }

    #[test]
    fn patches_keep_other_owners_and_carry_the_resource_version() {
        let m = meta(Some(("other", false)), false);
        let owner = OwnerReference {
            uid: "me".into(),
            controller: Some(true),
            ..Default::default()
        };
        let adopt = adopt_patch(&m, owner);
        assert_eq!(adopt["metadata"]["resourceVersion"], "7");
        assert_eq!(
            adopt["metadata"]["ownerReferences"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        let released = release_patch(&m, "other");
        assert_eq!(released["metadata"]["ownerReferences"], Value::Null);
        assert_eq!(
            release_patch(&m, "me")["metadata"]["ownerReferences"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
    }

    #[test]
    fn controller_name_checks_group_and_kind() {
        let m = meta(Some(("me", true)), false);
        assert_eq!(controller_name(&m, "apps", "ReplicaSet"), Some("rs"));
        assert_eq!(controller_name(&m, "apps", "Deployment"), None);
        assert_eq!(controller_name(&m, "", "ReplicaSet"), None);
    }
}
