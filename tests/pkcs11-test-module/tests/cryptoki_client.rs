//! The test module driven by the `cryptoki` crate, the PKCS#11 client of Podpis's tier: what the
//! tier will meet. Each test runs its body in a child process of this test binary, with
//! `PODPIS_TEST_P11_DIR` and `OPENSSL_CONF` set there only (the module reads the first at
//! `C_Initialize`; OpenSSL reads the second once per process), and with the signatures checked by
//! `openssl` afterwards.

mod support;

use std::process::Command;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::vendor_defined::VendorDefinedMechanism;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use pkcs11_test_module::store::DIR_VARIABLE;
use pkcs11_test_module::tc26;
use streebog::{Digest, Streebog512};

use support::*;

/// Set in the child that runs a test's body.
const CHILD: &str = "PKCS11_TEST_MODULE_CRYPTOKI_CHILD";

/// Whether this process is the child that runs a test's body.
fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Runs the test `name` of this binary again, in a child process that has the token and the GOST
/// engine, and waits for it to pass.
fn run_in_child(name: &str, token: &Token) {
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env(DIR_VARIABLE, token.path())
        .env("OPENSSL_CONF", gost_conf())
        .output()
        .expect("run the test's child");
    assert!(
        out.status.success(),
        "child {name} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("1 passed"),
        "the child ran no test {name}:\n{}",
        stdout(&out)
    );
}

/// The token directory, in the child.
fn token_dir() -> std::path::PathBuf {
    std::env::var_os(DIR_VARIABLE).expect("token dir").into()
}

fn open() -> (Pkcs11, Session) {
    let pkcs11 = Pkcs11::new(test_module()).expect("load the module");
    pkcs11
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .expect("C_Initialize");
    let slots = pkcs11.get_slots_with_token().expect("slots");
    assert_eq!(slots.len(), 1);
    let session = pkcs11.open_ro_session(slots[0]).expect("session");
    (pkcs11, session)
}

fn find(session: &Session, class: ObjectClass, id: u8) -> Vec<ObjectHandle> {
    session
        .find_objects(&[Attribute::Class(class), Attribute::Id(vec![id])])
        .expect("find")
}

fn vendor(mechanism: u64) -> Mechanism<'static> {
    Mechanism::VendorDefined(VendorDefinedMechanism::new::<()>(
        MechanismType::new_vendor_defined(mechanism).expect("vendor-defined"),
        None,
    ))
}

fn pin() -> AuthPin {
    AuthPin::from(PIN)
}

/// Listing, as the tier lists a token before anyone logs in: the token info, certificates and
/// public keys by `CKA_ID`, the TC 26 key type, `CKA_VALUE` as in the certificate; private keys
/// only after `C_Login`.
#[test]
fn cryptoki_lists_the_token_and_finds_private_keys_after_login() {
    if !in_child() {
        let token = Token::new();
        run_in_child(
            "cryptoki_lists_the_token_and_finds_private_keys_after_login",
            &token,
        );
        return;
    }
    let (pkcs11, session) = open();
    let slot = pkcs11.get_slots_with_token().expect("slots")[0];
    let info = pkcs11.get_token_info(slot).expect("token info");
    assert_eq!(info.label(), LABEL);
    assert_eq!(info.serial_number(), SERIAL);
    assert!(info.login_required());
    assert!(!info.user_pin_count_low());

    let certificates = session
        .find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)])
        .expect("certificates");
    assert_eq!(certificates.len(), 2);
    assert!(find(&session, ObjectClass::PRIVATE_KEY, 2).is_empty());

    let public = find(&session, ObjectClass::PUBLIC_KEY, 2);
    assert_eq!(public.len(), 1);
    let attributes = session
        .get_attributes(public[0], &[AttributeType::KeyType, AttributeType::Value])
        .expect("attributes");
    let gost512 = KeyType::new_vendor_defined(tc26::CKK_GOSTR3410_512).expect("key type");
    assert!(
        attributes.contains(&Attribute::KeyType(gost512)),
        "{attributes:?}"
    );
    let value = attributes
        .iter()
        .find_map(|a| match a {
            Attribute::Value(v) => Some(v.clone()),
            _ => None,
        })
        .expect("CKA_VALUE");
    assert_eq!(value.len(), 128);
    let certificate = std::fs::read(token_dir().join("cert-02.der")).expect("certificate");
    assert!(
        certificate.windows(128).any(|w| w == value.as_slice()),
        "CKA_VALUE is not the certificate's key octets"
    );

    session
        .login(UserType::User, Some(&pin()))
        .expect("C_Login");
    assert_eq!(find(&session, ObjectClass::PRIVATE_KEY, 2).len(), 1);
    let attributes = session
        .get_attributes(
            find(&session, ObjectClass::PRIVATE_KEY, 1)[0],
            &[AttributeType::KeyType, AttributeType::AlwaysAuthenticate],
        )
        .expect("attributes");
    assert!(attributes.contains(&Attribute::KeyType(KeyType::GOSTR3410)));
    assert!(attributes.contains(&Attribute::AlwaysAuthenticate(false)));
}

