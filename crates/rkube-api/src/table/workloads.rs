//! Printers of pods and the workload kinds that manage them.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::format::{
    age, containers, format_label_selector, format_labels, human_duration, int, int_or_string,
    is_set, items, selector_string, since, text, timestamp,
};
use super::{AGE, CONTAINERS, Column, IMAGES, NAME, col, name, wide};

const SELECTOR_DOC: &str = "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";

pub(super) const POD_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Ready",
        "string",
        "The aggregate readiness state of this pod for accepting traffic.",
    ),
    col(
        "Status",
        "string",
        "The aggregate status of the containers in this pod.",
    ),
    col(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    wide(
        "IP",
        "string",
        "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
    ),
    wide(
        "Node",
        "string",
        "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
    ),
    wide(
        "Nominated Node",
        "string",
        "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
    ),
    wide(
        "Readiness Gates",
        "string",
        "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
    ),
];

pub(super) const DEPLOYMENT_COLUMNS: &[Column] = &[
    NAME,
    col("Ready", "string", "Number of the pod with ready state"),
    col(
        "Up-to-date",
        "string",
        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    ),
    col(
        "Available",
        "string",
        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wide(
        "Selector",
        "string",
        "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
    ),
];

pub(super) const REPLICASET_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Desired",
        "integer",
        "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
    ),
    col(
        "Current",
        "integer",
        "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller",
    ),
    col(
        "Ready",
        "integer",
        "The number of ready replicas for this replica set.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", SELECTOR_DOC),
];

pub(super) const DAEMONSET_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Desired",
        "integer",
        "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    ),
    col(
        "Current",
        "integer",
        "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    ),
    col(
        "Ready",
        "integer",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
    ),
    col(
        "Up-to-date",
        "integer",
        "The total number of nodes that are running updated daemon pod",
    ),
    col(
        "Available",
        "integer",
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
    ),
    col(
        "Node Selector",
        "string",
        "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wide(
        "Selector",
        "string",
        "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
];

pub(super) const STATEFULSET_COLUMNS: &[Column] = &[
    NAME,
    col("Ready", "string", "Number of the pod with ready state"),
    AGE,
    CONTAINERS,
    IMAGES,
];

const JOB_SELECTOR: Column = wide(
    "Selector",
    "string",
    "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
);

pub(super) const JOB_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", "Status of the job."),
    col(
        "Completions",
        "string",
        "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.",
    ),
    col("Duration", "string", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    JOB_SELECTOR,
];

pub(super) const CRONJOB_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Schedule",
        "string",
        "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
    ),
    col(
        "Timezone",
        "string",
        "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones",
    ),
    col(
        "Suspend",
        "boolean",
        "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions. Defaults to false.",
    ),
    col(
        "Active",
        "integer",
        "A list of pointers to currently running jobs.",
    ),
    col(
        "Last Schedule",
        "string",
        "Information when was the last time the job was successfully scheduled.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    JOB_SELECTOR,
];

pub(super) const CONTROLLER_REVISION_COLUMNS: &[Column] = &[
    NAME,
    col("Controller", "string", "Controller of the object"),
    col(
        "Revision",
        "string",
        "Revision indicates the revision of the state represented by Data.",
    ),
    AGE,
];

pub(super) const PDB_COLUMNS: &[Column] = &[
    NAME,
    col(
        "Min Available",
        "string",
        "The minimum number of pods that must be available.",
    ),
    col(
        "Max Unavailable",
        "string",
        "The maximum number of pods that may be unavailable.",
    ),
    col(
        "Allowed Disruptions",
        "integer",
        "Calculated number of pods that may be disrupted at this time.",
    ),
    AGE,
];

pub(super) const SCALE_COLUMNS: &[Column] = &[
    Column { format: "", ..NAME },
    col(
        "Desired",
        "integer",
        "replicas is the desired number of instances for the scaled object.",
    ),
    col(
        "Available",
        "integer",
        "replicas is the actual number of observed instances of the scaled object.",
    ),
    AGE,
];

