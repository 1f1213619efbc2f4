//! The contract test suite every backend runs: [`run_all`] runs each of
//! [`checks`] against a fresh, empty store.
//!
//! This is test support shipped as library code so that every backend's
//! tests reuse it: it panics, with the name of the broken rule, when a store
//! violates the contract.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;

use crate::{Error, Event, KeyValue, ListOptions, Store, WatchStream};

/// One named contract check, run against a fresh, empty store.
pub type Check = (&'static str, fn(Arc<dyn Store>) -> BoxFuture<'static, ()>);

/// Every check of the suite, so that a backend can also run them one by one.
pub fn checks() -> Vec<Check> {
    vec![
        ("crud", |s| Box::pin(crud(s))),
        ("revisions", |s| Box::pin(revisions(s))),
        ("list_prefix_isolation", |s| {
            Box::pin(list_prefix_isolation(s))
        }),
        ("list_pagination", |s| Box::pin(list_pagination(s))),
        ("list_at_revision", |s| Box::pin(list_at_revision(s))),
        ("compaction", |s| Box::pin(compaction(s))),
        ("watch_from_revision", |s| Box::pin(watch_from_revision(s))),
        ("watch_prefix", |s| Box::pin(watch_prefix(s))),
        ("watch_future_revision", |s| {
            Box::pin(watch_future_revision(s))
        }),
        ("watch_replay_then_live", |s| {
            Box::pin(watch_replay_then_live(s))
        }),
        ("concurrent_creates", |s| Box::pin(concurrent_creates(s))),
        ("concurrent_updates", |s| Box::pin(concurrent_updates(s))),
    ]
}

/// Runs every check, each on a store made by `make`; panics on the first failure.
pub async fn run_all<F, Fut>(mut make: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    for (name, check) in checks() {
        println!("store suite: {name}");
        check(make().await).await;
    }
}

/// How long a check waits for an expected watch event.
const WAIT: Duration = Duration::from_secs(10);

fn val(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

async fn create(s: &dyn Store, key: &str, value: &str) -> KeyValue {
    s.create(key, val(value))
        .await
        .unwrap_or_else(|e| panic!("create {key}: {e}"))
}

async fn keys(s: &dyn Store, prefix: &str, revision: Option<i64>) -> Vec<(String, Bytes)> {
    let opts = ListOptions {
        revision,
        ..Default::default()
    };
    let listed = s
        .list(prefix, opts)
        .await
        .unwrap_or_else(|e| panic!("list {prefix}: {e}"));
    listed
        .kvs
        .into_iter()
        .map(|kv| (kv.key, kv.value))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, Bytes)> {
    expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), val(v)))
        .collect()
}

async fn next_event(w: &mut WatchStream) -> Event {
    match tokio::time::timeout(WAIT, w.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(e))) => panic!("watch failed: {e}"),
        Ok(None) => panic!("watch ended"),
        Err(_) => panic!("no watch event within {WAIT:?}"),
    }
}

/// Asserts that nothing (more) arrives on `w` for a short while.
async fn quiet(w: &mut WatchStream) {
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(200), w.next()).await {
        panic!("unexpected watch item {item:?}");
    }
}

