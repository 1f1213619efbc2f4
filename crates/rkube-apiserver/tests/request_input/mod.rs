//! Arbitrary bytes as a sequence of API requests, and what every answer
//! must satisfy. Shared by the cargo-fuzz target (`fuzz/fuzz_targets/request.rs`)
//! and by `tests/request_decoding.rs`, which feeds it pseudo-random inputs
//! so that CI exercises the same decoding without cargo-fuzz.
//!
//! An input is read as requests, each: method, path template, namespace,
//! query template and content-type choices (one byte each), a name and a
//! query value (a length byte, then text), and a body (two length bytes,
//! little-endian, then bytes). Missing bytes read as zero.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Request, header};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use rkube_apiserver::auth::{AllowAll, Authenticator, Credentials, User};
use rkube_store::embedded::EmbeddedStore;
use serde_json::Value;
use tower::ServiceExt;

/// Most requests one input makes.
pub const MAX_REQUESTS: usize = 8;

/// Methods, the first five those the API serves.
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Path templates: `{ns}` and `{name}` are filled percent-encoded, `{raw}` verbatim.
pub const PATHS: &[&str] = &[
    "/api/v1/namespaces/{ns}/configmaps",
    "/api/v1/namespaces/{ns}/configmaps/{name}",
    "/api/v1/configmaps",
    "/api/v1/namespaces/{ns}/secrets",
    "/api/v1/namespaces/{ns}/secrets/{name}",
    "/api/v1/namespaces/{ns}/pods",
    "/api/v1/namespaces/{ns}/pods/{name}",
    "/api/v1/namespaces/{ns}/pods/{name}/status",
    "/api/v1/namespaces/{ns}/pods/{name}/binding",
    "/api/v1/namespaces/{ns}/pods/{name}/eviction",
    "/api/v1/namespaces/{ns}/pods/{name}/log",
    "/api/v1/namespaces/{ns}/bindings",
    "/api/v1/namespaces/{ns}/services",
    "/api/v1/namespaces/{ns}/services/{name}",
    "/api/v1/namespaces/{ns}/endpoints/{name}",
    "/api/v1/namespaces/{ns}/serviceaccounts/{name}",
    "/api/v1/namespaces",
    "/api/v1/namespaces/{name}",
    "/api/v1/namespaces/{name}/status",
    "/api/v1/namespaces/{name}/finalize",
    "/api/v1/nodes",
    "/api/v1/nodes/{name}",
    "/api/v1/nodes/{name}/status",
    "/apis/apps/v1/namespaces/{ns}/deployments",
    "/apis/apps/v1/namespaces/{ns}/deployments/{name}",
    "/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale",
    "/apis/apps/v1/namespaces/{ns}/deployments/{name}/status",
    "/apis/apps/v1/namespaces/{ns}/replicasets/{name}/scale",
    "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "/apis/apps/v1/namespaces/{ns}/statefulsets/{name}",
    "/apis/apps/v1/namespaces/{ns}/daemonsets/{name}",
    "/apis/apps/v1/namespaces/{ns}/controllerrevisions",
    "/apis/apps/v1/namespaces/{ns}/controllerrevisions/{name}",
    "/apis/batch/v1/namespaces/{ns}/jobs/{name}",
    "/apis/batch/v1/namespaces/{ns}/cronjobs",
    "/apis/batch/v1/namespaces/{ns}/cronjobs/{name}",
    "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
    "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}",
    "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
    "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices/{name}",
    "/apis/events.k8s.io/v1/namespaces/{ns}/events",
    "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/{name}",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}",
    "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings/{name}",
    "/apis/scheduling.k8s.io/v1/priorityclasses/{name}",
    "/api/v1/watch/namespaces/{ns}/configmaps",
    "/api/v1/watch/namespaces/{ns}/configmaps/{name}",
    "/api",
    "/apis",
    "/api/v1",
    "/apis/{name}",
    "/apis/{name}/v1/{name}",
    "/openapi/v3",
    "/openapi/v3/{name}",
    "/version",
    "/healthz",
    "/{raw}",
];

/// Namespaces; the last entry stands for the input's name.
pub const NAMESPACES: &[&str] = &["default", "kube-system", "missing", "{name}"];

/// Query templates: `{q}` is filled percent-encoded, `{rawq}` verbatim.
pub const QUERIES: &[&str] = &[
    "",
    "watch=1&timeoutSeconds=1",
    "watch=true&resourceVersion={q}",
    "watch=1&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan",
    "limit={q}",
    "limit=1&continue={q}",
    "labelSelector={q}",
    "fieldSelector={q}",
    "resourceVersion={q}",
    "resourceVersion={q}&resourceVersionMatch=Exact",
    "dryRun={q}",
    "dryRun=All",
    "gracePeriodSeconds={q}",
    "propagationPolicy={q}",
    "fieldValidation={q}",
    "{rawq}",
];

