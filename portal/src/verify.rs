//! Verification of a signed request with OpenSSL and its GOST engine: an implementation
//! independent of the client's CMS builder. Each failure gets its own code, in the order of
//! docs/protocol.md: form, signature, chain, validity at signing time, revocation, key usage,
//! qualified profile, algorithm.

use std::path::Path;

use openssl::bn::BigNum;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::stack::{Stack, StackRef};
use openssl::x509::store::{X509Lookup, X509Store, X509StoreBuilder};
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509Name, X509StoreContext, X509};
use protocol::codes;
use signing::certificate::CertificateInfo;

use crate::error::ApiError;

/// OpenSSL's CMS_CADES: check signingCertificateV2 too (design.md, GOST bytes).
const CMS_CADES: u32 = 0x100000;

/// The trusted roots, the accredited CAs and the CRLs.
pub struct TrustStore {
    certificates: Vec<X509>,
    crl_files: Vec<std::path::PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} holds no PEM certificate: {1}")]
    Pem(String, String),
    #[error("the GOST engine is not loaded in this process: start it with OPENSSL_CONF pointing at config/openssl-gost.cnf")]
    NoGostEngine,
}

impl TrustStore {
    pub fn load(trust: &[impl AsRef<Path>], crls: &[impl AsRef<Path>]) -> Result<Self, TrustError> {
        if openssl::hash::MessageDigest::from_name("md_gost12_256").is_none() {
            return Err(TrustError::NoGostEngine);
        }
        let mut certificates = Vec::new();
        for path in trust {
            let path = path.as_ref();
            let pem =
                std::fs::read(path).map_err(|e| TrustError::Io(path.display().to_string(), e))?;
            let stack = X509::stack_from_pem(&pem)
                .map_err(|e| TrustError::Pem(path.display().to_string(), e.to_string()))?;
            if stack.is_empty() {
                return Err(TrustError::Pem(path.display().to_string(), "empty".into()));
            }
            certificates.extend(stack);
        }
        let crl_files = crls.iter().map(|p| p.as_ref().to_path_buf()).collect();
        Ok(Self {
            certificates,
            crl_files,
        })
    }

    /// A store that trusts nothing, for handler tests that never reach a signature (and run
    /// without the GOST engine).
    #[cfg(test)]
    pub(crate) fn empty() -> Self {
        Self {
            certificates: Vec::new(),
            crl_files: Vec::new(),
        }
    }

    /// A store that verifies as of `time` (the signing time), with CRLs when there are any.
    fn store_at(&self, time: i64) -> Result<X509Store, ApiError> {
        let mut builder = X509StoreBuilder::new().map_err(ApiError::internal)?;
        for cert in &self.certificates {
            builder.add_cert(cert.clone()).map_err(ApiError::internal)?;
        }
        let mut param = X509VerifyParam::new().map_err(ApiError::internal)?;
        param.set_time(time);
        if !self.crl_files.is_empty() {
            let lookup = builder
                .add_lookup(X509Lookup::file())
                .map_err(ApiError::internal)?;
            for crl in &self.crl_files {
                lookup
                    .load_crl_file(crl, openssl::ssl::SslFiletype::PEM)
                    .map_err(ApiError::internal)?;
            }
            // The signer's certificate against its CA's CRL. (CRL_CHECK_ALL would also demand
            // the root's CRL for the CA certificate, and refuse every chain when it is missing.)
            param
                .set_flags(X509VerifyFlags::CRL_CHECK)
                .map_err(ApiError::internal)?;
        }
        builder.set_param(&param).map_err(ApiError::internal)?;
        Ok(builder.build())
    }
}

/// What a verified request carries.
#[derive(Debug)]
pub struct Verified {
    pub content: Vec<u8>,
    pub certificate: CertificateInfo,
    /// Seconds since the Unix epoch.
    pub signing_time: i64,
}

fn malformed(what: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        codes::MALFORMED,
        format!("The signed request is malformed: {what}."),
    )
}

