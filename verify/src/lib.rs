//! Verification of a CMS signature (CAdES-BES or plain CMS, attached or detached, any number of
//! signers) with OpenSSL and its GOST engine, for a person who asks "is this signature good?":
//! `podpis verify` and the app's Verify screen. The portal shares its OCSP and the engine's
//! setup from here.
//!
//! Each signer is judged on its own, in this order: the signer's certificate is found, the
//! signature is checked over the content (telling a changed document from a broken signature),
//! the chain is built to a trusted root as of the signing time, each certificate of it is
//! looked up on its CA's CRL (the files given, else its distribution points) and at its OCSP
//! responder where it names one, and a CAdES signature's signingCertificate attribute must name
//! the certificate used. A report says which roots were trusted. Codes only: the words are in
//! `client::messages`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier as Oid;
use der::{Decode, Encode};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::bn::BigNum;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreRef};
use openssl::x509::{CrlStatus, X509Crl, X509Ref, X509StoreContext, X509VerifyResult, X509};
use serde::Serialize;
use signing::certificate::{CertificateInfo, FindingCode};

pub mod engine;
pub mod ocsp;
pub mod trust;

pub use trust::{Source, Trust, TrustError, TrustSummary};

/// OpenSSL's CMS_CADES: check the signingCertificate(V2) attribute against the chain.
const CMS_CADES: u32 = 0x100000;
/// A CRL larger than this is not fetched.
const MAX_CRL: u64 = 8 * 1024 * 1024;

mod oids {
    use const_oid::ObjectIdentifier as Oid;
    pub const SIGNING_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.12");
    pub const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
    pub const SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
}

/// The answer for a signature, a signer, or the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Valid,
    /// Something could not be checked (the GOST engine, the revocation state); nothing found
    /// was wrong.
    CouldNotCheck,
    /// Something is wrong: do not rely on this signature.
    Invalid,
}

/// Why a signer or a file is not valid. Each carries its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Not a CMS SignedData (DER, PEM or Base64).
    Malformed,
    /// SignedData without a signer.
    NoSigners,
    /// A detached signature, and no content given to check it against.
    ContentMissing,
    /// The document is not the one that was signed (the message digest differs).
    ContentChanged,
    /// The signature value does not verify with the signer's key.
    SignatureInvalid,
    /// The signer's certificate is not in the file.
    SignerCertificateMissing,
    /// The signingCertificate attribute names another certificate than the one used.
    SigningCertificateMismatch,
    /// A certificate of the chain had expired at the signing time.
    CertificateExpired,
    /// A certificate of the chain was not valid yet at the signing time.
    CertificateNotYetValid,
    /// A certificate of the chain is revoked.
    CertificateRevoked,
    /// The chain does not end in a trusted root.
    CertificateUntrusted,
    /// Whether a certificate of the chain is revoked could not be learnt.
    RevocationUnavailable,
    /// A GOST signature, and this process's OpenSSL has no GOST engine.
    GostUnavailable,
    /// An algorithm OpenSSL does not know here.
    AlgorithmUnsupported,
}

impl Reason {
    pub const ALL: &'static [Reason] = &[
        Self::Malformed,
        Self::NoSigners,
        Self::ContentMissing,
        Self::ContentChanged,
        Self::SignatureInvalid,
        Self::SignerCertificateMissing,
        Self::SigningCertificateMismatch,
        Self::CertificateExpired,
        Self::CertificateNotYetValid,
        Self::CertificateRevoked,
        Self::CertificateUntrusted,
        Self::RevocationUnavailable,
        Self::GostUnavailable,
        Self::AlgorithmUnsupported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::NoSigners => "no-signers",
            Self::ContentMissing => "content-missing",
            Self::ContentChanged => "content-changed",
            Self::SignatureInvalid => "signature-invalid",
            Self::SignerCertificateMissing => "signer-certificate-missing",
            Self::SigningCertificateMismatch => "signing-certificate-mismatch",
            Self::CertificateExpired => "certificate-expired",
            Self::CertificateNotYetValid => "certificate-not-yet-valid",
            Self::CertificateRevoked => "certificate-revoked",
            Self::CertificateUntrusted => "certificate-untrusted",
            Self::RevocationUnavailable => "revocation-unavailable",
            Self::GostUnavailable => "gost-unavailable",
            Self::AlgorithmUnsupported => "algorithm-unsupported",
        }
    }

    pub fn verdict(self) -> Verdict {
        match self {
            Self::ContentMissing
            | Self::SignerCertificateMissing
            | Self::RevocationUnavailable
            | Self::GostUnavailable
            | Self::AlgorithmUnsupported => Verdict::CouldNotCheck,
            _ => Verdict::Invalid,
        }
    }
}