/// create / get / update / delete and their errors.
pub async fn crud(s: Arc<dyn Store>) {
    let s = &*s;
    assert_eq!(s.get("/a").await.expect("get missing"), None);
    let a = create(s, "/a", "1").await;
    assert_eq!(
        (a.key.as_str(), a.create_revision, a.mod_revision),
        ("/a", 1, 1)
    );
    assert_eq!(s.get("/a").await.expect("get"), Some(a.clone()));
    assert!(matches!(s.create("/a", val("x")).await, Err(Error::AlreadyExists(k)) if k == "/a"));

    let a2 = s.update("/a", val("2"), 1).await.expect("update");
    assert_eq!(
        (a2.create_revision, a2.mod_revision, a2.value.clone()),
        (1, 2, val("2"))
    );
    assert_eq!(s.get("/a").await.expect("get"), Some(a2.clone()));
    match s.update("/a", val("3"), 1).await {
        Err(Error::Conflict {
            key,
            expected: 1,
            current: 2,
        }) if key == "/a" => {}
        other => panic!("update at a stale revision: {other:?}"),
    }
    assert!(matches!(s.update("/b", val("1"), 1).await, Err(Error::NotFound(k)) if k == "/b"));

    match s.delete("/a", Some(1)).await {
        Err(Error::Conflict {
            expected: 1,
            current: 2,
            ..
        }) => {}
        other => panic!("delete at a stale revision: {other:?}"),
    }
    let (prev, rev) = s.delete("/a", Some(2)).await.expect("delete");
    assert_eq!((prev, rev), (a2, 3));
    assert_eq!(s.get("/a").await.expect("get deleted"), None);
    assert!(matches!(
        s.delete("/a", None).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        s.update("/a", val("x"), 2).await,
        Err(Error::NotFound(_))
    ));

    let again = create(s, "/a", "new").await;
    assert_eq!((again.create_revision, again.mod_revision), (4, 4));
    let (_, rev) = s.delete("/a", None).await.expect("unconditional delete");
    assert_eq!(rev, 5);
}

/// Revisions start at 0, every write takes the next one, failures take none.
pub async fn revisions(s: Arc<dyn Store>) {
    let s = &*s;
    assert_eq!(s.current_revision().await.expect("current"), 0);
    assert_eq!(s.compacted_revision().await.expect("compacted"), 0);
    let mut last = 0;
    for i in 0..5 {
        let kv = create(s, &format!("/r/{i}"), "v").await;
        assert_eq!(kv.mod_revision, last + 1);
        last = kv.mod_revision;
        assert!(s.create(&format!("/r/{i}"), val("v")).await.is_err());
        assert_eq!(s.current_revision().await.expect("current"), last);
    }
    let kv = s.update("/r/0", val("w"), 1).await.expect("update");
    assert_eq!(kv.mod_revision, last + 1);
    assert_eq!(
        s.list("/r/", ListOptions::default())
            .await
            .expect("list")
            .revision,
        last + 1
    );
}

/// A prefix matches only keys that start with it ("/a/" is not "/ab/").
pub async fn list_prefix_isolation(s: Arc<dyn Store>) {
    let s = &*s;
    for key in ["/a", "/a/1", "/a/2", "/ab/1", "/b/1", "/a/x/y"] {
        create(s, key, key).await;
    }
    let want = pairs(&[("/a/1", "/a/1"), ("/a/2", "/a/2"), ("/a/x/y", "/a/x/y")]);
    assert_eq!(keys(s, "/a/", None).await, want);
    assert_eq!(keys(s, "/ab/", None).await, pairs(&[("/ab/1", "/ab/1")]));
    assert_eq!(keys(s, "/c/", None).await, Vec::new());
    assert_eq!(keys(s, "", None).await.len(), 6);
    let listed = s.list("/a/", ListOptions::default()).await.expect("list");
    assert_eq!(listed.revision, 6);
    assert!(!listed.more);
}

