//! The scheduler inside `rkube server`, driven with real kubectl (and
//! kube-rs for the throughput run). There is no kubelet: tests register
//! Node objects and set their status themselves, and play the kubelet when
//! a preempted pod has to finish terminating.

mod support;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, eventually};

/// One server at a time: the machine has two cores and the throughput number should not be shared.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A node to register.
struct NodeSpec<'a> {
    name: &'a str,
    cpu: &'a str,
    memory: &'a str,
    labels: &'a [(&'a str, &'a str)],
    taints: &'a [(&'a str, &'a str, &'a str)],
}

impl<'a> NodeSpec<'a> {
    fn new(name: &'a str, cpu: &'a str) -> Self {
        NodeSpec {
            name,
            cpu,
            memory: "8Gi",
            labels: &[],
            taints: &[],
        }
    }
}

fn node_manifest(n: &NodeSpec<'_>) -> Value {
    let mut labels: BTreeMap<String, String> = n
        .labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.insert("kubernetes.io/hostname".into(), n.name.into());
    let taints: Vec<Value> = n
        .taints
        .iter()
        .map(|(k, v, e)| json!({"key": k, "value": v, "effect": e}))
        .collect();
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n.name, "labels": labels}, "spec": {"taints": taints}})
}

fn node_status(n: &NodeSpec<'_>) -> Value {
    let resources =
        json!({"cpu": n.cpu, "memory": n.memory, "pods": "110", "ephemeral-storage": "50Gi"});
    json!({"status": {
        "capacity": resources, "allocatable": resources,
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "test node",
                        "lastHeartbeatTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    }})
}

/// Registers a node with kubectl and makes it Ready with the given capacity, as a kubelet would.
fn add_node(s: &Server, n: NodeSpec<'_>) {
    s.kubectl_in(&["create", "-f", "-"], &node_manifest(&n).to_string());
    let status = node_status(&n).to_string();
    s.kubectl_ok(&[
        "patch",
        "node",
        n.name,
        "--subresource=status",
        "--type=merge",
        "-p",
        &status,
    ]);
}

fn pod_manifest(name: &str, cpu: &str, extra_spec: Value) -> Value {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "test"}},
        "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}
    });
    if let (Some(spec), Some(extra)) = (pod["spec"].as_object_mut(), extra_spec.as_object()) {
        for (k, v) in extra {
            spec.insert(k.clone(), v.clone());
        }
    }
    pod
}

fn create(s: &Server, manifest: &Value) {
    s.kubectl_in(&["create", "-f", "-"], &manifest.to_string());
}

fn get_json(s: &Server, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&s.kubectl_ok(&all)).expect("kubectl json")
}

fn node_of(s: &Server, pod: &str) -> String {
    s.kubectl_ok(&["get", "pod", pod, "-o", "jsonpath={.spec.nodeName}"])
}

fn wait_bound(s: &Server, pod: &str, timeout: Duration) -> String {
    eventually(timeout, || Some(node_of(s, pod)).filter(|n| !n.is_empty())).unwrap_or_else(|| {
        panic!(
            "pod {pod} was not bound within {timeout:?}: {}",
            describe(s, pod)
        )
    })
}

fn describe(s: &Server, pod: &str) -> String {
    String::from_utf8_lossy(&s.kubectl(&["get", "pod", pod, "-o", "yaml"]).stdout).into_owned()
}

