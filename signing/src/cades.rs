//! CAdES-BES signatures (RFC 5652 SignedData with the signed attributes of ETSI EN 319 122-1:
//! contentType, messageDigest, signingTime, signingCertificateV2), with GOST algorithms and, for
//! commodity tokens, ECDSA P-256/P-384 and RSA, made in two steps so that the private-key
//! operation can happen on a card: [`prepare`] computes the digest the card signs;
//! [`Prepared::finish`] wraps the card's raw signature into the CMS.
//!
//! ECDSA and RSA follow RFC 5753 and RFC 5754: digestAlgorithm SHA-256 / SHA-384 with absent
//! parameters; signatureAlgorithm ecdsa-with-SHA256 / -SHA384 (absent parameters) or
//! sha256WithRSAEncryption (NULL parameters); the ECDSA signature value is the DER
//! `Ecdsa-Sig-Value`, made here from the r ‖ s a token returns; ESSCertIDv2 leaves out its
//! hashAlgorithm when it is SHA-256, the DEFAULT, as DER requires.
//!
//! Byte conventions (design.md, "GOST bytes", all measured against OpenSSL's GOST engine): the
//! digest signed is Streebog over the DER of the signed attributes *with the SET OF tag 0x31*; the
//! signature value is s ‖ r as the card returns it; the SignerInfo's signatureAlgorithm is the key's
//! OID with NULL parameters; ESSCertIDv2 names its hash algorithm explicitly (the default would mean
//! SHA-256).

use std::time::SystemTime;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier as Oid;
use der::asn1::{OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::Certificate;

use crate::drivers::KeyAlgorithm;

pub mod oids {
    use const_oid::ObjectIdentifier as Oid;

    pub const DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
    pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
    pub const SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
    pub const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");

    pub const STREEBOG_256: Oid = Oid::new_unwrap("1.2.643.7.1.1.2.2");
    pub const STREEBOG_512: Oid = Oid::new_unwrap("1.2.643.7.1.1.2.3");
    pub const GOST_R_34_11_94: Oid = Oid::new_unwrap("1.2.643.2.2.9");

    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CadesError {
    #[error("the signer's certificate is not valid DER: {0}")]
    Certificate(String),
    #[error("cannot encode the signature: {0}")]
    Encoding(String),
    #[error(
        "the card returned a signature of {actual} bytes, a {algorithm:?} key makes {expected}"
    )]
    SignatureLength {
        algorithm: KeyAlgorithm,
        expected: usize,
        actual: usize,
    },
}

impl From<der::Error> for CadesError {
    fn from(e: der::Error) -> Self {
        Self::Encoding(e.to_string())
    }
}