/// `limit` + `start_key` page through a prefix at one revision, with `more`.
pub async fn list_pagination(s: Arc<dyn Store>) {
    let s = &*s;
    for i in 0..10 {
        create(s, &format!("/p/{i:02}"), "v").await;
    }
    create(s, "/q/0", "v").await;
    let first = s
        .list(
            "/p/",
            ListOptions {
                limit: 3,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    let at = first.revision;
    // Writes between pages must not show up in later pages.
    create(s, "/p/05a", "late").await;
    s.delete("/p/09", None).await.expect("delete");

    let mut seen: Vec<String> = first.kvs.iter().map(|kv| kv.key.clone()).collect();
    let mut more = first.more;
    let mut pages = 1;
    while more {
        let start = format!("{}\0", seen.last().expect("a page has keys"));
        let opts = ListOptions {
            revision: Some(at),
            limit: 3,
            start_key: Some(start),
        };
        let page = s.list("/p/", opts).await.expect("next page");
        assert_eq!(page.revision, at);
        assert!(page.kvs.len() <= 3);
        seen.extend(page.kvs.iter().map(|kv| kv.key.clone()));
        more = page.more;
        pages += 1;
    }
    let want: Vec<String> = (0..10).map(|i| format!("/p/{i:02}")).collect();
    assert_eq!(seen, want);
    assert_eq!(pages, 4);

    let exact = s.list(
        "/p/",
        ListOptions {
            limit: 10,
            revision: Some(at),
            ..Default::default()
        },
    );
    assert!(
        !exact.await.expect("list").more,
        "a page that ends at the last key has no more"
    );
    let opts = ListOptions {
        start_key: Some("/a".into()),
        ..Default::default()
    };
    assert_eq!(
        s.list("/p/", opts).await.expect("list").kvs.len(),
        10,
        "start below the prefix"
    );
    let opts = ListOptions {
        start_key: Some("/p/08".into()),
        ..Default::default()
    };
    let tail: Vec<_> = s
        .list("/p/", opts)
        .await
        .expect("list")
        .kvs
        .into_iter()
        .map(|kv| kv.key)
        .collect();
    assert_eq!(
        tail,
        vec!["/p/08".to_owned()],
        "start_key is inclusive; /p/09 is deleted now"
    );
}

/// A list at an older revision is the snapshot of that revision.
pub async fn list_at_revision(s: Arc<dyn Store>) {
    let s = &*s;
    let a = create(s, "/s/a", "a1").await;
    create(s, "/s/b", "b1").await;
    create(s, "/s/d", "d1").await;
    let r1 = s.current_revision().await.expect("current");
    s.update("/s/a", val("a2"), a.mod_revision)
        .await
        .expect("update");
    s.delete("/s/b", None).await.expect("delete");
    create(s, "/s/c", "c1").await;
    let a3 = s.get("/s/a").await.expect("get").expect("present");
    s.update("/s/a", val("a3"), a3.mod_revision)
        .await
        .expect("update");
    s.delete("/s/d", None).await.expect("delete");
    create(s, "/s/d", "d2").await;

    assert_eq!(
        keys(s, "/s/", Some(r1)).await,
        pairs(&[("/s/a", "a1"), ("/s/b", "b1"), ("/s/d", "d1")])
    );
    assert_eq!(
        keys(s, "/s/", Some(r1 + 2)).await,
        pairs(&[("/s/a", "a2"), ("/s/d", "d1")])
    );
    let now = pairs(&[("/s/a", "a3"), ("/s/c", "c1"), ("/s/d", "d2")]);
    assert_eq!(keys(s, "/s/", None).await, now);
    let current = s.current_revision().await.expect("current");
    assert_eq!(keys(s, "/s/", Some(current)).await, now);
    assert_eq!(keys(s, "/s/", Some(0)).await, Vec::new());

    let old = s
        .list(
            "/s/",
            ListOptions {
                revision: Some(r1),
                ..Default::default()
            },
        )
        .await;
    let old = old.expect("list");
    assert_eq!(old.revision, r1);
    assert_eq!(
        (old.kvs[0].create_revision, old.kvs[0].mod_revision),
        (1, 1)
    );
    let opts = ListOptions {
        revision: Some(r1),
        limit: 1,
        start_key: Some("/s/a\0".into()),
    };
    let page = s.list("/s/", opts).await.expect("page at an old revision");
    assert_eq!(
        (page.kvs.len(), page.kvs[0].key.as_str(), page.more),
        (1, "/s/b", true)
    );

    match s
        .list(
            "/s/",
            ListOptions {
                revision: Some(current + 1),
                ..Default::default()
            },
        )
        .await
    {
        Err(Error::FutureRevision {
            requested,
            current: c,
        }) if requested == current + 1 && c == current => {}
        other => panic!("list in the future: {other:?}"),
    }
}

/// Reads and watches below the compaction point fail; at or above it they work.
pub async fn compaction(s: Arc<dyn Store>) {
    let s = &*s;
    for i in 0..6 {
        create(s, &format!("/c/{i}"), "v").await;
    }
    s.delete("/c/0", None).await.expect("delete");
    // revisions 1..=6 created /c/0..5, 7 deleted /c/0
    assert!(matches!(
        s.compact(8).await,
        Err(Error::FutureRevision {
            requested: 8,
            current: 7
        })
    ));
    s.compact(4).await.expect("compact");
    assert_eq!(s.compacted_revision().await.expect("compacted"), 4);
    assert!(matches!(
        s.compact(4).await,
        Err(Error::Compacted {
            requested: 4,
            compacted: 4
        })
    ));
    assert!(matches!(s.compact(2).await, Err(Error::Compacted { .. })));

    match s
        .list(
            "/c/",
            ListOptions {
                revision: Some(3),
                ..Default::default()
            },
        )
        .await
    {
        Err(Error::Compacted {
            requested: 3,
            compacted: 4,
        }) => {}
        other => panic!("list below the compaction point: {other:?}"),
    }
    let at4: Vec<String> = keys(s, "/c/", Some(4))
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(at4, ["/c/0", "/c/1", "/c/2", "/c/3"]);
    assert_eq!(keys(s, "/c/", None).await.len(), 5);

    assert!(matches!(
        s.watch("/c/", 3).await.err(),
        Some(Error::Compacted {
            requested: 3,
            compacted: 4
        })
    ));
    let mut w = s
        .watch("/c/", 4)
        .await
        .expect("watch at the compaction point");
    let revs = [
        next_event(&mut w).await,
        next_event(&mut w).await,
        next_event(&mut w).await,
    ];
    assert_eq!(revs.map(|e| e.revision()), [5, 6, 7]);
    quiet(&mut w).await;

    s.compact(7).await.expect("compact to current");
    assert_eq!(keys(s, "/c/", Some(7)).await.len(), 5);
    create(s, "/c/9", "v").await;
    let mut w = s.watch("/c/", 7).await.expect("watch");
    assert_eq!(next_event(&mut w).await.revision(), 8);
}

/// A watch from a revision delivers every later event in order, with previous values.
pub async fn watch_from_revision(s: Arc<dyn Store>) {
    let s = &*s;
    let a1 = create(s, "/w/a", "1").await;
    let a2 = s
        .update("/w/a", val("2"), a1.mod_revision)
        .await
        .expect("update");
    let b = create(s, "/w/b", "1").await;
    let (_, deleted_at) = s.delete("/w/a", None).await.expect("delete");

    let mut w = s.watch("/w/", 0).await.expect("watch");
    assert_eq!(
        next_event(&mut w).await,
        Event::Put {
            kv: a1.clone(),
            prev: None
        }
    );
    assert_eq!(
        next_event(&mut w).await,
        Event::Put {
            kv: a2.clone(),
            prev: Some(a1.clone())
        }
    );
    assert_eq!(
        next_event(&mut w).await,
        Event::Put {
            kv: b.clone(),
            prev: None
        }
    );
    assert_eq!(
        next_event(&mut w).await,
        Event::Delete {
            prev: a2.clone(),
            revision: deleted_at
        }
    );
    quiet(&mut w).await;

    let mut from_middle = s.watch("/w/", a2.mod_revision).await.expect("watch");
    let b2 = s
        .update("/w/b", val("2"), b.mod_revision)
        .await
        .expect("update");
    assert_eq!(
        next_event(&mut w).await,
        Event::Put {
            kv: b2.clone(),
            prev: Some(b.clone())
        }
    );
    assert_eq!(
        next_event(&mut from_middle).await.revision(),
        b.mod_revision
    );
    assert_eq!(next_event(&mut from_middle).await.revision(), deleted_at);
    assert_eq!(
        next_event(&mut from_middle).await.revision(),
        b2.mod_revision
    );
    let (prev, at) = s
        .delete("/w/b", Some(b2.mod_revision))
        .await
        .expect("delete");
    assert_eq!(
        next_event(&mut w).await,
        Event::Delete { prev, revision: at }
    );
    quiet(&mut w).await;
}

/// A watch sees only keys under its prefix.
pub async fn watch_prefix(s: Arc<dyn Store>) {
    let s = &*s;
    let mut w = s.watch("/a/", 0).await.expect("watch");
    let mut all = s.watch("", 0).await.expect("watch everything");
    create(s, "/ab/1", "x").await;
    create(s, "/a", "x").await;
    let a1 = create(s, "/a/1", "x").await;
    create(s, "/b/1", "x").await;
    let a2 = create(s, "/a/2", "x").await;
    assert_eq!(next_event(&mut w).await.key(), a1.key);
    assert_eq!(next_event(&mut w).await.key(), a2.key);
    quiet(&mut w).await;
    for revision in 1..=5 {
        assert_eq!(next_event(&mut all).await.revision(), revision);
    }
}

/// A watch from a future revision waits for it.
pub async fn watch_future_revision(s: Arc<dyn Store>) {
    let s = &*s;
    create(s, "/f/0", "v").await;
    let mut w = s.watch("/f/", 3).await.expect("watch ahead");
    for i in 1..5 {
        create(s, &format!("/f/{i}"), "v").await;
    }
    assert_eq!(next_event(&mut w).await.revision(), 4);
    assert_eq!(next_event(&mut w).await.revision(), 5);
    quiet(&mut w).await;
}

/// Watches opened while writes stream in see every revision exactly once.
pub async fn watch_replay_then_live(s: Arc<dyn Store>) {
    const WRITES: i64 = 500;
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..WRITES {
                s.create(&format!("/l/{i:04}"), val("v"))
                    .await
                    .expect("create");
            }
        })
    };
    let mut watches = Vec::new();
    while watches.len() < 5 {
        let current = s.current_revision().await.expect("current");
        let after = current / 2;
        watches.push((after, s.watch("/l/", after).await.expect("watch")));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    writer.await.expect("writer task");
    for (after, mut w) in watches {
        for revision in after + 1..=WRITES {
            let event = next_event(&mut w).await;
            assert_eq!(event.revision(), revision, "watch after {after}");
        }
        quiet(&mut w).await;
    }
}

