//! The host's calls end to end in-process: every served call and its reply shape over software
//! keys (ECDSA P-256 certificates made by OpenSSL), the refusals, bad frames through `serve`,
//! and each sign type's signature checked by OpenSSL.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use client::tokens::{FoundKey, KeySource, PinInfo};
use openssl::asn1::{Asn1Time, Asn1Type};
use openssl::bn::BigNum;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use serde_json::{json, Value};
use signing::pkcs11::TokenId;
use signing::{CardKind, KeyAlgorithm, Pin, PinStatus};

use crate::catalogue::{library_crypto_id, Catalogue};
use crate::consent::{Consent, Refused, WithoutWindow};
use crate::frame::{Inbound, MAX_INBOUND};
use crate::keys::{FixedKeys, Keys};
use crate::origin::Origin;
use crate::sign::{SignRequest, Signer, SignerError};
use crate::{Ended, Host, IfcError};

const PORTAL: &str = "https://www.gosuslugi.ru";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

// ---------------------------------------------------------------------------------------------
// Software keys and certificates.

struct Ca {
    key: PKey<Private>,
    cert: X509,
}

fn p256() -> EcKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
    EcKey::generate(&group).expect("key")
}

fn builder(serial: u32) -> X509Builder {
    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("version");
    b.set_serial_number(
        &BigNum::from_u32(serial)
            .expect("bn")
            .to_asn1_integer()
            .expect("int"),
    )
    .expect("serial");
    // Whole seconds, fixed: the dates are compared as text.
    b.set_not_before(&Asn1Time::from_unix(1_764_504_000).expect("t"))
        .expect("nb");
    b.set_not_after(&Asn1Time::from_unix(1_922_270_400).expect("t"))
        .expect("na");
    b
}

impl Ca {
    fn new() -> Self {
        let key = PKey::from_ec_key(p256()).expect("pkey");
        let mut name = X509NameBuilder::new().expect("name");
        name.append_entry_by_text("CN", "Test CA, Podpis")
            .expect("cn");
        let name = name.build();
        let mut b = builder(1);
        b.set_subject_name(&name).expect("subject");
        b.set_issuer_name(&name).expect("issuer");
        b.set_pubkey(&key).expect("pubkey");
        b.append_extension(BasicConstraints::new().critical().ca().build().expect("bc"))
            .expect("ext");
        b.sign(&key, MessageDigest::sha256()).expect("sign");
        Self {
            key,
            cert: b.build(),
        }
    }

    /// A certificate for `key` with a person's subject (Cyrillic names, SNILS, INN).
    fn issue(&self, key: &EcKey<Private>, serial: u32, common_name: &str) -> Vec<u8> {
        let mut name = X509NameBuilder::new().expect("name");
        name.append_entry_by_text_with_type("CN", common_name, Asn1Type::UTF8STRING)
            .expect("cn");
        name.append_entry_by_text_with_type("SN", "Иванова", Asn1Type::UTF8STRING)
            .expect("sn");
        name.append_entry_by_text_with_type("GN", "Анна Петровна", Asn1Type::UTF8STRING)
            .expect("gn");
        name.append_entry_by_text_with_type("C", "RU", Asn1Type::PRINTABLESTRING)
            .expect("c");
        name.append_entry_by_text_with_type(
            "1.2.643.100.3",
            "54771278218",
            Asn1Type::NUMERICSTRING,
        )
        .expect("snils");
        name.append_entry_by_text_with_type(
            "1.2.643.100.5",
            "304500116000157",
            Asn1Type::NUMERICSTRING,
        )
        .expect("ogrnip");
        let mut b = builder(serial);
        b.set_subject_name(&name.build()).expect("subject");
        b.set_issuer_name(self.cert.subject_name()).expect("issuer");
        b.set_pubkey(&PKey::from_ec_key(key.clone()).expect("pkey"))
            .expect("pubkey");
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .non_repudiation()
                .build()
                .expect("ku"),
        )
        .expect("ext");
        b.sign(&self.key, MessageDigest::sha256()).expect("sign");
        b.build().to_der().expect("der")
    }
}

/// A software key standing in for a token: digest in, r ‖ s out.
#[derive(Clone)]
struct SoftSigner(EcKey<Private>);

impl Signer for SoftSigner {
    fn sign(&mut self, digest: &[u8], _data: Option<&[u8]>) -> Result<Vec<u8>, SignerError> {
        let sig =
            EcdsaSig::sign(digest, &self.0).map_err(|e| SignerError::Failed(e.to_string()))?;
        let mut raw = sig.r().to_vec_padded(32).expect("r");
        raw.extend(sig.s().to_vec_padded(32).expect("s"));
        Ok(raw)
    }
}

fn card_key(reader: &str, serial: &str, reference: u8, certificate: Vec<u8>) -> FoundKey {
    FoundKey {
        source: KeySource::Card {
            reader: reader.into(),
            kind: CardKind::GostToken,
            reference,
        },
        algorithm: KeyAlgorithm::EcdsaP256,
        certificate,
        pin: PinInfo::from(PinStatus {
            tries_left: 3,
            max_tries: 3,
        }),
        token_serial: serial.into(),
    }
}

