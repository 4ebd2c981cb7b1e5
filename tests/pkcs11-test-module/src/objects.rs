//! The objects a token shows for one certificate and its key pair: the certificate, the public key
//! and the private key, with the attributes PKCS#11 v2.40 gives them. The GOST attributes follow
//! docs/pkcs11.md ("GOST through PKCS#11"): `CKA_VALUE` of the public key is the SubjectPublicKeyInfo
//! octets (X ‖ Y, little-endian), the key type is `CKK_GOSTR3410` or the TC 26 `CKK_GOSTR3410_512`,
//! and the parameter attributes are the DER OIDs.
//!
//! Everything here comes from the certificate; the private key file is read only to sign, so the
//! token lists its objects without the GOST engine.

use cryptoki_sys::*;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use x509_cert::Certificate;

use crate::tc26;

/// GOST R 34.10-2012 256-bit key (RFC 9215).
const GOST2012_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.643.7.1.1.1.1");
/// GOST R 34.10-2012 512-bit key (RFC 9215).
const GOST2012_512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.643.7.1.1.1.2");
/// GOST R 34.10-2001 key (RFC 4491).
const GOST2001: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.643.2.2.19");
const STREEBOG_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.643.7.1.1.2.2");
const STREEBOG_512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.643.7.1.1.2.3");

/// The sizes of GOST signing this token knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GostKey {
    /// GOST R 34.10-2001: `CKK_GOSTR3410` with a GOST R 34.11-94 digest OID.
    Gost2001,
    /// GOST R 34.10-2012, 256-bit: `CKK_GOSTR3410`.
    Gost2012_256,
    /// GOST R 34.10-2012, 512-bit: `CKK_GOSTR3410_512`.
    Gost2012_512,
}

impl GostKey {
    pub fn key_type(self) -> CK_KEY_TYPE {
        match self {
            Self::Gost2001 | Self::Gost2012_256 => CKK_GOSTR3410,
            Self::Gost2012_512 => tc26::CKK_GOSTR3410_512,
        }
    }

    /// The mechanisms that sign with this key: over a precomputed digest, and (2012 keys) over
    /// data the token hashes with Streebog.
    pub fn mechanisms(self) -> &'static [CK_MECHANISM_TYPE] {
        match self {
            Self::Gost2001 => &[CKM_GOSTR3410],
            Self::Gost2012_256 => &[CKM_GOSTR3410, tc26::CKM_GOSTR3410_WITH_GOSTR3411_12_256],
            Self::Gost2012_512 => &[
                tc26::CKM_GOSTR3410_512,
                tc26::CKM_GOSTR3410_WITH_GOSTR3411_12_512,
            ],
        }
    }

    /// Bytes of the digest `C_Sign` takes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Gost2001 | Self::Gost2012_256 => 32,
            Self::Gost2012_512 => 64,
        }
    }

    /// Bytes of the signature `C_Sign` returns (s ‖ r) and of the public `CKA_VALUE` (X ‖ Y).
    pub fn signature_len(self) -> usize {
        2 * self.digest_len()
    }

    pub fn bits(self) -> CK_ULONG {
        8 * self.digest_len() as CK_ULONG
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("not a DER certificate: {0}")]
    Der(#[from] der::Error),
    #[error("the certificate's key is not GOST R 34.10 (algorithm {0})")]
    NotGost(ObjectIdentifier),
    #[error("the certificate's GOST key parameters are missing")]
    NoParameters,
    #[error("the certificate's public key is {0} bytes, not the {1} of its algorithm")]
    KeyLength(usize, usize),
}

/// What the token needs from a certificate.
#[derive(Debug, Clone)]
pub struct ParsedCertificate {
    pub der: Vec<u8>,
    pub subject: Vec<u8>,
    pub issuer: Vec<u8>,
    /// DER INTEGER, as `CKA_SERIAL_NUMBER` wants it.
    pub serial: Vec<u8>,
    pub spki: Vec<u8>,
    pub key: GostKey,
    /// X ‖ Y, each little-endian: the OCTET STRING inside the SubjectPublicKeyInfo.
    pub public_value: Vec<u8>,
    /// DER OID of the curve (`CKA_GOSTR3410_PARAMS`).
    pub curve_oid: Vec<u8>,
    /// DER OID of the digest (`CKA_GOSTR3411_PARAMS`).
    pub digest_oid: Vec<u8>,
}

