//! The PKCS#11 modules the person adds: code the app will load into its own process. As with the
//! trusted certificates (commands::trust), a script in the webview can ask for a change to begin
//! and nothing more: the library comes from a native file dialog that Rust opens, it is probed in
//! a child process, and the path with what the probe found (the library's description and its
//! tokens, or its failure) is shown in a native dialog for the person to confirm. Only then is it
//! saved and loaded. Removing one is confirmed the same way. `settings_set` refuses the field
//! (`settings-trust`).

use std::path::Path;

use client::Language;
use serde::Serialize;
use signing::pkcs11::probe::{ProbeOutcome, ProbeReport};
use tauri::{AppHandle, Manager};

use crate::commands::trust::{confirmed, settings_error, with_native_dialogs, NativeDialogs};
use crate::error::UiError;
use crate::modules::{failure_of, Entry, Origin, TokenView};
use crate::state::AppState;
use crate::words::word;

/// The file dialog offers the platform's shared libraries.
#[cfg(target_os = "windows")]
const MODULE_EXTENSIONS: &[&str] = &["dll"];
#[cfg(target_os = "macos")]
const MODULE_EXTENSIONS: &[&str] = &["dylib", "so"];
#[cfg(not(any(target_os = "windows", target_os = "macos")))]
const MODULE_EXTENSIONS: &[&str] = &["so"];

/// One module in use and its state, as the settings screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleView {
    pub path: String,
    /// `added` (by the person, who may remove it), `system` (registered with p11-kit, or at a
    /// vendor's default path), `test` (the test variable of a debug build).
    pub origin: &'static str,
    /// For a system module: the p11-kit registration, or the vendor whose default path it is.
    pub found_by: Option<String>,
    /// `loading`, `loaded` or `failed`.
    pub state: &'static str,
    /// The tokens in its slots now, when loaded.
    pub tokens: Vec<TokenView>,
    /// Why it is not used (or its tokens could not be listed), in the messages table's words.
    pub error: Option<UiError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModulesView {
    /// A load is under way: the list may change (the app emits `pkcs11://changed` when it ends).
    pub loading: bool,
    /// Whether the system's modules are used too (off with `PODPIS_PKCS11_DISCOVERY=0`).
    pub discovery: bool,
    pub modules: Vec<ModuleView>,
}

fn entry_view(entry: &Entry, language: Language) -> ModuleView {
    let (origin, found_by) = match &entry.origin {
        Origin::Added => ("added", None),
        Origin::Test => ("test", None),
        Origin::System(source) => (
            "system",
            match source {
                signing::pkcs11::discovery::ModuleSource::P11Kit { config } => {
                    Some(config.display().to_string())
                }
                signing::pkcs11::discovery::ModuleSource::Vendor { vendor } => {
                    Some((*vendor).to_owned())
                }
                _ => None,
            },
        ),
    };
    let listed = entry.outcome.clone().and_then(|module| {
        if module.is_unusable() {
            Err(signing::pkcs11::Pkcs11Error::ModuleUnusable {
                module: entry.path.clone(),
            }
            .into())
        } else {
            module.tokens()
        }
    });
    let (state, tokens, error) = match listed {
        Ok(tokens) => ("loaded", tokens.iter().map(TokenView::new).collect(), None),
        Err(e) => ("failed", Vec::new(), Some(UiError::card(&e, language))),
    };
    ModuleView {
        path: entry.path.display().to_string(),
        origin,
        found_by,
        state,
        tokens,
        error,
    }
}

/// The modules in use and their states. Asks each loaded module for its tokens: blocks.
pub fn modules_view(state: &AppState) -> ModulesView {
    let language = state.language();
    let holder = &state.pkcs11;
    let loading = holder.loading();
    let added = state.settings().pkcs11_modules;
    let latest = holder.latest();
    let mut modules: Vec<ModuleView> = latest
        .entries
        .iter()
        // Removed since the last load: no longer in use.
        .filter(|e| e.origin != Origin::Added || added.contains(&e.path.display().to_string()))
        .map(|e| entry_view(e, language))
        .collect();
    // Added since the last load: loading now.
    for path in added {
        if !modules.iter().any(|m| m.path == path) {
            modules.push(ModuleView {
                path,
                origin: "added",
                found_by: None,
                state: "loading",
                tokens: Vec::new(),
                error: None,
            });
        }
    }
    ModulesView {
        loading,
        discovery: holder.discovers(),
        modules,
    }
}

