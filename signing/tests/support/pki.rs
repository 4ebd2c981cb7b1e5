//! A throwaway CA made with OpenSSL that issues certificates for public keys made elsewhere (by
//! OpenSSL here, or inside a token), and `openssl cms -verify` run as a user would run it: plain
//! OpenSSL, no GOST engine.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private, Public};
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

pub struct Ca {
    pub key: PKey<Private>,
    pub cert: X509,
}

fn name(common_name: &str) -> openssl::x509::X509Name {
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", common_name).expect("CN");
    name.build()
}

fn builder(subject: &str, issuer: &str, key: &PKey<Public>) -> X509Builder {
    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("version");
    let mut serial = BigNum::new().expect("bn");
    serial.rand(64, MsbOption::MAYBE_ZERO, false).expect("rand");
    b.set_serial_number(&serial.to_asn1_integer().expect("serial"))
        .expect("serial");
    b.set_subject_name(&name(subject)).expect("subject");
    b.set_issuer_name(&name(issuer)).expect("issuer");
    b.set_pubkey(key).expect("pubkey");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("t"))
        .expect("nb");
    b.set_not_after(&Asn1Time::days_from_now(30).expect("t"))
        .expect("na");
    b
}

fn public(key: &PKey<Private>) -> PKey<Public> {
    PKey::public_key_from_der(&key.public_key_to_der().expect("der")).expect("public")
}

impl Ca {
    pub fn new() -> Self {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
        let key = PKey::from_ec_key(EcKey::generate(&group).expect("ec")).expect("pkey");
        let mut b = builder("Podpis test CA", "Podpis test CA", &public(&key));
        b.append_extension(BasicConstraints::new().critical().ca().build().expect("bc"))
            .expect("ext");
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .expect("ku"),
        )
        .expect("ext");
        b.sign(&key, MessageDigest::sha256()).expect("sign");
        Self {
            key,
            cert: b.build(),
        }
    }

    /// A signing certificate for `public_key_der` (a DER SubjectPublicKeyInfo).
    pub fn issue(&self, subject: &str, public_key_der: &[u8]) -> Vec<u8> {
        let key = PKey::public_key_from_der(public_key_der).expect("spki");
        let mut b = builder(subject, "Podpis test CA", &key);
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

    pub fn write_pem(&self, path: &Path) {
        std::fs::write(path, self.cert.to_pem().expect("pem")).expect("write");
    }
}

/// `openssl cms -verify` on a DER CMS, trusting only `ca_pem`; with `cades`, also checking the
/// signingCertificateV2 attribute. Returns OpenSSL's stderr on failure.
pub fn openssl_cms_verify(cms_der: &Path, ca_pem: &Path, cades: bool) -> Result<Vec<u8>, String> {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any",
    ])
    .arg("-in")
    .arg(cms_der)
    .arg("-CAfile")
    .arg(ca_pem);
    if cades {
        cmd.arg("-cades");
    }
    // Plain OpenSSL, as a user without the GOST engine has it.
    let out = cmd.env_remove("OPENSSL_CONF").output().expect("openssl");
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
