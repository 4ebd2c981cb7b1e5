//! The confirmation checks that follow a verified signature (docs/protocol.md, "Checks, in order",
//! steps 9 to 22), as pure functions: what the request says and what the portal knows go in, a
//! decision or the first refusal comes out. No HTTP, SQL or OpenSSL here; the handler gathers the
//! facts and applies the decision. A new check goes here, in its place in the order, with a test.

use protocol::{codes, Organisation, Person, Purpose, RequestDocument};
use signing::certificate::CertificateInfo;

use crate::error::ApiError;
use crate::store::{AccountRow, ChallengeRow};
use crate::verify::Verified;

/// How far the signing time may stray outside the challenge's life: clocks differ.
pub const SKEW: i64 = 300;

/// A verified request whose content is a request document.
#[derive(Debug, Clone)]
pub struct Signed {
    pub document: RequestDocument,
    pub certificate: CertificateInfo,
    /// Seconds since the Unix epoch, from the signed attributes.
    pub signing_time: i64,
}

/// What the portal knows when it decides: the authenticated account, the challenge the document
/// names (if the portal issued one by that nonce), whether the certificate's organisation is
/// registered already, the portal's origin and the time.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub account: &'a AccountRow,
    pub challenge: Option<&'a ChallengeRow>,
    pub organisation_registered: bool,
    pub origin: &'a str,
    pub now: i64,
}

/// What an accepted request does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    ConfirmIdentity,
    RegisterOrganisation(Organisation),
}

/// Step 9, first half: the content is a request document in canonical form.
pub fn read(verified: Verified) -> Result<Signed, ApiError> {
    let document = RequestDocument::from_canonical_json(&verified.content).map_err(|e| {
        ApiError::new(
            codes::MALFORMED,
            format!("The signed document is not a request document: {e}."),
        )
    })?;
    Ok(Signed {
        document,
        certificate: verified.certificate,
        signing_time: verified.signing_time,
    })
}

fn mismatch(what: &str) -> ApiError {
    ApiError::new(
        codes::MALFORMED,
        format!("The document's {what} does not match."),
    )
}

/// The refusal of a nonce already used, here and when the database finds it used.
pub fn nonce_used() -> ApiError {
    ApiError::new(
        codes::NONCE_USED,
        "This challenge has been used already; ask for a new one.",
    )
}

/// The refusal of an organisation already registered, here and when the database finds it.
pub fn organisation_exists() -> ApiError {
    ApiError::new(
        codes::ORGANISATION_EXISTS,
        "This organisation is already registered on the portal.",
    )
}

/// Names compare without case, extra spaces, or the ё/е distinction.
pub fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
            .replace('ё', "е") // not-words: a letter compared, not said
    };
    norm(a) == norm(b)
}

/// Steps 9 (second half) to 22, in order: the first failing check answers.
pub fn decide(request: &Signed, facts: &Facts<'_>) -> Result<Decision, ApiError> {
    let document = &request.document;
    let certificate = &request.certificate;
    let account = facts.account;

    // 9: the document is this request's.
    if document.format != protocol::DOCUMENT_FORMAT {
        return Err(mismatch("format"));
    }
    // What the document says of its signature is what the signature says: the certificate OpenSSL
    // verified with, and the signingTime attribute to the second (in the protocol's one format).
    if document.certificate_sha256 != certificate.sha256 {
        return Err(mismatch("certificate"));
    }
    if document.signing_time != protocol::timestamp_unix(request.signing_time) {
        return Err(mismatch("signing time"));
    }
    if document.account != account.id {
        return Err(mismatch("account"));
    }
    let person = Person::from_certificate(certificate);
    if document.person != person {
        return Err(mismatch("person (it must be the certificate's)"));
    }

    let challenge = issued_challenge(facts)?;
    challenge_and_person(
        &Claim {
            purpose: document.purpose,
            origin: &document.origin,
            signing_time: request.signing_time,
            certificate,
        },
        challenge,
        facts,
    )?;

    // 21-22: what the purpose does.
    match document.purpose {
        Purpose::ConfirmIdentity => {
            if document.organisation.is_some() {
                return Err(mismatch(
                    "organisation (none is registered by this purpose)",
                ));
            }
            Ok(Decision::ConfirmIdentity)
        }
        Purpose::RegisterOrganisation => {
            let Some(organisation) = Organisation::from_certificate(certificate) else {
                return Err(ApiError::new(
                    codes::ORGANISATION_DATA_MISSING,
                    "The certificate lacks the organisation's OGRN or INN.",
                ));
            };
            if document.organisation.as_ref() != Some(&organisation) {
                return Err(mismatch("organisation (it must be the certificate's)"));
            }
            if facts.organisation_registered {
                return Err(organisation_exists());
            }
            Ok(Decision::RegisterOrganisation(organisation))
        }
    }
}