/// The lines the confirmation shows under its question: the file, then the library and its
/// tokens, or why it did not load.
pub fn describe_probe(report: &ProbeReport, language: Language) -> String {
    let w = |key| word(key, language);
    let mut lines = vec![format!("{}: {}", w("trust.path"), report.module.display())];
    match &report.outcome {
        ProbeOutcome::Loaded { library, slots } => {
            lines.push(format!(
                "{}: {} — {} {}",
                w("pkcs11.library"),
                library.description,
                library.manufacturer,
                library.library_version
            ));
            let tokens: Vec<String> = slots
                .iter()
                .filter_map(|slot| slot.token.as_ref())
                .map(|token| format!("{} ({})", token.label, token.id.serial))
                .collect();
            lines.push(if tokens.is_empty() {
                format!("{}: {}", w("pkcs11.tokens"), w("pkcs11.noTokens"))
            } else {
                format!("{}: {}", w("pkcs11.tokens"), tokens.join(", "))
            });
        }
        _ => {
            let error = failure_of(report);
            lines.push(format!(
                "{}: {}",
                w("pkcs11.failed"),
                UiError::card(&error, language).message
            ));
            // What whoever helps the person needs: the module's own words (a signal, a CKR_…).
            lines.push(format!("{}: {error}", w("pkcs11.detail")));
        }
    }
    lines.join("\n")
}

/// Adds a module: chosen in a file dialog, probed in a child process, confirmed, saved, loaded.
pub fn add_module(state: &AppState, dialogs: &dyn NativeDialogs) -> Result<ModulesView, UiError> {
    let language = state.language();
    let w = |key| word(key, language);
    let Some(path) = dialogs.pick_file(w("pkcs11.pick"), w("pkcs11.filter"), MODULE_EXTENSIONS)
    else {
        return Ok(modules_view(state));
    };
    let chosen = path.display().to_string();
    if state.settings().pkcs11_modules.contains(&chosen) {
        return Ok(modules_view(state));
    }
    let report = state.pkcs11.loader().probe(&path);
    let question = if report.is_usable() {
        "pkcs11.confirm.question"
    } else {
        "pkcs11.confirm.questionFailed"
    };
    let details = describe_probe(&report, language);
    if !confirmed(
        dialogs,
        "pkcs11.confirm.title",
        question,
        &details,
        language,
    ) {
        return Ok(modules_view(state));
    }
    state
        .update_settings(|s| {
            if !s.pkcs11_modules.contains(&chosen) {
                s.pkcs11_modules.push(chosen.clone());
            }
        })
        .map_err(settings_error(language))?;
    state.reload_pkcs11();
    Ok(modules_view(state))
}

/// Stops using a module the person added, once they confirm.
pub fn remove_module(
    state: &AppState,
    dialogs: &dyn NativeDialogs,
    path: &str,
) -> Result<ModulesView, UiError> {
    let language = state.language();
    if !state.settings().pkcs11_modules.iter().any(|p| p == path) {
        return Ok(modules_view(state));
    }
    let details = format!(
        "{}: {}",
        word("trust.path", language),
        Path::new(path).display()
    );
    if !confirmed(
        dialogs,
        "pkcs11.remove.title",
        "pkcs11.remove.question",
        &details,
        language,
    ) {
        return Ok(modules_view(state));
    }
    state
        .update_settings(|s| s.pkcs11_modules.retain(|p| p != path))
        .map_err(settings_error(language))?;
    state.reload_pkcs11();
    Ok(modules_view(state))
}

#[tauri::command]
pub async fn pkcs11_modules(app: AppHandle) -> Result<ModulesView, UiError> {
    let language = app.state::<AppState>().language();
    tauri::async_runtime::spawn_blocking(move || modules_view(&app.state::<AppState>()))
        .await
        .map_err(|_| UiError::new("runtime", language))
}

#[tauri::command]
pub async fn pkcs11_add_module(app: AppHandle) -> Result<ModulesView, UiError> {
    with_native_dialogs(app, add_module, |state| Ok(modules_view(state))).await
}

