//! Which driver speaks to which card: a table of ATRs, matched exactly or under a mask.
//! A new card family is one new driver file and one row here.

use super::{gost_token::GostToken, uec::Uec, CardDriver, CardKind};
use hex_literal::hex;

/// An ATR pattern: `atr` compared with the card's ATR after both are ANDed with `mask`.
pub struct AtrPattern {
    pub atr: &'static [u8],
    pub mask: Option<&'static [u8]>,
}

impl AtrPattern {
    pub fn matches(&self, atr: &[u8]) -> bool {
        if atr.len() != self.atr.len() {
            return false;
        }
        match self.mask {
            None => atr == self.atr,
            Some(mask) => atr
                .iter()
                .zip(self.atr)
                .zip(mask)
                .all(|((card, pattern), m)| card & m == pattern & m),
        }
    }
}

/// Compares all bytes but the last four (card capabilities and TCK): docs/cards.md, ATR.
const FAMILY_MASK_19: [u8; 19] = hex!("FFFFFFFFFFFFFFFFFFFFFFFFFFFF 00000000 00");
const FAMILY_MASK_20: [u8; 20] = hex!("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFF 00000000 00");

static GOST_TOKEN: GostToken = GostToken;
static UEC: Uec = Uec;

/// The table, most specific rows first.
static TABLE: &[(AtrPattern, &dyn CardDriver)] = &[
    (
        AtrPattern {
            atr: &GostToken::ATR,
            mask: None,
        },
        &GOST_TOKEN,
    ),
    (
        AtrPattern {
            atr: &Uec::ATR,
            mask: None,
        },
        &UEC,
    ),
    (
        AtrPattern {
            atr: &GostToken::ATR,
            mask: Some(&FAMILY_MASK_19),
        },
        &GOST_TOKEN,
    ),
    (
        AtrPattern {
            atr: &Uec::ATR,
            mask: Some(&FAMILY_MASK_20),
        },
        &UEC,
    ),
];

pub fn driver_for(atr: &[u8]) -> Option<&'static dyn CardDriver> {
    TABLE
        .iter()
        .find(|(pattern, _)| pattern.matches(atr))
        .map(|(_, driver)| *driver)
}

pub fn kind_of(atr: &[u8]) -> CardKind {
    driver_for(atr).map_or(CardKind::Unknown, |d| d.kind())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_atrs_find_their_drivers() {
        assert_eq!(kind_of(&GostToken::ATR), CardKind::GostToken);
        assert_eq!(kind_of(&Uec::ATR), CardKind::Uec);
    }

    #[test]
    fn masked_match_accepts_other_capabilities_and_nothing_else() {
        let mut later = GostToken::ATR;
        later[17] = 0xC0; // chaining and extended length
        later[18] ^= 0x80; // its TCK
        assert_eq!(kind_of(&later), CardKind::GostToken);

        let mut other_profile = GostToken::ATR;
        other_profile[13] = b'X';
        assert_eq!(kind_of(&other_profile), CardKind::Unknown);
        assert_eq!(kind_of(&GostToken::ATR[..18]), CardKind::Unknown);
        assert_eq!(kind_of(&hex!("3B 02 14 50")), CardKind::Unknown);
        assert_eq!(kind_of(&[]), CardKind::Unknown);
    }

    #[test]
    fn pattern_mask_compares_only_masked_bits() {
        let p = AtrPattern {
            atr: &[0x3B, 0x10],
            mask: Some(&[0xFF, 0xF0]),
        };
        assert!(p.matches(&[0x3B, 0x1F]));
        assert!(!p.matches(&[0x3B, 0x20]));
        assert!(!p.matches(&[0x3B]));
    }
}