fn scheduled_condition(s: &Server, pod: &str) -> Option<Value> {
    let p = get_json(s, &["get", "pod", pod]);
    p["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "PodScheduled")
        .cloned()
}

/// Waits for the pod's PodScheduled=False message to be `want`.
fn wait_unschedulable(s: &Server, pod: &str, want: &str) -> Value {
    let got = eventually(Duration::from_secs(20), || {
        scheduled_condition(s, pod).filter(|c| c["status"] == "False" && c["message"] == want)
    });
    got.unwrap_or_else(|| {
        panic!(
            "pod {pod} never reported {want:?}; last: {:?}",
            scheduled_condition(s, pod)
        )
    })
}

fn failed_scheduling_events(s: &Server, pod: &str) -> Vec<Value> {
    let list = get_json(
        s,
        &[
            "get",
            "events",
            "--field-selector",
            &format!("reason=FailedScheduling,involvedObject.name={pod}"),
        ],
    );
    list["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn pods_spread_over_nodes_and_are_bound() {
    let _g = serial();
    let s = Server::start();
    for n in ["n1", "n2", "n3"] {
        add_node(&s, NodeSpec::new(n, "2"));
    }
    for i in 0..6 {
        create(&s, &pod_manifest(&format!("web-{i}"), "500m", json!({})));
    }
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..6 {
        *per_node
            .entry(wait_bound(&s, &format!("web-{i}"), Duration::from_secs(20)))
            .or_default() += 1;
    }
    assert_eq!(
        per_node.len(),
        3,
        "least-allocated scoring spreads the pods: {per_node:?}"
    );
    assert!(per_node.values().all(|n| *n == 2), "{per_node:?}");
    let cond = scheduled_condition(&s, "web-0").expect("PodScheduled condition");
    assert_eq!(cond["status"], "True");
    let node = node_of(&s, "web-0");
    let events = get_json(
        &s,
        &[
            "get",
            "events",
            "--field-selector",
            "reason=Scheduled,involvedObject.name=web-0",
        ],
    );
    let ev = &events["items"][0];
    assert_eq!(
        ev["message"],
        format!("Successfully assigned default/web-0 to {node}")
    );
    assert_eq!(
        (ev["type"].as_str(), ev["source"]["component"].as_str()),
        (Some("Normal"), Some("default-scheduler"))
    );
}

#[test]
fn node_selector_and_node_affinity_are_respected() {
    let _g = serial();
    let s = Server::start();
    add_node(
        &s,
        NodeSpec {
            labels: &[("disk", "ssd")],
            ..NodeSpec::new("ssd-node", "4")
        },
    );
    add_node(
        &s,
        NodeSpec {
            labels: &[("zone", "z2")],
            ..NodeSpec::new("zone-node", "4")
        },
    );
    add_node(
        &s,
        NodeSpec {
            labels: &[("gpu", "yes")],
            ..NodeSpec::new("gpu-node", "4")
        },
    );
    create(
        &s,
        &pod_manifest(
            "by-selector",
            "100m",
            json!({"nodeSelector": {"disk": "ssd"}}),
        ),
    );
    let required = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1", "z2"]}]}
    ]}}}});
    create(&s, &pod_manifest("by-affinity", "100m", required));
    let preferred = json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "preference": {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}}
    ]}}});
    create(&s, &pod_manifest("by-preference", "100m", preferred));
    let by_name = json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["zone-node"]}]}
    ]}}}});
    create(&s, &pod_manifest("by-field", "100m", by_name));
    assert_eq!(
        wait_bound(&s, "by-selector", Duration::from_secs(20)),
        "ssd-node"
    );
    assert_eq!(
        wait_bound(&s, "by-affinity", Duration::from_secs(20)),
        "zone-node"
    );
    assert_eq!(
        wait_bound(&s, "by-preference", Duration::from_secs(20)),
        "gpu-node"
    );
    assert_eq!(
        wait_bound(&s, "by-field", Duration::from_secs(20)),
        "zone-node"
    );
    create(
        &s,
        &pod_manifest("nowhere", "100m", json!({"nodeSelector": {"disk": "nvme"}})),
    );
    wait_unschedulable(
        &s,
        "nowhere",
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    );
}

