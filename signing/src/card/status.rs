//! Status words (ISO/IEC 7816-4, clause 5.6), decoded in one place.

/// The two status bytes SW1 SW2 of a response.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

/// What a status word means to a driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// `9000`
    Success,
    /// `61xx`: xx more bytes wait for GET RESPONSE (`00` means 256 or more).
    MoreData(u8),
    /// `6Cxx`: wrong Le, resend with Le = xx (`00` means 256).
    WrongLe(u8),
    /// `63Cx`: verification failed, x tries left. `63C0` means none are left.
    VerifyFailed { tries_left: u8 },
    /// `6282`: end of file reached before Le bytes were read.
    EndOfFile,
    /// `6700`: wrong length (Lc or Le).
    WrongLength,
    /// `6982`: security status not satisfied (for instance the PIN is not verified).
    SecurityNotSatisfied,
    /// `6983`: authentication method blocked.
    AuthBlocked,
    /// `6984`: reference data not usable.
    ReferenceDataNotUsable,
    /// `6985`: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// `6986`: command not allowed (no current EF).
    NoCurrentEf,
    /// `6A80`: incorrect parameters in the data field.
    WrongData,
    /// `6A82`: file or application not found.
    NotFound,
    /// `6A86`: incorrect P1-P2.
    WrongP1P2,
    /// `6A88`: referenced data not found.
    ReferencedDataNotFound,
    /// `6B00`: wrong parameters P1-P2 (offset outside the file).
    WrongOffset,
    /// `6D00`: instruction not supported.
    InsNotSupported,
    /// `6E00`: class not supported.
    ClaNotSupported,
    /// `6F00` and anything else the card may say.
    Other(u16),
}

impl StatusWord {
    pub const SUCCESS: Self = Self(0x9000);

    pub fn new(sw1: u8, sw2: u8) -> Self {
        Self(u16::from_be_bytes([sw1, sw2]))
    }

    pub fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    pub fn sw2(self) -> u8 {
        self.0 as u8
    }

    /// ISO 7816-4 allows SW1 only in `61`..`6F` and `90`..`9F`; `60` is a T=0 procedure byte.
    pub fn is_valid(self) -> bool {
        matches!(self.sw1(), 0x61..=0x6F | 0x90..=0x9F)
    }

    pub fn is_success(self) -> bool {
        self == Self::SUCCESS
    }

    pub fn status(self) -> Status {
        match (self.sw1(), self.sw2()) {
            (0x90, 0x00) => Status::Success,
            (0x61, n) => Status::MoreData(n),
            (0x6C, n) => Status::WrongLe(n),
            (0x63, n) if n & 0xF0 == 0xC0 => Status::VerifyFailed {
                tries_left: n & 0x0F,
            },
            (0x62, 0x82) => Status::EndOfFile,
            (0x67, 0x00) => Status::WrongLength,
            (0x69, 0x82) => Status::SecurityNotSatisfied,
            (0x69, 0x83) => Status::AuthBlocked,
            (0x69, 0x84) => Status::ReferenceDataNotUsable,
            (0x69, 0x85) => Status::ConditionsNotSatisfied,
            (0x69, 0x86) => Status::NoCurrentEf,
            (0x6A, 0x80) => Status::WrongData,
            (0x6A, 0x82) => Status::NotFound,
            (0x6A, 0x86) => Status::WrongP1P2,
            (0x6A, 0x88) => Status::ReferencedDataNotFound,
            (0x6B, 0x00) => Status::WrongOffset,
            (0x6D, 0x00) => Status::InsNotSupported,
            (0x6E, 0x00) => Status::ClaNotSupported,
            _ => Status::Other(self.0),
        }
    }
}

impl std::fmt::Display for StatusWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

impl std::fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SW {:04X} ({:?})", self.0, self.status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_word_the_profiles_define_decodes() {
        let cases = [
            (0x9000, Status::Success),
            (0x6140, Status::MoreData(0x40)),
            (0x6100, Status::MoreData(0)),
            (0x6C10, Status::WrongLe(0x10)),
            (0x63C2, Status::VerifyFailed { tries_left: 2 }),
            (0x63C0, Status::VerifyFailed { tries_left: 0 }),
            (0x6282, Status::EndOfFile),
            (0x6700, Status::WrongLength),
            (0x6982, Status::SecurityNotSatisfied),
            (0x6983, Status::AuthBlocked),
            (0x6984, Status::ReferenceDataNotUsable),
            (0x6985, Status::ConditionsNotSatisfied),
            (0x6986, Status::NoCurrentEf),
            (0x6A80, Status::WrongData),
            (0x6A82, Status::NotFound),
            (0x6A86, Status::WrongP1P2),
            (0x6A88, Status::ReferencedDataNotFound),
            (0x6B00, Status::WrongOffset),
            (0x6D00, Status::InsNotSupported),
            (0x6E00, Status::ClaNotSupported),
            (0x6F00, Status::Other(0x6F00)),
            (0x6310, Status::Other(0x6310)),
        ];
        for (sw, expected) in cases {
            assert_eq!(StatusWord(sw).status(), expected, "{sw:04X}");
        }
    }

    #[test]
    fn only_iso_status_bytes_are_valid() {
        assert!(StatusWord(0x9000).is_valid());
        assert!(StatusWord(0x6A82).is_valid());
        assert!(StatusWord(0x9F10).is_valid());
        assert!(!StatusWord(0x6000).is_valid());
        assert!(!StatusWord(0x0000).is_valid());
        assert!(!StatusWord(0xA000).is_valid());
        assert!(!StatusWord(0x5090).is_valid());
    }
}
