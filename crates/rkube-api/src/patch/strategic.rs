//! Strategic merge patch as Kubernetes' API server applies it
//! (`StrategicMergeMapPatch` in `k8s.io/apimachinery/pkg/util/strategicpatch`,
//! with `MergeParallelList` and `IgnoreUnmatchedNulls`):
//!
//! - maps merge key by key; `null` deletes a key; `$patch: replace` replaces
//!   the map, `$patch: delete` empties it; `$retainKeys: [..]` drops every key
//!   of the original not listed;
//! - lists whose field has strategy `merge` merge: lists of maps by the field's
//!   merge key (`$patch: delete` items remove, a `$patch: replace` item makes the
//!   other items the whole list), lists of scalars as sets;
//!   `$deleteFromPrimitiveList/<field>` removes scalars;
//!   `$setElementOrder/<field>` fixes the order of the merged list;
//! - every other list is replaced.
//!
//! The field strategies come from [`Schema`]. Where Kubernetes would fail to
//! look a field up in its Go struct (a field it does not know), the field has
//! no strategy here. Directive keys left in values copied from the patch are
//! dropped, as decoding into Kubernetes' typed objects drops them. Errors carry
//! Kubernetes' texts, Go formatting of values included.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::schema::{PatchMeta, Schema};

/// The key of the `$patch` directive.
const DIRECTIVE: &str = "$patch";
/// The key listing the fields a map keeps.
const RETAIN_KEYS: &str = "$retainKeys";
/// Prefix of the parallel list of scalars to remove.
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
/// Prefix of the parallel list giving the order of a merged list.
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

/// Why a patch cannot be applied, in Kubernetes' words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A `$deleteFromPrimitiveList` key without `/<field>`.
    #[error("invalid patch format of primitive list")]
    PrimitiveListFormat,
    /// `$retainKeys` that is not a list, or a patched field it does not list.
    #[error("invalid patch format of retainKeys")]
    RetainKeysFormat,
    /// A `$setElementOrder` key without `/<field>`.
    #[error("invalid patch format of setElementOrder list")]
    SetElementOrderFormat,
    /// A merged list holding lists.
    #[error("lists of lists are not supported")]
    ListOfLists,
    /// A list item without the field's merge key.
    #[error("map: {map} does not contain declared merge key: {key}")]
    NoMergeKey { map: String, key: String },
    /// A value of another JSON type than the place needs.
    #[error("expected a {expected}, but received a {actual}")]
    ArgType {
        expected: &'static str,
        actual: &'static str,
    },
    /// A `$patch` value other than `replace`, `delete` (or `merge` in lists).
    #[error("unknown patch type: {directive} in map: {map}")]
    PatchType { directive: String, map: String },
    /// Items of different JSON types in lists being merged.
    #[error("list element types are not identical: {0}")]
    ElementTypes(String),
    /// `$setElementOrder` for a list that is empty on both sides.
    #[error("no elements in any of the given slices")]
    NoElements,
    /// A list of maps merged (or deleted from) without a merge key.
    #[error("cannot merge lists without merge key for {0}")]
    NoMergeKeyForList(&'static str),
    /// `$patch: merge` inside a list.
    #[error("merging lists cannot yet be specified in the patch")]
    MergeListDirective,
    /// Patch list items in another order than their `$setElementOrder` list.
    #[error("The order in patch list:\n{patch}\n doesn't match $setElementOrder list:\n{order}\n")]
    OrderMismatch { patch: String, order: String },
    /// A field strategy Kubernetes does not know how to combine.
    #[error("unexpected patch strategy: {0}")]
    Strategy(String),
}

impl Error {
    /// Whether Kubernetes answers this with 400 Bad Request (the malformed directive formats).
    pub fn is_bad_request(&self) -> bool {
        matches!(
            self,
            Error::PrimitiveListFormat | Error::RetainKeysFormat | Error::SetElementOrderFormat
        )
    }
}

/// Result with this module's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Apply `patch` to `original`, an object whose type is `schema`.
pub fn apply(original: &Value, patch: &Map<String, Value>, schema: Schema) -> Result<Value> {
    let original = original.as_object().cloned().unwrap_or_default();
    merge_map(original, patch.clone(), schema).map(Value::Object)
}

