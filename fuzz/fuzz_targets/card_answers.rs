//! A hostile card: every answer comes from the fuzzer. Both drivers read the card and try to sign
//! through it; whatever the card says, the result is a value or a typed error, never a panic or
//! an endless loop.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signing::card::{CardError, Transport};
use signing::drivers::gost_token::GostToken;
use signing::drivers::uec::Uec;
use signing::drivers::{CardDriver, KeyAlgorithm};
use signing::Pin;

/// Answers are taken from the input: a length byte, then that many bytes, in turn.
struct HostileCard<'a> {
    data: &'a [u8],
    extended: bool,
    exchanges: usize,
}

impl Transport for HostileCard<'_> {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        self.exchanges += 1;
        assert!(self.exchanges < 10_000, "a driver kept exchanging with a hostile card");
        let Some((&len, rest)) = self.data.split_first() else {
            return Err(CardError::Removed);
        };
        let len = usize::from(len).min(rest.len());
        let (answer, rest) = rest.split_at(len);
        self.data = rest;
        Ok(answer.to_vec())
    }

    fn supports_extended(&self) -> bool {
        self.extended
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else { return };
    let extended = mode & 1 == 1;
    let driver: &dyn CardDriver = if mode & 2 == 0 { &GostToken } else { &Uec };
    let mut card = HostileCard { data, extended, exchanges: 0 };
    let _ = driver.read(&mut card);
    let _ = driver.pin_status(&mut card);
    if let Ok(pin) = Pin::new("12345678".to_owned()) {
        let algorithm = if mode & 4 == 0 { KeyAlgorithm::Gost2012_256 } else { KeyAlgorithm::Gost2012_512 };
        let hash = vec![0x5A; algorithm.hash_len()];
        let _ = driver.sign(&mut card, 1, algorithm, &hash, &pin);
    }
});
