use serde_json::{Value, json};

use super::*;
use crate::defaults;
use crate::resources::{all, lookup};

/// Defaults then validates, returning the messages as Kubernetes prints them.
fn check(group: &str, plural: &str, mut obj: Value, old: Option<Value>) -> Vec<String> {
    let Some(info) = lookup(group, "v1", plural) else {
        return vec![format!("no resource {plural}")];
    };
    defaults::apply(info, &mut obj);
    let old = old.map(|mut o| {
        defaults::apply(info, &mut o);
        o
    });
    validate(info, &obj, old.as_ref())
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": spec})
}

fn busybox() -> Value {
    json!({"containers": [{"name": "app", "image": "busybox"}]})
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

#[test]
fn a_valid_pod_passes() {
    assert_eq!(
        check("", "pods", pod(busybox()), None),
        Vec::<String>::new()
    );
}

#[test]
fn pod_without_containers() {
    assert_eq!(
        check("", "pods", pod(json!({})), None),
        vec!["spec.containers: Required value"]
    );
}

#[test]
fn names_are_required_and_checked() {
    let mut p = pod(busybox());
    p["metadata"]["name"] = json!("Bad_Name");
    assert_eq!(
        check("", "pods", p.clone(), None),
        vec![format!(
            "metadata.name: Invalid value: \"Bad_Name\": {SUBDOMAIN_MSG}"
        )]
    );
    p["metadata"]["name"] = json!("");
    assert_eq!(
        check("", "pods", p, None),
        vec!["metadata.name: Required value: name or generateName is required"]
    );
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}});
    assert_eq!(
        check("", "namespaces", ns, None),
        vec!["metadata.name: Invalid value: \"a.b\": must not contain dots"]
    );
}

#[test]
fn labels_and_annotations() {
    let mut p = pod(busybox());
    p["metadata"]["labels"] = json!({"-bad": "ok", "good": "not ok"});
    let errs = check("", "pods", p.clone(), None);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs[0]
            .starts_with("metadata.labels: Invalid value: \"-bad\": name part must consist of alphanumeric characters")
    );
    assert!(errs[1].starts_with(
        "metadata.labels: Invalid value: \"not ok\": a valid label must be an empty string"
    ));
    p["metadata"]["labels"] = json!({});
    p["metadata"]["annotations"] = json!({"big": "x".repeat(256 * 1024)});
    assert_eq!(
        check("", "pods", p, None),
        vec!["metadata.annotations: Too long: may not be more than 262144 bytes"]
    );
}

#[test]
fn container_rules() {
    let spec = json!({
        "containers": [
            {"name": "a", "ports": [{"containerPort": 70000}], "volumeMounts": [{"name": "data", "mountPath": "/d"}]},
            {"name": "a", "image": "x"}
        ],
        "restartPolicy": "Sometimes"
    });
    assert_eq!(
        check("", "pods", pod(spec), None),
        vec![
            "spec.containers[0].image: Required value",
            "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
            "spec.containers[1].name: Duplicate value: \"a\"",
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
        ]
    );
}

#[test]
fn volumes_must_be_named_uniquely() {
    let spec = json!({"containers": [{"name": "a", "image": "x", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
        "volumes": [{"name": "v"}, {"name": "v", "emptyDir": {}}]});
    assert_eq!(
        check("", "pods", pod(spec), None),
        vec!["spec.volumes[1].name: Duplicate value: \"v\""]
    );
}

#[test]
fn pod_updates_allow_images_only() {
    let old = pod(busybox());
    let mut new_image = old.clone();
    new_image["spec"]["containers"][0]["image"] = json!("busybox:2");
    new_image["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");
    new_image["metadata"]["labels"] = json!({"a": "b"});
    assert_eq!(
        check("", "pods", new_image, Some(old.clone())),
        Vec::<String>::new()
    );
    let mut new_port = old.clone();
    new_port["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80}]);
    let errs = check("", "pods", new_port, Some(old.clone()));
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with(
        "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"
    ));
    let mut more = old.clone();
    more["spec"]["containers"] = json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]);
    assert_eq!(
        check("", "pods", more, Some(old.clone())),
        vec!["spec.containers: Forbidden: pod updates may not add or remove containers"]
    );
    let mut renamed = old.clone();
    renamed["metadata"]["name"] = json!("q");
    assert_eq!(
        check("", "pods", renamed, Some(old)),
        vec!["metadata.name: Invalid value: \"q\": field is immutable"]
    );
}

