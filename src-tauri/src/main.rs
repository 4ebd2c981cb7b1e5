//! `podpis-desktop`: the desktop app.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // A PKCS#11 module is probed in a child process of this program first: in that child, this
    // call loads the module, reports and exits, before any window exists.
    signing::pkcs11::probe::serve_if_asked();
    podpis_app::run();
}