/// Why a pod is where it is, its readiness and restarts, as `printPod` computes them.
struct PodSummary {
    ready: i64,
    total: i64,
    reason: String,
    restarts: i64,
    last_restart: Option<Timestamp>,
}

/// A container status's termination time from its last state, if later than `latest`.
fn later_restart(status: &Value, latest: Option<Timestamp>) -> Option<Timestamp> {
    let finished = timestamp(&status["lastState"]["terminated"]["finishedAt"]);
    match (latest, finished) {
        (Some(l), Some(f)) if f > l => Some(f),
        (None, f) => f,
        (l, _) => l,
    }
}

fn condition_true(status: &Value, kind: &str) -> bool {
    items(&status["conditions"])
        .iter()
        .any(|c| c["type"] == kind && c["status"] == "True")
}

/// `isPodInitializedConditionTrue`: the first `Initialized` condition is True.
fn initialized(status: &Value) -> bool {
    items(&status["conditions"])
        .iter()
        .find(|c| c["type"] == "Initialized")
        .is_some_and(|c| c["status"] == "True")
}

/// Exit reason of a terminated state without one: `Signal:N` or `ExitCode:N`.
fn exit_reason(terminated: &Value) -> String {
    match int(&terminated["signal"]) {
        0 => format!("ExitCode:{}", int(&terminated["exitCode"])),
        signal => format!("Signal:{signal}"),
    }
}

