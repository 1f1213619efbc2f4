//! Revisions of a Deployment, pure and without I/O: the pod-template-hash
//! that names each ReplicaSet, which ReplicaSet matches the current
//! template, the `deployment.kubernetes.io/*` annotations, and which old
//! ReplicaSets `revisionHistoryLimit` lets go.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::rollout::{self, by_creation};
use crate::ownership;

/// The revision a ReplicaSet (and its Deployment) is at.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Earlier revisions a ReplicaSet had before a rollback made it current again.
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's `spec.replicas` when the ReplicaSet was last sized.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// The Deployment's `spec.replicas + maxSurge` when the ReplicaSet was last sized.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// The label that tells the ReplicaSets (and pods) of one Deployment apart.
pub const HASH_LABEL: &str = "pod-template-hash";
/// Longest `revision-history` annotation kept, in characters.
const MAX_HISTORY_CHARS: usize = 2000;
/// Annotations a Deployment never copies to its ReplicaSets.
const NOT_COPIED: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];
/// The characters Kubernetes' `rand.SafeEncodeString` spells hashes with (no vowels, no 0/1/3).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// An annotation of `rs`.
pub fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// The ReplicaSet's revision: 0 when unset, an error when not a number.
pub fn revision(rs: &ReplicaSet) -> Result<i64, std::num::ParseIntError> {
    annotation(rs, REVISION).map_or(Ok(0), str::parse)
}

/// The highest parseable revision among `rss` (`MaxRevision`).
pub fn max_revision(rss: &[&ReplicaSet]) -> i64 {
    rss.iter()
        .filter_map(|rs| revision(rs).ok())
        .max()
        .unwrap_or(0)
        .max(0)
}

/// The pod-template-hash of a template (and collision count): FNV-1a over the template's
/// canonical JSON, spelled the way Kubernetes spells it.
pub fn compute_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut canonical = String::new();
    write_canonical(
        &serde_json::to_value(template).unwrap_or(Value::Null),
        &mut canonical,
    );
    let mut hash = fnv1a(0x811c_9dc5, canonical.as_bytes());
    if let Some(count) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&count.to_le_bytes());
        hash = fnv1a(hash, &bytes);
    }
    hash.to_string()
        .bytes()
        .map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()]))
        .collect()
}

fn fnv1a(mut hash: u32, bytes: &[u8]) -> u32 {
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// JSON with object keys sorted, so equal templates hash equally whatever their key order.
fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, &Value> = m.iter().collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Drop nulls and empty objects/arrays everywhere: Kubernetes' semantic equality treats them
/// as unset.
fn semantic(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, semantic(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(semantic).collect()),
        other => other,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn without_hash(t: &PodTemplateSpec) -> Value {
    let mut t = t.clone();
    if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(HASH_LABEL);
    }
    semantic(serde_json::to_value(&t).unwrap_or(Value::Null))
}

/// Whether two templates are the same apart from the pod-template-hash label (`EqualIgnoreHash`).
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    without_hash(a) == without_hash(b)
}

fn template_of(rs: &ReplicaSet) -> Option<&PodTemplateSpec> {
    rs.spec.template.as_ref()
}

/// The Deployment's template.
pub fn deployment_template(d: &Deployment) -> PodTemplateSpec {
    d.spec.template.clone()
}

/// The oldest ReplicaSet whose template is the Deployment's current one (`FindNewReplicaSet`).
pub fn find_new<'a>(d: &Deployment, rss: &[&'a ReplicaSet]) -> Option<&'a ReplicaSet> {
    let template = deployment_template(d);
    let mut sorted = rss.to_vec();
    sorted.sort_by(|a, b| by_creation(a, b));
    sorted
        .into_iter()
        .find(|rs| template_of(rs).is_some_and(|t| equal_ignore_hash(t, &template)))
}

/// Every ReplicaSet but the new one (`FindOldReplicaSets`, all of them).
pub fn find_old<'a>(d: &Deployment, rss: &[&'a ReplicaSet]) -> Vec<&'a ReplicaSet> {
    let new_uid = find_new(d, rss).and_then(|n| n.metadata.uid.clone());
    rss.iter()
        .copied()
        .filter(|rs| new_uid.is_none() || rs.metadata.uid != new_uid)
        .collect()
}

/// Set the desired/max replica annotations; whether anything changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (key, value) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        if annotations.get(key).map(String::as_str) != Some(value.to_string().as_str()) {
            annotations.insert(key.to_string(), value.to_string());
            changed = true;
        }
    }
    changed
}

/// Whether the desired/max replica annotations differ from these values.
pub fn replicas_annotations_need_update(rs: &ReplicaSet, desired: i32, max: i32) -> bool {
    annotation(rs, DESIRED_REPLICAS) != Some(desired.to_string().as_str())
        || annotation(rs, MAX_REPLICAS) != Some(max.to_string().as_str())
}

