// The app's commands, declared to Tauri's access control by build.rs (each gets an
// `allow-<name>` permission) and granted to the main window in capabilities/default.json. With
// a declared manifest, Tauri refuses any command a window was not granted before the app sees
// the call. Kept in its own file so that build.rs and the tests read the same list.

/// Every command of `tauri::generate_handler!` in lib.rs.
pub const COMMANDS: &[&str] = &[
    "settings_get",
    "settings_set",
    "trust_get",
    "trust_choose_ca",
    "trust_remove_ca",
    "trust_choose_sandbox_pki",
    "trust_reset_sandbox_pki",
    "portal_info",
    "sandbox_start",
    "login",
    "logout",
    "account",
    "diagnose",
    "readers",
    "certificates",
    "tokens",
    "token_certificates",
    "pkcs11_modules",
    "pkcs11_add_module",
    "pkcs11_remove_module",
    "confirm_prepare",
    "confirm_sign",
    "confirm_cancel",
    "outbox_list",
    "outbox_send",
    "pin_target",
    "pin_apply",
    "verify_pick",
    "verify_clear",
    "verify_shown",
    "verify_roots",
    "verify_root_add",
    "verify_root_remove",
    "sign_pick_files",
    "sign_files_list",
    "sign_clear",
    "sign_certificates",
    "sign_start",
    "consent_pending",
    "consent_answer",
];

#[cfg(test)]
mod tests {
    use super::COMMANDS;
    use std::collections::BTreeSet;

    fn source(path: &str) -> String {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The main window is granted exactly the app's commands that its UI calls (ui/src/api.ts
    /// is the one place that does), and of Tauri's own only listening to events.
    #[test]
    fn the_window_is_granted_what_its_ui_calls_and_nothing_else() {
        let capability: serde_json::Value =
            serde_json::from_str(&source("capabilities/default.json")).expect("json");
        let granted: BTreeSet<String> = capability["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .map(str::to_owned)
            .collect();
        let api = source("../ui/src/api.ts");
        let called: BTreeSet<String> = api
            .split("invoke<")
            .skip(1)
            .filter_map(|call| call.split('"').nth(1))
            .map(|command| format!("allow-{}", command.replace('_', "-")))
            .chain(["core:event:allow-listen", "core:event:allow-unlisten"].map(str::to_owned))
            .collect();
        assert_eq!(granted, called);
        let declared: BTreeSet<String> = COMMANDS
            .iter()
            .map(|command| format!("allow-{}", command.replace('_', "-")))
            .collect();
        let app_granted: BTreeSet<String> = granted
            .iter()
            .filter(|p| !p.starts_with("core:"))
            .cloned()
            .collect();
        assert!(
            app_granted.is_subset(&declared),
            "granted but not declared: {:?}",
            app_granted.difference(&declared).collect::<Vec<_>>()
        );
    }

    /// Every command the app handles is declared (one left out would be refused to every
    /// window), and nothing is declared that the app does not handle.
    #[test]
    fn the_declared_commands_are_the_handled_ones() {
        let lib = source("src/lib.rs");
        let handler = lib
            .split("generate_handler![")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .expect("generate_handler!");
        let handled: BTreeSet<&str> = handler
            .split(',')
            .filter_map(|path| path.trim().rsplit("::").next())
            .filter(|name| !name.is_empty())
            .collect();
        assert_eq!(handled, COMMANDS.iter().copied().collect());
    }
}
