//! The shape of the schema table: which protobuf field numbers a Kubernetes
//! message has, what each holds and what it is called in JSON. The table
//! itself is `generated.rs`.

/// What one field (or one map value) holds, as the decoder needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// `bool`.
    Bool,
    /// `int32` (a varint, sign-extended when negative).
    Int32,
    /// `int64`.
    Int64,
    /// `string`.
    String,
    /// `bytes`, base64 in JSON.
    Bytes,
    /// A nested message, by its name in [`MESSAGES`](crate::generated::MESSAGES).
    Msg(&'static str),
    /// `metav1.Time`: RFC 3339 in whole seconds.
    Time,
    /// `metav1.MicroTime`: RFC 3339 with microseconds.
    MicroTime,
    /// `resource.Quantity`: its string form.
    Quantity,
    /// `intstr.IntOrString`: a JSON number or string.
    IntOrString,
    /// `runtime.RawExtension` and `metav1.FieldsV1`: JSON carried as bytes.
    RawJson,
}

/// How a field repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// A singular field.
    One,
    /// A repeated field: a JSON array.
    Many,
    /// `map<string, ty>`: a JSON object.
    Map,
    /// An embedded Go struct whose JSON fields sit in the parent object.
    Inline,
}

/// One field of a message.
#[derive(Debug)]
pub struct Field {
    /// Protobuf field number.
    pub tag: u32,
    /// Name in JSON.
    pub json: &'static str,
    /// What a value holds (for maps, what each map value holds).
    pub ty: Ty,
    /// Singular, repeated, map or inline.
    pub label: Label,
}

/// One message type.
#[derive(Debug)]
pub struct Message {
    /// The k8s-pb module path of the type, dot-separated (`api.core.v1.ConfigMap`).
    pub name: &'static str,
    /// Its fields, by ascending tag.
    pub fields: &'static [Field],
}

/// A kind that may arrive as a request body.
#[derive(Debug)]
pub struct Root {
    /// `apiVersion`; `meta.k8s.io/v1` kinds are accepted under any group version.
    pub api_version: &'static str,
    /// `kind`.
    pub kind: &'static str,
    /// The message that encodes it.
    pub message: &'static str,
}

/// A singular field.
pub(crate) const fn one(tag: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        tag,
        json,
        ty,
        label: Label::One,
    }
}

/// A repeated field.
pub(crate) const fn many(tag: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        tag,
        json,
        ty,
        label: Label::Many,
    }
}

/// A `map<string, ty>` field.
pub(crate) const fn map(tag: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        tag,
        json,
        ty,
        label: Label::Map,
    }
}

/// An inline embedded message.
pub(crate) const fn inline(tag: u32, message: &'static str) -> Field {
    Field {
        tag,
        json: "",
        ty: Ty::Msg(message),
        label: Label::Inline,
    }
}

/// The message called `name`.
pub fn message(name: &str) -> Option<&'static Message> {
    let all = crate::generated::MESSAGES;
    all.binary_search_by(|m| m.name.cmp(name))
        .ok()
        .and_then(|i| all.get(i))
}

/// The message that encodes `kind` at `api_version`.
pub fn root(api_version: &str, kind: &str) -> Option<&'static Root> {
    let roots = crate::generated::ROOTS;
    roots
        .iter()
        .find(|r| r.api_version == api_version && r.kind == kind)
        .or_else(|| {
            roots
                .iter()
                .find(|r| r.api_version == META_V1 && r.kind == kind)
        })
}

/// The group version of kinds (`DeleteOptions`) every group version also serves.
const META_V1: &str = "meta.k8s.io/v1";
