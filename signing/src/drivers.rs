//! Card drivers: one file per card family, matched by ATR in [`registry`].

pub mod gost_token;
pub mod registry;
pub mod uec;

use serde::Serialize;

use crate::card::{exchange, Command, Status, Transport};
use crate::pin::{Pin, PinStatus};
use crate::token::TokenError;

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

    /// Verifies the PIN and signs `hash` with key `key`, in one go. Refuses without sending
    /// VERIFY when the PIN is blocked. The PIN is sent once: never retried.
    fn sign(
        &self,
        t: &mut dyn Transport,
        key: u8,
        algorithm: KeyAlgorithm,
        hash: &[u8],
        pin: &Pin,
    ) -> Result<Vec<u8>, TokenError>;
}

/// Files read from a card are never larger than this: a certificate is a few KiB.
pub const MAX_FILE_SIZE: usize = 8 * 1024;

/// Sends a command and returns its data when the card said `9000`, or the typed error for the
/// operation `op` otherwise.
pub(crate) fn run(
    t: &mut dyn Transport,
    op: &'static str,
    command: &Command,
) -> Result<Vec<u8>, TokenError> {
    let response = exchange(t, command)?;
    if response.sw.status() == Status::Success {
        Ok(response.data)
    } else {
        Err(TokenError::Status {
            op,
            sw: response.sw,
        })
    }
}

/// Builds a VERIFY command, maps its status words, and keeps the PIN out of every error.
pub(crate) fn verify(
    t: &mut dyn Transport,
    pin_reference: u8,
    pin: &Pin,
    (min, max): (usize, usize),
) -> Result<(), TokenError> {
    pin.check_length(min, max)?;
    // Built by hand in a zeroed buffer so that no copy of the PIN outlives the exchange. A PIN
    // is at most 16 bytes, so the short form always fits.
    let mut apdu = zeroize::Zeroizing::new(Vec::with_capacity(5 + max));
    apdu.extend_from_slice(&[0x00, 0x20, 0x00, pin_reference, pin.expose().len() as u8]);
    apdu.extend_from_slice(pin.expose());
    let raw = t.transmit(&apdu);
    let response = crate::card::Response::parse(&raw?)?;
    match response.sw.status() {
        Status::Success => Ok(()),
        Status::VerifyFailed { tries_left: 0 } | Status::AuthBlocked => Err(TokenError::PinBlocked),
        Status::VerifyFailed { tries_left } => Err(TokenError::PinIncorrect { tries_left }),
        Status::WrongLength => Err(TokenError::PinLengthRefused),
        _ => Err(TokenError::Status {
            op: "VERIFY",
            sw: response.sw,
        }),
    }
}

pub(crate) fn select_application(t: &mut dyn Transport, aid: &[u8]) -> Result<(), TokenError> {
    let response = exchange(
        t,
        &Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(aid.to_vec()),
    )?;
    match response.sw.status() {
        Status::Success => Ok(()),
        Status::NotFound => Err(TokenError::ApplicationMissing),
        _ => Err(TokenError::Status {
            op: "SELECT application",
            sw: response.sw,
        }),
    }
}

pub(crate) fn check_signature(
    signature: Vec<u8>,
    algorithm: KeyAlgorithm,
) -> Result<Vec<u8>, TokenError> {
    if signature.len() == algorithm.signature_len() {
        Ok(signature)
    } else {
        Err(TokenError::Malformed(format!(
            "signature of {} bytes, expected {}",
            signature.len(),
            algorithm.signature_len()
        )))
    }
}
