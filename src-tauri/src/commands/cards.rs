use client::remembered::RememberedChoice;
use client::tokens::{FoundKey, KeySource};
use serde::Serialize;
use signing::card::monitor::Monitor;
use signing::certificate::CertificateInfo;
use signing::token::{list_readers, Reader, ReaderInfo};
use tauri::{AppHandle, Emitter, State};

use crate::error::UiError;
use crate::modules::{self, TokenView};
use crate::state::AppState;

/// Watches readers and cards and sends the whole list to the UI on every change, as
/// `card://changed`. When pcscd is not running, it tries again every two seconds.
pub fn start_monitor(app: AppHandle) {
    std::thread::Builder::new()
        .name("podpis-monitor".into())
        .spawn(move || loop {
            match Monitor::new() {
                Ok(mut monitor) => {
                    let _ = monitor.run(|_| {
                        let readers = list_readers().unwrap_or_default();
                        app.emit("card://changed", &readers).is_ok()
                    });
                }
                Err(_) => {
                    let _ = app.emit("card://changed", Vec::<ReaderInfo>::new());
                }
            }
            std::thread::sleep(std::time::Duration::from_secs(2));
        })
        .map(|_| ())
        .unwrap_or_else(|e| eprintln!("podpis-desktop: no reader monitor: {e}"));
}

#[tauri::command]
pub async fn readers(state: State<'_, AppState>) -> Result<Vec<ReaderInfo>, UiError> {
    let language = state.language();
    tauri::async_runtime::spawn_blocking(list_readers)
        .await
        .map_err(|_| UiError::new("card-error", language))?
        .map_err(|e| UiError::card(&e.into(), language))
}

#[derive(Serialize)]
pub struct FindingView {
    code: &'static str,
    severity: signing::certificate::Severity,
    message: String,
}

/// Where a certificate's key is: a card in a reader, or a token behind a PKCS#11 module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    /// The reader, or the PKCS#11 token's label: what the confirmation names to choose the key
    /// (`KeySource::place`).
    reader: String,
    /// `apdu` (a card an APDU driver reads) or `pkcs11` (a token behind a module).
    tier: &'static str,
    /// The card's key reference; null for a PKCS#11 token.
    key: Option<u8>,
    /// The PKCS#11 module, slot and the key's `CKA_ID` (hex); null for a card.
    module: Option<String>,
    slot: Option<u64>,
    key_id: Option<String>,
    token_serial: String,
    /// The PIN is entered on the reader's keypad, not typed into Podpis.
    pin_on_reader: bool,
}

impl Place {
    pub fn card(reader: String, key: u8, serial: String) -> Self {
        Self {
            reader,
            tier: "apdu",
            key: Some(key),
            module: None,
            slot: None,
            key_id: None,
            token_serial: serial,
            pin_on_reader: false,
        }
    }

    pub fn of(found: &FoundKey) -> Self {
        let (key, module, slot, key_id) = match &found.source {
            KeySource::Card { reference, .. } => (Some(*reference), None, None, None),
            KeySource::Pkcs11 { token, id, .. } => (
                None,
                Some(token.module.display().to_string()),
                Some(token.slot),
                Some(hex::encode(id)),
            ),
        };
        Self {
            reader: found.source.place(),
            tier: found.source.tier(),
            key,
            module,
            slot,
            key_id,
            token_serial: found.token_serial.clone(),
            pin_on_reader: !found.pin.needs_typed_pin(),
        }
    }
}

#[derive(Serialize)]
pub struct CertificateView {
    #[serde(flatten)]
    place: Place,
    #[serde(flatten)]
    info: CertificateInfo,
    findings: Vec<FindingView>,
    /// Why this certificate cannot do the job asked for (a GOST R 34.10-2001 key, no OGRN to
    /// register an organisation), in the words the flow would stop with; the UI offers no
    /// choice of it.
    unfit: Option<UiError>,
    /// The certificate chosen last (`client::remembered`): the UI marks it and offers it first.
    remembered: bool,
}

impl CertificateView {
    pub fn new(
        place: Place,
        info: CertificateInfo,
        purpose: protocol::Purpose,
        language: client::Language,
    ) -> Self {
        Self {
            unfit: client::flow::unfit_for(&info, purpose).map(|e| UiError::flow(&e, language)),
            findings: findings(&info, language),
            place,
            info,
            remembered: false,
        }
    }

