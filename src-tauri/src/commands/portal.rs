use std::path::{Path, PathBuf};

use client::portal::PortalClient;
use client::session::{SessionInfo, Sessions};
use serde::Serialize;
use tauri::State;

use crate::error::UiError;
use crate::state::{AppState, Settings};

#[derive(Serialize)]
pub struct PortalInfo {
    portal: String,
    sandbox: bool,
    sandbox_running: bool,
}

#[derive(Serialize)]
pub struct AccountView {
    #[serde(flatten)]
    account: protocol::Account,
    outbox: usize,
}

/// The portal in use: the one set, else the running sandbox, else the sandbox's default address.
pub async fn portal_address(state: &AppState) -> String {
    if let Some(portal) = state.settings().portal.filter(|p| !p.is_empty()) {
        return portal;
    }
    match state.sandbox.lock().await.as_ref() {
        Some(running) => running.origin.clone(),
        None => client::SANDBOX_PORTAL.to_owned(),
    }
}

pub async fn client_for(state: &AppState) -> Result<PortalClient, UiError> {
    let extra_ca = state
        .settings()
        .extra_ca
        .filter(|c| !c.is_empty())
        .map(PathBuf::from);
    PortalClient::new(&portal_address(state).await, extra_ca.as_deref())
        .map_err(|e| UiError::portal(&e, state.language()))
}

pub async fn token_for(
    state: &AppState,
    portal: &PortalClient,
) -> Result<zeroize::Zeroizing<String>, UiError> {
    Sessions::new(&state.data_dir)
        .token(&portal.origin())
        .map_err(|e| UiError::session(&e, state.language()))
}

#[tauri::command]
pub async fn portal_info(state: State<'_, AppState>) -> Result<PortalInfo, UiError> {
    Ok(PortalInfo {
        portal: portal_address(&state).await,
        sandbox: state.settings().portal.filter(|p| !p.is_empty()).is_none(),
        sandbox_running: state.sandbox.lock().await.is_some(),
    })
}

/// The test PKI the sandbox trusts: the one chosen in the settings, else the one the environment
/// names (the tests' way), else the data directory's.
pub fn sandbox_pki_dir_for(settings: &Settings, data_dir: &Path) -> PathBuf {
    settings
        .sandbox_pki
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("PODPIS_SANDBOX_PKI").map(PathBuf::from))
        .unwrap_or_else(|| data_dir.join("sandbox").join("pki"))
}

pub fn sandbox_pki_dir(state: &AppState) -> PathBuf {
    sandbox_pki_dir_for(&state.settings(), &state.data_dir)
}

/// Starts the sandbox portal inside the app, on loopback, with its database in the data
/// directory, trusting the test PKI of the virtual card.
pub async fn start_sandbox(state: &AppState) -> Result<String, UiError> {
    let language = state.language();
    let mut sandbox = state.sandbox.lock().await;
    if let Some(running) = sandbox.as_ref() {
        return Ok(running.origin.clone());
    }
    let pki = sandbox_pki_dir(state);
    let running = portal::sandbox::start(&state.data_dir.join("sandbox"), &pki)
        .await
        .map_err(|e| match e {
            portal::sandbox::SandboxError::NoTestPki(_) => UiError::new("sandbox-pki", language),
            other => {
                eprintln!("podpis-desktop: sandbox: {other}");
                UiError::new("sandbox", language)
            }
        })?;
    let origin = running.origin.clone();
    *sandbox = Some(running);
    Ok(origin)
}

#[tauri::command]
pub async fn sandbox_start(state: State<'_, AppState>) -> Result<PortalInfo, UiError> {
    start_sandbox(&state).await?;
    portal_info(state).await
}

#[tauri::command]
pub async fn login(
    state: State<'_, AppState>,
    login: String,
    password: String,
) -> Result<AccountView, UiError> {
    let language = state.language();
    let password = zeroize::Zeroizing::new(password);
    let portal = client_for(&state).await?;
    let answer = portal
        .login(&login, &password)
        .await
        .map_err(|e| UiError::portal(&e, language))?;
    let info = SessionInfo {
        portal: portal.origin(),
        account: answer.account,
        expires_at: answer.expires_at,
    };
    Sessions::new(&state.data_dir)
        .save(&info, &answer.token)
        .map_err(|e| UiError::session(&e, language))?;
    account(state).await
}

#[tauri::command]
pub async fn logout(state: State<'_, AppState>) -> Result<(), UiError> {
    let portal = client_for(&state).await?;
    if let Ok(token) = token_for(&state, &portal).await {
        let _ = portal.logout(&token).await;
    }
    Sessions::new(&state.data_dir)
        .clear(&portal.origin())
        .map_err(|e| UiError::session(&e, state.language()))
}

#[tauri::command]
pub async fn account(state: State<'_, AppState>) -> Result<AccountView, UiError> {
    let portal = client_for(&state).await?;
    let token = token_for(&state, &portal).await?;
    let account = portal
        .account(&token)
        .await
        .map_err(|e| UiError::portal(&e, state.language()))?;
    let outbox = client::outbox::Outbox::open(&state.data_dir)
        .and_then(|o| o.pending_for(&portal.origin(), &account.id))
        .map_or(0, |p| p.len());
    Ok(AccountView { account, outbox })
}

#[tauri::command]
pub async fn diagnose(state: State<'_, AppState>) -> Result<Vec<client::diagnose::Check>, UiError> {
    let portal = client_for(&state).await.map_err(|e| e.message);
    let tier = state.pkcs11.tier().await;
    Ok(client::diagnose::run(portal, &tier, state.language()).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn the_portal_is_the_sandbox_until_one_is_set() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = AppState::load(dir.path().to_path_buf());
        assert_eq!(
            runtime().block_on(portal_address(&state)),
            client::SANDBOX_PORTAL
        );
        let settings = Settings {
            portal: Some("https://portal.example".into()),
            ..Settings::default()
        };
        state.save_settings(settings).expect("save");
        assert_eq!(
            runtime().block_on(portal_address(&state)),
            "https://portal.example"
        );
        // An insecure address is refused with the table's words.
        let settings = Settings {
            portal: Some("http://portal.example".into()),
            ..Settings::default()
        };
        state.save_settings(settings).expect("save");
        let error = runtime()
            .block_on(client_for(&state))
            .expect_err("insecure");
        assert_eq!(error.code, "portal-address");
        assert!(error.message.contains("HTTP"));
    }

    #[test]
    fn the_sandbox_says_what_to_do_when_its_test_ca_is_missing() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = AppState::load(dir.path().to_path_buf());
        let settings = Settings {
            sandbox_pki: Some(dir.path().join("nowhere").display().to_string()),
            ..Settings::default()
        };
        state.save_settings(settings).expect("save");
        let error = runtime()
            .block_on(start_sandbox(&state))
            .expect_err("no PKI");
        assert_eq!(error.code, "sandbox-pki");
        assert!(error.message.contains("podpis-vcard pki init"));
    }

    #[test]
    fn without_a_session_the_account_is_not_logged_in() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = AppState::load(dir.path().to_path_buf());
        let settings = Settings {
            portal: Some("http://127.0.0.1:9".into()),
            ..Settings::default()
        };
        state.save_settings(settings).expect("save");
        let rt = runtime();
        let portal = rt.block_on(client_for(&state)).expect("client");
        let error = rt
            .block_on(token_for(&state, &portal))
            .expect_err("no session");
        assert_eq!(error.code, "not-logged-in");
    }
}
