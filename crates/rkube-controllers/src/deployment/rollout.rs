//! Rollout arithmetic, pure and without I/O (Kubernetes'
//! `deploymentutil` and the scaling parts of `rolling.go`/`sync.go`):
//! maxSurge/maxUnavailable resolution, how far the new ReplicaSet may grow,
//! how far the old ones may shrink, and proportional scaling of a
//! Deployment resized in the middle of a rollout.

use std::cmp::Ordering;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::revision::{self, DESIRED_REPLICAS, MAX_REPLICAS};
use crate::replicaset::status::desired;

/// A rollout parameter that cannot be resolved.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A string maxSurge/maxUnavailable without `%`.
    #[error("invalid value for IntOrString: invalid type: string is not a percentage")]
    NotAPercentage,
    /// A percentage that is not a number.
    #[error("invalid value for IntOrString: invalid value {0:?}")]
    BadPercentage(String),
    /// A strategy type other than RollingUpdate or Recreate.
    #[error("deployment type {0:?} isn't supported")]
    UnknownStrategy(String),
}

/// `spec.replicas` of the Deployment (defaulted to 1 by the API server).
pub fn replicas(d: &Deployment) -> i32 {
    d.spec.replicas.unwrap_or(1)
}

/// The strategy type; the API server defaults it to RollingUpdate.
pub fn strategy(d: &Deployment) -> &str {
    d.spec
        .strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
}

/// Whether the Deployment rolls out gradually.
pub fn is_rolling(d: &Deployment) -> bool {
    strategy(d) == "RollingUpdate"
}

/// `spec.replicas` of a ReplicaSet.
pub fn rs_replicas(rs: &ReplicaSet) -> i32 {
    desired(rs)
}

/// `status.replicas` of a ReplicaSet (pods it actually has).
pub fn rs_actual(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map_or(0, |s| s.replicas)
}

/// `status.readyReplicas` of a ReplicaSet.
pub fn rs_ready(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0)
}

/// `status.availableReplicas` of a ReplicaSet.
pub fn rs_available(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

/// Sum of `f` over ReplicaSets.
pub fn total(rss: &[&ReplicaSet], f: fn(&ReplicaSet) -> i32) -> i32 {
    rss.iter().fold(0i32, |sum, rs| sum.saturating_add(f(rs)))
}

/// An int-or-percentage scaled against `total` (`intstr.GetScaledValueFromIntOrPercent`):
/// percentages round up for surge and down for unavailability.
pub fn scaled_value(value: &IntOrString, total: i32, round_up: bool) -> Result<i32, Error> {
    match value {
        IntOrString::Int(n) => Ok(*n),
        IntOrString::String(s) => {
            let Some(number) = s.strip_suffix('%') else {
                return Err(Error::NotAPercentage);
            };
            let percent: i64 = number
                .parse()
                .map_err(|_| Error::BadPercentage(s.clone()))?;
            let scaled = percent as f64 * f64::from(total) / 100.0;
            let rounded = if round_up {
                scaled.ceil()
            } else {
                scaled.floor()
            };
            Ok(rounded as i32)
        }
    }
}

/// maxSurge and maxUnavailable as numbers of pods (`ResolveFenceposts`); both zero becomes
/// maxUnavailable 1, so a rollout can always make progress.
pub fn resolve_fenceposts(
    surge: Option<&IntOrString>,
    unavailable: Option<&IntOrString>,
    desired: i32,
) -> Result<(i32, i32), Error> {
    let zero = IntOrString::Int(0);
    let surge = scaled_value(surge.unwrap_or(&zero), desired, true)?.max(0);
    let unavailable = scaled_value(unavailable.unwrap_or(&zero), desired, false)?.max(0);
    Ok(if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    })
}

fn fenceposts(d: &Deployment) -> (i32, i32) {
    let rolling = d
        .spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref());
    let surge = rolling.and_then(|r| r.max_surge.as_ref());
    let unavailable = rolling.and_then(|r| r.max_unavailable.as_ref());
    resolve_fenceposts(surge, unavailable, replicas(d)).unwrap_or((0, 0))
}

/// Pods the rollout may add above `spec.replicas` (0 unless RollingUpdate).
pub fn max_surge(d: &Deployment) -> i32 {
    if is_rolling(d) { fenceposts(d).0 } else { 0 }
}

/// Pods that may be unavailable during the rollout, at most `spec.replicas` (0 unless RollingUpdate).
pub fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

