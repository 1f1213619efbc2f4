//! Streaming watches: replay from the cache, then live changes, bookmarks
//! and the timeout, encoded as newline-delimited watch events whose objects
//! are the resources themselves or, when asked for, one-row Tables.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rkube_api::{ApiError, ResourceInfo};
use serde_json::json;
use tokio::sync::{broadcast, mpsc};

use crate::registry::{Filter, scope_prefix};
use crate::request::{Query, Target};
use crate::table::{TableOptions, WatchTables};
use crate::watch_cache::{Broadcast, CacheEvent, CachedObject, EventType, WatchCache};

/// How often a watch that asked for bookmarks gets one.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(15);
/// Watches without `timeoutSeconds` end after this long, as in Kubernetes (30-60 min).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

fn event_line(kind: &str, object: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(object.len() + 32);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    out.extend_from_slice(object);
    out.extend_from_slice(b"}\n");
    Bytes::from(out)
}

/// A watch event carrying an error `Status` (how expired watches end).
pub fn error_line(err: &ApiError) -> Bytes {
    event_line(
        "ERROR",
        &serde_json::to_vec(&err.to_status()).unwrap_or_default(),
    )
}

fn bookmark_object(info: &ResourceInfo, revision: i64, initial_end: bool) -> Vec<u8> {
    let mut meta = json!({ "resourceVersion": revision.to_string() });
    if initial_end {
        meta["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
    }
    let obj = json!({ "kind": info.kind, "apiVersion": info.api_version(), "metadata": meta });
    serde_json::to_vec(&obj).unwrap_or_default()
}

struct Watcher {
    info: &'static ResourceInfo,
    prefix: String,
    filter: Filter,
    name: Option<String>,
    tables: Option<WatchTables>,
}

impl Watcher {
    /// One event line, its object turned into a Table when one was asked for.
    fn line(&self, kind: &str, object: &[u8]) -> Bytes {
        match &self.tables {
            Some(tables) => event_line(kind, &tables.encode(object)),
            None => event_line(kind, object),
        }
    }

    fn bookmark_line(&self, revision: i64, initial_end: bool) -> Bytes {
        self.line(
            "BOOKMARK",
            &bookmark_object(self.info, revision, initial_end),
        )
    }

    fn passes(&self, obj: &CachedObject) -> bool {
        self.name.as_ref().is_none_or(|n| *n == obj.name) && self.filter.matches(obj)
    }

    /// The event a client with these selectors sees for a change, if any.
    fn visible(&self, ev: &CacheEvent) -> Option<Bytes> {
        if !ev.object.key.starts_with(&self.prefix) {
            return None;
        }
        let now = self.passes(&ev.object);
        let before = ev.prev.as_ref().is_some_and(|p| self.passes(p));
        let kind = match ev.kind {
            EventType::Added => now.then_some(EventType::Added),
            EventType::Modified => match (before, now) {
                (true, true) => Some(EventType::Modified),
                (false, true) => Some(EventType::Added),
                (true, false) => Some(EventType::Deleted),
                (false, false) => None,
            },
            EventType::Deleted => (now || before).then_some(EventType::Deleted),
        }?;
        Some(self.line(kind.as_str(), &ev.object.json))
    }
}

/// Start a watch; the receiver yields the encoded events until the watch ends.
pub fn start(
    cache: Arc<WatchCache>,
    t: &Target,
    q: &Query,
    table: Option<TableOptions>,
) -> Result<mpsc::Receiver<Bytes>, ApiError> {
    let filter = Filter::from_query(t.info, q)?;
    let rv = q.get("resourceVersion").unwrap_or_default();
    let after: Option<i64> = match rv {
        "" | "0" => None,
        v => Some(v.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: \"{v}\": must be a number"
            ))
        })?),
    };
    let initial_events = q.flag("sendInitialEvents");
    if initial_events && q.get("resourceVersionMatch") != Some("NotOlderThan") {
        return Err(ApiError::bad_request(
            "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    let after = if initial_events { None } else { after };
    let timeout = match q.int("timeoutSeconds")? {
        Some(s) if s > 0 => Duration::from_secs(u64::try_from(s).unwrap_or(1)),
        _ => DEFAULT_TIMEOUT,
    };
    let bookmarks = q.flag("allowWatchBookmarks");
    let tables = table.map(|opts| WatchTables::new(t.info, opts));
    let watcher = Watcher {
        info: t.info,
        prefix: scope_prefix(t),
        filter,
        name: t.name.clone(),
        tables,
    };
    let (tx, rx) = mpsc::channel(256);
    let start = match cache.watch(t.info, &watcher.prefix, after) {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.try_send(error_line(&e));
            return Ok(rx);
        }
    };
    tokio::spawn(async move {
        let last = start.revision.max(after.unwrap_or(start.revision));
        for obj in start.current.iter().filter(|o| watcher.passes(o)) {
            if tx.send(watcher.line("ADDED", &obj.json)).await.is_err() {
                return;
            }
        }
        for ev in &start.replay {
            if let Some(line) = watcher.visible(ev)
                && tx.send(line).await.is_err()
            {
                return;
            }
        }
        if initial_events
            && tx
                .send(watcher.bookmark_line(start.revision, true))
                .await
                .is_err()
        {
            return;
        }
        run_live(cache, watcher, tx, start.live, last, timeout, bookmarks).await;
    });
    Ok(rx)
}

async fn run_live(
    cache: Arc<WatchCache>,
    watcher: Watcher,
    tx: mpsc::Sender<Bytes>,
    mut live: broadcast::Receiver<Broadcast>,
    mut last: i64,
    timeout: Duration,
    bookmarks: bool,
) {
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(BOOKMARK_INTERVAL);
    tick.tick().await;
    loop {
        tokio::select! {
            () = &mut deadline => return,
            () = tx.closed() => return,
            _ = tick.tick(), if bookmarks => {
                let revision = cache.revision();
                loop {
                    match live.try_recv() {
                        Ok(msg) => if !deliver(&watcher, &tx, msg, &mut last).await { return },
                        Err(broadcast::error::TryRecvError::Empty) => break,
                        Err(_) => return,
                    }
                }
                if revision > last {
                    last = revision;
                    if tx.send(watcher.bookmark_line(revision, false)).await.is_err() { return; }
                }
            }
            msg = live.recv() => match msg {
                Ok(msg) => if !deliver(&watcher, &tx, msg, &mut last).await { return },
                Err(_) => return,
            },
        }
    }
}

/// Send one broadcast message to the client; false when the watch must end.
async fn deliver(
    watcher: &Watcher,
    tx: &mpsc::Sender<Bytes>,
    msg: Broadcast,
    last: &mut i64,
) -> bool {
    match msg {
        Broadcast::Reset => false,
        Broadcast::Change(ev) => {
            if ev.revision <= *last {
                return true;
            }
            *last = ev.revision;
            match watcher.visible(&ev) {
                Some(line) => tx.send(line).await.is_ok(),
                None => true,
            }
        }
    }
}