#[test]
fn too_big_pod_waits_with_kubernetes_message_and_schedules_when_a_node_arrives() {
    let _g = serial();
    let s = Server::start();
    let control_plane = [("node-role.kubernetes.io/control-plane", "", "NoSchedule")];
    add_node(&s, NodeSpec::new("small", "1"));
    add_node(
        &s,
        NodeSpec {
            taints: &control_plane,
            ..NodeSpec::new("cp1", "8")
        },
    );
    add_node(
        &s,
        NodeSpec {
            taints: &control_plane,
            ..NodeSpec::new("cp2", "8")
        },
    );
    create(&s, &pod_manifest("big", "2", json!({})));
    let want = "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
    let cond = wait_unschedulable(&s, "big", want);
    assert_eq!(cond["reason"], "Unschedulable");
    let events = eventually(Duration::from_secs(10), || {
        Some(failed_scheduling_events(&s, "big")).filter(|e| !e.is_empty())
    })
    .expect("a FailedScheduling event");
    let ev = &events[0];
    assert_eq!(ev["message"], want);
    assert_eq!(ev["type"], "Warning");
    assert_eq!(ev["source"]["component"], "default-scheduler");
    assert_eq!(ev["reportingComponent"], "default-scheduler");
    assert_eq!(ev["involvedObject"]["kind"], "Pod");
    let table = s.kubectl_ok(&[
        "get",
        "events",
        "--field-selector",
        "reason=FailedScheduling",
    ]);
    assert!(
        table.contains("FailedScheduling") && table.contains("pod/big"),
        "{table}"
    );
    assert_eq!(node_of(&s, "big"), "");

    // Let a few retries go by, then add a node that fits: the pod must not wait out a long back-off.
    std::thread::sleep(Duration::from_secs(3));
    let added = Instant::now();
    add_node(&s, NodeSpec::new("large", "4"));
    assert_eq!(wait_bound(&s, "big", Duration::from_secs(10)), "large");
    let latency = added.elapsed();
    println!("pod bound {latency:?} after its node was added");
    assert!(latency < Duration::from_secs(5), "took {latency:?}");
    assert_eq!(
        scheduled_condition(&s, "big").map(|c| c["status"].clone()),
        Some(json!("True"))
    );
}

#[test]
fn tainted_nodes_are_avoided_unless_tolerated() {
    let _g = serial();
    let s = Server::start();
    add_node(
        &s,
        NodeSpec {
            taints: &[("dedicated", "gpu", "NoSchedule")],
            ..NodeSpec::new("gpu", "4")
        },
    );
    add_node(&s, NodeSpec::new("plain", "4"));
    for i in 0..4 {
        create(&s, &pod_manifest(&format!("plain-{i}"), "100m", json!({})));
    }
    for i in 0..4 {
        assert_eq!(
            wait_bound(&s, &format!("plain-{i}"), Duration::from_secs(20)),
            "plain"
        );
    }
    let tolerant = json!({
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
        "nodeSelector": {"kubernetes.io/hostname": "gpu"}
    });
    create(&s, &pod_manifest("tolerant", "100m", tolerant));
    assert_eq!(wait_bound(&s, "tolerant", Duration::from_secs(20)), "gpu");
    // A cordoned node is avoided too.
    s.kubectl_ok(&[
        "patch",
        "node",
        "plain",
        "--type=merge",
        "-p",
        r#"{"spec":{"unschedulable":true}}"#,
    ]);
    create(&s, &pod_manifest("after-cordon", "100m", json!({})));
    wait_unschedulable(
        &s,
        "after-cordon",
        "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
    );
    s.kubectl_ok(&[
        "patch",
        "node",
        "plain",
        "--type=merge",
        "-p",
        r#"{"spec":{"unschedulable":false}}"#,
    ]);
    assert_eq!(
        wait_bound(&s, "after-cordon", Duration::from_secs(10)),
        "plain"
    );
}

#[test]
fn host_ports_and_anti_affinity_conflicts() {
    let _g = serial();
    let s = Server::start();
    add_node(&s, NodeSpec::new("a", "4"));
    add_node(&s, NodeSpec::new("b", "4"));
    let port = |name: &str| {
        let mut p = pod_manifest(name, "100m", json!({}));
        p["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80, "hostPort": 8080}]);
        p
    };
    create(&s, &port("port-1"));
    create(&s, &port("port-2"));
    let n1 = wait_bound(&s, "port-1", Duration::from_secs(20));
    let n2 = wait_bound(&s, "port-2", Duration::from_secs(20));
    assert_ne!(n1, n2, "the same host port cannot be used twice on a node");
    create(&s, &port("port-3"));
    wait_unschedulable(
        &s,
        "port-3",
        "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
    );
    // Deleting a pod that holds the port lets the waiting one in.
    s.kubectl_ok(&["delete", "pod", "port-1", "--grace-period=0", "--force"]);
    assert_eq!(wait_bound(&s, "port-3", Duration::from_secs(10)), n1);

    let anti = |name: &str| {
        let mut p = pod_manifest(
            name,
            "100m",
            json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"role": "db"}}, "topologyKey": "kubernetes.io/hostname"}
            ]}}}),
        );
        p["metadata"]["labels"] = json!({"role": "db"});
        p
    };
    create(&s, &anti("db-1"));
    create(&s, &anti("db-2"));
    let d1 = wait_bound(&s, "db-1", Duration::from_secs(20));
    let d2 = wait_bound(&s, "db-2", Duration::from_secs(20));
    assert_ne!(d1, d2);
    create(&s, &anti("db-3"));
    wait_unschedulable(
        &s,
        "db-3",
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
    );
}

