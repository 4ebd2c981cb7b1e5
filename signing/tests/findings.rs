//! Each certificate finding, with a certificate that triggers it and one that does not.
//! The certificates are made here with OpenSSL (EC keys: the findings do not depend on the key
//! algorithm, except `algorithm-deprecated`, which uses a GOST R 34.10-2001 certificate made by
//! OpenSSL's GOST engine, kept in testdata/).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::Encode;
use openssl::asn1::{Asn1Integer, Asn1Object, Asn1OctetString, Asn1Time, Asn1Type};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::extension::KeyUsage;
use openssl::x509::{X509Builder, X509Extension, X509NameBuilder};
use signing::certificate::{CertificateInfo, FindingCode, IssuerSignTool, Severity};

const DAY: i64 = 86_400;

#[derive(Clone)]
struct Spec {
    subject: Vec<(&'static str, String)>,
    not_before: i64,
    not_after: i64,
    key_usage: Option<(bool, bool)>,
    policy: Option<&'static str>,
    subject_sign_tool: bool,
    issuer_sign_tool: bool,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64
}

/// A valid qualified certificate of a person (the entrepreneur's numbers).
fn person() -> Spec {
    Spec {
        subject: vec![
            ("CN", "Иванов Иван Иванович".into()),
            ("SN", "Иванов".into()),
            ("GN", "Иван Иванович".into()),
            ("1.2.643.100.3", "54771278218".into()),
            ("1.2.643.3.131.1.1", "773024663310".into()),
            ("1.2.643.100.5", "321774638816302".into()),
        ],
        not_before: now() - DAY,
        not_after: now() + 365 * DAY,
        key_usage: Some((true, true)),
        policy: Some("1.2.643.100.113.1"),
        subject_sign_tool: true,
        issuer_sign_tool: true,
    }
}

/// A valid qualified certificate of a legal entity with its representative's SNILS.
fn organisation() -> Spec {
    let mut spec = person();
    spec.subject = vec![
        ("O", "ООО «Ромашка»".into()),
        ("CN", "ООО «Ромашка»".into()),
        ("SN", "Петрова".into()),
        ("GN", "Мария Сергеевна".into()),
        ("1.2.643.100.3", "62393849929".into()),
        ("1.2.643.3.131.1.1", "779736694679".into()),
        ("1.2.643.100.1", "1027716290722".into()),
        ("1.2.643.100.4", "7724419550".into()),
    ];
    spec
}

impl Spec {
    fn without(mut self, field: &str) -> Self {
        self.subject.retain(|(f, _)| *f != field);
        self
    }

    fn with(mut self, field: &'static str, value: &str) -> Self {
        self.subject.retain(|(f, _)| *f != field);
        self.subject.push((field, value.into()));
        self
    }

    fn build(&self) -> Vec<u8> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
        let key = PKey::from_ec_key(EcKey::generate(&group).expect("key")).expect("pkey");
        let mut name = X509NameBuilder::new().expect("name");
        for (field, value) in &self.subject {
            let kind = if field.starts_with("1.2.643") {
                Asn1Type::NUMERICSTRING
            } else {
                Asn1Type::UTF8STRING
            };
            name.append_entry_by_text_with_type(field, value, kind)
                .expect("entry");
        }
        let name = name.build();
        let mut b = X509Builder::new().expect("builder");
        b.set_version(2).expect("version");
        let serial = Asn1Integer::from_bn(&BigNum::from_u32(4242).expect("bn")).expect("serial");
        b.set_serial_number(&serial).expect("serial");
        b.set_subject_name(&name).expect("subject");
        b.set_issuer_name(&name).expect("issuer");
        b.set_pubkey(&key).expect("pubkey");
        b.set_not_before(&Asn1Time::from_unix(self.not_before).expect("time"))
            .expect("nb");
        b.set_not_after(&Asn1Time::from_unix(self.not_after).expect("time"))
            .expect("na");
        if let Some((ds, nr)) = self.key_usage {
            let mut ku = KeyUsage::new();
            ku.critical();
            if ds {
                ku.digital_signature();
            }
            if nr {
                ku.non_repudiation();
            }
            if !ds && !nr {
                ku.key_encipherment();
            }
            b.append_extension(ku.build().expect("ku")).expect("ku");
        }
        if let Some(policy) = self.policy {
            let policies = x509_cert::ext::pkix::CertificatePolicies(vec![
                x509_cert::ext::pkix::certpolicy::PolicyInformation {
                    policy_identifier: policy.parse().expect("oid"),
                    policy_qualifiers: None,
                },
            ]);
            let der = policies.to_der().expect("der");
            b.append_extension(raw_extension("2.5.29.32", &der))
                .expect("ext");
        }
        if self.subject_sign_tool {
            let tool = der::asn1::Utf8StringRef::new("СКЗИ «Тест»").expect("utf8");
            let der = tool.to_der().expect("der");
            b.append_extension(raw_extension("1.2.643.100.111", &der))
                .expect("ext");
        }
        if self.issuer_sign_tool {
            let tool = IssuerSignTool {
                sign_tool: "ПАК УЦ".into(),
                ca_tool: "ПАК УЦ 2".into(),
                sign_tool_cert: "СФ/1".into(),
                ca_tool_cert: "СФ/2".into(),
            };
            let der = tool.to_der().expect("der");
            b.append_extension(raw_extension("1.2.643.100.112", &der))
                .expect("ext");
        }
        b.sign(&key, MessageDigest::sha256()).expect("sign");
        b.build().to_der().expect("der")
    }