#[tauri::command]
pub async fn pkcs11_remove_module(app: AppHandle, path: String) -> Result<ModulesView, UiError> {
    with_native_dialogs(
        app,
        move |state, dialogs| remove_module(state, dialogs, &path),
        |state| Ok(modules_view(state)),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::path::PathBuf;
    use std::sync::Arc;

    use signing::pkcs11::probe::{LibraryInfo, SlotReport};
    use signing::pkcs11::{PinEntry, PinState, Token, TokenId};
    use signing::PinCondition;

    use crate::modules::tests::Scripted as ScriptedLoader;
    use crate::modules::Pkcs11Holder;

    /// Dialogs that answer as scripted and remember what they were shown.
    #[derive(Default)]
    struct Scripted {
        file: Option<PathBuf>,
        yes: bool,
        shown: RefCell<Vec<(String, String)>>,
    }

    impl NativeDialogs for Scripted {
        fn pick_file(&self, _: &str, _: &str, extensions: &[&str]) -> Option<PathBuf> {
            assert_eq!(extensions, MODULE_EXTENSIONS);
            self.file.clone()
        }
        fn pick_folder(&self, _: &str) -> Option<PathBuf> {
            None
        }
        fn confirm(&self, title: &str, text: &str, yes: &str, no: &str) -> bool {
            assert_ne!(yes, no);
            self.shown
                .borrow_mut()
                .push((title.to_owned(), text.to_owned()));
            self.yes
        }
    }

    fn token(module: &Path) -> Token {
        Token {
            id: TokenId {
                module: module.to_path_buf(),
                slot: 7,
                serial: "P11GOST0001".into(),
            },
            label: "GOST token".into(),
            manufacturer: "Podpis tests".into(),
            model: "GOST".into(),
            pin: PinState {
                condition: PinCondition::NoWarning,
                entry: PinEntry::Keyboard,
                to_be_changed: false,
                initialized: true,
                min_len: 4,
                max_len: 32,
                so_condition: PinCondition::NoWarning,
            },
        }
    }

    fn loads_with_a_token(module: &Path) -> ProbeOutcome {
        ProbeOutcome::Loaded {
            library: LibraryInfo {
                manufacturer: "Podpis tests".into(),
                description: "GOST test module".into(),
                library_version: "0.1".into(),
                cryptoki_version: "2.40".into(),
            },
            slots: vec![SlotReport {
                id: 7,
                description: "slot".into(),
                token: Some(token(module)),
                mechanisms: vec!["CKM_GOSTR3410_512".into()],
            }],
        }
    }

    /// The app's state in English, with a loader that probes as `probe` says and opens nothing.
    fn english(dir: &Path, probe: Option<ProbeOutcome>) -> AppState {
        let loader = ScriptedLoader {
            probe,
            ..ScriptedLoader::default()
        };
        let state = AppState::load(dir.to_path_buf()).with_pkcs11(Pkcs11Holder::new(
            Arc::new(loader),
            false,
            Vec::new(),
        ));
        state
            .save_settings(crate::state::Settings {
                language: "en".into(),
                ..Default::default()
            })
            .expect("save");
        state
    }

    fn wait_loaded(state: &AppState) {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(state.pkcs11.loaded());
    }

    #[test]
    fn a_module_is_added_only_after_the_person_confirms_what_its_probe_found() {
        let dir = tempfile::tempdir().expect("tmp");
        let module = dir.path().join("libvendor-pkcs11.so");
        let state = english(dir.path(), Some(loads_with_a_token(&module)));
        state.reload_pkcs11();

        // The file dialog closed: nothing probed or asked, nothing saved.
        let closed = Scripted::default();
        add_module(&state, &closed).expect("view");
        assert!(closed.shown.borrow().is_empty());

        // Shown and declined: nothing saved, nothing loaded.
        let declined = Scripted {
            file: Some(module.clone()),
            ..Default::default()
        };
        let view = add_module(&state, &declined).expect("view");
        assert!(view.modules.is_empty(), "{view:?}");
        assert!(state.settings().pkcs11_modules.is_empty());
        let (title, text) = declined.shown.borrow()[0].clone();
        assert_eq!(title, word("pkcs11.confirm.title", Language::English));
        for shown in [
            module.display().to_string().as_str(),
            "GOST test module",
            "Podpis tests",
            "GOST token (P11GOST0001)",
            word("pkcs11.confirm.question", Language::English),
            word("pkcs11.library", Language::English),
        ] {
            assert!(text.contains(shown), "{shown:?} not in {text}");
        }

        // Confirmed: saved, and the tier is loaded again with it.
        let confirmed = Scripted {
            file: Some(module.clone()),
            yes: true,
            ..Default::default()
        };
        let view = add_module(&state, &confirmed).expect("view");
        let path = module.display().to_string();
        assert_eq!(state.settings().pkcs11_modules, std::slice::from_ref(&path));
        assert_eq!(view.modules.len(), 1);
        assert_eq!(view.modules[0].path, path);
        assert_eq!(view.modules[0].origin, "added");
        wait_loaded(&state);
        // The scripted loader opens nothing: the module is listed with why it is not used.
        let view = modules_view(&state);
        assert!(!view.loading);
        assert_eq!(view.modules[0].state, "failed");
        assert_eq!(
            view.modules[0].error.as_ref().map(|e| e.code.as_str()),
            Some("pkcs11-module-missing")
        );
        // Added once, however often it is chosen.
        add_module(&state, &confirmed).expect("view");
        assert_eq!(state.settings().pkcs11_modules.len(), 1);
        assert_eq!(
            confirmed.shown.borrow().len(),
            1,
            "asked again for a module in use"
        );
    }

    #[test]
    fn a_module_that_failed_its_probe_is_shown_failing_before_it_can_be_added() {
        let dir = tempfile::tempdir().expect("tmp");
        let module = dir.path().join("libaborts.so");
        let crashed = ProbeOutcome::Crashed {
            signal: Some(6),
            exit_code: None,
            stderr: "abort in C_Initialize".into(),
        };
        let state = english(dir.path(), Some(crashed));
        let dialogs = Scripted {
            file: Some(module.clone()),
            ..Default::default()
        };
        add_module(&state, &dialogs).expect("view");
        let (_, text) = dialogs.shown.borrow()[0].clone();
        for shown in [
            module.display().to_string().as_str(),
            word("pkcs11.confirm.questionFailed", Language::English),
            "crashed",
            "signal 6",
        ] {
            assert!(text.contains(shown), "{shown:?} not in {text}");
        }
        assert!(!text.contains(word("pkcs11.library", Language::English)));
        assert!(state.settings().pkcs11_modules.is_empty());
    }

    #[test]
    fn removing_a_module_asks_first_and_only_the_persons_modules_are_removed() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = english(dir.path(), None);
        let kept = "/opt/vendor/lib/libvendor.so".to_owned();
        state
            .update_settings(|s| s.pkcs11_modules = vec![kept.clone()])
            .expect("save");
        state.reload_pkcs11();
        // Not one of the person's: nothing asked.
        let yes = Scripted {
            yes: true,
            ..Default::default()
        };
        remove_module(&state, &yes, "/usr/lib/opensc-pkcs11.so").expect("view");
        assert!(yes.shown.borrow().is_empty());
        // Declined: kept.
        let no = Scripted::default();
        remove_module(&state, &no, &kept).expect("view");
        assert!(no.shown.borrow()[0].1.contains(&kept));
        assert_eq!(
            no.shown.borrow()[0].0,
            word("pkcs11.remove.title", Language::English)
        );
        assert_eq!(state.settings().pkcs11_modules, std::slice::from_ref(&kept));
        // Confirmed: gone from the settings and from the list in use.
        let view = remove_module(&state, &yes, &kept).expect("view");
        assert!(state.settings().pkcs11_modules.is_empty());
        assert!(view.modules.iter().all(|m| m.path != kept), "{view:?}");
        wait_loaded(&state);
        assert!(modules_view(&state).modules.is_empty());
    }

    #[test]
    fn the_view_names_where_a_system_module_was_found() {
        let dir = tempfile::tempdir().expect("tmp");
        let loader = ScriptedLoader {
            system: vec![PathBuf::from("/usr/lib/opensc-pkcs11.so")],
            ..ScriptedLoader::default()
        };
        let state = AppState::load(dir.path().to_path_buf()).with_pkcs11(Pkcs11Holder::new(
            Arc::new(loader),
            true,
            Vec::new(),
        ));
        state.reload_pkcs11();
        wait_loaded(&state);
        let view = modules_view(&state);
        assert!(view.discovery);
        let json = serde_json::to_value(&view.modules[0]).expect("json");
        assert_eq!(json["origin"], "system");
        assert_eq!(json["found_by"], "OpenSC");
        assert_eq!(json["state"], "failed");
        assert_eq!(json["error"]["code"], "pkcs11-module-missing");
    }
}
