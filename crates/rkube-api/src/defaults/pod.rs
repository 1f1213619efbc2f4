//! Pod, pod template, container and volume defaults (core/v1 `SetDefaults_Pod`,
//! `SetDefaults_PodSpec`, `SetDefaults_Container`, `SetDefaults_Volume`, the
//! probe and handler defaults, and the declarative `+default` tags).

use serde_json::{Map, Value, json};

use super::{each_item, ensure_map, map_mut, set_empty, set_missing, set_zero};

/// Defaults of a Pod object: the pod-only ones, then those every pod spec gets.
pub(super) fn pod(obj: &mut Value) {
    let Some(spec) = obj.as_object_mut().and_then(|o| ensure_map(o, "spec")) else {
        return;
    };
    requests_from_limits(spec);
    set_missing(spec, "enableServiceLinks", json!(true));
    if spec.get("hostNetwork") == Some(&Value::Bool(true)) {
        host_network_ports(spec);
    }
    priority(spec);
    pod_spec(spec);
}

/// Defaults of `template.spec` inside a workload spec (no pod-only defaults).
pub(super) fn template(spec: &mut Map<String, Value>) {
    let Some(template) = ensure_map(spec, "template") else {
        return;
    };
    if let Some(pod_spec_map) = ensure_map(template, "spec") {
        pod_spec(pod_spec_map);
    }
}

/// What every pod spec gets, in a Pod or in a template.
pub(super) fn pod_spec(spec: &mut Map<String, Value>) {
    set_empty(spec, "dnsPolicy", "ClusterFirst");
    set_empty(spec, "restartPolicy", "Always");
    set_missing(spec, "securityContext", json!({}));
    set_missing(spec, "terminationGracePeriodSeconds", json!(30));
    set_empty(spec, "schedulerName", "default-scheduler");
    each_item(spec, "volumes", volume);
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        each_item(spec, list, container);
    }
}

/// The Priority admission plugin's result when no PriorityClass is named and none is the global default.
fn priority(spec: &mut Map<String, Value>) {
    let named = spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    if !named {
        set_missing(spec, "priority", json!(0));
        set_missing(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
}

fn requests_from_limits(spec: &mut Map<String, Value>) {
    for list in ["containers", "initContainers"] {
        each_item(spec, list, |c| {
            let Some(resources) = map_mut(c, "resources") else {
                return;
            };
            let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
                return;
            };
            if let Some(requests) = ensure_map(resources, "requests") {
                for (k, v) in limits {
                    requests.entry(k).or_insert(v);
                }
            }
        });
    }
}

fn host_network_ports(spec: &mut Map<String, Value>) {
    for list in ["containers", "initContainers"] {
        each_item(spec, list, |c| {
            each_item(c, "ports", |p| {
                if let Some(port) = p.get("containerPort").cloned() {
                    set_zero(p, "hostPort", port);
                }
            });
        });
    }
}

fn container(c: &mut Map<String, Value>) {
    let policy = pull_policy(c.get("image").and_then(Value::as_str).unwrap_or_default());
    set_empty(c, "imagePullPolicy", policy);
    set_empty(c, "terminationMessagePath", "/dev/termination-log");
    set_empty(c, "terminationMessagePolicy", "File");
    each_item(c, "ports", |p| set_empty(p, "protocol", "TCP"));
    each_item(c, "env", |e| {
        if let Some(field_ref) = map_mut(e, "valueFrom").and_then(|v| map_mut(v, "fieldRef")) {
            set_empty(field_ref, "apiVersion", "v1");
        }
    });
    set_missing(c, "resources", json!({}));
    for probe_key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = map_mut(c, probe_key) {
            probe(p);
        }
    }
    if let Some(lifecycle) = map_mut(c, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(get) = map_mut(lifecycle, hook).and_then(|h| map_mut(h, "httpGet")) {
                http_get(get);
            }
        }
    }
}

fn probe(p: &mut Map<String, Value>) {
    set_zero(p, "timeoutSeconds", json!(1));
    set_zero(p, "periodSeconds", json!(10));
    set_zero(p, "successThreshold", json!(1));
    set_zero(p, "failureThreshold", json!(3));
    if let Some(get) = map_mut(p, "httpGet") {
        http_get(get);
    }
    if let Some(grpc) = map_mut(p, "grpc") {
        set_missing(grpc, "service", json!(""));
    }
}