/// The two signatures the tier makes: `CKM_GOSTR3410_512` over a Streebog-512 digest, and
/// `CKM_GOSTR3410_WITH_GOSTR3411_12_256` over the data (`cryptoki` cannot name `CKM_GOSTR3410`).
/// The child writes them beside the token; `openssl` checks them here.
#[test]
fn cryptoki_signs_with_the_tc26_mechanisms() {
    if !in_child() {
        let token = Token::new();
        let data = token.file("data", b"signed attributes through cryptoki");
        run_in_child("cryptoki_signs_with_the_tc26_mechanisms", &token);
        for (file, size) in [("sig-512", Size::Gost512), ("sig-256", Size::Gost256)] {
            let signature = std::fs::read(token.path().join(file)).expect(file);
            assert!(
                openssl_verifies(token.key(size), &data, &signature),
                "{file} does not verify"
            );
        }
        return;
    }
    let (_pkcs11, session) = open();
    session
        .login(UserType::User, Some(&pin()))
        .expect("C_Login");
    let data = std::fs::read(token_dir().join("data")).expect("data");
    let key = find(&session, ObjectClass::PRIVATE_KEY, 2)[0];
    let digest = Streebog512::digest(&data);
    assert!(matches!(
        session.sign(&vendor(tc26::CKM_GOSTR3410_512), key, &digest[..32]),
        Err(Error::Pkcs11(RvError::DataLenRange, _))
    ));
    let signature = session
        .sign(&vendor(tc26::CKM_GOSTR3410_512), key, &digest)
        .expect("CKM_GOSTR3410_512");
    std::fs::write(token_dir().join("sig-512"), signature).expect("write");
    let key = find(&session, ObjectClass::PRIVATE_KEY, 1)[0];
    let signature = session
        .sign(
            &vendor(tc26::CKM_GOSTR3410_WITH_GOSTR3411_12_256),
            key,
            &data,
        )
        .expect("CKM_GOSTR3410_WITH_GOSTR3411_12_256");
    std::fs::write(token_dir().join("sig-256"), signature).expect("write");
}

/// A key with `CKA_ALWAYS_AUTHENTICATE`: the context-specific login between `C_SignInit` and the
/// signature, which `cryptoki` allows only in a multi-part signature; without it,
/// `CKR_USER_NOT_LOGGED_IN`.
#[test]
fn cryptoki_signs_with_a_key_that_always_authenticates() {
    if !in_child() {
        let token = Token::new();
        token.write(|t| t.objects[0].always_authenticate = true);
        let data = token.file("data", b"one login per signature");
        run_in_child(
            "cryptoki_signs_with_a_key_that_always_authenticates",
            &token,
        );
        let signature = std::fs::read(token.path().join("sig")).expect("signature");
        assert!(openssl_verifies(
            token.key(Size::Gost256),
            &data,
            &signature
        ));
        return;
    }
    let (_pkcs11, session) = open();
    session
        .login(UserType::User, Some(&pin()))
        .expect("C_Login");
    let data = std::fs::read(token_dir().join("data")).expect("data");
    let key = find(&session, ObjectClass::PRIVATE_KEY, 1)[0];
    let mechanism = vendor(tc26::CKM_GOSTR3410_WITH_GOSTR3411_12_256);

    session.sign_init(&mechanism, key).expect("C_SignInit");
    session.sign_update(&data).expect("C_SignUpdate");
    assert!(matches!(
        session.sign_final(),
        Err(Error::Pkcs11(RvError::UserNotLoggedIn, _))
    ));

    session.sign_init(&mechanism, key).expect("C_SignInit");
    session
        .login(UserType::ContextSpecific, Some(&pin()))
        .expect("context-specific C_Login");
    session.sign_update(&data).expect("C_SignUpdate");
    let signature = session.sign_final().expect("C_SignFinal");
    std::fs::write(token_dir().join("sig"), signature).expect("write");
}
