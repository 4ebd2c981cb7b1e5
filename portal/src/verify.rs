//! Verification of a signed request with OpenSSL and its GOST engine: an implementation
//! independent of the client's CMS builder. Each failure gets its own code, in the order of
//! docs/protocol.md: form, signature, chain, validity at signing time, revocation, key usage,
//! qualified profile, algorithm.

use std::path::Path;
use std::time::Duration;

use openssl::bn::BigNum;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::stack::{Stack, StackRef};
use openssl::x509::store::{X509Lookup, X509Store, X509StoreBuilder};
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509Crl, X509Name, X509Ref, X509};
use protocol::codes;
use signing::certificate::CertificateInfo;

use crate::error::ApiError;
use crate::ocsp;
// Names printed as the CLI's verification prints them.
use ::verify::trust::name_text;

/// OpenSSL's CMS_CADES: check signingCertificateV2 too (design.md, GOST bytes).
const CMS_CADES: u32 = 0x100000;

/// The trusted roots, the accredited CAs and the CRLs.
pub struct TrustStore {
    certificates: Vec<X509>,
    crl_files: Vec<std::path::PathBuf>,
    /// How long one OCSP responder may take to answer.
    ocsp_timeout: Duration,
    /// Whether a trusted certificate names an OCSP responder: then every chain is built and
    /// asked about, not only a signer's that names one.
    ocsp_in_trust: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} holds no PEM certificate: {1}")]
    Pem(String, String),
    #[error("{0} holds no PEM CRL: {1}")]
    Crl(String, String),
    #[error(
        "no CRL issued by {0}: with CRLs, every certificate of a chain is checked against its \
         CA's CRL, so each trusted certificate's own CRL is needed too (the root's as well as the \
         issuing CA's; `podpis-vcard pki init` writes root-crl.pem beside crl.pem)"
    )]
    MissingCrl(String),
    #[error("the GOST engine is not loaded in this process: start it with OPENSSL_CONF pointing at config/openssl-gost.cnf")]
    NoGostEngine,
}

impl TrustStore {
    /// Loads the trusted certificates and the CRLs. With any CRL, each trusted certificate
    /// must have its own CRL among them: OpenSSL checks every certificate of a chain
    /// (`CRL_CHECK_ALL`), and a CA without a CRL would refuse every chain under it.
    pub fn load(
        trust: &[impl AsRef<Path>],
        crls: &[impl AsRef<Path>],
        ocsp_timeout: Duration,
    ) -> Result<Self, TrustError> {
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
        let mut issuers = Vec::new();
        for path in crls {
            let path = path.as_ref();
            let pem =
                std::fs::read(path).map_err(|e| TrustError::Io(path.display().to_string(), e))?;
            let crl = X509Crl::from_pem(&pem)
                .map_err(|e| TrustError::Crl(path.display().to_string(), e.to_string()))?;
            issuers.push(
                crl.issuer_name()
                    .to_owned()
                    .map_err(|e| TrustError::Crl(path.display().to_string(), e.to_string()))?,
            );
        }
        if !issuers.is_empty() {
            for certificate in &certificates {
                let subject = certificate.subject_name();
                let covered = issuers
                    .iter()
                    .any(|issuer| issuer.try_cmp(subject).is_ok_and(|o| o.is_eq()));
                if !covered {
                    return Err(TrustError::MissingCrl(name_text(subject)));
                }
            }
        }
        let ocsp_in_trust = certificates.iter().any(|c| !ocsp::responders(c).is_empty());
        Ok(Self {
            certificates,
            crl_files: crls.iter().map(|p| p.as_ref().to_path_buf()).collect(),
            ocsp_timeout,
            ocsp_in_trust,
        })
    }

    /// A store that trusts nothing, for handler tests that never reach a signature (and run
    /// without the GOST engine).
    #[cfg(test)]
    pub(crate) fn empty() -> Self {
        Self {
            certificates: Vec::new(),
            crl_files: Vec::new(),
            ocsp_timeout: Duration::from_secs(1),
            ocsp_in_trust: false,
        }
    }

