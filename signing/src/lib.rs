//! Cards over PC/SC for Podpis: the APDU transport, the card drivers, PIN handling and the
//! qualified certificates the cards carry.
//!
//! This crate depends on nothing else of ours and holds no process-global state: every card
//! operation opens its own PC/SC context on its own thread (see `token`), so a card that never
//! answers cannot block the caller past its deadline.
//!
//! PC/SC is the default feature `pcsc`: the PC/SC transport, the reader monitor and `token`
//! (readers and deadlines) need it. Without it the crate still has certificates and their
//! findings, CAdES, TLV, the drivers over the [`card::Transport`] trait and the PIN, because the
//! portal verifies certificates and CMS with this crate and must not link libpcsclite (a server
//! has no readers, and pcsc-lite need not be installed there).
//!
//! PKCS#11 is the default feature `pkcs11`: vendor modules loaded with `cryptoki`, probed first
//! in a child process ([`pkcs11`]). The portal goes without it too.

pub mod cades;
pub mod card;
pub mod certificate;
pub mod drivers;
pub mod pin;
pub mod pkcs11;
pub mod tlv;
#[cfg(feature = "pcsc")]
pub mod token;

pub use card::CardError;
pub use drivers::{CardKind, KeyAlgorithm, KnownCertificates, TokenError};
pub use pin::{LastTry, Pin, PinCondition, PinStatus};
