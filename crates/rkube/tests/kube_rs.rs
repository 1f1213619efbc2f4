//! kube-rs against rkube: a reflector stays in sync across a server restart.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use support::Server;

async fn client_for(s: &Server) -> kube::Client {
    let kc = Kubeconfig::read_from(&s.kubeconfig).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(config).expect("client")
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({"metadata": {"name": name, "labels": {"set": "reflect"}}, "data": {"k": name}}))
        .expect("configmap")
}

async fn names_eventually(
    store: &reflector::Store<ConfigMap>,
    want: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut last = BTreeSet::new();
    for _ in 0..200 {
        last = store
            .state()
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect();
        if last == *want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflector_stays_in_sync_across_restart() {
    let mut s = Server::start();
    let client = client_for(&s).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let (reader, writer) = reflector::store();
    let cfg = watcher::Config::default().labels("set=reflect");
    let stream = reflector(writer, watcher(api.clone(), cfg))
        .default_backoff()
        .applied_objects();
    let task = tokio::spawn(stream.for_each(|_| async {}));

    let mut want = BTreeSet::new();
    for i in 0..5 {
        api.create(&PostParams::default(), &cm(&format!("before-{i}")))
            .await
            .expect("create");
        want.insert(format!("before-{i}"));
    }
    assert_eq!(names_eventually(&reader, &want).await, want, "initial sync");

    let restart = tokio::task::spawn_blocking(move || {
        s.restart();
        s
    });
    let s = restart.await.expect("restart");
    for i in 0..5 {
        api.create(&PostParams::default(), &cm(&format!("after-{i}")))
            .await
            .expect("create after restart");
        want.insert(format!("after-{i}"));
    }
    api.delete("before-0", &DeleteParams::default())
        .await
        .expect("delete");
    want.remove("before-0");
    assert_eq!(
        names_eventually(&reader, &want).await,
        want,
        "in sync after restart"
    );
    task.abort();
    drop(s);
}
