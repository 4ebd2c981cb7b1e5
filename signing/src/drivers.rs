//! Card drivers: one file per card family, matched by ATR in [`registry`]; what several families
//! share (commands of docs/cards.md's common rules, VERIFY, status handling) is in [`common`].

pub mod common;
pub mod error;
pub mod gost_token;
pub mod registry;
pub mod uec;

use serde::Serialize;

use crate::card::Transport;
use crate::pin::{LastTry, Pin, PinStatus};

pub use error::TokenError;

/// The card families Podpis knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CardKind {
    GostToken,
    Uec,
    Unknown,
}

impl CardKind {
    /// Whether the family lets its PIN be changed and unblocked (docs/cards.md): the GOST token
    /// does, the UEC's identification application does not. Known before any APDU, so the person
    /// is not asked for three codes that the card would refuse.
    pub fn offers_pin_management(self) -> bool {
        matches!(self, Self::GostToken)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GostToken => "gost-token",
            Self::Uec => "uec",
            Self::Unknown => "unknown",
        }
    }
}

/// The algorithm of a key: the GOST ones of the card profiles (docs/cards.md, algorithm
/// references) and the commodity ones that PKCS#11 tokens and PIV cards carry.
///
/// Serialised as one string: `gost2012-256`, `gost2012-512`, `gost2001`, `ecdsa-p256`,
/// `ecdsa-p384`, `rsa-2048` (the modulus size after `rsa-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    Gost2012_256,
    Gost2012_512,
    Gost2001,
    /// ECDSA on NIST P-256, over a SHA-256 digest.
    EcdsaP256,
    /// ECDSA on NIST P-384, over a SHA-384 digest.
    EcdsaP384,
    /// RSA PKCS #1 v1.5 over a SHA-256 digest; `bits` is the modulus size.
    Rsa {
        bits: u16,
    },
}

impl KeyAlgorithm {
    /// The algorithm reference byte of MSE SET and EF.KEYS, for the algorithms the card profiles
    /// of docs/cards.md have; `None` for the others, which only PKCS#11 reaches.
    pub fn reference(self) -> Option<u8> {
        match self {
            Self::Gost2012_256 => Some(0x01),
            Self::Gost2012_512 => Some(0x02),
            Self::Gost2001 => Some(0x03),
            Self::EcdsaP256 | Self::EcdsaP384 | Self::Rsa { .. } => None,
        }
    }

    pub fn from_reference(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(Self::Gost2012_256),
            0x02 => Some(Self::Gost2012_512),
            0x03 => Some(Self::Gost2001),
            _ => None,
        }
    }

    /// Whether this is a GOST algorithm (the only ones a qualified Russian certificate has).
    pub fn is_gost(self) -> bool {
        matches!(
            self,
            Self::Gost2012_256 | Self::Gost2012_512 | Self::Gost2001
        )
    }

    /// Size of the hash the token signs: Streebog or GOST 94 for GOST keys, SHA-256 for P-256
    /// and RSA, SHA-384 for P-384.
    pub fn hash_len(self) -> usize {
        match self {
            Self::Gost2012_512 => 64,
            Self::EcdsaP384 => 48,
            Self::Gost2012_256 | Self::Gost2001 | Self::EcdsaP256 | Self::Rsa { .. } => 32,
        }
    }

    /// Size of the raw signature the token returns: s ‖ r for GOST, r ‖ s for ECDSA (each half
    /// the size of the curve's order, as PKCS#11 gives it), the modulus size for RSA.
    pub fn signature_len(self) -> usize {
        match self {
            Self::Gost2012_256 | Self::Gost2012_512 | Self::Gost2001 => self.hash_len() * 2,
            Self::EcdsaP256 => 64,
            Self::EcdsaP384 => 96,
            Self::Rsa { bits } => usize::from(bits).div_ceil(8),
        }
    }

    /// The name this algorithm is serialised and shown under.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            Self::Gost2012_256 => "gost2012-256".into(),
            Self::Gost2012_512 => "gost2012-512".into(),
            Self::Gost2001 => "gost2001".into(),
            Self::EcdsaP256 => "ecdsa-p256".into(),
            Self::EcdsaP384 => "ecdsa-p384".into(),
            Self::Rsa { bits } => format!("rsa-{bits}").into(),
        }
    }
}

/// One string, so that the GOST names stay what they were before RSA (which carries its size)
/// joined them, and JSON readers see a single field whatever the algorithm.
impl Serialize for KeyAlgorithm {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}

/// A key on the card and its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardKey {
    pub reference: u8,
    pub algorithm: KeyAlgorithm,
    pub label: Option<String>,
    pub certificate: Vec<u8>,
}

/// What a token says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenContents {
    pub serial: String,
    pub label: Option<String>,
    pub pin: PinStatus,
    pub keys: Vec<CardKey>,
}

/// Certificates the caller already holds, found by the SHA-256 of their DER: the digest a GOST
/// token's key directory names (docs/cards.md). A driver takes one only when its digest matches,
/// so a cache behind this cannot hand out a stale certificate.
pub trait KnownCertificates: Send + Sync {
    fn find(&self, sha256: &[u8; 32]) -> Option<Vec<u8>>;
}