pub fn parse_certificate(der_bytes: &[u8]) -> Result<ParsedCertificate, CertificateError> {
    let cert = Certificate::from_der(der_bytes)?;
    let tbs = &cert.tbs_certificate;
    let spki = &tbs.subject_public_key_info;
    let key = match spki.algorithm.oid {
        oid if oid == GOST2012_256 => GostKey::Gost2012_256,
        oid if oid == GOST2012_512 => GostKey::Gost2012_512,
        oid if oid == GOST2001 => GostKey::Gost2001,
        oid => return Err(CertificateError::NotGost(oid)),
    };
    // GostR3410-2012-PublicKeyParameters ::= SEQUENCE { publicKeyParamSet OID,
    // digestParamSet OID OPTIONAL } (RFC 9215 §4.1.1); the 2001 form adds an encryption set.
    let parameters: Vec<ObjectIdentifier> = spki
        .algorithm
        .parameters
        .as_ref()
        .ok_or(CertificateError::NoParameters)?
        .decode_as()?;
    let curve = parameters.first().ok_or(CertificateError::NoParameters)?;
    let digest = match (parameters.get(1), key) {
        (Some(digest), _) => *digest,
        // TC 26 parameter sets leave the digest out: it follows from the key size.
        (None, GostKey::Gost2012_256) => STREEBOG_256,
        (None, GostKey::Gost2012_512) => STREEBOG_512,
        (None, GostKey::Gost2001) => return Err(CertificateError::NoParameters),
    };
    let point = OctetString::from_der(spki.subject_public_key.raw_bytes())?;
    let public_value = point.as_bytes().to_vec();
    if public_value.len() != key.signature_len() {
        return Err(CertificateError::KeyLength(
            public_value.len(),
            key.signature_len(),
        ));
    }
    Ok(ParsedCertificate {
        der: der_bytes.to_vec(),
        subject: tbs.subject.to_der()?,
        issuer: tbs.issuer.to_der()?,
        serial: tbs.serial_number.to_der()?,
        spki: spki.to_der()?,
        key,
        public_value,
        curve_oid: curve.to_der()?,
        digest_oid: digest.to_der()?,
    })
}

/// One object as the token shows it.
#[derive(Debug, Clone)]
pub struct Object {
    pub handle: CK_OBJECT_HANDLE,
    pub class: CK_OBJECT_CLASS,
    /// `CKA_PRIVATE`: seen only by a logged-in user.
    pub private: bool,
    attributes: Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>,
    /// Attributes that exist but are never revealed (`CKR_ATTRIBUTE_SENSITIVE`).
    sensitive: Vec<CK_ATTRIBUTE_TYPE>,
}

/// What `C_GetAttributeValue` can learn about one attribute.
#[derive(Debug, PartialEq, Eq)]
pub enum AttributeValue<'a> {
    Value(&'a [u8]),
    Sensitive,
    Invalid,
}

impl Object {
    pub fn attribute(&self, kind: CK_ATTRIBUTE_TYPE) -> AttributeValue<'_> {
        if self.sensitive.contains(&kind) {
            return AttributeValue::Sensitive;
        }
        self.attributes
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(AttributeValue::Invalid, |(_, v)| AttributeValue::Value(v))
    }

    /// `C_FindObjectsInit` semantics: every attribute of the template present with equal bytes.
    pub fn matches(&self, template: &[(CK_ATTRIBUTE_TYPE, Vec<u8>)]) -> bool {
        template
            .iter()
            .all(|(kind, value)| self.attribute(*kind) == AttributeValue::Value(value))
    }
}

pub fn ulong(value: CK_ULONG) -> Vec<u8> {
    value.to_ne_bytes().to_vec()
}

fn boolean(value: bool) -> Vec<u8> {
    vec![if value { CK_TRUE } else { CK_FALSE }]
}

