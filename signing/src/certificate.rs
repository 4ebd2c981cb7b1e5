//! Qualified certificates (FSB order 795; attribute names from RFC 9215 section 5): the fields
//! Podpis shows and checks, parsed with `x509-cert`.

use const_oid::ObjectIdentifier as Oid;
use der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
use der::{Decode, Tag, Tagged};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};
use x509_cert::name::Name;
use x509_cert::Certificate;

use crate::drivers::KeyAlgorithm;

pub mod checksums;
pub mod findings;

pub use findings::{Finding, FindingCode, Severity};

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

    pub const KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
    pub const CERTIFICATE_POLICIES: Oid = Oid::new_unwrap("2.5.29.32");
    /// Signing tool classes KC1..KC3, KB1, KB2, KA1: 1.2.643.100.113.1 to .6.
    pub const SIGNING_TOOL_CLASS_ARC: &str = "1.2.643.100.113.";

    pub const GOST2012_256: Oid = Oid::new_unwrap("1.2.643.7.1.1.1.1");
    pub const GOST2012_512: Oid = Oid::new_unwrap("1.2.643.7.1.1.1.2");
    pub const GOST2001: Oid = Oid::new_unwrap("1.2.643.2.2.19");
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub const RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    /// prime256v1 (NIST P-256) and secp384r1 (NIST P-384), the named curves of ECDSA keys.
    pub const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    pub const P384: Oid = Oid::new_unwrap("1.3.132.0.34");
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
    /// The GOST public key parameter set (a name where known, the OID otherwise).
    pub parameter_set: Option<String>,
    pub key_usage: KeyUsage,
    /// Certificate policy OIDs (the signing tool classes KC1..KA1 are 1.2.643.100.113.1-.6).
    pub policies: Vec<String>,
    pub subject_sign_tool: Option<String>,
    pub issuer_sign_tool: Option<IssuerSignTool>,
    /// SHA-256 of the DER, lower-case hex: how the CLI names a certificate.
    pub sha256: String,
    /// notBefore and notAfter in seconds since the Unix epoch.
    #[serde(skip)]
    pub validity: (i64, i64),
}

/// The key usage bits that matter for signing, and whether the extension is there at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KeyUsage {
    pub present: bool,
    pub digital_signature: bool,
    pub non_repudiation: bool,
}

/// `IssuerSignTool ::= SEQUENCE { signTool, cATool, signToolCert, cAToolCert UTF8String }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, der::Sequence)]
pub struct IssuerSignTool {
    pub sign_tool: String,
    pub ca_tool: String,
    pub sign_tool_cert: String,
    pub ca_tool_cert: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("the certificate is not valid DER: {0}")]
    Der(String),
    #[error("the certificate's {attribute} is not a string")]
    BadAttribute { attribute: &'static str },
    #[error("the certificate's {extension} extension is malformed")]
    BadExtension { extension: &'static str },
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
            parameter_set: parameter_set(&tbs.subject_public_key_info.algorithm.parameters),
            key_usage: extension(&cert, oids::KEY_USAGE)?
                .map(|bytes| {
                    x509_cert::ext::pkix::KeyUsage::from_der(bytes)
                        .map(|ku| KeyUsage {
                            present: true,
                            digital_signature: ku.digital_signature(),
                            non_repudiation: ku.non_repudiation(),
                        })
                        .map_err(|_| CertificateError::BadExtension {
                            extension: "key usage",
                        })
                })
                .transpose()?
                .unwrap_or_default(),
            policies: match extension(&cert, oids::CERTIFICATE_POLICIES)? {
                Some(bytes) => x509_cert::ext::pkix::CertificatePolicies::from_der(bytes)
                    .map_err(|_| CertificateError::BadExtension {
                        extension: "certificate policies",
                    })?
                    .0
                    .iter()
                    .map(|p| p.policy_identifier.to_string())
                    .collect(),
                None => Vec::new(),
            },
            subject_sign_tool: extension(&cert, oids::SUBJECT_SIGN_TOOL)?
                .map(|bytes| {
                    Utf8StringRef::from_der(bytes)
                        .map(|s| s.as_str().to_owned())
                        .map_err(|_| CertificateError::BadExtension {
                            extension: "subjectSignTool",
                        })
                })
                .transpose()?,
            issuer_sign_tool: extension(&cert, oids::ISSUER_SIGN_TOOL)?
                .map(|bytes| {
                    IssuerSignTool::from_der(bytes).map_err(|_| CertificateError::BadExtension {
                        extension: "issuerSignTool",
                    })
                })
                .transpose()?,
            sha256: hex::encode(Sha256::digest(der)),
            validity: (
                tbs.validity.not_before.to_unix_duration().as_secs() as i64,
                tbs.validity.not_after.to_unix_duration().as_secs() as i64,
            ),
        })
    }

    /// A qualified certificate (FSB order 795) names the signing tools of the subject and of the
    /// issuer and the class of the subject's signing tool as a policy.
    pub fn is_qualified(&self) -> bool {
        self.subject_sign_tool.is_some()
            && self.issuer_sign_tool.is_some()
            && self.policies.iter().any(|p| {
                p.strip_prefix(oids::SIGNING_TOOL_CLASS_ARC)
                    .is_some_and(|class| matches!(class, "1" | "2" | "3" | "4" | "5" | "6"))
            })
    }

    /// The findings at the given time.
    pub fn findings_at(&self, now: SystemTime) -> Vec<Finding> {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        findings::check(self, now)
    }
}