/// How the file is made.
#[derive(Debug, Clone, Serialize)]
pub struct Form {
    /// `cades-bes` when every signer has a signingCertificate attribute, else `cms`.
    pub kind: &'static str,
    /// Whether the content is inside the file.
    pub attached: bool,
}

/// What a verification found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    /// Reasons of the file as a whole (malformed, no signers, no content).
    pub reasons: Vec<Reason>,
    pub form: Option<Form>,
    pub signers: Vec<SignerReport>,
    /// The roots trusted, the intermediates and CRL files given.
    pub trust: TrustSummary,
    /// Whether distribution points and OCSP responders were asked (not `--offline`).
    pub online: bool,
    /// Whether this process could check GOST signatures.
    pub gost_available: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignerReport {
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    /// OpenSSL's own words on what failed, for the curious (English, technical).
    pub details: Vec<String>,
    pub certificate: Option<CertificateInfo>,
    pub qualified: bool,
    /// The certificate's findings at the signing time (or now, without one).
    pub findings: Vec<FindingCode>,
    /// RFC 3339, from the signingTime attribute (the signer's claim: no time-stamp).
    pub signing_time: Option<String>,
    pub digest_algorithm: String,
    /// The signer's certificate first, the trusted root last (as far as it was built).
    pub chain: Vec<ChainLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainLink {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub sha256: String,
    /// Where the root came from, for the trusted root at the end of the chain.
    pub trusted_root: Option<Source>,
    pub revocation: Revocation,
}

#[derive(Debug, Clone, Serialize)]
pub struct Revocation {
    pub status: RevocationStatus,
    /// `crl` (a file), `crl-url`, `ocsp`, with where.
    pub checked: Vec<Checked>,
    /// When it was revoked (RFC 3339).
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub source: &'static str,
    pub place: String,
    /// `good`, `revoked`, `unknown`, or why it could not say (English, technical).
    pub answer: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationStatus {
    Good,
    Revoked,
    /// No source answered.
    Unavailable,
    /// A trusted root: nothing above it to ask.
    TrustAnchor,
    /// Not asked (the chain was not built, or the signature already failed).
    NotChecked,
}

/// How to verify.
#[derive(Debug, Clone)]
pub struct Options {
    /// The content of a detached signature.
    pub content: Option<Vec<u8>>,
    /// Fetch CRLs from distribution points and ask OCSP responders.
    pub online: bool,
    /// How long one fetch or OCSP request may take.
    pub timeout: Duration,
    /// All the network work of one verification together.
    pub total_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            content: None,
            online: true,
            timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(20),
        }
    }
}

/// The signature file's bytes as DER: DER as it is, PEM (any header) or bare Base64 decoded.
pub fn decode_signature_file(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.first() == Some(&0x30) {
        return Some(bytes.to_vec());
    }
    use base64::Engine;
    let text = std::str::from_utf8(bytes).ok()?;
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .ok()?;
    (der.first() == Some(&0x30)).then_some(der)
}

