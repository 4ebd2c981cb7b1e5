//! The PKCS#11 tier: tokens reached through their vendors' modules (Rutoken, JaCarta, ESMART,
//! SafeNet, OpenSC for PIV and other cards, SoftHSM in tests), beside the APDU drivers and in the
//! same shapes (tokens, keys with their certificates, PIN state, sign a digest).
//!
//! A caller
//! 1. finds modules with [`discovery::discover`] (p11-kit's registrations, the vendors' default
//!    paths, the user's own paths);
//! 2. probes each once with [`probe::run`], in a child process, so that a module that crashes or
//!    hangs in `C_Initialize` becomes a [`probe::ProbeReport`] naming it, not a crash of Podpis
//!    (every binary calls [`probe::serve_if_asked`] first thing in `main()`);
//! 3. opens the modules that loaded with [`Module::open`]: one thread per module owns its
//!    context, and every call waits at most a deadline;
//! 4. lists [`Module::tokens`], reads a token's keys with [`Module::read`] (a key is listed when
//!    a certificate has the same `CKA_ID`), and signs with [`Module::sign`], naming the token by
//!    its [`TokenId`] (module, slot, serial) and the key by its `CKA_ID`.
//!
//! PINs follow the card tier's rules: one `C_Login` per PIN the user gave, never repeated; no
//! login to a locked PIN, nor on the final try without consent
//! ([`LastTry`](crate::LastTry)); a PIN pad (`CKF_PROTECTED_AUTHENTICATION_PATH`) gets no PIN.
//! PKCS#11 gives no try count, only flags: [`PinState`] and
//! [`PinCondition`](crate::pin::PinCondition) say what the flags say and nothing more.
//!
//! Without the `pkcs11` feature only [`Pkcs11Error`] remains (the card tier's `TokenError`
//! carries it), so that the portal links no PKCS#11 code.

mod error;

pub use error::Pkcs11Error;

#[cfg(feature = "pkcs11")]
pub mod discovery;
#[cfg(feature = "pkcs11")]
pub mod mechanism;
#[cfg(feature = "pkcs11")]
mod model;
#[cfg(feature = "pkcs11")]
mod module;
#[cfg(feature = "pkcs11")]
pub mod probe;
#[cfg(feature = "pkcs11")]
mod session;

#[cfg(feature = "pkcs11")]
pub use model::{Key, PinEntry, PinState, ToSign, Token, TokenContents, TokenId};
#[cfg(feature = "pkcs11")]
pub use module::{Module, SigningBatch};