impl KeyAlgorithm {
    /// The digest that goes with the key: Streebog of the key's size, GOST R 34.11-94 for 2001,
    /// SHA-256 for P-256 and RSA, SHA-384 for P-384.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        use streebog::Digest as _;
        match self {
            Self::Gost2012_256 => streebog::Streebog256::digest(data).to_vec(),
            Self::Gost2012_512 => streebog::Streebog512::digest(data).to_vec(),
            Self::Gost2001 => {
                use gost94::Digest as _;
                gost94::Gost94CryptoPro::digest(data).to_vec()
            }
            Self::EcdsaP256 | Self::Rsa { .. } => sha2::Sha256::digest(data).to_vec(),
            Self::EcdsaP384 => sha2::Sha384::digest(data).to_vec(),
        }
    }

    pub fn digest_oid(self) -> Oid {
        match self {
            Self::Gost2012_256 => oids::STREEBOG_256,
            Self::Gost2012_512 => oids::STREEBOG_512,
            Self::Gost2001 => oids::GOST_R_34_11_94,
            Self::EcdsaP256 | Self::Rsa { .. } => oids::SHA256,
            Self::EcdsaP384 => oids::SHA384,
        }
    }

    /// The public key's OID (what a certificate's SubjectPublicKeyInfo names). For GOST keys
    /// OpenSSL also writes it as the SignerInfo's signatureAlgorithm.
    pub fn key_oid(self) -> Oid {
        match self {
            Self::Gost2012_256 => crate::certificate::oids::GOST2012_256,
            Self::Gost2012_512 => crate::certificate::oids::GOST2012_512,
            Self::Gost2001 => crate::certificate::oids::GOST2001,
            Self::EcdsaP256 | Self::EcdsaP384 => crate::certificate::oids::EC_PUBLIC_KEY,
            Self::Rsa { .. } => crate::certificate::oids::RSA,
        }
    }

    /// The digestAlgorithm of the SignerInfo: GOST digests with NULL parameters as OpenSSL
    /// writes them, SHA-2 without parameters (RFC 5754, section 2).
    fn digest_algorithm(self) -> Result<AlgorithmIdentifierOwned, CadesError> {
        if self.is_gost() {
            algorithm_identifier(self.digest_oid())
        } else {
            Ok(AlgorithmIdentifierOwned {
                oid: self.digest_oid(),
                parameters: None,
            })
        }
    }

    /// The signatureAlgorithm of the SignerInfo: the GOST key OID with NULL (as OpenSSL), the
    /// ECDSA-with-SHA OIDs without parameters (RFC 5753/5758), sha256WithRSAEncryption with NULL
    /// (RFC 5754, section 3.2).
    fn signature_algorithm(self) -> Result<AlgorithmIdentifierOwned, CadesError> {
        match self {
            Self::Gost2012_256 | Self::Gost2012_512 | Self::Gost2001 => {
                algorithm_identifier(self.key_oid())
            }
            Self::EcdsaP256 => Ok(AlgorithmIdentifierOwned {
                oid: oids::ECDSA_WITH_SHA256,
                parameters: None,
            }),
            Self::EcdsaP384 => Ok(AlgorithmIdentifierOwned {
                oid: oids::ECDSA_WITH_SHA384,
                parameters: None,
            }),
            Self::Rsa { .. } => algorithm_identifier(oids::SHA256_WITH_RSA),
        }
    }

    /// The signature value the CMS carries, from the token's raw signature: GOST's s ‖ r and
    /// RSA's block as they are, ECDSA's r ‖ s as the DER `Ecdsa-Sig-Value` (RFC 5753, 7.2).
    pub fn signature_value(self, raw: &[u8]) -> Result<Vec<u8>, CadesError> {
        match self {
            Self::EcdsaP256 | Self::EcdsaP384 => {
                /// `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`.
                #[derive(Sequence)]
                struct EcdsaSigValue<'a> {
                    r: der::asn1::UintRef<'a>,
                    s: der::asn1::UintRef<'a>,
                }
                let (r, s) = raw.split_at(raw.len() / 2);
                Ok(EcdsaSigValue {
                    r: der::asn1::UintRef::new(r)?,
                    s: der::asn1::UintRef::new(s)?,
                }
                .to_der()?)
            }
            _ => Ok(raw.to_vec()),
        }
    }
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT sha256, certHash OCTET
/// STRING, issuerSerial IssuerSerial OPTIONAL }` (RFC 5035). The hash algorithm is written out,
/// except SHA-256: DER leaves out a value equal to the DEFAULT.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies ... OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
}

/// The signed attributes and what the card must sign, waiting for the signature.
#[derive(Debug, Clone)]
pub struct Prepared {
    algorithm: KeyAlgorithm,
    certificate: Certificate,
    signed_attrs: SetOfVec<Attribute>,
    /// The DER of the signed attributes with the SET OF tag: what the digest is taken over.
    signed_attrs_der: Vec<u8>,
    content: Option<Vec<u8>>,
    digest_to_sign: Vec<u8>,
}

/// Whether the content travels inside the CMS (attached) or beside it (detached).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Attached,
    Detached,
}

/// Builds the signed attributes for `content` and the signer's certificate, and the digest the
/// card has to sign.
pub fn prepare(
    content: &[u8],
    certificate_der: &[u8],
    algorithm: KeyAlgorithm,
    signing_time: SystemTime,
    form: Content,
) -> Result<Prepared, CadesError> {
    let mut prepared = prepare_digest(
        &algorithm.digest(content),
        certificate_der,
        algorithm,
        signing_time,
    )?;
    if form == Content::Attached {
        prepared.content = Some(content.to_vec());
    }
    Ok(prepared)
}

/// As [`prepare`], detached, for content known only by its digest with the key's algorithm
/// (`message_digest`): a page that sends a hash to sign (the browser bridge).
pub fn prepare_digest(
    message_digest: &[u8],
    certificate_der: &[u8],
    algorithm: KeyAlgorithm,
    signing_time: SystemTime,
) -> Result<Prepared, CadesError> {
    let certificate = Certificate::from_der(certificate_der)
        .map_err(|e| CadesError::Certificate(e.to_string()))?;
    let digest_alg = algorithm.digest_algorithm()?;
    let signing_certificate = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: (digest_alg.oid != oids::SHA256).then_some(digest_alg),
            cert_hash: OctetString::new(algorithm.digest(certificate_der))?,
        }],
    };
    let time = UtcTime::from_system_time(signing_time)?;
    let attributes = [
        attribute(oids::CONTENT_TYPE, Any::encode_from(&oids::DATA)?)?,
        attribute(oids::SIGNING_TIME, Any::encode_from(&time)?)?,
        attribute(
            oids::MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(message_digest)?)?,
        )?,
        attribute(
            oids::SIGNING_CERTIFICATE_V2,
            Any::encode_from(&signing_certificate)?,
        )?,
    ];
    // SetOfVec keeps DER order (sorted by encoding), which the digest has to be taken over.
    let signed_attrs = SetOfVec::try_from(attributes.to_vec())?;
    let signed_attrs_der = signed_attrs.to_der()?;
    let digest_to_sign = algorithm.digest(&signed_attrs_der);
    Ok(Prepared {
        algorithm,
        certificate,
        signed_attrs,
        signed_attrs_der,
        content: None,
        digest_to_sign,
    })
}

