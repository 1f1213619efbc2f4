//! The HTTP face of the API server: authentication, routing of every path
//! to discovery, health or the registry, body decoding, and turning results
//! and errors into Kubernetes responses.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, Method, StatusCode, header};
use rkube_api::ApiError;
use rkube_api::table::Printer;
use rkube_pki::Subject;
use serde_json::{Value, json};
use tokio_stream::wrappers::ReceiverStream;

use crate::auth::{Attributes, Authenticator, Authorizer, Credentials, User};
use crate::discovery;
use crate::registry::{DeleteOptions, Registry};
use crate::request::{PathKind, Query, Target, parse_path};
use crate::table::Output;
use crate::watch;

/// Largest request body accepted, as in Kubernetes (3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Subresources the registry serves itself; the node-proxied ones
/// (log, exec, attach, portforward, proxy) arrive with the kubelet.
const SERVED_SUBRESOURCES: &[&str] = &["status", "scale", "binding", "eviction", "finalize"];

/// Everything a request handler needs.
pub struct App {
    pub registry: Registry,
    pub authn: Box<dyn Authenticator>,
    pub authz: Box<dyn Authorizer>,
    /// `host:port` clients should use, advertised in `/api`.
    pub server_address: String,
}

/// The verified client certificate of the connection a request came on.
#[derive(Clone, Debug, Default)]
pub struct PeerIdentity(pub Option<Subject>);

fn json_response(code: u16, body: &Value) -> Response {
    bytes_response(
        code,
        Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
    )
}

fn bytes_response(code: u16, body: Bytes) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn error_response(err: &ApiError) -> Response {
    json_response(err.code, &err.to_status())
}

/// A GET answer: the object, or a Table of it when one was negotiated.
fn object_response(output: Output, printer: Printer, obj: &Value) -> Response {
    match output.table() {
        Some(opts) => bytes_response(
            200,
            crate::table::object_table(printer, obj, opts, jiff::Timestamp::now()),
        ),
        None => json_response(200, obj),
    }
}

/// The single entry point for every request.
pub async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<PeerIdentity>()
        .cloned()
        .unwrap_or_default();
    let creds = Credentials {
        client_cert: peer.0.as_ref(),
        headers: req.headers(),
    };
    let Some(user) = app.authn.authenticate(&creds) else {
        return error_response(&ApiError::unauthorized());
    };
    match route(&app, &user, req).await {
        Ok(resp) => resp,
        Err(e) => error_response(&e),
    }
}

async fn route(app: &Arc<App>, user: &User, req: Request) -> Result<Response, ApiError> {
    let path = req.uri().path().to_string();
    match path.as_str() {
        "/version" | "/version/" => return Ok(json_response(200, &discovery::version())),
        "/healthz" | "/livez" | "/readyz" => return Ok((StatusCode::OK, "ok").into_response()),
        p if p.starts_with("/healthz/")
            || p.starts_with("/livez/")
            || p.starts_with("/readyz/") =>
        {
            return Ok((StatusCode::OK, "ok").into_response());
        }
        _ => {}
    }
    if path == "/openapi/v3" || path == "/openapi/v3/" {
        return Ok(json_response(200, &crate::openapi::root()));
    }
    if let Some(rel) = path.strip_prefix("/openapi/v3/") {
        return crate::openapi::document(rel)
            .map(|d| json_response(200, &d))
            .ok_or_else(ApiError::path_not_found);
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    match parse_path(&path)? {
        PathKind::Root { legacy } if discovery::wants_aggregated(&accept) => {
            let body =
                Bytes::from(serde_json::to_vec(&discovery::aggregated(legacy)).unwrap_or_default());
            Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, discovery::AGGREGATED_MEDIA_TYPE)],
                body,
            )
                .into_response())
        }
        PathKind::Root { legacy: true } => Ok(json_response(
            200,
            &discovery::legacy_versions(&app.server_address),
        )),
        PathKind::Root { legacy: false } => Ok(json_response(200, &discovery::group_list())),
        PathKind::Group(g) => discovery::group(&g)
            .map(|d| json_response(200, &d))
            .ok_or_else(ApiError::path_not_found),
        PathKind::GroupVersion { group, version } => Ok(json_response(
            200,
            &discovery::resource_list(&group, &version),
        )),
        PathKind::Resource(t) => resource(app, user, t, req).await,
    }
}

