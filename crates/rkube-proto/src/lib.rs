//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`,
//! what kubectl's generators and client-go's typed clients send) decoded into
//! the same JSON objects the API server gets from JSON bodies.
//!
//! Owns: the `k8s\0` + `runtime.Unknown` envelope, the protobuf wire format,
//! and how each field of every served kind maps to Kubernetes' JSON (names,
//! `Time` / `MicroTime` as RFC 3339, `Quantity`, `IntOrString`, bytes as
//! base64, embedded `RawExtension` JSON). The mapping is a table generated from
//! the k8s-pb and k8s-openapi crates (`generated.rs`, see `tests/schema.rs`).
//!
//! Must not: do I/O, default or validate objects, encode responses, or panic
//! on any input. Like Kubernetes' decoder it skips fields it does not know.
//! Protobuf cannot tell an unset Go value field from its zero value; empty
//! singular strings and empty times are left out (as `omitempty` JSON would),
//! other zero values are kept, so pointer fields set to `0` or `false` survive.

mod decode;
#[rustfmt::skip]
mod generated;
mod schema;
mod wire;

pub use decode::decode;

/// The media type of Kubernetes protobuf.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body does not start with [`MAGIC`].
    #[error(
        "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
    )]
    Magic,
    /// A value runs past the end of its message.
    #[error("unexpected end of protobuf data")]
    Truncated,
    /// A varint longer than ten bytes.
    #[error("protobuf varint is longer than 10 bytes")]
    VarintTooLong,
    /// A field number of zero or beyond 32 bits.
    #[error("invalid protobuf field number {0}")]
    FieldNumber(u64),
    /// Wire types 3 and 4 (groups) and the undefined 6 and 7.
    #[error("unsupported protobuf wire type {0}")]
    WireTypeUnsupported(u8),
    /// A known field with a wire type its type cannot have.
    #[error("{message}.{field}: wire type {wire} does not match the field's type")]
    WireType {
        message: &'static str,
        field: &'static str,
        wire: u8,
    },
    /// A field whose bytes are not a valid value of its type.
    #[error("{message}.{field}: {reason}")]
    Value {
        message: &'static str,
        field: &'static str,
        reason: String,
    },
    /// The envelope names a kind this server does not accept as protobuf.
    #[error("no kind \"{kind}\" is registered for version \"{api_version}\"")]
    UnknownKind { api_version: String, kind: String },
    /// The envelope declares a compression or encoding other than plain protobuf.
    #[error("unsupported protobuf content encoding {encoding:?} / content type {content_type:?}")]
    Encoding {
        encoding: String,
        content_type: String,
    },
    /// Messages nested deeper than any Kubernetes type.
    #[error("protobuf messages are nested deeper than {0} levels")]
    TooDeep(usize),
    /// The schema table refers to a message it does not define (a generator bug).
    #[error("protobuf schema has no message {0}")]
    Schema(&'static str),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
