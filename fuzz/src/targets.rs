//! What each fuzz target does with its input, in one place: the targets in fuzz_targets/ call
//! these, and the regression test of the main workspace (tests/tests/fuzz_regressions.rs)
//! replays every kept input through the same functions. Plain Rust: no libFuzzer here.

use signing::card::{CardError, Transport};
use signing::certificate::CertificateInfo;
use signing::drivers::gost_token::GostToken;
use signing::drivers::uec::Uec;
use signing::drivers::{CardDriver, KeyAlgorithm};
use signing::{LastTry, Pin};

/// The names of the targets, as fuzz/Cargo.toml and the Makefile know them. One more,
/// `host_messages` (the native-messaging host's parser), lives in fuzz/src/host_messages.rs and
/// is replayed by the host crate's own test (host/tests/fuzz_inputs.rs): the tests crate, which
/// includes this file, does not depend on the host.
pub const TARGETS: [&str; 4] = ["certificate", "tlv", "card_answers", "signed_request"];

/// Runs the target `name` on `data`.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "certificate" => certificate(data),
        "tlv" => tlv(data),
        "card_answers" => card_answers(data),
        "signed_request" => signed_request(data),
        other => panic!("no fuzz target {other}"),
    }
}

/// The certificate parser and the findings.
pub fn certificate(data: &[u8]) {
    if let Ok(info) = CertificateInfo::parse(data) {
        let _ = info.findings_at(std::time::SystemTime::now());
        let _ = info.is_qualified();
    }
    let _ = signing::certificate::key_algorithm(data);
}

/// The TLV, ATR and response-APDU parsers.
pub fn tlv(data: &[u8]) {
    if let Ok(objects) = signing::tlv::parse(data) {
        for object in objects {
            let _ = object.children();
        }
    }
    let _ = signing::tlv::compact(data);
    if let Ok(atr) = signing::card::atr::Atr::parse(data) {
        let _ = atr.supports_extended_length();
    }
    let _ = signing::card::Response::parse(data);
    let _ = signing::drivers::registry::kind_of(data);
}

/// A card that answers with the input: its first byte chooses the driver and the transport, the
/// rest is a sequence of length-prefixed answers.
struct HostileCard<'a> {
    data: &'a [u8],
    extended: bool,
    exchanges: usize,
}

impl Transport for HostileCard<'_> {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        self.exchanges += 1;
        assert!(
            self.exchanges < 10_000,
            "a driver kept exchanging with a hostile card"
        );
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

pub fn card_answers(data: &[u8]) {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let extended = mode & 1 == 1;
    let driver: &dyn CardDriver = if mode & 2 == 0 { &GostToken } else { &Uec };
    let mut card = HostileCard {
        data,
        extended,
        exchanges: 0,
    };
    let _ = driver.read(&mut card, &());
    let _ = driver.pin_status(&mut card);
    if let Ok(pin) = Pin::new("12345678".to_owned()) {
        let algorithm = if mode & 4 == 0 {
            KeyAlgorithm::Gost2012_256
        } else {
            KeyAlgorithm::Gost2012_512
        };
        let hash = vec![0x5A; algorithm.hash_len()];
        // With consent, so that a hostile counter of 1 still leads on to VERIFY and what follows.
        let _ = driver.sign(&mut card, 1, algorithm, &hash, &pin, LastTry::Confirmed);
    }
}

/// The portal's request parser: the CAdES form, the signer's certificate, the JSON document.
pub fn signed_request(data: &[u8]) {
    if let Ok(form) = signing::cades::read_attached(data) {
        if let Ok(info) = CertificateInfo::parse(&form.certificate) {
            let _ = info.findings_at(std::time::SystemTime::now());
        }
        let _ = serde_json::from_slice::<protocol::RequestDocument>(&form.content);
    }
}