/// The DER value of extension `oid`, if the certificate has it (at most once, as RFC 5280 says).
fn extension(cert: &Certificate, oid: Oid) -> Result<Option<&[u8]>, CertificateError> {
    let mut found = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes());
    let first = found.next();
    if found.next().is_some() {
        return Err(CertificateError::BadExtension {
            extension: "duplicated extension",
        });
    }
    Ok(first)
}

/// GOST SubjectPublicKeyInfo parameters: `SEQUENCE { publicKeyParamSet OID, digestParamSet OID
/// OPTIONAL }`; some 512-bit keys omit the SEQUENCE content beyond the first OID.
fn parameter_set(parameters: &Option<der::Any>) -> Option<String> {
    let params = parameters.as_ref()?;
    let seq: Vec<Oid> = params.decode_as().ok()?;
    let oid = *seq.first()?;
    let name = match oid.to_string().as_str() {
        "1.2.643.2.2.35.1" => "CryptoPro-A",
        "1.2.643.2.2.35.2" => "CryptoPro-B",
        "1.2.643.2.2.35.3" => "CryptoPro-C",
        "1.2.643.2.2.36.0" => "CryptoPro-XchA",
        "1.2.643.2.2.36.1" => "CryptoPro-XchB",
        "1.2.643.7.1.2.1.1.1" => "TC26-256-A",
        "1.2.643.7.1.2.1.1.2" => "TC26-256-B",
        "1.2.643.7.1.2.1.1.3" => "TC26-256-C",
        "1.2.643.7.1.2.1.1.4" => "TC26-256-D",
        "1.2.643.7.1.2.1.2.1" => "TC26-512-A",
        "1.2.643.7.1.2.1.2.2" => "TC26-512-B",
        "1.2.643.7.1.2.1.2.3" => "TC26-512-C",
        other => return Some(other.to_owned()),
    };
    Some(name.to_owned())
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

/// The key algorithm of a certificate's public key, GOST or commodity: GOST R 34.10-2012 and
/// 2001 as [`key_algorithm`] finds them, ECDSA on P-256 or P-384, RSA with its modulus size.
/// `None` for any other key (another curve, Ed25519, DSA...), which Podpis cannot sign with.
pub fn signing_algorithm(der: &[u8]) -> Option<KeyAlgorithm> {
    let cert = Certificate::from_der(der).ok()?;
    let spki = &cert.tbs_certificate.subject_public_key_info;
    match spki.algorithm.oid {
        oids::EC_PUBLIC_KEY => {
            let curve: Oid = spki.algorithm.parameters.as_ref()?.decode_as().ok()?;
            match curve {
                oids::P256 => Some(KeyAlgorithm::EcdsaP256),
                oids::P384 => Some(KeyAlgorithm::EcdsaP384),
                _ => None,
            }
        }
        oids::RSA => {
            /// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
            #[derive(der::Sequence)]
            struct RsaPublicKey<'a> {
                modulus: der::asn1::UintRef<'a>,
                _exponent: der::asn1::UintRef<'a>,
            }
            let key = RsaPublicKey::from_der(spki.subject_public_key.as_bytes()?).ok()?;
            // UintRef drops the sign byte: the first byte holds the top bit.
            let modulus = key.modulus.as_bytes();
            let first = *modulus.first()?;
            let bits = modulus.len() * 8 - first.leading_zeros() as usize;
            Some(KeyAlgorithm::Rsa {
                bits: u16::try_from(bits).ok()?,
            })
        }
        _ => key_algorithm(der),
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

/// The text of a DirectoryString (and the other string types certificates use for names), or
/// `None` for a type or content no name should have.
pub fn decode_string(value: &der::Any) -> Option<String> {
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
