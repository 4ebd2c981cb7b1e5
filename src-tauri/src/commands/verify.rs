//! The Verify screen: a signature file (and, for a detached one, its document) chosen in a
//! native dialog that Rust opens, checked by the `verify` crate as `podpis verify` checks it,
//! and the same report shown, with the same words. The page cannot name a file: it asks for a
//! dialog and sees the report. Trusted: the system's roots, and the sandbox's test PKI in
//! sandbox mode (no portal address set) only.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use client::messages;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, State};

use crate::commands::portal::sandbox_pki_dir;
use crate::error::UiError;
use crate::state::AppState;
use crate::words::word;

/// A signature file is small; more than this is not one.
const MAX_SIGNATURE: u64 = 64 * 1024 * 1024;

/// The files chosen on the Verify screen, and whether the screen is shown (then the window's
/// drops are its files, not the Sign screen's).
#[derive(Default)]
pub struct VerifyDesk {
    files: Mutex<(Option<PathBuf>, Option<PathBuf>)>,
    shown: AtomicBool,
}

/// What the extensions of signature files are, to tell the signature from its document among
/// two files dropped together.
const SIGNATURE_EXTENSIONS: &[&str] = &["p7s", "sig", "sgn", "p7m", "cms", "pem"];

/// The signature and the document among the paths of one drop: one file is the signature; of
/// two, the one with a signature's extension (else the first), the other its document. More
/// than two are not one signature: none.
pub fn signature_and_document(paths: &[PathBuf]) -> Option<(PathBuf, Option<PathBuf>)> {
    let is_signature = |p: &PathBuf| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| SIGNATURE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
    };
    match paths {
        [one] => Some((one.clone(), None)),
        [a, b] if is_signature(b) && !is_signature(a) => Some((b.clone(), Some(a.clone()))),
        [a, b] => Some((a.clone(), Some(b.clone()))),
        _ => None,
    }
}

impl VerifyDesk {
    fn get(&self) -> (Option<PathBuf>, Option<PathBuf>) {
        match self.files.lock() {
            Ok(f) => f.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set(&self, files: (Option<PathBuf>, Option<PathBuf>)) {
        match self.files.lock() {
            Ok(mut f) => *f = files,
            Err(poisoned) => *poisoned.into_inner() = files,
        }
    }
}

/// What the page shows: the files, the report as `podpis verify --json` gives it, and the words
/// of its verdict, reasons and findings in the app's language.
#[derive(Serialize)]
pub struct VerifyView {
    signature: Option<String>,
    content: Option<String>,
    report: Option<::verify::Report>,
    message: Option<&'static str>,
    messages: Vec<messages::Worded>,
}

/// The files a debug build takes instead of the native dialogs, for the WebDriver tests (which
/// cannot answer them): the signature file, then the document, joined as in `PATH`. A release
/// build never reads it.
#[cfg(debug_assertions)]
pub const TEST_FILES_VARIABLE: &str = "PODPIS_TEST_VERIFY_FILES";

fn test_files() -> Option<Vec<PathBuf>> {
    #[cfg(debug_assertions)]
    {
        std::env::var_os(TEST_FILES_VARIABLE)
            .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
            .filter(|paths| !paths.is_empty())
    }
    #[cfg(not(debug_assertions))]
    {
        None
    }
}

fn view(state: &AppState, desk: &VerifyDesk) -> Result<VerifyView, UiError> {
    let language = state.language();
    let (signature, content) = desk.get();
    let shown = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let mut view = VerifyView {
        signature: shown(&signature),
        content: shown(&content),
        report: None,
        message: None,
        messages: Vec::new(),
    };
    let Some(path) = signature else {
        return Ok(view);
    };
    let read = |path: &PathBuf, max: u64| -> Result<Vec<u8>, UiError> {
        let too_large = std::fs::metadata(path).map(|m| m.len() > max);
        match too_large {
            Ok(false) => std::fs::read(path).map_err(|e| {
                eprintln!("podpis-desktop: {}: {e}", path.display());
                UiError::new("file-read", language)
            }),
            _ => Err(UiError::new("file-read", language)),
        }
    };
    let bytes = read(&path, MAX_SIGNATURE)?;
    let document = match &content {
        Some(p) => Some(read(p, u64::MAX)?),
        None => None,
    };
    let mut trust = ::verify::Trust::new();
    let trust_error = |e: ::verify::TrustError| {
        eprintln!("podpis-desktop: {e}");
        UiError::new("file-read", language)
    };
    trust.add_system().map_err(trust_error)?;
    if state.settings().portal.is_none() {
        let dir = sandbox_pki_dir(state);
        if dir.join("root.pem").is_file() {
            trust.add_sandbox(&dir).map_err(trust_error)?;
        }
    }
    let options = ::verify::Options {
        content: document,
        ..::verify::Options::default()
    };
    let report = ::verify::verify(&bytes, &trust, &options);
    view.message = Some(messages::verify_verdict(report.verdict, language));
    view.messages = messages::verify_report_words(&report, language);
    view.report = Some(report);
    Ok(view)
}

/// Chooses the signature file (`document: false`) or the signed document (`document: true`) in
/// a native dialog, and checks the signature with what is chosen.
#[tauri::command]
pub async fn verify_pick(
    app: AppHandle,
    document: bool,
    desk: State<'_, VerifyDesk>,
) -> Result<VerifyView, UiError> {
    let state = app.state::<AppState>();
    let language = state.language();
    let picked = match test_files() {
        Some(paths) => {
            let index = usize::from(document);
            paths.get(index).cloned()
        }
        None => {
            let handle = app.clone();
            let title = if document {
                "verify.pickDocument"
            } else {
                "verify.pickSignature"
            };
            tauri::async_runtime::spawn_blocking(move || {
                use tauri_plugin_dialog::DialogExt;
                let mut dialog = handle.dialog().file().set_title(word(title, language));
                if !document {
                    dialog = dialog.add_filter(
                        word("verify.signatureFiles", language),
                        &["p7s", "sig", "sgn", "p7m", "pem", "cms"],
                    );
                }
                if let Some(window) = handle.get_webview_window("main") {
                    dialog = dialog.set_parent(&window);
                }
                dialog.blocking_pick_file().and_then(|f| f.into_path().ok())
            })
            .await
            .map_err(|_| UiError::new("runtime", language))?
        }
    };
    if let Some(path) = picked {
        let (signature, content) = desk.get();
        desk.set(if document {
            (signature, Some(path))
        } else {
            // Another signature: the document chosen for the last one is not its document.
            let _ = content;
            (Some(path), None)
        });
    }
    // The verification reads files and may ask CRL and OCSP servers: off the async runtime.
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        let desk = handle.state::<VerifyDesk>();
        view(&state, &desk)
    })
    .await
    .map_err(|_| UiError::new("runtime", language))?
}

