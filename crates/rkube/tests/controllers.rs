//! The ReplicaSet and Deployment controllers end to end, with kubectl 1.37
//! and kube-rs. There is no kubelet: the tests play its part by setting pod
//! status (Running, Ready) through `pods/status`, step by step, and check the
//! rollout's bounds on every watch event.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::{Value, json};
use support::Server;

const REVISION: &str = "deployment.kubernetes.io/revision";
const HASH: &str = "pod-template-hash";

async fn client_for(s: &Server) -> kube::Client {
    let kc = Kubeconfig::read_from(&s.kubeconfig).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(config).expect("client")
}

/// kubectl from async code (it blocks).
fn kubectl(s: &Server, args: &[&str]) -> String {
    tokio::task::block_in_place(|| s.kubectl_ok(args))
}

fn kubectl_in(s: &Server, args: &[&str], stdin: &Value) -> String {
    tokio::task::block_in_place(|| s.kubectl_in(args, &stdin.to_string()))
}

/// A Deployment of busybox pods labelled `app: <name>`.
fn deployment(name: &str, replicas: i32, strategy: Value, extra_spec: Value) -> Value {
    let mut d = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "rkube.test/busybox:1"}]},
            },
        },
    });
    if let (Some(spec), Some(extra)) = (d["spec"].as_object_mut(), extra_spec.as_object()) {
        spec.extend(extra.clone());
    }
    d
}

fn rolling(surge: Value, unavailable: Value) -> Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})
}

fn labels(p: &Pod) -> BTreeMap<String, String> {
    p.metadata.labels.clone().unwrap_or_default()
}

fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

fn name(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

async fn list<K>(api: &Api<K>, selector: &str) -> Vec<K>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.list(&ListParams::default().labels(selector))
        .await
        .expect("list")
        .items
}

/// Play the kubelet: the pod runs and is Ready since `since_secs_ago` seconds.
async fn make_ready(pods: &Api<Pod>, pod: &str, since_secs_ago: i64) {
    let at = k8s_openapi::jiff::Timestamp::now()
        - k8s_openapi::jiff::SignedDuration::from_secs(since_secs_ago);
    let at = k8s_openapi::jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%SZ", at).expect("time");
    let status = json!({"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": at},
        {"type": "PodScheduled", "status": "True"},
    ]}});
    pods.patch_status(pod, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("patch pod status");
}

async fn set_phase(pods: &Api<Pod>, pod: &str, phase: &str) {
    let status = json!({"status": {"phase": phase}});
    pods.patch_status(pod, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("patch pod status");
}

/// Poll `f` every 100 ms until it returns Some, or fail after `secs` with `what`.
async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Everything the controllers write about one app, to tell when they have stopped acting.
async fn snapshot(client: &kube::Client, app: &str) -> String {
    let selector = format!("app={app}");
    let pods: Vec<(String, bool)> =
        list(&Api::<Pod>::default_namespaced(client.clone()), &selector)
            .await
            .iter()
            .map(|p| (name(&p.metadata), is_ready(p)))
            .collect();
    let rss: Vec<Value> = list(
        &Api::<ReplicaSet>::default_namespaced(client.clone()),
        &selector,
    )
    .await
    .iter()
    .map(|rs| {
        json!([
            rs.metadata.name,
            rs.spec.replicas,
            rs.status,
            rs.metadata.annotations
        ])
    })
    .collect();
    let d = Api::<Deployment>::default_namespaced(client.clone())
        .get_opt(app)
        .await
        .expect("get deployment");
    json!([pods, rss, d.map(|d| (d.status, d.metadata.annotations))]).to_string()
}

/// Wait until nothing about `app` changed for 700 ms.
async fn settle(client: &kube::Client, app: &str) {
    let mut last = snapshot(client, app).await;
    let mut stable_since = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(30);
    while stable_since.elapsed() < Duration::from_millis(700) {
        assert!(Instant::now() < deadline, "{app} never settled: {last}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = snapshot(client, app).await;
        if now != last {
            last = now;
            stable_since = Instant::now();
        }
    }
}

/// The Deployment's status reports the rollout of its current generation complete.
fn rolled_out(d: &Deployment) -> bool {
    let want = d.spec.replicas.unwrap_or(1);
    let Some(s) = d.status.as_ref() else {
        return false;
    };
    s.observed_generation >= d.metadata.generation
        && s.updated_replicas.unwrap_or(0) == want
        && s.replicas.unwrap_or(0) == want
        && s.available_replicas.unwrap_or(0) == want
}

/// Act as the kubelet for every pod of `app` until its Deployment has rolled out.
async fn complete_rollout(client: &kube::Client, app: &str) -> Deployment {
    let pods = Api::<Pod>::default_namespaced(client.clone());
    let deployments = Api::<Deployment>::default_namespaced(client.clone());
    wait_for(60, &format!("deployment {app} to roll out"), || async {
        for p in list(&pods, &format!("app={app}"))
            .await
            .iter()
            .filter(|p| !is_ready(p))
        {
            make_ready(&pods, &name(&p.metadata), 0).await;
        }
        let d = deployments.get(app).await.expect("get deployment");
        rolled_out(&d).then_some(d)
    })
    .await
}

fn condition(d: &Deployment, type_: &str) -> Option<(String, String, String)> {
    let c = d
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_.as_deref() == Some(type_))?;
    Some((
        c.status.clone().unwrap_or_default(),
        c.reason.clone().unwrap_or_default(),
        c.message.clone().unwrap_or_default(),
    ))
}

fn annotation(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
) -> Option<String> {
    meta.annotations.as_ref()?.get(key).cloned()
}

fn controller(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<(String, String, Option<bool>)> {
    let r = meta
        .owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))?;
    Some((r.kind.clone(), r.name.clone(), r.block_owner_deletion))
}