/// How many replicas the new ReplicaSet should have now (`NewRSNewReplicas`).
pub fn new_rs_new_replicas(
    d: &Deployment,
    all: &[&ReplicaSet],
    new: &ReplicaSet,
) -> Result<i32, Error> {
    match strategy(d) {
        "RollingUpdate" => {
            let rolling = d
                .spec
                .strategy
                .as_ref()
                .and_then(|s| s.rolling_update.as_ref());
            let zero = IntOrString::Int(0);
            let surge = scaled_value(
                rolling.and_then(|r| r.max_surge.as_ref()).unwrap_or(&zero),
                replicas(d),
                true,
            )?
            .max(0);
            let current = total(all, rs_replicas);
            let max_total = replicas(d).saturating_add(surge);
            if current >= max_total {
                return Ok(rs_replicas(new));
            }
            let up = max_total
                .saturating_sub(current)
                .min(replicas(d).saturating_sub(rs_replicas(new)));
            Ok(rs_replicas(new).saturating_add(up))
        }
        "Recreate" => Ok(replicas(d)),
        other => Err(Error::UnknownStrategy(other.to_string())),
    }
}

/// The size the new ReplicaSet should be scaled to in a rolling update, if any
/// (`reconcileNewReplicaSet`).
pub fn new_rs_target(
    d: &Deployment,
    all: &[&ReplicaSet],
    new: &ReplicaSet,
) -> Result<Option<i32>, Error> {
    let (current, wanted) = (rs_replicas(new), replicas(d));
    Ok(match current.cmp(&wanted) {
        Ordering::Equal => None,
        Ordering::Greater => Some(wanted),
        Ordering::Less => Some(new_rs_new_replicas(d, all, new)?),
    })
}

/// Oldest first, ties by name (`ReplicaSetsByCreationTimestamp`).
pub fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    let (ta, tb) = (
        a.metadata.creation_timestamp.as_ref(),
        b.metadata.creation_timestamp.as_ref(),
    );
    if ta == tb {
        a.metadata.name.cmp(&b.metadata.name)
    } else {
        ta.cmp(&tb)
    }
}

/// The new sizes of old ReplicaSets in a rolling update (`reconcileOldReplicaSets`): first their
/// unhealthy replicas, then as many as availability allows, oldest first. `olds` are the
/// active old ReplicaSets; one entry per ReplicaSet that changes, in the order to apply.
pub fn old_scale_down(
    d: &Deployment,
    new: &ReplicaSet,
    olds: &[&ReplicaSet],
) -> Vec<(String, i32)> {
    let mut olds: Vec<ReplicaSet> = olds.iter().map(|rs| (*rs).clone()).collect();
    olds.sort_by(by_creation);
    let old_pods = olds
        .iter()
        .fold(0i32, |sum, rs| sum.saturating_add(rs_replicas(rs)));
    if old_pods == 0 {
        return Vec::new();
    }
    let all_pods = old_pods.saturating_add(rs_replicas(new));
    let min_available = replicas(d) - max_unavailable(d);
    let new_unavailable = rs_replicas(new).saturating_sub(rs_available(new));
    let max_scaled_down = all_pods
        .saturating_sub(min_available)
        .saturating_sub(new_unavailable);
    if max_scaled_down <= 0 {
        return Vec::new();
    }
    let mut steps: Vec<(String, i32)> = Vec::new();
    let mut record = |rs: &mut ReplicaSet, to: i32| {
        rs.spec.replicas = Some(to);
        let name = rs.metadata.name.clone().unwrap_or_default();
        match steps.iter_mut().find(|(n, _)| *n == name) {
            Some(step) => step.1 = to,
            None => steps.push((name, to)),
        }
    };
    let mut cleaned = 0;
    for rs in olds.iter_mut() {
        if cleaned >= max_scaled_down {
            break;
        }
        let (size, available) = (rs_replicas(rs), rs_available(rs));
        if size == 0 || size == available {
            continue;
        }
        let down = (max_scaled_down - cleaned).min(size.saturating_sub(available));
        record(rs, size - down);
        cleaned += down;
    }
    let available = olds.iter().fold(rs_available(new), |sum, rs| {
        sum.saturating_add(rs_available(rs))
    });
    if available > min_available {
        let wanted = available.saturating_sub(min_available);
        let mut done = 0;
        for rs in olds.iter_mut() {
            if done >= wanted {
                break;
            }
            let size = rs_replicas(rs);
            if size == 0 {
                continue;
            }
            let down = size.min(wanted - done);
            record(rs, size - down);
            done += down;
        }
    }
    steps
}

/// One ReplicaSet resize of a Deployment's scaling: `annotations` when the replica annotations
/// are refreshed even without a size change (`scaleReplicaSet` rather than
/// `scaleReplicaSetAndRecordEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The ReplicaSet to resize.
    pub name: String,
    /// Its new `spec.replicas`.
    pub replicas: i32,
    /// Refresh the replica annotations even when the size stays.
    pub annotations: bool,
}