/// Verifies the signature file `bytes` (DER, PEM or Base64).
pub fn verify(bytes: &[u8], trust: &Trust, options: &Options) -> Report {
    let mut report = Report {
        verdict: Verdict::Valid,
        reasons: Vec::new(),
        form: None,
        signers: Vec::new(),
        trust: trust.summary(),
        online: options.online,
        gost_available: engine::gost_available(),
    };
    let Some(der) = decode_signature_file(bytes) else {
        report.reasons.push(Reason::Malformed);
        report.verdict = Verdict::Invalid;
        return report;
    };
    let Some(signed) = ContentInfo::from_der(&der)
        .ok()
        .filter(|info| info.content_type == signing::cades::oids::SIGNED_DATA)
        .and_then(|info| info.content.decode_as::<SignedData>().ok())
    else {
        report.reasons.push(Reason::Malformed);
        report.verdict = Verdict::Invalid;
        return report;
    };
    let attached = signed.encap_content_info.econtent.is_some();
    let infos = signed.signer_infos.0.as_slice();
    report.form = Some(Form {
        kind: if !infos.is_empty() && infos.iter().all(has_signing_certificate) {
            "cades-bes"
        } else {
            "cms"
        },
        attached,
    });
    if infos.is_empty() {
        report.reasons.push(Reason::NoSigners);
        report.verdict = Verdict::Invalid;
        return report;
    }
    if !attached && options.content.is_none() {
        report.reasons.push(Reason::ContentMissing);
    }
    let mut network = Network::new(options);
    let certificates = message_certificates(&signed);
    for (index, info) in infos.iter().enumerate() {
        // OpenSSL checks all signers at once; each is checked alone in a SignedData of its own.
        // A file with one signer is used as it is (re-encoding could change its bytes).
        let alone = if infos.len() == 1 {
            Some(der.clone())
        } else {
            only_signer(&signed, index)
        };
        let signer = check_signer(
            alone.as_deref(),
            info,
            &certificates,
            trust,
            options,
            !attached && options.content.is_none(),
            &mut network,
        );
        report.signers.push(signer);
    }
    report.verdict = report
        .reasons
        .iter()
        .map(|r| r.verdict())
        .chain(report.signers.iter().map(|s| s.verdict))
        .max()
        .unwrap_or(Verdict::Valid);
    report
}

fn has_signing_certificate(info: &SignerInfo) -> bool {
    info.signed_attrs
        .iter()
        .flat_map(|a| a.iter())
        .any(|a| a.oid == oids::SIGNING_CERTIFICATE_V2 || a.oid == oids::SIGNING_CERTIFICATE)
}

/// The certificates of the file, DER and parsed by OpenSSL.
fn message_certificates(signed: &SignedData) -> Vec<X509> {
    signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(c) => c.to_der().ok(),
            _ => None,
        })
        .filter_map(|der| X509::from_der(&der).ok())
        .collect()
}

/// The SignedData with only signer `index`, as a ContentInfo's DER.
fn only_signer(signed: &SignedData, index: usize) -> Option<Vec<u8>> {
    let mut one = signed.clone();
    let info = signed.signer_infos.0.get(index)?.clone();
    one.signer_infos =
        cms::signed_data::SignerInfos(der::asn1::SetOfVec::try_from(vec![info]).ok()?);
    let content = der::Any::encode_from(&one).ok()?;
    ContentInfo {
        content_type: signing::cades::oids::SIGNED_DATA,
        content,
    }
    .to_der()
    .ok()
}