/// The JSON types Go tells apart when it compares a value with the patch
/// (integers and floats decode to different Go types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GoType {
    Nil,
    Bool,
    Int,
    Float,
    String,
    Slice,
    Map,
}

fn go_type(v: &Value) -> GoType {
    match v {
        Value::Null => GoType::Nil,
        Value::Bool(_) => GoType::Bool,
        Value::Number(n) if n.as_i64().is_some() => GoType::Int,
        Value::Number(_) => GoType::Float,
        Value::String(_) => GoType::String,
        Value::Array(_) => GoType::Slice,
        Value::Object(_) => GoType::Map,
    }
}

/// Go's name of the type a value decodes to, as `reflect.Type` prints it.
fn go_type_name(v: &Value) -> &'static str {
    match go_type(v) {
        GoType::Nil => "%!s(<nil>)",
        GoType::Bool => "bool",
        GoType::Int => "int64",
        GoType::Float => "float64",
        GoType::String => "string",
        GoType::Slice => "[]interface {}",
        GoType::Map => "map[string]interface {}",
    }
}

const MAP_TYPE: &str = "map[string]interface {}";
const SLICE_TYPE: &str = "[]interface {}";

fn arg_type(expected: &'static str, actual: &Value) -> Error {
    Error::ArgType {
        expected,
        actual: go_type_name(actual),
    }
}

fn no_merge_key(map: &Map<String, Value>, key: &str) -> Error {
    Error::NoMergeKey {
        map: go_map(map, false),
        key: key.to_string(),
    }
}

/// The main strategy of a field: its strategies without `retainKeys`
/// (Kubernetes' `extractRetainKeysPatchStrategy`).
fn main_strategy(meta: PatchMeta) -> Result<&'static str> {
    if meta.strategy.is_empty() {
        return Ok("");
    }
    let parts: Vec<&'static str> = meta.strategy.split(',').collect();
    match parts.as_slice() {
        [one] => Ok(if *one == "retainKeys" { "" } else { one }),
        ["retainKeys", other] | [other, "retainKeys"] => Ok(other),
        _ => Err(Error::Strategy(format!("[{}]", parts.join(" ")))),
    }
}

/// The field a `<prefix>/<field>` directive key names.
fn field_of<'a>(key: &'a str, prefix: &str) -> Option<&'a str> {
    key.split_once('/')
        .filter(|(p, _)| *p == prefix)
        .map(|(_, field)| field)
}

fn is_directive_key(k: &str) -> bool {
    k == DIRECTIVE
        || k == RETAIN_KEYS
        || field_of(k, SET_ELEMENT_ORDER).is_some()
        || field_of(k, DELETE_FROM_PRIMITIVE_LIST).is_some()
}

/// What to do with a value copied from the patch.
#[derive(Clone, Copy)]
struct Copying {
    /// Drop map entries whose value is `null` (`discardNullValuesFromPatch`).
    discard_nulls: bool,
    /// Drop maps holding `$patch`, with the key or item that holds them (`removeDirectives`).
    remove_directives: bool,
}

/// Copy taken as Kubernetes takes a new value: nulls and directive maps removed.
const NEW_VALUE: Copying = Copying {
    discard_nulls: true,
    remove_directives: true,
};
/// Copy of a list a `$setElementOrder` adds: directive maps removed, nulls kept.
const WITHOUT_DIRECTIVES: Copying = Copying {
    discard_nulls: false,
    remove_directives: true,
};
/// Copy taken verbatim: only the directive keys the typed object would drop go.
const VERBATIM: Copying = Copying {
    discard_nulls: false,
    remove_directives: false,
};

/// A value from the patch as it ends up in the object; `None` when it goes entirely.
fn copied(v: Value, how: Copying) -> Option<Value> {
    match v {
        Value::Object(m) => {
            let m: Map<String, Value> = m
                .into_iter()
                .filter(|(_, v)| !(how.discard_nulls && v.is_null()))
                .collect();
            if how.remove_directives && m.contains_key(DIRECTIVE) {
                return None;
            }
            let out = m
                .into_iter()
                .filter(|(k, _)| !is_directive_key(k))
                .filter_map(|(k, v)| copied(v, how).map(|v| (k, v)))
                .collect();
            Some(Value::Object(out))
        }
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(|v| copied(v, how)).collect(),
        )),
        other => Some(other),
    }
}

fn verbatim(v: Value) -> Value {
    copied(v, VERBATIM).unwrap_or(Value::Null)
}

