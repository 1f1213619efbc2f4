//! The generic registry: create, read, update, delete, list and watch for
//! every served resource, with the per-resource differences in `strategy`.

use std::sync::Arc;

use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use rkube_api::selector::{FieldSelector, LabelSelector};
use rkube_api::{ApiError, ResourceInfo, defaults, fields, resources, status, validation};
use rkube_store::{KeyValue, ListOptions, Store};
use serde_json::{Value, json};

use crate::object::{
    finalizers, meta_mut, meta_str, now_rfc3339, rfc3339_in, set_resource_version, spec_part,
    to_stored,
};
use crate::request::{Query, Target};
use crate::service_ips::Allocator;
use crate::strategy::{self, DeleteMode};
use crate::watch_cache::{CachedObject, WatchCache};

/// Patches and deletes are retried this often when a concurrent write got there first.
const WRITE_RETRIES: usize = 5;

/// The storage half of the API server.
pub struct Registry {
    pub store: Arc<dyn Store>,
    pub cache: Arc<WatchCache>,
    pub service_ips: Allocator,
}

fn is_service(info: &ResourceInfo) -> bool {
    info.group.is_empty() && info.kind == "Service"
}

/// Options of a delete, from the body's DeleteOptions and the query.
#[derive(Debug, Default)]
pub struct DeleteOptions {
    pub grace_period: Option<i64>,
    pub propagation: Option<String>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Read DeleteOptions from a (possibly empty) body and the query.
    pub fn parse(body: &Value, q: &Query) -> Result<DeleteOptions, ApiError> {
        let mut grace_period = body["gracePeriodSeconds"].as_i64();
        if let Some(g) = q.int("gracePeriodSeconds")? {
            grace_period = Some(g);
        }
        let mut propagation = body["propagationPolicy"].as_str().map(str::to_string);
        if body["orphanDependents"].as_bool() == Some(true) || q.flag("orphanDependents") {
            propagation = Some("Orphan".into());
        }
        if let Some(p) = q.get("propagationPolicy") {
            propagation = Some(p.to_string());
        }
        if let Some(p) = &propagation
            && !["Orphan", "Background", "Foreground"].contains(&p.as_str())
        {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            )));
        }
        let dry_run = q.dry_run()?
            || body["dryRun"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == "All"));
        Ok(DeleteOptions {
            grace_period,
            propagation,
            precondition_uid: body["preconditions"]["uid"].as_str().map(str::to_string),
            precondition_rv: body["preconditions"]["resourceVersion"]
                .as_str()
                .map(str::to_string),
            dry_run,
        })
    }
}

/// The continue token: where a paginated list resumes, at which revision.
#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: i64,
    start: String,
}

fn encode_continue(rv: i64, start: &str) -> String {
    let token = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv,
        start: start.into(),
    };
    base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_continue(token: &str) -> Result<ContinueToken, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| bad())?;
    let t: ContinueToken = serde_json::from_slice(&raw).map_err(|_| bad())?;
    if t.v != "meta.k8s.io/v1" || t.start.contains("..") || t.start.starts_with('/') {
        return Err(bad());
    }
    Ok(t)
}

fn store_err(info: &ResourceInfo, name: &str, e: rkube_store::Error) -> ApiError {
    use rkube_store::Error as E;
    match e {
        E::AlreadyExists(_) => ApiError::already_exists(info.group, info.plural, name),
        E::NotFound(_) => ApiError::not_found(info.group, info.plural, name),
        E::Conflict { .. } => ApiError::stale(info.group, info.plural, name),
        E::Compacted {
            requested,
            compacted,
        } => ApiError::gone(format!(
            "too old resource version: {requested} ({compacted})"
        )),
        E::FutureRevision { requested, current } => ApiError::timeout(format!(
            "Too large resource version: {requested}, current: {current}"
        )),
        E::Unavailable(msg) => ApiError::unavailable(format!("storage is unavailable: {msg}")),
    }
}

