//! The Sign screen: files signed in one batch with one PIN (`client::batch`, as `podpis sign`).
//!
//! The files are the person's, not the page's: they come from a native dialog that Rust opens,
//! or from the window's drop event (the paths reach Rust, not the page), and the list lives
//! here. The page sees each file's name, size and SHA-256 and where its signature will go, and
//! can only clear the list; it cannot name a file to read or a place to write. A signature file
//! that is already there is replaced only after the person says yes in a native dialog.
//! Progress goes to the page as `sign://progress`, one event per file; the list changing (a drop)
//! as `sign://files`.

use std::path::PathBuf;
use std::sync::Mutex;

use client::batch::{self, BatchEvent, Form, Outcome, PlannedFile};
use client::flow::{self, CardChoice};
use client::remembered::RememberedChoice;
use serde::Serialize;
use signing::certificate::CertificateInfo;
use signing::Pin;
use tauri::{AppHandle, Emitter, Manager, State};

use crate::commands::cards::{findings, FindingView, Place};
use crate::commands::trust::{confirmed, Native};
use crate::error::UiError;
use crate::state::AppState;
use crate::words::word;

/// The files chosen for signing, and the one batch that may run at a time.
#[derive(Default)]
pub struct SignDesk {
    files: Mutex<Vec<PlannedFile>>,
    running: tokio::sync::Mutex<()>,
}

