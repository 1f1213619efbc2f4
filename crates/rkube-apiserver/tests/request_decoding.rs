//! Request decoding without cargo-fuzz: a few hundred pseudo-random inputs
//! (from a fixed seed) go through the same decoding and checks as the fuzz
//! target `fuzz/fuzz_targets/request.rs`, plus regression tests for what
//! earlier runs found.

mod request_input;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::body::Body;
use bytes::Bytes;
use http::{Request, header};
use request_input::{CONTENT_TYPES, METHODS, NAMESPACES, PATHS, QUERIES};

/// Inputs the pseudo-random test feeds.
const INPUTS: usize = 300;

/// A xorshift64* generator: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).expect("small")).expect("small")
    }

    fn pick<'a>(&mut self, table: &[&'a str]) -> &'a str {
        table[self.below(table.len())]
    }
}

const CONFIGMAP: &str = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","labels":{"app":"web"}},"data":{"k":"v"}}"#;
const SECRET: &str = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"},"type":"Opaque","data":{"k":"dg=="}}"#;
const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"busybox","ports":[{"containerPort":80}]}]},"status":{"phase":"Pending"}}"#;
const SERVICE: &str = r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"type":"NodePort","selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080}]}}"#;
const NAMESPACE: &str = r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}"#;
const NODE: &str = r#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"a"},"spec":{"podCIDR":"10.42.1.0/24"}}"#;
const DEPLOYMENT: &str = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}"#;
const STATEFULSET: &str = r#"{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"a"},"spec":{"serviceName":"a","selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}"#;
const CRONJOB: &str = r#"{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"a"},"spec":{"schedule":"*/5 * * * *","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"i"}]}}}}}}"#;
const LEASE: &str = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"a"},"spec":{"holderIdentity":"n1","leaseDurationSeconds":40}}"#;
const SLICE: &str = r#"{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"a"},"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"]}]}"#;
const CLUSTER_ROLE: &str = r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"a"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]}"#;
const REVISION: &str = r#"{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"a"},"revision":1,"data":{"x":[1,{"y":null}]}}"#;
const BINDING: &str = r#"{"apiVersion":"v1","kind":"Binding","metadata":{"name":"a"},"target":{"kind":"Node","name":"n1"}}"#;
const EVICTION: &str = r#"{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"a"},"deleteOptions":{"gracePeriodSeconds":0}}"#;
const SCALE: &str = r#"{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"a"},"spec":{"replicas":3}}"#;
const MERGE_PATCH: &str = r#"{"metadata":{"labels":{"app":null,"tier":"web"},"finalizers":["example.com/hold"]},"spec":{"replicas":5},"status":{"phase":"Running"}}"#;
const JSON_PATCH: &str = r#"[{"op":"add","path":"/metadata/labels","value":{"a":"b"}},{"op":"copy","from":"/metadata/labels","path":"/metadata/annotations"},{"op":"test","path":"/metadata/name","value":"a"},{"op":"remove","path":"/metadata/finalizers"}]"#;
const DELETE_OPTIONS: &str = r#"{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,"propagationPolicy":"Foreground","preconditions":{"uid":"x"}}"#;
const YAML: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {app: web}\ndata:\n  k: |\n    text\n";