#[test]
fn topology_spread_constraints_balance_zones() {
    let _g = serial();
    let s = Server::start();
    add_node(
        &s,
        NodeSpec {
            labels: &[("topology.kubernetes.io/zone", "z1")],
            ..NodeSpec::new("z1-a", "8")
        },
    );
    add_node(
        &s,
        NodeSpec {
            labels: &[("topology.kubernetes.io/zone", "z1")],
            ..NodeSpec::new("z1-b", "8")
        },
    );
    add_node(
        &s,
        NodeSpec {
            labels: &[("topology.kubernetes.io/zone", "z2")],
            ..NodeSpec::new("z2-a", "1")
        },
    );
    let spread = json!({"topologySpreadConstraints": [{
        "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "test"}}
    }]});
    for i in 0..4 {
        create(
            &s,
            &pod_manifest(&format!("spread-{i}"), "400m", spread.clone()),
        );
    }
    let mut zones: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..4 {
        let node = wait_bound(&s, &format!("spread-{i}"), Duration::from_secs(20));
        *zones.entry(node[..2].to_string()).or_default() += 1;
    }
    assert_eq!(
        zones,
        BTreeMap::from([("z1".to_string(), 2), ("z2".to_string(), 2)])
    );
    // z2 is full (1 cpu); a fifth pod may go to z1 (skew 3-2=1), a sixth may not.
    create(&s, &pod_manifest("spread-4", "400m", spread.clone()));
    assert!(wait_bound(&s, "spread-4", Duration::from_secs(20)).starts_with("z1"));
    create(&s, &pod_manifest("spread-5", "400m", spread));
    wait_unschedulable(
        &s,
        "spread-5",
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match pod topology spread constraints. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
    );
}

