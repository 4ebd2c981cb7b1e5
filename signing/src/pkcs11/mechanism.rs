//! Which mechanism signs with which key, and what it is given: a pure decision, tested without a
//! token. The numbers of the GOST key types and mechanisms are the TC 26 vendor-defined ones
//! (`NSSCK_VENDOR_PKCS11_RU_TEAM` = `CKK_VENDOR_DEFINED | 0x54321000`), as OpenSC's `pkcs11.h`
//! and the vendors' headers define them (docs/pkcs11.md, "GOST through PKCS#11").

use crate::drivers::{KeyAlgorithm, TokenError};

use super::{Pkcs11Error, ToSign};

/// `CKK_GOSTR3410` (PKCS #11 v2.40): GOST R 34.10-2001 and -2012-256 keys.
pub const CKK_GOSTR3410: u64 = 0x0000_0030;
/// `CKK_GOSTR3410_512` (TC 26, vendor-defined).
pub const CKK_GOSTR3410_512: u64 = 0xD432_1003;
/// `CKM_GOSTR3410` (PKCS #11 v2.40): sign a 32-byte digest. `cryptoki` 0.12 cannot name it (it
/// is below `CKM_VENDOR_DEFINED` and not in its table), so the tier does not call it; recorded
/// for the day it can.
pub const CKM_GOSTR3410: u64 = 0x0000_1201;
/// `CKM_GOSTR3410_512` (TC 26): sign a 64-byte digest with a 512-bit key.
pub const CKM_GOSTR3410_512: u64 = 0xD432_1006;
/// `CKM_GOSTR3410_WITH_GOSTR3411_12_256` (TC 26): Streebog-256 of the data, then sign.
pub const CKM_GOSTR3410_WITH_GOSTR3411_12_256: u64 = 0xD432_1008;
/// `CKM_GOSTR3410_WITH_GOSTR3411_12_512` (TC 26): Streebog-512 of the data, then sign.
pub const CKM_GOSTR3410_WITH_GOSTR3411_12_512: u64 = 0xD432_1009;

/// A mechanism the tier uses, without parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mech {
    /// `CKM_ECDSA` over a digest; answers r ‖ s.
    Ecdsa,
    /// `CKM_ECDSA_SHA256` / `CKM_ECDSA_SHA384` over data.
    EcdsaSha256,
    EcdsaSha384,
    /// `CKM_RSA_PKCS` over a DER DigestInfo.
    RsaPkcs,
    /// `CKM_SHA256_RSA_PKCS` over data.
    Sha256RsaPkcs,
    /// A TC 26 vendor-defined GOST mechanism by its number.
    Vendor(u64),
}

/// How one signature is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub mechanism: Mech,
    /// What goes into `C_Sign` (or `C_SignUpdate`).
    pub input: Vec<u8>,
    /// Whether the mechanism is single-part by the standard (the raw ones): with
    /// `CKA_ALWAYS_AUTHENTICATE` such a mechanism still has to go through `C_SignUpdate` /
    /// `C_SignFinal`, which some modules accept (OpenSC buffers the input) and others refuse.
    pub single_part: bool,
}

/// The DER DigestInfo prefix of SHA-256 (RFC 8017, section 9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// `DigestInfo ::= SEQUENCE { digestAlgorithm sha256, digest OCTET STRING }` around a SHA-256
/// digest: what `CKM_RSA_PKCS` pads and signs for a sha256WithRSAEncryption signature.
pub fn sha256_digest_info(digest: &[u8]) -> Vec<u8> {
    let mut info = SHA256_DIGEST_INFO.to_vec();
    info.extend_from_slice(digest);
    info
}

