//! Shared informers: one watch per resource kind feeds one reflector store
//! and a trigger stream for each controller that subscribes, the way
//! client-go's shared informer factory serves every controller of
//! kube-controller-manager from one cache.
//!
//! Unlike kube-runtime's shared stores, deletions are delivered too, and an
//! object that vanished while the watch was being re-listed is delivered
//! once more (client-go's `DeletedFinalStateUnknown`), so a controller hears
//! about every object it may have to act on.

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use futures::channel::mpsc;
use futures::{SinkExt, Stream, StreamExt};
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

/// How many objects a slow subscriber may lag behind before the watch waits for it.
const BUFFER: usize = 1024;

/// One watched kind: its store and the subscribers to its changes.
pub struct Informer<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    api: Api<K>,
    store: Store<K>,
    writer: reflector::store::Writer<K>,
    subscribers: Vec<mpsc::Sender<K>>,
}

impl<K> Informer<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    /// An informer over every object `api` can see.
    pub fn new(api: Api<K>) -> Self {
        let (store, writer) = reflector::store();
        Informer {
            api,
            store,
            writer,
            subscribers: Vec::new(),
        }
    }

    /// A read handle on the cache, shared by every subscriber.
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// A stream of every object that changed (including deleted ones), for a controller trigger.
    pub fn subscribe(&mut self) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static {
        let (tx, rx) = mpsc::channel(BUFFER);
        self.subscribers.push(tx);
        rx.map(Ok)
    }

    /// Watch until `shutdown` is cancelled, keeping the store current and notifying subscribers.
    pub async fn run(self, shutdown: CancellationToken) {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = self.drive() => {}
        }
    }

    async fn drive(self) {
        let Informer {
            api,
            store,
            mut writer,
            mut subscribers,
        } = self;
        let mut events = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        let mut before: Vec<Arc<K>> = Vec::new();
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(event) => event,
                Err(e) => {
                    tracing::warn!(kind = %K::kind(&()), error = %e, "watch failed; retrying");
                    continue;
                }
            };
            writer.apply_watcher_event(&event);
            match event {
                watcher::Event::Apply(obj) | watcher::Event::Delete(obj) => {
                    notify(&mut subscribers, &obj).await
                }
                watcher::Event::Init => before = store.state(),
                watcher::Event::InitApply(_) => {}
                watcher::Event::InitDone => {
                    let now = store.state();
                    let present: HashSet<ObjectRef<K>> = now
                        .iter()
                        .map(|o| ObjectRef::from_obj(o.as_ref()))
                        .collect();
                    let vanished = before
                        .drain(..)
                        .filter(|o| !present.contains(&ObjectRef::from_obj(o.as_ref())));
                    for obj in now.iter().cloned().chain(vanished.collect::<Vec<_>>()) {
                        notify(&mut subscribers, obj.as_ref()).await;
                    }
                }
            }
        }
    }
}

/// Hand `obj` to every subscriber still listening.
async fn notify<K: Clone>(subscribers: &mut Vec<mpsc::Sender<K>>, obj: &K) {
    let mut gone = false;
    for tx in subscribers.iter_mut() {
        gone |= tx.send(obj.clone()).await.is_err();
    }
    if gone {
        subscribers.retain(|tx| !tx.is_closed());
    }
}
