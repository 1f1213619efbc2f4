//! `src/generated.rs` is derived, never edited by hand. This test derives it
//! again and fails when the committed file differs; run
//! `RKUBE_PROTO_BLESS=1 cargo test -p rkube-proto --test schema` to rewrite it.
//!
//! Inputs, both read from the sources cargo already fetched for this crate:
//! - k8s-pb's prost structs: every field's number, wire kind and nested type;
//! - k8s-openapi's JSON field names. A prost name (`pod_i_ps`) is matched to
//!   the JSON name (`podIPs`) by comparing both lowercased without `_`; a
//!   message-typed field with no JSON name whose own fields all match JSON
//!   fields of the parent is an embedded Go struct and is marked inline. Any
//!   other field without a JSON name (k8s-pb and k8s-openapi can be a
//!   Kubernetes release apart) is left out and listed in the file's header.
//!
//! The kinds covered are every kind `rkube_api::resources` serves, every
//! subresource body kind, and `meta.k8s.io/v1` `DeleteOptions`, with every message
//! reachable from them.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Messages with their own JSON form, by k8s-pb path.
const SPECIAL: &[(&str, &str)] = &[
    ("apimachinery.pkg.apis.meta.v1.Time", "Time"),
    ("apimachinery.pkg.apis.meta.v1.MicroTime", "MicroTime"),
    ("apimachinery.pkg.apis.meta.v1.FieldsV1", "RawJson"),
    ("apimachinery.pkg.api.resource.Quantity", "Quantity"),
    ("apimachinery.pkg.util.intstr.IntOrString", "IntOrString"),
    ("apimachinery.pkg.runtime.RawExtension", "RawJson"),
];

/// One field of a prost struct as k8s-pb declares it.
struct PbField {
    name: String,
    attr: String,
    ty: String,
}

/// The schema of one field, as the generated table spells it.
struct GenField {
    tag: u32,
    line: String,
    nested: Option<String>,
}

fn norm(name: &str) -> String {
    name.trim_start_matches("r#")
        .replace('_', "")
        .to_ascii_lowercase()
}

/// Source directories of the k8s-pb and k8s-openapi versions this crate builds with.
fn sources() -> (PathBuf, PathBuf) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let dir = |name: &str| {
        let pkg = meta["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not in cargo metadata"));
        let path = PathBuf::from(pkg["manifest_path"].as_str().expect("manifest_path"));
        path.parent().expect("package dir").join("src")
    };
    let openapi = dir("k8s-openapi");
    let newest = std::fs::read_dir(&openapi)
        .expect("k8s-openapi src")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_prefix("v1_")?.parse::<u32>().ok())
        .max()
        .expect("a v1_NN module in k8s-openapi");
    (dir("k8s-pb"), openapi.join(format!("v1_{newest}")))
}

/// Every prost message of k8s-pb, by dotted module path.
fn parse_pb(src: &Path) -> BTreeMap<String, Vec<PbField>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read k8s-pb dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "mod.rs") {
                let module: Vec<String> = path
                    .parent()
                    .and_then(|p| p.strip_prefix(src).ok())
                    .expect("module dir")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                let text = std::fs::read_to_string(&path).expect("read k8s-pb module");
                parse_module(&module, &text, &mut out);
            }
        }
    }
    out
}

fn parse_module(module: &[String], text: &str, out: &mut BTreeMap<String, Vec<PbField>>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut current: Option<(String, Vec<PbField>)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(rest) = line.strip_prefix("pub struct ") {
            let derives_message = i > 0 && lines[i - 1].contains("::prost::Message");
            if derives_message {
                current = Some((rest.trim_end_matches(" {").to_string(), Vec::new()));
            }
        } else if line == "}" {
            if let Some((name, fields)) = current.take() {
                out.insert(format!("{}.{name}", module.join(".")), fields);
            }
        } else if let (Some((_, fields)), Some(attr)) =
            (current.as_mut(), line.trim().strip_prefix("#[prost("))
        {
            let mut decl = String::new();
            while !decl.ends_with(',') || decl.matches('<').count() != decl.matches('>').count() {
                i += 1;
                decl.push_str(lines.get(i).expect("field declaration").trim());
            }
            let decl = decl.replace(",>", ">");
            let decl = decl.strip_prefix("pub ").expect("pub field");
            let (name, ty) = decl.split_once(':').expect("field: type");
            fields.push(PbField {
                name: name.to_string(),
                attr: attr.trim_end_matches(")]").to_string(),
                ty: resolve(module, ty.trim().trim_end_matches(',')),
            });
        }
        i += 1;
    }
}

