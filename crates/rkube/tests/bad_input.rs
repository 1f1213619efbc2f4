//! Bad input never hurts: malformed, oversized, mistyped and unauthenticated
//! requests against a real `rkube server` get Kubernetes' status code,
//! reason and a message naming the problem, and nothing stored changes.

mod support;

use futures::AsyncBufReadExt;
use kube::client::Body;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};
use support::Server;

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";
const SEED: &str = "/api/v1/namespaces/default/configmaps/seed";
const JSON: &str = "application/json";
const YAML: &str = "application/yaml";
const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";

/// A kube-rs client for `s`; `user` replaces the kubeconfig's admin credentials when given.
async fn client_as(s: &Server, user: Option<Value>) -> kube::Client {
    let text = std::fs::read_to_string(&s.kubeconfig).expect("read kubeconfig");
    let mut doc: Value = serde_yaml_ng::from_str(&text).expect("kubeconfig is YAML");
    if let Some(user) = user {
        doc["users"][0]["user"] = user;
    }
    let kc = Kubeconfig::from_yaml(&doc.to_string()).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    kube::Client::try_from(config).expect("client")
}

async fn admin(s: &Server) -> kube::Client {
    client_as(s, None).await
}

/// An HTTP answer: status code and body.
struct Reply {
    code: u16,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

async fn call(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: impl Into<Vec<u8>>,
) -> Reply {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Body::from(body.into()))
        .expect("request");
    let res = client
        .send(req)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: transport error: {e}"));
    let code = res.status().as_u16();
    let body = res
        .into_body()
        .collect_bytes()
        .await
        .expect("response body")
        .to_vec();
    Reply { code, body }
}

async fn get(client: &kube::Client, path: &str) -> Reply {
    call(client, "GET", path, JSON, Vec::new()).await
}

/// Require a `Status` failure with `code`, `reason` and every one of `words` in its message.
fn assert_status(what: &str, reply: &Reply, code: u16, reason: &str, words: &[&str]) {
    let status = reply.json();
    let shown = format!("{what}: got HTTP {} {status}", reply.code);
    assert_eq!(reply.code, code, "{shown}");
    assert_eq!(status["kind"], "Status", "{shown}");
    assert_eq!(status["apiVersion"], "v1", "{shown}");
    assert_eq!(status["status"], "Failure", "{shown}");
    assert_eq!(status["code"], code, "{shown}");
    assert_eq!(status["reason"], reason, "{shown}");
    let message = status["message"].as_str().unwrap_or_default();
    for word in words {
        assert!(
            message.contains(word),
            "{what}: message should mention {word:?}: {shown}"
        );
    }
}

/// Everything stored that a bad request could touch: the lists carry the
/// store's global revision, so any write anywhere shows up as a difference.
async fn stored(client: &kube::Client) -> Value {
    let mut out = json!({});
    for path in [
        "/api/v1/namespaces",
        "/api/v1/configmaps",
        "/api/v1/secrets",
    ] {
        let reply = get(client, path).await;
        assert_eq!(
            reply.code,
            200,
            "list {path}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        out[path] = reply.json();
    }
    out
}

/// Create the objects the cases try to damage; returns the stored state.
async fn seed(client: &kube::Client) -> Value {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "seed", "labels": {"app": "seed"}}, "data": {"k": "v"}});
    let reply = call(client, "POST", CONFIGMAPS, JSON, cm.to_string()).await;
    assert_eq!(
        reply.code,
        201,
        "seed: {}",
        String::from_utf8_lossy(&reply.body)
    );
    stored(client).await
}

/// One bad request and the failure it must get.
struct Case {
    what: &'static str,
    method: &'static str,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    code: u16,
    reason: &'static str,
    words: Vec<String>,
}

fn case(
    what: &'static str,
    method: &'static str,
    path: &str,
    content_type: &'static str,
    body: impl Into<Vec<u8>>,
) -> Case {
    Case {
        what,
        method,
        path: path.to_string(),
        content_type,
        body: body.into(),
        code: 0,
        reason: "",
        words: Vec::new(),
    }
}

impl Case {
    fn fails(mut self, code: u16, reason: &'static str, words: &[&str]) -> Case {
        self.code = code;
        self.reason = reason;
        self.words = words.iter().map(|w| (*w).to_string()).collect();
        self
    }
}