/// A Service update that omits its cluster IP or node ports keeps the
/// allocated ones, as Kubernetes does.
fn keep_allocations(new: &mut Value, old: &Value) {
    let spec = &old["spec"];
    if new["spec"]["clusterIP"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
        && spec["clusterIP"].is_string()
    {
        new["spec"]["clusterIP"] = spec["clusterIP"].clone();
        if new["spec"].get("clusterIPs").is_none_or(Value::is_null) {
            new["spec"]["clusterIPs"] = spec["clusterIPs"].clone();
        }
    }
    let old_ports = spec["ports"].as_array().cloned().unwrap_or_default();
    for port in new["spec"]["ports"].as_array_mut().into_iter().flatten() {
        if port.get("nodePort").is_some_and(|p| !p.is_null()) {
            continue;
        }
        let protocol = |p: &Value| p["protocol"].as_str().unwrap_or("TCP").to_string();
        let same = old_ports
            .iter()
            .find(|o| o["port"] == port["port"] && protocol(o) == protocol(port));
        if let Some(node_port) = same.and_then(|o| o.get("nodePort")) {
            port["nodePort"] = node_port.clone();
        }
    }
}

fn decode_kv(kv: &KeyValue) -> Result<Value, ApiError> {
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object is not JSON: {e}")))?;
    set_resource_version(&mut obj, kv.mod_revision);
    Ok(obj)
}

fn random_suffix() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Selectors of a list or watch, parsed and checked against the resource.
pub struct Filter {
    labels: LabelSelector,
    fields: FieldSelector,
    info: &'static ResourceInfo,
}

impl Filter {
    /// Parse `labelSelector` and `fieldSelector`; 400 on bad syntax or fields.
    pub fn from_query(info: &'static ResourceInfo, q: &Query) -> Result<Filter, ApiError> {
        let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or_default())
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let fields = FieldSelector::parse(q.get("fieldSelector").unwrap_or_default())
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        for req in fields.requirements() {
            if fields::field_value(info, &json!({}), &req.field).is_none() {
                return Err(ApiError::bad_request(fields::unsupported_field_error(
                    info, &req.field,
                )));
            }
        }
        Ok(Filter {
            labels,
            fields,
            info,
        })
    }

    /// Whether the object passes both selectors.
    pub fn matches(&self, obj: &CachedObject) -> bool {
        if !self.labels.matches(&obj.labels) {
            return false;
        }
        if self.fields.requirements().is_empty() {
            return true;
        }
        let value = obj.value();
        self.fields
            .matches(|f| fields::field_value(self.info, &value, f))
    }

    /// Whether neither selector restricts anything.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.requirements().is_empty()
    }
}

/// The key prefix a request covers: one namespace or the whole resource.
pub fn scope_prefix(t: &Target) -> String {
    match &t.namespace {
        Some(ns) if t.info.namespaced => format!("{}{ns}/", t.info.key_prefix()),
        _ => t.info.key_prefix(),
    }
}

/// One page of a LIST: the serialized items, the revision they were read
/// at and the continue token of the next page.
pub struct ListPage {
    pub items: Vec<Bytes>,
    pub revision: i64,
    pub cont: Option<String>,
}

impl ListPage {
    /// The page as a `<Kind>List` body.
    pub fn body(&self, info: &ResourceInfo) -> Bytes {
        list_body(info, self.revision, self.cont.as_deref(), &self.items)
    }
}

/// A JSON list body built from already-serialized items.
pub fn list_body(info: &ResourceInfo, revision: i64, cont: Option<&str>, items: &[Bytes]) -> Bytes {
    let mut meta = json!({ "resourceVersion": revision.to_string() });
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    let head =
        json!({ "kind": info.list_kind(), "apiVersion": info.api_version(), "metadata": meta });
    let head = serde_json::to_string(&head).unwrap_or_default();
    let mut out =
        BytesMut::with_capacity(head.len() + items.iter().map(|i| i.len() + 1).sum::<usize>() + 16);
    out.put_slice(&head.as_bytes()[..head.len().saturating_sub(1)]);
    out.put_slice(b",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(item);
    }
    out.put_slice(b"]}");
    out.freeze()
}