    fn codes(&self) -> Vec<FindingCode> {
        let info = CertificateInfo::parse(&self.build()).expect("parse");
        info.findings_at(SystemTime::now())
            .into_iter()
            .map(|f| f.code)
            .collect()
    }
}

fn raw_extension(oid: &str, der: &[u8]) -> X509Extension {
    X509Extension::new_from_der(
        &Asn1Object::from_str(oid).expect("oid"),
        false,
        &Asn1OctetString::new_from_bytes(der).expect("octets"),
    )
    .expect("extension")
}

#[test]
fn valid_certificates_have_no_findings() {
    assert_eq!(person().codes(), vec![]);
    assert_eq!(organisation().codes(), vec![]);
}

#[test]
fn expired() {
    let mut spec = person();
    spec.not_before = now() - 400 * DAY;
    spec.not_after = now() - DAY;
    assert_eq!(spec.codes(), vec![FindingCode::Expired]);
    assert!(!person().codes().contains(&FindingCode::Expired));
}

#[test]
fn not_yet_valid() {
    let mut spec = person();
    spec.not_before = now() + DAY;
    assert_eq!(spec.codes(), vec![FindingCode::NotYetValid]);
    // The finding follows the clock it is asked about.
    let info = CertificateInfo::parse(&spec.build()).expect("parse");
    let later = SystemTime::now() + Duration::from_secs(2 * DAY as u64);
    assert!(info.findings_at(later).is_empty());
}

#[test]
fn snils_missing_and_checksum() {
    assert_eq!(
        person().without("1.2.643.100.3").codes(),
        vec![FindingCode::SnilsMissing]
    );
    assert_eq!(
        person().with("1.2.643.100.3", "54771278219").codes(),
        vec![FindingCode::SnilsChecksum]
    );
    assert!(!person().codes().contains(&FindingCode::SnilsMissing));
}

#[test]
fn legal_entity_without_person_snils() {
    assert_eq!(
        organisation().without("1.2.643.100.3").codes(),
        vec![FindingCode::LegalEntityWithoutPersonSnils]
    );
    assert!(!organisation()
        .codes()
        .contains(&FindingCode::LegalEntityWithoutPersonSnils));
}

#[test]
fn not_qualified_without_either_signing_tool_or_class() {
    let mut no_subject_tool = person();
    no_subject_tool.subject_sign_tool = false;
    let mut no_issuer_tool = person();
    no_issuer_tool.issuer_sign_tool = false;
    let mut no_class = person();
    no_class.policy = Some("1.2.3.4");
    for spec in [no_subject_tool, no_issuer_tool, no_class] {
        assert_eq!(spec.codes(), vec![FindingCode::NotQualified]);
    }
    let mut kc3 = person();
    kc3.policy = Some("1.2.643.100.113.3");
    assert_eq!(kc3.codes(), vec![]);
}

