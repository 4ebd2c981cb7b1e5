//! The UEC identification application of docs/cards.md.

use hex_literal::hex;

use super::common::{self, read_binary, run, select, verify, MAX_FILE_SIZE};
use super::{
    CardDriver, CardKey, CardKind, KeyAlgorithm, KnownCertificates, TokenContents, TokenError,
};
use crate::card::{exchange, Command, Status, Transport};
use crate::pin::{LastTry, Pin, PinStatus};
use crate::tlv;

pub struct Uec;

impl Uec {
    pub const ATR: [u8; 20] = hex!("3B8F8001 80 69 504F4450495355 4543 73 000000 D6");
    pub const AID: [u8; 7] = hex!("F0 5545434944 01");
    pub const EF_HOLDER: [u8; 2] = hex!("0101");
    pub const EF_CERT: [u8; 2] = hex!("0201");
    pub const KEY_REFERENCE: u8 = 0x01;
    pub const PIN_REFERENCE: u8 = 0x01;
    pub const PIN_LENGTH: (usize, usize) = (4, 8);
    pub const MAX_TRIES: u8 = 3;
}

/// The holder's data from EF.HOLDER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub snils: String,
    pub surname: String,
    pub given_names: String,
}

// SELECT application, READ BINARY, MSE SET and PSO are the common ones (`super::common`).

/// SELECT EF without FCP (the UEC tells no file size): `00 A4 02 0C 02 fid`.
pub fn select_ef(fid: [u8; 2]) -> Command {
    Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(fid.to_vec())
}

/// GET DATA of the PIN try counter (EMV tag 9F17): `00 CA 9F 17 00`.
pub fn get_pin_tries() -> Command {
    Command::new(0x00, 0xCA, 0x9F, 0x17).with_le(256)
}

/// GET DATA of the card number (tag 5A): `00 CA 00 5A 00`.
pub fn get_card_number() -> Command {
    Command::new(0x00, 0xCA, 0x00, 0x5A).with_le(256)
}

/// The UEC reads in chunks of 256 bytes (short Le `00`).
const CHUNK: usize = 256;

impl Uec {
    /// Reads the holder's SNILS and names from EF.HOLDER.
    pub fn holder(&self, t: &mut dyn Transport) -> Result<Holder, TokenError> {
        select(t, &Self::AID)?;
        parse_holder(&read_file(t, Self::EF_HOLDER)?)
    }
}

impl CardDriver for Uec {
    fn kind(&self) -> CardKind {
        CardKind::Uec
    }