fn pkcs11_key(module: &str, slot: u64, serial: &str, id: &[u8], certificate: Vec<u8>) -> FoundKey {
    FoundKey {
        source: KeySource::Pkcs11 {
            token: TokenId {
                module: PathBuf::from(module),
                slot,
                serial: serial.into(),
            },
            token_label: "Token Label".into(),
            id: id.to_vec(),
        },
        algorithm: KeyAlgorithm::EcdsaP256,
        certificate,
        pin: PinInfo::from(PinStatus {
            tries_left: 3,
            max_tries: 3,
        }),
        token_serial: serial.into(),
    }
}

/// Consent as a test wants it: listing for some origins, and a software signer for signatures
/// (or none: refused). Records what it was asked.
#[derive(Default)]
struct TestConsent {
    listing: BTreeSet<String>,
    signer: Option<SoftSigner>,
    asked_to_sign: Vec<(String, String, bool)>,
}

impl Consent for TestConsent {
    fn may_list(&mut self, origin: &Origin) -> Result<(), Refused> {
        if self.listing.contains(origin.as_str()) {
            Ok(())
        } else {
            Err(Refused)
        }
    }

    fn may_sign(
        &mut self,
        request: &SignRequest,
        _key: &FoundKey,
        page_pin: Option<Pin>,
    ) -> Result<Box<dyn Signer>, Refused> {
        self.asked_to_sign.push((
            request.origin.to_string(),
            request.container_id.clone(),
            page_pin.is_some(),
        ));
        match &self.signer {
            Some(signer) => Ok(Box::new(signer.clone())),
            None => Err(Refused),
        }
    }
}

/// Keys that must not be read: the test shows the refusal came before any token.
struct UntouchedKeys;

impl Keys for UntouchedKeys {
    fn list(&mut self) -> Result<Vec<FoundKey>, IfcError> {
        panic!("a token was read for an origin that may not list");
    }
}

struct World {
    ca: Ca,
    keys: Vec<EcKey<Private>>,
    found: Vec<FoundKey>,
}

/// Two tokens: a card with two keys, a PKCS#11 token with one.
fn world() -> World {
    let ca = Ca::new();
    let keys = vec![p256(), p256(), p256()];
    let found = vec![
        card_key(
            "Virtual PCD 00 00",
            "PD-0001",
            0x01,
            ca.issue(&keys[0], 0x1001, "Иванова Анна, ИП"),
        ),
        card_key(
            "Virtual PCD 00 00",
            "PD-0001",
            0x02,
            ca.issue(&keys[1], 0x1002, "Второй ключ"),
        ),
        pkcs11_key(
            "/usr/lib/softhsm/libsofthsm2.so",
            7,
            "9f3c2a",
            &[0xAB, 0x01],
            ca.issue(&keys[2], 0x1003, "Токен"),
        ),
    ];
    World { ca, keys, found }
}

fn fixed_clock() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn host_for(world: &World, consent: TestConsent) -> Host<FixedKeys, TestConsent> {
    Host::new(FixedKeys(world.found.clone()), consent).with_clock(fixed_clock)
}

fn listing(origin: &str) -> TestConsent {
    TestConsent {
        listing: [origin.to_owned()].into(),
        ..TestConsent::default()
    }
}

fn envelope(origin: &str, func_name: &str, params: Option<Value>) -> Vec<u8> {
    let mut request = json!({ "func_name": func_name });
    if let Some(params) = params {
        request["params"] = params;
    }
    serde_json::to_vec(&json!({ "origin": origin, "msg_data": request })).expect("json")
}

fn call<K: Keys, C: Consent>(
    host: &mut Host<K, C>,
    origin: &str,
    func_name: &str,
    params: Option<Value>,
) -> Value {
    let reply = host.handle(Inbound::Message(envelope(origin, func_name, params)));
    let bytes = Host::<K, C>::reply_bytes(&reply);
    let value: Value = serde_json::from_slice(&bytes).expect("reply is JSON");
    assert!(
        value["error_code"].is_i64(),
        "error_code is a JSON number: {value}"
    );
    value
}

fn code(value: &Value) -> i64 {
    value["error_code"].as_i64().expect("number")
}

fn ifc(error: IfcError) -> i64 {
    i64::from(error.code())
}

// ---------------------------------------------------------------------------------------------
// The calls that need no signature.

