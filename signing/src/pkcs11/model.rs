//! What the PKCS#11 tier tells its caller: tokens, their PIN state and their keys, in the shapes
//! of the card tier (`drivers::TokenContents`, `CardKey`, `PinStatus`) where they fit.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::drivers::KeyAlgorithm;
use crate::pin::PinCondition;

/// Which token: the module that reaches it, its slot, and the serial number the token gave. A
/// slot can hold another token later (a reader, a USB port), so every operation checks the serial
/// before it does anything; a different token is reported as the first one removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenId {
    pub module: PathBuf,
    pub slot: u64,
    pub serial: String,
}

/// Where the user PIN is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinEntry {
    /// Typed into Podpis, which passes it to `C_Login`.
    Keyboard,
    /// On the reader's PIN pad (`CKF_PROTECTED_AUTHENTICATION_PATH`): Podpis asks for no PIN,
    /// tells the user to enter it on the reader, and logs in without one.
    Reader,
}

/// What a PKCS#11 token says of its PINs: flags, not a count (see [`PinCondition`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinState {
    /// The user PIN (`CKF_USER_PIN_COUNT_LOW`, `_FINAL_TRY`, `_LOCKED`).
    pub condition: PinCondition,
    pub entry: PinEntry,
    /// `CKF_USER_PIN_TO_BE_CHANGED`: the initial or an expired PIN; the token signs only after a
    /// change.
    pub to_be_changed: bool,
    /// `CKF_USER_PIN_INITIALIZED`: false on a token whose user PIN was never set (it needs an
    /// unblock with the SO PIN, which sets one).
    pub initialized: bool,
    /// The PIN lengths the token accepts (`ulMinPinLen`, `ulMaxPinLen`).
    pub min_len: usize,
    pub max_len: usize,
    /// The SO PIN, which unblocks (`CKF_SO_PIN_COUNT_LOW`, `_FINAL_TRY`, `_LOCKED`).
    pub so_condition: PinCondition,
}

impl PinState {
    pub fn is_blocked(&self) -> bool {
        self.condition.is_blocked()
    }

    /// The next wrong PIN blocks the token: ask the user's consent first, as on the card tier.
    pub fn is_last_try(&self) -> bool {
        self.condition.is_last_try()
    }

    /// Whether Podpis asks the user for the PIN (false on a PIN pad).
    pub fn needs_typed_pin(&self) -> bool {
        self.entry == PinEntry::Keyboard
    }
}

/// A token as a module lists it, before any key is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub id: TokenId,
    pub label: String,
    pub manufacturer: String,
    pub model: String,
    pub pin: PinState,
}

/// A key on a PKCS#11 token and its certificate: the counterpart of `drivers::CardKey`, named
/// by its `CKA_ID` instead of a one-byte key reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// `CKA_ID`, shared by the certificate and the key: what [`Module::sign`] takes to find the
    /// private key.
    ///
    /// [`Module::sign`]: super::Module::sign
    pub id: Vec<u8>,
    /// The certificate's `CKA_LABEL`, or the key's where the certificate has none.
    pub label: Option<String>,
    pub algorithm: KeyAlgorithm,
    /// The certificate, DER.
    pub certificate: Vec<u8>,
    /// `CKA_ALWAYS_AUTHENTICATE` of the private key: every signature needs the PIN again (the
    /// tier does the context-specific login itself, with the same PIN). `None` while the
    /// private key is hidden before the login, as most tokens hide it.
    pub always_authenticate: Option<bool>,
}

impl Key {
    /// The `CKA_ID` in lower-case hex, for display and JSON.
    pub fn id_hex(&self) -> String {
        hex::encode(&self.id)
    }
}

/// What a token holds: the counterpart of `drivers::TokenContents`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenContents {
    pub token: Token,
    /// The keys that have a certificate with the same `CKA_ID`, ordered by `CKA_ID`.
    pub keys: Vec<Key>,
}

/// What a token is to sign: the digest Podpis computed and, where the caller has them, the bytes
/// it was computed over.
///
/// The tier signs the digest (`CKM_ECDSA`, `CKM_RSA_PKCS` over a DigestInfo,
/// `CKM_GOSTR3410_512`) wherever it can. It passes the bytes to a hash-and-sign mechanism only
/// where the digest cannot be signed through `cryptoki` 0.12: a GOST R 34.10-2012-256 key
/// (`cryptoki` cannot name `CKM_GOSTR3410`, so the token hashes with
/// `CKM_GOSTR3410_WITH_GOSTR3411_12_256`), and a key with `CKA_ALWAYS_AUTHENTICATE` (whose
/// context-specific login must come between `C_SignInit` and the signing call, which `cryptoki`
/// allows only for multi-part signing, and the raw mechanisms are single-part).
#[derive(Clone, PartialEq, Eq)]
pub struct ToSign {
    pub(super) digest: Vec<u8>,
    pub(super) data: Option<Vec<u8>>,
}

impl ToSign {
    /// A digest alone. Enough for ECDSA, RSA and GOST-512 keys that do not always authenticate.
    pub fn digest(digest: Vec<u8>) -> Self {
        Self { digest, data: None }
    }

    /// The bytes to sign; the digest is computed here with the algorithm's hash, so the two
    /// cannot disagree. For CAdES: `ToSign::data(prepared.algorithm(),
    /// prepared.signed_attributes().to_vec())`.
    pub fn data(algorithm: KeyAlgorithm, data: Vec<u8>) -> Self {
        Self {
            digest: algorithm.digest(&data),
            data: Some(data),
        }
    }

    pub fn digest_bytes(&self) -> &[u8] {
        &self.digest
    }
}

impl std::fmt::Debug for ToSign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToSign")
            .field("digest", &hex::encode(&self.digest))
            .field("data_len", &self.data.as_ref().map(Vec::len))
            .finish()
    }
}
