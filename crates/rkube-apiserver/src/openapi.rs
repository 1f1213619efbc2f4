//! OpenAPI v3 documents generated from the served resource table: the root
//! index and one document per group/version with every path and operation,
//! tagged with `x-kubernetes-action` and `x-kubernetes-group-version-kind`
//! and listing the query parameters each verb accepts. kubectl reads these
//! to learn that the server validates fields itself (`fieldValidation`).
//! Object schemas are not part of these documents yet.

use std::hash::{DefaultHasher, Hash, Hasher};

use rkube_api::resources::{self, ResourceInfo};
use serde_json::{Map, Value, json};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn param(name: &str, kind: &str) -> Value {
    json!({ "name": name, "in": "query", "schema": { "type": kind }, "uniqueItems": true })
}

fn params(action: &str) -> Vec<Value> {
    let mut out = vec![param("pretty", "string")];
    match action {
        "list" | "watchlist" => {
            for p in [
                "labelSelector",
                "fieldSelector",
                "resourceVersion",
                "resourceVersionMatch",
                "continue",
            ] {
                out.push(param(p, "string"));
            }
            out.push(param("limit", "integer"));
            out.push(param("timeoutSeconds", "integer"));
            out.push(param("watch", "boolean"));
            out.push(param("allowWatchBookmarks", "boolean"));
            out.push(param("sendInitialEvents", "boolean"));
        }
        "post" | "put" | "patch" => {
            out.push(param("dryRun", "string"));
            out.push(param("fieldManager", "string"));
            out.push(param("fieldValidation", "string"));
            if action == "patch" {
                out.push(param("force", "boolean"));
            }
        }
        "delete" | "deletecollection" => {
            out.push(param("dryRun", "string"));
            out.push(param("gracePeriodSeconds", "integer"));
            out.push(param("propagationPolicy", "string"));
            if action == "deletecollection" {
                out.push(param("labelSelector", "string"));
                out.push(param("fieldSelector", "string"));
            }
        }
        _ => {}
    }
    out
}

fn operation(r: &ResourceInfo, kind: &str, action: &str, id: String) -> Value {
    json!({
        "operationId": id,
        "parameters": params(action),
        "responses": { "200": { "description": "OK" }, "401": { "description": "Unauthorized" } },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": { "group": r.group, "version": r.version, "kind": kind },
    })
}

fn op_id(verb: &str, r: &ResourceInfo, suffix: &str) -> String {
    let scope = if r.namespaced { "Namespaced" } else { "" };
    format!("{verb}{scope}{}{suffix}", r.kind)
}

fn resource_paths(r: &ResourceInfo, paths: &mut Map<String, Value>) {
    let base = format!("/{}", gv_path(r.group, r.version));
    let collection = if r.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", r.plural)
    } else {
        format!("{base}/{}", r.plural)
    };
    let mut coll = Map::new();
    for (method, verb, action, id) in [
        ("get", "list", "list", "list"),
        ("post", "create", "post", "create"),
        (
            "delete",
            "deletecollection",
            "deletecollection",
            "deleteCollection",
        ),
    ] {
        if r.supports(verb) {
            coll.insert(
                method.into(),
                operation(r, r.kind, action, op_id(id, r, "")),
            );
        }
    }
    if !coll.is_empty() {
        paths.insert(collection.clone(), Value::Object(coll));
    }
    let item_path = format!("{collection}/{{name}}");
    let mut item = Map::new();
    for (method, verb, action, id) in [
        ("get", "get", "get", "read"),
        ("put", "update", "put", "replace"),
        ("patch", "patch", "patch", "patch"),
        ("delete", "delete", "delete", "delete"),
    ] {
        if r.supports(verb) {
            item.insert(
                method.into(),
                operation(r, r.kind, action, op_id(id, r, "")),
            );
        }
    }
    if !item.is_empty() {
        paths.insert(item_path.clone(), Value::Object(item));
    }
    for s in r.subresources {
        let kind = if s.kind.is_empty() { r.kind } else { s.kind };
        let suffix = format!("{}{}", s.name[..1].to_uppercase(), &s.name[1..]);
        let mut sub = Map::new();
        for (method, verb, action, id) in [
            ("get", "get", "get", "read"),
            ("post", "create", "post", "create"),
            ("put", "update", "put", "replace"),
            ("patch", "patch", "patch", "patch"),
        ] {
            if s.verbs.contains(&verb) {
                sub.insert(
                    method.into(),
                    operation(r, kind, action, op_id(id, r, &suffix)),
                );
            }
        }
        paths.insert(format!("{item_path}/{}", s.name), Value::Object(sub));
    }
}

/// The OpenAPI v3 document of one group/version, if served.
pub fn group_version_doc(group: &str, version: &str) -> Option<Value> {
    let mut paths = Map::new();
    for r in resources::all()
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        resource_paths(r, &mut paths);
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": format!("v{}.{}.0", crate::discovery::KUBE_MAJOR, crate::discovery::KUBE_MINOR) },
        "paths": paths,
        "components": { "schemas": {} },
    }))
}

fn hash_of(doc: &Value) -> String {
    let mut h = DefaultHasher::new();
    doc.to_string().hash(&mut h);
    format!("{:016X}", h.finish())
}

/// `/openapi/v3`: where each group/version's document is.
pub fn root() -> Value {
    let mut paths = Map::new();
    for (g, v) in resources::group_versions() {
        if let Some(doc) = group_version_doc(g, v) {
            let p = gv_path(g, v);
            paths.insert(
                p.clone(),
                json!({ "serverRelativeURL": format!("/openapi/v3/{p}?hash={}", hash_of(&doc)) }),
            );
        }
    }
    json!({ "paths": paths })
}

/// The document for a path under `/openapi/v3/` (`api/v1`, `apis/apps/v1`).
pub fn document(rel: &str) -> Option<Value> {
    match rel
        .trim_matches('/')
        .split('/')
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["api", v] => group_version_doc("", v),
        ["apis", g, v] => group_version_doc(g, v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_operations_advertise_field_validation() {
        let doc = document("apis/apps/v1").expect("apps/v1 served");
        let op = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(op["x-kubernetes-group-version-kind"]["kind"], "Deployment");
        let names: Vec<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(names.contains(&"fieldValidation"), "{names:?}");
        let root = root();
        let url = root["paths"]["api/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap_or_default();
        assert!(url.starts_with("/openapi/v3/api/v1?hash="), "{url}");
        assert!(document("apis/nope/v1").is_none());
    }
}
