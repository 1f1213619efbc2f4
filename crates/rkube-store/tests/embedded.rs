//! The contract suite and backend-specific tests for the embedded store.
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any error")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use rkube_store::embedded::{EmbeddedConfig, EmbeddedStore};
use rkube_store::{Error, ListOptions, Store, testing};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contract_suite() {
    let root = tempfile::tempdir().unwrap();
    let n = AtomicUsize::new(0);
    testing::run_all(|| {
        let dir = root
            .path()
            .join(n.fetch_add(1, Ordering::SeqCst).to_string());
        async move { Arc::new(EmbeddedStore::open(&dir).await.unwrap()) as Arc<dyn Store> }
    })
    .await;
}

fn value(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

#[tokio::test]
async fn reopen_keeps_data_revisions_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    let a = store.create("/k/a", value("1")).await.unwrap();
    store
        .update("/k/a", value("2"), a.mod_revision)
        .await
        .unwrap();
    store.create("/k/b", value("1")).await.unwrap();
    store.create("/k/c", value("1")).await.unwrap();
    store.delete("/k/b", None).await.unwrap();
    store.compact(2).await.unwrap();
    let before = store.list("/k/", ListOptions::default()).await.unwrap();
    let mut events = Vec::new();
    let mut w = store.watch("/k/", 2).await.unwrap();
    for _ in 0..3 {
        events.push(w.next().await.unwrap().unwrap());
    }
    store.close().await.unwrap();
    assert!(
        w.next().await.is_none(),
        "watches end when the store closes"
    );

    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    assert_eq!(store.current_revision().await.unwrap(), 5);
    assert_eq!(store.compacted_revision().await.unwrap(), 2);
    assert_eq!(
        store.list("/k/", ListOptions::default()).await.unwrap().kvs,
        before.kvs
    );
    let mut w = store.watch("/k/", 2).await.unwrap();
    for event in events {
        assert_eq!(w.next().await.unwrap().unwrap(), event);
    }
    let at3 = store.list(
        "/k/",
        ListOptions {
            revision: Some(3),
            ..Default::default()
        },
    );
    assert_eq!(at3.await.unwrap().kvs.len(), 2);
    assert!(matches!(
        store.watch("/k/", 1).await.err(),
        Some(Error::Compacted { .. })
    ));
    let next = store.create("/k/d", value("1")).await.unwrap();
    assert_eq!(next.mod_revision, 6);
}

#[tokio::test]
async fn lagging_watcher_gets_compacted_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    let mut w = store.watch("/", 0).await.unwrap();
    for i in 0..10 {
        store.create(&format!("/x/{i}"), value("v")).await.unwrap();
    }
    store.compact(5).await.unwrap();
    match w.next().await {
        Some(Err(Error::Compacted {
            requested: 0,
            compacted: 5,
        })) => {}
        other => panic!("expected a compacted error, got {other:?}"),
    }
    assert!(w.next().await.is_none(), "the stream ends after its error");
}

#[tokio::test]
async fn background_compaction_keeps_recent_history() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedConfig {
        compaction_interval: Duration::from_millis(50),
        retained_revisions: 10,
    };
    let store = EmbeddedStore::open_with(dir.path(), config).await.unwrap();
    for i in 0..15 {
        store.create(&format!("/b/{i}"), value("v")).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.compacted_revision().await.unwrap() < 5 {
        assert!(
            Instant::now() < deadline,
            "the background compactor did not run"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.compacted_revision().await.unwrap(), 5);
    assert!(store.watch("/b/", 4).await.is_err());
    let mut w = store.watch("/b/", 5).await.unwrap();
    assert_eq!(w.next().await.unwrap().unwrap().revision(), 6);
    store.close().await.unwrap();
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    assert_eq!(
        store.compacted_revision().await.unwrap(),
        5,
        "compaction is durable"
    );
    assert_eq!(
        store
            .list("/b/", ListOptions::default())
            .await
            .unwrap()
            .kvs
            .len(),
        15
    );
}

#[tokio::test]
async fn writer_bounds_history_between_compactor_runs() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedConfig {
        compaction_interval: Duration::from_secs(3600),
        retained_revisions: 10,
    };
    let store = EmbeddedStore::open_with(dir.path(), config).await.unwrap();
    for i in 0..100 {
        store.create(&format!("/h/{i}"), value("v")).await.unwrap();
        let current = store.current_revision().await.unwrap();
        assert!(current - store.compacted_revision().await.unwrap() <= 20);
    }
    assert!(store.compacted_revision().await.unwrap() >= 80);
}

