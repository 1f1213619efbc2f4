use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::*;
use crate::resources;

/// The clock of every test: 2026-01-01T12:00:00Z.
fn now() -> Timestamp {
    "2026-01-01T12:00:00Z".parse().unwrap_or_default()
}

/// A timestamp `secs` seconds before [`now`].
fn ago(secs: i64) -> String {
    now()
        .checked_sub(SignedDuration::from_secs(secs))
        .unwrap_or_default()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Cells of an object as strings, for compact assertions.
fn strings(printer: Printer, obj: &Value) -> Vec<String> {
    printer
        .cells(obj, now())
        .into_iter()
        .map(|c| match c {
            Value::String(s) => s,
            other => other.to_string(),
        })
        .collect()
}

/// A pod created ten minutes ago with the given spec and status.
fn pod(spec: Value, status: Value) -> Value {
    json!({"metadata": {"name": "p", "creationTimestamp": ago(600)}, "spec": spec, "status": status})
}

fn one_container() -> Value {
    json!({"containers": [{"name": "c", "image": "busybox"}]})
}

/// NAME, READY, STATUS, RESTARTS, AGE of a pod row.
fn pod_head(obj: &Value) -> Vec<String> {
    strings(Printer::Pod, obj)[..5].to_vec()
}

#[test]
fn human_duration_follows_kubernetes() {
    let cases = [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (330, "5m30s"),
        (599, "9m59s"),
        (600, "10m"),
        (179 * 60 + 59, "179m"),
        (3 * 3600, "3h"),
        (7 * 3600 + 59 * 60, "7h59m"),
        (8 * 3600 + 30 * 60, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (3 * 86400 + 5 * 3600, "3d5h"),
        (8 * 86400 + 5 * 3600, "8d"),
        (729 * 86400, "729d"),
        (730 * 86400, "2y"),
        (3 * 365 * 86400 + 10 * 86400, "3y10d"),
        (9 * 365 * 86400 + 10 * 86400, "9y"),
    ];
    for (secs, want) in cases {
        assert_eq!(
            human_duration(SignedDuration::from_secs(secs)),
            want,
            "{secs}s"
        );
    }
    assert_eq!(human_duration(SignedDuration::from_millis(-1500)), "0s");
    assert_eq!(human_duration(SignedDuration::from_millis(59_999)), "59s");
}

#[test]
fn pending_and_running_pods() {
    let pending = pod(
        one_container(),
        json!({"phase": "Pending", "qosClass": "BestEffort"}),
    );
    assert_eq!(pod_head(&pending), ["p", "0/1", "Pending", "0", "10m"]);

    let creating = pod(
        one_container(),
        json!({"phase": "Pending", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
    );
    assert_eq!(
        pod_head(&creating),
        ["p", "0/1", "ContainerCreating", "0", "10m"]
    );

    let running = pod(
        json!({"nodeName": "n1", "containers": [{"name": "a"}, {"name": "b"}]}),
        json!({"phase": "Running", "podIP": "10.42.0.7", "podIPs": [{"ip": "10.42.0.7"}],
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": ago(500)}}},
                {"name": "b", "ready": false, "restartCount": 0, "state": {"running": {"startedAt": ago(500)}}}]}),
    );
    assert_eq!(
        strings(Printer::Pod, &running),
        [
            "p",
            "1/2",
            "Running",
            "0",
            "10m",
            "10.42.0.7",
            "n1",
            "<none>",
            "<none>"
        ]
    );
    assert_eq!(
        Printer::Pod.cells(&running, now()).len(),
        Printer::Pod.columns().len()
    );
}

#[test]
fn crash_looping_pod_shows_restarts_ago() {
    let crashing = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 5,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(300)}}}]}),
    );
    assert_eq!(
        pod_head(&crashing),
        ["p", "0/1", "CrashLoopBackOff", "5 (5m ago)", "10m"]
    );

    let no_finish = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [{"name": "c", "restartCount": 2,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 1}}}]}),
    );
    assert_eq!(pod_head(&no_finish)[3], "2");
}