fn http_get(get: &mut Map<String, Value>) {
    set_empty(get, "path", "/");
    set_empty(get, "scheme", "HTTP");
}

/// Fixed defaults of the remaining volume sources (their `+default` tags and `SetDefaults_*`).
const SOURCE_DEFAULTS: &[(&str, &[(&str, &str)])] = &[
    ("iscsi", &[("iscsiInterface", "default")]),
    (
        "rbd",
        &[
            ("pool", "rbd"),
            ("user", "admin"),
            ("keyring", "/etc/ceph/keyring"),
        ],
    ),
    (
        "scaleIO",
        &[("storageMode", "ThinProvisioned"), ("fsType", "xfs")],
    ),
    (
        "azureDisk",
        &[
            ("cachingMode", "ReadWrite"),
            ("fsType", "ext4"),
            ("kind", "Shared"),
        ],
    ),
];

fn volume(v: &mut Map<String, Value>) {
    let has_source = v.iter().any(|(k, val)| k != "name" && !val.is_null());
    if !has_source {
        v.insert("emptyDir".into(), json!({}));
    }
    if let Some(host_path) = map_mut(v, "hostPath") {
        set_missing(host_path, "type", json!(""));
    }
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = map_mut(v, source) {
            set_missing(s, "defaultMode", json!(420));
        }
    }
    if let Some(d) = map_mut(v, "downwardAPI") {
        each_item(d, "items", field_ref_api_version);
    }
    if let Some(p) = map_mut(v, "projected") {
        each_item(p, "sources", projection);
    }
    if let Some(spec) = map_mut(v, "ephemeral")
        .and_then(|e| map_mut(e, "volumeClaimTemplate"))
        .and_then(|t| map_mut(t, "spec"))
    {
        set_missing(spec, "volumeMode", json!("Filesystem"));
    }
    if let Some(image) = map_mut(v, "image") {
        let policy = pull_policy(
            image
                .get("reference")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
        set_empty(image, "pullPolicy", policy);
    }
    for (source, fields) in SOURCE_DEFAULTS {
        if let Some(s) = map_mut(v, source) {
            for (key, value) in *fields {
                set_empty(s, key, value);
            }
        }
    }
    if let Some(azure) = map_mut(v, "azureDisk") {
        set_missing(azure, "readOnly", json!(false));
    }
}

fn projection(source: &mut Map<String, Value>) {
    if let Some(d) = map_mut(source, "downwardAPI") {
        each_item(d, "items", field_ref_api_version);
    }
    if let Some(token) = map_mut(source, "serviceAccountToken") {
        set_missing(token, "expirationSeconds", json!(3600));
    }
}

fn field_ref_api_version(item: &mut Map<String, Value>) {
    if let Some(field_ref) = map_mut(item, "fieldRef") {
        set_empty(field_ref, "apiVersion", "v1");
    }
}

/// `Always` for `:latest` or untagged images, else `IfNotPresent` (also for unparsable references).
pub(super) fn pull_policy(image: &str) -> &'static str {
    match image_tag(image) {
        Some(tag) if tag == "latest" || tag.is_empty() => "Always",
        _ => "IfNotPresent",
    }
}

/// The tag of a Docker reference: `Some("")` when neither tag nor digest is given, `None` when
/// only a digest is given or the reference does not parse.
fn image_tag(image: &str) -> Option<&str> {
    if image.is_empty() || image.chars().any(char::is_whitespace) {
        return None;
    }
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    if !valid_repository(repo)
        || tag.is_some_and(|t| !valid_tag(t))
        || digest.is_some_and(str::is_empty)
    {
        return None;
    }
    match (tag, digest) {
        (Some(t), _) => Some(t),
        (None, Some(_)) => None,
        (None, None) => Some(""),
    }
}

fn valid_repository(repo: &str) -> bool {
    let remote = match repo.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            rest
        }
        _ => repo,
    };
    !remote.is_empty()
        && remote.split('/').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
        })
}

fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    tag.len() <= 128
        && tag.bytes().next().is_some_and(word)
        && tag.bytes().all(|b| word(b) || matches!(b, b'.' | b'-'))
}
