//! Server-side printing: the columns and cells of the `meta.k8s.io/v1`
//! `Table` kubectl asks for, per kind, as Kubernetes' printers
//! (`pkg/printers/internalversion/printers.go`) compute them. Every column,
//! including the `-o wide` ones (priority 1), is always produced; clients
//! choose what to show. Kinds without a printer get `Name` and `Created At`.
//!
//! Cells are pure functions of an object and a clock handed in; any object
//! shape yields a row (missing fields print as Kubernetes prints zero values).

mod cluster;
mod format;
mod workloads;

#[cfg(test)]
mod tests;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::ResourceInfo;

pub use format::human_duration;

/// One column of a Table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// The OpenAPI type of the cells: `string`, `integer`, `boolean`, `date`.
    pub kind: &'static str,
    /// `name` for the column holding the object name, else empty.
    pub format: &'static str,
    pub description: &'static str,
    /// 0: always shown; 1: only with `-o wide`.
    pub priority: i32,
}

impl Column {
    /// The column as a `TableColumnDefinition`.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.kind,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

const fn col(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column {
        name,
        kind,
        format: "",
        description,
        priority: 0,
    }
}

const fn wide(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column {
        name,
        kind,
        format: "",
        description,
        priority: 1,
    }
}

const NAME_DOC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATED_DOC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// The `Name` column every printer starts with.
const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    description: NAME_DOC,
    priority: 0,
};
/// The `Age` column.
const AGE: Column = col("Age", "string", CREATED_DOC);
const CONTAINERS: Column = wide(
    "Containers",
    "string",
    "Names of each container in the template.",
);
const IMAGES: Column = wide(
    "Images",
    "string",
    "Images referenced by each container in the template.",
);

/// Columns of kinds without a printer (`rest.NewDefaultTableConvertor`).
const DEFAULT_COLUMNS: &[Column] = &[NAME, col("Created At", "date", CREATED_DOC)];

/// How objects of one kind are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Printer {
    Pod,
    Deployment,
    ReplicaSet,
    DaemonSet,
    StatefulSet,
    Job,
    CronJob,
    ControllerRevision,
    PodDisruptionBudget,
    Scale,
    Service,
    Endpoints,
    EndpointSlice,
    Node,
    Namespace,
    ConfigMap,
    Secret,
    ServiceAccount,
    Event,
    Lease,
    PriorityClass,
    RoleBinding,
    /// `Name` and `Created At`.
    Default,
}

