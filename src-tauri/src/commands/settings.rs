use client::Language;
use serde::Deserialize;
use tauri::State;

use crate::error::UiError;
use crate::state::{AppState, Settings};

/// The settings that say what Podpis trusts: certificates, and the PKCS#11 modules whose code it
/// loads. The webview never sets them: they are chosen and confirmed in native dialogs
/// (commands::trust, commands::modules).
pub const TRUST_FIELDS: &[&str] = &["extra_ca", "sandbox_pki", "pkcs11_modules"];

/// What the webview may change: the language and the portal's address.
#[derive(Debug, Deserialize)]
pub struct SettingsChange {
    pub language: String,
    #[serde(default)]
    pub portal: Option<String>,
    /// Every other field the caller sent, so that a trust field is refused by name rather than
    /// dropped in silence.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[tauri::command]
pub fn settings_get(state: State<'_, AppState>) -> Settings {
    state.settings()
}

#[tauri::command]
pub fn settings_set(
    state: State<'_, AppState>,
    settings: SettingsChange,
) -> Result<Settings, UiError> {
    change_settings(&state, settings)
}

/// Applies a change from the webview. A trust field, even one naming what is already trusted,
/// is refused (`settings-trust`) and nothing is written.
pub fn change_settings(state: &AppState, change: SettingsChange) -> Result<Settings, UiError> {
    let language = if change.language == "en" {
        Language::English
    } else {
        Language::Russian
    };
    if change
        .other
        .keys()
        .any(|field| TRUST_FIELDS.contains(&field.as_str()))
    {
        return Err(UiError::new("settings-trust", language));
    }
    if !change.other.is_empty() {
        return Err(UiError::new("settings", language));
    }
    let portal = change.portal.filter(|a| !a.is_empty());
    if let Some(address) = portal.as_deref() {
        client::portal::PortalClient::new(address, None)
            .map_err(|e| UiError::portal(&e, language))?;
    }
    state
        .update_settings(|s| {
            s.language = language.code().to_owned();
            s.portal = portal;
        })
        .map_err(|_| UiError::new("settings", language))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(value: serde_json::Value) -> SettingsChange {
        serde_json::from_value(value).expect("a change as the webview sends it")
    }

    fn trusting(dir: &std::path::Path) -> AppState {
        let state = AppState::load(dir.to_path_buf());
        state
            .save_settings(Settings {
                extra_ca: Some("/kept/extra-ca.pem".into()),
                sandbox_pki: Some("/kept/pki".into()),
                pkcs11_modules: vec!["/kept/libvendor.so".into()],
                ..Settings::default()
            })
            .expect("save");
        state
    }

    #[test]
    fn a_trust_field_from_the_webview_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = trusting(dir.path());
        let before = std::fs::read(state.settings_path()).expect("settings file");
        for attempt in [
            json!({ "language": "en", "portal": null, "extra_ca": "/tmp/evil.pem" }),
            json!({ "language": "ru", "sandbox_pki": "/tmp/evil-pki" }),
            // Even clearing what is trusted, or naming what already is.
            json!({ "language": "ru", "extra_ca": null }),
            json!({ "language": "ru", "extra_ca": "/kept/extra-ca.pem", "sandbox_pki": "/kept/pki" }),
            // A module is code the app would load: a path from the page is refused, whether it
            // adds, replaces, clears or repeats the list.
            json!({ "language": "en", "pkcs11_modules": ["/tmp/evil.so"] }),
            json!({ "language": "en", "portal": null, "pkcs11_modules": ["/kept/libvendor.so", "/tmp/evil.so"] }),
            json!({ "language": "en", "pkcs11_modules": [] }),
            json!({ "language": "en", "pkcs11_modules": null }),
            json!({ "language": "en", "pkcs11_modules": ["/kept/libvendor.so"] }),
            json!({ "language": "en", "pkcs11_modules": "/tmp/evil.so" }),
        ] {
            let error = change_settings(&state, change(attempt.clone())).expect_err("refused");
            assert_eq!(error.code, "settings-trust", "{attempt}");
            assert_eq!(
                std::fs::read(state.settings_path()).expect("settings file"),
                before,
                "{attempt}"
            );
        }
        assert_eq!(
            state.settings().extra_ca.as_deref(),
            Some("/kept/extra-ca.pem")
        );
        assert_eq!(state.settings().pkcs11_modules, ["/kept/libvendor.so"]);
        // A field the app does not know is refused too, not dropped.
        let error = change_settings(&state, change(json!({ "language": "ru", "proxy": "x" })))
            .expect_err("unknown field");
        assert_eq!(error.code, "settings");
    }

    #[test]
    fn language_and_portal_change_and_trust_stays() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = trusting(dir.path());
        let saved = change_settings(
            &state,
            change(json!({ "language": "en", "portal": "https://portal.example" })),
        )
        .expect("saved");
        assert_eq!(saved.language, "en");
        assert_eq!(saved.portal.as_deref(), Some("https://portal.example"));
        assert_eq!(saved.extra_ca.as_deref(), Some("/kept/extra-ca.pem"));
        assert_eq!(saved.sandbox_pki.as_deref(), Some("/kept/pki"));
        assert_eq!(saved.pkcs11_modules, ["/kept/libvendor.so"]);
        assert_eq!(AppState::load(dir.path().to_path_buf()).settings(), saved);
        // An unknown language is Russian; an empty address is the sandbox.
        let saved = change_settings(&state, change(json!({ "language": "fr", "portal": "" })))
            .expect("saved");
        assert_eq!((saved.language.as_str(), saved.portal), ("ru", None));
    }

    #[test]
    fn an_insecure_portal_is_refused_with_the_tables_words() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = AppState::load(dir.path().to_path_buf());
        let error = change_settings(
            &state,
            change(json!({ "language": "en", "portal": "http://portal.example" })),
        )
        .expect_err("insecure");
        assert_eq!(error.code, "portal-address");
        assert_eq!(state.settings(), Settings::default());
    }
}
