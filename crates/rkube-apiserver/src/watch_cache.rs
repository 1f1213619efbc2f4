//! The watch cache: one store watch over `/registry/` feeds an in-memory
//! copy of every object and a bounded history of changes per resource, from
//! which lists and watches are served.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use rkube_api::{ApiError, ResourceInfo, resources};
use rkube_store::{Event, KeyValue, ListOptions, Store};
use serde_json::Value;
use tokio::sync::{broadcast, watch};

/// Changes kept per resource for watches that resume from a resourceVersion.
const HISTORY_PER_RESOURCE: usize = 10_000;
/// Events buffered per watcher before it is cut off (it then resumes).
const BROADCAST_CAPACITY: usize = 16_384;
/// How long a read waits for the cache to reach a resourceVersion.
const FRESHNESS_WAIT: Duration = Duration::from_secs(3);

/// An object as served: its JSON with `resourceVersion` filled, plus what
/// filtering needs without re-parsing.
#[derive(Debug)]
pub struct CachedObject {
    pub key: String,
    pub namespace: Option<String>,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub json: Bytes,
    pub revision: i64,
}

impl CachedObject {
    /// Decode a stored value and fill `metadata.resourceVersion` with `revision`.
    pub fn from_stored(key: &str, value: &[u8], revision: i64) -> Result<CachedObject, ApiError> {
        let mut obj: Value = serde_json::from_slice(value)
            .map_err(|e| ApiError::internal(format!("stored object {key} is not JSON: {e}")))?;
        crate::object::set_resource_version(&mut obj, revision);
        Ok(Self::from_value(key, &obj, revision))
    }

    /// Build from an object that already carries its resourceVersion.
    pub fn from_value(key: &str, obj: &Value, revision: i64) -> CachedObject {
        let meta = &obj["metadata"];
        let labels = meta["labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        CachedObject {
            key: key.to_string(),
            namespace: meta["namespace"].as_str().map(str::to_string),
            name: meta["name"].as_str().unwrap_or_default().to_string(),
            labels,
            json: Bytes::from(serde_json::to_vec(obj).unwrap_or_default()),
            revision,
        }
    }

    /// The object as JSON, for field selectors and handlers.
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }

    fn from_kv(kv: &KeyValue) -> Result<CachedObject, ApiError> {
        Self::from_stored(&kv.key, &kv.value, kv.mod_revision)
    }
}

/// Watch event types as they appear on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    /// The `type` field of a watch event.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change of one object, with the previous state for selector transitions.
#[derive(Debug)]
pub struct CacheEvent {
    pub kind: EventType,
    pub object: Arc<CachedObject>,
    pub prev: Option<Arc<CachedObject>>,
    pub revision: i64,
}

/// What a watcher receives: a change, or the news that it must start over.
#[derive(Clone, Debug)]
pub enum Broadcast {
    Change(Arc<CacheEvent>),
    Reset,
}

#[derive(Default)]
struct ResourceCache {
    objects: BTreeMap<String, Arc<CachedObject>>,
    history: VecDeque<Arc<CacheEvent>>,
    /// Every change after this revision is in `history`.
    history_start: i64,
}

#[derive(Default)]
struct State {
    resources: HashMap<String, ResourceCache>,
    revision: i64,
}

/// The cache over every served resource.
pub struct WatchCache {
    state: RwLock<State>,
    events: broadcast::Sender<Broadcast>,
    revision: watch::Sender<i64>,
}

/// A consistent read of one resource.
pub struct Snapshot {
    pub objects: Vec<Arc<CachedObject>>,
    pub revision: i64,
}

/// The start of a watch: what to replay, and the live feed after it.
pub struct WatchStart {
    pub replay: Vec<Arc<CacheEvent>>,
    pub current: Vec<Arc<CachedObject>>,
    pub revision: i64,
    pub live: broadcast::Receiver<Broadcast>,
}

/// The resource prefix (`/registry/pods/`) of a key.
fn prefix_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("/registry/")?;
    let end = rest.find('/')?;
    key.get(..("/registry/".len() + end + 1))
}

fn lock_err() -> ApiError {
    ApiError::internal("watch cache lock poisoned")
}

impl WatchCache {
    /// Fill the cache from the store and keep it fed until the store ends.
    pub async fn start(store: Arc<dyn Store>) -> Result<Arc<WatchCache>, ApiError> {
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        let (revision, _) = watch::channel(0);
        let cache = Arc::new(WatchCache {
            state: RwLock::new(State::default()),
            events,
            revision,
        });
        let start = cache.reload(store.as_ref()).await?;
        let feeder = cache.clone();
        tokio::spawn(async move { feeder.feed(store, start).await });
        Ok(cache)
    }

    async fn reload(&self, store: &dyn Store) -> Result<i64, ApiError> {
        let list = store
            .list("/registry/", ListOptions::default())
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
        let mut resources: HashMap<String, ResourceCache> = HashMap::new();
        for r in resources::all() {
            resources.insert(
                r.key_prefix(),
                ResourceCache {
                    history_start: list.revision,
                    ..Default::default()
                },
            );
        }
        for kv in &list.kvs {
            let Some(cache) = prefix_of(&kv.key).and_then(|p| resources.get_mut(p)) else {
                continue;
            };
            match CachedObject::from_kv(kv) {
                Ok(obj) => {
                    cache.objects.insert(kv.key.clone(), Arc::new(obj));
                }
                Err(e) => tracing::error!(key = %kv.key, error = %e, "skipping undecodable object"),
            }
        }
        let mut state = self.state.write().map_err(|_| lock_err())?;
        *state = State {
            resources,
            revision: list.revision,
        };
        drop(state);
        let _ = self.events.send(Broadcast::Reset);
        self.revision.send_replace(list.revision);
        Ok(list.revision)
    }

