use tauri::State;

use crate::error::UiError;
use crate::state::{AppState, Settings};

#[tauri::command]
pub fn settings_get(state: State<'_, AppState>) -> Settings {
    state.settings()
}

#[tauri::command]
pub fn settings_set(
    state: State<'_, AppState>,
    mut settings: Settings,
) -> Result<Settings, UiError> {
    if settings.language != "en" {
        settings.language = "ru".into();
    }
    let language = settings.language();
    if let Some(address) = settings.portal.as_deref().filter(|a| !a.is_empty()) {
        client::portal::PortalClient::new(address, None)
            .map_err(|e| UiError::portal(&e, language))?;
    }
    state
        .save_settings(settings)
        .map_err(|_| UiError::new("settings", language))?;
    Ok(state.settings())
}