#[test]
fn finished_pods_show_completed_or_error() {
    let done = pod(
        one_container(),
        json!({"phase": "Succeeded", "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": ago(60)}}}]}),
    );
    assert_eq!(pod_head(&done), ["p", "0/1", "Completed", "0", "10m"]);
    assert_eq!(
        Printer::Pod.conditions(&done),
        [
            json!({"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."})
        ]
    );

    let failed = pod(
        one_container(),
        json!({"phase": "Failed", "containerStatuses": [{"name": "c", "restartCount": 0,
            "state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}),
    );
    assert_eq!(pod_head(&failed)[2], "Error");
    assert_eq!(Printer::Pod.conditions(&failed)[0]["reason"], "Failed");

    let signalled = pod(
        one_container(),
        json!({"phase": "Failed", "containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}),
    );
    assert_eq!(pod_head(&signalled)[2], "Signal:9");
    let exit = pod(
        one_container(),
        json!({"phase": "Failed", "containerStatuses": [{"name": "c", "state": {"terminated": {"exitCode": 3}}}]}),
    );
    assert_eq!(pod_head(&exit)[2], "ExitCode:3");
    assert!(
        Printer::Pod
            .conditions(&pod(one_container(), json!({"phase": "Running"})))
            .is_empty()
    );
}

#[test]
fn completed_with_a_running_container_is_running_or_not_ready() {
    let status = |ready: &str| {
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": ready}], "containerStatuses": [
            {"name": "a", "ready": true, "state": {"running": {}}},
            {"name": "b", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]})
    };
    let spec = json!({"containers": [{"name": "a"}, {"name": "b"}]});
    assert_eq!(
        pod_head(&pod(spec.clone(), status("True")))[1..3],
        ["1/2", "Running"]
    );
    assert_eq!(
        pod_head(&pod(spec, status("False")))[1..3],
        ["1/2", "NotReady"]
    );
}

#[test]
fn init_containers() {
    let spec = json!({"initContainers": [{"name": "init"}], "containers": [{"name": "c"}]});
    let waiting = pod(
        spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [{"name": "init", "state": {"waiting": {"reason": "PodInitializing"}}}],
            "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "PodInitializing"}}}]}),
    );
    assert_eq!(pod_head(&waiting)[1..3], ["0/1", "Init:0/1"]);

    let running = pod(
        spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [{"name": "init", "state": {"running": {}}}]}),
    );
    assert_eq!(pod_head(&running)[2], "Init:0/1");

    let crashing = pod(
        spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [{"name": "init", "restartCount": 3,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(90)}}}]}),
    );
    assert_eq!(
        pod_head(&crashing)[2..4],
        ["Init:CrashLoopBackOff", "3 (90s ago)"]
    );

    let failed = pod(
        spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [{"name": "init", "state": {"terminated": {"exitCode": 1}}}]}),
    );
    assert_eq!(pod_head(&failed)[2], "Init:ExitCode:1");
    let errored = pod(
        spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [{"name": "init", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
    );
    assert_eq!(pod_head(&errored)[2], "Init:Error");

    let two =
        json!({"initContainers": [{"name": "a"}, {"name": "b"}], "containers": [{"name": "c"}]});
    let second = pod(
        two,
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "b", "state": {"running": {}}}]}),
    );
    assert_eq!(pod_head(&second)[2], "Init:1/2");

    let initialized = pod(
        spec,
        json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
            "initContainerStatuses": [{"name": "init", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
            "containerStatuses": [{"name": "c", "ready": true, "state": {"running": {}}}]}),
    );
    assert_eq!(pod_head(&initialized)[1..3], ["1/1", "Running"]);
}

#[test]
fn sidecar_init_containers_count_as_containers() {
    let spec = json!({"initContainers": [{"name": "side", "restartPolicy": "Always"}], "containers": [{"name": "c"}]});
    let status = json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
        "initContainerStatuses": [{"name": "side", "started": true, "ready": true, "restartCount": 1,
            "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(30)}}, "state": {"running": {}}}],
        "containerStatuses": [{"name": "c", "ready": true, "state": {"running": {}}}]});
    assert_eq!(
        pod_head(&pod(spec, status))[1..4],
        ["2/2", "Running", "1 (30s ago)"]
    );
}

#[test]
fn deleting_pods_are_terminating_unless_finished_or_node_lost() {
    let mut p = pod(one_container(), json!({"phase": "Running"}));
    p["metadata"]["deletionTimestamp"] = json!(ago(-30));
    assert_eq!(pod_head(&p)[2], "Terminating");
    p["status"] = json!({"phase": "Running", "reason": "NodeLost"});
    assert_eq!(pod_head(&p)[2], "Unknown");
    p["status"] = json!({"phase": "Succeeded"});
    assert_eq!(pod_head(&p)[2], "Succeeded");
}

