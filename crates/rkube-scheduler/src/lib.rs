//! The scheduler (`default-scheduler`): places pending pods on nodes the
//! way kube-scheduler does. It owns the plugin framework (`framework/`),
//! the plugins (`plugins/`, one file each: node readiness and
//! cordoning, taints, node affinity, host ports, resource fit and
//! least-allocated / balanced scoring, pod (anti-)affinity, topology
//! spread, preemption), the scheduling queue with back-off, the cache of
//! nodes and placed pods, and the loop that binds through `pods/binding`.
//!
//! It talks to the API server only through the `kube::Client` it is given
//! (watches, `pods/binding`, `pods/status`, Events, preemption deletes); it
//! must not reach into the API server's memory or the datastore. Plugins
//! are pure: no I/O, no clock, no randomness of their own.

pub mod api;
#[cfg(test)]
mod benchmark;
pub mod binder;
pub mod cache;
pub mod framework;
pub mod plugins;
pub mod quantity;
pub mod queue;
pub mod resource;
mod scheduler;
pub mod selectors;
#[cfg(test)]
mod testing;

pub use scheduler::run;