/// Endpoints and the body that fits them: collection path, object path, body.
const FITS: &[(&str, &str, &str)] = &[
    (
        "/api/v1/namespaces/{ns}/configmaps",
        "/api/v1/namespaces/{ns}/configmaps/{name}",
        CONFIGMAP,
    ),
    (
        "/api/v1/namespaces/{ns}/pods",
        "/api/v1/namespaces/{ns}/pods/{name}",
        POD,
    ),
    (
        "/api/v1/namespaces/{ns}/services",
        "/api/v1/namespaces/{ns}/services/{name}",
        SERVICE,
    ),
    ("/api/v1/namespaces", "/api/v1/namespaces/{name}", NAMESPACE),
    ("/api/v1/nodes", "/api/v1/nodes/{name}", NODE),
    (
        "/apis/apps/v1/namespaces/{ns}/deployments",
        "/apis/apps/v1/namespaces/{ns}/deployments/{name}",
        DEPLOYMENT,
    ),
    (
        "/apis/apps/v1/namespaces/{ns}/statefulsets",
        "/apis/apps/v1/namespaces/{ns}/statefulsets/{name}",
        STATEFULSET,
    ),
    (
        "/apis/batch/v1/namespaces/{ns}/cronjobs",
        "/apis/batch/v1/namespaces/{ns}/cronjobs/{name}",
        CRONJOB,
    ),
    (
        "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
        "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}",
        LEASE,
    ),
    (
        "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
        "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices/{name}",
        SLICE,
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}",
        CLUSTER_ROLE,
    ),
    (
        "/apis/apps/v1/namespaces/{ns}/controllerrevisions",
        "/apis/apps/v1/namespaces/{ns}/controllerrevisions/{name}",
        REVISION,
    ),
    (
        "/api/v1/namespaces/{ns}/secrets",
        "/api/v1/namespaces/{ns}/secrets/{name}",
        SECRET,
    ),
];

/// Subresource paths and the body that fits them.
const SUBRESOURCES: &[(&str, &str)] = &[
    ("/api/v1/namespaces/{ns}/pods/{name}/status", POD),
    ("/api/v1/namespaces/{ns}/pods/{name}/binding", BINDING),
    ("/api/v1/namespaces/{ns}/pods/{name}/eviction", EVICTION),
    ("/api/v1/namespaces/{ns}/bindings", BINDING),
    (
        "/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale",
        SCALE,
    ),
    (
        "/apis/apps/v1/namespaces/{ns}/deployments/{name}/status",
        DEPLOYMENT,
    ),
    ("/api/v1/namespaces/{name}/finalize", NAMESPACE),
    ("/api/v1/namespaces/{name}/status", NAMESPACE),
    ("/api/v1/nodes/{name}/status", NODE),
];

/// Fragments the mutations splice in.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ",",
    ":",
    "null",
    "-1",
    "1e400",
    "\"\\u0000\"",
    "{\"a\":",
    "true",
    "18446744073709551616",
    "\"Bad_Name\"",
    "\n- ",
    ": &a [*a]",
    "\"metadata\":[]",
    "\"status\":\"x\"",
    "\"spec\":7",
    "{\"op\":\"remove\",\"path\":\"/\"}",
];

/// Names (the bodies use `a`) and query values the requests use.
const NAMES: &[&str] = &[
    "a",
    "a",
    "a",
    "web",
    "default",
    "kube-system",
    "kubernetes",
    "Bad_Name",
    "",
    "..",
    "a/b",
    "%zz",
    "\u{1F600}",
];
const VALUES: &[&str] = &[
    "",
    "0",
    "1",
    "abc",
    "-1",
    "1e3",
    "All",
    "Foreground",
    "a in (b",
    "a=b,c!=d",
    "app=web",
    "metadata.name=a",
    "spec.nope=x",
    "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiIuLi8ifQ==",
    "%",
];

fn mutated(rng: &mut Rng, body: &str) -> Vec<u8> {
    let mut body = body.as_bytes().to_vec();
    let at = |rng: &mut Rng, body: &Vec<u8>| rng.below(body.len() + 1);
    match rng.below(8) {
        0..=3 => {}
        4 => body.truncate(at(rng, &body)),
        5 if !body.is_empty() => {
            let i = rng.below(body.len());
            body[i] ^= 1 << rng.below(8);
        }
        6 => {
            let i = at(rng, &body);
            let token = rng.pick(TOKENS).as_bytes().to_vec();
            body.splice(i..i, token);
        }
        _ => {
            let i = at(rng, &body);
            let j = (i + rng.below(16)).min(body.len());
            let token = rng.pick(TOKENS).as_bytes().to_vec();
            body.splice(i..j, token);
        }
    }
    body
}

