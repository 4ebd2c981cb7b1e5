//! Errors cross to the UI as `{code, message}`, the message from the one table of user words
//! (`client::messages`), in the language of the settings. Nothing secret is ever in one.

use client::flow::{card_code, FlowError};
use client::messages::{describe, Language};
use client::portal::PortalError;
use client::session::SessionError;
use serde::Serialize;
use signing::TokenError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UiError {
    pub code: String,
    pub message: String,
}

impl UiError {
    pub fn new(code: &str, language: Language) -> Self {
        Self {
            code: code.to_owned(),
            message: describe(code, language),
        }
    }

    pub fn flow(e: &FlowError, language: Language) -> Self {
        let mut error = Self::new(&e.code(), language);
        if let FlowError::Card(TokenError::PinIncorrect { tries_left }) = e {
            error.message = match language {
                Language::Russian => format!("{} Осталось попыток: {tries_left}.", error.message),
                Language::English => format!("{} Tries left: {tries_left}.", error.message),
            };
        }
        error
    }

    pub fn portal(e: &PortalError, language: Language) -> Self {
        Self::new(e.code(), language)
    }

    pub fn card(e: &TokenError, language: Language) -> Self {
        Self::new(card_code(e), language)
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

    #[test]
    fn errors_serialise_as_code_and_message() {
        let e = UiError::flow(
            &FlowError::Card(TokenError::PinIncorrect { tries_left: 2 }),
            Language::English,
        );
        let json = serde_json::to_value(&e).expect("json");
        assert_eq!(json["code"], "pin-incorrect");
        assert_eq!(json["message"], "Wrong PIN. Tries left: 2.");
        assert_eq!(json.as_object().map(|o| o.len()), Some(2));
    }

    #[test]
    fn russian_is_the_default_language_of_errors() {
        let e = UiError::new("card-removed", Language::default());
        assert!(e.message.contains("Носитель извлечён"));
    }
}