/// Watch `K` objects labelled `app=<app>` and run `check` on the whole set after every event,
/// once the initial list is in.
async fn watch_all<K>(
    api: Api<K>,
    app: &str,
    check: impl Fn(&[Arc<K>]) -> Option<String> + Send + 'static,
) -> Arc<Mutex<Vec<String>>>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let violations = Arc::new(Mutex::new(Vec::new()));
    let found = violations.clone();
    let (reader, writer) = reflector::store();
    let stream = reflector(
        writer,
        watcher(
            api,
            watcher::Config::default().labels(&format!("app={app}")),
        ),
    )
    .default_backoff();
    let mut listed = false;
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let mut ready_tx = Some(ready_tx);
    tokio::spawn(stream.for_each(move |event| {
        if matches!(event, Ok(watcher::Event::InitDone)) {
            listed = true;
            if let Some(tx) = ready_tx.take() {
                let _ = tx.send(());
            }
        }
        if listed && let Some(v) = check(&reader.state()) {
            found.lock().expect("violations").push(v);
        }
        async {}
    }));
    ready_rx.await.expect("watch listed");
    violations
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_creates_owned_replicaset_and_pods_then_scales_choosing_victims() {
    let s = Server::start();
    let client = client_for(&s).await;
    let pods = Api::<Pod>::default_namespaced(client.clone());
    let rss = Api::<ReplicaSet>::default_namespaced(client.clone());
    kubectl_in(
        &s,
        &["apply", "-f", "-"],
        &deployment("web", 3, rolling(json!("25%"), json!("25%")), json!({})),
    );

    let created = wait_for(30, "3 pods", || async {
        let p = list(&pods, "app=web").await;
        (p.len() == 3).then_some(p)
    })
    .await;
    let all_rs = list(&rss, "app=web").await;
    assert_eq!(all_rs.len(), 1, "one ReplicaSet");
    let rs = &all_rs[0];
    let hash = labels(&created[0])
        .get(HASH)
        .cloned()
        .expect("pod-template-hash label");
    assert_eq!(name(&rs.metadata), format!("web-{hash}"));
    assert_eq!(
        rs.spec
            .selector
            .match_labels
            .as_ref()
            .and_then(|m| m.get(HASH)),
        Some(&hash)
    );
    assert_eq!(
        controller(&rs.metadata),
        Some(("Deployment".into(), "web".into(), Some(true)))
    );
    assert_eq!(annotation(&rs.metadata, REVISION).as_deref(), Some("1"));
    assert_eq!(
        annotation(&rs.metadata, "deployment.kubernetes.io/desired-replicas").as_deref(),
        Some("3")
    );
    assert_eq!(
        annotation(&rs.metadata, "deployment.kubernetes.io/max-replicas").as_deref(),
        Some("4")
    );
    for p in &created {
        assert_eq!(
            controller(&p.metadata),
            Some(("ReplicaSet".into(), format!("web-{hash}"), Some(true))),
            "{:?}",
            p.metadata
        );
        assert_eq!(
            p.metadata.generate_name.as_deref(),
            Some(format!("web-{hash}-").as_str())
        );
    }

    kubectl(&s, &["scale", "deploy/web", "--replicas=5"]);
    let five = wait_for(30, "5 pods", || async {
        let p = list(&pods, "app=web").await;
        (p.len() == 5).then_some(p)
    })
    .await;
    // One pod ready for an hour, one ready just now, one running but not ready, two pending.
    let names: Vec<String> = five.iter().map(|p| name(&p.metadata)).collect();
    make_ready(&pods, &names[0], 3600).await;
    make_ready(&pods, &names[1], 0).await;
    set_phase(&pods, &names[2], "Running").await;
    wait_for(30, "the ReplicaSet to see 2 ready pods", || async {
        let rs = rss.get(&format!("web-{hash}")).await.expect("rs");
        (rs.status.as_ref().and_then(|s| s.ready_replicas) == Some(2)).then_some(())
    })
    .await;

    kubectl(&s, &["scale", "deploy/web", "--replicas=3"]);
    let left: BTreeSet<String> = wait_for(30, "3 pods", || async {
        let p = list(&pods, "app=web").await;
        (p.len() == 3).then(|| p.iter().map(|p| name(&p.metadata)).collect())
    })
    .await;
    assert_eq!(
        left,
        names[..3].iter().cloned().collect(),
        "pending pods go first"
    );

    kubectl(&s, &["scale", "deploy/web", "--replicas=1"]);
    let left: Vec<String> = wait_for(30, "1 pod", || async {
        let p = list(&pods, "app=web").await;
        (p.len() == 1).then(|| p.iter().map(|p| name(&p.metadata)).collect())
    })
    .await;
    assert_eq!(
        left,
        [names[0].clone()],
        "not-ready, then recently ready pods go before the long-ready one"
    );

    let d = wait_for(30, "deployment status", || async {
        let d = Api::<Deployment>::default_namespaced(client.clone())
            .get("web")
            .await
            .expect("get");
        rolled_out(&d).then_some(d)
    })
    .await;
    assert_eq!(
        condition(&d, "Available").map(|c| c.1),
        Some("MinimumReplicasAvailable".into())
    );
    assert_eq!(annotation(&d.metadata, REVISION).as_deref(), Some("1"));
    let rs = rss.get(&format!("web-{hash}")).await.expect("rs");
    assert_eq!(
        annotation(&rs.metadata, "deployment.kubernetes.io/desired-replicas").as_deref(),
        Some("1")
    );
    assert_eq!(
        list(&rss, "app=web").await.len(),
        1,
        "scaling creates no new ReplicaSet"
    );
}

