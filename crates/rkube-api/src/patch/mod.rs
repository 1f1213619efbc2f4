//! Patch logic that needs API knowledge: Kubernetes' strategic merge patch
//! (`application/strategic-merge-patch+json`) and the per-type schema it
//! follows. JSON patch and JSON merge patch need none and live with the
//! API server.

#[rustfmt::skip]
mod generated;
pub mod schema;
pub mod strategic;

#[cfg(test)]
mod tests;