/// The three objects of one entry of `token.json` (two when it has no key), with handles
/// `first`, `first + 1`, `first + 2`.
pub fn objects_for(
    first: CK_OBJECT_HANDLE,
    id: &[u8],
    label: &str,
    cert: &ParsedCertificate,
    has_key: bool,
    always_authenticate: bool,
) -> Vec<Object> {
    let common = |class: CK_OBJECT_CLASS, private: bool| {
        vec![
            (CKA_CLASS, ulong(class)),
            (CKA_TOKEN, boolean(true)),
            (CKA_PRIVATE, boolean(private)),
            (CKA_MODIFIABLE, boolean(false)),
            (CKA_COPYABLE, boolean(false)),
            (CKA_DESTROYABLE, boolean(false)),
            (CKA_LABEL, label.as_bytes().to_vec()),
        ]
    };
    let key_common = |attributes: &mut Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>| {
        attributes.extend([
            (CKA_KEY_TYPE, ulong(cert.key.key_type())),
            (CKA_ID, id.to_vec()),
            (CKA_START_DATE, Vec::new()),
            (CKA_END_DATE, Vec::new()),
            (CKA_DERIVE, boolean(false)),
            (CKA_LOCAL, boolean(false)),
            (CKA_KEY_GEN_MECHANISM, ulong(CK_UNAVAILABLE_INFORMATION)),
            (
                CKA_ALLOWED_MECHANISMS,
                cert.key
                    .mechanisms()
                    .iter()
                    .flat_map(|m| ulong(*m))
                    .collect(),
            ),
            (CKA_SUBJECT, cert.subject.clone()),
            (CKA_PUBLIC_KEY_INFO, cert.spki.clone()),
            (CKA_GOSTR3410_PARAMS, cert.curve_oid.clone()),
            (CKA_GOSTR3411_PARAMS, cert.digest_oid.clone()),
        ]);
    };

    let mut certificate = common(CKO_CERTIFICATE, false);
    certificate.extend([
        (CKA_CERTIFICATE_TYPE, ulong(CKC_X_509)),
        (CKA_TRUSTED, boolean(false)),
        (
            CKA_CERTIFICATE_CATEGORY,
            ulong(CK_CERTIFICATE_CATEGORY_TOKEN_USER),
        ),
        (CKA_CHECK_VALUE, check_value(&cert.der)),
        (CKA_START_DATE, Vec::new()),
        (CKA_END_DATE, Vec::new()),
        (CKA_PUBLIC_KEY_INFO, cert.spki.clone()),
        (CKA_SUBJECT, cert.subject.clone()),
        (CKA_ID, id.to_vec()),
        (CKA_ISSUER, cert.issuer.clone()),
        (CKA_SERIAL_NUMBER, cert.serial.clone()),
        (CKA_VALUE, cert.der.clone()),
        (CKA_URL, Vec::new()),
        (CKA_HASH_OF_SUBJECT_PUBLIC_KEY, Vec::new()),
        (CKA_HASH_OF_ISSUER_PUBLIC_KEY, Vec::new()),
        (
            CKA_JAVA_MIDP_SECURITY_DOMAIN,
            ulong(CK_SECURITY_DOMAIN_UNSPECIFIED),
        ),
        (CKA_NAME_HASH_ALGORITHM, ulong(CKM_SHA_1)),
    ]);
    let mut objects = vec![Object {
        handle: first,
        class: CKO_CERTIFICATE,
        private: false,
        attributes: certificate,
        sensitive: Vec::new(),
    }];
    if !has_key {
        return objects;
    }

    let mut public = common(CKO_PUBLIC_KEY, false);
    key_common(&mut public);
    public.extend([
        (CKA_ENCRYPT, boolean(false)),
        (CKA_VERIFY, boolean(true)),
        (CKA_VERIFY_RECOVER, boolean(false)),
        (CKA_WRAP, boolean(false)),
        (CKA_TRUSTED, boolean(false)),
        (CKA_VALUE, cert.public_value.clone()),
    ]);
    objects.push(Object {
        handle: first + 1,
        class: CKO_PUBLIC_KEY,
        private: false,
        attributes: public,
        sensitive: Vec::new(),
    });

    // Private, as on the Russian signature tokens: a client sees the key only after C_Login, and
    // finds it before that through the public key and the certificate with the same CKA_ID.
    let mut private = common(CKO_PRIVATE_KEY, true);
    key_common(&mut private);
    private.extend([
        (CKA_SENSITIVE, boolean(true)),
        (CKA_DECRYPT, boolean(false)),
        (CKA_SIGN, boolean(true)),
        (CKA_SIGN_RECOVER, boolean(false)),
        (CKA_UNWRAP, boolean(false)),
        (CKA_EXTRACTABLE, boolean(false)),
        (CKA_ALWAYS_SENSITIVE, boolean(true)),
        (CKA_NEVER_EXTRACTABLE, boolean(true)),
        (CKA_WRAP_WITH_TRUSTED, boolean(false)),
        (CKA_ALWAYS_AUTHENTICATE, boolean(always_authenticate)),
    ]);
    objects.push(Object {
        handle: first + 2,
        class: CKO_PRIVATE_KEY,
        private: true,
        attributes: private,
        sensitive: vec![CKA_VALUE],
    });
    objects
}