impl Prepared {
    /// What the card signs: the digest of the DER of the signed attributes (tag 0x31).
    pub fn digest_to_sign(&self) -> &[u8] {
        &self.digest_to_sign
    }

    /// The bytes [`Self::digest_to_sign`] is the digest of: the DER of the signed attributes
    /// (tag 0x31). For a token that hashes itself (a PKCS#11 hash-and-sign mechanism).
    pub fn signed_attributes(&self) -> &[u8] {
        &self.signed_attrs_der
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// Wraps the card's raw signature (GOST s ‖ r, ECDSA r ‖ s, the RSA block) into the DER of
    /// a CMS ContentInfo.
    pub fn finish(self, signature: &[u8]) -> Result<Vec<u8>, CadesError> {
        let expected = self.algorithm.signature_len();
        if signature.len() != expected {
            return Err(CadesError::SignatureLength {
                algorithm: self.algorithm,
                expected,
                actual: signature.len(),
            });
        }
        let tbs = &self.certificate.tbs_certificate;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer.clone(),
                serial_number: tbs.serial_number.clone(),
            }),
            digest_alg: self.algorithm.digest_algorithm()?,
            signed_attrs: Some(self.signed_attrs),
            signature_algorithm: self.algorithm.signature_algorithm()?,
            signature: OctetString::new(self.algorithm.signature_value(signature)?)?,
            unsigned_attrs: None,
        };
        let econtent = match &self.content {
            Some(content) => Some(Any::encode_from(&OctetString::new(content.as_slice())?)?),
            None => None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![self.algorithm.digest_algorithm()?])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: oids::DATA,
                econtent,
            },
            certificates: Some(CertificateSet(SetOfVec::try_from(vec![
                CertificateChoices::Certificate(self.certificate),
            ])?)),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
        };
        let content_info = ContentInfo {
            content_type: oids::SIGNED_DATA,
            content: Any::encode_from(&signed_data)?,
        };
        Ok(content_info.to_der()?)
    }
}

/// An AlgorithmIdentifier with NULL parameters, as OpenSSL writes GOST ones.
fn algorithm_identifier(oid: Oid) -> Result<AlgorithmIdentifierOwned, CadesError> {
    Ok(AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Any::encode_from(&der::asn1::Null)?),
    })
}

fn attribute(oid: Oid, value: Any) -> Result<Attribute, CadesError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// What an attached CAdES-BES with one signer carries, read without checking any signature:
/// the first look a verifier (the portal) takes at bytes from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedSignature {
    pub content: Vec<u8>,
    /// The signer's certificate, DER, found by the signer's issuer and serial number.
    pub certificate: Vec<u8>,
    /// The signingTime attribute, in seconds since the Unix epoch.
    pub signing_time: i64,
    pub digest_algorithm: Oid,
}

/// Why bytes are not an attached CAdES-BES with one signer; the text completes "the signed
/// request is malformed: …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormError(String);

fn form(what: impl Into<String>) -> FormError {
    FormError(what.into())
}

