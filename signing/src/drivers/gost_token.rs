//! The GOST token profile of docs/cards.md.

use hex_literal::hex;
use sha2::{Digest, Sha256};

use super::common::{self, read_binary, run, select, verify, Authorising, MAX_FILE_SIZE};
use super::{
    CardDriver, CardKey, CardKind, KeyAlgorithm, KnownCertificates, TokenContents, TokenError,
};
use crate::card::{exchange, Command, Status, Transport};
use crate::pin::{LastTry, Pin, PinStatus};
use crate::tlv;

pub struct GostToken;

impl GostToken {
    pub const ATR: [u8; 19] = hex!("3B8E8001 80 68 504F445049534754 73 000040 D6");
    pub const AID: [u8; 10] = hex!("F0 504F445049534754 01");
    pub const EF_KEYS: [u8; 2] = hex!("C000");
    pub const PIN_REFERENCE: u8 = 0x81;
    pub const PIN_LENGTH: (usize, usize) = (4, 16);
    /// The PIN's try counter starts at 3 (docs/cards.md, common rules): a card that reports
    /// another maximum, or more tries left, is not following the profile.
    pub const MAX_TRIES: u8 = 3;
    /// The PUK's maximum tries (docs/cards.md, RESET RETRY COUNTER).
    pub const MAX_PUK_TRIES: u8 = 10;
}

// SELECT application, READ BINARY, MSE SET and PSO are the common ones (`super::common`).

/// SELECT EF with FCP: `00 A4 02 04 02 fid 00`.
pub fn select_ef(fid: [u8; 2]) -> Command {
    Command::new(0x00, 0xA4, 0x02, 0x04)
        .with_data(fid.to_vec())
        .with_le(256)
}

/// GET DATA of the token's serial (01), label (02) or PIN status (03): `00 CA 01 tt 00`.
pub fn get_data(tag: u8) -> Command {
    Command::new(0x00, 0xCA, 0x01, tag).with_le(256)
}

const TAG_SERIAL: u8 = 0x01;
const TAG_LABEL: u8 = 0x02;
const TAG_PIN_STATUS: u8 = 0x03;
const TAG_PUK_STATUS: u8 = 0x04;

impl CardDriver for GostToken {
    fn kind(&self) -> CardKind {
        CardKind::GostToken
    }

    fn read(
        &self,
        t: &mut dyn Transport,
        known: &dyn KnownCertificates,
    ) -> Result<TokenContents, TokenError> {
        select(t, &Self::AID)?;
        let serial = text(run(t, "GET DATA serial", &get_data(TAG_SERIAL))?, "serial")?;
        let label = text(run(t, "GET DATA label", &get_data(TAG_LABEL))?, "label")?;
        let pin = read_pin_status(t)?;
        let directory = read_file(t, Self::EF_KEYS)?;
        let mut keys = Vec::new();
        for entry in parse_key_directory(&directory)? {
            let certificate = match entry.digest.and_then(|d| known_certificate(known, &d)) {
                Some(certificate) => certificate,
                None => {
                    let certificate = read_file(t, entry.certificate_fid)?;
                    if entry
                        .digest
                        .is_some_and(|d| <[u8; 32]>::from(Sha256::digest(&certificate)) != d)
                    {
                        return Err(TokenError::Malformed(format!(
                            "the certificate in file {} does not match its digest in EF.KEYS",
                            hex::encode_upper(entry.certificate_fid)
                        )));
                    }
                    certificate
                }
            };
            keys.push(CardKey {
                reference: entry.reference,
                algorithm: entry.algorithm,
                label: entry.label,
                certificate,
            });
        }
        Ok(TokenContents {
            serial,
            label: (!label.is_empty()).then_some(label),
            pin,
            keys,
        })
    }

    fn pin_status(&self, t: &mut dyn Transport) -> Result<PinStatus, TokenError> {
        select(t, &Self::AID)?;
        read_pin_status(t)
    }

