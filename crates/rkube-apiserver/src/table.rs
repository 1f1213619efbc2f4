//! Server-side printing over HTTP: which representation a request's
//! `Accept` header asks for (a plain object or a `meta.k8s.io` Table), and
//! Tables built from single objects, list pages and watch events, with the
//! row objects `includeObject` selects. Columns and cells come from
//! `rkube_api::table`.

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{HeaderMap, header};
use jiff::Timestamp;
use rkube_api::table::Printer;
use rkube_api::{ApiError, ResourceInfo};
use serde_json::{Value, json};

use crate::registry::ListPage;
use crate::request::{Query, Target};

/// Lists longer than this are converted off the async workers.
const BLOCKING_ROWS: usize = 256;
/// Lists longer than this are converted on several threads.
const PARALLEL_ROWS: usize = 2048;
/// Threads a long list is converted on at most.
const MAX_THREADS: usize = 4;

/// What a row carries as its `object`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

/// A Table request: which `meta.k8s.io` version and what rows carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableOptions {
    /// `v1` or `v1beta1`.
    pub version: &'static str,
    pub include: Include,
}

/// The representation a request negotiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The objects themselves (JSON).
    Object,
    Table(TableOptions),
}

impl Output {
    /// The Table options, when a Table was asked for.
    pub fn table(self) -> Option<TableOptions> {
        match self {
            Output::Table(o) => Some(o),
            Output::Object => None,
        }
    }
}

/// Media types a resource request may accept, as Kubernetes lists them in a 406.
const ACCEPTED: &str = "application/json, application/yaml, application/vnd.kubernetes.protobuf";

/// One entry of an `Accept` header: media type, parameters and quality.
struct MediaRange<'a> {
    media: String,
    params: Vec<(String, &'a str)>,
    quality: f32,
}

impl MediaRange<'_> {
    fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

fn parse_accept(accept: &str) -> Vec<MediaRange<'_>> {
    let mut ranges: Vec<MediaRange> = accept
        .split(',')
        .filter_map(|clause| {
            let mut parts = clause.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            if media.is_empty() {
                return None;
            }
            let params: Vec<(String, &str)> = parts
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"')))
                .collect();
            let quality = params
                .iter()
                .find(|(k, _)| k == "q")
                .map_or(1.0, |(_, v)| v.parse().unwrap_or(0.0));
            Some(MediaRange {
                media,
                params,
                quality,
            })
        })
        .filter(|r| r.quality > 0.0)
        .collect();
    ranges.sort_by(|a, b| b.quality.total_cmp(&a.quality));
    ranges
}

/// The representation a resource request asks for. Objects and their
/// `status` and `scale` are negotiated; other subresources (logs, exec,
/// proxies) answer in their own media types and are left alone.
pub fn output_of(t: &Target, headers: &HeaderMap, q: &Query) -> Result<Output, ApiError> {
    match t.subresource.as_deref() {
        None | Some("status" | "scale") => negotiate(
            headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
            q,
        ),
        Some(_) => Ok(Output::Object),
    }
}

/// `includeObject` of a Table request; 400 for values Kubernetes refuses.
fn include_object(q: &Query) -> Result<Include, ApiError> {
    match q.get("includeObject").unwrap_or_default() {
        "" | "Metadata" => Ok(Include::Metadata),
        "None" => Ok(Include::None),
        "Object" => Ok(Include::Object),
        other => Err(ApiError::bad_request(format!(
            "Unable to convert to Table as requested: includeObject: Unsupported value: \"{other}\": supported values: \"\", \"Metadata\", \"None\", \"Object\""
        ))),
    }
}

/// Choose the representation from `Accept`, best quality first: a JSON
/// Table of `meta.k8s.io/v1` or `v1beta1`, or plain objects. Entries we
/// cannot serve (other `as=` conversions, Tables in protobuf) are skipped;
/// 406 when nothing is left.
pub fn negotiate(accept: &str, q: &Query) -> Result<Output, ApiError> {
    if accept.trim().is_empty() {
        return Ok(Output::Object);
    }
    for range in parse_accept(accept) {
        let json = matches!(
            range.media.as_str(),
            "application/json" | "application/*" | "*/*"
        );
        match range.param("as") {
            Some("Table") => {
                let version = match range.param("v") {
                    Some("v1") => "v1",
                    Some("v1beta1") => "v1beta1",
                    _ => continue,
                };
                if json && range.param("g") == Some("meta.k8s.io") {
                    return Ok(Output::Table(TableOptions {
                        version,
                        include: include_object(q)?,
                    }));
                }
            }
            Some(_) => {}
            None if json
                || matches!(
                    range.media.as_str(),
                    "application/yaml" | "application/vnd.kubernetes.protobuf"
                ) =>
            {
                return Ok(Output::Object);
            }
            None => {}
        }
    }
    Err(ApiError::not_acceptable(format!(
        "only the following media types are accepted: {ACCEPTED}"
    )))
}