    /// A store that verifies as of `time` (the signing time), with CRLs when there are any.
    /// The CRLs are read for each request, so a CRL file replaced on disk applies at once.
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
            // Every certificate of the chain against its CA's CRL: the signer's against the
            // issuing CA's, the issuing CA's against the root's (`load` made sure each is there).
            param
                .set_flags(X509VerifyFlags::CRL_CHECK | X509VerifyFlags::CRL_CHECK_ALL)
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
            if trust.ocsp_in_trust || !ocsp::responders(&signers[0]).is_empty() {
                let chain = chain(&signers[0], &store)?;
                revocation_by_ocsp(&chain, &store, trust.ocsp_timeout)?;
            }
            certificate_profile(&certificate)?;
        }
        Err(cades_error) => {
            signature_only(body, &signers, &content)?;
            digest_fits_key(&form.digest_algorithm, &certificate)?;
            let chain = chain(&signers[0], &store)?;
            revocation_by_ocsp(&chain, &store, trust.ocsp_timeout)?;
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
                codes::ALGORITHM_NOT_GOST,
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

/// Chain to a trusted root, validity at signing time (the store's time), revocation by the CRLs;
/// the chain built, the signer's certificate first.
fn chain(certificate: &X509Ref, store: &X509Store) -> Result<Vec<X509>, ApiError> {
    let (ok, error, chain) =
        ::verify::verify_chain(certificate, &[], store).map_err(ApiError::internal)?;
    if ok {
        return Ok(chain);
    }
    Err(match error.as_raw() {
        9 | 10 => ApiError::new(
            codes::CERTIFICATE_EXPIRED,
            "The certificate was not valid at the time of signing.",
        ),
        23 => revoked(),
        // No CRL for a certificate of the chain, or none valid at the signing time: whether it
        // is revoked cannot be told.
        3 | 11 | 12 => revocation_unavailable(&format!("{} (CRL)", error.error_string())),
        _ => ApiError::new(
            codes::CERTIFICATE_UNTRUSTED,
            format!(
                "The certificate does not chain to an accredited certification authority ({}).",
                error.error_string()
            ),
        ),
    })
}

fn revoked() -> ApiError {
    ApiError::new(
        codes::CERTIFICATE_REVOKED,
        "A certificate of the signer's chain has been revoked by its certification authority.",
    )
}

fn revocation_unavailable(why: &str) -> ApiError {
    tracing::warn!("revocation status unavailable: {why}");
    ApiError::new(
        codes::REVOCATION_UNAVAILABLE,
        "The portal could not learn whether the certificate is revoked (its certification \
         authority's status service did not answer); nothing was applied: send the same request \
         again later.",
    )
}

/// Each certificate of the chain that names an OCSP responder is asked about at that
/// responder, with its issuer (the next certificate of the chain). Revoked at any: refused.
/// A responder that cannot be asked, or an answer that does not verify: the status is
/// unknown, and the request is refused as such (never taken as good).
fn revocation_by_ocsp(
    chain: &[X509],
    store: &X509Store,
    timeout: Duration,
) -> Result<(), ApiError> {
    for (certificate, issuer) in chain.iter().zip(chain.iter().skip(1)) {
        let responders = ocsp::responders(certificate);
        let Some(url) = responders.first() else {
            continue;
        };
        match ocsp::status(url, certificate, issuer, chain, store, timeout) {
            Ok(ocsp::Status::Good) => {}
            Ok(ocsp::Status::Revoked) => return Err(revoked()),
            Ok(ocsp::Status::Unknown) => {
                return Err(ApiError::new(
                    codes::CERTIFICATE_UNTRUSTED,
                    "The certification authority's status service does not know a certificate \
                     of the signer's chain.",
                ))
            }
            Err(e) => return Err(revocation_unavailable(&e.to_string())),
        }
    }
    Ok(())
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
