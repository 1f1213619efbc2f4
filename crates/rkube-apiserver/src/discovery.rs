//! Discovery documents: `/version`, `/api`, `/apis`, the per-group-version
//! resource lists and aggregated discovery (`apidiscovery.k8s.io/v2`), all
//! generated from the served resource table.

use rkube_api::resources::{self, ResourceInfo, SubresourceInfo};
use serde_json::{Value, json};

/// Kubernetes version rkube is compatible with.
pub const KUBE_MAJOR: &str = "1";
/// Kubernetes minor version rkube is compatible with.
pub const KUBE_MINOR: &str = "37";

/// The media type of aggregated discovery documents.
pub const AGGREGATED_MEDIA_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// `/version`.
pub fn version() -> Value {
    json!({
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "emulationMajor": KUBE_MAJOR,
        "emulationMinor": KUBE_MINOR,
        "minCompatibilityMajor": KUBE_MAJOR,
        "minCompatibilityMinor": "36",
        "gitVersion": format!("v{KUBE_MAJOR}.{KUBE_MINOR}.0+rkube.{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, if std::env::consts::ARCH == "x86_64" { "amd64" } else { std::env::consts::ARCH }),
    })
}

/// `/api`.
pub fn legacy_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": server_address }],
    })
}

fn named_groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (g, v) in resources::group_versions()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
    {
        match groups.iter_mut().find(|(name, _)| *name == g) {
            Some((_, versions)) => versions.push(v),
            None => groups.push((g, vec![v])),
        }
    }
    groups
}

fn group_doc(name: &str, versions: &[&str]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "groupVersion": format!("{name}/{v}"), "version": v }))
        .collect();
    json!({ "name": name, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null) })
}

/// `/apis`.
pub fn group_list() -> Value {
    let groups: Vec<Value> = named_groups()
        .iter()
        .map(|(g, vs)| group_doc(g, vs))
        .collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

/// `/apis/<group>`, if served.
pub fn group(name: &str) -> Option<Value> {
    let (g, vs) = named_groups().into_iter().find(|(g, _)| *g == name)?;
    let mut doc = group_doc(g, &vs);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

fn sub_kind<'a>(r: &'a ResourceInfo, s: &'a SubresourceInfo) -> (&'a str, &'a str, &'a str) {
    let kind = if s.kind.is_empty() { r.kind } else { s.kind };
    match s.api_version.split_once('/') {
        Some((g, v)) => (g, v, kind),
        None => (r.group, r.version, kind),
    }
}

/// `/api/v1` or `/apis/<group>/<version>`.
pub fn resource_list(group: &str, version: &str) -> Value {
    let mut list = Vec::new();
    for r in resources::all()
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let mut doc = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            doc["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            doc["categories"] = json!(r.categories);
        }
        list.push(doc);
        for s in r.subresources {
            let (g, v, kind) = sub_kind(r, s);
            let mut doc = json!({
                "name": format!("{}/{}", r.plural, s.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": kind,
                "verbs": s.verbs,
            });
            if (g, v) != (r.group, r.version) {
                doc["group"] = json!(g);
                doc["version"] = json!(v);
            }
            list.push(doc);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list })
}

fn aggregated_resource(r: &ResourceInfo) -> Value {
    let mut doc = json!({
        "resource": r.plural,
        "responseKind": { "group": r.group, "version": r.version, "kind": r.kind },
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        doc["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        doc["categories"] = json!(r.categories);
    }
    let subs: Vec<Value> = r
        .subresources
        .iter()
        .map(|s| {
            let (g, v, kind) = sub_kind(r, s);
            json!({ "subresource": s.name, "responseKind": { "group": g, "version": v, "kind": kind }, "verbs": s.verbs })
        })
        .collect();
    if !subs.is_empty() {
        doc["subresources"] = json!(subs);
    }
    doc
}

fn aggregated_group(name: &str, versions: &[&str]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| {
            let res: Vec<Value> = resources::all()
                .iter()
                .filter(|r| r.group == name && r.version == *v)
                .map(aggregated_resource)
                .collect();
            json!({ "version": v, "resources": res, "freshness": "Current" })
        })
        .collect();
    let metadata = if name.is_empty() {
        json!({ "creationTimestamp": null })
    } else {
        json!({ "name": name, "creationTimestamp": null })
    };
    json!({ "metadata": metadata, "versions": vs })
}

/// Aggregated discovery for `/api` (legacy) or `/apis` (named groups).
pub fn aggregated(legacy: bool) -> Value {
    let items: Vec<Value> = if legacy {
        vec![aggregated_group("", &["v1"])]
    } else {
        named_groups()
            .iter()
            .map(|(g, vs)| aggregated_group(g, vs))
            .collect()
    };
    json!({ "kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items })
}

/// Whether the Accept header asks for aggregated discovery v2.
pub fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let p: Vec<&str> = part.split(';').map(str::trim).collect();
        p.contains(&"g=apidiscovery.k8s.io")
            && p.contains(&"v=v2")
            && p.contains(&"as=APIGroupDiscoveryList")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_group_lists_deployments_with_scale() {
        let doc = resource_list("apps", "v1");
        let names: Vec<&str> = doc["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(
            names.contains(&"deployments") && names.contains(&"deployments/scale"),
            "{names:?}"
        );
        let scale = doc["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["name"] == "deployments/scale");
        assert_eq!(
            scale.map(|s| s["group"].clone()),
            Some(json!("autoscaling"))
        );
    }

    #[test]
    fn aggregated_covers_every_group() {
        let doc = aggregated(false);
        let groups: Vec<&str> = doc["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g["metadata"]["name"].as_str())
            .collect();
        for g in [
            "apps",
            "batch",
            "rbac.authorization.k8s.io",
            "coordination.k8s.io",
        ] {
            assert!(groups.contains(&g), "{g} missing from {groups:?}");
        }
        assert!(wants_aggregated(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
        ));
        assert!(!wants_aggregated("application/json"));
    }
}
