//! What Podpis trusts: an extra root certificate for the portal's HTTPS, and the test CA whose
//! certificates the sandbox portal accepts. A script in the webview can ask for a change to
//! begin, and nothing more: the file comes from a native dialog that Rust opens, the certificate
//! is shown in a native dialog for the person to confirm (subject, issuer, validity, SHA-256),
//! and only then is it saved. `settings_set` refuses these fields (`settings-trust`).
//!
//! The root that is confirmed is the root that is trusted: the app keeps its own copy of exactly
//! those bytes, so a file changed after the confirmation changes nothing.

use std::path::{Path, PathBuf};

use client::Language;
use der::pem::LineEnding;
use serde::Serialize;
use signing::certificate::CertificateInfo;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};

use crate::commands::portal::sandbox_pki_dir;
use crate::error::UiError;
use crate::state::AppState;
use crate::words::word;

/// A certificate file is a few KiB; anything much larger is not one.
const MAX_CERTIFICATE_FILE: u64 = 64 * 1024;
/// The extensions offered by the file dialog.
const CERTIFICATE_EXTENSIONS: &[&str] = &["pem", "crt", "cer", "der"];

/// The dialogs the person answers. The app's are native (tauri-plugin-dialog); tests script them.
pub trait NativeDialogs {
    fn pick_file(&self, title: &str, filter: &str, extensions: &[&str]) -> Option<PathBuf>;
    fn pick_folder(&self, title: &str) -> Option<PathBuf>;
    /// True when the person pressed `yes`; closing the dialog is no.
    fn confirm(&self, title: &str, text: &str, yes: &str, no: &str) -> bool;
}

#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is too large to be a certificate")]
    TooLarge(PathBuf),
    #[error("{0} holds more than one certificate: choose a file with the root alone")]
    SeveralCertificates(PathBuf),
    #[error("{path} is not a certificate: {reason}")]
    NotACertificate { path: PathBuf, reason: String },
}

/// A certificate read from a file the person chose.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub der: Vec<u8>,
    pub info: CertificateInfo,
}

/// What the settings screen and the confirmation show of a trusted certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorView {
    pub path: String,
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    /// SHA-256 of the DER as `openssl x509 -fingerprint -sha256` prints it (AB:CD:…), so that
    /// it can be compared with what the CA publishes.
    pub sha256: String,
}

/// The sandbox's test CA: the directory in use, whether the person chose it (else the default),
/// and its root when it is there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxPkiView {
    pub dir: String,
    pub chosen: bool,
    pub root: Option<AnchorView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustView {
    pub extra_ca: Option<AnchorView>,
    pub sandbox_pki: SandboxPkiView,
}

/// Reads one certificate, PEM or DER, from a file.
pub fn read_anchor(path: &Path) -> Result<Anchor, AnchorError> {
    let read = |source| AnchorError::Read {
        path: path.to_owned(),
        source,
    };
    if std::fs::metadata(path).map_err(read)?.len() > MAX_CERTIFICATE_FILE {
        return Err(AnchorError::TooLarge(path.to_owned()));
    }
    let bytes = std::fs::read(path).map_err(read)?;
    let not_a_certificate = |reason: String| AnchorError::NotACertificate {
        path: path.to_owned(),
        reason,
    };
    let der = match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains("-----BEGIN ") => {
            // Which of several the TLS stack would take is its own affair: the person confirms
            // one certificate, and one is what the file must hold.
            if text.matches("-----BEGIN ").count() > 1 {
                return Err(AnchorError::SeveralCertificates(path.to_owned()));
            }
            let (label, der) = der::pem::decode_vec(text.trim().as_bytes())
                .map_err(|e| not_a_certificate(e.to_string()))?;
            if label != "CERTIFICATE" {
                return Err(not_a_certificate(format!("PEM label {label}")));
            }
            der
        }
        _ => bytes,
    };
    let info = CertificateInfo::parse(&der).map_err(|e| not_a_certificate(e.to_string()))?;
    Ok(Anchor { der, info })
}