#[test]
fn gated_pods_and_wide_cells() {
    let gated = pod(
        json!({"containers": [{"name": "c"}], "readinessGates": [{"conditionType": "x/a"}, {"conditionType": "x/b"}]}),
        json!({"phase": "Pending", "nominatedNodeName": "n2", "podIP": "10.0.0.9",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}, {"type": "x/a", "status": "True"}]}),
    );
    assert_eq!(
        strings(Printer::Pod, &gated)[2..],
        [
            "SchedulingGated",
            "0",
            "10m",
            "10.0.0.9",
            "<none>",
            "n2",
            "1/2"
        ]
    );
}

#[test]
fn ages_of_unset_and_future_timestamps() {
    assert_eq!(
        pod_head(&json!({"metadata": {"name": "x"}}))[4],
        "<unknown>"
    );
    let future = json!({"metadata": {"name": "x", "creationTimestamp": ago(-60)}});
    assert_eq!(strings(Printer::ConfigMap, &future)[2], "<invalid>");
    let micro =
        json!({"metadata": {"name": "x", "creationTimestamp": "2026-01-01T11:59:30.123456Z"}});
    assert_eq!(strings(Printer::ConfigMap, &micro)[2], "29s");
}

#[test]
fn service_ports_and_addresses() {
    let svc = |spec: Value| json!({"metadata": {"name": "s", "creationTimestamp": ago(3600)}, "spec": spec});
    let cluster_ip = svc(
        json!({"type": "ClusterIP", "clusterIP": "10.43.0.10", "clusterIPs": ["10.43.0.10"],
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}, {"port": 9153}], "selector": {"k8s-app": "kube-dns", "a": "b"}}),
    );
    assert_eq!(
        strings(Printer::Service, &cluster_ip),
        [
            "s",
            "ClusterIP",
            "10.43.0.10",
            "<none>",
            "53/UDP,53/TCP,9153/TCP",
            "60m",
            "a=b,k8s-app=kube-dns"
        ]
    );

    let node_port = svc(
        json!({"type": "NodePort", "clusterIPs": ["10.43.0.20"], "externalIPs": ["1.2.3.4"], "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}),
    );
    assert_eq!(
        strings(Printer::Service, &node_port)[1..5],
        ["NodePort", "10.43.0.20", "1.2.3.4", "80:30080/TCP"]
    );

    let pending = svc(json!({"type": "LoadBalancer", "clusterIP": "10.43.0.30", "ports": []}));
    assert_eq!(
        strings(Printer::Service, &pending)[3..5],
        ["<pending>", "<none>"]
    );
    let balanced = svc(json!({"type": "LoadBalancer", "externalIPs": ["9.9.9.9"]}));
    let mut with_status = balanced.clone();
    with_status["status"] = json!({"loadBalancer": {"ingress": [{"ip": "5.5.5.5"}, {"hostname": "lb.example.com"}, {"ip": "5.5.5.5"}]}});
    assert_eq!(
        strings(Printer::Service, &with_status)[3],
        "5.5.5.5,lb.example.com,9.9.9.9"
    );
    assert_eq!(strings(Printer::Service, &balanced)[2], "<none>");

    let external = svc(json!({"type": "ExternalName", "externalName": "example.com"}));
    assert_eq!(
        strings(Printer::Service, &external)[1..4],
        ["ExternalName", "<none>", "example.com"]
    );
    assert_eq!(strings(Printer::Service, &svc(json!({})))[3], "<unknown>");
}

#[test]
fn endpoints_and_slices() {
    let ep = json!({"metadata": {"name": "e"}, "subsets": [
        {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]},
        {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]});
    assert_eq!(
        strings(Printer::Endpoints, &ep)[1],
        "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more..."
    );
    let headless = json!({"subsets": [{"addresses": [{"ip": "fd00::1"}]}]});
    assert_eq!(strings(Printer::Endpoints, &headless)[1], "fd00::1");
    let v6 = json!({"subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 8080}]}]});
    assert_eq!(strings(Printer::Endpoints, &v6)[1], "[fd00::1]:8080");
    assert_eq!(strings(Printer::Endpoints, &json!({}))[1], "<none>");

    let slice = json!({"metadata": {"name": "s"}, "addressType": "IPv4",
        "ports": [{"port": 80}, {"name": "dns"}, {}, {"port": 1}],
        "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]}]});
    assert_eq!(
        strings(Printer::EndpointSlice, &slice)[1..4],
        ["IPv4", "80,dns,* + 1 more...", "10.0.0.1,10.0.0.2,10.0.0.3"]
    );
    assert_eq!(
        strings(Printer::EndpointSlice, &json!({"addressType": "IPv4"}))[2..4],
        ["<unset>", "<unset>"]
    );
}

#[test]
fn nodes() {
    let node = json!({
        "metadata": {"name": "n1", "creationTimestamp": ago(86400 * 3), "labels": {
            "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": "", "kubernetes.io/role": "edge", "node-role.kubernetes.io/": "x"}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
            "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "192.168.1.5"}],
            "nodeInfo": {"kubeletVersion": "v1.37.0", "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://1.6.20"}}
    });
    assert_eq!(
        strings(Printer::Node, &node),
        [
            "n1",
            "Ready,SchedulingDisabled",
            "control-plane,edge,master",
            "3d",
            "v1.37.0",
            "192.168.1.5",
            "<none>",
            "Debian GNU/Linux 12 (bookworm)",
            "6.1.0",
            "containerd://1.6.20"
        ]
    );
    let bare = json!({"metadata": {"name": "n2"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
    assert_eq!(
        strings(Printer::Node, &bare)[1..],
        [
            "NotReady",
            "<none>",
            "<unknown>",
            "",
            "<none>",
            "<none>",
            "<unknown>",
            "<unknown>",
            "<unknown>"
        ]
    );
    assert_eq!(strings(Printer::Node, &json!({}))[1], "Unknown");
}

#[test]
fn workload_controllers() {
    let template = json!({"spec": {"containers": [{"name": "a", "image": "busybox"}, {"name": "b", "image": "nginx:1"}], "nodeSelector": {"disk": "ssd"}}});
    let deploy = json!({"metadata": {"name": "d", "creationTimestamp": ago(45)},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "d"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}, {"key": "canary", "operator": "DoesNotExist"}]}, "template": template},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
    assert_eq!(
        strings(Printer::Deployment, &deploy),
        [
            "d",
            "2/3",
            "3",
            "2",
            "45s",
            "a,b",
            "busybox,nginx:1",
            "app=d,!canary,tier in (api,web)"
        ]
    );
    let bad =
        json!({"spec": {"selector": {"matchExpressions": [{"key": "k", "operator": "Near"}]}}});
    assert_eq!(strings(Printer::Deployment, &bad)[1], "0/1");
    assert_eq!(strings(Printer::Deployment, &bad)[7], "<invalid>");
    assert_eq!(strings(Printer::ReplicaSet, &bad)[7], "<error>");

    let rs = json!({"metadata": {"name": "rs"}, "spec": {"replicas": 2, "template": template}, "status": {"replicas": 2, "readyReplicas": 1}});
    assert_eq!(strings(Printer::ReplicaSet, &rs)[1..4], ["2", "2", "1"]);
    assert_eq!(strings(Printer::ReplicaSet, &rs)[7], "<none>");

    let ds = json!({"metadata": {"name": "ds"}, "spec": {"selector": {"matchLabels": {"app": "ds"}}, "template": template},
        "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 3, "numberAvailable": 2}});
    assert_eq!(
        strings(Printer::DaemonSet, &ds)[1..7],
        ["3", "3", "2", "3", "2", "disk=ssd"]
    );
    assert_eq!(strings(Printer::DaemonSet, &ds)[10], "app=ds");

    let sts = json!({"metadata": {"name": "web"}, "spec": {"replicas": 2, "template": template}, "status": {"readyReplicas": 2}});
    assert_eq!(strings(Printer::StatefulSet, &sts)[1], "2/2");
    assert_eq!(
        strings(Printer::StatefulSet, &sts)[2..],
        ["<unknown>", "a,b", "busybox,nginx:1"]
    );
}

#[test]
fn jobs_and_cronjobs() {
    let job = |spec: Value, status: Value| json!({"metadata": {"name": "j", "creationTimestamp": ago(600)}, "spec": spec, "status": status});
    let done = job(
        json!({"completions": 1, "parallelism": 1, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}}}),
        json!({"succeeded": 1, "startTime": ago(600), "completionTime": ago(590), "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}),
    );
    assert_eq!(
        strings(Printer::Job, &done)[1..5],
        ["Complete", "1/1", "10s", "10m"]
    );
    assert_eq!(
        strings(Printer::Job, &done)[7],
        "batch.kubernetes.io/controller-uid=u"
    );
    let running = job(json!({"parallelism": 3}), json!({"startTime": ago(125)}));
    assert_eq!(
        strings(Printer::Job, &running)[1..4],
        ["Running", "0/1 of 3", "2m5s"]
    );
    let unstarted = job(json!({}), json!({}));
    assert_eq!(
        strings(Printer::Job, &unstarted)[1..4],
        ["Running", "0/1", ""]
    );
    let failed = job(
        json!({"completions": 2}),
        json!({"conditions": [{"type": "Failed", "status": "True"}]}),
    );
    assert_eq!(strings(Printer::Job, &failed)[1..3], ["Failed", "0/2"]);
    let suspended = job(
        json!({}),
        json!({"conditions": [{"type": "Suspended", "status": "True"}]}),
    );
    assert_eq!(strings(Printer::Job, &suspended)[1], "Suspended");

    let cj = json!({"metadata": {"name": "cj", "creationTimestamp": ago(7200)},
        "spec": {"schedule": "*/5 * * * *", "suspend": false, "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}},
        "status": {"active": [{"name": "j1"}], "lastScheduleTime": ago(120)}});
    assert_eq!(
        strings(Printer::CronJob, &cj),
        [
            "cj",
            "*/5 * * * *",
            "<none>",
            "False",
            "1",
            "2m",
            "120m",
            "c",
            "busybox",
            "<none>"
        ]
    );
    let never = json!({"spec": {"schedule": "@daily", "timeZone": "Etc/UTC"}});
    assert_eq!(
        strings(Printer::CronJob, &never)[2..6],
        ["Etc/UTC", "<unset>", "0", "<none>"]
    );
}

#[test]
fn config_events_and_the_rest() {
    let cm = json!({"metadata": {"name": "cm"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
    assert_eq!(strings(Printer::ConfigMap, &cm)[1], "3");
    let secret = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "MQ=="}});
    assert_eq!(strings(Printer::Secret, &secret)[1..3], ["Opaque", "1"]);
    assert_eq!(
        strings(
            Printer::ServiceAccount,
            &json!({"secrets": [{"name": "t"}]})
        )[1],
        "1"
    );
    assert_eq!(
        strings(
            Printer::Namespace,
            &json!({"metadata": {"name": "ns"}, "status": {"phase": "Terminating"}})
        )[1],
        "Terminating"
    );
    assert_eq!(
        strings(
            Printer::Lease,
            &json!({"spec": {"holderIdentity": "node-1"}})
        )[1],
        "node-1"
    );
    assert_eq!(
        strings(
            Printer::PriorityClass,
            &json!({"metadata": {"name": "high"}, "value": 1000, "preemptionPolicy": "Never"})
        ),
        ["high", "1000", "false", "<unknown>", "Never"]
    );

    let rb = json!({"metadata": {"name": "rb"}, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [
        {"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"}, {"kind": "Group", "name": "devs"},
        {"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}, {"kind": "Robot", "name": "r"}]});
    assert_eq!(
        strings(Printer::RoleBinding, &rb)[1..],
        [
            "ClusterRole/view",
            "<unknown>",
            "alice, bob",
            "devs",
            "ns/sa"
        ]
    );

    let owned = json!({"metadata": {"name": "web-5d4f", "ownerReferences": [
        {"apiVersion": "v1", "kind": "Pod", "name": "x"}, {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": true}]}, "revision": 2});
    assert_eq!(
        strings(Printer::ControllerRevision, &owned)[1..3],
        ["statefulset.apps/web", "2"]
    );
    assert_eq!(
        strings(Printer::ControllerRevision, &json!({}))[1],
        "<none>"
    );
    let pdb = json!({"metadata": {"name": "pdb"}, "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
    assert_eq!(
        strings(Printer::PodDisruptionBudget, &pdb)[1..4],
        ["50%", "N/A", "1"]
    );
    let scale =
        json!({"metadata": {"name": "d"}, "spec": {"replicas": 3}, "status": {"replicas": 2}});
    assert_eq!(strings(Printer::Scale, &scale)[1..3], ["3", "2"]);
    assert_eq!(Printer::Scale.columns()[0].format, "");

    let role = json!({"metadata": {"name": "r", "creationTimestamp": "2026-01-01T10:00:00.5Z"}});
    assert_eq!(
        strings(Printer::Default, &role),
        ["r", "2026-01-01T10:00:00Z"]
    );
    assert_eq!(
        strings(Printer::Default, &json!({}))[1],
        "0001-01-01T00:00:00Z"
    );
}

#[test]
fn events_of_both_apis() {
    let core = json!({"metadata": {"name": "p.1"}, "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
        "reason": "Pulled", "message": " pulled \n", "type": "Normal", "source": {"component": "kubelet", "host": "n1"},
        "firstTimestamp": ago(600), "lastTimestamp": ago(60), "count": 4});
    assert_eq!(
        strings(Printer::Event, &core),
        [
            "60s",
            "Normal",
            "Pulled",
            "pod/p",
            "spec.containers{c}",
            "kubelet, n1",
            "pulled",
            "10m",
            "4",
            "p.1"
        ]
    );
    let fresh = json!({"involvedObject": {"kind": "Node"}, "eventTime": ago(5), "reportingComponent": "sched"});
    assert_eq!(
        strings(Printer::Event, &fresh)[..9],
        ["5s", "", "", "node", "", "sched", "", "5s", "1"]
    );
    let series = json!({"regarding": {"kind": "Pod", "name": "q"}, "note": "n", "eventTime": ago(300), "reportingController": "ctl", "reportingInstance": "i",
        "series": {"count": 7, "lastObservedTime": ago(10)}});
    assert_eq!(
        strings(Printer::Event, &series)[..9],
        ["10s", "", "", "pod/q", "", "ctl, i", "n", "5m", "7"]
    );
    assert_eq!(Printer::Event.columns()[9].format, "name");
}

#[test]
fn every_served_resource_prints_a_row_per_column_for_any_shape() {
    let shapes = [
        json!(null),
        json!([]),
        json!("x"),
        json!(7),
        json!({}),
        json!({"metadata": [], "spec": "x", "status": 3}),
        json!({"metadata": {"name": 5, "creationTimestamp": "garbage", "labels": [], "deletionTimestamp": 1},
            "spec": {"containers": "x", "initContainers": [null, 1], "replicas": "3", "selector": [], "ports": [{"port": "x"}, null]},
            "status": {"containerStatuses": [null, {"state": []}], "initContainerStatuses": [{"state": {"terminated": {}}}], "conditions": "x",
                "podIPs": [], "addresses": {}, "loadBalancer": []},
            "subsets": [{"addresses": "x", "ports": [1]}], "endpoints": [{"addresses": [1, null]}], "series": {}, "subjects": [null]}),
    ];
    for info in resources::all() {
        let printer = Printer::for_resource(info);
        for shape in &shapes {
            assert_eq!(
                printer.cells(shape, now()).len(),
                printer.columns().len(),
                "{} {shape}",
                info.plural
            );
        }
        assert_eq!(
            columns(info).iter().filter(|c| c.format == "name").count(),
            1,
            "{}",
            info.plural
        );
        assert_eq!(row(info, &json!({}), now()).len(), columns(info).len());
    }
    assert_eq!(
        Printer::Scale.cells(&json!(null), now()).len(),
        Printer::Scale.columns().len()
    );
}

#[test]
fn printers_by_resource() {
    let of = |group: &str, plural: &str| {
        resources::lookup(group, "v1", plural).map(Printer::for_resource)
    };
    assert_eq!(of("", "pods"), Some(Printer::Pod));
    assert_eq!(of("events.k8s.io", "events"), Some(Printer::Event));
    assert_eq!(
        of("rbac.authorization.k8s.io", "clusterrolebindings"),
        Some(Printer::RoleBinding)
    );
    assert_eq!(
        of("rbac.authorization.k8s.io", "roles"),
        Some(Printer::Default)
    );
    let names: Vec<&str> = Printer::Pod.columns().iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    assert_eq!(
        Printer::Pod
            .columns()
            .iter()
            .filter(|c| c.priority == 1)
            .count(),
        4
    );
    let definition = Printer::Default.columns()[1].to_json();
    assert_eq!(
        (
            definition["name"].as_str(),
            definition["type"].as_str(),
            definition["priority"].as_i64()
        ),
        (Some("Created At"), Some("date"), Some(0))
    );
}