    fn sign(
        &self,
        t: &mut dyn Transport,
        key: u8,
        algorithm: KeyAlgorithm,
        hash: &[u8],
        pin: &Pin,
        last_try: LastTry,
    ) -> Result<Vec<u8>, TokenError> {
        select(t, &Self::AID)?;
        // Read here, in the signature's own transaction: the counter read with the certificates
        // may be stale by now, and the last-try consent must be checked against this one.
        let counter = read_pin_status(t)?;
        verify(
            t,
            Self::PIN_REFERENCE,
            Self::PIN_LENGTH,
            counter,
            last_try,
            pin,
        )?;
        common::sign_hash(t, algorithm, key, hash)
    }

    fn change_pin(
        &self,
        t: &mut dyn Transport,
        old: &Pin,
        new: &Pin,
        last_try: LastTry,
    ) -> Result<(), TokenError> {
        select(t, &Self::AID)?;
        let counter = read_pin_status(t)?;
        common::change_reference_data(
            t,
            INS_CHANGE_REFERENCE_DATA,
            Self::PIN_REFERENCE,
            Self::PIN_LENGTH,
            counter,
            last_try,
            (old, Authorising::Pin),
            new,
        )
    }

    fn unblock_pin(
        &self,
        t: &mut dyn Transport,
        puk: &Pin,
        new: &Pin,
        last_try: LastTry,
    ) -> Result<(), TokenError> {
        select(t, &Self::AID)?;
        let counter = read_puk_status(t)?;
        common::change_reference_data(
            t,
            INS_RESET_RETRY_COUNTER,
            Self::PIN_REFERENCE,
            Self::PIN_LENGTH,
            counter,
            last_try,
            (puk, Authorising::Puk),
            new,
        )
    }

    fn puk_status(&self, t: &mut dyn Transport) -> Result<PinStatus, TokenError> {
        select(t, &Self::AID)?;
        read_puk_status(t)
    }
}

const INS_CHANGE_REFERENCE_DATA: u8 = 0x24;
const INS_RESET_RETRY_COUNTER: u8 = 0x2C;

/// The PUK's counter (GET DATA `0104`): at most 10, as docs/cards.md says; anything else is
/// malformed.
fn read_puk_status(t: &mut dyn Transport) -> Result<PinStatus, TokenError> {
    match run(t, "GET DATA PUK status", &get_data(TAG_PUK_STATUS))?.as_slice() {
        &[tries_left, max_tries]
            if max_tries == GostToken::MAX_PUK_TRIES && tries_left <= max_tries =>
        {
            Ok(PinStatus {
                tries_left,
                max_tries,
            })
        }
        other => Err(TokenError::Malformed(format!(
            "PUK status {}",
            hex::encode_upper(other)
        ))),
    }
}

/// A known certificate, taken only if its bytes have the digest the card announces.
fn known_certificate(known: &dyn KnownCertificates, digest: &[u8; 32]) -> Option<Vec<u8>> {
    known
        .find(digest)
        .filter(|c| <[u8; 32]>::from(Sha256::digest(c)) == *digest)
}

/// The PIN status the card reports, taken only when it is one the profile allows: a counter of 15
/// of 15 would tell the user of tries the card does not have.
fn read_pin_status(t: &mut dyn Transport) -> Result<PinStatus, TokenError> {
    match run(t, "GET DATA PIN status", &get_data(TAG_PIN_STATUS))?.as_slice() {
        &[tries_left, max_tries]
            if max_tries == GostToken::MAX_TRIES && tries_left <= max_tries =>
        {
            Ok(PinStatus {
                tries_left,
                max_tries,
            })
        }
        other => Err(TokenError::Malformed(format!(
            "PIN status {}",
            hex::encode_upper(other)
        ))),
    }
}

