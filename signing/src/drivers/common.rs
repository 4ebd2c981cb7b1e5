//! What the card families of docs/cards.md share: the commands of its common rules, each a pure
//! function tested with the document's bytes, and the exchanges every driver makes the same way
//! (SELECT of the application, VERIFY, a command that must answer `9000`, the signature's size).
//! A command only one family sends stays in that family's file.

use super::{KeyAlgorithm, TokenError};
use crate::card::{exchange, Command, Response, Status, Transport};
use crate::pin::{LastTry, Pin, PinStatus};

/// Files read from a card are never larger than this: a certificate is a few KiB.
pub const MAX_FILE_SIZE: usize = 8 * 1024;

/// SELECT of an application by its AID, without FCI: `00 A4 04 0C Lc AID`.
pub fn select_application(aid: &[u8]) -> Command {
    Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(aid.to_vec())
}

/// READ BINARY of the current EF at `offset` (15 bits: P1 b8 would mean a short file identifier).
pub fn read_binary(offset: u16, le: usize) -> Command {
    let [p1, p2] = offset.to_be_bytes();
    Command::new(0x00, 0xB0, p1 & 0x7F, p2).with_le(le)
}

/// MSE SET for a digital signature: `00 22 41 B6 06 80 01 aa 84 01 kk`, `aa` being the
/// algorithm reference ([`KeyAlgorithm::reference`]).
pub fn mse_set(algorithm_reference: u8, key: u8) -> Command {
    Command::new(0x00, 0x22, 0x41, 0xB6).with_data(vec![
        0x80,
        0x01,
        algorithm_reference,
        0x84,
        0x01,
        key,
    ])
}

/// PSO: COMPUTE DIGITAL SIGNATURE over a hash computed off the card: `00 2A 9E 9A Lc hash 00`.
pub fn pso_cds(hash: &[u8]) -> Command {
    Command::new(0x00, 0x2A, 0x9E, 0x9A)
        .with_data(hash.to_vec())
        .with_le(256)
}

/// Sends a command and returns its data when the card said `9000`, or the typed error for the
/// operation `op` otherwise.
pub(crate) fn run(
    t: &mut dyn Transport,
    op: &'static str,
    command: &Command,
) -> Result<Vec<u8>, TokenError> {
    let response = exchange(t, command)?;
    if response.sw.status() == Status::Success {
        Ok(response.data)
    } else {
        Err(TokenError::Status {
            op,
            sw: response.sw,
        })
    }
}

/// Sends VERIFY (`00 20 00 ref Lc PIN`), maps its status words, and keeps the PIN out of every
/// error. Not a [`Command`]: the APDU is built in a buffer that is zeroed when dropped, so that no
/// copy of the PIN outlives the exchange.
///
/// `counter` is the try counter the driver read in this same transaction, just before: VERIFY is
/// not sent to a blocked PIN, nor on the last try without the caller's consent. Its `max_tries` is
/// the profile's maximum: a `63Cx` counting more tries than that is a malformed answer, never
/// "15 tries left" shown to the user.
pub(crate) fn verify(
    t: &mut dyn Transport,
    pin_reference: u8,
    (min, max): (usize, usize),
    counter: PinStatus,
    last_try: LastTry,
    pin: &Pin,
) -> Result<(), TokenError> {
    if counter.is_blocked() {
        return Err(TokenError::PinBlocked);
    }
    if counter.is_last_try() && last_try != LastTry::Confirmed {
        return Err(TokenError::LastTryNotConfirmed);
    }
    let max_tries = counter.max_tries;
    pin.check_length(min, max)?;
    // A PIN is at most 16 bytes, so the short form always fits.
    let mut apdu = zeroize::Zeroizing::new(Vec::with_capacity(5 + max));
    apdu.extend_from_slice(&[0x00, 0x20, 0x00, pin_reference, pin.expose().len() as u8]);
    apdu.extend_from_slice(pin.expose());
    let raw = t.transmit(&apdu);
    let response = Response::parse(&raw?)?;
    match response.sw.status() {
        Status::Success => Ok(()),
        Status::VerifyFailed { tries_left: 0 } | Status::AuthBlocked => Err(TokenError::PinBlocked),
        Status::VerifyFailed { tries_left } if tries_left > max_tries => {
            Err(TokenError::Malformed(format!(
                "VERIFY answered {}: more tries left than the PIN's maximum of {max_tries}",
                response.sw
            )))
        }
        Status::VerifyFailed { tries_left } => Err(TokenError::PinIncorrect { tries_left }),
        Status::WrongLength => Err(TokenError::PinLengthRefused),
        _ => Err(TokenError::Status {
            op: "VERIFY",
            sw: response.sw,
        }),
    }
}

/// Which code authorises a PIN change or unblock, for the words of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Authorising {
    /// The old PIN (CHANGE REFERENCE DATA).
    Pin,
    /// The PUK (RESET RETRY COUNTER).
    Puk,
}

