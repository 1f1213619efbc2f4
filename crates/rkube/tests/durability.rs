//! Every acknowledged write survives `kill -9`: 10,000 creates from 16
//! concurrent clients, the server killed mid-stream, then restarted.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use support::Server;

const WRITES: usize = 10_000;
const WRITERS: usize = 16;

async fn client_for(s: &Server) -> kube::Client {
    let kc = Kubeconfig::read_from(&s.kubeconfig).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(config).expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let mut s = Server::start();
    let api: Api<ConfigMap> = Api::namespaced(client_for(&s).await, "default");
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let api = api.clone();
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            for i in (w..WRITES).step_by(WRITERS) {
                let name = format!("d-{i:05}");
                let obj: ConfigMap = serde_json::from_value(
                    serde_json::json!({"metadata": {"name": name}, "data": {"i": i.to_string()}}),
                )
                .expect("configmap");
                match api.create(&PostParams::default(), &obj).await {
                    Ok(_) => {
                        acked.lock().expect("lock").insert(name);
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if acked.lock().expect("lock").len() >= WRITES / 2 {
            break;
        }
    }
    s.kill9();
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= WRITES / 2 && acked.len() < WRITES,
        "killed mid-stream after {} writes",
        acked.len()
    );

    let s = tokio::task::spawn_blocking(move || {
        s.restart();
        s
    })
    .await
    .expect("restart");
    let api: Api<ConfigMap> = Api::namespaced(client_for(&s).await, "default");
    let stored: BTreeSet<String> = api
        .list(&ListParams::default())
        .await
        .expect("list after restart")
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    eprintln!(
        "durability: {} acknowledged, {} stored after kill -9",
        acked.len(),
        stored.len()
    );
}