fn verbatim_list(items: Vec<Value>) -> Vec<Value> {
    items.into_iter().map(verbatim).collect()
}

/// Keys of a map in a fixed order (Go's is random; sorted makes ours repeatable).
fn sorted_keys(m: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<String> = m.keys().cloned().collect();
    keys.sort();
    keys
}

/// Merge `patch` into `original` (Kubernetes' `mergeMap`).
fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Schema,
) -> Result<Map<String, Value>> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.remove(DIRECTIVE);
                match verbatim(Value::Object(patch)) {
                    Value::Object(m) => Ok(m),
                    _ => Ok(Map::new()),
                }
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(Error::PatchType {
                directive: go_fmt(directive, true),
                map: go_map(&patch, false),
            }),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_element_orders(&mut original, &mut patch, schema)?;
    for key in sorted_keys(&patch) {
        let Some(patch_v) = patch.remove(&key) else {
            continue;
        };
        let (k, delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            (
                field_of(&key, DELETE_FROM_PRIMITIVE_LIST)
                    .ok_or(Error::PrimitiveListFormat)?
                    .to_string(),
                true,
            )
        } else {
            (key, false)
        };
        if patch_v.is_null() {
            original.remove(&k);
            continue;
        }
        let Some(orig_v) = original.remove(&k) else {
            if !delete_list && let Some(v) = copied(patch_v, NEW_VALUE) {
                original.insert(k, v);
            }
            continue;
        };
        if go_type(&orig_v) != go_type(&patch_v) {
            let kept = if delete_list {
                Some(orig_v)
            } else {
                copied(patch_v, NEW_VALUE)
            };
            if let Some(v) = kept {
                original.insert(k, v);
            }
            continue;
        }
        let merged = match (orig_v, patch_v) {
            (Value::Object(o), Value::Object(p)) => {
                let (sub, meta) = schema.for_object(&k);
                if main_strategy(meta)? == "replace" {
                    verbatim(Value::Object(p))
                } else {
                    Value::Object(merge_map(o, p, sub)?)
                }
            }
            (Value::Array(o), Value::Array(p)) => {
                let (items, meta) = schema.for_list(&k);
                let strategy = main_strategy(meta)?;
                Value::Array(merge_list_field(
                    o,
                    p,
                    items,
                    strategy,
                    meta.merge_key,
                    delete_list,
                )?)
            }
            (_, p) => verbatim(p),
        };
        original.insert(k, merged);
    }
    Ok(original)
}

/// Apply `$retainKeys`: keep only the listed keys of `original` (Kubernetes' `applyRetainKeysDirective`).
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<()> {
    let Some(listed) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(listed) = listed else {
        return Err(Error::RetainKeysFormat);
    };
    let keep: HashSet<&str> = listed.iter().filter_map(Value::as_str).collect();
    for (k, v) in patch.iter() {
        let parallel =
            k.starts_with(DELETE_FROM_PRIMITIVE_LIST) || k.starts_with(SET_ELEMENT_ORDER);
        if !v.is_null() && !parallel && !keep.contains(k.as_str()) {
            return Err(Error::RetainKeysFormat);
        }
    }
    original.retain(|k, _| keep.contains(k.as_str()));
    Ok(())
}

