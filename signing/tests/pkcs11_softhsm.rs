//! The PKCS#11 tier against real third-party middleware: SoftHSM2 with an ECDSA P-256 and an
//! RSA-2048 key made inside the token by OpenSC's `pkcs11-tool`, certificates issued for them by a
//! throwaway CA and written beside them under the same `CKA_ID`. Signatures are checked by
//! OpenSSL; logins are counted by OpenSC's `pkcs11-spy`, which logs every call between the tier
//! and SoftHSM.
//!
//! Each test runs twice (support/softhsm.rs): the parent makes the token, the child, with
//! `SOFTHSM2_CONF` in its own environment, loads the module and checks.

#[path = "support/pki.rs"]
mod pki;
#[path = "support/softhsm.rs"]
mod softhsm;

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;

use signing::cades::{self, Content};
use signing::card::CardError;
use signing::pkcs11::{Module, PinEntry, Pkcs11Error, ToSign, TokenContents, TokenId};
use signing::{KeyAlgorithm, LastTry, Pin, PinCondition, TokenError};
use softhsm::{SoftHsm, SOFTHSM, SO_PIN, SPY, USER_PIN};

const EC_ID: [u8; 1] = [0x01];
const RSA_ID: [u8; 1] = [0x02];
const RSA_ALWAYS_ID: [u8; 1] = [0x03];

/// The parent's part: a token with an ECDSA and an RSA key and their certificates, and the
/// CA's certificate for `openssl cms -verify`.
fn token_with_keys(always_authenticate_rsa: bool) -> SoftHsm {
    let hsm = SoftHsm::new();
    let ca = pki::Ca::new();
    ca.write_pem(&hsm.ca_pem());
    hsm.key_with_certificate(&ca, "EC:prime256v1", "01", "ecdsa-key", false);
    hsm.key_with_certificate(&ca, "rsa:2048", "02", "rsa-key", false);
    if always_authenticate_rsa {
        hsm.key_with_certificate(&ca, "rsa:2048", "03", "rsa-always", true);
    }
    hsm
}

/// Runs `body` in the child with the token the parent made with `setup`.
fn in_child_with(name: &str, setup: impl FnOnce() -> SoftHsm, body: impl FnOnce(&SoftHsm)) {
    assert!(
        softhsm::exists(),
        "SoftHSM2 and OpenSC's pkcs11-spy are needed: run scripts/setup.sh"
    );
    match SoftHsm::in_child() {
        Some(hsm) => body(&hsm),
        None => setup().run_in_child(name),
    }
}

/// Runs `body` in the child with a token holding the ECDSA and RSA keys (and, with
/// `always_authenticate_rsa`, a third key that always authenticates).
fn in_child(name: &str, always_authenticate_rsa: bool, body: impl FnOnce(&SoftHsm)) {
    in_child_with(name, || token_with_keys(always_authenticate_rsa), body)
}

fn pin(text: &str) -> Pin {
    Pin::new(text.to_owned()).expect("pin")
}

fn open_and_read(path: &str) -> (Module, TokenContents) {
    let module = Module::open(path).expect("open");
    let tokens = module.tokens().expect("tokens");
    let [token] = tokens.as_slice() else {
        panic!("one token expected: {tokens:?}");
    };
    let contents = module.read(&token.id).expect("read");
    (module, contents)
}

/// OpenSSL checks `raw` (the token's form) over `message` with the certificate's key.
fn openssl_verifies(certificate: &[u8], algorithm: KeyAlgorithm, message: &[u8], raw: &[u8]) {
    let key = X509::from_der(certificate)
        .expect("cert")
        .public_key()
        .expect("key");
    let signature = match algorithm {
        KeyAlgorithm::EcdsaP256 => {
            let (r, s) = raw.split_at(32);
            EcdsaSig::from_private_components(
                BigNum::from_slice(r).expect("r"),
                BigNum::from_slice(s).expect("s"),
            )
            .expect("sig")
            .to_der()
            .expect("der")
        }
        _ => raw.to_vec(),
    };
    let mut verifier = Verifier::new(MessageDigest::sha256(), &key).expect("verifier");
    assert!(
        verifier
            .verify_oneshot(&signature, message)
            .expect("verify"),
        "{algorithm:?} signature does not verify"
    );
}