/// The Kubernetes verb of a resource request; `None` for a method the path
/// does not serve (updates and patches name an object, creates go to a
/// collection or a subresource).
fn verb_of(method: &Method, t: &Target, q: &Query) -> Option<&'static str> {
    let watching = t.watch_path || q.flag("watch");
    let verb = match (method.as_str(), t.name.is_some()) {
        ("GET", _) if watching => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", false) => "create",
        ("POST", true) if t.subresource.is_some() => "create",
        ("PUT", true) => "update",
        ("PATCH", true) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => return None,
    };
    Some(verb)
}

/// Bodies over [`MAX_BODY`] are still read and dropped up to this size before
/// the 413 goes out: a server that answers early and leaves the body unread
/// resets the HTTP/2 stream (or the HTTP/1.1 connection), and the client sees
/// that reset instead of the 413.
const DRAIN_LIMIT: usize = 4 * MAX_BODY;

async fn read_body(req: Request) -> Result<(HeaderMap, Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT) {
        return Err(ApiError::too_large());
    }
    let mut chunks = body.into_data_stream();
    let mut bytes = bytes::BytesMut::new();
    let mut total = 0usize;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("error reading the request body: {e}")))?;
        total = total.saturating_add(chunk.len());
        if total <= MAX_BODY {
            bytes.extend_from_slice(&chunk);
        } else if total > DRAIN_LIMIT {
            break;
        }
    }
    if total > MAX_BODY {
        return Err(ApiError::too_large());
    }
    Ok((parts.headers, bytes.freeze()))
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Decode a JSON, YAML or Kubernetes protobuf body into an object; 400 with the decoder's words otherwise.
fn decode_object(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let ct = content_type(headers);
    let value: Value = match ct.as_str() {
        "application/json" | "" | "*/*" => serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!(
                "Object 'Kind' is missing in '{}': {e}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ))
        })?,
        "application/yaml" | "application/x-yaml" | "text/yaml" => serde_yaml_ng::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))?,
        rkube_proto::MEDIA_TYPE => rkube_proto::decode(body).map_err(|e| {
            ApiError::bad_request(format!(
                "the protobuf body cannot be handled as a Kubernetes object: {e}"
            ))
        })?,
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(format!(
            "couldn't get version/kind; json parse error: expected an object, got {}",
            match value {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Null => "null",
                _ => "a scalar",
            }
        )));
    }
    Ok(value)
}

