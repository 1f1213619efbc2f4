//! `src/patch/generated.rs` is derived, never edited by hand. This test derives
//! it again and fails when the committed file differs; run
//! `RKUBE_API_BLESS=1 cargo test -p rkube-api --test strategic_schema` to rewrite it.
//!
//! The source is Kubernetes 1.37's own OpenAPI definitions as shipped by the
//! PyPI package `kubernetes-validate` 1.37.0
//! (`kubernetes_validate/kubernetes-json-schema/v1.37.0-local/_definitions.json`):
//! `x-kubernetes-patch-strategy` and `x-kubernetes-patch-merge-key` are the Go
//! struct tags Kubernetes' strategic merge patch reads. No crate carries them:
//! k8s-openapi drops these extensions (also from its `schemars` output), and
//! k8s-pb's `+patchStrategy` comments are from an older release that lacks
//! fields of served 1.37 types (`PodSpec.evictionResponders`, ...).
//!
//! The kinds covered are every kind `rkube_api::resources` serves that can be
//! patched and every subresource kind patched in place (`autoscaling/v1`
//! `Scale`; proxies pass PATCH on), with every definition reachable from them
//! that has a patch strategy on a field or below one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Where the definitions are inside the installed package.
const IN_PACKAGE: &str = "kubernetes-json-schema/v1.37.0-local/_definitions.json";

fn missing(detail: &str) -> ! {
    panic!(
        "kubernetes-validate 1.37.0 is needed to check src/patch/generated.rs ({detail}); \
         install it with `python3 -m pip install kubernetes-validate==1.37.0` (or run ./hack/deps.sh), \
         or set RKUBE_K8S_SCHEMA to the path of its {IN_PACKAGE}"
    )
}

/// The `_definitions.json` of kubernetes-validate 1.37.0, found without importing the package.
fn definitions_path() -> PathBuf {
    if let Ok(p) = std::env::var("RKUBE_K8S_SCHEMA") {
        return PathBuf::from(p);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import importlib.util as u; s = u.find_spec('kubernetes_validate'); print(s.submodule_search_locations[0] if s else '')";
    let out = Command::new(&python)
        .args(["-c", script])
        .output()
        .unwrap_or_else(|e| missing(&format!("cannot run {python}: {e}")));
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if dir.is_empty() {
        missing(&format!("{python} cannot find the package"));
    }
    let path = Path::new(&dir).join(IN_PACKAGE);
    if !path.is_file() {
        missing(&format!(
            "{} does not exist: another version is installed",
            path.display()
        ));
    }
    path
}

/// The kinds that can be patched: `(apiVersion, kind)`.
fn patchable_kinds() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for r in rkube_api::resources::all() {
        if r.supports("patch")
            || r.subresources
                .iter()
                .any(|s| s.kind.is_empty() && s.verbs.contains(&"patch"))
        {
            out.insert((r.api_version(), r.kind.to_string()));
        }
        for s in r
            .subresources
            .iter()
            .filter(|s| !s.kind.is_empty() && s.name != "proxy" && s.verbs.contains(&"patch"))
        {
            let api_version = if s.api_version.is_empty() {
                r.api_version()
            } else {
                s.api_version.to_string()
            };
            out.insert((api_version, s.kind.to_string()));
        }
    }
    out
}

/// The definition a property refers to, without the `#/$defs/` prefix.
fn reference(v: &Value) -> Option<&str> {
    v.get("$ref")?.as_str()?.strip_prefix("#/$defs/")
}

/// A property's shape (`Object`, `List`, `Map`) and the definition of its value, items or map values.
fn shape_of<'a>(owner: &str, name: &str, prop: &'a Value) -> (&'static str, Option<&'a str>) {
    if let Some(items) = prop.get("items") {
        assert!(
            items.get("items").is_none(),
            "{owner}.{name}: lists of lists are not expected"
        );
        return ("List", reference(items));
    }
    if let Some(values) = prop.get("additionalProperties").filter(|v| v.is_object()) {
        assert!(
            values.get("items").is_none(),
            "{owner}.{name}: maps of lists are not expected"
        );
        return ("Map", reference(values));
    }
    ("Object", reference(prop))
}

/// The properties of a definition, sorted by name.
fn properties(def: &Value) -> BTreeMap<&String, &Value> {
    def.get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .collect()
}

