//! The UEC identification application, written from docs/cards.md ("UEC identification
//! application").

use testdata::Person;

use crate::apdu::{self, respond, status, Apdu};
use crate::applet::{sign_hash, sw, tlv, verify_pin, Applet, CardAlgorithm};
use crate::state::CardState;

pub const ATR: [u8; 20] = [
    0x3B, 0x8F, 0x80, 0x01, 0x80, 0x69, b'P', b'O', b'D', b'P', b'I', b'S', b'U', b'E', b'C', 0x73,
    0x00, 0x00, 0x00, 0xD6,
];
pub const AID: [u8; 7] = [0xF0, b'U', b'E', b'C', b'I', b'D', 0x01];
const EF_HOLDER: [u8; 2] = [0x01, 0x01];
const EF_CERT: [u8; 2] = [0x02, 0x01];
const KEY_REFERENCE: u8 = 0x01;
const PIN_REFERENCE: u8 = 0x01;
const PIN_LENGTH: (usize, usize) = (4, 8);

pub struct UecApplet {
    state: CardState,
    holder: Vec<u8>,
    selected: bool,
    current_ef: Option<[u8; 2]>,
    verified: bool,
    environment: bool,
    pending: Option<Vec<u8>>,
}

impl UecApplet {
    pub fn new(state: CardState, person: &Person) -> Self {
        let mut body = tlv(&[0x80], person.snils.as_bytes());
        body.extend(tlv(&[0x81], person.surname.as_bytes()));
        body.extend(tlv(&[0x82], person.given_names.as_bytes()));
        Self {
            state,
            holder: tlv(&[0x70], &body),
            selected: false,
            current_ef: None,
            verified: false,
            environment: false,
            pending: None,
        }
    }

    fn file(&self, fid: [u8; 2]) -> Option<&[u8]> {
        match fid {
            EF_HOLDER => Some(&self.holder),
            EF_CERT => self.state.keys.first().map(|k| k.certificate.as_slice()),
            _ => None,
        }
    }

    fn select(&mut self, c: &Apdu) -> Vec<u8> {
        match (c.p1, c.p2) {
            (0x04, 0x0C) => {
                if c.data != AID {
                    return status(sw::NOT_FOUND);
                }
                self.selected = true;
                self.current_ef = None;
                self.verified = false;
                self.environment = false;
                status(sw::OK)
            }
            (0x02, 0x0C) => {
                if !self.selected {
                    return status(sw::CONDITIONS);
                }
                let Ok(fid) = <[u8; 2]>::try_from(c.data.as_slice()) else {
                    return status(sw::WRONG_LENGTH);
                };
                if self.file(fid).is_none() {
                    self.current_ef = None;
                    return status(sw::NOT_FOUND);
                }
                self.current_ef = Some(fid);
                status(sw::OK)
            }
            _ => status(sw::WRONG_P1P2),
        }
    }

    fn read_binary(&self, c: &Apdu) -> Vec<u8> {
        if c.p1 & 0x80 != 0 {
            return status(sw::WRONG_P1P2);
        }
        let Some(content) = self.current_ef.and_then(|fid| self.file(fid)) else {
            return status(sw::NO_CURRENT_EF);
        };
        let Some(ne) = c.ne else {
            return status(sw::WRONG_LENGTH);
        };
        let offset = usize::from(u16::from_be_bytes([c.p1 & 0x7F, c.p2]));
        if offset >= content.len() {
            return status(sw::WRONG_OFFSET);
        }
        let remaining = content.len() - offset;
        if remaining < ne {
            // T=0 style: tell the reader the Le that fits (remaining < ne <= 256).
            return status(0x6C00 | remaining as u16);
        }
        respond(&content[offset..offset + ne], sw::OK)
    }

    fn get_data(&self, c: &Apdu) -> Vec<u8> {
        match (c.p1, c.p2) {
            (0x9F, 0x17) => respond(
                &tlv(&[0x9F, 0x17], &[self.state.data.pin_tries_left]),
                sw::OK,
            ),
            (0x00, 0x5A) => respond(&tlv(&[0x5A], &bcd(&self.state.data.serial)), sw::OK),
            _ => status(sw::DATA_NOT_FOUND),
        }
    }

