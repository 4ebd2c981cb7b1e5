//! The host over a real PKCS#11 token: SoftHSM2 with an ECDSA P-256 and an RSA-2048 key made
//! inside the token (the signing crate's own SoftHSM set-up), listed as a crypto object and
//! certificate items, and signing through `host::sign::TokenSigner` with the PIN the page passed,
//! as the consent window will once the person has clicked. OpenSSL checks each signature.
//!
//! The test runs twice (signing/tests/support/softhsm.rs): the parent makes the token, the
//! child, with `SOFTHSM2_CONF` in its own environment, loads the module. Only the module is
//! loaded: no PC/SC reader is touched.

#[path = "../../signing/tests/support/pki.rs"]
mod pki;
#[path = "../../signing/tests/support/softhsm.rs"]
mod softhsm;

use std::time::Duration;

use base64::Engine as _;
use client::tokens::{FoundKey, Pkcs11Tier};
use host::consent::{Consent, Refused};
use host::frame::Inbound;
use host::keys::FixedKeys;
use host::origin::Origin;
use host::sign::{SignRequest, Signer, TokenSigner};
use host::Host;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use serde_json::{json, Value};
use signing::pkcs11::Module;
use signing::{LastTry, Pin};
use softhsm::{SoftHsm, SOFTHSM, USER_PIN};

const PORTAL: &str = "https://www.gosuslugi.ru";

/// Allows every origin to list and every signature, signing with the token and the page's PIN:
/// what the consent window does after the person's click.
struct Clicked {
    tier: Pkcs11Tier,
}

impl Consent for Clicked {
    fn may_list(&mut self, _origin: &Origin) -> Result<(), Refused> {
        Ok(())
    }

    fn may_sign(
        &mut self,
        _request: &SignRequest,
        key: &FoundKey,
        page_pin: Option<Pin>,
    ) -> Result<Box<dyn Signer>, Refused> {
        Ok(Box::new(TokenSigner {
            key: key.clone(),
            pin: page_pin,
            last_try: LastTry::NotConfirmed,
            deadline: Duration::from_secs(15),
            tier: self.tier.clone(),
        }))
    }
}

fn call(host: &mut Host<FixedKeys, Clicked>, func: &str, params: Value) -> Value {
    let bytes = serde_json::to_vec(
        &json!({"origin": PORTAL, "msg_data": {"func_name": func, "params": params}}),
    )
    .expect("json");
    let reply = host.handle(Inbound::Message(bytes));
    serde_json::from_slice(&Host::<FixedKeys, Clicked>::reply_bytes(&reply)).expect("json")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text.as_str().expect("a string"))
        .expect("base64")
}