fn active<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> Vec<&'a ReplicaSet> {
    rss.into_iter().filter(|rs| rs_replicas(rs) > 0).collect()
}

fn name(rs: &ReplicaSet) -> String {
    rs.metadata.name.clone().unwrap_or_default()
}

/// The only active ReplicaSet, or the newest when none is active (`FindActiveOrLatest`).
pub fn active_or_latest<'a>(
    new: Option<&'a ReplicaSet>,
    olds: &[&'a ReplicaSet],
) -> Option<&'a ReplicaSet> {
    let mut sorted: Vec<&ReplicaSet> = olds.to_vec();
    sorted.sort_by(|a, b| by_creation(b, a));
    let all = active(sorted.iter().copied().chain(new));
    match all.len() {
        0 => new.or(sorted.first().copied()),
        1 => all.first().copied(),
        _ => None,
    }
}

/// Whether the new ReplicaSet has all replicas and all of them available (`IsSaturated`).
pub fn is_saturated(d: &Deployment, rs: &ReplicaSet) -> bool {
    let annotated = revision::annotation(rs, DESIRED_REPLICAS).and_then(|v| v.parse::<i32>().ok());
    rs_replicas(rs) == replicas(d)
        && annotated == Some(replicas(d))
        && rs_available(rs) == replicas(d)
}

/// Whether `spec.replicas` changed since an active ReplicaSet was last sized (`isScalingEvent`).
pub fn is_scaling_event(d: &Deployment, all: &[&ReplicaSet]) -> bool {
    active(all.iter().copied())
        .into_iter()
        .filter_map(|rs| {
            revision::annotation(rs, DESIRED_REPLICAS).and_then(|v| v.parse::<i32>().ok())
        })
        .any(|wanted| wanted != replicas(d))
}

/// The resizes that follow a change of `spec.replicas` (`DeploymentController.scale`): the one
/// active ReplicaSet takes it all, a saturated new ReplicaSet retires the old ones, and during
/// a rolling update the difference is shared in proportion to each ReplicaSet's size.
pub fn scale(d: &Deployment, new: Option<&ReplicaSet>, olds: &[&ReplicaSet]) -> Vec<Step> {
    if let Some(rs) = active_or_latest(new, olds) {
        if rs_replicas(rs) == replicas(d) {
            return Vec::new();
        }
        return vec![Step {
            name: name(rs),
            replicas: replicas(d),
            annotations: false,
        }];
    }
    if new.is_some_and(|n| is_saturated(d, n)) {
        return active(olds.iter().copied())
            .into_iter()
            .map(|rs| Step {
                name: name(rs),
                replicas: 0,
                annotations: false,
            })
            .collect();
    }
    if !is_rolling(d) {
        return Vec::new();
    }
    let mut all = active(olds.iter().copied().chain(new));
    let current = total(&all, rs_replicas);
    let allowed = if replicas(d) > 0 {
        replicas(d).saturating_add(max_surge(d))
    } else {
        0
    };
    let to_add = allowed.saturating_sub(current);
    match to_add.cmp(&0) {
        Ordering::Greater => all.sort_by(|a, b| {
            rs_replicas(b)
                .cmp(&rs_replicas(a))
                .then_with(|| by_creation(b, a))
        }),
        Ordering::Less => all.sort_by(|a, b| {
            rs_replicas(b)
                .cmp(&rs_replicas(a))
                .then_with(|| by_creation(a, b))
        }),
        Ordering::Equal => {}
    }
    let mut added = 0;
    let mut sizes: Vec<i32> = Vec::with_capacity(all.len());
    for rs in &all {
        if to_add != 0 {
            let p = proportion(rs, d, to_add, added);
            sizes.push(rs_replicas(rs).saturating_add(p));
            added = added.saturating_add(p);
        } else {
            sizes.push(rs_replicas(rs));
        }
    }
    if to_add != 0
        && let Some(first) = sizes.first_mut()
    {
        *first = first.saturating_add(to_add.saturating_sub(added)).max(0);
    }
    all.iter()
        .zip(sizes)
        .map(|(rs, size)| Step {
            name: name(rs),
            replicas: size,
            annotations: true,
        })
        .collect()
}

