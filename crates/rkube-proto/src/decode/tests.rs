use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::coordination::v1 as coordination;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{RawExtension, TypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message as _;
use serde_json::{Value, json};

use super::*;
use crate::generated::{MESSAGES, ROOTS};

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// The body client-go sends for `msg`: magic, then `runtime.Unknown`.
fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: s(api_version),
            kind: s(kind),
        }),
        raw: Some(raw),
        content_encoding: s(""),
        content_type: s(""),
    };
    let mut body = MAGIC.to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

fn decoded(api_version: &str, kind: &str, msg: &impl prost::Message) -> Value {
    decode(&envelope(api_version, kind, msg.encode_to_vec())).expect("decodes")
}

/// `ObjectMeta` as Go's marshaller writes it: every value field present, most of them empty.
fn go_meta(name: &str) -> meta::ObjectMeta {
    meta::ObjectMeta {
        name: s(name),
        generate_name: s(""),
        namespace: s(""),
        self_link: s(""),
        uid: s(""),
        resource_version: s(""),
        generation: Some(0),
        creation_timestamp: Some(meta::Time::default()),
        labels: [("app".to_string(), name.to_string())].into(),
        ..Default::default()
    }
}

fn int_or_string_int(v: i32) -> Option<IntOrString> {
    Some(IntOrString {
        r#type: Some(0),
        int_val: Some(v),
        str_val: s(""),
    })
}

fn int_or_string_str(v: &str) -> Option<IntOrString> {
    Some(IntOrString {
        r#type: Some(1),
        int_val: Some(0),
        str_val: s(v),
    })
}

#[test]
fn kubectl_create_configmap_bytes_decode() {
    // Captured from `kubectl create configmap x --from-literal=a=b -v=9` (kubectl 1.37).
    let body =
        b"k8s\x00\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x1b\x0a\x11\x0a\x01x\x12\x00\x1a\x00\
\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x12\x06\x0a\x01a\x12\x01b\x1a\x00\x22\x00";
    let v = decode(body).expect("decodes");
    assert_eq!(
        v,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "generation": 0}, "data": {"a": "b"}})
    );
}

#[test]
fn configmap_and_secret_bytes_are_base64() {
    let cm = core::ConfigMap {
        metadata: Some(go_meta("cm")),
        data: [("k".to_string(), String::new())].into(),
        binary_data: [("bin".to_string(), vec![0, 159, 146, 150, 255])].into(),
        immutable: Some(false),
    };
    let v = decoded("v1", "ConfigMap", &cm);
    assert_eq!(v["data"], json!({"k": ""}), "empty map values stay");
    assert_eq!(v["binaryData"], json!({"bin": "AJ+Slv8="}));
    assert_eq!(v["immutable"], json!(false), "an explicit false survives");
    assert_eq!(
        v["metadata"],
        json!({"name": "cm", "generation": 0, "labels": {"app": "cm"}})
    );

    let secret = core::Secret {
        metadata: Some(go_meta("s")),
        data: [("password".to_string(), b"hunter2".to_vec())].into(),
        string_data: [("user".to_string(), "admin".to_string())].into(),
        r#type: s("Opaque"),
        immutable: None,
    };
    let v = decoded("v1", "Secret", &secret);
    assert_eq!(v["data"], json!({"password": "aHVudGVyMg=="}));
    assert_eq!(v["stringData"], json!({"user": "admin"}));
    assert_eq!(v["type"], "Opaque");
    assert!(v.get("immutable").is_none());
}

