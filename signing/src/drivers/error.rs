//! What a driver reports: the card's transport errors and what the card application answered.
//! The drivers own this type; the reader layer (`token`, with PC/SC) returns it too.

use thiserror::Error;

use super::KeyAlgorithm;
use crate::card::{CardError, StatusWord};
use crate::pin::{PinCondition, PinFormatError};
use crate::pkcs11::Pkcs11Error;
use crate::tlv::TlvError;

/// What can go wrong in a card operation, from the reader up to the application.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    #[error(transparent)]
    Card(#[from] CardError),
    #[error("the card is not one Podpis knows (ATR {atr})")]
    UnknownCard { atr: String },
    #[error("the card does not have the expected application")]
    ApplicationMissing,
    #[error("the card has no file {0}")]
    FileMissing(String),
    #[error("the card refused {op} with status {sw}")]
    Status { op: &'static str, sw: StatusWord },
    #[error("the card's data is malformed: {0}")]
    Malformed(String),
    #[error("wrong PIN: {tries_left} tries left")]
    PinIncorrect { tries_left: u8 },
    #[error("the PIN is blocked")]
    PinBlocked,
    /// The try counter, read in the same transaction right before VERIFY, says one try is left
    /// and the caller passed no consent to spend it: the PIN was not sent.
    #[error("one PIN try left and no consent to use it: the PIN was not sent")]
    LastTryNotConfirmed,
    #[error("the card refused the PIN's length")]
    PinLengthRefused,
    /// The PUK was wrong; the card says how many PUK tries are left.
    #[error("wrong PUK: {tries_left} tries left")]
    PukIncorrect { tries_left: u8 },
    #[error("the PUK is blocked")]
    PukBlocked,
    /// The card refused the new PIN's form (length or characters); nothing was spent.
    #[error("the card refused the new PIN")]
    NewPinRefused,
    /// This card's application does not let its PIN be changed or unblocked by Podpis.
    #[error("this card does not let its PIN be changed or unblocked here")]
    PinManagementNotSupported,
    #[error(transparent)]
    PinFormat(#[from] PinFormatError),
    #[error("the card has no key {0}")]
    KeyMissing(u8),
    #[error("a {algorithm:?} key signs a {expected}-byte hash, not {actual} bytes")]
    HashLength {
        algorithm: KeyAlgorithm,
        expected: usize,
        actual: usize,
    },
    /// A wrong PIN on a token that keeps its try counter to itself (PKCS#11): no count, only
    /// what its flags said right after the refusal. A refusal that blocked the PIN is
    /// [`TokenError::PinBlocked`] instead.
    #[error("wrong PIN (the token does not say how many tries are left; it says {condition:?})")]
    PinIncorrectUncounted { condition: PinCondition },
    /// A wrong SO PIN (the PKCS#11 counterpart of the PUK), likewise without a count.
    #[error(
        "wrong SO PIN (the token does not say how many tries are left; it says {condition:?})"
    )]
    PukIncorrectUncounted { condition: PinCondition },
    /// The token cannot sign with this kind of key: the card profiles have no reference for it,
    /// or a PKCS#11 token has no mechanism Podpis can ask for it.
    #[error("this token cannot sign with a {algorithm:?} key here")]
    AlgorithmUnsupported { algorithm: KeyAlgorithm },
    /// What only the PKCS#11 tier meets: the module itself, its calls, its keys.
    #[error(transparent)]
    Pkcs11(#[from] Pkcs11Error),
}

impl From<TlvError> for TokenError {
    fn from(e: TlvError) -> Self {
        Self::Malformed(e.to_string())
    }
}
