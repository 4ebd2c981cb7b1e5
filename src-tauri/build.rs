// The app's commands come from the same list the tests read.
include!("src/acl.rs");

fn main() {
    // An app manifest turns on Tauri's access control for the app's own commands: a window may
    // call only what its capability (capabilities/) grants.
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        println!("cargo::error=tauri-build: {e:#}");
    }
}