/// The mechanism and its input for `algorithm`. A key that always authenticates prefers a
/// hash-and-sign mechanism (multi-part by the standard) when the data is there.
pub fn plan(
    algorithm: KeyAlgorithm,
    to_sign: &ToSign,
    always_authenticate: bool,
) -> Result<Plan, TokenError> {
    let raw = |mechanism: Mech, input: Vec<u8>| Plan {
        mechanism,
        input,
        single_part: true,
    };
    let hashing = |mechanism: Mech, data: &Vec<u8>| Plan {
        mechanism,
        input: data.clone(),
        single_part: false,
    };
    let unsupported = || TokenError::from(Pkcs11Error::MechanismUnsupported { algorithm });
    let data = to_sign.data.as_ref();
    let digest = &to_sign.digest;
    Ok(match (algorithm, data, always_authenticate) {
        (KeyAlgorithm::EcdsaP256, Some(data), true) => hashing(Mech::EcdsaSha256, data),
        (KeyAlgorithm::EcdsaP384, Some(data), true) => hashing(Mech::EcdsaSha384, data),
        (KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384, _, _) => {
            raw(Mech::Ecdsa, digest.clone())
        }
        (KeyAlgorithm::Rsa { .. }, Some(data), true) => hashing(Mech::Sha256RsaPkcs, data),
        (KeyAlgorithm::Rsa { .. }, _, _) => raw(Mech::RsaPkcs, sha256_digest_info(digest)),
        (KeyAlgorithm::Gost2012_512, Some(data), true) => {
            hashing(Mech::Vendor(CKM_GOSTR3410_WITH_GOSTR3411_12_512), data)
        }
        (KeyAlgorithm::Gost2012_512, _, _) => raw(Mech::Vendor(CKM_GOSTR3410_512), digest.clone()),
        (KeyAlgorithm::Gost2012_256, Some(data), _) => {
            hashing(Mech::Vendor(CKM_GOSTR3410_WITH_GOSTR3411_12_256), data)
        }
        (KeyAlgorithm::Gost2012_256, None, _) => return Err(unsupported()),
        // GOST R 34.10-2001 needs CKM_GOSTR3410 or CKM_GOSTR3410_WITH_GOSTR3411, neither of
        // which cryptoki 0.12 can name; the portal refuses 2001 keys anyway.
        (KeyAlgorithm::Gost2001, _, _) => return Err(unsupported()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn digest_info_is_the_rfc_8017_encoding() {
        let info = sha256_digest_info(&[0xAB; 32]);
        assert_eq!(info.len(), 51);
        assert_eq!(&info[..19], hex!("3031300d060960864801650304020105000420"));
        // It parses as DER: SEQUENCE { SEQUENCE { OID sha256, NULL }, OCTET STRING }.
        #[derive(der::Sequence)]
        struct DigestInfo {
            algorithm: spki::AlgorithmIdentifierOwned,
            digest: der::asn1::OctetString,
        }
        let parsed: DigestInfo = der::Decode::from_der(&info).expect("DigestInfo");
        assert_eq!(parsed.algorithm.oid.to_string(), "2.16.840.1.101.3.4.2.1");
        assert_eq!(parsed.digest.as_bytes(), &[0xAB; 32]);
    }

    #[test]
    fn the_digest_is_signed_wherever_the_raw_mechanism_can_be_named() {
        let digest = ToSign::digest(vec![7; 32]);
        let p = plan(KeyAlgorithm::EcdsaP256, &digest, false).expect("p256");
        assert_eq!(
            (p.mechanism, p.input.as_slice()),
            (Mech::Ecdsa, &[7u8; 32][..])
        );
        let p = plan(KeyAlgorithm::Rsa { bits: 2048 }, &digest, false).expect("rsa");
        assert_eq!(p.mechanism, Mech::RsaPkcs);
        assert_eq!(p.input, sha256_digest_info(&[7; 32]));
        let p = plan(
            KeyAlgorithm::Gost2012_512,
            &ToSign::digest(vec![1; 64]),
            false,
        )
        .expect("512");
        assert_eq!(p.mechanism, Mech::Vendor(0xD432_1006));
        assert_eq!(p.input, vec![1; 64]);
        assert!(p.single_part);
    }

    #[test]
    fn gost_256_goes_through_the_hashing_mechanism_and_needs_the_data() {
        assert_eq!(
            plan(
                KeyAlgorithm::Gost2012_256,
                &ToSign::digest(vec![0; 32]),
                false
            ),
            Err(TokenError::Pkcs11(Pkcs11Error::MechanismUnsupported {
                algorithm: KeyAlgorithm::Gost2012_256
            }))
        );
        let to_sign = ToSign::data(KeyAlgorithm::Gost2012_256, b"signed attributes".to_vec());
        let p = plan(KeyAlgorithm::Gost2012_256, &to_sign, false).expect("256");
        assert_eq!(p.mechanism, Mech::Vendor(0xD432_1008));
        assert_eq!(p.input, b"signed attributes");
        assert!(!p.single_part);
        assert!(plan(KeyAlgorithm::Gost2001, &to_sign, false).is_err());
    }

    #[test]
    fn a_key_that_always_authenticates_takes_a_multi_part_mechanism_when_it_can() {
        let to_sign = ToSign::data(KeyAlgorithm::EcdsaP256, b"attrs".to_vec());
        let p = plan(KeyAlgorithm::EcdsaP256, &to_sign, true).expect("p256");
        assert_eq!((p.mechanism, p.single_part), (Mech::EcdsaSha256, false));
        let p = plan(KeyAlgorithm::EcdsaP384, &to_sign, true).expect("p384");
        assert_eq!(p.mechanism, Mech::EcdsaSha384);
        let p = plan(KeyAlgorithm::Rsa { bits: 3072 }, &to_sign, true).expect("rsa");
        assert_eq!(p.mechanism, Mech::Sha256RsaPkcs);
        let p = plan(KeyAlgorithm::Gost2012_512, &to_sign, true).expect("512");
        assert_eq!(p.mechanism, Mech::Vendor(0xD432_1009));
        // Without the data, the raw mechanism, single-part by the standard.
        let p = plan(KeyAlgorithm::EcdsaP256, &ToSign::digest(vec![3; 32]), true).expect("raw");
        assert_eq!((p.mechanism, p.single_part), (Mech::Ecdsa, true));
    }
}