    /// The UEC announces no digest of its certificate, so it is always read: a cache keyed by the
    /// card number alone would serve the old certificate after a re-issuance.
    fn read(
        &self,
        t: &mut dyn Transport,
        _known: &dyn KnownCertificates,
    ) -> Result<TokenContents, TokenError> {
        select(t, &Self::AID)?;
        let number = run(t, "GET DATA card number", &get_card_number())?;
        let serial = match tlv::find(&number, 0x5A)? {
            Some(bcd) => bcd_digits(bcd)?,
            None => return Err(TokenError::Malformed("no card number".into())),
        };
        let pin = read_pin_status(t)?;
        let holder = parse_holder(&read_file(t, Self::EF_HOLDER)?)?;
        let certificate = read_file(t, Self::EF_CERT)?;
        let algorithm = crate::certificate::key_algorithm(&certificate).ok_or_else(|| {
            TokenError::Malformed("the certificate's key is not a GOST key".into())
        })?;
        Ok(TokenContents {
            serial,
            // The UEC has no label of its own: the holder's name stands for one (data, not words:
            // the kind of card is told by `CardKind`).
            label: Some(format!("{} {}", holder.surname, holder.given_names)),
            pin,
            keys: vec![CardKey {
                reference: Self::KEY_REFERENCE,
                algorithm,
                label: None,
                certificate,
            }],
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
        if key != Self::KEY_REFERENCE {
            return Err(TokenError::KeyMissing(key));
        }
        select(t, &Self::AID)?;
        // Read in the signature's own transaction, as the GOST token's driver does.
        let counter = read_pin_status(t)?;
        verify(
            t,
            Self::PIN_REFERENCE,
            Self::PIN_LENGTH,
            counter,
            last_try,
            pin,
        )?;
        // The signature comes through GET RESPONSE (61 40), which the common exchange follows.
        common::sign_hash(t, algorithm, key, hash)
    }
}

fn read_pin_status(t: &mut dyn Transport) -> Result<PinStatus, TokenError> {
    let data = run(t, "GET DATA PIN tries", &get_pin_tries())?;
    match tlv::find(&data, 0x9F17)? {
        Some(&[tries_left]) if tries_left <= Uec::MAX_TRIES => Ok(PinStatus {
            tries_left,
            max_tries: Uec::MAX_TRIES,
        }),
        _ => Err(TokenError::Malformed(format!(
            "PIN try counter {}",
            hex::encode_upper(&data)
        ))),
    }
}

/// SELECT EF (no FCP), then READ BINARY in 256-byte chunks until a short chunk or `6B00`.
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
    let mut content = Vec::new();
    loop {
        let response = exchange(t, &read_binary(content.len() as u16, CHUNK))?;
        match response.sw.status() {
            Status::Success => {}
            Status::WrongOffset if !content.is_empty() => break,
            _ => {
                return Err(TokenError::Status {
                    op: "READ BINARY",
                    sw: response.sw,
                })
            }
        }
        if response.data.is_empty() || response.data.len() > CHUNK {
            return Err(TokenError::Malformed(format!(
                "READ BINARY returned {} bytes",
                response.data.len()
            )));
        }
        content.extend_from_slice(&response.data);
        if content.len() > MAX_FILE_SIZE {
            return Err(TokenError::Malformed(format!(
                "file over {MAX_FILE_SIZE} bytes"
            )));
        }
        if response.data.len() < CHUNK {
            break;
        }
    }
    Ok(content)
}

fn parse_holder(data: &[u8]) -> Result<Holder, TokenError> {
    let template = tlv::find(data, 0x70)?
        .ok_or_else(|| TokenError::Malformed("EF.HOLDER has no template 70".into()))?;
    let field = |tag| -> Result<String, TokenError> {
        let value = tlv::find(template, tag)?
            .ok_or_else(|| TokenError::Malformed(format!("EF.HOLDER has no tag {tag:02X}")))?;
        String::from_utf8(value.to_vec())
            .map_err(|_| TokenError::Malformed(format!("EF.HOLDER tag {tag:02X} is not UTF-8")))
    };
    let snils = field(0x80)?;
    if snils.len() != 11 || !snils.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TokenError::Malformed(
            "EF.HOLDER SNILS is not 11 digits".into(),
        ));
    }
    Ok(Holder {
        snils,
        surname: field(0x81)?,
        given_names: field(0x82)?,
    })
}

