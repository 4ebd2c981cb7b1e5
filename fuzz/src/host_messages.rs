//! Fuzz target `host_messages`: the native-messaging host's frame and message parser, and every
//! call behind it, fed with the input (fuzz_targets/host_messages.rs runs it; the host crate's
//! test host/tests/fuzz_inputs.rs replays fuzz/seeds/host_messages and
//! fuzz/regressions/host_messages through it). Apart from fuzz/src/targets.rs because only the
//! host and the fuzz crate depend on the `host` crate; the tests crate, which includes
//! targets.rs, does not.
//!
//! The input is read twice: as the byte stream a browser writes (frames), and as one message's
//! JSON. The keys are a card's with a GOST certificate (no token is touched), every origin may
//! list, and every signature is "allowed" with a signer that returns a signature of the right
//! size, so that the whole `sign` path runs. Errors are fine; a panic, a reply that is not JSON
//! with a numeric `error_code`, or a reply over the browser's 1 MB limit is a finding.

use client::tokens::{FoundKey, KeySource, PinInfo};
use host::consent::{Consent, Refused};
use host::frame::{self, Inbound};
use host::keys::FixedKeys;
use host::origin::Origin;
use host::sign::{SignRequest, Signer, SignerError};
use host::Host;
use signing::{CardKind, KeyAlgorithm, Pin, PinStatus};

const CERTIFICATE: &[u8] = include_bytes!("../seeds/certificate/gost256.der");

pub struct AllowAll;

struct FixedSignature(usize);

impl Signer for FixedSignature {
    fn sign(&mut self, _digest: &[u8], _data: Option<&[u8]>) -> Result<Vec<u8>, SignerError> {
        Ok(vec![0x11; self.0])
    }
}

impl Consent for AllowAll {
    fn may_list(&mut self, _origin: &Origin) -> Result<(), Refused> {
        Ok(())
    }

    fn may_sign(
        &mut self,
        _request: &SignRequest,
        key: &FoundKey,
        _page_pin: Option<Pin>,
    ) -> Result<Box<dyn Signer>, Refused> {
        Ok(Box::new(FixedSignature(key.algorithm.signature_len())))
    }
}

pub fn host() -> Host<FixedKeys, AllowAll> {
    let key = FoundKey {
        source: KeySource::Card {
            reader: "Fuzz Reader 00 00".into(),
            kind: CardKind::GostToken,
            reference: 1,
        },
        algorithm: KeyAlgorithm::Gost2012_256,
        certificate: CERTIFICATE.to_vec(),
        pin: PinInfo::from(PinStatus {
            tries_left: 3,
            max_tries: 3,
        }),
        token_serial: "FUZZ0001".into(),
    };
    Host::new(FixedKeys(vec![key]), AllowAll)
}

fn check_reply(bytes: &[u8]) {
    assert!(bytes.len() <= frame::MAX_OUTBOUND, "a reply over 1 MB");
    let value: serde_json::Value = serde_json::from_slice(bytes).expect("a reply is JSON");
    assert!(
        value["error_code"].is_i64(),
        "a reply without a numeric error_code: {value}"
    );
}

pub fn host_messages(data: &[u8]) {
    // As a stream of frames.
    let mut host = host();
    let mut out = Vec::new();
    let _ = host::serve(&mut host, &mut &data[..], &mut out);
    let mut replies = out.as_slice();
    loop {
        match frame::read_frame(&mut replies) {
            Ok(Inbound::Message(bytes)) => check_reply(&bytes),
            Ok(Inbound::End) => break,
            other => panic!("the host wrote a bad frame: {other:?}"),
        }
    }
    // As one message.
    let reply = host.handle(Inbound::Message(data.to_vec()));
    check_reply(&Host::<FixedKeys, AllowAll>::reply_bytes(&reply));
}
