use serde::Serialize;
use signing::card::monitor::Monitor;
use signing::certificate::CertificateInfo;
use signing::token::{list_readers, Reader, ReaderInfo};
use tauri::{AppHandle, Emitter, State};

use crate::error::UiError;
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

#[derive(Serialize)]
pub struct CertificateView {
    reader: String,
    key: u8,
    #[serde(flatten)]
    info: CertificateInfo,
    findings: Vec<FindingView>,
    /// Why this certificate cannot do the job asked for (a GOST R 34.10-2001 key, no OGRN to
    /// register an organisation), in the words the flow would stop with; the UI offers no
    /// choice of it.
    unfit: Option<UiError>,
}

impl CertificateView {
    pub fn new(
        reader: String,
        key: u8,
        info: CertificateInfo,
        purpose: protocol::Purpose,
        language: client::Language,
    ) -> Self {
        Self {
            unfit: client::flow::unfit_for(&info, purpose).map(|e| UiError::flow(&e, language)),
            findings: findings(&info, language),
            reader,
            key,
            info,
        }
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
            Some(CertificateView::new(
                reader.clone(),
                key.reference,
                info,
                purpose,
                language,
            ))
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
        let view = CertificateView::new("Reader 1".into(), 1, info, purpose, Language::English);
        serde_json::to_value(view).expect("json")
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
        }
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
