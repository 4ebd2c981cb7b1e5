//! Changing the PIN and unblocking it with the PUK, as `podpis pin change|unblock` does: the card
//! work is `client::pin`'s. The UI first reads the counter that authorises the action
//! (`pin_target`), so the person sees the tries left, and the warning before the last one, before
//! typing anything; then it sends the three codes once (`pin_apply`).

use client::flow::CardChoice;
use client::pin::{self, PinAction, PinTarget};
use client::tokens::Pkcs11Tier;
use client::Language;
use serde::{Deserialize, Serialize};
use signing::token::Reader;
use signing::{Pin, TokenError};
use tauri::State;

use crate::error::UiError;
use crate::state::AppState;

/// How long one card operation may take before the person hears that the card does not answer.
const CARD_DEADLINE: std::time::Duration = Reader::DEFAULT_DEADLINE;

/// [`PinAction`] as the UI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinActionView {
    Change,
    Unblock,
}

impl From<PinActionView> for PinAction {
    fn from(action: PinActionView) -> Self {
        match action {
            PinActionView::Change => PinAction::Change,
            PinActionView::Unblock => PinAction::Unblock,
        }
    }
}

/// The counter of the code that authorises the action: the PIN's for a change, the PUK's for an
/// unblock.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PinTargetView {
    reader: String,
    action: PinActionView,
    /// Null for a PKCS#11 token, which says no count.
    tries_left: Option<u8>,
    max_tries: Option<u8>,
    /// The next wrong code blocks it: the UI warns and asks for explicit consent.
    last_try: bool,
}

impl PinTargetView {
    fn new(target: &PinTarget, action: PinActionView) -> Self {
        Self {
            reader: target.holder.place().to_owned(),
            action,
            tries_left: target.authorising.tries_left(),
            max_tries: target.authorising.max_tries(),
            last_try: target.authorising.is_last_try(),
        }
    }
}

fn choice(reader: String) -> CardChoice {
    CardChoice {
        reader: Some(reader),
        certificate: None,
    }
}

/// Reads the authorising counter of the card in `reader` (or of the PKCS#11 token with that
/// label: the tier is waited for when a load is under way), touching no try.
#[tauri::command]
pub async fn pin_target(
    state: State<'_, AppState>,
    reader: String,
    action: PinActionView,
) -> Result<PinTargetView, UiError> {
    let language = state.language();
    let tier = state.pkcs11.tier().await;
    tauri::async_runtime::spawn_blocking(move || {
        pin::target(&choice(reader), action.into(), CARD_DEADLINE, &tier)
            .map(|target| PinTargetView::new(&target, action))
    })
    .await
    .map_err(|_| UiError::new("card-error", language))?
    .map_err(|e| UiError::flow(&e, language))
}

/// Changes the PIN (`code` is the current PIN) or unblocks it (`code` is the PUK). The codes go
/// straight into zeroed `Pin`s and are sent to the card once, never retried.
#[tauri::command]
#[allow(clippy::too_many_arguments)] // the webview's arguments, each named
pub async fn pin_apply(
    state: State<'_, AppState>,
    reader: String,
    action: PinActionView,
    code: String,
    new_pin: String,
    new_pin_again: String,
    last_try_confirmed: bool,
) -> Result<(), UiError> {
    let language = state.language();
    let request = Request {
        reader,
        action: action.into(),
        last_try_confirmed,
        deadline: CARD_DEADLINE,
        tier: state.pkcs11.tier().await,
    };
    tauri::async_runtime::spawn_blocking(move || {
        request.run(code, new_pin, new_pin_again, language)
    })
    .await
    .map_err(|_| UiError::new("card-error", language))?
}

/// What the person asked for, apart from the codes.
struct Request {
    reader: String,
    action: PinAction,
    last_try_confirmed: bool,
    deadline: std::time::Duration,
    tier: Pkcs11Tier,
}

impl Request {
    /// The codes are checked first: a repetition that differs from the new PIN, or a code no card
    /// takes, stops here before any card command. Then the authorising counter is read again
    /// (the one the person saw may be stale: another program can spend a try meanwhile) and the
    /// action is done once. Blocks on the card.
    fn run(
        &self,
        code: String,
        new: String,
        again: String,
        language: Language,
    ) -> Result<(), UiError> {
        let codes = Codes::take(code, new, again).map_err(|e| e.to_ui(language))?;
        let done = pin::target(
            &choice(self.reader.clone()),
            self.action,
            self.deadline,
            &self.tier,
        )
        .and_then(|target| {
            pin::apply(
                &target,
                codes.code,
                codes.new,
                self.last_try_confirmed,
                self.deadline,
                &self.tier,
            )
        });
        done.map_err(|e| UiError::flow(&e, language))
    }
}

/// The authorising code and the new PIN, checked as far as they can be without the card.
struct Codes {
    code: Pin,
    new: Pin,
}

