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

#[tauri::command]
pub async fn certificates(
    state: State<'_, AppState>,
    reader: String,
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
            Some(CertificateView {
                reader: reader.clone(),
                key: key.reference,
                findings: findings(&info, language),
                info,
            })
        })
        .collect())
}
