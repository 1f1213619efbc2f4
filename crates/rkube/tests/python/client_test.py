"""The official Python `kubernetes` client against rkube: CRUD, complete and
duplicate-free pagination, a watch that resumes and sees every event once,
409 on a stale update, and dict patches (sent as strategic merge patches).
Run by python_client.rs with a kubeconfig path; exits non-zero on the first
failure."""

import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

NS = "pytest"


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def cm(name, data=None, labels=None):
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {}), data=data or {"k": "v"}
    )


def test_crud(core):
    created = core.create_namespaced_config_map(NS, cm("crud", {"a": "1"}))
    check(created.metadata.uid, "uid assigned")
    got = core.read_namespaced_config_map("crud", NS)
    check(got.data == {"a": "1"}, f"read back {got.data}")
    got.data["a"] = "2"
    replaced = core.replace_namespaced_config_map("crud", NS, got)
    check(int(replaced.metadata.resource_version) > int(created.metadata.resource_version), "rv grows")
    patched = core.patch_namespaced_config_map(
        "crud", NS, [{"op": "add", "path": "/data/b", "value": "3"}]
    )
    check(patched.data == {"a": "2", "b": "3"}, f"json patch {patched.data}")
    core.delete_namespaced_config_map("crud", NS)
    try:
        core.read_namespaced_config_map("crud", NS)
        check(False, "deleted object still readable")
    except ApiException as e:
        check(e.status == 404, f"404 after delete, got {e.status}")


def test_stale_update(core):
    obj = core.create_namespaced_config_map(NS, cm("stale"))
    fresh = core.read_namespaced_config_map("stale", NS)
    fresh.data = {"k": "new"}
    core.replace_namespaced_config_map("stale", NS, fresh)
    obj.data = {"k": "old"}
    try:
        core.replace_namespaced_config_map("stale", NS, obj)
        check(False, "stale update accepted")
    except ApiException as e:
        check(e.status == 409, f"stale update gives 409, got {e.status}")
        check("the object has been modified" in e.body, e.body)


def test_pagination(core):
    names = {f"page-{i:04d}" for i in range(250)}
    for n in sorted(names):
        core.create_namespaced_config_map(NS, cm(n, labels={"set": "pages"}))
    seen, token, pages = [], None, 0
    while True:
        resp = core.list_namespaced_config_map(
            NS, label_selector="set=pages", limit=37, _continue=token
        )
        pages += 1
        seen.extend(i.metadata.name for i in resp.items)
        if pages == 1:
            # Written after the first page: must not show up in this consistent list.
            core.create_namespaced_config_map(NS, cm("page-9999", labels={"set": "pages"}))
        token = resp.metadata._continue
        if not token:
            break
    check(len(seen) == len(set(seen)), "no duplicates across pages")
    check(set(seen) == names, f"complete: missing {sorted(names - set(seen))[:5]}")
    check(pages == 7, f"250 items in pages of 37 is 7 pages, got {pages}")


def test_watch_resume(core):
    rv = core.list_namespaced_config_map(NS).metadata.resource_version
    for i in range(5):
        core.create_namespaced_config_map(NS, cm(f"w-{i}", labels={"set": "watch"}))
    core.patch_namespaced_config_map("w-0", NS, [{"op": "add", "path": "/data/x", "value": "1"}])
    core.delete_namespaced_config_map("w-1", NS)
    events, last_rv = [], rv
    w = watch.Watch()
    for ev in w.stream(
        core.list_namespaced_config_map, NS, label_selector="set=watch",
        resource_version=rv, timeout_seconds=10,
    ):
        events.append((ev["type"], ev["object"].metadata.name))
        last_rv = ev["object"].metadata.resource_version
        if len(events) == 4:
            w.stop()
    check(events == [("ADDED", "w-0"), ("ADDED", "w-1"), ("ADDED", "w-2"), ("ADDED", "w-3")], events)
    core.delete_namespaced_config_map("w-2", NS)
    rest = []
    w = watch.Watch()
    for ev in w.stream(
        core.list_namespaced_config_map, NS, label_selector="set=watch",
        resource_version=last_rv, timeout_seconds=10,
    ):
        rest.append((ev["type"], ev["object"].metadata.name))
        if len(rest) == 4:
            w.stop()
    expected = [("ADDED", "w-4"), ("MODIFIED", "w-0"), ("DELETED", "w-1"), ("DELETED", "w-2")]
    check(rest == expected, f"resumed watch {rest}")


def test_delete_collection(core):
    for i in range(3):
        core.create_namespaced_config_map(NS, cm(f"dc-{i}", labels={"set": "dc"}))
    core.create_namespaced_config_map(NS, cm("dc-keep", labels={"set": "keep"}))
    core.delete_collection_namespaced_config_map(NS, label_selector="set=dc")
    left = [c.metadata.name for c in core.list_namespaced_config_map(NS, label_selector="set in (dc,keep)").items]
    check(left == ["dc-keep"], f"deletecollection honours the selector, left {left}")


def test_binding_and_eviction(core):
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="bindme"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]),
    )
    core.create_namespaced_pod(NS, pod)
    binding = client.V1Binding(
        metadata=client.V1ObjectMeta(name="bindme"),
        target=client.V1ObjectReference(kind="Node", name="node-a"),
    )
    core.create_namespaced_pod_binding("bindme", NS, binding, _preload_content=False)
    bound = core.read_namespaced_pod("bindme", NS)
    check(bound.spec.node_name == "node-a", f"bound to {bound.spec.node_name}")
    conds = {c.type: c.status for c in (bound.status.conditions or [])}
    check(conds.get("PodScheduled") == "True", f"conditions {conds}")
    try:
        core.create_namespaced_pod_binding("bindme", NS, binding, _preload_content=False)
        check(False, "second binding accepted")
    except ApiException as e:
        check(e.status == 409 and "already assigned" in e.body, f"{e.status} {e.body}")
    eviction = client.V1Eviction(
        metadata=client.V1ObjectMeta(name="bindme"),
        delete_options=client.V1DeleteOptions(grace_period_seconds=0),
    )
    core.create_namespaced_pod_eviction("bindme", NS, eviction)
    try:
        core.read_namespaced_pod("bindme", NS)
        check(False, "evicted pod still exists")
    except ApiException as e:
        check(e.status == 404, f"404 after eviction, got {e.status}")


def test_dict_patch_is_strategic(core):
    apps = client.AppsV1Api()
    containers = [client.V1Container(name="c", image="x:1"), client.V1Container(name="side", image="s:1")]
    labels = {"app": "sp"}
    apps.create_namespaced_deployment(NS, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="sp"),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels), spec=client.V1PodSpec(containers=containers)
            ),
        ),
    ))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x:2"}]}}}}
    patched = apps.patch_namespaced_deployment("sp", NS, patch)
    images = {c.name: c.image for c in patched.spec.template.spec.containers}
    check(images == {"c": "x:2", "side": "s:1"}, f"a dict patch merges containers by name: {images}")


def main():
    config.load_kube_config(config_file=sys.argv[1])
    core = client.CoreV1Api()
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    tests = [
        test_crud, test_stale_update, test_pagination, test_watch_resume,
        test_delete_collection, test_binding_and_eviction, test_dict_patch_is_strategic,
    ]
    for t in tests:
        t(core)
        print(f"ok {t.__name__}")
    print(f"python client: all {len(tests)} checks ok")


if __name__ == "__main__":
    main()