impl Registry {
    fn key(&self, t: &Target, name: &str) -> String {
        t.info.key(t.namespace.as_deref(), name)
    }

    async fn get_kv(&self, t: &Target, name: &str) -> Result<KeyValue, ApiError> {
        self.store
            .get(&self.key(t, name))
            .await
            .map_err(|e| store_err(t.info, name, e))?
            .ok_or_else(|| ApiError::not_found(t.info.group, t.info.plural, name))
    }

    /// GET of one object.
    pub async fn get(&self, t: &Target, name: &str) -> Result<Value, ApiError> {
        decode_kv(&self.get_kv(t, name).await?)
    }

    /// Check the namespace a create goes into exists and is not terminating.
    async fn admit_namespace(
        &self,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        let Some(ns_info) = resources::lookup("", "v1", "namespaces") else {
            return Ok(());
        };
        let kv = self
            .store
            .get(&ns_info.key(None, ns))
            .await
            .map_err(|e| store_err(ns_info, ns, e))?
            .ok_or_else(|| ApiError::not_found("", "namespaces", ns))?;
        let obj = decode_kv(&kv)?;
        if obj["status"]["phase"] == "Terminating"
            || !meta_str(&obj, "deletionTimestamp").is_empty()
        {
            return Err(ApiError::forbidden(format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                status::qualified(info.group, info.plural),
            )));
        }
        Ok(())
    }

    /// Check `apiVersion`/`kind` of a body against the endpoint, filling them when absent.
    pub fn check_type(
        info: &ResourceInfo,
        obj: &mut Value,
        kind: &str,
        api_version: &str,
    ) -> Result<(), ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(format!(
                "the body of the request was not a JSON object describing a {kind}"
            )));
        }
        let body_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let body_kind = obj["kind"].as_str().unwrap_or_default().to_string();
        if !body_version.is_empty() && body_version != api_version {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({body_version}) does not match the expected API version ({api_version})"
            )));
        }
        if !body_kind.is_empty() && body_kind != kind {
            return Err(ApiError::bad_request(format!(
                "{body_kind} in version \"{}\" cannot be handled as a {kind}: no kind \"{body_kind}\" is registered for version \"{}\" in scheme",
                info.version, api_version
            )));
        }
        obj["apiVersion"] = json!(api_version);
        obj["kind"] = json!(kind);
        Ok(())
    }

    fn check_namespace(t: &Target, obj: &mut Value) -> Result<(), ApiError> {
        let body_ns = meta_str(obj, "namespace").to_string();
        if !t.info.namespaced {
            meta_mut(obj).remove("namespace");
            return Ok(());
        }
        let url_ns = t.namespace.clone().unwrap_or_default();
        if !body_ns.is_empty() && !url_ns.is_empty() && body_ns != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let ns = if url_ns.is_empty() { body_ns } else { url_ns };
        if ns.is_empty() {
            return Err(ApiError::bad_request(
                "the server could not find the requested resource",
            ));
        }
        meta_mut(obj).insert("namespace".into(), json!(ns));
        Ok(())
    }

    /// POST to a collection.
    pub async fn create(&self, t: &Target, obj: Value, dry_run: bool) -> Result<Value, ApiError> {
        let mut claimed = Vec::new();
        let result = self.create_claiming(t, obj, dry_run, &mut claimed).await;
        if result.is_err() || dry_run {
            for key in &claimed {
                if let Err(e) = self.store.delete(key, None).await {
                    tracing::warn!(%key, error = %e, "could not release an allocation of a failed create");
                }
            }
        }
        result
    }

    async fn create_claiming(
        &self,
        t: &Target,
        mut obj: Value,
        dry_run: bool,
        claimed: &mut Vec<String>,
    ) -> Result<Value, ApiError> {
        let info = t.info;
        Self::check_type(info, &mut obj, info.kind, &info.api_version())?;
        Self::check_namespace(t, &mut obj)?;
        let strategy = strategy::for_resource(info);
        let meta = meta_mut(&mut obj);
        let generate = meta
            .get("generateName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
            && !generate.is_empty()
        {
            meta.insert(
                "name".into(),
                json!(format!("{generate}{}", random_suffix())),
            );
        }
        for field in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta.remove(field);
        }
        meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
        if strategy.tracks_generation() {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
        if info.group.is_empty() && info.kind == "Pod" && obj["spec"].is_object() {
            crate::admission::pod_priority(self.store.as_ref(), &mut obj).await?;
        }
        if is_service(info) && !meta_str(&obj, "name").is_empty() {
            *claimed = self.service_ips.allocate(&mut obj).await?;
        }
        defaults::apply(info, &mut obj);
        defaults::prepare_for_create(info, &mut obj);
        strategy.prepare_create(&mut obj);
        let name = meta_str(&obj, "name").to_string();
        let errors = validation::validate(info, &obj, None);
        if !errors.is_empty() {
            return Err(ApiError::invalid(info.group, info.kind, &name, &errors));
        }
        if info.namespaced {
            self.admit_namespace(info, meta_str(&obj, "namespace"), &name)
                .await?;
        }
        if dry_run {
            return Ok(obj);
        }
        let key = info.key(Some(meta_str(&obj, "namespace")), &name);
        let kv = self
            .store
            .create(&key, to_stored(&obj).into())
            .await
            .map_err(|e| store_err(info, &name, e))?;
        set_resource_version(&mut obj, kv.mod_revision);
        Ok(obj)
    }

    /// PUT of an object or of its status/finalize subresource.
    pub async fn update(
        &self,
        t: &Target,
        name: &str,
        mut obj: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let info = t.info;
        Self::check_type(info, &mut obj, info.kind, &info.api_version())?;
        let body_name = meta_str(&obj, "name");
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        meta_mut(&mut obj).insert("name".into(), json!(name));
        Self::check_namespace(t, &mut obj)?;
        let current = self.get_kv(t, name).await?;
        let precondition = meta_str(&obj, "resourceVersion").to_string();
        if !precondition.is_empty() && precondition != current.mod_revision.to_string() {
            if precondition.parse::<i64>().is_err() {
                return Err(ApiError::bad_request(format!(
                    "invalid resourceVersion {precondition:?}"
                )));
            }
            return Err(ApiError::stale(info.group, info.plural, name));
        }
        let old = decode_kv(&current)?;
        let new = self.merge_update(t, obj, &old);
        self.write_update(t, name, new, &old, current.mod_revision, dry_run)
            .await
    }

    /// The object an update results in, given what the client sent.
    fn merge_update(&self, t: &Target, mut obj: Value, old: &Value) -> Value {
        let info = t.info;
        match t.subresource.as_deref() {
            Some("status") => {
                let mut new = old.clone();
                new["status"] = obj.get("status").cloned().unwrap_or(json!({}));
                new
            }
            Some("finalize") => {
                let mut new = old.clone();
                new["spec"]["finalizers"] =
                    obj["spec"].get("finalizers").cloned().unwrap_or(json!([]));
                new
            }
            _ => {
                if info.subresource("status").is_some() {
                    match old.get("status") {
                        Some(s) => obj["status"] = s.clone(),
                        None => {
                            if let Value::Object(m) = &mut obj {
                                m.remove("status");
                            }
                        }
                    }
                }
                let old_meta = &old["metadata"];
                let meta = meta_mut(&mut obj);
                for field in [
                    "uid",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "generation",
                ] {
                    match old_meta.get(field) {
                        Some(v) => meta.insert(field.into(), v.clone()),
                        None => meta.remove(field),
                    };
                }
                if is_service(info) {
                    keep_allocations(&mut obj, old);
                }
                defaults::apply(info, &mut obj);
                obj
            }
        }
    }

    async fn write_update(
        &self,
        t: &Target,
        name: &str,
        mut new: Value,
        old: &Value,
        expected: i64,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let info = t.info;
        if strategy::for_resource(info).tracks_generation() && spec_part(&new) != spec_part(old) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            meta_mut(&mut new).insert("generation".into(), json!(generation));
        }
        let errors = validation::validate(info, &new, Some(old));
        if !errors.is_empty() {
            return Err(ApiError::invalid(info.group, info.kind, name, &errors));
        }
        set_resource_version(&mut new, expected);
        if new == *old || dry_run {
            return Ok(new);
        }
        let key = self.key(t, name);
        if Self::finished_deleting(info, &new) {
            self.remove(t, name, expected, &new).await?;
            return Ok(new);
        }
        let kv = self
            .store
            .update(&key, to_stored(&new).into(), expected)
            .await
            .map_err(|e| store_err(info, name, e))?;
        set_resource_version(&mut new, kv.mod_revision);
        Ok(new)
    }

    /// Remove an object from the store and free what it held.
    async fn remove(
        &self,
        t: &Target,
        name: &str,
        expected: i64,
        obj: &Value,
    ) -> Result<KeyValue, ApiError> {
        let (kv, _) = self
            .store
            .delete(&self.key(t, name), Some(expected))
            .await
            .map_err(|e| store_err(t.info, name, e))?;
        if is_service(t.info) {
            self.service_ips.release(obj).await;
        }
        Ok(kv)
    }

    /// Marked for deletion, nothing left to wait for: the object goes.
    fn finished_deleting(info: &ResourceInfo, obj: &Value) -> bool {
        let meta = &obj["metadata"];
        let marked = meta["deletionTimestamp"]
            .as_str()
            .is_some_and(|s| !s.is_empty());
        let grace_over = meta["deletionGracePeriodSeconds"].as_i64().unwrap_or(0) == 0;
        let spec_finalizers = info.kind == "Namespace"
            && obj["spec"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty());
        marked && grace_over && finalizers(obj).is_empty() && !spec_finalizers
    }

    /// PATCH: apply `patch` (already a function of the current object) and update.
    pub async fn patch(
        &self,
        t: &Target,
        name: &str,
        apply: &(dyn Fn(&Value) -> Result<Value, ApiError> + Send + Sync),
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let mut attempt = 0;
        loop {
            let current = self.get_kv(t, name).await?;
            let old = decode_kv(&current)?;
            let mut patched = apply(&old)?;
            Self::check_type(t.info, &mut patched, t.info.kind, &t.info.api_version())?;
            let precondition = meta_str(&patched, "resourceVersion").to_string();
            if !precondition.is_empty() && precondition != current.mod_revision.to_string() {
                return Err(ApiError::stale(t.info.group, t.info.plural, name));
            }
            if meta_str(&patched, "name") != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    meta_str(&patched, "name")
                )));
            }
            let new = self.merge_update(t, patched, &old);
            // The patched object carries the resourceVersion it was read at unless
            // the patch pins one; a pinned one fails the check above on the retry.
            match self
                .write_update(t, name, new, &old, current.mod_revision, dry_run)
                .await
            {
                Err(e) if e.is_stale() && attempt < WRITE_RETRIES => attempt += 1,
                other => return other,
            }
        }
    }

    /// A server-internal change (binding a pod): no client validation, retried on conflicts.
    pub async fn guaranteed_update(
        &self,
        t: &Target,
        name: &str,
        change: &(dyn Fn(&Value) -> Result<Value, ApiError> + Send + Sync),
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let mut attempt = 0;
        loop {
            let current = self.get_kv(t, name).await?;
            let old = decode_kv(&current)?;
            let mut new = change(&old)?;
            if dry_run {
                return Ok(new);
            }
            let stored = self
                .store
                .update(
                    &self.key(t, name),
                    to_stored(&new).into(),
                    current.mod_revision,
                )
                .await;
            match stored {
                Ok(kv) => {
                    set_resource_version(&mut new, kv.mod_revision);
                    return Ok(new);
                }
                Err(rkube_store::Error::Conflict { .. }) if attempt < WRITE_RETRIES => attempt += 1,
                Err(e) => return Err(store_err(t.info, name, e)),
            }
        }
    }

    /// DELETE of one object: immediate, graceful, or held by finalizers.
    /// Returns the HTTP code and the body (object or Status).
    pub async fn delete(
        &self,
        t: &Target,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<(u16, Value), ApiError> {
        let mut attempt = 0;
        loop {
            match self.delete_once(t, name, opts).await {
                Err(e)
                    if e.is_stale()
                        && opts.precondition_rv.is_none()
                        && attempt < WRITE_RETRIES =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn delete_once(
        &self,
        t: &Target,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<(u16, Value), ApiError> {
        let info = t.info;
        let strategy = strategy::for_resource(info);
        let current = self.get_kv(t, name).await?;
        let mut obj = decode_kv(&current)?;
        let uid = meta_str(&obj, "uid").to_string();
        if let Some(want) = &opts.precondition_uid
            && *want != uid
        {
            return Err(ApiError::conflict(
                info.group,
                info.plural,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {want}, UID in object meta: {uid}"
                ),
            ));
        }
        if let Some(want) = &opts.precondition_rv
            && *want != current.mod_revision.to_string()
        {
            return Err(ApiError::conflict(
                info.group,
                info.plural,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {want}, ResourceVersion in object meta: {}",
                    current.mod_revision
                ),
            ));
        }
        let mut fins = finalizers(&obj);
        let extra = match opts.propagation.as_deref() {
            Some("Foreground") => Some("foregroundDeletion"),
            Some("Orphan") => Some("orphan"),
            _ => None,
        };
        let mode = strategy.delete_mode(&obj, opts.grace_period);
        let already_marked = !meta_str(&obj, "deletionTimestamp").is_empty();
        let done = |obj: Value| {
            if strategy.returns_deleted_object() {
                obj
            } else {
                status::success_status(name, info.group, info.plural, &uid)
            }
        };
        if let Some(f) = extra
            && !fins.iter().any(|x| x == f)
            && !already_marked
        {
            fins.push(f.to_string());
        }
        let hold = !fins.is_empty() || matches!(mode, DeleteMode::Graceful { .. });
        if !hold {
            if opts.dry_run {
                return Ok((200, done(obj)));
            }
            let kv = self.remove(t, name, current.mod_revision, &obj).await?;
            let mut last = decode_kv(&kv)?;
            set_resource_version(&mut last, kv.mod_revision);
            return Ok((200, done(last)));
        }
        if already_marked && opts.grace_period.is_none() {
            return Ok((200, obj));
        }
        let grace = match mode {
            DeleteMode::Graceful { grace_seconds } => grace_seconds,
            DeleteMode::Immediate => 0,
        };
        let meta = meta_mut(&mut obj);
        meta.insert("finalizers".into(), json!(fins));
        if !already_marked {
            meta.insert("deletionTimestamp".into(), json!(rfc3339_in(grace)));
        }
        meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
        strategy.begin_delete(&mut obj);
        if opts.dry_run {
            return Ok((200, obj));
        }
        let key = self.key(t, name);
        if Self::finished_deleting(info, &obj) {
            self.remove(t, name, current.mod_revision, &obj).await?;
            return Ok((200, done(obj)));
        }
        let kv = self
            .store
            .update(&key, to_stored(&obj).into(), current.mod_revision)
            .await
            .map_err(|e| store_err(info, name, e))?;
        set_resource_version(&mut obj, kv.mod_revision);
        let code = if strategy.returns_deleted_object() || !fins.is_empty() {
            200
        } else {
            202
        };
        Ok((code, obj))
    }

    /// DELETE of a collection: every matching object, each deleted as above.
    pub async fn delete_collection(
        &self,
        t: &Target,
        q: &Query,
        opts: &DeleteOptions,
    ) -> Result<Bytes, ApiError> {
        let filter = Filter::from_query(t.info, q)?;
        self.cache.wait_for(self.current_revision().await?).await?;
        let snapshot = self.cache.list(t.info, &scope_prefix(t))?;
        let mut deleted = Vec::new();
        for obj in snapshot.objects.iter().filter(|o| filter.matches(o)) {
            let target = Target {
                info: t.info,
                namespace: obj.namespace.clone(),
                name: Some(obj.name.clone()),
                subresource: None,
                watch_path: false,
            };
            match self.delete(&target, &obj.name, opts).await {
                Ok((_, body)) if body["kind"] != "Status" => {
                    deleted.push(Bytes::from(serde_json::to_vec(&body).unwrap_or_default()))
                }
                Ok(_) => deleted.push(obj.json.clone()),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(list_body(t.info, self.cache.revision(), None, &deleted))
    }

    async fn current_revision(&self) -> Result<i64, ApiError> {
        self.store
            .current_revision()
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))
    }

    /// LIST, served from the watch cache or, for pagination and exact reads, from the store.
    pub async fn list(&self, t: &Target, q: &Query) -> Result<Bytes, ApiError> {
        Ok(self.list_page(t, q).await?.body(t.info))
    }

    /// The items of a LIST and where the list stands, before they are framed as a list body.
    pub async fn list_page(&self, t: &Target, q: &Query) -> Result<ListPage, ApiError> {
        let filter = Filter::from_query(t.info, q)?;
        let rv = q.get("resourceVersion").unwrap_or_default();
        let rv_match = q.get("resourceVersionMatch").unwrap_or_default();
        let limit = q.int("limit")?.unwrap_or(0).max(0);
        let cont = q.get("continue").unwrap_or_default();
        if !rv_match.is_empty() && rv.is_empty() {
            return Err(ApiError::bad_request(
                "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if !cont.is_empty() && !rv.is_empty() && rv != "0" {
            return Err(ApiError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        if !["", "NotOlderThan", "Exact"].contains(&rv_match) {
            return Err(ApiError::bad_request(format!(
                "resourceVersionMatch: Unsupported value: \"{rv_match}\": supported values: \"Exact\", \"NotOlderThan\""
            )));
        }
        let rv_num: Option<i64> = match rv {
            "" => None,
            v => Some(v.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "resourceVersion: Invalid value: \"{v}\": must be a number"
                ))
            })?),
        };
        let prefix = scope_prefix(t);
        if !cont.is_empty() || (limit > 0 && rv.is_empty()) || rv_match == "Exact" {
            let (revision, start) = if cont.is_empty() {
                (
                    if rv_match == "Exact" { rv_num } else { None },
                    prefix.clone(),
                )
            } else {
                let token = decode_continue(cont)?;
                (Some(token.rv), format!("{prefix}{}", token.start))
            };
            return self
                .list_from_store(
                    t.info,
                    &prefix,
                    &filter,
                    revision,
                    start,
                    usize::try_from(limit).unwrap_or(0),
                )
                .await;
        }
        match rv_num {
            None => self.cache.wait_for(self.current_revision().await?).await?,
            Some(n) if n > 0 => self.cache.wait_for(n).await?,
            Some(_) => {}
        }
        let snapshot = self.cache.list(t.info, &prefix)?;
        let items: Vec<Bytes> = snapshot
            .objects
            .iter()
            .filter(|o| filter.matches(o))
            .map(|o| o.json.clone())
            .collect();
        Ok(ListPage {
            items,
            revision: snapshot.revision,
            cont: None,
        })
    }

    async fn list_from_store(
        &self,
        info: &ResourceInfo,
        prefix: &str,
        filter: &Filter,
        revision: Option<i64>,
        mut start: String,
        limit: usize,
    ) -> Result<ListPage, ApiError> {
        let mut items = Vec::new();
        let mut snapshot_rev = revision;
        let page = if limit == 0 {
            0
        } else {
            limit.max(if filter.is_empty() { limit } else { 500 })
        };
        loop {
            let opts = ListOptions {
                revision: snapshot_rev,
                limit: page,
                start_key: Some(start.clone()),
            };
            let res = self.store.list(prefix, opts).await.map_err(|e| match e {
                rkube_store::Error::Compacted { .. } => ApiError::gone(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                ),
                other => store_err(info, "", other),
            })?;
            snapshot_rev = Some(res.revision);
            let mut stopped_at = None;
            for (i, kv) in res.kvs.iter().enumerate() {
                let obj = CachedObject::from_kv_checked(kv)?;
                if filter.matches(&obj) {
                    items.push(obj.json);
                }
                if limit > 0 && items.len() >= limit {
                    stopped_at = Some((i, kv.key.clone()));
                    break;
                }
            }
            let rev = res.revision;
            match stopped_at {
                Some((i, key)) => {
                    let more = res.more || i + 1 < res.kvs.len();
                    let cont =
                        more.then(|| encode_continue(rev, &format!("{}\0", &key[prefix.len()..])));
                    return Ok(ListPage {
                        items,
                        revision: rev,
                        cont,
                    });
                }
                None if !res.more => {
                    return Ok(ListPage {
                        items,
                        revision: rev,
                        cont: None,
                    });
                }
                None => match res.kvs.last() {
                    Some(last) => start = format!("{}\0", last.key),
                    None => {
                        return Ok(ListPage {
                            items,
                            revision: rev,
                            cont: None,
                        });
                    }
                },
            }
        }
    }
}

impl CachedObject {
    /// Decode a stored key/value for a list read from the store.
    pub fn from_kv_checked(kv: &KeyValue) -> Result<CachedObject, ApiError> {
        CachedObject::from_stored(&kv.key, &kv.value, kv.mod_revision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_escapes() {
        let token = encode_continue(42, "default/b\0");
        let back = decode_continue(&token).expect("decodes");
        assert_eq!((back.rv, back.start.as_str()), (42, "default/b\0"));
        assert!(decode_continue("not base64!").is_err());
        let escape = base64::engine::general_purpose::STANDARD
            .encode(br#"{"v":"meta.k8s.io/v1","rv":1,"start":"../secrets/"}"#);
        assert!(decode_continue(&escape).is_err());
    }

    #[test]
    fn list_bodies_are_valid_json() {
        let Some(info) = resources::lookup("", "v1", "configmaps") else {
            panic!("configmaps served")
        };
        let items = [
            Bytes::from_static(br#"{"a":1}"#),
            Bytes::from_static(br#"{"b":2}"#),
        ];
        let body: Value =
            serde_json::from_slice(&list_body(info, 9, Some("tok"), &items)).expect("json");
        assert_eq!(body["kind"], "ConfigMapList");
        assert_eq!(body["metadata"]["resourceVersion"], "9");
        assert_eq!(body["metadata"]["continue"], "tok");
        assert_eq!(body["items"].as_array().map(Vec::len), Some(2));
        let empty: Value = serde_json::from_slice(&list_body(info, 1, None, &[])).expect("json");
        assert_eq!(empty["items"], json!([]));
    }
}