#[test]
fn higher_priority_pod_preempts_a_lower_one() {
    let _g = serial();
    let s = Server::start();
    for (name, value) in [("low", 100), ("high", 1_000_000)] {
        let pc = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name}, "value": value});
        create(&s, &pc);
    }
    add_node(&s, NodeSpec::new("only", "2"));
    create(
        &s,
        &pod_manifest("victim", "1500m", json!({"priorityClassName": "low"})),
    );
    assert_eq!(wait_bound(&s, "victim", Duration::from_secs(20)), "only");
    create(
        &s,
        &pod_manifest("bystander", "500m", json!({"priorityClassName": "high"})),
    );
    assert_eq!(wait_bound(&s, "bystander", Duration::from_secs(20)), "only");
    create(
        &s,
        &pod_manifest("preemptor", "1500m", json!({"priorityClassName": "high"})),
    );

    // The victim is marked and deleted gracefully; the preemptor is nominated to the node meanwhile.
    let victim = eventually(Duration::from_secs(20), || {
        let v = get_json(&s, &["get", "pod", "victim"]);
        v["metadata"]["deletionTimestamp"].is_string().then_some(v)
    })
    .expect("victim deleted");
    let condition = |t: &str| {
        victim["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == t).cloned())
    };
    assert_eq!(
        condition("DisruptionTarget").map(|c| c["reason"].clone()),
        Some(json!("PreemptionByScheduler"))
    );
    assert_eq!(
        condition("PodScheduled").map(|c| c["status"].clone()),
        Some(json!("True")),
        "other conditions are kept"
    );
    let nominated = eventually(Duration::from_secs(10), || {
        Some(s.kubectl_ok(&[
            "get",
            "pod",
            "preemptor",
            "-o",
            "jsonpath={.status.nominatedNodeName}",
        ]))
        .filter(|n| !n.is_empty())
    });
    assert_eq!(nominated.as_deref(), Some("only"));
    assert_eq!(
        node_of(&s, "preemptor"),
        "",
        "not bound while the victim is terminating"
    );
    let preempted = get_json(
        &s,
        &[
            "get",
            "events",
            "--field-selector",
            "reason=Preempted,involvedObject.name=victim",
        ],
    );
    assert!(
        preempted["items"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Preempted by pod ")),
        "{preempted}"
    );
    assert_eq!(
        node_of(&s, "bystander"),
        "only",
        "the higher-priority bystander stays"
    );

    // Play the kubelet: the victim's containers have stopped.
    s.kubectl_ok(&["delete", "pod", "victim", "--grace-period=0", "--force"]);
    assert_eq!(wait_bound(&s, "preemptor", Duration::from_secs(10)), "only");
}

async fn kube_client(s: &Server) -> kube::Client {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let kc = Kubeconfig::read_from(&s.kubeconfig).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(config).expect("client")
}

/// Watches pods labelled `app=<app>` until `n` of them are bound; returns when the last one was seen bound.
fn watch_bound(
    pods: kube::Api<k8s_openapi::api::core::v1::Pod>,
    app: &str,
    n: usize,
) -> tokio::task::JoinHandle<(usize, Instant)> {
    watch_bound_selector(pods, &format!("app={app}"), n)
}

/// Watches pods matching `selector` until `n` of them are bound; returns when the last one was seen bound.
fn watch_bound_selector(
    pods: kube::Api<k8s_openapi::api::core::v1::Pod>,
    selector: &str,
    n: usize,
) -> tokio::task::JoinHandle<(usize, Instant)> {
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let selector = selector.to_string();
    tokio::spawn(async move {
        let mut seen = std::collections::HashSet::new();
        let stream = watcher(pods, watcher::Config::default().labels(&selector))
            .default_backoff()
            .applied_objects();
        let mut stream = std::pin::pin!(stream);
        let mut last = Instant::now();
        while let Some(Ok(p)) = stream.next().await {
            if p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some()
                && seen.insert(p.metadata.name.clone().unwrap_or_default())
            {
                last = Instant::now();
                if seen.len() == n {
                    break;
                }
            }
        }
        (seen.len(), last)
    })
}

/// Creates `n` pods labelled `app=<app>`, 32 requests at a time.
async fn create_pods(pods: &kube::Api<k8s_openapi::api::core::v1::Pod>, app: &str, n: usize) {
    use futures::StreamExt;
    futures::stream::iter(0..n)
        .for_each_concurrent(32, |i| async move {
            let mut m = pod_manifest(&format!("{app}-{i:04}"), "100m", json!({}));
            m["metadata"]["labels"] = json!({"app": app});
            let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(m).expect("pod");
            pods.create(&kube::api::PostParams::default(), &pod)
                .await
                .expect("create pod");
        })
        .await;
}

/// Sets `spec.unschedulable` on every node, 16 requests at a time.
async fn cordon_all(
    nodes: &kube::Api<k8s_openapi::api::core::v1::Node>,
    count: usize,
    cordoned: bool,
) {
    use futures::StreamExt;
    use kube::api::{Patch, PatchParams};
    futures::stream::iter(0..count)
        .for_each_concurrent(16, |i| async move {
            let patch = json!({"spec": {"unschedulable": cordoned}});
            nodes
                .patch(
                    &format!("node-{i:03}"),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .expect("cordon");
        })
        .await;
}

/// Schedules 1,000 pods on 100 nodes twice and prints the rates at which they get bound: while they are being
/// created (end to end), and from a backlog of 1,000 pending pods when the nodes open up (the scheduler's own pace).
#[test]
fn throughput_1000_pods_on_100_nodes() {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::{Node, Pod};
    use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};

    const NODES: usize = 100;
    const PODS: usize = 1000;
    let _g = serial();
    let s = Server::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = kube_client(&s).await;
        let nodes: Api<Node> = Api::all(client.clone());
        futures::stream::iter(0..NODES)
            .for_each_concurrent(16, |i| {
                let nodes = nodes.clone();
                async move {
                    let name = format!("node-{i:03}");
                    let spec = NodeSpec::new(&name, "8");
                    let node: Node = serde_json::from_value(node_manifest(&spec)).expect("node");
                    nodes.create(&PostParams::default(), &node).await.expect("create node");
                    let status = node_status(&spec);
                    nodes.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status)).await.expect("node status");
                }
            })
            .await;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

        // End to end: bound while being created.
        let bound = watch_bound(pods.clone(), "load", PODS);
        let start = Instant::now();
        create_pods(&pods, "load", PODS).await;
        let created = start.elapsed();
        let (count, last) = tokio::time::timeout(Duration::from_secs(120), bound).await.expect("bound in 2 minutes").expect("watch");
        assert_eq!(count, PODS);
        let total = last.duration_since(start);
        println!(
            "scheduler throughput (end to end): {count} pods on {NODES} nodes bound {:.2}s after the first create ({:.0} pods/s; creating them took {:.2}s)",
            total.as_secs_f64(),
            count as f64 / total.as_secs_f64(),
            created.as_secs_f64()
        );
        let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
        for p in pods.list(&ListParams::default().labels("app=load")).await.expect("list").items {
            *per_node.entry(p.spec.and_then(|s| s.node_name).unwrap_or_default()).or_default() += 1;
        }
        let (min, max) = (per_node.values().min().copied().unwrap_or(0), per_node.values().max().copied().unwrap_or(0));
        println!("pods per node: min {min}, max {max} over {} nodes", per_node.len());
        assert_eq!(per_node.len(), NODES, "every node got pods");

        // Backlog: 1,000 pods pending on cordoned nodes, then the nodes open.
        cordon_all(&nodes, NODES, true).await;
        create_pods(&pods, "backlog", PODS).await;
        let pending = eventually_async(Duration::from_secs(120), || async {
            let list = pods.list(&ListParams::default().labels("app=backlog")).await.ok()?;
            let waiting = list
                .items
                .iter()
                .filter(|p| {
                    p.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| {
                        c.iter().any(|c| c.type_ == "PodScheduled" && c.status == "False" && c.message.as_deref().is_some_and(|m| m.contains("were unschedulable")))
                    })
                })
                .count();
            (waiting == PODS).then_some(waiting)
        })
        .await;
        assert_eq!(pending, Some(PODS), "all backlog pods reported unschedulable");
        let bound = watch_bound(pods.clone(), "backlog", PODS);
        let start = Instant::now();
        cordon_all(&nodes, NODES, false).await;
        let (count, last) = tokio::time::timeout(Duration::from_secs(120), bound).await.expect("bound in 2 minutes").expect("watch");
        assert_eq!(count, PODS);
        let total = last.duration_since(start);
        println!(
            "scheduler throughput (backlog): {count} pending pods bound {:.2}s after the nodes were uncordoned ({:.0} pods/s)",
            total.as_secs_f64(),
            count as f64 / total.as_secs_f64()
        );
    });
}