impl AnchorError {
    fn ui(&self, language: Language) -> UiError {
        // The code's words say what to do; the detail is for whoever helps the person.
        eprintln!("podpis-desktop: {self}");
        UiError::new("ca-file", language)
    }
}

impl Anchor {
    pub fn view(&self, path: &Path) -> AnchorView {
        let info = &self.info;
        AnchorView {
            path: path.display().to_string(),
            subject: info.subject.clone().unwrap_or_else(|| info.serial.clone()),
            issuer: info.issuer.clone(),
            not_before: info.not_before.clone(),
            not_after: info.not_after.clone(),
            sha256: fingerprint(&info.sha256),
        }
    }
}

/// `ab12…` as `AB:12:…`.
fn fingerprint(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

/// The lines the confirmation shows under its question.
pub fn describe(anchor: &AnchorView, language: Language) -> String {
    let w = |key| word(key, language);
    format!(
        "{}: {}\n{}: {}\n{}: {} — {}\n{}: {}\n{}: {}",
        w("trust.subject"),
        anchor.subject,
        w("trust.issuer"),
        anchor.issuer,
        w("trust.validity"),
        anchor.not_before,
        anchor.not_after,
        w("trust.sha256"),
        anchor.sha256,
        w("trust.path"),
        anchor.path,
    )
}

/// Where the app keeps its copy of the confirmed root.
pub fn kept_root(state: &AppState) -> PathBuf {
    state.data_dir.join("trust").join("extra-ca.pem")
}

pub fn trust_view(state: &AppState) -> TrustView {
    let settings = state.settings();
    let extra_ca = settings
        .extra_ca
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .and_then(|path| read_anchor(&path).ok().map(|a| a.view(&path)));
    let dir = sandbox_pki_dir(state);
    let root = dir.join("root.pem");
    TrustView {
        extra_ca,
        sandbox_pki: SandboxPkiView {
            dir: dir.display().to_string(),
            chosen: settings.sandbox_pki.is_some_and(|p| !p.is_empty()),
            root: read_anchor(&root).ok().map(|a| a.view(&root)),
        },
    }
}

/// Asks `question` (a key of the UI's words) with `details` under it; true on `yes`.
pub(crate) fn confirmed(
    dialogs: &dyn NativeDialogs,
    title: &'static str,
    question: &'static str,
    details: &str,
    language: Language,
) -> bool {
    let w = |key| word(key, language);
    dialogs.confirm(
        w(title),
        &format!("{}\n\n{details}", w(question)),
        w("trust.yes"),
        w("trust.no"),
    )
}

pub(crate) fn settings_error(language: Language) -> impl Fn(std::io::Error) -> UiError {
    move |e| {
        eprintln!("podpis-desktop: settings: {e}");
        UiError::new("settings", language)
    }
}

/// The extra root for the portal's HTTPS: chosen in a file dialog, confirmed, kept.
pub fn choose_extra_ca(
    state: &AppState,
    dialogs: &dyn NativeDialogs,
) -> Result<TrustView, UiError> {
    let language = state.language();
    let w = |key| word(key, language);
    let Some(path) = dialogs.pick_file(
        w("trust.ca.pick"),
        w("trust.ca.filter"),
        CERTIFICATE_EXTENSIONS,
    ) else {
        return Ok(trust_view(state));
    };
    let anchor = read_anchor(&path).map_err(|e| e.ui(language))?;
    let details = describe(&anchor.view(&path), language);
    if !confirmed(
        dialogs,
        "trust.ca.confirm.title",
        "trust.ca.confirm.question",
        &details,
        language,
    ) {
        return Ok(trust_view(state));
    }
    let kept = kept_root(state);
    let pem = der::pem::encode_string("CERTIFICATE", LineEnding::LF, &anchor.der)
        .map_err(|_| UiError::new("settings", language))?;
    kept.parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| client::durable::write_atomically(&kept, pem.as_bytes()))
        .map_err(settings_error(language))?;
    state
        .update_settings(|s| s.extra_ca = Some(kept.display().to_string()))
        .map_err(settings_error(language))?;
    Ok(trust_view(state))
}

