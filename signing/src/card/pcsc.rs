//! The PC/SC implementation of [`Transport`], over the `pcsc` crate.

use super::{atr::Atr, CardError, Transport};

/// Sends APDUs to a card inside one PC/SC transaction. The borrow ties it to the transaction, so
/// nothing can talk to the card outside of one.
pub struct PcscTransport<'tx> {
    card: &'tx pcsc::Card,
    extended: bool,
    buffer: Vec<u8>,
}

impl<'tx> PcscTransport<'tx> {
    pub fn new(card: &'tx pcsc::Card, atr: Option<&Atr>) -> Self {
        Self {
            card,
            extended: atr.is_some_and(Atr::supports_extended_length),
            buffer: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
        }
    }
}

impl Transport for PcscTransport<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        let response = self.card.transmit(apdu, &mut self.buffer)?;
        Ok(response.to_vec())
    }

    fn supports_extended(&self) -> bool {
        self.extended
    }
}
