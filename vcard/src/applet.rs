//! What the two card applications share: the applet interface, signing and small encoders.

use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;

/// One card application behind the vpcd connection.
pub trait Applet {
    fn atr(&self) -> Vec<u8>;
    /// Power-off or reset: the security state goes, the persistent state stays.
    fn reset(&mut self);
    /// Answers one command APDU with a response APDU.
    fn process(&mut self, apdu: &[u8]) -> Vec<u8>;
}

pub mod sw {
    pub const OK: u16 = 0x9000;
    pub const END_OF_FILE: u16 = 0x6282;
    pub const WRONG_LENGTH: u16 = 0x6700;
    pub const SECURITY_NOT_SATISFIED: u16 = 0x6982;
    pub const BLOCKED: u16 = 0x6983;
    pub const CONDITIONS: u16 = 0x6985;
    pub const NO_CURRENT_EF: u16 = 0x6986;
    pub const WRONG_DATA: u16 = 0x6A80;
    pub const NOT_FOUND: u16 = 0x6A82;
    pub const WRONG_P1P2: u16 = 0x6A86;
    pub const DATA_NOT_FOUND: u16 = 0x6A88;
    pub const WRONG_OFFSET: u16 = 0x6B00;
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
    pub const NO_PRECISE_DIAGNOSIS: u16 = 0x6F00;
}

/// Signs a hash with the GOST engine as the card does: EVP_PKEY_sign over the hash as given,
/// which returns s ‖ r big-endian (docs/cards.md, Signature).
pub fn sign_hash(key: &PKey<Private>, hash: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let mut ctx = PkeyCtx::new(key)?;
    ctx.sign_init()?;
    let mut signature = Vec::new();
    ctx.sign_to_vec(hash, &mut signature)?;
    Ok(signature)
}

/// A BER-TLV object with a one- or two-byte tag and a definite length.
pub fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    match value.len() {
        n @ 0..=0x7F => out.push(n as u8),
        n @ 0x80..=0xFF => out.extend_from_slice(&[0x81, n as u8]),
        n => {
            out.push(0x82);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(value);
    out
}

/// The PIN check of docs/cards.md, common rules: a blocked PIN is not compared, a length out of
/// range does not count, a wrong PIN costs a try, a right one restores them all.
pub enum PinOutcome {
    Verified,
    Wrong { tries_left: u8 },
    Blocked,
    BadLength,
}

pub fn check_pin(
    given: &[u8],
    expected: &str,
    tries_left: &mut u8,
    max: u8,
    (min_len, max_len): (usize, usize),
) -> PinOutcome {
    if *tries_left == 0 {
        return PinOutcome::Blocked;
    }
    if !(min_len..=max_len).contains(&given.len()) {
        return PinOutcome::BadLength;
    }
    // Constant-time comparison: the virtual card should not teach bad habits.
    let same = given.len() == expected.len()
        && given
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        *tries_left = max;
        PinOutcome::Verified
    } else {
        *tries_left -= 1;
        PinOutcome::Wrong {
            tries_left: *tries_left,
        }
    }
}
