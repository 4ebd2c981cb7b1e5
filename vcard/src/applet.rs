//! What the two card applications share: the applet interface, the PIN check, signing, the key
//! algorithms and small encoders.

use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use testdata::KeyKind;

use crate::apdu::status;
use crate::state::CardState;

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

/// What the card makes of a profile's kind of key: the algorithm reference of docs/cards.md, the
/// size of the hash it signs, and the GOST engine's name for generating it. Written here from the
/// document, not taken from `signing`'s drivers.
pub trait CardAlgorithm {
    fn reference(self) -> u8;
    fn hash_len(self) -> usize;
    fn openssl_algorithm(self) -> &'static str;
}

impl CardAlgorithm for KeyKind {
    fn reference(self) -> u8 {
        match self {
            Self::Gost2012_256 => 0x01,
            Self::Gost2012_512 => 0x02,
            Self::Gost2001 => 0x03,
            // PIV's algorithm identifier (docs/cards.md, "PIV"): the GOST token never holds it.
            Self::EcdsaP256 => 0x11,
        }
    }

    fn hash_len(self) -> usize {
        match self {
            Self::Gost2012_512 => 64,
            Self::Gost2012_256 | Self::Gost2001 | Self::EcdsaP256 => 32,
        }
    }

    /// The `openssl genpkey -algorithm` name.
    fn openssl_algorithm(self) -> &'static str {
        match self {
            Self::Gost2012_256 => "gost2012_256",
            Self::Gost2012_512 => "gost2012_512",
            Self::Gost2001 => "gost2001",
            // On curve P-256: pki::genpkey gives EC keys that curve.
            Self::EcdsaP256 => "EC",
        }
    }
}

/// VERIFY with a PIN, as both applications answer it (docs/cards.md, common rules): sets
/// `verified`, stores the try counter before answering, and returns the response APDU. A counter
/// that cannot be stored is not trusted: the card then refuses with `6F00`, verified or not.
pub fn verify_pin(
    state: &mut CardState,
    given: &[u8],
    length: (usize, usize),
    verified: &mut bool,
) -> Vec<u8> {
    let data = &mut state.data;
    let max = data.pin_max_tries;
    let outcome = check_pin(given, &data.pin, &mut data.pin_tries_left, max, length);
    *verified = false;
    match outcome {
        PinOutcome::Blocked => status(sw::BLOCKED),
        PinOutcome::BadLength => status(sw::WRONG_LENGTH),
        PinOutcome::Verified | PinOutcome::Wrong { .. } => {
            let answer = stored_answer(state, &outcome);
            *verified = answer == status(sw::OK);
            answer
        }
    }
}

/// The answer to a compared code, once the counter (and a new PIN) is stored: a counter that
/// cannot be stored is not trusted, and the card refuses with `6F00`.
fn stored_answer(state: &CardState, outcome: &PinOutcome) -> Vec<u8> {
    if state.save().is_err() {
        return status(sw::NO_PRECISE_DIAGNOSIS);
    }
    match outcome {
        PinOutcome::Wrong { tries_left } => status(0x63C0 | u16::from(*tries_left)),
        _ => status(sw::OK),
    }
}

/// A PIN block of CHANGE REFERENCE DATA and RESET RETRY COUNTER: 16 bytes, the PIN padded with
/// `FF` (docs/cards.md). The PIN inside, if the block is well formed.
fn unpad(block: &[u8], (min_len, max_len): (usize, usize)) -> Option<&[u8]> {
    let end = block.iter().position(|b| *b == 0xFF).unwrap_or(block.len());
    let (pin, padding) = block.split_at(end);
    let printable = pin.iter().all(|b| b.is_ascii_graphic());
    let padded = padding.iter().all(|b| *b == 0xFF);
    ((min_len..=max_len).contains(&pin.len()) && printable && padded).then_some(pin)
}

/// The two 16-byte blocks of CHANGE REFERENCE DATA / RESET RETRY COUNTER: (the code that
/// authorises, the new PIN), or the status word to answer.
fn two_blocks(data: &[u8], length: (usize, usize)) -> Result<(&[u8], String), u16> {
    if data.len() != 32 {
        return Err(sw::WRONG_LENGTH);
    }
    let (first, second) = data.split_at(16);
    // The new PIN's form is checked before anything is compared, so a typo in it costs no try.
    let new = unpad(second, length).ok_or(sw::WRONG_DATA)?;
    let first = unpad(first, length).ok_or(sw::WRONG_DATA)?;
    Ok((first, String::from_utf8_lossy(new).into_owned()))
}