fn deployment(selector: Value, labels: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": selector, "template": {"metadata": {"labels": labels}, "spec": busybox()}}})
}

#[test]
fn deployment_selector_must_match_template() {
    let ok = deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web"}),
    );
    assert_eq!(
        check("apps", "deployments", ok.clone(), None),
        Vec::<String>::new()
    );
    let bad = deployment(json!({"matchLabels": {"app": "db"}}), json!({"app": "web"}));
    assert_eq!(
        check("apps", "deployments", bad, None),
        vec![
            "spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`",
        ]
    );
    let mut missing = ok.clone();
    missing["spec"]
        .as_object_mut()
        .map(|s| s.remove("selector"));
    assert_eq!(
        check("apps", "deployments", missing, None),
        vec![
            "spec.selector: Required value",
            "spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`",
        ]
    );
    let empty = deployment(json!({}), json!({"app": "web"}));
    assert_eq!(
        check("apps", "deployments", empty, None),
        vec!["spec.selector: Invalid value: {}: empty selector is invalid for deployment"]
    );
    let mut negative = ok.clone();
    negative["spec"]["replicas"] = json!(-1);
    assert_eq!(
        check("apps", "deployments", negative, None),
        vec!["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]
    );
    let moved = deployment(
        json!({"matchLabels": {"app": "web", "tier": "x"}}),
        json!({"app": "web", "tier": "x"}),
    );
    assert_eq!(
        check("apps", "deployments", moved, Some(ok)),
        vec![
            "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\",\"tier\":\"x\"}}: field is immutable",
        ]
    );
}

#[test]
fn workload_templates_keep_running() {
    let mut d = deployment(
        json!({"matchLabels": {"app": "web"}}),
        json!({"app": "web"}),
    );
    d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    assert_eq!(
        check("apps", "deployments", d, None),
        vec![
            "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
        ]
    );
    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d", "namespace": "default"},
        "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": busybox()}}});
    assert_eq!(
        check("apps", "daemonsets", ds, None),
        vec![
            "spec.template.metadata.labels: Invalid value: {\"a\":\"b\"}: `selector` does not match template `labels`",
        ]
    );
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": busybox()}}});
    assert_eq!(
        check("apps", "statefulsets", sts.clone(), None),
        Vec::<String>::new()
    );
    let mut changed = sts.clone();
    changed["spec"]["serviceName"] = json!("other");
    let errs = check("apps", "statefulsets", changed, Some(sts));
    assert!(
        errs[0].starts_with(
            "spec: Forbidden: updates to statefulset spec for fields other than 'replicas'"
        ),
        "{errs:?}"
    );
}

#[test]
fn jobs_need_a_terminating_restart_policy() {
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "default"},
        "spec": {"template": {"spec": busybox()}}});
    assert_eq!(
        check("batch", "jobs", job, None),
        vec![
            "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
        ]
    );
    let Some(info) = lookup("batch", "v1", "jobs") else {
        return;
    };
    let mut generated = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "default", "uid": "u1"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "a", "image": "x"}]}}}});
    defaults::apply(info, &mut generated);
    defaults::prepare_for_create(info, &mut generated);
    assert_eq!(validate(info, &generated, None), Vec::<FieldError>::new());
    let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "default"},
        "spec": {"schedule": "* * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
            "containers": [{"name": "a", "image": "x"}]}}}}}});
    assert_eq!(
        check("batch", "cronjobs", cron, None),
        vec![
            "spec.schedule: Invalid value: \"* * *\": expected exactly 5 fields, found 3: [* * *]"
        ]
    );
}