/// Content types, the empty one meaning no header.
pub const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/vnd.kubernetes.protobuf",
    "application/json; charset=utf-8",
    "text/plain",
    "",
];

/// Accepts every request as a cluster administrator.
pub struct AllowAnyone;

impl Authenticator for AllowAnyone {
    fn authenticate(&self, _creds: &Credentials<'_>) -> Option<User> {
        Some(User {
            name: "fuzz".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        })
    }
}

/// A fresh API server over an embedded store in `dir`.
pub async fn app(dir: &Path) -> Router {
    let store = EmbeddedStore::open(dir)
        .await
        .expect("open the embedded store");
    let config = rkube_apiserver::Config {
        advertise_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        port: 6443,
        service_network: rkube_apiserver::service_ips::ServiceNetwork::parse("10.43.0.0/16")
            .expect("service network"),
    };
    let app = rkube_apiserver::build(
        Arc::new(store),
        Box::new(AllowAnyone),
        Box::new(AllowAll),
        config,
    )
    .await
    .expect("build the API server");
    rkube_apiserver::router(app)
}

/// Reads the input front to back; missing bytes are zero.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    fn pick<T: Copy>(&mut self, table: &[T]) -> T {
        table[usize::from(self.byte()) % table.len()]
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    fn text(&mut self) -> String {
        let n = usize::from(self.byte());
        String::from_utf8_lossy(self.bytes(n)).into_owned()
    }
}

/// The requests an input describes (those that form a valid HTTP request).
pub fn requests(data: &[u8]) -> Vec<Request<Body>> {
    let mut input = Input { data };
    let mut out = Vec::new();
    for _ in 0..MAX_REQUESTS {
        if input.data.is_empty() {
            break;
        }
        if let Some(req) = request(&mut input) {
            out.push(req);
        }
    }
    out
}

fn request(input: &mut Input<'_>) -> Option<Request<Body>> {
    let method = input.pick(METHODS);
    let path = input.pick(PATHS);
    let namespace = input.pick(NAMESPACES);
    let query = input.pick(QUERIES);
    let content_type = input.pick(CONTENT_TYPES);
    let name = input.text();
    let value = input.text();
    let len = usize::from(u16::from_le_bytes([input.byte(), input.byte()]));
    let body = input.bytes(len).to_vec();
    let encode = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    let namespace = namespace.replace("{name}", &name);
    let path = path
        .replace("{ns}", &encode(&namespace))
        .replace("{name}", &encode(&name))
        .replace("{raw}", &name);
    let query = query
        .replace("{q}", &encode(&value))
        .replace("{rawq}", &value);
    let uri = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    let mut builder = Request::builder().method(method).uri(uri);
    if !content_type.is_empty() {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    builder.body(Body::from(body)).ok()
}

/// Whether the answer to `req` may be an endless watch stream, or has no body (HEAD).
fn skip_success_body(req: &Request<Body>) -> bool {
    req.method() == http::Method::HEAD
        || req.uri().path().contains("/watch/")
        || req.uri().query().is_some_and(|q| q.contains("watch="))
}

/// Send `req` and check the answer: no panic (the caller's panic hook turns
/// one into a failure), no 500, and every failure a JSON `Status` with the
/// response's code, reason and message. Returns the status code.
pub async fn check(router: &Router, req: Request<Body>) -> u16 {
    let what = format!("{} {}", req.method(), req.uri());
    let head = req.method() == http::Method::HEAD;
    let streaming = skip_success_body(&req);
    let resp = match router.clone().oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    };
    let code = resp.status().as_u16();
    assert!(
        code != 500 && code != 501 && code != 502,
        "{what}: HTTP {code}"
    );
    let success = resp.status().is_success();
    if success && streaming {
        return code;
    }
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("read the response body");
    if head {
        assert!(body.is_empty(), "{what}: a HEAD answer has no body");
        return code;
    }
    if success {
        if json {
            serde_json::from_slice::<Value>(&body)
                .unwrap_or_else(|e| panic!("{what}: HTTP {code} body is not JSON: {e}"));
        }
        return code;
    }
    let status: Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "{what}: HTTP {code} body is not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    let shown = format!("{what}: HTTP {code}: {status}");
    assert_eq!(status["kind"], "Status", "{shown}");
    assert_eq!(status["status"], "Failure", "{shown}");
    assert_eq!(status["code"], code, "{shown}");
    assert!(
        status["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{shown}"
    );
    assert!(
        status["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{shown}"
    );
    code
}