/// The start of a Table body: type, list metadata and (optionally) columns, up to `"rows":[`.
fn head(
    printer: Printer,
    opts: TableOptions,
    resource_version: &str,
    cont: Option<&str>,
    headers: bool,
) -> Vec<u8> {
    let mut meta = serde_json::Map::new();
    if !resource_version.is_empty() {
        meta.insert("resourceVersion".into(), json!(resource_version));
    }
    if let Some(c) = cont.filter(|c| !c.is_empty()) {
        meta.insert("continue".into(), json!(c));
    }
    let columns = if headers {
        Value::Array(printer.columns().iter().map(|c| c.to_json()).collect())
    } else {
        Value::Null
    };
    let head = json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{}", opts.version),
        "metadata": meta,
        "columnDefinitions": columns,
    });
    let mut out = serde_json::to_vec(&head).unwrap_or_default();
    out.pop();
    out.extend_from_slice(b",\"rows\":[");
    out
}

/// Append `v` as JSON (`null` should it not serialize).
fn write_json(out: &mut Vec<u8>, v: &Value) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
}

/// Append one row for `obj` (whose serialized form is `raw`, when at hand).
fn push_row(
    out: &mut Vec<u8>,
    printer: Printer,
    opts: TableOptions,
    mut obj: Value,
    raw: Option<&[u8]>,
    now: Timestamp,
) {
    let cells = Value::Array(printer.cells(&obj, now));
    let conditions = printer.conditions(&obj);
    out.extend_from_slice(b"{\"cells\":");
    write_json(out, &cells);
    if !conditions.is_empty() {
        out.extend_from_slice(b",\"conditions\":");
        write_json(out, &Value::Array(conditions));
    }
    out.extend_from_slice(b",\"object\":");
    match (opts.include, raw) {
        (Include::None, _) => out.extend_from_slice(b"null"),
        (Include::Object, Some(raw)) => out.extend_from_slice(raw),
        (Include::Object, None) => write_json(out, &obj),
        (Include::Metadata, _) => {
            let metadata = obj
                .get_mut("metadata")
                .map(Value::take)
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({}));
            let partial = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": format!("meta.k8s.io/{}", opts.version),
                "metadata": metadata,
            });
            write_json(out, &partial);
        }
    }
    out.push(b'}');
}

/// The object's `metadata.resourceVersion`.
fn resource_version(obj: &Value) -> &str {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
}

/// A Table of one object, as a GET answers.
pub fn object_table(printer: Printer, obj: &Value, opts: TableOptions, now: Timestamp) -> Bytes {
    let mut out = head(printer, opts, resource_version(obj), None, true);
    push_row(&mut out, printer, opts, obj.clone(), None, now);
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

/// The comma-separated rows of `items`.
fn rows(printer: Printer, opts: TableOptions, items: &[Bytes], now: Timestamp) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.iter().map(|i| i.len() / 2).sum());
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match serde_json::from_slice::<Value>(item) {
            Ok(obj) => push_row(&mut out, printer, opts, obj, Some(item), now),
            Err(_) => push_row(&mut out, printer, opts, Value::Null, None, now),
        }
    }
    out
}

/// A Table of a list page, one row per item; long pages are converted on
/// every core, in order.
pub fn list_table(printer: Printer, page: &ListPage, opts: TableOptions, now: Timestamp) -> Bytes {
    let mut out = head(
        printer,
        opts,
        &page.revision.to_string(),
        page.cont.as_deref(),
        true,
    );
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_THREADS);
    if threads < 2 || page.items.len() < PARALLEL_ROWS {
        out.extend_from_slice(&rows(printer, opts, &page.items, now));
    } else {
        let chunk = page.items.len().div_ceil(threads);
        let parts: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let workers: Vec<_> = page
                .items
                .chunks(chunk)
                .map(|items| scope.spawn(move || rows(printer, opts, items, now)))
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_default())
                .collect()
        });
        for (i, part) in parts.iter().filter(|p| !p.is_empty()).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(part);
        }
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