/// No certificates known: every certificate is read from the card.
impl KnownCertificates for () {
    fn find(&self, _: &[u8; 32]) -> Option<Vec<u8>> {
        None
    }
}

/// A card family's driver. Drivers are stateless: each call gets the transport of one open
/// transaction, and one operation (read, or verify + sign) happens inside one transaction.
pub trait CardDriver: Send + Sync {
    fn kind(&self) -> CardKind;

    /// Reads serial, label, PIN status, keys and certificates; a certificate in `known` whose
    /// digest the card announces is not read again.
    fn read(
        &self,
        t: &mut dyn Transport,
        known: &dyn KnownCertificates,
    ) -> Result<TokenContents, TokenError>;

    /// Reads the PIN try counter without touching it.
    fn pin_status(&self, t: &mut dyn Transport) -> Result<PinStatus, TokenError>;

    /// Verifies the PIN and signs `hash` with key `key`, in one go. The try counter is read in
    /// the same transaction, right before VERIFY, and VERIFY is not sent when it says the PIN is
    /// blocked ([`TokenError::PinBlocked`]) or that one try is left and `last_try` is not
    /// [`LastTry::Confirmed`] ([`TokenError::LastTryNotConfirmed`]). A wrong PIN reports the tries
    /// left the card gave in its answer. The PIN is sent once: never retried.
    fn sign(
        &self,
        t: &mut dyn Transport,
        key: u8,
        algorithm: KeyAlgorithm,
        hash: &[u8],
        pin: &Pin,
        last_try: LastTry,
    ) -> Result<Vec<u8>, TokenError>;

    /// Changes the PIN: `old` is compared as VERIFY compares it (a wrong one spends a try), with
    /// the same rules for a blocked PIN and the last try. A card family that does not offer it
    /// says [`TokenError::PinManagementNotSupported`].
    fn change_pin(
        &self,
        _t: &mut dyn Transport,
        _old: &Pin,
        _new: &Pin,
        _last_try: LastTry,
    ) -> Result<(), TokenError> {
        Err(TokenError::PinManagementNotSupported)
    }

    /// Unblocks the PIN with the PUK and sets `new`; the PUK has its own counter, read in the same
    /// transaction, with the same rule for its last try.
    fn unblock_pin(
        &self,
        _t: &mut dyn Transport,
        _puk: &Pin,
        _new: &Pin,
        _last_try: LastTry,
    ) -> Result<(), TokenError> {
        Err(TokenError::PinManagementNotSupported)
    }

    /// The PUK's try counter, where the family has a PUK.
    fn puk_status(&self, _t: &mut dyn Transport) -> Result<PinStatus, TokenError> {
        Err(TokenError::PinManagementNotSupported)
    }
}

#[cfg(test)]
mod tests {
    use super::KeyAlgorithm;

    #[test]
    fn algorithms_serialise_as_one_string_and_the_gost_names_stay() {
        let names: Vec<String> = [
            KeyAlgorithm::Gost2012_256,
            KeyAlgorithm::Gost2012_512,
            KeyAlgorithm::Gost2001,
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Rsa { bits: 2048 },
        ]
        .iter()
        .map(|a| serde_json::to_string(a).expect("json"))
        .collect();
        assert_eq!(
            names,
            [
                "\"gost2012-256\"",
                "\"gost2012-512\"",
                "\"gost2001\"",
                "\"ecdsa-p256\"",
                "\"ecdsa-p384\"",
                "\"rsa-2048\""
            ]
        );
    }

    #[test]
    fn only_the_card_profiles_algorithms_have_a_reference() {
        assert_eq!(KeyAlgorithm::Gost2012_256.reference(), Some(0x01));
        assert_eq!(KeyAlgorithm::Gost2012_512.reference(), Some(0x02));
        assert_eq!(KeyAlgorithm::Gost2001.reference(), Some(0x03));
        assert_eq!(KeyAlgorithm::EcdsaP256.reference(), None);
        assert_eq!(KeyAlgorithm::Rsa { bits: 2048 }.reference(), None);
        for byte in 1..=3 {
            let algorithm = KeyAlgorithm::from_reference(byte).expect("known");
            assert_eq!(algorithm.reference(), Some(byte));
        }
    }

    #[test]
    fn sizes_of_digests_and_raw_signatures() {
        let sizes = |a: KeyAlgorithm| (a.hash_len(), a.signature_len());
        assert_eq!(sizes(KeyAlgorithm::Gost2012_256), (32, 64));
        assert_eq!(sizes(KeyAlgorithm::Gost2012_512), (64, 128));
        assert_eq!(sizes(KeyAlgorithm::EcdsaP256), (32, 64));
        assert_eq!(sizes(KeyAlgorithm::EcdsaP384), (48, 96));
        assert_eq!(sizes(KeyAlgorithm::Rsa { bits: 2048 }), (32, 256));
        assert_eq!(sizes(KeyAlgorithm::Rsa { bits: 1023 }), (32, 128));
    }
}
