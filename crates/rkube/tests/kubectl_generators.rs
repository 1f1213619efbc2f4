//! kubectl 1.37's generator commands (`kubectl create configmap|secret|deployment|...`)
//! send their objects as Kubernetes protobuf; each one here creates an object
//! that way and reads it back as JSON with `kubectl get -o json`.

mod support;

use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};
use support::Server;

/// `kubectl get <what> -o json`, parsed.
fn get(s: &Server, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend(what);
    args.extend(["-o", "json"]);
    serde_json::from_str(&s.kubectl_ok(&args)).expect("kubectl get -o json prints JSON")
}

#[test]
fn configmap_and_secret_generators() {
    let s = Server::start();
    let files = tempfile::tempdir().expect("temp dir");
    let binary = files.path().join("blob.bin");
    std::fs::write(&binary, [0x00, 0x01, 0xff, 0xfe, 0x80]).expect("write binary file");
    let text = files.path().join("app.properties");
    std::fs::write(&text, "mode=fast\n").expect("write text file");
    let from_binary = format!("--from-file=blob={}", binary.display());
    let from_text = format!("--from-file={}", text.display());

    let out = s.kubectl_ok(&[
        "create",
        "configmap",
        "settings",
        "--from-literal=a=b",
        "--from-literal=empty=",
        &from_binary,
        &from_text,
    ]);
    assert_eq!(out.trim(), "configmap/settings created");
    let cm = get(&s, &["configmap", "settings"]);
    assert_eq!(cm["apiVersion"], "v1");
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(
        cm["data"],
        json!({"a": "b", "empty": "", "app.properties": "mode=fast\n"})
    );
    assert_eq!(cm["binaryData"], json!({"blob": "AAH//oA="}));
    assert_eq!(cm["metadata"]["namespace"], "default");
    assert!(
        cm["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| !u.is_empty()),
        "{cm}"
    );
    assert!(
        cm["metadata"].get("generateName").is_none(),
        "empty strings stay unset: {cm}"
    );

    s.kubectl_ok(&[
        "create",
        "secret",
        "generic",
        "creds",
        "--from-literal=user=admin",
        &from_binary,
        "--type=example.com/creds",
    ]);
    let secret = get(&s, &["secret", "creds"]);
    assert_eq!(secret["type"], "example.com/creds");
    assert_eq!(
        secret["data"],
        json!({"user": "YWRtaW4=", "blob": "AAH//oA="})
    );
    s.kubectl_ok(&["create", "secret", "generic", "plain", "--from-literal=k=v"]);
    assert_eq!(get(&s, &["secret", "plain"])["type"], "Opaque");

    let yaml = s.kubectl_ok(&[
        "create",
        "configmap",
        "echoed",
        "--from-literal=x=z",
        "-o",
        "yaml",
    ]);
    assert!(
        yaml.contains("x: z") && yaml.contains("uid:"),
        "the JSON response is what kubectl prints:\n{yaml}"
    );
}

#[test]
fn workload_generators() {
    let s = Server::start();
    s.kubectl_ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.27",
        "--replicas=3",
        "--port=8080",
    ]);
    let d = get(&s, &["deployment", "web"]);
    assert_eq!(d["apiVersion"], "apps/v1");
    assert_eq!(d["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(
        d["spec"]["selector"],
        json!({"matchLabels": {"app": "web"}})
    );
    assert_eq!(
        d["spec"]["template"]["metadata"]["labels"],
        json!({"app": "web"})
    );
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["name"], "nginx");
    assert_eq!(container["image"], "nginx:1.27");
    assert_eq!(container["ports"][0]["containerPort"], 8080);
    assert_eq!(container["ports"][0]["protocol"], "TCP");
    assert_eq!(
        d["spec"]["template"]["spec"]["restartPolicy"], "Always",
        "defaulted: the empty string is unset"
    );
    assert_eq!(
        d["spec"]["strategy"]["rollingUpdate"],
        json!({"maxSurge": "25%", "maxUnavailable": "25%"})
    );

    s.kubectl_ok(&[
        "create",
        "deployment",
        "idle",
        "--image=busybox",
        "--replicas=0",
    ]);
    assert_eq!(
        get(&s, &["deployment", "idle"])["spec"]["replicas"],
        0,
        "an explicit zero is kept"
    );

    s.kubectl_ok(&["scale", "deployment", "web", "--replicas=5"]);
    assert_eq!(get(&s, &["deployment", "web"])["spec"]["replicas"], 5);
    s.kubectl_ok(&[
        "scale",
        "deployment",
        "web",
        "--current-replicas=5",
        "--replicas=2",
    ]);
    assert_eq!(get(&s, &["deployment", "web"])["spec"]["replicas"], 2);

    s.kubectl_ok(&[
        "create",
        "job",
        "once",
        "--image=busybox",
        "--",
        "echo",
        "hello world",
    ]);
    let job = get(&s, &["job", "once"]);
    let pod_spec = &job["spec"]["template"]["spec"];
    assert_eq!(pod_spec["restartPolicy"], "Never");
    assert_eq!(
        pod_spec["containers"][0]["command"],
        json!(["echo", "hello world"])
    );
    assert_eq!(pod_spec["containers"][0]["image"], "busybox");

    s.kubectl_ok(&[
        "create",
        "cronjob",
        "tick",
        "--image=busybox",
        "--schedule=*/5 * * * *",
        "--",
        "date",
    ]);
    let cj = get(&s, &["cronjob", "tick"]);
    assert_eq!(cj["apiVersion"], "batch/v1");
    assert_eq!(cj["spec"]["schedule"], "*/5 * * * *");
    let cj_pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(cj_pod["restartPolicy"], "OnFailure");
    assert_eq!(cj_pod["containers"][0]["command"], json!(["date"]));

    s.kubectl_ok(&["create", "job", "from-cron", "--from=cronjob/tick"]);
    let from_cron = get(&s, &["job", "from-cron"]);
    assert_eq!(
        from_cron["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"],
        "manual"
    );
    assert_eq!(
        from_cron["metadata"]["ownerReferences"][0]["kind"],
        "CronJob"
    );
    assert_eq!(
        from_cron["metadata"]["ownerReferences"][0]["controller"],
        true
    );
}

