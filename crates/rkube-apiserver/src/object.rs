//! Small, total helpers over objects held as JSON: reading and setting the
//! metadata fields the registry manages.

use serde_json::{Map, Value, json};

/// `v` as a map, replacing any other shape with an empty map.
pub fn ensure_object(v: &mut Value) -> &mut Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => {
            *other = Value::Object(Map::new());
            ensure_object(other)
        }
    }
}

/// `metadata` as a mutable map, created if absent or of the wrong shape.
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    ensure_object(
        ensure_object(obj)
            .entry("metadata")
            .or_insert_with(|| json!({})),
    )
}

/// A string field of `metadata`, empty when absent.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj["metadata"][field].as_str().unwrap_or_default()
}

/// Fill `metadata.resourceVersion` from the store's mod revision.
pub fn set_resource_version(obj: &mut Value, revision: i64) {
    meta_mut(obj).insert(
        "resourceVersion".into(),
        Value::String(revision.to_string()),
    );
}

/// The object's finalizers.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The current time as Kubernetes writes timestamps (RFC 3339, seconds).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A timestamp `seconds` from now, in the same format.
pub fn rfc3339_in(seconds: i64) -> String {
    let ts = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(seconds))
        .unwrap_or_else(|_| jiff::Timestamp::now());
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The bytes stored for an object: its JSON without `resourceVersion`
/// (the store's revision is the source of truth).
pub fn to_stored(obj: &Value) -> Vec<u8> {
    let mut copy = obj.clone();
    meta_mut(&mut copy).remove("resourceVersion");
    serde_json::to_vec(&copy).unwrap_or_default()
}

/// Everything of an object except metadata and status, to detect spec changes.
pub fn spec_part(obj: &Value) -> Value {
    let mut copy = obj.clone();
    if let Value::Object(m) = &mut copy {
        m.remove("metadata");
        m.remove("status");
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_drops_resource_version() {
        let mut obj = json!({"metadata": {"name": "a"}, "data": {"k": "v"}});
        set_resource_version(&mut obj, 7);
        assert_eq!(meta_str(&obj, "resourceVersion"), "7");
        let stored: Value = serde_json::from_slice(&to_stored(&obj)).unwrap_or_default();
        assert_eq!(
            stored,
            json!({"metadata": {"name": "a"}, "data": {"k": "v"}})
        );
    }

    #[test]
    fn metadata_is_created_on_wrong_shapes() {
        let mut obj = json!({"metadata": 5});
        meta_mut(&mut obj).insert("name".into(), json!("x"));
        assert_eq!(meta_str(&obj, "name"), "x");
        let mut not_object = json!([1]);
        meta_mut(&mut not_object);
        assert!(not_object["metadata"].is_object());
    }
}
