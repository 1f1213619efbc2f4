//! The strategic-merge schema: for each API type (an OpenAPI definition such
//! as `io.k8s.api.core.v1.PodSpec`), the fields that carry a patch strategy
//! or lead to a type that does. The table itself is `generated.rs`, derived
//! from Kubernetes' own OpenAPI definitions (see `tests/strategic_schema.rs`);
//! [`Schema`] walks it along a JSON path, the way Kubernetes' `LookupPatchMeta`
//! walks Go struct tags.

use super::generated::{DEFS, ROOTS};

/// How a field holds its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A single value (a struct when `def` is set).
    Object,
    /// A JSON array of values.
    List,
    /// A JSON object with arbitrary keys (`map[string]T`).
    Map,
}

/// One field of a definition.
#[derive(Debug)]
pub struct Field {
    /// Its name in JSON.
    pub name: &'static str,
    /// Single value, list or map.
    pub shape: Shape,
    /// The definition of the value (of each item or map value); empty when
    /// nothing below carries a patch strategy.
    pub def: &'static str,
    /// `x-kubernetes-patch-strategy`: comma-separated (`merge`, `retainKeys`, `replace`).
    pub strategy: &'static str,
    /// `x-kubernetes-patch-merge-key`.
    pub merge_key: &'static str,
}

/// One definition with its relevant fields, sorted by name.
#[derive(Debug)]
pub struct Def {
    /// The OpenAPI definition name.
    pub name: &'static str,
    /// Fields with a strategy or leading to one, sorted by name.
    pub fields: &'static [Field],
}

/// A kind whose objects can be patched, and its definition.
#[derive(Debug)]
pub struct Root {
    /// `apiVersion` of the objects.
    pub api_version: &'static str,
    /// `kind` of the objects.
    pub kind: &'static str,
    /// The OpenAPI definition of the kind.
    pub def: &'static str,
}

/// The patch metadata of one field: what Kubernetes calls `PatchMeta`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PatchMeta {
    /// The field's strategies (`merge`, `retainKeys`, `replace`), comma-separated.
    pub strategy: &'static str,
    /// The key that identifies list items.
    pub merge_key: &'static str,
}

/// The type of the value at some path of an object, as far as patching cares.
#[derive(Clone, Copy, Debug)]
pub enum Schema {
    /// A type with no patch strategy anywhere below (scalars, `map[string]string`,
    /// structs like `Toleration`) or a field the table does not know.
    Opaque,
    /// A struct with fields that matter.
    Struct(&'static Def),
    /// A map whose values all have this definition.
    MapOf(&'static Def),
}

/// The definition called `name`, if it matters for patching.
fn def(name: &str) -> Option<&'static Def> {
    DEFS.binary_search_by(|d| d.name.cmp(name))
        .ok()
        .and_then(|i| DEFS.get(i))
}

fn object_of(name: &str) -> Schema {
    def(name).map_or(Schema::Opaque, Schema::Struct)
}

impl Schema {
    /// The schema of objects with this `apiVersion` and `kind`; `None` for kinds
    /// without one (Kubernetes refuses strategic merge patches of those).
    pub fn of_kind(api_version: &str, kind: &str) -> Option<Schema> {
        ROOTS
            .iter()
            .find(|r| r.api_version == api_version && r.kind == kind)
            .map(|r| object_of(r.def))
    }

    /// The field `key` of a struct schema.
    fn field(self, key: &str) -> Option<&'static Field> {
        match self {
            Schema::Struct(d) => d
                .fields
                .binary_search_by(|f| f.name.cmp(key))
                .ok()
                .and_then(|i| d.fields.get(i)),
            Schema::Opaque | Schema::MapOf(_) => None,
        }
    }

    /// The schema and patch metadata of the object-valued field `key`.
    pub fn for_object(self, key: &str) -> (Schema, PatchMeta) {
        if let Schema::MapOf(d) = self {
            return (Schema::Struct(d), PatchMeta::default());
        }
        let Some(f) = self.field(key) else {
            return (Schema::Opaque, PatchMeta::default());
        };
        let child = match f.shape {
            Shape::Object => object_of(f.def),
            Shape::Map => def(f.def).map_or(Schema::Opaque, Schema::MapOf),
            Shape::List => Schema::Opaque,
        };
        (
            child,
            PatchMeta {
                strategy: f.strategy,
                merge_key: f.merge_key,
            },
        )
    }