/// The certificates of the file that name the signer (by issuer and serial, names compared as
/// OpenSSL compares them, or by subject key identifier).
fn signer_candidates(info: &SignerInfo, certificates: &[X509]) -> Vec<X509> {
    match &info.sid {
        SignerIdentifier::IssuerAndSerialNumber(sid) => {
            let Some(issuer) = sid
                .issuer
                .to_der()
                .ok()
                .and_then(|d| openssl::x509::X509Name::from_der(&d).ok())
            else {
                return Vec::new();
            };
            let Some(serial) = BigNum::from_slice(sid.serial_number.as_bytes()).ok() else {
                return Vec::new();
            };
            certificates
                .iter()
                .filter(|c| {
                    c.issuer_name().try_cmp(&issuer).is_ok_and(|o| o.is_eq())
                        && c.serial_number().to_bn().is_ok_and(|n| n == serial)
                })
                .cloned()
                .collect()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => certificates
            .iter()
            .filter(|c| {
                c.subject_key_id()
                    .is_some_and(|id| id.as_slice() == ski.0.as_bytes())
            })
            .cloned()
            .collect(),
    }
}

fn signing_time(info: &SignerInfo) -> Option<i64> {
    let value = info
        .signed_attrs
        .iter()
        .flat_map(|a| a.iter())
        .find(|a| a.oid == oids::SIGNING_TIME)?
        .values
        .get(0)?
        .clone();
    value
        .decode_as::<der::asn1::UtcTime>()
        .map(|t| t.to_unix_duration().as_secs() as i64)
        .or_else(|_| {
            value
                .decode_as::<der::asn1::GeneralizedTime>()
                .map(|t| t.to_unix_duration().as_secs() as i64)
        })
        .ok()
}

fn rfc3339(unix: i64) -> String {
    u64::try_from(unix)
        .ok()
        .and_then(|s| der::DateTime::from_unix_duration(Duration::from_secs(s)).ok())
        .map(|t| t.to_string())
        .unwrap_or_else(|| unix.to_string())
}

fn unix_of(time: &Asn1TimeRef) -> Option<i64> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(time).ok()?;
    Some(i64::from(diff.days) * 86_400 + i64::from(diff.secs))
}

fn digest_name(oid: &Oid) -> String {
    use signing::cades::oids as o;
    match *oid {
        o::STREEBOG_256 => "streebog-256".into(),
        o::STREEBOG_512 => "streebog-512".into(),
        o::GOST_R_34_11_94 => "gost-r-34.11-94".into(),
        o::SHA256 => "sha-256".into(),
        o::SHA384 => "sha-384".into(),
        other => match other.to_string().as_str() {
            "2.16.840.1.101.3.4.2.3" => "sha-512".into(),
            "1.3.14.3.2.26" => "sha-1".into(),
            text => text.to_owned(),
        },
    }
}

fn is_gost(certificate: &X509) -> bool {
    certificate
        .to_der()
        .ok()
        .and_then(|der| signing::certificate::key_algorithm(&der))
        .is_some()
}