/// Checks a signed request's signature and certificate; returns its content and signer.
pub fn verify(body: &[u8], trust: &TrustStore) -> Result<Verified, ApiError> {
    // Form: one signer, attached content, a signing time, the signer's certificate inside.
    let form = signing::cades::read_attached(body).map_err(malformed)?;
    let (content, signing_time) = (form.content, form.signing_time);
    // The signer's certificate is chosen here, once, and handed to OpenSSL as the only one it
    // may verify with: what the portal reads (names, SNILS, OGRN, key usage, digest) is then the
    // certificate OpenSSL verified the signature and the chain with.
    let (signer, certificate_der) = signer_certificate(body)?;
    let certificate = CertificateInfo::parse(&certificate_der).map_err(malformed)?;
    let store = trust.store_at(signing_time)?;
    let mut signers = Stack::new().map_err(ApiError::internal)?;
    signers.push(signer).map_err(ApiError::internal)?;

    // One verification in CAdES mode answers for a good request: the signature, the
    // signingCertificateV2 attribute, the chain at signing time, revocation and key usage. Only
    // when it fails is the request taken apart step by step, to name the first failure in the
    // order of docs/protocol.md.
    let mut cms = CmsContentInfo::from_der(body).map_err(malformed)?;
    let mut verified_content = Vec::new();
    let cades = CMSOptions::BINARY | CMSOptions::NOINTERN | CMSOptions::from_bits_retain(CMS_CADES);
    match cms.verify(
        Some(&signers),
        Some(&store),
        None,
        Some(&mut verified_content),
        cades,
    ) {
        Ok(()) => {
            if verified_content != content {
                return Err(malformed("the content read twice differs"));
            }
            digest_fits_key(&form.digest_algorithm, &certificate)?;
            certificate_profile(&certificate)?;
        }
        Err(cades_error) => {
            signature_only(body, &signers, &content)?;
            digest_fits_key(&form.digest_algorithm, &certificate)?;
            chain(&certificate_der, &store)?;
            certificate_profile(&certificate)?;
            // Everything else holds: the signingCertificateV2 attribute names another
            // certificate (or is missing).
            tracing::info!("CAdES check refused: {cades_error}");
            return Err(ApiError::new(
                codes::SIGNATURE_INVALID,
                "The signature's signing-certificate attribute does not name the signer's certificate.",
            ));
        }
    }
    Ok(Verified {
        content,
        certificate,
        signing_time,
    })
}

/// The one certificate of the request's set that names the signer: its issuer and serial are
/// the SignerInfo's, with names compared as OpenSSL compares them (in canonical form: case and
/// spaces folded), so that no other certificate in the set is the signer's to OpenSSL either.
/// Returns it parsed and as the DER it was sent in.
fn signer_certificate(body: &[u8]) -> Result<(X509, Vec<u8>), ApiError> {
    use der::{Decode, Encode};

    let info = cms::content_info::ContentInfo::from_der(body).map_err(malformed)?;
    let signed: cms::signed_data::SignedData = info.content.decode_as().map_err(malformed)?;
    let [signer_info] = signed.signer_infos.0.as_slice() else {
        return Err(malformed("exactly one signer is expected"));
    };
    let cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(sid) = &signer_info.sid else {
        return Err(malformed(
            "the signer must be named by issuer and serial number",
        ));
    };
    let issuer = X509Name::from_der(&sid.issuer.to_der().map_err(malformed)?).map_err(malformed)?;
    let serial = sid.serial_number.as_bytes();
    if serial.first().is_none_or(|b| b & 0x80 != 0) {
        return Err(malformed(
            "the signer's serial number is not a positive integer",
        ));
    }
    let serial = BigNum::from_slice(serial)
        .and_then(|n| n.to_asn1_integer())
        .map_err(malformed)?;

    let mut matching = Vec::new();
    for choice in signed.certificates.iter().flat_map(|set| set.0.iter()) {
        let cms::cert::CertificateChoices::Certificate(candidate) = choice else {
            continue;
        };
        let der = candidate.to_der().map_err(malformed)?;
        let x509 = X509::from_der(&der).map_err(malformed)?;
        let same_issuer = x509
            .issuer_name()
            .try_cmp(&issuer)
            .map_err(malformed)?
            .is_eq();
        if same_issuer && *x509.serial_number() == *serial {
            matching.push((x509, der));
        }
    }
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => Err(malformed("the signer's certificate is not included")),
        _ => Err(malformed(
            "more than one certificate carries the signer's issuer and serial number",
        )),
    }
}