/// CHANGE REFERENCE DATA (`24`) or RESET RETRY COUNTER (`2C`) of PIN `pin_reference`: the
/// authorising code and the new PIN, each padded to 16 bytes with `FF` (docs/cards.md), in a
/// zeroed buffer. `counter` is the authorising code's counter read in this same transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) fn change_reference_data(
    t: &mut dyn Transport,
    ins: u8,
    pin_reference: u8,
    (min, max): (usize, usize),
    counter: PinStatus,
    last_try: LastTry,
    authorising: (&Pin, Authorising),
    new: &Pin,
) -> Result<(), TokenError> {
    let (code, which) = authorising;
    let blocked = match which {
        Authorising::Pin => TokenError::PinBlocked,
        Authorising::Puk => TokenError::PukBlocked,
    };
    if counter.is_blocked() {
        return Err(blocked);
    }
    if counter.is_last_try() && last_try != LastTry::Confirmed {
        return Err(TokenError::LastTryNotConfirmed);
    }
    code.check_length(min, max)?;
    new.check_length(min, max)?;
    let mut apdu = zeroize::Zeroizing::new(Vec::with_capacity(5 + 32));
    apdu.extend_from_slice(&[0x00, ins, 0x00, pin_reference, 32]);
    for secret in [code, new] {
        let mut block = [0xFFu8; 16];
        block[..secret.expose().len()].copy_from_slice(secret.expose());
        apdu.extend_from_slice(&block);
        zeroize::Zeroize::zeroize(&mut block);
    }
    let raw = t.transmit(&apdu);
    let response = Response::parse(&raw?)?;
    let max_tries = counter.max_tries;
    match response.sw.status() {
        Status::Success => Ok(()),
        Status::VerifyFailed { tries_left: 0 } | Status::AuthBlocked => Err(blocked),
        Status::VerifyFailed { tries_left } if tries_left > max_tries => {
            Err(TokenError::Malformed(format!(
                "the card answered {}: more tries left than the maximum of {max_tries}",
                response.sw
            )))
        }
        Status::VerifyFailed { tries_left } => Err(match which {
            Authorising::Pin => TokenError::PinIncorrect { tries_left },
            Authorising::Puk => TokenError::PukIncorrect { tries_left },
        }),
        Status::WrongData => Err(TokenError::NewPinRefused),
        Status::InsNotSupported => Err(TokenError::PinManagementNotSupported),
        _ => Err(TokenError::Status {
            op: if ins == 0x24 {
                "CHANGE REFERENCE DATA"
            } else {
                "RESET RETRY COUNTER"
            },
            sw: response.sw,
        }),
    }
}

/// Selects the application `aid`; a card without it says so with `6A82`.
pub(crate) fn select(t: &mut dyn Transport, aid: &[u8]) -> Result<(), TokenError> {
    let response = exchange(t, &select_application(aid))?;
    match response.sw.status() {
        Status::Success => Ok(()),
        Status::NotFound => Err(TokenError::ApplicationMissing),
        _ => Err(TokenError::Status {
            op: "SELECT application",
            sw: response.sw,
        }),
    }
}

/// MSE SET then PSO: COMPUTE DIGITAL SIGNATURE, after a successful VERIFY. A key the card does
/// not have (`6A88` to MSE) is [`TokenError::KeyMissing`]; a signature of the wrong size for the
/// algorithm is malformed. An algorithm the card profiles do not have (no reference byte) is
/// refused before anything is sent.
pub(crate) fn sign_hash(
    t: &mut dyn Transport,
    algorithm: KeyAlgorithm,
    key: u8,
    hash: &[u8],
) -> Result<Vec<u8>, TokenError> {
    let reference = algorithm
        .reference()
        .ok_or(TokenError::AlgorithmUnsupported { algorithm })?;
    let response = exchange(t, &mse_set(reference, key))?;
    match response.sw.status() {
        Status::Success => {}
        Status::ReferencedDataNotFound => return Err(TokenError::KeyMissing(key)),
        _ => {
            return Err(TokenError::Status {
                op: "MSE SET",
                sw: response.sw,
            })
        }
    }
    // A card that answers like T=0 gives the signature through GET RESPONSE (61 xx):
    // exchange() follows it.
    let signature = run(t, "PSO: COMPUTE DIGITAL SIGNATURE", &pso_cds(hash))?;
    if signature.len() == algorithm.signature_len() {
        Ok(signature)
    } else {
        Err(TokenError::Malformed(format!(
            "signature of {} bytes, expected {}",
            signature.len(),
            algorithm.signature_len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn commands_are_the_bytes_of_docs_cards_md() {
        // SELECT application, GOST token and UEC.
        assert_eq!(
            select_application(&hex!("F0504F44504953475401")).to_bytes(),
            hex!("00A4040C0AF0504F44504953475401")
        );
        assert_eq!(
            select_application(&hex!("F0554543494401")).to_bytes(),
            hex!("00A4040C07F0554543494401")
        );
        // READ BINARY: offset in P1 P2 (P1 b8 clear), short Le 00 for 256.
        assert_eq!(read_binary(0x0102, 256).to_bytes(), hex!("00B0010200"));
        assert_eq!(read_binary(0x8100, 256).to_bytes(), hex!("00B0010000"));
        assert_eq!(read_binary(0, 0x11).to_bytes(), hex!("00B0000011"));
        // MSE SET: the token's 256-bit key 01 and the UEC's 2001 key 01.
        assert_eq!(mse_set(0x01, 1).to_bytes(), hex!("002241B606800101840101"));
        assert_eq!(mse_set(0x03, 1).to_bytes(), hex!("002241B606800103840101"));
        // PSO: COMPUTE DIGITAL SIGNATURE with a 32-byte hash and Le 00.
        let mut pso = hex!("002A9E9A20").to_vec();
        pso.extend_from_slice(&[0xAA; 32]);
        pso.push(0x00);
        assert_eq!(pso_cds(&[0xAA; 32]).to_bytes(), pso);
    }
}
