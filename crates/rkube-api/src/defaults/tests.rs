use serde_json::{Value, json};

use super::*;
use crate::resources::lookup;

fn defaulted(group: &str, plural: &str, mut obj: Value) -> Value {
    if let Some(info) = lookup(group, "v1", plural) {
        apply(info, &mut obj);
    }
    obj
}

#[test]
fn pod_gets_kubernetes_defaults() {
    let pod = defaulted(
        "",
        "pods",
        json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [
                {"name": "a", "image": "busybox", "ports": [{"containerPort": 80}],
                 "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                 "livenessProbe": {"httpGet": {"port": 80}},
                 "resources": {"limits": {"cpu": "1"}}},
                {"name": "b", "image": "rkube.test/busybox:1", "imagePullPolicy": "Never"},
                {"name": "c", "image": "nginx@sha256:abc"}
            ],
            "volumes": [{"name": "v"}, {"name": "cm", "configMap": {"name": "x"}}]}
        }),
    );
    let spec = &pod["spec"];
    assert_eq!(spec["restartPolicy"], "Always");
    assert_eq!(spec["dnsPolicy"], "ClusterFirst");
    assert_eq!(spec["terminationGracePeriodSeconds"], 30);
    assert_eq!(spec["schedulerName"], "default-scheduler");
    assert_eq!(spec["securityContext"], json!({}));
    assert_eq!(spec["enableServiceLinks"], true);
    assert_eq!(spec["priority"], 0);
    assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
    let a = &spec["containers"][0];
    assert_eq!(a["imagePullPolicy"], "Always");
    assert_eq!(a["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(a["terminationMessagePolicy"], "File");
    assert_eq!(a["ports"][0]["protocol"], "TCP");
    assert_eq!(a["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
    assert_eq!(
        a["livenessProbe"],
        json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(a["resources"]["requests"], json!({"cpu": "1"}));
    assert_eq!(spec["containers"][1]["imagePullPolicy"], "Never");
    assert_eq!(spec["containers"][1]["resources"], json!({}));
    assert_eq!(spec["containers"][2]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(spec["volumes"][0]["emptyDir"], json!({}));
    assert_eq!(spec["volumes"][1]["configMap"]["defaultMode"], 420);
}

#[test]
fn pull_policy_follows_the_tag() {
    assert_eq!(pod::pull_policy("busybox"), "Always");
    assert_eq!(pod::pull_policy("busybox:latest"), "Always");
    assert_eq!(pod::pull_policy("localhost:5000/busybox"), "Always");
    assert_eq!(
        pod::pull_policy("localhost:5000/busybox:1.36"),
        "IfNotPresent"
    );
    assert_eq!(pod::pull_policy("Busybox"), "IfNotPresent");
    assert_eq!(pod::pull_policy(""), "IfNotPresent");
}

#[test]
fn defaults_never_overwrite_client_values() {
    let pod = defaulted(
        "",
        "pods",
        json!({"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "a", "image": "x", "livenessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 3}}]}}),
    );
    assert_eq!(pod["spec"]["restartPolicy"], "Never");
    assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], 0);
    assert_eq!(
        pod["spec"]["containers"][0]["livenessProbe"]["periodSeconds"],
        3
    );
}

