//! Strategic merge patch cases: Kubernetes' own (`strategicpatch/patch_test.go`,
//! on its `MergeItem` test type) and its documented behaviour on real types.

use serde_json::{Map, Value, json};

use super::schema::{Def, Field, Schema, Shape};
use super::strategic::{Error, apply};

/// Kubernetes' `MergeItem` test type, one level deep (nested items are opaque).
static MERGE_ITEM: Def = Def {
    name: "mergeItem",
    fields: &[
        Field {
            name: "mergeItemPtr",
            shape: Shape::Object,
            def: "",
            strategy: "merge",
            merge_key: "name",
        },
        Field {
            name: "mergingIntList",
            shape: Shape::List,
            def: "",
            strategy: "merge",
            merge_key: "",
        },
        Field {
            name: "mergingList",
            shape: Shape::List,
            def: "",
            strategy: "merge",
            merge_key: "name",
        },
        Field {
            name: "replacingItem",
            shape: Shape::Object,
            def: "",
            strategy: "replace",
            merge_key: "",
        },
        Field {
            name: "retainKeysMap",
            shape: Shape::Object,
            def: "",
            strategy: "retainKeys",
            merge_key: "",
        },
        Field {
            name: "retainKeysMergingList",
            shape: Shape::List,
            def: "",
            strategy: "merge,retainKeys",
            merge_key: "name",
        },
    ],
};

fn merge_item() -> Schema {
    Schema::Struct(&MERGE_ITEM)
}

fn kind(api_version: &str, kind: &str) -> Schema {
    Schema::of_kind(api_version, kind)
        .unwrap_or_else(|| panic!("{api_version} {kind} has a schema"))
}

fn deployment() -> Schema {
    kind("apps/v1", "Deployment")
}

fn pod() -> Schema {
    kind("v1", "Pod")
}

fn patched(schema: Schema, original: Value, patch: Value) -> Value {
    let Value::Object(patch) = patch else {
        panic!("patches are objects")
    };
    apply(&original, &patch, schema).unwrap_or_else(|e| panic!("patch applies: {e}"))
}

fn failed(schema: Schema, original: Value, patch: Value) -> Error {
    let Value::Object(patch) = patch else {
        panic!("patches are objects")
    };
    match apply(&original, &patch, schema) {
        Ok(v) => panic!("patch should fail, gave {v}"),
        Err(e) => e,
    }
}

fn pod_with(containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}})
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect()
}

// Kubernetes' cases on MergeItem: the three-way patch applied to the current object.

#[test]
fn set_element_order_with_server_only_items() {
    let order = json!({"$setElementOrder/mergingList": [{"name": 4}, {"name": 2}, {"name": 3}, {"name": 1}]});
    let current = json!({"mergingList": [
        {"name": 1, "other": "a"}, {"name": 3, "value": 3}, {"name": 4, "value": 4}, {"name": 2, "value": 2}, {"name": 9}
    ]});
    assert_eq!(
        patched(merge_item(), current, order)["mergingList"],
        json!([{"name": 4, "value": 4}, {"name": 2, "value": 2}, {"name": 3, "value": 3}, {"name": 1, "other": "a"}, {"name": 9}])
    );
    let order = json!({"$setElementOrder/mergingList": [{"name": 2}, {"name": 1}, {"name": 4}, {"name": 3}]});
    let current = json!({"mergingList": [
        {"name": 1, "other": "a"}, {"name": 2, "value": 2}, {"name": 9}, {"name": 3, "value": 3}, {"name": 4, "value": 4}
    ]});
    assert_eq!(
        patched(merge_item(), current, order.clone())["mergingList"],
        json!([{"name": 2, "value": 2}, {"name": 1, "other": "a"}, {"name": 9}, {"name": 4, "value": 4}, {"name": 3, "value": 3}])
    );
    let current = json!({"mergingList": [
        {"name": 1, "other": "a"}, {"name": 2, "value": 2}, {"name": 7}, {"name": 9}, {"name": 8}, {"name": 3, "value": 3}, {"name": 4, "value": 4}
    ]});
    assert_eq!(
        patched(merge_item(), current, order)["mergingList"],
        json!([{"name": 2, "value": 2}, {"name": 1, "other": "a"}, {"name": 7}, {"name": 9}, {"name": 8}, {"name": 4, "value": 4}, {"name": 3, "value": 3}])
    );
}