    async fn feed(&self, store: Arc<dyn Store>, mut from: i64) {
        loop {
            match store.watch("/registry/", from).await {
                Ok(mut stream) => {
                    while let Some(item) = stream.next().await {
                        match item {
                            Ok(event) => {
                                from = event.revision();
                                self.apply(&event);
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "store watch failed; reloading the watch cache");
                                break;
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "store watch could not start; reloading the watch cache")
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            match self.reload(store.as_ref()).await {
                Ok(rev) => from = rev,
                Err(e) => tracing::error!(error = %e, "watch cache reload failed"),
            }
        }
    }

    fn apply(&self, event: &Event) {
        let revision = event.revision();
        let Ok(mut state) = self.state.write() else {
            return;
        };
        state.revision = revision;
        if let Some(cache) = prefix_of(event.key()).and_then(|p| state.resources.get_mut(p))
            && let Some(ev) = Self::to_cache_event(cache, event)
        {
            let ev = Arc::new(ev);
            cache.history.push_back(ev.clone());
            if cache.history.len() > HISTORY_PER_RESOURCE
                && let Some(old) = cache.history.pop_front()
            {
                cache.history_start = old.revision;
            }
            let _ = self.events.send(Broadcast::Change(ev));
        }
        drop(state);
        self.revision.send_replace(revision);
    }

    fn to_cache_event(cache: &mut ResourceCache, event: &Event) -> Option<CacheEvent> {
        match event {
            Event::Put { kv, .. } => {
                let obj = Arc::new(CachedObject::from_kv(kv).ok()?);
                let prev = cache.objects.insert(kv.key.clone(), obj.clone());
                let kind = if prev.is_some() {
                    EventType::Modified
                } else {
                    EventType::Added
                };
                Some(CacheEvent {
                    kind,
                    object: obj,
                    prev,
                    revision: kv.mod_revision,
                })
            }
            Event::Delete { prev, revision } => {
                let old = cache.objects.remove(&prev.key);
                let obj =
                    Arc::new(CachedObject::from_stored(&prev.key, &prev.value, *revision).ok()?);
                Some(CacheEvent {
                    kind: EventType::Deleted,
                    object: obj,
                    prev: old,
                    revision: *revision,
                })
            }
        }
    }

    /// The newest revision the cache has applied.
    pub fn revision(&self) -> i64 {
        *self.revision.borrow()
    }

    /// Wait until the cache has applied `revision`; 504 as Kubernetes gives
    /// for a resourceVersion that does not arrive in time.
    pub async fn wait_for(&self, revision: i64) -> Result<(), ApiError> {
        let mut rx = self.revision.subscribe();
        let reached = tokio::time::timeout(FRESHNESS_WAIT, rx.wait_for(|r| *r >= revision)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ApiError::timeout(format!(
                "Too large resource version: {revision}, current: {}",
                self.revision()
            ))),
        }
    }

    /// All objects of a resource under `prefix` (a namespace or the whole resource).
    pub fn list(&self, info: &ResourceInfo, prefix: &str) -> Result<Snapshot, ApiError> {
        let state = self.state.read().map_err(|_| lock_err())?;
        let revision = state.revision;
        let objects = state
            .resources
            .get(&info.key_prefix())
            .map(|c| {
                c.objects
                    .range(prefix.to_string()..)
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .map(|(_, v)| v.clone())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Snapshot { objects, revision })
    }

    /// Begin a watch of `prefix` after `after` (None: current state as ADDED events first).
    pub fn watch(
        &self,
        info: &ResourceInfo,
        prefix: &str,
        after: Option<i64>,
    ) -> Result<WatchStart, ApiError> {
        let state = self.state.read().map_err(|_| lock_err())?;
        let cache = state
            .resources
            .get(&info.key_prefix())
            .ok_or_else(ApiError::path_not_found)?;
        let live = self.events.subscribe();
        let revision = state.revision;
        match after {
            None => {
                let current = cache
                    .objects
                    .range(prefix.to_string()..)
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .map(|(_, v)| v.clone())
                    .collect();
                Ok(WatchStart {
                    replay: Vec::new(),
                    current,
                    revision,
                    live,
                })
            }
            Some(rv) if rv < cache.history_start => Err(ApiError::gone(format!(
                "too old resource version: {rv} ({})",
                cache.history_start
            ))),
            Some(rv) => {
                let replay = cache
                    .history
                    .iter()
                    .filter(|e| e.revision > rv && e.object.key.starts_with(prefix))
                    .cloned()
                    .collect();
                Ok(WatchStart {
                    replay,
                    current: Vec::new(),
                    revision,
                    live,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_split_resources() {
        assert_eq!(
            prefix_of("/registry/pods/default/a"),
            Some("/registry/pods/")
        );
        assert_eq!(prefix_of("/registry/nodes/n1"), Some("/registry/nodes/"));
        assert_eq!(prefix_of("/other/x"), None);
    }
}
