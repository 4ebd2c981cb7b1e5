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
use crate::commands::trust::{
    confirmed, describe, read_anchor, with_native_dialogs, AnchorView, NativeDialogs,
};
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
    for (path, _) in added_roots(state) {
        trust
            .add_file(&path, ::verify::Source::User(path.clone()))
            .map_err(trust_error)?;
    }
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

/// The roots the person added for verifying signatures: the app keeps its own copy of each
/// confirmed certificate, named by its SHA-256, so a file changed later changes nothing.
fn roots_dir(state: &AppState) -> PathBuf {
    state.data_dir.join("trust").join("verify-roots")
}

/// The roots added, each with what the page shows of it (unreadable copies left out).
pub fn added_roots(state: &AppState) -> Vec<(PathBuf, AnchorView)> {
    let mut roots: Vec<(PathBuf, AnchorView)> = std::fs::read_dir(roots_dir(state))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pem"))
        .filter_map(|p| read_anchor(&p).ok().map(|a| (p.clone(), a.view(&p))))
        .collect();
    roots.sort_by(|a, b| a.1.subject.cmp(&b.1.subject));
    roots
}

fn root_views(state: &AppState) -> Vec<AnchorView> {
    added_roots(state).into_iter().map(|(_, v)| v).collect()
}

/// A root chosen in a file dialog, shown in a native confirmation, kept once the person says yes.
pub fn add_root(state: &AppState, dialogs: &dyn NativeDialogs) -> Result<Vec<AnchorView>, UiError> {
    let language = state.language();
    let Some(path) = dialogs.pick_file(
        word("verify.roots.pick", language),
        word("trust.ca.filter", language),
        &["pem", "crt", "cer", "der"],
    ) else {
        return Ok(root_views(state));
    };
    let anchor = read_anchor(&path).map_err(|e| {
        eprintln!("podpis-desktop: {e}");
        UiError::new("ca-file", language)
    })?;
    let details = describe(&anchor.view(&path), language);
    if !confirmed(
        dialogs,
        "verify.roots.confirm.title",
        "verify.roots.confirm.question",
        &details,
        language,
    ) {
        return Ok(root_views(state));
    }
    let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &anchor.der)
        .map_err(|_| UiError::new("settings", language))?;
    let kept = roots_dir(state).join(format!("{}.pem", anchor.info.sha256));
    std::fs::create_dir_all(roots_dir(state))
        .and_then(|()| client::durable::write_atomically(&kept, pem.as_bytes()))
        .map_err(crate::commands::trust::settings_error(language))?;
    Ok(root_views(state))
}

/// Forgets an added root (named by its SHA-256 as the list shows it) once the person confirms.
pub fn remove_root(
    state: &AppState,
    dialogs: &dyn NativeDialogs,
    sha256: &str,
) -> Result<Vec<AnchorView>, UiError> {
    let language = state.language();
    let Some((path, view)) = added_roots(state)
        .into_iter()
        .find(|(_, v)| v.sha256 == sha256)
    else {
        return Ok(root_views(state));
    };
    if confirmed(
        dialogs,
        "verify.roots.remove.title",
        "verify.roots.remove.question",
        &describe(&view, language),
        language,
    ) {
        std::fs::remove_file(&path).map_err(crate::commands::trust::settings_error(language))?;
    }
    Ok(root_views(state))
}

/// The roots the person added for verifying.
#[tauri::command]
pub fn verify_roots(state: State<'_, AppState>) -> Vec<AnchorView> {
    root_views(&state)
}

/// Adds a root: chosen and confirmed in native dialogs Rust opens.
#[tauri::command]
pub async fn verify_root_add(app: AppHandle) -> Result<Vec<AnchorView>, UiError> {
    with_native_dialogs(app, add_root, |state| Ok(root_views(state))).await
}

/// Removes a root, after a native confirmation.
#[tauri::command]
pub async fn verify_root_remove(
    app: AppHandle,
    sha256: String,
) -> Result<Vec<AnchorView>, UiError> {
    with_native_dialogs(
        app,
        move |state, dialogs| remove_root(state, dialogs, &sha256),
        |state| Ok(root_views(state)),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    struct Scripted {
        file: Option<PathBuf>,
        yes: bool,
        asked: RefCell<Vec<String>>,
    }

    impl NativeDialogs for Scripted {
        fn pick_file(&self, _: &str, _: &str, _: &[&str]) -> Option<PathBuf> {
            self.file.clone()
        }
        fn pick_folder(&self, _: &str) -> Option<PathBuf> {
            None
        }
        fn confirm(&self, _: &str, text: &str, _: &str, _: &str) -> bool {
            self.asked.borrow_mut().push(text.to_owned());
            self.yes
        }
    }

    #[test]
    fn a_root_is_added_only_once_confirmed_kept_as_a_copy_and_removed_once_confirmed() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = AppState::load(dir.path().join("data"));
        // A self-signed certificate made here (the GOST test root needs the engine).
        let key = openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                .expect("group"),
        )
        .and_then(openssl::pkey::PKey::from_ec_key)
        .expect("key");
        let mut name = openssl::x509::X509NameBuilder::new().expect("name");
        name.append_entry_by_text("CN", "Verify test root")
            .expect("cn");
        let name = name.build();
        let mut b = openssl::x509::X509Builder::new().expect("builder");
        b.set_version(2).expect("version");
        b.set_subject_name(&name).expect("subject");
        b.set_issuer_name(&name).expect("issuer");
        b.set_pubkey(&key).expect("key");
        b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).expect("t"))
            .expect("nb");
        b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(9).expect("t"))
            .expect("na");
        b.sign(&key, openssl::hash::MessageDigest::sha256())
            .expect("sign");
        let file = dir.path().join("root.pem");
        std::fs::write(&file, b.build().to_pem().expect("pem")).expect("write");

        let refuse = Scripted {
            file: Some(file.clone()),
            yes: false,
            asked: RefCell::default(),
        };
        assert!(add_root(&state, &refuse).expect("add").is_empty());
        assert!(refuse.asked.borrow()[0].contains("Verify test root"));

        let accept = Scripted {
            file: Some(file.clone()),
            yes: true,
            asked: RefCell::default(),
        };
        let roots = add_root(&state, &accept).expect("add");
        assert_eq!(roots.len(), 1);
        assert_eq!(roots[0].subject, "Verify test root");
        // The app's copy, not the person's file, is what is trusted.
        std::fs::remove_file(&file).expect("remove");
        assert_eq!(added_roots(&state).len(), 1);

        let sha = roots[0].sha256.clone();
        assert_eq!(remove_root(&state, &refuse, &sha).expect("kept").len(), 1);
        assert_eq!(
            remove_root(&state, &accept, "../../etc")
                .expect("none")
                .len(),
            1
        );
        assert!(remove_root(&state, &accept, &sha)
            .expect("removed")
            .is_empty());
    }

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