#[test]
fn set_element_order_with_duplicates() {
    let current = json!({"mergingList": [{"name": 1}, {"name": 2, "value": "dup1"}, {"name": 3}, {"name": 2, "value": "dup2"}, {"name": 4}]});
    let order = json!({"$setElementOrder/mergingList": [{"name": 2}, {"name": 1}, {"name": 4}, {"name": 3}, {"name": 2}]});
    assert_eq!(
        patched(merge_item(), current, order)["mergingList"],
        json!([{"name": 2, "value": "dup1"}, {"name": 2, "value": "dup2"}, {"name": 1}, {"name": 4}, {"name": 3}])
    );
    let current = json!({"mergingIntList": [1, 2, 3, 2, 4]});
    let order = json!({"$setElementOrder/mergingIntList": [2, 1, 4, 3, 2]});
    assert_eq!(
        patched(merge_item(), current, order)["mergingIntList"],
        json!([2, 2, 1, 4, 3])
    );
}

#[test]
fn primitive_lists_keep_order_when_adding_and_deleting() {
    let current = json!({"mergingIntList": [1, 4, 2]});
    let patch = json!({"$setElementOrder/mergingIntList": [3, 1, 2], "mergingIntList": [3]});
    assert_eq!(
        patched(merge_item(), current, patch)["mergingIntList"],
        json!([3, 1, 4, 2])
    );
    let current = json!({"mergingIntList": [1, 2, 3]});
    let patch = json!({"$setElementOrder/mergingIntList": [2, 1], "$deleteFromPrimitiveList/mergingIntList": [3]});
    assert_eq!(
        patched(merge_item(), current, patch)["mergingIntList"],
        json!([2, 1])
    );
}