fn deployment() -> apps::Deployment {
    let container = core::Container {
        name: s("web"),
        image: s("nginx:1"),
        command: vec!["sh".into(), "-c".into(), String::new()],
        ports: vec![core::ContainerPort {
            container_port: Some(80),
            host_port: Some(0),
            protocol: s("TCP"),
            ..Default::default()
        }],
        env: vec![core::EnvVar {
            name: s("FROM_CM"),
            value: s(""),
            value_from: Some(core::EnvVarSource {
                config_map_key_ref: Some(core::ConfigMapKeySelector {
                    local_object_reference: Some(core::LocalObjectReference {
                        name: s("settings"),
                    }),
                    key: s("k"),
                    optional: Some(true),
                }),
                ..Default::default()
            }),
        }],
        resources: Some(core::ResourceRequirements {
            limits: [("cpu".to_string(), Quantity { string: s("500m") })].into(),
            requests: [("memory".to_string(), Quantity { string: s("64Mi") })].into(),
            ..Default::default()
        }),
        readiness_probe: Some(core::Probe {
            handler: Some(core::ProbeHandler {
                http_get: Some(core::HttpGetAction {
                    path: s("/healthz"),
                    port: int_or_string_str("http"),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            period_seconds: Some(5),
            ..Default::default()
        }),
        stdin: Some(false),
        termination_message_path: s(""),
        ..Default::default()
    };
    let volume = core::Volume {
        name: s("config"),
        volume_source: Some(core::VolumeSource {
            config_map: Some(core::ConfigMapVolumeSource {
                local_object_reference: Some(core::LocalObjectReference {
                    name: s("settings"),
                }),
                default_mode: Some(0o644),
                ..Default::default()
            }),
            ..Default::default()
        }),
    };
    apps::Deployment {
        metadata: Some(go_meta("web")),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(0),
            selector: Some(meta::LabelSelector {
                match_labels: [("app".to_string(), "web".to_string())].into(),
                ..Default::default()
            }),
            template: Some(core::PodTemplateSpec {
                metadata: Some(go_meta("web")),
                spec: Some(core::PodSpec {
                    containers: vec![container],
                    volumes: vec![volume],
                    restart_policy: s(""),
                    termination_grace_period_seconds: Some(-1),
                    ..Default::default()
                }),
            }),
            strategy: Some(apps::DeploymentStrategy {
                r#type: s("RollingUpdate"),
                rolling_update: Some(apps::RollingUpdateDeployment {
                    max_unavailable: int_or_string_int(0),
                    max_surge: int_or_string_str("25%"),
                }),
            }),
            ..Default::default()
        }),
        status: Some(apps::DeploymentStatus::default()),
    }
}

#[test]
fn deployment_pod_template_decodes_with_nested_and_inline_types() {
    let v = decoded("apps/v1", "Deployment", &deployment());
    let expected = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": 0, "labels": {"app": "web"}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"name": "web", "generation": 0, "labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "web",
                        "image": "nginx:1",
                        "command": ["sh", "-c", ""],
                        "ports": [{"containerPort": 80, "hostPort": 0, "protocol": "TCP"}],
                        "env": [{"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "k", "optional": true}}}],
                        "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}},
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5},
                        "stdin": false
                    }],
                    "volumes": [{"name": "config", "configMap": {"name": "settings", "defaultMode": 420}}],
                    "terminationGracePeriodSeconds": -1
                }
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}}
        },
        "status": {}
    });
    assert_eq!(v, expected);
}

