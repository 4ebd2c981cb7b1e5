//! Tokens behind PKCS#11 modules, for the tests of the PKCS#11 tier (CLI, app, benchmark): the
//! modules built with the tests, SoftHSM2 holding a profile's key, and the GOST test module's
//! token holding one. A profile's key and qualified certificate come from the virtual card, so
//! the portal and the findings treat them as a card's.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{target_dir, VirtualCard, PIN};

// signing's SoftHSM helpers (a token made with softhsm2-util and OpenSC's pkcs11-tool), shared
// rather than written twice.
// Written as test support (a fresh CA or token per `new()`), not as a library's types.
#[allow(clippy::new_without_default)]
#[path = "../../signing/tests/support/pki.rs"]
pub mod pki;
#[allow(clippy::new_without_default)]
#[path = "../../signing/tests/support/softhsm.rs"]
pub mod softhsm;

use softhsm::SoftHsm;

/// A module built with the tests (`pkcs11_test_module`, `pkcs11_abort_module`: dev-dependencies
/// of this crate, so `cargo nextest` builds them).
pub fn built_module(name: &str) -> PathBuf {
    let file = format!("lib{name}.so");
    let target = target_dir();
    [target.join(&file), target.join("deps").join(&file)]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "{file}: `cargo build -p {}` builds it",
                name.replace('_', "-")
            )
        })
}

/// A virtual card's key and qualified certificate, made by the card for `profile` and copied out
/// (the card itself is removed): what a token's owner would have imported into their token.
pub fn profile_key(profile: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let card = VirtualCard::start(profile);
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.der"));
    std::fs::copy(card.state.join("key-01.pem"), &key).expect("key");
    std::fs::copy(card.state.join("cert-01.der"), &cert).expect("cert");
    drop(card);
    (key, cert)
}

/// A token of the GOST test module labelled `label`, holding `profile`'s GOST key and qualified
/// certificate, with the profiles' PIN; on a PIN pad (`CKF_PROTECTED_AUTHENTICATION_PATH`), where
/// the module takes the PIN as if typed on the reader, when `pin_pad`. The module reads it from
/// the directory named by `PODPIS_TEST_P11_DIR`, and signs with OpenSSL's GOST engine
/// (`OPENSSL_CONF` on the process that loads it).
pub fn gost_token(profile: &str, label: &str, pin_pad: bool, dir: &Path) -> PathBuf {
    let token = dir.join("token");
    std::fs::create_dir_all(&token).expect("token dir");
    let (key, cert) = profile_key(profile, &token);
    let mut json = serde_json::json!({
        "label": label,
        "serial": "P11GOST0001",
        "objects": [{ "id": "01", "label": profile, "certificate": cert, "key": key }],
    });
    if pin_pad {
        json["pin_pad_entry"] = serde_json::json!(PIN);
    }
    std::fs::write(token.join("token.json"), json.to_string()).expect("token.json");
    let state = serde_json::json!({ "user_pin": PIN, "so_pin": testdata::PUK });
    std::fs::write(token.join("state.json"), state.to_string()).expect("state.json");
    token
}

/// SoftHSM2 with the `piv` profile's ECDSA P-256 key and its certificate imported, as
/// `softhsm2-util` and OpenSC's `pkcs11-tool` do it for a user.
pub fn softhsm_with_profile_key(dir: &Path) -> SoftHsm {
    let hsm = SoftHsm::new();
    let (key, cert) = profile_key("piv", dir);
    let conf = hsm.conf();
    let run = |cmd: &mut Command| {
        let out = cmd.env("SOFTHSM2_CONF", &conf).output().expect("tool");
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(Command::new("softhsm2-util")
        .arg("--import")
        .arg(&key)
        .args(["--token", softhsm::LABEL, "--label", "podpis", "--id", "01"])
        .args(["--pin", softhsm::USER_PIN]));
    run(Command::new("pkcs11-tool")
        .args(["--module", softhsm::SOFTHSM, "--login", "--pin"])
        .arg(softhsm::USER_PIN)
        .arg("--write-object")
        .arg(&cert)
        .args(["--type", "cert", "--id", "01", "--label", "podpis"]));
    hsm
}
