//! What the app keeps while it runs, and its settings file.

use std::path::PathBuf;
use std::sync::Arc;

use client::messages::Language;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// "ru" (default) or "en".
    pub language: String,
    /// The portal address; none means the sandbox.
    pub portal: Option<String>,
    /// An extra trusted CA certificate for the portal's HTTPS.
    pub extra_ca: Option<String>,
    /// The test PKI the sandbox portal trusts (the virtual card's `--pki`).
    pub sandbox_pki: Option<String>,
    /// The PKCS#11 modules the person added (each confirmed in a native dialog), used beside the
    /// ones the system registers.
    #[serde(default)]
    pub pkcs11_modules: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            language: "ru".into(),
            portal: None,
            extra_ca: None,
            sandbox_pki: None,
            pkcs11_modules: Vec::new(),
        }
    }
}

impl Settings {
    pub fn language(&self) -> Language {
        self.language.parse().unwrap_or_default()
    }
}

pub struct AppState {
    pub data_dir: PathBuf,
    pub settings: std::sync::Mutex<Settings>,
    pub sandbox: tokio::sync::Mutex<Option<portal::Running>>,
    /// The confirmation waiting for its PIN.
    pub pending: tokio::sync::Mutex<Option<(client::flow::Confirmation, client::flow::Prepared)>>,
    /// Held while a dialog choosing what the app trusts is open (commands::trust).
    pub trust_dialog: std::sync::Mutex<()>,
    /// The PKCS#11 modules whose tokens the app uses beside the cards: loaded in the background
    /// when first used ([`Self::defer_pkcs11`]), again when the list changes
    /// ([`Self::reload_pkcs11`]).
    pub pkcs11: Arc<crate::modules::Pkcs11Holder>,
    /// The browser's question before the person (crate::consent).
    pub consent: Arc<crate::consent::Desk>,
}

impl AppState {
    pub fn load(data_dir: PathBuf) -> Self {
        let settings = std::fs::read(data_dir.join("settings.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let pkcs11 = crate::modules::Pkcs11Holder::for_app(
            &data_dir,
            signing::token::Reader::DEFAULT_DEADLINE,
        );
        Self {
            data_dir,
            settings: std::sync::Mutex::new(settings),
            sandbox: tokio::sync::Mutex::new(None),
            pending: tokio::sync::Mutex::new(None),
            trust_dialog: std::sync::Mutex::new(()),
            pkcs11: Arc::new(pkcs11),
            consent: Arc::new(crate::consent::Desk::default()),
        }
    }

    /// The same state with another PKCS#11 holder (tests script its loader).
    pub fn with_pkcs11(mut self, holder: crate::modules::Pkcs11Holder) -> Self {
        self.pkcs11 = Arc::new(holder);
        self
    }

    /// Loads the PKCS#11 tier again (in the background) with the person's modules. The list is
    /// read and handed over under the settings' lock, so two changes close together are loaded
    /// in the order they were saved.
    pub fn reload_pkcs11(&self) {
        let settings = match self.settings.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        self.pkcs11
            .request(settings.pkcs11_modules.iter().map(PathBuf::from).collect());
    }

    /// The PKCS#11 tier's first load, with the person's modules, made when something first uses
    /// the tier ([`crate::modules::Pkcs11Holder::defer`]).
    pub fn defer_pkcs11(&self) {
        let settings = match self.settings.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        self.pkcs11
            .defer(settings.pkcs11_modules.iter().map(PathBuf::from).collect());
    }

    pub fn settings(&self) -> Settings {
        match self.settings.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn language(&self) -> Language {
        self.settings().language()
    }

    pub fn save_settings(&self, settings: Settings) -> std::io::Result<()> {
        self.update_settings(|s| *s = settings).map(|_| ())
    }

    /// Changes the settings and writes them, holding the lock throughout: two changes at once
    /// (the language from the webview, a trusted root from its dialog) never undo each other.
    pub fn update_settings(&self, change: impl FnOnce(&mut Settings)) -> std::io::Result<Settings> {
        let mut current = match self.settings.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut next = current.clone();
        change(&mut next);
        std::fs::create_dir_all(&self.data_dir)?;
        let text = serde_json::to_vec_pretty(&next).map_err(std::io::Error::other)?;
        client::durable::write_atomically(&self.settings_path(), &text)?;
        *current = next.clone();
        Ok(next)
    }

    pub fn settings_path(&self) -> PathBuf {
        self.data_dir.join("settings.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_russian_and_the_sandbox_and_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = AppState::load(dir.path().to_path_buf());
        assert_eq!(state.settings(), Settings::default());
        assert_eq!(state.language(), Language::Russian);
        let chosen = Settings {
            language: "en".into(),
            portal: Some("https://portal.example".into()),
            extra_ca: None,
            sandbox_pki: None,
            pkcs11_modules: vec!["/usr/lib/librtpkcs11ecp.so".into()],
        };
        state.save_settings(chosen.clone()).expect("save");
        let again = AppState::load(dir.path().to_path_buf());
        assert_eq!(again.settings(), chosen);
        assert_eq!(again.language(), Language::English);
    }

    /// A settings file from before the PKCS#11 modules were a setting still reads.
    #[test]
    fn a_settings_file_without_modules_reads_with_none() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(
            dir.path().join("settings.json"),
            br#"{"language":"en","portal":null,"extra_ca":null,"sandbox_pki":null}"#,
        )
        .expect("write");
        let settings = AppState::load(dir.path().to_path_buf()).settings();
        assert_eq!(settings.language, "en");
        assert!(settings.pkcs11_modules.is_empty());
    }

    #[test]
    fn a_damaged_settings_file_gives_the_defaults() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("settings.json"), b"{not json").expect("write");
        assert_eq!(
            AppState::load(dir.path().to_path_buf()).settings(),
            Settings::default()
        );
    }
}