impl Printer {
    /// The printer of objects of `kind` in API group `group` ("" = core).
    pub fn for_kind(group: &str, kind: &str) -> Printer {
        match (group, kind) {
            ("", "Pod") => Printer::Pod,
            ("apps", "Deployment") => Printer::Deployment,
            ("apps", "ReplicaSet") => Printer::ReplicaSet,
            ("apps", "DaemonSet") => Printer::DaemonSet,
            ("apps", "StatefulSet") => Printer::StatefulSet,
            ("apps", "ControllerRevision") => Printer::ControllerRevision,
            ("batch", "Job") => Printer::Job,
            ("batch", "CronJob") => Printer::CronJob,
            ("policy", "PodDisruptionBudget") => Printer::PodDisruptionBudget,
            ("autoscaling", "Scale") => Printer::Scale,
            ("", "Service") => Printer::Service,
            ("", "Endpoints") => Printer::Endpoints,
            ("discovery.k8s.io", "EndpointSlice") => Printer::EndpointSlice,
            ("", "Node") => Printer::Node,
            ("", "Namespace") => Printer::Namespace,
            ("", "ConfigMap") => Printer::ConfigMap,
            ("", "Secret") => Printer::Secret,
            ("", "ServiceAccount") => Printer::ServiceAccount,
            ("", "Event") | ("events.k8s.io", "Event") => Printer::Event,
            ("coordination.k8s.io", "Lease") => Printer::Lease,
            ("scheduling.k8s.io", "PriorityClass") => Printer::PriorityClass,
            ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
                Printer::RoleBinding
            }
            _ => Printer::Default,
        }
    }

    /// The printer of a served resource's objects.
    pub fn for_resource(info: &ResourceInfo) -> Printer {
        Printer::for_kind(info.group, info.kind)
    }

    /// The column definitions, wide ones included.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Printer::Pod => workloads::POD_COLUMNS,
            Printer::Deployment => workloads::DEPLOYMENT_COLUMNS,
            Printer::ReplicaSet => workloads::REPLICASET_COLUMNS,
            Printer::DaemonSet => workloads::DAEMONSET_COLUMNS,
            Printer::StatefulSet => workloads::STATEFULSET_COLUMNS,
            Printer::Job => workloads::JOB_COLUMNS,
            Printer::CronJob => workloads::CRONJOB_COLUMNS,
            Printer::ControllerRevision => workloads::CONTROLLER_REVISION_COLUMNS,
            Printer::PodDisruptionBudget => workloads::PDB_COLUMNS,
            Printer::Scale => workloads::SCALE_COLUMNS,
            Printer::Service => cluster::SERVICE_COLUMNS,
            Printer::Endpoints => cluster::ENDPOINTS_COLUMNS,
            Printer::EndpointSlice => cluster::ENDPOINTSLICE_COLUMNS,
            Printer::Node => cluster::NODE_COLUMNS,
            Printer::Namespace => cluster::NAMESPACE_COLUMNS,
            Printer::ConfigMap => cluster::CONFIGMAP_COLUMNS,
            Printer::Secret => cluster::SECRET_COLUMNS,
            Printer::ServiceAccount => cluster::SERVICEACCOUNT_COLUMNS,
            Printer::Event => cluster::EVENT_COLUMNS,
            Printer::Lease => cluster::LEASE_COLUMNS,
            Printer::PriorityClass => cluster::PRIORITYCLASS_COLUMNS,
            Printer::RoleBinding => cluster::ROLEBINDING_COLUMNS,
            Printer::Default => DEFAULT_COLUMNS,
        }
    }

    /// The cells of one object's row, one per column, as of `now`.
    pub fn cells(self, obj: &Value, now: Timestamp) -> Vec<Value> {
        match self {
            Printer::Pod => workloads::pod(obj, now),
            Printer::Deployment => workloads::deployment(obj, now),
            Printer::ReplicaSet => workloads::replicaset(obj, now),
            Printer::DaemonSet => workloads::daemonset(obj, now),
            Printer::StatefulSet => workloads::statefulset(obj, now),
            Printer::Job => workloads::job(obj, now),
            Printer::CronJob => workloads::cronjob(obj, now),
            Printer::ControllerRevision => workloads::controller_revision(obj, now),
            Printer::PodDisruptionBudget => workloads::pdb(obj, now),
            Printer::Scale => workloads::scale(obj, now),
            Printer::Service => cluster::service(obj, now),
            Printer::Endpoints => cluster::endpoints(obj, now),
            Printer::EndpointSlice => cluster::endpointslice(obj, now),
            Printer::Node => cluster::node(obj, now),
            Printer::Namespace => cluster::namespace(obj, now),
            Printer::ConfigMap => cluster::configmap(obj, now),
            Printer::Secret => cluster::secret(obj, now),
            Printer::ServiceAccount => cluster::serviceaccount(obj, now),
            Printer::Event => cluster::event(obj, now),
            Printer::Lease => cluster::lease(obj, now),
            Printer::PriorityClass => cluster::priorityclass(obj, now),
            Printer::RoleBinding => cluster::rolebinding(obj, now),
            Printer::Default => default_cells(obj),
        }
    }

    /// The row conditions (`TableRowCondition`): `Completed` for pods that
    /// succeeded or failed, none otherwise.
    pub fn conditions(self, obj: &Value) -> Vec<Value> {
        match self {
            Printer::Pod => workloads::pod_conditions(obj),
            _ => Vec::new(),
        }
    }
}

/// The column definitions of a served resource's Table.
pub fn columns(info: &ResourceInfo) -> &'static [Column] {
    Printer::for_resource(info).columns()
}

/// The cells of one object of a served resource, as of `now`.
pub fn row(info: &ResourceInfo, obj: &Value, now: Timestamp) -> Vec<Value> {
    Printer::for_resource(info).cells(obj, now)
}

/// The object's name cell.
fn name(obj: &Value) -> Value {
    json!(format::text(&obj["metadata"]["name"]))
}

/// `Name` and the creation time in RFC 3339 UTC (Go's zero time when unset).
fn default_cells(obj: &Value) -> Vec<Value> {
    let created = format::timestamp(&obj["metadata"]["creationTimestamp"]).map_or_else(
        || "0001-01-01T00:00:00Z".to_string(),
        |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    vec![name(obj), json!(created)]
}