#[test]
fn add_and_delete_items_and_keep_order() {
    let current = json!({"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "value": 2, "other": "b"}, {"name": 3, "value": 3}]});
    let patch = json!({
        "$setElementOrder/mergingList": [{"name": 4}, {"name": 2}, {"name": 1}],
        "mergingList": [{"name": 4, "value": 4}, {"name": 3, "$patch": "delete"}],
    });
    assert_eq!(
        patched(merge_item(), current, patch)["mergingList"],
        json!([{"name": 4, "value": 4}, {"name": 2, "value": 2, "other": "b"}, {"name": 1, "other": "a"}])
    );
}

#[test]
fn set_element_order_may_name_items_the_list_lacks() {
    let patch = json!({
        "$setElementOrder/mergingList": [{"name": 3}, {"name": 2}, {"name": 1}],
        "mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}],
    });
    let out = patched(
        merge_item(),
        json!({"mergingList": [{"name": 1}, {"name": 3}]}),
        patch,
    );
    assert_eq!(
        out["mergingList"],
        json!([{"name": 3, "value": 3}, {"name": 1, "value": 1}])
    );
    let patch = json!({"$setElementOrder/mergingIntList": [3, 2, 1]});
    assert_eq!(
        patched(merge_item(), json!({"mergingIntList": [1, 3]}), patch)["mergingIntList"],
        json!([3, 1])
    );
}

#[test]
fn set_element_order_must_agree_with_the_patch_list() {
    let patch = json!({
        "$setElementOrder/mergingList": [{"name": 1}, {"name": 2}, {"name": 3}],
        "mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}],
    });
    let err = failed(
        merge_item(),
        json!({"mergingList": [{"name": 1}, {"name": 3}, {"name": 2}]}),
        patch,
    );
    assert_eq!(
        err.to_string(),
        "The order in patch list:\n[map[name:3 value:3] map[name:1 value:1]]\n doesn't match $setElementOrder list:\n[map[name:1] map[name:2] map[name:3]]\n"
    );
    let patch = json!({"$setElementOrder/mergingIntList": [1, 2, 3], "mergingIntList": [3, 1]});
    let err = failed(merge_item(), json!({"mergingIntList": [1, 3, 2]}), patch);
    assert!(err.to_string().contains("doesn't match"), "{err}");
}

#[test]
fn missing_merge_key_is_an_error() {
    let err = failed(
        merge_item(),
        json!({"mergingList": [{"name": 1, "value": "a"}]}),
        json!({"mergingList": [{"value": "b"}]}),
    );
    assert_eq!(
        err.to_string(),
        "map: map[value:b] does not contain declared merge key: name"
    );
    assert!(!err.is_bad_request());
}

#[test]
fn delete_from_primitive_list() {
    let delete = json!({"$deleteFromPrimitiveList/mergingIntList": [3]});
    assert_eq!(
        patched(
            merge_item(),
            json!({"mergingIntList": [1, 2]}),
            delete.clone()
        ),
        json!({"mergingIntList": [1, 2]})
    );
    assert_eq!(
        patched(
            merge_item(),
            json!({"mergingIntList": null}),
            delete.clone()
        ),
        json!({"mergingIntList": null})
    );
    assert_eq!(
        patched(merge_item(), json!({"foo": ["bar"]}), delete),
        json!({"foo": ["bar"]}),
        "no list is created"
    );
    let delete = json!({"$deleteFromPrimitiveList/mergingIntList": [2]});
    assert_eq!(
        patched(
            merge_item(),
            json!({"mergingIntList": [1, 2, 3, 2]}),
            delete
        ),
        json!({"mergingIntList": [1, 3]})
    );
    let delete = json!({"$deleteFromPrimitiveList/nonMergingIntList": [2]});
    assert_eq!(
        patched(
            merge_item(),
            json!({"nonMergingIntList": [1, 2, 3]}),
            delete
        ),
        json!({"nonMergingIntList": [1, 3]})
    );
}

#[test]
fn retain_keys_clears_other_fields() {
    let current = json!({"retainKeysMap": {"name": "type1", "value": "foo"}});
    let patch = json!({"retainKeysMap": {"$retainKeys": ["name", "other"], "name": "type2", "other": "bar"}});
    assert_eq!(
        patched(merge_item(), current, patch),
        json!({"retainKeysMap": {"name": "type2", "other": "bar"}})
    );
    let current = json!({"retainKeysMap": {"name": "foo", "other": "a"}});
    let patch = json!({"retainKeysMap": {"$retainKeys": ["name", "value"], "value": "bar"}});
    assert_eq!(
        patched(merge_item(), current, patch),
        json!({"retainKeysMap": {"name": "foo", "value": "bar"}})
    );
}

#[test]
fn retain_keys_must_list_every_patched_field() {
    let patch = json!({"retainKeysMap": {"$retainKeys": ["name"], "value": "x", "other": null}});
    let err = failed(merge_item(), json!({"retainKeysMap": {"name": "a"}}), patch);
    assert_eq!(err, Error::RetainKeysFormat);
    assert!(err.is_bad_request());
    let err = failed(
        merge_item(),
        json!({"retainKeysMap": {}}),
        json!({"retainKeysMap": {"$retainKeys": "name"}}),
    );
    assert_eq!(err.to_string(), "invalid patch format of retainKeys");
}

#[test]
fn replace_strategy_and_directives_on_maps() {
    let current =
        json!({"replacingItem": {"a": 1, "b": {"c": 2}}, "simpleMap": {"k1": "v1", "k2": "v2"}});
    let out = patched(
        merge_item(),
        current.clone(),
        json!({"replacingItem": {"b": {"d": 3}}}),
    );
    assert_eq!(
        out["replacingItem"],
        json!({"b": {"d": 3}}),
        "the replace strategy replaces"
    );
    let out = patched(
        merge_item(),
        current.clone(),
        json!({"simpleMap": {"$patch": "replace", "k3": "v3"}}),
    );
    assert_eq!(out["simpleMap"], json!({"k3": "v3"}));
    let out = patched(
        merge_item(),
        current.clone(),
        json!({"simpleMap": {"$patch": "delete"}}),
    );
    assert_eq!(out["simpleMap"], json!({}));
    let err = failed(
        merge_item(),
        current,
        json!({"simpleMap": {"$patch": "nope", "k": 1}}),
    );
    assert_eq!(
        err.to_string(),
        "unknown patch type: nope in map: map[$patch:nope k:1]"
    );
}

#[test]
fn replace_and_delete_directives_in_merging_lists() {
    let current = json!({"mergingList": [{"name": "a", "value": 1}, {"name": "b"}, {"name": "c"}]});
    let patch = json!({"mergingList": [{"name": "x", "value": 9}, {"$patch": "replace"}]});
    assert_eq!(
        patched(merge_item(), current.clone(), patch)["mergingList"],
        json!([{"name": "x", "value": 9}])
    );
    let patch =
        json!({"mergingList": [{"name": "b", "$patch": "delete"}, {"name": "a", "other": "o"}]});
    assert_eq!(
        patched(merge_item(), current.clone(), patch)["mergingList"],
        json!([{"name": "a", "value": 1, "other": "o"}, {"name": "c"}])
    );
    assert_eq!(
        failed(
            merge_item(),
            current.clone(),
            json!({"mergingList": [{"$patch": "merge"}]})
        ),
        Error::MergeListDirective
    );
    let err = failed(
        merge_item(),
        current,
        json!({"mergingList": [{"$patch": "delete"}]}),
    );
    assert_eq!(
        err.to_string(),
        "map: map[$patch:delete] does not contain declared merge key: name"
    );
}

#[test]
fn primitive_merge_lists_are_sets() {
    let out = patched(
        merge_item(),
        json!({"mergingIntList": [1, 2]}),
        json!({"mergingIntList": [3, 1]}),
    );
    assert_eq!(
        out["mergingIntList"],
        json!([3, 1, 2]),
        "the patch's items first, in the patch's order, then the rest"
    );
    let out = patched(
        merge_item(),
        json!({"mergingIntList": [1, 2]}),
        json!({"mergingIntList": [2, 3]}),
    );
    assert_eq!(out["mergingIntList"], json!([1, 2, 3]));
}

#[test]
fn malformed_directives_are_bad_requests() {
    let cases = [
        (
            json!({"$deleteFromPrimitiveList": [1]}),
            Error::PrimitiveListFormat,
        ),
        (
            json!({"$deleteFromPrimitiveListX/mergingIntList": [1]}),
            Error::PrimitiveListFormat,
        ),
        (
            json!({"$setElementOrder": [1]}),
            Error::SetElementOrderFormat,
        ),
    ];
    for (patch, want) in cases {
        let err = failed(merge_item(), json!({"mergingIntList": [1]}), patch);
        assert!(err.is_bad_request(), "{err}");
        assert_eq!(err, want);
    }
}

#[test]
fn list_shapes_kubernetes_refuses() {
    let err = failed(
        merge_item(),
        json!({"mergingIntList": [[1]]}),
        json!({"mergingIntList": [[2]]}),
    );
    assert_eq!(err, Error::ListOfLists);
    let err = failed(
        merge_item(),
        json!({"mergingIntList": [1]}),
        json!({"mergingIntList": ["a"]}),
    );
    assert_eq!(
        err.to_string(),
        "list element types are not identical: [[1] [a]]"
    );
    let err = failed(
        merge_item(),
        json!({"mergingIntList": [1]}),
        json!({"mergingIntList": [null]}),
    );
    assert!(matches!(err, Error::ElementTypes(_)), "{err}");
    let err = failed(
        merge_item(),
        json!({"mergingIntList": []}),
        json!({"$setElementOrder/mergingIntList": []}),
    );
    assert_eq!(err, Error::NoElements);
    let err = failed(
        merge_item(),
        json!({"other": [{"a": 1}]}),
        json!({"$deleteFromPrimitiveList/other": [{"a": 1}]}),
    );
    assert_eq!(
        err.to_string(),
        "cannot merge lists without merge key for struct"
    );
    let err = failed(
        merge_item(),
        json!({"mergingIntList": [1]}),
        json!({"$setElementOrder/mergingIntList": "x"}),
    );
    assert_eq!(
        err.to_string(),
        "expected a []interface {}, but received a string"
    );
    let err = failed(
        merge_item(),
        json!({"mergingList": [{"name": 1}]}),
        json!({"mergingList": [5]}),
    );
    assert!(matches!(err, Error::ElementTypes(_)), "{err}");
}

// Documented behaviour on served types.

#[test]
fn containers_merge_by_name() {
    let current = pod_with(json!([
        {"name": "a", "image": "x:1", "env": [{"name": "A", "value": "1"}]},
        {"name": "b", "image": "y:1"},
    ]));
    let patch = json!({"spec": {"containers": [{"name": "a", "image": "x:2"}, {"name": "c", "image": "z:1"}]}});
    let out = patched(pod(), current, patch);
    let containers = &out["spec"]["containers"];
    assert_eq!(names(containers), ["a", "c", "b"]);
    assert_eq!(
        containers[0],
        json!({"name": "a", "image": "x:2", "env": [{"name": "A", "value": "1"}]})
    );
    assert_eq!(out["metadata"]["name"], "p");
}

#[test]
fn a_container_is_deleted_with_a_directive() {
    let current = pod_with(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]));
    let patch = json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}});
    assert_eq!(
        names(&patched(pod(), current, patch)["spec"]["containers"]),
        ["b"]
    );
}

