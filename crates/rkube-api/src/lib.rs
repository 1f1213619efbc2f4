//! Kubernetes API knowledge without I/O: the served resource table,
//! selectors, defaulting, validation with field paths, strategic merge
//! patch, `Status` errors and the columns and cells of server-side printing
//! (`Table`).
//!
//! Everything here is pure and unit-tested directly; it must never touch the
//! network, the disk or a clock it was not handed.

pub use k8s_openapi;

pub mod defaults;
pub mod field_error;
pub mod fields;
pub mod patch;
pub mod resources;
pub mod selector;
pub mod status;
pub mod table;
pub mod validation;

pub use field_error::{FieldError, FieldErrorKind};
pub use resources::ResourceInfo;
pub use status::ApiError;
