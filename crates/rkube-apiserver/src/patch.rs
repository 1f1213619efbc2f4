//! PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
//! Kubernetes' strategic merge patch (the merge itself is in
//! `rkube_api::patch::strategic`). Server-side apply
//! (`application/apply-patch+yaml`) is refused with 415 until it arrives.

use json_patch::PatchOperation;
use rkube_api::ApiError;
use rkube_api::patch::schema::Schema;
use rkube_api::patch::strategic;
use serde_json::{Map, Value};

/// Most operations one JSON patch may carry, as in Kubernetes.
const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;
/// Deepest nesting (objects and arrays) a JSON patch may produce: what
/// `serde_json` reads back (its recursion limit), so the stored object stays
/// readable and nothing recurses deeper while serving it.
const MAX_DEPTH: usize = 127;
/// JSON bytes the `copy` operations of one patch may duplicate in total;
/// without a bound, each copy of a value into itself doubles the object.
const MAX_COPIED_BYTES: usize = 3 * 1024 * 1024;

/// A decoded patch, ready to apply to the current object.
pub enum Patch {
    Json(json_patch::Patch),
    Merge(Value),
    Strategic(Map<String, Value>),
}

/// Media types of the patch kinds accepted today.
const ACCEPTED: &str = "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json";

/// Media types accepted for kinds without a strategic merge schema (custom resources, in Kubernetes).
const ACCEPTED_WITHOUT_SCHEMA: &str = "application/json-patch+json, application/merge-patch+json";

/// 415 naming the patch media types that are accepted.
fn unsupported(content_type: &str, accepted: &str) -> ApiError {
    let mut err = ApiError::unsupported_media_type(content_type);
    err.message = format!(
        "the body of the request was in an unknown format - accepted media types include: {accepted}"
    );
    err
}

/// How Go names the JSON type of a value that is not an object.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null | Value::Object(_) => "object",
    }
}

impl Patch {
    /// Decode a body by its content type.
    pub fn decode(content_type: &str, body: &[u8]) -> Result<Patch, ApiError> {
        match content_type {
            "application/json-patch+json" => {
                let p: json_patch::Patch = serde_json::from_slice(body)
                    .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
                if p.0.len() > MAX_JSON_PATCH_OPERATIONS {
                    let mut err = ApiError::too_large();
                    err.message = format!(
                        "The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                        p.0.len()
                    );
                    return Err(err);
                }
                Ok(Patch::Json(p))
            }
            "application/merge-patch+json" => {
                let v: Value = serde_json::from_slice(body)
                    .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
                if !v.is_object() {
                    return Err(ApiError::bad_request(
                        "error decoding patch: a merge patch must be a JSON object",
                    ));
                }
                Ok(Patch::Merge(v))
            }
            "application/strategic-merge-patch+json" => {
                let v: Value = serde_json::from_slice(body)
                    .map_err(|_| ApiError::bad_request("invalid JSON patch"))?;
                match v {
                    Value::Object(m) => Ok(Patch::Strategic(m)),
                    Value::Null => Ok(Patch::Strategic(Map::new())),
                    other => Err(ApiError::bad_request(format!(
                        "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        json_type(&other)
                    ))),
                }
            }
            other => Err(unsupported(other, ACCEPTED)),
        }
    }

    /// The patched copy of `current`; 422/400 as Kubernetes reports failed patches.
    /// A strategic merge patch follows the schema of `current`'s `apiVersion` and `kind`.
    pub fn apply(&self, current: &Value) -> Result<Value, ApiError> {
        let mut out = current.clone();
        match self {
            Patch::Json(p) => apply_json_patch(&mut out, &p.0)?,
            Patch::Merge(m) => json_patch::merge(&mut out, m),
            Patch::Strategic(p) => {
                let (api_version, kind) = (
                    current["apiVersion"].as_str().unwrap_or_default(),
                    current["kind"].as_str().unwrap_or_default(),
                );
                let schema = Schema::of_kind(api_version, kind).ok_or_else(|| {
                    unsupported(
                        "application/strategic-merge-patch+json",
                        ACCEPTED_WITHOUT_SCHEMA,
                    )
                })?;
                out = strategic::apply(current, p, schema).map_err(strategic_error)?;
            }
        }
        Ok(out)
    }
}

/// A failed strategic merge: 400 for malformed directives as in Kubernetes,
/// 422 for the rest (Kubernetes answers those with a bare 500).
fn strategic_error(e: strategic::Error) -> ApiError {
    if e.is_bad_request() {
        ApiError::bad_request(e.to_string())
    } else {
        rejected(e)
    }
}

/// 422 for a patch that cannot be applied, in Kubernetes' words.
fn rejected(detail: impl std::fmt::Display) -> ApiError {
    let mut err = ApiError::invalid("", "", "", &[]);
    err.message =
        format!("the server rejected our request due to an error in our request: {detail}");
    err.details = None;
    err
}