/// The Table body of a LIST, converted off the async workers when long.
pub async fn list_response(
    info: &ResourceInfo,
    page: ListPage,
    opts: TableOptions,
) -> Result<Bytes, ApiError> {
    let printer = Printer::for_resource(info);
    let now = Timestamp::now();
    if page.items.len() <= BLOCKING_ROWS {
        return Ok(list_table(printer, &page, opts, now));
    }
    tokio::task::spawn_blocking(move || list_table(printer, &page, opts, now))
        .await
        .map_err(|e| ApiError::internal(format!("building the table failed: {e}")))
}

/// Turns the objects of a watch into Tables of one row each; only the first
/// carries the column definitions, as in Kubernetes.
pub struct WatchTables {
    printer: Printer,
    opts: TableOptions,
    headers_sent: AtomicBool,
}

impl WatchTables {
    /// Tables for a watch of `info` with `opts`.
    pub fn new(info: &ResourceInfo, opts: TableOptions) -> WatchTables {
        WatchTables {
            printer: Printer::for_resource(info),
            opts,
            headers_sent: AtomicBool::new(false),
        }
    }

    /// The Table carrying the serialized object `raw` of one event.
    pub fn encode(&self, raw: &[u8]) -> Bytes {
        let (obj, raw) = match serde_json::from_slice::<Value>(raw) {
            Ok(obj) => (obj, Some(raw)),
            Err(_) => (Value::Null, None),
        };
        let headers = !self.headers_sent.swap(true, Ordering::Relaxed);
        let mut out = head(
            self.printer,
            self.opts,
            resource_version(&obj),
            None,
            headers,
        );
        push_row(
            &mut out,
            self.printer,
            self.opts,
            obj,
            raw,
            Timestamp::now(),
        );
        out.extend_from_slice(b"]}");
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(raw: &str) -> Query {
        Query::parse(Some(raw))
    }

    const KUBECTL: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    #[test]
    fn negotiation_follows_kubernetes() {
        let v1 = Output::Table(TableOptions {
            version: "v1",
            include: Include::Metadata,
        });
        assert_eq!(negotiate(KUBECTL, &q("")).ok(), Some(v1));
        assert_eq!(negotiate("", &q("")).ok(), Some(Output::Object));
        assert_eq!(
            negotiate("application/json", &q("")).ok(),
            Some(Output::Object)
        );
        assert_eq!(
            negotiate("application/vnd.kubernetes.protobuf, */*", &q("")).ok(),
            Some(Output::Object)
        );
        assert_eq!(
            negotiate("application/json;stream=watch", &q("")).ok(),
            Some(Output::Object)
        );
        let beta = negotiate(
            "application/vnd.kubernetes.protobuf;as=Table;v=v1beta1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io",
            &q("includeObject=None"),
        );
        assert_eq!(
            beta.ok(),
            Some(Output::Table(TableOptions {
                version: "v1beta1",
                include: Include::None
            }))
        );
        let preferred = negotiate(
            "application/json;q=0.5, application/json;as=Table;v=v1;g=meta.k8s.io",
            &q("includeObject=Object"),
        );
        assert_eq!(
            preferred.ok(),
            Some(Output::Table(TableOptions {
                version: "v1",
                include: Include::Object
            }))
        );
        for refused in [
            "application/json;as=Table;v=v1alpha1;g=meta.k8s.io",
            "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io",
            "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
            "text/html",
            "application/json;q=0",
        ] {
            let err = negotiate(refused, &q("")).err();
            assert_eq!(
                err.as_ref().map(|e| (e.code, e.reason)),
                Some((406, "NotAcceptable")),
                "{refused}"
            );
        }
        let bad = negotiate(KUBECTL, &q("includeObject=All")).err();
        assert_eq!(bad.map(|e| e.code), Some(400));
        assert_eq!(
            negotiate("application/json", &q("includeObject=All")).ok(),
            Some(Output::Object)
        );
    }

    fn pods() -> &'static ResourceInfo {
        rkube_api::resources::lookup("", "v1", "pods").expect("pods are served")
    }

    fn pod(name: &str, rv: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "resourceVersion": rv,
            "creationTimestamp": "2026-01-01T00:00:00Z", "labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}, "status": {"phase": "Succeeded"}})
    }