/// Why the codes were refused before anything reached the card.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum CodesError {
    #[error("the new PIN and its repetition differ")]
    Mismatch,
    #[error(transparent)]
    Format(#[from] signing::pin::PinFormatError),
}

impl CodesError {
    fn to_ui(&self, language: Language) -> UiError {
        match self {
            Self::Mismatch => UiError::new("pin-mismatch", language),
            Self::Format(e) => UiError::card(&TokenError::PinFormat(e.clone()), language),
        }
    }
}

impl Codes {
    /// Each `String` is consumed and wiped by `Pin::new`, whichever of them is refused.
    fn take(code: String, new: String, again: String) -> Result<Self, CodesError> {
        let code = Pin::new(code);
        let new = Pin::new(new);
        let again = Pin::new(again);
        let (code, new, again) = (code?, new?, again?);
        if new.expose() != again.expose() {
            return Err(CodesError::Mismatch);
        }
        Ok(Self { code, new })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signing::PinStatus;

    fn codes(code: &str, new: &str, again: &str) -> Result<Codes, CodesError> {
        Codes::take(code.into(), new.into(), again.into())
    }

    #[test]
    fn a_repetition_that_differs_is_refused_with_the_words_for_it() {
        let refused = codes("12345678", "87654321", "87654320").err();
        assert_eq!(refused, Some(CodesError::Mismatch));
        let ui = CodesError::Mismatch.to_ui(Language::English);
        assert_eq!(ui.code, "pin-mismatch");
        assert_eq!(
            ui.message,
            client::messages::describe("pin-mismatch", Language::English)
        );
        assert!(!ui.kept);
    }

    #[test]
    fn a_code_with_characters_no_card_takes_is_a_format_error() {
        for (code, new, again) in [
            ("1234 5678", "87654321", "87654321"),
            ("12345678", "8765432Ё", "8765432Ё"),
        ] {
            let refused = codes(code, new, again).err().expect("refused");
            assert!(matches!(refused, CodesError::Format(_)), "{refused:?}");
            assert_eq!(refused.to_ui(Language::English).code, "pin-format");
        }
        assert!(codes("12345678", "87654321", "87654321").is_ok());
    }

    #[test]
    fn the_error_words_never_carry_a_code() {
        let ui = CodesError::Mismatch.to_ui(Language::Russian);
        let json = serde_json::to_string(&ui).expect("json");
        for secret in ["12345678", "87654321", "87654320"] {
            assert!(!json.contains(secret), "{json}");
        }
    }

    /// A mismatch stops before the card: had the card been asked first, a reader that does not
    /// exist would have answered with a card error.
    #[test]
    fn a_mismatch_sends_no_card_command() {
        let request = Request {
            reader: "No such reader 00 00".into(),
            action: PinAction::Change,
            last_try_confirmed: true,
            deadline: std::time::Duration::from_secs(2),
            tier: Pkcs11Tier::default(),
        };
        let refused = request
            .run(
                "12345678".into(),
                "87654321".into(),
                "8765432".into(),
                Language::English,
            )
            .expect_err("mismatch");
        assert_eq!(refused.code, "pin-mismatch");
        let format = request
            .run(
                "1234 5678".into(),
                "87654321".into(),
                "87654321".into(),
                Language::English,
            )
            .expect_err("format");
        assert_eq!(format.code, "pin-format");
        // The same request with codes that agree does reach for the card.
        let reached = request
            .run(
                "12345678".into(),
                "87654321".into(),
                "87654321".into(),
                Language::English,
            )
            .expect_err("no such reader");
        assert!(
            !["pin-mismatch", "pin-format"].contains(&reached.code.as_str()),
            "{reached:?}"
        );
    }

    #[test]
    fn the_target_says_the_tries_and_the_last_one() {
        let target = PinTarget {
            holder: client::pin::PinHolder::Card {
                reader: "Reader 1".into(),
            },
            action: PinAction::Unblock,
            authorising: PinStatus {
                tries_left: 1,
                max_tries: 10,
            }
            .into(),
        };
        let json = serde_json::to_value(PinTargetView::new(&target, PinActionView::Unblock))
            .expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "reader": "Reader 1", "action": "unblock",
                "tries_left": 1, "max_tries": 10, "last_try": true,
            })
        );
    }

    #[test]
    fn the_ui_names_the_actions_as_the_cli_does() {
        let change: PinActionView = serde_json::from_str("\"change\"").expect("change");
        let unblock: PinActionView = serde_json::from_str("\"unblock\"").expect("unblock");
        assert_eq!(PinAction::from(change), PinAction::Change);
        assert_eq!(PinAction::from(unblock), PinAction::Unblock);
        assert!(serde_json::from_str::<PinActionView>("\"reset\"").is_err());
    }
}