/// CHANGE REFERENCE DATA: the old PIN is compared as VERIFY compares it; when right, the new PIN
/// replaces it. Leaves the PIN not verified.
pub fn change_pin(
    state: &mut CardState,
    data: &[u8],
    length: (usize, usize),
    verified: &mut bool,
) -> Vec<u8> {
    *verified = false;
    let (old, new) = match two_blocks(data, length) {
        Ok(blocks) => blocks,
        Err(sw) => return status(sw),
    };
    let persisted = &mut state.data;
    let max = persisted.pin_max_tries;
    let outcome = check_pin(
        old,
        &persisted.pin,
        &mut persisted.pin_tries_left,
        max,
        length,
    );
    match outcome {
        PinOutcome::Blocked => return status(sw::BLOCKED),
        PinOutcome::BadLength => return status(sw::WRONG_DATA),
        PinOutcome::Verified => persisted.pin = new,
        PinOutcome::Wrong { .. } => {}
    }
    stored_answer(state, &outcome)
}

/// RESET RETRY COUNTER: the PUK, with its own counter, sets a new PIN and restores the PIN's
/// tries.
pub fn unblock_pin(
    state: &mut CardState,
    data: &[u8],
    length: (usize, usize),
    verified: &mut bool,
) -> Vec<u8> {
    *verified = false;
    let (puk, new) = match two_blocks(data, length) {
        Ok(blocks) => blocks,
        Err(sw) => return status(sw),
    };
    let persisted = &mut state.data;
    let outcome = check_pin(
        puk,
        &persisted.puk,
        &mut persisted.puk_tries_left,
        testdata::MAX_PUK_TRIES,
        length,
    );
    match outcome {
        PinOutcome::Blocked => return status(sw::BLOCKED),
        PinOutcome::BadLength => return status(sw::WRONG_DATA),
        PinOutcome::Verified => {
            persisted.pin = new;
            persisted.pin_tries_left = persisted.pin_max_tries;
        }
        PinOutcome::Wrong { .. } => {}
    }
    stored_answer(state, &outcome)
}

/// The PIN rules of docs/cards.md: a blocked PIN is not compared, a length out of range does not
/// count, a wrong PIN costs a try, a right one restores them all.
#[derive(Debug, PartialEq, Eq)]
enum PinOutcome {
    Verified,
    Wrong { tries_left: u8 },
    Blocked,
    BadLength,
}

fn check_pin(
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

#[cfg(test)]
mod tests {
    use super::*;

    const LENGTH: (usize, usize) = (4, 8);

    #[test]
    fn a_wrong_pin_costs_a_try_and_a_right_one_restores_them() {
        let mut tries = 3;
        assert_eq!(
            check_pin(b"0000", "12345678", &mut tries, 3, LENGTH),
            PinOutcome::Wrong { tries_left: 2 }
        );
        assert_eq!(
            check_pin(b"12345678", "12345678", &mut tries, 3, LENGTH),
            PinOutcome::Verified
        );
        assert_eq!(tries, 3);
    }

    #[test]
    fn a_length_out_of_range_costs_nothing_and_a_blocked_pin_is_not_compared() {
        let mut tries = 1;
        for short_or_long in [&b"123"[..], b"123456789"] {
            assert_eq!(
                check_pin(short_or_long, "12345678", &mut tries, 3, LENGTH),
                PinOutcome::BadLength
            );
        }
        assert_eq!(tries, 1);
        assert_eq!(
            check_pin(b"1111", "12345678", &mut tries, 3, LENGTH),
            PinOutcome::Wrong { tries_left: 0 }
        );
        assert_eq!(
            check_pin(b"12345678", "12345678", &mut tries, 3, LENGTH),
            PinOutcome::Blocked
        );
        assert_eq!(tries, 0);
    }

    fn block(pin: &[u8]) -> Vec<u8> {
        let mut b = pin.to_vec();
        b.resize(16, 0xFF);
        b
    }

    #[test]
    fn pin_blocks_are_16_bytes_padded_with_ff() {
        assert_eq!(unpad(&block(b"12345678"), (4, 16)), Some(&b"12345678"[..]));
        assert_eq!(
            unpad(&block(b"1234567890123456"), (4, 16)).map(<[u8]>::len),
            Some(16)
        );
        // Too short, not printable, or data after the padding: not a PIN.
        assert_eq!(unpad(&block(b"123"), (4, 16)), None);
        assert_eq!(unpad(&block(b"12\x0034"), (4, 16)), None);
        let mut gap = block(b"1234");
        gap[10] = b'9';
        assert_eq!(unpad(&gap, (4, 16)), None);
    }

    #[test]
    fn the_new_pin_is_checked_before_anything_is_compared() {
        let mut data = block(b"12345678");
        data.extend(block(b"12"));
        assert_eq!(two_blocks(&data, (4, 16)), Err(sw::WRONG_DATA));
        assert_eq!(two_blocks(&data[..31], (4, 16)), Err(sw::WRONG_LENGTH));
        let mut good = block(b"12345678");
        good.extend(block(b"87654321"));
        assert_eq!(
            two_blocks(&good, (4, 16)),
            Ok((&b"12345678"[..], "87654321".to_owned()))
        );
    }
}