    /// Marks the view when its certificate is `last`, the digest chosen last.
    fn remembered_as(mut self, last: Option<&str>) -> Self {
        self.remembered = last.is_some_and(|d| d.eq_ignore_ascii_case(&self.info.sha256));
        self
    }
}

pub fn findings(info: &CertificateInfo, language: client::Language) -> Vec<FindingView> {
    info.findings_at(std::time::SystemTime::now())
        .into_iter()
        .map(|f| FindingView {
            code: f.code.as_str(),
            severity: f.severity,
            message: client::messages::finding(f.code, language).to_owned(),
        })
        .collect()
}

/// The certificates on the card in `reader`, each judged for `purpose`.
#[tauri::command]
pub async fn certificates(
    state: State<'_, AppState>,
    reader: String,
    purpose: protocol::Purpose,
) -> Result<Vec<CertificateView>, UiError> {
    let language = state.language();
    let name = reader.clone();
    let last = RememberedChoice::in_data_dir(&state.data_dir).certificate();
    let cache = client::certificates::CertificateCache::in_data_dir(&state.data_dir);
    let (_, contents) =
        tauri::async_runtime::spawn_blocking(move || cache.read_card(&Reader::new(name)))
            .await
            .map_err(|_| UiError::new("card-error", language))?
            .map_err(|e| UiError::card(&e, language))?;
    Ok(contents
        .keys
        .into_iter()
        .filter_map(|key| {
            let info = CertificateInfo::parse(&key.certificate).ok()?;
            let place = Place::card(reader.clone(), key.reference, contents.serial.clone());
            Some(
                CertificateView::new(place, info, purpose, language).remembered_as(last.as_deref()),
            )
        })
        .collect())
}

/// The tokens of the PKCS#11 modules in use, once they are loaded (this waits for a load under
/// way). A module whose tokens cannot be listed is left out here; the settings and the
/// diagnostics say why.
#[tauri::command]
pub async fn tokens(state: State<'_, AppState>) -> Result<Vec<TokenView>, UiError> {
    let language = state.language();
    let tier = state.pkcs11.tier().await;
    let (tokens, errors) = tauri::async_runtime::spawn_blocking(move || modules::tokens(&tier))
        .await
        .map_err(|_| UiError::new("card-error", language))?;
    for e in errors {
        eprintln!("podpis-desktop: PKCS#11: {e}");
    }
    Ok(tokens)
}