/// Apply `ops` to `doc` one at a time, refusing an operation that would nest
/// the document deeper than [`MAX_DEPTH`] or copy more than
/// [`MAX_COPIED_BYTES`] in total. `doc` is a scratch copy: on error it is
/// left half-patched and must be dropped.
fn apply_json_patch(doc: &mut Value, ops: &[PatchOperation]) -> Result<(), ApiError> {
    let mut copied = 0usize;
    for (i, op) in ops.iter().enumerate() {
        let (placed, kind) = match op {
            PatchOperation::Add(a) => (Some(measure(&a.value)), "add"),
            PatchOperation::Replace(r) => (Some(measure(&r.value)), "replace"),
            PatchOperation::Move(m) => (doc.pointer(m.from.as_str()).map(measure), "move"),
            PatchOperation::Copy(c) => (doc.pointer(c.from.as_str()).map(measure), "copy"),
            PatchOperation::Remove(_) | PatchOperation::Test(_) => (None, ""),
        };
        if let Some(size) = placed {
            if op.path().count() + size.depth > MAX_DEPTH {
                return Err(rejected(format!(
                    "operation {i} ({kind} to {}) would nest the object more than {MAX_DEPTH} levels deep",
                    op.path()
                )));
            }
            if matches!(op, PatchOperation::Copy(_)) {
                copied = copied.saturating_add(size.bytes);
                if copied > MAX_COPIED_BYTES {
                    return Err(rejected(format!(
                        "operation {i} (copy to {}) would copy more than {MAX_COPIED_BYTES} bytes in total",
                        op.path()
                    )));
                }
            }
        }
        json_patch::patch_unsafe(doc, std::slice::from_ref(op)).map_err(|mut e| {
            e.operation = i;
            rejected(e)
        })?;
    }
    Ok(())
}

/// How deep a value nests and about how many bytes its JSON takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Size {
    depth: usize,
    bytes: usize,
}