/// Run every case, then require the stored state to be exactly `before`.
async fn run_cases(client: &kube::Client, before: &Value, cases: Vec<Case>) {
    for c in &cases {
        let reply = call(client, c.method, &c.path, c.content_type, c.body.clone()).await;
        let words: Vec<&str> = c.words.iter().map(String::as_str).collect();
        assert_status(c.what, &reply, c.code, c.reason, &words);
    }
    assert_eq!(
        &stored(client).await,
        before,
        "bad requests changed what is stored"
    );
}

fn configmap(metadata: Value) -> Vec<u8> {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"k": "v"}})
        .to_string()
        .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_mistyped_bodies_are_400() {
    let s = Server::start();
    let client = admin(&s).await;
    let before = seed(&client).await;
    let cases = vec![
        case(
            "truncated JSON",
            "POST",
            CONFIGMAPS,
            JSON,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x""#,
        )
        .fails(400, "BadRequest", &["EOF while parsing"]),
        case(
            "JSON syntax error",
            "POST",
            CONFIGMAPS,
            JSON,
            r#"{"apiVersion": v1}"#,
        )
        .fails(400, "BadRequest", &["expected value"]),
        case("truncated JSON on update", "PUT", SEED, JSON, "{").fails(
            400,
            "BadRequest",
            &["EOF while parsing"],
        ),
        case(
            "malformed YAML",
            "POST",
            CONFIGMAPS,
            YAML,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x\n",
        )
        .fails(400, "BadRequest", &["YAML"]),
        case(
            "malformed YAML on update",
            "PUT",
            SEED,
            YAML,
            "metadata:\n  name: seed\n - x: :\n",
        )
        .fails(400, "BadRequest", &["YAML"]),
        case(
            "JSON array",
            "POST",
            CONFIGMAPS,
            JSON,
            r#"[{"apiVersion":"v1","kind":"ConfigMap"}]"#,
        )
        .fails(400, "BadRequest", &["expected an object", "array"]),
        case("JSON string", "POST", CONFIGMAPS, JSON, r#""ConfigMap""#).fails(
            400,
            "BadRequest",
            &["expected an object", "string"],
        ),
        case("JSON number", "POST", CONFIGMAPS, JSON, "42").fails(
            400,
            "BadRequest",
            &["expected an object"],
        ),
        case("JSON null", "PUT", SEED, JSON, "null").fails(
            400,
            "BadRequest",
            &["expected an object", "null"],
        ),
        case("YAML scalar", "POST", CONFIGMAPS, YAML, "just a string\n").fails(
            400,
            "BadRequest",
            &["expected an object"],
        ),
        case("empty body", "POST", CONFIGMAPS, JSON, "").fails(
            400,
            "BadRequest",
            &["EOF while parsing"],
        ),
        case(
            "wrong kind",
            "POST",
            CONFIGMAPS,
            JSON,
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}"#,
        )
        .fails(400, "BadRequest", &["Secret", "ConfigMap"]),
        case(
            "wrong kind on update",
            "PUT",
            SEED,
            JSON,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"seed"}}"#,
        )
        .fails(400, "BadRequest", &["Pod", "ConfigMap"]),
        case(
            "wrong apiVersion",
            "POST",
            CONFIGMAPS,
            JSON,
            r#"{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}"#,
        )
        .fails(400, "BadRequest", &["apps/v1", "v1"]),
        case(
            "wrong apiVersion on update",
            "PUT",
            SEED,
            JSON,
            r#"{"apiVersion":"v2","kind":"ConfigMap","metadata":{"name":"seed"}}"#,
        )
        .fails(400, "BadRequest", &["v2"]),
        case(
            "namespace differs from URL",
            "POST",
            CONFIGMAPS,
            JSON,
            configmap(json!({"name": "x", "namespace": "kube-system"})),
        )
        .fails(400, "BadRequest", &["namespace"]),
        case(
            "namespace differs on update",
            "PUT",
            SEED,
            JSON,
            configmap(json!({"name": "seed", "namespace": "kube-system"})),
        )
        .fails(400, "BadRequest", &["namespace"]),
        case(
            "name differs on update",
            "PUT",
            SEED,
            JSON,
            configmap(json!({"name": "other"})),
        )
        .fails(400, "BadRequest", &["other", "seed"]),
        case(
            "metadata of the wrong type",
            "POST",
            CONFIGMAPS,
            JSON,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":["x"]}}"#,
        )
        .fails(
            422,
            "Invalid",
            &["invalid type: sequence, expected a string"],
        ),
        case(
            "invalid UTF-8",
            "POST",
            CONFIGMAPS,
            JSON,
            b"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"\xff\xfe\"}}"
                .to_vec(),
        )
        .fails(400, "BadRequest", &["invalid unicode code point"]),
        case("malformed merge patch", "PATCH", SEED, MERGE, "{\"data\":").fails(
            400,
            "BadRequest",
            &["error decoding patch"],
        ),
        case(
            "merge patch that is not an object",
            "PATCH",
            SEED,
            MERGE,
            "[1]",
        )
        .fails(400, "BadRequest", &["must be a JSON object"]),
        case(
            "malformed JSON patch",
            "PATCH",
            SEED,
            JSON_PATCH,
            r#"[{"op":"jump"}]"#,
        )
        .fails(400, "BadRequest", &["error decoding patch"]),
        case("malformed DeleteOptions", "DELETE", SEED, JSON, "{oops").fails(
            400,
            "BadRequest",
            &["key must be a string"],
        ),
        case(
            "unknown content type",
            "POST",
            CONFIGMAPS,
            "text/plain",
            "hello",
        )
        .fails(415, "UnsupportedMediaType", &["text/plain"]),
    ];
    run_cases(&client, &before, cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_names_and_labels_are_422() {
    let s = Server::start();
    let client = admin(&s).await;
    let before = seed(&client).await;
    let long_name = "a".repeat(300);
    let long_value = "v".repeat(64);
    let seed_with_labels = |labels: Value| configmap(json!({"name": "seed", "labels": labels}));
    let cases = vec![
        case(
            "name with _ and capitals",
            "POST",
            CONFIGMAPS,
            JSON,
            configmap(json!({"name": "Bad_Name"})),
        )
        .fails(422, "Invalid", &["metadata.name", "Bad_Name"]),
        case(
            "300-character name",
            "POST",
            CONFIGMAPS,
            JSON,
            configmap(json!({"name": long_name})),
        )
        .fails(422, "Invalid", &["metadata.name", "253"]),
        case(
            "namespace name with a dot",
            "POST",
            "/api/v1/namespaces",
            JSON,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}})
                .to_string(),
        )
        .fails(422, "Invalid", &["metadata.name"]),
        case(
            "no name at all",
            "POST",
            CONFIGMAPS,
            JSON,
            configmap(json!({})),
        )
        .fails(422, "Invalid", &["metadata.name"]),
        case(
            "label key with a space",
            "POST",
            CONFIGMAPS,
            JSON,
            configmap(json!({"name": "x", "labels": {"bad key": "v"}})),
        )
        .fails(422, "Invalid", &["metadata.labels", "bad key"]),
        case(
            "label value too long",
            "POST",
            CONFIGMAPS,
            JSON,
            configmap(json!({"name": "x", "labels": {"k": long_value}})),
        )
        .fails(422, "Invalid", &["metadata.labels", "63"]),
        case(
            "label value with a slash",
            "POST",
            CONFIGMAPS,
            JSON,
            configmap(json!({"name": "x", "labels": {"k": "a/b"}})),
        )
        .fails(422, "Invalid", &["metadata.labels", "a/b"]),
        case(
            "invalid label on update",
            "PUT",
            SEED,
            JSON,
            seed_with_labels(json!({"-bad": "v"})),
        )
        .fails(422, "Invalid", &["metadata.labels", "-bad"]),
        case(
            "invalid label by merge patch",
            "PATCH",
            SEED,
            MERGE,
            r#"{"metadata":{"labels":{"app":"no good"}}}"#,
        )
        .fails(422, "Invalid", &["metadata.labels", "no good"]),
        case(
            "invalid label by JSON patch",
            "PATCH",
            SEED,
            JSON_PATCH,
            r#"[{"op":"add","path":"/metadata/labels/x~1y~1z","value":"v"}]"#,
        )
        .fails(422, "Invalid", &["metadata.labels", "x/y/z"]),
    ];
    run_cases(&client, &before, cases).await;
}

