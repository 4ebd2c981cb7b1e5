//! Answer-to-reset parsing (ISO/IEC 7816-3 clause 8, ISO/IEC 7816-4 clause 12.1.1): enough to find
//! the historical bytes and what the card says of itself in them.

use crate::tlv;

/// A parsed ATR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Atr {
    pub bytes: Vec<u8>,
    pub historical: Vec<u8>,
}

/// Why an ATR could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed ATR: {0}")]
pub struct AtrError(&'static str);

impl Atr {
    pub fn parse(bytes: &[u8]) -> Result<Self, AtrError> {
        let mut i = 0usize;
        let mut next = |what: &'static str| -> Result<u8, AtrError> {
            let b = *bytes.get(i).ok_or(AtrError(what))?;
            i += 1;
            Ok(b)
        };
        let ts = next("empty")?;
        if ts != 0x3B && ts != 0x3F {
            return Err(AtrError("TS is neither 3B nor 3F"));
        }
        let t0 = next("no T0")?;
        let historical_len = usize::from(t0 & 0x0F);
        let mut y = t0 >> 4;
        let mut needs_tck = false;
        loop {
            for bit in 0..3 {
                if y & (1 << bit) != 0 {
                    next("interface bytes cut off")?;
                }
            }
            if y & 0x8 == 0 {
                break;
            }
            let td = next("TD cut off")?;
            if td & 0x0F != 0 {
                needs_tck = true;
            }
            y = td >> 4;
        }
        let start = i;
        let end = start + historical_len;
        if bytes.len() < end {
            return Err(AtrError("historical bytes cut off"));
        }
        let expected_len = end + usize::from(needs_tck);
        if bytes.len() != expected_len {
            return Err(AtrError("length does not match T0 and TD bytes"));
        }
        if needs_tck && bytes[1..].iter().fold(0u8, |acc, b| acc ^ b) != 0 {
            return Err(AtrError("TCK checksum mismatch"));
        }
        Ok(Self {
            bytes: bytes.to_vec(),
            historical: bytes[start..end].to_vec(),
        })
    }

    /// Whether the card announces extended Lc and Le fields: the third software function table
    /// byte (compact-TLV tag 7, ISO 7816-4 table 118), bit b7.
    pub fn supports_extended_length(&self) -> bool {
        self.card_capabilities()
            .and_then(|caps| caps.get(2).copied())
            .is_some_and(|b| b & 0x40 != 0)
    }

    fn card_capabilities(&self) -> Option<Vec<u8>> {
        // Category indicator 00 or 80 means compact-TLV objects follow (00: with a status
        // indicator in the last three bytes, which the compact-TLV walk simply stops before).
        let (&category, rest) = self.historical.split_first()?;
        let body = match category {
            0x80 => rest,
            0x00 => rest.get(..rest.len().checked_sub(3)?)?,
            _ => return None,
        };
        tlv::compact(body)
            .ok()?
            .into_iter()
            .find(|(tag, _)| *tag == 0x7)
            .map(|(_, v)| v.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    // The GOST token ATR of docs/cards.md.
    const GOST: [u8; 19] = hex!("3B8E800180 68 504F44504953 4754 73 000040 0C");

    #[test]
    fn gost_token_atr_parses_and_announces_extended_length() {
        let atr = Atr::parse(&fixed_tck(&GOST)).expect("parse");
        assert_eq!(atr.historical.len(), 14);
        assert!(atr.supports_extended_length());
    }

    #[test]
    fn atr_without_capabilities_is_short_only() {
        // T=0 only, no TCK, historical bytes that are not compact-TLV.
        let atr = Atr::parse(&hex!("3B 02 14 50")).expect("parse");
        assert_eq!(atr.historical, hex!("1450"));
        assert!(!atr.supports_extended_length());
    }

    #[test]
    fn broken_atrs_are_errors_not_panics() {
        for bad in [
            &[][..],
            &hex!("3B"),
            &hex!("00 00"),
            &hex!("3B 8F 80 01"),
            &hex!("3B F0"),
        ] {
            assert!(Atr::parse(bad).is_err(), "{}", hex::encode(bad));
        }
        let mut wrong_tck = fixed_tck(&GOST);
        *wrong_tck.last_mut().expect("tck") ^= 0xFF;
        assert_eq!(
            Atr::parse(&wrong_tck).unwrap_err(),
            AtrError("TCK checksum mismatch")
        );
    }

    fn fixed_tck(atr: &[u8]) -> Vec<u8> {
        let mut v = atr.to_vec();
        let n = v.len();
        v[n - 1] = v[1..n - 1].iter().fold(0, |a, b| a ^ b);
        v
    }
}
