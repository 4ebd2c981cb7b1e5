//! The desktop app: a thin Tauri 2 layer over `client` and `signing` (and, in sandbox mode, the
//! `portal` running inside the app). The UI reaches Rust only through the commands here and the
//! events `card://changed` and `confirm://progress`.

pub mod commands;
pub mod error;
pub mod state;

use tauri::Manager;

use state::AppState;

/// Where Debian's OpenSSL GOST engine lives; the sandbox portal needs it in-process.
const GOST_ENGINE: &str = "/usr/lib/x86_64-linux-gnu/engines-3/gost.so";

/// The sandbox portal verifies with OpenSSL's GOST engine, which OpenSSL loads from the
/// configuration named by OPENSSL_CONF when it initialises. So before anything touches OpenSSL
/// (and before any thread exists), point it at a configuration in the data directory.
fn prepare_gost_engine(data_dir: &std::path::Path) {
    if std::env::var_os("OPENSSL_CONF").is_some() || !std::path::Path::new(GOST_ENGINE).exists() {
        return;
    }
    let path = data_dir.join("openssl-gost.cnf");
    let config = format!(
        "openssl_conf = openssl_init\n[openssl_init]\nengines = engine_section\n[engine_section]\ngost = gost_section\n\
         [gost_section]\nengine_id = gost\ndynamic_path = {GOST_ENGINE}\ndefault_algorithms = ALL\n"
    );
    if std::fs::create_dir_all(data_dir).is_ok() && std::fs::write(&path, config).is_ok() {
        std::env::set_var("OPENSSL_CONF", &path);
    }
}

pub fn run() {
    let data_dir = client::default_data_dir();
    prepare_gost_engine(&data_dir);
    let state = AppState::load(data_dir);
    let result = tauri::Builder::default()
        .manage(state)
        .setup(|app| {
            commands::cards::start_monitor(app.handle().clone());
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
            commands::portal::portal_info,
            commands::portal::sandbox_start,
            commands::portal::login,
            commands::portal::logout,
            commands::portal::account,
            commands::portal::diagnose,
            commands::cards::readers,
            commands::cards::certificates,
            commands::confirm::confirm_prepare,
            commands::confirm::confirm_sign,
            commands::confirm::confirm_cancel,
            commands::confirm::outbox_list,
            commands::confirm::outbox_send,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("podpis-desktop: {e}");
        std::process::exit(1);
    }
}
