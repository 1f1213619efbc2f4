//! `kubectl get` against rkube prints what a real cluster prints: the
//! server answers with `meta.k8s.io/v1` Tables (columns, cells, `-o wide`
//! columns, row objects) for get, list and watch. Pods have no kubelet here,
//! so their status is written through the status subresource, and neither
//! controllers nor the scheduler run, so objects keep what the tests write.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};
use support::{Server, free_port, kubectl};

/// Matches any AGE-like cell (`0s`, `5m30s`, `2d`).
const AGE: &str = "<age>";

/// A server without controllers and scheduler, and the data dir it owns.
fn quiet_server() -> (Server, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let s = Server::start_with(
        tmp.path(),
        free_port(),
        &["--disable-controller-manager", "--disable-scheduler"],
    );
    (s, tmp)
}

/// An RFC 3339 timestamp `secs` seconds ago.
fn ago(secs: i64) -> String {
    let t = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(secs);
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The cells of one line of kubectl's table output (columns are separated
/// by at least two spaces; cells like `5 (20m ago)` keep their single ones).
fn cells(line: &str) -> Vec<String> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

fn is_age(cell: &str) -> bool {
    cell.starts_with(|c: char| c.is_ascii_digit()) && cell.ends_with(['s', 'm', 'h', 'd', 'y'])
}

/// Assert `out` is a table with this header and, among its rows, these ones
/// (found by their first cell; [`AGE`] matches any age).
fn assert_table(out: &str, header: &[&str], rows: &[&[&str]]) {
    let lines: Vec<Vec<String>> = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(cells)
        .collect();
    assert_eq!(
        lines.first().map(Vec::as_slice).unwrap_or_default(),
        header,
        "header of:\n{out}"
    );
    for want in rows {
        let got = lines
            .iter()
            .skip(1)
            .find(|l| l.first().map(String::as_str) == want.first().copied());
        let Some(got) = got else {
            panic!("no row {:?} in:\n{out}", want.first())
        };
        assert_eq!(got.len(), want.len(), "row {got:?} vs {want:?} in:\n{out}");
        for (g, w) in got.iter().zip(want.iter()) {
            assert!(
                if *w == AGE { is_age(g) } else { g == w },
                "cell {g:?} should be {w:?} in row {got:?} of:\n{out}"
            );
        }
    }
}

/// Write a pod's status like a kubelet would.
fn set_status(s: &Server, pod: &str, status: Value) {
    let patch = json!({ "status": status }).to_string();
    s.kubectl_ok(&[
        "patch",
        "pod",
        pod,
        "--subresource=status",
        "--type=merge",
        "-p",
        &patch,
    ]);
}

fn container_status(name: &str, ready: bool, restarts: i64, state: Value) -> Value {
    json!({"name": name, "image": "busybox", "imageID": "", "ready": ready, "restartCount": restarts, "started": ready, "state": state})
}

const PODS: &str = "\
apiVersion: v1
kind: Pod
metadata: {name: running, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: main, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: crashing}
spec: {containers: [{name: main, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: completed}
spec: {restartPolicy: Never, containers: [{name: main, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: failed}
spec: {restartPolicy: Never, containers: [{name: main, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: initializing}
spec: {initContainers: [{name: init, image: busybox}], containers: [{name: main, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: creating}
spec: {containers: [{name: a, image: busybox}, {name: b, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: pending}
spec: {containers: [{name: main, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: terminating, finalizers: [example.com/hold]}
spec: {containers: [{name: main, image: busybox}]}
";

#[test]
fn get_pods_prints_kubernetes_statuses() {
    let (s, _dir) = quiet_server();
    s.kubectl_in(&["create", "-f", "-"], PODS);
    set_status(
        &s,
        "running",
        json!({"phase": "Running", "podIP": "10.42.0.9", "podIPs": [{"ip": "10.42.0.9"}],
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [container_status("main", true, 0, json!({"running": {"startedAt": ago(60)}}))]}),
    );
    let mut crash = container_status(
        "main",
        false,
        5,
        json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}),
    );
    crash["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": ago(1210), "finishedAt": ago(1200)}});
    set_status(
        &s,
        "crashing",
        json!({"phase": "Running", "containerStatuses": [crash]}),
    );
    set_status(
        &s,
        "completed",
        json!({"phase": "Succeeded",
        "containerStatuses": [container_status("main", false, 0, json!({"terminated": {"exitCode": 0, "reason": "Completed"}}))]}),
    );
    set_status(
        &s,
        "failed",
        json!({"phase": "Failed",
        "containerStatuses": [container_status("main", false, 0, json!({"terminated": {"exitCode": 1, "reason": "Error"}}))]}),
    );
    set_status(
        &s,
        "initializing",
        json!({"phase": "Pending",
        "initContainerStatuses": [container_status("init", false, 0, json!({"waiting": {"reason": "PodInitializing"}}))],
        "containerStatuses": [container_status("main", false, 0, json!({"waiting": {"reason": "PodInitializing"}}))]}),
    );
    set_status(
        &s,
        "creating",
        json!({"phase": "Pending", "containerStatuses": [
        container_status("a", false, 0, json!({"waiting": {"reason": "ContainerCreating"}})),
        container_status("b", false, 0, json!({"waiting": {"reason": "ContainerCreating"}}))]}),
    );
    s.kubectl_ok(&["delete", "pod", "terminating", "--wait=false"]);

    let out = s.kubectl_ok(&["get", "pods"]);
    assert_table(
        &out,
        &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        &[
            &["running", "1/1", "Running", "0", AGE],
            &["crashing", "0/1", "CrashLoopBackOff", "5 (20m ago)", AGE],
            &["completed", "0/1", "Completed", "0", AGE],
            &["failed", "0/1", "Error", "0", AGE],
            &["initializing", "0/1", "Init:0/1", "0", AGE],
            &["creating", "0/2", "ContainerCreating", "0", AGE],
            &["pending", "0/1", "Pending", "0", AGE],
            &["terminating", "0/1", "Terminating", "0", AGE],
        ],
    );

    let wide = s.kubectl_ok(&["get", "pods", "-o", "wide"]);
    assert_table(
        &wide,
        &[
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES",
        ],
        &[
            &[
                "running",
                "1/1",
                "Running",
                "0",
                AGE,
                "10.42.0.9",
                "node-1",
                "<none>",
                "<none>",
            ],
            &[
                "pending", "0/1", "Pending", "0", AGE, "<none>", "<none>", "<none>", "<none>",
            ],
        ],
    );

    let one = s.kubectl_ok(&["get", "pod", "crashing"]);
    assert_eq!(one.lines().count(), 2, "{one}");
    assert_table(
        &one,
        &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        &[&["crashing", "0/1", "CrashLoopBackOff", "5 (20m ago)", AGE]],
    );

    let all_ns = s.kubectl_ok(&["get", "pods", "-A", "-l", "app=web", "--show-labels"]);
    assert_table(
        &all_ns,
        &[
            "NAMESPACE",
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "LABELS",
        ],
        &[&["default", "running", "1/1", "Running", "0", AGE, "app=web"]],
    );
    let sorted = s.kubectl_ok(&["get", "pods", "--sort-by=.metadata.name", "--no-headers"]);
    let first: Vec<String> = sorted.lines().map(|l| cells(l)[0].clone()).collect();
    assert_eq!(
        first,
        [
            "completed",
            "crashing",
            "creating",
            "failed",
            "initializing",
            "pending",
            "running",
            "terminating"
        ],
        "{sorted}"
    );
}

const WORKLOADS: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: main, image: busybox}, {name: side, image: 'nginx:1.27'}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{name: https, port: 443, protocol: TCP}, {name: dns, port: 53, protocol: UDP}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: example.com}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: '1', b: '2'}
binaryData: {c: AAEC}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {user: u, password: p}
---
apiVersion: v1
kind: Secret
metadata: {name: certs}
type: kubernetes.io/tls
data: {tls.crt: eA==, tls.key: eQ==}
---
apiVersion: v1
kind: Node
metadata: {name: node-1, labels: {node-role.kubernetes.io/control-plane: ''}}
";

#[test]
fn get_workloads_services_and_cluster_objects() {
    let (s, _dir) = quiet_server();
    s.kubectl_in(&["create", "-f", "-"], WORKLOADS);
    let status = json!({"status": {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1}}).to_string();
    s.kubectl_ok(&[
        "patch",
        "deployment",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        &status,
    ]);
    let node_status = json!({"status": {
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ready",
            "lastHeartbeatTime": ago(5), "lastTransitionTime": ago(60)}],
        "addresses": [{"type": "InternalIP", "address": "192.168.5.10"}, {"type": "Hostname", "address": "node-1"}],
        "nodeInfo": {"kubeletVersion": "v1.37.0", "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0-18-amd64",
            "containerRuntimeVersion": "containerd://1.6.20", "machineID": "m", "systemUUID": "u", "bootID": "b",
            "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64"}}})
    .to_string();
    s.kubectl_ok(&[
        "patch",
        "node",
        "node-1",
        "--subresource=status",
        "--type=merge",
        "-p",
        &node_status,
    ]);

    assert_table(
        &s.kubectl_ok(&["get", "deploy"]),
        &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        &[&["web", "1/2", "2", "1", AGE]],
    );
    assert_table(
        &s.kubectl_ok(&["get", "deploy", "-o", "wide"]),
        &[
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR",
        ],
        &[&[
            "web",
            "1/2",
            "2",
            "1",
            AGE,
            "main,side",
            "busybox,nginx:1.27",
            "app=web",
        ]],
    );

    let svc = s.kubectl_ok(&["get", "svc"]);
    assert_table(
        &svc,
        &[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
        ],
        &[
            &[
                "kubernetes",
                "ClusterIP",
                "10.43.0.1",
                "<none>",
                "443/TCP",
                AGE,
            ],
            &[
                "ext",
                "ExternalName",
                "<none>",
                "example.com",
                "<none>",
                AGE,
            ],
        ],
    );
    let lines: Vec<Vec<String>> = svc.lines().map(cells).collect();
    let web = lines
        .iter()
        .find(|l| l[0] == "web")
        .unwrap_or_else(|| panic!("{svc}"));
    assert_eq!(
        (web[1].as_str(), web[3].as_str(), web[4].as_str()),
        ("NodePort", "<none>", "80:30080/TCP"),
        "{svc}"
    );
    assert!(web[2].starts_with("10.43."), "{svc}");
    let lb = lines
        .iter()
        .find(|l| l[0] == "lb")
        .unwrap_or_else(|| panic!("{svc}"));
    assert_eq!(
        (lb[1].as_str(), lb[3].as_str()),
        ("LoadBalancer", "<pending>"),
        "{svc}"
    );
    assert!(
        lb[4].starts_with("443:") && lb[4].contains("/TCP,53:") && lb[4].ends_with("/UDP"),
        "{svc}"
    );
    let wide = s.kubectl_ok(&["get", "svc", "web", "-o", "wide"]);
    assert_eq!(
        cells(wide.lines().next().unwrap_or_default())
            .last()
            .map(String::as_str),
        Some("SELECTOR"),
        "{wide}"
    );
    assert_eq!(
        cells(wide.lines().nth(1).unwrap_or_default())
            .last()
            .map(String::as_str),
        Some("app=web"),
        "{wide}"
    );

    assert_table(
        &s.kubectl_ok(&["get", "ns"]),
        &["NAME", "STATUS", "AGE"],
        &[
            &["default", "Active", AGE],
            &["kube-system", "Active", AGE],
            &["team-a", "Active", AGE],
        ],
    );
    assert_table(
        &s.kubectl_ok(&["get", "cm", "settings"]),
        &["NAME", "DATA", "AGE"],
        &[&["settings", "3", AGE]],
    );
    assert_table(
        &s.kubectl_ok(&["get", "secrets"]),
        &["NAME", "TYPE", "DATA", "AGE"],
        &[
            &["creds", "Opaque", "2", AGE],
            &["certs", "kubernetes.io/tls", "2", AGE],
        ],
    );
    assert_table(
        &s.kubectl_ok(&["get", "nodes"]),
        &["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        &[&["node-1", "Ready", "control-plane", AGE, "v1.37.0"]],
    );
    assert_table(
        &s.kubectl_ok(&["get", "nodes", "-o", "wide"]),
        &[
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME",
        ],
        &[&[
            "node-1",
            "Ready",
            "control-plane",
            AGE,
            "v1.37.0",
            "192.168.5.10",
            "<none>",
            "Debian GNU/Linux 12 (bookworm)",
            "6.1.0-18-amd64",
            "containerd://1.6.20",
        ]],
    );
    s.kubectl_ok(&["cordon", "node-1"]);
    assert_table(
        &s.kubectl_ok(&["get", "node", "node-1"]),
        &["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        &[&[
            "node-1",
            "Ready,SchedulingDisabled",
            "control-plane",
            AGE,
            "v1.37.0",
        ]],
    );
}

#[test]
fn get_events_and_get_all() {
    let (s, _dir) = quiet_server();
    let event = format!(
        "apiVersion: v1\nkind: Event\nmetadata: {{name: crashing.1}}\ninvolvedObject: {{kind: Pod, name: crashing, namespace: default, fieldPath: 'spec.containers{{main}}'}}\n\
         reason: BackOff\nmessage: Back-off restarting failed container\ntype: Warning\nsource: {{component: kubelet, host: node-1}}\n\
         firstTimestamp: '{}'\nlastTimestamp: '{}'\ncount: 3\n",
        ago(10 * 3600 + 60),
        ago(30 * 60 + 5)
    );
    s.kubectl_in(&["create", "-f", "-"], &event);
    assert_table(
        &s.kubectl_ok(&["get", "events"]),
        &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        &[&[
            "30m",
            "Warning",
            "BackOff",
            "pod/crashing",
            "Back-off restarting failed container",
        ]],
    );
    assert_table(
        &s.kubectl_ok(&["get", "events", "-o", "wide"]),
        &[
            "LAST SEEN",
            "TYPE",
            "REASON",
            "OBJECT",
            "SUBOBJECT",
            "SOURCE",
            "MESSAGE",
            "FIRST SEEN",
            "COUNT",
            "NAME",
        ],
        &[&[
            "30m",
            "Warning",
            "BackOff",
            "pod/crashing",
            "spec.containers{main}",
            "kubelet, node-1",
            "Back-off restarting failed container",
            "10h",
            "3",
            "crashing.1",
        ]],
    );

    s.kubectl_in(&["create", "-f", "-"], "apiVersion: v1\nkind: Pod\nmetadata: {name: solo}\nspec: {containers: [{name: main, image: busybox}]}\n");
    s.kubectl_in(
        &["create", "-f", "-"],
        WORKLOADS.split("---").next().unwrap_or_default(),
    );
    let all = s.kubectl_ok(&["get", "all"]);
    let sections: Vec<&str> = all.split("\n\n").collect();
    assert_eq!(sections.len(), 3, "{all}");
    assert_table(
        sections[0],
        &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        &[&["pod/solo", "0/1", "Pending", "0", AGE]],
    );
    assert_table(
        sections[1],
        &[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
        ],
        &[&[
            "service/kubernetes",
            "ClusterIP",
            "10.43.0.1",
            "<none>",
            "443/TCP",
            AGE,
        ]],
    );
    assert_table(
        sections[2],
        &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        &[&["deployment.apps/web", "0/2", "0", "0", AGE]],
    );
    let roles = s.kubectl_in(
        &[
            "create",
            "role",
            "reader",
            "--verb=get",
            "--resource=pods",
            "-o",
            "name",
        ],
        "",
    );
    assert_eq!(roles.trim(), "role.rbac.authorization.k8s.io/reader");
    let role = s.kubectl_ok(&["get", "role", "reader"]);
    let row = cells(role.lines().nth(1).unwrap_or_default());
    assert_eq!(
        cells(role.lines().next().unwrap_or_default()),
        ["NAME", "CREATED AT"],
        "{role}"
    );
    assert!(
        row[0] == "reader" && row[1].len() == 20 && row[1].ends_with('Z'),
        "{role}"
    );
}

/// Lines kubectl prints, read on a thread.
fn lines_of(child: &mut std::process::Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Collect lines until one satisfies `done` or 20 s pass.
fn wait_for(
    rx: &Receiver<String>,
    seen: &mut Vec<String>,
    done: impl Fn(&[String]) -> bool,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if done(seen) {
            return true;
        }
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.push(l);
        }
    }
    done(seen)
}

#[test]
fn get_watch_prints_rows_as_objects_change() {
    let (s, _dir) = quiet_server();
    s.kubectl_in(&["create", "-f", "-"], "apiVersion: v1\nkind: Pod\nmetadata: {name: first, labels: {w: x}}\nspec: {containers: [{name: main, image: busybox}]}\n");
    let mut child = Command::new(kubectl())
        .arg("--kubeconfig")
        .arg(&s.kubeconfig)
        .args(["get", "pods", "-l", "w=x", "-w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get -w");
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    let started = wait_for(&rx, &mut seen, |l| l.iter().any(|l| l.starts_with("first")));
    s.kubectl_in(&["create", "-f", "-"], "apiVersion: v1\nkind: Pod\nmetadata: {name: second, labels: {w: x}}\nspec: {containers: [{name: main, image: busybox}]}\n");
    let added = wait_for(&rx, &mut seen, |l| {
        l.iter().any(|l| l.starts_with("second"))
    });
    set_status(
        &s,
        "second",
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [container_status("main", true, 0, json!({"running": {"startedAt": ago(1)}}))]}),
    );
    let running = wait_for(&rx, &mut seen, |l| {
        l.iter()
            .any(|l| l.starts_with("second") && l.contains("Running"))
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(started && added && running, "watch output: {seen:#?}");
    let rows: Vec<Vec<String>> = seen.iter().map(|l| cells(l)).collect();
    assert_eq!(
        rows[0],
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{seen:#?}"
    );
    assert_eq!(
        rows.iter().filter(|r| r[0] == "NAME").count(),
        1,
        "one header: {seen:#?}"
    );
    let second: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "second").collect();
    assert_eq!(second[0][1..4], ["0/1", "Pending", "0"], "{seen:#?}");
    assert_eq!(
        second.last().map(|r| r[1..4].to_vec()),
        Some(vec!["1/1".to_string(), "Running".into(), "0".into()]),
        "{seen:#?}"
    );
}

async fn client_for(s: &Server) -> kube::Client {
    let kc = Kubeconfig::read_from(&s.kubeconfig).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(config).expect("client")
}

const TABLE_V1: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// GET `path` with `accept`: the HTTP status and the body as JSON (or text lines for watches).
async fn get(client: &kube::Client, path: &str, accept: &str) -> Result<String, kube::Error> {
    let req = http::Request::get(path)
        .header(http::header::ACCEPT, accept)
        .body(Vec::new())
        .expect("request");
    client.request_text(req).await
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn api_code(r: Result<String, kube::Error>) -> Option<u16> {
    match r {
        Err(kube::Error::Api(status)) => Some(status.code),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_negotiation_row_objects_and_watch_headers() {
    let (s, _dir) = quiet_server();
    for name in ["a", "b"] {
        s.kubectl_in(&["create", "configmap", name, "--from-literal=k=v"], "");
    }
    let client = client_for(&s).await;
    let base = "/api/v1/namespaces/default/configmaps";

    let table = json_of(&get(&client, base, TABLE_V1).await.expect("table"));
    assert_eq!(
        (table["kind"].as_str(), table["apiVersion"].as_str()),
        (Some("Table"), Some("meta.k8s.io/v1"))
    );
    assert!(
        table["metadata"]["resourceVersion"]
            .as_str()
            .is_some_and(|rv| rv.parse::<u64>().is_ok()),
        "{table}"
    );
    let names: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["Name", "Data", "Age"]);
    assert_eq!(table["columnDefinitions"][0]["format"], "name");
    assert_eq!(
        table["rows"][0]["cells"]
            .as_array()
            .map(|c| c[..2].to_vec()),
        Some(vec![json!("a"), json!(1)])
    );
    let object = &table["rows"][1]["object"];
    assert_eq!(
        (object["kind"].as_str(), object["apiVersion"].as_str()),
        (Some("PartialObjectMetadata"), Some("meta.k8s.io/v1"))
    );
    assert_eq!(
        (
            object["metadata"]["name"].as_str(),
            object["metadata"]["namespace"].as_str()
        ),
        (Some("b"), Some("default"))
    );
    assert!(object.get("data").is_none(), "{object}");

    let whole = json_of(
        &get(&client, &format!("{base}?includeObject=Object"), TABLE_V1)
            .await
            .expect("table"),
    );
    assert_eq!(whole["rows"][0]["object"]["data"], json!({"k": "v"}));
    let none = json_of(
        &get(&client, &format!("{base}/a?includeObject=None"), TABLE_V1)
            .await
            .expect("table"),
    );
    assert_eq!(
        (
            none["rows"].as_array().map(Vec::len),
            none["rows"][0]["object"].clone()
        ),
        (Some(1), Value::Null)
    );
    let beta = json_of(
        &get(
            &client,
            base,
            "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
        )
        .await
        .expect("table"),
    );
    assert_eq!(beta["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(
        beta["rows"][0]["object"]["apiVersion"],
        "meta.k8s.io/v1beta1"
    );
    let plain = json_of(&get(&client, base, "application/json").await.expect("list"));
    assert_eq!(plain["kind"], "ConfigMapList");

    assert_eq!(
        api_code(
            get(
                &client,
                base,
                "application/json;as=Table;v=v1alpha1;g=meta.k8s.io"
            )
            .await
        ),
        Some(406)
    );
    assert_eq!(
        api_code(
            get(
                &client,
                base,
                "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io"
            )
            .await
        ),
        Some(406)
    );
    assert_eq!(api_code(get(&client, base, "text/html").await), Some(406));
    assert_eq!(
        api_code(get(&client, &format!("{base}?includeObject=All"), TABLE_V1).await),
        Some(400)
    );

    let watch = get(
        &client,
        &format!("{base}?watch=1&timeoutSeconds=2"),
        TABLE_V1,
    )
    .await
    .expect("watch");
    let events: Vec<Value> = watch.lines().map(json_of).collect();
    assert_eq!(events.len(), 2, "{watch}");
    assert!(
        events
            .iter()
            .all(|e| e["type"] == "ADDED" && e["object"]["kind"] == "Table"),
        "{watch}"
    );
    assert_eq!(
        events[0]["object"]["columnDefinitions"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "{watch}"
    );
    assert!(
        events[1]["object"]["columnDefinitions"].is_null(),
        "{watch}"
    );
    assert_eq!(events[1]["object"]["rows"][0]["cells"][0], "b");
    let rv = events[1]["object"]["rows"][0]["object"]["metadata"]["resourceVersion"].clone();
    assert_eq!(
        events[1]["object"]["metadata"]["resourceVersion"], rv,
        "{watch}"
    );
}