/// Process every `$setElementOrder/<field>` with the list it orders
/// (Kubernetes' `mergePatchIntoOriginal`); both leave `patch`.
fn merge_element_orders(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Schema,
) -> Result<()> {
    for key in sorted_keys(patch)
        .into_iter()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
    {
        let Some(order) = patch.remove(&key) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(arg_type(SLICE_TYPE, &order));
        };
        let field = field_of(&key, SET_ELEMENT_ORDER)
            .ok_or(Error::SetElementOrderFormat)?
            .to_string();
        let orig_list = match original.get(&field) {
            Some(Value::Array(a)) => Some(a),
            Some(other) => return Err(arg_type(SLICE_TYPE, other)),
            None => None,
        };
        let patch_list = match patch.get(&field) {
            Some(Value::Array(a)) => Some(a),
            Some(other) => return Err(arg_type(SLICE_TYPE, other)),
            None => None,
        };
        let (items, meta) = schema.for_list(&field);
        let strategy = main_strategy(meta)?;
        let merge_key = meta.merge_key;
        check_order(patch_list.map_or(&[][..], Vec::as_slice), &order, merge_key)?;
        if orig_list.is_none() && patch_list.is_none() {
            continue;
        }
        let kind = element_type(&[
            orig_list.map_or(&[][..], Vec::as_slice),
            patch_list.map_or(&[][..], Vec::as_slice),
        ])?;
        let server_order = orig_list
            .map(|l| Order::of(l, kind, merge_key))
            .transpose()?
            .unwrap_or_default();
        let merged = match (original.remove(&field), patch.remove(&field)) {
            (Some(Value::Array(o)), None) => o,
            (None, Some(p)) => match copied(p, WITHOUT_DIRECTIVES) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            },
            (Some(Value::Array(o)), Some(Value::Array(p))) => {
                merge_list_field(o, p, items, strategy, merge_key, false)?
            }
            _ => Vec::new(),
        };
        let in_order = order_keys(&order, kind, merge_key);
        let (ordered, server_only) = partition(merged, &in_order, kind, merge_key)?;
        let wanted = Order::of(&order, kind, merge_key)?;
        original.insert(
            field,
            Value::Array(normalize(ordered, server_only, &wanted, &server_order)),
        );
    }
    Ok(())
}

/// Check that the items of a patch list appear in its `$setElementOrder` list, in order
/// (Kubernetes' `validatePatchWithSetOrderList`).
fn check_order(patch_list: &[Value], order: &[Value], merge_key: &str) -> Result<()> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let mut items = Vec::with_capacity(patch_list.len());
    for v in patch_list {
        if merge_key.is_empty() {
            items.push(v);
        } else {
            let Value::Object(m) = v else {
                return Err(arg_type(MAP_TYPE, v));
            };
            if m.get(DIRECTIVE).and_then(Value::as_str) != Some("delete") {
                items.push(v);
            }
        }
    }
    let (mut pi, mut oi) = (0, 0);
    while let (Some(item), Some(wanted)) = (items.get(pi), order.get(oi)) {
        if item.as_object().is_some_and(|m| m.contains_key(DIRECTIVE)) {
            pi += 1;
            continue;
        }
        if same_merge_key(item, wanted, merge_key)? {
            pi += 1;
        }
        oi += 1;
    }
    if pi < items.len() && oi >= order.len() {
        return Err(Error::OrderMismatch {
            patch: go_list(patch_list),
            order: go_list(order),
        });
    }
    Ok(())
}

/// Whether two items agree on the merge key, or are equal for lists of scalars.
fn same_merge_key(left: &Value, right: &Value, merge_key: &str) -> Result<bool> {
    if merge_key.is_empty() {
        return Ok(left == right);
    }
    let Value::Object(l) = left else {
        return Err(arg_type(MAP_TYPE, left));
    };
    let Value::Object(r) = right else {
        return Err(arg_type(MAP_TYPE, right));
    };
    let lv = l.get(merge_key).ok_or_else(|| no_merge_key(l, merge_key))?;
    let rv = r.get(merge_key).ok_or_else(|| no_merge_key(r, merge_key))?;
    Ok(lv == rv)
}

/// Merge or replace a list field by its strategy (Kubernetes' `mergeSliceHandler`).
fn merge_list_field(
    original: Vec<Value>,
    patch: Vec<Value>,
    items: Schema,
    strategy: &str,
    merge_key: &str,
    delete_list: bool,
) -> Result<Vec<Value>> {
    if strategy == "merge" || delete_list {
        merge_list(original, patch, items, merge_key, delete_list)
    } else {
        Ok(verbatim_list(patch))
    }
}

/// The one type of every item of `lists`; Kubernetes refuses mixed lists and lists of lists.
fn element_type(lists: &[&[Value]]) -> Result<GoType> {
    let mut found = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        let t = go_type(v);
        match found {
            None if t == GoType::Slice => return Err(Error::ListOfLists),
            None if t == GoType::Nil => return Err(mixed(lists)),
            None => found = Some(t),
            Some(first) if first != t => return Err(mixed(lists)),
            Some(_) => {}
        }
    }
    found.ok_or(Error::NoElements)
}

fn mixed(lists: &[&[Value]]) -> Error {
    Error::ElementTypes(format!(
        "[{}]",
        lists
            .iter()
            .map(|l| go_list(l))
            .collect::<Vec<_>>()
            .join(" ")
    ))
}