/// The dotted k8s-pb path of the message a Rust field type names (`""` for scalars).
fn resolve(module: &[String], ty: &str) -> String {
    let mut t = ty;
    if let Some(rest) =
        t.strip_prefix("::prost::alloc::collections::BTreeMap<::prost::alloc::string::String,")
    {
        t = rest.trim().strip_suffix('>').expect("map type");
    }
    for wrapper in [
        "::core::option::Option<",
        "::prost::alloc::vec::Vec<",
        "::prost::alloc::boxed::Box<",
    ] {
        while let Some(rest) = t.strip_prefix(wrapper) {
            t = rest.strip_suffix('>').expect("wrapped type");
        }
    }
    if t.starts_with("::") || !t.chars().next().is_some_and(char::is_alphabetic) {
        return String::new();
    }
    let segments: Vec<&str> = t.split("::").collect();
    let up = segments.iter().take_while(|s| **s == "super").count();
    let base = &module[..module.len() - up];
    base.iter()
        .map(String::as_str)
        .chain(segments[up..].iter().copied())
        .collect::<Vec<_>>()
        .join(".")
}

/// JSON field names of the k8s-openapi type matching a k8s-pb message, if k8s-openapi has it.
fn openapi_names(openapi: &Path, message: &str) -> Option<Vec<String>> {
    let (module, name) = message.rsplit_once('.').expect("dotted path");
    let dir = openapi.join(module.replace('.', "/"));
    let file = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_stem()
                .is_some_and(|s| norm(&s.to_string_lossy()) == norm(name))
        })?;
    let text = std::fs::read_to_string(&file).expect("read k8s-openapi type");
    let names = text
        .lines()
        .filter(|l| l.contains("\" => Field::Key_"))
        .filter_map(|l| {
            l.trim()
                .strip_prefix('"')?
                .split_once('"')
                .map(|(n, _)| n.to_string())
        })
        .collect();
    Some(names)
}

fn special(path: &str) -> Option<&'static str> {
    SPECIAL.iter().find(|(p, _)| *p == path).map(|(_, ty)| *ty)
}