async fn resource(
    app: &Arc<App>,
    user: &User,
    t: Target,
    req: Request,
) -> Result<Response, ApiError> {
    let q = Query::parse(req.uri().query());
    let Some(verb) = verb_of(req.method(), &t, &q) else {
        return Err(ApiError::method_not_supported(
            t.info.group,
            t.info.plural,
            req.method().as_str(),
        ));
    };
    let allowed = match t.subresource.as_deref() {
        None => t.info.supports(verb),
        Some(s) => t
            .info
            .subresource(s)
            .is_some_and(|sub| sub.verbs.contains(&verb)),
    };
    if !allowed {
        return Err(ApiError::method_not_supported(
            t.info.group,
            t.info.plural,
            verb,
        ));
    }
    let attrs = Attributes {
        verb,
        group: t.info.group,
        resource: t.info.plural,
        subresource: t.subresource.as_deref(),
        namespace: t.namespace.as_deref(),
        name: t.name.as_deref(),
    };
    if !app.authz.authorize(user, &attrs) {
        return Err(ApiError::forbidden(format!(
            "{} is forbidden: User \"{}\" cannot {verb} resource \"{}\" in API group \"{}\"",
            t.info.plural, user.name, t.info.plural, t.info.group
        )));
    }
    if let Some(sub) = t
        .subresource
        .as_deref()
        .filter(|s| !SERVED_SUBRESOURCES.contains(s))
    {
        let mut err = ApiError::path_not_found();
        err.message = format!(
            "the {sub} subresource of {} is not served by this server yet",
            t.info.plural
        );
        return Err(err);
    }
    let output = crate::table::output_of(&t, req.headers(), &q)?;
    let reg = &app.registry;
    let name = t.name.clone().unwrap_or_default();
    match (verb, t.subresource.as_deref()) {
        ("watch", _) => {
            let rx = watch::start(reg.cache.clone(), &t, &q, output.table())?;
            let stream = ReceiverStream::new(rx).map(Ok::<Bytes, std::convert::Infallible>);
            Ok((
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                Body::from_stream(stream),
            )
                .into_response())
        }
        ("list", _) => match output.table() {
            Some(opts) => Ok(bytes_response(
                200,
                crate::table::list_response(t.info, reg.list_page(&t, &q).await?, opts).await?,
            )),
            None => Ok(bytes_response(200, reg.list(&t, &q).await?)),
        },
        ("get", Some("scale")) => Ok(object_response(
            output,
            Printer::Scale,
            &crate::subresources::scale_of(&reg.get(&t, &name).await?)?,
        )),
        ("get", _) => Ok(object_response(
            output,
            Printer::for_resource(t.info),
            &reg.get(&t, &name).await?,
        )),
        ("create", sub) => {
            let dry_run = q.dry_run()?;
            let (headers, body) = read_body(req).await?;
            let obj = decode_object(&headers, &body)?;
            match sub {
                Some("binding") => crate::subresources::bind(reg, &t, &name, obj, dry_run)
                    .await
                    .map(|v| json_response(201, &v)),
                Some("eviction") => crate::subresources::evict(reg, &t, &name, obj, &q)
                    .await
                    .map(|v| json_response(201, &v)),
                None if t.info.plural == "bindings" => {
                    let pod = meta_name(&obj);
                    crate::subresources::bind(reg, &t, &pod, obj, dry_run)
                        .await
                        .map(|v| json_response(201, &v))
                }
                _ => Ok(json_response(201, &reg.create(&t, obj, dry_run).await?)),
            }
        }
        ("update", sub) => {
            let dry_run = q.dry_run()?;
            let (headers, body) = read_body(req).await?;
            let obj = decode_object(&headers, &body)?;
            let out = match sub {
                Some("scale") => {
                    crate::subresources::update_scale(reg, &t, &name, obj, dry_run).await?
                }
                _ => reg.update(&t, &name, obj, dry_run).await?,
            };
            Ok(json_response(200, &out))
        }
        ("patch", sub) => {
            let dry_run = q.dry_run()?;
            let (headers, body) = read_body(req).await?;
            let patch = crate::patch::Patch::decode(&content_type(&headers), &body)?;
            let out = match sub {
                Some("scale") => {
                    crate::subresources::patch_scale(reg, &t, &name, &patch, dry_run).await?
                }
                _ => {
                    reg.patch(&t, &name, &|old| patch.apply(old), dry_run)
                        .await?
                }
            };
            Ok(json_response(200, &out))
        }
        ("delete", _) => {
            let opts = delete_options(req, &q).await?;
            let (code, out) = reg.delete(&t, &name, &opts).await?;
            Ok(json_response(code, &out))
        }
        ("deletecollection", _) => {
            let opts = delete_options(req, &q).await?;
            Ok(bytes_response(
                200,
                reg.delete_collection(&t, &q, &opts).await?,
            ))
        }
        _ => Err(ApiError::method_not_supported(
            t.info.group,
            t.info.plural,
            verb,
        )),
    }
}

/// DeleteOptions from an optional JSON, YAML or protobuf body plus the query.
async fn delete_options(req: Request, q: &Query) -> Result<DeleteOptions, ApiError> {
    let (headers, body) = read_body(req).await?;
    let opts = if body.is_empty() {
        json!({})
    } else {
        decode_object(&headers, &body)?
    };
    DeleteOptions::parse(&opts, q)
}

fn meta_name(obj: &Value) -> String {
    obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
