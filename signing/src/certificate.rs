//! Qualified certificates (FSB order 795; attribute names from RFC 9215 section 5): the fields
//! Podpis shows and checks, parsed with `x509-cert`.

use const_oid::ObjectIdentifier as Oid;
use der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
use der::{Decode, Tag, Tagged};
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_cert::name::Name;
use x509_cert::Certificate;

use crate::drivers::KeyAlgorithm;

pub mod oids {
    use const_oid::ObjectIdentifier as Oid;

    pub const SNILS: Oid = Oid::new_unwrap("1.2.643.100.3");
    pub const OGRN: Oid = Oid::new_unwrap("1.2.643.100.1");
    pub const OGRNIP: Oid = Oid::new_unwrap("1.2.643.100.5");
    pub const INN_PERSON: Oid = Oid::new_unwrap("1.2.643.3.131.1.1");
    pub const INN_LEGAL_ENTITY: Oid = Oid::new_unwrap("1.2.643.100.4");
    pub const SUBJECT_SIGN_TOOL: Oid = Oid::new_unwrap("1.2.643.100.111");
    pub const ISSUER_SIGN_TOOL: Oid = Oid::new_unwrap("1.2.643.100.112");

    pub const COMMON_NAME: Oid = Oid::new_unwrap("2.5.4.3");
    pub const SURNAME: Oid = Oid::new_unwrap("2.5.4.4");
    pub const GIVEN_NAME: Oid = Oid::new_unwrap("2.5.4.42");
    pub const ORGANISATION: Oid = Oid::new_unwrap("2.5.4.10");

    pub const GOST2012_256: Oid = Oid::new_unwrap("1.2.643.7.1.1.1.1");
    pub const GOST2012_512: Oid = Oid::new_unwrap("1.2.643.7.1.1.1.2");
    pub const GOST2001: Oid = Oid::new_unwrap("1.2.643.2.2.19");
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub const RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
}

/// What a certificate says, in the form the CLI and the UI show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateInfo {
    /// The subject's common name.
    pub subject: Option<String>,
    pub surname: Option<String>,
    /// Given name and patronymic, as the certificate writes them.
    pub given_names: Option<String>,
    pub snils: Option<String>,
    /// INN of a person (12 digits).
    pub inn: Option<String>,
    /// INN of a legal entity (10 digits).
    pub inn_le: Option<String>,
    pub ogrn: Option<String>,
    pub ogrnip: Option<String>,
    pub organisation: Option<String>,
    /// The issuer's common name (or its whole name when it has none).
    pub issuer: String,
    pub serial: String,
    /// RFC 3339.
    pub not_before: String,
    pub not_after: String,
    pub algorithm: String,
    /// SHA-256 of the DER, lower-case hex: how the CLI names a certificate.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("the certificate is not valid DER: {0}")]
    Der(String),
    #[error("the certificate's {attribute} is not a string")]
    BadAttribute { attribute: &'static str },
}

impl CertificateInfo {
    pub fn parse(der: &[u8]) -> Result<Self, CertificateError> {
        let cert = Certificate::from_der(der).map_err(|e| CertificateError::Der(e.to_string()))?;
        let tbs = &cert.tbs_certificate;
        let subject = &tbs.subject;
        let attr = |oid, name| attribute(subject, oid, name);
        Ok(Self {
            subject: attr(oids::COMMON_NAME, "common name")?,
            surname: attr(oids::SURNAME, "surname")?,
            given_names: attr(oids::GIVEN_NAME, "given name")?,
            snils: attr(oids::SNILS, "SNILS")?,
            inn: attr(oids::INN_PERSON, "INN")?,
            inn_le: attr(oids::INN_LEGAL_ENTITY, "INN of the legal entity")?,
            ogrn: attr(oids::OGRN, "OGRN")?,
            ogrnip: attr(oids::OGRNIP, "OGRNIP")?,
            organisation: attr(oids::ORGANISATION, "organisation")?,
            issuer: match attribute(&tbs.issuer, oids::COMMON_NAME, "issuer common name")? {
                Some(cn) => cn,
                None => tbs.issuer.to_string(),
            },
            serial: hex::encode_upper(tbs.serial_number.as_bytes()),
            not_before: tbs.validity.not_before.to_date_time().to_string(),
            not_after: tbs.validity.not_after.to_date_time().to_string(),
            algorithm: algorithm_name(&tbs.subject_public_key_info.algorithm.oid).to_owned(),
            sha256: hex::encode(Sha256::digest(der)),
        })
    }
}

/// The GOST key algorithm of a certificate's public key, if it is one.
pub fn key_algorithm(der: &[u8]) -> Option<KeyAlgorithm> {
    let cert = Certificate::from_der(der).ok()?;
    match cert.tbs_certificate.subject_public_key_info.algorithm.oid {
        oids::GOST2012_256 => Some(KeyAlgorithm::Gost2012_256),
        oids::GOST2012_512 => Some(KeyAlgorithm::Gost2012_512),
        oids::GOST2001 => Some(KeyAlgorithm::Gost2001),
        _ => None,
    }
}

/// The raw public key bytes (the content of the SubjectPublicKeyInfo BIT STRING).
pub fn public_key_bits(der: &[u8]) -> Option<Vec<u8>> {
    let cert = Certificate::from_der(der).ok()?;
    cert.tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .as_bytes()
        .map(<[u8]>::to_vec)
}

fn algorithm_name(oid: &Oid) -> &'static str {
    match *oid {
        oids::GOST2012_256 => "gost2012-256",
        oids::GOST2012_512 => "gost2012-512",
        oids::GOST2001 => "gost2001",
        oids::EC_PUBLIC_KEY => "ecdsa",
        oids::RSA => "rsa",
        _ => "unknown",
    }
}

/// The first value of `oid` in `name`, decoded from any DirectoryString form certificates use.
fn attribute(
    name: &Name,
    oid: Oid,
    what: &'static str,
) -> Result<Option<String>, CertificateError> {
    for rdn in name.0.iter() {
        for atv in rdn.0.iter() {
            if atv.oid == oid {
                return decode_string(&atv.value)
                    .map(Some)
                    .ok_or(CertificateError::BadAttribute { attribute: what });
            }
        }
    }
    Ok(None)
}

fn decode_string(value: &der::Any) -> Option<String> {
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String => Utf8StringRef::new(bytes)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::PrintableString => PrintableStringRef::new(bytes)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::NumericString => std::str::from_utf8(bytes)
            .ok()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit() || b == b' '))
            .map(str::to_owned),
        Tag::Ia5String => Ia5StringRef::new(&bytes)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::TeletexString => TeletexStringRef::new(&bytes)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::BmpString => {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}
