//! Turning an HTTP request into what it asks for: which resource, namespace,
//! name and subresource, which verb, and the list/watch/write options.

use std::collections::HashMap;

use rkube_api::{ApiError, ResourceInfo, resources};

/// A resource request, resolved against the served resource table.
#[derive(Debug)]
pub struct Target {
    pub info: &'static ResourceInfo,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The legacy `/watch/` path prefix was used.
    pub watch_path: bool,
}

/// What a path under `/api` or `/apis` names.
#[derive(Debug)]
pub enum PathKind {
    /// `/api` or `/apis`.
    Root {
        legacy: bool,
    },
    /// `/apis/<group>`.
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`.
    GroupVersion {
        group: String,
        version: String,
    },
    Resource(Target),
}

/// Subresources of a namespace itself, not resources inside it.
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

/// Resolve a request path; `Err` is the 404 Kubernetes gives for unknown paths.
pub fn parse_path(path: &str) -> Result<PathKind, ApiError> {
    let parts: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(|p| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api"] => return Ok(PathKind::Root { legacy: true }),
        ["apis"] => return Ok(PathKind::Root { legacy: false }),
        ["apis", g] => return Ok(PathKind::Group((*g).to_string())),
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::path_not_found()),
    };
    if resources::all()
        .iter()
        .all(|r| r.group != group || r.version != version)
    {
        return Err(ApiError::path_not_found());
    }
    if rest.is_empty() {
        return Ok(PathKind::GroupVersion {
            group: group.to_string(),
            version: version.to_string(),
        });
    }
    let (watch_path, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        other => (false, other),
    };
    let (namespace, rest): (Option<&str>, &[&str]) = match rest {
        ["namespaces", _, sub] if NAMESPACE_SUBRESOURCES.contains(sub) => (None, &rest[0..3]),
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some(*ns), tail),
        other => (None, other),
    };
    let (plural, name, subresource) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
        [plural, name, sub, ..] if *sub == "proxy" => (*plural, Some(*name), Some("proxy")),
        _ => return Err(ApiError::path_not_found()),
    };
    let info = resources::lookup(group, version, plural).ok_or_else(ApiError::path_not_found)?;
    if let Some(sub) = subresource
        && info.subresource(sub).is_none()
    {
        return Err(ApiError::path_not_found());
    }
    if namespace.is_some() && !info.namespaced {
        return Err(ApiError::path_not_found());
    }
    Ok(PathKind::Resource(Target {
        info,
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        subresource: subresource.map(str::to_string),
        watch_path,
    }))
}

/// Query parameters, decoded once.
#[derive(Debug, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    /// Parse a raw query string (`a=b&c=d`).
    pub fn parse(raw: Option<&str>) -> Query {
        let mut map = HashMap::new();
        for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            map.insert(decode(k), decode(v));
        }
        Query(map)
    }

    /// The raw value of a parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A boolean parameter the way Kubernetes reads it (`true`, `1`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1" | "True"))
    }

    /// An integer parameter, 400 when malformed.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid value for {key}: {v:?}: expected an integer"
                ))
            }),
        }
    }

    /// `dryRun=All` was asked for; other values are refused as Kubernetes does.
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "Invalid dry run value: unsupported value \"{other}\": supported values: \"All\""
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> Target {
        match parse_path(path) {
            Ok(PathKind::Resource(t)) => t,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn namespaced_and_cluster_paths() {
        let t = target("/api/v1/namespaces/default/pods/p1/status");
        assert_eq!(
            (
                t.info.plural,
                t.namespace.as_deref(),
                t.name.as_deref(),
                t.subresource.as_deref()
            ),
            ("pods", Some("default"), Some("p1"), Some("status"))
        );
        let t = target("/api/v1/namespaces/kube-system");
        assert_eq!(
            (t.info.plural, t.namespace.as_deref(), t.name.as_deref()),
            ("namespaces", None, Some("kube-system"))
        );
        let t = target("/api/v1/namespaces/x/finalize");
        assert_eq!(
            (t.info.plural, t.name.as_deref(), t.subresource.as_deref()),
            ("namespaces", Some("x"), Some("finalize"))
        );
        let t = target("/apis/apps/v1/deployments");
        assert_eq!(
            (t.info.plural, t.namespace.as_deref()),
            ("deployments", None)
        );
        let t = target("/api/v1/watch/namespaces/a/configmaps");
        assert!(t.watch_path);
    }

    #[test]
    fn unknown_paths_are_404() {
        for p in [
            "/api/v2/pods",
            "/apis/apps/v1/widgets",
            "/api/v1/namespaces/a/nodes",
            "/api/v1/pods/p/nope",
            "/x",
        ] {
            assert!(parse_path(p).is_err(), "{p}");
        }
    }

    #[test]
    fn query_decoding() {
        let q = Query::parse(Some(
            "labelSelector=app%3Dweb%2Ctier+in+(a)&watch=1&limit=5",
        ));
        assert_eq!(q.get("labelSelector"), Some("app=web,tier in (a)"));
        assert!(q.flag("watch"));
        assert_eq!(q.int("limit").ok().flatten(), Some(5));
        assert!(Query::parse(Some("limit=x")).int("limit").is_err());
    }
}
