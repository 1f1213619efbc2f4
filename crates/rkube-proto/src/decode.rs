//! Walks a message's wire fields with the schema table and builds its JSON.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::schema::{self, Field, Label, Ty};
use crate::wire::{Fields, Wire, varint};
use crate::{Error, MAGIC, MEDIA_TYPE, Result};

/// Deeper than any Kubernetes type nests; bounds recursion on hostile input.
const MAX_DEPTH: usize = 64;

/// Decodes a `k8s\0`-prefixed protobuf body into the object's JSON, `apiVersion` and `kind` included.
pub fn decode(body: &[u8]) -> Result<Value> {
    let envelope = body.strip_prefix(MAGIC.as_slice()).ok_or(Error::Magic)?;
    let unknown = Unknown::parse(envelope)?;
    if !unknown.content_encoding.is_empty()
        || !matches!(unknown.content_type.as_str(), "" | MEDIA_TYPE)
    {
        return Err(Error::Encoding {
            encoding: unknown.content_encoding,
            content_type: unknown.content_type,
        });
    }
    let root =
        schema::root(&unknown.api_version, &unknown.kind).ok_or_else(|| Error::UnknownKind {
            api_version: unknown.api_version.clone(),
            kind: unknown.kind.clone(),
        })?;
    let mut object = Map::new();
    object.insert("apiVersion".into(), Value::String(unknown.api_version));
    object.insert("kind".into(), Value::String(unknown.kind));
    message_into(root.message, unknown.raw, &mut object, 0)?;
    Ok(Value::Object(object))
}

/// `runtime.Unknown`: the envelope around every protobuf object.
#[derive(Default)]
struct Unknown<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
    content_type: String,
}

const UNKNOWN: &str = "runtime.Unknown";