#[test]
fn lists_the_token_and_reads_each_key_with_its_certificate() {
    in_child(
        "lists_the_token_and_reads_each_key_with_its_certificate",
        false,
        |hsm| {
            let (module, contents) = open_and_read(SOFTHSM);
            let token = &contents.token;
            assert_eq!(token.label, softhsm::LABEL);
            assert_eq!(token.id.module, std::path::Path::new(SOFTHSM));
            assert!(!token.id.serial.is_empty());
            assert_eq!(token.pin.condition, PinCondition::NoWarning);
            assert_eq!(token.pin.entry, PinEntry::Keyboard);
            assert!(token.pin.initialized && !token.pin.to_be_changed);
            assert!(token.pin.needs_typed_pin());
            assert_eq!(module.pin_status(&token.id).expect("pin"), token.pin);

            let ids: Vec<_> = contents.keys.iter().map(|k| k.id.clone()).collect();
            assert_eq!(ids, [EC_ID.to_vec(), RSA_ID.to_vec()]);
            let ec = &contents.keys[0];
            assert_eq!(ec.algorithm, KeyAlgorithm::EcdsaP256);
            assert_eq!(ec.label.as_deref(), Some("ecdsa-key"));
            assert_eq!(
                ec.certificate,
                std::fs::read(hsm.root.join("01.cert.der")).expect("cert")
            );
            // Private keys are hidden before the login: the public key stood in for them.
            assert_eq!(ec.always_authenticate, None);
            let rsa = &contents.keys[1];
            assert_eq!(rsa.algorithm, KeyAlgorithm::Rsa { bits: 2048 });
            assert_eq!(rsa.id_hex(), "02");
            assert_eq!(
                rsa.certificate,
                std::fs::read(hsm.root.join("02.cert.der")).expect("cert")
            );
        },
    );
}

#[test]
fn a_key_without_a_certificate_is_not_listed() {
    in_child_with(
        "a_key_without_a_certificate_is_not_listed",
        || {
            let hsm = SoftHsm::new();
            let out = std::process::Command::new("pkcs11-tool")
                .args([
                    "--module",
                    SOFTHSM,
                    "--login",
                    "--pin",
                    USER_PIN,
                    "--keypairgen",
                ])
                .args([
                    "--key-type",
                    "EC:prime256v1",
                    "--id",
                    "09",
                    "--label",
                    "bare",
                ])
                .env("SOFTHSM2_CONF", hsm.conf())
                .output()
                .expect("pkcs11-tool");
            assert!(out.status.success());
            hsm
        },
        |_| {
            let (_, contents) = open_and_read(SOFTHSM);
            assert!(contents.keys.is_empty(), "{:?}", contents.keys);
        },
    );
}

#[test]
fn signs_a_digest_with_each_key_and_openssl_verifies_it() {
    in_child(
        "signs_a_digest_with_each_key_and_openssl_verifies_it",
        false,
        |_| {
            let (module, contents) = open_and_read(SOFTHSM);
            let message = b"the bytes whose digest the token signs";
            for key in &contents.keys {
                let digest = key.algorithm.digest(message);
                let raw = module
                    .sign(
                        &contents.token.id,
                        &key.id,
                        key.algorithm,
                        ToSign::digest(digest),
                        Some(pin(USER_PIN)),
                        LastTry::NotConfirmed,
                    )
                    .expect("sign");
                assert_eq!(raw.len(), key.algorithm.signature_len());
                openssl_verifies(&key.certificate, key.algorithm, message, &raw);
                // The same with the data beside its digest (what CAdES passes).
                let raw = module
                    .sign(
                        &contents.token.id,
                        &key.id,
                        key.algorithm,
                        ToSign::data(key.algorithm, message.to_vec()),
                        Some(pin(USER_PIN)),
                        LastTry::NotConfirmed,
                    )
                    .expect("sign with data");
                openssl_verifies(&key.certificate, key.algorithm, message, &raw);
            }
            // A digest of the wrong size never reaches the token.
            assert_eq!(
                module.sign(
                    &contents.token.id,
                    &EC_ID,
                    KeyAlgorithm::EcdsaP256,
                    ToSign::digest(vec![0; 48]),
                    Some(pin(USER_PIN)),
                    LastTry::NotConfirmed,
                ),
                Err(TokenError::HashLength {
                    algorithm: KeyAlgorithm::EcdsaP256,
                    expected: 32,
                    actual: 48
                })
            );
        },
    );
}

