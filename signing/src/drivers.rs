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
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GostToken => "gost-token",
            Self::Uec => "uec",
            Self::Unknown => "unknown",
        }
    }
}

/// The algorithm of a key on a card (docs/cards.md, algorithm references).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAlgorithm {
    Gost2012_256,
    Gost2012_512,
    Gost2001,
}

impl KeyAlgorithm {
    /// The algorithm reference byte of MSE SET and EF.KEYS.
    pub fn reference(self) -> u8 {
        match self {
            Self::Gost2012_256 => 0x01,
            Self::Gost2012_512 => 0x02,
            Self::Gost2001 => 0x03,
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

    /// Size of the hash the card signs.
    pub fn hash_len(self) -> usize {
        match self {
            Self::Gost2012_512 => 64,
            Self::Gost2012_256 | Self::Gost2001 => 32,
        }
    }

    /// Size of the signature the card returns (s ‖ r).
    pub fn signature_len(self) -> usize {
        self.hash_len() * 2
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