#[test]
fn namespace_service_and_policy_generators() {
    let s = Server::start();
    s.kubectl_ok(&["create", "namespace", "team-a"]);
    let ns = get(&s, &["namespace", "team-a"]);
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team-a"
    );
    assert_eq!(ns["status"]["phase"], "Active");

    s.kubectl_ok(&["create", "serviceaccount", "robot", "-n", "team-a"]);
    let sa = get(&s, &["serviceaccount", "robot", "-n", "team-a"]);
    assert_eq!(
        (sa["kind"].as_str(), sa["metadata"]["namespace"].as_str()),
        (Some("ServiceAccount"), Some("team-a"))
    );

    s.kubectl_ok(&[
        "create",
        "service",
        "clusterip",
        "web",
        "--tcp=80:8080",
        "--tcp=443:https",
    ]);
    let svc = get(&s, &["service", "web"]);
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    assert_eq!(svc["spec"]["selector"], json!({"app": "web"}));
    let ports = &svc["spec"]["ports"];
    assert_eq!(
        (
            &ports[0]["name"],
            &ports[0]["port"],
            &ports[0]["targetPort"]
        ),
        (&json!("80-8080"), &json!(80), &json!(8080))
    );
    assert_eq!(
        (
            &ports[1]["port"],
            &ports[1]["targetPort"],
            &ports[1]["protocol"]
        ),
        (&json!(443), &json!("https"), &json!("TCP"))
    );
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.43.")),
        "{svc}"
    );
    s.kubectl_ok(&[
        "create",
        "service",
        "clusterip",
        "headless",
        "--clusterip=None",
    ]);
    assert_eq!(
        get(&s, &["service", "headless"])["spec"]["clusterIP"],
        "None"
    );

    s.kubectl_ok(&[
        "create",
        "priorityclass",
        "high",
        "--value=1000",
        "--description=batch first",
        "--preemption-policy=Never",
        "--global-default",
    ]);
    let pc = get(&s, &["priorityclass", "high"]);
    assert_eq!(
        (
            &pc["value"],
            &pc["description"],
            &pc["preemptionPolicy"],
            &pc["globalDefault"]
        ),
        (
            &json!(1000),
            &json!("batch first"),
            &json!("Never"),
            &json!(true)
        )
    );
    s.kubectl_ok(&["create", "priorityclass", "zero"]);
    assert_eq!(get(&s, &["priorityclass", "zero"])["value"], 0);

    s.kubectl_ok(&[
        "create",
        "poddisruptionbudget",
        "web-min",
        "--selector=app=web",
        "--min-available=1",
    ]);
    let pdb = get(&s, &["pdb", "web-min"]);
    assert_eq!(pdb["apiVersion"], "policy/v1");
    assert_eq!(
        pdb["spec"],
        json!({"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}})
    );
    s.kubectl_ok(&[
        "create",
        "pdb",
        "web-max",
        "--selector=app=web,tier in (front)",
        "--max-unavailable=50%",
    ]);
    let pdb = get(&s, &["pdb", "web-max"]);
    assert_eq!(pdb["spec"]["maxUnavailable"], "50%");
    assert_eq!(
        pdb["spec"]["selector"],
        json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]})
    );
}