/// The [`Size`] of `v`, walked without recursion (it may be deeper than the stack allows).
fn measure(v: &Value) -> Size {
    let mut size = Size { depth: 0, bytes: 0 };
    let mut pending = vec![(v, 0usize)];
    while let Some((v, level)) = pending.pop() {
        let bytes = match v {
            Value::Null | Value::Bool(_) | Value::Number(_) => 8,
            Value::String(s) => s.len() + 2,
            Value::Array(a) => {
                pending.extend(a.iter().map(|x| (x, level + 1)));
                a.len() + 2
            }
            Value::Object(m) => {
                pending.extend(m.values().map(|x| (x, level + 1)));
                m.keys().map(|k| k.len() + 4).sum::<usize>() + 2
            }
        };
        if v.is_array() || v.is_object() {
            size.depth = size.depth.max(level + 1);
        }
        size.bytes = size.bytes.saturating_add(bytes);
    }
    size
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_and_json_patches() {
        let cur = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        let m = Patch::decode(
            "application/merge-patch+json",
            br#"{"metadata":{"labels":{"a":null,"c":"3"}}}"#,
        )
        .expect("decode");
        assert_eq!(
            m.apply(&cur).expect("apply")["metadata"]["labels"],
            json!({"b": "2", "c": "3"})
        );
        let j = Patch::decode(
            "application/json-patch+json",
            br#"[{"op":"replace","path":"/metadata/labels/a","value":"9"}]"#,
        )
        .expect("decode");
        assert_eq!(
            j.apply(&cur).expect("apply")["metadata"]["labels"]["a"],
            "9"
        );
        let bad = Patch::decode(
            "application/json-patch+json",
            br#"[{"op":"remove","path":"/nope"}]"#,
        )
        .expect("decode");
        assert_eq!(bad.apply(&cur).err().map(|e| e.code), Some(422));
        let apply = Patch::decode("application/apply-patch+yaml", b"{}")
            .err()
            .expect("server-side apply is not served yet");
        assert_eq!(apply.code, 415);
        assert!(
            apply
                .message
                .ends_with("application/merge-patch+json, application/strategic-merge-patch+json"),
            "{}",
            apply.message
        );
    }

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "x:1"}, {"name": "side", "image": "s:1"}],
        }}}})
    }

    #[test]
    fn strategic_patches_merge_by_the_object_schema() {
        let p = Patch::decode(
            "application/strategic-merge-patch+json",
            br#"{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"x:2"}]}}}}"#,
        )
        .expect("decode");
        let out = p.apply(&deployment()).expect("apply");
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "c", "image": "x:2"}, {"name": "side", "image": "s:1"}])
        );
        let noop = Patch::decode("application/strategic-merge-patch+json", b"null")
            .expect("null is an empty patch");
        assert_eq!(noop.apply(&deployment()).expect("apply"), deployment());
        let scale =
            json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "spec": {"replicas": 1}});
        let p = Patch::decode(
            "application/strategic-merge-patch+json",
            br#"{"spec":{"replicas":3}}"#,
        )
        .expect("decode");
        assert_eq!(p.apply(&scale).expect("apply")["spec"]["replicas"], 3);
        let unknown = json!({"apiVersion": "example.com/v1", "kind": "Widget"});
        assert_eq!(
            p.apply(&unknown).err().map(|e| e.code),
            Some(415),
            "kinds without a schema refuse it, like custom resources"
        );
    }

    #[test]
    fn malformed_strategic_patches_get_kubernetes_errors() {
        let decode = |body: &[u8]| {
            Patch::decode("application/strategic-merge-patch+json", body)
                .err()
                .expect("refused")
        };
        let err = decode(b"{not json");
        assert_eq!(
            (err.code, err.message.as_str()),
            (400, "invalid JSON patch")
        );
        let err = decode(b"[1]");
        assert_eq!(
            (err.code, err.message.as_str()),
            (
                400,
                "json: cannot unmarshal array into Go value of type map[string]interface {}"
            )
        );
        let apply = |body: &[u8]| {
            let p = Patch::decode("application/strategic-merge-patch+json", body).expect("decode");
            p.apply(&deployment()).expect_err("refused")
        };
        let err = apply(br#"{"spec":{"template":{"spec":{"containers":[{"image":"x:2"}]}}}}"#);
        assert_eq!(err.code, 422);
        assert!(
            err.message
                .ends_with("map: map[image:x:2] does not contain declared merge key: name"),
            "{}",
            err.message
        );
        let err = apply(br#"{"metadata":{"$deleteFromPrimitiveList":["a"]}}"#);
        assert_eq!(
            (err.code, err.reason, err.message.as_str()),
            (400, "BadRequest", "invalid patch format of primitive list")
        );
        let err = apply(br#"{"spec":{"template":{"spec":{"containers":[[1]]}}}}"#);
        assert_eq!(err.code, 422);
    }

    /// A JSON patch built in memory (values may be deeper than a request body can carry).
    fn json_patch(ops: &[Value]) -> Patch {
        Patch::Json(serde_json::from_value(Value::Array(ops.to_vec())).expect("patch operations"))
    }

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn failed_operations_are_named_by_index() {
        let cur = json!({"a": 1});
        let p = json_patch(&[
            json!({"op": "test", "path": "/a", "value": 1}),
            json!({"op": "remove", "path": "/b"}),
        ]);
        let err = p.apply(&cur).expect_err("second operation fails");
        assert_eq!(err.code, 422);
        assert!(
            err.message.contains("operation '/1' failed at path '/b'"),
            "{}",
            err.message
        );
    }

    #[test]
    fn too_many_operations_are_413() {
        let ops =
            vec![json!({"op": "test", "path": "/a", "value": 1}); MAX_JSON_PATCH_OPERATIONS + 1];
        let body = serde_json::to_vec(&ops).expect("encode");
        let err = Patch::decode("application/json-patch+json", &body)
            .err()
            .expect("refused");
        assert_eq!((err.code, err.reason), (413, "RequestEntityTooLarge"));
        assert!(
            err.message
                .contains("maximum operations in a JSON patch is 10000, got 10001"),
            "{}",
            err.message
        );
    }

    #[test]
    fn copies_cannot_blow_up_the_object() {
        let cur = json!({"data": {"x": ["0123456789"]}});
        let doubling = vec![json!({"op": "copy", "from": "/data/x", "path": "/data/x/-"}); 40];
        let err = json_patch(&doubling)
            .apply(&cur)
            .expect_err("refused before memory runs out");
        assert_eq!(err.code, 422);
        assert!(
            err.message.contains("would copy more than 3145728 bytes"),
            "{}",
            err.message
        );
    }

    #[test]
    fn patches_cannot_nest_deeper_than_the_parser_reads() {
        let mut ops = vec![json!({"op": "add", "path": "/d", "value": {}})];
        ops.extend(vec![
            json!({"op": "copy", "from": "/d", "path": "/d/a"});
            9_999
        ]);
        let err = json_patch(&ops).apply(&json!({})).expect_err("refused");
        assert!(
            err.message.contains("more than 127 levels deep"),
            "{}",
            err.message
        );
        let inner: Value = serde_json::from_str(&nested(MAX_DEPTH - 1)).expect("parses");
        let ok = json_patch(&[json!({"op": "add", "path": "/a", "value": inner})])
            .apply(&json!({}))
            .expect("at the limit");
        let text = serde_json::to_string(&ok).expect("encode");
        assert!(
            serde_json::from_str::<Value>(&text).is_ok(),
            "the deepest result the patch allows reads back"
        );
        assert!(
            serde_json::from_str::<Value>(&nested(MAX_DEPTH + 1)).is_err(),
            "MAX_DEPTH is the parser's limit"
        );
        let deeper: Value = serde_json::from_str(&nested(MAX_DEPTH)).expect("parses");
        let err = json_patch(&[json!({"op": "add", "path": "/a", "value": deeper})])
            .apply(&json!({}))
            .err();
        assert!(err.is_some(), "one level more is refused");
    }

    #[test]
    fn sizes_are_measured_without_recursion() {
        assert_eq!(measure(&json!(1)).depth, 0);
        assert_eq!(measure(&json!({"a": [1, {"b": []}]})).depth, 4);
        let mut deep = json!([]);
        for _ in 0..200_000 {
            deep = Value::Array(vec![deep]);
        }
        assert_eq!(measure(&deep).depth, 200_001);
        let mut v = deep;
        while let Value::Array(mut a) = v {
            v = a.pop().unwrap_or(Value::Null);
        }
    }
}