/// The `Ty` expression of a field, and the message it nests, if any.
fn ty_of(message: &str, f: &PbField) -> (String, Option<String>) {
    let kind = match f.attr.strip_prefix("btree_map = \"") {
        Some(rest) => {
            let (key, value) = rest
                .split_once('"')
                .expect("map kinds")
                .0
                .split_once(", ")
                .expect("key, value");
            assert_eq!(
                key, "string",
                "{message}.{}: only string map keys are expected",
                f.name
            );
            value.to_string()
        }
        None => f
            .attr
            .split([',', ' '])
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let scalar = |s: &str| (s.to_string(), None);
    match kind.as_str() {
        "bool" => scalar("Bool"),
        "int32" => scalar("Int32"),
        "int64" => scalar("Int64"),
        "string" => scalar("String"),
        "bytes" => scalar("Bytes"),
        "message" => match special(&f.ty) {
            Some(s) => scalar(s),
            None => (format!("Msg({:?})", f.ty), Some(f.ty.clone())),
        },
        other => panic!("{message}.{}: unexpected protobuf kind {other:?}", f.name),
    }
}

fn tag_of(f: &PbField) -> u32 {
    let (_, rest) = f.attr.split_once("tag = \"").expect("tag");
    rest.split('"')
        .next()
        .and_then(|t| t.parse().ok())
        .expect("numeric tag")
}

/// The table's fields of one message; fields the JSON API does not have go to `skipped`.
fn gen_message(
    pb: &BTreeMap<String, Vec<PbField>>,
    openapi: &Path,
    message: &str,
    inherited: &mut HashMap<String, Vec<String>>,
    skipped: &mut Vec<String>,
) -> Vec<GenField> {
    let fields = pb
        .get(message)
        .unwrap_or_else(|| panic!("no k8s-pb message {message}"));
    let json_names = openapi_names(openapi, message)
        .or_else(|| inherited.get(message).cloned())
        .unwrap_or_else(|| panic!("no k8s-openapi type for {message}"));
    let by_norm: HashMap<String, &String> = json_names.iter().map(|n| (norm(n), n)).collect();
    let mut out = Vec::new();
    for f in fields {
        let tag = tag_of(f);
        let (ty, nested) = ty_of(message, f);
        let label = if f.attr.starts_with("btree_map") {
            "map"
        } else if f.attr.contains("repeated") {
            "many"
        } else {
            "one"
        };
        let line = match by_norm.get(&norm(&f.name)) {
            Some(json) => format!("{label}({tag}, {json:?}, {ty})"),
            None => {
                let embedded = nested
                    .as_deref()
                    .filter(|_| label == "one")
                    .filter(|inner| {
                        pb.get(*inner).is_some_and(|inner| {
                            inner.iter().all(|f| by_norm.contains_key(&norm(&f.name)))
                        })
                    });
                match embedded {
                    Some(inner) => {
                        inherited.insert(inner.to_string(), json_names.clone());
                        format!("inline({tag}, {inner:?})")
                    }
                    None => {
                        skipped.push(format!("{message}.{} = {tag}", f.name));
                        continue;
                    }
                }
            }
        };
        out.push(GenField { tag, line, nested });
    }
    out.sort_by_key(|f| f.tag);
    out
}

/// The k8s-pb message of a served (apiVersion, kind).
fn root_message(api_version: &str, kind: &str) -> String {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    match group {
        "" => format!("api.core.{version}.{kind}"),
        "meta.k8s.io" => format!("apimachinery.pkg.apis.meta.{version}.{kind}"),
        g => format!("api.{}.{version}.{kind}", g.split('.').next().unwrap_or(g)),
    }
}

fn roots() -> BTreeSet<(String, String)> {
    let mut roots = BTreeSet::new();
    for r in rkube_api::resources::all() {
        roots.insert((r.api_version(), r.kind.to_string()));
        // `*Options` kinds of connect subresources travel as query parameters, never as bodies.
        for s in r
            .subresources
            .iter()
            .filter(|s| !s.kind.is_empty() && !s.kind.ends_with("Options"))
        {
            let api_version = if s.api_version.is_empty() {
                r.api_version()
            } else {
                s.api_version.to_string()
            };
            roots.insert((api_version, s.kind.to_string()));
        }
    }
    roots.insert(("meta.k8s.io/v1".into(), "DeleteOptions".into()));
    roots
}

fn generate() -> String {
    let (pb_src, openapi) = sources();
    let pb = parse_pb(&pb_src);
    let roots = roots();
    let mut queue: VecDeque<String> = roots.iter().map(|(av, k)| root_message(av, k)).collect();
    let mut messages: BTreeMap<String, Vec<GenField>> = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut inherited = HashMap::new();
    while let Some(name) = queue.pop_front() {
        if messages.contains_key(&name) {
            continue;
        }
        let fields = gen_message(&pb, &openapi, &name, &mut inherited, &mut skipped);
        queue.extend(fields.iter().filter_map(|f| f.nested.clone()));
        messages.insert(name, fields);
    }
    let used = |helper: &str| {
        messages
            .values()
            .flatten()
            .any(|f| f.line.starts_with(&format!("{helper}(")))
    };
    let helpers: Vec<&str> = ["inline", "many", "map", "one"]
        .into_iter()
        .filter(|h| used(h))
        .collect();
    let mut out = String::new();
    out.push_str("//! Generated by `tests/schema.rs` from k8s-pb and k8s-openapi; do not edit.\n");
    out.push_str(
        "//! `RKUBE_PROTO_BLESS=1 cargo test -p rkube-proto --test schema` regenerates it.\n",
    );
    if !skipped.is_empty() {
        out.push_str(
            "//!\n//! k8s-pb fields the JSON API (k8s-openapi) does not have, left out:\n",
        );
        for s in &skipped {
            out.push_str(&format!("//! - `{s}`\n"));
        }
    }
    out.push('\n');
    out.push_str(&format!(
        "use crate::schema::{{Message, Root, Ty::*, {}}};\n\n",
        helpers.join(", ")
    ));
    out.push_str("/// Every kind accepted as a request body.\npub static ROOTS: &[Root] = &[\n");
    for (api_version, kind) in &roots {
        let message = root_message(api_version, kind);
        out.push_str(&format!(
            "    Root {{ api_version: {api_version:?}, kind: {kind:?}, message: {message:?} }},\n"
        ));
    }
    out.push_str("];\n\n/// Every message reachable from [`ROOTS`], sorted by name.\npub static MESSAGES: &[Message] = &[\n");
    for (name, fields) in &messages {
        out.push_str(&format!("    Message {{ name: {name:?}, fields: &[\n"));
        for f in fields {
            out.push_str(&format!("        {},\n", f.line));
        }
        out.push_str("    ] },\n");
    }
    out.push_str("];\n");
    out
}

#[test]
fn generated_schema_is_current() {
    let expected = generate();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/generated.rs");
    if std::env::var_os("RKUBE_PROTO_BLESS").is_some() {
        std::fs::write(&path, &expected).expect("write src/generated.rs");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let first_difference = committed
        .lines()
        .zip(expected.lines())
        .position(|(a, b)| a != b);
    assert!(
        committed == expected,
        "src/generated.rs is stale (first difference at line {}); regenerate it with \
         RKUBE_PROTO_BLESS=1 cargo test -p rkube-proto --test schema",
        first_difference.map_or_else(
            || committed.lines().count().min(expected.lines().count()) + 1,
            |i| i + 1
        )
    );
}