/// Merge two lists of a `merge` field (Kubernetes' `mergeSlice`).
fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    items: Schema,
    merge_key: &str,
    delete_list: bool,
) -> Result<Vec<Value>> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = element_type(&[&original, &patch])?;
    if kind != GoType::Map {
        let server_order = Order::of(&original, kind, "")?;
        let in_patch = scalar_keys(&patch);
        if delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !in_patch.contains(&key_of(v)))
                .collect());
        }
        let wanted = Order::of(&patch, kind, "")?;
        let mut seen = HashSet::new();
        let merged: Vec<Value> = original
            .into_iter()
            .chain(patch)
            .filter(|v| seen.insert(key_of(v)))
            .collect();
        let (ordered, server_only) = partition(merged, &in_patch, kind, "")?;
        return Ok(normalize(ordered, server_only, &wanted, &server_order));
    }
    if merge_key.is_empty() {
        return Err(Error::NoMergeKeyForList(items.go_kind()));
    }
    let (original, patch) = special_items(original, patch, merge_key)?;
    let mut patch_keys = Vec::with_capacity(patch.len());
    for p in &patch {
        let Value::Object(m) = p else {
            return Err(arg_type(MAP_TYPE, p));
        };
        patch_keys.push(key_of(
            m.get(merge_key).ok_or_else(|| no_merge_key(m, merge_key))?,
        ));
    }
    let server_order = Order::of(&original, kind, merge_key)?;
    let wanted = Order::of(&patch, kind, merge_key)?;
    let mut merged = original;
    let mut at: HashMap<String, usize> = HashMap::new();
    for (i, v) in merged.iter().enumerate() {
        if let Some(k) = v.get(merge_key) {
            at.entry(key_of(k)).or_insert(i);
        }
    }
    for (p, k) in patch.into_iter().zip(&patch_keys) {
        match (at.get(k).copied(), p) {
            (Some(i), Value::Object(p)) => {
                let slot = merged.get_mut(i).map(std::mem::take);
                let current = match slot {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                let m = merge_map(current, p, items)?;
                if let Some(slot) = merged.get_mut(i) {
                    *slot = Value::Object(m);
                }
            }
            (_, p) => {
                at.insert(k.clone(), merged.len());
                merged.push(verbatim(p));
            }
        }
    }
    let in_patch: HashSet<String> = patch_keys.into_iter().collect();
    let (ordered, server_only) = partition(merged, &in_patch, kind, merge_key)?;
    Ok(normalize(ordered, server_only, &wanted, &server_order))
}

/// Apply the `$patch` items of a list of maps: `delete` removes items by merge
/// key, `replace` makes the other patch items the whole list
/// (Kubernetes' `mergeSliceWithSpecialElements`). Returns the original and
/// the patch items left to merge.
fn special_items(
    original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    let mut deleted = HashSet::new();
    for v in patch {
        let (Value::Object(m), Some(directive)) = (&v, v.get(DIRECTIVE)) else {
            plain.push(v);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let k = m.get(merge_key).ok_or_else(|| no_merge_key(m, merge_key))?;
                deleted.insert(key_of(k));
            }
            Some("replace") => replace = true,
            Some("merge") => return Err(Error::MergeListDirective),
            _ => {
                return Err(Error::PatchType {
                    directive: go_fmt(directive, true),
                    map: go_map(m, false),
                });
            }
        }
    }
    if replace {
        return Ok((verbatim_list(plain), Vec::new()));
    }
    let kept = original
        .into_iter()
        .filter(|v| {
            v.get(merge_key)
                .is_none_or(|k| !deleted.contains(&key_of(k)))
        })
        .collect();
    Ok((kept, plain))
}

/// A value's identity in comparisons: equal JSON values (Go's `==`) have equal keys.
fn key_of(v: &Value) -> String {
    v.to_string()
}

/// The identities of the items of a list of scalars.
fn scalar_keys(list: &[Value]) -> HashSet<String> {
    list.iter().map(key_of).collect()
}

/// What a `$setElementOrder` list names: scalars, or merge keys of maps (items without one name nothing).
fn order_keys(order: &[Value], kind: GoType, merge_key: &str) -> HashSet<String> {
    if kind == GoType::Map && !merge_key.is_empty() {
        order
            .iter()
            .filter_map(|v| v.get(merge_key))
            .map(key_of)
            .collect()
    } else {
        scalar_keys(order)
    }
}