    fn parse(b: &Bytes) -> Value {
        serde_json::from_slice(b).unwrap_or(Value::Null)
    }

    #[test]
    fn list_tables_carry_rows_and_partial_metadata() {
        let opts = TableOptions {
            version: "v1",
            include: Include::Metadata,
        };
        let items = vec![
            Bytes::from(pod("a", "5").to_string()),
            Bytes::from(pod("b", "6").to_string()),
            Bytes::from_static(b"not json"),
        ];
        let page = ListPage {
            items,
            revision: 9,
            cont: Some("tok".into()),
        };
        let now = "2026-01-01T00:05:00Z".parse().unwrap_or_default();
        let t = parse(&list_table(Printer::Pod, &page, opts, now));
        assert_eq!(
            (t["kind"].as_str(), t["apiVersion"].as_str()),
            (Some("Table"), Some("meta.k8s.io/v1"))
        );
        assert_eq!(
            t["metadata"],
            json!({"resourceVersion": "9", "continue": "tok"})
        );
        assert_eq!(t["columnDefinitions"].as_array().map(Vec::len), Some(9));
        assert_eq!(
            t["columnDefinitions"][0],
            json!({"name": "Name", "type": "string", "format": "name",
            "description": Printer::Pod.columns()[0].description, "priority": 0})
        );
        assert_eq!(
            t["rows"][0]["cells"],
            json!([
                "a",
                "0/1",
                "Succeeded",
                "0",
                "5m",
                "<none>",
                "<none>",
                "<none>",
                "<none>"
            ])
        );
        assert_eq!(t["rows"][0]["conditions"][0]["type"], "Completed");
        assert_eq!(
            t["rows"][1]["object"],
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": pod("b", "6")["metadata"]})
        );
        assert_eq!(t["rows"][2]["cells"][0], "");
        let empty = parse(&list_table(
            Printer::Pod,
            &ListPage {
                items: Vec::new(),
                revision: 1,
                cont: None,
            },
            opts,
            now,
        ));
        assert_eq!(
            (empty["rows"].clone(), empty["metadata"].clone()),
            (json!([]), json!({"resourceVersion": "1"}))
        );

        let whole = TableOptions {
            version: "v1beta1",
            include: Include::Object,
        };
        let t = parse(&list_table(Printer::Pod, &page, whole, now));
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1beta1");
        assert_eq!(t["rows"][0]["object"], pod("a", "5"));
        assert_eq!(t["rows"][2]["object"], Value::Null);
        let none = parse(&object_table(
            Printer::Pod,
            &pod("a", "5"),
            TableOptions {
                version: "v1",
                include: Include::None,
            },
            now,
        ));
        assert_eq!(
            (
                none["rows"][0]["object"].clone(),
                none["metadata"]["resourceVersion"].clone()
            ),
            (Value::Null, json!("5"))
        );
    }

    #[test]
    fn long_lists_keep_their_order() {
        let items: Vec<Bytes> = (0..PARALLEL_ROWS * 2 + 3)
            .map(|i| Bytes::from(pod(&format!("p{i}"), "1").to_string()))
            .collect();
        let page = ListPage {
            items,
            revision: 2,
            cont: None,
        };
        let t = parse(&list_table(
            Printer::Pod,
            &page,
            TableOptions {
                version: "v1",
                include: Include::None,
            },
            Timestamp::now(),
        ));
        let names: Vec<&str> = t["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["cells"][0].as_str())
            .collect();
        assert_eq!(names.len(), PARALLEL_ROWS * 2 + 3);
        assert!(names.iter().enumerate().all(|(i, n)| *n == format!("p{i}")));
    }

    #[test]
    fn watch_tables_send_columns_once() {
        let tables = WatchTables::new(
            pods(),
            TableOptions {
                version: "v1",
                include: Include::Metadata,
            },
        );
        let first = parse(&tables.encode(pod("a", "5").to_string().as_bytes()));
        let second = parse(&tables.encode(pod("b", "7").to_string().as_bytes()));
        assert!(first["columnDefinitions"].is_array());
        assert!(second["columnDefinitions"].is_null());
        assert_eq!(second["metadata"]["resourceVersion"], "7");
        assert_eq!(second["rows"].as_array().map(Vec::len), Some(1));
        assert_eq!(second["rows"][0]["cells"][0], "b");
    }
}