/// The certificates on the PKCS#11 tokens, each judged for `purpose`, once the modules are
/// loaded (this waits for a load under way). A certificate that a card in a reader also holds is
/// the UI's to show once, as the card's (as the flow does).
#[tauri::command]
pub async fn token_certificates(
    state: State<'_, AppState>,
    purpose: protocol::Purpose,
) -> Result<Vec<CertificateView>, UiError> {
    let language = state.language();
    let last = RememberedChoice::in_data_dir(&state.data_dir).certificate();
    let tier = state.pkcs11.tier().await;
    let (keys, errors) = tauri::async_runtime::spawn_blocking(move || tier.keys())
        .await
        .map_err(|_| UiError::new("card-error", language))?;
    for e in errors {
        eprintln!("podpis-desktop: PKCS#11: {e}");
    }
    Ok(keys
        .iter()
        .filter_map(|key| {
            let info = CertificateInfo::parse(&key.certificate).ok()?;
            Some(
                CertificateView::new(Place::of(key), info, purpose, language)
                    .remembered_as(last.as_deref()),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use client::Language;
    use protocol::Purpose;

    /// What the old UEC's certificate says: a GOST R 34.10-2001 key, a person, no OGRN.
    fn uec_2001() -> CertificateInfo {
        CertificateInfo {
            subject: Some("Test Person".into()),
            surname: Some("Person".into()),
            given_names: Some("Test".into()),
            snils: Some("11223344595".into()),
            inn: None,
            inn_le: None,
            ogrn: None,
            ogrnip: None,
            organisation: None,
            issuer: "Test CA".into(),
            serial: "01".into(),
            not_before: "2025-01-01T00:00:00Z".into(),
            not_after: "2035-01-01T00:00:00Z".into(),
            algorithm: "gost2001".into(),
            parameter_set: None,
            key_usage: signing::certificate::KeyUsage::default(),
            policies: Vec::new(),
            subject_sign_tool: None,
            issuer_sign_tool: None,
            sha256: "00".repeat(32),
            validity: (1_735_689_600, 2_051_222_400),
        }
    }

    fn view(info: CertificateInfo, purpose: Purpose) -> serde_json::Value {
        let place = Place::card("Reader 1".into(), 1, "0001".into());
        let view = CertificateView::new(place, info, purpose, Language::English);
        serde_json::to_value(view).expect("json")
    }

    #[test]
    fn only_the_certificate_chosen_last_is_marked() {
        let place = || Place::card("Reader 1".into(), 1, "0001".into());
        let info = uec_2001();
        let mark = |last: Option<&str>| {
            let view = CertificateView::new(
                place(),
                info.clone(),
                Purpose::ConfirmIdentity,
                Language::English,
            )
            .remembered_as(last);
            serde_json::to_value(view).expect("json")["remembered"].clone()
        };
        assert_eq!(mark(None), false, "nothing chosen before");
        assert_eq!(
            mark(Some(&"11".repeat(32))),
            false,
            "another certificate chosen"
        );
        assert_eq!(mark(Some(&"00".repeat(32))), true);
    }

    #[test]
    fn a_2001_key_is_unfit_for_either_job_with_the_flows_words() {
        let info = uec_2001();
        assert_eq!(info.algorithm, "gost2001");
        for purpose in [Purpose::ConfirmIdentity, Purpose::RegisterOrganisation] {
            let json = view(info.clone(), purpose);
            assert_eq!(json["unfit"]["code"], "algorithm-deprecated", "{purpose:?}");
            assert_eq!(
                json["unfit"]["message"],
                client::messages::error(
                    &client::flow::FlowError::AlgorithmRefusedByPortal,
                    Language::English
                )
            );
            assert_eq!(json["reader"], "Reader 1");
            assert_eq!(json["tier"], "apdu");
            assert_eq!(json["key"], 1);
            assert_eq!(json["module"], serde_json::Value::Null);
        }
    }

    /// A key on a PKCS#11 token says where it is: the token's label as the place the flow is
    /// asked for, the tier, the module, slot and CKA_ID, and a PIN pad where there is one.
    #[test]
    fn a_pkcs11_key_says_its_token_module_and_pin_entry() {
        let mut info = uec_2001();
        info.algorithm = "gost2012-256".into();
        let token = signing::pkcs11::TokenId {
            module: "/usr/lib/librtpkcs11ecp.so".into(),
            slot: 3,
            serial: "3A5F0C21".into(),
        };
        let found = FoundKey {
            source: KeySource::Pkcs11 {
                token,
                token_label: "Rutoken ECP".into(),
                id: vec![0x0a, 0x01],
            },
            algorithm: signing::KeyAlgorithm::Gost2012_256,
            certificate: Vec::new(),
            pin: client::tokens::PinInfo::Flags {
                condition: signing::PinCondition::NoWarning,
                on_reader: true,
            },
            token_serial: "3A5F0C21".into(),
        };
        let view = CertificateView::new(
            Place::of(&found),
            info,
            Purpose::ConfirmIdentity,
            Language::English,
        );
        let json = serde_json::to_value(view).expect("json");
        assert_eq!(json["reader"], "Rutoken ECP");
        assert_eq!(json["tier"], "pkcs11");
        assert_eq!(json["module"], "/usr/lib/librtpkcs11ecp.so");
        assert_eq!(json["slot"], 3);
        assert_eq!(json["key_id"], "0a01");
        assert_eq!(json["key"], serde_json::Value::Null);
        assert_eq!(json["token_serial"], "3A5F0C21");
        assert_eq!(json["pin_on_reader"], true);
        assert_eq!(json["unfit"], serde_json::Value::Null);
    }

    #[test]
    fn without_ogrn_a_certificate_confirms_a_person_but_registers_no_organisation() {
        let mut info = uec_2001();
        info.algorithm = "gost2012-256".into();
        info.ogrn = None;
        assert_eq!(
            view(info.clone(), Purpose::ConfirmIdentity)["unfit"],
            serde_json::Value::Null
        );
        let json = view(info.clone(), Purpose::RegisterOrganisation);
        assert_eq!(json["unfit"]["code"], "not-an-organisation");
        info.ogrn = Some("1027700132195".into());
        assert_eq!(
            view(info, Purpose::RegisterOrganisation)["unfit"],
            serde_json::Value::Null
        );
    }
}
