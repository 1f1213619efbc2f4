//! PATCH bodies: JSON patch (RFC 6902) and JSON merge patch (RFC 7386).
//! Strategic merge patch and server-side apply arrive with issue 3 and are
//! refused with 415 until then.

use rkube_api::ApiError;
use serde_json::Value;

/// A decoded patch, ready to apply to the current object.
pub enum Patch {
    Json(json_patch::Patch),
    Merge(Value),
}

/// Media types of the patch kinds accepted today.
const ACCEPTED: &str = "application/json-patch+json, application/merge-patch+json";

impl Patch {
    /// Decode a body by its content type.
    pub fn decode(content_type: &str, body: &[u8]) -> Result<Patch, ApiError> {
        match content_type {
            "application/json-patch+json" => serde_json::from_slice(body)
                .map(Patch::Json)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}"))),
            "application/merge-patch+json" => {
                let v: Value = serde_json::from_slice(body)
                    .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
                if !v.is_object() {
                    return Err(ApiError::bad_request("error decoding patch: a merge patch must be a JSON object"));
                }
                Ok(Patch::Merge(v))
            }
            other => {
                let mut err = ApiError::unsupported_media_type(other);
                err.message = format!(
                    "the body of the request was in an unknown format - accepted media types include: {ACCEPTED}"
                );
                Err(err)
            }
        }
    }

    /// The patched copy of `current`; 422/400 as Kubernetes reports failed patches.
    pub fn apply(&self, current: &Value) -> Result<Value, ApiError> {
        let mut out = current.clone();
        match self {
            Patch::Json(p) => json_patch::patch(&mut out, p).map_err(|e| {
                let mut err = ApiError::invalid("", "", "", &[]);
                err.message = format!("the server rejected our request due to an error in our request: {e}");
                err.details = None;
                err
            })?,
            Patch::Merge(m) => json_patch::merge(&mut out, m),
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_and_json_patches() {
        let cur = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        let m = Patch::decode("application/merge-patch+json", br#"{"metadata":{"labels":{"a":null,"c":"3"}}}"#).expect("decode");
        assert_eq!(m.apply(&cur).expect("apply")["metadata"]["labels"], json!({"b": "2", "c": "3"}));
        let j = Patch::decode("application/json-patch+json", br#"[{"op":"replace","path":"/metadata/labels/a","value":"9"}]"#).expect("decode");
        assert_eq!(j.apply(&cur).expect("apply")["metadata"]["labels"]["a"], "9");
        let bad = Patch::decode("application/json-patch+json", br#"[{"op":"remove","path":"/nope"}]"#).expect("decode");
        assert_eq!(bad.apply(&cur).err().map(|e| e.code), Some(422));
        assert_eq!(Patch::decode("application/strategic-merge-patch+json", b"{}").err().map(|e| e.code), Some(415));
    }
}