/// Back to the system's roots alone, once the person confirms.
pub fn remove_extra_ca(
    state: &AppState,
    dialogs: &dyn NativeDialogs,
) -> Result<TrustView, UiError> {
    let language = state.language();
    let view = trust_view(state);
    let Some(path) = state.settings().extra_ca.filter(|p| !p.is_empty()) else {
        return Ok(view);
    };
    let details = view
        .extra_ca
        .as_ref()
        .map_or_else(|| path.clone(), |anchor| describe(anchor, language));
    if !confirmed(
        dialogs,
        "trust.ca.remove.title",
        "trust.ca.remove.question",
        &details,
        language,
    ) {
        return Ok(view);
    }
    state
        .update_settings(|s| s.extra_ca = None)
        .map_err(settings_error(language))?;
    // Only the app's own copy is deleted, never a file the person keeps elsewhere.
    if Path::new(&path) == kept_root(state) {
        let _ = std::fs::remove_file(&path);
    }
    Ok(trust_view(state))
}

/// The sandbox's test CA: a directory chosen in a folder dialog, its root confirmed.
pub fn choose_sandbox_pki(
    state: &AppState,
    dialogs: &dyn NativeDialogs,
) -> Result<TrustView, UiError> {
    let language = state.language();
    let Some(dir) = dialogs.pick_folder(word("trust.pki.pick", language)) else {
        return Ok(trust_view(state));
    };
    let root = dir.join("root.pem");
    if !root.exists() {
        return Err(UiError::new("sandbox-pki", language));
    }
    let anchor = read_anchor(&root).map_err(|e| e.ui(language))?;
    let details = describe(&anchor.view(&root), language);
    if !confirmed(
        dialogs,
        "trust.pki.confirm.title",
        "trust.pki.confirm.question",
        &details,
        language,
    ) {
        return Ok(trust_view(state));
    }
    state
        .update_settings(|s| s.sandbox_pki = Some(dir.display().to_string()))
        .map_err(settings_error(language))?;
    Ok(trust_view(state))
}

/// Back to the default test CA directory, once the person confirms.
pub fn reset_sandbox_pki(
    state: &AppState,
    dialogs: &dyn NativeDialogs,
) -> Result<TrustView, UiError> {
    let language = state.language();
    if state.settings().sandbox_pki.is_none() {
        return Ok(trust_view(state));
    }
    let default = {
        let mut settings = state.settings();
        settings.sandbox_pki = None;
        crate::commands::portal::sandbox_pki_dir_for(&settings, &state.data_dir)
    };
    if !confirmed(
        dialogs,
        "trust.pki.reset.title",
        "trust.pki.reset.question",
        &default.display().to_string(),
        language,
    ) {
        return Ok(trust_view(state));
    }
    state
        .update_settings(|s| s.sandbox_pki = None)
        .map_err(settings_error(language))?;
    Ok(trust_view(state))
}

/// The dialogs of tauri-plugin-dialog, over the main window. They block, so they are called
/// off the async runtime (the plugin runs them on the main thread and waits for the answer).
pub(crate) struct Native<'a> {
    pub(crate) app: &'a AppHandle,
}