#[test]
fn nested_lists_merge_by_their_own_keys() {
    let current = pod_with(json!([{
        "name": "a", "image": "x",
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 8080}],
        "volumeMounts": [{"name": "v", "mountPath": "/data"}],
        "args": ["--one", "--two"],
    }]));
    let patch = json!({"spec": {"containers": [{
        "name": "a",
        "env": [{"name": "B", "$patch": "delete"}, {"name": "C", "value": "3"}],
        "ports": [{"containerPort": 8080, "$patch": "delete"}, {"containerPort": 80, "protocol": "TCP"}],
        "volumeMounts": [{"mountPath": "/data", "readOnly": true}],
        "args": ["--three"],
    }]}});
    let c = &patched(pod(), current, patch)["spec"]["containers"][0];
    assert_eq!(
        c["env"],
        json!([{"name": "C", "value": "3"}, {"name": "A", "value": "1"}])
    );
    assert_eq!(
        c["ports"],
        json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}])
    );
    assert_eq!(
        c["volumeMounts"],
        json!([{"name": "v", "mountPath": "/data", "readOnly": true}])
    );
    assert_eq!(
        c["args"],
        json!(["--three"]),
        "lists without a strategy are replaced"
    );
}

#[test]
fn lists_without_a_strategy_are_replaced() {
    let mut current = pod_with(json!([{"name": "a", "image": "x"}]));
    current["spec"]["tolerations"] =
        json!([{"key": "k1", "operator": "Exists"}, {"key": "k2", "operator": "Exists"}]);
    let patch =
        json!({"spec": {"tolerations": [{"key": "k3", "operator": "Exists", "$patch": "delete"}]}});
    let out = patched(pod(), current, patch);
    assert_eq!(
        out["spec"]["tolerations"],
        json!([{"key": "k3", "operator": "Exists"}]),
        "the directive key is dropped, as the typed object drops it"
    );
}