/// Positions by identity in a list that sets an order: first occurrence wins.
#[derive(Default)]
struct Order(HashMap<String, usize>);

impl Order {
    /// The order `list` sets; for maps every item must be a map with the merge key.
    fn of(list: &[Value], kind: GoType, merge_key: &str) -> Result<Order> {
        let mut at = HashMap::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            at.entry(identity(v, kind, merge_key)?).or_insert(i);
        }
        Ok(Order(at))
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.0.get(key).copied()
    }
}

/// An item's identity: itself for scalars, its merge key for maps.
fn identity(v: &Value, kind: GoType, merge_key: &str) -> Result<String> {
    if kind != GoType::Map || merge_key.is_empty() {
        return Ok(key_of(v));
    }
    let Value::Object(m) = v else {
        return Err(arg_type(MAP_TYPE, v));
    };
    m.get(merge_key)
        .map(key_of)
        .ok_or_else(|| no_merge_key(m, merge_key))
}

/// Items with their identities.
type Identified = Vec<(String, Value)>;

/// Split merged items into those the patch (or order list) names and the server's others.
fn partition(
    merged: Vec<Value>,
    named: &HashSet<String>,
    kind: GoType,
    merge_key: &str,
) -> Result<(Identified, Identified)> {
    let mut ordered = Vec::new();
    let mut server_only = Vec::new();
    for v in merged {
        let id = identity(&v, kind, merge_key)?;
        if named.contains(&id) {
            ordered.push((id, v));
        } else {
            server_only.push((id, v));
        }
    }
    Ok((ordered, server_only))
}

/// Order the merged list (Kubernetes' `normalizeElementOrder`): the patch's
/// items in the patch's order, the server's others in their old order, the
/// two interleaved by the old order where both sides are known.
fn normalize(
    mut ordered: Identified,
    mut server_only: Identified,
    wanted: &Order,
    server_order: &Order,
) -> Vec<Value> {
    ordered.sort_by_key(|(id, _)| wanted.position(id).unwrap_or(usize::MAX));
    server_only.sort_by_key(|(id, _)| server_order.position(id).unwrap_or(usize::MAX));
    let mut out = Vec::with_capacity(ordered.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = ordered.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some((l, _)), Some((r, _))) => {
                matches!((server_order.position(l), server_order.position(r)), (Some(li), Some(ri)) if li < ri)
            }
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next.map(|(_, v)| v));
    }
    out
}

/// A map as Go's `%v` prints it.
fn go_map(m: &Map<String, Value>, verb_s: bool) -> String {
    let mut entries: Vec<(&String, &Value)> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let parts: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{k}:{}", go_fmt(v, verb_s)))
        .collect();
    format!("map[{}]", parts.join(" "))
}

fn go_list(l: &[Value]) -> String {
    format!(
        "[{}]",
        l.iter()
            .map(|v| go_fmt(v, false))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// A decoded JSON value as Go's `%v` (or `%s` when `verb_s`) prints it.
fn go_fmt(v: &Value, verb_s: bool) -> String {
    let scalar = |ty: &str, text: String| {
        if verb_s {
            format!("%!s({ty}={text})")
        } else {
            text
        }
    };
    match v {
        Value::Null => if verb_s { "%!s(<nil>)" } else { "<nil>" }.to_string(),
        Value::Bool(b) => scalar("bool", b.to_string()),
        Value::Number(n) => match n.as_i64() {
            Some(i) => scalar("int64", i.to_string()),
            None => scalar("float64", go_float(n.as_f64().unwrap_or_default())),
        },
        Value::String(s) => s.clone(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter()
                .map(|x| go_fmt(x, verb_s))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Object(m) => go_map(m, verb_s),
    }
}

/// A float as Go's `%v` prints it: shortest digits, exponent form below 1e-4 or from 1e6.
fn go_float(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}e{esign}{:02}", exp.unsigned_abs());
    }
    if exp < 0 {
        let zeros = "0".repeat(usize::try_from(-exp - 1).unwrap_or(0));
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = usize::try_from(exp + 1).unwrap_or(1);
    if digits.len() <= int_len {
        format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
    } else {
        let (int, frac) = digits.split_at(int_len);
        format!("{sign}{int}.{frac}")
    }
}