impl NativeDialogs for Native<'_> {
    fn pick_file(&self, title: &str, filter: &str, extensions: &[&str]) -> Option<PathBuf> {
        let mut dialog = self
            .app
            .dialog()
            .file()
            .set_title(title)
            .add_filter(filter, extensions);
        if let Some(window) = self.app.get_webview_window("main") {
            dialog = dialog.set_parent(&window);
        }
        dialog.blocking_pick_file()?.into_path().ok()
    }

    fn pick_folder(&self, title: &str) -> Option<PathBuf> {
        let mut dialog = self.app.dialog().file().set_title(title);
        if let Some(window) = self.app.get_webview_window("main") {
            dialog = dialog.set_parent(&window);
        }
        dialog.blocking_pick_folder()?.into_path().ok()
    }

    fn confirm(&self, title: &str, text: &str, yes: &str, no: &str) -> bool {
        let mut dialog = self
            .app
            .dialog()
            .message(text)
            .title(title)
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom(
                yes.to_owned(),
                no.to_owned(),
            ));
        if let Some(window) = self.app.get_webview_window("main") {
            dialog = dialog.parent(&window);
        }
        dialog.blocking_show()
    }
}

type Action = fn(&AppState, &dyn NativeDialogs) -> Result<TrustView, UiError>;

/// Runs `action` with the native dialogs on a blocking thread. One dialog about trust at a time
/// (certificates and PKCS#11 modules alike): a second request while one is open (a script
/// calling in a loop, say) gets `busy`, which only reads the state.
pub(crate) async fn with_native_dialogs<T: Send + 'static>(
    app: AppHandle,
    action: impl FnOnce(&AppState, &dyn NativeDialogs) -> Result<T, UiError> + Send + 'static,
    busy: impl FnOnce(&AppState) -> Result<T, UiError> + Send + 'static,
) -> Result<T, UiError> {
    let language = app.state::<AppState>().language();
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        let Ok(_one_at_a_time) = state.trust_dialog.try_lock() else {
            return busy(&state);
        };
        action(&state, &Native { app: &app })
    })
    .await
    .map_err(|_| UiError::new("runtime", language))?
}

async fn with_dialogs(app: AppHandle, action: Action) -> Result<TrustView, UiError> {
    with_native_dialogs(app, action, |state| Ok(trust_view(state))).await
}

#[tauri::command]
pub fn trust_get(state: State<'_, AppState>) -> TrustView {
    trust_view(&state)
}

#[tauri::command]
pub async fn trust_choose_ca(app: AppHandle) -> Result<TrustView, UiError> {
    with_dialogs(app, choose_extra_ca).await
}

#[tauri::command]
pub async fn trust_remove_ca(app: AppHandle) -> Result<TrustView, UiError> {
    with_dialogs(app, remove_extra_ca).await
}

#[tauri::command]
pub async fn trust_choose_sandbox_pki(app: AppHandle) -> Result<TrustView, UiError> {
    with_dialogs(app, choose_sandbox_pki).await
}