/// `CKA_CHECK_VALUE` of a certificate: the first three bytes of its SHA-1.
fn check_value(der_bytes: &[u8]) -> Vec<u8> {
    openssl::sha::sha1(der_bytes)[..3].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GOST R 34.10-2012-256 certificate made once with `openssl req -x509 -newkey gost2012_256
    /// -pkeyopt paramset:A` and the GOST engine, whose "A" is the CryptoPro-A curve, as the virtual
    /// card's keys are.
    const CERT_256: &str = include_str!("../tests/data/gost256.cert.hex");

    fn cert() -> ParsedCertificate {
        let der = hex::decode(CERT_256.trim()).expect("hex");
        parse_certificate(&der).expect("parse")
    }

    #[test]
    fn a_2012_256_certificate_gives_the_tc26_attributes() {
        let cert = cert();
        assert_eq!(cert.key, GostKey::Gost2012_256);
        assert_eq!(cert.key.key_type(), CKK_GOSTR3410);
        assert_eq!(cert.public_value.len(), 64);
        // id-GostR3410-2001-CryptoPro-A-ParamSet, and Streebog-256.
        assert_eq!(hex::encode(&cert.curve_oid), "06072a850302022301");
        assert_eq!(hex::encode(&cert.digest_oid), "06082a85030701010202");
        // The SubjectPublicKeyInfo ends with the point's OCTET STRING: 04 40 ‖ X ‖ Y.
        assert!(cert.spki.ends_with(&cert.public_value));
        assert_eq!(
            &cert.spki[cert.spki.len() - 66..cert.spki.len() - 64],
            &[0x04, 0x40]
        );
    }

    #[test]
    fn a_key_pair_has_three_objects_and_the_private_key_hides_its_value() {
        let cert = cert();
        let objects = objects_for(7, &[1, 2], "k", &cert, true, false);
        assert_eq!(
            objects
                .iter()
                .map(|o| (o.handle, o.class))
                .collect::<Vec<_>>(),
            vec![
                (7, CKO_CERTIFICATE),
                (8, CKO_PUBLIC_KEY),
                (9, CKO_PRIVATE_KEY)
            ]
        );
        assert_eq!(objects[2].attribute(CKA_VALUE), AttributeValue::Sensitive);
        assert!(objects[2].private);
        assert_eq!(
            objects[1].attribute(CKA_VALUE),
            AttributeValue::Value(&cert.public_value)
        );
        assert_eq!(
            objects[0].attribute(CKA_VALUE),
            AttributeValue::Value(&cert.der)
        );
        assert_eq!(objects[0].attribute(CKA_MODULUS), AttributeValue::Invalid);
        let by_id = vec![(CKA_ID, vec![1, 2])];
        assert!(objects.iter().all(|o| o.matches(&by_id)));
        let private_keys = vec![(CKA_CLASS, ulong(CKO_PRIVATE_KEY)), (CKA_ID, vec![1, 2])];
        assert_eq!(
            objects.iter().filter(|o| o.matches(&private_keys)).count(),
            1
        );
        assert_eq!(objects_for(1, &[1], "c", &cert, false, false).len(), 1);
    }

    #[test]
    fn a_certificate_that_is_not_gost_is_refused() {
        assert!(matches!(
            parse_certificate(b"not der"),
            Err(CertificateError::Der(_))
        ));
    }
}
