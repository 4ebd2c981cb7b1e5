//! BER-TLV (ISO/IEC 7816-4 clause 6.3) and compact-TLV (clause 12.1.1) parsing of card answers.
//! Card data is untrusted: every length is checked against what is there.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TlvError {
    #[error("data ends inside a tag")]
    TruncatedTag,
    #[error("data ends inside a length")]
    TruncatedLength,
    #[error("length {0} runs past the end of the data")]
    ValueOverrun(usize),
    #[error("unsupported length form {0:02X}")]
    BadLength(u8),
    #[error("tag longer than 3 bytes")]
    TagTooLong,
}

/// One BER-TLV data object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag bytes as a number: `5F20` for a two-byte tag.
    pub tag: u32,
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Whether the tag says the value is itself TLV (bit b6 of the first tag byte).
    pub fn is_constructed(&self) -> bool {
        let first = if self.tag > 0xFFFF {
            self.tag >> 16
        } else if self.tag > 0xFF {
            self.tag >> 8
        } else {
            self.tag
        };
        first & 0x20 != 0
    }

    /// The data objects inside a constructed value.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, TlvError> {
        parse(self.value)
    }
}

/// Parses a sequence of BER-TLV objects at one level. Padding bytes `00` and `FF` between
/// objects are skipped, as ISO 7816-4 allows.
pub fn parse(mut data: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    while let Some(&first) = data.first() {
        if first == 0x00 || first == 0xFF {
            data = &data[1..];
            continue;
        }
        let (tlv, rest) = parse_one(data)?;
        out.push(tlv);
        data = rest;
    }
    Ok(out)
}

/// Finds the first object with `tag` at this level.
pub fn find(data: &[u8], tag: u32) -> Result<Option<&[u8]>, TlvError> {
    Ok(parse(data)?
        .into_iter()
        .find(|t| t.tag == tag)
        .map(|t| t.value))
}

fn parse_one(data: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let mut i = 0;
    let first = *data.first().ok_or(TlvError::TruncatedTag)?;
    let mut tag = u32::from(first);
    i += 1;
    if first & 0x1F == 0x1F {
        loop {
            let b = *data.get(i).ok_or(TlvError::TruncatedTag)?;
            i += 1;
            if i > 3 {
                return Err(TlvError::TagTooLong);
            }
            tag = (tag << 8) | u32::from(b);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let len_byte = *data.get(i).ok_or(TlvError::TruncatedLength)?;
    i += 1;
    let len = match len_byte {
        0x00..=0x7F => usize::from(len_byte),
        0x81..=0x83 => {
            let n = usize::from(len_byte & 0x7F);
            let bytes = data.get(i..i + n).ok_or(TlvError::TruncatedLength)?;
            i += n;
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        }
        other => return Err(TlvError::BadLength(other)),
    };
    let end = i.checked_add(len).ok_or(TlvError::ValueOverrun(len))?;
    let value = data.get(i..end).ok_or(TlvError::ValueOverrun(len))?;
    Ok((Tlv { tag, value }, &data[end..]))
}

/// Parses compact-TLV: one byte with the tag in the high nibble and the length in the low one.
pub fn compact(mut data: &[u8]) -> Result<Vec<(u8, &[u8])>, TlvError> {
    let mut out = Vec::new();
    while let Some(&b) = data.first() {
        let len = usize::from(b & 0x0F);
        let value = data.get(1..1 + len).ok_or(TlvError::ValueOverrun(len))?;
        out.push((b >> 4, value));
        data = &data[1 + len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn parses_short_long_and_multi_byte_tags() {
        let data = hex!("80 01 02  5F20 03 414243  9F17 01 03  A0 81 02 0102");
        let objs = parse(&data).expect("parse");
        assert_eq!(objs.len(), 4);
        assert_eq!(
            objs[0],
            Tlv {
                tag: 0x80,
                value: &[2]
            }
        );
        assert_eq!(objs[1].tag, 0x5F20);
        assert_eq!(objs[1].value, b"ABC");
        assert_eq!(objs[2].tag, 0x9F17);
        assert_eq!(objs[3].tag, 0xA0);
        assert!(objs[3].is_constructed());
        assert!(!objs[1].is_constructed());
        assert_eq!(find(&data, 0x9F17).expect("ok"), Some(&[3u8][..]));
        assert_eq!(find(&data, 0x81).expect("ok"), None);
    }

    #[test]
    fn hostile_lengths_are_errors() {
        assert_eq!(parse(&hex!("80 05 0102")), Err(TlvError::ValueOverrun(5)));
        assert_eq!(parse(&hex!("80 82 01")), Err(TlvError::TruncatedLength));
        assert_eq!(
            parse(&hex!("80 84 00000001 00")),
            Err(TlvError::BadLength(0x84))
        );
        assert_eq!(parse(&hex!("5F")), Err(TlvError::TruncatedTag));
        assert_eq!(parse(&hex!("5F 81 82 83 01 00")), Err(TlvError::TagTooLong));
        assert_eq!(
            parse(&hex!("80 83 FFFFFF")),
            Err(TlvError::ValueOverrun(0xFFFFFF))
        );
    }

    #[test]
    fn compact_tlv_walks_and_checks_lengths() {
        let v = compact(&hex!("73 000040 41 AA")).expect("parse");
        assert_eq!(v, vec![(7u8, &hex!("000040")[..]), (4u8, &hex!("AA")[..])]);
        assert!(compact(&hex!("73 00")).is_err());
    }
}