/// Judges one signer.
fn check_signer(
    alone: Option<&[u8]>,
    info: &SignerInfo,
    certificates: &[X509],
    trust: &Trust,
    options: &Options,
    content_missing: bool,
    network: &mut Network,
) -> SignerReport {
    let time = signing_time(info);
    let mut report = SignerReport {
        verdict: Verdict::Valid,
        reasons: Vec::new(),
        details: Vec::new(),
        certificate: None,
        qualified: false,
        findings: Vec::new(),
        signing_time: time.map(rfc3339),
        digest_algorithm: digest_name(&info.digest_alg.oid),
        chain: Vec::new(),
    };
    let finish = |mut report: SignerReport| {
        report.verdict = report
            .reasons
            .iter()
            .map(|r| r.verdict())
            .max()
            .unwrap_or(Verdict::Valid);
        report
    };
    let candidates = signer_candidates(info, certificates);
    let [signer] = candidates.as_slice() else {
        if candidates.is_empty() {
            report.reasons.push(Reason::SignerCertificateMissing);
        } else {
            // Two certificates that OpenSSL would both take for the signer's: which one the
            // signature was made with cannot be said (the portal's decoy case).
            report.reasons.push(Reason::Malformed);
            report
                .details
                .push("more than one certificate names the signer".into());
        }
        return finish(report);
    };
    if let Some(parsed) = signer
        .to_der()
        .ok()
        .and_then(|der| CertificateInfo::parse(&der).ok())
    {
        let at = time
            .and_then(|t| u64::try_from(t).ok())
            .map_or_else(SystemTime::now, |t| UNIX_EPOCH + Duration::from_secs(t));
        report.qualified = parsed.is_qualified();
        report.findings = parsed.findings_at(at).iter().map(|f| f.code).collect();
        report.certificate = Some(parsed);
    }
    let gost_needed = is_gost(signer) || certificates.iter().any(is_gost);
    if gost_needed && !engine::gost_available() {
        report.reasons.push(Reason::GostUnavailable);
        return finish(report);
    }
    let Some(alone) = alone else {
        report.reasons.push(Reason::Malformed);
        return finish(report);
    };
    if content_missing {
        // The file already says so; without the content nothing more can be checked.
        report.reasons.push(Reason::ContentMissing);
        return finish(report);
    }

    // 1. The signature over the content.
    let mut signers = match Stack::new() {
        Ok(s) => s,
        Err(e) => {
            report.details.push(e.to_string());
            report.reasons.push(Reason::AlgorithmUnsupported);
            return finish(report);
        }
    };
    let _ = signers.push(signer.clone());
    let base = CMSOptions::BINARY | CMSOptions::NOINTERN;
    let run = |flags: CMSOptions, store: Option<&X509StoreRef>| {
        let mut cms = CmsContentInfo::from_der(alone)?;
        let mut out = Vec::new();
        cms.verify(
            Some(&signers),
            store,
            options.content.as_deref(),
            Some(&mut out),
            flags,
        )
    };
    // The store as of the signing time.
    let store = match trust.store(time) {
        Ok(store) => store,
        Err(e) => {
            report.details.push(e.to_string());
            report.reasons.push(Reason::CertificateUntrusted);
            return finish(report);
        }
    };
    let cades = has_signing_certificate(info);
    let whole = if cades {
        base | CMSOptions::from_bits_retain(CMS_CADES)
    } else {
        base
    };
    // A good signature costs one OpenSSL verification of everything (signature, chain at the
    // signing time, and in CAdES the signingCertificate attribute), as in the portal; only one
    // that fails is taken apart step by step to name its first failure.
    let whole_holds = run(whole, Some(&*store)).is_ok();
    if !whole_holds {
        if let Err(e) = run(base | CMSOptions::NO_SIGNER_CERT_VERIFY, None) {
            report.details.push(e.to_string());
            let text = e.to_string();
            let unknown = text.contains("unsupported") || text.contains("unknown digest");
            // With signed attributes, the signature covers them and they carry the content's
            // digest: if they verify alone, the content is what changed.
            let attributes_hold = info.signed_attrs.is_some()
                && run(
                    base | CMSOptions::NO_SIGNER_CERT_VERIFY | CMSOptions::NO_CONTENT_VERIFY,
                    None,
                )
                .is_ok();
            report.reasons.push(if attributes_hold {
                Reason::ContentChanged
            } else if unknown {
                Reason::AlgorithmUnsupported
            } else {
                Reason::SignatureInvalid
            });
            return finish(report);
        }
        if let Some(parsed) = &report.certificate {
            if !digest_fits_key(&info.digest_alg.oid, &parsed.algorithm) {
                report
                    .details
                    .push("the digest algorithm does not match the GOST key's size".into());
                report.reasons.push(Reason::SignatureInvalid);
                return finish(report);
            }
        }
    }

    // 2. The chain to a trusted root (for the report, and for revocation).
    let (chain, chain_error) = build_chain(signer, certificates, &store);
    report.chain = chain
        .iter()
        .map(|c| link(c, trust.root_source(c)))
        .collect();
    if let Some((reason, detail)) = chain_error {
        report.details.push(detail);
        report.reasons.push(reason);
        return finish(report);
    }

    // 3. Revocation of every certificate below the root.
    for (index, pair) in chain.windows(2).enumerate() {
        let (certificate, issuer) = (&pair[0], &pair[1]);
        let revocation = revocation(certificate, issuer, &chain, &store, trust, options, network);
        if revocation.status == RevocationStatus::Revoked {
            report.reasons.push(Reason::CertificateRevoked);
        } else if revocation.status == RevocationStatus::Unavailable
            && !report.reasons.contains(&Reason::RevocationUnavailable)
        {
            report.reasons.push(Reason::RevocationUnavailable);
        }
        report.chain[index].revocation = revocation;
    }
    if report.reasons.contains(&Reason::CertificateRevoked) {
        report
            .reasons
            .retain(|r| *r != Reason::RevocationUnavailable);
        report.reasons.dedup();
        return finish(report);
    }

    // 4. CAdES: the signingCertificate attribute names the certificate of this chain (known
    // already when the whole verification held).
    if cades && !whole_holds {
        if let Err(e) = run(whole, Some(&*store)) {
            // Only the ESS check's own failure is this reason; another (a purpose OpenSSL's
            // S/MIME profile asks of the chain) is said in the details alone.
            let ess = e.errors().iter().any(|e| {
                e.library().is_some_and(|l| l.contains("ESS"))
                    || e.reason().is_some_and(|r| r.contains("signing cert"))
            });
            report.details.push(e.to_string());
            if ess {
                report.reasons.insert(0, Reason::SigningCertificateMismatch);
            }
        }
    }
    finish(report)
}