fn summarize_pod(pod: &Value) -> PodSummary {
    let spec = &pod["spec"];
    let status = &pod["status"];
    let init_specs = items(&spec["initContainers"]);
    let restartable = |name: &str| {
        init_specs
            .iter()
            .any(|c| text(&c["name"]) == name && text(&c["restartPolicy"]) == "Always")
    };
    let mut total = i64::try_from(items(&spec["containers"]).len()).unwrap_or(i64::MAX);
    total += i64::try_from(
        init_specs
            .iter()
            .filter(|c| text(&c["restartPolicy"]) == "Always")
            .count(),
    )
    .unwrap_or_default();
    let mut ready = 0;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart = None;
    let mut sidecar_last_restart = None;

    let mut reason = text(&status["phase"]).to_string();
    if !text(&status["reason"]).is_empty() {
        reason = text(&status["reason"]).to_string();
    }
    if items(&status["conditions"])
        .iter()
        .any(|c| c["type"] == "PodScheduled" && c["reason"] == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }

    let mut initializing = false;
    for (i, c) in items(&status["initContainerStatuses"]).iter().enumerate() {
        restarts = restarts.saturating_add(int(&c["restartCount"]));
        last_restart = later_restart(c, last_restart);
        let is_sidecar = restartable(text(&c["name"]));
        if is_sidecar {
            sidecar_restarts = sidecar_restarts.saturating_add(int(&c["restartCount"]));
            sidecar_last_restart = later_restart(c, sidecar_last_restart);
        }
        let terminated = &c["state"]["terminated"];
        let waiting_reason = text(&c["state"]["waiting"]["reason"]);
        if is_set(terminated) && int(&terminated["exitCode"]) == 0 {
            continue;
        }
        if is_sidecar && c["started"] == true {
            if c["ready"] == true {
                ready += 1;
            }
            continue;
        }
        reason = if is_set(terminated) {
            match text(&terminated["reason"]) {
                "" => format!("Init:{}", exit_reason(terminated)),
                r => format!("Init:{r}"),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }

    if !initializing || initialized(status) {
        restarts = sidecar_restarts;
        last_restart = sidecar_last_restart;
        let mut has_running = false;
        for c in items(&status["containerStatuses"]).iter().rev() {
            restarts = restarts.saturating_add(int(&c["restartCount"]));
            last_restart = later_restart(c, last_restart);
            let state = &c["state"];
            let waiting_reason = text(&state["waiting"]["reason"]);
            let terminated = &state["terminated"];
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if is_set(terminated) && !text(&terminated["reason"]).is_empty() {
                reason = text(&terminated["reason"]).to_string();
            } else if is_set(terminated) {
                reason = exit_reason(terminated);
            } else if c["ready"] == true && is_set(&state["running"]) {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(status, "Ready") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }

    let deleting = is_set(&pod["metadata"]["deletionTimestamp"]);
    let phase = text(&status["phase"]);
    if deleting && text(&status["reason"]) == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }
    PodSummary {
        ready,
        total,
        reason,
        restarts,
        last_restart,
    }
}

pub(super) fn pod(obj: &Value, now: Timestamp) -> Vec<Value> {
    let s = summarize_pod(obj);
    let restarts = match s.last_restart {
        Some(t) if s.restarts != 0 => format!(
            "{} ({} ago)",
            s.restarts,
            human_duration(now.duration_since(t))
        ),
        _ => s.restarts.to_string(),
    };
    let spec = &obj["spec"];
    let status = &obj["status"];
    let ip = items(&status["podIPs"])
        .first()
        .map_or_else(|| text(&status["podIP"]), |p| text(&p["ip"]));
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    let gates = items(&spec["readinessGates"]);
    let readiness = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let conditions = items(&status["conditions"]);
        let passed = gates
            .iter()
            .filter(|g| {
                conditions
                    .iter()
                    .find(|c| c["type"] == g["conditionType"])
                    .is_some_and(|c| c["status"] == "True")
            })
            .count();
        format!("{passed}/{}", gates.len())
    };
    vec![
        name(obj),
        json!(format!("{}/{}", s.ready, s.total)),
        json!(s.reason),
        json!(restarts),
        json!(age(obj, now)),
        json!(or_none(ip)),
        json!(or_none(text(&spec["nodeName"]))),
        json!(or_none(text(&status["nominatedNodeName"]))),
        json!(readiness),
    ]
}

pub(super) fn pod_conditions(obj: &Value) -> Vec<Value> {
    let (reason, message) = match text(&obj["status"]["phase"]) {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return Vec::new(),
    };
    vec![json!({ "type": "Completed", "status": "True", "reason": reason, "message": message })]
}

/// `spec.replicas` of an apps/v1 object; absent means the default of 1.
fn desired(obj: &Value) -> i64 {
    obj["spec"]["replicas"].as_i64().unwrap_or(1)
}

pub(super) fn deployment(obj: &Value, now: Timestamp) -> Vec<Value> {
    let status = &obj["status"];
    let (names, images) = containers(&obj["spec"]["template"]["spec"]);
    let selector = selector_string(&obj["spec"]["selector"]).unwrap_or_else(|| "<invalid>".into());
    vec![
        name(obj),
        json!(format!(
            "{}/{}",
            int(&status["readyReplicas"]),
            desired(obj)
        )),
        json!(int(&status["updatedReplicas"])),
        json!(int(&status["availableReplicas"])),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(selector),
    ]
}

pub(super) fn replicaset(obj: &Value, now: Timestamp) -> Vec<Value> {
    let status = &obj["status"];
    let (names, images) = containers(&obj["spec"]["template"]["spec"]);
    vec![
        name(obj),
        json!(desired(obj)),
        json!(int(&status["replicas"])),
        json!(int(&status["readyReplicas"])),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(&obj["spec"]["selector"])),
    ]
}

pub(super) fn daemonset(obj: &Value, now: Timestamp) -> Vec<Value> {
    let status = &obj["status"];
    let template = &obj["spec"]["template"]["spec"];
    let (names, images) = containers(template);
    vec![
        name(obj),
        json!(int(&status["desiredNumberScheduled"])),
        json!(int(&status["currentNumberScheduled"])),
        json!(int(&status["numberReady"])),
        json!(int(&status["updatedNumberScheduled"])),
        json!(int(&status["numberAvailable"])),
        json!(format_labels(&template["nodeSelector"])),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(&obj["spec"]["selector"])),
    ]
}