#[tokio::test]
async fn compaction_keeps_the_file_from_growing() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    let big = Bytes::from(vec![7u8; 4096]);
    let mut revisions = std::collections::HashMap::new();
    let mut sizes = Vec::new();
    for _round in 0..6 {
        for i in 0..400 {
            let key = format!("/g/{}", i % 8);
            let kv = match revisions.get(&key) {
                Some(&rev) => store.update(&key, big.clone(), rev).await.unwrap(),
                None => store.create(&key, big.clone()).await.unwrap(),
            };
            revisions.insert(key, kv.mod_revision);
        }
        let current = store.current_revision().await.unwrap();
        store.compact(current - 10).await.unwrap();
        sizes.push(
            std::fs::metadata(dir.path().join("store.redb"))
                .unwrap()
                .len(),
        );
    }
    println!("data file size after each round (bytes): {sizes:?}");
    assert!(
        sizes[5] <= sizes[1] + sizes[1] / 2,
        "the data file keeps growing despite compaction: {sizes:?}"
    );
}

/// Unmounts a test mount even when the test fails.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "`mount -t tmpfs` failed: the full-disk test needs root (CAP_SYS_ADMIN) to mount a small tmpfs"
        );
        Self(at.to_owned())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system of `path` with a file there; returns the bytes written.
fn fill(path: &Path) -> usize {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 << 10];
    let mut written = 0;
    while let Ok(n) = file.write(&chunk) {
        if n == 0 {
            break;
        }
        written += n;
    }
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_fails_cleanly_and_recovers() {
    let root = tempfile::tempdir().unwrap();
    let mount = Mount::tmpfs(&root.path().join("small"), "8m");
    let filler = mount.0.join("filler");
    std::fs::write(&filler, vec![0u8; 2 << 20]).unwrap();
    let dir = mount.0.join("store");
    let store = Arc::new(EmbeddedStore::open(&dir).await.unwrap());
    let chunk = Bytes::from(vec![1u8; 16 << 10]);

    let mut acked = Vec::new();
    let failure = loop {
        assert!(acked.len() < 2000, "8 MiB never filled up");
        match store
            .create(&format!("/full/{:05}", acked.len()), chunk.clone())
            .await
        {
            Ok(kv) => acked.push(kv),
            Err(error) => break error,
        }
    };
    println!("disk full after {} writes: {failure}", acked.len());
    assert!(matches!(failure, Error::Unavailable(_)), "{failure:?}");
    assert!(!acked.is_empty());
    let mut last = acked.last().unwrap().mod_revision;
    assert_eq!(store.current_revision().await.unwrap(), last);
    assert_eq!(
        store
            .list("/full/", ListOptions::default())
            .await
            .unwrap()
            .kvs,
        acked
    );

    // Concurrent writers on a full disk (batches fail as a whole), then on a
    // disk without a free byte: each write is acknowledged and visible, or
    // fails with `Unavailable` and is invisible.
    for round in 0..2 {
        if round == 1 {
            println!("filled the last {} bytes", fill(&mount.0.join("filler2")));
        }
        let tries: Vec<_> = (0..8)
            .map(|i| {
                let (store, chunk) = (store.clone(), chunk.clone());
                let key = format!("/full/r{round}-{i}");
                tokio::spawn(async move { (store.create(&key, chunk).await, key) })
            })
            .collect();
        for attempt in tries {
            match attempt.await.unwrap() {
                (Ok(kv), _) => acked.push(kv),
                (Err(Error::Unavailable(_)), key) => {
                    assert_eq!(store.get(&key).await.unwrap(), None);
                }
                (Err(other), _) => panic!("unexpected error on a full disk: {other:?}"),
            }
        }
        acked.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(
            store
                .list("/full/", ListOptions::default())
                .await
                .unwrap()
                .kvs,
            acked
        );
    }
    last = acked.iter().map(|kv| kv.mod_revision).max().unwrap();
    assert_eq!(store.current_revision().await.unwrap(), last);

    // While the file is away, reopening after a failure fails too: writes
    // keep failing cleanly (they must not start an empty store), reads work.
    let file = dir.join("store.redb");
    let away = mount.0.join("away.redb");
    std::fs::rename(&file, &away).unwrap();
    for i in 0..3 {
        let attempt = store.create(&format!("/full/away{i}"), chunk.clone()).await;
        assert!(matches!(attempt, Err(Error::Unavailable(_))), "{attempt:?}");
    }
    assert!(!file.exists(), "a failed reopen must not create a new file");
    assert_eq!(
        store
            .list("/full/", ListOptions::default())
            .await
            .unwrap()
            .kvs,
        acked
    );
    std::fs::rename(&away, &file).unwrap();

    // Free space: writes work again, with the next revision.
    std::fs::remove_file(&filler).unwrap();
    std::fs::remove_file(mount.0.join("filler2")).unwrap();
    let kv = store.create("/full/after", value("small")).await.unwrap();
    assert_eq!(kv.mod_revision, last + 1);
    acked.push(kv);
    let store = Arc::into_inner(store).unwrap();
    store.close().await.unwrap();

    let store = EmbeddedStore::open(&dir).await.unwrap();
    let listed = store.list("/full/", ListOptions::default()).await.unwrap();
    acked.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(listed.kvs, acked);
    assert_eq!(store.current_revision().await.unwrap(), last + 1);
    store.close().await.unwrap();
}

