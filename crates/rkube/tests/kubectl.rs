//! kubectl 1.37 against `rkube server --disable-agent`: the everyday
//! commands and the exact error texts a real cluster prints.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{Server, kubectl};

/// A ConfigMap manifest with one data key.
fn configmap(name: &str, key: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{{key}: \"{value}\"}}\n"
    )
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

/// One minimal, valid object of every served kind (kind, name, manifest).
const EVERY_KIND: &[(&str, &str, &str)] = &[
    (
        "configmap",
        "cm1",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm1}\ndata: {a: b}\n",
    ),
    (
        "secret",
        "s1",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s1}\nstringData: {a: b}\n",
    ),
    (
        "serviceaccount",
        "sa1",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa1}\n",
    ),
    (
        "pod",
        "p1",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p1}\nspec: {containers: [{name: c, image: busybox}]}\n",
    ),
    (
        "service",
        "svc1",
        "apiVersion: v1\nkind: Service\nmetadata: {name: svc1}\nspec: {selector: {app: a}, ports: [{port: 80}]}\n",
    ),
    (
        "endpoints",
        "ep1",
        "apiVersion: v1\nkind: Endpoints\nmetadata: {name: ep1}\n",
    ),
    (
        "node",
        "n1",
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n",
    ),
    (
        "event",
        "ev1",
        "apiVersion: v1\nkind: Event\nmetadata: {name: ev1}\ninvolvedObject: {kind: Pod, name: p1, namespace: default}\nreason: Test\nmessage: hello\ntype: Normal\n",
    ),
    (
        "events.events.k8s.io",
        "ev2",
        "apiVersion: events.k8s.io/v1\nkind: Event\nmetadata: {name: ev2}\neventTime: \"2026-01-01T00:00:00.000000Z\"\nreportingController: test/x\nreportingInstance: x\naction: Test\nreason: Test\nregarding: {kind: Pod, name: p1, namespace: default}\ntype: Normal\n",
    ),
    (
        "deployment",
        "d1",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d1}\nspec:\n  selector: {matchLabels: {app: d1}}\n  template:\n    metadata: {labels: {app: d1}}\n    spec: {containers: [{name: c, image: busybox}]}\n",
    ),
    (
        "replicaset",
        "rs1",
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs1}\nspec:\n  selector: {matchLabels: {app: rs1}}\n  template:\n    metadata: {labels: {app: rs1}}\n    spec: {containers: [{name: c, image: busybox}]}\n",
    ),
    (
        "daemonset",
        "ds1",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ds1}\nspec:\n  selector: {matchLabels: {app: ds1}}\n  template:\n    metadata: {labels: {app: ds1}}\n    spec: {containers: [{name: c, image: busybox}]}\n",
    ),
    (
        "job",
        "j1",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j1}\nspec:\n  template:\n    spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}\n",
    ),
    (
        "lease",
        "l1",
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: l1}\nspec: {holderIdentity: me}\n",
    ),
    (
        "endpointslice",
        "es1",
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: es1}\naddressType: IPv4\nendpoints: [{addresses: [10.42.0.5]}]\n",
    ),
    (
        "priorityclass",
        "pc1",
        "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: pc1}\nvalue: 1000\n",
    ),
    (
        "role",
        "r1",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r1}\nrules: [{apiGroups: [\"\"], resources: [pods], verbs: [get]}]\n",
    ),
    (
        "rolebinding",
        "rb1",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb1}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r1}\nsubjects: [{kind: User, name: alice}]\n",
    ),
    (
        "clusterrole",
        "cr1",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cr1}\nrules: [{nonResourceURLs: [/healthz], verbs: [get]}]\n",
    ),
    (
        "clusterrolebinding",
        "crb1",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: crb1}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cr1}\nsubjects: [{kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}]\n",
    ),
    (
        "namespace",
        "ns1",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1}\n",
    ),
];

#[test]
fn version_and_api_resources() {
    let s = Server::start();
    let v: Value =
        serde_json::from_str(&s.kubectl_ok(&["version", "-o", "json"])).expect("version json");
    assert_eq!(v["serverVersion"]["major"], "1");
    assert_eq!(v["serverVersion"]["minor"], "37");
    let resources = s.kubectl_ok(&["api-resources", "-o", "name"]);
    for r in [
        "pods",
        "deployments.apps",
        "leases.coordination.k8s.io",
        "roles.rbac.authorization.k8s.io",
        "endpointslices.discovery.k8s.io",
    ] {
        assert!(
            resources.lines().any(|l| l == r),
            "{r} missing from api-resources:\n{resources}"
        );
    }
    let wide = s.kubectl_ok(&["api-resources"]);
    assert!(
        wide.lines().any(|l| l.starts_with("deployments")
            && l.contains("deploy")
            && l.contains("apps/v1")
            && l.contains("true")
            && l.contains("Deployment")),
        "{wide}"
    );
    let ns = s.kubectl_ok(&["get", "namespaces", "-o", "name"]);
    for n in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(ns.contains(&format!("namespace/{n}")), "{ns}");
    }
}

