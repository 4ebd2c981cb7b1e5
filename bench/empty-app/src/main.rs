//! `tauri-empty-app`: one window with a blank page and nothing else (no command, no plugin, no
//! state, no thread of its own). `podpis-bench memory` measures it beside podpis-desktop, so the
//! memory Podpis adds is told apart from what Tauri and WebKitGTK cost anyway.

// No console window on Windows release builds, as podpis-desktop.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("tauri-empty-app: {e}");
        std::process::exit(1);
    }
}
