//! Cards over PC/SC for Podpis: the APDU transport, the card drivers, PIN handling and the
//! qualified certificates the cards carry.
//!
//! This crate depends on nothing else of ours and holds no process-global state: every card
//! operation opens its own PC/SC context on its own thread (see [`token`]), so a card that never
//! answers cannot block the caller past its deadline.

pub mod cades;
pub mod card;
pub mod certificate;
pub mod drivers;
pub mod pin;
pub mod tlv;
pub mod token;

pub use card::CardError;
pub use drivers::{CardKind, KeyAlgorithm, KnownCertificates, TokenError};
pub use pin::{Pin, PinStatus};