/// The signature over the signed attributes and the content, without the chain. (In CAdES mode
/// OpenSSL always builds the chain, so this check leaves CAdES out.)
fn signature_only(body: &[u8], signers: &StackRef<X509>, content: &[u8]) -> Result<(), ApiError> {
    let mut cms = CmsContentInfo::from_der(body).map_err(malformed)?;
    let mut verified_content = Vec::new();
    let options = CMSOptions::BINARY | CMSOptions::NOINTERN | CMSOptions::NO_SIGNER_CERT_VERIFY;
    if let Err(e) = cms.verify(
        Some(signers),
        None,
        None,
        Some(&mut verified_content),
        options,
    ) {
        tracing::info!("signature refused: {e}");
        return Err(ApiError::new(
            codes::SIGNATURE_INVALID,
            "The signature does not match the document or the certificate.",
        ));
    }
    if verified_content != content {
        return Err(malformed("the content read twice differs"));
    }
    Ok(())
}

/// The GOST engine does not check that the digest fits the key: a 512-bit key signs with
/// Streebog-512, a 256-bit key with Streebog-256 (design.md).
fn digest_fits_key(
    digest_algorithm: &der::asn1::ObjectIdentifier,
    certificate: &CertificateInfo,
) -> Result<(), ApiError> {
    let expected_digest = match certificate.algorithm.as_str() {
        "gost2012-256" => signing::cades::oids::STREEBOG_256,
        "gost2012-512" => signing::cades::oids::STREEBOG_512,
        "gost2001" => signing::cades::oids::GOST_R_34_11_94,
        _ => {
            return Err(ApiError::new(
                codes::SIGNATURE_INVALID,
                "Only GOST signatures are accepted.",
            ))
        }
    };
    if *digest_algorithm != expected_digest {
        return Err(ApiError::new(
            codes::SIGNATURE_INVALID,
            "The digest algorithm does not match the key's size.",
        ));
    }
    Ok(())
}

/// Chain to a trusted root, validity at signing time (the store's time), revocation.
fn chain(certificate_der: &[u8], store: &X509Store) -> Result<(), ApiError> {
    let cert = X509::from_der(certificate_der).map_err(malformed)?;
    let untrusted = Stack::new().map_err(ApiError::internal)?;
    let mut context = X509StoreContext::new().map_err(ApiError::internal)?;
    let (ok, error) = context
        .init(store, &cert, &untrusted, |ctx| {
            Ok((ctx.verify_cert()?, ctx.error()))
        })
        .map_err(ApiError::internal)?;
    if ok {
        return Ok(());
    }
    Err(match error.as_raw() {
        9 | 10 => ApiError::new(
            codes::CERTIFICATE_EXPIRED,
            "The certificate was not valid at the time of signing.",
        ),
        23 => ApiError::new(
            codes::CERTIFICATE_REVOKED,
            "The certificate has been revoked by its certification authority.",
        ),
        _ => ApiError::new(
            codes::CERTIFICATE_UNTRUSTED,
            format!(
                "The certificate does not chain to an accredited certification authority ({}).",
                error.error_string()
            ),
        ),
    })
}

/// What the portal asks of the certificate itself: a signing key, the qualified profile, and an
/// algorithm still accepted.
fn certificate_profile(certificate: &CertificateInfo) -> Result<(), ApiError> {
    if !(certificate.key_usage.digital_signature && certificate.key_usage.non_repudiation) {
        return Err(ApiError::new(
            codes::KEY_USAGE,
            "The certificate's key is not for signing documents.",
        ));
    }
    if !certificate.is_qualified() {
        return Err(ApiError::new(
            codes::CERTIFICATE_NOT_QUALIFIED,
            "The certificate is not a qualified one.",
        ));
    }
    if certificate.algorithm == "gost2001" {
        return Err(ApiError::new(
            codes::ALGORITHM_DEPRECATED,
            "Signatures with GOST R 34.10-2001 are no longer accepted; use a GOST R 34.10-2012 certificate.",
        ));
    }
    Ok(())
}