#[test]
fn create_get_delete_every_kind() {
    let s = Server::start();
    for (kind, name, manifest) in EVERY_KIND {
        s.kubectl_in(&["create", "-f", "-"], manifest);
        let obj: Value =
            serde_json::from_str(&s.kubectl_ok(&["get", kind, name, "-o", "json"])).expect("json");
        assert_eq!(obj["metadata"]["name"], *name, "{kind}");
        assert!(
            obj["metadata"]["uid"]
                .as_str()
                .is_some_and(|u| u.len() == 36),
            "{kind} uid: {obj}"
        );
        assert!(
            obj["metadata"]["resourceVersion"]
                .as_str()
                .is_some_and(|rv| rv.parse::<u64>().is_ok()),
            "{kind}"
        );
        assert!(obj["metadata"]["creationTimestamp"].is_string(), "{kind}");
    }
    for (kind, name, _) in EVERY_KIND {
        let out = s.kubectl(&["delete", kind, name, "--wait=false"]);
        assert!(out.status.success(), "delete {kind}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("deleted"), "{kind}: {text}");
    }
    for (kind, name, _) in EVERY_KIND {
        let gone = support::eventually(Duration::from_secs(20), || {
            let out = s.kubectl(&["get", kind, name]);
            (!out.status.success() && stderr(&out).contains("(NotFound)")).then_some(())
        });
        assert!(gone.is_some(), "{kind} {name} still exists");
    }
}

#[test]
fn deleting_a_namespace_deletes_its_content() {
    let s = Server::start();
    s.kubectl_in(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: doomed}\n",
    );
    for (_, _, manifest) in EVERY_KIND
        .iter()
        .filter(|(k, _, _)| ["configmap", "secret", "deployment", "role", "lease"].contains(k))
    {
        s.kubectl_in(&["create", "-n", "doomed", "-f", "-"], manifest);
    }
    let out = s.kubectl(&["delete", "namespace", "doomed", "--timeout=30s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !s.kubectl(&["get", "ns", "doomed"]).status.success(),
        "namespace must be gone"
    );
    let left = s.kubectl_ok(&[
        "get",
        "cm,secrets,deploy,roles,leases",
        "-n",
        "doomed",
        "-o",
        "name",
    ]);
    assert_eq!(left.trim(), "", "content left behind");
}

#[test]
fn defaults_are_filled_like_a_real_cluster() {
    let s = Server::start();
    s.kubectl_in(&["create", "-f", "-"], EVERY_KIND[3].2);
    let pod: Value =
        serde_json::from_str(&s.kubectl_ok(&["get", "pod", "p1", "-o", "json"])).expect("json");
    assert_eq!(pod["spec"]["restartPolicy"], "Always");
    assert_eq!(pod["spec"]["dnsPolicy"], "ClusterFirst");
    assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], 30);
    assert_eq!(pod["spec"]["schedulerName"], "default-scheduler");
    assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Always");
    assert_eq!(
        pod["spec"]["containers"][0]["terminationMessagePath"],
        "/dev/termination-log"
    );
    assert_eq!(pod["status"]["phase"], "Pending");
    assert_eq!(pod["status"]["qosClass"], "BestEffort");
    s.kubectl_in(&["create", "-f", "-"], EVERY_KIND[9].2);
    let d: Value =
        serde_json::from_str(&s.kubectl_ok(&["get", "deploy", "d1", "-o", "json"])).expect("json");
    assert_eq!(d["spec"]["replicas"], 1);
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
    assert_eq!(d["metadata"]["generation"], 1);
}

