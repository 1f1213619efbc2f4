//! Expectations (Kubernetes' `UIDTrackingControllerExpectations`): after a
//! ReplicaSet creates or deletes pods it does nothing more until its pod
//! cache has seen those changes, so a burst of watch events arriving before
//! the cache catches up cannot make it create or delete twice.
//!
//! Pods are tracked by uid. A creation is observed once the cache holds the
//! pod (or any watch event for it went by); a deletion once the cache no
//! longer holds it or shows it terminating. Expectations expire after
//! [`TIMEOUT`] in case an event was lost.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long unobserved expectations hold a ReplicaSet back (Kubernetes' `ExpectationsTimeout`).
pub const TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// A pod the controller created or deleted: namespace-local name and uid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PodId {
    /// The pod's name in the ReplicaSet's namespace.
    pub name: String,
    /// The pod's uid, which tells a recreated pod of the same name apart.
    pub uid: String,
}

/// How a pod appears in the cache right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Not in the cache (never seen, or deleted).
    Absent,
    /// In the cache.
    Present,
    /// In the cache with a deletionTimestamp.
    Terminating,
}

#[derive(Debug)]
struct Entry {
    creations: Vec<PodId>,
    deletions: Vec<PodId>,
    since: Instant,
}

/// Outstanding creations and deletions, per ReplicaSet key (`namespace/name`).
#[derive(Debug, Default)]
pub struct Expectations {
    entries: HashMap<String, Entry>,
}

impl Expectations {
    /// Record pods just created for `key`.
    pub fn created(&mut self, key: &str, pods: Vec<PodId>, now: Instant) {
        if !pods.is_empty() {
            self.entry(key, now).creations.extend(pods);
        }
    }

    /// Record pods about to be deleted for `key`.
    pub fn deleting(&mut self, key: &str, pods: Vec<PodId>, now: Instant) {
        if !pods.is_empty() {
            self.entry(key, now).deletions.extend(pods);
        }
    }

    /// A deletion that failed will not be observed: stop waiting for it.
    pub fn deletion_failed(&mut self, key: &str, uid: &str) {
        if let Some(e) = self.entries.get_mut(key) {
            e.deletions.retain(|p| p.uid != uid);
        }
    }

    /// A watch event for a pod controlled by `key` went by.
    pub fn observe(&mut self, key: &str, uid: &str, terminating: bool) {
        if let Some(e) = self.entries.get_mut(key) {
            e.creations.retain(|p| p.uid != uid);
            if terminating {
                e.deletions.retain(|p| p.uid != uid);
            }
        }
    }

    /// Whether `key` may act again: everything it did has been seen in the cache (`seen`), or
    /// the expectations expired. Expired expectations of every key are dropped on the way
    /// (those of deleted ReplicaSets included).
    pub fn satisfied(&mut self, key: &str, now: Instant, seen: impl Fn(&PodId) -> Seen) -> bool {
        self.entries
            .retain(|_, e| now.saturating_duration_since(e.since) <= TIMEOUT);
        let Some(e) = self.entries.get_mut(key) else {
            return true;
        };
        e.creations.retain(|p| seen(p) == Seen::Absent);
        e.deletions.retain(|p| seen(p) == Seen::Present);
        if e.creations.is_empty() && e.deletions.is_empty() {
            self.entries.remove(key);
            return true;
        }
        false
    }

    fn entry(&mut self, key: &str, now: Instant) -> &mut Entry {
        let e = self
            .entries
            .entry(key.to_string())
            .or_insert_with(|| Entry {
                creations: Vec::new(),
                deletions: Vec::new(),
                since: now,
            });
        e.since = now;
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: &str) -> PodId {
        PodId {
            name: n.into(),
            uid: format!("uid-{n}"),
        }
    }

    #[test]
    fn creations_hold_until_seen() {
        let mut e = Expectations::default();
        let t0 = Instant::now();
        assert!(e.satisfied("ns/rs", t0, |_| Seen::Absent));
        e.created("ns/rs", vec![id("a"), id("b")], t0);
        assert!(!e.satisfied("ns/rs", t0, |_| Seen::Absent));
        assert!(!e.satisfied("ns/rs", t0, |p| if p.name == "a" {
            Seen::Present
        } else {
            Seen::Absent
        }));
        e.observe("ns/rs", "uid-b", false);
        assert!(e.satisfied("ns/rs", t0, |_| Seen::Absent));
    }

    #[test]
    fn deletions_hold_until_gone_or_terminating() {
        let mut e = Expectations::default();
        let t0 = Instant::now();
        e.deleting("ns/rs", vec![id("a"), id("b"), id("c")], t0);
        assert!(!e.satisfied("ns/rs", t0, |_| Seen::Present));
        e.deletion_failed("ns/rs", "uid-c");
        assert!(!e.satisfied("ns/rs", t0, |p| if p.name == "a" {
            Seen::Absent
        } else {
            Seen::Present
        }));
        assert!(e.satisfied("ns/rs", t0, |_| Seen::Terminating));
    }

    #[test]
    fn expectations_expire() {
        let mut e = Expectations::default();
        let t0 = Instant::now();
        e.created("ns/rs", vec![id("a")], t0);
        assert!(!e.satisfied("ns/rs", t0 + Duration::from_secs(60), |_| Seen::Absent));
        assert!(
            e.satisfied("ns/rs", t0 + TIMEOUT + Duration::from_secs(1), |_| {
                Seen::Absent
            })
        );
        e.created("ns/gone", vec![id("b")], t0);
        assert!(
            e.satisfied("ns/rs", t0 + TIMEOUT + Duration::from_secs(1), |_| {
                Seen::Absent
            })
        );
        assert!(
            e.entries.is_empty(),
            "expired expectations of other keys are dropped"
        );
    }
}