fn bcd_digits(bcd: &[u8]) -> Result<String, TokenError> {
    let mut out = String::with_capacity(bcd.len() * 2);
    for nibble in bcd.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
        match nibble {
            0..=9 => out.push(char::from(b'0' + nibble)),
            0xF => {} // padding
            _ => return Err(TokenError::Malformed("card number is not BCD".into())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::transport::scripted::ScriptedTransport;

    const SELECT: &str = "00A4040C07 F05545434944 01";

    #[test]
    fn commands_are_the_bytes_of_docs_cards_md() {
        // The UEC's own commands; the shared ones are tested in `common`.
        assert_eq!(
            common::select_application(&Uec::AID).to_bytes(),
            hex!("00A4040C07F0554543494401")
        );
        assert_eq!(select_ef(Uec::EF_HOLDER).to_bytes(), hex!("00A4020C020101"));
        assert_eq!(get_pin_tries().to_bytes(), hex!("00CA9F1700"));
        assert_eq!(get_card_number().to_bytes(), hex!("00CA005A00"));
    }

    #[test]
    fn reads_holder_through_le_correction() {
        // 20-byte file: the card corrects Le=256 to 6C14.
        let holder = "70 14 800B3131323233333434353935 8101 41 8202 4242";
        let len = hex::decode(holder.replace(' ', "")).expect("hex").len();
        let corrected = format!("00B00000{len:02X}");
        let answer = format!("{holder} 9000");
        let mut t = ScriptedTransport::new(&[
            (SELECT, "9000"),
            ("00A4020C020101", "9000"),
            ("00B0000000", &format!("6C{len:02X}")),
            (&corrected, &answer),
        ]);
        let h = Uec.holder(&mut t).expect("holder");
        assert_eq!(
            h,
            Holder {
                snils: "11223344595".into(),
                surname: "A".into(),
                given_names: "BB".into()
            }
        );
    }

    #[test]
    fn reads_a_file_of_exactly_256_bytes_until_the_offset_error() {
        let mut t = ScriptedTransport::new(&[
            ("00A4020C020201", "9000"),
            ("00B0000000", &format!("{} 9000", "11".repeat(256))),
            ("00B0010000", "6B00"),
        ]);
        assert_eq!(read_file(&mut t, Uec::EF_CERT).expect("read").len(), 256);
    }

    #[test]
    fn signs_through_get_response() {
        let pso = format!("002A9E9A20{}00", "01".repeat(32));
        let sig = format!("{}9000", "EE".repeat(64));
        let mut t = ScriptedTransport::new(&[
            (SELECT, "9000"),
            ("00CA9F1700", "9F170103 9000"),
            ("00200001083132333435363738", "9000"),
            ("002241B606800103840101", "9000"),
            (&pso, "6140"),
            ("00C0000040", &sig),
        ]);
        let pin = Pin::new("12345678".into()).expect("pin");
        let s = Uec
            .sign(
                &mut t,
                1,
                KeyAlgorithm::Gost2001,
                &[1; 32],
                &pin,
                LastTry::NotConfirmed,
            )
            .expect("sign");
        assert_eq!(s, vec![0xEE; 64]);
    }

    #[test]
    fn blocked_uec_is_not_sent_a_verify() {
        let mut t = ScriptedTransport::new(&[(SELECT, "9000"), ("00CA9F1700", "9F170100 9000")]);
        let pin = Pin::new("1234".into()).expect("pin");
        assert_eq!(
            Uec.sign(
                &mut t,
                1,
                KeyAlgorithm::Gost2001,
                &[1; 32],
                &pin,
                LastTry::NotConfirmed
            ),
            Err(TokenError::PinBlocked)
        );
    }

    #[test]
    fn on_the_last_try_without_consent_no_verify_is_sent() {
        let mut t = ScriptedTransport::new(&[(SELECT, "9000"), ("00CA9F1700", "9F170101 9000")]);
        let pin = Pin::new("12345678".into()).expect("pin");
        assert_eq!(
            Uec.sign(
                &mut t,
                1,
                KeyAlgorithm::Gost2001,
                &[1; 32],
                &pin,
                LastTry::NotConfirmed
            ),
            Err(TokenError::LastTryNotConfirmed)
        );
    }

    #[test]
    fn a_try_counter_or_wrong_pin_answer_beyond_the_maximum_is_malformed() {
        let pin = Pin::new("12345678".into()).expect("pin");
        // GET DATA of the try counter: 15 tries, or 4, where the profile allows 3.
        for counter in ["9F17010F 9000", "9F170104 9000"] {
            let mut t = ScriptedTransport::new(&[(SELECT, "9000"), ("00CA9F1700", counter)]);
            assert!(
                matches!(Uec.pin_status(&mut t), Err(TokenError::Malformed(_))),
                "{counter}"
            );
            let mut t = ScriptedTransport::new(&[(SELECT, "9000"), ("00CA9F1700", counter)]);
            assert!(
                matches!(
                    Uec.sign(
                        &mut t,
                        1,
                        KeyAlgorithm::Gost2001,
                        &[1; 32],
                        &pin,
                        LastTry::NotConfirmed
                    ),
                    Err(TokenError::Malformed(_))
                ),
                "{counter}: no VERIFY after an impossible counter"
            );
        }
        // VERIFY answering 63CF: malformed, not "15 tries left".
        let mut t = ScriptedTransport::new(&[
            (SELECT, "9000"),
            ("00CA9F1700", "9F170103 9000"),
            ("00200001083132333435363738", "63CF"),
        ]);
        let err = Uec
            .sign(
                &mut t,
                1,
                KeyAlgorithm::Gost2001,
                &[1; 32],
                &pin,
                LastTry::NotConfirmed,
            )
            .unwrap_err();
        assert!(matches!(err, TokenError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn holder_and_card_number_reject_garbage() {
        assert!(parse_holder(&hex!("70 03 800141")).is_err());
        assert!(parse_holder(&hex!("71 00")).is_err());
        assert!(parse_holder(&hex!("70 05 80 0B 31")).is_err());
        assert_eq!(bcd_digits(&hex!("1234 5F")).expect("bcd"), "12345");
        assert!(bcd_digits(&hex!("1A")).is_err());
    }
}