impl<'a> Unknown<'a> {
    fn parse(buf: &'a [u8]) -> Result<Self> {
        let mut out = Unknown::default();
        for item in Fields::new(buf) {
            match item? {
                (1, Wire::Len(type_meta)) => {
                    for item in Fields::new(type_meta) {
                        match item? {
                            (1, Wire::Len(s)) => {
                                out.api_version = text(UNKNOWN, "typeMeta.apiVersion", s)?
                            }
                            (2, Wire::Len(s)) => out.kind = text(UNKNOWN, "typeMeta.kind", s)?,
                            _ => {}
                        }
                    }
                }
                (2, Wire::Len(raw)) => out.raw = raw,
                (3, Wire::Len(s)) => out.content_encoding = text(UNKNOWN, "contentEncoding", s)?,
                (4, Wire::Len(s)) => out.content_type = text(UNKNOWN, "contentType", s)?,
                (1..=4, w) => {
                    return Err(Error::WireType {
                        message: UNKNOWN,
                        field: "envelope",
                        wire: w.number(),
                    });
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Decodes the message `name` from `buf` into `out`, merging with what `out` holds.
fn message_into(
    name: &'static str,
    buf: &[u8],
    out: &mut Map<String, Value>,
    depth: usize,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep(MAX_DEPTH));
    }
    let message = schema::message(name).ok_or(Error::Schema(name))?;
    for item in Fields::new(buf) {
        let (tag, wire) = item?;
        let Ok(i) = message.fields.binary_search_by_key(&tag, |f| f.tag) else {
            continue;
        };
        let Some(field) = message.fields.get(i) else {
            continue;
        };
        let at = At {
            message: name,
            field: field.json,
        };
        match field.label {
            Label::Inline => {
                let Ty::Msg(inner) = field.ty else {
                    return Err(at.wire(wire));
                };
                message_into(inner, at.bytes(wire)?, out, depth + 1)?;
            }
            Label::One => one_into(field, at, wire, out, depth)?,
            Label::Many => {
                let slot = out
                    .entry(field.json)
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                if let Value::Array(items) = slot {
                    repeated_into(field.ty, at, wire, items, depth)?;
                }
            }
            Label::Map => {
                let (key, value) = map_entry(field.ty, at, at.bytes(wire)?, depth)?;
                let slot = out
                    .entry(field.json)
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(entries) = slot {
                    entries.insert(key, value);
                }
            }
        }
    }
    Ok(())
}

/// A singular field: nested messages merge, empty strings and unset times are left out.
fn one_into(
    field: &Field,
    at: At,
    wire: Wire,
    out: &mut Map<String, Value>,
    depth: usize,
) -> Result<()> {
    if let Ty::Msg(inner) = field.ty {
        let slot = out
            .entry(field.json)
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        if let Value::Object(nested) = slot {
            message_into(inner, at.bytes(wire)?, nested, depth + 1)?;
        }
        return Ok(());
    }
    match value(field.ty, at, wire, depth)? {
        Value::Null => out.remove(field.json),
        Value::String(s) if s.is_empty() && field.ty == Ty::String => out.remove(field.json),
        v => out.insert(field.json.to_string(), v),
    };
    Ok(())
}

/// One occurrence of a repeated field: one element, or several when numbers come packed.
fn repeated_into(ty: Ty, at: At, wire: Wire, items: &mut Vec<Value>, depth: usize) -> Result<()> {
    match (ty, wire) {
        (Ty::Bool | Ty::Int32 | Ty::Int64, Wire::Len(mut packed)) => {
            while !packed.is_empty() {
                items.push(value(ty, at, Wire::Varint(varint(&mut packed)?), depth)?);
            }
        }
        _ => items.push(value(ty, at, wire, depth)?),
    }
    Ok(())
}

/// A `map<string, ty>` entry: key 1, value 2; a missing part is its type's zero value.
fn map_entry(ty: Ty, at: At, buf: &[u8], depth: usize) -> Result<(String, Value)> {
    let (mut key, mut entry) = (String::new(), None);
    for item in Fields::new(buf) {
        match item? {
            (1, Wire::Len(s)) => key = text(at.message, at.field, s)?,
            (1, w) => return Err(at.wire(w)),
            (2, w) => entry = Some(value(ty, at, w, depth)?),
            _ => {}
        }
    }
    let entry = match entry {
        Some(v) => v,
        None => value(ty, at, Wire::Len(&[]), depth)?,
    };
    Ok((key, entry))
}

/// The JSON of one value of type `ty`; `Null` for an unset time or raw object.
fn value(ty: Ty, at: At, wire: Wire, depth: usize) -> Result<Value> {
    Ok(match (ty, wire) {
        (Ty::Bool, Wire::Varint(v)) => Value::Bool(v != 0),
        (Ty::Int32, Wire::Varint(v)) => Value::from(v as i32),
        (Ty::Int64, Wire::Varint(v)) => Value::from(v as i64),
        (Ty::String, Wire::Len(s)) => Value::String(text(at.message, at.field, s)?),
        (Ty::Bytes, Wire::Len(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Ty::Msg(inner), Wire::Len(b)) => {
            let mut nested = Map::new();
            message_into(inner, b, &mut nested, depth + 1)?;
            Value::Object(nested)
        }
        (Ty::Time, Wire::Len(b)) => timestamp(at, b, false)?,
        (Ty::MicroTime, Wire::Len(b)) => timestamp(at, b, true)?,
        (Ty::Quantity, Wire::Len(b)) => {
            let q = scalar_fields(at, b)?.text(1, at)?;
            Value::String(if q.is_empty() { "0".into() } else { q })
        }
        (Ty::IntOrString, Wire::Len(b)) => {
            let f = scalar_fields(at, b)?;
            match f.int(1) {
                1 => Value::String(f.text(3, at)?),
                _ => Value::from(f.int(2) as i32),
            }
        }
        (Ty::RawJson, Wire::Len(b)) => {
            let raw = scalar_fields(at, b)?.bytes(1);
            if raw.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(raw)
                    .map_err(|e| at.invalid(format!("embedded object is not JSON: {e}")))?
            }
        }
        (_, w) => return Err(at.wire(w)),
    })
}

/// `metav1.Time` (seconds only, as Kubernetes reads it) or `metav1.MicroTime`.
fn timestamp(at: At, buf: &[u8], micro: bool) -> Result<Value> {
    if buf.is_empty() {
        return Ok(Value::Null);
    }
    let f = scalar_fields(at, buf)?;
    let nanos = if micro { f.int(2) } else { 0 };
    let nanos = i32::try_from(nanos)
        .ok()
        .filter(|n| (0..1_000_000_000).contains(n));
    let time = nanos
        .and_then(|n| jiff::Timestamp::new(f.int(1), n).ok())
        .ok_or_else(|| at.invalid("timestamp out of range".into()))?;
    let format = if micro {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    Ok(Value::String(time.strftime(format).to_string()))
}

/// The scalar fields of a small wrapper message (`Time`, `Quantity`, `IntOrString`, ...).
struct Scalars<'a>(Vec<(u32, Wire<'a>)>);

fn scalar_fields<'a>(at: At, buf: &'a [u8]) -> Result<Scalars<'a>> {
    Fields::new(buf)
        .collect::<Result<Vec<_>>>()
        .map(Scalars)
        .map_err(|e| at.invalid(e.to_string()))
}

impl<'a> Scalars<'a> {
    fn last(&self, tag: u32) -> Option<Wire<'a>> {
        self.0
            .iter()
            .rev()
            .find(|(t, _)| *t == tag)
            .map(|(_, w)| *w)
    }

    fn int(&self, tag: u32) -> i64 {
        match self.last(tag) {
            Some(Wire::Varint(v)) => v as i64,
            _ => 0,
        }
    }

    fn bytes(&self, tag: u32) -> &'a [u8] {
        match self.last(tag) {
            Some(Wire::Len(b)) => b,
            _ => &[],
        }
    }

    fn text(&self, tag: u32, at: At) -> Result<String> {
        text(at.message, at.field, self.bytes(tag))
    }
}

fn text(message: &'static str, field: &'static str, bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Error::Value {
        message,
        field,
        reason: "string is not valid UTF-8".into(),
    })
}

/// Where a value sits, for error messages.
#[derive(Clone, Copy)]
struct At {
    message: &'static str,
    field: &'static str,
}

impl At {
    fn wire(self, wire: Wire) -> Error {
        Error::WireType {
            message: self.message,
            field: self.field,
            wire: wire.number(),
        }
    }

    fn invalid(self, reason: String) -> Error {
        Error::Value {
            message: self.message,
            field: self.field,
            reason,
        }
    }

    fn bytes(self, wire: Wire<'_>) -> Result<&[u8]> {
        match wire {
            Wire::Len(b) => Ok(b),
            w => Err(self.wire(w)),
        }
    }
}

#[cfg(test)]
mod tests;