/// What the checks of the nonce and the person (steps 10 to 20) read from a request, whichever
/// form it came in (a request document, or the browser page's challenge text).
struct Claim<'a> {
    purpose: Purpose,
    origin: &'a str,
    /// The signingTime attribute, seconds since the Unix epoch.
    signing_time: i64,
    certificate: &'a CertificateInfo,
}

/// Step 10: the challenge the request names was issued to this account.
fn issued_challenge<'a>(facts: &Facts<'a>) -> Result<&'a ChallengeRow, ApiError> {
    facts
        .challenge
        .filter(|c| c.account == facts.account.id)
        .ok_or_else(|| {
            ApiError::new(
                codes::NONCE_UNKNOWN,
                "The portal did not issue this challenge to this account.",
            )
        })
}

/// Steps 11 to 20, in order: the challenge unused, unexpired, for this purpose and portal, and
/// signed within its life; the account standard and not confirmed yet (for confirm-identity); the
/// certificate's SNILS and names the account's.
fn challenge_and_person(
    claim: &Claim<'_>,
    challenge: &ChallengeRow,
    facts: &Facts<'_>,
) -> Result<(), ApiError> {
    let account = facts.account;
    let certificate = claim.certificate;
    let person = Person::from_certificate(certificate);
    // 11-15: the nonce: unused, unexpired, for this purpose and origin,
    // and signed within its life.
    if challenge.used_at.is_some() {
        return Err(nonce_used());
    }
    if challenge.expires_at < facts.now {
        return Err(ApiError::new(
            codes::NONCE_EXPIRED,
            "The challenge has expired; ask for a new one and sign again.",
        ));
    }
    if challenge.purpose != claim.purpose.as_str() {
        return Err(ApiError::new(
            codes::PURPOSE_MISMATCH,
            "The challenge was issued for another purpose.",
        ));
    }
    if claim.origin != facts.origin || challenge.origin != facts.origin {
        return Err(ApiError::new(
            codes::ORIGIN_MISMATCH,
            format!(
                "The document was made for another portal, not {}.",
                facts.origin
            ),
        ));
    }
    if claim.signing_time < challenge.created_at - SKEW || claim.signing_time > facts.now + SKEW {
        return Err(ApiError::new(
            codes::MALFORMED,
            "The signing time does not fall within the challenge's life.",
        ));
    }

    // 16-20: the account and the person.
    if account.level == protocol::Level::Simplified {
        return Err(ApiError::new(
            codes::ACCOUNT_NOT_STANDARD,
            "Confirm the passport and SNILS first: the account must be standard.",
        ));
    }
    if claim.purpose == Purpose::ConfirmIdentity && account.level == protocol::Level::Confirmed {
        return Err(ApiError::new(
            codes::ALREADY_CONFIRMED,
            "The account is already confirmed.",
        ));
    }
    let Some(snils) = &certificate.snils else {
        return Err(ApiError::new(
            codes::SNILS_MISSING,
            "The certificate carries no SNILS of a person; the portal cannot tell whose it is.",
        ));
    };
    if account.snils.as_deref() != Some(snils.as_str()) {
        return Err(ApiError::new(
            codes::SNILS_MISMATCH,
            "The certificate's SNILS is not the account's: it belongs to another person.",
        ));
    }
    if !same_name(&person.surname, &account.surname)
        || !same_name(&person.given_names, &account.given_names)
    {
        return Err(ApiError::new(
            codes::NAME_MISMATCH,
            "The names in the certificate differ from the account's.",
        ));
    }

    Ok(())
}