/// Copy the Deployment's own annotations to the ReplicaSet; whether anything changed.
fn copy_annotations(d: &Deployment, rs: &mut ReplicaSet) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if NOT_COPIED.contains(&k.as_str()) || annotations.get(k) == Some(v) {
            continue;
        }
        annotations.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

/// Bring the new ReplicaSet's annotations up to date (`SetNewReplicaSetAnnotations`): the
/// Deployment's annotations, the revision (keeping earlier ones in `revision-history` when a
/// rollback reuses it) and, for a ReplicaSet about to be created, the replica annotations.
pub fn set_new_rs_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: &str,
    exists: bool,
) -> bool {
    let mut changed = copy_annotations(d, rs);
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let old = annotations.get(REVISION).cloned();
    let old_number = match old.as_deref() {
        None | Some("") => 0,
        Some(v) => match v.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return false,
        },
    };
    let Ok(new_number) = new_revision.parse::<i64>() else {
        return false;
    };
    if old_number < new_number {
        annotations.insert(REVISION.to_string(), new_revision.to_string());
        changed = true;
        if let Some(old) = old {
            append_history(annotations, &old);
        }
    }
    if !exists {
        let replicas = rollout::replicas(d);
        changed |=
            set_replicas_annotations(rs, replicas, replicas.saturating_add(rollout::max_surge(d)));
    }
    changed
}

/// Add `old` to the revision history, dropping the oldest entries beyond the length limit.
fn append_history(annotations: &mut BTreeMap<String, String>, old: &str) {
    let history = annotations
        .get(REVISION_HISTORY)
        .cloned()
        .unwrap_or_default();
    if history.is_empty() {
        annotations.insert(REVISION_HISTORY.to_string(), old.to_string());
        return;
    }
    let entries: Vec<&str> = history.split(',').collect();
    let mut length = history.len() + old.len() + 1;
    let mut start = 0;
    while length > MAX_HISTORY_CHARS && start < entries.len() {
        length -= entries[start].len() + 1;
        start += 1;
    }
    if length <= MAX_HISTORY_CHARS {
        let mut kept: Vec<&str> = entries[start..].to_vec();
        kept.push(old);
        annotations.insert(REVISION_HISTORY.to_string(), kept.join(","));
    }
}

/// The ReplicaSet a Deployment creates for its current template: named `<deployment>-<hash>`,
/// template and selector carrying the hash label, controlled by the Deployment.
pub fn new_replica_set(d: &Deployment, hash: &str, replicas: i32) -> ReplicaSet {
    let mut template = deployment_template(d);
    let meta = template.metadata.get_or_insert_with(ObjectMeta::default);
    meta.labels
        .get_or_insert_with(BTreeMap::new)
        .insert(HASH_LABEL.to_string(), hash.to_string());
    let labels = meta.labels.clone();
    let mut selector = d.spec.selector.clone();
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .insert(HASH_LABEL.to_string(), hash.to_string());
    let name = d.metadata.name.clone().unwrap_or_default();
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(format!("{name}-{hash}")),
            namespace: d.metadata.namespace.clone(),
            labels,
            owner_references: Some(vec![ownership::controller_ref(
                "apps/v1",
                "Deployment",
                &d.metadata,
            )]),
            ..Default::default()
        },
        spec: ReplicaSetSpec {
            replicas: Some(replicas),
            min_ready_seconds: d.spec.min_ready_seconds.filter(|m| *m != 0),
            selector,
            template: Some(template),
        },
        status: None,
    }
}