/// SELECT EF with FCP, then one READ BINARY of the size the FCP gives (extended when the
/// certificate does not fit 256 bytes and the card offers it, in 256-byte chunks otherwise).
fn read_file(t: &mut dyn Transport, fid: [u8; 2]) -> Result<Vec<u8>, TokenError> {
    let response = exchange(t, &select_ef(fid))?;
    match response.sw.status() {
        Status::Success => {}
        Status::NotFound => return Err(TokenError::FileMissing(hex::encode_upper(fid))),
        _ => {
            return Err(TokenError::Status {
                op: "SELECT EF",
                sw: response.sw,
            })
        }
    }
    let fcp = tlv::find(&response.data, 0x62)?
        .ok_or_else(|| TokenError::Malformed("SELECT EF returned no FCP".into()))?;
    let size = match tlv::find(fcp, 0x80)? {
        Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
        _ => return Err(TokenError::Malformed("FCP has no file size".into())),
    };
    if size > MAX_FILE_SIZE {
        return Err(TokenError::Malformed(format!(
            "file of {size} bytes, at most {MAX_FILE_SIZE}"
        )));
    }
    let chunk = if t.supports_extended() {
        size.max(1)
    } else {
        256
    };
    let mut content = Vec::with_capacity(size);
    while content.len() < size {
        let want = chunk.min(size - content.len());
        let offset = content.len() as u16;
        let response = exchange(t, &read_binary(offset, want))?;
        match response.sw.status() {
            Status::Success | Status::EndOfFile => {}
            _ => {
                return Err(TokenError::Status {
                    op: "READ BINARY",
                    sw: response.sw,
                })
            }
        }
        if response.data.is_empty() || response.data.len() > want {
            return Err(TokenError::Malformed(format!(
                "READ BINARY at {offset} returned {} bytes for {want}",
                response.data.len()
            )));
        }
        content.extend_from_slice(&response.data);
        if response.sw.status() == Status::EndOfFile {
            break;
        }
    }
    if content.len() != size {
        return Err(TokenError::Malformed(format!(
            "file ended after {} of {size} bytes",
            content.len()
        )));
    }
    Ok(content)
}

struct KeyEntry {
    reference: u8,
    algorithm: KeyAlgorithm,
    certificate_fid: [u8; 2],
    label: Option<String>,
    /// SHA-256 of the certificate file, when the card announces it.
    digest: Option<[u8; 32]>,
}

fn parse_key_directory(data: &[u8]) -> Result<Vec<KeyEntry>, TokenError> {
    let mut keys = Vec::new();
    for template in tlv::parse(data)?.into_iter().filter(|t| t.tag == 0xA0) {
        let mut reference = None;
        let mut algorithm = None;
        let mut fid = None;
        let mut label = None;
        let mut digest = None;
        for field in template.children()? {
            match (field.tag, field.value) {
                (0x83, &[k]) => reference = Some(k),
                (0x80, &[a]) => {
                    algorithm = Some(KeyAlgorithm::from_reference(a).ok_or_else(|| {
                        TokenError::Malformed(format!("unknown algorithm reference {a:02X}"))
                    })?)
                }
                (0x51, &[hi, lo]) => fid = Some([hi, lo]),
                (0x50, value) => label = Some(String::from_utf8_lossy(value).into_owned()),
                (0x8E, value) => {
                    digest = Some(<[u8; 32]>::try_from(value).map_err(|_| {
                        TokenError::Malformed(format!(
                            "certificate digest of {} bytes, expected 32",
                            value.len()
                        ))
                    })?)
                }
                _ => {}
            }
        }
        match (reference, algorithm, fid) {
            (Some(reference), Some(algorithm), Some(certificate_fid)) => keys.push(KeyEntry {
                reference,
                algorithm,
                certificate_fid,
                label,
                digest,
            }),
            _ => {
                return Err(TokenError::Malformed(
                    "incomplete key template in EF.KEYS".into(),
                ))
            }
        }
    }
    Ok(keys)
}

