//! The GOST token application, written from docs/cards.md ("GOST token").

use crate::apdu::{self, respond, status, Apdu};
use crate::applet::{
    change_pin, sign_hash, sw, tlv, unblock_pin, verify_pin, Applet, CardAlgorithm,
};
use crate::state::CardState;

pub const ATR: [u8; 19] = [
    0x3B, 0x8E, 0x80, 0x01, 0x80, 0x68, b'P', b'O', b'D', b'P', b'I', b'S', b'G', b'T', 0x73, 0x00,
    0x00, 0x40, 0xD6,
];
pub const AID: [u8; 10] = [0xF0, b'P', b'O', b'D', b'P', b'I', b'S', b'G', b'T', 0x01];
const EF_KEYS: [u8; 2] = [0xC0, 0x00];
const PIN_LENGTH: (usize, usize) = (4, 16);

pub struct GostTokenApplet {
    state: CardState,
    label: String,
    selected: bool,
    current_ef: Option<[u8; 2]>,
    verified: bool,
    environment: Option<(u8, u8)>,
}

impl GostTokenApplet {
    pub fn new(state: CardState, label: String) -> Self {
        Self {
            state,
            label,
            selected: false,
            current_ef: None,
            verified: false,
            environment: None,
        }
    }

    fn file(&self, fid: [u8; 2]) -> Option<Vec<u8>> {
        if fid == EF_KEYS {
            let mut dir = Vec::new();
            for key in &self.state.keys {
                let mut body = tlv(&[0x83], &[key.reference]);
                body.extend(tlv(&[0x80], &[key.kind.reference()]));
                body.extend(tlv(&[0x51], &key.certificate_fid));
                body.extend(tlv(&[0x50], format!("Ключ {}", key.reference).as_bytes()));
                let digest = openssl::sha::sha256(&key.certificate);
                body.extend(tlv(&[0x8E], &digest));
                dir.extend(tlv(&[0xA0], &body));
            }
            return Some(dir);
        }
        self.state
            .keys
            .iter()
            .find(|k| k.certificate_fid == fid)
            .map(|k| k.certificate.clone())
    }

    fn clear_security(&mut self) {
        self.verified = false;
        self.environment = None;
    }

    fn select(&mut self, c: &Apdu) -> Vec<u8> {
        match c.p1 {
            0x04 => {
                if c.p2 != 0x0C {
                    return status(sw::WRONG_P1P2);
                }
                if c.data != AID {
                    return status(sw::NOT_FOUND);
                }
                self.selected = true;
                self.current_ef = None;
                self.clear_security();
                status(sw::OK)
            }
            0x02 => {
                if !self.selected {
                    return status(sw::CONDITIONS);
                }
                if c.p2 != 0x04 && c.p2 != 0x0C {
                    return status(sw::WRONG_P1P2);
                }
                let Ok(fid) = <[u8; 2]>::try_from(c.data.as_slice()) else {
                    return status(sw::WRONG_LENGTH);
                };
                let Some(content) = self.file(fid) else {
                    self.current_ef = None;
                    return status(sw::NOT_FOUND);
                };
                self.current_ef = Some(fid);
                if c.p2 == 0x0C {
                    return status(sw::OK);
                }
                let mut fcp = tlv(&[0x80], &(content.len() as u16).to_be_bytes());
                fcp.extend(tlv(&[0x82], &[0x01]));
                fcp.extend(tlv(&[0x83], &fid));
                respond(&tlv(&[0x62], &fcp), sw::OK)
            }
            _ => status(sw::WRONG_P1P2),
        }
    }

    fn read_binary(&self, c: &Apdu) -> Vec<u8> {
        if c.p1 & 0x80 != 0 {
            return status(sw::WRONG_P1P2);
        }
        let Some(fid) = self.current_ef else {
            return status(sw::NO_CURRENT_EF);
        };
        let Some(ne) = c.ne else {
            return status(sw::WRONG_LENGTH);
        };
        let content = self.file(fid).unwrap_or_default();
        let offset = usize::from(u16::from_be_bytes([c.p1 & 0x7F, c.p2]));
        if offset >= content.len() {
            return status(sw::WRONG_OFFSET);
        }
        let n = ne.min(content.len() - offset);
        respond(
            &content[offset..offset + n],
            if n < ne { sw::END_OF_FILE } else { sw::OK },
        )
    }