#[test]
fn workloads_get_their_defaults() {
    let d = defaulted(
        "apps",
        "deployments",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x:1"}]}}}}),
    );
    assert_eq!(d["spec"]["replicas"], 1);
    assert_eq!(
        d["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
    assert_eq!(d["spec"]["template"]["spec"]["restartPolicy"], "Always");
    assert!(
        d["spec"]["template"]["spec"]
            .get("enableServiceLinks")
            .is_none()
    );
    let ds = defaulted("apps", "daemonsets", json!({"spec": {}}));
    assert_eq!(
        ds["spec"]["updateStrategy"]["rollingUpdate"],
        json!({"maxUnavailable": 1, "maxSurge": 0})
    );
    let sts = defaulted("apps", "statefulsets", json!({"spec": {}}));
    assert_eq!(
        sts["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(sts["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        sts["spec"]["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
}

#[test]
fn jobs_and_cronjobs() {
    let job = defaulted(
        "batch",
        "jobs",
        json!({"metadata": {"name": "j"},
        "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"restartPolicy": "Never"}}}}),
    );
    let spec = &job["spec"];
    for (k, v) in [
        ("completions", json!(1)),
        ("parallelism", json!(1)),
        ("backoffLimit", json!(6)),
        ("completionMode", json!("NonIndexed")),
        ("suspend", json!(false)),
        ("podReplacementPolicy", json!("TerminatingOrFailed")),
        ("manualSelector", json!(false)),
    ] {
        assert_eq!(spec[k], v, "{k}");
    }
    assert_eq!(job["metadata"]["labels"], json!({"a": "b"}));
    let parallel = defaulted("batch", "jobs", json!({"spec": {"parallelism": 3}}));
    assert!(parallel["spec"].get("completions").is_none());
    let cj = defaulted(
        "batch",
        "cronjobs",
        json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}}),
    );
    assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
    assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
    assert_eq!(cj["spec"]["failedJobsHistoryLimit"], 1);
    assert!(
        cj["spec"]["jobTemplate"]["spec"]
            .get("backoffLimit")
            .is_none()
    );
}

#[test]
fn services() {
    let svc = defaulted(
        "",
        "services",
        json!({"spec": {"selector": {"a": "b"}, "ports": [{"port": 80}]}}),
    );
    let spec = &svc["spec"];
    assert_eq!(spec["type"], "ClusterIP");
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(
        spec["ports"][0],
        json!({"port": 80, "protocol": "TCP", "targetPort": 80})
    );
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
    assert!(spec.get("externalTrafficPolicy").is_none());
    let lb = defaulted(
        "",
        "services",
        json!({"spec": {"type": "LoadBalancer", "clusterIP": "10.43.0.5"}}),
    );
    assert_eq!(lb["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
    assert_eq!(lb["spec"]["clusterIPs"], json!(["10.43.0.5"]));
    let ext = defaulted(
        "",
        "services",
        json!({"spec": {"type": "ExternalName", "externalName": "a.b"}}),
    );
    assert!(ext["spec"].get("ipFamilies").is_none());
    let sticky = defaulted(
        "",
        "services",
        json!({"spec": {"sessionAffinity": "ClientIP"}}),
    );
    assert_eq!(
        sticky["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
        10800
    );
}

#[test]
fn small_kinds() {
    let secret = defaulted(
        "",
        "secrets",
        json!({"stringData": {"a": "hello", "b": "hi!?"}, "data": {"c": "eA=="}}),
    );
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(
        secret["data"],
        json!({"a": "aGVsbG8=", "b": "aGkhPw==", "c": "eA=="})
    );
    assert!(secret.get("stringData").is_none());
    let ns = defaulted("", "namespaces", json!({"metadata": {"name": "dev"}}));
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "dev"
    );
    assert_eq!(ns["status"]["phase"], "Active");
    let rb = defaulted(
        "rbac.authorization.k8s.io",
        "rolebindings",
        json!({"roleRef": {"kind": "Role", "name": "r"},
        "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "s"}]}),
    );
    assert_eq!(rb["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
    assert_eq!(rb["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
    assert!(rb["subjects"][1].get("apiGroup").is_none());
    let pc = defaulted("scheduling.k8s.io", "priorityclasses", json!({"value": 5}));
    assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");
    let es = defaulted(
        "discovery.k8s.io",
        "endpointslices",
        json!({"ports": [{"port": 80}]}),
    );
    assert_eq!(
        es["ports"][0],
        json!({"port": 80, "name": "", "protocol": "TCP"})
    );
}

#[test]
fn namespace_finalizer_on_create_only() {
    let Some(info) = lookup("", "v1", "namespaces") else {
        return;
    };
    let mut ns = json!({"metadata": {"name": "dev"}});
    prepare_for_create(info, &mut ns);
    prepare_for_create(info, &mut ns);
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
}

#[test]
fn job_selector_is_generated_on_create() {
    let Some(info) = lookup("batch", "v1", "jobs") else {
        return;
    };
    let mut job =
        json!({"metadata": {"name": "pi", "uid": "u-1"}, "spec": {"template": {"spec": {}}}});
    apply(info, &mut job);
    prepare_for_create(info, &mut job);
    assert_eq!(
        job["spec"]["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
    );
    assert_eq!(
        job["spec"]["template"]["metadata"]["labels"],
        json!({"job-name": "pi", "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "u-1", "batch.kubernetes.io/controller-uid": "u-1"})
    );
    assert!(job["metadata"].get("labels").is_none());
    let mut manual =
        json!({"metadata": {"name": "pi", "uid": "u-1"}, "spec": {"manualSelector": true}});
    prepare_for_create(info, &mut manual);
    assert!(manual["spec"].get("selector").is_none());
}

#[test]
fn odd_shapes_do_not_panic() {
    for obj in [
        json!(null),
        json!([1]),
        json!({"spec": 5}),
        json!({"spec": {"containers": "x", "volumes": [1, null]}}),
        json!({"spec": {"template": []}}),
        json!({"stringData": {"a": 1}}),
        json!({"status": {"capacity": 3}}),
    ] {
        for info in crate::resources::all() {
            let mut o = obj.clone();
            apply(info, &mut o);
            prepare_for_create(info, &mut o);
        }
    }
}