/// Forgets the files chosen.
#[tauri::command]
pub fn verify_clear(desk: State<'_, VerifyDesk>) {
    desk.set((None, None));
}

/// The page says when the Verify screen is shown and when it is left.
#[tauri::command]
pub fn verify_shown(shown: bool, desk: State<'_, VerifyDesk>) {
    desk.shown.store(shown, Ordering::SeqCst);
}

/// Files dropped onto the window while the Verify screen is shown: checked, and the page told
/// (`verify://report`, the view or the error). False when the screen is not shown: the drop is
/// someone else's.
pub fn dropped(app: &AppHandle, paths: &[PathBuf]) -> bool {
    let desk = app.state::<VerifyDesk>();
    if !desk.shown.load(Ordering::SeqCst) {
        return false;
    }
    let Some((signature, document)) = signature_and_document(paths) else {
        let language = app.state::<AppState>().language();
        let _ = app.emit(
            "verify://report",
            serde_json::json!({ "view": null, "error": UiError::new("input", language) }),
        );
        return true;
    };
    desk.set((Some(signature), document));
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        let desk = handle.state::<VerifyDesk>();
        let payload = match view(&state, &desk) {
            Ok(view) => serde_json::json!({ "view": view, "error": null }),
            Err(error) => serde_json::json!({ "view": null, "error": error }),
        };
        let _ = handle.emit("verify://report", payload);
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_is_one_signature_or_a_signature_with_its_document() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            signature_and_document(&[p("/a/x.p7s")]),
            Some((p("/a/x.p7s"), None))
        );
        assert_eq!(
            signature_and_document(&[p("/a/contract.pdf"), p("/a/contract.pdf.SIG")]),
            Some((p("/a/contract.pdf.SIG"), Some(p("/a/contract.pdf"))))
        );
        assert_eq!(
            signature_and_document(&[p("/a/x.sig"), p("/a/x.txt")]),
            Some((p("/a/x.sig"), Some(p("/a/x.txt"))))
        );
        assert_eq!(signature_and_document(&[]), None);
        assert_eq!(signature_and_document(&[p("/a"), p("/b"), p("/c")]), None);
    }
}
