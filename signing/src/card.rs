//! The card transport: APDUs, status words, ATRs, PC/SC and the reader monitor.

pub mod apdu;
pub mod atr;
pub mod error;
pub mod monitor;
pub mod pcsc;
pub mod status;
pub mod transport;

pub use apdu::{Command, Response};
pub use error::CardError;
pub use status::{Status, StatusWord};
pub use transport::{exchange, Transport};
