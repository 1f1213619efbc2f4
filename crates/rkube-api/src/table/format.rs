//! Cell formatting shared by the printers, following Kubernetes' helpers:
//! `duration.HumanDuration`, `labels.FormatLabels`,
//! `metav1.FormatLabelSelector` and the container layout of wide output.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// A string field, empty when absent or not a string.
pub fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// An integer field, 0 when absent or not an integer.
pub fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_default()
}

/// The elements of an array field, none when absent or not an array.
pub fn items(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Whether a field is present and not `null` (a Go pointer that is set).
pub fn is_set(v: &Value) -> bool {
    !v.is_null()
}

/// A timestamp field; `None` when absent, empty or malformed (Go's zero time).
pub fn timestamp(v: &Value) -> Option<Timestamp> {
    v.as_str()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
}

/// Kubernetes' `HumanDuration`: about two significant figures (`59s`,
/// `5m30s`, `3h`, `2d4h`, `3y10d`), `0s` for up to a second into the
/// future and `<invalid>` beyond that.
pub fn human_duration(d: SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return match (hours / 24) % 365 {
            0 => format!("{}y", hours / 24 / 365),
            days => format!("{}y{days}d", hours / 24 / 365),
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Time since a timestamp field as `HumanDuration`; `<unknown>` when unset.
pub fn since(v: &Value, now: Timestamp) -> String {
    match timestamp(v) {
        Some(t) => human_duration(now.duration_since(t)),
        None => "<unknown>".into(),
    }
}

/// The AGE cell of an object.
pub fn age(obj: &Value, now: Timestamp) -> String {
    since(&obj["metadata"]["creationTimestamp"], now)
}

/// `labels.FormatLabels`: `k=v` pairs sorted by key, `<none>` when empty.
pub fn format_labels(v: &Value) -> String {
    let Some(map) = v.as_object().filter(|m| !m.is_empty()) else {
        return "<none>".into();
    };
    let mut pairs: Vec<(&String, &str)> = map.iter().map(|(k, v)| (k, text(v))).collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A `metav1.LabelSelector` as the selector string of
/// `LabelSelectorAsSelector(...).String()`: requirements sorted by key, ""
/// for a missing or empty selector, `None` for an invalid one.
pub fn selector_string(v: &Value) -> Option<String> {
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(labels) = v["matchLabels"].as_object() {
        for (k, val) in labels {
            reqs.push((k.clone(), format!("{k}={}", text(val))));
        }
    }
    for expr in items(&v["matchExpressions"]) {
        let key = text(&expr["key"]);
        let mut values: Vec<&str> = items(&expr["values"]).iter().map(text).collect();
        values.sort_unstable();
        let req = match text(&expr["operator"]) {
            "In" if !values.is_empty() => format!("{key} in ({})", values.join(",")),
            "NotIn" if !values.is_empty() => format!("{key} notin ({})", values.join(",")),
            "Exists" if values.is_empty() => key.to_string(),
            "DoesNotExist" if values.is_empty() => format!("!{key}"),
            _ => return None,
        };
        reqs.push((key.to_string(), req));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    Some(
        reqs.into_iter()
            .map(|(_, r)| r)
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// `metav1.FormatLabelSelector`: the selector string, `<none>` when it
/// selects by nothing, `<error>` when invalid.
pub fn format_label_selector(v: &Value) -> String {
    match selector_string(v) {
        None => "<error>".into(),
        Some(s) if s.is_empty() => "<none>".into(),
        Some(s) => s,
    }
}

/// The comma-separated container names and images of a pod spec.
pub fn containers(spec: &Value) -> (String, String) {
    let list = items(&spec["containers"]);
    let names = list
        .iter()
        .map(|c| text(&c["name"]))
        .collect::<Vec<_>>()
        .join(",");
    let images = list
        .iter()
        .map(|c| text(&c["image"]))
        .collect::<Vec<_>>()
        .join(",");
    (names, images)
}

/// Go's `strconv.Itoa` or the string of an `IntOrString` field.
pub fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => int(other).to_string(),
    }
}

/// Up to three entries joined by commas, then ` + N more...`; `<unset>`
/// when there are none (`listWithMoreString`).
pub fn list_with_more(all: &[String]) -> String {
    const MAX: usize = 3;
    if all.len() > MAX {
        return format!("{} + {} more...", all[..MAX].join(","), all.len() - MAX);
    }
    if all.is_empty() {
        return "<unset>".into();
    }
    all.join(",")
}

/// `host:port` as Go's `net.JoinHostPort` writes it (IPv6 in brackets).
pub fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
