//! The table of served resources: what discovery advertises, what URLs
//! route to, and how each kind is scoped and stored.

/// The verbs a full CRUD resource supports, in the order discovery lists them.
pub const CRUD: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// A subresource (`pods/status`) and the verbs it serves.
#[derive(Debug)]
pub struct SubresourceInfo {
    pub name: &'static str,
    /// Kind of the object the subresource accepts and returns.
    pub kind: &'static str,
    /// Group/version of that kind when it differs from the parent's (`""` = same).
    pub api_version: &'static str,
    pub verbs: &'static [&'static str],
}

/// One served resource at one group/version.
#[derive(Debug)]
pub struct ResourceInfo {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    pub subresources: &'static [SubresourceInfo],
}

impl ResourceInfo {
    /// `apiVersion` of objects of this resource (`v1`, `apps/v1`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `kind` of the list type (`PodList`).
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// Datastore key prefix of this resource, ending in `/`.
    pub fn key_prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/registry/{}/", self.plural)
        } else {
            format!("/registry/{}.{}/", self.plural, self.group)
        }
    }

    /// Datastore key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("{}{ns}/{name}", self.key_prefix()),
            _ => format!("{}{name}", self.key_prefix()),
        }
    }

    /// Whether the resource serves `verb` on the main resource.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// The subresource called `name`, if served.
    pub fn subresource(&self, name: &str) -> Option<&'static SubresourceInfo> {
        self.subresources.iter().find(|s| s.name == name)
    }
}

const GET_UPDATE_PATCH: &[&str] = &["get", "patch", "update"];
const CREATE: &[&str] = &["create"];
const GET: &[&str] = &["get"];
const PROXY: &[&str] = &["create", "delete", "get", "patch", "update"];

const fn sub(
    name: &'static str,
    kind: &'static str,
    verbs: &'static [&'static str],
) -> SubresourceInfo {
    SubresourceInfo {
        name,
        kind,
        api_version: "",
        verbs,
    }
}

const fn sub_in(
    name: &'static str,
    kind: &'static str,
    api_version: &'static str,
    verbs: &'static [&'static str],
) -> SubresourceInfo {
    SubresourceInfo {
        name,
        kind,
        api_version,
        verbs,
    }
}

macro_rules! res {
    ($group:expr, $version:expr, $kind:expr, $plural:expr, $singular:expr, $ns:expr,
     short: [$($short:expr),*], cat: [$($cat:expr),*], verbs: $verbs:expr, subs: [$($sub:expr),*]) => {
        ResourceInfo {
            group: $group, version: $version, kind: $kind, plural: $plural, singular: $singular,
            namespaced: $ns, short_names: &[$($short),*], categories: &[$($cat),*], verbs: $verbs,
            subresources: &[$($sub),*],
        }
    };
}

const STATUS: SubresourceInfo = sub("status", "", GET_UPDATE_PATCH);