/// The old ReplicaSets `revisionHistoryLimit` lets go: the lowest revisions beyond the limit,
/// as long as they are scaled to zero, have no pods and their controller caught up
/// (`cleanupDeployment`).
pub fn history_to_delete<'a>(d: &Deployment, olds: &[&'a ReplicaSet]) -> Vec<&'a ReplicaSet> {
    let Some(limit) = d.spec.revision_history_limit.filter(|l| *l != i32::MAX) else {
        return Vec::new();
    };
    let mut alive: Vec<&ReplicaSet> = olds
        .iter()
        .copied()
        .filter(|rs| rs.metadata.deletion_timestamp.is_none())
        .collect();
    let excess = alive
        .len()
        .saturating_sub(usize::try_from(limit.max(0)).unwrap_or(0));
    alive.sort_by(|a, b| {
        revision(a)
            .unwrap_or(0)
            .cmp(&revision(b).unwrap_or(0))
            .then_with(|| by_creation(a, b))
    });
    alive
        .into_iter()
        .take(excess)
        .filter(|rs| {
            let observed = rs
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            rollout::rs_actual(rs) == 0
                && rollout::rs_replicas(rs) == 0
                && rs.metadata.generation.unwrap_or(0) <= observed
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(image: &str) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "d1", "annotations": {
                "team": "a", REVISION: "3", "kubectl.kubernetes.io/last-applied-configuration": "{}",
            }},
            "spec": {
                "replicas": 3,
                "revisionHistoryLimit": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}},
            },
        }))
        .expect("deployment")
    }

    fn rs_from(d: &Deployment, name: &str, minute: u32, revision: &str) -> ReplicaSet {
        let mut rs = new_replica_set(d, name, 0);
        rs.metadata.name = Some(name.to_string());
        rs.metadata.uid = Some(format!("uid-{name}"));
        rs.metadata.creation_timestamp =
            serde_json::from_value(json!(format!("2026-01-01T00:{minute:02}:00Z"))).ok();
        rs.metadata.annotations = Some([(REVISION.to_string(), revision.to_string())].into());
        rs
    }

    #[test]
    fn hash_is_stable_spelled_safely_and_moved_by_collisions() {
        let t = deployment_template(&deployment("busybox:1"));
        let h = compute_hash(&t, None);
        assert_eq!(h, compute_hash(&t, None));
        assert!(
            !h.is_empty() && h.bytes().all(|b| ALPHANUMS.contains(&b)),
            "{h}"
        );
        assert_ne!(h, compute_hash(&t, Some(1)));
        assert_ne!(
            h,
            compute_hash(&deployment_template(&deployment("busybox:2")), None)
        );
    }

    #[test]
    fn new_replica_set_carries_the_hash() {
        let d = deployment("busybox:1");
        let rs = new_replica_set(&d, "abc", 2);
        assert_eq!(rs.metadata.name.as_deref(), Some("web-abc"));
        let spec = &rs.spec;
        assert_eq!(
            spec.selector
                .match_labels
                .as_ref()
                .and_then(|l| l.get(HASH_LABEL))
                .map(String::as_str),
            Some("abc")
        );
        let labels = spec
            .template
            .as_ref()
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.as_ref());
        assert_eq!(
            labels.and_then(|l| l.get(HASH_LABEL)).map(String::as_str),
            Some("abc")
        );
        let owner = rs
            .metadata
            .owner_references
            .as_ref()
            .and_then(|o| o.first())
            .expect("owner");
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("Deployment", "d1", Some(true))
        );
        assert!(equal_ignore_hash(
            spec.template.as_ref().expect("template"),
            &deployment_template(&d)
        ));
    }

    #[test]
    fn the_new_replica_set_is_the_oldest_with_the_current_template() {
        let v1 = deployment("busybox:1");
        let v2 = deployment("busybox:2");
        let a = rs_from(&v1, "a", 1, "1");
        let b = rs_from(&v2, "b", 2, "2");
        let c = rs_from(&v1, "c", 3, "3");
        assert_eq!(
            find_new(&v1, &[&c, &b, &a]).and_then(|r| r.metadata.name.as_deref()),
            Some("a")
        );
        assert_eq!(
            find_new(&v2, &[&a, &b]).and_then(|r| r.metadata.name.as_deref()),
            Some("b")
        );
        let olds: Vec<_> = find_old(&v2, &[&a, &b, &c])
            .iter()
            .filter_map(|r| r.metadata.name.clone())
            .collect();
        assert_eq!(olds, ["a", "c"]);
        assert_eq!(max_revision(&[&a, &b, &c]), 3);
    }

    #[test]
    fn annotations_track_revisions_and_history() {
        let d = deployment("busybox:1");
        let mut rs = new_replica_set(&d, "abc", 0);
        assert!(set_new_rs_annotations(&d, &mut rs, "1", false));
        assert_eq!(annotation(&rs, REVISION), Some("1"));
        assert_eq!(annotation(&rs, "team"), Some("a"));
        assert_eq!(
            annotation(&rs, "kubectl.kubernetes.io/last-applied-configuration"),
            None
        );
        assert_eq!(
            (
                annotation(&rs, DESIRED_REPLICAS),
                annotation(&rs, MAX_REPLICAS)
            ),
            (Some("3"), Some("4"))
        );
        assert!(!set_new_rs_annotations(&d, &mut rs, "1", true));
        assert!(set_new_rs_annotations(&d, &mut rs, "4", true));
        assert_eq!(
            (annotation(&rs, REVISION), annotation(&rs, REVISION_HISTORY)),
            (Some("4"), Some("1"))
        );
        assert!(set_new_rs_annotations(&d, &mut rs, "6", true));
        assert_eq!(annotation(&rs, REVISION_HISTORY), Some("1,4"));
    }

    #[test]
    fn history_beyond_the_limit_goes_lowest_revision_first() {
        let d = deployment("busybox:1");
        let old1 = rs_from(&d, "old1", 1, "1");
        let old2 = rs_from(&d, "old2", 2, "2");
        let mut busy = rs_from(&d, "busy", 0, "0");
        busy.spec.replicas = Some(1);
        let gone: Vec<_> = history_to_delete(&d, &[&old2, &old1])
            .iter()
            .filter_map(|r| r.metadata.name.clone())
            .collect();
        assert_eq!(gone, ["old1"]);
        let gone: Vec<_> = history_to_delete(&d, &[&old2, &old1, &busy])
            .iter()
            .filter_map(|r| r.metadata.name.clone())
            .collect();
        assert_eq!(gone, ["old1"]);
    }
}