/// `[[[ ... ]]]` nested `depth` deep.
fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_deeply_nested_bodies_do_not_hurt() {
    let s = Server::start();
    let client = admin(&s).await;
    let before = seed(&client).await;
    let huge = "x".repeat(3 * 1024 * 1024 + 1024);
    let deep = nested_arrays(100_000);
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
    let cases = vec![
        case("body over 3 MiB", "POST", CONFIGMAPS, JSON, configmap_with_data(&json!(huge))).fails(413, "RequestEntityTooLarge", &["3145728"]),
        case("update over 3 MiB", "PUT", SEED, JSON, configmap_with_data(&json!(huge))).fails(413, "RequestEntityTooLarge", &["3145728"]),
        case("patch over 3 MiB", "PATCH", SEED, MERGE, json!({"data": {"big": huge}}).to_string())
            .fails(413, "RequestEntityTooLarge", &["3145728"]),
        case("100,000 nested arrays", "POST", CONFIGMAPS, JSON,
            format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"deep"}},"data":{{"k":{deep}}}}}"#))
            .fails(400, "BadRequest", &["recursion limit"]),
        case("100,000 nested objects", "PUT", SEED, JSON,
            format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"seed"}},"data":{{"k":{deep_object}}}}}"#))
            .fails(400, "BadRequest", &["recursion limit"]),
        case("10,000 nested YAML sequences", "POST", CONFIGMAPS, YAML,
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: deep}}\ndata: {{k: {}}}\n", nested_arrays(10_000)))
            .fails(400, "BadRequest", &["recursion limit"]),
        case("nested merge patch", "PATCH", SEED, MERGE, format!(r#"{{"data":{{"k":{deep}}}}}"#)).fails(400, "BadRequest", &["recursion limit"]),
        case("nested JSON patch", "PATCH", SEED, JSON_PATCH, format!(r#"[{{"op":"add","path":"/data/k","value":{deep}}}]"#))
            .fails(400, "BadRequest", &["recursion limit"]),
        case("nested DeleteOptions", "DELETE", SEED, JSON, format!(r#"{{"preconditions":{deep}}}"#)).fails(400, "BadRequest", &["recursion limit"]),
        case("YAML alias bomb", "POST", CONFIGMAPS, YAML, yaml_bomb()).fails(400, "BadRequest", &["YAML"]),
        case("JSON patch with 10,001 operations", "PATCH", SEED, JSON_PATCH, json_patch(10_001, r#"{"op":"test","path":"/data/k","value":"v"}"#))
            .fails(413, "RequestEntityTooLarge", &["maximum operations in a JSON patch is 10000, got 10001"]),
        case("JSON patch copying a value into itself 40 times", "PATCH", SEED, JSON_PATCH,
            with_managed_fields(40, r#"{"op":"copy","from":"/metadata/managedFields","path":"/metadata/managedFields/-"}"#))
            .fails(422, "Invalid", &["would copy more than 3145728 bytes"]),
        case("JSON patch nesting a value 9,999 levels deep", "PATCH", SEED, JSON_PATCH,
            with_managed_fields(9_999, r#"{"op":"copy","from":"/metadata/managedFields/0/fieldsV1","path":"/metadata/managedFields/0/fieldsV1/a"}"#))
            .fails(422, "Invalid", &["more than 127 levels deep"]),
    ];
    run_cases(&client, &before, cases).await;
    let health = get(&client, "/healthz").await;
    assert_eq!(
        (health.code, health.body.as_slice()),
        (200, b"ok".as_slice()),
        "server is alive after deep nesting"
    );
    assert_eq!(get(&client, SEED).await.code, 200);
}

/// A JSON patch of `n` copies of `op`.
fn json_patch(n: usize, op: &str) -> String {
    format!("[{}]", vec![op; n].join(","))
}

/// A JSON patch giving the seed free-form managed fields, then `n` copies of `op`.
fn with_managed_fields(n: usize, op: &str) -> String {
    let start = r#"{"op":"add","path":"/metadata/managedFields","value":[{"manager":"m","operation":"Update","fieldsType":"FieldsV1","fieldsV1":{}}]}"#;
    format!("[{start},{}]", vec![op; n].join(","))
}

fn configmap_with_data(value: &Value) -> Vec<u8> {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "seed"}, "data": {"big": value}}).to_string().into_bytes()
}

/// "Billion laughs": nine levels of aliases each repeating the previous nine times.
fn yaml_bomb() -> String {
    let mut doc = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\nx0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        doc.push_str(&format!(
            "x{i}: &x{i} [*x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}]\n"
        ));
    }
    doc.push_str("data: {k: *x9}\n");
    doc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_paths_and_queries() {
    let s = Server::start();
    let client = admin(&s).await;
    let before = seed(&client).await;
    let cm = configmap(json!({"name": "x"}));
    let cases = vec![
        case("PUT on a collection", "PUT", CONFIGMAPS, JSON, cm.clone()).fails(
            405,
            "MethodNotAllowed",
            &["configmaps"],
        ),
        case("PATCH on a collection", "PATCH", CONFIGMAPS, MERGE, "{}").fails(
            405,
            "MethodNotAllowed",
            &["configmaps"],
        ),
        case("POST to a named object", "POST", SEED, JSON, cm.clone()).fails(
            405,
            "MethodNotAllowed",
            &["configmaps"],
        ),
        case(
            "DELETE of the namespaces collection",
            "DELETE",
            "/api/v1/namespaces",
            JSON,
            "",
        )
        .fails(405, "MethodNotAllowed", &["deletecollection", "namespaces"]),
        case(
            "PUT on a create-only resource",
            "PUT",
            "/api/v1/namespaces/default/bindings",
            JSON,
            "{}",
        )
        .fails(405, "MethodNotAllowed", &["bindings"]),
        case("unknown resource", "GET", "/api/v1/widgets", JSON, "").fails(
            404,
            "NotFound",
            &["could not find the requested resource"],
        ),
        case(
            "unknown group",
            "POST",
            "/apis/example.com/v1/namespaces/default/things",
            JSON,
            cm.clone(),
        )
        .fails(404, "NotFound", &["could not find the requested resource"]),
        case("unknown version", "GET", "/api/v2/pods", JSON, "").fails(
            404,
            "NotFound",
            &["could not find the requested resource"],
        ),
        case("unknown top-level path", "GET", "/no/such/path", JSON, "").fails(
            404,
            "NotFound",
            &["could not find the requested resource"],
        ),
        case(
            "unknown subresource",
            "GET",
            "/api/v1/namespaces/default/configmaps/seed/nope",
            JSON,
            "",
        )
        .fails(404, "NotFound", &["could not find the requested resource"]),
        case(
            "cluster resource under a namespace",
            "GET",
            "/api/v1/namespaces/default/nodes",
            JSON,
            "",
        )
        .fails(404, "NotFound", &["could not find the requested resource"]),
        case(
            "missing object",
            "GET",
            "/api/v1/namespaces/default/configmaps/missing",
            JSON,
            "",
        )
        .fails(404, "NotFound", &["configmaps \"missing\" not found"]),
        case(
            "missing namespace",
            "POST",
            "/api/v1/namespaces/nowhere/configmaps",
            JSON,
            cm.clone(),
        )
        .fails(404, "NotFound", &["namespaces \"nowhere\" not found"]),
        case(
            "limit=abc",
            "GET",
            &format!("{CONFIGMAPS}?limit=abc"),
            JSON,
            "",
        )
        .fails(400, "BadRequest", &["limit", "abc"]),
        case(
            "unterminated set selector",
            "GET",
            &format!("{CONFIGMAPS}?labelSelector=a%20in%20(b"),
            JSON,
            "",
        )
        .fails(400, "BadRequest", &["unable to parse requirement"]),
        case(
            "bad selector operator",
            "GET",
            &format!("{CONFIGMAPS}?labelSelector=a%3D%3D%3Db"),
            JSON,
            "",
        )
        .fails(
            400,
            "BadRequest",
            &["unable to parse requirement", "found '='"],
        ),
        case(
            "bad field selector",
            "GET",
            &format!("{CONFIGMAPS}?fieldSelector=spec.nope%3Dx"),
            JSON,
            "",
        )
        .fails(400, "BadRequest", &["spec.nope"]),
        case(
            "bad continue token",
            "GET",
            &format!("{CONFIGMAPS}?limit=1&continue=bm90LWEtdG9rZW4"),
            JSON,
            "",
        )
        .fails(400, "BadRequest", &["continue"]),
        case(
            "continue token that is not base64",
            "GET",
            &format!("{CONFIGMAPS}?continue=%25%25%25"),
            JSON,
            "",
        )
        .fails(400, "BadRequest", &["continue"]),
        case(
            "non-numeric resourceVersion",
            "GET",
            &format!("{CONFIGMAPS}?resourceVersion=abc"),
            JSON,
            "",
        )
        .fails(400, "BadRequest", &["resourceVersion", "abc"]),
        case(
            "bad resourceVersionMatch",
            "GET",
            &format!("{CONFIGMAPS}?resourceVersion=1&resourceVersionMatch=Newest"),
            JSON,
            "",
        )
        .fails(400, "BadRequest", &["resourceVersionMatch", "Newest"]),
        case(
            "watch from a non-numeric resourceVersion",
            "GET",
            &format!("{CONFIGMAPS}?watch=1&resourceVersion=abc"),
            JSON,
            "",
        )
        .fails(400, "BadRequest", &["resourceVersion", "abc"]),
        case(
            "watch with a bad timeout",
            "GET",
            &format!("{CONFIGMAPS}?watch=1&timeoutSeconds=soon"),
            JSON,
            "",
        )
        .fails(400, "BadRequest", &["timeoutSeconds", "soon"]),
        case(
            "bad dryRun",
            "POST",
            &format!("{CONFIGMAPS}?dryRun=Maybe"),
            JSON,
            cm.clone(),
        )
        .fails(400, "BadRequest", &["Maybe"]),
        case(
            "bad gracePeriodSeconds",
            "DELETE",
            &format!("{SEED}?gracePeriodSeconds=later"),
            JSON,
            "",
        )
        .fails(400, "BadRequest", &["gracePeriodSeconds", "later"]),
        case(
            "bad propagationPolicy",
            "DELETE",
            &format!("{SEED}?propagationPolicy=Sideways"),
            JSON,
            "",
        )
        .fails(400, "BadRequest", &["propagationPolicy", "Sideways"]),
    ];
    run_cases(&client, &before, cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_from_a_compacted_revision_is_410() {
    let s = Server::start();
    let client = admin(&s).await;
    let before = seed(&client).await;
    let old_rv = before["/api/v1/configmaps"]["items"][0]["metadata"]["resourceVersion"]
        .as_str()
        .expect("seed rv")
        .to_string();
    let s = tokio::task::spawn_blocking(move || {
        let mut s = s;
        s.restart();
        s
    })
    .await
    .expect("restart");
    let client = admin(&s).await;
    let first = old_rv.parse::<i64>().expect("numeric rv") - 1;
    let req = http::Request::get(format!("{CONFIGMAPS}?watch=1&resourceVersion={first}"))
        .body(Vec::new())
        .expect("request");
    let mut lines = client
        .request_stream(req)
        .await
        .expect("watch starts")
        .lines();
    let line = futures::StreamExt::next(&mut lines)
        .await
        .expect("one event")
        .expect("read event");
    let event: Value = serde_json::from_str(&line).expect("event is JSON");
    assert_eq!(event["type"], "ERROR", "{event}");
    let status = &event["object"];
    assert_eq!(
        (
            status["kind"].as_str(),
            status["code"].as_i64(),
            status["reason"].as_str()
        ),
        (Some("Status"), Some(410), Some("Expired")),
        "{event}"
    );
    assert!(
        status["message"]
            .as_str()
            .is_some_and(|m| m.contains("too old resource version")),
        "{event}"
    );
    assert_eq!(
        stored(&client).await,
        before,
        "the restart and the expired watch changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_checked() {
    let s = Server::start();
    let client = admin(&s).await;
    let before = seed(&client).await;
    let token = std::fs::read_to_string(s.dir.join("server/token"))
        .expect("token file")
        .trim()
        .to_string();
    let anonymous = client_as(&s, Some(json!({}))).await;
    let wrong = client_as(&s, Some(json!({"token": "not-the-token"}))).await;
    let joined = client_as(&s, Some(json!({"token": token}))).await;
    for (who, c) in [
        ("no credentials", &anonymous),
        ("a wrong bearer token", &wrong),
    ] {
        assert_status(
            who,
            &get(c, "/api/v1/namespaces").await,
            401,
            "Unauthorized",
            &["Unauthorized"],
        );
        assert_status(
            who,
            &get(c, "/version").await,
            401,
            "Unauthorized",
            &["Unauthorized"],
        );
        let create = call(
            c,
            "POST",
            CONFIGMAPS,
            JSON,
            configmap(json!({"name": "intruder"})),
        )
        .await;
        assert_status(who, &create, 401, "Unauthorized", &["Unauthorized"]);
        assert_status(
            who,
            &call(c, "DELETE", SEED, JSON, "").await,
            401,
            "Unauthorized",
            &["Unauthorized"],
        );
    }
    assert_eq!(
        stored(&client).await,
        before,
        "unauthenticated requests changed what is stored"
    );
    let listed = get(&joined, "/api/v1/namespaces").await;
    assert_eq!(
        listed.code,
        200,
        "the join token is accepted: {}",
        String::from_utf8_lossy(&listed.body)
    );
    assert_eq!(listed.json()["kind"], "NamespaceList");
}