/// Reads the parts of an attached CAdES-BES with exactly one signer named by issuer and serial,
/// its certificate inside and a signing time among the signed attributes.
pub fn read_attached(body: &[u8]) -> Result<AttachedSignature, FormError> {
    let info =
        ContentInfo::from_der(body).map_err(|e| form(format!("not a CMS ContentInfo ({e})")))?;
    if info.content_type != oids::SIGNED_DATA {
        return Err(form("not SignedData"));
    }
    let signed: SignedData = info
        .content
        .decode_as()
        .map_err(|e| form(format!("bad SignedData ({e})")))?;
    let [signer] = signed.signer_infos.0.as_slice() else {
        return Err(form("exactly one signer is expected"));
    };
    let content = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| form("the document must be attached"))?
        .decode_as::<OctetString>()
        .map_err(|_| form("the content is not an OCTET STRING"))?
        .into_bytes();
    let SignerIdentifier::IssuerAndSerialNumber(sid) = &signer.sid else {
        return Err(form("the signer must be named by issuer and serial number"));
    };
    let certificate = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .find_map(|choice| match choice {
            CertificateChoices::Certificate(c)
                if c.tbs_certificate.serial_number == sid.serial_number
                    && c.tbs_certificate.issuer == sid.issuer =>
            {
                c.to_der().ok()
            }
            _ => None,
        })
        .ok_or_else(|| form("the signer's certificate is not included"))?;
    let signing_time = signer
        .signed_attrs
        .iter()
        .flat_map(|attrs| attrs.iter())
        .find(|a| a.oid == oids::SIGNING_TIME)
        .and_then(|a| a.values.get(0))
        .and_then(|v| {
            v.decode_as::<UtcTime>()
                .map(|t| t.to_unix_duration().as_secs() as i64)
                .or_else(|_| {
                    v.decode_as::<der::asn1::GeneralizedTime>()
                        .map(|t| t.to_unix_duration().as_secs() as i64)
                })
                .ok()
        })
        .ok_or_else(|| form("no signing time among the signed attributes"))?;
    Ok(AttachedSignature {
        content,
        certificate,
        signing_time,
        digest_algorithm: signer.digest_alg.oid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // A GOST R 34.10-2012 certificate made by OpenSSL (only its structure matters here).
    fn certificate() -> Vec<u8> {
        hex::decode(include_str!("../testdata/gost256-cert.hex").trim()).expect("hex")
    }

    #[test]
    fn a_digest_given_makes_the_same_detached_signature_as_its_content() {
        let content = b"the same content";
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000);
        for algorithm in [KeyAlgorithm::Gost2012_256, KeyAlgorithm::Gost2012_512] {
            let from_digest =
                prepare_digest(&algorithm.digest(content), &certificate(), algorithm, time)
                    .expect("prepare");
            let from_content = prepare(content, &certificate(), algorithm, time, Content::Detached)
                .expect("prepare");
            assert_eq!(
                from_digest.signed_attributes(),
                from_content.signed_attributes()
            );
            let raw = vec![0x42; algorithm.signature_len()];
            assert_eq!(
                from_digest.finish(&raw).expect("finish"),
                from_content.finish(&raw).expect("finish")
            );
        }
    }

    #[test]
    fn digest_to_sign_covers_the_set_of_encoding_of_the_signed_attributes() {
        let cert = certificate();
        let prepared = prepare(
            b"hello",
            &cert,
            KeyAlgorithm::Gost2012_256,
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
            Content::Attached,
        )
        .expect("prepare");
        let der = prepared.signed_attrs.to_der().expect("der");
        assert_eq!(der[0], 0x31);
        assert_eq!(
            prepared.digest_to_sign(),
            KeyAlgorithm::Gost2012_256.digest(&der).as_slice()
        );
        assert_eq!(prepared.digest_to_sign().len(), 32);
    }

    #[test]
    fn finish_refuses_a_signature_of_the_wrong_size() {
        let prepared = prepare(
            b"x",
            &certificate(),
            KeyAlgorithm::Gost2012_256,
            SystemTime::now(),
            Content::Detached,
        )
        .expect("prepare");
        assert_eq!(
            prepared.finish(&[0; 63]),
            Err(CadesError::SignatureLength {
                algorithm: KeyAlgorithm::Gost2012_256,
                expected: 64,
                actual: 63
            })
        );
    }

    #[test]
    fn the_cms_carries_four_signed_attributes_and_the_content_only_when_attached() {
        for form in [Content::Attached, Content::Detached] {
            let cms = prepare(
                b"payload-bytes",
                &certificate(),
                KeyAlgorithm::Gost2012_256,
                SystemTime::now(),
                form,
            )
            .expect("prepare")
            .finish(&[0x11; 64])
            .expect("finish");
            let info = ContentInfo::from_der(&cms).expect("content info");
            assert_eq!(info.content_type, oids::SIGNED_DATA);
            let sd: SignedData = info.content.decode_as().expect("signed data");
            let si = sd.signer_infos.0.get(0).expect("signer info");
            let attrs = si.signed_attrs.as_ref().expect("signed attrs");
            let mut found: Vec<_> = attrs.iter().map(|a| a.oid).collect();
            found.sort();
            let mut expected = vec![
                oids::CONTENT_TYPE,
                oids::MESSAGE_DIGEST,
                oids::SIGNING_TIME,
                oids::SIGNING_CERTIFICATE_V2,
            ];
            expected.sort();
            assert_eq!(found, expected);
            assert_eq!(
                si.signature_algorithm.oid,
                crate::certificate::oids::GOST2012_256
            );
            assert_eq!(si.signature.as_bytes(), &[0x11; 64]);
            let has_content = sd.encap_content_info.econtent.is_some();
            assert_eq!(has_content, form == Content::Attached);
        }
    }

    #[test]
    fn gost94_digest_matches_the_standards_test_vector() {
        // GOST R 34.11-94 with the CryptoPro parameters, empty message (RFC 4357 / R 50.1.113).
        assert_eq!(
            hex::encode(KeyAlgorithm::Gost2001.digest(b"")),
            "981e5f3ca30c841487830f84fb433e13ac1101569b9c13584ac483234cd656c0"
        );
    }
}