#[test]
fn a_cades_signature_made_on_the_token_passes_plain_openssl_cms_verify() {
    in_child(
        "a_cades_signature_made_on_the_token_passes_plain_openssl_cms_verify",
        false,
        |hsm| {
            let (module, contents) = open_and_read(SOFTHSM);
            for key in &contents.keys {
                let content = format!("a file signed with the {} key", key.algorithm.name());
                let prepared = cades::prepare(
                    content.as_bytes(),
                    &key.certificate,
                    key.algorithm,
                    std::time::SystemTime::now(),
                    Content::Attached,
                )
                .expect("prepare");
                let raw = module
                    .sign(
                        &contents.token.id,
                        &key.id,
                        key.algorithm,
                        ToSign::data(key.algorithm, prepared.signed_attributes().to_vec()),
                        Some(pin(USER_PIN)),
                        LastTry::NotConfirmed,
                    )
                    .expect("sign");
                let cms = prepared.finish(&raw).expect("finish");
                let path = hsm.root.join(format!("{}.p7s", key.id_hex()));
                std::fs::write(&path, cms).expect("write");
                for cades_check in [false, true] {
                    let out = pki::openssl_cms_verify(&path, &hsm.ca_pem(), cades_check)
                        .unwrap_or_else(|e| panic!("{:?}: {e}", key.algorithm));
                    assert_eq!(out, content.as_bytes());
                }
            }
        },
    );
}

#[test]
fn a_wrong_pin_is_reported_and_sent_exactly_once() {
    in_child(
        "a_wrong_pin_is_reported_and_sent_exactly_once",
        false,
        |hsm| {
            // Through pkcs11-spy, which logs every call the tier makes into SoftHSM.
            let (module, contents) = open_and_read(SPY);
            let logins_before = hsm.spy_calls("C_Login");
            let result = module.sign(
                &contents.token.id,
                &EC_ID,
                KeyAlgorithm::EcdsaP256,
                ToSign::digest(vec![1; 32]),
                Some(pin("999999")),
                LastTry::NotConfirmed,
            );
            // SoftHSM has no try counter, and says so honestly: it raises COUNT_LOW, no number.
            assert_eq!(
                result,
                Err(TokenError::PinIncorrectUncounted {
                    condition: PinCondition::CountLow
                })
            );
            assert_eq!(hsm.spy_calls("C_Login") - logins_before, 1);
            assert_eq!(hsm.spy_calls("C_Sign"), 0);
            let state = module.pin_status(&contents.token.id).expect("pin");
            assert_eq!(state.condition, PinCondition::CountLow);

            // The right PIN afterwards: one more login, a signature, and the warning is gone.
            module
                .sign(
                    &contents.token.id,
                    &EC_ID,
                    KeyAlgorithm::EcdsaP256,
                    ToSign::digest(vec![1; 32]),
                    Some(pin(USER_PIN)),
                    LastTry::NotConfirmed,
                )
                .expect("sign");
            assert_eq!(hsm.spy_calls("C_Login") - logins_before, 2);
            assert_eq!(hsm.spy_login_types(), ["CKU_USER", "CKU_USER"]);
            assert_eq!(
                module
                    .pin_status(&contents.token.id)
                    .expect("pin")
                    .condition,
                PinCondition::NoWarning
            );
            // A PIN longer than the token takes is refused before anything reaches it.
            let long = "1".repeat(contents.token.pin.max_len + 1);
            assert!(matches!(
                module.sign(
                    &contents.token.id,
                    &EC_ID,
                    KeyAlgorithm::EcdsaP256,
                    ToSign::digest(vec![1; 32]),
                    Some(pin(&long)),
                    LastTry::NotConfirmed,
                ),
                Err(TokenError::PinFormat(_))
            ));
            assert_eq!(hsm.spy_calls("C_Login") - logins_before, 2);
        },
    );
}

#[test]
fn change_pin_then_sign_with_the_new_pin() {
    in_child("change_pin_then_sign_with_the_new_pin", false, |_| {
        let (module, contents) = open_and_read(SOFTHSM);
        let id = &contents.token.id;
        let message = b"signed after the change";
        let sign = |p: &str| {
            module.sign(
                id,
                &RSA_ID,
                KeyAlgorithm::Rsa { bits: 2048 },
                ToSign::digest(KeyAlgorithm::Rsa { bits: 2048 }.digest(message)),
                Some(pin(p)),
                LastTry::NotConfirmed,
            )
        };
        // A wrong old PIN changes nothing.
        assert!(matches!(
            module.change_pin(id, pin("000000"), pin("246810"), LastTry::NotConfirmed),
            Err(TokenError::PinIncorrectUncounted { .. })
        ));
        module
            .change_pin(id, pin(USER_PIN), pin("246810"), LastTry::NotConfirmed)
            .expect("change");
        let raw = sign("246810").expect("sign with the new PIN");
        openssl_verifies(
            &contents.keys[1].certificate,
            KeyAlgorithm::Rsa { bits: 2048 },
            message,
            &raw,
        );
        assert!(matches!(
            sign(USER_PIN),
            Err(TokenError::PinIncorrectUncounted { .. })
        ));
        // A new PIN the token's lengths refuse spends nothing.
        assert_eq!(
            module.change_pin(id, pin("246810"), pin("1"), LastTry::NotConfirmed),
            Err(TokenError::NewPinRefused)
        );
    });
}

