//! The embedded default backend: one redb file, served from memory.
//!
//! Durable layer (redb, file `store.redb` in the data dir), three tables:
//! - `kvs`: key -> (create revision, mod revision, value), the newest state;
//! - `log`: revision -> (key, deleted, create revision, value, previous
//!   value), one entry per revision after the compaction point;
//! - `meta`: `current` and `compacted` revisions.
//!
//! Memory holds the same thing (a `BTreeMap` of the newest state and a
//! `VecDeque` of the events since the compaction point) and serves every read:
//! gets, lists (older revisions are rebuilt by undoing newer events) and
//! watches.
//!
//! Writes go through one writer thread (group commit): it takes every queued
//! request, checks each against the state plus the earlier requests of the
//! same batch, gives the successful ones consecutive revisions, writes the
//! whole batch in one redb transaction with immediate durability (fsync) and
//! only after the commit applies it to memory, wakes the watchers and replies.
//! If the commit fails, every request of the batch gets
//! [`Error::Unavailable`], memory is unchanged and the writer reopens the file
//! and reloads memory from it before the next write.
//!
//! Watchers do not get their own copy of events: each one keeps the next
//! revision it needs and copies matching events from the in-memory history
//! when the writer signals a new revision, so replay and live delivery are
//! the same code path (no gap, no duplicate), and a slow watcher costs
//! nothing until compaction passes it, when it gets [`Error::Compacted`].

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::{mpsc, oneshot, watch};

use crate::{Error, Event, KeyValue, ListOptions, ListResult, Result, Store, WatchStream};

/// key -> (create revision, mod revision, value)
const KVS: TableDefinition<&str, (i64, i64, &[u8])> = TableDefinition::new("kvs");
/// revision -> (key, deleted, create revision, value, previous (create, mod, value))
const LOG: TableDefinition<i64, LogEntry> = TableDefinition::new("log");
/// name -> revision
const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
const CURRENT: &str = "current";
const COMPACTED: &str = "compacted";

type LogEntry = LogValue<'static>;
type LogValue<'a> = (&'a str, bool, i64, &'a [u8], Option<(i64, i64, &'a [u8])>);

/// Requests the writer takes at most per transaction.
const MAX_BATCH: usize = 1024;
/// Requests that may wait for the writer before callers are slowed down.
const QUEUE: usize = 4096;
/// Events a watcher scans per read lock, so that long replays do not block writes.
const SCAN_BATCH: usize = 1024;

/// How the embedded store compacts its history.
#[derive(Clone, Debug)]
pub struct EmbeddedConfig {
    /// How often the background compactor runs (at least 1 ms).
    pub compaction_interval: Duration,
    /// Revisions of history kept by automatic compaction. The writer also
    /// compacts on its own when the history grows past twice this, which
    /// bounds memory between compactor runs.
    pub retained_revisions: i64,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            compaction_interval: Duration::from_secs(300),
            retained_revisions: 10_000,
        }
    }
}

