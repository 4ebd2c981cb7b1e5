//! A detached CAdES-BES over a message digest the page gives (`inDataType` 4, HASH_BASE64, with
//! `signType` 4 or 6): `signing::cades::prepare` takes the content and hashes it itself, and here
//! there is no content, only its digest.
//!
//! The structure is `signing::cades`'s, attribute for attribute and byte for byte (a test
//! compares the two for the same content), with the messageDigest attribute taken as given.
//! It belongs in `signing::cades` as a `prepare` that takes the digest (docs/host.md); until
//! then this module is the only copy, and the test keeps it equal to the original.

use std::time::SystemTime;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode, Sequence};
use signing::cades::{oids, EssCertIdV2, SigningCertificateV2};
use signing::KeyAlgorithm;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::Certificate;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmsError {
    #[error("the signer's certificate is not valid DER")]
    Certificate,
    #[error("cannot encode the signature: {0}")]
    Encoding(String),
    #[error("a signature of {actual} bytes, the key makes {expected}")]
    SignatureLength { expected: usize, actual: usize },
}

impl From<der::Error> for CmsError {
    fn from(e: der::Error) -> Self {
        Self::Encoding(e.to_string())
    }
}

/// The signed attributes over a given message digest, waiting for the signature.
#[derive(Debug, Clone)]
pub struct PreparedDigest {
    algorithm: KeyAlgorithm,
    certificate: Certificate,
    signed_attrs: SetOfVec<Attribute>,
    signed_attrs_der: Vec<u8>,
    digest_to_sign: Vec<u8>,
}

/// GOST digests with NULL parameters as OpenSSL writes them, SHA-2 without (RFC 5754).
fn digest_algorithm(algorithm: KeyAlgorithm) -> Result<AlgorithmIdentifierOwned, CmsError> {
    Ok(AlgorithmIdentifierOwned {
        oid: algorithm.digest_oid(),
        parameters: if is_gost(algorithm) {
            Some(Any::encode_from(&der::asn1::Null)?)
        } else {
            None
        },
    })
}

fn is_gost(algorithm: KeyAlgorithm) -> bool {
    matches!(
        algorithm,
        KeyAlgorithm::Gost2012_256 | KeyAlgorithm::Gost2012_512 | KeyAlgorithm::Gost2001
    )
}

/// The GOST key OID with NULL, ecdsa-with-SHA256/384 without parameters, sha256WithRSA with
/// NULL: as `signing::cades` writes them.
fn signature_algorithm(algorithm: KeyAlgorithm) -> Result<AlgorithmIdentifierOwned, CmsError> {
    let null = || Any::encode_from(&der::asn1::Null).map(Some);
    Ok(match algorithm {
        KeyAlgorithm::EcdsaP256 => AlgorithmIdentifierOwned {
            oid: oids::ECDSA_WITH_SHA256,
            parameters: None,
        },
        KeyAlgorithm::EcdsaP384 => AlgorithmIdentifierOwned {
            oid: oids::ECDSA_WITH_SHA384,
            parameters: None,
        },
        KeyAlgorithm::Rsa { .. } => AlgorithmIdentifierOwned {
            oid: oids::SHA256_WITH_RSA,
            parameters: null()?,
        },
        gost => AlgorithmIdentifierOwned {
            oid: gost.key_oid(),
            parameters: null()?,
        },
    })
}

/// The signature value a CMS (and a simple signature) carries, from the token's raw one:
/// ECDSA's r ‖ s as the DER `ECDSA-Sig-Value` (RFC 5753, 7.2), GOST's s ‖ r and RSA's block as
/// they are.
pub fn signature_value(algorithm: KeyAlgorithm, raw: &[u8]) -> Result<Vec<u8>, CmsError> {
    match algorithm {
        KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
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

fn attribute(oid: const_oid::ObjectIdentifier, value: Any) -> Result<Attribute, CmsError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// The signed attributes for content whose digest (with the key's algorithm) is
/// `message_digest`.
pub fn prepare_digest(
    message_digest: &[u8],
    certificate_der: &[u8],
    algorithm: KeyAlgorithm,
    signing_time: SystemTime,
) -> Result<PreparedDigest, CmsError> {
    let certificate = Certificate::from_der(certificate_der).map_err(|_| CmsError::Certificate)?;
    let digest_alg = digest_algorithm(algorithm)?;
    let signing_certificate = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: (digest_alg.oid != oids::SHA256).then_some(digest_alg),
            cert_hash: OctetString::new(algorithm.digest(certificate_der))?,
        }],
    };
    let time = UtcTime::from_system_time(signing_time)?;
    let attributes = vec![
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
    // DER order (sorted by encoding): the digest is taken over the SET OF encoding, tag 0x31.
    let signed_attrs = SetOfVec::try_from(attributes)?;
    let signed_attrs_der = signed_attrs.to_der()?;
    let digest_to_sign = algorithm.digest(&signed_attrs_der);
    Ok(PreparedDigest {
        algorithm,
        certificate,
        signed_attrs,
        signed_attrs_der,
        digest_to_sign,
    })
}

impl PreparedDigest {
    pub fn digest_to_sign(&self) -> &[u8] {
        &self.digest_to_sign
    }

    pub fn signed_attributes(&self) -> &[u8] {
        &self.signed_attrs_der
    }

    /// The DER of a detached CMS ContentInfo around the token's raw signature.
    pub fn finish(self, signature: &[u8]) -> Result<Vec<u8>, CmsError> {
        let expected = self.algorithm.signature_len();
        if signature.len() != expected {
            return Err(CmsError::SignatureLength {
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
            digest_alg: digest_algorithm(self.algorithm)?,
            signed_attrs: Some(self.signed_attrs),
            signature_algorithm: signature_algorithm(self.algorithm)?,
            signature: OctetString::new(signature_value(self.algorithm, signature)?)?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![digest_algorithm(self.algorithm)?])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: oids::DATA,
                econtent: None,
            },
            certificates: Some(CertificateSet(SetOfVec::try_from(vec![
                CertificateChoices::Certificate(self.certificate),
            ])?)),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
        };
        Ok(ContentInfo {
            content_type: oids::SIGNED_DATA,
            content: Any::encode_from(&signed_data)?,
        }
        .to_der()?)
    }
}