#[tauri::command]
pub async fn trust_reset_sandbox_pki(app: AppHandle) -> Result<TrustView, UiError> {
    with_dialogs(app, reset_sandbox_pki).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::{X509Builder, X509NameBuilder};

    /// A self-signed root named `name`, as PEM.
    fn root(name: &str) -> String {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("curve");
        let key = PKey::from_ec_key(EcKey::generate(&group).expect("key")).expect("pkey");
        let mut subject = X509NameBuilder::new().expect("name");
        subject
            .append_entry_by_nid(Nid::COMMONNAME, name)
            .expect("cn");
        let subject = subject.build();
        let mut cert = X509Builder::new().expect("builder");
        cert.set_version(2).expect("version");
        cert.set_subject_name(&subject).expect("subject");
        cert.set_issuer_name(&subject).expect("issuer");
        cert.set_pubkey(&key).expect("pubkey");
        cert.set_not_before(&Asn1Time::from_str("20250101000000Z").expect("time"))
            .expect("nb");
        cert.set_not_after(&Asn1Time::from_str("20350101000000Z").expect("time"))
            .expect("na");
        cert.sign(&key, MessageDigest::sha256()).expect("sign");
        String::from_utf8(cert.build().to_pem().expect("pem")).expect("utf8")
    }

    /// Dialogs that answer as scripted and remember what they were shown.
    #[derive(Default)]
    struct Scripted {
        file: Option<PathBuf>,
        folder: Option<PathBuf>,
        yes: bool,
        shown: RefCell<Vec<(String, String)>>,
    }

    impl NativeDialogs for Scripted {
        fn pick_file(&self, _: &str, _: &str, extensions: &[&str]) -> Option<PathBuf> {
            assert!(extensions.contains(&"pem"));
            self.file.clone()
        }
        fn pick_folder(&self, _: &str) -> Option<PathBuf> {
            self.folder.clone()
        }
        fn confirm(&self, title: &str, text: &str, yes: &str, no: &str) -> bool {
            assert_ne!(yes, no);
            self.shown
                .borrow_mut()
                .push((title.to_owned(), text.to_owned()));
            self.yes
        }
    }

    fn english(dir: &Path) -> AppState {
        let state = AppState::load(dir.to_path_buf());
        state
            .save_settings(crate::state::Settings {
                language: "en".into(),
                ..Default::default()
            })
            .expect("save");
        state
    }

    #[test]
    fn a_root_is_trusted_only_after_the_person_confirms_what_the_dialog_showed() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = english(dir.path());
        let chosen = dir.path().join("corporate-root.pem");
        let pem = root("Corporate Root CA");
        std::fs::write(&chosen, &pem).expect("write");
        let expected = read_anchor(&chosen).expect("anchor");

        // The file dialog closed: nothing asked, nothing saved.
        let closed = Scripted::default();
        assert_eq!(
            choose_extra_ca(&state, &closed).expect("view").extra_ca,
            None
        );
        assert!(closed.shown.borrow().is_empty());

        // Shown and declined: nothing saved.
        let declined = Scripted {
            file: Some(chosen.clone()),
            ..Default::default()
        };
        assert_eq!(
            choose_extra_ca(&state, &declined).expect("view").extra_ca,
            None
        );
        assert_eq!(state.settings().extra_ca, None);
        let (title, text) = declined.shown.borrow()[0].clone();
        assert_eq!(title, word("trust.ca.confirm.title", Language::English));
        let fingerprint = fingerprint(&expected.info.sha256);
        assert_eq!(fingerprint.len(), 32 * 3 - 1);
        for shown in [
            "Corporate Root CA",
            "2025-01-01",
            "2035-01-01",
            fingerprint.as_str(),
            word("trust.ca.confirm.question", Language::English),
            word("trust.issuer", Language::English),
        ] {
            assert!(text.contains(shown), "{shown:?} not in {text}");
        }

        // Confirmed: the app keeps its own copy of exactly the bytes shown.
        let confirmed = Scripted {
            file: Some(chosen.clone()),
            yes: true,
            ..Default::default()
        };
        let view = choose_extra_ca(&state, &confirmed).expect("view");
        let trusted = view.extra_ca.expect("trusted");
        assert_eq!(trusted.sha256, fingerprint);
        assert_eq!(trusted.subject, "Corporate Root CA");
        let kept = kept_root(&state);
        assert_eq!(state.settings().extra_ca, Some(kept.display().to_string()));
        assert_eq!(read_anchor(&kept).expect("kept").der, expected.der);
        // Changing the chosen file afterwards changes nothing trusted.
        std::fs::write(&chosen, root("Someone Else")).expect("write");
        assert_eq!(
            trust_view(&state).extra_ca.map(|a| a.sha256),
            Some(fingerprint)
        );
        // And the portal client takes it.
        let settings = state.settings();
        assert!(client::portal::PortalClient::new(
            "https://portal.example",
            settings.extra_ca.as_deref().map(Path::new)
        )
        .is_ok());
    }

    #[test]
    fn a_file_that_is_not_one_certificate_is_refused_before_any_question() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = english(dir.path());
        let two = format!("{}{}", root("One"), root("Two"));
        for (name, bytes) in [
            ("garbage.pem", b"not a certificate".to_vec()),
            (
                "key.pem",
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec(),
            ),
            ("two.pem", two.into_bytes()),
            ("huge.der", vec![0x30; 100 * 1024]),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write");
            let dialogs = Scripted {
                file: Some(path),
                yes: true,
                ..Default::default()
            };
            let error = choose_extra_ca(&state, &dialogs).expect_err(name);
            assert_eq!(error.code, "ca-file", "{name}");
            assert!(dialogs.shown.borrow().is_empty(), "{name}");
        }
        assert_eq!(state.settings().extra_ca, None);
        // DER is read as well as PEM.
        let der = dir.path().join("root.der");
        let pem = root("DER Root");
        let (_, bytes) = der::pem::decode_vec(pem.trim().as_bytes()).expect("pem");
        std::fs::write(&der, bytes).expect("write");
        assert_eq!(
            read_anchor(&der).expect("der").info.subject.as_deref(),
            Some("DER Root")
        );
    }

    #[test]
    fn removing_the_root_asks_first() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = english(dir.path());
        let chosen = dir.path().join("root.pem");
        std::fs::write(&chosen, root("Corporate Root CA")).expect("write");
        let yes = Scripted {
            file: Some(chosen),
            yes: true,
            ..Default::default()
        };
        choose_extra_ca(&state, &yes).expect("trusted");
        let no = Scripted::default();
        assert!(remove_extra_ca(&state, &no)
            .expect("view")
            .extra_ca
            .is_some());
        assert!(no.shown.borrow()[0].1.contains("Corporate Root CA"));
        let view = remove_extra_ca(&state, &yes).expect("view");
        assert_eq!(view.extra_ca, None);
        assert_eq!(state.settings().extra_ca, None);
        assert!(!kept_root(&state).exists());
    }

    #[test]
    fn the_sandbox_test_ca_is_chosen_by_folder_and_its_root_confirmed() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = english(dir.path());
        let empty = dir.path().join("empty");
        std::fs::create_dir_all(&empty).expect("dir");
        let no_root = Scripted {
            folder: Some(empty),
            yes: true,
            ..Default::default()
        };
        assert_eq!(
            choose_sandbox_pki(&state, &no_root)
                .expect_err("no root")
                .code,
            "sandbox-pki"
        );
        let pki = dir.path().join("pki");
        std::fs::create_dir_all(&pki).expect("dir");
        std::fs::write(pki.join("root.pem"), root("Podpis Test Root")).expect("write");
        let declined = Scripted {
            folder: Some(pki.clone()),
            ..Default::default()
        };
        assert!(
            !choose_sandbox_pki(&state, &declined)
                .expect("view")
                .sandbox_pki
                .chosen
        );
        assert!(declined.shown.borrow()[0].1.contains("Podpis Test Root"));
        assert_eq!(state.settings().sandbox_pki, None);
        let confirmed = Scripted {
            folder: Some(pki.clone()),
            yes: true,
            ..Default::default()
        };
        let view = choose_sandbox_pki(&state, &confirmed).expect("view");
        assert!(view.sandbox_pki.chosen);
        assert_eq!(view.sandbox_pki.dir, pki.display().to_string());
        assert_eq!(
            view.sandbox_pki.root.map(|r| r.subject).as_deref(),
            Some("Podpis Test Root")
        );
        // Back to the default, once confirmed.
        assert!(
            reset_sandbox_pki(&state, &Scripted::default())
                .expect("view")
                .sandbox_pki
                .chosen
        );
        assert!(
            !reset_sandbox_pki(&state, &confirmed)
                .expect("view")
                .sandbox_pki
                .chosen
        );
        assert_eq!(state.settings().sandbox_pki, None);
    }
}