/// Roll `app` from image 1 to image 2, marking one new pod ready at a time, and check on every
/// watch event that the ReplicaSets never ask for more than replicas + maxSurge pods and that
/// no fewer than replicas - maxUnavailable pods are ready. Returns the number of steps.
async fn rolling_update(
    s: &Server,
    app: &str,
    replicas: usize,
    strategy: Value,
    surge: usize,
    unavailable: usize,
) -> usize {
    let client = client_for(s).await;
    let pods = Api::<Pod>::default_namespaced(client.clone());
    let rss = Api::<ReplicaSet>::default_namespaced(client.clone());
    kubectl_in(
        s,
        &["apply", "-f", "-"],
        &deployment(
            app,
            i32::try_from(replicas).expect("replicas"),
            strategy,
            json!({}),
        ),
    );
    complete_rollout(&client, app).await;
    settle(&client, app).await;

    // The fewest ready pods and the most pods asked for, over every watch event.
    let seen = Arc::new(Mutex::new((usize::MAX, 0usize)));
    let min_ready = replicas - unavailable;
    let lowest = seen.clone();
    let ready_violations = watch_all(pods.clone(), app, move |pods| {
        let ready = pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none() && is_ready(p))
            .count();
        let mut seen = lowest.lock().expect("seen");
        seen.0 = seen.0.min(ready);
        (ready < min_ready).then(|| format!("only {ready} ready pods"))
    })
    .await;
    let max_pods = replicas + surge;
    let highest = seen.clone();
    let spec_violations = watch_all(rss.clone(), app, move |rss| {
        let total = rss
            .iter()
            .map(|rs| usize::try_from(rs.spec.replicas.unwrap_or(0)).unwrap_or(0))
            .sum::<usize>();
        let mut seen = highest.lock().expect("seen");
        seen.1 = seen.1.max(total);
        (total > max_pods).then(|| format!("ReplicaSets ask for {total} pods"))
    })
    .await;

    kubectl(
        s,
        &[
            "set",
            "image",
            &format!("deploy/{app}"),
            "c=rkube.test/busybox:2",
        ],
    );
    let status = {
        let (kubeconfig, app) = (s.kubeconfig.clone(), app.to_string());
        std::thread::spawn(move || {
            std::process::Command::new(support::kubectl())
                .arg("--kubeconfig")
                .arg(kubeconfig)
                .args([
                    "rollout",
                    "status",
                    &format!("deploy/{app}"),
                    "--timeout=60s",
                ])
                .output()
                .expect("kubectl rollout status")
        })
    };
    let mut steps = 0;
    let new_hash = loop {
        settle(&client, app).await;
        let all = list(&pods, &format!("app={app}")).await;
        assert!(
            all.len() <= max_pods,
            "{} pods exist, at most {max_pods} allowed",
            all.len()
        );
        let d = Api::<Deployment>::default_namespaced(client.clone())
            .get(app)
            .await
            .expect("get deployment");
        let new_rs = list(&rss, &format!("app={app}"))
            .await
            .into_iter()
            .find(|rs| annotation(&rs.metadata, REVISION).as_deref() == Some("2"))
            .expect("a ReplicaSet at revision 2");
        let hash = labels_of(&new_rs).get(HASH).cloned().expect("hash");
        if rolled_out(&d)
            && all
                .iter()
                .all(|p| labels(p).get(HASH) == Some(&hash) && is_ready(p))
        {
            break hash;
        }
        let next = all
            .iter()
            .find(|p| labels(p).get(HASH) == Some(&hash) && !is_ready(p))
            .expect("a new pod waiting to become ready");
        make_ready(&pods, &name(&next.metadata), 0).await;
        steps += 1;
        assert!(steps <= replicas, "more steps than pods");
    };
    let out = status.join().expect("rollout status thread");
    assert!(
        out.status.success(),
        "rollout status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("successfully rolled out"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        ready_violations.lock().expect("lock").as_slice(),
        &[] as &[String]
    );
    assert_eq!(
        spec_violations.lock().expect("lock").as_slice(),
        &[] as &[String]
    );
    assert_eq!(
        *seen.lock().expect("seen"),
        (min_ready, max_pods),
        "the rollout uses its whole budget"
    );

    let d = Api::<Deployment>::default_namespaced(client.clone())
        .get(app)
        .await
        .expect("get deployment");
    assert_eq!(annotation(&d.metadata, REVISION).as_deref(), Some("2"));
    let (status, reason, message) = condition(&d, "Progressing").expect("Progressing");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "NewReplicaSetAvailable")
    );
    assert_eq!(
        message,
        format!("ReplicaSet \"{app}-{new_hash}\" has successfully progressed.")
    );
    assert_eq!(
        condition(&d, "Available").map(|c| (c.0, c.1)),
        Some(("True".into(), "MinimumReplicasAvailable".into()))
    );
    let old: Vec<ReplicaSet> = list(&rss, &format!("app={app}"))
        .await
        .into_iter()
        .filter(|rs| labels_of(rs).get(HASH) != Some(&new_hash))
        .collect();
    assert_eq!(old.len(), 1);
    assert_eq!(
        (
            old[0].spec.replicas,
            annotation(&old[0].metadata, REVISION).as_deref()
        ),
        (Some(0), Some("1"))
    );
    steps
}

