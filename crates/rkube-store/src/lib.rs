//! The datastore behind the API server: an etcd-v3-shaped key/value store of
//! bytes with one strictly increasing revision, plus its backends.
//!
//! Owns durability, revisions, history and watch delivery. It must not know
//! anything about Kubernetes objects: values are opaque bytes.
//!
//! Revisions: an empty store is at revision 0; every successful write
//! (create, update, delete) takes the next revision, so the first write gets
//! revision 1. Failed writes do not consume a revision.
//!
//! Compaction: after `compact(r)`, `compacted_revision()` returns `r` (it is
//! 0 initially); a list at a revision below `r` fails with
//! [`Error::Compacted`], a list at `r` or later works; `watch(prefix, after)`
//! needs `after >= r` (it delivers the events with revision > `after`), else
//! it fails with [`Error::Compacted`]. A list at a revision above the current
//! one fails with [`Error::FutureRevision`]; a watch from a future revision is
//! allowed and waits for the events to happen.

pub mod embedded;
pub mod testing;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

/// One stored key at one revision, as the API server needs to fill
/// `resourceVersion` (== `mod_revision`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    /// The full key, e.g. `/registry/pods/default/web-0`.
    pub key: String,
    /// The stored bytes, opaque to the store.
    pub value: Bytes,
    /// The revision that created the key (it survives updates, not deletes).
    pub create_revision: i64,
    /// The revision of the last write to the key (the `resourceVersion`).
    pub mod_revision: i64,
}

/// A change delivered to watchers, in revision order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Created (`prev` is None) or updated (`prev` is the old value).
    Put {
        kv: KeyValue,
        prev: Option<KeyValue>,
    },
    /// Deleted at `revision`; `prev` is the last value before the delete.
    Delete { prev: KeyValue, revision: i64 },
}

impl Event {
    /// The revision at which this change happened.
    pub fn revision(&self) -> i64 {
        match self {
            Event::Put { kv, .. } => kv.mod_revision,
            Event::Delete { revision, .. } => *revision,
        }
    }

    /// The key this change is about.
    pub fn key(&self) -> &str {
        match self {
            Event::Put { kv, .. } => &kv.key,
            Event::Delete { prev, .. } => &prev.key,
        }
    }
}

/// Options of a consistent, optionally paginated range read.
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    /// Read at this revision (must not be compacted); None = newest.
    pub revision: Option<i64>,
    /// At most this many keys; 0 = unlimited.
    pub limit: usize,
    /// Start at this key (inclusive), to resume a paginated read: pass the
    /// last key returned plus `"\0"`, and the first page's `revision`.
    pub start_key: Option<String>,
}

/// The result of a range read: the snapshot revision it was taken at.
#[derive(Clone, Debug)]
pub struct ListResult {
    /// The keys found, in key order.
    pub kvs: Vec<KeyValue>,
    /// The revision the snapshot was taken at (pass it to read further pages).
    pub revision: i64,
    /// More keys under the prefix follow the last one returned.
    pub more: bool,
}

/// A stream of changes; ends only on error (after yielding it) or when the
/// store shuts down.
pub type WatchStream = BoxStream<'static, Result<Event>>;

/// Errors every backend maps its failures to, so that the API server can
/// turn them into the right HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `create` of a key that exists.
    #[error("key {0} already exists")]
    AlreadyExists(String),
    /// `update` or `delete` of a key that does not exist.
    #[error("key {0} not found")]
    NotFound(String),
    /// The expected mod revision did not match; carries the current one.
    #[error("key {key} was modified (expected revision {expected}, current {current})")]
    Conflict {
        key: String,
        expected: i64,
        current: i64,
    },
    /// The requested revision is older than the compaction point.
    #[error("revision {requested} has been compacted (oldest available {compacted})")]
    Compacted { requested: i64, compacted: i64 },
    /// The requested revision is newer than the store's current revision.
    #[error("revision {requested} is in the future (current {current})")]
    FutureRevision { requested: i64, current: i64 },
    /// The backend cannot serve (I/O failure, full disk, closed): the write
    /// was not acknowledged and is not visible.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The datastore contract (see DESIGN.md, "Datastore contract"); every
/// backend passes `testing::suite`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Create `key`; fails with `AlreadyExists` if it is present.
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue>;
    /// Replace `key` if its mod revision is `expected_revision`.
    async fn update(&self, key: &str, value: Bytes, expected_revision: i64) -> Result<KeyValue>;
    /// Delete `key` (if `expected_revision` is given, only at that revision);
    /// returns the deleted value and the delete's revision.
    async fn delete(&self, key: &str, expected_revision: Option<i64>) -> Result<(KeyValue, i64)>;
    /// The newest value of `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;
    /// Keys under `prefix` in key order, as a consistent snapshot.
    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult>;
    /// Every change under `prefix` with a revision above `after_revision`,
    /// in order, without gaps; fails with `Compacted` if `after_revision` is
    /// below the compaction point (also later, in the stream, if the watcher
    /// falls behind it).
    async fn watch(&self, prefix: &str, after_revision: i64) -> Result<WatchStream>;
    /// The newest revision (the revision of the last write).
    async fn current_revision(&self) -> Result<i64>;
    /// The compaction point: the oldest revision still listable, and the
    /// oldest `after_revision` a watch accepts (0 before any compaction).
    async fn compacted_revision(&self) -> Result<i64>;
    /// Drop the history needed to read below `revision`. Fails with
    /// `FutureRevision` above the current revision and with `Compacted` at or
    /// below the current compaction point.
    async fn compact(&self, revision: i64) -> Result<()>;
}
