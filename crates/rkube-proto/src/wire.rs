//! The protobuf wire format: keys, varints, fixed-width and length-delimited
//! values, read from a byte slice without copying and without trusting it.

use crate::{Error, Result};

/// One field value as it appears on the wire.
#[derive(Clone, Copy, Debug)]
pub enum Wire<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1 (no Kubernetes type uses it; only skipped).
    Fixed64,
    /// Wire type 2.
    Len(&'a [u8]),
    /// Wire type 5 (no Kubernetes type uses it; only skipped).
    Fixed32,
}

impl Wire<'_> {
    /// The wire type number, for error messages.
    pub fn number(&self) -> u8 {
        match self {
            Wire::Varint(_) => 0,
            Wire::Fixed64 => 1,
            Wire::Len(_) => 2,
            Wire::Fixed32 => 5,
        }
    }
}

/// Reads `(field number, value)` pairs from one message's bytes.
pub struct Fields<'a> {
    buf: &'a [u8],
    failed: bool,
}

impl<'a> Fields<'a> {
    /// The fields of the message encoded in `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Fields { buf, failed: false }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            return Err(Error::Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn field(&mut self) -> Result<(u32, Wire<'a>)> {
        let key = varint(&mut self.buf)?;
        let tag = u32::try_from(key >> 3).map_err(|_| Error::FieldNumber(key >> 3))?;
        if tag == 0 {
            return Err(Error::FieldNumber(0));
        }
        let value = match key & 7 {
            0 => Wire::Varint(varint(&mut self.buf)?),
            1 => {
                self.take(8)?;
                Wire::Fixed64
            }
            2 => {
                let len = usize::try_from(varint(&mut self.buf)?).map_err(|_| Error::Truncated)?;
                Wire::Len(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Wire::Fixed32
            }
            other => return Err(Error::WireTypeUnsupported(other as u8)),
        };
        Ok((tag, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Wire<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() || self.failed {
            return None;
        }
        let item = self.field();
        self.failed = item.is_err();
        Some(item)
    }
}

/// Reads a base-128 varint from the front of `buf`, advancing it.
pub fn varint(buf: &mut &[u8]) -> Result<u64> {
    let mut value = 0u64;
    for (i, byte) in buf.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *buf = &buf[i + 1..];
            return Ok(value);
        }
    }
    Err(if buf.len() >= 10 {
        Error::VarintTooLong
    } else {
        Error::Truncated
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode_and_reject_overlong_or_truncated_input() {
        let mut buf: &[u8] = &[0xac, 0x02, 0x01];
        assert_eq!(varint(&mut buf).ok(), Some(300));
        assert_eq!(buf, &[0x01]);
        let mut minus_one: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(varint(&mut minus_one).ok(), Some(u64::MAX));
        assert!(matches!(
            varint(&mut &[0x80u8, 0x80][..]),
            Err(Error::Truncated)
        ));
        assert!(matches!(
            varint(&mut &[0xffu8; 11][..]),
            Err(Error::VarintTooLong)
        ));
    }

    #[test]
    fn fields_stop_at_the_first_error() {
        let buf = [0x08, 0x01, 0x12, 0x05, b'a'];
        let items: Vec<_> = Fields::new(&buf).collect();
        assert!(matches!(items.first(), Some(Ok((1, Wire::Varint(1))))));
        assert!(matches!(items.get(1), Some(Err(Error::Truncated))));
        assert_eq!(items.len(), 2);
        assert!(matches!(
            Fields::new(&[0x0b]).next(),
            Some(Err(Error::WireTypeUnsupported(3)))
        ));
        assert!(matches!(
            Fields::new(&[0x00]).next(),
            Some(Err(Error::FieldNumber(0)))
        ));
    }
}
