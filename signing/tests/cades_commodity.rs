//! CAdES-BES with the commodity algorithms of PKCS#11 and PIV tokens (ECDSA P-256/P-384, RSA):
//! made by `signing::cades` from a raw signature as a token returns it, and accepted by plain
//! `openssl cms -verify` (no GOST engine), with and without its CAdES check of
//! signingCertificateV2.

#[path = "support/pki.rs"]
mod pki;

use std::time::SystemTime;

use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::{Padding, Rsa};

use signing::cades::{self, Content};
use signing::KeyAlgorithm;

/// DER DigestInfo of SHA-256 (RFC 8017, 9.2 note 1), written out here as the test's own oracle.
fn sha256_digest_info(digest: &[u8]) -> Vec<u8> {
    let mut info = hex_literal::hex!("3031300d060960864801650304020105000420").to_vec();
    info.extend_from_slice(digest);
    info
}

/// A software key standing in for a token: digest in, raw signature out, in the token's form.
enum SoftKey {
    Ec(EcKey<openssl::pkey::Private>, usize),
    Rsa(Rsa<openssl::pkey::Private>),
}

impl SoftKey {
    fn public_der(&self) -> Vec<u8> {
        match self {
            Self::Ec(key, _) => PKey::from_ec_key(key.clone())
                .expect("pkey")
                .public_key_to_der()
                .expect("der"),
            Self::Rsa(key) => PKey::from_rsa(key.clone())
                .expect("pkey")
                .public_key_to_der()
                .expect("der"),
        }
    }

    /// ECDSA: r ‖ s, each the size of the order (CKM_ECDSA's output). RSA: the PKCS #1 v1.5
    /// block over the DigestInfo (CKM_RSA_PKCS's output).
    fn sign(&self, digest: &[u8]) -> Vec<u8> {
        match self {
            Self::Ec(key, half) => {
                let sig = EcdsaSig::sign(digest, key).expect("ecdsa");
                let size = i32::try_from(*half).expect("size");
                let mut raw = sig.r().to_vec_padded(size).expect("r");
                raw.extend(sig.s().to_vec_padded(size).expect("s"));
                raw
            }
            Self::Rsa(key) => {
                let mut out = vec![0; key.size() as usize];
                let n = key
                    .private_encrypt(&sha256_digest_info(digest), &mut out, Padding::PKCS1)
                    .expect("rsa");
                out.truncate(n);
                out
            }
        }
    }
}

fn ec(nid: Nid, half: usize) -> SoftKey {
    let group = EcGroup::from_curve_name(nid).expect("group");
    SoftKey::Ec(EcKey::generate(&group).expect("key"), half)
}

fn sign_and_verify(key: SoftKey, algorithm: KeyAlgorithm) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = pki::Ca::new();
    let ca_pem = dir.path().join("ca.pem");
    ca.write_pem(&ca_pem);
    let certificate = ca.issue("Token holder", &key.public_der());
    assert_eq!(
        signing::certificate::signing_algorithm(&certificate),
        Some(algorithm)
    );

    let content = b"a file a commodity token signs".to_vec();
    let prepared = cades::prepare(
        &content,
        &certificate,
        algorithm,
        SystemTime::now(),
        Content::Attached,
    )
    .expect("prepare");
    assert_eq!(prepared.digest_to_sign().len(), algorithm.hash_len());
    assert_eq!(
        algorithm.digest(prepared.signed_attributes()),
        prepared.digest_to_sign()
    );
    let raw = key.sign(prepared.digest_to_sign());
    assert_eq!(raw.len(), algorithm.signature_len());
    let cms = prepared.clone().finish(&raw).expect("finish");

    let path = dir.path().join("signed.p7s");
    std::fs::write(&path, &cms).expect("write");
    for cades_check in [false, true] {
        let out = pki::openssl_cms_verify(&path, &ca_pem, cades_check)
            .unwrap_or_else(|e| panic!("{algorithm:?} (cades {cades_check}): {e}"));
        assert_eq!(out, content);
    }

    // The check means something: a signature over other bytes is refused.
    let mut wrong = raw.clone();
    let other = key.sign(&algorithm.digest(b"something else"));
    wrong.copy_from_slice(&other);
    let forged = prepared.finish(&wrong).expect("finish");
    std::fs::write(&path, forged).expect("write");
    assert!(pki::openssl_cms_verify(&path, &ca_pem, false).is_err());
}

#[test]
fn ecdsa_p256_signature_is_accepted_by_openssl() {
    sign_and_verify(ec(Nid::X9_62_PRIME256V1, 32), KeyAlgorithm::EcdsaP256);
}

#[test]
fn ecdsa_p384_signature_is_accepted_by_openssl() {
    sign_and_verify(ec(Nid::SECP384R1, 48), KeyAlgorithm::EcdsaP384);
}

#[test]
fn rsa_2048_signature_is_accepted_by_openssl() {
    sign_and_verify(
        SoftKey::Rsa(Rsa::generate(2048).expect("rsa")),
        KeyAlgorithm::Rsa { bits: 2048 },
    );
}

#[test]
fn rsa_3072_is_recognised_with_its_size() {
    let key = SoftKey::Rsa(Rsa::generate(3072).expect("rsa"));
    let certificate = pki::Ca::new().issue("Holder", &key.public_der());
    assert_eq!(
        signing::certificate::signing_algorithm(&certificate),
        Some(KeyAlgorithm::Rsa { bits: 3072 })
    );
    assert_eq!(KeyAlgorithm::Rsa { bits: 3072 }.signature_len(), 384);
}

#[test]
fn a_curve_podpis_does_not_sign_with_is_not_a_signing_algorithm() {
    let group = EcGroup::from_curve_name(Nid::SECP521R1).expect("group");
    let key = EcKey::generate(&group).expect("key");
    let der = PKey::from_ec_key(key)
        .expect("pkey")
        .public_key_to_der()
        .expect("der");
    let certificate = pki::Ca::new().issue("Holder", &der);
    assert_eq!(signing::certificate::signing_algorithm(&certificate), None);
}
