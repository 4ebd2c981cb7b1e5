//! The desktop app: a thin Tauri 2 layer over `client` and `signing` (and, in sandbox mode, the
//! `portal` running inside the app). The UI reaches Rust only through the commands here and the
//! events `card://changed`, `pkcs11://changed` (the PKCS#11 modules were loaded),
//! `confirm://progress`, and `consent://asked` / `consent://withdrawn` (a question of the
//! browser's host, `consent`).

pub mod acl;
pub mod commands;
pub mod consent;
pub mod error;
pub mod modules;
pub mod state;
pub mod webview;
pub mod words;

use tauri::{Emitter, Manager};

use state::AppState;

pub fn run() {
    let data_dir = client::default_data_dir();
    // First, before any thread exists and before anything touches OpenSSL: the sandbox portal
    // verifies with the GOST engine, which OpenSSL loads only when it initialises.
    portal::sandbox::prepare_gost_engine(&data_dir);
    let state = AppState::load(data_dir);
    // The browser's questions (podpis-host) are taken from start-up, before the window exists.
    // Started by the host for a question (`--consent`) while another app answers them, this one
    // has nothing to do.
    let listening = consent::bind();
    if listening.is_none() && std::env::args().any(|a| a == "--consent") {
        return;
    }
    let result = tauri::Builder::default()
        .manage(state)
        .manage(commands::sign::SignDesk::default())
        .manage(commands::verify::VerifyDesk::default())
        // Rust opens its dialogs; the window is granted none of the plugin's commands.
        .plugin(tauri_plugin_dialog::init())
        // Closing the window refuses the question it shows.
        .on_window_event(|window, event| {
            if matches!(
                event,
                tauri::WindowEvent::CloseRequested { .. } | tauri::WindowEvent::Destroyed
            ) {
                window.state::<AppState>().consent.refuse_current();
            }
        })
        .setup(move |app| {
            if let Some(listening) = listening {
                consent::serve(app.handle().clone(), listening);
            }
            webview::lean(app);
            commands::cards::start_monitor(app.handle().clone());
            commands::sign::watch_drops(app.handle());
            // The PKCS#11 modules are probed (in child processes) and loaded on a thread of their
            // own when the tier is first used: the window does not wait for them, and hears when
            // they are loaded.
            let state = app.state::<AppState>();
            let handle = app.handle().clone();
            state.pkcs11.on_change(move || {
                let _ = handle.emit("pkcs11://changed", ());
            });
            state.defer_pkcs11();
            if std::env::var("PODPIS_SANDBOX").is_ok_and(|v| v == "1") {
                let handle = app.handle().clone();
                tauri::async_runtime::spawn(async move {
                    let state = handle.state::<AppState>();
                    if let Err(e) = commands::portal::start_sandbox(&state).await {
                        eprintln!("podpis-desktop: the sandbox did not start: {}", e.message);
                    }
                });
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::settings::settings_get,
            commands::settings::settings_set,
            commands::trust::trust_get,
            commands::trust::trust_choose_ca,
            commands::trust::trust_remove_ca,
            commands::trust::trust_choose_sandbox_pki,
            commands::trust::trust_reset_sandbox_pki,
            commands::portal::portal_info,
            commands::portal::sandbox_start,
            commands::portal::login,
            commands::portal::logout,
            commands::portal::account,
            commands::portal::diagnose,
            commands::cards::readers,
            commands::cards::certificates,
            commands::cards::tokens,
            commands::cards::token_certificates,
            commands::modules::pkcs11_modules,
            commands::modules::pkcs11_add_module,
            commands::modules::pkcs11_remove_module,
            commands::confirm::confirm_prepare,
            commands::confirm::confirm_sign,
            commands::confirm::confirm_cancel,
            commands::confirm::outbox_list,
            commands::confirm::outbox_send,
            commands::pin::pin_target,
            commands::pin::pin_apply,
            commands::verify::verify_pick,
            commands::verify::verify_clear,
            commands::verify::verify_shown,
            commands::verify::verify_roots,
            commands::verify::verify_root_add,
            commands::verify::verify_root_remove,
            commands::sign::sign_pick_files,
            commands::sign::sign_files_list,
            commands::sign::sign_clear,
            commands::sign::sign_certificates,
            commands::sign::sign_start,
            commands::consent::consent_pending,
            commands::consent::consent_answer,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("podpis-desktop: {e}");
        std::process::exit(1);
    }
}