/// Index of `item` in one of the harness's tables.
fn index(table: &[&str], item: &str) -> u8 {
    let i = table
        .iter()
        .position(|x| *x == item)
        .unwrap_or_else(|| panic!("{item:?} is not in the table"));
    u8::try_from(i).expect("small table")
}

/// One request in the fuzz target's format.
struct Req<'a> {
    method: &'a str,
    path: &'a str,
    content_type: &'a str,
    body: Vec<u8>,
}

fn encode(rng: &mut Rng, out: &mut Vec<u8>, req: &Req<'_>, name: &str) {
    out.push(index(METHODS, req.method));
    out.push(index(PATHS, req.path));
    let namespaces = if rng.below(4) == 0 {
        NAMESPACES.len()
    } else {
        1
    };
    out.push(u8::try_from(rng.below(namespaces)).expect("small table"));
    let queries = if rng.below(3) == 0 { QUERIES.len() } else { 1 };
    out.push(u8::try_from(rng.below(queries)).expect("small table"));
    out.push(index(CONTENT_TYPES, req.content_type));
    for text in [name, rng.pick(VALUES)] {
        let bytes = &text.as_bytes()[..text.len().min(255)];
        out.push(u8::try_from(bytes.len()).expect("at most 255"));
        out.extend_from_slice(bytes);
    }
    out.extend_from_slice(
        &u16::try_from(req.body.len())
            .expect("small body")
            .to_le_bytes(),
    );
    out.extend_from_slice(&req.body);
}

/// One input in the fuzz target's format: create an object, then act on it.
fn input(rng: &mut Rng) -> Vec<u8> {
    let (collection, object, body) = FITS[rng.below(FITS.len())];
    let name = if rng.below(5) == 0 {
        rng.pick(NAMES)
    } else {
        "a"
    };
    let json = |rng: &mut Rng| {
        if rng.below(8) == 0 {
            rng.pick(CONTENT_TYPES)
        } else {
            "application/json"
        }
    };
    let mut out = Vec::new();
    let create = Req {
        method: "POST",
        path: collection,
        content_type: json(rng),
        body: mutated(rng, body),
    };
    encode(rng, &mut out, &create, name);
    for _ in 0..rng.below(request_input::MAX_REQUESTS) {
        let (path, fit) = if rng.below(3) == 0 {
            SUBRESOURCES[rng.below(SUBRESOURCES.len())]
        } else {
            (object, body)
        };
        let req = match rng.below(9) {
            0 | 1 => Req {
                method: "GET",
                path,
                content_type: "",
                body: Vec::new(),
            },
            2 => Req {
                method: "GET",
                path: collection,
                content_type: "",
                body: Vec::new(),
            },
            3 => Req {
                method: "PUT",
                path,
                content_type: json(rng),
                body: mutated(rng, fit),
            },
            4 => Req {
                method: "POST",
                path,
                content_type: json(rng),
                body: mutated(rng, fit),
            },
            5 => Req {
                method: "PATCH",
                path,
                content_type: "application/merge-patch+json",
                body: mutated(rng, MERGE_PATCH),
            },
            6 => Req {
                method: "PATCH",
                path,
                content_type: "application/json-patch+json",
                body: mutated(rng, JSON_PATCH),
            },
            7 => Req {
                method: "DELETE",
                path,
                content_type: json(rng),
                body: mutated(rng, DELETE_OPTIONS),
            },
            _ => Req {
                method: rng.pick(METHODS),
                path: rng.pick(PATHS),
                content_type: rng.pick(CONTENT_TYPES),
                body: {
                    let start = rng.pick(&[YAML, CONFIGMAP, JSON_PATCH, ""]);
                    mutated(rng, start)
                },
            },
        };
        encode(rng, &mut out, &req, name);
    }
    out
}