pub(super) fn statefulset(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = containers(&obj["spec"]["template"]["spec"]);
    vec![
        name(obj),
        json!(format!(
            "{}/{}",
            int(&obj["status"]["readyReplicas"]),
            desired(obj)
        )),
        json!(age(obj, now)),
        json!(names),
        json!(images),
    ]
}

/// `hasJobCondition`: the first condition of that type is True.
fn job_condition(status: &Value, kind: &str) -> bool {
    items(&status["conditions"])
        .iter()
        .find(|c| c["type"] == kind)
        .is_some_and(|c| c["status"] == "True")
}

pub(super) fn job(obj: &Value, now: Timestamp) -> Vec<Value> {
    let spec = &obj["spec"];
    let status = &obj["status"];
    let succeeded = int(&status["succeeded"]);
    let completions = match spec["completions"].as_i64() {
        Some(c) => format!("{succeeded}/{c}"),
        None => match int(&spec["parallelism"]) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let duration = match (
        timestamp(&status["startTime"]),
        timestamp(&status["completionTime"]),
    ) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration(now.duration_since(start)),
        (Some(start), Some(end)) => human_duration(end.duration_since(start)),
    };
    let state = if job_condition(status, "Complete") {
        "Complete"
    } else if job_condition(status, "Failed") {
        "Failed"
    } else if is_set(&obj["metadata"]["deletionTimestamp"]) {
        "Terminating"
    } else if job_condition(status, "Suspended") {
        "Suspended"
    } else if job_condition(status, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = containers(&spec["template"]["spec"]);
    vec![
        name(obj),
        json!(state),
        json!(completions),
        json!(duration),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(&spec["selector"])),
    ]
}

pub(super) fn cronjob(obj: &Value, now: Timestamp) -> Vec<Value> {
    let spec = &obj["spec"];
    let status = &obj["status"];
    let last = if is_set(&status["lastScheduleTime"]) {
        since(&status["lastScheduleTime"], now)
    } else {
        "<none>".into()
    };
    let zone = spec["timeZone"].as_str().unwrap_or("<none>");
    let suspend = match spec["suspend"].as_bool() {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let job_spec = &spec["jobTemplate"]["spec"];
    let (names, images) = containers(&job_spec["template"]["spec"]);
    vec![
        name(obj),
        json!(text(&spec["schedule"])),
        json!(zone),
        json!(suspend),
        json!(items(&status["active"]).len()),
        json!(last),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(&job_spec["selector"])),
    ]
}

pub(super) fn controller_revision(obj: &Value, now: Timestamp) -> Vec<Value> {
    let owner = items(&obj["metadata"]["ownerReferences"])
        .iter()
        .find(|r| r["controller"] == true);
    let controller = owner.map_or_else(
        || "<none>".to_string(),
        |r| {
            let api_version = text(&r["apiVersion"]);
            let group = api_version.split_once('/').map_or("", |(g, _)| g);
            let kind = text(&r["kind"]);
            let group_kind = if group.is_empty() {
                kind.to_string()
            } else {
                format!("{kind}.{group}")
            };
            if group_kind.is_empty() {
                text(&r["name"]).to_string()
            } else {
                format!("{}/{}", group_kind.to_lowercase(), text(&r["name"]))
            }
        },
    );
    vec![
        name(obj),
        json!(controller),
        json!(int(&obj["revision"])),
        json!(age(obj, now)),
    ]
}

pub(super) fn pdb(obj: &Value, now: Timestamp) -> Vec<Value> {
    let spec = &obj["spec"];
    let bound = |v: &Value| {
        if is_set(v) {
            int_or_string(v)
        } else {
            "N/A".into()
        }
    };
    vec![
        name(obj),
        json!(bound(&spec["minAvailable"])),
        json!(bound(&spec["maxUnavailable"])),
        json!(int(&obj["status"]["disruptionsAllowed"])),
        json!(age(obj, now)),
    ]
}

pub(super) fn scale(obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        name(obj),
        json!(int(&obj["spec"]["replicas"])),
        json!(int(&obj["status"]["replicas"])),
        json!(age(obj, now)),
    ]
}