#[test]
fn deployment_strategy_retains_keys() {
    let current = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}});
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    assert_eq!(
        patched(deployment(), current.clone(), patch)["spec"]["strategy"],
        json!({"type": "Recreate"})
    );
    let patch = json!({"spec": {"strategy": {"type": "Recreate"}}});
    let out = patched(deployment(), current, patch);
    assert_eq!(
        out["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%",
        "without the directive, a plain merge"
    );
}

#[test]
fn volumes_merge_by_name_and_retain_keys() {
    let mut current = pod_with(json!([{"name": "a", "image": "x"}]));
    current["spec"]["volumes"] =
        json!([{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}]);
    let patch = json!({"spec": {"volumes": [{"name": "data", "$retainKeys": ["hostPath", "name"], "hostPath": {"path": "/srv"}}]}});
    let out = patched(pod(), current, patch);
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": "data", "hostPath": {"path": "/srv"}}, {"name": "cfg", "configMap": {"name": "c"}}])
    );
}

#[test]
fn finalizers_merge_as_a_set_and_delete_from_a_parallel_list() {
    let current = json!({"metadata": {"name": "p", "finalizers": ["a", "b"]}});
    let out = patched(
        pod(),
        current.clone(),
        json!({"metadata": {"finalizers": ["c", "a"]}}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
    let out = patched(
        pod(),
        current.clone(),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
    let out = patched(
        pod(),
        current,
        json!({"metadata": {"$setElementOrder/finalizers": ["b", "a"]}}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["b", "a"]));
}

#[test]
fn nulls_delete_keys() {
    let current = json!({"metadata": {"name": "d", "labels": {"a": "1", "b": "2"}}, "spec": {"paused": true, "replicas": 2}});
    let patch = json!({"metadata": {"labels": {"a": null, "c": "3"}}, "spec": {"paused": null, "nope": null}});
    let out = patched(deployment(), current, patch);
    assert_eq!(out["metadata"]["labels"], json!({"b": "2", "c": "3"}));
    assert_eq!(
        out["spec"],
        json!({"replicas": 2}),
        "an absent key set to null is not added"
    );
    let out = patched(
        deployment(),
        json!({"spec": {}}),
        json!({"spec": {"template": {"metadata": {"labels": {"x": null, "y": "1"}}}}}),
    );
    assert_eq!(
        out["spec"]["template"],
        json!({"metadata": {"labels": {"y": "1"}}}),
        "nulls inside new values are dropped"
    );
}

#[test]
fn new_values_lose_their_directives() {
    let patch = json!({"spec": {
        "containers": [{"name": "a", "image": "x"}],
        "volumes": [{"name": "v", "$retainKeys": ["name", "emptyDir"], "emptyDir": {}}, {"name": "gone", "$patch": "delete"}],
        "affinity": {"$patch": "delete"},
        "$setElementOrder/initContainers": [{"name": "i"}],
    }});
    let out = patched(pod(), json!({"metadata": {"name": "p"}}), patch);
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": "v", "emptyDir": {}}])
    );
    assert!(out["spec"].get("affinity").is_none());
    assert!(out["spec"].get("initContainers").is_none());
    let current = pod_with(json!([{"name": "a", "image": "x"}]));
    let patch = json!({"spec": {"containers": [{"name": "b", "image": "y", "env": [{"name": "E", "$patch": "delete"}]}]}});
    let out = patched(pod(), current, patch);
    assert_eq!(
        out["spec"]["containers"][0],
        json!({"name": "b", "image": "y", "env": [{"name": "E"}]}),
        "as the typed object reads it"
    );
}

#[test]
fn type_changes_replace_values() {
    let current = json!({"spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}}}});
    let out = patched(
        deployment(),
        current,
        json!({"spec": {"replicas": "two", "selector": ["x"]}}),
    );
    assert_eq!(out["spec"], json!({"replicas": "two", "selector": ["x"]}));
}

#[test]
fn service_ports_owner_references_and_conditions_merge_by_key() {
    let svc = kind("v1", "Service");
    let current = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}});
    let out = patched(
        svc,
        current,
        json!({"spec": {"ports": [{"port": 80, "name": "http"}]}}),
    );
    assert_eq!(
        out["spec"]["ports"],
        json!([{"port": 80, "targetPort": 8080, "name": "http"}, {"port": 443}])
    );
    let current = json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}]}});
    let out = patched(
        deployment(),
        current,
        json!({"metadata": {"ownerReferences": [{"uid": "2", "controller": true}]}}),
    );
    assert_eq!(
        out["metadata"]["ownerReferences"],
        json!([{"uid": "1", "name": "a"}, {"uid": "2", "name": "b", "controller": true}])
    );
    let current = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}]}});
    let out = patched(
        pod(),
        current,
        json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
    );
    assert_eq!(
        out["status"]["conditions"],
        json!([{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}])
    );
}