fn labels_of(rs: &ReplicaSet) -> BTreeMap<String, String> {
    rs.metadata.labels.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_with_numbers_respects_surge_and_unavailability() {
    let s = Server::start();
    let steps = rolling_update(&s, "roll", 4, rolling(json!(1), json!(1)), 1, 1).await;
    assert_eq!(steps, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_with_percentages_never_drops_below_desired_ready() {
    let s = Server::start();
    // 4 replicas: maxSurge 30% rounds up to 2, maxUnavailable 30% rounds down to 1; 0% keeps all ready.
    let steps = rolling_update(&s, "pct", 4, rolling(json!("30%"), json!("0%")), 2, 0).await;
    assert_eq!(steps, 4);
    let steps = rolling_update(&s, "pct2", 4, rolling(json!("30%"), json!("30%")), 2, 1).await;
    assert_eq!(steps, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_removes_every_old_pod_before_creating_new_ones() {
    let s = Server::start();
    let client = client_for(&s).await;
    kubectl_in(
        &s,
        &["apply", "-f", "-"],
        &deployment("re", 3, json!({"type": "Recreate"}), json!({})),
    );
    complete_rollout(&client, "re").await;
    settle(&client, "re").await;
    let mixed = watch_all(
        Api::<Pod>::default_namespaced(client.clone()),
        "re",
        |pods| {
            let hashes: BTreeSet<String> = pods
                .iter()
                .filter_map(|p| labels(p).get(HASH).cloned())
                .collect();
            (hashes.len() > 1).then(|| format!("pods of {} revisions at once", hashes.len()))
        },
    )
    .await;
    kubectl(&s, &["set", "image", "deploy/re", "c=rkube.test/busybox:2"]);
    let d = complete_rollout(&client, "re").await;
    assert_eq!(annotation(&d.metadata, REVISION).as_deref(), Some("2"));
    assert_eq!(mixed.lock().expect("lock").as_slice(), &[] as &[String]);
    let pods = list(&Api::<Pod>::default_namespaced(client.clone()), "app=re").await;
    assert_eq!(pods.len(), 3);
    let images: BTreeSet<String> = pods
        .iter()
        .filter_map(|p| p.spec.as_ref())
        .flat_map(|s| s.containers.iter().filter_map(|c| c.image.clone()))
        .collect();
    assert_eq!(images, BTreeSet::from(["rkube.test/busybox:2".to_string()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revisions_history_limit_and_rollback() {
    let s = Server::start();
    let client = client_for(&s).await;
    let rss = Api::<ReplicaSet>::default_namespaced(client.clone());
    let spec = json!({"revisionHistoryLimit": 2});
    kubectl_in(
        &s,
        &["apply", "-f", "-"],
        &deployment("hist", 2, rolling(json!(1), json!(0)), spec),
    );
    complete_rollout(&client, "hist").await;
    for tag in ["2", "3", "4"] {
        kubectl(
            &s,
            &[
                "set",
                "image",
                "deploy/hist",
                &format!("c=rkube.test/busybox:{tag}"),
            ],
        );
        complete_rollout(&client, "hist").await;
    }
    let revisions = || async {
        let mut r: Vec<(String, String)> = list(&rss, "app=hist")
            .await
            .iter()
            .map(|rs| {
                let image = rs
                    .spec
                    .template
                    .as_ref()
                    .and_then(|t| t.spec.as_ref())
                    .and_then(|s| s.containers[0].image.clone());
                (
                    annotation(&rs.metadata, REVISION).unwrap_or_default(),
                    image.unwrap_or_default(),
                )
            })
            .collect();
        r.sort();
        r
    };
    let kept = wait_for(30, "old revisions beyond the limit to go", || async {
        let r = revisions().await;
        (r.len() == 3).then_some(r)
    })
    .await;
    assert_eq!(
        kept,
        [
            ("2".into(), "rkube.test/busybox:2".into()),
            ("3".into(), "rkube.test/busybox:3".into()),
            ("4".into(), "rkube.test/busybox:4".into())
        ]
    );
    let history = kubectl(&s, &["rollout", "history", "deploy/hist"]);
    let listed: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u32>().is_ok())
        .collect();
    assert_eq!(listed, ["2", "3", "4"], "{history}");
    let third = kubectl(&s, &["rollout", "history", "deploy/hist", "--revision=3"]);
    assert!(
        third.contains("rkube.test/busybox:3") && third.contains("revision #3"),
        "{third}"
    );

    kubectl(&s, &["rollout", "undo", "deploy/hist"]);
    let d = complete_rollout(&client, "hist").await;
    assert_eq!(annotation(&d.metadata, REVISION).as_deref(), Some("5"));
    let image = |d: &Deployment| {
        d.spec
            .template
            .spec
            .as_ref()
            .and_then(|s| s.containers[0].image.clone())
            .unwrap_or_default()
    };
    assert_eq!(image(&d), "rkube.test/busybox:3");
    let rs3 = list(&rss, "app=hist")
        .await
        .into_iter()
        .find(|rs| annotation(&rs.metadata, REVISION).as_deref() == Some("5"))
        .expect("rs");
    assert_eq!(
        annotation(&rs3.metadata, "deployment.kubernetes.io/revision-history").as_deref(),
        Some("3")
    );

    kubectl(&s, &["rollout", "undo", "deploy/hist", "--to-revision=2"]);
    let d = complete_rollout(&client, "hist").await;
    assert_eq!(
        (
            annotation(&d.metadata, REVISION).as_deref(),
            image(&d).as_str()
        ),
        (Some("6"), "rkube.test/busybox:2")
    );
    let kept = wait_for(30, "history to settle at 3 ReplicaSets", || async {
        let r = revisions().await;
        (r.len() == 3).then_some(r)
    })
    .await;
    assert_eq!(
        kept.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
        ["4", "5", "6"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_restart() {
    let s = Server::start();
    let client = client_for(&s).await;
    let rss = Api::<ReplicaSet>::default_namespaced(client.clone());
    let deployments = Api::<Deployment>::default_namespaced(client.clone());
    kubectl_in(
        &s,
        &["apply", "-f", "-"],
        &deployment("pz", 2, rolling(json!(1), json!(0)), json!({})),
    );
    complete_rollout(&client, "pz").await;

    kubectl(&s, &["rollout", "pause", "deploy/pz"]);
    wait_for(30, "the paused condition", || async {
        let d = deployments.get("pz").await.expect("get");
        let c = condition(&d, "Progressing")?;
        (c.0 == "Unknown" && c.1 == "DeploymentPaused" && c.2 == "Deployment is paused")
            .then_some(())
    })
    .await;
    kubectl(&s, &["set", "image", "deploy/pz", "c=rkube.test/busybox:2"]);
    settle(&client, "pz").await;
    assert_eq!(
        list(&rss, "app=pz").await.len(),
        1,
        "a paused Deployment does not roll out"
    );

    kubectl(&s, &["rollout", "resume", "deploy/pz"]);
    let d = complete_rollout(&client, "pz").await;
    assert_eq!(annotation(&d.metadata, REVISION).as_deref(), Some("2"));

    kubectl(&s, &["rollout", "restart", "deploy/pz"]);
    let d = wait_for(30, "the restart to start a new revision", || async {
        let d = deployments.get("pz").await.expect("get");
        (annotation(&d.metadata, REVISION).as_deref() == Some("3")).then_some(d)
    })
    .await;
    let restarted = d
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| annotation(m, "kubectl.kubernetes.io/restartedAt"));
    assert!(restarted.is_some(), "{:?}", d.spec.template.metadata);
    complete_rollout(&client, "pz").await;
    assert_eq!(list(&rss, "app=pz").await.len(), 3);

    kubectl(&s, &["rollout", "pause", "deploy/pz"]);
    let undo = tokio::task::block_in_place(|| s.kubectl(&["rollout", "undo", "deploy/pz"]));
    assert!(
        String::from_utf8_lossy(&undo.stderr).contains("you cannot rollback a paused deployment"),
        "{undo:?}"
    );
    kubectl(&s, &["rollout", "resume", "deploy/pz"]);
    wait_for(
        30,
        "progress to be reported again after resuming",
        || async {
            let d = deployments.get("pz").await.expect("get");
            let c = condition(&d, "Progressing")?;
            (c.0 == "True" && c.1 == "NewReplicaSetAvailable").then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_deadline_exceeded() {
    let s = Server::start();
    let client = client_for(&s).await;
    let deployments = Api::<Deployment>::default_namespaced(client.clone());
    let spec = json!({"progressDeadlineSeconds": 3});
    kubectl_in(
        &s,
        &["apply", "-f", "-"],
        &deployment("slow", 2, rolling(json!("25%"), json!("25%")), spec),
    );
    let d = wait_for(30, "the progress deadline to pass", || async {
        let d = deployments.get("slow").await.expect("get");
        (condition(&d, "Progressing")?.0 == "False").then_some(d)
    })
    .await;
    let rs = list(
        &Api::<ReplicaSet>::default_namespaced(client.clone()),
        "app=slow",
    )
    .await;
    let (status, reason, message) = condition(&d, "Progressing").expect("Progressing");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "ProgressDeadlineExceeded")
    );
    assert_eq!(
        message,
        format!(
            "ReplicaSet \"{}\" has timed out progressing.",
            name(&rs[0].metadata)
        )
    );
    let available = condition(&d, "Available").expect("Available");
    assert_eq!(
        (
            available.0.as_str(),
            available.1.as_str(),
            available.2.as_str()
        ),
        (
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability."
        )
    );
    let out = tokio::task::block_in_place(|| {
        s.kubectl(&["rollout", "status", "deploy/slow", "--timeout=20s"])
    });
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exceeded its progress deadline"),
        "{out:?}"
    );
}

fn replica_set(name: &str, replicas: i32, extra_spec: Value) -> Value {
    let mut rs = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "rkube.test/busybox:1"}]},
            },
        },
    });
    if let (Some(spec), Some(extra)) = (rs["spec"].as_object_mut(), extra_spec.as_object()) {
        spec.extend(extra.clone());
    }
    rs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicaset_adopts_orphans_and_releases_pods_that_stop_matching() {
    let s = Server::start();
    let client = client_for(&s).await;
    let pods = Api::<Pod>::default_namespaced(client.clone());
    let rss = Api::<ReplicaSet>::default_namespaced(client.clone());
    let orphan = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "orphan", "labels": {"app": "adopt"}},
        "spec": {"containers": [{"name": "c", "image": "rkube.test/busybox:1"}]},
    });
    kubectl_in(&s, &["apply", "-f", "-"], &orphan);
    kubectl_in(
        &s,
        &["apply", "-f", "-"],
        &replica_set("adopt", 2, json!({})),
    );

    let owned = wait_for(30, "the orphan to be adopted", || async {
        let p = pods.get("orphan").await.expect("orphan");
        controller(&p.metadata)
    })
    .await;
    assert_eq!(owned, ("ReplicaSet".into(), "adopt".into(), Some(true)));
    settle(&client, "adopt").await;
    let all = list(&pods, "app=adopt").await;
    assert_eq!(all.len(), 2, "the orphan counts: only one pod is created");

    kubectl(&s, &["label", "pod", "orphan", "app=gone", "--overwrite"]);
    wait_for(30, "the pod to be released", || async {
        let p = pods.get("orphan").await.expect("orphan");
        p.metadata
            .owner_references
            .as_ref()
            .is_none_or(|r| r.is_empty())
            .then_some(())
    })
    .await;
    let replaced = wait_for(30, "a replacement pod", || async {
        let p = list(&pods, "app=adopt").await;
        (p.len() == 2).then_some(p)
    })
    .await;
    assert!(
        replaced
            .iter()
            .all(|p| controller(&p.metadata).is_some_and(|c| c.1 == "adopt"))
    );
    settle(&client, "adopt").await;
    let rs = rss.get("adopt").await.expect("rs");
    let status = rs.status.expect("status");
    assert_eq!(
        (
            status.replicas,
            status.fully_labeled_replicas,
            status.observed_generation
        ),
        (2, Some(2), Some(1))
    );
    assert_eq!(list(&pods, "app=adopt").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicaset_status_counts_ready_and_available_after_min_ready_seconds() {
    let s = Server::start();
    let client = client_for(&s).await;
    let pods = Api::<Pod>::default_namespaced(client.clone());
    let rss = Api::<ReplicaSet>::default_namespaced(client.clone());
    kubectl_in(
        &s,
        &["apply", "-f", "-"],
        &replica_set("avail", 2, json!({"minReadySeconds": 3})),
    );
    let created = wait_for(30, "2 pods", || async {
        let p = list(&pods, "app=avail").await;
        (p.len() == 2).then_some(p)
    })
    .await;
    for p in &created {
        make_ready(&pods, &name(&p.metadata), 0).await;
    }
    let started = Instant::now();
    let counts = |rs: &ReplicaSet| {
        rs.status
            .as_ref()
            .map(|s| (s.ready_replicas, s.available_replicas))
    };
    wait_for(30, "2 ready pods", || async {
        let rs = rss.get("avail").await.expect("rs");
        (counts(&rs) == Some((Some(2), None))).then_some(())
    })
    .await;
    wait_for(30, "2 available pods", || async {
        let rs = rss.get("avail").await.expect("rs");
        (counts(&rs) == Some((Some(2), Some(2)))).then_some(())
    })
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "available only after minReadySeconds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_pod_events_creates_no_extra_pods() {
    let s = Server::start();
    let client = client_for(&s).await;
    let pods = Api::<Pod>::default_namespaced(client.clone());
    let too_many = watch_all(pods.clone(), "burst", |pods| {
        (pods.len() > 30).then(|| format!("{} pods", pods.len()))
    })
    .await;
    kubectl_in(
        &s,
        &["apply", "-f", "-"],
        &replica_set("burst", 30, json!({})),
    );
    // Touch every pod as soon as it appears, so watch events pile up while pods are being created.
    wait_for(60, "30 running pods", || async {
        let all = list(&pods, "app=burst").await;
        for p in all
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Running"))
        {
            set_phase(&pods, &name(&p.metadata), "Running").await;
        }
        (all.len() == 30
            && all
                .iter()
                .all(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")))
        .then_some(())
    })
    .await;
    settle(&client, "burst").await;
    assert_eq!(list(&pods, "app=burst").await.len(), 30);
    assert_eq!(too_many.lock().expect("lock").as_slice(), &[] as &[String]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_pod_creates_show_as_replica_failure() {
    let s = Server::start();
    let client = client_for(&s).await;
    let rss = Api::<ReplicaSet>::default_namespaced(client.clone());
    let mut rs = replica_set("fail", 1, json!({}));
    rs["spec"]["template"]["spec"]["priorityClassName"] = json!("later");
    kubectl_in(&s, &["apply", "-f", "-"], &rs);
    let failure = wait_for(30, "the ReplicaFailure condition", || async {
        let rs = rss.get("fail").await.expect("rs");
        let c = rs
            .status?
            .conditions?
            .into_iter()
            .find(|c| c.type_.as_deref() == Some("ReplicaFailure"))?;
        Some((
            c.status.unwrap_or_default(),
            c.reason.unwrap_or_default(),
            c.message.unwrap_or_default(),
        ))
    })
    .await;
    assert_eq!(
        (failure.0.as_str(), failure.1.as_str()),
        ("True", "FailedCreate")
    );
    assert!(
        failure
            .2
            .contains("no PriorityClass with name later was found"),
        "{}",
        failure.2
    );
    let class = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "later"}, "value": 10});
    kubectl_in(&s, &["apply", "-f", "-"], &class);
    wait_for(30, "the pod and a cleared condition", || async {
        let rs = rss.get("fail").await.expect("rs");
        let status = rs.status?;
        (status.replicas == 1 && status.conditions.is_none()).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_collision_raises_collision_count() {
    use rkube_controllers::deployment::revision::compute_hash;
    let s = Server::start();
    let client = client_for(&s).await;
    let deployments = Api::<Deployment>::default_namespaced(client.clone());
    let rss = Api::<ReplicaSet>::default_namespaced(client.clone());
    // Paused: the template is stored (defaulted) but no ReplicaSet is made yet.
    kubectl_in(
        &s,
        &["apply", "-f", "-"],
        &deployment(
            "clash",
            1,
            rolling(json!(1), json!(0)),
            json!({"paused": true}),
        ),
    );
    let d = deployments.get("clash").await.expect("get");
    let taken = compute_hash(&d.spec.template, None);
    // Someone else's ReplicaSet already has the name the Deployment would use.
    let mut squatter = replica_set(&format!("clash-{taken}"), 0, json!({}));
    squatter["spec"]["selector"] = json!({"matchLabels": {"app": "other"}});
    squatter["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    kubectl_in(&s, &["apply", "-f", "-"], &squatter);
    kubectl(&s, &["rollout", "resume", "deploy/clash"]);

    let d = complete_rollout(&client, "clash").await;
    assert_eq!(d.status.as_ref().and_then(|s| s.collision_count), Some(1));
    let owned = list(&rss, "app=clash").await;
    assert_eq!(owned.len(), 1);
    assert_eq!(
        name(&owned[0].metadata),
        format!("clash-{}", compute_hash(&d.spec.template, Some(1)))
    );
    assert_eq!(
        rss.get(&format!("clash-{taken}"))
            .await
            .expect("squatter")
            .metadata
            .owner_references,
        None,
        "left alone"
    );
}
