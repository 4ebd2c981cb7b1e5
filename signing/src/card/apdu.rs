//! Command and response APDUs (ISO/IEC 7816-4, clause 5).

use super::{CardError, StatusWord};

/// Largest Ne a short APDU can ask for (encoded as `00`).
pub const SHORT_MAX_NE: usize = 256;
/// Largest Nc a short APDU can carry.
pub const SHORT_MAX_NC: usize = 255;
/// Largest Ne an extended APDU can ask for (encoded as `00 00`).
pub const EXTENDED_MAX_NE: usize = 65_536;

/// A command APDU. Build it with the constructors, serialise it with [`Command::to_bytes`].
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    /// Ne: the number of response bytes expected, `None` when no response data is expected.
    pub le: Option<usize>,
}

impl Command {
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    pub fn with_le(mut self, le: usize) -> Self {
        self.le = Some(le);
        self
    }

    /// True for commands whose data is a secret (VERIFY, CHANGE REFERENCE DATA, RESET RETRY
    /// COUNTER): traces and errors show their data as `**`.
    pub fn is_sensitive(&self) -> bool {
        matches!(self.ins, 0x20 | 0x24 | 0x2C)
    }

    /// Whether this command needs the extended form.
    pub fn needs_extended(&self) -> bool {
        self.data.len() > SHORT_MAX_NC || self.le.is_some_and(|le| le > SHORT_MAX_NE)
    }

    /// Serialises the command in the short form when it fits, in the extended form otherwise.
    pub fn to_bytes(&self) -> Vec<u8> {
        let extended = self.needs_extended();
        let mut out = Vec::with_capacity(9 + self.data.len());
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if extended {
            if !self.data.is_empty() {
                // Lc: 00 then two bytes; a later Le is then two bytes without the leading 00.
                out.push(0x00);
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
                out.extend_from_slice(&self.data);
                if let Some(le) = self.le {
                    out.extend_from_slice(&encode_extended_le(le));
                }
            } else if let Some(le) = self.le {
                out.push(0x00);
                out.extend_from_slice(&encode_extended_le(le));
            }
        } else {
            if !self.data.is_empty() {
                out.push(self.data.len() as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                out.push(if le >= SHORT_MAX_NE { 0x00 } else { le as u8 });
            }
        }
        out
    }

    /// A printable form for traces: the header, and the data unless the command is sensitive.
    pub fn describe(&self) -> String {
        let data = if self.is_sensitive() && !self.data.is_empty() {
            "**".to_owned()
        } else {
            hex::encode_upper(&self.data)
        };
        format!(
            "{:02X} {:02X} {:02X} {:02X} [{}] Le={}",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            data,
            self.le.map_or("-".to_owned(), |le| le.to_string())
        )
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

fn encode_extended_le(le: usize) -> [u8; 2] {
    if le >= EXTENDED_MAX_NE {
        [0, 0]
    } else {
        (le as u16).to_be_bytes()
    }
}

/// A response APDU: data and the two status bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: StatusWord,
}

impl Response {
    /// Parses the bytes a reader returned. PC/SC can report success for an answer that was cut
    /// off, so an answer under two bytes, or with a first status byte that ISO 7816-4 does not
    /// allow (only `61`..`6F` and `90`..`9F` are status bytes), is refused here.
    pub fn parse(bytes: &[u8]) -> Result<Self, CardError> {
        let Some(split) = bytes.len().checked_sub(2) else {
            return Err(CardError::MalformedResponse(format!(
                "{} byte(s), a response needs at least the 2 status bytes",
                bytes.len()
            )));
        };
        let sw = StatusWord::new(bytes[split], bytes[split + 1]);
        if !sw.is_valid() {
            return Err(CardError::MalformedResponse(format!(
                "impossible status word {sw}"
            )));
        }
        Ok(Self {
            data: bytes[..split].to_vec(),
            sw,
        })
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", hex::encode_upper(&self.data), self.sw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn short_forms_follow_iso_7816_4_cases() {
        // Case 1: header only.
        assert_eq!(Command::new(0, 0xA4, 0, 0).to_bytes(), hex!("00A40000"));
        // Case 2: Le only; 256 is encoded as 00.
        assert_eq!(
            Command::new(0, 0xB0, 0, 0).with_le(256).to_bytes(),
            hex!("00B0000000")
        );
        assert_eq!(
            Command::new(0, 0xB0, 0, 0).with_le(16).to_bytes(),
            hex!("00B0000010")
        );
        // Case 3: data only.
        assert_eq!(
            Command::new(0, 0xA4, 2, 0x0C)
                .with_data(hex!("C001"))
                .to_bytes(),
            hex!("00A4020C02C001")
        );
        // Case 4: data and Le.
        assert_eq!(
            Command::new(0, 0x2A, 0x9E, 0x9A)
                .with_data([1, 2])
                .with_le(256)
                .to_bytes(),
            hex!("002A9E9A02010200")
        );
    }

    #[test]
    fn extended_forms_use_three_byte_lc_and_two_byte_le() {
        assert_eq!(
            Command::new(0, 0xB0, 0, 0).with_le(65_536).to_bytes(),
            hex!("00B00000000000")
        );
        assert_eq!(
            Command::new(0, 0xB0, 0, 0).with_le(1000).to_bytes(),
            hex!("00B000000003E8")
        );
        assert_eq!(
            Command::new(0, 0x2A, 0x9E, 0x9A)
                .with_data([7])
                .with_le(1024)
                .to_bytes(),
            hex!("002A9E9A000001070400")
        );
        // A long command switches to the extended form by itself.
        let long = Command::new(0, 0xDA, 0, 0).with_data(vec![0xAA; 300]);
        let bytes = long.to_bytes();
        assert!(long.needs_extended());
        assert_eq!(&bytes[..7], &hex!("00DA000000012C"));
        assert_eq!(bytes.len(), 7 + 300);
    }

    #[test]
    fn verify_data_never_reaches_a_trace() {
        let verify = Command::new(0, 0x20, 0, 0x81).with_data(*b"12345678");
        assert!(verify.is_sensitive());
        assert!(!verify.describe().contains("3132"));
        assert!(!format!("{verify:?}").contains("3132"));
        assert!(verify.describe().contains("**"));
    }

    #[test]
    fn responses_shorter_than_two_bytes_or_with_impossible_status_are_refused() {
        assert!(Response::parse(&[]).is_err());
        assert!(Response::parse(&[0x90]).is_err());
        assert!(Response::parse(&hex!("0102 1234")).is_err());
        assert!(Response::parse(&hex!("00 00")).is_err());
        let ok = Response::parse(&hex!("0102 9000")).expect("valid");
        assert_eq!(ok.data, hex!("0102"));
        assert_eq!(ok.sw, StatusWord::new(0x90, 0x00));
        let warn = Response::parse(&hex!("63C2")).expect("valid");
        assert!(warn.data.is_empty());
    }
}