#[test]
fn kubectl_apply_three_way_patch() {
    let current = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "x:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
         "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 8080, "protocol": "TCP"}],
         "terminationMessagePath": "/dev/termination-log"},
        {"name": "side", "image": "s:1"},
    ]}}}});
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "c"}, {"name": "side"}],
        "containers": [{
            "$setElementOrder/env": [{"name": "A"}],
            "$setElementOrder/ports": [{"containerPort": 80}],
            "env": [{"$patch": "delete", "name": "B"}],
            "image": "x:2",
            "name": "c",
            "ports": [{"$patch": "delete", "containerPort": 8080}],
        }],
    }}}});
    let out = patched(deployment(), current, patch);
    let containers = &out["spec"]["template"]["spec"]["containers"];
    assert_eq!(
        containers[0],
        json!({
            "name": "c", "image": "x:2", "env": [{"name": "A", "value": "1"}],
            "ports": [{"containerPort": 80, "protocol": "TCP"}], "terminationMessagePath": "/dev/termination-log",
        })
    );
    assert_eq!(names(containers), ["c", "side"]);
}

#[test]
fn errors_print_values_as_go_does() {
    let current = pod_with(json!([{"name": "a"}]));
    let err = failed(
        pod(),
        current.clone(),
        json!({"spec": {"containers": [{"image": "x", "ports": [{"containerPort": 80}], "tty": true, "n": 1.5}]}}),
    );
    assert_eq!(
        err.to_string(),
        "map: map[image:x n:1.5 ports:[map[containerPort:80]] tty:true] does not contain declared merge key: name"
    );
    let err = failed(pod(), current, json!({"spec": {"$patch": 7}}));
    assert_eq!(
        err.to_string(),
        "unknown patch type: %!s(int64=7) in map: map[$patch:7]"
    );
    let floats = [
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5, "-2.5"),
        (1.234567e7, "1.234567e+07"),
    ];
    for (f, text) in floats {
        let err = failed(
            merge_item(),
            json!({"mergingList": [{"name": 1}]}),
            json!({"mergingList": [{"v": f}]}),
        );
        assert_eq!(
            err.to_string(),
            format!("map: map[v:{text}] does not contain declared merge key: name")
        );
    }
}