#[test]
fn unblock_with_the_so_pin_sets_a_new_pin() {
    in_child("unblock_with_the_so_pin_sets_a_new_pin", false, |_| {
        let (module, contents) = open_and_read(SOFTHSM);
        let id = &contents.token.id;
        assert!(matches!(
            module.unblock(id, pin("11111111"), pin("135790"), LastTry::NotConfirmed),
            Err(TokenError::PukIncorrectUncounted { .. })
        ));
        module
            .unblock(id, pin(SO_PIN), pin("135790"), LastTry::NotConfirmed)
            .expect("unblock");
        module
            .sign(
                id,
                &EC_ID,
                KeyAlgorithm::EcdsaP256,
                ToSign::digest(vec![3; 32]),
                Some(pin("135790")),
                LastTry::NotConfirmed,
            )
            .expect("sign with the PIN the SO set");
    });
}

#[test]
fn a_key_that_always_authenticates_gets_a_context_specific_login() {
    in_child(
        "a_key_that_always_authenticates_gets_a_context_specific_login",
        true,
        |hsm| {
            let (module, contents) = open_and_read(SPY);
            let key = contents
                .keys
                .iter()
                .find(|k| k.id == RSA_ALWAYS_ID)
                .expect("key 03");
            let message = b"signed attributes";
            let raw = module
                .sign(
                    &contents.token.id,
                    &key.id,
                    key.algorithm,
                    ToSign::data(key.algorithm, message.to_vec()),
                    Some(pin(USER_PIN)),
                    LastTry::NotConfirmed,
                )
                .expect("sign");
            openssl_verifies(&key.certificate, key.algorithm, message, &raw);
            // One user login, then the re-authentication between C_SignInit and the signature.
            assert_eq!(hsm.spy_login_types(), ["CKU_USER", "CKU_CONTEXT_SPECIFIC"]);
            let calls = hsm.spy_functions();
            let start = calls
                .iter()
                .position(|f| f == "C_SignInit")
                .expect("C_SignInit");
            // cryptoki asks C_SignFinal for the length first, then for the signature.
            assert_eq!(
                calls[start..start + 5],
                [
                    "C_SignInit",
                    "C_Login",
                    "C_SignUpdate",
                    "C_SignFinal",
                    "C_SignFinal"
                ]
            );
            assert_eq!(hsm.spy_calls("C_SignInit"), 1);
        },
    );
}

#[test]
fn a_token_is_checked_before_every_operation() {
    in_child("a_token_is_checked_before_every_operation", false, |_| {
        let (module, contents) = open_and_read(SOFTHSM);
        let other_serial = TokenId {
            serial: "not-this-one".into(),
            ..contents.token.id.clone()
        };
        assert_eq!(
            module.read(&other_serial),
            Err(TokenError::Card(CardError::Removed))
        );
        let other_module = TokenId {
            module: "/elsewhere.so".into(),
            ..contents.token.id.clone()
        };
        assert!(matches!(
            module.read(&other_module),
            Err(TokenError::Pkcs11(Pkcs11Error::WrongModule { .. }))
        ));
        assert_eq!(
            module.sign(
                &contents.token.id,
                &[0x77],
                KeyAlgorithm::EcdsaP256,
                ToSign::digest(vec![0; 32]),
                Some(pin(USER_PIN)),
                LastTry::NotConfirmed,
            ),
            Err(TokenError::Pkcs11(Pkcs11Error::KeyMissing {
                id: "77".into()
            }))
        );
        // No PIN for a token without a PIN pad.
        assert_eq!(
            module.sign(
                &contents.token.id,
                &EC_ID,
                KeyAlgorithm::EcdsaP256,
                ToSign::digest(vec![0; 32]),
                None,
                LastTry::NotConfirmed,
            ),
            Err(TokenError::Pkcs11(Pkcs11Error::PinRequired))
        );
    });
}