/// The GOST engine does not check that the digest fits the key: a 512-bit key signs with
/// Streebog-512, a 256-bit key with Streebog-256 (design.md).
fn digest_fits_key(digest: &Oid, algorithm: &str) -> bool {
    use signing::cades::oids as o;
    match algorithm {
        "gost2012-256" => *digest == o::STREEBOG_256,
        "gost2012-512" => *digest == o::STREEBOG_512,
        "gost2001" => *digest == o::GOST_R_34_11_94,
        _ => true,
    }
}

fn link(certificate: &X509, root: Option<Source>) -> ChainLink {
    let text = |t: &Asn1TimeRef| unix_of(t).map(rfc3339).unwrap_or_else(|| t.to_string());
    ChainLink {
        subject: trust::name_text(certificate.subject_name()),
        issuer: trust::name_text(certificate.issuer_name()),
        serial: certificate
            .serial_number()
            .to_bn()
            .ok()
            .and_then(|n| n.to_hex_str().ok())
            .map(|s| s.to_string())
            .unwrap_or_default(),
        not_before: text(certificate.not_before()),
        not_after: text(certificate.not_after()),
        sha256: certificate
            .to_der()
            .map(|der| {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(der))
            })
            .unwrap_or_default(),
        revocation: Revocation {
            status: if root.is_some() {
                RevocationStatus::TrustAnchor
            } else {
                RevocationStatus::NotChecked
            },
            checked: Vec::new(),
            revoked_at: None,
        },
        trusted_root: root,
    }
}

/// OpenSSL's verification of `certificate`'s chain in `store` (with `untrusted` as
/// intermediates): whether it holds, OpenSSL's verdict, and the chain as far as it was built, the
/// certificate first. The portal's chain check and this crate's both stand on it.
pub fn verify_chain(
    certificate: &X509Ref,
    untrusted: &[X509],
    store: &X509StoreRef,
) -> Result<(bool, X509VerifyResult, Vec<X509>), openssl::error::ErrorStack> {
    let mut stack = Stack::new()?;
    for c in untrusted {
        stack.push(c.clone())?;
    }
    let mut context = X509StoreContext::new()?;
    context.init(store, certificate, &stack, |ctx| {
        let ok = ctx.verify_cert()?;
        let chain: Vec<X509> = ctx
            .chain()
            .map(|chain| chain.iter().map(ToOwned::to_owned).collect())
            .unwrap_or_default();
        Ok((ok, ctx.error(), chain))
    })
}

/// The chain OpenSSL builds from the signer to a trusted root (with the file's certificates as
/// intermediates), and why it failed, if it did.
fn build_chain(
    signer: &X509,
    certificates: &[X509],
    store: &X509Store,
) -> (Vec<X509>, Option<(Reason, String)>) {
    match verify_chain(signer, certificates, store) {
        Err(e) => (
            vec![signer.clone()],
            Some((Reason::CertificateUntrusted, e.to_string())),
        ),
        Ok((true, _, chain)) => (chain, None),
        Ok((false, error, chain)) => {
            let chain = if chain.is_empty() {
                vec![signer.clone()]
            } else {
                chain
            };
            let reason = match error.as_raw() {
                // X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED
                9 => Reason::CertificateNotYetValid,
                10 => Reason::CertificateExpired,
                _ => Reason::CertificateUntrusted,
            };
            (chain, Some((reason, error.error_string().to_owned())))
        }
    }
}