/// 16 concurrent writers: every create acknowledged, revisions unique and dense.
pub async fn concurrent_creates(s: Arc<dyn Store>) {
    const TASKS: usize = 16;
    const EACH: usize = 200;
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut revisions = Vec::with_capacity(EACH);
                for i in 0..EACH {
                    let kv = s
                        .create(&format!("/cc/{t:02}/{i:04}"), val("v"))
                        .await
                        .expect("create");
                    revisions.push(kv.mod_revision);
                }
                revisions
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for task in tasks {
        let revisions = task.await.expect("writer task");
        assert!(
            revisions.windows(2).all(|w| w[0] < w[1]),
            "one writer's revisions increase"
        );
        for revision in revisions {
            assert!(seen.insert(revision), "revision {revision} given twice");
        }
    }
    let total = i64::try_from(TASKS * EACH).expect("small");
    assert_eq!(seen, (1..=total).collect::<HashSet<_>>());
    assert_eq!(s.current_revision().await.expect("current"), total);
    let listed = s.list("/cc/", ListOptions::default()).await.expect("list");
    assert_eq!(listed.kvs.len(), TASKS * EACH);
}

/// Concurrent updates from one revision: exactly one wins, the rest conflict.
pub async fn concurrent_updates(s: Arc<dyn Store>) {
    let base = create(&*s, "/u", "0").await;
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(
                async move { s.update("/u", val(&t.to_string()), base.mod_revision).await },
            )
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => won += 1,
            Err(Error::Conflict { .. }) => {}
            Err(e) => panic!("update: {e}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(s.current_revision().await.expect("current"), 2);
}