#[test]
fn create_and_version() {
    let w = world();
    let mut host = host_for(&w, TestConsent::default());
    let params = json!({"file_config": "", "config_string": "", "log_file_location": "", "plugin_log_level": ""});
    assert_eq!(
        call(&mut host, PORTAL, "create", Some(params)),
        json!({"error_code": 0})
    );
    assert_eq!(
        code(&call(
            &mut host,
            PORTAL,
            "create",
            Some(json!({"file_config": 1}))
        )),
        ifc(IfcError::BadParams)
    );
    // `version` comes without params; it needs no listing consent.
    let version = call(&mut host, PORTAL, "version", None);
    assert_eq!(version["error_code"], 0);
    assert_eq!(version["version"], "3.1.0");
    assert_eq!(version["podpis_version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn get_list_info_lists_each_token_as_a_pkcs11_crypto() {
    let w = world();
    let mut host = host_for(&w, listing(PORTAL));
    for params in [
        None,
        Some(json!({"cryptoType": null})),
        Some(json!({"cryptoType": "pkcs11"})),
    ] {
        let reply = call(&mut host, PORTAL, "get_list_info", params);
        assert_eq!(reply["error_code"], 0);
        assert_eq!(
            reply["ifc_list"],
            json!([
                {
                    "type": "pkcs11", "alias": "podpis", "num": "pd-0001",
                    "name": "Podpis", "path": "", "description": "Virtual PCD 00 00",
                    "serial_number": "PD-0001", "model": "gost-token",
                    "crypto_id": "podpis/pd-0001"
                },
                {
                    "type": "pkcs11", "alias": "podpis-p11-libsofthsm2", "num": "9f3c2a",
                    "name": "Token Label", "path": "/usr/lib/softhsm/libsofthsm2.so",
                    "description": "Token Label", "serial_number": "9f3c2a", "model": "",
                    "crypto_id": "podpis-p11-libsofthsm2/9f3c2a"
                }
            ])
        );
    }
    // Another crypto type than ours lists nothing.
    let capi = call(
        &mut host,
        PORTAL,
        "get_list_info",
        Some(json!({"cryptoType": "capi"})),
    );
    assert_eq!(capi, json!({"error_code": 0, "ifc_list": []}));
    assert_eq!(
        code(&call(
            &mut host,
            PORTAL,
            "get_list_info",
            Some(json!({"cryptoType": 1}))
        )),
        ifc(IfcError::BadParams)
    );
}

fn expected_item(id: &str, serial: &str, cn: &str) -> Value {
    json!({
        "cert_sn": serial,
        "cert_subject": format!(
            "CN={cn}\nsurname=Иванова\ngivenName=Анна Петровна\nC=RU\nSNILS=54771278218\n1.2.643.100.5=304500116000157"
        ),
        "cert_issuer": "CN=Test CA\\, Podpis",
        "cert_valid_from": "Sun, 30 Nov 2025 12:00:00 GMT",
        "cert_valid_to": "Sat, 30 Nov 2030 12:00:00 GMT",
        "cert_sign_alg": "1.2.840.10045.2.1",
        "id": id,
    })
}

#[test]
fn get_list_certs_gives_the_certificate_list_items() {
    let w = world();
    let mut host = host_for(&w, listing(PORTAL));
    let reply = call(
        &mut host,
        PORTAL,
        "get_list_certs",
        Some(json!({"cryptoID": "podpis/pd-0001"})),
    );
    assert_eq!(
        reply,
        json!({
            "error_code": 0,
            "cert_list": [
                expected_item("01", "1001", "Иванова Анна\\, ИП"),
                expected_item("02", "1002", "Второй ключ"),
            ]
        })
    );
    let token = call(
        &mut host,
        PORTAL,
        "get_list_certs",
        Some(json!({"cryptoID": "podpis-p11-libsofthsm2/9f3c2a"})),
    );
    assert_eq!(
        token["cert_list"],
        json!([expected_item("ab01", "1003", "Токен")])
    );
    assert_eq!(
        code(&call(
            &mut host,
            PORTAL,
            "get_list_certs",
            Some(json!({"cryptoID": "podpis/none"}))
        )),
        ifc(IfcError::CryptoNotFound)
    );
    for bad in [
        json!({}),
        json!({"cryptoID": 5}),
        json!({"cryptoID": ["podpis/pd-0001"]}),
    ] {
        assert_eq!(
            code(&call(&mut host, PORTAL, "get_list_certs", Some(bad))),
            ifc(IfcError::BadParams)
        );
    }
}

#[test]
fn get_list_certs_by_cryptoid_array_answers_the_ids_it_knows() {
    let w = world();
    let mut host = host_for(&w, listing(PORTAL));
    let reply = call(
        &mut host,
        PORTAL,
        "get_list_certs_by_cryptoid_array",
        Some(json!({
            "cryptoID_array": ["podpis-p11-libsofthsm2/9f3c2a", "unknown/0", "podpis/pd-0001"],
            "show_progress": 0
        })),
    );
    assert_eq!(reply["error_code"], 0);
    let results = reply["result_array"].as_array().expect("array");
    assert_eq!(results.len(), 2, "the unknown id is left out");
    assert_eq!(results[0]["crypto_id"], "podpis-p11-libsofthsm2/9f3c2a");
    assert_eq!(results[0]["cert_list"].as_array().map(Vec::len), Some(1));
    assert_eq!(results[1]["crypto_id"], "podpis/pd-0001");
    assert_eq!(results[1]["cert_list"].as_array().map(Vec::len), Some(2));
    // With progress asked, still one final reply.
    let with_progress = call(
        &mut host,
        PORTAL,
        "get_list_certs_by_cryptoid_array",
        Some(json!({"cryptoID_array": ["podpis/pd-0001"], "show_progress": 1})),
    );
    assert_eq!(with_progress["error_code"], 0);
    assert!(with_progress.get("intermediate").is_none());
    for bad in [
        json!({"cryptoID_array": "podpis/pd-0001"}),
        json!({"cryptoID_array": [1]}),
        json!({"cryptoID_array": [], "show_progress": "1"}),
    ] {
        assert_eq!(
            code(&call(
                &mut host,
                PORTAL,
                "get_list_certs_by_cryptoid_array",
                Some(bad)
            )),
            ifc(IfcError::BadParams)
        );
    }
}

#[test]
fn a_container_certificate_is_loaded_shown_and_freed() {
    let w = world();
    let mut host = host_for(&w, listing(PORTAL));
    let loaded = call(
        &mut host,
        PORTAL,
        "load_x509_from_container",
        Some(json!({"containerId": "podpis/pd-0001/02"})),
    );
    assert_eq!(loaded["error_code"], 0);
    let handle = loaded["x509Handle"].as_u64().expect("a number");
    assert!(handle > 0);
    let info = call(
        &mut host,
        PORTAL,
        "get_x509_info",
        Some(json!({"x509Handle": handle})),
    );
    assert_eq!(info["error_code"], 0);
    let cert_info = &info["cert_info"];
    let der = &w.found[1].certificate;
    assert_eq!(cert_info["base64"], b64(der));
    let pem = cert_info["pem"].as_str().expect("pem");
    assert_eq!(
        X509::from_pem(pem.as_bytes())
            .expect("pem")
            .to_der()
            .expect("der"),
        *der
    );
    assert_eq!(cert_info["version"], "3");
    assert_eq!(cert_info["cert_sn"], "1002");
    assert_eq!(cert_info["cert_sign_alg"], "1.2.840.10045.2.1");
    assert_eq!(
        cert_info["extensions"],
        "X509v3 Key Usage: critical\n    Digital Signature, Non Repudiation\n"
    );
    for field in [
        "cert_subject",
        "cert_issuer",
        "cert_valid_from",
        "cert_valid_to",
    ] {
        assert!(cert_info[field].is_string(), "{field}");
    }
    assert_eq!(
        call(
            &mut host,
            PORTAL,
            "free_x509",
            Some(json!({"x509Handle": handle}))
        ),
        json!({"error_code": 0})
    );
    assert_eq!(
        code(&call(
            &mut host,
            PORTAL,
            "free_x509",
            Some(json!({"x509Handle": handle}))
        )),
        ifc(IfcError::CertNotFound)
    );
    assert_eq!(
        code(&call(
            &mut host,
            PORTAL,
            "get_x509_info",
            Some(json!({"x509Handle": handle}))
        )),
        ifc(IfcError::CertNotFound)
    );
    assert_eq!(
        code(&call(
            &mut host,
            PORTAL,
            "get_x509_info",
            Some(json!({"x509Handle": "1"}))
        )),
        ifc(IfcError::BadParams)
    );
    // Containers that are not there.
    for (container, error) in [
        ("podpis/pd-0001/03", IfcError::ContainerNotFound),
        ("podpis/other/01", IfcError::CryptoNotFound),
        ("nothing", IfcError::CryptoNotFound),
        ("", IfcError::CryptoNotFound),
    ] {
        assert_eq!(
            code(&call(
                &mut host,
                PORTAL,
                "load_x509_from_container",
                Some(json!({"containerId": container}))
            )),
            ifc(error),
            "{container}"
        );
    }
}

#[test]
fn certificates_from_data_are_read_as_base64_or_pem() {
    let w = world();
    // No listing consent is needed: the page gives the certificate.
    let mut host = host_for(&w, TestConsent::default());
    let der = &w.found[0].certificate;
    let pem =
        String::from_utf8(X509::from_der(der).expect("der").to_pem().expect("pem")).expect("utf8");
    for (cert, data_type) in [
        (b64(der), json!(0)),
        (b64(der), json!(2)),
        (pem.clone(), json!(0)),
        (pem.clone(), json!(3)),
        (pem.replace('\n', "\r\n"), Value::Null),
    ] {
        let mut params = json!({ "cert": cert });
        if !data_type.is_null() {
            params["cert_data_type"] = data_type;
        }
        let loaded = call(&mut host, PORTAL, "load_x509_from_data", Some(params));
        assert_eq!(loaded["error_code"], 0, "{loaded}");
        let info = call(
            &mut host,
            PORTAL,
            "get_x509_info",
            Some(json!({"x509Handle": loaded["x509Handle"]})),
        );
        assert_eq!(info["cert_info"]["base64"], b64(der));
    }
    for (params, error) in [
        (
            json!({"cert": "***", "cert_data_type": 0}),
            IfcError::ErrorBase64,
        ),
        (
            json!({"cert": b64(b"not a certificate")}),
            IfcError::UnsupportedFormat,
        ),
        (
            json!({"cert": b64(der), "cert_data_type": 3}),
            IfcError::UnsupportedFormat,
        ),
        (
            json!({"cert": b64(der), "cert_data_type": 1}),
            IfcError::UnsupportedFormat,
        ),
        (
            json!({"cert": b64(der), "cert_data_type": 9}),
            IfcError::BadParams,
        ),
        (json!({"cert": 1}), IfcError::BadParams),
    ] {
        assert_eq!(
            code(&call(
                &mut host,
                PORTAL,
                "load_x509_from_data",
                Some(params.clone())
            )),
            ifc(error),
            "{params}"
        );
    }
}

#[test]
fn handles_are_bounded() {
    let w = world();
    let mut host = host_for(&w, TestConsent::default());
    let params = json!({"cert": b64(&w.found[0].certificate)});
    for _ in 0..crate::x509::Handles::MAX {
        assert_eq!(
            code(&call(
                &mut host,
                PORTAL,
                "load_x509_from_data",
                Some(params.clone())
            )),
            0
        );
    }
    let full = call(
        &mut host,
        PORTAL,
        "load_x509_from_data",
        Some(params.clone()),
    );
    assert_eq!(code(&full), ifc(IfcError::ErrorMalloc));
    assert_eq!(
        code(&call(
            &mut host,
            PORTAL,
            "free_x509",
            Some(json!({"x509Handle": 1}))
        )),
        0
    );
    assert_eq!(
        code(&call(
            &mut host,
            PORTAL,
            "load_x509_from_data",
            Some(params)
        )),
        0
    );
}

#[test]
fn hash_uses_the_containers_hash_or_streebog_256() {
    let mut w = world();
    // The hash follows the key's algorithm (not its certificate's): a GOST-512 key here.
    w.found[2].algorithm = KeyAlgorithm::Gost2012_512;
    let mut host = host_for(&w, listing(PORTAL));
    let hash = |host: &mut Host<FixedKeys, TestConsent>,
                container: &str,
                in_type: i64,
                data: &str| {
        let reply = call(
            host,
            PORTAL,
            "hash",
            Some(
                json!({"containerId": container, "inDataType": in_type, "data": data, "outDataType": 1}),
            ),
        );
        assert_eq!(reply["error_code"], 0, "{reply}");
        hex::encode(unb64(reply["hashValue"].as_str().expect("hashValue")))
    };
    // GOST R 34.11-2012, 256 bits, of the empty message (the standard's and OpenSSL's value).
    assert_eq!(
        hash(&mut host, "", 1, ""),
        "3f539a213e97c802cc229d474c6aa32a825a360b2a933a949fd925208d9ce1bb"
    );
    assert_eq!(
        hash(&mut host, "", 2, &b64(b"abc")),
        hash(&mut host, "", 1, "abc")
    );
    assert_eq!(
        hash(&mut host, "podpis-p11-libsofthsm2/9f3c2a/ab01", 1, ""),
        hex::encode(KeyAlgorithm::Gost2012_512.digest(b""))
    );
    assert_eq!(
        hash(&mut host, "podpis-p11-libsofthsm2/9f3c2a/ab01", 1, "").len(),
        128
    );
    // A P-256 key hashes with SHA-256.
    assert_eq!(
        hash(&mut host, "podpis/pd-0001/01", 1, "abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    for (params, error) in [
        (
            json!({"containerId": "", "inDataType": 4, "data": ""}),
            IfcError::BadInType,
        ),
        (
            json!({"containerId": "", "inDataType": 2, "data": "@@"}),
            IfcError::ErrorBase64,
        ),
        (
            json!({"containerId": "", "inDataType": 1, "data": "", "outDataType": 0}),
            IfcError::UnsupportedFormat,
        ),
        (
            json!({"containerId": "podpis/x/01", "inDataType": 1, "data": ""}),
            IfcError::CryptoNotFound,
        ),
        (json!({"inDataType": 1, "data": ""}), IfcError::BadParams),
        (
            json!({"containerId": "", "inDataType": "1", "data": ""}),
            IfcError::BadParams,
        ),
    ] {
        assert_eq!(
            code(&call(&mut host, PORTAL, "hash", Some(params.clone()))),
            ifc(error),
            "{params}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals.

#[test]
fn an_origin_not_allowed_gets_no_token_read_and_no_certificate() {
    let mut host = Host::new(UntouchedKeys, listing(PORTAL));
    let other = "https://evil.example";
    for (func, params) in [
        ("get_list_info", json!({"cryptoType": null})),
        ("get_list_certs", json!({"cryptoID": "podpis/pd-0001"})),
        (
            "get_list_certs_by_cryptoid_array",
            json!({"cryptoID_array": ["podpis/pd-0001"], "show_progress": 0}),
        ),
        (
            "load_x509_from_container",
            json!({"containerId": "podpis/pd-0001/01"}),
        ),
        (
            "hash",
            json!({"containerId": "podpis/pd-0001/01", "inDataType": 1, "data": "x"}),
        ),
        (
            "sign",
            json!({"containerId": "podpis/pd-0001/01", "userPin": "", "inDataType": 1, "data": "x", "hashType": 1, "signType": 3, "cspUI": 1, "outDataType": 1}),
        ),
    ] {
        assert_eq!(
            call(&mut host, other, func, Some(params)),
            json!({"error_code": -1}),
            "{func}"
        );
    }
    // What needs no token still works for it.
    assert_eq!(call(&mut host, other, "version", None)["error_code"], 0);
}

#[test]
fn without_the_window_every_signature_is_refused() {
    let w = world();
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        client::bridge::AllowedOrigins::file(dir.path()),
        format!(r#"{{"origins":["{PORTAL}"]}}"#),
    )
    .expect("origins");
    let mut host = Host::new(
        FixedKeys(w.found.clone()),
        WithoutWindow {
            data_dir: dir.path().to_path_buf(),
        },
    );
    // Listing works for the remembered origin...
    assert_eq!(
        call(&mut host, PORTAL, "get_list_info", None)["error_code"],
        0
    );
    // ...and no signature is made, whatever the sign type.
    for sign_type in 1..=6 {
        let reply = call(
            &mut host,
            PORTAL,
            "sign",
            Some(json!({
                "containerId": "podpis/pd-0001/01", "userPin": "12345678", "inDataType": 1,
                "data": "challenge", "hashType": 1, "signType": sign_type, "cspUI": 1,
                "outDataType": 1
            })),
        );
        // A reversed ECDSA signature is refused for what it is, before any consent.
        let expected = if sign_type == 2 {
            ifc(IfcError::BadSignType)
        } else {
            -1
        };
        assert_eq!(
            reply,
            json!({ "error_code": expected }),
            "sign type {sign_type}"
        );
    }
}

#[test]
fn unknown_and_unserved_calls_are_not_supported() {
    let w = world();
    let mut host = host_for(&w, listing(PORTAL));
    for func in [
        "key_gen",
        "send_apdu",
        "verify",
        "get_list_keys",
        "no_such_call",
        "",
    ] {
        assert_eq!(
            call(&mut host, PORTAL, func, Some(json!({}))),
            json!({"error_code": ifc(IfcError::NotSupported)}),
            "{func}"
        );
    }
    for served in crate::host::SERVED {
        let reply = call(&mut host, PORTAL, served, Some(json!({})));
        assert_ne!(code(&reply), ifc(IfcError::NotSupported), "{served}");
    }
}

// ---------------------------------------------------------------------------------------------
// sign.

fn sign_params(container: &str, in_type: i64, data: &str, sign_type: i64) -> Value {
    json!({
        "containerId": container, "userPin": "", "inDataType": in_type, "data": data,
        "hashType": 1, "signType": sign_type, "cspUI": 0, "outDataType": 1
    })
}

#[test]
fn sign_parameters_are_checked_before_anything_is_asked() {
    let w = world();
    let mut consent = listing(PORTAL);
    consent.signer = Some(SoftSigner(w.keys[0].clone()));
    let mut host = host_for(&w, consent);
    let c = "podpis/pd-0001/01";
    let digest = b64(&[0u8; 32]);
    let mut cases = vec![
        (sign_params(c, 1, "x", 0), IfcError::BadSignType),
        (sign_params(c, 1, "x", 7), IfcError::BadSignType),
        (sign_params(c, 0, "x", 1), IfcError::BadInType),
        (sign_params(c, 5, "/etc/passwd", 1), IfcError::BadInType),
        (sign_params(c, 3, "x", 1), IfcError::NotSupported),
        (sign_params(c, 2, "not base64!", 3), IfcError::ErrorBase64),
        (sign_params(c, 4, &digest, 3), IfcError::BadSignType),
        (sign_params(c, 4, &digest, 5), IfcError::BadSignType),
        (sign_params(c, 4, &b64(&[0u8; 31]), 1), IfcError::BadParams),
        // A reversed signature has no meaning for ECDSA's DER form.
        (sign_params(c, 1, "x", 2), IfcError::BadSignType),
        (
            sign_params("podpis/pd-0001/09", 1, "x", 1),
            IfcError::ContainerNotFound,
        ),
        (
            sign_params("podpis/nothing/01", 1, "x", 1),
            IfcError::CryptoNotFound,
        ),
    ];
    let mut wrong_types = sign_params(c, 1, "x", 1);
    wrong_types["signType"] = json!("1");
    cases.push((wrong_types, IfcError::BadParams));
    let mut raw_out = sign_params(c, 1, "x", 1);
    raw_out["outDataType"] = json!(0);
    cases.push((raw_out, IfcError::UnsupportedFormat));
    let mut pin_type = sign_params(c, 1, "x", 1);
    pin_type["userPin"] = json!(1234);
    cases.push((pin_type, IfcError::BadParams));
    let mut pin_text = sign_params(c, 1, "x", 1);
    pin_text["userPin"] = json!("пин");
    cases.push((pin_text, IfcError::BadTypePin));
    let mut no_data = sign_params(c, 1, "x", 1);
    no_data.as_object_mut().expect("object").remove("data");
    cases.push((no_data, IfcError::BadParams));
    for (params, error) in cases {
        assert_eq!(
            code(&call(&mut host, PORTAL, "sign", Some(params.clone()))),
            ifc(error),
            "{params}"
        );
    }
}

fn verify_cms(ca: &Ca, cms: &[u8], detached: Option<&[u8]>) -> Vec<u8> {
    let mut store = X509StoreBuilder::new().expect("store");
    store.add_cert(ca.cert.clone()).expect("ca");
    store
        .set_purpose(openssl::x509::X509PurposeId::ANY)
        .expect("purpose");
    let store = store.build();
    let mut cms = CmsContentInfo::from_der(cms).expect("CMS DER");
    let mut out = Vec::new();
    // CAdES mode (CMS_CADES): signingCertificateV2 is checked too.
    let cades = CMSOptions::BINARY | CMSOptions::from_bits_retain(0x100000);
    cms.verify(
        Some(&Stack::new().expect("stack")),
        Some(&store),
        detached,
        Some(&mut out),
        cades,
    )
    .expect("OpenSSL verifies the CMS");
    out
}

#[test]
fn every_sign_type_makes_a_signature_openssl_verifies() {
    let w = world();
    let mut consent = listing(PORTAL);
    consent.signer = Some(SoftSigner(w.keys[0].clone()));
    let mut host = host_for(&w, consent);
    let container = "podpis/pd-0001/01";
    let content = "Подтверждение учётной записи 0123abcd".as_bytes();
    let digest = KeyAlgorithm::EcdsaP256.digest(content);
    let text = std::str::from_utf8(content).expect("utf8");
    let public = PKey::from_ec_key(
        EcKey::from_public_key(
            &EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group"),
            w.keys[0].public_key(),
        )
        .expect("public"),
    )
    .expect("pkey");
    let cases: Vec<(i64, String, i64)> = vec![
        (1, text.to_owned(), 1),
        (2, b64(content), 1),
        (4, b64(&digest), 1),
        (1, text.to_owned(), 3),
        (2, b64(content), 3),
        (1, text.to_owned(), 4),
        (2, b64(content), 4),
        (4, b64(&digest), 4),
        (1, text.to_owned(), 5),
        (2, b64(content), 5),
        (1, text.to_owned(), 6),
        (2, b64(content), 6),
        (4, b64(&digest), 6),
    ];
    for (in_type, data, sign_type) in cases {
        let reply = call(
            &mut host,
            PORTAL,
            "sign",
            Some(sign_params(container, in_type, &data, sign_type)),
        );
        assert_eq!(reply["error_code"], 0, "{in_type}/{sign_type}: {reply}");
        assert_eq!(reply.as_object().map(|o| o.len()), Some(2), "{reply}");
        let signature = unb64(reply["sign_value"].as_str().expect("sign_value"));
        match sign_type {
            1 => {
                // The simple form: ECDSA-Sig-Value over the content's digest.
                let sig = EcdsaSig::from_der(&signature).expect("DER ECDSA");
                let key = public.ec_key().expect("ec");
                assert!(sig.verify(&digest, &key).expect("verify"), "{in_type}");
            }
            3 | 5 => assert_eq!(verify_cms(&w.ca, &signature, None), content),
            _ => {
                verify_cms(&w.ca, &signature, Some(content));
            }
        }
    }
    // Every signature was asked for, with the browser's origin and the container.
    let consent = host.consent_for_tests();
    assert_eq!(consent.asked_to_sign.len(), 13);
    assert!(consent
        .asked_to_sign
        .iter()
        .all(|(origin, container_id, pin)| origin == PORTAL && container_id == container && !pin));
}

#[test]
fn a_pin_the_page_passes_goes_to_the_consent_and_nowhere_else() {
    let w = world();
    let mut host = host_for(&w, listing(PORTAL));
    let mut params = sign_params("podpis/pd-0001/01", 1, "x", 1);
    params["userPin"] = json!("12345678");
    assert_eq!(code(&call(&mut host, PORTAL, "sign", Some(params))), -1);
    let asked = &host.consent_for_tests().asked_to_sign;
    assert_eq!(asked.len(), 1);
    assert!(asked[0].2, "the PIN reached the consent");
}

#[test]
fn a_reply_over_one_megabyte_becomes_an_error_reply() {
    let w = world();
    let mut consent = listing(PORTAL);
    consent.signer = Some(SoftSigner(w.keys[0].clone()));
    let mut host = host_for(&w, consent);
    // 800 KB attached: the CMS is over 800 KB, its base64 over 1 MB.
    let content = "a".repeat(800 * 1024);
    let attached = call(
        &mut host,
        PORTAL,
        "sign",
        Some(sign_params("podpis/pd-0001/01", 1, &content, 5)),
    );
    assert_eq!(attached, json!({"error_code": ifc(IfcError::NotSupported)}));
    // The same content detached fits.
    let detached = call(
        &mut host,
        PORTAL,
        "sign",
        Some(sign_params("podpis/pd-0001/01", 1, &content, 6)),
    );
    assert_eq!(detached["error_code"], 0);
}

// ---------------------------------------------------------------------------------------------
// Frames and malformed messages, through the serving loop.

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_ne_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn replies(mut out: &[u8]) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        match crate::frame::read_frame(&mut out).expect("our own frames") {
            Inbound::Message(bytes) => all.push(serde_json::from_slice(&bytes).expect("JSON")),
            Inbound::End => return all,
            Inbound::TooLong { .. } => panic!("a reply over the limit"),
        }
    }
}

#[test]
fn bad_frames_get_error_replies_and_the_stream_goes_on() {
    let w = world();
    let mut host = host_for(&w, listing(PORTAL));
    let mut input = Vec::new();
    input.extend(frame(b"{not json"));
    input.extend(frame(&[0xff, 0xfe, 0xfd]));
    input.extend(frame(b"[1,2,3]"));
    input.extend(frame(br#"{"msg_data":{"func_name":"version"}}"#));
    input.extend(frame(&envelope(PORTAL, "no_such_call", None)));
    input.extend(frame(&envelope(
        PORTAL,
        "get_list_certs",
        Some(json!({"cryptoID": 7})),
    )));
    // Over the limit: read through, answered, and the next frame is read whole.
    input.extend((MAX_INBOUND + 1).to_ne_bytes());
    input.extend(std::iter::repeat_n(b' ', MAX_INBOUND as usize + 1));
    input.extend(frame(&envelope(PORTAL, "version", None)));
    let mut out = Vec::new();
    let ended = crate::serve(&mut host, &mut input.as_slice(), &mut out).expect("served");
    assert_eq!(ended, Ended::Closed);
    let got = replies(&out);
    let codes: Vec<i64> = got.iter().map(code).collect();
    assert_eq!(
        codes,
        vec![
            ifc(IfcError::BadParams),
            ifc(IfcError::BadParams),
            ifc(IfcError::BadParams),
            ifc(IfcError::GeneralError),
            ifc(IfcError::NotSupported),
            ifc(IfcError::BadParams),
            ifc(IfcError::ErrorMalloc),
            0,
        ]
    );
    assert_eq!(got[7]["version"], "3.1.0");
}

#[test]
fn a_truncated_frame_ends_serving_without_a_reply() {
    let w = world();
    for cut in [2usize, 4, 10] {
        let mut host = host_for(&w, listing(PORTAL));
        let mut input = frame(&envelope(PORTAL, "version", None));
        let whole = input.len();
        input.extend(frame(&envelope(PORTAL, "version", None)));
        input.truncate(whole + cut);
        let mut out = Vec::new();
        let ended = crate::serve(&mut host, &mut input.as_slice(), &mut out).expect("served");
        assert_eq!(ended, Ended::Truncated);
        assert_eq!(
            replies(&out).len(),
            1,
            "only the whole message was answered"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The mapping.

#[test]
fn container_ids_survive_the_librarys_rule() {
    let mut w = world();
    // A serial with upper case, a slash and a CAPI name in it.
    w.found[0].token_serial = "CryptoPro/VIPNet 01".into();
    w.found[1].token_serial = "CryptoPro/VIPNet 01".into();
    let catalogue = Catalogue::from_keys(w.found.clone());
    for entry in &catalogue.entries {
        let container = entry.container_id();
        assert_eq!(
            library_crypto_id(&container),
            entry.crypto_id,
            "{container}"
        );
        assert_eq!(container.matches('/').count(), 2, "{container}");
        assert_eq!(container, container.to_lowercase());
        assert!(catalogue.find(&container).is_ok());
    }
    assert!(catalogue
        .cryptos
        .iter()
        .any(|c| c.crypto_id() == "podpis/cryptopro_vipnet_01"));
}

#[test]
fn tokens_with_one_serial_are_told_apart_by_where_they_are() {
    let w = world();
    let mut found = w.found.clone();
    let mut twin = found[0].clone();
    twin.source = KeySource::Card {
        reader: "Virtual PCD 00 01".into(),
        kind: CardKind::GostToken,
        reference: 1,
    };
    found.push(twin);
    let catalogue = Catalogue::from_keys(found);
    let ids: Vec<String> = catalogue.cryptos.iter().map(|c| c.crypto_id()).collect();
    assert_eq!(ids.len(), 3);
    let cards: Vec<&String> = ids.iter().filter(|id| id.starts_with("podpis/")).collect();
    assert_eq!(cards.len(), 2);
    assert_ne!(cards[0], cards[1]);
    for id in cards {
        assert!(id.starts_with("podpis/pd-0001-"), "{id}");
        assert_eq!(id.len(), "podpis/pd-0001-".len() + 8);
    }
    // Stable: the same tokens give the same ids.
    let again = Catalogue::from_keys(catalogue.entries.iter().map(|e| e.key.clone()).collect());
    assert_eq!(
        again
            .cryptos
            .iter()
            .map(|c| c.crypto_id())
            .collect::<Vec<_>>(),
        ids
    );
}

#[test]
fn a_key_whose_certificate_does_not_parse_is_not_listed() {
    let w = world();
    let mut found = w.found.clone();
    found[2].certificate = b"garbage".to_vec();
    let catalogue = Catalogue::from_keys(found);
    assert_eq!(catalogue.entries.len(), 2);
    assert_eq!(
        catalogue.cryptos.len(),
        1,
        "a token with no usable key is not listed"
    );
}

#[test]
fn what_is_shown_before_the_click() {
    let origin = Origin::parse(PORTAL).expect("origin");
    let parse = |params: Value| {
        let mut map = params.as_object().cloned().expect("object");
        SignRequest::parse(origin.clone(), &mut crate::message::Params(&mut map))
            .map(|(request, _)| request.shown(KeyAlgorithm::Gost2012_256))
    };
    use crate::sign::Shown;
    assert_eq!(
        parse(sign_params("c/0/01", 1, "Текст", 3)),
        Ok(Shown::Text("Текст".into()))
    );
    assert_eq!(
        parse(sign_params("c/0/01", 2, &b64(&[0, 1, 2]), 3)),
        Ok(Shown::Bytes {
            length: 3,
            digest: hex::encode(KeyAlgorithm::Gost2012_256.digest(&[0, 1, 2]))
        })
    );
    assert_eq!(
        parse(sign_params("c/0/01", 4, &b64(&[7; 32]), 6)),
        Ok(Shown::Digest(hex::encode([7; 32])))
    );
}

#[test]
fn dn_and_dates_are_in_the_plugins_form() {
    let w = world();
    let cert = crate::x509::Certificate::from_der(&w.found[0].certificate).expect("cert");
    let item = cert.list_item("01");
    assert_eq!(
        item["cert_subject"],
        "CN=Иванова Анна\\, ИП\nsurname=Иванова\ngivenName=Анна Петровна\nC=RU\nSNILS=54771278218\n1.2.643.100.5=304500116000157"
    );
    assert_eq!(item["cert_valid_from"], "Sun, 30 Nov 2025 12:00:00 GMT");
    let epoch = x509_cert::time::Time::UtcTime(
        der::asn1::UtcTime::from_unix_duration(Duration::from_secs(0)).expect("t"),
    );
    assert_eq!(crate::x509::date(&epoch), "Thu, 01 Jan 1970 00:00:00 GMT");
    // A leap day, after 2049 (GeneralizedTime in certificates).
    let leap = x509_cert::time::Time::GeneralTime(
        der::asn1::GeneralizedTime::from_unix_duration(Duration::from_secs(2_845_324_799))
            .expect("t"),
    );
    assert_eq!(crate::x509::date(&leap), "Sun, 29 Feb 2060 23:59:59 GMT");
}
