//! The wire types of the confirmation protocol (docs/protocol.md), defined once for the client
//! and the sandbox portal.

use serde::{Deserialize, Serialize};

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub name: String,
    pub ogrn: String,
    pub inn: String,
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
    pub const CERTIFICATE_NOT_QUALIFIED: &str = "certificate-not-qualified";
    pub const KEY_USAGE: &str = "key-usage";
    pub const ALGORITHM_DEPRECATED: &str = "algorithm-deprecated";
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

    pub const ALL: [&str; 25] = [
        MALFORMED,
        TOO_LARGE,
        SIGNATURE_INVALID,
        CERTIFICATE_UNTRUSTED,
        CERTIFICATE_EXPIRED,
        CERTIFICATE_REVOKED,
        CERTIFICATE_NOT_QUALIFIED,
        KEY_USAGE,
        ALGORITHM_DEPRECATED,
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

    #[test]
    fn non_canonical_documents_are_refused() {
        let text = String::from_utf8(document().to_canonical_json()).expect("utf8");
        let spaced = text.replacen(":", ": ", 1);
        assert!(RequestDocument::from_canonical_json(spaced.as_bytes()).is_err());
        let extra = text.replacen("{", r#"{"extra":1,"#, 1);
        assert!(RequestDocument::from_canonical_json(extra.as_bytes()).is_err());
    }
}
