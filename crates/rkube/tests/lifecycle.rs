//! Object lifecycle through kubectl 1.37: finalizers and deletionTimestamp,
//! graceful pod deletion, propagation policies, generation, status
//! subresources, generateName and event field selectors.

mod support;

use serde_json::Value;
use support::Server;

fn get(s: &Server, args: &[&str]) -> Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    serde_json::from_str(&s.kubectl_ok(&all)).expect("kubectl json")
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: rkube.test/busybox:1}]}\n";

#[test]
fn finalizers_hold_deletion_until_removed() {
    let s = Server::start();
    s.kubectl_in(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, finalizers: [example.com/hold]}\n",
    );
    s.kubectl_ok(&["delete", "cm", "held", "--wait=false"]);
    let obj = get(&s, &["cm", "held"]);
    assert!(obj["metadata"]["deletionTimestamp"].is_string(), "{obj}");
    assert_eq!(obj["metadata"]["finalizers"][0], "example.com/hold");
    s.kubectl_ok(&[
        "patch",
        "cm",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    let out = s.kubectl(&["get", "cm", "held"]);
    assert!(
        !out.status.success(),
        "object must be gone once its last finalizer is removed"
    );
}

#[test]
fn bound_pods_terminate_gracefully_and_force_deletes() {
    let s = Server::start();
    s.kubectl_in(&["create", "-f", "-"], "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {nodeName: n1, terminationGracePeriodSeconds: 20, containers: [{name: c, image: busybox}]}\n");
    s.kubectl_ok(&["delete", "pod", "p", "--wait=false"]);
    let pod = get(&s, &["pod", "p"]);
    assert_eq!(pod["metadata"]["deletionGracePeriodSeconds"], 20, "{pod}");
    assert!(pod["metadata"]["deletionTimestamp"].is_string());
    s.kubectl_ok(&["delete", "pod", "p", "--grace-period=0", "--force"]);
    assert!(
        !s.kubectl(&["get", "pod", "p"]).status.success(),
        "force delete removes the pod"
    );
    s.kubectl_in(&["create", "-f", "-"], "apiVersion: v1\nkind: Pod\nmetadata: {name: unbound}\nspec: {containers: [{name: c, image: busybox}]}\n");
    s.kubectl_ok(&["delete", "pod", "unbound", "--wait=false"]);
    assert!(
        !s.kubectl(&["get", "pod", "unbound"]).status.success(),
        "unscheduled pods are deleted at once"
    );
}

#[test]
fn foreground_deletion_adds_its_finalizer() {
    let s = Server::start();
    s.kubectl_in(&["create", "-f", "-"], DEPLOYMENT);
    s.kubectl_ok(&[
        "delete",
        "deploy",
        "web",
        "--cascade=foreground",
        "--wait=false",
    ]);
    let d = get(&s, &["deploy", "web"]);
    assert_eq!(
        d["metadata"]["finalizers"],
        serde_json::json!(["foregroundDeletion"]),
        "{d}"
    );
    assert!(d["metadata"]["deletionTimestamp"].is_string());
}

#[test]
fn generation_counts_spec_changes_and_status_is_separate() {
    // Without controllers nobody else writes the Deployment's status.
    let s = Server::start_args(&["--disable-controller-manager"]);
    s.kubectl_in(&["create", "-f", "-"], DEPLOYMENT);
    assert_eq!(get(&s, &["deploy", "web"])["metadata"]["generation"], 1);
    s.kubectl_ok(&["label", "deploy", "web", "tier=front"]);
    assert_eq!(
        get(&s, &["deploy", "web"])["metadata"]["generation"],
        1,
        "labels are not spec"
    );
    s.kubectl_ok(&[
        "patch",
        "deploy",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":3}}"#,
    ]);
    assert_eq!(get(&s, &["deploy", "web"])["metadata"]["generation"], 2);
    s.kubectl_ok(&[
        "patch",
        "deploy",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":7},"spec":{"replicas":9}}"#,
    ]);
    let d = get(&s, &["deploy", "web"]);
    assert_eq!(
        (
            d["status"]["replicas"].clone(),
            d["spec"]["replicas"].clone()
        ),
        (7.into(), 3.into()),
        "status writes ignore spec"
    );
    assert_eq!(d["metadata"]["generation"], 2);
    s.kubectl_ok(&[
        "patch",
        "deploy",
        "web",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":1}}"#,
    ]);
    assert_eq!(
        get(&s, &["deploy", "web"])["status"]["replicas"],
        7,
        "main writes ignore status"
    );
    let scale = get(&s, &["deploy", "web", "--subresource=scale"]);
    assert_eq!(
        (scale["kind"].as_str(), scale["spec"]["replicas"].as_i64()),
        (Some("Scale"), Some(3)),
        "{scale}"
    );
    assert_eq!(scale["status"]["selector"], "app=web");
}

#[test]
fn generate_name_and_event_field_selectors() {
    let s = Server::start();
    let out = s.kubectl_in(
        &["create", "-f", "-", "-o", "name"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: gen-}\n",
    );
    let name = out.trim().trim_start_matches("configmap/");
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    for (ev, pod) in [("e1", "p1"), ("e2", "p2")] {
        s.kubectl_in(&["create", "-f", "-"], &format!(
            "apiVersion: v1\nkind: Event\nmetadata: {{name: {ev}}}\ninvolvedObject: {{kind: Pod, name: {pod}, namespace: default}}\nreason: Started\nmessage: hi\ntype: Normal\n"
        ));
    }
    let names = s.kubectl_ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=p2,involvedObject.kind=Pod",
        "-o",
        "name",
    ]);
    assert_eq!(names.trim(), "event/e2");
}

