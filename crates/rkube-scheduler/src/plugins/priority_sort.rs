//! PrioritySort: the active queue pops higher-priority pods first, and
//! among equals the one that has waited longest.

use crate::framework::{Plugin, QueueSortPlugin, QueuedPodInfo};

/// The queue-sort plugin.
pub struct PrioritySort;

/// Plugin name.
pub const NAME: &str = "PrioritySort";

impl Plugin for PrioritySort {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl QueueSortPlugin for PrioritySort {
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool {
        a.pod.priority > b.pod.priority
            || (a.pod.priority == b.pod.priority && a.timestamp < b.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pod;
    use std::time::{Duration, Instant};

    fn queued(name: &str, priority: i32, at: Instant) -> QueuedPodInfo {
        QueuedPodInfo {
            pod: pod(name).priority(priority).info(),
            timestamp: at,
            attempts: 0,
            initial_attempt: None,
            unschedulable_plugins: Default::default(),
        }
    }

    #[test]
    fn higher_priority_then_older_first() {
        let t = Instant::now();
        let later = t + Duration::from_secs(1);
        let s = PrioritySort;
        assert!(s.less(&queued("a", 10, later), &queued("b", 1, t)));
        assert!(s.less(&queued("a", 1, t), &queued("b", 1, later)));
        assert!(!s.less(&queued("a", 1, later), &queued("b", 1, t)));
        assert!(!s.less(&queued("a", 1, t), &queued("b", 1, t)));
    }
}