#[test]
fn the_whole_object_can_be_replaced_or_emptied() {
    let current = json!({"metadata": {"name": "d"}, "spec": {"replicas": 1}});
    assert_eq!(
        patched(
            deployment(),
            current.clone(),
            json!({"$patch": "replace", "spec": {}})
        ),
        json!({"spec": {}})
    );
    assert_eq!(
        patched(deployment(), current, json!({"$patch": "delete"})),
        json!({})
    );
}

/// A small deterministic generator of awkward values.
struct Gen(u64);

impl Gen {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }

    fn pick(&mut self, from: &[&'static str]) -> &'static str {
        let i = self.next(from.len() as u64);
        from.get(usize::try_from(i).unwrap_or(0))
            .copied()
            .unwrap_or_default()
    }

    fn object(&mut self, depth: u32) -> Map<String, Value> {
        const KEYS: &[&str] = &[
            "name",
            "spec",
            "template",
            "containers",
            "env",
            "ports",
            "containerPort",
            "finalizers",
            "metadata",
            "volumes",
            "$patch",
            "$retainKeys",
            "$setElementOrder/containers",
            "$deleteFromPrimitiveList/finalizers",
            "$setElementOrder/finalizers",
            "$deleteFromPrimitiveList",
            "strategy",
            "image",
        ];
        let n = self.next(5);
        (0..n)
            .map(|_| {
                (
                    self.pick(KEYS).to_string(),
                    self.value(depth.saturating_sub(1)),
                )
            })
            .collect()
    }

    fn value(&mut self, depth: u32) -> Value {
        match self.next(if depth == 0 { 5 } else { 8 }) {
            0 => Value::Null,
            1 => json!(self.next(3)),
            2 => json!(self.pick(&["replace", "delete", "merge", "name", "a", "b", "x"])),
            3 => json!(self.next(2) == 0),
            4 => json!(0.5),
            5 | 6 => Value::Object(self.object(depth)),
            _ => {
                let n = self.next(4);
                Value::Array((0..n).map(|_| self.value(depth - 1)).collect())
            }
        }
    }
}

#[test]
fn no_input_panics() {
    let mut g = Gen(7);
    for _ in 0..20_000 {
        let original = Value::Object(g.object(5));
        let patch = g.object(5);
        for schema in [deployment(), pod(), merge_item()] {
            let _ = apply(&original, &patch, schema);
        }
    }
}

#[test]
fn large_lists_merge_without_quadratic_work() {
    let n = 30_000;
    let current = json!({
        "mergingList": (0..n).map(|i| json!({"name": i, "value": i})).collect::<Vec<_>>(),
        "mergingIntList": (0..n).collect::<Vec<_>>(),
    });
    let patch = json!({
        "mergingList": (0..n).rev().map(|i| json!({"name": i + n / 2, "other": "o"})).collect::<Vec<_>>(),
        "mergingIntList": (0..n).map(|i| i + n / 2).collect::<Vec<_>>(),
        "$setElementOrder/mergingIntList": (0..n).map(|i| i + n / 2).collect::<Vec<_>>(),
    });
    let out = patched(merge_item(), current, patch);
    assert_eq!(out["mergingList"].as_array().map(Vec::len), Some(n + n / 2));
    assert_eq!(
        out["mergingIntList"].as_array().map(Vec::len),
        Some(n + n / 2)
    );
}