/// The embedded default backend (see the module docs).
pub struct EmbeddedStore {
    state: Arc<RwLock<State>>,
    requests: mpsc::Sender<Request>,
    revisions: watch::Receiver<i64>,
    writer: std::thread::JoinHandle<()>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir` with the default compaction.
    pub async fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, EmbeddedConfig::default()).await
    }

    /// Opens (or creates) the store in `dir`; must run inside a tokio runtime
    /// (it starts the background compactor).
    pub async fn open_with(dir: &Path, config: EmbeddedConfig) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(unavailable)?;
        let path = dir.join("store.redb");
        let opened = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || open_db(Database::create(&path)?))
                .await
                .map_err(unavailable)?
        };
        let (db, loaded) = opened.map_err(unavailable)?;
        let (notify, revisions) = watch::channel(loaded.current);
        let state = Arc::new(RwLock::new(loaded));
        let (requests, queue) = mpsc::channel(QUEUE);
        let writer = Writer {
            path,
            db: Some(db),
            state: state.clone(),
            queue,
            notify,
            retained: config.retained_revisions.max(0),
        };
        let writer = std::thread::Builder::new()
            .name("rkube-store-writer".into())
            .spawn(move || writer.run())
            .map_err(unavailable)?;
        tokio::spawn(compactor(requests.downgrade(), config.compaction_interval));
        Ok(Self {
            state,
            requests,
            revisions,
            writer,
        })
    }

    /// Finishes queued writes and closes the data file, so that the same
    /// directory can be opened again in this process.
    pub async fn close(self) -> Result<()> {
        let Self {
            requests, writer, ..
        } = self;
        drop(requests);
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .map_err(unavailable)?
            .map_err(|_| Error::Unavailable("the store writer panicked".into()))
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        read(&self.state)
    }

    async fn call<T>(&self, request: impl FnOnce(Reply<T>) -> Request) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(request(reply))
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        self.call(|reply| Request::Create {
            key: key.to_owned(),
            value,
            reply,
        })
        .await
    }

    async fn update(&self, key: &str, value: Bytes, expected_revision: i64) -> Result<KeyValue> {
        self.call(|reply| Request::Update {
            key: key.to_owned(),
            value,
            expected: expected_revision,
            reply,
        })
        .await
    }

    async fn delete(&self, key: &str, expected_revision: Option<i64>) -> Result<(KeyValue, i64)> {
        self.call(|reply| Request::Delete {
            key: key.to_owned(),
            expected: expected_revision,
            reply,
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        Ok(self.read().kvs.get(key).cloned())
    }

    async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        self.read().list(prefix, &opts)
    }

    async fn watch(&self, prefix: &str, after_revision: i64) -> Result<WatchStream> {
        let compacted = self.read().compacted;
        if after_revision < compacted {
            return Err(Error::Compacted {
                requested: after_revision,
                compacted,
            });
        }
        let cursor = Cursor {
            state: self.state.clone(),
            revisions: self.revisions.clone(),
            prefix: prefix.to_owned(),
            next: after_revision.saturating_add(1),
            pending: VecDeque::new(),
            closed: false,
            failed: false,
        };
        Ok(futures::stream::unfold(cursor, |mut cursor| async move {
            cursor.next_item().await.map(|item| (item, cursor))
        })
        .boxed())
    }

    async fn current_revision(&self) -> Result<i64> {
        Ok(self.read().current)
    }

    async fn compacted_revision(&self) -> Result<i64> {
        Ok(self.read().compacted)
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        self.call(|reply| Request::Compact { revision, reply })
            .await
    }
}

/// Asks the writer to compact every `every` until the store is dropped.
async fn compactor(requests: mpsc::WeakSender<Request>, every: Duration) {
    let mut ticks = tokio::time::interval(every.max(Duration::from_millis(1)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(requests) = requests.upgrade() else {
            return;
        };
        if requests.send(Request::AutoCompact).await.is_err() {
            return;
        }
    }
}

fn unavailable(error: impl std::fmt::Display) -> Error {
    Error::Unavailable(error.to_string())
}

fn closed() -> Error {
    Error::Unavailable("the store is closed".into())
}

fn read(state: &RwLock<State>) -> RwLockReadGuard<'_, State> {
    state.read().unwrap_or_else(PoisonError::into_inner)
}

/// The in-memory copy of the durable state.
struct State {
    current: i64,
    compacted: i64,
    kvs: BTreeMap<String, KeyValue>,
    /// The events with revisions `compacted + 1 ..= current`, in order.
    history: VecDeque<Event>,
}

impl State {
    /// The events with revision `from` or later.
    fn events_from(&self, from: i64) -> impl Iterator<Item = &Event> {
        let skip = usize::try_from(from - self.compacted - 1).unwrap_or(0);
        self.history.range(skip.min(self.history.len())..)
    }

    fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult> {
        let revision = match opts.revision {
            None => self.current,
            Some(r) if r > self.current => {
                return Err(Error::FutureRevision {
                    requested: r,
                    current: self.current,
                });
            }
            Some(r) if r < self.compacted => {
                return Err(Error::Compacted {
                    requested: r,
                    compacted: self.compacted,
                });
            }
            Some(r) => r,
        };
        let from = match opts.start_key.as_deref() {
            Some(start) if start > prefix => start,
            _ => prefix,
        };
        // The value at `revision` of every key changed since: the previous
        // value of its first later event.
        let mut undone: BTreeMap<&str, Option<&KeyValue>> = BTreeMap::new();
        for event in self.events_from(revision + 1) {
            let key = event.key();
            if key >= from && key.starts_with(prefix) {
                undone.entry(key).or_insert(match event {
                    Event::Put { prev, .. } => prev.as_ref(),
                    Event::Delete { prev, .. } => Some(prev),
                });
            }
        }
        let newest = self
            .kvs
            .range::<str, _>((Bound::Included(from), Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, kv)| (key.as_str(), kv));
        let mut found = merge(newest, undone);
        let limit = if opts.limit == 0 {
            usize::MAX
        } else {
            opts.limit
        };
        let kvs = found.by_ref().take(limit).cloned().collect();
        let more = found.next().is_some();
        Ok(ListResult {
            kvs,
            revision,
            more,
        })
    }

    /// Copies the events under `prefix` from revision `next` on (scanning at
    /// most `SCAN_BATCH`) into `out`; returns the revision to continue from.
    fn scan(&self, prefix: &str, mut next: i64, out: &mut VecDeque<Event>) -> Result<i64> {
        if next <= self.compacted {
            return Err(Error::Compacted {
                requested: next - 1,
                compacted: self.compacted,
            });
        }
        for event in self.events_from(next).take(SCAN_BATCH) {
            if event.key().starts_with(prefix) {
                out.push_back(event.clone());
            }
            next = event.revision() + 1;
        }
        Ok(next)
    }

    fn apply(&mut self, events: Vec<Event>, compacted: i64) {
        for event in events {
            match &event {
                Event::Put { kv, .. } => {
                    self.kvs.insert(kv.key.clone(), kv.clone());
                }
                Event::Delete { prev, .. } => {
                    self.kvs.remove(&prev.key);
                }
            }
            self.current = event.revision();
            self.history.push_back(event);
        }
        let dropped = usize::try_from(compacted - self.compacted).unwrap_or(0);
        self.history.drain(..dropped.min(self.history.len()));
        self.compacted = self.compacted.max(compacted);
    }
}

/// Merges the newest values with the older values of changed keys (`None`:
/// absent then), both in key order, into the values at the older revision.
fn merge<'a>(
    newest: impl Iterator<Item = (&'a str, &'a KeyValue)>,
    undone: BTreeMap<&'a str, Option<&'a KeyValue>>,
) -> impl Iterator<Item = &'a KeyValue> {
    let mut newest = newest.peekable();
    let mut undone = undone.into_iter().peekable();
    std::iter::from_fn(move || {
        loop {
            let order = match (newest.peek(), undone.peek()) {
                (None, None) => return None,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((a, _)), Some((b, _))) => a.cmp(b),
            };
            if order == Ordering::Equal {
                newest.next();
            }
            let next = match order {
                Ordering::Less => newest.next().map(|(_, kv)| Some(kv)),
                _ => undone.next().map(|(_, kv)| kv),
            };
            match next {
                Some(Some(kv)) => return Some(kv),
                Some(None) => continue,
                None => return None,
            }
        }
    })
}

/// One watcher's position in the history.
struct Cursor {
    state: Arc<RwLock<State>>,
    revisions: watch::Receiver<i64>,
    prefix: String,
    /// The next revision to look at.
    next: i64,
    pending: VecDeque<Event>,
    /// The writer is gone: end once the history is drained.
    closed: bool,
    /// An error was yielded: end.
    failed: bool,
}

impl Cursor {
    async fn next_item(&mut self) -> Option<Result<Event>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.failed {
                return None;
            }
            // Mark before reading, so that a write applied after the read
            // wakes `changed` below.
            self.revisions.mark_unchanged();
            let scanned = read(&self.state).scan(&self.prefix, self.next, &mut self.pending);
            match scanned {
                Ok(next) if next != self.next => self.next = next,
                Ok(_) if self.closed => return None,
                Ok(_) => self.closed = self.revisions.changed().await.is_err(),
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error));
                }
            }
        }
    }
}

type Reply<T> = oneshot::Sender<Result<T>>;

/// A write for the writer thread.
enum Request {
    Create {
        key: String,
        value: Bytes,
        reply: Reply<KeyValue>,
    },
    Update {
        key: String,
        value: Bytes,
        expected: i64,
        reply: Reply<KeyValue>,
    },
    Delete {
        key: String,
        expected: Option<i64>,
        reply: Reply<(KeyValue, i64)>,
    },
    Compact {
        revision: i64,
        reply: Reply<()>,
    },
    /// From the background compactor: keep the configured history.
    AutoCompact,
}

impl Request {
    /// Fails the request without looking at it: the store cannot write.
    fn reject(self, reason: &str) {
        match self {
            Request::Create { reply, .. } | Request::Update { reply, .. } => {
                answer(reply, Err(unavailable(reason)));
            }
            Request::Delete { reply, .. } => answer(reply, Err(unavailable(reason))),
            Request::Compact { reply, .. } => answer(reply, Err(unavailable(reason))),
            Request::AutoCompact => {}
        }
    }
}

fn answer<T>(reply: Reply<T>, outcome: Result<T>) {
    // The caller may have gone away; the outcome stands either way.
    let _ = reply.send(outcome);
}

/// A checked request waiting for the batch's commit.
enum Pending {
    Put(Reply<KeyValue>, Result<KeyValue>),
    Delete(Reply<(KeyValue, i64)>, Result<(KeyValue, i64)>),
    Compact(Reply<()>, Result<()>),
}

impl Pending {
    /// Replies with the checked outcome, or with `failure` if the commit failed.
    fn reply(self, failure: Option<&str>) {
        fn outcome<T>(checked: Result<T>, failure: Option<&str>) -> Result<T> {
            failure.map_or(checked, |reason| Err(unavailable(reason)))
        }
        match self {
            Pending::Put(reply, checked) => answer(reply, outcome(checked, failure)),
            Pending::Delete(reply, checked) => answer(reply, outcome(checked, failure)),
            Pending::Compact(reply, checked) => answer(reply, outcome(checked, failure)),
        }
    }
}

/// A group of requests checked against the state and each other.
struct Batch<'s> {
    state: &'s State,
    /// Keys written by this batch (`None`: deleted).
    overlay: HashMap<String, Option<KeyValue>>,
    events: Vec<Event>,
    current: i64,
    compacted: i64,
    pending: Vec<Pending>,
}

impl<'s> Batch<'s> {
    fn new(state: &'s State) -> Self {
        Self {
            state,
            overlay: HashMap::new(),
            events: Vec::new(),
            current: state.current,
            compacted: state.compacted,
            pending: Vec::new(),
        }
    }

    fn add(&mut self, request: Request, retained: i64) {
        match request {
            Request::Create { key, value, reply } => {
                let outcome = self.create(key, value);
                self.pending.push(Pending::Put(reply, outcome));
            }
            Request::Update {
                key,
                value,
                expected,
                reply,
            } => {
                let outcome = self.update(key, value, expected);
                self.pending.push(Pending::Put(reply, outcome));
            }
            Request::Delete {
                key,
                expected,
                reply,
            } => {
                let outcome = self.delete(key, expected);
                self.pending.push(Pending::Delete(reply, outcome));
            }
            Request::Compact { revision, reply } => {
                let outcome = self.compact(revision);
                self.pending.push(Pending::Compact(reply, outcome));
            }
            Request::AutoCompact => self.keep(retained),
        }
    }

    /// Compacts so that `retained` revisions of history remain.
    fn keep(&mut self, retained: i64) {
        self.compacted = self.compacted.max(self.current - retained);
    }

    fn get(&self, key: &str) -> Option<&KeyValue> {
        match self.overlay.get(key) {
            Some(written) => written.as_ref(),
            None => self.state.kvs.get(key),
        }
    }

    fn existing(&self, key: &str, expected: Option<i64>) -> Result<KeyValue> {
        let found = self
            .get(key)
            .ok_or_else(|| Error::NotFound(key.to_owned()))?;
        match expected {
            Some(expected) if expected != found.mod_revision => Err(Error::Conflict {
                key: key.to_owned(),
                expected,
                current: found.mod_revision,
            }),
            _ => Ok(found.clone()),
        }
    }

    fn create(&mut self, key: String, value: Bytes) -> Result<KeyValue> {
        if self.get(&key).is_some() {
            return Err(Error::AlreadyExists(key));
        }
        let revision = self.current + 1;
        let kv = KeyValue {
            key,
            value,
            create_revision: revision,
            mod_revision: revision,
        };
        self.push(Event::Put {
            kv: kv.clone(),
            prev: None,
        });
        Ok(kv)
    }

    fn update(&mut self, key: String, value: Bytes, expected: i64) -> Result<KeyValue> {
        let prev = self.existing(&key, Some(expected))?;
        let kv = KeyValue {
            key,
            value,
            create_revision: prev.create_revision,
            mod_revision: self.current + 1,
        };
        self.push(Event::Put {
            kv: kv.clone(),
            prev: Some(prev),
        });
        Ok(kv)
    }

    fn delete(&mut self, key: String, expected: Option<i64>) -> Result<(KeyValue, i64)> {
        let prev = self.existing(&key, expected)?;
        let revision = self.current + 1;
        self.push(Event::Delete {
            prev: prev.clone(),
            revision,
        });
        Ok((prev, revision))
    }

    fn compact(&mut self, revision: i64) -> Result<()> {
        if revision > self.current {
            return Err(Error::FutureRevision {
                requested: revision,
                current: self.current,
            });
        }
        if revision <= self.compacted {
            return Err(Error::Compacted {
                requested: revision,
                compacted: self.compacted,
            });
        }
        self.compacted = revision;
        Ok(())
    }

    fn push(&mut self, event: Event) {
        let written = match &event {
            Event::Put { kv, .. } => Some(kv.clone()),
            Event::Delete { .. } => None,
        };
        self.overlay.insert(event.key().to_owned(), written);
        self.current = event.revision();
        self.events.push(event);
    }
}

/// The single writer: owns the redb handle.
struct Writer {
    path: PathBuf,
    /// `None` after a failed commit until the file is reopened.
    db: Option<Database>,
    state: Arc<RwLock<State>>,
    queue: mpsc::Receiver<Request>,
    notify: watch::Sender<i64>,
    retained: i64,
}

impl Writer {
    fn run(mut self) {
        let mut requests = Vec::with_capacity(MAX_BATCH);
        while self.queue.blocking_recv_many(&mut requests, MAX_BATCH) > 0 {
            self.process(requests.drain(..));
        }
    }

    fn process(&mut self, requests: impl Iterator<Item = Request>) {
        // Reopen before checking the batch: reopening reloads memory.
        let db = match self.db.take().map_or_else(|| self.reopen(), Ok) {
            Ok(db) => db,
            Err(reason) => {
                requests.for_each(|request| request.reject(&reason));
                return;
            }
        };
        match self.commit(&db, requests) {
            Ok(()) => self.db = Some(db),
            Err(error) => {
                tracing::warn!(%error, "store commit failed; reopening the data file");
                drop(db);
                match self.reopen() {
                    Ok(db) => self.db = Some(db),
                    Err(error) => tracing::warn!(%error, "will retry on the next write"),
                }
            }
        }
    }

    /// Checks, persists and applies one batch, and replies to every request.
    fn commit(&self, db: &Database, requests: impl Iterator<Item = Request>) -> Result<(), String> {
        let (events, current, compacted, pending) = {
            let state = read(&self.state);
            let mut batch = Batch::new(&state);
            for request in requests {
                batch.add(request, self.retained);
            }
            if batch.current - batch.compacted > self.retained.saturating_mul(2) {
                batch.keep(self.retained);
            }
            if batch.current == state.current && batch.compacted == state.compacted {
                batch
                    .pending
                    .into_iter()
                    .for_each(|pending| pending.reply(None));
                return Ok(());
            }
            (batch.events, batch.current, batch.compacted, batch.pending)
        };
        if let Err(error) = persist(db, &events, current, compacted) {
            let reason = format!("commit failed: {error}");
            pending
                .into_iter()
                .for_each(|pending| pending.reply(Some(&reason)));
            return Err(reason);
        }
        self.state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .apply(events, compacted);
        self.notify.send_replace(current);
        pending.into_iter().for_each(|pending| pending.reply(None));
        Ok(())
    }

    /// Opens the file again after a failure and reloads memory from it (a
    /// failed commit may still have reached the disk).
    fn reopen(&self) -> Result<Database, String> {
        // `open`, not `create`: a vanished file must not become an empty store.
        let reopened = Database::open(&self.path)
            .map_err(redb::Error::from)
            .and_then(open_db);
        let (db, loaded) = reopened.map_err(|e| format!("reopen failed: {e}"))?;
        let current = loaded.current;
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = loaded;
        self.notify.send_replace(current);
        Ok(db)
    }
}

/// Writes one batch in one durable transaction.
fn persist(
    db: &Database,
    events: &[Event],
    current: i64,
    compacted: i64,
) -> Result<(), redb::Error> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    {
        let mut kvs = txn.open_table(KVS)?;
        let mut log = txn.open_table(LOG)?;
        let mut meta = txn.open_table(META)?;
        for event in events {
            let (key, deleted, create, value, prev) = match event {
                Event::Put { kv, prev } => {
                    kvs.insert(
                        kv.key.as_str(),
                        (kv.create_revision, kv.mod_revision, &kv.value[..]),
                    )?;
                    (
                        kv.key.as_str(),
                        false,
                        kv.create_revision,
                        &kv.value[..],
                        prev.as_ref(),
                    )
                }
                Event::Delete { prev, .. } => {
                    kvs.remove(prev.key.as_str())?;
                    (prev.key.as_str(), true, 0, &[][..], Some(prev))
                }
            };
            let prev = prev.map(|p| (p.create_revision, p.mod_revision, &p.value[..]));
            log.insert(event.revision(), (key, deleted, create, value, prev))?;
        }
        log.retain_in::<i64, _>(..=compacted, |_, _| false)?;
        meta.insert(CURRENT, current)?;
        meta.insert(COMPACTED, compacted)?;
    }
    txn.commit()?;
    Ok(())
}

/// Creates the tables of a newly opened (after a crash: repaired) file and
/// loads it into memory.
fn open_db(db: Database) -> Result<(Database, State), redb::Error> {
    let txn = db.begin_write()?;
    txn.open_table(KVS)?;
    txn.open_table(LOG)?;
    txn.open_table(META)?;
    txn.commit()?;
    let state = load(&db)?;
    Ok((db, state))
}

fn load(db: &Database) -> Result<State, redb::Error> {
    let txn = db.begin_read()?;
    let meta = txn.open_table(META)?;
    let current = meta.get(CURRENT)?.map_or(0, |v| v.value());
    let compacted = meta.get(COMPACTED)?.map_or(0, |v| v.value());
    let mut kvs = BTreeMap::new();
    for entry in txn.open_table(KVS)?.iter()? {
        let (key, value) = entry?;
        let (create_revision, mod_revision, value) = value.value();
        let key = key.value().to_owned();
        let value = Bytes::copy_from_slice(value);
        kvs.insert(
            key.clone(),
            KeyValue {
                key,
                value,
                create_revision,
                mod_revision,
            },
        );
    }
    let mut history = VecDeque::new();
    let mut expected = compacted + 1;
    for entry in txn.open_table(LOG)?.range(expected..)? {
        let (revision, logged) = entry?;
        let revision = revision.value();
        if revision != expected {
            return Err(corrupt(format!(
                "log has revision {revision}, expected {expected}"
            )));
        }
        history.push_back(decode(revision, logged.value())?);
        expected += 1;
    }
    if expected != current + 1 {
        return Err(corrupt(format!(
            "log ends at {}, current revision is {current}",
            expected - 1
        )));
    }
    Ok(State {
        current,
        compacted,
        kvs,
        history,
    })
}

fn decode(
    revision: i64,
    (key, deleted, create, value, prev): LogValue<'_>,
) -> Result<Event, redb::Error> {
    let prev = prev.map(|(create_revision, mod_revision, value)| KeyValue {
        key: key.to_owned(),
        value: Bytes::copy_from_slice(value),
        create_revision,
        mod_revision,
    });
    if !deleted {
        let value = Bytes::copy_from_slice(value);
        let kv = KeyValue {
            key: key.to_owned(),
            value,
            create_revision: create,
            mod_revision: revision,
        };
        return Ok(Event::Put { kv, prev });
    }
    prev.map(|prev| Event::Delete { prev, revision })
        .ok_or_else(|| {
            corrupt(format!(
                "delete at revision {revision} has no previous value"
            ))
        })
}

fn corrupt(reason: String) -> redb::Error {
    redb::Error::Corrupted(reason)
}