/// Panics anywhere (also in tasks the server spawns) fail the test.
fn fail_on_any_panic() -> &'static AtomicBool {
    static PANICKED: AtomicBool = AtomicBool::new(false);
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICKED.store(true, Ordering::SeqCst);
        default(info);
    }));
    &PANICKED
}

/// Run one input on a fresh server, as the fuzz target does.
fn run(data: &[u8]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    runtime.block_on(async {
        let router = request_input::app(dir.path()).await;
        for req in request_input::requests(data) {
            request_input::check(&router, req).await;
        }
    });
}

/// With `RKUBE_FUZZ_SEEDS=DIR`, the inputs are also written to DIR to seed
/// cargo-fuzz's corpus (see fuzz/README.md).
#[test]
fn pseudo_random_requests_never_hurt() {
    let panicked = fail_on_any_panic();
    let seeds = std::env::var_os("RKUBE_FUZZ_SEEDS").map(std::path::PathBuf::from);
    if let Some(dir) = &seeds {
        std::fs::create_dir_all(dir).expect("create the seed directory");
    }
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    for i in 0..INPUTS {
        let data = input(&mut rng);
        if let Some(dir) = &seeds {
            std::fs::write(dir.join(format!("seed-{i:04}")), &data).expect("write a seed");
        }
        run(&data);
        assert!(
            !panicked.load(Ordering::SeqCst),
            "input {i} panicked: {data:?}"
        );
    }
}

#[test]
fn empty_and_tiny_inputs_decode() {
    assert!(request_input::requests(&[]).is_empty());
    let one = request_input::requests(&[0]);
    assert_eq!(one.len(), 1);
    assert_eq!(
        (one[0].method().as_str(), one[0].uri().path()),
        ("GET", "/api/v1/namespaces/default/configmaps")
    );
    run(&[0xff; 64]);
}

async fn send(
    router: &axum::Router,
    method: &str,
    uri: &str,
    body: Body,
) -> (u16, serde_json::Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .expect("request");
    let resp = tower::ServiceExt::oneshot(router.clone(), req)
        .await
        .expect("infallible");
    let code = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    (code, serde_json::from_slice(&bytes).unwrap_or_default())
}

#[tokio::test]
async fn methods_a_path_does_not_serve_are_405() {
    let dir = tempfile::tempdir().expect("temp dir");
    let router = request_input::app(dir.path()).await;
    let cm = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}"#;
    assert_eq!(
        send(
            &router,
            "POST",
            "/api/v1/namespaces/default/configmaps",
            Body::from(cm)
        )
        .await
        .0,
        201
    );
    for (method, uri) in [
        ("PUT", "/api/v1/namespaces/default/configmaps"),
        ("PATCH", "/api/v1/namespaces/default/configmaps"),
        ("POST", "/api/v1/namespaces/default/configmaps/a"),
        ("DELETE", "/api/v1/namespaces"),
        ("OPTIONS", "/api/v1/namespaces/default/configmaps/a"),
    ] {
        let (code, status) = send(&router, method, uri, Body::from(cm)).await;
        assert_eq!(
            (code, status["reason"].as_str()),
            (405, Some("MethodNotAllowed")),
            "{method} {uri}: {status}"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_are_read_to_the_end_before_the_413() {
    let dir = tempfile::tempdir().expect("temp dir");
    let router = request_input::app(dir.path()).await;
    let read = Arc::new(AtomicUsize::new(0));
    let counter = read.clone();
    let chunks = (0..80).map(move |_| {
        counter.fetch_add(64 * 1024, Ordering::SeqCst);
        Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 64 * 1024]))
    });
    let body = Body::from_stream(futures::stream::iter(chunks));
    let (code, status) = send(
        &router,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        body,
    )
    .await;
    assert_eq!(
        (code, status["reason"].as_str()),
        (413, Some("RequestEntityTooLarge")),
        "{status}"
    );
    assert_eq!(
        read.load(Ordering::SeqCst),
        80 * 64 * 1024,
        "the whole 5 MiB body was read, so the client gets the 413"
    );
}