#[test]
fn times_raw_extensions_and_meta_kinds() {
    let lease = coordination::Lease {
        metadata: Some(meta::ObjectMeta {
            name: s("node-1"),
            creation_timestamp: Some(meta::Time {
                seconds: Some(1_700_000_000),
                nanos: Some(999),
            }),
            ..Default::default()
        }),
        spec: Some(coordination::LeaseSpec {
            holder_identity: s("node-1"),
            renew_time: Some(meta::MicroTime {
                seconds: Some(1_700_000_000),
                nanos: Some(123_456_789),
            }),
            ..Default::default()
        }),
    };
    let v = decoded("coordination.k8s.io/v1", "Lease", &lease);
    assert_eq!(v["metadata"]["creationTimestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(v["spec"]["renewTime"], "2023-11-14T22:13:20.123456Z");
    let whole_second = coordination::Lease {
        spec: Some(coordination::LeaseSpec {
            acquire_time: Some(meta::MicroTime {
                seconds: Some(0),
                nanos: None,
            }),
            renew_time: Some(meta::MicroTime::default()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let v = decoded("coordination.k8s.io/v1", "Lease", &whole_second);
    assert_eq!(
        v["spec"],
        json!({"acquireTime": "1970-01-01T00:00:00.000000Z"}),
        "an empty MicroTime is unset"
    );

    let revision = apps::ControllerRevision {
        metadata: Some(meta::ObjectMeta {
            name: s("r"),
            ..Default::default()
        }),
        data: Some(RawExtension {
            raw: Some(br#"{"spec":{"template":{"a":[1,2]}}}"#.to_vec()),
        }),
        revision: Some(3),
    };
    let v = decoded("apps/v1", "ControllerRevision", &revision);
    assert_eq!(v["data"], json!({"spec": {"template": {"a": [1, 2]}}}));
    assert_eq!(v["revision"], 3);

    let options = meta::DeleteOptions {
        grace_period_seconds: Some(0),
        propagation_policy: s("Foreground"),
        preconditions: Some(meta::Preconditions {
            uid: s("u-1"),
            resource_version: None,
        }),
        dry_run: vec!["All".into()],
        ..Default::default()
    };
    let v = decoded("apps/v1", "DeleteOptions", &options);
    assert_eq!(
        v,
        json!({"apiVersion": "apps/v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
               "propagationPolicy": "Foreground", "preconditions": {"uid": "u-1"}, "dryRun": ["All"]})
    );
}

#[test]
fn negative_and_packed_numbers_decode() {
    // PodSecurityContext.supplementalGroups (int64, tag 4) sent packed, runAsUser (tag 2) negative.
    let mut ctx = Vec::new();
    ctx.extend([0x10]);
    ctx.extend([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    ctx.extend([0x22, 0x03, 0x01, 0x02, 0x03]);
    ctx.extend([0x20, 0x04]);
    let mut spec = vec![0x72, u8::try_from(ctx.len()).expect("short")];
    spec.extend(ctx);
    let mut pod = vec![0x12, u8::try_from(spec.len()).expect("short")];
    pod.extend(spec);
    let v = decode(&envelope("v1", "Pod", pod)).expect("decodes");
    assert_eq!(
        v["spec"]["securityContext"],
        json!({"runAsUser": -1, "supplementalGroups": [1, 2, 3, 4]})
    );
}

#[test]
fn repeated_singular_messages_merge_and_last_scalar_wins() {
    let first = core::ConfigMap {
        metadata: Some(meta::ObjectMeta {
            name: s("a"),
            ..Default::default()
        }),
        ..Default::default()
    };
    let second = core::ConfigMap {
        metadata: Some(meta::ObjectMeta {
            namespace: s("ns"),
            labels: [("x".into(), "y".into())].into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut raw = first.encode_to_vec();
    raw.extend(second.encode_to_vec());
    let v = decode(&envelope("v1", "ConfigMap", raw)).expect("decodes");
    assert_eq!(
        v["metadata"],
        json!({"name": "a", "namespace": "ns", "labels": {"x": "y"}})
    );
}

#[test]
fn unknown_fields_are_skipped() {
    let mut raw = core::ConfigMap {
        data: [("a".into(), "b".into())].into(),
        ..Default::default()
    }
    .encode_to_vec();
    raw.extend([0xf8, 0x07, 0x05]); // field 127, varint
    raw.extend([0x81, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]); // field 128, fixed64
    raw.extend([0x8d, 0x08, 1, 2, 3, 4]); // field 129, fixed32
    raw.extend([0x92, 0x08, 0x02, 0x08, 0x01]); // field 130, bytes
    let v = decode(&envelope("v1", "ConfigMap", raw)).expect("decodes");
    assert_eq!(
        v,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}})
    );
}

#[test]
fn malformed_bodies_are_errors() {
    assert!(matches!(decode(b"{\"kind\":\"Pod\"}"), Err(Error::Magic)));
    assert!(matches!(
        decode(&envelope("v1", "Widget", Vec::new())),
        Err(Error::UnknownKind { .. })
    ));
    assert!(matches!(
        decode(&envelope("v2", "ConfigMap", Vec::new())),
        Err(Error::UnknownKind { .. })
    ));
    let mut gzip = MAGIC.to_vec();
    gzip.extend(
        Unknown {
            type_meta: Some(TypeMeta {
                api_version: s("v1"),
                kind: s("ConfigMap"),
            }),
            raw: Some(Vec::new()),
            content_encoding: s("gzip"),
            content_type: None,
        }
        .encode_to_vec(),
    );
    assert!(matches!(decode(&gzip), Err(Error::Encoding { .. })));
    // metadata (tag 1) sent as a varint.
    assert!(matches!(
        decode(&envelope("v1", "ConfigMap", vec![0x08, 0x01])),
        Err(Error::WireType { .. })
    ));
    // metadata.name not UTF-8.
    let bad = vec![0x0a, 0x04, 0x0a, 0x02, 0xff, 0xfe];
    let err = decode(&envelope("v1", "ConfigMap", bad)).expect_err("invalid UTF-8");
    assert_eq!(
        err.to_string(),
        "apimachinery.pkg.apis.meta.v1.ObjectMeta.name: string is not valid UTF-8"
    );
    let raw = RawExtension {
        raw: Some(b"\x0a\x01x".to_vec()),
    };
    let revision = apps::ControllerRevision {
        data: Some(raw),
        ..Default::default()
    };
    assert!(matches!(
        decode(&envelope(
            "apps/v1",
            "ControllerRevision",
            revision.encode_to_vec()
        )),
        Err(Error::Value { .. })
    ));
}

#[test]
fn no_input_panics() {
    let body = envelope("apps/v1", "Deployment", deployment().encode_to_vec());
    for len in 0..body.len() {
        let _ = decode(&body[..len]);
    }
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..4000 {
        let mut mutated = body.clone();
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = usize::try_from(state % mutated.len() as u64).expect("index");
            mutated[i] = (state >> 32) as u8;
        }
        let _ = decode(&mutated);
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes();
    let revision = apps::ControllerRevision {
        data: Some(RawExtension { raw: Some(deep) }),
        ..Default::default()
    };
    let err = decode(&envelope(
        "apps/v1",
        "ControllerRevision",
        revision.encode_to_vec(),
    ))
    .expect_err("too deep");
    assert!(err.to_string().contains("recursion limit"), "{err}");
}

/// A protobuf message with every field of `name` set, built from the schema table alone.
fn populated(name: &str, depth: usize) -> Vec<u8> {
    let message = schema::message(name).expect("schema message");
    let mut out = Vec::new();
    for f in message.fields {
        let count = if f.label == Label::Many { 2 } else { 1 };
        for _ in 0..count {
            let Some(value) = sample(f.ty, f.tag, depth) else {
                continue;
            };
            let value = if f.label == Label::Map {
                let mut entry = vec![0x0a, 0x01, b'k'];
                put(&mut entry, 2, value);
                Sample::Len(entry)
            } else {
                value
            };
            put(&mut out, f.tag, value);
        }
    }
    out
}

enum Sample {
    Varint(u64),
    Len(Vec<u8>),
}

fn put(out: &mut Vec<u8>, tag: u32, value: Sample) {
    let push_varint = |mut v: u64, out: &mut Vec<u8>| {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    };
    match value {
        Sample::Varint(v) => {
            push_varint(u64::from(tag) << 3, out);
            push_varint(v, out);
        }
        Sample::Len(bytes) => {
            push_varint((u64::from(tag) << 3) | 2, out);
            push_varint(bytes.len() as u64, out);
            out.extend(bytes);
        }
    }
}

fn sample(ty: Ty, tag: u32, depth: usize) -> Option<Sample> {
    let len = |fields: &[(u32, Sample)]| {
        let mut out = Vec::new();
        for (t, v) in fields {
            let v = match v {
                Sample::Varint(n) => Sample::Varint(*n),
                Sample::Len(b) => Sample::Len(b.clone()),
            };
            put(&mut out, *t, v);
        }
        Sample::Len(out)
    };
    Some(match ty {
        Ty::Bool => Sample::Varint(1),
        Ty::Int32 | Ty::Int64 => Sample::Varint(u64::from(tag)),
        Ty::String => Sample::Len(format!("s{tag}").into_bytes()),
        Ty::Bytes => Sample::Len(vec![0, 255, u8::try_from(tag % 256).unwrap_or(0)]),
        Ty::Msg(inner) if depth < 24 => Sample::Len(populated(inner, depth + 1)),
        Ty::Msg(_) => return None,
        Ty::Time => len(&[(1, Sample::Varint(1_700_000_000))]),
        Ty::MicroTime => len(&[
            (1, Sample::Varint(1_700_000_000)),
            (2, Sample::Varint(123_456_000)),
        ]),
        Ty::Quantity => len(&[(1, Sample::Len(b"1500m".to_vec()))]),
        Ty::IntOrString => len(&[(1, Sample::Varint(0)), (2, Sample::Varint(u64::from(tag)))]),
        Ty::RawJson => len(&[(1, Sample::Len(br#"{"a":[1,"b"]}"#.to_vec()))]),
    })
}

/// For every accepted kind: a message with every field the table knows survives a trip through
/// k8s-pb's prost type (so field numbers and wire types agree with k8s-pb), and its JSON survives
/// a trip through k8s-openapi's serde type (so every JSON name and value form is Kubernetes').
macro_rules! check_roots {
    ($($pb:ty => $openapi:ty),* $(,)?) => {
        #[test]
        fn every_field_of_every_kind_agrees_with_k8s_pb_and_k8s_openapi() {
            let mut checked = Vec::new();
            $(
                let name = std::any::type_name::<$pb>();
                let root = ROOTS
                    .iter()
                    .find(|r| name.ends_with(&format!("::{}", r.message.replace('.', "::"))))
                    .unwrap_or_else(|| panic!("{name} is not a root"));
                let raw = populated(root.message, 0);
                let ours = decode(&envelope(root.api_version, root.kind, raw.clone())).expect("our encoding decodes");
                let through_prost = <$pb>::decode(raw.as_slice()).expect("k8s-pb decodes it").encode_to_vec();
                let theirs = decode(&envelope(root.api_version, root.kind, through_prost)).expect("prost's encoding decodes");
                assert_eq!(ours, theirs, "{} through k8s-pb", root.kind);
                let typed: $openapi = serde_json::from_value(ours.clone()).expect("k8s-openapi reads it");
                let again = serde_json::to_value(&typed).expect("k8s-openapi writes it");
                let mut differences = Vec::new();
                diff(&ours, &again, root.kind.to_string(), &mut differences);
                assert!(differences.is_empty(), "through k8s-openapi: {differences:#?}");
                checked.push(root.message);
            )*
            for root in ROOTS {
                assert!(checked.contains(&root.message), "add {} to check_roots!", root.message);
            }
        }
    };
}

check_roots! {
    k8s_pb::api::apps::v1::ControllerRevision => k8s_openapi::api::apps::v1::ControllerRevision,
    k8s_pb::api::apps::v1::DaemonSet => k8s_openapi::api::apps::v1::DaemonSet,
    k8s_pb::api::apps::v1::Deployment => k8s_openapi::api::apps::v1::Deployment,
    k8s_pb::api::apps::v1::ReplicaSet => k8s_openapi::api::apps::v1::ReplicaSet,
    k8s_pb::api::apps::v1::StatefulSet => k8s_openapi::api::apps::v1::StatefulSet,
    k8s_pb::api::authentication::v1::TokenRequest => k8s_openapi::api::authentication::v1::TokenRequest,
    k8s_pb::api::autoscaling::v1::Scale => k8s_openapi::api::autoscaling::v1::Scale,
    k8s_pb::api::batch::v1::CronJob => k8s_openapi::api::batch::v1::CronJob,
    k8s_pb::api::batch::v1::Job => k8s_openapi::api::batch::v1::Job,
    k8s_pb::api::coordination::v1::Lease => k8s_openapi::api::coordination::v1::Lease,
    k8s_pb::api::discovery::v1::EndpointSlice => k8s_openapi::api::discovery::v1::EndpointSlice,
    k8s_pb::api::events::v1::Event => k8s_openapi::api::events::v1::Event,
    k8s_pb::api::policy::v1::Eviction => k8s_openapi::api::policy::v1::Eviction,
    k8s_pb::api::policy::v1::PodDisruptionBudget => k8s_openapi::api::policy::v1::PodDisruptionBudget,
    k8s_pb::api::rbac::v1::ClusterRole => k8s_openapi::api::rbac::v1::ClusterRole,
    k8s_pb::api::rbac::v1::ClusterRoleBinding => k8s_openapi::api::rbac::v1::ClusterRoleBinding,
    k8s_pb::api::rbac::v1::Role => k8s_openapi::api::rbac::v1::Role,
    k8s_pb::api::rbac::v1::RoleBinding => k8s_openapi::api::rbac::v1::RoleBinding,
    k8s_pb::api::scheduling::v1::PriorityClass => k8s_openapi::api::scheduling::v1::PriorityClass,
    k8s_pb::api::core::v1::Binding => k8s_openapi::api::core::v1::Binding,
    k8s_pb::api::core::v1::ConfigMap => k8s_openapi::api::core::v1::ConfigMap,
    k8s_pb::api::core::v1::Endpoints => k8s_openapi::api::core::v1::Endpoints,
    k8s_pb::api::core::v1::Event => k8s_openapi::api::core::v1::Event,
    k8s_pb::api::core::v1::Namespace => k8s_openapi::api::core::v1::Namespace,
    k8s_pb::api::core::v1::Node => k8s_openapi::api::core::v1::Node,
    k8s_pb::api::core::v1::Pod => k8s_openapi::api::core::v1::Pod,
    k8s_pb::api::core::v1::Secret => k8s_openapi::api::core::v1::Secret,
    k8s_pb::api::core::v1::Service => k8s_openapi::api::core::v1::Service,
    k8s_pb::api::core::v1::ServiceAccount => k8s_openapi::api::core::v1::ServiceAccount,
    k8s_pb::apimachinery::pkg::apis::meta::v1::DeleteOptions => k8s_openapi::apimachinery::pkg::apis::meta::v1::DeleteOptions,
}

/// Paths where `ours` and k8s-openapi's rewrite differ, except the `apiVersion` and `kind`
/// k8s-openapi adds to embedded objects (`volumeClaimTemplates`).
fn diff(ours: &Value, theirs: &Value, path: String, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    Some(w) => diff(v, w, format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: dropped")),
                }
            }
            let added = b
                .keys()
                .filter(|k| !a.contains_key(*k) && !matches!(k.as_str(), "apiVersion" | "kind"));
            out.extend(added.map(|k| format!("{path}.{k}: added")));
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                diff(v, w, format!("{path}[{i}]"), out);
            }
        }
        (a, b) if a != b => out.push(format!("{path}: {a} != {b}")),
        _ => {}
    }
}

#[test]
fn every_message_reference_resolves() {
    assert!(
        MESSAGES.windows(2).all(|w| w[0].name < w[1].name),
        "sorted for binary search"
    );
    for m in MESSAGES {
        assert!(
            m.fields.windows(2).all(|w| w[0].tag < w[1].tag),
            "{} fields sorted",
            m.name
        );
        for f in m.fields {
            if let Ty::Msg(inner) = f.ty {
                assert!(
                    schema::message(inner).is_some(),
                    "{}.{} -> {inner}",
                    m.name,
                    f.json
                );
            }
        }
    }
    for r in ROOTS {
        assert!(schema::message(r.message).is_some(), "{}", r.message);
    }
}