/// The network work of one verification: a deadline for all of it, and each CRL fetched once.
struct Network {
    online: bool,
    deadline: Instant,
    timeout: Duration,
    crls: HashMap<String, Result<Arc<X509Crl>, String>>,
}

impl Network {
    fn new(options: &Options) -> Self {
        Self {
            online: options.online,
            deadline: Instant::now() + options.total_timeout,
            timeout: options.timeout,
            crls: HashMap::new(),
        }
    }

    /// The time one request may take now.
    fn budget(&self) -> Option<Duration> {
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .map(|d| d.min(self.timeout))
    }

    fn crl(&mut self, url: &str) -> Result<Arc<X509Crl>, String> {
        if let Some(known) = self.crls.get(url) {
            return known.clone();
        }
        let result = match self.budget() {
            None => Err("no time left for the network".to_owned()),
            Some(budget) => ocsp::get(url, budget, MAX_CRL)
                .map_err(|e| e.to_string())
                .and_then(|body| {
                    X509Crl::from_der(&body)
                        .or_else(|_| X509Crl::from_pem(&body))
                        .map(Arc::new)
                        .map_err(|e| format!("not a CRL: {e}"))
                }),
        };
        self.crls.insert(url.to_owned(), result.clone());
        result
    }
}

/// The CRL distribution points of a certificate (its URIs).
fn distribution_points(certificate: &X509) -> Vec<String> {
    certificate
        .crl_distribution_points()
        .map(|points| {
            points
                .iter()
                .filter_map(|p| p.distpoint())
                .filter_map(|name| name.fullname())
                .flat_map(|names| names.iter())
                .filter_map(|n| n.uri().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// What a CRL says of `certificate`, if the CRL is `issuer`'s and current.
fn crl_answer(crl: &X509Crl, certificate: &X509, issuer: &X509) -> Result<Option<i64>, String> {
    let same_issuer = crl
        .issuer_name()
        .try_cmp(issuer.subject_name())
        .is_ok_and(|o| o.is_eq());
    if !same_issuer {
        return Err("not issued by this certificate's CA".into());
    }
    let key = issuer.public_key().map_err(|e| e.to_string())?;
    if !crl.verify(&key).map_err(|e| e.to_string())? {
        return Err("its signature does not verify with the CA's key".into());
    }
    let now = Asn1Time::days_from_now(0).map_err(|e| e.to_string())?;
    if crl
        .next_update()
        .is_some_and(|next| next.compare(&now).is_ok_and(|o| o.is_lt()))
    {
        // An outdated CRL still proves a revocation; it cannot prove the opposite.
        if let CrlStatus::Revoked(entry) = crl.get_by_cert(certificate) {
            return Ok(Some(unix_of(entry.revocation_date()).unwrap_or(0)));
        }
        return Err("out of date (its next update has passed)".into());
    }
    Ok(match crl.get_by_cert(certificate) {
        CrlStatus::Revoked(entry) => Some(unix_of(entry.revocation_date()).unwrap_or(0)),
        CrlStatus::NotRevoked | CrlStatus::RemoveFromCrl(_) => None,
    })
}

/// The revocation state of `certificate` (issued by `issuer`): the CRL files given, else its
/// distribution points (online), and its OCSP responder where it names one (online). Revoked
/// anywhere is revoked; good needs one source that answered.
fn revocation(
    certificate: &X509,
    issuer: &X509,
    chain: &[X509],
    store: &X509Store,
    trust: &Trust,
    options: &Options,
    network: &mut Network,
) -> Revocation {
    let mut checked = Vec::new();
    let mut good = false;
    let mut revoked_at = None;
    let mut record = |source: &'static str, place: String, answer: Result<Option<i64>, String>| {
        let text = match &answer {
            Ok(None) => "good".to_owned(),
            Ok(Some(_)) => "revoked".to_owned(),
            Err(e) => e.clone(),
        };
        match answer {
            Ok(None) => good = true,
            Ok(Some(at)) => revoked_at = Some(at),
            Err(_) => {}
        }
        checked.push(Checked {
            source,
            place,
            answer: text,
        });
    };
    let mut from_file = false;
    for (crl, path) in &trust.crls {
        let issued_by = crl
            .issuer_name()
            .try_cmp(issuer.subject_name())
            .is_ok_and(|o| o.is_eq());
        if issued_by {
            from_file = true;
            record(
                "crl",
                path.display().to_string(),
                crl_answer(crl, certificate, issuer),
            );
        }
    }
    if !from_file {
        for url in distribution_points(certificate) {
            let answer = if !network.online {
                Err("offline: not fetched".to_owned())
            } else {
                network
                    .crl(&url)
                    .and_then(|crl| crl_answer(&crl, certificate, issuer))
            };
            record("crl-url", url, answer);
        }
    }
    for url in ocsp::responders(certificate) {
        let answer = if !options.online {
            Err("offline: not asked".to_owned())
        } else {
            match network.budget() {
                None => Err("no time left for the network".to_owned()),
                Some(budget) => {
                    match ocsp::status(&url, certificate, issuer, chain, store, budget) {
                        Ok(ocsp::Status::Good) => Ok(None),
                        Ok(ocsp::Status::Revoked) => Ok(Some(0)),
                        Ok(ocsp::Status::Unknown) => Err("unknown to the responder".to_owned()),
                        Err(e) => Err(e.to_string()),
                    }
                }
            }
        };
        record("ocsp", url, answer);
    }
    let status = if revoked_at.is_some() {
        RevocationStatus::Revoked
    } else if good {
        RevocationStatus::Good
    } else {
        RevocationStatus::Unavailable
    };
    Revocation {
        status,
        checked,
        revoked_at: revoked_at.filter(|t| *t > 0).map(rfc3339),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_a_distinct_code_and_the_lists_agree() {
        let codes: std::collections::BTreeSet<_> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(codes.len(), Reason::ALL.len());
        for r in Reason::ALL {
            assert_eq!(
                serde_json::to_value(r).ok(),
                Some(serde_json::Value::String(r.as_str().into()))
            );
        }
    }

    #[test]
    fn a_signature_file_is_read_as_der_pem_or_base64() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x05];
        assert_eq!(decode_signature_file(&der), Some(der.clone()));
        let pem = "-----BEGIN CMS-----\nMAMCAQU=\n-----END CMS-----\n";
        assert_eq!(decode_signature_file(pem.as_bytes()), Some(der.clone()));
        assert_eq!(decode_signature_file(b"MAMC\r\nAQU=\r\n"), Some(der));
        assert_eq!(decode_signature_file(b"hello"), None);
        assert_eq!(decode_signature_file(b""), None);
    }

    #[test]
    fn garbage_is_malformed_and_invalid() {
        let report = verify(b"not a signature", &Trust::new(), &Options::default());
        assert_eq!(report.verdict, Verdict::Invalid);
        assert_eq!(report.reasons, vec![Reason::Malformed]);
        assert!(report.signers.is_empty());
    }

    #[test]
    fn the_verdict_of_a_reason_orders_invalid_above_could_not_check() {
        assert!(Verdict::Invalid > Verdict::CouldNotCheck);
        assert!(Verdict::CouldNotCheck > Verdict::Valid);
        assert_eq!(
            Reason::RevocationUnavailable.verdict(),
            Verdict::CouldNotCheck
        );
        assert_eq!(Reason::GostUnavailable.verdict(), Verdict::CouldNotCheck);
        assert_eq!(Reason::ContentChanged.verdict(), Verdict::Invalid);
        assert_eq!(Reason::CertificateUntrusted.verdict(), Verdict::Invalid);
    }
}