    /// The schema of the items and the patch metadata of the list-valued field `key`.
    pub fn for_list(self, key: &str) -> (Schema, PatchMeta) {
        let Some(f) = self.field(key) else {
            return (Schema::Opaque, PatchMeta::default());
        };
        let items = if f.shape == Shape::List {
            object_of(f.def)
        } else {
            Schema::Opaque
        };
        (
            items,
            PatchMeta {
                strategy: f.strategy,
                merge_key: f.merge_key,
            },
        )
    }

    /// The Go kind Kubernetes names in "cannot merge lists without merge key for ...".
    pub fn go_kind(self) -> &'static str {
        match self {
            Schema::MapOf(_) => "map",
            Schema::Opaque | Schema::Struct(_) => "struct",
        }
    }

    /// The definition name, when the schema is a struct that matters.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Schema::Struct(d) => Some(d.name),
            Schema::Opaque | Schema::MapOf(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources;

    #[test]
    fn every_patchable_kind_has_a_schema() {
        for r in resources::all() {
            let patchable = r.supports("patch")
                || r.subresources
                    .iter()
                    .any(|s| s.kind.is_empty() && s.verbs.contains(&"patch"));
            if patchable {
                assert!(
                    Schema::of_kind(&r.api_version(), r.kind).is_some(),
                    "{} {}",
                    r.api_version(),
                    r.kind
                );
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
                assert!(
                    Schema::of_kind(&api_version, s.kind).is_some(),
                    "{api_version} {}",
                    s.kind
                );
            }
        }
        assert!(Schema::of_kind("example.com/v1", "Widget").is_none());
    }

    #[test]
    fn tables_are_sorted_and_closed() {
        assert!(
            DEFS.windows(2).all(|w| w[0].name < w[1].name),
            "definitions sorted"
        );
        for d in DEFS {
            assert!(
                d.fields.windows(2).all(|w| w[0].name < w[1].name),
                "{} fields sorted",
                d.name
            );
            for f in d.fields {
                assert!(
                    f.def.is_empty() || def(f.def).is_some(),
                    "{}.{} refers to a known definition",
                    d.name,
                    f.name
                );
                assert!(
                    !f.def.is_empty() || !f.strategy.is_empty(),
                    "{}.{} matters",
                    d.name,
                    f.name
                );
            }
        }
        for r in ROOTS {
            assert!(def(r.def).is_some(), "{} {}", r.api_version, r.kind);
        }
    }

    #[test]
    fn walks_from_a_deployment_to_its_containers() {
        let Some(deploy) = Schema::of_kind("apps/v1", "Deployment") else {
            panic!("Deployment has a schema")
        };
        let (spec, _) = deploy.for_object("spec");
        let (strategy, meta) = spec.for_object("strategy");
        assert_eq!((meta.strategy, strategy.name()), ("retainKeys", None));
        let (template, _) = spec.for_object("template");
        let (pod, _) = template.for_object("spec");
        assert_eq!(pod.name(), Some("io.k8s.api.core.v1.PodSpec"));
        let (container, meta) = pod.for_list("containers");
        assert_eq!((meta.strategy, meta.merge_key), ("merge", "name"));
        let (_, ports) = container.for_list("ports");
        assert_eq!(
            (ports.strategy, ports.merge_key),
            ("merge", "containerPort")
        );
        let (_, tolerations) = pod.for_list("tolerations");
        assert_eq!(
            tolerations,
            PatchMeta::default(),
            "tolerations are replaced as a whole"
        );
        let (_, volumes) = pod.for_list("volumes");
        assert_eq!(
            (volumes.strategy, volumes.merge_key),
            ("merge,retainKeys", "name")
        );
        let (_, spread) = pod.for_list("topologySpreadConstraints");
        assert_eq!(
            spread.merge_key, "topologyKey",
            "the patch merge key, not the list-map keys"
        );
        let (meta_schema, _) = deploy.for_object("metadata");
        let (_, finalizers) = meta_schema.for_list("finalizers");
        assert_eq!((finalizers.strategy, finalizers.merge_key), ("merge", ""));
        let (_, owners) = meta_schema.for_list("ownerReferences");
        assert_eq!(owners.merge_key, "uid");
        let Some(svc) = Schema::of_kind("v1", "Service") else {
            panic!("Service has a schema")
        };
        let (_, ports) = svc.for_object("spec").0.for_list("ports");
        assert_eq!(ports.merge_key, "port");
    }
}
