//! What only the PKCS#11 tier meets: the module (a vendor's library, foreign code), its calls and
//! its keys. PIN outcomes, a removed token and a module that stops answering are the
//! [`TokenError`](crate::TokenError) variants the card tier uses; this type holds the rest.
//! Always compiled (without the `pkcs11` feature too), because `TokenError` carries it.

use std::path::PathBuf;

use thiserror::Error;

use crate::drivers::KeyAlgorithm;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// No file at the module's path.
    #[error("there is no PKCS#11 module at {module}")]
    ModuleMissing { module: PathBuf },
    /// The file is there but is not a PKCS#11 library this system can load (not a shared library,
    /// another architecture, a missing dependency, no `C_GetFunctionList`).
    #[error("the PKCS#11 module {module} cannot be loaded: {reason}")]
    ModuleNotLoadable { module: PathBuf, reason: String },
    /// `C_Initialize` refused, with its return code (`CKR_…`).
    #[error("the PKCS#11 module {module} did not start: C_Initialize returned {rv}")]
    ModuleInitFailed { module: PathBuf, rv: String },
    /// The module took down the process that probed it (a signal, or an exit without a report).
    #[error("the PKCS#11 module {module} crashed the process that tried it ({how})")]
    ModuleCrashed { module: PathBuf, how: String },
    /// The module did not finish its start-up in the probe's time.
    #[error("the PKCS#11 module {module} did not answer in time when it was tried")]
    ModuleTimedOut { module: PathBuf },
    /// A call into this module passed its deadline earlier; its thread may still be stuck inside
    /// the module, so the module is not called again until Podpis restarts.
    #[error(
        "the PKCS#11 module {module} stopped answering and is not used again until Podpis restarts"
    )]
    ModuleUnusable { module: PathBuf },
    /// A token identified by another module's path was handed to this module.
    #[error("the token belongs to the module {expected}, not {module}")]
    WrongModule { module: PathBuf, expected: PathBuf },
    /// Any return code not mapped to something more precise: the function and the `CKR_…` name.
    #[error("the PKCS#11 module's {function} returned {rv}")]
    Call { function: String, rv: String },
    /// No private key with this `CKA_ID` after the login (hex).
    #[error("the token has no private key with the id {id}")]
    KeyMissing { id: String },
    /// The token refused the mechanism Podpis asks for this key (`CKR_MECHANISM_INVALID`), or
    /// the mechanism needs what the caller did not give (the data, for a hash-and-sign
    /// mechanism).
    #[error("the token does not sign with a {algorithm:?} key the way Podpis asks")]
    MechanismUnsupported { algorithm: KeyAlgorithm },
    /// `CKF_USER_PIN_TO_BE_CHANGED` or `CKR_PIN_EXPIRED`: the PIN is the initial one or has
    /// expired, and the token signs only after it is changed.
    #[error("the token's PIN has to be changed before it signs")]
    PinExpired,
    /// The token takes its PIN from the keyboard and none was given.
    #[error("this token needs its PIN typed in")]
    PinRequired,
    /// The user cancelled on the reader's PIN pad, or refused the operation there.
    #[error("the operation was cancelled on the reader")]
    Cancelled,
}
