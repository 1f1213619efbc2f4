//! kubectl 1.37 commands that send strategic merge patches, against
//! `rkube server`: `apply` of an existing object (the three-way merge with
//! `last-applied-configuration`), `patch`, `set image`, `set env`,
//! `rollout pause|resume|restart`, `annotate` and `edit`.

mod support;

use std::process::Command;

use serde_json::Value;
use support::{Server, kubectl};

/// A Deployment with a main container `c` and a sidecar.
fn deployment(image: &str, env: &[(&str, &str)], ports: &[u16]) -> String {
    let env: String = env
        .iter()
        .map(|(k, v)| format!("\n        - {{name: {k}, value: \"{v}\"}}"))
        .collect();
    let ports: String = ports
        .iter()
        .map(|p| format!("\n        - {{containerPort: {p}}}"))
        .collect();
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: d, labels: {{app: d}}}}
spec:
  selector: {{matchLabels: {{app: d}}}}
  template:
    metadata: {{labels: {{app: d}}}}
    spec:
      containers:
      - name: c
        image: {image}
        env:{env}
        ports:{ports}
      - name: side
        image: s:1
"
    )
}

fn get(s: &Server) -> Value {
    serde_json::from_str(&s.kubectl_ok(&["get", "deploy", "d", "-o", "json"]))
        .expect("deployment JSON")
}

/// The containers of the pod template, by name.
fn container<'a>(d: &'a Value, name: &str) -> &'a Value {
    let containers = d["spec"]["template"]["spec"]["containers"].as_array();
    containers
        .into_iter()
        .flatten()
        .find(|c| c["name"] == name)
        .unwrap_or(&Value::Null)
}

fn container_names(d: &Value) -> Vec<String> {
    let containers = d["spec"]["template"]["spec"]["containers"].as_array();
    containers
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

fn env_of(c: &Value) -> Vec<(String, String)> {
    let env = c["env"].as_array().into_iter().flatten();
    env.map(|e| {
        (
            e["name"].as_str().unwrap_or_default().to_string(),
            e["value"].as_str().unwrap_or_default().to_string(),
        )
    })
    .collect()
}

fn ports_of(c: &Value) -> Vec<i64> {
    c["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["containerPort"].as_i64())
        .collect()
}

#[test]
fn apply_twice_merges_three_ways() {
    let s = Server::start();
    let first = s.kubectl_in(
        &["apply", "-f", "-"],
        &deployment("x:1", &[("A", "1"), ("B", "2")], &[80, 8080]),
    );
    assert!(first.contains("deployment.apps/d created"), "{first}");
    s.kubectl_ok(&["annotate", "deploy", "d", "team=blue"]);
    let second = s.kubectl_in(
        &["apply", "-f", "-"],
        &deployment("x:2", &[("A", "1")], &[80]),
    );
    assert!(second.contains("deployment.apps/d configured"), "{second}");
    let d = get(&s);
    let c = container(&d, "c");
    assert_eq!(c["image"], "x:2");
    assert_eq!(
        env_of(c),
        [("A".to_string(), "1".to_string())],
        "B was removed from the manifest"
    );
    assert_eq!(ports_of(c), [80], "8080 was removed from the manifest");
    assert_eq!(container(&d, "side")["image"], "s:1");
    assert_eq!(container_names(&d), ["c", "side"]);
    let annotations = &d["metadata"]["annotations"];
    assert_eq!(
        annotations["team"], "blue",
        "a field the manifest never had survives the re-apply"
    );
    let last = annotations["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .unwrap_or_default();
    assert!(last.contains("x:2") && !last.contains("8080"), "{last}");
    let third = s.kubectl_in(
        &["apply", "-f", "-"],
        &deployment("x:2", &[("A", "1")], &[80]),
    );
    assert!(third.contains("deployment.apps/d unchanged"), "{third}");
}

#[test]
fn patch_set_rollout_annotate_and_edit() {
    let s = Server::start();
    s.kubectl_in(
        &["apply", "-f", "-"],
        &deployment("x:1", &[("A", "1")], &[80]),
    );

    let patch = r#"{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"x:2"}]}}}}"#;
    let out = s.kubectl_ok(&["patch", "deploy", "d", "-p", patch]);
    assert!(out.contains("deployment.apps/d patched"), "{out}");
    let d = get(&s);
    assert_eq!(
        (
            container(&d, "c")["image"].as_str(),
            container(&d, "side")["image"].as_str()
        ),
        (Some("x:2"), Some("s:1"))
    );
    assert_eq!(
        env_of(container(&d, "c")).len(),
        1,
        "the patch merged into c, keeping its env"
    );

    let bad = s.kubectl(&[
        "patch",
        "deploy",
        "d",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"image":"y"}]}}}}"#,
    ]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("does not contain declared merge key: name"),
        "{err}"
    );

    s.kubectl_ok(&["set", "image", "deploy/d", "c=x:3"]);
    let d = get(&s);
    assert_eq!(
        (
            container(&d, "c")["image"].as_str(),
            container(&d, "side")["image"].as_str()
        ),
        (Some("x:3"), Some("s:1"))
    );

    s.kubectl_ok(&["set", "env", "deploy/d", "-c", "c", "C=3"]);
    let pairs = |d: &Value| {
        env_of(container(d, "c"))
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(pairs(&get(&s)), ["A=1", "C=3"]);
    s.kubectl_ok(&["set", "env", "deploy/d", "-c", "c", "A-"]);
    assert_eq!(pairs(&get(&s)), ["C=3"]);

    s.kubectl_ok(&["rollout", "pause", "deploy/d"]);
    assert_eq!(get(&s)["spec"]["paused"], true);
    s.kubectl_ok(&["rollout", "resume", "deploy/d"]);
    assert_ne!(get(&s)["spec"]["paused"], true);
    s.kubectl_ok(&["rollout", "restart", "deploy/d"]);
    let d = get(&s);
    let restarted =
        d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .as_str()
            .unwrap_or_default();
    assert!(
        restarted.len() >= 20 && restarted.contains('T'),
        "restartedAt is a timestamp: {restarted:?}"
    );
    assert_eq!(d["spec"]["template"]["metadata"]["labels"]["app"], "d");

    s.kubectl_ok(&["annotate", "deploy", "d", "note=one"]);
    s.kubectl_ok(&["annotate", "deploy", "d", "--overwrite", "note=two"]);
    assert_eq!(get(&s)["metadata"]["annotations"]["note"], "two");

    let edit = Command::new(kubectl())
        .arg("--kubeconfig")
        .arg(&s.kubeconfig)
        .args(["edit", "deploy", "d"])
        .env("KUBE_EDITOR", "sed -i -e s/x:3/x:4/")
        .output()
        .expect("run kubectl edit");
    assert!(
        edit.status.success(),
        "kubectl edit: {}",
        String::from_utf8_lossy(&edit.stderr)
    );
    assert!(String::from_utf8_lossy(&edit.stdout).contains("deployment.apps/d edited"));
    let d = get(&s);
    assert_eq!(
        (
            container(&d, "c")["image"].as_str(),
            container(&d, "side")["image"].as_str()
        ),
        (Some("x:4"), Some("s:1"))
    );
    assert_eq!(container_names(&d), ["c", "side"]);
}