    fn verify(&mut self, c: &Apdu) -> Vec<u8> {
        if c.p1 != 0x00 {
            return status(sw::WRONG_P1P2);
        }
        if c.p2 != PIN_REFERENCE {
            return status(sw::DATA_NOT_FOUND);
        }
        verify_pin(&mut self.state, &c.data, PIN_LENGTH, &mut self.verified)
    }

    fn manage_security_environment(&mut self, c: &Apdu) -> Vec<u8> {
        if (c.p1, c.p2) != (0x41, 0xB6) {
            return status(sw::WRONG_P1P2);
        }
        let (algorithm, key) = match c.data.as_slice() {
            [0x80, 0x01, a, 0x84, 0x01, k] | [0x84, 0x01, k, 0x80, 0x01, a] => (*a, *k),
            _ => return status(sw::WRONG_DATA),
        };
        let Some(card_key) = self.state.keys.first().filter(|_| key == KEY_REFERENCE) else {
            return status(sw::DATA_NOT_FOUND);
        };
        if card_key.kind.reference() != algorithm {
            return status(sw::WRONG_DATA);
        }
        self.environment = true;
        status(sw::OK)
    }

    fn sign(&mut self, c: &Apdu) -> Vec<u8> {
        if (c.p1, c.p2) != (0x9E, 0x9A) {
            return status(sw::WRONG_P1P2);
        }
        if !self.environment {
            return status(sw::CONDITIONS);
        }
        if !self.verified {
            return status(sw::SECURITY_NOT_SATISFIED);
        }
        let Some(card_key) = self.state.keys.first() else {
            return status(sw::CONDITIONS);
        };
        if c.data.len() != 32 {
            return status(sw::WRONG_LENGTH);
        }
        self.verified = false;
        match sign_hash(&card_key.private, &c.data) {
            Ok(signature) => {
                let sw = 0x6100 | signature.len() as u16;
                self.pending = Some(signature);
                status(sw)
            }
            Err(_) => status(sw::NO_PRECISE_DIAGNOSIS),
        }
    }

    fn get_response(&mut self, c: &Apdu) -> Vec<u8> {
        let Some(pending) = self.pending.take() else {
            return status(sw::CONDITIONS);
        };
        if c.ne != Some(pending.len()) {
            let sw = 0x6C00 | pending.len() as u16;
            self.pending = Some(pending);
            return status(sw);
        }
        respond(&pending, sw::OK)
    }
}

impl Applet for UecApplet {
    fn atr(&self) -> Vec<u8> {
        ATR.to_vec()
    }

    fn reset(&mut self) {
        self.selected = false;
        self.current_ef = None;
        self.verified = false;
        self.environment = false;
        self.pending = None;
    }

    fn process(&mut self, bytes: &[u8]) -> Vec<u8> {
        let Some(c) = apdu::parse(bytes) else {
            return status(sw::WRONG_LENGTH);
        };
        if c.extended {
            return status(sw::WRONG_LENGTH);
        }
        if c.cla != 0x00 {
            return status(sw::CLA_NOT_SUPPORTED);
        }
        if c.ins == 0xC0 {
            return self.get_response(&c);
        }
        self.pending = None;
        if c.ins != 0xA4 && !self.selected {
            return status(sw::CONDITIONS);
        }
        match c.ins {
            0xA4 => self.select(&c),
            0xB0 => self.read_binary(&c),
            0xCA => self.get_data(&c),
            0x20 => self.verify(&c),
            0x22 => self.manage_security_environment(&c),
            0x2A => self.sign(&c),
            _ => status(sw::INS_NOT_SUPPORTED),
        }
    }
}

/// Digits as BCD, padded with F to a whole byte.
fn bcd(digits: &str) -> Vec<u8> {
    let nibbles: Vec<u8> = digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .chain(std::iter::once(0xF))
        .collect();
    nibbles
        .chunks(2)
        .filter(|c| c.len() == 2 || c[0] != 0xF)
        .map(|c| (c[0] << 4) | c.get(1).copied().unwrap_or(0xF))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::bcd;

    #[test]
    fn bcd_packs_and_pads() {
        assert_eq!(bcd("1234"), vec![0x12, 0x34]);
        assert_eq!(bcd("123"), vec![0x12, 0x3F]);
    }
}