#[test]
fn config_maps_and_secrets() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
        "data": {"bad key": "v", "ok.key": "v"}});
    assert_eq!(
        check("", "configmaps", cm, None),
        vec![
            "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        ]
    );
    let tls = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
        "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}});
    assert_eq!(
        check("", "secrets", tls, None),
        vec!["data[tls.key]: Required value"]
    );
    let frozen = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
        "immutable": true, "data": {"a": "eA=="}});
    let mut changed = frozen.clone();
    changed["data"]["a"] = json!("eQ==");
    assert_eq!(
        check("", "secrets", changed, Some(frozen)),
        vec!["data: Forbidden: field is immutable when `immutable` is set"]
    );
}

#[test]
fn services() {
    let svc = |spec: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"}, "spec": spec});
    assert_eq!(
        check("", "services", svc(json!({"ports": [{"port": 80}]})), None),
        Vec::<String>::new()
    );
    assert_eq!(
        check("", "services", svc(json!({})), None),
        vec!["spec.ports: Required value"]
    );
    assert_eq!(
        check("", "services", svc(json!({"clusterIP": "None"})), None),
        Vec::<String>::new()
    );
    assert_eq!(
        check(
            "",
            "services",
            svc(json!({"type": "Magic", "ports": [{"port": 0}]})),
            None
        ),
        vec![
            "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
        ]
    );
    let two = svc(json!({"ports": [{"port": 80}, {"port": 81, "name": "b"}]}));
    assert_eq!(
        check("", "services", two, None),
        vec!["spec.ports[0].name: Required value"]
    );
    let old = svc(json!({"clusterIP": "10.43.0.5", "ports": [{"port": 80}]}));
    let new = svc(json!({"clusterIP": "10.43.0.6", "ports": [{"port": 80}]}));
    assert_eq!(
        check("", "services", new, Some(old)),
        vec!["spec.clusterIPs[0]: Invalid value: [\"10.43.0.6\"]: may not change once set"]
    );
}

#[test]
fn cluster_objects() {
    let pc = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 2_000_000_000});
    assert_eq!(
        check("scheduling.k8s.io", "priorityclasses", pc, None),
        vec!["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]
    );
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "default"},
        "rules": [{"apiGroups": [""], "resources": ["pods"]}]});
    assert_eq!(
        check("rbac.authorization.k8s.io", "roles", role, None),
        vec!["rules[0].verbs: Required value: verbs must contain at least one value"]
    );
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
        "roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "ServiceAccount", "name": "sa"}]});
    assert_eq!(
        check(
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            binding,
            None
        ),
        vec![
            "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
            "subjects[0].namespace: Required value",
        ]
    );
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l", "namespace": "default"},
        "spec": {"leaseDurationSeconds": 0}});
    assert_eq!(
        check("coordination.k8s.io", "leases", lease, None),
        vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
    );
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}});
    assert_eq!(
        check("", "nodes", node, None),
        vec![
            "spec.taints[0].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
        ]
    );
}

#[test]
fn wrong_types_are_errors_not_panics() {
    let odd = [
        json!(null),
        json!([]),
        json!({"metadata": 5}),
        json!({"metadata": {"labels": {"a": 1}}}),
        json!({"spec": {"containers": "x"}}),
        json!({"spec": {"selector": 3, "template": []}}),
        json!({"data": {"a": "not base64!"}}),
        json!({"value": "high", "rules": {}, "roleRef": 1, "ports": 2}),
    ];
    for info in all() {
        for obj in &odd {
            validate(info, obj, None);
            validate(info, obj, Some(obj));
        }
        for obj in &odd[..4] {
            assert!(
                !validate(info, obj, None).is_empty(),
                "{} accepted {obj}",
                info.kind
            );
        }
    }
    let errs = check("", "pods", json!({"spec": {"containers": "x"}}), None);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].contains("invalid type: string \"x\", expected a sequence"),
        "{errs:?}"
    );
}