    fn get_data(&self, c: &Apdu) -> Vec<u8> {
        match (c.p1, c.p2) {
            (0x01, 0x01) => respond(self.state.data.serial.as_bytes(), sw::OK),
            (0x01, 0x02) => respond(self.label.as_bytes(), sw::OK),
            (0x01, 0x03) => respond(
                &[
                    self.state.data.pin_tries_left,
                    self.state.data.pin_max_tries,
                ],
                sw::OK,
            ),
            (0x01, 0x04) => respond(
                &[self.state.data.puk_tries_left, testdata::MAX_PUK_TRIES],
                sw::OK,
            ),
            _ => status(sw::DATA_NOT_FOUND),
        }
    }

    fn verify(&mut self, c: &Apdu) -> Vec<u8> {
        if c.p1 != 0x00 {
            return status(sw::WRONG_P1P2);
        }
        if c.p2 != 0x81 {
            return status(sw::DATA_NOT_FOUND);
        }
        if c.data.is_empty() {
            // The token's own addition: VERIFY without data asks the state, comparing nothing.
            return match (self.state.data.pin_tries_left, self.verified) {
                (0, _) => status(sw::BLOCKED),
                (_, true) => status(sw::OK),
                (n, false) => status(0x63C0 | u16::from(n)),
            };
        }
        verify_pin(&mut self.state, &c.data, PIN_LENGTH, &mut self.verified)
    }

    /// CHANGE REFERENCE DATA (`24`) and RESET RETRY COUNTER (`2C`) of the PIN `81`.
    fn manage_pin(&mut self, c: &Apdu) -> Vec<u8> {
        if (c.p1, c.p2) != (0x00, 0x81) {
            return status(sw::WRONG_P1P2);
        }
        if c.ins == 0x24 {
            change_pin(&mut self.state, &c.data, PIN_LENGTH, &mut self.verified)
        } else {
            unblock_pin(&mut self.state, &c.data, PIN_LENGTH, &mut self.verified)
        }
    }

    fn manage_security_environment(&mut self, c: &Apdu) -> Vec<u8> {
        if (c.p1, c.p2) != (0x41, 0xB6) {
            return status(sw::WRONG_P1P2);
        }
        let (mut algorithm, mut key) = (None, None);
        let mut rest = c.data.as_slice();
        while !rest.is_empty() {
            match rest {
                [0x80, 0x01, a, tail @ ..] if algorithm.is_none() => {
                    algorithm = Some(*a);
                    rest = tail;
                }
                [0x84, 0x01, k, tail @ ..] if key.is_none() => {
                    key = Some(*k);
                    rest = tail;
                }
                _ => return status(sw::WRONG_DATA),
            }
        }
        let (Some(algorithm), Some(key)) = (algorithm, key) else {
            return status(sw::WRONG_DATA);
        };
        let Some(card_key) = self.state.keys.iter().find(|k| k.reference == key) else {
            return status(sw::DATA_NOT_FOUND);
        };
        if card_key.kind.reference() != algorithm {
            return status(sw::WRONG_DATA);
        }
        self.environment = Some((algorithm, key));
        status(sw::OK)
    }

    fn sign(&mut self, c: &Apdu) -> Vec<u8> {
        if (c.p1, c.p2) != (0x9E, 0x9A) {
            return status(sw::WRONG_P1P2);
        }
        let Some((_, key)) = self.environment else {
            return status(sw::CONDITIONS);
        };
        if !self.verified {
            return status(sw::SECURITY_NOT_SATISFIED);
        }
        let Some(card_key) = self.state.keys.iter().find(|k| k.reference == key) else {
            return status(sw::CONDITIONS);
        };
        if c.data.len() != card_key.kind.hash_len() {
            return status(sw::WRONG_LENGTH);
        }
        // One VERIFY, one signature.
        self.verified = false;
        match sign_hash(&card_key.private, &c.data) {
            Ok(signature) => respond(&signature, sw::OK),
            Err(_) => status(sw::NO_PRECISE_DIAGNOSIS),
        }
    }
}

impl Applet for GostTokenApplet {
    fn atr(&self) -> Vec<u8> {
        ATR.to_vec()
    }

    fn reset(&mut self) {
        self.selected = false;
        self.current_ef = None;
        self.clear_security();
    }

    fn process(&mut self, bytes: &[u8]) -> Vec<u8> {
        let Some(c) = apdu::parse(bytes) else {
            return status(sw::WRONG_LENGTH);
        };
        if c.cla != 0x00 {
            return status(sw::CLA_NOT_SUPPORTED);
        }
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
            0x24 | 0x2C => self.manage_pin(&c),
            _ => status(sw::INS_NOT_SUPPORTED),
        }
    }
}