#[test]
fn a_pkcs11_token_is_listed_and_signs_every_sign_type() {
    const NAME: &str = "a_pkcs11_token_is_listed_and_signs_every_sign_type";
    assert!(
        softhsm::exists(),
        "SoftHSM2 and OpenSC are needed: run scripts/setup.sh"
    );
    let Some(hsm) = SoftHsm::in_child() else {
        let hsm = SoftHsm::new();
        let ca = pki::Ca::new();
        ca.write_pem(&hsm.ca_pem());
        hsm.key_with_certificate(&ca, "EC:prime256v1", "01", "ecdsa-key", false);
        hsm.key_with_certificate(&ca, "rsa:2048", "02", "rsa-key", false);
        hsm.run_in_child(NAME);
        return;
    };

    let tier = Pkcs11Tier {
        modules: vec![Module::open(SOFTHSM).expect("SoftHSM loads")],
        failures: Vec::new(),
    };
    let (keys, errors) = tier.keys();
    assert!(errors.is_empty(), "{errors:?}");
    let serial = keys[0].token_serial.to_lowercase();
    let mut host = Host::new(FixedKeys(keys), Clicked { tier });

    let list = call(&mut host, "get_list_info", json!({"cryptoType": "pkcs11"}));
    let crypto_id = format!("podpis-p11-libsofthsm2/{serial}");
    assert_eq!(
        list["ifc_list"][0]["crypto_id"],
        crypto_id.as_str(),
        "{list}"
    );
    assert_eq!(list["ifc_list"][0]["path"], SOFTHSM);
    assert_eq!(list["ifc_list"][0]["name"], softhsm::LABEL);
    let certs = call(
        &mut host,
        "get_list_certs",
        json!({ "cryptoID": crypto_id }),
    );
    let ids: Vec<&str> = certs["cert_list"]
        .as_array()
        .expect("cert_list")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["01", "02"]);
    assert_eq!(certs["cert_list"][0]["cert_subject"], "CN=ecdsa-key");
    assert_eq!(certs["cert_list"][0]["cert_sign_alg"], "1.2.840.10045.2.1");
    assert_eq!(
        certs["cert_list"][1]["cert_sign_alg"],
        "1.2.840.113549.1.1.1"
    );

    let content = b"challenge 0123456789abcdef";
    let content_file = hsm.root.join("content.bin");
    std::fs::write(&content_file, content).expect("content");
    let sign = |host: &mut Host<FixedKeys, Clicked>, key: &str, sign_type: i64, pin: &str| {
        call(
            host,
            "sign",
            json!({
                "containerId": format!("{crypto_id}/{key}"), "userPin": pin, "inDataType": 2,
                "data": b64(content), "hashType": 1, "signType": sign_type, "cspUI": 1,
                "outDataType": 1
            }),
        )
    };

    // A wrong PIN is the login error the portal's widget asks again on.
    assert_eq!(
        sign(&mut host, "01", 1, "000000"),
        json!({"error_code": 0xA0})
    );

    for (key, sign_type) in [
        ("01", 1),
        ("01", 3),
        ("01", 4),
        ("01", 5),
        ("01", 6),
        ("02", 1),
        ("02", 2),
        ("02", 5),
        ("02", 6),
    ] {
        let reply = sign(&mut host, key, sign_type, USER_PIN);
        assert_eq!(reply["error_code"], 0, "{key}/{sign_type}: {reply}");
        let mut signature = unb64(&reply["sign_value"]);
        let certificate = std::fs::read(hsm.root.join(format!("{key}.cert.der"))).expect("cert");
        match sign_type {
            1 | 2 => {
                if sign_type == 2 {
                    signature.reverse();
                }
                let public = X509::from_der(&certificate)
                    .expect("cert")
                    .public_key()
                    .expect("key");
                if key == "01" {
                    // The simple ECDSA form is DER.
                    assert!(EcdsaSig::from_der(&signature).is_ok());
                }
                let mut verifier = Verifier::new(MessageDigest::sha256(), &public).expect("v");
                assert!(
                    verifier
                        .verify_oneshot(&signature, content)
                        .expect("verify"),
                    "{key}/{sign_type}"
                );
            }
            _ => {
                let path = hsm.root.join("signature.p7s");
                std::fs::write(&path, &signature).expect("write");
                let detached = matches!(sign_type, 4 | 6);
                let out = openssl_cms_verify_cades(
                    &path,
                    &hsm.ca_pem(),
                    detached.then_some(&content_file),
                )
                .unwrap_or_else(|e| panic!("{key}/{sign_type}: {e}"));
                if !detached {
                    assert_eq!(out, content);
                }
            }
        }
    }
}

/// `openssl cms -verify -cades` (plain OpenSSL), detached content given with `-content`.
fn openssl_cms_verify_cades(
    cms: &std::path::Path,
    ca: &std::path::Path,
    content: Option<&std::path::PathBuf>,
) -> Result<Vec<u8>, String> {
    let mut cmd = std::process::Command::new("openssl");
    cmd.args([
        "cms", "-verify", "-cades", "-binary", "-inform", "DER", "-purpose", "any",
    ])
    .arg("-in")
    .arg(cms)
    .arg("-CAfile")
    .arg(ca);
    if let Some(content) = content {
        cmd.arg("-content").arg(content);
    }
    let out = cmd.env_remove("OPENSSL_CONF").output().expect("openssl");
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
