//! The wire types of the confirmation protocol (docs/protocol.md), defined once for the client
//! and the sandbox portal.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use signing::certificate::CertificateInfo;

/// The `format` of a request document.
pub const DOCUMENT_FORMAT: &str = "podpis-confirmation/1";
/// The content type of a signed request.
pub const CMS_CONTENT_TYPE: &str = "application/pkcs7-mime";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    ConfirmIdentity,
    RegisterOrganisation,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfirmIdentity => "confirm-identity",
            Self::RegisterOrganisation => "register-organisation",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Simplified,
    Standard,
    Confirmed,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Simplified => "simplified",
            Self::Standard => "standard",
            Self::Confirmed => "confirmed",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Phone (+7…), e-mail or SNILS (11 digits).
    pub login: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    /// RFC 3339.
    pub expires_at: String,
    pub account: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub surname: String,
    pub given_names: String,
    pub snils: Option<String>,
    pub inn: Option<String>,
}

impl Person {
    /// The person as the certificate names them. The client writes this into the document and the
    /// portal demands exactly this, so both take it from here: a drift would refuse every request.
    pub fn from_certificate(certificate: &CertificateInfo) -> Self {
        Self {
            surname: certificate.surname.clone().unwrap_or_default(),
            given_names: certificate.given_names.clone().unwrap_or_default(),
            snils: certificate.snils.clone(),
            inn: certificate.inn.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub name: String,
    pub ogrn: String,
    pub inn: String,
}

impl Organisation {
    /// The organisation the certificate speaks for: none without its OGRN or the legal entity's
    /// INN. Its name is the organisation attribute, else the subject's common name. Shared by the
    /// client and the portal for the same reason as [`Person::from_certificate`].
    pub fn from_certificate(certificate: &CertificateInfo) -> Option<Self> {
        let (Some(ogrn), Some(inn)) = (&certificate.ogrn, &certificate.inn_le) else {
            return None;
        };
        Some(Self {
            name: certificate
                .organisation
                .clone()
                .or_else(|| certificate.subject.clone())
                .unwrap_or_default(),
            ogrn: ogrn.clone(),
            inn: inn.clone(),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountOrganisation {
    pub id: String,
    #[serde(flatten)]
    pub organisation: Organisation,
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub level: Level,
    pub person: Person,
    pub organisations: Vec<AccountOrganisation>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    pub purpose: Purpose,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Challenge {
    /// 32 random bytes, base64url without padding.
    pub nonce: String,
    pub purpose: Purpose,
    /// RFC 3339.
    pub expires_at: String,
    /// The portal's origin, which the document repeats.
    pub origin: String,
}

/// The document a person signs. Its bytes are canonical JSON: the fields in this (alphabetical)
/// order, no whitespace, UTF-8 — exactly what `serde_json::to_vec` writes for this struct.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestDocument {
    pub account: String,
    /// SHA-256 of the signer certificate's DER, lower-case hex.
    pub certificate_sha256: String,
    pub format: String,
    pub nonce: String,
    pub organisation: Option<Organisation>,
    pub origin: String,
    pub person: Person,
    pub purpose: Purpose,
    /// RFC 3339, UTC.
    pub signing_time: String,
}

impl RequestDocument {
    /// The canonical bytes that are signed.
    pub fn to_canonical_json(&self) -> Vec<u8> {
        // Serialising plain structs, strings and options cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a document and insists that it is in canonical form.
    pub fn from_canonical_json(bytes: &[u8]) -> Result<Self, String> {
        let document: Self = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if document.to_canonical_json() != bytes {
            return Err("the document is not in canonical form".into());
        }
        Ok(document)
    }
}

/// A time on the wire (`signing_time`, `expires_at`): RFC 3339 in UTC, whole seconds, `Z`.
/// Times before 1970 are written as 1970; times past year 9999 (which no clock here reaches) as
/// an empty string.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_seconds(secs)
}

/// [`timestamp`] for seconds since the Unix epoch, as the portal keeps its times.
pub fn timestamp_unix(secs: i64) -> String {
    format_seconds(u64::try_from(secs).unwrap_or(0))
}

fn format_seconds(secs: u64) -> String {
    der::DateTime::from_unix_duration(Duration::from_secs(secs))
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// The portal's answer to an accepted request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationResult {
    pub request: String,
    pub purpose: Purpose,
    pub level: Level,
    pub organisation: Option<AccountOrganisationResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountOrganisationResult {
    pub id: String,
    pub name: String,
    pub ogrn: String,
    pub inn: String,
}

/// Every refusal: a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

/// The error codes of docs/protocol.md.
pub mod codes {
    pub const MALFORMED: &str = "malformed";
    pub const TOO_LARGE: &str = "too-large";
    pub const SIGNATURE_INVALID: &str = "signature-invalid";
    pub const CERTIFICATE_UNTRUSTED: &str = "certificate-untrusted";
    pub const CERTIFICATE_EXPIRED: &str = "certificate-expired";
    pub const CERTIFICATE_REVOKED: &str = "certificate-revoked";
    /// Whether a certificate of the chain is revoked could not be learnt (its CA's OCSP
    /// responder did not answer, or no CRL in force): nothing was applied; send it again later.
    pub const REVOCATION_UNAVAILABLE: &str = "revocation-unavailable";
    pub const CERTIFICATE_NOT_QUALIFIED: &str = "certificate-not-qualified";
    pub const KEY_USAGE: &str = "key-usage";
    pub const ALGORITHM_DEPRECATED: &str = "algorithm-deprecated";
    /// The key is not a GOST one (ECDSA, RSA): the portal takes only GOST signatures.
    pub const ALGORITHM_NOT_GOST: &str = "algorithm-not-gost";
    pub const NONCE_UNKNOWN: &str = "nonce-unknown";
    pub const NONCE_EXPIRED: &str = "nonce-expired";
    pub const NONCE_USED: &str = "nonce-used";
    pub const PURPOSE_MISMATCH: &str = "purpose-mismatch";
    pub const ORIGIN_MISMATCH: &str = "origin-mismatch";
    pub const ACCOUNT_NOT_STANDARD: &str = "account-not-standard";
    pub const ALREADY_CONFIRMED: &str = "already-confirmed";
    pub const SNILS_MISSING: &str = "snils-missing";
    pub const SNILS_MISMATCH: &str = "snils-mismatch";
    pub const NAME_MISMATCH: &str = "name-mismatch";
    pub const ORGANISATION_DATA_MISSING: &str = "organisation-data-missing";
    pub const ORGANISATION_EXISTS: &str = "organisation-exists";
    pub const RATE_LIMITED: &str = "rate-limited";
    pub const UNAUTHORISED: &str = "unauthorised";
    pub const NOT_FOUND: &str = "not-found";
    pub const INTERNAL: &str = "internal";

    pub const ALL: [&str; 27] = [
        MALFORMED,
        TOO_LARGE,
        SIGNATURE_INVALID,
        CERTIFICATE_UNTRUSTED,
        CERTIFICATE_EXPIRED,
        CERTIFICATE_REVOKED,
        REVOCATION_UNAVAILABLE,
        CERTIFICATE_NOT_QUALIFIED,
        KEY_USAGE,
        ALGORITHM_DEPRECATED,
        ALGORITHM_NOT_GOST,
        NONCE_UNKNOWN,
        NONCE_EXPIRED,
        NONCE_USED,
        PURPOSE_MISMATCH,
        ORIGIN_MISMATCH,
        ACCOUNT_NOT_STANDARD,
        ALREADY_CONFIRMED,
        SNILS_MISSING,
        SNILS_MISMATCH,
        NAME_MISMATCH,
        ORGANISATION_DATA_MISSING,
        ORGANISATION_EXISTS,
        RATE_LIMITED,
        UNAUTHORISED,
        NOT_FOUND,
        INTERNAL,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> RequestDocument {
        RequestDocument {
            account: "acc".into(),
            certificate_sha256: "ab".into(),
            format: DOCUMENT_FORMAT.into(),
            nonce: "n".into(),
            organisation: None,
            origin: "http://127.0.0.1:1".into(),
            person: Person {
                surname: "Иванов".into(),
                given_names: "Иван Иванович".into(),
                snils: Some("54771278218".into()),
                inn: None,
            },
            purpose: Purpose::ConfirmIdentity,
            signing_time: "2026-11-24T21:00:00Z".into(),
        }
    }

    #[test]
    fn canonical_json_has_sorted_keys_and_no_whitespace() {
        let bytes = document().to_canonical_json();
        let text = String::from_utf8(bytes.clone()).expect("utf8");
        assert!(text.starts_with(r#"{"account":"acc","certificate_sha256":"ab","format":"#));
        assert!(!text.contains(": ") && !text.contains('\n'));
        assert_eq!(
            RequestDocument::from_canonical_json(&bytes).expect("parse"),
            document()
        );
    }

    fn certificate() -> CertificateInfo {
        CertificateInfo {
            subject: Some("ООО «Ромашка»".into()),
            surname: Some("Иванов".into()),
            given_names: Some("Иван Иванович".into()),
            snils: Some("54771278218".into()),
            inn: Some("773024663310".into()),
            inn_le: Some("7701234567".into()),
            ogrn: Some("1027700132195".into()),
            ogrnip: None,
            organisation: Some("ООО «Ромашка» полное".into()),
            issuer: "Test CA".into(),
            serial: "01".into(),
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2027-01-01T00:00:00Z".into(),
            algorithm: "gost2012-256".into(),
            parameter_set: None,
            key_usage: signing::certificate::KeyUsage::default(),
            policies: Vec::new(),
            subject_sign_tool: None,
            issuer_sign_tool: None,
            sha256: "ab".into(),
            validity: (0, 0),
        }
    }

    #[test]
    fn the_person_is_the_certificates() {
        assert_eq!(
            Person::from_certificate(&certificate()),
            Person {
                surname: "Иванов".into(),
                given_names: "Иван Иванович".into(),
                snils: Some("54771278218".into()),
                inn: Some("773024663310".into()),
            }
        );
        let bare = CertificateInfo {
            surname: None,
            given_names: None,
            snils: None,
            inn: None,
            ..certificate()
        };
        assert_eq!(
            Person::from_certificate(&bare),
            Person {
                surname: String::new(),
                given_names: String::new(),
                snils: None,
                inn: None,
            }
        );
    }

    #[test]
    fn the_organisation_needs_ogrn_and_the_legal_entitys_inn() {
        assert_eq!(
            Organisation::from_certificate(&certificate()),
            Some(Organisation {
                name: "ООО «Ромашка» полное".into(),
                ogrn: "1027700132195".into(),
                inn: "7701234567".into(),
            })
        );
        let no_ogrn = CertificateInfo {
            ogrn: None,
            ..certificate()
        };
        assert_eq!(Organisation::from_certificate(&no_ogrn), None);
        // A person's INN is not the organisation's.
        let no_inn_le = CertificateInfo {
            inn_le: None,
            ..certificate()
        };
        assert_eq!(Organisation::from_certificate(&no_inn_le), None);
    }

    #[test]
    fn the_organisations_name_falls_back_to_the_subject() {
        let unnamed = CertificateInfo {
            organisation: None,
            ..certificate()
        };
        let organisation = Organisation::from_certificate(&unnamed).expect("organisation");
        assert_eq!(organisation.name, "ООО «Ромашка»");
        let nameless = CertificateInfo {
            organisation: None,
            subject: None,
            ..certificate()
        };
        let organisation = Organisation::from_certificate(&nameless).expect("organisation");
        assert_eq!(organisation.name, "");
    }

    #[test]
    fn timestamps_are_rfc3339_utc_whole_seconds() {
        assert_eq!(timestamp_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp_unix(1_709_164_800), "2024-02-29T00:00:00Z");
        assert_eq!(timestamp_unix(1_795_000_059), "2026-11-18T11:07:39Z");
        assert_eq!(timestamp_unix(-5), "1970-01-01T00:00:00Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_000_059_999);
        assert_eq!(timestamp(t), "2026-11-18T11:07:39Z");
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(timestamp(before), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn levels_read_as_they_serialise() {
        for level in [Level::Simplified, Level::Standard, Level::Confirmed] {
            let json = serde_json::to_string(&level).expect("json");
            assert_eq!(json, format!("\"{}\"", level.as_str()));
        }
    }

    #[test]
    fn non_canonical_documents_are_refused() {
        let text = String::from_utf8(document().to_canonical_json()).expect("utf8");
        let spaced = text.replacen(":", ": ", 1);
        assert!(RequestDocument::from_canonical_json(spaced.as_bytes()).is_err());
        let extra = text.replacen("{", r#"{"extra":1,"#, 1);
        assert!(RequestDocument::from_canonical_json(extra.as_bytes()).is_err());
    }
}