fn patch_meta(prop: &Value) -> (&str, &str) {
    let s = |k: &str| prop.get(k).and_then(Value::as_str).unwrap_or_default();
    (
        s("x-kubernetes-patch-strategy"),
        s("x-kubernetes-patch-merge-key"),
    )
}

/// The text of `generated.rs` for these definitions.
fn generate(defs: &BTreeMap<String, Value>) -> String {
    let mut roots = BTreeMap::new();
    for (api_version, kind) in patchable_kinds() {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
        let found = defs.iter().find(|(_, d)| {
            d["x-kubernetes-group-version-kind"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|g| g["group"] == group && g["version"] == version && g["kind"] == kind)
        });
        let (name, _) = found.unwrap_or_else(|| panic!("no definition for {api_version} {kind}"));
        roots.insert((api_version.clone(), kind.clone()), name.clone());
    }
    let mut reachable = BTreeSet::new();
    let mut pending: Vec<String> = roots.values().cloned().collect();
    while let Some(name) = pending.pop() {
        let Some(d) = defs.get(&name) else {
            panic!("{name} is referenced but not defined")
        };
        if reachable.insert(name.clone()) {
            for (prop, v) in properties(d) {
                pending.extend(shape_of(&name, prop, v).1.map(str::to_string));
            }
        }
    }
    let mut relevant: BTreeSet<String> = BTreeSet::new();
    loop {
        let before = relevant.len();
        for name in &reachable {
            let matters = properties(&defs[name]).into_iter().any(|(prop, v)| {
                let (strategy, key) = patch_meta(v);
                !strategy.is_empty()
                    || !key.is_empty()
                    || shape_of(name, prop, v)
                        .1
                        .is_some_and(|r| relevant.contains(r))
            });
            if matters {
                relevant.insert(name.clone());
            }
        }
        if relevant.len() == before {
            break;
        }
    }
    let mut out = String::from(
        "//! Generated by `tests/strategic_schema.rs` from Kubernetes 1.37's OpenAPI\n\
         //! definitions (PyPI `kubernetes-validate` 1.37.0, `_definitions.json`); do not edit.\n\
         //! `RKUBE_API_BLESS=1 cargo test -p rkube-api --test strategic_schema` regenerates it.\n\n\
         use super::schema::{Def, Field, Root, Shape::*};\n\n\
         /// Every kind that can be patched, with its definition.\n\
         pub static ROOTS: &[Root] = &[\n",
    );
    for ((api_version, kind), def) in &roots {
        let _ = writeln!(
            out,
            "    Root {{ api_version: \"{api_version}\", kind: \"{kind}\", def: \"{def}\" }},"
        );
    }
    out.push_str("];\n\n/// Definitions with a patch strategy on a field or below one, sorted by name.\npub static DEFS: &[Def] = &[\n");
    for name in &relevant {
        let _ = writeln!(out, "    Def {{ name: \"{name}\", fields: &[");
        for (prop, v) in properties(&defs[name]) {
            let (strategy, key) = patch_meta(v);
            let (shape, target) = shape_of(name, prop, v);
            let target = target.filter(|t| relevant.contains(*t)).unwrap_or_default();
            if strategy.is_empty() && key.is_empty() && target.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "        Field {{ name: \"{prop}\", shape: {shape}, def: \"{target}\", strategy: \"{strategy}\", merge_key: \"{key}\" }},"
            );
        }
        out.push_str("    ] },\n");
    }
    out.push_str("];\n");
    out
}

#[test]
fn generated_table_matches_the_kubernetes_definitions() {
    let path = definitions_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| missing(&format!("cannot read {}: {e}", path.display())));
    let doc: Value = serde_json::from_str(&text).expect("_definitions.json is JSON");
    let defs: BTreeMap<String, Value> =
        serde_json::from_value(doc["$defs"].clone()).expect("$defs is an object of definitions");
    let fresh = generate(&defs);
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/patch/generated.rs");
    if std::env::var_os("RKUBE_API_BLESS").is_some() {
        std::fs::write(&target, &fresh).expect("write generated.rs");
        return;
    }
    let committed = std::fs::read_to_string(&target).unwrap_or_default();
    assert!(
        committed == fresh,
        "src/patch/generated.rs is stale; run `RKUBE_API_BLESS=1 cargo test -p rkube-api --test strategic_schema` and review the diff"
    );
}