#[test]
fn services_get_unique_cluster_ips_and_node_ports() {
    let s = Server::start();
    let k = get(&s, &["svc", "kubernetes"]);
    assert_eq!(k["spec"]["clusterIP"], "10.43.0.1", "{k}");
    assert_eq!(k["spec"]["ports"][0]["port"], 443);
    let slice = get(&s, &["endpointslices", "kubernetes"]);
    assert_eq!(slice["endpoints"][0]["addresses"][0], "127.0.0.1");
    let svc = |name: &str, extra: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec: {{{extra}selector: {{app: a}}, ports: [{{port: 80}}]}}\n"
        )
    };
    s.kubectl_in(&["create", "-f", "-"], &svc("np", "type: NodePort, "));
    s.kubectl_in(
        &["create", "-f", "-"],
        &svc("fixed", "clusterIP: 10.43.0.10, "),
    );
    let np = get(&s, &["svc", "np"]);
    let ip = np["spec"]["clusterIP"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        ip.starts_with("10.43.") && ip != "10.43.0.1" && ip != "10.43.0.10",
        "{ip}"
    );
    let port = np["spec"]["ports"][0]["nodePort"]
        .as_i64()
        .unwrap_or_default();
    assert!((30000..=32767).contains(&port), "{port}");
    let taken = s.kubectl_stdin(
        &["create", "-f", "-"],
        &svc("again", "clusterIP: 10.43.0.10, "),
    );
    let err = String::from_utf8_lossy(&taken.stderr);
    assert!(err.contains("provided IP is already allocated"), "{err}");
    s.kubectl_ok(&["label", "svc", "np", "x=y"]);
    let np2 = get(&s, &["svc", "np"]);
    assert_eq!(
        (
            np2["spec"]["clusterIP"].as_str(),
            np2["spec"]["ports"][0]["nodePort"].as_i64()
        ),
        (Some(ip.as_str()), Some(port))
    );
    s.kubectl_ok(&["delete", "svc", "fixed"]);
    s.kubectl_in(
        &["create", "-f", "-"],
        &svc("again", "clusterIP: 10.43.0.10, "),
    );
}

#[test]
fn priority_class_names_resolve_to_priorities() {
    let s = Server::start();
    assert_eq!(
        get(&s, &["priorityclass", "system-node-critical"])["value"],
        2_000_001_000i64
    );
    s.kubectl_in(&["create", "-f", "-"], "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000\npreemptionPolicy: Never\n");
    let pod = |name: &str, class: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec: {{priorityClassName: {class}, containers: [{{name: c, image: busybox}}]}}\n"
        )
    };
    s.kubectl_in(&["create", "-f", "-"], &pod("hi", "high"));
    let p = get(&s, &["pod", "hi"]);
    assert_eq!(
        (
            p["spec"]["priority"].as_i64(),
            p["spec"]["preemptionPolicy"].as_str()
        ),
        (Some(1000), Some("Never"))
    );
    let out = s.kubectl_stdin(&["create", "-f", "-"], &pod("lost", "missing"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pods \"lost\" is forbidden: no PriorityClass with name missing was found"),
        "{err}"
    );
}
