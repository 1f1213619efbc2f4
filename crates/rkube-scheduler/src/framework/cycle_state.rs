//! Per-cycle scratch space: what a plugin computes at pre-filter or
//! pre-score and reads back at filter or score, keyed by plugin. Cloned
//! whole when preemption or nominated pods simulate a different node.

use std::any::Any;

/// Data a plugin keeps for one scheduling cycle.
pub trait StateData: Any + Send + Sync {
    /// A deep copy, for simulations that change the data.
    fn clone_data(&self) -> Box<dyn StateData>;
    /// For downcasting.
    fn as_any(&self) -> &dyn Any;
    /// For downcasting to change the data.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + Send + Sync> StateData for T {
    fn clone_data(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The cycle state of one pod's scheduling attempt. A handful of entries, read once per node and
/// plugin, so plain vectors beat hashing.
#[derive(Default)]
pub struct CycleState {
    data: Vec<(&'static str, Box<dyn StateData>)>,
    skip_filter: Vec<&'static str>,
    skip_score: Vec<&'static str>,
}

impl Clone for CycleState {
    fn clone(&self) -> CycleState {
        CycleState {
            data: self
                .data
                .iter()
                .map(|(k, v)| (*k, (**v).clone_data()))
                .collect(),
            skip_filter: self.skip_filter.clone(),
            skip_score: self.skip_score.clone(),
        }
    }
}

impl CycleState {
    /// An empty state.
    pub fn new() -> CycleState {
        CycleState::default()
    }

    /// Stores a plugin's data under `key`.
    pub fn write<T: StateData>(&mut self, key: &'static str, value: T) {
        self.data.retain(|(k, _)| *k != key);
        self.data.push((key, Box::new(value)));
    }

    /// Reads a plugin's data, if present and of that type.
    pub fn read<T: 'static>(&self, key: &'static str) -> Option<&T> {
        self.data
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| (**v).as_any().downcast_ref::<T>())
    }

    /// Reads a plugin's data for changing it.
    pub fn read_mut<T: 'static>(&mut self, key: &'static str) -> Option<&mut T> {
        self.data
            .iter_mut()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| (**v).as_any_mut().downcast_mut::<T>())
    }

    /// Marks a plugin's filter as not applying to this pod (its pre-filter returned Skip).
    pub(crate) fn skip_filter(&mut self, plugin: &'static str) {
        self.skip_filter.push(plugin);
    }

    /// Whether a plugin's filter is skipped.
    pub(crate) fn filter_skipped(&self, plugin: &'static str) -> bool {
        self.skip_filter.contains(&plugin)
    }

    /// Marks a plugin's score as not applying (its pre-score returned Skip).
    pub(crate) fn skip_score(&mut self, plugin: &'static str) {
        self.skip_score.push(plugin);
    }

    /// Whether a plugin's score is skipped.
    pub(crate) fn score_skipped(&self, plugin: &'static str) -> bool {
        self.skip_score.contains(&plugin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_reads_and_deep_clones() {
        let mut s = CycleState::new();
        s.write("counts", vec![1, 2, 3]);
        assert_eq!(s.read::<Vec<i32>>("counts"), Some(&vec![1, 2, 3]));
        assert!(s.read::<String>("counts").is_none());
        let mut copy = s.clone();
        if let Some(v) = copy.read_mut::<Vec<i32>>("counts") {
            v.push(4);
        }
        assert_eq!(s.read::<Vec<i32>>("counts").map(Vec::len), Some(3));
        assert_eq!(copy.read::<Vec<i32>>("counts").map(Vec::len), Some(4));
        s.skip_filter("NodePorts");
        assert!(s.clone().filter_skipped("NodePorts"));
    }
}