#[test]
fn key_usage_without_signature_bits() {
    for usage in [
        Some((false, false)),
        Some((true, false)),
        Some((false, true)),
        None,
    ] {
        let mut spec = person();
        spec.key_usage = usage;
        assert_eq!(spec.codes(), vec![FindingCode::KeyUsage], "{usage:?}");
    }
}

#[test]
fn inn_checksum_for_person_and_legal_entity() {
    assert_eq!(
        person().with("1.2.643.3.131.1.1", "773024663311").codes(),
        vec![FindingCode::InnChecksum]
    );
    assert_eq!(
        organisation().with("1.2.643.100.4", "7724419551").codes(),
        vec![FindingCode::InnChecksum]
    );
}

#[test]
fn ogrn_checksum_for_ogrn_and_ogrnip() {
    assert_eq!(
        organisation()
            .with("1.2.643.100.1", "1027716290723")
            .codes(),
        vec![FindingCode::OgrnChecksum]
    );
    assert_eq!(
        person().with("1.2.643.100.5", "321774638816303").codes(),
        vec![FindingCode::OgrnChecksum]
    );
}

#[test]
fn algorithm_deprecated_is_a_warning_for_2001_keys_only() {
    let gost2001 = hex::decode(include_str!("../testdata/gost2001-cert.hex").trim()).expect("hex");
    let info = CertificateInfo::parse(&gost2001).expect("parse");
    assert_eq!(info.algorithm, "gost2001");
    let found = info.findings_at(SystemTime::now());
    let deprecated = found
        .iter()
        .find(|f| f.code == FindingCode::AlgorithmDeprecated)
        .expect("finding");
    assert_eq!(deprecated.severity, Severity::Warning);

    let gost2012 = hex::decode(include_str!("../testdata/gost256-cert.hex").trim()).expect("hex");
    let info = CertificateInfo::parse(&gost2012).expect("parse");
    assert_eq!(info.algorithm, "gost2012-256");
    assert_eq!(info.parameter_set.as_deref(), Some("CryptoPro-A"));
    let found = info.findings_at(SystemTime::now());
    assert!(!found
        .iter()
        .any(|f| f.code == FindingCode::AlgorithmDeprecated));
}

#[test]
fn every_finding_code_serialises_as_its_stable_string() {
    // The words of each finding are checked in the client's table of words.
    assert_eq!(FindingCode::ALL.len(), 10);
    for code in FindingCode::ALL {
        assert_eq!(serde_json::to_value(code).expect("json"), code.as_str());
    }
}

#[test]
fn the_parser_reads_every_field_of_a_qualified_certificate() {
    let info = CertificateInfo::parse(&organisation().build()).expect("parse");
    assert_eq!(info.subject.as_deref(), Some("ООО «Ромашка»"));
    assert_eq!(info.organisation.as_deref(), Some("ООО «Ромашка»"));
    assert_eq!(info.surname.as_deref(), Some("Петрова"));
    assert_eq!(info.given_names.as_deref(), Some("Мария Сергеевна"));
    assert_eq!(info.snils.as_deref(), Some("62393849929"));
    assert_eq!(info.inn.as_deref(), Some("779736694679"));
    assert_eq!(info.ogrn.as_deref(), Some("1027716290722"));
    assert_eq!(info.inn_le.as_deref(), Some("7724419550"));
    assert_eq!(info.ogrnip, None);
    assert_eq!(info.serial, "1092"); // 4242
    assert_eq!(info.policies, vec!["1.2.643.100.113.1".to_owned()]);
    assert_eq!(info.subject_sign_tool.as_deref(), Some("СКЗИ «Тест»"));
    let ca_tool = info.issuer_sign_tool.as_ref().map(|t| t.ca_tool.as_str());
    assert_eq!(ca_tool, Some("ПАК УЦ 2"));
    assert!(info.key_usage.present);
    assert!(info.key_usage.digital_signature && info.key_usage.non_repudiation);
    assert_eq!(info.algorithm, "ecdsa");
}

#[test]
fn truncated_and_garbage_certificates_are_errors() {
    let der = person().build();
    for cut in [0, 1, 10, der.len() / 2, der.len() - 1] {
        assert!(CertificateInfo::parse(&der[..cut]).is_err(), "cut at {cut}");
    }
    assert!(CertificateInfo::parse(b"not a certificate").is_err());
}
