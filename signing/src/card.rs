//! The card transport: APDUs, status words, ATRs, and (feature `pcsc`) PC/SC and the reader
//! monitor.

pub mod apdu;
pub mod atr;
pub mod error;
#[cfg(feature = "pcsc")]
pub mod monitor;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod status;
pub mod transport;

pub use apdu::{Command, Response};
pub use error::CardError;
pub use status::{Status, StatusWord};
pub use transport::{exchange, Transport};