impl SignDesk {
    fn files(&self) -> Vec<PlannedFile> {
        match self.files.lock() {
            Ok(files) => files.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Adds the files at `paths` (a folder: the files directly in it), each once.
    fn add(&self, paths: &[PathBuf]) -> Result<(), batch::BatchError> {
        let planned = batch::plan(paths, Form::Attached)?;
        let mut files = match self.files.lock() {
            Ok(files) => files,
            Err(poisoned) => poisoned.into_inner(),
        };
        for file in planned {
            if !files.iter().any(|f| f.input == file.input) {
                files.push(file);
            }
        }
        Ok(())
    }

    fn clear(&self) {
        match self.files.lock() {
            Ok(mut files) => files.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }
}

/// Where a signature goes in one form, and whether a file is already there.
#[derive(Debug, Clone, Serialize)]
pub struct OutputView {
    path: String,
    exists: bool,
}

/// A file as the page shows it before the PIN.
#[derive(Debug, Clone, Serialize)]
pub struct FileView {
    name: String,
    path: String,
    size: u64,
    sha256: String,
    attached: OutputView,
    detached: OutputView,
}

fn view(file: &PlannedFile) -> FileView {
    let output = |form| {
        let path = batch::signature_path(&file.input, form);
        OutputView {
            exists: path.exists(),
            path: path.display().to_string(),
        }
    };
    FileView {
        name: file.name.clone(),
        path: file.input.display().to_string(),
        size: file.size,
        sha256: file.sha256.clone(),
        attached: output(Form::Attached),
        detached: output(Form::Detached),
    }
}

fn views(desk: &SignDesk) -> Vec<FileView> {
    desk.files().iter().map(view).collect()
}

fn batch_error(e: &batch::BatchError, language: client::Language) -> UiError {
    // The file's name and the system's reason are for whoever helps; never a secret.
    eprintln!("podpis-desktop: {e}");
    UiError::new(e.code(), language)
}

/// The files a debug build takes instead of the native dialog, for the WebDriver tests (which
/// cannot answer it): paths joined as in `PATH`. A release build never reads it.
#[cfg(debug_assertions)]
pub const TEST_FILES_VARIABLE: &str = "PODPIS_TEST_SIGN_FILES";

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

/// Files chosen in a native dialog (several at once) and added to the list.
#[tauri::command]
pub async fn sign_pick_files(
    app: AppHandle,
    desk: State<'_, SignDesk>,
) -> Result<Vec<FileView>, UiError> {
    let language = app.state::<AppState>().language();
    let picked = match test_files() {
        Some(paths) => Some(paths),
        None => {
            let handle = app.clone();
            tauri::async_runtime::spawn_blocking(move || {
                use tauri_plugin_dialog::DialogExt;
                let mut dialog = handle
                    .dialog()
                    .file()
                    .set_title(word("sign.pick", language));
                if let Some(window) = handle.get_webview_window("main") {
                    dialog = dialog.set_parent(&window);
                }
                dialog.blocking_pick_files().map(|files| {
                    files
                        .into_iter()
                        .filter_map(|f| f.into_path().ok())
                        .collect::<Vec<_>>()
                })
            })
            .await
            .map_err(|_| UiError::new("runtime", language))?
        }
    };
    if let Some(paths) = picked {
        desk.add(&paths).map_err(|e| batch_error(&e, language))?;
    }
    Ok(views(&desk))
}

/// Files dropped onto the window: added, and the page told (`sign://files`). A drop that cannot
/// be read is said as an error on the same event's answer.
pub fn dropped(app: &AppHandle, paths: Vec<PathBuf>) {
    let desk = app.state::<SignDesk>();
    let language = app.state::<AppState>().language();
    let error = desk.add(&paths).err().map(|e| batch_error(&e, language));
    let _ = app.emit(
        "sign://files",
        serde_json::json!({ "files": views(&desk), "error": error }),
    );
}

#[tauri::command]
pub fn sign_files_list(desk: State<'_, SignDesk>) -> Vec<FileView> {
    views(&desk)
}

#[tauri::command]
pub fn sign_clear(desk: State<'_, SignDesk>) -> Vec<FileView> {
    desk.clear();
    views(&desk)
}

/// A certificate that can sign files, with its PIN counter.
#[derive(Serialize)]
pub struct KeyView {
    #[serde(flatten)]
    place: Place,
    #[serde(flatten)]
    info: CertificateInfo,
    findings: Vec<FindingView>,
    /// Files take any key the card has (no portal decides here): never unfit.
    unfit: Option<UiError>,
    tries_left: Option<u8>,
    max_tries: Option<u8>,
    last_try: bool,
}

#[derive(Serialize)]
pub struct KeysView {
    keys: Vec<KeyView>,
    /// The SHA-256 of the certificate chosen last (here, in `podpis`, or for a confirmation),
    /// preselected by the page; a click chooses another.
    remembered: Option<String>,
}

/// The certificates of the card in `reader`, or (`reader` null) of the PKCS#11 tokens once the
/// modules are loaded, and the one chosen last. One place at a time, as the Confirm screen reads
/// them: a slow card, or one another program is signing with, holds up only its own line.
#[tauri::command]
pub async fn sign_certificates(
    state: State<'_, AppState>,
    reader: Option<String>,
) -> Result<KeysView, UiError> {
    let language = state.language();
    let found = match reader {
        Some(reader) => {
            let cache = client::certificates::CertificateCache::in_data_dir(&state.data_dir);
            tauri::async_runtime::spawn_blocking(move || {
                client::tokens::card_keys(&reader, &cache, signing::token::Reader::DEFAULT_DEADLINE)
            })
            .await
            .map_err(|_| UiError::new("runtime", language))?
            .map_err(|e| UiError::card(&e, language))?
        }
        None => {
            let tier = state.pkcs11.tier().await;
            let (keys, errors) = tauri::async_runtime::spawn_blocking(move || tier.keys())
                .await
                .map_err(|_| UiError::new("runtime", language))?;
            for e in errors {
                eprintln!("podpis-desktop: PKCS#11: {e}");
            }
            keys
        }
    };
    let keys = found
        .iter()
        .filter_map(|key| {
            let info = CertificateInfo::parse(&key.certificate).ok()?;
            Some(KeyView {
                place: Place::of(key),
                findings: findings(&info, language),
                info,
                unfit: None,
                tries_left: key.pin.tries_left(),
                max_tries: key.pin.max_tries(),
                last_try: key.pin.is_last_try(),
            })
        })
        .collect();
    Ok(KeysView {
        keys,
        remembered: RememberedChoice::in_data_dir(&state.data_dir).certificate(),
    })
}

/// One file's outcome, as `sign://progress` and the summary give it.
#[derive(Debug, Clone, Serialize)]
pub struct ResultView {
    index: usize,
    total: usize,
    name: String,
    /// `signing`, `signed`, `failed` or `not-signed`.
    status: &'static str,
    output: String,
    bytes: Option<usize>,
    error: Option<UiError>,
}

#[derive(Serialize)]
pub struct SummaryView {
    signed: usize,
    total: usize,
    files: Vec<ResultView>,
    /// The card's or token's failure that stopped the batch.
    stopped: Option<UiError>,
    /// The key asked for the PIN at every signature (the PIN typed was given each time).
    reauthenticated: bool,
}

fn file_error(e: &batch::FileError, language: client::Language) -> UiError {
    match e {
        batch::FileError::Token(e) => UiError::flow(e, language),
        e => UiError::new(&e.code(), language),
    }
}

/// Signs the listed files with the certificate `certificate` in `reader` (a reader or a PKCS#11
/// token's label), one PIN for all of them: it goes straight into a zeroed `Pin`, and the page
/// keeps no copy. `pin` is null (and anything sent is not used) for a PIN pad. Signature files
/// already there are replaced only after a yes in a native dialog.
// A Tauri command takes the page's fields as its arguments, and the app's state beside them.
#[allow(clippy::too_many_arguments)]
#[tauri::command]
pub async fn sign_start(
    app: AppHandle,
    state: State<'_, AppState>,
    desk: State<'_, SignDesk>,
    reader: String,
    certificate: String,
    detached: bool,
    pin: Option<String>,
    last_try_confirmed: bool,
) -> Result<SummaryView, UiError> {
    let language = state.language();
    let pin = pin.map(zeroize::Zeroizing::new);
    let Ok(_one_batch) = desk.running.try_lock() else {
        return Err(UiError::new("runtime", language));
    };
    let form = if detached {
        Form::Detached
    } else {
        Form::Attached
    };
    let files: Vec<PlannedFile> = desk
        .files()
        .into_iter()
        .map(|f| PlannedFile {
            output: batch::signature_path(&f.input, form),
            ..f
        })
        .collect();
    if files.is_empty() {
        return Err(UiError::new("batch-empty", language));
    }
    let tier = state.pkcs11.tier().await;
    let cache = client::certificates::CertificateCache::in_data_dir(&state.data_dir);
    let choice = CardChoice {
        reader: Some(reader),
        certificate: Some(certificate),
    };
    let deadline = signing::token::Reader::DEFAULT_DEADLINE;
    let key_tier = tier.clone();
    let chosen = tauri::async_runtime::spawn_blocking(move || {
        flow::choose_key(&choice, &cache, deadline, &key_tier)
    })
    .await
    .map_err(|_| UiError::new("runtime", language))?
    .map_err(|e| UiError::flow(&e, language))?;
    if let Some(refusal) = chosen.refusal() {
        return Err(UiError::flow(&refusal, language));
    }
    let pin = match (chosen.pin().needs_typed_pin(), pin) {
        (true, Some(pin)) => Some(
            Pin::new(pin.to_string())
                .map_err(|e| UiError::card(&signing::TokenError::PinFormat(e), language))?,
        ),
        (true, None) => return Err(UiError::new("pin-required", language)),
        // A PIN the page sent for a PIN pad is not used; it is wiped as it goes.
        (false, _) => None,
    };
    let existing: Vec<String> = files
        .iter()
        .filter(|f| f.output.exists())
        .map(|f| f.output.display().to_string())
        .collect();
    let overwrite = !existing.is_empty();
    if overwrite {
        let handle = app.clone();
        let replace = tauri::async_runtime::spawn_blocking(move || {
            confirmed(
                &Native { app: &handle },
                "sign.replace.title",
                "sign.replace.question",
                &existing.join("\n"),
                language,
            )
        })
        .await
        .map_err(|_| UiError::new("runtime", language))?;
        if !replace {
            return Err(UiError::new("file-exists", language));
        }
    }
    let remembered = RememberedChoice::in_data_dir(&state.data_dir);
    let events = app.clone();
    let report = tauri::async_runtime::spawn_blocking(move || {
        let report = batch::sign_files(
            &chosen,
            &files,
            form,
            pin,
            last_try_confirmed,
            overwrite,
            deadline,
            &tier,
            &|event| {
                let result = match event {
                    BatchEvent::Signing { index, total, file } => ResultView {
                        index,
                        total,
                        name: file.name.clone(),
                        status: "signing",
                        output: file.output.display().to_string(),
                        bytes: None,
                        error: None,
                    },
                    BatchEvent::Done {
                        index,
                        total,
                        result,
                    } => result_view(index, total, result, language),
                    BatchEvent::KeyAsksPinEachTime => return,
                };
                let _ = events.emit("sign://progress", &result);
            },
        );
        if report.signed() > 0 {
            remembered.remember(&chosen.certificate.sha256);
        }
        report
    })
    .await
    .map_err(|_| UiError::new("runtime", language))?;
    let total = report.files.len();
    Ok(SummaryView {
        signed: report.signed(),
        total,
        files: report
            .files
            .iter()
            .enumerate()
            .map(|(index, result)| result_view(index, total, result, language))
            .collect(),
        stopped: report.stopped.as_ref().map(|e| UiError::flow(e, language)),
        reauthenticated: report.reauthenticated,
    })
}

fn result_view(
    index: usize,
    total: usize,
    result: &batch::FileResult,
    language: client::Language,
) -> ResultView {
    let (status, bytes, error) = match &result.outcome {
        Outcome::Signed { bytes } => ("signed", Some(*bytes), None),
        Outcome::Failed(e) => ("failed", None, Some(file_error(e, language))),
        Outcome::NotSigned => ("not-signed", None, None),
    };
    ResultView {
        index,
        total,
        name: result
            .input
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        status,
        output: result.output.display().to_string(),
        bytes,
        error,
    }
}

/// Files dropped onto the main window go to the list ([`dropped`]): the window's own drop
/// event, in Rust, so that the paths never pass through the page.
pub fn watch_drops(app: &AppHandle) {
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    let handle = app.clone();
    window.on_window_event(move |event| {
        if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
            // The Verify screen takes the drop while it is shown.
            if crate::commands::verify::dropped(&handle, paths) {
                return;
            }
            dropped(&handle, paths.clone());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_each_file_once_and_shows_where_its_signature_goes() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = dir.path().join("a.txt");
        std::fs::write(&a, "abc").expect("write");
        std::fs::write(dir.path().join("a.txt.sig"), "old").expect("write");
        let desk = SignDesk::default();
        desk.add(std::slice::from_ref(&a)).expect("add");
        desk.add(&[dir.path().to_path_buf()])
            .expect("add the folder");
        let files = views(&desk);
        assert_eq!(
            files.len(),
            1,
            "a.txt once; a.txt.sig is a signature, not a file to sign"
        );
        let file = &files[0];
        assert_eq!((file.name.as_str(), file.size), ("a.txt", 3));
        assert_eq!(
            file.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(file.attached.path.ends_with("a.txt.p7s") && !file.attached.exists);
        assert!(file.detached.path.ends_with("a.txt.sig") && file.detached.exists);
        // A file that cannot be read adds nothing.
        assert!(desk.add(&[dir.path().join("missing")]).is_err());
        assert_eq!(views(&desk).len(), 1);
        desk.clear();
        assert!(views(&desk).is_empty());
    }
}
