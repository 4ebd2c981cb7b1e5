//! Errors cross to the UI as `{code, message, kept}`: the message from the one table of user
//! words (`client::messages`) in the language of the settings, and `kept` true when the signed
//! request waits in the outbox to be sent again (the UI says so instead of guessing it from the
//! code). Nothing secret is ever in one.

use client::flow::FlowError;
use client::messages::{self, describe, Language};
use client::portal::PortalError;
use client::session::SessionError;
use serde::Serialize;
use signing::TokenError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UiError {
    pub code: String,
    pub message: String,
    pub kept: bool,
}

impl UiError {
    pub fn new(code: &str, language: Language) -> Self {
        Self {
            code: code.to_owned(),
            message: describe(code, language),
            kept: false,
        }
    }

    pub fn flow(e: &FlowError, language: Language) -> Self {
        Self {
            code: e.code(),
            message: messages::error(e, language),
            kept: e.is_kept(),
        }
    }

    pub fn portal(e: &PortalError, language: Language) -> Self {
        Self::new(e.code(), language)
    }

    pub fn card(e: &TokenError, language: Language) -> Self {
        Self::flow(&FlowError::Card(e.clone()), language)
    }

    pub fn session(e: &SessionError, language: Language) -> Self {
        match e {
            SessionError::NotLoggedIn(_) => Self::new("not-logged-in", language),
            _ => Self::new("keyring", language),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use client::portal::PortalError;

    #[test]
    fn errors_serialise_as_code_message_and_kept() {
        let e = UiError::flow(
            &FlowError::Card(TokenError::PinIncorrect { tries_left: 2 }),
            Language::English,
        );
        let json = serde_json::to_value(&e).expect("json");
        assert_eq!(json["code"], "pin-incorrect");
        assert_eq!(json["message"], "Wrong PIN. Tries left: 2.");
        assert_eq!(json["kept"], false);
        assert_eq!(json.as_object().map(|o| o.len()), Some(3));
    }

    #[test]
    fn a_request_kept_in_the_outbox_says_so() {
        let e = UiError::flow(
            &FlowError::Kept {
                id: "x".into(),
                cause: PortalError::Refused {
                    status: 429,
                    code: "rate-limited".into(),
                    message: String::new(),
                },
            },
            Language::English,
        );
        assert!(e.kept);
        assert_eq!(e.code, "rate-limited");
    }

    #[test]
    fn russian_is_the_default_language_of_errors() {
        let e = UiError::new("card-removed", Language::default());
        assert!(e.message.contains("Носитель извлечён"));
    }
}
