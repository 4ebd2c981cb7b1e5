//! The PIN: zeroed when dropped, never printed, never serialised.

use zeroize::Zeroizing;

/// A card PIN. It has no `Display`, its `Debug` prints `Pin(***)`, it does not implement
/// `Serialize`, and its bytes are wiped when it is dropped.
pub struct Pin(Zeroizing<Vec<u8>>);

/// Why a PIN was refused before it reached the card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinFormatError {
    #[error("the PIN must be {min} to {max} characters long")]
    Length { min: usize, max: usize },
    #[error("the PIN may contain only printable ASCII characters")]
    Characters,
}

impl Pin {
    /// Takes a PIN typed by the user. The `String` is consumed and wiped. Only printable ASCII is
    /// accepted: a PIN typed on another keyboard layout would never match and burn a try.
    pub fn new(text: String) -> Result<Self, PinFormatError> {
        let text = Zeroizing::new(text);
        let trimmed = text.trim_end_matches(['\r', '\n']);
        if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PinFormatError::Characters);
        }
        Ok(Self(Zeroizing::new(trimmed.as_bytes().to_vec())))
    }

    /// Checks the length the card's profile allows, before anything is sent.
    pub fn check_length(&self, min: usize, max: usize) -> Result<(), PinFormatError> {
        if (min..=max).contains(&self.0.len()) {
            Ok(())
        } else {
            Err(PinFormatError::Length { min, max })
        }
    }

    /// The bytes, for building a VERIFY command inside a zeroed buffer.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(***)")
    }
}

/// What the card says of its PIN before it is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PinStatus {
    pub tries_left: u8,
    pub max_tries: u8,
}

impl PinStatus {
    pub fn is_blocked(&self) -> bool {
        self.tries_left == 0
    }

    /// The next wrong PIN will block the card: the user is warned and asked to confirm.
    pub fn is_last_try(&self) -> bool {
        self.tries_left == 1
    }
}

/// Whether the user agreed to spend the PIN's last try, passed down to the signing operation. The
/// driver reads the try counter in the same card transaction as its VERIFY and, when one try is
/// left, sends the PIN only with this consent: the counter read with the certificates, seconds
/// earlier, may be stale (another program can use a try in between), and asking no consent before
/// the try that blocks the card is what this prevents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastTry {
    /// The user was told that a wrong PIN blocks the card, and went on.
    Confirmed,
    /// No consent: with one try left the PIN is not sent.
    NotConfirmed,
}

impl LastTry {
    /// From a caller's `last_try_confirmed` flag.
    pub fn from_confirmed(confirmed: bool) -> Self {
        if confirmed {
            Self::Confirmed
        } else {
            Self::NotConfirmed
        }
    }
}

/// How near a PIN is to blocking, as a token that keeps its try counter to itself tells it.
/// PKCS#11 gives flags (`CKF_USER_PIN_COUNT_LOW`, `CKF_USER_PIN_FINAL_TRY`,
/// `CKF_USER_PIN_LOCKED`, and the same for the SO PIN), never a count, and the standard lets a
/// token leave the first two clear whatever happened. So [`PinCondition::NoWarning`] means "the
/// token warns of nothing", not "every try is left", and no number is ever made up from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinCondition {
    /// No flag set.
    NoWarning,
    /// A wrong PIN was entered since the last right one (`*_PIN_COUNT_LOW`); how many tries
    /// remain is not said.
    CountLow,
    /// The next wrong PIN blocks it (`*_PIN_FINAL_TRY`).
    FinalTry,
    /// Blocked (`*_PIN_LOCKED`).
    Locked,
}

impl PinCondition {
    /// From the three flags; the most serious one set wins.
    pub fn from_flags(count_low: bool, final_try: bool, locked: bool) -> Self {
        if locked {
            Self::Locked
        } else if final_try {
            Self::FinalTry
        } else if count_low {
            Self::CountLow
        } else {
            Self::NoWarning
        }
    }

    pub fn is_blocked(self) -> bool {
        self == Self::Locked
    }

    /// The next wrong PIN blocks it: the user is warned and asked to confirm, as with
    /// [`PinStatus::is_last_try`].
    pub fn is_last_try(self) -> bool {
        self == Self::FinalTry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_pin() {
        let pin = Pin::new("12345678".into()).expect("pin");
        assert_eq!(format!("{pin:?}"), "Pin(***)");
        assert_eq!(pin.expose(), b"12345678");
    }

    #[test]
    fn newline_from_a_prompt_is_dropped_and_other_characters_refused() {
        assert_eq!(Pin::new("1234\n".into()).expect("pin").expose(), b"1234");
        assert_eq!(
            Pin::new("12 34".into()).unwrap_err(),
            PinFormatError::Characters
        );
        assert_eq!(
            Pin::new("12З4".into()).unwrap_err(),
            PinFormatError::Characters
        );
    }

    #[test]
    fn length_is_checked_against_the_profile() {
        let pin = Pin::new("123".into()).expect("pin");
        assert_eq!(
            pin.check_length(4, 16),
            Err(PinFormatError::Length { min: 4, max: 16 })
        );
        assert!(Pin::new("1234".into())
            .expect("pin")
            .check_length(4, 16)
            .is_ok());
    }

    #[test]
    fn condition_takes_the_most_serious_flag() {
        assert_eq!(
            PinCondition::from_flags(false, false, false),
            PinCondition::NoWarning
        );
        assert_eq!(
            PinCondition::from_flags(true, false, false),
            PinCondition::CountLow
        );
        assert_eq!(
            PinCondition::from_flags(true, true, false),
            PinCondition::FinalTry
        );
        assert_eq!(
            PinCondition::from_flags(true, true, true),
            PinCondition::Locked
        );
        assert!(PinCondition::FinalTry.is_last_try());
        assert!(!PinCondition::CountLow.is_last_try());
        assert!(PinCondition::Locked.is_blocked());
    }

    #[test]
    fn status_tells_blocked_and_last_try() {
        assert!(PinStatus {
            tries_left: 0,
            max_tries: 3
        }
        .is_blocked());
        assert!(PinStatus {
            tries_left: 1,
            max_tries: 3
        }
        .is_last_try());
        assert!(!PinStatus {
            tries_left: 2,
            max_tries: 3
        }
        .is_last_try());
    }
}
