//! The seam between drivers and cards: a [`Transport`] sends APDU bytes and returns response
//! bytes. PC/SC implements it for real cards, a scripted fake for driver tests.
//!
//! [`exchange`] is the one place that follows `61xx` (GET RESPONSE) and `6Cxx` (resend with the
//! right Le), bounded in rounds and bytes: a card that keeps saying "more" must not hold us.

use super::{CardError, Command, Response, Status};

/// At most this many extra exchanges per command (GET RESPONSE rounds and Le corrections).
pub const MAX_ROUNDS: usize = 32;
/// No response of ours is larger: a qualified certificate is a few KiB, a signature 128 bytes.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024;

pub trait Transport {
    /// Sends one command APDU, returns the raw response APDU (data and status bytes).
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError>;

    /// Whether the card accepts extended-length APDUs (from its ATR).
    fn supports_extended(&self) -> bool {
        false
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        (**self).transmit(apdu)
    }

    fn supports_extended(&self) -> bool {
        (**self).supports_extended()
    }
}

/// Sends `command` and returns the complete response, after any GET RESPONSE chain and Le
/// correction. The status word of the result is the card's last word.
pub fn exchange(transport: &mut dyn Transport, command: &Command) -> Result<Response, CardError> {
    if command.needs_extended() && !transport.supports_extended() {
        return Err(CardError::ExtendedLengthUnsupported);
    }
    let mut current = command.clone();
    let mut data = Vec::new();
    for _ in 0..=MAX_ROUNDS {
        let raw = transport.transmit(&current.to_bytes())?;
        let response = Response::parse(&raw)?;
        data.extend_from_slice(&response.data);
        if data.len() > MAX_RESPONSE_BYTES {
            return Err(CardError::ResponseTooLong {
                limit: MAX_RESPONSE_BYTES,
            });
        }
        match response.sw.status() {
            Status::MoreData(n) => {
                current = Command::new(command.cla, 0xC0, 0x00, 0x00).with_le(if n == 0 {
                    256
                } else {
                    usize::from(n)
                });
            }
            Status::WrongLe(n) => {
                // The card refused the Le and said which one it wants: resend the same command.
                current = current
                    .clone()
                    .with_le(if n == 0 { 256 } else { usize::from(n) });
            }
            _ => {
                return Ok(Response {
                    data,
                    sw: response.sw,
                })
            }
        }
    }
    Err(CardError::TooManyRounds { limit: MAX_ROUNDS })
}

#[cfg(test)]
pub mod scripted {
    //! A fake transport that plays an exact APDU script and fails on any surprise.

    use super::*;
    use std::collections::VecDeque;

    pub struct ScriptedTransport {
        steps: VecDeque<(Vec<u8>, Vec<u8>)>,
        extended: bool,
    }

    impl ScriptedTransport {
        /// Steps are (command hex, response hex); spaces in the hex are ignored.
        pub fn new(steps: &[(&str, &str)]) -> Self {
            let decode = |s: &str| {
                hex::decode(s.replace(' ', "")).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
            };
            Self {
                steps: steps.iter().map(|(c, r)| (decode(c), decode(r))).collect(),
                extended: false,
            }
        }

        pub fn extended(mut self) -> Self {
            self.extended = true;
            self
        }
    }

    impl Transport for ScriptedTransport {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
            let Some((expected, response)) = self.steps.pop_front() else {
                panic!(
                    "unexpected command after the script ended: {}",
                    hex::encode_upper(apdu)
                );
            };
            assert_eq!(
                hex::encode_upper(apdu),
                hex::encode_upper(&expected),
                "the driver sent a command the script did not expect"
            );
            Ok(response)
        }

        fn supports_extended(&self) -> bool {
            self.extended
        }
    }

    impl Drop for ScriptedTransport {
        fn drop(&mut self) {
            if !std::thread::panicking() && !self.steps.is_empty() {
                panic!(
                    "the driver skipped {} scripted step(s), next: {}",
                    self.steps.len(),
                    hex::encode_upper(&self.steps[0].0)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::scripted::ScriptedTransport;
    use super::*;

    struct Endless;
    impl Transport for Endless {
        fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, CardError> {
            Ok(vec![0x61, 0x00])
        }
    }

    struct Flood;
    impl Transport for Flood {
        fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, CardError> {
            let mut out = vec![0xAB; 4000];
            out.extend_from_slice(&[0x61, 0x00]);
            Ok(out)
        }
    }

    #[test]
    fn get_response_chain_is_followed_and_joined() {
        let mut t = ScriptedTransport::new(&[
            ("002A9E9A 02 0102 00", "6104"),
            ("00C0000004", "AABBCCDD 6102"),
            ("00C0000002", "EEFF 9000"),
        ]);
        let cmd = Command::new(0, 0x2A, 0x9E, 0x9A)
            .with_data([1, 2])
            .with_le(256);
        let r = exchange(&mut t, &cmd).expect("exchange");
        assert_eq!(r.data, hex::decode("AABBCCDDEEFF").expect("hex"));
        assert!(r.sw.is_success());
    }

    #[test]
    fn wrong_le_is_corrected_once_with_the_cards_number() {
        let mut t = ScriptedTransport::new(&[("00B0010000", "6C2A"), ("00B001002A", "0102 9000")]);
        let r = exchange(&mut t, &Command::new(0, 0xB0, 1, 0).with_le(256)).expect("exchange");
        assert_eq!(r.data, [1, 2]);
    }

    #[test]
    fn a_card_that_always_says_more_is_stopped_by_the_round_limit() {
        let err = exchange(&mut Endless, &Command::new(0, 0xB0, 0, 0).with_le(256)).unwrap_err();
        assert_eq!(err, CardError::TooManyRounds { limit: MAX_ROUNDS });
    }

    #[test]
    fn a_card_that_floods_is_stopped_by_the_byte_limit() {
        let err = exchange(&mut Flood, &Command::new(0, 0xB0, 0, 0).with_le(256)).unwrap_err();
        assert_eq!(
            err,
            CardError::ResponseTooLong {
                limit: MAX_RESPONSE_BYTES
            }
        );
    }

    #[test]
    fn a_cut_off_answer_is_an_error_even_when_transmit_succeeded() {
        let mut t = ScriptedTransport::new(&[("00A4040C", "90")]);
        let err = exchange(&mut t, &Command::new(0, 0xA4, 4, 0x0C)).unwrap_err();
        assert!(matches!(err, CardError::MalformedResponse(_)));
    }
}