/// Resident memory of the `rkube server` using `dir`, in MiB (found through /proc).
fn server_rss_mib(dir: &std::path::Path) -> Option<f64> {
    let needle = dir.to_string_lossy().into_owned();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(" server ") && cmdline.contains(&needle) {
            let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
            let kb: f64 = status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            return Some(kb / 1024.0);
        }
    }
    None
}

/// The issue's benchmark shape: 10,000 pending pods (resource requests with a mix of node affinity,
/// tolerations and spread constraints) on 5,000 nodes; prints pods/s and the server's RSS. Slow in a
/// debug build: run with `cargo test --release -p rkube --test scheduler -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark"]
fn throughput_10000_pending_pods_on_5000_nodes() {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::{Node, Pod};
    use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};

    const NODES: usize = 5000;
    const PODS: usize = 10_000;
    let _g = serial();
    let s = Server::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = kube_client(&s).await;
        let nodes: Api<Node> = Api::all(client.clone());
        futures::stream::iter(0..NODES)
            .for_each_concurrent(32, |i| {
                let nodes = nodes.clone();
                async move {
                    let name = format!("node-{i:04}");
                    let zone = format!("zone-{}", i % 10);
                    let taints: &[(&str, &str, &str)] = if i % 7 == 0 { &[("dedicated", "infra", "NoSchedule")] } else { &[] };
                    let disk: &[(&str, &str)] = if i % 3 == 0 { &[("disk", "ssd")] } else { &[] };
                    let labels: Vec<(&str, &str)> = disk.iter().copied().chain([("topology.kubernetes.io/zone", zone.as_str())]).collect();
                    let spec = NodeSpec { labels: &labels, taints, ..NodeSpec::new(&name, "32") };
                    let mut manifest = node_manifest(&spec);
                    manifest["spec"]["unschedulable"] = json!(true);
                    let node: Node = serde_json::from_value(manifest).expect("node");
                    nodes.create(&PostParams::default(), &node).await.expect("create node");
                    nodes.patch_status(&name, &PatchParams::default(), &Patch::Merge(&node_status(&spec))).await.expect("node status");
                }
            })
            .await;
        println!("server RSS with {NODES} nodes: {:.0} MiB", server_rss_mib(&s.dir).unwrap_or(0.0));
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        futures::stream::iter(0..PODS)
            .for_each_concurrent(32, |i| {
                let pods = pods.clone();
                async move {
                    let app = format!("app-{}", i % 50);
                    let extra = match i % 4 {
                        0 => json!({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                            {"weight": 10, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}
                        ]}}}),
                        1 => json!({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}]}),
                        2 => json!({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": app}}}]}),
                        _ => json!({"topologySpreadConstraints": [{"maxSkew": 5, "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": app}}}]}),
                    };
                    let mut m = pod_manifest(&format!("big-{i:05}"), "100m", extra);
                    m["metadata"]["labels"] = json!({"app": app, "bench": "big"});
                    let pod: Pod = serde_json::from_value(m).expect("pod");
                    pods.create(&PostParams::default(), &pod).await.expect("create pod");
                }
            })
            .await;
        let reported = eventually_async(Duration::from_secs(600), || async {
            let list = pods.list(&ListParams::default().labels("bench=big")).await.ok()?;
            let n = list
                .items
                .iter()
                .filter(|p| p.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| c.iter().any(|c| c.type_ == "PodScheduled")))
                .count();
            (n == PODS).then_some(n)
        })
        .await;
        assert_eq!(reported, Some(PODS), "every pod was tried while the nodes were cordoned");
        println!("server RSS with {NODES} nodes and {PODS} pending pods: {:.0} MiB", server_rss_mib(&s.dir).unwrap_or(0.0));
        let bound = watch_bound_selector(pods.clone(), "bench=big", PODS);
        let start = Instant::now();
        futures::stream::iter(0..NODES)
            .for_each_concurrent(32, |i| {
                let nodes = nodes.clone();
                async move {
                    let patch = json!({"spec": {"unschedulable": false}});
                    nodes.patch(&format!("node-{i:04}"), &PatchParams::default(), &Patch::Merge(&patch)).await.expect("uncordon");
                }
            })
            .await;
        let opened = start.elapsed();
        let (count, last) = tokio::time::timeout(Duration::from_secs(600), bound).await.expect("bound in 10 minutes").expect("watch");
        let total = last.duration_since(start);
        println!(
            "scheduler throughput (backlog): {count} pods on {NODES} nodes bound {:.2}s after uncordoning began ({:.0} pods/s; uncordoning took {:.2}s)",
            total.as_secs_f64(),
            count as f64 / total.as_secs_f64(),
            opened.as_secs_f64()
        );
        println!("server RSS after binding: {:.0} MiB", server_rss_mib(&s.dir).unwrap_or(0.0));
        assert_eq!(count, PODS);
    });
}

/// Polls an async `f` every 200ms until it returns Some or `timeout` passes.
async fn eventually_async<T, F, Fut>(timeout: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
