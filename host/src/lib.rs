//! `podpis-host`: the browser's native-messaging host. It speaks the page-side protocol of the
//! Gosuslugi plugin (../shared/ifc-protocol.md) so that the portal's unchanged page can list the
//! person's certificates and have Podpis sign, over the same tokens as the app and the CLI
//! (`client::tokens`: the cards of the APDU drivers and PKCS#11 modules).
//!
//! - [`caller`]: who started the host (only Podpis's extension is served);
//! - [`frame`]: the native-messaging framing (4-byte native-order length, UTF-8 JSON), bounded
//!   both ways;
//! - [`message`]: the extension's envelope (the origin the browser gave, and the page's request),
//!   typed parameters, replies;
//! - [`ifc_error`]: the protocol's error codes, one table;
//! - [`catalogue`]: tokens and keys as crypto objects and certificate list items (cryptoId,
//!   containerId);
//! - [`x509`]: the certificate shapes, DN and date strings, `x509Handle`s;
//! - [`sign`] and [`cms`]: the `sign` parameters and each sign type's signature over a signer;
//! - [`consent`]: what the person allowed (listing per origin, and every signature);
//! - [`keys`]: the tokens' keys;
//! - [`host`]: the dispatcher and the serving loop.
//!
//! docs/host.md says what is implemented and what was decided beyond ifc-protocol.md.

pub mod caller;
pub mod catalogue;
pub mod consent;
pub mod frame;
pub mod host;
pub mod ifc_error;
pub mod keys;
pub mod message;
pub mod origin;
pub mod sign;
pub mod x509;

pub use host::{serve, Ended, Host};
pub use ifc_error::IfcError;

#[cfg(test)]
mod tests;