fn text(bytes: Vec<u8>, what: &str) -> Result<String, TokenError> {
    String::from_utf8(bytes).map_err(|_| TokenError::Malformed(format!("{what} is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::transport::scripted::ScriptedTransport;

    const SELECT: &str = "00A4040C0A F0504F445049534754 01";

    #[test]
    fn commands_are_the_bytes_of_docs_cards_md() {
        // The token's own commands; the shared ones are tested in `common`.
        assert_eq!(
            common::select_application(&GostToken::AID).to_bytes(),
            hex!("00A4040C0AF0504F44504953475401")
        );
        assert_eq!(select_ef(hex!("C001")).to_bytes(), hex!("00A4020402C00100"));
        assert_eq!(get_data(0x03).to_bytes(), hex!("00CA010300"));
        assert_eq!(get_data(0x01).to_bytes(), hex!("00CA010100"));
    }

    #[test]
    fn reads_a_token_with_one_key_in_extended_mode() {
        let cert = "3082".to_owned() + &"AB".repeat(10); // content is opaque to the driver
        let mut t = ScriptedTransport::new(&[
            (SELECT, "9000"),
            ("00CA010100", "3030303132333435 9000"),
            ("00CA010200", "D0A2D0BE D0BAD0B5D0BD 9000"),
            ("00CA010300", "0303 9000"),
            ("00A4020402C00000", "620B 80020011 820101 8302C000 9000"),
            ("00B0000011", "A00F 830101 800101 5102C001 5003 4B6579 9000"),
            ("00A4020402C00100", "620B 8002000C 820101 8302C001 9000"),
            ("00B000000C", &format!("{cert} 9000")),
        ])
        .extended();
        let token = GostToken.read(&mut t, &()).expect("read");
        assert_eq!(token.serial, "00012345");
        assert_eq!(token.label.as_deref(), Some("Токен"));
        assert_eq!(
            token.pin,
            PinStatus {
                tries_left: 3,
                max_tries: 3
            }
        );
        assert_eq!(token.keys.len(), 1);
        assert_eq!(token.keys[0].reference, 1);
        assert_eq!(token.keys[0].algorithm, KeyAlgorithm::Gost2012_256);
        assert_eq!(token.keys[0].label.as_deref(), Some("Key"));
        assert_eq!(hex::encode_upper(&token.keys[0].certificate), cert);
    }

    /// Certificates held by the caller, as a certificate cache would hold them.
    struct Held(Vec<Vec<u8>>);

    impl KnownCertificates for Held {
        fn find(&self, sha256: &[u8; 32]) -> Option<Vec<u8>> {
            self.0
                .iter()
                .find(|c| <[u8; 32]>::from(Sha256::digest(c)) == *sha256)
                .cloned()
        }
    }

    /// A card whose key directory announces the digest of its certificate, up to EF.KEYS.
    fn script_with_digest(certificate: &[u8]) -> Vec<(&'static str, String)> {
        let digest = hex::encode_upper(Sha256::digest(certificate));
        vec![
            (SELECT, "9000".into()),
            ("00CA010100", "3030303132333435 9000".into()),
            ("00CA010200", "9000".into()),
            ("00CA010300", "0303 9000".into()),
            (
                "00A4020402C00000",
                "620B 8002002E 820101 8302C000 9000".into(),
            ),
            (
                "00B000002E",
                format!("A02C 830101 800101 5102C001 8E20 {digest} 9000"),
            ),
        ]
    }

    #[test]
    fn a_certificate_held_with_the_announced_digest_is_not_read_again() {
        let certificate = hex!("3082000A ABABABABABABABABABAB").to_vec();
        let script = script_with_digest(&certificate);
        let steps: Vec<(&str, &str)> = script.iter().map(|(c, r)| (*c, r.as_str())).collect();
        // No SELECT EF.CERT, no READ BINARY of it: the script would refuse them.
        let mut t = ScriptedTransport::new(&steps).extended();
        let token = GostToken
            .read(&mut t, &Held(vec![certificate.clone()]))
            .expect("read");
        assert_eq!(token.keys[0].certificate, certificate);
    }

    #[test]
    fn a_held_certificate_of_another_digest_is_not_taken_and_the_file_is_read() {
        let certificate = hex!("3082000A ABABABABABABABABABAB").to_vec();
        let mut script = script_with_digest(&certificate);
        script.push((
            "00A4020402C00100",
            "620B 8002000E 820101 8302C001 9000".into(),
        ));
        script.push(("00B000000E", format!("{} 9000", hex::encode(&certificate))));
        let steps: Vec<(&str, &str)> = script.iter().map(|(c, r)| (*c, r.as_str())).collect();
        let mut t = ScriptedTransport::new(&steps).extended();
        // The card was re-issued: the caller still holds the old certificate.
        let old = hex!("3082000A CDCDCDCDCDCDCDCDCDCD").to_vec();
        let token = GostToken.read(&mut t, &Held(vec![old])).expect("read");
        assert_eq!(token.keys[0].certificate, certificate);
    }

    #[test]
    fn a_certificate_file_that_does_not_match_its_digest_is_refused() {
        let announced = hex!("3082000A ABABABABABABABABABAB").to_vec();
        let mut script = script_with_digest(&announced);
        script.push((
            "00A4020402C00100",
            "620B 8002000E 820101 8302C001 9000".into(),
        ));
        script.push(("00B000000E", "3082000A CDCDCDCDCDCDCDCDCDCD 9000".into()));
        let steps: Vec<(&str, &str)> = script.iter().map(|(c, r)| (*c, r.as_str())).collect();
        let mut t = ScriptedTransport::new(&steps).extended();
        let error = GostToken.read(&mut t, &()).expect_err("inconsistent card");
        assert!(
            matches!(&error, TokenError::Malformed(m) if m.contains("digest")),
            "{error:?}"
        );
    }

    #[test]
    fn reads_a_long_file_in_short_chunks_without_extended_length() {
        let mut t = ScriptedTransport::new(&[
            (SELECT, "9000"),
            ("00A4020402C00100", "620B 80020120 820101 8302C001 9000"),
            ("00B0000000", &format!("{} 9000", "11".repeat(256))),
            ("00B0010020", &format!("{} 9000", "22".repeat(32))),
        ]);
        select(&mut t, &GostToken::AID).expect("select");
        let content = read_file(&mut t, hex!("C001")).expect("read");
        assert_eq!(content.len(), 288);
        assert_eq!(content[256], 0x22);
    }

    #[test]
    fn a_file_larger_than_a_certificate_can_be_is_refused_before_reading() {
        let mut t =
            ScriptedTransport::new(&[("00A4020402C00100", "620B 8002FFFF 820101 8302C001 9000")]);
        assert!(matches!(
            read_file(&mut t, hex!("C001")),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn a_file_shorter_than_its_fcp_says_is_an_error() {
        let mut t = ScriptedTransport::new(&[
            ("00A4020402C00100", "620B 80020040 820101 8302C001 9000"),
            ("00B0000040", "0102 6282"),
        ]);
        assert!(matches!(
            read_file(&mut t, hex!("C001")),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn missing_files_and_application_are_typed() {
        let mut t = ScriptedTransport::new(&[("00A4020402C00900", "6A82")]);
        assert_eq!(
            read_file(&mut t, hex!("C009")),
            Err(TokenError::FileMissing("C009".into()))
        );
        let mut t = ScriptedTransport::new(&[(SELECT, "6A82")]);
        assert_eq!(
            GostToken.pin_status(&mut t),
            Err(TokenError::ApplicationMissing)
        );
    }

    fn sign_script(verify_answer: &'static str) -> Vec<(&'static str, &'static str)> {
        vec![
            (SELECT, "9000"),
            ("00CA010300", "0303 9000"),
            ("00200081083132333435363738", verify_answer),
        ]
    }

    #[test]
    fn signs_after_verify_and_mse() {
        let hash = [0x5Au8; 32];
        let pso = format!("002A9E9A20{}00", "5A".repeat(32));
        let sig = format!("{}9000", "C3".repeat(64));
        let mut script = sign_script("9000");
        script.push(("002241B606800101840101", "9000"));
        script.push((&pso, &sig));
        let mut t = ScriptedTransport::new(&script);
        let pin = Pin::new("12345678".into()).expect("pin");
        let signature = GostToken
            .sign(
                &mut t,
                1,
                KeyAlgorithm::Gost2012_256,
                &hash,
                &pin,
                LastTry::NotConfirmed,
            )
            .expect("sign");
        assert_eq!(signature, vec![0xC3; 64]);
    }

    #[test]
    fn wrong_pin_reports_tries_left_and_stops() {
        let pin = Pin::new("12345678".into()).expect("pin");
        for (answer, expected) in [
            ("63C2", TokenError::PinIncorrect { tries_left: 2 }),
            ("63C1", TokenError::PinIncorrect { tries_left: 1 }),
            ("63C0", TokenError::PinBlocked),
            ("6983", TokenError::PinBlocked),
            ("6700", TokenError::PinLengthRefused),
        ] {
            let mut t = ScriptedTransport::new(&sign_script(answer));
            let err = GostToken
                .sign(
                    &mut t,
                    1,
                    KeyAlgorithm::Gost2012_256,
                    &[0; 32],
                    &pin,
                    LastTry::NotConfirmed,
                )
                .unwrap_err();
            assert_eq!(err, expected, "{answer}");
            assert!(!format!("{err:?} {err}").contains("12345678"));
        }
    }

    #[test]
    fn a_blocked_pin_is_never_sent_a_verify() {
        let mut t = ScriptedTransport::new(&[(SELECT, "9000"), ("00CA010300", "0003 9000")]);
        let pin = Pin::new("12345678".into()).expect("pin");
        let err = GostToken.sign(
            &mut t,
            1,
            KeyAlgorithm::Gost2012_256,
            &[0; 32],
            &pin,
            LastTry::NotConfirmed,
        );
        assert_eq!(err, Err(TokenError::PinBlocked));
    }

    #[test]
    fn on_the_last_try_without_consent_no_verify_is_sent() {
        // The counter is read in the signature's transaction, right before VERIFY: the script
        // has no VERIFY, so sending one would fail the test, and every step must be used.
        let mut t = ScriptedTransport::new(&[(SELECT, "9000"), ("00CA010300", "0103 9000")]);
        let pin = Pin::new("12345678".into()).expect("pin");
        let err = GostToken.sign(
            &mut t,
            1,
            KeyAlgorithm::Gost2012_256,
            &[0; 32],
            &pin,
            LastTry::NotConfirmed,
        );
        assert_eq!(err, Err(TokenError::LastTryNotConfirmed));
    }

    #[test]
    fn on_the_last_try_with_consent_verify_is_sent_and_a_wrong_pin_blocks() {
        let pin = Pin::new("12345678".into()).expect("pin");
        let mut t = ScriptedTransport::new(&[
            (SELECT, "9000"),
            ("00CA010300", "0103 9000"),
            ("00200081083132333435363738", "63C0"),
        ]);
        let err = GostToken.sign(
            &mut t,
            1,
            KeyAlgorithm::Gost2012_256,
            &[0; 32],
            &pin,
            LastTry::Confirmed,
        );
        assert_eq!(err, Err(TokenError::PinBlocked));

        let pso = format!("002A9E9A20{}00", "00".repeat(32));
        let sig = format!("{}9000", "C3".repeat(64));
        let mut t = ScriptedTransport::new(&[
            (SELECT, "9000"),
            ("00CA010300", "0103 9000"),
            ("00200081083132333435363738", "9000"),
            ("002241B606800101840101", "9000"),
            (&pso, &sig),
        ]);
        let signature = GostToken
            .sign(
                &mut t,
                1,
                KeyAlgorithm::Gost2012_256,
                &[0; 32],
                &pin,
                LastTry::Confirmed,
            )
            .expect("the right PIN on the last try signs");
        assert_eq!(signature, vec![0xC3; 64]);
    }

    #[test]
    fn a_pin_of_the_wrong_length_never_reaches_the_card() {
        let mut t = ScriptedTransport::new(&[(SELECT, "9000"), ("00CA010300", "0303 9000")]);
        let pin = Pin::new("123".into()).expect("pin");
        let err = GostToken.sign(
            &mut t,
            1,
            KeyAlgorithm::Gost2012_256,
            &[0; 32],
            &pin,
            LastTry::NotConfirmed,
        );
        assert!(matches!(err, Err(TokenError::PinFormat(_))));
    }

    #[test]
    fn unknown_key_and_short_signature_are_typed() {
        let pin = Pin::new("12345678".into()).expect("pin");
        let mut script = sign_script("9000");
        script.push(("002241B606800101840107", "6A88"));
        let mut t = ScriptedTransport::new(&script);
        let err = GostToken.sign(
            &mut t,
            7,
            KeyAlgorithm::Gost2012_256,
            &[0; 32],
            &pin,
            LastTry::NotConfirmed,
        );
        assert_eq!(err, Err(TokenError::KeyMissing(7)));

        let pso = format!("002A9E9A20{}00", "00".repeat(32));
        let mut script = sign_script("9000");
        script.push(("002241B606800101840101", "9000"));
        script.push((&pso, "0102 9000"));
        let mut t = ScriptedTransport::new(&script);
        let err = GostToken.sign(
            &mut t,
            1,
            KeyAlgorithm::Gost2012_256,
            &[0; 32],
            &pin,
            LastTry::NotConfirmed,
        );
        assert!(matches!(err, Err(TokenError::Malformed(_))));
    }

    #[test]
    fn a_wrong_pin_answer_counting_more_tries_than_the_maximum_is_malformed() {
        let pin = Pin::new("12345678".into()).expect("pin");
        for answer in ["63CF", "63C4"] {
            let mut t = ScriptedTransport::new(&sign_script(answer));
            let err = GostToken
                .sign(
                    &mut t,
                    1,
                    KeyAlgorithm::Gost2012_256,
                    &[0; 32],
                    &pin,
                    LastTry::NotConfirmed,
                )
                .unwrap_err();
            assert!(matches!(err, TokenError::Malformed(_)), "{answer}: {err:?}");
        }
        // The boundary: a count up to the maximum is the card's to tell.
        let mut t = ScriptedTransport::new(&sign_script("63C3"));
        let err = GostToken.sign(
            &mut t,
            1,
            KeyAlgorithm::Gost2012_256,
            &[0; 32],
            &pin,
            LastTry::NotConfirmed,
        );
        assert_eq!(err, Err(TokenError::PinIncorrect { tries_left: 3 }));
    }

    #[test]
    fn pin_status_rejects_nonsense() {
        // Too short, more left than the maximum, too long, and counts the profile does not
        // have (its maximum is 3): never "15 tries left".
        for answer in [
            "03 9000",
            "0403 9000",
            "030303 9000",
            "0F0F 9000",
            "0404 9000",
            "0202 9000",
        ] {
            let mut t = ScriptedTransport::new(&[(SELECT, "9000"), ("00CA010300", answer)]);
            assert!(
                matches!(GostToken.pin_status(&mut t), Err(TokenError::Malformed(_))),
                "{answer}"
            );
        }
    }

    #[test]
    fn key_directory_skips_unknown_objects_and_refuses_incomplete_ones() {
        let dir = hex!("A0 0E 830102 800102 5102C002 9901FF 00 00  B0 01 00");
        let keys = parse_key_directory(&dir).expect("parse");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].algorithm, KeyAlgorithm::Gost2012_512);
        assert!(parse_key_directory(&hex!("A0 03 830101")).is_err());
        assert!(parse_key_directory(&hex!("A0 0C 830101 800109 5102C001")).is_err());
        assert!(parse_key_directory(&hex!("A0 FF")).is_err());
    }

    /// `old ‖ new`, each padded to 16 bytes with FF, as docs/cards.md shows it.
    const CHANGE: &str =
        "0024008120 3132333435363738FFFFFFFFFFFFFFFF 3837363534333231FFFFFFFFFFFFFFFF";
    const UNBLOCK: &str =
        "002C008120 3837363534333231FFFFFFFFFFFFFFFF 3131313132323232FFFFFFFFFFFFFFFF";

    fn pins(a: &str, b: &str) -> (Pin, Pin) {
        (
            Pin::new(a.into()).expect("pin"),
            Pin::new(b.into()).expect("pin"),
        )
    }

    #[test]
    fn changes_the_pin_with_the_bytes_of_docs_cards_md() {
        let (old, new) = pins("12345678", "87654321");
        let mut t = ScriptedTransport::new(&[
            (SELECT, "9000"),
            ("00CA010300", "0303 9000"),
            (CHANGE, "9000"),
        ]);
        GostToken
            .change_pin(&mut t, &old, &new, LastTry::NotConfirmed)
            .expect("changed");
    }

    #[test]
    fn a_refused_change_says_why_and_never_leaks_a_pin() {
        let (old, new) = pins("12345678", "87654321");
        for (answer, expected) in [
            ("63C2", TokenError::PinIncorrect { tries_left: 2 }),
            ("63C0", TokenError::PinBlocked),
            ("6983", TokenError::PinBlocked),
            ("6A80", TokenError::NewPinRefused),
            ("63CF", TokenError::Malformed(String::new())),
        ] {
            let mut t = ScriptedTransport::new(&[
                (SELECT, "9000"),
                ("00CA010300", "0303 9000"),
                (CHANGE, answer),
            ]);
            let err = GostToken
                .change_pin(&mut t, &old, &new, LastTry::NotConfirmed)
                .unwrap_err();
            match expected {
                TokenError::Malformed(_) => assert!(matches!(err, TokenError::Malformed(_))),
                expected => assert_eq!(err, expected, "{answer}"),
            }
            let text = format!("{err:?} {err}");
            assert!(!text.contains("12345678") && !text.contains("87654321"));
        }
        // The last try, unconfirmed: nothing is sent.
        let mut t = ScriptedTransport::new(&[(SELECT, "9000"), ("00CA010300", "0103 9000")]);
        assert_eq!(
            GostToken.change_pin(&mut t, &old, &new, LastTry::NotConfirmed),
            Err(TokenError::LastTryNotConfirmed)
        );
    }

    #[test]
    fn unblocks_with_the_puk_and_its_own_counter() {
        let (puk, new) = pins("87654321", "11112222");
        let mut t = ScriptedTransport::new(&[
            (SELECT, "9000"),
            ("00CA010400", "0A0A 9000"),
            (UNBLOCK, "9000"),
        ]);
        GostToken
            .unblock_pin(&mut t, &puk, &new, LastTry::NotConfirmed)
            .expect("unblocked");
        let mut t = ScriptedTransport::new(&[
            (SELECT, "9000"),
            ("00CA010400", "0A0A 9000"),
            (UNBLOCK, "63C9"),
        ]);
        assert_eq!(
            GostToken.unblock_pin(&mut t, &puk, &new, LastTry::NotConfirmed),
            Err(TokenError::PukIncorrect { tries_left: 9 })
        );
        // A blocked PUK is never sent; a counter over 10 is malformed.
        let mut t = ScriptedTransport::new(&[(SELECT, "9000"), ("00CA010400", "000A 9000")]);
        assert_eq!(
            GostToken.unblock_pin(&mut t, &puk, &new, LastTry::NotConfirmed),
            Err(TokenError::PukBlocked)
        );
        let mut t = ScriptedTransport::new(&[(SELECT, "9000"), ("00CA010400", "0F0F 9000")]);
        assert!(matches!(
            GostToken.unblock_pin(&mut t, &puk, &new, LastTry::NotConfirmed),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn the_uec_does_not_offer_pin_management() {
        let (old, new) = pins("12345678", "87654321");
        let mut t = ScriptedTransport::new(&[]);
        assert_eq!(
            super::super::uec::Uec.change_pin(&mut t, &old, &new, LastTry::Confirmed),
            Err(TokenError::PinManagementNotSupported)
        );
    }
}