const CRASH_DIR: &str = "RKUBE_STORE_CRASH_DIR";

#[test]
fn kill_9_keeps_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DIR, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(ack) = line.strip_prefix("acked ") {
            let (key, rev) = ack.split_once(' ').unwrap();
            acked.push((key.to_owned(), rev.parse::<i64>().unwrap()));
            if acked.len() == 1000 {
                child.kill().unwrap();
                break;
            }
        }
    }
    child.wait().unwrap();
    assert_eq!(acked.len(), 1000, "the child stopped before 1000 writes");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = EmbeddedStore::open(dir.path()).await.unwrap();
        let newest = acked.iter().map(|(_, rev)| *rev).max().unwrap();
        assert!(store.current_revision().await.unwrap() >= newest);
        for (key, rev) in &acked {
            let kv = store
                .get(key)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{key} lost"));
            assert_eq!(kv.mod_revision, *rev);
        }
        let mut w = store.watch("/crash/", 0).await.unwrap();
        for revision in 1..=newest {
            assert_eq!(w.next().await.unwrap().unwrap().revision(), revision);
        }
    });
}

/// The child of `kill_9_keeps_acknowledged_writes`: writes until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by kill_9_keeps_acknowledged_writes"]
async fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_DIR) else {
        return;
    };
    let store = Arc::new(EmbeddedStore::open(Path::new(&dir)).await.unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let key = format!("/crash/{t}/{i}");
                    let kv = store
                        .create(&key, Bytes::from(vec![3u8; 1024]))
                        .await
                        .unwrap();
                    println!("acked {key} {}", kv.mod_revision);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_of_16_concurrent_creators() {
    const TASKS: usize = 16;
    const EACH: usize = 250;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).await.unwrap());
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    let value = Bytes::from(vec![b'x'; 1024]);
                    store.create(&format!("/t/{t}/{i}"), value).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = start.elapsed();
    let rate = (TASKS * EACH) as f64 / elapsed.as_secs_f64();
    println!(
        "{} durable 1 KiB creates from {TASKS} tasks in {elapsed:?}: {rate:.0}/s",
        TASKS * EACH
    );
}