static RESOURCES: &[ResourceInfo] = &[
    // core/v1
    res!("", "v1", "Binding", "bindings", "binding", true, short: [], cat: [], verbs: CREATE, subs: []),
    res!("", "v1", "ConfigMap", "configmaps", "configmap", true, short: ["cm"], cat: [], verbs: CRUD, subs: []),
    res!("", "v1", "Endpoints", "endpoints", "endpoints", true, short: ["ep"], cat: [], verbs: CRUD, subs: []),
    res!("", "v1", "Event", "events", "event", true, short: ["ev"], cat: [], verbs: CRUD, subs: []),
    res!("", "v1", "Namespace", "namespaces", "namespace", false, short: ["ns"], cat: [],
        verbs: &["create", "delete", "get", "list", "patch", "update", "watch"],
        subs: [sub("finalize", "", &["update"]), STATUS]),
    res!("", "v1", "Node", "nodes", "node", false, short: ["no"], cat: [], verbs: CRUD,
        subs: [sub("proxy", "NodeProxyOptions", PROXY), STATUS]),
    res!("", "v1", "Pod", "pods", "pod", true, short: ["po"], cat: ["all"], verbs: CRUD,
    subs: [
        sub("attach", "PodAttachOptions", &["create", "get"]),
        sub("binding", "Binding", CREATE),
        sub("ephemeralcontainers", "", GET_UPDATE_PATCH),
        sub_in("eviction", "Eviction", "policy/v1", CREATE),
        sub("exec", "PodExecOptions", &["create", "get"]),
        sub("log", "Pod", GET),
        sub("portforward", "PodPortForwardOptions", &["create", "get"]),
        sub("proxy", "PodProxyOptions", PROXY),
        sub("resize", "", GET_UPDATE_PATCH),
        STATUS
    ]),
    res!("", "v1", "Secret", "secrets", "secret", true, short: [], cat: [], verbs: CRUD, subs: []),
    res!("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true, short: ["sa"], cat: [], verbs: CRUD,
        subs: [sub_in("token", "TokenRequest", "authentication.k8s.io/v1", CREATE)]),
    res!("", "v1", "Service", "services", "service", true, short: ["svc"], cat: ["all"],
        verbs: &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        subs: [sub("proxy", "ServiceProxyOptions", PROXY), STATUS]),
    // apps/v1
    res!("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", true, short: [], cat: [], verbs: CRUD, subs: []),
    res!("apps", "v1", "DaemonSet", "daemonsets", "daemonset", true, short: ["ds"], cat: ["all"], verbs: CRUD, subs: [STATUS]),
    res!("apps", "v1", "Deployment", "deployments", "deployment", true, short: ["deploy"], cat: ["all"], verbs: CRUD,
        subs: [sub_in("scale", "Scale", "autoscaling/v1", GET_UPDATE_PATCH), STATUS]),
    res!("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true, short: ["rs"], cat: ["all"], verbs: CRUD,
        subs: [sub_in("scale", "Scale", "autoscaling/v1", GET_UPDATE_PATCH), STATUS]),
    res!("apps", "v1", "StatefulSet", "statefulsets", "statefulset", true, short: ["sts"], cat: ["all"], verbs: CRUD,
        subs: [sub_in("scale", "Scale", "autoscaling/v1", GET_UPDATE_PATCH), STATUS]),
    // batch/v1
    res!("batch", "v1", "CronJob", "cronjobs", "cronjob", true, short: ["cj"], cat: ["all"], verbs: CRUD, subs: [STATUS]),
    res!("batch", "v1", "Job", "jobs", "job", true, short: [], cat: ["all"], verbs: CRUD, subs: [STATUS]),
    // coordination.k8s.io/v1
    res!("coordination.k8s.io", "v1", "Lease", "leases", "lease", true, short: [], cat: [], verbs: CRUD, subs: []),
    // discovery.k8s.io/v1
    res!("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", true, short: [], cat: [], verbs: CRUD, subs: []),
    // events.k8s.io/v1
    res!("events.k8s.io", "v1", "Event", "events", "event", true, short: ["ev"], cat: [], verbs: CRUD, subs: []),
    // policy/v1
    res!("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", true, short: ["pdb"], cat: [], verbs: CRUD, subs: [STATUS]),
    // rbac.authorization.k8s.io/v1
    res!("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", false, short: [], cat: [], verbs: CRUD, subs: []),
    res!("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", false, short: [], cat: [], verbs: CRUD, subs: []),
    res!("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", true, short: [], cat: [], verbs: CRUD, subs: []),
    res!("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", true, short: [], cat: [], verbs: CRUD, subs: []),
    // scheduling.k8s.io/v1
    res!("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", false, short: ["pc"], cat: [], verbs: CRUD, subs: []),
];

/// Every served resource.
pub fn all() -> &'static [ResourceInfo] {
    RESOURCES
}

/// The served group/versions in discovery order (core first, then groups by preference).
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

/// The resource served at `/apis/<group>/<version>/<plural>` (group "" = core).
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource whose objects carry this `apiVersion` and `kind`.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.kind == kind && r.api_version() == api_version && r.plural != "bindings")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_is_unique_and_reachable() {
        for r in all() {
            let found = lookup(r.group, r.version, r.plural).map(|f| f.kind);
            assert_eq!(found, Some(r.kind), "{}", r.plural);
        }
        assert_eq!(
            by_kind("apps/v1", "Deployment").map(|r| r.plural),
            Some("deployments")
        );
        assert_eq!(by_kind("v1", "Binding").map(|r| r.plural), None);
    }

    #[test]
    fn keys_separate_groups_and_namespaces() {
        let pods = lookup("", "v1", "pods").map(|r| r.key(Some("default"), "a"));
        assert_eq!(pods.as_deref(), Some("/registry/pods/default/a"));
        let nodes = lookup("", "v1", "nodes").map(|r| r.key(Some("ignored"), "n1"));
        assert_eq!(nodes.as_deref(), Some("/registry/nodes/n1"));
        let ev = lookup("events.k8s.io", "v1", "events").map(ResourceInfo::key_prefix);
        assert_eq!(ev.as_deref(), Some("/registry/events.events.k8s.io/"));
    }
}