// The browser page's variant (docs/protocol.md, "The sandbox browser page").

/// What the browser page has the plugin sign: the challenge as text, which names everything the
/// API's request document binds that the page can know before signing (the portal, the account,
/// the purpose, the nonce). ASCII only, so that the plugin's DATA input (a JS string) has one byte
/// reading whatever encoding it takes (ifc-protocol.md 2.3 leaves it open).
pub fn challenge_text(challenge: &ChallengeRow) -> String {
    format!(
        "{BROWSER_CHALLENGE_FORMAT} origin={} account={} purpose={} nonce={}",
        challenge.origin, challenge.account, challenge.purpose, challenge.nonce
    )
}

/// The first word of every challenge text.
pub const BROWSER_CHALLENGE_FORMAT: &str = "podpis-browser-challenge/1";

/// A verified signature from the browser page: its content is meant to be a challenge text.
#[derive(Debug, Clone)]
pub struct BrowserSigned {
    pub content: Vec<u8>,
    pub certificate: CertificateInfo,
    /// Seconds since the Unix epoch, from the signed attributes.
    pub signing_time: i64,
}

impl From<Verified> for BrowserSigned {
    fn from(verified: Verified) -> Self {
        Self {
            content: verified.content,
            certificate: verified.certificate,
            signing_time: verified.signing_time,
        }
    }
}

fn not_a_challenge() -> ApiError {
    ApiError::new(
        codes::MALFORMED,
        "The signed content is not a challenge the portal issued: sign the challenge text exactly.",
    )
}