/// This ReplicaSet's share of `to_add` replicas, given `added` so far (`GetReplicaSetProportion`).
fn proportion(rs: &ReplicaSet, d: &Deployment, to_add: i32, added: i32) -> i32 {
    if rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = fraction(rs, d);
    let allowed = to_add.saturating_sub(added);
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// How much this ReplicaSet grows or shrinks when the Deployment's maximum size changes from
/// the one recorded on it (`getReplicaSetFraction`).
fn fraction(rs: &ReplicaSet, d: &Deployment) -> i32 {
    if replicas(d) == 0 {
        return -rs_replicas(rs);
    }
    let max = i64::from(replicas(d)) + i64::from(max_surge(d));
    let annotated = revision::annotation(rs, MAX_REPLICAS)
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|n| *n != 0);
    let before = match annotated {
        Some(n) => i64::from(n),
        None => {
            let status_replicas = d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
            if status_replicas == 0 {
                return 0;
            }
            i64::from(status_replicas)
        }
    };
    let size = (i64::from(rs_replicas(rs)) * max) as f64 / before as f64;
    (size.round() as i32).saturating_sub(rs_replicas(rs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn deployment(replicas: i32, surge: Value, unavailable: Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "generation": 1},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}},
                "template": {"metadata": {"labels": {"app": "web"}}},
            },
        }))
        .expect("deployment")
    }

    /// A ReplicaSet created at minute `minute` with `replicas` (available ones) and annotations.
    fn rs(
        name: &str,
        minute: u32,
        replicas: i32,
        available: i32,
        annotations: Value,
    ) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": name, "creationTimestamp": format!("2026-01-01T00:{minute:02}:00Z"), "annotations": annotations},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"replicas": replicas, "availableReplicas": available},
        }))
        .expect("replicaset")
    }

    fn int(n: i32) -> IntOrString {
        IntOrString::Int(n)
    }

    fn pct(s: &str) -> IntOrString {
        IntOrString::String(s.into())
    }

    #[test]
    fn percentages_round_surge_up_and_unavailable_down() {
        assert_eq!(scaled_value(&pct("25%"), 10, true), Ok(3));
        assert_eq!(scaled_value(&pct("25%"), 10, false), Ok(2));
        assert_eq!(scaled_value(&pct("0%"), 10, true), Ok(0));
        assert_eq!(scaled_value(&int(4), 10, false), Ok(4));
        assert_eq!(
            scaled_value(&pct("x%"), 10, false),
            Err(Error::BadPercentage("x%".into()))
        );
        assert_eq!(
            scaled_value(&pct("5"), 10, false),
            Err(Error::NotAPercentage)
        );
        assert_eq!(
            resolve_fenceposts(Some(&pct("25%")), Some(&pct("25%")), 1),
            Ok((1, 0))
        );
        assert_eq!(
            resolve_fenceposts(Some(&int(0)), Some(&pct("25%")), 3),
            Ok((0, 1))
        );
        assert_eq!(resolve_fenceposts(None, None, 3), Ok((0, 1)));
        assert_eq!(
            resolve_fenceposts(Some(&pct("100%")), Some(&int(2)), 3),
            Ok((3, 2))
        );
    }

    #[test]
    fn max_unavailable_is_capped_and_zero_for_recreate() {
        assert_eq!(max_unavailable(&deployment(2, json!(0), json!(5))), 2);
        assert_eq!(max_unavailable(&deployment(0, json!(0), json!(1))), 0);
        let mut d = deployment(4, json!(1), json!(1));
        if let Some(s) = d.spec.strategy.as_mut() {
            s.type_ = Some("Recreate".into());
        }
        assert_eq!((max_surge(&d), max_unavailable(&d)), (0, 0));
        let new = rs("new", 2, 0, 0, json!({}));
        assert_eq!(new_rs_new_replicas(&d, &[&new], &new), Ok(4));
    }

    #[test]
    fn new_replica_set_grows_within_surge() {
        let d = deployment(4, json!(1), json!(1));
        let old = rs("old", 1, 4, 4, json!({}));
        let new = rs("new", 2, 0, 0, json!({}));
        assert_eq!(new_rs_target(&d, &[&old, &new], &new), Ok(Some(1)));
        let old = rs("old", 1, 3, 3, json!({}));
        let new = rs("new", 2, 2, 0, json!({}));
        assert_eq!(new_rs_target(&d, &[&old, &new], &new), Ok(Some(2)));
        let new = rs("new", 2, 5, 0, json!({}));
        assert_eq!(new_rs_target(&d, &[&new], &new), Ok(Some(4)));
        let new = rs("new", 2, 4, 0, json!({}));
        assert_eq!(new_rs_target(&d, &[&new], &new), Ok(None));
    }

    #[test]
    fn old_replica_sets_shrink_within_unavailability() {
        let d = deployment(4, json!(1), json!(1));
        // 4 old available + 1 new not yet available: one old may go (min available 3).
        let old = rs("old", 1, 4, 4, json!({}));
        let new = rs("new", 2, 1, 0, json!({}));
        assert_eq!(
            old_scale_down(&d, &new, &[&old]),
            vec![("old".to_string(), 3)]
        );
        // 3 old available + 2 new unavailable: nothing may go.
        let old = rs("old", 1, 3, 3, json!({}));
        let new = rs("new", 2, 2, 0, json!({}));
        assert_eq!(old_scale_down(&d, &new, &[&old]), vec![]);
        // The new pods became available: two old may go.
        let new = rs("new", 2, 2, 2, json!({}));
        assert_eq!(
            old_scale_down(&d, &new, &[&old]),
            vec![("old".to_string(), 1)]
        );
    }

    #[test]
    fn unhealthy_old_replicas_go_first_oldest_first() {
        let d = deployment(4, json!(0), json!(1));
        let oldest = rs("oldest", 1, 2, 0, json!({}));
        let older = rs("older", 2, 2, 2, json!({}));
        let new = rs("new", 3, 0, 0, json!({}));
        // all 4, min available 3, max scaled down 1: one unhealthy replica of `oldest` goes.
        assert_eq!(
            old_scale_down(&d, &new, &[&older, &oldest]),
            vec![("oldest".to_string(), 1)]
        );
    }

    #[test]
    fn scaling_up_mid_rollout_is_proportional() {
        // Kubernetes' documented example: 10 replicas, maxSurge 3, 8 old + 5 new, scaled to 15.
        let d = deployment(15, json!(3), json!(2));
        let old = rs("old", 1, 8, 8, json!({MAX_REPLICAS: "13"}));
        let new = rs("new", 2, 5, 0, json!({MAX_REPLICAS: "13"}));
        let steps = scale(&d, Some(&new), &[&old]);
        let sizes: Vec<(&str, i32)> = steps
            .iter()
            .map(|s| (s.name.as_str(), s.replicas))
            .collect();
        assert_eq!(sizes, [("old", 11), ("new", 7)]);
        assert!(steps.iter().all(|s| s.annotations));
    }

    #[test]
    fn scaling_down_mid_rollout_is_proportional() {
        let d = deployment(5, json!(1), json!(0));
        let old = rs("old", 1, 6, 6, json!({MAX_REPLICAS: "11"}));
        let new = rs("new", 2, 5, 0, json!({MAX_REPLICAS: "11"}));
        let sizes: Vec<i32> = scale(&d, Some(&new), &[&old])
            .iter()
            .map(|s| s.replicas)
            .collect();
        assert_eq!(sizes, [3, 3]);
    }

    #[test]
    fn single_active_replica_set_takes_the_whole_scale() {
        let d = deployment(5, json!(1), json!(0));
        let old = rs("old", 1, 0, 0, json!({}));
        let new = rs("new", 2, 3, 3, json!({}));
        assert_eq!(
            scale(&d, Some(&new), &[&old]),
            vec![Step {
                name: "new".into(),
                replicas: 5,
                annotations: false
            }]
        );
        let none_active = rs("new", 2, 0, 0, json!({}));
        assert_eq!(
            scale(&d, Some(&none_active), &[&old])
                .first()
                .map(|s| s.name.as_str()),
            Some("new")
        );
        assert_eq!(
            scale(&d, None, &[&old])
                .first()
                .map(|s| (s.name.as_str(), s.replicas)),
            Some(("old", 5))
        );
    }

    #[test]
    fn saturated_new_replica_set_retires_old_ones() {
        let d = deployment(3, json!(1), json!(0));
        let old = rs("old", 1, 2, 2, json!({}));
        let new = rs("new", 2, 3, 3, json!({DESIRED_REPLICAS: "3"}));
        assert!(is_saturated(&d, &new));
        assert_eq!(
            scale(&d, Some(&new), &[&old]),
            vec![Step {
                name: "old".into(),
                replicas: 0,
                annotations: false
            }]
        );
    }

    #[test]
    fn scaling_events_compare_desired_annotations() {
        let d = deployment(3, json!(1), json!(0));
        let a = rs("a", 1, 3, 3, json!({DESIRED_REPLICAS: "3"}));
        let b = rs("b", 2, 1, 0, json!({DESIRED_REPLICAS: "2"}));
        let idle = rs("c", 3, 0, 0, json!({DESIRED_REPLICAS: "9"}));
        assert!(!is_scaling_event(&d, &[&a, &idle]));
        assert!(is_scaling_event(&d, &[&a, &b]));
    }
}