#[test]
fn selectors_and_output_formats() {
    let s = Server::start();
    for (name, tier) in [("a", "web"), ("b", "web"), ("c", "db")] {
        s.kubectl_in(&["create", "-f", "-"], &configmap(name, "k", "v"));
        s.kubectl_ok(&["label", "configmap", name, &format!("tier={tier}")]);
    }
    assert_eq!(
        s.kubectl_ok(&["get", "cm", "-l", "tier=web", "-o", "name"])
            .trim(),
        "configmap/a\nconfigmap/b"
    );
    assert_eq!(
        s.kubectl_ok(&["get", "cm", "-l", "tier in (db),tier!=web", "-o", "name"])
            .trim(),
        "configmap/c"
    );
    assert_eq!(
        s.kubectl_ok(&["get", "cm", "-l", "!tier", "-o", "name"])
            .trim(),
        ""
    );
    assert_eq!(
        s.kubectl_ok(&[
            "get",
            "cm",
            "--field-selector",
            "metadata.name=b",
            "-o",
            "name"
        ])
        .trim(),
        "configmap/b"
    );
    assert_eq!(
        s.kubectl_ok(&[
            "get",
            "cm",
            "--field-selector",
            "metadata.name!=b",
            "-l",
            "tier",
            "-o",
            "name"
        ])
        .trim(),
        "configmap/a\nconfigmap/c"
    );
    let jp = s.kubectl_ok(&[
        "get",
        "cm",
        "a",
        "-o",
        "jsonpath={.data.k}/{.metadata.labels.tier}",
    ]);
    assert_eq!(jp, "v/web");
    let yaml = s.kubectl_ok(&["get", "cm", "a", "-o", "yaml"]);
    assert!(
        yaml.contains("kind: ConfigMap") && yaml.contains("  k: v"),
        "{yaml}"
    );
    let list: Value =
        serde_json::from_str(&s.kubectl_ok(&["get", "cm", "-l", "tier", "-o", "json"]))
            .expect("json");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(3));
    let table = s.kubectl_ok(&["get", "cm"]);
    assert!(table.starts_with("NAME"), "{table}");
    let bad = s.kubectl(&["get", "cm", "--field-selector", "data.k=v"]);
    assert!(stderr(&bad).ends_with("\"data.k\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""), "{}", stderr(&bad));
    let all_ns = s.kubectl_ok(&[
        "get",
        "namespaces",
        "--field-selector",
        "metadata.name=kube-system",
        "-o",
        "name",
    ]);
    assert_eq!(all_ns.trim(), "namespace/kube-system");
}

#[test]
fn label_annotate_replace() {
    let s = Server::start();
    s.kubectl_in(&["create", "-f", "-"], &configmap("x", "a", "1"));
    s.kubectl_ok(&["label", "cm", "x", "team=blue"]);
    s.kubectl_ok(&["annotate", "cm", "x", "note=hello"]);
    let obj: Value =
        serde_json::from_str(&s.kubectl_ok(&["get", "cm", "x", "-o", "json"])).expect("json");
    assert_eq!(obj["metadata"]["labels"]["team"], "blue");
    assert_eq!(obj["metadata"]["annotations"]["note"], "hello");
    s.kubectl_ok(&["label", "cm", "x", "team-"]);
    let mut obj: Value =
        serde_json::from_str(&s.kubectl_ok(&["get", "cm", "x", "-o", "json"])).expect("json");
    assert!(obj["metadata"]["labels"].get("team").is_none(), "{obj}");
    obj["data"]["a"] = Value::String("2".into());
    s.kubectl_in(&["replace", "-f", "-"], &obj.to_string());
    assert_eq!(
        s.kubectl_ok(&["get", "cm", "x", "-o", "jsonpath={.data.a}"]),
        "2"
    );
    let stale = s.kubectl_stdin(&["replace", "-f", "-"], &obj.to_string());
    assert_eq!(
        stderr(&stale),
        "Error from server (Conflict): error when replacing \"STDIN\": Operation cannot be fulfilled on configmaps \"x\": the object has been modified; please apply your changes to the latest version and try again"
    );
}

#[test]
fn error_texts_match_kubernetes() {
    let s = Server::start();
    let out = s.kubectl(&["get", "configmap", "nope"]);
    assert_eq!(
        stderr(&out),
        "Error from server (NotFound): configmaps \"nope\" not found"
    );
    s.kubectl_in(&["create", "-f", "-"], &configmap("dup", "k", "v"));
    let out = s.kubectl_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dup}\n",
    );
    assert_eq!(
        stderr(&out),
        "Error from server (AlreadyExists): error when creating \"STDIN\": configmaps \"dup\" already exists"
    );
    let out = s.kubectl_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n",
    );
    assert_eq!(
        stderr(&out),
        "The Pod \"p\" is invalid: spec.containers: Required value"
    );
    let out = s.kubectl_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: missing}\n",
    );
    assert_eq!(
        stderr(&out),
        "Error from server (NotFound): error when creating \"STDIN\": namespaces \"missing\" not found"
    );
    let out = s.kubectl_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n",
    );
    assert!(stderr(&out).starts_with("The ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{}", stderr(&out));
}

#[test]
fn get_watch_sees_new_objects() {
    let s = Server::start();
    let mut child = Command::new(kubectl())
        .arg("--kubeconfig")
        .arg(&s.kubeconfig)
        .args(["get", "configmaps", "-w", "-o", "name"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get -w");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(1500));
    s.kubectl_in(&["create", "-f", "-"], &configmap("watched", "k", "v"));
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline
        && !seen.iter().any(|l: &String| l.contains("watched"))
    {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(l);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.iter().any(|l| l == "configmap/watched"),
        "watch output: {seen:?}"
    );
}