/// The nonce a signed challenge text names (its last field), to look the challenge up by. The
/// whole text is compared with the issued one by [`decide_browser`].
pub fn challenge_nonce(content: &[u8]) -> Result<&str, ApiError> {
    let text = std::str::from_utf8(content).map_err(|_| not_a_challenge())?;
    if !text.starts_with(BROWSER_CHALLENGE_FORMAT) {
        return Err(not_a_challenge());
    }
    text.rsplit_once(" nonce=")
        .map(|(_, nonce)| nonce)
        // A nonce is base64url (`random_token`): anything else names no challenge.
        .filter(|nonce| {
            !nonce.is_empty()
                && nonce
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .ok_or_else(not_a_challenge)
}

/// The browser page's confirmation, in the order of the API's checks with step 9 replaced: the
/// challenge named must have been issued to this account (10), and the signed content must be its
/// text byte for byte (9b: it binds the portal, the account, the purpose and the nonce as the
/// request document does). The page cannot know the signing time or the certificate before the
/// plugin signs, so nothing restates them: the signing time is the signingTime attribute alone,
/// which must fall within the challenge's life (15), and the certificate is the one OpenSSL
/// verified with. Steps 11 to 20 are the API's. Only confirm-identity: the page registers no
/// organisations.
pub fn decide_browser(request: &BrowserSigned, facts: &Facts<'_>) -> Result<Decision, ApiError> {
    let challenge = issued_challenge(facts)?;
    if request.content != challenge_text(challenge).as_bytes() {
        return Err(not_a_challenge());
    }
    challenge_and_person(
        &Claim {
            purpose: Purpose::ConfirmIdentity,
            origin: &challenge.origin,
            signing_time: request.signing_time,
            certificate: &request.certificate,
        },
        challenge,
        facts,
    )?;
    Ok(Decision::ConfirmIdentity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Level;
    use signing::certificate::KeyUsage;

    const NOW: i64 = 1_800_000_000;
    const ORIGIN: &str = "http://127.0.0.1:8780";

    fn certificate() -> CertificateInfo {
        CertificateInfo {
            subject: Some("Иванов Иван Иванович".into()),
            surname: Some("Иванов".into()),
            given_names: Some("Иван Иванович".into()),
            snils: Some("54771278218".into()),
            inn: Some("773024663310".into()),
            inn_le: None,
            ogrn: None,
            ogrnip: None,
            organisation: None,
            issuer: "Test CA".into(),
            serial: "01".into(),
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2028-01-01T00:00:00Z".into(),
            algorithm: "gost2012-256".into(),
            parameter_set: None,
            key_usage: KeyUsage {
                present: true,
                digital_signature: true,
                non_repudiation: true,
            },
            policies: Vec::new(),
            subject_sign_tool: None,
            issuer_sign_tool: None,
            sha256: "c0ffee".into(),
            validity: (0, i64::MAX),
        }
    }

    fn organisation_certificate() -> CertificateInfo {
        CertificateInfo {
            organisation: Some("ООО «Ромашка»".into()),
            ogrn: Some("1027700132195".into()),
            inn_le: Some("7701234567".into()),
            ..certificate()
        }
    }

    fn account() -> AccountRow {
        AccountRow {
            id: "acc-1".into(),
            snils: Some("54771278218".into()),
            surname: "ИВАНОВ".into(),
            given_names: "Иван  Иванович".into(),
            inn: None,
            level: Level::Standard,
        }
    }

    fn challenge(purpose: Purpose) -> ChallengeRow {
        ChallengeRow {
            nonce: "nonce-1".into(),
            account: "acc-1".into(),
            purpose: purpose.as_str().into(),
            origin: ORIGIN.into(),
            created_at: NOW - 60,
            expires_at: NOW + 240,
            used_at: None,
        }
    }

    /// The request this certificate's holder sends for the challenge, as the client makes it.
    fn signed(certificate: CertificateInfo, purpose: Purpose) -> Signed {
        let organisation = match purpose {
            Purpose::ConfirmIdentity => None,
            Purpose::RegisterOrganisation => Organisation::from_certificate(&certificate),
        };
        Signed {
            document: RequestDocument {
                account: "acc-1".into(),
                certificate_sha256: certificate.sha256.clone(),
                format: protocol::DOCUMENT_FORMAT.into(),
                nonce: "nonce-1".into(),
                organisation,
                origin: ORIGIN.into(),
                person: Person::from_certificate(&certificate),
                purpose,
                signing_time: protocol::timestamp_unix(NOW - 30),
            },
            certificate,
            signing_time: NOW - 30,
        }
    }

    /// Decides at `NOW` for this portal's origin.
    fn decide_with(
        request: &Signed,
        account: &AccountRow,
        challenge: Option<&ChallengeRow>,
        organisation_registered: bool,
    ) -> Result<Decision, ApiError> {
        decide(
            request,
            &Facts {
                account,
                challenge,
                organisation_registered,
                origin: ORIGIN,
                now: NOW,
            },
        )
    }

    fn refusal(result: Result<Decision, ApiError>) -> ApiError {
        result.expect_err("refused")
    }

    #[test]
    fn a_good_confirmation_confirms_the_identity() {
        let request = signed(certificate(), Purpose::ConfirmIdentity);
        let challenge = challenge(Purpose::ConfirmIdentity);
        assert_eq!(
            decide_with(&request, &account(), Some(&challenge), false),
            Ok(Decision::ConfirmIdentity)
        );
    }

    #[test]
    fn a_good_registration_registers_the_certificates_organisation() {
        let request = signed(organisation_certificate(), Purpose::RegisterOrganisation);
        let challenge = challenge(Purpose::RegisterOrganisation);
        // A confirmed account registers organisations as well.
        let account = AccountRow {
            level: Level::Confirmed,
            ..account()
        };
        assert_eq!(
            decide_with(&request, &account, Some(&challenge), false),
            Ok(Decision::RegisterOrganisation(Organisation {
                name: "ООО «Ромашка»".into(),
                ogrn: "1027700132195".into(),
                inn: "7701234567".into(),
            }))
        );
    }

    #[test]
    fn content_that_is_not_a_canonical_document_is_malformed() {
        let request = signed(certificate(), Purpose::ConfirmIdentity);
        let text = String::from_utf8(request.document.to_canonical_json()).expect("utf8");
        for content in [
            b"not json".to_vec(),
            text.replacen(':', ": ", 1).into_bytes(),
        ] {
            let verified = Verified {
                content,
                certificate: certificate(),
                signing_time: NOW,
            };
            let e = read(verified).expect_err("refused");
            assert_eq!(e.code, codes::MALFORMED);
            assert!(e
                .message
                .starts_with("The signed document is not a request document"));
        }
        let verified = Verified {
            content: text.into_bytes(),
            certificate: certificate(),
            signing_time: NOW - 30,
        };
        let read = read(verified).expect("canonical");
        assert_eq!(read.document, request.document);
        assert_eq!(read.signing_time, NOW - 30);
    }

    #[test]
    fn a_document_that_is_not_this_requests_is_malformed() {
        let challenge = challenge(Purpose::ConfirmIdentity);
        type Change = fn(&mut Signed);
        let cases: [(&str, Change); 7] = [
            ("format", |r| {
                r.document.format = "podpis-confirmation/2".into()
            }),
            ("certificate", |r| {
                r.document.certificate_sha256 = "other".into()
            }),
            ("signing time", |r| {
                r.document.signing_time = protocol::timestamp_unix(r.signing_time - 1)
            }),
            ("signing time", |r| {
                r.document.signing_time = protocol::timestamp_unix(r.signing_time) + ".5"
            }),
            ("account", |r| r.document.account = "acc-2".into()),
            ("person", |r| r.document.person.given_names = "Пётр".into()),
            ("organisation", |r| {
                r.document.organisation =
                    Organisation::from_certificate(&organisation_certificate())
            }),
        ];
        for (what, change) in cases {
            let mut request = signed(certificate(), Purpose::ConfirmIdentity);
            change(&mut request);
            let e = refusal(decide_with(&request, &account(), Some(&challenge), false));
            assert_eq!(e.code, codes::MALFORMED, "{what}");
            assert!(
                e.message.starts_with(&format!("The document's {what}")),
                "{what}: {}",
                e.message
            );
        }
    }

    #[test]
    fn a_registration_must_name_the_certificates_organisation() {
        let challenge = challenge(Purpose::RegisterOrganisation);
        let mut request = signed(organisation_certificate(), Purpose::RegisterOrganisation);
        if let Some(organisation) = request.document.organisation.as_mut() {
            organisation.name = "ООО «Лютик»".into();
        }
        let e = refusal(decide_with(&request, &account(), Some(&challenge), false));
        assert_eq!(e.code, codes::MALFORMED);
        assert_eq!(
            e.message,
            "The document's organisation (it must be the certificate's) does not match."
        );
        request.document.organisation = None;
        let e = refusal(decide_with(&request, &account(), Some(&challenge), false));
        assert_eq!(e.code, codes::MALFORMED);
    }

    #[test]
    fn a_nonce_not_issued_to_this_account_is_unknown() {
        let request = signed(certificate(), Purpose::ConfirmIdentity);
        let e = refusal(decide_with(&request, &account(), None, false));
        assert_eq!(e.code, codes::NONCE_UNKNOWN);
        let someone_elses = ChallengeRow {
            account: "acc-2".into(),
            ..challenge(Purpose::ConfirmIdentity)
        };
        let e = refusal(decide_with(
            &request,
            &account(),
            Some(&someone_elses),
            false,
        ));
        assert_eq!(e.code, codes::NONCE_UNKNOWN);
    }

    #[test]
    fn a_used_nonce_is_refused() {
        let request = signed(certificate(), Purpose::ConfirmIdentity);
        let used = ChallengeRow {
            used_at: Some(NOW - 10),
            ..challenge(Purpose::ConfirmIdentity)
        };
        let e = refusal(decide_with(&request, &account(), Some(&used), false));
        assert_eq!(e, nonce_used());
    }

    #[test]
    fn an_expired_nonce_is_refused() {
        let request = signed(certificate(), Purpose::ConfirmIdentity);
        let expired = ChallengeRow {
            expires_at: NOW - 1,
            ..challenge(Purpose::ConfirmIdentity)
        };
        let e = refusal(decide_with(&request, &account(), Some(&expired), false));
        assert_eq!(e.code, codes::NONCE_EXPIRED);
        // Up to its last second it is alive.
        let last_second = ChallengeRow {
            expires_at: NOW,
            ..challenge(Purpose::ConfirmIdentity)
        };
        assert!(decide_with(&request, &account(), Some(&last_second), false).is_ok());
    }

    #[test]
    fn a_nonce_for_another_purpose_is_refused() {
        let request = signed(certificate(), Purpose::ConfirmIdentity);
        let other = challenge(Purpose::RegisterOrganisation);
        let e = refusal(decide_with(&request, &account(), Some(&other), false));
        assert_eq!(e.code, codes::PURPOSE_MISMATCH);
    }

    #[test]
    fn a_document_or_challenge_for_another_portal_is_refused() {
        let challenge = challenge(Purpose::ConfirmIdentity);
        let mut request = signed(certificate(), Purpose::ConfirmIdentity);
        request.document.origin = "https://elsewhere.example".into();
        let e = refusal(decide_with(&request, &account(), Some(&challenge), false));
        assert_eq!(e.code, codes::ORIGIN_MISMATCH);
        assert_eq!(
            e.message,
            format!("The document was made for another portal, not {ORIGIN}.")
        );
        let request = signed(certificate(), Purpose::ConfirmIdentity);
        let moved = ChallengeRow {
            origin: "http://127.0.0.1:1".into(),
            ..challenge.clone()
        };
        let e = refusal(decide_with(&request, &account(), Some(&moved), false));
        assert_eq!(e.code, codes::ORIGIN_MISMATCH);
    }

    #[test]
    fn a_signing_time_outside_the_challenges_life_is_malformed() {
        let challenge = challenge(Purpose::ConfirmIdentity);
        for (signing_time, accepted) in [
            (challenge.created_at - SKEW, true),
            (challenge.created_at - SKEW - 1, false),
            (NOW + SKEW, true),
            (NOW + SKEW + 1, false),
        ] {
            let mut request = signed(certificate(), Purpose::ConfirmIdentity);
            request.signing_time = signing_time;
            request.document.signing_time = protocol::timestamp_unix(signing_time);
            let result = decide_with(&request, &account(), Some(&challenge), false);
            if accepted {
                assert!(result.is_ok(), "{signing_time}");
            } else {
                let e = refusal(result);
                assert_eq!(e.code, codes::MALFORMED);
                assert_eq!(
                    e.message,
                    "The signing time does not fall within the challenge's life."
                );
            }
        }
    }

    #[test]
    fn a_simplified_account_is_refused() {
        let request = signed(certificate(), Purpose::ConfirmIdentity);
        let challenge = challenge(Purpose::ConfirmIdentity);
        let simplified = AccountRow {
            level: Level::Simplified,
            ..account()
        };
        let e = refusal(decide_with(&request, &simplified, Some(&challenge), false));
        assert_eq!(e.code, codes::ACCOUNT_NOT_STANDARD);
    }

    #[test]
    fn a_confirmed_account_is_not_confirmed_twice() {
        let request = signed(certificate(), Purpose::ConfirmIdentity);
        let challenge = challenge(Purpose::ConfirmIdentity);
        let confirmed = AccountRow {
            level: Level::Confirmed,
            ..account()
        };
        let e = refusal(decide_with(&request, &confirmed, Some(&challenge), false));
        assert_eq!(e.code, codes::ALREADY_CONFIRMED);
    }

    #[test]
    fn a_certificate_without_snils_is_refused() {
        let nobody = CertificateInfo {
            snils: None,
            ..certificate()
        };
        let request = signed(nobody, Purpose::ConfirmIdentity);
        let challenge = challenge(Purpose::ConfirmIdentity);
        let e = refusal(decide_with(&request, &account(), Some(&challenge), false));
        assert_eq!(e.code, codes::SNILS_MISSING);
    }

    #[test]
    fn another_persons_snils_is_refused() {
        let request = signed(certificate(), Purpose::ConfirmIdentity);
        let challenge = challenge(Purpose::ConfirmIdentity);
        for snils in [Some("11223344595".to_owned()), None] {
            let other = AccountRow { snils, ..account() };
            let e = refusal(decide_with(&request, &other, Some(&challenge), false));
            assert_eq!(e.code, codes::SNILS_MISMATCH);
        }
    }

    #[test]
    fn other_names_are_refused() {
        let request = signed(certificate(), Purpose::ConfirmIdentity);
        let challenge = challenge(Purpose::ConfirmIdentity);
        let renamed = AccountRow {
            surname: "Петров".into(),
            ..account()
        };
        let e = refusal(decide_with(&request, &renamed, Some(&challenge), false));
        assert_eq!(e.code, codes::NAME_MISMATCH);
        let renamed = AccountRow {
            given_names: "Иван Петрович".into(),
            ..account()
        };
        let e = refusal(decide_with(&request, &renamed, Some(&challenge), false));
        assert_eq!(e.code, codes::NAME_MISMATCH);
    }

    #[test]
    fn a_registration_needs_the_organisations_ogrn_and_inn() {
        let challenge = challenge(Purpose::RegisterOrganisation);
        for certificate in [
            certificate(),
            CertificateInfo {
                inn_le: None,
                ..organisation_certificate()
            },
        ] {
            let request = signed(certificate, Purpose::RegisterOrganisation);
            let e = refusal(decide_with(&request, &account(), Some(&challenge), false));
            assert_eq!(e.code, codes::ORGANISATION_DATA_MISSING);
        }
    }

    #[test]
    fn a_registered_organisation_is_not_registered_twice() {
        let request = signed(organisation_certificate(), Purpose::RegisterOrganisation);
        let challenge = challenge(Purpose::RegisterOrganisation);
        let e = refusal(decide_with(&request, &account(), Some(&challenge), true));
        assert_eq!(e, organisation_exists());
        // Registration alone asks whether the organisation exists.
        let request = signed(organisation_certificate(), Purpose::ConfirmIdentity);
        let challenge = self::challenge(Purpose::ConfirmIdentity);
        assert_eq!(
            decide_with(&request, &account(), Some(&challenge), true),
            Ok(Decision::ConfirmIdentity)
        );
    }

    #[test]
    fn the_first_failing_check_answers() {
        // A used and expired nonce of another purpose, for a simplified account, from a
        // certificate without SNILS: the nonce's use is checked first.
        let nobody = CertificateInfo {
            snils: None,
            ..certificate()
        };
        let request = signed(nobody.clone(), Purpose::ConfirmIdentity);
        let stale = ChallengeRow {
            used_at: Some(NOW - 10),
            expires_at: NOW - 1,
            purpose: Purpose::RegisterOrganisation.as_str().into(),
            ..challenge(Purpose::ConfirmIdentity)
        };
        let simplified = AccountRow {
            level: Level::Simplified,
            ..account()
        };
        let e = refusal(decide_with(&request, &simplified, Some(&stale), false));
        assert_eq!(e.code, codes::NONCE_USED);
        // With a good nonce, the account's level comes before the certificate's SNILS.
        let fresh = challenge(Purpose::ConfirmIdentity);
        let e = refusal(decide_with(&request, &simplified, Some(&fresh), false));
        assert_eq!(e.code, codes::ACCOUNT_NOT_STANDARD);
        // And a document that is not this request's comes before all of it.
        let mut request = signed(nobody, Purpose::ConfirmIdentity);
        request.document.account = "acc-2".into();
        let e = refusal(decide_with(&request, &simplified, None, false));
        assert_eq!(e.code, codes::MALFORMED);
    }

    fn browser_signed(challenge: &ChallengeRow) -> BrowserSigned {
        BrowserSigned {
            content: challenge_text(challenge).into_bytes(),
            certificate: certificate(),
            signing_time: NOW - 30,
        }
    }

    fn decide_browser_with(
        request: &BrowserSigned,
        account: &AccountRow,
        challenge: Option<&ChallengeRow>,
    ) -> Result<Decision, ApiError> {
        decide_browser(
            request,
            &Facts {
                account,
                challenge,
                organisation_registered: false,
                origin: ORIGIN,
                now: NOW,
            },
        )
    }

    #[test]
    fn the_browser_challenge_text_names_portal_account_purpose_and_nonce() {
        let challenge = challenge(Purpose::ConfirmIdentity);
        let text = challenge_text(&challenge);
        assert_eq!(
            text,
            "podpis-browser-challenge/1 origin=http://127.0.0.1:8780 account=acc-1 \
             purpose=confirm-identity nonce=nonce-1"
        );
        assert!(text.is_ascii());
        assert_eq!(challenge_nonce(text.as_bytes()), Ok("nonce-1"));
        for content in [
            &b"nonce=nonce-1"[..],
            b"podpis-browser-challenge/1 origin=x",
            b"podpis-browser-challenge/1 nonce=",
            b"podpis-browser-challenge/1 nonce=nonce-1\n",
            b"\xff\xfe",
        ] {
            assert_eq!(
                challenge_nonce(content).map_err(|e| e.code),
                Err(codes::MALFORMED)
            );
        }
    }

    #[test]
    fn a_browser_signature_of_the_issued_text_confirms_the_identity() {
        let challenge = challenge(Purpose::ConfirmIdentity);
        let request = browser_signed(&challenge);
        assert_eq!(
            decide_browser_with(&request, &account(), Some(&challenge)),
            Ok(Decision::ConfirmIdentity)
        );
    }

    #[test]
    fn a_browser_signature_of_other_content_is_malformed() {
        let challenge = challenge(Purpose::ConfirmIdentity);
        let text = challenge_text(&challenge);
        for content in [
            format!("{text} "),
            text.replace("acc-1", "acc-2"),
            text.replace(ORIGIN, "http://127.0.0.1:1"),
            text.to_uppercase(),
        ] {
            let request = BrowserSigned {
                content: content.into_bytes(),
                ..browser_signed(&challenge)
            };
            let e = refusal(decide_browser_with(&request, &account(), Some(&challenge)));
            assert_eq!(e.code, codes::MALFORMED, "{e:?}");
        }
    }

    #[test]
    fn a_browser_signature_runs_the_apis_nonce_and_person_checks() {
        let issued = challenge(Purpose::ConfirmIdentity);
        let request = browser_signed(&issued);
        // Not issued to this account.
        let e = refusal(decide_browser_with(&request, &account(), None));
        assert_eq!(e.code, codes::NONCE_UNKNOWN);
        let someone_elses = ChallengeRow {
            account: "acc-2".into(),
            ..issued.clone()
        };
        let e = refusal(decide_browser_with(
            &browser_signed(&someone_elses),
            &account(),
            Some(&someone_elses),
        ));
        assert_eq!(e.code, codes::NONCE_UNKNOWN);
        // Used, expired, for registration.
        let used = ChallengeRow {
            used_at: Some(NOW - 1),
            ..issued.clone()
        };
        let e = refusal(decide_browser_with(&request, &account(), Some(&used)));
        assert_eq!(e.code, codes::NONCE_USED);
        let expired = ChallengeRow {
            expires_at: NOW - 1,
            ..issued.clone()
        };
        let e = refusal(decide_browser_with(&request, &account(), Some(&expired)));
        assert_eq!(e.code, codes::NONCE_EXPIRED);
        let registration = challenge(Purpose::RegisterOrganisation);
        let e = refusal(decide_browser_with(
            &browser_signed(&registration),
            &account(),
            Some(&registration),
        ));
        assert_eq!(e.code, codes::PURPOSE_MISMATCH);
        // A signing time outside the challenge's life.
        let late = BrowserSigned {
            signing_time: NOW + SKEW + 1,
            ..browser_signed(&issued)
        };
        let e = refusal(decide_browser_with(&late, &account(), Some(&issued)));
        assert_eq!(e.code, codes::MALFORMED);
        // Another person's certificate.
        let other = AccountRow {
            snils: Some("11223344595".into()),
            ..account()
        };
        let e = refusal(decide_browser_with(&request, &other, Some(&issued)));
        assert_eq!(e.code, codes::SNILS_MISMATCH);
        let confirmed = AccountRow {
            level: Level::Confirmed,
            ..account()
        };
        let e = refusal(decide_browser_with(&request, &confirmed, Some(&issued)));
        assert_eq!(e.code, codes::ALREADY_CONFIRMED);
    }
}