#[test]
fn rbac_generators() {
    let s = Server::start();
    s.kubectl_ok(&[
        "create",
        "role",
        "reader",
        "--verb=get,list",
        "--resource=pods,deployments.apps",
        "--resource-name=a",
    ]);
    let role = get(&s, &["role", "reader"]);
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"], "verbs": ["get", "list"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["a"], "verbs": ["get", "list"]}
        ])
    );

    s.kubectl_ok(&["create", "serviceaccount", "robot"]);
    s.kubectl_ok(&[
        "create",
        "rolebinding",
        "reader-rb",
        "--role=reader",
        "--user=alice",
        "--serviceaccount=default:robot",
    ]);
    let rb = get(&s, &["rolebinding", "reader-rb"]);
    assert_eq!(
        rb["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"})
    );
    assert_eq!(
        rb["subjects"],
        json!([
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"},
            {"kind": "ServiceAccount", "name": "robot", "namespace": "default"}
        ])
    );

    s.kubectl_ok(&[
        "create",
        "clusterrole",
        "node-reader",
        "--verb=get",
        "--resource=nodes",
        "--non-resource-url=/healthz",
    ]);
    let cr = get(&s, &["clusterrole", "node-reader"]);
    assert_eq!(
        cr["rules"],
        json!([
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]},
            {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}
        ])
    );
    s.kubectl_ok(&[
        "create",
        "clusterrole",
        "aggregate",
        "--aggregation-rule=rbac.example.com/aggregate-to-view=true",
    ]);
    let agg = get(&s, &["clusterrole", "aggregate"]);
    assert_eq!(
        agg["aggregationRule"],
        json!({"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate-to-view": "true"}}]})
    );

    s.kubectl_ok(&[
        "create",
        "clusterrolebinding",
        "devs",
        "--clusterrole=node-reader",
        "--group=devs",
    ]);
    let crb = get(&s, &["clusterrolebinding", "devs"]);
    assert_eq!(crb["roleRef"]["kind"], "ClusterRole");
    assert_eq!(
        crb["subjects"],
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "devs"}])
    );
}

/// A protobuf body that is cut short is a 400 `Status`, not a crash or a 415.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_protobuf_is_a_bad_request() {
    let s = Server::start();
    let kc = Kubeconfig::read_from(&s.kubeconfig).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(config).expect("client");
    let post = |body: &[u8]| {
        http::Request::post("/api/v1/namespaces/default/configmaps")
            .header("Content-Type", "application/vnd.kubernetes.protobuf")
            .body(body.to_vec())
            .expect("request")
    };
    let truncated = b"k8s\x00\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x05\x0a\x10\x0a";
    match client.request_text(post(truncated)).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 400, "{status:?}");
            assert!(status.message.contains("cannot be handled"), "{status:?}");
        }
        other => panic!("expected a 400 Status, got {other:?}"),
    }
    let ok = b"k8s\x00\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x0f\x0a\x05\x0a\x03raw\x12\x06\x0a\x01k\x12\x01v";
    let created: Value =
        serde_json::from_str(&client.request_text(post(ok)).await.expect("created"))
            .expect("JSON response");
    assert_eq!(
        (&created["metadata"]["name"], &created["data"]),
        (&json!("raw"), &json!({"k": "v"}))
    );
}
